// The twin against a double-precision reference (Eigen) on random vectors.
//
// Tolerance: a BF16 product is exact in FP32, and every result passes through
// at most d roundings (log2(lanes) tree levels + the accumulate; for chained
// chunks, + one per further chunk), each with relative error <= u = 2^-24.
// The standard bound for such a sum is
//   |twin - exact| <= gamma_d * (sum |a_i b_i| + |acc|),  gamma_d = d u / (1 - d u)
// and the double reference itself is within (n + 1) 2^-53 of the same sum.
#include <gtest/gtest.h>

#include <Eigen/Dense>
#include <cmath>
#include <cstdint>
#include <random>
#include <vector>

#include "pnm/datapath_twin.h"

namespace {

using namespace pnm::datapath;

double gamma(int roundings) {
  const double u = std::ldexp(1.0, -24);
  return roundings * u / (1.0 - roundings * u);
}

int log2_int(int lanes) {
  int levels = 0;
  while ((1 << levels) < lanes) ++levels;
  return levels;
}

struct RandomBf16 {
  std::mt19937_64 rng;
  std::normal_distribution<float> normal{0.0f, 1.0f};

  // Values spread over a few binades, as activations and keys are.
  uint16_t next() { return float_to_bf16(normal(rng) * std::ldexp(1.0f, rng() % 7 - 3)); }
};

class datapath_reference : public ::testing::TestWithParam<int> {};

TEST_P(datapath_reference, Bf16WithinErrorBound) {
  const int lanes = GetParam();
  RandomBf16 gen{std::mt19937_64(lanes)};
  std::uniform_real_distribution<float> acc_dist(-8.0f, 8.0f);
  const double g = gamma(log2_int(lanes) + 1);
  double worst_ratio = 0;  // observed error / bound
  for (int iter = 0; iter < 100000; ++iter) {
    std::vector<uint16_t> a(lanes), b(lanes);
    Eigen::VectorXd va(lanes), vb(lanes);
    for (int i = 0; i < lanes; ++i) {
      a[i] = gen.next();
      b[i] = gen.next();
      va[i] = bf16_to_float(a[i]);
      vb[i] = bf16_to_float(b[i]);
    }
    const float acc = iter % 4 ? acc_dist(gen.rng) : -0.0f;
    const double exact = va.dot(vb) + acc;
    const double magnitude = va.cwiseAbs().dot(vb.cwiseAbs()) + std::fabs(acc);
    const double bound = g * magnitude + (lanes + 1) * std::ldexp(magnitude, -53);
    const double got = fp32_from_bits(dot_bf16(a.data(), b.data(), lanes, fp32_to_bits(acc)));
    ASSERT_LE(std::fabs(got - exact), bound) << "iteration " << iter;
    if (bound > 0) worst_ratio = std::max(worst_ratio, std::fabs(got - exact) / bound);
  }
  RecordProperty("worst_error_over_bound", std::to_string(worst_ratio));
}

TEST_P(datapath_reference, ChainedChunksOfHeadDim128) {
  // head_dim 128 as 128/lanes chunks, each chunk's result the next acc_in.
  const int lanes = GetParam();
  const int chunks = 128 / lanes;
  RandomBf16 gen{std::mt19937_64(100 + lanes)};
  const double g = gamma(log2_int(lanes) + chunks);
  for (int iter = 0; iter < 20000; ++iter) {
    std::vector<uint16_t> a(128), b(128);
    Eigen::VectorXd va(128), vb(128);
    for (int i = 0; i < 128; ++i) {
      a[i] = gen.next();
      b[i] = gen.next();
      va[i] = bf16_to_float(a[i]);
      vb[i] = bf16_to_float(b[i]);
    }
    uint32_t acc = kFp32NegZero;
    for (int c = 0; c < chunks; ++c) acc = dot_bf16(&a[c * lanes], &b[c * lanes], lanes, acc);
    const double exact = va.dot(vb);
    const double magnitude = va.cwiseAbs().dot(vb.cwiseAbs());
    const double bound = g * magnitude + 129 * std::ldexp(magnitude, -53);
    ASSERT_LE(std::fabs(fp32_from_bits(acc) - exact), bound) << "iteration " << iter;
  }
}

TEST_P(datapath_reference, Int8ExactModulo2To32) {
  const int lanes = GetParam();
  std::mt19937_64 rng(200 + lanes);
  for (int iter = 0; iter < 100000; ++iter) {
    std::vector<int8_t> a(lanes), b(lanes);
    int64_t exact = static_cast<int32_t>(rng());
    const int32_t acc = static_cast<int32_t>(exact);
    for (int i = 0; i < lanes; ++i) {
      a[i] = static_cast<int8_t>(rng());
      b[i] = static_cast<int8_t>(rng());
      exact += int64_t{a[i]} * b[i];
    }
    ASSERT_EQ(dot_int8(a.data(), b.data(), lanes, acc),
              static_cast<int32_t>(static_cast<uint32_t>(exact)));
  }
}

INSTANTIATE_TEST_SUITE_P(lanes, datapath_reference, ::testing::Values(16, 32));

}  // namespace
