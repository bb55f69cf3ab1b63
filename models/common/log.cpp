#include "log.h"

#include <atomic>
#include <cstdio>
#include <systemc>

namespace pnm::log {

namespace {
std::atomic<int> g_level{static_cast<int>(Level::warning)};
std::atomic<unsigned long> g_warnings{0};
std::atomic<unsigned long> g_errors{0};

// Compact one-line reports on stderr, so logs never mix into a command's
// stdout (summaries, JSON lines). SystemC's own reports come through here too.
void handler(const sc_core::sc_report& rep, const sc_core::sc_actions& actions) {
  if (actions & sc_core::SC_DISPLAY) {
    const char* sev = "info";
    switch (rep.get_severity()) {
    case sc_core::SC_WARNING: sev = "warning"; break;
    case sc_core::SC_ERROR: sev = "error"; break;
    case sc_core::SC_FATAL: sev = "fatal"; break;
    default: break;
    }
    std::fprintf(stderr, "[%s] %s: %s\n", sev, rep.get_msg_type(), rep.get_msg());
  }
  // Let SystemC act on everything but display (throw, stop, abort, ...).
  sc_core::sc_report_handler::default_handler(rep, actions & ~sc_core::SC_DISPLAY);
}

} // namespace

void install_report_handler() { sc_core::sc_report_handler::set_handler(handler); }

void set_level(Level l) {
  g_level = static_cast<int>(l);
  sc_core::sc_report_handler::set_verbosity_level(l >= Level::debug  ? sc_core::SC_DEBUG
                                                  : l >= Level::info ? sc_core::SC_MEDIUM
                                                                     : sc_core::SC_LOW);
}

Level level() { return static_cast<Level>(g_level.load()); }

void emit(Level l, const char* who, const std::string& msg) {
  std::string type = std::string("pnm/") + who;
  switch (l) {
  case Level::error:
    ++g_errors;
    sc_core::sc_report_handler::set_actions(type.c_str(), sc_core::SC_ERROR,
                                            sc_core::SC_DISPLAY);
    sc_core::sc_report_handler::report(sc_core::SC_ERROR, type.c_str(), msg.c_str(), "", 0);
    break;
  case Level::warning:
    ++g_warnings;
    sc_core::sc_report_handler::report(sc_core::SC_WARNING, type.c_str(), msg.c_str(), "", 0);
    break;
  case Level::info:
    sc_core::sc_report_handler::report(sc_core::SC_INFO, type.c_str(), msg.c_str(),
                                       sc_core::SC_MEDIUM, "", 0);
    break;
  case Level::debug:
    sc_core::sc_report_handler::report(sc_core::SC_INFO, type.c_str(), msg.c_str(),
                                       sc_core::SC_DEBUG, "", 0);
    break;
  }
}

unsigned long warning_count() { return g_warnings; }
unsigned long error_count() { return g_errors; }

} // namespace pnm::log
