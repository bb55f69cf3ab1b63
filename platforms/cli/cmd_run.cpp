// pnmvp run: the main job. Decode-attention steps of an LLM on the
// reference device with each kernel (or the one asked for), printed as a
// comparison table and written as a JSON report (docs/WORKLOAD.md).
#include "commands.h"
#include "common/report.h"
#include "decode_run.h"
#include "system.h"

#include <fmt/format.h>

#include <iostream>
#include <memory>

namespace pnm::cli {

namespace {
struct RunOptions {
  DecodeRunConfig cfg;
  std::vector<std::string> kernels;
  std::vector<uint32_t> contexts{32768};
  std::string data = "auto";
  std::string report;
  bool force = false;
  bool json = false;
  bool quiet = false;
};

std::string si_bytes(double b) {
  const char* unit[] = {"B", "KB", "MB", "GB", "TB"};
  int i = 0;
  while (b >= 1000 && i < 4) {
    b /= 1000;
    ++i;
  }
  return fmt::format("{:.3g} {}", b, unit[i]);
}

void print_table(const std::vector<nlohmann::ordered_json>& runs, std::ostream& os) {
  const auto& f = runs.front();
  std::string ctx;
  for (const auto& q : f["sequences"]) {
    const auto a = q["context_start"].get<uint64_t>(), b = q["context_end"].get<uint64_t>();
    const std::string one = a + 1 == b ? std::to_string(a) : fmt::format("{}..{}", a, b - 1);
    if (ctx.find(one) == std::string::npos) ctx += (ctx.empty() ? "" : ",") + one;
  }
  os << fmt::format("pnmvp run: {} on {}, context {} tokens (+1 decoded per step), batch {}, {} step(s)\n",
                    f["model"].get<std::string>(), f["platform"].get<std::string>(), ctx, f["batch"].get<uint64_t>(),
                    f["steps"].get<uint64_t>());
  os << fmt::format("{:<11} {:>10} {:>12} {:>14} {:>15} {:>9} {:>12} {:>8}\n", "kernel", "tokens/s", "step ms",
                    "energy/tok mJ", "link bytes/tok", "DRAM util", "ctrl instr", "wall s");
  for (const auto& r : runs)
    os << fmt::format("{:<11} {:>10.2f} {:>12.3f} {:>14.3f} {:>15} {:>8.1f}% {:>12} {:>8.2f}\n",
                      r["kernel"].get<std::string>(), r["tokens_per_s"].get<double>(),
                      r["step_latency_us"].get<double>() / 1e3, r["energy_per_token_uj"].get<double>() / 1e3,
                      si_bytes(r["link_bytes_per_token"].get<double>()),
                      100 * r["dram_bandwidth_utilization"].get<double>(),
                      r["controller"]["instructions_retired"].get<uint64_t>(), r["wall_s"].get<double>());
  const nlohmann::ordered_json* base = nullptr;
  for (const auto& r : runs)
    if (r["kernel"] == "host-fetch") base = &r;
  if (base && runs.size() > 1) {
    os << "relative to host-fetch (x < 1 is less):\n";
    for (const auto& r : runs) {
      if (&r == base) continue;
      os << fmt::format("  {:<11} link bytes x{:<8.3g} tokens/s x{:<8.3g} energy per token x{:.3g}\n",
                        r["kernel"].get<std::string>(),
                        r["link_bytes_per_token"].get<double>() / (*base)["link_bytes_per_token"].get<double>(),
                        r["tokens_per_s"].get<double>() / (*base)["tokens_per_s"].get<double>(),
                        r["energy_per_token_uj"].get<double>() / (*base)["energy_per_token_uj"].get<double>());
    }
  }
  os << "scaling: " << f["scaling"]["what"].get<std::string>() << "\n";
}
} // namespace

std::function<int()> add_run(CLI::App& app, const Globals&) {
  auto o = std::make_shared<RunOptions>();
  CLI::App* sub = app.add_subcommand(
      "run", "the main job: LLM decode attention on the PNM device with each kernel, per-token throughput and energy");
  DecodeRunConfig& c = o->cfg;
  sub->add_option("--system", c.system, "system file or shipped system name (default pnm-ref-system; runs on its first device)");
  sub->add_option("--platform", c.platform, "device file or shipped name: the default system with this device");
  sub->add_option("--model", c.model, "model shape: a name in platforms/models or a JSON file")->capture_default_str();
  add_list(sub, "--context", o->contexts,
           "KV tokens of each sequence before the first step: one length for the whole batch, or a comma list, "
           "one per sequence (the batch is then their number)");
  sub->add_option("--batch", c.batch, "sequences decoded together")->capture_default_str();
  sub->add_option("--steps", c.steps, "decode steps simulated; each appends a token to every sequence")
      ->capture_default_str();
  add_list(sub, "--kernel", o->kernels,
           "host-fetch, pnm-dense, pnm-topk, pnm-select (repeat or comma-separate; default: all four)");
  sub->add_option("--topk", c.topk, "tokens kept per query head by pnm-topk and pnm-select")->capture_default_str();
  sub->add_option("--page-tokens", c.page_tokens, "pnm-topk selects pages of this many tokens (topk/page of them)");
  sub->add_option("--layers-simulated", c.layers_simulated,
                  "layers simulated in detail; time and energy are multiplied up to the model's layers")
      ->capture_default_str();
  sub->add_option("--data", o->data,
                  "auto: real KV data up to 256 MiB of simulated KV, else timing-only; functional; timing")
      ->check(CLI::IsMember({"auto", "functional", "timing"}))
      ->capture_default_str();
  sub->add_option("--datapath", c.datapath, "engine datapath: model (C++ twin) or rtl (Verilated)")
      ->check(CLI::IsMember({"model", "twin", "rtl"}));
  sub->add_option("--seed", c.seed, "random seed of the KV data and queries")->capture_default_str();
  sub->add_option("--devices", c.devices,
                  "split each sequence's KV by token ranges over the first host's first N devices (0: all; "
                  "pnm-dense), e.g. on switch-x8")
      ->capture_default_str();
  sub->add_option("--merge", c.merge,
                  "how split partials are merged: host (every partial crosses the host port) or p2p (pushed to a "
                  "root device through the switch, merged there)")
      ->check(CLI::IsMember({"host", "p2p"}))
      ->capture_default_str();
  sub->add_option("--report", o->report, "write the JSON report here");
  sub->add_option("--trace", c.trace_path, "write a Chrome/Perfetto trace (jobs, firmware, DRAM and link rates)");
  sub->add_option("--stats", c.stats_path,
                  "write the system's whole stats tree (every block's counters and energy, with units and "
                  "descriptions) at the end of the run");
  sub->add_option("--vcd", c.vcd_path, "write the Verilated datapath's waves (uses the RTL datapath)");
  sub->add_flag("--force", o->force, "replace existing --report/--trace/--vcd/--stats files that pnmvp wrote");
  sub->add_flag("--json", o->json, "print the report on stdout instead of the table");
  sub->add_flag("--quiet", o->quiet, "print nothing (with --report)");
  return [o]() -> int {
    std::vector<kernels::Kernel> ks;
    for (const std::string& k : o->kernels) ks.push_back(kernels::parse_kernel(k));
    if (ks.empty()) ks = kernels::all_kernels();
    if (ks.size() > 1 && (!o->cfg.trace_path.empty() || !o->cfg.vcd_path.empty() || !o->cfg.stats_path.empty()))
      throw std::invalid_argument("--trace, --vcd and --stats record one run: give one --kernel");
    o->cfg.data = o->data == "functional" ? DecodeRunConfig::Data::functional
                  : o->data == "timing"   ? DecodeRunConfig::Data::timing
                                          : DecodeRunConfig::Data::automatic;
    o->cfg.overwrite = o->force;
    if (o->contexts.size() == 1) o->cfg.context = o->contexts.front();
    else o->cfg.contexts = o->contexts;
    note_target_inputs(o->cfg.system, o->cfg.platform);
    note_cli_input(o->cfg.model, "model file", "--model");
    // A bad system, device or model file fails before the first run; loading
    // them notes every file they include as an input too.
    select_system(o->cfg.system, o->cfg.platform);
    kernels::load_model_shape(o->cfg.model);
    // Every output is checked before anything runs (and again when written).
    check_outputs({{"--report", o->report, true},
                   {"--trace", o->cfg.trace_path},
                   {"--stats", o->cfg.stats_path, true},
                   {"--vcd", o->cfg.vcd_path}},
                  o->force);
    std::vector<nlohmann::ordered_json> runs;
    for (kernels::Kernel k : ks) {
      DecodeRunConfig c = o->cfg;
      c.kernel = k;
      if (!o->quiet && !o->json && ks.size() > 1)
        std::cerr << fmt::format("running {} ...\n", kernels::kernel_name(k));
      runs.push_back(run_decode(c));
    }
    nlohmann::ordered_json report;
    if (runs.size() == 1) {
      report = runs.front();
    } else {
      report["schema"] = "pnmvp.run.v1";
      report["runs"] = runs;
    }
    if (!o->report.empty()) write_report(o->report, report, o->force);
    if (o->json) std::cout << report.dump(2) << "\n";
    else if (!o->quiet) {
      print_table(runs, std::cout);
      if (!o->report.empty()) std::cout << "report written to " << o->report << "\n";
    }
    return 0;
  };
}

} // namespace pnm::cli
