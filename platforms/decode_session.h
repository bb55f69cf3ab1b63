// A decode session: a persistent simulation of one system (the host and its
// first device) serving one model's decode attention. Sequences are admitted
// with the KV their prompt left, stepped in batches (each sequence with its
// own context length; the new token's K and V are appended, then attention
// runs over every token so far) and released. The device, its firmware, the
// driver's tenant and queue stay up across calls; between calls the SystemC
// kernel is paused (sc_pause), never stopped, so simulated time and every
// block's state carry over from one step to the next.
//
// Several devices (`devices` > 1, the first of host 0's devices, e.g.
// behind a switch): each sequence's KV is split over them by token ranges,
// a near-equal share each (appended tokens go to the device holding the
// fewest of the sequence's rows), and each step's partials are merged as
// `merge` says (sw/kernels/split_kernels.h); pnm-dense only.
//
// Memory: the session owns one tenant over each device's memory and places
// each sequence's buffers (per simulated layer: K and V as
// [kv_heads][reserved tokens][head_dim] BF16, Q, O, indices) in an extent of
// it, first fit; release() frees the extent for the next sequence. A
// sequence's KV grows in place one token per step up to the tokens reserved
// at admission (the descriptor's kv_stride); a step beyond them is refused.
// Device pages are materialised as they are first written.
#pragma once

#include "kernels/decode_kernels.h"
#include "kernels/model_shape.h"
#include "kernels/split_kernels.h"
#include "host_system.h"

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <random>
#include <string>
#include <vector>

namespace pnm {

struct DecodeSessionConfig {
  std::string system;   // system file or shipped name ("": the default)
  std::string platform; // or a device file: the default system around it
  kernels::ModelShape model;
  kernels::Kernel kernel = kernels::Kernel::pnm_dense;
  uint32_t topk = 2048;
  uint32_t page_tokens = 0;
  unsigned layers_simulated = 1;
  bool functional = true; // real KV data and outputs (else timing-only)
  bool verify = true;     // functional: compare every output with the reference
  std::string datapath;   // "" (device file's), "twin" or "rtl"
  std::string vcd_path;   // RTL datapath waves (implies the RTL datapath)
  uint32_t queue_entries = 1024; // the job queue: a power of two in [4, 4096]
  unsigned devices = 1;          // host 0's first devices the KV is split over (0: all of them)
  kernels::Merge merge = kernels::Merge::host; // how split partials are merged
  uint64_t seed = 1;
};

class DecodeSession {
public:
  using SeqId = uint32_t;

  // What one step did (the simulated layers of every sequence in it).
  struct StepResult {
    double start_ns = 0, end_ns = 0;
    double host_flops = 0;
    uint64_t rows_fetched = 0, jobs = 0;
    uint64_t checked = 0;                // outputs compared with the reference
    double max_abs_error = 0, max_abs_reference = 0;
  };

  // Builds the system on a fresh SystemC kernel, boots the firmware and
  // creates the tenant and queue. Throws ConfigError/std::invalid_argument
  // for a bad system, device or model.
  explicit DecodeSession(const DecodeSessionConfig& cfg);
  ~DecodeSession(); // releases everything and ends the simulation
  DecodeSession(const DecodeSession&) = delete;
  DecodeSession& operator=(const DecodeSession&) = delete;

  // A sequence whose prompt left `prompt_tokens` of KV (functional: random
  // BF16 values, written as prefill left them), with room for
  // `reserve_tokens` in all (>= prompt_tokens). std::length_error when the
  // device has no room left for it.
  SeqId admit(uint32_t prompt_tokens, uint32_t reserve_tokens);
  // One decode step of these sequences (distinct, admitted): per simulated
  // layer, the host writes the new token's K and V rows over CXL.mem, then
  // the kernel attends over every token so far. Each context grows by one.
  StepResult step(const std::vector<SeqId>& batch);
  // The two halves of step(), each its own simulation call: append() writes
  // the new token's rows (each context grows by one); attend() runs the
  // layers over the contexts as they are. Both may be run again at the same
  // contexts, as samples of the layers the session does not simulate (see
  // serve_device's sampled_step): append(batch, true) writes the last
  // token's rows once more (timing-only sessions; std::logic_error else).
  StepResult append(const std::vector<SeqId>& batch, bool again = false);
  StepResult attend(const std::vector<SeqId>& batch);
  void release(SeqId id);
  // Timing-only sessions: the sequence's context grows by `tokens` without
  // simulating them (steps another model costed); the rows are then there
  // as the steps would have left them (timing-only KV has no values).
  // std::logic_error on a functional session, std::length_error beyond the
  // reservation.
  void advance(SeqId id, uint32_t tokens);
  // The host streams `bytes` (rounded up to whole KiB) to (write) or from the
  // device's free memory over CXL.mem with its kernel's lines in flight, as
  // prefill writing KV or a prefix read back does; returns the simulated ns.
  double bulk_transfer(bool write, uint64_t bytes);

  uint32_t context(SeqId id) const;     // tokens of KV now
  uint32_t kv_stride(SeqId id) const;   // rows from one KV head to the next (>= the reservation)
  size_t sequences() const { return seqs_.size(); }
  uint64_t free_bytes() const;          // tenant memory not held by a sequence, all devices
  unsigned devices() const { return static_cast<unsigned>(drv_.size()); } // devices the KV is split over
  double now_ns() const;

  const DecodeSessionConfig& config() const { return cfg_; }
  const SystemConfig& system_config() const { return sysc_; }
  const HostConfig& host_config() const;
  HostSystem& system() { return *sys_; }
  const kernels::StepConfig& step_config() const { return sc_; }

  // Called in the host's thread after each simulated layer of a step, with
  // the time the layer started (ns) and what the kernel did (tracing).
  std::function<void(unsigned layer, double start_ns, const kernels::StepResult&)> on_layer;

private:
  struct Part;
  struct Seq;
  struct Driver;
  // Runs `work` in the host's thread at the present simulated time and
  // returns when it has finished (the kernel pauses again).
  void call(const std::function<void(sw::Backend&)>& work);
  void serve(sw::Backend& b);
  uint64_t take_extent(unsigned dev, uint64_t bytes);
  void free_extent(unsigned dev, uint64_t dpa, uint64_t bytes);
  void append_tokens(Seq& s, bool grow);
  // The batch's sequences, checked: admitted, distinct, and (`grows`) room
  // for one more token.
  std::vector<Seq*> batch_of(const std::vector<SeqId>& batch, const char* what, bool grows);
  void run_layers(const std::vector<Seq*>& seqs, sw::Backend& b, StepResult& res);

  DecodeSessionConfig cfg_;
  SystemConfig sysc_;
  kernels::StepConfig sc_;
  std::unique_ptr<HostSystem> sys_;
  std::vector<std::unique_ptr<Driver>> drv_; // one per device the session uses
  std::map<SeqId, std::unique_ptr<Seq>> seqs_;
  std::vector<std::map<uint64_t, uint64_t>> free_; // per device, extents of tenant memory: dpa -> bytes
  uint32_t epoch_ = 0; // split p2p merges: one per simulated layer run
  SeqId next_id_ = 1;
  std::mt19937_64 rng_;
  // Host thread hand-off.
  std::function<void(sw::Backend&)> work_;
  std::exception_ptr failure_;
  bool quit_ = false, serving_ = false;
  std::unique_ptr<sc_core::sc_event> wake_; // made on the session's own kernel
  sc_core::sc_simcontext* kernel_ = nullptr; // the session's kernel, current during each call
};

} // namespace pnm
