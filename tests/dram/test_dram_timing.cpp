// Hand-worked DDR5 timing: every test states the cycle a command or the data
// must land on, from the memspec's own parameters, and most check that the
// gate is tight (the command is not one cycle later than the rule allows).
#include "dram_test_util.h"

#include <gtest/gtest.h>

using namespace pnm::dram;
using namespace pnm::dram::test;

namespace {
const char* k3200 = "JEDEC_DDR5-3200AN_16Gb_x8.json";
const char* k4800 = "JEDEC_DDR5-4800AN_16Gb_x8.json";
} // namespace

TEST(DramTiming, RowMissOnClosedBank) {
  Harness h(k3200);
  const auto& T = h.spec.timing;
  h.req(1, false, 0, 0, 5);
  h.ch->drain();
  EXPECT_EQ(h.rec.at(Command::ACT), 0u);
  EXPECT_EQ(h.rec.at(Command::RD), T.tRCD);
  EXPECT_EQ(h.done_of(1), T.tRCD + T.CL + T.nBL); // 24 + 24 + 8 = 56 at DDR5-3200AN
  EXPECT_EQ(h.done_of(1), 56u);
  EXPECT_EQ(h.ch->counters().row_misses, 1u);
}

TEST(DramTiming, RowHitSameBankGroupWaitsTccdL) {
  Harness h(k4800); // tCCD_L (12) differs from tCCD_S (8) here
  const auto& T = h.spec.timing;
  h.req(1, false, 0, 0, 5, 0);
  h.req(2, false, 0, 0, 5, 1);
  h.ch->drain();
  EXPECT_EQ(h.rec.at(Command::RD, 1), T.tRCD + T.tCCD_L);
  EXPECT_EQ(h.done_of(2), T.tRCD + T.tCCD_L + T.CL + T.nBL);
  EXPECT_EQ(h.ch->counters().row_hits, 1u);
  EXPECT_EQ(h.ch->counters().row_misses, 1u);
}

TEST(DramTiming, ReadsToDifferentBankGroupsWaitTccdS) {
  Harness h(k4800);
  const auto& T = h.spec.timing;
  h.req(1, false, 0, 0, 5);
  h.req(2, false, 1, 0, 5);
  h.ch->drain();
  // ACTs at 0 and tRRD_S; RDs at tRCD and tRRD_S + tRCD (>= tRCD + tCCD_S).
  EXPECT_EQ(h.rec.at(Command::ACT, 1), T.tRRD_S);
  EXPECT_EQ(h.rec.at(Command::RD, 1), std::max(T.tRRD_S + T.tRCD, T.tRCD + T.tCCD_S));
}

TEST(DramTiming, ActivatesInOneBankGroupWaitTrrdL) {
  Harness h(k4800); // tRRD_L 12 vs tRRD_S 8
  const auto& T = h.spec.timing;
  h.req(1, false, 0, 0, 5);
  h.req(2, false, 0, 1, 5);
  h.ch->drain();
  EXPECT_EQ(h.rec.at(Command::ACT, 1), T.tRRD_L);
}

TEST(DramTiming, RowConflictPrechargesThenActivates) {
  Harness h(k3200);
  const auto& T = h.spec.timing;
  h.req(1, false, 0, 0, 5);
  h.req(2, false, 0, 0, 9);
  h.ch->drain();
  const Cycle rd1 = T.tRCD;
  const Cycle pre = std::max(T.tRAS, rd1 + T.tRTP); // 52 at 3200AN
  EXPECT_EQ(h.rec.at(Command::PRE), pre);
  const Cycle act2 = std::max(pre + T.tRP, T.tRC); // 76
  EXPECT_EQ(h.rec.at(Command::ACT, 1), act2);
  EXPECT_EQ(h.done_of(2), act2 + T.tRCD + T.CL + T.nBL);
  EXPECT_EQ(h.ch->counters().row_conflicts, 1u);
}

TEST(DramTiming, FourActivateWindowIsTight) {
  Harness h(k4800); // tFAW 49 > 4 x tRRD_S (32): the fifth ACT waits for tFAW
  const auto& T = h.spec.timing;
  ASSERT_GT(T.tFAW, 4 * T.tRRD_S);
  for (uint32_t i = 0; i < 5; ++i) h.req(i, false, i, 0, 5);
  h.ch->drain();
  for (int i = 0; i < 4; ++i) EXPECT_EQ(h.rec.at(Command::ACT, i), i * T.tRRD_S) << i;
  EXPECT_EQ(h.rec.at(Command::ACT, 4), T.tFAW); // not 4*tRRD_S, not tFAW+1
}

TEST(DramTiming, WriteToReadTurnaroundDifferentBankGroup) {
  Harness h(k3200);
  h.cfg.write_low_watermark = 0; // finish the write drain before serving reads
  h.build();
  const auto& T = h.spec.timing;
  h.req(1, true, 0, 0, 5);
  h.ch->advance_to(1);
  h.req(2, false, 1, 0, 5);
  h.ch->drain();
  const Cycle wr = h.rec.at(Command::WR);
  EXPECT_EQ(wr, T.tRCD);
  const Cycle act_b = h.rec.at(Command::ACT, 1);
  EXPECT_EQ(h.rec.at(Command::RD), std::max(act_b + T.tRCD, wr + T.CWL + T.nBL + T.tWTR_S));
  EXPECT_EQ(h.rec.at(Command::RD), 60u); // 24 + 22 + 8 + 6
  EXPECT_EQ(h.done_of(1), wr + T.CWL + T.nBL);
}

TEST(DramTiming, WriteToReadTurnaroundSameBankGroup) {
  Harness h(k3200);
  h.cfg.write_low_watermark = 0;
  h.build();
  const auto& T = h.spec.timing;
  h.req(1, true, 0, 0, 5);
  h.ch->advance_to(1);
  h.req(2, false, 0, 1, 5);
  h.ch->drain();
  const Cycle wr = h.rec.at(Command::WR);
  EXPECT_EQ(h.rec.at(Command::RD), wr + T.CWL + T.nBL + T.tWTR_L); // 24 + 22 + 8 + 16 = 70
  EXPECT_EQ(h.rec.at(Command::RD), 70u);
}

TEST(DramTiming, ReadToWriteTurnaround) {
  Harness h(k3200);
  const auto& T = h.spec.timing;
  h.req(1, false, 0, 0, 5, 0);
  h.ch->advance_to(T.tRCD + 1); // RD issued at tRCD
  h.req(2, true, 0, 0, 5, 1);  // row hit, rq now empty -> write mode
  h.ch->drain();
  EXPECT_EQ(h.rec.at(Command::RD), T.tRCD);
  EXPECT_EQ(h.rec.at(Command::WR), T.tRCD + T.tRTW);
}

TEST(DramTiming, WriteRecoveryBeforePrecharge) {
  Harness h(k3200);
  const auto& T = h.spec.timing;
  h.req(1, true, 0, 0, 5);
  h.req(2, true, 0, 0, 9); // conflict forces PRE after the write
  h.ch->drain();
  const Cycle wr = h.rec.at(Command::WR);
  EXPECT_EQ(h.rec.at(Command::PRE), std::max(T.tRAS, wr + T.CWL + T.nBL + T.tWR));
}

TEST(DramTiming, ClosedPageAutoPrecharges) {
  Harness h(k3200, false, PagePolicy::closed);
  const auto& T = h.spec.timing;
  h.req(1, false, 0, 0, 5);
  h.req(2, false, 0, 0, 5); // same row, but closed policy closes it anyway
  h.ch->drain();
  EXPECT_EQ(h.rec.count(Command::RDA), 2);
  EXPECT_EQ(h.rec.count(Command::ACT), 2);
  // Auto-precharge at max(RD + tRTP, ACT + tRAS), then tRP (and tRC) before the next ACT.
  const Cycle ap = std::max(T.tRCD + T.tRTP, T.tRAS);
  EXPECT_EQ(h.rec.at(Command::ACT, 1), std::max(ap + T.tRP, T.tRC));
}

TEST(DramTiming, AdaptivePageKeepsRowForQueuedHits) {
  Harness h(k3200, false, PagePolicy::adaptive);
  h.req(1, false, 0, 0, 5, 0);
  h.req(2, false, 0, 0, 5, 1);
  h.ch->drain();
  EXPECT_EQ(h.rec.count(Command::RD), 1);  // kept open for request 2
  EXPECT_EQ(h.rec.count(Command::RDA), 1); // last one closes
  EXPECT_EQ(h.rec.count(Command::ACT), 1);
}

TEST(DramTiming, RefreshBlocksTheRankForTrfc) {
  Harness h(k3200, true);
  const auto& T = h.spec.timing;
  h.ch->advance_to(T.tREFI); // idle until refresh is due
  h.req(1, false, 0, 0, 5);
  h.ch->drain();
  EXPECT_EQ(h.rec.at(Command::REF), T.tREFI);
  EXPECT_EQ(h.rec.at(Command::ACT), T.tREFI + T.tRFC);
  EXPECT_EQ(h.done_of(1), T.tREFI + T.tRFC + T.tRCD + T.CL + T.nBL);
}

TEST(DramTiming, RefreshClosesOpenRowsWithPrechargeAll) {
  Harness h(k3200, true);
  const auto& T = h.spec.timing;
  h.req(1, false, 0, 0, 5);
  h.ch->drain();              // row 5 left open (open-page policy)
  h.ch->advance_to(T.tREFI + 1);
  EXPECT_EQ(h.rec.at(Command::PREA), T.tREFI);
  EXPECT_EQ(h.rec.at(Command::REF), kNever); // not before tRP has passed
  h.ch->advance_to(T.tREFI + T.tRP + 1);
  EXPECT_EQ(h.rec.at(Command::REF), T.tREFI + T.tRP);
}

TEST(DramTiming, ReadForwardedFromWriteQueue) {
  Harness h(k3200);
  h.cfg.write_high_watermark = 1.0;
  h.build();
  h.req(1, true, 0, 0, 5);
  h.req(2, false, 0, 0, 5); // same address as the queued write
  EXPECT_EQ(h.done_of(2), 1u);
  EXPECT_EQ(h.ch->counters().forwarded_reads, 1u);
}

TEST(DramTiming, FrFcfsServesRowHitBeforeOlderMiss) {
  Harness h(k3200);
  h.req(1, false, 0, 0, 5, 0);
  h.ch->advance_to(h.spec.timing.tRCD + 1); // row 5 open, request 1 served
  h.req(2, false, 0, 0, 9, 0);              // older: conflict
  h.req(3, false, 0, 0, 5, 1);              // younger: hit
  h.ch->drain();
  EXPECT_LT(h.done_of(3), h.done_of(2));
}

TEST(DramTiming, RefreshPrechargeAllWaitsForWriteRecoveryAfterWra) {
  // Closed page. Bank group 0's WRA issues just before refresh is due and
  // auto-precharges; bank group 1's row is open but its WRA would fall after
  // the due time, so refresh needs a PREA. The PREA must wait for the first
  // bank's write recovery (WRA + CWL + BL/2 + tWR), not only for the open
  // bank's tRAS.
  Harness h(k3200, true, PagePolicy::closed);
  const auto& T = h.spec.timing;
  const Cycle t0 = T.tREFI - 2 - T.tRCD;
  h.ch->advance_to(t0);
  h.req(1, true, 0, 0, 5); // ACT t0, WRA t0 + tRCD = tREFI - 2
  h.req(2, true, 1, 0, 5); // ACT t0 + tRRD_S; its WRA would be at tREFI + 6
  h.ch->drain();
  const Cycle wra = h.rec.at(Command::WRA);
  ASSERT_EQ(wra, T.tREFI - 2);
  ASSERT_EQ(h.rec.at(Command::ACT, 1), t0 + T.tRRD_S);
  const Cycle prea = h.rec.at(Command::PREA);
  ASSERT_NE(prea, kNever);
  EXPECT_EQ(prea, std::max(wra + T.CWL + T.nBL + T.tWR, t0 + T.tRRD_S + T.tRAS));
  EXPECT_EQ(prea, T.tREFI + 76); // 3200AN: 22 + 8 + 48 after the WRA
}
