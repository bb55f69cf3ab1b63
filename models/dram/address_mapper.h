// Physical address -> (channel, rank, bank group, bank, row, column) by a
// configurable bit order. Fields are named MSB first, e.g. "RoBaBgRaCoCh";
// the low bits below one burst (64 B) are the transaction offset.
#pragma once

#include "dram_spec.h"

#include <array>
#include <cstdint>
#include <string>
#include <vector>

namespace pnm::dram {

struct DramAddress {
  uint32_t channel = 0, rank = 0, bankgroup = 0, bank = 0, row = 0, column = 0;
};

enum class Field : uint8_t { Ch, Ra, Bg, Ba, Ro, Co };

class AddressMapper {
public:
  // `order` is either an explicit MSB-first list of Ro/Ba/Bg/Ra/Co/Ch or one
  // of the Ramulator 2 names (RoBaRaCoCh, ChRaBaRoCo), expanded as Ramulator
  // 2 does. Throws std::invalid_argument naming the problem.
  AddressMapper(const std::string& order, const DramOrg& org, uint32_t channels, uint32_t ranks);

  DramAddress decode(uint64_t addr) const;
  uint64_t encode(const DramAddress& a) const; // inverse, for tests and generators

  uint64_t capacity_bytes() const { return capacity_; }
  uint32_t offset_bits() const { return offset_bits_; }
  const std::string& canonical() const { return canonical_; }

  static std::vector<std::string> presets();

private:
  struct Slice {
    Field field;
    uint32_t bits;
  };
  std::vector<Slice> lsb_first_;
  uint32_t offset_bits_ = 6;
  uint64_t capacity_ = 0;
  std::string canonical_;
};

} // namespace pnm::dram
