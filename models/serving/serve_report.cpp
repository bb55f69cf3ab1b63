#include "serving/serve_report.h"

#include "common/trace_writer.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <fstream>
#include <numeric>
#include <stdexcept>

namespace pnm::serving {

bool Slo::met(const RequestResult& r) const {
  if (!r.completed) return false;
  if (ttft_ms > 0 && r.ttft_ms() > ttft_ms) return false;
  if (tbt_ms > 0 && r.tbt_mean_ms() > tbt_ms) return false;
  return true;
}

namespace {
// p-th percentile of sorted values, linear between order statistics.
double at_sorted(const std::vector<double>& s, double p) {
  if (s.empty()) return 0;
  const double pos = std::clamp(p, 0.0, 100.0) / 100.0 * double(s.size() - 1);
  const size_t lo = size_t(std::floor(pos));
  const size_t hi = std::min(lo + 1, s.size() - 1);
  return s[lo] + (s[hi] - s[lo]) * (pos - double(lo));
}
} // namespace

double percentile(std::vector<double> v, double p) {
  std::sort(v.begin(), v.end());
  return at_sorted(v, p);
}

nlohmann::ordered_json distribution(const std::vector<double>& v) {
  nlohmann::ordered_json j;
  j["mean"] = v.empty() ? 0.0 : std::accumulate(v.begin(), v.end(), 0.0) / double(v.size());
  std::vector<double> s = v;
  std::sort(s.begin(), s.end());
  auto at = [&](double p) { return at_sorted(s, p); };
  j["p50"] = at(50);
  j["p90"] = at(90);
  j["p99"] = at(99);
  j["max"] = s.empty() ? 0.0 : s.back();
  return j;
}

nlohmann::ordered_json serve_report(const ServeResult& r, const Slo& slo, const CalibrationCheck& cal,
                                    nlohmann::ordered_json j) {
  std::vector<double> ttft, e2e, tbt_mean, tbt_max;
  size_t completed = 0, good = 0;
  double first_arrival = r.requests.empty() ? 0 : r.requests.front().arrival_ms;
  for (const RequestResult& q : r.requests) {
    first_arrival = std::min(first_arrival, q.arrival_ms);
    if (!q.completed) continue;
    ++completed;
    ttft.push_back(q.ttft_ms());
    e2e.push_back(q.e2e_ms());
    tbt_mean.push_back(q.tbt_mean_ms());
    tbt_max.push_back(q.tbt_max_ms);
    if (slo.met(q)) ++good;
  }
  // Throughput over the served span: from the first arrival to the last
  // completion (simulated).
  const double span_s = std::max(r.end_ms - first_arrival, 1e-9) / 1e3;
  j["requests"] = r.requests.size();
  j["completed"] = completed;
  j["refused"] = r.refused;
  j["output_tokens"] = r.output_tokens;
  j["ttft_ms"] = distribution(ttft);
  j["tbt_ms"] = distribution(r.tbt_ms);
  j["e2e_ms"] = distribution(e2e);
  j["tbt_mean_per_request_ms"] = distribution(tbt_mean);
  j["tbt_max_per_request_ms"] = distribution(tbt_max);
  j["span_s"] = span_s;
  j["output_tokens_per_s"] = double(r.output_tokens) / span_s;
  j["requests_per_s"] = double(completed) / span_s;
  j["goodput_requests_per_s"] = double(good) / span_s;
  j["slo"] = {{"ttft_ms", slo.ttft_ms}, {"tbt_ms", slo.tbt_ms},
              {"attained_fraction", r.requests.empty() ? 0.0 : double(good) / double(r.requests.size())}};
  const double energy_pj = total_pj(r.energy_pj);
  const double per_tok = r.output_tokens ? 1.0 / double(r.output_tokens) : 0.0;
  j["energy_per_output_token_mj"] = energy_pj * 1e-9 * per_tok;
  nlohmann::ordered_json br = nlohmann::ordered_json::object();
  for (const auto& [k, v] : r.energy_pj) br[k] = v * 1e-9 * per_tok;
  j["energy_breakdown_mj"] = br;
  j["energy_total_j"] = energy_pj * 1e-12;
  j["link_bytes"] = r.link_bytes;
  j["nic_bytes"] = r.nic_bytes;
  j["hbm_bytes"] = r.hbm_bytes;
  j["link_bytes_per_output_token"] = r.link_bytes * per_tok;
  j["nic_bytes_per_output_token"] = r.nic_bytes * per_tok;
  nlohmann::ordered_json c;
  c["verified_steps"] = cal.step_errors.size();
  c["max_step_error"] =
      cal.step_errors.empty() ? 0.0 : *std::max_element(cal.step_errors.begin(), cal.step_errors.end());
  c["p50_step_error"] = percentile(cal.step_errors, 50);
  c["p99_step_error"] = percentile(cal.step_errors, 99);
  if (!cal.step_errors.empty()) {
    const auto& w = cal.worst;
    uint64_t sum = 0;
    for (uint32_t x : w.contexts) sum += x;
    c["worst_step"] = {{"step", w.step},
                       {"batch", w.contexts.size()},
                       {"min_context", w.contexts.empty() ? 0 : *std::min_element(w.contexts.begin(), w.contexts.end())},
                       {"mean_context", w.contexts.empty() ? 0.0 : double(sum) / double(w.contexts.size())},
                       {"max_context", w.contexts.empty() ? 0 : *std::max_element(w.contexts.begin(), w.contexts.end())},
                       {"calibrated_us", w.calibrated_ns / 1e3},
                       {"detailed_us", w.detailed_ns / 1e3}};
  }
  j["calibration"] = c;
  j["iterations"] = r.iterations;
  j["prefill_tokens"] = r.prefill_tokens;
  j["prefix_hit_tokens"] = r.prefix_hit_tokens;
  j["preemptions"] = r.preemptions;
  j["prefix_evictions"] = r.evictions;
  j["gpu_busy_fraction"] = r.gpu_busy_ns / (span_s * 1e9);
  j["device_busy_fraction"] = r.device_busy_ns / (span_s * 1e9);
  const auto& d = r.decode_only;
  j["decode_only"] = {{"iterations", d.iterations},
                      {"time_fraction", span_s > 0 ? d.ns / (span_s * 1e9) : 0.0},
                      {"tokens_per_s", d.ns > 0 ? double(d.tokens) / (d.ns / 1e9) : 0.0},
                      {"energy_per_token_mj", d.tokens ? d.energy_pj / 1e9 / double(d.tokens) : 0.0}};
  nlohmann::ordered_json over = nlohmann::ordered_json::array();
  for (const Sample& s : r.samples)
    over.push_back({{"t_ms", s.t_ms}, {"batch", s.batch}, {"decode", s.decode}, {"prefill_tokens", s.prefill_tokens},
                    {"queue", s.queue}, {"hbm_occupancy", s.hbm_occupancy}, {"cxl_occupancy", s.cxl_occupancy},
                    {"iteration_ms", s.iteration_ms}});
  j["over_time"] = over;
  return j;
}

void write_requests_csv(const std::string& path, const ServeResult& r, const Slo& slo) {
  std::ofstream f(path, std::ios::trunc);
  if (!f) throw std::runtime_error(fmt::format("cannot write the requests CSV '{}'", path));
  f << "id,arrival_ms,input_tokens,output_tokens,cached_tokens,completed,ttft_ms,tbt_mean_ms,tbt_max_ms,e2e_ms,"
       "preemptions,slo_met\n";
  for (const RequestResult& q : r.requests) {
    if (q.completed)
      f << fmt::format("{},{:.6f},{},{},{},1,{:.6f},{:.6f},{:.6f},{:.6f},{},{}\n", q.id, q.arrival_ms, q.input_tokens,
                       q.output_tokens, q.cached_tokens, q.ttft_ms(), q.tbt_mean_ms(), q.tbt_max_ms, q.e2e_ms(),
                       q.preemptions, slo.met(q) ? 1 : 0);
    else
      f << fmt::format("{},{:.6f},{},{},{},0,,,,,{},0\n", q.id, q.arrival_ms, q.input_tokens, q.output_tokens,
                       q.cached_tokens, q.preemptions);
  }
  f.flush();
  if (!f) throw std::runtime_error(fmt::format("writing the requests CSV '{}' failed", path));
}

void write_serve_trace(const std::string& path, bool overwrite, const ServeResult& r, const std::string& title) {
  TraceWriter t(path, overwrite);
  constexpr double ns = 1e6; // per ms
  const int sys = t.track(title, "system");
  for (const Sample& s : r.samples)
    t.counter(sys, "batch", s.t_ms * ns,
              {{"sequences", double(s.batch)}, {"decode", double(s.decode)}, {"queue", double(s.queue)}});
  for (const Sample& s : r.samples)
    t.counter(sys, "kv_occupancy", s.t_ms * ns, {{"hbm", s.hbm_occupancy}, {"cxl", s.cxl_occupancy}});
  for (const RequestResult& q : r.requests) {
    const int tr = t.track("requests", fmt::format("request {}", q.id));
    if (q.scheduled_ms > q.arrival_ms) t.complete(tr, "queued", q.arrival_ms * ns, (q.scheduled_ms - q.arrival_ms) * ns);
    for (const auto& [a, b] : q.prefill_slices)
      t.complete(tr, "prefill", a * ns, (b - a) * ns, {{"input_tokens", q.input_tokens}, {"cached_tokens", q.cached_tokens}});
    if (q.completed && q.finish_ms > q.first_token_ms)
      t.complete(tr, "decode", q.first_token_ms * ns, (q.finish_ms - q.first_token_ms) * ns,
                 {{"output_tokens", q.output_tokens}, {"tbt_mean_ms", q.tbt_mean_ms()}, {"preemptions", q.preemptions}});
  }
  t.close();
}

} // namespace pnm::serving
