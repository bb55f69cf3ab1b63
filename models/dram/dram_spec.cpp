#include "dram_spec.h"

#include <fmt/format.h>

namespace pnm::dram {

uint64_t DramOrg::rank_bytes() const {
  return static_cast<uint64_t>(device_density_gbit) * (1ull << 30) / 8 * devices_per_rank();
}

double DramSpec::peak_gbps() const {
  // Two transfers per tCK, channel_width/8 bytes each.
  return 2.0 * org.channel_width_bits / 8.0 / (timing.tCK_ps * 1e-3);
}

namespace {
bool pow2(uint64_t v) { return v && !(v & (v - 1)); }

DramOrg load_org(ConfigNode n) {
  n.require_source();
  DramOrg o;
  o.device_density_gbit =
      static_cast<uint32_t>(n.integer("device_density_gbit", {1, 64}, "Gbit", "device density"));
  o.device_width_bits = static_cast<uint32_t>(
      n.integer("device_width_bits", {4, 16}, "bit", "device data width (x4, x8, x16)"));
  o.bank_groups = static_cast<uint32_t>(n.integer("bank_groups", {1, 16}, "", "bank groups"));
  o.banks_per_group =
      static_cast<uint32_t>(n.integer("banks_per_group", {1, 8}, "", "banks per bank group"));
  o.rows = static_cast<uint32_t>(n.integer("rows", {1024, 1 << 20}, "", "rows per bank"));
  o.columns = static_cast<uint32_t>(
      n.integer("columns", {64, 1 << 14}, "", "column addresses per row per device"));
  o.channel_width_bits = static_cast<uint32_t>(n.integer(
      "channel_width_bits", {8, 64}, "bit", "data width of one channel (DDR5 subchannel: 32)"));
  o.burst_length =
      static_cast<uint32_t>(n.integer("burst_length", {8, 32}, "beats", "burst length (BL16)"));
  for (auto [key, v] : {std::pair<const char*, uint64_t>{"device_width_bits", o.device_width_bits},
                        {"bank_groups", o.bank_groups},
                        {"banks_per_group", o.banks_per_group},
                        {"rows", o.rows},
                        {"columns", o.columns},
                        {"burst_length", o.burst_length}})
    if (!pow2(v)) n.fail(key, fmt::format("must be a power of two, found {}", v));
  if (o.channel_width_bits % o.device_width_bits)
    n.fail("channel_width_bits", "must be a multiple of device_width_bits");
  if (o.columns < o.burst_length) n.fail("columns", "must be at least burst_length");
  uint64_t bits = static_cast<uint64_t>(o.rows) * o.columns * o.banks_per_rank() *
                  o.device_width_bits;
  if (bits != static_cast<uint64_t>(o.device_density_gbit) << 30)
    n.fail("device_density_gbit",
           fmt::format("rows x columns x banks x width = {} Gbit, not {} Gbit", bits >> 30,
                       o.device_density_gbit));
  n.finish();
  return o;
}

DramTiming load_timing(ConfigNode n, const DramOrg& org) {
  n.require_source();
  DramTiming t;
  t.tCK_ps = n.number("tCK_ps", {200, 5000}, "ps", "clock period");
  auto c = [&](const char* key, const char* what, double lo = 0, double hi = 1e6) {
    return static_cast<Cycle>(n.integer(key, {lo, hi}, "nCK", what));
  };
  t.CL = c("CL_nck", "read latency (CAS latency)", 1);
  t.CWL = c("CWL_nck", "write latency", 1);
  t.tRCD = c("tRCD_nck", "ACT to RD/WR, same bank", 1);
  t.tRP = c("tRP_nck", "PRE to ACT, same bank", 1);
  t.tRAS = c("tRAS_nck", "ACT to PRE, same bank", 1);
  t.tRC = c("tRC_nck", "ACT to ACT, same bank", 1);
  t.tWR = c("tWR_nck", "write recovery: end of write data to PRE", 1);
  t.tRTP = c("tRTP_nck", "RD to PRE, same bank", 1);
  t.tCCD_S = c("tCCD_S_nck", "RD to RD (or WR to WR), different bank group", 1);
  t.tCCD_L = c("tCCD_L_nck", "RD to RD, same bank group", 1);
  t.tCCD_S_WR = c("tCCD_S_WR_nck", "WR to WR, different bank group", 1);
  t.tCCD_L_WR = c("tCCD_L_WR_nck", "WR to WR, same bank group", 1);
  t.tWTR_S = c("tWTR_S_nck", "end of write data to RD, different bank group", 0);
  t.tWTR_L = c("tWTR_L_nck", "end of write data to RD, same bank group", 0);
  t.tRRD_S = c("tRRD_S_nck", "ACT to ACT, different bank group", 1);
  t.tRRD_L = c("tRRD_L_nck", "ACT to ACT, same bank group", 1);
  t.tFAW = c("tFAW_nck", "four-activate window", 1);
  t.tPPD = c("tPPD_nck", "PRE to PRE, same rank", 1);
  t.tRFC = c("tRFC1_nck", "all-bank refresh cycle time (normal refresh)", 1);
  t.tREFI = c("tREFI_nck", "average refresh interval", 100);
  t.tRTRS = c("tRTRS_nck", "rank-to-rank data-bus switch", 0);
  t.nBL = org.burst_length / 2;
  // Read-to-write turnaround: the write's data (at CWL) may start only after
  // the read's data (at CL, nBL long) plus a 2-cycle bus turnaround.
  t.tRTW = n.integer_or("tRTW_nck", static_cast<int64_t>(t.CL + t.nBL + 2 - std::min(t.CWL, t.CL + t.nBL + 2)),
                        {0, 1000}, "nCK", "RD to WR, same rank (default CL + BL/2 + 2 - CWL)");
  if (t.tRC < t.tRAS) n.fail("tRC_nck", "tRC must be at least tRAS");
  if (t.tREFI <= t.tRFC) n.fail("tREFI_nck", "tREFI must exceed tRFC1");
  n.finish();
  return t;
}

DramPower load_power(ConfigNode n) {
  DramPower p;
  p.source = n.require_source();
  if (n.has("schema") && n.text("schema", "power file format") != "pnmvp.memspec-power.v1")
    n.fail("schema", "expected pnmvp.memspec-power.v1");
  auto v = [&](const char* key, const char* what) {
    return n.number(key, {0, 5}, "V", what);
  };
  auto i = [&](const char* key, const char* what) {
    return n.number(key, {0, 5000}, "mA", what);
  };
  p.VDD_V = v("VDD_V", "core supply");
  p.VPP_V = v("VPP_V", "wordline pump supply");
  p.VDDQ_V = v("VDDQ_V", "I/O supply");
  p.IDD0_mA = i("IDD0_mA", "one bank ACT-PRE cycling current (VDD)");
  p.IDD2N_mA = i("IDD2N_mA", "precharge standby current (VDD)");
  p.IDD3N_mA = i("IDD3N_mA", "active standby current (VDD)");
  p.IDD4R_mA = i("IDD4R_mA", "burst read current (VDD)");
  p.IDD4W_mA = i("IDD4W_mA", "burst write current (VDD)");
  p.IDD5B_mA = i("IDD5B_mA", "burst (all-bank) refresh current (VDD)");
  p.IPP0_mA = i("IPP0_mA", "ACT-PRE cycling current (VPP)");
  p.IPP2N_mA = i("IPP2N_mA", "precharge standby current (VPP)");
  p.IPP3N_mA = i("IPP3N_mA", "active standby current (VPP)");
  p.IPP4R_mA = i("IPP4R_mA", "burst read current (VPP)");
  p.IPP4W_mA = i("IPP4W_mA", "burst write current (VPP)");
  p.IPP5B_mA = i("IPP5B_mA", "burst refresh current (VPP)");
  auto io = n.child_or_include("io");
  if (io.has("schema") && io.text("schema", "I/O file format") != "pnmvp.memspec-io.v1")
    io.fail("schema", "expected pnmvp.memspec-io.v1");
  p.io_source = io.require_source();
  p.io_driver_ohm = io.number("driver_ohm", {1, 1000}, "ohm", "DQ output driver pull-down impedance");
  p.io_odt_ohm = io.number("odt_ohm", {1, 1000}, "ohm", "DQ on-die termination at the receiver");
  p.io_zero_fraction = io.number("zero_fraction", {0, 1}, "fraction",
                                 "share of transferred data bits that are 0 (draw termination current)");
  io.finish();
  for (auto [hi, lo, name] :
       {std::tuple{p.IDD0_mA, p.IDD3N_mA, "IDD0_mA"}, {p.IDD4R_mA, p.IDD3N_mA, "IDD4R_mA"},
        {p.IDD4W_mA, p.IDD3N_mA, "IDD4W_mA"}, {p.IDD5B_mA, p.IDD3N_mA, "IDD5B_mA"}})
    if (hi < lo) n.fail(name, "must not be below IDD3N (energy per command would be negative)");
  n.finish();
  return p;
}
} // namespace

DramSpec load_dram_spec(ConfigNode n) {
  DramSpec s;
  if (n.has("schema") && n.text("schema", "memspec file format") != "pnmvp.memspec.v1")
    n.fail("schema", "expected pnmvp.memspec.v1");
  s.name = n.text("part", "memspec part name (datasheet-named)");
  std::string standard = n.choice("standard", {"DDR5"}, "memory standard");
  (void)standard;
  s.org = load_org(n.child("architecture"));
  s.timing = load_timing(n.child("timing"), s.org);
  s.power = load_power(n.child_or_include("power"));
  n.finish();
  return s;
}

} // namespace pnm::dram
