// pnmvp identify / health / poison / mailbox / attend, run as a user runs them:
// the executable boots the reference device and its firmware answers. Every
// test checks what the device really said (capacity, return codes, payload
// bytes) or computed (O against the double-precision reference).
#include "../support/temp_path.h"
#include "kernels/reference.h"
#include "npy/npy.h"

#include <fmt/format.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <cmath>
#include <cstdio>
#include <fstream>
#include <random>
#include <sstream>
#include <sys/wait.h>

namespace {

using nlohmann::json;

// Private temp files (tests run in parallel), removed when the test process exits.
struct TempFiles {
  std::vector<std::string> paths;
  ~TempFiles() {
    for (const auto& p : paths) std::remove(p.c_str());
  }
} g_temp_files;

std::string temp_path(const std::string& name) {
  g_temp_files.paths.push_back(pnm::test::temp_path(name));
  return g_temp_files.paths.back();
}

struct Result {
  int code = -1;
  std::string out, err;
};

std::string quoted(const std::string& s) { return "'" + s + "'"; }

// Runs `pnmvp ARGS`; stdout through the pipe, stderr through a private file.
// Under -DPNM_SANITIZE=ON, LeakSanitizer's exit-time scan sometimes (~5% of
// runs) crashes reading a SystemC coroutine stack it still takes for the main
// thread's; not scanning stacks avoids that and can only add leak reports.
Result pnmvp(const std::string& args) {
  static int calls = 0;
  const std::string err_path = temp_path("stderr_" + std::to_string(calls++));
  const std::string cmd = "LSAN_OPTIONS=\"${LSAN_OPTIONS:+$LSAN_OPTIONS:}use_stacks=0\" " +
                          std::string(PNMVP_EXE) + " " + args + " 2>" + quoted(err_path);
  Result r;
  FILE* p = popen(cmd.c_str(), "r");
  if (!p) return r;
  char buf[4096];
  for (size_t n; (n = fread(buf, 1, sizeof buf, p)) > 0;) r.out.append(buf, n);
  const int st = pclose(p);
  r.code = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
  std::ifstream e(err_path);
  std::stringstream ss;
  ss << e.rdbuf();
  r.err = ss.str();
  std::remove(err_path.c_str());
  return r;
}

std::vector<std::string> lines_of(const std::string& s) {
  std::vector<std::string> v;
  std::istringstream in(s);
  for (std::string l; std::getline(in, l);) v.push_back(l);
  return v;
}

std::string slurp(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

std::string write_text(const std::string& name, const std::string& text) {
  const std::string path = temp_path(name);
  std::ofstream(path) << text;
  return path;
}

// ---- identify, health, poison -----------------------------------------------------------

TEST(CliDevice, IdentifyJsonHasTheDevicesCapacityAndFirmwareRevision) {
  const Result r = pnmvp("identify --json");
  ASSERT_EQ(r.code, 0) << r.err;
  ASSERT_EQ(lines_of(r.out).size(), 1u) << r.out;
  const json j = json::parse(r.out);
  EXPECT_EQ(j["fw_revision"], "pnmvp-fw 0.2");
  EXPECT_EQ(j["total_capacity_bytes"], 68719476736ull); // 64 GiB on pnm-ref
  EXPECT_EQ(j["total_capacity_256mib"], 256u);
  EXPECT_EQ(j["volatile_only_capacity_bytes"], 68719476736ull);
  EXPECT_EQ(j["persistent_only_capacity_bytes"], 0u);
  EXPECT_EQ(j["poison_list_max_mer"], 256u);
  EXPECT_EQ(j["lsa_size"], 0u);
}

TEST(CliDevice, IdentifySummaryIsHumanReadable) {
  const Result r = pnmvp("identify");
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_NE(r.out.find("pnmvp-fw 0.2"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("64 GiB (68719476736 bytes)"), std::string::npos) << r.out;
  EXPECT_EQ(r.out.find('{'), std::string::npos) << "no JSON without --json";
}

TEST(CliDevice, HealthJsonDecodesEveryField) {
  const Result r = pnmvp("health --json");
  ASSERT_EQ(r.code, 0) << r.err;
  const json j = json::parse(r.out);
  EXPECT_EQ(j["health_status"], 0u);
  EXPECT_EQ(j["health_status_bits"], json::array());
  EXPECT_EQ(j["media_status"], 0u);
  EXPECT_EQ(j["media_status_name"], "normal");
  EXPECT_EQ(j["life_used_status"], "normal");
  EXPECT_EQ(j["device_temperature_status"], "normal");
  EXPECT_TRUE(j["life_used"].is_null()) << "the reference device does not report life used";
  EXPECT_TRUE(j["device_temperature"].is_null());
  EXPECT_EQ(j["dirty_shutdown_count"], 0u);
  EXPECT_EQ(j["corrected_volatile_error_count"], 0u);
  EXPECT_EQ(j["corrected_persistent_error_count"], 0u);
  const Result h = pnmvp("health");
  ASSERT_EQ(h.code, 0) << h.err;
  EXPECT_NE(h.out.find("media status                 normal"), std::string::npos) << h.out;
}

TEST(CliDevice, PoisonListInjectAndClearOnAFreshDevice) {
  const Result list = pnmvp("poison list --json");
  ASSERT_EQ(list.code, 0) << list.err;
  const json l = json::parse(list.out);
  EXPECT_EQ(l["media_error_record_count"], 0u);
  EXPECT_EQ(l["media_error_records"], json::array());
  EXPECT_EQ(l["poison_list_flags"], 0u);
  // decimal and hex name the same range
  const Result range = pnmvp("poison list --dpa 4096 --length 0x40 --json");
  ASSERT_EQ(range.code, 0) << range.err;
  EXPECT_EQ(json::parse(range.out)["media_error_record_count"], 0u);

  const Result inject = pnmvp("poison inject --dpa 0x1000 --json");
  ASSERT_EQ(inject.code, 0) << inject.err;
  const json i = json::parse(inject.out);
  EXPECT_EQ(i["dpa"], 4096u);
  EXPECT_EQ(i["return_code"], 0u);
  EXPECT_EQ(i["return_name"], "Success");
  const Result clear = pnmvp("poison clear --dpa 4096");
  ASSERT_EQ(clear.code, 0) << clear.err;
  EXPECT_NE(clear.out.find("poison cleared"), std::string::npos) << clear.out;
}

TEST(CliDevice, PoisonAddressErrorsNameTheSpecReturnCode) {
  const Result misaligned = pnmvp("poison inject --dpa 0x1001 --json");
  EXPECT_EQ(misaligned.code, 2);
  EXPECT_NE(misaligned.err.find("Invalid Input (return code 0x02)"), std::string::npos) << misaligned.err;
  const json j = json::parse(misaligned.out);
  EXPECT_EQ(j["return_code"], 2u);
  EXPECT_EQ(j["return_name"], "Invalid Input");

  const Result beyond = pnmvp("poison clear --dpa 0x1000000000"); // 64 GiB: one past the end
  EXPECT_EQ(beyond.code, 2);
  EXPECT_NE(beyond.err.find("Invalid Physical Address"), std::string::npos) << beyond.err;
  EXPECT_TRUE(beyond.out.empty()) << beyond.out;

  const Result list_misaligned = pnmvp("poison list --dpa 0x41 --length 64");
  EXPECT_EQ(list_misaligned.code, 2);
  EXPECT_NE(list_misaligned.err.find("Invalid Input"), std::string::npos) << list_misaligned.err;

  const Result length = pnmvp("poison list --dpa 0 --length 100");
  EXPECT_EQ(length.code, 2);
  EXPECT_NE(length.err.find("multiple of 64"), std::string::npos) << length.err;

  const Result junk = pnmvp("poison inject --dpa 0xfoo");
  EXPECT_EQ(junk.code, 2);
  EXPECT_NE(junk.err.find("not a number"), std::string::npos) << junk.err;
}

// ---- mailbox --script ---------------------------------------------------------------------

const std::string kScript = R"(# one device, one sequence
4000                                  # line 2: Identify
0xBEEF                                # line 3: no such command
4000 00                               # line 4: Identify takes no input
4301 0010000000000000                 # line 5: Inject Poison at 0x1000
4301 4010000000000000                 # line 6: and 0x1040, the next line
4300 0000000000000000 0001000000000000 # line 7: Get Poison List, 256 lines from 0

4302 0010000000000000 )" + std::string(128, '0') + R"(
4300 0000000000000000 0001000000000000 # line 10: 0x1000 is clear now
0301 00e1f50500000000                 # line 11: Set Timestamp 100000000 ns
0300                                  # line 12: Get Timestamp
)";

// Get Poison List's payload: header (flags, overflow timestamp, 1 record) + one record.
std::string poison_payload(const std::string& record) {
  return "00" "00" "0000000000000000" "0100" + std::string(40, '0') + record;
}

TEST(CliDevice, MailboxScriptRunsRawCommandsInOrderOnOneDevice) {
  const std::string script = write_text("script.mbox", kScript);
  const Result r = pnmvp("mailbox --script " + quoted(script));
  ASSERT_EQ(r.code, 0) << r.err;
  const auto out = lines_of(r.out);
  ASSERT_EQ(out.size(), 10u) << r.out;
  std::vector<json> j;
  for (const auto& l : out) j.push_back(json::parse(l));
  const unsigned expect_lines[] = {2, 3, 4, 5, 6, 7, 9, 10, 11, 12};
  for (size_t i = 0; i < j.size(); ++i) EXPECT_EQ(j[i]["line"], expect_lines[i]) << out[i];

  // Identify: "pnmvp-fw 0.2" NUL padded, 256 x 256 MiB total and volatile, 0x45 bytes in all
  EXPECT_EQ(j[0]["return_code"], 0u);
  const std::string id_hex = j[0]["payload_hex"];
  EXPECT_EQ(id_hex.size(), 2u * 0x45);
  EXPECT_EQ(id_hex.substr(0, 64), "706e6d76702d667720302e3200000000" "0001000000000000" "0001000000000000");
  EXPECT_EQ(j[0]["decoded"]["total_capacity_bytes"], 68719476736ull);

  EXPECT_EQ(j[1]["opcode"], "0xBEEF");
  EXPECT_EQ(j[1]["return_code"], 3u);
  EXPECT_EQ(j[1]["return_name"], "Unsupported");
  EXPECT_EQ(j[1]["payload_hex"], "");
  EXPECT_FALSE(j[1].contains("decoded"));

  EXPECT_EQ(j[2]["return_code"], 0x16u);
  EXPECT_EQ(j[2]["return_name"], "Invalid Payload Length");

  for (int i : {3, 4}) {
    EXPECT_EQ(j[i]["opcode_name"], "Inject Poison");
    EXPECT_EQ(j[i]["return_code"], 0u);
    EXPECT_EQ(j[i]["payload_hex"], "");
  }
  // The two adjacent injected lines are one record: DPA 0x1000 | source 3 (injected), 2 lines.
  EXPECT_EQ(j[5]["return_code"], 0u);
  EXPECT_EQ(j[5]["payload_hex"], poison_payload("0310000000000000" "02000000" "00000000"));
  const json& rec = j[5]["decoded"]["media_error_records"][0];
  EXPECT_EQ(rec["dpa"], 0x1000u);
  EXPECT_EQ(rec["error_source_name"], "injected");
  EXPECT_EQ(rec["length_bytes"], 128u);
  // Clear Poison of 0x1000 leaves 0x1040 alone.
  EXPECT_EQ(j[6]["opcode_name"], "Clear Poison");
  EXPECT_EQ(j[6]["return_code"], 0u);
  EXPECT_EQ(j[7]["payload_hex"], poison_payload("4310000000000000" "01000000" "00000000"));

  EXPECT_EQ(j[8]["return_code"], 0u);
  EXPECT_EQ(j[9]["return_code"], 0u);
  const std::string ts_hex = j[9]["payload_hex"];
  ASSERT_EQ(ts_hex.size(), 16u);
  const uint64_t ts = j[9]["decoded"]["timestamp"];
  EXPECT_GE(ts, 100000000u) << "the timestamp runs on from the value set";
  EXPECT_LT(ts, 100000000u + 1000000u) << "the next command comes within a millisecond";
}

TEST(CliDevice, MailboxBadScriptLineRunsNothing) {
  const std::string script = write_text("bad.mbox", "4000\n4301 0010000000000000\n4300 00zz\n");
  const Result r = pnmvp("mailbox --script " + quoted(script));
  EXPECT_EQ(r.code, 2);
  EXPECT_NE(r.err.find(script + ":3:"), std::string::npos) << r.err;
  EXPECT_TRUE(r.out.empty()) << "no command may run: " << r.out;

  const Result missing = pnmvp("mailbox --script " + quoted(temp_path("no_such.mbox")));
  EXPECT_EQ(missing.code, 2);
  EXPECT_NE(missing.err.find("no_such.mbox"), std::string::npos) << missing.err;

  // Valid syntax, but larger than the device's 2 KiB mailbox: refused before line 1 is sent.
  const std::string big = write_text("big.mbox", "4000\n4300 " + std::string(2 * 2100, '0') + "\n");
  const Result too_big = pnmvp("mailbox --script " + quoted(big));
  EXPECT_EQ(too_big.code, 2);
  EXPECT_NE(too_big.err.find(big + ":2: payload of 2100 B exceeds"), std::string::npos) << too_big.err;
  EXPECT_TRUE(too_big.out.empty()) << too_big.out;
}

TEST(CliDevice, MailboxTimeoutsPrintTimeoutLinesAndExit1) {
  // 10 ns of simulated time is less than one register read takes: a command
  // the firmware has not finished by the first poll gets a timeout line.
  // (The first command after boot can be answered within the firmware's
  // running quantum, before that poll; the second waits for it to wake.)
  const std::string script = write_text("slow.mbox", "4200\n4200\n4200\n");
  const Result r = pnmvp("mailbox --timeout-ms 0.00001 --script " + quoted(script));
  EXPECT_EQ(r.code, 1) << r.err;
  const auto out = lines_of(r.out);
  ASSERT_EQ(out.size(), 3u) << r.out;
  unsigned timeouts = 0;
  for (unsigned i = 0; i < 3; ++i) {
    const json j = json::parse(out[i]);
    EXPECT_EQ(j["line"], i + 1);
    if (j.contains("error")) {
      EXPECT_EQ(j["error"], "timeout: no answer within 1e-05 ms");
      EXPECT_FALSE(j.contains("return_code"));
      ++timeouts;
    } else {
      EXPECT_EQ(j["return_code"], 0);
    }
  }
  EXPECT_GE(timeouts, 2u);
  EXPECT_NE(r.err.find(fmt::format("{} of 3 mailbox commands got no answer", timeouts)), std::string::npos) << r.err;
}

// ---- attend ---------------------------------------------------------------------------------

// Random float32 data in a .npy, and its BF16-rounded values (what the engine sees) in double.
std::vector<double> random_npy(const std::string& path, const std::vector<size_t>& shape, uint64_t seed) {
  size_t n = 1;
  for (size_t s : shape) n *= s;
  std::mt19937_64 rng(seed);
  std::normal_distribution<float> nd(0.0f, 1.0f);
  std::vector<float> f(n);
  std::vector<double> rounded(n);
  for (size_t i = 0; i < n; ++i) {
    f[i] = nd(rng);
    rounded[i] = pnm::kernels::from_bf16(pnm::kernels::to_bf16(f[i]));
  }
  pnm::npy::write_f32(path, shape, f.data(), true);
  return rounded;
}

struct Attn {
  pnm::kernels::AttentionShape s;
  std::string q, k, v;
  std::vector<double> qv, kv, vv;

  // Q [heads, d] (or [d] when q_1d), K/V [kv_heads, L, d] (or [L, d] when kv_heads_dim is false).
  Attn(const std::string& tag, unsigned heads, unsigned kv_heads, unsigned d, uint32_t seq, bool q_1d = false,
       bool kv_heads_dim = true) {
    s = {heads, kv_heads, d, seq, 1.0 / std::sqrt(double(d))};
    q = temp_path(tag + "_q.npy");
    k = temp_path(tag + "_k.npy");
    v = temp_path(tag + "_v.npy");
    using Shape = std::vector<size_t>;
    const Shape qs = q_1d ? Shape{d} : Shape{heads, d};
    const Shape ks = kv_heads_dim ? Shape{kv_heads, seq, d} : Shape{seq, d};
    qv = random_npy(q, qs, 1);
    kv = random_npy(k, ks, 2);
    vv = random_npy(v, ks, 3);
  }
  std::string args(const std::string& out) const {
    return "attend --q " + quoted(q) + " --k " + quoted(k) + " --v " + quoted(v) + " --out " + quoted(out);
  }
};

void expect_matches(const std::vector<float>& o, const std::vector<double>& ref) {
  ASSERT_EQ(o.size(), ref.size());
  for (size_t i = 0; i < o.size(); ++i)
    EXPECT_NEAR(o[i], ref[i], 1e-4 * (1 + std::abs(ref[i]))) << "element " << i;
}

TEST(CliAttend, DenseGqaMatchesTheReferenceOnBf16Inputs) {
  const Attn a("gqa", 4, 2, 32, 300);
  const std::string out = temp_path("gqa_o.npy");
  const Result r = pnmvp(a.args(out) + " --datapath model --json");
  ASSERT_EQ(r.code, 0) << r.err;
  const json j = json::parse(r.out);
  EXPECT_EQ(j["op"], "dense");
  EXPECT_EQ(j["datapath"], "model");
  EXPECT_EQ(j["heads"], 4u);
  EXPECT_EQ(j["kv_heads"], 2u);
  EXPECT_EQ(j["seq_len"], 300u);
  EXPECT_GT(j["engine_cycles"].get<uint64_t>(), 0u);
  EXPECT_GE(j["dram_lines_read"].get<uint64_t>(), 2u * 2 * 300 * 32 * 2 / 64) << "all of K and V";
  EXPECT_GT(j["instructions_retired"].get<uint64_t>(), 0u);
  EXPECT_GT(j["job_time_us"].get<double>(), 0.0);
  const pnm::npy::Array o = pnm::npy::read_f32(out);
  EXPECT_EQ(o.shape, (std::vector<size_t>{4, 32}));
  expect_matches(o.data, pnm::kernels::attention_dense(a.s, a.qv, a.kv, a.vv));
}

TEST(CliAttend, TopKMatchesTheReference) {
  const Attn a("topk", 4, 2, 32, 300);
  const std::string out = temp_path("topk_o.npy");
  const Result r = pnmvp(a.args(out) + " --topk 24");
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_NE(r.out.find("op topk_token (k = 24)"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("rounded to BF16"), std::string::npos) << r.out;
  const pnm::npy::Array o = pnm::npy::read_f32(out);
  EXPECT_EQ(o.shape, (std::vector<size_t>{4, 32}));
  expect_matches(o.data, pnm::kernels::attention_topk(a.s, a.qv, a.kv, a.vv, 24));
  // and it is not just dense attention
  const auto dense = pnm::kernels::attention_dense(a.s, a.qv, a.kv, a.vv);
  double diff = 0;
  for (size_t i = 0; i < dense.size(); ++i) diff = std::max(diff, std::abs(dense[i] - o.data[i]));
  EXPECT_GT(diff, 1e-3);
}

TEST(CliAttend, RtlAndModelDatapathsWriteBitIdenticalFiles) {
  const Attn a("dp", 4, 2, 32, 200);
  for (const char* op : {"", " --topk 16"}) {
    const std::string rtl = temp_path("dp_rtl.npy"), model = temp_path("dp_model.npy");
    const Result r1 = pnmvp(a.args(rtl) + " --force --json --datapath rtl" + op);
    const Result r2 = pnmvp(a.args(model) + " --force --json --datapath model" + op);
    ASSERT_EQ(r1.code, 0) << r1.err;
    ASSERT_EQ(r2.code, 0) << r2.err;
    EXPECT_EQ(json::parse(r1.out)["datapath"], "rtl");
    EXPECT_EQ(json::parse(r2.out)["datapath"], "model");
    const std::string b1 = slurp(rtl), b2 = slurp(model);
    EXPECT_GT(b1.size(), 4u * 32 * 4);
    EXPECT_EQ(b1, b2) << "op" << op;
  }
}

TEST(CliAttend, OneDimensionalQueryWithTwoDimensionalKv) {
  const Attn a("q1d", 1, 1, 64, 250, /*q_1d=*/true, /*kv_heads_dim=*/false);
  const std::string out = temp_path("q1d_o.npy");
  const Result r = pnmvp(a.args(out));
  ASSERT_EQ(r.code, 0) << r.err;
  const pnm::npy::Array o = pnm::npy::read_f32(out);
  EXPECT_EQ(o.shape, (std::vector<size_t>{64})) << "O has Q's shape";
  expect_matches(o.data, pnm::kernels::attention_dense(a.s, a.qv, a.kv, a.vv));
}

TEST(CliAttend, ShapeErrorsSayWhichFilesAndDims) {
  const Attn a("shape", 4, 2, 32, 100);
  const std::string v_short = temp_path("shape_v_short.npy");
  random_npy(v_short, {2, 99, 32}, 9);
  const std::string out = temp_path("shape_o.npy");
  const Result r = pnmvp("attend --q " + quoted(a.q) + " --k " + quoted(a.k) + " --v " + quoted(v_short) +
                         " --out " + quoted(out));
  EXPECT_EQ(r.code, 2);
  EXPECT_NE(r.err.find(a.k), std::string::npos) << r.err;
  EXPECT_NE(r.err.find(v_short), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("dim 1 (L) is 100 in K but 99 in V"), std::string::npos) << r.err;
  EXPECT_FALSE(std::ifstream(out).good()) << "no output on error";

  // 3 query heads cannot share 2 KV heads
  const std::string q3 = temp_path("shape_q3.npy");
  random_npy(q3, {3, 32}, 4);
  const Result g = pnmvp("attend --q " + quoted(q3) + " --k " + quoted(a.k) + " --v " + quoted(a.v) +
                         " --out " + quoted(out));
  EXPECT_EQ(g.code, 2);
  EXPECT_NE(g.err.find("multiple of KV heads"), std::string::npos) << g.err;

  // Q's head_dim against K's
  const std::string q64 = temp_path("shape_q64.npy");
  random_npy(q64, {4, 64}, 5);
  const Result d = pnmvp("attend --q " + quoted(q64) + " --k " + quoted(a.k) + " --v " + quoted(a.v) +
                         " --out " + quoted(out));
  EXPECT_EQ(d.code, 2);
  EXPECT_NE(d.err.find("Q's last dim is 64, K's and V's is 32"), std::string::npos) << d.err;

  // Q of rank 3
  const Result rank = pnmvp("attend --q " + quoted(a.k) + " --k " + quoted(a.k) + " --v " + quoted(a.v) +
                            " --out " + quoted(out));
  EXPECT_EQ(rank.code, 2);
  EXPECT_NE(rank.err.find("Q must be 1-d"), std::string::npos) << rank.err;
}

TEST(CliAttend, HeadDimNotAMultipleOfTheLanesIsRefused) {
  const Attn a("d20", 2, 1, 20, 50);
  const Result r = pnmvp(a.args(temp_path("d20_o.npy")));
  EXPECT_EQ(r.code, 2);
  EXPECT_NE(r.err.find("head_dim 20"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("multiple of the engine's 16 lanes"), std::string::npos) << r.err;
}

TEST(CliAttend, BadAndMissingFilesAreNamed) {
  const Attn a("files", 2, 1, 32, 40);
  const std::string out = temp_path("files_o.npy");
  const std::string garbage = write_text("files_garbage.npy", "this is not a numpy file\n");
  const Result bad = pnmvp("attend --q " + quoted(a.q) + " --k " + quoted(garbage) + " --v " + quoted(a.v) +
                           " --out " + quoted(out));
  EXPECT_EQ(bad.code, 2);
  EXPECT_NE(bad.err.find(garbage + ": not a .npy file"), std::string::npos) << bad.err;

  const std::string missing = temp_path("files_missing.npy");
  const Result gone = pnmvp("attend --q " + quoted(a.q) + " --k " + quoted(a.k) + " --v " + quoted(missing) +
                            " --out " + quoted(out));
  EXPECT_EQ(gone.code, 2);
  EXPECT_NE(gone.err.find(missing + ": cannot open"), std::string::npos) << gone.err;
}

TEST(CliAttend, RefusesToOverwriteWithoutForce) {
  const Attn a("force", 2, 1, 32, 40);
  const std::string out = write_text("force_o.npy", "precious\n");
  const Result r = pnmvp(a.args(out));
  EXPECT_EQ(r.code, 2);
  EXPECT_NE(r.err.find("--force"), std::string::npos) << r.err;
  EXPECT_EQ(slurp(out), "precious\n");
  // --force replaces only a file pnmvp wrote (issue 17): not this one.
  const Result f = pnmvp(a.args(out) + " --force");
  EXPECT_EQ(f.code, 2);
  EXPECT_NE(f.err.find("is not an output of pnmvp"), std::string::npos) << f.err;
  EXPECT_EQ(slurp(out), "precious\n");
  std::remove(out.c_str());
  ASSERT_EQ(pnmvp(a.args(out)).code, 0);
  const Result g = pnmvp(a.args(out) + " --force");
  ASSERT_EQ(g.code, 0) << g.err;
  EXPECT_EQ(pnm::npy::read_f32(out).shape, (std::vector<size_t>{2, 32}));
}

TEST(CliAttend, TopKLimits) {
  const Attn small("tk0", 1, 1, 16, 40);
  const Result zero = pnmvp(small.args(temp_path("tk0_o.npy")) + " --topk 0");
  EXPECT_EQ(zero.code, 2);
  EXPECT_NE(zero.err.find("--topk 0"), std::string::npos) << zero.err;
  // 2100 tokens to choose 2100 from: more than the engine's 2048-entry selector (the job's error code)
  const Attn big("tkbig", 1, 1, 16, 2100, /*q_1d=*/true, /*kv_heads_dim=*/false);
  const Result over = pnmvp(big.args(temp_path("tkbig_o.npy")) + " --topk 2100");
  EXPECT_EQ(over.code, 2);
  EXPECT_NE(over.err.find("selector holds 2048 entries"), std::string::npos) << over.err;
  const std::string out = temp_path("tkbig_ok.npy");
  const Result fits = pnmvp(big.args(out) + " --topk 2048");
  ASSERT_EQ(fits.code, 0) << fits.err;
  expect_matches(pnm::npy::read_f32(out).data,
                 pnm::kernels::attention_topk(big.s, big.qv, big.kv, big.vv, 2048));
}

} // namespace
