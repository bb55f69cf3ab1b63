#include "cxl_io_regs.h"

#include <algorithm>
#include <stdexcept>
#include <string>

namespace pnm::cxl {

namespace {
constexpr uint64_t mib256 = 256ull << 20;

// Device capability IDs and versions (REFERENCE B.1; versions as QEMU).
constexpr uint16_t cap_id_device_status = PNM_DEVCAP_ID_DEVICE_STATUS, cap_id_mailbox = PNM_DEVCAP_ID_PRIMARY_MAILBOX,
                   cap_id_memdev = PNM_DEVCAP_ID_MEMDEV;
// doorbells_ keeps a queue pair as two consecutive dwords, SQ tail first.
static_assert(PNM_DOORBELL_SQ_TAIL_OFF == 0 && PNM_DOORBELL_CQ_HEAD_OFF == 4 && PNM_DOORBELL_STRIDE_BYTES == 8,
              "doorbell pair layout");
constexpr uint32_t cap_headers_end_max = 0x10 + 0x10 * 4; // with the doorbell capability
constexpr uint32_t device_status_bytes = 8, memdev_status_bytes = 8, mbox_regs_bytes = 0x20;

// RAS valid bits (REFERENCE A.7).
constexpr uint32_t ras_unc_valid = 0x1CFFF; // 16:14, 11:0
constexpr uint32_t ras_cor_valid = 0x7F;    // 6:0
constexpr uint32_t ras_fep_none = 63;       // "no error" pointer, as QEMU (PCIe r6.0 6.2.4.2)

constexpr uint64_t mbox_cmd_mask = (1ull << 37) - 1; // opcode 15:0, length 36:16

uint64_t size_mask(unsigned size) { return size >= 8 ? ~0ull : (1ull << (8 * size)) - 1; }

bool in(uint64_t off, uint64_t base, uint64_t len) { return off >= base && off - base < len; }
} // namespace

const char* to_string(AccessResult r) {
  switch (r) {
  case AccessResult::ok: return "ok";
  case AccessResult::unaligned: return "unaligned";
  case AccessResult::bad_size: return "bad size";
  case AccessResult::unmapped: return "unmapped";
  }
  return "?";
}

namespace {
HdmDecoderConfig hdm_config(const CxlIoConfig& c) {
  HdmDecoderConfig h;
  h.decoder_count = c.hdm_decoder_count;
  h.capacity_bytes = c.capacity_bytes;
  return h;
}
} // namespace

CxlIoRegs::CxlIoRegs(const CxlIoConfig& cfg) : cfg_(cfg), hdm_(hdm_config(cfg)) {
  if (cfg_.capacity_bytes == 0 || cfg_.capacity_bytes % mib256 != 0)
    throw std::invalid_argument("CXL device capacity must be a non-zero multiple of 256 MiB");
  if (cfg_.mailbox_payload_log2 < 8 || cfg_.mailbox_payload_log2 > 20)
    throw std::invalid_argument("mailbox payload must be 2^8 .. 2^20 bytes");
  if (cfg_.link_gen < 1 || cfg_.link_gen > 6)
    throw std::invalid_argument("link_gen must be 1..6");
  if (cfg_.link_width == 0 || cfg_.link_width > 16 || (cfg_.link_width & (cfg_.link_width - 1)))
    throw std::invalid_argument("link_width must be 1, 2, 4, 8 or 16");
  if (cfg_.mailbox_irq_vector > 15)
    throw std::invalid_argument("mailbox interrupt message number is a 4-bit field");
  const uint32_t P = mailbox_payload_bytes();
  memdev_off_ = cfg_.memdev_status_offset ? cfg_.memdev_status_offset : cfg_.mailbox_offset + mbox_regs_bytes + P;
  struct Range {
    uint32_t off, len;
    const char* name;
  } r[3] = {{cfg_.device_status_offset, device_status_bytes, "device status"},
            {cfg_.mailbox_offset, mbox_regs_bytes + P, "mailbox"},
            {memdev_off_, memdev_status_bytes, "memory device status"}};
  for (const Range& a : r) {
    if (a.off % 8 != 0 || a.off < cap_headers_end_max)
      throw std::invalid_argument(std::string(a.name) + " registers must be 8-byte aligned, after 0x50");
    for (const Range& b : r)
      if (&a != &b && a.off < b.off + b.len && b.off < a.off + a.len)
        throw std::invalid_argument(std::string(a.name) + " registers overlap " + b.name);
  }
  if (cfg_.pnm_doorbell_queues) {
    if (cfg_.pnm_doorbell_queues > 1024 || cfg_.pnm_doorbell_offset % PNM_DOORBELL_ALIGN_BYTES != 0 ||
        cfg_.pnm_doorbell_offset < memdev_off_ + memdev_status_bytes)
      throw std::invalid_argument("PNM doorbells: at most 1024 queues, 4 KiB aligned, after the memory device status");
    cap_count_ = 4;
    doorbells_.assign(2 * cfg_.pnm_doorbell_queues, 0);
  }
  bar2_size_ = 0x1000;
  while (bar2_size_ < device_block_used_bytes())
    bar2_size_ <<= 1;
  reset();
}

void CxlIoRegs::reset() {
  cfg_img_.fill(0);
  cfg_wmask_.fill(0);
  init_config();
  hdm_.reset();
  ras_unc_status_ = ras_unc_mask_ = ras_unc_severity_ = 0;
  ras_cor_status_ = ras_cor_mask_ = ras_fep_ = 0;
  ras_header_log_.fill(0);
  event_status_ = 0;
  mbox_ctrl_ = 0;
  doorbell_ = false;
  mbox_cmd_ = mbox_status_ = mbox_bg_status_ = 0;
  bg_running_ = false;
  payload_.assign(mailbox_payload_bytes(), 0);
  std::fill(doorbells_.begin(), doorbells_.end(), 0u);
  media_ = MediaStatus::ready;
  mbox_ready_ = true;
  fatal_ = fw_halt_ = false;
  reset_needed_ = 0;
}

void CxlIoRegs::put8(uint32_t off, uint8_t v, uint8_t wmask) {
  cfg_img_[off] = v;
  cfg_wmask_[off] = wmask;
}
void CxlIoRegs::put16(uint32_t off, uint16_t v, uint16_t wmask) {
  put8(off, uint8_t(v), uint8_t(wmask));
  put8(off + 1, uint8_t(v >> 8), uint8_t(wmask >> 8));
}
void CxlIoRegs::put32(uint32_t off, uint32_t v, uint32_t wmask) {
  put16(off, uint16_t(v), uint16_t(wmask));
  put16(off + 2, uint16_t(v >> 16), uint16_t(wmask >> 16));
}

void CxlIoRegs::init_config() {
  // Type 0 header.
  put16(0x00, cfg_.vendor_id);
  put16(0x02, cfg_.device_id);
  put16(0x04, 0, 0x0546); // command: memory space 1, bus master 2, parity 6, SERR 8, INTx disable 10
  put16(0x06, 0x0010);    // status: capabilities list
  put8(0x08, cfg_.revision_id);
  put8(0x09, uint8_t(class_code));       // prog-if 0x10: CXL memory device
  put8(0x0A, uint8_t(class_code >> 8));  // subclass 0x02: CXL
  put8(0x0B, uint8_t(class_code >> 16)); // base class 0x05: memory controller
  put8(0x0C, 0, 0xFF);                   // cache line size
  put8(0x0E, 0x00);                      // header type 0, single function
  // BAR0 (component registers) and BAR2 (device registers): 64-bit,
  // non-prefetchable memory. Only the address bits above the size are
  // writable, so writing all ones reads back the size mask.
  put32(0x10, 0x4, uint32_t(~(uint64_t(component_block_bytes) - 1)) & 0xFFFFFFF0u);
  put32(0x14, 0, 0xFFFFFFFFu);
  put32(0x18, 0x4, uint32_t(~(bar2_size_ - 1)) & 0xFFFFFFF0u);
  put32(0x1C, 0, 0xFFFFFFFFu);
  put16(0x2C, cfg_.subsystem_vendor_id);
  put16(0x2E, cfg_.subsystem_id);
  put8(0x34, uint8_t(pcie_cap_offset));
  put8(0x3C, 0, 0xFF); // interrupt line; interrupt pin 0: no INTx

  // PCI Express capability (Linux pci_regs.h offsets), endpoint, version 2.
  const uint32_t p = pcie_cap_offset;
  const uint16_t speed = uint16_t(cfg_.link_gen), width = uint16_t(cfg_.link_width);
  put8(p + 0x00, 0x10);
  put8(p + 0x01, 0x00);                         // end of the capability list
  put16(p + 0x02, 0x0002);                      // version 2, type 0 (PCIe endpoint)
  put32(p + 0x04, 0x00000001);                  // device caps: max payload 256 B
  put16(p + 0x08, 0x2000, 0x7FFF);              // device control (no side effects modelled)
  put32(p + 0x0C, speed | (width << 4));        // link caps: max speed, max width
  put16(p + 0x10, 0, 0x0FFF);                   // link control (no side effects modelled)
  put16(p + 0x12, speed | (width << 4));        // link status: current speed, negotiated width
  put16(p + 0x28, 0, 0xFFFF);                   // device control 2
  put32(p + 0x2C, ((1u << speed) - 1) << 1);    // link caps 2: supported speeds vector
  put16(p + 0x30, speed, 0x000F);               // link control 2: target link speed
  put16(p + 0x32, cfg_.flit_256b ? 0x0400 : 0); // link status 2: bit 10 flit mode (256B flits)

  auto ext_header = [&](uint32_t off, uint32_t next, uint16_t rev, uint32_t len, uint16_t id) {
    put32(off, dvsec_cap_id | (1u << 16) | (next << 20));
    put32(off + 4, cxl_dvsec_vendor_id | (uint32_t(rev) << 16) | (len << 20));
    put16(off + 8, id);
  };

  // PCIe DVSEC for CXL Devices (REFERENCE A.3; values as QEMU's Type-3).
  const uint32_t d = dvsec_device_offset;
  ext_header(d, dvsec_regloc_offset, 3, dvsec_device_length, 0x0000);
  put16(d + 0x0A, 0x001E);         // IO, Mem_Capable, Mem HW init, HDM_Count = 1
  put16(d + 0x0C, 0x0002, 0x0004); // IO enable (RO 1), Mem_Enable RW
  const uint64_t cap = cfg_.capacity_bytes;
  put32(d + 0x18, uint32_t(cap >> 32));
  // Bits 7:2 as QEMU ((2<<5)|(2<<2): memory class / media type, meaning
  // unverified); bit 0 memory info valid, bit 1 memory active.
  put32(d + 0x1C, (2u << 5) | (2u << 2) | 0x3u | (uint32_t(cap) & 0xF0000000u));
  put32(d + 0x20, 0, 0xFFFFFFFFu);  // range 1 base high
  put32(d + 0x24, 0, 0xF0000000u);  // range 1 base low, 31:28

  // Register Locator DVSEC (REFERENCE A.4): component registers in BAR0
  // (BIR 0, block 1), device registers in BAR2 (BIR 2, block 3), offset 0.
  const uint32_t r = dvsec_regloc_offset;
  ext_header(r, dvsec_flexbus_offset, 0, dvsec_regloc_length, 0x0008);
  put32(r + 0x0C, 0u | (1u << 8));
  put32(r + 0x10, 0);
  put32(r + 0x14, 2u | (3u << 8));
  put32(r + 0x18, 0);

  // Flex Bus Port DVSEC (REFERENCE A.5, QEMU's Type-3 values).
  const uint32_t f = dvsec_flexbus_offset;
  ext_header(f, 0, 2, dvsec_flexbus_length, 0x0007);
  const uint16_t fb_cap = cfg_.flit_256b ? 0x06 : 0x26; // IO, mem (+ 68B flit capable)
  put16(f + 0x0A, fb_cap);
  put16(f + 0x0C, 0x0002); // control: IO enabled
  put16(f + 0x0E, fb_cap); // status: as the capabilities
}

uint64_t CxlIoRegs::space_bytes(RegSpace s) const {
  switch (s) {
  case RegSpace::config: return config_bytes;
  case RegSpace::component: return component_block_bytes;
  case RegSpace::device: return bar2_size_;
  }
  return 0;
}

AccessResult CxlIoRegs::check(RegSpace s, uint64_t offset, unsigned size) const {
  bool size_ok = false;
  switch (s) {
  case RegSpace::config: size_ok = size == 1 || size == 2 || size == 4; break;
  case RegSpace::component: size_ok = size == 4 || size == 8; break;
  case RegSpace::device: size_ok = size == 1 || size == 2 || size == 4 || size == 8; break;
  }
  if (!size_ok)
    return AccessResult::bad_size;
  if (offset >= space_bytes(s) || space_bytes(s) - offset < size)
    return AccessResult::unmapped;
  if (offset % size != 0)
    return AccessResult::unaligned;
  return AccessResult::ok;
}

AccessResult CxlIoRegs::read(RegSpace s, uint64_t offset, unsigned size, uint64_t& data) {
  AccessResult res = check(s, offset, size);
  if (res != AccessResult::ok) {
    data = size_mask(size == 0 ? 8 : size); // all ones, as the host would see
    return res;
  }
  const uint32_t off = uint32_t(offset);
  switch (s) {
  case RegSpace::config: data = config_read(off, size); break;
  case RegSpace::component:
    data = component_read32(off);
    if (size == 8)
      data |= uint64_t(component_read32(off + 4)) << 32;
    break;
  case RegSpace::device: data = (device_qword(off & ~7u) >> (8 * (off & 7))) & size_mask(size); break;
  }
  return AccessResult::ok;
}

AccessResult CxlIoRegs::write(RegSpace s, uint64_t offset, unsigned size, uint64_t data) {
  AccessResult res = check(s, offset, size);
  if (res != AccessResult::ok)
    return res;
  const uint32_t off = uint32_t(offset);
  data &= size_mask(size);
  switch (s) {
  case RegSpace::config: config_write(off, size, data); break;
  case RegSpace::component:
    // A qword write acts as one: the high dword goes first so that an HDM
    // decoder control register (always a low dword) commits with the DPA
    // skip written by the same access.
    if (size == 8)
      component_write32(off + 4, uint32_t(data >> 32));
    component_write32(off, uint32_t(data));
    break;
  case RegSpace::device: {
    unsigned sh = 8 * (off & 7);
    device_write(off & ~7u, data << sh, size_mask(size) << sh);
    break;
  }
  }
  return AccessResult::ok;
}

// ---- configuration space

uint64_t CxlIoRegs::config_read(uint32_t off, unsigned size) const {
  uint64_t v = 0;
  for (unsigned i = 0; i < size; ++i)
    v |= uint64_t(cfg_img_[off + i]) << (8 * i);
  return v;
}

void CxlIoRegs::config_write(uint32_t off, unsigned size, uint64_t v) {
  for (unsigned i = 0; i < size; ++i) {
    uint8_t m = cfg_wmask_[off + i];
    uint8_t b = uint8_t(v >> (8 * i));
    cfg_img_[off + i] = uint8_t((cfg_img_[off + i] & ~m) | (b & m));
  }
}

uint64_t CxlIoRegs::bar_base(unsigned bar) const {
  if (bar != 0 && bar != 2)
    throw std::out_of_range("only BAR0 and BAR2 are implemented");
  uint32_t o = 0x10 + 4 * bar;
  return (config_read(o, 4) & ~0xFull) | (config_read(o + 4, 4) << 32);
}

uint64_t CxlIoRegs::bar_size(unsigned bar) const {
  if (bar != 0 && bar != 2)
    throw std::out_of_range("only BAR0 and BAR2 are implemented");
  return bar == 0 ? component_block_bytes : bar2_size_;
}

std::optional<std::pair<RegSpace, uint64_t>> CxlIoRegs::decode_mmio(uint64_t addr) const {
  if (!(cfg_img_[0x04] & 0x02)) // Memory Space Enable
    return std::nullopt;
  for (unsigned bar : {0u, 2u}) {
    uint64_t base = bar_base(bar);
    if (in(addr, base, bar_size(bar)))
      return std::make_pair(bar == 0 ? RegSpace::component : RegSpace::device, addr - base);
  }
  return std::nullopt;
}

AccessResult CxlIoRegs::mmio_read(uint64_t addr, unsigned size, uint64_t& data) {
  auto t = decode_mmio(addr);
  if (!t) {
    data = size_mask(size == 0 || size > 8 ? 8 : size);
    return AccessResult::unmapped;
  }
  return read(t->first, t->second, size, data);
}

AccessResult CxlIoRegs::mmio_write(uint64_t addr, unsigned size, uint64_t data) {
  auto t = decode_mmio(addr);
  if (!t)
    return AccessResult::unmapped;
  return write(t->first, t->second, size, data);
}

// ---- component registers

uint32_t CxlIoRegs::component_read32(uint32_t off) const {
  if (off == cm_offset) // CXL Capability Header: ID 1, version 1, cache/mem version 1, 2 entries
    return 0x0001u | (1u << 16) | (1u << 20) | (2u << 24);
  if (off == cm_offset + 4)
    return 0x0002u | (ras_version << 16) | ((ras_offset - cm_offset) << 20);
  if (off == cm_offset + 8)
    return 0x0005u | (hdm_version << 16) | ((hdm_offset - cm_offset) << 20);
  if (in(off, ras_offset, ras_bytes)) {
    uint32_t r = off - ras_offset;
    switch (r) {
    case 0x00: return ras_unc_status_;
    case 0x04: return ras_unc_mask_;
    case 0x08: return ras_unc_severity_;
    case 0x0C: return ras_cor_status_;
    case 0x10: return ras_cor_mask_;
    case 0x14: return ras_fep_; // multiple header recording (9), poison enabled (13): not modelled
    default: return ras_header_log_[(r - 0x18) / 4];
    }
  }
  if (in(off, hdm_offset, hdm_.register_bytes()))
    return hdm_.read32(off - hdm_offset);
  return 0; // CXL.io range, unused CM space, implementation-specific and ARB/MUX: reserved
}

void CxlIoRegs::component_write32(uint32_t off, uint32_t v) {
  if (in(off, ras_offset, ras_bytes)) {
    switch (off - ras_offset) {
    case 0x00: // RW1C; the first error pointer moves on to what is left
    {
      const uint32_t old = ras_unc_status_;
      ras_unc_status_ &= ~(v & ras_unc_valid);
      const bool fep_cleared = ras_fep_ < 32 && (old & (1u << ras_fep_)) && !(ras_unc_status_ & (1u << ras_fep_));
      if (fep_cleared) {
        uint32_t pending = ras_unc_status_ & ~ras_unc_mask_;
        ras_fep_ = ras_fep_none;
        for (unsigned b = 0; b < 32; ++b)
          if (pending & (1u << b)) {
            ras_fep_ = b;
            break;
          }
      }
      break;
    }
    case 0x04: ras_unc_mask_ = v & ras_unc_valid; break;
    case 0x08: ras_unc_severity_ = v & ras_unc_valid; break;
    case 0x0C: ras_cor_status_ &= ~(v & ras_cor_valid); break;
    case 0x10: ras_cor_mask_ = v & ras_cor_valid; break;
    default: break; // capability/control and header log are read-only here
    }
    return;
  }
  if (in(off, hdm_offset, hdm_.register_bytes()))
    hdm_.write32(off - hdm_offset, v);
}

void CxlIoRegs::raise_uncorrectable(unsigned bit, const std::array<uint32_t, 16>& header_log) {
  if (bit >= 32 || !(ras_unc_valid & (1u << bit)))
    throw std::invalid_argument("not an uncorrectable error status bit: " + std::to_string(bit));
  bool first = (ras_unc_status_ & ~ras_unc_mask_) == 0;
  ras_unc_status_ |= 1u << bit;
  if (first && !(ras_unc_mask_ & (1u << bit))) {
    ras_fep_ = bit;
    ras_header_log_ = header_log;
  }
}

void CxlIoRegs::raise_correctable(unsigned bit) {
  if (bit >= 32 || !(ras_cor_valid & (1u << bit)))
    throw std::invalid_argument("not a correctable error status bit: " + std::to_string(bit));
  ras_cor_status_ |= 1u << bit;
}

// ---- device registers

uint64_t CxlIoRegs::memdev_status() const {
  return uint64_t(fatal_) | (uint64_t(fw_halt_) << 1) | (uint64_t(media_) << 2) |
         (uint64_t(mbox_ready_) << 4) | (uint64_t(reset_needed_) << 5);
}

uint64_t CxlIoRegs::device_qword(uint32_t off8) const {
  const uint32_t P = mailbox_payload_bytes();
  const uint32_t mb = cfg_.mailbox_offset;
  switch (off8) {
  case 0x00: return (1ull << 16) | (uint64_t(cap_count_) << 32); // cap ID 0, version 1, count
  case 0x10: return cap_id_device_status | (2ull << 16) | (uint64_t(cfg_.device_status_offset) << 32);
  case 0x18: return device_status_bytes;
  case 0x20: return cap_id_mailbox | (1ull << 16) | (uint64_t(mb) << 32);
  case 0x28: return mbox_regs_bytes + P;
  case 0x30: return cap_id_memdev | (1ull << 16) | (uint64_t(memdev_off_) << 32);
  case 0x38: return memdev_status_bytes;
  case 0x40:
    return cap_count_ > 3 ? pnm_doorbell_cap_id | (1ull << 16) | (uint64_t(cfg_.pnm_doorbell_offset) << 32) : 0;
  case 0x48: return cap_count_ > 3 ? uint64_t(doorbells_.size()) * 4 : 0;
  default: break;
  }
  if (!doorbells_.empty() && in(off8, cfg_.pnm_doorbell_offset, doorbells_.size() * 4)) {
    const uint32_t i = (off8 - cfg_.pnm_doorbell_offset) / 4;
    return doorbells_[i] | (uint64_t(doorbells_[i + 1]) << 32);
  }
  if (off8 == cfg_.device_status_offset)
    return event_status_;
  if (off8 == memdev_off_)
    return memdev_status();
  if (in(off8, mb, mbox_regs_bytes)) {
    switch (off8 - mb) {
    case mbox_caps: {
      uint64_t caps = cfg_.mailbox_payload_log2 | (uint32_t(cfg_.mailbox_doorbell_irq) << 5) |
                      (uint32_t(cfg_.mailbox_background_irq) << 6) | (uint32_t(cfg_.mailbox_irq_vector) << 7);
      uint64_t ctrl = mbox_ctrl_ | uint32_t(doorbell_);
      return caps | (ctrl << 32);
    }
    case mbox_command: return mbox_cmd_;
    case mbox_status: return mbox_status_;
    case mbox_bg_status: return mbox_bg_status_;
    }
  }
  if (in(off8, mb + mbox_payload, P)) {
    uint32_t i = off8 - (mb + mbox_payload);
    uint64_t v = 0;
    for (unsigned k = 0; k < 8; ++k)
      v |= uint64_t(payload_[i + k]) << (8 * k);
    return v;
  }
  return 0; // reserved
}

void CxlIoRegs::device_write(uint32_t off8, uint64_t v, uint64_t mask) {
  const uint32_t mb = cfg_.mailbox_offset;
  if (!doorbells_.empty() && in(off8, cfg_.pnm_doorbell_offset, doorbells_.size() * 4)) {
    // Doorbells are dword registers; a qword write rings both of a pair.
    const uint32_t first = (off8 - cfg_.pnm_doorbell_offset) / 4;
    for (unsigned half = 0; half < 2; ++half) {
      const uint32_t m = uint32_t(mask >> (32 * half)), val = uint32_t(v >> (32 * half));
      if (!m) continue;
      const uint32_t i = first + half;
      doorbells_[i] = ((doorbells_[i] & ~m) | (val & m)) & PNM_DOORBELL_VALUE_MASK;
      if (on_queue_doorbell) on_queue_doorbell(i / 2, i % 2 == 0, doorbells_[i]);
    }
    return;
  }
  if (off8 == mb + mbox_caps) {
    if (mask >> 32) // caps (low dword) are read-only; control is the high dword
      write_mailbox_control(uint32_t(v >> 32), uint32_t(mask >> 32));
    return;
  }
  if (doorbell_)
    return; // the host must not touch command or payload while the device owns them
  if (off8 == mb + mbox_command) {
    mbox_cmd_ = ((mbox_cmd_ & ~mask) | (v & mask)) & mbox_cmd_mask;
    return;
  }
  if (in(off8, mb + mbox_payload, mailbox_payload_bytes())) {
    uint32_t i = off8 - (mb + mbox_payload);
    for (unsigned k = 0; k < 8; ++k)
      if ((mask >> (8 * k)) & 0xFF)
        payload_[i + k] = uint8_t(v >> (8 * k));
  }
  // everything else in the device block is read-only or reserved
}

void CxlIoRegs::write_mailbox_control(uint32_t v, uint32_t mask) {
  uint32_t cur = mbox_ctrl_ | uint32_t(doorbell_);
  uint32_t nv = (cur & ~mask) | (v & mask);
  uint32_t enables = (cfg_.mailbox_doorbell_irq ? 0x2u : 0u) | (cfg_.mailbox_background_irq ? 0x4u : 0u);
  mbox_ctrl_ = nv & enables;
  // Only the host's 0 -> 1 sets the doorbell; only the device clears it. A
  // mailbox that is not ready ignores it.
  if ((mask & 1) && (v & 1) && !doorbell_ && mbox_ready_) {
    doorbell_ = true;
    if (on_doorbell)
      on_doorbell();
  }
}

MailboxCommand CxlIoRegs::take_command() const {
  if (!doorbell_)
    throw std::logic_error("mailbox: no command pending (doorbell clear)");
  MailboxCommand c;
  c.opcode = uint16_t(mbox_cmd_ & 0xFFFF);
  c.payload_length = uint32_t((mbox_cmd_ >> 16) & 0x1FFFFF);
  uint32_t n = std::min<uint32_t>(c.payload_length, mailbox_payload_bytes());
  c.payload.assign(payload_.begin(), payload_.begin() + n);
  return c;
}

void CxlIoRegs::post_result(uint16_t return_code, const std::vector<uint8_t>& out, uint16_t vendor_status) {
  if (!doorbell_)
    throw std::logic_error("mailbox: post_result with no command pending");
  if (out.size() > mailbox_payload_bytes())
    throw std::invalid_argument("mailbox: output of " + std::to_string(out.size()) +
                                " B exceeds the payload area");
  std::copy(out.begin(), out.end(), payload_.begin());
  mbox_cmd_ = (mbox_cmd_ & 0xFFFF) | (uint64_t(out.size()) << 16);
  mbox_status_ = uint64_t(bg_running_) | (uint64_t(return_code) << 32) | (uint64_t(vendor_status) << 48);
  doorbell_ = false; // last: the host may read everything once it sees this
  if ((mbox_ctrl_ & 0x2) && on_mailbox_interrupt)
    on_mailbox_interrupt();
}

void CxlIoRegs::post_background_started() {
  if (!doorbell_)
    throw std::logic_error("mailbox: background start with no command pending");
  if (bg_running_)
    throw std::logic_error("mailbox: a background command is already running");
  bg_running_ = true;
  mbox_bg_status_ = mbox_cmd_ & 0xFFFF; // opcode, 0 %
  post_result(mbox_rc_background_started, {});
}

void CxlIoRegs::update_background(uint8_t percent) {
  if (!bg_running_)
    throw std::logic_error("mailbox: no background command running");
  if (percent >= 100)
    throw std::invalid_argument("mailbox: use complete_background() for 100 %");
  mbox_bg_status_ = (mbox_bg_status_ & ~(0x7Full << 16)) | (uint64_t(percent) << 16);
}

void CxlIoRegs::complete_background(uint16_t return_code, uint16_t vendor_status) {
  if (!bg_running_)
    throw std::logic_error("mailbox: no background command running");
  mbox_bg_status_ = (mbox_bg_status_ & 0xFFFF) | (100ull << 16) | (uint64_t(return_code) << 32) |
                    (uint64_t(vendor_status) << 48);
  bg_running_ = false;
  mbox_status_ &= ~1ull;
  if ((mbox_ctrl_ & 0x4) && on_mailbox_interrupt)
    on_mailbox_interrupt();
}

void CxlIoRegs::set_media_status(MediaStatus m) { media_ = m; }
void CxlIoRegs::set_mailbox_ready(bool ready) { mbox_ready_ = ready; }
void CxlIoRegs::set_fatal(bool fatal) { fatal_ = fatal; }
void CxlIoRegs::set_fw_halt(bool halt) { fw_halt_ = halt; }
void CxlIoRegs::set_reset_needed(uint8_t code) {
  if (code > 4)
    throw std::invalid_argument("reset needed: 0 none, 1 cold, 2 warm, 3 hot, 4 CXL reset");
  reset_needed_ = code;
}
void CxlIoRegs::set_event_status(uint32_t logs) {
  if (logs & ~0xFu)
    throw std::invalid_argument("event status: only bits 0..3 (info, warning, failure, fatal)");
  event_status_ = logs;
}

} // namespace pnm::cxl
