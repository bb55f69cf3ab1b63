// The device side of CXL.mem in SystemC: a thin TLM face of CxlMemCore
// (cxl_mem_core.h), and CxlMemPort, one CXL.mem port as the host sees it
// (the port's link module in front of the controller).
//
// CxlMemController takes line streams (protocol/line_stream_ext.h) that
// have already crossed the link: each line an M2S request with its HPA and
// its arrival at the device port. The core decodes them; the lines reach
// the DRAM as one stream on dram_socket (each with its own arrival time);
// the memory's completions come back as each line's S2M response time
// (done_ps), the time its receive-buffer entry freed (freed_ps) and its
// poison bit. A TLM_IGNORE_COMMAND over a range answers whether every line
// of it decodes (the link asks before any line moves). No link inside: the
// port's CxlLink carries the lines to and from the host.
#pragma once

#include "cxl/cxl_io_regs.h"
#include "cxl/cxl_link.h"
#include "cxl/cxl_mem_core.h"
#include "cxl/cxl_poison.h"
#include "cxl/link.h"
#include "common/stats.h"

#include <cstdint>
#include <systemc>
#include <tlm>
#include <tlm_utils/multi_passthrough_target_socket.h>
#include <tlm_utils/simple_initiator_socket.h>
#include <tlm_utils/simple_target_socket.h>

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
  tlm_utils::simple_target_socket<CxlMemController> link_socket; // line streams off the link
  tlm_utils::simple_initiator_socket<CxlMemController> dram_socket;

  CxlMemController(sc_core::sc_module_name name, Picos controller_latency_ps, CxlIoRegs& regs);

  CxlMemCore& core() { return core_; }
  const CxlMemCore& core() const { return core_; }

private:
  void b_transport(tlm::tlm_generic_payload& tx, sc_core::sc_time& delay);
  unsigned transport_dbg(tlm::tlm_generic_payload& tx);
  void refuse(tlm::tlm_generic_payload& tx, const CxlMemCore::Refusal& r);

  CxlIoRegs& regs_;
  CxlMemCore core_;
};

// One CXL.mem port of the device: host_socket is its link's near end, the
// link's far end feeds the controller, dram_socket goes to device memory.
class CxlMemPort : public sc_core::sc_module {
public:
  CxlLink host_link;
  CxlMemController controller;
  // Several host agents (cores) may bind here.
  tlm_utils::multi_passthrough_target_socket<CxlLink>& host_socket;
  tlm_utils::simple_initiator_socket<CxlMemController>& dram_socket;

  CxlMemPort(sc_core::sc_module_name name, const CxlMemConfig& cfg, CxlIoRegs& regs);

  const Link& link() const { return host_link.link(); }
  // The last host transaction's first line, stage by stage.
  LatencyBreakdown last_breakdown() const;

  void inject_poison(uint64_t dpa) { controller.core().inject_poison(dpa); }
  void clear_poison(uint64_t dpa) { controller.core().clear_poison(dpa); }
  bool poisoned(uint64_t dpa) const { return controller.core().poisoned(dpa); }
  size_t poisoned_lines() const { return controller.core().poisoned_lines(); }
  uint64_t poisoned_reads() const { return controller.core().poisoned_reads(); }
  uint64_t lines_read() const { return controller.core().lines_read(); }
  uint64_t lines_written() const { return controller.core().lines_written(); }
  uint64_t errors() const { return host_link.errors() + controller.core().errors(); }
  const CxlMemConfig& config() const { return cfg_; }
  // Publishes mem/ (lines, poison, errors) and link/down, link/up (flits,
  // payload and wire bytes, messages, credit waits, energy) under `g`.
  void report(StatGroup& g) const;

private:
  CxlMemConfig cfg_;
};

} // namespace pnm::cxl
