// Shared set-up for the engine tests: the reference device's DRAM, a
// backing store, random BF16/INT8 tensors written in the job's layout, and a
// double-precision Eigen reference of the engine's arithmetic.
#pragma once

#include "platform.h"
#include "pnm/datapath_twin.h"
#include "pnm/engine.h"

#include <Eigen/Dense>
#include <algorithm>
#include <cmath>
#include <cstring>
#include <memory>
#include <random>
#include <vector>

namespace pnm::engine::test {

inline dram::DramSystemConfig dram_config(const char* platform = "ddr5-4800-8ch") {
  return load_platform(resolve_platform(platform)).dram;
}

inline EngineConfig default_config() { return load_engine_file(default_engine_file()); }

// A device: DRAM + store + front end + the engine's port + datapath + engine.
struct Rig {
  explicit Rig(EngineConfig cfg = default_config(), const char* platform = "ddr5-4800-8ch",
               std::unique_ptr<datapath::Datapath> dp = nullptr)
      : dram(dram_config(platform)), store(dram.capacity_bytes()), fe(dram), mem(fe, store, "engine"),
        dp_(dp ? std::move(dp) : std::make_unique<datapath::DatapathTwin>(16)),
        engine(cfg, mem, *dp_) {}
  dram::DramSystem dram;
  dram::SparseStore store;
  dram::MemoryFrontEnd fe;
  dram::MemoryPort mem;
  std::unique_ptr<datapath::Datapath> dp_;
  AttentionEngine engine;
};

// Tensors of one job, as the engine sees them (element values as doubles
// for the reference; raw bytes in the store).
struct Tensors {
  std::vector<double> q, k, v; // q[h][d], k/v[kv][t][d]
};

inline uint64_t align64(uint64_t x) { return (x + 63) / 64 * 64; }

// Lays out Q, K, V, O, indices one after another from `base` and fills
// Q/K/V with random values: BF16 ~ N(0, sigma) rounded to BF16, INT8 uniform
// in [-range, range].
inline Tensors fill_job(AttentionJob& j, dram::SparseStore& store, std::mt19937_64& rng,
                        uint64_t base = 0x100000, double sigma = 1.0, int int8_range = 127) {
  j.q_addr = base;
  j.k_addr = align64(j.q_addr + j.q_bytes());
  j.v_addr = align64(j.k_addr + j.kv_bytes());
  j.o_addr = align64(j.v_addr + j.kv_bytes());
  j.idx_addr = align64(j.o_addr + std::max<uint64_t>(j.o_bytes(), 64));
  if (!j.writes_o()) j.o_addr = 0;
  if (!j.writes_idx()) j.idx_addr = 0;
  Tensors t;
  std::normal_distribution<float> nd(0.0f, static_cast<float>(sigma));
  std::uniform_int_distribution<int> ud(-int8_range, int8_range);
  auto fill = [&](uint64_t addr, uint64_t n, std::vector<double>& vals) {
    vals.resize(n);
    std::vector<uint8_t> bytes(n * j.elem_bytes());
    for (uint64_t i = 0; i < n; ++i) {
      if (j.prec() == Precision::kInt8) {
        const int8_t x = static_cast<int8_t>(ud(rng));
        bytes[i] = static_cast<uint8_t>(x);
        vals[i] = x;
      } else {
        const uint16_t b = datapath::float_to_bf16(nd(rng));
        bytes[2 * i] = static_cast<uint8_t>(b);
        bytes[2 * i + 1] = static_cast<uint8_t>(b >> 8);
        vals[i] = datapath::bf16_to_float(b);
      }
    }
    store.write(addr, bytes.data(), bytes.size());
  };
  fill(j.q_addr, uint64_t{j.heads} * j.head_dim, t.q);
  fill(j.k_addr, uint64_t{j.kv_heads} * j.seq_len * j.head_dim, t.k);
  fill(j.v_addr, uint64_t{j.kv_heads} * j.seq_len * j.head_dim, t.v);
  return t;
}

inline std::vector<float> read_f32(const dram::SparseStore& s, uint64_t addr, uint64_t n) {
  std::vector<float> out(n);
  std::vector<uint8_t> b(n * 4);
  s.read(addr, b.data(), b.size());
  for (uint64_t i = 0; i < n; ++i) {
    uint32_t bits = b[4 * i] | (b[4 * i + 1] << 8) | (b[4 * i + 2] << 16) | (uint32_t{b[4 * i + 3]} << 24);
    std::memcpy(&out[i], &bits, 4);
  }
  return out;
}

inline std::vector<uint32_t> read_u32(const dram::SparseStore& s, uint64_t addr, uint64_t n) {
  std::vector<uint32_t> out(n);
  std::vector<uint8_t> b(n * 4);
  s.read(addr, b.data(), b.size());
  for (uint64_t i = 0; i < n; ++i)
    out[i] = b[4 * i] | (b[4 * i + 1] << 8) | (b[4 * i + 2] << 16) | (uint32_t{b[4 * i + 3]} << 24);
  return out;
}

// Double-precision reference of one query head.
struct RefHead {
  Eigen::VectorXd scores;            // scaled, per token
  std::vector<uint32_t> selected;    // items chosen (tokens or pages), ascending
  std::vector<uint32_t> tokens;      // tokens attended, ascending
  Eigen::VectorXd out;               // O (attention ops)
  double kth_gap = 0;                // |score of k-th best - (k+1)-th| (near-tie check)
};

// Selection by the engine's order (higher first, lower index on ties) on
// the double scores, of `items` item scores.
inline std::vector<uint32_t> ref_select(const Eigen::VectorXd& item_scores, uint32_t k, double* gap) {
  std::vector<uint32_t> order(item_scores.size());
  for (uint32_t i = 0; i < order.size(); ++i) order[i] = i;
  std::stable_sort(order.begin(), order.end(),
                   [&](uint32_t a, uint32_t b) { return item_scores[a] > item_scores[b]; });
  const uint32_t kk = std::min<uint32_t>(k, static_cast<uint32_t>(order.size()));
  if (gap) *gap = kk < order.size() ? item_scores[order[kk - 1]] - item_scores[order[kk]] : 1e300;
  std::vector<uint32_t> sel(order.begin(), order.begin() + kk);
  std::sort(sel.begin(), sel.end());
  return sel;
}

inline Eigen::VectorXd item_scores(const AttentionJob& j, const Eigen::VectorXd& s) {
  if (!j.pages()) return s;
  Eigen::VectorXd p(j.items());
  for (uint32_t i = 0; i < j.items(); ++i) {
    const uint32_t t0 = i * j.page_tokens, t1 = std::min<uint32_t>(j.seq_len, t0 + j.page_tokens);
    p[i] = s.segment(t0, t1 - t0).maxCoeff();
  }
  return p;
}

inline std::vector<uint32_t> tokens_of(const AttentionJob& j, const std::vector<uint32_t>& sel) {
  if (!j.pages()) return sel;
  std::vector<uint32_t> t;
  for (uint32_t p : sel)
    for (uint32_t x = p * j.page_tokens; x < std::min<uint32_t>(j.seq_len, (p + 1) * j.page_tokens); ++x)
      t.push_back(x);
  return t;
}

// Softmax-weighted V over `tokens` in double.
inline Eigen::VectorXd ref_attend(const AttentionJob& j, const Tensors& t, uint32_t kvh,
                                  const Eigen::VectorXd& s, const std::vector<uint32_t>& tokens) {
  const uint32_t d = j.head_dim;
  double m = -INFINITY;
  for (uint32_t x : tokens) m = std::max(m, s[x]);
  double l = 0;
  Eigen::VectorXd acc = Eigen::VectorXd::Zero(d);
  for (uint32_t x : tokens) {
    const double p = std::exp(s[x] - m);
    l += p;
    acc += p * Eigen::Map<const Eigen::VectorXd>(&t.v[(uint64_t{kvh} * j.seq_len + x) * d], d);
  }
  const double vs = j.prec() == Precision::kInt8 ? j.v_scale : 1.0;
  return acc / l * vs;
}

inline RefHead reference(const AttentionJob& j, const Tensors& t, uint32_t qh) {
  const uint32_t d = j.head_dim, kvh = qh / j.group();
  RefHead r;
  Eigen::Map<const Eigen::VectorXd> q(&t.q[uint64_t{qh} * d], d);
  Eigen::Map<const Eigen::Matrix<double, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>> K(
      &t.k[uint64_t{kvh} * j.seq_len * d], j.seq_len, d);
  r.scores = (K * q) * static_cast<double>(j.scale);
  if (j.op() == Opcode::kDense) {
    for (uint32_t x = 0; x < j.seq_len; ++x) r.tokens.push_back(x);
  } else {
    r.selected = ref_select(item_scores(j, r.scores), j.k, &r.kth_gap);
    r.tokens = tokens_of(j, r.selected);
  }
  if (j.reads_v()) r.out = ref_attend(j, t, kvh, r.scores, r.tokens);
  return r;
}

} // namespace pnm::engine::test
