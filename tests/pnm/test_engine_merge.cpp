// Attention split over token ranges and merged (issue #14 item 4): DENSE
// and TOPK jobs with WRITE_LSE write each query head's log-sum-exp after O;
// a MERGE job combines k such partials. Split in parts and merged, dense
// attention must equal the whole job's output to FP32 rounding.
#include "engine_test_util.h"

#include <gtest/gtest.h>

#include <cmath>

namespace {

using namespace pnm::engine;
using namespace pnm::engine::test;

AttentionJob dense_job(uint32_t seq_len) {
  AttentionJob j;
  j.opcode = PNM_JOB_OP_DENSE;
  j.heads = 8;
  j.kv_heads = 2;
  j.head_dim = 64;
  j.seq_len = seq_len;
  j.scale = 0.125f;
  j.flags = PNM_JOB_FLAG_WRITE_LSE;
  return j;
}

TEST(EngineMerge, LseIsTheLogSumExpOfTheScaledScores) {
  Rig rig;
  AttentionJob j = dense_job(700);
  std::mt19937_64 rng(5);
  const Tensors t = fill_job(j, rig.store, rng);
  ASSERT_EQ(j.o_bytes(), uint64_t{j.heads} * (j.head_dim + 1) * 4);
  const JobResult r = rig.engine.run(j, 0, Mode::functional);
  ASSERT_TRUE(r.ok()) << r.message;
  const std::vector<float> o = read_f32(rig.store, j.o_addr, j.o_bytes() / 4);
  for (uint32_t qh = 0; qh < j.heads; ++qh) {
    const RefHead ref = reference(j, t, qh);
    const double m = ref.scores.maxCoeff();
    const double lse = m + std::log((ref.scores.array() - m).exp().sum());
    EXPECT_NEAR(o[uint64_t{j.heads} * j.head_dim + qh], lse, 1e-4 * std::max(1.0, std::fabs(lse))) << "head " << qh;
  }
}

// The same Q, K, V attended whole and in `parts` token ranges merged.
void split_and_merge(unsigned parts, Mode mode) {
  Rig rig;
  const uint32_t S = 1000;
  AttentionJob whole = dense_job(S);
  std::mt19937_64 rng(11 + parts);
  fill_job(whole, rig.store, rng);
  ASSERT_TRUE(rig.engine.run(whole, 0, mode).ok());
  const uint64_t row = whole.row_bytes();
  const uint64_t parts_base = align64(whole.idx_addr + 4096);
  const uint64_t part = whole.part_bytes();
  Cycle at = 0;
  for (unsigned p = 0; p < parts; ++p) {
    const uint32_t t0 = S * p / parts, t1 = S * (p + 1) / parts;
    AttentionJob j = whole;
    j.seq_len = t1 - t0;
    j.kv_stride = S; // the heads stay S rows apart
    j.k_addr = whole.k_addr + t0 * row;
    j.v_addr = whole.v_addr + t0 * row;
    j.o_addr = parts_base + p * part;
    const JobResult r = rig.engine.run(j, at, mode);
    ASSERT_TRUE(r.ok()) << r.message;
    at = r.end_dram_cycle;
  }
  AttentionJob m;
  m.opcode = PNM_JOB_OP_MERGE;
  m.flags = PNM_JOB_FLAG_WRITE_LSE;
  m.heads = whole.heads;
  m.kv_heads = 1;
  m.head_dim = whole.head_dim;
  m.k = parts;
  m.q_addr = parts_base;
  m.idx_addr = align64(parts_base + parts * part);
  m.o_addr = align64(m.idx_addr + 64 * parts);
  const JobResult r = rig.engine.run(m, at, mode);
  ASSERT_TRUE(r.ok()) << r.message;
  // The merge reads every part once and writes O and the LSEs.
  EXPECT_EQ(r.counters.dram_bytes_read, parts * part);
  EXPECT_EQ(r.counters.dram_bytes_written, align64(m.o_bytes()));
  EXPECT_EQ(r.counters.exps, uint64_t{m.heads} * (parts + 1));
  EXPECT_GT(r.elapsed_ns, 0);
  if (mode != Mode::functional) return;
  const std::vector<float> a = read_f32(rig.store, whole.o_addr, whole.o_bytes() / 4);
  const std::vector<float> b = read_f32(rig.store, m.o_addr, m.o_bytes() / 4);
  ASSERT_EQ(a.size(), b.size());
  double worst = 0;
  for (size_t i = 0; i < a.size(); ++i) worst = std::max(worst, std::fabs(double(a[i]) - b[i]));
  EXPECT_LT(worst, 2e-5) << parts << " parts"; // outputs and LSEs are O(1): FP32 rounding only
}

TEST(EngineMerge, TwoPartsEqualTheWholeDenseJob) { split_and_merge(2, Mode::functional); }
TEST(EngineMerge, SixteenPartsEqualTheWholeDenseJob) { split_and_merge(16, Mode::functional); }
TEST(EngineMerge, TimingOnlyMergeMovesTheSameBytes) { split_and_merge(8, Mode::timing_only); }

TEST(EngineMerge, BadMergeAndFlagsAreRefusedWithTheirCodes) {
  Rig rig;
  AttentionJob m;
  m.opcode = PNM_JOB_OP_MERGE;
  m.heads = 8;
  m.head_dim = 64;
  m.q_addr = 0x10000;
  m.idx_addr = 0x40000;
  m.o_addr = 0x50000;
  for (uint32_t k : {0u, 1u, PNM_JOB_MERGE_MAX_PARTS + 1}) {
    m.k = k;
    EXPECT_EQ(validate(m, rig.engine.limits()).code, JobError::kBadK) << k;
  }
  m.k = 4;
  EXPECT_TRUE(validate(m, rig.engine.limits()).ok());
  m.o_addr = m.q_addr + 64; // the output over a part
  EXPECT_EQ(validate(m, rig.engine.limits()).code, JobError::kOverlap);
  AttentionJob s = dense_job(100);
  s.opcode = PNM_JOB_OP_SELECT;
  s.k = 4;
  EXPECT_EQ(validate(s, rig.engine.limits()).code, JobError::kBadFlags); // no LSE for SELECT
  AttentionJob p = dense_job(100);
  p.q_addr = 0x1000;
  p.k_addr = 0x10000;
  p.v_addr = 0x20000;
  p.o_addr = 0x30000;
  p.flags |= PNM_JOB_FLAG_PUSH;
  p.push_addr = 0x1000000040;
  p.flag_addr = 0x1000000001;
  EXPECT_EQ(validate(p, rig.engine.limits()).code, JobError::kMisaligned);
  // Round trip of the new descriptor fields.
  p.epoch = 0xA5A5F00D;
  const AttentionJob back = decode(encode(p).data());
  EXPECT_EQ(back.epoch, p.epoch);
  EXPECT_EQ(back.push_addr, p.push_addr);
  EXPECT_EQ(back.flag_addr, p.flag_addr);
}

} // namespace
