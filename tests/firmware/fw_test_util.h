// Helpers shared by the firmware mailbox tests: a context with a fake clock,
// command execution into a vector, and little-endian readers/writers written
// independently of the firmware's own pnm_le*_get/put.
#pragma once

#include <cstdint>
#include <memory>
#include <vector>

#include "pnm_mailbox.h"

namespace fwtest {

constexpr uint64_t MiB = 1ull << 20;
constexpr uint64_t GiB = 1ull << 30;
constexpr uint64_t kCapacity = 4 * GiB; // 16 units of 256 MiB

using Bytes = std::vector<uint8_t>;

inline uint64_t rd(const Bytes& b, size_t off, unsigned n) {
  uint64_t v = 0;
  for (unsigned i = 0; i < n; ++i) {
    v |= uint64_t(b.at(off + i)) << (8 * i);
  }
  return v;
}
inline uint16_t rd16(const Bytes& b, size_t off) { return uint16_t(rd(b, off, 2)); }
inline uint32_t rd32(const Bytes& b, size_t off) { return uint32_t(rd(b, off, 4)); }
inline uint64_t rd64(const Bytes& b, size_t off) { return rd(b, off, 8); }

inline void wr(Bytes& b, size_t off, uint64_t v, unsigned n) {
  if (b.size() < off + n) {
    b.resize(off + n, 0);
  }
  for (unsigned i = 0; i < n; ++i) {
    b[off + i] = uint8_t(v >> (8 * i));
  }
}

struct Result {
  uint16_t rc;
  Bytes out;
};

struct Device {
  std::unique_ptr<pnm_mbox_ctx> ctx{new pnm_mbox_ctx()};
  uint64_t clock_ns = 1'000'000; // arbitrary non-zero device time
  // last Clear Poison write seen through the callback
  uint64_t written_dpa = ~0ull;
  Bytes written_data;
  int write_result = 0;

  static uint64_t Clock(void* user) { return static_cast<Device*>(user)->clock_ns; }
  static int WriteLine(void* user, uint64_t dpa, const uint8_t* data) {
    auto* d = static_cast<Device*>(user);
    d->written_dpa = dpa;
    d->written_data.assign(data, data + 64);
    return d->write_result;
  }

  pnm_mbox_config Config() {
    pnm_mbox_config cfg{};
    cfg.fw_revision = "PNMFW 1.2.3";
    cfg.volatile_bytes = kCapacity;
    cfg.persistent_bytes = 0;
    cfg.event_log_size[0] = 64;
    cfg.event_log_size[1] = 32;
    cfg.event_log_size[2] = 16;
    cfg.event_log_size[3] = 8;
    cfg.inject_poison_limit = 0;
    cfg.engine.job_desc_version = 1;
    cfg.engine.lanes = 32;
    cfg.engine.engines = 1;
    cfg.engine.precisions = PNM_PRECISION_BF16 | PNM_PRECISION_INT8;
    cfg.now_ns = &Device::Clock;
    cfg.clock_user = this;
    cfg.write_line = &Device::WriteLine;
    cfg.media_user = this;
    return cfg;
  }

  Device() {
    const pnm_mbox_config cfg = Config();
    if (pnm_mbox_init(ctx.get(), &cfg) != 0) {
      throw 1;
    }
  }

  Result Exec(uint16_t opcode, const Bytes& in = {}, uint32_t out_cap = 2048) {
    Bytes out(out_cap, 0xA5); // poison the buffer so unwritten bytes show up
    uint32_t out_len = 0xDEADBEEF;
    const uint16_t rc = pnm_mbox_execute(ctx.get(), opcode, in.empty() ? nullptr : in.data(),
                                         uint32_t(in.size()), out_cap ? out.data() : nullptr,
                                         out_cap, &out_len);
    if (out_len > out_cap) {
      throw 2; // never: tests would read garbage
    }
    out.resize(out_len);
    return {rc, out};
  }
};

inline Bytes U64(uint64_t v) {
  Bytes b;
  wr(b, 0, v, 8);
  return b;
}

inline Bytes PoisonQuery(uint64_t dpa, uint64_t units) {
  Bytes b;
  wr(b, 0, dpa, 8);
  wr(b, 8, units, 8);
  return b;
}

inline Bytes CreateTenant(uint16_t id, uint64_t base, uint64_t length) {
  Bytes b(0x18, 0);
  wr(b, 0x00, id, 2);
  wr(b, 0x08, base, 8);
  wr(b, 0x10, length, 8);
  return b;
}

inline Bytes CreateQueue(uint16_t tenant, uint16_t entries, uint64_t sq, uint64_t cq) {
  Bytes b(0x18, 0);
  wr(b, 0x00, tenant, 2);
  wr(b, 0x02, entries, 2);
  wr(b, 0x08, sq, 8);
  wr(b, 0x10, cq, 8);
  return b;
}

inline Bytes Id16(uint16_t id) {
  Bytes b(4, 0);
  wr(b, 0, id, 2);
  return b;
}

} // namespace fwtest
