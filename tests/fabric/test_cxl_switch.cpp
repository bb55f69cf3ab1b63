// The CXL switch core: a line through a switch costs its links plus the
// traversal latency to the picosecond; a stream runs at the slower link's
// flit rate; ports are shared, credits throttle without drops; HBR windows
// interleave, PBR routes by 12-bit ID; cascades add one traversal; P2P stays
// off the host ports; bad configurations are refused by key.
#include "fabric/cxl_switch.h"

#include "common/stats.h"

#include <gtest/gtest.h>

using namespace pnm::fabric;
using pnm::cxl::Direction;
using pnm::cxl::LineTrip;
using pnm::cxl::LinkConfig;
using pnm::cxl::LinkDirection;
using pnm::cxl::MsgClass;

namespace {

constexpr uint64_t GiB = 1ull << 30;

// One message alone on an idle direction, sent at a whole picosecond: its
// arrival minus its send time (the link rounds up only once, at the end).
Picos one_way_ps(const LinkConfig& cfg, MsgClass c) {
  LinkDirection d(cfg, pnm::cxl::direction_of(c));
  return d.send(c, 0, 0)->arrival_ps;
}

HbrWindow window(uint64_t base, uint64_t size, std::vector<unsigned> targets, uint64_t gran = 256) {
  HbrWindow w;
  w.base = base;
  w.size = size;
  w.granularity_bytes = gran;
  w.targets = std::move(targets);
  return w;
}

// One host, `n` endpoints, window i = [i GiB, (i+1) GiB) -> downstream i.
FabricConfig one_switch(unsigned n, const LinkConfig& up, const LinkConfig& down, double lat_ns = 50.0) {
  FabricConfig f;
  SwitchConfig s;
  s.name = "sw0";
  s.traversal_latency_ns = lat_ns;
  UpstreamPortConfig u;
  u.link = up;
  for (unsigned i = 0; i < n; ++i) u.windows.push_back(window(i * GiB, GiB, {i}));
  s.upstream.push_back(u);
  for (unsigned i = 0; i < n; ++i) {
    DownstreamPortConfig d;
    d.link = down;
    d.pbr_ids = std::vector<uint16_t>{uint16_t(i + 1)};
    s.downstream.push_back(d);
  }
  f.switches.push_back(s);
  return f;
}

// The endpoint answers every line `delay_ps` after it arrived.
Responder fixed(Picos delay_ps) {
  return [delay_ps](const PortRef&, std::vector<LineTrip>& t, size_t first, size_t n) {
    for (size_t i = first; i < first + n; ++i) {
      t[i].freed_ps = t[i].arrive_ps;
      t[i].done_ps = t[i].arrive_ps + delay_ps;
    }
  };
}

std::vector<FabricLine> stream(uint64_t base, size_t n, Picos ready_ps = 0) {
  std::vector<FabricLine> v(n);
  for (size_t i = 0; i < n; ++i) {
    v[i].key = base + i * 64;
    v[i].ready_ps = ready_ps;
  }
  return v;
}

const PortRef host0{0, true, 0};

} // namespace

TEST(fabricTiming, OneLineIsTwoLinkTraversalsPlusTheSwitchToThePicosecond) {
  const LinkConfig g5 = LinkConfig::pcie_gen5(16);
  const Picos sw_ps = 50'000, dev_ps = 40'000;
  const Picos req = one_way_ps(g5, MsgClass::m2s_req), drs = one_way_ps(g5, MsgClass::s2m_drs);
  const Picos rwd = one_way_ps(g5, MsgClass::m2s_rwd), ndr = one_way_ps(g5, MsgClass::s2m_ndr);
  ASSERT_EQ(req, 26'080u); // one 68B flit (1079.1 ps) + 25 ns port latency, rounded up once
  {
    Fabric f(one_switch(2, g5, g5));
    std::vector<FabricLine> l = stream(GiB, 1, 1'000);
    f.transfer(host0, false, l, fixed(dev_ps));
    EXPECT_EQ(l[0].target, (PortRef{0, false, 1}));
    EXPECT_EQ(l[0].sent_ps, 1'000u);
    EXPECT_EQ(l[0].arrive_ps, 1'000 + req + sw_ps + req);
    EXPECT_EQ(l[0].done_ps, l[0].arrive_ps + dev_ps);
    EXPECT_EQ(l[0].back_ps, l[0].done_ps + drs + sw_ps + drs);
  }
  {
    Fabric f(one_switch(2, g5, g5));
    std::vector<FabricLine> l = stream(0, 1, 0);
    f.transfer(host0, true, l, fixed(dev_ps));
    EXPECT_EQ(l[0].arrive_ps, rwd + sw_ps + rwd);
    EXPECT_EQ(l[0].back_ps, l[0].arrive_ps + dev_ps + ndr + sw_ps + ndr);
  }
  // The traversal latency is a parameter: 0 leaves just the two links.
  Fabric f0(one_switch(1, g5, g5, 0.0));
  std::vector<FabricLine> l = stream(0, 1);
  f0.transfer(host0, false, l, fixed(0));
  EXPECT_EQ(l[0].back_ps, req + req + drs + drs);
}

TEST(fabricTiming, LongStreamRunsAtTheSlowerLinksFlitRate) {
  // Host port Gen5 x16, device port Gen5 x8: reads are bound by the x8 DRS
  // direction, 4.5 slots (1.125 flits) per line; writes by its RwD
  // direction, 5 slots (1.25 flits) per line.
  const LinkConfig x16 = LinkConfig::pcie_gen5(16), x8 = LinkConfig::pcie_gen5(8);
  const double flit_ps = x8.flit_time_ns() * 1000.0;
  const size_t n = 20'000, from = n / 4;
  for (bool write : {false, true}) {
    Fabric f(one_switch(1, x16, x8));
    std::vector<FabricLine> l = stream(0, n);
    f.transfer(host0, write, l, fixed(0));
    // Reads: responses leave the device port back to back; writes: requests
    // arrive at the device back to back.
    // (Responses may overtake each other by a flit or two as headers and
    // data share slots; take the latest line so far.)
    auto at = [&](size_t i) {
      Picos t = 0;
      for (size_t j = 0; j <= i; ++j) t = std::max(t, write ? l[j].arrive_ps : l[j].back_ps);
      return double(t);
    };
    const double per_line_ps = (write ? 1.25 : 1.125) * flit_ps;
    // Within 8 flits over 15000 lines: where a window starts and ends in the
    // slot pattern moves its edges by a few flits.
    EXPECT_NEAR(at(n - 1) - at(from), double(n - 1 - from) * per_line_ps, 8 * flit_ps) << write;
    const double gbps = 64.0 * double(n - 1 - from) / (at(n - 1) - at(from)) * 1000.0;
    const double closed = pnm::cxl::effective_line_gbytes_per_s(
        x8, write ? Direction::m2s : Direction::s2m,
        [&] {
          pnm::cxl::MessageMix m{};
          m[write ? MsgClass::m2s_rwd : MsgClass::s2m_drs] = 1'000'000;
          return m;
        }());
    // Flit for flit: the device port's data direction sent exactly that many.
    const auto st = write ? f.link(PortRef{0, false, 0}).down.stats() : f.link(PortRef{0, false, 0}).up.stats();
    EXPECT_EQ(double(st.flits), double(n) * (write ? 1.25 : 1.125)) << write;
    EXPECT_NEAR(gbps, closed, closed * 0.001) << write;
  }
}

TEST(fabricTiming, TwoHostsSharingOneDownstreamPortShareItsBandwidth) {
  const LinkConfig x16 = LinkConfig::pcie_gen5(16), x8 = LinkConfig::pcie_gen5(8);
  const double per_line_ps = 1.125 * x8.flit_time_ns() * 1000.0;
  const size_t n = 8'000;
  FabricConfig cfg = one_switch(1, x16, x8);
  cfg.switches[0].upstream.push_back(cfg.switches[0].upstream[0]); // a second host, same window
  Fabric f(cfg);
  std::vector<FabricLine> a = stream(0, n), b = stream(0, n);
  f.transfer(PortRef{0, true, 0}, false, a, fixed(0));
  f.transfer(PortRef{0, true, 1}, false, b, fixed(0));
  // Together they take twice as long as one: 2n lines at the x8 rate.
  const double span = double(std::max(a.back().back_ps, b.back().back_ps) - a.front().back_ps);
  EXPECT_NEAR(span, double(2 * n - 1) * per_line_ps, 4 * per_line_ps);
  const PortCounters d = f.counters(PortRef{0, false, 0});
  EXPECT_EQ(d.ingress_bytes, 2 * n * 64);
  EXPECT_EQ(d.requests, 2 * n);
  EXPECT_EQ(f.counters(PortRef{0, true, 0}).egress_bytes, n * 64);
  EXPECT_EQ(f.counters(PortRef{0, true, 1}).egress_bytes, n * 64);
}

TEST(fabricCredits, SlowDownstreamThrottlesTheUpstreamWithoutDrops) {
  LinkConfig up = LinkConfig::pcie_gen5(16), down = LinkConfig::pcie_gen5(16);
  up.rx_buffer_entries = {8, 8, 8, 8};   // the switch's ingress buffer
  down.rx_buffer_entries = {4, 4, 4, 4}; // the device's
  Fabric f(one_switch(1, up, down));
  const Picos service_ps = 20'000; // the device serves one line per 20 ns, in order
  Picos busy = 0;
  size_t answered = 0;
  Responder serial = [&](const PortRef&, std::vector<LineTrip>& t, size_t first, size_t n) {
    for (size_t i = first; i < first + n; ++i) {
      busy = std::max(busy, t[i].arrive_ps) + service_ps;
      t[i].freed_ps = t[i].done_ps = busy;
      ++answered;
    }
  };
  const size_t n = 200;
  std::vector<FabricLine> l = stream(0, n);
  f.transfer(host0, false, l, serial);
  EXPECT_EQ(answered, n); // nothing dropped
  // Responses come back at the device's pace, exactly.
  for (size_t i = 1; i < n; ++i) ASSERT_EQ(l[i].back_ps - l[i - 1].back_ps, service_ps) << i;
  // Back-pressure reached the host: its requests waited for the switch's
  // ingress credits, which waited for the device's.
  const auto host_down = f.link(host0).down.stats();
  EXPECT_GT(host_down.credit_waits[size_t(MsgClass::m2s_req)], n / 2);
  EXPECT_GT(f.counters(host0).credit_stall_ps, 0u);
  EXPECT_GT(f.counters(PortRef{0, false, 0}).credit_stall_ps, 0u);
  // The last request left the host no earlier than the device freed room for it.
  EXPECT_GE(l[n - 1].sent_ps, (n - 8 - 4) * service_ps);
}

TEST(fabricRouting, PbrRoutesByTwelveBitId) {
  const LinkConfig g6 = LinkConfig::pcie_gen6(16);
  FabricConfig cfg = one_switch(3, g6, g6);
  cfg.routing = Routing::pbr;
  cfg.switches[0].downstream[0].pbr_ids = std::vector<uint16_t>{0x005};
  cfg.switches[0].downstream[1].pbr_ids = std::vector<uint16_t>{0xABC};
  cfg.switches[0].downstream[2].pbr_ids = std::vector<uint16_t>{0xFFF, 0x100};
  Fabric f(cfg);
  const uint16_t ids[] = {0xABC, 0x005, 0xFFF, 0x100, 0xABC};
  const unsigned want[] = {1, 0, 2, 2, 1};
  std::vector<FabricLine> l(5);
  for (size_t i = 0; i < 5; ++i) l[i].key = ids[i];
  std::vector<unsigned> seen;
  f.transfer(host0, false, l, [&](const PortRef& p, std::vector<LineTrip>& t, size_t first, size_t n) {
    for (size_t i = first; i < first + n; ++i) seen.push_back(p.port);
    fixed(0)(p, t, first, n);
  });
  ASSERT_EQ(seen.size(), 5u);
  for (size_t i = 0; i < 5; ++i) {
    EXPECT_EQ(l[i].target.port, want[i]) << i;
    EXPECT_EQ(seen[i], want[i]) << i;
  }
  EXPECT_EQ(f.counters(PortRef{0, false, 2}).requests, 2u);
  EXPECT_THROW(f.route(host0, 0x006), std::invalid_argument);  // no port reaches it
  EXPECT_THROW(f.route(host0, 0x1000), std::invalid_argument); // not 12 bits
}

TEST(fabricRouting, HbrInterleaveSpreadsLinesOverPortsAsConfigured) {
  const LinkConfig g5 = LinkConfig::pcie_gen5(16);
  FabricConfig cfg = one_switch(4, g5, g5);
  // 4 ways at 256 B over ports 3,1,0,2 at [8 GiB, 9 GiB); 2 ways at 1 KiB.
  cfg.switches[0].upstream[0].windows.push_back(window(8 * GiB, GiB, {3, 1, 0, 2}, 256));
  cfg.switches[0].upstream[0].windows.push_back(window(16 * GiB, GiB, {2, 0}, 1024));
  Fabric f(cfg);
  std::vector<FabricLine> l = stream(8 * GiB, 64);
  f.transfer(host0, false, l, fixed(0));
  const unsigned order[] = {3, 1, 0, 2};
  for (size_t i = 0; i < 64; ++i) ASSERT_EQ(l[i].target.port, order[(i / 4) % 4]) << i;
  for (unsigned p = 0; p < 4; ++p) EXPECT_EQ(f.counters(PortRef{0, false, p}).requests, 16u) << p;
  std::vector<FabricLine> m = stream(16 * GiB, 64);
  f.transfer(host0, true, m, fixed(0));
  for (size_t i = 0; i < 64; ++i) ASSERT_EQ(m[i].target.port, (i / 16) % 2 ? 0u : 2u) << i;
  EXPECT_EQ(f.counters(PortRef{0, false, 2}).ingress_bytes, 16u * 64); // read data
  EXPECT_EQ(f.counters(PortRef{0, false, 2}).egress_bytes, 32u * 64);  // written data
  EXPECT_EQ(f.route(host0, 16 * GiB + 1024).target.port, 0u);
  EXPECT_THROW(f.route(host0, 40 * GiB), std::invalid_argument); // no window
}

TEST(fabricTiming, InterleavedStreamAddsUpDownstreamPortsUntilTheHostLinkBinds) {
  // 4 ways at 256 B behind a Gen5 x16 host port: with x8 device ports the
  // host port binds (52.72 GB/s of reads); with x2 ports the four together
  // bind (4 x 6.59 GB/s).
  const size_t n = 20'000, from = n / 4;
  for (unsigned lanes : {8u, 2u}) {
    FabricConfig cfg = one_switch(4, LinkConfig::pcie_gen5(16), LinkConfig::pcie_gen5(lanes));
    cfg.switches[0].upstream[0].windows = {window(0, GiB, {0, 1, 2, 3})};
    Fabric f(cfg);
    std::vector<FabricLine> l = stream(0, n);
    f.transfer(host0, false, l, fixed(0));
    Picos first = 0, last = 0;
    for (size_t i = 0; i < n; ++i) {
      Picos& edge = i < from ? first : last;
      edge = std::max(edge, l[i].back_ps);
    }
    const double gbps = 64.0 * double(n - from) / double(last - first) * 1000.0;
    pnm::cxl::MessageMix m{};
    m[MsgClass::s2m_drs] = 1'000'000;
    const double host = pnm::cxl::effective_line_gbytes_per_s(LinkConfig::pcie_gen5(16), Direction::s2m, m);
    const double devs = 4 * pnm::cxl::effective_line_gbytes_per_s(LinkConfig::pcie_gen5(lanes), Direction::s2m, m);
    EXPECT_NEAR(gbps, std::min(host, devs), std::min(host, devs) * 0.001) << lanes;
    for (unsigned p = 0; p < 4; ++p) EXPECT_EQ(f.counters(PortRef{0, false, p}).ingress_bytes, n / 4 * 64);
  }
}

namespace {
// sw0: host -> downstream 0 feeds sw1's upstream 0; sw1: downstream 0 is
// the endpoint. Both switches decode [0, 1 GiB).
FabricConfig two_levels(const LinkConfig& l, double lat0_ns, double lat1_ns) {
  FabricConfig cfg = one_switch(1, l, l, lat0_ns);
  FabricConfig lower = one_switch(1, l, l, lat1_ns);
  cfg.switches[0].downstream[0].cascade_switch = 1;
  cfg.switches[0].downstream[0].pbr_ids.clear();
  lower.switches[0].name = "sw1";
  cfg.switches.push_back(lower.switches[0]);
  return cfg;
}
} // namespace

TEST(fabricTiming, TwoLevelCascadeAddsOneMoreTraversal) {
  const LinkConfig g5 = LinkConfig::pcie_gen5(16);
  const Picos req = one_way_ps(g5, MsgClass::m2s_req), drs = one_way_ps(g5, MsgClass::s2m_drs);
  Fabric f(two_levels(g5, 50.0, 70.0));
  const Route r = f.route(host0, 4096);
  ASSERT_EQ(r.hops.size(), 3u);
  EXPECT_EQ(r.switch_ps, (std::vector<Picos>{50'000, 70'000}));
  EXPECT_EQ(r.target, (PortRef{1, false, 0}));
  std::vector<FabricLine> l = stream(4096, 1);
  f.transfer(host0, false, l, fixed(10'000));
  EXPECT_EQ(l[0].arrive_ps, req + 50'000 + req + 70'000 + req);
  EXPECT_EQ(l[0].back_ps, l[0].arrive_ps + 10'000 + drs + 70'000 + drs + 50'000 + drs);
  // The fed upstream port of sw1 has no wire of its own: no counters, and
  // no host may enter there.
  EXPECT_EQ(f.counters(PortRef{1, true, 0}).requests, 0u);
  EXPECT_EQ(f.counters(PortRef{0, false, 0}).requests, 1u);
  EXPECT_THROW(f.route(PortRef{1, true, 0}, 0), std::invalid_argument);
}

TEST(fabricP2P, PeerTrafficNeverShowsInUpstreamCounters) {
  const LinkConfig g5 = LinkConfig::pcie_gen5(16);
  const Picos rwd = one_way_ps(g5, MsgClass::m2s_rwd), ndr = one_way_ps(g5, MsgClass::s2m_ndr);
  Fabric f(one_switch(2, g5, g5));
  const PortRef dev0{0, false, 0};
  const Route r = f.route(dev0, GiB + 64);
  ASSERT_EQ(r.hops.size(), 2u);
  EXPECT_TRUE(r.hops[0].p2p_link);
  EXPECT_EQ(r.target, (PortRef{0, false, 1}));
  std::vector<FabricLine> l = stream(GiB, 100);
  f.transfer(dev0, true, l, fixed(0));
  EXPECT_EQ(l[0].arrive_ps, rwd + 50'000 + rwd);
  EXPECT_EQ(l[0].back_ps, l[0].arrive_ps + ndr + 50'000 + ndr);
  const PortCounters host = f.counters(host0);
  EXPECT_EQ(host.ingress_bytes + host.egress_bytes + host.ingress_flits + host.egress_flits + host.requests, 0u);
  EXPECT_EQ(f.counters(dev0).ingress_bytes, 100u * 64);
  EXPECT_EQ(f.counters(PortRef{0, false, 1}).egress_bytes, 100u * 64);
  // A key only the host's side decodes cannot be reached peer to peer.
  EXPECT_THROW(f.route(dev0, 7 * GiB), std::invalid_argument);
}

TEST(fabricP2P, PbrPeerClimbsThroughACascadeWithoutTheHostPort) {
  const LinkConfig g6 = LinkConfig::pcie_gen6(16);
  const Picos req = one_way_ps(g6, MsgClass::m2s_req);
  FabricConfig cfg = one_switch(2, g6, g6, 50.0);
  cfg.routing = Routing::pbr;
  cfg.switches[0].downstream[1].cascade_switch = 1;
  cfg.switches[0].downstream[1].pbr_ids.clear();
  FabricConfig lower = one_switch(1, g6, g6, 70.0);
  lower.switches[0].name = "sw1";
  lower.switches[0].downstream[0].pbr_ids = std::vector<uint16_t>{0x200};
  cfg.switches.push_back(lower.switches[0]);
  Fabric f(cfg);
  // From the device under sw1 to the endpoint with ID 1 under sw0.
  const Route r = f.route(PortRef{1, false, 0}, 1);
  ASSERT_EQ(r.hops.size(), 3u);
  EXPECT_EQ(r.target, (PortRef{0, false, 0}));
  EXPECT_EQ(r.switch_ps, (std::vector<Picos>{70'000, 50'000}));
  std::vector<FabricLine> l(1);
  l[0].key = 1;
  f.transfer(PortRef{1, false, 0}, false, l, fixed(0));
  EXPECT_EQ(l[0].arrive_ps, req + 70'000 + req + 50'000 + req);
  EXPECT_EQ(f.counters(host0).requests, 0u);
  EXPECT_EQ(f.counters(PortRef{0, false, 1}).requests, 1u); // the cascade wire
  // The host reaches 0x200 down the cascade.
  EXPECT_EQ(f.route(host0, 0x200).target, (PortRef{1, false, 0}));
}

namespace {
void expect_refused(const FabricConfig& cfg, const std::string& key) {
  try {
    Fabric f(cfg);
    ADD_FAILURE() << "accepted; expected an error naming " << key;
  } catch (const std::invalid_argument& e) {
    EXPECT_NE(std::string(e.what()).find(key), std::string::npos) << e.what();
  }
}
} // namespace

TEST(fabricConfig, EveryBadConfigurationIsRefusedNamingTheKey) {
  const LinkConfig g5 = LinkConfig::pcie_gen5(16), g6 = LinkConfig::pcie_gen6(16);
  const FabricConfig good = one_switch(2, g5, g5);
  EXPECT_NO_THROW(Fabric{good});
  EXPECT_NO_THROW(Fabric{two_levels(g5, 50, 50)});

  expect_refused(FabricConfig{}, "switches");
  FabricConfig c = good;
  c.switches[0].upstream.clear();
  expect_refused(c, "switches[0].upstream");
  c = good;
  c.switches[0].downstream.clear();
  expect_refused(c, "switches[0].downstream");
  c = good;
  c.switches[0].upstream[0].windows[1].targets = {5}; // unknown port id
  expect_refused(c, "switches[0].upstream[0].windows[1].targets[0]");
  c = good;
  c.switches[0].upstream[0].windows[1] = window(GiB / 2, GiB, {1}); // overlaps window 0
  expect_refused(c, "switches[0].upstream[0].windows[1]");
  c = good;
  c.switches[0].upstream[0].windows[0].granularity_bytes = 384;
  expect_refused(c, "switches[0].upstream[0].windows[0].granularity_bytes");
  c = good;
  c.switches[0].upstream[0].windows[0].targets = {0, 1, 0};
  expect_refused(c, "switches[0].upstream[0].windows[0].targets[2]");
  c = good;
  c.switches[0].upstream[0].windows[0].size = 100;
  expect_refused(c, "switches[0].upstream[0].windows[0].size");
  c = good;
  c.switches[0].traversal_latency_ns = -1;
  expect_refused(c, "switches[0].traversal_latency_ns");
  c = good;
  c.switches[0].downstream[1].link.lanes = 3;
  expect_refused(c, "switches[0].downstream[1].link");
  // Cascades: unknown switch, unknown port, a switch feeding itself, a loop.
  c = good;
  c.switches[0].downstream[0].cascade_switch = 4;
  expect_refused(c, "switches[0].downstream[0].cascade_switch");
  c = two_levels(g5, 50, 50);
  c.switches[0].downstream[0].cascade_upstream = 3;
  expect_refused(c, "switches[0].downstream[0].cascade_upstream");
  c = good;
  c.switches[0].downstream[1].cascade_switch = 0;
  expect_refused(c, "switches[0].downstream[1].cascade_switch");
  c = two_levels(g5, 50, 50);
  c.switches[0].upstream.push_back(c.switches[0].upstream[0]);
  c.switches[1].downstream[0].cascade_switch = 0; // sw1 feeds sw0: a loop
  c.switches[1].downstream[0].cascade_upstream = 1;
  c.switches[1].downstream[0].pbr_ids.clear();
  try {
    Fabric f(c);
    ADD_FAILURE() << "a cascade loop was accepted";
  } catch (const std::invalid_argument& e) {
    EXPECT_NE(std::string(e.what()).find("route loop"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find(".cascade_switch"), std::string::npos) << e.what();
  }
  // PBR: 68-byte flits, 13-bit IDs, an ID used twice, an endpoint without one.
  c = good;
  c.routing = Routing::pbr;
  expect_refused(c, "switches[0].upstream[0].link.flit_mode");
  c = one_switch(2, g6, g6);
  c.routing = Routing::pbr;
  EXPECT_NO_THROW(Fabric{c});
  c.switches[0].downstream[1].link = g5;
  expect_refused(c, "switches[0].downstream[1].link.flit_mode");
  c = one_switch(2, g6, g6);
  c.routing = Routing::pbr;
  c.switches[0].downstream[1].pbr_ids = std::vector<uint16_t>{4096};
  expect_refused(c, "switches[0].downstream[1].pbr_ids[0]");
  c.switches[0].downstream[1].pbr_ids = std::vector<uint16_t>{1};
  expect_refused(c, "switches[0].downstream[1].pbr_ids[0]");
  c.switches[0].downstream[1].pbr_ids.clear();
  expect_refused(c, "switches[0].downstream[1].pbr_ids");
  // Routes from ports that do not exist.
  Fabric f(good);
  EXPECT_THROW(f.route(PortRef{0, false, 9}, 0), std::invalid_argument);
  EXPECT_THROW(f.route(PortRef{3, true, 0}, 0), std::invalid_argument);
}

TEST(fabricStats, PortCountersReachTheStatsRegistryWithUnits) {
  const LinkConfig g5 = LinkConfig::pcie_gen5(16);
  Fabric f(one_switch(2, g5, g5));
  std::vector<FabricLine> l = stream(GiB, 10);
  f.transfer(host0, true, l, fixed(0));
  pnm::StatGroup g("fabric");
  f.report(g);
  EXPECT_EQ(g.value_at("sw0/upstream0/ingress_bytes"), 640.0);
  EXPECT_EQ(g.value_at("sw0/downstream1/egress_bytes"), 640.0);
  EXPECT_EQ(g.value_at("sw0/downstream0/egress_bytes"), 0.0);
  EXPECT_EQ(g.value_at("sw0/downstream1/requests"), 10.0);
  EXPECT_EQ(g.value_at("sw0/traversal_latency_ns"), 50.0);
  const auto h = f.link(host0).down.stats();
  EXPECT_EQ(g.value_at("sw0/upstream0/ingress_flits"), double(h.flits));
  const pnm::Stat* s = g.find_at("sw0/upstream0/credit_stall_ns");
  ASSERT_NE(s, nullptr);
  EXPECT_EQ(s->unit, "ns");
  EXPECT_FALSE(s->description.empty());
  EXPECT_EQ(g.find_at("sw0/upstream0/ingress_bytes")->unit, "B");
}

TEST(fabricP2P, HbrPeerClimbsToTheSwitchWhoseHierarchyDecodesIt) {
  const LinkConfig g5 = LinkConfig::pcie_gen5(16);
  const Picos req = one_way_ps(g5, MsgClass::m2s_req);
  // sw0: [0, 1 GiB) down the cascade to sw1, [1 GiB, 2 GiB) to its own
  // endpoint; sw1 decodes only [0, 512 MiB).
  FabricConfig cfg = two_levels(g5, 50.0, 70.0);
  DownstreamPortConfig ep;
  ep.link = g5;
  cfg.switches[0].downstream.push_back(ep);
  cfg.switches[0].upstream[0].windows.push_back(window(GiB, GiB, {1}));
  cfg.switches[1].upstream[0].windows[0].size = GiB / 2;
  Fabric f(cfg);
  const PortRef dev{1, false, 0};
  const Route r = f.route(dev, GiB + 64);
  ASSERT_EQ(r.hops.size(), 3u);
  EXPECT_TRUE(r.hops[0].p2p_link);
  EXPECT_TRUE(r.hops[1].p2p_link); // up the cascade wire, as a requester
  EXPECT_EQ(r.hops[1].port, (PortRef{0, false, 0}));
  EXPECT_EQ(r.target, (PortRef{0, false, 1}));
  std::vector<FabricLine> l = stream(GiB, 1);
  f.transfer(dev, false, l, fixed(0));
  EXPECT_EQ(l[0].arrive_ps, req + 70'000 + req + 50'000 + req);
  EXPECT_EQ(f.counters(host0).requests, 0u);
  // sw0 would send 768 MiB back down the port the request came up: a loop.
  try {
    f.route(dev, 768ull << 20);
    ADD_FAILURE() << "a route loop was accepted";
  } catch (const std::invalid_argument& e) {
    EXPECT_NE(std::string(e.what()).find("route loop"), std::string::npos) << e.what();
  }
}

// A device answers out of order (as FR-FCFS does: a later line's row hit
// first): the switch's ingress entries are still freed as their lines move
// on, in arrival order. The host link used to free them in answer order and
// refuse ("freed before its message arrived"), which failed host-fetch
// through a switch.
TEST(fabricCredits, OutOfOrderAnswersBehindASwitchFreeEntriesInOrder) {
  LinkConfig l;
  Fabric f(one_switch(1, l, l));
  const Responder reversed = [](const PortRef&, std::vector<LineTrip>& t, size_t first, size_t n) {
    for (size_t i = first; i < first + n; ++i) {
      t[i].freed_ps = t[i].arrive_ps;
      t[i].done_ps = t[i].arrive_ps + (first + n - i) * 20'000; // the last line first
    }
  };
  for (int round = 0; round < 4; ++round) {
    std::vector<FabricLine> lines = stream(0, 256, Picos(round) * 100'000);
    ASSERT_NO_THROW(f.transfer(host0, false, lines, reversed)) << "round " << round;
    for (const FabricLine& x : lines) {
      EXPECT_GT(x.back_ps, x.done_ps);
      EXPECT_GE(x.done_ps, x.arrive_ps);
    }
  }
  EXPECT_EQ(f.counters(PortRef{0, false, 0}).egress_bytes, 0u); // reads: payload comes back
  EXPECT_EQ(f.counters(PortRef{0, false, 0}).ingress_bytes, 4u * 256 * 64);
}
