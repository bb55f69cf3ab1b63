// Flit geometry, the closed form, the stateful packer (hand-counted mixes,
// equality with the closed form, hold/flush rule, ordering) and the
// bit-level header encode/decode (REFERENCE D.1 field positions).
#include "cxl/flit_packer.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <random>

using namespace pnm::cxl;

namespace {
constexpr MsgClass Req = MsgClass::m2s_req, RwD = MsgClass::m2s_rwd, NDR = MsgClass::s2m_ndr,
                   DRS = MsgClass::s2m_drs;

MessageMix mix(uint64_t req, uint64_t rwd, uint64_t ndr, uint64_t drs) {
  MessageMix m;
  m[Req] = req;
  m[RwD] = rwd;
  m[NDR] = ndr;
  m[DRS] = drs;
  return m;
}

uint64_t closed(FlitMode mode, Direction dir, const MessageMix& m) {
  return estimate_flits(FlitFormat::for_mode(mode), dir, m).flits;
}

// Packs a sequence (all ready at t = 0) and returns the flits.
std::vector<Flit> pack(FlitMode mode, Direction dir, const std::vector<MsgClass>& seq) {
  FlitPacker p(FlitFormat::for_mode(mode), dir);
  for (size_t i = 0; i < seq.size(); ++i)
    p.add(seq[i], i, 0);
  return p.flush();
}

std::vector<MsgClass> repeat(MsgClass c, size_t n) { return std::vector<MsgClass>(n, c); }

// r reads and w writes interleaved r:w (e.g. R R W R R W ...).
std::vector<MsgClass> interleave(MsgClass r, MsgClass w, size_t groups, size_t nr, size_t nw) {
  std::vector<MsgClass> s;
  for (size_t g = 0; g < groups; ++g) {
    for (size_t i = 0; i < nr; ++i)
      s.push_back(r);
    for (size_t i = 0; i < nw; ++i)
      s.push_back(w);
  }
  return s;
}

HeaderBits bits_of(std::initializer_list<unsigned> set) {
  HeaderBits b{};
  for (unsigned i : set)
    b[i / 8] |= uint8_t(1u << (i % 8));
  return b;
}
} // namespace

TEST(cxlFlitFormat, SixtyEightByteGeometry) {
  FlitFormat f = FlitFormat::cxl68();
  EXPECT_NO_THROW(f.validate());
  EXPECT_EQ(f.flit_bytes, 68u);
  EXPECT_EQ(f.slots_per_flit(), 4u);
  EXPECT_EQ(f.protocol_id_bytes + 4 * 16 + f.crc_bytes, 68u);
  EXPECT_TRUE(f.all_data_flits);
  // The capacity table of flit_packer.h / docs/CXL.md.
  EXPECT_EQ(f.header_slot_capacity(Req), 1u);
  EXPECT_EQ(f.header_slot_capacity(RwD), 1u);
  EXPECT_EQ(f.header_slot_capacity(NDR), 2u);
  EXPECT_EQ(f.header_slot_capacity(DRS), 2u);
  EXPECT_EQ(f.generic_slot_capacity(Req), 1u);
  EXPECT_EQ(f.generic_slot_capacity(RwD), 1u);
  EXPECT_EQ(f.generic_slot_capacity(NDR), 2u);
  EXPECT_EQ(f.generic_slot_capacity(DRS), 3u);
}

TEST(cxlFlitFormat, TwoFiftySixByteGeometry) {
  FlitFormat f = FlitFormat::cxl256();
  EXPECT_NO_THROW(f.validate());
  EXPECT_EQ(2 + 14 + 14 * 16 + 2 + 8 + 6, 256);
  EXPECT_EQ(f.slots_per_flit(), 15u);
  EXPECT_FALSE(f.all_data_flits);
  EXPECT_EQ(f.header_slot_capacity(Req), 1u);
  EXPECT_EQ(f.header_slot_capacity(RwD), 1u);
  EXPECT_EQ(f.header_slot_capacity(NDR), 3u);
  EXPECT_EQ(f.header_slot_capacity(DRS), 2u);
  EXPECT_EQ(f.generic_slot_capacity(Req), 1u);
  EXPECT_EQ(f.generic_slot_capacity(RwD), 1u);
  EXPECT_EQ(f.generic_slot_capacity(NDR), 4u);
  EXPECT_EQ(f.generic_slot_capacity(DRS), 3u);
  // Wider headers shrink the derived formats.
  HeaderWidths w;
  w.drs = 60;
  EXPECT_EQ(FlitFormat::cxl256(w).generic_slot_capacity(DRS), 2u);
}

TEST(cxlFlitFormat, ValidateRejectsInconsistentGeometry) {
  FlitFormat f = FlitFormat::cxl68();
  f.crc_bytes = 4;
  EXPECT_THROW(f.validate(), std::invalid_argument);
  f = FlitFormat::cxl68();
  f.header_slot_formats.clear();
  EXPECT_THROW(f.validate(), std::invalid_argument);
  f = FlitFormat::cxl256();
  f.all_data_flits = true; // 14 B header slot cannot carry data
  EXPECT_THROW(f.validate(), std::invalid_argument);
}

// 100 reads, 68B: M2S 1 Req per slot -> 25 flits; S2M 2 DRS headers per
// slot 0 + 4 data slots each -> (400 + 50) / 4 = 112.5 -> 113 flits.
TEST(cxlFlitCounts, HundredReads68B) {
  EXPECT_EQ(closed(FlitMode::flit68, Direction::m2s, mix(100, 0, 0, 0)), 25u);
  EXPECT_EQ(closed(FlitMode::flit68, Direction::s2m, mix(0, 0, 0, 100)), 113u);
  EXPECT_EQ(pack(FlitMode::flit68, Direction::m2s, repeat(Req, 100)).size(), 25u);
  auto up = pack(FlitMode::flit68, Direction::s2m, repeat(DRS, 100));
  EXPECT_EQ(up.size(), 113u);
  uint64_t all_data = 0, data = 0, hdr_slots = 0;
  for (const Flit& f : up) {
    all_data += f.all_data;
    for (const SlotContent& s : f.slots) {
      data += s.kind == SlotContent::Kind::data;
      hdr_slots += s.kind == SlotContent::Kind::header;
    }
  }
  EXPECT_EQ(data, 400u);
  EXPECT_EQ(hdr_slots, 50u); // two DRS headers per slot 0
  // 61 all-data flits; of the 52 normal ones 50 carry headers, and 2 slots
  // of the 452 stay empty (a spill flit's slot 0 and the tail).
  EXPECT_EQ(all_data, 61u);
  EXPECT_EQ(113u * 4 - data - hdr_slots, 2u);
}

// 100 writes, 68B: RwD header + 4 data = 5 slots -> 125 flits; NDR 2 per slot
// (slot 0 and generic) -> 8 per flit -> 13 flits.
TEST(cxlFlitCounts, HundredWrites68B) {
  EXPECT_EQ(closed(FlitMode::flit68, Direction::m2s, mix(0, 100, 0, 0)), 125u);
  EXPECT_EQ(closed(FlitMode::flit68, Direction::s2m, mix(0, 0, 100, 0)), 13u);
  EXPECT_EQ(pack(FlitMode::flit68, Direction::m2s, repeat(RwD, 100)).size(), 125u);
  EXPECT_EQ(pack(FlitMode::flit68, Direction::s2m, repeat(NDR, 100)).size(), 13u);
}

// 200 reads + 100 writes (2:1): M2S 300 header slots + 400 data = 700 slots
// -> 175 flits; S2M 800 data + (200 + 100) / 2 slot-0 headers = 950 -> 238.
TEST(cxlFlitCounts, MixedTwoToOne68B) {
  auto down = interleave(Req, RwD, 100, 2, 1);
  auto up = interleave(DRS, NDR, 100, 2, 1);
  EXPECT_EQ(closed(FlitMode::flit68, Direction::m2s, mix(200, 100, 0, 0)), 175u);
  EXPECT_EQ(closed(FlitMode::flit68, Direction::s2m, mix(0, 0, 100, 200)), 238u);
  EXPECT_EQ(pack(FlitMode::flit68, Direction::m2s, down).size(), 175u);
  EXPECT_EQ(pack(FlitMode::flit68, Direction::s2m, up).size(), 238u);
}

// 256B: 15 header-capable slots of 1 Req -> ceil(100/15) = 7. DRS: F flits
// hold 2F headers in slot 0, the rest 3 per generic slot, 4 data slots per
// line in 14F generic slots: 400 + ceil((100 - 2F)/3) <= 14F -> F = 30.
// RwD: 400 + (100 - F) <= 14F -> F = 34. NDR: 3 + 14 * 4 = 59 per flit -> 2.
TEST(cxlFlitCounts, Hundred256B) {
  EXPECT_EQ(closed(FlitMode::flit256, Direction::m2s, mix(100, 0, 0, 0)), 7u);
  EXPECT_EQ(closed(FlitMode::flit256, Direction::s2m, mix(0, 0, 0, 100)), 30u);
  EXPECT_EQ(closed(FlitMode::flit256, Direction::m2s, mix(0, 100, 0, 0)), 34u);
  EXPECT_EQ(closed(FlitMode::flit256, Direction::s2m, mix(0, 0, 100, 0)), 2u);
  EXPECT_EQ(pack(FlitMode::flit256, Direction::m2s, repeat(Req, 100)).size(), 7u);
  EXPECT_EQ(pack(FlitMode::flit256, Direction::s2m, repeat(DRS, 100)).size(), 30u);
  EXPECT_EQ(pack(FlitMode::flit256, Direction::m2s, repeat(RwD, 100)).size(), 34u);
  EXPECT_EQ(pack(FlitMode::flit256, Direction::s2m, repeat(NDR, 100)).size(), 2u);
  auto down = interleave(Req, RwD, 100, 2, 1);
  auto up = interleave(DRS, NDR, 100, 2, 1);
  EXPECT_EQ(closed(FlitMode::flit256, Direction::m2s, mix(200, 100, 0, 0)), 47u);
  EXPECT_EQ(pack(FlitMode::flit256, Direction::m2s, down).size(), 47u);
  EXPECT_EQ(closed(FlitMode::flit256, Direction::s2m, mix(0, 0, 100, 200)), 60u);
  EXPECT_EQ(pack(FlitMode::flit256, Direction::s2m, up).size(), 60u);
}

TEST(cxlFlitCounts, ClosedFormEqualsPackerForEverySingleClassStream) {
  for (FlitMode mode : {FlitMode::flit68, FlitMode::flit256})
    for (MsgClass c : {Req, RwD, NDR, DRS}) {
      FlitPacker p(FlitFormat::for_mode(mode), direction_of(c));
      MessageMix m;
      for (uint64_t n = 1; n <= 300; ++n) {
        // A fresh packer per n keeps each count independent.
        FlitPacker q(FlitFormat::for_mode(mode), direction_of(c));
        for (uint64_t i = 0; i < n; ++i)
          q.add(c, i, 0);
        m[c] = n;
        ASSERT_EQ(q.flush().size(), closed(mode, direction_of(c), m))
            << to_string(mode) << " " << to_string(c) << " n=" << n;
      }
    }
}

TEST(cxlFlitCounts, ClosedFormTracksPackerOnRandomMixes) {
  // M2S mixes are exact; S2M mixes (NDR + DRS sharing slots) stay within 5 %.
  std::mt19937 rng(3);
  for (FlitMode mode : {FlitMode::flit68, FlitMode::flit256})
    for (Direction dir : {Direction::m2s, Direction::s2m}) {
      MsgClass a = dir == Direction::m2s ? Req : NDR, b = dir == Direction::m2s ? RwD : DRS;
      for (int trial = 0; trial < 60; ++trial) {
        size_t n = 200 + rng() % 1500;
        double pa = (rng() % 1000) / 1000.0;
        std::vector<MsgClass> seq;
        MessageMix m;
        for (size_t i = 0; i < n; ++i) {
          MsgClass c = (rng() % 1000) / 1000.0 < pa ? a : b;
          seq.push_back(c);
          ++m[c];
        }
        double packed = double(pack(mode, dir, seq).size());
        double est = double(closed(mode, dir, m));
        if (dir == Direction::m2s) {
          EXPECT_EQ(packed, est);
        } else {
          EXPECT_NEAR(packed, est, std::max(2.0, 0.05 * est)) << to_string(mode) << " n " << n;
        }
      }
    }
}

TEST(cxlFlitCounts, EstimateFiguresAndLargeCounts) {
  FlitEstimate e = estimate_flits(FlitFormat::cxl68(), Direction::s2m, mix(0, 0, 0, 1'000'000));
  EXPECT_EQ(e.flits, 1'125'000u);
  EXPECT_EQ(e.data_slots, 4'000'000u);
  EXPECT_EQ(e.header_slots, 500'000u);
  EXPECT_EQ(e.wire_bytes, 1'125'000u * 68);
  EXPECT_EQ(e.data_bytes, 64'000'000u);
  EXPECT_DOUBLE_EQ(e.slot_utilisation, 1.0);
  EXPECT_NEAR(e.data_efficiency, 64.0 / (68 * 1.125), 1e-12);
  // Classes of the other direction are ignored; nothing costs nothing.
  EXPECT_EQ(estimate_flits(FlitFormat::cxl68(), Direction::m2s, mix(0, 0, 5, 5)).flits, 0u);
  // 256B reads: 2F + 3g headers, 4N + g <= 14F generic slots -> F = ceil(13N/44).
  EXPECT_EQ(closed(FlitMode::flit256, Direction::s2m, mix(0, 0, 0, 1'000'000'000)), 295'454'546u);
}

TEST(cxlFlitPacker, DataFollowsHeaderInOrderAndChannelsKeepOrder) {
  FlitPacker p(FlitFormat::cxl68(), Direction::s2m);
  for (uint64_t i = 0; i < 6; ++i)
    p.add(i % 3 == 2 ? NDR : DRS, i, 0);
  auto flits = p.flush();
  std::vector<uint64_t> data_owner, ndr_order, drs_order;
  for (const Flit& f : flits)
    for (size_t k = 0; k < f.slots.size(); ++k) {
      const SlotContent& s = f.slots[k];
      if (s.kind == SlotContent::Kind::data) {
        EXPECT_TRUE(k > 0 || f.all_data) << "data in slot 0 of a normal flit";
        EXPECT_EQ(s.chunk, data_owner.size() % 4) << "chunks in order";
        data_owner.push_back(s.ids[0]);
      }
    }
  // Each DRS's 4 chunks are contiguous and lines come in header order.
  ASSERT_EQ(data_owner.size(), 16u);
  const uint64_t drs_ids[] = {0, 1, 3, 4};
  for (size_t i = 0; i < 16; ++i)
    EXPECT_EQ(data_owner[i], drs_ids[i / 4]);
  // Headers of a channel never come before an earlier one.
  uint64_t flit_of[6];
  for (const Flit& f : flits)
    for (const SlotContent& s : f.slots)
      if (s.kind == SlotContent::Kind::header)
        for (uint64_t id : s.ids)
          flit_of[id] = f.seq;
  EXPECT_LE(flit_of[0], flit_of[1]);
  EXPECT_LE(flit_of[1], flit_of[3]);
  EXPECT_LE(flit_of[2], flit_of[5]);
}

TEST(cxlFlitPacker, HoldRuleReleasesALoneMessage) {
  FlitPacker p(FlitFormat::cxl68(), Direction::m2s, /*hold_ps=*/2000);
  EXPECT_FALSE(p.next_deadline());
  Placement where;
  EXPECT_TRUE(p.add(Req, 1, 1000, &where).empty());
  EXPECT_EQ(where.header_flit, 0u);
  EXPECT_EQ(p.next_deadline(), 3000u);
  EXPECT_TRUE(p.poll(2999).empty()); // still waiting for company
  EXPECT_TRUE(p.add(Req, 2, 2500).empty()); // joins the same flit
  auto out = p.poll(3000);
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].header_count(), 2u);
  EXPECT_EQ(out[0].used_slots(), 2u);
  EXPECT_FALSE(p.next_deadline());
  // A message after the deadline closes the expired flit first.
  p.add(Req, 3, 4000);
  auto late = p.add(Req, 4, 6001);
  ASSERT_EQ(late.size(), 1u);
  EXPECT_EQ(late[0].header_count(), 1u);
  EXPECT_EQ(p.flush().size(), 1u);
  EXPECT_EQ(p.stats().flits, 3u);
  EXPECT_EQ(p.stats().messages[size_t(Req)], 4u);
  EXPECT_EQ(p.stats().wire_bytes, 3u * 68);
}

TEST(cxlFlitPacker, FullFlitsLeaveAtPollWithoutWaiting) {
  FlitPacker p(FlitFormat::cxl68(), Direction::m2s, /*hold_ps=*/1'000'000);
  for (uint64_t i = 0; i < 9; ++i)
    p.add(Req, i, 0);
  auto out = p.poll(0); // two flits of 4 Req are full; the 9th waits
  EXPECT_EQ(out.size(), 2u);
  EXPECT_EQ(p.open_flits(), 1u);
  EXPECT_DOUBLE_EQ(p.stats().slot_utilisation(), 1.0);
  // Hold 0: same-instant messages share a flit, a later one does not.
  FlitPacker q(FlitFormat::cxl68(), Direction::m2s, 0);
  q.add(Req, 0, 10);
  q.add(Req, 1, 10);
  EXPECT_EQ(q.poll(10).size(), 1u);
  q.add(Req, 2, 11);
  EXPECT_EQ(q.flush().size(), 1u);
}

TEST(cxlFlitPacker, RejectsOtherDirection) {
  FlitPacker p(FlitFormat::cxl68(), Direction::m2s);
  EXPECT_THROW(p.add(DRS, 0, 0), std::invalid_argument);
  EXPECT_EQ(direction_of(NDR), Direction::s2m);
  EXPECT_TRUE(carries_data(RwD));
  EXPECT_FALSE(carries_data(Req));
}

TEST(cxlMemHeader, MemRdFieldPositions) {
  MemHeader h;
  h.cls = Req;
  h.opcode = uint8_t(M2SReqOp::mem_rd);
  h.tag = 0x8001;
  h.addr = 0x40; // Addr[6] -> bit 28
  HeaderBits b = encode_header(h);
  // valid 0, opcode 0001 at 4:1 -> bit 1, tag bits 12 and 27, addr bit 28.
  EXPECT_EQ(b, bits_of({0, 1, 12, 27, 28}));
  EXPECT_EQ(header_bits(Req), 100u);
  h.tc = 3;
  h.ld_id = 0xF;
  EXPECT_EQ(encode_header(h), bits_of({0, 1, 12, 27, 28, 74, 75, 76, 77, 98, 99}));
}

TEST(cxlMemHeader, PoisonAndTagPositions) {
  MemHeader w;
  w.cls = RwD;
  w.opcode = uint8_t(M2SRwDOp::mem_wr);
  w.poison = true;
  EXPECT_EQ(encode_header(w), bits_of({0, 1, 74}));
  w.poison = false;
  w.bep = true;
  w.tc = 2;
  EXPECT_EQ(encode_header(w), bits_of({0, 1, 75, 103}));

  MemHeader d;
  d.cls = DRS;
  d.opcode = uint8_t(S2MDrsOp::mem_data_nxm);
  d.poison = true;
  d.tag = 0x0101;
  d.dev_load = 3;
  EXPECT_EQ(encode_header(d), bits_of({0, 1, 8, 16, 24, 29, 30}));

  MemHeader n;
  n.cls = NDR;
  n.opcode = uint8_t(S2MNdrOp::bi_conflict_ack); // 0b100 -> bit 3
  n.tag = 0x8000;
  n.ld_id = 1;
  n.meta_value = 2;
  EXPECT_EQ(encode_header(n), bits_of({0, 3, 7, 23, 24}));
}

TEST(cxlMemHeader, RandomRoundTrips) {
  std::mt19937_64 rng(11);
  for (int i = 0; i < 4000; ++i) {
    MemHeader h;
    h.cls = MsgClass(rng() % 4);
    bool m2s = direction_of(h.cls) == Direction::m2s;
    h.opcode = uint8_t(rng() % (m2s ? 16 : 8));
    h.meta_field = uint8_t(rng() % 4);
    h.meta_value = uint8_t(rng() % 4);
    h.tag = uint16_t(rng());
    h.ld_id = uint8_t(rng() % 16);
    if (m2s) {
      h.snp_type = uint8_t(rng() % 8);
      h.addr = (rng() % (1ull << 52)) & ~63ull;
      h.tc = uint8_t(rng() % 4);
    } else {
      h.dev_load = uint8_t(rng() % 4);
    }
    if (h.cls == RwD || h.cls == DRS)
      h.poison = rng() & 1;
    if (h.cls == RwD)
      h.bep = rng() & 1;
    HeaderBits b = encode_header(h);
    for (unsigned bit = header_bits(h.cls); bit < 128; ++bit)
      ASSERT_FALSE((b[bit / 8] >> (bit % 8)) & 1) << "bit beyond the header";
    auto back = decode_header(h.cls, b);
    ASSERT_TRUE(back);
    EXPECT_EQ(*back, h);
  }
}

TEST(cxlMemHeader, EncodeRejectsWhatDoesNotFit) {
  MemHeader h;
  h.cls = Req;
  h.addr = 0x41;
  EXPECT_THROW(encode_header(h), std::invalid_argument); // not 64 B aligned
  h.addr = 1ull << 52;
  EXPECT_THROW(encode_header(h), std::invalid_argument); // Addr[51:6] only
  h.addr = 0;
  h.opcode = 16;
  EXPECT_THROW(encode_header(h), std::invalid_argument);
  h.opcode = 0;
  h.poison = true; // Req has no poison bit
  EXPECT_THROW(encode_header(h), std::invalid_argument);
  MemHeader s;
  s.cls = NDR;
  s.opcode = 8; // 3-bit opcode
  EXPECT_THROW(encode_header(s), std::invalid_argument);
  s.opcode = 0;
  s.addr = 64; // S2M carries no address
  EXPECT_THROW(encode_header(s), std::invalid_argument);
  s.addr = 0;
  s.dev_load = 4;
  EXPECT_THROW(encode_header(s), std::invalid_argument);
}

TEST(cxlMemHeader, DecodeRejectsInvalidAndReservedBits) {
  EXPECT_FALSE(decode_header(Req, HeaderBits{}));                 // valid clear
  EXPECT_FALSE(decode_header(Req, bits_of({0, 80})));             // reserved 97:78
  EXPECT_FALSE(decode_header(RwD, bits_of({0, 90})));             // reserved 101:80
  EXPECT_FALSE(decode_header(NDR, bits_of({0, 30})));             // beyond 30 bits
  EXPECT_FALSE(decode_header(DRS, bits_of({0, 31})));             // beyond 31 bits
  auto ok = decode_header(DRS, bits_of({0, 24}));
  ASSERT_TRUE(ok);
  EXPECT_TRUE(ok->poison);
  EXPECT_EQ(ok->opcode, uint8_t(S2MDrsOp::mem_data));
}
