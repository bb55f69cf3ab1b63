#include "serving/serve_sim.h"

#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <deque>
#include <limits>
#include <memory>
#include <stdexcept>
#include <unordered_map>
#include <unordered_set>

namespace pnm::serving {

const char* policy_name(Policy p) {
  switch (p) {
  case Policy::hbm: return "hbm";
  case Policy::cxl_recall: return "cxl-recall";
  case Policy::pnm: return "pnm";
  case Policy::pnm_select: return "pnm-select";
  case Policy::rdma_pool: return "rdma-pool";
  }
  return "?";
}

std::vector<Policy> all_policies() {
  return {Policy::hbm, Policy::cxl_recall, Policy::pnm, Policy::pnm_select, Policy::rdma_pool};
}

Policy parse_policy(const std::string& s) {
  for (Policy p : all_policies())
    if (s == policy_name(p)) return p;
  throw std::invalid_argument(fmt::format("--policy '{}' is not one of hbm|cxl-recall|pnm|pnm-select|rdma-pool", s));
}

double total_pj(const Energy& e) {
  double t = 0;
  for (const auto& [k, v] : e) t += v;
  return t;
}

namespace {

constexpr double kNsPerMs = 1e6;

Placement placement_of(Policy p) {
  switch (p) {
  case Policy::hbm:
  case Policy::rdma_pool: return Placement::hbm_only;
  case Policy::cxl_recall:
  case Policy::pnm: return Placement::hbm_then_cxl;
  case Policy::pnm_select: return Placement::cxl_only;
  }
  return Placement::hbm_only;
}

void add(Energy& to, const Energy& e) {
  for (const auto& [k, v] : e) to[k] += v;
}


// A request inside the system.
struct Live {
  const Request* req = nullptr;
  RequestResult* res = nullptr;
  KvCache::Seq kv;
  uint64_t target = 0;     // tokens whose KV must be computed before the next token is emitted
  uint32_t generated = 0;  // output tokens emitted
  double last_token_ms = 0;
  std::vector<bool> on_device; // devices that have seen it (release notices)
  bool fetching = false;
  bool first_admission = true;
};

class Simulator {
public:
  Simulator(const std::vector<Request>& reqs, const ServeConfig& cfg, ServeBackend& be)
      : reqs_(reqs), cfg_(cfg), be_(be), policy_(cfg.policy),
        kv_(cfg.block_tokens, cfg.prefix_block_tokens, blocks(cfg.hbm_kv_bytes, cfg),
            device_blocks(cfg), placement_of(cfg.policy),
            cfg.prefix_caching && cfg.policy != Policy::rdma_pool) {
    if (cfg.max_batched_tokens == 0 || cfg.max_sequences == 0)
      throw std::invalid_argument("serve: the token budget and the sequence limit must be > 0");
    if (cfg.kv_bytes_per_token == 0) throw std::invalid_argument("serve: KV bytes per token must be > 0");
    if (placement_of(cfg.policy) != Placement::hbm_only && be.devices() == 0)
      throw std::invalid_argument(fmt::format("--policy {} needs a PNM device in the system", policy_name(policy_)));
    if (placement_of(cfg.policy) != Placement::hbm_only && cfg.cxl_kv_bytes.size() != be.devices())
      throw std::invalid_argument("serve: one CXL capacity per device is needed");
    out_.requests.resize(reqs.size());
    live_.resize(reqs.size());
    for (size_t i = 0; i < reqs.size(); ++i) {
      RequestResult& r = out_.requests[i];
      r.id = reqs[i].id;
      r.arrival_ms = reqs[i].arrival_ms;
      r.input_tokens = reqs[i].input_tokens;
      r.output_tokens = reqs[i].output_tokens;
      live_[i].req = &reqs[i];
      live_[i].res = &r;
      live_[i].target = reqs[i].input_tokens;
      live_[i].on_device.assign(be.devices(), false);
      if (i && reqs[i].arrival_ms < reqs[i - 1].arrival_ms)
        throw std::invalid_argument("serve: requests must be in arrival order");
    }
  }

  ServeResult run();

private:
  static uint64_t blocks(uint64_t bytes, const ServeConfig& c) {
    return bytes / (uint64_t(c.block_tokens) * c.kv_bytes_per_token);
  }
  static std::vector<uint64_t> device_blocks(const ServeConfig& c) {
    std::vector<uint64_t> b;
    for (uint64_t x : c.cxl_kv_bytes) b.push_back(blocks(x, c));
    return b;
  }
  bool uses_devices() const { return placement_of(policy_) != Placement::hbm_only; }

  void arrivals();
  void fetches_done();
  bool iteration();
  void preempt(Live* l);
  void finish(Live* l);
  void release_devices(Live* l);
  void pool_writes(Live* l, uint64_t before, uint64_t after);
  void sample(uint32_t batch, uint32_t decode, uint32_t prefill_tokens, double iter_ms);
  bool admit_next(uint32_t& budget, std::vector<std::pair<Live*, uint32_t>>& sched, std::vector<KvSplit>& before);

  const std::vector<Request>& reqs_;
  const ServeConfig& cfg_;
  ServeBackend& be_;
  Policy policy_;
  KvCache kv_;
  ServeResult out_;
  std::vector<Live> live_;
  size_t next_arrival_ = 0, done_ = 0;
  double now_ms_ = 0;
  std::deque<Live*> waiting_;
  std::vector<Live*> running_; // admission order
  size_t fetching_ = 0;
  std::unordered_map<uint64_t, Live*> fetch_of_;       // NIC transfer -> request (rdma-pool)
  std::unordered_map<uint64_t, uint64_t> pool_write_;  // NIC transfer -> hash id
  std::unordered_set<uint64_t> pool_;                  // hash ids stored in the remote pool
  std::unordered_set<uint64_t> pool_pending_;
  size_t sample_stride_ = 1;
  double idle_at_ms_ = -1;
  uint64_t idle_loops_ = 0;
  uint64_t since_sample_ = 0;
};

void Simulator::arrivals() {
  while (next_arrival_ < reqs_.size() && reqs_[next_arrival_].arrival_ms <= now_ms_)
    waiting_.push_back(&live_[next_arrival_++]);
}

void Simulator::fetches_done() {
  if (policy_ != Policy::rdma_pool) return;
  for (uint64_t id : be_.nic_advance(now_ms_ * kNsPerMs)) {
    if (auto f = fetch_of_.find(id); f != fetch_of_.end()) {
      f->second->fetching = false;
      running_.push_back(f->second);
      --fetching_;
      fetch_of_.erase(f);
    } else if (auto w = pool_write_.find(id); w != pool_write_.end()) {
      pool_.insert(w->second);
      pool_pending_.erase(w->second);
      pool_write_.erase(w);
    }
  }
}

void Simulator::release_devices(Live* l) {
  for (unsigned d = 0; d < l->on_device.size(); ++d)
    if (l->on_device[d]) {
      be_.device_release(d, l->req->id);
      l->on_device[d] = false;
    }
}

void Simulator::preempt(Live* l) {
  kv_.release(l->kv);
  release_devices(l);
  l->target = l->req->input_tokens + l->generated; // recompute prompt + generated tokens
  ++l->res->preemptions;
  ++out_.preemptions;
  running_.erase(std::find(running_.begin(), running_.end(), l));
  waiting_.push_front(l);
}

void Simulator::finish(Live* l) {
  kv_.release(l->kv);
  release_devices(l);
  l->res->completed = true;
  l->res->finish_ms = now_ms_;
  ++done_;
  out_.end_ms = now_ms_;
}

// rdma-pool: full prompt blocks computed in this iteration go to the pool.
void Simulator::pool_writes(Live* l, uint64_t before, uint64_t after) {
  const Request& r = *l->req;
  const uint64_t pbt = cfg_.prefix_block_tokens;
  for (uint64_t b = before / pbt; b < r.hash_ids.size() && (b + 1) * pbt <= std::min<uint64_t>(after, r.input_tokens);
       ++b) {
    const uint64_t h = r.hash_ids[b];
    if (pool_.count(h) || pool_pending_.count(h)) continue;
    pool_pending_.insert(h);
    pool_write_[be_.nic_start(now_ms_ * kNsPerMs, pbt * cfg_.kv_bytes_per_token)] = h;
  }
}

bool Simulator::admit_next(uint32_t& budget, std::vector<std::pair<Live*, uint32_t>>& sched,
                           std::vector<KvSplit>& before) {
  Live* l = waiting_.front();
  const Request& r = *l->req;
  const uint64_t need = uint64_t(r.input_tokens) + r.output_tokens;
  if (!kv_.could_fit(need)) { // never fits, even alone
    waiting_.pop_front();
    ++out_.refused;
    ++done_;
    return true;
  }
  const size_t max_blocks = (l->target - 1) / cfg_.prefix_block_tokens; // at least one token is computed
  if (l->kv.tokens == 0) {
    kv_.place(l->kv);
    if (policy_ == Policy::rdma_pool) {
      size_t hits = 0;
      while (hits < std::min(max_blocks, r.hash_ids.size()) && pool_.count(r.hash_ids[hits])) ++hits;
      if (hits) {
        const uint64_t tokens = hits * uint64_t(cfg_.prefix_block_tokens);
        if (!kv_.grow(l->kv, tokens, r.hash_ids, r.input_tokens)) return false;
        if (l->first_admission) l->res->cached_tokens = tokens;
        out_.prefix_hit_tokens += tokens;
        l->first_admission = false;
        l->fetching = true;
        ++fetching_;
        fetch_of_[be_.nic_start(now_ms_ * kNsPerMs, tokens * cfg_.kv_bytes_per_token)] = l;
        waiting_.pop_front();
        if (l->res->scheduled_ms < 0) l->res->scheduled_ms = now_ms_;
        return true;
      }
    } else {
      kv_.match_prefix(l->kv, r.hash_ids, max_blocks);
    }
  }
  const uint64_t hit = l->kv.tokens; // referenced cached blocks (counted once admitted)
  const uint64_t remaining = l->target - l->kv.tokens;
  uint64_t n = cfg_.chunked_prefill ? std::min<uint64_t>(remaining, budget) : remaining;
  if (!cfg_.chunked_prefill && n > budget && !(sched.empty() && budget == cfg_.max_batched_tokens)) {
    kv_.release(l->kv);
    return false;
  }
  KvSplit b = kv_.split(l->kv);
  if (!kv_.grow(l->kv, l->kv.tokens + n, r.hash_ids, r.input_tokens)) {
    kv_.release(l->kv); // cached blocks it referenced stay cached
    return false;
  }
  if (l->first_admission) l->res->cached_tokens = hit;
  out_.prefix_hit_tokens += hit;
  l->first_admission = false;
  if (l->res->scheduled_ms < 0) l->res->scheduled_ms = now_ms_;
  waiting_.pop_front();
  running_.push_back(l);
  sched.emplace_back(l, uint32_t(n));
  before.push_back(std::move(b));
  budget -= uint32_t(std::min<uint64_t>(n, budget));
  return true;
}

bool Simulator::iteration() {
  uint32_t budget = cfg_.max_batched_tokens;
  std::vector<std::pair<Live*, uint32_t>> sched;
  std::vector<KvSplit> before;
  bool preempted = false;
  for (size_t i = 0; i < running_.size() && budget > 0; ++i) {
    Live* l = running_[i];
    const bool prefill = l->kv.tokens < l->target;
    const uint64_t n = prefill ? (cfg_.chunked_prefill ? std::min<uint64_t>(l->target - l->kv.tokens, budget)
                                                       : l->target - l->kv.tokens)
                               : 1;
    KvSplit b = kv_.split(l->kv);
    bool self = false;
    while (!kv_.grow(l->kv, l->kv.tokens + n, l->req->hash_ids, l->req->input_tokens)) {
      Live* victim = running_.back();
      preempted = true;
      preempt(victim);
      if (victim == l) {
        self = true;
        break;
      }
    }
    if (self) break;
    sched.emplace_back(l, uint32_t(n));
    before.push_back(std::move(b));
    budget -= uint32_t(std::min<uint64_t>(n, budget));
  }
  if (!preempted)
    while (!waiting_.empty() && budget > 0 && running_.size() + fetching_ < cfg_.max_sequences)
      if (!admit_next(budget, sched, before)) break;
  if (sched.empty()) return false;

  // The iteration's work.
  const unsigned ndev = be_.devices();
  GpuWork w;
  std::vector<std::vector<DeviceSeq>> dseqs(ndev);
  std::vector<uint64_t> wr(ndev, 0), rd(ndev, 0);
  uint32_t decode = 0, prefill_tokens = 0;
  const uint64_t kvb = cfg_.kv_bytes_per_token;
  for (size_t i = 0; i < sched.size(); ++i) {
    Live* l = sched[i].first;
    const uint32_t n = sched[i].second;
    const KvSplit& b = before[i];
    const KvSplit a = kv_.split(l->kv);
    const uint64_t ctx = l->kv.tokens - n;
    if (ctx < l->target) { // prefill (or recompute) chunk
      prefill_tokens += n;
      w.prefill.push_back({n, ctx, b.hbm_tokens});
      for (unsigned d = 0; d < ndev && uses_devices(); ++d) {
        const uint64_t c = b.cxl_tokens[d];
        if (a.cxl_tokens[d] < c) // tokens never move off a device while the sequence holds them
          throw std::logic_error(fmt::format("serve: request {}'s KV on device {} shrank from {} to {} tokens",
                                             l->req->id, d, c, a.cxl_tokens[d]));
        rd[d] += (policy_ == Policy::pnm_select ? std::min<uint64_t>(c, uint64_t(n) * cfg_.topk) : c) * kvb;
        wr[d] += (a.cxl_tokens[d] - c) * kvb;
      }
    } else {
      ++decode;
      ++w.decode_sequences;
      const uint64_t sparse = cfg_.sparse_attention ? cfg_.topk : UINT64_MAX;
      switch (policy_) {
      case Policy::hbm:
      case Policy::rdma_pool: w.decode_hbm_tokens.push_back(std::min(ctx, sparse)); break;
      case Policy::cxl_recall: w.decode_hbm_tokens.push_back(ctx); break; // the GPU attends after the read-back
      case Policy::pnm: w.decode_hbm_tokens.push_back(std::min(b.hbm_tokens, sparse)); break;
      case Policy::pnm_select: w.decode_hbm_tokens.push_back(std::min<uint64_t>(ctx, cfg_.topk)); break;
      }
      for (unsigned d = 0; d < ndev && uses_devices(); ++d) {
        if (b.cxl_tokens[d]) {
          dseqs[d].push_back({l->req->id, b.cxl_tokens[d], uint64_t(l->req->input_tokens) + l->req->output_tokens});
          l->on_device[d] = true;
        } else if (a.cxl_tokens[d]) { // the new token is the first of this device's part
          wr[d] += a.cxl_tokens[d] * kvb;
        }
      }
    }
  }
  const GpuPart g = be_.gpu(w);
  double iter_pj = total_pj(g.energy);
  double dev_ns = 0;
  for (unsigned d = 0; d < ndev; ++d) {
    double ns = 0;
    if (!dseqs[d].empty()) {
      const DevicePart p = be_.device_step(d, dseqs[d]);
      ns += p.ns;
      out_.link_bytes += p.link_bytes;
      add(out_.energy_pj, p.energy);
      iter_pj += total_pj(p.energy);
    }
    if (wr[d] || rd[d]) {
      const DevicePart p = be_.device_bulk(d, wr[d], rd[d]);
      ns += p.ns;
      out_.link_bytes += p.link_bytes;
      add(out_.energy_pj, p.energy);
      iter_pj += total_pj(p.energy);
    }
    dev_ns = std::max(dev_ns, ns);
  }
  add(out_.energy_pj, g.energy);
  out_.hbm_bytes += g.hbm_bytes;
  const double attn_ns = policy_ == Policy::pnm ? std::max(g.attention_ns, dev_ns) : g.attention_ns + dev_ns;
  const double iter_ns = g.linear_ns + g.other_ns + attn_ns;
  if (!(iter_ns > 0) || !std::isfinite(iter_ns))
    throw std::logic_error(fmt::format("serve: iteration {} has a non-positive time {} ns", out_.iterations, iter_ns));
  out_.gpu_busy_ns += g.linear_ns + g.other_ns + g.attention_ns;
  out_.device_busy_ns += dev_ns;
  const double start_ms = now_ms_;
  now_ms_ += iter_ns / kNsPerMs;
  ++out_.iterations;
  out_.prefill_tokens += prefill_tokens;
  if (prefill_tokens == 0) {
    ++out_.decode_only.iterations;
    out_.decode_only.tokens += decode;
    out_.decode_only.ns += iter_ns;
    out_.decode_only.energy_pj += iter_pj;
  }

  // Effects, at the iteration's end.
  for (auto& [l, n] : sched) {
    RequestResult& r = *l->res;
    const uint64_t ctx = l->kv.tokens - n;
    if (ctx < l->target) {
      if (!r.prefill_slices.empty() && std::abs(r.prefill_slices.back().second - start_ms) < 1e-12)
        r.prefill_slices.back().second = now_ms_;
      else
        r.prefill_slices.emplace_back(start_ms, now_ms_);
      if (policy_ == Policy::rdma_pool) pool_writes(l, ctx, l->kv.tokens);
    }
    if (l->kv.tokens < l->target) continue; // prompt not done yet
    if (l->generated == 0) {
      r.first_token_ms = now_ms_;
    } else {
      const double gap = now_ms_ - l->last_token_ms;
      out_.tbt_ms.push_back(gap);
      r.tbt_sum_ms += gap;
      r.tbt_max_ms = std::max(r.tbt_max_ms, gap);
    }
    l->last_token_ms = now_ms_;
    ++l->generated;
    ++r.tokens_out;
    ++out_.output_tokens;
    if (l->generated >= l->req->output_tokens) {
      finish(l);
      l->target = 0;
    }
  }
  running_.erase(std::remove_if(running_.begin(), running_.end(), [](Live* l) { return l->res->completed; }),
                 running_.end());
  sample(uint32_t(sched.size()), decode, prefill_tokens, iter_ns / kNsPerMs);
  return true;
}

void Simulator::sample(uint32_t batch, uint32_t decode, uint32_t prefill_tokens, double iter_ms) {
  if (++since_sample_ < sample_stride_) return;
  since_sample_ = 0;
  Sample s;
  s.t_ms = now_ms_;
  s.batch = batch;
  s.decode = decode;
  s.prefill_tokens = prefill_tokens;
  s.queue = waiting_.size();
  s.hbm_occupancy = kv_.hbm_blocks() ? double(kv_.hbm_used_blocks()) / double(kv_.hbm_blocks()) : 0;
  s.cxl_occupancy = kv_.cxl_blocks() ? double(kv_.cxl_used_blocks()) / double(kv_.cxl_blocks()) : 0;
  s.iteration_ms = iter_ms;
  out_.samples.push_back(s);
  if (out_.samples.size() >= 2 * std::max<size_t>(cfg_.max_samples, 1)) { // keep every other, halve the rate
    size_t k = 0;
    for (size_t i = 0; i < out_.samples.size(); i += 2) out_.samples[k++] = out_.samples[i];
    out_.samples.resize(k);
    sample_stride_ *= 2;
  }
}

ServeResult Simulator::run() {
  using clock = std::chrono::steady_clock;
  auto last = clock::now();
  const double inf = std::numeric_limits<double>::infinity();
  while (done_ < reqs_.size()) {
    arrivals();
    fetches_done();
    if (!iteration()) {
      if (done_ >= reqs_.size()) break;
      // A loop that neither runs an iteration nor moves time would never end:
      // stop with an error instead (a model bug, reported, never a hang).
      if (now_ms_ == idle_at_ms_) {
        if (++idle_loops_ > 100000)
          throw std::logic_error(fmt::format("serve: no progress at {:.6f} ms ({} waiting, {} running, {} fetching)",
                                             now_ms_, waiting_.size(), running_.size(), fetching_));
      } else {
        idle_at_ms_ = now_ms_;
        idle_loops_ = 0;
      }
      // Nothing to run: jump to the next arrival or transfer.
      const double next_arrival = next_arrival_ < reqs_.size() ? reqs_[next_arrival_].arrival_ms : inf;
      const double next_nic = policy_ == Policy::rdma_pool ? be_.nic_next_ns() / kNsPerMs : inf;
      const double next = std::min(next_arrival, next_nic);
      if (next == inf) {
        // Nothing will ever change: the head of the queue cannot be placed
        // with everything else gone, so it never fits.
        if (waiting_.empty()) throw std::logic_error("serve: requests left but nothing to run or wait for");
        waiting_.pop_front();
        ++out_.refused;
        ++done_;
        continue;
      }
      now_ms_ = std::max(now_ms_, next);
      // ms <-> ns rounding must not leave the transfer that ends now pending.
      if (next == next_nic)
        while (now_ms_ * kNsPerMs < be_.nic_next_ns()) now_ms_ = std::nextafter(now_ms_, inf);
    }
    // The clock every iteration: a detailed step can take seconds of wall.
    if (cfg_.progress) {
      const auto t = clock::now();
      if (std::chrono::duration<double>(t - last).count() >= cfg_.progress_every_s) {
        last = t;
        cfg_.progress(now_ms_, done_, reqs_.size());
      }
    }
  }
  if (policy_ == Policy::rdma_pool) {
    add(out_.energy_pj, be_.nic_energy());
    out_.nic_bytes = be_.nic_bytes();
  }
  out_.evictions = kv_.evictions();
  return std::move(out_);
}

} // namespace

ServeResult simulate(const std::vector<Request>& requests, const ServeConfig& cfg, ServeBackend& backend) {
  Simulator s(requests, cfg, backend);
  return s.run();
}

} // namespace pnm::serving
