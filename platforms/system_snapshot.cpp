#include "system_snapshot.h"

#include <functional>
#include <string>
#include <utility>

namespace pnm {

SystemSnapshot system_snapshot(HostSystem& sys, StatGroup* keep) {
  const SystemConfig& sc = sys.system().config();
  const std::string dev = "devices/" + sc.devices.front().name + "/";
  const std::string port = "hosts/" + sc.hosts.at(sc.devices.front().host).name + "/ports/" + sc.devices.front().name + "/";
  StatGroup t = sys.system().stats();
  auto v = [&](const std::string& path) { return t.value_at(path); };
  SystemSnapshot s;
  s.ns = v("time_ns");
  const std::string e = dev + "dram/energy_pj/";
  s.dram = {v(e + "act"), v(e + "pre"), v(e + "rd"), v(e + "wr"), v(e + "ref"), v(e + "bg_active"),
            v(e + "bg_precharged"), v(e + "io")};
  s.dram_bytes = v(dev + "dram/bytes_read") + v(dev + "dram/bytes_written");
  s.link_pj = v(dev + "cxl/link/down/energy_pj") + v(dev + "cxl/link/up/energy_pj");
  s.link_wire_bits = 8 * (v(dev + "cxl/link/down/wire_bytes") + v(dev + "cxl/link/up/wire_bytes"));
  // Behind a switch the wires are the fabric's ports (the device's link
  // module carries nothing): every port's energy and wire bytes count.
  if (const StatGroup* f = t.find_group("fabric")) {
    std::function<void(const StatGroup&)> add = [&](const StatGroup& g) {
      for (const Stat& st : g.stats()) {
        if (st.name == "energy_pj") s.link_pj += st.value;
        if (st.name == "wire_bytes") s.link_wire_bits += 8 * st.value;
      }
      for (const auto& sub : g.groups()) add(*sub);
    };
    add(*f);
  }
  s.host_bytes = v(port + "mem_bytes_read") + v(port + "mem_bytes_written") + v(port + "io_bytes");
  s.sram_pj = v(dev + "engine/energy_pj/sram");
  s.engine_compute_pj = v(dev + "engine/energy_pj/total") - s.sram_pj;
  s.controller_pj = v(dev + "controller/energy_pj");
  s.instructions = v(dev + "controller/instructions");
  s.engine_jobs = v(dev + "engine/jobs_done") + v(dev + "engine/jobs_failed");
  if (keep) *keep = std::move(t);
  return s;
}

} // namespace pnm
