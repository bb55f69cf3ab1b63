#include "report.h"

#include "common/version.h"

#include <fmt/format.h>
#include <fstream>
#include <mutex>
#include <stdexcept>
#include <utility>

namespace pnm {

nlohmann::ordered_json param_value(const ParamRecord& p) {
  nlohmann::ordered_json v = nlohmann::ordered_json::parse(p.value, nullptr, false);
  return v.is_discarded() ? nlohmann::ordered_json(p.value) : v;
}

nlohmann::ordered_json with_provenance(const nlohmann::ordered_json& report) {
  if (report.contains("provenance")) return report;
  nlohmann::ordered_json with = report;
  with["provenance"] = provenance::object();
  return with;
}

void write_report(const std::string& path, const nlohmann::ordered_json& report, bool force,
                  const std::string& flag) {
  if (!report.is_object() || !report.contains("schema"))
    throw std::logic_error("report without a schema key");
  check_output(path, flag, force, /*replace_report=*/true);
  std::ofstream out(path, std::ios::trunc);
  if (!out) throw std::runtime_error(fmt::format("report '{}': cannot open for writing", path));
  // replace: an argument that is not UTF-8 must not make the report unwritable
  out << with_provenance(report).dump(2, ' ', false, nlohmann::ordered_json::error_handler_t::replace) << "\n";
  if (!out) throw std::runtime_error(fmt::format("report '{}': write failed", path));
}

namespace provenance {

namespace {
struct Registry {
  std::mutex mutex;
  std::string command_line;
  std::vector<std::pair<std::string, std::shared_ptr<const std::vector<ParamRecord>>>> configs;
};
Registry& registry() {
  static Registry* r = new Registry; // never destroyed: reports may be written from static destructors
  return *r;
}

// Quotes an argument for a POSIX shell only when it needs it, so the usual
// command line reads as typed and an unusual one can still be pasted back.
std::string shell_word(const std::string& a) {
  if (!a.empty() && a.find_first_not_of("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
                                        "0123456789_-+=/.,:@%") == std::string::npos)
    return a;
  std::string q = "'";
  for (char c : a) q += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return q + "'";
}
} // namespace

void set_command_line(int argc, const char* const* argv) {
  std::string line;
  for (int i = 0; i < argc; ++i) {
    if (i) line += ' ';
    line += shell_word(argv[i] ? argv[i] : "");
  }
  Registry& r = registry();
  std::lock_guard<std::mutex> lock(r.mutex);
  r.command_line = std::move(line);
}

const std::string& command_line() { return registry().command_line; }

void note_config(const std::string& origin, std::shared_ptr<const std::vector<ParamRecord>> params) {
  Registry& r = registry();
  std::lock_guard<std::mutex> lock(r.mutex);
  for (auto& [name, log] : r.configs)
    if (name == origin) {
      log = std::move(params);
      return;
    }
  r.configs.emplace_back(origin, std::move(params));
}

void clear_config() {
  Registry& r = registry();
  std::lock_guard<std::mutex> lock(r.mutex);
  r.configs.clear();
}

nlohmann::ordered_json object() {
  Registry& r = registry();
  std::lock_guard<std::mutex> lock(r.mutex);
  nlohmann::ordered_json config = nlohmann::ordered_json::object();
  for (const auto& [origin, log] : r.configs) {
    nlohmann::ordered_json values = nlohmann::ordered_json::object();
    for (const ParamRecord& p : *log) values[p.path] = param_value(p);
    config[origin] = std::move(values);
  }
  return {{"version", version()},
          {"commit", git_commit()},
          {"command_line", r.command_line},
          {"config", std::move(config)}};
}

} // namespace provenance

} // namespace pnm
