#include "pnm/engine_timing.h"

#include "pnm/datapath.h"

#include <algorithm>
#include <cmath>
#include <deque>
#include <functional>
#include <memory>
#include <queue>
#include <stdexcept>

namespace pnm::engine {

using dram::ChannelRequest;
using dram::Cycle;
using dram::DramAddress;
using dram::kNever;

namespace {

constexpr uint64_t kLine = 64;

uint64_t mix(uint64_t x) { // splitmix64 finaliser: a fixed, portable hash
  x += 0x9E3779B97F4A7C15ull;
  x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ull;
  x = (x ^ (x >> 27)) * 0x94D049BB133111EBull;
  return x ^ (x >> 31);
}

enum class Kind : uint8_t { kQ, kScore, kAccum, kMerge };

// A run of rows the DMA reads and the pipeline consumes in order: one item
// per row (a K row is scored, a V row accumulated; Q is one item).
struct Stream {
  Kind kind = Kind::kQ;
  uint32_t head = 0;          // KV head
  bool last_of_head = false;  // the head's last K (top-k) or V (attention) stream
  bool first_block = true;    // dense V: no rescale before the first block
  uint64_t base = 0;          // address of row 0 of the region
  uint64_t row_bytes = 0;
  uint64_t first_row = 0;     // contiguous rows [first_row, first_row + nrows)
  uint64_t nrows = 0;
  const std::vector<uint32_t>* rows = nullptr; // or these rows (ascending)
  int dep_head = -1;          // top-k V: addresses known once this head's selection is done

  uint64_t row_addr(uint64_t i) const {
    return base + (rows ? uint64_t{(*rows)[i]} : first_row + i) * row_bytes;
  }
};

// One 64 B line to read, and how many items end in it (rows shorter than a
// line share it; a line is read once per stream).
struct Line {
  uint64_t addr;
  uint32_t stream;
  uint32_t items;
};

class LineGen {
public:
  explicit LineGen(const std::vector<Stream>& s) : s_(s) { skip_empty(); }
  void reset() {
    cur_ = 0;
    r_ = 0;
    line_ = 0;
    skip_empty();
  }
  bool done() const { return cur_ >= s_.size(); }
  const Stream& stream() const { return s_[cur_]; }

  Line next() {
    const Stream& st = s_[cur_];
    const uint64_t first = st.row_addr(r_) / kLine;
    if (line_ < first) line_ = first;
    Line out{line_ * kLine, static_cast<uint32_t>(cur_), 0};
    while (r_ < st.nrows && (st.row_addr(r_) + st.row_bytes - 1) / kLine == line_) {
      ++out.items;
      ++r_;
    }
    ++line_;
    if (r_ == st.nrows) {
      ++cur_;
      r_ = 0;
      line_ = 0;
      skip_empty();
    }
    return out;
  }

private:
  void skip_empty() {
    while (cur_ < s_.size() && s_[cur_].nrows == 0) ++cur_;
  }
  const std::vector<Stream>& s_;
  size_t cur_ = 0;
  uint64_t r_ = 0;
  uint64_t line_ = 0;
};

// Small fixed-capacity FIFO (no allocation on the hot path).
template <typename T> class Ring {
public:
  explicit Ring(size_t cap) : buf_(cap) {}
  bool empty() const { return n_ == 0; }
  size_t size() const { return n_; }
  void push(const T& v) {
    buf_[(head_ + n_) % buf_.size()] = v;
    ++n_;
  }
  T& front() { return buf_[head_]; }
  void pop() {
    head_ = (head_ + 1) % buf_.size();
    --n_;
  }

private:
  std::vector<T> buf_;
  size_t head_ = 0, n_ = 0;
};

// Staging buffer in 64 B lines. Q passes through it too (into the query
// registers), so it is never smaller than Q plus a few rows: a stream item
// must fit in the buffer or the in-order release could never free space.
uint64_t buffer_lines(const EngineConfig& cfg, const AttentionJob& job) {
  // A MERGE's item is one part: it must fit, as Q must.
  const uint64_t q_lines = ((job.op() == Opcode::kMerge ? job.part_bytes() : job.q_bytes()) + 2 * kLine - 1) / kLine;
  return std::max<uint64_t>(cfg.sram_buffer_bytes() / kLine, q_lines + 16);
}

class Sim : public dram::MemoryFrontEnd::Agent {
public:
  Sim(const EngineConfig& cfg, dram::MemoryPort& port, const AttentionJob& job,
      const JobPlan& plan, Cycle start, int lanes)
      : cfg_(cfg), port_(port), job_(job), start_(start),
        cap_(buffer_lines(cfg, job)), ring_(cap_),
        credits_(cap_), gen_(streams_) {
    const double G = job.group(), d = job.head_dim;
    e_per_dram_ = port.tck_ns() * cfg.clock_ghz();
    fabric_e_ = cfg.fabric_latency_ns * cfg.clock_ghz();
    depth_ = datapath::pipeline_depth_cycles(lanes);
    c_score_ = G * (d / lanes) / cfg.dot_units;
    c_accum_ = std::max(G * d / cfg.v_macs_per_cycle, G / cfg.exps_per_cycle);
    c_rescale_ = c_accum_;
    c_finish_ = G * d * (job.prec() == Precision::kInt8 ? 2 : 1) / cfg.v_macs_per_cycle;
    dense_ = job.op() == Opcode::kDense;
    merge_ = job.op() == Opcode::kMerge;
    topk_ = !dense_ && !merge_;
    // MERGE, per part: H exps (weights) and H*d multiply-adds into the
    // accumulator; then the divide (c_finish_ at G = H, BF16 width).
    c_merge_ = std::max(double(job.heads) * d / cfg.v_macs_per_cycle, double(job.heads) / cfg.exps_per_cycle);
    if (merge_) c_finish_ = double(job.heads) * d / cfg.v_macs_per_cycle;
    sel_done_.assign(job.kv_heads, 0.0);
    sel_known_.assign(job.kv_heads, false);
    const uint32_t nch = port.channels();
    pend_.reserve(nch);
    for (uint32_t c = 0; c < nch; ++c) pend_.emplace_back(cap_);
    outstanding_.assign(nch, 0);
    inflight_.resize(nch);
    build_streams(plan);
    gen_.reset();
    port_.set_on_done([this](uint64_t tag, bool write, Cycle done) { on_complete(tag, write, done); });
    port_.front_end().attach(this);
  }
  ~Sim() override {
    port_.front_end().detach(this);
    port_.set_on_done(nullptr);
  }

  bool done() const { return phase_ == Phase::kDone; }
  const TimingResult& result() const { return res_; }
  Cycle next_event() const override;
  void advance(Cycle T) override;

private:
  enum class Phase { kWaiting, kReading, kWriting, kDone };
  struct LineRec {
    uint32_t stream = 0, items = 0;
    double ready = 0; // engine cycles from start, data in the buffer
    bool arrived = false;
  };
  struct Pending {
    uint64_t seq;
    uint64_t addr;
    DramAddress da;
  };
  struct Release {
    Cycle time;
    uint64_t lines;
  };
  using MinHeap = std::priority_queue<Cycle, std::vector<Cycle>, std::greater<Cycle>>;

  double to_e(Cycle c) const { return static_cast<double>(c - start_) * e_per_dram_; }
  Cycle to_dram(double e) const {
    if (e <= 0) return start_;
    return start_ + static_cast<Cycle>(std::ceil(e / e_per_dram_ - 1e-9));
  }

  void build_streams(const JobPlan& plan);
  void on_complete(uint64_t tag, bool write, Cycle done);
  void schedule(uint32_t stream, uint32_t n, double ready);
  void read_step(Cycle T);
  void write_outputs(Cycle at);
  void finish();

  const EngineConfig& cfg_;
  dram::MemoryPort& port_;
  const AttentionJob& job_;
  Cycle start_;
  double e_per_dram_ = 1, fabric_e_ = 0, depth_ = 0;
  double c_score_ = 0, c_accum_ = 0, c_rescale_ = 0, c_finish_ = 0, c_merge_ = 0;
  bool dense_ = false, topk_ = false, merge_ = false;
  Phase phase_ = Phase::kWaiting;

  std::vector<Stream> streams_;
  const uint64_t cap_; // staging buffer, lines
  std::vector<LineRec> ring_;
  uint64_t credits_;
  LineGen gen_;
  uint64_t split_ = 0, arr_ = 0, released_ = 0;
  std::vector<Ring<Pending>> pend_;
  std::vector<uint32_t> outstanding_;
  std::vector<MinHeap> inflight_;
  std::deque<Release> releases_;
  uint64_t writes_outstanding_ = 0;
  Cycle write_end_ = 0, last_data_ = 0, compute_end_dram_ = 0;
  // What the read phase waits for, from the last advance().
  Cycle blocked_until_ = kNever;
  bool blocked_on_space_ = false;

  // Pipeline state, engine cycles from start.
  double prefix_ready_ = 0, retire_e_ = 0;
  double score_free_ = 0, topk_free_ = 0, acc_free_ = 0, block_ready_ = 0, compute_end_ = 0;
  std::vector<double> sel_done_;
  std::vector<bool> sel_known_;
  uint32_t sched_stream_ = UINT32_MAX;
  uint64_t sched_item_ = 0;
  TimingResult res_;
};

void Sim::build_streams(const JobPlan& plan) {
  const AttentionJob& j = job_;
  if (merge_) { // one row per part, merged as it arrives
    Stream m;
    m.kind = Kind::kMerge;
    m.base = j.q_addr;
    m.row_bytes = j.part_bytes();
    m.nrows = j.parts();
    m.last_of_head = true;
    streams_.push_back(m);
    return;
  }
  const uint64_t row = j.row_bytes();
  const uint64_t head_bytes = j.kv_stride_rows() * row;
  Stream q;
  q.kind = Kind::kQ;
  q.base = j.q_addr;
  q.row_bytes = j.q_bytes();
  q.nrows = 1;
  streams_.push_back(q);
  auto k_stream = [&](uint32_t h, uint64_t first, uint64_t n, bool last) {
    Stream s;
    s.kind = Kind::kScore;
    s.head = h;
    s.base = j.k_addr + h * head_bytes;
    s.row_bytes = row;
    s.first_row = first;
    s.nrows = n;
    s.last_of_head = last;
    return s;
  };
  if (dense_) {
    const uint64_t B = cfg_.dense_block_tokens;
    for (uint32_t h = 0; h < j.kv_heads; ++h) {
      for (uint64_t t0 = 0; t0 < j.seq_len; t0 += B) {
        const uint64_t n = std::min<uint64_t>(B, j.seq_len - t0);
        const bool last = t0 + n == j.seq_len;
        streams_.push_back(k_stream(h, t0, n, last));
        Stream v = k_stream(h, t0, n, last);
        v.kind = Kind::kAccum;
        v.base = j.v_addr + h * head_bytes;
        v.first_block = t0 == 0;
        streams_.push_back(v);
      }
    }
    return;
  }
  auto v_stream = [&](uint32_t h) {
    Stream v;
    v.kind = Kind::kAccum;
    v.head = h;
    v.base = j.v_addr + h * head_bytes;
    v.row_bytes = row;
    v.rows = &plan.v_rows.at(h);
    v.nrows = plan.v_rows[h].size();
    v.last_of_head = true;
    v.dep_head = static_cast<int>(h);
    return v;
  };
  // One head of look-ahead: K of head h+1 streams while head h is selected,
  // then V of head h (its addresses are only known after the selection).
  for (uint32_t h = 0; h < j.kv_heads; ++h) {
    streams_.push_back(k_stream(h, 0, j.seq_len, true));
    if (j.reads_v() && h > 0) streams_.push_back(v_stream(h - 1));
  }
  if (j.reads_v()) streams_.push_back(v_stream(j.kv_heads - 1u));
}

void Sim::schedule(uint32_t sidx, uint32_t n, double ready) {
  if (sidx != sched_stream_) {
    sched_stream_ = sidx;
    sched_item_ = 0;
  }
  const Stream& st = streams_[sidx];
  for (uint32_t i = 0; i < n; ++i, ++sched_item_) {
    const bool last = sched_item_ + 1 == st.nrows;
    double done = ready;
    switch (st.kind) {
    case Kind::kQ:
      break;
    case Kind::kMerge: {
      const double begin = std::max(ready, acc_free_);
      acc_free_ = begin + c_merge_;
      res_.accumulator_busy_cycles += c_merge_;
      done = acc_free_;
      if (last) { // O = acc / sum of the weights
        acc_free_ += c_finish_;
        res_.accumulator_busy_cycles += c_finish_;
      }
      compute_end_ = std::max(compute_end_, acc_free_);
      break;
    }
    case Kind::kScore: {
      // dot_units datapaths share the keys: G * head_dim/lanes chunk-cycles
      // per key, spread over the units (a fluid model of the array).
      const double begin = std::max(ready, score_free_);
      score_free_ = begin + c_score_;
      res_.datapath_busy_cycles += c_score_;
      done = score_free_; // the row has been read out of the buffer
      double out = score_free_ + depth_;
      if (topk_) {
        // G selectors (one per query head) each take one score per cycle.
        topk_free_ = std::max(topk_free_, out) + 1.0;
        res_.selector_busy_cycles += 1.0;
        out = topk_free_;
      }
      compute_end_ = std::max(compute_end_, out);
      if (last) {
        if (dense_) {
          block_ready_ = out + 1.0; // the block max, one compare stage later
        } else if (st.last_of_head) {
          // Drain: one entry per cycle, sorted by index on the way out.
          const double drain = job_.k_eff();
          sel_done_[st.head] = out + drain;
          sel_known_[st.head] = true;
          res_.selector_busy_cycles += drain;
          compute_end_ = std::max(compute_end_, sel_done_[st.head]);
        }
      }
      break;
    }
    case Kind::kAccum: {
      if (sched_item_ == 0) {
        acc_free_ = std::max(acc_free_, dense_ ? block_ready_ : sel_done_[st.head]);
        if (dense_ && !st.first_block) { // rescale l and acc to the new max
          acc_free_ += c_rescale_;
          res_.accumulator_busy_cycles += c_rescale_;
        }
      }
      const double begin = std::max(ready, acc_free_);
      acc_free_ = begin + c_accum_;
      res_.accumulator_busy_cycles += c_accum_;
      done = acc_free_;
      if (last && st.last_of_head) { // O = acc / l (x v_scale)
        acc_free_ += c_finish_;
        res_.accumulator_busy_cycles += c_finish_;
      }
      compute_end_ = std::max(compute_end_, acc_free_);
      break;
    }
    }
    retire_e_ = std::max(retire_e_, done);
  }
}

// Engine tags: the channel in the top bits, then a write mark, then the
// staging-buffer sequence number of a read.
constexpr unsigned kChanShift = 48;
constexpr uint64_t kWriteMark = uint64_t{1} << 47;
constexpr uint64_t kSeqMask = kWriteMark - 1;

void Sim::on_complete(uint64_t tag, bool write, Cycle done) {
  const uint32_t ch = static_cast<uint32_t>(tag >> kChanShift);
  if (write) {
    --writes_outstanding_;
    write_end_ = std::max(write_end_, done);
    if (phase_ == Phase::kWriting && writes_outstanding_ == 0) finish();
    return;
  }
  const uint64_t seq = tag & kSeqMask;
  LineRec& rec = ring_[seq % cap_];
  rec.ready = to_e(done) + fabric_e_;
  rec.arrived = true;
  inflight_[ch].push(done);
  last_data_ = std::max(last_data_, done);
  // In-order consumption: items are processed once every earlier line is in.
  while (arr_ < split_ && ring_[arr_ % cap_].arrived) {
    const LineRec& l = ring_[arr_ % cap_];
    prefix_ready_ = std::max(prefix_ready_, l.ready);
    ++arr_;
    if (l.items) {
      schedule(l.stream, l.items, prefix_ready_);
      // The buffer frees lines in order, once their items are consumed.
      releases_.push_back({to_dram(retire_e_), arr_ - released_});
      released_ = arr_;
    }
  }
}

void Sim::write_outputs(Cycle at) {
  // Output lines enter the channels at `at`; the job ends when the last
  // one's data is written.
  phase_ = Phase::kWriting;
  auto write_region = [&](uint64_t addr, uint64_t bytes) {
    for (uint64_t a = addr / kLine * kLine; a < addr + bytes; a += kLine) {
      ++writes_outstanding_;
      ++res_.write_bursts;
      port_.submit(a, true, at, (uint64_t{port_.channel_of(a)} << kChanShift) | kWriteMark);
    }
  };
  if (job_.o_bytes()) write_region(job_.o_addr, job_.o_bytes());
  if (job_.idx_bytes()) write_region(job_.idx_addr, job_.idx_bytes());
  if (writes_outstanding_ == 0 && phase_ == Phase::kWriting) finish();
}

void Sim::finish() {
  res_.end_dram_cycle = std::max(compute_end_dram_, write_end_);
  phase_ = Phase::kDone;
}

Cycle Sim::next_event() const {
  if (phase_ == Phase::kWaiting) return start_;
  if (phase_ != Phase::kReading) return kNever; // completions drive the rest
  Cycle next = kNever;
  const uint32_t nch = port_.channels();
  for (uint32_t c = 0; c < nch; ++c)
    if (!pend_[c].empty() && outstanding_[c] >= cfg_.outstanding_bursts_per_channel && !inflight_[c].empty())
      next = std::min(next, inflight_[c].top());
  if (blocked_on_space_ && !releases_.empty()) next = std::min(next, releases_.front().time);
  return std::min(next, blocked_until_);
}

void Sim::advance(Cycle T) {
  if (phase_ == Phase::kWaiting) {
    if (T < start_) return;
    phase_ = Phase::kReading;
  }
  if (phase_ == Phase::kReading) read_step(T);
}

void Sim::read_step(Cycle T) {
  const uint32_t nch = port_.channels();
  const uint32_t depth = cfg_.outstanding_bursts_per_channel;
  // Data returned and buffer space freed by now.
  for (uint32_t c = 0; c < nch; ++c) {
    while (!inflight_[c].empty() && inflight_[c].top() <= T) {
      inflight_[c].pop();
      --outstanding_[c];
    }
  }
  while (!releases_.empty() && releases_.front().time <= T) {
    credits_ += releases_.front().lines;
    releases_.pop_front();
  }
  // Split the stream into per-channel queues; a line owns its buffer slot
  // from here until it is released, so the oldest line can always proceed.
  blocked_until_ = kNever;
  blocked_on_space_ = false;
  while (!gen_.done()) {
    if (credits_ == 0) {
      blocked_on_space_ = true;
      break;
    }
    const Stream& st = gen_.stream();
    if (st.dep_head >= 0) {
      if (!sel_known_[st.dep_head]) break; // known once its last key is scheduled
      const Cycle t = to_dram(sel_done_[st.dep_head]);
      if (t > T) {
        blocked_until_ = t;
        break;
      }
    }
    const Line l = gen_.next();
    const uint64_t seq = split_++;
    ring_[seq % cap_] = LineRec{l.stream, l.items, 0.0, false};
    --credits_;
    res_.max_buffer_lines = std::max(res_.max_buffer_lines, cap_ - credits_);
    const DramAddress da = port_.decode(l.addr);
    pend_[da.channel].push(Pending{seq, l.addr, da});
  }
  // Per-channel streamers: up to `depth` reads in flight each (waiting at
  // the front end counts: a streamer has that many requests out).
  for (uint32_t c = 0; c < nch; ++c) {
    while (!pend_[c].empty() && outstanding_[c] < depth) {
      const Pending p = pend_[c].front();
      pend_[c].pop();
      ++outstanding_[c];
      ++res_.read_bursts;
      port_.submit(p.addr, p.da, false, T, (uint64_t{c} << kChanShift) | p.seq);
    }
  }
  if (gen_.done() && arr_ == split_) {
    res_.last_read_data_cycle = last_data_ > start_ ? to_e(last_data_) + fabric_e_ : 0;
    res_.compute_end_cycle = std::max(compute_end_, res_.last_read_data_cycle);
    compute_end_dram_ = std::max(T, to_dram(res_.compute_end_cycle));
    write_outputs(compute_end_dram_);
  }
}

} // namespace

JobPlan synthetic_plan(const AttentionJob& job) {
  JobPlan p;
  p.attended.assign(job.heads, 0);
  if (job.op() == Opcode::kMerge) return p;
  if (job.op() == Opcode::kDense) {
    std::fill(p.attended.begin(), p.attended.end(), job.seq_len);
    return p;
  }
  if (!job.reads_v()) return p;
  p.v_rows.resize(job.kv_heads);
  const uint64_t items = job.items(), k = job.k_eff();
  // Each query head of a GQA group selects its own k items (one in each of
  // k equal strides, at a hashed offset per head), as real data does: the V
  // rows fetched are their union, so the V traffic matches a functional
  // run's (independent selections overlap about as much as random data's).
  std::vector<uint64_t> chosen;
  for (uint32_t h = 0; h < job.kv_heads; ++h) {
    chosen.clear();
    for (uint32_t g = 0; g < job.group(); ++g) {
      const uint64_t q = uint64_t{h} * job.group() + g;
      for (uint64_t i = 0; i < k; ++i) {
        const uint64_t lo = i * items / k, hi = (i + 1) * items / k; // hi > lo since k <= items
        chosen.push_back(lo + mix((q << 32) ^ i) % (hi - lo));
      }
    }
    std::sort(chosen.begin(), chosen.end());
    chosen.erase(std::unique(chosen.begin(), chosen.end()), chosen.end());
    std::vector<uint32_t>& rows = p.v_rows[h];
    uint64_t per_item_tokens = 1;
    for (uint64_t item : chosen) {
      if (!job.pages()) {
        rows.push_back(static_cast<uint32_t>(item));
      } else {
        const uint64_t t1 = std::min<uint64_t>(job.seq_len, (item + 1) * job.page_tokens);
        for (uint64_t t = item * job.page_tokens; t < t1; ++t) rows.push_back(static_cast<uint32_t>(t));
      }
    }
    if (job.pages()) per_item_tokens = job.page_tokens;
    // Every query head attends over its own k items.
    const uint64_t attended = std::min<uint64_t>(k * per_item_tokens, job.seq_len);
    for (uint32_t g = 0; g < job.group(); ++g) p.attended[h * job.group() + g] = attended;
  }
  return p;
}

struct JobTiming::Impl {
  Impl(const EngineConfig& cfg, dram::MemoryPort& port, const AttentionJob& job, const JobPlan& plan,
       Cycle start, int lanes)
      : sim(cfg, port, job, plan, start, lanes) {}
  Sim sim; // attached to the front end by address: built in place, never moved
};

JobTiming::JobTiming(const EngineConfig& cfg, dram::MemoryPort& port, const AttentionJob& job,
                     const JobPlan& plan, Cycle start, int lanes)
    : impl_(std::make_unique<Impl>(cfg, port, job, plan, start, lanes)) {}
JobTiming::~JobTiming() = default;
bool JobTiming::done() const { return impl_->sim.done(); }
const TimingResult& JobTiming::result() const { return impl_->sim.result(); }

TimingResult simulate_timing(const EngineConfig& cfg, dram::MemoryPort& port, const AttentionJob& job,
                             const JobPlan& plan, Cycle start, int lanes) {
  JobTiming t(cfg, port, job, plan, start, lanes);
  port.front_end().run([&] { return t.done(); });
  return t.result();
}

} // namespace pnm::engine
