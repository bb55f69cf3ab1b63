// Interrupt controller registers on their own (no core).
#include <gtest/gtest.h>

#include <stdexcept>

#include "cpu/int_controller.h"

namespace pnm::cpu {
namespace {

TEST(cpuIntc, ClaimReturnsLowestPendingEnabledLineAndClearsIt) {
  IntController ic;
  uint32_t v = 0;
  ic.raise(3);
  ic.raise(1);
  EXPECT_FALSE(ic.asserted()) << "nothing enabled";
  ASSERT_TRUE(ic.read(PNM_INTC_CLAIM_OFF, v));
  EXPECT_EQ(v, PNM_INTC_CLAIM_NONE);
  ASSERT_TRUE(ic.write(PNM_INTC_ENABLE_OFF, (1u << 3) | (1u << 1)));
  EXPECT_TRUE(ic.asserted());
  ASSERT_TRUE(ic.read(PNM_INTC_CLAIM_OFF, v));
  EXPECT_EQ(v, 1u);
  ASSERT_TRUE(ic.read(PNM_INTC_CLAIM_OFF, v));
  EXPECT_EQ(v, 3u);
  ASSERT_TRUE(ic.read(PNM_INTC_CLAIM_OFF, v));
  EXPECT_EQ(v, PNM_INTC_CLAIM_NONE);
  EXPECT_FALSE(ic.asserted());
  EXPECT_EQ(ic.raised(1), 1u);
}

TEST(cpuIntc, SoftwareSetAndClearPending) {
  IntController ic;
  uint32_t v = 0;
  ASSERT_TRUE(ic.write(PNM_INTC_SET_PENDING_OFF, 0x81));
  ASSERT_TRUE(ic.read(PNM_INTC_PENDING_OFF, v));
  EXPECT_EQ(v, 0x81u);
  ASSERT_TRUE(ic.write(PNM_INTC_CLR_PENDING_OFF, 0x01));
  ASSERT_TRUE(ic.read(PNM_INTC_PENDING_OFF, v));
  EXPECT_EQ(v, 0x80u);
  ASSERT_TRUE(ic.write(PNM_INTC_PENDING_OFF, 0xFFFFFFFF)) << "read-only, ignored";
  EXPECT_EQ(ic.pending(), 0x80u);
}

TEST(cpuIntc, RejectsUnknownOffsetsAndLines) {
  IntController ic;
  uint32_t v = 0;
  EXPECT_FALSE(ic.read(0x40, v));
  EXPECT_FALSE(ic.write(0x40, 1));
  EXPECT_THROW(ic.raise(PNM_INTC_LINE_COUNT), std::out_of_range);
}

} // namespace
} // namespace pnm::cpu
