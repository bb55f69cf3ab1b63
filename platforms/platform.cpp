#include "common/input_file.h"
#include "platform.h"

#include "common/resources.h"

#include <cstdlib>
#include <fmt/format.h>
#include <sys/stat.h>

namespace pnm {

namespace {
bool is_file(const std::string& p) {
  struct stat st {};
  return ::stat(p.c_str(), &st) == 0 && S_ISREG(st.st_mode);
}
} // namespace

std::string platforms_dir() { return resources::platforms_dir(); }

std::string resolve_platform(const std::string& name) {
  if (is_file(name)) return name;
  struct stat st {};
  if (name.find('/') != std::string::npos && ::stat(name.c_str(), &st) == 0) {
    try { // it exists but is no regular file: say what it is
      check_input_file(name, "config file", kMaxConfigBytes);
    } catch (const InputFileError& e) {
      throw ConfigError(e.what());
    }
  }
  for (const std::string& cand : {platforms_dir() + "/" + name, platforms_dir() + "/" + name + ".json"})
    if (is_file(cand)) return cand;
  throw ConfigError(fmt::format("platform '{}': no such file (nor in {})", name, platforms_dir()));
}

// The link section's keys, in one place: a device file's cxl.link (every key
// required) and a system file's link entry (`base` given: every key optional,
// defaulting to the device's value, so the entry overrides what it names).
void read_link(ConfigNode& link, CxlPlatformConfig& c, const CxlPlatformConfig* base) {
  const cxl::LinkConfig* bl = base ? &base->mem.link : nullptr;
  auto num = [&](const char* key, double dflt, Range r, const char* unit, const char* what) {
    return bl ? link.number_or(key, dflt, r, unit, what) : link.number(key, r, unit, what);
  };
  auto whole = [&](const char* key, int64_t dflt, Range r, const char* unit, const char* what) {
    return bl ? link.integer_or(key, dflt, r, unit, what) : link.integer(key, r, unit, what);
  };
  const int gen = static_cast<int>(whole("pcie_generation", bl ? base->io.link_gen : 0, {5, 6}, "",
                                         "PCIe generation under CXL: 5 (32 GT/s, 68B flits) or 6 (64 GT/s, 256B flits)"));
  const unsigned lanes =
      static_cast<unsigned>(whole("lanes", bl ? base->io.link_width : 0, {1, 16}, "", "link width"));
  if (lanes & (lanes - 1)) link.fail("lanes", "must be 1, 2, 4, 8 or 16");
  cxl::LinkConfig l = gen == 5 ? cxl::LinkConfig::pcie_gen5(lanes) : cxl::LinkConfig::pcie_gen6(lanes);
  const bool keep_flit = bl && gen == static_cast<int>(base->io.link_gen);
  const std::string flits = link.choice_or(
      "flit", keep_flit ? (bl->flit_mode == cxl::FlitMode::flit68 ? "68B" : "256B") : gen == 5 ? "68B" : "256B",
      {"68B", "256B"}, "CXL flit format");
  if (gen == 5 && flits == "256B") link.fail("flit", "256B flits need PCIe Gen6 flit mode");
  l.flit_mode = flits == "68B" ? cxl::FlitMode::flit68 : cxl::FlitMode::flit256;
  l.port_latency_ps = static_cast<cxl::Picos>(
      num("port_latency_ns", bl ? bl->port_latency_ps / 1e3 : 0, {0, 1000}, "ns",
          "one-way latency of the device's port and wire, per direction") * 1e3);
  l.credit_return_ps = static_cast<cxl::Picos>(
      num("credit_return_ns", bl ? bl->credit_return_ps / 1e3 : 0, {0, 1000}, "ns",
          "time for a freed buffer entry's credit to reach the sender") * 1e3);
  const auto entries = static_cast<uint32_t>(whole("rx_buffer_entries", bl ? bl->rx_buffer_entries[0] : 0, {1, 4096},
                                                   "messages", "receiver buffer per CXL.mem channel (credits)"));
  l.rx_buffer_entries = {entries, entries, entries, entries};
  l.energy_pj_per_bit = num("energy_pj_per_bit", bl ? bl->energy_pj_per_bit : 0, {0, 100}, "pJ/bit",
                            "link energy per bit on the wire");
  c.link_energy_source = bl ? link.text_or("energy_source", base->link_energy_source,
                                           "where energy_pj_per_bit comes from")
                            : link.text("energy_source", "where energy_pj_per_bit comes from");
  link.finish();
  l.validate();
  c.mem.link = l;
  c.io.link_gen = static_cast<unsigned>(gen);
  c.io.link_width = lanes;
  c.io.flit_256b = l.flit_mode == cxl::FlitMode::flit256;
}

namespace {
CxlPlatformConfig load_cxl(ConfigNode n) {
  CxlPlatformConfig c;
  c.present = true;
  auto link = n.child("link");
  link.require_source();
  read_link(link, c, nullptr);
  c.mem.controller_latency_ps = static_cast<cxl::Picos>(
      n.number("controller_latency_ns", {0, 1000}, "ns", "device CXL.mem controller, per direction") * 1e3);
  c.register_latency_ns = n.number("register_latency_ns", {0, 10000}, "ns", "CXL.io register access in the device");
  c.hpa_base = static_cast<uint64_t>(n.integer("hpa_base_gib", {1, 1 << 20}, "GiB", "host physical address of device memory")) << 30;
  c.mmio_base = static_cast<uint64_t>(n.integer("mmio_base_gib", {1, 1 << 20}, "GiB", "host physical address of BAR0")) << 30;
  c.io.mailbox_payload_log2 = static_cast<unsigned>(
      n.integer_or("mailbox_payload_log2", 11, {8, 20}, "", "mailbox payload size = 2^n bytes"));
  n.finish();
  return c;
}
} // namespace

PlatformConfig load_platform(const std::string& path) {
  ConfigNode root = ConfigNode::load_file(path);
  PlatformConfig p;
  p.file = path;
  std::string schema = root.text("schema", "platform file format");
  if (schema != "pnmvp.platform.v1")
    root.fail("schema", fmt::format("'{}' is not a platform file (expected pnmvp.platform.v1)", schema));
  p.name = root.text("name", "platform name");
  p.description = root.text_or("description", "", "what this platform is");
  p.dram = dram::load_dram_config(root.child("dram"));
  if (auto cx = root.child_if("cxl")) p.cxl = load_cxl(*cx);
  if (root.has("engine")) {
    // Either an engine parameter file (its own schema around an "engine"
    // object) or the "engine" object itself.
    ConfigNode en = root.child_or_include("engine");
    if (en.has("schema")) {
      if (en.text("schema", "engine file format") != "pnmvp.engine.v1")
        en.fail("schema", "expected pnmvp.engine.v1");
      p.engine = engine::load_engine_config(en.child("engine"));
      en.finish();
    } else {
      p.engine = engine::load_engine_config(en);
    }
    p.has_engine = true;
  }
  if (auto ct = root.child_if("controller")) {
    ControllerPlatformConfig& k = p.controller;
    k.present = true;
    ct->require_source();
    k.core.clock_mhz = ct->number("clock_mhz", {1, 10000}, "MHz", "controller core clock");
    k.core.cycles_per_instruction =
        ct->number("cycles_per_instruction", {0.1, 100}, "cycles", "average CPI of the core's pipeline");
    k.core.pj_per_instruction = ct->number("pj_per_instruction", {0, 10000}, "pJ", "energy per retired instruction");
    k.quantum_instructions = static_cast<uint64_t>(ct->integer_or(
        "quantum_instructions", 10000, {1, 100000000}, "instructions", "temporal-decoupling quantum"));
    k.firmware = ct->text("firmware", "firmware ELF: a path (relative to this file) or \"builtin\"");
    if (k.firmware != "builtin" && !k.firmware.empty() && k.firmware[0] != '/') {
      const auto slash = path.find_last_of('/');
      k.firmware = (slash == std::string::npos ? std::string(".") : path.substr(0, slash)) + "/" + k.firmware;
    }
    ct->finish();
  }
  if (root.has("datapath"))
    p.datapath = root.choice("datapath", {"twin", "rtl"},
                             "engine datapath: the C++ twin or the Verilated RTL (bit-identical)");
  p.datapath_lanes = static_cast<int>(root.integer_or("datapath_lanes", 16, {16, 32}, "lanes",
                                                      "lanes of each dot-product unit (16 or 32)"));
  if (p.datapath_lanes != 16 && p.datapath_lanes != 32) root.fail("datapath_lanes", "must be 16 or 32");
  root.finish();
  p.params = root.params();
  return p;
}

} // namespace pnm
