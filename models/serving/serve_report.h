// What a serving run reports (plain C++): the pnmvp.serve.v1 JSON document
// (keys in docs/SERVING.md), one CSV row per request, and the Perfetto
// timeline (one track per request: queued, prefill and decode slices; plus
// counters of batch, queue and KV occupancy).
#pragma once

#include "serving/serve_sim.h"

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace pnm::serving {

struct Slo {
  double ttft_ms = 0; // 0: no objective
  double tbt_ms = 0;  // on a request's mean time between tokens (TPOT), as DistServe counts goodput
  bool met(const RequestResult& r) const;
};

// p in [0, 100], linear interpolation between order statistics (numpy's
// default); 0 for an empty set.
double percentile(std::vector<double> v, double p);
// {"mean", "p50", "p90", "p99", "max"}
nlohmann::ordered_json distribution(const std::vector<double>& v);

struct CalibrationCheck {
  std::vector<double> step_errors; // |calibrated - detailed| / detailed per verified device step
  // The verified step with the largest error, for finding where the table is
  // weakest (its batch's contexts on the device, and both times).
  struct Worst {
    uint64_t step = 0; // device step number (1, 2, ...)
    std::vector<uint32_t> contexts;
    double calibrated_ns = 0, detailed_ns = 0;
  } worst;
};

// The report's figures from the simulation; `context` holds the
// configuration keys the caller adds first (system, model, policy, ...).
nlohmann::ordered_json serve_report(const ServeResult& r, const Slo& slo, const CalibrationCheck& cal,
                                    nlohmann::ordered_json context);

// One row per request (header first). Throws std::runtime_error naming the
// path when it cannot be written; the caller checks the path beforehand.
void write_requests_csv(const std::string& path, const ServeResult& r, const Slo& slo);

// The Perfetto/Chrome trace (TraceWriter; `overwrite` as for --trace).
void write_serve_trace(const std::string& path, bool overwrite, const ServeResult& r, const std::string& title);

} // namespace pnm::serving
