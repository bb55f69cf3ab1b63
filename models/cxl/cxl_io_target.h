// CXL.io as the host sees it: PCIe configuration space (config_socket,
// offsets 0..4 KiB) and the BAR register space (mmio_socket, host physical
// addresses inside BAR0/BAR2 as the register file's BARs are programmed).
// Wraps the plain C++ register file (cxl_io_regs.h). A malformed access
// (wrong size, unaligned, unmapped) is answered with an error response, as
// a device answers with Unsupported Request, logged, and the simulation goes
// on; the host bridge turns a failed read into all ones.
#pragma once

#include "cxl/cxl_io_regs.h"

#include <systemc>
#include <tlm>
#include <tlm_utils/simple_target_socket.h>

namespace pnm::cxl {

class CxlIoTarget : public sc_core::sc_module {
public:
  // Optional sockets: a platform that never touches CXL.io (an embedder
  // driving only CXL.mem) may leave them unbound.
  tlm_utils::simple_target_socket_optional<CxlIoTarget> config_socket;
  tlm_utils::simple_target_socket_optional<CxlIoTarget> mmio_socket;

  CxlIoTarget(sc_core::sc_module_name name, CxlIoRegs& regs, double access_latency_ns);

  uint64_t errors() const { return errors_; }

private:
  void config_b_transport(tlm::tlm_generic_payload& tx, sc_core::sc_time& delay);
  void mmio_b_transport(tlm::tlm_generic_payload& tx, sc_core::sc_time& delay);
  void access(bool config, tlm::tlm_generic_payload& tx, sc_core::sc_time& delay);

  CxlIoRegs& regs_;
  sc_core::sc_time latency_;
  uint64_t errors_ = 0;
};

} // namespace pnm::cxl
