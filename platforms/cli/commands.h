// Each pnmvp subcommand registers its options and its run function.
#pragma once

#include <CLI/CLI.hpp>
#include <functional>
#include <string>

namespace pnm::cli {

struct Globals {
  bool verbose = false;
  bool debug = false;
};

// Adds the subcommand to `app`; the returned function runs it (exit code).
std::function<int()> add_dram(CLI::App& app, const Globals& g);
std::function<int()> add_params(CLI::App& app, const Globals& g);
std::function<int()> add_mlc(CLI::App& app, const Globals& g);
// The reference device's CXL memory-device commands (cmd_device.cpp) and
// attention on user data through the whole stack (cmd_attend.cpp).
std::function<int()> add_identify(CLI::App& app, const Globals& g);
std::function<int()> add_health(CLI::App& app, const Globals& g);
std::function<int()> add_poison(CLI::App& app, const Globals& g);
std::function<int()> add_mailbox(CLI::App& app, const Globals& g);
std::function<int()> add_attend(CLI::App& app, const Globals& g);
// The main job (cmd_run.cpp) and grids of it (cmd_sweep.cpp).
std::function<int()> add_run(CLI::App& app, const Globals& g);
std::function<int()> add_sweep(CLI::App& app, const Globals& g);

// What a simulating subcommand runs on: --system NAME|FILE (default
// pnm-ref-system), or --platform NAME|FILE, shorthand for the default system
// with that device file as its one device. select_system() (system.h) reads them.
struct Target {
  std::string system;
  std::string platform;
};
inline void add_target_options(CLI::App* sub, Target& t) {
  sub->add_option("--system", t.system,
                  "system file or shipped system name (default pnm-ref-system; also pnm-ref-x2)");
  sub->add_option("--platform", t.platform,
                  "device file or shipped name: the default system with this device (instead of --system)");
}

// Default platform of the DRAM demo (a shipped file name).
inline constexpr const char* kDefaultDramPlatform = "ddr5-4800-1ch";

} // namespace pnm::cli
