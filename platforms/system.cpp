#include "system.h"

#include "common/sanitizer.h"
#include "fabric/cxl_switch_tlm.h"

#include <algorithm>
#include <exception>
#include <functional>
#include <fmt/format.h>
#include <stdexcept>
#include <sys/stat.h>
#include <tlm_utils/simple_target_socket.h>

namespace pnm {

namespace {
constexpr uint64_t kGiB = 1ull << 30;

bool is_file(const std::string& p) {
  struct stat st {};
  return ::stat(p.c_str(), &st) == 0 && S_ISREG(st.st_mode);
}

std::string dir_of(const std::string& file) {
  const auto slash = file.find_last_of('/');
  return slash == std::string::npos ? std::string(".") : file.substr(0, slash);
}

HostConfig load_host(ConfigNode& n) {
  HostConfig h;
  h.name = n.text("name", "host name (devices name their host by it)");
  h.source = n.require_source();
  h.attention_gflops = n.number("attention_gflops", {0.001, 1e7}, "GFLOP/s",
                                "host FP32 arithmetic rate for attention (scores, softmax, weighted sum)");
  h.pj_per_flop = n.number("pj_per_flop", {0, 1e4}, "pJ", "host arithmetic energy per FLOP");
  h.cores = static_cast<unsigned>(n.integer("cores", {1, 4096}, "cores", "cores of the host"));
  h.kernel_cores = static_cast<unsigned>(
      n.integer("kernel_cores", {1, 4096}, "cores", "cores the host-side kernels (and mlc's bandwidth runs) use"));
  if (h.kernel_cores > h.cores) n.fail("kernel_cores", fmt::format("exceeds the host's {} cores", h.cores));
  h.line_fill_buffers = static_cast<unsigned>(n.integer(
      "line_fill_buffers_per_core", {1, 1024}, "lines", "64-byte lines one core keeps in flight (L1D fill buffers)"));
  ConfigNode lat = n.child("latency");
  lat.require_source();
  h.bridge.core_and_caches_ns = lat.number("core_and_caches_ns", {0, 1000}, "ns",
                                           "one way: load issue and the L1/L2/LLC lookups a miss passes");
  h.bridge.mesh_ns = lat.number("mesh_ns", {0, 1000}, "ns", "one way: LLC slice to the root port or memory controller");
  h.bridge.root_port_latency_ns = lat.number("root_port_ns", {0, 1000}, "ns", "one way: the root port of each device link");
  lat.finish();
  h.gpu = n.text_or("gpu", h.gpu, "the host's GPU: a name in platforms/gpus or a GPU file");
  if (h.gpu.empty()) n.fail("gpu", "must not be empty");
  h.gpus = static_cast<unsigned>(n.integer_or("gpus", 1, {1, 64}, "GPUs", "GPUs serving the model"));
  if (h.gpus != 1)
    n.fail("gpus", fmt::format("{} GPUs: tensor parallelism across GPUs is not modelled yet, so only 1 is allowed",
                               h.gpus));
  h.nic = n.text_or("nic", h.nic, "the host's RDMA NIC: a name in platforms/nics or a NIC file");
  if (h.nic.empty()) n.fail("nic", "must not be empty");
  ConfigNode local = n.child("local_dram");
  local.require_source();
  h.local_dram = dram::load_dram_config(local);
  n.finish();
  return h;
}

// One address range a device takes on its host: [lo, hi) in host physical addresses.
struct Window {
  uint64_t lo, hi;
  std::string what; // for the error text
  std::string key;  // the device entry's key that places it
  size_t device;    // index in "devices"
};

// A host's windows (each device's memory, and a GiB for its BARs) must not overlap.
void check_windows(const SystemConfig& s, std::vector<ConfigNode>& dev_nodes) {
  for (unsigned h = 0; h < s.hosts.size(); ++h) {
    std::vector<Window> ws;
    for (size_t i = 0; i < s.devices.size(); ++i) {
      const DeviceSlot& d = s.devices[i];
      if (d.host != h) continue;
      const uint64_t cap = dram::DramSystem(d.platform.dram).capacity_bytes();
      const uint64_t hpa = d.platform.cxl.hpa_base, mmio = d.platform.cxl.mmio_base;
      const uint64_t hpa_end = hpa + (cap + kGiB - 1) / kGiB * kGiB;
      ws.push_back({hpa, hpa_end,
                    fmt::format("device {}'s memory window [{} GiB, {} GiB)", d.name, hpa / kGiB, hpa_end / kGiB),
                    "hpa_base_gib", i});
      // The BARs are a few hundred KiB; the system gives each device a whole GiB.
      ws.push_back({mmio, mmio + kGiB, fmt::format("device {}'s MMIO GiB at {} GiB", d.name, mmio / kGiB),
                    "mmio_base_gib", i});
    }
    for (size_t a = 0; a < ws.size(); ++a)
      for (size_t b = 0; b < a; ++b)
        if (ws[a].lo < ws[b].hi && ws[b].lo < ws[a].hi)
          dev_nodes[ws[a].device].fail(
              ws[a].key, fmt::format("{} overlaps {} on host {}", ws[a].what, ws[b].what, s.hosts[h].name));
  }
}
uint64_t window_bytes(const DeviceSlot& d) {
  const uint64_t cap = dram::DramSystem(d.platform.dram).capacity_bytes();
  return (cap + kGiB - 1) / kGiB * kGiB;
}

// "switches": names first, then the ports, which may name switches listed later.
void load_switches(ConfigNode& root, SystemConfig& s, std::vector<ConfigNode>& dev_nodes) {
  std::vector<ConfigNode> nodes = root.items("switches", "CXL switches between hosts and devices");
  struct Pending {
    std::vector<ConfigNode> ports;
    std::string host; // empty: fed by another switch
  };
  std::vector<Pending> pend(nodes.size());
  for (size_t i = 0; i < nodes.size(); ++i) {
    ConfigNode& n = nodes[i];
    SwitchSlot sw;
    sw.name = n.text("name", "switch name (downstream ports of other switches name it)");
    for (const SwitchSlot& o : s.switches)
      if (o.name == sw.name) n.fail("name", fmt::format("switch '{}' is named twice", sw.name));
    sw.source = n.require_source();
    sw.traversal_latency_ns = n.number("traversal_latency_ns", {0, 10000}, "ns",
                                       "one traversal of the switch, ingress port to egress port, one direction");
    ConfigNode up = n.child("upstream");
    pend[i].host = up.text_or("host", "", "the host whose root port this switch's upstream port links to "
                                          "(absent: the switch is fed by another switch's downstream port)");
    ConfigNode link = up.child("link");
    link.require_source();
    // Keys not given take the first device's link (pnm-ref.json: PCIe Gen5 x16).
    const CxlPlatformConfig base = s.devices.front().platform.cxl;
    CxlPlatformConfig c = base;
    read_link(link, c, &base);
    sw.upstream_link = c.mem.link;
    up.finish();
    pend[i].ports = n.items("downstream", "downstream ports: {\"device\": name} or {\"switch\": name}");
    s.switches.push_back(std::move(sw));
  }
  std::vector<int> owner(s.devices.size(), -1); // switch whose port a device is on
  for (size_t i = 0; i < nodes.size(); ++i) {
    SwitchSlot& sw = s.switches[i];
    for (ConfigNode& p : pend[i].ports) {
      const bool dev = p.has("device"), is_sw = p.has("switch");
      if (dev == is_sw) p.fail("device", "a downstream port names one \"device\" or one \"switch\"");
      SwitchSlot::Port port;
      port.is_switch = is_sw;
      if (dev) {
        const std::string name = p.text("device", "the device on this port (a name in \"devices\")");
        const auto it = std::find_if(s.devices.begin(), s.devices.end(),
                                     [&](const DeviceSlot& d) { return d.name == name; });
        if (it == s.devices.end()) p.fail("device", fmt::format("no device named '{}' in \"devices\"", name));
        port.index = size_t(it - s.devices.begin());
        if (owner[port.index] >= 0)
          p.fail("device", fmt::format("device '{}' is already on a port of switch '{}'", name,
                                       s.switches[size_t(owner[port.index])].name));
        owner[port.index] = int(i);
      } else {
        const std::string name = p.text("switch", "the switch this port feeds (a cascade)");
        const auto it = std::find_if(s.switches.begin(), s.switches.end(),
                                     [&](const SwitchSlot& o) { return o.name == name; });
        if (it == s.switches.end()) p.fail("switch", fmt::format("no switch named '{}' in \"switches\"", name));
        port.index = size_t(it - s.switches.begin());
        if (port.index == i) p.fail("switch", "a switch cannot feed itself");
        SwitchSlot& child = s.switches[port.index];
        if (child.parent >= 0)
          p.fail("switch", fmt::format("switch '{}' is already fed by switch '{}'", name,
                                       s.switches[size_t(child.parent)].name));
        if (!pend[port.index].host.empty())
          p.fail("switch", fmt::format("switch '{}' links to host '{}' (its upstream.host): it cannot also be fed "
                                       "by a switch", name, pend[port.index].host));
        child.parent = int(i);
      }
      p.finish();
      sw.downstream.push_back(port);
    }
  }
  // Hosts from the top of each tree down; a switch neither fed nor linked to a host, or a loop, is refused.
  for (size_t i = 0; i < nodes.size(); ++i) {
    size_t top = i, steps = 0;
    while (s.switches[top].parent >= 0) {
      top = size_t(s.switches[top].parent);
      if (++steps > nodes.size()) nodes[i].fail("name", "switch cascade loops back on itself");
    }
    const std::string& host = pend[top].host;
    if (host.empty())
      nodes[top].fail("upstream", "needs \"host\": the switch is not fed by another switch's downstream port");
    const auto it = std::find_if(s.hosts.begin(), s.hosts.end(), [&](const HostConfig& h) { return h.name == host; });
    if (it == s.hosts.end()) nodes[top].fail("upstream", fmt::format("no host named '{}' in \"hosts\"", host));
    s.switches[i].host = unsigned(it - s.hosts.begin());
  }
  for (size_t i = 0; i < nodes.size(); ++i) nodes[i].finish();
  for (size_t d = 0; d < s.devices.size(); ++d)
    if (owner[d] >= 0 && s.switches[size_t(owner[d])].host != s.devices[d].host)
      dev_nodes[d].fail("host", fmt::format("device '{}' is behind switch '{}', whose host is '{}'", s.devices[d].name,
                                            s.switches[size_t(owner[d])].name,
                                            s.hosts[s.switches[size_t(owner[d])].host].name));
}
} // namespace

SystemFabric system_fabric(const SystemConfig& cfg) {
  SystemFabric f;
  f.config.routing = fabric::Routing::hbr;
  const size_t nd = cfg.devices.size();
  f.device_behind_switch.assign(nd, false);
  f.device_ports.resize(nd);
  f.device_entry.resize(nd);
  // Devices below port `p` of switch s (recursively through cascades).
  std::function<void(const SwitchSlot::Port&, std::vector<size_t>&)> below = [&](const SwitchSlot::Port& p,
                                                                                  std::vector<size_t>& out) {
    if (!p.is_switch) {
      out.push_back(p.index);
      return;
    }
    for (const SwitchSlot::Port& q : cfg.switches[p.index].downstream) below(q, out);
  };
  for (size_t s = 0; s < cfg.switches.size(); ++s) {
    const SwitchSlot& sw = cfg.switches[s];
    fabric::SwitchConfig sc;
    sc.name = sw.name;
    sc.traversal_latency_ns = sw.traversal_latency_ns;
    fabric::UpstreamPortConfig up;
    up.link = sw.upstream_link;
    for (size_t d = 0; d < sw.downstream.size(); ++d) {
      const SwitchSlot::Port& p = sw.downstream[d];
      fabric::DownstreamPortConfig dp;
      if (p.is_switch) {
        dp.link = cfg.switches[p.index].upstream_link; // the wire between the two switches, modelled once here
        dp.cascade_switch = int(p.index);
      } else {
        dp.link = cfg.devices[p.index].platform.cxl.mem.link; // the device's own wire
        f.device_behind_switch[p.index] = true;
        f.device_ports[p.index] = fabric::PortRef{unsigned(s), false, unsigned(d)};
      }
      sc.downstream.push_back(dp);
      // Devices mapped one by one: each its own window, on every switch above it.
      std::vector<size_t> devs;
      below(p, devs);
      for (size_t i : devs)
        up.windows.push_back(fabric::HbrWindow{cfg.devices[i].platform.cxl.hpa_base, window_bytes(cfg.devices[i]),
                                               256, {unsigned(d)}});
    }
    sc.upstream.push_back(std::move(up));
    f.config.switches.push_back(std::move(sc));
  }
  for (size_t i = 0; i < nd; ++i) {
    if (!f.device_behind_switch[i]) continue;
    size_t top = f.device_ports[i].sw;
    while (cfg.switches[top].parent >= 0) top = size_t(cfg.switches[top].parent);
    f.device_entry[i] = fabric::PortRef{unsigned(top), true, 0};
  }
  try {
    f.config.validate();
  } catch (const std::invalid_argument& e) {
    throw ConfigError(fmt::format("{}: {}", cfg.file, e.what()));
  }
  return f;
}

SystemConfig load_system(const std::string& path) {
  ConfigNode root = ConfigNode::load_file(path);
  SystemConfig s;
  s.file = path;
  const std::string schema = root.text("schema", "system file format");
  if (schema != "pnmvp.system.v1")
    root.fail("schema", fmt::format("'{}' is not a system file (expected pnmvp.system.v1)", schema));
  s.name = root.text("name", "system name");
  s.description = root.text_or("description", "", "what this system is");
  for (ConfigNode& h : root.items("hosts", "the hosts")) {
    s.hosts.push_back(load_host(h));
    for (size_t k = 0; k + 1 < s.hosts.size(); ++k)
      if (s.hosts[k].name == s.hosts.back().name)
        h.fail("name", fmt::format("host '{}' is named twice", s.hosts.back().name));
  }
  std::vector<ConfigNode> dev_nodes = root.items("devices", "the devices, each a device file");
  for (ConfigNode& n : dev_nodes) {
    DeviceSlot d;
    d.name = n.text("name", "device name");
    for (const DeviceSlot& o : s.devices)
      if (o.name == d.name) n.fail("name", fmt::format("device '{}' is named twice", d.name));
    const std::string file = n.text("file", "device file: a path relative to this file, or a shipped platform name");
    const std::string local = file.empty() || file[0] == '/' ? file : dir_of(path) + "/" + file;
    std::string found;
    if (is_file(local)) found = local;
    else {
      try {
        found = resolve_platform(file);
      } catch (const ConfigError&) {
        n.fail("file", fmt::format("device file '{}' not found (nor {}, nor in {})", file, local, platforms_dir()));
      }
    }
    d.platform = load_platform(found);
    if (!d.platform.cxl.present)
      n.fail("file", fmt::format("{} has no \"cxl\" section: it cannot sit on a host's link", found));
    const std::string host = n.text("host", "the host this device's link goes to");
    const auto it = std::find_if(s.hosts.begin(), s.hosts.end(), [&](const HostConfig& h) { return h.name == host; });
    if (it == s.hosts.end()) n.fail("host", fmt::format("no host named '{}' in \"hosts\"", host));
    d.host = static_cast<unsigned>(it - s.hosts.begin());
    d.platform.cxl.hpa_base = static_cast<uint64_t>(n.integer("hpa_base_gib", {1, 1 << 20}, "GiB",
                                                              "host physical address of this device's memory"))
                              << 30;
    d.platform.cxl.mmio_base =
        static_cast<uint64_t>(n.integer("mmio_base_gib", {1, 1 << 20}, "GiB", "host physical address of its BAR0"))
        << 30;
    if (auto link = n.child_if("link")) {
      link->require_source();
      const CxlPlatformConfig base = d.platform.cxl;
      read_link(*link, d.platform.cxl, &base);
    }
    n.finish();
    s.devices.push_back(std::move(d));
  }
  if (root.has("switches")) load_switches(root, s, dev_nodes);
  root.finish();
  check_windows(s, dev_nodes);
  if (!s.switches.empty()) system_fabric(s); // the fabric's own checks
  s.params = root.params();
  return s;
}

SystemConfig system_around(const PlatformConfig& platform) {
  SystemConfig s = load_system(resolve_platform(kDefaultSystem));
  if (s.devices.size() != 1)
    throw ConfigError(fmt::format("{}: --platform needs a default system with exactly one device", s.file));
  if (!platform.cxl.present)
    throw ConfigError(fmt::format("{}: platform has no \"cxl\" section, so no CXL device can be built", platform.file));
  s.devices.front().platform = platform;
  return s;
}

SystemConfig select_system(const std::string& system, const std::string& platform) {
  if (!system.empty() && !platform.empty())
    throw ConfigError(fmt::format("--system {} and --platform {}: give one (--platform P means the default "
                                  "system {} with P as its device)", system, platform, kDefaultSystem));
  if (platform.empty()) {
    const std::string name = system.empty() ? kDefaultSystem : system;
    std::string path;
    try {
      path = resolve_platform(name);
    } catch (const ConfigError& e) {
      if (std::string(e.what()).find("no such file") == std::string::npos) throw;
      throw ConfigError(fmt::format("system '{}': no such file (nor in {})", name, platforms_dir()));
    }
    return load_system(path);
  }
  return system_around(load_platform(resolve_platform(platform)));
}

// The local memory port's CXL.io sockets lead here: nothing answers.
struct System::NoDevice : sc_core::sc_module {
  tlm_utils::simple_target_socket<NoDevice> config_socket, mmio_socket;
  explicit NoDevice(sc_core::sc_module_name n) : sc_module(n), config_socket("config_socket"), mmio_socket("mmio_socket") {
    config_socket.register_b_transport(this, &NoDevice::refuse);
    mmio_socket.register_b_transport(this, &NoDevice::refuse);
  }
  void refuse(tlm::tlm_generic_payload& tx, sc_core::sc_time&) { tx.set_response_status(tlm::TLM_ADDRESS_ERROR_RESPONSE); }
};

System::~System() = default;

System::System(const SystemConfig& cfg) : cfg_(cfg) {
  for (const HostConfig& h : cfg_.hosts) {
    LocalHost l;
    l.dram = std::make_unique<dram::DramTlm>(fmt::format("{}_dram", h.name).c_str(), h.local_dram,
                                             dram::Fidelity::command);
    HostBridgeConfig local_path = h.bridge;
    local_path.root_port_latency_ns = 0; // the mesh leads straight to the memory controller
    l.port = std::make_unique<HostBridge>(fmt::format("{}_local", h.name).c_str(), local_path);
    l.none = std::make_unique<NoDevice>(fmt::format("{}_no_io", h.name).c_str());
    l.port->config_socket.bind(l.none->config_socket);
    l.port->mmio_socket.bind(l.none->mmio_socket);
    l.port->mem_socket.bind(l.dram->mem_socket);
    hosts_.push_back(std::move(l));
  }
  SystemFabric sf;
  std::vector<size_t> endpoint_of(cfg_.devices.size(), 0);
  if (!cfg_.switches.empty()) {
    sf = system_fabric(cfg_);
    std::vector<fabric::FabricTlm::Endpoint> eps;
    for (size_t i = 0; i < cfg_.devices.size(); ++i)
      if (sf.device_behind_switch[i]) {
        endpoint_of[i] = eps.size();
        eps.push_back({cfg_.devices[i].name, sf.device_ports[i], sf.device_entry[i], cfg_.devices[i].platform.cxl.hpa_base});
      }
    fabric_ = std::make_unique<fabric::FabricTlm>("fabric", sf.config, std::move(eps));
  }
  for (size_t i = 0; i < cfg_.devices.size(); ++i) {
    const DeviceSlot& d = cfg_.devices[i];
    const HostConfig& h = cfg_.hosts.at(d.host);
    devices_.push_back(std::make_unique<PnmDevice>(d.name.c_str(), d.platform));
    ports_.push_back(std::make_unique<HostBridge>(fmt::format("{}_{}", h.name, d.name).c_str(), h.bridge));
    PnmDevice& dev = *devices_.back();
    HostBridge& port = *ports_.back();
    if (fabric_ && sf.device_behind_switch[i]) {
      // Behind a switch: the root port leads to the switch's upstream port;
      // the switch's downstream port is the device's wire.
      fabric::FabricTlm::EndpointSockets& e = fabric_->endpoint(endpoint_of[i]);
      port.config_socket.bind(e.config_in);
      port.mmio_socket.bind(e.mmio_in);
      fabric_->bind_host(port.mem_socket, sf.device_entry[i]);
      e.config_out.bind(dev.cxl_io.config_socket);
      e.mmio_out.bind(dev.cxl_io.mmio_socket);
      e.mem.bind(dev.cxl_mem.host_socket);
      if (dev.engine) fabric_->bind_peer(endpoint_of[i], dev.engine->peer_socket); // PUSH jobs: peer-to-peer
    } else {
      port.config_socket.bind(dev.cxl_io.config_socket);
      port.mmio_socket.bind(dev.cxl_io.mmio_socket);
      port.mem_socket.bind(dev.cxl_mem.host_socket);
    }
    dev.on_host_interrupt = [&port]() { port.interrupt(); };
  }
}

StatGroup System::stats() const {
  StatGroup root(cfg_.name, "hosts and devices of the system");
  report(root);
  return root;
}

void System::report(StatGroup& root) const {
  const double now_ns = sc_core::sc_time_stamp().to_seconds() * 1e9;
  root.set("time_ns", now_ns, "ns", "simulated time of this snapshot");
  StatGroup& hosts = root.group("hosts", "each host: its own DRAM and root ports");
  for (size_t h = 0; h < hosts_.size(); ++h) {
    StatGroup& hg = hosts.group(cfg_.hosts[h].name, "one host");
    hosts_[h].dram->report(hg.group("local_dram", "the host's own DRAM"), now_ns);
    hosts_[h].port->report(hg.group("local_port", "the host's path to its own DRAM"));
    StatGroup& ports = hg.group("ports", "root ports, one per device of the host");
    for (size_t d : devices_of(static_cast<unsigned>(h)))
      ports_[d]->report(ports.group(cfg_.devices[d].name, "root port to this device"));
  }
  if (fabric_) fabric_->fabric().report(root.group("fabric", "CXL switches: per-port counters"));
  StatGroup& devices = root.group("devices", "each device");
  for (size_t d = 0; d < devices_.size(); ++d)
    devices_[d]->report(devices.group(cfg_.devices[d].name, "one PNM CXL Type-3 device"));
}

const fabric::Fabric* System::fabric() const { return fabric_ ? &fabric_->fabric() : nullptr; }

std::vector<size_t> System::devices_of(unsigned host) const {
  std::vector<size_t> out;
  for (size_t i = 0; i < cfg_.devices.size(); ++i)
    if (cfg_.devices[i].host == host) out.push_back(i);
  return out;
}

void System::run_host(const std::function<void(const std::vector<sw::Backend*>&)>& program) {
  const std::vector<size_t> mine = devices_of(0);
  if (mine.empty()) throw ConfigError(fmt::format("{}: host {} has no device", cfg_.file, cfg_.hosts.at(0).name));
  std::vector<sw::Backend*> backends;
  for (size_t i : mine) backends.push_back(ports_[i].get());
  HostBridge& first = *ports_[mine.front()];
  std::exception_ptr failure;
  first.set_program([&](sw::Backend&) {
    try {
      program(backends);
    } catch (...) {
      failure = std::current_exception();
    }
  });
  sc_core::sc_start();
  sanitizer_back_on_main_stack();
  if (failure) std::rethrow_exception(failure);
  if (!first.program_done()) throw std::runtime_error("the host program did not finish (simulation starved)");
}

void System::run(const std::function<void(sw::Backend&)>& program) {
  run_host([&](const std::vector<sw::Backend*>& b) { program(*b.front()); });
}

} // namespace pnm
