// Timing model of one attention job (plain C++): DMA streams from every DRAM
// channel into the engine's staging SRAM, consumed in order by the datapath,
// the top-k selector and the V accumulator. Event driven: it advances from
// one DRAM command, data return or buffer release to the next, never cycle
// by cycle. docs/ENGINE.md ("Timing model") explains each rule.
#pragma once

#include "dram/memory_port.h"
#include "pnm/attention_job.h"
#include "pnm/engine_config.h"

#include <cstdint>
#include <memory>
#include <vector>

namespace pnm::engine {

// What a job reads and accumulates beyond the fixed K stream.
struct JobPlan {
  // Top-k attention: per KV head, the V rows fetched (ascending token
  // indices, the union over the group's query heads). Empty for DENSE
  // (all V is streamed) and SELECT (no V).
  std::vector<std::vector<uint32_t>> v_rows;
  // Per query head: tokens accumulated over V (seq_len for DENSE).
  std::vector<uint64_t> attended;
};

// Selection stand-in for timing-only runs: per KV head, min(k, items)
// tokens (or pages) spread evenly, one in each of k equal strides at a
// hashed offset, shared by the whole GQA group.
JobPlan synthetic_plan(const AttentionJob& job);

struct TimingResult {
  dram::Cycle end_dram_cycle = 0;   // last output write done
  double last_read_data_cycle = 0;  // engine cycles from start
  double compute_end_cycle = 0;     // engine cycles from start
  double datapath_busy_cycles = 0;  // dot-product array busy (all units together)
  double accumulator_busy_cycles = 0;
  double selector_busy_cycles = 0;
  uint64_t read_bursts = 0, write_bursts = 0;
  uint64_t max_buffer_lines = 0;
};

// One job's DRAM traffic and pipeline from `start` (validated job), as an
// agent of the memory front end behind `port`: it advances whenever the
// front end runs, side by side with the other initiators' traffic. `job`
// and `plan` must outlive it. The model throws std::logic_error (from the
// front end's run) if it cannot make progress (a model bug).
class JobTiming {
public:
  JobTiming(const EngineConfig& cfg, dram::MemoryPort& port, const AttentionJob& job,
            const JobPlan& plan, dram::Cycle start, int lanes);
  ~JobTiming();
  JobTiming(const JobTiming&) = delete;
  JobTiming& operator=(const JobTiming&) = delete;
  bool done() const;
  const TimingResult& result() const; // complete once done()

private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// Runs the job to its end on the front end (other initiators' requests
// already queued are served alongside).
TimingResult simulate_timing(const EngineConfig& cfg, dram::MemoryPort& port, const AttentionJob& job,
                             const JobPlan& plan, dram::Cycle start, int lanes);

} // namespace pnm::engine
