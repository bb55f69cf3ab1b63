#include "report.h"

#include <fmt/format.h>
#include <fstream>
#include <stdexcept>
#include <sys/stat.h>

namespace pnm {

namespace {
bool exists(const std::string& path) {
  struct stat st {};
  return ::stat(path.c_str(), &st) == 0;
}
// Schemas of pnmvp's inputs: they carry a pnmvp schema too, but pnmvp never
// writes them, so a mistyped output path must not replace one.
constexpr const char* kInputSchemas[] = {"platform", "system", "model", "engine",
                                         "memspec", "memspec-io", "memspec-power"};

bool is_pnmvp_report(const std::string& path) {
  std::ifstream in(path);
  std::string head(128, '\0');
  in.read(head.data(), static_cast<std::streamsize>(head.size()));
  head.resize(static_cast<size_t>(in.gcount()));
  const std::string tag = "\"schema\": \"pnmvp.";
  const size_t at = head.find(tag);
  if (at == std::string::npos) return false;
  const size_t from = at + tag.size();
  const std::string kind = head.substr(from, head.find(".v", from) - from);
  for (const char* input : kInputSchemas)
    if (kind == input) return false;
  return true;
}
} // namespace

void check_output_path(const std::string& path, const std::string& what, bool force) {
  if (path.empty()) throw std::runtime_error(fmt::format("{}: empty output path", what));
  if (!force && exists(path) && !is_pnmvp_report(path))
    throw std::runtime_error(fmt::format(
        "{} '{}' exists and was not written by pnmvp; refusing to overwrite it "
        "(remove it or choose another path)",
        what, path));
}

void write_report(const std::string& path, const nlohmann::ordered_json& report) {
  if (!report.is_object() || !report.contains("schema"))
    throw std::logic_error("report without a schema key");
  check_output_path(path, "report");
  std::ofstream out(path, std::ios::trunc);
  if (!out) throw std::runtime_error(fmt::format("report '{}': cannot open for writing", path));
  out << report.dump(2) << "\n";
  if (!out) throw std::runtime_error(fmt::format("report '{}': write failed", path));
}

} // namespace pnm
