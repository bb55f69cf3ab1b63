#include "platform.h"

#include <cstdlib>
#include <fmt/format.h>
#include <sys/stat.h>

namespace pnm {

namespace {
bool is_file(const std::string& p) {
  struct stat st {};
  return ::stat(p.c_str(), &st) == 0 && S_ISREG(st.st_mode);
}
} // namespace

std::string platforms_dir() {
  if (const char* env = std::getenv("PNMVP_PLATFORMS")) return env;
  return PNM_PLATFORMS_DIR;
}

std::string resolve_platform(const std::string& name) {
  if (is_file(name)) return name;
  for (const std::string& cand : {platforms_dir() + "/" + name, platforms_dir() + "/" + name + ".json"})
    if (is_file(cand)) return cand;
  throw ConfigError(fmt::format("platform '{}': no such file (nor in {})", name, platforms_dir()));
}

PlatformConfig load_platform(const std::string& path) {
  ConfigNode root = ConfigNode::load_file(path);
  PlatformConfig p;
  p.file = path;
  std::string schema = root.text("schema", "platform file format");
  if (schema != "pnmvp.platform.v1")
    root.fail("schema", fmt::format("'{}' is not a platform file (expected pnmvp.platform.v1)", schema));
  p.name = root.text("name", "platform name");
  p.description = root.text_or("description", "", "what this platform is");
  p.dram = dram::load_dram_config(root.child("dram"));
  root.finish();
  p.params = root.params();
  return p;
}

} // namespace pnm
