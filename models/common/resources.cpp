#include "common/resources.h"

#include "common/config.h"

#include <cstdlib>
#include <filesystem>
#include <fmt/format.h>
#include <fmt/ranges.h>
#include <algorithm>
#include <mutex>
#include <system_error>

namespace fs = std::filesystem;

namespace pnm::resources {

namespace {

const Resource kPlatforms{"the platforms folder (platform, memspec, engine and model files)", "PNMVP_PLATFORMS",
                          "platforms", true};
const Resource kFirmware{"the controller firmware ELF (\"firmware\": \"builtin\")", "PNMVP_FIRMWARE",
                         "firmware/pnm_fw.elf", false};

struct Registered {
  std::mutex mutex;
  std::vector<std::string> roots;
};
Registered& registered() {
  static Registered* r = new Registered; // used from static initialisers, never destroyed
  return *r;
}

bool exists_as(const fs::path& p, bool directory) {
  std::error_code ec;
  return directory ? fs::is_directory(p, ec) : fs::is_regular_file(p, ec);
}

} // namespace

std::string self_exe() {
  std::error_code ec;
  const fs::path p = fs::read_symlink("/proc/self/exe", ec);
  if (ec) throw ResourceError(fmt::format("cannot tell where this program lives (/proc/self/exe: {})", ec.message()));
  return p.string();
}

void add_share_root(const std::string& dir) {
  Registered& r = registered();
  std::lock_guard<std::mutex> lock(r.mutex);
  for (const std::string& d : r.roots)
    if (d == dir) return;
  r.roots.push_back(dir);
}

std::vector<std::string> share_roots(const std::string& exe) {
  std::vector<std::string> roots;
  {
    Registered& r = registered();
    std::lock_guard<std::mutex> lock(r.mutex);
    roots = r.roots;
  }
  fs::path dir = fs::path(exe).parent_path();
  for (unsigned up = 0; up <= kMaxParentLevels; ++up) {
    roots.push_back((dir / "share" / "pnmvp").string());
    if (!dir.has_parent_path() || dir.parent_path() == dir) break;
    dir = dir.parent_path();
  }
  return roots;
}

std::string find(const Resource& r, const std::string& exe) {
  if (const char* env = std::getenv(r.env.c_str()); env && *env) {
    if (exists_as(env, r.directory)) return env;
    throw ResourceError(fmt::format("{}: {}={} is not {}", r.what, r.env, env,
                                    r.directory ? "a folder" : "a file"));
  }
  std::string looked;
  for (const std::string& root : share_roots(exe)) {
    const fs::path p = fs::path(root) / r.item;
    if (exists_as(p, r.directory)) return p.string();
    looked += "\n  " + p.string();
  }
  throw ResourceError(fmt::format("cannot find {}; {} is not set and none of these exists:{}\n"
                                  "Set {} to its path.",
                                  r.what, r.env, looked, r.env));
}

std::string platforms_dir() { return find(kPlatforms, self_exe()); }
std::string firmware_elf() { return find(kFirmware, self_exe()); }

std::vector<std::string> names_in(const std::string& dir) {
  std::vector<std::string> names;
  std::error_code ec;
  for (const auto& e : std::filesystem::directory_iterator(dir, ec))
    if (e.is_regular_file(ec) && e.path().extension() == ".json") names.push_back(e.path().stem().string());
  std::sort(names.begin(), names.end());
  return names;
}

std::string resolve_named(const std::string& name_or_path, const std::string& dir, const std::string& what) {
  const std::string& s = name_or_path;
  if (s.find('/') != std::string::npos || (s.size() > 5 && s.compare(s.size() - 5, 5, ".json") == 0)) return s;
  const std::string file = dir + "/" + s + ".json";
  std::error_code ec;
  if (std::filesystem::is_regular_file(file, ec)) return file;
  const auto names = names_in(dir);
  throw ConfigError(fmt::format("{} '{}': no such {} in {}; available: {}", what, s, what, dir,
                                names.empty() ? "none" : fmt::format("{}", fmt::join(names, ", "))));
}

} // namespace pnm::resources
