// The one report writer. Reports carry a "schema" key first (an output
// schema: output_guard.h); the file is checked by the output guard when it is
// written: it is never an input of the run, and an existing file is replaced
// only if it is itself a pnmvp report (or another pnmvp output with --force),
// so a mistyped --report path never destroys a user's trace or config.
//
// Every report written here (and every Perfetto trace, through TraceWriter)
// ends with a "provenance" object, as gem5's config.json records a run:
//   {"version": "0.1", "commit": "<git hash>[+dirty]",
//    "command_line": "pnmvp run --model tiny ...",
//    "config": {"<file read>": {"/key/path": value, ...}, ...}}
// config holds every parameter the config loader read during the process,
// one object per document loaded (a platform, system, model, engine file;
// included files appear under the including document's key paths), in the
// order they were first loaded, with the values as used (defaults included).
// `pnmvp params FILE` gives the units, ranges, descriptions and sources of
// the same keys.
#pragma once

#include "common/config.h"
#include "common/output_guard.h"

#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace pnm {

// Throws OutputPathError (output_guard.h) naming `flag` and the path when
// check_output refuses it, std::runtime_error when it cannot be written.
// Appends the provenance object (below) unless the report already has one.
void write_report(const std::string& path, const nlohmann::ordered_json& report, bool force = false,
                  const std::string& flag = "--report");

// A parameter's value (kept as JSON text in ParamRecord) as JSON again.
nlohmann::ordered_json param_value(const ParamRecord& p);

// The report as written (with provenance), for printing with --json.
nlohmann::ordered_json with_provenance(const nlohmann::ordered_json& report);

namespace provenance {

// The program's command line, recorded once by main (arguments joined by
// spaces, each quoted for a POSIX shell when it needs it). Empty when a
// program never records it (a library user's sc_main).
void set_command_line(int argc, const char* const* argv);
const std::string& command_line();

// Called by the config loader for each document it loads: its parameter log,
// filled as the document is read. A document loaded again under the same
// origin replaces the earlier log in place.
void note_config(const std::string& origin, std::shared_ptr<const std::vector<ParamRecord>> params);
// Forgets the documents noted so far (tests; a program running unrelated jobs).
void clear_config();

// {version, commit, command_line, config} as described above.
nlohmann::ordered_json object();

} // namespace provenance

} // namespace pnm
