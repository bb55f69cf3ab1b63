/*
 * pnm_ring.h: submission/completion ring index arithmetic, NVMe style.
 *
 * A ring of `entries` slots is shared by one producer (advances tail) and
 * one consumer (advances head). head == tail means empty; one slot always
 * stays unused so that a full ring (tail + 1 == head, with wrap) can be told
 * from an empty one, exactly as NVMe queues do. Only indices live here: the
 * entries themselves are in device memory and are read/written by the
 * caller. Completion queues add the NVMe phase tag, which flips each time
 * the producer wraps, so a consumer polling memory can tell new entries
 * from stale ones without reading the producer's tail.
 *
 * Portable C with no libc dependency: built into the firmware and natively
 * (pnm_fw_native) for host unit tests.
 */
#ifndef PNM_RING_H
#define PNM_RING_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define PNM_RING_MIN_ENTRIES 2u
#define PNM_RING_MAX_ENTRIES 65536u /* NVMe's largest queue */

typedef struct pnm_ring {
  uint32_t entries; /* slot count; at most entries - 1 are ever in use */
  uint32_t head;    /* next slot the consumer takes */
  uint32_t tail;    /* next slot the producer fills */
} pnm_ring_t;

typedef struct pnm_cq {
  pnm_ring_t ring;
  uint32_t phase; /* phase tag the producer writes; starts at 1 */
} pnm_cq_t;

/* 0 on success, -1 if entries is outside [PNM_RING_MIN_ENTRIES, PNM_RING_MAX_ENTRIES]. */
int pnm_ring_init(pnm_ring_t* r, uint32_t entries);
uint32_t pnm_ring_next(const pnm_ring_t* r, uint32_t index); /* index + 1, wrapping */
int pnm_ring_empty(const pnm_ring_t* r);
int pnm_ring_full(const pnm_ring_t* r);
uint32_t pnm_ring_used(const pnm_ring_t* r);  /* slots holding entries */
uint32_t pnm_ring_space(const pnm_ring_t* r); /* slots the producer may still fill */

/* Local producer/consumer steps: return the slot index taken, or -1 when
 * the ring is full (produce) or empty (consume). */
int32_t pnm_ring_produce(pnm_ring_t* r);
int32_t pnm_ring_consume(pnm_ring_t* r);

/* Doorbells: the remote side reports its new index. Returns 0, or -1 (and
 * leaves the ring unchanged) for an invalid doorbell value: an index outside
 * the ring, or a move that would overrun the other index (NVMe's "invalid
 * doorbell write value"). Writing the current value is a valid no-op. */
int pnm_ring_set_tail(pnm_ring_t* r, uint32_t new_tail);
int pnm_ring_set_head(pnm_ring_t* r, uint32_t new_head);

/* Completion queue: 0 on success, -1 for a bad size. */
int pnm_cq_init(pnm_cq_t* cq, uint32_t entries);
/* Takes the next completion slot; *phase receives the tag to store in it.
 * Returns -1 when the queue is full (host has not consumed). */
int32_t pnm_cq_post(pnm_cq_t* cq, uint32_t* phase);

#ifdef __cplusplus
}
#endif

#endif /* PNM_RING_H */
