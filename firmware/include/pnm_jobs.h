/*
 * pnm_jobs.h: the firmware's per-job isolation check.
 *
 * The entry layouts and their codecs are shared with the host:
 * pnmvp/hw/jobs.h. The firmware reads an SQE, copies the descriptor into
 * its own reserved memory, checks here that every region the job names
 * lies inside the queue's tenant, runs the copy on the engine and posts a
 * CQE.
 *
 * Portable C11, no register access: built into the firmware and natively
 * (pnm_fw_native) for the firmware's host tests.
 */
#ifndef PNM_JOBS_H
#define PNM_JOBS_H

#include <stdbool.h>
#include <stdint.h>

#include <pnmvp/hw/jobs.h>

#include "pnm_tenants.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Regions a job names, in this order (names for logs: pnm_job_region_name). */
enum pnm_job_region { PNM_REGION_Q = 0, PNM_REGION_K, PNM_REGION_V, PNM_REGION_O, PNM_REGION_IDX,
                      PNM_REGION_COUNT };

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
