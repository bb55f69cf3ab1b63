// One host with one PNM device on its root port, wired as the CLI jobs and
// the integration tests need it: CXL.io (configuration + BAR registers),
// CXL.mem, and the device's interrupt to the host.
#pragma once

#include "host_bridge.h"
#include "pnm_device.h"

#include <functional>

namespace pnm {

class HostSystem {
public:
  explicit HostSystem(const PlatformConfig& pc);

  // Runs `program` (driver code) in the host's thread until it returns,
  // then stops the simulation. An exception the program throws is rethrown
  // here, after the simulation stopped.
  void run(const std::function<void(sw::Backend&)>& program);

  PnmDevice dev;
  HostBridge host;
};

} // namespace pnm
