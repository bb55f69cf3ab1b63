#include "pnm/engine.h"

#include "common/log.h"
#include "pnm/datapath_twin.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <stdexcept>

namespace pnm::engine {

using datapath::DotChunk;

const char* mode_name(Mode m) { return m == Mode::functional ? "functional" : "timing_only"; }

EngineCounters& EngineCounters::operator+=(const EngineCounters& o) {
  dram_read_bursts += o.dram_read_bursts;
  dram_write_bursts += o.dram_write_bursts;
  dram_bytes_read += o.dram_bytes_read;
  dram_bytes_written += o.dram_bytes_written;
  macs_bf16 += o.macs_bf16;
  macs_int8 += o.macs_int8;
  macs_fp32 += o.macs_fp32;
  exps += o.exps;
  compares += o.compares;
  topk_pushes += o.topk_pushes;
  datapath_chunks += o.datapath_chunks;
  sram_bytes += o.sram_bytes;
  keys_scored += o.keys_scored;
  tokens_attended += o.tokens_attended;
  v_rows_read += o.v_rows_read;
  return *this;
}

EngineEnergyPj& EngineEnergyPj::operator+=(const EngineEnergyPj& o) {
  mac_bf16 += o.mac_bf16;
  mac_int8 += o.mac_int8;
  mac_fp32 += o.mac_fp32;
  exp += o.exp;
  sram += o.sram;
  compare += o.compare;
  return *this;
}

namespace {

void report_counters(StatGroup& g, const EngineCounters& c) {
  g.set("dram_bytes_read", static_cast<double>(c.dram_bytes_read), "B", "DRAM bytes read (64 B bursts)");
  g.set("dram_bytes_written", static_cast<double>(c.dram_bytes_written), "B", "DRAM bytes written");
  g.set("macs_bf16", static_cast<double>(c.macs_bf16), "count", "BF16 multiply-accumulates (q.k)");
  g.set("macs_int8", static_cast<double>(c.macs_int8), "count", "INT8 multiply-accumulates (q.k)");
  g.set("macs_fp32", static_cast<double>(c.macs_fp32), "count",
        "FP32 multiply-adds (scale, rescale, V accumulation, final divide)");
  g.set("exps", static_cast<double>(c.exps), "count", "FP32 exps");
  g.set("compares", static_cast<double>(c.compares), "count", "32-bit compares (top-k, max)");
  g.set("topk_pushes", static_cast<double>(c.topk_pushes), "count", "scores offered to the top-k selectors");
  g.set("datapath_chunks", static_cast<double>(c.datapath_chunks), "count", "vector pairs through the datapath");
  g.set("sram_bytes", static_cast<double>(c.sram_bytes), "B", "on-chip SRAM traffic (reads + writes)");
  g.set("keys_scored", static_cast<double>(c.keys_scored), "count", "(token, query head) pairs scored");
  g.set("tokens_attended", static_cast<double>(c.tokens_attended), "count",
        "(token, query head) pairs accumulated over V");
  g.set("v_rows_read", static_cast<double>(c.v_rows_read), "count", "V rows fetched from DRAM");
}

void report_energy(StatGroup& g, const EngineEnergyPj& e) {
  g.set("mac_bf16", e.mac_bf16, "pJ", "BF16 MACs in the datapath");
  g.set("mac_int8", e.mac_int8, "pJ", "INT8 MACs in the datapath");
  g.set("mac_fp32", e.mac_fp32, "pJ", "FP32 multiply-adds (softmax, V accumulation)");
  g.set("exp", e.exp, "pJ", "FP32 exps");
  g.set("sram", e.sram, "pJ", "SRAM accesses (64 B units)");
  g.set("compare", e.compare, "pJ", "compares");
  g.set("total", e.total(), "pJ", "engine energy (DRAM energy is reported by the DRAM)");
}

// Little-endian stores of results, whatever the host.
// A head's log-sum-exp of the scaled scores it attended: m + ln(l).
float lse_of(const SoftmaxUnit& s) {
  return s.running_sum() > 0 ? s.running_max() + std::log(s.running_sum()) : -std::numeric_limits<float>::infinity();
}

void put_u32(std::vector<uint8_t>& b, size_t i, uint32_t v) {
  for (int k = 0; k < 4; ++k) b[4 * i + k] = static_cast<uint8_t>(v >> (8 * k));
}

} // namespace

void JobResult::report(StatGroup& g) const {
  g.set("error", static_cast<double>(error), "code", "job error code (0 = ok)");
  g.set("elapsed_ns", elapsed_ns, "ns", "job time, start to last output write");
  g.set("engine_cycles", static_cast<double>(engine_cycles), "cycles", "job time at the engine clock");
  g.set("read_gbps", read_gbps(), "GB/s", "DRAM read bandwidth over the job");
  g.set("datapath_busy_cycles", datapath_busy_cycles, "cycles", "dot-product array busy");
  g.set("accumulator_busy_cycles", accumulator_busy_cycles, "cycles", "V accumulator busy");
  g.set("selector_busy_cycles", selector_busy_cycles, "cycles", "top-k selectors busy");
  g.set("max_buffer_lines", static_cast<double>(max_buffer_lines), "lines",
        "peak staging SRAM occupancy (64 B lines)");
  report_counters(g.group("work", "work done by the job"), counters);
  report_energy(g.group("energy_pj", "engine energy by class"), energy_pj);
}

struct AttentionEngine::Active {
  AttentionJob job;
  JobPlan plan;
  JobResult r;
  std::unique_ptr<JobTiming> timing; // null when the job was rejected or failed
};

AttentionEngine::AttentionEngine(const EngineConfig& cfg, dram::MemoryPort& mem, datapath::Datapath& dp)
    : cfg_(cfg), mem_(mem), dp_(dp) {}

AttentionEngine::~AttentionEngine() = default;

JobLimits AttentionEngine::limits() const {
  JobLimits l;
  l.lanes = dp_.lanes();
  l.capacity_bytes = mem_.capacity_bytes();
  l.topk_max_entries = cfg_.topk_max_entries;
  return l;
}

void AttentionEngine::report(StatGroup& g) const {
  g.set("jobs_done", static_cast<double>(jobs_done_), "count", "jobs finished");
  g.set("jobs_failed", static_cast<double>(jobs_failed_), "count", "jobs rejected or failed");
  report_counters(g.group("work", "work done, all jobs"), totals_);
  report_energy(g.group("energy_pj", "engine energy, all jobs"), energy_totals_);
}

JobResult AttentionEngine::run(const AttentionJob& job, Cycle start, Mode mode) {
  if (begin(job, start, mode)) {
    try {
      mem_.front_end().run([this] { return job_done(); });
    } catch (const std::exception& e) {
      abandon(e.what());
    }
  }
  return finish();
}

void AttentionEngine::abandon(const std::string& why) {
  if (!active_) return;
  active_->timing.reset();
  active_->r.error = JobError::kInternal;
  active_->r.message = why;
  log::error("engine", "job abandoned: {}", why);
}

bool AttentionEngine::begin(const AttentionJob& job, Cycle start, Mode mode) {
  if (active_) throw std::logic_error("AttentionEngine::begin: a job is already running");
  active_ = std::make_unique<Active>();
  Active& a = *active_;
  a.job = job;
  JobResult& r = a.r;
  r.mode = mode;
  r.start_dram_cycle = r.end_dram_cycle = start;
  r.tck_ns = mem_.tck_ns();
  const JobCheck check = validate(job, limits());
  if (!check.ok()) {
    r.error = check.code;
    r.message = check.message;
    log::debug("engine", "job rejected: {} ({})", error_name(check.code), check.message);
    return false;
  }
  try {
    if (mode == Mode::functional) functional_pass(a.job, a.plan);
    else a.plan = synthetic_plan(a.job);
    a.timing = std::make_unique<JobTiming>(cfg_, mem_, a.job, a.plan, start, dp_.lanes());
  } catch (const std::exception& e) {
    r.error = JobError::kInternal;
    r.message = e.what();
    log::error("engine", "job abandoned: {}", e.what());
    return false;
  }
  return true;
}

bool AttentionEngine::job_done() const {
  return active_ && (!active_->timing || active_->timing->done());
}

JobResult AttentionEngine::finish() {
  if (!job_done()) throw std::logic_error("AttentionEngine::finish: no finished job");
  std::unique_ptr<Active> a = std::move(active_);
  JobResult r = a->r;
  if (!r.ok() || !a->timing) {
    if (r.ok()) r.error = JobError::kInternal;
    r.end_dram_cycle = r.start_dram_cycle;
    ++jobs_failed_;
    return r;
  }
  const TimingResult& t = a->timing->result();
  const Cycle start = r.start_dram_cycle;
  r.end_dram_cycle = t.end_dram_cycle;
  r.elapsed_ns = static_cast<double>(t.end_dram_cycle - start) * r.tck_ns;
  r.engine_cycles = static_cast<uint64_t>(std::ceil(r.elapsed_ns * cfg_.clock_ghz() - 1e-9));
  r.datapath_busy_cycles = t.datapath_busy_cycles;
  r.accumulator_busy_cycles = t.accumulator_busy_cycles;
  r.selector_busy_cycles = t.selector_busy_cycles;
  r.last_read_data_cycle = t.last_read_data_cycle;
  r.compute_end_cycle = t.compute_end_cycle;
  r.max_buffer_lines = t.max_buffer_lines;
  r.counters = count(a->job, a->plan);
  r.counters.dram_read_bursts = t.read_bursts;
  r.counters.dram_write_bursts = t.write_bursts;
  r.counters.dram_bytes_read = t.read_bursts * 64;
  r.counters.dram_bytes_written = t.write_bursts * 64;
  r.counters.sram_bytes += 2 * 64 * t.read_bursts; // staging buffer: written, then read
  r.energy_pj = energy(r.counters);
  totals_ += r.counters;
  energy_totals_ += r.energy_pj;
  ++jobs_done_;
  return r;
}

EngineCounters AttentionEngine::count(const AttentionJob& j, const JobPlan& plan) const {
  EngineCounters c;
  const uint64_t H = j.heads, S = j.seq_len, d = j.head_dim;
  if (j.op() == Opcode::kMerge) {
    // Per head and part: one exp (its weight), d multiply-adds; then the
    // divide by the weights' sum, and one log per head for the LSE.
    const uint64_t P = j.parts();
    c.exps = H * P + (j.writes_lse() ? H : 0);
    c.macs_fp32 = H * P * d + H * P + H * d;
    c.compares = H * P; // the max of the parts' LSEs
    return c;
  }
  c.keys_scored = H * S;
  (j.prec() == Precision::kInt8 ? c.macs_int8 : c.macs_bf16) = H * S * d;
  c.datapath_chunks = H * S * (d / static_cast<uint64_t>(dp_.lanes()));
  uint64_t attended = 0;
  for (uint64_t a : plan.attended) attended += a;
  c.tokens_attended = attended;
  c.macs_fp32 = H * S + attended * d; // score scale, V accumulation
  c.exps = attended;
  if (j.op() == Opcode::kDense) {
    const uint64_t blocks = (S + cfg_.dense_block_tokens - 1) / cfg_.dense_block_tokens;
    c.macs_fp32 += H * (blocks - 1) * d; // rescale of acc per block after the first
    c.exps += H * (blocks - 1);
    c.compares = H * S;                  // block max
    c.sram_bytes += H * S * 8;           // block scores written and read back (FP32)
    c.v_rows_read = uint64_t{j.kv_heads} * S;
  } else {
    const uint64_t items = j.items(), k = j.k_eff();
    c.topk_pushes = H * items;
    c.compares = H * items + attended; // threshold check per push, max over the selection
    if (j.pages()) {
      c.compares += H * S;                     // page max
      c.sram_bytes += H * S * 4 + attended * 4; // token scores kept with their page, read back
    }
    c.sram_bytes += 8 * (c.topk_pushes + H * k); // selector entries (score, index): push, drain
    for (const auto& rows : plan.v_rows) c.v_rows_read += rows.size();
  }
  if (j.reads_v()) c.macs_fp32 += H * d * (j.prec() == Precision::kInt8 ? 2 : 1); // divide (x v_scale)
  if (j.writes_lse()) c.exps += H; // LSE = m + log(l): one log per head, costed as an exp
  return c;
}

EngineEnergyPj AttentionEngine::energy(const EngineCounters& c) const {
  const EngineEnergy& e = cfg_.energy;
  EngineEnergyPj p;
  p.mac_bf16 = static_cast<double>(c.macs_bf16) * e.pj_per_mac_bf16;
  p.mac_int8 = static_cast<double>(c.macs_int8) * e.pj_per_mac_int8;
  p.mac_fp32 = static_cast<double>(c.macs_fp32) * e.pj_per_mac_fp32;
  p.exp = static_cast<double>(c.exps) * e.pj_per_exp;
  p.sram = static_cast<double>(c.sram_bytes) / 64.0 * e.pj_per_sram_64b;
  p.compare = static_cast<double>(c.compares) * e.pj_per_compare;
  return p;
}

// Scores of tokens [t0, t0 + n) of one KV head for every query head of its
// group: scores[i * G + g]. Chains head_dim/lanes chunks through acc_in, one
// batch per chunk position (many keys interleaved, as the pipeline would).
void AttentionEngine::score_block(const AttentionJob& j, uint32_t h, uint32_t t0, uint32_t n,
                                  const std::vector<uint8_t>& qlanes, std::vector<float>& scores) {
  const uint32_t G = j.group(), d = j.head_dim;
  const int L = dp_.lanes();
  const uint32_t C = d / static_cast<uint32_t>(L);
  const bool int8 = j.prec() == Precision::kInt8;
  const uint64_t row = j.row_bytes();
  kbuf_.resize(n * row);
  mem_.read(j.k_addr + (uint64_t{h} * j.kv_stride_rows() + t0) * row, kbuf_.data(), kbuf_.size());
  scores.resize(uint64_t{n} * G);
  // Bounded batches: at most ~8K chunks in flight in the model's buffers.
  const uint32_t per = std::max<uint32_t>(1, 8192 / G);
  for (uint32_t b0 = 0; b0 < n; b0 += per) {
    const uint32_t m = std::min(per, n - b0);
    const size_t count = size_t{m} * G;
    chunks_.resize(count);
    acc_bits_.assign(count, int8 ? 0u : datapath::kFp32NegZero);
    for (uint32_t c = 0; c < C; ++c) {
      for (uint32_t i = 0; i < m; ++i) {
        const uint8_t* krow = kbuf_.data() + (b0 + i) * row + uint64_t{c} * L * j.elem_bytes();
        for (uint32_t g = 0; g < G; ++g) {
          DotChunk& ch = chunks_[size_t{i} * G + g];
          ch.mode = int8 ? datapath::Precision::kInt8 : datapath::Precision::kBf16;
          const uint8_t* qrow = qlanes.data() + (uint64_t{h} * G + g) * d * j.elem_bytes() +
                                uint64_t{c} * L * j.elem_bytes();
          for (int l = 0; l < L; ++l) {
            if (int8) {
              ch.a[l] = qrow[l];
              ch.b[l] = krow[l];
            } else {
              ch.a[l] = static_cast<uint16_t>(qrow[2 * l] | (qrow[2 * l + 1] << 8));
              ch.b[l] = static_cast<uint16_t>(krow[2 * l] | (krow[2 * l + 1] << 8));
            }
          }
          ch.acc_in = acc_bits_[size_t{i} * G + g];
        }
      }
      datapath::DotBatch batch = dp_.compute_batch(chunks_);
      acc_bits_.swap(batch.results);
    }
    for (size_t x = 0; x < count; ++x) {
      const float raw = int8 ? static_cast<float>(datapath::int32_from_bits(acc_bits_[x]))
                             : datapath::fp32_from_bits(acc_bits_[x]);
      scores[size_t{b0} * G + x] = raw * j.scale;
    }
  }
}

void AttentionEngine::merge_pass(const AttentionJob& j) {
  // out = sum_p w_p O_p / sum_p w_p with w_p = exp(lse_p - max lse), per
  // head: the parts' softmax states rescaled to a common max (the same
  // online-softmax rule the accumulator applies per block), in FP32.
  const uint32_t H = j.heads, d = j.head_dim, P = j.parts();
  std::vector<uint8_t> raw(j.part_bytes());
  std::vector<float> o(uint64_t{P} * H * d), lse(uint64_t{P} * H);
  for (uint32_t p = 0; p < P; ++p) {
    mem_.read(j.q_addr + p * j.part_bytes(), raw.data(), raw.size());
    auto f32 = [&](uint64_t i) {
      return datapath::fp32_from_bits(uint32_t(raw[4 * i]) | uint32_t(raw[4 * i + 1]) << 8 |
                                      uint32_t(raw[4 * i + 2]) << 16 | uint32_t(raw[4 * i + 3]) << 24);
    };
    for (uint64_t i = 0; i < uint64_t{H} * d; ++i) o[uint64_t{p} * H * d + i] = f32(i);
    for (uint32_t h = 0; h < H; ++h) lse[uint64_t{p} * H + h] = f32(uint64_t{H} * d + h);
  }
  std::vector<float> out(j.o_bytes() / 4, 0.0f);
  std::vector<float> w(P);
  for (uint32_t h = 0; h < H; ++h) {
    float m = -std::numeric_limits<float>::infinity();
    for (uint32_t p = 0; p < P; ++p) m = lse[uint64_t{p} * H + h] > m ? lse[uint64_t{p} * H + h] : m;
    float sum = 0;
    for (uint32_t p = 0; p < P; ++p) {
      w[p] = std::exp(lse[uint64_t{p} * H + h] - m);
      sum += w[p];
    }
    for (uint32_t x = 0; x < d; ++x) {
      float acc = 0;
      for (uint32_t p = 0; p < P; ++p) acc += w[p] * o[(uint64_t{p} * H + h) * d + x];
      out[uint64_t{h} * d + x] = acc / sum;
    }
    if (j.writes_lse()) out[uint64_t{H} * d + h] = m + std::log(sum);
  }
  std::vector<uint8_t> bytes(out.size() * 4);
  for (size_t i = 0; i < out.size(); ++i) put_u32(bytes, i, datapath::fp32_to_bits(out[i]));
  mem_.write(j.o_addr, bytes.data(), bytes.size());
}

void AttentionEngine::functional_pass(const AttentionJob& j, JobPlan& plan) {
  if (j.op() == Opcode::kMerge) return merge_pass(j);
  const uint32_t H = j.heads, KV = j.kv_heads, G = j.group(), d = j.head_dim, S = j.seq_len;
  const bool int8 = j.prec() == Precision::kInt8;
  const uint64_t row = j.row_bytes();
  const uint32_t k = j.k_eff();
  const uint64_t dp_chunks0 = dp_.counters().bf16_chunks + dp_.counters().int8_chunks;
  auto softmax_work = [this](uint64_t& exps, uint64_t& macs) {
    exps = macs = 0;
    for (const SoftmaxUnit& sm : softmax_) {
      exps += sm.exps();
      macs += sm.fp32_macs();
    }
  };

  std::vector<uint8_t> q(j.q_bytes());
  mem_.read(j.q_addr, q.data(), q.size());
  plan.v_rows.assign(j.op() == Opcode::kDense || !j.reads_v() ? 0 : KV, {});
  plan.attended.assign(H, 0);
  while (selectors_.size() < G) selectors_.emplace_back(cfg_.topk_max_entries);
  softmax_.resize(std::max<size_t>(softmax_.size(), G));
  uint64_t exps0 = 0, macs0 = 0;
  softmax_work(exps0, macs0);

  auto to_float = [&](const uint8_t* p) {
    return int8 ? static_cast<float>(static_cast<int8_t>(p[0]))
                : datapath::bf16_to_float(static_cast<uint16_t>(p[0] | (p[1] << 8)));
  };
  const float out_scale = int8 ? j.v_scale : 1.0f;
  std::vector<float> out(j.writes_o() ? j.o_bytes() / 4 : 0);
  std::vector<uint32_t> idx(j.writes_idx() ? j.idx_bytes() / 4 : 0);
  std::vector<float> scores, all_scores, vf;
  std::vector<uint8_t> vraw;

  for (uint32_t h = 0; h < KV; ++h) {
    const uint64_t head_off = uint64_t{h} * j.kv_stride_rows() * row;
    if (j.op() == Opcode::kDense) {
      for (uint32_t g = 0; g < G; ++g) softmax_[g].reset(d);
    } else {
      for (uint32_t g = 0; g < G; ++g) selectors_[g].start(k);
      if (j.pages()) all_scores.assign(uint64_t{G} * S, 0.0f);
    }
    const uint32_t B = j.op() == Opcode::kDense ? cfg_.dense_block_tokens : 4096;
    for (uint32_t t0 = 0; t0 < S; t0 += std::min(B, S - t0)) {
      const uint32_t n = std::min(B, S - t0);
      score_block(j, h, t0, n, q, scores);
      if (j.op() == Opcode::kDense) {
        vraw.resize(n * row);
        mem_.read(j.v_addr + head_off + t0 * row, vraw.data(), vraw.size());
        vf.resize(uint64_t{n} * d);
        for (uint64_t x = 0; x < uint64_t{n} * d; ++x) vf[x] = to_float(&vraw[x * j.elem_bytes()]);
        for (uint32_t g = 0; g < G; ++g) {
          float m = -std::numeric_limits<float>::infinity();
          for (uint32_t i = 0; i < n; ++i) m = scores[size_t{i} * G + g] > m ? scores[size_t{i} * G + g] : m;
          softmax_[g].rescale_to(m);
          for (uint32_t i = 0; i < n; ++i) softmax_[g].accumulate(scores[size_t{i} * G + g], &vf[size_t{i} * d]);
        }
      } else if (j.pages()) {
        for (uint32_t i = 0; i < n; ++i)
          for (uint32_t g = 0; g < G; ++g) all_scores[uint64_t{g} * S + t0 + i] = scores[size_t{i} * G + g];
      } else {
        for (uint32_t i = 0; i < n; ++i)
          for (uint32_t g = 0; g < G; ++g) selectors_[g].push(scores[size_t{i} * G + g], t0 + i);
      }
    }
    if (j.op() == Opcode::kDense) {
      for (uint32_t g = 0; g < G; ++g) {
        softmax_[g].finish(&out[(uint64_t{h} * G + g) * d], out_scale);
        if (j.writes_lse()) out[uint64_t{H} * d + h * G + g] = lse_of(softmax_[g]);
        plan.attended[h * G + g] = S;
      }
      continue;
    }
    if (j.pages()) { // page score = max of its tokens' scores (NaN ignored)
      const uint32_t P = j.page_tokens, pages = j.items();
      for (uint32_t g = 0; g < G; ++g) {
        for (uint32_t p = 0; p < pages; ++p) {
          float m = -std::numeric_limits<float>::infinity();
          const uint32_t t1 = std::min<uint64_t>(S, (uint64_t{p} + 1) * P);
          for (uint32_t t = p * P; t < t1; ++t) m = all_scores[uint64_t{g} * S + t] > m ? all_scores[uint64_t{g} * S + t] : m;
          selectors_[g].push(m, p);
        }
      }
    }
    // Per query head: the selected entries, then the tokens attended.
    std::vector<std::vector<TopkEntry>> sel(G);
    std::vector<std::vector<uint32_t>> tokens(G);
    std::vector<uint32_t> uni;
    for (uint32_t g = 0; g < G; ++g) {
      sel[g] = selectors_[g].drain();
      const uint32_t qh = h * G + g;
      if (j.writes_idx())
        for (uint32_t i = 0; i < sel[g].size(); ++i) idx[uint64_t{qh} * k + i] = sel[g][i].index;
      if (j.op() == Opcode::kSelect) {
        if (j.writes_o())
          for (uint32_t i = 0; i < sel[g].size(); ++i) out[uint64_t{qh} * k + i] = sel[g][i].score;
        continue;
      }
      for (const TopkEntry& e : sel[g]) {
        if (!j.pages()) {
          tokens[g].push_back(e.index);
        } else {
          const uint32_t t1 = std::min<uint64_t>(S, (uint64_t{e.index} + 1) * j.page_tokens);
          for (uint32_t t = e.index * j.page_tokens; t < t1; ++t) tokens[g].push_back(t);
        }
      }
      uni.insert(uni.end(), tokens[g].begin(), tokens[g].end());
    }
    if (j.op() == Opcode::kSelect) continue;
    std::sort(uni.begin(), uni.end());
    uni.erase(std::unique(uni.begin(), uni.end()), uni.end());
    // The union of the group's V rows, fetched once.
    vf.resize(uni.size() * d);
    vraw.resize(row);
    for (size_t u = 0; u < uni.size(); ++u) {
      mem_.read(j.v_addr + head_off + uni[u] * row, vraw.data(), row);
      for (uint32_t x = 0; x < d; ++x) vf[u * d + x] = to_float(&vraw[x * j.elem_bytes()]);
    }
    for (uint32_t g = 0; g < G; ++g) {
      const uint32_t qh = h * G + g;
      SoftmaxUnit& sm = softmax_[g];
      sm.reset(d);
      auto score_of = [&](size_t i) {
        return j.pages() ? all_scores[uint64_t{g} * S + tokens[g][i]] : sel[g][i].score;
      };
      float m = -std::numeric_limits<float>::infinity();
      for (size_t i = 0; i < tokens[g].size(); ++i) m = score_of(i) > m ? score_of(i) : m;
      sm.rescale_to(m);
      size_t u = 0;
      for (size_t i = 0; i < tokens[g].size(); ++i) {
        while (uni[u] != tokens[g][i]) ++u; // both ascending
        sm.accumulate(score_of(i), &vf[u * d]);
      }
      sm.finish(&out[uint64_t{qh} * d], out_scale);
      if (j.writes_lse()) out[uint64_t{H} * d + qh] = lse_of(sm);
      plan.attended[qh] = tokens[g].size();
    }
    plan.v_rows[h] = std::move(uni);
  }

  if (!out.empty()) {
    std::vector<uint8_t> bytes(out.size() * 4);
    for (size_t i = 0; i < out.size(); ++i) put_u32(bytes, i, datapath::fp32_to_bits(out[i]));
    mem_.write(j.o_addr, bytes.data(), bytes.size());
  }
  if (!idx.empty()) {
    std::vector<uint8_t> bytes(idx.size() * 4);
    for (size_t i = 0; i < idx.size(); ++i) put_u32(bytes, i, idx[i]);
    mem_.write(j.idx_addr, bytes.data(), bytes.size());
  }

  // The analytic counters (used in both modes) must describe what ran.
  const EngineCounters c = count(j, plan);
  const uint64_t dp_chunks = dp_.counters().bf16_chunks + dp_.counters().int8_chunks - dp_chunks0;
  if (dp_chunks != c.datapath_chunks)
    log::error("engine", "counter mismatch: datapath ran {} chunks, counted {}", dp_chunks, c.datapath_chunks);
  uint64_t exps1 = 0, macs1 = 0;
  softmax_work(exps1, macs1);
  // The softmax unit does every exp; its MACs are all FP32 MACs except the
  // score scale (one per key) and the final divide/scale.
  const uint64_t fixed = uint64_t{H} * S + (j.reads_v() ? uint64_t{H} * d * (int8 ? 2 : 1) : 0);
  const uint64_t logs = j.writes_lse() ? H : 0; // counted with the exps, done outside the softmax units
  if (exps1 - exps0 + logs != c.exps || macs1 - macs0 + fixed != c.macs_fp32)
    log::error("engine", "counter mismatch: softmax ran {} exps / {} MACs, counted {} / {}",
               exps1 - exps0 + logs, macs1 - macs0 + fixed, c.exps, c.macs_fp32);
}

} // namespace pnm::engine
