#include "npy/npy.h"

#include "common/output_guard.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstdint>
#include <cstring>
#include <fcntl.h>
#include <limits>
#include <sys/stat.h>
#include <unistd.h>
#include <utility>

namespace pnm::npy {
namespace {

constexpr char kMagic[] = "\x93NUMPY";
constexpr size_t kMagicBytes = 6;
constexpr size_t kVersionEndByte = kMagicBytes + 2; // major, minor
constexpr size_t kMaxPrefixBytes = kVersionEndByte + 4;
constexpr size_t kPrefixBytesV1 = kVersionEndByte + 2; // 2-byte header length in 1.0
constexpr size_t kMaxHeaderBytesV1 = 0xffff;
// numpy writes a few hundred bytes; a larger length is corrupt or hostile, and
// capping it bounds what the parser has to chew through.
constexpr size_t kMaxHeaderBytes = size_t{1} << 20;
constexpr size_t kAlignBytes = 64; // numpy aligns the data so it can be mmapped
// numpy leaves room to rewrite axis 0 in place while appending (format.py).
constexpr size_t kGrowthAxisMaxDigits = 21;
constexpr size_t kFloatBytes = sizeof(float);
constexpr int kMaxNestingDepth = 32; // the parser recurses: bound the stack
constexpr size_t kMaxQuotedChars = 60;
constexpr size_t kMaxIoChunkBytes = size_t{1} << 30; // read()/write() cap a call near 2 GiB
constexpr bool kHostLittleEndian = __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__;

static_assert(sizeof(float) == 4 && std::numeric_limits<float>::is_iec559, "float must be IEEE binary32");

[[noreturn]] void fail(const std::string& path, const std::string& what) {
  throw NpyError(path + ": " + what);
}

class Fd {
public:
  explicit Fd(int fd) : fd_(fd) {}
  ~Fd() {
    if (fd_ >= 0) ::close(fd_);
  }
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  int get() const { return fd_; }
  int release() { return std::exchange(fd_, -1); }

private:
  int fd_;
};

void byteswap32(void* buf, size_t count) {
  auto* p = static_cast<uint32_t*>(buf);
  for (size_t i = 0; i < count; ++i) p[i] = __builtin_bswap32(p[i]);
}

// Reads until `len` bytes or end of file; returns how many arrived.
size_t read_full(const std::string& path, int fd, void* buf, size_t len) {
  auto* p = static_cast<unsigned char*>(buf);
  size_t done = 0;
  while (done < len) {
    ssize_t n = ::read(fd, p + done, std::min(len - done, kMaxIoChunkBytes));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) fail(path, fmt::format("read failed at byte {}: {}", done, std::strerror(errno)));
    if (n == 0) break;
    done += static_cast<size_t>(n);
  }
  return done;
}

// Returns 0 on success, else errno.
int write_full(int fd, const void* buf, size_t len) {
  const auto* p = static_cast<const unsigned char*>(buf);
  while (len > 0) {
    ssize_t n = ::write(fd, p, std::min(len, kMaxIoChunkBytes));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return errno;
    p += n;
    len -= static_cast<size_t>(n);
  }
  return 0;
}

std::string shape_repr(const std::vector<size_t>& shape) { // Python's tuple repr
  if (shape.size() == 1) return fmt::format("({},)", shape[0]);
  return fmt::format("({})", fmt::join(shape, ", "));
}

// Element count, or false if it (or its size in bytes) does not fit in size_t.
bool checked_count(const std::vector<size_t>& shape, size_t& count) {
  count = 1;
  for (size_t d : shape)
    if (__builtin_mul_overflow(count, d, &count)) return false;
  size_t bytes;
  return !__builtin_mul_overflow(count, kFloatBytes, &bytes);
}

std::string quote(const std::string& text) {
  if (text.size() <= kMaxQuotedChars) return text;
  return text.substr(0, kMaxQuotedChars) + "...";
}

std::string hex_bytes(const unsigned char* p, size_t len) {
  std::string out;
  for (size_t i = 0; i < len; ++i) out += fmt::format("{}{:02x}", i ? " " : "", p[i]);
  return out;
}

// numpy's name for a dtype string, for error messages ("" if unknown).
std::string dtype_name(const std::string& descr) {
  static const std::pair<const char*, const char*> kNames[] = {
      {"f2", "float16"},     {"f4", "float32"}, {"f8", "float64"},   {"f12", "float96"},
      {"f16", "float128"},   {"i1", "int8"},    {"i2", "int16"},     {"i4", "int32"},
      {"i8", "int64"},       {"u1", "uint8"},   {"u2", "uint16"},    {"u4", "uint32"},
      {"u8", "uint64"},      {"b1", "bool"},    {"c8", "complex64"}, {"c16", "complex128"},
      {"c32", "complex256"}, {"O", "object"},   {"O8", "object"}};
  std::string t = descr;
  if (!t.empty() && std::string("<>|=").find(t[0]) != std::string::npos) t.erase(0, 1);
  for (const auto& [code, name] : kNames)
    if (t == code) return name;
  if (t.empty()) return "";
  if (t.rfind("M8", 0) == 0) return "datetime64";
  if (t.rfind("m8", 0) == 0) return "timedelta64";
  if (t.size() > 1 && std::all_of(t.begin() + 1, t.end(), [](char c) { return c >= '0' && c <= '9'; })) {
    if (t[0] == 'U') return "unicode string";
    if (t[0] == 'S') return "byte string";
    if (t[0] == 'V') return "raw bytes";
  }
  return "";
}

// The header is a Python literal; this parses the subset literal_eval would
// accept that can plausibly appear (str, int, float, bool, None, tuple, list,
// dict), so that a structured dtype or an odd value is named rather than
// rejected as noise.
struct Value {
  enum class Kind { Str, Int, Float, Bool, None, Tuple, List, Dict };
  Kind kind = Kind::None;
  size_t begin = 0, end = 0; // span in the header text
  std::string str;           // Str: contents; Int: digits
  bool negative = false;     // Int
  bool flag = false;         // Bool
  std::vector<Value> items;  // Tuple, List; Dict: key, value, key, value, ...
};

class Parser {
public:
  Parser(const std::string& path, const std::string& text, size_t file_offset)
      : path_(path), text_(text), offset_(file_offset) {}

  Value parse_dict() {
    skip_space();
    if (peek() != '{') error("expected '{' (the header must be a dict)");
    Value v = parse_value(0);
    skip_space();
    if (pos_ < text_.size()) error("unexpected text after the closing '}'");
    return v;
  }

  size_t file_byte(size_t header_pos) const { return offset_ + header_pos; }

private:
  int peek() const { return pos_ < text_.size() ? static_cast<unsigned char>(text_[pos_]) : -1; }

  static bool one_of(int c, const char* set) { return c > 0 && std::strchr(set, c); }

  void skip_space() {
    while (one_of(peek(), " \t\r\n\f\v")) ++pos_;
  }

  std::string describe_here() const {
    int c = peek();
    if (c < 0) return "the end of the header";
    if (c == '\'') return "\"'\"";
    if (c >= 0x20 && c < 0x7f) return fmt::format("'{}'", static_cast<char>(c));
    return fmt::format("byte 0x{:02x}", c);
  }

  [[noreturn]] void error(const std::string& what) const {
    fail(path_, fmt::format("header is not a valid Python dict literal: {} at byte {}, found {}", what,
                            file_byte(pos_), describe_here()));
  }

  Value parse_value(int depth) {
    if (depth >= kMaxNestingDepth) error(fmt::format("nesting deeper than {} levels", kMaxNestingDepth));
    skip_space();
    Value v;
    v.begin = pos_;
    int c = peek();
    if (c == '{') {
      v.kind = Value::Kind::Dict;
      ++pos_;
      for (;;) {
        skip_space();
        if (peek() == '}') break;
        v.items.push_back(parse_value(depth + 1));
        skip_space();
        if (peek() != ':') error("expected ':' after a dict key");
        ++pos_;
        v.items.push_back(parse_value(depth + 1));
        skip_space();
        if (peek() == ',') {
          ++pos_;
        } else if (peek() != '}') {
          error("expected ',' or '}' after a dict value");
        }
      }
      ++pos_;
    } else if (c == '(' || c == '[') {
      const char close = c == '(' ? ')' : ']';
      v.kind = c == '(' ? Value::Kind::Tuple : Value::Kind::List;
      ++pos_;
      bool comma = false;
      for (;;) {
        skip_space();
        if (peek() == close) break;
        v.items.push_back(parse_value(depth + 1));
        skip_space();
        if (peek() == ',') {
          ++pos_;
          comma = true;
        } else if (peek() != close) {
          error(fmt::format("expected ',' or '{}'", close));
        }
      }
      ++pos_;
      if (close == ')' && v.items.size() == 1 && !comma) { // "(5)" is 5, not a tuple
        Value inner = std::move(v.items[0]);
        inner.begin = v.begin;
        inner.end = pos_;
        return inner;
      }
    } else if (c == '\'' || c == '"') {
      v.kind = Value::Kind::Str;
      ++pos_;
      for (;;) {
        int ch = peek();
        if (ch < 0 || ch == '\n') error("unterminated string");
        ++pos_;
        if (ch == c) break;
        if (ch == '\\') { // an escaped char stands for itself: good enough for dtype strings
          if (peek() < 0) error("unterminated string");
          ch = peek();
          ++pos_;
        }
        v.str += static_cast<char>(ch);
      }
    } else if (c == '-' || c == '+' || (c >= '0' && c <= '9')) {
      v.kind = Value::Kind::Int;
      if (c == '-' || c == '+') {
        v.negative = c == '-';
        ++pos_;
      }
      while (std::isdigit(peek())) v.str += text_[pos_++];
      if (v.str.empty()) error("expected digits after the sign");
      if (peek() == '.' || peek() == 'e' || peek() == 'E') { // a float: kept only to be named as such
        v.kind = Value::Kind::Float;
        while (std::isdigit(peek()) || one_of(peek(), ".eE") ||
               (one_of(peek(), "+-") && one_of(text_[pos_ - 1], "eE")))
          ++pos_;
      } else if (peek() == 'L' || peek() == 'l') { // Python 2 numpy wrote long ints as "3L"
        ++pos_;
      }
      if (std::isalnum(peek()) || peek() == '_' || peek() == '.') error("unsupported number literal");
    } else if (std::isalpha(c) || c == '_') {
      std::string name;
      while (std::isalnum(peek()) || peek() == '_') name += text_[pos_++];
      if (name == "True" || name == "False") {
        v.kind = Value::Kind::Bool;
        v.flag = name == "True";
      } else if (name != "None") {
        pos_ = v.begin;
        error(fmt::format("unknown name '{}'", quote(name)));
      }
    } else {
      error("expected a value");
    }
    v.end = pos_;
    return v;
  }

  const std::string& path_;
  const std::string& text_;
  size_t offset_;
  size_t pos_ = 0;
};

struct Header {
  bool big_endian = false;
  std::vector<size_t> shape;
};

Header interpret_header(const std::string& path, const std::string& text, size_t header_offset) {
  Parser parser(path, text, header_offset);
  const Value dict = parser.parse_dict();
  const Value* descr = nullptr;
  const Value* fortran = nullptr;
  const Value* shape = nullptr;
  auto raw = [&](const Value& v) { return quote(text.substr(v.begin, v.end - v.begin)); };
  auto at = [&](const Value& v) { return parser.file_byte(v.begin); };
  for (size_t i = 0; i < dict.items.size(); i += 2) {
    const Value& key = dict.items[i];
    if (key.kind != Value::Kind::Str)
      fail(path, fmt::format("header dict key {} at byte {} is not a string", raw(key), at(key)));
    const Value** slot = key.str == "descr"           ? &descr
                         : key.str == "fortran_order" ? &fortran
                         : key.str == "shape"         ? &shape
                                                      : nullptr;
    if (!slot)
      fail(path, fmt::format("header has an unexpected key {} at byte {}; a .npy header has exactly "
                             "'descr', 'fortran_order' and 'shape'",
                             raw(key), at(key)));
    if (*slot) fail(path, fmt::format("header key {} appears twice (second at byte {})", raw(key), at(key)));
    *slot = &dict.items[i + 1];
  }
  const std::pair<const Value*, const char*> required[] = {
      {descr, "descr"}, {fortran, "fortran_order"}, {shape, "shape"}};
  for (const auto& [v, name] : required)
    if (!v) fail(path, fmt::format("header dict is missing the '{}' key", name));

  Header h;
  if (descr->kind == Value::Kind::List)
    fail(path, fmt::format("unsupported dtype: a structured dtype {} at byte {}; only float32 ('<f4') "
                           "is supported",
                           raw(*descr), at(*descr)));
  if (descr->kind != Value::Kind::Str)
    fail(path, fmt::format("'descr' at byte {} is not a dtype string: {}", at(*descr), raw(*descr)));
  if (descr->str != "<f4" && descr->str != ">f4") {
    const std::string name = dtype_name(descr->str);
    fail(path, fmt::format("unsupported dtype '{}'{}; only float32 ('<f4') is supported", quote(descr->str),
                           name.empty() ? "" : " (" + name + ")"));
  }
  h.big_endian = descr->str[0] == '>';

  if (fortran->kind != Value::Kind::Bool)
    fail(path, fmt::format("'fortran_order' at byte {} must be True or False, found {}", at(*fortran),
                           raw(*fortran)));
  if (fortran->flag)
    fail(path, "fortran_order is True (column-major data); only C-order arrays are supported");

  if (shape->kind != Value::Kind::Tuple)
    fail(path, fmt::format("bad shape tuple: 'shape' at byte {} must be a tuple of non-negative integers, "
                           "found {}",
                           at(*shape), raw(*shape)));
  for (size_t i = 0; i < shape->items.size(); ++i) {
    const Value& d = shape->items[i];
    if (d.kind != Value::Kind::Int)
      fail(path, fmt::format("bad shape tuple {} at byte {}: dimension {} is {}, not an integer", raw(*shape),
                             at(*shape), i, raw(d)));
    const bool zero = d.str.find_first_not_of('0') == std::string::npos;
    if (d.negative && !zero)
      fail(path, fmt::format("bad shape tuple {} at byte {}: dimension {} is negative", raw(*shape),
                             at(*shape), i));
    size_t n = 0;
    for (char ch : d.str)
      if (__builtin_mul_overflow(n, size_t{10}, &n) || __builtin_add_overflow(n, size_t(ch - '0'), &n))
        fail(path, fmt::format("bad shape tuple {} at byte {}: dimension {} does not fit in 64 bits",
                               raw(*shape), at(*shape), i));
    h.shape.push_back(n);
  }
  return h;
}

// The header numpy writes for a C-order '<f4' array, from the dict through the
// final newline (format.py: _write_array_header, _wrap_header; checked byte
// for byte against numpy 1.24, whose growth room older numpy lacks).
std::string numpy_header(const std::vector<size_t>& shape) {
  std::string text = "{'descr': '<f4', 'fortran_order': False, 'shape': " + shape_repr(shape) + ", }";
  if (!shape.empty()) text.append(kGrowthAxisMaxDigits - std::to_string(shape[0]).size(), ' ');
  // numpy pads with 1 to 64 spaces (never 0) so the data starts aligned.
  const size_t unpadded_bytes = kPrefixBytesV1 + text.size() + 1;
  text.append(kAlignBytes - unpadded_bytes % kAlignBytes, ' ');
  return text + '\n';
}

} // namespace

Array read_f32(const std::string& path) {
  // O_NONBLOCK: opening a FIFO must not wait for a writer; no effect on regular files.
  Fd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK));
  if (fd.get() < 0) fail(path, fmt::format("cannot open for reading: {}", std::strerror(errno)));
  struct stat st {};
  if (::fstat(fd.get(), &st) != 0) fail(path, fmt::format("cannot stat: {}", std::strerror(errno)));
  if (S_ISDIR(st.st_mode)) fail(path, "is a directory, not a .npy file");
  if (!S_ISREG(st.st_mode)) fail(path, "is not a regular file, so not a .npy file");
  note_input(path, fmt::format("an input of this run (the .npy array '{}')", path)); // no output may replace it
  const uint64_t file_bytes = static_cast<uint64_t>(st.st_size);

  unsigned char prefix[kMaxPrefixBytes];
  const size_t got = read_full(path, fd.get(), prefix, std::min<uint64_t>(file_bytes, kMaxPrefixBytes));
  if (got < kMagicBytes || std::memcmp(prefix, kMagic, kMagicBytes) != 0)
    fail(path, fmt::format("not a .npy file: bad magic: expected 93 4e 55 4d 50 59 (\\x93NUMPY) at byte 0, "
                           "found {}",
                           got ? hex_bytes(prefix, std::min(got, kMagicBytes)) : "an empty file"));
  if (got < kVersionEndByte)
    fail(path, fmt::format(
                   "truncated header: the file ends at byte {}, inside the format version (bytes 6-7)", got));
  const unsigned major = prefix[6], minor = prefix[7];
  if (minor != 0 || major < 1 || major > 3)
    fail(path, fmt::format("unsupported .npy format version {}.{} (bytes 6-7); supported: 1.0, 2.0, 3.0",
                           major, minor));
  const size_t len_field_bytes = major == 1 ? 2 : 4;
  const size_t header_offset = kVersionEndByte + len_field_bytes;
  if (got < header_offset)
    fail(path, fmt::format("truncated header: the file ends at byte {}, inside the {}-byte header length "
                           "at byte 8",
                           got, len_field_bytes));
  uint64_t header_bytes = 0;
  for (size_t i = 0; i < len_field_bytes; ++i) header_bytes |= uint64_t{prefix[8 + i]} << (8 * i);
  if (header_bytes > file_bytes - header_offset)
    fail(path, fmt::format("truncated header: the header length at byte 8 says {} bytes from byte {}, but "
                           "the file ends at byte {}",
                           header_bytes, header_offset, file_bytes));
  if (header_bytes > kMaxHeaderBytes)
    fail(path, fmt::format("header length {} bytes (at byte 8) exceeds the {}-byte limit", header_bytes,
                           kMaxHeaderBytes));

  std::string text(header_bytes, '\0');
  if (::lseek(fd.get(), static_cast<off_t>(header_offset), SEEK_SET) < 0)
    fail(path, fmt::format("seek failed: {}", std::strerror(errno)));
  const size_t header_got = read_full(path, fd.get(), text.data(), text.size());
  if (header_got < text.size()) // the file shrank since fstat
    fail(path, fmt::format("truncated header: expected {} bytes from byte {}, found {}", text.size(),
                           header_offset, header_got));
  const Header h = interpret_header(path, text, header_offset);

  size_t count = 0;
  if (!checked_count(h.shape, count))
    fail(path, fmt::format("element count overflow: shape {} has more float32 bytes than fit in 64 bits",
                           quote(shape_repr(h.shape))));
  const uint64_t data_offset = header_offset + header_bytes;
  const uint64_t need_bytes = uint64_t{count} * kFloatBytes;
  const uint64_t have_bytes = file_bytes - data_offset;
  if (have_bytes < need_bytes)
    fail(path, fmt::format("data is truncated: expected {} bytes of float32 data from byte {} for shape {}, "
                           "found {}",
                           need_bytes, data_offset, quote(shape_repr(h.shape)), have_bytes));
  if (have_bytes > need_bytes)
    fail(path, fmt::format("trailing data: {} bytes beyond the array: expected {} bytes of float32 data from "
                           "byte {} for shape {}, found {}",
                           have_bytes - need_bytes, need_bytes, data_offset, quote(shape_repr(h.shape)),
                           have_bytes));

  // Allocation is bounded by the file's size, checked above.
  Array out;
  out.shape = h.shape;
  out.data.resize(count);
  const size_t data_got = read_full(path, fd.get(), out.data.data(), need_bytes);
  if (data_got < need_bytes)
    fail(path, fmt::format("data is truncated: expected {} bytes from byte {}, found {}", need_bytes,
                           data_offset, data_got));
  if (h.big_endian == kHostLittleEndian) byteswap32(out.data.data(), count);
  return out;
}

void write_f32(const std::string& path, const std::vector<size_t>& shape, const float* data, bool overwrite) {
  size_t count = 0;
  if (!checked_count(shape, count))
    fail(path, fmt::format("element count overflow: shape {} has more float32 bytes than fit in 64 bits",
                           quote(shape_repr(shape))));
  if (count > 0 && !data) fail(path, fmt::format("no data to write: null pointer for {} elements", count));
  const std::string header = numpy_header(shape);
  if (header.size() > kMaxHeaderBytesV1)
    fail(path, fmt::format("{} dimensions need a {}-byte header, too big for format 1.0", shape.size(),
                           header.size()));

  // O_EXCL makes the existence check and the creation one step: no race.
  const int flags = O_WRONLY | O_CREAT | O_CLOEXEC | (overwrite ? O_TRUNC : O_EXCL);
  Fd fd(::open(path.c_str(), flags, 0666));
  if (fd.get() < 0) {
    if (errno == EEXIST && !overwrite)
      fail(path, "already exists; refusing to overwrite it (pass --force to replace it)");
    fail(path, fmt::format("cannot open for writing: {}", std::strerror(errno)));
  }

  std::string bytes(kPrefixBytesV1, '\0');
  std::memcpy(bytes.data(), kMagic, kMagicBytes);
  bytes[6] = 1;
  bytes[7] = 0;
  bytes[8] = static_cast<char>(header.size() & 0xff);
  bytes[9] = static_cast<char>(header.size() >> 8);
  bytes += header;
  int err = write_full(fd.get(), bytes.data(), bytes.size());
  if (kHostLittleEndian) {
    if (!err) err = write_full(fd.get(), data, count * kFloatBytes);
  } else {
    constexpr size_t kChunkFloats = 16384;
    std::vector<float> chunk;
    for (size_t i = 0; i < count && !err; i += kChunkFloats) {
      chunk.assign(data + i, data + std::min(count, i + kChunkFloats));
      byteswap32(chunk.data(), chunk.size());
      err = write_full(fd.get(), chunk.data(), chunk.size() * kFloatBytes);
    }
  }
  if (::close(fd.release()) != 0 && !err) err = errno; // NFS reports some write errors only here
  if (err) {
    ::unlink(path.c_str()); // never leave a half-written .npy behind
    fail(path, fmt::format("write failed: {}", std::strerror(err)));
  }
}

} // namespace pnm::npy
