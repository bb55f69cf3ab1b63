#include "dram_channel.h"

#include <algorithm>
#include <cassert>
#include <fmt/format.h>
#include <stdexcept>

namespace pnm::dram {

const char* command_name(Command c) {
  static const char* names[] = {"ACT", "PRE", "PREA", "RD", "WR", "RDA", "WRA", "REF"};
  return names[static_cast<size_t>(c)];
}

PagePolicy parse_page_policy(const std::string& s) {
  if (s == "open") return PagePolicy::open;
  if (s == "closed") return PagePolicy::closed;
  if (s == "adaptive") return PagePolicy::adaptive;
  throw std::invalid_argument(fmt::format("page policy '{}': valid: open|closed|adaptive", s));
}

namespace {
// DDR5 ACT, RD, WR, RDA, WRA take two command-bus cycles, the rest one
// (JESD79-5 command truth table, as noted in Ramulator 2's DDR5 model).
bool two_cycle(Command c) {
  return c == Command::ACT || c == Command::RD || c == Command::WR || c == Command::RDA ||
         c == Command::WRA;
}
inline void raise(Cycle& v, Cycle t) {
  if (t > v) v = t;
}
inline Cycle sub_sat(Cycle a, Cycle b) { return a > b ? a - b : 0; }
// FR-FCFS order: earliest issue first; at equal time a column command (row
// hit) beats a row command; then the oldest request.
inline bool beats(Cycle t, bool col, Cycle arrive, Cycle bt, bool bcol, Cycle barrive) {
  return t < bt || (t == bt && (col > bcol || (col == bcol && arrive < barrive)));
}
} // namespace

DramChannel::DramChannel(const DramSpec& spec, const ChannelConfig& cfg, uint32_t index)
    : spec_(spec), cfg_(cfg), index_(index), banks_per_rank_(spec.org.banks_per_rank()) {
  if (cfg_.ranks == 0 || cfg_.ranks > kMaxRanks)
    throw std::invalid_argument(fmt::format("DramChannel: ranks must be 1..{}", kMaxRanks));
  if (cfg_.read_queue_entries == 0 || cfg_.write_queue_entries == 0)
    throw std::invalid_argument("DramChannel: queues must hold at least one request");
  while ((1u << group_shift_) < spec_.org.banks_per_group) ++group_shift_;
  while ((1u << rank_shift_) < banks_per_rank_) ++rank_shift_;
  if ((1u << group_shift_) != spec_.org.banks_per_group || (1u << rank_shift_) != banks_per_rank_)
    throw std::invalid_argument("DramChannel: bank counts must be powers of two");
  const uint32_t nbanks = cfg_.ranks * banks_per_rank_;
  banks_.resize(nbanks);
  groups_.resize(cfg_.ranks * spec_.org.bank_groups);
  ranks_.resize(cfg_.ranks);
  counters_.ranks.resize(cfg_.ranks);
  for (auto& r : ranks_) r.refresh_due = cfg_.refresh ? spec_.timing.tREFI : kNever;
  slots_.resize(cfg_.read_queue_entries + cfg_.write_queue_entries);
  for (int32_t i = static_cast<int32_t>(slots_.size()) - 1; i >= 0; --i) free_slots_.push_back(i);
  for (int t = 0; t < 2; ++t) {
    active_pos_[t].assign(nbanks, -1);
    active_[t].reserve(nbanks);
  }
}

bool DramChannel::can_accept(bool write) const {
  return write ? queued_[1] < cfg_.write_queue_entries : queued_[0] < cfg_.read_queue_entries;
}

void DramChannel::link(uint32_t b, int type, int32_t s) {
  BankState& bank = banks_[b];
  Slot& slot = slots_[static_cast<size_t>(s)];
  slot.prev = bank.tail[type];
  slot.next = -1;
  if (bank.tail[type] >= 0) slots_[static_cast<size_t>(bank.tail[type])].next = s;
  else bank.head[type] = s;
  bank.tail[type] = s;
  bank.cand_valid[type] = false;
  touch_group(group_of(b));
  slot.aprev = atail_[type];
  slot.anext = -1;
  if (atail_[type] >= 0) slots_[static_cast<size_t>(atail_[type])].anext = s;
  else ahead_[type] = s;
  atail_[type] = s;
  if (bank.count[type]++ == 0) {
    active_pos_[type][b] = static_cast<int32_t>(active_[type].size());
    active_[type].push_back(b);
  }
}

void DramChannel::unlink(uint32_t b, int type, int32_t s) {
  BankState& bank = banks_[b];
  Slot& slot = slots_[static_cast<size_t>(s)];
  if (slot.prev >= 0) slots_[static_cast<size_t>(slot.prev)].next = slot.next;
  else bank.head[type] = slot.next;
  if (slot.next >= 0) slots_[static_cast<size_t>(slot.next)].prev = slot.prev;
  else bank.tail[type] = slot.prev;
  bank.cand_valid[type] = false;
  touch_group(group_of(b));
  if (slot.aprev >= 0) slots_[static_cast<size_t>(slot.aprev)].anext = slot.anext;
  else ahead_[type] = slot.anext;
  if (slot.anext >= 0) slots_[static_cast<size_t>(slot.anext)].aprev = slot.aprev;
  else atail_[type] = slot.aprev;
  if (--bank.count[type] == 0) {
    int32_t pos = active_pos_[type][b];
    uint32_t last = active_[type].back();
    active_[type][static_cast<size_t>(pos)] = last;
    active_pos_[type][last] = pos;
    active_[type].pop_back();
    active_pos_[type][b] = -1;
  }
}

void DramChannel::enqueue(ChannelRequest r) {
  if (r.arrive > now_) advance_to(r.arrive);
  r.arrive = now_;
  if (r.da.rank >= cfg_.ranks || r.da.bankgroup >= spec_.org.bank_groups ||
      r.da.bank >= spec_.org.banks_per_group || r.da.row >= spec_.org.rows)
    throw std::out_of_range(fmt::format("channel {}: request 0x{:x} decodes outside the device",
                                        index_, r.addr));
  if (!r.write && !write_addrs_.empty()) {
    auto it = write_addrs_.find(r.addr);
    if (it != write_addrs_.end()) {
      // The newest data is still in the write queue: answer from there.
      ++counters_.forwarded_reads;
      ++counters_.reads_served;
      if (on_complete_) on_complete_(r, now_ + 1);
      return;
    }
  }
  if (!can_accept(r.write))
    throw std::logic_error(fmt::format("channel {}: enqueue into a full queue", index_));
  int32_t s = free_slots_.back();
  free_slots_.pop_back();
  const uint32_t b = flat_bank(r.da);
  slots_[static_cast<size_t>(s)].req = r;
  slots_[static_cast<size_t>(s)].cls = 0;
  slots_[static_cast<size_t>(s)].bank = b;
  int type = r.write ? 1 : 0;
  const bool was_best_bank = decision_.slot >= 0 && decision_.bank == b;
  link(b, type, s);
  ++queued_[type];
  if (r.write) ++write_addrs_[r.addr];
  // Re-deciding from scratch after every arrival doubles the scheduler's
  // work. The pending decision is still the best over every other bank, and
  // this bank's old candidate (older than the new request) had lost, so only
  // this bank's new candidate needs a look, unless the write mode flips, the
  // bank held the winner, or the winner is a refresh (whose blocking rule
  // depends on the candidates it beat).
  if (!decision_.valid) return;
  if (write_mode_after_update() != write_mode_) {
    decision_.valid = false;
    return;
  }
  if (type != (write_mode_ ? 1 : 0)) return; // not the queue being served
  if (was_best_bank || decision_.slot < 0) {
    decision_.valid = false;
    return;
  }
  Decision d;
  Cycle arrive;
  bool col;
  if (evaluate(b, type, d, arrive, col) &&
      (decision_.time == kNever || beats(d.time, col, arrive, decision_.time, best_col_, best_arrive_))) {
    decision_ = d;
    best_arrive_ = arrive;
    best_col_ = col;
  }
}

bool DramChannel::write_mode_after_update() const {
  // Ramulator 2's generic controller rule: drain writes when their queue is
  // above the high watermark or no read waits; stop below the low watermark.
  const double wq = static_cast<double>(queued_[1]);
  const double cap = static_cast<double>(cfg_.write_queue_entries);
  if (!write_mode_)
    return wq > cfg_.write_high_watermark * cap || (queued_[0] == 0 && queued_[1] > 0);
  return !((wq < cfg_.write_low_watermark * cap && queued_[0] > 0) || queued_[1] == 0);
}

Cycle DramChannel::earliest_act(uint32_t b) const {
  const BankState& bank = banks_[b];
  const RankState& r = ranks_[rank_of(b)];
  Cycle t = std::max({bank.next_act, groups_[group_of(b)].next_act, r.next_act, cmd_bus_free_});
  if (r.faw_count >= 4) raise(t, r.faw[r.faw_idx] + spec_.timing.tFAW);
  return t;
}

Cycle DramChannel::earliest_pre(uint32_t b) const {
  return std::max({banks_[b].next_pre, ranks_[rank_of(b)].next_pre, cmd_bus_free_});
}

Cycle DramChannel::earliest_col(uint32_t b, bool write) const {
  const BankState& bank = banks_[b];
  const GroupState& g = groups_[group_of(b)];
  const RankState& r = ranks_[rank_of(b)];
  return write ? std::max({bank.next_wr, g.next_wr, r.next_wr, cmd_bus_free_})
               : std::max({bank.next_rd, g.next_rd, r.next_rd, cmd_bus_free_});
}

Cycle DramChannel::earliest_prea(uint32_t rank) const {
  // Every bank counts, not only open ones: a bank closed by RDA/WRA is still
  // precharging on its own, and PREA must respect tRTP / write recovery
  // after that column command too (found by the DRAMPower cross-check).
  Cycle t = std::max(ranks_[rank].next_pre, cmd_bus_free_);
  for (uint32_t i = 0; i < banks_per_rank_; ++i) raise(t, banks_[rank * banks_per_rank_ + i].next_pre);
  return t;
}

Cycle DramChannel::earliest_ref(uint32_t rank) const {
  // All banks precharged for tRP (bank.next_act carries tRP and tRC) and the
  // previous refresh done (tRFC).
  Cycle t = std::max(ranks_[rank].next_ref, cmd_bus_free_);
  for (uint32_t i = 0; i < banks_per_rank_; ++i) raise(t, banks_[rank * banks_per_rank_ + i].next_act);
  return t;
}

uint32_t DramChannel::class_of(uint32_t b, int type) const {
  const BankState& bank = banks_[b];
  return bank.cand_col[type] ? 2 : bank.open_row >= 0 ? 1 : 0;
}

Cycle DramChannel::own_bound(uint32_t b, int type) const {
  const BankState& bank = banks_[b];
  if (bank.cand_col[type]) {
    const GroupState& g = groups_[group_of(b)];
    return type ? std::max(bank.next_wr, g.next_wr) : std::max(bank.next_rd, g.next_rd);
  }
  if (bank.open_row >= 0) return bank.next_pre;
  return std::max(bank.next_act, groups_[group_of(b)].next_act);
}

void DramChannel::refresh_candidate(uint32_t b, int type) {
  BankState& bank = banks_[b];
  int32_t s = bank.head[type];
  bool col = false;
  if (bank.open_row >= 0) {
    for (int32_t h = s; h >= 0; h = slots_[static_cast<size_t>(h)].next)
      if (slots_[static_cast<size_t>(h)].req.da.row == bank.open_row) {
        s = h;
        col = true;
        break;
      }
  }
  bank.cand_slot[type] = s;
  bank.cand_col[type] = col;
  bank.cand_valid[type] = true;
}

bool DramChannel::evaluate(uint32_t b, int type, Decision& out, Cycle& arrive, bool& col) {
  BankState& bank = banks_[b];
  if (!bank.cand_valid[type]) refresh_candidate(b, type);
  col = bank.cand_col[type];
  const uint32_t rank = rank_of(b);
  const RankState& rk = ranks_[rank];
  Cycle t;
  Command cmd;
  if (col) {
    const GroupState& g = groups_[group_of(b)];
    cmd = type ? Command::WR : Command::RD;
    t = type ? std::max({bank.next_wr, g.next_wr, rk.next_wr, cmd_bus_free_})
             : std::max({bank.next_rd, g.next_rd, rk.next_rd, cmd_bus_free_});
  } else if (bank.open_row >= 0) {
    cmd = Command::PRE;
    t = std::max({bank.next_pre, rk.next_pre, cmd_bus_free_});
  } else {
    cmd = Command::ACT;
    t = std::max({bank.next_act, groups_[group_of(b)].next_act, rk.next_act, cmd_bus_free_});
    if (rk.faw_count >= 4) raise(t, rk.faw[rk.faw_idx] + spec_.timing.tFAW);
  }
  if (t >= rk.refresh_due) return false; // refresh owns the rank from then on
  const int32_t s = bank.cand_slot[type];
  out = Decision{true, t, cmd, b, rank, s};
  arrive = slots_[static_cast<size_t>(s)].req.arrive;
  return true;
}

void DramChannel::decide() {
  update_write_mode();
  const int type = write_mode_ ? 1 : 0;
  // Every candidate issues at max(own, class bound): `own` is its bank- and
  // bank-group-level bound, the class bound is its rank's (tRRD_S/tFAW for
  // ACT, tPPD for PRE, tCCD_S/tWTR_S/tRTW for RD/WR) and the command bus.
  // Pass 1 finds each class's earliest time; the FR-FCFS winner is then the
  // oldest candidate of the best class whose own bound is within it (pass 2,
  // in arrival order, stops at the first). Same pick as scoring every bank.
  const size_t nclass = ranks_.size() * 3; // per rank: ACT, PRE, column
  const uint32_t bpg = spec_.org.banks_per_group;
  const uint32_t gpr = spec_.org.bank_groups;
  BankState* const banks = banks_.data();
  for (uint32_t r = 0; r < cfg_.ranks; ++r) {
    Cycle m0 = kNever, m1 = kNever, m2 = kNever; // locals: keeps the loop in registers
    for (uint32_t g = r * gpr; g < (r + 1) * gpr; ++g) {
      GroupState& grp = groups_[g];
      Cycle* m = grp.min_own[type];
      if (grp.dirty[type]) {
        m[0] = m[1] = m[2] = kNever;
        for (uint32_t b = g * bpg; b < (g + 1) * bpg; ++b) {
          BankState& bank = banks[b];
          if (!bank.count[type]) continue;
          if (!bank.cand_valid[type]) refresh_candidate(b, type);
          const uint32_t k = class_of(b, type);
          bank.cand_kind[type] = static_cast<uint8_t>(k);
          bank.cand_own[type] = own_bound(b, type);
          m[k] = std::min(m[k], bank.cand_own[type]);
        }
        grp.dirty[type] = false;
      }
      m0 = std::min(m0, m[0]);
      m1 = std::min(m1, m[1]);
      m2 = std::min(m2, m[2]);
    }
    cls_min_own_[r * 3] = m0;
    cls_min_own_[r * 3 + 1] = m1;
    cls_min_own_[r * 3 + 2] = m2;
  }
  Cycle best_time = kNever;
  bool best_col = false;
  for (size_t cls = 0; cls < nclass; ++cls) {
    if (cls_min_own_[cls] == kNever) continue;
    const RankState& rk = ranks_[cls / 3];
    Cycle t = std::max(cls_min_own_[cls], cmd_bus_free_);
    switch (cls % 3) {
    case 0:
      raise(t, rk.next_act);
      if (rk.faw_count >= 4) raise(t, rk.faw[rk.faw_idx] + spec_.timing.tFAW);
      break;
    case 1: raise(t, rk.next_pre); break;
    default: raise(t, type ? rk.next_wr : rk.next_rd); break;
    }
    cls_time_[cls] = t;
    if (t >= rk.refresh_due) { // refresh owns the rank from then on
      cls_min_own_[cls] = kNever;
      continue;
    }
    const bool col = cls % 3 == 2;
    if (t < best_time || (t == best_time && col && !best_col)) {
      best_time = t;
      best_col = col;
    }
  }
  Decision best;
  Cycle best_arrive = kNever;
  if (best_time != kNever) {
    for (int32_t s = ahead_[type]; s >= 0; s = slots_[static_cast<size_t>(s)].anext) {
      const uint32_t b = slots_[static_cast<size_t>(s)].bank;
      const BankState& bank = banks_[b];
      if (bank.cand_slot[type] != s || bank.cand_own[type] > best_time) continue;
      const uint32_t kind = bank.cand_kind[type];
      const size_t cls = rank_of(b) * 3 + kind;
      if (cls_min_own_[cls] == kNever || cls_time_[cls] != best_time || (kind == 2) != best_col)
        continue;
      const Command cmd = kind == 2 ? (type ? Command::WR : Command::RD)
                          : kind == 1 ? Command::PRE
                                      : Command::ACT;
      best = Decision{true, best_time, cmd, b, rank_of(b), s};
      best_arrive = slots_[static_cast<size_t>(s)].req.arrive;
      break;
    }
    assert(best.valid);
  }
  best_arrive_ = best_arrive;
  best_col_ = best_col;
  if (cfg_.refresh) {
    for (uint32_t r = 0; r < cfg_.ranks; ++r) {
      const RankState& rk = ranks_[r];
      if (best.valid && rk.refresh_due >= best.time) continue; // not due before the best
      Command cmd = rk.open_banks ? Command::PREA : Command::REF;
      Cycle t = std::max(rk.refresh_due, rk.open_banks ? earliest_prea(r) : earliest_ref(r));
      if (!best.valid || t <= best.time) best = Decision{true, t, cmd, r << rank_shift_, r, -1};
    }
  }
  if (!best.valid) best.time = kNever;
  best.valid = true;
  decision_ = best;
}

Cycle DramChannel::next_command_time() {
  if (!decision_.valid) decide();
  return decision_.time;
}

Command DramChannel::next_command() {
  if (!decision_.valid) decide();
  return decision_.cmd;
}

void DramChannel::issue_next() {
  if (!decision_.valid) decide();
  if (decision_.time == kNever) throw std::logic_error("DramChannel: nothing to issue");
  Decision d = decision_;
  decision_.valid = false;
  issue(d);
}

void DramChannel::advance_to(Cycle limit) {
  while (next_command_time() < limit) issue_next();
  if (limit > now_ && limit != kNever) now_ = limit;
  // The pending decision stays valid: every candidate was already at or
  // after `limit`, so raising the command-bus bound to `limit` changes none.
  raise(cmd_bus_free_, now_);
}

void DramChannel::drain() {
  while (!idle()) issue_next();
}

void DramChannel::rank_activate(RankState& r, Cycle t) {
  if (!r.act_open) {
    if (t > r.act_end) {
      r.accumulated_active += r.act_end - r.act_start;
      r.act_start = t;
    }
    r.act_open = true;
  }
}

void DramChannel::rank_close(RankState& r, Cycle close_at) {
  raise(r.last_close, close_at);
  if (r.open_banks == 0) {
    r.act_open = false;
    r.act_end = r.last_close;
  }
}

void DramChannel::notify(Cycle t, Command c, uint32_t rank, uint32_t b, int64_t row) {
  const uint32_t in_rank = b % banks_per_rank_;
  const uint32_t bg = in_rank / spec_.org.banks_per_group;
  const uint32_t bank = in_rank % spec_.org.banks_per_group;
  for (auto* o : observers_)
    o->on_command(index_, t, c, rank, bg, bank, row < 0 ? 0 : static_cast<uint32_t>(row));
}

void DramChannel::do_act(uint32_t b, Cycle t, int64_t row) {
  const DramTiming& T = spec_.timing;
  BankState& bank = banks_[b];
  RankState& r = ranks_[rank_of(b)];
  bank.open_row = row;
  bank.act_time = t;
  invalidate(b);
  bank.next_rd = bank.next_wr = t + T.tRCD;
  raise(bank.next_pre, t + T.tRAS);
  bank.next_act = t + T.tRC;
  raise(groups_[group_of(b)].next_act, t + T.tRRD_L);
  raise(r.next_act, t + T.tRRD_S);
  r.faw[r.faw_idx] = t;
  r.faw_idx = (r.faw_idx + 1) % 4;
  ++r.faw_count;
  ++r.open_banks;
  rank_activate(r, t);
  ++counters_.ranks[rank_of(b)].acts;
}

void DramChannel::close_bank(uint32_t b, Cycle close_at) {
  BankState& bank = banks_[b];
  RankState& r = ranks_[rank_of(b)];
  assert(bank.open_row >= 0);
  bank.open_row = -1;
  invalidate(b);
  raise(bank.next_act, close_at + spec_.timing.tRP);
  --r.open_banks;
  rank_close(r, close_at);
  ++counters_.ranks[rank_of(b)].bank_precharges;
}

bool DramChannel::auto_precharge(uint32_t b, int32_t slot) const {
  switch (cfg_.page_policy) {
  case PagePolicy::open: return false;
  case PagePolicy::closed: return true;
  case PagePolicy::adaptive: {
    const BankState& bank = banks_[b];
    for (int type = 0; type < 2; ++type)
      for (int32_t s = bank.head[type]; s >= 0; s = slots_[static_cast<size_t>(s)].next)
        if (s != slot && slots_[static_cast<size_t>(s)].req.da.row == bank.open_row) return false;
    return true;
  }
  }
  return false;
}

void DramChannel::do_col(uint32_t b, Cycle t, bool write, bool ap) {
  const DramTiming& T = spec_.timing;
  BankState& bank = banks_[b];
  GroupState& g = groups_[group_of(b)];
  const uint32_t rank = rank_of(b);
  RankState& r = ranks_[rank];
  if (!write) {
    raise(g.next_rd, t + T.tCCD_L);
    raise(r.next_rd, t + T.tCCD_S);
    raise(r.next_wr, t + T.tRTW);
    raise(bank.next_pre, t + T.tRTP);
    for (uint32_t o = 0; o < cfg_.ranks; ++o) {
      if (o == rank) continue;
      raise(ranks_[o].next_rd, t + T.nBL + T.tRTRS);
      raise(ranks_[o].next_wr, sub_sat(t + T.CL + T.nBL + T.tRTRS, T.CWL));
    }
    last_data_ = std::max(last_data_, t + T.CL + T.nBL);
    ++counters_.ranks[rank].reads;
    if (ap) close_bank(b, std::max(t + T.tRTP, bank.act_time + T.tRAS));
  } else {
    const Cycle data_end = t + T.CWL + T.nBL;
    raise(g.next_wr, t + T.tCCD_L_WR);
    raise(r.next_wr, t + T.tCCD_S_WR);
    raise(g.next_rd, data_end + T.tWTR_L);
    raise(r.next_rd, data_end + T.tWTR_S);
    raise(bank.next_pre, data_end + T.tWR);
    for (uint32_t o = 0; o < cfg_.ranks; ++o) {
      if (o == rank) continue;
      raise(ranks_[o].next_wr, t + T.nBL + T.tRTRS);
      raise(ranks_[o].next_rd, sub_sat(data_end + T.tRTRS, T.CL));
    }
    last_data_ = std::max(last_data_, data_end);
    ++counters_.ranks[rank].writes;
    if (ap) close_bank(b, std::max(data_end + T.tWR, bank.act_time + T.tRAS));
  }
}

void DramChannel::issue(const Decision& d) {
  const DramTiming& T = spec_.timing;
  const Cycle t = d.time;
  assert(t >= now_);
  now_ = t;
  Command cmd = d.cmd;
  RankState& r = ranks_[d.rank];
  int64_t row = -1;
  switch (cmd) {
  case Command::ACT: {
    Slot& s = slots_[static_cast<size_t>(d.slot)];
    row = s.req.da.row;
    if (s.cls == 0) s.cls = 1;
    do_act(d.bank, t, row);
    break;
  }
  case Command::PRE: {
    row = banks_[d.bank].open_row;
    slots_[static_cast<size_t>(d.slot)].cls = 2;
    close_bank(d.bank, t);
    raise(r.next_pre, t + T.tPPD);
    break;
  }
  case Command::PREA: {
    for (uint32_t i = 0; i < banks_per_rank_; ++i) {
      uint32_t b = d.rank * banks_per_rank_ + i;
      if (banks_[b].open_row >= 0) close_bank(b, t);
    }
    raise(r.next_pre, t + T.tPPD);
    break;
  }
  case Command::REF: {
    for (uint32_t i = 0; i < banks_per_rank_; ++i)
      raise(banks_[d.rank * banks_per_rank_ + i].next_act, t + T.tRFC);
    raise(r.next_act, t + T.tRFC);
    r.next_ref = t + T.tRFC;
    r.refresh_due += T.tREFI;
    rank_activate(r, t); // refreshing counts as active background (IDD5B - IDD3N on top)
    rank_close(r, t + T.tRFC);
    ++counters_.ranks[d.rank].refreshes;
    break;
  }
  case Command::RD:
  case Command::WR: {
    const bool write = cmd == Command::WR;
    const int type = write ? 1 : 0;
    Slot& s = slots_[static_cast<size_t>(d.slot)];
    row = s.req.da.row;
    const bool ap = auto_precharge(d.bank, d.slot);
    if (ap) cmd = write ? Command::WRA : Command::RDA;
    do_col(d.bank, t, write, ap);
    switch (s.cls) {
    case 0: ++counters_.row_hits; break;
    case 1: ++counters_.row_misses; break;
    default: ++counters_.row_conflicts; break;
    }
    ChannelRequest req = s.req;
    unlink(d.bank, type, d.slot);
    free_slots_.push_back(d.slot);
    --queued_[type];
    if (write) {
      auto it = write_addrs_.find(req.addr);
      if (--it->second == 0) write_addrs_.erase(it);
      ++counters_.writes_served;
    } else {
      ++counters_.reads_served;
    }
    const Cycle done = t + (write ? T.CWL : T.CL) + T.nBL;
    if (on_complete_) on_complete_(req, done);
    break;
  }
  default:
    throw std::logic_error("DramChannel: unexpected decision");
  }
  if (cmd == Command::REF || cmd == Command::PREA) {
    const uint32_t groups_per_rank = spec_.org.bank_groups;
    for (uint32_t g = d.rank * groups_per_rank; g < (d.rank + 1) * groups_per_rank; ++g) touch_group(g);
  } else {
    touch_group(group_of(d.bank));
  }
  cmd_bus_free_ = t + (two_cycle(cmd) ? 2 : 1);
  ++counters_.commands[static_cast<size_t>(cmd)];
  if (!observers_.empty()) notify(t, cmd, d.rank, d.bank, row);
}

DramEnergy DramChannel::energy(Cycle end) const {
  const DramTiming& T = spec_.timing;
  const DramPower& P = spec_.power;
  const double dev = spec_.org.devices_per_rank();
  const double tck_ns = T.tCK_ps * 1e-3;
  // mA x V x ns = pJ.
  const double act_mw = P.VDD_V * (P.IDD0_mA - P.IDD3N_mA) + P.VPP_V * (P.IPP0_mA - P.IPP3N_mA);
  const double pre_mw = P.VDD_V * (P.IDD0_mA - P.IDD2N_mA) + P.VPP_V * (P.IPP0_mA - P.IPP2N_mA);
  const double rd_mw = P.VDD_V * (P.IDD4R_mA - P.IDD3N_mA) + P.VPP_V * (P.IPP4R_mA - P.IPP3N_mA);
  const double wr_mw = P.VDD_V * (P.IDD4W_mA - P.IDD3N_mA) + P.VPP_V * (P.IPP4W_mA - P.IPP3N_mA);
  const double ref_mw = P.VDD_V * (P.IDD5B_mA - P.IDD3N_mA) + P.VPP_V * (P.IPP5B_mA - P.IPP3N_mA);
  const double actsb_mw = P.VDD_V * P.IDD3N_mA + P.VPP_V * P.IPP3N_mA;
  const double presb_mw = P.VDD_V * P.IDD2N_mA + P.VPP_V * P.IPP2N_mA;
  const double burst_bits = spec_.org.burst_bytes() * 8.0;
  DramEnergy e;
  for (uint32_t i = 0; i < cfg_.ranks; ++i) {
    const RankActivity& a = counters_.ranks[i];
    const RankState& r = ranks_[i];
    Cycle active = r.accumulated_active;
    const Cycle stop = r.act_open ? end : std::min(r.act_end, end);
    if (stop > r.act_start) active += stop - r.act_start;
    active = std::min(active, end);
    e.act += a.acts * dev * act_mw * T.tRAS * tck_ns;
    e.pre += a.bank_precharges * dev * pre_mw * T.tRP * tck_ns; // DRAMPower: (IDD0 - IDD2N) over tRP
    e.rd += a.reads * dev * rd_mw * T.nBL * tck_ns;
    e.wr += a.writes * dev * wr_mw * T.nBL * tck_ns;
    e.ref += a.refreshes * dev * ref_mw * T.tRFC * tck_ns;
    e.bg_active += dev * actsb_mw * static_cast<double>(active) * tck_ns;
    e.bg_precharged += dev * presb_mw * static_cast<double>(end - active) * tck_ns;
    e.io += static_cast<double>(a.reads + a.writes) * burst_bits * P.io_pj_per_bit(T.tCK_ps);
  }
  return e;
}

} // namespace pnm::dram
