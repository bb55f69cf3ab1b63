// Where replayed requests come from: memory traces in the two formats users
// already have (streamed line by line, never loaded whole) or synthetic
// patterns.
#pragma once

#include <cstdint>
#include <fstream>
#include <memory>
#include <random>
#include <stdexcept>
#include <string>

namespace pnm::dram {

struct TraceRequest {
  uint64_t addr = 0;
  bool write = false;
  bool timed = false;  // `cycle` is meaningful (DRAMSys STL traces)
  uint64_t cycle = 0;  // arrival, in DRAM clock cycles
};

class TraceError : public std::runtime_error {
public:
  using std::runtime_error::runtime_error;
};

class RequestSource {
public:
  virtual ~RequestSource() = default;
  // Returns false at the end. Throws TraceError on bad input.
  virtual bool next(TraceRequest& out) = 0;
};

// Accepts, per line: Ramulator 2 load/store ("LD 0x1000", "ST 0x1000") or
// DRAMSys STL ("<cycle>: read 0x1000", "<cycle>: write 0x1000 [data]").
// Blank lines and lines starting with '#' are skipped. The first request line
// fixes the format; mixing formats is an error. Addresses must be below
// `capacity_bytes`: an address beyond the device is an error, never a wrap.
class TraceFileSource : public RequestSource {
public:
  TraceFileSource(const std::string& path, uint64_t capacity_bytes);
  bool next(TraceRequest& out) override;
  uint64_t line() const { return line_; }

private:
  [[noreturn]] void fail(const std::string& what) const;
  std::string path_;
  std::ifstream in_;
  uint64_t capacity_;
  uint64_t line_ = 0;
  int format_ = 0; // 0 unknown, 1 Ramulator LD/ST, 2 DRAMSys STL
  uint64_t last_cycle_ = 0;
  std::string buf_;
};

enum class Pattern { seq, random, stride };
Pattern parse_pattern(const std::string& s); // throws std::invalid_argument

// Synthetic traffic: `count` requests of 64 B (the burst size) starting at 0.
// seq: consecutive lines; random: uniform lines over the capacity (fixed seed);
// stride: every `stride_bytes`, wrapping within the capacity.
class SyntheticSource : public RequestSource {
public:
  SyntheticSource(Pattern p, uint64_t count, uint64_t capacity_bytes, uint32_t line_bytes,
                  double write_fraction = 0.0, uint64_t stride_bytes = 4096, uint64_t seed = 1);
  bool next(TraceRequest& out) override;

private:
  Pattern pattern_;
  uint64_t count_, capacity_, line_, stride_;
  double write_fraction_;
  uint64_t i_ = 0;
  std::mt19937_64 rng_;
};

} // namespace pnm::dram
