#include "common/report.h"
#include "common/stats.h"
#include "../support/temp_path.h"

#include <fstream>
#include <gtest/gtest.h>

namespace pnm {
namespace {

StatGroup sample(double act, double jobs) {
  StatGroup root("dev", "a device");
  StatGroup& en = root.group("dram").group("energy_pj", "DRAM energy by class");
  en.set("act", act, "pJ", "activates");
  en.set("total", act + 1, "pJ", "sum");
  root.group("engine").set("jobs_done", jobs, "count", "jobs finished");
  return root;
}

TEST(StatGroup, FindsByPath) {
  const StatGroup root = sample(10, 2);
  EXPECT_EQ(root.value_at("dram/energy_pj/act"), 10);
  EXPECT_EQ(root.value_at("engine/jobs_done"), 2);
  ASSERT_NE(root.find_at("dram/energy_pj/total"), nullptr);
  EXPECT_EQ(root.find_at("dram/energy_pj/total")->unit, "pJ");
  EXPECT_EQ(root.find_group_at("dram/energy_pj")->description(), "DRAM energy by class");
  EXPECT_EQ(root.find_group_at(""), &root);
  EXPECT_EQ(root.find_at("dram/energy_pj/nope"), nullptr);
  EXPECT_EQ(root.find_at("nope/act"), nullptr);
  EXPECT_THROW(root.value_at("dram/nope/act"), std::out_of_range);
}

TEST(StatGroup, MinusIsTheWindow) {
  const StatGroup earlier = sample(10, 2);
  StatGroup later = sample(25, 5);
  later.group("engine").set("jobs_failed", 1, "count", "jobs rejected");
  const StatGroup w = later.minus(earlier);
  EXPECT_EQ(w.name(), "dev");
  EXPECT_EQ(w.value_at("dram/energy_pj/act"), 15);
  EXPECT_EQ(w.value_at("dram/energy_pj/total"), 15);
  EXPECT_EQ(w.value_at("engine/jobs_done"), 3);
  EXPECT_EQ(w.value_at("engine/jobs_failed"), 1); // absent earlier: counted from 0
  EXPECT_EQ(w.find_at("engine/jobs_done")->unit, "count");
  EXPECT_EQ(w.find_at("engine/jobs_done")->description, "jobs finished");
  EXPECT_EQ(w.find_group_at("dram/energy_pj")->description(), "DRAM energy by class");
  // The operands are untouched.
  EXPECT_EQ(later.value_at("dram/energy_pj/act"), 25);
  EXPECT_EQ(earlier.value_at("dram/energy_pj/act"), 10);
}

TEST(StatGroup, StatsDocumentHasSchemaUnitsAndDescriptions) {
  const nlohmann::ordered_json j = stats_document(sample(10, 2));
  EXPECT_EQ(j.begin().key(), "schema");
  EXPECT_EQ(j["schema"], kStatsSchema);
  const auto& act = j["stats"]["dram"]["energy_pj"]["act"];
  EXPECT_EQ(act["value"], 10);
  EXPECT_EQ(act["unit"], "pJ");
  EXPECT_EQ(act["description"], "activates");
  // The one report writer takes it, and may replace its own file later.
  const std::string path = test::temp_path("stats.json");
  write_report(path, j);
  write_report(path, j);
  std::ifstream in(path);
  EXPECT_EQ(nlohmann::json::parse(in)["schema"], kStatsSchema);
  std::remove(path.c_str());
}

} // namespace
} // namespace pnm
