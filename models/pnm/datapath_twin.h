// Bit-exact C++ twin of rtl/dot_product.sv: same reduction order, rounding and
// special cases, computed with integer bit manipulation only (no dependence on
// the host FPU's rounding mode or FTZ/DAZ flags). Spec: docs/DATAPATH.md.
#pragma once

#include <cstdint>

#include "pnm/datapath.h"

namespace pnm::datapath {

// --- Scalar arithmetic of the datapath -------------------------------------

// BF16 x BF16 -> FP32: exact product; DAZ on inputs, FTZ below 2^-126,
// inf at or above 2^128, canonical NaN for any NaN and for inf x 0.
uint32_t bf16_mul_to_fp32(uint16_t a, uint16_t b);

// FP32 + FP32, round to nearest even, DAZ/FTZ, canonical NaN, IEEE signed
// zeros (x + -x == +0; -0 + -0 == -0). Commutative.
uint32_t fp32_add_rne(uint32_t x, uint32_t y);

// --- Dot products (lanes: power of two, 2..kMaxLanes) ----------------------

// FP32 bits of tree(a[i] * b[i]) + acc_in.
uint32_t dot_bf16(const uint16_t* a, const uint16_t* b, int lanes,
                  uint32_t acc_in_fp32_bits = kFp32NegZero);

// tree(a[i] * b[i]) + acc_in, two's complement wrap-around in INT32.
int32_t dot_int8(const int8_t* a, const int8_t* b, int lanes, int32_t acc_in = 0);

// Either of the above, per chunk.mode; returns FP32 or INT32 bits.
uint32_t dot_chunk(const DotChunk& chunk, int lanes);

// --- Format conversions (IEEE, no flushing: DAZ happens in the datapath) ---

uint16_t fp32_bits_to_bf16_rne(uint32_t bits);  // NaN -> 0x7FC0
inline uint16_t float_to_bf16(float f) { return fp32_bits_to_bf16_rne(fp32_to_bits(f)); }
inline float bf16_to_float(uint16_t h) { return fp32_from_bits(static_cast<uint32_t>(h) << 16); }

// --- Interface implementation ---------------------------------------------

class DatapathTwin final : public Datapath {
public:
  explicit DatapathTwin(int lanes = 16);  // throws std::invalid_argument

  int lanes() const override { return lanes_; }
  const char* name() const override { return "twin"; }

protected:
  DotBatch run_batch(const DotChunk* chunks, size_t count) override;

private:
  int lanes_;
};

}  // namespace pnm::datapath
