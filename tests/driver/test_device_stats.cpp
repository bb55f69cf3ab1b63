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

namespace {
// Every figure decode_run's report reads from the blocks by hand is in the
// tree, with the same value, so the report can be built from snapshots.
TEST_F(DeviceStats, TreeHoldsTheFiguresTheRunReportReadsFromTheBlocks) {
  System sys(select_system("", ""));
  PnmDevice& dv = sys.device(0);
  HostBridge& port = sys.port(0);
  StatGroup tree;
  sys.run([&](sw::Backend& b) {
    sw::Device d(b);
    d.identify();
    std::vector<uint8_t> buf(4096, 1);
    ASSERT_TRUE(b.mem_write(dv.hpa_base() + 8192, buf.data(), buf.size()));
    ASSERT_TRUE(b.mem_read(dv.hpa_base(), buf.data(), buf.size()));
    tree = sys.stats();
  });
  const std::string d = "devices/" + sys.config().devices[0].name + "/";
  const std::string p = "hosts/" + sys.config().hosts[0].name + "/ports/" + sys.config().devices[0].name + "/";
  const double ns = tree.value_at("time_ns");
  const dram::DramEnergy e = dv.dram.core().energy_at_ns(ns);
  EXPECT_EQ(tree.value_at(d + "dram/energy_pj/act"), e.act);
  EXPECT_EQ(tree.value_at(d + "dram/energy_pj/bg_precharged"), e.bg_precharged);
  EXPECT_EQ(tree.value_at(d + "dram/energy_pj/total"), e.total());
  uint64_t served = 0;
  for (uint32_t c = 0; c < dv.dram.core().channel_count(); ++c) {
    const auto& k = dv.dram.core().channel(c).counters();
    served += k.reads_served + k.writes_served;
  }
  EXPECT_EQ(tree.value_at(d + "dram/bytes_read") + tree.value_at(d + "dram/bytes_written"), served * 64);
  const auto down = dv.cxl_mem.link().down.stats(), up = dv.cxl_mem.link().up.stats();
  EXPECT_EQ(tree.value_at(d + "cxl/link/down/energy_pj") + tree.value_at(d + "cxl/link/up/energy_pj"),
            down.energy_pj + up.energy_pj);
  EXPECT_EQ(8 * (tree.value_at(d + "cxl/link/down/wire_bytes") + tree.value_at(d + "cxl/link/up/wire_bytes")),
            down.wire_bits + up.wire_bits);
  EXPECT_EQ(tree.value_at(p + "mem_bytes_read") + tree.value_at(p + "mem_bytes_written") + tree.value_at(p + "io_bytes"),
            port.mem_bytes_read() + port.mem_bytes_written() + port.io_bytes());
  EXPECT_GT(tree.value_at(p + "io_bytes"), 0);
  const auto& en = dv.engine->core().energy_totals();
  EXPECT_EQ(tree.value_at(d + "engine/energy_pj/sram"), en.sram);
  EXPECT_EQ(tree.value_at(d + "engine/energy_pj/total"), en.total());
  EXPECT_EQ(tree.value_at(d + "engine/jobs_done") + tree.value_at(d + "engine/jobs_failed"),
            dv.engine->core().jobs_done() + dv.engine->core().jobs_failed());
  EXPECT_EQ(tree.value_at(d + "controller/energy_pj"), dv.controller->core().energy_pj());
  EXPECT_EQ(tree.value_at(d + "controller/instructions"), dv.controller->core().stats().instructions);
}
} // namespace
