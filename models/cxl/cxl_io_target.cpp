#include "cxl_io_target.h"

#include "common/log.h"

#include <cstring>

namespace pnm::cxl {

CxlIoTarget::CxlIoTarget(sc_core::sc_module_name name, CxlIoRegs& regs, double access_latency_ns)
    : sc_module(name), config_socket("config_socket"), mmio_socket("mmio_socket"), regs_(regs),
      latency_(access_latency_ns, sc_core::SC_NS) {
  config_socket.register_b_transport(this, &CxlIoTarget::config_b_transport);
  mmio_socket.register_b_transport(this, &CxlIoTarget::mmio_b_transport);
}

void CxlIoTarget::config_b_transport(tlm::tlm_generic_payload& tx, sc_core::sc_time& delay) {
  access(true, tx, delay);
}

void CxlIoTarget::mmio_b_transport(tlm::tlm_generic_payload& tx, sc_core::sc_time& delay) {
  access(false, tx, delay);
}

void CxlIoTarget::access(bool config, tlm::tlm_generic_payload& tx, sc_core::sc_time& delay) {
  delay += latency_;
  const unsigned size = tx.get_data_length();
  const uint64_t addr = tx.get_address();
  AccessResult r = AccessResult::bad_size;
  if (tx.get_byte_enable_ptr() || tx.get_streaming_width() < size || size > 8) {
    r = AccessResult::bad_size;
  } else if (tx.is_read()) {
    uint64_t v = 0;
    r = config ? regs_.read(RegSpace::config, addr, size, v) : regs_.mmio_read(addr, size, v);
    if (r == AccessResult::ok) std::memcpy(tx.get_data_ptr(), &v, size); // little-endian host
  } else if (tx.is_write()) {
    uint64_t v = 0;
    std::memcpy(&v, tx.get_data_ptr(), size);
    r = config ? regs_.write(RegSpace::config, addr, size, v) : regs_.mmio_write(addr, size, v);
  }
  switch (r) {
  case AccessResult::ok: tx.set_response_status(tlm::TLM_OK_RESPONSE); return;
  case AccessResult::unmapped: tx.set_response_status(tlm::TLM_ADDRESS_ERROR_RESPONSE); break;
  case AccessResult::unaligned:
  case AccessResult::bad_size: tx.set_response_status(tlm::TLM_BURST_ERROR_RESPONSE); break;
  }
  ++errors_;
  log::warn(name(), "{} {} of {} bytes at 0x{:x} rejected: {}", config ? "config" : "MMIO",
            tx.is_write() ? "write" : "read", size, addr, to_string(r));
}

} // namespace pnm::cxl
