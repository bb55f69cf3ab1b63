// Output-payload decoders and JSON result lines (conventions in mbox_decode.h). Offsets follow
// pnmvp/hw/mailbox.h and docs/FIRMWARE.md; every read is bounds-checked, because the payload
// comes from a device (or a test) that may send fewer bytes than the layout has.
#include "mbox/mbox_decode.h"

#include <array>
#include <cstddef>
#include <optional>

#include <fmt/format.h>

#include <pnmvp/hw/mailbox.h>

namespace pnm::sw::mbox {

namespace {

// Built in insertion order, so a result line lists fields in payload order; decode_output()
// hands out the usual nlohmann::json.
using json = nlohmann::ordered_json;
using Bytes = std::vector<uint8_t>;

constexpr std::size_t kCelEntryLen = PNM_MBOX_CEL_ENTRY_LEN;
const std::string kCelUuid = "0da9c0b5-bf41-4b78-8f79-96b1623b3f17"; // REFERENCE C.4

// Names of the bits of a flag field, by bit number; nullptr = reserved.
template <std::size_t N> json bit_names(uint64_t v, const std::array<const char*, N>& names) {
  json list = json::array();
  for (unsigned b = 0; b < 64; ++b) {
    if ((v >> b) & 1u) {
      list.push_back(b < N && names[b] ? std::string(names[b]) : fmt::format("bit{}", b));
    }
  }
  return list;
}

template <std::size_t N> const char* enum_name(uint64_t v, const std::array<const char*, N>& names) {
  return v < N && names[v] ? names[v] : "reserved";
}

// Bytes as text: ASCII up to the first NUL (fields are NUL padded); anything else as \xNN so a
// broken device cannot produce invalid UTF-8 in the JSON.
std::string ascii_text(const uint8_t* p, std::size_t n) {
  std::string s;
  for (std::size_t i = 0; i < n && p[i] != 0; ++i) {
    s += (p[i] >= 0x20 && p[i] < 0x7F) ? std::string(1, char(p[i])) : fmt::format("\\x{:02x}", p[i]);
  }
  return s;
}

// UUID in its usual text form; the 16 bytes are in UUID (text) order, as Linux uuid_t and the
// firmware store it.
std::string uuid_text(const uint8_t* p) {
  std::string s;
  for (unsigned i = 0; i < 16; ++i) {
    if (i == 4 || i == 6 || i == 8 || i == 10) {
      s += '-';
    }
    s += fmt::format("{:02x}", p[i]);
  }
  return s;
}

const char* log_name(const std::string& uuid) {
  if (uuid == kCelUuid) {
    return "Command Effects Log";
  }
  if (uuid == "5e1819d9-11a9-400c-811f-d60719403d86") {
    return "Vendor Debug Log";
  }
  return nullptr;
}

// Reads the fields of one payload into `j`. A field that does not fit is left out and marks the
// result truncated; nothing is ever read past the end.
class Fields {
public:
  Fields(const Bytes& b, json& j) : b_(b), j_(j) {}

  const Bytes& bytes() const { return b_; }
  std::size_t size() const { return b_.size(); }
  bool fits(std::size_t off, std::size_t n) const { return off <= b_.size() && n <= b_.size() - off; }
  const uint8_t* at(std::size_t off) const { return b_.data() + off; }

  std::optional<uint64_t> get(std::size_t off, unsigned n) {
    if (!fits(off, n)) {
      truncated_ = true;
      return std::nullopt;
    }
    uint64_t v = 0;
    for (unsigned i = 0; i < n; ++i) {
      v |= uint64_t(b_[off + i]) << (8 * i);
    }
    return v;
  }
  // Unsigned little-endian field of n bytes.
  std::optional<uint64_t> u(const char* key, std::size_t off, unsigned n) {
    const auto v = get(off, n);
    if (v) {
      j_[key] = *v;
    }
    return v;
  }
  // Two's complement 16-bit field (temperatures).
  std::optional<int16_t> s16(const char* key, std::size_t off) {
    const auto v = get(off, 2);
    if (!v) {
      return std::nullopt;
    }
    const auto s = int16_t(uint16_t(*v));
    j_[key] = s;
    return s;
  }
  template <std::size_t N>
  std::optional<uint64_t> flags(const char* key, std::size_t off, unsigned n,
                                const std::array<const char*, N>& names) {
    const auto v = u(key, off, n);
    if (v) {
      j_[std::string(key) + "_bits"] = bit_names(*v, names);
    }
    return v;
  }
  template <std::size_t N>
  std::optional<uint64_t> enumerated(const char* key, std::size_t off, unsigned n,
                                     const std::array<const char*, N>& names) {
    const auto v = u(key, off, n);
    if (v) {
      j_[std::string(key) + "_name"] = enum_name(*v, names);
    }
    return v;
  }
  void ascii(const char* key, std::size_t off, std::size_t n) {
    if (!fits(off, n)) {
      truncated_ = true;
      return;
    }
    j_[key] = ascii_text(at(off), n);
  }
  // A capacity in 256 MiB units: X_256mib and X_bytes (null if it would not fit in 64 bits).
  void capacity(const std::string& key, std::size_t off) {
    const auto v = get(off, 8);
    if (!v) {
      return;
    }
    j_[key + "_256mib"] = *v;
    j_[key + "_bytes"] = *v > (UINT64_MAX >> 28) ? json(nullptr) : json(*v << 28);
  }
  void log2_size(const std::string& key, std::size_t off) {
    const auto v = u((key + "_log2").c_str(), off, 1);
    if (v) {
      j_[key + "_bytes"] = *v < 64 ? json(uint64_t{1} << *v) : json(nullptr);
    }
  }

  void mark_truncated() { truncated_ = true; }
  // The layout is `len` bytes: shorter is truncated, longer leaves trailing bytes.
  void finish(std::size_t len) {
    if (truncated_ || b_.size() < len) {
      j_["truncated"] = true;
    } else if (b_.size() > len) {
      j_["trailing_bytes"] = b_.size() - len;
    }
  }

private:
  const Bytes& b_;
  json& j_;
  bool truncated_ = false;
};

// ---- bit and value names ---------------------------------------------------------------------

// CEL command effects (CXL r3.2 Table 8-87 as Linux cxlmem.h defines the bits).
const std::array<const char*, 8> kEffectBits = {
    "configuration_change_after_cold_reset", "immediate_configuration_change",
    "immediate_data_change",                 "immediate_policy_change",
    "immediate_log_change",                  "security_state_change",
    "background_operation",                  "background_operation_abort_supported"};
const std::array<const char*, 3> kHealthStatusBits = {
    "maintenance_needed", "performance_degraded", "hardware_replacement_needed"};
const std::array<const char*, 10> kMediaStatus = {
    "normal",
    "not_ready",
    "write_persistency_lost",
    "all_data_lost",
    "write_persistency_loss_on_power_loss",
    "write_persistency_loss_on_shutdown",
    "write_persistency_loss_imminent",
    "all_data_loss_on_power_loss",
    "all_data_loss_on_shutdown",
    "all_data_loss_imminent"};
const std::array<const char*, 3> kLevel = {"normal", "warning", "critical"};
const std::array<const char*, 5> kAlertBits = {
    "life_used", "device_over_temperature", "device_under_temperature",
    "corrected_volatile_mem_error", "corrected_persistent_mem_error"};
const std::array<const char*, 3> kPoisonFlagBits = {
    "more_media_error_records", "poison_list_overflow", "scan_media_in_progress"};
const std::array<const char*, 8> kPoisonSource = {
    "unknown", "external", "internal", "injected", nullptr, nullptr, nullptr, "vendor"};
const std::array<const char*, 1> kFwActivationBits = {"online_fw_activation"};
const std::array<const char*, 2> kPrecisionBits = {"bf16", "int8"};
const std::array<const char*, PNM_ENERGY_CLASSES> kEnergyClasses = {
    "dram", "link", "datapath", "sram", "controller_core", "other"};

// ---- standard commands -----------------------------------------------------------------------

void get_fw_info(Fields& f, json& j) {
  f.u("fw_slots_supported", 0x00, 1);
  if (const auto si = f.u("fw_slot_info", 0x01, 1)) {
    j["active_fw_slot"] = *si & 0x7u;
    j["staged_fw_slot"] = (*si >> 3) & 0x7u;
  }
  f.flags("fw_activation_capabilities", 0x02, 1, kFwActivationBits);
  for (unsigned s = 1; s <= 4; ++s) {
    f.ascii(fmt::format("slot_{}_fw_revision", s).c_str(), 0x10u * s, PNM_MBOX_FW_REV_LEN);
  }
  f.finish(PNM_MBOX_FW_INFO_OUT_LEN);
}

void get_timestamp(Fields& f, json&) {
  f.u("timestamp", 0x00, 8);
  f.finish(PNM_MBOX_TIMESTAMP_LEN);
}

void get_supported_logs(Fields& f, json& j) {
  constexpr std::size_t kEntryLen = 20;
  const auto n = f.u("number_of_supported_log_entries", 0x00, 2);
  json entries = json::array();
  for (uint64_t i = 0; n && i < *n; ++i) {
    const std::size_t off = 8 + kEntryLen * i;
    if (!f.fits(off, kEntryLen)) {
      f.mark_truncated();
      break;
    }
    json e;
    const std::string uuid = uuid_text(f.at(off));
    e["log_identifier"] = uuid;
    if (const char* name = log_name(uuid)) {
      e["log_name"] = name;
    }
    e["log_size"] = *f.get(off + 16, 4);
    entries.push_back(std::move(e));
  }
  j["supported_log_entries"] = std::move(entries);
  f.finish(8 + kEntryLen * (n ? *n : 0));
}

// Get Log's output is raw log data: which log, and from which offset, is in the request.
void get_log(Fields& f, json& j, const Bytes& in) {
  const bool have_uuid = in.size() >= 16;
  const bool have_offset = in.size() >= PNM_MBOX_GET_LOG_IN_LEN;
  std::string uuid;
  if (have_uuid) {
    uuid = uuid_text(in.data());
    j["log_identifier"] = uuid;
    if (const char* name = log_name(uuid)) {
      j["log_name"] = name;
    }
  }
  uint32_t offset = 0;
  if (have_offset) {
    offset = pnm_le32_get(in.data() + 0x10);
    j["offset"] = offset;
  }
  const bool cel = have_offset && uuid == kCelUuid;
  if (!cel || offset % kCelEntryLen != 0) {
    // unknown log, a request we cannot see, or a CEL read starting inside an entry
    j["log_data_hex"] = hex_string(f.bytes());
    return;
  }
  json entries = json::array();
  for (std::size_t off = 0; f.fits(off, kCelEntryLen); off += kCelEntryLen) {
    const auto op = uint16_t(*f.get(off, 2));
    const auto effect = *f.get(off + 2, 2);
    entries.push_back({{"opcode", opcode_string(op)},
                       {"opcode_name", pnm_mbox_opcode_name(op)},
                       {"command_effect", effect},
                       {"command_effect_bits", bit_names(effect, kEffectBits)}});
  }
  j["cel_entries"] = std::move(entries);
  if (f.size() % kCelEntryLen != 0) {
    f.mark_truncated(); // a length that ends inside an entry: the partial entry is left out
  }
  f.finish(f.size());
}

void identify(Fields& f, json&) {
  f.ascii("fw_revision", 0x00, PNM_MBOX_FW_REV_LEN);
  f.capacity("total_capacity", 0x10);
  f.capacity("volatile_only_capacity", 0x18);
  f.capacity("persistent_only_capacity", 0x20);
  f.capacity("partition_alignment", 0x28);
  f.u("info_event_log_size", 0x30, 2);
  f.u("warning_event_log_size", 0x32, 2);
  f.u("failure_event_log_size", 0x34, 2);
  f.u("fatal_event_log_size", 0x36, 2);
  f.u("lsa_size", 0x38, 4);
  f.u("poison_list_max_mer", 0x3C, 3);
  f.u("inject_poison_limit", 0x3F, 2);
  f.u("poison_handling_capabilities", 0x41, 1);
  f.u("qos_telemetry_capabilities", 0x42, 1);
  // CXL 2.0 devices (and Linux) stop at 0x43; r3.x adds the dynamic capacity event log size
  constexpr std::size_t kR2Len = 0x43;
  if (f.size() > kR2Len) {
    f.u("dynamic_capacity_event_log_size", 0x43, 2);
  }
  f.finish(f.size() > kR2Len ? PNM_MBOX_IDENTIFY_OUT_LEN : kR2Len);
}

void get_health_info(Fields& f, json& j) {
  f.flags("health_status", 0x00, 1, kHealthStatusBits);
  f.enumerated("media_status", 0x01, 1, kMediaStatus);
  if (const auto a = f.u("additional_status", 0x02, 1)) {
    j["life_used_status"] = enum_name(*a & 0x3u, kLevel);
    j["device_temperature_status"] = enum_name((*a >> 2) & 0x3u, kLevel);
    j["corrected_volatile_error_count_status"] = (*a & 0x10u) ? "warning" : "normal";
    j["corrected_persistent_error_count_status"] = (*a & 0x20u) ? "warning" : "normal";
  }
  // "not implemented" encodings become null rather than 255 % / -1 degrees C
  if (const auto lu = f.get(0x03, 1)) {
    j["life_used"] = *lu == PNM_HEALTH_LIFE_NOT_IMPLEMENTED ? json(nullptr) : json(*lu);
  }
  if (const auto t = f.get(0x04, 2)) {
    j["device_temperature"] = *t == 0xFFFFu ? json(nullptr) : json(int16_t(uint16_t(*t)));
  }
  f.u("dirty_shutdown_count", 0x06, 4);
  f.u("corrected_volatile_error_count", 0x0A, 4);
  f.u("corrected_persistent_error_count", 0x0E, 4);
  f.finish(PNM_MBOX_HEALTH_OUT_LEN);
}

void get_alert_config(Fields& f, json&) {
  f.flags("valid_alerts", 0x00, 1, kAlertBits);
  f.flags("programmable_alerts_enabled", 0x01, 1, kAlertBits);
  f.u("life_used_critical_alert_threshold", 0x02, 1);
  f.u("life_used_programmable_warning_threshold", 0x03, 1);
  f.s16("device_over_temperature_critical_alert_threshold", 0x04);
  f.s16("device_under_temperature_critical_alert_threshold", 0x06);
  f.s16("device_over_temperature_programmable_warning_threshold", 0x08);
  f.s16("device_under_temperature_programmable_warning_threshold", 0x0A);
  f.u("corrected_volatile_mem_error_programmable_warning_threshold", 0x0C, 2);
  f.u("corrected_persistent_mem_error_programmable_warning_threshold", 0x0E, 2);
  f.finish(PNM_MBOX_ALERT_GET_OUT_LEN);
}

void get_poison_list(Fields& f, json& j) {
  f.flags("poison_list_flags", 0x00, 1, kPoisonFlagBits);
  f.u("overflow_timestamp", 0x02, 8);
  const auto n = f.u("media_error_record_count", 0x0A, 2);
  json records = json::array();
  for (uint64_t i = 0; n && i < *n; ++i) {
    const std::size_t off = PNM_MBOX_POISON_HDR_LEN + PNM_MBOX_POISON_RECORD_LEN * i;
    if (!f.fits(off, PNM_MBOX_POISON_RECORD_LEN)) {
      f.mark_truncated();
      break;
    }
    const uint64_t addr = *f.get(off, 8);
    const uint64_t units = *f.get(off + 8, 4);
    records.push_back({{"media_error_address", addr},
                       {"dpa", addr & ~uint64_t{0x3F}},
                       {"error_source", addr & 0x7u},
                       {"error_source_name", enum_name(addr & 0x7u, kPoisonSource)},
                       {"media_error_length", units},
                       {"length_bytes", units * PNM_POISON_LINE_BYTES}}); // u32 * 64: no overflow
  }
  j["media_error_records"] = std::move(records);
  f.finish(PNM_MBOX_POISON_HDR_LEN + PNM_MBOX_POISON_RECORD_LEN * (n ? *n : 0));
}

// ---- vendor PNM commands (docs/FIRMWARE.md) -------------------------------------------------

void check_layout_version(json& j, uint16_t known) {
  if (j.contains("layout_version") && j["layout_version"] != known) {
    j["warning"] = fmt::format("layout version {} unknown: decoded as version {}",
                               j["layout_version"].get<uint64_t>(), known);
  }
}

void pnm_get_caps(Fields& f, json& j) {
  f.u("layout_version", PNM_CAPS_VERSION_OFF, 2);
  f.u("job_descriptor_version", PNM_CAPS_DESC_VERSION_OFF, 2);
  f.u("lanes_per_engine", PNM_CAPS_LANES_OFF, 2);
  f.u("engines", PNM_CAPS_ENGINES_OFF, 1);
  f.flags("precisions", PNM_CAPS_PRECISIONS_OFF, 1, kPrecisionBits);
  f.u("max_tenants", PNM_CAPS_MAX_TENANTS_OFF, 2);
  f.u("max_queue_pairs", PNM_CAPS_MAX_QUEUES_OFF, 2);
  f.u("min_queue_entries", PNM_CAPS_MIN_ENTRIES_OFF, 2);
  f.u("max_queue_entries", PNM_CAPS_MAX_ENTRIES_OFF, 2);
  f.log2_size("sq_entry_size", PNM_CAPS_SQE_LOG2_OFF);
  f.log2_size("cq_entry_size", PNM_CAPS_CQE_LOG2_OFF);
  f.log2_size("tenant_granule", PNM_CAPS_GRANULE_LOG2_OFF);
  f.log2_size("ring_base_alignment", PNM_CAPS_RING_ALIGN_LOG2_OFF);
  f.finish(PNM_MBOX_PNM_CAPS_OUT_LEN);
  check_layout_version(j, PNM_CAPS_LAYOUT_VERSION);
}

void pnm_create_queue(Fields& f, json&) {
  f.u("queue_id", PNM_QUEUE_ID_OFF, 2);
  f.finish(PNM_MBOX_PNM_CREATE_QUEUE_OUT_LEN);
}

void pnm_get_perf(Fields& f, json& j) {
  f.u("layout_version", PNM_PERF_VERSION_OFF, 2);
  f.u("energy_classes", PNM_PERF_CLASSES_OFF, 2);
  f.u("sample_time_ns", PNM_PERF_DEVICE_NS_OFF, 8);
  f.u("jobs_completed", PNM_PERF_JOBS_DONE_OFF, 8);
  f.u("jobs_failed", PNM_PERF_JOBS_FAILED_OFF, 8);
  f.u("engine_busy_cycles", PNM_PERF_BUSY_CYCLES_OFF, 8);
  f.u("dram_bytes_read", PNM_PERF_DRAM_RD_OFF, 8);
  f.u("dram_bytes_written", PNM_PERF_DRAM_WR_OFF, 8);
  f.u("link_bytes_host_to_device", PNM_PERF_LINK_RX_OFF, 8);
  f.u("link_bytes_device_to_host", PNM_PERF_LINK_TX_OFF, 8);
  f.u("instructions_retired", PNM_PERF_INSTRUCTIONS_OFF, 8);
  json energy = json::object();
  for (std::size_t c = 0; c < kEnergyClasses.size(); ++c) {
    if (const auto v = f.get(PNM_PERF_ENERGY_OFF + 8 * c, 8)) {
      energy[kEnergyClasses[c]] = *v;
    }
  }
  j["energy_pj"] = std::move(energy);
  f.finish(PNM_MBOX_PNM_PERF_OUT_LEN);
  check_layout_version(j, PNM_PERF_LAYOUT_VERSION);
}

void pnm_get_tenant(Fields& f, json& j) {
  f.u("tenant_id", PNM_TINFO_ID_OFF, 2);
  const auto q = f.u("queue_count", PNM_TINFO_QUEUES_OFF, 2);
  f.u("dpa_base", PNM_TINFO_BASE_OFF, 8);
  f.u("length_bytes", PNM_TINFO_LENGTH_OFF, 8);
  f.u("jobs_completed", PNM_TINFO_JOBS_DONE_OFF, 8);
  f.u("jobs_failed", PNM_TINFO_JOBS_FAILED_OFF, 8);
  json ids = json::array();
  for (uint64_t i = 0; q && i < *q; ++i) {
    const auto id = f.get(PNM_MBOX_PNM_TENANT_INFO_HDR_LEN + 2 * i, 2);
    if (!id) {
      break;
    }
    ids.push_back(*id);
  }
  j["queue_ids"] = std::move(ids);
  f.finish(PNM_MBOX_PNM_TENANT_INFO_HDR_LEN + 2 * (q ? *q : 0));
}

void no_output(Fields& f, json&) { f.finish(0); }

using Decoder = void (*)(Fields&, json&);

// Every command the firmware implements (Get Log is handled apart: it needs the request).
Decoder find_decoder(uint16_t opcode) {
  switch (opcode) {
  case PNM_MBOX_OP_GET_FW_INFO:
    return get_fw_info;
  case PNM_MBOX_OP_GET_TIMESTAMP:
    return get_timestamp;
  case PNM_MBOX_OP_GET_SUPPORTED_LOGS:
    return get_supported_logs;
  case PNM_MBOX_OP_IDENTIFY:
    return identify;
  case PNM_MBOX_OP_GET_HEALTH_INFO:
    return get_health_info;
  case PNM_MBOX_OP_GET_ALERT_CONFIG:
    return get_alert_config;
  case PNM_MBOX_OP_GET_POISON:
    return get_poison_list;
  case PNM_MBOX_OP_PNM_GET_CAPS:
    return pnm_get_caps;
  case PNM_MBOX_OP_PNM_CREATE_QUEUE:
    return pnm_create_queue;
  case PNM_MBOX_OP_PNM_GET_PERF:
    return pnm_get_perf;
  case PNM_MBOX_OP_PNM_GET_TENANT:
    return pnm_get_tenant;
  case PNM_MBOX_OP_SET_TIMESTAMP:
  case PNM_MBOX_OP_SET_ALERT_CONFIG:
  case PNM_MBOX_OP_INJECT_POISON:
  case PNM_MBOX_OP_CLEAR_POISON:
  case PNM_MBOX_OP_PNM_CREATE_TENANT:
  case PNM_MBOX_OP_PNM_DESTROY_TENANT:
  case PNM_MBOX_OP_PNM_DESTROY_QUEUE:
    return no_output;
  default:
    return nullptr;
  }
}

json decode_ordered(uint16_t opcode, const Bytes& out, const Bytes& in) {
  json j = json::object();
  Fields f(out, j);
  if (opcode == PNM_MBOX_OP_GET_LOG) {
    get_log(f, j, in);
  } else {
    find_decoder(opcode)(f, j);
  }
  return j;
}

// Common keys of every result line, in the order they print.
json line_head(const ScriptCommand& cmd) {
  json j;
  j["line"] = cmd.line;
  j["opcode"] = opcode_string(cmd.opcode);
  j["opcode_name"] = pnm_mbox_opcode_name(cmd.opcode);
  return j;
}

std::string dump(const json& j) {
  // strings are ASCII already; `replace` keeps a stray byte from throwing mid-script
  return j.dump(-1, ' ', false, json::error_handler_t::replace);
}

} // namespace

bool decodable(uint16_t opcode) {
  return opcode == PNM_MBOX_OP_GET_LOG || find_decoder(opcode) != nullptr;
}

nlohmann::json decode_output(uint16_t opcode, const std::vector<uint8_t>& out) {
  return decode_output(opcode, out, {});
}

nlohmann::json decode_output(uint16_t opcode, const std::vector<uint8_t>& out,
                             const std::vector<uint8_t>& in) {
  if (!decodable(opcode)) {
    return nullptr;
  }
  return nlohmann::json(decode_ordered(opcode, out, in));
}

std::string opcode_string(uint16_t opcode) { return fmt::format("0x{:04X}", opcode); }

std::string hex_string(const std::vector<uint8_t>& bytes) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string s;
  s.reserve(bytes.size() * 2);
  for (uint8_t b : bytes) {
    s += kDigits[b >> 4];
    s += kDigits[b & 0xF];
  }
  return s;
}

std::string result_line(const ScriptCommand& cmd, uint16_t return_code,
                        const std::vector<uint8_t>& out) {
  json j = line_head(cmd);
  j["return_code"] = return_code;
  j["return_name"] = pnm_mbox_rc_name(return_code);
  j["payload_hex"] = hex_string(out);
  if (return_code == PNM_MBOX_RC_SUCCESS && decodable(cmd.opcode)) {
    j["decoded"] = decode_ordered(cmd.opcode, out, cmd.payload);
  }
  return dump(j);
}

std::string timeout_line(const ScriptCommand& cmd, double timeout_ms) {
  json j = line_head(cmd);
  j["error"] = fmt::format("timeout: no answer within {:g} ms", timeout_ms);
  return dump(j);
}

} // namespace pnm::sw::mbox
