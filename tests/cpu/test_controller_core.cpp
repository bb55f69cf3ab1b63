// The controller core inside SystemC: firmware reaches peripherals through
// the device bus, device DRAM through its window, takes decode errors as
// precise faults, and sleeps in wfi until another process raises an interrupt.
#include "../support/systemc_test.h"
#include "bus/device_bus.h"
#include "cpu/controller_core.h"
#include "dram/dram_tlm.h"
#include "platform.h"
#include <pnmvp/hw/device_map.h>

#include <cstring>
#include <tlm_utils/simple_target_socket.h>

using namespace pnm;

namespace {
// A plain register block: a byte array behind a target socket.
struct RegBlock : sc_core::sc_module {
  tlm_utils::simple_target_socket<RegBlock> reg_socket{"reg_socket"};
  std::vector<uint8_t> bytes;
  RegBlock(sc_core::sc_module_name n, size_t size) : sc_module(n), bytes(size) {
    reg_socket.register_b_transport(this, &RegBlock::b_transport);
  }
  void b_transport(tlm::tlm_generic_payload& tx, sc_core::sc_time& delay) {
    const uint64_t a = tx.get_address();
    if (a + tx.get_data_length() > bytes.size()) {
      tx.set_response_status(tlm::TLM_ADDRESS_ERROR_RESPONSE);
      return;
    }
    if (tx.is_write()) std::memcpy(&bytes[a], tx.get_data_ptr(), tx.get_data_length());
    else std::memcpy(tx.get_data_ptr(), &bytes[a], tx.get_data_length());
    delay += sc_core::sc_time(2, sc_core::SC_NS);
    tx.set_response_status(tlm::TLM_OK_RESPONSE);
  }
  uint32_t word(size_t off) const {
    uint32_t v;
    std::memcpy(&v, &bytes[off], 4);
    return v;
  }
};

struct Rig {
  bus::DeviceBus mmio{"mmio"};
  RegBlock mbox{"mbox", PNM_MBOX_SIZE_BYTES};
  RegBlock engine{"engine", 4096};
  std::unique_ptr<dram::DramTlm> dram;
  std::unique_ptr<cpu::ControllerCore> core;
  Rig(const std::string& elf, uint32_t dram_channels) {
    auto cfg = load_platform(std::string(PNM_SOURCE_DIR) + "/platforms/ddr5-4800-8ch.json").dram;
    cfg.channels = dram_channels;
    dram = std::make_unique<dram::DramTlm>("dram", cfg, dram::Fidelity::command);
    cpu::CoreConfig cc;
    cc.pj_per_instruction = 10;
    core = std::make_unique<cpu::ControllerCore>("ctrl", cc, elf, 1000);
    core->mmio_socket.bind(mmio.in_socket);
    core->mem_socket.bind(dram->mem_socket);
    mmio.attach(mbox.reg_socket, "mailbox", PNM_MBOX_BASE, PNM_MBOX_SIZE_BYTES);
    mmio.attach(engine.reg_socket, "engine", PNM_ENGINE_BASE, 4096);
  }
};

class ControllerCoreTest : public pnm::test::SystemCTest {};
} // namespace

TEST_F(ControllerCoreTest, FirmwareReachesPeripheralsAndDramWindow) {
  Rig rig(PNM_FW_BUS_TEST_ELF, 16); // 16 x 8 GiB: the test's DRAM address is at 78 GiB
  const uint32_t caps = 0x0000000Bu;
  std::memcpy(rig.mbox.bytes.data(), &caps, 4);
  sc_core::sc_start();
  ASSERT_TRUE(rig.core->finished());
  EXPECT_TRUE(rig.core->core().exited());
  EXPECT_EQ(rig.core->core().exit_code(), 0u) << rig.core->core().console();
  EXPECT_EQ(rig.engine.word(0x10), 0xCAFEF00Du);
  uint32_t v = 0;
  rig.dram->store().read(0x1234567010ull, reinterpret_cast<uint8_t*>(&v), 4);
  EXPECT_EQ(v, 0x55AA1234u);
  EXPECT_EQ(rig.mmio.decode_errors(), 2u); // the two deliberate bad accesses
  // DRAM accesses cost command-level time: the run took longer than the
  // instructions alone at 500 MHz.
  const auto& st = rig.core->core().stats();
  EXPECT_GT(st.bus_delay_ps, 0u);
  EXPECT_GT(sc_core::sc_time_stamp().to_seconds() * 1e12, st.instructions * 2000.0);
}

TEST_F(ControllerCoreTest, SleepsInWfiUntilInterrupts) {
  Rig rig(PNM_FW_IRQ_TEST_ELF, 1);
  struct Kicker : sc_core::sc_module {
    cpu::ControllerCore* core;
    SC_HAS_PROCESS(Kicker);
    Kicker(sc_core::sc_module_name n, cpu::ControllerCore* c) : sc_module(n), core(c) { SC_THREAD(run); }
    void run() {
      for (int i = 0; i < 3; ++i) {
        sc_core::wait(100, sc_core::SC_US);
        core->raise_irq(PNM_IRQ_MBOX_DOORBELL);
      }
      sc_core::wait(100, sc_core::SC_US);
      core->raise_irq(PNM_IRQ_SQ_DOORBELL);
    }
  } kicker("kicker", rig.core.get());
  sc_core::sc_start();
  ASSERT_TRUE(rig.core->finished());
  EXPECT_EQ(rig.core->core().exit_code(), 3u) << rig.core->core().console();
  const auto& st = rig.core->core().stats();
  EXPECT_GE(st.wfi_sleeps, 3u);
  // 400 us of simulated time, yet only a few thousand instructions: the core
  // slept instead of spinning.
  EXPECT_GE(sc_core::sc_time_stamp(), sc_core::sc_time(400, sc_core::SC_US));
  EXPECT_LT(st.instructions, 20000u);
  EXPECT_GT(st.sleep_ps, 390'000'000u);
  EXPECT_DOUBLE_EQ(rig.core->core().energy_pj(), st.instructions * 10.0);
}

TEST_F(ControllerCoreTest, MissingElfIsAClearError) {
  cpu::CoreConfig cc;
  try {
    cpu::ControllerCore c("ctrl", cc, "/nonexistent/firmware.elf");
    FAIL() << "no error";
  } catch (const std::exception& e) {
    EXPECT_NE(std::string(e.what()).find("/nonexistent/firmware.elf"), std::string::npos) << e.what();
  }
}

TEST_F(ControllerCoreTest, BusRejectsOverlappingRanges) {
  bus::DeviceBus b("b");
  RegBlock r1("r1", 4096), r2("r2", 4096);
  b.attach(r1.reg_socket, "one", 0x1000, 0x1000);
  EXPECT_THROW(b.attach(r2.reg_socket, "two", 0x1800, 0x1000), std::invalid_argument);
}
