// Replays a request stream through the DRAM system as fast as the channels
// accept it (or at the trace's own cycle stamps) and measures it.
#pragma once

#include "common/histogram.h"
#include "dram_system.h"
#include "trace_source.h"

#include <nlohmann/json.hpp>

namespace pnm::dram {

struct ReplayResult {
  uint64_t requests = 0, reads = 0, writes = 0;
  Cycle end_cycle = 0;       // last data beat of the last request
  Histogram read_latency;    // cycles, accepted by the controller -> data returned
  double wall_s = 0;
};

// One request enters the controllers per DRAM clock at most (like Ramulator
// 2's trace front end); a request waits, in order, while its channel's queue
// is full; timed (STL) requests do not enter before their cycle.
ReplayResult replay(DramSystem& dram, RequestSource& src);

// The stable `pnmvp dram` report (schema pnmvp.dram.v1; keys in README.md).
nlohmann::ordered_json replay_report(const DramSystem& dram, const ReplayResult& r,
                                     const std::string& platform, const std::string& workload);

} // namespace pnm::dram
