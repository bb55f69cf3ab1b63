#include "cxl_switch.h"

#include "common/stats.h"
#include "cxl/hdm_decoder.h"

#include <algorithm>
#include <cmath>
#include <map>
#include <stdexcept>

namespace pnm::fabric {

namespace {

std::string key_sw(size_t s) { return "switches[" + std::to_string(s) + "]"; }
std::string key_port(size_t s, bool up, size_t p) {
  return key_sw(s) + (up ? ".upstream[" : ".downstream[") + std::to_string(p) + "]";
}

[[noreturn]] void fail(const std::string& key, const std::string& what) {
  throw std::invalid_argument("fabric: " + key + ": " + what);
}

void check_link(const cxl::LinkConfig& l, const std::string& key, Routing routing) {
  try {
    l.validate();
  } catch (const std::invalid_argument& e) {
    fail(key + ".link", e.what());
  }
  // PBR messages carry SPID/DPID fields that only the 256 B flit has room for.
  if (routing == Routing::pbr && l.flit_mode != cxl::FlitMode::flit256)
    fail(key + ".link.flit_mode", "port-based routing needs 256-byte flits, not 68-byte");
}

Picos ns_to_ps(double ns) { return Picos(std::llround(ns * 1000.0)); }

} // namespace

const char* to_string(Routing r) { return r == Routing::hbr ? "hbr" : "pbr"; }

std::string PortRef::name() const { return key_port(sw, upstream, port); }

void FabricConfig::validate() const {
  if (switches.empty()) fail("switches", "a fabric needs at least one switch");
  const size_t ns = switches.size();
  std::vector<std::vector<int>> fed(ns); // fed[s][u]: how many downstream ports feed upstream port u
  for (size_t s = 0; s < ns; ++s) fed[s].assign(switches[s].upstream.size(), 0);
  std::map<uint32_t, std::string> endpoint_ids;

  for (size_t s = 0; s < ns; ++s) {
    const SwitchConfig& sc = switches[s];
    if (!(sc.traversal_latency_ns >= 0) || !std::isfinite(sc.traversal_latency_ns))
      fail(key_sw(s) + ".traversal_latency_ns", "must be a finite number >= 0");
    if (sc.upstream.empty()) fail(key_sw(s) + ".upstream", "a switch needs at least one upstream port");
    if (sc.downstream.empty()) fail(key_sw(s) + ".downstream", "a switch needs at least one downstream port");
    for (size_t u = 0; u < sc.upstream.size(); ++u) {
      const std::string k = key_port(s, true, u);
      check_link(sc.upstream[u].link, k, routing);
      const auto& ws = sc.upstream[u].windows;
      for (size_t w = 0; w < ws.size(); ++w) {
        const HbrWindow& win = ws[w];
        const std::string kw = k + ".windows[" + std::to_string(w) + "]";
        if (win.targets.empty()) fail(kw + ".targets", "a window needs at least one target port");
        for (size_t t = 0; t < win.targets.size(); ++t) {
          if (win.targets[t] >= sc.downstream.size())
            fail(kw + ".targets[" + std::to_string(t) + "]",
                 "unknown downstream port " + std::to_string(win.targets[t]) + " (the switch has " +
                     std::to_string(sc.downstream.size()) + ")");
          for (size_t t2 = 0; t2 < t; ++t2)
            if (win.targets[t2] == win.targets[t])
              fail(kw + ".targets[" + std::to_string(t) + "]", "port listed twice in one window");
        }
        if (!cxl::hdm_encode_ways(unsigned(win.targets.size())))
          fail(kw + ".targets", std::to_string(win.targets.size()) +
                                    " ways cannot be interleaved (1, 2, 3, 4, 6, 8, 12 or 16)");
        if (!cxl::hdm_encode_granularity(win.granularity_bytes))
          fail(kw + ".granularity_bytes", "must be 256 B .. 16 KiB, a power of two");
        const uint64_t stripe = win.granularity_bytes * win.targets.size();
        if (win.size == 0 || win.size % stripe)
          fail(kw + ".size", "must be a positive multiple of ways x granularity (" + std::to_string(stripe) + " B)");
        if (win.base % win.granularity_bytes) fail(kw + ".base", "must be aligned to the granularity");
        if (win.base >= cxl::hdm_max_hpa_bytes || win.size > cxl::hdm_max_hpa_bytes - win.base)
          fail(kw, "window ends beyond the 52-bit HPA space");
        for (size_t w2 = 0; w2 < w; ++w2) {
          const HbrWindow& o = ws[w2];
          if (win.base < o.base + o.size && o.base < win.base + win.size)
            fail(kw, "overlaps " + k + ".windows[" + std::to_string(w2) + "]");
        }
      }
    }
    for (size_t d = 0; d < sc.downstream.size(); ++d) {
      const DownstreamPortConfig& dp = sc.downstream[d];
      const std::string k = key_port(s, false, d);
      check_link(dp.link, k, routing);
      if (dp.cascade_switch >= 0) {
        const size_t t = size_t(dp.cascade_switch);
        if (t >= ns) fail(k + ".cascade_switch", "unknown switch " + std::to_string(t));
        if (t == s) fail(k + ".cascade_switch", "route loop: a switch cannot feed itself");
        if (dp.cascade_upstream >= switches[t].upstream.size())
          fail(k + ".cascade_upstream", "unknown upstream port " + std::to_string(dp.cascade_upstream) +
                                            " of " + key_sw(t));
        if (++fed[t][dp.cascade_upstream] > 1)
          fail(k + ".cascade_upstream", key_port(t, true, dp.cascade_upstream) + " is already fed by another port");
        if (!dp.pbr_ids.empty())
          fail(k + ".pbr_ids", "a port leading to another switch reaches that switch's IDs; list none");
      } else if (dp.cascade_switch != -1) {
        fail(k + ".cascade_switch", "must be a switch index or -1");
      }
      if (routing == Routing::pbr && dp.cascade_switch < 0 && dp.pbr_ids.empty())
        fail(k + ".pbr_ids", "an endpoint port needs its PBR ID under port-based routing");
      for (size_t i = 0; i < dp.pbr_ids.size(); ++i) {
        const std::string ki = k + ".pbr_ids[" + std::to_string(i) + "]";
        if (dp.pbr_ids[i] >= pbr_id_count) fail(ki, "PBR IDs are 12 bits (0..4095)");
        auto [it, fresh] = endpoint_ids.emplace(dp.pbr_ids[i], ki);
        if (!fresh) fail(ki, "PBR ID " + std::to_string(dp.pbr_ids[i]) + " is already used by " + it->second);
      }
    }
  }
  // One parent per switch is checked above; a cycle would let a route go
  // round forever: walk up from every switch.
  std::vector<int> parent(ns, -1);
  std::vector<std::string> edge(ns);
  for (size_t s = 0; s < ns; ++s)
    for (size_t d = 0; d < switches[s].downstream.size(); ++d)
      if (int t = switches[s].downstream[d].cascade_switch; t >= 0) {
        if (parent[t] >= 0)
          fail(key_port(s, false, d) + ".cascade_switch",
               key_sw(size_t(t)) + " is already fed by " + edge[t] + " (a switch has one parent)");
        parent[t] = int(s);
        edge[t] = key_port(s, false, d);
      }
  for (size_t s = 0; s < ns; ++s) {
    size_t steps = 0;
    for (int p = parent[s]; p >= 0; p = parent[size_t(p)])
      if (++steps > ns) fail(edge[s] + ".cascade_switch", "route loop in the cascade");
  }
}

Fabric::Fabric(FabricConfig cfg) : cfg_(std::move(cfg)) {
  cfg_.validate();
  sw_.resize(cfg_.switches.size());
  for (size_t s = 0; s < sw_.size(); ++s) {
    const SwitchConfig& sc = cfg_.switches[s];
    for (const auto& u : sc.upstream) sw_[s].up.push_back(std::make_unique<Port>(u.link));
    for (const auto& d : sc.downstream) sw_[s].down.push_back(std::make_unique<Port>(d.link));
    sw_[s].reach.resize(sc.downstream.size());
    for (size_t d = 0; d < sc.downstream.size(); ++d)
      if (int t = sc.downstream[d].cascade_switch; t >= 0) {
        sw_[size_t(t)].parent = int(s);
        sw_[size_t(t)].parent_port = unsigned(d);
        sw_[size_t(t)].fed_upstream = sc.downstream[d].cascade_upstream;
      }
  }
  // PBR reach, leaves first: a cascade port reaches every ID below it.
  std::function<std::vector<uint16_t>(size_t)> below = [&](size_t s) {
    std::vector<uint16_t> all;
    const SwitchConfig& sc = cfg_.switches[s];
    for (size_t d = 0; d < sc.downstream.size(); ++d) {
      std::vector<uint16_t>& r = sw_[s].reach[d];
      r = sc.downstream[d].cascade_switch >= 0 ? below(size_t(sc.downstream[d].cascade_switch))
                                               : sc.downstream[d].pbr_ids;
      all.insert(all.end(), r.begin(), r.end());
    }
    return all;
  };
  for (size_t s = 0; s < sw_.size(); ++s)
    if (sw_[s].parent < 0) below(s);
}

int Fabric::decide(unsigned s, unsigned vh, uint64_t key) const {
  if (cfg_.routing == Routing::pbr) {
    const auto& reach = sw_[s].reach;
    for (size_t d = 0; d < reach.size(); ++d)
      if (std::find(reach[d].begin(), reach[d].end(), key) != reach[d].end()) return int(d);
    return -1;
  }
  for (const HbrWindow& w : cfg_.switches[s].upstream[vh].windows)
    if (key >= w.base && key - w.base < w.size)
      return int(w.targets[((key - w.base) / w.granularity_bytes) % w.targets.size()]);
  return -1;
}

int Fabric::vh_of(unsigned s, unsigned d) const {
  const auto& ups = cfg_.switches[s].upstream;
  for (size_t u = 0; u < ups.size(); ++u)
    for (const HbrWindow& w : ups[u].windows)
      if (std::find(w.targets.begin(), w.targets.end(), d) != w.targets.end()) return int(u);
  return -1;
}

void Fabric::descend(Route& r, unsigned s, unsigned vh, uint64_t key, const std::string& from) const {
  for (;;) {
    const int d = decide(s, vh, key);
    if (d < 0)
      throw std::invalid_argument("fabric: " + std::string(cfg_.routing == Routing::hbr ? "HPA" : "PBR ID") +
                                  " " + std::to_string(key) + " from " + from + " is not routed by " +
                                  key_sw(s) + (cfg_.routing == Routing::hbr ? " (no window of upstream[" +
                                                                                  std::to_string(vh) + "])"
                                                                            : ""));
    if (!r.hops.empty()) r.switch_ps.push_back(ns_to_ps(cfg_.switches[s].traversal_latency_ns));
    r.hops.push_back(Hop{PortRef{s, false, unsigned(d)}, false});
    const DownstreamPortConfig& dp = cfg_.switches[s].downstream[size_t(d)];
    if (dp.cascade_switch < 0) {
      r.target = PortRef{s, false, unsigned(d)};
      return;
    }
    s = unsigned(dp.cascade_switch);
    vh = dp.cascade_upstream;
  }
}

Route Fabric::route(const PortRef& from, uint64_t key) const {
  if (from.sw >= sw_.size()) throw std::invalid_argument("fabric: unknown switch " + std::to_string(from.sw));
  const SwitchConfig& sc = cfg_.switches[from.sw];
  if (from.port >= (from.upstream ? sc.upstream.size() : sc.downstream.size()))
    throw std::invalid_argument("fabric: unknown port " + from.name());
  if (cfg_.routing == Routing::pbr && key >= pbr_id_count)
    throw std::invalid_argument("fabric: PBR ID " + std::to_string(key) + " is not 12 bits");
  Route r;
  if (from.upstream) {
    if (sw_[from.sw].parent >= 0)
      throw std::invalid_argument("fabric: " + from.name() + " is fed by a cascade, not by a host");
    r.hops.push_back(Hop{from, false});
    descend(r, from.sw, from.port, key, from.name());
    return r;
  }
  if (cfg_.switches[from.sw].downstream[from.port].cascade_switch >= 0)
    throw std::invalid_argument("fabric: " + from.name() + " leads to a switch, not to a requester device");
  // P2P: up the requester's wire, then down from the first switch that
  // routes the key; climbing past the top would cross a host port.
  r.hops.push_back(Hop{from, true});
  unsigned s = from.sw, came = from.port;
  for (size_t guard = 0; guard <= sw_.size(); ++guard) {
    int vh = cfg_.routing == Routing::hbr ? vh_of(s, came) : 0;
    if (vh >= 0) {
      const int d = decide(s, unsigned(vh), key);
      if (d >= 0) {
        if (unsigned(d) == came && r.hops.size() > 1)
          throw std::invalid_argument("fabric: route loop: " + key_sw(s) + " sends key " +
                                      std::to_string(key) + " back down the port it came from");
        descend(r, s, unsigned(vh), key, from.name());
        return r;
      }
    }
    if (sw_[s].parent < 0)
      throw std::invalid_argument("fabric: key " + std::to_string(key) + " from " + from.name() +
                                  " is not reachable without crossing an upstream (host) port");
    r.switch_ps.push_back(ns_to_ps(cfg_.switches[s].traversal_latency_ns));
    const unsigned p = unsigned(sw_[s].parent);
    came = sw_[s].parent_port;
    r.hops.push_back(Hop{PortRef{p, false, came}, true});
    s = p;
  }
  throw std::invalid_argument("fabric: route loop from " + from.name());
}

cxl::Link& Fabric::link_of(const Hop& h) {
  Switch& s = sw_[h.port.sw];
  if (h.port.upstream) return s.up[h.port.port]->link;
  return h.p2p_link ? s.down[h.port.port]->p2p : s.down[h.port.port]->link;
}

const cxl::Link& Fabric::link(const PortRef& p) const {
  if (p.sw >= sw_.size()) throw std::out_of_range("fabric: unknown switch");
  const auto& v = p.upstream ? sw_[p.sw].up : sw_[p.sw].down;
  if (p.port >= v.size()) throw std::out_of_range("fabric: unknown port " + p.name());
  return v[p.port]->link;
}

const cxl::Link& Fabric::p2p_link(unsigned sw, unsigned d) const {
  if (sw >= sw_.size() || d >= sw_[sw].down.size()) throw std::out_of_range("fabric: unknown downstream port");
  return sw_[sw].down[d]->p2p;
}

// Hop h of a route, as the CxlLink chain does it: send what the far side's
// buffer takes, let the rest of the route (or the endpoint) answer those
// lines, then return their responses. A line leaves the switch's ingress
// buffer when its header flit starts on the next hop; the switch adds its
// traversal latency to requests and responses alike.
void Fabric::pass(const Route& r, size_t h, bool write, std::vector<cxl::LineTrip>& t,
                  const std::vector<size_t>& idx, std::vector<FabricLine>& lines, const Responder& respond) {
  cxl::Link& link = link_of(r.hops[h]);
  const bool last = h + 1 == r.hops.size();
  for (size_t next = 0; next < t.size();) {
    const size_t k = link.forward(write, t, next);
    if (k == 0)
      throw std::logic_error("fabric: " + r.hops[h].port.name() + ": no credit and nothing outstanding to free one");
    if (last) {
      respond(r.target, t, next, k);
      for (size_t j = next; j < next + k; ++j) {
        lines[idx[j]].arrive_ps = t[j].arrive_ps;
        lines[idx[j]].done_ps = t[j].done_ps;
      }
    } else {
      const Picos sw_ps = r.switch_ps[h];
      std::vector<cxl::LineTrip> sub(k);
      std::vector<size_t> sidx(idx.begin() + long(next), idx.begin() + long(next + k));
      for (size_t j = 0; j < k; ++j) sub[j].ready_ps = t[next + j].arrive_ps + sw_ps;
      pass(r, h + 1, write, sub, sidx, lines, respond);
      for (size_t j = 0; j < k; ++j) {
        t[next + j].freed_ps = sub[j].sent_ps;
        t[next + j].done_ps = sub[j].back_ps + sw_ps;
      }
    }
    if (!link.back(write, t, next, k))
      throw std::logic_error("fabric: " + r.hops[h].port.name() + ": no credit for a response");
    next += k;
  }
}

void Fabric::transfer(const Route& r, bool write, std::vector<FabricLine>& lines, const Responder& respond) {
  if (lines.empty()) return;
  std::vector<cxl::LineTrip> t(lines.size());
  std::vector<size_t> idx(lines.size());
  for (size_t i = 0; i < lines.size(); ++i) {
    t[i].ready_ps = lines[i].ready_ps;
    idx[i] = i;
    lines[i].target = r.target;
  }
  pass(r, 0, write, t, idx, lines, respond);
  for (size_t i = 0; i < lines.size(); ++i) {
    lines[i].sent_ps = t[i].sent_ps;
    lines[i].back_ps = t[i].back_ps;
  }
}

void Fabric::transfer(const PortRef& from, bool write, std::vector<FabricLine>& lines, const Responder& respond) {
  // Runs of lines that share a route (an interleave chunk, a PBR target) go
  // through together; runs go in order, as a port would send them.
  for (size_t first = 0; first < lines.size();) {
    const Route r = route(from, lines[first].key);
    size_t end = first + 1;
    while (end < lines.size() && route(from, lines[end].key).target == r.target) ++end;
    std::vector<FabricLine> run(lines.begin() + long(first), lines.begin() + long(end));
    transfer(r, write, run, respond);
    std::copy(run.begin(), run.end(), lines.begin() + long(first));
    first = end;
  }
}

PortCounters Fabric::counters(const PortRef& p) const {
  using cxl::MsgClass;
  PortCounters c;
  auto add = [&](const cxl::LinkStats& s, bool ingress) {
    const uint64_t data = s.messages[size_t(MsgClass::m2s_rwd)] + s.messages[size_t(MsgClass::s2m_drs)];
    (ingress ? c.ingress_bytes : c.egress_bytes) += data * cxl::cache_line_bytes;
    (ingress ? c.ingress_flits : c.egress_flits) += s.flits;
    c.requests += s.messages[size_t(MsgClass::m2s_req)] + s.messages[size_t(MsgClass::m2s_rwd)];
    c.credit_stall_ps += s.credit_wait_ps;
  };
  const cxl::Link& l = link(p);
  if (p.upstream) {
    if (sw_[p.sw].parent >= 0) return c; // its wire is the feeding downstream port's
    add(l.down.stats(), true);
    add(l.up.stats(), false);
    return c;
  }
  add(l.down.stats(), false);
  add(l.up.stats(), true);
  const cxl::Link& q = sw_[p.sw].down[p.port]->p2p; // down = device to switch
  add(q.down.stats(), true);
  add(q.up.stats(), false);
  return c;
}

uint64_t Fabric::traversal_bytes() const {
  // Every traversal leaves its switch through one port: count egress. A
  // cascaded switch's upstream port reports nothing (its wire is the
  // feeding port's), so what leaves it upwards is what enters the feeding
  // port.
  uint64_t n = 0;
  for (unsigned s = 0; s < sw_.size(); ++s) {
    for (unsigned i = 0; i < sw_[s].up.size(); ++i) n += counters(PortRef{s, true, i}).egress_bytes;
    for (unsigned i = 0; i < sw_[s].down.size(); ++i) n += counters(PortRef{s, false, i}).egress_bytes;
    if (sw_[s].parent >= 0)
      n += counters(PortRef{unsigned(sw_[s].parent), false, sw_[s].parent_port}).ingress_bytes;
  }
  return n;
}

void Fabric::report(StatGroup& g) const {
  g.set("traversal_bytes", double(traversal_bytes()), "B",
        "line payload summed over switch traversals (a line through two switches counts twice)");
  for (size_t s = 0; s < sw_.size(); ++s) {
    StatGroup& sg = g.group(cfg_.switches[s].name, "CXL switch (" + std::string(to_string(cfg_.routing)) + ")");
    sg.set("traversal_latency_ns", cfg_.switches[s].traversal_latency_ns, "ns",
           "latency of one switch traversal, one direction");
    for (int side = 0; side < 2; ++side) {
      const bool up = side == 0;
      const size_t n = up ? sw_[s].up.size() : sw_[s].down.size();
      for (size_t i = 0; i < n; ++i) {
        const PortCounters c = counters(PortRef{unsigned(s), up, unsigned(i)});
        StatGroup& pg = sg.group((up ? "upstream" : "downstream") + std::to_string(i),
                                 up ? "upstream (host) port" : "downstream port");
        pg.set("ingress_bytes", double(c.ingress_bytes), "B", "line payload into the switch on this port");
        pg.set("egress_bytes", double(c.egress_bytes), "B", "line payload out of the switch on this port");
        pg.set("ingress_flits", double(c.ingress_flits), "count", "flits into the switch on this port");
        pg.set("egress_flits", double(c.egress_flits), "count", "flits out of the switch on this port");
        pg.set("requests", double(c.requests), "count", "M2S requests (Req, RwD) through this port");
        pg.set("credit_stall_ns", double(c.credit_stall_ps) / 1000.0, "ns",
               "time messages on this port's wires waited for a credit");
        // The wire's energy, as a device's own link reports it: a device behind
        // a switch has its wire here, not in its link module.
        const Port& port = up ? *sw_[s].up[i] : *sw_[s].down[i];
        double wire_bits = 0, energy_pj = 0;
        for (const cxl::LinkDirection* d : {&port.link.down, &port.link.up, &port.p2p.down, &port.p2p.up}) {
          const cxl::LinkStats ls = d->stats();
          wire_bits += ls.wire_bits;
          energy_pj += ls.energy_pj;
        }
        pg.set("wire_bytes", wire_bits / 8, "B", "bytes on this port's wires, both ways: flits after line coding");
        pg.set("energy_pj", energy_pj, "pJ", "wire bits times the link's energy per bit");
      }
    }
  }
}

} // namespace pnm::fabric
