#include "cxl_link.h"

#include "common/log.h"
#include "cxl/cxl_poison.h"
#include "protocol/wire_carried_ext.h"

#include <algorithm>

namespace pnm::cxl {

using protocol::LineStatus;
using protocol::LineStreamExtension;
using protocol::StreamLine;

CxlLink::CxlLink(sc_core::sc_module_name name, const LinkConfig& cfg)
    : sc_module(name), up_socket("up_socket"), down_socket("down_socket"), link_(cfg) {
  up_socket.register_b_transport(this, &CxlLink::b_transport);
  up_socket.register_transport_dbg(this, &CxlLink::transport_dbg);
}

bool CxlLink::host_lines(tlm::tlm_generic_payload& tx, sc_core::sc_time& delay, std::vector<StreamLine>& lines) {
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
  // The far side checks the whole range before any line moves (in zero
  // time: the routing check a port does on the header).
  tlm::tlm_generic_payload probe;
  probe.set_command(tlm::TLM_IGNORE_COMMAND);
  probe.set_address(addr);
  probe.set_data_length(static_cast<unsigned>(len));
  probe.set_streaming_width(static_cast<unsigned>(len));
  probe.set_data_ptr(tx.get_data_ptr());
  sc_core::sc_time pd = sc_core::SC_ZERO_TIME;
  down_socket->b_transport(probe, pd);
  if (probe.get_response_status() != tlm::TLM_OK_RESPONSE) {
    tx.set_response_status(probe.get_response_status());
    return false;
  }
  const Picos now_ps = static_cast<Picos>((sc_core::sc_time_stamp() + delay).to_seconds() * 1e12 + 0.5);
  lines.assign(len / cache_line_bytes, StreamLine{});
  for (size_t i = 0; i < lines.size(); ++i) {
    lines[i].addr = addr + i * cache_line_bytes;
    lines[i].arrive_ps = now_ps;
  }
  if (const PoisonExtension* p = tx.get_extension<PoisonExtension>(); p && tx.is_write())
    for (uint32_t i : p->lines)
      if (i < lines.size()) lines[i].status = LineStatus::poisoned; // the RwD poison bit
  return true;
}

void CxlLink::b_transport(int, tlm::tlm_generic_payload& tx, sc_core::sc_time& delay) {
  if (tx.get_command() == tlm::TLM_IGNORE_COMMAND) { // a probe from the link before: pass it on
    down_socket->b_transport(tx, delay);
    return;
  }
  LineStreamExtension* in = tx.get_extension<LineStreamExtension>();
  if (in && tx.get_extension<protocol::WireCarriedExtension>()) { // a switch port carried them over this wire
    down_socket->b_transport(tx, delay);
    return;
  }
  std::vector<StreamLine> own;
  if (!in && !host_lines(tx, delay, own)) return;
  std::vector<StreamLine>& lines = in ? in->lines : own;
  const size_t n = lines.size();
  if (n == 0 || tx.get_data_length() != n * cache_line_bytes) {
    tx.set_response_status(tlm::TLM_BURST_ERROR_RESPONSE);
    ++errors_;
    log::warn(name(), "line stream of {} lines with {} bytes refused", n, tx.get_data_length());
    return;
  }
  const bool write = tx.is_write();
  std::vector<LineTrip> trips(n);
  Picos end_ps = lines[0].arrive_ps;
  for (size_t i = 0; i < n; ++i) trips[i].ready_ps = lines[i].arrive_ps;
  unsigned char* data = tx.get_data_ptr();
  for (size_t next = 0; next < n;) {
    // Send until the far port's receive buffer (credits) is full; those
    // lines then go on together and free their entries as they finish.
    const size_t k = link_.forward(write, trips, next);
    if (k == 0) {
      tx.set_response_status(tlm::TLM_GENERIC_ERROR_RESPONSE);
      log::error(name(), "no downstream credit and nothing outstanding to free one");
      return;
    }
    LineStreamExtension ext;
    ext.lines.assign(lines.begin() + next, lines.begin() + next + k);
    for (size_t j = 0; j < k; ++j) ext.lines[j].arrive_ps = trips[next + j].arrive_ps;
    tlm::tlm_generic_payload dtx;
    protocol::set_stream(dtx, tx.get_command(), data + next * cache_line_bytes, ext);
    sc_core::sc_time dd = sc_core::SC_ZERO_TIME;
    down_socket->b_transport(dtx, dd);
    dtx.clear_extension(&ext);
    if (dtx.get_response_status() != tlm::TLM_OK_RESPONSE) {
      tx.set_response_status(dtx.get_response_status());
      return;
    }
    for (size_t j = 0; j < k; ++j) {
      trips[next + j].freed_ps = ext.lines[j].freed_ps;
      trips[next + j].done_ps = ext.lines[j].done_ps;
      lines[next + j].status = ext.lines[j].status;
    }
    if (!link_.back(write, trips, next, k)) {
      tx.set_response_status(tlm::TLM_GENERIC_ERROR_RESPONSE);
      log::error(name(), "no upstream credit");
      return;
    }
    if (next == 0) first_ = trips[0];
    for (size_t j = next; j < next + k; ++j) end_ps = std::max(end_ps, trips[j].back_ps);
    next += k;
  }
  for (size_t i = 0; i < n; ++i) {
    // As seen at this port: the line left its buffer when its flit started,
    // its response arrived back here.
    lines[i].freed_ps = trips[i].sent_ps;
    lines[i].done_ps = trips[i].back_ps;
  }
  delay = sc_core::sc_time(static_cast<double>(end_ps), sc_core::SC_PS) - sc_core::sc_time_stamp();
  tx.set_response_status(tlm::TLM_OK_RESPONSE);
  if (in || write) return;
  // A host read: lines that came back with the DRS poison bit fail it, and
  // the PoisonExtension, if any, says which.
  std::vector<uint32_t> bad;
  for (size_t i = 0; i < n; ++i)
    if (lines[i].status == LineStatus::poisoned) bad.push_back(static_cast<uint32_t>(i));
  if (bad.empty()) return;
  tx.set_response_status(tlm::TLM_GENERIC_ERROR_RESPONSE);
  if (PoisonExtension* p = tx.get_extension<PoisonExtension>()) p->lines = std::move(bad);
}

unsigned CxlLink::transport_dbg(int, tlm::tlm_generic_payload& tx) { return down_socket->transport_dbg(tx); }

} // namespace pnm::cxl
