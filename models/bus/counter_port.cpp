#include "counter_port.h"

#include "common/log.h"

#include <cstring>

namespace pnm::bus {

CounterPort::CounterPort(sc_core::sc_module_name name, unsigned counters)
    : sc_module(name), reg_socket("reg_socket"), latched_(counters, 0) {
  reg_socket.register_b_transport(this, &CounterPort::b_transport);
}

void CounterPort::b_transport(tlm::tlm_generic_payload& tx, sc_core::sc_time& delay) {
  delay += sc_core::sc_time(2, sc_core::SC_NS); // a register access on the control bus
  const uint64_t off = tx.get_address();
  const unsigned index = static_cast<unsigned>(off / 8);
  if (tx.get_data_length() != 4 || (off & 3) || index >= latched_.size() || tx.is_write()) {
    tx.set_response_status(tx.is_write() ? tlm::TLM_COMMAND_ERROR_RESPONSE : tlm::TLM_ADDRESS_ERROR_RESPONSE);
    log::warn(name(), "bad counter access: {} of {} bytes at 0x{:x} (read-only aligned words, {} counters)",
              tx.is_write() ? "write" : "read", tx.get_data_length(), off, latched_.size());
    return;
  }
  if ((off & 4) == 0) latched_[index] = read_counter ? read_counter(index) : 0;
  const uint32_t v = static_cast<uint32_t>(latched_[index] >> ((off & 4) ? 32 : 0));
  std::memcpy(tx.get_data_ptr(), &v, 4);
  tx.set_response_status(tlm::TLM_OK_RESPONSE);
}

} // namespace pnm::bus
