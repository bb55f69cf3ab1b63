// The device through its CXL port, from the host: data integrity over
// CXL.mem, HPA decode errors, idle latency as the sum of its modelled parts,
// bandwidth against the link's flit-level limit, back-pressure from slow
// DRAM, and CXL.io registers at the spec's offsets.
#include "../support/systemc_test.h"
#include "host_system.h"

#include <cmath>
#include <cstring>
#include <numeric>

using namespace pnm;

namespace {
class CxlDeviceTest : public pnm::test::SystemCTest {};

PlatformConfig ref_platform() {
  return load_platform(std::string(PNM_SOURCE_DIR) + "/platforms/pnm-ref.json");
}

using Rig = HostSystem; // the default system's host around the platform
} // namespace

TEST_F(CxlDeviceTest, HostDataLandsAtTheDecodedDevicePhysicalAddress) {
  Rig rig(ref_platform());
  const uint64_t base = rig.dev.hpa_base();
  std::vector<uint8_t> back(4096);
  bool ok_w = false, ok_r = false;
  rig.host.set_program([&](sw::Backend& b) {
    std::vector<uint8_t> data(4096);
    std::iota(data.begin(), data.end(), uint8_t{7});
    ok_w = b.mem_write(base + 0x10000, data.data(), data.size());
    ok_r = b.mem_read(base + 0x10000, back.data(), back.size());
  });
  sc_core::sc_start();
  ASSERT_TRUE(ok_w && ok_r);
  std::vector<uint8_t> expect(4096);
  std::iota(expect.begin(), expect.end(), uint8_t{7});
  EXPECT_EQ(back, expect);
  std::vector<uint8_t> in_dram(4096);
  rig.dev.dram.store().read(0x10000, in_dram.data(), in_dram.size()); // 1-way: DPA = HPA - base
  EXPECT_EQ(in_dram, expect);
  EXPECT_EQ(rig.dev.cxl_mem.lines_written(), 64u);
  EXPECT_EQ(rig.dev.cxl_mem.lines_read(), 64u);
}

TEST_F(CxlDeviceTest, UndecodedHostAddressesGetErrorsNeverAWrap) {
  Rig rig(ref_platform());
  const uint64_t base = rig.dev.hpa_base();
  const uint64_t cap = rig.dev.capacity_bytes();
  bool below = true, beyond = true, straddle = true, partial = true, after = false;
  rig.host.set_program([&](sw::Backend& b) {
    uint8_t line[128] = {};
    below = b.mem_read(base - 64, line, 64);
    beyond = b.mem_read(base + cap, line, 64);
    straddle = b.mem_read(base + cap - 64, line, 128);
    partial = b.mem_read(base + 8, line, 8); // not a whole line
    after = b.mem_read(base, line, 64);      // the device goes on working
  });
  sc_core::sc_start();
  EXPECT_FALSE(below);
  EXPECT_FALSE(beyond);
  EXPECT_FALSE(straddle);
  EXPECT_FALSE(partial);
  EXPECT_TRUE(after);
  EXPECT_EQ(rig.dev.cxl_mem.errors(), 4u);
  EXPECT_EQ(rig.dev.dram.store().allocated_pages(), 0u);
}

TEST_F(CxlDeviceTest, IdleLatencyIsTheSumOfItsModelledParts) {
  PlatformConfig pc = ref_platform();
  pc.dram.channel.refresh = false;
  Rig rig(pc);
  double t = 0;
  rig.host.set_program([&](sw::Backend& b) {
    uint8_t line[64];
    b.sleep_ns(1000);
    const double t0 = b.now_ns();
    ASSERT_TRUE(b.mem_read(rig.dev.hpa_base() + 0x40000, line, 64));
    t = b.now_ns() - t0;
  });
  sc_core::sc_start();
  const cxl::LatencyBreakdown& lb = rig.dev.cxl_mem.last_breakdown();
  const double root = rig.host.config().mem_path_ns(); // the host: core, caches, mesh and root port, both ways
  EXPECT_NEAR(t, root + lb.total_ns(), 1e-3);
  // Each part is what the model says it is: the controller both ways, the
  // DRAM a closed-bank read (tRCD + CL + BL/2) plus alignment to the DRAM
  // clock, each link direction at least its port latency.
  EXPECT_NEAR(lb.controller_ns, 2 * pc.cxl.mem.controller_latency_ps * 1e-3, 1e-9);
  const auto& T = pc.dram.spec.timing;
  const double dram_min = (T.tRCD + T.CL + T.nBL) * T.tCK_ps * 1e-3;
  EXPECT_GE(lb.dram_ns, dram_min - 1e-6);
  EXPECT_LE(lb.dram_ns, dram_min + T.tCK_ps * 1e-3);
  EXPECT_GE(lb.downstream_link_ns, pc.cxl.mem.link.port_latency_ps * 1e-3);
  EXPECT_GE(lb.upstream_link_ns, pc.cxl.mem.link.port_latency_ps * 1e-3);
  // Pond's 70-90 ns of added latency over local DRAM (the calibration
  // target): a local load pays the same core, caches and mesh, and the DRAM.
  const HostBridgeConfig& h = rig.host.config();
  const double over_local = t - lb.dram_ns - 2 * (h.core_and_caches_ns + h.mesh_ns);
  EXPECT_GE(over_local, 70.0);
  EXPECT_LE(over_local, 95.0);
}

TEST_F(CxlDeviceTest, ReadBandwidthReachesNinetyPercentOfTheEffectiveLink) {
  PlatformConfig pc = ref_platform();
  Rig rig(pc);
  const uint64_t chunk = 256 * 1024, per_agent = 4 << 20;
  double first = 1e300, last = 0;
  for (unsigned a = 0; a < 4; ++a)
    rig.host.add_program([&, a](sw::Backend& b) {
      std::vector<uint8_t> buf(chunk);
      first = std::min(first, b.now_ns());
      for (uint64_t off = 0; off < per_agent; off += chunk)
        ASSERT_TRUE(b.mem_read(rig.dev.hpa_base() + a * per_agent + off, buf.data(), chunk));
      last = std::max(last, b.now_ns());
    });
  sc_core::sc_start();
  cxl::MessageMix mix;
  mix[cxl::MsgClass::s2m_drs] = 1000000;
  const double eff = cxl::effective_line_gbytes_per_s(pc.cxl.mem.link, cxl::Direction::s2m, mix);
  const double gbps = 4.0 * per_agent / (last - first);
  EXPECT_GE(gbps, 0.90 * eff);
  EXPECT_LE(gbps, eff * 1.0001);
  EXPECT_LT(eff, pc.cxl.mem.link.raw_gbytes_per_s()); // flit overhead is real
}

TEST_F(CxlDeviceTest, SlowDramThrottlesTheLinkAndLosesNothing) {
  PlatformConfig pc = ref_platform();
  pc.dram = load_platform(std::string(PNM_SOURCE_DIR) + "/platforms/ddr5-3200an-1ch.json").dram;
  // 64 entries cover the link's bandwidth-delay product, so the DRAM
  // (12.8 GB/s peak, a quarter of the link) sets the pace and the device's
  // buffers fill up behind it: credits run out and the host waits.
  pc.cxl.mem.link.rx_buffer_entries = {64, 64, 64, 64};
  Rig rig(pc);
  const uint64_t bytes = 2 << 20;
  std::vector<uint8_t> back(bytes);
  double t_read = 0;
  rig.host.set_program([&](sw::Backend& b) {
    std::vector<uint8_t> data(bytes);
    for (size_t i = 0; i < bytes; i += 8) {
      const uint64_t v = i * 0x9E3779B97F4A7C15ull; // every line unique
      std::memcpy(&data[i], &v, 8);
    }
    ASSERT_TRUE(b.mem_write(rig.dev.hpa_base(), data.data(), bytes));
    const double t0 = b.now_ns();
    ASSERT_TRUE(b.mem_read(rig.dev.hpa_base(), back.data(), bytes));
    t_read = b.now_ns() - t0;
    for (size_t i = 0; i < bytes; i += 8) {
      uint64_t v;
      std::memcpy(&v, &back[i], 8);
      ASSERT_EQ(v, i * 0x9E3779B97F4A7C15ull) << "line " << i / 64; // nothing lost or misplaced
    }
  });
  sc_core::sc_start();
  const double gbps = bytes / t_read;
  const double dram_peak = rig.dev.dram.core().peak_gbps();
  EXPECT_LE(gbps, dram_peak); // the DRAM, not the 52 GB/s link, sets the pace
  EXPECT_GE(gbps, 0.8 * dram_peak); // a sequential stream: ~92% of peak at the DRAM
  const cxl::LinkStats st = rig.dev.cxl_mem.link().down.stats();
  // Back-pressure: sends found every credit held and waited for releases.
  EXPECT_GT(st.blocked_sends + st.credit_waits[static_cast<size_t>(cxl::MsgClass::m2s_req)], 0u);
  EXPECT_EQ(rig.dev.cxl_mem.link().down.outstanding(cxl::MsgClass::m2s_req), 0u); // all released
}

TEST_F(CxlDeviceTest, RegistersAtTheSpecOffsetsAndBadAccessesAnswered) {
  Rig rig(ref_platform());
  uint32_t id = 0, cls = 0, dvsec_hdr1 = 0, dvsec_id = 0, unmapped = 0;
  uint64_t caps = 0;
  rig.host.set_program([&](sw::Backend& b) {
    id = b.config_read32(0x00);
    cls = b.config_read32(0x08) >> 8;
    dvsec_hdr1 = b.config_read32(cxl::CxlIoRegs::dvsec_device_offset + 4);
    dvsec_id = b.config_read32(cxl::CxlIoRegs::dvsec_device_offset + 8) & 0xffff;
    caps = b.mmio_read64(rig.dev.bar_base(2)); // device capabilities array register
    unmapped = b.mmio_read32(rig.dev.bar_base(0) - 0x1000);
  });
  sc_core::sc_start();
  EXPECT_EQ(id & 0xffff, 0x8086u);
  EXPECT_EQ(cls, 0x050210u);                 // memory controller / CXL / CXL memory device
  EXPECT_EQ(dvsec_hdr1 & 0xffff, 0x1E98u);   // CXL DVSEC vendor ID
  EXPECT_EQ(dvsec_id, 0u);                   // PCIe DVSEC for CXL Devices
  EXPECT_EQ(caps & 0xffff, 0u);              // capability ID 0: the array itself
  EXPECT_GE((caps >> 32) & 0xffff, 3u);      // at least status, mailbox, memdev
  EXPECT_EQ(unmapped, 0xFFFFFFFFu);
  EXPECT_GE(rig.host.errors(), 1u);
}

TEST_F(CxlDeviceTest, PoisonedLinesComeBackPoisonedAndCleanWritesHealThem) {
  Rig rig(ref_platform());
  const uint64_t base = rig.dev.hpa_base();
  rig.dev.cxl_mem.inject_poison(0x2040); // what firmware's Inject Poison does
  std::vector<uint32_t> reported;
  bool clean_before = false, poisoned_read = true, healed = false, neighbour = false;
  rig.host.set_program([&](sw::Backend& b) {
    uint8_t buf[256] = {};
    neighbour = b.mem_read(base + 0x2000, buf, 64); // line before: clean
    // A 4-line read covering the poisoned line, with the extension to learn which.
    tlm::tlm_generic_payload tx;
    cxl::PoisonExtension ext;
    tx.set_command(tlm::TLM_READ_COMMAND);
    tx.set_address(base + 0x2000);
    tx.set_data_ptr(buf);
    tx.set_data_length(256);
    tx.set_streaming_width(256);
    tx.set_extension(&ext);
    sc_core::sc_time d;
    rig.host.mem_socket->b_transport(tx, d);
    sc_core::wait(d);
    tx.clear_extension(&ext);
    poisoned_read = tx.get_response_status() == tlm::TLM_OK_RESPONSE;
    reported = ext.lines;
    clean_before = !b.mem_read(base + 0x2040, buf, 64); // the host sees an error too
    std::memset(buf, 0x11, 64);
    EXPECT_TRUE(b.mem_write(base + 0x2040, buf, 64)); // a clean write heals it
    healed = b.mem_read(base + 0x2040, buf, 64);
  });
  sc_core::sc_start();
  EXPECT_TRUE(neighbour);
  EXPECT_FALSE(poisoned_read);
  EXPECT_EQ(reported, std::vector<uint32_t>{1});
  EXPECT_TRUE(clean_before);
  EXPECT_TRUE(healed);
  EXPECT_EQ(rig.dev.cxl_mem.poisoned_lines(), 0u);
  EXPECT_EQ(rig.dev.cxl_mem.poisoned_reads(), 2u);
}

TEST_F(CxlDeviceTest, PoisonedWriteDataIsRecordedAndReportedInRas) {
  Rig rig(ref_platform());
  uint64_t ras_before = 0, ras_after = 0;
  rig.host.set_program([&](sw::Backend&) {
    uint8_t buf[128] = {};
    tlm::tlm_generic_payload tx;
    cxl::PoisonExtension ext;
    ext.lines = {1}; // second line carries the RwD poison bit
    tx.set_command(tlm::TLM_WRITE_COMMAND);
    tx.set_address(rig.dev.hpa_base() + 0x8000);
    tx.set_data_ptr(buf);
    tx.set_data_length(128);
    tx.set_streaming_width(128);
    tx.set_extension(&ext);
    sc_core::sc_time d;
    // RAS correctable error status (REFERENCE A.7, offset 0x0C of the RAS capability).
    rig.dev.regs.read(cxl::RegSpace::component, cxl::CxlIoRegs::ras_offset + 0x0C, 4, ras_before);
    rig.host.mem_socket->b_transport(tx, d);
    rig.dev.regs.read(cxl::RegSpace::component, cxl::CxlIoRegs::ras_offset + 0x0C, 4, ras_after);
    tx.clear_extension(&ext);
    EXPECT_EQ(tx.get_response_status(), tlm::TLM_OK_RESPONSE);
  });
  sc_core::sc_start();
  EXPECT_FALSE(rig.dev.cxl_mem.poisoned(0x8000));
  EXPECT_TRUE(rig.dev.cxl_mem.poisoned(0x8040));
  EXPECT_EQ(ras_before & (1u << 5), 0u);
  EXPECT_NE(ras_after & (1u << 5), 0u); // bit 5: mem poison received
}
