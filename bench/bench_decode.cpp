// bench_decode: wall-clock seconds per simulated decode step, and peak RSS,
// for the main job (`pnmvp run`) at 32K, 128K and 1M tokens of context.
//
//   ./build/bench_decode [--model llama-3.1-8b] [--kernel pnm-dense] [--contexts 32768,131072,1048576]
//
// Each point is one `run_decode` (one simulated layer, batch 1, one step,
// timing-only beyond the functional-data limit), as `pnmvp run` does it, in
// its own child process so that the peak RSS printed is that point's alone.
#include "common/log.h"
#include "common/rss.h"
#include "decode_run.h"

#include <sys/wait.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <fmt/format.h>

#include <cstdlib>
#include <iostream>
#include <sstream>

extern "C" int sc_main(int, char**) { return 1; }

int main(int argc, char** argv) {
  setenv("SC_COPYRIGHT_MESSAGE", "DISABLE", 1);
  CLI::App app{"bench_decode: wall seconds per simulated decode step"};
  std::string model = "llama-3.1-8b", kernel = "pnm-dense", contexts = "32768,131072,1048576", platform = "pnm-ref";
  app.add_option("--model", model, "model shape");
  app.add_option("--kernel", kernel, "kernel");
  app.add_option("--platform", platform, "platform");
  app.add_option("--contexts", contexts, "comma-separated context lengths");
  CLI11_PARSE(app, argc, argv);
  pnm::log::install_report_handler();
  pnm::log::set_level(pnm::log::Level::warning);
  try {
    fmt::print("{:>10} {:>12} {:>14} {:>14} {:>12} {:>10}\n", "context", "kernel", "wall_s/step", "sim_us/step",
               "data", "rss_MiB");
    std::stringstream ss(contexts);
    for (std::string item; std::getline(ss, item, ',');) {
      pnm::DecodeRunConfig c;
      c.platform = platform;
      c.model = model;
      c.kernel = pnm::kernels::parse_kernel(kernel);
      c.context = static_cast<uint32_t>(std::stoul(item));
      std::fflush(stdout);
      const pid_t pid = fork();
      if (pid == 0) {
        try {
          const auto r = pnm::run_decode(c);
          fmt::print("{:>10} {:>12} {:>14.3f} {:>14.1f} {:>12} {:>10.1f}\n", c.context, kernel,
                     r["wall_s"].get<double>() / c.steps, r["step_latency_us"].get<double>(),
                     r["scaling"]["data"].get<std::string>(), pnm::peak_rss_mib());
          std::fflush(stdout);
          _exit(0);
        } catch (const std::exception& e) {
          std::cerr << "bench_decode: " << e.what() << "\n";
          _exit(1);
        }
      }
      int status = 0;
      waitpid(pid, &status, 0);
      if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) return 1;
    }
  } catch (const std::exception& e) {
    std::cerr << "bench_decode: " << e.what() << "\n";
    return 1;
  }
  return 0;
}
