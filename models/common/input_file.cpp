#include "common/input_file.h"
#include "common/output_guard.h"

#include <fmt/format.h>
#include <sys/stat.h>

#include <cerrno>
#include <cstring>

namespace pnm {

uint64_t check_input_file(const std::string& path, const std::string& what, uint64_t max_bytes) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0)
    throw InputFileError(fmt::format("cannot open {} '{}': {}", what, path, std::strerror(errno)));
  if (S_ISDIR(st.st_mode)) throw InputFileError(fmt::format("{} '{}': is a directory, not a file", what, path));
  if (!S_ISREG(st.st_mode))
    throw InputFileError(fmt::format("{} '{}': is not a regular file (a device, FIFO or socket cannot be read as one)",
                                     what, path));
  const uint64_t size = uint64_t(st.st_size);
  if (size > max_bytes)
    throw InputFileError(fmt::format("{} '{}': is {} bytes, more than the {} a {} may be", what, path, size, max_bytes,
                                     what));
  note_input(path, fmt::format("an input of this run (the {} '{}')", what, path)); // no output may replace it
  return size;
}

} // namespace pnm
