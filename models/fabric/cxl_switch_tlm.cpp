#include "cxl_switch_tlm.h"

#include "common/log.h"
#include "cxl/cxl_poison.h"
#include "protocol/line_stream_ext.h"
#include "protocol/wire_carried_ext.h"

#include <algorithm>
#include <stdexcept>

namespace pnm::fabric {

using protocol::LineStatus;
using protocol::LineStreamExtension;
using protocol::StreamLine;

namespace {
constexpr uint64_t kLine = cxl::cache_line_bytes;
}

FabricTlm::EndpointSockets::EndpointSockets(const std::string& n)
    : mem((n + "_mem").c_str()), config_in((n + "_config_in").c_str()), mmio_in((n + "_mmio_in").c_str()),
      config_out((n + "_config").c_str()), mmio_out((n + "_mmio").c_str()), peer_in((n + "_peer_in").c_str()),
      peer_none((n + "_peer_none").c_str()) {}

FabricTlm::FabricTlm(sc_core::sc_module_name name, FabricConfig cfg, std::vector<Endpoint> endpoints)
    : sc_module(name), host_socket("host_socket"), fabric_(std::move(cfg)), endpoints_(std::move(endpoints)) {
  host_socket.register_b_transport(this, &FabricTlm::mem_transport);
  host_socket.register_transport_dbg(this, &FabricTlm::mem_dbg);
  for (size_t i = 0; i < endpoints_.size(); ++i) {
    const Endpoint& e = endpoints_[i];
    sockets_.push_back(std::make_unique<EndpointSockets>(e.name));
    sockets_.back()->config_in.register_b_transport(this, &FabricTlm::io_transport, int(2 * i));
    sockets_.back()->mmio_in.register_b_transport(this, &FabricTlm::io_transport, int(2 * i + 1));
    sockets_.back()->peer_in.register_b_transport(this, &FabricTlm::peer_transport, int(i));
    const Route r = fabric_.route(e.entry, e.hpa);
    if (!(r.target == e.port))
      throw std::invalid_argument("fabric: endpoint " + e.name + ": its address routes to " + r.target.name() +
                                  ", not to " + e.port.name());
    Picos one_way_ps = 0;
    for (Picos s : r.switch_ps) one_way_ps += s;
    for (size_t h = 0; h + 1 < r.hops.size(); ++h) one_way_ps += fabric_.link(r.hops[h].port).down.config().port_latency_ps;
    io_delay_.push_back(sc_core::sc_time(double(2 * one_way_ps), sc_core::SC_PS));
  }
}

void FabricTlm::before_end_of_elaboration() {
  for (auto& e : sockets_)
    if (!e->peer_bound) {
      e->peer_none.bind(e->peer_in); // a device that never requests
      e->peer_bound = true;
    }
}

void FabricTlm::bind_host(tlm::tlm_base_initiator_socket<>& s, const PortRef& entry) {
  host_entry_.push_back(entry); // multi-passthrough ids follow the binding order
  s.bind(host_socket);
}

size_t FabricTlm::endpoint_of(const PortRef& p) const {
  for (size_t i = 0; i < endpoints_.size(); ++i)
    if (endpoints_[i].port == p) return i;
  throw std::logic_error("fabric: no device at " + p.name());
}

void FabricTlm::io_transport(int tag, tlm::tlm_generic_payload& tx, sc_core::sc_time& delay) {
  const size_t i = size_t(tag) / 2;
  delay += io_delay_[i];
  EndpointSockets& s = *sockets_[i];
  (tag % 2 ? s.mmio_out : s.config_out)->b_transport(tx, delay);
}

unsigned FabricTlm::mem_dbg(int id, tlm::tlm_generic_payload& tx) {
  try {
    const size_t e = endpoint_of(fabric_.route(host_entry_.at(size_t(id)), tx.get_address()).target);
    return sockets_[e]->mem->transport_dbg(tx);
  } catch (const std::invalid_argument&) {
    return 0;
  }
}

void FabricTlm::mem_transport(int id, tlm::tlm_generic_payload& tx, sc_core::sc_time& delay) {
  transport(host_entry_.at(size_t(id)), tx, delay);
}

void FabricTlm::peer_transport(int endpoint, tlm::tlm_generic_payload& tx, sc_core::sc_time& delay) {
  transport(endpoints_.at(size_t(endpoint)).port, tx, delay);
}

void FabricTlm::transport(const PortRef& from, tlm::tlm_generic_payload& tx, sc_core::sc_time& delay) {
  const uint64_t addr = tx.get_address();
  const uint64_t len = tx.get_data_length();
  if (tx.get_command() == tlm::TLM_IGNORE_COMMAND || len == 0 || addr % kLine || len % kLine ||
      tx.get_byte_enable_ptr()) {
    // CXL.mem moves whole 64 B lines (as CxlLink refuses them).
    tx.set_response_status(tlm::TLM_BURST_ERROR_RESPONSE);
    ++errors_;
    log::warn(name(), "request of {} bytes at 0x{:x} is not whole 64 B lines", len, addr);
    return;
  }
  const size_t n = len / kLine;
  // Each line's endpoint; runs of lines to one endpoint are probed whole
  // before anything moves.
  std::vector<size_t> ep(n);
  try {
    for (size_t i = 0; i < n; ++i) ep[i] = endpoint_of(fabric_.route(from, addr + i * kLine).target);
  } catch (const std::invalid_argument& e) {
    tx.set_response_status(tlm::TLM_ADDRESS_ERROR_RESPONSE);
    ++errors_;
    log::warn(name(), "{}", e.what());
    return;
  }
  unsigned char* data = tx.get_data_ptr();
  for (size_t first = 0; first < n;) {
    size_t end = first + 1;
    while (end < n && ep[end] == ep[first]) ++end;
    tlm::tlm_generic_payload probe;
    probe.set_command(tlm::TLM_IGNORE_COMMAND);
    probe.set_address(addr + first * kLine);
    probe.set_data_length(unsigned((end - first) * kLine));
    probe.set_streaming_width(unsigned((end - first) * kLine));
    probe.set_data_ptr(data + first * kLine);
    sc_core::sc_time pd = sc_core::SC_ZERO_TIME;
    sockets_[ep[first]]->mem->b_transport(probe, pd);
    if (probe.get_response_status() != tlm::TLM_OK_RESPONSE) {
      tx.set_response_status(probe.get_response_status());
      return;
    }
    first = end;
  }

  const bool write = tx.is_write();
  const Picos now_ps = Picos((sc_core::sc_time_stamp() + delay).to_seconds() * 1e12 + 0.5);
  std::vector<LineStatus> status(n, LineStatus::ok);
  if (const cxl::PoisonExtension* p = tx.get_extension<cxl::PoisonExtension>(); p && write)
    for (uint32_t i : p->lines)
      if (i < n) status[i] = LineStatus::poisoned; // the RwD poison bit
  std::vector<FabricLine> lines(n);
  for (size_t i = 0; i < n; ++i) {
    lines[i].key = addr + i * kLine;
    lines[i].ready_ps = now_ps;
  }
  // Fabric::transfer answers the lines in order, each once: `next` is the
  // line of the transaction the responder's first trip is.
  size_t next = 0;
  tlm::tlm_response_status failed = tlm::TLM_OK_RESPONSE;
  auto respond = [&](const PortRef& target, std::vector<cxl::LineTrip>& trips, size_t f, size_t k) {
    LineStreamExtension ext;
    ext.lines.resize(k);
    for (size_t j = 0; j < k; ++j) {
      ext.lines[j].addr = addr + (next + j) * kLine;
      ext.lines[j].arrive_ps = trips[f + j].arrive_ps;
      ext.lines[j].status = status[next + j];
    }
    protocol::WireCarriedExtension carried;
    tlm::tlm_generic_payload dtx;
    protocol::set_stream(dtx, tx.get_command(), data + next * kLine, ext);
    dtx.set_extension(&carried);
    sc_core::sc_time dd = sc_core::SC_ZERO_TIME;
    sockets_[endpoint_of(target)]->mem->b_transport(dtx, dd);
    dtx.clear_extension(&ext);
    dtx.clear_extension(&carried);
    const bool ok = dtx.get_response_status() == tlm::TLM_OK_RESPONSE;
    if (!ok && failed == tlm::TLM_OK_RESPONSE) failed = dtx.get_response_status();
    for (size_t j = 0; j < k; ++j) {
      // A refused stream still frees its entries and answers (with an error).
      trips[f + j].freed_ps = ok ? ext.lines[j].freed_ps : trips[f + j].arrive_ps;
      trips[f + j].done_ps = ok ? ext.lines[j].done_ps : trips[f + j].arrive_ps;
      status[next + j] = ok ? ext.lines[j].status : status[next + j];
    }
    next += k;
  };
  try {
    fabric_.transfer(from, write, lines, respond);
  } catch (const std::exception& e) {
    tx.set_response_status(tlm::TLM_GENERIC_ERROR_RESPONSE);
    ++errors_;
    log::error(name(), "{}", e.what());
    return;
  }
  if (next != n) throw std::logic_error("fabric: the responder saw " + std::to_string(next) + " of " +
                                        std::to_string(n) + " lines");
  Picos end_ps = now_ps;
  for (const FabricLine& l : lines) end_ps = std::max(end_ps, l.back_ps);
  delay = sc_core::sc_time(double(end_ps), sc_core::SC_PS) - sc_core::sc_time_stamp();
  if (failed != tlm::TLM_OK_RESPONSE) {
    tx.set_response_status(failed);
    ++errors_;
    return;
  }
  tx.set_response_status(tlm::TLM_OK_RESPONSE);
  if (write) return;
  std::vector<uint32_t> bad; // lines that came back with the DRS poison bit
  for (size_t i = 0; i < n; ++i)
    if (status[i] == LineStatus::poisoned) bad.push_back(uint32_t(i));
  if (bad.empty()) return;
  tx.set_response_status(tlm::TLM_GENERIC_ERROR_RESPONSE);
  if (cxl::PoisonExtension* p = tx.get_extension<cxl::PoisonExtension>()) p->lines = std::move(bad);
}

} // namespace pnm::fabric
