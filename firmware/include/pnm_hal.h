/*
 * pnm_hal.h: hardware access layer for the controller firmware (RV32, C).
 *
 * Register addresses come from pnmvp/hw/device_map.h (shared with the C++
 * models); this header only adds typed accessors, CSR helpers and the
 * interrupt/timer/console/sim-control conveniences. Firmware only: it uses
 * RISC-V inline assembly.
 */
#ifndef PNM_HAL_H
#define PNM_HAL_H

#include <stdint.h>

#include <pnmvp/hw/device_map.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ---- memory-mapped I/O --------------------------------------------------- */
static inline uint32_t pnm_read32(uintptr_t addr) {
  return *(volatile const uint32_t*)addr;
}
static inline void pnm_write32(uintptr_t addr, uint32_t value) {
  *(volatile uint32_t*)addr = value;
}
static inline uint8_t pnm_read8(uintptr_t addr) {
  return *(volatile const uint8_t*)addr;
}
static inline void pnm_write8(uintptr_t addr, uint8_t value) {
  *(volatile uint8_t*)addr = value;
}

/* ---- CSRs ---------------------------------------------------------------- */
#define PNM_MSTATUS_MIE 0x00000008u
#define PNM_MSTATUS_MPIE 0x00000080u
#define PNM_MIE_MTIE 0x00000080u /* machine timer interrupt enable */
#define PNM_MIE_MEIE 0x00000800u /* machine external interrupt enable */
#define PNM_MCAUSE_INTERRUPT 0x80000000u
#define PNM_MCAUSE_MTI 7u  /* machine timer interrupt */
#define PNM_MCAUSE_MEI 11u /* machine external interrupt */
#define PNM_MCAUSE_LOAD_ACCESS_FAULT 5u
#define PNM_MCAUSE_STORE_ACCESS_FAULT 7u

#define pnm_csr_read(csr)                                 \
  ({                                                      \
    uint32_t pnm_v_;                                      \
    __asm__ volatile("csrr %0, " #csr : "=r"(pnm_v_));    \
    pnm_v_;                                               \
  })
#define pnm_csr_write(csr, v) __asm__ volatile("csrw " #csr ", %0" ::"rK"((uint32_t)(v)))
#define pnm_csr_set(csr, v) __asm__ volatile("csrs " #csr ", %0" ::"rK"((uint32_t)(v)))
#define pnm_csr_clear(csr, v) __asm__ volatile("csrc " #csr ", %0" ::"rK"((uint32_t)(v)))

static inline void pnm_wfi(void) { __asm__ volatile("wfi" ::: "memory"); }
static inline void pnm_irq_global_enable(void) { pnm_csr_set(mstatus, PNM_MSTATUS_MIE); }
static inline void pnm_irq_global_disable(void) { pnm_csr_clear(mstatus, PNM_MSTATUS_MIE); }

/* ---- interrupt controller ------------------------------------------------ */
static inline void pnm_intc_enable(unsigned line) {
  uintptr_t r = PNM_INTC_BASE + PNM_INTC_ENABLE_OFF;
  pnm_write32(r, pnm_read32(r) | (1u << line));
  pnm_csr_set(mie, PNM_MIE_MEIE);
}
static inline void pnm_intc_disable(unsigned line) {
  uintptr_t r = PNM_INTC_BASE + PNM_INTC_ENABLE_OFF;
  pnm_write32(r, pnm_read32(r) & ~(1u << line));
}
/* Returns the claimed line or PNM_INTC_CLAIM_NONE. */
static inline uint32_t pnm_intc_claim(void) {
  return pnm_read32(PNM_INTC_BASE + PNM_INTC_CLAIM_OFF);
}
static inline void pnm_intc_raise(unsigned line) {
  pnm_write32(PNM_INTC_BASE + PNM_INTC_SET_PENDING_OFF, 1u << line);
}

/* ---- timer --------------------------------------------------------------- */
static inline uint64_t pnm_timer_now(void) {
  uint32_t hi, lo;
  do { /* re-read if the low word wrapped between the two reads */
    hi = pnm_read32(PNM_TIMER_BASE + PNM_TIMER_MTIME_HI_OFF);
    lo = pnm_read32(PNM_TIMER_BASE + PNM_TIMER_MTIME_LO_OFF);
  } while (hi != pnm_read32(PNM_TIMER_BASE + PNM_TIMER_MTIME_HI_OFF));
  return ((uint64_t)hi << 32) | lo;
}
static inline uint32_t pnm_timer_freq_hz(void) {
  return pnm_read32(PNM_TIMER_BASE + PNM_TIMER_FREQ_HZ_OFF);
}
static inline void pnm_timer_set_cmp(uint64_t cmp) {
  /* high word first to all-ones so no spurious match while updating */
  pnm_write32(PNM_TIMER_BASE + PNM_TIMER_MTIMECMP_HI_OFF, 0xFFFFFFFFu);
  pnm_write32(PNM_TIMER_BASE + PNM_TIMER_MTIMECMP_LO_OFF, (uint32_t)cmp);
  pnm_write32(PNM_TIMER_BASE + PNM_TIMER_MTIMECMP_HI_OFF, (uint32_t)(cmp >> 32));
}

/* ---- console and simulation control -------------------------------------- */
static inline void pnm_console_putc(char c) {
  pnm_write32(PNM_CONSOLE_BASE + PNM_CONSOLE_TX_OFF, (uint8_t)c);
}
static inline void pnm_sim_mark(uint32_t value) {
  pnm_write32(PNM_SIMCTRL_BASE + PNM_SIMCTRL_MARK_OFF, value);
}
static inline void pnm_sim_exit(uint32_t code) {
  pnm_write32(PNM_SIMCTRL_BASE + PNM_SIMCTRL_EXIT_OFF, code);
  for (;;) {
  }
}

/* ---- device DRAM window --------------------------------------------------- */
/* Points the window at device address `dev_addr` (rounded down to the window
 * alignment) and returns the controller address of `dev_addr`. */
static inline uintptr_t pnm_dram_map(uint64_t dev_addr) {
  uint64_t base = dev_addr & ~(uint64_t)(PNM_DRAM_WINDOW_ALIGN_BYTES - 1u);
  pnm_write32(PNM_DRAMWIN_CTRL_BASE + PNM_DRAMWIN_BASE_LO_OFF, (uint32_t)base);
  pnm_write32(PNM_DRAMWIN_CTRL_BASE + PNM_DRAMWIN_BASE_HI_OFF, (uint32_t)(base >> 32));
  return PNM_DRAM_WINDOW_BASE + (uintptr_t)(dev_addr - base);
}

/* Length in bytes of the instruction at `pc` (2 if compressed, else 4):
 * what an exception handler adds to mepc to skip a faulting instruction. */
static inline uint32_t pnm_insn_length(uint32_t pc) {
  return ((*(volatile const uint16_t*)(uintptr_t)pc) & 3u) == 3u ? 4u : 2u;
}

/* ---- trap handlers (weak defaults in rt/runtime.c; override by name) ------ */
void pnm_external_irq_handler(void); /* mcause 0x8000000B */
void pnm_timer_irq_handler(void);    /* mcause 0x80000007 */
/* Synchronous exception. Return the PC to resume at (mepc +
 * pnm_insn_length(mepc) skips the faulting instruction); the default prints
 * and exits with
 * PNM_EXIT_TRAP_BASE + mcause. */
uint32_t pnm_exception_handler(uint32_t mcause, uint32_t mepc, uint32_t mtval);

#ifdef __cplusplus
}
#endif

#endif /* PNM_HAL_H */
