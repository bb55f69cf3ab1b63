// The host bridge: a host program's register and memory accesses take the
// time the device answers with plus the root port, errors read as all ones,
// and interrupts wake a waiting host.
#include "../support/systemc_test.h"
#include "bus/device_bus.h"
#include "dram/dram_tlm.h"
#include "host_bridge.h"
#include "platform.h"

#include <tlm_utils/simple_target_socket.h>

using namespace pnm;

namespace {
class HostBridgeTest : public pnm::test::SystemCTest {};

dram::DramSystemConfig dram_cfg() {
  return load_platform(std::string(PNM_SOURCE_DIR) + "/platforms/ddr5-4800-1ch.json").dram;
}
} // namespace

TEST_F(HostBridgeTest, MemoryAccessesCarryDeviceAndRootPortTime) {
  dram::DramTlm mem("mem", dram_cfg(), dram::Fidelity::command);
  bus::DeviceBus mmio("mmio"), cfg("cfg");
  HostBridge host("host", HostBridgeConfig{25.0});
  host.mem_socket.bind(mem.mem_socket);
  host.mmio_socket.bind(mmio.in_socket);
  host.config_socket.bind(cfg.in_socket);
  double t_read = 0;
  uint32_t unmapped = 0, cfg_unmapped = 0;
  bool read_ok = false;
  std::vector<uint8_t> back(64);
  host.set_program([&](sw::Backend& b) {
    std::vector<uint8_t> data(64, 0xA5);
    EXPECT_TRUE(b.mem_write(0x4000, data.data(), 64));
    b.sleep_ns(1000);
    const double t0 = b.now_ns();
    read_ok = b.mem_read(0x4000, back.data(), 64);
    t_read = b.now_ns() - t0;
    unmapped = b.mmio_read32(0x1000);
    cfg_unmapped = b.config_read32(0);
  });
  sc_core::sc_start();
  EXPECT_TRUE(host.program_done());
  EXPECT_TRUE(read_ok);
  EXPECT_EQ(back, std::vector<uint8_t>(64, 0xA5));
  // The row is still open: CL + BL/2 = 42 nCK at 0.416 ns, plus the cycle
  // alignment of the request, plus 2 x 25 ns at the root port.
  const double dram_ns = 42 * 0.416;
  EXPECT_GE(t_read, 50.0 + dram_ns);
  EXPECT_LE(t_read, 50.0 + dram_ns + 0.416);
  EXPECT_EQ(unmapped, 0xFFFFFFFFu);
  EXPECT_EQ(cfg_unmapped, 0xFFFFFFFFu);
  EXPECT_EQ(host.errors(), 2u);
}

TEST_F(HostBridgeTest, InterruptWakesTheHostAndTimeoutExpires) {
  dram::DramTlm mem("mem", dram_cfg(), dram::Fidelity::functional);
  bus::DeviceBus mmio("mmio"), cfg("cfg");
  HostBridge host("host", HostBridgeConfig{});
  host.mem_socket.bind(mem.mem_socket);
  host.mmio_socket.bind(mmio.in_socket);
  host.config_socket.bind(cfg.in_socket);
  struct Device : sc_core::sc_module {
    HostBridge* h;
    SC_HAS_PROCESS(Device);
    Device(sc_core::sc_module_name n, HostBridge* hb) : sc_module(n), h(hb) { SC_THREAD(run); }
    void run() {
      sc_core::wait(5, sc_core::SC_US);
      h->interrupt();
    }
  } dev("dev", &host);
  bool first = false, second = true;
  double woke_at = 0;
  host.set_program([&](sw::Backend& b) {
    first = b.wait_for_interrupt(1e6);
    woke_at = b.now_ns();
    second = b.wait_for_interrupt(2000);
  });
  sc_core::sc_start();
  EXPECT_TRUE(first);
  EXPECT_DOUBLE_EQ(woke_at, 5000.0);
  EXPECT_FALSE(second);
  EXPECT_DOUBLE_EQ(sc_core::sc_time_stamp().to_seconds() * 1e9, 7000.0);
}
