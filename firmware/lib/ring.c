/* ring.c: NVMe-style ring index helper (see pnm_ring.h). */
#include "pnm_ring.h"

/* Distance from `from` forward to `to` on a ring of n slots. */
static uint32_t ring_distance(uint32_t n, uint32_t from, uint32_t to) {
  return to >= from ? to - from : n - from + to;
}

int pnm_ring_init(pnm_ring_t* r, uint32_t entries) {
  if (entries < PNM_RING_MIN_ENTRIES || entries > PNM_RING_MAX_ENTRIES) {
    return -1;
  }
  r->entries = entries;
  r->head = 0;
  r->tail = 0;
  return 0;
}

uint32_t pnm_ring_next(const pnm_ring_t* r, uint32_t index) {
  return index + 1u == r->entries ? 0u : index + 1u;
}

int pnm_ring_empty(const pnm_ring_t* r) { return r->head == r->tail; }

int pnm_ring_full(const pnm_ring_t* r) { return pnm_ring_next(r, r->tail) == r->head; }

uint32_t pnm_ring_used(const pnm_ring_t* r) {
  return ring_distance(r->entries, r->head, r->tail);
}

uint32_t pnm_ring_space(const pnm_ring_t* r) { return r->entries - 1u - pnm_ring_used(r); }

int32_t pnm_ring_produce(pnm_ring_t* r) {
  if (pnm_ring_full(r)) {
    return -1;
  }
  uint32_t slot = r->tail;
  r->tail = pnm_ring_next(r, slot);
  return (int32_t)slot;
}

int32_t pnm_ring_consume(pnm_ring_t* r) {
  if (pnm_ring_empty(r)) {
    return -1;
  }
  uint32_t slot = r->head;
  r->head = pnm_ring_next(r, slot);
  return (int32_t)slot;
}

int pnm_ring_set_tail(pnm_ring_t* r, uint32_t new_tail) {
  if (new_tail >= r->entries) {
    return -1;
  }
  /* the producer may only add entries, at most as many as there is space */
  if (ring_distance(r->entries, r->tail, new_tail) > pnm_ring_space(r)) {
    return -1;
  }
  r->tail = new_tail;
  return 0;
}

int pnm_ring_set_head(pnm_ring_t* r, uint32_t new_head) {
  if (new_head >= r->entries) {
    return -1;
  }
  /* the consumer may only release entries that were produced */
  if (ring_distance(r->entries, r->head, new_head) > pnm_ring_used(r)) {
    return -1;
  }
  r->head = new_head;
  return 0;
}

int pnm_cq_init(pnm_cq_t* cq, uint32_t entries) {
  cq->phase = 1u;
  return pnm_ring_init(&cq->ring, entries);
}

int32_t pnm_cq_post(pnm_cq_t* cq, uint32_t* phase) {
  int32_t slot = pnm_ring_produce(&cq->ring);
  if (slot < 0) {
    return -1;
  }
  *phase = cq->phase;
  if (cq->ring.tail == 0u) { /* wrapped: the next pass writes the other phase */
    cq->phase ^= 1u;
  }
  return slot;
}
