// Interrupt controller of the controller core complex: 32 edge-triggered,
// latched lines (raise() sets PENDING) gated by ENABLE into the core's
// machine external interrupt. Firmware claims the lowest pending enabled
// line, which clears it. Registers: pnmvp/hw/device_map.h, PNM_INTC_*.
#pragma once

#include <array>
#include <cstdint>

#include <pnmvp/hw/device_map.h>

namespace pnm::cpu {

class IntController {
public:
  static constexpr unsigned kLineCount = PNM_INTC_LINE_COUNT;

  void raise(unsigned line); // throws std::out_of_range for line >= kLineCount
  bool asserted() const { return (pending_ & enable_) != 0; } // drives MEIP
  uint32_t pending() const { return pending_; }
  uint32_t enabled() const { return enable_; }
  uint64_t raised(unsigned line) const { return raised_.at(line); }

  // Register access at `offset` within the block (32-bit registers). Return
  // false for an offset that is not a register: the core takes an access
  // fault.
  bool read(uint32_t offset, uint32_t& value);
  bool write(uint32_t offset, uint32_t value);

private:
  uint32_t pending_ = 0;
  uint32_t enable_ = 0;
  std::array<uint64_t, kLineCount> raised_{};
};

} // namespace pnm::cpu
