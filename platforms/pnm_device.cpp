#include "pnm_device.h"

#include "pnm/datapath_rtl.h"
#include "pnm/datapath_twin.h"
#include "common/log.h"
#include "common/resources.h"
#include <pnmvp/hw/device_map.h>
#include <pnmvp/hw/jobs.h>

#include <fmt/format.h>
#include <algorithm>
#include <stdexcept>

namespace pnm {

namespace {
cxl::CxlIoConfig io_config(const PlatformConfig& p, uint64_t capacity) {
  cxl::CxlIoConfig c = p.cxl.io;
  c.capacity_bytes = capacity;
  c.pnm_doorbell_queues = PNM_QUEUES_MAX;
  return c;
}
} // namespace

PnmDevice::PnmDevice(sc_core::sc_module_name name, const PlatformConfig& p)
    : sc_module(name),
      regs(io_config(p, dram::DramSystem(p.dram).capacity_bytes())),
      dram("dram", p.dram, dram::Fidelity::command),
      cxl_io("cxl_io", regs, p.cxl.register_latency_ns),
      cxl_mem("cxl_mem", p.cxl.mem, regs), ctrl_bus("ctrl_bus"),
      mailbox("mailbox", regs, dram.core().capacity_bytes()), doorbells("doorbells", regs),
      counters("counters", PNM_DEVCTR_COUNT), hpa_base_(p.cxl.hpa_base) {
  if (!p.cxl.present)
    throw ConfigError(fmt::format("{}: platform has no \"cxl\" section, so no CXL device can be built", p.file));
  const dram::FrontEndConfig& fe = p.dram.front_end;
  cxl_mem.dram_socket.bind(dram.mem_socket); // socket 0
  dram.name_port(0, "host", fe.host_weight);
  if (p.has_engine) {
    if (p.datapath == "rtl") datapath = std::make_unique<datapath::DatapathRtl>(p.datapath_lanes, p.datapath_vcd);
    else datapath = std::make_unique<datapath::DatapathTwin>(p.datapath_lanes);
    engine_mem = std::make_unique<dram::MemoryPort>(dram.front_end(), dram.store(), "engine", fe.engine_weight);
    engine = std::make_unique<engine::EngineTlm>("engine", p.engine, *engine_mem, *datapath,
                                                 engine::Mode::functional, fe.sync_quantum_ns);
    ctrl_bus.attach(engine->reg_socket, "engine", PNM_ENGINE_BASE, PNM_ENGINE_SIZE_BYTES);
  }
  ctrl_bus.attach(mailbox.reg_socket, "mailbox", PNM_MBOX_BASE, PNM_MBOX_SIZE_BYTES);
  ctrl_bus.attach(doorbells.reg_socket, "doorbells", PNM_QDB_BASE, PNM_QDB_SIZE_BYTES);
  ctrl_bus.attach(counters.reg_socket, "counters", PNM_DEVCTR_BASE, PNM_DEVCTR_SIZE_BYTES);
  counters.read_counter = [this](unsigned i) { return counter(i); };
  doorbells.on_host_irq = [this]() {
    if (on_host_interrupt) on_host_interrupt();
  };
  regs.on_mailbox_interrupt = doorbells.on_host_irq;
  if (p.controller.present) {
    const std::string elf = p.controller.firmware == "builtin" ? resources::firmware_elf() : p.controller.firmware;
    // The mailbox is ready once the firmware says so (PNM_MBOXFW_READY_OFF).
    regs.set_mailbox_ready(false);
    controller = std::make_unique<cpu::ControllerCore>("controller", p.controller.core, elf,
                                                       p.controller.quantum_instructions);
    controller->mmio_socket.bind(ctrl_bus.in_socket);
    controller->mem_socket.bind(dram.mem_socket); // socket 1
    dram.name_port(1, "controller", fe.controller_weight);
    mailbox.on_command = [this]() { controller->raise_irq(PNM_IRQ_MBOX_DOORBELL); };
    doorbells.on_sq_doorbell = [this]() { controller->raise_irq(PNM_IRQ_SQ_DOORBELL); };
    // Firmware console lines: "W: ..." are warnings (e.g. a refused job).
    controller->core().set_console_sink([this](char c) {
      if (c != '\n') {
        fw_line_.push_back(c);
        return;
      }
      if (fw_line_.rfind("W: ", 0) == 0) log::warn(this->name(), "firmware: {}", fw_line_.substr(3));
      else log::info(this->name(), "firmware: {}", fw_line_);
      if (on_firmware_line) on_firmware_line(fw_line_);
      fw_log_.push_back(std::move(fw_line_));
      fw_line_.clear();
    });
    if (engine) engine->set_irq_callback([this](unsigned line) { controller->raise_irq(line); });
  }
  // What platform firmware (BIOS) does before the OS: place the BARs, enable
  // memory decoding, and commit HDM decoder 0 over the whole capacity.
  auto cfg_write = [&](uint32_t off, uint32_t v) {
    if (regs.write(cxl::RegSpace::config, off, 4, v) != cxl::AccessResult::ok)
      throw std::logic_error(fmt::format("device enumeration: config write at 0x{:x} failed", off));
  };
  const uint64_t bar0 = p.cxl.mmio_base;
  const uint64_t bar2 = bar0 + regs.bar_size(0);
  cfg_write(0x10, static_cast<uint32_t>(bar0));
  cfg_write(0x14, static_cast<uint32_t>(bar0 >> 32));
  cfg_write(0x18, static_cast<uint32_t>(bar2));
  cfg_write(0x1C, static_cast<uint32_t>(bar2 >> 32));
  cfg_write(0x04, 0x0006); // command: memory space + bus master
  cxl::HdmProgram prog;
  prog.base = hpa_base_;
  prog.size = capacity_bytes();
  if (!regs.hdm().program(0, prog))
    throw ConfigError(fmt::format("{}: HDM decoder 0 cannot commit base 0x{:x} size 0x{:x}", p.file,
                                  prog.base, prog.size));
}

StatGroup PnmDevice::stats() const {
  StatGroup root(name(), "one PNM CXL Type-3 device");
  report(root);
  return root;
}

void PnmDevice::report(StatGroup& g) const {
  const double now_ns = sc_core::sc_time_stamp().to_seconds() * 1e9;
  g.set("time_ns", now_ns, "ns", "simulated time of this snapshot");
  dram.report(g.group("dram", "device DRAM, all channels; background energy up to time_ns"), now_ns);
  StatGroup& cxl = g.group("cxl", "the CXL port");
  cxl_mem.report(cxl);
  mailbox.report(cxl.group("mailbox", "CXL mailbox, firmware side"));
  if (engine) engine->core().report(g.group("engine", "attention engine, all jobs"));
  if (controller) controller->report(g.group("controller", "RISC-V controller core running the firmware"));
}

namespace {
// Where each Get Performance Counters figure lives in the device's tree
// (pJ figures truncate to whole pJ). Absent blocks read 0.
struct CounterSource {
  unsigned off;
  const char* path;
  const char* minus = nullptr; // subtracted, when set
  const char* plus = nullptr;  // added, when set
};
constexpr CounterSource kCounters[] = {
    {PNM_DEVCTR_INSTRUCTIONS_OFF, "controller/instructions"},
    {PNM_DEVCTR_LINK_RX_BYTES_OFF, "cxl/link/down/payload_bytes"},
    {PNM_DEVCTR_LINK_TX_BYTES_OFF, "cxl/link/up/payload_bytes"},
    {PNM_DEVCTR_ENERGY_DRAM_OFF, "dram/energy_pj/total"},
    {PNM_DEVCTR_ENERGY_LINK_OFF, "cxl/link/down/energy_pj", nullptr, "cxl/link/up/energy_pj"},
    {PNM_DEVCTR_ENERGY_DATAPATH_OFF, "engine/energy_pj/total", "engine/energy_pj/sram"},
    {PNM_DEVCTR_ENERGY_SRAM_OFF, "engine/energy_pj/sram"},
    {PNM_DEVCTR_ENERGY_CORE_OFF, "controller/energy_pj"},
};
double value_or_zero(const StatGroup& g, const char* path) {
  const Stat* s = path ? g.find_at(path) : nullptr;
  return s ? s->value : 0.0;
}
} // namespace

// The figures Get Performance Counters reports, read from a snapshot of the
// device's stats tree (the same figures `--stats` writes).
uint64_t PnmDevice::counter(unsigned index) const {
  for (const CounterSource& c : kCounters)
    if (c.off == index * 8) {
      const StatGroup tree = stats();
      return static_cast<uint64_t>(value_or_zero(tree, c.path) + value_or_zero(tree, c.plus) -
                                   value_or_zero(tree, c.minus));
    }
  return 0;
}

} // namespace pnm
