// Verilator testbench of rtl/dot_product.sv against the C++ twin
// (models/pnm/datapath_twin.h).
//
// For each verilated lane count (16, 32) it streams random and special-value
// vector pairs through the RTL, compares every result bit for bit with the
// twin, and checks the pipeline contract of docs/DATAPATH.md:
//   - latency: a vector accepted in cycle c is presented in cycle c + depth,
//     depth = log2(lanes) + 2, whenever the output is not back-pressured;
//   - throughput: N back-to-back vectors take N + depth cycles, in_ready
//     never drops while out_ready is high;
//   - back-pressure: with random in_valid gaps and random out_ready drops no
//     result is lost, duplicated or reordered, and a stalled output holds.
// Prints one summary line per lane count and exits non-zero on any failure.
//
// Usage: tb_dot_product [--vectors N] [--lanes 16|32|all] [--seed S]
//                       [--vcd FILE] [--vcd-cycles N]
//   --vectors: random pairs per precision and lane count (default
//   PNM_TB_DEFAULT_VECTORS, or env PNM_TB_VECTORS).
#include <chrono>
#include <cinttypes>
#include <cstdio>
#include <cstdlib>
#include <deque>
#include <functional>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "Vdot_product_l16.h"
#include "Vdot_product_l32.h"
#include "pnm/datapath_twin.h"
#include "verilated.h"
#include "verilated_vcd_c.h"

#ifndef PNM_TB_DEFAULT_VECTORS
#define PNM_TB_DEFAULT_VECTORS 1000000
#endif

namespace {

using pnm::datapath::DotChunk;
using pnm::datapath::Precision;
namespace dp = pnm::datapath;

constexpr int kMaxReportedMismatches = 10;
constexpr uint64_t kClockPeriodPs = 1000;

struct Options {
  uint64_t vectors = PNM_TB_DEFAULT_VECTORS;
  std::vector<int> lanes = {16, 32};
  uint64_t seed = 1;
  std::string vcd_path;
  uint64_t vcd_cycles = 20000;
};

// ---------------------------------------------------------------------------
// Stimulus
// ---------------------------------------------------------------------------

class Stimulus {
public:
  explicit Stimulus(uint64_t seed) : rng_(seed) {}

  uint32_t u32() { return static_cast<uint32_t>(rng_()); }
  uint32_t below(uint32_t n) { return static_cast<uint32_t>(rng_() % n); }
  bool chance(double p) { return std::uniform_real_distribution<double>(0, 1)(rng_) < p; }

  uint16_t bf16_with_exp(int exp_lo, int exp_hi) {
    const uint32_t exp = exp_lo + below(exp_hi - exp_lo + 1);
    return static_cast<uint16_t>((below(2) << 15) | (exp << 7) | below(128));
  }

  uint16_t bf16_special() {
    static const uint16_t kSpecials[] = {
        0x0000, 0x8000,          // +-0
        0x0001, 0x807F, 0x0040,  // subnormals (read as zero)
        0x7F80, 0xFF80,          // +-inf
        0x7FC0, 0xFFC0, 0x7F81,  // NaNs (quiet, negative, signalling)
        0x7F7F, 0xFF7F,          // +-max
        0x0080, 0x8080,          // +-min normal
        0x3F80, 0xBF80,          // +-1
        0x3F00, 0x4000,          // 0.5, 2
        0x5F80, 0x1F80,          // 2^64, 2^-64: products at the range edges
        0x3FFF, 0xBFFF,          // 1.99..: all-ones significands
    };
    constexpr uint32_t kCount = sizeof(kSpecials) / sizeof(kSpecials[0]);
    return chance(0.8) ? kSpecials[below(kCount)] : bf16_with_exp(1, 254);
  }

  uint32_t fp32_acc() {
    switch (below(10)) {
      case 0: return dp::kFp32NegZero;
      case 1: return 0;
      case 2: return u32();  // anything, specials included
      case 3: {
        static const uint32_t kSpecials[] = {0x7F800000, 0xFF800000, 0x7FC00000, 0xFFFFFFFF,
                                             0x00000001, 0x807FFFFF, 0x7F7FFFFF, 0xFF7FFFFF,
                                             0x00800000, 0x80800000};
        return kSpecials[below(sizeof(kSpecials) / sizeof(kSpecials[0]))];
      }
      default:  // ordinary magnitudes, like a partial sum of a longer vector
        return (below(2) << 31) | ((117 + below(21)) << 23) | (u32() & 0x7FFFFF);
    }
  }

  DotChunk random_bf16(int lanes) {
    DotChunk c;
    c.mode = Precision::kBf16;
    const uint32_t kind = below(100);
    for (int i = 0; i < lanes; ++i) {
      if (kind < 45) {  // attention-like values
        c.a[i] = bf16_with_exp(119, 129);
        c.b[i] = bf16_with_exp(119, 129);
      } else if (kind < 60) {  // tight exponents: many ties and carries
        c.a[i] = bf16_with_exp(126, 128);
        c.b[i] = bf16_with_exp(126, 128);
      } else if (kind < 70) {  // full normal range: overflow and underflow
        c.a[i] = bf16_with_exp(1, 254);
        c.b[i] = bf16_with_exp(1, 254);
      } else if (kind < 75) {  // raw bits
        c.a[i] = static_cast<uint16_t>(u32());
        c.b[i] = static_cast<uint16_t>(u32());
      } else if (kind < 90) {  // near the product range edges
        c.a[i] = bf16_with_exp(1, 40);
        c.b[i] = bf16_with_exp(60, 130);
        if (below(2)) std::swap(c.a[i], c.b[i]);
      } else {  // specials mixed with normals
        c.a[i] = bf16_special();
        c.b[i] = bf16_special();
      }
    }
    if (kind >= 45 && kind < 60 && chance(0.5)) {
      // Cancellation: mirror pairs with flipped sign, then nudge one lane.
      for (int i = 0; i < lanes / 2; ++i) {
        c.a[lanes - 1 - i] = c.a[i];
        c.b[lanes - 1 - i] = c.b[i] ^ 0x8000;
      }
      if (chance(0.5)) c.a[below(lanes)] ^= 1;
    }
    c.acc_in = fp32_acc();
    return c;
  }

  DotChunk random_int8(int lanes) {
    static const int8_t kExtremes[] = {-128, 127, -127, -1, 0, 1};
    DotChunk c;
    c.mode = Precision::kInt8;
    const uint32_t kind = below(10);
    for (int i = 0; i < lanes; ++i) {
      int8_t a;
      int8_t b;
      if (kind < 7) {
        a = static_cast<int8_t>(u32());
        b = static_cast<int8_t>(u32());
      } else if (kind < 9) {
        a = kExtremes[below(6)];
        b = kExtremes[below(6)];
      } else {
        a = -128;
        b = below(2) ? -128 : 127;
      }
      // Random high bytes: INT8 mode must ignore them.
      c.a[i] = static_cast<uint16_t>((u32() & 0xFF00) | static_cast<uint8_t>(a));
      c.b[i] = static_cast<uint16_t>((u32() & 0xFF00) | static_cast<uint8_t>(b));
    }
    switch (below(4)) {
      case 0: c.acc_in = 0; break;
      case 1: c.acc_in = u32(); break;
      case 2: c.acc_in = (below(2) ? 0x7FFFFFFFu : 0x80000000u) - below(1u << 20); break;
      default: c.acc_in = static_cast<uint32_t>(static_cast<int32_t>(below(1u << 20)) - (1 << 19));
    }
    return c;
  }

private:
  std::mt19937_64 rng_;
};

DotChunk uniform_bf16(int lanes, uint16_t a, uint16_t b, uint32_t acc) {
  DotChunk c;
  c.mode = Precision::kBf16;
  for (int i = 0; i < lanes; ++i) {
    c.a[i] = a;
    c.b[i] = b;
  }
  c.acc_in = acc;
  return c;
}

// Hand-picked corner cases; the twin's values for them are themselves
// checked against hand-worked results in tests/datapath.
std::vector<DotChunk> directed_bf16(int lanes) {
  constexpr uint32_t kNegZero = dp::kFp32NegZero;
  std::vector<DotChunk> v;
  v.push_back(uniform_bf16(lanes, 0x3F80, 0x3F80, kNegZero));    // sum of 1.0
  v.push_back(uniform_bf16(lanes, 0x0000, 0x3F80, kNegZero));    // +0 products
  v.push_back(uniform_bf16(lanes, 0x8000, 0x3F80, kNegZero));    // -0 everywhere: -0
  v.push_back(uniform_bf16(lanes, 0x8000, 0x3F80, 0));           // -0 + +0 acc: +0
  v.push_back(uniform_bf16(lanes, 0x0001, 0x3F80, kNegZero));    // subnormal in: zero
  v.push_back(uniform_bf16(lanes, 0x807F, 0x3F80, kNegZero));    // -subnormal: -0
  v.push_back(uniform_bf16(lanes, 0x7F7F, 0x7F7F, kNegZero));    // product overflow
  v.push_back(uniform_bf16(lanes, 0x7F7F, 0x3F80, kNegZero));    // tree overflow
  v.push_back(uniform_bf16(lanes, 0x0080, 0x0080, kNegZero));    // product underflow
  v.push_back(uniform_bf16(lanes, 0x0080, 0x3F00, kNegZero));    // 2^-127: flushed
  v.push_back(uniform_bf16(lanes, 0x0080, 0x3F80, 0x80800000));  // 2^-126 ok, cancels acc
  v.push_back(uniform_bf16(lanes, 0x7F80, 0x0000, kNegZero));    // inf * 0 = NaN
  v.push_back(uniform_bf16(lanes, 0x7F81, 0x3F80, kNegZero));    // sNaN -> canonical
  v.push_back(uniform_bf16(lanes, 0xFFC1, 0x3F80, kNegZero));    // -NaN -> canonical
  v.push_back(uniform_bf16(lanes, 0x3F80, 0x3F80, 0x7F800000));  // + inf acc
  v.push_back(uniform_bf16(lanes, 0x3F80, 0x3F80, 0x7FC00001));  // + NaN acc
  v.push_back(uniform_bf16(lanes, 0x3F80, 0x3F80, 0x00000001));  // + subnormal acc
  v.push_back(uniform_bf16(lanes, 0x3F80, 0x3F80, 0xCB800000));  // 16/32 - 2^24: RNE
  DotChunk c = uniform_bf16(lanes, 0x3F80, 0x3F80, kNegZero);
  c.a[0] = 0x7F80;
  c.a[1] = 0xFF80;  // inf + -inf in the first tree level
  v.push_back(c);
  c = uniform_bf16(lanes, 0x3F80, 0x3F80, kNegZero);
  c.a[0] = 0x7F80;
  c.a[lanes - 1] = 0xFF80;  // inf + -inf at the root
  v.push_back(c);
  c = uniform_bf16(lanes, 0x3F80, 0x3F80, 0xFF800000);
  c.a[3] = 0x7F80;  // +inf sum, -inf acc
  v.push_back(c);
  c = uniform_bf16(lanes, 0x0000, 0x0000, kNegZero);
  c.a[0] = 0x4B80;  // 2^24
  c.b[0] = 0x3F80;
  c.a[1] = 0x3F80;  // + 1: tie at 2^24 + 1, rounds to even (2^24)
  c.b[1] = 0x3F80;
  v.push_back(c);
  c.a[1] = 0x4040;  // + 3: tie at 2^24 + 3, rounds to even (2^24 + 4)
  v.push_back(c);
  for (int i = 0; i < lanes; ++i) {  // exact cancellation of max-magnitude pairs
    c.a[i] = 0x7F7F;
    c.b[i] = (i % 2) ? 0xBF80 : 0x3F80;
  }
  c.acc_in = kNegZero;
  v.push_back(c);
  return v;
}

std::vector<DotChunk> directed_int8(int lanes) {
  std::vector<DotChunk> v;
  auto uniform = [lanes](int8_t a, int8_t b, int32_t acc) {
    int8_t va[dp::kMaxLanes];
    int8_t vb[dp::kMaxLanes];
    for (int i = 0; i < lanes; ++i) {
      va[i] = a;
      vb[i] = b;
    }
    return DotChunk::int8(va, vb, lanes, acc);
  };
  v.push_back(uniform(-128, -128, 0));           // largest positive dot
  v.push_back(uniform(-128, 127, 0));            // largest negative dot
  v.push_back(uniform(-128, -128, INT32_MAX));   // wraps past INT32_MAX
  v.push_back(uniform(-128, 127, INT32_MIN));    // wraps past INT32_MIN
  v.push_back(uniform(127, 127, -1));
  v.push_back(uniform(0, -128, 12345));
  v.push_back(uniform(1, -1, 0));
  return v;
}

// ---------------------------------------------------------------------------
// Harness: one Verilated model, a scoreboard, and the pipeline checks
// ---------------------------------------------------------------------------

struct Policy {
  double valid_prob = 1.0;  // chance in_valid is offered when data is left
  double ready_prob = 1.0;  // chance out_ready is high in a cycle
};

struct PhaseResult {
  uint64_t vectors = 0;
  uint64_t mismatches = 0;
  uint64_t cycles = 0;
  uint64_t protocol_errors = 0;  // latency, throughput, hold, loss, dup
  uint64_t min_latency = UINT64_MAX;
  uint64_t max_latency = 0;
};

class Harness {
public:
  virtual ~Harness() = default;
  virtual int lanes() const = 0;
  // Streams `count` vectors from `next` under `policy`; if check_tags, vector
  // k must carry tag k in its INT8 result (see tagged_int8()).
  virtual PhaseResult run(const char* phase, uint64_t count, const std::function<DotChunk()>& next,
                          const Policy& policy, Stimulus& rng, bool check_tags) = 0;
  virtual bool reset_state_ok() = 0;
};

// INT8 chunks whose result encodes a sequence number: acc_in = tag << 21 and
// |dot| <= 32 * 128 * 128 = 2^19 < 2^20, so the tag is round(result / 2^21).
constexpr int kTagShift = 21;
uint32_t decode_tag(uint32_t result) {
  return static_cast<uint32_t>((result + (1u << (kTagShift - 1))) >> kTagShift);
}

template <class Model, int kLanes>
class HarnessT final : public Harness {
public:
  HarnessT(const std::string& vcd_path, uint64_t vcd_cycles) : vcd_cycles_(vcd_cycles) {
    context_.randReset(0);
    if (!vcd_path.empty()) context_.traceEverOn(true);
    model_ = std::make_unique<Model>(&context_, "dot_product");
    if (!vcd_path.empty()) {
      vcd_ = std::make_unique<VerilatedVcdC>();
      model_->trace(vcd_.get(), 99);
      vcd_->open(vcd_path.c_str());
      if (!vcd_->isOpen()) {
        std::fprintf(stderr, "tb_dot_product: cannot open %s\n", vcd_path.c_str());
        std::exit(2);
      }
    }
    model_->clk = 0;
    model_->in_valid = 0;
    model_->out_ready = 1;
    model_->rst_n = 0;
    for (int i = 0; i < 2; ++i) {
      settle();
      cycle();
    }
    model_->rst_n = 1;
  }

  ~HarnessT() override {
    if (vcd_) vcd_->close();
    model_->final();
  }

  int lanes() const override { return kLanes; }

  bool reset_state_ok() override {
    model_->in_valid = 0;
    settle();
    return !model_->out_valid && model_->in_ready;
  }

  PhaseResult run(const char* phase, uint64_t count, const std::function<DotChunk()>& next,
                  const Policy& policy, Stimulus& rng, bool check_tags) override {
    struct InFlight {
      uint32_t expected;
      uint64_t accept_cycle;
      uint64_t index;
    };
    const uint64_t depth = dp::pipeline_depth_cycles(kLanes);
    PhaseResult r;
    std::deque<InFlight> scoreboard;
    uint64_t sent = 0;
    uint64_t received = 0;
    bool have_pending = false;
    DotChunk pending;
    bool stalled_prev = false;  // out_valid && !out_ready last cycle
    uint32_t stalled_value = 0;
    const uint64_t start = now_;
    const uint64_t limit = 10 * count + depth + 1000;  // hang guard

    while (received < count) {
      if (now_ - start > limit) {
        std::fprintf(stderr, "[%s] hang: %" PRIu64 "/%" PRIu64 " results after %" PRIu64
                     " cycles\n", phase, received, count, now_ - start);
        ++r.protocol_errors;
        break;
      }
      // An offered vector stays offered until taken (valid must not drop).
      if (!have_pending && sent < count && rng_or_one(rng, policy.valid_prob)) {
        pending = next();
        have_pending = true;
      }
      model_->in_valid = have_pending;
      if (have_pending) drive(pending);
      model_->out_ready = rng_or_one(rng, policy.ready_prob);
      settle();

      if (policy.ready_prob >= 1.0 && !model_->in_ready) {
        ++r.protocol_errors;  // throughput: never stall while the output drains
        report(phase, "in_ready low with out_ready held high");
      }
      if (stalled_prev && (!model_->out_valid || model_->out_result != stalled_value)) {
        ++r.protocol_errors;
        report(phase, "stalled output changed before it was taken");
      }
      stalled_prev = model_->out_valid && !model_->out_ready;
      stalled_value = model_->out_result;

      if (model_->out_valid && model_->out_ready) {
        const uint32_t got = model_->out_result;
        if (scoreboard.empty()) {
          ++r.protocol_errors;
          report(phase, "result with nothing in flight (duplicate?)");
        } else {
          const InFlight f = scoreboard.front();
          scoreboard.pop_front();
          const uint64_t latency = now_ - f.accept_cycle;
          r.min_latency = std::min(r.min_latency, latency);
          r.max_latency = std::max(r.max_latency, latency);
          if (latency < depth || (policy.ready_prob >= 1.0 && latency != depth)) {
            ++r.protocol_errors;
            char msg[96];
            std::snprintf(msg, sizeof msg, "vector %" PRIu64 ": latency %" PRIu64
                          " cycles, expected %" PRIu64, f.index, latency, depth);
            report(phase, msg);
          }
          if (check_tags && decode_tag(got) != (f.index & 0x7FF)) {
            ++r.protocol_errors;
            char msg[96];
            std::snprintf(msg, sizeof msg, "vector %" PRIu64 ": got tag %u (lost/dup/reorder)",
                          f.index, decode_tag(got));
            report(phase, msg);
          }
          if (got != f.expected) {
            if (r.mismatches < kMaxReportedMismatches) {
              std::fprintf(stderr, "[%s lanes=%d] MISMATCH vector %" PRIu64
                           ": rtl=0x%08x twin=0x%08x\n", phase, kLanes, f.index, got, f.expected);
            }
            ++r.mismatches;
          }
          ++received;
        }
      }
      if (have_pending && model_->in_ready) {
        scoreboard.push_back({dp::dot_chunk(pending, kLanes), now_, sent});
        ++sent;
        have_pending = false;
      }
      cycle();
    }
    model_->in_valid = 0;
    r.vectors = received;
    r.cycles = now_ - start;
    if (!scoreboard.empty()) ++r.protocol_errors;
    // Throughput: back to back with the output always ready, N + depth cycles.
    if (policy.valid_prob >= 1.0 && policy.ready_prob >= 1.0 && r.cycles != count + depth) {
      ++r.protocol_errors;
      std::fprintf(stderr, "[%s lanes=%d] %" PRIu64 " vectors took %" PRIu64
                   " cycles, expected %" PRIu64 "\n", phase, kLanes, count, r.cycles,
                   count + depth);
    }
    return r;
  }

private:
  static bool rng_or_one(Stimulus& rng, double p) { return p >= 1.0 || rng.chance(p); }

  void report(const char* phase, const char* what) {
    if (reports_++ < kMaxReportedMismatches) {
      std::fprintf(stderr, "[%s lanes=%d] cycle %" PRIu64 ": %s\n", phase, kLanes, now_, what);
    }
  }

  void drive(const DotChunk& c) {
    model_->in_mode = static_cast<uint8_t>(c.mode);
    for (int w = 0; w < kLanes / 2; ++w) {
      model_->in_a[w] = c.a[2 * w] | (static_cast<uint32_t>(c.a[2 * w + 1]) << 16);
      model_->in_b[w] = c.b[2 * w] | (static_cast<uint32_t>(c.b[2 * w + 1]) << 16);
    }
    model_->in_acc = c.acc_in;
  }

  // Inputs settle with clk low; must precede every cycle().
  void settle() {
    model_->clk = 0;
    model_->eval();
  }

  // Dumps the settled cycle, then one rising edge.
  void cycle() {
    if (vcd_ && now_ < vcd_cycles_) vcd_->dump(now_ * kClockPeriodPs);
    model_->clk = 1;
    model_->eval();
    if (vcd_ && now_ < vcd_cycles_) vcd_->dump(now_ * kClockPeriodPs + kClockPeriodPs / 2);
    ++now_;
  }

  VerilatedContext context_;
  std::unique_ptr<Model> model_;
  std::unique_ptr<VerilatedVcdC> vcd_;
  uint64_t vcd_cycles_;
  uint64_t now_ = 0;
  uint64_t reports_ = 0;
};

// ---------------------------------------------------------------------------

bool parse_u64(const char* s, uint64_t& out) {
  char* end = nullptr;
  const unsigned long long v = std::strtoull(s, &end, 10);
  if (!end || *end != '\0' || end == s) return false;
  out = v;
  return true;
}

bool parse_args(int argc, char** argv, Options& o) {
  if (const char* env = std::getenv("PNM_TB_VECTORS")) {
    if (!parse_u64(env, o.vectors)) return false;
  }
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    const bool has_value = i + 1 < argc;
    if (arg == "--vectors" && has_value) {
      if (!parse_u64(argv[++i], o.vectors)) return false;
    } else if (arg == "--seed" && has_value) {
      if (!parse_u64(argv[++i], o.seed)) return false;
    } else if (arg == "--lanes" && has_value) {
      const std::string v = argv[++i];
      if (v == "all") o.lanes = {16, 32};
      else if (v == "16") o.lanes = {16};
      else if (v == "32") o.lanes = {32};
      else return false;
    } else if (arg == "--vcd" && has_value) {
      o.vcd_path = argv[++i];
    } else if (arg == "--vcd-cycles" && has_value) {
      if (!parse_u64(argv[++i], o.vcd_cycles)) return false;
    } else {
      return false;
    }
  }
  return true;
}

}  // namespace

int main(int argc, char** argv) {
  Options opt;
  if (!parse_args(argc, argv, opt)) {
    std::fprintf(stderr,
                 "usage: tb_dot_product [--vectors N] [--lanes 16|32|all] [--seed S]\n"
                 "                      [--vcd FILE] [--vcd-cycles N]\n");
    return 2;
  }
  const auto t_start = std::chrono::steady_clock::now();
  uint64_t total_failures = 0;
  uint64_t total_checked = 0;

  for (size_t li = 0; li < opt.lanes.size(); ++li) {
    const int lanes = opt.lanes[li];
    const auto t_lanes = std::chrono::steady_clock::now();
    // VCD of the first lane count only; the file would otherwise be rewritten.
    const std::string vcd = li == 0 ? opt.vcd_path : std::string();
    std::unique_ptr<Harness> h;
    if (lanes == 16) h = std::make_unique<HarnessT<Vdot_product_l16, 16>>(vcd, opt.vcd_cycles);
    else h = std::make_unique<HarnessT<Vdot_product_l32, 32>>(vcd, opt.vcd_cycles);
    Stimulus rng(opt.seed * 1000003 + lanes);

    uint64_t failures = 0;
    uint64_t checked = 0;
    auto account = [&](const char* phase, const PhaseResult& r, uint64_t expected) {
      checked += r.vectors;
      const uint64_t lost = expected - std::min(expected, r.vectors);
      failures += r.mismatches + r.protocol_errors + lost;
      if (r.mismatches || r.protocol_errors || lost) {
        std::fprintf(stderr, "[%s lanes=%d] FAIL: %" PRIu64 " mismatches, %" PRIu64
                     " protocol errors, %" PRIu64 " missing\n", phase, lanes, r.mismatches,
                     r.protocol_errors, lost);
      }
      return r;
    };

    if (!h->reset_state_ok()) {
      std::fprintf(stderr, "[reset lanes=%d] FAIL: out_valid high or in_ready low\n", lanes);
      ++failures;
    }

    const Policy streaming;  // in_valid and out_ready always high
    // Latency of an isolated vector, then the directed corner cases.
    const std::vector<DotChunk> dir_bf16 = directed_bf16(lanes);
    const std::vector<DotChunk> dir_int8 = directed_int8(lanes);
    const PhaseResult single = account("latency", h->run("latency", 1, [&] {
      return dir_bf16[0];
    }, streaming, rng, false), 1);
    size_t k = 0;
    account("directed_bf16", h->run("directed_bf16", dir_bf16.size(), [&] {
      return dir_bf16[k++];
    }, streaming, rng, false), dir_bf16.size());
    k = 0;
    account("directed_int8", h->run("directed_int8", dir_int8.size(), [&] {
      return dir_int8[k++];
    }, streaming, rng, false), dir_int8.size());

    // Every lane drawn from the special-value set (inf, NaN, subnormal...).
    const uint64_t n_special = std::max<uint64_t>(opt.vectors / 10, 1000);
    account("special_bf16", h->run("special_bf16", n_special, [&] {
      DotChunk c;
      for (int i = 0; i < lanes; ++i) {
        c.a[i] = rng.bf16_special();
        c.b[i] = rng.bf16_special();
      }
      c.acc_in = rng.fp32_acc();
      return c;
    }, streaming, rng, false), n_special);

    // The bulk: random pairs per precision, back to back (throughput check).
    const PhaseResult bf16 = account("random_bf16", h->run("random_bf16", opt.vectors, [&] {
      return rng.random_bf16(lanes);
    }, streaming, rng, false), opt.vectors);
    const PhaseResult int8 = account("random_int8", h->run("random_int8", opt.vectors, [&] {
      return rng.random_int8(lanes);
    }, streaming, rng, false), opt.vectors);

    // Back-pressure: random input gaps and output stalls, mixed precisions.
    const uint64_t n_bp = std::max<uint64_t>(opt.vectors / 10, 1000);
    const Policy bursty{0.7, 0.5};
    const PhaseResult bp = account("backpressure_mixed", h->run("backpressure_mixed", n_bp, [&] {
      return rng.chance(0.5) ? rng.random_bf16(lanes) : rng.random_int8(lanes);
    }, bursty, rng, false), n_bp);
    // Back-pressure with sequence tags: loss, duplication and reordering show
    // up as a wrong tag, not just as a likely value mismatch.
    uint64_t tag = 0;
    account("backpressure_tagged", h->run("backpressure_tagged", n_bp, [&] {
      DotChunk c = rng.random_int8(lanes);
      c.acc_in = static_cast<uint32_t>((tag++ & 0x7FF) << kTagShift);
      return c;
    }, Policy{0.9, 0.3}, rng, true), n_bp);
    // Random input gaps, output always ready: latency must stay exact.
    account("gaps", h->run("gaps", n_bp, [&] {
      return rng.chance(0.5) ? rng.random_bf16(lanes) : rng.random_int8(lanes);
    }, Policy{0.3, 1.0}, rng, false), n_bp);

    const double secs =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - t_lanes).count();
    std::printf("tb_dot_product lanes=%d depth=%d: %s  checked=%" PRIu64 " (random bf16=%" PRIu64
                " int8=%" PRIu64 ", special=%" PRIu64 ", directed=%zu, backpressure=%" PRIu64
                ") latency=%" PRIu64 " throughput=%" PRIu64 "/%" PRIu64
                " cycles bp_latency=%" PRIu64 "..%" PRIu64 " failures=%" PRIu64 " time=%.1fs\n",
                lanes, dp::pipeline_depth_cycles(lanes), failures ? "FAIL" : "PASS", checked,
                bf16.vectors, int8.vectors, n_special, dir_bf16.size() + dir_int8.size(), 3 * n_bp,
                single.max_latency, bf16.cycles, bf16.vectors, bp.min_latency, bp.max_latency,
                failures, secs);
    total_failures += failures;
    total_checked += checked;
  }

  const double secs =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - t_start).count();
  std::printf("tb_dot_product: %s  %" PRIu64 " vectors checked bit-exact against the twin, %"
              PRIu64 " failures, %.1fs (seed %" PRIu64 ")\n",
              total_failures ? "FAIL" : "PASS", total_checked, total_failures, secs, opt.seed);
  return total_failures ? 1 : 0;
}
