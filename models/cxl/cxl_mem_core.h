// The device side of CXL.mem as plain C++ (no SystemC): M2S requests that
// have crossed the link come in line by line; the HDM decoder turns each
// HPA into a device physical address; the lines leave for the device memory
// after the controller's latency; with the memory's completions the core
// produces each line's S2M response (DRS with data, or NDR Cmp) and its
// time, and keeps the device's poison state. A TLM face (cxl_mem_controller.h)
// moves the streams; a link (link.h) carries them to and from the host.
#pragma once

#include "cxl/flit_packer.h"
#include "cxl/hdm_decoder.h"
#include "protocol/line_stream.h"

#include <cstdint>
#include <optional>
#include <unordered_set>
#include <vector>

namespace pnm::cxl {

using protocol::StreamLine;

class CxlMemCore {
public:
  // `controller_latency_ps` is spent per direction: request decode, and
  // response assembly.
  CxlMemCore(const HdmDecoder& hdm, Picos controller_latency_ps);

  struct Refusal {
    size_t line = 0; // index of the first line that does not decode
    uint64_t hpa = 0;
    HdmStatus status = HdmStatus::out_of_range;
  };
  // Whether every line of [hpa, hpa + lines * 64) decodes: an undecodable
  // HPA fails the whole transaction (never a wrap, never a partial write),
  // so this is asked before any line moves. Counts an error on refusal.
  std::optional<Refusal> check(uint64_t hpa, uint64_t lines);

  // Request side: M2S lines (addr = HPA, arrive_ps at the device's port,
  // status = the RwD poison bit) to the memory stream `mem` (addr = DPA,
  // arriving after the controller latency). Refuses (and counts an error)
  // if a line does not decode.
  std::optional<Refusal> requests(const std::vector<StreamLine>& m2s, std::vector<StreamLine>& mem);

  struct Served {
    size_t poisoned_reads = 0;   // lines answered with the DRS poison bit
    bool poison_received = false; // a write carried the RwD poison bit (RAS)
  };
  // Response side, with the memory's completions for the same lines: fills
  // each M2S line's freed_ps (its receive-buffer entry frees when the memory
  // is done), done_ps (its S2M response is ready, after the controller
  // latency) and status (DRS poison on reads). A clean write heals a line;
  // a poisoned one poisons it.
  Served responses(bool write, std::vector<StreamLine>& m2s, const std::vector<StreamLine>& mem);

  HdmTranslation translate(uint64_t hpa) const { return hdm_.translate(hpa); }
  void count_error() { ++errors_; }

  void inject_poison(uint64_t dpa) { poisoned_.insert(dpa / cache_line_bytes); }
  void clear_poison(uint64_t dpa) { poisoned_.erase(dpa / cache_line_bytes); }
  bool poisoned(uint64_t dpa) const { return poisoned_.count(dpa / cache_line_bytes) != 0; }
  size_t poisoned_lines() const { return poisoned_.size(); }
  uint64_t poisoned_reads() const { return poisoned_reads_; }

  Picos controller_latency_ps() const { return latency_ps_; }
  uint64_t lines_read() const { return lines_read_; }
  uint64_t lines_written() const { return lines_written_; }
  uint64_t errors() const { return errors_; }

private:
  const HdmDecoder& hdm_;
  Picos latency_ps_;
  std::unordered_set<uint64_t> poisoned_; // line numbers (DPA / 64)
  uint64_t poisoned_reads_ = 0;
  uint64_t lines_read_ = 0, lines_written_ = 0, errors_ = 0;
};

} // namespace pnm::cxl
