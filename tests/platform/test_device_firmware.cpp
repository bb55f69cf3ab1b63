// Real firmware on the controller core answers the host's CXL mailbox: the
// host follows the spec's sequence over MMIO (CXL 2.0 8.2.8.4), the doorbell
// interrupts the core asleep in wfi, the firmware (firmware/app/main.c)
// executes the command and posts the result, the host reads it.
#include "../support/systemc_test.h"
#include "host_system.h"
#include "pnm_device.h"

#include <cstring>

using namespace pnm;

namespace {
class DeviceFirmwareTest : public pnm::test::SystemCTest {};

struct MboxResult {
  uint16_t rc = 0xffff;
  std::vector<uint8_t> payload;
  bool timed_out = false;
};

// The host's side: command, doorbell, poll, status, payload.
MboxResult mailbox(sw::Backend& b, uint64_t mbox, uint16_t opcode, const std::vector<uint8_t>& in) {
  MboxResult r;
  for (size_t i = 0; i < in.size(); i += 4) {
    uint32_t w = 0;
    std::memcpy(&w, &in[i], std::min<size_t>(4, in.size() - i));
    b.mmio_write32(mbox + cxl::CxlIoRegs::mbox_payload + i, w);
  }
  b.mmio_write64(mbox + cxl::CxlIoRegs::mbox_command, opcode | (uint64_t{in.size()} << 16));
  const uint32_t ctrl = b.mmio_read32(mbox + cxl::CxlIoRegs::mbox_control);
  b.mmio_write32(mbox + cxl::CxlIoRegs::mbox_control, ctrl | 1u); // doorbell
  const double deadline = b.now_ns() + 2e9;                       // Linux waits 2 s
  while (b.mmio_read32(mbox + cxl::CxlIoRegs::mbox_control) & 1u) {
    if (b.now_ns() > deadline) {
      r.timed_out = true;
      return r;
    }
    b.sleep_ns(500);
  }
  r.rc = static_cast<uint16_t>(b.mmio_read64(mbox + cxl::CxlIoRegs::mbox_status) >> 32);
  const uint32_t len = static_cast<uint32_t>((b.mmio_read64(mbox + cxl::CxlIoRegs::mbox_command) >> 16) & 0x1FFFFF);
  r.payload.resize(len);
  for (uint32_t i = 0; i < len; i += 4) {
    const uint32_t w = b.mmio_read32(mbox + cxl::CxlIoRegs::mbox_payload + i);
    std::memcpy(&r.payload[i], &w, std::min<uint32_t>(4, len - i));
  }
  return r;
}
} // namespace

TEST_F(DeviceFirmwareTest, FirmwareOnTheCoreAnswersIdentifyAndErrors) {
  PlatformConfig pc = load_platform(std::string(PNM_SOURCE_DIR) + "/platforms/pnm-ref.json");
  ASSERT_TRUE(pc.controller.present);
  HostSystem sys(pc);
  PnmDevice& dev = sys.dev;
  HostBridge& host = sys.host;
  MboxResult identify, unknown, bad_len;
  double boot_ns = 0;
  host.set_program([&](sw::Backend& b) {
    const uint64_t mbox = dev.bar_base(2) + dev.regs.config().mailbox_offset;
    // The firmware raises Mailbox Interface Ready once it has booted.
    EXPECT_FALSE(dev.regs.mailbox_ready());
    while (!dev.regs.mailbox_ready()) b.sleep_ns(100);
    boot_ns = b.now_ns();
    identify = mailbox(b, mbox, 0x4000, {});
    unknown = mailbox(b, mbox, 0x4fff, {});
    bad_len = mailbox(b, mbox, 0x4301, {1, 2, 3}); // Inject Poison takes 8 bytes
  });
  sc_core::sc_start();
  ASSERT_FALSE(identify.timed_out);
  EXPECT_GT(boot_ns, 0.0); // booting takes the firmware's own time
  EXPECT_EQ(identify.rc, 0x00);
  ASSERT_GE(identify.payload.size(), 0x43u);
  EXPECT_EQ(std::string(reinterpret_cast<const char*>(identify.payload.data()), 12), "pnmvp-fw 0.2");
  uint64_t total = 0;
  std::memcpy(&total, &identify.payload[0x10], 8);
  EXPECT_EQ(total, dev.capacity_bytes() >> 28); // 256 MiB units: 64 GiB -> 256
  EXPECT_EQ(unknown.rc, 0x03);                   // Unsupported
  EXPECT_EQ(bad_len.rc, 0x16);                   // Invalid Payload Length
  const auto& st = dev.controller->core().stats();
  EXPECT_GT(st.instructions, 0u);
  EXPECT_GE(st.wfi_sleeps, 2u); // it slept between the three commands
  EXPECT_EQ(dev.mailbox.commands_posted(), 3u);
}
