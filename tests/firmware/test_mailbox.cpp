// firmware/lib/mailbox.c built natively (pnm_fw_native): every command of the
// controller's CXL mailbox, with outputs checked byte by byte at the offsets
// docs/FIRMWARE.md gives (CXL layouts per Linux cxlmem.h / QEMU, and the
// vendor PNM layouts of this project), and every error return code.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstring>
#include <string>

#include "fw_test_util.h"

using namespace fwtest;

namespace {

// Every implemented opcode with its exact input length.
struct OpIn {
  uint16_t opcode;
  uint32_t in_len;
};
const OpIn kCommands[] = {
    {0x0200, 0},    {0x0300, 0},    {0x0301, 8},    {0x0400, 0},    {0x0401, 0x18},
    {0x4000, 0},    {0x4200, 0},    {0x4201, 0},    {0x4202, 0x0C}, {0x4300, 0x10},
    {0x4301, 8},    {0x4302, 0x48}, {0xC000, 0},    {0xC001, 0x18}, {0xC002, 4},
    {0xC003, 0x18}, {0xC004, 4},    {0xC005, 0},    {0xC006, 4},
};

// ---------------------------------------------------------------------------
// dispatch, names, generic errors

TEST(firmwareMailbox, UnknownOpcodesAreUnsupported) {
  Device d;
  for (uint16_t op : {0x0000, 0x0001, 0x0100, 0x0201, 0x4100, 0x4400, 0xC007, 0xC0FF, 0xFFFF}) {
    const Result r = d.Exec(op);
    EXPECT_EQ(r.rc, PNM_MBOX_RC_UNSUPPORTED) << std::hex << op;
    EXPECT_TRUE(r.out.empty());
    EXPECT_FALSE(pnm_mbox_supported(op));
  }
  for (const OpIn& c : kCommands) {
    EXPECT_TRUE(pnm_mbox_supported(c.opcode)) << std::hex << c.opcode;
  }
  EXPECT_EQ(pnm_mbox_cel_entries(), std::size(kCommands));
}

TEST(firmwareMailbox, WrongInputLengthIsInvalidPayloadLength) {
  Device d;
  for (const OpIn& c : kCommands) {
    Bytes longer(c.in_len + 1, 0);
    EXPECT_EQ(d.Exec(c.opcode, longer).rc, PNM_MBOX_RC_INVALID_PAYLOAD_LENGTH)
        << std::hex << c.opcode;
    if (c.in_len > 0) {
      Bytes shorter(c.in_len - 1, 0);
      EXPECT_EQ(d.Exec(c.opcode, shorter).rc, PNM_MBOX_RC_INVALID_PAYLOAD_LENGTH)
          << std::hex << c.opcode;
      EXPECT_EQ(d.Exec(c.opcode, {}).rc, PNM_MBOX_RC_INVALID_PAYLOAD_LENGTH);
    }
  }
}

TEST(firmwareMailbox, ReturnCodeNamesFollowTheSpecTable) {
  EXPECT_STREQ(pnm_mbox_rc_name(0x00), "Success");
  EXPECT_STREQ(pnm_mbox_rc_name(0x01), "Background Command Started");
  EXPECT_STREQ(pnm_mbox_rc_name(0x02), "Invalid Input");
  EXPECT_STREQ(pnm_mbox_rc_name(0x03), "Unsupported");
  EXPECT_STREQ(pnm_mbox_rc_name(0x04), "Internal Error");
  EXPECT_STREQ(pnm_mbox_rc_name(0x06), "Busy");
  EXPECT_STREQ(pnm_mbox_rc_name(0x0F), "Invalid Physical Address");
  EXPECT_STREQ(pnm_mbox_rc_name(0x10), "Inject Poison Limit Reached");
  EXPECT_STREQ(pnm_mbox_rc_name(0x16), "Invalid Payload Length");
  EXPECT_STREQ(pnm_mbox_rc_name(0x17), "Invalid Log");
  EXPECT_STREQ(pnm_mbox_rc_name(0x1D), "Resources Exhausted");
  EXPECT_STREQ(pnm_mbox_rc_name(0x20), "Request Abort Not Supported");
  EXPECT_STREQ(pnm_mbox_rc_name(0x21), "Unknown");
  EXPECT_STREQ(pnm_mbox_rc_name(0xFFFF), "Unknown");
  for (uint16_t rc = 0; rc <= 0x20; ++rc) {
    EXPECT_STRNE(pnm_mbox_rc_name(rc), "Unknown") << rc;
  }
}

TEST(firmwareMailbox, OpcodeNames) {
  EXPECT_STREQ(pnm_mbox_opcode_name(0x4000), "Identify Memory Device");
  EXPECT_STREQ(pnm_mbox_opcode_name(0x4300), "Get Poison List");
  EXPECT_STREQ(pnm_mbox_opcode_name(0x4400), "Sanitize"); // known, not implemented
  EXPECT_STREQ(pnm_mbox_opcode_name(0xC003), "PNM Create Queue Pair");
  EXPECT_STREQ(pnm_mbox_opcode_name(0x1234), "Unknown");
  for (const OpIn& c : kCommands) {
    EXPECT_STRNE(pnm_mbox_opcode_name(c.opcode), "Unknown") << std::hex << c.opcode;
  }
}

TEST(firmwareMailbox, BusyBlocksStateChangingCommandsOnly) {
  Device d;
  d.ctx->busy = true;
  EXPECT_EQ(d.Exec(0x4301, U64(0)).rc, PNM_MBOX_RC_BUSY);
  EXPECT_EQ(d.Exec(0x4302, Bytes(0x48, 0)).rc, PNM_MBOX_RC_BUSY);
  EXPECT_EQ(d.Exec(0x0301, U64(5)).rc, PNM_MBOX_RC_BUSY);
  EXPECT_EQ(d.Exec(0x4202, Bytes(0x0C, 0)).rc, PNM_MBOX_RC_BUSY);
  EXPECT_EQ(d.Exec(0xC001, CreateTenant(1, 0, 2 * MiB)).rc, PNM_MBOX_RC_BUSY);
  EXPECT_EQ(pnm_tenant_count(&d.ctx->tenants), 0u) << "nothing happened";
  // read-only queries still answer
  for (uint16_t op : {0x0200, 0x0300, 0x0400, 0x4000, 0x4200, 0x4201, 0xC000, 0xC005}) {
    EXPECT_EQ(d.Exec(op).rc, PNM_MBOX_RC_SUCCESS) << std::hex << op;
  }
  EXPECT_EQ(d.Exec(0x4300, PoisonQuery(0, 1)).rc, PNM_MBOX_RC_SUCCESS);
  EXPECT_EQ(d.Exec(0xC006, Id16(1)).rc, PNM_MBOX_RC_INVALID_INPUT) << "answers (no tenant 1)";
  // length errors are reported before Busy (as QEMU orders its checks)
  EXPECT_EQ(d.Exec(0x4301, Bytes(7, 0)).rc, PNM_MBOX_RC_INVALID_PAYLOAD_LENGTH);
  d.ctx->busy = false;
  EXPECT_EQ(d.Exec(0x4301, U64(0)).rc, PNM_MBOX_RC_SUCCESS);
}

TEST(firmwareMailbox, OutputBufferSmallerThanFixedOutputIsInternalError) {
  Device d;
  const Result r = d.Exec(0x4000, {}, 0x44);
  EXPECT_EQ(r.rc, PNM_MBOX_RC_INTERNAL);
  EXPECT_TRUE(r.out.empty());
  EXPECT_EQ(d.Exec(0x4000, {}, 0x45).rc, PNM_MBOX_RC_SUCCESS) << "exactly enough";
  EXPECT_EQ(d.Exec(0x4300, PoisonQuery(0, 1), 0x1F).rc, PNM_MBOX_RC_INTERNAL);
  EXPECT_EQ(d.Exec(0x0300, {}, 0).rc, PNM_MBOX_RC_INTERNAL);
  EXPECT_EQ(d.Exec(0x0301, U64(1), 0).rc, PNM_MBOX_RC_SUCCESS) << "no output needed";
}

TEST(firmwareMailbox, InputAndOutputMayShareTheMailboxPayload) {
  Device d;
  std::vector<uint8_t> payload(256, 0);
  uint32_t out_len = 0;
  Bytes in = CreateTenant(4, 2 * MiB, 2 * MiB);
  std::copy(in.begin(), in.end(), payload.begin());
  ASSERT_EQ(pnm_mbox_execute(d.ctx.get(), 0xC001, payload.data(), uint32_t(in.size()),
                             payload.data(), uint32_t(payload.size()), &out_len),
            PNM_MBOX_RC_SUCCESS);
  in = CreateQueue(4, 16, 2 * MiB + 4096, 2 * MiB);
  std::copy(in.begin(), in.end(), payload.begin());
  ASSERT_EQ(pnm_mbox_execute(d.ctx.get(), 0xC003, payload.data(), uint32_t(in.size()),
                             payload.data(), uint32_t(payload.size()), &out_len),
            PNM_MBOX_RC_SUCCESS);
  EXPECT_EQ(out_len, 4u);
  EXPECT_EQ(rd16(payload, 0), 0u) << "queue id over the input";
  const pnm_queue* q = pnm_queue_find(&d.ctx->tenants, 0);
  ASSERT_NE(q, nullptr);
  EXPECT_EQ(q->tenant, 4u) << "input was read before the output was written";
  EXPECT_EQ(q->entries, 16u);
  EXPECT_EQ(q->sq_base, 2 * MiB + 4096);
  EXPECT_EQ(q->cq_base, 2 * MiB);
  // Get Poison List: output header overwrites the query
  ASSERT_EQ(d.Exec(0x4301, U64(0x1000)).rc, PNM_MBOX_RC_SUCCESS);
  in = PoisonQuery(0x1000, 1);
  std::copy(in.begin(), in.end(), payload.begin());
  ASSERT_EQ(pnm_mbox_execute(d.ctx.get(), 0x4300, payload.data(), uint32_t(in.size()),
                             payload.data(), uint32_t(payload.size()), &out_len),
            PNM_MBOX_RC_SUCCESS);
  EXPECT_EQ(out_len, 0x30u);
  EXPECT_EQ(rd16(payload, 0x0A), 1u);
  EXPECT_EQ(rd64(payload, 0x20), 0x1000u | 3u);
}

TEST(firmwareMailbox, InitRejectsCapacitiesNotIn256MiBUnits) {
  Device d;
  pnm_mbox_config cfg = d.Config();
  cfg.volatile_bytes = kCapacity + 2 * MiB;
  EXPECT_EQ(pnm_mbox_init(d.ctx.get(), &cfg), -1);
  cfg.volatile_bytes = ~0ull & ~(256 * MiB - 1);
  cfg.persistent_bytes = 256 * MiB * 2;
  EXPECT_EQ(pnm_mbox_init(d.ctx.get(), &cfg), -1) << "sum overflows";
  cfg.volatile_bytes = 2 * GiB;
  cfg.persistent_bytes = 1 * GiB;
  EXPECT_EQ(pnm_mbox_init(d.ctx.get(), &cfg), 0);
  EXPECT_EQ(pnm_mbox_total_bytes(d.ctx.get()), 3 * GiB);
}

// ---------------------------------------------------------------------------
// Identify Memory Device (0x4000)

TEST(firmwareMailbox, IdentifyLayout) {
  Device d;
  d.ctx->inject_poison_limit = 0x1234;
  const Result r = d.Exec(0x4000);
  ASSERT_EQ(r.rc, PNM_MBOX_RC_SUCCESS);
  ASSERT_EQ(r.out.size(), 0x45u);
  const std::string rev(r.out.begin(), r.out.begin() + 16);
  EXPECT_EQ(rev, std::string("PNMFW 1.2.3\0\0\0\0\0", 16)) << "ASCII, NUL padded";
  EXPECT_EQ(rd64(r.out, 0x10), 16u) << "total capacity, 256 MiB units";
  EXPECT_EQ(rd64(r.out, 0x18), 16u) << "volatile-only capacity";
  EXPECT_EQ(rd64(r.out, 0x20), 0u) << "persistent-only capacity";
  EXPECT_EQ(rd64(r.out, 0x28), 0u) << "partition alignment: not partitionable";
  EXPECT_EQ(rd16(r.out, 0x30), 64u);
  EXPECT_EQ(rd16(r.out, 0x32), 32u);
  EXPECT_EQ(rd16(r.out, 0x34), 16u);
  EXPECT_EQ(rd16(r.out, 0x36), 8u);
  EXPECT_EQ(rd32(r.out, 0x38), 0u) << "LSA size";
  EXPECT_EQ(r.out[0x3C], 0x00);
  EXPECT_EQ(r.out[0x3D], 0x01);
  EXPECT_EQ(r.out[0x3E], 0x00) << "poison list max records = 256, 24 bits";
  EXPECT_EQ(rd16(r.out, 0x3F), 0x1234u) << "inject poison limit";
  EXPECT_EQ(r.out[0x41], 0u);
  EXPECT_EQ(r.out[0x42], 0u);
  EXPECT_EQ(rd16(r.out, 0x43), 0u) << "dynamic capacity event log size";
}

TEST(firmwareMailbox, IdentifySplitsVolatileAndPersistent) {
  Device d;
  pnm_mbox_config cfg = d.Config();
  cfg.volatile_bytes = 2 * GiB;
  cfg.persistent_bytes = 768 * MiB;
  ASSERT_EQ(pnm_mbox_init(d.ctx.get(), &cfg), 0);
  const Result r = d.Exec(0x4000);
  ASSERT_EQ(r.rc, PNM_MBOX_RC_SUCCESS);
  EXPECT_EQ(rd64(r.out, 0x10), 11u);
  EXPECT_EQ(rd64(r.out, 0x18), 8u);
  EXPECT_EQ(rd64(r.out, 0x20), 3u);
}

TEST(firmwareMailbox, IdentifyWithUnalignedCapacityIsInternalError) {
  Device d;
  d.ctx->volatile_bytes = kCapacity - 64; // corrupted after init
  EXPECT_EQ(d.Exec(0x4000).rc, PNM_MBOX_RC_INTERNAL);
}

// ---------------------------------------------------------------------------
// Get FW Info (0x0200)

TEST(firmwareMailbox, FwInfoLayout) {
  Device d;
  const Result r = d.Exec(0x0200);
  ASSERT_EQ(r.rc, PNM_MBOX_RC_SUCCESS);
  ASSERT_EQ(r.out.size(), 0x50u);
  EXPECT_EQ(r.out[0x00], 1u) << "slots supported";
  EXPECT_EQ(r.out[0x01] & 0x7, 1) << "active slot";
  EXPECT_EQ((r.out[0x01] >> 3) & 0x7, 0) << "nothing staged";
  EXPECT_EQ(r.out[0x02], 0u) << "no online activation";
  for (int i = 0x03; i < 0x10; ++i) {
    EXPECT_EQ(r.out[i], 0u) << i;
  }
  EXPECT_EQ(std::string(r.out.begin() + 0x10, r.out.begin() + 0x1B), "PNMFW 1.2.3");
  for (int i = 0x1B; i < 0x50; ++i) {
    EXPECT_EQ(r.out[i], 0u) << "padding / empty slots 2..4 at " << i;
  }
}

// ---------------------------------------------------------------------------
// Get Health Info (0x4200), Get/Set Alert Configuration (0x4201/0x4202)

TEST(firmwareMailbox, HealthLayout) {
  Device d;
  Result r = d.Exec(0x4200);
  ASSERT_EQ(r.rc, PNM_MBOX_RC_SUCCESS);
  ASSERT_EQ(r.out.size(), 0x12u);
  EXPECT_EQ(r.out[0x03], 0xFF) << "life used not implemented until the platform sets it";
  EXPECT_EQ(rd16(r.out, 0x04), 0xFFFFu) << "temperature not implemented";
  EXPECT_EQ(r.out[0x02], 0u);

  pnm_health& h = d.ctx->health;
  h.health_status = 0x02;
  h.media_status = 0x00;
  h.life_used_pct = 12;
  h.temperature_c = 45;
  h.dirty_shutdowns = 0x01020304;
  h.corrected_volatile_errors = 0x0A0B0C0D;
  h.corrected_persistent_errors = 7;
  r = d.Exec(0x4200);
  ASSERT_EQ(r.rc, PNM_MBOX_RC_SUCCESS);
  EXPECT_EQ(r.out[0x00], 0x02);
  EXPECT_EQ(r.out[0x01], 0x00);
  EXPECT_EQ(r.out[0x02], 0x00) << "all normal, no warnings enabled";
  EXPECT_EQ(r.out[0x03], 12);
  EXPECT_EQ(rd16(r.out, 0x04), 45u);
  EXPECT_EQ(rd32(r.out, 0x06), 0x01020304u);
  EXPECT_EQ(rd32(r.out, 0x0A), 0x0A0B0C0Du);
  EXPECT_EQ(rd32(r.out, 0x0E), 7u);

  h.temperature_c = -20; // two's complement on the wire
  r = d.Exec(0x4200);
  EXPECT_EQ(rd16(r.out, 0x04), 0xFFECu);
}

TEST(firmwareMailbox, HealthAdditionalStatusFollowsThresholds) {
  Device d;
  pnm_health& h = d.ctx->health;
  pnm_alert_config& a = d.ctx->alerts; // defaults: life 75/90, over 70/85, under 5/0
  a.corr_volatile_warn = 10;
  a.corr_persistent_warn = 3;
  h.life_used_pct = 80;
  h.temperature_c = 30;
  auto extra = [&] { return d.Exec(0x4200).out.at(0x02); };
  EXPECT_EQ(extra(), 0x00) << "life warning threshold crossed but not enabled";
  a.enabled_alerts = PNM_ALERT_ALL;
  EXPECT_EQ(extra(), 0x01) << "life used warning (bits 1:0 = 1)";
  h.life_used_pct = 90;
  EXPECT_EQ(extra(), 0x02) << "life used critical";
  h.life_used_pct = 10;
  h.temperature_c = 72;
  EXPECT_EQ(extra(), 0x04) << "over-temperature warning (bits 3:2 = 1)";
  h.temperature_c = 85;
  EXPECT_EQ(extra(), 0x08) << "over-temperature critical";
  h.temperature_c = 3;
  EXPECT_EQ(extra(), 0x04) << "under-temperature warning";
  h.temperature_c = -1; // 0xFFFF: not implemented, no temperature status
  EXPECT_EQ(extra(), 0x00);
  h.temperature_c = -5;
  EXPECT_EQ(extra(), 0x08) << "under-temperature critical";
  h.temperature_c = 30;
  h.corrected_volatile_errors = 9;
  EXPECT_EQ(extra(), 0x00);
  h.corrected_volatile_errors = 10;
  EXPECT_EQ(extra(), 0x10);
  h.corrected_persistent_errors = 4;
  EXPECT_EQ(extra(), 0x30);
}

TEST(firmwareMailbox, GetAlertConfigLayout) {
  Device d;
  d.ctx->alerts.under_temp_crit = -10;
  d.ctx->alerts.under_temp_warn = -2;
  const Result r = d.Exec(0x4201);
  ASSERT_EQ(r.rc, PNM_MBOX_RC_SUCCESS);
  ASSERT_EQ(r.out.size(), 0x10u);
  EXPECT_EQ(r.out[0x00], PNM_ALERT_ALL) << "valid alerts";
  EXPECT_EQ(r.out[0x01], 0u) << "none enabled";
  EXPECT_EQ(r.out[0x02], 90u) << "life used critical";
  EXPECT_EQ(r.out[0x03], 75u) << "life used warning";
  EXPECT_EQ(rd16(r.out, 0x04), 85u);
  EXPECT_EQ(rd16(r.out, 0x06), 0xFFF6u) << "-10";
  EXPECT_EQ(rd16(r.out, 0x08), 70u);
  EXPECT_EQ(rd16(r.out, 0x0A), 0xFFFEu) << "-2";
  EXPECT_EQ(rd16(r.out, 0x0C), 0u);
  EXPECT_EQ(rd16(r.out, 0x0E), 0u);
}

Bytes SetAlert(uint8_t valid, uint8_t enable, uint8_t life, int16_t over, int16_t under,
               uint16_t corr_v, uint16_t corr_p) {
  Bytes b(0x0C, 0);
  b[0] = valid;
  b[1] = enable;
  b[2] = life;
  wr(b, 0x04, uint16_t(over), 2);
  wr(b, 0x06, uint16_t(under), 2);
  wr(b, 0x08, corr_v, 2);
  wr(b, 0x0A, corr_p, 2);
  return b;
}

TEST(firmwareMailbox, SetAlertConfigProgramsWarnings) {
  Device d;
  ASSERT_EQ(d.Exec(0x4202, SetAlert(0x1F, 0x1B, 50, 60, 10, 100, 200)).rc,
            PNM_MBOX_RC_SUCCESS);
  const Result r = d.Exec(0x4201);
  EXPECT_EQ(r.out[0x01], 0x1B) << "enables follow the enable-actions bits";
  EXPECT_EQ(r.out[0x03], 50u);
  EXPECT_EQ(rd16(r.out, 0x08), 60u);
  EXPECT_EQ(rd16(r.out, 0x0A), 10u);
  EXPECT_EQ(rd16(r.out, 0x0C), 100u);
  EXPECT_EQ(rd16(r.out, 0x0E), 200u);
  // fields whose valid bit is clear are left alone
  ASSERT_EQ(d.Exec(0x4202, SetAlert(0x02, 0x00, 1, 40, 99, 1, 1)).rc, PNM_MBOX_RC_SUCCESS);
  const Result r2 = d.Exec(0x4201);
  EXPECT_EQ(r2.out[0x01], 0x19) << "only over-temperature disabled";
  EXPECT_EQ(r2.out[0x03], 50u);
  EXPECT_EQ(rd16(r2.out, 0x08), 40u);
  EXPECT_EQ(rd16(r2.out, 0x0A), 10u);
  EXPECT_EQ(rd16(r2.out, 0x0C), 100u);
}

TEST(firmwareMailbox, SetAlertConfigRejectsWarningsPastCritical) {
  Device d;
  const Bytes before = d.Exec(0x4201).out;
  // life used: warning must be below critical (90)
  EXPECT_EQ(d.Exec(0x4202, SetAlert(0x01, 0x01, 90, 0, 0, 0, 0)).rc,
            PNM_MBOX_RC_INVALID_INPUT);
  EXPECT_EQ(d.Exec(0x4202, SetAlert(0x01, 0x01, 89, 0, 0, 0, 0)).rc, PNM_MBOX_RC_SUCCESS);
  // over-temperature: below critical (85)
  EXPECT_EQ(d.Exec(0x4202, SetAlert(0x02, 0x02, 0, 85, 0, 0, 0)).rc,
            PNM_MBOX_RC_INVALID_INPUT);
  EXPECT_EQ(d.Exec(0x4202, SetAlert(0x02, 0x02, 0, 84, 0, 0, 0)).rc, PNM_MBOX_RC_SUCCESS);
  // under-temperature: above critical (0)
  EXPECT_EQ(d.Exec(0x4202, SetAlert(0x04, 0x04, 0, 0, 0, 0, 0)).rc,
            PNM_MBOX_RC_INVALID_INPUT);
  EXPECT_EQ(d.Exec(0x4202, SetAlert(0x04, 0x04, 0, 0, -3, 0, 0)).rc,
            PNM_MBOX_RC_INVALID_INPUT) << "negative values compare signed";
  EXPECT_EQ(d.Exec(0x4202, SetAlert(0x04, 0x04, 0, 0, 1, 0, 0)).rc, PNM_MBOX_RC_SUCCESS);

  // a failing request changes nothing, even its valid parts
  Device e;
  EXPECT_EQ(e.Exec(0x4202, SetAlert(0x03, 0x03, 10, 99, 0, 0, 0)).rc,
            PNM_MBOX_RC_INVALID_INPUT);
  EXPECT_EQ(e.Exec(0x4201).out, before);
  // an alert the device does not offer
  e.ctx->alerts.valid_alerts = PNM_ALERT_LIFE_USED;
  EXPECT_EQ(e.Exec(0x4202, SetAlert(0x08, 0x08, 0, 0, 0, 5, 0)).rc, PNM_MBOX_RC_INVALID_INPUT);
}

// ---------------------------------------------------------------------------
// Get/Set Timestamp (0x0300/0x0301)

TEST(firmwareMailbox, TimestampAdvancesWithDeviceTime) {
  Device d;
  Result r = d.Exec(0x0300);
  ASSERT_EQ(r.rc, PNM_MBOX_RC_SUCCESS);
  ASSERT_EQ(r.out.size(), 8u);
  EXPECT_EQ(rd64(r.out, 0), 0u) << "never set";

  const uint64_t host = 1'700'000'000'000'000'000ull; // ns since the epoch
  r = d.Exec(0x0301, U64(host));
  ASSERT_EQ(r.rc, PNM_MBOX_RC_SUCCESS);
  EXPECT_TRUE(r.out.empty());
  EXPECT_EQ(rd64(d.Exec(0x0300).out, 0), host) << "no time has passed";
  d.clock_ns += 1234;
  EXPECT_EQ(rd64(d.Exec(0x0300).out, 0), host + 1234);
  d.clock_ns += 5'000'000'000ull;
  EXPECT_EQ(rd64(d.Exec(0x0300).out, 0), host + 1234 + 5'000'000'000ull);
  // setting again rebases
  ASSERT_EQ(d.Exec(0x0301, U64(42)).rc, PNM_MBOX_RC_SUCCESS);
  d.clock_ns += 8;
  EXPECT_EQ(rd64(d.Exec(0x0300).out, 0), 50u);
}

TEST(firmwareMailbox, TimestampWithClockFieldInsteadOfCallback) {
  Device d;
  d.ctx->now_ns = nullptr;
  d.ctx->now_ns_value = 100;
  ASSERT_EQ(d.Exec(0x0301, U64(1000)).rc, PNM_MBOX_RC_SUCCESS);
  d.ctx->now_ns_value = 350;
  EXPECT_EQ(rd64(d.Exec(0x0300).out, 0), 1250u);
}

TEST(firmwareMailbox, TimestampSurvivesDeviceClockWrap) {
  Device d;
  d.clock_ns = ~0ull - 9;
  ASSERT_EQ(d.Exec(0x0301, U64(1000)).rc, PNM_MBOX_RC_SUCCESS);
  d.clock_ns += 20; // wraps
  EXPECT_EQ(rd64(d.Exec(0x0300).out, 0), 1020u);
}

// ---------------------------------------------------------------------------
// Get Supported Logs (0x0400), Get Log (0x0401): the Command Effects Log

const uint8_t kCelUuid[16] = {0x0d, 0xa9, 0xc0, 0xb5, 0xbf, 0x41, 0x4b, 0x78,
                              0x8f, 0x79, 0x96, 0xb1, 0x62, 0x3b, 0x3f, 0x17};

Bytes GetLog(const uint8_t* uuid, uint32_t offset, uint32_t length) {
  Bytes b(uuid, uuid + 16);
  wr(b, 0x10, offset, 4);
  wr(b, 0x14, length, 4);
  return b;
}

TEST(firmwareMailbox, SupportedLogsListsTheCel) {
  Device d;
  const Result r = d.Exec(0x0400);
  ASSERT_EQ(r.rc, PNM_MBOX_RC_SUCCESS);
  ASSERT_EQ(r.out.size(), 0x1Cu);
  EXPECT_EQ(rd16(r.out, 0x00), 1u) << "one log";
  for (int i = 2; i < 8; ++i) {
    EXPECT_EQ(r.out[i], 0u);
  }
  EXPECT_TRUE(std::equal(kCelUuid, kCelUuid + 16, r.out.begin() + 8));
  EXPECT_EQ(rd32(r.out, 0x18), 4u * std::size(kCommands)) << "CEL size in bytes";
}

TEST(firmwareMailbox, CelHasEveryCommandWithItsEffects) {
  Device d;
  const uint32_t size = 4u * uint32_t(std::size(kCommands));
  const Result r = d.Exec(0x0401, GetLog(kCelUuid, 0, size));
  ASSERT_EQ(r.rc, PNM_MBOX_RC_SUCCESS);
  ASSERT_EQ(r.out.size(), size);
  for (size_t i = 0; i < std::size(kCommands); ++i) {
    const uint16_t op = rd16(r.out, 4 * i);
    EXPECT_EQ(op, kCommands[i].opcode) << "entry " << i;
    EXPECT_EQ(rd16(r.out, 4 * i + 2), pnm_mbox_effects(op)) << std::hex << op;
  }
  EXPECT_EQ(pnm_mbox_effects(0x0300), 0u);
  EXPECT_EQ(pnm_mbox_effects(0x0301), PNM_CEL_POLICY_CHANGE_IMMEDIATE);
  EXPECT_EQ(pnm_mbox_effects(0x4202), PNM_CEL_POLICY_CHANGE_IMMEDIATE);
  EXPECT_EQ(pnm_mbox_effects(0x4301), PNM_CEL_DATA_CHANGE_IMMEDIATE);
  EXPECT_EQ(pnm_mbox_effects(0xC001), PNM_CEL_CONFIG_CHANGE_IMMEDIATE);
  EXPECT_EQ(pnm_mbox_effects(0xC005), 0u);
  EXPECT_EQ(pnm_mbox_effects(0x4400), 0u) << "unsupported";

  // a window in the middle (odd offset, odd length)
  const Result part = d.Exec(0x0401, GetLog(kCelUuid, 5, 7));
  ASSERT_EQ(part.rc, PNM_MBOX_RC_SUCCESS);
  EXPECT_EQ(part.out, Bytes(r.out.begin() + 5, r.out.begin() + 12));
  EXPECT_EQ(d.Exec(0x0401, GetLog(kCelUuid, size, 0)).rc, PNM_MBOX_RC_SUCCESS)
      << "empty read at the end";
}

TEST(firmwareMailbox, GetLogErrors) {
  Device d;
  const uint32_t size = 4u * uint32_t(std::size(kCommands));
  uint8_t other[16];
  std::memcpy(other, kCelUuid, 16);
  other[15] ^= 1;
  EXPECT_EQ(d.Exec(0x0401, GetLog(other, 0, 4)).rc, PNM_MBOX_RC_INVALID_LOG);
  EXPECT_EQ(d.Exec(0x0401, GetLog(kCelUuid, 0, size + 1)).rc, PNM_MBOX_RC_INVALID_INPUT);
  EXPECT_EQ(d.Exec(0x0401, GetLog(kCelUuid, size, 1)).rc, PNM_MBOX_RC_INVALID_INPUT);
  EXPECT_EQ(d.Exec(0x0401, GetLog(kCelUuid, 0xFFFFFFFF, 2)).rc, PNM_MBOX_RC_INVALID_INPUT)
      << "offset + length overflows 32 bits";
  EXPECT_EQ(d.Exec(0x0401, GetLog(kCelUuid, 0, 8), 4).rc, PNM_MBOX_RC_INVALID_INPUT)
      << "more than the payload holds";
}

// ---------------------------------------------------------------------------
// Poison: Get Poison List (0x4300), Inject (0x4301), Clear (0x4302)

Bytes ClearPoison(uint64_t dpa, uint8_t fill) {
  Bytes b(0x48, fill);
  wr(b, 0, dpa, 8);
  return b;
}

TEST(firmwareMailbox, InjectAndListPoison) {
  Device d;
  ASSERT_EQ(d.Exec(0x4301, U64(0x12340)).rc, PNM_MBOX_RC_SUCCESS);
  Result r = d.Exec(0x4300, PoisonQuery(0, kCapacity / 64));
  ASSERT_EQ(r.rc, PNM_MBOX_RC_SUCCESS);
  ASSERT_EQ(r.out.size(), 0x20u + 0x10u);
  EXPECT_EQ(r.out[0x00], 0u) << "flags: no more, no overflow, no scan";
  EXPECT_EQ(rd64(r.out, 0x02), 0u) << "overflow timestamp";
  EXPECT_EQ(rd16(r.out, 0x0A), 1u) << "record count";
  for (int i = 0x0C; i < 0x20; ++i) {
    EXPECT_EQ(r.out[i], 0u) << "reserved " << i;
  }
  const uint64_t addr = rd64(r.out, 0x20);
  EXPECT_EQ(addr & ~0x3Full, 0x12340u) << "DPA in bits 63:6";
  EXPECT_EQ(addr & 0x7, 3u) << "source injected in bits 2:0";
  EXPECT_EQ(addr & 0x38, 0u) << "bits 5:3 reserved";
  EXPECT_EQ(rd32(r.out, 0x28), 1u) << "length: one 64 B line";
  EXPECT_EQ(rd32(r.out, 0x2C), 0u);

  // injecting the same line again changes nothing
  ASSERT_EQ(d.Exec(0x4301, U64(0x12340)).rc, PNM_MBOX_RC_SUCCESS);
  // the next line merges into one record of two lines
  ASSERT_EQ(d.Exec(0x4301, U64(0x12380)).rc, PNM_MBOX_RC_SUCCESS);
  // a line elsewhere makes a second record, sorted by address
  ASSERT_EQ(d.Exec(0x4301, U64(0x40)).rc, PNM_MBOX_RC_SUCCESS);
  r = d.Exec(0x4300, PoisonQuery(0, kCapacity / 64));
  ASSERT_EQ(rd16(r.out, 0x0A), 2u);
  EXPECT_EQ(rd64(r.out, 0x20), 0x40u | 3u);
  EXPECT_EQ(rd32(r.out, 0x28), 1u);
  EXPECT_EQ(rd64(r.out, 0x30), 0x12340u | 3u);
  EXPECT_EQ(rd32(r.out, 0x38), 2u);
}

TEST(firmwareMailbox, PoisonListQueryClipsToRange) {
  Device d;
  for (uint64_t a = 0x1000; a < 0x1000 + 8 * 64; a += 64) {
    ASSERT_EQ(d.Exec(0x4301, U64(a)).rc, PNM_MBOX_RC_SUCCESS);
  }
  // query the middle four lines of the eight-line run
  Result r = d.Exec(0x4300, PoisonQuery(0x1080, 4));
  ASSERT_EQ(r.rc, PNM_MBOX_RC_SUCCESS);
  ASSERT_EQ(rd16(r.out, 0x0A), 1u);
  EXPECT_EQ(rd64(r.out, 0x20), 0x1080u | 3u);
  EXPECT_EQ(rd32(r.out, 0x28), 4u);
  // a range that misses it
  r = d.Exec(0x4300, PoisonQuery(0x2000, 16));
  ASSERT_EQ(r.rc, PNM_MBOX_RC_SUCCESS);
  EXPECT_EQ(rd16(r.out, 0x0A), 0u);
  EXPECT_EQ(r.out.size(), 0x20u);
  // zero length: nothing matches
  r = d.Exec(0x4300, PoisonQuery(0x1000, 0));
  ASSERT_EQ(r.rc, PNM_MBOX_RC_SUCCESS);
  EXPECT_EQ(rd16(r.out, 0x0A), 0u);
}

TEST(firmwareMailbox, PoisonAddressErrors) {
  Device d;
  // Inject
  EXPECT_EQ(d.Exec(0x4301, U64(0x1001)).rc, PNM_MBOX_RC_INVALID_INPUT) << "misaligned";
  EXPECT_EQ(d.Exec(0x4301, U64(0x1020)).rc, PNM_MBOX_RC_INVALID_INPUT) << "32 B aligned only";
  EXPECT_EQ(d.Exec(0x4301, U64(kCapacity)).rc, PNM_MBOX_RC_INVALID_PA);
  EXPECT_EQ(d.Exec(0x4301, U64(~0ull & ~63ull)).rc, PNM_MBOX_RC_INVALID_PA);
  EXPECT_EQ(d.Exec(0x4301, U64(kCapacity - 64)).rc, PNM_MBOX_RC_SUCCESS) << "last line";
  // Clear
  EXPECT_EQ(d.Exec(0x4302, ClearPoison(0x1001, 0)).rc, PNM_MBOX_RC_INVALID_INPUT);
  EXPECT_EQ(d.Exec(0x4302, ClearPoison(kCapacity, 0)).rc, PNM_MBOX_RC_INVALID_PA);
  EXPECT_EQ(d.Exec(0x4302, ClearPoison(~0ull & ~63ull, 0)).rc, PNM_MBOX_RC_INVALID_PA);
  // Get Poison List
  EXPECT_EQ(d.Exec(0x4300, PoisonQuery(0x10, 1)).rc, PNM_MBOX_RC_INVALID_INPUT);
  EXPECT_EQ(d.Exec(0x4300, PoisonQuery(kCapacity, 1)).rc, PNM_MBOX_RC_INVALID_PA);
  EXPECT_EQ(d.Exec(0x4300, PoisonQuery(0, kCapacity / 64 + 1)).rc, PNM_MBOX_RC_INVALID_PA);
  EXPECT_EQ(d.Exec(0x4300, PoisonQuery(kCapacity - 64, 2)).rc, PNM_MBOX_RC_INVALID_PA);
  EXPECT_EQ(d.Exec(0x4300, PoisonQuery(64, ~0ull)).rc, PNM_MBOX_RC_INVALID_PA)
      << "length * 64 overflows";
  EXPECT_EQ(d.Exec(0x4300, PoisonQuery(64, 1ull << 58)).rc, PNM_MBOX_RC_INVALID_PA)
      << "length * 64 wraps to 0";
  EXPECT_EQ(d.Exec(0x4300, PoisonQuery(kCapacity - 64, 1)).rc, PNM_MBOX_RC_SUCCESS);
  EXPECT_EQ(d.Exec(0x4300, PoisonQuery(kCapacity, 0)).rc, PNM_MBOX_RC_SUCCESS)
      << "empty range at the end";
}

TEST(firmwareMailbox, PoisonListMoreRecordsWhenPayloadIsSmall) {
  Device d;
  // five separate records (every other line)
  for (uint64_t i = 0; i < 5; ++i) {
    ASSERT_EQ(d.Exec(0x4301, U64(i * 128)).rc, PNM_MBOX_RC_SUCCESS);
  }
  const Bytes q = PoisonQuery(0, 1024);
  const uint32_t cap = 0x20 + 2 * 0x10; // room for two records
  std::vector<uint64_t> seen;
  for (int call = 0; call < 3; ++call) {
    const Result r = d.Exec(0x4300, q, cap);
    ASSERT_EQ(r.rc, PNM_MBOX_RC_SUCCESS);
    const uint16_t n = rd16(r.out, 0x0A);
    EXPECT_EQ(r.out.size(), 0x20u + 0x10u * n);
    for (uint16_t k = 0; k < n; ++k) {
      seen.push_back(rd64(r.out, 0x20 + 0x10 * k) & ~0x3Full);
    }
    if (call < 2) {
      EXPECT_EQ(n, 2u);
      EXPECT_EQ(r.out[0] & PNM_POISON_FLAG_MORE, PNM_POISON_FLAG_MORE) << call;
    } else {
      EXPECT_EQ(n, 1u);
      EXPECT_EQ(r.out[0] & PNM_POISON_FLAG_MORE, 0) << "last batch";
    }
  }
  EXPECT_EQ(seen, (std::vector<uint64_t>{0, 128, 256, 384, 512}));
  // a fresh query starts over
  const Result again = d.Exec(0x4300, q, cap);
  EXPECT_EQ(rd64(again.out, 0x20) & ~0x3Full, 0u);
  // another command in between also restarts the walk
  ASSERT_EQ(d.Exec(0x4000).rc, PNM_MBOX_RC_SUCCESS);
  EXPECT_EQ(rd64(d.Exec(0x4300, q, cap).out, 0x20) & ~0x3Full, 0u);
  // so does a change of the list
  ASSERT_EQ(d.Exec(0x4301, U64(4096)).rc, PNM_MBOX_RC_SUCCESS);
  EXPECT_EQ(rd64(d.Exec(0x4300, q, cap).out, 0x20) & ~0x3Full, 0u);
}

TEST(firmwareMailbox, InjectLimitReachedWhenListFull) {
  Device d;
  for (uint64_t i = 0; i < PNM_POISON_MAX; ++i) {
    ASSERT_EQ(d.Exec(0x4301, U64(i * 128)).rc, PNM_MBOX_RC_SUCCESS) << i; // no merging
  }
  EXPECT_EQ(d.ctx->poison.count, PNM_POISON_MAX);
  EXPECT_EQ(d.Exec(0x4301, U64(PNM_POISON_MAX * 128)).rc, PNM_MBOX_RC_INJECT_POISON_LIMIT);
  EXPECT_FALSE(d.ctx->poison.overflowed) << "a refused injection loses nothing";
  EXPECT_EQ(d.Exec(0x4301, U64(64)).rc, PNM_MBOX_RC_SUCCESS)
      << "joins two runs: needs no new entry";
  EXPECT_EQ(d.Exec(0x4301, U64(0)).rc, PNM_MBOX_RC_SUCCESS) << "already poisoned";
}

TEST(firmwareMailbox, InjectLimitFromIdentify) {
  Device d;
  d.ctx->inject_poison_limit = 2;
  EXPECT_EQ(d.Exec(0x4301, U64(0)).rc, PNM_MBOX_RC_SUCCESS);
  EXPECT_EQ(d.Exec(0x4301, U64(4096)).rc, PNM_MBOX_RC_SUCCESS);
  EXPECT_EQ(d.Exec(0x4301, U64(8192)).rc, PNM_MBOX_RC_INJECT_POISON_LIMIT);
  EXPECT_EQ(d.Exec(0x4302, ClearPoison(0, 0)).rc, PNM_MBOX_RC_SUCCESS);
  EXPECT_EQ(d.Exec(0x4301, U64(8192)).rc, PNM_MBOX_RC_SUCCESS) << "room again after a clear";
  // media errors found by the device do not count against the injection limit
  EXPECT_EQ(pnm_poison_mark(&d.ctx->poison, 1 << 20, PNM_POISON_SRC_INTERNAL, 0),
            PNM_POISON_CHANGED);
  EXPECT_EQ(d.Exec(0x4301, U64(1 << 21)).rc, PNM_MBOX_RC_INJECT_POISON_LIMIT);
}

TEST(firmwareMailbox, ClearPoisonWritesDataAndSplitsRuns) {
  Device d;
  for (uint64_t a = 0x4000; a < 0x4000 + 5 * 64; a += 64) {
    ASSERT_EQ(d.Exec(0x4301, U64(a)).rc, PNM_MBOX_RC_SUCCESS);
  }
  const Result c = d.Exec(0x4302, ClearPoison(0x4080, 0x5A));
  ASSERT_EQ(c.rc, PNM_MBOX_RC_SUCCESS);
  EXPECT_TRUE(c.out.empty());
  EXPECT_EQ(d.written_dpa, 0x4080u);
  EXPECT_EQ(d.written_data, Bytes(64, 0x5A));
  const Result r = d.Exec(0x4300, PoisonQuery(0, 1024));
  ASSERT_EQ(rd16(r.out, 0x0A), 2u);
  EXPECT_EQ(rd64(r.out, 0x20), 0x4000u | 3u);
  EXPECT_EQ(rd32(r.out, 0x28), 2u);
  EXPECT_EQ(rd64(r.out, 0x30), 0x40C0u | 3u);
  EXPECT_EQ(rd32(r.out, 0x38), 2u);
  // clearing a clean line is not an error and still writes the data
  d.written_dpa = 0;
  EXPECT_EQ(d.Exec(0x4302, ClearPoison(0x8000, 1)).rc, PNM_MBOX_RC_SUCCESS);
  EXPECT_EQ(d.written_dpa, 0x8000u);
  // a failing media write leaves the poison in place
  d.write_result = -1;
  EXPECT_EQ(d.Exec(0x4302, ClearPoison(0x4000, 0)).rc, PNM_MBOX_RC_INTERNAL);
  EXPECT_TRUE(pnm_poison_hit(&d.ctx->poison, 0x4000, 64));
}

TEST(firmwareMailbox, PoisonOverflowIsReportedWithItsTimestamp) {
  Device d;
  ASSERT_EQ(d.Exec(0x0301, U64(1'000'000)).rc, PNM_MBOX_RC_SUCCESS);
  d.clock_ns += 77;
  for (uint64_t i = 0; i < PNM_POISON_MAX; ++i) {
    ASSERT_EQ(pnm_poison_mark(&d.ctx->poison, i * 128, PNM_POISON_SRC_INTERNAL,
                              pnm_mbox_timestamp(d.ctx.get())),
              PNM_POISON_CHANGED);
  }
  EXPECT_EQ(pnm_poison_mark(&d.ctx->poison, 1ull << 30, PNM_POISON_SRC_EXTERNAL,
                            pnm_mbox_timestamp(d.ctx.get())),
            PNM_POISON_OVERFLOW);
  const Result r = d.Exec(0x4300, PoisonQuery(0, 1)); // the first line only
  ASSERT_EQ(r.rc, PNM_MBOX_RC_SUCCESS);
  EXPECT_EQ(r.out[0] & PNM_POISON_FLAG_OVERFLOW, PNM_POISON_FLAG_OVERFLOW);
  EXPECT_EQ(rd64(r.out, 0x02), 1'000'077u);
  EXPECT_EQ(rd16(r.out, 0x0A), 1u);
  EXPECT_EQ(rd64(r.out, 0x20) & 7, 2u) << "source internal";
}

// ---------------------------------------------------------------------------
// vendor PNM commands (0xC000..0xC006)

TEST(firmwareMailbox, PnmCapabilitiesLayout) {
  Device d;
  const Result r = d.Exec(0xC000);
  ASSERT_EQ(r.rc, PNM_MBOX_RC_SUCCESS);
  ASSERT_EQ(r.out.size(), 0x20u);
  EXPECT_EQ(rd16(r.out, 0x00), 1u) << "layout version";
  EXPECT_EQ(rd16(r.out, 0x02), 1u) << "job descriptor version";
  EXPECT_EQ(rd16(r.out, 0x04), 32u) << "lanes";
  EXPECT_EQ(r.out[0x06], 1u) << "engines";
  EXPECT_EQ(r.out[0x07], 0x03u) << "BF16 | INT8";
  EXPECT_EQ(rd16(r.out, 0x08), PNM_TENANTS_MAX);
  EXPECT_EQ(rd16(r.out, 0x0A), PNM_QUEUES_MAX);
  EXPECT_EQ(rd16(r.out, 0x0C), 2u);
  EXPECT_EQ(rd16(r.out, 0x0E), 4096u);
  EXPECT_EQ(r.out[0x10], 6u) << "SQ entry 64 B";
  EXPECT_EQ(r.out[0x11], 4u) << "CQ entry 16 B";
  EXPECT_EQ(r.out[0x12], 21u) << "tenant granule 2 MiB";
  EXPECT_EQ(r.out[0x13], 6u) << "ring base alignment 64 B";
  for (int i = 0x14; i < 0x20; ++i) {
    EXPECT_EQ(r.out[i], 0u) << i;
  }
}

TEST(firmwareMailbox, CreateTenantAndReadItBack) {
  Device d;
  Result r = d.Exec(0xC001, CreateTenant(7, 64 * MiB, 32 * MiB));
  ASSERT_EQ(r.rc, PNM_MBOX_RC_SUCCESS);
  EXPECT_TRUE(r.out.empty());
  r = d.Exec(0xC006, Id16(7));
  ASSERT_EQ(r.rc, PNM_MBOX_RC_SUCCESS);
  ASSERT_EQ(r.out.size(), 0x28u) << "no queues yet";
  EXPECT_EQ(rd16(r.out, 0x00), 7u);
  EXPECT_EQ(rd16(r.out, 0x02), 0u);
  EXPECT_EQ(rd32(r.out, 0x04), 0u);
  EXPECT_EQ(rd64(r.out, 0x08), 64 * MiB);
  EXPECT_EQ(rd64(r.out, 0x10), 32 * MiB);
  EXPECT_EQ(rd64(r.out, 0x18), 0u);
  EXPECT_EQ(rd64(r.out, 0x20), 0u);
  EXPECT_EQ(d.Exec(0xC006, Id16(8)).rc, PNM_MBOX_RC_INVALID_INPUT) << "no such tenant";
}

TEST(firmwareMailbox, CreateTenantErrors) {
  Device d;
  ASSERT_EQ(d.Exec(0xC001, CreateTenant(1, 0, 16 * MiB)).rc, PNM_MBOX_RC_SUCCESS);
  EXPECT_EQ(d.Exec(0xC001, CreateTenant(1, 64 * MiB, 2 * MiB)).rc, PNM_MBOX_RC_INVALID_INPUT)
      << "id in use";
  EXPECT_EQ(d.Exec(0xC001, CreateTenant(2, 14 * MiB, 4 * MiB)).rc, PNM_MBOX_RC_INVALID_INPUT)
      << "overlaps tenant 1";
  EXPECT_EQ(d.Exec(0xC001, CreateTenant(2, 1 * MiB, 2 * MiB)).rc, PNM_MBOX_RC_INVALID_INPUT)
      << "base not 2 MiB aligned";
  EXPECT_EQ(d.Exec(0xC001, CreateTenant(2, 16 * MiB, 3 * MiB)).rc, PNM_MBOX_RC_INVALID_INPUT)
      << "length not 2 MiB multiple";
  EXPECT_EQ(d.Exec(0xC001, CreateTenant(2, 16 * MiB, 0)).rc, PNM_MBOX_RC_INVALID_INPUT)
      << "empty";
  EXPECT_EQ(d.Exec(0xC001, CreateTenant(0xFFFF, 16 * MiB, 2 * MiB)).rc,
            PNM_MBOX_RC_INVALID_INPUT) << "reserved id";
  EXPECT_EQ(d.Exec(0xC001, CreateTenant(2, kCapacity - 2 * MiB, 4 * MiB)).rc,
            PNM_MBOX_RC_INVALID_PA) << "runs past the capacity";
  EXPECT_EQ(d.Exec(0xC001, CreateTenant(2, ~0ull & ~(2 * MiB - 1), 4 * MiB)).rc,
            PNM_MBOX_RC_INVALID_PA) << "base + length wraps";
  EXPECT_EQ(d.Exec(0xC001, CreateTenant(2, 16 * MiB, 2 * MiB)).rc, PNM_MBOX_RC_SUCCESS)
      << "adjacent is fine";
  EXPECT_EQ(d.Exec(0xC001, CreateTenant(3, kCapacity - 2 * MiB, 2 * MiB)).rc,
            PNM_MBOX_RC_SUCCESS) << "last granule";
}

TEST(firmwareMailbox, TenantTableFullIsResourcesExhausted) {
  Device d;
  for (uint16_t i = 0; i < PNM_TENANTS_MAX; ++i) {
    ASSERT_EQ(d.Exec(0xC001, CreateTenant(i, i * 2 * MiB, 2 * MiB)).rc, PNM_MBOX_RC_SUCCESS);
  }
  EXPECT_EQ(d.Exec(0xC001, CreateTenant(100, 1 * GiB, 2 * MiB)).rc,
            PNM_MBOX_RC_RESOURCES_EXHAUSTED);
  ASSERT_EQ(d.Exec(0xC002, Id16(3)).rc, PNM_MBOX_RC_SUCCESS);
  EXPECT_EQ(d.Exec(0xC001, CreateTenant(100, 1 * GiB, 2 * MiB)).rc, PNM_MBOX_RC_SUCCESS);
}

TEST(firmwareMailbox, QueuePairLifecycle) {
  Device d;
  const uint64_t base = 256 * MiB;
  ASSERT_EQ(d.Exec(0xC001, CreateTenant(5, base, 4 * MiB)).rc, PNM_MBOX_RC_SUCCESS);
  Result r = d.Exec(0xC003, CreateQueue(5, 64, base, base + 64 * 64));
  ASSERT_EQ(r.rc, PNM_MBOX_RC_SUCCESS);
  ASSERT_EQ(r.out.size(), 4u);
  EXPECT_EQ(rd16(r.out, 0), 0u) << "first queue id";
  EXPECT_EQ(rd16(r.out, 2), 0u);
  r = d.Exec(0xC003, CreateQueue(5, 4096, base + 1 * MiB, base + 2 * MiB));
  ASSERT_EQ(r.rc, PNM_MBOX_RC_SUCCESS);
  EXPECT_EQ(rd16(r.out, 0), 1u);

  r = d.Exec(0xC006, Id16(5));
  ASSERT_EQ(r.rc, PNM_MBOX_RC_SUCCESS);
  ASSERT_EQ(r.out.size(), 0x28u + 4u);
  EXPECT_EQ(rd16(r.out, 0x02), 2u) << "queue count";
  EXPECT_EQ(rd16(r.out, 0x28), 0u);
  EXPECT_EQ(rd16(r.out, 0x2A), 1u);

  EXPECT_EQ(d.Exec(0xC002, Id16(5)).rc, PNM_MBOX_RC_BUSY) << "tenant still has queues";
  EXPECT_EQ(d.Exec(0xC004, Id16(0)).rc, PNM_MBOX_RC_SUCCESS);
  EXPECT_EQ(d.Exec(0xC004, Id16(0)).rc, PNM_MBOX_RC_INVALID_INPUT) << "already gone";
  EXPECT_EQ(d.Exec(0xC002, Id16(5)).rc, PNM_MBOX_RC_BUSY);
  EXPECT_EQ(d.Exec(0xC004, Id16(1)).rc, PNM_MBOX_RC_SUCCESS);
  EXPECT_EQ(d.Exec(0xC002, Id16(5)).rc, PNM_MBOX_RC_SUCCESS);
  EXPECT_EQ(d.Exec(0xC002, Id16(5)).rc, PNM_MBOX_RC_INVALID_INPUT) << "no such tenant";
  EXPECT_EQ(d.Exec(0xC004, Id16(0xFFFF)).rc, PNM_MBOX_RC_INVALID_INPUT);
}

TEST(firmwareMailbox, CreateQueueErrors) {
  Device d;
  const uint64_t base = 512 * MiB;
  const uint64_t end = base + 2 * MiB;
  ASSERT_EQ(d.Exec(0xC001, CreateTenant(1, base, 2 * MiB)).rc, PNM_MBOX_RC_SUCCESS);
  ASSERT_EQ(d.Exec(0xC001, CreateTenant(2, end, 2 * MiB)).rc, PNM_MBOX_RC_SUCCESS);
  const uint64_t cq = base + 1 * MiB;
  EXPECT_EQ(d.Exec(0xC003, CreateQueue(9, 64, base, cq)).rc, PNM_MBOX_RC_INVALID_INPUT)
      << "no such tenant";
  for (uint16_t bad : {0, 1, 3, 48, 8192}) {
    EXPECT_EQ(d.Exec(0xC003, CreateQueue(1, bad, base, cq)).rc, PNM_MBOX_RC_INVALID_INPUT)
        << bad << " entries";
  }
  EXPECT_EQ(d.Exec(0xC003, CreateQueue(1, 64, base + 32, cq)).rc, PNM_MBOX_RC_INVALID_INPUT)
      << "SQ base not 64 B aligned";
  EXPECT_EQ(d.Exec(0xC003, CreateQueue(1, 64, base, cq + 16)).rc, PNM_MBOX_RC_INVALID_INPUT)
      << "CQ base not 64 B aligned";
  EXPECT_EQ(d.Exec(0xC003, CreateQueue(1, 64, base - 4096, cq)).rc, PNM_MBOX_RC_INVALID_INPUT)
      << "SQ below the tenant";
  EXPECT_EQ(d.Exec(0xC003, CreateQueue(1, 64, end - 64 * 64 + 64, cq)).rc,
            PNM_MBOX_RC_INVALID_INPUT) << "SQ runs into tenant 2";
  EXPECT_EQ(d.Exec(0xC003, CreateQueue(1, 64, base, end - 64 * 16 + 64)).rc,
            PNM_MBOX_RC_INVALID_INPUT) << "CQ runs past the tenant's end";
  EXPECT_EQ(d.Exec(0xC003, CreateQueue(1, 64, base, end + 4096)).rc, PNM_MBOX_RC_INVALID_INPUT)
      << "CQ inside another tenant";
  EXPECT_EQ(d.Exec(0xC003, CreateQueue(1, 64, base, base + 64 * 64 - 64)).rc,
            PNM_MBOX_RC_INVALID_INPUT) << "SQ and CQ overlap";
  EXPECT_EQ(d.Exec(0xC003, CreateQueue(1, 64, ~0ull & ~63ull, cq)).rc,
            PNM_MBOX_RC_INVALID_INPUT) << "ring wraps the address space";
  // exactly at the end works
  ASSERT_EQ(d.Exec(0xC003, CreateQueue(1, 64, end - 64 * 64, end - 64 * 64 - 64 * 16)).rc,
            PNM_MBOX_RC_SUCCESS);
  EXPECT_EQ(d.Exec(0xC003, CreateQueue(1, 2, end - 64 * 64 + 128, base)).rc,
            PNM_MBOX_RC_INVALID_INPUT) << "overlaps the first queue's SQ";
  EXPECT_EQ(d.Exec(0xC003, CreateQueue(1, 2, base, end - 64 * 64 - 32)).rc,
            PNM_MBOX_RC_INVALID_INPUT) << "CQ base misaligned";
  EXPECT_EQ(d.Exec(0xC003, CreateQueue(1, 2, base, end - 64 * 64 - 64)).rc,
            PNM_MBOX_RC_INVALID_INPUT) << "overlaps the first queue's CQ";
}

TEST(firmwareMailbox, QueueTableFullIsResourcesExhausted) {
  Device d;
  ASSERT_EQ(d.Exec(0xC001, CreateTenant(1, 0, 2 * MiB)).rc, PNM_MBOX_RC_SUCCESS);
  for (uint64_t i = 0; i < PNM_QUEUES_MAX; ++i) {
    const uint64_t sq = i * 256;  // 2 entries: 128 B SQ + 32 B CQ
    const Result r = d.Exec(0xC003, CreateQueue(1, 2, sq, sq + 128));
    ASSERT_EQ(r.rc, PNM_MBOX_RC_SUCCESS) << i;
    EXPECT_EQ(rd16(r.out, 0), i);
  }
  EXPECT_EQ(d.Exec(0xC003, CreateQueue(1, 2, 1 * MiB, 1 * MiB + 128)).rc,
            PNM_MBOX_RC_RESOURCES_EXHAUSTED);
  const Result info = d.Exec(0xC006, Id16(1));
  ASSERT_EQ(info.rc, PNM_MBOX_RC_SUCCESS);
  EXPECT_EQ(info.out.size(), 0x28u + 2u * PNM_QUEUES_MAX) << "fits a 256 B payload";
  EXPECT_LE(info.out.size(), 256u);
  EXPECT_EQ(rd16(info.out, 0x28 + 2 * 63), 63u);
}

TEST(firmwareMailbox, DestroyQueueWithWorkIsBusy) {
  Device d;
  ASSERT_EQ(d.Exec(0xC001, CreateTenant(1, 0, 2 * MiB)).rc, PNM_MBOX_RC_SUCCESS);
  ASSERT_EQ(d.Exec(0xC003, CreateQueue(1, 8, 0, 4096)).rc, PNM_MBOX_RC_SUCCESS);
  pnm_queue* q = pnm_queue_find_mut(&d.ctx->tenants, 0);
  ASSERT_NE(q, nullptr);
  ASSERT_EQ(pnm_ring_set_tail(&q->sq, 2), 0); // host submitted two jobs
  EXPECT_EQ(d.Exec(0xC004, Id16(0)).rc, PNM_MBOX_RC_BUSY);
  ASSERT_GE(pnm_ring_consume(&q->sq), 0);
  ASSERT_GE(pnm_ring_consume(&q->sq), 0);
  q->inflight = 2;
  EXPECT_EQ(d.Exec(0xC004, Id16(0)).rc, PNM_MBOX_RC_BUSY) << "jobs still running";
  q->inflight = 0;
  EXPECT_EQ(d.Exec(0xC004, Id16(0)).rc, PNM_MBOX_RC_SUCCESS);
}

TEST(firmwareMailbox, PerformanceCountersLayout) {
  Device d;
  pnm_perf_counters& p = d.ctx->perf;
  p.jobs_completed = 1;
  p.jobs_failed = 2;
  p.engine_busy_cycles = 3;
  p.dram_bytes_read = 4;
  p.dram_bytes_written = 5;
  p.link_bytes_rx = 6;
  p.link_bytes_tx = 7;
  p.instructions_retired = 0x0102030405060708ull;
  for (unsigned i = 0; i < PNM_ENERGY_CLASSES; ++i) {
    p.energy_pj[i] = 1000 + i;
  }
  d.clock_ns = 0xAABBCCDD;
  const Result r = d.Exec(0xC005);
  ASSERT_EQ(r.rc, PNM_MBOX_RC_SUCCESS);
  ASSERT_EQ(r.out.size(), 0x80u);
  EXPECT_EQ(rd16(r.out, 0x00), 1u) << "layout version";
  EXPECT_EQ(rd16(r.out, 0x02), 6u) << "energy classes";
  EXPECT_EQ(rd32(r.out, 0x04), 0u);
  EXPECT_EQ(rd64(r.out, 0x08), 0xAABBCCDDu) << "device time of the sample";
  for (unsigned i = 0; i < 7; ++i) {
    EXPECT_EQ(rd64(r.out, 0x10 + 8 * i), i + 1) << i;
  }
  EXPECT_EQ(rd64(r.out, 0x48), 0x0102030405060708ull);
  EXPECT_EQ(r.out[0x48], 0x08) << "little-endian";
  for (unsigned i = 0; i < PNM_ENERGY_CLASSES; ++i) {
    EXPECT_EQ(rd64(r.out, 0x50 + 8 * i), 1000u + i) << "energy class " << i;
  }
}

} // namespace
