// pnmvp: the virtual platform's command line. One subcommand per job.
#include "commands.h"
#include "common/config.h"
#include "common/log.h"
#include "common/output_guard.h"
#include "common/report.h"
#include "common/version.h"
#include "dram/trace_source.h"

#include <cstdlib>
#include <iostream>
#include <map>

// libsystemc.so carries its own main() calling sc_main(); ours, defined in
// the executable, takes precedence, and this sc_main only satisfies the link.
extern "C" int sc_main(int, char**) { return 1; }

int main(int argc, char** argv) {
  setenv("SC_COPYRIGHT_MESSAGE", "DISABLE", 1);
  pnm::provenance::set_command_line(argc, argv); // every report and trace records it
  CLI::App app{"pnmvp: virtual platform of a CXL Type-3 memory device with near-memory "
               "attention compute"};
  app.require_subcommand(1);
  app.set_version_flag("--version", "pnmvp " + pnm::version_string());
  pnm::cli::Globals g;
  app.add_flag("-v,--verbose", g.verbose, "log informational messages");
  app.add_flag("--debug", g.debug, "log debug messages (very chatty)");
  std::map<std::string, std::function<int()>> runners;
  runners["dram"] = pnm::cli::add_dram(app, g);
  runners["params"] = pnm::cli::add_params(app, g);
  runners["mlc"] = pnm::cli::add_mlc(app, g);
  runners["identify"] = pnm::cli::add_identify(app, g);
  runners["health"] = pnm::cli::add_health(app, g);
  runners["poison"] = pnm::cli::add_poison(app, g);
  runners["mailbox"] = pnm::cli::add_mailbox(app, g);
  runners["attend"] = pnm::cli::add_attend(app, g);
  runners["run"] = pnm::cli::add_run(app, g);
  runners["sweep"] = pnm::cli::add_sweep(app, g);
  runners["calibrate"] = pnm::cli::add_calibrate(app, g);
  runners["serve"] = pnm::cli::add_serve(app, g);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    // --help and --version exit 0; every usage error (unknown flag or
    // subcommand, bad value, missing argument) exits 2, as for Unix tools,
    // whatever CLI11's own code for it.
    return app.exit(e) == 0 ? 0 : 2;
  }
  pnm::log::install_report_handler();
  pnm::log::set_level(g.debug ? pnm::log::Level::debug
                      : g.verbose ? pnm::log::Level::info
                                  : pnm::log::Level::warning);
  try {
    for (auto& [name, run] : runners)
      if (app.got_subcommand(name)) return run();
  } catch (const pnm::ConfigError& e) {
    std::cerr << "pnmvp: config error: " << e.what() << "\n";
    return 2;
  } catch (const pnm::dram::TraceError& e) {
    std::cerr << "pnmvp: trace error: " << e.what() << "\n";
    return 2;
  } catch (const pnm::OutputPathError& e) {
    // An output aimed at an input, a missing folder, a file pnmvp did not write: bad input.
    std::cerr << "pnmvp: output error: " << e.what() << "\n";
    return 2;
  } catch (const std::exception& e) {
    std::cerr << "pnmvp: error: " << e.what() << "\n";
    return 1;
  }
  return 1;
}
