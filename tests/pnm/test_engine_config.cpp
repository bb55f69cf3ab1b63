// Engine parameters: the shipped file loads; bad values, missing sources
// and unknown keys are rejected with the key named.
#include "pnm/engine_config.h"

#include <gtest/gtest.h>

#include <fstream>
#include <nlohmann/json.hpp>

namespace {

using namespace pnm::engine;

nlohmann::json shipped() {
  std::ifstream in(default_engine_file());
  return nlohmann::json::parse(in);
}

EngineConfig load(const nlohmann::json& doc) {
  pnm::ConfigNode root = pnm::ConfigNode::from_json(doc, "test.json");
  return load_engine_config(root.child("engine"));
}

TEST(EngineConfig, ShippedDefaultsLoadWithSources) {
  const EngineConfig c = load_engine_file(default_engine_file());
  EXPECT_EQ(c.clock_mhz, 1000);
  EXPECT_EQ(c.dot_units, 32u);
  EXPECT_EQ(c.topk_max_entries, 2048u);
  EXPECT_EQ(c.sram_buffer_bytes(), 256u * 1024);
  EXPECT_DOUBLE_EQ(c.energy.pj_per_mac_bf16, 1.1 + 0.9);
  EXPECT_DOUBLE_EQ(c.energy.pj_per_mac_int8, 0.2 + 0.1);
  EXPECT_DOUBLE_EQ(c.energy.pj_per_mac_fp32, 3.7 + 0.9);
  EXPECT_DOUBLE_EQ(c.energy.pj_per_sram_64b, 8 * 10.0);
  EXPECT_EQ(c.energy.technology_nm, 45);
  EXPECT_NE(c.energy.mac_source.find("Horowitz"), std::string::npos);
  EXPECT_NE(c.energy.sram_source.find("8 KB"), std::string::npos);
}

TEST(EngineConfig, RejectsOutOfRangeUnknownKeysAndMissingSources) {
  auto expect_error = [](nlohmann::json doc, const char* needle) {
    try {
      load(doc);
      ADD_FAILURE() << "accepted; expected an error mentioning " << needle;
    } catch (const pnm::ConfigError& e) {
      EXPECT_NE(std::string(e.what()).find(needle), std::string::npos) << e.what();
    }
  };
  nlohmann::json d = shipped();
  d["engine"]["dot_units"] = 0;
  expect_error(d, "/engine/dot_units");
  d = shipped();
  d["engine"]["clock_mhz"] = "fast";
  expect_error(d, "/engine/clock_mhz");
  d = shipped();
  d["engine"]["dot_unit"] = 4;
  expect_error(d, "dot_unit");
  d = shipped();
  d["engine"]["energy"]["mac"].erase("source");
  expect_error(d, "/engine/energy/mac/source");
  d = shipped();
  d["engine"]["energy"]["sram"]["pj_per_sram_64b"] = -1;
  expect_error(d, "pj_per_sram_64b");
}

} // namespace
