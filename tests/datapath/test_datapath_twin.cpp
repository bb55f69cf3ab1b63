// The twin's arithmetic against hand-worked cases, and its scalar operations
// against the host FPU (IEEE RNE) with DAZ/FTZ applied by hand as an
// independent oracle. Suite names carry "datapath" so `ctest -R datapath`
// selects them.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <random>
#include <vector>

#include "pnm/datapath_twin.h"

namespace {

using namespace pnm::datapath;

constexpr uint32_t kPosInf = 0x7F800000u;
constexpr uint32_t kNegInf = 0xFF800000u;
constexpr uint32_t kOne = 0x3F800000u;
constexpr uint32_t kFp32Max = 0x7F7FFFFFu;
constexpr uint32_t kMinNormal = 0x00800000u;  // 2^-126

constexpr uint16_t kBf16One = 0x3F80;
constexpr uint16_t kBf16Half = 0x3F00;
constexpr uint16_t kBf16Max = 0x7F7F;
constexpr uint16_t kBf16MinNormal = 0x0080;
constexpr uint16_t kBf16Inf = 0x7F80;

uint32_t bits(float f) { return fp32_to_bits(f); }

// --- Host-FPU oracle ------------------------------------------------------

bool is_nan_bits(uint32_t x) { return (x & 0x7F800000u) == 0x7F800000u && (x & 0x7FFFFFu); }

uint32_t daz(uint32_t x) { return (x & 0x7F800000u) == 0 ? (x & 0x80000000u) : x; }

uint32_t ftz_canon(uint32_t r) {
  if (is_nan_bits(r)) return kFp32CanonicalNan;
  return daz(r);  // a subnormal result flushes to zero of its sign
}

uint32_t host_add(uint32_t x, uint32_t y) {
  return ftz_canon(bits(fp32_from_bits(daz(x)) + fp32_from_bits(daz(y))));
}

uint32_t host_bf16_mul(uint16_t a, uint16_t b) {
  const uint32_t xa = daz(static_cast<uint32_t>(a) << 16);
  const uint32_t xb = daz(static_cast<uint32_t>(b) << 16);
  // Exact in double; then range-check to FP32 by hand (no host rounding).
  const double p = static_cast<double>(fp32_from_bits(xa)) * fp32_from_bits(xb);
  if (std::isnan(p)) return kFp32CanonicalNan;
  const uint32_t sign = (xa ^ xb) & 0x80000000u;
  if (std::isinf(p) || std::fabs(p) >= std::ldexp(1.0, 128)) return sign | kPosInf;
  if (std::fabs(p) < std::ldexp(1.0, -126)) return sign;
  return bits(static_cast<float>(p));  // exact: 16 significant bits
}

// FP32 operands weighted towards interesting classes.
uint32_t random_fp32(std::mt19937_64& rng) {
  const uint32_t r = static_cast<uint32_t>(rng());
  const uint32_t sign = r & 0x80000000u;
  const uint32_t frac = static_cast<uint32_t>(rng()) & 0x7FFFFFu;
  switch (rng() % 8) {
    case 0: return r;                                             // anything
    case 1: return sign | (static_cast<uint32_t>(rng() % 4) << 23) | frac;  // near FTZ edge
    case 2: return sign | (static_cast<uint32_t>(251 + rng() % 5) << 23) | frac;  // near overflow
    case 3: return sign | (0xFFu << 23) | (rng() % 2 ? frac : 0);  // inf / NaN
    default: return sign | (static_cast<uint32_t>(120 + rng() % 16) << 23) | frac;
  }
}

// --- Conversions ----------------------------------------------------------

TEST(datapath_bf16, ConversionRoundsToNearestEven) {
  EXPECT_EQ(float_to_bf16(1.0f), kBf16One);
  EXPECT_EQ(fp32_bits_to_bf16_rne(0x3F808000u), 0x3F80);  // tie, even stays
  EXPECT_EQ(fp32_bits_to_bf16_rne(0x3F818000u), 0x3F82);  // tie, odd rounds up
  EXPECT_EQ(fp32_bits_to_bf16_rne(0x3F808001u), 0x3F81);  // above the tie
  EXPECT_EQ(fp32_bits_to_bf16_rne(0x7F7FFFFFu), 0x7F80);  // rounds to inf
  EXPECT_EQ(fp32_bits_to_bf16_rne(0xFF800000u), 0xFF80);
  EXPECT_EQ(fp32_bits_to_bf16_rne(0x7F800001u), 0x7FC0);  // NaN -> canonical
  EXPECT_EQ(fp32_bits_to_bf16_rne(0x80000000u), 0x8000);
  EXPECT_EQ(bf16_to_float(0xC0A0), -5.0f);
}

// --- BF16 x BF16 -> FP32 --------------------------------------------------

TEST(datapath_bf16, MultiplyHandWorked) {
  EXPECT_EQ(bf16_mul_to_fp32(kBf16One, kBf16One), kOne);
  EXPECT_EQ(bf16_mul_to_fp32(0xBF80, 0x4040), bits(-3.0f));
  // (255/128)^2 = 65025/16384: 16 significant bits, exact in FP32.
  EXPECT_EQ(bf16_mul_to_fp32(0x3FFF, 0x3FFF), bits(65025.0f / 16384.0f));
  EXPECT_EQ(bf16_mul_to_fp32(0x5F80, 0x5F80), kPosInf);          // 2^64 * 2^64 = 2^128
  EXPECT_EQ(bf16_mul_to_fp32(0x5F80, 0x5F00), 0x7F000000u);      // 2^127 fits
  EXPECT_EQ(bf16_mul_to_fp32(kBf16Max, 0xFF7F), kNegInf);        // -overflow
  EXPECT_EQ(bf16_mul_to_fp32(kBf16MinNormal, kBf16One), kMinNormal);
  EXPECT_EQ(bf16_mul_to_fp32(kBf16MinNormal, kBf16Half), 0u);    // 2^-127: FTZ
  EXPECT_EQ(bf16_mul_to_fp32(0x8080, kBf16Half), 0x80000000u);   // -2^-127: -0
}

TEST(datapath_bf16, MultiplySpecials) {
  EXPECT_EQ(bf16_mul_to_fp32(0x0001, kBf16One), 0u);            // DAZ
  EXPECT_EQ(bf16_mul_to_fp32(0x807F, kBf16One), 0x80000000u);   // -subnormal: -0
  EXPECT_EQ(bf16_mul_to_fp32(0x8000, 0xBF80), 0u);              // -0 * -1 = +0
  EXPECT_EQ(bf16_mul_to_fp32(0x8000, kBf16One), 0x80000000u);
  EXPECT_EQ(bf16_mul_to_fp32(kBf16Inf, 0xBF80), kNegInf);
  EXPECT_EQ(bf16_mul_to_fp32(kBf16Inf, 0x0000), kFp32CanonicalNan);  // inf * 0
  EXPECT_EQ(bf16_mul_to_fp32(kBf16Inf, 0x0001), kFp32CanonicalNan);  // inf * subnormal(=0)
  EXPECT_EQ(bf16_mul_to_fp32(0x7F81, kBf16One), kFp32CanonicalNan);  // sNaN
  EXPECT_EQ(bf16_mul_to_fp32(0xFFC0, 0x0000), kFp32CanonicalNan);    // -NaN
}

TEST(datapath_bf16, MultiplyMatchesHostOracle) {
  std::mt19937_64 rng(7);
  for (int i = 0; i < 8000000; ++i) {
    uint16_t a = static_cast<uint16_t>(rng());
    uint16_t b = static_cast<uint16_t>(rng());
    if (i % 2) {  // exponent sums at the FP32 range edges: FTZ and overflow
      const int ea = (a >> 7) & 0xFF;
      const int edge = rng() % 2 ? 127 : 381;
      const int eb = std::clamp(edge - ea + static_cast<int>(rng() % 5) - 2, 0, 255);
      b = static_cast<uint16_t>((b & 0x807F) | (eb << 7));
    }
    ASSERT_EQ(bf16_mul_to_fp32(a, b), host_bf16_mul(a, b)) << std::hex << a << " * " << b;
  }
}

// --- FP32 addition --------------------------------------------------------

TEST(datapath_fp32_add, RoundsTiesToEven) {
  EXPECT_EQ(fp32_add_rne(bits(16777216.0f), kOne), bits(16777216.0f));       // 2^24 + 1
  EXPECT_EQ(fp32_add_rne(bits(16777216.0f), bits(3.0f)), bits(16777220.0f));  // 2^24 + 3
  EXPECT_EQ(fp32_add_rne(kOne, bits(0x1p-24f)), kOne);                        // 1 + half ulp
  EXPECT_EQ(fp32_add_rne(0x3F800001u, bits(0x1p-24f)), 0x3F800002u);          // odd: up
  EXPECT_EQ(fp32_add_rne(kOne, bits(0x1.8p-24f)), 0x3F800001u);               // above tie
  EXPECT_EQ(fp32_add_rne(kOne, bits(-0x1p-25f)), 0x3F800000u);  // tie below a binade: even
  EXPECT_EQ(fp32_add_rne(kOne, bits(-0x1p-100f)), kOne);         // far below: sticky only
  EXPECT_EQ(fp32_add_rne(bits(-1.5f), bits(0.75f)), bits(-0.75f));
}

TEST(datapath_fp32_add, SignedZeros) {
  EXPECT_EQ(fp32_add_rne(0x80000000u, 0x80000000u), 0x80000000u);  // -0 + -0 = -0
  EXPECT_EQ(fp32_add_rne(0x00000000u, 0x80000000u), 0u);           // +0 + -0 = +0
  EXPECT_EQ(fp32_add_rne(0x80000000u, 0x00000000u), 0u);
  EXPECT_EQ(fp32_add_rne(bits(2.5f), bits(-2.5f)), 0u);            // x + -x = +0
  EXPECT_EQ(fp32_add_rne(bits(-2.5f), bits(2.5f)), 0u);
  EXPECT_EQ(fp32_add_rne(bits(-2.5f), kFp32NegZero), bits(-2.5f));  // -0 is the identity
  EXPECT_EQ(fp32_add_rne(0u, kFp32NegZero), 0u);
}

TEST(datapath_fp32_add, InfinitiesAndNaNs) {
  EXPECT_EQ(fp32_add_rne(kPosInf, kNegInf), kFp32CanonicalNan);
  EXPECT_EQ(fp32_add_rne(kNegInf, kPosInf), kFp32CanonicalNan);
  EXPECT_EQ(fp32_add_rne(kPosInf, kPosInf), kPosInf);
  EXPECT_EQ(fp32_add_rne(kNegInf, kFp32Max), kNegInf);
  EXPECT_EQ(fp32_add_rne(0x7F800001u, kOne), kFp32CanonicalNan);
  EXPECT_EQ(fp32_add_rne(0xFFFFFFFFu, kPosInf), kFp32CanonicalNan);
  EXPECT_EQ(fp32_add_rne(kFp32Max, kFp32Max), kPosInf);            // overflow
  EXPECT_EQ(fp32_add_rne(0xFF7FFFFFu, 0xFF7FFFFFu), kNegInf);
  // max has an odd significand, so max + half an ulp ties to 2^128: inf.
  EXPECT_EQ(fp32_add_rne(kFp32Max, 0x73000000u), kPosInf);
  EXPECT_EQ(fp32_add_rne(kFp32Max, 0x72FFFFFFu), kFp32Max);        // just below the tie
}

TEST(datapath_fp32_add, SubnormalsFlushToZero) {
  EXPECT_EQ(fp32_add_rne(0x00000001u, 0x00000001u), 0u);           // DAZ both
  EXPECT_EQ(fp32_add_rne(0x807FFFFFu, 0x80000000u), 0x80000000u);  // -sub + -0 = -0
  EXPECT_EQ(fp32_add_rne(kOne, 0x007FFFFFu), kOne);                // DAZ one side
  EXPECT_EQ(fp32_add_rne(kMinNormal, kMinNormal), 0x01000000u);
  // 1.5 * 2^-126 - 2^-126 = 2^-127: subnormal result -> 0 of its sign.
  EXPECT_EQ(fp32_add_rne(0x00C00000u, 0x80800000u), 0u);
  EXPECT_EQ(fp32_add_rne(0x80C00000u, 0x00800000u), 0x80000000u);
}

TEST(datapath_fp32_add, IsCommutative) {
  std::mt19937_64 rng(3);
  for (int i = 0; i < 200000; ++i) {
    const uint32_t x = random_fp32(rng);
    const uint32_t y = random_fp32(rng);
    ASSERT_EQ(fp32_add_rne(x, y), fp32_add_rne(y, x)) << std::hex << x << " + " << y;
  }
}

TEST(datapath_fp32_add, MatchesHostOracle) {
  std::mt19937_64 rng(11);
  for (int i = 0; i < 16000000; ++i) {
    uint32_t x = random_fp32(rng);
    uint32_t y = random_fp32(rng);
    if (i % 4 == 0) {  // close exponents, opposite signs: deep cancellation
      y = (x ^ 0x80000000u) + static_cast<uint32_t>(rng() % 64) - 32;
    } else if (i % 4 == 1) {  // exponent differences around the 24..27-bit window
      const uint32_t ex = (x >> 23) & 0xFF;
      const uint32_t shift = static_cast<uint32_t>(rng() % 30);
      if (ex > shift) y = (y & 0x807FFFFFu) | ((ex - shift) << 23);
    }
    ASSERT_EQ(fp32_add_rne(x, y), host_add(x, y)) << std::hex << x << " + " << y;
  }
}

// --- Dot products ---------------------------------------------------------

TEST(datapath_dot, SumOfOnes) {
  std::vector<uint16_t> a(32, kBf16One), b(32, kBf16One);
  EXPECT_EQ(dot_bf16(a.data(), b.data(), 16), bits(16.0f));
  EXPECT_EQ(dot_bf16(a.data(), b.data(), 32), bits(32.0f));
  EXPECT_EQ(dot_bf16(a.data(), b.data(), 16, bits(0.5f)), bits(16.5f));
}

TEST(datapath_dot, TreeOrderRoundsTiesToEven) {
  // p = [2^24, 1, 1, ..., 1]. Level 1: 2^24 + 1 ties to 2^24, the other pairs
  // give 2; level 2: 2^24 + 2 exact, 4, 4, 4; then 2^24 + 6, 8; root
  // 2^24 + 14. A sequential sum would give 2^24, the exact sum is 2^24 + 15.
  std::vector<uint16_t> a(16, kBf16One), b(16, kBf16One);
  a[0] = 0x4B80;  // 2^24
  EXPECT_EQ(dot_bf16(a.data(), b.data(), 16), bits(16777230.0f));
  // The accumulator enters last; above 2^24 the ulp is 2, and 2^24 + 2k is
  // even when k is. (2^24 + 14) + 1 ties up to 2^24 + 16, - 1 ties down to
  // 2^24 + 12, + 3 ties down to 2^24 + 16.
  EXPECT_EQ(dot_bf16(a.data(), b.data(), 16, kOne), bits(16777232.0f));
  EXPECT_EQ(dot_bf16(a.data(), b.data(), 16, bits(-1.0f)), bits(16777228.0f));
  EXPECT_EQ(dot_bf16(a.data(), b.data(), 16, bits(3.0f)), bits(16777232.0f));
}

TEST(datapath_dot, AccumulatorEntersLast) {
  std::vector<uint16_t> a(16, kBf16One), b(16, kBf16One);
  EXPECT_EQ(dot_bf16(a.data(), b.data(), 16, bits(-16.0f)), 0u);  // cancels to +0
  EXPECT_EQ(dot_bf16(a.data(), b.data(), 16, bits(16777216.0f)), bits(16777232.0f));
}

TEST(datapath_dot, SignedZeroSums) {
  std::vector<uint16_t> a(16, 0x8000), b(16, kBf16One);  // all products -0
  EXPECT_EQ(dot_bf16(a.data(), b.data(), 16, kFp32NegZero), 0x80000000u);
  EXPECT_EQ(dot_bf16(a.data(), b.data(), 16, 0u), 0u);
  a[5] = 0x0000;  // one +0 product makes the tree +0
  EXPECT_EQ(dot_bf16(a.data(), b.data(), 16, kFp32NegZero), 0u);
}

TEST(datapath_dot, InfinitiesAndNaNsPropagate) {
  std::vector<uint16_t> a(16, kBf16One), b(16, kBf16One);
  a[3] = kBf16Inf;
  EXPECT_EQ(dot_bf16(a.data(), b.data(), 16), kPosInf);
  EXPECT_EQ(dot_bf16(a.data(), b.data(), 16, kNegInf), kFp32CanonicalNan);  // inf - inf
  a[12] = 0xFF80;
  EXPECT_EQ(dot_bf16(a.data(), b.data(), 16), kFp32CanonicalNan);
  a[12] = kBf16One;
  b[3] = 0x0000;  // inf * 0
  EXPECT_EQ(dot_bf16(a.data(), b.data(), 16), kFp32CanonicalNan);
  // Finite products whose sum overflows in the first tree level.
  std::vector<uint16_t> max(16, kBf16Max), ones(16, kBf16One);
  EXPECT_EQ(dot_bf16(max.data(), ones.data(), 16), kPosInf);
}

TEST(datapath_dot, SubnormalProductsFlush) {
  std::vector<uint16_t> a(16, kBf16MinNormal), b(16, kBf16Half);  // 16 x 2^-127
  EXPECT_EQ(dot_bf16(a.data(), b.data(), 16), 0u);  // each product flushed first
  std::vector<uint16_t> sub(16, 0x0040);             // subnormal inputs
  std::vector<uint16_t> big(16, 0x7F00);             // 2^127
  EXPECT_EQ(dot_bf16(sub.data(), big.data(), 16), 0u);  // DAZ: not 2^0 each
}

TEST(datapath_int8, Extremes) {
  std::vector<int8_t> a(32, -128), b(32, -128);
  EXPECT_EQ(dot_int8(a.data(), b.data(), 16), 16 * 16384);
  EXPECT_EQ(dot_int8(a.data(), b.data(), 32), 32 * 16384);
  std::vector<int8_t> c(32, 127);
  EXPECT_EQ(dot_int8(a.data(), c.data(), 16), -16 * 16256);
  EXPECT_EQ(dot_int8(a.data(), b.data(), 16, -262144), 0);
}

TEST(datapath_int8, AccumulatorWraps) {
  std::vector<int8_t> a(16, -128), b(16, -128);
  const int32_t max = std::numeric_limits<int32_t>::max();
  const int32_t min = std::numeric_limits<int32_t>::min();
  EXPECT_EQ(dot_int8(a.data(), b.data(), 16, max), min + 262143);
  std::vector<int8_t> c(16, 127);
  EXPECT_EQ(dot_int8(a.data(), c.data(), 16, min), max - 260096 + 1);
}

TEST(datapath_int8, ChunkIgnoresHighByte) {
  std::vector<int8_t> a(16), b(16);
  for (int i = 0; i < 16; ++i) {
    a[i] = static_cast<int8_t>(i * 17 - 100);
    b[i] = static_cast<int8_t>(50 - i * 9);
  }
  DotChunk c = DotChunk::int8(a.data(), b.data(), 16, 7);
  const uint32_t clean = dot_chunk(c, 16);
  for (int i = 0; i < 16; ++i) {
    c.a[i] |= 0xAB00;
    c.b[i] |= 0x5500;
  }
  EXPECT_EQ(dot_chunk(c, 16), clean);
  EXPECT_EQ(int32_from_bits(clean), dot_int8(a.data(), b.data(), 16, 7));
}

TEST(datapath_twin, TimingAndCounters) {
  DatapathTwin twin(16);
  EXPECT_EQ(twin.latency_cycles(), 6);
  EXPECT_EQ(DatapathTwin(32).latency_cycles(), 7);
  std::vector<DotChunk> batch(10, DotChunk{});
  const DotBatch r = twin.compute_batch(batch);
  EXPECT_EQ(r.cycles, 16u);
  ASSERT_EQ(r.results.size(), 10u);
  EXPECT_EQ(r.results[0], 0u);  // all +0 products, -0 acc: +0
  uint64_t cycles = 0;
  twin.compute(batch[0], &cycles);
  EXPECT_EQ(cycles, 7u);
  EXPECT_EQ(twin.compute_batch(nullptr, 0).cycles, 0u);
  EXPECT_EQ(twin.counters().bf16_chunks, 11u);
  EXPECT_EQ(twin.counters().batches, 3u);
  EXPECT_EQ(twin.counters().cycles, 23u);
}

TEST(datapath_twin, RejectsUnsupportedLanes) {
  EXPECT_THROW(DatapathTwin(12), std::invalid_argument);
  EXPECT_THROW(DatapathTwin(64), std::invalid_argument);
  EXPECT_THROW(DatapathTwin(0), std::invalid_argument);
  EXPECT_NO_THROW(DatapathTwin(2));
}

}  // namespace
