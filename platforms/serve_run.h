// `pnmvp serve`: an LLM serving system on a system file's host GPU and PNM
// devices, replaying a request trace (or a synthetic workload) through the
// continuous-batching simulation (models/serving/serve_sim.h), with device
// costs from the VP: calibrated (a cost model `pnmvp calibrate` built from
// decode sessions, optionally spot-checked against detailed steps) or
// detailed (every device step simulated on a decode session).
#pragma once

#include "serving/request_trace.h"
#include "serving/serve_report.h"
#include "serving/serve_sim.h"

#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>

namespace pnm {

struct ServeRunConfig {
  std::string system;            // "" = pnm-ref-system
  std::string model = "llama-3.1-8b";
  std::string gpu;               // "" = the system's host GPU
  std::string gpu_ops;           // operator-table CSV (else the roofline)
  // Workload: a trace file ("" = the shipped Mooncake conversation trace),
  // or synthetic arrivals when `synthetic` is set.
  std::string workload;
  std::string synthetic;         // "" | "poisson" | "gamma"
  double rate_per_s = 1.0;       // synthetic
  double gamma_cv = 2.0;         // synthetic gamma
  size_t synthetic_requests = 200;
  uint32_t input_tokens = 0, output_tokens = 0; // synthetic fixed lengths (0: drawn from the trace)
  uint64_t seed = 1;
  size_t requests = 0;           // first N (0: all)
  double rate_scale = 1.0;
  uint32_t max_context = 0;      // 0: the model's context
  bool cap_lengths = false;      // too long: cap (else refuse)
  serving::ServeConfig sched;    // policy, scheduler knobs (memory sizes are derived here)
  std::string pnm_kernel = "dense"; // pnm policy: dense | topk
  double gpu_memory_utilization = 0.9; // vLLM's default fraction of HBM it may use
  double kv_hbm_gib = 0;         // > 0: at most this much HBM for KV (GiB), e.g. to study scarce HBM
  enum class Fidelity { calibrated, detailed } fidelity = Fidelity::calibrated;
  unsigned verify_every = 0;     // calibrated: rerun every Nth device step in detail
  std::string calibration;       // calibration file ("" = the cache)
  serving::Slo slo;
  std::string report_path, csv_path, trace_path;
  bool overwrite = false;
  bool progress = true;          // stderr progress for long runs
};

// Runs it and returns the pnmvp.serve.v1 report; writes the CSV and trace
// when asked. ConfigError / std::invalid_argument / std::runtime_error for
// bad input, naming the flag, file or line.
nlohmann::ordered_json run_serve(const ServeRunConfig& cfg);

// The default workload file (the shipped Mooncake conversation trace).
std::string default_workload();

} // namespace pnm
