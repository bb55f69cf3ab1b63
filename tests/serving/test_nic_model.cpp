// The RDMA NIC: its file loads with sourced numbers and bad ones name file
// and key; one transfer takes latency + bytes / achieved rate; transfers in
// flight share the rate equally (processor sharing); a late small transfer
// overtakes an early big one; energy is bits x pJ/bit.
#include "../support/temp_path.h"
#include "common/config.h"
#include "serving/nic_model.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <fstream>

using namespace pnm::serving;

namespace {
NicSpec simple() {
  NicSpec s;
  s.name = "t";
  s.line_rate_gbps = 400;
  s.efficiency = 0.9; // 45 bytes/ns
  s.latency_us = 3;
  s.message_bytes = 1 << 20;
  s.pj_per_bit = 62.5;
  return s;
}
} // namespace

TEST(NicFile, ConnectX7Loads) {
  const NicSpec s = load_nic("connectx-7");
  EXPECT_DOUBLE_EQ(s.line_rate_gbps, 400);
  EXPECT_DOUBLE_EQ(s.efficiency, 0.9);
  EXPECT_DOUBLE_EQ(s.latency_us, 3);
  EXPECT_EQ(s.message_bytes, 1u << 20);
  EXPECT_DOUBLE_EQ(s.pj_per_bit, 25.0 / 400e9 * 1e12); // 25 W over 400 Gb/s
  const auto names = available_nics();
  EXPECT_NE(std::find(names.begin(), names.end(), "connectx-7"), names.end());
}

TEST(NicFile, BadFilesNameFileAndKey) {
  std::ifstream in(std::string(PNM_SOURCE_DIR) + "/platforms/nics/connectx-7.json");
  nlohmann::json j = nlohmann::json::parse(in);
  j["bandwidth"]["efficiency"] = 0;
  const std::string p = pnm::test::temp_path("nic.json");
  std::ofstream(p) << j.dump();
  try {
    load_nic(p);
    FAIL();
  } catch (const pnm::ConfigError& e) {
    const std::string m = e.what();
    EXPECT_NE(m.find(p), std::string::npos) << m;
    EXPECT_NE(m.find("bandwidth/efficiency"), std::string::npos) << m;
  }
  EXPECT_THROW(load_nic("no-such-nic"), pnm::ConfigError);
}

TEST(Nic, OneTransferTakesLatencyPlusBytesOverRate) {
  NicModel n(simple());
  EXPECT_TRUE(std::isinf(n.next_completion_ns()));
  const uint64_t B = 90'000'000; // 2 ms at 45 B/ns
  const uint64_t id = n.start(1000, B);
  const double done = 1000 + 3000 + B / 45.0;
  EXPECT_NEAR(n.next_completion_ns(), done, 1e-6 * done);
  EXPECT_TRUE(n.advance_to(done - 10).empty());
  EXPECT_EQ(n.advance_to(done + 1), std::vector<uint64_t>{id});
  EXPECT_EQ(n.bytes_moved(), B);
  EXPECT_NEAR(n.busy_ns(), B / 45.0, 1e-6 * B);
  EXPECT_EQ(n.messages(), 86u); // ceil(90e6 / 1 MiB)
  EXPECT_DOUBLE_EQ(n.energy_pj(), double(B) * 8 * 62.5);
  EXPECT_TRUE(std::isinf(n.next_completion_ns()));
}

TEST(Nic, TwoEqualTransfersShareTheRate) {
  NicModel n(simple());
  const uint64_t B = 45'000'000; // 1 ms alone
  const uint64_t a = n.start(0, B), b = n.start(0, B);
  const double done = 3000 + 2 * B / 45.0;
  EXPECT_NEAR(n.next_completion_ns(), done, 1e-6 * done);
  EXPECT_TRUE(n.advance_to(done - 100).empty());
  EXPECT_EQ(n.advance_to(done + 1), (std::vector<uint64_t>{a, b}));
  EXPECT_EQ(n.bytes_moved(), 2 * B);
}

TEST(Nic, LateSmallTransferFinishesBeforeEarlyBigOne) {
  NicModel n(simple());
  const uint64_t big = n.start(0, 450'000'000);  // 10 ms alone
  const uint64_t small = n.start(1e6, 4'500'000); // 0.1 ms alone, starts 1 ms later
  // The small one flows from 1 ms + 3 us at half the rate.
  const double small_done = 1e6 + 3000 + 2 * 4'500'000 / 45.0;
  EXPECT_NEAR(n.next_completion_ns(), small_done, 1e-6 * small_done);
  const std::vector<uint64_t> first = n.advance_to(small_done + 1);
  EXPECT_EQ(first, std::vector<uint64_t>{small});
  // Work-conserving: the big one ends when both transfers' bytes are through.
  const double big_done = 3000 + (450'000'000 + 4'500'000) / 45.0;
  EXPECT_NEAR(n.next_completion_ns(), big_done, 1e-6 * big_done);
  EXPECT_EQ(n.advance_to(2 * big_done), std::vector<uint64_t>{big});
  EXPECT_DOUBLE_EQ(n.energy_pj(), (450'000'000.0 + 4'500'000.0) * 8 * 62.5);
}

TEST(Nic, FinishedBeforeAStartAreStillReportedAndTimeOnlyMovesForward) {
  NicModel n(simple());
  const uint64_t a = n.start(0, 45'000);  // done at 4 us
  const uint64_t b = n.start(10'000, 0);  // an empty transfer: latency only
  EXPECT_EQ(n.advance_to(12'999), std::vector<uint64_t>{a});
  EXPECT_EQ(n.advance_to(13'000), std::vector<uint64_t>{b});
  EXPECT_THROW(n.start(5'000, 1), std::invalid_argument);
}

// An hour into a run, time in ns has a resolution of about 0.5 ns, coarser
// than the last bytes of a transfer take: the transfer must still finish
// (this used to spin for ever on a residue of a fraction of a byte).
TEST(Nic, TransfersFinishHoursIntoARun) {
  NicSpec s = simple();
  s.latency_us = 0;
  NicModel n(s);
  const double t0 = 3.6e12; // one hour
  std::vector<uint64_t> ids;
  for (uint64_t b : {1ull, 7ull, 45ull, 1000ull, 123457ull}) ids.push_back(n.start(t0, b));
  const double next = n.next_completion_ns();
  EXPECT_GE(next, t0);
  EXPECT_LE(next, t0 + 1);
  std::vector<uint64_t> got = n.advance_to(t0 + 1e6);
  EXPECT_EQ(got, ids);
  EXPECT_EQ(n.bytes_moved(), 1u + 7 + 45 + 1000 + 123457);
  EXPECT_TRUE(std::isinf(n.next_completion_ns()));
}
