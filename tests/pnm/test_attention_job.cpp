// Job descriptor: byte layout, round trip, and one check per error code
// (through validate() and through the engine, which must return the code
// without touching memory or time).
#include "engine_test_util.h"

#include <gtest/gtest.h>

#include <cstring>
#include <limits>

namespace {

using namespace pnm::engine;
using namespace pnm::engine::test;

AttentionJob good_job() {
  AttentionJob j;
  j.opcode = PNM_JOB_OP_TOPK_TOKEN;
  j.heads = 8;
  j.kv_heads = 2;
  j.head_dim = 64;
  j.seq_len = 1000;
  j.k = 32;
  j.scale = 0.125f;
  j.q_addr = 0x10000;
  j.k_addr = 0x20000;
  j.v_addr = 0x80000;
  j.o_addr = 0x100000;
  j.idx_addr = 0x110000;
  j.flags = PNM_JOB_FLAG_WRITE_INDICES;
  return j;
}

constexpr uint64_t kCap = uint64_t{64} << 30; // ddr5-4800-8ch

JobLimits limits() {
  JobLimits l;
  l.lanes = 16;
  l.capacity_bytes = kCap;
  l.topk_max_entries = 2048;
  return l;
}

TEST(EngineJob, ByteLayoutIsLittleEndianAtDocumentedOffsets) {
  AttentionJob j = good_job();
  j.tag = 0x1122334455667788ull;
  j.scale = 1.0f; // 0x3F800000
  const auto b = encode(j);
  ASSERT_EQ(b.size(), 128u);
  EXPECT_EQ(b[0], 'P');
  EXPECT_EQ(b[1], 'N');
  EXPECT_EQ(b[2], 'M');
  EXPECT_EQ(b[3], 'J');
  EXPECT_EQ(b[PNM_JOB_VERSION_OFF], 1);
  EXPECT_EQ(b[PNM_JOB_SIZE_OFF], 128);
  EXPECT_EQ(b[PNM_JOB_OPCODE_OFF], PNM_JOB_OP_TOPK_TOKEN);
  EXPECT_EQ(b[PNM_JOB_HEADS_OFF], 8);
  EXPECT_EQ(b[PNM_JOB_KV_HEADS_OFF], 2);
  EXPECT_EQ(b[PNM_JOB_HEAD_DIM_OFF], 64);
  EXPECT_EQ(b[PNM_JOB_SEQ_LEN_OFF], 1000 & 0xFF);
  EXPECT_EQ(b[PNM_JOB_SEQ_LEN_OFF + 1], 1000 >> 8);
  EXPECT_EQ(b[PNM_JOB_SCALE_OFF + 3], 0x3F);
  EXPECT_EQ(b[PNM_JOB_SCALE_OFF + 2], 0x80);
  EXPECT_EQ(b[PNM_JOB_K_ADDR_OFF + 2], 0x02);
  EXPECT_EQ(b[PNM_JOB_TAG_OFF], 0x88);
  EXPECT_EQ(b[PNM_JOB_TAG_OFF + 7], 0x11);
  for (uint32_t i = PNM_JOB_RESERVED1_OFF; i < 128; ++i) EXPECT_EQ(b[i], 0);
  const AttentionJob d = decode(b.data());
  EXPECT_EQ(encode(d), b);
  EXPECT_EQ(d.tag, j.tag);
  EXPECT_EQ(d.v_addr, j.v_addr);
  EXPECT_EQ(d.scale, 1.0f);
}

TEST(EngineJob, FirmwareCStructHasTheSameBytes) {
  // pnm_job_desc_t (engine_regs.h) filled field by field, as firmware does,
  // must be byte-identical to encode() on a little-endian host.
  const AttentionJob j = good_job();
  pnm_job_desc_t c{};
  c.magic = PNM_JOB_MAGIC;
  c.version = PNM_JOB_VERSION;
  c.size_bytes = PNM_JOB_DESC_BYTES;
  c.opcode = j.opcode;
  c.precision = j.precision;
  c.flags = j.flags;
  c.heads = j.heads;
  c.kv_heads = j.kv_heads;
  c.head_dim = j.head_dim;
  c.seq_len = j.seq_len;
  c.k = j.k;
  c.page_tokens = j.page_tokens;
  c.scale = j.scale;
  c.v_scale = j.v_scale;
  c.q_addr = j.q_addr;
  c.k_addr = j.k_addr;
  c.v_addr = j.v_addr;
  c.o_addr = j.o_addr;
  c.idx_addr = j.idx_addr;
  c.tag = 42;
  AttentionJob jt = j;
  jt.tag = 42;
  std::array<uint8_t, 128> raw{};
  std::memcpy(raw.data(), &c, sizeof c);
  EXPECT_EQ(raw, encode(jt));
}

TEST(EngineJob, GoodJobsPass) {
  EXPECT_TRUE(validate(good_job(), limits()).ok()) << validate(good_job(), limits()).message;
  AttentionJob d = good_job();
  d.opcode = PNM_JOB_OP_DENSE;
  d.k = 0;
  d.flags = 0;
  d.idx_addr = 0;
  EXPECT_TRUE(validate(d, limits()).ok()) << validate(d, limits()).message;
  AttentionJob p = good_job();
  p.opcode = PNM_JOB_OP_TOPK_PAGE;
  p.page_tokens = 16;
  p.k = 4;
  EXPECT_TRUE(validate(p, limits()).ok());
  AttentionJob s = good_job();
  s.opcode = PNM_JOB_OP_SELECT;
  s.flags = PNM_JOB_FLAG_WRITE_SCORES;
  EXPECT_TRUE(validate(s, limits()).ok());
  // k beyond seq_len is fine: everything is selected.
  AttentionJob big = good_job();
  big.seq_len = 10;
  big.k = 1000;
  EXPECT_TRUE(validate(big, limits()).ok());
  EXPECT_EQ(big.k_eff(), 10u);
}

struct BadCase {
  const char* what;
  JobError code;
  void (*mutate)(AttentionJob&);
};

const BadCase kBad[] = {
    {"magic", JobError::kBadMagic, [](AttentionJob& j) { j.magic = 0; }},
    {"version", JobError::kBadVersion, [](AttentionJob& j) { j.version = 2; }},
    {"size", JobError::kBadVersion, [](AttentionJob& j) { j.size_bytes = 64; }},
    {"opcode 0", JobError::kBadOpcode, [](AttentionJob& j) { j.opcode = 0; }},
    {"opcode 9", JobError::kBadOpcode, [](AttentionJob& j) { j.opcode = 9; }},
    {"precision", JobError::kBadPrecision, [](AttentionJob& j) { j.precision = 2; }},
    {"unknown flag", JobError::kBadFlags, [](AttentionJob& j) { j.flags = 0x80; }},
    {"scores flag on top-k", JobError::kBadFlags, [](AttentionJob& j) { j.flags = PNM_JOB_FLAG_WRITE_SCORES; }},
    {"reserved0", JobError::kReserved, [](AttentionJob& j) { j.reserved0 = 1; }},
    {"reserved1", JobError::kReserved, [](AttentionJob& j) { j.reserved1[15] = 1; }},
    {"zero heads", JobError::kBadHeads, [](AttentionJob& j) { j.heads = 0; }},
    {"huge heads", JobError::kBadHeads, [](AttentionJob& j) { j.heads = 256; j.kv_heads = 1; }},
    {"zero kv heads", JobError::kBadKvHeads, [](AttentionJob& j) { j.kv_heads = 0; }},
    {"kv heads not dividing", JobError::kBadKvHeads, [](AttentionJob& j) { j.kv_heads = 3; }},
    {"zero head_dim", JobError::kBadHeadDim, [](AttentionJob& j) { j.head_dim = 0; }},
    {"head_dim not lanes", JobError::kBadHeadDim, [](AttentionJob& j) { j.head_dim = 40; }},
    {"huge head_dim", JobError::kBadHeadDim, [](AttentionJob& j) { j.head_dim = 512; }},
    {"zero seq_len", JobError::kBadSeqLen, [](AttentionJob& j) { j.seq_len = 0; }},
    {"huge seq_len", JobError::kBadSeqLen, [](AttentionJob& j) { j.seq_len = (1u << 24) + 1; }},
    {"kv_stride below seq_len", JobError::kBadSeqLen, [](AttentionJob& j) { j.kv_stride = j.seq_len - 1; }},
    {"kv_stride huge", JobError::kBadSeqLen, [](AttentionJob& j) { j.kv_stride = (1u << 24) + 1; }},
    {"k = 0", JobError::kBadK, [](AttentionJob& j) { j.k = 0; }},
    {"dense with k", JobError::kBadK, [](AttentionJob& j) { j.opcode = PNM_JOB_OP_DENSE; j.flags = 0; }},
    {"k too large", JobError::kTopkTooLarge, [](AttentionJob& j) { j.k = 4096; j.seq_len = 5000; }},
    {"page_tokens 0", JobError::kBadPageTokens, [](AttentionJob& j) { j.opcode = PNM_JOB_OP_TOPK_PAGE; j.page_tokens = 0; }},
    {"page_tokens 24", JobError::kBadPageTokens, [](AttentionJob& j) { j.opcode = PNM_JOB_OP_TOPK_PAGE; j.page_tokens = 24; }},
    {"page_tokens huge", JobError::kBadPageTokens, [](AttentionJob& j) { j.opcode = PNM_JOB_OP_TOPK_PAGE; j.page_tokens = 1u << 17; }},
    {"page_tokens on token op", JobError::kBadPageTokens, [](AttentionJob& j) { j.page_tokens = 16; }},
    {"scale 0", JobError::kBadScale, [](AttentionJob& j) { j.scale = 0; }},
    {"scale nan", JobError::kBadScale, [](AttentionJob& j) { j.scale = std::numeric_limits<float>::quiet_NaN(); }},
    {"scale inf", JobError::kBadScale, [](AttentionJob& j) { j.scale = std::numeric_limits<float>::infinity(); }},
    {"int8 v_scale", JobError::kBadScale, [](AttentionJob& j) { j.precision = PNM_JOB_PREC_INT8; j.v_scale = -1; }},
    {"misaligned Q", JobError::kMisaligned, [](AttentionJob& j) { j.q_addr += 8; }},
    {"misaligned K", JobError::kMisaligned, [](AttentionJob& j) { j.k_addr += 32; }},
    {"misaligned O", JobError::kMisaligned, [](AttentionJob& j) { j.o_addr += 4; }},
    {"misaligned idx", JobError::kMisaligned, [](AttentionJob& j) { j.idx_addr += 1; }},
    {"K beyond memory", JobError::kOutOfRange, [](AttentionJob& j) { j.k_addr = kCap - 64; }},
    {"V far beyond", JobError::kOutOfRange, [](AttentionJob& j) { j.v_addr = ~uint64_t{63}; }},
    {"O beyond", JobError::kOutOfRange, [](AttentionJob& j) { j.o_addr = kCap; }},
    {"O over K", JobError::kOverlap, [](AttentionJob& j) { j.o_addr = j.k_addr + 4096; }},
    {"idx over V", JobError::kOverlap, [](AttentionJob& j) { j.idx_addr = j.v_addr; }},
    {"idx over O", JobError::kOverlap, [](AttentionJob& j) { j.idx_addr = j.o_addr + 64; }},
};

TEST(EngineJob, EachBadFieldGivesItsCode) {
  for (const BadCase& c : kBad) {
    AttentionJob j = good_job();
    c.mutate(j);
    const JobCheck r = validate(j, limits());
    EXPECT_EQ(r.code, c.code) << c.what << ": got " << error_name(r.code) << " (" << r.message << ")";
    EXPECT_FALSE(r.message.empty()) << c.what;
  }
}

TEST(EngineJob, UnusedAddressesAreIgnored) {
  AttentionJob s = good_job();
  s.opcode = PNM_JOB_OP_SELECT;
  s.flags = 0;      // no scores: O unused
  s.o_addr = 13;    // garbage, not checked
  s.v_addr = 7;     // SELECT reads no V
  EXPECT_TRUE(validate(s, limits()).ok()) << validate(s, limits()).message;
}

TEST(EngineJob, EngineRejectsBadJobsWithoutTimeOrMemory) {
  Rig rig;
  ASSERT_EQ(rig.dram.capacity_bytes(), kCap);
  const size_t pages0 = rig.store.allocated_pages();
  for (const BadCase& c : kBad) {
    AttentionJob j = good_job();
    c.mutate(j);
    for (Mode m : {Mode::functional, Mode::timing_only}) {
      const JobResult r = rig.engine.run(j, 1000, m);
      EXPECT_EQ(r.error, c.code) << c.what;
      EXPECT_EQ(r.end_dram_cycle, 1000u) << c.what;
      EXPECT_EQ(r.counters.dram_bytes_read, 0u) << c.what;
    }
  }
  // Out of range against the real device (64 GiB).
  AttentionJob j = good_job();
  j.k_addr = rig.dram.capacity_bytes() - 4096;
  EXPECT_EQ(rig.engine.run(j, 0, Mode::functional).error, JobError::kOutOfRange);
  EXPECT_EQ(rig.store.allocated_pages(), pages0);
  EXPECT_EQ(rig.engine.jobs_done(), 0u);
  EXPECT_GT(rig.engine.jobs_failed(), 0u);
}

} // namespace
