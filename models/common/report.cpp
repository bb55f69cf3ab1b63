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
bool is_pnmvp_report(const std::string& path) {
  std::ifstream in(path);
  std::string head(64, '\0');
  in.read(head.data(), static_cast<std::streamsize>(head.size()));
  head.resize(static_cast<size_t>(in.gcount()));
  return head.find("\"schema\": \"pnmvp.") != std::string::npos;
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
