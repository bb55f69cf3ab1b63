// libpnm tenants and queue pairs.
//
// Tenant: a DPA range the device isolates (vendor mailbox Create Tenant),
// with a bump allocator for KV caches, queues and job buffers inside it.
// Queue: one SQ/CQ pair of a tenant (NVMe pattern, pnm_jobs.h): submit()
// writes the job descriptor and a submission entry into device memory and
// rings the SQ-tail doorbell; completions are found by their phase tag, by
// polling or after the device's interrupt.
#pragma once

#include "driver/device.h"
#include <pnmvp/hw/engine_regs.h>

#include <optional>
#include <string>

namespace pnm::sw {

struct Buffer {
  uint64_t dpa = 0;
  uint64_t bytes = 0;
};

class Tenant {
public:
  // Creates the tenant on the device (id, base and length as Create Tenant).
  Tenant(Device& dev, uint16_t id, uint64_t dpa_base, uint64_t bytes);
  ~Tenant(); // destroys the tenant if release() was not called (errors logged, not thrown)
  Tenant(const Tenant&) = delete;
  Tenant& operator=(const Tenant&) = delete;

  // `bytes` from the tenant's memory, `align` aligned (power of two).
  // DriverError when the tenant's memory is exhausted.
  Buffer alloc(uint64_t bytes, uint64_t align = 64);
  void release(); // destroys the tenant on the device (its queues must be gone)

  Device& device() { return dev_; }
  uint16_t id() const { return id_; }
  uint64_t base() const { return base_; }
  uint64_t bytes() const { return bytes_; }
  uint64_t used_bytes() const { return next_ - base_; }

private:
  Device& dev_;
  uint16_t id_;
  uint64_t base_, bytes_, next_;
  bool live_ = true;
};

struct Completion {
  uint16_t cid = 0;
  uint16_t status = 0; // PNM_CQ_ST_* or PNM_JOB_ERR_*
  uint32_t engine_cycles = 0;
  uint32_t lines_read = 0;
  bool ok() const { return status == 0; }
};

// Name of a completion status ("success", "access denied", engine errors).
std::string completion_status_name(uint16_t status);

class Queue {
public:
  // Allocates the rings and one descriptor slot per entry from the tenant.
  Queue(Tenant& tenant, uint32_t entries);
  ~Queue(); // destroys the queue on the device if close() was not called
  Queue(const Queue&) = delete;
  Queue& operator=(const Queue&) = delete;

  // Submits a job; returns its command id. DriverError if the SQ is full
  // (wait for completions first). ring = false writes the entry without
  // ringing the SQ tail doorbell: ring() does, for every entry so far (jobs
  // staged while the device is idle start together, and their writes do not
  // queue behind a running job's DRAM traffic).
  uint16_t submit(const pnm_job_desc_t& desc, bool interrupt = true, bool ring = true);
  // Raw submission entry (tests of the firmware's checks): 64 bytes.
  uint16_t submit_raw(const uint8_t* sqe64, const pnm_job_desc_t* desc, bool ring = true);
  // Rings the SQ tail doorbell for the entries submitted with ring = false.
  void ring();
  // The next completion if one is posted.
  std::optional<Completion> poll();
  // Waits for the next completion: by interrupt (use_irq) or by polling.
  // DriverError after timeout_ns.
  Completion wait(double timeout_ns = 1e9, bool use_irq = true);
  void close();

  uint16_t id() const { return id_; }
  uint32_t entries() const { return entries_; }
  uint32_t outstanding() const { return outstanding_; }
  Tenant& tenant() { return tenant_; }

private:
  Tenant& tenant_;
  Device& dev_;
  uint32_t entries_;
  Buffer sq_, cq_, descs_;
  uint16_t id_ = 0;
  uint32_t sq_tail_ = 0, sq_head_ = 0, cq_head_ = 0, phase_ = 1, outstanding_ = 0;
  uint16_t next_cid_ = 0;
  bool live_ = false;
};

} // namespace pnm::sw
