// TLM-2.0 face of the switch fabric core (cxl_switch.h): the only SystemC in
// models/fabric. Hosts bind to `host_socket` (several root-port agents may
// share one upstream port); each endpoint (device) gets an initiator socket
// for CXL.mem and a CXL.io pair.
//
// CXL.mem: a host transaction (whole 64 B lines, reads or writes) is routed
// line by line through Fabric::transfer from its upstream port; the lines
// that reach an endpoint go to that device's mem socket as a line stream
// (protocol/line_stream_ext.h) marked WireCarriedExtension: the fabric's
// downstream port link is the device's wire, so the device's own link module
// passes the stream on and the wire is modelled once. The returned delay is
// when the last response is back at the host's side of the upstream link.
// Before any line moves, a TLM_IGNORE_COMMAND probe of each device's part
// checks that it decodes (no partial write), as CxlLink does.
//
// Peer-to-peer: a device's `peer_in` requests (PUSH jobs of its engine) are
// routed the same way from the device's own downstream port (Fabric's P2P
// routes), so they show in the switch counters but never in a host port's.
//
// CXL.io (config, MMIO) is not flit-modelled (as without a switch): it goes
// to the device adding, both ways, each switch traversal of its route and
// the port latency of every wire but the device's own (which, as without a
// switch, CXL.io does not pay).
#pragma once

#include "fabric/cxl_switch.h"

#include <memory>
#include <stdexcept>
#include <string>
#include <systemc>
#include <tlm>
#include <tlm_utils/multi_passthrough_initiator_socket.h>
#include <tlm_utils/multi_passthrough_target_socket.h>
#include <tlm_utils/simple_initiator_socket.h>
#include <tlm_utils/simple_target_socket.h>
#include <vector>

namespace pnm::fabric {

class FabricTlm : public sc_core::sc_module {
public:
  // One device behind the fabric: its downstream port, the upstream port
  // its host enters by and an address that routes to it (for CXL.io).
  struct Endpoint {
    std::string name;
    PortRef port;
    PortRef entry;
    uint64_t hpa = 0;
  };
  struct EndpointSockets {
    explicit EndpointSockets(const std::string& n);
    tlm_utils::simple_initiator_socket<FabricTlm> mem;
    tlm_utils::simple_target_socket_tagged<FabricTlm> config_in, mmio_in;
    tlm_utils::simple_initiator_socket<FabricTlm> config_out, mmio_out;
    // The device as a requester (peer-to-peer), bound by bind_peer(); left
    // unbound, it is tied off to `peer_none` at the end of elaboration.
    tlm_utils::simple_target_socket_tagged<FabricTlm> peer_in;
    tlm_utils::multi_passthrough_initiator_socket<FabricTlm, 32, tlm::tlm_base_protocol_types, 1,
                                                  sc_core::SC_ZERO_OR_MORE_BOUND>
        peer_none;
    bool peer_bound = false;
  };

  // CXL.mem from the hosts; bind with bind_host so each binding knows its port.
  tlm_utils::multi_passthrough_target_socket<FabricTlm> host_socket;

  FabricTlm(sc_core::sc_module_name name, FabricConfig cfg, std::vector<Endpoint> endpoints);

  // A host agent's CXL.mem socket entering the fabric at upstream port `entry`.
  void bind_host(tlm::tlm_base_initiator_socket<>& s, const PortRef& entry);
  EndpointSockets& endpoint(size_t i) { return *sockets_.at(i); }
  // Endpoint i as a requester (peer-to-peer): CXL.mem writes and reads at
  // host physical addresses enter the fabric at its own downstream port and
  // never cross a host port. Optional (a device that never pushes has none).
  template <typename Socket> void bind_peer(size_t i, Socket& initiator) {
    EndpointSockets& e = *sockets_.at(i);
    if (e.peer_bound) throw std::logic_error("fabric: endpoint " + endpoints_[i].name + " has a peer requester already");
    e.peer_bound = true;
    initiator.bind(e.peer_in);
  }
  size_t endpoint_count() const { return endpoints_.size(); }

  Fabric& fabric() { return fabric_; }
  const Fabric& fabric() const { return fabric_; }
  // CXL.io delay added for endpoint i, both ways.
  sc_core::sc_time io_delay(size_t i) const { return io_delay_.at(i); }
  uint64_t errors() const { return errors_; }

private:
  void mem_transport(int id, tlm::tlm_generic_payload& tx, sc_core::sc_time& delay);
  void peer_transport(int endpoint, tlm::tlm_generic_payload& tx, sc_core::sc_time& delay);
  // A CXL.mem transaction entering the fabric at `from`.
  void transport(const PortRef& from, tlm::tlm_generic_payload& tx, sc_core::sc_time& delay);
  unsigned mem_dbg(int id, tlm::tlm_generic_payload& tx);
  void io_transport(int tag, tlm::tlm_generic_payload& tx, sc_core::sc_time& delay);
  size_t endpoint_of(const PortRef& p) const;
  void before_end_of_elaboration() override;

  Fabric fabric_;
  std::vector<Endpoint> endpoints_;
  std::vector<std::unique_ptr<EndpointSockets>> sockets_;
  std::vector<PortRef> host_entry_; // per host_socket binding
  std::vector<sc_core::sc_time> io_delay_;
  uint64_t errors_ = 0;
};

} // namespace pnm::fabric
