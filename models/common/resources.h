// Where pnmvp finds the data it ships, at run time: the platforms folder
// (platform, system, memspec, engine and model JSON) and the controller
// firmware ELF that "firmware": "builtin" means. No source or build path is
// compiled in, so a build tree, an installed tree and a copied tree all work.
//
// Search order, for each resource:
//  1. an environment override: PNMVP_PLATFORMS (the platforms folder),
//     PNMVP_FIRMWARE (the firmware ELF file); if set it must exist;
//  2. <root>/<item> for each root registered with add_share_root(): a
//     program built against an installed pnmvp (find_package(pnmvp))
//     registers that installation's share/pnmvp before main;
//  3. <dir>/share/pnmvp/<item> for dir = the running executable's folder
//     (/proc/self/exe) and up to kMaxParentLevels of its parents: finds the
//     build tree's share/pnmvp from build/ and from build/tests/<block>/,
//     and an installed <prefix>/bin/../share/pnmvp.
// Items: "platforms" (a folder) and "firmware/pnm_fw.elf" (a file). When
// nothing is found, ResourceError names every place looked.
#pragma once

#include <stdexcept>
#include <string>
#include <vector>

namespace pnm::resources {

struct ResourceError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

inline constexpr unsigned kMaxParentLevels = 3;

// The platforms folder ($PNMVP_PLATFORMS, else share/pnmvp/platforms).
std::string platforms_dir();
// The controller firmware this build made ($PNMVP_FIRMWARE, else
// share/pnmvp/firmware/pnm_fw.elf).
std::string firmware_elf();

// One resource, looked for as described above starting from the executable
// `exe` (tests pass their own). `what` names it in errors.
struct Resource {
  std::string what;     // "the platforms folder"
  std::string env;      // override variable
  std::string item;     // path below share/pnmvp
  bool directory;       // a folder (else a regular file)
};
std::string find(const Resource& r, const std::string& exe);
// The share/pnmvp folders looked in for `exe`, in search order (the
// registered ones first).
std::vector<std::string> share_roots(const std::string& exe);
// Adds a share/pnmvp folder to look in before the executable's own; a folder
// already registered is not added twice. Thread-safe; may run before main.
void add_share_root(const std::string& dir);
// Folders of named JSON files (models, GPUs, NICs): the bare names (file
// stems) of the *.json files in `dir`, sorted.
std::vector<std::string> names_in(const std::string& dir);
// A bare name ("h100-sxm") is dir/<name>.json; anything with a '/' or ending
// in ".json" is a path, returned as given. An unknown name is a ConfigError
// "<what> '<name>': no such <what> in <dir>; available: ...".
std::string resolve_named(const std::string& name_or_path, const std::string& dir, const std::string& what);

// The running executable (/proc/self/exe).
std::string self_exe();

} // namespace pnm::resources
