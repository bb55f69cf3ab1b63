// pnmvp dram: replay a memory trace (or synthetic traffic) through the
// platform's DDR5 channels and report bandwidth, latency, commands, energy.
#include "commands.h"
#include "common/log.h"
#include "common/report.h"
#include "common/rss.h"
#include "common/stats.h"
#include "dram/command_trace.h"
#include "dram/dram_replay.h"
#include "platform.h"
#include "system.h"

#include <fmt/format.h>
#include <iostream>
#include <memory>

namespace pnm::cli {

namespace {
struct DramOpts {
  std::string platform = kDefaultDramPlatform;
  std::string trace;
  std::string pattern;
  uint64_t requests = 1000000;
  double write_fraction = 0.0;
  uint64_t stride = 4096;
  uint64_t seed = 1;
  std::string report;
  bool force = false, json = false;
  std::string stats;
  std::string cmd_trace;
};

struct Run {
  std::string workload;
  nlohmann::ordered_json report;
};

Run run_one(const PlatformConfig& pc, const DramOpts& o, const std::string& pattern,
            double write_fraction, dram::CommandTraceWriter* cmds, StatGroup& runs) {
  dram::DramSystem dram(pc.dram);
  if (cmds)
    for (uint32_t c = 0; c < dram.channel_count(); ++c) dram.channel(c).add_observer(cmds);
  std::unique_ptr<dram::RequestSource> src;
  std::string workload;
  if (!o.trace.empty()) {
    src = std::make_unique<dram::TraceFileSource>(o.trace, dram.capacity_bytes());
    workload = "trace " + o.trace;
  } else {
    src = std::make_unique<dram::SyntheticSource>(
        dram::parse_pattern(pattern), o.requests, dram.capacity_bytes(),
        pc.dram.spec.org.burst_bytes(), write_fraction, o.stride, o.seed);
    workload = fmt::format("{} {} requests, {:.0f}% writes{}", pattern, o.requests,
                           100 * write_fraction,
                           pattern == "stride" ? fmt::format(", stride {} B", o.stride) : "");
  }
  log::info("dram", "replaying {} on {} channel(s), capacity {} GiB, mapping {}", workload,
            dram.channel_count(), dram.capacity_bytes() >> 30, dram.mapper().canonical());
  dram::ReplayResult r = dram::replay(dram, *src);
  log::info("dram", "{} requests in {:.3f} s wall, last data at cycle {}", r.requests, r.wall_s,
            r.end_cycle);
  auto j = dram::replay_report(dram, r, pc.file, workload);
  j["peak_rss_mib"] = peak_rss_mib();
  StatGroup& stats = runs.group(std::to_string(runs.groups().size()), workload);
  stats.set("requests", static_cast<double>(r.requests), "count", "requests replayed");
  stats.set("simulated_ns", static_cast<double>(r.end_cycle) * dram.tck_ns(), "ns", "time to the last data beat");
  dram.report(stats, r.end_cycle);
  return {workload, j};
}

void print_summary(const Run& run) {
  const auto& j = run.report;
  std::cout << fmt::format(
      "{}\n  requests {}  simulated {:.1f} us  bandwidth {:.2f} GB/s ({:.1f}% of {:.1f} peak)\n"
      "  read latency avg {:.1f} ns  p50 {:.1f} ns  p99 {:.1f} ns  row-hit rate {:.3f}\n"
      "  energy {:.3f} uJ  ({:.2f} pJ/bit)  wall {:.3f} s  {:.2f} M requests/s\n",
      run.workload, j["requests"].get<uint64_t>(), j["simulated_ns"].get<double>() * 1e-3,
      j["bandwidth_gbps"].get<double>(), j["bandwidth_pct_of_peak"].get<double>(),
      j["peak_bandwidth_gbps"].get<double>(), j["read_latency_ns"]["avg"].get<double>(),
      j["read_latency_ns"]["p50"].get<double>(), j["read_latency_ns"]["p99"].get<double>(),
      j["row_hit_rate"].get<double>(), j["energy_pj"]["total"].get<double>() * 1e-6,
      j["pj_per_bit"].get<double>(), j["wall_s"].get<double>(),
      j["requests_per_wall_s"].get<double>() * 1e-6);
  std::string cmds = "  commands";
  for (const auto& [k, v] : j["commands"].items()) cmds += fmt::format(" {} {}", k, v.get<uint64_t>());
  std::cout << cmds << "\n";
  std::string en = "  energy pJ";
  for (const auto& [k, v] : j["energy_pj"].items())
    if (k != "total") en += fmt::format(" {} {:.4g}", k, v.get<double>());
  std::cout << en << "\n";
}
} // namespace

std::function<int()> add_dram(CLI::App& app, const Globals&) {
  auto o = std::make_shared<DramOpts>();
  CLI::App* sub = app.add_subcommand(
      "dram", "replay a memory trace or synthetic traffic through the DDR5 channels");
  sub->add_option("--platform", o->platform, "platform JSON file or shipped platform name")
      ->capture_default_str();
  auto* trace = sub->add_option("--trace", o->trace,
                                "trace file: Ramulator 2 'LD|ST 0x..' or DRAMSys STL "
                                "'<cycle>: read|write 0x..' lines");
  auto* pattern = sub->add_option("--pattern", o->pattern, "synthetic traffic instead of a trace")
                      ->check(CLI::IsMember({"seq", "random", "stride"}));
  trace->excludes(pattern);
  sub->add_option("--requests", o->requests, "synthetic requests")
      ->check(CLI::Range(uint64_t{1}, uint64_t{1} << 40))
      ->capture_default_str();
  sub->add_option("--write-fraction", o->write_fraction, "synthetic: share of writes")
      ->check(finite_in(0.0, 1.0))
      ->capture_default_str();
  sub->add_option("--stride", o->stride, "synthetic stride pattern: bytes between requests")
      ->capture_default_str();
  sub->add_option("--seed", o->seed, "synthetic random seed")->capture_default_str();
  sub->add_option("--report", o->report, "write the JSON report here");
  sub->add_option("--stats", o->stats,
                  "write the whole stats tree of each run here (JSON, with units and descriptions)");
  sub->add_option("--command-trace", o->cmd_trace,
                  "write every DRAM command as CSV (cycle,channel,rank,bankgroup,bank,command,row)");
  sub->add_flag("--force", o->force, "replace existing output files that pnmvp wrote");
  sub->add_flag("--json", o->json, "print the report on stdout instead of the summary");
  return [o]() -> int {
    note_cli_input(o->platform, "platform file", "--platform");
    note_cli_input(o->trace, "DRAM trace", "--trace");
    PlatformConfig pc = load_platform(resolve_platform(o->platform));
    log::info("platform", "loaded {} from {} ({} parameters)", pc.name, pc.file, pc.params.size());
    check_outputs({{"--report", o->report, true}, {"--stats", o->stats, true}, {"--command-trace", o->cmd_trace}},
                  o->force);
    std::unique_ptr<dram::CommandTraceWriter> cmds;
    if (!o->cmd_trace.empty()) cmds = std::make_unique<dram::CommandTraceWriter>(o->cmd_trace);
    std::ostream null_out(nullptr);
    std::ostream& text = o->json ? null_out : std::cout; // --json: the report alone on stdout
    text << fmt::format("platform {} ({}): {} x {} channel(s), {} rank(s), {:.1f} GB/s peak\n",
                             pc.name, pc.file, pc.dram.channels, pc.dram.spec.name,
                             pc.dram.channel.ranks,
                             pc.dram.spec.peak_gbps() * pc.dram.channels);
    StatGroup tree("dram", "pnmvp dram: each run's DRAM stats at its end");
    StatGroup& by_run = tree.group("runs", "one group per run, in order, described by its workload");
    std::vector<Run> runs;
    if (!o->trace.empty() || !o->pattern.empty()) {
      runs.push_back(run_one(pc, *o, o->pattern, o->write_fraction, cmds.get(), by_run));
    } else {
      // Built-in demo: the three questions people ask a memory system first.
      runs.push_back(run_one(pc, *o, "seq", 0.0, cmds.get(), by_run));
      runs.push_back(run_one(pc, *o, "random", 0.0, cmds.get(), by_run));
      runs.push_back(run_one(pc, *o, "random", 1.0 / 3.0, cmds.get(), by_run));
    }
    if (!o->json)
      for (const auto& r : runs) print_summary(r);
    nlohmann::ordered_json out;
    if (runs.size() == 1) {
      out = runs[0].report;
    } else {
      out["schema"] = "pnmvp.dram-demo.v1";
      out["runs"] = nlohmann::ordered_json::array();
      for (const auto& r : runs) out["runs"].push_back(r.report);
    }
    if (!o->report.empty()) {
      write_report(o->report, out, o->force);
      text << "report written to " << o->report << "\n";
    }
    if (!o->stats.empty()) {
      write_report(o->stats, stats_document(tree), o->force, "--stats");
      text << "stats written to " << o->stats << "\n";
    }
    if (o->json) std::cout << with_provenance(out).dump(2) << "\n";
    return 0;
  };
}

std::function<int()> add_params(CLI::App& app, const Globals&) {
  auto platform = std::make_shared<std::string>(kDefaultDramPlatform);
  auto system = std::make_shared<std::string>();
  CLI::App* sub = app.add_subcommand("params", "list every parameter a platform (or a system file) sets, with "
                                               "unit, range, description and source");
  sub->add_option("--platform", *platform, "platform JSON file or shipped platform name")
      ->capture_default_str();
  sub->add_option("--system", *system, "a system file or shipped system name instead: its own parameters "
                                       "(hosts, device placement, link overrides)");
  auto json = std::make_shared<bool>(false);
  sub->add_flag("--json", *json, "print the parameters as JSON (schema pnmvp.params.v1) instead of the table");
  return [platform, system, json]() -> int {
    std::string file;
    std::vector<ParamRecord> params;
    if (system->empty()) {
      const PlatformConfig pc = load_platform(resolve_platform(*platform));
      file = pc.file;
      params = pc.params;
    } else {
      const SystemConfig sc = select_system(*system, "");
      file = sc.file;
      params = sc.params;
    }
    if (*json) {
      nlohmann::ordered_json list = nlohmann::ordered_json::array();
      for (const auto& p : params)
        list.push_back({{"path", p.path},
                        {"value", param_value(p)},
                        {"unit", p.unit},
                        {"range", p.range},
                        {"description", p.description},
                        {"source", p.source}});
      nlohmann::ordered_json out = {{"schema", "pnmvp.params.v1"}, {"file", file}, {"params", std::move(list)}};
      std::cout << with_provenance(out).dump(2) << "\n";
      return 0;
    }
    for (const auto& p : params)
      std::cout << fmt::format("{:<48} {:>12} {:<8} {:<22} {}{}\n", p.path, p.value, p.unit,
                               p.range, p.description,
                               p.source.empty() ? "" : " [source: " + p.source + "]");
    return 0;
  };
}

} // namespace pnm::cli
