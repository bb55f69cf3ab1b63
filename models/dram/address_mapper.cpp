#include "address_mapper.h"

#include <fmt/format.h>
#include <stdexcept>

namespace pnm::dram {

namespace {
uint32_t log2u(uint64_t v) {
  uint32_t b = 0;
  while ((1ull << b) < v) ++b;
  return b;
}
const char* name(Field f) {
  static const char* names[] = {"Ch", "Ra", "Bg", "Ba", "Ro", "Co"};
  return names[static_cast<int>(f)];
}
} // namespace

std::vector<std::string> AddressMapper::presets() {
  return {"RoBaRaCoCh (Ramulator 2: Ro Ba Bg Ra Co Ch)",
          "ChRaBaRoCo (Ramulator 2: Ch Ra Bg Ba Ro Co)", "any MSB-first order of Ro Ba Bg Ra Co Ch"};
}

AddressMapper::AddressMapper(const std::string& order_in, const DramOrg& org, uint32_t channels,
                             uint32_t ranks) {
  std::string order = order_in;
  // Ramulator 2's linear mappers treat bank group as a level of its own; these
  // expansions reproduce its bit order (src/addr_mapper/impl/linear_mappers.cpp).
  if (order == "RoBaRaCoCh") order = "RoBaBgRaCoCh";
  if (order == "ChRaBaRoCo") order = "ChRaBgBaRoCo";
  if (order.size() != 12)
    throw std::invalid_argument(fmt::format(
        "address mapping '{}': expected six two-letter fields (Ro Ba Bg Ra Co Ch) or a preset",
        order_in));
  if (channels == 0 || (channels & (channels - 1)) || ranks == 0 || (ranks & (ranks - 1)))
    throw std::invalid_argument("address mapping: channels and ranks must be powers of two");
  std::vector<Field> msb_first;
  bool seen[6] = {};
  for (size_t i = 0; i < order.size(); i += 2) {
    std::string tok = order.substr(i, 2);
    Field f;
    if (tok == "Ch") f = Field::Ch;
    else if (tok == "Ra") f = Field::Ra;
    else if (tok == "Bg") f = Field::Bg;
    else if (tok == "Ba") f = Field::Ba;
    else if (tok == "Ro") f = Field::Ro;
    else if (tok == "Co") f = Field::Co;
    else
      throw std::invalid_argument(
          fmt::format("address mapping '{}': unknown field '{}' (valid: Ro Ba Bg Ra Co Ch)",
                      order_in, tok));
    if (seen[static_cast<int>(f)])
      throw std::invalid_argument(
          fmt::format("address mapping '{}': field '{}' appears twice", order_in, tok));
    seen[static_cast<int>(f)] = true;
    msb_first.push_back(f);
  }
  offset_bits_ = log2u(org.burst_bytes());
  auto bits_of = [&](Field f) -> uint32_t {
    switch (f) {
    case Field::Ch: return log2u(channels);
    case Field::Ra: return log2u(ranks);
    case Field::Bg: return log2u(org.bank_groups);
    case Field::Ba: return log2u(org.banks_per_group);
    case Field::Ro: return log2u(org.rows);
    case Field::Co: return log2u(org.columns / org.burst_length);
    }
    return 0;
  };
  uint32_t total = offset_bits_;
  for (auto it = msb_first.rbegin(); it != msb_first.rend(); ++it) {
    lsb_first_.push_back(Slice{*it, bits_of(*it)});
    total += bits_of(*it);
  }
  for (Field f : msb_first) canonical_ += name(f);
  capacity_ = 1ull << total;
}

DramAddress AddressMapper::decode(uint64_t addr) const {
  DramAddress a;
  uint64_t v = addr >> offset_bits_;
  for (const Slice& s : lsb_first_) {
    uint32_t x = static_cast<uint32_t>(v & ((1ull << s.bits) - 1));
    v >>= s.bits;
    switch (s.field) {
    case Field::Ch: a.channel = x; break;
    case Field::Ra: a.rank = x; break;
    case Field::Bg: a.bankgroup = x; break;
    case Field::Ba: a.bank = x; break;
    case Field::Ro: a.row = x; break;
    case Field::Co: a.column = x; break;
    }
  }
  return a;
}

uint64_t AddressMapper::encode(const DramAddress& a) const {
  uint64_t v = 0;
  uint32_t shift = offset_bits_;
  for (const Slice& s : lsb_first_) {
    uint64_t x = 0;
    switch (s.field) {
    case Field::Ch: x = a.channel; break;
    case Field::Ra: x = a.rank; break;
    case Field::Bg: x = a.bankgroup; break;
    case Field::Ba: x = a.bank; break;
    case Field::Ro: x = a.row; break;
    case Field::Co: x = a.column; break;
    }
    v |= (x & ((1ull << s.bits) - 1)) << shift;
    shift += s.bits;
  }
  return v;
}

} // namespace pnm::dram
