// The output guard: one check for every file pnmvp writes (reports, stats,
// traces, VCD, CSV, .npy, calibrations), so that no output ever destroys an
// input or a file pnmvp did not write.
//
// Inputs: every file a run reads is noted here: check_input_file()
// (input_file.h) notes each file it passes, npy::read_f32 each array, and the
// CLI notes the files given on its command line before anything is loaded,
// with the flag that named them ("the platform file given with --platform").
//
// Outputs: check_output() is called for each output path before the
// simulation starts and again when the file is written. It refuses, with an
// OutputPathError (the CLI exits 2, as for any bad input):
//   - an output that is an input of the run: the same file by identity
//     (device and inode), so another spelling, "..", a symlink or a hard link
//     all count; with or without --force;
//   - a path whose folder does not exist, or that is a folder;
//   - an existing file that is not an output of pnmvp (recognised by an
//     output schema such as pnmvp.run.v1, never an input schema such as
//     pnmvp.platform.v1, or by the header of a trace, CSV, VCD or .npy that
//     pnmvp writes), with or without --force; an empty file may be replaced
//     (with --force, or by a report), and a device or pipe (/dev/null,
//     /dev/stdout) is written to;
//   - an existing output of pnmvp without --force, except a JSON report
//     where `replace_report` says so (the report writer has always replaced
//     its own reports).
//   - two output flags of one run that name the same file (check_outputs).
#pragma once

#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

namespace pnm {

// The first line of each log `pnmvp sweep` writes (followed by the point's
// label), by which the guard knows the log as pnmvp's own.
inline constexpr char kSweepLogHeader[] = "pnmvp sweep point: ";

struct OutputPathError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

// Notes `path` as an input of this run, described as `what` in refusals
// ("the platform file given with --platform"). A path that is not an
// existing file is ignored (a shipped name such as "pnm-ref"); a file noted
// before keeps its first description.
void note_input(const std::string& path, const std::string& what);
// The inputs noted so far (path, description), in order; forgetting them (tests).
std::vector<std::pair<std::string, std::string>> noted_inputs();
void clear_inputs();

// What kind of pnmvp output the file is ("report pnmvp.run.v1", "Perfetto
// trace", ...), or "" when it is not one (or cannot be read).
std::string output_kind(const std::string& path);

// Throws OutputPathError "<flag> <path> ..." as described above.
void check_output(const std::string& path, const std::string& flag, bool force, bool replace_report = false);

// check_output for each (flag, path) of one run (empty paths skipped), and
// no two of them the same file.
struct OutputFlag {
  std::string flag, path;
  bool replace_report = false;
};
void check_outputs(const std::vector<OutputFlag>& outputs, bool force);

} // namespace pnm
