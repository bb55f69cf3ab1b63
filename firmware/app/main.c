/*
 * main.c: the device controller's firmware.
 *
 * Sleeps in wfi until an interrupt, then
 *  - serves the CXL mailbox (lib/mailbox.c: the CXL memory-device command
 *    set and the vendor PNM commands that create tenants and queue pairs);
 *  - serves the queue pairs (pnm_jobs.h): for each new submission entry it
 *    copies the job descriptor into firmware-reserved memory, checks that
 *    every region the job names belongs to the queue's tenant, runs the
 *    checked copy on the engine and posts a completion with the NVMe phase
 *    tag, interrupting the host if the entry asked for it.
 * A job the isolation check refuses never reaches the engine; the refusal
 * is logged on the console ("W: ..." lines become warnings in the model).
 */
#include <stdio.h>
#include <string.h>

#include <pnmvp/hw/doorbells.h>
#include <pnmvp/hw/engine_regs.h>

#include "pnm_hal.h"
#include "pnm_jobs.h"
#include "pnm_mailbox.h"

#define MBOX(off) (PNM_MBOX_BASE + (off))
#define QDB(off) (PNM_QDB_BASE + (off))
#define ENG(off) (PNM_ENGINE_BASE + (off))

static struct pnm_mbox_ctx ctx;
static uint8_t in_buf[2048];
static uint8_t out_buf[2048];
static uint64_t staging_dpa; /* firmware-reserved copy of the running descriptor */

void pnm_external_irq_handler(void) {
  /* Claiming is all that is needed: the main loop polls the sources
   * (mailbox status, doorbell PENDING, engine status) after every wake-up. */
  while (pnm_intc_claim() != PNM_INTC_CLAIM_NONE) {
  }
}

/* Device time in ns from the core-complex timer. */
static uint64_t now_ns(void* user) {
  (void)user;
  return pnm_timer_now() * (1000000000ull / pnm_timer_freq_hz());
}

/* ---- device memory through the DRAM window (word accesses) ---------------- */
static void dram_read(uint64_t dpa, uint8_t* dst, uint32_t len) {
  const uintptr_t a = pnm_dram_map(dpa); /* len <= 128: never crosses the 1 GiB window */
  for (uint32_t i = 0; i < len; i += 4) {
    const uint32_t w = pnm_read32(a + i);
    memcpy(dst + i, &w, 4);
  }
}

static void dram_write(uint64_t dpa, const uint8_t* src, uint32_t len) {
  const uintptr_t a = pnm_dram_map(dpa);
  for (uint32_t i = 0; i < len; i += 4) {
    uint32_t w;
    memcpy(&w, src + i, 4);
    pnm_write32(a + i, w);
  }
}

static int clear_line(void* user, uint64_t dpa, const uint8_t* data64) {
  (void)user;
  dram_write(dpa, data64, 64);
  return 0;
}

/* ---- mailbox ---------------------------------------------------------------- */
static uint64_t devctr(uint32_t off) {
  const uint32_t lo = pnm_read32(PNM_DEVCTR_BASE + off); /* latches the high word */
  return ((uint64_t)pnm_read32(PNM_DEVCTR_BASE + off + 4u) << 32) | lo;
}

/* Device-wide figures for Get Performance Counters (jobs and engine counts
 * are kept by job processing). */
static void refresh_perf(void) {
  ctx.perf.instructions_retired = devctr(PNM_DEVCTR_INSTRUCTIONS_OFF);
  ctx.perf.link_bytes_rx = devctr(PNM_DEVCTR_LINK_RX_BYTES_OFF);
  ctx.perf.link_bytes_tx = devctr(PNM_DEVCTR_LINK_TX_BYTES_OFF);
  ctx.perf.energy_pj[PNM_ENERGY_DRAM] = devctr(PNM_DEVCTR_ENERGY_DRAM_OFF);
  ctx.perf.energy_pj[PNM_ENERGY_LINK] = devctr(PNM_DEVCTR_ENERGY_LINK_OFF);
  ctx.perf.energy_pj[PNM_ENERGY_DATAPATH] = devctr(PNM_DEVCTR_ENERGY_DATAPATH_OFF);
  ctx.perf.energy_pj[PNM_ENERGY_SRAM] = devctr(PNM_DEVCTR_ENERGY_SRAM_OFF);
  ctx.perf.energy_pj[PNM_ENERGY_CORE] = devctr(PNM_DEVCTR_ENERGY_CORE_OFF);
}

static int mailbox_waiting(void) { return (int)(pnm_read32(MBOX(PNM_MBOXFW_STATUS_OFF)) & 1u); }

static void serve_mailbox(void) {
  while (mailbox_waiting()) {
    const uint16_t opcode = (uint16_t)pnm_read32(MBOX(PNM_MBOXFW_OPCODE_OFF));
    uint32_t in_len = pnm_read32(MBOX(PNM_MBOXFW_IN_LEN_OFF));
    if (in_len > sizeof in_buf) {
      in_len = sizeof in_buf;
    }
    for (uint32_t i = 0; i < in_len; i += 4) {
      const uint32_t w = pnm_read32(MBOX(PNM_MBOXFW_IN_PAYLOAD_OFF + i));
      memcpy(&in_buf[i], &w, (in_len - i) < 4 ? (in_len - i) : 4);
    }
    if (opcode == PNM_MBOX_OP_PNM_GET_PERF) {
      refresh_perf();
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

/* ---- queues ----------------------------------------------------------------- */
static uint64_t read64(uint32_t lo_off) {
  const uint32_t lo = pnm_read32(ENG(lo_off));
  return ((uint64_t)pnm_read32(ENG(lo_off + 4u)) << 32) | lo;
}

static uint32_t saturate32(uint64_t v) { return v > 0xFFFFFFFFull ? 0xFFFFFFFFu : (uint32_t)v; }

/* Runs the descriptor staged at staging_dpa; returns the engine's error code. */
static uint16_t run_engine(struct pnm_cqe* cqe) {
  pnm_write32(ENG(PNM_ENG_DESC_LO_OFF), (uint32_t)staging_dpa);
  pnm_write32(ENG(PNM_ENG_DESC_HI_OFF), (uint32_t)(staging_dpa >> 32));
  pnm_write32(ENG(PNM_ENG_CTRL_OFF), PNM_ENG_CTRL_START);
  pnm_irq_global_disable();
  while (pnm_read32(ENG(PNM_ENG_STATUS_OFF)) == PNM_ENG_STATUS_BUSY) {
    pnm_wfi(); /* the engine's done/error interrupt wakes it */
    pnm_irq_global_enable();
    pnm_irq_global_disable();
  }
  pnm_irq_global_enable();
  const uint16_t err = (uint16_t)pnm_read32(ENG(PNM_ENG_ERROR_OFF));
  const uint64_t cycles = read64(PNM_ENG_CYCLES_LO_OFF);
  const uint64_t bytes_rd = read64(PNM_ENG_BYTES_RD_LO_OFF);
  const uint64_t bytes_wr = read64(PNM_ENG_BYTES_WR_LO_OFF);
  pnm_write32(ENG(PNM_ENG_STATUS_OFF), 0u); /* acknowledge: idle, interrupt low */
  cqe->cycles = saturate32(cycles);
  cqe->lines_read = saturate32(bytes_rd / 64u);
  ctx.perf.engine_busy_cycles += cycles;
  ctx.perf.dram_bytes_read += bytes_rd;
  ctx.perf.dram_bytes_written += bytes_wr;
  return err;
}

static void refuse(const struct pnm_queue* q, uint16_t cid, const char* what) {
  printf("W: queue %u tenant %u cid %u: %s outside the tenant's memory; job refused\n", (unsigned)q->id,
         (unsigned)q->tenant, (unsigned)cid, what);
}

/* The MERGE barrier: every part but the first (the device's own, which the
 * same queue ran before) has pushed its partial when its flag line holds
 * the job's epoch. Polled in device memory, oldest part first. */
static uint16_t merge_barrier(const uint8_t* desc) {
  const uint32_t parts = pnm_le32_get(desc + PNM_JOB_K_OFF);
  const uint32_t epoch = pnm_le32_get(desc + PNM_JOB_EPOCH_OFF);
  const uint64_t flags = pnm_le64_get(desc + PNM_JOB_IDX_ADDR_OFF);
  const uint64_t deadline = pnm_timer_now() + (uint64_t)pnm_timer_freq_hz() / 1000000u * PNM_BARRIER_TIMEOUT_US;
  for (uint32_t p = 1; p < parts; ++p) {
    for (;;) {
      uint8_t w[4];
      dram_read(flags + (uint64_t)(p - 1u) * PNM_JOB_ALIGN_BYTES, w, sizeof w);
      if (pnm_le32_get(w) == epoch) {
        break;
      }
      if (pnm_timer_now() > deadline) {
        printf("W: merge barrier: part %u's flag did not reach epoch %u in %u us\n", (unsigned)p, (unsigned)epoch,
               (unsigned)PNM_BARRIER_TIMEOUT_US);
        return PNM_CQ_ST_BARRIER_TIMEOUT;
      }
    }
  }
  return PNM_CQ_ST_SUCCESS;
}

/* Takes one entry from q's SQ, processes it, posts its completion. */
static void process_one(struct pnm_queue* q) {
  uint8_t sqe_bytes[PNM_SQ_ENTRY_BYTES], desc[PNM_JOB_DESC_BYTES], cqe_bytes[PNM_CQ_ENTRY_BYTES];
  const int32_t slot = pnm_ring_consume(&q->sq);
  q->inflight++;
  dram_read(pnm_queue_sq_slot_dpa(q, (uint32_t)slot), sqe_bytes, sizeof sqe_bytes);
  struct pnm_sqe sqe;
  struct pnm_cqe cqe;
  memset(&cqe, 0, sizeof cqe);
  uint16_t status = pnm_sqe_decode(sqe_bytes, &sqe);
  if (status == PNM_CQ_ST_SUCCESS) {
    if ((sqe.desc_dpa & (PNM_JOB_ALIGN_BYTES - 1u)) != 0u) {
      status = PNM_JOB_ERR_DESC_ADDRESS;
    } else if (!pnm_queue_owns(&ctx.tenants, q->id, sqe.desc_dpa, PNM_JOB_DESC_BYTES)) {
      refuse(q, sqe.cid, "descriptor");
      status = PNM_CQ_ST_ACCESS_DENIED;
    }
  }
  if (status == PNM_CQ_ST_SUCCESS) {
    /* the copy is what gets checked and run: the host cannot change it after the check */
    dram_read(sqe.desc_dpa, desc, sizeof desc);
    unsigned bad = 0;
    status = pnm_job_check(&ctx.tenants, q->id, desc, &bad);
    if (status == PNM_CQ_ST_ACCESS_DENIED) {
      refuse(q, sqe.cid, pnm_job_region_name(bad));
    }
  }
  if (status == PNM_CQ_ST_SUCCESS && desc[PNM_JOB_OPCODE_OFF] == PNM_JOB_OP_MERGE) {
    status = merge_barrier(desc);
  }
  if (status == PNM_CQ_ST_SUCCESS) {
    dram_write(staging_dpa, desc, sizeof desc);
    status = run_engine(&cqe);
  }
  struct pnm_tenant* t = pnm_tenant_find_mut(&ctx.tenants, q->tenant);
  if (status == PNM_CQ_ST_SUCCESS) {
    ctx.perf.jobs_completed++;
    if (t) {
      t->jobs_completed++;
    }
  } else {
    ctx.perf.jobs_failed++;
    if (t) {
      t->jobs_failed++;
    }
  }
  uint32_t phase = 0;
  const int32_t cslot = pnm_cq_post(&q->cq, &phase); /* the caller checked for space */
  cqe.cid = sqe.cid;
  cqe.sq_head = (uint16_t)q->sq.head;
  cqe.status = status;
  cqe.phase = (uint16_t)phase;
  pnm_cqe_encode(&cqe, cqe_bytes);
  dram_write(pnm_queue_cq_slot_dpa(q, (uint32_t)cslot), cqe_bytes, sizeof cqe_bytes);
  q->inflight--;
  if (sqe.flags & PNM_SQE_FLAG_IRQ) {
    pnm_write32(QDB(PNM_QDB_HOST_IRQ_OFF), 1u);
  }
}

/* Reads the doorbells of the queues flagged PENDING into the ring state. */
static void take_doorbells(void) {
  const uint32_t lo = pnm_read32(QDB(PNM_QDB_PENDING_LO_OFF));
  const uint32_t hi = pnm_read32(QDB(PNM_QDB_PENDING_HI_OFF));
  pnm_write32(QDB(PNM_QDB_ACK_LO_OFF), lo);
  pnm_write32(QDB(PNM_QDB_ACK_HI_OFF), hi);
  const uint64_t pending = ((uint64_t)hi << 32) | lo;
  for (unsigned id = 0; id < PNM_QUEUES_MAX; ++id) {
    if (!(pending & (1ull << id))) {
      continue;
    }
    struct pnm_queue* q = pnm_queue_find_mut(&ctx.tenants, (uint16_t)id);
    const uint32_t pair = PNM_QDB_DOORBELL_OFF + PNM_DOORBELL_STRIDE_BYTES * id;
    const uint32_t sq_tail = pnm_read32(QDB(pair + PNM_DOORBELL_SQ_TAIL_OFF));
    const uint32_t cq_head = pnm_read32(QDB(pair + PNM_DOORBELL_CQ_HEAD_OFF));
    if (!q) {
      printf("W: doorbell of queue %u, which does not exist; ignored\n", id);
      continue;
    }
    if (pnm_ring_set_tail(&q->sq, sq_tail) != 0) {
      printf("W: queue %u: invalid SQ tail doorbell %lu; ignored\n", id, (unsigned long)sq_tail);
    }
    if (pnm_ring_set_head(&q->cq.ring, cq_head) != 0) {
      printf("W: queue %u: invalid CQ head doorbell %lu; ignored\n", id, (unsigned long)cq_head);
    }
  }
}

/* Round robin over the queues, one job each per pass, while work remains.
 * Doorbells are read before any mailbox command is served, so a doorbell the
 * host rang before destroying its queue is taken while the queue exists. */
static void serve_queues(void) {
  for (int progress = 1; progress;) {
    progress = 0;
    take_doorbells();
    for (unsigned id = 0; id < PNM_QUEUES_MAX; ++id) {
      struct pnm_queue* q = pnm_queue_find_mut(&ctx.tenants, (uint16_t)id);
      if (q && !pnm_ring_empty(&q->sq) && !pnm_ring_full(&q->cq.ring)) {
        process_one(q);
        progress = 1;
      }
    }
    if (mailbox_waiting()) {
      /* A doorbell the host rang before this command (e.g. the last CQ head
       * before Destroy Queue) is taken first, while its queue exists. */
      take_doorbells();
      serve_mailbox(); /* between jobs, so mailbox commands are not starved */
      progress = 1;
    }
  }
}

static int work_waiting(void) {
  return mailbox_waiting() || pnm_read32(QDB(PNM_QDB_PENDING_LO_OFF)) != 0u ||
         pnm_read32(QDB(PNM_QDB_PENDING_HI_OFF)) != 0u;
}

int main(void) {
  const uint64_t capacity = ((uint64_t)pnm_read32(MBOX(PNM_MBOXFW_CAPACITY_HI_OFF)) << 32) |
                            pnm_read32(MBOX(PNM_MBOXFW_CAPACITY_LO_OFF));
  const uint32_t caps = pnm_read32(ENG(PNM_ENG_CAPS_OFF));
  struct pnm_mbox_config cfg;
  memset(&cfg, 0, sizeof cfg);
  cfg.fw_revision = "pnmvp-fw 0.2";
  cfg.volatile_bytes = capacity;
  cfg.event_log_size[0] = cfg.event_log_size[1] = cfg.event_log_size[2] = cfg.event_log_size[3] = 32;
  cfg.now_ns = now_ns;
  cfg.write_line = clear_line;
  cfg.engine.job_desc_version = (uint16_t)pnm_read32(ENG(PNM_ENG_VERSION_OFF));
  cfg.engine.lanes = (uint16_t)(caps & 0xFFu);
  cfg.engine.engines = 1u;
  cfg.engine.precisions = PNM_PRECISION_BF16 | PNM_PRECISION_INT8;
  if (pnm_mbox_init(&ctx, &cfg) != 0) {
    return 1; /* capacity not in 256 MiB units: nothing sensible to report */
  }
  /* the top granule is the firmware's: no tenant may own it */
  staging_dpa = capacity - PNM_FW_RESERVED_BYTES;
  ctx.tenants.capacity_bytes = staging_dpa;
  pnm_intc_enable(PNM_IRQ_MBOX_DOORBELL);
  pnm_intc_enable(PNM_IRQ_SQ_DOORBELL);
  pnm_intc_enable(PNM_IRQ_ENGINE_DONE);
  pnm_intc_enable(PNM_IRQ_ENGINE_ERROR);
  /* from here the firmware answers the mailbox: the host may send commands */
  pnm_write32(MBOX(PNM_MBOXFW_READY_OFF), 1u);
  for (;;) {
    /* check-then-sleep with interrupts masked: an event between the check
     * and the wfi still wakes it */
    pnm_irq_global_disable();
    if (!work_waiting()) {
      pnm_wfi();
    }
    pnm_irq_global_enable();
    serve_queues();
  }
}
