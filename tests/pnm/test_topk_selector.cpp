// Top-k selector: against std::partial_sort with the stated order (higher
// score first, lower index on ties, NaN last), k > count, bounds.
#include "pnm/topk_selector.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <random>
#include <stdexcept>

namespace {

using pnm::engine::TopkEntry;
using pnm::engine::TopkSelector;
using pnm::engine::topk_better;

std::vector<TopkEntry> oracle(std::vector<TopkEntry> all, uint32_t k) {
  const size_t kk = std::min<size_t>(k, all.size());
  std::partial_sort(all.begin(), all.begin() + kk, all.end(), topk_better);
  all.resize(kk);
  std::sort(all.begin(), all.end(), [](const TopkEntry& a, const TopkEntry& b) { return a.index < b.index; });
  return all;
}

void expect_same(const std::vector<TopkEntry>& a, const std::vector<TopkEntry>& b) {
  ASSERT_EQ(a.size(), b.size());
  for (size_t i = 0; i < a.size(); ++i) {
    EXPECT_EQ(a[i].index, b[i].index) << "entry " << i;
    EXPECT_TRUE(a[i].score == b[i].score || (std::isnan(a[i].score) && std::isnan(b[i].score)));
  }
}

TEST(EngineTopk, MatchesPartialSortOnRandomStreams) {
  std::mt19937_64 rng(1);
  TopkSelector sel(2048);
  for (int trial = 0; trial < 300; ++trial) {
    const uint32_t n = 1 + rng() % 5000;
    const uint32_t k = 1 + rng() % 2048;
    // Few distinct values in some trials: many ties.
    const int distinct = trial % 3 == 0 ? 8 : 1 << 20;
    std::vector<TopkEntry> all;
    sel.start(k);
    for (uint32_t i = 0; i < n; ++i) {
      const float s = static_cast<float>(static_cast<int>(rng() % distinct) - distinct / 2) * 0.125f;
      all.push_back({s, i});
      sel.push(s, i);
    }
    expect_same(sel.drain(), oracle(all, k));
  }
}

TEST(EngineTopk, TiesKeepTheLowerIndex) {
  TopkSelector sel(4);
  sel.start(3);
  for (uint32_t i = 0; i < 10; ++i) sel.push(1.0f, i);
  const auto out = sel.drain();
  ASSERT_EQ(out.size(), 3u);
  EXPECT_EQ(out[0].index, 0u);
  EXPECT_EQ(out[1].index, 1u);
  EXPECT_EQ(out[2].index, 2u);
  // +0 and -0 are equal scores: the lower index wins.
  sel.start(1);
  sel.push(-0.0f, 5);
  sel.push(0.0f, 6);
  EXPECT_EQ(sel.drain().at(0).index, 5u);
}

TEST(EngineTopk, NanRanksLastAndInfinitiesOrder) {
  const float nan = std::numeric_limits<float>::quiet_NaN();
  const float inf = std::numeric_limits<float>::infinity();
  TopkSelector sel(8);
  sel.start(3);
  sel.push(nan, 0);
  sel.push(-inf, 1);
  sel.push(nan, 2);
  sel.push(inf, 3);
  sel.push(-5.0f, 4);
  auto out = sel.drain();
  ASSERT_EQ(out.size(), 3u);
  EXPECT_EQ(out[0].index, 1u);
  EXPECT_EQ(out[1].index, 3u);
  EXPECT_EQ(out[2].index, 4u);
  // Only NaNs: the lowest indices.
  sel.start(2);
  for (uint32_t i = 0; i < 5; ++i) sel.push(nan, i);
  out = sel.drain();
  ASSERT_EQ(out.size(), 2u);
  EXPECT_EQ(out[0].index, 0u);
  EXPECT_EQ(out[1].index, 1u);
}

TEST(EngineTopk, KLargerThanCountReturnsAllInIndexOrder) {
  TopkSelector sel(2048);
  sel.start(2048);
  for (uint32_t i = 0; i < 7; ++i) sel.push(static_cast<float>(7 - i), 100 + i);
  const auto out = sel.drain();
  ASSERT_EQ(out.size(), 7u);
  for (uint32_t i = 0; i < 7; ++i) EXPECT_EQ(out[i].index, 100 + i);
  EXPECT_EQ(sel.size(), 0u);
}

TEST(EngineTopk, BoundsAndCounters) {
  EXPECT_THROW(TopkSelector(0), std::invalid_argument);
  TopkSelector sel(16);
  EXPECT_THROW(sel.start(0), std::invalid_argument);
  EXPECT_THROW(sel.start(17), std::invalid_argument);
  sel.start(16);
  for (uint32_t i = 0; i < 100; ++i) sel.push(static_cast<float>(i), i); // ascending: all accepted
  EXPECT_EQ(sel.size(), 16u);
  EXPECT_EQ(sel.worst().index, 84u);
  EXPECT_EQ(sel.pushes(), 100u);
  EXPECT_EQ(sel.accepted(), 100u);
  EXPECT_EQ(sel.drain().front().index, 84u);
  EXPECT_EQ(sel.drained(), 16u);
}

} // namespace
