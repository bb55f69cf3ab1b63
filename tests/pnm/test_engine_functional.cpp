// Functional engine against a double-precision Eigen reference over many
// random shapes: dense, top-k tokens, top-k pages, select; BF16 and INT8;
// GQA groups; odd sequence lengths; k > seq_len.
//
// Tolerance (docs/ENGINE.md, "Arithmetic and tolerances"), u = 2^-24:
//   score error  delta_t <= scale * gamma_D * sum_i |q_i k_ti| + u |s_t|,
//                gamma_D = D u / (1 - D u), D = log2(lanes) + head_dim/lanes
//                (0 for INT8: the dot product is exact)
//   output error |O - O_ref| <= max|v| * (4 delta + (2 n + 2 R + 16) u)
//                n tokens attended, R = max |s_t - max s| over them.
// Top-k sets must match the reference except for near-ties: a token the two
// disagree on must score within 2 delta of the k-th best.
#include "common/log.h"
#include "engine_test_util.h"

#include <gtest/gtest.h>

#include <fmt/format.h>
#include <set>

namespace {

using namespace pnm::engine;
using namespace pnm::engine::test;

constexpr double kU = 1.0 / (1 << 24);

struct Outcome {
  double worst_o = 0;      // max |err| / tol over O values
  double worst_score = 0;  // max |err| / delta over SELECT scores
  int near_ties = 0;
};

Outcome run_and_check(Rig& rig, AttentionJob j, uint64_t seed) {
  std::mt19937_64 rng(seed);
  const bool int8 = j.prec() == Precision::kInt8;
  if (int8) {
    j.scale = static_cast<float>(1.0 / (std::sqrt(static_cast<double>(j.head_dim)) * 4000.0));
    j.v_scale = 1.0f / 127;
  } else {
    j.scale = static_cast<float>(1.0 / std::sqrt(static_cast<double>(j.head_dim)));
  }
  const Tensors t = fill_job(j, rig.store, rng);
  const JobResult r = rig.engine.run(j, 0, Mode::functional);
  Outcome out;
  EXPECT_TRUE(r.ok()) << error_name(r.error) << ": " << r.message;
  if (!r.ok()) return out;
  const uint32_t d = j.head_dim, L = 16, D = 4 + d / L;
  const double gamma = int8 ? 0 : D * kU / (1 - D * kU);
  const uint32_t k = j.k_eff();
  std::vector<float> o;
  if (j.writes_o()) o = read_f32(rig.store, j.o_addr, j.o_bytes() / 4);
  std::vector<uint32_t> idx;
  if (j.writes_idx()) idx = read_u32(rig.store, j.idx_addr, j.idx_bytes() / 4);

  for (uint32_t qh = 0; qh < j.heads; ++qh) {
    RefHead ref = reference(j, t, qh);
    const uint32_t kvh = qh / j.group();
    double delta = 0;
    for (uint32_t x = 0; x < j.seq_len; ++x) {
      double sum_abs = 0;
      for (uint32_t e = 0; e < d; ++e)
        sum_abs += std::fabs(t.q[uint64_t{qh} * d + e] * t.k[(uint64_t{kvh} * j.seq_len + x) * d + e]);
      delta = std::max(delta, j.scale * gamma * sum_abs + kU * std::fabs(ref.scores[x]));
    }
    delta += 1e-30;
    std::vector<uint32_t> tokens = ref.tokens;
    if (j.op() != Opcode::kDense) {
      // The engine's selection, read back (SELECT always; top-k ops when flagged).
      std::vector<uint32_t> sel = ref.selected;
      if (!idx.empty()) sel.assign(idx.begin() + uint64_t{qh} * k, idx.begin() + uint64_t{qh + 1} * k);
      EXPECT_TRUE(std::is_sorted(sel.begin(), sel.end()));
      if (sel != ref.selected) {
        // Legitimate only for near-ties around the k-th best.
        const Eigen::VectorXd items = item_scores(j, ref.scores);
        std::vector<double> sorted(items.data(), items.data() + items.size());
        std::sort(sorted.rbegin(), sorted.rend());
        const double kth = sorted[k - 1];
        std::set<uint32_t> a(sel.begin(), sel.end()), b(ref.selected.begin(), ref.selected.end());
        for (uint32_t x : a) {
          if (!b.count(x)) {
            EXPECT_NEAR(items[x], kth, 2 * delta) << "head " << qh << " item " << x;
          }
        }
        for (uint32_t x : b) {
          if (!a.count(x)) {
            EXPECT_NEAR(items[x], kth, 2 * delta) << "head " << qh << " item " << x;
          }
        }
        ++out.near_ties;
        tokens = tokens_of(j, sel);
        if (j.reads_v()) ref.out = ref_attend(j, t, kvh, ref.scores, tokens);
      }
      if (j.op() == Opcode::kSelect && j.writes_o()) {
        const Eigen::VectorXd items = item_scores(j, ref.scores);
        for (uint32_t i = 0; i < k; ++i) {
          const double err = std::fabs(o[uint64_t{qh} * k + i] - items[sel[i]]);
          out.worst_score = std::max(out.worst_score, err / delta);
          EXPECT_LE(err, delta) << "head " << qh << " score " << i;
        }
      }
    }
    if (!j.reads_v()) continue;
    double vmax = 0, m = -INFINITY, R = 0;
    for (uint32_t x : tokens) {
      m = std::max(m, ref.scores[x]);
      for (uint32_t e = 0; e < d; ++e)
        vmax = std::max(vmax, std::fabs(t.v[(uint64_t{kvh} * j.seq_len + x) * d + e]));
    }
    for (uint32_t x : tokens) R = std::max(R, m - ref.scores[x]);
    const double vs = int8 ? j.v_scale : 1.0;
    const double tol = vmax * vs * (4 * delta + (2.0 * tokens.size() + 2 * R + 16) * kU) + 1e-30;
    for (uint32_t e = 0; e < d; ++e) {
      const double err = std::fabs(o[uint64_t{qh} * d + e] - ref.out[e]);
      out.worst_o = std::max(out.worst_o, err / tol);
      EXPECT_LE(err, tol) << "head " << qh << " dim " << e << " engine " << o[uint64_t{qh} * d + e]
                          << " ref " << ref.out[e];
    }
  }
  return out;
}

AttentionJob random_job(std::mt19937_64& rng, uint8_t opcode, uint8_t precision) {
  static const uint32_t kSeq[] = {1, 2, 3, 7, 17, 63, 64, 65, 100, 257, 1000, 1500, 3001};
  static const uint16_t kDim[] = {16, 32, 48, 64, 128, 256};
  static const uint16_t kGroup[] = {1, 2, 4, 8};
  AttentionJob j;
  j.opcode = opcode;
  j.precision = precision;
  j.kv_heads = static_cast<uint16_t>(1 + rng() % 3);
  j.heads = static_cast<uint16_t>(j.kv_heads * kGroup[rng() % 4]);
  j.head_dim = kDim[rng() % 6];
  j.seq_len = kSeq[rng() % 13];
  if (opcode != PNM_JOB_OP_DENSE) {
    if (opcode == PNM_JOB_OP_TOPK_PAGE || (opcode == PNM_JOB_OP_SELECT && rng() % 2))
      j.page_tokens = 1u << (rng() % 7);
    const uint32_t items = j.items();
    j.k = static_cast<uint32_t>(1 + rng() % (2 * items)); // often > items
    j.k = std::min<uint32_t>(j.k, 2048);
    if (opcode == PNM_JOB_OP_SELECT) j.flags = PNM_JOB_FLAG_WRITE_SCORES;
    else j.flags = PNM_JOB_FLAG_WRITE_INDICES;
  }
  return j;
}

void random_shapes(uint8_t precision, int cases, uint64_t seed) {
  Rig rig;
  EngineConfig small = default_config();
  small.dense_block_tokens = 100; // many blocks: exercises the rescale
  Rig rig_small(small);
  std::mt19937_64 rng(seed);
  double worst_o = 0, worst_score = 0;
  int ties = 0;
  for (int c = 0; c < cases; ++c) {
    const uint8_t op = static_cast<uint8_t>(1 + c % 4);
    AttentionJob j = random_job(rng, op, precision);
    SCOPED_TRACE(fmt::format("case {}: op {} heads {} kv {} d {} seq {} k {} page {}", c, op, j.heads,
                             j.kv_heads, j.head_dim, j.seq_len, j.k, j.page_tokens));
    const Outcome o = run_and_check(c % 2 ? rig_small : rig, j, seed * 1000 + c);
    worst_o = std::max(worst_o, o.worst_o);
    worst_score = std::max(worst_score, o.worst_score);
    ties += o.near_ties;
  }
  std::printf("[ figures  ] %s: %d random jobs, worst |O error| / tolerance = %.3g, worst |score "
              "error| / delta = %.3g, near-tie heads = %d\n",
              precision ? "int8" : "bf16", cases, worst_o, worst_score, ties);
}

TEST(EngineFunctional, RandomShapesBf16MatchDoubleReference) { random_shapes(PNM_JOB_PREC_BF16, 80, 11); }

TEST(EngineFunctional, RandomShapesInt8MatchDoubleReference) { random_shapes(PNM_JOB_PREC_INT8, 80, 12); }

TEST(EngineFunctional, TopkWithKAboveSeqLenEqualsDense) {
  Rig rig;
  std::mt19937_64 rng(3);
  AttentionJob j;
  j.heads = 8;
  j.kv_heads = 2;
  j.head_dim = 64;
  j.seq_len = 777;
  j.scale = 0.125f;
  j.opcode = PNM_JOB_OP_DENSE;
  fill_job(j, rig.store, rng);
  ASSERT_TRUE(rig.engine.run(j, 0, Mode::functional).ok());
  const auto dense = read_f32(rig.store, j.o_addr, j.o_bytes() / 4);
  j.opcode = PNM_JOB_OP_TOPK_TOKEN;
  j.k = 2048;
  j.o_addr += 1 << 20; // fresh output
  const JobResult r = rig.engine.run(j, 0, Mode::functional);
  ASSERT_TRUE(r.ok()) << r.message;
  const auto topk = read_f32(rig.store, j.o_addr, j.o_bytes() / 4);
  // Same tokens, same order, one softmax group instead of one block: the
  // results agree to FP32 rounding (block 1024 > 777: identical).
  for (size_t i = 0; i < dense.size(); ++i) EXPECT_EQ(dense[i], topk[i]) << i;
  EXPECT_EQ(r.counters.v_rows_read, 2u * 777);
}

TEST(EngineFunctional, EqualScoresKeepTheLowerTokenIndex) {
  // Every key appears three times in a row: equal scores, bit for bit. The
  // k-th place falls inside a run of equals; the lower indices must win.
  Rig rig;
  std::mt19937_64 rng(8);
  AttentionJob j;
  j.opcode = PNM_JOB_OP_SELECT;
  j.heads = 4;
  j.kv_heads = 1;
  j.head_dim = 32;
  j.seq_len = 300;
  j.k = 50; // 50 = 16 runs of 3 + 2 of the 17th run
  j.scale = 0.17f;
  j.flags = PNM_JOB_FLAG_WRITE_SCORES;
  Tensors t = fill_job(j, rig.store, rng);
  std::vector<uint8_t> row(j.row_bytes());
  for (uint32_t x = 0; x < j.seq_len; ++x) {
    const uint32_t src = x / 3 * 3;
    rig.store.read(j.k_addr + src * j.row_bytes(), row.data(), row.size());
    rig.store.write(j.k_addr + x * j.row_bytes(), row.data(), row.size());
    for (uint32_t e = 0; e < j.head_dim; ++e) t.k[x * j.head_dim + e] = t.k[src * j.head_dim + e];
  }
  ASSERT_TRUE(rig.engine.run(j, 0, Mode::functional).ok());
  const auto idx = read_u32(rig.store, j.idx_addr, j.idx_bytes() / 4);
  const auto sc = read_f32(rig.store, j.o_addr, j.o_bytes() / 4);
  for (uint32_t qh = 0; qh < j.heads; ++qh) {
    const RefHead ref = reference(j, t, qh);
    const std::vector<uint32_t> got(idx.begin() + qh * j.k, idx.begin() + (qh + 1) * j.k);
    EXPECT_EQ(got, ref.selected) << "head " << qh;
    // The boundary run is split: exactly 2 of its 3 tokens are in, the lower two.
    std::vector<uint32_t> run_sizes(100, 0);
    for (uint32_t x : got) ++run_sizes[x / 3];
    int partial = 0;
    for (uint32_t r = 0; r < 100; ++r) {
      if (run_sizes[r] != 0 && run_sizes[r] != 3) {
        ++partial;
        EXPECT_EQ(run_sizes[r], 2u);
        EXPECT_TRUE(std::count(got.begin(), got.end(), 3 * r) && std::count(got.begin(), got.end(), 3 * r + 1));
      }
    }
    EXPECT_EQ(partial, 1) << "head " << qh;
    for (uint32_t i = 0; i < j.k; ++i) EXPECT_FALSE(std::isnan(sc[qh * j.k + i]));
  }
}

TEST(EngineFunctional, GqaReadsKvOncePerKvHead) {
  Rig rig;
  std::mt19937_64 rng(5);
  AttentionJob j;
  j.opcode = PNM_JOB_OP_DENSE;
  j.heads = 32;
  j.kv_heads = 4;
  j.head_dim = 128;
  j.seq_len = 1024;
  j.scale = 0.09f;
  fill_job(j, rig.store, rng);
  const JobResult r = rig.engine.run(j, 0, Mode::functional);
  ASSERT_TRUE(r.ok());
  // K and V of 4 KV heads once each, Q once; nothing per query head.
  const uint64_t expect = 2 * j.kv_bytes() + j.q_bytes();
  EXPECT_EQ(r.counters.dram_bytes_read, expect);
  EXPECT_EQ(r.counters.macs_bf16, uint64_t{32} * 1024 * 128);
}

TEST(EngineFunctional, CountersAndTimingEqualTimingOnlyForDense) {
  // Same job on two fresh devices: dense reads no data-dependent rows, so
  // the timing-only run must give the same cycles and counters.
  std::mt19937_64 rng(9);
  AttentionJob j;
  j.opcode = PNM_JOB_OP_DENSE;
  j.heads = 16;
  j.kv_heads = 4;
  j.head_dim = 64;
  j.seq_len = 3000;
  j.scale = 0.125f;
  Rig a, b;
  fill_job(j, a.store, rng);
  const unsigned long errors0 = pnm::log::error_count();
  const JobResult fa = a.engine.run(j, 0, Mode::functional);
  const JobResult tb = b.engine.run(j, 0, Mode::timing_only);
  ASSERT_TRUE(fa.ok() && tb.ok());
  EXPECT_EQ(pnm::log::error_count(), errors0) << "functional counters disagree with the model";
  EXPECT_EQ(fa.end_dram_cycle, tb.end_dram_cycle);
  EXPECT_EQ(fa.counters.dram_bytes_read, tb.counters.dram_bytes_read);
  EXPECT_EQ(fa.counters.macs_fp32, tb.counters.macs_fp32);
  EXPECT_EQ(fa.counters.exps, tb.counters.exps);
  EXPECT_EQ(fa.counters.sram_bytes, tb.counters.sram_bytes);
  EXPECT_EQ(fa.counters.exps, uint64_t{16} * (3000 + 2)); // 3 blocks of 1024: 2 rescales
}

TEST(EngineFunctional, SoftmaxAndDatapathCountersAreChecked) {
  // Every op on one device; the engine logs an error if the units' own
  // counts differ from the counters it reports.
  Rig rig;
  std::mt19937_64 rng(21);
  const unsigned long errors0 = pnm::log::error_count();
  for (uint8_t op = 1; op <= 4; ++op) {
    for (uint8_t prec = 0; prec <= 1; ++prec) {
      AttentionJob j = random_job(rng, op, prec);
      j.scale = 0.01f;
      fill_job(j, rig.store, rng);
      ASSERT_TRUE(rig.engine.run(j, 0, Mode::functional).ok());
    }
  }
  EXPECT_EQ(pnm::log::error_count(), errors0);
}

} // namespace

// KV laid out with room to grow (kv_stride > seq_len): the same rows at the
// strided places give bit-identical outputs and the same DRAM bytes read.
TEST(EngineFunctional, StridedKvEqualsCompactKv) {
  for (uint8_t op : {PNM_JOB_OP_DENSE, PNM_JOB_OP_TOPK_TOKEN, PNM_JOB_OP_SELECT}) {
    Rig rig;
    std::mt19937_64 rng(9);
    AttentionJob j;
    j.heads = 8;
    j.kv_heads = 4;
    j.head_dim = 64;
    j.seq_len = 500;
    j.scale = 0.125f;
    j.opcode = op;
    if (op != PNM_JOB_OP_DENSE) j.k = 37;
    fill_job(j, rig.store, rng);
    const JobResult compact = rig.engine.run(j, 0, Mode::functional);
    ASSERT_TRUE(compact.ok()) << compact.message;
    const uint64_t out = j.writes_o() ? j.o_addr : j.idx_addr;
    const uint64_t out_bytes = j.writes_o() ? j.o_bytes() : j.idx_bytes();
    const auto want = read_u32(rig.store, out, out_bytes / 4);
    // Copy K and V head by head to a layout with a stride of 700 rows.
    AttentionJob s = j;
    s.kv_stride = 700;
    const uint64_t row = j.row_bytes(), head = uint64_t{j.seq_len} * row;
    s.k_addr = 64ull << 20;
    s.v_addr = 96ull << 20;
    std::vector<uint8_t> buf(head);
    for (uint32_t h = 0; h < j.kv_heads; ++h) {
      rig.store.read(j.k_addr + h * head, buf.data(), head);
      rig.store.write(s.k_addr + h * s.kv_stride * row, buf.data(), head);
      rig.store.read(j.v_addr + h * head, buf.data(), head);
      rig.store.write(s.v_addr + h * s.kv_stride * row, buf.data(), head);
    }
    if (s.writes_o()) s.o_addr = 128ull << 20;
    if (s.writes_idx()) s.idx_addr = 130ull << 20;
    EXPECT_EQ(s.kv_bytes(), (3ull * 700 + 500) * row);
    const JobResult strided = rig.engine.run(s, rig.dram.channel(0).now(), Mode::functional);
    ASSERT_TRUE(strided.ok()) << strided.message;
    EXPECT_EQ(read_u32(rig.store, s.writes_o() ? s.o_addr : s.idx_addr, out_bytes / 4), want) << "op " << int(op);
    EXPECT_EQ(strided.counters.dram_bytes_read, compact.counters.dram_bytes_read) << "op " << int(op);
  }
}
