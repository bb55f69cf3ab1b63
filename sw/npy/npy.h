// NumPy .npy files of float32 arrays, for host software (weights, KV caches,
// reference outputs). The reader treats every file as untrusted: any bad
// input is an NpyError whose message starts with the path and says what is
// wrong and where, and nothing is allocated beyond what the file's own size
// can back.
#pragma once

#include <cstddef>
#include <stdexcept>
#include <string>
#include <vector>

namespace pnm::npy {

class NpyError : public std::runtime_error {
public:
  using std::runtime_error::runtime_error;
};

struct Array {
  std::vector<size_t> shape; // empty for a 0-d (scalar) array
  std::vector<float> data;   // C (row-major) order, native byte order
  size_t size() const { return data.size(); }
};

// Reads a float32 array: format versions 1.0, 2.0 and 3.0; dtype '<f4' or
// '>f4' (converted to native order); fortran_order False; any number of
// dimensions. The data must fill the file exactly: short or trailing bytes
// are errors, not silently ignored.
Array read_f32(const std::string& path);

// Writes format 1.0, '<f4', C order, with the header numpy itself writes
// (byte-identical, data aligned to 64 bytes). Refuses to replace an existing
// file unless `overwrite`; `data` holds the product of `shape` floats.
void write_f32(const std::string& path, const std::vector<size_t>& shape, const float* data, bool overwrite);

} // namespace pnm::npy
