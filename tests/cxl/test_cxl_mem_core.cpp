// The CXL.mem device-side core without SystemC: HDM decode of M2S lines
// (errors, never a wrap), the controller latency both ways, each line's
// buffer-entry release and S2M response time, poison state and counts.
#include "cxl/cxl_mem_core.h"

#include <gtest/gtest.h>

using namespace pnm::cxl;
using pnm::protocol::LineStatus;

namespace {
constexpr uint64_t GiB = 1ull << 30;
constexpr uint64_t base = 4 * GiB;
constexpr Picos ctrl = 5'000;

HdmDecoder programmed() {
  HdmDecoderConfig c;
  c.decoder_count = 1;
  c.capacity_bytes = GiB;
  HdmDecoder d(c);
  HdmProgram p;
  p.base = base;
  p.size = GiB;
  EXPECT_TRUE(d.program(0, p));
  return d;
}

std::vector<StreamLine> m2s(uint64_t hpa, size_t n, Picos arrive) {
  std::vector<StreamLine> v(n);
  for (size_t i = 0; i < n; ++i) {
    v[i].addr = hpa + 64 * i;
    v[i].arrive_ps = arrive + 1000 * i;
  }
  return v;
}

// The memory's answer: line i done `lat` after it arrived.
void serve(std::vector<StreamLine>& mem, Picos lat) {
  for (StreamLine& l : mem) l.done_ps = l.freed_ps = l.arrive_ps + lat;
}
} // namespace

TEST(cxlMemCore, UndecodableRangesAreRefusedAtTheirFirstBadLine) {
  HdmDecoder hdm = programmed();
  CxlMemCore core(hdm, ctrl);
  EXPECT_FALSE(core.check(base, 16));
  const auto below = core.check(base - 64, 1);
  ASSERT_TRUE(below);
  EXPECT_EQ(below->hpa, base - 64);
  const auto straddle = core.check(base + GiB - 128, 4); // no wrap to DPA 0
  ASSERT_TRUE(straddle);
  EXPECT_EQ(straddle->line, 2u);
  EXPECT_EQ(straddle->hpa, base + GiB);
  EXPECT_EQ(straddle->status, HdmStatus::out_of_range);
  std::vector<StreamLine> mem;
  const auto r = core.requests(m2s(base + GiB - 64, 2, 0), mem);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->line, 1u);
  EXPECT_EQ(core.errors(), 3u);
  EXPECT_EQ(core.lines_read() + core.lines_written(), 0u);
}

TEST(cxlMemCore, LinesReachMemoryAfterTheControllerAndAnswerAfterItAgain) {
  HdmDecoder hdm = programmed();
  CxlMemCore core(hdm, ctrl);
  std::vector<StreamLine> in = m2s(base + 0x1000, 3, 100'000), mem;
  ASSERT_FALSE(core.requests(in, mem));
  ASSERT_EQ(mem.size(), 3u);
  for (size_t i = 0; i < 3; ++i) {
    EXPECT_EQ(mem[i].addr, 0x1000 + 64 * i); // DPA = HPA - base
    EXPECT_EQ(mem[i].arrive_ps, in[i].arrive_ps + ctrl);
  }
  serve(mem, 40'000);
  const CxlMemCore::Served s = core.responses(false, in, mem);
  EXPECT_EQ(s.poisoned_reads, 0u);
  for (size_t i = 0; i < 3; ++i) {
    EXPECT_EQ(in[i].freed_ps, in[i].arrive_ps + ctrl + 40'000); // entry frees when the DRAM is done
    EXPECT_EQ(in[i].done_ps, in[i].arrive_ps + 2 * ctrl + 40'000); // S2M after assembly
    EXPECT_EQ(in[i].status, LineStatus::ok);
  }
  EXPECT_EQ(core.lines_read(), 3u);
  EXPECT_EQ(core.lines_written(), 0u);
}

TEST(cxlMemCore, PoisonIsPerLineAndCleanWritesHealIt) {
  HdmDecoder hdm = programmed();
  CxlMemCore core(hdm, ctrl);
  core.inject_poison(0x2040);
  std::vector<StreamLine> rd = m2s(base + 0x2000, 4, 0), mem;
  ASSERT_FALSE(core.requests(rd, mem));
  serve(mem, 1000);
  EXPECT_EQ(core.responses(false, rd, mem).poisoned_reads, 1u);
  EXPECT_EQ(rd[0].status, LineStatus::ok);
  EXPECT_EQ(rd[1].status, LineStatus::poisoned); // DRS poison on that line only
  EXPECT_EQ(rd[2].status, LineStatus::ok);
  // A write: line 0 clean (heals 0x2040), line 1 with the RwD poison bit.
  std::vector<StreamLine> wr = m2s(base + 0x2040, 2, 0);
  wr[1].status = LineStatus::poisoned;
  ASSERT_FALSE(core.requests(wr, mem));
  serve(mem, 1000);
  EXPECT_TRUE(core.responses(true, wr, mem).poison_received);
  EXPECT_FALSE(core.poisoned(0x2040));
  EXPECT_TRUE(core.poisoned(0x2080));
  EXPECT_EQ(core.poisoned_lines(), 1u);
  EXPECT_EQ(core.poisoned_reads(), 1u);
  EXPECT_EQ(core.lines_written(), 2u);
  core.clear_poison(0x2080);
  EXPECT_EQ(core.poisoned_lines(), 0u);
}
