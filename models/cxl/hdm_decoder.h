// HDM decoder of a CXL Type-3 endpoint: host physical address (HPA) ->
// device physical address (DPA), programmed and committed through the HDM
// decoder capability structure registers (component register block, CXL.mem
// capability ID 0x5; layout in REFERENCE A.8, from Linux drivers/cxl/cxl.h and
// QEMU include/hw/cxl/cxl_component.h).
//
// Decode rule for an endpoint that is one of W ways at granularity G (CXL 3.0
// §8.2.4.19.13 "Device Decode Logic", as implemented by QEMU hw/mem/
// cxl_type3.c cxl_type3_dpa() and inverted by Linux drivers/cxl/core/region.c
// cxl_dpa_to_hpa()):
//   off      = HPA - base
//   position = (off / G) % W            (must equal this device's position)
//   DPA      = dpa_base + (off / (G*W)) * G + off % G
// For W = 2^k this is "drop k address bits above IG+8"; for W = 3/6/12 it is
// the spec's divide-by-3 of the upper bits: both reduce to the formula above.
// dpa_base of decoder n = sum over m < n of (skip_m + size_m / W_m) + skip_n:
// each decoder's DPA range starts where the previous one's ended, plus its own
// DPA skip (QEMU cxl_type3_dpa(), Linux hdm.c init_hdm_decoder()).
//
// A real endpoint does not know its interleave position (the host bridge and
// switches route only its chunks to it) and would alias a misrouted HPA onto
// another DPA. This model is told its position per decoder
// (set_interleave_position) and reports wrong_position instead: a routing bug
// in the platform shows up as an error, never as a silent wrap.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <vector>

namespace pnm::cxl {

// Base, size and DPA skip are programmed in 256 MiB units (bits 31:28 of the
// low registers).
inline constexpr uint64_t hdm_granule_bytes = 256ull << 20;
// CXL.mem addresses are 52 bits wide (Addr[51:6] in the message headers).
inline constexpr uint64_t hdm_max_hpa_bytes = 1ull << 52;
inline constexpr unsigned hdm_max_decoders = 16;

// Interleave encodings, REFERENCE A.8 (Linux eig_to_granularity/eiw_to_ways):
// granularity = 256 << IG for IG 0..6; ways = 1 << IW for IW 0..4 and
// 3 << (IW - 8) for IW 8..10; anything else is invalid (nullopt).
std::optional<uint64_t> hdm_granularity_bytes(unsigned ig);
std::optional<unsigned> hdm_ways(unsigned iw);
std::optional<unsigned> hdm_encode_granularity(uint64_t bytes);
std::optional<unsigned> hdm_encode_ways(unsigned ways);
// Decoder count field of the capability register: 0 -> 1, v -> 2v (Linux
// cxl_hdm_decoder_count). Values above 8 (more than 16 decoders) are not
// modelled (their spec encoding is unverified).
std::optional<unsigned> hdm_encode_decoder_count(unsigned decoders);
unsigned hdm_decode_decoder_count(unsigned field);

struct HdmDecoderConfig {
  unsigned decoder_count = 1;     // 1, 2, 4, 6, ... 16 (must be encodable)
  uint64_t capacity_bytes = 0;    // DPA space the decoders may map
  bool interleave_a11_8 = true;   // capability bit 8 (reported only)
  bool interleave_a14_12 = true;  // capability bit 9 (reported only)
  bool ways_3_6_12 = true;        // capability bit 11: IW 8..10 accepted
  bool ways_16 = true;            // capability bit 12: IW 4 accepted
  bool poison_on_decode_error = false; // capability bit 10
};

enum class HdmStatus : uint8_t {
  ok,
  hdm_disabled,   // global control "HDM Decoder Enable" is clear
  not_committed,  // the HPA is only covered by a decoder that is not committed
  out_of_range,   // no decoder covers the HPA
  wrong_position, // a committed decoder covers it, but the chunk belongs to another way
};
const char* to_string(HdmStatus s);

struct HdmTranslation {
  HdmStatus status = HdmStatus::out_of_range;
  uint64_t dpa = 0;
  int decoder = -1; // decoder that matched (also set for wrong_position)
  bool ok() const { return status == HdmStatus::ok; }
};

// What one decoder is programmed with; used by program() (the convenience
// path that performs the register writes a driver would).
struct HdmProgram {
  uint64_t base = 0;     // HPA, 256 MiB aligned
  uint64_t size = 0;     // bytes of HPA space, multiple of ways * 256 MiB
  uint64_t dpa_skip = 0; // bytes, 256 MiB aligned
  unsigned ig = 0;       // granularity encoding
  unsigned iw = 0;       // ways encoding
  bool lock_on_commit = false;
  bool host_only = true; // control bit 12 (Linux HOSTONLY): Type-3 memory
};

class HdmDecoder {
public:
  // Register offsets from the start of the HDM decoder capability structure.
  static constexpr uint32_t capability_offset = 0x00;
  static constexpr uint32_t global_control_offset = 0x04;
  static constexpr uint32_t base_low_offset(unsigned n) { return 0x10 + 0x20 * n; }
  static constexpr uint32_t base_high_offset(unsigned n) { return 0x14 + 0x20 * n; }
  static constexpr uint32_t size_low_offset(unsigned n) { return 0x18 + 0x20 * n; }
  static constexpr uint32_t size_high_offset(unsigned n) { return 0x1C + 0x20 * n; }
  static constexpr uint32_t control_offset(unsigned n) { return 0x20 + 0x20 * n; }
  static constexpr uint32_t dpa_skip_low_offset(unsigned n) { return 0x24 + 0x20 * n; }
  static constexpr uint32_t dpa_skip_high_offset(unsigned n) { return 0x28 + 0x20 * n; }

  // Control register fields (REFERENCE A.8).
  static constexpr uint32_t ctrl_ig_mask = 0xFu;            // 3:0
  static constexpr uint32_t ctrl_iw_shift = 4;              // 7:4
  static constexpr uint32_t ctrl_lock_on_commit = 1u << 8;
  static constexpr uint32_t ctrl_commit = 1u << 9;
  static constexpr uint32_t ctrl_committed = 1u << 10;      // RO
  static constexpr uint32_t ctrl_error_not_committed = 1u << 11; // RO
  static constexpr uint32_t ctrl_host_only = 1u << 12;      // target type
  static constexpr uint32_t global_poison_on_error = 1u << 0;
  static constexpr uint32_t global_enable = 1u << 1;

  // Throws std::invalid_argument for a decoder count that cannot be encoded
  // or a capacity that is not a multiple of 256 MiB.
  explicit HdmDecoder(const HdmDecoderConfig& cfg);

  const HdmDecoderConfig& config() const { return cfg_; }
  // Bytes of register space the structure occupies: 0x10 + 0x20 * decoders.
  uint32_t register_bytes() const { return 0x10 + 0x20 * cfg_.decoder_count; }

  // 32-bit register access at a 4-byte aligned offset (std::invalid_argument
  // otherwise). Reserved offsets and bits read 0; read-only fields and
  // registers locked by lock-on-commit ignore writes.
  uint32_t read32(uint32_t offset) const;
  void write32(uint32_t offset, uint32_t value);

  HdmTranslation translate(uint64_t hpa) const;

  // Model-side: this device's position in decoder n's interleave set
  // (0 <= pos < ways; checked at translation). Default 0.
  void set_interleave_position(unsigned n, unsigned pos);
  unsigned interleave_position(unsigned n) const;

  // Writes base/size/skip/control with commit set, as a driver does, and
  // enables HDM decoding if `enable` is set. Returns true if committed.
  bool program(unsigned n, const HdmProgram& p, bool enable = true);

  bool committed(unsigned n) const;
  bool commit_error(unsigned n) const;
  bool locked(unsigned n) const;
  bool enabled() const { return (global_ctrl_ & global_enable) != 0; }
  // DPA range [dpa_base, dpa_base + size / ways) of a committed decoder.
  uint64_t dpa_base(unsigned n) const;
  uint64_t dpa_bytes(unsigned n) const;

  // Device reset: every register back to its default (unlocks).
  void reset();

private:
  struct Decoder {
    uint32_t base_lo = 0, base_hi = 0, size_lo = 0, size_hi = 0;
    uint32_t skip_lo = 0, skip_hi = 0, ctrl = 0;
    unsigned position = 0;
    // Latched at commit; the decode never looks at the live registers.
    uint64_t base = 0, size = 0, gran = 0, dpa_start = 0, dpa_end = 0;
    unsigned ways = 1;
  };
  uint32_t capability_value() const;
  void write_control(unsigned n, uint32_t value);
  bool try_commit(unsigned n);
  const Decoder& at(unsigned n) const;

  HdmDecoderConfig cfg_;
  uint32_t global_ctrl_ = 0;
  std::vector<Decoder> dec_;
};

} // namespace pnm::cxl
