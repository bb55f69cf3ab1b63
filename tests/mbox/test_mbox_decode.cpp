// Output decoders and result lines (sw/mbox/mbox_decode.h), checked against payloads produced by
// the real firmware command code (firmware/lib/mailbox.c, built natively as pnm_fw_native): the
// values set in the device context must come back out under the spec's field names.
#include <gtest/gtest.h>

#include <sstream>
#include <string>

#include "../firmware/fw_test_util.h"
#include "mbox/mbox_decode.h"
#include "mbox/mbox_script.h"

using namespace fwtest;
using nlohmann::json;
using pnm::sw::mbox::decodable;
using pnm::sw::mbox::decode_output;
using pnm::sw::mbox::result_line;
using pnm::sw::mbox::ScriptCommand;
using pnm::sw::mbox::timeout_line;

namespace {

const char* const kCelUuidText = "0da9c0b5-bf41-4b78-8f79-96b1623b3f17";
const Bytes kCelUuid = {0x0d, 0xa9, 0xc0, 0xb5, 0xbf, 0x41, 0x4b, 0x78,
                        0x8f, 0x79, 0x96, 0xb1, 0x62, 0x3b, 0x3f, 0x17};

// Runs `opcode` on the firmware, expects Success, and decodes its output.
json Decoded(Device& d, uint16_t opcode, const Bytes& in = {}, uint32_t out_cap = 2048) {
  const Result r = d.Exec(opcode, in, out_cap);
  EXPECT_EQ(r.rc, PNM_MBOX_RC_SUCCESS) << std::hex << opcode;
  return decode_output(opcode, r.out, in);
}

Bytes GetLogIn(const Bytes& uuid, uint32_t offset, uint32_t length) {
  Bytes b = uuid;
  wr(b, 0x10, offset, 4);
  wr(b, 0x14, length, 4);
  return b;
}

// A genuine successful output of every decodable command, for the truncation sweep.
std::vector<std::pair<uint16_t, Result>> AllOutputs(Device& d) {
  EXPECT_EQ(d.Exec(0xC001, CreateTenant(3, 0, 4 * MiB)).rc, PNM_MBOX_RC_SUCCESS);
  EXPECT_EQ(d.Exec(0xC003, CreateQueue(3, 16, 0, 64 * 1024)).rc, PNM_MBOX_RC_SUCCESS);
  EXPECT_EQ(d.Exec(0x4301, U64(0x4000)).rc, PNM_MBOX_RC_SUCCESS);
  std::vector<std::pair<uint16_t, Result>> outs;
  for (uint16_t op : {0x0200, 0x0300, 0x0400, 0x4000, 0x4200, 0x4201, 0xC000, 0xC005}) {
    outs.emplace_back(op, d.Exec(op));
  }
  outs.emplace_back(0x4300, d.Exec(0x4300, PoisonQuery(0, kCapacity / 64)));
  outs.emplace_back(0xC006, d.Exec(0xC006, Id16(3)));
  outs.emplace_back(0xC003, d.Exec(0xC003, CreateQueue(3, 16, 8192, 128 * 1024)));
  for (const auto& [op, r] : outs) {
    EXPECT_EQ(r.rc, PNM_MBOX_RC_SUCCESS) << std::hex << op;
  }
  return outs;
}

} // namespace

TEST(mboxDecode, DecodesExactlyTheFirmwareCommandSet) {
  for (uint32_t op = 0; op <= 0xFFFF; ++op) {
    EXPECT_EQ(decodable(uint16_t(op)), pnm_mbox_supported(uint16_t(op))) << std::hex << op;
  }
  // unknown opcodes decode to a null json, whatever the bytes
  EXPECT_TRUE(decode_output(0x4100, Bytes(0x20, 1)).is_null());
  EXPECT_TRUE(decode_output(0xC007, {}).is_null());
}

TEST(mboxDecode, IdentifyMemoryDevice) {
  Device d;
  d.ctx->volatile_bytes = 3 * GiB;
  d.ctx->persistent_bytes = 1 * GiB;
  d.ctx->partition_align_bytes = 256 * MiB;
  d.ctx->lsa_bytes = 0x20000;
  d.ctx->inject_poison_limit = 9;
  d.ctx->poison_caps = 0x05;
  d.ctx->qos_caps = 0x02;
  d.ctx->event_log_size[1] = 33;
  const json j = Decoded(d, 0x4000);
  EXPECT_EQ(j["fw_revision"], "PNMFW 1.2.3");
  EXPECT_EQ(j["total_capacity_bytes"], 4 * GiB);
  EXPECT_EQ(j["total_capacity_256mib"], 16);
  EXPECT_EQ(j["volatile_only_capacity_bytes"], 3 * GiB);
  EXPECT_EQ(j["volatile_only_capacity_256mib"], 12);
  EXPECT_EQ(j["persistent_only_capacity_bytes"], 1 * GiB);
  EXPECT_EQ(j["persistent_only_capacity_256mib"], 4);
  EXPECT_EQ(j["partition_alignment_bytes"], 256 * MiB);
  EXPECT_EQ(j["partition_alignment_256mib"], 1);
  EXPECT_EQ(j["info_event_log_size"], 64);
  EXPECT_EQ(j["warning_event_log_size"], 33);
  EXPECT_EQ(j["failure_event_log_size"], 16);
  EXPECT_EQ(j["fatal_event_log_size"], 8);
  EXPECT_EQ(j["lsa_size"], 0x20000);
  EXPECT_EQ(j["poison_list_max_mer"], PNM_POISON_MAX);
  EXPECT_EQ(j["inject_poison_limit"], 9);
  EXPECT_EQ(j["poison_handling_capabilities"], 5);
  EXPECT_EQ(j["qos_telemetry_capabilities"], 2);
  EXPECT_EQ(j["dynamic_capacity_event_log_size"], 0);
  EXPECT_FALSE(j.contains("truncated"));
  EXPECT_FALSE(j.contains("trailing_bytes"));
}

TEST(mboxDecode, IdentifyOfACxl2DeviceIsNotTruncated) {
  Device d;
  Bytes out = d.Exec(0x4000).out;
  out.resize(0x43); // Linux's struct cxl_mbox_identify: no dynamic capacity field
  json j = decode_output(0x4000, out);
  EXPECT_EQ(j["qos_telemetry_capabilities"], 0);
  EXPECT_FALSE(j.contains("dynamic_capacity_event_log_size"));
  EXPECT_FALSE(j.contains("truncated"));
  out.resize(0x44); // half the r3.x field
  j = decode_output(0x4000, out);
  EXPECT_EQ(j["truncated"], true);
  EXPECT_FALSE(j.contains("dynamic_capacity_event_log_size"));
}

TEST(mboxDecode, GetHealthInfo) {
  Device d;
  d.ctx->health.health_status = 0x05; // maintenance needed + hardware replacement needed
  d.ctx->health.media_status = 2;
  d.ctx->health.life_used_pct = 42;
  d.ctx->health.temperature_c = -12; // at or below the under-temperature critical (0 C)
  d.ctx->health.dirty_shutdowns = 7;
  d.ctx->health.corrected_volatile_errors = 1000;
  d.ctx->health.corrected_persistent_errors = 3;
  d.ctx->alerts.enabled_alerts = PNM_ALERT_CORR_VOLATILE;
  d.ctx->alerts.corr_volatile_warn = 500;
  const json j = Decoded(d, 0x4200);
  EXPECT_EQ(j["health_status"], 5);
  EXPECT_EQ(j["health_status_bits"], json::array({"maintenance_needed", "hardware_replacement_needed"}));
  EXPECT_EQ(j["media_status"], 2);
  EXPECT_EQ(j["media_status_name"], "write_persistency_lost");
  EXPECT_EQ(j["additional_status"], 0x18);
  EXPECT_EQ(j["life_used_status"], "normal");
  EXPECT_EQ(j["device_temperature_status"], "critical");
  EXPECT_EQ(j["corrected_volatile_error_count_status"], "warning");
  EXPECT_EQ(j["corrected_persistent_error_count_status"], "normal");
  EXPECT_EQ(j["life_used"], 42);
  EXPECT_EQ(j["device_temperature"], -12);
  EXPECT_EQ(j["dirty_shutdown_count"], 7);
  EXPECT_EQ(j["corrected_volatile_error_count"], 1000);
  EXPECT_EQ(j["corrected_persistent_error_count"], 3);
  EXPECT_FALSE(j.contains("truncated"));
}

TEST(mboxDecode, HealthNotImplementedValuesAreNull) {
  Device d; // after init: life used 0xFF, temperature 0xFFFF
  const json j = Decoded(d, 0x4200);
  ASSERT_TRUE(j.contains("life_used"));
  EXPECT_TRUE(j["life_used"].is_null());
  EXPECT_TRUE(j["device_temperature"].is_null());
  EXPECT_EQ(j["health_status_bits"], json::array());
  EXPECT_EQ(j["media_status_name"], "normal");
}

TEST(mboxDecode, AlertConfigurationAfterSet) {
  Device d;
  d.ctx->alerts.under_temp_crit = -20;
  Bytes set(0x0C, 0);
  set[0x00] = PNM_ALERT_LIFE_USED | PNM_ALERT_OVER_TEMP | PNM_ALERT_UNDER_TEMP; // valid actions
  set[0x01] = PNM_ALERT_LIFE_USED | PNM_ALERT_UNDER_TEMP;                       // enable
  set[0x02] = 60;
  wr(set, 0x04, 77, 2);
  wr(set, 0x06, uint16_t(int16_t(-5)), 2);
  EXPECT_EQ(Decoded(d, 0x4202, set), json::object());
  const json j = Decoded(d, 0x4201);
  EXPECT_EQ(j["valid_alerts"], PNM_ALERT_ALL);
  EXPECT_EQ(j["valid_alerts_bits"].size(), 5u);
  EXPECT_EQ(j["programmable_alerts_enabled"], 0x05);
  EXPECT_EQ(j["programmable_alerts_enabled_bits"], json::array({"life_used", "device_under_temperature"}));
  EXPECT_EQ(j["life_used_critical_alert_threshold"], 90);
  EXPECT_EQ(j["life_used_programmable_warning_threshold"], 60);
  EXPECT_EQ(j["device_over_temperature_critical_alert_threshold"], 85);
  EXPECT_EQ(j["device_under_temperature_critical_alert_threshold"], -20);
  EXPECT_EQ(j["device_over_temperature_programmable_warning_threshold"], 77);
  EXPECT_EQ(j["device_under_temperature_programmable_warning_threshold"], -5);
  EXPECT_EQ(j["corrected_volatile_mem_error_programmable_warning_threshold"], 0);
  EXPECT_EQ(j["corrected_persistent_mem_error_programmable_warning_threshold"], 0);
}

TEST(mboxDecode, PoisonListRecordsFromInjectedAndPlatformPoison) {
  Device d;
  EXPECT_EQ(Decoded(d, 0x4301, U64(0x1000)), json::object());
  EXPECT_EQ(Decoded(d, 0x4301, U64(0x1040)), json::object()); // merges into a 2-line run
  ASSERT_EQ(pnm_poison_mark(&d.ctx->poison, 0x20000, PNM_POISON_SRC_INTERNAL, 0),
            PNM_POISON_CHANGED);
  const json j = Decoded(d, 0x4300, PoisonQuery(0, kCapacity / 64));
  EXPECT_EQ(j["poison_list_flags"], 0);
  EXPECT_EQ(j["poison_list_flags_bits"], json::array());
  EXPECT_EQ(j["media_error_record_count"], 2);
  ASSERT_EQ(j["media_error_records"].size(), 2u);
  const json& r0 = j["media_error_records"][0];
  EXPECT_EQ(r0["dpa"], 0x1000);
  EXPECT_EQ(r0["media_error_address"], 0x1000 | PNM_POISON_SRC_INJECTED);
  EXPECT_EQ(r0["error_source"], 3);
  EXPECT_EQ(r0["error_source_name"], "injected");
  EXPECT_EQ(r0["media_error_length"], 2);
  EXPECT_EQ(r0["length_bytes"], 128);
  const json& r1 = j["media_error_records"][1];
  EXPECT_EQ(r1["dpa"], 0x20000);
  EXPECT_EQ(r1["error_source_name"], "internal");
  EXPECT_EQ(r1["length_bytes"], 64);
  EXPECT_FALSE(j.contains("truncated"));
  // Clear Poison (DPA + 64 data bytes) has no output either
  Bytes clear = U64(0x1000);
  clear.resize(0x48, 0x5A);
  EXPECT_EQ(Decoded(d, 0x4302, clear), json::object());
}

TEST(mboxDecode, PoisonListMoreRecordsAndOverflowFlags) {
  Device d;
  for (uint64_t i = 0; i <= PNM_POISON_MAX; ++i) { // one run more than fits: overflow
    pnm_poison_mark(&d.ctx->poison, i * 128, PNM_POISON_SRC_EXTERNAL, 0xABCDEF);
  }
  // room for exactly one record: "more records" too
  const json j = Decoded(d, 0x4300, PoisonQuery(0, kCapacity / 64), 0x20 + 0x10);
  EXPECT_EQ(j["poison_list_flags"], PNM_POISON_FLAG_MORE | PNM_POISON_FLAG_OVERFLOW);
  EXPECT_EQ(j["poison_list_flags_bits"], json::array({"more_media_error_records", "poison_list_overflow"}));
  EXPECT_EQ(j["overflow_timestamp"], 0xABCDEF);
  EXPECT_EQ(j["media_error_record_count"], 1);
  EXPECT_EQ(j["media_error_records"][0]["dpa"], 0);
  EXPECT_EQ(j["media_error_records"][0]["error_source_name"], "external");
}

TEST(mboxDecode, FwInfoAndTimestamps) {
  Device d;
  const json fw = Decoded(d, 0x0200);
  EXPECT_EQ(fw["fw_slots_supported"], 1);
  EXPECT_EQ(fw["active_fw_slot"], 1);
  EXPECT_EQ(fw["staged_fw_slot"], 0);
  EXPECT_EQ(fw["fw_activation_capabilities_bits"], json::array());
  EXPECT_EQ(fw["slot_1_fw_revision"], "PNMFW 1.2.3");
  EXPECT_EQ(fw["slot_2_fw_revision"], "");
  EXPECT_EQ(fw["slot_4_fw_revision"], "");
  EXPECT_FALSE(fw.contains("truncated"));

  EXPECT_EQ(Decoded(d, 0x0300)["timestamp"], 0) << "never set";
  EXPECT_EQ(Decoded(d, 0x0301, U64(0x1122334455667788ull)), json::object());
  d.clock_ns += 500;
  EXPECT_EQ(Decoded(d, 0x0300)["timestamp"], 0x1122334455667788ull + 500);
}

TEST(mboxDecode, SupportedLogsAndTheCommandEffectsLog) {
  Device d;
  const json logs = Decoded(d, 0x0400);
  const uint32_t cel_size = pnm_mbox_cel_entries() * PNM_MBOX_CEL_ENTRY_LEN;
  EXPECT_EQ(logs["number_of_supported_log_entries"], 1);
  ASSERT_EQ(logs["supported_log_entries"].size(), 1u);
  EXPECT_EQ(logs["supported_log_entries"][0]["log_identifier"], kCelUuidText);
  EXPECT_EQ(logs["supported_log_entries"][0]["log_name"], "Command Effects Log");
  EXPECT_EQ(logs["supported_log_entries"][0]["log_size"], cel_size);

  const json cel = Decoded(d, 0x0401, GetLogIn(kCelUuid, 0, cel_size));
  EXPECT_EQ(cel["log_identifier"], kCelUuidText);
  EXPECT_EQ(cel["offset"], 0);
  const json& e = cel["cel_entries"];
  ASSERT_EQ(e.size(), pnm_mbox_cel_entries());
  EXPECT_EQ(e[0]["opcode"], "0x0200");
  EXPECT_EQ(e[0]["opcode_name"], "Get FW Info");
  EXPECT_EQ(e[0]["command_effect"], 0);
  EXPECT_EQ(e[0]["command_effect_bits"], json::array());
  for (const json& entry : e) {
    const auto op = uint16_t(std::stoul(entry["opcode"].get<std::string>(), nullptr, 16));
    EXPECT_TRUE(pnm_mbox_supported(op)) << entry;
    EXPECT_EQ(entry["command_effect"], pnm_mbox_effects(op)) << entry;
    if (op == PNM_MBOX_OP_INJECT_POISON) {
      EXPECT_EQ(entry["command_effect_bits"], json::array({"immediate_data_change"}));
    }
    if (op == PNM_MBOX_OP_SET_TIMESTAMP) {
      EXPECT_EQ(entry["command_effect_bits"], json::array({"immediate_policy_change"}));
    }
  }
  EXPECT_FALSE(cel.contains("truncated"));

  // a window of two entries from the second one
  const json part = Decoded(d, 0x0401, GetLogIn(kCelUuid, 4, 8));
  ASSERT_EQ(part["cel_entries"].size(), 2u);
  EXPECT_EQ(part["cel_entries"][0]["opcode"], "0x0300");
  EXPECT_EQ(part["cel_entries"][1]["opcode"], "0x0301");
  // a window that ends inside an entry
  const json ragged = Decoded(d, 0x0401, GetLogIn(kCelUuid, 0, 6));
  EXPECT_EQ(ragged["cel_entries"].size(), 1u);
  EXPECT_EQ(ragged["truncated"], true);
  // starting inside an entry, or without the request: raw bytes
  const Result mid = d.Exec(0x0401, GetLogIn(kCelUuid, 2, 4));
  const json raw = decode_output(0x0401, mid.out, GetLogIn(kCelUuid, 2, 4));
  EXPECT_FALSE(raw.contains("cel_entries"));
  EXPECT_EQ(raw["log_data_hex"], "00000003"); // effects of 0x0200, then opcode 0x0300
  const json blind = decode_output(0x0401, mid.out);
  EXPECT_EQ(blind["log_data_hex"], "00000003");
  EXPECT_FALSE(blind.contains("log_identifier"));
  // another log's data (the firmware refuses it: the bytes here stand for another device's)
  Bytes other_uuid = kCelUuid;
  other_uuid[0] ^= 0xFF;
  EXPECT_EQ(d.Exec(0x0401, GetLogIn(other_uuid, 0, 4)).rc, PNM_MBOX_RC_INVALID_LOG);
  const json other = decode_output(0x0401, Bytes{1, 2}, GetLogIn(other_uuid, 0, 2));
  EXPECT_EQ(other["log_identifier"], "f2a9c0b5-bf41-4b78-8f79-96b1623b3f17");
  EXPECT_FALSE(other.contains("log_name"));
  EXPECT_EQ(other["log_data_hex"], "0102");
}

TEST(mboxDecode, PnmCapabilities) {
  Device d;
  d.ctx->engine.lanes = 64;
  d.ctx->engine.engines = 2;
  d.ctx->engine.job_desc_version = 3;
  d.ctx->engine.precisions = PNM_PRECISION_INT8;
  const json j = Decoded(d, 0xC000);
  EXPECT_EQ(j["layout_version"], PNM_CAPS_LAYOUT_VERSION);
  EXPECT_EQ(j["job_descriptor_version"], 3);
  EXPECT_EQ(j["lanes_per_engine"], 64);
  EXPECT_EQ(j["engines"], 2);
  EXPECT_EQ(j["precisions"], PNM_PRECISION_INT8);
  EXPECT_EQ(j["precisions_bits"], json::array({"int8"}));
  EXPECT_EQ(j["max_tenants"], PNM_TENANTS_MAX);
  EXPECT_EQ(j["max_queue_pairs"], PNM_QUEUES_MAX);
  EXPECT_EQ(j["min_queue_entries"], PNM_QUEUE_MIN_ENTRIES);
  EXPECT_EQ(j["max_queue_entries"], PNM_QUEUE_MAX_ENTRIES);
  EXPECT_EQ(j["sq_entry_size_log2"], 6);
  EXPECT_EQ(j["sq_entry_size_bytes"], PNM_SQ_ENTRY_BYTES);
  EXPECT_EQ(j["cq_entry_size_bytes"], PNM_CQ_ENTRY_BYTES);
  EXPECT_EQ(j["tenant_granule_log2"], 21);
  EXPECT_EQ(j["tenant_granule_bytes"], PNM_TENANT_GRANULE_BYTES);
  EXPECT_EQ(j["ring_base_alignment_bytes"], PNM_QUEUE_BASE_ALIGN);
  EXPECT_FALSE(j.contains("warning"));
  EXPECT_FALSE(j.contains("truncated"));
}

TEST(mboxDecode, TenantQueuesAndTenantInfo) {
  Device d;
  EXPECT_EQ(Decoded(d, 0xC001, CreateTenant(7, 8 * MiB, 8 * MiB)), json::object());
  EXPECT_EQ(Decoded(d, 0xC003, CreateQueue(7, 16, 8 * MiB, 9 * MiB))["queue_id"], 0);
  EXPECT_EQ(Decoded(d, 0xC003, CreateQueue(7, 32, 10 * MiB, 11 * MiB))["queue_id"], 1);
  pnm_tenant* t = pnm_tenant_find_mut(&d.ctx->tenants, 7);
  ASSERT_NE(t, nullptr);
  t->jobs_completed = 123456789012ull;
  t->jobs_failed = 4;
  const json j = Decoded(d, 0xC006, Id16(7));
  EXPECT_EQ(j["tenant_id"], 7);
  EXPECT_EQ(j["queue_count"], 2);
  EXPECT_EQ(j["dpa_base"], 8 * MiB);
  EXPECT_EQ(j["length_bytes"], 8 * MiB);
  EXPECT_EQ(j["jobs_completed"], 123456789012ull);
  EXPECT_EQ(j["jobs_failed"], 4);
  EXPECT_EQ(j["queue_ids"], json::array({0, 1}));
  EXPECT_FALSE(j.contains("truncated"));
  EXPECT_EQ(Decoded(d, 0xC004, Id16(0)), json::object());
  EXPECT_EQ(Decoded(d, 0xC006, Id16(7))["queue_ids"], json::array({1}));
  EXPECT_EQ(Decoded(d, 0xC004, Id16(1)), json::object());
  EXPECT_EQ(Decoded(d, 0xC002, Id16(7)), json::object());
}

TEST(mboxDecode, PerformanceCounters) {
  Device d;
  d.clock_ns = 987654321;
  pnm_perf_counters& p = d.ctx->perf;
  p.jobs_completed = 11;
  p.jobs_failed = 2;
  p.engine_busy_cycles = 3333;
  p.dram_bytes_read = 1ull << 40;
  p.dram_bytes_written = 5555;
  p.link_bytes_rx = 66;
  p.link_bytes_tx = 77;
  p.instructions_retired = 0xFFFFFFFFFFFFFFFFull; // u64 stays exact
  for (unsigned c = 0; c < PNM_ENERGY_CLASSES; ++c) {
    p.energy_pj[c] = 1000 + c;
  }
  const json j = Decoded(d, 0xC005);
  EXPECT_EQ(j["layout_version"], PNM_PERF_LAYOUT_VERSION);
  EXPECT_EQ(j["energy_classes"], PNM_ENERGY_CLASSES);
  EXPECT_EQ(j["sample_time_ns"], 987654321);
  EXPECT_EQ(j["jobs_completed"], 11);
  EXPECT_EQ(j["jobs_failed"], 2);
  EXPECT_EQ(j["engine_busy_cycles"], 3333);
  EXPECT_EQ(j["dram_bytes_read"], 1ull << 40);
  EXPECT_EQ(j["dram_bytes_written"], 5555);
  EXPECT_EQ(j["link_bytes_host_to_device"], 66);
  EXPECT_EQ(j["link_bytes_device_to_host"], 77);
  EXPECT_EQ(j["instructions_retired"], 0xFFFFFFFFFFFFFFFFull);
  EXPECT_EQ(j["energy_pj"],
            json::object({{"dram", 1000}, {"link", 1001}, {"datapath", 1002}, {"sram", 1003},
                  {"controller_core", 1004}, {"other", 1005}}));
}

TEST(mboxDecode, UnknownLayoutVersionIsFlagged) {
  Device d;
  Bytes out = d.Exec(0xC005).out;
  out[0] = 2;
  EXPECT_EQ(decode_output(0xC005, out)["warning"],
            "layout version 2 unknown: decoded as version 1");
}

TEST(mboxDecode, EveryPrefixOfEveryOutputDecodesWithoutOverrun) {
  Device d;
  for (const auto& [op, r] : AllOutputs(d)) {
    ASSERT_FALSE(r.out.empty()) << std::hex << op;
    const json full = decode_output(op, r.out);
    EXPECT_FALSE(full.contains("truncated")) << std::hex << op << full;
    for (size_t n = 0; n < r.out.size(); ++n) {
      // an exact-size copy, so ASan sees any read past the end
      const Bytes prefix(r.out.begin(), r.out.begin() + long(n));
      const json j = decode_output(op, prefix);
      ASSERT_TRUE(j.is_object()) << std::hex << op << " " << n;
      const bool cxl2_identify = op == 0x4000 && n == 0x43;
      EXPECT_EQ(j.value("truncated", false), !cxl2_identify) << std::hex << op << " len " << n;
    }
  }
  // garbage of every length for every decodable opcode: no exception, no overrun
  for (uint32_t op = 0; op <= 0xFFFF; ++op) {
    if (!decodable(uint16_t(op))) {
      continue;
    }
    for (size_t n : {0, 1, 2, 3, 5, 11, 0x21, 0x29, 0x31, 0x81, 0x101}) {
      const Bytes junk(n, 0xFF);
      EXPECT_NO_THROW(result_line({1, uint16_t(op), junk}, 0, junk)) << std::hex << op << " " << n;
    }
  }
}

TEST(mboxDecode, CountsLargerThanThePayloadAreTruncated) {
  Device d;
  ASSERT_EQ(d.Exec(0x4301, U64(0x40)).rc, PNM_MBOX_RC_SUCCESS);
  Bytes poison = d.Exec(0x4300, PoisonQuery(0, 16)).out;
  wr(poison, 0x0A, 0xFFFF, 2); // claims 65535 records, holds one
  json j = decode_output(0x4300, poison);
  EXPECT_EQ(j["media_error_record_count"], 0xFFFF);
  EXPECT_EQ(j["media_error_records"].size(), 1u);
  EXPECT_EQ(j["media_error_records"][0]["dpa"], 0x40);
  EXPECT_EQ(j["truncated"], true);

  ASSERT_EQ(d.Exec(0xC001, CreateTenant(1, 0, 2 * MiB)).rc, PNM_MBOX_RC_SUCCESS);
  Bytes tenant = d.Exec(0xC006, Id16(1)).out;
  wr(tenant, 0x02, 64, 2);
  j = decode_output(0xC006, tenant);
  EXPECT_EQ(j["queue_ids"], json::array());
  EXPECT_EQ(j["truncated"], true);

  Bytes logs = d.Exec(0x0400).out;
  wr(logs, 0x00, 3, 2);
  j = decode_output(0x0400, logs);
  EXPECT_EQ(j["supported_log_entries"].size(), 1u);
  EXPECT_EQ(j["truncated"], true);
}

TEST(mboxDecode, ExtraBytesAreCountedNotHidden) {
  Bytes ts(9, 0);
  ts[0] = 5;
  const json j = decode_output(0x0300, ts);
  EXPECT_EQ(j["timestamp"], 5);
  EXPECT_EQ(j["trailing_bytes"], 1);
  EXPECT_EQ(decode_output(0x4301, Bytes{1, 2})["trailing_bytes"], 2);
  EXPECT_EQ(decode_output(0x4301, {}), json::object());
}

TEST(mboxDecode, NonAsciiRevisionStaysValidJson) {
  Device d;
  const char rev[PNM_MBOX_FW_REV_LEN] = {'v', '1', '\x01', '\xC3', '"', '\\', 0, 'x'};
  std::copy(rev, rev + PNM_MBOX_FW_REV_LEN, d.ctx->fw_revision);
  const Result r = d.Exec(0x4000);
  EXPECT_EQ(decode_output(0x4000, r.out)["fw_revision"], "v1\\x01\\xc3\"\\");
  const std::string line = result_line({1, 0x4000, {}}, r.rc, r.out);
  EXPECT_EQ(json::parse(line)["decoded"]["fw_revision"], "v1\\x01\\xc3\"\\");
}

TEST(mboxResultLine, ExactKeysAndHex) {
  Device d;
  ASSERT_EQ(d.Exec(0x0301, U64(0x0102030405060708ull)).rc, PNM_MBOX_RC_SUCCESS);
  const Result r = d.Exec(0x0300);
  const std::string line = result_line({12, 0x0300, {}}, r.rc, r.out);
  EXPECT_EQ(line, "{\"line\":12,\"opcode\":\"0x0300\",\"opcode_name\":\"Get Timestamp\","
                  "\"return_code\":0,\"return_name\":\"Success\",\"payload_hex\":\"0807060504030201\","
                  "\"decoded\":{\"timestamp\":72623859790382856}}");
  EXPECT_EQ(line.find('\n'), std::string::npos);

  const Result set = d.Exec(0x0301, U64(1));
  EXPECT_EQ(result_line({3, 0x0301, U64(1)}, set.rc, set.out),
            "{\"line\":3,\"opcode\":\"0x0301\",\"opcode_name\":\"Set Timestamp\",\"return_code\":0,"
            "\"return_name\":\"Success\",\"payload_hex\":\"\",\"decoded\":{}}");
}

TEST(mboxResultLine, NoDecodedOnErrorOrUnknownOpcode) {
  Device d;
  const Result bad = d.Exec(0x4301, U64(0x41)); // not 64 B aligned
  ASSERT_EQ(bad.rc, PNM_MBOX_RC_INVALID_INPUT);
  EXPECT_EQ(result_line({4, 0x4301, U64(0x41)}, bad.rc, bad.out),
            "{\"line\":4,\"opcode\":\"0x4301\",\"opcode_name\":\"Inject Poison\",\"return_code\":2,"
            "\"return_name\":\"Invalid Input\",\"payload_hex\":\"\"}");
  const Result unsup = d.Exec(0x4100);
  const json u = json::parse(result_line({5, 0x4100, {}}, unsup.rc, unsup.out));
  EXPECT_EQ(u["return_code"], PNM_MBOX_RC_UNSUPPORTED);
  EXPECT_EQ(u["return_name"], "Unsupported");
  EXPECT_EQ(u["opcode_name"], "Get Partition Info");
  EXPECT_FALSE(u.contains("decoded"));
  // a device that answers Success to an opcode we cannot decode: bytes only
  const json v = json::parse(result_line({6, 0xC0DE, {}}, 0, Bytes{0xAB, 0x01}));
  EXPECT_EQ(v["opcode"], "0xC0DE");
  EXPECT_EQ(v["opcode_name"], "Unknown");
  EXPECT_EQ(v["payload_hex"], "ab01");
  EXPECT_FALSE(v.contains("decoded"));
  // return codes past the table keep their number
  EXPECT_EQ(json::parse(result_line({7, 0x4000, {}}, 0x7F, {}))["return_name"], "Unknown");
}

TEST(mboxResultLine, Timeout) {
  EXPECT_EQ(timeout_line({2, 0xC005, {}}, 250),
            "{\"line\":2,\"opcode\":\"0xC005\",\"opcode_name\":\"PNM Get Performance Counters\","
            "\"error\":\"timeout: no answer within 250 ms\"}");
  EXPECT_NE(timeout_line({2, 0x4000, {}}, 0.5).find("within 0.5 ms"), std::string::npos);
}

TEST(mboxResultLine, ScriptRunThroughTheFirmware) {
  // what `pnm mailbox --script` will do, with the firmware called directly instead of the device
  std::istringstream script("4000            # identify\n"
                            "4301 0020000000000000\n"
                            "4300 0000000000000000 0001000000000000 # first 16 KiB\n"
                            "c001 0500 000000000000 0000000000000000 0000200000000000\n"
                            "c006 05000000\n"
                            "4301 0100000000000000 # misaligned\n");
  const auto cmds = pnm::sw::mbox::parse_script(script, "inline");
  ASSERT_EQ(cmds.size(), 6u);
  Device d;
  std::vector<json> lines;
  for (const ScriptCommand& c : cmds) {
    const Result r = d.Exec(c.opcode, c.payload);
    lines.push_back(json::parse(result_line(c, r.rc, r.out)));
  }
  EXPECT_EQ(lines[0]["decoded"]["total_capacity_bytes"], kCapacity);
  EXPECT_EQ(lines[1]["decoded"], json::object());
  EXPECT_EQ(lines[2]["line"], 3);
  EXPECT_EQ(lines[2]["decoded"]["media_error_records"][0]["dpa"], 0x2000);
  EXPECT_EQ(lines[2]["decoded"]["media_error_records"][0]["error_source_name"], "injected");
  EXPECT_EQ(lines[3]["return_name"], "Success");
  EXPECT_EQ(lines[4]["decoded"]["tenant_id"], 5);
  EXPECT_EQ(lines[4]["decoded"]["length_bytes"], 2 * MiB);
  EXPECT_EQ(lines[5]["return_name"], "Invalid Input");
  EXPECT_FALSE(lines[5].contains("decoded"));
}
