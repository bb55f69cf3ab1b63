// HDM decoder: encodings (REFERENCE A.8), the register-level commit flow,
// lock-on-commit, and HPA -> DPA decode for 1/2/3/4/6/8/12/16-way sets,
// checked against an independent bit-level formulation (QEMU's power-of-two
// decode) and against Linux's DPA -> HPA inverse (region.c cxl_dpa_to_hpa).
#include "cxl/hdm_decoder.h"

#include <gtest/gtest.h>

#include <random>

using namespace pnm::cxl;

namespace {
constexpr uint64_t MiB = 1ull << 20, GiB = 1ull << 30;

HdmDecoder make(unsigned decoders = 4, uint64_t capacity = 16 * GiB) {
  HdmDecoderConfig c;
  c.decoder_count = decoders;
  c.capacity_bytes = capacity;
  return HdmDecoder(c);
}

// Linux's DPA -> HPA offset (CXL 3.0 §8.2.4.19.13 inverse), rewritten.
uint64_t linux_to_hpa_offset(uint64_t dpa_off, unsigned pos, unsigned iw, unsigned ig) {
  uint64_t upper_mask = ~((uint64_t(1) << (ig + 8)) - 1) & ((uint64_t(1) << 52) - 1);
  uint64_t hpa;
  if (iw < 8) {
    hpa = (dpa_off & upper_mask) << iw;
    hpa |= uint64_t(pos) << (ig + 8);
  } else {
    uint64_t upper = (dpa_off & upper_mask) >> (ig + 8);
    upper *= 3;
    hpa = ((upper << (iw - 8)) + pos) << (ig + 8);
  }
  return hpa + (dpa_off & ((uint64_t(1) << (ig + 8)) - 1));
}
} // namespace

TEST(cxlHdmEncoding, GranularityIsTwoFiftySixShiftedByIg) {
  const uint64_t expect[] = {256, 512, 1024, 2048, 4096, 8192, 16384};
  for (unsigned ig = 0; ig <= 6; ++ig) {
    EXPECT_EQ(hdm_granularity_bytes(ig), expect[ig]);
    EXPECT_EQ(hdm_encode_granularity(expect[ig]), ig);
  }
  for (unsigned ig = 7; ig < 16; ++ig)
    EXPECT_FALSE(hdm_granularity_bytes(ig)) << ig;
  EXPECT_FALSE(hdm_encode_granularity(384));
  EXPECT_FALSE(hdm_encode_granularity(32768));
}

TEST(cxlHdmEncoding, WaysTable) {
  const unsigned expect[16] = {1, 2, 4, 8, 16, 0, 0, 0, 3, 6, 12, 0, 0, 0, 0, 0};
  for (unsigned iw = 0; iw < 16; ++iw) {
    if (expect[iw]) {
      EXPECT_EQ(hdm_ways(iw), expect[iw]) << iw;
      EXPECT_EQ(hdm_encode_ways(expect[iw]), iw);
    } else {
      EXPECT_FALSE(hdm_ways(iw)) << iw;
    }
  }
  for (unsigned w : {5u, 7u, 9u, 24u, 32u})
    EXPECT_FALSE(hdm_encode_ways(w)) << w;
}

TEST(cxlHdmEncoding, DecoderCount) {
  EXPECT_EQ(hdm_encode_decoder_count(1), 0u);
  EXPECT_EQ(hdm_encode_decoder_count(2), 1u);
  EXPECT_EQ(hdm_encode_decoder_count(4), 2u);
  EXPECT_EQ(hdm_encode_decoder_count(10), 5u); // QEMU's HDM_DECODE_MAX
  EXPECT_EQ(hdm_encode_decoder_count(16), 8u);
  EXPECT_FALSE(hdm_encode_decoder_count(0));
  EXPECT_FALSE(hdm_encode_decoder_count(3));
  EXPECT_FALSE(hdm_encode_decoder_count(18));
  for (unsigned v = 0; v <= 8; ++v)
    EXPECT_EQ(hdm_encode_decoder_count(hdm_decode_decoder_count(v)), v);
  HdmDecoderConfig c;
  c.decoder_count = 3;
  EXPECT_THROW(HdmDecoder{c}, std::invalid_argument);
  c.decoder_count = 2;
  c.capacity_bytes = 100 * MiB;
  EXPECT_THROW(HdmDecoder{c}, std::invalid_argument);
}

TEST(cxlHdmRegisters, CapabilityRegisterFields) {
  HdmDecoderConfig c;
  c.decoder_count = 10;
  c.capacity_bytes = GiB;
  c.ways_16 = false;
  HdmDecoder d(c);
  uint32_t cap = d.read32(HdmDecoder::capability_offset);
  EXPECT_EQ(cap & 0xF, 5u);         // 10 decoders
  EXPECT_EQ((cap >> 4) & 0xF, 0u);  // target count: endpoint
  EXPECT_EQ((cap >> 8) & 1, 1u);    // A11:8
  EXPECT_EQ((cap >> 9) & 1, 1u);    // A14:12
  EXPECT_EQ((cap >> 10) & 1, 0u);   // poison on decode error
  EXPECT_EQ((cap >> 11) & 1, 1u);   // 3/6/12-way
  EXPECT_EQ((cap >> 12) & 1, 0u);   // 16-way
  EXPECT_EQ(cap >> 13, 0u);         // UIO, NXM, coherency model
  d.write32(HdmDecoder::capability_offset, 0xFFFFFFFF); // read-only
  EXPECT_EQ(d.read32(HdmDecoder::capability_offset), cap);
  EXPECT_EQ(d.register_bytes(), 0x10u + 0x20u * 10);
}

TEST(cxlHdmRegisters, ReservedOffsetsAndBitsReadZero) {
  HdmDecoder d = make(2);
  for (uint32_t off : {0x08u, 0x0Cu, 0x2Cu, 0x4Cu, 0x50u, 0x100u}) {
    d.write32(off, 0xFFFFFFFF);
    EXPECT_EQ(d.read32(off), 0u) << std::hex << off;
  }
  // Low registers keep only bits 31:28.
  d.write32(HdmDecoder::base_low_offset(0), 0xFFFFFFFF);
  d.write32(HdmDecoder::size_low_offset(0), 0x1234FFFF);
  d.write32(HdmDecoder::dpa_skip_low_offset(0), 0x7FFFFFFF);
  EXPECT_EQ(d.read32(HdmDecoder::base_low_offset(0)), 0xF0000000u);
  EXPECT_EQ(d.read32(HdmDecoder::size_low_offset(0)), 0x10000000u);
  EXPECT_EQ(d.read32(HdmDecoder::dpa_skip_low_offset(0)), 0x70000000u);
  // Control: committed/error are RO, bits 13..31 reserved (no BI/UIO).
  d.write32(HdmDecoder::control_offset(1), 0xFFFFFDFF); // everything but commit
  EXPECT_EQ(d.read32(HdmDecoder::control_offset(1)), 0x11FFu);
  // Global control: poison enable is RO 0 when not capable.
  d.write32(HdmDecoder::global_control_offset, 0xFFFFFFFF);
  EXPECT_EQ(d.read32(HdmDecoder::global_control_offset), HdmDecoder::global_enable);
  EXPECT_THROW(d.read32(2), std::invalid_argument);
  EXPECT_THROW(d.write32(6, 0), std::invalid_argument);
}

TEST(cxlHdmCommit, RegisterHandshake) {
  HdmDecoder d = make(1);
  d.write32(HdmDecoder::base_low_offset(0), 0x00000000);
  d.write32(HdmDecoder::base_high_offset(0), 0x1); // 4 GiB
  d.write32(HdmDecoder::size_low_offset(0), 0x40000000);
  d.write32(HdmDecoder::size_high_offset(0), 0);
  d.write32(HdmDecoder::global_control_offset, HdmDecoder::global_enable);
  EXPECT_EQ(d.translate(4 * GiB).status, HdmStatus::not_committed);
  d.write32(HdmDecoder::control_offset(0), HdmDecoder::ctrl_commit | HdmDecoder::ctrl_host_only);
  uint32_t ctrl = d.read32(HdmDecoder::control_offset(0));
  EXPECT_TRUE(ctrl & HdmDecoder::ctrl_commit);
  EXPECT_TRUE(ctrl & HdmDecoder::ctrl_committed);
  EXPECT_FALSE(ctrl & HdmDecoder::ctrl_error_not_committed);
  EXPECT_TRUE(ctrl & HdmDecoder::ctrl_host_only);
  EXPECT_EQ(d.translate(4 * GiB + 0x1234).dpa, 0x1234u);
  // Clearing Commit uncommits; the decode stops.
  d.write32(HdmDecoder::control_offset(0), HdmDecoder::ctrl_host_only);
  EXPECT_FALSE(d.read32(HdmDecoder::control_offset(0)) & HdmDecoder::ctrl_committed);
  EXPECT_EQ(d.translate(4 * GiB).status, HdmStatus::not_committed);
}

TEST(cxlHdmCommit, RegistersFrozenWhileCommitted) {
  HdmDecoder d = make(1);
  ASSERT_TRUE(d.program(0, {4 * GiB, GiB, 0, 0, 0}));
  d.write32(HdmDecoder::base_high_offset(0), 7);
  d.write32(HdmDecoder::size_low_offset(0), 0);
  d.write32(HdmDecoder::control_offset(0), HdmDecoder::ctrl_commit | (1u << 4)); // try IW=1
  EXPECT_EQ(d.read32(HdmDecoder::base_high_offset(0)), 1u);
  EXPECT_EQ(d.read32(HdmDecoder::size_low_offset(0)), 0x40000000u);
  EXPECT_EQ((d.read32(HdmDecoder::control_offset(0)) >> 4) & 0xF, 0u);
  EXPECT_TRUE(d.translate(4 * GiB).ok());
  // After uncommit the registers are writable again.
  d.write32(HdmDecoder::control_offset(0), 0);
  d.write32(HdmDecoder::base_high_offset(0), 7);
  EXPECT_EQ(d.read32(HdmDecoder::base_high_offset(0)), 7u);
}

TEST(cxlHdmCommit, LockOnCommitMakesDecoderReadOnlyUntilReset) {
  HdmDecoder d = make(2);
  HdmProgram p{4 * GiB, GiB, 0, 0, 0};
  p.lock_on_commit = true;
  ASSERT_TRUE(d.program(0, p));
  EXPECT_TRUE(d.locked(0));
  const uint32_t regs[] = {HdmDecoder::base_low_offset(0), HdmDecoder::base_high_offset(0),
                           HdmDecoder::size_low_offset(0), HdmDecoder::size_high_offset(0),
                           HdmDecoder::control_offset(0), HdmDecoder::dpa_skip_low_offset(0),
                           HdmDecoder::dpa_skip_high_offset(0)};
  uint32_t before[7];
  for (int i = 0; i < 7; ++i)
    before[i] = d.read32(regs[i]);
  for (int i = 0; i < 7; ++i)
    d.write32(regs[i], i == 4 ? 0u : 0xF0000005u); // control 0 would uncommit
  for (int i = 0; i < 7; ++i)
    EXPECT_EQ(d.read32(regs[i]), before[i]) << i;
  EXPECT_TRUE(d.committed(0));
  EXPECT_TRUE(d.translate(4 * GiB + 64).ok());
  // Decoder 1 is not locked by decoder 0's lock.
  EXPECT_TRUE(d.program(1, {5 * GiB, GiB, 0, 0, 0}));
  d.reset();
  EXPECT_FALSE(d.committed(0));
  EXPECT_FALSE(d.locked(0));
  EXPECT_EQ(d.read32(HdmDecoder::base_high_offset(0)), 0u);
  EXPECT_EQ(d.translate(4 * GiB).status, HdmStatus::hdm_disabled);
}

TEST(cxlHdmCommit, EveryInvalidProgramSetsErrorNotCommitted) {
  struct Case {
    const char* what;
    HdmProgram p;
    unsigned decoder;
  };
  const Case cases[] = {
      {"IG 7", {0, GiB, 0, 7, 0}, 0},
      {"IW 5", {0, GiB, 0, 0, 5}, 0},
      {"IW 11", {0, 3 * GiB, 0, 0, 11}, 0},
      {"3-way, size not a multiple of 3 x 256 MiB", {0, GiB, 0, 0, 8}, 0},
      {"2-way, 256 MiB", {0, 256 * MiB, 0, 0, 1}, 0},
      {"beyond 2^52", {(1ull << 52) - 256 * MiB, GiB, 0, 0, 0}, 0},
      {"beyond capacity", {0, 32 * GiB, 0, 0, 0}, 0},
      {"skip beyond capacity", {0, GiB, 16 * GiB, 0, 0}, 0},
      {"decoder 1 before decoder 0", {8 * GiB, GiB, 0, 0, 0}, 1},
  };
  for (const Case& c : cases) {
    HdmDecoder d = make(2);
    EXPECT_FALSE(d.program(c.decoder, c.p)) << c.what;
    EXPECT_TRUE(d.commit_error(c.decoder)) << c.what;
    uint32_t ctrl = d.read32(HdmDecoder::control_offset(c.decoder));
    EXPECT_TRUE(ctrl & HdmDecoder::ctrl_error_not_committed) << c.what;
    EXPECT_FALSE(ctrl & HdmDecoder::ctrl_committed) << c.what;
    EXPECT_EQ(d.translate(c.p.base).status, HdmStatus::not_committed) << c.what;
  }
}

TEST(cxlHdmCommit, OrderingOverlapAndRetry) {
  HdmDecoder d = make(2);
  ASSERT_TRUE(d.program(0, {4 * GiB, 2 * GiB, 0, 0, 0}));
  // Decoder 1 overlapping decoder 0's HPA range.
  EXPECT_FALSE(d.program(1, {5 * GiB, GiB, 0, 0, 0}));
  // Setting Commit again without clearing it first does not retry.
  d.write32(HdmDecoder::base_high_offset(1), 6);
  d.write32(HdmDecoder::control_offset(1), HdmDecoder::ctrl_commit);
  EXPECT_TRUE(d.commit_error(1));
  // Clear, then commit: now it succeeds and the error bit goes away.
  d.write32(HdmDecoder::control_offset(1), 0);
  EXPECT_FALSE(d.commit_error(1));
  d.write32(HdmDecoder::control_offset(1), HdmDecoder::ctrl_commit);
  EXPECT_TRUE(d.committed(1));
  EXPECT_FALSE(d.commit_error(1));
}

TEST(cxlHdmCommit, CapabilityGatesThreeAndSixteenWay) {
  HdmDecoderConfig c;
  c.capacity_bytes = 16 * GiB;
  c.ways_3_6_12 = false;
  c.ways_16 = false;
  HdmDecoder d(c);
  EXPECT_FALSE(d.program(0, {0, 3 * GiB, 0, 0, 8}));
  EXPECT_FALSE(d.program(0, {0, 16 * GiB, 0, 0, 4}));
  EXPECT_TRUE(d.program(0, {0, 8 * GiB, 0, 0, 3})); // 8-way is baseline
}

TEST(cxlHdmDecode, OneWayBoundsAndErrors) {
  HdmDecoder d = make(1);
  EXPECT_EQ(d.translate(0).status, HdmStatus::hdm_disabled);
  d.write32(HdmDecoder::global_control_offset, HdmDecoder::global_enable);
  EXPECT_EQ(d.translate(0).status, HdmStatus::not_committed); // nothing programmed
  ASSERT_TRUE(d.program(0, {4 * GiB, GiB, 0, 0, 0}));
  EXPECT_EQ(d.translate(4 * GiB).dpa, 0u);
  EXPECT_EQ(d.translate(4 * GiB + 0x1234).dpa, 0x1234u);
  EXPECT_EQ(d.translate(5 * GiB - 1).dpa, GiB - 1);
  EXPECT_EQ(d.translate(5 * GiB).status, HdmStatus::out_of_range);
  EXPECT_EQ(d.translate(4 * GiB - 1).status, HdmStatus::out_of_range);
  EXPECT_EQ(d.translate(~0ull).status, HdmStatus::out_of_range); // no wrap
  EXPECT_EQ(d.translate(0).status, HdmStatus::out_of_range);
  EXPECT_EQ(d.translate(4 * GiB).decoder, 0);
  // Disabling HDM decode stops everything.
  d.write32(HdmDecoder::global_control_offset, 0);
  EXPECT_EQ(d.translate(4 * GiB).status, HdmStatus::hdm_disabled);
}

TEST(cxlHdmDecode, TwoWayAt256B) {
  for (unsigned pos = 0; pos < 2; ++pos) {
    HdmDecoder d = make(1);
    d.set_interleave_position(0, pos);
    ASSERT_TRUE(d.program(0, {0, 2 * GiB, 0, 0, 1}));
    // Chunks of 256 B alternate between the two devices.
    for (uint64_t chunk = 0; chunk < 8; ++chunk) {
      HdmTranslation t = d.translate(chunk * 256 + 17);
      if (chunk % 2 == pos) {
        ASSERT_TRUE(t.ok()) << chunk;
        EXPECT_EQ(t.dpa, (chunk / 2) * 256 + 17);
      } else {
        EXPECT_EQ(t.status, HdmStatus::wrong_position) << chunk;
        EXPECT_EQ(t.decoder, 0);
      }
    }
    EXPECT_EQ(d.dpa_bytes(0), GiB);
    EXPECT_EQ(d.translate(2 * GiB - 1).status,
              pos == 1 ? HdmStatus::ok : HdmStatus::wrong_position);
    EXPECT_EQ(d.translate(2 * GiB).status, HdmStatus::out_of_range);
  }
}

TEST(cxlHdmDecode, FourWayAt4KMatchesBitLevelDecode) {
  // QEMU's power-of-two decode: keep bits below IG+8, drop IW bits above.
  const unsigned ig = 4, iw = 2; // 4 KiB, 4 ways
  const uint64_t base = 16 * GiB;
  std::mt19937_64 rng(42);
  for (unsigned pos = 0; pos < 4; ++pos) {
    HdmDecoder d = make(1, 4 * GiB);
    d.set_interleave_position(0, pos);
    ASSERT_TRUE(d.program(0, {base, 8 * GiB, 0, ig, iw}));
    for (int i = 0; i < 2000; ++i) {
      uint64_t off = rng() % (8 * GiB);
      HdmTranslation t = d.translate(base + off);
      unsigned owner = unsigned((off >> (ig + 8)) & 3);
      if (owner != pos) {
        EXPECT_EQ(t.status, HdmStatus::wrong_position);
        continue;
      }
      uint64_t low = off & ((1ull << (ig + 8)) - 1);
      uint64_t high = (off >> (ig + 8 + iw)) << (ig + 8);
      ASSERT_TRUE(t.ok());
      EXPECT_EQ(t.dpa, high | low) << std::hex << off;
    }
  }
}

TEST(cxlHdmDecode, ThreeWayAt256B) {
  HdmDecoder d = make(1);
  ASSERT_TRUE(d.program(0, {0, 3 * GiB, 0, 0, 8}));
  // Position 0 owns chunks 0, 3, 6, ...: HPA 0x300 is its second chunk.
  EXPECT_EQ(d.translate(0x000).dpa, 0x000u);
  EXPECT_EQ(d.translate(0x0FF).dpa, 0x0FFu);
  EXPECT_EQ(d.translate(0x100).status, HdmStatus::wrong_position);
  EXPECT_EQ(d.translate(0x200).status, HdmStatus::wrong_position);
  EXPECT_EQ(d.translate(0x300).dpa, 0x100u);
  EXPECT_EQ(d.translate(0x640).dpa, 0x240u);
  d.set_interleave_position(0, 2);
  EXPECT_EQ(d.translate(0x200).dpa, 0x000u);
  EXPECT_EQ(d.translate(0x500).dpa, 0x100u);
  EXPECT_EQ(d.translate(0x300).status, HdmStatus::wrong_position);
  // Last byte of the range belongs to position 2 (3 GiB / 256 B chunks).
  EXPECT_EQ(d.translate(3 * GiB - 1).dpa, GiB - 1);
}

TEST(cxlHdmDecode, RoundTripsLinuxInverseForEveryWayCount) {
  std::mt19937_64 rng(7);
  for (unsigned iw : {0u, 1u, 2u, 3u, 4u, 8u, 9u, 10u}) {
    for (unsigned ig : {0u, 3u, 6u}) {
      unsigned ways = *hdm_ways(iw);
      uint64_t size = uint64_t(ways) * GiB;
      const uint64_t base = 64 * GiB;
      HdmDecoder d = make(1, GiB);
      ASSERT_TRUE(d.program(0, {base, size, 0, ig, iw})) << iw << " " << ig;
      for (int i = 0; i < 200; ++i) {
        unsigned pos = unsigned(rng() % ways);
        uint64_t dpa = rng() % GiB;
        uint64_t hpa = base + linux_to_hpa_offset(dpa, pos, iw, ig);
        ASSERT_LT(hpa - base, size);
        d.set_interleave_position(0, pos);
        HdmTranslation t = d.translate(hpa);
        ASSERT_TRUE(t.ok()) << "iw " << iw << " ig " << ig << " pos " << pos;
        EXPECT_EQ(t.dpa, dpa);
        d.set_interleave_position(0, (pos + 1) % ways);
        if (ways > 1) {
          EXPECT_EQ(d.translate(hpa).status, HdmStatus::wrong_position);
        }
      }
    }
  }
}

TEST(cxlHdmDecode, DpaSkipAccumulatesAcrossDecoders) {
  HdmDecoder d = make(4, 8 * GiB);
  ASSERT_TRUE(d.program(0, {0, 512 * MiB, 256 * MiB, 0, 0}));
  // Decoder 1: 2-way, 2 GiB of HPA -> 1 GiB of DPA, after another 256 MiB skip.
  ASSERT_TRUE(d.program(1, {4 * GiB, 2 * GiB, 256 * MiB, 1, 1}));
  ASSERT_TRUE(d.program(2, {8 * GiB, GiB, 0, 0, 0}));
  EXPECT_EQ(d.dpa_base(0), 256 * MiB);
  EXPECT_EQ(d.dpa_base(1), 256 * MiB + 512 * MiB + 256 * MiB);
  EXPECT_EQ(d.dpa_bytes(1), GiB);
  EXPECT_EQ(d.dpa_base(2), 2 * GiB);
  EXPECT_EQ(d.translate(0x40).dpa, 256 * MiB + 0x40);
  EXPECT_EQ(d.translate(4 * GiB + 0x40).dpa, GiB + 0x40);
  EXPECT_EQ(d.translate(4 * GiB + 1024 + 8).dpa, GiB + 512 + 8); // 512 B granularity, 3rd chunk
  EXPECT_EQ(d.translate(8 * GiB + 5).dpa, 2 * GiB + 5);
  // Holes between decoders are out of range; decoder 3 is not programmed.
  EXPECT_EQ(d.translate(GiB).status, HdmStatus::out_of_range);
  EXPECT_EQ(d.translate(12 * GiB).status, HdmStatus::out_of_range);
  // A programmed but uncommitted decoder reports not_committed.
  d.write32(HdmDecoder::base_low_offset(3), 0);
  d.write32(HdmDecoder::base_high_offset(3), 3); // 12 GiB
  d.write32(HdmDecoder::size_low_offset(3), 0x40000000);
  HdmTranslation t = d.translate(12 * GiB + 64);
  EXPECT_EQ(t.status, HdmStatus::not_committed);
  EXPECT_EQ(t.decoder, 3);
}

TEST(cxlHdmDecode, InterleavePositionValidation) {
  HdmDecoder d = make(1);
  EXPECT_THROW(d.set_interleave_position(0, 16), std::out_of_range);
  EXPECT_THROW(d.set_interleave_position(1, 0), std::out_of_range);
  // A position beyond the committed way count never matches.
  d.set_interleave_position(0, 5);
  ASSERT_TRUE(d.program(0, {0, 4 * GiB, 0, 0, 2}));
  for (uint64_t c = 0; c < 8; ++c)
    EXPECT_EQ(d.translate(c * 256).status, HdmStatus::wrong_position);
  EXPECT_STREQ(to_string(HdmStatus::wrong_position), "address belongs to another interleave way");
}
