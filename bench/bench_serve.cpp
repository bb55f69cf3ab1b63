// bench_serve: the speed goals of `pnmvp serve` (issue #13), measured.
//
//   ./build/bench_serve [--policy pnm] [--detailed-requests 50] [--skip-detailed]
//
// 1. A calibrated replay of the whole shipped Mooncake conversation trace
//    (12,031 requests, about an hour) for Llama-3.1-8B on one GPU and one
//    device (goal: at most 60 s wall on one core and 1 GiB).
// 2. A fully detailed run of the first N requests (goal: 50 in at most 10
//    minutes), and the same requests calibrated: their TTFT and TBT p50/p99
//    side by side (goal: within 5%).
// Each part runs in its own child process, so the peak RSS printed is its own.
// The calibration the first part needs is made (and cached) first, outside
// the timed part.
#include "common/log.h"
#include "common/rss.h"
#include "serve_run.h"

#include <sys/wait.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <fmt/format.h>

#include <chrono>
#include <cstdlib>
#include <iostream>

extern "C" int sc_main(int, char**) { return 1; }

namespace {
nlohmann::ordered_json serve(const pnm::ServeRunConfig& c) {
  pnm::ServeRunConfig q = c;
  q.progress = false;
  return pnm::run_serve(q);
}

// Runs `f` in a child; the child prints its line (with its own peak RSS).
template <typename F>
int in_child(F f) {
  std::cout.flush();
  const pid_t pid = fork();
  if (pid == 0) {
    try {
      f();
      std::cout.flush();
      _exit(0);
    } catch (const std::exception& e) {
      std::cerr << "bench_serve: " << e.what() << "\n";
      _exit(1);
    }
  }
  int status = 0;
  waitpid(pid, &status, 0);
  return WIFEXITED(status) ? WEXITSTATUS(status) : 1;
}

void line(const char* what, const nlohmann::ordered_json& r) {
  std::cout << fmt::format("{:<34} {:>6} req {:>9.1f} s simulated {:>8.1f} s wall {:>7.0f} MiB peak  TTFT p50 {:.1f} "
                           "p99 {:.1f} ms  TBT p50 {:.2f} p99 {:.2f} ms\n",
                           what, r["completed"].get<size_t>(), r["span_s"].get<double>(), r["wall_s"].get<double>(),
                           pnm::peak_rss_mib(), r["ttft_ms"]["p50"].get<double>(), r["ttft_ms"]["p99"].get<double>(),
                           r["tbt_ms"]["p50"].get<double>(), r["tbt_ms"]["p99"].get<double>());
}
} // namespace

int main(int argc, char** argv) {
  setenv("SC_COPYRIGHT_MESSAGE", "DISABLE", 1);
  CLI::App app{"bench_serve: wall time and memory of pnmvp serve"};
  std::string policy = "pnm", model = "llama-3.1-8b";
  size_t detailed_requests = 50;
  bool skip_detailed = false;
  app.add_option("--policy", policy, "KV policy (a device policy: cxl-recall, pnm, pnm-select)");
  app.add_option("--model", model, "model");
  app.add_option("--detailed-requests", detailed_requests, "requests of the detailed run");
  app.add_flag("--skip-detailed", skip_detailed, "only the calibrated replay");
  CLI11_PARSE(app, argc, argv);
  pnm::log::set_level(pnm::log::Level::warning);
  pnm::ServeRunConfig c;
  c.model = model;
  c.sched.policy = pnm::serving::parse_policy(policy);
  // The calibration, outside the timed runs.
  if (in_child([&] {
        pnm::ServeRunConfig w = c;
        w.requests = 1;
        serve(w);
      }))
    return 1;
  int rc = in_child([&] { line("calibrated, whole trace", serve(c)); });
  if (!skip_detailed) {
    pnm::ServeRunConfig d = c;
    d.requests = detailed_requests;
    rc |= in_child([&] { line(fmt::format("calibrated, first {}", detailed_requests).c_str(), serve(d)); });
    d.fidelity = pnm::ServeRunConfig::Fidelity::detailed;
    rc |= in_child([&] { line(fmt::format("detailed, first {}", detailed_requests).c_str(), serve(d)); });
  }
  return rc;
}
