// The one logger: fmt-formatted messages routed through SystemC's sc_report,
// so SystemC's own reports and ours share one handler, one verbosity and one
// output. Cores call these functions; they never include SystemC themselves.
// The library never replaces the program's sc_report handler: a program that
// embeds pnmvp keeps its own; pnmvp's main and the test mains call
// install_report_handler() for pnmvp's compact one-line format.
#pragma once

#include <fmt/format.h>
#include <string>

namespace pnm::log {

enum class Level { error = 0, warning = 1, info = 2, debug = 3 };

// Makes pnmvp's handler the program's sc_report handler: one line per report
// on stderr ("[warning] pnm/dram: ..."), SystemC's actions otherwise kept.
void install_report_handler();

// Our verbosity, and SystemC's verbosity level to match (process-wide).
void set_level(Level level);
Level level();
inline bool enabled(Level l) { return static_cast<int>(l) <= static_cast<int>(level()); }

void emit(Level l, const char* who, const std::string& msg);

template <typename... Args>
void info(const char* who, fmt::format_string<Args...> f, Args&&... args) {
  if (enabled(Level::info)) emit(Level::info, who, fmt::format(f, std::forward<Args>(args)...));
}
template <typename... Args>
void debug(const char* who, fmt::format_string<Args...> f, Args&&... args) {
  if (enabled(Level::debug)) emit(Level::debug, who, fmt::format(f, std::forward<Args>(args)...));
}
template <typename... Args>
void warn(const char* who, fmt::format_string<Args...> f, Args&&... args) {
  if (enabled(Level::warning))
    emit(Level::warning, who, fmt::format(f, std::forward<Args>(args)...));
}
// Errors are logged, never thrown from here: the caller decides what fails.
template <typename... Args>
void error(const char* who, fmt::format_string<Args...> f, Args&&... args) {
  emit(Level::error, who, fmt::format(f, std::forward<Args>(args)...));
}

// Number of warnings and errors emitted (tests check that bad input is logged).
unsigned long warning_count();
unsigned long error_count();

} // namespace pnm::log
