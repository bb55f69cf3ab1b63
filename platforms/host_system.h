// One host with one PNM device on its root port: a System (system.h) seen
// through its first device, as the CLI jobs and the integration tests use it.
#pragma once

#include "system.h"

#include <functional>
#include <memory>

namespace pnm {

class HostSystem {
public:
  // The default system (pnm-ref-system) with `pc` as its device.
  explicit HostSystem(const PlatformConfig& pc) : HostSystem(system_around(pc)) {}
  // Any system, seen through device 0 and its root port.
  explicit HostSystem(const SystemConfig& sc)
      : sys_(std::make_unique<System>(sc)), dev(sys_->device(0)), host(sys_->port(0)) {}

  // Runs `program` (driver code) in the host's thread until it returns,
  // then stops the simulation. An exception the program throws is rethrown
  // here, after the simulation stopped.
  void run(const std::function<void(sw::Backend&)>& program) { sys_->run(program); }
  System& system() { return *sys_; }

private:
  std::unique_ptr<System> sys_;

public:
  PnmDevice& dev;
  HostBridge& host;
};

} // namespace pnm
