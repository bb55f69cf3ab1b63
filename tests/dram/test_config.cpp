// The config loader: every bad input names the file, the key path and what
// is allowed.
#include "../support/temp_path.h"
#include "common/config.h"
#include "common/report.h"
#include "platform.h"

#include <fstream>
#include <gtest/gtest.h>

using namespace pnm;
using nlohmann::json;

namespace {
std::string platform_json(const std::string& name) {
  std::ifstream in(std::string(PNM_SOURCE_DIR) + "/platforms/" + name + ".json");
  return std::string(std::istreambuf_iterator<char>(in), {});
}
// Writes a platform next to the shipped ones (so its memspec include resolves).
std::string error_for(const std::function<void(json&)>& edit) {
  json j = json::parse(platform_json("ddr5-4800-1ch"));
  edit(j);
  std::string path = pnm::test::temp_path("edited.json");
  j["dram"]["memspec"] = std::string(PNM_SOURCE_DIR) + "/platforms/memspec/JEDEC_DDR5-4800AN_16Gb_x8.json";
  if (j["dram"].contains("_memspec_inline")) {
    j["dram"]["memspec"] = j["dram"]["_memspec_inline"];
    j["dram"].erase("_memspec_inline");
  }
  std::ofstream(path) << j.dump(2);
  try {
    load_platform(path);
  } catch (const ConfigError& e) {
    return e.what();
  }
  return "";
}
json memspec_4800() {
  std::ifstream in(std::string(PNM_SOURCE_DIR) + "/platforms/memspec/JEDEC_DDR5-4800AN_16Gb_x8.json");
  json j = json::parse(in);
  j["power"] = std::string(PNM_SOURCE_DIR) + "/platforms/memspec/power/Ramulator2_DDR5_default_power.json";
  return j;
}
} // namespace

TEST(Config, ShippedPlatformsLoad) {
  for (const char* p : {"ddr5-3200an-1ch", "ddr5-4800-1ch", "ddr5-5600-1ch", "ddr5-4800-8ch"}) {
    PlatformConfig pc = load_platform(std::string(PNM_SOURCE_DIR) + "/platforms/" + p + ".json");
    EXPECT_FALSE(pc.params.empty());
    for (const auto& prm : pc.params) {
      if (prm.unit == "nCK" || prm.unit == "mA" || prm.unit == "V" || prm.unit == "ohm") {
        EXPECT_FALSE(prm.source.empty()) << prm.path;
      }
    }
  }
}

TEST(Config, UnknownKeyIsNamedWithItsPath) {
  std::string e = error_for([](json& j) { j["dram"]["controller"]["page_polcy"] = "open"; });
  EXPECT_NE(e.find("edited.json: /dram/controller/page_polcy"), std::string::npos) << e;
  EXPECT_NE(e.find("unknown key"), std::string::npos) << e;
}

TEST(Config, WrongTypeAndRangeNameTheAllowedValues) {
  std::string e = error_for([](json& j) { j["dram"]["channels"] = "eight"; });
  EXPECT_NE(e.find("/dram/channels"), std::string::npos) << e;
  EXPECT_NE(e.find("expected an integer in [1, 64]"), std::string::npos) << e;
  e = error_for([](json& j) { j["dram"]["channels"] = 0; });
  EXPECT_NE(e.find("out of range [1, 64]"), std::string::npos) << e;
  e = error_for([](json& j) { j["dram"]["channels"] = 3; });
  EXPECT_NE(e.find("power of two"), std::string::npos) << e;
  e = error_for([](json& j) { j["dram"]["controller"]["page_policy"] = "sometimes"; });
  EXPECT_NE(e.find("valid: open|closed|adaptive"), std::string::npos) << e;
  e = error_for([](json& j) { j["dram"]["controller"]["address_mapping"] = "RoBaXX"; });
  EXPECT_NE(e.find("/dram/controller/address_mapping"), std::string::npos) << e;
}

TEST(Config, MemspecErrorsNameTheMemspecKey) {
  std::string e = error_for([](json& j) {
    json m = memspec_4800();
    m["timing"]["tRCD_nck"] = -3;
    j["dram"]["_memspec_inline"] = m;
  });
  EXPECT_NE(e.find("/dram/memspec/timing/tRCD_nck"), std::string::npos) << e;
  e = error_for([](json& j) {
    json m = memspec_4800();
    m["timing"].erase("source");
    j["dram"]["_memspec_inline"] = m;
  });
  EXPECT_NE(e.find("must name their source"), std::string::npos) << e;
  e = error_for([](json& j) {
    json m = memspec_4800();
    m["architecture"]["rows"] = 32768; // 16 Gb no longer adds up
    j["dram"]["_memspec_inline"] = m;
  });
  EXPECT_NE(e.find("device_density_gbit"), std::string::npos) << e;
}

TEST(Config, InvalidJsonGivesLineAndColumn) {
  std::string path = pnm::test::temp_path("broken.json");
  std::ofstream(path) << "{\n  \"schema\": \"pnmvp.platform.v1\",\n  \"name\": oops\n}\n";
  try {
    load_platform(path);
    FAIL() << "no error";
  } catch (const ConfigError& e) {
    EXPECT_NE(std::string(e.what()).find("broken.json:3:"), std::string::npos) << e.what();
  }
}

TEST(Config, MissingFileAndWrongSchema) {
  EXPECT_THROW(load_platform("/nonexistent.json"), ConfigError);
  std::string e = error_for([](json& j) { j["schema"] = "something.else"; });
  EXPECT_NE(e.find("not a platform file"), std::string::npos) << e;
}

TEST(Report, RefusesToOverwriteAFileItDidNotWrite) {
  std::string path = pnm::test::temp_path("users_trace.txt");
  std::ofstream(path) << "LD 0x40\n";
  nlohmann::ordered_json j;
  j["schema"] = "pnmvp.run.v1"; // an output schema (common/output_guard.h)
  EXPECT_THROW(write_report(path, j), std::runtime_error);
  std::ifstream in(path);
  std::string line;
  std::getline(in, line);
  EXPECT_EQ(line, "LD 0x40"); // untouched
  std::string rep = pnm::test::temp_path("report.json");
  std::remove(rep.c_str());
  write_report(rep, j);
  write_report(rep, j); // a pnmvp report may be replaced
  // A pnmvp input (platform, system, model...) carries a schema too, but
  // pnmvp did not write it.
  std::string platform = pnm::test::temp_path("platform.json");
  std::ofstream(platform) << "{\n  \"schema\": \"pnmvp.platform.v1\",\n  \"name\": \"mine\"\n}\n";
  EXPECT_THROW(write_report(platform, j), std::runtime_error);
  std::ifstream kept(platform);
  EXPECT_EQ(nlohmann::json::parse(kept)["schema"], "pnmvp.platform.v1");
  std::remove(platform.c_str());
  std::remove(rep.c_str());
}

TEST(Config, FrontEndSectionIsValidatedAndRead) {
  EXPECT_NE(error_for([](json& j) { j["dram"]["front_end"] = {{"engine_weight", 0}}; })
                .find("/dram/front_end/engine_weight"),
            std::string::npos);
  EXPECT_NE(error_for([](json& j) { j["dram"]["front_end"] = {{"priority", 2}}; }).find("priority"),
            std::string::npos);
  EXPECT_NE(error_for([](json& j) { j["dram"]["front_end"] = {{"sync_quantum_ns", 0}}; }).find("sync_quantum_ns"),
            std::string::npos);
  json j = json::parse(platform_json("ddr5-4800-1ch"));
  j["dram"]["memspec"] = std::string(PNM_SOURCE_DIR) + "/platforms/memspec/JEDEC_DDR5-4800AN_16Gb_x8.json";
  j["dram"]["front_end"] = {{"host_weight", 3}, {"engine_weight", 2}, {"sync_quantum_ns", 250}};
  const std::string path = pnm::test::temp_path("front_end.json");
  std::ofstream(path) << j.dump(2);
  const PlatformConfig pc = load_platform(path);
  EXPECT_EQ(pc.dram.front_end.host_weight, 3u);
  EXPECT_EQ(pc.dram.front_end.engine_weight, 2u);
  EXPECT_EQ(pc.dram.front_end.controller_weight, 1u);
  EXPECT_EQ(pc.dram.front_end.sync_quantum_ns, 250.0);
}

TEST(Config, ADuplicateKeyIsRefusedWithItsPath) {
  std::string text = platform_json("ddr5-4800-1ch");
  // Say "channels" twice in the dram section (JSON itself would keep the last).
  const size_t at = text.find("\"channels\"");
  ASSERT_NE(at, std::string::npos);
  text.insert(at, "\"channels\": 2,\n    ");
  const std::string path = pnm::test::temp_path("dup.json");
  std::ofstream(path) << text;
  try {
    load_platform(path);
    ADD_FAILURE() << "a duplicate key was accepted";
  } catch (const ConfigError& e) {
    EXPECT_NE(std::string(e.what()).find("dup.json: /dram/channels: the key appears twice"), std::string::npos)
        << e.what();
  }
}
