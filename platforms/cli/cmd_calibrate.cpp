// pnmvp calibrate: the serving layer's calibrated device cost, measured on
// the VP over batch x context for one kernel and saved for `pnmvp serve`
// (docs/SERVING_CALIBRATION.md); --check N compares it with the detailed
// device on N random mixed-context batches.
#include "commands.h"
#include "serve_device.h"
#include "system.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <iostream>
#include <memory>

namespace pnm::cli {

namespace {
struct CalibrateOptions {
  std::string system, model = "llama-3.1-8b", policy, kernel, out;
  uint32_t topk = 2048;
  std::vector<uint32_t> batches, contexts;
  unsigned check = 0;
  uint64_t seed = 1;
  bool force = false, json = false;
};

void print_table(const serving::CalibratedDeviceCost& c, const std::string& path, std::ostream& os) {
  const auto& id = c.identity();
  os << fmt::format("pnmvp calibrate: {} on {}, kernel {}{}, {} layers ({} simulated, scaled); {}\n", id.model,
                    id.system, id.kernel, id.topk ? fmt::format(" (top-k {})", id.topk) : "", id.layers,
                    c.layers_simulated, path);
  os << "decode step of all layers, ms (rows: batch; columns: context tokens)\n";
  os << fmt::format("{:>6}", "batch");
  for (uint32_t ctx : c.contexts()) os << fmt::format(" {:>10}", ctx);
  os << "\n";
  for (uint32_t b : c.batches()) {
    os << fmt::format("{:>6}", b);
    for (uint32_t ctx : c.contexts()) os << fmt::format(" {:>10.3f}", c.at(b, ctx).ns / 1e6);
    os << "\n";
  }
  os << fmt::format("bulk KV over CXL.mem: write {:.2f} GB/s ({:.1f} pJ/B), read {:.2f} GB/s ({:.1f} pJ/B)\n",
                    c.bulk_write().gbps, c.bulk_write().pj_per_byte.total(), c.bulk_read().gbps,
                    c.bulk_read().pj_per_byte.total());
  os << fmt::format("calibration wall time {:.1f} s\n", c.wall_s);
}
} // namespace

std::function<int()> add_calibrate(CLI::App& app, const Globals&) {
  auto o = std::make_shared<CalibrateOptions>();
  CLI::App* sub = app.add_subcommand(
      "calibrate", "measure the serving layer's device cost table (batch x context, one kernel) on the VP for pnmvp serve");
  sub->add_option("--system", o->system, "system file or shipped system name (default pnm-ref-system; its first device)");
  sub->add_option("--model", o->model, "model shape: a name in platforms/models or a JSON file")->capture_default_str();
  auto* pol = sub->add_option("--policy", o->policy, "serving policy whose kernel to calibrate: cxl-recall (host-fetch), "
                                                     "pnm (pnm-dense), pnm-select")
                  ->check(CLI::IsMember({"cxl-recall", "pnm", "pnm-select"}));
  sub->add_option("--kernel", o->kernel, "or the kernel: host-fetch, pnm-dense, pnm-topk, pnm-select (default pnm-dense)")
      ->excludes(pol);
  sub->add_option("--topk", o->topk, "tokens kept per query head by pnm-topk and pnm-select")->capture_default_str();
  add_list(sub, "--batch", o->batches, "grid batch sizes (comma list; default 1,4)");
  add_list(sub, "--context", o->contexts,
           "grid contexts in tokens (comma list; default 16, 1K, the model's longest context / 8, its longest)");
  sub->add_option("--out", o->out, "calibration file (default $XDG_CACHE_HOME/pnmvp/calibration-<system>-<model>-"
                                   "<kernel>[-topkN].json, else under ~/.cache/pnmvp)");
  sub->add_option("--check", o->check,
                  "compare the calibration (the file's if it matches, else measured now) with the detailed device "
                  "on N random mixed-context batches and print the errors")
      ->check(CLI::Range(1u, 100000u));
  sub->add_option("--seed", o->seed, "random seed of --check's batches")->capture_default_str();
  sub->add_flag("--force", o->force, "replace an existing --out file pnmvp wrote (a calibration is replaced without it)");
  sub->add_flag("--json", o->json, "print the calibration file's JSON on stdout instead of the table");
  return [o]() -> int {
    const kernels::Kernel k = !o->policy.empty() ? serving::kernel_for_policy(o->policy)
                              : !o->kernel.empty() ? kernels::parse_kernel(o->kernel)
                                                   : kernels::Kernel::pnm_dense;
    const bool topk_used = k == kernels::Kernel::pnm_topk || k == kernels::Kernel::pnm_select;
    if (topk_used && (o->topk < 1 || o->topk > (1u << 24)))
      throw std::invalid_argument(fmt::format("--topk {} is outside [1, {}]", o->topk, 1u << 24));
    note_cli_input(o->system, "system file", "--system");
    note_cli_input(o->model, "model file", "--model");
    const SystemConfig sysc = select_system(o->system, "");
    const kernels::ModelShape m = kernels::load_model_shape(o->model);
    const std::string path =
        o->out.empty() ? serving::default_calibration_path(sysc.name, m.name, k, topk_used ? o->topk : 0) : o->out;
    auto progress = [](const std::string& line) { std::cerr << line << "\n"; };
    const serving::CalibratedDeviceCost* cal = nullptr;
    serving::CalibratedDeviceCost measured;
    if (o->check && o->batches.empty() && o->contexts.empty()) {
      cal = &serving::calibration_for(o->system, o->model, k, o->topk, o->out, progress); // "": the cache
    } else {
      // Refuse an input or a file pnmvp did not write before minutes of measuring
      // (its folder, made when missing, is made first).
      const std::filesystem::path parent = std::filesystem::path(path).parent_path();
      if (!parent.empty()) std::filesystem::create_directories(parent);
      check_output(path, "--out", o->force, /*replace_report=*/true);
      serving::CalibrateConfig cc;
      cc.system = o->system;
      cc.model = o->model;
      cc.kernel = k;
      cc.topk = o->topk;
      cc.batches = o->batches;
      cc.contexts = o->contexts;
      cc.progress = progress;
      measured = serving::calibrate(cc);
      measured.save(path, o->force, "--out");
      cal = &measured;
    }
    if (o->json) std::cout << cal->to_json().dump(2) << "\n";
    else print_table(*cal, path, std::cout);
    if (o->check) {
      const auto pts = serving::check_calibration(*cal, o->system, m, k, o->topk, o->check, o->seed, progress);
      std::vector<double> t, e;
      for (const auto& p : pts) {
        t.push_back(std::abs(p.ns_error));
        e.push_back(std::abs(p.energy_error));
      }
      std::sort(t.begin(), t.end());
      std::sort(e.begin(), e.end());
      auto out = o->json ? &std::cerr : &std::cout;
      *out << fmt::format("check: {} random mixed-context batches (batch {}..{}, context {}..{}): |error| of the step "
                          "time p50 {:.2f}% max {:.2f}%, of its energy p50 {:.2f}% max {:.2f}%\n",
                          pts.size(), cal->batches().front(), cal->batches().back(), cal->contexts().front(),
                          cal->contexts().back(), 100 * t[t.size() / 2], 100 * t.back(), 100 * e[e.size() / 2],
                          100 * e.back());
    }
    return 0;
  };
}

} // namespace pnm::cli
