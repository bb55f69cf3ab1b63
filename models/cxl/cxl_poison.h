// Poison on CXL.mem: a TLM extension through which a host transaction learns
// which of its 64 B lines came back with the DRS poison bit (reads), or marks
// lines it writes as poisoned (the RwD poison bit).
#pragma once

#include <cstdint>
#include <tlm>
#include <vector>

namespace pnm::cxl {

class PoisonExtension : public tlm::tlm_extension<PoisonExtension> {
public:
  std::vector<uint32_t> lines; // indices of poisoned lines within the transaction

  tlm::tlm_extension_base* clone() const override { return new PoisonExtension(*this); }
  void copy_from(const tlm::tlm_extension_base& other) override {
    lines = static_cast<const PoisonExtension&>(other).lines;
  }
};

} // namespace pnm::cxl
