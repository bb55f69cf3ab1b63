// CXL.io register file: offsets and fields against REFERENCE A/B tables
// (DVSEC headers, register locator entries, capability arrays, mailbox
// registers), access rules (sizes, alignment, unmapped, reserved, RO), BAR
// sizing and decode, the mailbox doorbell/command/result flow, background
// commands and RAS.
#include "cxl/cxl_io_regs.h"

#include <gtest/gtest.h>

#include <tuple>
#include <vector>

using namespace pnm::cxl;

namespace {
constexpr uint64_t GiB = 1ull << 30;

struct Regs {
  explicit Regs(CxlIoConfig c = {}) : r(c) {}
  uint64_t rd(RegSpace s, uint64_t off, unsigned size) {
    uint64_t v = 0;
    AccessResult res = r.read(s, off, size, v);
    EXPECT_EQ(res, AccessResult::ok) << "read at 0x" << std::hex << off;
    return v;
  }
  void wr(RegSpace s, uint64_t off, unsigned size, uint64_t v) {
    EXPECT_EQ(r.write(s, off, size, v), AccessResult::ok) << "write at 0x" << std::hex << off;
  }
  uint32_t cfg32(uint32_t off) { return uint32_t(rd(RegSpace::config, off, 4)); }
  uint16_t cfg16(uint32_t off) { return uint16_t(rd(RegSpace::config, off, 2)); }
  uint32_t comp32(uint32_t off) { return uint32_t(rd(RegSpace::component, off, 4)); }
  uint32_t dev32(uint32_t off) { return uint32_t(rd(RegSpace::device, off, 4)); }
  uint64_t dev64(uint32_t off) { return rd(RegSpace::device, off, 8); }
  CxlIoRegs r;
};

struct Dvsec {
  uint32_t offset;
  uint16_t cap_id;
  unsigned cap_version;
  uint16_t vendor;
  unsigned revision, length;
  uint16_t id;
};

// Walks the PCIe extended capability list from 0x100, as software does.
std::vector<Dvsec> walk_ext_caps(Regs& t) {
  std::vector<Dvsec> out;
  uint32_t off = 0x100;
  while (off && out.size() < 16) {
    uint32_t h = t.cfg32(off), h1 = t.cfg32(off + 4);
    out.push_back({off, uint16_t(h & 0xFFFF), (h >> 16) & 0xF, uint16_t(h1 & 0xFFFF), (h1 >> 16) & 0xF,
                   h1 >> 20, t.cfg16(off + 8)});
    off = h >> 20;
  }
  return out;
}

// Host side of the mailbox: the Linux sequence of REFERENCE B.3.
void host_submit(Regs& t, uint16_t opcode, const std::vector<uint8_t>& in) {
  const uint32_t mb = t.r.config().mailbox_offset;
  ASSERT_EQ(t.dev32(mb + 4) & 1, 0u) << "doorbell must be clear";
  t.wr(RegSpace::device, mb + 8, 8, opcode | (uint64_t(in.size()) << 16));
  for (size_t i = 0; i < in.size(); ++i)
    t.wr(RegSpace::device, mb + 0x20 + i, 1, in[i]);
  t.wr(RegSpace::device, mb + 4, 4, t.dev32(mb + 4) | 1); // keep the interrupt enables
}
} // namespace

// ---------------------------------------------------------------------------
// Configuration space

TEST(cxlConfigSpace, HeaderIdentity) {
  CxlIoConfig c;
  c.vendor_id = 0x1AB4;
  c.device_id = 0x0C01;
  c.revision_id = 7;
  c.subsystem_vendor_id = 0x1AB4;
  c.subsystem_id = 0x0001;
  Regs t(c);
  EXPECT_EQ(t.cfg32(0x00), 0x0C011AB4u);
  EXPECT_EQ(t.cfg32(0x08), (0x050210u << 8) | 7); // class code 0x050210 + revision
  EXPECT_EQ(t.rd(RegSpace::config, 0x09, 1), 0x10u); // prog-if: CXL memory device
  EXPECT_EQ(t.rd(RegSpace::config, 0x0E, 1), 0x00u); // header type 0
  EXPECT_EQ(t.cfg16(0x06) & 0x10, 0x10u);             // capabilities list
  EXPECT_EQ(t.rd(RegSpace::config, 0x34, 1), 0x40u);
  EXPECT_EQ(t.rd(RegSpace::config, 0x3D, 1), 0x00u); // no INTx
  EXPECT_EQ(t.cfg32(0x2C), 0x00011AB4u);
  // Defaults: QEMU's cxl-type3 identity.
  Regs q;
  EXPECT_EQ(q.cfg32(0x00), 0x0D938086u);
}

TEST(cxlConfigSpace, ReadOnlyAndReservedIgnoreWrites) {
  Regs t;
  const uint32_t ro[] = {0x00, 0x08, 0x0C & ~3u, 0x2C, 0x34, 0x100, 0x104, 0x13C, 0x148, 0x158};
  for (uint32_t off : ro) {
    uint32_t before = t.cfg32(off);
    uint32_t mask_rw = off == 0x0C ? 0xFFu : 0u; // cache line size is RW
    t.wr(RegSpace::config, off, 4, 0xA5A5A5A5);
    EXPECT_EQ(t.cfg32(off) & ~mask_rw, before & ~mask_rw) << std::hex << off;
  }
  for (uint32_t off : {0x200u, 0x800u, 0xFFCu, 0x28u, 0x30u, 0x20u, 0x24u}) { // reserved / unimplemented BARs
    t.wr(RegSpace::config, off, 4, 0xFFFFFFFF);
    EXPECT_EQ(t.cfg32(off), 0u) << std::hex << off;
  }
  // Command: only the implemented enables are writable.
  t.wr(RegSpace::config, 0x04, 2, 0xFFFF);
  EXPECT_EQ(t.cfg16(0x04), 0x0546u);
}

TEST(cxlConfigSpace, AccessRules) {
  Regs t;
  uint64_t v = 0;
  EXPECT_EQ(t.r.read(RegSpace::config, 0x00, 8, v), AccessResult::bad_size);
  EXPECT_EQ(v, ~0ull);
  EXPECT_EQ(t.r.read(RegSpace::config, 0x00, 3, v), AccessResult::bad_size);
  EXPECT_EQ(t.r.read(RegSpace::config, 0x02, 4, v), AccessResult::unaligned);
  EXPECT_EQ(v, 0xFFFFFFFFu);
  EXPECT_EQ(t.r.read(RegSpace::config, 0x01, 2, v), AccessResult::unaligned);
  EXPECT_EQ(t.r.read(RegSpace::config, 0x1000, 4, v), AccessResult::unmapped);
  EXPECT_EQ(v, 0xFFFFFFFFu);
  EXPECT_EQ(t.r.write(RegSpace::config, 0x06, 4, 0), AccessResult::unaligned);
  EXPECT_EQ(t.r.write(RegSpace::config, 0x1000, 1, 0), AccessResult::unmapped);
  // Sub-dword reads of a dword register see its bytes.
  EXPECT_EQ(t.rd(RegSpace::config, 0x00, 1), 0x86u);
  EXPECT_EQ(t.rd(RegSpace::config, 0x01, 1), 0x80u);
  EXPECT_EQ(t.rd(RegSpace::config, 0x02, 2), 0x0D93u);
}

TEST(cxlConfigSpace, BarSizingAndDecode) {
  Regs t;
  EXPECT_EQ(t.cfg32(0x10), 0x4u); // 64-bit memory BAR, not prefetchable
  t.wr(RegSpace::config, 0x10, 4, 0xFFFFFFFF);
  t.wr(RegSpace::config, 0x14, 4, 0xFFFFFFFF);
  EXPECT_EQ(t.cfg32(0x10), 0xFFFF0004u); // 64 KiB component block
  EXPECT_EQ(t.cfg32(0x14), 0xFFFFFFFFu);
  t.wr(RegSpace::config, 0x18, 4, 0xFFFFFFFF);
  EXPECT_EQ(t.cfg32(0x18), 0xFFFFF004u); // 4 KiB device block (QEMU layout ends at 0x8B0)
  EXPECT_EQ(t.r.bar_size(2), 0x1000u);
  EXPECT_EQ(t.r.device_block_used_bytes(), 0x8B0u);
  // Program: BAR0 at 0x2_0000_0000, BAR2 at 0x2_0001_0000 (low bits below the size read 0).
  t.wr(RegSpace::config, 0x10, 4, 0x00001234);
  t.wr(RegSpace::config, 0x14, 4, 0x2);
  t.wr(RegSpace::config, 0x18, 4, 0x00010000);
  t.wr(RegSpace::config, 0x1C, 4, 0x2);
  EXPECT_EQ(t.cfg32(0x10), 0x4u);
  EXPECT_EQ(t.r.bar_base(0), 0x200000000u);
  EXPECT_EQ(t.r.bar_base(2), 0x200010000u);
  uint64_t v = 0;
  // Memory Space Enable clear: nothing decodes.
  EXPECT_EQ(t.r.mmio_read(0x200001000, 4, v), AccessResult::unmapped);
  EXPECT_EQ(v, 0xFFFFFFFFu);
  t.wr(RegSpace::config, 0x04, 2, 0x0002);
  ASSERT_EQ(t.r.mmio_read(0x200001000, 4, v), AccessResult::ok);
  EXPECT_EQ(v & 0xFFFF, 0x0001u); // CXL capability header
  ASSERT_EQ(t.r.mmio_read(0x200010000, 8, v), AccessResult::ok);
  EXPECT_EQ(v >> 32, 3u); // device capability count
  EXPECT_EQ(t.r.mmio_read(0x200011000, 4, v), AccessResult::unmapped); // past BAR2
  EXPECT_EQ(t.r.mmio_read(0x1FFFFFFFC, 4, v), AccessResult::unmapped);
  EXPECT_EQ(t.r.mmio_write(0x300000000, 4, 0), AccessResult::unmapped);
  auto where = t.r.decode_mmio(0x200010088);
  ASSERT_TRUE(where);
  EXPECT_EQ(where->first, RegSpace::device);
  EXPECT_EQ(where->second, 0x88u);
  // A larger payload grows BAR2 to the next power of two.
  CxlIoConfig big;
  big.mailbox_payload_log2 = 20;
  Regs b(big);
  EXPECT_EQ(b.r.bar_size(2), 2u << 20);
  b.wr(RegSpace::config, 0x18, 4, 0xFFFFFFFF);
  EXPECT_EQ(b.cfg32(0x18), 0xFFE00004u);
}

TEST(cxlConfigSpace, PcieCapabilityReportsLink) {
  CxlIoConfig c;
  c.link_gen = 6;
  c.link_width = 8;
  c.flit_256b = true;
  Regs t(c);
  EXPECT_EQ(t.rd(RegSpace::config, 0x40, 1), 0x10u);
  EXPECT_EQ(t.rd(RegSpace::config, 0x41, 1), 0x00u);
  EXPECT_EQ(t.cfg16(0x42) & 0xF, 2u);         // version 2
  EXPECT_EQ((t.cfg16(0x42) >> 4) & 0xF, 0u);  // PCIe endpoint
  EXPECT_EQ(t.cfg32(0x4C) & 0xF, 6u);         // max link speed 64 GT/s
  EXPECT_EQ((t.cfg32(0x4C) >> 4) & 0x3F, 8u); // max width
  EXPECT_EQ(t.cfg16(0x52), 6u | (8u << 4));   // link status
  EXPECT_EQ(t.cfg32(0x6C), 0x7Eu);            // 2.5 .. 64 GT/s supported
  EXPECT_EQ(t.cfg16(0x72) & 0x0400, 0x0400u); // Link Status 2 flit mode (Linux cxl_pci_flit_256)
  Regs g5;
  EXPECT_EQ(g5.cfg16(0x72) & 0x0400, 0u);
  EXPECT_EQ(g5.cfg32(0x6C), 0x3Eu);
}

TEST(cxlDvsec, ExtendedCapabilityChain) {
  Regs t;
  auto caps = walk_ext_caps(t);
  ASSERT_EQ(caps.size(), 3u);
  const uint16_t ids[] = {0, 8, 7};
  const unsigned revs[] = {3, 0, 2}, lens[] = {0x3C, 0x1C, 0x20};
  const uint32_t offs[] = {0x100, 0x13C, 0x158};
  for (int i = 0; i < 3; ++i) {
    EXPECT_EQ(caps[i].offset, offs[i]);
    EXPECT_EQ(caps[i].cap_id, 0x0023u); // DVSEC
    EXPECT_EQ(caps[i].cap_version, 1u);
    EXPECT_EQ(caps[i].vendor, 0x1E98u); // CXL
    EXPECT_EQ(caps[i].id, ids[i]);
    EXPECT_EQ(caps[i].revision, revs[i]);
    EXPECT_EQ(caps[i].length, lens[i]);
  }
}

TEST(cxlDvsec, CxlDeviceFieldsAndRanges) {
  CxlIoConfig c;
  c.capacity_bytes = 0x150000000; // 5.25 GiB: size high 1, size low 31:28 = 5
  Regs t(c);
  const uint32_t d = CxlIoRegs::dvsec_device_offset;
  uint16_t cap = t.cfg16(d + 0x0A);
  EXPECT_EQ(cap, 0x001Eu);
  EXPECT_TRUE(cap & (1u << 2));      // Mem_Capable
  EXPECT_EQ((cap >> 4) & 3, 1u);     // HDM_Count
  EXPECT_EQ(t.cfg16(d + 0x0C), 0x0002u);
  t.wr(RegSpace::config, d + 0x0C, 2, 0xFFFF);
  EXPECT_EQ(t.cfg16(d + 0x0C), 0x0006u); // only Mem_Enable is writable
  EXPECT_EQ(t.cfg32(d + 0x18), 1u);     // range 1 size high
  uint32_t lo = t.cfg32(d + 0x1C);
  EXPECT_EQ(lo >> 28, 5u);
  EXPECT_EQ(lo & 1, 1u);      // memory info valid
  EXPECT_EQ((lo >> 1) & 1, 1u); // memory active
  t.wr(RegSpace::config, d + 0x1C, 4, 0);
  EXPECT_EQ(t.cfg32(d + 0x1C), lo); // RO
  // Range 1 base is RW (31:28 of the low register).
  t.wr(RegSpace::config, d + 0x24, 4, 0xFFFFFFFF);
  t.wr(RegSpace::config, d + 0x20, 4, 0x12);
  EXPECT_EQ(t.cfg32(d + 0x24), 0xF0000000u);
  EXPECT_EQ(t.cfg32(d + 0x20), 0x12u);
  for (uint32_t off = d + 0x28; off < d + 0x3C; off += 4)
    EXPECT_EQ(t.cfg32(off), 0u) << "range 2 / capability3 " << std::hex << off;
}

TEST(cxlDvsec, RegisterLocatorEntries) {
  Regs t;
  const uint32_t r = CxlIoRegs::dvsec_regloc_offset;
  uint32_t len = t.cfg32(r + 4) >> 20;
  ASSERT_EQ((len - 0x0C) / 8, 2u); // Linux: (length - first entry offset) / 8
  uint32_t e0 = t.cfg32(r + 0x0C), e1 = t.cfg32(r + 0x14);
  EXPECT_EQ(e0 & 7, 0u);           // BIR 0: BAR at 0x10
  EXPECT_EQ((e0 >> 8) & 0xFF, 1u); // component registers
  EXPECT_EQ(e0 >> 16, 0u);         // offset 31:16
  EXPECT_EQ(t.cfg32(r + 0x10), 0u);
  EXPECT_EQ(e1 & 7, 2u);           // BIR 2: BAR at 0x18
  EXPECT_EQ((e1 >> 8) & 0xFF, 3u); // memory device registers
  EXPECT_EQ(e1 >> 16, 0u);
  EXPECT_EQ(t.cfg32(r + 0x18), 0u);
}

TEST(cxlDvsec, FlexBusPort) {
  Regs t;
  const uint32_t f = CxlIoRegs::dvsec_flexbus_offset;
  EXPECT_EQ(t.cfg16(f + 0x0A), 0x26u); // 68B flit capable, IO, mem
  EXPECT_EQ(t.cfg16(f + 0x0C), 0x02u);
  EXPECT_EQ(t.cfg16(f + 0x0E), 0x26u);
  CxlIoConfig c;
  c.flit_256b = true;
  Regs u(c);
  EXPECT_EQ(u.cfg16(f + 0x0A), 0x06u);
}

// ---------------------------------------------------------------------------
// Component registers

TEST(cxlComponent, CapabilityArrayPointsAtRasAndHdm) {
  Regs t;
  uint32_t h = t.comp32(0x1000);
  EXPECT_EQ(h & 0xFFFF, 0x1u);        // CXL capability header
  EXPECT_EQ((h >> 16) & 0xF, 1u);     // version
  EXPECT_EQ((h >> 20) & 0xF, 1u);     // CXL.cache/mem version
  const unsigned n = h >> 24;
  ASSERT_EQ(n, 2u);
  uint32_t ras = 0, hdm = 0;
  for (unsigned i = 1; i <= n; ++i) {
    uint32_t e = t.comp32(0x1000 + 4 * i);
    if ((e & 0xFFFF) == 0x2) {
      ras = 0x1000 + (e >> 20);
      EXPECT_EQ((e >> 16) & 0xF, 3u);
    }
    if ((e & 0xFFFF) == 0x5) {
      hdm = 0x1000 + (e >> 20);
      EXPECT_EQ((e >> 16) & 0xF, 3u);
    }
  }
  EXPECT_EQ(ras, CxlIoRegs::ras_offset);
  EXPECT_EQ(hdm, CxlIoRegs::hdm_offset);
  EXPECT_EQ(t.comp32(hdm), t.r.hdm().read32(0)); // HDM capability register
  EXPECT_EQ(t.comp32(hdm) & 0xF, 0u);            // 1 decoder
}

TEST(cxlComponent, ProgramHdmDecoderThroughMmio) {
  CxlIoConfig c;
  c.capacity_bytes = 4 * GiB;
  c.hdm_decoder_count = 2;
  Regs t(c);
  const uint32_t h = CxlIoRegs::hdm_offset;
  t.wr(RegSpace::component, h + 0x10, 8, 0x0000000100000000ull); // base 4 GiB (low+high in one qword)
  t.wr(RegSpace::component, h + 0x18, 4, 0x80000000);            // size 2 GiB
  t.wr(RegSpace::component, h + 0x1C, 4, 0);
  t.wr(RegSpace::component, h + 0x20, 4, (1u << 4) | (1u << 9) | (1u << 12)); // 2-way, commit, host-only
  t.wr(RegSpace::component, h + 0x04, 4, 0x2);                                 // HDM enable
  EXPECT_TRUE(t.comp32(h + 0x20) & (1u << 10));                                // committed
  EXPECT_EQ(t.rd(RegSpace::component, h + 0x10, 8), 0x0000000100000000ull);
  t.r.hdm().set_interleave_position(0, 1);
  HdmTranslation x = t.r.hdm().translate(4 * GiB + 256 + 5);
  ASSERT_TRUE(x.ok());
  EXPECT_EQ(x.dpa, 5u);
}

TEST(cxlComponent, QwordWriteCommitsWithTheSkipItCarries) {
  // Control (low dword) and DPA skip low (high dword) in one 64-bit write:
  // the decoder commits with the new skip.
  CxlIoConfig c;
  c.capacity_bytes = 4 * GiB;
  Regs t(c);
  const uint32_t h = CxlIoRegs::hdm_offset;
  t.wr(RegSpace::component, h + 0x18, 8, GiB);                           // size 1 GiB, base 0
  t.wr(RegSpace::component, h + 0x20, 8, (uint64_t(0x40000000) << 32) | (1u << 9)); // skip 1 GiB + commit
  t.wr(RegSpace::component, h + 0x04, 4, 0x2);
  ASSERT_TRUE(t.r.hdm().committed(0));
  EXPECT_EQ(t.r.hdm().dpa_base(0), GiB);
  EXPECT_EQ(t.r.hdm().translate(0x80).dpa, GiB + 0x80);
}

TEST(cxlComponent, RasStatusMaskAndFirstErrorPointer) {
  Regs t;
  const uint32_t r = CxlIoRegs::ras_offset;
  std::array<uint32_t, 16> log{};
  log[0] = 0xDEADBEEF;
  t.r.raise_uncorrectable(10, log); // poison received
  t.r.raise_uncorrectable(4);       // mem data parity
  EXPECT_EQ(t.comp32(r + 0x00), (1u << 10) | (1u << 4));
  EXPECT_EQ(t.comp32(r + 0x14) & 0x3F, 10u);
  EXPECT_EQ(t.comp32(r + 0x18), 0xDEADBEEFu);
  t.wr(RegSpace::component, r + 0x14, 4, 0xFFFFFFFF); // RO here
  EXPECT_EQ(t.comp32(r + 0x14), 10u);
  t.wr(RegSpace::component, r + 0x18, 4, 0); // header log is RO
  EXPECT_EQ(t.comp32(r + 0x18), 0xDEADBEEFu);
  t.wr(RegSpace::component, r + 0x00, 4, 1u << 10); // RW1C the first error
  EXPECT_EQ(t.comp32(r + 0x00), 1u << 4);
  EXPECT_EQ(t.comp32(r + 0x14) & 0x3F, 4u);
  t.wr(RegSpace::component, r + 0x00, 4, 0xFFFFFFFF);
  EXPECT_EQ(t.comp32(r + 0x00), 0u);
  EXPECT_EQ(t.comp32(r + 0x14) & 0x3F, 63u); // nothing pending
  t.wr(RegSpace::component, r + 0x04, 4, 0xFFFFFFFF);
  EXPECT_EQ(t.comp32(r + 0x04), 0x1CFFFu); // valid bits 16:14, 11:0
  t.wr(RegSpace::component, r + 0x08, 4, 0xFFFFFFFF);
  EXPECT_EQ(t.comp32(r + 0x08), 0x1CFFFu);
  t.r.raise_correctable(5);
  EXPECT_EQ(t.comp32(r + 0x0C), 1u << 5);
  t.wr(RegSpace::component, r + 0x0C, 4, 1u << 5);
  EXPECT_EQ(t.comp32(r + 0x0C), 0u);
  t.wr(RegSpace::component, r + 0x10, 4, 0xFFFFFFFF);
  EXPECT_EQ(t.comp32(r + 0x10), 0x7Fu);
  EXPECT_THROW(t.r.raise_uncorrectable(12), std::invalid_argument); // reserved bit
  EXPECT_THROW(t.r.raise_correctable(7), std::invalid_argument);
}

TEST(cxlComponent, AccessRulesAndReservedSpace) {
  Regs t;
  uint64_t v = 0;
  EXPECT_EQ(t.r.read(RegSpace::component, 0x1000, 2, v), AccessResult::bad_size);
  EXPECT_EQ(v, 0xFFFFu);
  EXPECT_EQ(t.r.read(RegSpace::component, 0x1000, 1, v), AccessResult::bad_size);
  EXPECT_EQ(t.r.read(RegSpace::component, 0x1002, 4, v), AccessResult::unaligned);
  EXPECT_EQ(t.r.read(RegSpace::component, 0x1004, 8, v), AccessResult::unaligned);
  EXPECT_EQ(t.r.read(RegSpace::component, 0x10000, 4, v), AccessResult::unmapped);
  EXPECT_EQ(v, 0xFFFFFFFFu);
  EXPECT_EQ(t.r.read(RegSpace::component, 0xFFFC, 8, v), AccessResult::unmapped); // crosses the end
  for (uint32_t off : {0x0000u, 0x0FFCu, 0x1040u, 0x2000u, 0xE000u, 0xFFFCu}) {
    t.wr(RegSpace::component, off, 4, 0xFFFFFFFF);
    EXPECT_EQ(t.comp32(off), 0u) << std::hex << off;
  }
  uint32_t hdr = t.comp32(0x1000);
  t.wr(RegSpace::component, 0x1000, 4, 0);
  EXPECT_EQ(t.comp32(0x1000), hdr);
}

// ---------------------------------------------------------------------------
// Device registers

TEST(cxlDevice, CapabilityArrayAndHeaders) {
  Regs t;
  uint64_t arr = t.dev64(0x00);
  EXPECT_EQ(arr & 0xFFFF, 0u);        // capability ID 0
  EXPECT_EQ((arr >> 16) & 0xFF, 1u);  // version
  EXPECT_EQ((arr >> 32) & 0xFFFF, 3u);
  EXPECT_EQ(t.dev64(0x08), 0u); // upper half of the 128-bit register: reserved
  struct Cap {
    uint16_t id;
    unsigned version;
    uint32_t offset, length;
  };
  const Cap expect[] = {{0x0001, 2, 0x80, 0x8}, {0x0002, 1, 0x88, 0x820}, {0x4000, 1, 0x8A8, 0x8}};
  for (unsigned k = 0; k < 3; ++k) { // Linux: base + 0x10 * (k + 1)
    uint32_t h = 0x10 + 0x10 * k;
    EXPECT_EQ(t.dev32(h) & 0xFFFF, expect[k].id);
    EXPECT_EQ((t.dev32(h) >> 16) & 0xFF, expect[k].version);
    EXPECT_EQ(t.dev32(h + 4), expect[k].offset);
    EXPECT_EQ(t.dev32(h + 8), expect[k].length);
    EXPECT_EQ(t.dev32(h + 12), 0u);
  }
}

TEST(cxlDevice, StatusRegisters) {
  Regs t;
  EXPECT_EQ(t.dev64(0x8A8), 0x14u); // media ready (3:2 = 1), mailbox ready (bit 4)
  t.r.set_media_status(MediaStatus::disabled);
  t.r.set_fatal(true);
  t.r.set_fw_halt(true);
  t.r.set_reset_needed(4);
  EXPECT_EQ(t.dev64(0x8A8), 0x1u | 0x2u | (3u << 2) | (1u << 4) | (4u << 5));
  t.r.set_mailbox_ready(false);
  EXPECT_EQ((t.dev64(0x8A8) >> 4) & 1, 0u);
  EXPECT_THROW(t.r.set_reset_needed(5), std::invalid_argument);
  EXPECT_EQ(t.dev64(0x80), 0u);
  t.r.set_event_status(0b1010); // warning + fatal
  EXPECT_EQ(t.dev64(0x80), 0b1010u);
  t.wr(RegSpace::device, 0x80, 8, 0); // RO to the host
  EXPECT_EQ(t.dev64(0x80), 0b1010u);
  EXPECT_THROW(t.r.set_event_status(0x10), std::invalid_argument);
}

TEST(cxlDevice, MailboxRegisterFields) {
  CxlIoConfig c;
  c.mailbox_doorbell_irq = true;
  c.mailbox_irq_vector = 5;
  Regs t(c);
  uint32_t caps = t.dev32(0x88);
  EXPECT_EQ(caps & 0x1F, 11u);      // 2 KiB payload
  EXPECT_EQ((caps >> 5) & 1, 1u);   // doorbell interrupt capable
  EXPECT_EQ((caps >> 6) & 1, 0u);   // background interrupt not capable
  EXPECT_EQ((caps >> 7) & 0xF, 5u); // message number
  t.wr(RegSpace::device, 0x88, 4, 0); // RO
  EXPECT_EQ(t.dev32(0x88), caps);
  // Control: doorbell interrupt enable writable, background enable RO 0.
  t.wr(RegSpace::device, 0x8C, 4, 0x6);
  EXPECT_EQ(t.dev32(0x8C), 0x2u);
  // Command: opcode 15:0, payload length 36:16 (21 bits); above is reserved.
  t.wr(RegSpace::device, 0x90, 8, ~0ull);
  EXPECT_EQ(t.dev64(0x90), (1ull << 37) - 1);
  // Status and background status are RO to the host.
  t.wr(RegSpace::device, 0x98, 8, ~0ull);
  t.wr(RegSpace::device, 0xA0, 8, ~0ull);
  EXPECT_EQ(t.dev64(0x98), 0u);
  EXPECT_EQ(t.dev64(0xA0), 0u);
  EXPECT_EQ(t.r.mailbox_payload_bytes(), 2048u);
}

TEST(cxlDevice, DoorbellCommandResultFlow) {
  Regs t;
  int rings = 0, irqs = 0;
  t.r.on_doorbell = [&] { ++rings; };
  t.r.on_mailbox_interrupt = [&] { ++irqs; };
  host_submit(t, 0x4000, {1, 2, 3, 4, 5, 6, 7, 8});
  EXPECT_EQ(rings, 1);
  EXPECT_TRUE(t.r.doorbell());
  EXPECT_EQ(t.dev32(0x8C) & 1, 1u);
  // The host must not touch command/payload now: the device ignores it.
  t.wr(RegSpace::device, 0x90, 8, 0xFFFF);
  t.wr(RegSpace::device, 0xA8, 1, 0xEE);
  t.wr(RegSpace::device, 0x8C, 4, 1); // doorbell already set: no second ring
  t.wr(RegSpace::device, 0x8C, 4, 0); // the host cannot clear it either
  EXPECT_EQ(rings, 1);
  EXPECT_TRUE(t.r.doorbell());
  MailboxCommand cmd = t.r.take_command();
  EXPECT_EQ(cmd.opcode, 0x4000u);
  EXPECT_EQ(cmd.payload_length, 8u);
  EXPECT_EQ(cmd.payload, (std::vector<uint8_t>{1, 2, 3, 4, 5, 6, 7, 8}));
  // Firmware answers with 0x43 bytes (Identify Memory Device, CXL 2.0 size).
  std::vector<uint8_t> out(0x43);
  for (size_t i = 0; i < out.size(); ++i)
    out[i] = uint8_t(0x80 + i);
  t.r.post_result(mbox_rc_success, out);
  EXPECT_FALSE(t.r.doorbell());
  EXPECT_EQ(t.dev32(0x8C) & 1, 0u);
  EXPECT_EQ(irqs, 0); // interrupts not capable/enabled
  uint64_t status = t.dev64(0x98);
  EXPECT_EQ((status >> 32) & 0xFFFF, 0u); // return code
  EXPECT_EQ(status & 1, 0u);
  uint64_t command = t.dev64(0x90);
  EXPECT_EQ(command & 0xFFFF, 0x4000u);
  EXPECT_EQ((command >> 16) & 0x1FFFFF, 0x43u); // output length
  for (size_t i = 0; i < out.size(); ++i)
    ASSERT_EQ(t.rd(RegSpace::device, 0xA8 + i, 1), out[i]) << i;
  EXPECT_EQ(t.dev32(0xA8), 0x83828180u);
  // An error return code.
  host_submit(t, 0x4300, {});
  t.r.post_result(0x0002, {}, 0x1234); // Invalid Input, vendor status
  EXPECT_EQ((t.dev64(0x98) >> 32) & 0xFFFF, 2u);
  EXPECT_EQ(t.dev64(0x98) >> 48, 0x1234u);
  EXPECT_EQ((t.dev64(0x90) >> 16) & 0x1FFFFF, 0u);
  EXPECT_EQ(rings, 2);
}

TEST(cxlDevice, FirmwareMayAnswerInsideTheDoorbellCallback) {
  // A zero-time firmware model: the host sees the doorbell already clear.
  Regs t;
  t.r.on_doorbell = [&] {
    MailboxCommand c = t.r.take_command();
    std::vector<uint8_t> out(c.payload.rbegin(), c.payload.rend());
    t.r.post_result(c.opcode == 0xC000 ? mbox_rc_success : 0x0003, out); // vendor opcode, else Unsupported
  };
  host_submit(t, 0xC000, {1, 2, 3});
  EXPECT_FALSE(t.r.doorbell());
  EXPECT_EQ((t.dev64(0x98) >> 32) & 0xFFFF, 0u);
  EXPECT_EQ((t.dev64(0x90) >> 16) & 0x1FFFFF, 3u);
  EXPECT_EQ(t.rd(RegSpace::device, 0xA8, 4) & 0xFFFFFF, 0x010203u);
  host_submit(t, 0x4000, {});
  EXPECT_EQ((t.dev64(0x98) >> 32) & 0xFFFF, 3u);
}

TEST(cxlDevice, MailboxInterruptWhenEnabled) {
  CxlIoConfig c;
  c.mailbox_doorbell_irq = true;
  c.mailbox_background_irq = true;
  Regs t(c);
  int irqs = 0;
  t.r.on_mailbox_interrupt = [&] { ++irqs; };
  host_submit(t, 0x0001, {});
  t.r.post_result(0, {});
  EXPECT_EQ(irqs, 0); // not enabled
  t.wr(RegSpace::device, 0x8C, 4, 0x6); // enable both
  host_submit(t, 0x0001, {});
  EXPECT_EQ(t.dev32(0x8C), 0x7u);
  t.r.post_result(0, {});
  EXPECT_EQ(irqs, 1);
  host_submit(t, 0x4400, {});
  t.r.post_background_started();
  EXPECT_EQ(irqs, 2);
  t.r.complete_background(0);
  EXPECT_EQ(irqs, 3);
}

TEST(cxlDevice, BackgroundCommand) {
  Regs t;
  host_submit(t, 0x4400, {}); // Sanitize
  t.r.post_background_started();
  EXPECT_FALSE(t.r.doorbell());
  uint64_t st = t.dev64(0x98);
  EXPECT_EQ(st & 1, 1u);                        // background operation in progress
  EXPECT_EQ((st >> 32) & 0xFFFF, 0x1u);         // Background Command Started
  uint64_t bg = t.dev64(0xA0);
  EXPECT_EQ(bg & 0xFFFF, 0x4400u);
  EXPECT_EQ((bg >> 16) & 0x7F, 0u);
  t.r.update_background(50);
  EXPECT_EQ((t.dev64(0xA0) >> 16) & 0x7F, 50u);
  // Another command may run meanwhile (Linux allows Get Health Info).
  host_submit(t, 0x4200, {});
  t.r.post_result(0, std::vector<uint8_t>(0x12));
  EXPECT_EQ(t.dev64(0x98) & 1, 1u); // still in progress
  EXPECT_THROW(t.r.update_background(100), std::invalid_argument);
  t.r.complete_background(0x0000);
  bg = t.dev64(0xA0);
  EXPECT_EQ(bg & 0xFFFF, 0x4400u);
  EXPECT_EQ((bg >> 16) & 0x7F, 100u);
  EXPECT_EQ((bg >> 32) & 0xFFFF, 0u);
  EXPECT_EQ(t.dev64(0x98) & 1, 0u);
  EXPECT_FALSE(t.r.background_running());
  EXPECT_THROW(t.r.complete_background(0), std::logic_error);
}

TEST(cxlDevice, FirmwareMisuseIsAnError) {
  Regs t;
  EXPECT_THROW(t.r.take_command(), std::logic_error);
  EXPECT_THROW(t.r.post_result(0, {}), std::logic_error);
  EXPECT_THROW(t.r.post_background_started(), std::logic_error);
  host_submit(t, 0x0001, {});
  EXPECT_THROW(t.r.post_result(0, std::vector<uint8_t>(2049)), std::invalid_argument);
  EXPECT_TRUE(t.r.doorbell()); // nothing happened
  // A payload length beyond the area is reported as written; the data stops at the area.
  t.r.post_result(0, {});
  t.wr(RegSpace::device, 0x90, 8, 0x0001 | (uint64_t(4096) << 16));
  t.wr(RegSpace::device, 0x8C, 4, 1);
  MailboxCommand c = t.r.take_command();
  EXPECT_EQ(c.payload_length, 4096u);
  EXPECT_EQ(c.payload.size(), 2048u);
}

TEST(cxlDevice, MailboxNotReadyIgnoresDoorbell) {
  Regs t;
  int rings = 0;
  t.r.on_doorbell = [&] { ++rings; };
  t.r.set_mailbox_ready(false);
  t.wr(RegSpace::device, 0x8C, 4, 1);
  EXPECT_EQ(rings, 0);
  EXPECT_FALSE(t.r.doorbell());
}

TEST(cxlDevice, AccessRulesAndReservedSpace) {
  Regs t;
  uint64_t v = 0;
  EXPECT_EQ(t.r.read(RegSpace::device, 0x88, 3, v), AccessResult::bad_size);
  EXPECT_EQ(t.r.read(RegSpace::device, 0x88, 16, v), AccessResult::bad_size);
  EXPECT_EQ(v, ~0ull);
  EXPECT_EQ(t.r.read(RegSpace::device, 0x8A, 4, v), AccessResult::unaligned);
  EXPECT_EQ(t.r.read(RegSpace::device, 0x8D, 2, v), AccessResult::unaligned);
  EXPECT_EQ(t.r.read(RegSpace::device, 0x8C, 8, v), AccessResult::unaligned);
  EXPECT_EQ(t.r.read(RegSpace::device, 0x1000, 4, v), AccessResult::unmapped);
  EXPECT_EQ(v, 0xFFFFFFFFu);
  EXPECT_EQ(t.r.write(RegSpace::device, 0x1000, 4, 0), AccessResult::unmapped);
  // Byte access inside a 64-bit register.
  EXPECT_EQ(t.rd(RegSpace::device, 0x04, 1), 0x03u); // capability count, byte 4 of the array register
  for (uint32_t off : {0x40u, 0x78u, 0x8B0u, 0xFF8u}) {
    t.wr(RegSpace::device, off, 8, ~0ull);
    EXPECT_EQ(t.dev64(off), 0u) << std::hex << off;
  }
  uint64_t arr = t.dev64(0);
  t.wr(RegSpace::device, 0, 8, 0);
  EXPECT_EQ(t.dev64(0), arr);
  // Payload accepts every size.
  t.wr(RegSpace::device, 0xA8, 8, 0x0807060504030201ull);
  t.wr(RegSpace::device, 0xB0, 2, 0xBBAA);
  EXPECT_EQ(t.rd(RegSpace::device, 0xAC, 4), 0x08070605u);
  EXPECT_EQ(t.rd(RegSpace::device, 0xB0, 4), 0xBBAAu);
  // The last payload byte and the memdev register right after it.
  t.wr(RegSpace::device, 0xA8 + 2047, 1, 0x5A);
  EXPECT_EQ(t.rd(RegSpace::device, 0x8A0, 8) >> 56, 0x5Au);
  EXPECT_EQ(t.dev64(0x8A8), 0x14u);
}

TEST(cxlDevice, LayoutParameters) {
  CxlIoConfig c;
  c.device_status_offset = 0x100;
  c.mailbox_offset = 0x200;
  c.mailbox_payload_log2 = 8;
  Regs t(c);
  EXPECT_EQ(t.dev32(0x14), 0x100u);
  EXPECT_EQ(t.dev32(0x24), 0x200u);
  EXPECT_EQ(t.dev32(0x28), 0x20u + 256);
  EXPECT_EQ(t.dev32(0x34), 0x200u + 0x20 + 256);
  EXPECT_EQ(t.dev32(0x200) & 0x1F, 8u);
  EXPECT_EQ(t.dev64(0x320), 0x14u);
  CxlIoConfig bad = c;
  bad.memdev_status_offset = 0x210; // inside the mailbox
  EXPECT_THROW(CxlIoRegs{bad}, std::invalid_argument);
  bad = c;
  bad.mailbox_offset = 0x204; // not 8-byte aligned
  EXPECT_THROW(CxlIoRegs{bad}, std::invalid_argument);
  bad = c;
  bad.device_status_offset = 0x20; // inside the capability headers
  EXPECT_THROW(CxlIoRegs{bad}, std::invalid_argument);
  bad = c;
  bad.mailbox_payload_log2 = 21;
  EXPECT_THROW(CxlIoRegs{bad}, std::invalid_argument);
  bad = c;
  bad.capacity_bytes = GiB + 1;
  EXPECT_THROW(CxlIoRegs{bad}, std::invalid_argument);
  bad = c;
  bad.hdm_decoder_count = 3;
  EXPECT_THROW(CxlIoRegs{bad}, std::invalid_argument);
}

TEST(cxlDevice, ResetRestoresDefaults) {
  Regs t;
  t.wr(RegSpace::config, 0x10, 4, 0xFFFF0000);
  t.wr(RegSpace::config, 0x04, 2, 0x2);
  ASSERT_TRUE(t.r.hdm().program(0, {0, 1 * GiB, 0, 0, 0}));
  host_submit(t, 0x0001, {9});
  t.r.reset();
  EXPECT_EQ(t.cfg32(0x10), 0x4u);
  EXPECT_EQ(t.cfg16(0x04), 0u);
  EXPECT_FALSE(t.r.hdm().committed(0));
  EXPECT_FALSE(t.r.doorbell());
  EXPECT_EQ(t.rd(RegSpace::device, 0xA8, 1), 0u);
}

TEST(CxlIoRegsDoorbells, VendorCapabilityListsTheDoorbellsAndWritesReachTheDevice) {
  pnm::cxl::CxlIoConfig c;
  c.pnm_doorbell_queues = 64;
  pnm::cxl::CxlIoRegs r(c);
  using pnm::cxl::RegSpace;
  uint64_t v = 0;
  ASSERT_EQ(r.read(RegSpace::device, 0x00, 8, v), pnm::cxl::AccessResult::ok);
  EXPECT_EQ((v >> 32) & 0xFFFF, 4u); // four capabilities
  r.read(RegSpace::device, 0x40, 4, v);
  EXPECT_EQ(v & 0xFFFF, pnm::cxl::CxlIoRegs::pnm_doorbell_cap_id);
  r.read(RegSpace::device, 0x44, 4, v);
  EXPECT_EQ(v, 0x1000u);
  r.read(RegSpace::device, 0x48, 4, v);
  EXPECT_EQ(v, 64u * 8);
  EXPECT_GE(r.bar_size(2), 0x1000u + 64 * 8);
  std::vector<std::tuple<unsigned, bool, uint32_t>> rung;
  r.on_queue_doorbell = [&](unsigned q, bool sq, uint32_t val) { rung.emplace_back(q, sq, val); };
  r.write(RegSpace::device, 0x1000 + 8 * 3, 4, 5);           // SQ 3 tail
  r.write(RegSpace::device, 0x1000 + 8 * 63 + 4, 4, 0x12345); // CQ 63 head: 16 bits kept
  r.write(RegSpace::device, 0x1000 + 8 * 1, 8, (uint64_t{2} << 32) | 7); // both of pair 1
  ASSERT_EQ(rung.size(), 4u);
  EXPECT_EQ(rung[0], std::make_tuple(3u, true, 5u));
  EXPECT_EQ(rung[1], std::make_tuple(63u, false, 0x2345u));
  EXPECT_EQ(rung[2], std::make_tuple(1u, true, 7u));
  EXPECT_EQ(rung[3], std::make_tuple(1u, false, 2u));
  EXPECT_EQ(r.sq_tail_doorbell(3), 5u);
  EXPECT_EQ(r.cq_head_doorbell(1), 2u);
  r.read(RegSpace::device, 0x1000 + 8 * 3, 4, v);
  EXPECT_EQ(v, 5u);
  // Without doorbells the array stays at three capabilities.
  pnm::cxl::CxlIoRegs plain{pnm::cxl::CxlIoConfig{}};
  plain.read(RegSpace::device, 0x00, 8, v);
  EXPECT_EQ((v >> 32) & 0xFFFF, 3u);
}
