#include "trace_source.h"

#include "common/input_file.h"

#include <cctype>
#include <cstring>
#include <fmt/format.h>

namespace pnm::dram {

TraceFileSource::TraceFileSource(const std::string& path, uint64_t capacity_bytes)
    : path_(path), capacity_(capacity_bytes) {
  try {
    check_input_file(path, "DRAM trace", kMaxTraceBytes);
  } catch (const InputFileError& e) {
    throw TraceError(e.what());
  }
  in_.open(path);
  if (!in_) throw TraceError(fmt::format("{}: cannot open trace file", path));
}

void TraceFileSource::fail(const std::string& what) const {
  throw TraceError(fmt::format("{}:{}: {}", path_, line_, what));
}

namespace {
const char* skip_ws(const char* p) {
  while (*p == ' ' || *p == '\t' || *p == '\r') ++p;
  return p;
}
// Parses an unsigned number (hex with 0x, else decimal); nullptr if none or overflow.
const char* parse_u64(const char* p, uint64_t& v, bool allow_hex) {
  v = 0;
  int base = 10;
  if (allow_hex && p[0] == '0' && (p[1] == 'x' || p[1] == 'X')) {
    base = 16;
    p += 2;
  }
  const char* start = p;
  for (;; ++p) {
    int d;
    if (*p >= '0' && *p <= '9') d = *p - '0';
    else if (base == 16 && *p >= 'a' && *p <= 'f') d = *p - 'a' + 10;
    else if (base == 16 && *p >= 'A' && *p <= 'F') d = *p - 'A' + 10;
    else break;
    if (v > (UINT64_MAX - static_cast<uint64_t>(d)) / static_cast<uint64_t>(base)) return nullptr;
    v = v * static_cast<uint64_t>(base) + static_cast<uint64_t>(d);
  }
  return p == start ? nullptr : p;
}
bool word(const char*& p, const char* w) {
  size_t n = std::strlen(w);
  if (std::strncmp(p, w, n) == 0 && (p[n] == ' ' || p[n] == '\t' || p[n] == '\0' || p[n] == '\r')) {
    p += n;
    return true;
  }
  return false;
}
} // namespace

bool TraceFileSource::next(TraceRequest& out) {
  while (std::getline(in_, buf_)) {
    ++line_;
    const char* p = skip_ws(buf_.c_str());
    if (*p == '\0' || *p == '#') continue;
    TraceRequest r;
    int fmt_here;
    if (word(p, "LD")) {
      fmt_here = 1;
    } else if (word(p, "ST")) {
      fmt_here = 1;
      r.write = true;
    } else if (std::isdigit(static_cast<unsigned char>(*p))) {
      fmt_here = 2;
      uint64_t cyc;
      p = parse_u64(p, cyc, false);
      if (!p) fail("bad cycle number (expected '<cycle>: read|write 0x<addr>')");
      p = skip_ws(p);
      if (*p != ':') fail("expected ':' after the cycle number");
      p = skip_ws(p + 1);
      if (word(p, "read")) r.write = false;
      else if (word(p, "write")) r.write = true;
      else fail("expected 'read' or 'write' after '<cycle>:'");
      if (cyc < last_cycle_)
        fail(fmt::format("cycle {} goes backwards (previous line had {})", cyc, last_cycle_));
      last_cycle_ = cyc;
      r.timed = true;
      r.cycle = cyc;
    } else {
      fail("unrecognised line: expected 'LD 0x<addr>', 'ST 0x<addr>' (Ramulator 2) or "
           "'<cycle>: read|write 0x<addr>' (DRAMSys STL)");
    }
    if (format_ && format_ != fmt_here)
      fail("trace mixes the Ramulator 2 and DRAMSys STL formats");
    format_ = fmt_here;
    p = skip_ws(p);
    uint64_t addr;
    const char* e = parse_u64(p, addr, true);
    if (!e) fail("bad or missing address (expected 0x<hex> or decimal)");
    e = skip_ws(e);
    // STL lines may carry write data after the address; LD/ST lines may not.
    if (*e != '\0' && !(fmt_here == 2 && r.write))
      fail(fmt::format("unexpected text after the address: '{}'", e));
    if (addr >= capacity_)
      fail(fmt::format("address 0x{:x} is beyond the device capacity (0x{:x} bytes)", addr,
                       capacity_));
    r.addr = addr;
    out = r;
    return true;
  }
  if (in_.bad()) fail("read error");
  return false;
}

Pattern parse_pattern(const std::string& s) {
  if (s == "seq") return Pattern::seq;
  if (s == "random") return Pattern::random;
  if (s == "stride") return Pattern::stride;
  throw std::invalid_argument(fmt::format("pattern '{}': valid: seq|random|stride", s));
}

SyntheticSource::SyntheticSource(Pattern p, uint64_t count, uint64_t capacity_bytes,
                                 uint32_t line_bytes, double write_fraction,
                                 uint64_t stride_bytes, uint64_t seed)
    : pattern_(p), count_(count), capacity_(capacity_bytes), line_(line_bytes),
      stride_(stride_bytes), write_fraction_(write_fraction), rng_(seed) {
  if (line_ == 0 || capacity_ < line_) throw std::invalid_argument("synthetic: capacity too small");
  if (p == Pattern::stride && (stride_ == 0 || stride_ % line_))
    throw std::invalid_argument(
        fmt::format("stride must be a non-zero multiple of {} bytes", line_));
}

bool SyntheticSource::next(TraceRequest& out) {
  if (i_ >= count_) return false;
  TraceRequest r;
  const uint64_t lines = capacity_ / line_;
  switch (pattern_) {
  case Pattern::seq: r.addr = (i_ % lines) * line_; break;
  case Pattern::random: r.addr = std::uniform_int_distribution<uint64_t>(0, lines - 1)(rng_) * line_; break;
  case Pattern::stride: r.addr = (i_ * stride_) % capacity_; break;
  }
  if (write_fraction_ > 0)
    r.write = std::uniform_real_distribution<double>(0, 1)(rng_) < write_fraction_;
  ++i_;
  out = r;
  return true;
}

} // namespace pnm::dram
