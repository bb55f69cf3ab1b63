// Streaming top-k selector of the attention engine: a bounded buffer of at
// most `max_entries` (score, index) entries that takes one score per cycle
// and keeps the k best. Plain C++; the engine's timing model charges one
// cycle per push and one per drained entry.
//
// Order (stated, and what tests check against std::partial_sort):
//   - a higher score wins;
//   - equal scores: the LOWER index wins (+0 and -0 are equal);
//   - NaN ranks below every number, -inf included (a NaN score never
//     displaces a number); NaNs among themselves tie, so the lower index wins.
// Output: drain() returns the kept entries sorted by ascending index (the
// order the engine streams V rows in). If fewer than k scores were pushed,
// all of them are returned.
#pragma once

#include <cstdint>
#include <vector>

namespace pnm::engine {

struct TopkEntry {
  float score = 0;
  uint32_t index = 0;
};

// True if `a` ranks strictly before `b` under the order above.
bool topk_better(const TopkEntry& a, const TopkEntry& b);

class TopkSelector {
public:
  // Throws std::invalid_argument for max_entries == 0.
  explicit TopkSelector(uint32_t max_entries);

  uint32_t max_entries() const { return max_entries_; }

  // Clears the buffer and selects the k best from now on. k must be in
  // 1..max_entries (std::invalid_argument otherwise; jobs are validated first).
  void start(uint32_t k);
  // One score (one cycle). Indices need not be ordered, but the engine pushes
  // them ascending, so an equal score never displaces an earlier entry.
  void push(float score, uint32_t index);

  uint32_t k() const { return k_; }
  uint32_t size() const { return static_cast<uint32_t>(heap_.size()); }
  // The entry a new score must beat once the buffer is full (the k-th best).
  const TopkEntry& worst() const { return heap_.front(); }

  // The kept entries by ascending index; the buffer is empty afterwards.
  std::vector<TopkEntry> drain();

  // Counters since construction (the engine's stats and energy).
  uint64_t pushes() const { return pushes_; }
  uint64_t accepted() const { return accepted_; }
  uint64_t drained() const { return drained_; }

private:
  uint32_t max_entries_;
  uint32_t k_ = 0;
  std::vector<TopkEntry> heap_; // heap on "worse first": front() is the k-th best
  uint64_t pushes_ = 0, accepted_ = 0, drained_ = 0;
};

} // namespace pnm::engine
