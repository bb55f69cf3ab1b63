#include "int_controller.h"

#include <stdexcept>
#include <string>

namespace pnm::cpu {

void IntController::raise(unsigned line) {
  if (line >= kLineCount) {
    throw std::out_of_range("interrupt line " + std::to_string(line) + " out of range (0.." +
                            std::to_string(kLineCount - 1) + ")");
  }
  pending_ |= 1u << line;
  ++raised_[line];
}

bool IntController::read(uint32_t offset, uint32_t& value) {
  switch (offset) {
  case PNM_INTC_PENDING_OFF:
    value = pending_;
    return true;
  case PNM_INTC_ENABLE_OFF:
    value = enable_;
    return true;
  case PNM_INTC_CLAIM_OFF: {
    const uint32_t ready = pending_ & enable_;
    if (ready == 0) {
      value = PNM_INTC_CLAIM_NONE;
      return true;
    }
    const unsigned line = static_cast<unsigned>(__builtin_ctz(ready));
    pending_ &= ~(1u << line);
    value = line;
    return true;
  }
  case PNM_INTC_SET_PENDING_OFF:
  case PNM_INTC_CLR_PENDING_OFF:
    value = 0; // write-only
    return true;
  default:
    return false;
  }
}

bool IntController::write(uint32_t offset, uint32_t value) {
  switch (offset) {
  case PNM_INTC_ENABLE_OFF:
    enable_ = value;
    return true;
  case PNM_INTC_SET_PENDING_OFF:
    for (unsigned line = 0; line < kLineCount; ++line) {
      if (value & (1u << line)) {
        raise(line);
      }
    }
    return true;
  case PNM_INTC_CLR_PENDING_OFF:
    pending_ &= ~value;
    return true;
  case PNM_INTC_PENDING_OFF:
  case PNM_INTC_CLAIM_OFF:
    return true; // read-only: writes are ignored
  default:
    return false;
  }
}

} // namespace pnm::cpu
