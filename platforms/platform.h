// A platform file describes one device (and, later, several). This is where
// its sections are read; each block's loader validates its own section.
#pragma once

#include "common/config.h"
#include "dram/dram_system.h"

#include <string>
#include <vector>

namespace pnm {

struct PlatformConfig {
  std::string file;
  std::string name;
  std::string description;
  dram::DramSystemConfig dram;
  std::vector<ParamRecord> params; // every parameter read, for `pnmvp params`
};

PlatformConfig load_platform(const std::string& path);

// The folder holding the shipped platforms (build-time source path, or
// $PNMVP_PLATFORMS when set, e.g. after installation).
std::string platforms_dir();
// Resolves "ddr5-4800-1ch" or "ddr5-4800-1ch.json" to a shipped file when
// `name` is not itself an existing path.
std::string resolve_platform(const std::string& name);

} // namespace pnm
