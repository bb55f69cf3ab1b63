// One PNM CXL Type-3 device: DDR5 DRAM behind a device bus, the CXL port
// (CXL.io registers; CXL.mem: the port's link module in front of the
// controller, cxl::CxlMemPort). All state is
// inside the object, so a platform can instantiate several.
//
// Host-facing sockets: cxl_io.config_socket, cxl_io.mmio_socket,
// cxl_mem.host_socket. Device memory has one front end (dram.front_end())
// with a port per initiator: "host" (CXL.mem, socket 0 of dram.mem_socket),
// "controller" (the core's DRAM window, socket 1) and "engine" (the
// engine's streamers, through engine_mem). ctrl_bus is the controller's
// view of the device's registers (include/pnmvp/hw/device_map.h): the engine's at
// PNM_ENGINE_BASE.
#pragma once

#include "bus/counter_port.h"
#include "bus/device_bus.h"
#include "common/stats.h"
#include "cxl/cxl_io_regs.h"
#include "cxl/cxl_io_target.h"
#include "cxl/cxl_mem_controller.h"
#include "cxl/mailbox_port.h"
#include "cxl/queue_doorbell_port.h"
#include "cpu/controller_core.h"
#include "dram/dram_tlm.h"
#include "dram/memory_port.h"
#include "platform.h"
#include "pnm/datapath.h"
#include "pnm/engine_tlm.h"

#include <functional>
#include <memory>
#include <string>
#include <vector>
#include <systemc>

namespace pnm {

class PnmDevice : public sc_core::sc_module {
public:
  PnmDevice(sc_core::sc_module_name name, const PlatformConfig& platform);

  cxl::CxlIoRegs regs;
  dram::DramTlm dram;
  cxl::CxlIoTarget cxl_io;
  cxl::CxlMemPort cxl_mem;                        // link module + CXL.mem controller
  bus::DeviceBus ctrl_bus;
  std::unique_ptr<datapath::Datapath> datapath; // when the platform has an engine
  std::unique_ptr<dram::MemoryPort> engine_mem;  // the engine's address-decoded memory port
  std::unique_ptr<engine::EngineTlm> engine;
  cxl::MailboxPort mailbox;                       // firmware side of the CXL mailbox
  cxl::QueueDoorbellPort doorbells;               // firmware side of the queue doorbells
  bus::CounterPort counters;                      // device-wide counters the firmware reports
  std::unique_ptr<cpu::ControllerCore> controller; // when the platform has a controller

  // The device's interrupt to the host (MSI): queue completions that asked
  // for one, and the mailbox interrupt when the host enabled it.
  std::function<void()> on_host_interrupt;
  // Called with each line the firmware prints, as it prints it (tracing).
  std::function<void(const std::string&)> on_firmware_line;
  // Lines the firmware printed on its console, in order.
  const std::vector<std::string>& firmware_log() const { return fw_log_; }

  uint64_t hpa_base() const { return hpa_base_; }
  uint64_t capacity_bytes() { return dram.core().capacity_bytes(); }
  uint64_t bar_base(unsigned bar) const { return regs.bar_base(bar); }

  // The device's stats root: a fresh snapshot at the current simulated time,
  // named after the device. Layout (docs/ARCHITECTURE.md, "Stats"): time_ns,
  // dram/ (with channels/<i>/ and front_end/<port>/), cxl/mem/,
  // cxl/link/down|up/, cxl/mailbox/, engine/, controller/. Blocks the
  // platform lacks (engine, controller) have no group.
  StatGroup stats() const;
  // The same tree's contents, published under `g`.
  void report(StatGroup& g) const;

private:
  uint64_t counter(unsigned index) const;
  uint64_t hpa_base_;
  std::string fw_line_;
  std::vector<std::string> fw_log_;
};

} // namespace pnm
