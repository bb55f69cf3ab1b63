// .npy reader/writer: round trips, byte-exact agreement with numpy's own
// output (expected bytes below were taken from numpy 1.24's np.save and
// numpy.lib.format.write_array), and one precise NpyError per kind of bad file.
// Suite names start with "npy" so `ctest -R npy` selects them all.
#include "npy/npy.h"

#include "../support/temp_path.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <cstring>
#include <fstream>
#include <iterator>
#include <sys/stat.h>
#include <unistd.h>

namespace {

using namespace std::string_literals;
using pnm::npy::Array;
using pnm::npy::NpyError;
using pnm::npy::read_f32;
using pnm::npy::write_f32;

std::string slurp(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

void spit(const std::string& path, const std::string& bytes) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  ASSERT_TRUE(out.good()) << path;
}

// A .npy file with the given version and header text (taken as is: the
// reader must not depend on numpy's padding) followed by `data`.
std::string npy_bytes(int major, const std::string& header, const std::string& data = "") {
  std::string out = "\x93NUMPY"s + char(major) + '\0';
  const size_t len_bytes = major == 1 ? 2 : 4;
  for (size_t i = 0; i < len_bytes; ++i) out += char((header.size() >> (8 * i)) & 0xff);
  return out + header + data;
}

std::string header_for(const std::string& descr, const std::string& shape,
                       const std::string& fortran = "False") {
  return "{'descr': '" + descr + "', 'fortran_order': " + fortran + ", 'shape': " + shape + ", }\n";
}

std::string f32_bytes(const std::vector<float>& values, bool big_endian = false) {
  std::string out;
  for (float f : values) {
    uint32_t bits;
    std::memcpy(&bits, &f, sizeof bits);
    for (int i = 0; i < 4; ++i) out += char((bits >> (8 * (big_endian ? 3 - i : i))) & 0xff);
  }
  return out;
}

float from_bits(uint32_t bits) {
  float f;
  std::memcpy(&f, &bits, sizeof f);
  return f;
}

uint32_t to_bits(float f) {
  uint32_t bits;
  std::memcpy(&bits, &f, sizeof bits);
  return bits;
}

// Reading `path` throws an NpyError whose message starts with the path and
// contains every needle.
void expect_read_error(const std::string& path, const std::vector<std::string>& needles) {
  try {
    read_f32(path);
    ADD_FAILURE() << "read_f32 accepted " << path;
  } catch (const NpyError& e) {
    const std::string msg = e.what();
    EXPECT_EQ(msg.rfind(path + ": ", 0), 0u) << msg;
    for (const std::string& needle : needles) EXPECT_NE(msg.find(needle), std::string::npos) << msg;
  }
}

std::vector<float> ramp(size_t n) {
  std::vector<float> v(n);
  for (size_t i = 0; i < n; ++i) v[i] = 0.25f * float(i) - 3.0f;
  return v;
}

void expect_round_trip(const std::vector<size_t>& shape, const std::vector<float>& values) {
  const std::string path = pnm::test::temp_path("round_trip.npy");
  ::unlink(path.c_str());
  write_f32(path, shape, values.data(), false);
  const Array a = read_f32(path);
  EXPECT_EQ(a.shape, shape);
  ASSERT_EQ(a.size(), values.size());
  for (size_t i = 0; i < values.size(); ++i)
    EXPECT_EQ(to_bits(a.data[i]), to_bits(values[i])) << "element " << i;
  ::unlink(path.c_str());
}

// numpy 1.24's header for a C-order '<f4' array of `shape_repr`: the dict,
// then `pad_spaces` spaces and a newline (growth room for axis 0 plus 64-byte
// alignment padding).
std::string numpy_header(const std::string& shape_repr, size_t pad_spaces) {
  return "{'descr': '<f4', 'fortran_order': False, 'shape': " + shape_repr + ", }" +
         std::string(pad_spaces, ' ') + "\n";
}

TEST(npyRoundTrip, Scalar) { expect_round_trip({}, {42.5f}); }
TEST(npyRoundTrip, OneDim) { expect_round_trip({7}, ramp(7)); }
TEST(npyRoundTrip, TwoDim) { expect_round_trip({3, 5}, ramp(15)); }
TEST(npyRoundTrip, ThreeDim) { expect_round_trip({2, 3, 4}, ramp(24)); }
TEST(npyRoundTrip, ZeroSized) {
  expect_round_trip({0}, {});
  expect_round_trip({2, 0, 3}, {});
}
TEST(npyRoundTrip, LargeArray) { expect_round_trip({256, 1024}, ramp(256 * 1024)); }

TEST(npyRoundTrip, SpecialValuesBitExact) {
  const std::vector<uint32_t> bits = {
      0x7fc00000, // quiet NaN
      0x7fc12345, // quiet NaN with payload
      0xffc00001, // negative NaN with payload
      0x7f800001, // signalling NaN: must not be quieted by the copy
      0x7f800000, // +inf
      0xff800000, // -inf
      0x80000000, // -0.0
      0x00000001, // smallest denormal
      0x807fffff, // largest negative denormal
      0x7f7fffff, // FLT_MAX
  };
  std::vector<float> values;
  for (uint32_t b : bits) values.push_back(from_bits(b));
  expect_round_trip({bits.size()}, values);
  expect_round_trip({2, 5}, values);
}

// The writer's bytes are numpy's bytes: header text, 64-byte alignment and
// numpy's quirk of padding a whole 64 bytes when already aligned.
TEST(npyWrite, HeaderMatchesNumpy) {
  struct Case {
    std::vector<size_t> shape;
    std::string expected_header;
  };
  const std::vector<Case> cases = {
      {{}, numpy_header("()", 62)},
      {{5}, numpy_header("(5,)", 60)},
      {{2, 3}, numpy_header("(2, 3)", 58)},
      {{2, 3, 4}, numpy_header("(2, 3, 4)", 55)},
      {{0}, numpy_header("(0,)", 60)},
      // 10 + dict + growth room + newline is exactly 128: numpy adds 64 spaces, not 0.
      {{3, 10, 10, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1},
       numpy_header("(3, 10, 10, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1)", 84)},
  };
  const std::string path = pnm::test::temp_path("header.npy");
  for (const Case& c : cases) {
    size_t count = 1;
    for (size_t d : c.shape) count *= d;
    const std::vector<float> values = ramp(count);
    write_f32(path, c.shape, values.data(), true);
    const std::string header_len = {char(c.expected_header.size() & 0xff),
                                    char(c.expected_header.size() >> 8)};
    const std::string expected = "\x93NUMPY\x01\x00"s + header_len + c.expected_header + f32_bytes(values);
    EXPECT_EQ(slurp(path), expected) << c.expected_header;
    EXPECT_EQ((10 + c.expected_header.size()) % 64, 0u);
  }
  ::unlink(path.c_str());
}

// Byte for byte what np.save(path, np.arange(6, dtype='<f4').reshape(2, 3)) writes.
TEST(npyWrite, GoldenFileFromNumpy) {
  const std::string golden =
      "\x93NUMPY\x01\x00v\x00{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }"s +
      std::string(58, ' ') + "\n" + "\x00\x00\x00\x00\x00\x00\x80\x3f\x00\x00\x00\x40\x00\x00\x40\x40"s +
      "\x00\x00\x80\x40\x00\x00\xa0\x40"s;
  ASSERT_EQ(golden.size(), 128u + 24u);
  const std::string path = pnm::test::temp_path("golden.npy");
  ::unlink(path.c_str());
  const std::vector<float> values = {0, 1, 2, 3, 4, 5};
  write_f32(path, {2, 3}, values.data(), false);
  EXPECT_EQ(slurp(path), golden);
  ::unlink(path.c_str());
}

TEST(npyWrite, DataAlwaysStartsAt64ByteMultiple) {
  const std::string path = pnm::test::temp_path("align.npy");
  std::vector<size_t> shape;
  const float scalar = 1.0f; // one element at ndim 0, none once the 0 dim is in
  for (size_t ndim = 0; ndim <= 32; ++ndim) {
    write_f32(path, shape, &scalar, true);
    const std::string bytes = slurp(path);
    ASSERT_GE(bytes.size(), 10u);
    const size_t header_len = uint8_t(bytes[8]) | uint8_t(bytes[9]) << 8;
    EXPECT_EQ((10 + header_len) % 64, 0u) << "ndim " << ndim;
    EXPECT_EQ(bytes[10 + header_len - 1], '\n');
    EXPECT_EQ(read_f32(path).shape, shape);
    shape.push_back(ndim == 0 ? 0 : ndim * 37);
  }
  ::unlink(path.c_str());
}

TEST(npyWrite, RejectsNullDataOverflowAndMissingDirectory) {
  const std::string path = pnm::test::temp_path("write_errors.npy");
  ::unlink(path.c_str());
  auto expect_write_error = [&](const std::string& p, const std::vector<size_t>& shape, const float* data,
                                const std::vector<std::string>& needles) {
    try {
      write_f32(p, shape, data, false);
      ADD_FAILURE() << "write_f32 accepted " << p;
    } catch (const NpyError& e) {
      const std::string msg = e.what();
      EXPECT_EQ(msg.rfind(p + ": ", 0), 0u) << msg;
      for (const std::string& needle : needles) EXPECT_NE(msg.find(needle), std::string::npos) << msg;
    }
  };
  expect_write_error(path, {2, 3}, nullptr, {"null pointer for 6 elements"});
  const float one = 1.0f;
  expect_write_error(path, {size_t{1} << 32, size_t{1} << 32}, &one, {"element count overflow"});
  expect_write_error(path, {size_t{1} << 62}, &one, {"element count overflow"}); // bytes overflow
  EXPECT_NE(::access(path.c_str(), F_OK), 0) << "a failed write left a file behind";
  const std::string missing = pnm::test::temp_path("no_such_dir/x.npy");
  expect_write_error(missing, {1}, &one, {"cannot open for writing", "No such file or directory"});
}

TEST(npyOverwrite, RefusedLeavesFileUnchanged) {
  const std::string path = pnm::test::temp_path("keep.npy");
  ::unlink(path.c_str());
  const std::vector<float> first = {1, 2, 3};
  write_f32(path, {3}, first.data(), false);
  const std::string before = slurp(path);
  const std::vector<float> second = {9, 8};
  try {
    write_f32(path, {2}, second.data(), false);
    ADD_FAILURE() << "overwrote " << path;
  } catch (const NpyError& e) {
    const std::string msg = e.what();
    EXPECT_EQ(msg.rfind(path + ": ", 0), 0u) << msg;
    EXPECT_NE(msg.find("already exists"), std::string::npos) << msg;
    EXPECT_NE(msg.find("--force"), std::string::npos) << msg;
  }
  EXPECT_EQ(slurp(path), before);
  EXPECT_EQ(read_f32(path).data, first);

  // Not only .npy files: any existing file is left alone.
  const std::string text_path = pnm::test::temp_path("keep.txt");
  spit(text_path, "precious\n");
  EXPECT_THROW(write_f32(text_path, {2}, second.data(), false), NpyError);
  EXPECT_EQ(slurp(text_path), "precious\n");
  ::unlink(path.c_str());
  ::unlink(text_path.c_str());
}

TEST(npyOverwrite, TrueReplacesFile) {
  const std::string path = pnm::test::temp_path("replace.npy");
  ::unlink(path.c_str());
  const std::vector<float> first = ramp(100);
  write_f32(path, {10, 10}, first.data(), false);
  const std::vector<float> second = {-1.5f, 2.5f};
  write_f32(path, {2}, second.data(), true); // shorter: the old tail must be gone
  const Array a = read_f32(path);
  EXPECT_EQ(a.shape, std::vector<size_t>{2});
  EXPECT_EQ(a.data, second);
  EXPECT_EQ(slurp(path).size(), 128u + 8u);
  ::unlink(path.c_str());
}

// Files as numpy.lib.format.write_array writes them for each version.
TEST(npyRead, NumpyVersion1) {
  const std::string path = pnm::test::temp_path("v1.npy");
  spit(path, "\x93NUMPY\x01\x00v\x00"s + numpy_header("(2, 3)", 58) + f32_bytes({0, 1, 2, 3, 4, 5}));
  const Array a = read_f32(path);
  EXPECT_EQ(a.shape, (std::vector<size_t>{2, 3}));
  EXPECT_EQ(a.data, (std::vector<float>{0, 1, 2, 3, 4, 5}));
  ::unlink(path.c_str());
}

TEST(npyRead, NumpyVersion2And3) {
  // 4-byte header length 116 (0x74); the same header in both versions.
  const std::string header = numpy_header("(2,)", 58);
  const std::string data = "\x00\x00\xc0?\x00\x00\x00\xc0"s; // 1.5, -2.0
  for (char major : {'\x02', '\x03'}) {
    const std::string path = pnm::test::temp_path("v2.npy");
    spit(path, "\x93NUMPY"s + major + "\x00t\x00\x00\x00"s + header + data);
    const Array a = read_f32(path);
    EXPECT_EQ(a.shape, std::vector<size_t>{2}) << int(major);
    EXPECT_EQ(a.data, (std::vector<float>{1.5f, -2.0f})) << int(major);
    ::unlink(path.c_str());
  }
}

TEST(npyRead, BigEndianConverted) {
  // np.array([[1, 2, 3]], dtype='>f4') as numpy writes it.
  const std::string path = pnm::test::temp_path("be.npy");
  spit(path, "\x93NUMPY\x01\x00v\x00{'descr': '>f4', 'fortran_order': False, 'shape': (1, 3), }"s +
                 std::string(58, ' ') + "\n?\x80\x00\x00@\x00\x00\x00@@\x00\x00"s);
  const Array a = read_f32(path);
  EXPECT_EQ(a.shape, (std::vector<size_t>{1, 3}));
  EXPECT_EQ(a.data, (std::vector<float>{1, 2, 3}));
  // Special values survive the swap bit-exactly.
  const std::vector<float> special = {from_bits(0x7fc12345), -0.0f, from_bits(0xff800000)};
  spit(path, npy_bytes(1, header_for(">f4", "(3,)"), f32_bytes(special, true)));
  const Array b = read_f32(path);
  ASSERT_EQ(b.size(), 3u);
  for (size_t i = 0; i < 3; ++i) EXPECT_EQ(to_bits(b.data[i]), to_bits(special[i]));
  ::unlink(path.c_str());
}

TEST(npyRead, ScalarAndEmpty) {
  const std::string path = pnm::test::temp_path("scalar.npy");
  spit(path, npy_bytes(1, header_for("<f4", "()"), f32_bytes({-7.0f})));
  Array a = read_f32(path);
  EXPECT_TRUE(a.shape.empty());
  EXPECT_EQ(a.data, std::vector<float>{-7.0f});
  spit(path, npy_bytes(1, header_for("<f4", "(4, 0)")));
  a = read_f32(path);
  EXPECT_EQ(a.shape, (std::vector<size_t>{4, 0}));
  EXPECT_EQ(a.size(), 0u);
  ::unlink(path.c_str());
}

// Spellings numpy's reader accepts (literal_eval, and Python 2 numpy's "3L").
TEST(npyRead, HeaderSpellings) {
  const std::string path = pnm::test::temp_path("spellings.npy");
  const std::vector<std::string> headers = {
      "{'shape': (2, 3), 'fortran_order': False, 'descr': '<f4'}",        // key order, no trailing comma
      "{\"descr\": \"<f4\", \"fortran_order\": False, \"shape\": (2,3)}", // double quotes, tight tuple
      "  {\n\t'descr' :'<f4' ,\n\t'fortran_order':False,\n'shape':( 2 , 3 , ) ,\n}  \n", // odd spacing
      "{'descr': '<f4', 'fortran_order': False, 'shape': (2L, 3L), }\n", // Python 2 numpy's longs
      "{'descr': '<f4', 'fortran_order': False, 'shape': (+2, 3), }",    // no padding, no newline
  };
  for (const std::string& h : headers) {
    spit(path, npy_bytes(1, h, f32_bytes(ramp(6))));
    try {
      const Array a = read_f32(path);
      EXPECT_EQ(a.shape, (std::vector<size_t>{2, 3})) << h;
      EXPECT_EQ(a.data, ramp(6)) << h;
    } catch (const NpyError& e) {
      ADD_FAILURE() << h << ": " << e.what();
    }
  }
  ::unlink(path.c_str());
}

// ---- One test per kind of bad file: the message names the path and the cause.

struct BadFile {
  std::string name;
  std::string bytes;
  std::vector<std::string> needles;
};

// Keeps CTest's test names readable (gtest_discover_tests appends the printed parameter).
void PrintTo(const BadFile& bad, std::ostream* os) { *os << bad.name; }

std::string v1(const std::string& header, const std::string& data = "") { return npy_bytes(1, header, data); }

std::vector<BadFile> bad_files() {
  const std::string ok_data = f32_bytes(ramp(6));
  const std::string h23 = header_for("<f4", "(2, 3)");
  return {
      {"empty_file", "", {"not a .npy file", "bad magic", "empty"}},
      {"bad_magic", "PK\x03\x04 this is a zip"s, {"not a .npy file", "bad magic", "byte 0", "50 4b 03 04"}},
      {"magic_case", "\x93numpy\x01\x00"s, {"not a .npy file", "bad magic"}},
      {"short_magic", "\x93NUM"s, {"not a .npy file", "bad magic"}},
      {"truncated_version", "\x93NUMPY\x01"s, {"truncated header", "format version"}},
      {"version_1_1",
       npy_bytes(1, h23, ok_data).replace(7, 1, "\x01"),
       {"unsupported .npy format version 1.1"}},
      {"version_4_0",
       "\x93NUMPY\x04\x00\x10\x00\x00\x00"s,
       {"unsupported .npy format version 4.0", "1.0, 2.0, 3.0"}},
      {"version_0_0", "\x93NUMPY\x00\x00\x10\x00"s, {"unsupported .npy format version 0.0"}},
      {"truncated_length_v1", "\x93NUMPY\x01\x00\x10"s, {"truncated header", "2-byte header length"}},
      {"truncated_length_v2", "\x93NUMPY\x02\x00\x10\x00"s, {"truncated header", "4-byte header length"}},
      {"header_past_eof",
       npy_bytes(1, h23).substr(0, 40),
       {"truncated header", "says 60 bytes", "ends at byte 40"}},
      {"huge_v2_header_length",
       "\x93NUMPY\x02\x00\xff\xff\xff\xff{}"s,
       {"truncated header", "4294967295 bytes"}},
      {"header_over_limit",
       npy_bytes(2, std::string(2u << 20, ' ')),
       {"header length 2097152 bytes", "limit"}},
      {"not_a_dict", v1("[1, 2]\n"), {"not a valid Python dict literal", "expected '{'", "at byte 10"}},
      {"unclosed_dict",
       v1("{'descr': '<f4', "),
       {"not a valid Python dict literal", "the end of the header"}},
      {"missing_colon",
       v1("{'descr' '<f4'}"),
       {"not a valid Python dict literal", "expected ':' after a dict key at byte 19, found \"'\""}},
      {"missing_comma",
       v1("{'descr': '<f4' 'shape': ()}"),
       {"not a valid Python dict literal", "expected ',' or '}'", "at byte 26"}},
      {"text_after_dict", v1(h23 + "x"), {"not a valid Python dict literal", "after the closing '}'"}},
      {"bare_word_value",
       v1("{'descr': <f4}"),
       {"not a valid Python dict literal", "expected a value", "'<'"}},
      {"lowercase_false",
       v1(header_for("<f4", "(2, 3)", "false"), ok_data),
       {"not a valid Python dict literal", "unknown name 'false'"}},
      {"unterminated_string",
       v1("{'descr': '<f4}\n"),
       {"not a valid Python dict literal", "unterminated string"}},
      {"deep_nesting",
       npy_bytes(2, "{'shape': " + std::string(100000, '(')),
       {"not a valid Python dict literal", "nesting deeper than 32 levels"}},
      {"nul_in_header",
       v1("{'descr': '<f4',\0 'fortran_order': False, 'shape': (2, 3)}"s, ok_data),
       {"not a valid Python dict literal", "byte 0x00", "at byte 26"}},
      {"missing_descr",
       v1("{'fortran_order': False, 'shape': (2, 3), }", ok_data),
       {"missing the 'descr' key"}},
      {"missing_fortran_order",
       v1("{'descr': '<f4', 'shape': (2, 3), }", ok_data),
       {"missing the 'fortran_order' key"}},
      {"missing_shape", v1("{'descr': '<f4', 'fortran_order': False}", ok_data), {"missing the 'shape' key"}},
      {"extra_key",
       v1("{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), 'align': 8}", ok_data),
       {"unexpected key 'align'"}},
      {"duplicate_key",
       v1("{'descr': '<f4', 'descr': '<f4', 'fortran_order': False, 'shape': (2, 3)}", ok_data),
       {"'descr' appears twice"}},
      {"non_string_key", v1("{1: '<f4'}"), {"key 1 at byte 11 is not a string"}},
      {"dtype_float64",
       v1(header_for("<f8", "(3,)"), std::string(24, '\0')),
       {"unsupported dtype '<f8' (float64); only float32 ('<f4') is supported"}},
      {"dtype_int32", v1(header_for("<i4", "(2, 3)"), ok_data), {"unsupported dtype '<i4' (int32)"}},
      {"dtype_float16", v1(header_for("<f2", "(2,)"), "\0\0\0\0"s), {"unsupported dtype '<f2' (float16)"}},
      {"dtype_uint8", v1(header_for("|u1", "(4,)"), "\0\0\0\0"s), {"unsupported dtype '|u1' (uint8)"}},
      {"dtype_native_order", v1(header_for("=f4", "(2, 3)"), ok_data), {"unsupported dtype '=f4' (float32)"}},
      {"dtype_unknown",
       v1(header_for("<q9", "(2, 3)"), ok_data),
       {"unsupported dtype '<q9'; only float32 ('<f4') is supported"}},
      {"dtype_structured",
       v1("{'descr': [('x', '<f4'), ('y', '<f4')], 'fortran_order': False, 'shape': (3,), }", ok_data),
       {"unsupported dtype: a structured dtype [('x', '<f4'), ('y', '<f4')] at byte 20"}},
      {"descr_not_string",
       v1("{'descr': 4, 'fortran_order': False, 'shape': (2, 3)}", ok_data),
       {"'descr' at byte 20 is not a dtype string: 4"}},
      {"fortran_order_true", v1(header_for("<f4", "(2, 3)", "True"), ok_data), {"fortran_order is True"}},
      {"fortran_order_not_bool",
       v1(header_for("<f4", "(2, 3)", "0"), ok_data),
       {"'fortran_order' at byte", "must be True or False, found 0"}},
      {"shape_list", v1(header_for("<f4", "[2, 3]"), ok_data), {"bad shape tuple", "found [2, 3]"}},
      {"shape_parenthesised_int", v1(header_for("<f4", "(6)"), ok_data), {"bad shape tuple", "found (6)"}},
      {"shape_none", v1(header_for("<f4", "None"), ok_data), {"bad shape tuple", "found None"}},
      {"shape_negative",
       v1(header_for("<f4", "(2, -3)"), ok_data),
       {"bad shape tuple (2, -3) at byte 60: dimension 1 is negative"}},
      {"shape_float", v1(header_for("<f4", "(2.0, 3)"), ok_data), {"bad shape tuple", "dimension 0 is 2.0"}},
      {"shape_string", v1(header_for("<f4", "(2, '3')"), ok_data), {"bad shape tuple", "dimension 1 is '3'"}},
      {"shape_bool", v1(header_for("<f4", "(True,)"), ok_data), {"bad shape tuple", "dimension 0 is True"}},
      {"shape_dim_too_big",
       v1(header_for("<f4", "(99999999999999999999,)")),
       {"bad shape tuple", "dimension 0 does not fit in 64 bits"}},
      {"element_count_overflow",
       v1(header_for("<f4", "(4294967296, 4294967296)")),
       {"element count overflow", "(4294967296, 4294967296)"}},
      {"byte_count_overflow", v1(header_for("<f4", "(4611686018427387904,)")), {"element count overflow"}},
      // A shape that fits in memory arithmetic but not in the file: no 4 TB allocation.
      {"huge_shape_tiny_file",
       v1(header_for("<f4", "(1000000000000,)")),
       {"data is truncated", "expected 4000000000000 bytes", "found 0"}},
      {"data_short",
       v1(h23, ok_data.substr(0, 20)),
       {"data is truncated: expected 24 bytes of float32 data from byte 70 for shape (2, 3), found 20"}},
      {"scalar_without_data",
       v1(header_for("<f4", "()")),
       {"data is truncated", "expected 4 bytes", "found 0"}},
      {"trailing_data",
       v1(h23, ok_data + "junk"),
       {"trailing data: 4 bytes beyond the array", "expected 24 bytes", "found 28"}},
      {"empty_array_with_data", v1(header_for("<f4", "(0,)"), "\0\0\0\0"s), {"trailing data: 4 bytes"}},
  };
}

class npyReadError : public ::testing::TestWithParam<BadFile> {};

TEST_P(npyReadError, Reports) {
  const BadFile& bad = GetParam();
  const std::string path = pnm::test::temp_path(bad.name + ".npy");
  spit(path, bad.bytes);
  expect_read_error(path, bad.needles);
  ::unlink(path.c_str());
}

INSTANTIATE_TEST_SUITE_P(Files, npyReadError, ::testing::ValuesIn(bad_files()),
                         [](const ::testing::TestParamInfo<BadFile>& info) { return info.param.name; });

TEST(npyReadPath, MissingFile) {
  const std::string path = pnm::test::temp_path("does_not_exist.npy");
  expect_read_error(path, {"cannot open for reading", "No such file or directory"});
}

TEST(npyReadPath, Directory) {
  const std::string path = pnm::test::temp_path("a_directory.npy");
  ASSERT_EQ(::mkdir(path.c_str(), 0700), 0);
  expect_read_error(path, {"is a directory"});
  ::rmdir(path.c_str());
}

TEST(npyReadPath, FifoDoesNotHang) {
  const std::string path = pnm::test::temp_path("fifo.npy");
  ASSERT_EQ(::mkfifo(path.c_str(), 0600), 0);
  expect_read_error(path, {"not a regular file"});
  ::unlink(path.c_str());
}

// Mangled files must fail cleanly (an NpyError, never a crash, hang or other
// exception); sanitizer builds make this a memory-safety check as well.
TEST(npyRobustness, EveryTruncationIsAnError) {
  const std::string good_path = pnm::test::temp_path("good.npy");
  const std::vector<float> values = ramp(6);
  write_f32(good_path, {2, 3}, values.data(), true);
  const std::string good = slurp(good_path);
  const std::string path = pnm::test::temp_path("truncated.npy");
  for (size_t len = 0; len < good.size(); ++len) {
    spit(path, good.substr(0, len));
    EXPECT_THROW(read_f32(path), NpyError) << "length " << len;
  }
  ::unlink(good_path.c_str());
  ::unlink(path.c_str());
}

TEST(npyRobustness, HeaderByteFlipsFailCleanly) {
  const std::string good = npy_bytes(1, numpy_header("(2, 3)", 58), f32_bytes(ramp(6)));
  const std::string path = pnm::test::temp_path("mutated.npy");
  const std::string replacements = "\x00\xff\x80\n ()[]{}'\",:-+.0379LTFN<>|fx"s;
  size_t accepted = 0, rejected = 0;
  for (size_t pos = 0; pos < 128; ++pos) {
    for (char r : replacements) {
      std::string bytes = good;
      if (bytes[pos] == r) continue;
      bytes[pos] = r;
      spit(path, bytes);
      try {
        const Array a = read_f32(path);
        ++accepted; // e.g. a changed pad byte: the result must still be consistent
        size_t count = 1;
        for (size_t d : a.shape) count *= d;
        EXPECT_EQ(a.size(), count) << "byte " << pos;
      } catch (const NpyError& e) {
        ++rejected;
        EXPECT_EQ(std::string(e.what()).rfind(path + ": ", 0), 0u) << e.what();
      }
    }
  }
  EXPECT_GT(accepted, 0u);
  EXPECT_GT(rejected, 0u);
  ::unlink(path.c_str());
}

} // namespace
