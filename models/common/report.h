// The one report writer. Reports carry a "schema" key first; an existing file
// is overwritten only if it is itself a pnmvp report, so a mistyped --report
// path never destroys a user's trace or config.
#pragma once

#include <nlohmann/json.hpp>
#include <string>

namespace pnm {

// Throws std::runtime_error naming the path if the file exists and is not a
// pnmvp report, or cannot be written.
void write_report(const std::string& path, const nlohmann::ordered_json& report);

// Same protection for other outputs we create (traces, CSV, .npy): refuses to
// replace a file not produced by pnmvp unless `force`.
void check_output_path(const std::string& path, const std::string& what, bool force = false);

} // namespace pnm
