// Chrome/Perfetto trace writer: every file it writes is parsed back with nlohmann::json,
// so the tests check what a trace viewer will actually read.
#include "../support/temp_path.h"
#include "common/trace_writer.h"

#include <cmath>
#include <cstdio>
#include <fstream>
#include <gtest/gtest.h>
#include <limits>
#include <map>
#include <nlohmann/json.hpp>
#include <sstream>
#include <unistd.h>

#if defined(__SANITIZE_ADDRESS__)
#define PNM_TEST_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define PNM_TEST_ASAN 1
#endif
#endif

using nlohmann::json;
using pnm::TraceWriter;

namespace {

std::string slurp(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

json parse_file(const std::string& path) { return json::parse(slurp(path)); }

// Events of one phase ("X", "i", "C", "M") in file order.
std::vector<json> phase(const json& doc, const std::string& ph) {
  std::vector<json> out;
  for (const auto& e : doc.at("traceEvents"))
    if (e.at("ph") == ph) out.push_back(e);
  return out;
}

// Resident set size now (not peak), from /proc/self/statm.
double rss_mib() {
  std::ifstream in("/proc/self/statm");
  long pages_total = 0, pages_resident = 0;
  in >> pages_total >> pages_resident;
  return static_cast<double>(pages_resident) * static_cast<double>(::sysconf(_SC_PAGESIZE)) / (1 << 20);
}

struct TempFile {
  std::string path;
  explicit TempFile(const std::string& name) : path(pnm::test::temp_path(name)) { std::remove(path.c_str()); }
  ~TempFile() { std::remove(path.c_str()); }
};

} // namespace

TEST(TraceWriter, WritesEventsMetadataAndMicroseconds) {
  TempFile f("trace_basic.json");
  {
    TraceWriter w(f.path, false);
    const int dram = w.track("device", "dram ch0");
    const int link = w.track("device", "cxl link");
    const int host = w.track("host", "driver");
    EXPECT_EQ(w.track("device", "dram ch0"), dram); // same names, same id, metadata once
    w.complete(dram, "ACT", 1234.567, 0.417, {{"bank", 3}, {"row", 17}}); // sub-ns times
    w.instant(link, "credit stall", 2000.0);
    w.counter(host, "queue", 1.0, {{"read", 4.0}, {"write", 2.5}});
    EXPECT_EQ(w.events(), 3u);
    w.close();
  }
  const json doc = parse_file(f.path);
  EXPECT_EQ(doc.at("displayTimeUnit"), "ns");

  const auto meta = phase(doc, "M");
  ASSERT_EQ(meta.size(), 5u); // 2 process_name + 3 thread_name
  std::map<std::string, int> pid_of, tid_of;
  for (const auto& m : meta) {
    if (m.at("name") == "process_name") pid_of[m.at("args").at("name")] = m.at("pid");
    if (m.at("name") == "thread_name") tid_of[m.at("args").at("name")] = m.at("tid");
  }
  ASSERT_EQ(pid_of.size(), 2u);
  ASSERT_EQ(tid_of.size(), 3u);
  EXPECT_NE(pid_of["device"], pid_of["host"]);

  const auto x = phase(doc, "X");
  ASSERT_EQ(x.size(), 1u);
  EXPECT_EQ(x[0].at("name"), "ACT");
  EXPECT_EQ(x[0].at("pid"), pid_of["device"]);
  EXPECT_EQ(x[0].at("tid"), tid_of["dram ch0"]);
  EXPECT_NEAR(x[0].at("ts").get<double>(), 1.234567, 1e-12); // ns -> µs, 1 ps resolution kept
  EXPECT_NEAR(x[0].at("dur").get<double>(), 0.000417, 1e-12);
  EXPECT_EQ(x[0].at("args").at("bank"), 3);
  EXPECT_EQ(x[0].at("args").at("row"), 17);

  const auto i = phase(doc, "i");
  ASSERT_EQ(i.size(), 1u);
  EXPECT_EQ(i[0].at("s"), "t");
  EXPECT_EQ(i[0].at("tid"), tid_of["cxl link"]);
  EXPECT_DOUBLE_EQ(i[0].at("ts").get<double>(), 2.0);
  EXPECT_FALSE(i[0].contains("args")); // empty args are left out

  const auto c = phase(doc, "C");
  ASSERT_EQ(c.size(), 1u);
  EXPECT_EQ(c[0].at("pid"), pid_of["host"]);
  EXPECT_DOUBLE_EQ(c[0].at("ts").get<double>(), 0.001);
  EXPECT_DOUBLE_EQ(c[0].at("args").at("read").get<double>(), 4.0);
  EXPECT_DOUBLE_EQ(c[0].at("args").at("write").get<double>(), 2.5);

  EXPECT_EQ(doc.at("otherData").at("events"), 3);
  EXPECT_EQ(doc.at("otherData").at("dropped_events"), 0);
}

TEST(TraceWriter, EscapesQuotesNewlinesAndControlCharacters) {
  TempFile f("trace_escape.json");
  const std::string nasty = "say \"hi\"\nback\\slash\ttab\x01 end";
  {
    TraceWriter w(f.path, false);
    const int t = w.track("proc \"A\"\n", "thread\\1");
    w.complete(t, nasty, 0, 1, {{"note", nasty}});
    w.counter(t, nasty, 1, {{nasty, 1.0}});
  }
  const json doc = parse_file(f.path);
  EXPECT_EQ(phase(doc, "X").at(0).at("name"), nasty);
  EXPECT_EQ(phase(doc, "X").at(0).at("args").at("note"), nasty);
  EXPECT_EQ(phase(doc, "C").at(0).at("args").at(nasty), 1.0);
  const auto meta = phase(doc, "M");
  EXPECT_EQ(meta.at(0).at("args").at("name"), "proc \"A\"\n");
  EXPECT_EQ(meta.at(1).at("args").at("name"), "thread\\1");
}

TEST(TraceWriter, InvalidUtf8InNamesStillGivesValidJson) {
  TempFile f("trace_utf8.json");
  {
    TraceWriter w(f.path, false);
    const int t = w.track("p", "t");
    w.instant(t, std::string("bad \xff byte"), 0);
  }
  EXPECT_NO_THROW(parse_file(f.path));
}

TEST(TraceWriter, MaxEventsDropsAndKeepsValidJson) {
  TempFile f("trace_max.json");
  {
    TraceWriter w(f.path, false);
    w.set_max_events(10);
    const int t = w.track("p", "t");
    for (int k = 0; k < 25; ++k) w.complete(t, "ev" + std::to_string(k), k * 10.0, 5.0);
    EXPECT_EQ(w.events(), 10u);
    EXPECT_EQ(w.dropped(), 15u);
    w.track("p", "late track"); // metadata is never dropped
    w.instant(t, "also dropped", 1e6);
    EXPECT_EQ(w.dropped(), 16u);
  }
  const json doc = parse_file(f.path);
  const auto x = phase(doc, "X");
  ASSERT_EQ(x.size(), 10u);
  EXPECT_EQ(x.front().at("name"), "ev0"); // the first n are kept
  EXPECT_EQ(x.back().at("name"), "ev9");
  EXPECT_TRUE(phase(doc, "i").empty());
  EXPECT_EQ(phase(doc, "M").size(), 3u);
  const json& other = doc.at("otherData");
  EXPECT_EQ(other.at("events"), 10);
  EXPECT_EQ(other.at("dropped_events"), 16);
  EXPECT_EQ(other.at("max_events"), 10);
  EXPECT_NE(other.at("note").get<std::string>().find("16 events"), std::string::npos);
}

TEST(TraceWriter, MaxEventsZeroGivesValidEmptyTrace) {
  TempFile f("trace_zero.json");
  {
    TraceWriter w(f.path, false);
    w.set_max_events(0);
    w.instant(w.track("p", "t"), "x", 1);
  }
  const json doc = parse_file(f.path);
  EXPECT_EQ(doc.at("otherData").at("dropped_events"), 1);
  EXPECT_TRUE(phase(doc, "i").empty());
}

TEST(TraceWriter, RefusesToOverwriteAndLeavesOldFileUnchanged) {
  TempFile f("trace_exists.json");
  const std::string old = "previous run's trace, keep me\n";
  std::ofstream(f.path) << old;
  try {
    TraceWriter w(f.path, false);
    FAIL() << "expected a refusal";
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find(f.path), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("exists"), std::string::npos) << e.what();
  }
  EXPECT_EQ(slurp(f.path), old);

  {
    TraceWriter w(f.path, true); // explicit overwrite replaces it
    w.instant(w.track("p", "t"), "new", 0);
  }
  EXPECT_EQ(phase(parse_file(f.path), "i").size(), 1u);
}

TEST(TraceWriter, UnopenablePathNamesThePath) {
  const std::string bad = pnm::test::temp_path("no_such_dir") + "/trace.json";
  try {
    TraceWriter w(bad, true);
    FAIL() << "expected an error";
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find(bad), std::string::npos) << e.what();
  }
}

TEST(TraceWriter, DestructorFinishesAValidFile) {
  TempFile f("trace_dtor.json");
  {
    TraceWriter w(f.path, false);
    const int t = w.track("p", "t");
    w.complete(t, "a", 0, 1);
    w.complete(t, "b", 1, 1);
  } // no close()
  const json doc = parse_file(f.path);
  EXPECT_EQ(phase(doc, "X").size(), 2u);
  EXPECT_EQ(doc.at("otherData").at("events"), 2);
}

TEST(TraceWriter, EmptyTraceIsValid) {
  TempFile f("trace_empty.json");
  { TraceWriter w(f.path, false); }
  const json doc = parse_file(f.path);
  EXPECT_TRUE(doc.at("traceEvents").empty());
}

TEST(TraceWriter, CloseIsIdempotentAndRecordingAfterCloseIsAnError) {
  TempFile f("trace_close.json");
  TraceWriter w(f.path, false);
  const int t = w.track("p", "t");
  w.close();
  EXPECT_NO_THROW(w.close());
  EXPECT_THROW(w.instant(t, "late", 0), std::logic_error);
  EXPECT_THROW(w.track("p", "u"), std::logic_error);
  EXPECT_NO_THROW(parse_file(f.path));
}

TEST(TraceWriter, RejectsWhatWouldBreakTheFile) {
  TempFile f("trace_reject.json");
  {
    TraceWriter w(f.path, false);
    const int t = w.track("p", "t");
    const double nan = std::nan("");
    const double inf = std::numeric_limits<double>::infinity();
    EXPECT_THROW(w.complete(t, "x", nan, 1), std::invalid_argument);
    EXPECT_THROW(w.complete(t, "x", 0, inf), std::invalid_argument);
    EXPECT_THROW(w.complete(t, "x", 0, -1), std::invalid_argument);
    EXPECT_THROW(w.instant(t, "x", 0, json::array({1, 2})), std::invalid_argument);
    EXPECT_THROW(w.counter(t, "x", 0, {{"v", nan}}), std::invalid_argument);
    EXPECT_THROW(w.counter(t, "x", 0, {}), std::invalid_argument);
    EXPECT_THROW(w.instant(t + 1, "x", 0), std::out_of_range);
    EXPECT_THROW(w.instant(-1, "x", 0), std::out_of_range);
    EXPECT_EQ(w.events(), 0u);
  }
  EXPECT_TRUE(phase(parse_file(f.path), "X").empty());
}

TEST(TraceWriter, StreamsMillionsOfEventsWithFlatRss) {
  // /dev/null: measures the writer's memory, not the disk. Under ASan freed blocks sit in the
  // quarantine, so RSS is not a measure of what the writer holds; the run still exercises it.
#if defined(PNM_TEST_ASAN)
  constexpr int kEvents = 200'000;
  constexpr bool kCheckRss = false;
#else
  constexpr int kEvents = 2'000'000;
  constexpr bool kCheckRss = true;
#endif
  constexpr double kMaxGrowthMib = 8.0;
  TraceWriter w("/dev/null", true);
  const int t = w.track("device", "dram");
  for (int k = 0; k < 10'000; ++k) w.complete(t, "warm", k, 1); // buffers and allocator settle
  const double before = rss_mib();
  for (int k = 0; k < kEvents; ++k) w.complete(t, "RD", k * 0.833, 0.4167, {{"bank", k & 31}});
  const double after = rss_mib();
  w.close();
  EXPECT_EQ(w.events(), static_cast<uint64_t>(kEvents) + 10'000);
  if (kCheckRss) {
    EXPECT_LT(after - before, kMaxGrowthMib) << "before " << before << " MiB, after " << after;
  }
}
