#include "cxl_mem_controller.h"

#include "common/log.h"
#include "dram/dram_burst.h"

#include <algorithm>
#include <fmt/format.h>
#include <cmath>
#include <numeric>

namespace pnm::cxl {

CxlMemController::CxlMemController(sc_core::sc_module_name name, const CxlMemConfig& cfg,
                                   CxlIoRegs& regs)
    : sc_module(name), host_socket("host_socket"), dram_socket("dram_socket"), cfg_(cfg),
      regs_(regs), hdm_(regs.hdm()), link_(cfg.link) {
  host_socket.register_b_transport(this, &CxlMemController::b_transport);
  host_socket.register_transport_dbg(this, &CxlMemController::transport_dbg);
}

bool CxlMemController::translate_all(tlm::tlm_generic_payload& tx, std::vector<uint64_t>& dpa) {
  const uint64_t addr = tx.get_address();
  const uint64_t len = tx.get_data_length();
  if (len == 0 || addr % cache_line_bytes || len % cache_line_bytes || tx.get_byte_enable_ptr() ||
      (!tx.is_read() && !tx.is_write())) {
    // CXL.mem moves whole 64 B lines (MemWrPtl with byte enables is not modelled).
    tx.set_response_status(tlm::TLM_BURST_ERROR_RESPONSE);
    ++errors_;
    log::warn(name(), "request of {} bytes at 0x{:x} is not whole 64 B lines", len, addr);
    return false;
  }
  dpa.resize(len / cache_line_bytes);
  for (size_t i = 0; i < dpa.size(); ++i) {
    HdmTranslation t = hdm_.translate(addr + i * cache_line_bytes);
    if (!t.ok()) {
      // The device answers an undecodable HPA with an error, never a wrap.
      tx.set_response_status(tlm::TLM_ADDRESS_ERROR_RESPONSE);
      ++errors_;
      log::warn(name(), "HPA 0x{:x}: {}", addr + i * cache_line_bytes, to_string(t.status));
      return false;
    }
    dpa[i] = t.dpa;
  }
  return true;
}

void CxlMemController::b_transport(int, tlm::tlm_generic_payload& tx, sc_core::sc_time& delay) {
  std::vector<uint64_t> dpa;
  if (!translate_all(tx, dpa)) return;
  const bool write = tx.is_write();
  const MsgClass req_cls = write ? MsgClass::m2s_rwd : MsgClass::m2s_req;
  const MsgClass rsp_cls = write ? MsgClass::s2m_ndr : MsgClass::s2m_drs;
  const Picos start_ps = static_cast<Picos>((sc_core::sc_time_stamp() + delay).to_seconds() * 1e12 + 0.5);
  unsigned char* data = tx.get_data_ptr();
  const size_t n = dpa.size();
  Picos end_ps = start_ps;
  size_t next = 0;
  bool first_window = true;
  while (next < n) {
    // Send until the device's receive buffer (credits) is full; the window's
    // lines then go to the DRAM together and free their entries as they finish.
    std::vector<size_t> window;
    std::vector<Picos> arrive;
    while (next < n) {
      std::optional<Delivery> d = link_.down.send(req_cls, next_id_, start_ps);
      if (!d) break;
      ++next_id_;
      window.push_back(next);
      arrive.push_back(d->arrival_ps);
      ++next;
    }
    if (window.empty()) {
      tx.set_response_status(tlm::TLM_GENERIC_ERROR_RESPONSE);
      log::error(name(), "no downstream credit and nothing outstanding to free one");
      return;
    }
    dram::BurstExtension ext;
    ext.lines.resize(window.size());
    std::vector<unsigned char> buf(window.size() * cache_line_bytes);
    for (size_t k = 0; k < window.size(); ++k) {
      ext.lines[k].dpa = dpa[window[k]];
      ext.lines[k].arrive_ps = arrive[k] + cfg_.controller_latency_ps;
      if (write)
        std::copy_n(data + window[k] * cache_line_bytes, cache_line_bytes, &buf[k * cache_line_bytes]);
    }
    tlm::tlm_generic_payload dtx;
    dtx.set_command(write ? tlm::TLM_WRITE_COMMAND : tlm::TLM_READ_COMMAND);
    dtx.set_address(ext.lines[0].dpa);
    dtx.set_data_ptr(buf.data());
    dtx.set_data_length(static_cast<unsigned>(buf.size()));
    dtx.set_streaming_width(static_cast<unsigned>(buf.size()));
    dtx.set_extension(&ext);
    sc_core::sc_time ddelay = sc_core::SC_ZERO_TIME;
    dram_socket->b_transport(dtx, ddelay);
    dtx.clear_extension(&ext);
    if (dtx.get_response_status() != tlm::TLM_OK_RESPONSE) {
      tx.set_response_status(dtx.get_response_status());
      ++errors_;
      log::warn(name(), "device memory refused line at DPA 0x{:x}: {}", ext.lines[0].dpa,
                dtx.get_response_string());
      return;
    }
    if (!write)
      for (size_t k = 0; k < window.size(); ++k)
        std::copy_n(&buf[k * cache_line_bytes], cache_line_bytes, data + window[k] * cache_line_bytes);
    // Entries free in completion order (FIFO release against sorted times is
    // exact in count over time, which is what credits model).
    std::vector<Picos> done(window.size());
    for (size_t k = 0; k < window.size(); ++k) done[k] = ext.lines[k].done_ps;
    std::vector<size_t> by_done(window.size());
    std::iota(by_done.begin(), by_done.end(), size_t{0});
    std::sort(by_done.begin(), by_done.end(), [&](size_t a, size_t b) { return done[a] < done[b]; });
    for (size_t k : by_done) link_.down.release(req_cls, std::max(done[k], arrive[k]));
    // Responses leave in completion order; the host sinks them at once.
    for (size_t k : by_done) {
      std::optional<Delivery> u = link_.up.send(rsp_cls, next_id_++, done[k] + cfg_.controller_latency_ps);
      if (!u) {
        tx.set_response_status(tlm::TLM_GENERIC_ERROR_RESPONSE);
        log::error(name(), "no upstream credit");
        return;
      }
      link_.up.release(rsp_cls, u->arrival_ps);
      end_ps = std::max(end_ps, u->arrival_ps);
      if (first_window && k == 0) {
        last_.downstream_link_ns = (arrive[0] - start_ps) * 1e-3;
        last_.controller_ns = 2 * cfg_.controller_latency_ps * 1e-3;
        last_.dram_ns = (done[0] - arrive[0] - cfg_.controller_latency_ps) * 1e-3;
        last_.upstream_link_ns = (u->arrival_ps - done[0] - cfg_.controller_latency_ps) * 1e-3;
      }
    }
    first_window = false;
  }
  (write ? lines_written_ : lines_read_) += n;
  const sc_core::sc_time end(static_cast<double>(end_ps), sc_core::SC_PS);
  delay = end - sc_core::sc_time_stamp();
  tx.set_response_status(tlm::TLM_OK_RESPONSE);
  PoisonExtension* pext = tx.get_extension<PoisonExtension>();
  if (write) {
    // A clean write heals a line; a write carrying the RwD poison bit poisons it.
    std::vector<bool> marked(n, false);
    if (pext)
      for (uint32_t i : pext->lines)
        if (i < n) marked[i] = true;
    bool received = false;
    for (size_t i = 0; i < n; ++i) {
      if (marked[i]) {
        poisoned_.insert(dpa[i] / cache_line_bytes);
        received = true;
      } else if (!poisoned_.empty()) {
        poisoned_.erase(dpa[i] / cache_line_bytes);
      }
    }
    if (received) regs_.raise_correctable(5); // RAS correctable status: mem poison received
  } else if (!poisoned_.empty()) {
    std::vector<uint32_t> bad;
    for (size_t i = 0; i < n; ++i)
      if (poisoned_.count(dpa[i] / cache_line_bytes)) bad.push_back(static_cast<uint32_t>(i));
    if (!bad.empty()) {
      poisoned_reads_ += bad.size();
      log::warn(name(), "{} poisoned line(s) returned with DRS poison, first at HPA 0x{:x}",
                bad.size(), tx.get_address() + bad[0] * cache_line_bytes);
      tx.set_response_status(tlm::TLM_GENERIC_ERROR_RESPONSE);
      if (pext) pext->lines = std::move(bad);
    }
  }
}

unsigned CxlMemController::transport_dbg(int, tlm::tlm_generic_payload& tx) {
  // Debug access: translate line by line, no timing.
  const uint64_t addr = tx.get_address();
  unsigned done = 0;
  while (done < tx.get_data_length()) {
    const uint64_t a = addr + done;
    HdmTranslation t = hdm_.translate(a);
    if (!t.ok()) break;
    const unsigned n = std::min<unsigned>(tx.get_data_length() - done,
                                          static_cast<unsigned>(cache_line_bytes - a % cache_line_bytes));
    tlm::tlm_generic_payload d;
    d.set_command(tx.get_command());
    d.set_address(t.dpa);
    d.set_data_ptr(tx.get_data_ptr() + done);
    d.set_data_length(n);
    d.set_streaming_width(n);
    if (dram_socket->transport_dbg(d) != n) break;
    done += n;
  }
  return done;
}

namespace {
constexpr const char* kClassKey[msg_class_count] = {"m2s_req", "m2s_rwd", "s2m_ndr", "s2m_drs"};

void report_direction(StatGroup& g, const LinkDirection& d, uint64_t payload_lines) {
  const LinkStats s = d.stats();
  g.set("flits", static_cast<double>(s.flits), "count", "flits sent, including a partly filled open one");
  g.set("payload_bytes", static_cast<double>(payload_lines * cache_line_bytes), "B",
        "cache-line data carried (64 B per RwD or DRS message)");
  g.set("wire_bytes", s.wire_bits / 8, "B", "bytes on the wire: flits after line coding");
  g.set("energy_pj", s.energy_pj, "pJ", "wire bits times the link's energy per bit");
  g.set("slot_utilisation", s.packer.slot_utilisation(), "ratio", "used slots over all slots of closed flits");
  uint64_t waits = 0;
  auto& msgs = g.group("messages", "messages sent, by CXL.mem channel");
  for (unsigned c = 0; c < msg_class_count; ++c) {
    waits += s.credit_waits[c];
    if (direction_of(MsgClass(c)) == d.direction())
      msgs.set(kClassKey[c], static_cast<double>(s.messages[c]), "count",
               fmt::format("{} messages", to_string(MsgClass(c))));
  }
  g.set("credit_waits", static_cast<double>(waits), "count", "sends that waited for a credit");
  g.set("credit_wait_ns", static_cast<double>(s.credit_wait_ps) * 1e-3, "ns", "total time sends waited for credits");
  g.set("blocked_sends", static_cast<double>(s.blocked_sends), "count", "sends refused with no credit in sight");
}
} // namespace

void CxlMemController::report(StatGroup& g) const {
  auto& m = g.group("mem", "CXL.mem requests the controller served");
  m.set("lines_read", static_cast<double>(lines_read_), "count", "64 B lines read by the host (MemRd)");
  m.set("lines_written", static_cast<double>(lines_written_), "count", "64 B lines written by the host (MemWr)");
  m.set("errors", static_cast<double>(errors_), "count", "requests refused (no decoder, out of range, DRAM error)");
  m.set("poisoned_reads", static_cast<double>(poisoned_reads_), "count", "reads that returned poisoned data");
  m.set("poisoned_lines", static_cast<double>(poisoned_.size()), "count", "lines poisoned now");
  auto& l = g.group("link", "the CXL link, each direction");
  report_direction(l.group("down", "M2S, host to device"), link_.down, lines_written_);
  report_direction(l.group("up", "S2M, device to host"), link_.up, lines_read_);
}

} // namespace pnm::cxl
