// pnmvp mlc: a Memory Latency Checker run from a host of the system against
// a device over CXL.mem and against the host's own DRAM: idle load-to-use
// latency (pointer chase) of both and their ratio, bandwidth with every line
// fill buffer of the host's cores in flight (all reads, read:write 3:1, 2:1,
// 1:1, all writes), and CXL latency under rising injected load. Every
// measurement is its own simulation (fresh SystemC kernel).
#include "commands.h"
#include "common/log.h"
#include "common/report.h"
#include "common/sanitizer.h"
#include "common/stats.h"
#include "system.h"

#include <fmt/format.h>
#include <iostream>
#include <memory>
#include <random>
#include <systemc>
#include "common/sim_kernel.h"

namespace pnm::cli {

namespace {
struct MlcOpts {
  Target target;
  unsigned device = 0;
  std::string report;
  bool force = false, json = false;
  std::string stats;
  unsigned chase_reads = 2000;
  uint64_t bandwidth_mib = 16; // per bandwidth measurement, all cores together
  unsigned cores = 0;          // cores streaming (0: all the host's cores)
  unsigned agents = 4;         // background streams of the loaded-latency curve
};

constexpr uint64_t kLine = 64;
// Background load for the loaded-latency curve moves in small transactions,
// as many cores' cache misses do, so the probe's line interleaves with them
// on the link instead of waiting behind a whole large transfer.
constexpr uint64_t kLoadChunk = 4 * 1024;

// What a measurement runs against: a device (index) or the host's local DRAM.
struct Where {
  bool local = false;
  size_t device = 0;
};

// Runs one simulation on a fresh kernel: builds the system, lets `setup`
// add programs (all on one port, so the simulation stops when the last of
// them returns; a program may use any port), runs to completion, returns
// what `after` computes. The system's stats tree at the end goes to `stats`
// when given.
template <typename R>
R simulate(const SystemConfig& sc, StatGroup* stats, const std::function<void(System&, HostBridge&)>& setup,
           const std::function<R(System&)>& after) {
  pnm::fresh_sim_kernel();
  System sys(sc);
  HostBridge& runner = sys.local_memory(0);
  setup(sys, runner);
  sc_core::sc_start();
  sanitizer_back_on_main_stack();
  if (!runner.program_done()) throw std::runtime_error("mlc: host programs did not finish");
  if (stats) sys.report(*stats);
  return after(sys);
}

HostBridge& port_of(System& sys, const Where& w) { return w.local ? sys.local_memory(0) : sys.port(w.device); }
uint64_t base_of(System& sys, const Where& w) { return w.local ? 0 : sys.device(w.device).hpa_base(); }
uint64_t bytes_of(System& sys, const Where& w) {
  return w.local ? sys.local_dram(0).core().capacity_bytes() : sys.device(w.device).capacity_bytes();
}

struct Stream {
  double gbps = 0;
  uint64_t reads = 0, writes = 0; // lines issued
};

// Every place in `where` at once: `lines` 64-byte lines each, `reads` of
// every `reads + writes` read and the rest written, with `lines_in_flight`
// outstanding per place. Returns the aggregate rate.
Stream stream(const SystemConfig& sc, StatGroup* stats, const std::vector<Where>& where, uint64_t lines,
              unsigned reads, unsigned writes, unsigned lines_in_flight) {
  double first = 1e300, last = 0;
  Stream total;
  return simulate<Stream>(
      sc, stats,
      [&](System& sys, HostBridge& runner) {
        for (const Where& w : where) {
          HostBridge* port = &port_of(sys, w);
          const uint64_t base = base_of(sys, w);
          runner.add_program([=, &first, &last, &total](sw::Backend& b) {
            first = std::min(first, b.now_ns());
            const HostBridge::MixCount n = port->mem_stream_lines(base, lines, reads, writes, lines_in_flight);
            if (!n.ok) throw std::runtime_error("mlc: streaming access failed");
            total.reads += n.reads;
            total.writes += n.writes;
            last = std::max(last, b.now_ns());
          });
        }
      },
      [&](System&) {
        total.gbps = double(total.reads + total.writes) * kLine / (last - first);
        return total;
      });
}

struct Chase {
  double avg_ns = 0;
  cxl::LatencyBreakdown breakdown; // devices only
};

// Dependent 64 B reads at pseudo-random lines: each waits for the last.
// Optional background streaming readers load the same place meanwhile.
Chase chase(const SystemConfig& sc, StatGroup* stats, const Where& where, unsigned reads, unsigned loaders,
            double gap_ns, double* loaded_gbps) {
  double total_ns = 0;
  cxl::LatencyBreakdown sum;
  double bg_bytes = 0, bg_first = 1e300, bg_last = 0;
  bool stop = false;
  return simulate<Chase>(
      sc, stats,
      [&](System& sys, HostBridge& runner) {
        sw::Backend* port = &port_of(sys, where);
        const uint64_t lines = bytes_of(sys, where) / kLine;
        const uint64_t base = base_of(sys, where);
        cxl::CxlMemPort* mem = where.local ? nullptr : &sys.device(where.device).cxl_mem;
        runner.add_program([&, port, lines, base, mem](sw::Backend&) {
          sw::Backend& b = *port;
          std::mt19937_64 rng(7);
          uint8_t line[kLine];
          b.sleep_ns(loaders ? 2000 : 0); // let the background load build up
          for (unsigned i = 0; i < reads; ++i) {
            const uint64_t hpa = base + std::uniform_int_distribution<uint64_t>(0, lines / 2 - 1)(rng) * kLine;
            const double t0 = b.now_ns();
            if (!b.mem_read(hpa, line, kLine)) throw std::runtime_error("mlc: chase read failed");
            total_ns += b.now_ns() - t0;
            if (!mem) continue;
            const cxl::LatencyBreakdown& lb = mem->last_breakdown();
            sum.downstream_link_ns += lb.downstream_link_ns;
            sum.controller_ns += lb.controller_ns;
            sum.dram_ns += lb.dram_ns;
            sum.upstream_link_ns += lb.upstream_link_ns;
          }
          stop = true;
        });
        for (unsigned a = 0; a < loaders; ++a) {
          const uint64_t region = base + bytes_of(sys, where) / 2 + a * (64ull << 20);
          runner.add_program([&, port, region](sw::Backend&) {
            sw::Backend& b = *port;
            std::vector<uint8_t> buf(kLoadChunk);
            uint64_t off = 0;
            bg_first = std::min(bg_first, b.now_ns());
            while (!stop) {
              if (!b.mem_read(region + off, buf.data(), kLoadChunk)) throw std::runtime_error("mlc: load read failed");
              bg_bytes += kLoadChunk;
              off = (off + kLoadChunk) % (64ull << 20);
              if (gap_ns > 0) b.sleep_ns(gap_ns);
            }
            bg_last = std::max(bg_last, b.now_ns());
          });
        }
      },
      [&](System&) {
        if (loaded_gbps) *loaded_gbps = loaders ? bg_bytes / (bg_last - bg_first) : 0.0;
        cxl::LatencyBreakdown avg = sum;
        for (double* v : {&avg.downstream_link_ns, &avg.controller_ns, &avg.dram_ns, &avg.upstream_link_ns})
          *v /= reads;
        return Chase{total_ns / reads, avg};
      });
}

// Read:write mixes of the bandwidth table, as Intel MLC names them.
struct Mix {
  const char* key;   // report key
  const char* label; // table row
  unsigned reads, writes;
};
constexpr Mix kMixes[] = {{"3:1", "3:1 Reads-Writes", 3, 1}, {"2:1", "2:1 Reads-Writes", 2, 1},
                          {"1:1", "1:1 Reads-Writes", 1, 1}};
} // namespace

std::function<int()> add_mlc(CLI::App& app, const Globals&) {
  auto o = std::make_shared<MlcOpts>();
  CLI::App* sub = app.add_subcommand(
      "mlc", "memory latency checker from the host: idle latency, bandwidths, loaded latency; CXL and local DRAM");
  add_target_options(sub, o->target);
  sub->add_option("--device", o->device, "the device measured (index in the system file, default 0)");
  sub->add_option("--report", o->report, "write the JSON report here");
  sub->add_option("--stats", o->stats,
                  "write the whole system's stats tree at the end of each measurement here (JSON, with units "
                  "and descriptions)");
  sub->add_option("--chase-reads", o->chase_reads, "dependent reads for the idle latency")
      ->check(CLI::Range(10u, 10000000u))
      ->capture_default_str();
  sub->add_option("--bandwidth-mib", o->bandwidth_mib, "MiB moved per bandwidth measurement")
      ->check(CLI::Range(uint64_t{1}, uint64_t{1} << 20))
      ->capture_default_str();
  sub->add_option("--cores", o->cores,
                  "host cores streaming in the bandwidth runs, each with its line fill buffers in flight "
                  "(default: all of the host's cores)")
      ->check(CLI::Range(1u, 4096u));
  sub->add_option("--agents", o->agents, "background streams of the loaded-latency curve")
      ->check(CLI::Range(1u, 64u))
      ->capture_default_str();
  sub->add_flag("--force", o->force, "replace existing output files that pnmvp wrote");
  sub->add_flag("--json", o->json, "print the report on stdout instead of the tables");
  return [o]() -> int {
    std::ostream null_out(nullptr);
    std::ostream& text = o->json ? null_out : std::cout; // --json: the report alone on stdout
    note_target_inputs(o->target.system, o->target.platform);
    const SystemConfig sc = select_system(o->target.system, o->target.platform);
    if (o->device >= sc.devices.size())
      throw ConfigError(fmt::format("--device {}: {} has {} device(s)", o->device, sc.file, sc.devices.size()));
    if (sc.devices[o->device].host != 0)
      throw ConfigError(fmt::format("--device {}: mlc runs on the system's first host; this device is on {}",
                                    o->device, sc.hosts.at(sc.devices[o->device].host).name));
    const PlatformConfig& pc = sc.devices[o->device].platform;
    const bool switched = !sc.switches.empty() && system_fabric(sc).device_behind_switch[o->device];
    const HostConfig& hc = sc.hosts.front();
    if (o->cores > hc.cores)
      throw ConfigError(fmt::format("--cores {}: host {} has {} cores ({})", o->cores, hc.name, hc.cores, sc.file));
    check_outputs({{"--report", o->report, true}, {"--stats", o->stats, true}}, o->force);
    // One group per measurement (each its own simulation), when --stats asks.
    StatGroup tree("mlc", "pnmvp mlc: the system's stats at the end of each measurement");
    auto into = [&](const std::string& name, const std::string& what) -> StatGroup* {
      return o->stats.empty() ? nullptr : &tree.group(name, what);
    };
    const unsigned cores = o->cores ? o->cores : hc.cores;
    const unsigned in_flight = cores * hc.line_fill_buffers;
    const uint64_t lines = (o->bandwidth_mib << 20) / kLine;
    const cxl::LinkConfig& lc = pc.cxl.mem.link;
    cxl::MessageMix reads_only;
    reads_only[cxl::MsgClass::s2m_drs] = 1000000; // a long stream: the closed form's steady state
    const double link_eff = cxl::effective_line_gbytes_per_s(lc, cxl::Direction::s2m, reads_only);

    const Where dev{false, o->device}, local{true, 0};
    const Chase idle = chase(sc, into("idle_cxl", "idle latency, CXL"), dev, o->chase_reads, 0, 0, nullptr);
    const Chase local_idle =
        chase(sc, into("idle_local", "idle latency, local DRAM"), local, o->chase_reads, 0, 0, nullptr);
    const double host_path = 2 * (hc.bridge.core_and_caches_ns + hc.bridge.mesh_ns);
    const double rp = 2 * hc.bridge.root_port_latency_ns;
    const Stream rd = stream(sc, into("reads", "bandwidth, all reads, CXL"), {dev}, lines, 1, 0, in_flight);
    const Stream wr = stream(sc, into("writes", "bandwidth, all writes, CXL"), {dev}, lines, 0, 1, in_flight);
    const Stream local_rd =
        stream(sc, into("local_reads", "bandwidth, all reads, local DRAM"), {local}, lines, 1, 0, in_flight);
    std::vector<Stream> mixed;
    for (const Mix& m : kMixes)
      mixed.push_back(stream(sc, into(fmt::format("mix_{}_{}", m.reads, m.writes), m.label), {dev}, lines, m.reads,
                             m.writes, in_flight));
    // Every device of the host at once, each with the host's lines in flight: what its links carry together.
    std::vector<Where> all;
    for (size_t i = 0; i < sc.devices.size(); ++i)
      if (sc.devices[i].host == 0) all.push_back({false, i});
    const Stream rd_all =
        all.size() > 1 ? stream(sc, into("reads_all_devices", "bandwidth, all reads, every device of the host"), all,
                                lines, 1, 0, in_flight)
                       : rd;

    text << fmt::format("system {} ({}): {} device(s); measuring device {} ({}) from host {}\n", sc.name,
                             sc.file, sc.devices.size(), o->device, sc.devices[o->device].name, hc.name);
    if (switched)
      text << fmt::format("the device is behind {} CXL switch(es) sharing the host's upstream link\n",
                          sc.switches.size());
    text << fmt::format("platform {} ({}): CXL PCIe Gen{} x{} {} flits, link {:.1f} GB/s raw, "
                             "{:.1f} GB/s effective for reads\n",
                             pc.name, pc.file, pc.cxl.io.link_gen, lc.lanes,
                             lc.flit_mode == cxl::FlitMode::flit68 ? "68B" : "256B", lc.raw_gbytes_per_s(), link_eff);
    if (switched)
      // The switch's ports carry the lines (the device's own link module is
      // bypassed), so the split below the root port is not recorded per stage.
      text << fmt::format("idle load-to-use latency  CXL {:8.1f} ns  (core, caches and mesh {:.1f} + root port "
                          "{:.1f} + switch fabric, controller and DRAM {:.1f}, averages)\n",
                          idle.avg_ns, host_path, rp, idle.avg_ns - host_path - rp);
    else
      text << fmt::format("idle load-to-use latency  CXL {:8.1f} ns  (core, caches and mesh {:.1f} + root port "
                               "{:.1f} + downstream link {:.1f} + controller {:.1f} + DRAM {:.1f} + upstream link "
                               "{:.1f}, averages)\n",
                               idle.avg_ns, host_path, rp, idle.breakdown.downstream_link_ns,
                               idle.breakdown.controller_ns, idle.breakdown.dram_ns, idle.breakdown.upstream_link_ns);
    text << fmt::format("                        local {:8.1f} ns  (core, caches and mesh {:.1f} + DRAM {:.1f})\n",
                             local_idle.avg_ns, host_path, local_idle.avg_ns - host_path);
    text << fmt::format("CXL / local latency       {:8.2f}x\n", idle.avg_ns / local_idle.avg_ns);
    text << fmt::format("bandwidth (GB/s, {} cores x {} line fill buffers = {} lines in flight)\n", cores,
                             hc.line_fill_buffers, in_flight);
    text << fmt::format("  {:<20} {:>10} {:>12}\n", "", "CXL", "local DDR5");
    text << fmt::format("  {:<20} {:>10.2f} {:>12.2f}   (CXL: {:.1f}% of effective link; {:.0f}% of local)\n",
                             "ALL Reads", rd.gbps, local_rd.gbps, 100 * rd.gbps / link_eff,
                             100 * rd.gbps / local_rd.gbps);
    for (size_t i = 0; i < mixed.size(); ++i)
      text << fmt::format("  {:<20} {:>10.2f} {:>12}\n", kMixes[i].label, mixed[i].gbps, "-");
    text << fmt::format("  {:<20} {:>10.2f} {:>12}\n", "ALL Writes", wr.gbps, "-");
    if (all.size() > 1)
      text << fmt::format("  {:<20} {:>10.2f}   (all {} devices of the host at once)\n", "ALL Reads, all devs",
                               rd_all.gbps, all.size());
    text << "loaded latency (CXL):\n  injected GB/s   latency ns\n";
    nlohmann::ordered_json loaded = nlohmann::ordered_json::array();
    for (double gap : {2000.0, 800.0, 400.0, 200.0, 100.0, 50.0, 0.0}) {
      double bw = 0;
      const Chase c = chase(sc, into(fmt::format("loaded_gap_{:.0f}ns", gap), "loaded latency, CXL"), dev,
                            std::max(200u, o->chase_reads / 10), o->agents, gap, &bw);
      text << fmt::format("  {:12.2f}   {:10.1f}\n", bw, c.avg_ns);
      loaded.push_back({{"bandwidth_gbps", bw}, {"latency_ns", c.avg_ns}, {"injection_gap_ns", gap}});
    }
    {
      nlohmann::ordered_json j;
      j["schema"] = "pnmvp.mlc.v1";
      j["platform"] = pc.file;
      j["system"] = sc.file;
      j["device"] = sc.devices[o->device].name;
      j["idle_latency_ns"] = idle.avg_ns;
      if (switched)
        j["latency_breakdown_ns"] = {{"core_caches_mesh", host_path},
                                     {"root_port", rp},
                                     {"fabric_and_device", idle.avg_ns - host_path - rp}};
      else
        j["latency_breakdown_ns"] = {{"core_caches_mesh", host_path},
                                     {"root_port", rp},
                                     {"downstream_link", idle.breakdown.downstream_link_ns},
                                     {"controller", idle.breakdown.controller_ns},
                                     {"dram", idle.breakdown.dram_ns},
                                     {"upstream_link", idle.breakdown.upstream_link_ns}};
      if (switched) j["switches"] = sc.switches.size();
      j["local_idle_latency_ns"] = local_idle.avg_ns;
      j["cxl_to_local_latency_ratio"] = idle.avg_ns / local_idle.avg_ns;
      j["lines_in_flight"] = in_flight;
      j["read_bandwidth_gbps"] = rd.gbps;
      j["write_bandwidth_gbps"] = wr.gbps;
      j["local_read_bandwidth_gbps"] = local_rd.gbps;
      j["mixed_bandwidth_gbps"] = mixed[1].gbps; // 2:1
      nlohmann::ordered_json by_ratio, counts;
      for (size_t i = 0; i < mixed.size(); ++i) {
        by_ratio[kMixes[i].key] = mixed[i].gbps;
        counts[kMixes[i].key] = {{"reads", mixed[i].reads}, {"writes", mixed[i].writes}};
      }
      j["mixed_bandwidth_by_ratio_gbps"] = by_ratio;
      j["mixed_lines_by_ratio"] = counts;
      j["link_raw_gbps"] = lc.raw_gbytes_per_s();
      j["link_effective_gbps"] = link_eff;
      j["loaded_latency"] = loaded;
      if (all.size() > 1) j["all_devices_read_bandwidth_gbps"] = rd_all.gbps;
      if (!o->report.empty()) {
        write_report(o->report, j, o->force);
        text << "report written to " << o->report << "\n";
      }
      if (o->json) std::cout << with_provenance(j).dump(2) << "\n";
    }
    if (!o->stats.empty()) {
      write_report(o->stats, stats_document(tree), o->force, "--stats");
      text << "stats written to " << o->stats << "\n";
    }
    return 0;
  };
}

} // namespace pnm::cli
