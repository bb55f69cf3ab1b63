// The controller core's window onto the device bus. Every load/store the
// firmware makes outside the TCMs and the core-complex blocks (interrupt
// controller, timer, console, sim control) arrives here. The SystemC adapter
// implements it with a TLM-2.0 b_transport; tests implement it with a plain
// C++ fake device.
#pragma once

#include <cstdint>

namespace pnm::cpu {

enum class BusResult : uint8_t {
  ok,
  error, // slave or decode error: the core takes a load/store access fault
};

struct BusPort {
  virtual ~BusPort() = default;
  // `data` holds `size` bytes (1, 2 or 4) in little-endian order.
  // `delay_ps` follows the TLM b_transport convention: on entry it is the
  // core's local time offset within the current run() call; the target adds
  // its access latency. The core charges the difference to its time.
  virtual BusResult read(uint32_t addr, void* data, unsigned size, uint64_t& delay_ps) = 0;
  virtual BusResult write(uint32_t addr, const void* data, unsigned size, uint64_t& delay_ps) = 0;
};

} // namespace pnm::cpu
