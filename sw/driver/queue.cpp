#include "driver/queue.h"

#include <pnmvp/hw/jobs.h>
#include <pnmvp/hw/mailbox.h>

#include <fmt/format.h>

#include <cstring>
#include <iostream>

namespace pnm::sw {

Tenant::Tenant(Device& dev, uint16_t id, uint64_t dpa_base, uint64_t bytes)
    : dev_(dev), id_(id), base_(dpa_base), bytes_(bytes), next_(dpa_base) {
  dev_.create_tenant(id, dpa_base, bytes);
}

Tenant::~Tenant() {
  if (!live_) return;
  try {
    release();
  } catch (const std::exception& e) {
    std::cerr << "libpnm: tenant " << id_ << " not destroyed: " << e.what() << "\n";
  }
}

Buffer Tenant::alloc(uint64_t bytes, uint64_t align) {
  if (align == 0 || (align & (align - 1)))
    throw DriverError(fmt::format("tenant {}: alignment {} is not a power of two", id_, align));
  const uint64_t start = (next_ + align - 1) & ~(align - 1);
  if (bytes == 0 || start < next_ || start - base_ > bytes_ || bytes > bytes_ - (start - base_))
    throw DriverError(fmt::format("tenant {}: cannot allocate {} B ({} of {} B in use)", id_, bytes,
                                  next_ - base_, bytes_));
  next_ = start + bytes;
  return Buffer{start, bytes};
}

void Tenant::release() {
  if (!live_) return;
  live_ = false;
  dev_.destroy_tenant(id_);
}

std::string completion_status_name(uint16_t status) {
  static const char* const job[] = {"success", "bad magic", "bad version", "bad opcode", "bad precision",
                                    "bad flags", "reserved field set", "bad heads", "bad kv_heads",
                                    "bad head_dim", "bad seq_len", "bad k", "top-k too large",
                                    "bad page_tokens", "bad scale", "misaligned address",
                                    "region out of range", "regions overlap", "bad descriptor address",
                                    "internal engine error", "peer write failed"};
  if (status < sizeof job / sizeof job[0]) return job[status];
  switch (status) {
  case PNM_CQ_ST_BAD_SQE: return "bad submission entry";
  case PNM_CQ_ST_ACCESS_DENIED: return "access denied (outside the tenant)";
  case PNM_CQ_ST_BARRIER_TIMEOUT: return "merge barrier timed out (a part's flag never reached the epoch)";
  default: return fmt::format("unknown status 0x{:04x}", status);
  }
}

Queue::Queue(Tenant& tenant, uint32_t entries)
    : tenant_(tenant), dev_(tenant.device()), entries_(entries) {
  sq_ = tenant_.alloc(uint64_t{entries} * PNM_SQ_ENTRY_BYTES, PNM_QUEUE_BASE_ALIGN);
  cq_ = tenant_.alloc(uint64_t{entries} * PNM_CQ_ENTRY_BYTES, PNM_QUEUE_BASE_ALIGN);
  descs_ = tenant_.alloc(uint64_t{entries} * PNM_JOB_DESC_BYTES, PNM_JOB_ALIGN_BYTES);
  // Phase 0 everywhere: the device's first pass writes phase 1.
  std::vector<uint8_t> zeros(cq_.bytes, 0);
  dev_.write(cq_.dpa, zeros.data(), zeros.size());
  id_ = dev_.create_queue(tenant_.id(), entries, sq_.dpa, cq_.dpa);
  live_ = true;
}

Queue::~Queue() {
  if (!live_) return;
  try {
    close();
  } catch (const std::exception& e) {
    std::cerr << "libpnm: queue " << id_ << " not destroyed: " << e.what() << "\n";
  }
}

void Queue::close() {
  if (!live_) return;
  live_ = false;
  dev_.destroy_queue(id_);
}

uint16_t Queue::submit_raw(const uint8_t* sqe64, const pnm_job_desc_t* desc, bool ring_now) {
  if ((sq_tail_ + 1) % entries_ == sq_head_)
    throw DriverError(fmt::format("queue {}: submission queue full ({} entries)", id_, entries_ - 1));
  if (desc) dev_.write(descs_.dpa + uint64_t{sq_tail_} * PNM_JOB_DESC_BYTES, desc, sizeof *desc);
  dev_.write(sq_.dpa + uint64_t{sq_tail_} * PNM_SQ_ENTRY_BYTES, sqe64, PNM_SQ_ENTRY_BYTES);
  sq_tail_ = (sq_tail_ + 1) % entries_;
  ++outstanding_;
  if (ring_now) ring();
  return static_cast<uint16_t>(pnm_le16_get(sqe64 + PNM_SQE_CID_OFF));
}

void Queue::ring() { dev_.ring_sq_tail(id_, sq_tail_); }

uint16_t Queue::submit(const pnm_job_desc_t& desc, bool interrupt, bool ring_now) {
  pnm_sqe s{};
  s.opcode = PNM_SQE_OP_ATTENTION;
  s.flags = interrupt ? PNM_SQE_FLAG_IRQ : 0;
  s.cid = next_cid_++;
  s.desc_dpa = descs_.dpa + uint64_t{sq_tail_} * PNM_JOB_DESC_BYTES;
  uint8_t bytes[PNM_SQ_ENTRY_BYTES];
  pnm_sqe_encode(&s, bytes);
  return submit_raw(bytes, &desc, ring_now);
}

std::optional<Completion> Queue::poll() {
  uint8_t bytes[PNM_CQ_ENTRY_BYTES];
  dev_.read(cq_.dpa + uint64_t{cq_head_} * PNM_CQ_ENTRY_BYTES, bytes, sizeof bytes);
  pnm_cqe c;
  pnm_cqe_decode(bytes, &c);
  if (c.phase != phase_) return std::nullopt;
  cq_head_ = (cq_head_ + 1) % entries_;
  if (cq_head_ == 0) phase_ ^= 1;
  sq_head_ = c.sq_head % entries_;
  if (outstanding_) --outstanding_;
  dev_.ring_cq_head(id_, cq_head_);
  return Completion{c.cid, c.status, c.cycles, c.lines_read};
}

Completion Queue::wait(double timeout_ns, bool use_irq) {
  Backend& b = dev_.backend();
  const double deadline = b.now_ns() + timeout_ns;
  for (;;) {
    if (auto c = poll()) return *c;
    const double left = deadline - b.now_ns();
    if (left <= 0)
      throw DriverError(fmt::format("queue {}: no completion within {:.3f} ms", id_, timeout_ns / 1e6));
    if (use_irq) b.wait_for_interrupt(left);
    else b.sleep_ns(std::min(left, 1000.0));
  }
}

} // namespace pnm::sw
