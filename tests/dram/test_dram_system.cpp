// Address mapping, multi-channel replay, bandwidth against the closed-form
// peak, and streamed trace parsing.
#include "../support/temp_path.h"
#include "dram/dram_replay.h"
#include "dram/dram_system.h"
#include "dram/trace_source.h"
#include "platform.h"

#include <cstdio>
#include <fstream>
#include <gtest/gtest.h>

using namespace pnm;
using namespace pnm::dram;

namespace {
std::string platform(const std::string& name) {
  return std::string(PNM_SOURCE_DIR) + "/platforms/" + name + ".json";
}
std::string temp_file(const std::string& name, const std::string& text) {
  std::string path = pnm::test::temp_path(name);
  std::ofstream(path) << text;
  return path;
}
} // namespace

TEST(AddressMapper, RamulatorRoBaRaCoChBitLayout) {
  auto pc = load_platform(platform("ddr5-3200an-1ch"));
  AddressMapper m("RoBaRaCoCh", pc.dram.spec.org, 1, 1);
  // 64 B offset (6 bits), then column 6 bits (1024 / BL16), bank group 3, bank 2, row 16.
  EXPECT_EQ(m.capacity_bytes(), 8ull << 30);
  DramAddress a = m.decode((5ull << 6) | (3ull << 12) | (1ull << 15) | (1234ull << 17));
  EXPECT_EQ(a.column, 5u);
  EXPECT_EQ(a.bankgroup, 3u);
  EXPECT_EQ(a.bank, 1u);
  EXPECT_EQ(a.row, 1234u);
  EXPECT_EQ(m.canonical(), "RoBaBgRaCoCh");
}

TEST(AddressMapper, EncodeInvertsDecodeForEveryOrder) {
  auto pc = load_platform(platform("ddr5-4800-8ch"));
  for (const char* order : {"RoBaRaCoCh", "ChRaBaRoCo", "RoCoBaBgRaCh", "ChRoBgBaRaCo"}) {
    AddressMapper m(order, pc.dram.spec.org, 8, 2);
    for (uint64_t addr : {uint64_t{0}, uint64_t{64}, uint64_t{0x12345640}, m.capacity_bytes() - 64})
      EXPECT_EQ(m.encode(m.decode(addr)), addr) << order;
  }
}

TEST(AddressMapper, RejectsBadOrders) {
  auto pc = load_platform(platform("ddr5-4800-1ch"));
  EXPECT_THROW(AddressMapper("RoBaBgRaCo", pc.dram.spec.org, 1, 1), std::invalid_argument);
  EXPECT_THROW(AddressMapper("RoBaBgRaCoXx", pc.dram.spec.org, 1, 1), std::invalid_argument);
  EXPECT_THROW(AddressMapper("RoRoBgRaCoCh", pc.dram.spec.org, 1, 1), std::invalid_argument);
}

TEST(DramReplay, SequentialReadsReachNinetyPercentOfPeak) {
  for (const char* p : {"ddr5-3200an-1ch", "ddr5-4800-1ch", "ddr5-5600-1ch"}) {
    auto pc = load_platform(platform(p));
    DramSystem dram(pc.dram);
    SyntheticSource src(Pattern::seq, 200000, dram.capacity_bytes(), 64);
    ReplayResult r = replay(dram, src);
    const double gbps = r.requests * 64.0 / (r.end_cycle * dram.tck_ns());
    EXPECT_GE(gbps, 0.90 * dram.peak_gbps()) << p;
    EXPECT_LE(gbps, dram.peak_gbps()) << p;
  }
}

TEST(DramReplay, ChannelsScaleBandwidth) {
  auto one = load_platform(platform("ddr5-4800-1ch"));
  auto eight = load_platform(platform("ddr5-4800-8ch"));
  DramSystem d1(one.dram), d8(eight.dram);
  SyntheticSource s1(Pattern::seq, 100000, d1.capacity_bytes(), 64);
  SyntheticSource s8(Pattern::seq, 800000, d8.capacity_bytes(), 64);
  ReplayResult r1 = replay(d1, s1), r8 = replay(d8, s8);
  // Same per-channel work (100k lines each): the same simulated time within 2%.
  EXPECT_NEAR(static_cast<double>(r8.end_cycle), static_cast<double>(r1.end_cycle),
              0.02 * r1.end_cycle);
}

TEST(DramReplay, ReportHasTheDocumentedKeys) {
  auto pc = load_platform(platform("ddr5-4800-1ch"));
  DramSystem dram(pc.dram);
  SyntheticSource src(Pattern::random, 5000, dram.capacity_bytes(), 64, 0.3);
  ReplayResult r = replay(dram, src);
  auto j = replay_report(dram, r, "p", "w");
  for (const char* k : {"schema", "requests", "simulated_ns", "bandwidth_gbps",
                        "peak_bandwidth_gbps", "read_latency_ns", "row_hit_rate", "commands",
                        "energy_pj", "pj_per_bit", "wall_s", "requests_per_wall_s"})
    EXPECT_TRUE(j.contains(k)) << k;
  for (const char* k : {"avg", "p50", "p99"}) EXPECT_TRUE(j["read_latency_ns"].contains(k)) << k;
  EXPECT_EQ(j["requests"].get<uint64_t>(), 5000u);
  EXPECT_EQ(j["commands"]["RD"].get<uint64_t>() + j["commands"]["WR"].get<uint64_t>() +
                j["row_buffer"]["forwarded_reads"].get<uint64_t>(),
            5000u);
  double sum = 0;
  for (const auto& [k, v] : j["energy_pj"].items())
    if (k != "total") sum += v.get<double>();
  EXPECT_NEAR(sum, j["energy_pj"]["total"].get<double>(), 1e-6 * sum);
  EXPECT_LE(j["read_latency_ns"]["p50"].get<double>(), j["read_latency_ns"]["p99"].get<double>());
}

TEST(TraceSource, ParsesBothFormatsAndComments) {
  auto ram = temp_file("ram.trace", "# comment\nLD 0x40\n\nST 0x80\nLD 128\n");
  TraceFileSource a(ram, 1 << 20);
  TraceRequest r;
  ASSERT_TRUE(a.next(r));
  EXPECT_EQ(r.addr, 0x40u);
  EXPECT_FALSE(r.write);
  ASSERT_TRUE(a.next(r));
  EXPECT_TRUE(r.write);
  ASSERT_TRUE(a.next(r));
  EXPECT_EQ(r.addr, 128u);
  EXPECT_FALSE(a.next(r));
  auto stl = temp_file("dramsys.stl", "0: read 0x0\n10: write 0x40 0011aabb\n10: read 0x80\n");
  TraceFileSource b(stl, 1 << 20);
  ASSERT_TRUE(b.next(r));
  EXPECT_TRUE(r.timed);
  ASSERT_TRUE(b.next(r));
  EXPECT_TRUE(r.write);
  EXPECT_EQ(r.cycle, 10u);
}

namespace {
std::string trace_error(const std::string& text, uint64_t capacity = 1 << 20) {
  auto path = temp_file("bad.trace", text);
  try {
    TraceFileSource s(path, capacity);
    TraceRequest r;
    while (s.next(r)) {
    }
  } catch (const TraceError& e) {
    return e.what();
  }
  return "";
}
} // namespace

TEST(TraceSource, BadLinesNameTheLine) {
  EXPECT_NE(trace_error("LD 0x40\nLX 0x40\n").find("bad.trace:2:"), std::string::npos);
  EXPECT_NE(trace_error("LD 0x40\nLD\n").find(":2: bad or missing address"), std::string::npos);
  EXPECT_NE(trace_error("LD 0xZZ\n").find(":1:"), std::string::npos);
  EXPECT_NE(trace_error("LD 0x40 junk\n").find("unexpected text"), std::string::npos);
  EXPECT_NE(trace_error("LD 0x40\n5: read 0x0\n").find("mixes"), std::string::npos);
  EXPECT_NE(trace_error("9: read 0x0\n5: read 0x40\n").find("goes backwards"), std::string::npos);
  EXPECT_NE(trace_error("LD 0xffffffffffffffffff\n").find(":1:"), std::string::npos);
}

TEST(TraceSource, AddressBeyondCapacityIsAnErrorNotAWrap) {
  std::string e = trace_error("LD 0x40\nLD 0x100000\n", 0x100000);
  EXPECT_NE(e.find(":2:"), std::string::npos);
  EXPECT_NE(e.find("beyond the device capacity"), std::string::npos);
}

TEST(TraceSource, MissingFileIsAClearError) {
  EXPECT_THROW(TraceFileSource("/nonexistent/x.trace", 1 << 20), TraceError);
}
