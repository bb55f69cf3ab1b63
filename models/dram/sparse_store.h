// Backing store for device memory: pages are allocated on first write, so a
// 512 GiB device costs only what is touched. Reads of untouched memory return
// zeros without allocating.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <unordered_map>

namespace pnm::dram {

class SparseStore {
public:
  static constexpr uint64_t kPageBytes = 64 * 1024;

  explicit SparseStore(uint64_t capacity_bytes) : capacity_(capacity_bytes) {}

  uint64_t capacity() const { return capacity_; }
  // Precondition (checked by callers, asserted here): addr + len <= capacity.
  void read(uint64_t addr, uint8_t* dst, size_t len) const;
  void write(uint64_t addr, const uint8_t* src, size_t len);
  // The page holding `addr`, allocated if needed (for DMI).
  uint8_t* page(uint64_t addr);
  size_t allocated_pages() const { return pages_.size(); }

private:
  uint64_t capacity_;
  std::unordered_map<uint64_t, std::unique_ptr<uint8_t[]>> pages_;
};

} // namespace pnm::dram
