// Softmax and V accumulation of one query head: running max m, running sum
// l and an FP32 accumulator over V (online softmax, Milakov & Gimelshein
// 2018), so scores never need a second pass.
//
// Arithmetic (FP32 throughout, IEEE round to nearest even, no FTZ; no fused
// multiply-add: each product and each sum is rounded):
//   rescale_to(M): M2 = max(m, M); c = exp(m - M2) (skipped while m = -inf;
//                  c = 1 when the max stays), l = l * c, acc[j] = acc[j] * c,
//                  m = M2
//   accumulate(s, v): p = exp(s - m), l = l + p, acc[j] = acc[j] + p * v[j]
//   finish(out, out_scale): out[j] = (acc[j] / l) * out_scale
// exp is std::exp on float (glibc expf; its documented error is < 1 ulp,
// so results may differ in the last bit across C libraries). The engine rescales once per group of scores (a dense block of
// tokens, or the whole top-k selection) to the group's max before
// accumulating it, so p <= 1 and nothing overflows for finite scores.
// Non-finite scores propagate (NaN output); the engine does not trap them.
#pragma once

#include <cstdint>
#include <vector>

namespace pnm::engine {

class SoftmaxUnit {
public:
  explicit SoftmaxUnit(int head_dim = 0) { reset(head_dim); }

  // Empties the state: m = -inf, l = 0, acc = 0.
  void reset(int head_dim);
  // Raises the running max to max(m, new_max), rescaling l and acc (one exp
  // whenever m is finite, whether or not the max moved).
  void rescale_to(float new_max);
  // Adds one token: score s (already scaled) and its V row as floats.
  void accumulate(float s, const float* v);
  // out[j] = acc[j] / l * out_scale (out_scale: INT8 V dequantisation, else 1).
  void finish(float* out, float out_scale = 1.0f) const;

  float running_max() const { return m_; }
  float running_sum() const { return l_; }
  int head_dim() const { return static_cast<int>(acc_.size()); }

  // Work done (stats and energy): exps, FP32 multiply-adds (rescale and
  // accumulate: one per element), divisions.
  uint64_t exps() const { return exps_; }
  uint64_t fp32_macs() const { return macs_; }

private:
  float m_ = 0, l_ = 0;
  std::vector<float> acc_;
  uint64_t exps_ = 0, macs_ = 0;
};

} // namespace pnm::engine
