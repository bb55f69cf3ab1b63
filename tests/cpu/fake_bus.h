// A plain C++ device bus for RiscvCore tests: mailbox and engine register
// files, the DRAM window (window base registers + sparse device DRAM) and a
// decode error everywhere else. Every access is logged.
#pragma once

#include <cstdint>
#include <cstring>
#include <functional>
#include <map>
#include <vector>

#include "cpu/bus_port.h"
#include <pnmvp/hw/device_map.h>

namespace pnm::cpu::test {

class FakeBus : public BusPort {
public:
  struct Access {
    bool write;
    uint32_t addr;
    unsigned size;
    uint32_t value;
    uint64_t offset_ps; // delay_ps on entry: core time offset within run()
    bool ok;
  };

  uint64_t read_latency_ps = 20'000; // 20 ns
  uint64_t write_latency_ps = 10'000;
  uint32_t mbox_caps = 0x0000000B; // mailbox capabilities register value
  std::map<uint32_t, uint32_t> engine_regs;
  std::map<uint64_t, uint8_t> dram; // device address -> byte
  uint64_t window_base = 0;
  std::vector<Access> log;
  std::function<void(const Access&)> on_access; // test hook (e.g. throw, raise an irq)

  BusResult read(uint32_t addr, void* data, unsigned size, uint64_t& delay_ps) override {
    uint32_t v = 0;
    const bool ok = do_read(addr, size, v);
    std::memcpy(data, &v, size); // host is little-endian like the target
    return finish({false, addr, size, v, delay_ps, ok}, delay_ps, read_latency_ps);
  }

  BusResult write(uint32_t addr, const void* data, unsigned size, uint64_t& delay_ps) override {
    uint32_t v = 0;
    std::memcpy(&v, data, size);
    const bool ok = do_write(addr, size, v);
    return finish({true, addr, size, v, delay_ps, ok}, delay_ps, write_latency_ps);
  }

  uint32_t dram_word(uint64_t dev_addr) const {
    uint32_t v = 0;
    for (unsigned i = 0; i < 4; ++i) {
      auto it = dram.find(dev_addr + i);
      v |= static_cast<uint32_t>(it == dram.end() ? 0 : it->second) << (8 * i);
    }
    return v;
  }

private:
  BusResult finish(const Access& a, uint64_t& delay_ps, uint64_t latency_ps) {
    log.push_back(a);
    if (on_access) {
      on_access(a);
    }
    delay_ps += latency_ps;
    return a.ok ? BusResult::ok : BusResult::error;
  }

  bool do_read(uint32_t addr, unsigned size, uint32_t& v) {
    if (addr == PNM_MBOX_BASE && size == 4) {
      v = mbox_caps;
      return true;
    }
    if (addr >= PNM_ENGINE_BASE && addr < PNM_ENGINE_BASE + PNM_ENGINE_SIZE_BYTES) {
      v = engine_regs[addr - PNM_ENGINE_BASE];
      return true;
    }
    if (addr >= PNM_DRAM_WINDOW_BASE) {
      v = 0;
      for (unsigned i = 0; i < size; ++i) {
        v |= static_cast<uint32_t>(dram[window_base + (addr - PNM_DRAM_WINDOW_BASE) + i]) << (8 * i);
      }
      return true;
    }
    if (addr == PNM_DRAMWIN_CTRL_BASE + PNM_DRAMWIN_SIZE_OFF) {
      v = PNM_DRAM_WINDOW_SIZE_BYTES;
      return true;
    }
    return false;
  }

  bool do_write(uint32_t addr, unsigned size, uint32_t v) {
    if (addr >= PNM_ENGINE_BASE && addr < PNM_ENGINE_BASE + PNM_ENGINE_SIZE_BYTES) {
      engine_regs[addr - PNM_ENGINE_BASE] = v;
      return true;
    }
    if (addr >= PNM_DRAM_WINDOW_BASE) {
      for (unsigned i = 0; i < size; ++i) {
        dram[window_base + (addr - PNM_DRAM_WINDOW_BASE) + i] = static_cast<uint8_t>(v >> (8 * i));
      }
      return true;
    }
    if (addr == PNM_DRAMWIN_CTRL_BASE + PNM_DRAMWIN_BASE_LO_OFF) {
      window_base = (window_base & 0xFFFFFFFF00000000ull) | v;
      return true;
    }
    if (addr == PNM_DRAMWIN_CTRL_BASE + PNM_DRAMWIN_BASE_HI_OFF) {
      window_base = (window_base & 0xFFFFFFFFull) | (static_cast<uint64_t>(v) << 32);
      return true;
    }
    return false;
  }
};

} // namespace pnm::cpu::test
