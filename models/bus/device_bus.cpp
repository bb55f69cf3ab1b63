#include "device_bus.h"

#include "common/log.h"

#include <fmt/format.h>
#include <stdexcept>

namespace pnm::bus {

DeviceBus::DeviceBus(sc_core::sc_module_name name)
    : sc_module(name), in_socket("in_socket"), out_socket("out_socket") {
  in_socket.register_b_transport(this, &DeviceBus::b_transport);
  in_socket.register_transport_dbg(this, &DeviceBus::transport_dbg);
  in_socket.register_get_direct_mem_ptr(this, &DeviceBus::get_direct_mem_ptr);
  out_socket.register_invalidate_direct_mem_ptr(this, &DeviceBus::invalidate_direct_mem_ptr);
}

void DeviceBus::attach(tlm::tlm_target_socket<>& target, const std::string& name, uint64_t base,
                       uint64_t size) {
  if (size == 0 || base + size < base)
    throw std::invalid_argument(fmt::format("{}: range of '{}' is empty or wraps", this->name(), name));
  for (const Range& r : ranges_)
    if (base < r.base + r.size && r.base < base + size)
      throw std::invalid_argument(fmt::format("{}: '{}' [0x{:x}, 0x{:x}) overlaps '{}'",
                                              this->name(), name, base, base + size, r.name));
  ranges_.push_back(Range{name, base, size, static_cast<unsigned>(ranges_.size())});
  out_socket.bind(target);
}

const DeviceBus::Range* DeviceBus::route(uint64_t addr, uint64_t len) const {
  for (const Range& r : ranges_)
    if (addr >= r.base && addr - r.base < r.size)
      return (len <= r.size - (addr - r.base)) ? &r : nullptr; // no straddling
  return nullptr;
}

void DeviceBus::b_transport(int, tlm::tlm_generic_payload& tx, sc_core::sc_time& delay) {
  const uint64_t addr = tx.get_address();
  const Range* r = route(addr, tx.get_data_length());
  if (!r) {
    ++decode_errors_;
    log::warn(name(), "decode error: {} of {} bytes at 0x{:x} hits no target",
              tx.is_write() ? "write" : "read", tx.get_data_length(), addr);
    tx.set_response_status(tlm::TLM_ADDRESS_ERROR_RESPONSE);
    return;
  }
  tx.set_address(addr - r->base);
  out_socket[r->port]->b_transport(tx, delay);
  tx.set_address(addr);
}

unsigned DeviceBus::transport_dbg(int, tlm::tlm_generic_payload& tx) {
  const uint64_t addr = tx.get_address();
  const Range* r = route(addr, tx.get_data_length());
  if (!r) return 0;
  tx.set_address(addr - r->base);
  unsigned n = out_socket[r->port]->transport_dbg(tx);
  tx.set_address(addr);
  return n;
}

bool DeviceBus::get_direct_mem_ptr(int, tlm::tlm_generic_payload& tx, tlm::tlm_dmi& dmi) {
  const uint64_t addr = tx.get_address();
  const Range* r = route(addr, 1);
  if (!r) return false;
  tx.set_address(addr - r->base);
  bool ok = out_socket[r->port]->get_direct_mem_ptr(tx, dmi);
  tx.set_address(addr);
  if (ok) {
    // Back into this bus's address space, clipped to the target's range.
    dmi.set_start_address(dmi.get_start_address() + r->base);
    dmi.set_end_address(std::min<uint64_t>(dmi.get_end_address() + r->base, r->base + r->size - 1));
  }
  return ok;
}

void DeviceBus::invalidate_direct_mem_ptr(int port, sc_dt::uint64 start, sc_dt::uint64 end) {
  const Range& r = ranges_.at(static_cast<size_t>(port));
  for (unsigned i = 0; i < in_socket.size(); ++i)
    in_socket[i]->invalidate_direct_mem_ptr(start + r.base, end + r.base);
}

} // namespace pnm::bus
