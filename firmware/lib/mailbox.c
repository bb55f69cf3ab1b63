/* mailbox.c: CXL mailbox command set of the controller firmware (see
 * pnm_mailbox.h; payload layouts in docs/FIRMWARE.md). */
#include "pnm_mailbox.h"

/* ---- small helpers ---------------------------------------------------------- */

static void zero(uint8_t* p, uint32_t n) {
  for (uint32_t i = 0; i < n; ++i) {
    p[i] = 0;
  }
}

static void copy(uint8_t* dst, const uint8_t* src, uint32_t n) {
  for (uint32_t i = 0; i < n; ++i) {
    dst[i] = src[i];
  }
}

static bool capacity_aligned(uint64_t bytes) {
  return (bytes & (PNM_MBOX_CAPACITY_UNIT_BYTES - 1u)) == 0u;
}

static uint64_t capacity_units(uint64_t bytes) { return bytes >> 28; /* / 256 MiB */ }

uint64_t pnm_mbox_total_bytes(const struct pnm_mbox_ctx* ctx) {
  return ctx->volatile_bytes + ctx->persistent_bytes; /* init checked no overflow */
}

uint64_t pnm_mbox_now_ns(const struct pnm_mbox_ctx* ctx) {
  return ctx->now_ns ? ctx->now_ns(ctx->clock_user) : ctx->now_ns_value;
}

uint64_t pnm_mbox_timestamp(const struct pnm_mbox_ctx* ctx) {
  if (!ctx->timestamp_set) {
    return 0;
  }
  /* unsigned arithmetic: a device clock that wrapped still gives the
   * elapsed time modulo 2^64 */
  return ctx->timestamp_host + (pnm_mbox_now_ns(ctx) - ctx->timestamp_set_at);
}

/* A 64 B line at `dpa` is a valid device address. */
static bool line_in_capacity(const struct pnm_mbox_ctx* ctx, uint64_t dpa) {
  return pnm_range_within(0u, pnm_mbox_total_bytes(ctx), dpa, PNM_POISON_LINE_BYTES);
}

static bool line_aligned(uint64_t dpa) { return (dpa & (PNM_POISON_LINE_BYTES - 1u)) == 0u; }

/* CEL UUID 0da9c0b5-bf41-4b78-8f79-96b1623b3f17, in UUID byte order (as
 * Linux uuid_t and QEMU QemuUUID store it). */
static const uint8_t cel_uuid[16] = {0x0d, 0xa9, 0xc0, 0xb5, 0xbf, 0x41, 0x4b, 0x78,
                                     0x8f, 0x79, 0x96, 0xb1, 0x62, 0x3b, 0x3f, 0x17};

/* ---- command table -------------------------------------------------------------- */

typedef uint16_t (*handler_fn)(struct pnm_mbox_ctx* ctx, const uint8_t* in, uint32_t in_len,
                               uint8_t* out, uint32_t out_cap, uint32_t* out_len);

#define VARIABLE (-1)
#define IN_COPY_MAX PNM_MBOX_POISON_CLEAR_IN_LEN /* largest input of any command */
#define F_BG_OK 0x01u /* allowed while a background operation runs */

struct command {
  uint16_t opcode;
  uint16_t effects;  /* CEL effects */
  int32_t in_len;    /* exact input length, or VARIABLE */
  int32_t out_len;   /* fixed output length (0 = none), or VARIABLE */
  uint8_t flags;
  handler_fn handler;
};

/* Handlers of fixed-output commands get out_cap >= out_len and an output
 * already zeroed up to out_len; the dispatcher sets *out_len to it. */

/* ---- Identify Memory Device (0x4000) --------------------------------------- */
static uint16_t cmd_identify(struct pnm_mbox_ctx* ctx, const uint8_t* in, uint32_t in_len,
                             uint8_t* out, uint32_t out_cap, uint32_t* out_len) {
  (void)in, (void)in_len, (void)out_cap, (void)out_len;
  if (!capacity_aligned(ctx->volatile_bytes) || !capacity_aligned(ctx->persistent_bytes) ||
      !capacity_aligned(ctx->partition_align_bytes)) {
    return PNM_MBOX_RC_INTERNAL; /* as QEMU: capacities must be 256 MiB multiples */
  }
  copy(out + 0x00, (const uint8_t*)ctx->fw_revision, PNM_MBOX_FW_REV_LEN);
  pnm_le64_put(out + 0x10, capacity_units(pnm_mbox_total_bytes(ctx)));
  pnm_le64_put(out + 0x18, capacity_units(ctx->volatile_bytes));
  pnm_le64_put(out + 0x20, capacity_units(ctx->persistent_bytes));
  pnm_le64_put(out + 0x28, capacity_units(ctx->partition_align_bytes));
  for (unsigned i = 0; i < 4u; ++i) {
    pnm_le16_put(out + 0x30 + 2u * i, ctx->event_log_size[i]);
  }
  pnm_le32_put(out + 0x38, ctx->lsa_bytes);
  out[0x3C] = (uint8_t)PNM_POISON_MAX; /* 24-bit poison list maximum records */
  out[0x3D] = (uint8_t)(PNM_POISON_MAX >> 8);
  out[0x3E] = (uint8_t)(PNM_POISON_MAX >> 16);
  pnm_le16_put(out + 0x3F, ctx->inject_poison_limit);
  out[0x41] = ctx->poison_caps;
  out[0x42] = ctx->qos_caps;
  pnm_le16_put(out + 0x43, 0u); /* dynamic capacity event log size: no DCD */
  return PNM_MBOX_RC_SUCCESS;
}

/* ---- Get Health Info (0x4200) ------------------------------------------------ */

/* 0 normal, 1 warning, 2 critical */
static uint8_t life_level(const struct pnm_mbox_ctx* ctx) {
  const struct pnm_health* h = &ctx->health;
  const struct pnm_alert_config* a = &ctx->alerts;
  if (h->life_used_pct == PNM_HEALTH_LIFE_NOT_IMPLEMENTED) {
    return 0;
  }
  if (h->life_used_pct >= a->life_used_crit) {
    return 2;
  }
  return (a->enabled_alerts & PNM_ALERT_LIFE_USED) && h->life_used_pct >= a->life_used_warn ? 1
                                                                                            : 0;
}

static uint8_t temp_level(const struct pnm_mbox_ctx* ctx) {
  const int16_t t = ctx->health.temperature_c;
  const struct pnm_alert_config* a = &ctx->alerts;
  if (t == PNM_HEALTH_TEMP_NOT_IMPLEMENTED) {
    return 0;
  }
  if (t >= a->over_temp_crit || t <= a->under_temp_crit) {
    return 2;
  }
  if (((a->enabled_alerts & PNM_ALERT_OVER_TEMP) && t >= a->over_temp_warn) ||
      ((a->enabled_alerts & PNM_ALERT_UNDER_TEMP) && t <= a->under_temp_warn)) {
    return 1;
  }
  return 0;
}

static uint16_t cmd_get_health(struct pnm_mbox_ctx* ctx, const uint8_t* in, uint32_t in_len,
                               uint8_t* out, uint32_t out_cap, uint32_t* out_len) {
  (void)in, (void)in_len, (void)out_cap, (void)out_len;
  const struct pnm_health* h = &ctx->health;
  const struct pnm_alert_config* a = &ctx->alerts;
  uint8_t extra = (uint8_t)(life_level(ctx) | (temp_level(ctx) << 2));
  if ((a->enabled_alerts & PNM_ALERT_CORR_VOLATILE) &&
      h->corrected_volatile_errors >= a->corr_volatile_warn) {
    extra |= 0x10u;
  }
  if ((a->enabled_alerts & PNM_ALERT_CORR_PERSISTENT) &&
      h->corrected_persistent_errors >= a->corr_persistent_warn) {
    extra |= 0x20u;
  }
  out[0x00] = h->health_status;
  out[0x01] = h->media_status;
  out[0x02] = extra;
  out[0x03] = h->life_used_pct;
  pnm_le16_put(out + 0x04, (uint16_t)h->temperature_c);
  pnm_le32_put(out + 0x06, h->dirty_shutdowns);
  pnm_le32_put(out + 0x0A, h->corrected_volatile_errors);
  pnm_le32_put(out + 0x0E, h->corrected_persistent_errors);
  return PNM_MBOX_RC_SUCCESS;
}

/* ---- Get / Set Alert Configuration (0x4201 / 0x4202) ------------------------------ */
static uint16_t cmd_get_alert(struct pnm_mbox_ctx* ctx, const uint8_t* in, uint32_t in_len,
                              uint8_t* out, uint32_t out_cap, uint32_t* out_len) {
  (void)in, (void)in_len, (void)out_cap, (void)out_len;
  const struct pnm_alert_config* a = &ctx->alerts;
  out[0x00] = a->valid_alerts;
  out[0x01] = a->enabled_alerts;
  out[0x02] = a->life_used_crit;
  out[0x03] = a->life_used_warn;
  pnm_le16_put(out + 0x04, (uint16_t)a->over_temp_crit);
  pnm_le16_put(out + 0x06, (uint16_t)a->under_temp_crit);
  pnm_le16_put(out + 0x08, (uint16_t)a->over_temp_warn);
  pnm_le16_put(out + 0x0A, (uint16_t)a->under_temp_warn);
  pnm_le16_put(out + 0x0C, a->corr_volatile_warn);
  pnm_le16_put(out + 0x0E, a->corr_persistent_warn);
  return PNM_MBOX_RC_SUCCESS;
}

static uint16_t cmd_set_alert(struct pnm_mbox_ctx* ctx, const uint8_t* in, uint32_t in_len,
                              uint8_t* out, uint32_t out_cap, uint32_t* out_len) {
  (void)in_len, (void)out, (void)out_cap, (void)out_len;
  struct pnm_alert_config n = ctx->alerts; /* validate everything, then commit */
  const uint8_t valid = (uint8_t)(in[0x00] & PNM_ALERT_ALL); /* upper bits reserved */
  const uint8_t enable = in[0x01];
  if ((valid & (uint8_t)~ctx->alerts.valid_alerts) != 0u) {
    return PNM_MBOX_RC_INVALID_INPUT; /* an alert this device does not support */
  }
  if (valid & PNM_ALERT_LIFE_USED) {
    n.life_used_warn = in[0x02];
    if (n.life_used_warn >= n.life_used_crit) {
      return PNM_MBOX_RC_INVALID_INPUT;
    }
  }
  if (valid & PNM_ALERT_OVER_TEMP) {
    n.over_temp_warn = (int16_t)pnm_le16_get(in + 0x04);
    if (n.over_temp_warn >= n.over_temp_crit) {
      return PNM_MBOX_RC_INVALID_INPUT;
    }
  }
  if (valid & PNM_ALERT_UNDER_TEMP) {
    n.under_temp_warn = (int16_t)pnm_le16_get(in + 0x06);
    if (n.under_temp_warn <= n.under_temp_crit) {
      return PNM_MBOX_RC_INVALID_INPUT; /* under-temperature warns above its critical */
    }
  }
  if (valid & PNM_ALERT_CORR_VOLATILE) {
    n.corr_volatile_warn = pnm_le16_get(in + 0x08);
  }
  if (valid & PNM_ALERT_CORR_PERSISTENT) {
    n.corr_persistent_warn = pnm_le16_get(in + 0x0A);
  }
  n.enabled_alerts = (uint8_t)((n.enabled_alerts & (uint8_t)~valid) | (enable & valid));
  ctx->alerts = n;
  return PNM_MBOX_RC_SUCCESS;
}

/* ---- Get / Set Timestamp (0x0300 / 0x0301) -------------------------------------- */
static uint16_t cmd_get_timestamp(struct pnm_mbox_ctx* ctx, const uint8_t* in, uint32_t in_len,
                                  uint8_t* out, uint32_t out_cap, uint32_t* out_len) {
  (void)in, (void)in_len, (void)out_cap, (void)out_len;
  pnm_le64_put(out, pnm_mbox_timestamp(ctx));
  return PNM_MBOX_RC_SUCCESS;
}

static uint16_t cmd_set_timestamp(struct pnm_mbox_ctx* ctx, const uint8_t* in, uint32_t in_len,
                                  uint8_t* out, uint32_t out_cap, uint32_t* out_len) {
  (void)in_len, (void)out, (void)out_cap, (void)out_len;
  ctx->timestamp_host = pnm_le64_get(in);
  ctx->timestamp_set_at = pnm_mbox_now_ns(ctx);
  ctx->timestamp_set = true;
  return PNM_MBOX_RC_SUCCESS;
}

/* ---- Get Supported Logs / Get Log (0x0400 / 0x0401) ---------------------------- */
static uint16_t cmd_get_supported_logs(struct pnm_mbox_ctx* ctx, const uint8_t* in,
                                       uint32_t in_len, uint8_t* out, uint32_t out_cap,
                                       uint32_t* out_len) {
  (void)ctx, (void)in, (void)in_len, (void)out_cap, (void)out_len;
  pnm_le16_put(out + 0x00, 1u); /* one log: the CEL */
  copy(out + 0x08, cel_uuid, 16u);
  pnm_le32_put(out + 0x18, pnm_mbox_cel_entries() * PNM_MBOX_CEL_ENTRY_LEN);
  return PNM_MBOX_RC_SUCCESS;
}

static uint8_t cel_byte(uint32_t offset); /* defined after the table */

static uint16_t cmd_get_log(struct pnm_mbox_ctx* ctx, const uint8_t* in, uint32_t in_len,
                            uint8_t* out, uint32_t out_cap, uint32_t* out_len) {
  (void)ctx, (void)in_len;
  for (unsigned i = 0; i < 16u; ++i) {
    if (in[i] != cel_uuid[i]) {
      return PNM_MBOX_RC_INVALID_LOG;
    }
  }
  const uint32_t offset = pnm_le32_get(in + 0x10);
  const uint32_t length = pnm_le32_get(in + 0x14);
  const uint64_t size = (uint64_t)pnm_mbox_cel_entries() * PNM_MBOX_CEL_ENTRY_LEN;
  if (length > out_cap || (uint64_t)offset + length > size) {
    return PNM_MBOX_RC_INVALID_INPUT; /* beyond the payload or the log */
  }
  for (uint32_t i = 0; i < length; ++i) {
    out[i] = cel_byte(offset + i);
  }
  *out_len = length;
  return PNM_MBOX_RC_SUCCESS;
}

/* ---- Get FW Info (0x0200) ------------------------------------------------------- */
static uint16_t cmd_get_fw_info(struct pnm_mbox_ctx* ctx, const uint8_t* in, uint32_t in_len,
                                uint8_t* out, uint32_t out_cap, uint32_t* out_len) {
  (void)in, (void)in_len, (void)out_cap, (void)out_len;
  out[0x00] = 1u;        /* FW slots supported */
  out[0x01] = 1u;        /* active slot 1 (bits 2:0), nothing staged (5:3) */
  out[0x02] = 0u;        /* no online activation (no Transfer/Activate FW) */
  copy(out + 0x10, (const uint8_t*)ctx->fw_revision, PNM_MBOX_FW_REV_LEN); /* slot 1 */
  return PNM_MBOX_RC_SUCCESS;
}

/* ---- poison (0x4300 / 0x4301 / 0x4302) ------------------------------------------ */
static uint16_t cmd_get_poison(struct pnm_mbox_ctx* ctx, const uint8_t* in, uint32_t in_len,
                               uint8_t* out, uint32_t out_cap, uint32_t* out_len) {
  (void)in_len;
  const uint64_t start = pnm_le64_get(in + 0x00);
  const uint64_t units = pnm_le64_get(in + 0x08);
  const uint64_t total = pnm_mbox_total_bytes(ctx);
  if (!line_aligned(start)) {
    return PNM_MBOX_RC_INVALID_INPUT;
  }
  /* start + units * 64 <= total, without overflow */
  if (start > total || units > (total - start) / PNM_POISON_LINE_BYTES) {
    return PNM_MBOX_RC_INVALID_PA;
  }
  if (out_cap < PNM_MBOX_POISON_HDR_LEN) {
    return PNM_MBOX_RC_INTERNAL; /* payload below the CXL minimum */
  }
  const uint64_t qlen = units * PNM_POISON_LINE_BYTES;
  const struct pnm_poison_list* l = &ctx->poison;
  struct pnm_poison_cursor* cur = &ctx->poison_cursor;
  uint32_t skip = 0;
  if (cur->active && cur->start == start && cur->units == units &&
      cur->generation == l->generation) {
    skip = cur->next; /* continue after "more records" */
  }
  uint32_t room = (out_cap - PNM_MBOX_POISON_HDR_LEN) / PNM_MBOX_POISON_RECORD_LEN;
  if (room > 0xFFFFu) {
    room = 0xFFFFu; /* record count is 16 bits */
  }
  zero(out, PNM_MBOX_POISON_HDR_LEN);
  uint32_t matching = 0, emitted = 0;
  bool more = false;
  for (uint32_t i = 0; i < l->count; ++i) {
    const struct pnm_poison_entry* e = &l->entry[i];
    const uint64_t elen = (uint64_t)e->lines * PNM_POISON_LINE_BYTES;
    if (!pnm_range_overlaps(e->dpa, elen, start, qlen)) {
      continue;
    }
    if (matching++ < skip) {
      continue;
    }
    if (emitted == room) {
      more = true;
      break;
    }
    /* the part of the run inside the query (entries do not wrap) */
    const uint64_t lo = e->dpa > start ? e->dpa : start;
    const uint64_t e_end = e->dpa + elen;
    const uint64_t q_end = start + qlen;
    const uint64_t hi = e_end < q_end ? e_end : q_end;
    uint8_t* r = out + PNM_MBOX_POISON_HDR_LEN + emitted * PNM_MBOX_POISON_RECORD_LEN;
    pnm_le64_put(r + 0x00, lo | (uint64_t)(e->source & 0x7u));
    pnm_le32_put(r + 0x08, (uint32_t)((hi - lo) / PNM_POISON_LINE_BYTES));
    pnm_le32_put(r + 0x0C, 0u);
    emitted++;
  }
  uint8_t flags = 0;
  if (more) {
    flags |= PNM_POISON_FLAG_MORE;
    *cur = (struct pnm_poison_cursor){.active = true, .start = start, .units = units,
                                      .generation = l->generation, .next = skip + emitted};
  } else {
    cur->active = false;
  }
  if (l->overflowed) {
    flags |= PNM_POISON_FLAG_OVERFLOW;
    pnm_le64_put(out + 0x02, l->overflow_timestamp);
  }
  out[0x00] = flags;
  pnm_le16_put(out + 0x0A, (uint16_t)emitted);
  *out_len = PNM_MBOX_POISON_HDR_LEN + emitted * PNM_MBOX_POISON_RECORD_LEN;
  return PNM_MBOX_RC_SUCCESS;
}

/* The DPA of one 64 B line named by Inject/Clear Poison: aligned, inside the device. */
static uint16_t check_line_dpa(const struct pnm_mbox_ctx* ctx, uint64_t dpa) {
  if (!line_aligned(dpa)) {
    return PNM_MBOX_RC_INVALID_INPUT;
  }
  if (!line_in_capacity(ctx, dpa)) {
    return PNM_MBOX_RC_INVALID_PA;
  }
  return PNM_MBOX_RC_SUCCESS;
}

static uint16_t cmd_inject_poison(struct pnm_mbox_ctx* ctx, const uint8_t* in, uint32_t in_len,
                                  uint8_t* out, uint32_t out_cap, uint32_t* out_len) {
  (void)in_len, (void)out, (void)out_cap, (void)out_len;
  const uint64_t dpa = pnm_le64_get(in);
  const uint16_t bad = check_line_dpa(ctx, dpa);
  if (bad != PNM_MBOX_RC_SUCCESS) {
    return bad;
  }
  if (pnm_poison_hit(&ctx->poison, dpa, PNM_POISON_LINE_BYTES)) {
    return PNM_MBOX_RC_SUCCESS; /* already poisoned: nothing to add */
  }
  if (ctx->inject_poison_limit != 0u &&
      pnm_poison_lines(&ctx->poison, PNM_POISON_SRC_INJECTED) >= ctx->inject_poison_limit) {
    return PNM_MBOX_RC_INJECT_POISON_LIMIT;
  }
  if (pnm_poison_try_mark(&ctx->poison, dpa, PNM_POISON_SRC_INJECTED) == PNM_POISON_OVERFLOW) {
    return PNM_MBOX_RC_INJECT_POISON_LIMIT; /* list full */
  }
  return PNM_MBOX_RC_SUCCESS;
}

static uint16_t cmd_clear_poison(struct pnm_mbox_ctx* ctx, const uint8_t* in, uint32_t in_len,
                                 uint8_t* out, uint32_t out_cap, uint32_t* out_len) {
  (void)in_len, (void)out, (void)out_cap, (void)out_len;
  const uint64_t dpa = pnm_le64_get(in);
  const uint16_t bad = check_line_dpa(ctx, dpa);
  if (bad != PNM_MBOX_RC_SUCCESS) {
    return bad;
  }
  /* the replacement data is written whether or not the line was poisoned */
  if (ctx->write_line && ctx->write_line(ctx->media_user, dpa, in + 0x08) != 0) {
    return PNM_MBOX_RC_INTERNAL;
  }
  (void)pnm_poison_clear(&ctx->poison, dpa, pnm_mbox_timestamp(ctx));
  return PNM_MBOX_RC_SUCCESS;
}

/* ---- vendor PNM commands (0xC000..0xC006) --------------------------------------- */

static uint16_t tenant_rc(int status) {
  switch (status) {
  case PNM_TENANT_OK:
    return PNM_MBOX_RC_SUCCESS;
  case PNM_TENANT_ERANGE:
    return PNM_MBOX_RC_INVALID_PA;
  case PNM_TENANT_EFULL:
    return PNM_MBOX_RC_RESOURCES_EXHAUSTED;
  case PNM_TENANT_EBUSY:
    return PNM_MBOX_RC_BUSY;
  default: /* EINVAL, EOVERLAP, EEXIST, ENOENT */
    return PNM_MBOX_RC_INVALID_INPUT;
  }
}

static uint8_t log2_u32(uint32_t v) {
  uint8_t n = 0;
  while (v > 1u) {
    v >>= 1;
    n++;
  }
  return n;
}

static uint16_t cmd_pnm_get_caps(struct pnm_mbox_ctx* ctx, const uint8_t* in, uint32_t in_len,
                                 uint8_t* out, uint32_t out_cap, uint32_t* out_len) {
  (void)in, (void)in_len, (void)out_cap, (void)out_len;
  pnm_le16_put(out + PNM_CAPS_VERSION_OFF, PNM_CAPS_LAYOUT_VERSION);
  pnm_le16_put(out + PNM_CAPS_DESC_VERSION_OFF, ctx->engine.job_desc_version);
  pnm_le16_put(out + PNM_CAPS_LANES_OFF, ctx->engine.lanes);
  out[PNM_CAPS_ENGINES_OFF] = ctx->engine.engines;
  out[PNM_CAPS_PRECISIONS_OFF] = ctx->engine.precisions;
  pnm_le16_put(out + PNM_CAPS_MAX_TENANTS_OFF, (uint16_t)PNM_TENANTS_MAX);
  pnm_le16_put(out + PNM_CAPS_MAX_QUEUES_OFF, (uint16_t)PNM_QUEUES_MAX);
  pnm_le16_put(out + PNM_CAPS_MIN_ENTRIES_OFF, (uint16_t)PNM_QUEUE_MIN_ENTRIES);
  pnm_le16_put(out + PNM_CAPS_MAX_ENTRIES_OFF, (uint16_t)PNM_QUEUE_MAX_ENTRIES);
  out[PNM_CAPS_SQE_LOG2_OFF] = log2_u32(PNM_SQ_ENTRY_BYTES);
  out[PNM_CAPS_CQE_LOG2_OFF] = log2_u32(PNM_CQ_ENTRY_BYTES);
  out[PNM_CAPS_GRANULE_LOG2_OFF] = log2_u32(PNM_TENANT_GRANULE_BYTES);
  out[PNM_CAPS_RING_ALIGN_LOG2_OFF] = log2_u32(PNM_QUEUE_BASE_ALIGN);
  return PNM_MBOX_RC_SUCCESS;
}

static uint16_t cmd_pnm_create_tenant(struct pnm_mbox_ctx* ctx, const uint8_t* in,
                                      uint32_t in_len, uint8_t* out, uint32_t out_cap,
                                      uint32_t* out_len) {
  (void)in_len, (void)out, (void)out_cap, (void)out_len;
  return tenant_rc(pnm_tenant_create(&ctx->tenants, pnm_le16_get(in + PNM_TENANT_IN_ID_OFF),
                                     pnm_le64_get(in + PNM_TENANT_IN_BASE_OFF),
                                     pnm_le64_get(in + PNM_TENANT_IN_LENGTH_OFF)));
}

static uint16_t cmd_pnm_destroy_tenant(struct pnm_mbox_ctx* ctx, const uint8_t* in,
                                       uint32_t in_len, uint8_t* out, uint32_t out_cap,
                                       uint32_t* out_len) {
  (void)in_len, (void)out, (void)out_cap, (void)out_len;
  return tenant_rc(pnm_tenant_destroy(&ctx->tenants, pnm_le16_get(in + PNM_TENANT_IN_ID_OFF)));
}

static uint16_t cmd_pnm_create_queue(struct pnm_mbox_ctx* ctx, const uint8_t* in,
                                     uint32_t in_len, uint8_t* out, uint32_t out_cap,
                                     uint32_t* out_len) {
  (void)in_len, (void)out_cap, (void)out_len;
  uint16_t id = PNM_QUEUE_ID_INVALID;
  const int st = pnm_queue_create(&ctx->tenants, pnm_le16_get(in + PNM_QUEUE_IN_TENANT_OFF),
                                  pnm_le64_get(in + PNM_QUEUE_IN_SQ_BASE_OFF),
                                  pnm_le64_get(in + PNM_QUEUE_IN_CQ_BASE_OFF),
                                  pnm_le16_get(in + PNM_QUEUE_IN_ENTRIES_OFF), &id);
  if (st != PNM_TENANT_OK) {
    return tenant_rc(st);
  }
  pnm_le16_put(out + PNM_QUEUE_ID_OFF, id);
  return PNM_MBOX_RC_SUCCESS;
}

static uint16_t cmd_pnm_destroy_queue(struct pnm_mbox_ctx* ctx, const uint8_t* in,
                                      uint32_t in_len, uint8_t* out, uint32_t out_cap,
                                      uint32_t* out_len) {
  (void)in_len, (void)out, (void)out_cap, (void)out_len;
  return tenant_rc(pnm_queue_destroy(&ctx->tenants, pnm_le16_get(in + PNM_QUEUE_ID_OFF)));
}

static uint16_t cmd_pnm_get_perf(struct pnm_mbox_ctx* ctx, const uint8_t* in, uint32_t in_len,
                                 uint8_t* out, uint32_t out_cap, uint32_t* out_len) {
  (void)in, (void)in_len, (void)out_cap, (void)out_len;
  const struct pnm_perf_counters* p = &ctx->perf;
  pnm_le16_put(out + PNM_PERF_VERSION_OFF, PNM_PERF_LAYOUT_VERSION);
  pnm_le16_put(out + PNM_PERF_CLASSES_OFF, (uint16_t)PNM_ENERGY_CLASSES);
  pnm_le64_put(out + PNM_PERF_DEVICE_NS_OFF, pnm_mbox_now_ns(ctx));
  pnm_le64_put(out + PNM_PERF_JOBS_DONE_OFF, p->jobs_completed);
  pnm_le64_put(out + PNM_PERF_JOBS_FAILED_OFF, p->jobs_failed);
  pnm_le64_put(out + PNM_PERF_BUSY_CYCLES_OFF, p->engine_busy_cycles);
  pnm_le64_put(out + PNM_PERF_DRAM_RD_OFF, p->dram_bytes_read);
  pnm_le64_put(out + PNM_PERF_DRAM_WR_OFF, p->dram_bytes_written);
  pnm_le64_put(out + PNM_PERF_LINK_RX_OFF, p->link_bytes_rx);
  pnm_le64_put(out + PNM_PERF_LINK_TX_OFF, p->link_bytes_tx);
  pnm_le64_put(out + PNM_PERF_INSTRUCTIONS_OFF, p->instructions_retired);
  for (unsigned i = 0; i < PNM_ENERGY_CLASSES; ++i) {
    pnm_le64_put(out + PNM_PERF_ENERGY_OFF + 8u * i, p->energy_pj[i]);
  }
  return PNM_MBOX_RC_SUCCESS;
}

static uint16_t cmd_pnm_get_tenant(struct pnm_mbox_ctx* ctx, const uint8_t* in, uint32_t in_len,
                                   uint8_t* out, uint32_t out_cap, uint32_t* out_len) {
  (void)in_len;
  const struct pnm_tenant* tn = pnm_tenant_find(&ctx->tenants, pnm_le16_get(in + PNM_TENANT_IN_ID_OFF));
  if (!tn) {
    return PNM_MBOX_RC_INVALID_INPUT;
  }
  const uint32_t len = PNM_MBOX_PNM_TENANT_INFO_HDR_LEN + 2u * tn->queue_count;
  if (out_cap < len) {
    return PNM_MBOX_RC_INTERNAL; /* cannot happen with a >= 256 B payload */
  }
  zero(out, len);
  pnm_le16_put(out + PNM_TINFO_ID_OFF, tn->id);
  pnm_le16_put(out + PNM_TINFO_QUEUES_OFF, tn->queue_count);
  pnm_le64_put(out + PNM_TINFO_BASE_OFF, tn->base);
  pnm_le64_put(out + PNM_TINFO_LENGTH_OFF, tn->length);
  pnm_le64_put(out + PNM_TINFO_JOBS_DONE_OFF, tn->jobs_completed);
  pnm_le64_put(out + PNM_TINFO_JOBS_FAILED_OFF, tn->jobs_failed);
  uint32_t n = 0;
  for (uint16_t q = 0; q < PNM_QUEUES_MAX && n < tn->queue_count; ++q) {
    const struct pnm_queue* qp = pnm_queue_find(&ctx->tenants, q);
    if (qp && qp->tenant == tn->id) {
      pnm_le16_put(out + PNM_MBOX_PNM_TENANT_INFO_HDR_LEN + 2u * n, q);
      n++;
    }
  }
  *out_len = len;
  return PNM_MBOX_RC_SUCCESS;
}

/* ---- the table: dispatch and CEL, sorted by opcode ------------------------------- */
static const struct command commands[] = {
    {PNM_MBOX_OP_GET_FW_INFO, 0, 0, PNM_MBOX_FW_INFO_OUT_LEN, F_BG_OK, cmd_get_fw_info},
    {PNM_MBOX_OP_GET_TIMESTAMP, 0, 0, PNM_MBOX_TIMESTAMP_LEN, F_BG_OK, cmd_get_timestamp},
    {PNM_MBOX_OP_SET_TIMESTAMP, PNM_CEL_POLICY_CHANGE_IMMEDIATE, PNM_MBOX_TIMESTAMP_LEN, 0, 0,
     cmd_set_timestamp},
    {PNM_MBOX_OP_GET_SUPPORTED_LOGS, 0, 0, PNM_MBOX_SUPPORTED_LOGS_OUT_LEN, F_BG_OK,
     cmd_get_supported_logs},
    {PNM_MBOX_OP_GET_LOG, 0, PNM_MBOX_GET_LOG_IN_LEN, VARIABLE, F_BG_OK, cmd_get_log},
    {PNM_MBOX_OP_IDENTIFY, 0, 0, PNM_MBOX_IDENTIFY_OUT_LEN, F_BG_OK, cmd_identify},
    {PNM_MBOX_OP_GET_HEALTH_INFO, 0, 0, PNM_MBOX_HEALTH_OUT_LEN, F_BG_OK, cmd_get_health},
    {PNM_MBOX_OP_GET_ALERT_CONFIG, 0, 0, PNM_MBOX_ALERT_GET_OUT_LEN, F_BG_OK, cmd_get_alert},
    {PNM_MBOX_OP_SET_ALERT_CONFIG, PNM_CEL_POLICY_CHANGE_IMMEDIATE, PNM_MBOX_ALERT_SET_IN_LEN, 0,
     0, cmd_set_alert},
    {PNM_MBOX_OP_GET_POISON, 0, PNM_MBOX_POISON_GET_IN_LEN, VARIABLE, F_BG_OK, cmd_get_poison},
    {PNM_MBOX_OP_INJECT_POISON, PNM_CEL_DATA_CHANGE_IMMEDIATE, PNM_MBOX_POISON_INJECT_IN_LEN, 0,
     0, cmd_inject_poison},
    {PNM_MBOX_OP_CLEAR_POISON, PNM_CEL_DATA_CHANGE_IMMEDIATE, PNM_MBOX_POISON_CLEAR_IN_LEN, 0, 0,
     cmd_clear_poison},
    {PNM_MBOX_OP_PNM_GET_CAPS, 0, 0, PNM_MBOX_PNM_CAPS_OUT_LEN, F_BG_OK, cmd_pnm_get_caps},
    {PNM_MBOX_OP_PNM_CREATE_TENANT, PNM_CEL_CONFIG_CHANGE_IMMEDIATE,
     PNM_MBOX_PNM_CREATE_TENANT_IN_LEN, 0, 0, cmd_pnm_create_tenant},
    {PNM_MBOX_OP_PNM_DESTROY_TENANT, PNM_CEL_CONFIG_CHANGE_IMMEDIATE,
     PNM_MBOX_PNM_TENANT_ID_IN_LEN, 0, 0, cmd_pnm_destroy_tenant},
    {PNM_MBOX_OP_PNM_CREATE_QUEUE, PNM_CEL_CONFIG_CHANGE_IMMEDIATE,
     PNM_MBOX_PNM_CREATE_QUEUE_IN_LEN, PNM_MBOX_PNM_CREATE_QUEUE_OUT_LEN, 0,
     cmd_pnm_create_queue},
    {PNM_MBOX_OP_PNM_DESTROY_QUEUE, PNM_CEL_CONFIG_CHANGE_IMMEDIATE,
     PNM_MBOX_PNM_DESTROY_QUEUE_IN_LEN, 0, 0, cmd_pnm_destroy_queue},
    {PNM_MBOX_OP_PNM_GET_PERF, 0, 0, PNM_MBOX_PNM_PERF_OUT_LEN, F_BG_OK, cmd_pnm_get_perf},
    {PNM_MBOX_OP_PNM_GET_TENANT, 0, PNM_MBOX_PNM_TENANT_ID_IN_LEN, VARIABLE, F_BG_OK,
     cmd_pnm_get_tenant},
};
#define COMMAND_COUNT ((uint32_t)(sizeof commands / sizeof commands[0]))

static const struct command* find_command(uint16_t opcode) {
  for (uint32_t i = 0; i < COMMAND_COUNT; ++i) {
    if (commands[i].opcode == opcode) {
      return &commands[i];
    }
  }
  return 0;
}

uint32_t pnm_mbox_cel_entries(void) { return COMMAND_COUNT; }

bool pnm_mbox_supported(uint16_t opcode) { return find_command(opcode) != 0; }

uint16_t pnm_mbox_effects(uint16_t opcode) {
  const struct command* c = find_command(opcode);
  return c ? c->effects : 0u;
}

/* Byte `offset` of the CEL: entries of opcode (LE16) + effects (LE16). */
static uint8_t cel_byte(uint32_t offset) {
  const struct command* c = &commands[offset / PNM_MBOX_CEL_ENTRY_LEN];
  const uint16_t v = (offset & 2u) ? c->effects : c->opcode;
  return (uint8_t)((offset & 1u) ? v >> 8 : v);
}

/* ---- entry points ------------------------------------------------------------------- */

uint16_t pnm_mbox_execute(struct pnm_mbox_ctx* ctx, uint16_t opcode, const uint8_t* in,
                          uint32_t in_len, uint8_t* out, uint32_t out_cap, uint32_t* out_len) {
  *out_len = 0;
  if (opcode != PNM_MBOX_OP_GET_POISON) {
    ctx->poison_cursor.active = false; /* a continuation must follow directly */
  }
  const struct command* c = find_command(opcode);
  if (!c) {
    return PNM_MBOX_RC_UNSUPPORTED;
  }
  if (c->in_len != VARIABLE && in_len != (uint32_t)c->in_len) {
    return PNM_MBOX_RC_INVALID_PAYLOAD_LENGTH;
  }
  if (ctx->busy && !(c->flags & F_BG_OK)) {
    return PNM_MBOX_RC_BUSY;
  }
  /* Inputs are copied before any output is written, so `in` and `out` may
   * be the same buffer (the mailbox payload area). Every command has a
   * fixed input of at most IN_COPY_MAX bytes. */
  uint8_t in_copy[IN_COPY_MAX];
  if (in_len > IN_COPY_MAX) {
    return PNM_MBOX_RC_INVALID_PAYLOAD_LENGTH; /* unreachable: lengths are exact */
  }
  copy(in_copy, in, in_len);
  in = in_copy;
  if (c->out_len > 0) {
    if (out_cap < (uint32_t)c->out_len) {
      return PNM_MBOX_RC_INTERNAL; /* payload below the CXL minimum: a caller bug */
    }
    zero(out, (uint32_t)c->out_len);
  }
  uint32_t len = 0;
  const uint16_t rc = c->handler(ctx, in, in_len, out, out_cap, &len);
  if (rc == PNM_MBOX_RC_SUCCESS) {
    *out_len = c->out_len == VARIABLE ? len : (uint32_t)c->out_len;
  }
  return rc;
}

int pnm_mbox_init(struct pnm_mbox_ctx* ctx, const struct pnm_mbox_config* cfg) {
  /* field-wise reset: the context holds tables too large to copy around */
  for (unsigned i = 0; i < PNM_MBOX_FW_REV_LEN; ++i) {
    ctx->fw_revision[i] = 0;
  }
  for (unsigned i = 0; cfg->fw_revision && i < PNM_MBOX_FW_REV_LEN && cfg->fw_revision[i]; ++i) {
    ctx->fw_revision[i] = cfg->fw_revision[i];
  }
  ctx->volatile_bytes = cfg->volatile_bytes;
  ctx->persistent_bytes = cfg->persistent_bytes;
  ctx->partition_align_bytes = 0;
  for (unsigned i = 0; i < 4u; ++i) {
    ctx->event_log_size[i] = cfg->event_log_size[i];
  }
  ctx->lsa_bytes = 0;
  ctx->inject_poison_limit = cfg->inject_poison_limit;
  ctx->poison_caps = 0;
  ctx->qos_caps = 0;
  ctx->engine = cfg->engine;
  ctx->now_ns = cfg->now_ns;
  ctx->clock_user = cfg->clock_user;
  ctx->now_ns_value = 0;
  ctx->timestamp_set = false;
  ctx->timestamp_host = 0;
  ctx->timestamp_set_at = 0;
  ctx->health = (struct pnm_health){.life_used_pct = PNM_HEALTH_LIFE_NOT_IMPLEMENTED,
                                    .temperature_c = PNM_HEALTH_TEMP_NOT_IMPLEMENTED};
  ctx->alerts = (struct pnm_alert_config){.valid_alerts = PNM_ALERT_ALL,
                                          .enabled_alerts = 0,
                                          .life_used_crit = 90,
                                          .life_used_warn = 75,
                                          .over_temp_crit = 85,
                                          .under_temp_crit = 0,
                                          .over_temp_warn = 70,
                                          .under_temp_warn = 5,
                                          .corr_volatile_warn = 0,
                                          .corr_persistent_warn = 0};
  pnm_poison_init(&ctx->poison);
  ctx->poison_cursor = (struct pnm_poison_cursor){.active = false};
  ctx->write_line = cfg->write_line;
  ctx->media_user = cfg->media_user;
  ctx->perf = (struct pnm_perf_counters){.jobs_completed = 0};
  ctx->busy = false;
  const bool ok = capacity_aligned(cfg->volatile_bytes) && capacity_aligned(cfg->persistent_bytes) &&
                  cfg->volatile_bytes <= UINT64_MAX - cfg->persistent_bytes;
  if (!ok) {
    ctx->volatile_bytes = 0;
    ctx->persistent_bytes = 0;
  }
  pnm_tenants_init(&ctx->tenants, pnm_mbox_total_bytes(ctx));
  return ok ? 0 : -1;
}
