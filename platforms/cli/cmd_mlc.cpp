// pnmvp mlc: a Memory Latency Checker run from the host against the virtual
// device over CXL.mem: idle load-to-use latency (pointer chase), peak read,
// write and 2:1 mixed bandwidth, and latency under rising injected load.
// Every measurement is its own simulation (fresh SystemC kernel).
#include "commands.h"
#include "common/log.h"
#include "common/report.h"
#include "common/sanitizer.h"
#include "system.h"

#include <fmt/format.h>
#include <iostream>
#include <memory>
#include <random>
#include <systemc>

namespace pnm::cli {

namespace {
struct MlcOpts {
  Target target;
  unsigned device = 0;
  std::string report;
  unsigned chase_reads = 2000;
  uint64_t bandwidth_mib = 64; // per measurement, all agents together
  unsigned agents = 4;         // concurrent host agents for bandwidth
};

constexpr uint64_t kLine = 64;
constexpr uint64_t kChunk = 256 * 1024; // bytes per host transaction when streaming
// Background load for the loaded-latency curve moves in small transactions,
// as many cores' cache misses do, so the probe's line interleaves with them
// on the link instead of waiting behind a whole large transfer.
constexpr uint64_t kLoadChunk = 4 * 1024;

// Runs one simulation on a fresh kernel: builds the system, lets `setup`
// add programs (all on the runner device's root port, so the simulation stops
// when the last of them returns; a program may use any port's Backend), runs
// to completion, returns what `after` computes.
template <typename R>
R simulate(const SystemConfig& sc, size_t runner_device, const std::function<void(System&, HostBridge&)>& setup,
           const std::function<R(System&)>& after) {
  sc_core::sc_curr_simcontext = new sc_core::sc_simcontext();
  sc_core::sc_default_global_context = sc_core::sc_curr_simcontext;
  System sys(sc);
  HostBridge& runner = sys.port(runner_device);
  setup(sys, runner);
  sc_core::sc_start();
  sanitizer_back_on_main_stack();
  if (!runner.program_done()) throw std::runtime_error("mlc: host programs did not finish");
  return after(sys);
}

struct Stream {
  double gbps;
  double bytes;
};

// On each device of `devices`, `readers` and `writers` agents each stream
// their share of `total` bytes (per device) in kChunk transactions over
// disjoint regions; returns the aggregate rate.
Stream stream(const SystemConfig& sc, const std::vector<size_t>& devices, unsigned readers, unsigned writers,
              uint64_t total, double gap_ns = 0) {
  const unsigned agents = readers + writers;
  const uint64_t per_agent = std::max<uint64_t>(kChunk, total / agents / kChunk * kChunk);
  double first = 1e300, last = 0;
  return simulate<Stream>(
      sc, devices.front(),
      [&](System& sys, HostBridge& runner) {
        for (size_t d : devices)
          for (unsigned a = 0; a < agents; ++a) {
            const bool write = a >= readers;
            const uint64_t base = sys.device(d).hpa_base() + a * per_agent;
            sw::Backend* port = &sys.port(d);
            runner.add_program([=, &first, &last](sw::Backend&) {
              sw::Backend& b = *port;
              std::vector<uint8_t> buf(kChunk, static_cast<uint8_t>(a));
              first = std::min(first, b.now_ns());
              for (uint64_t off = 0; off < per_agent; off += kChunk) {
                bool ok = write ? b.mem_write(base + off, buf.data(), kChunk)
                                : b.mem_read(base + off, buf.data(), kChunk);
                if (!ok) throw std::runtime_error("mlc: streaming access failed");
                if (gap_ns > 0) b.sleep_ns(gap_ns);
              }
              last = std::max(last, b.now_ns());
            });
          }
      },
      [&](System&) {
        const double bytes = static_cast<double>(per_agent) * agents * devices.size();
        return Stream{bytes / (last - first), bytes};
      });
}

struct Chase {
  double avg_ns;
  cxl::LatencyBreakdown breakdown;
};

// Dependent 64 B reads at pseudo-random lines: each waits for the last.
// Optional background streaming readers load the device meanwhile.
Chase chase(const SystemConfig& sc, size_t device, unsigned reads, unsigned loaders, double gap_ns,
            double* loaded_gbps) {
  double total_ns = 0;
  cxl::LatencyBreakdown sum;
  double bg_bytes = 0, bg_first = 1e300, bg_last = 0;
  bool stop = false;
  return simulate<Chase>(
      sc, device,
      [&](System& sys, HostBridge& host) {
        PnmDevice& dev = sys.device(device);
        const uint64_t lines = dev.capacity_bytes() / kLine;
        const uint64_t base = dev.hpa_base();
        host.add_program([&, lines, base, devp = &dev](sw::Backend& b) {
          std::mt19937_64 rng(7);
          uint8_t line[kLine];
          b.sleep_ns(loaders ? 2000 : 0); // let the background load build up
          for (unsigned i = 0; i < reads; ++i) {
            const uint64_t hpa = base + std::uniform_int_distribution<uint64_t>(0, lines / 2 - 1)(rng) * kLine;
            const double t0 = b.now_ns();
            if (!b.mem_read(hpa, line, kLine)) throw std::runtime_error("mlc: chase read failed");
            total_ns += b.now_ns() - t0;
            const cxl::LatencyBreakdown& lb = devp->cxl_mem.last_breakdown();
            sum.downstream_link_ns += lb.downstream_link_ns;
            sum.controller_ns += lb.controller_ns;
            sum.dram_ns += lb.dram_ns;
            sum.upstream_link_ns += lb.upstream_link_ns;
          }
          stop = true;
        });
        for (unsigned a = 0; a < loaders; ++a) {
          const uint64_t region = dev.capacity_bytes() / 2 + a * (64ull << 20);
          host.add_program([&, base, region](sw::Backend& b) {
            std::vector<uint8_t> buf(kLoadChunk);
            uint64_t off = 0;
            bg_first = std::min(bg_first, b.now_ns());
            while (!stop) {
              if (!b.mem_read(base + region + off, buf.data(), kLoadChunk)) throw std::runtime_error("mlc: load read failed");
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
} // namespace

std::function<int()> add_mlc(CLI::App& app, const Globals&) {
  auto o = std::make_shared<MlcOpts>();
  CLI::App* sub = app.add_subcommand(
      "mlc", "memory latency checker from the host: idle latency, bandwidths, loaded latency");
  add_target_options(sub, o->target);
  sub->add_option("--device", o->device, "the device measured (index in the system file, default 0)");
  sub->add_option("--report", o->report, "write the JSON report here");
  sub->add_option("--chase-reads", o->chase_reads, "dependent reads for the idle latency")
      ->check(CLI::Range(10u, 10000000u))
      ->capture_default_str();
  sub->add_option("--bandwidth-mib", o->bandwidth_mib, "MiB moved per bandwidth measurement")
      ->check(CLI::Range(uint64_t{1}, uint64_t{1} << 20))
      ->capture_default_str();
  sub->add_option("--agents", o->agents, "concurrent host agents when streaming")
      ->check(CLI::Range(1u, 64u))
      ->capture_default_str();
  return [o]() -> int {
    const SystemConfig sc = select_system(o->target.system, o->target.platform);
    if (o->device >= sc.devices.size())
      throw ConfigError(fmt::format("--device {}: {} has {} device(s)", o->device, sc.file, sc.devices.size()));
    const PlatformConfig& pc = sc.devices[o->device].platform;
    const HostConfig& hc = sc.hosts.at(sc.devices[o->device].host);
    if (!o->report.empty()) check_output_path(o->report, "report");
    const uint64_t total = o->bandwidth_mib << 20;
    const cxl::LinkConfig& lc = pc.cxl.mem.link;
    cxl::MessageMix reads_only;
    reads_only[cxl::MsgClass::s2m_drs] = 1000000; // a long stream: the closed form's steady state
    const double link_eff = cxl::effective_line_gbytes_per_s(lc, cxl::Direction::s2m, reads_only);

    const std::vector<size_t> one{o->device};
    Chase idle = chase(sc, o->device, o->chase_reads, 0, 0, nullptr);
    const double rp = 2 * hc.bridge.root_port_latency_ns;
    Stream rd = stream(sc, one, o->agents, 0, total);
    Stream wr = stream(sc, one, 0, o->agents, total);
    const unsigned mixed_writers = std::max(1u, o->agents / 3);
    Stream mx = stream(sc, one, std::max(1u, o->agents - mixed_writers), mixed_writers, total);
    // Every device of the measured device's host at once: what the host's links carry together.
    std::vector<size_t> all;
    for (size_t i = 0; i < sc.devices.size(); ++i)
      if (sc.devices[i].host == sc.devices[o->device].host) all.push_back(i);
    const Stream rd_all = all.size() > 1 ? stream(sc, all, o->agents, 0, total) : rd;
    std::cout << fmt::format("system {} ({}): {} device(s); measuring device {} ({})\n", sc.name, sc.file,
                             sc.devices.size(), o->device, sc.devices[o->device].name);
    std::cout << fmt::format("platform {} ({}): CXL PCIe Gen{} x{} {} flits, link {:.1f} GB/s raw, "
                             "{:.1f} GB/s effective for reads\n",
                             pc.name, pc.file, pc.cxl.io.link_gen, lc.lanes,
                             lc.flit_mode == cxl::FlitMode::flit68 ? "68B" : "256B",
                             lc.raw_gbytes_per_s(), link_eff);
    std::cout << fmt::format("idle load-to-use latency  {:8.1f} ns  (root port {:.1f} + downstream link {:.1f} + "
                             "controller {:.1f} + DRAM {:.1f} + upstream link {:.1f}, averages)\n",
                             idle.avg_ns, rp, idle.breakdown.downstream_link_ns,
                             idle.breakdown.controller_ns, idle.breakdown.dram_ns,
                             idle.breakdown.upstream_link_ns);
    std::cout << fmt::format("read bandwidth            {:8.2f} GB/s ({:.1f}% of effective link)\n",
                             rd.gbps, 100 * rd.gbps / link_eff);
    std::cout << fmt::format("write bandwidth           {:8.2f} GB/s\n", wr.gbps);
    std::cout << fmt::format("mixed 2:1 bandwidth       {:8.2f} GB/s\n", mx.gbps);
    if (all.size() > 1)
      std::cout << fmt::format("read bandwidth, all {} devices of the host at once {:8.2f} GB/s\n", all.size(),
                               rd_all.gbps);
    std::cout << "loaded latency:\n  injected GB/s   latency ns\n";
    nlohmann::ordered_json loaded = nlohmann::ordered_json::array();
    for (double gap : {2000.0, 800.0, 400.0, 200.0, 100.0, 50.0, 0.0}) {
      double bw = 0;
      Chase c = chase(sc, o->device, std::max(200u, o->chase_reads / 10), o->agents, gap, &bw);
      std::cout << fmt::format("  {:12.2f}   {:10.1f}\n", bw, c.avg_ns);
      loaded.push_back({{"bandwidth_gbps", bw}, {"latency_ns", c.avg_ns}, {"injection_gap_ns", gap}});
    }
    if (!o->report.empty()) {
      nlohmann::ordered_json j;
      j["schema"] = "pnmvp.mlc.v1";
      j["platform"] = pc.file;
      j["system"] = sc.file;
      j["device"] = sc.devices[o->device].name;
      j["idle_latency_ns"] = idle.avg_ns;
      j["latency_breakdown_ns"] = {{"root_port", rp},
                                   {"downstream_link", idle.breakdown.downstream_link_ns},
                                   {"controller", idle.breakdown.controller_ns},
                                   {"dram", idle.breakdown.dram_ns},
                                   {"upstream_link", idle.breakdown.upstream_link_ns}};
      j["read_bandwidth_gbps"] = rd.gbps;
      j["write_bandwidth_gbps"] = wr.gbps;
      j["mixed_bandwidth_gbps"] = mx.gbps;
      j["link_raw_gbps"] = lc.raw_gbytes_per_s();
      j["link_effective_gbps"] = link_eff;
      j["loaded_latency"] = loaded;
      if (all.size() > 1) j["all_devices_read_bandwidth_gbps"] = rd_all.gbps;
      write_report(o->report, j);
      std::cout << "report written to " << o->report << "\n";
    }
    return 0;
  };
}

} // namespace pnm::cli
