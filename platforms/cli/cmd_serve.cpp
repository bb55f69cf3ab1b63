// pnmvp serve: an LLM serving system replaying a request trace on the
// system's GPU and PNM devices (platforms/serve_run.h; docs/SERVING.md).
#include "commands.h"
#include "serve_run.h"

#include <fmt/format.h>

#include <iostream>
#include <memory>

namespace pnm::cli {

namespace {
struct ServeOptions {
  ServeRunConfig cfg;
  std::string policy = "pnm";
  std::string fidelity = "calibrated";
  std::string too_long = "refuse";
  bool no_chunked = false, no_prefix = false;
  bool force = false, json = false, quiet = false;
};

void print_summary(const nlohmann::ordered_json& r, std::ostream& os) {
  auto d = [&](const char* k) { return r[k]; };
  os << fmt::format("{} on {} ({}, {}), {} device kernel, {} fidelity\n", r["model"].get<std::string>(),
                    r["system"].get<std::string>(), r["gpu"].get<std::string>(), r["policy"].get<std::string>(),
                    r["device_kernel"].get<std::string>(), r["fidelity"].get<std::string>());
  os << fmt::format("requests {} completed {} refused {}; output tokens {}\n", d("requests").get<size_t>(),
                    d("completed").get<size_t>(), d("refused").get<size_t>(), d("output_tokens").get<uint64_t>());
  os << fmt::format("{:<10} {:>10} {:>10} {:>10} {:>10}\n", "ms", "mean", "p50", "p90", "p99");
  for (const char* k : {"ttft_ms", "tbt_ms", "e2e_ms"})
    os << fmt::format("{:<10} {:>10.2f} {:>10.2f} {:>10.2f} {:>10.2f}\n", std::string(k).substr(0, std::string(k).size() - 3),
                      r[k]["mean"].get<double>(), r[k]["p50"].get<double>(), r[k]["p90"].get<double>(),
                      r[k]["p99"].get<double>());
  auto slo = [&](const char* k) {
    const double v = r["slo"][k].get<double>();
    return v > 0 ? fmt::format("{} ms", v) : std::string("none");
  };
  os << fmt::format("throughput {:.1f} output tok/s, {:.3f} req/s, goodput {:.3f} req/s (SLO TTFT {}, TBT {})\n",
                    d("output_tokens_per_s").get<double>(), d("requests_per_s").get<double>(),
                    d("goodput_requests_per_s").get<double>(), slo("ttft_ms"), slo("tbt_ms"));
  os << fmt::format("energy {:.2f} mJ per output token; link {:.3g} B, NIC {:.3g} B per output token\n",
                    d("energy_per_output_token_mj").get<double>(), d("link_bytes_per_output_token").get<double>(),
                    d("nic_bytes_per_output_token").get<double>());
  const auto& c = r["calibration"];
  if (c["verified_steps"].get<size_t>())
    os << fmt::format("calibration: {} steps verified in detail, error p50 {:.2f}% max {:.2f}%\n",
                      c["verified_steps"].get<size_t>(), 100 * c["p50_step_error"].get<double>(),
                      100 * c["max_step_error"].get<double>());
  os << fmt::format("simulated {:.1f} s in {:.1f} s wall\n", d("span_s").get<double>(), d("wall_s").get<double>());
}
} // namespace

std::function<int()> add_serve(CLI::App& app, const Globals&) {
  auto o = std::make_shared<ServeOptions>();
  ServeRunConfig& c = o->cfg;
  CLI::App* sub = app.add_subcommand("serve", "LLM serving on a request trace: continuous batching on the host GPU "
                                              "with KV in HBM, CXL memory or on the PNM devices (docs/SERVING.md)");
  sub->add_option("--system", c.system, "system file or shipped system name (default pnm-ref-system)");
  sub->add_option("--model", c.model, "model: a name in platforms/models or a JSON file")->capture_default_str();
  sub->add_option("--gpu", c.gpu, "GPU: a name in platforms/gpus or a JSON file (default: the system's host GPU)");
  sub->add_option("--gpu-ops", c.gpu_ops, "measured per-operator GPU times (CSV, docs/GPU.md) instead of the roofline");
  sub->add_option("--workload", c.workload, "request trace: Mooncake JSONL or Azure CSV (default: the shipped "
                                            "Mooncake conversation trace)");
  sub->add_option("--synthetic", c.synthetic, "synthetic arrivals instead of the trace's: poisson | gamma "
                                              "(lengths drawn from --workload unless --input/--output are given)");
  sub->add_option("--rate", c.rate_per_s, "synthetic: mean requests per second")->check(positive_finite())
      ->capture_default_str();
  sub->add_option("--cv", c.gamma_cv, "synthetic gamma: coefficient of variation of the gaps")
      ->check(positive_finite())->capture_default_str();
  sub->add_option("--synthetic-requests", c.synthetic_requests, "synthetic: number of requests")->capture_default_str();
  sub->add_option("--input", c.input_tokens, "synthetic: fixed prompt tokens (with --output)");
  sub->add_option("--output", c.output_tokens, "synthetic: fixed output tokens (with --input)");
  sub->add_option("--seed", c.seed, "synthetic: random seed")->capture_default_str();
  sub->add_option("--requests", c.requests, "take the first N requests (0: all)")->capture_default_str();
  sub->add_option("--rate-scale", c.rate_scale, "arrival rate x this (the trace's gaps / this)")
      ->check(positive_finite())->capture_default_str();
  sub->add_option("--max-context", c.max_context, "longest prompt + output (default: the model's context)");
  sub->add_option("--too-long", o->too_long, "requests beyond --max-context: refuse (an error naming the line) or "
                                             "cap (lengths cut, counted in the report)")
      ->check(CLI::IsMember({"refuse", "cap"}))->capture_default_str();
  sub->add_option("--policy", o->policy, "KV placement: hbm | cxl-recall | pnm | pnm-select | rdma-pool")
      ->check(CLI::IsMember({"hbm", "cxl-recall", "pnm", "pnm-select", "rdma-pool"}))->capture_default_str();
  sub->add_option("--pnm-kernel", c.pnm_kernel, "pnm policy: the device's attention, dense | topk")
      ->check(CLI::IsMember({"dense", "topk"}))->capture_default_str();
  sub->add_option("--topk", c.sched.topk, "tokens kept per step by top-k kernels and pnm-select")
      ->check(CLI::Range(1u, 1u << 24))->capture_default_str();
  sub->add_option("--fidelity", o->fidelity, "device costs: calibrated (a cost model built from the VP) | detailed "
                                             "(every device step simulated)")
      ->check(CLI::IsMember({"calibrated", "detailed"}))->capture_default_str();
  sub->add_option("--verify-every", c.verify_every, "calibrated: simulate every Nth device step in detail and report "
                                                    "the error (0: never)")->capture_default_str();
  sub->add_option("--calibration", c.calibration, "calibration file (default: the cache, made when missing)");
  sub->add_option("--max-batched-tokens", c.sched.max_batched_tokens, "token budget of an iteration")
      ->check(CLI::Range(1u, 1u << 22))->capture_default_str();
  sub->add_option("--max-sequences", c.sched.max_sequences, "most sequences running at once")
      ->check(CLI::Range(1u, 65536u))->capture_default_str();
  sub->add_flag("--no-chunked-prefill", o->no_chunked, "a prompt is prefilled in one iteration");
  sub->add_flag("--no-prefix-caching", o->no_prefix, "shared prompt blocks are recomputed");
  sub->add_option("--gpu-memory-utilization", c.gpu_memory_utilization, "fraction of HBM the server may use")
      ->check(finite_in(0, 1, true))->capture_default_str();
  sub->add_option("--kv-hbm-gib", c.kv_hbm_gib,
                  "at most this much HBM for KV, GiB (default: all HBM left after weights and activations)")
      ->check(finite_in(0, HUGE_VAL, true));
  sub->add_flag("--sparse-attention", c.sched.sparse_attention,
                "the model's attention is top-k sparse (DeepSeek-V3.2's DSA): the GPU attends to --topk tokens "
                "per step, as pnm-select does on the device");
  sub->add_option("--slo-ttft-ms", c.slo.ttft_ms, "goodput: time-to-first-token objective (0: none)")
      ->check(finite_in(0, HUGE_VAL))->capture_default_str();
  sub->add_option("--slo-tbt-ms", c.slo.tbt_ms, "goodput: objective on a request's mean time between tokens (0: none)")
      ->check(finite_in(0, HUGE_VAL))->capture_default_str();
  sub->add_option("--report", c.report_path, "write the JSON report (pnmvp.serve.v1) here");
  sub->add_option("--requests-csv", c.csv_path, "write one CSV row per request here");
  sub->add_option("--trace", c.trace_path, "write a Perfetto trace: one track per request");
  sub->add_flag("--force", o->force, "replace existing output files pnmvp wrote");
  sub->add_flag("--json", o->json, "print the report on stdout instead of the summary");
  sub->add_flag("--quiet", o->quiet, "print nothing (with --report)");
  return [o]() -> int {
    ServeRunConfig cfg = o->cfg;
    note_cli_input(cfg.system, "system file", "--system");
    note_cli_input(cfg.model, "model file", "--model");
    note_cli_input(cfg.gpu, "GPU file", "--gpu");
    note_cli_input(cfg.gpu_ops, "GPU operator table", "--gpu-ops");
    note_cli_input(cfg.workload, "request trace", "--workload");
    note_cli_input(cfg.calibration, "calibration file", "--calibration");
    cfg.sched.policy = serving::parse_policy(o->policy);
    cfg.fidelity = o->fidelity == "detailed" ? ServeRunConfig::Fidelity::detailed : ServeRunConfig::Fidelity::calibrated;
    cfg.cap_lengths = o->too_long == "cap";
    cfg.sched.chunked_prefill = !o->no_chunked;
    cfg.sched.prefix_caching = !o->no_prefix;
    cfg.overwrite = o->force;
    cfg.progress = !o->quiet && !o->json;
    if ((cfg.input_tokens == 0) != (cfg.output_tokens == 0))
      throw std::invalid_argument("--input and --output go together");
    if ((cfg.input_tokens || cfg.output_tokens) && cfg.synthetic.empty())
      throw std::invalid_argument("--input/--output apply to --synthetic workloads");
    const nlohmann::ordered_json r = run_serve(cfg);
    if (o->json) std::cout << r.dump(2) << "\n";
    else if (!o->quiet) {
      print_summary(r, std::cout);
      if (!cfg.report_path.empty()) std::cout << "report written to " << cfg.report_path << "\n";
    }
    return 0;
  };
}

} // namespace pnm::cli
