/* poison.c: poison list (see pnm_poison.h). */
#include "pnm_poison.h"

#include "pnm_tenants.h" /* pnm_range_overlaps */

#define LINE ((uint64_t)PNM_POISON_LINE_BYTES)

void pnm_poison_init(struct pnm_poison_list* l) {
  l->count = 0;
  l->generation = 0;
  l->overflowed = false;
  l->overflow_timestamp = 0;
}

/* Byte length of an entry's run (lines <= 2^32 - 1, so no overflow). */
static uint64_t run_bytes(const struct pnm_poison_entry* e) { return (uint64_t)e->lines * LINE; }

/* Index of the first entry whose dpa is greater than `dpa` (count if none). */
static uint32_t upper_bound(const struct pnm_poison_list* l, uint64_t dpa) {
  uint32_t lo = 0, hi = l->count;
  while (lo < hi) {
    const uint32_t mid = lo + (hi - lo) / 2u;
    if (l->entry[mid].dpa <= dpa) {
      lo = mid + 1u;
    } else {
      hi = mid;
    }
  }
  return lo;
}

/* Index of the entry containing the line at `line`, or -1. */
static int32_t find_line(const struct pnm_poison_list* l, uint64_t line) {
  const uint32_t ub = upper_bound(l, line);
  if (ub == 0u) {
    return -1;
  }
  const struct pnm_poison_entry* e = &l->entry[ub - 1u];
  return line - e->dpa < run_bytes(e) ? (int32_t)(ub - 1u) : -1;
}

static void remove_at(struct pnm_poison_list* l, uint32_t i) {
  for (uint32_t k = i; k + 1u < l->count; ++k) {
    l->entry[k] = l->entry[k + 1u];
  }
  l->count--;
}

static void insert_at(struct pnm_poison_list* l, uint32_t i, struct pnm_poison_entry e) {
  for (uint32_t k = l->count; k > i; --k) {
    l->entry[k] = l->entry[k - 1u];
  }
  l->entry[i] = e;
  l->count++;
}

static void set_overflow(struct pnm_poison_list* l, uint64_t timestamp) {
  if (!l->overflowed) {
    l->overflowed = true;
    l->overflow_timestamp = timestamp;
  }
}

int pnm_poison_try_mark(struct pnm_poison_list* l, uint64_t dpa, uint8_t source) {
  const uint64_t line = dpa & ~(LINE - 1u);
  if (find_line(l, line) >= 0) {
    return PNM_POISON_UNCHANGED;
  }
  const uint32_t pos = upper_bound(l, line); /* new entry would go here */
  struct pnm_poison_entry* pred = pos > 0u ? &l->entry[pos - 1u] : 0;
  struct pnm_poison_entry* succ = pos < l->count ? &l->entry[pos] : 0;
  /* line is not in pred, so pred ends at or before it: no overflow below */
  const bool join_pred = pred && pred->source == source && pred->lines < UINT32_MAX &&
                         line - pred->dpa == run_bytes(pred);
  const bool join_succ = succ && succ->source == source && succ->lines < UINT32_MAX &&
                         succ->dpa - line == LINE;
  if (join_pred && join_succ && (uint64_t)pred->lines + 1u + succ->lines <= UINT32_MAX) {
    pred->lines += 1u + succ->lines;
    remove_at(l, pos);
  } else if (join_pred) {
    pred->lines++;
  } else if (join_succ) {
    succ->dpa = line;
    succ->lines++;
  } else if (l->count < PNM_POISON_MAX) {
    insert_at(l, pos, (struct pnm_poison_entry){.dpa = line, .lines = 1u, .source = source});
  } else {
    return PNM_POISON_OVERFLOW;
  }
  l->generation++;
  return PNM_POISON_CHANGED;
}

int pnm_poison_mark(struct pnm_poison_list* l, uint64_t dpa, uint8_t source, uint64_t timestamp) {
  const int rc = pnm_poison_try_mark(l, dpa, source);
  if (rc == PNM_POISON_OVERFLOW && !l->overflowed) {
    set_overflow(l, timestamp);
    l->generation++;
  }
  return rc;
}

int pnm_poison_clear(struct pnm_poison_list* l, uint64_t dpa, uint64_t timestamp) {
  const uint64_t line = dpa & ~(LINE - 1u);
  const int32_t found = find_line(l, line);
  if (found < 0) {
    return PNM_POISON_UNCHANGED;
  }
  const uint32_t i = (uint32_t)found;
  struct pnm_poison_entry* e = &l->entry[i];
  const uint64_t first = e->dpa;
  const uint64_t last = first + run_bytes(e) - LINE; /* the run does not wrap */
  if (e->lines == 1u) {
    remove_at(l, i);
  } else if (line == first) {
    e->dpa += LINE;
    e->lines--;
  } else if (line == last) {
    e->lines--;
  } else {
    /* split: [first, line) stays, (line, last] becomes a new entry */
    const struct pnm_poison_entry upper = {
        .dpa = line + LINE, .lines = (uint32_t)((last - line) / LINE), .source = e->source};
    e->lines = (uint32_t)((line - first) / LINE);
    if (l->count < PNM_POISON_MAX) {
      insert_at(l, i + 1u, upper);
    } else {
      set_overflow(l, timestamp);
    }
  }
  l->generation++;
  return PNM_POISON_CHANGED;
}

bool pnm_poison_hit(const struct pnm_poison_list* l, uint64_t dpa, uint64_t len) {
  if (len == 0u) {
    return false;
  }
  /* entries are sorted and disjoint: only the entry before the first one
   * starting after dpa, and those starting inside the range, can overlap */
  uint32_t i = upper_bound(l, dpa);
  if (i > 0u) {
    i--;
  }
  for (; i < l->count; ++i) {
    const struct pnm_poison_entry* e = &l->entry[i];
    if (e->dpa > dpa && e->dpa - dpa >= len) {
      break; /* starts after the range ends */
    }
    if (pnm_range_overlaps(e->dpa, run_bytes(e), dpa, len)) {
      return true;
    }
  }
  return false;
}

uint64_t pnm_poison_lines(const struct pnm_poison_list* l, uint8_t source) {
  uint64_t n = 0;
  for (uint32_t i = 0; i < l->count; ++i) {
    if (l->entry[i].source == source) {
      n += l->entry[i].lines;
    }
  }
  return n;
}
