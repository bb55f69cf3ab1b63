// One DDR5 channel (a 32-bit subchannel): request queues, FR-FCFS scheduler,
// page policy, all-bank refresh, and the rank/bank-group/bank state machines
// that enforce JEDEC timing. Plain C++: it advances its own clock from one
// command to the next (never cycle by cycle), which is what makes it fast.
#pragma once

#include "address_mapper.h"
#include "dram_spec.h"

#include <algorithm>
#include <array>
#include <cstdint>
#include <functional>
#include <limits>
#include <unordered_map>
#include <vector>

namespace pnm::dram {

constexpr Cycle kNever = std::numeric_limits<Cycle>::max();

enum class Command : uint8_t { ACT, PRE, PREA, RD, WR, RDA, WRA, REF, kCount };
constexpr size_t kCommandCount = static_cast<size_t>(Command::kCount);
const char* command_name(Command c);

enum class PagePolicy : uint8_t {
  open,     // rows stay open until a conflict or refresh closes them
  closed,   // every column command auto-precharges (RDA/WRA)
  adaptive, // auto-precharge unless another queued request hits the same row
};
PagePolicy parse_page_policy(const std::string& s); // throws std::invalid_argument

struct ChannelConfig {
  uint32_t ranks = 1;
  uint32_t read_queue_entries = 32;
  uint32_t write_queue_entries = 32;
  double write_high_watermark = 0.8; // enter write drain above this fill
  double write_low_watermark = 0.2;  // leave it below this fill (if reads wait)
  PagePolicy page_policy = PagePolicy::open;
  bool refresh = true;
};

struct ChannelRequest {
  uint64_t id = 0;
  uint64_t addr = 0;
  DramAddress da;
  bool write = false;
  Cycle arrive = 0; // set by enqueue to the cycle the controller accepted it
  uint64_t tag = 0; // opaque to the controller (adapters keep their payload here)
};

// Observers see every command as it issues (tracing, checking, energy peers).
class CommandObserver {
public:
  virtual ~CommandObserver() = default;
  virtual void on_command(uint32_t channel, Cycle t, Command c, uint32_t rank, uint32_t bankgroup,
                          uint32_t bank, uint32_t row) = 0;
};

struct RankActivity {
  uint64_t acts = 0, reads = 0, writes = 0, refreshes = 0;
  uint64_t bank_precharges = 0; // banks closed (PRE, PREA per open bank, auto-precharge)
};

struct ChannelCounters {
  std::array<uint64_t, kCommandCount> commands{};
  uint64_t reads_served = 0, writes_served = 0;
  uint64_t row_hits = 0, row_misses = 0, row_conflicts = 0;
  uint64_t forwarded_reads = 0; // reads served from the write queue
  std::vector<RankActivity> ranks;

  // Sums the request and command counts of another channel (not ranks).
  ChannelCounters& operator+=(const ChannelCounters& o) {
    for (size_t i = 0; i < commands.size(); ++i) commands[i] += o.commands[i];
    reads_served += o.reads_served;
    writes_served += o.writes_served;
    row_hits += o.row_hits;
    row_misses += o.row_misses;
    row_conflicts += o.row_conflicts;
    forwarded_reads += o.forwarded_reads;
    return *this;
  }
};

struct DramEnergy {
  // pJ per class, all ranks of the channel, all devices of each rank.
  double act = 0, pre = 0, rd = 0, wr = 0, ref = 0, bg_active = 0, bg_precharged = 0, io = 0;
  double total() const { return act + pre + rd + wr + ref + bg_active + bg_precharged + io; }
  DramEnergy& operator+=(const DramEnergy& o) {
    act += o.act;
    pre += o.pre;
    rd += o.rd;
    wr += o.wr;
    ref += o.ref;
    bg_active += o.bg_active;
    bg_precharged += o.bg_precharged;
    io += o.io;
    return *this;
  }
};

class DramChannel {
public:
  // done = the cycle the last data beat has moved (read data returned, or
  // write data written); called when the column command issues.
  using CompletionFn = std::function<void(const ChannelRequest&, Cycle done)>;

  DramChannel(const DramSpec& spec, const ChannelConfig& cfg, uint32_t index = 0);

  void set_completion(CompletionFn fn) { on_complete_ = std::move(fn); }
  void add_observer(CommandObserver* obs) { observers_.push_back(obs); }

  bool can_accept(bool write) const;
  // Accepts a request at max(now(), r.arrive). Precondition: can_accept(r.write).
  void enqueue(ChannelRequest r);

  // Cycle of the next command the scheduler will issue given what is queued
  // (a refresh is always pending eventually, so this is finite when refresh is on).
  Cycle next_command_time();
  Command next_command();
  void issue_next();
  // Issues every command due strictly before `limit`, then sets now() = limit.
  void advance_to(Cycle limit);
  // Issues commands until every queued request has been served.
  void drain();

  bool idle() const { return queued_[0] + queued_[1] == 0; }
  size_t queued(bool write) const { return queued_[write ? 1 : 0]; }
  Cycle now() const { return now_; }
  Cycle last_data_cycle() const { return last_data_; }

  const ChannelCounters& counters() const { return counters_; }
  // Energy of everything issued so far, with background counted up to `end`.
  DramEnergy energy(Cycle end) const;
  const DramSpec& spec() const { return spec_; }
  const ChannelConfig& config() const { return cfg_; }

private:
  static constexpr size_t kMaxRanks = 4;
  // Flat bank indices fit in 9 bits (4 ranks x 16 groups x 8 banks); decide()
  // packs one below an arrival sequence number.
  static constexpr uint32_t kBankBits = 9;
  // Candidate kinds: the command a bank's candidate needs next.
  static constexpr uint8_t kAct = 0, kPre = 1, kCol = 2, kNoKind = 3;

  struct Slot {
    ChannelRequest req;
    uint64_t seq = 0;             // arrival order across the channel
    int32_t prev = -1, next = -1; // within its bank's queue
    uint8_t cls = 0;              // 0 none yet, 1 needed ACT (miss), 2 needed PRE (conflict)
  };
  // Padded to 128 bytes so that indexing it in decide()'s loops is a shift.
  struct alignas(64) BankState {
    int64_t open_row = -1;
    Cycle next_act = 0, next_pre = 0, next_rd = 0, next_wr = 0;
    Cycle act_time = 0;
    int32_t head[2] = {-1, -1}, tail[2] = {-1, -1};
    uint32_t count[2] = {0, 0};
    // The bank's FR-FCFS candidate per queue type (its oldest row hit, else
    // its oldest request), kept current as the queue and the open row change.
    int32_t cand_slot[2] = {-1, -1};
    bool cand_col[2] = {false, false};
    uint8_t cand_kind[2] = {kNoKind, kNoKind}; // what it needs next: kAct, kPre, kCol
    int32_t cand_pos[2] = {-1, -1};            // position in its class list
    uint64_t cand_key[2] = {0, 0};             // arrival sequence << kBankBits | bank
  };
  struct GroupState {
    Cycle next_act = 0, next_rd = 0, next_wr = 0;
  };
  struct RankState {
    Cycle next_act = 0, next_rd = 0, next_wr = 0, next_pre = 0, next_ref = 0;
    std::array<Cycle, 4> faw{};
    uint32_t faw_idx = 0, faw_count = 0;
    Cycle refresh_due = kNever;
    uint32_t open_banks = 0;
    // Union of active intervals, built incrementally (commands issue in order).
    Cycle act_start = 0, act_end = 0;
    Cycle accumulated_active = 0; // closed intervals before act_start
    bool act_open = false;
    Cycle last_close = 0;
  };
  struct Decision {
    bool valid = false;
    Cycle time = kNever;
    Command cmd = Command::ACT;
    uint32_t bank = 0; // flat bank index
    uint32_t rank = 0;
    int32_t slot = -1;
  };

  uint32_t flat_bank(const DramAddress& a) const {
    return (a.rank * spec_.org.bank_groups + a.bankgroup) * spec_.org.banks_per_group + a.bank;
  }
  uint32_t group_of(uint32_t flat) const { return flat >> group_shift_; }
  uint32_t rank_of(uint32_t flat) const { return flat >> rank_shift_; }
  // Rescans bank b's queue for its candidate (after the queue or open row changed).
  void find_candidate(uint32_t b, int type);
  // Records the candidate and moves the bank to the class list of its kind.
  void set_candidate(uint32_t b, int type, int32_t s, bool col);
  // Bank- and bank-group-level bound of bank b's candidate of that kind.
  Cycle own_bound(uint32_t b, int type, uint32_t kind) const {
    const BankState& bank = banks_[b];
    const GroupState& g = groups_[group_of(b)];
    if (kind == kAct) return std::max(bank.next_act, g.next_act);
    if (kind == kPre) return bank.next_pre;
    return type ? std::max(bank.next_wr, g.next_wr) : std::max(bank.next_rd, g.next_rd);
  }

  void decide();
  bool write_mode_after_update() const;
  void update_write_mode() { write_mode_ = write_mode_after_update(); }
  // Evaluates bank b's candidate; returns false if it has none or refresh owns its rank.
  bool evaluate(uint32_t b, int type, Decision& out, Cycle& arrive, bool& col) const;
  Cycle earliest_prea(uint32_t r) const;
  Cycle earliest_ref(uint32_t r) const;
  bool auto_precharge(uint32_t b, int32_t slot) const;

  void issue(const Decision& d);
  void do_act(uint32_t b, Cycle t, int64_t row);
  void close_bank(uint32_t b, Cycle close_at);
  void do_col(uint32_t b, Cycle t, bool write, bool ap);
  void notify(Cycle t, Command c, uint32_t rank, uint32_t bank_flat, int64_t row);

  void link(uint32_t b, int type, int32_t s);
  void unlink(uint32_t b, int type, int32_t s);
  void rank_activate(RankState& r, Cycle t);
  void rank_close(RankState& r, Cycle close_at);

  DramSpec spec_;
  ChannelConfig cfg_;
  uint32_t index_;
  uint32_t banks_per_rank_;
  uint32_t group_shift_ = 0, rank_shift_ = 0; // banks are powers of two
  double write_high_fill_ = 0, write_low_fill_ = 0; // watermarks x write queue entries
  std::vector<BankState> banks_;
  std::vector<GroupState> groups_;
  std::vector<RankState> ranks_;
  std::vector<Slot> slots_;
  std::vector<int32_t> free_slots_;
  // Per queue type and class (rank * 3 + kind): the banks whose candidate is
  // of that class, so decide() visits only banks that have a candidate.
  std::array<std::vector<uint32_t>, kMaxRanks * 3> class_banks_[2];
  uint64_t next_seq_ = 0;
  std::unordered_map<uint64_t, uint32_t> write_addrs_; // for read forwarding
  size_t queued_[2] = {0, 0};
  bool write_mode_ = false;
  Cycle now_ = 0;
  Cycle cmd_bus_free_ = 0;
  Cycle last_data_ = 0;
  Decision decision_;
  std::array<uint64_t, kMaxRanks * 3> cls_key_{}; // decide() scratch, rank x {ACT, PRE, column}
  Cycle best_arrive_ = kNever; // arrival and kind of the pending decision's request
  bool best_col_ = false;
  ChannelCounters counters_;
  CompletionFn on_complete_;
  std::vector<CommandObserver*> observers_;
};

} // namespace pnm::dram
