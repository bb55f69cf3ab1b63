// CXL switch fabric core (plain C++, no SystemC): one or more switches, each
// with upstream ports (one per host / virtual hierarchy) and downstream ports,
// every port owning the cxl::Link of the wire attached to it (flits, port
// latency, credits, back-pressure: models/cxl/link.h).
//
// Routing (FabricConfig::routing):
//  - hbr (CXL 2.0 hierarchy-based): a request entering upstream port u is
//    decoded by u's virtual-hierarchy windows (HPA range -> downstream port,
//    interleaved like the HDM decoders: way = ((HPA - base) / G) % W);
//  - pbr (CXL 3.x port-based): the key is a 12-bit destination PBR ID; each
//    downstream port reaches the IDs listed on it (endpoint) or, if it leads
//    to another switch, every ID below that switch. PBR needs 256 B flits.
// A route is a list of hops (one link each); between two hops the traffic
// crosses one switch and pays its traversal latency, once per direction.
//
// Peer-to-peer: a request may start at a downstream port (the device there is
// the requester). It rides that port's second link, `p2p`, whose `down`
// direction is the device-to-switch wire: the link core carries M2S requests
// only on `down`, so a requester device gets its own Link. Its flits do not
// share wire time or credits with the host traffic of the same port (a
// limitation; docs/FABRIC.md). A P2P route may climb into a parent switch
// through the downstream port that feeds its switch but never crosses a host
// (upstream) port.
//
// Cascading: a downstream port may feed an upstream port of another switch.
// That wire is modelled once, as the feeding downstream port's link; the fed
// upstream port has no wire of its own, takes no host traffic and reports no
// counters.
//
// Time: picoseconds (cxl::Picos), absolute, like cxl::Link.
#pragma once

#include "cxl/link.h"

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace pnm {
class StatGroup;
}

namespace pnm::fabric {

using cxl::Picos;

// One switch traversal (ingress port to egress port, one direction), ns.
// Default 50 ns. Published figures are sparse and none is a measured
// datasheet value: a KV-cache design note's latency budget lists "switch
// traversal 50 ns" (sampooni.github.io/kv-cache-docs, appendix F, no source
// given); a reader comment on a Next Platform article puts a CXL switch "on
// the order of 100 to 120 ns" (unclear whether one way or round trip);
// XConn's XC50256 material claims the "lowest port-to-port latency" with no
// figure; Octopus (arXiv 2501.09020) measures RPCs through a CXL switch 2.4x
// slower than its switchless pod, without a per-hop number. 50 ns one way
// (100 ns per round trip) sits at the low end of these. Unverified: keep it
// a parameter.
inline constexpr double default_traversal_latency_ns = 50.0;

// PBR IDs are 12 bits (CXL 3.x SPID/DPID).
inline constexpr unsigned pbr_id_bits = 12;
inline constexpr uint32_t pbr_id_count = 1u << pbr_id_bits;

enum class Routing : uint8_t { hbr, pbr };
const char* to_string(Routing r);

// One HBR decoder window of a virtual hierarchy: [base, base + size) spread
// over `targets` (downstream port indices, way order) in chunks of
// granularity_bytes. Ways and granularity as the HDM decoders allow them
// (1, 2, 3, 4, 6, 8, 12, 16 ways; 256 B .. 16 KiB).
struct HbrWindow {
  uint64_t base = 0;
  uint64_t size = 0;
  uint64_t granularity_bytes = 256;
  std::vector<unsigned> targets;
};

struct UpstreamPortConfig {
  cxl::LinkConfig link;          // the wire to the host (unused if fed by a cascade)
  std::vector<HbrWindow> windows; // HBR: this virtual hierarchy's decode
};

struct DownstreamPortConfig {
  cxl::LinkConfig link;           // the wire to the device or the next switch
  std::vector<uint16_t> pbr_ids;  // PBR: the endpoint's ID(s); empty on a cascade port
  int cascade_switch = -1;        // index of the switch this port feeds, -1: an endpoint
  unsigned cascade_upstream = 0;  // the upstream port of that switch it feeds
};

struct SwitchConfig {
  std::string name = "switch";
  double traversal_latency_ns = default_traversal_latency_ns;
  std::vector<UpstreamPortConfig> upstream;
  std::vector<DownstreamPortConfig> downstream;
};

struct FabricConfig {
  Routing routing = Routing::hbr;
  std::vector<SwitchConfig> switches;
  // Throws std::invalid_argument naming the key, e.g.
  // "switches[0].upstream[1].windows[2].targets[0]".
  void validate() const;
};

// A port of the fabric: switch index, side, index on that side.
struct PortRef {
  unsigned sw = 0;
  bool upstream = true;
  unsigned port = 0;
  bool operator==(const PortRef& o) const {
    return sw == o.sw && upstream == o.upstream && port == o.port;
  }
  std::string name() const; // "switches[0].downstream[3]"
};

struct Hop {
  PortRef port;          // whose link carries the request
  bool p2p_link = false; // the requester-device link of a downstream port
};

struct Route {
  std::vector<Hop> hops;
  // switch_ps[i]: traversal latency of the switch between hops[i] and hops[i+1].
  std::vector<Picos> switch_ps;
  PortRef target; // the downstream port of the endpoint
};

// One 64 B line through the fabric.
struct FabricLine {
  uint64_t key = 0;     // HPA (hbr) or destination PBR ID (pbr)
  Picos ready_ps = 0;   // input: ready at the requester's port
  Picos sent_ps = 0;    // its header flit started on the first hop
  Picos arrive_ps = 0;  // it arrived at the endpoint
  Picos done_ps = 0;    // the endpoint's response was ready (from the responder)
  Picos back_ps = 0;    // the response arrived back at the requester
  PortRef target;
};

// The endpoint behind `target` answers trips[first, first + n): from each
// arrive_ps it sets freed_ps (its receive-buffer entry freed) and done_ps
// (its response ready), as the far side of Link::forward/back does. A TLM
// adapter calls the device's socket here.
using Responder =
    std::function<void(const PortRef& target, std::vector<cxl::LineTrip>& trips, size_t first, size_t n)>;

// Counters of one port, both directions as the switch sees them: ingress =
// into the switch, egress = out of it. Bytes are line payload (RwD and DRS).
struct PortCounters {
  uint64_t ingress_bytes = 0, egress_bytes = 0;
  uint64_t ingress_flits = 0, egress_flits = 0;
  uint64_t requests = 0;  // M2S messages that entered or left through this port
  Picos credit_stall_ps = 0; // time messages on this port's wires waited for credits
};

class Fabric {
public:
  explicit Fabric(FabricConfig cfg); // validates

  const FabricConfig& config() const { return cfg_; }

  // The route of a request entering at `from` (a host's upstream port, or a
  // downstream port for P2P) with `key` (HPA or PBR ID). Throws
  // std::invalid_argument if nothing decodes it or if it would have to cross
  // an upstream port (P2P), naming the port.
  Route route(const PortRef& from, uint64_t key) const;

  // Moves lines (all reads or all writes) from `from` to their endpoints and
  // back: runs of consecutive lines with the same route go through together,
  // in order. Fills every output field of `lines`. Throws std::logic_error if
  // a link has no credit and nothing outstanding to free one.
  void transfer(const PortRef& from, bool write, std::vector<FabricLine>& lines,
                const Responder& respond);

  // The same through a given route (all lines to its target).
  void transfer(const Route& r, bool write, std::vector<FabricLine>& lines, const Responder& respond);

  PortCounters counters(const PortRef& p) const;
  const cxl::Link& link(const PortRef& p) const;
  const cxl::Link& p2p_link(unsigned sw, unsigned downstream_port) const;

  // Line payload summed over every switch traversal (bytes that crossed two
  // switches count twice), in both directions, peer-to-peer included.
  uint64_t traversal_bytes() const;
  // Publishes traversal_bytes and per-port counters under g/<switch name>/{upstream,downstream}<i>.
  void report(StatGroup& g) const;

private:
  struct Port {
    Port(const cxl::LinkConfig& c) : link(c), p2p(c) {}
    cxl::Link link;
    cxl::Link p2p; // downstream ports only: the requester device's wire
  };
  struct Switch {
    std::vector<std::unique_ptr<Port>> up, down;
    std::vector<std::vector<uint16_t>> reach; // PBR IDs reachable per downstream port
    int parent = -1;                          // switch whose downstream port feeds this one
    unsigned parent_port = 0, fed_upstream = 0;
  };

  cxl::Link& link_of(const Hop& h);
  // Downstream port of switch s chosen for key, entering via upstream port
  // vh (HBR); -1 if none.
  int decide(unsigned s, unsigned vh, uint64_t key) const;
  int vh_of(unsigned s, unsigned downstream_port) const; // an upstream port whose windows target it
  void descend(Route& r, unsigned s, unsigned vh, uint64_t key, const std::string& from) const;
  void pass(const Route& r, size_t h, bool write, std::vector<cxl::LineTrip>& t,
            const std::vector<size_t>& idx, std::vector<FabricLine>& lines, const Responder& respond);

  FabricConfig cfg_;
  std::vector<Switch> sw_;
};

} // namespace pnm::fabric
