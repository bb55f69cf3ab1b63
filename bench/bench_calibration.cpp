// bench_calibration: wall seconds per simulated step of the serving layer's
// detailed device (what `pnmvp serve --fidelity detailed` pays per decode
// step), at batch x context points, and the calibrated table's time per
// step lookup for comparison.
//
//   ./build/bench_calibration [--model llama-3.1-8b] [--kernel pnm-dense] [--batches 1,8,32] [--contexts 8192,32768]
//                             [--calibration FILE]
//
// With --calibration (a `pnmvp calibrate` file of the same system, model
// and kernel) it also prints the table's step time and its error against
// the detailed step, outside the table's batch range too.
//
// Each point admits `batch` sequences at `context` tokens on one detailed
// device (timing-only, one simulated layer scaled to the model's), steps
// once to warm up and times the second step.
#include "common/log.h"
#include "serve_device.h"

#include <CLI/CLI.hpp>
#include <fmt/format.h>

#include <chrono>
#include <cstdlib>
#include <iostream>
#include <memory>
#include <sstream>

extern "C" int sc_main(int, char**) { return 1; }

namespace {
std::vector<uint32_t> numbers(const std::string& s) {
  std::vector<uint32_t> v;
  std::stringstream ss(s);
  for (std::string item; std::getline(ss, item, ',');) v.push_back(static_cast<uint32_t>(std::stoul(item)));
  return v;
}
} // namespace

int main(int argc, char** argv) {
  setenv("SC_COPYRIGHT_MESSAGE", "DISABLE", 1);
  CLI::App app{"bench_calibration: wall seconds per simulated step of the detailed serving device"};
  std::string model = "llama-3.1-8b", kernel = "pnm-dense", batches = "1,8,32", contexts = "8192,32768", system;
  uint32_t topk = 2048;
  app.add_option("--model", model, "model shape");
  app.add_option("--kernel", kernel, "kernel");
  app.add_option("--topk", topk, "top-k of pnm-topk / pnm-select");
  app.add_option("--system", system, "system (default pnm-ref-system)");
  app.add_option("--batches", batches, "comma-separated batch sizes");
  app.add_option("--contexts", contexts, "comma-separated context lengths");
  std::string calibration;
  app.add_option("--calibration", calibration, "a calibration file to compare with");
  CLI11_PARSE(app, argc, argv);
  pnm::log::set_level(pnm::log::Level::warning);
  try {
    const pnm::kernels::ModelShape m = pnm::kernels::load_model_shape(model);
    const pnm::kernels::Kernel k = pnm::kernels::parse_kernel(kernel);
    std::unique_ptr<pnm::serving::CalibratedDeviceCost> cal;
    if (!calibration.empty()) {
      cal = std::make_unique<pnm::serving::CalibratedDeviceCost>(pnm::serving::CalibratedDeviceCost::load(calibration));
      if (cal->identity().kernel != kernel || cal->identity().model != m.name)
        throw std::invalid_argument(fmt::format("{} is for {} / {}, not {} / {}", calibration, cal->identity().model,
                                                cal->identity().kernel, m.name, kernel));
    }
    fmt::print("{:>6} {:>9} {:>12} {:>14} {:>14}{}\n", "batch", "context", "kernel", "wall_s/step", "sim_ms/step",
               cal ? fmt::format(" {:>14} {:>9}", "table_ms/step", "error") : "");
    for (uint32_t c : numbers(contexts))
      for (uint32_t b : numbers(batches)) {
        pnm::serving::DetailedDevice dev(system, m, k, topk);
        std::vector<uint64_t> ids;
        for (uint32_t i = 0; i < b; ++i) {
          dev.admit(i, c - 1, c + 1);
          ids.push_back(i);
        }
        dev.step(ids);
        const auto t0 = std::chrono::steady_clock::now();
        const pnm::serving::DeviceStepCost cost = dev.step(ids);
        const double wall = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
        std::string extra;
        if (cal) {
          const double t = cal->step(std::vector<uint32_t>(b, c)).ns;
          extra = fmt::format(" {:>14.3f} {:>+8.2f}%", t / 1e6, 100 * (t - cost.ns) / cost.ns);
        }
        fmt::print("{:>6} {:>9} {:>12} {:>14.3f} {:>14.3f}{}\n", b, c, kernel, wall, cost.ns / 1e6, extra);
        std::fflush(stdout);
      }
  } catch (const std::exception& e) {
    std::cerr << "bench_calibration: " << e.what() << "\n";
    return 1;
  }
  return 0;
}
