// One check for every file pnmvp reads: it must be a regular file (not a
// device such as /dev/zero, a FIFO or a folder, which would hang a reader or
// read as empty) no larger than what that kind of input can sensibly be.
#pragma once

#include <cstdint>
#include <stdexcept>
#include <string>

namespace pnm {

struct InputFileError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

// Size limits, by kind of input.
inline constexpr uint64_t kMaxConfigBytes = 64ull << 20;  // JSON config files and mailbox scripts
inline constexpr uint64_t kMaxTraceBytes = 16ull << 30;   // request and DRAM traces, .npy data
inline constexpr uint64_t kMaxElfBytes = 256ull << 20;    // firmware images

// Notes the file as an input of the run (output_guard.h: no output may
// replace it). Returns the file's size; InputFileError "<what> '<path>': ..." when it does
// not exist, is not a regular file, or is larger than max_bytes.
uint64_t check_input_file(const std::string& path, const std::string& what, uint64_t max_bytes);

} // namespace pnm
