// firmware/lib/ring.c built natively (pnm_fw_native): the same C source the
// firmware runs.
#include <gtest/gtest.h>

#include "pnm_ring.h"

namespace {

TEST(firmwareRing, InitRejectsBadSizes) {
  pnm_ring_t r;
  EXPECT_EQ(pnm_ring_init(&r, 0), -1);
  EXPECT_EQ(pnm_ring_init(&r, 1), -1);
  EXPECT_EQ(pnm_ring_init(&r, PNM_RING_MAX_ENTRIES + 1), -1);
  EXPECT_EQ(pnm_ring_init(&r, 2), 0);
  EXPECT_EQ(pnm_ring_init(&r, PNM_RING_MAX_ENTRIES), 0);
}

TEST(firmwareRing, EmptyFullAndOneSlotKeptFree) {
  pnm_ring_t r;
  ASSERT_EQ(pnm_ring_init(&r, 4), 0);
  EXPECT_TRUE(pnm_ring_empty(&r));
  EXPECT_FALSE(pnm_ring_full(&r));
  EXPECT_EQ(pnm_ring_space(&r), 3u);
  EXPECT_EQ(pnm_ring_consume(&r), -1);
  EXPECT_EQ(pnm_ring_produce(&r), 0);
  EXPECT_EQ(pnm_ring_produce(&r), 1);
  EXPECT_EQ(pnm_ring_produce(&r), 2);
  EXPECT_TRUE(pnm_ring_full(&r));
  EXPECT_EQ(pnm_ring_used(&r), 3u);
  EXPECT_EQ(pnm_ring_produce(&r), -1) << "the last slot stays free";
}

TEST(firmwareRing, IndicesWrap) {
  pnm_ring_t r;
  ASSERT_EQ(pnm_ring_init(&r, 3), 0);
  for (int round = 0; round < 10; ++round) {
    const int32_t slot = pnm_ring_produce(&r);
    ASSERT_EQ(slot, round % 3);
    EXPECT_EQ(pnm_ring_consume(&r), slot);
    EXPECT_TRUE(pnm_ring_empty(&r));
  }
  EXPECT_EQ(pnm_ring_next(&r, 2), 0u);
}

TEST(firmwareRing, TailDoorbellAcceptsOnlyValidMoves) {
  pnm_ring_t r;
  ASSERT_EQ(pnm_ring_init(&r, 8), 0);
  EXPECT_EQ(pnm_ring_set_tail(&r, 8), -1) << "outside the ring";
  EXPECT_EQ(pnm_ring_set_tail(&r, 5), 0);
  EXPECT_EQ(pnm_ring_used(&r), 5u);
  EXPECT_EQ(pnm_ring_set_tail(&r, 5), 0) << "same value: no-op";
  EXPECT_EQ(pnm_ring_set_tail(&r, 0), -1) << "would make the ring look full+1 (overrun)";
  EXPECT_EQ(pnm_ring_set_tail(&r, 7), 0) << "fills it";
  EXPECT_TRUE(pnm_ring_full(&r));
  EXPECT_EQ(pnm_ring_set_tail(&r, 0), -1);
  // consume three, then the producer may wrap around
  ASSERT_EQ(pnm_ring_set_head(&r, 3), 0);
  EXPECT_EQ(pnm_ring_set_tail(&r, 2), 0);
  EXPECT_TRUE(pnm_ring_full(&r));
  EXPECT_EQ(pnm_ring_used(&r), 7u);
}

TEST(firmwareRing, HeadDoorbellCannotPassTail) {
  pnm_ring_t r;
  ASSERT_EQ(pnm_ring_init(&r, 8), 0);
  ASSERT_EQ(pnm_ring_set_tail(&r, 3), 0);
  EXPECT_EQ(pnm_ring_set_head(&r, 4), -1);
  EXPECT_EQ(pnm_ring_set_head(&r, 9), -1);
  EXPECT_EQ(pnm_ring_set_head(&r, 3), 0);
  EXPECT_TRUE(pnm_ring_empty(&r));
}

TEST(firmwareRing, CompletionPhaseFlipsOnWrap) {
  pnm_cq_t cq;
  ASSERT_EQ(pnm_cq_init(&cq, 3), 0);
  uint32_t phase = 0;
  EXPECT_EQ(pnm_cq_post(&cq, &phase), 0);
  EXPECT_EQ(phase, 1u);
  EXPECT_EQ(pnm_cq_post(&cq, &phase), 1);
  EXPECT_EQ(phase, 1u);
  EXPECT_EQ(pnm_cq_post(&cq, &phase), -1) << "host has not consumed";
  ASSERT_EQ(pnm_ring_set_head(&cq.ring, 2), 0); // host consumed both
  EXPECT_EQ(pnm_cq_post(&cq, &phase), 2);
  EXPECT_EQ(phase, 1u) << "last slot of the first pass";
  EXPECT_EQ(pnm_cq_post(&cq, &phase), 0);
  EXPECT_EQ(phase, 0u) << "second pass writes the inverted phase";
}

} // namespace
