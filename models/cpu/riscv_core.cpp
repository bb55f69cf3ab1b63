// RiscvCore on Unicorn 2.0.1. How the pieces fit (docs/CPU.md has more):
//
// * Counting: a UC_HOOK_CODE callback runs before every instruction. Its hot
//   path is one compare and one increment; everything else (quantum end,
//   interrupt checks, stop requests) waits until `retired` reaches
//   `next_check`. The hook also makes Unicorn store the PC before each
//   instruction, which is what makes faults and stops precise.
// * Stopping: uc_emu_stop() is only called from the code hook (and the
//   interrupt hook), where the instruction has not started. Memory
//   callbacks that want a stop (exit, new interrupt) set a flag the next
//   instruction's hook acts on: stopping inside a load would lose its result.
// * Bus: everything outside the TCMs is mapped as MMIO with no permissions,
//   so every access first calls the PROT hook. That hook performs the
//   transaction (core-complex block or BusPort) and returns false on a bus
//   error, which aborts the instruction before it writes anything; the MMIO
//   read callback then only hands back the value the hook fetched.
// * Traps and interrupts are entered here, between uc_emu_start() calls:
//   Unicorn 2.0.1 reports exceptions to hooks instead of taking them, and it
//   offers no way to raise MEIP/MTIP. mret is Unicorn's own and works.
#include "riscv_core.h"

#include <unicorn/unicorn.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <exception>
#include <limits>
#include <sstream>
#include <stdexcept>
#include <vector>

#include "elf_loader.h"
#include <pnmvp/hw/device_map.h>

namespace pnm::cpu {
namespace {

constexpr uint64_t kNever = std::numeric_limits<uint64_t>::max();
constexpr uint32_t kItcmBase = PNM_ITCM_BASE;
constexpr uint32_t kItcmBytes = PNM_ITCM_SIZE_BYTES;
constexpr uint32_t kDtcmBase = PNM_DTCM_BASE;
constexpr uint32_t kDtcmBytes = PNM_DTCM_SIZE_BYTES;
constexpr uint32_t kLocalBase = PNM_INTC_BASE; // core-complex blocks
constexpr uint32_t kLocalEnd = PNM_SIMCTRL_BASE + PNM_BLOCK_SIZE_BYTES;

// RISC-V privileged architecture encodings.
constexpr uint32_t kMstatusMie = 1u << 3;
constexpr uint32_t kMstatusMpie = 1u << 7;
constexpr uint32_t kMstatusMppMask = 3u << 11;
constexpr uint32_t kMstatusMppM = 3u << 11;
constexpr uint32_t kMieMtie = 1u << 7;
constexpr uint32_t kMieMeie = 1u << 11;
constexpr uint32_t kCauseInterrupt = 0x80000000u;
constexpr uint32_t kCauseMti = 7;
constexpr uint32_t kCauseMei = 11;
constexpr uint32_t kCauseInsnAccessFault = 1;
constexpr uint32_t kCauseIllegalInsn = 2;
constexpr uint32_t kCauseLoadAccessFault = 5;
constexpr uint32_t kCauseStoreAccessFault = 7;
constexpr uint32_t kCauseUserEcall = 8;
constexpr uint32_t kCauseMachineEcall = 11;
constexpr uint32_t kInsnWfi = 0x10500073;
constexpr uint32_t kInsnMret = 0x30200073;
constexpr uint32_t kInsnEbreak = 0x00100073;
constexpr uint16_t kInsnCEbreak = 0x9002;
constexpr uint32_t kCsrMstatus = 0x300;
constexpr uint32_t kCsrMie = 0x304;

bool in_range(uint32_t addr, uint64_t bytes, uint32_t base, uint32_t size) {
  return addr >= base && static_cast<uint64_t>(addr) - base + bytes <= size;
}

std::string hex32(uint32_t v) {
  char buf[16];
  std::snprintf(buf, sizeof buf, "0x%08x", v);
  return buf;
}

enum class StopCause : uint8_t { none, quantum, exit, irq };

} // namespace

const char* stop_reason_name(StopReason r) {
  switch (r) {
  case StopReason::quantum: return "quantum";
  case StopReason::wfi: return "wfi";
  case StopReason::exit: return "exit";
  case StopReason::fault: return "fault";
  case StopReason::breakpoint: return "breakpoint";
  }
  return "?";
}

struct RiscvCore::Impl {
  BusPort& bus;
  CoreConfig cfg;
  double ps_per_instr;
  uc_engine* uc = nullptr;
  std::vector<uint8_t> itcm_shadow; // ITCM is read-only to firmware: decode from here
  IntController intc;
  uint64_t mtimecmp = kNever;

  // architectural state between runs
  uint32_t pc = PNM_RESET_PC;
  bool sleeping = false;
  bool exited = false;
  uint32_t exit_code = 0;
  std::string fault; // set when run() stopped with StopReason::fault (sticky until reset)
  uint64_t time_ps = 0; // local time at the start of the current run()

  // per-run state, touched by the callbacks
  uint64_t retired = 0;    // instructions started in this run() (hook count)
  uint64_t budget = 0;     // max_instructions of this run()
  uint64_t next_check = 0; // hook leaves its fast path when retired reaches it
  uint64_t run_bus_delay_ps = 0;
  uint64_t timer_deadline_instr = kNever; // `retired` at which MTIME reaches MTIMECMP
  bool stop_pending = false;
  StopCause stop_cause = StopCause::none;
  bool watch_irq = false;   // an interrupt is asserted but was masked
  bool recheck_irq = false; // look at interrupts again before the next instruction
  struct Trap {
    bool valid = false;
    uint32_t cause = 0;
    uint32_t tval = 0;
    uint32_t epc = 0;
    bool epc_known = false; // else read the PC after the stop
    bool counted = false;   // the code hook already counted the instruction
  } trap;
  uint32_t mmio_value = 0; // value fetched by the PROT hook for the MMIO read callback
  std::exception_ptr error;

  std::string console;
  std::function<void(char)> console_sink;
  std::function<void(uint32_t, uint64_t)> marker_sink;
  CoreStats stats;

  Impl(BusPort& b, const CoreConfig& c);
  ~Impl();

  // --- Unicorn helpers
  void check(uc_err err, const char* what) const {
    if (err != UC_ERR_OK) {
      throw std::runtime_error(std::string("unicorn: ") + what + ": " + uc_strerror(err));
    }
  }
  uint32_t read_reg(int id) const {
    uint32_t v = 0;
    uc_reg_read(uc, id, &v);
    return v;
  }
  void write_reg(int id, uint32_t v) { uc_reg_write(uc, id, &v); }

  // --- time
  uint64_t run_offset_ps() const {
    return static_cast<uint64_t>(std::llround(static_cast<double>(retired) * ps_per_instr)) +
           run_bus_delay_ps;
  }
  uint64_t now_ps() const { return time_ps + run_offset_ps(); }
  uint64_t mtime_at(uint64_t t_ps) const {
    return static_cast<uint64_t>(static_cast<unsigned __int128>(t_ps) * cfg.timer_hz /
                                 1'000'000'000'000ull);
  }
  uint64_t timer_deadline_ps() const {
    if (mtimecmp == kNever) {
      return kNever;
    }
    const unsigned __int128 num = static_cast<unsigned __int128>(mtimecmp) * 1'000'000'000'000ull;
    const unsigned __int128 ps = (num + cfg.timer_hz - 1) / cfg.timer_hz; // ceil
    return ps > kNever ? kNever : static_cast<uint64_t>(ps);
  }
  bool timer_pending() const { return mtime_at(now_ps()) >= mtimecmp; }
  void update_timer_deadline() {
    const uint64_t deadline = timer_deadline_ps();
    const uint64_t now = now_ps();
    if (deadline == kNever) {
      timer_deadline_instr = kNever;
    } else if (deadline <= now) {
      timer_deadline_instr = retired;
    } else {
      timer_deadline_instr =
          retired + static_cast<uint64_t>(std::ceil(static_cast<double>(deadline - now) / ps_per_instr));
    }
  }

  // --- interrupts
  bool irq_asserted() const { return intc.asserted() || timer_pending(); }
  // Pending and enabled in mie: wakes wfi even with mstatus.MIE clear.
  bool irq_wakes() const {
    const uint32_t mie = read_reg(UC_RISCV_REG_MIE);
    return (intc.asserted() && (mie & kMieMeie)) || (timer_pending() && (mie & kMieMtie));
  }
  bool irq_deliverable() const {
    return (read_reg(UC_RISCV_REG_MSTATUS) & kMstatusMie) && irq_wakes();
  }
  // Something an interrupt depends on changed inside a memory callback:
  // decide at the next instruction boundary.
  void note_irq_change() {
    recheck_irq = true;
    next_check = std::min(next_check, retired);
  }
  void update_next_check() {
    if (stop_pending || recheck_irq || watch_irq) {
      next_check = retired; // every instruction through the slow path
    } else {
      next_check = std::min(budget, timer_deadline_instr);
    }
  }
  void request_stop(StopCause cause) {
    stop_pending = true;
    stop_cause = cause;
    next_check = 0;
    uc_emu_stop(uc);
  }
  // csrr[w|s|c][i] on mstatus/mie, or mret: may unmask a pending interrupt.
  bool may_unmask(uint32_t addr) const {
    if (!in_range(addr, 4, kItcmBase, kItcmBytes)) {
      return false;
    }
    uint32_t insn;
    std::memcpy(&insn, itcm_shadow.data() + (addr - kItcmBase), 4);
    if (insn == kInsnMret) {
      return true;
    }
    if ((insn & 0x7f) != 0x73 || ((insn >> 12) & 7) == 0) {
      return false;
    }
    const uint32_t csr = insn >> 20;
    return csr == kCsrMstatus || csr == kCsrMie;
  }
  void slow_step(uint32_t addr);
  void enter_trap(uint32_t cause, uint32_t epc, uint32_t tval);
  void take_interrupt();

  // --- bus
  bool local_read(uint32_t addr, unsigned size, uint32_t& value);
  bool local_write(uint32_t addr, unsigned size, uint32_t value);
  bool bus_read(uint32_t addr, unsigned size, uint32_t& value);
  bool bus_write(uint32_t addr, unsigned size, uint32_t value);
  void add_bus_delay(uint64_t before, uint64_t after) {
    if (after > before) {
      run_bus_delay_ps += after - before;
      if (mtimecmp != kNever) {
        update_timer_deadline(); // time moved faster than the instruction count
        next_check = std::min(next_check, timer_deadline_instr);
      }
    }
  }

  uint32_t insn_at(uint32_t addr) const {
    if (!in_range(addr, 2, kItcmBase, kItcmBytes)) {
      return 0;
    }
    uint32_t insn = 0;
    const size_t n = in_range(addr, 4, kItcmBase, kItcmBytes) ? 4 : 2;
    std::memcpy(&insn, itcm_shadow.data() + (addr - kItcmBase), n);
    return (insn & 3) == 3 ? insn : (insn & 0xffff);
  }
  void write_tcm(uint32_t addr, const void* data, size_t bytes);
};

// ---- Unicorn callbacks ------------------------------------------------------------
namespace {

void on_code(uc_engine*, uint64_t address, uint32_t, void* user) {
  auto* s = static_cast<RiscvCore::Impl*>(user);
  if (s->retired < s->next_check) {
    ++s->retired;
    return;
  }
  s->slow_step(static_cast<uint32_t>(address));
}

// Exceptions Unicorn reports instead of taking (ecall, illegal instruction,
// misaligned AMO). Unicorn has already moved the PC 4 bytes past the
// instruction, whatever its length.
void on_interrupt(uc_engine* uc, uint32_t intno, void* user) {
  auto* s = static_cast<RiscvCore::Impl*>(user);
  uint32_t pc = 0;
  uc_reg_read(uc, UC_RISCV_REG_PC, &pc);
  auto& t = s->trap;
  t.valid = true;
  // QEMU raises every ecall as the user-mode one and adds the privilege
  // level when it takes the trap; the core always runs in M-mode.
  t.cause = intno == kCauseUserEcall ? kCauseMachineEcall : intno;
  t.epc = pc - 4;
  t.epc_known = true;
  t.tval = t.cause == kCauseIllegalInsn ? s->insn_at(t.epc) : 0;
  t.counted = true;
  s->stop_pending = true;
  uc_emu_stop(uc);
}

bool on_prot(uc_engine*, uc_mem_type type, uint64_t address, int size, int64_t value, void* user) {
  auto* s = static_cast<RiscvCore::Impl*>(user);
  const auto addr = static_cast<uint32_t>(address);
  auto& t = s->trap;
  try {
    switch (type) {
    case UC_MEM_FETCH_PROT: // at the start of a block: the PC is the fetch address
      t = {true, kCauseInsnAccessFault, addr, addr, true, false};
      return false;
    case UC_MEM_READ_PROT: {
      uint32_t v = 0;
      if (s->bus_read(addr, static_cast<unsigned>(size), v)) {
        s->mmio_value = v;
        return true;
      }
      t = {true, kCauseLoadAccessFault, addr, 0, false, true};
      return false;
    }
    case UC_MEM_WRITE_PROT:
      if (s->bus_write(addr, static_cast<unsigned>(size), static_cast<uint32_t>(value))) {
        return true;
      }
      t = {true, kCauseStoreAccessFault, addr, 0, false, true};
      return false;
    default:
      return false;
    }
  } catch (...) {
    s->error = std::current_exception();
    t = {true, type == UC_MEM_WRITE_PROT ? kCauseStoreAccessFault : kCauseLoadAccessFault, addr, 0,
         false, type != UC_MEM_FETCH_PROT};
    return false;
  }
}

uint64_t on_mmio_read(uc_engine*, uint64_t, unsigned, void* user) {
  return static_cast<RiscvCore::Impl*>(user)->mmio_value; // fetched by on_prot
}

void on_mmio_write(uc_engine*, uint64_t, unsigned, uint64_t, void*) {} // done by on_prot

} // namespace

RiscvCore::Impl::Impl(BusPort& b, const CoreConfig& c)
    : bus(b), cfg(c), itcm_shadow(kItcmBytes, 0) {
  if (!(cfg.clock_mhz > 0) || !(cfg.cycles_per_instruction > 0) || cfg.timer_hz == 0) {
    throw std::invalid_argument("RiscvCore: clock_mhz, cycles_per_instruction and timer_hz must be > 0");
  }
  ps_per_instr = cfg.cycles_per_instruction * 1e6 / cfg.clock_mhz;
  check(uc_open(UC_ARCH_RISCV, UC_MODE_RISCV32, &uc), "uc_open(RISCV32)");
  try {
    // SiFive E31 = RV32IMAC + U-mode, no MMU: the closest model Unicorn has.
    check(uc_ctl_set_cpu_model(uc, UC_CPU_RISCV32_SIFIVE_E31), "set CPU model");
    // With exits enabled and none set, uc_emu_start's `until` is ignored
    // (address 0 is our reset vector, not an exit).
    check(uc_ctl_exits_enable(uc), "enable exits");
    check(uc_mem_map(uc, kItcmBase, kItcmBytes, UC_PROT_READ | UC_PROT_EXEC), "map ITCM");
    check(uc_mem_map(uc, kDtcmBase, kDtcmBytes, UC_PROT_READ | UC_PROT_WRITE), "map DTCM");
    // The rest of the 4 GiB: MMIO with no permissions, see the file comment.
    const uint64_t gap_lo = kItcmBase + uint64_t{kItcmBytes};
    const uint64_t gap_hi = kDtcmBase + uint64_t{kDtcmBytes};
    const uint64_t top = uint64_t{1} << 32;
    check(uc_mmio_map(uc, gap_lo, kDtcmBase - gap_lo, on_mmio_read, this, on_mmio_write, this),
          "map bus (low)");
    check(uc_mmio_map(uc, gap_hi, top - gap_hi, on_mmio_read, this, on_mmio_write, this),
          "map bus (high)");
    check(uc_mem_protect(uc, gap_lo, kDtcmBase - gap_lo, UC_PROT_NONE), "protect bus (low)");
    check(uc_mem_protect(uc, gap_hi, top - gap_hi, UC_PROT_NONE), "protect bus (high)");
    uc_hook h;
    check(uc_hook_add(uc, &h, UC_HOOK_CODE, reinterpret_cast<void*>(on_code), this, 1, 0),
          "add code hook");
    check(uc_hook_add(uc, &h, UC_HOOK_INTR, reinterpret_cast<void*>(on_interrupt), this, 1, 0),
          "add interrupt hook");
    check(uc_hook_add(uc, &h, UC_HOOK_MEM_READ_PROT | UC_HOOK_MEM_WRITE_PROT | UC_HOOK_MEM_FETCH_PROT,
                      reinterpret_cast<void*>(on_prot), this, 1, 0),
          "add bus hook");
  } catch (...) {
    uc_close(uc);
    throw;
  }
}

RiscvCore::Impl::~Impl() { uc_close(uc); }

void RiscvCore::Impl::slow_step(uint32_t addr) {
  if (stop_pending) { // requested by a memory callback: stop before this instruction
    uc_emu_stop(uc);
    return;
  }
  if (retired >= budget) {
    request_stop(StopCause::quantum);
    return;
  }
  if (retired >= timer_deadline_instr) {
    timer_deadline_instr = kNever;
    recheck_irq = true;
  }
  if (recheck_irq) {
    recheck_irq = false;
    watch_irq = irq_asserted();
    if (watch_irq && irq_deliverable()) {
      request_stop(StopCause::irq);
      return;
    }
  }
  if (watch_irq && may_unmask(addr)) {
    recheck_irq = true; // the new mstatus/mie is visible at the next instruction
  }
  ++retired;
  update_next_check();
}

void RiscvCore::Impl::enter_trap(uint32_t cause, uint32_t epc, uint32_t tval) {
  uint32_t mstatus = read_reg(UC_RISCV_REG_MSTATUS);
  const bool mie = mstatus & kMstatusMie;
  mstatus &= ~(kMstatusMie | kMstatusMpie | kMstatusMppMask);
  mstatus |= (mie ? kMstatusMpie : 0) | kMstatusMppM;
  write_reg(UC_RISCV_REG_MEPC, epc);
  write_reg(UC_RISCV_REG_MCAUSE, cause);
  write_reg(UC_RISCV_REG_MTVAL, tval);
  write_reg(UC_RISCV_REG_MSTATUS, mstatus);
  const uint32_t mtvec = read_reg(UC_RISCV_REG_MTVEC);
  const bool vectored = (mtvec & 3) == 1 && (cause & kCauseInterrupt);
  pc = (mtvec & ~3u) + (vectored ? 4 * (cause & ~kCauseInterrupt) : 0);
}

void RiscvCore::Impl::take_interrupt() {
  // priority: external before timer (privileged spec: MEI > MSI > MTI)
  const uint32_t mie = read_reg(UC_RISCV_REG_MIE);
  const uint32_t code = (intc.asserted() && (mie & kMieMeie)) ? kCauseMei : kCauseMti;
  enter_trap(kCauseInterrupt | code, pc, 0);
  ++stats.interrupts;
}

bool RiscvCore::Impl::local_read(uint32_t addr, unsigned size, uint32_t& value) {
  ++stats.local_accesses;
  if (size != 4 || (addr & 3)) {
    return false;
  }
  const uint32_t block = addr & ~(PNM_BLOCK_SIZE_BYTES - 1);
  const uint32_t off = addr - block;
  switch (block) {
  case PNM_INTC_BASE:
    if (!intc.read(off, value)) {
      return false;
    }
    if (off == PNM_INTC_CLAIM_OFF) {
      note_irq_change();
    }
    return true;
  case PNM_TIMER_BASE: {
    const uint64_t mtime = mtime_at(now_ps());
    switch (off) {
    case PNM_TIMER_MTIME_LO_OFF: value = static_cast<uint32_t>(mtime); return true;
    case PNM_TIMER_MTIME_HI_OFF: value = static_cast<uint32_t>(mtime >> 32); return true;
    case PNM_TIMER_MTIMECMP_LO_OFF: value = static_cast<uint32_t>(mtimecmp); return true;
    case PNM_TIMER_MTIMECMP_HI_OFF: value = static_cast<uint32_t>(mtimecmp >> 32); return true;
    case PNM_TIMER_FREQ_HZ_OFF:
      value = static_cast<uint32_t>(std::min<uint64_t>(cfg.timer_hz, 0xFFFFFFFFu));
      return true;
    default: return false;
    }
  }
  case PNM_CONSOLE_BASE:
    if (off == PNM_CONSOLE_STATUS_OFF) {
      value = PNM_CONSOLE_STATUS_TX_READY;
      return true;
    }
    if (off == PNM_CONSOLE_TX_OFF) {
      value = 0;
      return true;
    }
    return false;
  case PNM_SIMCTRL_BASE:
    if (off == PNM_SIMCTRL_EXIT_OFF || off == PNM_SIMCTRL_MARK_OFF) {
      value = 0;
      return true;
    }
    return false;
  default:
    return false;
  }
}

bool RiscvCore::Impl::local_write(uint32_t addr, unsigned size, uint32_t value) {
  ++stats.local_accesses;
  const uint32_t block = addr & ~(PNM_BLOCK_SIZE_BYTES - 1);
  const uint32_t off = addr - block;
  if (block == PNM_CONSOLE_BASE && off == PNM_CONSOLE_TX_OFF) { // any width: putc idioms vary
    const char c = static_cast<char>(value & 0xff);
    console.push_back(c);
    if (console_sink) {
      console_sink(c);
    }
    return true;
  }
  if (size != 4 || (addr & 3)) {
    return false;
  }
  switch (block) {
  case PNM_INTC_BASE:
    if (!intc.write(off, value)) {
      return false;
    }
    note_irq_change();
    return true;
  case PNM_TIMER_BASE:
    if (off == PNM_TIMER_MTIMECMP_LO_OFF) {
      mtimecmp = (mtimecmp & 0xFFFFFFFF00000000ull) | value;
    } else if (off == PNM_TIMER_MTIMECMP_HI_OFF) {
      mtimecmp = (mtimecmp & 0xFFFFFFFFull) | (static_cast<uint64_t>(value) << 32);
    } else if (off == PNM_TIMER_MTIME_LO_OFF || off == PNM_TIMER_MTIME_HI_OFF ||
               off == PNM_TIMER_FREQ_HZ_OFF) {
      return true; // read-only: simulated time cannot be set
    } else {
      return false;
    }
    update_timer_deadline();
    note_irq_change();
    return true;
  case PNM_CONSOLE_BASE:
    return off == PNM_CONSOLE_STATUS_OFF;
  case PNM_SIMCTRL_BASE:
    if (off == PNM_SIMCTRL_EXIT_OFF) {
      exit_code = value;
      stop_pending = true; // the next instruction's hook stops the run
      stop_cause = StopCause::exit;
      next_check = 0;
      return true;
    }
    if (off == PNM_SIMCTRL_MARK_OFF) {
      if (marker_sink) {
        marker_sink(value, now_ps());
      }
      return true;
    }
    return false;
  default:
    return false;
  }
}

bool RiscvCore::Impl::bus_read(uint32_t addr, unsigned size, uint32_t& value) {
  if (addr >= kLocalBase && addr < kLocalEnd) {
    return local_read(addr, size, value);
  }
  ++stats.bus_reads;
  if (size > 4 || (addr & (size - 1))) { // misaligned device access: access fault
    ++stats.bus_errors;
    return false;
  }
  uint8_t buf[4] = {};
  const uint64_t before = run_offset_ps();
  uint64_t delay = before;
  const BusResult res = bus.read(addr, buf, size, delay);
  add_bus_delay(before, delay);
  if (res != BusResult::ok) {
    ++stats.bus_errors;
    return false;
  }
  value = 0;
  for (unsigned i = 0; i < size; ++i) {
    value |= static_cast<uint32_t>(buf[i]) << (8 * i);
  }
  return true;
}

bool RiscvCore::Impl::bus_write(uint32_t addr, unsigned size, uint32_t value) {
  if (in_range(addr, size, kItcmBase, kItcmBytes)) {
    return false; // ITCM is read-only to the firmware
  }
  if (addr >= kLocalBase && addr < kLocalEnd) {
    return local_write(addr, size, value);
  }
  ++stats.bus_writes;
  if (size > 4 || (addr & (size - 1))) {
    ++stats.bus_errors;
    return false;
  }
  uint8_t buf[4];
  for (unsigned i = 0; i < 4; ++i) {
    buf[i] = static_cast<uint8_t>(value >> (8 * i));
  }
  const uint64_t before = run_offset_ps();
  uint64_t delay = before;
  const BusResult res = bus.write(addr, buf, size, delay);
  add_bus_delay(before, delay);
  if (res != BusResult::ok) {
    ++stats.bus_errors;
    return false;
  }
  return true;
}

void RiscvCore::Impl::write_tcm(uint32_t addr, const void* data, size_t bytes) {
  if (bytes == 0) {
    return;
  }
  if (!in_range(addr, bytes, kItcmBase, kItcmBytes) && !in_range(addr, bytes, kDtcmBase, kDtcmBytes)) {
    throw std::out_of_range("RiscvCore: [" + hex32(addr) + ", +" + std::to_string(bytes) +
                            ") is not inside ITCM or DTCM");
  }
  check(uc_mem_write(uc, addr, data, bytes), "write TCM");
  if (in_range(addr, bytes, kItcmBase, kItcmBytes)) {
    std::memcpy(itcm_shadow.data() + (addr - kItcmBase), data, bytes);
  }
}

// ---- RiscvCore ----------------------------------------------------------------------

RiscvCore::RiscvCore(BusPort& bus, const CoreConfig& cfg) : impl_(std::make_unique<Impl>(bus, cfg)) {
  reset(PNM_RESET_PC);
}

RiscvCore::~RiscvCore() = default;

void RiscvCore::load_elf(const std::string& path) {
  const ElfImage img = read_elf32_riscv(path);
  for (size_t i = 0; i < img.segments.size(); ++i) {
    const ElfSegment& seg = img.segments[i];
    if (seg.memsz == 0) {
      continue;
    }
    if (!in_range(seg.paddr, seg.memsz, kItcmBase, kItcmBytes) &&
        !in_range(seg.paddr, seg.memsz, kDtcmBase, kDtcmBytes)) {
      throw ElfError(path + ": segment " + std::to_string(i) + " [" + hex32(seg.paddr) + ", " +
                     hex32(static_cast<uint32_t>(seg.paddr + uint64_t{seg.memsz})) +
                     ") lies outside the TCMs (ITCM [" + hex32(kItcmBase) + ", " +
                     hex32(kItcmBase + kItcmBytes) + "), DTCM [" + hex32(kDtcmBase) + ", " +
                     hex32(kDtcmBase + kDtcmBytes) + "))");
    }
  }
  if (!in_range(img.entry, 2, kItcmBase, kItcmBytes)) {
    throw ElfError(path + ": entry point " + hex32(img.entry) + " is not in ITCM");
  }
  Impl& s = *impl_;
  const std::vector<uint8_t> zeros(std::max(kItcmBytes, kDtcmBytes), 0);
  s.write_tcm(kItcmBase, zeros.data(), kItcmBytes);
  s.write_tcm(kDtcmBase, zeros.data(), kDtcmBytes);
  for (const ElfSegment& seg : img.segments) {
    s.write_tcm(seg.paddr, seg.data.data(), seg.data.size()); // [filesz, memsz) stays zero
  }
  uc_ctl_remove_cache(s.uc, kItcmBase, kItcmBase + kItcmBytes); // drop code translated before
  reset(img.entry);
}

void RiscvCore::load_image(uint32_t addr, const void* data, size_t bytes) {
  impl_->write_tcm(addr, data, bytes);
  uc_ctl_remove_cache(impl_->uc, kItcmBase, kItcmBase + kItcmBytes);
}

void RiscvCore::reset(uint32_t pc) {
  Impl& s = *impl_;
  for (int r = UC_RISCV_REG_X1; r <= UC_RISCV_REG_X31; ++r) {
    s.write_reg(r, 0);
  }
  for (int r : {UC_RISCV_REG_MSTATUS, UC_RISCV_REG_MIE, UC_RISCV_REG_MTVEC, UC_RISCV_REG_MEPC,
                UC_RISCV_REG_MCAUSE, UC_RISCV_REG_MTVAL, UC_RISCV_REG_MSCRATCH}) {
    s.write_reg(r, 0);
  }
  s.pc = pc;
  s.sleeping = false;
  s.exited = false;
  s.exit_code = 0;
  s.fault.clear();
  s.mtimecmp = kNever;
  s.intc = IntController{};
}

RunResult RiscvCore::run(uint64_t max_instructions) {
  Impl& s = *impl_;
  RunResult r;
  if (s.exited) {
    r.reason = StopReason::exit;
    r.exit_code = s.exit_code;
    return r;
  }
  if (!s.fault.empty()) {
    r.reason = StopReason::fault;
    r.message = s.fault;
    return r;
  }
  s.retired = 0;
  s.budget = max_instructions;
  s.run_bus_delay_ps = 0;
  if (s.sleeping) {
    if (!s.irq_wakes()) {
      r.reason = StopReason::wfi;
      return r;
    }
    s.sleeping = false;
  }

  // Charge what ran to time and stats; called on every way out.
  auto finish = [&](StopReason reason) {
    r.reason = reason;
    r.instructions = s.retired;
    r.bus_delay_ps = s.run_bus_delay_ps;
    r.elapsed_ps = s.run_offset_ps();
    s.time_ps += r.elapsed_ps;
    s.stats.instructions += s.retired;
    s.stats.busy_ps += r.elapsed_ps;
    s.stats.bus_delay_ps += s.run_bus_delay_ps;
    if (s.retired > 0) {
      ++s.stats.runs;
    }
    s.retired = 0;
    s.run_bus_delay_ps = 0;
    return r;
  };
  auto fault = [&](const std::string& what) {
    s.fault = what;
    r.message = what;
    return finish(StopReason::fault);
  };

  for (;;) {
    if (s.irq_deliverable()) { // instruction boundary: take it before going on
      s.take_interrupt();
    }
    if (s.retired >= s.budget) {
      return finish(StopReason::quantum);
    }
    s.stop_pending = false;
    s.stop_cause = StopCause::none;
    s.trap = {};
    s.recheck_irq = false;
    s.watch_irq = s.irq_asserted(); // asserted but (just checked) not deliverable
    s.update_timer_deadline();
    s.update_next_check();

    const uc_err err = uc_emu_start(s.uc, s.pc, 0, 0, 0);
    s.pc = s.read_reg(UC_RISCV_REG_PC);

    if (s.error) {
      if (s.trap.counted && s.retired > 0) {
        --s.retired;
      }
      std::exception_ptr e = s.error;
      s.error = nullptr;
      finish(StopReason::fault);
      std::rethrow_exception(e);
    }
    if (s.trap.valid) {
      const Impl::Trap t = s.trap;
      if (t.counted && s.retired > 0) {
        --s.retired; // a trapping instruction does not retire
      }
      const uint32_t epc = t.epc_known ? t.epc : s.pc;
      s.pc = epc;
      std::ostringstream what;
      what << "exception mcause=" << t.cause << " (";
      switch (t.cause) {
      case kCauseInsnAccessFault: what << "instruction access fault"; break;
      case kCauseIllegalInsn: what << "illegal instruction"; break;
      case kCauseLoadAccessFault: what << "load access fault, bus error"; break;
      case kCauseStoreAccessFault: what << "store access fault, bus error"; break;
      case kCauseMachineEcall: what << "ecall"; break;
      default: what << "see the privileged spec"; break;
      }
      what << ") at pc=" << hex32(epc) << " mtval=" << hex32(t.tval);
      const uint32_t vector = s.read_reg(UC_RISCV_REG_MTVEC) & ~3u;
      if (!s.cfg.trap_on_fault) {
        return fault(what.str());
      }
      if (s.read_reg(UC_RISCV_REG_MTVEC) == 0) {
        return fault(what.str() + "; no trap handler (mtvec is 0)");
      }
      if (epc == vector) {
        return fault(what.str() + "; the trap handler itself faults");
      }
      s.enter_trap(t.cause, epc, t.tval);
      ++s.stats.exceptions;
      continue;
    }
    if (err == UC_ERR_INSN_INVALID || err == UC_ERR_EXCEPTION) {
      const uint32_t insn = s.insn_at(s.pc);
      if (insn == kInsnEbreak || insn == kInsnCEbreak) {
        if (s.retired > 0) {
          --s.retired; // counted by the hook, not retired
        }
        r.message = "ebreak at pc=" + hex32(s.pc);
        return finish(StopReason::breakpoint);
      }
      return fault(std::string("unicorn stopped: ") + uc_strerror(err) + " at pc=" + hex32(s.pc));
    }
    if (err != UC_ERR_OK) {
      return fault(std::string("unicorn stopped: ") + uc_strerror(err) + " at pc=" + hex32(s.pc));
    }
    if (s.stop_pending) {
      switch (s.stop_cause) {
      case StopCause::quantum:
        return finish(StopReason::quantum);
      case StopCause::exit:
        s.exited = true;
        r.exit_code = s.exit_code;
        return finish(StopReason::exit);
      case StopCause::irq:
        continue; // taken at the top of the loop
      case StopCause::none:
        break;
      }
    }
    // Unicorn 2.0.1 returns from uc_emu_start just after a wfi, with no hook.
    if (s.pc >= 4 && s.insn_at(s.pc - 4) == kInsnWfi) {
      if (s.irq_wakes()) {
        continue; // an enabled interrupt is already pending: wfi falls through
      }
      s.sleeping = true;
      ++s.stats.wfi_sleeps;
      return finish(StopReason::wfi);
    }
    return fault("emulation stopped unexpectedly at pc=" + hex32(s.pc));
  }
}

void RiscvCore::raise_irq(unsigned line) {
  impl_->intc.raise(line);
  impl_->note_irq_change(); // effective at the next instruction boundary
}

IntController& RiscvCore::irq_controller() { return impl_->intc; }

uint64_t RiscvCore::time_ps() const { return impl_->now_ps(); }

void RiscvCore::advance_time(uint64_t now_ps) {
  Impl& s = *impl_;
  if (now_ps <= s.time_ps) {
    return; // the core ran ahead of the platform (temporal decoupling)
  }
  const uint64_t gap = now_ps - s.time_ps;
  (s.sleeping ? s.stats.sleep_ps : s.stats.stall_ps) += gap;
  s.time_ps = now_ps;
}

uint64_t RiscvCore::next_timer_ps() const {
  // Only a timer that can wake the core matters to a platform waiting on it.
  return (impl_->read_reg(UC_RISCV_REG_MIE) & kMieMtie) ? impl_->timer_deadline_ps() : kNever;
}

bool RiscvCore::sleeping() const { return impl_->sleeping; }
bool RiscvCore::exited() const { return impl_->exited; }
uint32_t RiscvCore::exit_code() const { return impl_->exit_code; }
uint32_t RiscvCore::pc() const { return impl_->pc; }

uint32_t RiscvCore::reg(unsigned x) const {
  if (x > 31) {
    throw std::out_of_range("RiscvCore::reg: x" + std::to_string(x));
  }
  return x == 0 ? 0 : impl_->read_reg(UC_RISCV_REG_X0 + static_cast<int>(x));
}

uint32_t RiscvCore::csr(Csr c) const {
  switch (c) {
  case Csr::mstatus: return impl_->read_reg(UC_RISCV_REG_MSTATUS);
  case Csr::mie: return impl_->read_reg(UC_RISCV_REG_MIE);
  case Csr::mtvec: return impl_->read_reg(UC_RISCV_REG_MTVEC);
  case Csr::mepc: return impl_->read_reg(UC_RISCV_REG_MEPC);
  case Csr::mcause: return impl_->read_reg(UC_RISCV_REG_MCAUSE);
  case Csr::mtval: return impl_->read_reg(UC_RISCV_REG_MTVAL);
  }
  return 0;
}

void RiscvCore::set_console_sink(std::function<void(char)> sink) { impl_->console_sink = std::move(sink); }
const std::string& RiscvCore::console() const { return impl_->console; }
void RiscvCore::set_marker_sink(std::function<void(uint32_t, uint64_t)> sink) {
  impl_->marker_sink = std::move(sink);
}
const CoreStats& RiscvCore::stats() const { return impl_->stats; }
double RiscvCore::energy_pj() const {
  return static_cast<double>(impl_->stats.instructions) * impl_->cfg.pj_per_instruction;
}
const CoreConfig& RiscvCore::config() const { return impl_->cfg; }
double RiscvCore::ps_per_instruction() const { return impl_->ps_per_instr; }

} // namespace pnm::cpu
