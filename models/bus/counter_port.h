// A read-only block of 64-bit counters on the control bus (PNM_DEVCTR_* in
// pnmvp/hw/device_map.h), for firmware that reports device-wide figures. The
// owner supplies the values through a callback, evaluated when the firmware
// reads a counter's low word; the high word returns the same sample.
#pragma once

#include <functional>
#include <systemc>
#include <tlm>
#include <tlm_utils/simple_target_socket.h>
#include <vector>

namespace pnm::bus {

class CounterPort : public sc_core::sc_module {
public:
  tlm_utils::simple_target_socket<CounterPort> reg_socket;

  CounterPort(sc_core::sc_module_name name, unsigned counters);

  std::function<uint64_t(unsigned index)> read_counter; // unset: counters read 0

private:
  void b_transport(tlm::tlm_generic_payload& tx, sc_core::sc_time& delay);
  std::vector<uint64_t> latched_;
};

} // namespace pnm::bus
