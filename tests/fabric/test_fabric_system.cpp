// Switches in system files: the shipped switch systems load and build; a
// CXL.mem read through a switch pays exactly the switch traversal both ways
// and one more wire; devices behind one switch share its upstream link's
// bandwidth (devices on root ports of their own add up); a second switch
// level adds one more traversal; bad switch sections name file and key.
#include "../support/systemc_test.h"
#include "driver/device.h"
#include "system.h"

#include <algorithm>
#include <fstream>
#include <numeric>

using namespace pnm;

namespace {
class FabricSystemTest : public pnm::test::SystemCTest {};

const std::string kPlatforms = std::string(PNM_SOURCE_DIR) + "/platforms";

// One 64 B read of device `dev`, after the devices' boot has settled; ps.
uint64_t read_ps(const std::string& system, size_t dev = 0) {
  pnm::fresh_sim_kernel();
  System sys(load_system(resolve_platform(system)));
  uint64_t ps = 0;
  sys.run_host([&](const std::vector<sw::Backend*>& b) {
    b[dev]->sleep_ns(20000);
    uint8_t line[64];
    const auto t0 = sc_core::sc_time_stamp();
    ASSERT_TRUE(b[dev]->mem_read(sys.device(dev).hpa_base() + 0x40000, line, sizeof line));
    ps = static_cast<uint64_t>((sc_core::sc_time_stamp() - t0).to_seconds() * 1e12 + 0.5);
  });
  return ps;
}

// The device's DRAM clock: a command starts on a clock edge, so a line that
// arrives later by d may wait up to one clock more (or less) than d.
double dram_tck_ps(const SystemConfig& s) { return s.devices[0].platform.dram.spec.timing.tCK_ps; }

// One 64 B line's round trip over an idle link with an instant far side, ps.
uint64_t link_round_trip_ps(const cxl::LinkConfig& c) {
  cxl::Link l(c);
  std::vector<cxl::LineTrip> t(1);
  EXPECT_EQ(l.forward(false, t, 0), 1u);
  t[0].freed_ps = t[0].done_ps = t[0].arrive_ps;
  EXPECT_TRUE(l.back(false, t, 0, 1));
  return t[0].back_ps;
}

// All reads from every device of host 0 at once, each with the host's lines
// in flight (as mlc's all-devices run); aggregate GB/s.
double all_devices_read_gbps(const std::string& system, uint64_t lines_each) {
  pnm::fresh_sim_kernel();
  const SystemConfig sc = load_system(resolve_platform(system));
  System sys(sc);
  const unsigned in_flight = sc.hosts[0].cores * sc.hosts[0].line_fill_buffers;
  double first = 1e300, last = 0;
  uint64_t moved = 0;
  HostBridge& runner = sys.local_memory(0);
  for (size_t i = 0; i < sys.device_count(); ++i) {
    HostBridge* port = &sys.port(i);
    const uint64_t base = sys.device(i).hpa_base();
    runner.add_program([&, port, base](sw::Backend& b) {
      first = std::min(first, b.now_ns());
      const HostBridge::MixCount n = port->mem_stream_lines(base, lines_each, 1, 0, in_flight);
      EXPECT_TRUE(n.ok);
      moved += n.reads * 64;
      last = std::max(last, b.now_ns());
    });
  }
  sc_core::sc_start();
  EXPECT_TRUE(runner.program_done());
  return double(moved) / (last - first);
}

std::string write_system(const std::string& name, const std::string& text) {
  const std::string path = ::testing::TempDir() + "/" + name + ".json";
  std::ofstream(path) << text;
  return path;
}

// Two devices "a" and "b" behind switches given as JSON text.
std::string with_switches(const std::string& switches) {
  return R"({"schema": "pnmvp.system.v1", "name": "t",
    "hosts": [{"name": "h", "source": "test", "attention_gflops": 1000, "pj_per_flop": 1, "cores": 4,
               "kernel_cores": 2, "line_fill_buffers_per_core": 16,
               "latency": {"source": "test", "core_and_caches_ns": 16, "mesh_ns": 10, "root_port_ns": 12},
               "local_dram": {"source": "test", "memspec": ")" + kPlatforms + R"(/memspec/JEDEC_DDR5-4800AN_16Gb_x8.json",
                              "channels": 1, "ranks_per_channel": 1, "controller": {}}}],
    "devices": [
      {"name": "a", "file": ")" + kPlatforms + R"(/pnm-ref.json", "host": "h", "hpa_base_gib": 256, "mmio_base_gib": 4},
      {"name": "b", "file": ")" + kPlatforms + R"(/pnm-ref.json", "host": "h", "hpa_base_gib": 320, "mmio_base_gib": 5}],
    "switches": )" + switches + "}";
}

std::string sw_json(const std::string& name, const std::string& up, const std::string& ports,
               const std::string& lat = "50") {
  return R"({"name": ")" + name + R"(", "source": "test", "traversal_latency_ns": )" + lat +
         R"(, "upstream": {)" + up + R"("link": {"source": "test"}}, "downstream": [)" + ports + "]}";
}

std::string error_of(const std::string& name, const std::string& switches) {
  const std::string p = write_system(name, with_switches(switches));
  try {
    load_system(p);
  } catch (const ConfigError& e) {
    const std::string what = e.what();
    EXPECT_NE(what.find(p), std::string::npos) << what;
    return what;
  }
  return "";
}
} // namespace

TEST_F(FabricSystemTest, ShippedSwitchSystemsLoad) {
  for (unsigned n : {1u, 2u, 4u, 8u, 16u}) {
    const SystemConfig s = load_system(resolve_platform("switch-x" + std::to_string(n)));
    ASSERT_EQ(s.devices.size(), n);
    ASSERT_EQ(s.switches.size(), 1u);
    EXPECT_EQ(s.switches[0].downstream.size(), n);
    EXPECT_EQ(s.switches[0].traversal_latency_ns, 50.0);
    EXPECT_FALSE(s.description.empty());
    const SystemFabric f = system_fabric(s);
    for (size_t i = 0; i < n; ++i) {
      ASSERT_TRUE(f.device_behind_switch[i]);
      EXPECT_EQ(f.device_ports[i].port, i);
    }
  }
  const SystemConfig two = load_system(resolve_platform("switch2-x8"));
  ASSERT_EQ(two.switches.size(), 3u);
  EXPECT_EQ(two.switches[1].parent, 0);
  EXPECT_EQ(two.switches[2].parent, 0);
  const SystemFabric f = system_fabric(two);
  fabric::Fabric fab(f.config);
  for (size_t i = 0; i < 8; ++i) {
    const fabric::Route r = fab.route(f.device_entry[i], two.devices[i].platform.cxl.hpa_base);
    EXPECT_EQ(r.hops.size(), 3u) << "host wire, switch-to-switch wire, device wire";
    EXPECT_EQ(r.target, f.device_ports[i]);
  }
  // Without switches nothing changes.
  EXPECT_TRUE(load_system(resolve_platform("pnm-ref-x2")).switches.empty());
}

TEST_F(FabricSystemTest, ReadThroughOneSwitchPaysTwoTraversalsAndOneMoreWire) {
  const SystemConfig s = load_system(resolve_platform("switch-x1"));
  const uint64_t direct = read_ps("pnm-ref-system");
  const uint64_t switched = read_ps("switch-x1");
  // 2 x 50 ns of switch traversal + one line's round trip over the host-to-switch wire.
  const double expect = 2 * 50'000 + double(link_round_trip_ps(s.switches[0].upstream_link));
  EXPECT_NEAR(double(switched - direct), expect, dram_tck_ps(s))
      << "direct " << direct << " ps, through the switch " << switched << " ps";
}

TEST_F(FabricSystemTest, SecondSwitchLevelAddsOneTraversalAndOneWire) {
  const SystemConfig s = load_system(resolve_platform("switch2-x8"));
  const uint64_t one = read_ps("switch-x8", 5);
  const uint64_t two = read_ps("switch2-x8", 5);
  EXPECT_NEAR(double(two - one), 2 * 50'000 + double(link_round_trip_ps(s.switches[2].upstream_link)),
              dram_tck_ps(s))
      << "one level " << one << " ps, two levels " << two << " ps";
}

TEST_F(FabricSystemTest, DevicesBehindOneSwitchShareItsUpstreamLink) {
  const SystemConfig s = load_system(resolve_platform("switch-x4"));
  cxl::MessageMix reads;
  reads[cxl::MsgClass::s2m_drs] = 1000000;
  const double link_gbps = cxl::effective_line_gbytes_per_s(s.switches[0].upstream_link, cxl::Direction::s2m, reads);
  const uint64_t lines = (2ull << 20) / 64; // 2 MiB per device
  const double switched = all_devices_read_gbps("switch-x4", lines);
  const double own_ports = all_devices_read_gbps("pnm-ref-x2", lines);
  EXPECT_LE(switched, link_gbps * 1.001) << "4 devices behind one x16 upstream port";
  EXPECT_GE(switched, link_gbps * 0.8);
  EXPECT_GT(own_ports, link_gbps * 1.5) << "two root ports, two links";
}

TEST_F(FabricSystemTest, DataAndRegistersReachEachDeviceThroughTheSwitch) {
  System sys(load_system(resolve_platform("switch-x2")));
  std::vector<sw::Identify> ids(2);
  bool cross_ok = false;
  std::vector<uint8_t> pattern(4096);
  sys.run_host([&](const std::vector<sw::Backend*>& b) {
    ASSERT_EQ(b.size(), 2u);
    for (size_t i = 0; i < 2; ++i) {
      sw::Device dev(*b[i]);
      ids[i] = dev.identify();
      std::iota(pattern.begin(), pattern.end(), static_cast<uint8_t>(0x10 * (i + 1)));
      ASSERT_TRUE(b[i]->mem_write(dev.hpa(0) + 0x2000, pattern.data(), pattern.size()));
    }
    // Both windows are behind the one upstream port: either root port reaches either device.
    uint8_t line[64];
    cross_ok = b[0]->mem_read(sys.device(1).hpa_base() + 0x2000, line, sizeof line) && line[0] == 0x20;
    // Whole pages back (the host-fetch kernel's reads): more lines than a
    // receive buffer holds go through in turns.
    for (size_t i = 0; i < 2; ++i) {
      std::vector<uint8_t> back(pattern.size());
      ASSERT_TRUE(b[i]->mem_read(sys.device(i).hpa_base() + 0x2000, back.data(), back.size())) << "device " << i;
      EXPECT_EQ(back[0], static_cast<uint8_t>(0x10 * (i + 1)));
      EXPECT_EQ(back[4095], static_cast<uint8_t>(0x10 * (i + 1) + 4095));
    }
  });
  EXPECT_EQ(ids[0].total_bytes, 64ull << 30);
  EXPECT_EQ(ids[1].total_bytes, 64ull << 30);
  EXPECT_TRUE(cross_ok);
  for (size_t i = 0; i < 2; ++i) {
    std::vector<uint8_t> got(4096), want(4096);
    std::iota(want.begin(), want.end(), static_cast<uint8_t>(0x10 * (i + 1)));
    sys.device(i).dram.store().read(0x2000, got.data(), got.size());
    EXPECT_EQ(got, want) << "device " << i;
  }
  // The switch's ports carried the lines; the devices' own link modules were bypassed (one wire, modelled once).
  const StatGroup st = sys.stats();
  const Stat* up_in = st.find_at("fabric/sw0/upstream0/ingress_bytes");
  const Stat* d1_out = st.find_at("fabric/sw0/downstream1/egress_bytes");
  ASSERT_NE(up_in, nullptr);
  ASSERT_NE(d1_out, nullptr);
  EXPECT_EQ(up_in->value, 2 * 4096.0);
  EXPECT_EQ(d1_out->value, 4096.0);
  EXPECT_EQ(sys.device(1).cxl_mem.link().down.stats().flits, 0u);
  // The ports report their wires' energy, as a device's link does.
  const double wire_bytes = st.value_at("fabric/sw0/upstream0/wire_bytes");
  EXPECT_GT(wire_bytes, 2 * 4096.0);
  EXPECT_NEAR(st.value_at("fabric/sw0/upstream0/energy_pj"),
              wire_bytes * 8 * sys.config().devices[0].platform.cxl.mem.link.energy_pj_per_bit, 1e-6 * wire_bytes);
  EXPECT_EQ(sys.device(1).cxl_mem.lines_written(), 64u);
}

TEST_F(FabricSystemTest, BadSwitchSectionsNameTheKey) {
  const std::string dev_a = R"({"device": "a"})", dev_b = R"({"device": "b"})";
  const std::string host = R"("host": "h", )";
  auto has = [](const std::string& e, const std::string& k) { return e.find(k) != std::string::npos; };
  std::string e = error_of("unknown_dev", "[" + sw_json("s", host, R"({"device": "zz"})") + "]");
  EXPECT_TRUE(has(e, "/switches/0/downstream/0/device") && has(e, "zz")) << e;
  e = error_of("no_host", "[" + sw_json("s", "", dev_a) + "]");
  EXPECT_TRUE(has(e, "/switches/0/upstream") && has(e, "host")) << e;
  e = error_of("bad_host", "[" + sw_json("s", R"("host": "nobody", )", dev_a) + "]");
  EXPECT_TRUE(has(e, "/switches/0/upstream") && has(e, "nobody")) << e;
  e = error_of("negative", "[" + sw_json("s", host, dev_a, "-1") + "]");
  EXPECT_TRUE(has(e, "/switches/0/traversal_latency_ns")) << e;
  e = error_of("twice", "[" + sw_json("s", host, dev_a + "," + dev_a) + "]");
  EXPECT_TRUE(has(e, "/switches/0/downstream/1/device") && has(e, "already")) << e;
  e = error_of("both", "[" + sw_json("s", host, R"({"device": "a", "switch": "s"})") + "]");
  EXPECT_TRUE(has(e, "/switches/0/downstream/0")) << e;
  e = error_of("self", "[" + sw_json("s", host, R"({"switch": "s"})") + "]");
  EXPECT_TRUE(has(e, "/switches/0/downstream/0/switch") && has(e, "itself")) << e;
  e = error_of("loop", "[" + sw_json("s", host, dev_a) + "," + sw_json("p", "", R"({"switch": "q"})") + "," +
                           sw_json("q", "", R"({"switch": "p"})") + "]");
  EXPECT_TRUE(has(e, "/switches/1") && has(e, "loops")) << e;
  e = error_of("fed_and_host", "[" + sw_json("s", host, R"({"switch": "t"})") + "," + sw_json("t", host, dev_a) + "]");
  EXPECT_TRUE(has(e, "/switches/0/downstream/0/switch") && has(e, "cannot also be fed")) << e;
  e = error_of("typo", "[" + sw_json("s", host, dev_a).replace(1, 6, R"("nmae")") + "]");
  EXPECT_FALSE(e.empty());
  e = error_of("lanes", R"([{"name": "s", "source": "t", "traversal_latency_ns": 50, "upstream": {"host": "h",
      "link": {"source": "t", "lanes": 3}}, "downstream": [{"device": "a"}]}])");
  EXPECT_TRUE(has(e, "/switches/0/upstream/link/lanes")) << e;
  // A device may also stay on its own root port next to a switch.
  const SystemConfig mixed = load_system(write_system("mixed", with_switches("[" + sw_json("s", host, dev_b) + "]")));
  const SystemFabric f = system_fabric(mixed);
  EXPECT_FALSE(f.device_behind_switch[0]);
  EXPECT_TRUE(f.device_behind_switch[1]);
}

// CXL.io through a switch: each traversal and the host-to-switch wire's port
// latency, both ways; the register access itself is unchanged.
TEST_F(FabricSystemTest, RegisterReadPaysTraversalAndUpstreamPortLatency) {
  auto mmio_ps = [](const std::string& system) {
    pnm::fresh_sim_kernel();
    System sys(load_system(resolve_platform(system)));
    uint64_t ps = 0;
    sys.run_host([&](const std::vector<sw::Backend*>& b) {
      const auto t0 = sc_core::sc_time_stamp();
      b[0]->mmio_read32(sys.device(0).bar_base(0));
      ps = static_cast<uint64_t>((sc_core::sc_time_stamp() - t0).to_seconds() * 1e12 + 0.5);
    });
    return ps;
  };
  const SystemConfig s = load_system(resolve_platform("switch-x1"));
  const uint64_t direct = mmio_ps("pnm-ref-system");
  EXPECT_EQ(mmio_ps("switch-x1") - direct, 2 * (50'000 + s.switches[0].upstream_link.port_latency_ps));
  EXPECT_EQ(mmio_ps("switch2-x8") - direct, 2 * (2 * 50'000 + 2 * s.switches[0].upstream_link.port_latency_ps));
}

// fabric/traversal_bytes (switch bytes per token in run's report): a write
// to a device behind one switch crosses it once; behind two levels, twice.
TEST_F(FabricSystemTest, TraversalBytesCountEverySwitchALineCrosses) {
  auto traversal = [](const std::string& system, size_t dev) {
    pnm::fresh_sim_kernel();
    System sys(load_system(resolve_platform(system)));
    std::vector<uint8_t> page(4096, 0x5a);
    double before = 0;
    sys.run_host([&](const std::vector<sw::Backend*>& b) {
      b[dev]->sleep_ns(20000);
      before = sys.stats().value_at("fabric/traversal_bytes");
      ASSERT_TRUE(b[dev]->mem_write(sys.device(dev).hpa_base() + 0x3000, page.data(), page.size()));
    });
    return sys.stats().value_at("fabric/traversal_bytes") - before;
  };
  EXPECT_EQ(traversal("switch-x8", 5), 4096.0);
  EXPECT_EQ(traversal("switch2-x8", 5), 2 * 4096.0);
}
