// The one stats tree: a System built from the default system file, a few
// CXL.mem lines and a mailbox Identify through the driver, then snapshots.
#include "../support/systemc_test.h"
#include "driver/device.h"
#include "system.h"

#include <cstring>
#include <functional>
#include <vector>

using namespace pnm;

namespace {
class DeviceStats : public pnm::test::SystemCTest {};

// Every stat below `g` has a unit and a description; every group a description.
void expect_described(const StatGroup& g, const std::string& path) {
  for (const Stat& s : g.stats()) {
    EXPECT_FALSE(s.unit.empty()) << path << "/" << s.name;
    EXPECT_FALSE(s.description.empty()) << path << "/" << s.name;
  }
  for (const auto& sub : g.groups()) {
    EXPECT_FALSE(sub->description().empty()) << path << "/" << sub->name();
    expect_described(*sub, path + "/" + sub->name());
  }
}

TEST_F(DeviceStats, TreeHasEveryBlockDescribedAndWindowsSubtract) {
  System sys(select_system("", "")); // the default system
  const std::string host = sys.config().hosts.at(0).name, dev = sys.config().devices.at(0).name;
  const uint64_t base = sys.device(0).hpa_base();
  constexpr unsigned kWritten = 8, kRead = 3; // lines
  StatGroup before, after;
  sys.run([&](sw::Backend& b) {
    b.sleep_ns(10000); // firmware boots
    sw::Device d(b);
    EXPECT_EQ(d.identify().total_bytes, sys.device(0).capacity_bytes());
    before = sys.stats();
    std::vector<uint8_t> line(64 * kWritten, 0x5a);
    ASSERT_TRUE(b.mem_write(base, line.data(), line.size()));
    ASSERT_TRUE(b.mem_read(base, line.data(), 64 * kRead));
    after = sys.stats();
  });
  const std::string d = "devices/" + dev + "/";
  for (const char* g : {"dram/commands", "dram/row_buffer", "dram/energy_pj", "dram/channels/0/energy_pj",
                        "dram/front_end/host", "dram/front_end/controller", "dram/front_end/engine", "cxl/mem",
                        "cxl/link/down/messages", "cxl/link/up/messages", "cxl/mailbox", "engine/work",
                        "engine/energy_pj", "controller"})
    EXPECT_NE(after.find_group_at(d + g), nullptr) << g;
  for (const std::string& g : {"hosts/" + host + "/local_dram/energy_pj", "hosts/" + host + "/local_port",
                              "hosts/" + host + "/ports/" + dev})
    EXPECT_NE(after.find_group_at(g), nullptr) << g;
  expect_described(after, after.name());

  // The figures agree with the blocks that made them.
  EXPECT_EQ(after.value_at(d + "cxl/mem/lines_written"), sys.device(0).cxl_mem.lines_written());
  EXPECT_GE(after.value_at(d + "cxl/mailbox/commands_completed"), 1); // Identify at least
  EXPECT_GT(after.value_at(d + "controller/instructions"), 0);
  EXPECT_GT(after.value_at(d + "dram/energy_pj/total"), 0);
  const StatGroup* dram = after.find_group_at(d + "dram/energy_pj");
  EXPECT_DOUBLE_EQ(dram->value("total"), dram->sum_unit("pJ"));

  // The window between the two snapshots is exactly the traffic we made.
  const StatGroup w = after.minus(before);
  EXPECT_EQ(w.value_at(d + "cxl/mem/lines_written"), kWritten);
  EXPECT_EQ(w.value_at(d + "cxl/mem/lines_read"), kRead);
  EXPECT_EQ(w.value_at(d + "cxl/link/down/payload_bytes"), 64 * kWritten);
  EXPECT_EQ(w.value_at(d + "cxl/link/up/payload_bytes"), 64 * kRead);
  EXPECT_EQ(w.value_at(d + "dram/bytes_written"), 64 * kWritten);
  EXPECT_EQ(w.value_at(d + "dram/bytes_read"), 64 * kRead);
  EXPECT_EQ(w.value_at(d + "dram/front_end/host/bytes_written"), 64 * kWritten);
  EXPECT_EQ(w.value_at("hosts/" + host + "/ports/" + dev + "/mem_bytes_written"), 64 * kWritten);
  EXPECT_EQ(w.value_at("hosts/" + host + "/ports/" + dev + "/mem_bytes_read"), 64 * kRead);
  EXPECT_EQ(w.value_at("hosts/" + host + "/local_port/mem_bytes_read"), 0);
  EXPECT_GT(w.value_at("time_ns"), 0);
  EXPECT_GT(w.value_at(d + "cxl/link/down/flits"), 0);
  EXPECT_GT(w.value_at(d + "cxl/link/up/wire_bytes"), 64 * kRead);
  EXPECT_GT(w.value_at(d + "dram/energy_pj/wr"), 0);
}

} // namespace
