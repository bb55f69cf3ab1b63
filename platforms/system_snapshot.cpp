#include "system_snapshot.h"

#include <functional>
#include <string>
#include <utility>

namespace pnm {

SystemSnapshot system_snapshot(HostSystem& sys, StatGroup* keep, unsigned devices) {
  const SystemConfig& sc = sys.system().config();
  StatGroup t = sys.system().stats();
  auto v = [&](const std::string& path) { return t.value_at(path); };
  SystemSnapshot s;
  s.ns = v("time_ns");
  const std::vector<size_t> mine = sys.system().devices_of(0);
  for (unsigned i = 0; i < devices && i < mine.size(); ++i) {
    const DeviceSlot& slot = sc.devices.at(mine[i]);
    const std::string dev = "devices/" + slot.name + "/";
    const std::string port = "hosts/" + sc.hosts.at(slot.host).name + "/ports/" + slot.name + "/";
    const std::string e = dev + "dram/energy_pj/";
    s.dram.act += v(e + "act");
    s.dram.pre += v(e + "pre");
    s.dram.rd += v(e + "rd");
    s.dram.wr += v(e + "wr");
    s.dram.ref += v(e + "ref");
    s.dram.bg_active += v(e + "bg_active");
    s.dram.bg_precharged += v(e + "bg_precharged");
    s.dram.io += v(e + "io");
    s.dram_bytes += v(dev + "dram/bytes_read") + v(dev + "dram/bytes_written");
    s.link_pj += v(dev + "cxl/link/down/energy_pj") + v(dev + "cxl/link/up/energy_pj");
    s.link_wire_bits += 8 * (v(dev + "cxl/link/down/wire_bytes") + v(dev + "cxl/link/up/wire_bytes"));
    s.host_bytes += v(port + "mem_bytes_read") + v(port + "mem_bytes_written") + v(port + "io_bytes");
    const double sram = v(dev + "engine/energy_pj/sram");
    s.sram_pj += sram;
    s.engine_compute_pj += v(dev + "engine/energy_pj/total") - sram;
    s.controller_pj += v(dev + "controller/energy_pj");
    s.instructions += v(dev + "controller/instructions");
    s.engine_jobs += v(dev + "engine/jobs_done") + v(dev + "engine/jobs_failed");
  }
  // Behind a switch the wires are the fabric's ports (the device's link
  // module carries nothing): every port's energy and wire bytes count.
  if (const StatGroup* f = t.find_group("fabric")) {
    s.switch_bytes = v("fabric/traversal_bytes");
    std::function<void(const StatGroup&)> add = [&](const StatGroup& g) {
      for (const Stat& st : g.stats()) {
        if (st.name == "energy_pj") s.link_pj += st.value;
        if (st.name == "wire_bytes") s.link_wire_bits += 8 * st.value;
      }
      for (const auto& sub : g.groups()) add(*sub);
    };
    add(*f);
  }
  if (keep) *keep = std::move(t);
  return s;
}

} // namespace pnm
