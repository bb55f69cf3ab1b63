#define SC_INCLUDE_DYNAMIC_PROCESSES
#include "host_bridge.h"

#include "common/log.h"

#include <algorithm>
#include <cstring>
#include <stdexcept>

namespace pnm {

HostBridge::HostBridge(sc_core::sc_module_name name, const HostBridgeConfig& cfg)
    : sc_module(name), config_socket("config_socket"), mmio_socket("mmio_socket"),
      mem_socket("mem_socket"), cfg_(cfg) {
  SC_HAS_PROCESS(HostBridge);
  SC_THREAD(run_thread);
}

void HostBridge::set_program(std::function<void(sw::Backend&)> program, bool keep_running) {
  programs_.assign(1, std::move(program));
  keep_running_ = keep_running;
}

void HostBridge::add_program(std::function<void(sw::Backend&)> program) {
  programs_.push_back(std::move(program));
}

void HostBridge::run_thread() {
  if (programs_.empty()) return;
  sc_core::sc_event_and_list all_done;
  std::vector<sc_core::sc_process_handle> threads;
  for (size_t i = 0; i < programs_.size(); ++i)
    threads.push_back(sc_core::sc_spawn([this, i]() { programs_[i](*this); }));
  for (auto& t : threads) all_done &= t.terminated_event();
  sc_core::wait(all_done);
  done_ = true;
  if (!keep_running_) sc_core::sc_stop();
}

void HostBridge::interrupt() {
  ++pending_irqs_;
  irq_event_.notify(sc_core::SC_ZERO_TIME);
}

bool HostBridge::access(tlm_utils::simple_initiator_socket<HostBridge>& s, bool write,
                        uint64_t addr, void* data, size_t len) {
  tlm::tlm_generic_payload tx;
  tx.set_command(write ? tlm::TLM_WRITE_COMMAND : tlm::TLM_READ_COMMAND);
  tx.set_address(addr);
  tx.set_data_ptr(static_cast<unsigned char*>(data));
  tx.set_data_length(static_cast<unsigned>(len));
  tx.set_streaming_width(static_cast<unsigned>(len));
  tx.set_response_status(tlm::TLM_INCOMPLETE_RESPONSE);
  sc_core::sc_time delay(&s == &mem_socket ? cfg_.mem_path_ns() : cfg_.io_path_ns(), sc_core::SC_NS);
  const unsigned lane = lane_;
  const double start_ns = now_ns();
  s->b_transport(tx, delay);
  sc_core::wait(delay); // the host thread blocks until the completion is back
  if (&s == &mem_socket && on_mem_transfer) on_mem_transfer(write, addr, len, start_ns, now_ns(), lane);
  if (&s == &mem_socket) (write ? mem_bytes_written_ : mem_bytes_read_) += len;
  else {
    ++io_accesses_;
    io_bytes_ += len;
  }
  if (tx.get_response_status() != tlm::TLM_OK_RESPONSE) {
    ++errors_;
    log::warn(name(), "{} of {} bytes at 0x{:x} on {} failed: {}", write ? "write" : "read", len,
              addr, s.basename(), tx.get_response_string());
    return false;
  }
  return true;
}

uint32_t HostBridge::config_read32(uint32_t offset) {
  uint32_t v = 0;
  return access(config_socket, false, offset, &v, 4) ? v : 0xffffffffu;
}

void HostBridge::config_write32(uint32_t offset, uint32_t value) {
  access(config_socket, true, offset, &value, 4);
}

uint32_t HostBridge::mmio_read32(uint64_t addr) {
  uint32_t v = 0;
  return access(mmio_socket, false, addr, &v, 4) ? v : 0xffffffffu; // UR: all ones
}

void HostBridge::mmio_write32(uint64_t addr, uint32_t value) {
  access(mmio_socket, true, addr, &value, 4);
}

uint64_t HostBridge::mmio_read64(uint64_t addr) {
  uint64_t v = 0;
  return access(mmio_socket, false, addr, &v, 8) ? v : ~0ull;
}

void HostBridge::mmio_write64(uint64_t addr, uint64_t value) {
  access(mmio_socket, true, addr, &value, 8);
}

bool HostBridge::mem_read(uint64_t hpa, void* dst, size_t len) {
  return access(mem_socket, false, hpa, dst, len);
}

bool HostBridge::mem_write(uint64_t hpa, const void* src, size_t len) {
  return access(mem_socket, true, hpa, const_cast<void*>(src), len);
}

namespace {
constexpr uint64_t kLine = 64;

// Runs `work(w)` in `workers` threads (cooperative: shared state needs no
// lock) and waits for all of them.
void in_parallel(size_t workers, const std::function<void(size_t)>& work) {
  sc_core::sc_event_and_list all_done;
  std::vector<sc_core::sc_process_handle> threads;
  for (size_t w = 0; w < workers; ++w) threads.push_back(sc_core::sc_spawn([&work, w]() { work(w); }));
  for (auto& t : threads) all_done &= t.terminated_event();
  if (workers) sc_core::wait(all_done);
}
} // namespace

bool HostBridge::mem_read_many(const std::vector<MemSpan>& spans, unsigned lines_in_flight) {
  // Concurrency is counted in 64-byte lines: at most `lines_in_flight` are
  // outstanding (the line fill buffers of the cores the caller uses). A span
  // goes out in pieces that end at 4 KiB page boundaries (a core's stream of
  // misses, as its prefetchers, stops at a page) and hold at most the budget;
  // a piece of n lines holds n fill buffers until its last line is back.
  constexpr uint64_t kPage = 4096;
  const unsigned budget = std::max(lines_in_flight, 1u);
  struct Piece {
    uint64_t hpa;
    uint8_t* dst;
    size_t len;
    unsigned lines;
  };
  std::vector<Piece> pieces;
  for (const MemSpan& s : spans)
    for (uint64_t a = s.hpa; a < s.hpa + s.len;) {
      // never more lines in one piece than the budget
      const uint64_t end = std::min({s.hpa + s.len, (a / kPage + 1) * kPage, (a / kLine + budget) * kLine});
      const auto lines = static_cast<unsigned>((end + kLine - 1) / kLine - a / kLine);
      pieces.push_back({a, static_cast<uint8_t*>(s.dst) + (a - s.hpa), static_cast<size_t>(end - a), lines});
      a = end;
    }
  unsigned held = 0;
  size_t next = 0;
  bool ok = true;
  sc_core::sc_event freed;
  in_parallel(std::min<size_t>(budget, pieces.size()), [&](size_t w) {
    while (next < pieces.size()) {
      const Piece& p = pieces[next++];
      while (held + p.lines > budget) sc_core::wait(freed);
      held += p.lines;
      lane_ = static_cast<unsigned>(w); // read before the access's first wait
      ok = mem_read(p.hpa, p.dst, p.len) && ok;
      held -= p.lines;
      freed.notify(sc_core::SC_ZERO_TIME);
    }
  });
  lane_ = 0;
  return ok;
}

HostBridge::MixCount HostBridge::mem_stream_lines(uint64_t base, uint64_t lines, unsigned reads, unsigned writes,
                                                  unsigned lines_in_flight, unsigned lines_per_access) {
  // Lines go in order from `base`, in blocks of 16 (1 KiB, a line per
  // channel or more of any interleaved memory): of every `reads + writes`
  // blocks the first `reads` are read and the rest written, so every channel
  // sees the mix and reads and writes share rows as a streaming copy does.
  // `lines` is rounded down to whole periods (at least one) so the counts
  // keep the ratio exactly.
  MixCount n;
  uint64_t next = 0;
  constexpr uint64_t kBlock = 16;
  if (lines_per_access == 0 || kBlock % lines_per_access)
    throw std::invalid_argument("mem_stream_lines: lines_per_access must divide the 16-line block");
  const unsigned period = std::max(1u, reads + writes);
  lines = std::max<uint64_t>(1, lines / (kBlock * period)) * kBlock * period;
  const uint64_t accesses = lines / lines_per_access;
  const uint64_t workers = std::max<uint64_t>(1, std::max(lines_in_flight, 1u) / lines_per_access);
  in_parallel(std::min(workers, accesses), [&](size_t w) {
    uint8_t buf[kBlock * kLine] = {};
    while (next < accesses) {
      const uint64_t i = (next++) * lines_per_access;
      const bool write = (i / kBlock) % period >= reads;
      const uint64_t addr = base + i * kLine;
      lane_ = static_cast<unsigned>(w);
      const size_t len = size_t{lines_per_access} * kLine;
      const bool ok = write ? mem_write(addr, buf, len) : mem_read(addr, buf, len);
      (write ? n.writes : n.reads) += lines_per_access;
      n.ok = n.ok && ok;
    }
  });
  lane_ = 0;
  return n;
}

bool HostBridge::wait_for_interrupt(double timeout_ns) {
  if (!pending_irqs_) {
    if (timeout_ns <= 0) return false;
    sc_core::wait(sc_core::sc_time(timeout_ns, sc_core::SC_NS), irq_event_);
    if (!pending_irqs_) return false;
  }
  --pending_irqs_;
  return true;
}

double HostBridge::now_ns() { return sc_core::sc_time_stamp().to_seconds() * 1e9; }

void HostBridge::sleep_ns(double ns) {
  if (ns > 0) sc_core::wait(sc_core::sc_time(ns, sc_core::SC_NS));
}

void HostBridge::report(StatGroup& g) const {
  g.set("mem_bytes_read", static_cast<double>(mem_bytes_read_), "B", "CXL.mem (or local memory) payload read");
  g.set("mem_bytes_written", static_cast<double>(mem_bytes_written_), "B", "CXL.mem (or local memory) payload written");
  g.set("io_accesses", static_cast<double>(io_accesses_), "count", "CXL.io configuration and register accesses");
  g.set("io_bytes", static_cast<double>(io_bytes_), "B", "CXL.io bytes moved");
  g.set("errors", static_cast<double>(errors_), "count", "transactions that failed");
}

} // namespace pnm
