// A DDR5 part as its datasheet describes it: organisation, timing (in clock
// cycles of tCK), and IDD/IPP currents. Loaded from a memspec JSON file per
// part (platforms/memspec/), whose sections each name their source.
#pragma once

#include "common/config.h"

#include <cstdint>
#include <string>

namespace pnm::dram {

using Cycle = uint64_t;

struct DramOrg {
  uint32_t device_density_gbit = 16;
  uint32_t device_width_bits = 8;  // x4/x8/x16
  uint32_t bank_groups = 8;
  uint32_t banks_per_group = 4;
  uint32_t rows = 65536;
  uint32_t columns = 1024;         // column addresses per row per device
  uint32_t channel_width_bits = 32; // one DDR5 subchannel
  uint32_t burst_length = 16;       // BL16

  uint32_t banks_per_rank() const { return bank_groups * banks_per_group; }
  uint32_t devices_per_rank() const { return channel_width_bits / device_width_bits; }
  uint32_t burst_bytes() const { return burst_length * channel_width_bits / 8; }
  uint32_t bursts_per_row() const { return columns / burst_length; }
  uint64_t rank_bytes() const;
};

struct DramTiming {
  double tCK_ps = 625;
  Cycle CL = 0, CWL = 0, tRCD = 0, tRP = 0, tRAS = 0, tRC = 0, tWR = 0, tRTP = 0;
  Cycle tCCD_S = 0, tCCD_L = 0, tCCD_S_WR = 0, tCCD_L_WR = 0;
  Cycle tWTR_S = 0, tWTR_L = 0, tRRD_S = 0, tRRD_L = 0, tFAW = 0, tPPD = 0;
  Cycle tRFC = 0, tREFI = 0, tRTRS = 0;
  Cycle nBL = 8;  // data-bus cycles of one burst (BL16 at double data rate)
  Cycle tRTW = 0; // read-to-write turnaround on the same rank, derived

  double ns(Cycle c) const { return static_cast<double>(c) * tCK_ps * 1e-3; }
};

struct DramPower {
  double VDD_V = 1.1, VPP_V = 1.8, VDDQ_V = 1.1;
  double IDD0_mA = 0, IDD2N_mA = 0, IDD3N_mA = 0, IDD4R_mA = 0, IDD4W_mA = 0, IDD5B_mA = 0;
  double IPP0_mA = 0, IPP2N_mA = 0, IPP3N_mA = 0, IPP4R_mA = 0, IPP4W_mA = 0, IPP5B_mA = 0;
  // DQ I/O: DDR5 uses pseudo-open-drain signalling terminated to VDDQ, so a
  // bit driven low draws VDDQ / (driver + ODT) for one bit time; a high bit
  // draws nothing (DRAMPower's static-termination term).
  double io_driver_ohm = 34;
  double io_odt_ohm = 48;
  double io_zero_fraction = 0.5; // share of data bits that are 0
  std::string source;
  std::string io_source;

  double io_pj_per_bit(double tCK_ps) const {
    const double bit_ns = tCK_ps * 1e-3 / 2; // double data rate
    return io_zero_fraction * VDDQ_V * VDDQ_V / (io_driver_ohm + io_odt_ohm) * bit_ns * 1e3;
  }
};

struct DramSpec {
  std::string name;
  DramOrg org;
  DramTiming timing;
  DramPower power;

  // Peak data rate of one channel (one subchannel), GB/s (1e9 B/s).
  double peak_gbps() const;
};

// Reads a memspec (a whole file, or the object a platform includes).
DramSpec load_dram_spec(ConfigNode node);

} // namespace pnm::dram
