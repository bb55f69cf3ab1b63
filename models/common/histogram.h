// Latency histogram with flat memory: exact 1-unit bins up to a limit, and an
// ordered map for the rare larger values, so percentiles stay exact however
// many samples a trace has.
#pragma once

#include <cstdint>
#include <map>
#include <vector>

namespace pnm {

class Histogram {
public:
  explicit Histogram(uint64_t linear_limit = 1u << 16) : bins_(linear_limit, 0) {}
  void add(uint64_t v) {
    ++count_;
    sum_ += static_cast<double>(v);
    if (v < bins_.size()) ++bins_[v];
    else ++overflow_[v];
    if (v > max_) max_ = v;
  }
  uint64_t count() const { return count_; }
  double mean() const { return count_ ? sum_ / static_cast<double>(count_) : 0.0; }
  uint64_t max() const { return max_; }
  // Smallest value v with at least q of the samples <= v (q in [0,1]).
  uint64_t percentile(double q) const {
    if (!count_) return 0;
    uint64_t need = static_cast<uint64_t>(q * static_cast<double>(count_) + 0.999999);
    if (need == 0) need = 1;
    uint64_t seen = 0;
    for (uint64_t v = 0; v < bins_.size(); ++v) {
      seen += bins_[v];
      if (seen >= need) return v;
    }
    for (const auto& [v, n] : overflow_) {
      seen += n;
      if (seen >= need) return v;
    }
    return max_;
  }

private:
  std::vector<uint64_t> bins_;
  std::map<uint64_t, uint64_t> overflow_;
  uint64_t count_ = 0;
  uint64_t max_ = 0;
  double sum_ = 0;
};

} // namespace pnm
