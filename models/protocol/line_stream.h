// The line-stream protocol shared by the device's memory paths (DRAM, CXL.mem
// ports and links, later storage): a transaction that is a stream of 64 B
// lines, each with its own address and its own times. A target sees the
// lines as the stream they are (overlapped, each entering when it arrives),
// not one after another, and answers each line on its own.
//
// Line i of the transaction's data is 64 B at data_ptr + 64 * i. The
// initiator fills addr, arrive_ps (absolute simulated time) and the status a
// line carries in (a write's poison bit); the target fills done_ps, freed_ps
// and the status it answers (a read's poison bit). The transaction's own
// response status covers the stream as a whole (refused or served).
//
// The records are plain C++ so that cores (no SystemC) can produce and
// consume them; line_stream_ext.h wraps them in a TLM extension.
#pragma once

#include <cstdint>

namespace pnm::protocol {

inline constexpr uint64_t stream_line_bytes = 64;

enum class LineStatus : uint8_t {
  ok,
  poisoned, // CXL.mem poison bit: RwD on the way in, DRS on the way back
};

struct StreamLine {
  uint64_t addr = 0;      // line-aligned address in the target's space
  uint64_t arrive_ps = 0; // enters the target
  uint64_t done_ps = 0;   // the target's completion is ready (DRAM: last data beat)
  uint64_t freed_ps = 0;  // the target freed the line's input-buffer entry (credit back)
  LineStatus status = LineStatus::ok;
};

} // namespace pnm::protocol
