// The near-memory attention/top-k engine (plain C++, no SystemC): runs one
// job descriptor against device memory, which it reaches only through its
// memory port (dram/memory_port.h: data from the backing store, timing
// through its own port of the memory front end).
//
//   functional:  reads Q, K, V from the SparseStore, scores q.K in the
//                datapath (twin or Verilated RTL), keeps the top-k, runs the
//                softmax and the V accumulation, writes O (and indices);
//   timing_only: no data and no arithmetic, only the DRAM streams and the
//                engine's pipeline timing, so a 1M-token step runs without
//                1M tokens of data (top-k positions are then synthetic:
//                k tokens spread evenly, see docs/ENGINE.md).
// Both modes run the same timing model: per-channel DMA streamers keep up to
// N 64 B reads in flight in every DramChannel, a bounded SRAM staging buffer
// limits run-ahead, and the datapath, top-k selector and V accumulator
// consume the data as it arrives. docs/ENGINE.md describes the model.
#pragma once

#include "common/stats.h"
#include "dram/memory_port.h"
#include "pnm/attention_job.h"
#include "pnm/datapath.h"
#include "pnm/engine_config.h"
#include "pnm/engine_timing.h"
#include "pnm/softmax_unit.h"
#include "pnm/topk_selector.h"

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace pnm::engine {

using dram::Cycle;

enum class Mode { functional, timing_only };
const char* mode_name(Mode m);

// Work of one job (or the sum of several). Derived from the job's shape and
// its selection, the same way in both modes; functional runs cross-check
// the datapath and softmax unit counts against them.
struct EngineCounters {
  uint64_t dram_read_bursts = 0, dram_write_bursts = 0;
  uint64_t dram_bytes_read = 0, dram_bytes_written = 0;
  uint64_t macs_bf16 = 0, macs_int8 = 0; // datapath (q.k)
  uint64_t macs_fp32 = 0;   // score scale, rescale, V accumulation, final divide/scale
  uint64_t exps = 0;
  uint64_t compares = 0;    // top-k threshold checks, block and page max
  uint64_t topk_pushes = 0;
  uint64_t datapath_chunks = 0;   // lanes-wide vector pairs through the datapath
  uint64_t sram_bytes = 0;        // on-chip SRAM traffic: K/V staging in+out, selector, score buffers
  uint64_t keys_scored = 0;       // (token, query head) pairs scored
  uint64_t tokens_attended = 0;   // (token, query head) pairs accumulated over V
  uint64_t v_rows_read = 0;       // V rows fetched from DRAM

  uint64_t macs() const { return macs_bf16 + macs_int8 + macs_fp32; }
  EngineCounters& operator+=(const EngineCounters& o);
};

struct EngineEnergyPj {
  double mac_bf16 = 0, mac_int8 = 0, mac_fp32 = 0, exp = 0, sram = 0, compare = 0;
  double total() const { return mac_bf16 + mac_int8 + mac_fp32 + exp + sram + compare; }
  EngineEnergyPj& operator+=(const EngineEnergyPj& o);
};

struct JobResult {
  JobError error = JobError::kOk;
  std::string message;
  Mode mode = Mode::functional;
  Cycle start_dram_cycle = 0;
  Cycle end_dram_cycle = 0;      // last output write done (or start, for a rejected job)
  uint64_t engine_cycles = 0;    // end - start at the engine clock
  double elapsed_ns = 0;
  double tck_ns = 0;
  // Pipeline figures (engine cycles): busy time of each unit, and when the
  // last read data arrived / the last computation finished (from start).
  double datapath_busy_cycles = 0, accumulator_busy_cycles = 0, selector_busy_cycles = 0;
  double last_read_data_cycle = 0, compute_end_cycle = 0;
  uint64_t max_buffer_lines = 0; // peak SRAM staging occupancy, 64 B lines
  EngineCounters counters;
  EngineEnergyPj energy_pj;

  bool ok() const { return error == JobError::kOk; }
  // DRAM read bandwidth over the whole job, GB/s (1e9 B/s).
  double read_gbps() const { return elapsed_ns > 0 ? counters.dram_bytes_read / elapsed_ns : 0; }
  // Publishes time, bandwidth, counters and energy (pJ) under `g`.
  void report(StatGroup& g) const;
};

class AttentionEngine {
public:
  // The datapath's lane count fixes the head_dim granularity; dot_units of
  // them work side by side in the timing model (one object computes them all).
  AttentionEngine(const EngineConfig& cfg, dram::MemoryPort& mem, datapath::Datapath& dp);
  ~AttentionEngine();

  // Validates the job, then runs it from `start_dram_cycle` to its end on
  // the memory front end (requests enter the channels no earlier than their
  // own clocks). Never throws for a bad job: the result carries the error
  // code and message.
  JobResult run(const AttentionJob& job, Cycle start_dram_cycle, Mode mode);
  // The same in steps, for a caller that advances the front end itself
  // (the SystemC face, in time with the other initiators): begin() validates
  // the job, computes its data and starts its timing; returns false if the
  // job was rejected. job_done() holds once the timing has ended (or the job
  // was rejected); finish() then returns the result. One job at a time.
  bool begin(const AttentionJob& job, Cycle start_dram_cycle, Mode mode);
  bool job_done() const;
  JobResult finish();
  // Ends the running job with an internal error (a model bug was caught).
  void abandon(const std::string& why);

  JobLimits limits() const;
  const EngineConfig& config() const { return cfg_; }
  dram::MemoryPort& memory() { return mem_; }
  datapath::Datapath& datapath() { return dp_; }

  // Sums over every job run so far (failed jobs count in jobs_failed only).
  const EngineCounters& totals() const { return totals_; }
  const EngineEnergyPj& energy_totals() const { return energy_totals_; }
  uint64_t jobs_done() const { return jobs_done_; }
  uint64_t jobs_failed() const { return jobs_failed_; }
  void report(StatGroup& g) const;

private:
  void functional_pass(const AttentionJob& job, JobPlan& plan);
  void merge_pass(const AttentionJob& job);
  EngineCounters count(const AttentionJob& job, const JobPlan& plan) const;
  EngineEnergyPj energy(const EngineCounters& c) const;
  void score_block(const AttentionJob& job, uint32_t kv_head, uint32_t t0, uint32_t n,
                   const std::vector<uint8_t>& q, std::vector<float>& scores);

  struct Active;
  EngineConfig cfg_;
  dram::MemoryPort& mem_;
  std::unique_ptr<Active> active_;
  datapath::Datapath& dp_;
  std::vector<TopkSelector> selectors_; // one per query head of a group
  std::vector<SoftmaxUnit> softmax_;    // one per query head of a group
  std::vector<datapath::DotChunk> chunks_;
  std::vector<uint32_t> acc_bits_;
  std::vector<uint8_t> kbuf_;
  EngineCounters totals_;
  EngineEnergyPj energy_totals_;
  uint64_t jobs_done_ = 0, jobs_failed_ = 0;
};

} // namespace pnm::engine
