// DatapathRtl (Verilated RTL) and DatapathTwin through the common interface:
// identical results and cycle counts on random batches, VCD on request.
#include <gtest/gtest.h>

#include "../support/temp_path.h"

#include <cstdio>
#include <fstream>
#include <memory>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "pnm/datapath_rtl.h"
#include "pnm/datapath_twin.h"

namespace {

using namespace pnm::datapath;

std::vector<DotChunk> random_chunks(size_t count, int lanes, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::vector<DotChunk> chunks(count);
  for (DotChunk& c : chunks) {
    c.mode = rng() % 2 ? Precision::kBf16 : Precision::kInt8;
    for (int i = 0; i < lanes; ++i) {
      if (c.mode == Precision::kBf16 && rng() % 8) {  // mostly ordinary magnitudes
        c.a[i] = static_cast<uint16_t>((rng() & 0x807F) | ((120 + rng() % 16) << 7));
        c.b[i] = static_cast<uint16_t>((rng() & 0x807F) | ((120 + rng() % 16) << 7));
      } else {  // raw bits: specials in BF16, random high bytes in INT8
        c.a[i] = static_cast<uint16_t>(rng());
        c.b[i] = static_cast<uint16_t>(rng());
      }
    }
    c.acc_in = rng() % 4 ? static_cast<uint32_t>(rng()) : kFp32NegZero;
  }
  return chunks;
}

class datapath_rtl : public ::testing::TestWithParam<int> {};

TEST_P(datapath_rtl, MatchesTwinThroughInterface) {
  const int lanes = GetParam();
  std::vector<std::unique_ptr<Datapath>> impls;
  impls.push_back(std::make_unique<DatapathTwin>(lanes));
  impls.push_back(std::make_unique<DatapathRtl>(lanes));
  const std::vector<DotChunk> chunks = random_chunks(20000, lanes, lanes);
  const DotBatch twin = impls[0]->compute_batch(chunks);
  const DotBatch rtl = impls[1]->compute_batch(chunks);
  ASSERT_EQ(rtl.results.size(), chunks.size());
  for (size_t i = 0; i < chunks.size(); ++i) {
    ASSERT_EQ(rtl.results[i], twin.results[i]) << "chunk " << i;
  }
  EXPECT_EQ(rtl.cycles, twin.cycles);
  EXPECT_EQ(rtl.cycles, chunks.size() + impls[1]->latency_cycles());
  EXPECT_EQ(impls[1]->counters().bf16_chunks + impls[1]->counters().int8_chunks, chunks.size());
}

TEST_P(datapath_rtl, BackToBackBatchesAndSingles) {
  const int lanes = GetParam();
  DatapathRtl rtl(lanes);
  DatapathTwin twin(lanes);
  EXPECT_EQ(rtl.latency_cycles(), lanes == 16 ? 6 : 7);
  uint64_t seed = 1;
  for (size_t n : {size_t{1}, size_t{0}, size_t{3}, size_t{1}, size_t{257}}) {
    const std::vector<DotChunk> chunks = random_chunks(n, lanes, seed++);
    const DotBatch r = rtl.compute_batch(chunks);
    const DotBatch t = twin.compute_batch(chunks);
    EXPECT_EQ(r.results, t.results) << "batch of " << n;
    EXPECT_EQ(r.cycles, t.cycles) << "batch of " << n;
  }
  const DotChunk c = random_chunks(1, lanes, 99)[0];
  uint64_t rtl_cycles = 0;
  uint64_t twin_cycles = 0;
  EXPECT_EQ(rtl.compute(c, &rtl_cycles), twin.compute(c, &twin_cycles));
  EXPECT_EQ(rtl_cycles, static_cast<uint64_t>(rtl.latency_cycles() + 1));
  EXPECT_EQ(rtl_cycles, twin_cycles);
}

INSTANTIATE_TEST_SUITE_P(lanes, datapath_rtl, ::testing::Values(16, 32));

TEST(datapath_rtl_vcd, DumpsWaveformOnRequest) {
  const std::string path = pnm::test::temp_path("datapath_rtl_test.vcd");
  std::remove(path.c_str());
  {
    DatapathRtl rtl(16, path);
    rtl.compute_batch(random_chunks(8, 16, 5));
    EXPECT_GT(rtl.total_cycles(), 14u);
  }
  std::ifstream in(path);
  ASSERT_TRUE(in.good()) << path;
  std::stringstream text;
  text << in.rdbuf();
  const std::string vcd = text.str();
  EXPECT_NE(vcd.find("$enddefinitions"), std::string::npos);
  EXPECT_NE(vcd.find("out_result"), std::string::npos);
  EXPECT_NE(vcd.find("#500"), std::string::npos);  // first rising edge
  std::remove(path.c_str());
}

TEST(datapath_rtl_lanes, RejectsLaneCountsNotVerilated) {
  EXPECT_THROW(DatapathRtl(8), std::invalid_argument);
  EXPECT_THROW(DatapathRtl(64), std::invalid_argument);
  EXPECT_TRUE(DatapathRtl::is_built_lanes(16));
  EXPECT_FALSE(DatapathRtl::is_built_lanes(8));
}

}  // namespace
