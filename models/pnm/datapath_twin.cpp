#include "pnm/datapath_twin.h"

#include <algorithm>
#include <stdexcept>
#include <string>

namespace pnm::datapath {
namespace {

constexpr uint32_t kSignMask = 0x80000000u;
constexpr uint32_t kMagMask = 0x7FFFFFFFu;
constexpr uint32_t kFracMask = 0x007FFFFFu;
constexpr uint32_t kHiddenBit = 0x00800000u;
constexpr int kFracBits = 23;
constexpr int kExpMax = 255;  // all-ones exponent: inf/NaN

constexpr uint32_t fp32_inf(uint32_t sign) { return sign | 0x7F800000u; }

int fp32_exp(uint32_t x) { return static_cast<int>((x >> kFracBits) & 0xFF); }
bool fp32_is_nan(uint32_t x) { return fp32_exp(x) == kExpMax && (x & kFracMask) != 0; }
bool fp32_is_inf(uint32_t x) { return fp32_exp(x) == kExpMax && (x & kFracMask) == 0; }
bool fp32_is_zero_daz(uint32_t x) { return fp32_exp(x) == 0; }  // zero or subnormal

int msb_index(uint64_t v) { return 63 - __builtin_clzll(v); }

// Packs sign, biased exponent and 24-bit significand (hidden bit set),
// saturating to inf and flushing to signed zero out of the normal range.
uint32_t fp32_pack(uint32_t sign, int biased_exp, uint64_t sig24) {
  if (biased_exp >= kExpMax) return fp32_inf(sign);
  if (biased_exp <= 0) return sign;  // FTZ
  return sign | (static_cast<uint32_t>(biased_exp) << kFracBits) |
         (static_cast<uint32_t>(sig24) & kFracMask);
}

}  // namespace

uint32_t bf16_mul_to_fp32(uint16_t a, uint16_t b) {
  // Widening to FP32 is exact, so classify in FP32.
  const uint32_t x = static_cast<uint32_t>(a) << 16;
  const uint32_t y = static_cast<uint32_t>(b) << 16;
  const uint32_t sign = (x ^ y) & kSignMask;
  if (fp32_is_nan(x) || fp32_is_nan(y)) return kFp32CanonicalNan;
  if (fp32_is_inf(x) || fp32_is_inf(y)) {
    if (fp32_is_zero_daz(x) || fp32_is_zero_daz(y)) return kFp32CanonicalNan;
    return fp32_inf(sign);
  }
  if (fp32_is_zero_daz(x) || fp32_is_zero_daz(y)) return sign;

  // 8-bit x 8-bit significands: a 15- or 16-bit exact product.
  const uint64_t sig = static_cast<uint64_t>((x & kFracMask) | kHiddenBit) >> 16;
  const uint64_t prod = sig * (static_cast<uint64_t>((y & kFracMask) | kHiddenBit) >> 16);
  const int msb = msb_index(prod);  // 14 or 15
  // value = prod * 2^(ea + eb - 254 - 14); normalised exponent adds msb.
  const int biased_exp = fp32_exp(x) + fp32_exp(y) - 127 + (msb - 14);
  return fp32_pack(sign, biased_exp, prod << (kFracBits - msb));
}

uint32_t fp32_add_rne(uint32_t x, uint32_t y) {
  if (fp32_is_nan(x) || fp32_is_nan(y)) return kFp32CanonicalNan;
  if (fp32_is_inf(x) && fp32_is_inf(y)) return x == y ? x : kFp32CanonicalNan;
  if (fp32_is_inf(x)) return x;
  if (fp32_is_inf(y)) return y;
  if (fp32_is_zero_daz(x) && fp32_is_zero_daz(y)) return x & y & kSignMask;
  if (fp32_is_zero_daz(x)) return y;
  if (fp32_is_zero_daz(y)) return x;

  // Both normal. Order by magnitude; the result takes the larger's sign.
  if ((y & kMagMask) > (x & kMagMask)) std::swap(x, y);
  const uint32_t sign = x & kSignMask;
  const bool subtract = ((x ^ y) & kSignMask) != 0;

  // Exact integer sum on a common scale. Beyond kExactShift the smaller
  // operand is far below half an ulp of any result, so a 1 in the last place
  // (a sticky) rounds exactly like the true value.
  constexpr int kExactShift = 40;  // 24 + 40 bits fit in uint64_t
  const int diff = fp32_exp(x) - fp32_exp(y);
  const int shift = std::min(diff, kExactShift);
  const uint64_t big = static_cast<uint64_t>((x & kFracMask) | kHiddenBit) << shift;
  const uint64_t small = diff <= kExactShift ? ((y & kFracMask) | kHiddenBit) : 1;
  const uint64_t mag = subtract ? big - small : big + small;
  if (mag == 0) return 0;  // exact cancellation: +0 under RNE

  // value = mag * 2^(exp(x) - shift - 127 - 23)
  const int msb = msb_index(mag);
  int biased_exp = fp32_exp(x) - shift + (msb - kFracBits);
  uint64_t sig;
  if (msb > kFracBits) {
    const int drop = msb - kFracBits;
    const uint64_t rem = mag & ((uint64_t{1} << drop) - 1);
    const uint64_t half = uint64_t{1} << (drop - 1);
    sig = mag >> drop;
    if (rem > half || (rem == half && (sig & 1))) ++sig;  // ties to even
    if (sig >> (kFracBits + 1)) {  // rounded up to the next binade
      sig >>= 1;
      ++biased_exp;
    }
  } else {
    sig = mag << (kFracBits - msb);
  }
  return fp32_pack(sign, biased_exp, sig);
}

namespace {

void check_lanes(int lanes) {
  if (!is_supported_lanes(lanes)) {
    throw std::invalid_argument("datapath: lanes must be a power of two in 2.." +
                                std::to_string(kMaxLanes) + ", got " + std::to_string(lanes));
  }
}

// The fixed order: pairwise (0+1), (2+3), ... level by level, in place.
template <typename Add>
uint32_t reduce_tree(uint32_t* v, int lanes, Add add) {
  for (int n = lanes; n > 1; n /= 2) {
    for (int i = 0; i < n / 2; ++i) v[i] = add(v[2 * i], v[2 * i + 1]);
  }
  return v[0];
}

uint32_t int32_add_wrap(uint32_t x, uint32_t y) { return x + y; }  // modulo 2^32

}  // namespace

uint32_t dot_bf16(const uint16_t* a, const uint16_t* b, int lanes, uint32_t acc_in_fp32_bits) {
  check_lanes(lanes);
  uint32_t v[kMaxLanes];
  for (int i = 0; i < lanes; ++i) v[i] = bf16_mul_to_fp32(a[i], b[i]);
  return fp32_add_rne(reduce_tree(v, lanes, fp32_add_rne), acc_in_fp32_bits);
}

int32_t dot_int8(const int8_t* a, const int8_t* b, int lanes, int32_t acc_in) {
  check_lanes(lanes);
  uint32_t v[kMaxLanes];
  for (int i = 0; i < lanes; ++i) v[i] = static_cast<uint32_t>(int32_t{a[i]} * int32_t{b[i]});
  return int32_from_bits(
      int32_add_wrap(reduce_tree(v, lanes, int32_add_wrap), static_cast<uint32_t>(acc_in)));
}

uint32_t dot_chunk(const DotChunk& chunk, int lanes) {
  check_lanes(lanes);
  if (chunk.mode == Precision::kBf16) {
    return dot_bf16(chunk.a.data(), chunk.b.data(), lanes, chunk.acc_in);
  }
  int8_t a[kMaxLanes];
  int8_t b[kMaxLanes];
  for (int i = 0; i < lanes; ++i) {  // low byte of each lane; high byte ignored
    a[i] = static_cast<int8_t>(chunk.a[i] & 0xFF);
    b[i] = static_cast<int8_t>(chunk.b[i] & 0xFF);
  }
  return static_cast<uint32_t>(dot_int8(a, b, lanes, int32_from_bits(chunk.acc_in)));
}

uint16_t fp32_bits_to_bf16_rne(uint32_t bits) {
  if (fp32_is_nan(bits)) return 0x7FC0;
  // Adding 0x7FFF plus the kept LSB rounds to nearest even; a carry into the
  // exponent is the correct result, up to and including inf.
  const uint32_t lsb = (bits >> 16) & 1;
  return static_cast<uint16_t>((bits + 0x7FFFu + lsb) >> 16);
}

DatapathTwin::DatapathTwin(int lanes) : lanes_(lanes) { check_lanes(lanes); }

DotBatch DatapathTwin::run_batch(const DotChunk* chunks, size_t count) {
  DotBatch batch;
  batch.results.reserve(count);
  for (size_t i = 0; i < count; ++i) batch.results.push_back(dot_chunk(chunks[i], lanes_));
  batch.cycles = count == 0 ? 0 : static_cast<uint64_t>(latency_cycles()) + count;
  return batch;
}

}  // namespace pnm::datapath
