// The calibrated device cost table (plain C++): exact on grid points, linear
// between them and beyond them, mixed batches at their mean context, bulk
// moves at the measured rates, the file round trip, and bad files refused
// with the file and key named.
#include "serving/device_cost.h"

#include <gtest/gtest.h>

#include <fstream>

using namespace pnm::serving;

namespace {
// A cost that is deliberately not bilinear in (batch, context), so grid
// points and interpolation can be told apart.
DeviceStepCost cost_at(uint32_t b, uint32_t c) {
  DeviceStepCost x;
  x.ns = 1000.0 + 3.0 * b * c + 0.001 * double(c) * c + 50.0 * b * b;
  x.link_bytes = 64.0 * b + 2.0 * c;
  x.energy.dram_rd_wr = 10.0 * b * c;
  x.energy.dram_background = 0.5 * x.ns;
  x.energy.host_cpu = 7.0 * b;
  return x;
}

CalibratedDeviceCost table() {
  std::vector<CalibratedDeviceCost::Point> g;
  for (uint32_t b : {1u, 4u, 16u})
    for (uint32_t c : {1024u, 4096u, 16384u}) g.push_back({b, c, cost_at(b, c)});
  CalibratedDeviceCost::Bulk w, r;
  w.gbps = 40;
  w.link_bytes_per_byte = 1.0;
  w.pj_per_byte.link = 5;
  w.pj_per_byte.dram_rd_wr = 2;
  r.gbps = 50;
  r.link_bytes_per_byte = 1.0;
  r.pj_per_byte.link = 4;
  CalibratedDeviceCost t({"pnm-ref-system", "fnv1a64:0123456789abcdef", "llama-3.1-8b", 32, "pnm-dense", 0}, g, w, r);
  t.vp_version = "0.1 (commit test)";
  t.vp_commit = "test";
  t.created = "2026-01-01T00:00:00Z";
  return t;
}

std::string temp_file(const std::string& name, const std::string& text) {
  const std::string p = ::testing::TempDir() + "/" + name;
  std::ofstream(p) << text;
  return p;
}

std::string error_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const std::exception& e) {
    return e.what();
  }
  return "";
}
} // namespace

TEST(DeviceEnergy, TotalSumScaleAndClasses) {
  DeviceEnergyPj a;
  a.dram_act_pre = 1;
  a.link = 2;
  a.host_cpu = 3;
  EXPECT_DOUBLE_EQ(a.total(), 6);
  DeviceEnergyPj b = a.scaled(2);
  EXPECT_DOUBLE_EQ(b.link, 4);
  b += a;
  EXPECT_DOUBLE_EQ(b.total(), 18);
  EXPECT_EQ(DeviceEnergyPj::classes().size(), 10u);
  EXPECT_DOUBLE_EQ(b.by_class().at("host_cpu"), 9);
}

TEST(CalibratedDeviceCost, ExactOnGridPoints) {
  const CalibratedDeviceCost t = table();
  for (uint32_t b : {1u, 4u, 16u})
    for (uint32_t c : {1024u, 4096u, 16384u}) {
      const DeviceStepCost x = t.step(std::vector<uint32_t>(b, c)), want = cost_at(b, c);
      EXPECT_DOUBLE_EQ(x.ns, want.ns) << b << " x " << c;
      EXPECT_DOUBLE_EQ(x.link_bytes, want.link_bytes);
      EXPECT_DOUBLE_EQ(x.energy.dram_rd_wr, want.energy.dram_rd_wr);
      EXPECT_DOUBLE_EQ(x.energy.host_cpu, want.energy.host_cpu);
    }
}

TEST(CalibratedDeviceCost, LinearBetweenAndBeyondGridPoints) {
  const CalibratedDeviceCost t = table();
  // Along context at a grid batch: a quarter of the way from 1024 to 4096.
  const double c = 1024 + 0.25 * 3072;
  EXPECT_NEAR(t.at(4, c).ns, 0.75 * cost_at(4, 1024).ns + 0.25 * cost_at(4, 4096).ns, 1e-6);
  // Bilinear inside a cell.
  const double b = 4 + 0.5 * 12;
  const double want = 0.5 * (0.75 * cost_at(4, 1024).ns + 0.25 * cost_at(4, 4096).ns) +
                      0.5 * (0.75 * cost_at(16, 1024).ns + 0.25 * cost_at(16, 4096).ns);
  EXPECT_NEAR(t.at(b, c).ns, want, 1e-6);
  // Beyond the largest context and batch: the last segment's line, extended.
  const double slope = (cost_at(16, 16384).ns - cost_at(16, 4096).ns) / (16384 - 4096);
  EXPECT_NEAR(t.at(16, 32768).ns, cost_at(16, 16384).ns + slope * 16384, 1e-6);
  const double bslope = (cost_at(16, 4096).ns - cost_at(4, 4096).ns) / 12;
  EXPECT_NEAR(t.at(64, 4096).ns, cost_at(16, 4096).ns + bslope * 48, 1e-6);
  // Below the grid figures are clamped at zero, never negative.
  EXPECT_GE(t.at(1, 1).link_bytes, 0.0);
  EXPECT_GE(t.at(1, 1).ns, 0.0);
}

TEST(CalibratedDeviceCost, MixedBatchIsTheMeanOfEachContextAtTheBatchSize) {
  const CalibratedDeviceCost t = table();
  const DeviceStepCost mixed = t.step({1024, 4096, 2048, 8192});
  const double want = (t.at(4, 1024).ns + t.at(4, 4096).ns + t.at(4, 2048).ns + t.at(4, 8192).ns) / 4;
  EXPECT_NEAR(mixed.ns, want, 1e-9 * want);
  const double want_e = (t.at(4, 1024).energy.total() + t.at(4, 4096).energy.total() + t.at(4, 2048).energy.total() +
                         t.at(4, 8192).energy.total()) / 4;
  EXPECT_NEAR(mixed.energy.total(), want_e, 1e-9 * want_e);
  // Within one context segment, where the table is linear in the context,
  // that is the table at the mean context.
  const DeviceStepCost lin = t.step({4096, 8192, 16384 - 4096}), mean = t.at(3, (4096 + 8192 + 12288) / 3.0);
  EXPECT_NEAR(lin.ns, mean.ns, 1e-9 * mean.ns);
  EXPECT_EQ(t.step({}).ns, 0.0);
}

TEST(CalibratedDeviceCost, BulkMovesAtTheMeasuredRates) {
  const CalibratedDeviceCost t = table();
  const DeviceStepCost w = t.write_kv(4000), r = t.read_kv(5000);
  EXPECT_DOUBLE_EQ(w.ns, 100);
  EXPECT_DOUBLE_EQ(r.ns, 100);
  EXPECT_DOUBLE_EQ(w.link_bytes, 4000);
  EXPECT_DOUBLE_EQ(w.energy.total(), 4000 * 7.0);
  EXPECT_DOUBLE_EQ(r.energy.link, 5000 * 4.0);
  EXPECT_EQ(t.write_kv(0).ns, 0.0);
}

TEST(CalibratedDeviceCost, Matches) {
  const CalibratedDeviceCost t = table();
  EXPECT_TRUE(t.matches("pnm-ref-system", "fnv1a64:0123456789abcdef", "llama-3.1-8b", "pnm-dense", 0));
  EXPECT_FALSE(t.matches("pnm-ref-system", "fnv1a64:ffffffffffffffff", "llama-3.1-8b", "pnm-dense", 0));
  EXPECT_FALSE(t.matches("pnm-ref-system", "fnv1a64:0123456789abcdef", "tiny", "pnm-dense", 0));
  EXPECT_FALSE(t.matches("pnm-ref-system", "fnv1a64:0123456789abcdef", "llama-3.1-8b", "host-fetch", 0));
  EXPECT_FALSE(t.matches("pnm-ref-system", "fnv1a64:0123456789abcdef", "llama-3.1-8b", "pnm-dense", 2048));
}

TEST(CalibratedDeviceCost, FileRoundTrip) {
  const CalibratedDeviceCost t = table();
  const std::string p = ::testing::TempDir() + "/calibration_round_trip.json";
  std::remove(p.c_str());
  t.save(p);
  EXPECT_TRUE(is_calibration_file(p));
  const CalibratedDeviceCost u = CalibratedDeviceCost::load(p);
  EXPECT_EQ(u.to_json(), t.to_json());
  EXPECT_DOUBLE_EQ(u.at(7, 3000).ns, t.at(7, 3000).ns);
  t.save(p); // a calibration may replace a calibration
}

TEST(CalibratedDeviceCost, BadFilesNameFileAndKey) {
  const std::string good = table().to_json().dump();
  auto with = [&](const std::function<void(nlohmann::json&)>& edit) {
    nlohmann::json j = nlohmann::json::parse(good);
    edit(j);
    return temp_file("calibration_bad.json", j.dump());
  };
  std::string e = error_of([&] { CalibratedDeviceCost::load(with([](nlohmann::json& j) { j.erase("bulk"); })); });
  EXPECT_NE(e.find("calibration_bad.json"), std::string::npos) << e;
  EXPECT_NE(e.find("bulk"), std::string::npos) << e;
  e = error_of([&] { CalibratedDeviceCost::load(with([](nlohmann::json& j) { j["schema"] = "pnmvp.run.v1"; })); });
  EXPECT_NE(e.find("schema"), std::string::npos) << e;
  e = error_of([&] { CalibratedDeviceCost::load(with([](nlohmann::json& j) { j["grid"][3]["ns"] = -1; })); });
  EXPECT_NE(e.find("grid/3/ns"), std::string::npos) << e;
  e = error_of([&] {
    CalibratedDeviceCost::load(with([](nlohmann::json& j) { j["grid"][2]["energy_pj"]["dram_foo"] = 1; }));
  });
  EXPECT_NE(e.find("grid/2/energy_pj/dram_foo"), std::string::npos) << e;
  e = error_of([&] { CalibratedDeviceCost::load(with([](nlohmann::json& j) { j["grid"].erase(4); })); });
  EXPECT_NE(e.find("grid"), std::string::npos) << e;
  EXPECT_NE(e.find("every batch size at every context"), std::string::npos) << e;
  e = error_of([&] { CalibratedDeviceCost::load(with([](nlohmann::json& j) { j["kernel"] = "pnm-magic"; })); });
  EXPECT_NE(e.find("kernel"), std::string::npos) << e;
  e = error_of([&] { CalibratedDeviceCost::load(temp_file("calibration_bad.json", "{ not json")); });
  EXPECT_NE(e.find("not valid JSON"), std::string::npos) << e;
  e = error_of([&] { CalibratedDeviceCost::load(::testing::TempDir() + "/no_such_calibration.json"); });
  EXPECT_NE(e.find("cannot open"), std::string::npos) << e;
}

TEST(CalibratedDeviceCost, SaveRefusesToReplaceOtherFiles) {
  // An input of pnmvp (a system file) is not an output: refused even with force.
  const std::string p = temp_file("calibration_not_mine.json", "{\"schema\": \"pnmvp.system.v1\"}");
  std::string e = error_of([&] { table().save(p); });
  EXPECT_NE(e.find("is not an output of pnmvp"), std::string::npos) << e;
  e = error_of([&] { table().save(p, /*force=*/true); });
  EXPECT_NE(e.find("is not an output of pnmvp"), std::string::npos) << e;
  EXPECT_FALSE(is_calibration_file(p));
  // Another pnmvp report is replaced, as the report writer replaces one.
  const std::string r = temp_file("calibration_over_report.json", "{\"schema\": \"pnmvp.run.v1\"}");
  table().save(r);
  EXPECT_TRUE(is_calibration_file(r));
}

TEST(CalibratedDeviceCost, GridMustBeFull) {
  std::vector<CalibratedDeviceCost::Point> g{{1, 1024, {}}, {1, 4096, {}}, {4, 1024, {}}};
  CalibratedDeviceCost::Bulk bw;
  bw.gbps = 1;
  EXPECT_THROW(CalibratedDeviceCost({}, g, bw, bw), std::invalid_argument);
  g.push_back({4, 4096, {}});
  EXPECT_NO_THROW(CalibratedDeviceCost({}, g, bw, bw));
  EXPECT_THROW(CalibratedDeviceCost({}, {{1, 1024, {}}, {1, 4096, {}}}, bw, bw), std::invalid_argument);
  CalibratedDeviceCost empty;
  EXPECT_THROW(empty.at(1, 1), std::logic_error);
}
