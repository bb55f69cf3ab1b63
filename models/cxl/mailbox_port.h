// The firmware's side of the CXL primary mailbox: a register block on the
// device's control bus (layout in pnmvp/hw/device_map.h,
// PNM_MBOXFW_*) through which the controller core reads the command the host
// posted and posts the result back into the host-visible mailbox registers
// of the CXL.io register file.
#pragma once

#include "cxl/cxl_io_regs.h"
#include "common/stats.h"

#include <functional>
#include <systemc>
#include <tlm>
#include <tlm_utils/simple_target_socket.h>
#include <vector>

namespace pnm::cxl {

class MailboxPort : public sc_core::sc_module {
public:
  tlm_utils::simple_target_socket<MailboxPort> reg_socket;

  MailboxPort(sc_core::sc_module_name name, CxlIoRegs& regs, uint64_t capacity_bytes);

  // Called when the host rings the doorbell (wire it to the core's interrupt).
  std::function<void()> on_command;
  uint64_t commands_posted() const { return posted_; }
  void report(StatGroup& g) const;

private:
  void b_transport(tlm::tlm_generic_payload& tx, sc_core::sc_time& delay);

  CxlIoRegs& regs_;
  uint64_t capacity_;
  MailboxCommand cmd_;
  bool waiting_ = false;
  uint32_t out_len_ = 0;
  std::vector<uint8_t> out_;
  uint64_t posted_ = 0;
};

} // namespace pnm::cxl
