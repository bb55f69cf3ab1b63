// RiscvCore: real firmware through a fake bus, exact instruction counting,
// interrupts while sleeping, bus errors and the stop reasons.
#include <gtest/gtest.h>

#include <cstdint>
#include <stdexcept>
#include <string>
#include <vector>

#include "cpu/riscv_core.h"
#include "fake_bus.h"
#include <pnmvp/hw/device_map.h>

namespace pnm::cpu {
namespace {

using test::FakeBus;

constexpr uint64_t kQuantum = 10'000;
constexpr uint64_t kLimit = 50'000'000; // instructions: a runaway test fails instead of hanging

// Runs until something other than a quantum ends, or kLimit instructions.
RunResult run_until_stop(RiscvCore& core, uint64_t quantum = kQuantum, uint64_t* total = nullptr) {
  uint64_t sum = 0;
  for (;;) {
    RunResult r = core.run(quantum);
    sum += r.instructions;
    EXPECT_LE(r.instructions, quantum);
    if (r.reason != StopReason::quantum || sum > kLimit) {
      if (total) {
        *total = sum;
      }
      return r;
    }
  }
}

// Hand-assembled RV32I (checked with riscv64-unknown-elf-objdump):
//   addi t0, x0, N ; 1: addi t0, t0, -1 ; bnez t0, 1b ; lui t1, 0x10003 ;
//   sw x0, 0(t1)  (PNM_SIMCTRL exit 0) ; j .
// retires 1 + 2N + 2 instructions; the exit stops before `j .`.
std::vector<uint32_t> count_loop(uint32_t n) {
  return {(n << 20) | (5u << 7) | 0x13u, 0xfff28293u, 0xfe029ee3u,
          0x10003337u, 0x00032023u, 0x0000006fu};
}

void load_words(RiscvCore& core, const std::vector<uint32_t>& words) {
  core.load_image(PNM_ITCM_BASE, words.data(), words.size() * 4);
  core.reset(PNM_ITCM_BASE);
}

TEST(cpuCore, HelloPrintsOnConsoleAndExitsZero) {
  FakeBus bus;
  RiscvCore core(bus);
  std::string streamed;
  core.set_console_sink([&](char c) { streamed.push_back(c); });
  core.load_elf(PNM_FW_HELLO_ELF);
  const RunResult r = run_until_stop(core);
  ASSERT_EQ(r.reason, StopReason::exit) << r.message;
  EXPECT_EQ(r.exit_code, 0u);
  EXPECT_TRUE(core.exited());
  EXPECT_EQ(core.console(), "hello from the PNM controller (rv32imac)\n");
  EXPECT_EQ(streamed, core.console());
  EXPECT_TRUE(bus.log.empty()) << "hello only touches the core complex";
  const CoreStats& st = core.stats();
  EXPECT_GT(st.instructions, 100u);
  EXPECT_EQ(st.bus_delay_ps, 0u);
  // 500 MHz, CPI 1: 2 ns per instruction
  EXPECT_EQ(core.time_ps(), st.instructions * 2000);
  // after exit, run() keeps reporting it without executing
  const RunResult again = core.run(100);
  EXPECT_EQ(again.reason, StopReason::exit);
  EXPECT_EQ(again.instructions, 0u);
}

TEST(cpuCore, RetiredCountIsExactForKnownLoop) {
  constexpr uint32_t kIterations = 1000;
  constexpr uint64_t kExpected = 1 + 2 * kIterations + 2;
  for (uint64_t quantum : {1ull, 7ull, 64ull, 1'000'000ull}) {
    FakeBus bus;
    CoreConfig cfg;
    cfg.pj_per_instruction = 5.0;
    RiscvCore core(bus, cfg);
    load_words(core, count_loop(kIterations));
    uint64_t total = 0;
    const RunResult r = run_until_stop(core, quantum, &total);
    ASSERT_EQ(r.reason, StopReason::exit) << "quantum " << quantum << ": " << r.message;
    EXPECT_EQ(total, kExpected) << "quantum " << quantum;
    EXPECT_EQ(core.stats().instructions, kExpected);
    EXPECT_EQ(core.pc(), PNM_ITCM_BASE + 0x14) << "stopped after the exit store";
    EXPECT_EQ(core.time_ps(), kExpected * 2000);
    EXPECT_DOUBLE_EQ(core.energy_pj(), kExpected * 5.0);
  }
}

TEST(cpuCore, QuantumStopsExactlyAtBudget) {
  FakeBus bus;
  RiscvCore core(bus);
  load_words(core, count_loop(1000));
  const RunResult r = core.run(11);
  EXPECT_EQ(r.reason, StopReason::quantum);
  EXPECT_EQ(r.instructions, 11u);
  EXPECT_EQ(core.reg(5), 1000u - 5u) << "addi, then 5 loop iterations";
  EXPECT_EQ(r.elapsed_ps, 11u * 2000u);
  EXPECT_EQ(core.run(0).instructions, 0u);
}

TEST(cpuCore, AdvanceTimeCountsSleepAndStall) {
  FakeBus bus;
  RiscvCore core(bus);
  load_words(core, count_loop(10));
  core.run(5);
  const uint64_t t = core.time_ps();
  EXPECT_EQ(t, 5u * 2000u);
  core.advance_time(t + 700); // not asleep: the platform held the core back
  core.advance_time(t);       // the past is ignored (core ahead of the platform)
  EXPECT_EQ(core.stats().stall_ps, 700u);
  EXPECT_EQ(core.stats().sleep_ps, 0u);
  EXPECT_EQ(core.time_ps(), t + 700);
  EXPECT_EQ(core.next_timer_ps(), UINT64_MAX) << "timer disarmed";
}

TEST(cpuCore, MarkerWritesReachTheSinkWithCoreTime) {
  // lui t1, 0x10003 ; addi t2, x0, 7 ; sw t2, 4(t1) (MARK) ; sw x0, 0(t1) (EXIT) ; j .
  FakeBus bus;
  RiscvCore core(bus);
  std::vector<std::pair<uint32_t, uint64_t>> marks;
  core.set_marker_sink([&](uint32_t v, uint64_t t) { marks.emplace_back(v, t); });
  load_words(core, {0x10003337u, 0x00700393u, 0x00732223u, 0x00032023u, 0x0000006fu});
  const RunResult r = core.run(100);
  ASSERT_EQ(r.reason, StopReason::exit);
  ASSERT_EQ(marks.size(), 1u);
  EXPECT_EQ(marks[0].first, 7u);
  EXPECT_EQ(marks[0].second, 3u * 2000u);
  EXPECT_EQ(core.stats().local_accesses, 2u);
}

TEST(cpuCore, TimeFollowsClockAndCpi) {
  FakeBus bus;
  CoreConfig cfg;
  cfg.clock_mhz = 250.0;          // 4 ns cycle
  cfg.cycles_per_instruction = 1.5; // 6 ns per instruction
  RiscvCore core(bus, cfg);
  load_words(core, count_loop(10));
  const RunResult r = run_until_stop(core);
  ASSERT_EQ(r.reason, StopReason::exit);
  EXPECT_EQ(core.time_ps(), (1 + 20 + 2) * 6000u);
}

TEST(cpuCore, IrqTestCountsInterruptsRaisedWhileSleeping) {
  FakeBus bus;
  RiscvCore core(bus);
  core.load_elf(PNM_FW_IRQ_TEST_ELF);
  RunResult r = run_until_stop(core);
  ASSERT_EQ(r.reason, StopReason::wfi) << r.message;
  EXPECT_TRUE(core.sleeping());
  // asleep with nothing pending: run() returns at once, executing nothing
  r = core.run(kQuantum);
  EXPECT_EQ(r.reason, StopReason::wfi);
  EXPECT_EQ(r.instructions, 0u);
  core.advance_time(core.time_ps() + 1'000'000); // 1 us asleep

  constexpr unsigned kSingles = 5;
  for (unsigned i = 0; i < kSingles; ++i) {
    core.raise_irq(PNM_IRQ_MBOX_DOORBELL);
    r = run_until_stop(core);
    ASSERT_EQ(r.reason, StopReason::wfi) << r.message;
  }
  // two doorbells before the core wakes: the handler claims both
  core.raise_irq(PNM_IRQ_MBOX_DOORBELL);
  core.raise_irq(PNM_IRQ_MBOX_DOORBELL); // latched: same line twice is one claim
  core.irq_controller().write(PNM_INTC_SET_PENDING_OFF, 1u << PNM_IRQ_MBOX_DOORBELL);
  r = run_until_stop(core);
  ASSERT_EQ(r.reason, StopReason::wfi);
  // a line the firmware did not enable stays pending and does not wake it
  core.raise_irq(PNM_IRQ_ENGINE_DONE);
  r = core.run(kQuantum);
  EXPECT_EQ(r.reason, StopReason::wfi);
  EXPECT_EQ(r.instructions, 0u);

  core.raise_irq(PNM_IRQ_SQ_DOORBELL); // "done"
  r = run_until_stop(core);
  ASSERT_EQ(r.reason, StopReason::exit) << r.message;
  EXPECT_EQ(r.exit_code, kSingles + 1);
  EXPECT_NE(core.console().find("irq_test: 6 doorbells"), std::string::npos) << core.console();
  EXPECT_EQ(core.stats().interrupts, kSingles + 2);
  EXPECT_EQ(core.stats().sleep_ps, 1'000'000u);
  EXPECT_GE(core.stats().wfi_sleeps, kSingles + 2);
  EXPECT_EQ(core.irq_controller().pending(), 1u << PNM_IRQ_ENGINE_DONE);
}

TEST(cpuCore, TimerInterruptWakesWfi) {
  FakeBus bus;
  RiscvCore core(bus); // 100 MHz timer: 1000 ticks = 10 us
  core.load_elf(PNM_FW_TIMER_TEST_ELF);
  RunResult r;
  unsigned sleeps = 0;
  for (;;) {
    r = run_until_stop(core);
    if (r.reason != StopReason::wfi) {
      break;
    }
    ++sleeps;
    ASSERT_NE(core.next_timer_ps(), UINT64_MAX) << "asleep with no timer armed";
    ASSERT_GT(core.next_timer_ps(), core.time_ps());
    core.advance_time(core.next_timer_ps());
  }
  ASSERT_EQ(r.reason, StopReason::exit) << r.message;
  EXPECT_EQ(r.exit_code, 3u);
  EXPECT_EQ(sleeps, 3u);
  EXPECT_EQ(core.stats().interrupts, 3u);
  EXPECT_GE(core.time_ps(), 3u * 10'000'000u);
  EXPECT_GT(core.stats().sleep_ps, 2u * 10'000'000u);
  EXPECT_NE(core.console().find("timer_test: 100000000 Hz"), std::string::npos) << core.console();
}

TEST(cpuCore, BusTestReachesWindowsAndRecoversFromAccessFaults) {
  FakeBus bus;
  RiscvCore core(bus);
  core.load_elf(PNM_FW_BUS_TEST_ELF);
  uint64_t bus_delay = 0;
  RunResult r;
  do {
    r = core.run(kQuantum);
    bus_delay += r.bus_delay_ps;
  } while (r.reason == StopReason::quantum);
  ASSERT_EQ(r.reason, StopReason::exit) << r.message;
  EXPECT_EQ(r.exit_code, 0u) << core.console();
  EXPECT_EQ(bus.engine_regs[0x10], 0xCAFEF00Du);
  EXPECT_EQ(bus.window_base, 0x1234567000ull);
  EXPECT_EQ(bus.dram_word(0x1234567010ull), 0x55AA1234u);
  const CoreStats& st = core.stats();
  EXPECT_EQ(st.exceptions, 2u);
  EXPECT_EQ(st.bus_errors, 2u);
  uint64_t reads = 0, writes = 0, expected_delay = 0;
  for (const auto& a : bus.log) {
    (a.write ? writes : reads)++;
    expected_delay += a.write ? bus.write_latency_ps : bus.read_latency_ps;
  }
  EXPECT_EQ(st.bus_reads, reads);
  EXPECT_EQ(st.bus_writes, writes);
  EXPECT_EQ(bus_delay, expected_delay);
  EXPECT_EQ(st.bus_delay_ps, expected_delay);
  EXPECT_EQ(core.time_ps(), st.instructions * 2000 + expected_delay);
  // the bus saw increasing time offsets within each run
  ASSERT_GE(bus.log.size(), 2u);
  EXPECT_GT(bus.log.back().offset_ps, 0u);
}

TEST(cpuCore, BusErrorOnLoadStopsWithClearErrorWhenTrapsAreOff) {
  FakeBus bus;
  CoreConfig cfg;
  cfg.trap_on_fault = false;
  RiscvCore core(bus, cfg);
  core.load_elf(PNM_FW_BUS_TEST_ELF);
  const RunResult r = run_until_stop(core);
  ASSERT_EQ(r.reason, StopReason::fault);
  EXPECT_NE(r.message.find("load access fault"), std::string::npos) << r.message;
  EXPECT_NE(r.message.find("mtval=0x1f000000"), std::string::npos) << r.message;
  // precise: the PC is the faulting load itself
  const uint32_t pc = core.pc();
  EXPECT_NE(r.message.find("pc=0x"), std::string::npos);
  EXPECT_LT(pc, PNM_ITCM_BASE + PNM_ITCM_SIZE_BYTES);
  // sticky until reset
  EXPECT_EQ(core.run(10).reason, StopReason::fault);
  EXPECT_EQ(core.stats().exceptions, 0u);
}

TEST(cpuCore, PreciseLoadFaultLeavesDestinationRegisterUntouched) {
  // lui t1, 0x10200 (mailbox) ; lw t2, 0(t1) ; addi t2, t2, 1 ; sw t2, 4(t1)
  FakeBus bus;
  bus.mbox_caps = 41;
  CoreConfig cfg;
  cfg.trap_on_fault = false;
  RiscvCore core(bus, cfg);
  load_words(core, {0x10200337u, 0x00032383u, 0x00138393u, 0x00732223u, 0x0000006fu});
  RunResult r = core.run(10);
  EXPECT_EQ(r.reason, StopReason::fault) << "store to a read-only mailbox offset";
  EXPECT_EQ(core.reg(7), 42u) << "lw then addi ran";
  EXPECT_EQ(core.pc(), PNM_ITCM_BASE + 12) << "stopped on the store";
  EXPECT_EQ(r.instructions, 3u) << "the faulting store does not retire";
  EXPECT_NE(r.message.find("store access fault"), std::string::npos);

  // a load that faults leaves its destination register alone
  FakeBus bus2;
  RiscvCore core2(bus2, cfg);
  load_words(core2, {0x1f000337u /* lui t1, 0x1f000: no device */, 0x00032383u, 0x00138393u,
                     0x0000006fu});
  r = core2.run(10);
  EXPECT_EQ(r.reason, StopReason::fault);
  EXPECT_EQ(core2.reg(7), 0u);
  EXPECT_EQ(core2.pc(), PNM_ITCM_BASE + 4);
  EXPECT_EQ(r.instructions, 1u);
}

TEST(cpuCore, StoreToItcmIsAnAccessFault) {
  FakeBus bus;
  CoreConfig cfg;
  cfg.trap_on_fault = false;
  RiscvCore core(bus, cfg);
  load_words(core, {0x00002023u /* sw x0, 0(x0) */, 0x0000006fu});
  const RunResult r = core.run(10);
  ASSERT_EQ(r.reason, StopReason::fault);
  EXPECT_NE(r.message.find("store access fault"), std::string::npos) << r.message;
  EXPECT_EQ(r.instructions, 0u);
}

TEST(cpuCore, FetchOutsideItcmIsAnInstructionAccessFault) {
  CoreConfig cfg;
  cfg.trap_on_fault = false;
  for (uint32_t lui_t0 : {0x101002b7u /* engine window */, 0x001002b7u /* DTCM: not executable */}) {
    FakeBus bus;
    RiscvCore core(bus, cfg);
    load_words(core, {lui_t0, 0x00028067u /* jr t0 */});
    const RunResult r = core.run(10);
    ASSERT_EQ(r.reason, StopReason::fault);
    EXPECT_NE(r.message.find("instruction access fault"), std::string::npos) << r.message;
    const uint32_t target = lui_t0 & 0xfffff000u;
    EXPECT_EQ(core.pc(), target);
    EXPECT_NE(r.message.find("mtval=" + std::string(target == 0x10100000u ? "0x10100000" : "0x00100000")),
              std::string::npos)
        << r.message;
    EXPECT_EQ(r.instructions, 2u) << "lui and jr retired";
    EXPECT_TRUE(bus.log.empty()) << "fetches never reach the bus";
  }
}

TEST(cpuCore, IllegalInstructionReportsItsEncoding) {
  FakeBus bus;
  CoreConfig cfg;
  cfg.trap_on_fault = false;
  RiscvCore core(bus, cfg);
  load_words(core, {0x00000013u, 0xffffffffu});
  const RunResult r = core.run(10);
  ASSERT_EQ(r.reason, StopReason::fault);
  EXPECT_NE(r.message.find("illegal instruction"), std::string::npos) << r.message;
  EXPECT_NE(r.message.find("mtval=0xffffffff"), std::string::npos) << r.message;
  EXPECT_EQ(core.pc(), PNM_ITCM_BASE + 4);
  EXPECT_EQ(r.instructions, 1u);
}

TEST(cpuCore, EcallWithoutTrapHandlerIsAFault) {
  FakeBus bus;
  RiscvCore core(bus); // traps on, but mtvec is 0
  load_words(core, {0x00000013u /* nop */, 0x00000073u /* ecall */, 0x0000006fu});
  const RunResult r = core.run(10);
  ASSERT_EQ(r.reason, StopReason::fault);
  EXPECT_NE(r.message.find("ecall"), std::string::npos) << r.message;
  EXPECT_NE(r.message.find("mcause=11"), std::string::npos) << r.message;
  EXPECT_NE(r.message.find("no trap handler"), std::string::npos) << r.message;
  EXPECT_EQ(core.pc(), PNM_ITCM_BASE + 4);
  EXPECT_EQ(r.instructions, 1u);
}

TEST(cpuCore, EbreakStopsAtBreakpoint) {
  FakeBus bus;
  RiscvCore core(bus);
  load_words(core, {0x00000013u, 0x00100073u /* ebreak */, 0x0000006fu});
  const RunResult r = core.run(10);
  ASSERT_EQ(r.reason, StopReason::breakpoint) << r.message;
  EXPECT_EQ(core.pc(), PNM_ITCM_BASE + 4);
  EXPECT_EQ(r.instructions, 1u);
}

TEST(cpuCore, BusPortExceptionPropagatesFromRun) {
  FakeBus bus;
  bus.on_access = [](const FakeBus::Access&) { throw std::runtime_error("target exploded"); };
  RiscvCore core(bus);
  load_words(core, {0x10200337u, 0x00032383u, 0x0000006fu});
  EXPECT_THROW(
      {
        try {
          core.run(10);
        } catch (const std::runtime_error& e) {
          EXPECT_STREQ(e.what(), "target exploded");
          throw;
        }
      },
      std::runtime_error);
  EXPECT_EQ(core.stats().instructions, 1u) << "the lui retired, the lw did not";
}

TEST(cpuCore, InterruptRaisedByBusTargetIsTakenAtNextInstruction) {
  // Firmware: mtvec = handler; mie.MEIE; INTC enable line 0; mstatus.MIE;
  // then a bus write whose target raises line 0 immediately.
  // Hand-assembled (offsets in bytes):
  //  0: lui t0, 0x0 ; 4: addi t0, t0, 0x40 ; 8: csrw mtvec, t0
  //  c: lui t1, 0x1 ; 10: addi t1, t1, -2048 (0x800) ; 14: csrw mie, t1
  // 18: lui t2, 0x10000 ; 1c: addi t3, x0, 1 ; 20: sw t3, 4(t2) (INTC ENABLE)
  // 24: csrsi mstatus, 8 ; 28: lui t4, 0x10100 (engine) ; 2c: sw t3, 0(t4)
  // 30: addi a0, a0, 1  (must run after the handler) ; 34: j 34
  // 40: handler: lw t5, 8(t2) (claim) ; 44: addi a1, a1, 1 ; 48: mret
  const std::vector<uint32_t> prog = {
      0x000002b7u, 0x04028293u, 0x30529073u, 0x00001337u, 0x80030313u, 0x30431073u,
      0x100003b7u, 0x00100e13u, 0x01c3a223u, 0x30046073u, 0x10100eb7u, 0x01cea023u,
      0x00150513u, 0x0000006fu, 0x00000013u, 0x00000013u,
      0x0083af03u, 0x00158593u, 0x30200073u};
  FakeBus bus;
  RiscvCore* core_ptr = nullptr;
  bus.on_access = [&](const FakeBus::Access& a) {
    if (a.write && a.addr == PNM_ENGINE_BASE) {
      core_ptr->raise_irq(PNM_IRQ_MBOX_DOORBELL); // line 0
    }
  };
  RiscvCore core(bus);
  core_ptr = &core;
  load_words(core, prog);
  const RunResult r = core.run(14); // 12 to the engine write, 3 in the handler
  EXPECT_EQ(r.reason, StopReason::quantum) << r.message;
  EXPECT_EQ(core.reg(11), 1u) << "handler ran";
  EXPECT_EQ(core.reg(10), 0u) << "interrupt taken before the next instruction";
  EXPECT_EQ(core.csr(Csr::mepc), PNM_ITCM_BASE + 0x30);
  EXPECT_EQ(core.csr(Csr::mcause), 0x8000000Bu);
  EXPECT_EQ(core.reg(30), 0u) << "claimed line 0";
  EXPECT_EQ(core.pc(), PNM_ITCM_BASE + 0x48) << "next: mret";
  const RunResult r2 = core.run(2);
  EXPECT_EQ(r2.instructions, 2u);
  EXPECT_EQ(core.reg(10), 1u) << "mret returned to mepc";
  EXPECT_EQ(core.stats().interrupts, 1u);
}

TEST(cpuCore, RejectsBadConfigAndOutOfRangeArguments) {
  FakeBus bus;
  CoreConfig cfg;
  cfg.clock_mhz = 0;
  EXPECT_THROW(RiscvCore(bus, cfg), std::invalid_argument);
  RiscvCore core(bus);
  const uint32_t word = 0;
  EXPECT_THROW(core.load_image(0x00200000, &word, 4), std::out_of_range);
  EXPECT_THROW(core.load_image(PNM_ITCM_BASE + PNM_ITCM_SIZE_BYTES - 2, &word, 4), std::out_of_range);
  EXPECT_THROW(core.raise_irq(32), std::out_of_range);
  EXPECT_THROW(core.reg(32), std::out_of_range);
}

TEST(cpuCore, SeveralCoresLiveInOneProcess) {
  FakeBus bus_a, bus_b;
  RiscvCore a(bus_a), b(bus_b);
  load_words(a, count_loop(10));
  load_words(b, count_loop(20));
  const RunResult ra = run_until_stop(a, 3);
  const RunResult rb = run_until_stop(b, 5);
  EXPECT_EQ(ra.reason, StopReason::exit);
  EXPECT_EQ(rb.reason, StopReason::exit);
  EXPECT_EQ(a.stats().instructions, 23u);
  EXPECT_EQ(b.stats().instructions, 43u);
}

} // namespace
} // namespace pnm::cpu
