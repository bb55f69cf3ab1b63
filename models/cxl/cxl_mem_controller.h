// The device side of CXL.mem as a SystemC module. Host requests (HPA, any
// whole number of 64 B lines) arrive on host_socket; each line becomes an
// M2S message (MemRd in a Req, MemWr in an RwD) that crosses the
// downstream link as flits, under credits; the HDM decoder turns its HPA into
// a device physical address; the lines reach the DRAM as one stream (a
// BurstExtension transaction on dram_socket, each line with its own arrival
// time); each line's response (DRS with data, or NDR Cmp) crosses the
// upstream link. The returned delay is when the last response arrives at the
// host. Plain C++ cores (link.h, hdm_decoder.h) do the arithmetic.
#pragma once

#include "cxl/cxl_io_regs.h"
#include "cxl/cxl_poison.h"
#include "cxl/hdm_decoder.h"
#include "cxl/link.h"
#include "common/stats.h"

#include <cstdint>
#include <unordered_set>
#include <systemc>
#include <tlm>
#include <tlm_utils/multi_passthrough_target_socket.h>
#include <tlm_utils/simple_initiator_socket.h>

namespace pnm::cxl {

struct CxlMemConfig {
  LinkConfig link;
  Picos controller_latency_ps = 0; // request decode + response assembly in the device
};

// Where one line's time went (the last transaction's first line).
struct LatencyBreakdown {
  double downstream_link_ns = 0; // M2S message: flit serialisation + port + wire
  double controller_ns = 0;      // HDM decode, CXL.mem controller
  double dram_ns = 0;            // queue + DRAM commands + data
  double upstream_link_ns = 0;   // S2M message back to the host
  double total_ns() const { return downstream_link_ns + controller_ns + dram_ns + upstream_link_ns; }
};

class CxlMemController : public sc_core::sc_module {
public:
  // Several host agents (cores) may bind here.
  tlm_utils::multi_passthrough_target_socket<CxlMemController> host_socket;
  tlm_utils::simple_initiator_socket<CxlMemController> dram_socket;

  CxlMemController(sc_core::sc_module_name name, const CxlMemConfig& cfg, CxlIoRegs& regs);

  void inject_poison(uint64_t dpa) { poisoned_.insert(dpa / cache_line_bytes); }
  void clear_poison(uint64_t dpa) { poisoned_.erase(dpa / cache_line_bytes); }
  bool poisoned(uint64_t dpa) const { return poisoned_.count(dpa / cache_line_bytes) != 0; }
  size_t poisoned_lines() const { return poisoned_.size(); }
  uint64_t poisoned_reads() const { return poisoned_reads_; }

  const Link& link() const { return link_; }
  const LatencyBreakdown& last_breakdown() const { return last_; }
  uint64_t lines_read() const { return lines_read_; }
  uint64_t lines_written() const { return lines_written_; }
  uint64_t errors() const { return errors_; }
  const CxlMemConfig& config() const { return cfg_; }
  // Publishes mem/ (lines, poison, errors) and link/down, link/up (flits,
  // payload and wire bytes, messages, credit waits, energy) under `g`.
  void report(StatGroup& g) const;

private:
  void b_transport(int id, tlm::tlm_generic_payload& tx, sc_core::sc_time& delay);
  unsigned transport_dbg(int id, tlm::tlm_generic_payload& tx);
  bool translate_all(tlm::tlm_generic_payload& tx, std::vector<uint64_t>& dpa);

  CxlMemConfig cfg_;
  CxlIoRegs& regs_;
  HdmDecoder& hdm_;
  std::unordered_set<uint64_t> poisoned_; // line numbers (DPA / 64)
  uint64_t poisoned_reads_ = 0;
  Link link_;
  LatencyBreakdown last_;
  uint64_t next_id_ = 0;
  uint64_t lines_read_ = 0, lines_written_ = 0, errors_ = 0;
};

} // namespace pnm::cxl
