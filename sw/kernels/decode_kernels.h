// The four decode-attention kernels, host programs that run against the
// device through libpnm, exactly as they would against silicon:
//   host-fetch  the host reads K and V over CXL.mem and computes attention;
//   pnm-dense   the device computes full attention, the host reads O;
//   pnm-topk    the device keeps the top-k tokens (or pages) per query head
//               and attends over them, the host reads O;
//   pnm-select  the device returns the top-k token indices, the host fetches
//               only those K/V rows (whole 64 B lines) and attends over them.
// One call runs one decode step of one layer for a batch of sequences.
#pragma once

#include "driver/device.h"
#include "driver/queue.h"
#include "kernels/reference.h"

#include <string>
#include <vector>

namespace pnm::kernels {

enum class Kernel { host_fetch, pnm_dense, pnm_topk, pnm_select };
const char* kernel_name(Kernel k);
// "host-fetch" | "pnm-dense" | "pnm-topk" | "pnm-select"; std::invalid_argument otherwise.
Kernel parse_kernel(const std::string& name);
std::vector<Kernel> all_kernels();

// The host the kernels run on (the system file's host entry).
struct HostCompute {
  double gflops = 0;
  double pj_per_flop = 0;
  unsigned lines_in_flight = 1; // 64-byte CXL.mem lines the kernel keeps outstanding (fill buffers x cores)
};

// One sequence's layer in device memory: K, V as [kv_heads][kv_stride][d]
// BF16 (the first seq_len rows of each head used), and the buffers the PNM
// kernels exchange with the device. seq_len 0: the step's shape.seq_len;
// kv_stride 0: the heads are packed (stride = seq_len).
struct LayerKv {
  uint64_t k_dpa = 0, v_dpa = 0;
  uint64_t q_dpa = 0, o_dpa = 0, idx_dpa = 0;
  uint32_t seq_len = 0;
  uint32_t kv_stride = 0;
};

// Bytes LayerKv's buffers need, per field.
struct LayerSizes {
  uint64_t kv = 0, q = 0, o = 0, idx = 0;
};
LayerSizes layer_sizes(const AttentionShape& s, uint32_t topk);

struct StepConfig {
  Kernel kernel = Kernel::pnm_dense;
  AttentionShape shape;
  uint32_t topk = 0;        // tokens kept (pnm-topk with page_tokens = 0, pnm-select)
  uint32_t page_tokens = 0; // pnm-topk: pages of this many tokens, topk / page_tokens of them
  bool functional = true;   // compute outputs (false: timing only, no data)
  HostCompute host;
  bool use_irq = true;      // completions by interrupt (else polling)
  uint64_t fetch_chunk_bytes = 256 * 1024; // host-fetch: bytes per CXL.mem read
};

struct StepResult {
  std::vector<std::vector<float>> out; // per sequence, [heads][d] (functional runs)
  double host_flops = 0;               // attention arithmetic done on the host
  double host_compute_ns = 0;          // time it took at the host's rate (overlapped with fetches)
  uint64_t jobs = 0;                   // engine jobs submitted
  uint64_t rows_fetched = 0;           // pnm-select: K+V rows the host read
};

// The double-precision reference of what `cfg`'s kernel computes for one
// sequence (dense for host-fetch and pnm-dense, top-k tokens or pages for
// pnm-topk and pnm-select); k, v: [kv_heads][s.seq_len][d] BF16 bits.
std::vector<double> reference_output(const StepConfig& cfg, const AttentionShape& s, const std::vector<double>& q,
                                     const std::vector<uint16_t>& k, const std::vector<uint16_t>& v);
// What reference_output() compares with, in words (reports).
const char* reference_name(const StepConfig& cfg);

// The engine job that runs `cfg`'s kernel over one sequence's layer (not
// host-fetch, which submits none).
pnm_job_desc_t make_job_desc(const StepConfig& cfg, const LayerKv& l);

// Runs the step; queries[i] is sequence i's Q ([heads][d], already BF16
// values). Throws DriverError on a failed job or transfer.
StepResult run_step(sw::Device& dev, sw::Queue& queue, const StepConfig& cfg,
                    const std::vector<LayerKv>& seqs, const std::vector<std::vector<float>>& queries);

} // namespace pnm::kernels
