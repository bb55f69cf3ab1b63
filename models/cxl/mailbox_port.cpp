#include "mailbox_port.h"

#include "common/log.h"
#include <pnmvp/hw/device_map.h>

#include <cstring>

namespace pnm::cxl {

MailboxPort::MailboxPort(sc_core::sc_module_name name, CxlIoRegs& regs, uint64_t capacity_bytes)
    : sc_module(name), reg_socket("reg_socket"), regs_(regs), capacity_(capacity_bytes),
      out_(regs.mailbox_payload_bytes()) {
  reg_socket.register_b_transport(this, &MailboxPort::b_transport);
  regs_.on_doorbell = [this]() {
    cmd_ = regs_.take_command();
    waiting_ = true;
    if (on_command) on_command();
  };
}

void MailboxPort::b_transport(tlm::tlm_generic_payload& tx, sc_core::sc_time& delay) {
  delay += sc_core::sc_time(2, sc_core::SC_NS); // a register access on the control bus
  const uint64_t off = tx.get_address();
  const unsigned len = tx.get_data_length();
  unsigned char* data = tx.get_data_ptr();
  const uint64_t payload_bytes = regs_.mailbox_payload_bytes();
  tx.set_response_status(tlm::TLM_OK_RESPONSE);
  auto in_window = [&](uint64_t base) { return off >= base && off + len <= base + payload_bytes; };
  if (in_window(PNM_MBOXFW_IN_PAYLOAD_OFF) && tx.is_read()) {
    const uint64_t i = off - PNM_MBOXFW_IN_PAYLOAD_OFF;
    for (unsigned k = 0; k < len; ++k) data[k] = i + k < cmd_.payload.size() ? cmd_.payload[i + k] : 0;
    return;
  }
  if (in_window(PNM_MBOXFW_OUT_PAYLOAD_OFF)) {
    const uint64_t i = off - PNM_MBOXFW_OUT_PAYLOAD_OFF;
    if (tx.is_write()) std::memcpy(&out_[i], data, len);
    else std::memcpy(data, &out_[i], len);
    return;
  }
  if (len != 4 || (off & 3)) {
    tx.set_response_status(tlm::TLM_BURST_ERROR_RESPONSE);
    log::warn(name(), "register access of {} bytes at 0x{:x} must be an aligned word", len, off);
    return;
  }
  uint32_t v = 0;
  if (tx.is_write()) std::memcpy(&v, data, 4);
  switch (off) {
  case PNM_MBOXFW_STATUS_OFF: v = waiting_ ? 1 : 0; break;
  case PNM_MBOXFW_OPCODE_OFF: v = cmd_.opcode; break;
  case PNM_MBOXFW_IN_LEN_OFF: v = static_cast<uint32_t>(cmd_.payload.size()); break;
  case PNM_MBOXFW_OUT_LEN_OFF:
    if (tx.is_write()) out_len_ = std::min<uint32_t>(v, static_cast<uint32_t>(payload_bytes));
    v = out_len_;
    break;
  case PNM_MBOXFW_RESULT_OFF:
    if (tx.is_write()) {
      if (!waiting_) {
        log::warn(name(), "firmware posted a result with no command waiting");
        break;
      }
      regs_.post_result(static_cast<uint16_t>(v), std::vector<uint8_t>(out_.begin(), out_.begin() + out_len_));
      waiting_ = false;
      out_len_ = 0;
      ++posted_;
    }
    break;
  case PNM_MBOXFW_CAPACITY_LO_OFF: v = static_cast<uint32_t>(capacity_); break;
  case PNM_MBOXFW_CAPACITY_HI_OFF: v = static_cast<uint32_t>(capacity_ >> 32); break;
  case PNM_MBOXFW_PAYLOAD_BYTES_OFF: v = static_cast<uint32_t>(payload_bytes); break;
  case PNM_MBOXFW_READY_OFF:
    if (tx.is_write()) regs_.set_mailbox_ready(v & 1u);
    v = regs_.mailbox_ready() ? 1 : 0;
    break;
  default:
    tx.set_response_status(tlm::TLM_ADDRESS_ERROR_RESPONSE);
    log::warn(name(), "no mailbox register at 0x{:x}", off);
    return;
  }
  if (tx.is_read()) std::memcpy(data, &v, 4);
}

void MailboxPort::report(StatGroup& g) const {
  g.set("commands_completed", static_cast<double>(posted_), "count",
        "mailbox commands the firmware completed (result posted to the host)");
}

} // namespace pnm::cxl
