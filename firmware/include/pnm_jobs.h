/*
 * pnm_jobs.h: job submission through the queue pairs, shared by the
 * firmware and the host driver (sw/driver).
 *
 * The host puts a 128-byte job descriptor (models/pnm/engine_regs.h) in its
 * tenant's memory, writes a 64-byte submission entry (SQE) pointing at it
 * into the SQ slot, and rings the SQ-tail doorbell. The firmware reads the
 * SQE, copies the descriptor into its own reserved memory, checks that
 * every region the job names lies inside the queue's tenant, runs the copy
 * on the engine and writes a 16-byte completion entry (CQE) with the NVMe
 * phase tag. All fields little-endian; docs/FIRMWARE.md has the tables.
 *
 * Portable C11, no register access: built into the firmware and natively
 * (pnm_fw_native) for host tests and the driver.
 */
#ifndef PNM_JOBS_H
#define PNM_JOBS_H

#include <stdbool.h>
#include <stdint.h>

#include "engine_regs.h"
#include "pnm_tenants.h"

#ifdef __cplusplus
extern "C" {
#endif

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

/* Status: 0 success, 1..PNM_JOB_ERR_INTERNAL the engine's error codes (the
 * firmware reports the same code for the checks it makes itself), and the
 * queue-level codes below. */
#define PNM_CQ_ST_SUCCESS 0x0000u
#define PNM_CQ_ST_BAD_SQE 0x0100u       /* unknown SQE opcode/flags or reserved bits set */
#define PNM_CQ_ST_ACCESS_DENIED 0x0101u /* descriptor or a region outside the queue's tenant */

/* Regions a job names, in this order (names for logs: pnm_job_region_name). */
enum pnm_job_region { PNM_REGION_Q = 0, PNM_REGION_K, PNM_REGION_V, PNM_REGION_O, PNM_REGION_IDX,
                      PNM_REGION_COUNT };

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

/* Decodes an SQE: PNM_CQ_ST_SUCCESS, or PNM_CQ_ST_BAD_SQE. */
uint16_t pnm_sqe_decode(const uint8_t* sqe64, struct pnm_sqe* out);
void pnm_sqe_encode(const struct pnm_sqe* in, uint8_t* sqe64);
void pnm_cqe_encode(const struct pnm_cqe* in, uint8_t* cqe16);
void pnm_cqe_decode(const uint8_t* cqe16, struct pnm_cqe* out);

/* Byte address and length of each region the descriptor names (length 0:
 * unused). Returns PNM_JOB_ERR_OK, or the engine's error code for the shape
 * fields these sizes depend on (magic, version/size, opcode, precision,
 * flags, heads, kv_heads, head_dim, seq_len, page_tokens), so sizes are only
 * computed from bounded values. Other checks are left to the engine. */
uint16_t pnm_job_regions(const uint8_t* desc128, uint64_t addr[PNM_REGION_COUNT],
                         uint64_t len[PNM_REGION_COUNT]);

/* The isolation check: PNM_CQ_ST_SUCCESS if the descriptor's regions all lie
 * inside the tenant owning `queue_id`; PNM_CQ_ST_ACCESS_DENIED otherwise
 * (*bad_region names the first offender); or pnm_job_regions()'s error. */
uint16_t pnm_job_check(const struct pnm_tenants* t, uint16_t queue_id, const uint8_t* desc128,
                       unsigned* bad_region);

const char* pnm_job_region_name(unsigned region);

#ifdef __cplusplus
}
#endif

#endif /* PNM_JOBS_H */
