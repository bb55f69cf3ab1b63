// A platform file describes one device (and, later, several). This is where
// its sections are read; each block's loader validates its own section.
#pragma once

#include "common/config.h"
#include "cxl/cxl_io_regs.h"
#include "cxl/cxl_mem_controller.h"
#include "cpu/riscv_core.h"
#include "dram/dram_system.h"
#include "pnm/engine_config.h"

#include <optional>
#include <string>
#include <vector>

namespace pnm {

// The device's CXL port and its link ("cxl" section); where the host maps
// it comes from the device file or, in a system, from the system file.
struct CxlPlatformConfig {
  bool present = false;
  cxl::CxlMemConfig mem;
  cxl::CxlIoConfig io;
  double register_latency_ns = 0; // CXL.io register access inside the device
  uint64_t hpa_base = 0;  // where the host maps device memory (HDM decoder 0)
  uint64_t mmio_base = 0; // where the host places BAR0 (BAR2 follows)
  std::string link_energy_source;
};

// The device's controller core and its firmware ("controller" section).
struct ControllerPlatformConfig {
  bool present = false;
  cpu::CoreConfig core;
  std::string firmware;           // ELF path ("builtin": the firmware this build made)
  uint64_t quantum_instructions = 10000;
};

struct PlatformConfig {
  std::string file;
  std::string name;
  std::string description;
  dram::DramSystemConfig dram;
  CxlPlatformConfig cxl;
  ControllerPlatformConfig controller;
  bool has_engine = false;
  engine::EngineConfig engine;
  std::string datapath = "twin"; // "twin" (C++) or "rtl" (Verilated): bit-identical
  int datapath_lanes = 16;       // 16 or 32 (the RTL is built for both)
  std::string datapath_vcd;      // run-time option (not in the file): RTL waves to this VCD
  std::vector<ParamRecord> params; // every parameter read, for `pnmvp params`
};

PlatformConfig load_platform(const std::string& path);

// Reads a CXL "link" section into `c`. Without `base` every key is required
// (a device file's cxl.link); with it every key is optional and defaults to
// base's value (a system file's link entry overriding the device's link).
void read_link(ConfigNode& link, CxlPlatformConfig& c, const CxlPlatformConfig* base);

// The folder holding the shipped platforms (found at run time, or
// $PNMVP_PLATFORMS when set; common/resources.h has the search order).
std::string platforms_dir();
// Resolves "ddr5-4800-1ch" or "ddr5-4800-1ch.json" to a shipped file when
// `name` is not itself an existing path.
std::string resolve_platform(const std::string& name);

} // namespace pnm
