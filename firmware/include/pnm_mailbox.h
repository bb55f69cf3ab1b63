/*
 * pnm_mailbox.h: CXL mailbox command execution for the controller firmware.
 *
 * The firmware's main loop reads the opcode and input payload from the
 * mailbox registers, calls pnm_mbox_execute(), and writes back the output
 * payload, its length and the return code. Nothing here touches registers:
 * the context holds all device state the commands report or change, and
 * the platform reaches the outside world through two optional callbacks
 * (clock, cache-line write for Clear Poison).
 *
 * Payload layouts follow the CXL specification as Linux (cxlmem.h) and QEMU
 * (cxl-mailbox-utils.c) implement it; all multi-byte fields little-endian,
 * packed byte by byte (pnm_le*_put/get), never through struct overlays.
 * The vendor-specific PNM commands (0xC000..0xC006) are this project's own;
 * docs/FIRMWARE.md has every layout byte by byte.
 *
 * Portable C11, fixed-size state, no allocation: built into the firmware
 * and natively (pnm_fw_native) for the host tests in tests/firmware.
 */
#ifndef PNM_MAILBOX_H
#define PNM_MAILBOX_H

#include <stdbool.h>
#include <stdint.h>

#include "pnm_poison.h"
#include "pnm_tenants.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---- return codes (CXL r3.1 Table 8-34 via QEMU cxl_device.h; Linux
 * cxlmem.h CMD_CMD_RC_TABLE has the same order) ----------------------------- */
#define PNM_MBOX_RC_SUCCESS 0x00u
#define PNM_MBOX_RC_BACKGROUND 0x01u
#define PNM_MBOX_RC_INVALID_INPUT 0x02u
#define PNM_MBOX_RC_UNSUPPORTED 0x03u
#define PNM_MBOX_RC_INTERNAL 0x04u
#define PNM_MBOX_RC_RETRY 0x05u
#define PNM_MBOX_RC_BUSY 0x06u
#define PNM_MBOX_RC_MEDIA_DISABLED 0x07u
#define PNM_MBOX_RC_FW_XFER_IN_PROGRESS 0x08u
#define PNM_MBOX_RC_FW_XFER_OUT_OF_ORDER 0x09u
#define PNM_MBOX_RC_FW_AUTH_FAILED 0x0Au
#define PNM_MBOX_RC_FW_INVALID_SLOT 0x0Bu
#define PNM_MBOX_RC_FW_ROLLED_BACK 0x0Cu
#define PNM_MBOX_RC_FW_COLD_RESET_REQUIRED 0x0Du
#define PNM_MBOX_RC_INVALID_HANDLE 0x0Eu
#define PNM_MBOX_RC_INVALID_PA 0x0Fu
#define PNM_MBOX_RC_INJECT_POISON_LIMIT 0x10u
#define PNM_MBOX_RC_PERMANENT_MEDIA_FAILURE 0x11u
#define PNM_MBOX_RC_ABORTED 0x12u
#define PNM_MBOX_RC_INVALID_SECURITY_STATE 0x13u
#define PNM_MBOX_RC_INCORRECT_PASSPHRASE 0x14u
#define PNM_MBOX_RC_UNSUPPORTED_MAILBOX 0x15u
#define PNM_MBOX_RC_INVALID_PAYLOAD_LENGTH 0x16u
#define PNM_MBOX_RC_INVALID_LOG 0x17u
#define PNM_MBOX_RC_INTERRUPTED 0x18u
#define PNM_MBOX_RC_UNSUPPORTED_FEATURE_VERSION 0x19u
#define PNM_MBOX_RC_UNSUPPORTED_FEATURE_SELECTION 0x1Au
#define PNM_MBOX_RC_FEATURE_XFER_IN_PROGRESS 0x1Bu
#define PNM_MBOX_RC_FEATURE_XFER_OUT_OF_ORDER 0x1Cu
#define PNM_MBOX_RC_RESOURCES_EXHAUSTED 0x1Du
#define PNM_MBOX_RC_INVALID_EXTENT_LIST 0x1Eu
#define PNM_MBOX_RC_TRANSFER_OUT_OF_ORDER 0x1Fu   /* QEMU only */
#define PNM_MBOX_RC_REQUEST_ABORT_NOT_SUP 0x20u   /* QEMU only */

/* ---- opcodes this firmware implements ------------------------------------ */
#define PNM_MBOX_OP_GET_FW_INFO 0x0200u
#define PNM_MBOX_OP_GET_TIMESTAMP 0x0300u
#define PNM_MBOX_OP_SET_TIMESTAMP 0x0301u
#define PNM_MBOX_OP_GET_SUPPORTED_LOGS 0x0400u
#define PNM_MBOX_OP_GET_LOG 0x0401u
#define PNM_MBOX_OP_IDENTIFY 0x4000u
#define PNM_MBOX_OP_GET_HEALTH_INFO 0x4200u
#define PNM_MBOX_OP_GET_ALERT_CONFIG 0x4201u
#define PNM_MBOX_OP_SET_ALERT_CONFIG 0x4202u
#define PNM_MBOX_OP_GET_POISON 0x4300u
#define PNM_MBOX_OP_INJECT_POISON 0x4301u
#define PNM_MBOX_OP_CLEAR_POISON 0x4302u
/* vendor-specific PNM command set 0xC0 (this project's own) */
#define PNM_MBOX_OP_PNM_GET_CAPS 0xC000u
#define PNM_MBOX_OP_PNM_CREATE_TENANT 0xC001u
#define PNM_MBOX_OP_PNM_DESTROY_TENANT 0xC002u
#define PNM_MBOX_OP_PNM_CREATE_QUEUE 0xC003u
#define PNM_MBOX_OP_PNM_DESTROY_QUEUE 0xC004u
#define PNM_MBOX_OP_PNM_GET_PERF 0xC005u
#define PNM_MBOX_OP_PNM_GET_TENANT 0xC006u

/* ---- Command Effects Log effect bits (Linux cxlmem.h, CXL r3.2 Table 8-87) */
#define PNM_CEL_CONFIG_CHANGE_COLD_RESET (1u << 0)
#define PNM_CEL_CONFIG_CHANGE_IMMEDIATE (1u << 1)
#define PNM_CEL_DATA_CHANGE_IMMEDIATE (1u << 2)
#define PNM_CEL_POLICY_CHANGE_IMMEDIATE (1u << 3)
#define PNM_CEL_LOG_CHANGE_IMMEDIATE (1u << 4)
#define PNM_CEL_SECURITY_STATE_CHANGE (1u << 5)
#define PNM_CEL_BACKGROUND (1u << 6)
#define PNM_CEL_BGCMD_ABORT_SUPPORTED (1u << 7)

/* ---- payload sizes (bytes) -------------------------------------------------- */
#define PNM_MBOX_CAPACITY_UNIT_BYTES 0x10000000ull /* 256 MiB */
#define PNM_MBOX_MIN_PAYLOAD_BYTES 256u  /* smallest mailbox payload CXL allows */
#define PNM_MBOX_FW_REV_LEN 16u
#define PNM_MBOX_IDENTIFY_OUT_LEN 0x45u   /* r3.x size (see docs/FIRMWARE.md) */
#define PNM_MBOX_HEALTH_OUT_LEN 0x12u
#define PNM_MBOX_ALERT_GET_OUT_LEN 0x10u
#define PNM_MBOX_ALERT_SET_IN_LEN 0x0Cu
#define PNM_MBOX_TIMESTAMP_LEN 0x08u
#define PNM_MBOX_SUPPORTED_LOGS_OUT_LEN 0x1Cu
#define PNM_MBOX_GET_LOG_IN_LEN 0x18u
#define PNM_MBOX_CEL_ENTRY_LEN 4u
#define PNM_MBOX_FW_INFO_OUT_LEN 0x50u
#define PNM_MBOX_POISON_GET_IN_LEN 0x10u
#define PNM_MBOX_POISON_HDR_LEN 0x20u
#define PNM_MBOX_POISON_RECORD_LEN 0x10u
#define PNM_MBOX_POISON_INJECT_IN_LEN 0x08u
#define PNM_MBOX_POISON_CLEAR_IN_LEN 0x48u
#define PNM_MBOX_PNM_CAPS_OUT_LEN 0x20u
#define PNM_MBOX_PNM_CREATE_TENANT_IN_LEN 0x18u
#define PNM_MBOX_PNM_TENANT_ID_IN_LEN 0x04u /* Destroy Tenant, Get Tenant Info */
#define PNM_MBOX_PNM_CREATE_QUEUE_IN_LEN 0x18u
#define PNM_MBOX_PNM_CREATE_QUEUE_OUT_LEN 0x04u
#define PNM_MBOX_PNM_DESTROY_QUEUE_IN_LEN 0x04u
#define PNM_MBOX_PNM_PERF_OUT_LEN 0x80u
#define PNM_MBOX_PNM_TENANT_INFO_HDR_LEN 0x28u /* + 2 bytes per queue id */

/* Get Poison List output flags */
#define PNM_POISON_FLAG_MORE 0x01u
#define PNM_POISON_FLAG_OVERFLOW 0x02u
#define PNM_POISON_FLAG_SCANNING 0x04u

/* Alert bits (valid / enabled / actions) */
#define PNM_ALERT_LIFE_USED 0x01u
#define PNM_ALERT_OVER_TEMP 0x02u
#define PNM_ALERT_UNDER_TEMP 0x04u
#define PNM_ALERT_CORR_VOLATILE 0x08u
#define PNM_ALERT_CORR_PERSISTENT 0x10u
#define PNM_ALERT_ALL 0x1Fu

#define PNM_HEALTH_LIFE_NOT_IMPLEMENTED 0xFFu
#define PNM_HEALTH_TEMP_NOT_IMPLEMENTED ((int16_t)-1) /* 0xFFFF on the wire */

/* PNM capability constants */
#define PNM_PRECISION_BF16 0x01u
#define PNM_PRECISION_INT8 0x02u
#define PNM_CAPS_LAYOUT_VERSION 1u
#define PNM_PERF_LAYOUT_VERSION 1u

/* ---- device state the commands report / change ------------------------------ */

/* Get Health Info values, set by the platform. The additional-status byte
 * is derived from these and the alert configuration. */
struct pnm_health {
  uint8_t health_status; /* bit 0 maintenance needed, 1 performance degraded, 2 replace */
  uint8_t media_status;  /* 0 normal, 1 not ready, ... (CXL) */
  uint8_t life_used_pct; /* PNM_HEALTH_LIFE_NOT_IMPLEMENTED if unknown */
  int16_t temperature_c; /* two's complement; PNM_HEALTH_TEMP_NOT_IMPLEMENTED if unknown */
  uint32_t dirty_shutdowns;
  uint32_t corrected_volatile_errors;
  uint32_t corrected_persistent_errors;
};

/* Alert configuration. Critical thresholds are device properties (set by
 * the platform); warning thresholds and enables come from Set Alert
 * Configuration. Temperatures in degrees C, two's complement. */
struct pnm_alert_config {
  uint8_t valid_alerts;   /* PNM_ALERT_*: programmable warnings supported */
  uint8_t enabled_alerts; /* PNM_ALERT_*: programmable warnings enabled */
  uint8_t life_used_crit;
  uint8_t life_used_warn;
  int16_t over_temp_crit;
  int16_t under_temp_crit;
  int16_t over_temp_warn;
  int16_t under_temp_warn;
  uint16_t corr_volatile_warn;
  uint16_t corr_persistent_warn;
};

/* Engine description reported by Get PNM Capabilities. */
struct pnm_engine_caps {
  uint16_t job_desc_version; /* job descriptor format version */
  uint16_t lanes;            /* dot-product lanes */
  uint8_t engines;           /* attention engines */
  uint8_t precisions;        /* PNM_PRECISION_* */
};

/* Energy classes of Get Performance Counters, in this order. */
enum pnm_energy_class {
  PNM_ENERGY_DRAM = 0,
  PNM_ENERGY_LINK = 1,     /* CXL link and I/O */
  PNM_ENERGY_DATAPATH = 2, /* dot-product / top-k / softmax */
  PNM_ENERGY_SRAM = 3,     /* on-device buffers */
  PNM_ENERGY_CORE = 4,     /* controller core */
  PNM_ENERGY_OTHER = 5,
  PNM_ENERGY_CLASSES = 6
};

/* Counters the platform keeps current; Get Performance Counters reads them. */
struct pnm_perf_counters {
  uint64_t jobs_completed;
  uint64_t jobs_failed;
  uint64_t engine_busy_cycles;
  uint64_t dram_bytes_read;
  uint64_t dram_bytes_written;
  uint64_t link_bytes_rx; /* host -> device */
  uint64_t link_bytes_tx; /* device -> host */
  uint64_t instructions_retired;
  uint64_t energy_pj[PNM_ENERGY_CLASSES];
};

/* Platform hooks. All optional. */
typedef uint64_t (*pnm_mbox_clock_fn)(void* user); /* device time, ns, monotonic */
/* Writes 64 bytes at a 64 B aligned DPA (Clear Poison's replacement data);
 * returns 0 on success. */
typedef int (*pnm_mbox_write_line_fn)(void* user, uint64_t dpa, const uint8_t* data64);

struct pnm_mbox_config {
  const char* fw_revision;     /* ASCII, at most 16 characters used */
  uint64_t volatile_bytes;     /* multiples of 256 MiB */
  uint64_t persistent_bytes;   /* multiples of 256 MiB (0 for this device) */
  uint16_t event_log_size[4];  /* info, warning, failure, fatal (records) */
  uint16_t inject_poison_limit; /* 0 = limited only by the list size */
  struct pnm_engine_caps engine;
  pnm_mbox_clock_fn now_ns; /* NULL: the ctx->now_ns_value field is used */
  void* clock_user;
  pnm_mbox_write_line_fn write_line; /* NULL: Clear Poison writes nothing */
  void* media_user;
};

struct pnm_poison_cursor { /* Get Poison List continuation ("more records") */
  bool active;
  uint64_t start;
  uint64_t units;
  uint32_t generation;
  uint32_t next; /* index among the matching records */
};

struct pnm_mbox_ctx {
  /* identity */
  char fw_revision[PNM_MBOX_FW_REV_LEN]; /* NUL padded, not terminated */
  uint64_t volatile_bytes;
  uint64_t persistent_bytes;
  uint64_t partition_align_bytes; /* 0: not partitionable */
  uint16_t event_log_size[4];
  uint32_t lsa_bytes; /* 0: no label storage area */
  uint16_t inject_poison_limit;
  uint8_t poison_caps;
  uint8_t qos_caps;
  struct pnm_engine_caps engine;
  /* time */
  pnm_mbox_clock_fn now_ns;
  void* clock_user;
  uint64_t now_ns_value; /* used when now_ns is NULL: update before each call */
  bool timestamp_set;
  uint64_t timestamp_host;   /* value of the last Set Timestamp */
  uint64_t timestamp_set_at; /* device time (ns) when it was set */
  /* health, alerts, poison */
  struct pnm_health health;
  struct pnm_alert_config alerts;
  struct pnm_poison_list poison;
  struct pnm_poison_cursor poison_cursor;
  pnm_mbox_write_line_fn write_line;
  void* media_user;
  /* near-memory compute */
  struct pnm_tenants tenants;
  struct pnm_perf_counters perf;
  /* set by the caller while a background operation runs: every command
   * except the read-only queries then returns Busy */
  bool busy;
};

/* ---- API ------------------------------------------------------------------------ */

/* Resets the whole context from cfg. Returns 0, or -1 if a capacity is not
 * a multiple of 256 MiB or their sum overflows. Health starts "not
 * implemented"; alert criticals get defaults the platform may overwrite. */
int pnm_mbox_init(struct pnm_mbox_ctx* ctx, const struct pnm_mbox_config* cfg);

/* Executes one command. `in` holds in_len bytes (may be NULL if 0); at most
 * out_cap bytes are written to `out` and *out_len receives the output
 * length (0 on any error). Returns the CXL return code. */
uint16_t pnm_mbox_execute(struct pnm_mbox_ctx* ctx, uint16_t opcode, const uint8_t* in,
                          uint32_t in_len, uint8_t* out, uint32_t out_cap, uint32_t* out_len);

/* Spec name of a return code ("Unknown" past the table). */
const char* pnm_mbox_rc_name(uint16_t rc);
/* Name of an opcode: every opcode in the CXL tables and the vendor PNM
 * ones, implemented or not ("Unknown" otherwise). */
const char* pnm_mbox_opcode_name(uint16_t opcode);
bool pnm_mbox_supported(uint16_t opcode);
/* Command Effects Log: entry count and effects of one opcode (0 if unsupported). */
uint32_t pnm_mbox_cel_entries(void);
uint16_t pnm_mbox_effects(uint16_t opcode);

uint64_t pnm_mbox_now_ns(const struct pnm_mbox_ctx* ctx);
/* Get Timestamp's value: last set value + device time elapsed since, or 0
 * if never set. Also stamps poison-list overflow. */
uint64_t pnm_mbox_timestamp(const struct pnm_mbox_ctx* ctx);
uint64_t pnm_mbox_total_bytes(const struct pnm_mbox_ctx* ctx);

/* ---- little-endian packing ---------------------------------------------------- */
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

#ifdef __cplusplus
}
#endif

#endif /* PNM_MAILBOX_H */
