/*
 * pnmvp/hw/wire.h: helpers the wire-format headers share: a compile-time
 * assertion that works in C11 and C++17, and little-endian field packing.
 *
 * Every multi-byte field on this device's wires (mailbox payloads, queue
 * entries, job descriptors) is little-endian. Code that builds or parses a
 * payload byte by byte uses pnm_le*_put/get, so it is correct on any host
 * and never depends on struct padding.
 */
#ifndef PNMVP_HW_WIRE_H
#define PNMVP_HW_WIRE_H

#include <stddef.h> /* offsetof, for the layout assertions */
#include <stdint.h>

#ifdef __cplusplus
#define PNM_HW_STATIC_ASSERT(cond, msg) static_assert(cond, msg)
#else
#define PNM_HW_STATIC_ASSERT(cond, msg) _Static_assert(cond, msg)
#endif

static inline void pnm_le16_put(uint8_t* p, uint16_t v) {
  p[0] = (uint8_t)v;
  p[1] = (uint8_t)(v >> 8);
}
static inline void pnm_le32_put(uint8_t* p, uint32_t v) {
  pnm_le16_put(p, (uint16_t)v);
  pnm_le16_put(p + 2, (uint16_t)(v >> 16));
}
static inline void pnm_le64_put(uint8_t* p, uint64_t v) {
  pnm_le32_put(p, (uint32_t)v);
  pnm_le32_put(p + 4, (uint32_t)(v >> 32));
}
static inline uint16_t pnm_le16_get(const uint8_t* p) {
  return (uint16_t)(p[0] | ((uint16_t)p[1] << 8));
}
static inline uint32_t pnm_le32_get(const uint8_t* p) {
  return (uint32_t)pnm_le16_get(p) | ((uint32_t)pnm_le16_get(p + 2) << 16);
}
static inline uint64_t pnm_le64_get(const uint8_t* p) {
  return (uint64_t)pnm_le32_get(p) | ((uint64_t)pnm_le32_get(p + 4) << 32);
}

#endif /* PNMVP_HW_WIRE_H */
