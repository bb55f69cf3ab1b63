/*
 * main.c: the device controller's firmware. Sleeps in wfi; when the host
 * rings the CXL mailbox doorbell, reads the command through the firmware
 * side of the mailbox (PNM_MBOXFW_*), executes it (lib/mailbox.c: the CXL
 * memory-device command set and the vendor PNM commands) and posts the
 * result, which clears the doorbell for the host.
 */
#include <string.h>

#include "pnm_hal.h"
#include "pnm_mailbox.h"

#define MBOX(off) (PNM_MBOX_BASE + (off))

static struct pnm_mbox_ctx ctx;
static uint8_t in_buf[2048];
static uint8_t out_buf[2048];
static volatile uint32_t doorbells;

void pnm_external_irq_handler(void) {
  uint32_t line;
  while ((line = pnm_intc_claim()) != PNM_INTC_CLAIM_NONE) {
    if (line == PNM_IRQ_MBOX_DOORBELL) {
      doorbells++;
    }
  }
}

/* Device time in ns from the core-complex timer. */
static uint64_t now_ns(void* user) {
  (void)user;
  return pnm_timer_now() * (1000000000ull / pnm_timer_freq_hz());
}

static void serve_mailbox(void) {
  while (pnm_read32(MBOX(PNM_MBOXFW_STATUS_OFF)) & 1u) {
    const uint16_t opcode = (uint16_t)pnm_read32(MBOX(PNM_MBOXFW_OPCODE_OFF));
    uint32_t in_len = pnm_read32(MBOX(PNM_MBOXFW_IN_LEN_OFF));
    if (in_len > sizeof in_buf) {
      in_len = sizeof in_buf;
    }
    for (uint32_t i = 0; i < in_len; i += 4) {
      const uint32_t w = pnm_read32(MBOX(PNM_MBOXFW_IN_PAYLOAD_OFF + i));
      memcpy(&in_buf[i], &w, (in_len - i) < 4 ? (in_len - i) : 4);
    }
    uint32_t out_len = 0;
    const uint16_t rc = pnm_mbox_execute(&ctx, opcode, in_buf, in_len, out_buf, sizeof out_buf, &out_len);
    for (uint32_t i = 0; i < out_len; i += 4) {
      uint32_t w = 0;
      memcpy(&w, &out_buf[i], (out_len - i) < 4 ? (out_len - i) : 4);
      pnm_write32(MBOX(PNM_MBOXFW_OUT_PAYLOAD_OFF + i), w);
    }
    pnm_write32(MBOX(PNM_MBOXFW_OUT_LEN_OFF), out_len);
    pnm_write32(MBOX(PNM_MBOXFW_RESULT_OFF), rc);
  }
}

int main(void) {
  const uint64_t capacity = ((uint64_t)pnm_read32(MBOX(PNM_MBOXFW_CAPACITY_HI_OFF)) << 32) |
                            pnm_read32(MBOX(PNM_MBOXFW_CAPACITY_LO_OFF));
  struct pnm_mbox_config cfg;
  memset(&cfg, 0, sizeof cfg);
  cfg.fw_revision = "pnmvp-fw 0.1";
  cfg.volatile_bytes = capacity;
  cfg.event_log_size[0] = cfg.event_log_size[1] = cfg.event_log_size[2] = cfg.event_log_size[3] = 32;
  cfg.now_ns = now_ns;
  if (pnm_mbox_init(&ctx, &cfg) != 0) {
    return 1; /* capacity not in 256 MiB units: nothing sensible to report */
  }
  pnm_intc_enable(PNM_IRQ_MBOX_DOORBELL);
  for (;;) {
    /* check-then-sleep with interrupts masked: a doorbell between the check
     * and the wfi still wakes it */
    pnm_irq_global_disable();
    if (!(pnm_read32(MBOX(PNM_MBOXFW_STATUS_OFF)) & 1u)) {
      pnm_wfi();
    }
    pnm_irq_global_enable();
    serve_mailbox();
  }
}
