#include "cxl_mem_controller.h"

#include "common/log.h"

#include <algorithm>
#include <fmt/format.h>
#include <cmath>
#include <numeric>

namespace pnm::cxl {

using protocol::LineStreamExtension;

CxlMemController::CxlMemController(sc_core::sc_module_name name, Picos controller_latency_ps, CxlIoRegs& regs)
    : sc_module(name), link_socket("link_socket"), dram_socket("dram_socket"), regs_(regs),
      core_(regs.hdm(), controller_latency_ps) {
  link_socket.register_b_transport(this, &CxlMemController::b_transport);
  link_socket.register_transport_dbg(this, &CxlMemController::transport_dbg);
}

void CxlMemController::refuse(tlm::tlm_generic_payload& tx, const CxlMemCore::Refusal& r) {
  // The device answers an undecodable HPA with an error, never a wrap.
  tx.set_response_status(tlm::TLM_ADDRESS_ERROR_RESPONSE);
  log::warn(name(), "HPA 0x{:x}: {}", r.hpa, to_string(r.status));
}

void CxlMemController::b_transport(tlm::tlm_generic_payload& tx, sc_core::sc_time& delay) {
  if (tx.get_command() == tlm::TLM_IGNORE_COMMAND) {
    if (auto r = core_.check(tx.get_address(), tx.get_data_length() / cache_line_bytes)) return refuse(tx, *r);
    tx.set_response_status(tlm::TLM_OK_RESPONSE);
    return;
  }
  LineStreamExtension* ext = tx.get_extension<LineStreamExtension>();
  if (!ext || ext->lines.empty() || tx.get_data_length() != ext->lines.size() * cache_line_bytes ||
      (!tx.is_read() && !tx.is_write())) {
    tx.set_response_status(tlm::TLM_GENERIC_ERROR_RESPONSE);
    core_.count_error();
    log::warn(name(), "expects a line stream of M2S requests (bind it behind a CxlLink)");
    return;
  }
  LineStreamExtension mem;
  if (auto r = core_.requests(ext->lines, mem.lines)) return refuse(tx, *r);
  tlm::tlm_generic_payload dtx;
  protocol::set_stream(dtx, tx.get_command(), tx.get_data_ptr(), mem); // line i stays at data + 64 i
  sc_core::sc_time ddelay = sc_core::SC_ZERO_TIME;
  dram_socket->b_transport(dtx, ddelay);
  dtx.clear_extension(&mem);
  if (dtx.get_response_status() != tlm::TLM_OK_RESPONSE) {
    tx.set_response_status(dtx.get_response_status());
    core_.count_error();
    log::warn(name(), "device memory refused line at DPA 0x{:x}: {}", mem.lines[0].addr,
              dtx.get_response_string());
    return;
  }
  const CxlMemCore::Served s = core_.responses(tx.is_write(), ext->lines, mem.lines);
  if (s.poison_received) regs_.raise_correctable(5); // RAS correctable status: mem poison received
  if (s.poisoned_reads) {
    const auto first = std::find_if(ext->lines.begin(), ext->lines.end(), [](const StreamLine& l) {
      return l.status == protocol::LineStatus::poisoned;
    });
    log::warn(name(), "{} poisoned line(s) returned with DRS poison, first at HPA 0x{:x}", s.poisoned_reads,
              first->addr);
  }
  Picos last_ps = 0;
  for (const StreamLine& l : ext->lines) last_ps = std::max(last_ps, l.done_ps);
  const sc_core::sc_time last(static_cast<double>(last_ps), sc_core::SC_PS);
  delay = last > sc_core::sc_time_stamp() ? last - sc_core::sc_time_stamp() : sc_core::SC_ZERO_TIME;
  tx.set_response_status(tlm::TLM_OK_RESPONSE);
}

unsigned CxlMemController::transport_dbg(tlm::tlm_generic_payload& tx) {
  // Debug access: translate line by line, no timing.
  const uint64_t addr = tx.get_address();
  unsigned done = 0;
  while (done < tx.get_data_length()) {
    const uint64_t a = addr + done;
    HdmTranslation t = core_.translate(a);
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

CxlMemPort::CxlMemPort(sc_core::sc_module_name name, const CxlMemConfig& cfg, CxlIoRegs& regs)
    : sc_module(name), host_link("link", cfg.link), controller("controller", cfg.controller_latency_ps, regs),
      host_socket(host_link.up_socket), dram_socket(controller.dram_socket), cfg_(cfg) {
  host_link.down_socket.bind(controller.link_socket);
}

LatencyBreakdown CxlMemPort::last_breakdown() const {
  // The link saw the line arrive at the device port and its response leave
  // it; in between, the controller both ways and the DRAM.
  const LineTrip& t = host_link.last_first_line();
  const Picos ctrl = cfg_.controller_latency_ps;
  LatencyBreakdown b;
  if (t.back_ps == 0) return b; // nothing crossed yet
  b.downstream_link_ns = (t.arrive_ps - t.ready_ps) * 1e-3;
  b.controller_ns = 2 * ctrl * 1e-3;
  b.dram_ns = (t.done_ps - t.arrive_ps - 2 * ctrl) * 1e-3;
  b.upstream_link_ns = (t.back_ps - t.done_ps) * 1e-3;
  return b;
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

void CxlMemPort::report(StatGroup& g) const {
  auto& m = g.group("mem", "CXL.mem requests the controller served");
  m.set("lines_read", static_cast<double>(lines_read()), "count", "64 B lines read by the host (MemRd)");
  m.set("lines_written", static_cast<double>(lines_written()), "count", "64 B lines written by the host (MemWr)");
  m.set("errors", static_cast<double>(errors()), "count", "requests refused (no decoder, out of range, DRAM error)");
  m.set("poisoned_reads", static_cast<double>(poisoned_reads()), "count", "reads that returned poisoned data");
  m.set("poisoned_lines", static_cast<double>(poisoned_lines()), "count", "lines poisoned now");
  auto& l = g.group("link", "the CXL link, each direction");
  report_direction(l.group("down", "M2S, host to device"), link().down, lines_written());
  report_direction(l.group("up", "S2M, device to host"), link().up, lines_read());
}

} // namespace pnm::cxl
