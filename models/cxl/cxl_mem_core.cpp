#include "cxl_mem_core.h"

#include <stdexcept>

namespace pnm::cxl {

CxlMemCore::CxlMemCore(const HdmDecoder& hdm, Picos controller_latency_ps)
    : hdm_(hdm), latency_ps_(controller_latency_ps) {}

std::optional<CxlMemCore::Refusal> CxlMemCore::check(uint64_t hpa, uint64_t lines) {
  for (uint64_t i = 0; i < lines; ++i) {
    const uint64_t a = hpa + i * cache_line_bytes;
    const HdmTranslation t = hdm_.translate(a);
    if (!t.ok()) {
      ++errors_;
      return Refusal{static_cast<size_t>(i), a, t.status};
    }
  }
  return std::nullopt;
}

std::optional<CxlMemCore::Refusal> CxlMemCore::requests(const std::vector<StreamLine>& m2s,
                                                        std::vector<StreamLine>& mem) {
  mem.resize(m2s.size());
  for (size_t i = 0; i < m2s.size(); ++i) {
    const HdmTranslation t = hdm_.translate(m2s[i].addr);
    if (!t.ok()) {
      ++errors_;
      return Refusal{i, m2s[i].addr, t.status};
    }
    mem[i] = StreamLine{};
    mem[i].addr = t.dpa;
    mem[i].arrive_ps = m2s[i].arrive_ps + latency_ps_;
  }
  return std::nullopt;
}

CxlMemCore::Served CxlMemCore::responses(bool write, std::vector<StreamLine>& m2s,
                                         const std::vector<StreamLine>& mem) {
  if (mem.size() != m2s.size()) throw std::invalid_argument("CxlMemCore: responses for a different stream");
  Served s;
  for (size_t i = 0; i < m2s.size(); ++i) {
    StreamLine& l = m2s[i];
    const uint64_t line = mem[i].addr / cache_line_bytes;
    l.freed_ps = mem[i].done_ps;
    l.done_ps = mem[i].done_ps + latency_ps_;
    if (write) {
      if (l.status == protocol::LineStatus::poisoned) {
        poisoned_.insert(line);
        s.poison_received = true;
      } else if (!poisoned_.empty()) {
        poisoned_.erase(line);
      }
    } else if (!poisoned_.empty() && poisoned_.count(line)) {
      l.status = protocol::LineStatus::poisoned;
      ++s.poisoned_reads;
    } else {
      l.status = protocol::LineStatus::ok;
    }
  }
  poisoned_reads_ += s.poisoned_reads;
  (write ? lines_written_ : lines_read_) += m2s.size();
  return s;
}

} // namespace pnm::cxl
