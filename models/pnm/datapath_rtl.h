// The Verilated rtl/dot_product.sv behind the Datapath interface, clocked one
// cycle at a time. Verilator headers stay in datapath_rtl.cpp (pimpl), so the
// engine compiles without them. Models are built for 16 and 32 lanes.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "pnm/datapath.h"

namespace pnm::datapath {

class DatapathRtl final : public Datapath {
public:
  // lanes: 16 or 32 (the lane counts rtl/CMakeLists.txt verilates); throws
  // std::invalid_argument otherwise. A non-empty vcd_path dumps every clock
  // edge of this instance's life to that file (1 ns clock period).
  explicit DatapathRtl(int lanes = 16, const std::string& vcd_path = "");
  ~DatapathRtl() override;
  DatapathRtl(const DatapathRtl&) = delete;
  DatapathRtl& operator=(const DatapathRtl&) = delete;

  static bool is_built_lanes(int lanes) { return lanes == 16 || lanes == 32; }

  int lanes() const override;
  const char* name() const override { return "rtl"; }

  uint64_t total_cycles() const;  // every clock simulated, reset included

protected:
  DotBatch run_batch(const DotChunk* chunks, size_t count) override;

private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace pnm::datapath
