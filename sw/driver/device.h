// libpnm: the host driver of a PNM CXL Type-3 device, written only against
// the Backend interface (backend.h), so the same code runs on the virtual
// platform's host bridge or on silicon with another backend.
//
// Device: discovery (PCIe extended capabilities -> CXL Register Locator
// DVSEC -> BARs -> device capability array: mailbox, memory device status,
// PNM queue doorbells; component registers -> HDM decoder 0 for the host
// physical address of device memory), CXL mailbox commands with timeouts,
// and the vendor PNM commands. Tenant and Queue (queue.h) build on it.
#pragma once

#include "driver/backend.h"

#include <cstdint>
#include <stdexcept>
#include <string>
#include <vector>

namespace pnm::sw {

// Anything the driver cannot do: names the device register or command.
class DriverError : public std::runtime_error {
public:
  using std::runtime_error::runtime_error;
};

// A mailbox command the device answered with a return code other than Success.
class MailboxError : public DriverError {
public:
  MailboxError(uint16_t opcode, uint16_t rc);
  uint16_t opcode() const { return opcode_; }
  uint16_t return_code() const { return rc_; }

private:
  uint16_t opcode_, rc_;
};

struct MailboxResult {
  uint16_t return_code = 0;
  std::vector<uint8_t> payload;
};

struct Identify {
  std::string fw_revision;
  uint64_t total_bytes = 0, volatile_bytes = 0, persistent_bytes = 0;
};

struct PnmCaps {
  uint16_t desc_version = 0, lanes = 0;
  unsigned engines = 0, precisions = 0, max_tenants = 0, max_queues = 0;
  unsigned min_entries = 0, max_entries = 0;
  uint64_t tenant_granule_bytes = 0;
};

struct PerfCounters {
  uint64_t device_ns = 0, jobs_completed = 0, jobs_failed = 0, engine_busy_cycles = 0;
  uint64_t dram_bytes_read = 0, dram_bytes_written = 0;
  uint64_t link_bytes_rx = 0, link_bytes_tx = 0, instructions_retired = 0;
  uint64_t energy_pj[6] = {}; // DRAM, link, datapath, SRAM, controller core, other
};

class Device {
public:
  // Discovers the device, then waits for its mailbox (Memory Device Status
  // "Mailbox Interface Ready", which the firmware raises once it has
  // booted) for up to `ready_timeout_ns`, as Linux's cxl_pci does (60 s by
  // default). DriverError if a structure is missing or malformed, or the
  // mailbox never becomes ready.
  explicit Device(Backend& backend, double ready_timeout_ns = 60e9);

  Backend& backend() { return b_; }
  // Waits until the mailbox is ready (see the constructor).
  void wait_ready(double timeout_ns);
  double mailbox_timeout_ns = 2e9; // Linux's cxl_pci waits 2 s

  // Raw command: the return code and output payload. DriverError on a
  // timeout, a mailbox that is not ready or busy, or a payload too large.
  MailboxResult mailbox(uint16_t opcode, const std::vector<uint8_t>& in = {});
  // As mailbox(), but a return code other than Success throws MailboxError.
  std::vector<uint8_t> command(uint16_t opcode, const std::vector<uint8_t>& in = {});
  uint32_t mailbox_payload_bytes() const { return payload_bytes_; }

  Identify identify();
  PnmCaps pnm_caps();
  PerfCounters perf();
  void create_tenant(uint16_t id, uint64_t dpa_base, uint64_t bytes);
  void destroy_tenant(uint16_t id);
  uint16_t create_queue(uint16_t tenant, uint32_t entries, uint64_t sq_dpa, uint64_t cq_dpa);
  void destroy_queue(uint16_t queue);

  // Device memory through CXL.mem (HDM decoder 0, no interleave).
  uint64_t hpa(uint64_t dpa) const;
  uint64_t capacity_bytes() const { return hdm_size_; }
  void write(uint64_t dpa, const void* src, size_t len);
  void read(uint64_t dpa, void* dst, size_t len);

  // Queue doorbells (BAR2 vendor capability).
  void ring_sq_tail(uint16_t queue, uint32_t tail);
  void ring_cq_head(uint16_t queue, uint32_t head);
  unsigned doorbell_queues() const { return doorbell_queues_; }

  // Register block addresses found by discovery (for tools and tests).
  uint64_t component_base() const { return component_; }
  uint64_t device_regs_base() const { return device_regs_; }
  uint64_t mailbox_base() const { return mbox_; }

private:
  void discover();
  uint64_t bar_address(unsigned bir);
  void check_range(uint64_t dpa, size_t len, const char* what) const;
  void discover_device_caps();
  void discover_hdm();

  Backend& b_;
  uint64_t component_ = 0, device_regs_ = 0, mbox_ = 0, memdev_ = 0, doorbells_ = 0;
  unsigned doorbell_queues_ = 0;
  uint32_t payload_bytes_ = 0;
  uint64_t hdm_base_ = 0, hdm_size_ = 0;
};

} // namespace pnm::sw
