// The host's path to memory: concurrency counted in 64-byte lines in flight
// (a gather of many small spans fills the link when enough lines are out; one
// core's fill buffers bound it by lines x 64 B / latency), the latency path
// (core and caches, mesh, root port) on every load, and the host's own DRAM.
#include "../support/systemc_test.h"
#include "system.h"

#include <numeric>

using namespace pnm;

namespace {
class HostPathTest : public pnm::test::SystemCTest {};

constexpr uint64_t kLine = 64;
// Device DRAM channels for the gathers: 64 instead of pnm-ref's 8. With 8,
// random 256-byte gathers stop at about 18 GB/s in the device's DRAM
// adapter, whatever the host keeps in flight.
constexpr uint32_t kWideChannels = 64;

SystemConfig ref_system() { return load_system(resolve_platform("pnm-ref-system")); }

struct Gather {
  double idle_ns = 0;  // one 64-byte load, nothing else in flight
  double gbps = 0;     // the gather's rate
  double effective = 0; // the link's flit-level limit for a read stream
};

// 8192 spans of 256 B (4 lines each) scattered over 64 MiB, as
// pnm-select's gathered rows, read with `lines` lines in flight. The device
// gets 64 DDR5 channels instead of 8 so that its DRAM is not the limit
// (today's DRAM adapter serves independent transactions of a channel one
// after another: see docs/CXL.md); the host's concurrency and the link are
// what is measured.
Gather gather(unsigned lines) {
  PlatformConfig wide = load_platform(resolve_platform("pnm-ref"));
  wide.dram.channels = kWideChannels;
  System sys(system_around(wide));
  PnmDevice& dev = sys.device(0);
  Gather g;
  cxl::MessageMix reads_only;
  reads_only[cxl::MsgClass::s2m_drs] = 1000000;
  g.effective = cxl::effective_line_gbytes_per_s(sys.config().devices[0].platform.cxl.mem.link, cxl::Direction::s2m, reads_only);
  constexpr size_t kSpans = 8192, kSpan = 256;
  std::vector<uint8_t> buf(kSpans * kSpan);
  std::vector<sw::Backend::MemSpan> spans;
  for (size_t i = 0; i < kSpans; ++i)
    spans.push_back({dev.hpa_base() + (i * 7919 % 262144) * kSpan, buf.data() + i * kSpan, kSpan}); // distinct rows
  sys.run([&](sw::Backend& b) {
    uint8_t line[kLine];
    double t0 = b.now_ns();
    ASSERT_TRUE(b.mem_read(dev.hpa_base() + (96ull << 20), line, kLine));
    g.idle_ns = b.now_ns() - t0;
    t0 = b.now_ns();
    ASSERT_TRUE(b.mem_read_many(spans, lines));
    g.gbps = double(kSpans * kSpan) / (b.now_ns() - t0);
  });
  return g;
}
} // namespace

TEST_F(HostPathTest, ManyLinesInFlightFillTheLinkWithSmallGathers) {
  const HostConfig h = ref_system().hosts.front();
  const Gather g = gather(h.kernel_lines_in_flight()); // 56 cores x 16 fill buffers
  EXPECT_EQ(h.kernel_lines_in_flight(), 896u);
  EXPECT_GE(g.gbps, 0.85 * g.effective) << "256-byte gathers with 896 lines in flight";
  EXPECT_LE(g.gbps, 1.001 * g.effective);
}

TEST_F(HostPathTest, OneCoresFillBuffersBoundTheGatherByLittlesLaw) {
  const Gather g = gather(16);
  const double closed = 16 * double(kLine) / g.idle_ns; // lines x 64 B / latency, GB/s
  // A 4-line piece comes back a few line times after a single line would, so
  // the gather sits just under the closed form.
  EXPECT_LE(g.gbps, 1.0 * closed);
  EXPECT_GE(g.gbps, 0.9 * closed);
  EXPECT_LT(g.gbps, 0.15 * g.effective); // far from the link: the fill buffers are the limit
}

TEST_F(HostPathTest, EveryLoadCrossesTheHostPathAndLocalDramIsNearer) {
  const SystemConfig sc = ref_system();
  const HostBridgeConfig& p = sc.hosts.front().bridge;
  System sys(sc);
  double cxl_ns = 0, local_ns = 0;
  bool local_ok = false;
  std::vector<uint8_t> back(4096), data(4096);
  std::iota(data.begin(), data.end(), uint8_t{3});
  HostBridge& local = sys.local_memory(0);
  sys.run([&](sw::Backend& b) {
    uint8_t line[kLine];
    double t0 = b.now_ns();
    ASSERT_TRUE(b.mem_read(sys.device(0).hpa_base() + 0x40000, line, kLine));
    cxl_ns = b.now_ns() - t0;
    t0 = b.now_ns();
    ASSERT_TRUE(local.mem_read(0x40000, line, kLine));
    local_ns = b.now_ns() - t0;
    local_ok = local.mem_write(0x1000, data.data(), data.size()) && local.mem_read(0x1000, back.data(), back.size());
  });
  const cxl::LatencyBreakdown& lb = sys.device(0).cxl_mem.last_breakdown();
  EXPECT_NEAR(cxl_ns, p.mem_path_ns() + lb.total_ns(), 1e-3); // the device's parts plus the host's path
  EXPECT_GT(local_ns, p.mem_path_ns() - 2 * p.root_port_latency_ns);
  EXPECT_LT(local_ns, cxl_ns);
  EXPECT_TRUE(local_ok);
  EXPECT_EQ(back, data);
  EXPECT_EQ(sys.device(0).cxl_mem.lines_written(), 0u); // local traffic never reaches the device
}

// A streaming copy issued a 1 KiB block per access (a DMA engine's burst)
// moves the same lines as one line per access (a core's fill buffers), at
// the same rate within 2% with the same lines in flight; an access size
// that does not divide the block is refused.
TEST_F(HostPathTest, BlockAccessesStreamAsFastAsLineAccesses) {
  const SystemConfig sc = ref_system();
  const unsigned in_flight = sc.hosts.front().kernel_lines_in_flight();
  double gbps[2] = {0, 0};
  HostBridge::MixCount count[2];
  const unsigned per_access[2] = {1, 16};
  System sys(sc);
  HostBridge& port = sys.port(0);
  sys.run([&](sw::Backend& b) {
    for (int i = 0; i < 2; ++i) {
      const double t0 = b.now_ns();
      const uint64_t base = sys.device(0).hpa_base() + uint64_t(i) * (8 << 20);
      count[i] = port.mem_stream_lines(base, 65536, 0, 1, in_flight, per_access[i]); // 4 MiB written
      gbps[i] = double(count[i].writes) * kLine / (b.now_ns() - t0);
    }
    EXPECT_THROW(port.mem_stream_lines(sys.device(0).hpa_base(), 1024, 0, 1, in_flight, 3), std::invalid_argument);
  });
  EXPECT_TRUE(count[0].ok && count[1].ok);
  EXPECT_EQ(count[0].writes, 65536u);
  EXPECT_EQ(count[1].writes, 65536u);
  EXPECT_EQ(count[1].reads, 0u);
  EXPECT_NEAR(gbps[1], gbps[0], 0.02 * gbps[0]);
}
