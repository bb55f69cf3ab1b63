// Job submission formats and the firmware's isolation check (lib/jobs.c),
// built natively. Region sizes must agree with the engine model's own
// (models/pnm/attention_job.h): the check guards exactly what the engine touches.
#include "pnm/attention_job.h"
#include "pnm_jobs.h"
#include "pnm_tenants.h"

#include <gtest/gtest.h>

#include <random>

namespace {
using pnm::engine::AttentionJob;

AttentionJob base_job(uint8_t op) {
  AttentionJob j;
  j.opcode = op;
  j.precision = PNM_JOB_PREC_BF16;
  j.heads = 8;
  j.kv_heads = 2;
  j.head_dim = 64;
  j.seq_len = 1000;
  j.k = op == PNM_JOB_OP_DENSE ? 0 : 16;
  j.page_tokens = op == PNM_JOB_OP_TOPK_PAGE ? 32 : 0;
  j.scale = 0.125f;
  j.q_addr = 0x1000;
  j.k_addr = 0x10000;
  j.v_addr = 0x100000;
  j.o_addr = 0x200000;
  j.idx_addr = 0x300000;
  return j;
}
} // namespace

TEST(Jobs, SqeAndCqeRoundTripAtTheDocumentedOffsets) {
  pnm_sqe s{PNM_SQE_OP_ATTENTION, PNM_SQE_FLAG_IRQ, 0xBEEF, 0x123456789ABCDEC0ull};
  uint8_t raw[PNM_SQ_ENTRY_BYTES];
  pnm_sqe_encode(&s, raw);
  EXPECT_EQ(raw[0], 0x01);
  EXPECT_EQ(raw[1], 0x01);
  EXPECT_EQ(raw[2], 0xEF);
  EXPECT_EQ(raw[3], 0xBE);
  EXPECT_EQ(raw[8], 0xC0);
  EXPECT_EQ(raw[15], 0x12);
  pnm_sqe back{};
  EXPECT_EQ(pnm_sqe_decode(raw, &back), PNM_CQ_ST_SUCCESS);
  EXPECT_EQ(back.cid, 0xBEEF);
  EXPECT_EQ(back.desc_dpa, s.desc_dpa);
  raw[0x3F] = 1;
  EXPECT_EQ(pnm_sqe_decode(raw, &back), PNM_CQ_ST_BAD_SQE);
  raw[0x3F] = 0;
  raw[1] = 0x80; // unknown flag
  EXPECT_EQ(pnm_sqe_decode(raw, &back), PNM_CQ_ST_BAD_SQE);
  raw[1] = 0;
  raw[0] = 2; // unknown opcode
  EXPECT_EQ(pnm_sqe_decode(raw, &back), PNM_CQ_ST_BAD_SQE);

  pnm_cqe c{7, 3, PNM_CQ_ST_ACCESS_DENIED, 1, 0xA0B0C0D0u, 42};
  uint8_t rc[PNM_CQ_ENTRY_BYTES];
  pnm_cqe_encode(&c, rc);
  EXPECT_EQ(rc[4], 0x01);
  EXPECT_EQ(rc[5], 0x01);
  EXPECT_EQ(rc[6], 0x01);
  EXPECT_EQ(rc[8], 0xD0);
  pnm_cqe cb{};
  pnm_cqe_decode(rc, &cb);
  EXPECT_EQ(cb.cid, 7);
  EXPECT_EQ(cb.sq_head, 3);
  EXPECT_EQ(cb.status, PNM_CQ_ST_ACCESS_DENIED);
  EXPECT_EQ(cb.phase, 1);
  EXPECT_EQ(cb.cycles, 0xA0B0C0D0u);
  EXPECT_EQ(cb.lines_read, 42u);
}

TEST(Jobs, RegionSizesAgreeWithTheEngineModelForEveryOpcodeAndFlag) {
  std::mt19937 rng(3);
  for (uint8_t op :
       {PNM_JOB_OP_DENSE, PNM_JOB_OP_TOPK_TOKEN, PNM_JOB_OP_TOPK_PAGE, PNM_JOB_OP_SELECT, PNM_JOB_OP_MERGE})
    for (uint16_t flags = 0; flags <= PNM_JOB_FLAGS_KNOWN; ++flags)
      for (int trial = 0; trial < 20; ++trial) {
        AttentionJob j = base_job(op);
        const bool merge_or_dense = op == PNM_JOB_OP_DENSE || op == PNM_JOB_OP_MERGE;
        if ((merge_or_dense && (flags & 3)) ||
            ((op == PNM_JOB_OP_TOPK_TOKEN || op == PNM_JOB_OP_TOPK_PAGE) && (flags & 2)) ||
            (op == PNM_JOB_OP_SELECT && (flags & 0xD)))
          continue; // flags the opcode does not take: the engine rejects them
        if (op == PNM_JOB_OP_MERGE) j.k = 2 + rng() % 15;
        j.flags = flags;
        j.precision = rng() % 2 ? PNM_JOB_PREC_INT8 : PNM_JOB_PREC_BF16;
        j.v_scale = 0.5f;
        j.kv_heads = 1u << (rng() % 3);
        j.heads = j.kv_heads * (1 + rng() % 4);
        j.seq_len = 1 + rng() % 5000;
        if (rng() % 2) j.kv_stride = j.seq_len + rng() % 3000; // KV reserved to grow in place
        if (op == PNM_JOB_OP_SELECT && rng() % 2) j.page_tokens = 16;
        const auto bytes = pnm::engine::encode(j);
        uint64_t addr[PNM_REGION_COUNT], len[PNM_REGION_COUNT];
        ASSERT_EQ(pnm_job_regions(bytes.data(), addr, len), PNM_JOB_ERR_OK);
        EXPECT_EQ(len[PNM_REGION_Q], j.q_bytes());
        if (op == PNM_JOB_OP_MERGE) { // the flag lines, read by the firmware's barrier
          EXPECT_EQ(len[PNM_REGION_K], j.flag_bytes());
          EXPECT_EQ(addr[PNM_REGION_K], j.idx_addr);
          EXPECT_EQ(len[PNM_REGION_O], j.o_bytes());
          continue;
        }
        EXPECT_EQ(len[PNM_REGION_K], j.kv_bytes());
        EXPECT_EQ(len[PNM_REGION_V], j.reads_v() ? j.kv_bytes() : 0u);
        EXPECT_EQ(len[PNM_REGION_O], j.o_bytes()) << "op " << int(op) << " flags " << flags;
        EXPECT_EQ(len[PNM_REGION_IDX], j.idx_bytes()) << "op " << int(op) << " flags " << flags;
        EXPECT_EQ(addr[PNM_REGION_K], j.k_addr);
      }
}

TEST(Jobs, ShapeErrorsAreTheEnginesCodes) {
  auto regions = [](AttentionJob j) {
    const auto b = pnm::engine::encode(j);
    uint64_t a[PNM_REGION_COUNT], l[PNM_REGION_COUNT];
    return pnm_job_regions(b.data(), a, l);
  };
  AttentionJob j = base_job(PNM_JOB_OP_DENSE);
  j.magic = 0;
  EXPECT_EQ(regions(j), PNM_JOB_ERR_BAD_MAGIC);
  j = base_job(PNM_JOB_OP_DENSE);
  j.heads = 0;
  EXPECT_EQ(regions(j), PNM_JOB_ERR_BAD_HEADS);
  j = base_job(PNM_JOB_OP_DENSE);
  j.kv_heads = 3;
  EXPECT_EQ(regions(j), PNM_JOB_ERR_BAD_KV_HEADS);
  j = base_job(PNM_JOB_OP_DENSE);
  j.seq_len = (1u << 24) + 1;
  EXPECT_EQ(regions(j), PNM_JOB_ERR_BAD_SEQ_LEN);
  j = base_job(PNM_JOB_OP_DENSE);
  j.kv_stride = j.seq_len - 1;
  EXPECT_EQ(regions(j), PNM_JOB_ERR_BAD_SEQ_LEN);
  j = base_job(PNM_JOB_OP_TOPK_PAGE);
  j.page_tokens = 24;
  EXPECT_EQ(regions(j), PNM_JOB_ERR_BAD_PAGE_TOKENS);
  j = base_job(PNM_JOB_OP_DENSE);
  j.opcode = 9;
  EXPECT_EQ(regions(j), PNM_JOB_ERR_BAD_OPCODE);
}

TEST(Jobs, IsolationCheckRefusesAnyRegionOutsideTheQueuesTenant) {
  pnm_tenants t;
  pnm_tenants_init(&t, 64ull << 20);
  ASSERT_EQ(pnm_tenant_create(&t, 1, 0, 8u << 20), PNM_TENANT_OK);
  ASSERT_EQ(pnm_tenant_create(&t, 2, 8u << 20, 8u << 20), PNM_TENANT_OK);
  uint16_t qa = 0, qb = 0;
  ASSERT_EQ(pnm_queue_create(&t, 1, 0x0, 0x1000, 16, &qa), PNM_TENANT_OK);
  ASSERT_EQ(pnm_queue_create(&t, 2, 8u << 20, (8u << 20) + 0x1000, 16, &qb), PNM_TENANT_OK);
  AttentionJob j = base_job(PNM_JOB_OP_TOPK_TOKEN);
  j.flags = PNM_JOB_FLAG_WRITE_INDICES;
  j.heads = 4;
  j.seq_len = 512;
  j.q_addr = 0x10000;
  j.k_addr = 0x20000;
  j.v_addr = 0x80000;
  j.o_addr = 0x100000;
  j.idx_addr = 0x110000;
  auto check = [&](const AttentionJob& x, uint16_t q, unsigned* bad) {
    const auto b = pnm::engine::encode(x);
    return pnm_job_check(&t, q, b.data(), bad);
  };
  unsigned bad = 99;
  EXPECT_EQ(check(j, qa, &bad), PNM_CQ_ST_SUCCESS);
  EXPECT_EQ(check(j, qb, &bad), PNM_CQ_ST_ACCESS_DENIED); // all of it is tenant 1's
  EXPECT_EQ(bad, unsigned(PNM_REGION_Q));
  // Each region alone straddling or leaving tenant 1 is refused, by name.
  const uint64_t edge = (8u << 20) - 64; // last line of tenant 1
  for (unsigned r = 0; r < PNM_REGION_COUNT; ++r) {
    AttentionJob x = j;
    uint64_t* field[] = {&x.q_addr, &x.k_addr, &x.v_addr, &x.o_addr, &x.idx_addr};
    *field[r] = edge;
    bad = 99;
    EXPECT_EQ(check(x, qa, &bad), PNM_CQ_ST_ACCESS_DENIED) << pnm_job_region_name(r);
    EXPECT_EQ(bad, r);
  }
  // An address near 2^64 must not wrap into the tenant.
  AttentionJob w = j;
  w.k_addr = ~uint64_t{0} - 63;
  EXPECT_EQ(check(w, qa, &bad), PNM_CQ_ST_ACCESS_DENIED);
  EXPECT_EQ(bad, unsigned(PNM_REGION_K));
}
