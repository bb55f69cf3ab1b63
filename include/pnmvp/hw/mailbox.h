/*
 * pnmvp/hw/mailbox.h: what travels through the device's CXL primary
 * mailbox: return codes, opcodes, Command Effects Log bits, payload sizes,
 * the field values and the byte layouts of the vendor PNM command payloads,
 * and the spec names of codes and opcodes. The firmware executes these
 * commands (firmware/include/pnm_mailbox.h); the host driver and tools
 * (sw/) build and decode them.
 *
 * Standard commands: CXL r3.1 section 8.2.9 (return codes Table 8-34,
 * command sets and payloads) as Linux (drivers/cxl/cxlmem.h) and QEMU
 * (hw/cxl/cxl-mailbox-utils.c) implement it; the mailbox registers
 * themselves are CXL 2.0 section 8.2.8.4. The vendor-specific PNM commands
 * (0xC000..0xC006) are this project's own. docs/FIRMWARE.md has every
 * layout byte by byte. All multi-byte fields little-endian, packed with
 * pnm_le*_put/get (pnmvp/hw/wire.h), never through struct overlays.
 */
#ifndef PNMVP_HW_MAILBOX_H
#define PNMVP_HW_MAILBOX_H

#include "pnmvp/hw/jobs.h"
#include "pnmvp/hw/tenants.h"
#include "pnmvp/hw/wire.h"

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

/* ---- opcodes the firmware implements ------------------------------------- */
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

/* ---- poison (Get Poison List / Inject / Clear) ------------------------------- */
#define PNM_POISON_LINE_BYTES 64u /* granularity; DPAs are 64 B aligned */
/* This device's poison list size (entries = runs of lines): Get Poison List
 * never reports more records for one range. QEMU's limit is the same. */
#define PNM_POISON_MAX 256u
/* Get Poison List output flags */
#define PNM_POISON_FLAG_MORE 0x01u
#define PNM_POISON_FLAG_OVERFLOW 0x02u
#define PNM_POISON_FLAG_SCANNING 0x04u
/* Record source, bits 2:0 of the record address (CXL; Linux cxlmem.h,
 * QEMU cxl_device.h). */
enum pnm_poison_source {
  PNM_POISON_SRC_UNKNOWN = 0,
  PNM_POISON_SRC_EXTERNAL = 1,
  PNM_POISON_SRC_INTERNAL = 2,
  PNM_POISON_SRC_INJECTED = 3,
  PNM_POISON_SRC_VENDOR = 7
};

/* ---- health and alerts -------------------------------------------------------- */
/* Alert bits (valid / enabled / actions) */
#define PNM_ALERT_LIFE_USED 0x01u
#define PNM_ALERT_OVER_TEMP 0x02u
#define PNM_ALERT_UNDER_TEMP 0x04u
#define PNM_ALERT_CORR_VOLATILE 0x08u
#define PNM_ALERT_CORR_PERSISTENT 0x10u
#define PNM_ALERT_ALL 0x1Fu

#define PNM_HEALTH_LIFE_NOT_IMPLEMENTED 0xFFu
#define PNM_HEALTH_TEMP_NOT_IMPLEMENTED ((int16_t)-1) /* 0xFFFF on the wire */

/* ---- vendor PNM payloads (docs/FIRMWARE.md "Vendor PNM commands") ------------- */
#define PNM_PRECISION_BF16 0x01u
#define PNM_PRECISION_INT8 0x02u
#define PNM_CAPS_LAYOUT_VERSION 1u
#define PNM_PERF_LAYOUT_VERSION 1u

/* Get PNM Capabilities output */
#define PNM_CAPS_VERSION_OFF 0x00         /* u16 PNM_CAPS_LAYOUT_VERSION */
#define PNM_CAPS_DESC_VERSION_OFF 0x02    /* u16 job descriptor version */
#define PNM_CAPS_LANES_OFF 0x04           /* u16 dot-product lanes per engine */
#define PNM_CAPS_ENGINES_OFF 0x06         /* u8 */
#define PNM_CAPS_PRECISIONS_OFF 0x07      /* u8 PNM_PRECISION_* */
#define PNM_CAPS_MAX_TENANTS_OFF 0x08     /* u16 */
#define PNM_CAPS_MAX_QUEUES_OFF 0x0A      /* u16, all tenants together */
#define PNM_CAPS_MIN_ENTRIES_OFF 0x0C     /* u16 */
#define PNM_CAPS_MAX_ENTRIES_OFF 0x0E     /* u16 */
#define PNM_CAPS_SQE_LOG2_OFF 0x10        /* u8 log2 SQ entry bytes */
#define PNM_CAPS_CQE_LOG2_OFF 0x11        /* u8 log2 CQ entry bytes */
#define PNM_CAPS_GRANULE_LOG2_OFF 0x12    /* u8 log2 tenant granule bytes */
#define PNM_CAPS_RING_ALIGN_LOG2_OFF 0x13 /* u8 log2 ring base alignment */
/* Create Tenant input; Destroy Tenant and Get Tenant Info take the id alone */
#define PNM_TENANT_IN_ID_OFF 0x00     /* u16 */
#define PNM_TENANT_IN_BASE_OFF 0x08   /* u64 DPA */
#define PNM_TENANT_IN_LENGTH_OFF 0x10 /* u64 bytes */
/* Create Queue Pair input and output; Destroy Queue Pair takes the id alone */
#define PNM_QUEUE_IN_TENANT_OFF 0x00  /* u16 */
#define PNM_QUEUE_IN_ENTRIES_OFF 0x02 /* u16 */
#define PNM_QUEUE_IN_SQ_BASE_OFF 0x08 /* u64 DPA */
#define PNM_QUEUE_IN_CQ_BASE_OFF 0x10 /* u64 DPA */
#define PNM_QUEUE_ID_OFF 0x00         /* u16: Create output, Destroy input */
/* Get Performance Counters output */
#define PNM_PERF_VERSION_OFF 0x00       /* u16 PNM_PERF_LAYOUT_VERSION */
#define PNM_PERF_CLASSES_OFF 0x02       /* u16 PNM_ENERGY_CLASSES */
#define PNM_PERF_DEVICE_NS_OFF 0x08     /* u64 then nine u64 counters ... */
#define PNM_PERF_JOBS_DONE_OFF 0x10
#define PNM_PERF_JOBS_FAILED_OFF 0x18
#define PNM_PERF_BUSY_CYCLES_OFF 0x20
#define PNM_PERF_DRAM_RD_OFF 0x28
#define PNM_PERF_DRAM_WR_OFF 0x30
#define PNM_PERF_LINK_RX_OFF 0x38       /* host -> device */
#define PNM_PERF_LINK_TX_OFF 0x40       /* device -> host */
#define PNM_PERF_INSTRUCTIONS_OFF 0x48
#define PNM_PERF_ENERGY_OFF 0x50        /* u64 pJ per class, enum pnm_energy_class order */
/* Get Tenant Info output */
#define PNM_TINFO_ID_OFF 0x00          /* u16 */
#define PNM_TINFO_QUEUES_OFF 0x02      /* u16 queue count q */
#define PNM_TINFO_BASE_OFF 0x08        /* u64 DPA */
#define PNM_TINFO_LENGTH_OFF 0x10      /* u64 */
#define PNM_TINFO_JOBS_DONE_OFF 0x18   /* u64 */
#define PNM_TINFO_JOBS_FAILED_OFF 0x20 /* u64 */
/* then q u16 queue ids from PNM_MBOX_PNM_TENANT_INFO_HDR_LEN, ascending */

/* Energy classes of Get Performance Counters, in wire order. */
enum pnm_energy_class {
  PNM_ENERGY_DRAM = 0,
  PNM_ENERGY_LINK = 1,     /* CXL link and I/O */
  PNM_ENERGY_DATAPATH = 2, /* dot-product / top-k / softmax */
  PNM_ENERGY_SRAM = 3,     /* on-device buffers */
  PNM_ENERGY_CORE = 4,     /* controller core */
  PNM_ENERGY_OTHER = 5,
  PNM_ENERGY_CLASSES = 6
};

PNM_HW_STATIC_ASSERT(PNM_CAPS_RING_ALIGN_LOG2_OFF < PNM_MBOX_PNM_CAPS_OUT_LEN, "caps payload");
PNM_HW_STATIC_ASSERT(PNM_TENANT_IN_LENGTH_OFF + 8 == PNM_MBOX_PNM_CREATE_TENANT_IN_LEN,
                     "create tenant payload");
PNM_HW_STATIC_ASSERT(PNM_QUEUE_IN_CQ_BASE_OFF + 8 == PNM_MBOX_PNM_CREATE_QUEUE_IN_LEN,
                     "create queue payload");
PNM_HW_STATIC_ASSERT(PNM_PERF_ENERGY_OFF + 8 * PNM_ENERGY_CLASSES <= PNM_MBOX_PNM_PERF_OUT_LEN,
                     "perf payload");
PNM_HW_STATIC_ASSERT(PNM_TINFO_JOBS_FAILED_OFF + 8 == PNM_MBOX_PNM_TENANT_INFO_HDR_LEN,
                     "tenant info header");
/* Every queue id of a tenant fits the smallest mailbox payload. */
PNM_HW_STATIC_ASSERT(PNM_MBOX_PNM_TENANT_INFO_HDR_LEN + 2 * PNM_QUEUES_MAX <=
                         PNM_MBOX_MIN_PAYLOAD_BYTES,
                     "tenant info fits");

/* ---- names (for logs and tools) ------------------------------------------------- */

/* Spec name of a return code ("Unknown" past the table). */
static inline const char* pnm_mbox_rc_name(uint16_t rc) {
  static const char* const names[] = {
      "Success",
      "Background Command Started",
      "Invalid Input",
      "Unsupported",
      "Internal Error",
      "Retry Required",
      "Busy",
      "Media Disabled",
      "FW Transfer in Progress",
      "FW Transfer Out of Order",
      "FW Verification Failed",
      "Invalid Slot",
      "Activation Failed, FW Rolled Back",
      "Activation Failed, Cold Reset Required",
      "Invalid Handle",
      "Invalid Physical Address",
      "Inject Poison Limit Reached",
      "Permanent Media Failure",
      "Aborted",
      "Invalid Security State",
      "Incorrect Passphrase",
      "Unsupported Mailbox or CCI",
      "Invalid Payload Length",
      "Invalid Log",
      "Interrupted",
      "Unsupported Feature Version",
      "Unsupported Feature Selection Value",
      "Feature Transfer in Progress",
      "Feature Transfer Out of Order",
      "Resources Exhausted",
      "Invalid Extent List",
      "Transfer Out of Order",
      "Request Abort Not Supported",
  };
  return rc < sizeof names / sizeof names[0] ? names[rc] : "Unknown";
}

/* Name of an opcode: every opcode in the CXL command tables and the vendor
 * PNM ones, implemented or not ("Unknown" otherwise). */
static inline const char* pnm_mbox_opcode_name(uint16_t opcode) {
  static const struct {
    uint16_t opcode;
    const char* name;
  } names[] = {
      {0x0001, "Identify"},
      {0x0002, "Background Operation Status"},
      {0x0003, "Get Response Message Limit"},
      {0x0004, "Set Response Message Limit"},
      {0x0005, "Request Abort Background Operation"},
      {0x0100, "Get Event Records"},
      {0x0101, "Clear Event Records"},
      {0x0102, "Get Event Interrupt Policy"},
      {0x0103, "Set Event Interrupt Policy"},
      {0x0200, "Get FW Info"},
      {0x0201, "Transfer FW"},
      {0x0202, "Activate FW"},
      {0x0300, "Get Timestamp"},
      {0x0301, "Set Timestamp"},
      {0x0400, "Get Supported Logs"},
      {0x0401, "Get Log"},
      {0x0402, "Get Log Capabilities"},
      {0x0403, "Clear Log"},
      {0x0405, "Get Supported Logs Sub-List"},
      {0x0500, "Get Supported Features"},
      {0x0501, "Get Feature"},
      {0x0502, "Set Feature"},
      {0x0600, "Perform Maintenance"},
      {0x4000, "Identify Memory Device"},
      {0x4100, "Get Partition Info"},
      {0x4101, "Set Partition Info"},
      {0x4102, "Get LSA"},
      {0x4103, "Set LSA"},
      {0x4200, "Get Health Info"},
      {0x4201, "Get Alert Configuration"},
      {0x4202, "Set Alert Configuration"},
      {0x4203, "Get Shutdown State"},
      {0x4204, "Set Shutdown State"},
      {0x4300, "Get Poison List"},
      {0x4301, "Inject Poison"},
      {0x4302, "Clear Poison"},
      {0x4303, "Get Scan Media Capabilities"},
      {0x4304, "Scan Media"},
      {0x4305, "Get Scan Media Results"},
      {0x4400, "Sanitize"},
      {0x4401, "Secure Erase"},
      {0x4402, "Media Operations"},
      {0x4500, "Get Security State"},
      {0x4501, "Set Passphrase"},
      {0x4502, "Disable Passphrase"},
      {0x4503, "Unlock"},
      {0x4504, "Freeze Security State"},
      {0x4505, "Passphrase Secure Erase"},
      {0x4800, "Get Dynamic Capacity Configuration"},
      {0x4801, "Get Dynamic Capacity Extent List"},
      {0x4802, "Add Dynamic Capacity Response"},
      {0x4803, "Release Dynamic Capacity"},
      {PNM_MBOX_OP_PNM_GET_CAPS, "PNM Get Capabilities"},
      {PNM_MBOX_OP_PNM_CREATE_TENANT, "PNM Create Tenant"},
      {PNM_MBOX_OP_PNM_DESTROY_TENANT, "PNM Destroy Tenant"},
      {PNM_MBOX_OP_PNM_CREATE_QUEUE, "PNM Create Queue Pair"},
      {PNM_MBOX_OP_PNM_DESTROY_QUEUE, "PNM Destroy Queue Pair"},
      {PNM_MBOX_OP_PNM_GET_PERF, "PNM Get Performance Counters"},
      {PNM_MBOX_OP_PNM_GET_TENANT, "PNM Get Tenant Info"},
  };
  for (unsigned i = 0; i < sizeof names / sizeof names[0]; ++i) {
    if (names[i].opcode == opcode) {
      return names[i].name;
    }
  }
  return "Unknown";
}

#endif /* PNMVP_HW_MAILBOX_H */
