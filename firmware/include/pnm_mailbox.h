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
 * Opcodes, return codes and payload layouts are the wire format shared with
 * the host: pnmvp/hw/mailbox.h. This header is the firmware's side only:
 * the device state and the command execution API.
 *
 * Portable C11, fixed-size state, no allocation: built into the firmware
 * and natively (pnm_fw_native) for the host tests in tests/firmware.
 */
#ifndef PNM_MAILBOX_H
#define PNM_MAILBOX_H

#include <stdbool.h>
#include <stdint.h>

#include <pnmvp/hw/mailbox.h>

#include "pnm_poison.h"
#include "pnm_tenants.h"

#ifdef __cplusplus
extern "C" {
#endif

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

bool pnm_mbox_supported(uint16_t opcode);
/* Command Effects Log: entry count and effects of one opcode (0 if unsupported). */
uint32_t pnm_mbox_cel_entries(void);
uint16_t pnm_mbox_effects(uint16_t opcode);

uint64_t pnm_mbox_now_ns(const struct pnm_mbox_ctx* ctx);
/* Get Timestamp's value: last set value + device time elapsed since, or 0
 * if never set. Also stamps poison-list overflow. */
uint64_t pnm_mbox_timestamp(const struct pnm_mbox_ctx* ctx);
uint64_t pnm_mbox_total_bytes(const struct pnm_mbox_ctx* ctx);

#ifdef __cplusplus
}
#endif

#endif /* PNM_MAILBOX_H */
