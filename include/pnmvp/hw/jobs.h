/*
 * pnmvp/hw/jobs.h: job submission through the queue pairs: the 64-byte
 * submission entry (SQE) and 16-byte completion entry (CQE) in device
 * memory, their opcodes, flags and statuses, and the queue limits. This
 * project's own design on the NVMe pattern (NVMe Base Specification:
 * circular queues, tail/head doorbells, the completion phase tag).
 *
 * The host puts a job descriptor (pnmvp/hw/engine_regs.h) in its tenant's
 * memory, writes an SQE pointing at it into the SQ slot and rings the
 * SQ-tail doorbell (pnmvp/hw/doorbells.h). The firmware checks and runs it
 * and writes a CQE with the phase tag. All fields little-endian;
 * docs/FIRMWARE.md has the tables. The encoders and decoders below are the
 * only code that packs these entries, for firmware and host alike.
 */
#ifndef PNMVP_HW_JOBS_H
#define PNMVP_HW_JOBS_H

#include "pnmvp/hw/engine_regs.h"
#include "pnmvp/hw/wire.h"

/* ---- queue limits ---------------------------------------------------------- */
#define PNM_QUEUES_MAX 64u          /* queue pairs, all tenants together */
#define PNM_QUEUE_MIN_ENTRIES 2u
#define PNM_QUEUE_MAX_ENTRIES 4096u /* power of two in [MIN, MAX] */
#define PNM_SQ_ENTRY_BYTES 64u      /* submission entry */
#define PNM_CQ_ENTRY_BYTES 16u      /* completion entry */
#define PNM_QUEUE_BASE_ALIGN 64u    /* SQ and CQ base DPA alignment */
#define PNM_QUEUE_ID_INVALID 0xFFFFu

/* ---- submission entry (PNM_SQ_ENTRY_BYTES = 64) ------------------------- */
#define PNM_SQE_OPCODE_OFF 0x00 /* u8  PNM_SQE_OP_* */
#define PNM_SQE_FLAGS_OFF 0x01  /* u8  PNM_SQE_FLAG_* */
#define PNM_SQE_CID_OFF 0x02    /* u16 command id, echoed in the CQE */
#define PNM_SQE_RSVD0_OFF 0x04  /* u32 must be 0 */
#define PNM_SQE_DESC_OFF 0x08   /* u64 DPA of the job descriptor (64 B aligned) */
#define PNM_SQE_RSVD1_OFF 0x10  /* 48 bytes, must be 0 */

#define PNM_SQE_OP_ATTENTION 0x01u /* run the job descriptor on the engine */
#define PNM_SQE_FLAG_IRQ 0x01u     /* interrupt the host when the CQE is posted */
#define PNM_SQE_FLAGS_KNOWN 0x01u

/* ---- completion entry (PNM_CQ_ENTRY_BYTES = 16) ------------------------- */
#define PNM_CQE_CID_OFF 0x00     /* u16 command id of the SQE */
#define PNM_CQE_SQ_HEAD_OFF 0x02 /* u16 SQ head after this entry was taken */
#define PNM_CQE_STATUS_OFF 0x04  /* u16 PNM_CQ_ST_* or a PNM_JOB_ERR_* code */
#define PNM_CQE_PHASE_OFF 0x06   /* u16 bit 0: phase tag */
#define PNM_CQE_CYCLES_OFF 0x08  /* u32 engine cycles (saturating) */
#define PNM_CQE_LINES_OFF 0x0C   /* u32 DRAM lines (64 B) the engine read (saturating) */

PNM_HW_STATIC_ASSERT(PNM_SQE_DESC_OFF + 8 == PNM_SQE_RSVD1_OFF && PNM_SQE_RSVD1_OFF + 48 == PNM_SQ_ENTRY_BYTES,
                     "SQE layout");
PNM_HW_STATIC_ASSERT(PNM_CQE_LINES_OFF + 4 == PNM_CQ_ENTRY_BYTES, "CQE layout");
PNM_HW_STATIC_ASSERT(PNM_QUEUE_BASE_ALIGN % PNM_SQ_ENTRY_BYTES == 0 && PNM_QUEUE_BASE_ALIGN % PNM_CQ_ENTRY_BYTES == 0,
                     "ring slots stay naturally aligned");

/* Status: 0 success, 1..PNM_JOB_ERR_PEER the engine's error codes (the
 * firmware reports the same code for the checks it makes itself), and the
 * queue-level codes below. */
#define PNM_CQ_ST_SUCCESS 0x0000u
#define PNM_CQ_ST_BAD_SQE 0x0100u       /* unknown SQE opcode/flags or reserved bits set */
#define PNM_CQ_ST_ACCESS_DENIED 0x0101u /* descriptor or a region outside the queue's tenant */
#define PNM_CQ_ST_BARRIER_TIMEOUT 0x0102u /* MERGE: a part's flag did not reach the epoch in time */

/* The firmware's MERGE barrier: it polls the parts' flag lines in device
 * memory until each holds the job's epoch, for at most this long. A value
 * of the firmware, not of any standard: a step's partials arrive within
 * microseconds of each other, so 10 ms only ever expires on a lost part. */
#define PNM_BARRIER_TIMEOUT_US 10000u

/* Decoded entries (not wire overlays: the wire form is the byte layout above). */
struct pnm_sqe {
  uint8_t opcode;
  uint8_t flags;
  uint16_t cid;
  uint64_t desc_dpa;
};

struct pnm_cqe {
  uint16_t cid;
  uint16_t sq_head;
  uint16_t status;
  uint16_t phase;
  uint32_t cycles;
  uint32_t lines_read;
};

/* Decodes an SQE: PNM_CQ_ST_SUCCESS, or PNM_CQ_ST_BAD_SQE for an unknown
 * opcode or flag or a reserved byte that is not 0. */
static inline uint16_t pnm_sqe_decode(const uint8_t* s, struct pnm_sqe* out) {
  out->opcode = s[PNM_SQE_OPCODE_OFF];
  out->flags = s[PNM_SQE_FLAGS_OFF];
  out->cid = pnm_le16_get(s + PNM_SQE_CID_OFF);
  out->desc_dpa = pnm_le64_get(s + PNM_SQE_DESC_OFF);
  if (out->opcode != PNM_SQE_OP_ATTENTION || (out->flags & ~PNM_SQE_FLAGS_KNOWN) != 0u ||
      pnm_le32_get(s + PNM_SQE_RSVD0_OFF) != 0u) {
    return PNM_CQ_ST_BAD_SQE;
  }
  for (unsigned i = PNM_SQE_RSVD1_OFF; i < PNM_SQ_ENTRY_BYTES; ++i) {
    if (s[i] != 0u) {
      return PNM_CQ_ST_BAD_SQE;
    }
  }
  return PNM_CQ_ST_SUCCESS;
}

static inline void pnm_sqe_encode(const struct pnm_sqe* in, uint8_t* s) {
  for (unsigned i = 0; i < PNM_SQ_ENTRY_BYTES; ++i) {
    s[i] = 0u;
  }
  s[PNM_SQE_OPCODE_OFF] = in->opcode;
  s[PNM_SQE_FLAGS_OFF] = in->flags;
  pnm_le16_put(s + PNM_SQE_CID_OFF, in->cid);
  pnm_le64_put(s + PNM_SQE_DESC_OFF, in->desc_dpa);
}

static inline void pnm_cqe_encode(const struct pnm_cqe* in, uint8_t* c) {
  pnm_le16_put(c + PNM_CQE_CID_OFF, in->cid);
  pnm_le16_put(c + PNM_CQE_SQ_HEAD_OFF, in->sq_head);
  pnm_le16_put(c + PNM_CQE_STATUS_OFF, in->status);
  pnm_le16_put(c + PNM_CQE_PHASE_OFF, (uint16_t)(in->phase & 1u));
  pnm_le32_put(c + PNM_CQE_CYCLES_OFF, in->cycles);
  pnm_le32_put(c + PNM_CQE_LINES_OFF, in->lines_read);
}

static inline void pnm_cqe_decode(const uint8_t* c, struct pnm_cqe* out) {
  out->cid = pnm_le16_get(c + PNM_CQE_CID_OFF);
  out->sq_head = pnm_le16_get(c + PNM_CQE_SQ_HEAD_OFF);
  out->status = pnm_le16_get(c + PNM_CQE_STATUS_OFF);
  out->phase = (uint16_t)(pnm_le16_get(c + PNM_CQE_PHASE_OFF) & 1u);
  out->cycles = pnm_le32_get(c + PNM_CQE_CYCLES_OFF);
  out->lines_read = pnm_le32_get(c + PNM_CQE_LINES_OFF);
}

#endif /* PNMVP_HW_JOBS_H */
