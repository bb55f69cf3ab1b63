/*
 * timer_test.c: three timer interrupts, PNM_TIMER_TEST_PERIOD_TICKS apart,
 * taken while sleeping in wfi. Exits with the number of ticks seen.
 */
#include <stdio.h>

#include "pnm_hal.h"

#define PNM_TIMER_TEST_PERIOD_TICKS 1000u
#define PNM_TIMER_TEST_TICKS 3u

static volatile uint32_t ticks;

void pnm_timer_irq_handler(void) {
  ticks++;
  if (ticks < PNM_TIMER_TEST_TICKS) {
    pnm_timer_set_cmp(pnm_timer_now() + PNM_TIMER_TEST_PERIOD_TICKS);
  } else {
    pnm_timer_set_cmp(UINT64_MAX);
  }
}

int main(void) {
  printf("timer_test: %lu Hz\n", (unsigned long)pnm_timer_freq_hz());
  pnm_timer_set_cmp(pnm_timer_now() + PNM_TIMER_TEST_PERIOD_TICKS);
  pnm_csr_set(mie, PNM_MIE_MTIE);
  pnm_irq_global_enable();
  while (ticks < PNM_TIMER_TEST_TICKS) {
    pnm_wfi();
  }
  return (int)ticks;
}
