// bench_iss: prints the speed of the RiscvCore ISS (MIPS = million retired
// instructions per wall-clock second) on a few workloads and quantum sizes.
// Not a test: numbers depend on the host. Usage: bench_iss [bench_loop.elf]
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include "cpu/riscv_core.h"
#include <pnmvp/hw/device_map.h>

namespace {

using pnm::cpu::BusPort;
using pnm::cpu::BusResult;
using pnm::cpu::RiscvCore;
using pnm::cpu::RunResult;
using pnm::cpu::StopReason;

// Zero-latency device: reads return 0, writes are dropped.
struct NullBus : BusPort {
  BusResult read(uint32_t, void* data, unsigned size, uint64_t&) override {
    std::memset(data, 0, size);
    return BusResult::ok;
  }
  BusResult write(uint32_t, const void*, unsigned, uint64_t&) override { return BusResult::ok; }
};

// Hand-assembled RV32I kernels (see tests/cpu/test_riscv_core.cpp for the
// method); each ends with an exit store to PNM_SIMCTRL.
const std::vector<uint32_t> kAluLoop = { // 33.5 M iterations of addi + bnez
    0x020002b7u, 0xfff28293u, 0xfe029ee3u, 0x10003337u, 0x00032023u, 0x0000006fu};
const std::vector<uint32_t> kStoreLoop = { // 8.4 M iterations of sw (DTCM) + addi + bnez
    0x008002b7u, 0x00100337u, 0x00532023u, 0xfff28293u, 0xfe029ce3u,
    0x10003337u, 0x00032023u, 0x0000006fu};
const std::vector<uint32_t> kBusLoop = { // 1 M iterations of lw (engine, BusPort) + addi + bnez
    0x001002b7u, 0x10100337u, 0x00032383u, 0xfff28293u, 0xfe029ce3u,
    0x10003337u, 0x00032023u, 0x0000006fu};

struct Sample {
  uint64_t instructions = 0;
  double seconds = 0;
  bool ok = false;
};

template <typename Load>
Sample measure(Load load, uint64_t quantum) {
  NullBus bus;
  RiscvCore core(bus);
  load(core);
  Sample s;
  const auto t0 = std::chrono::steady_clock::now();
  RunResult r;
  do {
    r = core.run(quantum);
    s.instructions += r.instructions;
  } while (r.reason == StopReason::quantum);
  s.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  s.ok = r.reason == StopReason::exit;
  if (!s.ok) {
    std::fprintf(stderr, "stopped with %s: %s\n", pnm::cpu::stop_reason_name(r.reason),
                 r.message.c_str());
  }
  return s;
}

void print(const char* name, uint64_t quantum, const Sample& s) {
  std::printf("%-28s %10llu %14llu %9.3f %9.1f%s\n", name, static_cast<unsigned long long>(quantum),
              static_cast<unsigned long long>(s.instructions), s.seconds,
              s.instructions / s.seconds / 1e6, s.ok ? "" : "  (did not exit)");
}

} // namespace

int main(int argc, char** argv) {
  const std::string elf = argc > 1 ? argv[1] : PNM_FW_BENCH_LOOP_ELF;
  auto load_elf = [&](RiscvCore& c) { c.load_elf(elf); };
  auto load_raw = [](const std::vector<uint32_t>& words) {
    return [&words](RiscvCore& c) {
      c.load_image(PNM_ITCM_BASE, words.data(), words.size() * 4);
      c.reset(PNM_ITCM_BASE);
    };
  };
  std::printf("%-28s %10s %14s %9s %9s\n", "workload", "quantum", "instructions", "seconds", "MIPS");
  for (uint64_t q : {1'000ull, 10'000ull, 100'000ull, 1'000'000ull}) {
    print("bench_loop.elf (crc+memcpy)", q, measure(load_elf, q));
  }
  for (uint64_t q : {1'000ull, 100'000ull}) { // small quanta show the cost of each run() call
    print("alu loop (addi+bnez)", q, measure(load_raw(kAluLoop), q));
  }
  print("store loop (sw DTCM)", 100'000, measure(load_raw(kStoreLoop), 100'000));
  print("bus load loop (lw BusPort)", 100'000, measure(load_raw(kBusLoop), 100'000));
  return 0;
}
