// The system layer: system files load and validate (errors name file and
// key), the builder wires every device to its host (CXL.io, CXL.mem and the
// interrupt), and with two devices each window reaches its own device only.
#include "../support/systemc_test.h"
#include "driver/device.h"
#include "system.h"

#include <cstdio>
#include <fstream>
#include <numeric>

using namespace pnm;

namespace {
class SystemTest : public pnm::test::SystemCTest {};

const std::string kPlatforms = std::string(PNM_SOURCE_DIR) + "/platforms";

// A system file in the test's folder, from JSON text.
std::string write_system(const std::string& name, const std::string& text) {
  const std::string path = ::testing::TempDir() + "/" + name + ".json";
  std::ofstream(path) << text;
  return path;
}

std::string two_devices(const char* second_hpa_gib, const char* second_file = "pnm-ref.json",
                        const char* extra_host_key = "") {
  return std::string(R"({"schema": "pnmvp.system.v1", "name": "t",
    "hosts": [{"name": "h", "source": "test", "attention_gflops": 1000, "pj_per_flop": 1, "cores": 4,
               "kernel_cores": 2, "line_fill_buffers_per_core": 16,
               "latency": {"source": "test", "core_and_caches_ns": 16, "mesh_ns": 10, "root_port_ns": 12},
               "local_dram": {"source": "test", "memspec": ")" + kPlatforms + R"(/memspec/JEDEC_DDR5-4800AN_16Gb_x8.json",
                              "channels": 1, "ranks_per_channel": 1, "controller": {}})") + extra_host_key + R"(}],
    "devices": [
      {"name": "a", "file": ")" + kPlatforms + R"(/pnm-ref.json", "host": "h", "hpa_base_gib": 256, "mmio_base_gib": 4},
      {"name": "b", "file": ")" + second_file + R"(", "host": "h", "hpa_base_gib": )" + second_hpa_gib +
         R"(, "mmio_base_gib": 5}]})";
}

std::string error_of(const std::string& path) {
  try {
    load_system(path);
  } catch (const ConfigError& e) {
    return e.what();
  }
  return "";
}
} // namespace

TEST_F(SystemTest, ShippedSystemsLoad) {
  const SystemConfig one = load_system(resolve_platform("pnm-ref-system"));
  ASSERT_EQ(one.hosts.size(), 1u);
  ASSERT_EQ(one.devices.size(), 1u);
  EXPECT_EQ(one.devices[0].platform.cxl.hpa_base, 256ull << 30);
  const SystemConfig two = load_system(resolve_platform("pnm-ref-x2"));
  ASSERT_EQ(two.devices.size(), 2u);
  EXPECT_EQ(two.devices[1].platform.cxl.hpa_base, 320ull << 30);
  EXPECT_EQ(two.devices[1].platform.cxl.mmio_base, 5ull << 30);
  EXPECT_EQ(two.devices[0].host, two.devices[1].host);
}

TEST_F(SystemTest, PlatformShorthandIsTheDefaultSystemAroundTheDevice) {
  const SystemConfig s = select_system("", "pnm-ref");
  const SystemConfig d = select_system("", "");
  EXPECT_EQ(s.name, d.name);
  ASSERT_EQ(s.devices.size(), 1u);
  EXPECT_EQ(s.devices[0].platform.name, "pnm-ref");
  EXPECT_THROW(select_system("pnm-ref-x2", "pnm-ref"), ConfigError);
}

TEST_F(SystemTest, TwoDevicesAnswerIdentifyAndEachWindowReachesOnlyItsDevice) {
  const SystemConfig sc = load_system(resolve_platform("pnm-ref-x2"));
  System sys(sc);
  ASSERT_EQ(sys.device_count(), 2u);
  std::vector<sw::Identify> ids(2);
  std::vector<uint64_t> hpa(2);
  bool cross_ok = true;
  std::vector<uint8_t> pattern(4096);
  sys.run_host([&](const std::vector<sw::Backend*>& b) {
    ASSERT_EQ(b.size(), 2u);
    for (size_t i = 0; i < 2; ++i) {
      sw::Device dev(*b[i]);
      ids[i] = dev.identify();
      hpa[i] = dev.hpa(0);
      std::iota(pattern.begin(), pattern.end(), static_cast<uint8_t>(0x10 * (i + 1)));
      ASSERT_TRUE(b[i]->mem_write(hpa[i] + 0x2000, pattern.data(), pattern.size()));
    }
    // Device 1's window through device 0's root port: not decoded there.
    uint8_t line[64];
    cross_ok = b[0]->mem_read(hpa[1] + 0x2000, line, sizeof line);
  });
  EXPECT_EQ(ids[0].total_bytes, 64ull << 30);
  EXPECT_EQ(ids[1].total_bytes, 64ull << 30);
  EXPECT_EQ(hpa[0], 256ull << 30);
  EXPECT_EQ(hpa[1], 320ull << 30);
  EXPECT_FALSE(cross_ok);
  for (size_t i = 0; i < 2; ++i) {
    std::vector<uint8_t> got(4096), want(4096);
    std::iota(want.begin(), want.end(), static_cast<uint8_t>(0x10 * (i + 1)));
    sys.device(i).dram.store().read(0x2000, got.data(), got.size());
    EXPECT_EQ(got, want) << "device " << i << " holds what was written to its window";
  }
  EXPECT_EQ(sys.device(0).cxl_mem.lines_written(), 64u); // 4 KiB each, nothing crossed over
  EXPECT_EQ(sys.device(1).cxl_mem.lines_written(), 64u);
}

TEST_F(SystemTest, EachDevicesInterruptReachesItsOwnRootPort) {
  System sys(load_system(resolve_platform("pnm-ref-x2")));
  bool on0 = true, on1 = false;
  sys.run_host([&](const std::vector<sw::Backend*>& b) {
    sys.device(1).on_host_interrupt();
    on0 = b[0]->wait_for_interrupt(0);
    on1 = b[1]->wait_for_interrupt(0);
  });
  EXPECT_FALSE(on0);
  EXPECT_TRUE(on1);
}

TEST_F(SystemTest, OverlappingWindowsNameFileAndKey) {
  const std::string p = write_system("overlap", two_devices("300"));
  const std::string e = error_of(p);
  EXPECT_NE(e.find(p), std::string::npos) << e;
  EXPECT_NE(e.find("/devices/1/hpa_base_gib"), std::string::npos) << e;
  EXPECT_NE(e.find("overlaps"), std::string::npos) << e;
}

TEST_F(SystemTest, UnknownDeviceFileNamesFileAndKey) {
  const std::string p = write_system("nofile", two_devices("320", "no-such-device.json"));
  const std::string e = error_of(p);
  EXPECT_NE(e.find(p), std::string::npos) << e;
  EXPECT_NE(e.find("/devices/1/file"), std::string::npos) << e;
  EXPECT_NE(e.find("no-such-device.json"), std::string::npos) << e;
}

TEST_F(SystemTest, MissingAndUnknownKeysNameFileAndKey) {
  std::string text = two_devices("320");
  text.replace(text.find("\"cores\": 4,"), 11, "");
  const std::string p = write_system("missing", text);
  std::string e = error_of(p);
  EXPECT_NE(e.find(p), std::string::npos) << e;
  EXPECT_NE(e.find("/hosts/0/cores"), std::string::npos) << e;
  EXPECT_NE(e.find("required key is missing"), std::string::npos) << e;
  const std::string q = write_system("typo", two_devices("320", "pnm-ref.json", R"(, "outstandng": 3)"));
  e = error_of(q);
  EXPECT_NE(e.find("/hosts/0/outstandng"), std::string::npos) << e;
}

TEST_F(SystemTest, LinkEntryOverridesTheDevicesLink) {
  std::string text = two_devices("320");
  text.replace(text.rfind("}]}"), 3,
               R"(, "link": {"source": "test", "lanes": 8, "port_latency_ns": 40}}]})");
  const SystemConfig s = load_system(write_system("link", text));
  EXPECT_EQ(s.devices[0].platform.cxl.mem.link.lanes, 16u);
  EXPECT_EQ(s.devices[1].platform.cxl.mem.link.lanes, 8u);
  EXPECT_EQ(s.devices[1].platform.cxl.io.link_width, 8u);
  EXPECT_EQ(s.devices[1].platform.cxl.mem.link.port_latency_ps, 40000u);
  EXPECT_EQ(s.devices[1].platform.cxl.mem.link.credit_return_ps, s.devices[0].platform.cxl.mem.link.credit_return_ps);
}

TEST_F(SystemTest, HostGpuAndNicKeysDefaultAndValidate) {
  const SystemConfig one = load_system(resolve_platform("pnm-ref-system"));
  EXPECT_EQ(one.hosts[0].gpu, "h100-sxm");
  EXPECT_EQ(one.hosts[0].gpus, 1u);
  EXPECT_EQ(one.hosts[0].nic, "connectx-7");
  const SystemConfig dflt = load_system(write_system("nogpu", two_devices("320")));
  EXPECT_EQ(dflt.hosts[0].gpu, "h100-sxm");
  EXPECT_EQ(dflt.hosts[0].nic, "connectx-7");
  const SystemConfig a100 =
      load_system(write_system("a100", two_devices("320", "pnm-ref.json", R"(, "gpu": "a100-sxm-80gb", "nic": "my-nic.json")")));
  EXPECT_EQ(a100.hosts[0].gpu, "a100-sxm-80gb");
  EXPECT_EQ(a100.hosts[0].nic, "my-nic.json");
  const std::string p = write_system("tp2", two_devices("320", "pnm-ref.json", R"(, "gpus": 2)"));
  const std::string e = error_of(p);
  EXPECT_NE(e.find(p), std::string::npos) << e;
  EXPECT_NE(e.find("/hosts/0/gpus"), std::string::npos) << e;
  EXPECT_NE(e.find("only 1 is allowed"), std::string::npos) << e;
}
