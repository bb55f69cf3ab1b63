// Timing model: streaming bandwidth against the DRAM's peak, the overlap
// of compute and DRAM (time = the slower of the two), the buffer and DMA
// depth limits, and a 1M-token timing-only step in bounded time and memory.
#include "common/rss.h"
#include "engine_test_util.h"

#include <gtest/gtest.h>

#include <chrono>

namespace {

using namespace pnm::engine;
using namespace pnm::engine::test;

AttentionJob long_job(uint8_t opcode, uint32_t seq_len, uint16_t heads = 32, uint16_t kv_heads = 8) {
  AttentionJob j;
  j.opcode = opcode;
  j.heads = heads;
  j.kv_heads = kv_heads;
  j.head_dim = 128;
  j.seq_len = seq_len;
  j.scale = 0.088f;
  if (opcode != PNM_JOB_OP_DENSE) j.k = 2048;
  if (opcode == PNM_JOB_OP_TOPK_PAGE) j.page_tokens = 16, j.k = 128;
  j.q_addr = 0;
  j.k_addr = 1 << 20;
  j.v_addr = j.k_addr + j.kv_bytes();
  j.o_addr = j.v_addr + j.kv_bytes();
  j.idx_addr = j.o_addr + (1 << 20);
  return j;
}

TEST(EngineTiming, StreamingReachesNinetyPercentOfPeakBandwidth) {
  Rig rig;
  const double peak = rig.dram.peak_gbps();
  for (uint8_t op : {PNM_JOB_OP_TOPK_TOKEN, PNM_JOB_OP_DENSE, PNM_JOB_OP_SELECT}) {
    const AttentionJob j = long_job(op, 256 * 1024);
    const auto t0 = std::chrono::steady_clock::now();
    const JobResult r = rig.engine.run(j, rig.dram.channel(0).now(), Mode::timing_only);
    const double wall = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    ASSERT_TRUE(r.ok()) << r.message;
    std::printf("[ figures  ] op %d, 256K tokens x 8 KV heads x 128 (BF16), %.1f MB read: %.3f ms, "
                "%.2f GB/s = %.1f%% of %.1f GB/s peak; datapath busy %.0f%%; wall %.2f s\n",
                op, r.counters.dram_bytes_read / 1e6, r.elapsed_ns * 1e-6, r.read_gbps(),
                100 * r.read_gbps() / peak, peak, 100 * r.datapath_busy_cycles / r.engine_cycles, wall);
    EXPECT_GE(r.read_gbps(), 0.90 * peak) << "op " << int{op};
  }
}

TEST(EngineTiming, ComputeBoundJobTakesTheDatapathTime) {
  // One 16-lane unit: 4 query heads x 8 chunks = 32 cycles per key, far
  // slower than the DRAM; the job time is the datapath's, within the fill
  // and drain of the pipeline.
  EngineConfig cfg = default_config();
  cfg.dot_units = 1;
  Rig rig(cfg);
  const AttentionJob j = long_job(PNM_JOB_OP_SELECT, 16384, 32, 8);
  const JobResult r = rig.engine.run(j, 0, Mode::timing_only);
  ASSERT_TRUE(r.ok());
  const double keys = 8.0 * 16384;
  EXPECT_DOUBLE_EQ(r.datapath_busy_cycles, keys * 4 * 8);
  EXPECT_GE(r.engine_cycles, r.datapath_busy_cycles);
  EXPECT_LE(r.engine_cycles, r.datapath_busy_cycles * 1.01 + 5000);
}

TEST(EngineTiming, DmaDepthAndBufferBoundTheBandwidth) {
  // Two heads: Q is 512 B, so the staging buffer can be made small.
  const AttentionJob j = long_job(PNM_JOB_OP_SELECT, 131072, 2, 2);
  Rig base;
  const JobResult full = base.engine.run(j, 0, Mode::timing_only);
  EngineConfig shallow_cfg = default_config();
  shallow_cfg.outstanding_bursts_per_channel = 1;
  Rig shallow(shallow_cfg);
  const JobResult one = shallow.engine.run(j, 0, Mode::timing_only);
  EngineConfig small_cfg = default_config();
  small_cfg.sram_buffer_kib = 1; // 16 lines; raised to Q (9 lines) + 16
  Rig small(small_cfg);
  const JobResult tiny = small.engine.run(j, 0, Mode::timing_only);
  ASSERT_TRUE(full.ok() && one.ok() && tiny.ok());
  // One read in flight per channel: each waits at least CL + burst, so a
  // channel moves at most 64 B per (CL + nBL) tCK (Little's law).
  const auto& tm = base.dram.config().spec.timing;
  const double bound = 8 * 64 / (static_cast<double>(tm.CL + tm.nBL) * tm.tCK_ps * 1e-3);
  EXPECT_LT(one.read_gbps(), bound);
  EXPECT_LE(tiny.max_buffer_lines, 25u);
  EXPECT_LT(tiny.read_gbps(), 0.8 * full.read_gbps());
  EXPECT_GE(full.read_gbps(), 0.9 * base.dram.peak_gbps());
  std::printf("[ figures  ] 128K tokens x 2 KV heads: %.1f GB/s default (peak buffer use %llu lines); "
              "%.1f GB/s with 1 read in flight per channel (Little bound %.1f); %.1f GB/s with a "
              "25-line buffer\n",
              full.read_gbps(), static_cast<unsigned long long>(full.max_buffer_lines),
              one.read_gbps(), bound, tiny.read_gbps());
}

TEST(EngineTiming, DeterministicAndBackToBack) {
  Rig a, b;
  const AttentionJob j = long_job(PNM_JOB_OP_TOPK_TOKEN, 50000, 8, 2);
  const JobResult ra = a.engine.run(j, 0, Mode::timing_only);
  const JobResult rb = b.engine.run(j, 0, Mode::timing_only);
  ASSERT_TRUE(ra.ok() && rb.ok());
  EXPECT_EQ(ra.end_dram_cycle, rb.end_dram_cycle);
  EXPECT_EQ(ra.counters.dram_bytes_read, rb.counters.dram_bytes_read);
  // A second job starting where the first ended takes about as long.
  const JobResult second = a.engine.run(j, ra.end_dram_cycle, Mode::timing_only);
  ASSERT_TRUE(second.ok());
  EXPECT_EQ(second.start_dram_cycle, ra.end_dram_cycle);
  const double d1 = static_cast<double>(ra.end_dram_cycle - ra.start_dram_cycle);
  const double d2 = static_cast<double>(second.end_dram_cycle - second.start_dram_cycle);
  EXPECT_NEAR(d2 / d1, 1.0, 0.05);
  EXPECT_EQ(a.engine.jobs_done(), 2u);
  EXPECT_EQ(a.engine.totals().dram_bytes_read, 2 * ra.counters.dram_bytes_read);
}

TEST(EngineTiming, MillionTokenStepInBoundedTimeAndMemory) {
  // 1M tokens x 2 KV heads x 128 (BF16): 512 MiB of K streamed, no data held.
  Rig rig;
  const double rss0 = pnm::peak_rss_mib();
  const AttentionJob j = long_job(PNM_JOB_OP_TOPK_TOKEN, 1 << 20, 8, 2);
  const auto t0 = std::chrono::steady_clock::now();
  const JobResult r = rig.engine.run(j, 0, Mode::timing_only);
  const double wall = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  ASSERT_TRUE(r.ok()) << r.message;
  const double rss = pnm::peak_rss_mib();
  std::printf("[ figures  ] 1M tokens x 2 KV heads: %.1f MB read in %.3f ms simulated (%.1f GB/s), "
              "wall %.2f s (%.2f M bursts/s), peak RSS %.1f MiB (+%.1f), store pages %zu\n",
              r.counters.dram_bytes_read / 1e6, r.elapsed_ns * 1e-6, r.read_gbps(), wall,
              r.counters.dram_read_bursts / wall * 1e-6, rss, rss - rss0, rig.store.allocated_pages());
  EXPECT_EQ(rig.store.allocated_pages(), 0u); // timing-only touches no data
  EXPECT_LT(rss - rss0, 64.0);
  EXPECT_GE(r.counters.dram_bytes_read, j.kv_bytes());
}

} // namespace
