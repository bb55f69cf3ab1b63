#include "host_system.h"

#include "common/sanitizer.h"

#include <exception>
#include <stdexcept>

namespace pnm {

HostSystem::HostSystem(const PlatformConfig& pc)
    : dev("dev", pc), host("host", HostBridgeConfig{pc.cxl.root_port_latency_ns}) {
  host.config_socket.bind(dev.cxl_io.config_socket);
  host.mmio_socket.bind(dev.cxl_io.mmio_socket);
  host.mem_socket.bind(dev.cxl_mem.host_socket);
  dev.on_host_interrupt = [this]() { host.interrupt(); };
}

void HostSystem::run(const std::function<void(sw::Backend&)>& program) {
  std::exception_ptr failure;
  host.set_program([&](sw::Backend& b) {
    try {
      program(b);
    } catch (...) {
      failure = std::current_exception();
    }
  });
  sc_core::sc_start();
  sanitizer_back_on_main_stack();
  if (failure) std::rethrow_exception(failure);
  if (!host.program_done()) throw std::runtime_error("the host program did not finish (simulation starved)");
}

} // namespace pnm
