// The firmware's side of the PNM queue doorbells: a register block on the
// device's control bus (PNM_QDB_* in pnmvp/hw/device_map.h).
// Host writes of a doorbell (SQ tail or CQ head, in the CXL.io register
// file, BAR2) set the queue's PENDING bit and call on_sq_doorbell (wired to the core's
// PNM_IRQ_SQ_DOORBELL); the firmware acknowledges PENDING bits, reads the
// doorbell values, and writes HOST_IRQ to interrupt the host (MSI).
#pragma once

#include "cxl/cxl_io_regs.h"

#include <functional>
#include <systemc>
#include <tlm>
#include <tlm_utils/simple_target_socket.h>

namespace pnm::cxl {

class QueueDoorbellPort : public sc_core::sc_module {
public:
  tlm_utils::simple_target_socket<QueueDoorbellPort> reg_socket;

  // At most 64 queues (two PENDING words).
  QueueDoorbellPort(sc_core::sc_module_name name, CxlIoRegs& regs);

  std::function<void()> on_sq_doorbell; // to the controller's interrupt line
  std::function<void()> on_host_irq;    // to the host (MSI)
  uint64_t pending() const { return pending_; }
  uint64_t host_irqs() const { return host_irqs_; }
  uint64_t sq_doorbells() const { return sq_doorbells_; }

private:
  void b_transport(tlm::tlm_generic_payload& tx, sc_core::sc_time& delay);

  CxlIoRegs& regs_;
  uint64_t pending_ = 0;
  uint64_t host_irqs_ = 0, sq_doorbells_ = 0;
};

} // namespace pnm::cxl
