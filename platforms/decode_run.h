// The main job: decode-attention steps of an LLM on one host + PNM device
// (the system's first device),
// with one of the four kernels (sw/kernels), measured end to end.
//
// What is simulated in detail: `layers_simulated` layers (default 1) of the
// model, every query and KV head of them, for every sequence of the batch,
// for `steps` decode steps, with the real firmware, driver, link, DRAM and
// engine. What is multiplied: time and energy by layers / layers_simulated
// (the layers are identical in shape and run one after another). KV data is
// real (random BF16, outputs checked against the reference) when it fits in
// `functional_limit_bytes`, else the run is timing-only: the engine models
// every DRAM access and cycle but computes no values, and nothing the size
// of the KV cache is held in host RAM. The report's "scaling" says which.
#pragma once

#include "kernels/decode_kernels.h"
#include "kernels/model_shape.h"

#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace pnm {

struct DecodeRunConfig {
  std::string system;   // system file or shipped name ("": the default, pnm-ref-system)
  std::string platform; // or a device file: the default system around it
  std::string model = "llama-3.1-8b";
  uint32_t context = 32768;      // KV tokens of every sequence before the first step
  std::vector<uint32_t> contexts; // or one per sequence (then the batch is their number)
  unsigned batch = 1;
  unsigned steps = 1;
  kernels::Kernel kernel = kernels::Kernel::pnm_dense;
  uint32_t topk = 2048;      // tokens kept by pnm-topk / pnm-select
  uint32_t page_tokens = 0;  // pnm-topk: select pages of this many tokens instead of tokens
  unsigned layers_simulated = 1;
  enum class Data { automatic, functional, timing } data = Data::automatic;
  uint64_t functional_limit_bytes = 256ull << 20; // KV bytes simulated with real data (automatic)
  bool verify = true;        // functional runs: compare outputs with the reference
  std::string datapath;      // "" (platform's), "twin" or "rtl"
  std::string trace_path;    // Chrome/Perfetto trace
  std::string stats_path; // the system's whole stats tree at the end of the run
  std::string vcd_path;      // RTL datapath waves (implies the RTL datapath)
  unsigned devices = 1;      // host 0's first devices each sequence's KV is split over (0: all)
  std::string merge = "host"; // split partials merged at the "host" or on the fabric ("p2p")
  bool overwrite = false;    // trace/VCD files may replace existing ones
  uint64_t seed = 1;
};

// Runs one configuration on a fresh SystemC kernel and returns its report
// (schema pnmvp.run.v1; keys in docs/WORKLOAD.md). Throws ConfigError or
// std::invalid_argument for bad input, naming the flag and allowed range.
nlohmann::ordered_json run_decode(const DecodeRunConfig& cfg);

} // namespace pnm
