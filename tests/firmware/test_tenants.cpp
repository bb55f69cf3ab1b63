// firmware/lib/tenants.c built natively: the tenant / queue-pair tables and
// the ownership check job processing relies on (a tenant can never make the
// engine touch another tenant's memory), with its range edge cases.
#include <gtest/gtest.h>

#include <cstdint>
#include <memory>

#include "pnm_tenants.h"

namespace {

constexpr uint64_t MiB = 1ull << 20;
constexpr uint64_t kMax = ~0ull;

struct Tables {
  std::unique_ptr<pnm_tenants> t{new pnm_tenants()};
  explicit Tables(uint64_t capacity = 1ull << 32) { pnm_tenants_init(t.get(), capacity); }
};

TEST(firmwareTenants, RangeOverlapIsOverflowSafe) {
  EXPECT_TRUE(pnm_range_overlaps(0, 10, 5, 10));
  EXPECT_TRUE(pnm_range_overlaps(5, 10, 0, 10));
  EXPECT_TRUE(pnm_range_overlaps(0, 10, 9, 1));
  EXPECT_FALSE(pnm_range_overlaps(0, 10, 10, 1)) << "adjacent";
  EXPECT_FALSE(pnm_range_overlaps(10, 1, 0, 10)) << "adjacent";
  EXPECT_FALSE(pnm_range_overlaps(0, 0, 0, 10)) << "empty";
  EXPECT_FALSE(pnm_range_overlaps(0, 10, 5, 0)) << "empty";
  EXPECT_TRUE(pnm_range_overlaps(0, kMax, kMax - 1, 1));
  // a range reaching past 2^64 extends to 2^64 and does not wrap to 0
  EXPECT_FALSE(pnm_range_overlaps(kMax - 1, 10, 0, 5));
  EXPECT_FALSE(pnm_range_overlaps(0, 5, kMax - 1, 10));
  EXPECT_TRUE(pnm_range_overlaps(kMax - 1, 10, kMax, 1));
  EXPECT_TRUE(pnm_range_overlaps(kMax, kMax, kMax, kMax));
}

TEST(firmwareTenants, RangeWithinIsOverflowSafe) {
  EXPECT_TRUE(pnm_range_within(100, 50, 100, 50));
  EXPECT_TRUE(pnm_range_within(100, 50, 149, 1));
  EXPECT_FALSE(pnm_range_within(100, 50, 149, 2));
  EXPECT_FALSE(pnm_range_within(100, 50, 150, 1));
  EXPECT_FALSE(pnm_range_within(100, 50, 99, 1));
  EXPECT_FALSE(pnm_range_within(100, 50, 100, 0)) << "empty is never inside";
  EXPECT_FALSE(pnm_range_within(100, 50, 120, kMax)) << "120 + 2^64-1 wraps to 119";
  EXPECT_FALSE(pnm_range_within(100, 50, kMax, 2)) << "wraps to 0";
  EXPECT_TRUE(pnm_range_within(0, kMax, kMax - 1, 1));
}

TEST(firmwareTenants, OwnershipEdges) {
  Tables s;
  ASSERT_EQ(pnm_tenant_create(s.t.get(), 1, 4 * MiB, 4 * MiB), PNM_TENANT_OK);
  ASSERT_EQ(pnm_tenant_create(s.t.get(), 2, 8 * MiB, 2 * MiB), PNM_TENANT_OK);
  const pnm_tenants* t = s.t.get();
  EXPECT_TRUE(pnm_tenant_owns(t, 1, 4 * MiB, 4 * MiB)) << "whole range";
  EXPECT_TRUE(pnm_tenant_owns(t, 1, 8 * MiB - 1, 1)) << "last byte";
  EXPECT_FALSE(pnm_tenant_owns(t, 1, 8 * MiB - 1, 2)) << "one byte into tenant 2";
  EXPECT_FALSE(pnm_tenant_owns(t, 1, 8 * MiB, 1)) << "tenant 2's first byte";
  EXPECT_FALSE(pnm_tenant_owns(t, 1, 4 * MiB - 1, 1)) << "just below";
  EXPECT_FALSE(pnm_tenant_owns(t, 1, 4 * MiB - 64, 128)) << "straddles the start";
  EXPECT_FALSE(pnm_tenant_owns(t, 1, 4 * MiB, 0)) << "zero length";
  EXPECT_FALSE(pnm_tenant_owns(t, 1, 5 * MiB, kMax)) << "dpa + len wraps into range";
  EXPECT_FALSE(pnm_tenant_owns(t, 1, kMax - 15, 4 * MiB + 16)) << "wraps to the base";
  EXPECT_FALSE(pnm_tenant_owns(t, 1, kMax, 1));
  EXPECT_TRUE(pnm_tenant_owns(t, 2, 8 * MiB, 2 * MiB));
  EXPECT_FALSE(pnm_tenant_owns(t, 2, 4 * MiB, 64)) << "tenant 1's memory";
  EXPECT_FALSE(pnm_tenant_owns(t, 3, 4 * MiB, 64)) << "no such tenant";
  EXPECT_FALSE(pnm_tenant_owns(t, PNM_TENANT_ID_INVALID, 4 * MiB, 64));
  ASSERT_EQ(pnm_tenant_destroy(s.t.get(), 1), PNM_TENANT_OK);
  EXPECT_FALSE(pnm_tenant_owns(t, 1, 4 * MiB, 64)) << "destroyed";
}

TEST(firmwareTenants, OwnershipAtTheTopOfTheAddressSpace) {
  // a device whose DPA space ends just below 2^64
  const uint64_t cap = kMax & ~(2 * MiB - 1);
  Tables s(cap);
  const uint64_t base = cap - 2 * MiB;
  ASSERT_EQ(pnm_tenant_create(s.t.get(), 9, base, 2 * MiB), PNM_TENANT_OK);
  EXPECT_EQ(pnm_tenant_create(s.t.get(), 10, cap, 2 * MiB), PNM_TENANT_ERANGE);
  EXPECT_TRUE(pnm_tenant_owns(s.t.get(), 9, cap - 1, 1));
  EXPECT_FALSE(pnm_tenant_owns(s.t.get(), 9, cap - 1, 2));
  EXPECT_FALSE(pnm_tenant_owns(s.t.get(), 9, base, kMax)) << "base + len wraps";
  EXPECT_FALSE(pnm_tenant_owns(s.t.get(), 9, cap - 64, kMax - 10)) << "wraps below base";
}

TEST(firmwareTenants, CreateValidation) {
  Tables s(64 * MiB);
  pnm_tenants* t = s.t.get();
  EXPECT_EQ(pnm_tenant_create(t, 1, 0, 0), PNM_TENANT_EINVAL);
  EXPECT_EQ(pnm_tenant_create(t, 1, 1, 2 * MiB), PNM_TENANT_EINVAL);
  EXPECT_EQ(pnm_tenant_create(t, 1, 0, 2 * MiB + 4096), PNM_TENANT_EINVAL);
  EXPECT_EQ(pnm_tenant_create(t, PNM_TENANT_ID_INVALID, 0, 2 * MiB), PNM_TENANT_EINVAL);
  EXPECT_EQ(pnm_tenant_create(t, 1, 64 * MiB, 2 * MiB), PNM_TENANT_ERANGE);
  EXPECT_EQ(pnm_tenant_create(t, 1, 0, 66 * MiB), PNM_TENANT_ERANGE);
  EXPECT_EQ(pnm_tenant_create(t, 1, 0, 64 * MiB), PNM_TENANT_OK) << "the whole device";
  EXPECT_EQ(pnm_tenant_create(t, 1, 0, 2 * MiB), PNM_TENANT_EEXIST);
  EXPECT_EQ(pnm_tenant_create(t, 2, 62 * MiB, 2 * MiB), PNM_TENANT_EOVERLAP);
  EXPECT_EQ(pnm_tenant_count(t), 1u);
  EXPECT_EQ(pnm_tenant_destroy(t, 2), PNM_TENANT_ENOENT);
  EXPECT_EQ(pnm_tenant_destroy(t, PNM_TENANT_ID_INVALID), PNM_TENANT_ENOENT);
}

TEST(firmwareTenants, TableFullAndSlotReuse) {
  Tables s;
  pnm_tenants* t = s.t.get();
  for (uint16_t i = 0; i < PNM_TENANTS_MAX; ++i) {
    ASSERT_EQ(pnm_tenant_create(t, uint16_t(100 + i), i * 2 * MiB, 2 * MiB), PNM_TENANT_OK);
  }
  EXPECT_EQ(pnm_tenant_create(t, 1, 1024 * MiB, 2 * MiB), PNM_TENANT_EFULL);
  EXPECT_EQ(pnm_tenant_create(t, 1, 0, 2 * MiB), PNM_TENANT_EOVERLAP)
      << "overlap is reported before fullness";
  ASSERT_EQ(pnm_tenant_destroy(t, 105), PNM_TENANT_OK);
  EXPECT_EQ(pnm_tenant_create(t, 1, 10 * MiB, 2 * MiB), PNM_TENANT_OK)
      << "the freed range and slot";
  ASSERT_NE(pnm_tenant_find(t, 1), nullptr);
  EXPECT_EQ(pnm_tenant_find(t, 1)->base, 10 * MiB);
}

TEST(firmwareTenants, QueuesStayInsideTheirTenant) {
  Tables s;
  pnm_tenants* t = s.t.get();
  ASSERT_EQ(pnm_tenant_create(t, 1, 0, 2 * MiB), PNM_TENANT_OK);
  ASSERT_EQ(pnm_tenant_create(t, 2, 2 * MiB, 2 * MiB), PNM_TENANT_OK);
  uint16_t q0 = 0xAAAA, q1 = 0xAAAA;
  ASSERT_EQ(pnm_queue_create(t, 1, 0, 64 * 1024, 1024, &q0), PNM_TENANT_OK);
  ASSERT_EQ(pnm_queue_create(t, 2, 2 * MiB, 2 * MiB + 4096, 16, &q1), PNM_TENANT_OK);
  EXPECT_EQ(q0, 0u);
  EXPECT_EQ(q1, 1u);
  // SQ of 1024 x 64 B ends at 64 KiB: the CQ may start right there
  uint16_t q2 = 0;
  EXPECT_EQ(pnm_queue_create(t, 1, 128 * 1024, 64 * 1024 - 64, 4, &q2), PNM_TENANT_EOVERLAP);
  EXPECT_EQ(pnm_queue_create(t, 1, 2 * MiB - 64 * 4, 96 * 1024, 4, &q2), PNM_TENANT_OK)
      << "SQ flush with the tenant's end";
  EXPECT_EQ(q2, 2u);
  EXPECT_EQ(pnm_queue_create(t, 1, 2 * MiB - 64 * 4 + 64, 200 * 1024, 4, nullptr),
            PNM_TENANT_EOVERLAP) << "one line into tenant 2";
  EXPECT_EQ(pnm_queue_create(t, 2, 0, 3 * MiB, 4, nullptr), PNM_TENANT_EOVERLAP)
      << "tenant 2 cannot place a ring in tenant 1";

  const pnm_queue* q = pnm_queue_find(t, q0);
  ASSERT_NE(q, nullptr);
  EXPECT_EQ(q->tenant, 1u);
  EXPECT_EQ(q->entries, 1024u);
  EXPECT_EQ(q->sq.entries, 1024u) << "ring state initialised";
  EXPECT_EQ(q->cq.phase, 1u);
  EXPECT_EQ(pnm_queue_sq_slot_dpa(q, 3), 3u * 64);
  EXPECT_EQ(pnm_queue_cq_slot_dpa(q, 3), 64u * 1024 + 3 * 16);
  EXPECT_EQ(pnm_queue_sq_slot_dpa(q, 1024), 0u) << "slot index wraps";
  // job-buffer checks through the queue a job came from
  EXPECT_TRUE(pnm_queue_owns(t, q0, 1 * MiB, 4096));
  EXPECT_FALSE(pnm_queue_owns(t, q0, 2 * MiB, 64)) << "tenant 2's memory";
  EXPECT_TRUE(pnm_queue_owns(t, q1, 2 * MiB, 64));
  EXPECT_FALSE(pnm_queue_owns(t, q1, 2 * MiB - 64, 128)) << "straddles into tenant 1";
  EXPECT_FALSE(pnm_queue_owns(t, 63, 0, 64)) << "unused queue";
  EXPECT_FALSE(pnm_queue_owns(t, PNM_QUEUES_MAX, 0, 64)) << "id out of table";
  EXPECT_EQ(pnm_queue_find(t, PNM_QUEUE_ID_INVALID), nullptr);

  EXPECT_EQ(pnm_tenant_find(t, 1)->queue_count, 2u);
  EXPECT_EQ(pnm_tenant_destroy(t, 1), PNM_TENANT_EBUSY);
  EXPECT_EQ(pnm_queue_destroy(t, q0), PNM_TENANT_OK);
  EXPECT_EQ(pnm_queue_destroy(t, q2), PNM_TENANT_OK);
  EXPECT_EQ(pnm_queue_destroy(t, q2), PNM_TENANT_ENOENT);
  EXPECT_EQ(pnm_tenant_destroy(t, 1), PNM_TENANT_OK);
  EXPECT_FALSE(pnm_queue_owns(t, q0, 0, 64)) << "queue gone";
}

TEST(firmwareTenants, QueueEntryLimits) {
  Tables s;
  pnm_tenants* t = s.t.get();
  ASSERT_EQ(pnm_tenant_create(t, 1, 0, 2 * MiB), PNM_TENANT_OK);
  EXPECT_EQ(pnm_queue_create(t, 1, 0, 1 * MiB, 2, nullptr), PNM_TENANT_OK) << "minimum";
  EXPECT_EQ(pnm_queue_create(t, 1, 512 * 1024, 1 * MiB + 4096, 4096, nullptr), PNM_TENANT_OK)
      << "maximum: 256 KiB SQ, 64 KiB CQ";
  for (uint32_t bad : {0u, 1u, 6u, 8192u, 0x80000000u, 0xFFFFFFFFu}) {
    EXPECT_EQ(pnm_queue_create(t, 1, 0, 1 * MiB, bad, nullptr), PNM_TENANT_EINVAL) << bad;
  }
  EXPECT_EQ(pnm_queue_create(t, 7, 0, 1 * MiB, 2, nullptr), PNM_TENANT_ENOENT);
}

} // namespace
