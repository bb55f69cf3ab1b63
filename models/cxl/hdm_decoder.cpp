#include "hdm_decoder.h"

#include <stdexcept>
#include <string>

namespace pnm::cxl {

namespace {
constexpr uint32_t low_addr_mask = 0xF0000000u; // bits 31:28 of base/size/skip low
// Control bits software may write; committed/error are RO, and BI, UIO,
// UIG, UIW, ISP (bits 13..27) are reserved because the capability register
// reports neither BI nor UIO support.
constexpr uint32_t ctrl_rw_mask = 0xFu | (0xFu << 4) | HdmDecoder::ctrl_lock_on_commit |
                                  HdmDecoder::ctrl_commit | HdmDecoder::ctrl_host_only;

uint64_t join(uint32_t hi, uint32_t lo) { return (uint64_t(hi) << 32) | (lo & low_addr_mask); }
} // namespace

std::optional<uint64_t> hdm_granularity_bytes(unsigned ig) {
  if (ig > 6)
    return std::nullopt;
  return uint64_t(256) << ig;
}

std::optional<unsigned> hdm_ways(unsigned iw) {
  if (iw <= 4)
    return 1u << iw;
  if (iw >= 8 && iw <= 10)
    return 3u << (iw - 8);
  return std::nullopt;
}

std::optional<unsigned> hdm_encode_granularity(uint64_t bytes) {
  for (unsigned ig = 0; ig <= 6; ++ig)
    if (*hdm_granularity_bytes(ig) == bytes)
      return ig;
  return std::nullopt;
}

std::optional<unsigned> hdm_encode_ways(unsigned ways) {
  for (unsigned iw : {0u, 1u, 2u, 3u, 4u, 8u, 9u, 10u})
    if (*hdm_ways(iw) == ways)
      return iw;
  return std::nullopt;
}

std::optional<unsigned> hdm_encode_decoder_count(unsigned decoders) {
  if (decoders == 1)
    return 0u;
  if (decoders >= 2 && decoders <= hdm_max_decoders && decoders % 2 == 0)
    return decoders / 2;
  return std::nullopt;
}

unsigned hdm_decode_decoder_count(unsigned field) { return field == 0 ? 1 : 2 * field; }

const char* to_string(HdmStatus s) {
  switch (s) {
  case HdmStatus::ok: return "ok";
  case HdmStatus::hdm_disabled: return "HDM decoding disabled";
  case HdmStatus::not_committed: return "decoder not committed";
  case HdmStatus::out_of_range: return "address outside every decoder";
  case HdmStatus::wrong_position: return "address belongs to another interleave way";
  }
  return "?";
}

HdmDecoder::HdmDecoder(const HdmDecoderConfig& cfg) : cfg_(cfg) {
  if (!hdm_encode_decoder_count(cfg.decoder_count))
    throw std::invalid_argument("HDM decoder count " + std::to_string(cfg.decoder_count) +
                                " cannot be encoded (1, 2, 4, ... 16)");
  if (cfg.capacity_bytes % hdm_granule_bytes != 0)
    throw std::invalid_argument("HDM capacity must be a multiple of 256 MiB");
  dec_.resize(cfg.decoder_count);
}

const HdmDecoder::Decoder& HdmDecoder::at(unsigned n) const {
  if (n >= dec_.size())
    throw std::out_of_range("HDM decoder " + std::to_string(n) + " does not exist");
  return dec_[n];
}

uint32_t HdmDecoder::capability_value() const {
  uint32_t v = *hdm_encode_decoder_count(cfg_.decoder_count); // 3:0; target count 7:4 = 0 (endpoint)
  v |= uint32_t(cfg_.interleave_a11_8) << 8;
  v |= uint32_t(cfg_.interleave_a14_12) << 9;
  v |= uint32_t(cfg_.poison_on_decode_error) << 10;
  v |= uint32_t(cfg_.ways_3_6_12) << 11;
  v |= uint32_t(cfg_.ways_16) << 12;
  return v; // UIO (13, 19:16), MemData-NXM (20), coherency model (22:21): 0
}

uint32_t HdmDecoder::read32(uint32_t offset) const {
  if (offset % 4 != 0)
    throw std::invalid_argument("HDM register access must be 4-byte aligned");
  if (offset == capability_offset)
    return capability_value();
  if (offset == global_control_offset)
    return global_ctrl_;
  if (offset < 0x10 || offset >= register_bytes())
    return 0;
  const Decoder& d = dec_[(offset - 0x10) / 0x20];
  switch ((offset - 0x10) % 0x20) {
  case 0x00: return d.base_lo;
  case 0x04: return d.base_hi;
  case 0x08: return d.size_lo;
  case 0x0C: return d.size_hi;
  case 0x10: return d.ctrl;
  case 0x14: return d.skip_lo;
  case 0x18: return d.skip_hi;
  default: return 0; // 0x1C reserved
  }
}

void HdmDecoder::write32(uint32_t offset, uint32_t value) {
  if (offset % 4 != 0)
    throw std::invalid_argument("HDM register access must be 4-byte aligned");
  if (offset == global_control_offset) {
    uint32_t mask = global_enable | (cfg_.poison_on_decode_error ? global_poison_on_error : 0);
    global_ctrl_ = value & mask;
    return;
  }
  if (offset < 0x10 || offset >= register_bytes())
    return; // capability register and reserved space are read-only
  unsigned n = (offset - 0x10) / 0x20;
  Decoder& d = dec_[n];
  uint32_t reg = (offset - 0x10) % 0x20;
  if (reg == 0x10) {
    write_control(n, value);
    return;
  }
  // Base, size and skip are frozen while committed: the decode uses the
  // latched values, and a lock-on-commit decoder must not change anyway.
  if (d.ctrl & ctrl_committed)
    return;
  switch (reg) {
  case 0x00: d.base_lo = value & low_addr_mask; break;
  case 0x04: d.base_hi = value; break;
  case 0x08: d.size_lo = value & low_addr_mask; break;
  case 0x0C: d.size_hi = value; break;
  case 0x14: d.skip_lo = value & low_addr_mask; break;
  case 0x18: d.skip_hi = value; break;
  default: break;
  }
}

void HdmDecoder::write_control(unsigned n, uint32_t value) {
  Decoder& d = dec_[n];
  bool committed = d.ctrl & ctrl_committed;
  if (committed && (d.ctrl & ctrl_lock_on_commit))
    return; // locked until reset
  bool was_commit = d.ctrl & ctrl_commit;
  bool commit = value & ctrl_commit;
  if (committed) {
    // Only clearing Commit has an effect on a committed decoder.
    if (!commit) {
      d.ctrl &= ~(ctrl_commit | ctrl_committed | ctrl_error_not_committed);
    }
    return;
  }
  d.ctrl = (d.ctrl & ~ctrl_rw_mask) | (value & ctrl_rw_mask);
  if (commit && !was_commit) {
    if (try_commit(n))
      d.ctrl = (d.ctrl | ctrl_committed) & ~ctrl_error_not_committed;
    else
      d.ctrl = (d.ctrl | ctrl_error_not_committed) & ~ctrl_committed;
  } else if (!commit) {
    d.ctrl &= ~(ctrl_committed | ctrl_error_not_committed);
  }
}

// The checks a device makes before it sets Committed; any failure sets
// Error Not Committed instead (CXL decoder commit flow, REFERENCE A.8).
bool HdmDecoder::try_commit(unsigned n) {
  Decoder& d = dec_[n];
  auto gran = hdm_granularity_bytes(d.ctrl & ctrl_ig_mask);
  auto ways = hdm_ways((d.ctrl >> ctrl_iw_shift) & 0xF);
  if (!gran || !ways)
    return false;
  if ((*ways == 3 || *ways == 6 || *ways == 12) && !cfg_.ways_3_6_12)
    return false;
  if (*ways == 16 && !cfg_.ways_16)
    return false;
  uint64_t base = join(d.base_hi, d.base_lo);
  uint64_t size = join(d.size_hi, d.size_lo);
  uint64_t skip = join(d.skip_hi, d.skip_lo);
  if (base >= hdm_max_hpa_bytes || size > hdm_max_hpa_bytes - base)
    return false; // the HPA range must fit in 52 bits, no wrap
  // Each way must receive a whole number of 256 MiB DPA granules.
  if (size % (uint64_t(*ways) * hdm_granule_bytes) != 0)
    return false;
  uint64_t dpa_prev_end = 0;
  if (n > 0) {
    // Decoders are committed in index order and in increasing HPA order.
    const Decoder& p = dec_[n - 1];
    if (!(p.ctrl & ctrl_committed) || base < p.base + p.size)
      return false;
    dpa_prev_end = p.dpa_end;
  }
  if (skip > cfg_.capacity_bytes || dpa_prev_end > cfg_.capacity_bytes - skip)
    return false;
  uint64_t dpa_start = dpa_prev_end + skip;
  uint64_t dpa_len = size / *ways;
  if (dpa_len > cfg_.capacity_bytes - dpa_start)
    return false; // would map DPA beyond the device capacity
  d.base = base;
  d.size = size;
  d.gran = *gran;
  d.ways = *ways;
  d.dpa_start = dpa_start;
  d.dpa_end = dpa_start + dpa_len;
  return true;
}

HdmTranslation HdmDecoder::translate(uint64_t hpa) const {
  HdmTranslation r;
  if (!enabled()) {
    r.status = HdmStatus::hdm_disabled;
    return r;
  }
  bool any_committed = false;
  for (unsigned n = 0; n < dec_.size(); ++n) {
    const Decoder& d = dec_[n];
    if (!(d.ctrl & ctrl_committed))
      continue;
    any_committed = true;
    if (hpa < d.base || hpa - d.base >= d.size)
      continue;
    uint64_t off = hpa - d.base;
    uint64_t chunk = off / d.gran;
    r.decoder = int(n);
    if (chunk % d.ways != d.position) {
      r.status = HdmStatus::wrong_position;
      return r;
    }
    r.dpa = d.dpa_start + (chunk / d.ways) * d.gran + off % d.gran;
    r.status = HdmStatus::ok;
    return r;
  }
  // Not decoded: say whether a programmed but uncommitted decoder covers it.
  for (unsigned n = 0; n < dec_.size(); ++n) {
    const Decoder& d = dec_[n];
    if (d.ctrl & ctrl_committed)
      continue;
    uint64_t base = join(d.base_hi, d.base_lo), size = join(d.size_hi, d.size_lo);
    if (hpa >= base && hpa - base < size) {
      r.decoder = int(n);
      r.status = HdmStatus::not_committed;
      return r;
    }
  }
  r.status = any_committed ? HdmStatus::out_of_range : HdmStatus::not_committed;
  return r;
}

void HdmDecoder::set_interleave_position(unsigned n, unsigned pos) {
  at(n);
  if (pos >= 16)
    throw std::out_of_range("interleave position must be below 16");
  dec_[n].position = pos;
}

unsigned HdmDecoder::interleave_position(unsigned n) const { return at(n).position; }

bool HdmDecoder::program(unsigned n, const HdmProgram& p, bool enable) {
  at(n);
  if (p.base % hdm_granule_bytes || p.size % hdm_granule_bytes || p.dpa_skip % hdm_granule_bytes)
    throw std::invalid_argument("HDM base, size and DPA skip must be 256 MiB aligned");
  if (p.ig > 0xF || p.iw > 0xF)
    throw std::invalid_argument("HDM IG/IW encodings are 4-bit fields");
  // Uncommit first (as a driver resetting a decoder would), then program.
  write32(control_offset(n), 0);
  write32(base_low_offset(n), uint32_t(p.base));
  write32(base_high_offset(n), uint32_t(p.base >> 32));
  write32(size_low_offset(n), uint32_t(p.size));
  write32(size_high_offset(n), uint32_t(p.size >> 32));
  write32(dpa_skip_low_offset(n), uint32_t(p.dpa_skip));
  write32(dpa_skip_high_offset(n), uint32_t(p.dpa_skip >> 32));
  uint32_t ctrl = (p.ig & ctrl_ig_mask) | ((p.iw & 0xF) << ctrl_iw_shift) | ctrl_commit;
  if (p.lock_on_commit)
    ctrl |= ctrl_lock_on_commit;
  if (p.host_only)
    ctrl |= ctrl_host_only;
  write32(control_offset(n), ctrl);
  if (enable)
    write32(global_control_offset, read32(global_control_offset) | global_enable);
  return committed(n);
}

bool HdmDecoder::committed(unsigned n) const { return at(n).ctrl & ctrl_committed; }
bool HdmDecoder::commit_error(unsigned n) const { return at(n).ctrl & ctrl_error_not_committed; }
bool HdmDecoder::locked(unsigned n) const {
  const Decoder& d = at(n);
  return (d.ctrl & ctrl_committed) && (d.ctrl & ctrl_lock_on_commit);
}
uint64_t HdmDecoder::dpa_base(unsigned n) const {
  const Decoder& d = at(n);
  return (d.ctrl & ctrl_committed) ? d.dpa_start : 0;
}
uint64_t HdmDecoder::dpa_bytes(unsigned n) const {
  const Decoder& d = at(n);
  return (d.ctrl & ctrl_committed) ? d.dpa_end - d.dpa_start : 0;
}

void HdmDecoder::reset() {
  global_ctrl_ = 0;
  for (Decoder& d : dec_) {
    unsigned pos = d.position; // topology knowledge, not a register
    d = Decoder{};
    d.position = pos;
  }
}

} // namespace pnm::cxl
