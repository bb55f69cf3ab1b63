// firmware/lib/poison.c built natively: the poison list's runs (merge,
// split, ordering), overflow marking and the hit test job processing uses.
#include <gtest/gtest.h>

#include <cstdint>
#include <memory>

#include "pnm_poison.h"

namespace {

struct List {
  std::unique_ptr<pnm_poison_list> l{new pnm_poison_list()};
  List() { pnm_poison_init(l.get()); }
  pnm_poison_list* operator->() { return l.get(); }
  pnm_poison_list* get() { return l.get(); }
};

TEST(firmwarePoison, MarkAlignsDownAndMergesSameSourceNeighbours) {
  List p;
  EXPECT_EQ(pnm_poison_mark(p.get(), 0x1010, PNM_POISON_SRC_INTERNAL, 0), PNM_POISON_CHANGED);
  ASSERT_EQ(p->count, 1u);
  EXPECT_EQ(p->entry[0].dpa, 0x1000u) << "the line holding the address";
  EXPECT_EQ(pnm_poison_mark(p.get(), 0x1000, PNM_POISON_SRC_EXTERNAL, 0), PNM_POISON_UNCHANGED);
  EXPECT_EQ(p->entry[0].source, PNM_POISON_SRC_INTERNAL) << "first source kept";
  EXPECT_EQ(pnm_poison_mark(p.get(), 0x1080, PNM_POISON_SRC_INTERNAL, 0), PNM_POISON_CHANGED);
  EXPECT_EQ(p->count, 2u) << "gap of one line: two runs";
  EXPECT_EQ(pnm_poison_mark(p.get(), 0x1040, PNM_POISON_SRC_INTERNAL, 0), PNM_POISON_CHANGED);
  ASSERT_EQ(p->count, 1u) << "the gap filled: runs joined";
  EXPECT_EQ(p->entry[0].dpa, 0x1000u);
  EXPECT_EQ(p->entry[0].lines, 3u);
  EXPECT_EQ(pnm_poison_mark(p.get(), 0xFC0, PNM_POISON_SRC_INTERNAL, 0), PNM_POISON_CHANGED);
  EXPECT_EQ(p->entry[0].dpa, 0xFC0u) << "grows downwards";
  EXPECT_EQ(p->entry[0].lines, 4u);
  EXPECT_EQ(pnm_poison_mark(p.get(), 0x10C0, PNM_POISON_SRC_INJECTED, 0), PNM_POISON_CHANGED);
  EXPECT_EQ(p->count, 2u) << "different source: its own run";
  EXPECT_EQ(pnm_poison_lines(p.get(), PNM_POISON_SRC_INTERNAL), 4u);
  EXPECT_EQ(pnm_poison_lines(p.get(), PNM_POISON_SRC_INJECTED), 1u);
  EXPECT_EQ(pnm_poison_lines(p.get(), PNM_POISON_SRC_VENDOR), 0u);
}

TEST(firmwarePoison, EntriesStaySorted) {
  List p;
  for (uint64_t a : {0x9000, 0x1000, 0x5000, 0x3000, 0x7000, 0x0}) {
    ASSERT_EQ(pnm_poison_mark(p.get(), a, PNM_POISON_SRC_EXTERNAL, 0), PNM_POISON_CHANGED);
  }
  ASSERT_EQ(p->count, 6u);
  for (uint32_t i = 1; i < p->count; ++i) {
    EXPECT_LT(p->entry[i - 1].dpa, p->entry[i].dpa);
  }
}

TEST(firmwarePoison, ClearTrimsAndSplits) {
  List p;
  for (uint64_t a = 0; a < 6 * 64; a += 64) {
    ASSERT_EQ(pnm_poison_mark(p.get(), a, PNM_POISON_SRC_INJECTED, 0), PNM_POISON_CHANGED);
  }
  ASSERT_EQ(p->count, 1u);
  EXPECT_EQ(pnm_poison_clear(p.get(), 0, 0), PNM_POISON_CHANGED) << "first line";
  EXPECT_EQ(p->entry[0].dpa, 64u);
  EXPECT_EQ(p->entry[0].lines, 5u);
  EXPECT_EQ(pnm_poison_clear(p.get(), 5 * 64 + 7, 0), PNM_POISON_CHANGED) << "last line";
  EXPECT_EQ(p->entry[0].lines, 4u);
  EXPECT_EQ(pnm_poison_clear(p.get(), 3 * 64, 0), PNM_POISON_CHANGED) << "middle: split";
  ASSERT_EQ(p->count, 2u);
  EXPECT_EQ(p->entry[0].dpa, 64u);
  EXPECT_EQ(p->entry[0].lines, 2u);
  EXPECT_EQ(p->entry[1].dpa, 4u * 64);
  EXPECT_EQ(p->entry[1].lines, 1u);
  EXPECT_EQ(p->entry[1].source, PNM_POISON_SRC_INJECTED);
  EXPECT_EQ(pnm_poison_clear(p.get(), 4 * 64, 0), PNM_POISON_CHANGED) << "single-line run";
  EXPECT_EQ(p->count, 1u);
  EXPECT_EQ(pnm_poison_clear(p.get(), 4 * 64, 0), PNM_POISON_UNCHANGED);
  EXPECT_EQ(pnm_poison_clear(p.get(), 1 << 20, 0), PNM_POISON_UNCHANGED);
  EXPECT_FALSE(p->overflowed);
}

TEST(firmwarePoison, HitTest) {
  List p;
  for (uint64_t a = 0x1000; a < 0x1100; a += 64) {
    ASSERT_EQ(pnm_poison_mark(p.get(), a, PNM_POISON_SRC_INTERNAL, 0), PNM_POISON_CHANGED);
  }
  ASSERT_EQ(pnm_poison_mark(p.get(), 0x8000, PNM_POISON_SRC_INTERNAL, 0), PNM_POISON_CHANGED);
  EXPECT_TRUE(pnm_poison_hit(p.get(), 0x1000, 1));
  EXPECT_TRUE(pnm_poison_hit(p.get(), 0x10FF, 1));
  EXPECT_FALSE(pnm_poison_hit(p.get(), 0x1100, 0x100));
  EXPECT_FALSE(pnm_poison_hit(p.get(), 0xF00, 0x100)) << "ends right before the run";
  EXPECT_TRUE(pnm_poison_hit(p.get(), 0xF00, 0x101));
  EXPECT_TRUE(pnm_poison_hit(p.get(), 0x0, 0x10000)) << "covers everything";
  EXPECT_TRUE(pnm_poison_hit(p.get(), 0x7000, 0x1001));
  EXPECT_FALSE(pnm_poison_hit(p.get(), 0x7000, 0x1000));
  EXPECT_FALSE(pnm_poison_hit(p.get(), 0x1000, 0)) << "empty";
  EXPECT_TRUE(pnm_poison_hit(p.get(), 0x8000, ~0ull)) << "runs past 2^64";
  EXPECT_FALSE(pnm_poison_hit(p.get(), 0x9000, ~0ull)) << "does not wrap to 0";
}

TEST(firmwarePoison, OverflowWhenFull) {
  List p;
  for (uint64_t i = 0; i < PNM_POISON_MAX; ++i) {
    ASSERT_EQ(pnm_poison_mark(p.get(), i * 128, PNM_POISON_SRC_INTERNAL, 0), PNM_POISON_CHANGED);
  }
  const uint32_t gen = p->generation;
  EXPECT_EQ(pnm_poison_try_mark(p.get(), 1 << 20, PNM_POISON_SRC_INTERNAL), PNM_POISON_OVERFLOW);
  EXPECT_FALSE(p->overflowed) << "try_mark leaves the list as it was";
  EXPECT_EQ(p->generation, gen);
  EXPECT_EQ(pnm_poison_mark(p.get(), 1 << 20, PNM_POISON_SRC_INTERNAL, 555), PNM_POISON_OVERFLOW);
  EXPECT_TRUE(p->overflowed);
  EXPECT_EQ(p->overflow_timestamp, 555u);
  EXPECT_NE(p->generation, gen);
  EXPECT_EQ(pnm_poison_mark(p.get(), 1 << 21, PNM_POISON_SRC_INTERNAL, 999), PNM_POISON_OVERFLOW);
  EXPECT_EQ(p->overflow_timestamp, 555u) << "the first overflow's time is kept";
  // a line next to an existing run still fits
  EXPECT_EQ(pnm_poison_mark(p.get(), 64, PNM_POISON_SRC_INTERNAL, 0), PNM_POISON_CHANGED);
  EXPECT_EQ(p->count, PNM_POISON_MAX - 1) << "joined two runs";
}

TEST(firmwarePoison, SplitOfAFullListDropsTheUpperFragment) {
  List p;
  // one three-line run plus enough single lines to fill the table
  for (uint64_t a = 0; a < 3 * 64; a += 64) {
    ASSERT_EQ(pnm_poison_mark(p.get(), a, PNM_POISON_SRC_INTERNAL, 0), PNM_POISON_CHANGED);
  }
  for (uint64_t i = 1; p->count < PNM_POISON_MAX; ++i) {
    ASSERT_EQ(pnm_poison_mark(p.get(), 4096 * i, PNM_POISON_SRC_INTERNAL, 0), PNM_POISON_CHANGED);
  }
  EXPECT_EQ(pnm_poison_clear(p.get(), 64, 42), PNM_POISON_CHANGED);
  EXPECT_TRUE(p->overflowed) << "the list no longer knows about line 2";
  EXPECT_EQ(p->overflow_timestamp, 42u);
  EXPECT_TRUE(pnm_poison_hit(p.get(), 0, 64));
  EXPECT_FALSE(pnm_poison_hit(p.get(), 64, 64)) << "cleared";
  EXPECT_EQ(p->count, PNM_POISON_MAX);
}

TEST(firmwarePoison, LongRunsAtTheTopOfTheAddressSpace) {
  List p;
  const uint64_t top = ~0ull & ~63ull;
  ASSERT_EQ(pnm_poison_mark(p.get(), top, PNM_POISON_SRC_VENDOR, 0), PNM_POISON_CHANGED);
  ASSERT_EQ(pnm_poison_mark(p.get(), top - 64, PNM_POISON_SRC_VENDOR, 0), PNM_POISON_CHANGED);
  ASSERT_EQ(p->count, 1u);
  EXPECT_EQ(p->entry[0].lines, 2u);
  EXPECT_TRUE(pnm_poison_hit(p.get(), ~0ull, 1));
  EXPECT_EQ(pnm_poison_clear(p.get(), top, 0), PNM_POISON_CHANGED);
  EXPECT_FALSE(pnm_poison_hit(p.get(), top, 64));
  EXPECT_TRUE(pnm_poison_hit(p.get(), top - 64, 64));
}

} // namespace
