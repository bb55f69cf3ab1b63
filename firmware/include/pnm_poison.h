/*
 * pnm_poison.h: the device's poison list (media error records).
 *
 * Poison is tracked per 64-byte line. The list keeps disjoint entries sorted
 * by DPA; adjacent lines with the same source merge into one entry (one
 * 16-byte record in Get Poison List), so the table holds up to
 * PNM_POISON_MAX runs rather than lines. When a new run does not fit, the
 * list is marked overflowed with the time it happened (Get Poison List
 * reports both), as CXL requires: the list is then incomplete.
 *
 * Used by the mailbox (Get Poison List / Inject Poison / Clear Poison) and
 * by job processing (pnm_poison_hit() before touching memory). Portable
 * C11, fixed size, no register access.
 */
#ifndef PNM_POISON_H
#define PNM_POISON_H

#include <stdbool.h>
#include <stdint.h>

/* PNM_POISON_MAX, PNM_POISON_LINE_BYTES, enum pnm_poison_source */
#include <pnmvp/hw/mailbox.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Results of pnm_poison_mark() / pnm_poison_clear(). */
enum pnm_poison_status {
  PNM_POISON_CHANGED = 0,   /* the list changed */
  PNM_POISON_UNCHANGED = 1, /* line already poisoned (mark) / not poisoned (clear) */
  PNM_POISON_OVERFLOW = -1  /* no room: the list is now marked overflowed */
};

struct pnm_poison_entry {
  uint64_t dpa;   /* first line, 64 B aligned */
  uint32_t lines; /* run length in 64 B lines, >= 1 */
  uint8_t source; /* enum pnm_poison_source */
};

struct pnm_poison_list {
  uint32_t count;      /* entries in use, sorted by dpa, disjoint */
  uint32_t generation; /* incremented on every change */
  bool overflowed;
  uint64_t overflow_timestamp; /* device timestamp when it overflowed */
  struct pnm_poison_entry entry[PNM_POISON_MAX];
};

void pnm_poison_init(struct pnm_poison_list* l);
/* Marks the line holding `dpa` poisoned with `source`. A line already in
 * the list keeps its first source (UNCHANGED). OVERFLOW when the run needs a
 * new entry and the table is full; `timestamp` is then recorded. */
int pnm_poison_mark(struct pnm_poison_list* l, uint64_t dpa, uint8_t source, uint64_t timestamp);
/* As pnm_poison_mark(), but a full table leaves the list untouched (not
 * overflowed): for injection, which is refused rather than lost. */
int pnm_poison_try_mark(struct pnm_poison_list* l, uint64_t dpa, uint8_t source);
/* Removes the line holding `dpa`. Splitting a run needs a free entry; with
 * the table full the upper fragment is dropped and the list marked
 * overflowed (CHANGED is still returned: the cleared line is gone). */
int pnm_poison_clear(struct pnm_poison_list* l, uint64_t dpa, uint64_t timestamp);
/* True if any byte of [dpa, dpa + len) lies in a poisoned line. */
bool pnm_poison_hit(const struct pnm_poison_list* l, uint64_t dpa, uint64_t len);
/* Poisoned lines with the given source (e.g. injected ones). */
uint64_t pnm_poison_lines(const struct pnm_poison_list* l, uint8_t source);

#ifdef __cplusplus
}
#endif

#endif /* PNM_POISON_H */
