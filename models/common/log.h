// The one logger: fmt-formatted messages routed through SystemC's sc_report,
// so SystemC's own reports and ours share one handler, one verbosity and one
// output. Cores call these functions; they never include SystemC themselves.
#pragma once

#include <fmt/format.h>
#include <string>

namespace pnm::log {

enum class Level { error = 0, warning = 1, info = 2, debug = 3 };

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
