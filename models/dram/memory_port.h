// An initiator's address-decoded view of memory (plain C++): device memory,
// [0, capacity), goes to the memory front end (timing, through this
// initiator's own port) and to the backing store (data); any other address
// goes to the device's upstream path (`upstream`), which a device without
// one refuses with an error naming the address.
#pragma once

#include "memory_front_end.h"
#include "sparse_store.h"

#include <fmt/format.h>
#include <functional>
#include <stdexcept>
#include <string>

namespace pnm::dram {

class MemoryPort {
public:
  // Data access beyond device memory; returns false when nothing answers.
  using UpstreamFn = std::function<bool(bool write, uint64_t addr, void* data, size_t len)>;

  MemoryPort(MemoryFrontEnd& fe, SparseStore& store, std::string name, uint32_t weight = 1)
      : fe_(fe), store_(store), name_(name), id_(fe.add_port(std::move(name), weight, nullptr)) {}
  MemoryPort(const MemoryPort&) = delete;
  MemoryPort& operator=(const MemoryPort&) = delete;

  bool local(uint64_t addr, uint64_t len) const {
    const uint64_t cap = capacity_bytes();
    return addr < cap && len <= cap - addr;
  }
  void read(uint64_t addr, void* dst, size_t len) { data(false, addr, dst, len); }
  void write(uint64_t addr, const void* src, size_t len) { data(true, addr, const_cast<void*>(src), len); }

  // Timing: one 64 B line of device memory through this port.
  void submit(uint64_t addr, bool write, Cycle arrive, uint64_t tag) { fe_.submit(id_, addr, write, arrive, tag); }
  void submit(uint64_t addr, const DramAddress& da, bool write, Cycle arrive, uint64_t tag) {
    fe_.submit(id_, addr, da, write, arrive, tag);
  }
  DramAddress decode(uint64_t addr) const { return fe_.decode(addr, id_); }
  void set_on_done(MemoryFrontEnd::DoneFn fn) { fe_.set_on_done(id_, std::move(fn)); }
  UpstreamFn upstream;

  MemoryFrontEnd& front_end() { return fe_; }
  MemoryFrontEnd::PortId id() const { return id_; }
  const std::string& name() const { return name_; }
  uint64_t capacity_bytes() const { return fe_.dram().capacity_bytes(); }
  double tck_ns() const { return fe_.dram().tck_ns(); }
  uint32_t channels() const { return fe_.dram().channel_count(); }
  uint32_t channel_of(uint64_t addr) const { return fe_.channel_of(addr); }

private:
  void data(bool write, uint64_t addr, void* p, size_t len) {
    if (local(addr, len)) {
      if (write) store_.write(addr, static_cast<const uint8_t*>(p), len);
      else store_.read(addr, static_cast<uint8_t*>(p), len);
      return;
    }
    if (upstream && upstream(write, addr, p, len)) return;
    throw std::out_of_range(fmt::format("{}: {} of {} B at 0x{:x} is outside device memory (0x{:x} B) and no "
                                        "upstream path answers it",
                                        name_, write ? "write" : "read", len, addr, capacity_bytes()));
  }

  MemoryFrontEnd& fe_;
  SparseStore& store_;
  std::string name_;
  MemoryFrontEnd::PortId id_;
};

} // namespace pnm::dram
