/*
 * pnmvp/hw/engine_regs.h: the attention/top-k engine's host/firmware
 * interface: register offsets (from PNM_ENGINE_BASE in pnmvp/hw/device_map.h),
 * the job descriptor's byte layout in device memory, opcodes, precisions,
 * flags and error codes. This project's own design (no external
 * specification).
 *
 * Plain C preprocessor constants so the firmware (C, RV32), the driver and
 * the C++ models read the same numbers; models/pnm/attention_job.h builds its
 * enums from these. The descriptor struct is asserted against the offsets
 * below, in C and C++ alike.
 * Registers are 32 bits, little-endian, accessed with aligned 32-bit
 * loads/stores only (other sizes or offsets get a bus error).
 * docs/ENGINE.md has the same map as tables.
 */
#ifndef PNMVP_HW_ENGINE_REGS_H
#define PNMVP_HW_ENGINE_REGS_H

#if defined(__ASSEMBLER__)
#define PNM_ENG_U(x) x
#else
#define PNM_ENG_U(x) x##U
#endif

/* ------------------------------------------------------------------------
 * Registers (offsets from the engine's base).
 * ---------------------------------------------------------------------- */
#define PNM_ENG_ID_OFF PNM_ENG_U(0x00)          /* R: PNM_ENG_ID_VALUE */
#define PNM_ENG_VERSION_OFF PNM_ENG_U(0x04)     /* R: descriptor version supported */
#define PNM_ENG_CAPS_OFF PNM_ENG_U(0x08)        /* R: [7:0] lanes, [15:8] dot units, [31:16] top-k max entries / 16 */
#define PNM_ENG_DESC_LO_OFF PNM_ENG_U(0x10)     /* RW: device address of the descriptor, bits 31:0 */
#define PNM_ENG_DESC_HI_OFF PNM_ENG_U(0x14)     /* RW: bits 63:32 */
#define PNM_ENG_CTRL_OFF PNM_ENG_U(0x18)        /* W: bit 0 START (ignored while busy) */
#define PNM_ENG_STATUS_OFF PNM_ENG_U(0x1C)      /* R: PNM_ENG_STATUS_*; W: any value acknowledges done/error (-> idle, irq low) */
#define PNM_ENG_ERROR_OFF PNM_ENG_U(0x20)       /* R: PNM_JOB_ERR_* of the last job */
#define PNM_ENG_IRQ_EN_OFF PNM_ENG_U(0x24)      /* RW: bit 0 done, bit 1 error (reset: both enabled) */
#define PNM_ENG_JOBS_DONE_OFF PNM_ENG_U(0x28)   /* R: jobs finished without error since reset */
#define PNM_ENG_JOBS_FAILED_OFF PNM_ENG_U(0x2C) /* R: jobs rejected or failed since reset */
/* Performance counters of the last job (64-bit, read LO then HI). */
#define PNM_ENG_CYCLES_LO_OFF PNM_ENG_U(0x30)   /* R: engine clock cycles from start to done */
#define PNM_ENG_CYCLES_HI_OFF PNM_ENG_U(0x34)
#define PNM_ENG_BYTES_RD_LO_OFF PNM_ENG_U(0x38) /* R: DRAM bytes read (64 B bursts) */
#define PNM_ENG_BYTES_RD_HI_OFF PNM_ENG_U(0x3C)
#define PNM_ENG_BYTES_WR_LO_OFF PNM_ENG_U(0x40) /* R: DRAM bytes written */
#define PNM_ENG_BYTES_WR_HI_OFF PNM_ENG_U(0x44)
#define PNM_ENG_MACS_LO_OFF PNM_ENG_U(0x48)     /* R: multiply-accumulates, all precisions */
#define PNM_ENG_MACS_HI_OFF PNM_ENG_U(0x4C)
#define PNM_ENG_JOB_TAG_LO_OFF PNM_ENG_U(0x50)  /* R: tag of the last job (from its descriptor) */
#define PNM_ENG_JOB_TAG_HI_OFF PNM_ENG_U(0x54)
#define PNM_ENG_REGS_END_OFF PNM_ENG_U(0x58)    /* first offset past the register file */

#define PNM_ENG_ID_VALUE PNM_ENG_U(0x454D4E50) /* "PNME" in memory order */
#define PNM_ENG_CTRL_START PNM_ENG_U(0x1)
#define PNM_ENG_STATUS_IDLE PNM_ENG_U(0)
#define PNM_ENG_STATUS_BUSY PNM_ENG_U(1)
#define PNM_ENG_STATUS_DONE PNM_ENG_U(2)
#define PNM_ENG_STATUS_ERROR PNM_ENG_U(3)
#define PNM_ENG_IRQ_EN_DONE PNM_ENG_U(0x1)
#define PNM_ENG_IRQ_EN_ERROR PNM_ENG_U(0x2)

/* ------------------------------------------------------------------------
 * Job descriptor: 128 bytes, little-endian, 64-byte aligned in device
 * memory. Offsets of each field (sizes in the comments). Fields a job's
 * opcode does not use are ignored, except where the error list says
 * "must be 0".
 * ---------------------------------------------------------------------- */
#define PNM_JOB_DESC_BYTES PNM_ENG_U(128)
#define PNM_JOB_ALIGN_BYTES PNM_ENG_U(64) /* descriptor and every data address */
#define PNM_JOB_MAGIC PNM_ENG_U(0x4A4D4E50) /* "PNMJ" in memory order */
#define PNM_JOB_VERSION PNM_ENG_U(1)

#define PNM_JOB_MAGIC_OFF 0        /* u32 PNM_JOB_MAGIC */
#define PNM_JOB_VERSION_OFF 4      /* u16 PNM_JOB_VERSION */
#define PNM_JOB_SIZE_OFF 6         /* u16 PNM_JOB_DESC_BYTES */
#define PNM_JOB_OPCODE_OFF 8       /* u8  PNM_JOB_OP_* */
#define PNM_JOB_PRECISION_OFF 9    /* u8  PNM_JOB_PREC_* (Q, K, V elements) */
#define PNM_JOB_FLAGS_OFF 10       /* u16 PNM_JOB_FLAG_* */
#define PNM_JOB_HEADS_OFF 12       /* u16 query heads, 1..128 */
#define PNM_JOB_KV_HEADS_OFF 14    /* u16 KV heads; divides heads (GQA group = heads / kv_heads) */
#define PNM_JOB_HEAD_DIM_OFF 16    /* u16 elements per head; multiple of the lanes, <= 256 */
#define PNM_JOB_RESERVED0_OFF 18   /* u16 must be 0 */
#define PNM_JOB_SEQ_LEN_OFF 20     /* u32 tokens, 1..2^24 */
#define PNM_JOB_K_OFF 24           /* u32 top-k: tokens or pages to keep (0 for dense) */
#define PNM_JOB_PAGE_TOKENS_OFF 28 /* u32 tokens per page (page ops), power of two <= 65536 */
#define PNM_JOB_SCALE_OFF 32       /* f32 score scale (1/sqrt(d), times dequant scales for INT8) */
#define PNM_JOB_V_SCALE_OFF 36     /* f32 V dequant scale (INT8; ignored for BF16) */
#define PNM_JOB_Q_ADDR_OFF 40      /* u64 Q  [heads][head_dim] */
#define PNM_JOB_K_ADDR_OFF 48      /* u64 K  [kv_heads][kv_stride][head_dim], first seq_len rows used */
#define PNM_JOB_V_ADDR_OFF 56      /* u64 V  [kv_heads][kv_stride][head_dim], first seq_len rows used */
#define PNM_JOB_O_ADDR_OFF 64      /* u64 O  FP32 [heads][head_dim] (SELECT: scores, if flagged) */
#define PNM_JOB_IDX_ADDR_OFF 72    /* u64 indices u32 [heads][min(k, items)] ascending */
#define PNM_JOB_TAG_OFF 80         /* u64 opaque job tag, echoed in JOB_TAG */
#define PNM_JOB_KV_STRIDE_OFF 88   /* u32 rows from one KV head to the next (0: seq_len); >= seq_len, <= 2^24:
                                      a sequence's KV grows in place up to its stride */
#define PNM_JOB_EPOCH_OFF 92       /* u32 PUSH: the value written to the flag line; MERGE: the value every
                                      part's flag must hold before the merge runs (the barrier) */
#define PNM_JOB_PUSH_ADDR_OFF 96   /* u64 PUSH: host physical address the O region is copied to, through
                                      the device's peer port (a peer device behind the same switch) */
#define PNM_JOB_FLAG_ADDR_OFF 104  /* u64 PUSH: host physical address of the 64-byte flag line written after
                                      the copy: epoch in its first 4 bytes, the rest 0 */
#define PNM_JOB_RESERVED1_OFF 112  /* 16 bytes, must be 0 */

#define PNM_JOB_OP_DENSE PNM_ENG_U(1)      /* softmax over all tokens */
#define PNM_JOB_OP_TOPK_TOKEN PNM_ENG_U(2) /* softmax over the k best tokens per query head */
#define PNM_JOB_OP_TOPK_PAGE PNM_ENG_U(3)  /* softmax over the tokens of the k best pages */
#define PNM_JOB_OP_SELECT PNM_ENG_U(4)     /* top-k indices only (tokens, or pages if page_tokens != 0) */
#define PNM_JOB_OP_MERGE PNM_ENG_U(5)      /* merge k partial attentions (O and log-sum-exp, the WRITE_LSE
                                              layout) at q_addr, one every PNM_JOB_PART_BYTES, into O;
                                              idx_addr: k - 1 flag lines (part p's at idx_addr + 64 (p - 1)) */

#define PNM_JOB_PREC_BF16 PNM_ENG_U(0)
#define PNM_JOB_PREC_INT8 PNM_ENG_U(1)

#define PNM_JOB_FLAG_WRITE_INDICES PNM_ENG_U(0x1) /* TOPK_*: also write the selected indices */
#define PNM_JOB_FLAG_WRITE_SCORES PNM_ENG_U(0x2)  /* SELECT: write the selected scaled scores to O */
#define PNM_JOB_FLAG_WRITE_LSE PNM_ENG_U(0x4)     /* DENSE, TOPK_*, MERGE: O is followed by FP32 [heads]
                                                    log-sum-exp of the scaled scores attended */
#define PNM_JOB_FLAG_PUSH PNM_ENG_U(0x8)          /* DENSE, TOPK_*, MERGE: copy O to push_addr, then write
                                                    the flag line, through the peer port */
#define PNM_JOB_FLAGS_KNOWN PNM_ENG_U(0xF)
#define PNM_JOB_MERGE_MAX_PARTS 64u /* k of a MERGE: 2..64 */
/* Bytes from one MERGE part to the next: [heads][head_dim] O then [heads]
 * log-sum-exp, FP32, rounded up to 64 bytes. */
#define PNM_JOB_PART_BYTES(heads, head_dim) \
  ((((uint64_t)(heads) * ((uint64_t)(head_dim) + 1u) * 4u) + 63u) / 64u * 64u)

#if !defined(__ASSEMBLER__)
#include "pnmvp/hw/wire.h"
/* The descriptor as a C struct (firmware, drivers): every field sits at its
 * natural alignment, so there is no padding and no packing attribute is
 * needed; the assertions below keep it so. Little-
 * endian targets only (RV32, x86-64); the C++ model uses encode()/decode(). */
typedef struct pnm_job_desc {
  uint32_t magic;
  uint16_t version;
  uint16_t size_bytes;
  uint8_t opcode;
  uint8_t precision;
  uint16_t flags;
  uint16_t heads;
  uint16_t kv_heads;
  uint16_t head_dim;
  uint16_t reserved0;
  uint32_t seq_len;
  uint32_t k;
  uint32_t page_tokens;
  float scale;
  float v_scale;
  uint64_t q_addr;
  uint64_t k_addr;
  uint64_t v_addr;
  uint64_t o_addr;
  uint64_t idx_addr;
  uint64_t tag;
  uint32_t kv_stride;
  uint32_t epoch;
  uint64_t push_addr;
  uint64_t flag_addr;
  uint8_t reserved1[16];
} pnm_job_desc_t;
PNM_HW_STATIC_ASSERT(sizeof(pnm_job_desc_t) == PNM_JOB_DESC_BYTES, "job descriptor size");
#define PNM_JOB_FIELD_AT(field, off) \
  PNM_HW_STATIC_ASSERT(offsetof(pnm_job_desc_t, field) == (off), "job descriptor: " #field)
PNM_JOB_FIELD_AT(magic, PNM_JOB_MAGIC_OFF);
PNM_JOB_FIELD_AT(version, PNM_JOB_VERSION_OFF);
PNM_JOB_FIELD_AT(size_bytes, PNM_JOB_SIZE_OFF);
PNM_JOB_FIELD_AT(opcode, PNM_JOB_OPCODE_OFF);
PNM_JOB_FIELD_AT(precision, PNM_JOB_PRECISION_OFF);
PNM_JOB_FIELD_AT(flags, PNM_JOB_FLAGS_OFF);
PNM_JOB_FIELD_AT(heads, PNM_JOB_HEADS_OFF);
PNM_JOB_FIELD_AT(kv_heads, PNM_JOB_KV_HEADS_OFF);
PNM_JOB_FIELD_AT(head_dim, PNM_JOB_HEAD_DIM_OFF);
PNM_JOB_FIELD_AT(reserved0, PNM_JOB_RESERVED0_OFF);
PNM_JOB_FIELD_AT(seq_len, PNM_JOB_SEQ_LEN_OFF);
PNM_JOB_FIELD_AT(k, PNM_JOB_K_OFF);
PNM_JOB_FIELD_AT(page_tokens, PNM_JOB_PAGE_TOKENS_OFF);
PNM_JOB_FIELD_AT(scale, PNM_JOB_SCALE_OFF);
PNM_JOB_FIELD_AT(v_scale, PNM_JOB_V_SCALE_OFF);
PNM_JOB_FIELD_AT(q_addr, PNM_JOB_Q_ADDR_OFF);
PNM_JOB_FIELD_AT(k_addr, PNM_JOB_K_ADDR_OFF);
PNM_JOB_FIELD_AT(v_addr, PNM_JOB_V_ADDR_OFF);
PNM_JOB_FIELD_AT(o_addr, PNM_JOB_O_ADDR_OFF);
PNM_JOB_FIELD_AT(idx_addr, PNM_JOB_IDX_ADDR_OFF);
PNM_JOB_FIELD_AT(tag, PNM_JOB_TAG_OFF);
PNM_JOB_FIELD_AT(kv_stride, PNM_JOB_KV_STRIDE_OFF);
PNM_JOB_FIELD_AT(epoch, PNM_JOB_EPOCH_OFF);
PNM_JOB_FIELD_AT(push_addr, PNM_JOB_PUSH_ADDR_OFF);
PNM_JOB_FIELD_AT(flag_addr, PNM_JOB_FLAG_ADDR_OFF);
PNM_JOB_FIELD_AT(reserved1, PNM_JOB_RESERVED1_OFF);
#undef PNM_JOB_FIELD_AT
#endif

/* Error codes (ERROR register, and the C++ JobError enum). */
#define PNM_JOB_ERR_OK 0
#define PNM_JOB_ERR_BAD_MAGIC 1
#define PNM_JOB_ERR_BAD_VERSION 2      /* version or size field */
#define PNM_JOB_ERR_BAD_OPCODE 3
#define PNM_JOB_ERR_BAD_PRECISION 4
#define PNM_JOB_ERR_BAD_FLAGS 5        /* unknown bit, or a flag the opcode does not take */
#define PNM_JOB_ERR_RESERVED 6         /* a reserved field is not 0 */
#define PNM_JOB_ERR_BAD_HEADS 7        /* 0 or > 128 */
#define PNM_JOB_ERR_BAD_KV_HEADS 8     /* 0, or does not divide heads */
#define PNM_JOB_ERR_BAD_HEAD_DIM 9     /* 0, not a multiple of the lanes, or > 256 */
#define PNM_JOB_ERR_BAD_SEQ_LEN 10     /* 0 or > 2^24, or kv_stride below seq_len or > 2^24 */
#define PNM_JOB_ERR_BAD_K 11           /* 0 for a top-k op, or not 0 for DENSE */
#define PNM_JOB_ERR_TOPK_TOO_LARGE 12  /* min(k, items) exceeds the selector's entries */
#define PNM_JOB_ERR_BAD_PAGE_TOKENS 13 /* page op: 0, not a power of two, > 65536; token op: not 0 */
#define PNM_JOB_ERR_BAD_SCALE 14       /* scale (or INT8 v_scale) not finite or <= 0 */
#define PNM_JOB_ERR_MISALIGNED 15      /* an address is not 64-byte aligned */
#define PNM_JOB_ERR_OUT_OF_RANGE 16    /* a region extends beyond device memory */
#define PNM_JOB_ERR_OVERLAP 17         /* an output overlaps an input or another output */
#define PNM_JOB_ERR_DESC_ADDRESS 18    /* descriptor pointer misaligned or beyond memory */
#define PNM_JOB_ERR_INTERNAL 19        /* model fault (a bug): the job was abandoned */
#define PNM_JOB_ERR_PEER 20            /* PUSH: no peer port, or the peer write was refused */

#endif /* PNMVP_HW_ENGINE_REGS_H */
