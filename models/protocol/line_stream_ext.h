// The line stream (line_stream.h) as a TLM extension: a generic payload
// carrying one is a stream of 64 B lines rather than one contiguous access.
#pragma once

#include "protocol/line_stream.h"

#include <tlm>
#include <vector>

namespace pnm::protocol {

class LineStreamExtension : public tlm::tlm_extension<LineStreamExtension> {
public:
  std::vector<StreamLine> lines;

  tlm::tlm_extension_base* clone() const override { return new LineStreamExtension(*this); }
  void copy_from(const tlm::tlm_extension_base& other) override {
    lines = static_cast<const LineStreamExtension&>(other).lines;
  }
};

} // namespace pnm::protocol
