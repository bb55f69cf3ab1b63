// The device's controller core as a SystemC module: the RV32 ISS
// (riscv_core.h) running firmware in quanta, with temporal decoupling.
// Loads/stores outside the core's TCMs and core-complex registers leave
// through two initiator sockets:
//   mmio_socket: device peripherals (engine registers, CXL mailbox), at
//                their controller-view addresses (pnmvp/hw/device_map.h);
//   mem_socket:  device DRAM, through the 1 GiB window at
//                PNM_DRAM_WINDOW_BASE whose device base the firmware sets in
//                the window registers (PNM_DRAMWIN_CTRL_BASE), handled here.
// Interrupts come in through raise_irq(); a core asleep in wfi waits for one
// (or its timer) without running the host CPU.
#pragma once

#include "riscv_core.h"
#include "common/stats.h"

#include <cstdint>
#include <string>
#include <systemc>
#include <tlm>
#include <tlm_utils/simple_initiator_socket.h>

namespace pnm::cpu {

class ControllerCore : public sc_core::sc_module, private BusPort {
public:
  tlm_utils::simple_initiator_socket<ControllerCore> mmio_socket;
  tlm_utils::simple_initiator_socket<ControllerCore> mem_socket;

  ControllerCore(sc_core::sc_module_name name, const CoreConfig& cfg, const std::string& elf_path,
                 uint64_t quantum_instructions = 10000);

  // Safe from any SystemC process: latched, taken at the next instruction.
  void raise_irq(unsigned line);

  RiscvCore& core() { return core_; }
  // Asleep in wfi with nothing pending: the firmware has finished what it was
  // given (hosts wait for this before a measured window).
  bool asleep() const { return asleep_ && !pending_irqs_; }
  bool finished() const { return finished_; }
  const sc_core::sc_event& finished_event() const { return finished_event_; }
  uint64_t dram_window_base() const { return window_base_; }
  // Publishes instructions, energy and where the core's time went under `g`.
  void report(StatGroup& g) const;

private:
  BusResult read(uint32_t addr, void* data, unsigned size, uint64_t& delay_ps) override;
  BusResult write(uint32_t addr, const void* data, unsigned size, uint64_t& delay_ps) override;
  BusResult transport(bool write, uint32_t addr, void* data, unsigned size, uint64_t& delay_ps);
  void run_thread();

  RiscvCore core_;
  uint64_t quantum_;
  uint64_t window_base_ = 0;
  uint32_t pending_irqs_ = 0;
  uint64_t run_start_ps_ = 0; // SystemC time at the start of the running quantum
  bool asleep_ = false;
  bool finished_ = false;
  sc_core::sc_event irq_event_;
  sc_core::sc_event finished_event_;
};

} // namespace pnm::cpu
