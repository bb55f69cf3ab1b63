// Provenance (common/report.h): every report written through write_report
// and every trace TraceWriter closes records version, commit, command line
// and the configuration read.
#include "../support/temp_path.h"
#include "common/config.h"
#include "common/report.h"
#include "common/trace_writer.h"
#include "common/version.h"

#include <cstdio>
#include <fstream>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

namespace pnm {
namespace {

nlohmann::json read_json(const std::string& path) {
  std::ifstream in(path);
  return nlohmann::json::parse(in);
}

// Reads a small document the way a loader does: values, a default, a child.
void read_sample(const std::string& origin, double tck_ns) {
  ConfigNode root = ConfigNode::from_json(
      nlohmann::json{{"name", "sample"}, {"timing", {{"tCK_ns", tck_ns}, {"burst", 16}}}}, origin);
  root.text("name", "platform name");
  ConfigNode t = root.child("timing");
  t.number("tCK_ns", {0.1, 10}, "ns", "clock period");
  t.integer("burst", {1, 64}, "beats", "burst length");
  t.boolean_or("refresh", true, "refresh on");
}

TEST(Provenance, ReportRecordsVersionCommitCommandLineAndConfigRead) {
  provenance::clear_config();
  const char* argv[] = {"pnmvp", "dram", "--platform", "my platform.json", "--pattern", "it's"};
  provenance::set_command_line(6, argv);
  read_sample("sample.json", 0.416);

  const std::string path = test::temp_path("prov_report.json");
  write_report(path, nlohmann::ordered_json{{"schema", "pnmvp.test.v1"}, {"x", 1}});
  const nlohmann::json j = read_json(path);
  std::remove(path.c_str());

  ASSERT_TRUE(j.contains("provenance"));
  const auto& p = j["provenance"];
  EXPECT_EQ(p["version"], version());
  EXPECT_EQ(p["commit"], git_commit());
  // Arguments that need it are quoted for a POSIX shell, so the line can be pasted back.
  EXPECT_EQ(p["command_line"], "pnmvp dram --platform 'my platform.json' --pattern 'it'\\''s'");
  const auto& c = p["config"]["sample.json"];
  EXPECT_EQ(c["/name"], "sample");
  EXPECT_DOUBLE_EQ(c["/timing/tCK_ns"].get<double>(), 0.416); // values as JSON, not text
  EXPECT_EQ(c["/timing/burst"], 16);
  EXPECT_EQ(c["/timing/refresh"], true); // a default taken is recorded with its value
  EXPECT_EQ(j["x"], 1);                  // the report itself is untouched
}

TEST(Provenance, DocumentLoadedAgainReplacesItsEntryAndOrderIsLoadOrder) {
  provenance::clear_config();
  read_sample("a.json", 1.0);
  read_sample("b.json", 2.0);
  read_sample("a.json", 3.0);
  const nlohmann::ordered_json p = provenance::object();
  ASSERT_EQ(p["config"].size(), 2u);
  EXPECT_EQ(p["config"].begin().key(), "a.json");
  EXPECT_DOUBLE_EQ(p["config"]["a.json"]["/timing/tCK_ns"].get<double>(), 3.0);
  EXPECT_DOUBLE_EQ(p["config"]["b.json"]["/timing/tCK_ns"].get<double>(), 2.0);
}

TEST(Provenance, FileLoaderRecordsTheFileItRead) {
  provenance::clear_config();
  const std::string path = test::temp_path("prov_cfg.json");
  {
    std::ofstream out(path);
    out << R"({"schema": "pnmvp.platform.v1", "lanes": 32})";
  }
  ConfigNode n = ConfigNode::load_file(path);
  n.integer("lanes", {1, 64}, "", "lanes");
  std::remove(path.c_str());
  EXPECT_EQ(provenance::object()["config"][path]["/lanes"], 32);
}

TEST(Provenance, AReportThatCarriesItsOwnProvenanceKeepsIt) {
  const std::string path = test::temp_path("prov_own.json");
  write_report(path, nlohmann::ordered_json{{"schema", "pnmvp.test.v1"}, {"provenance", "merged"}});
  const nlohmann::json j = read_json(path);
  std::remove(path.c_str());
  EXPECT_EQ(j["provenance"], "merged");
}

TEST(Provenance, CommandLineThatIsNotUtf8StillWritesTheReport) {
  const char* argv[] = {"pnmvp", "run", "\xff\xfe"};
  provenance::set_command_line(3, argv);
  const std::string path = test::temp_path("prov_utf8.json");
  EXPECT_NO_THROW(write_report(path, nlohmann::ordered_json{{"schema", "pnmvp.test.v1"}}));
  const nlohmann::json j = read_json(path);
  std::remove(path.c_str());
  EXPECT_EQ(j["provenance"]["command_line"].get<std::string>().rfind("pnmvp run '", 0), 0u);
}

TEST(Provenance, TraceRecordsItToo) {
  provenance::clear_config();
  const char* argv[] = {"pnmvp", "run", "--trace", "t.json"};
  provenance::set_command_line(4, argv);
  read_sample("trace_cfg.json", 0.5);
  const std::string path = test::temp_path("prov_trace.json");
  {
    TraceWriter w(path, true);
    w.instant(w.track("host", "main"), "start", 0);
    w.close();
  }
  const nlohmann::json j = read_json(path); // still valid JSON
  std::remove(path.c_str());
  bool found = false;
  for (const auto& e : j["traceEvents"]) found = found || e.value("name", "") == "start";
  EXPECT_TRUE(found);
  EXPECT_EQ(j["provenance"]["command_line"], "pnmvp run --trace t.json");
  EXPECT_EQ(j["provenance"]["commit"], git_commit());
  EXPECT_DOUBLE_EQ(j["provenance"]["config"]["trace_cfg.json"]["/timing/tCK_ns"].get<double>(), 0.5);
}

} // namespace
} // namespace pnm
