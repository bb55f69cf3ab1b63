#include "flit_packer.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <stdexcept>
#include <string>

namespace pnm::cxl {

Direction direction_of(MsgClass c) {
  return (c == MsgClass::m2s_req || c == MsgClass::m2s_rwd) ? Direction::m2s : Direction::s2m;
}

bool carries_data(MsgClass c) { return c == MsgClass::m2s_rwd || c == MsgClass::s2m_drs; }

const char* to_string(MsgClass c) {
  switch (c) {
  case MsgClass::m2s_req: return "M2S Req";
  case MsgClass::m2s_rwd: return "M2S RwD";
  case MsgClass::s2m_ndr: return "S2M NDR";
  case MsgClass::s2m_drs: return "S2M DRS";
  }
  return "?";
}

const char* to_string(Direction d) { return d == Direction::m2s ? "M2S" : "S2M"; }
const char* to_string(FlitMode m) { return m == FlitMode::flit68 ? "68B" : "256B"; }

namespace {

constexpr std::array<MsgClass, 2> m2s_classes{MsgClass::m2s_req, MsgClass::m2s_rwd};
constexpr std::array<MsgClass, 2> s2m_classes{MsgClass::s2m_ndr, MsgClass::s2m_drs};

const std::array<MsgClass, 2>& classes_of(Direction d) {
  return d == Direction::m2s ? m2s_classes : s2m_classes;
}

// ---- bit vector helpers (bit i = bit i%8 of byte i/8) ----
void put(HeaderBits& b, unsigned lo, unsigned width, uint64_t v) {
  for (unsigned i = 0; i < width; ++i)
    if ((v >> i) & 1)
      b[(lo + i) / 8] |= uint8_t(1u << ((lo + i) % 8));
}

uint64_t get(const HeaderBits& b, unsigned lo, unsigned width) {
  uint64_t v = 0;
  for (unsigned i = 0; i < width; ++i)
    if ((b[(lo + i) / 8] >> ((lo + i) % 8)) & 1)
      v |= uint64_t(1) << i;
  return v;
}

void check_width(uint64_t v, unsigned width, const char* field) {
  if (width < 64 && (v >> width) != 0)
    throw std::invalid_argument(std::string("CXL.mem header field ") + field + " does not fit in " +
                                std::to_string(width) + " bits");
}

void check_absent(bool present, const char* field, MsgClass c) {
  if (present)
    throw std::invalid_argument(std::string(to_string(c)) + " has no " + field + " field");
}

// Field positions, REFERENCE D.1 (OpenCXL). Common M2S prefix: valid 0,
// opcode 4:1, SnpType 7:5, MetaField 9:8, MetaValue 11:10, tag 27:12,
// addr 73:28. Common S2M prefix: valid 0, opcode 3:1, MetaField 5:4,
// MetaValue 7:6, tag 23:8.
struct Field {
  unsigned lo, width;
};
constexpr Field m_opcode{1, 4}, m_snp{5, 3}, m_mf{8, 2}, m_mv{10, 2}, m_tag{12, 16}, m_addr{28, 46};
constexpr Field req_ldid{74, 4}, req_rsvd{78, 20}, req_tc{98, 2};
constexpr Field rwd_poison{74, 1}, rwd_bep{75, 1}, rwd_ldid{76, 4}, rwd_rsvd{80, 22}, rwd_tc{102, 2};
constexpr Field s_opcode{1, 3}, s_mf{4, 2}, s_mv{6, 2}, s_tag{8, 16};
constexpr Field ndr_ldid{24, 4}, ndr_devload{28, 2};
constexpr Field drs_poison{24, 1}, drs_ldid{25, 4}, drs_devload{29, 2};

void put(HeaderBits& b, Field f, uint64_t v, const char* name) {
  check_width(v, f.width, name);
  put(b, f.lo, f.width, v);
}
uint64_t get(const HeaderBits& b, Field f) { return get(b, f.lo, f.width); }

} // namespace

bool MemHeader::operator==(const MemHeader& o) const {
  return cls == o.cls && valid == o.valid && opcode == o.opcode && snp_type == o.snp_type &&
         meta_field == o.meta_field && meta_value == o.meta_value && tag == o.tag && addr == o.addr &&
         poison == o.poison && bep == o.bep && ld_id == o.ld_id && dev_load == o.dev_load && tc == o.tc;
}

uint32_t header_bits(MsgClass c) {
  switch (c) {
  case MsgClass::m2s_req: return 100;
  case MsgClass::m2s_rwd: return 104;
  case MsgClass::s2m_ndr: return 30;
  case MsgClass::s2m_drs: return 31;
  }
  return 0;
}

HeaderBits encode_header(const MemHeader& h) {
  HeaderBits b{};
  put(b, 0, 1, h.valid ? 1 : 0);
  if (direction_of(h.cls) == Direction::m2s) {
    check_absent(h.dev_load != 0, "DevLoad", h.cls);
    if (h.addr % cache_line_bytes != 0)
      throw std::invalid_argument("CXL.mem address must be 64 B aligned");
    put(b, m_opcode, h.opcode, "opcode");
    put(b, m_snp, h.snp_type, "SnpType");
    put(b, m_mf, h.meta_field, "MetaField");
    put(b, m_mv, h.meta_value, "MetaValue");
    put(b, m_tag, h.tag, "tag");
    put(b, m_addr, h.addr >> 6, "address (Addr[51:6])");
    if (h.cls == MsgClass::m2s_req) {
      check_absent(h.poison, "poison", h.cls);
      check_absent(h.bep, "BEP", h.cls);
      put(b, req_ldid, h.ld_id, "LD-ID");
      put(b, req_tc, h.tc, "TC");
    } else {
      put(b, rwd_poison, h.poison, "poison");
      put(b, rwd_bep, h.bep, "BEP");
      put(b, rwd_ldid, h.ld_id, "LD-ID");
      put(b, rwd_tc, h.tc, "TC");
    }
  } else {
    check_absent(h.snp_type != 0, "SnpType", h.cls);
    check_absent(h.addr != 0, "address", h.cls);
    check_absent(h.bep, "BEP", h.cls);
    check_absent(h.tc != 0, "TC", h.cls);
    put(b, s_opcode, h.opcode, "opcode");
    put(b, s_mf, h.meta_field, "MetaField");
    put(b, s_mv, h.meta_value, "MetaValue");
    put(b, s_tag, h.tag, "tag");
    if (h.cls == MsgClass::s2m_ndr) {
      check_absent(h.poison, "poison", h.cls);
      put(b, ndr_ldid, h.ld_id, "LD-ID");
      put(b, ndr_devload, h.dev_load, "DevLoad");
    } else {
      put(b, drs_poison, h.poison, "poison");
      put(b, drs_ldid, h.ld_id, "LD-ID");
      put(b, drs_devload, h.dev_load, "DevLoad");
    }
  }
  return b;
}

std::optional<MemHeader> decode_header(MsgClass c, const HeaderBits& b) {
  unsigned width = header_bits(c);
  if (get(b, 0, 1) == 0)
    return std::nullopt;
  for (unsigned i = width; i < 128; ++i)
    if (get(b, i, 1))
      return std::nullopt; // beyond the header
  MemHeader h;
  h.cls = c;
  h.valid = true;
  if (direction_of(c) == Direction::m2s) {
    h.opcode = uint8_t(get(b, m_opcode));
    h.snp_type = uint8_t(get(b, m_snp));
    h.meta_field = uint8_t(get(b, m_mf));
    h.meta_value = uint8_t(get(b, m_mv));
    h.tag = uint16_t(get(b, m_tag));
    h.addr = get(b, m_addr) << 6;
    if (c == MsgClass::m2s_req) {
      if (get(b, req_rsvd) != 0)
        return std::nullopt;
      h.ld_id = uint8_t(get(b, req_ldid));
      h.tc = uint8_t(get(b, req_tc));
    } else {
      if (get(b, rwd_rsvd) != 0)
        return std::nullopt;
      h.poison = get(b, rwd_poison) != 0;
      h.bep = get(b, rwd_bep) != 0;
      h.ld_id = uint8_t(get(b, rwd_ldid));
      h.tc = uint8_t(get(b, rwd_tc));
    }
  } else {
    h.opcode = uint8_t(get(b, s_opcode));
    h.meta_field = uint8_t(get(b, s_mf));
    h.meta_value = uint8_t(get(b, s_mv));
    h.tag = uint16_t(get(b, s_tag));
    if (c == MsgClass::s2m_ndr) {
      h.ld_id = uint8_t(get(b, ndr_ldid));
      h.dev_load = uint8_t(get(b, ndr_devload));
    } else {
      h.poison = get(b, drs_poison) != 0;
      h.ld_id = uint8_t(get(b, drs_ldid));
      h.dev_load = uint8_t(get(b, drs_devload));
    }
  }
  return h;
}

// ---------------------------------------------------------------------------
// Flit formats

namespace {
uint32_t capacity(const std::vector<SlotFormat>& list, MsgClass c) {
  uint32_t best = 0;
  for (const SlotFormat& f : list)
    best = std::max<uint32_t>(best, f.headers[size_t(c)]);
  return best;
}

SlotFormat fmt(const char* name, uint8_t req, uint8_t rwd, uint8_t ndr, uint8_t drs) {
  return SlotFormat{name, {req, rwd, ndr, drs}};
}

// Every maximal combination of two header classes whose bits fit `budget`.
void derive_formats(std::vector<SlotFormat>& out, const char* kind, uint32_t budget, MsgClass a,
                    uint32_t a_bits, MsgClass b, uint32_t b_bits) {
  for (uint32_t na = 0; na * a_bits <= budget; ++na) {
    uint32_t nb = (budget - na * a_bits) / b_bits;
    if (na + nb == 0)
      continue;
    bool a_more = (na + 1) * a_bits + nb * b_bits <= budget;
    if (a_more)
      continue; // not maximal: (na + 1, nb) is listed too
    SlotFormat f;
    f.headers[size_t(a)] = uint8_t(na);
    f.headers[size_t(b)] = uint8_t(nb);
    f.name = std::string(kind) + " " + std::to_string(na) + "x" + to_string(a) + " + " +
             std::to_string(nb) + "x" + to_string(b);
    out.push_back(f);
  }
}
} // namespace

uint32_t FlitFormat::header_slot_capacity(MsgClass c) const { return capacity(header_slot_formats, c); }
uint32_t FlitFormat::generic_slot_capacity(MsgClass c) const { return capacity(generic_slot_formats, c); }

void FlitFormat::validate() const {
  uint32_t sum = protocol_id_bytes + flit_header_bytes + header_slot_bytes +
                 generic_slots * generic_slot_bytes + credit_bytes + crc_bytes + fec_bytes;
  if (sum != flit_bytes)
    throw std::invalid_argument("flit format: parts add up to " + std::to_string(sum) + " B, not " +
                                std::to_string(flit_bytes));
  if (generic_slots == 0 || data_slots_per_line == 0)
    throw std::invalid_argument("flit format: needs generic slots and data slots per line");
  if (all_data_flits && header_slot_bytes != generic_slot_bytes)
    throw std::invalid_argument("flit format: all-data flits need a header slot as large as a generic one");
  for (unsigned c = 0; c < msg_class_count; ++c)
    if (header_slot_capacity(MsgClass(c)) == 0 || generic_slot_capacity(MsgClass(c)) == 0)
      throw std::invalid_argument(std::string("flit format: no slot format carries ") +
                                  to_string(MsgClass(c)));
}

FlitFormat FlitFormat::cxl68() {
  FlitFormat f;
  f.mode = FlitMode::flit68;
  f.flit_bytes = 68;
  f.protocol_id_bytes = 2;
  f.flit_header_bytes = 0; // the 4 B flit header sits in slot 0
  f.header_slot_bytes = 16;
  f.generic_slots = 3;
  f.generic_slot_bytes = 16;
  f.credit_bytes = 0; // credits return in the flit header
  f.crc_bytes = 2;
  f.fec_bytes = 0;
  f.data_slots_per_line = 4;
  f.all_data_flits = true; // unverified
  // CXL.mem part of the CXL 2.0 slot formats (pyCXL): the rest of each
  // format carries CXL.cache messages, unused by a Type-3 device.
  f.header_slot_formats = {
      fmt("M2S H4", 0, 1, 0, 0), fmt("M2S H5", 1, 0, 0, 0),
      fmt("S2M H0", 0, 0, 1, 0), fmt("S2M H3", 0, 0, 1, 1),
      fmt("S2M H4", 0, 0, 2, 0), fmt("S2M H5", 0, 0, 0, 2),
  };
  f.generic_slot_formats = {
      fmt("M2S G4", 1, 0, 0, 0), fmt("M2S G5", 0, 1, 0, 0),
      fmt("S2M G4", 0, 0, 2, 1), fmt("S2M G5", 0, 0, 2, 0), fmt("S2M G6", 0, 0, 0, 3),
  };
  return f;
}

FlitFormat FlitFormat::cxl256(const HeaderWidths& w) {
  FlitFormat f;
  f.mode = FlitMode::flit256;
  f.flit_bytes = 256;
  f.protocol_id_bytes = 0;
  f.flit_header_bytes = 2;
  f.header_slot_bytes = 14;
  f.generic_slots = 14;
  f.generic_slot_bytes = 16;
  f.credit_bytes = 2;
  f.crc_bytes = 8;
  f.fec_bytes = 6;
  f.data_slots_per_line = 4;
  f.all_data_flits = false;
  uint32_t hs_bits = f.header_slot_bytes * 8, g_bits = f.generic_slot_bytes * 8;
  derive_formats(f.header_slot_formats, "HS", hs_bits, MsgClass::m2s_req, w.req, MsgClass::m2s_rwd, w.rwd);
  derive_formats(f.header_slot_formats, "HS", hs_bits, MsgClass::s2m_ndr, w.ndr, MsgClass::s2m_drs, w.drs);
  derive_formats(f.generic_slot_formats, "G", g_bits, MsgClass::m2s_req, w.req, MsgClass::m2s_rwd, w.rwd);
  derive_formats(f.generic_slot_formats, "G", g_bits, MsgClass::s2m_ndr, w.ndr, MsgClass::s2m_drs, w.drs);
  return f;
}

// ---------------------------------------------------------------------------
// Closed form

namespace {
// Fewest slots (fractional) of one kind that hold na headers of class a and
// nb of class b: a two-constraint covering LP over the slot formats, whose
// optimum uses at most two formats. One class alone gives n / capacity.
double min_slots(const std::vector<SlotFormat>& fmts, MsgClass a, double na, MsgClass b, double nb) {
  double best = std::numeric_limits<double>::infinity();
  auto hs = [&](const SlotFormat& f, MsgClass c) { return double(f.headers[size_t(c)]); };
  for (const SlotFormat& f : fmts) {
    if ((na > 0 && hs(f, a) == 0) || (nb > 0 && hs(f, b) == 0))
      continue;
    double s = std::max(na > 0 ? na / hs(f, a) : 0.0, nb > 0 ? nb / hs(f, b) : 0.0);
    best = std::min(best, s);
  }
  for (const SlotFormat& f : fmts)
    for (const SlotFormat& g : fmts) {
      double det = hs(f, a) * hs(g, b) - hs(g, a) * hs(f, b);
      if (det == 0)
        continue;
      double x = (na * hs(g, b) - hs(g, a) * nb) / det;
      double y = (hs(f, a) * nb - na * hs(f, b)) / det;
      if (x >= 0 && y >= 0)
        best = std::min(best, x + y);
    }
  return best;
}

// ceil that forgives floating-point noise just above an integer
uint64_t ceil_tol(double x) {
  double r = std::round(x);
  if (std::fabs(x - r) <= 1e-9 * std::max(1.0, std::fabs(x)))
    return uint64_t(std::max(0.0, r));
  return uint64_t(std::ceil(x));
}
} // namespace

FlitEstimate estimate_flits(const FlitFormat& f, Direction dir, const MessageMix& mix) {
  f.validate();
  FlitEstimate e;
  const MsgClass a = classes_of(dir)[0], b = classes_of(dir)[1];
  const uint64_t headers = mix[a] + mix[b];
  uint64_t data = 0, lines = 0;
  for (MsgClass c : {a, b})
    if (carries_data(c)) {
      lines += mix[c];
      data += mix[c] * f.data_slots_per_line;
    }
  if (headers == 0)
    return e;
  // Header demand in slot-0 slots and in generic slots.
  const double uH = min_slots(f.header_slot_formats, a, double(mix[a]), b, double(mix[b]));
  const double uG = min_slots(f.generic_slot_formats, a, double(mix[a]), b, double(mix[b]));
  const uint64_t slot0_needed = ceil_tol(uH);
  const uint64_t G = f.generic_slots;
  uint64_t hdr_slots = 0;
  // Generic slots needed for the headers that `slot0` header slots cannot
  // hold. Which headers stay in slot 0 is a choice: the same mix in both, or
  // as many of one class as fit first; the cheapest of the three is taken.
  auto generic_for_rest = [&](double slot0) {
    if (uH <= slot0)
      return uint64_t(0);
    double na = double(mix[a]), nb = double(mix[b]);
    double best = uG * (1.0 - slot0 / uH);
    for (int first = 0; first < 2; ++first) {
      // x1 of the first class go to slot 0, then as many x2 of the other as still fit.
      double n1 = first ? nb : na, n2 = first ? na : nb;
      MsgClass c1 = first ? b : a, c2 = first ? a : b;
      double x1 = std::min(n1, slot0 * f.header_slot_capacity(c1));
      double lo2 = 0, hi2 = n2;
      for (int it = 0; it < 60; ++it) {
        double mid = 0.5 * (lo2 + hi2);
        if (min_slots(f.header_slot_formats, c1, x1, c2, mid) <= slot0)
          lo2 = mid;
        else
          hi2 = mid;
      }
      best = std::min(best, min_slots(f.generic_slot_formats, c1, n1 - x1, c2, n2 - lo2));
    }
    return ceil_tol(best);
  };
  // Can F flits carry everything? Headers fill slot 0 of the normal flits
  // first, the rest takes generic slots (generic_for_rest); data takes the
  // other generic slots and whole all-data flits (68B). `all_data` is 0 or
  // just enough normal flits for the header slots, as the packer does.
  auto feasible = [&](uint64_t F) {
    uint64_t cands[2] = {0, 0};
    int nc = 1;
    if (f.all_data_flits && data > 0 && F > slot0_needed)
      cands[nc++] = F - slot0_needed;
    for (int i = 0; i < nc; ++i) {
      uint64_t all_data = cands[i], normal = F - all_data;
      uint64_t g = generic_for_rest(double(normal));
      if (g > normal * G)
        continue;
      uint64_t data_cap = normal * G - g + all_data * (G + 1);
      if (data <= data_cap) {
        hdr_slots = std::min(normal, slot0_needed) + g;
        return true;
      }
    }
    return false;
  };
  uint64_t lo = 1, hi = headers + data; // one item per flit always fits
  while (lo < hi) {
    uint64_t mid = lo + (hi - lo) / 2;
    if (feasible(mid))
      hi = mid;
    else
      lo = mid + 1;
  }
  feasible(lo);
  e.flits = lo;
  e.data_slots = data;
  e.header_slots = hdr_slots;
  e.wire_bytes = lo * f.flit_bytes;
  e.data_bytes = lines * cache_line_bytes;
  e.slot_utilisation = double(data + hdr_slots) / double(lo * f.slots_per_flit());
  e.data_efficiency = double(e.data_bytes) / double(e.wire_bytes);
  return e;
}

// ---------------------------------------------------------------------------
// Stateful packer

uint32_t Flit::used_slots() const {
  uint32_t n = 0;
  for (const SlotContent& s : slots)
    n += s.kind != SlotContent::Kind::empty;
  return n;
}

uint32_t Flit::header_count() const {
  uint32_t n = 0;
  for (const SlotContent& s : slots)
    if (s.kind == SlotContent::Kind::header)
      for (uint8_t h : s.headers)
        n += h;
  return n;
}

FlitPacker::FlitPacker(FlitFormat fmt, Direction dir, Picos hold_ps)
    : fmt_(std::move(fmt)), dir_(dir), hold_ps_(hold_ps) {
  fmt_.validate();
  for (MsgClass c : classes_of(dir))
    dir_classes_.push_back(c);
}

bool FlitPacker::fits(bool header_slot, const std::array<uint8_t, msg_class_count>& n) const {
  const auto& list = header_slot ? fmt_.header_slot_formats : fmt_.generic_slot_formats;
  for (const SlotFormat& f : list) {
    bool ok = true;
    for (unsigned i = 0; i < msg_class_count && ok; ++i)
      ok = n[i] <= f.headers[i];
    if (ok)
      return true;
  }
  return false;
}

bool FlitPacker::can_accept(const Open& o) const {
  if (o.flit.all_data)
    return false;
  if (o.empty_slots > 0)
    return true;
  for (uint32_t k = 0; k < o.flit.slots.size(); ++k) {
    const SlotContent& s = o.flit.slots[k];
    if (s.kind != SlotContent::Kind::header)
      continue;
    for (MsgClass c : dir_classes_) {
      auto n = s.headers;
      ++n[size_t(c)];
      if (fits(k == 0, n))
        return true;
    }
  }
  return false;
}

FlitPacker::Open& FlitPacker::new_flit(bool all_data, Picos now) {
  Open o;
  o.flit.seq = next_seq_++;
  o.flit.all_data = all_data;
  o.flit.first_ps = now;
  o.flit.slots.resize(fmt_.slots_per_flit());
  o.empty_slots = fmt_.slots_per_flit();
  open_.push_back(std::move(o));
  return open_.back();
}

Placement FlitPacker::place(MsgClass c, uint64_t id, Picos now) {
  if (direction_of(c) != dir_)
    throw std::invalid_argument(std::string(to_string(c)) + " does not travel " + to_string(dir_));
  const size_t ci = size_t(c);
  const uint32_t nslots = fmt_.slots_per_flit();
  using Kind = SlotContent::Kind;

  // Header: earliest slot that can take it, not before the previous header
  // of the same channel (channel order).
  Pos hp{};
  bool placed = false;
  uint64_t s0 = first_open_seq();
  uint32_t k0 = 0;
  if (last_header_[ci] && last_header_[ci]->seq >= s0) {
    s0 = last_header_[ci]->seq;
    k0 = last_header_[ci]->slot;
  }
  for (uint64_t s = s0; s < next_seq_ && !placed; ++s) {
    Open& o = open_at(s);
    if (o.flit.all_data)
      continue;
    for (uint32_t k = (s == s0 ? k0 : 0); k < nslots; ++k) {
      SlotContent& sl = o.flit.slots[k];
      if (sl.kind == Kind::data)
        continue;
      auto n = sl.headers;
      ++n[ci];
      if (!fits(k == 0, n))
        continue;
      if (sl.kind == Kind::empty) {
        sl.kind = Kind::header;
        --o.empty_slots;
      }
      sl.headers = n;
      sl.ids.push_back(id);
      hp = {s, k};
      placed = true;
      break;
    }
  }
  if (!placed) {
    Open& o = new_flit(false, now);
    SlotContent& sl = o.flit.slots[0];
    sl.kind = Kind::header;
    sl.headers[ci] = 1;
    sl.ids.push_back(id);
    --o.empty_slots;
    hp = {o.flit.seq, 0};
  }
  last_header_[ci] = hp;
  Placement pl{hp.seq, hp.seq};

  // Data: the next free generic slots after the header and the previous data.
  if (carries_data(c)) {
    Pos b = hp;
    if (data_last_ && (data_last_->seq > b.seq || (data_last_->seq == b.seq && data_last_->slot > b.slot)))
      b = *data_last_;
    uint32_t left = fmt_.data_slots_per_line;
    uint8_t chunk = 0;
    auto put_data = [&](Open& o, uint32_t k) {
      SlotContent& sl = o.flit.slots[k];
      sl.kind = Kind::data;
      sl.ids.assign(1, id);
      sl.chunk = chunk++;
      --o.empty_slots;
      --left;
      data_last_ = Pos{o.flit.seq, k};
      pl.last_flit = o.flit.seq;
    };
    for (uint64_t s = b.seq; s < next_seq_ && left > 0; ++s) {
      Open& o = open_at(s);
      if (o.flit.all_data)
        continue; // always full
      for (uint32_t k = (s == b.seq ? b.slot + 1 : 1); k < nslots && left > 0; ++k)
        if (k > 0 && o.flit.slots[k].kind == Kind::empty)
          put_data(o, k);
    }
    while (left > 0) {
      bool all = fmt_.all_data_flits && left >= nslots;
      Open& o = new_flit(all, now);
      for (uint32_t k = all ? 0 : 1; k < nslots && left > 0; ++k)
        put_data(o, k);
    }
  }
  ++stats_.messages[ci];
  return pl;
}

void FlitPacker::close_front(std::vector<Flit>* out) {
  Open& o = open_.front();
  ++stats_.flits;
  stats_.all_data_flits += o.flit.all_data;
  stats_.slots_total += fmt_.slots_per_flit();
  stats_.wire_bytes += fmt_.flit_bytes;
  for (const SlotContent& s : o.flit.slots) {
    stats_.header_slots += s.kind == SlotContent::Kind::header;
    stats_.data_slots += s.kind == SlotContent::Kind::data;
  }
  if (out)
    out->push_back(std::move(o.flit));
  open_.pop_front();
}

void FlitPacker::close_before(uint64_t seq, std::vector<Flit>* out) {
  while (!open_.empty() && open_.front().flit.seq < seq)
    close_front(out);
}

namespace {
Picos sat_add(Picos a, Picos b) {
  return a > std::numeric_limits<Picos>::max() - b ? std::numeric_limits<Picos>::max() : a + b;
}
} // namespace

std::vector<Flit> FlitPacker::add(MsgClass c, uint64_t id, Picos now, Placement* where) {
  std::vector<Flit> out;
  while (!open_.empty() && sat_add(open_.front().flit.first_ps, hold_ps_) < now)
    close_front(&out);
  Placement p = place(c, id, now);
  if (where)
    *where = p;
  return out;
}

std::vector<Flit> FlitPacker::poll(Picos now) {
  std::vector<Flit> out;
  while (!open_.empty() &&
         (!can_accept(open_.front()) || sat_add(open_.front().flit.first_ps, hold_ps_) <= now))
    close_front(&out);
  return out;
}

std::vector<Flit> FlitPacker::flush() {
  std::vector<Flit> out;
  while (!open_.empty())
    close_front(&out);
  return out;
}

std::optional<Picos> FlitPacker::next_deadline() const {
  if (open_.empty())
    return std::nullopt;
  return sat_add(open_.front().flit.first_ps, hold_ps_);
}

} // namespace pnm::cxl
