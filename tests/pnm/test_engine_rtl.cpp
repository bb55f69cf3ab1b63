// The engine on the Verilated RTL datapath and on the C++ twin: the same
// job gives bit-identical outputs, indices, counters and timing.
#include "engine_test_util.h"
#include "pnm/datapath_rtl.h"

#include <gtest/gtest.h>

namespace {

using namespace pnm::engine;
using namespace pnm::engine::test;

void rtl_vs_twin(uint8_t opcode, uint8_t precision) {
  AttentionJob j;
  j.opcode = opcode;
  j.precision = precision;
  j.heads = 4;
  j.kv_heads = 2;
  j.head_dim = 32;
  j.seq_len = 64;
  j.scale = precision ? 1.0f / 20000 : 0.177f;
  j.v_scale = 1.0f / 127;
  if (opcode != PNM_JOB_OP_DENSE) {
    j.k = 9;
    if (opcode == PNM_JOB_OP_TOPK_PAGE) j.page_tokens = 4, j.k = 3;
    j.flags = opcode == PNM_JOB_OP_SELECT ? PNM_JOB_FLAG_WRITE_SCORES : PNM_JOB_FLAG_WRITE_INDICES;
  }
  Rig twin;
  Rig rtl(default_config(), "ddr5-4800-8ch", std::make_unique<pnm::datapath::DatapathRtl>(16));
  std::mt19937_64 r1(77), r2(77);
  fill_job(j, twin.store, r1);
  fill_job(j, rtl.store, r2);
  const JobResult a = twin.engine.run(j, 0, Mode::functional);
  const JobResult b = rtl.engine.run(j, 0, Mode::functional);
  ASSERT_TRUE(a.ok() && b.ok()) << a.message << b.message;
  EXPECT_STREQ(rtl.engine.datapath().name(), "rtl");
  EXPECT_GT(rtl.engine.datapath().counters().cycles, 0u);
  for (uint64_t addr : {j.o_addr, j.idx_addr}) {
    const uint64_t bytes = addr == j.o_addr ? j.o_bytes() : j.idx_bytes();
    if (!addr || !bytes) continue;
    std::vector<uint8_t> x(bytes), y(bytes);
    twin.store.read(addr, x.data(), bytes);
    rtl.store.read(addr, y.data(), bytes);
    EXPECT_EQ(x, y) << "region at 0x" << std::hex << addr;
  }
  EXPECT_EQ(a.end_dram_cycle, b.end_dram_cycle);
  EXPECT_EQ(a.counters.datapath_chunks, b.counters.datapath_chunks);
  EXPECT_EQ(rtl.engine.datapath().counters().bf16_chunks + rtl.engine.datapath().counters().int8_chunks,
            a.counters.datapath_chunks);
}

TEST(EngineRtl, DenseBf16BitIdenticalToTwin) { rtl_vs_twin(PNM_JOB_OP_DENSE, PNM_JOB_PREC_BF16); }
TEST(EngineRtl, TopkTokenBf16BitIdenticalToTwin) { rtl_vs_twin(PNM_JOB_OP_TOPK_TOKEN, PNM_JOB_PREC_BF16); }
TEST(EngineRtl, TopkPageInt8BitIdenticalToTwin) { rtl_vs_twin(PNM_JOB_OP_TOPK_PAGE, PNM_JOB_PREC_INT8); }
TEST(EngineRtl, SelectInt8BitIdenticalToTwin) { rtl_vs_twin(PNM_JOB_OP_SELECT, PNM_JOB_PREC_INT8); }

} // namespace
