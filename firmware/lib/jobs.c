/* jobs.c: the per-job isolation check (pnm_jobs.h). */
#include "pnm_jobs.h"

static bool power_of_two(uint32_t v) { return v != 0u && (v & (v - 1u)) == 0u; }

uint16_t pnm_job_regions(const uint8_t* d, uint64_t addr[PNM_REGION_COUNT],
                         uint64_t len[PNM_REGION_COUNT]) {
  for (unsigned i = 0; i < PNM_REGION_COUNT; ++i) {
    addr[i] = 0u;
    len[i] = 0u;
  }
  const uint8_t op = d[PNM_JOB_OPCODE_OFF], prec = d[PNM_JOB_PRECISION_OFF];
  const uint16_t flags = pnm_le16_get(d + PNM_JOB_FLAGS_OFF);
  const uint32_t heads = pnm_le16_get(d + PNM_JOB_HEADS_OFF);
  const uint32_t kv_heads = pnm_le16_get(d + PNM_JOB_KV_HEADS_OFF);
  const uint32_t head_dim = pnm_le16_get(d + PNM_JOB_HEAD_DIM_OFF);
  const uint32_t seq_len = pnm_le32_get(d + PNM_JOB_SEQ_LEN_OFF);
  const uint32_t k = pnm_le32_get(d + PNM_JOB_K_OFF);
  const uint32_t page_tokens = pnm_le32_get(d + PNM_JOB_PAGE_TOKENS_OFF);
  const uint32_t kv_stride = pnm_le32_get(d + PNM_JOB_KV_STRIDE_OFF);
  if (pnm_le32_get(d + PNM_JOB_MAGIC_OFF) != PNM_JOB_MAGIC) {
    return PNM_JOB_ERR_BAD_MAGIC;
  }
  if (pnm_le16_get(d + PNM_JOB_VERSION_OFF) != PNM_JOB_VERSION ||
      pnm_le16_get(d + PNM_JOB_SIZE_OFF) != PNM_JOB_DESC_BYTES) {
    return PNM_JOB_ERR_BAD_VERSION;
  }
  if (op < PNM_JOB_OP_DENSE || op > PNM_JOB_OP_MERGE) {
    return PNM_JOB_ERR_BAD_OPCODE;
  }
  if (prec != PNM_JOB_PREC_BF16 && prec != PNM_JOB_PREC_INT8) {
    return PNM_JOB_ERR_BAD_PRECISION;
  }
  if ((flags & ~PNM_JOB_FLAGS_KNOWN) != 0u) {
    return PNM_JOB_ERR_BAD_FLAGS;
  }
  if (heads == 0u || heads > 128u) {
    return PNM_JOB_ERR_BAD_HEADS;
  }
  if (kv_heads == 0u || heads % kv_heads != 0u) {
    return PNM_JOB_ERR_BAD_KV_HEADS;
  }
  if (head_dim == 0u || head_dim > 256u) {
    return PNM_JOB_ERR_BAD_HEAD_DIM;
  }
  if (op == PNM_JOB_OP_MERGE) {
    /* the parts (in Q's place), their flag lines (in K's), the merged O */
    if (k < 2u || k > PNM_JOB_MERGE_MAX_PARTS) {
      return PNM_JOB_ERR_BAD_K;
    }
    addr[PNM_REGION_Q] = pnm_le64_get(d + PNM_JOB_Q_ADDR_OFF);
    addr[PNM_REGION_K] = pnm_le64_get(d + PNM_JOB_IDX_ADDR_OFF);
    addr[PNM_REGION_O] = pnm_le64_get(d + PNM_JOB_O_ADDR_OFF);
    len[PNM_REGION_Q] = (uint64_t)k * PNM_JOB_PART_BYTES(heads, head_dim);
    len[PNM_REGION_K] = (uint64_t)(k - 1u) * PNM_JOB_ALIGN_BYTES;
    len[PNM_REGION_O] = (uint64_t)heads * head_dim * 4u +
                        ((flags & PNM_JOB_FLAG_WRITE_LSE) != 0u ? (uint64_t)heads * 4u : 0u);
    return PNM_JOB_ERR_OK;
  }
  if (seq_len == 0u || seq_len > (1u << 24)) {
    return PNM_JOB_ERR_BAD_SEQ_LEN;
  }
  if (kv_stride != 0u && (kv_stride < seq_len || kv_stride > (1u << 24))) {
    return PNM_JOB_ERR_BAD_SEQ_LEN;
  }
  /* K and V: every head's stride, the last head's used rows only */
  const uint64_t kv_rows = (uint64_t)(kv_heads - 1u) * (kv_stride != 0u ? kv_stride : seq_len) + seq_len;
  const bool page_op = op == PNM_JOB_OP_TOPK_PAGE || (op == PNM_JOB_OP_SELECT && page_tokens != 0u);
  if (page_op && (!power_of_two(page_tokens) || page_tokens > 65536u)) {
    return PNM_JOB_ERR_BAD_PAGE_TOKENS;
  }
  /* every product below is < 2^8 * 2^24 * 2^8 * 2 = 2^41: no overflow */
  const uint64_t elem = prec == PNM_JOB_PREC_INT8 ? 1u : 2u;
  const uint64_t row = (uint64_t)head_dim * elem;
  const uint32_t items = page_op ? (uint32_t)(((uint64_t)seq_len + page_tokens - 1u) / page_tokens) : seq_len;
  const uint64_t k_eff = op == PNM_JOB_OP_DENSE ? 0u : (k < items ? k : items);
  const bool writes_o = op != PNM_JOB_OP_SELECT || (flags & PNM_JOB_FLAG_WRITE_SCORES) != 0u;
  const bool writes_idx = op == PNM_JOB_OP_SELECT ||
                          ((op == PNM_JOB_OP_TOPK_TOKEN || op == PNM_JOB_OP_TOPK_PAGE) &&
                           (flags & PNM_JOB_FLAG_WRITE_INDICES) != 0u);
  addr[PNM_REGION_Q] = pnm_le64_get(d + PNM_JOB_Q_ADDR_OFF);
  addr[PNM_REGION_K] = pnm_le64_get(d + PNM_JOB_K_ADDR_OFF);
  addr[PNM_REGION_V] = pnm_le64_get(d + PNM_JOB_V_ADDR_OFF);
  addr[PNM_REGION_O] = pnm_le64_get(d + PNM_JOB_O_ADDR_OFF);
  addr[PNM_REGION_IDX] = pnm_le64_get(d + PNM_JOB_IDX_ADDR_OFF);
  len[PNM_REGION_Q] = (uint64_t)heads * row;
  len[PNM_REGION_K] = kv_rows * row;
  /* SELECT reads only K */
  len[PNM_REGION_V] = op == PNM_JOB_OP_SELECT ? 0u : kv_rows * row;
  len[PNM_REGION_O] = !writes_o ? 0u
                      : op == PNM_JOB_OP_SELECT ? (uint64_t)heads * k_eff * 4u
                                                : (uint64_t)heads * head_dim * 4u +
                                                      ((flags & PNM_JOB_FLAG_WRITE_LSE) != 0u ? (uint64_t)heads * 4u : 0u);
  len[PNM_REGION_IDX] = writes_idx ? (uint64_t)heads * k_eff * 4u : 0u;
  for (unsigned i = 0; i < PNM_REGION_COUNT; ++i) {
    if (len[i] == 0u) {
      addr[i] = 0u;
    }
  }
  return PNM_JOB_ERR_OK;
}

uint16_t pnm_job_check(const struct pnm_tenants* t, uint16_t queue_id, const uint8_t* desc128,
                       unsigned* bad_region) {
  uint64_t addr[PNM_REGION_COUNT], len[PNM_REGION_COUNT];
  const uint16_t err = pnm_job_regions(desc128, addr, len);
  if (err != PNM_JOB_ERR_OK) {
    return err;
  }
  for (unsigned i = 0; i < PNM_REGION_COUNT; ++i) {
    if (len[i] != 0u && !pnm_queue_owns(t, queue_id, addr[i], len[i])) {
      if (bad_region) {
        *bad_region = i;
      }
      return PNM_CQ_ST_ACCESS_DENIED;
    }
  }
  return PNM_CQ_ST_SUCCESS;
}

const char* pnm_job_region_name(unsigned region) {
  static const char* const names[PNM_REGION_COUNT] = {"Q", "K", "V", "O", "indices"};
  return region < PNM_REGION_COUNT ? names[region] : "?";
}
