/*
 * runtime.c: what picolibc expects from the platform (stdio, _exit) and the
 * C side of the trap vector, with weak default handlers.
 */
#include <stdio.h>
#include <stdlib.h>

#include "pnm_hal.h"

/* ---- stdio on the debug console (picolibc tinystdio) ---------------------- */
static int console_put(char c, FILE* f) {
  (void)f;
  pnm_console_putc(c);
  return (unsigned char)c;
}

static FILE console_stream = FDEV_SETUP_STREAM(console_put, NULL, NULL, _FDEV_SETUP_WRITE);
FILE* const stdin = &console_stream; /* write-only: reads fail */
FILE* const stdout = &console_stream;
FILE* const stderr = &console_stream;

/* exit() -> _exit(): hand the code to the simulator. */
void _exit(int code) { pnm_sim_exit((uint32_t)code); }

/* ---- traps -------------------------------------------------------------- */
__attribute__((weak)) void pnm_external_irq_handler(void) {
  /* nobody listens: drain the controller so the line does not storm */
  while (pnm_intc_claim() != PNM_INTC_CLAIM_NONE) {
  }
}

__attribute__((weak)) void pnm_timer_irq_handler(void) {
  pnm_timer_set_cmp(UINT64_MAX); /* one-shot by default */
}

__attribute__((weak)) uint32_t pnm_exception_handler(uint32_t mcause, uint32_t mepc,
                                                     uint32_t mtval) {
  printf("unhandled exception: mcause=%lu mepc=0x%08lx mtval=0x%08lx\n", (unsigned long)mcause,
         (unsigned long)mepc, (unsigned long)mtval);
  pnm_sim_exit(PNM_EXIT_TRAP_BASE + mcause);
  return mepc;
}

/* Called by _pnm_trap_entry (rt/start.S); returns the PC to resume at. */
uint32_t pnm_trap_dispatch(uint32_t mcause, uint32_t mepc, uint32_t mtval);
uint32_t pnm_trap_dispatch(uint32_t mcause, uint32_t mepc, uint32_t mtval) {
  if (mcause & PNM_MCAUSE_INTERRUPT) {
    switch (mcause & ~PNM_MCAUSE_INTERRUPT) {
    case PNM_MCAUSE_MEI:
      pnm_external_irq_handler();
      break;
    case PNM_MCAUSE_MTI:
      pnm_timer_irq_handler();
      break;
    default:
      break;
    }
    return mepc;
  }
  return pnm_exception_handler(mcause, mepc, mtval);
}
