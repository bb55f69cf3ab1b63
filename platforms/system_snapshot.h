// The figures a decode measurement needs, read from one snapshot of a host
// system's stats tree (its first device, or first few, and the host port to each). Two
// snapshots around a window give what the window cost: `pnmvp run`'s report,
// the serving calibration and the detailed serving device all read them.
#pragma once

#include "common/stats.h"
#include "host_system.h"

namespace pnm {

struct SystemSnapshot {
  double ns = 0;
  dram::DramEnergy dram; // pJ by class
  double dram_bytes = 0;
  double link_pj = 0, link_wire_bits = 0;
  double host_bytes = 0; // CXL.mem payload and CXL.io bytes at the host port
  double engine_compute_pj = 0, sram_pj = 0;
  double controller_pj = 0;
  double instructions = 0;
  double engine_jobs = 0;
  double switch_bytes = 0; // line payload summed over switch traversals (fabric/traversal_bytes)
};

// Reads the snapshot; `keep`, when given, receives the whole tree. Device
// and host-port figures are summed over host 0's first `devices` devices
// (a session split over several).
SystemSnapshot system_snapshot(HostSystem& sys, StatGroup* keep = nullptr, unsigned devices = 1);

} // namespace pnm
