// Common interface of the attention engine's dot-product datapath.
//
// Two interchangeable implementations: DatapathTwin (datapath_twin.h, plain
// C++, fast) and DatapathRtl (datapath_rtl.h, the Verilated rtl/dot_product.sv
// clocked cycle by cycle, optional VCD). They are bit-exact with each other;
// tb_dot_product and tests/datapath keep it so. The arithmetic (formats,
// reduction order, rounding, special values) is specified in docs/DATAPATH.md.
//
// A chunk is one pair of `lanes`-element vectors plus an accumulator input:
//   BF16 mode: result = FP32 bits of  tree(a[i] * b[i]) + acc_in
//   INT8 mode: result = INT32 bits of tree(a[i] * b[i]) + acc_in (wrapping)
// where tree() is the balanced pairwise sum (0+1),(2+3),... level by level.
// Chaining chunks of a longer vector (head_dim 128 = 8 x 16 lanes): feed each
// chunk's result as the next chunk's acc_in.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <vector>

namespace pnm::datapath {

// The RTL's in_mode bit.
enum class Precision : uint8_t {
  kBf16 = 0,  // BF16 x BF16 products, FP32 accumulation (RNE, DAZ/FTZ)
  kInt8 = 1,  // INT8 x INT8 products, INT32 accumulation (wrapping)
};

constexpr int kMaxLanes = 32;
constexpr uint32_t kFp32CanonicalNan = 0x7FC00000u;
// -0.0 is the exact identity of RNE addition (x + -0 == x for every x, also
// +0); +0.0 is not (-0 + +0 == +0). Use it as acc_in for "no accumulation".
constexpr uint32_t kFp32NegZero = 0x80000000u;

constexpr bool is_supported_lanes(int lanes) {
  return lanes >= 2 && lanes <= kMaxLanes && (lanes & (lanes - 1)) == 0;
}

// Cycles from the cycle a vector is accepted to the cycle its result is
// presented: product stage + log2(lanes) tree stages + accumulate stage.
constexpr int pipeline_depth_cycles(int lanes) {
  int levels = 0;
  while ((1 << levels) < lanes) ++levels;
  return levels + 2;
}

// One vector pair, laid out as the RTL's input bus: lane i of a/b is a BF16
// bit pattern, or (INT8 mode) a two's complement byte in the low 8 bits with
// the high 8 bits ignored. Lanes at and above the datapath's lane count are
// ignored. acc_in holds FP32 bits (BF16 mode) or INT32 bits (INT8 mode).
struct DotChunk {
  Precision mode = Precision::kBf16;
  std::array<uint16_t, kMaxLanes> a{};
  std::array<uint16_t, kMaxLanes> b{};
  uint32_t acc_in = kFp32NegZero;

  static DotChunk bf16(const uint16_t* a, const uint16_t* b, int lanes,
                       uint32_t acc_in_fp32_bits = kFp32NegZero) {
    DotChunk c;
    c.mode = Precision::kBf16;
    for (int i = 0; i < lanes; ++i) {
      c.a[i] = a[i];
      c.b[i] = b[i];
    }
    c.acc_in = acc_in_fp32_bits;
    return c;
  }

  static DotChunk int8(const int8_t* a, const int8_t* b, int lanes, int32_t acc_in = 0) {
    DotChunk c;
    c.mode = Precision::kInt8;
    for (int i = 0; i < lanes; ++i) {
      c.a[i] = static_cast<uint8_t>(a[i]);
      c.b[i] = static_cast<uint8_t>(b[i]);
    }
    c.acc_in = static_cast<uint32_t>(acc_in);
    return c;
  }
};

inline float fp32_from_bits(uint32_t bits) {
  float f;
  std::memcpy(&f, &bits, sizeof f);
  return f;
}

inline uint32_t fp32_to_bits(float f) {
  uint32_t bits;
  std::memcpy(&bits, &f, sizeof bits);
  return bits;
}

inline int32_t int32_from_bits(uint32_t bits) { return static_cast<int32_t>(bits); }

struct DotBatch {
  std::vector<uint32_t> results;  // one per chunk, in order: FP32 or INT32 bits
  uint64_t cycles = 0;            // clock cycles spent (0 for an empty batch)
};

// Work done so far, for the engine's stats and energy (pJ per MAC by precision).
struct DatapathCounters {
  uint64_t bf16_chunks = 0;
  uint64_t int8_chunks = 0;
  uint64_t batches = 0;
  uint64_t cycles = 0;  // sum of DotBatch::cycles
};

class Datapath {
public:
  virtual ~Datapath() = default;

  virtual int lanes() const = 0;
  virtual const char* name() const = 0;  // "twin" or "rtl"

  int latency_cycles() const { return pipeline_depth_cycles(lanes()); }

  // Streams the chunks through back to back with the output always ready and
  // drains the pipeline: cycles == latency_cycles() + count (0 if count == 0).
  DotBatch compute_batch(const DotChunk* chunks, size_t count) {
    DotBatch batch = run_batch(chunks, count);
    for (size_t i = 0; i < count; ++i) {
      ++(chunks[i].mode == Precision::kBf16 ? counters_.bf16_chunks : counters_.int8_chunks);
    }
    ++counters_.batches;
    counters_.cycles += batch.cycles;
    return batch;
  }

  DotBatch compute_batch(const std::vector<DotChunk>& chunks) {
    return compute_batch(chunks.data(), chunks.size());
  }

  // One chunk on its own: latency_cycles() + 1 cycles.
  uint32_t compute(const DotChunk& chunk, uint64_t* cycles = nullptr) {
    DotBatch batch = compute_batch(&chunk, 1);
    if (cycles) *cycles = batch.cycles;
    return batch.results.front();
  }

  const DatapathCounters& counters() const { return counters_; }

protected:
  virtual DotBatch run_batch(const DotChunk* chunks, size_t count) = 0;

private:
  DatapathCounters counters_;
};

}  // namespace pnm::datapath
