// A TLM extension for streams of cache lines that reach the DRAM at
// different times (CXL.mem requests leaving the link one by one, an engine's
// DMA): line i of the transaction's data is 64 B at data_ptr + 64 * i, goes
// to device address `dpa`, enters the controller at `arrive_ps` (absolute
// simulated time) and gets `done_ps`, when its last data beat moves. The
// channels see the lines as the stream they are (overlapped, FR-FCFS), not
// one after another.
#pragma once

#include <cstdint>
#include <tlm>
#include <vector>

namespace pnm::dram {

struct BurstLine {
  uint64_t dpa = 0;
  uint64_t arrive_ps = 0;
  uint64_t done_ps = 0; // filled in by the DRAM
};

class BurstExtension : public tlm::tlm_extension<BurstExtension> {
public:
  std::vector<BurstLine> lines;

  tlm::tlm_extension_base* clone() const override { return new BurstExtension(*this); }
  void copy_from(const tlm::tlm_extension_base& other) override {
    lines = static_cast<const BurstExtension&>(other).lines;
  }
};

} // namespace pnm::dram
