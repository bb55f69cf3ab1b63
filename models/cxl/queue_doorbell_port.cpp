#include "queue_doorbell_port.h"

#include "common/log.h"
#include <pnmvp/hw/device_map.h>

#include <cstring>
#include <stdexcept>

namespace pnm::cxl {

QueueDoorbellPort::QueueDoorbellPort(sc_core::sc_module_name name, CxlIoRegs& regs)
    : sc_module(name), reg_socket("reg_socket"), regs_(regs) {
  if (regs_.doorbell_queues() > 64)
    throw std::invalid_argument("queue doorbell port: at most 64 queues (two PENDING words)");
  reg_socket.register_b_transport(this, &QueueDoorbellPort::b_transport);
  // CQ-head writes pend too: a firmware stalled on a full CQ must hear that
  // the host made room.
  regs_.on_queue_doorbell = [this](unsigned q, bool, uint32_t) {
    pending_ |= 1ull << q;
    ++sq_doorbells_;
    if (on_sq_doorbell) on_sq_doorbell();
  };
}

void QueueDoorbellPort::b_transport(tlm::tlm_generic_payload& tx, sc_core::sc_time& delay) {
  delay += sc_core::sc_time(2, sc_core::SC_NS); // a register access on the control bus
  const uint64_t off = tx.get_address();
  tx.set_response_status(tlm::TLM_OK_RESPONSE);
  if (tx.get_data_length() != 4 || (off & 3)) {
    tx.set_response_status(tlm::TLM_BURST_ERROR_RESPONSE);
    log::warn(name(), "register access of {} bytes at 0x{:x} must be an aligned word", tx.get_data_length(), off);
    return;
  }
  uint32_t v = 0;
  if (tx.is_write()) std::memcpy(&v, tx.get_data_ptr(), 4);
  const unsigned queues = regs_.doorbell_queues();
  switch (off) {
  case PNM_QDB_PENDING_LO_OFF: v = static_cast<uint32_t>(pending_); break;
  case PNM_QDB_PENDING_HI_OFF: v = static_cast<uint32_t>(pending_ >> 32); break;
  case PNM_QDB_ACK_LO_OFF:
    if (tx.is_write()) pending_ &= ~uint64_t{v};
    v = 0;
    break;
  case PNM_QDB_ACK_HI_OFF:
    if (tx.is_write()) pending_ &= ~(uint64_t{v} << 32);
    v = 0;
    break;
  case PNM_QDB_HOST_IRQ_OFF:
    if (tx.is_write()) {
      ++host_irqs_;
      if (on_host_irq) on_host_irq();
    }
    v = 0;
    break;
  case PNM_QDB_QUEUES_OFF: v = queues; break;
  default:
    if (off >= PNM_QDB_DOORBELL_OFF && off < PNM_QDB_DOORBELL_OFF + 8ull * queues && tx.is_read()) {
      const unsigned q = static_cast<unsigned>((off - PNM_QDB_DOORBELL_OFF) / 8);
      v = (off & 4) ? regs_.cq_head_doorbell(q) : regs_.sq_tail_doorbell(q);
      break;
    }
    tx.set_response_status(tlm::TLM_ADDRESS_ERROR_RESPONSE);
    log::warn(name(), "no doorbell register at 0x{:x} ({})", off, tx.is_write() ? "write" : "read");
    return;
  }
  if (tx.is_read()) std::memcpy(tx.get_data_ptr(), &v, 4);
}

} // namespace pnm::cxl
