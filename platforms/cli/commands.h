// Each pnmvp subcommand registers its options and its run function.
#pragma once

#include "common/output_guard.h"

#include <CLI/CLI.hpp>
#include <cmath>
#include <limits>
#include <sstream>
#include <type_traits>
#include <vector>
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
// The serving layer's calibrated device cost (cmd_calibrate.cpp).
std::function<int()> add_calibrate(CLI::App& app, const Globals& g);
// LLM serving on a request trace (cmd_serve.cpp; docs/SERVING.md).
std::function<int()> add_serve(CLI::App& app, const Globals& g);

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

// Number checks for options. CLI11's PositiveNumber and Range let NaN
// through and print the largest double in their messages; these name the
// range plainly and refuse NaN and infinities.
inline CLI::Validator finite_in(double lo, double hi, bool lo_open = false) {
  return CLI::Validator(
      [=](std::string& s) -> std::string {
        double v = 0;
        size_t used = 0;
        try {
          v = std::stod(s, &used);
        } catch (const std::exception&) {
          used = 0;
        }
        if (used == 0 || used != s.size()) return "'" + s + "' is not a number";
        const bool below = lo_open ? !(v > lo) : !(v >= lo);
        if (!std::isfinite(v) || below || !(v <= hi))
          return "'" + s + "' must be a finite number " + (lo_open ? "> " : ">= ") + CLI::detail::to_string(lo) +
                 (std::isinf(hi) ? std::string() : " and <= " + CLI::detail::to_string(hi));
        return "";
      },
      "NUMBER");
}
inline CLI::Validator positive_finite() { return finite_in(0, HUGE_VAL, true); }
// A comma-list option (`--kernel a,b` or repeated): each occurrence is one
// token, split here. CLI11's own delimiter drops empty items without a word
// (and after `--kernel ,,,` took the next option as a value); an empty item
// or a number that does not parse is a usage error naming the flag.
// `names` may give aliases ("--contexts,--context"); messages use the first.
template <typename T>
CLI::Option* add_list(CLI::App* sub, const std::string& names, std::vector<T>& out, const std::string& help) {
  const std::string flag = names.substr(0, names.find(','));
  CLI::Option* o = sub->add_option_function<std::vector<std::string>>(
      names,
      [&out, flag](const std::vector<std::string>& raw) {
        out.clear();
        for (const std::string& tok : raw) {
          if (tok.empty() || tok.front() == ',' || tok.back() == ',' || tok.find(",,") != std::string::npos)
            throw CLI::ValidationError(flag, "'" + tok + "' has an empty item");
          std::stringstream items(tok);
          std::string item;
          while (std::getline(items, item, ',')) {
            if constexpr (std::is_same_v<T, std::string>) {
              out.push_back(item);
            } else if constexpr (std::is_floating_point_v<T>) {
              size_t used = 0;
              double v = 0;
              try {
                v = std::stod(item, &used);
              } catch (const std::exception&) {
                used = 0;
              }
              if (used == 0 || used != item.size() || !std::isfinite(v) || !(v > 0))
                throw CLI::ValidationError(flag, "'" + item + "' is not a finite number > 0");
              out.push_back(static_cast<T>(v));
            } else {
              size_t used = 0;
              unsigned long long v = 0;
              try {
                v = std::stoull(item, &used);
              } catch (const std::exception&) {
                used = 0;
              }
              if (used == 0 || used != item.size() || item[0] == '-' || v > std::numeric_limits<T>::max())
                throw CLI::ValidationError(flag, "'" + item + "' is not a whole number in 0.." +
                                                     std::to_string(std::numeric_limits<T>::max()));
              out.push_back(static_cast<T>(v));
            }
          }
        }
      },
      help);
  o->allow_extra_args(false);
  std::string dflt;
  for (const T& v : out) {
    if constexpr (std::is_same_v<T, std::string>) dflt += (dflt.empty() ? "" : ",") + v;
    else dflt += (dflt.empty() ? "" : ",") + CLI::detail::to_string(v);
  }
  if (!dflt.empty()) o->default_str(dflt);
  return o;
}

// The files named on the command line are the run's inputs (output_guard.h):
// noted with the flag that gave them, so that a refused output says
// "--report pr.json is the platform file given with --platform". A name that
// is not a file (a shipped name) is left to the loader, which notes the file
// it resolves to.
inline void note_cli_input(const std::string& path, const std::string& kind, const std::string& flag) {
  note_input(path, "the " + kind + " given with " + flag);
}
inline void note_target_inputs(const std::string& system, const std::string& platform) {
  note_cli_input(system, "system file", "--system");
  note_cli_input(platform, "platform file", "--platform");
}

// Default platform of the DRAM demo (a shipped file name).
inline constexpr const char* kDefaultDramPlatform = "ddr5-4800-1ch";

} // namespace pnm::cli
