// The VP's version and the git commit it was built from (calibration files,
// reports and `pnmvp --version` record them).
#pragma once

#include <string>

namespace pnm {

const char* version();    // the project version, "0.1"
const char* git_commit(); // full commit hash of the build's source tree, "unknown" outside git; "+dirty" when modified
std::string version_string(); // "0.1 (commit abcdef012345)"

} // namespace pnm
