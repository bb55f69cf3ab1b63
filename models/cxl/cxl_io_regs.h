// CXL.io register file of a Type-3 memory device, plain C++: the PCIe
// configuration space (header type 0, PCI Express capability, DVSECs), the
// component register block behind BAR0 (CXL.cache/mem capability array,
// RAS and HDM decoder capabilities) and the device register block behind
// BAR2 (device capability array, device status, primary mailbox, memory
// device status). Layouts: REFERENCE parts A and B (Linux drivers/cxl,
// QEMU hw/mem/cxl_type3.c and include/hw/cxl/*.h).
//
// Access rules (what the model answers, as a device behind a root port):
//  - sizes 1/2/4/8 only, naturally aligned; per space: configuration space
//    1/2/4 (PCIe configuration requests are at most one dword), component
//    registers 4/8 (Linux uses readl/readq; CXL.cache/mem registers are
//    dword or qword accessed), device registers 1/2/4/8 (CXL 2.0 §8.2.8:
//    none is wider than 64 bits; QEMU allows byte access to the payload);
//  - result unaligned / bad_size / unmapped: a read returns all ones (what a
//    host sees for an unsupported request), a write has no effect;
//  - unmapped = beyond the space (4 KiB config, BAR sizes), or, for
//    mmio_*(), an address no enabled BAR decodes;
//  - reserved offsets and bits read 0 and ignore writes; read-only fields
//    ignore writes (result ok).
//
// Device register block layout (offsets inside BAR2), parameters with
// QEMU's layout as default (REFERENCE B.1): capability array + 3 headers
// at 0x00..0x3F, device status at 0x80 (8 B), primary mailbox at 0x88
// (0x20 + 2 KiB payload), memory device status right after the payload
// (0x8A8).
//
// Mailbox (REFERENCE B.3): the host writes command + payload while the
// doorbell is clear and sets the doorbell; on_doorbell() fires (firmware
// side); take_command() reads what the host wrote; post_result() writes
// return code, output length and payload, then clears the doorbell (and
// raises on_mailbox_interrupt if enabled). While the doorbell is set, host
// writes to the command register and payload are ignored.
#pragma once

#include "hdm_decoder.h"

#include <pnmvp/hw/doorbells.h>

#include <array>
#include <cstdint>
#include <functional>
#include <optional>
#include <utility>
#include <vector>

namespace pnm::cxl {

enum class AccessResult : uint8_t { ok, unaligned, bad_size, unmapped };
const char* to_string(AccessResult r);

enum class RegSpace : uint8_t { config, component, device };

enum class MediaStatus : uint8_t { not_ready = 0, ready = 1, error = 2, disabled = 3 };

// Mailbox return codes used by the register file itself (REFERENCE C.2).
inline constexpr uint16_t mbox_rc_success = 0x0000;
inline constexpr uint16_t mbox_rc_background_started = 0x0001;

struct MailboxCommand {
  uint16_t opcode = 0;          // command set 15:8, command 7:0
  uint32_t payload_length = 0;  // as written by the host (21-bit field)
  std::vector<uint8_t> payload; // min(payload_length, payload size) bytes
};

struct CxlIoConfig {
  // PCI identity. Defaults: QEMU's cxl-type3 (Intel 0x8086, 0x0d93, rev 1);
  // the platform JSON sets its own.
  uint16_t vendor_id = 0x8086;
  uint16_t device_id = 0x0D93;
  uint8_t revision_id = 1;
  uint16_t subsystem_vendor_id = 0;
  uint16_t subsystem_id = 0;
  uint64_t capacity_bytes = 1ull << 30; // multiple of 256 MiB
  unsigned hdm_decoder_count = 1;
  // Link as reported in the PCI Express capability (speed 5 = 32 GT/s,
  // 6 = 64 GT/s) and Link Status 2 "Flit Mode" (256B flits).
  unsigned link_gen = 5;
  unsigned link_width = 16;
  bool flit_256b = false;
  // Device register block layout; default QEMU's (REFERENCE B.1).
  uint32_t device_status_offset = 0x80;
  uint32_t mailbox_offset = 0x88;
  unsigned mailbox_payload_log2 = 11; // 2^11 = 2 KiB (QEMU); 8..20 (Linux: >= 256 B, <= 1 MiB)
  uint32_t memdev_status_offset = 0;  // 0: right after the mailbox payload
  bool mailbox_doorbell_irq = false;  // capability bit 5
  bool mailbox_background_irq = false; // capability bit 6
  uint8_t mailbox_irq_vector = 0;     // capability 10:7
  // PNM queue doorbells: a vendor-specific device capability with one
  // SQ-tail and one CQ-head doorbell per queue pair (layout:
  // pnmvp/hw/doorbells.h). 0 queues: absent.
  unsigned pnm_doorbell_queues = 0;
  uint32_t pnm_doorbell_offset = 0x1000; // 4 KiB aligned, after everything else
};

class CxlIoRegs {
public:
  // ---- configuration space layout (this model's choice; software walks the lists)
  static constexpr uint32_t config_bytes = 0x1000;
  static constexpr uint32_t pcie_cap_offset = 0x40;       // PCI Express capability
  static constexpr uint32_t dvsec_device_offset = 0x100;  // PCIe DVSEC for CXL Devices (ID 0)
  static constexpr uint32_t dvsec_device_length = 0x3C;   // QEMU length, revision 3
  static constexpr uint32_t dvsec_regloc_offset = 0x13C;  // Register Locator (ID 8)
  static constexpr uint32_t dvsec_regloc_length = 0x1C;   // header + 2 entries
  static constexpr uint32_t dvsec_flexbus_offset = 0x158; // Flex Bus Port (ID 7)
  static constexpr uint32_t dvsec_flexbus_length = 0x20;
  static constexpr uint16_t dvsec_cap_id = 0x0023;
  // The queue doorbells' vendor-specific device capability (pnmvp/hw/doorbells.h).
  static constexpr uint16_t pnm_doorbell_cap_id = PNM_DEVCAP_ID_PNM_DOORBELLS;
  static constexpr uint32_t pnm_doorbell_stride = PNM_DOORBELL_STRIDE_BYTES; // bytes per queue pair
  static constexpr uint16_t cxl_dvsec_vendor_id = 0x1E98;
  static constexpr uint32_t class_code = 0x050210;

  // ---- component register block (BAR0)
  static constexpr uint32_t component_block_bytes = 0x10000;
  static constexpr uint32_t cm_offset = 0x1000;             // CXL.cache/mem registers
  static constexpr uint32_t ras_offset = cm_offset + 0x80;  // QEMU's RAS placement
  static constexpr uint32_t ras_bytes = 0x58;
  static constexpr uint32_t hdm_offset = cm_offset + 0x100; // this model's choice
  static constexpr unsigned ras_version = 3, hdm_version = 3; // QEMU (r3.1)

  // ---- mailbox register offsets (from the mailbox capability)
  static constexpr uint32_t mbox_caps = 0x00, mbox_control = 0x04, mbox_command = 0x08,
                            mbox_status = 0x10, mbox_bg_status = 0x18, mbox_payload = 0x20;

  // Throws std::invalid_argument for an inconsistent configuration.
  explicit CxlIoRegs(const CxlIoConfig& cfg);

  AccessResult read(RegSpace s, uint64_t offset, unsigned size, uint64_t& data);
  AccessResult write(RegSpace s, uint64_t offset, unsigned size, uint64_t data);

  // Host MMIO by address: decoded through BAR0/BAR2 as programmed in the
  // configuration space, only while Memory Space Enable (command bit 1) is set.
  AccessResult mmio_read(uint64_t addr, unsigned size, uint64_t& data);
  AccessResult mmio_write(uint64_t addr, unsigned size, uint64_t data);
  std::optional<std::pair<RegSpace, uint64_t>> decode_mmio(uint64_t addr) const;
  uint64_t bar_base(unsigned bar) const; // bar 0 or 2 (64-bit BARs)
  uint64_t bar_size(unsigned bar) const;

  HdmDecoder& hdm() { return hdm_; }
  const HdmDecoder& hdm() const { return hdm_; }

  // ---- firmware side of the primary mailbox
  std::function<void()> on_doorbell;          // host set the doorbell
  std::function<void()> on_mailbox_interrupt; // doorbell/background IRQ to the host (if enabled)
  bool doorbell() const { return doorbell_; }
  // The command the host submitted. std::logic_error if the doorbell is clear.
  MailboxCommand take_command() const;
  // Completes the command: status RC, command register length = out.size(),
  // payload = out, doorbell cleared. std::logic_error if the doorbell is
  // clear; std::invalid_argument if out is larger than the payload area.
  void post_result(uint16_t return_code, const std::vector<uint8_t>& out, uint16_t vendor_status = 0);
  // Background command: RC 0x01 to the host, status bit 0 set, background
  // status = this opcode at 0 %, doorbell cleared.
  void post_background_started();
  void update_background(uint8_t percent);    // 0..99
  void complete_background(uint16_t return_code, uint16_t vendor_status = 0);
  bool background_running() const { return bg_running_; }

  // ---- PNM queue doorbells (device side)
  // Called on every host write of a doorbell: queue, true for the SQ tail
  // (false: CQ head), the value written (low 16 bits kept, as NVMe).
  std::function<void(unsigned queue, bool sq, uint32_t value)> on_queue_doorbell;
  uint32_t sq_tail_doorbell(unsigned queue) const { return doorbells_.at(2 * queue); }
  uint32_t cq_head_doorbell(unsigned queue) const { return doorbells_.at(2 * queue + 1); }
  unsigned doorbell_queues() const { return cfg_.pnm_doorbell_queues; }

  // ---- device state reflected in the status registers
  void set_media_status(MediaStatus m);
  void set_mailbox_ready(bool ready);
  bool mailbox_ready() const { return mbox_ready_; }
  void set_fatal(bool fatal);
  void set_fw_halt(bool halt);
  void set_reset_needed(uint8_t code); // 0..4
  void set_event_status(uint32_t logs); // bit 0 info, 1 warning, 2 failure, 3 fatal

  // ---- RAS capability (REFERENCE A.7)
  void raise_uncorrectable(unsigned bit, const std::array<uint32_t, 16>& header_log = {});
  void raise_correctable(unsigned bit);

  // ---- layout
  const CxlIoConfig& config() const { return cfg_; }
  uint32_t mailbox_payload_bytes() const { return 1u << cfg_.mailbox_payload_log2; }
  uint32_t memdev_status_offset() const { return memdev_off_; }
  uint32_t device_block_used_bytes() const {
    return doorbells_.empty() ? memdev_off_ + 8 : cfg_.pnm_doorbell_offset + uint32_t(doorbells_.size()) * 4;
  }
  uint64_t device_block_bytes() const { return bar2_size_; }

  // Conventional reset: configuration, HDM decoders, mailbox back to defaults.
  void reset();

private:
  void init_config();
  AccessResult check(RegSpace s, uint64_t offset, unsigned size) const;
  uint64_t space_bytes(RegSpace s) const;
  uint64_t config_read(uint32_t off, unsigned size) const;
  void config_write(uint32_t off, unsigned size, uint64_t v);
  uint32_t component_read32(uint32_t off) const;
  void component_write32(uint32_t off, uint32_t v);
  uint64_t device_qword(uint32_t off8) const;
  void device_write(uint32_t off8, uint64_t v, uint64_t mask);
  void write_mailbox_control(uint32_t v, uint32_t mask);
  uint64_t memdev_status() const;
  // config image helpers
  void put8(uint32_t off, uint8_t v, uint8_t wmask = 0);
  void put16(uint32_t off, uint16_t v, uint16_t wmask = 0);
  void put32(uint32_t off, uint32_t v, uint32_t wmask = 0);

  CxlIoConfig cfg_;
  HdmDecoder hdm_;
  uint32_t memdev_off_ = 0;
  uint64_t bar2_size_ = 0;
  std::array<uint8_t, config_bytes> cfg_img_{};
  std::array<uint8_t, config_bytes> cfg_wmask_{};

  // RAS
  uint32_t ras_unc_status_ = 0, ras_unc_mask_ = 0, ras_unc_severity_ = 0;
  uint32_t ras_cor_status_ = 0, ras_cor_mask_ = 0, ras_fep_ = 0;
  std::array<uint32_t, 16> ras_header_log_{};

  // Device registers
  uint32_t event_status_ = 0;
  uint32_t mbox_ctrl_ = 0; // interrupt enables (bit 0 is doorbell_)
  bool doorbell_ = false;
  uint64_t mbox_cmd_ = 0;
  uint64_t mbox_status_ = 0;
  uint64_t mbox_bg_status_ = 0;
  bool bg_running_ = false;
  std::vector<uint8_t> payload_;
  std::vector<uint32_t> doorbells_; // [2q] SQ tail, [2q + 1] CQ head
  unsigned cap_count_ = 3;
  MediaStatus media_ = MediaStatus::ready;
  bool mbox_ready_ = true, fatal_ = false, fw_halt_ = false;
  uint8_t reset_needed_ = 0;
};

} // namespace pnm::cxl
