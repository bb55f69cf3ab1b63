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

// Sets up `tx` (a fresh payload) as the stream `ext` over `data`, line i
// at data + 64 i; the caller clears the extension after the call.
inline void set_stream(tlm::tlm_generic_payload& tx, tlm::tlm_command cmd, unsigned char* data,
                       LineStreamExtension& ext) {
  const auto len = static_cast<unsigned>(ext.lines.size() * stream_line_bytes);
  tx.set_command(cmd);
  tx.set_address(ext.lines.empty() ? 0 : ext.lines[0].addr);
  tx.set_data_ptr(data);
  tx.set_data_length(len);
  tx.set_streaming_width(len);
  tx.set_extension(&ext);
}

} // namespace pnm::protocol
