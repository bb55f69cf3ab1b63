// The host: a CPU's root port as a TLM initiator, and the Backend the driver
// (sw/driver) runs on. A host program is a function that runs in this
// module's SystemC thread, so every register access and memory transfer it
// makes takes simulated time, exactly as the device answers it.
//
// Sockets: config_socket (PCIe configuration space of the device),
// mmio_socket (BAR register space), mem_socket (CXL.mem, host physical
// addresses). Every transaction crosses the host's latency path twice
// (request out, completion back): a CXL.mem load goes through the core and
// its caches (core_and_caches_ns), the mesh (mesh_ns) and the root port
// (root_port_latency_ns); an uncached CXL.io access skips the cache lookups.
// The same class with no root port in front of the host's own DRAM is the
// host's local memory (system.h).
#pragma once

#include "common/stats.h"
#include "driver/backend.h"

#include <functional>
#include <vector>
#include <systemc>
#include <tlm>
#include <tlm_utils/simple_initiator_socket.h>

namespace pnm {

struct HostBridgeConfig {
  double root_port_latency_ns = 0; // one way, host side of the link
  double core_and_caches_ns = 0;   // one way: load issue, L1/L2/LLC miss path (CXL.mem and local loads)
  double mesh_ns = 0;              // one way: LLC slice to the root port or memory controller

  // Added to each transaction, both ways.
  double mem_path_ns() const { return 2 * (core_and_caches_ns + mesh_ns + root_port_latency_ns); }
  double io_path_ns() const { return 2 * (mesh_ns + root_port_latency_ns); }
};

class HostBridge : public sc_core::sc_module, public sw::Backend {
public:
  tlm_utils::simple_initiator_socket<HostBridge> config_socket;
  tlm_utils::simple_initiator_socket<HostBridge> mmio_socket;
  tlm_utils::simple_initiator_socket<HostBridge> mem_socket;

  HostBridge(sc_core::sc_module_name name, const HostBridgeConfig& cfg);

  // Runs `program` in the host thread at the start of simulation; the
  // simulation stops when it returns (sc_stop), unless keep_running.
  void set_program(std::function<void(sw::Backend&)> program, bool keep_running = false);
  // More programs, each in its own thread (host cores issuing concurrently);
  // the simulation stops when all have returned.
  void add_program(std::function<void(sw::Backend&)> program);
  bool program_done() const { return done_; }
  const HostBridgeConfig& config() const { return cfg_; }

  // The device's interrupt (MSI) arrives here.
  void interrupt();

  uint32_t config_read32(uint32_t offset) override;
  void config_write32(uint32_t offset, uint32_t value) override;
  uint32_t mmio_read32(uint64_t addr) override;
  void mmio_write32(uint64_t addr, uint32_t value) override;
  uint64_t mmio_read64(uint64_t addr) override;
  void mmio_write64(uint64_t addr, uint64_t value) override;
  bool mem_read(uint64_t hpa, void* dst, size_t len) override;
  bool mem_write(uint64_t hpa, const void* src, size_t len) override;
  // Keeps up to `lines_in_flight` 64-byte lines of the spans outstanding
  // (the host's line fill buffers); pieces of a span end at 4 KiB pages.
  bool mem_read_many(const std::vector<MemSpan>& spans, unsigned lines_in_flight) override;
  // Reads and writes about `lines` 64-byte lines (whole periods) from `base`
  // on, in 1 KiB blocks: `reads` of every `reads + writes` blocks read, the
  // rest written, with up to `lines_in_flight` lines outstanding (mlc's
  // bandwidth runs). With `lines_per_access` 1 each line is its own access
  // (a core's fill buffers); with 16 each block is one access (a DMA engine's
  // 1 KiB burst: its lines hold their buffers until the last is back).
  // Counts what it issued.
  struct MixCount {
    uint64_t reads = 0, writes = 0;
    bool ok = true;
  };
  MixCount mem_stream_lines(uint64_t base, uint64_t lines, unsigned reads, unsigned writes,
                            unsigned lines_in_flight, unsigned lines_per_access = 1);
  bool wait_for_interrupt(double timeout_ns) override;
  double now_ns() override;
  void sleep_ns(double ns) override;

  uint64_t errors() const { return errors_; }
  // Observer of every CXL.mem transfer (tracing): direction, host address,
  // bytes, start and end (ns), and the lane (worker of mem_read_many, else 0).
  std::function<void(bool write, uint64_t hpa, size_t len, double start_ns, double end_ns, unsigned lane)>
      on_mem_transfer;
  // What crossed the root port: CXL.mem payload bytes, CXL.io accesses.
  uint64_t mem_bytes_read() const { return mem_bytes_read_; }
  uint64_t mem_bytes_written() const { return mem_bytes_written_; }
  uint64_t io_accesses() const { return io_accesses_; }
  uint64_t io_bytes() const { return io_bytes_; }
  // Publishes those (and failed transactions) under `g`.
  void report(StatGroup& g) const;

private:
  bool access(tlm_utils::simple_initiator_socket<HostBridge>& s, bool write, uint64_t addr,
              void* data, size_t len);
  void run_thread();

  HostBridgeConfig cfg_;
  std::vector<std::function<void(sw::Backend&)>> programs_;
  bool keep_running_ = false;
  bool done_ = false;
  unsigned pending_irqs_ = 0;
  uint64_t errors_ = 0;
  unsigned lane_ = 0; // worker of mem_read_many currently issuing (cooperative threads)
  uint64_t mem_bytes_read_ = 0, mem_bytes_written_ = 0, io_accesses_ = 0, io_bytes_ = 0;
  sc_core::sc_event irq_event_;
};

} // namespace pnm
