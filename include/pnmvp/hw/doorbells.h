/*
 * pnmvp/hw/doorbells.h: the PNM queue doorbells as the host finds and
 * rings them: a vendor-specific capability in the CXL device register
 * block (BAR2), found by walking the device capability array.
 *
 * Capability array and header layout: CXL 2.0 sections 8.2.8.1 (array
 * register at offset 0: ID 15:0, version 23:16, count 47:32) and 8.2.8.2
 * (one 16-byte header per capability from 0x10: ID 15:0 and version 23:16
 * at +0, offset of the structure at +4, its length at +8). IDs 0x8000 and
 * up are vendor specific (8.2.8.2.1; Linux cxl_probe_device_regs logs them
 * as such). The doorbell structure itself is this project's own, in the
 * NVMe pattern (the SQyTDBL/CQyHDBL controller properties: SQ y tail, then
 * CQ y head, per queue pair): 32-bit registers whose low 16 bits hold the
 * new index. The firmware's view of the same doorbells is
 * PNM_QDB_* in pnmvp/hw/device_map.h.
 */
#ifndef PNMVP_HW_DOORBELLS_H
#define PNMVP_HW_DOORBELLS_H

/* Device capability array (CXL 2.0 8.2.8.1, 8.2.8.2). */
#define PNM_DEVCAP_ARRAY_COUNT_SHIFT 32   /* capability count, bits 47:32 of the array register */
#define PNM_DEVCAP_HEADER_FIRST_OFF 0x10u /* first header */
#define PNM_DEVCAP_HEADER_BYTES 0x10u
#define PNM_DEVCAP_HEADER_OFFSET_OFF 0x04u /* u32: structure offset from the block base */
#define PNM_DEVCAP_HEADER_LENGTH_OFF 0x08u /* u32: structure length */
/* Capability IDs (CXL 2.0 8.2.8.2.1) and ours. */
#define PNM_DEVCAP_ID_DEVICE_STATUS 0x0001u
#define PNM_DEVCAP_ID_PRIMARY_MAILBOX 0x0002u
#define PNM_DEVCAP_ID_MEMDEV 0x4000u
#define PNM_DEVCAP_ID_PNM_DOORBELLS 0x8000u /* first vendor-specific ID */

/* The doorbell structure: queue q's pair at q * PNM_DOORBELL_STRIDE_BYTES;
 * its length is queues * stride, so the host derives the queue count. */
#define PNM_DOORBELL_STRIDE_BYTES 8u
#define PNM_DOORBELL_SQ_TAIL_OFF 0u /* within a pair: SQ tail */
#define PNM_DOORBELL_CQ_HEAD_OFF 4u /* within a pair: CQ head */
#define PNM_DOORBELL_VALUE_MASK 0xFFFFu
#define PNM_DOORBELL_ALIGN_BYTES 0x1000u /* structure offset alignment in BAR2 */

#endif /* PNMVP_HW_DOORBELLS_H */
