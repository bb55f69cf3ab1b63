/*
 * irq_test.c: counts mailbox-doorbell interrupts while sleeping in wfi.
 * The test bench raises PNM_IRQ_MBOX_DOORBELL any number of times, then
 * PNM_IRQ_SQ_DOORBELL once to say "done"; the exit code is the count.
 */
#include <stdio.h>

#include "pnm_hal.h"

static volatile uint32_t doorbells;
static volatile uint32_t done;

void pnm_external_irq_handler(void) {
  uint32_t line;
  while ((line = pnm_intc_claim()) != PNM_INTC_CLAIM_NONE) {
    if (line == PNM_IRQ_MBOX_DOORBELL) {
      doorbells++;
    } else if (line == PNM_IRQ_SQ_DOORBELL) {
      done = 1;
    }
  }
}

int main(void) {
  pnm_intc_enable(PNM_IRQ_MBOX_DOORBELL);
  pnm_intc_enable(PNM_IRQ_SQ_DOORBELL);
  printf("irq_test: waiting for doorbells\n");
  /* check-then-sleep with interrupts masked: wfi still wakes on a pending
   * enabled interrupt, which is then taken once MIE is set again */
  for (;;) {
    pnm_irq_global_disable();
    if (done) {
      break;
    }
    pnm_wfi();
    pnm_irq_global_enable();
  }
  printf("irq_test: %lu doorbells\n", (unsigned long)doorbells);
  return (int)doorbells;
}
