#include "serving/kv_cache.h"

#include <algorithm>
#include <stdexcept>

namespace pnm::serving {

uint64_t KvSplit::cxl_total() const {
  uint64_t t = 0;
  for (uint64_t c : cxl_tokens) t += c;
  return t;
}

KvCache::KvCache(uint32_t block_tokens, uint32_t prefix_block_tokens, uint64_t hbm_blocks,
                 std::vector<uint64_t> cxl_blocks, Placement placement, bool prefix_caching)
    : bt_(block_tokens), pbt_(prefix_block_tokens), hbm_cap_(hbm_blocks), cxl_cap_(std::move(cxl_blocks)),
      placement_(placement), prefix_caching_(prefix_caching) {
  if (bt_ == 0 || pbt_ == 0 || pbt_ % bt_)
    throw std::invalid_argument("KV blocks: the prefix block must be a whole number of blocks");
  if (placement_ != Placement::hbm_only && cxl_cap_.empty())
    throw std::invalid_argument("KV placement uses CXL memory but the system has no device");
  cxl_used_.assign(cxl_cap_.size(), 0);
  lru_.resize(1 + cxl_cap_.size());
  cached_blocks_.assign(1 + cxl_cap_.size(), 0);
}

std::vector<int> KvCache::tiers_for(unsigned device) const {
  std::vector<int> t;
  if (placement_ != Placement::cxl_only) t.push_back(0);
  if (placement_ != Placement::hbm_only)
    for (size_t i = 0; i < cxl_cap_.size(); ++i) t.push_back(1 + int((device + i) % cxl_cap_.size()));
  return t;
}

uint64_t KvCache::Seq::private_total() const {
  uint64_t t = 0;
  for (uint64_t b : private_blocks) t += b;
  return t;
}

uint64_t KvCache::free_in(int tier) const {
  return tier == 0 ? hbm_cap_ - hbm_used_ : cxl_cap_[tier - 1] - cxl_used_[tier - 1];
}

void KvCache::take(int tier, uint64_t blocks) {
  if (tier == 0) hbm_used_ += blocks;
  else cxl_used_[tier - 1] += blocks;
}

void KvCache::give(int tier, uint64_t blocks) {
  if (tier == 0) hbm_used_ -= blocks;
  else cxl_used_[tier - 1] -= blocks;
}

bool KvCache::evict_one(int tier) {
  auto& l = lru_[tier];
  if (l.empty()) return false;
  const uint32_t id = l.front();
  l.pop_front();
  Entry& e = entries_[id];
  by_hash_.erase(e.hash);
  give(tier, pbt_ / bt_);
  cached_blocks_[tier] -= pbt_ / bt_;
  e.live = false;
  free_entries_.push_back(id);
  ++evictions_;
  return true;
}

void KvCache::place(Seq& s) const {
  if (placement_ == Placement::hbm_only) return;
  unsigned best = 0;
  for (unsigned d = 1; d < cxl_cap_.size(); ++d)
    if (cxl_cap_[d] - cxl_used_[d] > cxl_cap_[best] - cxl_used_[best]) best = d;
  s.device = best;
}

uint64_t KvCache::match_prefix(Seq& s, const std::vector<uint64_t>& hash_ids, size_t max_blocks) {
  if (!prefix_caching_ || s.tokens) return 0;
  const size_t n = std::min(max_blocks, hash_ids.size());
  for (size_t i = 0; i < n; ++i) {
    auto it = by_hash_.find(hash_ids[i]);
    if (it == by_hash_.end()) break;
    Entry& e = entries_[it->second];
    if (e.refs++ == 0) {
      lru_[e.tier].erase(e.lru);
      cached_blocks_[e.tier] -= pbt_ / bt_;
    }
    s.prefix.push_back(it->second);
  }
  s.prefix_tokens = uint32_t(s.prefix.size() * pbt_);
  s.tokens = s.prefix_tokens;
  s.holds = s.holds || !s.prefix.empty();
  return s.prefix_tokens;
}

bool KvCache::grow(Seq& s, uint64_t tokens, const std::vector<uint64_t>& hash_ids, uint64_t prompt_tokens) {
  if (tokens <= s.tokens) return true;
  struct Taken { int tier; uint64_t blocks; };
  std::vector<Taken> taken;
  std::vector<uint32_t> new_entries;
  auto rollback = [&] {
    for (const Taken& t : taken) give(t.tier, t.blocks);
    for (uint32_t id : new_entries) {
      entries_[id].live = false;
      free_entries_.push_back(id);
    }
    return false;
  };
  // Tier by tier (HBM first): free space, then space won by evicting that
  // tier's unreferenced cached prefix blocks (least recently used first),
  // then the next tier. Running sequences' KV in the fast tier is worth
  // more than an idle cached prefix: spilling it to CXL slows every later
  // step of the sequence, a lost cache hit costs one prefill of the block.
  auto make_room = [&](int t, uint64_t blocks) {
    while (free_in(t) < blocks && evict_one(t)) {
    }
    return std::min(free_in(t), blocks);
  };
  auto tier_for_entry = [&](const std::vector<int>& ts, uint64_t blocks) -> int {
    for (int t : ts)
      if (make_room(t, blocks) >= blocks) return t;
    return -1;
  };
  const std::vector<int> tiers = tiers_for(s.device);
  const uint64_t per_entry = pbt_ / bt_;
  std::vector<uint64_t> priv(1 + cxl_cap_.size(), 0);
  std::vector<std::pair<int, uint64_t>> runs; // this growth's private blocks, in order
  uint64_t prefix_n = s.prefix.size();
  const bool has_private = s.private_total() > 0;
  // Prefix entries: whole prompt blocks with a hash id, contiguous from the
  // start, before any private block.
  if (prefix_caching_ && !has_private) {
    while (prefix_n < hash_ids.size() && (prefix_n + 1) * pbt_ <= prompt_tokens && prefix_n * pbt_ < tokens) {
      const int where = tier_for_entry(tiers, per_entry);
      if (where < 0) return rollback();
      take(where, per_entry);
      taken.push_back({where, per_entry});
      uint32_t id;
      if (!free_entries_.empty()) {
        id = free_entries_.back();
        free_entries_.pop_back();
      } else {
        id = uint32_t(entries_.size());
        entries_.emplace_back();
      }
      entries_[id] = Entry{};
      entries_[id].hash = hash_ids[prefix_n];
      entries_[id].tier = where;
      entries_[id].refs = 1;
      entries_[id].live = true;
      new_entries.push_back(id);
      ++prefix_n;
    }
  }
  const uint64_t region = prefix_n * pbt_;
  if (tokens > region) {
    const uint64_t have = s.private_total();
    const uint64_t need_total = (tokens - region + bt_ - 1) / bt_;
    uint64_t need = need_total > have ? need_total - have : 0;
    for (int t : tiers) {
      if (!need) break;
      const uint64_t got = make_room(t, need);
      if (!got) continue;
      take(t, got);
      taken.push_back({t, got});
      priv[t] += got;
      runs.emplace_back(t, got);
      need -= got;
    }
    if (need) return rollback();
  }
  for (uint32_t id : new_entries) s.prefix.push_back(id);
  s.prefix_tokens = uint32_t(s.prefix.size() * pbt_);
  s.private_blocks.resize(priv.size(), 0);
  for (size_t t = 0; t < priv.size(); ++t) s.private_blocks[t] += priv[t];
  for (const auto& [t, n] : runs) {
    if (!s.private_runs.empty() && s.private_runs.back().first == t) s.private_runs.back().second += n;
    else s.private_runs.emplace_back(t, n);
  }
  s.tokens = tokens;
  s.holds = true;
  // Entries whose block is now fully computed become findable.
  for (size_t i = 0; i < s.prefix.size(); ++i) {
    Entry& e = entries_[s.prefix[i]];
    if (e.indexed || (i + 1) * pbt_ > s.tokens) continue;
    if (by_hash_.emplace(e.hash, s.prefix[i]).second) e.indexed = true;
  }
  return true;
}

void KvCache::release(Seq& s) {
  for (size_t t = 0; t < s.private_blocks.size(); ++t)
    if (s.private_blocks[t]) give(int(t), s.private_blocks[t]);
  for (uint32_t id : s.prefix) {
    Entry& e = entries_[id];
    if (--e.refs) continue;
    if (e.indexed) {
      lru_[e.tier].push_back(id);
      e.lru = std::prev(lru_[e.tier].end());
      cached_blocks_[e.tier] += pbt_ / bt_;
    } else {
      give(e.tier, pbt_ / bt_);
      e.live = false;
      free_entries_.push_back(id);
    }
  }
  const unsigned dev = s.device;
  s = Seq{};
  s.device = dev;
}

KvSplit KvCache::split(const Seq& s) const {
  KvSplit k;
  k.cxl_tokens.assign(cxl_cap_.size(), 0);
  for (size_t i = 0; i < s.prefix.size(); ++i) {
    const uint64_t start = i * pbt_;
    if (start >= s.tokens) break;
    const uint64_t n = std::min<uint64_t>(pbt_, s.tokens - start);
    const Entry& e = entries_[s.prefix[i]];
    (e.tier == 0 ? k.hbm_tokens : k.cxl_tokens[e.tier - 1]) += n;
  }
  const uint64_t region = std::min<uint64_t>(s.tokens, s.prefix.size() * pbt_);
  const uint64_t priv = s.tokens - region;
  // Private tokens fill their blocks in the order they were allocated; only
  // the last block of all is partly used.
  uint64_t left = priv;
  for (size_t i = 0; i < s.private_runs.size() && left; ++i) {
    const auto& [t, blocks] = s.private_runs[i];
    const uint64_t n = std::min<uint64_t>(left, blocks * bt_);
    (t == 0 ? k.hbm_tokens : k.cxl_tokens[t - 1]) += n;
    left -= n;
  }
  return k;
}

uint64_t KvCache::cxl_used_blocks() const {
  uint64_t t = 0;
  for (uint64_t u : cxl_used_) t += u;
  return t;
}

uint64_t KvCache::cxl_blocks() const {
  uint64_t t = 0;
  for (uint64_t u : cxl_cap_) t += u;
  return t;
}

uint64_t KvCache::cached_blocks() const {
  uint64_t t = 0;
  for (uint64_t c : cached_blocks_) t += c;
  return t;
}

bool KvCache::could_fit(uint64_t tokens) const {
  const uint64_t blocks = (tokens + bt_ - 1) / bt_; // prefix entries are whole blocks of the prompt: no rounding
  switch (placement_) {
  case Placement::hbm_only: return blocks <= hbm_cap_;
  case Placement::hbm_then_cxl: return blocks <= hbm_cap_ + cxl_blocks();
  case Placement::cxl_only: return blocks <= cxl_blocks();
  }
  return false;
}

} // namespace pnm::serving
