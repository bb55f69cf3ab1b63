#include "controller_core.h"

#include "common/log.h"
#include <pnmvp/hw/device_map.h>

#include <cstring>

namespace pnm::cpu {

ControllerCore::ControllerCore(sc_core::sc_module_name name, const CoreConfig& cfg,
                               const std::string& elf_path, uint64_t quantum_instructions)
    : sc_module(name), mmio_socket("mmio_socket"), mem_socket("mem_socket"), core_(*this, cfg),
      quantum_(quantum_instructions ? quantum_instructions : 1) {
  core_.load_elf(elf_path); // throws ElfError naming the file and the problem
  SC_HAS_PROCESS(ControllerCore);
  SC_THREAD(run_thread);
}

void ControllerCore::raise_irq(unsigned line) {
  if (line >= PNM_INTC_LINE_COUNT) {
    log::warn(name(), "interrupt line {} does not exist (0..{})", line, PNM_INTC_LINE_COUNT - 1);
    return;
  }
  pending_irqs_ |= 1u << line;
  irq_event_.notify(sc_core::SC_ZERO_TIME);
}

BusResult ControllerCore::read(uint32_t addr, void* data, unsigned size, uint64_t& delay_ps) {
  return transport(false, addr, data, size, delay_ps);
}

BusResult ControllerCore::write(uint32_t addr, const void* data, unsigned size,
                                uint64_t& delay_ps) {
  return transport(true, addr, const_cast<void*>(data), size, delay_ps);
}

BusResult ControllerCore::transport(bool write, uint32_t addr, void* data, unsigned size,
                                    uint64_t& delay_ps) {
  // The DRAM window registers live here: they only change this translation.
  if (addr >= PNM_DRAMWIN_CTRL_BASE && addr < PNM_DRAMWIN_CTRL_BASE + PNM_BLOCK_SIZE_BYTES) {
    const uint32_t off = addr - PNM_DRAMWIN_CTRL_BASE;
    if (size != 4 || (off & 3)) return BusResult::error;
    uint32_t v = 0;
    if (write) std::memcpy(&v, data, 4);
    switch (off) {
    case PNM_DRAMWIN_BASE_LO_OFF:
      if (write) {
        if (v % PNM_DRAM_WINDOW_ALIGN_BYTES) return BusResult::error;
        window_base_ = (window_base_ & ~0xffffffffull) | v;
      }
      v = static_cast<uint32_t>(window_base_);
      break;
    case PNM_DRAMWIN_BASE_HI_OFF:
      if (write) window_base_ = (window_base_ & 0xffffffffull) | (static_cast<uint64_t>(v) << 32);
      v = static_cast<uint32_t>(window_base_ >> 32);
      break;
    case PNM_DRAMWIN_SIZE_OFF:
      v = PNM_DRAM_WINDOW_SIZE_BYTES; // read-only: writes ignored
      break;
    default:
      v = 0; // reserved: reads 0, writes ignored
    }
    if (!write) std::memcpy(data, &v, 4);
    return BusResult::ok;
  }
  const bool to_dram = addr >= PNM_DRAM_WINDOW_BASE &&
                       addr - PNM_DRAM_WINDOW_BASE < PNM_DRAM_WINDOW_SIZE_BYTES;
  // A device register access happens at the core's own time: SystemC time
  // is first brought up to it (the quantum keeper's sync on I/O), so the
  // firmware sees a doorbell or status change when it happens, not at the
  // next quantum boundary, and what it writes takes effect on time. DRAM
  // accesses stay decoupled (annotated delay only).
  const uint64_t at_ps = run_start_ps_ + delay_ps;
  const uint64_t now_ps = static_cast<uint64_t>(sc_core::sc_time_stamp().to_seconds() * 1e12 + 0.5);
  uint64_t offset_ps = at_ps > now_ps ? at_ps - now_ps : 0; // of this access from the present SystemC time
  if (!to_dram && offset_ps) {
    sc_core::wait(sc_core::sc_time(static_cast<double>(offset_ps), sc_core::SC_PS));
    offset_ps = 0;
  }
  tlm::tlm_generic_payload tx;
  tx.set_command(write ? tlm::TLM_WRITE_COMMAND : tlm::TLM_READ_COMMAND);
  tx.set_address(to_dram ? window_base_ + (addr - PNM_DRAM_WINDOW_BASE) : addr);
  tx.set_data_ptr(static_cast<unsigned char*>(data));
  tx.set_data_length(size);
  tx.set_streaming_width(size);
  tx.set_response_status(tlm::TLM_INCOMPLETE_RESPONSE);
  sc_core::sc_time delay(static_cast<double>(offset_ps), sc_core::SC_PS);
  (to_dram ? mem_socket : mmio_socket)->b_transport(tx, delay);
  delay_ps += static_cast<uint64_t>(delay.to_seconds() * 1e12 + 0.5) - offset_ps; // what the access took
  if (tx.get_response_status() != tlm::TLM_OK_RESPONSE) {
    log::warn(name(), "bus error: {} of {} bytes at 0x{:08x} ({})", write ? "store" : "load", size,
              addr, tx.get_response_string());
    return BusResult::error;
  }
  return BusResult::ok;
}

void ControllerCore::run_thread() {
  using sc_core::sc_time;
  using sc_core::SC_PS;
  for (;;) {
    const uint64_t now_ps = static_cast<uint64_t>(sc_core::sc_time_stamp().to_seconds() * 1e12 + 0.5);
    core_.advance_time(now_ps);
    for (unsigned line = 0; pending_irqs_; ++line)
      if (pending_irqs_ & (1u << line)) {
        core_.raise_irq(line);
        pending_irqs_ &= ~(1u << line);
      }
    run_start_ps_ = now_ps;
    RunResult r = core_.run(quantum_);
    if (r.reason == StopReason::wfi && r.instructions == 0) {
      // Asleep and nothing wakes it yet: wait for an interrupt or the timer,
      // without running the host CPU.
      const uint64_t timer = core_.next_timer_ps();
      asleep_ = true;
      if (timer == UINT64_MAX) sc_core::wait(irq_event_);
      else sc_core::wait(sc_time(static_cast<double>(timer > now_ps ? timer - now_ps : 0), SC_PS), irq_event_);
      asleep_ = false;
      continue;
    }
    // Temporal decoupling: the quantum ran ahead; catch SystemC time up (less
    // what device-register accesses already synchronised).
    const uint64_t end_ps = run_start_ps_ + r.elapsed_ps;
    const uint64_t at_ps = static_cast<uint64_t>(sc_core::sc_time_stamp().to_seconds() * 1e12 + 0.5);
    if (end_ps > at_ps) sc_core::wait(sc_time(static_cast<double>(end_ps - at_ps), SC_PS));
    if (r.reason == StopReason::exit) {
      log::info(name(), "firmware exited with code {} after {} instructions", r.exit_code,
                core_.stats().instructions);
      break;
    }
    if (r.reason == StopReason::fault || r.reason == StopReason::breakpoint) {
      log::error(name(), "firmware stopped: {} ({})", stop_reason_name(r.reason), r.message);
      break;
    }
  }
  finished_ = true;
  finished_event_.notify(sc_core::SC_ZERO_TIME);
}

void ControllerCore::report(StatGroup& g) const {
  const CoreStats& s = core_.stats();
  g.set("instructions", static_cast<double>(s.instructions), "count", "instructions retired");
  g.set("energy_pj", core_.energy_pj(), "pJ", "instructions retired times energy per instruction");
  g.set("busy_ns", static_cast<double>(s.busy_ps) * 1e-3, "ns", "executing, bus delay included");
  g.set("bus_delay_ns", static_cast<double>(s.bus_delay_ps) * 1e-3, "ns", "part of busy time waiting for the bus");
  g.set("sleep_ns", static_cast<double>(s.sleep_ps) * 1e-3, "ns", "asleep in wfi");
  g.set("bus_reads", static_cast<double>(s.bus_reads), "count", "loads from the device bus and DRAM window");
  g.set("bus_writes", static_cast<double>(s.bus_writes), "count", "stores to the device bus and DRAM window");
  g.set("bus_errors", static_cast<double>(s.bus_errors), "count", "bus accesses that failed");
  g.set("interrupts", static_cast<double>(s.interrupts), "count", "interrupts taken");
  g.set("exceptions", static_cast<double>(s.exceptions), "count", "synchronous traps taken");
}

} // namespace pnm::cpu
