#include "pnm/topk_selector.h"

#include <algorithm>
#include <cmath>
#include <stdexcept>
#include <string>

namespace pnm::engine {

bool topk_better(const TopkEntry& a, const TopkEntry& b) {
  const bool an = std::isnan(a.score), bn = std::isnan(b.score);
  if (an != bn) return bn;                 // a number beats a NaN
  if (!an && a.score != b.score) return a.score > b.score;
  return a.index < b.index;                // equal (or both NaN): lower index
}

namespace {
// Heap order: the root is the worst entry kept.
bool heap_less(const TopkEntry& a, const TopkEntry& b) { return topk_better(a, b); }
} // namespace

TopkSelector::TopkSelector(uint32_t max_entries) : max_entries_(max_entries) {
  if (max_entries == 0) throw std::invalid_argument("TopkSelector: max_entries must be >= 1");
  heap_.reserve(max_entries);
}

void TopkSelector::start(uint32_t k) {
  if (k == 0 || k > max_entries_)
    throw std::invalid_argument("TopkSelector: k " + std::to_string(k) + " outside 1.." +
                                std::to_string(max_entries_));
  k_ = k;
  heap_.clear();
}

void TopkSelector::push(float score, uint32_t index) {
  ++pushes_;
  const TopkEntry e{score, index};
  if (heap_.size() < k_) {
    heap_.push_back(e);
    std::push_heap(heap_.begin(), heap_.end(), heap_less);
    ++accepted_;
  } else if (k_ && topk_better(e, heap_.front())) {
    std::pop_heap(heap_.begin(), heap_.end(), heap_less);
    heap_.back() = e;
    std::push_heap(heap_.begin(), heap_.end(), heap_less);
    ++accepted_;
  }
}

std::vector<TopkEntry> TopkSelector::drain() {
  std::vector<TopkEntry> out(heap_.begin(), heap_.end());
  std::sort(out.begin(), out.end(),
            [](const TopkEntry& a, const TopkEntry& b) { return a.index < b.index; });
  drained_ += out.size();
  heap_.clear();
  return out;
}

} // namespace pnm::engine
