// The serving layer's device costs on the VP (tiny model, small grids so
// the suite stays fast): the calibrated table against the detailed device
// on mixed-context batches, growing a context without simulating it, memory
// handed back on release, bulk moves, and calibration files reused.
#include "serve_device.h"
#include "common/version.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>

using namespace pnm;
using namespace pnm::serving;
using kernels::Kernel;

namespace {
CalibrateConfig tiny_grid(Kernel k) {
  CalibrateConfig c;
  c.model = "tiny";
  c.kernel = k;
  c.topk = 64;
  c.batches = {1, 2, 4};
  c.contexts = {1024, 4095};
  c.bulk_bytes = 256 << 10;
  return c;
}

double rel(double a, double b) { return std::abs(a - b) / std::max(std::abs(b), 1e-30); }

// Energy of what the step did: all but DRAM refresh and standby, which are
// power over time. Those come in lumps at the tiny model's microsecond
// steps (a refresh falls in one step or the next; standby is charged as
// banks open and close), so they are compared over many steps elsewhere.
double activity_pj(const DeviceStepCost& c) {
  return c.energy.total() - c.energy.dram_refresh - c.energy.dram_background;
}
std::string classes(const DeviceStepCost& c) {
  std::string s;
  for (const auto& [name, pj] : c.energy.by_class()) s += " " + name + "=" + std::to_string(pj);
  return s;
}
} // namespace

TEST(ServeDevice, CalibratedStepTimeWithinThreePercentOfDetailedOnMixedBatches) {
  const kernels::ModelShape m = kernels::load_model_shape("tiny");
  for (Kernel k : kernels::all_kernels()) {
    const CalibratedDeviceCost cal = calibrate(tiny_grid(k));
    EXPECT_EQ(cal.identity().kernel, kernels::kernel_name(k));
    EXPECT_EQ(cal.identity().layers, m.layers);
    EXPECT_EQ(cal.grid().size(), 6u);
    // Cost grows with the batch and with the context.
    EXPECT_GT(cal.at(4, 1024).ns, cal.at(1, 1024).ns);
    EXPECT_GT(cal.at(4, 4095).ns, cal.at(4, 1024).ns);
    EXPECT_GT(cal.at(4, 4095).energy.dram_rd_wr, cal.at(4, 1024).energy.dram_rd_wr);
    if (k == Kernel::host_fetch) {
      EXPECT_GT(cal.at(4, 4095).link_bytes, cal.at(4, 1024).link_bytes);
    }
    EXPECT_GT(cal.bulk_write().gbps, 0);
    const std::vector<CheckPoint> pts = check_calibration(cal, "", m, k, 64, 5, 7);
    ASSERT_EQ(pts.size(), 5u);
    for (const CheckPoint& p : pts) {
      // The tiny model's steps are tens of microseconds: whether a refresh
      // (295 ns every 3.9 us) falls inside one moves it by 1-3% (20 random
      // batches per kernel at contexts 1K-4K: max 1.4-3.3%). Llama-3.1-8B's
      // millisecond steps are where the 3% goal applies
      // (docs/SERVING_CALIBRATION.md).
      EXPECT_LT(std::abs(p.ns_error), 0.035) << kernels::kernel_name(k) << " batch " << p.contexts.size();
      // Row hits and link idle flits vary a little from step to step at this
      // scale (tens of microseconds): 5% on the step's activity energy.
      EXPECT_LT(rel(activity_pj(p.calibrated), activity_pj(p.detailed)), 0.05)
          << kernels::kernel_name(k) << " batch " << p.contexts.size() << ": calibrated " << classes(p.calibrated)
          << "; detailed " << classes(p.detailed);
      EXPECT_LT(rel(p.calibrated.link_bytes, p.detailed.link_bytes), 0.03) << kernels::kernel_name(k);
      EXPECT_GT(p.detailed.ns, 0);
      EXPECT_GT(p.detailed.energy.total(), 0);
    }
  }
}

TEST(ServeDevice, GrowThenStepEqualsSteppingTheSameContexts) {
  const kernels::ModelShape m = kernels::load_model_shape("tiny");
  for (Kernel k : {Kernel::pnm_dense, Kernel::host_fetch}) {
    DetailedDevice grown("", m, k, 64), direct("", m, k, 64);
    grown.admit(10, 300, 600);
    grown.admit(11, 500, 600);
    grown.grow(10, 200);
    grown.grow(11, 40);
    EXPECT_EQ(grown.context(10), 500u);
    direct.admit(10, 500, 600);
    direct.admit(11, 540, 600);
    const DeviceStepCost a = grown.step({10, 11}), b = direct.step({10, 11});
    EXPECT_LT(rel(a.ns, b.ns), 0.01) << kernels::kernel_name(k);
    EXPECT_LT(rel(a.link_bytes, b.link_bytes), 0.01);
    EXPECT_LT(rel(activity_pj(a), activity_pj(b)), 0.01);
    EXPECT_EQ(grown.context(10), 501u);
    EXPECT_EQ(grown.context(11), 541u);
    // All layers: the one simulated, scaled by the model's two.
    EXPECT_GT(a.ns, 0);
    EXPECT_THROW(grown.grow(10, 100), std::length_error); // beyond the reservation
  }
}

// A short step samples more than one layer: one Llama-3.1-8B layer over a
// few dozen tokens lasts about 15 us, and with one pass scaled by 32 layers
// consecutive steps moved by up to 4.4% (refresh, the firmware core's
// polling); the sampled steps move by under 3% from one to the next and
// grow with the context.
TEST(ServeDevice, ShortStepsAreSampledOverLayers) {
  const kernels::ModelShape m = kernels::load_model_shape("llama-3.1-8b");
  DetailedDevice d("", m, Kernel::pnm_dense, 64);
  d.admit(1, 16, 64);
  std::vector<double> ns;
  for (int i = 0; i < 12; ++i) ns.push_back(d.step({1}).ns);
  for (size_t i = 1; i < ns.size(); ++i) EXPECT_LT(rel(ns[i], ns[i - 1]), 0.03) << "step " << i;
  EXPECT_GT(ns.back(), ns.front());
}

TEST(ServeDevice, ReleaseFreesMemoryAndBadCallsAreRefused) {
  const kernels::ModelShape m = kernels::load_model_shape("tiny");
  DetailedDevice d("", m, Kernel::pnm_dense, 64);
  const uint64_t free0 = d.free_bytes();
  d.admit(1, 100, 200);
  d.admit(2, 3000, 4000);
  EXPECT_LT(d.free_bytes(), free0);
  EXPECT_EQ(d.sequences(), 2u);
  EXPECT_THROW(d.admit(1, 10, 20), std::invalid_argument);
  EXPECT_THROW(d.step({1, 3}), std::invalid_argument);
  d.step({1, 2});
  d.release(1);
  d.release(2);
  EXPECT_EQ(d.free_bytes(), free0);
  EXPECT_EQ(d.sequences(), 0u);
  EXPECT_THROW(d.release(2), std::invalid_argument);
  EXPECT_THROW(d.context(2), std::invalid_argument);
  // Bulk moves are simulated too: whole KiB over the link, taking time.
  const DeviceStepCost w = d.write_kv(64 << 10);
  EXPECT_GT(w.ns, 0);
  EXPECT_GE(w.link_bytes, 64 << 10);
  EXPECT_GT(w.energy.link, 0);
  EXPECT_EQ(d.free_bytes(), free0);
}

TEST(ServeDevice, AdvanceIsForTimingOnlySessions) {
  DecodeSessionConfig c;
  c.model = kernels::load_model_shape("tiny");
  c.functional = true;
  DecodeSession s(c);
  const auto id = s.admit(10, 20);
  EXPECT_THROW(s.advance(id, 1), std::logic_error);
}

TEST(ServeDevice, CalibrationFilesAreReusedWhenTheyMatch) {
  const std::string p = ::testing::TempDir() + "/calibration_tiny_reuse.json";
  std::remove(p.c_str());
  const CalibratedDeviceCost cal = calibrate(tiny_grid(Kernel::pnm_dense));
  cal.save(p);
  std::vector<std::string> said;
  auto log = [&said](const std::string& s) { said.push_back(s); };
  const CalibratedDeviceCost& got = calibration_for("", "tiny", Kernel::pnm_dense, 64, p, log);
  EXPECT_TRUE(said.empty()) << said.front(); // loaded, not measured
  EXPECT_EQ(got.to_json(), CalibratedDeviceCost::load(p).to_json());
  EXPECT_EQ(got.identity().topk, 0u); // dense: top-k plays no part
  EXPECT_EQ(kernel_for_policy("cxl-recall"), Kernel::host_fetch);
  EXPECT_EQ(kernel_for_policy("pnm"), Kernel::pnm_dense);
  EXPECT_EQ(kernel_for_policy("pnm-select"), Kernel::pnm_select);
  EXPECT_THROW(kernel_for_policy("hbm"), std::invalid_argument);
  const std::string d = default_calibration_path("pnm-ref-system", "tiny", Kernel::pnm_select, 2048);
  EXPECT_NE(d.find("pnmvp/calibration-pnm-ref-system-tiny-pnm-select-topk2048.json"), std::string::npos) << d;
}

// A calibration measures one build of the VP. A file from another build (or
// for another model) given by the user is an error, never overwritten; the
// same in the cache is measured anew and replaced.
TEST(ServeDevice, CalibrationsOfAnotherBuildAreNotReused) {
  const std::string p = ::testing::TempDir() + "/calibration_tiny_stale.json";
  std::remove(p.c_str());
  CalibratedDeviceCost cal = calibrate(tiny_grid(Kernel::pnm_dense));
  cal.vp_commit = "0123456789abcdef0123456789abcdef01234567";
  cal.vp_version = "0.0 (commit 0123456789ab)";
  cal.save(p);
  const std::string before = CalibratedDeviceCost::load(p).to_json().dump();
  try {
    calibration_for("", "tiny", Kernel::pnm_dense, 64, p, [](const std::string&) {});
    ADD_FAILURE() << "a stale calibration file was accepted";
  } catch (const std::invalid_argument& e) {
    EXPECT_NE(std::string(e.what()).find("was made by VP 0.0 (commit 0123456789ab)"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find(p), std::string::npos) << e.what();
  }
  // Another kernel's file: named as such.
  EXPECT_THROW(
      {
        try {
          calibration_for("", "tiny", Kernel::host_fetch, 64, p, [](const std::string&) {});
        } catch (const std::invalid_argument& e) {
          EXPECT_NE(std::string(e.what()).find("not pnm-ref-system / tiny / host-fetch"), std::string::npos)
              << e.what();
          throw;
        }
      },
      std::invalid_argument);
  EXPECT_EQ(CalibratedDeviceCost::load(p).to_json().dump(), before); // untouched

  // The cache: replaced by a measurement of this build.
  const std::string cache = ::testing::TempDir() + "/pnmvp_cache_stale";
  ASSERT_EQ(setenv("XDG_CACHE_HOME", cache.c_str(), 1), 0);
  const std::string d = default_calibration_path("pnm-ref-system", "tiny", Kernel::pnm_dense, 0);
  std::filesystem::create_directories(cache + "/pnmvp");
  std::remove(d.c_str());
  cal.save(d);
  std::vector<std::string> said;
  const CalibratedDeviceCost& got =
      calibration_for("", "tiny", Kernel::pnm_dense, 64, "", [&said](const std::string& s) { said.push_back(s); });
  ASSERT_FALSE(said.empty());
  EXPECT_NE(said.front().find("was made by VP 0.0"), std::string::npos) << said.front();
  EXPECT_EQ(got.vp_commit, git_commit());
  EXPECT_EQ(CalibratedDeviceCost::load(d).vp_commit, git_commit());
  unsetenv("XDG_CACHE_HOME");
}
