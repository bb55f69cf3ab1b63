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
  if (nbanks > (1u << kBankBits))
    throw std::invalid_argument(fmt::format("DramChannel: at most {} banks", 1u << kBankBits));
  banks_.resize(nbanks);
  groups_.resize(cfg_.ranks * spec_.org.bank_groups);
  write_high_fill_ = cfg_.write_high_watermark * static_cast<double>(cfg_.write_queue_entries);
  write_low_fill_ = cfg_.write_low_watermark * static_cast<double>(cfg_.write_queue_entries);
  ranks_.resize(cfg_.ranks);
  counters_.ranks.resize(cfg_.ranks);
  for (auto& r : ranks_) r.refresh_due = cfg_.refresh ? spec_.timing.tREFI : kNever;
  slots_.resize(cfg_.read_queue_entries + cfg_.write_queue_entries);
  for (int32_t i = static_cast<int32_t>(slots_.size()) - 1; i >= 0; --i) free_slots_.push_back(i);
  for (auto& per_type : class_banks_)
    for (auto& list : per_type) list.reserve(banks_per_rank_);
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
  // The newcomer becomes the candidate if the bank had none, or if it is the
  // first row hit (a candidate that is not a hit means the queue holds none).
  const bool hit = bank.open_row >= 0 && slot.req.da.row == bank.open_row;
  if (bank.count[type]++ == 0 || (hit && !bank.cand_col[type])) set_candidate(b, type, s, hit);
}

void DramChannel::unlink(uint32_t b, int type, int32_t s) {
  BankState& bank = banks_[b];
  Slot& slot = slots_[static_cast<size_t>(s)];
  if (slot.prev >= 0) slots_[static_cast<size_t>(slot.prev)].next = slot.next;
  else bank.head[type] = slot.next;
  if (slot.next >= 0) slots_[static_cast<size_t>(slot.next)].prev = slot.prev;
  else bank.tail[type] = slot.prev;
  --bank.count[type];
  find_candidate(b, type);
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
  slots_[static_cast<size_t>(s)].seq = next_seq_++;
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
  if (!write_mode_) return wq > write_high_fill_ || (queued_[0] == 0 && queued_[1] > 0);
  return !((wq < write_low_fill_ && queued_[0] > 0) || queued_[1] == 0);
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

void DramChannel::find_candidate(uint32_t b, int type) {
  const BankState& bank = banks_[b];
  if (bank.count[type] == 0 && bank.cand_slot[type] < 0) return; // nothing queued, nothing to clear
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
  set_candidate(b, type, s, col);
}

void DramChannel::set_candidate(uint32_t b, int type, int32_t s, bool col) {
  BankState& bank = banks_[b];
  bank.cand_slot[type] = s;
  bank.cand_col[type] = col;
  const uint8_t kind = s < 0 ? kNoKind : col ? kCol : bank.open_row >= 0 ? kPre : kAct;
  if (s >= 0) bank.cand_key[type] = slots_[static_cast<size_t>(s)].seq << kBankBits | b;
  if (kind == bank.cand_kind[type]) return;
  // Move the bank to its new class list (order within a list is irrelevant).
  const uint32_t cls0 = rank_of(b) * 3;
  if (bank.cand_kind[type] != kNoKind) {
    std::vector<uint32_t>& from = class_banks_[type][cls0 + bank.cand_kind[type]];
    const uint32_t moved = from.back();
    from[static_cast<size_t>(bank.cand_pos[type])] = moved;
    banks_[moved].cand_pos[type] = bank.cand_pos[type];
    from.pop_back();
  }
  if (kind != kNoKind) {
    std::vector<uint32_t>& to = class_banks_[type][cls0 + kind];
    bank.cand_pos[type] = static_cast<int32_t>(to.size());
    to.push_back(b);
  }
  bank.cand_kind[type] = kind;
}

bool DramChannel::evaluate(uint32_t b, int type, Decision& out, Cycle& arrive, bool& col) const {
  const BankState& bank = banks_[b];
  if (bank.cand_slot[type] < 0) return false;
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
  // Pass 1 finds each class's earliest time from the smallest own bound in
  // its bank list; the FR-FCFS winner is then the oldest candidate of the
  // best class whose own bound is within it (pass 2). Same pick as scoring
  // every bank.
  //
  // Class key: time << 1 | (row command), so that the minimum is the earliest
  // time and, at equal times, a column command (row hit) before a row command.
  const auto& lists = class_banks_[type];
  uint64_t best_key = kNever;
  for (uint32_t r = 0; r < cfg_.ranks; ++r) {
    const RankState& rk = ranks_[r];
    Cycle act = std::max(rk.next_act, cmd_bus_free_);
    if (rk.faw_count >= 4) raise(act, rk.faw[rk.faw_idx] + spec_.timing.tFAW);
    const Cycle bound[3] = {act, std::max(rk.next_pre, cmd_bus_free_), // by kind
                            std::max(type ? rk.next_wr : rk.next_rd, cmd_bus_free_)};
    for (uint32_t kind = kAct; kind <= kCol; ++kind) {
      Cycle m = kNever;
      for (const uint32_t b : lists[r * 3 + kind]) m = std::min(m, own_bound(b, type, kind));
      const Cycle t = std::max(m, bound[kind]);
      // A class is out when it is empty (kNever) or refresh owns the rank by then.
      const uint64_t key = t < rk.refresh_due ? t << 1 | (kind != kCol) : kNever;
      cls_key_[r * 3 + kind] = key;
      best_key = std::min(best_key, key);
    }
  }
  Decision best;
  Cycle best_arrive = kNever;
  const bool best_col = best_key != kNever && !(best_key & 1);
  if (best_key != kNever) {
    const Cycle best_time = best_key >> 1;
    // Oldest candidate, over the classes at best_time whose kind (column or
    // row) won, with its own bound within best_time. The bank loops have no
    // data-dependent branches (a bank that does not qualify has its key
    // masked to all ones): on random traffic such branches were mispredicted
    // so often that they, not the arithmetic, were most of decide()'s time.
    uint64_t pick = kNever;
    for (uint32_t cls = 0; cls < cfg_.ranks * 3; ++cls) {
      if (cls_key_[cls] != best_key) continue;
      const uint32_t kind = cls % 3;
      for (const uint32_t b : lists[cls]) {
        const uint64_t ok = own_bound(b, type, kind) <= best_time;
        pick = std::min(pick, banks_[b].cand_key[type] | (ok - 1));
      }
    }
    assert(pick != kNever);
    const uint32_t b = static_cast<uint32_t>(pick & ((1u << kBankBits) - 1));
    const BankState& bank = banks_[b];
    const uint32_t kind = bank.cand_kind[type];
    const Command cmd = kind == kCol ? (type ? Command::WR : Command::RD)
                        : kind == kPre ? Command::PRE
                                       : Command::ACT;
    const int32_t s = bank.cand_slot[type];
    best = Decision{true, best_time, cmd, b, rank_of(b), s};
    best_arrive = slots_[static_cast<size_t>(s)].req.arrive;
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
  find_candidate(b, 0); // candidates follow the open row
  find_candidate(b, 1);
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
  find_candidate(b, 0); // candidates follow the open row
  find_candidate(b, 1);
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
