// Ceilings a report states beside its measured figures, so a plot draws its
// reference lines from the configuration that ran (never from numbers typed
// into a script): the CXL link's read payload bandwidth and the share of DRAM
// time refresh leaves for data.
#pragma once

#include "cxl/link.h"
#include "dram/dram_system.h"
#include "platform.h"

namespace pnm {

// GB/s of cache-line payload the device's CXL.mem link carries towards the
// host (S2M DRS, a long read stream) after flit packing and line coding.
inline double link_read_gbps(const PlatformConfig& pc) {
  cxl::MessageMix reads_only;
  reads_only[cxl::MsgClass::s2m_drs] = 1000000; // a long stream: the closed form's steady state
  return cxl::effective_line_gbytes_per_s(pc.cxl.mem.link, cxl::Direction::s2m, reads_only);
}

// The highest DRAM bandwidth utilisation all-bank refresh leaves:
// 1 - tRFC/tREFI of the memspec (1 when the channel does not refresh).
inline double dram_refresh_ceiling(const dram::DramSystemConfig& d) {
  const auto& t = d.spec.timing;
  if (!d.channel.refresh || t.tREFI == 0) return 1.0;
  return 1.0 - double(t.tRFC) / double(t.tREFI);
}

} // namespace pnm
