// One PNM CXL Type-3 device: DDR5 DRAM behind a device bus, the CXL port
// (CXL.io registers, CXL.mem controller over a flit-level link). All state is
// inside the object, so a platform can instantiate several.
//
// Host-facing sockets: cxl_io.config_socket, cxl_io.mmio_socket,
// cxl_mem.host_socket. Internal initiators of device memory (CXL.mem now;
// the engine and the controller core next) attach to dram_bus.
#pragma once

#include "bus/device_bus.h"
#include "cxl/cxl_io_regs.h"
#include "cxl/cxl_io_target.h"
#include "cxl/cxl_mem_controller.h"
#include "dram/dram_tlm.h"
#include "platform.h"

#include <memory>
#include <systemc>

namespace pnm {

class PnmDevice : public sc_core::sc_module {
public:
  PnmDevice(sc_core::sc_module_name name, const PlatformConfig& platform);

  cxl::CxlIoRegs regs;
  dram::DramTlm dram;
  bus::DeviceBus dram_bus;
  cxl::CxlIoTarget cxl_io;
  cxl::CxlMemController cxl_mem;

  uint64_t hpa_base() const { return hpa_base_; }
  uint64_t capacity_bytes() { return dram.core().capacity_bytes(); }
  uint64_t bar_base(unsigned bar) const { return regs.bar_base(bar); }

private:
  uint64_t hpa_base_;
};

} // namespace pnm
