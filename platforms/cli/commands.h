// Each pnmvp subcommand registers its options and its run function.
#pragma once

#include <CLI/CLI.hpp>
#include <functional>

namespace pnm::cli {

struct Globals {
  bool verbose = false;
  bool debug = false;
};

// Adds the subcommand to `app`; the returned function runs it (exit code).
std::function<int()> add_dram(CLI::App& app, const Globals& g);
std::function<int()> add_params(CLI::App& app, const Globals& g);
std::function<int()> add_mlc(CLI::App& app, const Globals& g);

// Default platform of the DRAM demo (a shipped file name).
inline constexpr const char* kDefaultDramPlatform = "ddr5-4800-1ch";

} // namespace pnm::cli
