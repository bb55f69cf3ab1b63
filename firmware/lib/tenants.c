/* tenants.c: tenant and queue-pair tables (see pnm_tenants.h). */
#include "pnm_tenants.h"

bool pnm_range_overlaps(uint64_t a, uint64_t alen, uint64_t b, uint64_t blen) {
  if (alen == 0u || blen == 0u) {
    return false;
  }
  /* the later start must fall inside the earlier range; differences of
   * starts never wrap, so no end address is ever computed */
  return a <= b ? b - a < alen : a - b < blen;
}

bool pnm_range_within(uint64_t base, uint64_t length, uint64_t dpa, uint64_t len) {
  return len != 0u && len <= length && dpa >= base && dpa - base <= length - len;
}

static bool granule_aligned(uint64_t v) { return (v & (PNM_TENANT_GRANULE_BYTES - 1u)) == 0u; }

void pnm_tenants_init(struct pnm_tenants* t, uint64_t capacity_bytes) {
  t->capacity_bytes = capacity_bytes;
  for (unsigned i = 0; i < PNM_TENANTS_MAX; ++i) {
    t->tenant[i] = (struct pnm_tenant){.used = false, .id = PNM_TENANT_ID_INVALID};
  }
  for (unsigned i = 0; i < PNM_QUEUES_MAX; ++i) {
    t->queue[i] = (struct pnm_queue){.used = false, .id = PNM_QUEUE_ID_INVALID,
                                     .tenant = PNM_TENANT_ID_INVALID};
  }
}

/* Table index of tenant `id`, or -1. */
static int tenant_index(const struct pnm_tenants* t, uint16_t id) {
  if (id == PNM_TENANT_ID_INVALID) {
    return -1;
  }
  for (unsigned i = 0; i < PNM_TENANTS_MAX; ++i) {
    if (t->tenant[i].used && t->tenant[i].id == id) {
      return (int)i;
    }
  }
  return -1;
}

struct pnm_tenant* pnm_tenant_find_mut(struct pnm_tenants* t, uint16_t id) {
  const int i = tenant_index(t, id);
  return i < 0 ? 0 : &t->tenant[i];
}

const struct pnm_tenant* pnm_tenant_find(const struct pnm_tenants* t, uint16_t id) {
  const int i = tenant_index(t, id);
  return i < 0 ? 0 : &t->tenant[i];
}

unsigned pnm_tenant_count(const struct pnm_tenants* t) {
  unsigned n = 0;
  for (unsigned i = 0; i < PNM_TENANTS_MAX; ++i) {
    n += t->tenant[i].used ? 1u : 0u;
  }
  return n;
}

int pnm_tenant_create(struct pnm_tenants* t, uint16_t id, uint64_t base, uint64_t length) {
  if (id == PNM_TENANT_ID_INVALID || length == 0u || !granule_aligned(base) ||
      !granule_aligned(length)) {
    return PNM_TENANT_EINVAL;
  }
  if (!pnm_range_within(0u, t->capacity_bytes, base, length)) {
    return PNM_TENANT_ERANGE;
  }
  if (pnm_tenant_find(t, id)) {
    return PNM_TENANT_EEXIST;
  }
  struct pnm_tenant* slot = 0;
  for (unsigned i = 0; i < PNM_TENANTS_MAX; ++i) {
    const struct pnm_tenant* o = &t->tenant[i];
    if (!o->used) {
      if (!slot) {
        slot = &t->tenant[i];
      }
    } else if (pnm_range_overlaps(base, length, o->base, o->length)) {
      return PNM_TENANT_EOVERLAP;
    }
  }
  if (!slot) {
    return PNM_TENANT_EFULL;
  }
  *slot = (struct pnm_tenant){.used = true, .id = id, .base = base, .length = length};
  return PNM_TENANT_OK;
}

int pnm_tenant_destroy(struct pnm_tenants* t, uint16_t id) {
  struct pnm_tenant* tn = pnm_tenant_find_mut(t, id);
  if (!tn) {
    return PNM_TENANT_ENOENT;
  }
  if (tn->queue_count != 0u) {
    return PNM_TENANT_EBUSY;
  }
  *tn = (struct pnm_tenant){.used = false, .id = PNM_TENANT_ID_INVALID};
  return PNM_TENANT_OK;
}

bool pnm_tenant_owns(const struct pnm_tenants* t, uint16_t tenant, uint64_t dpa, uint64_t len) {
  const struct pnm_tenant* tn = pnm_tenant_find(t, tenant);
  return tn && pnm_range_within(tn->base, tn->length, dpa, len);
}

/* ---- queue pairs ----------------------------------------------------------- */

static bool power_of_two(uint32_t v) { return v != 0u && (v & (v - 1u)) == 0u; }

static bool queue_exists(const struct pnm_tenants* t, uint16_t queue_id) {
  return queue_id < PNM_QUEUES_MAX && t->queue[queue_id].used;
}

struct pnm_queue* pnm_queue_find_mut(struct pnm_tenants* t, uint16_t queue_id) {
  return queue_exists(t, queue_id) ? &t->queue[queue_id] : 0;
}

const struct pnm_queue* pnm_queue_find(const struct pnm_tenants* t, uint16_t queue_id) {
  return queue_exists(t, queue_id) ? &t->queue[queue_id] : 0;
}

int pnm_queue_create(struct pnm_tenants* t, uint16_t tenant, uint64_t sq_base, uint64_t cq_base,
                     uint32_t entries, uint16_t* queue_id) {
  struct pnm_tenant* tn = pnm_tenant_find_mut(t, tenant);
  if (!tn) {
    return PNM_TENANT_ENOENT;
  }
  if (!power_of_two(entries) || entries < PNM_QUEUE_MIN_ENTRIES ||
      entries > PNM_QUEUE_MAX_ENTRIES || (sq_base & (PNM_QUEUE_BASE_ALIGN - 1u)) != 0u ||
      (cq_base & (PNM_QUEUE_BASE_ALIGN - 1u)) != 0u) {
    return PNM_TENANT_EINVAL;
  }
  /* entries <= 4096, so the ring sizes cannot overflow */
  const uint64_t sq_len = (uint64_t)entries * PNM_SQ_ENTRY_BYTES;
  const uint64_t cq_len = (uint64_t)entries * PNM_CQ_ENTRY_BYTES;
  if (!pnm_range_within(tn->base, tn->length, sq_base, sq_len) ||
      !pnm_range_within(tn->base, tn->length, cq_base, cq_len) ||
      pnm_range_overlaps(sq_base, sq_len, cq_base, cq_len)) {
    return PNM_TENANT_EOVERLAP;
  }
  struct pnm_queue* slot = 0;
  for (unsigned i = 0; i < PNM_QUEUES_MAX; ++i) {
    const struct pnm_queue* o = &t->queue[i];
    if (!o->used) {
      if (!slot) {
        slot = &t->queue[i];
      }
      continue;
    }
    if (o->tenant != tenant) {
      continue; /* other tenants' rings are outside this tenant's range */
    }
    const uint64_t osq = (uint64_t)o->entries * PNM_SQ_ENTRY_BYTES;
    const uint64_t ocq = (uint64_t)o->entries * PNM_CQ_ENTRY_BYTES;
    if (pnm_range_overlaps(sq_base, sq_len, o->sq_base, osq) ||
        pnm_range_overlaps(sq_base, sq_len, o->cq_base, ocq) ||
        pnm_range_overlaps(cq_base, cq_len, o->sq_base, osq) ||
        pnm_range_overlaps(cq_base, cq_len, o->cq_base, ocq)) {
      return PNM_TENANT_EOVERLAP;
    }
  }
  if (!slot) {
    return PNM_TENANT_EFULL;
  }
  const uint16_t id = (uint16_t)(slot - t->queue);
  *slot = (struct pnm_queue){.used = true, .id = id, .tenant = tenant, .entries = entries,
                             .sq_base = sq_base, .cq_base = cq_base};
  /* entries was range-checked above: both inits succeed */
  (void)pnm_ring_init(&slot->sq, entries);
  (void)pnm_cq_init(&slot->cq, entries);
  tn->queue_count++;
  if (queue_id) {
    *queue_id = id;
  }
  return PNM_TENANT_OK;
}

int pnm_queue_destroy(struct pnm_tenants* t, uint16_t queue_id) {
  struct pnm_queue* q = pnm_queue_find_mut(t, queue_id);
  if (!q) {
    return PNM_TENANT_ENOENT;
  }
  if (!pnm_ring_empty(&q->sq) || q->inflight != 0u) {
    return PNM_TENANT_EBUSY;
  }
  struct pnm_tenant* tn = pnm_tenant_find_mut(t, q->tenant);
  if (tn && tn->queue_count > 0u) {
    tn->queue_count--;
  }
  *q = (struct pnm_queue){.used = false, .id = PNM_QUEUE_ID_INVALID,
                          .tenant = PNM_TENANT_ID_INVALID};
  return PNM_TENANT_OK;
}

bool pnm_queue_owns(const struct pnm_tenants* t, uint16_t queue_id, uint64_t dpa, uint64_t len) {
  const struct pnm_queue* q = pnm_queue_find(t, queue_id);
  return q && pnm_tenant_owns(t, q->tenant, dpa, len);
}

uint64_t pnm_queue_sq_slot_dpa(const struct pnm_queue* q, uint32_t slot) {
  return q->sq_base + (uint64_t)(slot & (q->entries - 1u)) * PNM_SQ_ENTRY_BYTES;
}

uint64_t pnm_queue_cq_slot_dpa(const struct pnm_queue* q, uint32_t slot) {
  return q->cq_base + (uint64_t)(slot & (q->entries - 1u)) * PNM_CQ_ENTRY_BYTES;
}
