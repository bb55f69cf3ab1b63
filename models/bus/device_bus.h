// The on-device interconnect: routes TLM transactions from any number of
// initiators to targets by address. Each target is declared once, with its
// name and address range, by attach(); the bus hands the target an address
// relative to its range base. An address that no target claims gets
// TLM_ADDRESS_ERROR_RESPONSE and a logged warning (a real interconnect's
// decode error), and the simulation goes on.
#pragma once

#include <cstdint>
#include <string>
#include <systemc>
#include <tlm>
#include <tlm_utils/multi_passthrough_initiator_socket.h>
#include <tlm_utils/multi_passthrough_target_socket.h>
#include <vector>

namespace pnm::bus {

class DeviceBus : public sc_core::sc_module {
public:
  // Zero initiators is legal too (a bus whose masters a platform leaves out).
  tlm_utils::multi_passthrough_target_socket<DeviceBus, 32, tlm::tlm_base_protocol_types, 0,
                                             sc_core::SC_ZERO_OR_MORE_BOUND>
      in_socket;
  // Zero targets is legal: every access then gets a decode error.
  tlm_utils::multi_passthrough_initiator_socket<DeviceBus, 32, tlm::tlm_base_protocol_types, 0,
                                                sc_core::SC_ZERO_OR_MORE_BOUND>
      out_socket;

  explicit DeviceBus(sc_core::sc_module_name name);

  // Binds `target` and maps [base, base + size) to it. Throws
  // std::invalid_argument on an empty or overlapping range.
  void attach(tlm::tlm_target_socket<>& target, const std::string& name, uint64_t base,
              uint64_t size);

  struct Range {
    std::string name;
    uint64_t base, size;
    unsigned port;
  };
  const std::vector<Range>& ranges() const { return ranges_; }
  uint64_t decode_errors() const { return decode_errors_; }

private:
  const Range* route(uint64_t addr, uint64_t len) const;
  void b_transport(int id, tlm::tlm_generic_payload& tx, sc_core::sc_time& delay);
  unsigned transport_dbg(int id, tlm::tlm_generic_payload& tx);
  bool get_direct_mem_ptr(int id, tlm::tlm_generic_payload& tx, tlm::tlm_dmi& dmi);
  void invalidate_direct_mem_ptr(int port, sc_dt::uint64 start, sc_dt::uint64 end);

  std::vector<Range> ranges_;
  uint64_t decode_errors_ = 0;
};

} // namespace pnm::bus
