// The serving simulation (plain C++): requests arrive, an iteration-level
// continuous-batching scheduler (vLLM's) forms each iteration's batch, and
// the system's cost models say how long the iteration takes and what it
// spends. Time advances by whole iterations (and jumps over idle gaps to the
// next arrival or transfer), so an hour of trace replays in seconds.
//
// Scheduler, per iteration (vLLM v1 with chunked prefill):
//   1. running sequences in admission order: a decoding one takes 1 token of
//      the token budget, a prefilling one its next chunk (the rest of the
//      budget); each needs KV room for the tokens it adds, and when there is
//      none the most recently admitted running sequence is preempted (its KV
//      freed, it goes back to the head of the queue and recomputes prompt +
//      generated tokens when readmitted);
//   2. if nothing was preempted, waiting requests in arrival order, while the
//      budget, the sequence limit and KV room last; a prompt's leading blocks
//      found in the prefix cache are referenced, not recomputed.
// A request's first token appears at the end of the iteration that completes
// its prompt; each later iteration that includes it adds one token.
//
// KV policies (where KV lives, how attention reads it):
//   hbm         HBM only; GPU attention.
//   cxl-recall  HBM, then CXL; each step the CXL part is read back over the
//               link (host-fetch), then the GPU attends over all of it.
//   pnm         HBM, then CXL; the devices attend over the CXL part while the
//               GPU attends over the HBM part; partials merged.
//   pnm-select  CXL only (the KV pool is CXL); the devices select the top-k
//               tokens, the host reads only those rows, the GPU attends.
//   rdma-pool   KV of running sequences in HBM; the prefix cache is a remote
//               pool: a prompt's cached blocks are copied whole into HBM over
//               the NIC before the request proceeds, and computed blocks are
//               written back to the pool in the background.
#pragma once

#include "serving/kv_cache.h"
#include "serving/request_trace.h"

#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <vector>

namespace pnm::serving {

enum class Policy { hbm, cxl_recall, pnm, pnm_select, rdma_pool };
const char* policy_name(Policy p);
Policy parse_policy(const std::string& s); // std::invalid_argument listing the choices
std::vector<Policy> all_policies();

// Energy by class, pJ ("gpu_compute", "hbm", "link", "dram_rd_wr", ...).
using Energy = std::map<std::string, double>;
double total_pj(const Energy& e); // sum over classes

// One prefill chunk of the GPU's work.
struct ChunkWork {
  uint32_t tokens = 0;          // new prompt tokens
  uint64_t context_before = 0;  // KV tokens already there
  uint64_t hbm_context = 0;     // of which the GPU reads from HBM
};
struct GpuWork {
  std::vector<ChunkWork> prefill;
  std::vector<uint64_t> decode_hbm_tokens; // per decoding sequence: KV tokens the GPU reads from HBM
  uint32_t decode_sequences = 0;
};
struct GpuPart {
  double linear_ns = 0, attention_ns = 0, other_ns = 0;
  double hbm_bytes = 0;
  Energy energy;
};
// One device's part of a decode step: each sequence's KV tokens on it.
struct DeviceSeq {
  uint64_t request = 0;
  uint64_t tokens = 0;
  uint64_t reserve = 0; // the most it may grow to (prompt + output)
};
struct DevicePart {
  double ns = 0;
  double link_bytes = 0;
  Energy energy;
};

// What the simulator asks of the system it serves on. Implementations: the
// VP-backed one (calibrated or detailed device costs, roofline or table GPU
// costs, the NIC model), and simple ones in tests.
class ServeBackend {
public:
  virtual ~ServeBackend() = default;
  virtual unsigned devices() const = 0;
  virtual GpuPart gpu(const GpuWork& w) = 0;
  // One decode step of the model (all layers) over these sequences' KV on
  // device `dev` with the policy's kernel.
  virtual DevicePart device_step(unsigned dev, const std::vector<DeviceSeq>& seqs) = 0;
  // Bulk KV over CXL.mem for all layers: prefill writing new KV, reading a
  // prefix back for a prefill's attention.
  virtual DevicePart device_bulk(unsigned dev, uint64_t write_bytes, uint64_t read_bytes) = 0;
  // A sequence left the device (finished or preempted).
  virtual void device_release(unsigned /*dev*/, uint64_t /*request*/) {}
  // The NIC (rdma-pool): processor-shared transfers.
  virtual uint64_t nic_start(double now_ns, uint64_t bytes) = 0;
  virtual double nic_next_ns() const = 0;               // +inf when idle
  virtual std::vector<uint64_t> nic_advance(double now_ns) = 0;
  virtual Energy nic_energy() const = 0;                // so far
  virtual double nic_bytes() const = 0;
};

struct ServeConfig {
  Policy policy = Policy::pnm;
  // Scheduler (vLLM's defaults where it has them).
  uint32_t max_batched_tokens = 8192; // token budget per iteration
  uint32_t max_sequences = 256;       // running sequences
  bool chunked_prefill = true;
  bool prefix_caching = true;
  uint32_t block_tokens = 16;         // KV allocation unit
  uint32_t prefix_block_tokens = 512; // tokens per hash id (Mooncake)
  uint32_t topk = 2048;               // pnm-select (and pnm with top-k): tokens kept per step
  // The model's attention is top-k sparse (DeepSeek-V3.2's DSA): the GPU's
  // decode attention over HBM-resident KV reads min(context, topk) tokens.
  bool sparse_attention = false;
  // Memory, in bytes (the caller derives them from the GPU, model and devices).
  uint64_t kv_bytes_per_token = 0;    // all layers
  uint64_t hbm_kv_bytes = 0;          // HBM left for KV
  std::vector<uint64_t> cxl_kv_bytes; // per device
  // Results over time: at most this many samples (every k-th iteration).
  size_t max_samples = 2000;
  // Called every ~`progress_every_s` of wall time (stderr progress).
  std::function<void(double sim_ms, size_t done, size_t total)> progress;
  double progress_every_s = 2.0;
};

struct RequestResult {
  uint64_t id = 0;
  double arrival_ms = 0;
  uint32_t input_tokens = 0, output_tokens = 0;
  uint64_t cached_tokens = 0;  // prompt tokens found in the prefix cache (first admission)
  double scheduled_ms = -1;    // first admitted into a batch
  double first_token_ms = -1;
  double finish_ms = -1;
  double tbt_sum_ms = 0, tbt_max_ms = 0;
  uint32_t tokens_out = 0;
  uint32_t preemptions = 0;
  bool completed = false;
  std::vector<std::pair<double, double>> prefill_slices; // [start, end) ms of iterations with its prefill
  double ttft_ms() const { return first_token_ms - arrival_ms; }
  double e2e_ms() const { return finish_ms - arrival_ms; }
  double tbt_mean_ms() const { return tokens_out > 1 ? tbt_sum_ms / (tokens_out - 1) : 0; }
};

struct Sample {
  double t_ms = 0;
  uint32_t batch = 0, decode = 0, prefill_tokens = 0;
  size_t queue = 0;
  double hbm_occupancy = 0, cxl_occupancy = 0; // fractions of KV capacity
  double iteration_ms = 0;
};

struct ServeResult {
  std::vector<RequestResult> requests;
  std::vector<Sample> samples;
  std::vector<double> tbt_ms;          // every inter-token gap
  double end_ms = 0;                   // simulated time at the last completion
  uint64_t iterations = 0, output_tokens = 0, prefill_tokens = 0;
  uint64_t preemptions = 0, prefix_hit_tokens = 0, evictions = 0;
  Energy energy_pj;
  double link_bytes = 0, nic_bytes = 0, hbm_bytes = 0;
  double gpu_busy_ns = 0, device_busy_ns = 0;
  // Iterations with no prefill work: the decode phase on its own, as papers
  // that measure decode throughput and energy per token report it.
  struct DecodeOnly {
    uint64_t iterations = 0, tokens = 0;
    double ns = 0, energy_pj = 0;
  } decode_only;
  size_t refused = 0;                  // requests that can never fit in KV memory
};

// Runs the whole workload. std::invalid_argument for a bad configuration.
ServeResult simulate(const std::vector<Request>& requests, const ServeConfig& cfg, ServeBackend& backend);

} // namespace pnm::serving
