/*
 * pnm_tenants.h: tenants and their submission/completion queue pairs.
 *
 * A tenant owns one contiguous range of device physical addresses (DPA),
 * [base, base + length), 2 MiB aligned and sized, that overlaps no other
 * tenant's range. Every queue pair belongs to one tenant and both of its
 * rings lie inside that tenant's range. Job processing checks every buffer
 * a job names with pnm_tenant_owns() (or pnm_queue_owns()) for the tenant
 * of the queue the job came from; since tenant ranges never overlap, a
 * tenant can never make the engine read or write another tenant's memory.
 *
 * Limits the host sees are in pnmvp/hw/tenants.h and pnmvp/hw/jobs.h.
 * Fixed-size tables, no allocation, no register access; portable C11
 * built into the firmware and natively (pnm_fw_native) for host tests.
 * docs/FIRMWARE.md describes the model and the mailbox commands on top.
 */
#ifndef PNM_TENANTS_H
#define PNM_TENANTS_H

#include <stdbool.h>
#include <stdint.h>

#include <pnmvp/hw/jobs.h> /* queue limits */
#include <pnmvp/hw/tenants.h>

#include "pnm_ring.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Results of the table operations (0 = success). */
enum pnm_tenant_status {
  PNM_TENANT_OK = 0,
  PNM_TENANT_EINVAL = -1,   /* bad field: alignment, size, entries, id */
  PNM_TENANT_ERANGE = -2,   /* range beyond the device capacity */
  PNM_TENANT_EOVERLAP = -3, /* overlaps another tenant / ring, or ring outside tenant */
  PNM_TENANT_EEXIST = -4,   /* tenant id already in use */
  PNM_TENANT_ENOENT = -5,   /* no such tenant / queue */
  PNM_TENANT_EFULL = -6,    /* table full */
  PNM_TENANT_EBUSY = -7     /* tenant still has queues / queue has work */
};

struct pnm_tenant {
  bool used;
  uint16_t id;
  uint16_t queue_count;
  uint64_t base;   /* DPA, 2 MiB aligned */
  uint64_t length; /* bytes, multiple of 2 MiB, > 0 */
  uint64_t jobs_completed; /* updated by job processing */
  uint64_t jobs_failed;
};

struct pnm_queue {
  bool used;
  uint16_t id;     /* = its index in pnm_tenants.queue[] */
  uint16_t tenant; /* owning tenant id */
  uint32_t entries;
  uint64_t sq_base; /* DPA of SQ slot 0; entries x PNM_SQ_ENTRY_BYTES */
  uint64_t cq_base; /* DPA of CQ slot 0; entries x PNM_CQ_ENTRY_BYTES */
  pnm_ring_t sq;    /* host produces (tail doorbell), firmware consumes */
  pnm_cq_t cq;      /* firmware produces (phase tag), host consumes */
  uint32_t inflight; /* jobs taken from the SQ and not yet completed */
};

struct pnm_tenants {
  uint64_t capacity_bytes; /* device DPA space: [0, capacity_bytes) */
  struct pnm_tenant tenant[PNM_TENANTS_MAX];
  struct pnm_queue queue[PNM_QUEUES_MAX];
};

/* ---- overflow-safe range helpers (len 0 is never "inside") -------------- */
/* [a, a + alen) and [b, b + blen) share at least one byte. Ranges that
 * would wrap past 2^64 are treated as extending to 2^64. */
bool pnm_range_overlaps(uint64_t a, uint64_t alen, uint64_t b, uint64_t blen);
/* [dpa, dpa + len) lies entirely inside [base, base + length). */
bool pnm_range_within(uint64_t base, uint64_t length, uint64_t dpa, uint64_t len);

/* ---- tenants -------------------------------------------------------------- */
void pnm_tenants_init(struct pnm_tenants* t, uint64_t capacity_bytes);
/* id != PNM_TENANT_ID_INVALID and unused; base/length 2 MiB multiples,
 * length > 0, inside the capacity, overlapping no other tenant. */
int pnm_tenant_create(struct pnm_tenants* t, uint16_t id, uint64_t base, uint64_t length);
/* EBUSY while the tenant has queues. */
int pnm_tenant_destroy(struct pnm_tenants* t, uint16_t id);
const struct pnm_tenant* pnm_tenant_find(const struct pnm_tenants* t, uint16_t id);
struct pnm_tenant* pnm_tenant_find_mut(struct pnm_tenants* t, uint16_t id);
unsigned pnm_tenant_count(const struct pnm_tenants* t);
/* True iff tenant `tenant` exists and [dpa, dpa + len) is inside its range.
 * False for len == 0 and for ranges that wrap past 2^64. */
bool pnm_tenant_owns(const struct pnm_tenants* t, uint16_t tenant, uint64_t dpa, uint64_t len);

/* ---- queue pairs ----------------------------------------------------------- */
/* entries: power of two in [PNM_QUEUE_MIN_ENTRIES, PNM_QUEUE_MAX_ENTRIES];
 * bases PNM_QUEUE_BASE_ALIGN aligned; both rings inside the tenant's range,
 * not overlapping each other nor any ring of the tenant's other queues.
 * On success *queue_id receives the new id (lowest free slot). */
int pnm_queue_create(struct pnm_tenants* t, uint16_t tenant, uint64_t sq_base, uint64_t cq_base,
                     uint32_t entries, uint16_t* queue_id);
/* EBUSY while the SQ holds unconsumed entries or jobs are in flight. */
int pnm_queue_destroy(struct pnm_tenants* t, uint16_t queue_id);
const struct pnm_queue* pnm_queue_find(const struct pnm_tenants* t, uint16_t queue_id);
struct pnm_queue* pnm_queue_find_mut(struct pnm_tenants* t, uint16_t queue_id);
/* pnm_tenant_owns() for the tenant that owns queue `queue_id`. */
bool pnm_queue_owns(const struct pnm_tenants* t, uint16_t queue_id, uint64_t dpa, uint64_t len);
/* DPA of slot `slot` (< entries) of the SQ / CQ. */
uint64_t pnm_queue_sq_slot_dpa(const struct pnm_queue* q, uint32_t slot);
uint64_t pnm_queue_cq_slot_dpa(const struct pnm_queue* q, uint32_t slot);

#ifdef __cplusplus
}
#endif

#endif /* PNM_TENANTS_H */
