#include "sparse_store.h"

#include <algorithm>
#include <cassert>
#include <cstring>

namespace pnm::dram {

void SparseStore::read(uint64_t addr, uint8_t* dst, size_t len) const {
  assert(addr + len <= capacity_);
  while (len) {
    const uint64_t pg = addr / kPageBytes, off = addr % kPageBytes;
    const size_t n = static_cast<size_t>(std::min<uint64_t>(len, kPageBytes - off));
    auto it = pages_.find(pg);
    if (it == pages_.end()) std::memset(dst, 0, n);
    else std::memcpy(dst, it->second.get() + off, n);
    addr += n;
    dst += n;
    len -= n;
  }
}

uint8_t* SparseStore::page(uint64_t addr) {
  auto& p = pages_[addr / kPageBytes];
  if (!p) p.reset(new uint8_t[kPageBytes]()); // zero-filled
  return p.get();
}

void SparseStore::write(uint64_t addr, const uint8_t* src, size_t len) {
  assert(addr + len <= capacity_);
  while (len) {
    const uint64_t off = addr % kPageBytes;
    const size_t n = static_cast<size_t>(std::min<uint64_t>(len, kPageBytes - off));
    std::memcpy(page(addr) + off, src, n);
    addr += n;
    src += n;
    len -= n;
  }
}

} // namespace pnm::dram
