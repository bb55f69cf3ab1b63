// The driver's only view of a device: MMIO (CXL.io BAR registers, PCIe
// configuration space), memory (CXL.mem, host physical addresses) and
// interrupts. The virtual platform provides one implementation (the host
// bridge, platforms/host_bridge.h); a silicon backend (VFIO, /dev/mem) could
// implement the same interface without touching the driver or the kernels.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

namespace pnm::sw {

class Backend {
public:
  virtual ~Backend() = default;

  // PCIe configuration space of the device (offsets within its 4 KiB).
  virtual uint32_t config_read32(uint32_t offset) = 0;
  virtual void config_write32(uint32_t offset, uint32_t value) = 0;

  // Memory-mapped registers at host physical addresses (inside a BAR).
  // A read nobody answers returns all ones, as on PCIe.
  virtual uint32_t mmio_read32(uint64_t addr) = 0;
  virtual void mmio_write32(uint64_t addr, uint32_t value) = 0;
  virtual uint64_t mmio_read64(uint64_t addr) = 0;
  virtual void mmio_write64(uint64_t addr, uint64_t value) = 0;

  // Device memory through CXL.mem at host physical addresses. Returns false
  // if the device answered with an error (poison, address not decoded).
  virtual bool mem_read(uint64_t hpa, void* dst, size_t len) = 0;
  virtual bool mem_write(uint64_t hpa, const void* src, size_t len) = 0;

  // Reads many spans with up to `concurrency` 64-byte lines in flight, as a
  // host with that many line fill buffers (or a gather engine) would.
  // Returns false if any read failed. The default issues them one after another.
  struct MemSpan {
    uint64_t hpa;
    void* dst;
    size_t len;
  };
  virtual bool mem_read_many(const std::vector<MemSpan>& spans, unsigned concurrency) {
    (void)concurrency;
    bool ok = true;
    for (const MemSpan& s : spans) ok = mem_read(s.hpa, s.dst, s.len) && ok;
    return ok;
  }

  // Blocks until the device raises an interrupt or `timeout_ns` passes;
  // false on timeout.
  virtual bool wait_for_interrupt(double timeout_ns) = 0;

  // Time as the host sees it, and a way to let it pass (polling loops).
  virtual double now_ns() = 0;
  virtual void sleep_ns(double ns) = 0;
};

} // namespace pnm::sw
