// The host GPU's cost of one serving iteration (plain C++): every operator
// of the whole model step (projections, FFN, attention, norms, lm_head) for
// the batch the scheduler formed, by a roofline with sourced efficiencies or
// from a measured per-operator table (docs/GPU.md).
//
// A GPU file (schema pnmvp.gpu.v1, platforms/gpus/<name>.json) gives HBM
// capacity and bandwidth, dense BF16 tensor FLOP/s, power, achievable
// efficiencies, energy per FLOP and per HBM byte, and the per-kernel launch
// overhead, each value with unit, range and source.
#pragma once

#include "serving/model_arch.h"

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace pnm::serving {

struct GpuSpec {
  std::string name;
  std::string file;
  std::string source;
  uint64_t hbm_bytes = 0;          // HBM capacity
  double hbm_gbps = 0;             // HBM bandwidth, GB/s (1e9 B/s)
  double bf16_tflops = 0;          // dense BF16 tensor peak, TFLOP/s
  double tdp_w = 0;                // board power limit
  double idle_w = 0;               // board power when idle (static energy)
  double matmul_efficiency = 0;    // achieved fraction of bf16_tflops in large GEMMs
  double memory_efficiency = 0;    // achieved fraction of hbm_gbps in streaming kernels
  double pj_per_flop = 0;          // dynamic energy per FLOP
  double pj_per_hbm_byte = 0;      // dynamic energy per HBM byte moved
  double launch_overhead_us = 0;   // per kernel
};

// The folder bare GPU names resolve in: $PNMVP_GPUS if set, else
// <platforms>/gpus (models/common/resources.h finds the platforms folder).
std::string gpus_dir();
// Bare names of the GPU files in gpus_dir(), sorted.
std::vector<std::string> available_gpus();
// A bare name ("h100-sxm") is gpus_dir()/<name>.json; anything with a '/' or
// ending in ".json" is a path. Throws pnm::ConfigError naming the file, key
// and allowed range, or for an unknown name the available GPUs.
GpuSpec load_gpu(const std::string& name_or_path);

// One iteration's work on the GPU.
struct PrefillChunk {
  uint32_t tokens = 0;         // new prompt tokens of one sequence
  uint32_t context_before = 0; // its KV tokens already there (read from HBM)
};
struct BatchWork {
  std::vector<PrefillChunk> prefill;       // sequences prefilling in this iteration
  std::vector<uint64_t> decode_hbm_tokens; // per decoding sequence: KV tokens the GPU's attention reads from HBM (0: none)
  uint32_t decode_sequences = 0;           // decoding sequences (1 new token each), incl. those whose attention runs elsewhere
};

struct GpuCost {
  double ns = 0;                                        // whole iteration (= linear + attention + other)
  double linear_ns = 0, attention_ns = 0, other_ns = 0; // projections+FFN+lm_head; attention; norms, activations, embedding, sampling
  double flops = 0, hbm_bytes = 0;
  double compute_pj = 0, hbm_pj = 0, static_pj = 0;     // static: idle power x time
};

class GpuCostModel {
public:
  virtual ~GpuCostModel() = default;
  virtual GpuCost step(const BatchWork& w) const = 0;
  virtual std::string describe() const = 0; // for reports: "roofline (...)" or "operator table FILE"
};

std::unique_ptr<GpuCostModel> make_roofline(const GpuSpec& gpu, const ModelArch& arch);
// Times from a per-operator CSV (docs/GPU.md); FLOPs, bytes and energy as
// the roofline counts them. Throws std::runtime_error naming file and line.
std::unique_ptr<GpuCostModel> make_operator_table(const std::string& csv_path, const GpuSpec& gpu,
                                                  const ModelArch& arch);

// The operators of one iteration, as both models cost them. `size` is what
// the table is indexed by: tokens for projections, norms and activations;
// logits rows for lm_head and sampler; KV tokens read for decode attention;
// causal query-key pairs for prefill attention. Per-layer operators run
// `layers` times.
enum class OpClass { linear, attention, other };
struct GpuOp {
  const char* name;
  OpClass cls;
  bool per_layer;
  double size;
  double flops; // one instance (one layer)
  double bytes; // one instance (one layer)
};
std::vector<GpuOp> iteration_ops(const ModelArch& arch, const BatchWork& w);
// Every operator name a table must give, in the order iteration_ops lists them.
const std::vector<std::string>& operator_names();

// The roofline time of one operator instance, ns (what the table stores).
double roofline_op_ns(const GpuSpec& gpu, const GpuOp& op);

// Writes a table of roofline times at the given sizes (an example of the
// CSV format; tools: pnm_gen_gpu_ops). `header` is written as # comments.
void write_roofline_table(const std::string& path, const GpuSpec& gpu, const ModelArch& arch,
                          const std::string& header);

} // namespace pnm::serving
