// Serving workloads (plain C++): the requests an LLM serving system is
// offered, from real traces or drawn from a seeded distribution.
//
//   Mooncake JSONL: one object a line, `timestamp` (ms from the start),
//     `input_length`, `output_length` (tokens), `hash_ids` (one id per
//     512-token prompt block; equal ids are a shared prefix block).
//   Azure LLM inference CSV: header `TIMESTAMP,ContextTokens,GeneratedTokens`,
//     timestamps as `YYYY-MM-DD HH:MM:SS[.fraction]` (arrival = time since
//     the first row).
//   Synthetic: Poisson or Gamma inter-arrival times at a given rate, lengths
//     drawn from a trace's requests (or fixed), seeded.
//
// Every reader checks what it reads: a malformed line is an error naming the
// file and line (std::runtime_error), never skipped. A request longer than
// the model's context is refused, or capped when the caller asks for it and
// marked `capped`, never silently truncated.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace pnm::serving {

struct Request {
  uint64_t id = 0;            // order in the workload, from 0
  double arrival_ms = 0;      // from the workload's start
  uint32_t input_tokens = 0;  // prompt
  uint32_t output_tokens = 0; // tokens to decode
  std::vector<uint64_t> hash_ids; // prompt blocks (Mooncake); empty when the trace has none
  bool capped = false;        // lengths were cut to fit the model's context
  uint64_t source_line = 0;   // line of the trace file (0: synthetic)
};

struct WorkloadOptions {
  size_t first_n = 0;         // keep the first N requests (0: all)
  double rate_scale = 1.0;    // arrival rate x this (arrival times / this); > 0
  uint32_t max_context = 0;   // input + output must fit (0: no limit)
  bool cap_lengths = false;   // beyond max_context: cap (true) or refuse (false)
  uint32_t block_tokens = 512; // Mooncake: tokens per hash id
};

// The format is chosen by content: a first line starting with '{' is
// Mooncake JSONL, a `TIMESTAMP,...` header the Azure CSV.
std::vector<Request> read_trace(const std::string& path, const WorkloadOptions& opt = {});
std::vector<Request> read_mooncake(const std::string& path, const WorkloadOptions& opt = {});
std::vector<Request> read_azure_csv(const std::string& path, const WorkloadOptions& opt = {});

struct SyntheticOptions {
  enum class Arrivals { poisson, gamma } arrivals = Arrivals::poisson;
  double rate_per_s = 1.0;   // mean request rate
  double gamma_cv = 1.0;     // Gamma: coefficient of variation of the gaps (1 = Poisson)
  size_t requests = 100;
  uint64_t seed = 1;
  // Lengths: drawn (with replacement) from these requests' (input, output)
  // pairs when given, else the fixed values below.
  const std::vector<Request>* lengths_from = nullptr;
  uint32_t input_tokens = 1024, output_tokens = 128;
};
// std::invalid_argument for a rate, count or cv out of range.
std::vector<Request> synthesize(const SyntheticOptions& s, const WorkloadOptions& opt = {});

// Summary figures of a workload (reports, tests).
struct WorkloadStats {
  size_t requests = 0, capped = 0;
  double duration_ms = 0;             // last arrival
  double mean_input = 0, mean_output = 0;
  double shared_block_fraction = 0;   // prompt blocks whose hash id appeared earlier
};
WorkloadStats summarize(const std::vector<Request>& reqs);

} // namespace pnm::serving
