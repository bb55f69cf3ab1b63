// pnmvp identify / health / poison / mailbox: the CXL memory-device commands,
// answered by the reference device's own firmware. Each run boots a fresh
// device (new SystemC kernel, firmware from reset) and talks to it through
// libpnm's mailbox; output payloads go through sw/mbox's decoders, so JSON
// field names are the CXL specification's (snake_case, as Linux names them).
#include "commands.h"
#include "driver/device.h"
#include "system.h"
#include "mbox/mbox_decode.h"
#include "mbox/mbox_script.h"
#include "platform.h"
#include <pnmvp/hw/mailbox.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <fmt/format.h>
#include <functional>
#include <iostream>
#include <memory>
#include <optional>
#include <systemc>
#include "common/sim_kernel.h"

namespace pnm::cli {

namespace {
using ojson = nlohmann::ordered_json;
using Bytes = std::vector<uint8_t>;

constexpr const char* kExitCodes =
    "Exit codes: 0 success; 1 the device refused the command or the simulation failed; "
    "2 bad input (a malformed number, or the device answered Invalid Input / Invalid Physical "
    "Address).\nEach run boots a fresh device: state such as injected poison does not carry over "
    "to the next run (use `pnmvp mailbox --script` for sequences).";

// Bad input from the user: exit 2 (device and driver failures exit 1).
struct InputError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

struct DeviceOpts {
  Target target;
  unsigned device = 0; // which of the system's devices
  bool json = false;
  std::string dpa, length;
};

SystemConfig device_system(const Target& t, unsigned device, const char* what) {
  SystemConfig sc = select_system(t.system, t.platform);
  if (device >= sc.devices.size())
    throw InputError(fmt::format("--device {}: {} has {} device(s) (0..{})", device, sc.name, sc.devices.size(),
                                 sc.devices.size() - 1));
  const PlatformConfig& pc = sc.devices[device].platform;
  if (!pc.controller.present)
    throw ConfigError(fmt::format("{}: device needs a \"controller\" section for {}", pc.file, what));
  return sc;
}

// Boots the system on a fresh SystemC kernel (each System needs its own)
// and runs `program` against device `device` through the driver.
void with_device(const SystemConfig& sc, unsigned device, const std::function<void(sw::Device&)>& program) {
  pnm::fresh_sim_kernel();
  System sys(sc);
  const std::vector<size_t> mine = sys.devices_of(0);
  const auto k = std::find(mine.begin(), mine.end(), size_t{device});
  if (k == mine.end()) throw InputError(fmt::format("--device {}: not on the system's first host", device));
  sys.run_host([&](const std::vector<sw::Backend*>& backends) {
    sw::Backend& b = *backends[static_cast<size_t>(k - mine.begin())];
    sw::Device dev(b);
    program(dev);
  });
}

// Decimal or 0x hex, the whole string, 64 bits.
uint64_t parse_u64(const std::string& s, const char* opt) {
  const bool hex = s.size() > 2 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X');
  const std::string digits = hex ? s.substr(2) : s;
  const std::string allowed = hex ? "0123456789abcdefABCDEF" : "0123456789";
  if (digits.empty() || digits.size() > (hex ? 16u : 20u) ||
      digits.find_first_not_of(allowed) != std::string::npos)
    throw InputError(fmt::format("{} '{}': not a number (decimal or 0x hex)", opt, s));
  errno = 0;
  const uint64_t v = std::strtoull(digits.c_str(), nullptr, hex ? 16 : 10);
  if (errno == ERANGE) throw InputError(fmt::format("{} '{}': larger than 64 bits", opt, s));
  return v;
}

// The decoded output in payload order: result_line() builds it with the
// decoders' ordered JSON, where decode_output() hands back sorted keys.
ojson decoded(uint16_t opcode, const sw::MailboxResult& r, const Bytes& in = {}) {
  const sw::mbox::ScriptCommand cmd{0, opcode, in};
  return ojson::parse(sw::mbox::result_line(cmd, r.return_code, r.payload))["decoded"];
}

// A command the device refused: the return code's spec name on stderr (and
// as JSON on stdout with --json). Invalid Input / Invalid PA mean the user's
// arguments were wrong (exit 2); anything else is the device's (exit 1).
int refused(uint16_t opcode, uint16_t rc, const std::string& what, const std::string& hint, bool json) {
  const std::string name = pnm_mbox_rc_name(rc);
  std::cerr << fmt::format("pnmvp: {} failed: {} (return code 0x{:02X}){}\n", what, name, rc,
                           hint.empty() ? "" : ": " + hint);
  if (json) {
    ojson j;
    j["opcode"] = sw::mbox::opcode_string(opcode);
    j["opcode_name"] = pnm_mbox_opcode_name(opcode);
    j["return_code"] = rc;
    j["return_name"] = name;
    j["error"] = what + (hint.empty() ? "" : ": " + hint);
    std::cout << j.dump() << "\n";
  }
  return rc == PNM_MBOX_RC_INVALID_INPUT || rc == PNM_MBOX_RC_INVALID_PA ? 2 : 1;
}

std::string bytes_text(uint64_t b) {
  if (b == 0) return "0 B";
  if (b % (1ull << 30) == 0) return fmt::format("{} GiB", b >> 30);
  if (b % (1ull << 20) == 0) return fmt::format("{} MiB", b >> 20);
  if (b % (1ull << 10) == 0) return fmt::format("{} KiB", b >> 10);
  return fmt::format("{} B", b);
}

// "a, b" of a *_bits list, or `none`.
std::string bit_list(const ojson& bits, const char* none) {
  std::string s;
  for (const auto& b : bits) s += (s.empty() ? "" : ", ") + b.get<std::string>();
  return s.empty() ? none : s;
}

// Hints for the poison commands' address checks (the firmware's order).
std::string dpa_hint(uint16_t rc, uint64_t dpa) {
  if (rc == PNM_MBOX_RC_INVALID_INPUT && dpa % PNM_POISON_LINE_BYTES)
    return fmt::format("DPA 0x{:x} is not {}-byte aligned", dpa, PNM_POISON_LINE_BYTES);
  if (rc == PNM_MBOX_RC_INVALID_PA) return "the range is beyond the device's capacity";
  return "";
}

// ---- identify ----------------------------------------------------------------------------

void print_identify(const ojson& j) {
  auto u = [&](const char* k) { return j.value(k, uint64_t{0}); };
  std::cout << fmt::format("firmware revision        {}\n", j.value("fw_revision", std::string()));
  std::cout << fmt::format("total capacity           {} ({} bytes)\n", bytes_text(u("total_capacity_bytes")),
                           u("total_capacity_bytes"));
  std::cout << fmt::format("volatile-only capacity   {}\n", bytes_text(u("volatile_only_capacity_bytes")));
  std::cout << fmt::format("persistent-only capacity {}\n", bytes_text(u("persistent_only_capacity_bytes")));
  const uint64_t align = u("partition_alignment_bytes");
  std::cout << fmt::format("partition alignment      {}\n", align ? bytes_text(align) : "not partitionable");
  std::cout << fmt::format("event log sizes          info {}, warning {}, failure {}, fatal {} records\n",
                           u("info_event_log_size"), u("warning_event_log_size"), u("failure_event_log_size"),
                           u("fatal_event_log_size"));
  std::cout << fmt::format("label storage area       {}\n", bytes_text(u("lsa_size")));
  std::cout << fmt::format("poison list maximum      {} records\n", u("poison_list_max_mer"));
  const uint64_t limit = u("inject_poison_limit");
  std::cout << fmt::format("inject poison limit      {}\n",
                           limit ? std::to_string(limit) : std::string("none (the poison list's size)"));
  std::cout << fmt::format("poison handling caps     0x{:02x}\n", u("poison_handling_capabilities"));
  std::cout << fmt::format("QoS telemetry caps       0x{:02x}\n", u("qos_telemetry_capabilities"));
  if (j.value("truncated", false)) std::cout << "(the device's answer was shorter than the layout)\n";
}

// ---- health ------------------------------------------------------------------------------

void print_health(const ojson& j) {
  std::cout << fmt::format("health status                {}\n",
                           bit_list(j.value("health_status_bits", ojson::array()), "ok"));
  std::cout << fmt::format("media status                 {}\n",
                           j.value("media_status_name", std::string("?")));
  const ojson& life = j.contains("life_used") ? j["life_used"] : ojson();
  std::cout << fmt::format("life used                    {} ({})\n",
                           life.is_number() ? fmt::format("{} %", life.get<unsigned>()) : "not reported",
                           j.value("life_used_status", std::string("?")));
  const ojson& temp = j.contains("device_temperature") ? j["device_temperature"] : ojson();
  std::cout << fmt::format("device temperature           {} ({})\n",
                           temp.is_number() ? fmt::format("{} C", temp.get<int>()) : "not reported",
                           j.value("device_temperature_status", std::string("?")));
  std::cout << fmt::format("dirty shutdowns              {}\n", j.value("dirty_shutdown_count", uint64_t{0}));
  std::cout << fmt::format("corrected volatile errors    {} ({})\n",
                           j.value("corrected_volatile_error_count", uint64_t{0}),
                           j.value("corrected_volatile_error_count_status", std::string("?")));
  std::cout << fmt::format("corrected persistent errors  {} ({})\n",
                           j.value("corrected_persistent_error_count", uint64_t{0}),
                           j.value("corrected_persistent_error_count_status", std::string("?")));
}

// ---- poison ------------------------------------------------------------------------------

// Get Poison List over [start, start + units * 64), following "more records"
// (a 2 KiB mailbox holds 126 of the list's up to 256 records). The pages'
// records are merged into one decoded object; header fields are the last page's.
int poison_list(sw::Device& dev, uint64_t start, uint64_t units, bool json) {
  Bytes in(PNM_MBOX_POISON_GET_IN_LEN, 0);
  pnm_le64_put(&in[0x00], start);
  pnm_le64_put(&in[0x08], units);
  const std::string what =
      fmt::format("Get Poison List of {} B at DPA 0x{:x}", units * PNM_POISON_LINE_BYTES, start);
  ojson records = ojson::array(), last;
  for (unsigned page = 0;; ++page) {
    const sw::MailboxResult r = dev.mailbox(PNM_MBOX_OP_GET_POISON, in);
    if (r.return_code != PNM_MBOX_RC_SUCCESS)
      return refused(PNM_MBOX_OP_GET_POISON, r.return_code, what, dpa_hint(r.return_code, start), json);
    last = decoded(PNM_MBOX_OP_GET_POISON, r, in);
    for (auto& rec : last["media_error_records"]) records.push_back(rec);
    if (!(last.value("poison_list_flags", 0u) & PNM_POISON_FLAG_MORE)) break;
    if (page > PNM_POISON_MAX) throw sw::DriverError(what + ": the device keeps reporting more records");
  }
  last["media_error_record_count"] = records.size();
  last["media_error_records"] = std::move(records);
  if (json) {
    std::cout << last.dump() << "\n";
    return 0;
  }
  const ojson& recs = last["media_error_records"];
  std::cout << fmt::format("poison list of DPA 0x{:x}..0x{:x}: {} record{}\n", start, start + units * 64,
                           recs.size(), recs.size() == 1 ? "" : "s");
  for (const auto& r : recs)
    std::cout << fmt::format("  DPA 0x{:012x}  {:>10}  source {}\n", r["dpa"].get<uint64_t>(),
                             bytes_text(r["length_bytes"].get<uint64_t>()),
                             r["error_source_name"].get<std::string>());
  const unsigned flags = last.value("poison_list_flags", 0u);
  if (flags & PNM_POISON_FLAG_OVERFLOW)
    std::cout << fmt::format("  the list overflowed at timestamp {}: it is incomplete\n",
                             last.value("overflow_timestamp", uint64_t{0}));
  if (flags & PNM_POISON_FLAG_SCANNING) std::cout << "  a media scan is in progress\n";
  return 0;
}

// Inject Poison / Clear Poison of the 64 B line at `dpa`. Clear writes zeros
// as the replacement data, as Linux's cxl clear-poison does.
int poison_change(sw::Device& dev, uint16_t opcode, uint64_t dpa, bool json) {
  const bool inject = opcode == PNM_MBOX_OP_INJECT_POISON;
  Bytes in(inject ? PNM_MBOX_POISON_INJECT_IN_LEN : PNM_MBOX_POISON_CLEAR_IN_LEN, 0);
  pnm_le64_put(&in[0], dpa);
  const sw::MailboxResult r = dev.mailbox(opcode, in);
  const std::string what = fmt::format("{} at DPA 0x{:x}", pnm_mbox_opcode_name(opcode), dpa);
  if (r.return_code != PNM_MBOX_RC_SUCCESS)
    return refused(opcode, r.return_code, what, dpa_hint(r.return_code, dpa), json);
  if (json) {
    ojson j;
    j["opcode"] = sw::mbox::opcode_string(opcode);
    j["opcode_name"] = pnm_mbox_opcode_name(opcode);
    j["dpa"] = dpa;
    j["length_bytes"] = PNM_POISON_LINE_BYTES;
    j["return_code"] = r.return_code;
    j["return_name"] = pnm_mbox_rc_name(r.return_code);
    std::cout << j.dump() << "\n";
  } else {
    std::cout << fmt::format("{}: {} B line at DPA 0x{:x}{}\n", inject ? "poison injected" : "poison cleared",
                             PNM_POISON_LINE_BYTES, dpa, inject ? "" : " (replaced with zeros)");
  }
  return 0;
}

// ---- mailbox --script ----------------------------------------------------------------------

constexpr uint32_t kMboxControl = 0x04; // CXL mailbox control register: bit 0 doorbell

bool mailbox_busy(sw::Device& dev) {
  return dev.backend().mmio_read32(dev.mailbox_base() + kMboxControl) & 1u;
}

// Waits up to `timeout_ns` for a timed-out command to leave the mailbox.
bool wait_mailbox_idle(sw::Device& dev, double timeout_ns) {
  const double deadline = dev.backend().now_ns() + timeout_ns;
  while (mailbox_busy(dev)) {
    if (dev.backend().now_ns() > deadline) return false;
    dev.backend().sleep_ns(500);
  }
  return true;
}

struct ScriptOpts {
  Target target;
  unsigned device = 0;
  std::string script;
  double timeout_ms = 2000;
};

int run_script(const ScriptOpts& o) {
  std::vector<sw::mbox::ScriptCommand> cmds;
  try {
    cmds = sw::mbox::load_script(o.script); // all of it before the device sees line 1
  } catch (const sw::mbox::ScriptError& e) {
    std::cerr << "pnmvp: mailbox script error: " << e.what() << "\n";
    return 2;
  }
  const SystemConfig sc = device_system(o.target, o.device, "mailbox");
  unsigned timeouts = 0;
  try {
    with_device(sc, o.device, [&](sw::Device& dev) {
      // The script is valid for any mailbox; this one's payload size is known only now.
      for (const auto& c : cmds)
        if (c.payload.size() > dev.mailbox_payload_bytes())
          throw sw::mbox::ScriptError(o.script, c.line,
                                      fmt::format("payload of {} B exceeds the device's {} B mailbox payload",
                                                  c.payload.size(), dev.mailbox_payload_bytes()));
      dev.mailbox_timeout_ns = o.timeout_ms * 1e6;
      bool pending = false; // a timed-out command may still hold the mailbox
      for (const auto& c : cmds) {
        if (pending && !wait_mailbox_idle(dev, dev.mailbox_timeout_ns)) {
          // still busy with the earlier command: this one is never sent, so never answered
          std::cout << sw::mbox::timeout_line(c, o.timeout_ms) << std::endl;
          ++timeouts;
          continue;
        }
        pending = false;
        try {
          const sw::MailboxResult r = dev.mailbox(c.opcode, c.payload);
          std::cout << sw::mbox::result_line(c, r.return_code, r.payload) << std::endl;
        } catch (const sw::DriverError& e) {
          // the driver has no distinct timeout error: its message is the only sign
          if (std::string(e.what()).find("timed out") == std::string::npos) throw;
          std::cout << sw::mbox::timeout_line(c, o.timeout_ms) << std::endl;
          ++timeouts;
          pending = true;
        }
      }
    });
  } catch (const sw::mbox::ScriptError& e) {
    std::cerr << "pnmvp: mailbox script error: " << e.what() << "\n";
    return 2;
  }
  if (timeouts)
    std::cerr << fmt::format("pnmvp: {} of {} mailbox command{} got no answer within {:g} ms\n", timeouts,
                             cmds.size(), cmds.size() == 1 ? "" : "s", o.timeout_ms);
  return timeouts ? 1 : 0;
}

// Runs `body` on a booted device, mapping InputError to exit 2.
int guarded(const std::function<int()>& body) {
  try {
    return body();
  } catch (const InputError& e) {
    std::cerr << "pnmvp: " << e.what() << "\n";
    return 2;
  }
}

void add_common(CLI::App* sub, DeviceOpts& o, bool json = true) {
  add_target_options(sub, o.target);
  sub->add_option("--device", o.device, "which device of the system (index in its file, default 0)");
  if (json) sub->add_flag("--json", o.json, "print one JSON object with the decoded fields (CXL spec names)");
  sub->footer(kExitCodes);
}
} // namespace

namespace {
// identify and health: one read-only command, decoded, printed or as JSON.
std::function<int()> add_query(CLI::App& app, const char* name, const char* help, uint16_t opcode,
                               const char* command_name, void (*print)(const ojson&)) {
  auto o = std::make_shared<DeviceOpts>();
  CLI::App* sub = app.add_subcommand(name, help);
  add_common(sub, *o);
  return [o, name, opcode, command_name, print]() {
    const SystemConfig sc = device_system(o->target, o->device, name);
    int rc = 0;
    with_device(sc, o->device, [&](sw::Device& dev) {
      const sw::MailboxResult r = dev.mailbox(opcode);
      if (r.return_code != PNM_MBOX_RC_SUCCESS) {
        rc = refused(opcode, r.return_code, command_name, "", o->json);
        return;
      }
      const ojson j = decoded(opcode, r);
      if (o->json) std::cout << j.dump() << "\n";
      else print(j);
    });
    return rc;
  };
}
} // namespace

std::function<int()> add_identify(CLI::App& app, const Globals&) {
  return add_query(app, "identify",
                   "Identify Memory Device (0x4000): firmware revision, capacities, log and poison limits",
                   PNM_MBOX_OP_IDENTIFY, "Identify Memory Device", print_identify);
}

std::function<int()> add_health(CLI::App& app, const Globals&) {
  return add_query(app, "health",
                   "Get Health Info (0x4200): health and media status, life used, temperature, error counts",
                   PNM_MBOX_OP_GET_HEALTH_INFO, "Get Health Info", print_health);
}

std::function<int()> add_poison(CLI::App& app, const Globals&) {
  auto o = std::make_shared<DeviceOpts>();
  CLI::App* sub = app.add_subcommand("poison", "the device's poison list: list, inject, clear (64 B lines)");
  sub->require_subcommand(1);
  CLI::App* list = sub->add_subcommand(
      "list", "Get Poison List (0x4300): media error records in a DPA range (default: the whole device)");
  add_common(list, *o);
  list->add_option("--dpa", o->dpa, "start of the range (decimal or 0x hex; 64-byte aligned)");
  list->add_option("--length", o->length,
                   "bytes from --dpa, a multiple of 64 (default: to the end of the device)");
  CLI::App* inject = sub->add_subcommand("inject", "Inject Poison (0x4301): poison the 64 B line at --dpa");
  add_common(inject, *o);
  const char* dpa_help = "the line's device physical address (decimal or 0x hex; 64-byte aligned)";
  inject->add_option("--dpa", o->dpa, dpa_help)->required();
  CLI::App* clear = sub->add_subcommand(
      "clear", "Clear Poison (0x4302): clear the 64 B line at --dpa, writing zeros as its data");
  add_common(clear, *o);
  clear->add_option("--dpa", o->dpa, dpa_help)->required();
  sub->footer(kExitCodes);
  return [o, list, inject]() {
    return guarded([&]() {
      // Parse before booting: a typo costs no simulation.
      const bool have_dpa = !o->dpa.empty();
      const uint64_t dpa = have_dpa ? parse_u64(o->dpa, "--dpa") : 0;
      std::optional<uint64_t> length;
      if (!o->length.empty()) {
        length = parse_u64(o->length, "--length");
        if (*length == 0 || *length % PNM_POISON_LINE_BYTES)
          throw InputError(fmt::format("--length {}: must be a positive multiple of {} bytes", o->length,
                                       PNM_POISON_LINE_BYTES));
      }
      const SystemConfig sc = device_system(o->target, o->device, "poison");
      int rc = 0;
      with_device(sc, o->device, [&](sw::Device& dev) {
        if (list->parsed()) {
          uint64_t units = 0;
          if (length) {
            units = *length / PNM_POISON_LINE_BYTES;
          } else {
            const uint64_t total = dev.identify().total_bytes;
            units = dpa <= total ? (total - dpa) / PNM_POISON_LINE_BYTES : 0; // beyond: the device says so
          }
          rc = poison_list(dev, dpa, units, o->json);
        } else {
          rc = poison_change(dev, inject->parsed() ? PNM_MBOX_OP_INJECT_POISON : PNM_MBOX_OP_CLEAR_POISON,
                             dpa, o->json);
        }
      });
      return rc;
    });
  };
}

std::function<int()> add_mailbox(CLI::App& app, const Globals&) {
  auto o = std::make_shared<ScriptOpts>();
  CLI::App* sub = app.add_subcommand(
      "mailbox", "run raw CXL mailbox commands from a script on one device; one JSON line per command");
  sub->add_option("--script", o->script,
                  "script file: one command a line, 'OPCODE [PAYLOAD_HEX]' (hex, payload bytes in wire "
                  "order), '#' comments")
      ->required();
  sub->add_option("--timeout-ms", o->timeout_ms, "simulated time to wait for each answer")
      ->check(positive_finite())
      ->capture_default_str();
  add_target_options(sub, o->target);
  sub->add_option("--device", o->device, "which device of the system (index in its file, default 0)");
  sub->footer(
      "The whole script is parsed before the device boots: a bad line is reported as FILE:LINE and nothing "
      "runs. Every command's line has its return code and name, the output payload in hex and, on Success, "
      "its decoded fields.\nExit codes: 0 every command was answered (whatever its return code); 1 a command "
      "timed out (its line has \"error\") or the simulation failed; 2 a bad script.");
  return [o]() { return run_script(*o); };
}

} // namespace pnm::cli
