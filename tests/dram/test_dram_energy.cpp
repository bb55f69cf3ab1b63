// Energy checked against the IDD equations worked by hand (numbers below are
// computed on paper from the memspec values, not by calling the model's code).
// Memspec: DDR5-3200AN, Ramulator 2 default currents: VDD 1.1 V, VPP 1.8 V,
// IDD0 60, IDD2N 50, IDD3N 55, IDD4R 145, IDD4W 145, IDD5B 362 mA,
// IPP0..IPP4W 3, IPP5B 48 mA; tCK 0.625 ns; 4 x8 devices per 32-bit channel.
// I/O: 0.5 x 1.1^2 / (34 + 48) ohm x 0.3125 ns = 2.30564 pJ per bit.
#include "dram_test_util.h"

#include <gtest/gtest.h>

using namespace pnm::dram;
using namespace pnm::dram::test;

TEST(DramEnergy, SingleReadMissMatchesHandWorkedIddEquations) {
  Harness h("JEDEC_DDR5-3200AN_16Gb_x8.json");
  h.req(1, false, 0, 0, 5);
  h.ch->drain();
  DramEnergy e = h.ch->energy(1000);
  // ACT: 4 x 1.1 V x (60-55) mA x 52 x 0.625 ns = 715 pJ (IPP0-IPP3N = 0).
  EXPECT_NEAR(e.act, 715.0, 715.0 * 1e-9);
  // RD: 4 x 1.1 x (145-55) x 8 x 0.625 = 1980 pJ.
  EXPECT_NEAR(e.rd, 1980.0, 1e-6);
  // The row stays open from cycle 0 to 1000: active standby
  // 4 x (1.1 x 55 + 1.8 x 3) mW x 625 ns = 164750 pJ; no precharged time.
  EXPECT_NEAR(e.bg_active, 164750.0, 1e-6);
  EXPECT_NEAR(e.bg_precharged, 0.0, 1e-9);
  EXPECT_NEAR(e.pre, 0.0, 1e-9);
  // I/O: 512 bits x 2.30564 pJ = 1180.49 pJ.
  EXPECT_NEAR(e.io, 1180.49, 0.01);
  EXPECT_NEAR(e.total(), 715.0 + 1980.0 + 164750.0 + 1180.49, 0.01);
}

TEST(DramEnergy, PrechargeRefreshAndStandbyMatchHandWork) {
  Harness h("JEDEC_DDR5-3200AN_16Gb_x8.json", true);
  const auto& T = h.spec.timing; // tRAS 52, tRC 76, tRP 24, tRFC 472, tREFI 6240
  h.req(1, true, 0, 0, 5);  // ACT 0, WR 24
  h.req(2, true, 0, 0, 9);  // PRE at max(52, 24+22+8+48=102) = 102, ACT 126, WR 150
  h.ch->drain();
  h.ch->advance_to(T.tREFI + T.tRP + T.tRFC + 10); // PREA at 6240, REF at 6264
  ASSERT_EQ(h.rec.at(Command::PRE), 102u);
  ASSERT_EQ(h.rec.at(Command::PREA), 6240u);
  ASSERT_EQ(h.rec.at(Command::REF), 6264u);
  DramEnergy e = h.ch->energy(8000);
  // 2 ACT: 2 x 715 = 1430 pJ. 2 bank precharges (PRE + PREA of one open bank):
  // 2 x 4 x 1.1 x (60-50) x tRP 24 x 0.625 = 1320 pJ.
  EXPECT_NEAR(e.act, 1430.0, 1e-6);
  EXPECT_NEAR(e.pre, 1320.0, 1e-6);
  // 2 WR: 2 x 4 x 1.1 x 90 x 8 x 0.625 = 3960 pJ.
  EXPECT_NEAR(e.wr, 3960.0, 1e-6);
  // REF: 4 x (1.1 x (362-55) + 1.8 x (48-3)) x 472 x 0.625 = 4 x 418.7 x 295 = 494066 pJ.
  EXPECT_NEAR(e.ref, 494066.0, 1e-6);
  // Active: [0, 102) and [126, 6240) for the rows, [6264, 6736) refreshing:
  // 102 + 6114 + 472 = 6688 cycles; precharged 8000 - 6688 = 1312 cycles.
  // Active standby 4 x 65.9 mW x 6688 x 0.625 ns = 1101848 pJ;
  // precharged standby 4 x (1.1 x 50 + 1.8 x 3) mW x 1312 x 0.625 = 198112 pJ.
  EXPECT_NEAR(e.bg_active, 1101848.0, 1e-3);
  EXPECT_NEAR(e.bg_precharged, 198112.0, 1e-3);
}
