#include "dram_tlm.h"

#include "common/log.h"

#include <fmt/format.h>
#include <algorithm>
#include <stdexcept>
#include <cmath>

namespace pnm::dram {

DramTlm::DramTlm(sc_core::sc_module_name name, const DramSystemConfig& cfg, Fidelity fidelity)
    : sc_module(name), mem_socket("mem_socket"), dram_(cfg), store_(dram_.capacity_bytes()), fe_(dram_),
      fidelity_(fidelity) {
  mem_socket.register_b_transport(this, &DramTlm::b_transport);
  mem_socket.register_get_direct_mem_ptr(this, &DramTlm::get_direct_mem_ptr);
  mem_socket.register_transport_dbg(this, &DramTlm::transport_dbg);
}

bool DramTlm::check(tlm::tlm_generic_payload& tx) {
  const uint64_t addr = tx.get_address();
  const uint64_t len = tx.get_data_length();
  if (tx.get_byte_enable_ptr()) {
    tx.set_response_status(tlm::TLM_BYTE_ENABLE_ERROR_RESPONSE);
  } else if (tx.get_streaming_width() < len) {
    tx.set_response_status(tlm::TLM_BURST_ERROR_RESPONSE);
  } else if (len == 0 || addr >= dram_.capacity_bytes() || len > dram_.capacity_bytes() - addr) {
    tx.set_response_status(tlm::TLM_ADDRESS_ERROR_RESPONSE);
  } else if (!tx.is_read() && !tx.is_write()) {
    tx.set_response_status(tlm::TLM_COMMAND_ERROR_RESPONSE);
  } else {
    return true;
  }
  ++errors_;
  log::warn(name(), "{} of {} bytes at 0x{:x} refused: {}", tx.is_write() ? "write" : "read",
            len, addr, tx.get_response_string());
  return false;
}

MemoryFrontEnd::PortId DramTlm::port(int socket_id) {
  if (socket_id < 0) throw std::logic_error("DramTlm: negative socket id");
  const size_t i = static_cast<size_t>(socket_id);
  if (i >= ports_.size()) ports_.resize(i + 1, -1);
  if (ports_[i] < 0)
    ports_[i] = static_cast<int>(fe_.add_port(fmt::format("initiator{}", socket_id), 1,
                                              [this](uint64_t tag, bool, Cycle done) {
                                                if (sink_) (*sink_)[tag] = done;
                                              }));
  return static_cast<MemoryFrontEnd::PortId>(ports_[i]);
}

void DramTlm::name_port(int socket_id, const std::string& port_name, uint32_t weight) {
  const size_t i = static_cast<size_t>(socket_id);
  if (socket_id < 0 || (i < ports_.size() && ports_[i] >= 0))
    throw std::logic_error(fmt::format("{}: socket {} already has a port", name(), socket_id));
  if (i >= ports_.size()) ports_.resize(i + 1, -1);
  ports_[i] = static_cast<int>(fe_.add_port(port_name, weight, [this](uint64_t tag, bool, Cycle done) {
    if (sink_) (*sink_)[tag] = done;
  }));
}

void DramTlm::run_lines(MemoryFrontEnd::PortId p, const std::vector<uint64_t>& addr,
                        const std::vector<Cycle>& arrive, bool write, std::vector<Cycle>& done) {
  // Lines enter in arrival order; the front end runs (everyone's traffic)
  // until this port's lines are all done.
  const size_t n = addr.size();
  done.assign(n, 0);
  std::vector<size_t> order(n);
  for (size_t i = 0; i < n; ++i) order[i] = i;
  std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) { return arrive[a] < arrive[b]; });
  sink_ = &done;
  struct Reset {
    std::vector<Cycle>*& s;
    ~Reset() { s = nullptr; }
  } reset{sink_};
  for (size_t i : order) fe_.submit(p, addr[i], write, arrive[i], i);
  fe_.run_port(p);
}

Cycle DramTlm::timed_access(MemoryFrontEnd::PortId p, uint64_t addr, unsigned len, bool write, Cycle start) {
  // One transaction is a stream of bursts that all arrive at `start`.
  const uint64_t burst = dram_.config().spec.org.burst_bytes();
  std::vector<uint64_t> lines;
  for (uint64_t a = addr / burst * burst; a < addr + len; a += burst) lines.push_back(a);
  std::vector<Cycle> done;
  run_lines(p, lines, std::vector<Cycle>(lines.size(), start), write, done);
  Cycle last = start;
  for (Cycle d : done) last = std::max(last, d);
  return last;
}

void DramTlm::stream_transport(int id, tlm::tlm_generic_payload& tx, protocol::LineStreamExtension& ext,
                               sc_core::sc_time& delay) {
  const uint64_t line = dram_.config().spec.org.burst_bytes();
  const size_t n = ext.lines.size();
  if (tx.get_data_length() != n * line || tx.get_byte_enable_ptr() || n == 0 ||
      (!tx.is_read() && !tx.is_write())) {
    tx.set_response_status(tlm::TLM_GENERIC_ERROR_RESPONSE);
    ++errors_;
    log::warn(name(), "stream of {} lines with {} bytes refused", n, tx.get_data_length());
    return;
  }
  for (const protocol::StreamLine& l : ext.lines)
    if (l.addr % line || l.addr >= dram_.capacity_bytes()) {
      tx.set_response_status(tlm::TLM_ADDRESS_ERROR_RESPONSE);
      ++errors_;
      log::warn(name(), "stream line at 0x{:x} refused: unaligned or beyond capacity", l.addr);
      return;
    }
  unsigned char* data = tx.get_data_ptr();
  for (size_t i = 0; i < n; ++i) {
    if (tx.is_write()) store_.write(ext.lines[i].addr, data + i * line, line);
    else store_.read(ext.lines[i].addr, data + i * line, line);
  }
  const double tck_ps = dram_.config().spec.timing.tCK_ps;
  uint64_t last_ps = 0;
  if (fidelity_ == Fidelity::functional) {
    for (protocol::StreamLine& l : ext.lines) last_ps = std::max(last_ps, l.done_ps = l.freed_ps = l.arrive_ps);
  } else {
    std::vector<uint64_t> addr(n);
    std::vector<Cycle> arrive(n), done;
    for (size_t i = 0; i < n; ++i) {
      addr[i] = ext.lines[i].addr;
      arrive[i] = static_cast<Cycle>(std::ceil(static_cast<double>(ext.lines[i].arrive_ps) / tck_ps - 1e-9));
    }
    run_lines(port(id), addr, arrive, tx.is_write(), done);
    for (size_t i = 0; i < n; ++i) {
      ext.lines[i].done_ps = ext.lines[i].freed_ps = static_cast<uint64_t>(static_cast<double>(done[i]) * tck_ps);
      last_ps = std::max(last_ps, ext.lines[i].done_ps);
    }
  }
  const sc_core::sc_time now = sc_core::sc_time_stamp();
  const sc_core::sc_time done(static_cast<double>(last_ps), sc_core::SC_PS);
  delay = done > now ? done - now : sc_core::SC_ZERO_TIME;
  tx.set_response_status(tlm::TLM_OK_RESPONSE);
}

void DramTlm::b_transport(int id, tlm::tlm_generic_payload& tx, sc_core::sc_time& delay) {
  if (protocol::LineStreamExtension* ext = tx.get_extension<protocol::LineStreamExtension>()) {
    stream_transport(id, tx, *ext, delay);
    return;
  }
  if (!check(tx)) return;
  const uint64_t addr = tx.get_address();
  const unsigned len = tx.get_data_length();
  if (tx.is_write()) store_.write(addr, tx.get_data_ptr(), len);
  else store_.read(addr, tx.get_data_ptr(), len);
  if (fidelity_ == Fidelity::command) {
    const double tck_ns = dram_.tck_ns();
    const double start_ns = (sc_core::sc_time_stamp() + delay).to_seconds() * 1e9;
    const Cycle start = static_cast<Cycle>(std::ceil(start_ns / tck_ns - 1e-9));
    const Cycle done = timed_access(port(id), addr, len, tx.is_write(), start);
    delay = sc_core::sc_time(static_cast<double>(done) * tck_ns, sc_core::SC_NS) -
            sc_core::sc_time_stamp();
  } else {
    tx.set_dmi_allowed(true);
  }
  tx.set_response_status(tlm::TLM_OK_RESPONSE);
}

bool DramTlm::get_direct_mem_ptr(int, tlm::tlm_generic_payload& tx, tlm::tlm_dmi& dmi) {
  if (fidelity_ != Fidelity::functional || tx.get_address() >= dram_.capacity_bytes())
    return false;
  const uint64_t base = tx.get_address() / SparseStore::kPageBytes * SparseStore::kPageBytes;
  dmi.set_dmi_ptr(store_.page(base));
  dmi.set_start_address(base);
  dmi.set_end_address(base + SparseStore::kPageBytes - 1);
  dmi.allow_read_write();
  dmi.set_read_latency(sc_core::SC_ZERO_TIME);
  dmi.set_write_latency(sc_core::SC_ZERO_TIME);
  return true;
}

unsigned DramTlm::transport_dbg(int, tlm::tlm_generic_payload& tx) {
  const uint64_t addr = tx.get_address();
  const uint64_t cap = dram_.capacity_bytes();
  if (addr >= cap) return 0;
  const unsigned len = static_cast<unsigned>(std::min<uint64_t>(tx.get_data_length(), cap - addr));
  if (tx.is_write()) store_.write(addr, tx.get_data_ptr(), len);
  else if (tx.is_read()) store_.read(addr, tx.get_data_ptr(), len);
  else return 0;
  return len;
}

void DramTlm::report(StatGroup& g, double now_ns) const {
  dram_.report_at_ns(g, now_ns);
  g.set("errors", static_cast<double>(errors_), "count", "transactions refused (out of range or malformed)");
  fe_.report(g.group("front_end", "traffic of each initiator port"));
}

} // namespace pnm::dram
