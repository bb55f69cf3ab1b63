// Softmax unit: online (running max/sum) against a two-pass double softmax,
// block rescaling, counters, and the stated FP32 operation order.
#include "pnm/softmax_unit.h"

#include <gtest/gtest.h>

#include <cmath>
#include <random>
#include <vector>

namespace {

using pnm::engine::SoftmaxUnit;

TEST(EngineSoftmax, OnlineMatchesTwoPassDouble) {
  std::mt19937_64 rng(7);
  std::normal_distribution<float> nd(0.0f, 3.0f);
  for (int trial = 0; trial < 50; ++trial) {
    const int d = 16 * (1 + trial % 8);
    const int n = 1 + static_cast<int>(rng() % 3000);
    const int block = 1 + static_cast<int>(rng() % 700);
    std::vector<float> s(n), v(static_cast<size_t>(n) * d);
    for (float& x : s) x = nd(rng);
    for (float& x : v) x = nd(rng);
    SoftmaxUnit sm(d);
    for (int b0 = 0; b0 < n; b0 += block) {
      const int b1 = std::min(n, b0 + block);
      float m = -INFINITY;
      for (int i = b0; i < b1; ++i) m = std::max(m, s[i]);
      sm.rescale_to(m);
      for (int i = b0; i < b1; ++i) sm.accumulate(s[i], &v[static_cast<size_t>(i) * d]);
    }
    std::vector<float> out(d);
    sm.finish(out.data());
    double m = -INFINITY, l = 0;
    for (float x : s) m = std::max<double>(m, x);
    std::vector<double> ref(d, 0.0);
    double vmax = 0;
    for (int i = 0; i < n; ++i) {
      const double p = std::exp(double{s[i]} - m);
      l += p;
      for (int j = 0; j < d; ++j) {
        ref[j] += p * v[static_cast<size_t>(i) * d + j];
        vmax = std::max(vmax, std::fabs(double{v[static_cast<size_t>(i) * d + j]}));
      }
    }
    // FP32: each of n steps adds a relative 2^-24 or so, plus exp's < 1 ulp.
    const double tol = vmax * (n + 10) * std::ldexp(1.0, -23);
    for (int j = 0; j < d; ++j) EXPECT_NEAR(out[j], ref[j] / l, tol) << "trial " << trial << " j " << j;
    const int blocks = (n + block - 1) / block;
    EXPECT_EQ(sm.exps(), static_cast<uint64_t>(n + blocks - 1));
    EXPECT_EQ(sm.fp32_macs(), static_cast<uint64_t>(n + blocks - 1) * d);
  }
}

TEST(EngineSoftmax, OperationOrderIsFp32StepByStep) {
  // One token: p = exp(s - m) = 1, l = 1, acc = v: out = v exactly.
  SoftmaxUnit sm(2);
  const float v[2] = {3.25f, -1.5f};
  sm.rescale_to(0.75f);
  sm.accumulate(0.75f, v);
  float out[2];
  sm.finish(out, 2.0f);
  EXPECT_EQ(out[0], 6.5f);
  EXPECT_EQ(out[1], -3.0f);
  EXPECT_EQ(sm.running_sum(), 1.0f);
  // A second token at a lower score: acc = v + exp(-1) * w, computed in float.
  const float w[2] = {1.0f, 1.0f};
  sm.accumulate(-0.25f, w);
  const float p = std::exp(-0.25f - 0.75f);
  EXPECT_EQ(sm.running_sum(), 1.0f + p);
  sm.finish(out);
  EXPECT_EQ(out[0], (3.25f + p * 1.0f) / (1.0f + p));
}

TEST(EngineSoftmax, NoExpWhileEmptyAndNaNPropagates) {
  SoftmaxUnit sm(4);
  sm.rescale_to(5.0f); // m was -inf: nothing to rescale
  EXPECT_EQ(sm.exps(), 0u);
  EXPECT_EQ(sm.running_max(), 5.0f);
  sm.rescale_to(1.0f); // lower: max stays, c = 1 still costs an exp
  EXPECT_EQ(sm.exps(), 1u);
  EXPECT_EQ(sm.running_max(), 5.0f);
  const float v[4] = {1, 2, 3, 4};
  sm.accumulate(NAN, v);
  float out[4];
  sm.finish(out);
  EXPECT_TRUE(std::isnan(out[0]));
}

} // namespace
