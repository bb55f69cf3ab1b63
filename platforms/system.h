// The system layer (DESIGN.md "The system around the device"): a system file
// (schema pnmvp.system.v1) describes a topology: hosts, the devices they
// serve (each a device file, as pnm-ref.json), the link of each device, and
// where each host maps each device (HPA window, MMIO base). `System` builds
// any system file: every device's CXL.io, CXL.mem and interrupt reach its
// host through a root port of its own (one `HostBridge`, the driver's
// `Backend` for that device). An optional "switches" section puts devices
// behind CXL switches (models/fabric): their CXL.mem and CXL.io then share
// the switch's upstream link; each keeps its own HostBridge (the driver's
// Backend) whose root port leads to the switch.
#pragma once

#include "host_bridge.h"
#include "platform.h"
#include "dram/dram_tlm.h"
#include "fabric/cxl_switch.h"
#include "pnm_device.h"

#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace pnm {

namespace fabric {
class FabricTlm;
}

// One host ("hosts" entry): the CPU the host programs run on, its latency
// path to memory and its own DRAM.
struct HostConfig {
  std::string name;
  std::string source;
  HostBridgeConfig bridge;      // the host's latency path (core and caches, mesh, root port)
  double attention_gflops = 0;  // FP32 arithmetic rate for attention on the host
  double pj_per_flop = 0;       // arithmetic energy per FLOP
  unsigned cores = 1;           // cores of the host
  unsigned kernel_cores = 1;    // cores the host-side kernels use
  unsigned line_fill_buffers = 1; // 64-byte lines one core keeps in flight (L1D fill buffers)
  dram::DramSystemConfig local_dram; // the host's own DDR5, through the same DRAM model as a device's
  // The serving host's accelerators (`pnmvp serve` resolves them with
  // serving::load_gpu / load_nic): names in platforms/gpus and
  // platforms/nics, or paths. Optional keys "gpu", "gpus", "nic".
  std::string gpu = "h100-sxm";
  unsigned gpus = 1; // tensor parallelism is not modelled: only 1 for now
  std::string nic = "connectx-7";

  // Lines the host-side kernels keep in flight: fill buffers x cores they use.
  unsigned kernel_lines_in_flight() const { return line_fill_buffers * kernel_cores; }
};

// One device ("devices" entry): its device file, as the system places it.
struct DeviceSlot {
  std::string name;
  unsigned host = 0;       // index into SystemConfig::hosts
  PlatformConfig platform; // the device file, with hpa_base, mmio_base and link as the system sets them
};

// One switch ("switches" entry). Downstream ports in file order; each leads
// to a device or to another switch (a cascade). Every device behind a
// switch gets its own HBR window (its hpa_base_gib, capacity rounded up to
// a GiB) on each switch above it.
struct SwitchSlot {
  std::string name;
  std::string source;
  double traversal_latency_ns = fabric::default_traversal_latency_ns;
  unsigned host = 0;             // the host at the top of its tree
  int parent = -1;               // the switch feeding its upstream port, -1: a host's root port
  cxl::LinkConfig upstream_link; // the wire to the host (or, in a cascade, to the parent switch)
  struct Port {
    bool is_switch = false;
    size_t index = 0; // into SystemConfig::devices or ::switches
  };
  std::vector<Port> downstream;
};

struct SystemConfig {
  std::string file;
  std::string name;
  std::string description;
  std::vector<HostConfig> hosts;
  std::vector<DeviceSlot> devices;
  std::vector<SwitchSlot> switches; // empty: every device on a root port of its own
  std::vector<ParamRecord> params; // every parameter the system file set
};

// Loads and validates a system file: device files found (relative to the
// system file's folder, or shipped names), host names resolved, address
// windows of each host non-overlapping. Errors name file and key.
SystemConfig load_system(const std::string& path);

// The fabric of cfg.switches (hierarchy-based routing; a downstream port to a
// device has that device's link, a cascade port the fed switch's upstream
// link) and the port of each device: device_ports[i] (valid when
// device_behind_switch[i]). Throws ConfigError if the fabric refuses it.
struct SystemFabric {
  fabric::FabricConfig config;
  std::vector<bool> device_behind_switch;
  std::vector<fabric::PortRef> device_ports;
  std::vector<fabric::PortRef> device_entry; // the root upstream port its host uses
};
SystemFabric system_fabric(const SystemConfig& cfg);

// The default system (`pnmvp --system` when neither flag is given).
inline constexpr const char* kDefaultSystem = "pnm-ref-system";

// What a subcommand simulates: `--system` (a shipped name or a file), or
// `--platform P`, shorthand for the default system with P as its one device
// at the HPA and MMIO bases P's own cxl section gives.
SystemConfig select_system(const std::string& system, const std::string& platform);
// The default system with `platform` (already loaded) as its one device.
SystemConfig system_around(const PlatformConfig& platform);

// A built system on the current SystemC kernel.
class System {
public:
  explicit System(const SystemConfig& cfg);

  const SystemConfig& config() const { return cfg_; }
  size_t device_count() const { return devices_.size(); }
  PnmDevice& device(size_t i) { return *devices_.at(i); }
  // The root port (and driver Backend) through which device i's host reaches it.
  HostBridge& port(size_t i) { return *ports_.at(i); }
  // Host h's own DRAM behind its memory path (host physical address 0 up),
  // as a Backend whose CXL.io side answers nothing.
  HostBridge& local_memory(unsigned h) { return *hosts_.at(h).port; }
  dram::DramTlm& local_dram(unsigned h) { return *hosts_.at(h).dram; }
  // The switches' fabric (counters, links); nullptr without switches.
  const fabric::Fabric* fabric() const;
  // The devices host h serves, in file order.
  std::vector<size_t> devices_of(unsigned host) const;

  // The whole system's stats tree at the current simulated time, one root
  // named after the system: hosts/<host>/local_dram/ (the host's DRAM, as a
  // device's dram/), hosts/<host>/local_port/ and hosts/<host>/ports/<device>/
  // (HostBridge traffic), devices/<device>/ (PnmDevice::stats layout).
  StatGroup stats() const;
  // The same tree's contents, published under `g`.
  void report(StatGroup& g) const;

  // Runs `program` in host 0's thread with a Backend per device of host 0
  // (backends[k] for its k-th device), until it returns; then stops the
  // simulation. An exception the program throws is rethrown here.
  void run_host(const std::function<void(const std::vector<sw::Backend*>&)>& program);
  // The same, for a program that talks to host 0's first device only.
  void run(const std::function<void(sw::Backend&)>& program);

private:
  SystemConfig cfg_;
  std::vector<std::unique_ptr<PnmDevice>> devices_;
  std::vector<std::unique_ptr<HostBridge>> ports_;
  struct NoDevice; // answers the local port's CXL.io sockets: nothing there
  struct LocalHost {
    std::unique_ptr<dram::DramTlm> dram;
    std::unique_ptr<HostBridge> port;
    std::unique_ptr<NoDevice> none;
  };
  std::vector<LocalHost> hosts_;
  std::unique_ptr<fabric::FabricTlm> fabric_;

public:
  ~System();
};

} // namespace pnm
