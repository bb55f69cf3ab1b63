// One CXL port's link as a SystemC module of its own: a pass-through between
// a near port (up_socket: host agents, or the switch side of a hop) and a
// far port (down_socket: the device's CXL.mem controller, or the next link).
// It owns one plain C++ Link (link.h): every credit, flit and wire time of
// the port is there; this module only moves transactions.
//
// What comes in on up_socket:
//  - a host transaction (whole 64 B lines, any number; PoisonExtension
//    optional): its lines are all ready now; before any line moves, a
//    TLM_IGNORE_COMMAND probe of the whole range goes down so that an
//    undecodable HPA fails the whole transaction (no partial write);
//  - a line stream (protocol/line_stream_ext.h) from a link before this one
//    (a switch hop): each line is ready when it arrived at this port; its
//    done_ps comes back as when its response arrived here, its freed_ps as
//    when it left this port's buffer (its header flit started down).
// Either way the lines cross as M2S messages under the far port's credits;
// the lines that fit in its receive buffer go down together as a line
// stream with their arrival times; the far port's per-line completions
// (freed_ps, done_ps, status) come back and cross as S2M responses. The
// returned delay is when the last response arrives at the near port.
#pragma once

#include "cxl/link.h"
#include "protocol/line_stream_ext.h"

#include <cstdint>
#include <systemc>
#include <tlm>
#include <tlm_utils/multi_passthrough_target_socket.h>
#include <tlm_utils/simple_initiator_socket.h>

namespace pnm::cxl {

class CxlLink : public sc_core::sc_module {
public:
  // Several host agents (cores) may bind here.
  tlm_utils::multi_passthrough_target_socket<CxlLink> up_socket;
  tlm_utils::simple_initiator_socket<CxlLink> down_socket;

  CxlLink(sc_core::sc_module_name name, const LinkConfig& cfg);

  const Link& link() const { return link_; }
  // The first line of the last transaction that went through.
  const LineTrip& last_first_line() const { return first_; }
  uint64_t errors() const { return errors_; } // requests that are not whole lines

private:
  void b_transport(int id, tlm::tlm_generic_payload& tx, sc_core::sc_time& delay);
  unsigned transport_dbg(int id, tlm::tlm_generic_payload& tx);
  // A host transaction's lines; false (response set) if it cannot cross.
  bool host_lines(tlm::tlm_generic_payload& tx, sc_core::sc_time& delay,
                  std::vector<protocol::StreamLine>& lines);

  Link link_;
  LineTrip first_;
  uint64_t errors_ = 0;
};

} // namespace pnm::cxl
