// RV32IMAC controller core: an instruction-set simulator on Unicorn 2 (QEMU
// TCG) with the core complex around it. Plain C++, no SystemC: the SystemC
// module wraps run()/raise_irq()/advance_time() and implements BusPort with
// TLM b_transport.
//
// Memory seen by the firmware (pnmvp/hw/device_map.h):
//   ITCM, DTCM            host memory inside Unicorn (no bus traffic)
//   INTC, TIMER, CONSOLE, SIMCTRL   core-complex blocks modelled here
//   everything else       BusPort (mailbox, engine, DRAM window, ...);
//                         a bus error is a precise load/store access fault
//
// Execution is in quanta: run(n) retires at most n instructions (counted
// exactly) and stops early on wfi, on an exit request, or on a fault.
// Time = instructions * cycles_per_instruction / clock + bus delays, plus
// time the platform reports through advance_time() while the core sleeps.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "bus_port.h"
#include "int_controller.h"

namespace pnm::cpu {

struct CoreConfig {
  double clock_mhz = 500.0;           // core clock
  double cycles_per_instruction = 1.0; // average CPI of the modelled pipeline
  // Energy per retired instruction. The value (and its source) comes from
  // the platform JSON; 0 until the platform sets it.
  double pj_per_instruction = 0.0;
  uint64_t timer_hz = 100'000'000; // MTIME tick rate (10 ns per tick)
  // true: exceptions (access faults, illegal instructions, ecall) trap to
  // mtvec like hardware; false: run() stops with StopReason::fault instead.
  bool trap_on_fault = true;
};

enum class StopReason : uint8_t {
  quantum,    // retired max_instructions
  wfi,        // sleeping in wfi until an enabled interrupt is pending
  exit,       // firmware wrote PNM_SIMCTRL_EXIT; exit_code is valid
  fault,      // unrecoverable: see message (core state kept for inspection)
  breakpoint, // ebreak at pc()
};
const char* stop_reason_name(StopReason r);

struct RunResult {
  StopReason reason = StopReason::quantum;
  uint64_t instructions = 0; // retired in this call
  uint64_t bus_delay_ps = 0; // latency added by bus targets in this call
  uint64_t elapsed_ps = 0;   // instructions * CPI / clock + bus_delay_ps
  uint32_t exit_code = 0;    // valid when reason == exit
  std::string message;       // fault / breakpoint description
};

struct CoreStats {
  uint64_t instructions = 0;  // retired
  uint64_t busy_ps = 0;       // executing, including bus delay
  uint64_t bus_delay_ps = 0;  // part of busy_ps spent waiting for the bus
  uint64_t sleep_ps = 0;      // asleep in wfi (reported by advance_time)
  uint64_t stall_ps = 0;      // not asleep, but time moved without running
  uint64_t bus_reads = 0;
  uint64_t bus_writes = 0;
  uint64_t bus_errors = 0;
  uint64_t local_accesses = 0; // core-complex registers
  uint64_t interrupts = 0;     // taken
  uint64_t exceptions = 0;     // synchronous traps taken
  uint64_t wfi_sleeps = 0;
  uint64_t runs = 0; // run() calls that executed something
};

enum class Csr : uint8_t { mstatus, mie, mtvec, mepc, mcause, mtval };

class RiscvCore {
public:
  explicit RiscvCore(BusPort& bus, const CoreConfig& cfg = {});
  ~RiscvCore();
  RiscvCore(const RiscvCore&) = delete;
  RiscvCore& operator=(const RiscvCore&) = delete;

  // Clears both TCMs, loads the PT_LOAD segments at their load addresses
  // and resets the core to the entry point. Throws ElfError (message starts
  // with the path) for bad files and for segments outside the TCMs.
  void load_elf(const std::string& path);
  // Raw bytes into a TCM (tests, hand-written code). Throws
  // std::out_of_range if [addr, addr + bytes) is not inside one TCM.
  void load_image(uint32_t addr, const void* data, size_t bytes);
  // Registers and CSRs to reset values, PC = pc; memory is kept.
  void reset(uint32_t pc);

  // Executes up to max_instructions, starting at time_ps(). BusPort calls
  // get delay_ps = time offset from that start. Exceptions from BusPort or
  // the sinks propagate (the instructions retired so far are accounted
  // first). While sleeping() it returns StopReason::wfi without executing
  // until an interrupt enabled in mie is pending.
  RunResult run(uint64_t max_instructions);

  // Latches interrupt line `line` (PNM_IRQ_*). Safe to call between run()
  // calls and from inside BusPort callbacks.
  void raise_irq(unsigned line);
  IntController& irq_controller();

  // Local time of the core. run() advances it; the platform moves it
  // forward with advance_time() (e.g. after sleeping until an interrupt).
  uint64_t time_ps() const;
  void advance_time(uint64_t now_ps);
  // When the timer interrupt becomes pending, if it is enabled in mie
  // (UINT64_MAX otherwise): a platform whose core sleeps in wfi must call
  // advance_time() and run() again by then at the latest.
  uint64_t next_timer_ps() const;

  bool sleeping() const;
  bool exited() const;
  uint32_t exit_code() const;
  uint32_t pc() const;
  uint32_t reg(unsigned x) const; // x0..x31
  uint32_t csr(Csr c) const;

  // Debug console bytes (also kept in console()).
  void set_console_sink(std::function<void(char)> sink);
  const std::string& console() const;
  // PNM_SIMCTRL_MARK writes: (value, core time in ps).
  void set_marker_sink(std::function<void(uint32_t, uint64_t)> sink);

  const CoreStats& stats() const;
  double energy_pj() const; // instructions * pj_per_instruction
  const CoreConfig& config() const;
  double ps_per_instruction() const;

  struct Impl; // Unicorn state and callbacks (riscv_core.cpp)

private:
  std::unique_ptr<Impl> impl_;
};

} // namespace pnm::cpu
