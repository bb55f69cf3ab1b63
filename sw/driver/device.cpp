#include "driver/device.h"

#include <pnmvp/hw/doorbells.h>
#include <pnmvp/hw/mailbox.h>

#include <fmt/format.h>

#include <cstring>

namespace pnm::sw {

namespace {
// PCIe / CXL constants (REFERENCE parts A and B; Linux drivers/cxl).
constexpr uint32_t ext_cap_start = 0x100, dvsec_cap_id = 0x23, cxl_vendor_id = 0x1E98;
constexpr uint16_t dvsec_register_locator = 8;
constexpr unsigned block_component = 1, block_memdev = 3;
constexpr uint32_t cm_offset = 0x1000; // CXL.cache/mem registers inside the component block
constexpr uint16_t cm_cap_hdm = 0x0005;
constexpr uint32_t mbox_control = 0x04, mbox_command = 0x08, mbox_status = 0x10, mbox_payload = 0x20;
constexpr double poll_ns = 500;
} // namespace

MailboxError::MailboxError(uint16_t opcode, uint16_t rc)
    : DriverError(fmt::format("mailbox command 0x{:04x} ({}) failed: return code 0x{:02x} ({})", opcode,
                              pnm_mbox_opcode_name(opcode), rc, pnm_mbox_rc_name(rc))),
      opcode_(opcode), rc_(rc) {}

Device::Device(Backend& backend, double ready_timeout_ns) : b_(backend) {
  discover();
  wait_ready(ready_timeout_ns);
}

void Device::wait_ready(double timeout_ns) {
  if (!memdev_) return;
  // Poll with a growing interval: quick when the firmware is nearly up,
  // few polls when it is not coming.
  const double deadline = b_.now_ns() + timeout_ns;
  double wait_ns = 100;
  while (!(b_.mmio_read32(memdev_) & (1u << 4))) {
    if (b_.now_ns() >= deadline)
      throw DriverError(fmt::format("mailbox interface not ready after {:.3g} ms (memory device status bit 4 "
                                    "clear): the device firmware did not come up",
                                    timeout_ns / 1e6));
    b_.sleep_ns(std::min(wait_ns, std::max(1.0, deadline - b_.now_ns())));
    wait_ns = std::min(wait_ns * 2, 10e6);
  }
}

void Device::discover() {
  const uint32_t id = b_.config_read32(0);
  if (id == 0xFFFFFFFFu) throw DriverError("no device answers configuration reads (vendor ID all ones)");
  // Walk the extended capabilities for the CXL Register Locator DVSEC.
  uint32_t off = ext_cap_start, regloc = 0, regloc_len = 0;
  for (unsigned guard = 0; off && guard < 64; ++guard) {
    const uint32_t hdr = b_.config_read32(off);
    if (hdr == 0 || hdr == 0xFFFFFFFFu) break;
    if ((hdr & 0xFFFF) == dvsec_cap_id) {
      const uint32_t h1 = b_.config_read32(off + 4);
      const uint16_t dvsec_id = static_cast<uint16_t>(b_.config_read32(off + 8));
      if ((h1 & 0xFFFF) == cxl_vendor_id && dvsec_id == dvsec_register_locator) {
        regloc = off;
        regloc_len = h1 >> 20;
      }
    }
    const uint32_t next = hdr >> 20;
    if (next != 0 && (next < ext_cap_start || next <= off || (next & 3)))
      throw DriverError(fmt::format("extended capability list is malformed at 0x{:x} (next 0x{:x})", off, next));
    off = next;
  }
  if (!regloc) throw DriverError("no CXL Register Locator DVSEC (vendor 0x1E98, ID 8) in configuration space");
  for (uint32_t e = 0x0C; e + 8 <= regloc_len; e += 8) {
    const uint32_t lo = b_.config_read32(regloc + e), hi = b_.config_read32(regloc + e + 4);
    const uint64_t where = bar_address(lo & 7) + ((uint64_t{hi} << 32) | (lo & 0xFFFF0000u));
    const unsigned block = (lo >> 8) & 0xFF;
    if (block == block_component) component_ = where;
    if (block == block_memdev) device_regs_ = where;
  }
  if (!device_regs_) throw DriverError("Register Locator names no memory device register block (ID 3)");
  if (!component_) throw DriverError("Register Locator names no component register block (ID 1)");
  discover_device_caps();
  discover_hdm();
}

uint64_t Device::bar_address(unsigned bir) {
  if (bir > 5) throw DriverError(fmt::format("Register Locator names BAR {} (BIR must be 0..5)", bir));
  const uint32_t lo = b_.config_read32(0x10 + 4 * bir);
  uint64_t addr = lo & ~0xFull;
  if (((lo >> 1) & 3) == 2) addr |= uint64_t{b_.config_read32(0x14 + 4 * bir)} << 32; // 64-bit BAR
  if (addr == 0) throw DriverError(fmt::format("BAR {} is not assigned", bir));
  return addr;
}

void Device::discover_device_caps() {
  const uint64_t arr = b_.mmio_read64(device_regs_);
  const unsigned count = static_cast<unsigned>((arr >> PNM_DEVCAP_ARRAY_COUNT_SHIFT) & 0xFFFF);
  if ((arr & 0xFFFF) != 0 || count == 0 || count > 64)
    throw DriverError(fmt::format("device capability array at 0x{:x} is malformed (0x{:016x})", device_regs_, arr));
  for (unsigned i = 0; i < count; ++i) {
    const uint64_t h = device_regs_ + PNM_DEVCAP_HEADER_FIRST_OFF + PNM_DEVCAP_HEADER_BYTES * i;
    const uint32_t id_ver = b_.mmio_read32(h), offset = b_.mmio_read32(h + PNM_DEVCAP_HEADER_OFFSET_OFF),
                   length = b_.mmio_read32(h + PNM_DEVCAP_HEADER_LENGTH_OFF);
    switch (id_ver & 0xFFFF) {
    case PNM_DEVCAP_ID_PRIMARY_MAILBOX: mbox_ = device_regs_ + offset; break;
    case PNM_DEVCAP_ID_MEMDEV: memdev_ = device_regs_ + offset; break;
    case PNM_DEVCAP_ID_PNM_DOORBELLS:
      doorbells_ = device_regs_ + offset;
      doorbell_queues_ = length / PNM_DOORBELL_STRIDE_BYTES;
      break;
    default: break; // device status and capabilities this driver does not use
    }
  }
  if (!mbox_) throw DriverError("device has no primary mailbox capability (ID 0x0002)");
  payload_bytes_ = 1u << (b_.mmio_read32(mbox_) & 0x1F);
}

void Device::discover_hdm() {
  const uint64_t cm = component_ + cm_offset;
  const uint32_t hdr = b_.mmio_read32(cm);
  const unsigned entries = hdr >> 24;
  uint64_t hdm = 0;
  for (unsigned i = 1; i <= entries; ++i) {
    const uint32_t e = b_.mmio_read32(cm + 4 * i);
    if ((e & 0xFFFF) == cm_cap_hdm) hdm = cm + (e >> 20);
  }
  if (!hdm) throw DriverError("component registers have no HDM decoder capability (ID 5)");
  const uint32_t ctrl = b_.mmio_read32(hdm + 0x20);
  if (!(ctrl & (1u << 10)))
    throw DriverError("HDM decoder 0 is not committed: device memory is not mapped (platform firmware's job)");
  hdm_base_ = (uint64_t{b_.mmio_read32(hdm + 0x14)} << 32) | (b_.mmio_read32(hdm + 0x10) & 0xF0000000u);
  hdm_size_ = (uint64_t{b_.mmio_read32(hdm + 0x1C)} << 32) | (b_.mmio_read32(hdm + 0x18) & 0xF0000000u);
}

MailboxResult Device::mailbox(uint16_t opcode, const std::vector<uint8_t>& in) {
  if (memdev_ && !(b_.mmio_read32(memdev_) & (1u << 4)))
    throw DriverError("mailbox interface is not ready (memory device status bit 4 clear)");
  if (in.size() > payload_bytes_)
    throw DriverError(fmt::format("command 0x{:04x}: input payload of {} B exceeds the mailbox's {} B",
                                  opcode, in.size(), payload_bytes_));
  if (b_.mmio_read32(mbox_ + mbox_control) & 1u)
    throw DriverError("mailbox is busy: the doorbell is still set from an earlier command");
  for (size_t i = 0; i < in.size(); i += 4) {
    uint32_t w = 0;
    std::memcpy(&w, &in[i], std::min<size_t>(4, in.size() - i));
    b_.mmio_write32(mbox_ + mbox_payload + i, w);
  }
  b_.mmio_write64(mbox_ + mbox_command, opcode | (uint64_t{in.size()} << 16));
  b_.mmio_write32(mbox_ + mbox_control, b_.mmio_read32(mbox_ + mbox_control) | 1u);
  const double deadline = b_.now_ns() + mailbox_timeout_ns;
  while (b_.mmio_read32(mbox_ + mbox_control) & 1u) {
    if (b_.now_ns() > deadline)
      throw DriverError(fmt::format("mailbox command 0x{:04x} ({}) timed out after {:.0f} ms", opcode,
                                    pnm_mbox_opcode_name(opcode), mailbox_timeout_ns / 1e6));
    b_.sleep_ns(poll_ns);
  }
  MailboxResult r;
  r.return_code = static_cast<uint16_t>(b_.mmio_read64(mbox_ + mbox_status) >> 32);
  const uint32_t len = static_cast<uint32_t>((b_.mmio_read64(mbox_ + mbox_command) >> 16) & 0x1FFFFF);
  if (len > payload_bytes_)
    throw DriverError(fmt::format("device reported an output payload of {} B, larger than the mailbox", len));
  r.payload.resize(len);
  for (uint32_t i = 0; i < len; i += 4) {
    const uint32_t w = b_.mmio_read32(mbox_ + mbox_payload + i);
    std::memcpy(&r.payload[i], &w, std::min<uint32_t>(4, len - i));
  }
  return r;
}

std::vector<uint8_t> Device::command(uint16_t opcode, const std::vector<uint8_t>& in) {
  MailboxResult r = mailbox(opcode, in);
  if (r.return_code != PNM_MBOX_RC_SUCCESS) throw MailboxError(opcode, r.return_code);
  return std::move(r.payload);
}

namespace {
void need(const std::vector<uint8_t>& p, size_t n, uint16_t opcode) {
  if (p.size() < n)
    throw DriverError(fmt::format("command 0x{:04x} returned {} B, expected at least {}", opcode, p.size(), n));
}
} // namespace

Identify Device::identify() {
  const auto p = command(PNM_MBOX_OP_IDENTIFY);
  need(p, 0x20, PNM_MBOX_OP_IDENTIFY);
  Identify id;
  id.fw_revision.assign(reinterpret_cast<const char*>(p.data()), strnlen(reinterpret_cast<const char*>(p.data()), 16));
  id.total_bytes = pnm_le64_get(&p[0x10]) * PNM_MBOX_CAPACITY_UNIT_BYTES;
  id.volatile_bytes = pnm_le64_get(&p[0x18]) * PNM_MBOX_CAPACITY_UNIT_BYTES;
  if (p.size() >= 0x28) id.persistent_bytes = pnm_le64_get(&p[0x20]) * PNM_MBOX_CAPACITY_UNIT_BYTES;
  return id;
}

PnmCaps Device::pnm_caps() {
  const auto p = command(PNM_MBOX_OP_PNM_GET_CAPS);
  need(p, PNM_MBOX_PNM_CAPS_OUT_LEN, PNM_MBOX_OP_PNM_GET_CAPS);
  PnmCaps c;
  c.desc_version = pnm_le16_get(&p[PNM_CAPS_DESC_VERSION_OFF]);
  c.lanes = pnm_le16_get(&p[PNM_CAPS_LANES_OFF]);
  c.engines = p[PNM_CAPS_ENGINES_OFF];
  c.precisions = p[PNM_CAPS_PRECISIONS_OFF];
  c.max_tenants = pnm_le16_get(&p[PNM_CAPS_MAX_TENANTS_OFF]);
  c.max_queues = pnm_le16_get(&p[PNM_CAPS_MAX_QUEUES_OFF]);
  c.min_entries = pnm_le16_get(&p[PNM_CAPS_MIN_ENTRIES_OFF]);
  c.max_entries = pnm_le16_get(&p[PNM_CAPS_MAX_ENTRIES_OFF]);
  c.tenant_granule_bytes = 1ull << p[PNM_CAPS_GRANULE_LOG2_OFF];
  return c;
}

PerfCounters Device::perf() {
  const auto p = command(PNM_MBOX_OP_PNM_GET_PERF);
  need(p, PNM_MBOX_PNM_PERF_OUT_LEN, PNM_MBOX_OP_PNM_GET_PERF);
  PerfCounters c;
  c.device_ns = pnm_le64_get(&p[PNM_PERF_DEVICE_NS_OFF]);
  c.jobs_completed = pnm_le64_get(&p[PNM_PERF_JOBS_DONE_OFF]);
  c.jobs_failed = pnm_le64_get(&p[PNM_PERF_JOBS_FAILED_OFF]);
  c.engine_busy_cycles = pnm_le64_get(&p[PNM_PERF_BUSY_CYCLES_OFF]);
  c.dram_bytes_read = pnm_le64_get(&p[PNM_PERF_DRAM_RD_OFF]);
  c.dram_bytes_written = pnm_le64_get(&p[PNM_PERF_DRAM_WR_OFF]);
  c.link_bytes_rx = pnm_le64_get(&p[PNM_PERF_LINK_RX_OFF]);
  c.link_bytes_tx = pnm_le64_get(&p[PNM_PERF_LINK_TX_OFF]);
  c.instructions_retired = pnm_le64_get(&p[PNM_PERF_INSTRUCTIONS_OFF]);
  for (unsigned i = 0; i < PNM_ENERGY_CLASSES; ++i) c.energy_pj[i] = pnm_le64_get(&p[PNM_PERF_ENERGY_OFF + 8 * i]);
  return c;
}

void Device::create_tenant(uint16_t id, uint64_t dpa_base, uint64_t bytes) {
  std::vector<uint8_t> in(PNM_MBOX_PNM_CREATE_TENANT_IN_LEN, 0);
  pnm_le16_put(&in[PNM_TENANT_IN_ID_OFF], id);
  pnm_le64_put(&in[PNM_TENANT_IN_BASE_OFF], dpa_base);
  pnm_le64_put(&in[PNM_TENANT_IN_LENGTH_OFF], bytes);
  command(PNM_MBOX_OP_PNM_CREATE_TENANT, in);
}

void Device::destroy_tenant(uint16_t id) {
  std::vector<uint8_t> in(PNM_MBOX_PNM_TENANT_ID_IN_LEN, 0);
  pnm_le16_put(&in[PNM_TENANT_IN_ID_OFF], id);
  command(PNM_MBOX_OP_PNM_DESTROY_TENANT, in);
}

uint16_t Device::create_queue(uint16_t tenant, uint32_t entries, uint64_t sq_dpa, uint64_t cq_dpa) {
  std::vector<uint8_t> in(PNM_MBOX_PNM_CREATE_QUEUE_IN_LEN, 0);
  pnm_le16_put(&in[PNM_QUEUE_IN_TENANT_OFF], tenant);
  pnm_le16_put(&in[PNM_QUEUE_IN_ENTRIES_OFF], static_cast<uint16_t>(entries));
  pnm_le64_put(&in[PNM_QUEUE_IN_SQ_BASE_OFF], sq_dpa);
  pnm_le64_put(&in[PNM_QUEUE_IN_CQ_BASE_OFF], cq_dpa);
  const auto out = command(PNM_MBOX_OP_PNM_CREATE_QUEUE, in);
  need(out, PNM_MBOX_PNM_CREATE_QUEUE_OUT_LEN, PNM_MBOX_OP_PNM_CREATE_QUEUE);
  return pnm_le16_get(&out[PNM_QUEUE_ID_OFF]);
}

void Device::destroy_queue(uint16_t queue) {
  std::vector<uint8_t> in(PNM_MBOX_PNM_DESTROY_QUEUE_IN_LEN, 0);
  pnm_le16_put(&in[PNM_QUEUE_ID_OFF], queue);
  command(PNM_MBOX_OP_PNM_DESTROY_QUEUE, in);
}

uint64_t Device::hpa(uint64_t dpa) const {
  if (dpa >= hdm_size_) throw DriverError(fmt::format("DPA 0x{:x} is beyond the mapped 0x{:x} B", dpa, hdm_size_));
  return hdm_base_ + dpa;
}

void Device::check_range(uint64_t dpa, size_t len, const char* what) const {
  if (len > hdm_size_ || dpa > hdm_size_ - len)
    throw DriverError(fmt::format("{} of {} B at DPA 0x{:x} runs past device memory (0x{:x} B)", what, len, dpa,
                                  hdm_size_));
}

// CXL.mem moves whole 64 B lines (the host's cache lines): partial lines at
// either end are read, merged and written back, as a host cache would.
void Device::write(uint64_t dpa, const void* src, size_t len) {
  if (len == 0) return;
  check_range(dpa, len, "write");
  const uint64_t first = dpa & ~uint64_t{63}, end = (dpa + len + 63) & ~uint64_t{63};
  const auto* in = static_cast<const uint8_t*>(src);
  if (first == dpa && end == dpa + len) {
    if (!b_.mem_write(hdm_base_ + dpa, src, len))
      throw DriverError(fmt::format("CXL.mem write of {} B at DPA 0x{:x} failed", len, dpa));
    return;
  }
  std::vector<uint8_t> lines(end - first);
  if (!b_.mem_read(hdm_base_ + first, lines.data(), 64) ||
      (end - first > 64 && !b_.mem_read(hdm_base_ + end - 64, lines.data() + lines.size() - 64, 64)))
    throw DriverError(fmt::format("CXL.mem read for a partial-line write at DPA 0x{:x} failed", dpa));
  std::memcpy(lines.data() + (dpa - first), in, len);
  if (!b_.mem_write(hdm_base_ + first, lines.data(), lines.size()))
    throw DriverError(fmt::format("CXL.mem write of {} B at DPA 0x{:x} failed", len, dpa));
}

void Device::read(uint64_t dpa, void* dst, size_t len) {
  if (len == 0) return;
  check_range(dpa, len, "read");
  const uint64_t first = dpa & ~uint64_t{63}, end = (dpa + len + 63) & ~uint64_t{63};
  if (first == dpa && end == dpa + len) {
    if (!b_.mem_read(hdm_base_ + dpa, dst, len))
      throw DriverError(fmt::format("CXL.mem read of {} B at DPA 0x{:x} failed (poison or not decoded)", len, dpa));
    return;
  }
  std::vector<uint8_t> lines(end - first);
  if (!b_.mem_read(hdm_base_ + first, lines.data(), lines.size()))
    throw DriverError(fmt::format("CXL.mem read of {} B at DPA 0x{:x} failed (poison or not decoded)", len, dpa));
  std::memcpy(dst, lines.data() + (dpa - first), len);
}

void Device::ring_sq_tail(uint16_t queue, uint32_t tail) {
  if (queue >= doorbell_queues_) throw DriverError(fmt::format("queue {} has no doorbell", queue));
  b_.mmio_write32(doorbells_ + uint64_t{PNM_DOORBELL_STRIDE_BYTES} * queue + PNM_DOORBELL_SQ_TAIL_OFF, tail);
}

void Device::ring_cq_head(uint16_t queue, uint32_t head) {
  if (queue >= doorbell_queues_) throw DriverError(fmt::format("queue {} has no doorbell", queue));
  b_.mmio_write32(doorbells_ + uint64_t{PNM_DOORBELL_STRIDE_BYTES} * queue + PNM_DOORBELL_CQ_HEAD_OFF, head);
}

} // namespace pnm::sw
