#include "pnm/engine_tlm.h"

#include "common/log.h"
#include <pnmvp/hw/device_map.h>

#include <algorithm>
#include <cmath>
#include <stdexcept>

namespace pnm::engine {

EngineTlm::EngineTlm(sc_core::sc_module_name name, const EngineConfig& cfg, dram::MemoryPort& mem,
                     datapath::Datapath& dp, Mode mode, double sync_quantum_ns)
    : sc_module(name), reg_socket("reg_socket"), irq("irq"), peer_socket("peer_socket"), core_(cfg, mem, dp),
      mode_(mode), cycle_(1.0 / cfg.clock_ghz(), sc_core::SC_NS), quantum_ns_(sync_quantum_ns) {
  if (!(sync_quantum_ns > 0)) throw std::invalid_argument("EngineTlm: sync quantum must be positive");
  caps_ = (static_cast<uint32_t>(dp.lanes()) & 0xFF) | (std::min<uint32_t>(cfg.dot_units, 255) << 8) |
          (std::min<uint32_t>(cfg.topk_max_entries / 16, 0xFFFF) << 16);
  reg_socket.register_b_transport(this, &EngineTlm::b_transport);
  reg_socket.register_transport_dbg(this, &EngineTlm::transport_dbg);
  SC_HAS_PROCESS(EngineTlm);
  SC_THREAD(job_thread);
  SC_METHOD(drive_irq);
  sensitive << irq_changed_;
  dont_initialize();
}

bool EngineTlm::read_reg(uint32_t off, uint32_t& v) const {
  const EngineCounters& c = last_.counters;
  switch (off) {
  case PNM_ENG_ID_OFF: v = PNM_ENG_ID_VALUE; return true;
  case PNM_ENG_VERSION_OFF: v = PNM_JOB_VERSION; return true;
  case PNM_ENG_CAPS_OFF: v = caps_; return true;
  case PNM_ENG_DESC_LO_OFF: v = static_cast<uint32_t>(desc_addr_); return true;
  case PNM_ENG_DESC_HI_OFF: v = static_cast<uint32_t>(desc_addr_ >> 32); return true;
  case PNM_ENG_CTRL_OFF: v = 0; return true;
  case PNM_ENG_STATUS_OFF: v = status_; return true;
  case PNM_ENG_ERROR_OFF: v = error_; return true;
  case PNM_ENG_IRQ_EN_OFF: v = irq_en_; return true;
  case PNM_ENG_JOBS_DONE_OFF: v = jobs_done_; return true;
  case PNM_ENG_JOBS_FAILED_OFF: v = jobs_failed_; return true;
  case PNM_ENG_CYCLES_LO_OFF: v = static_cast<uint32_t>(last_.engine_cycles); return true;
  case PNM_ENG_CYCLES_HI_OFF: v = static_cast<uint32_t>(last_.engine_cycles >> 32); return true;
  case PNM_ENG_BYTES_RD_LO_OFF: v = static_cast<uint32_t>(c.dram_bytes_read); return true;
  case PNM_ENG_BYTES_RD_HI_OFF: v = static_cast<uint32_t>(c.dram_bytes_read >> 32); return true;
  case PNM_ENG_BYTES_WR_LO_OFF: v = static_cast<uint32_t>(c.dram_bytes_written); return true;
  case PNM_ENG_BYTES_WR_HI_OFF: v = static_cast<uint32_t>(c.dram_bytes_written >> 32); return true;
  case PNM_ENG_MACS_LO_OFF: v = static_cast<uint32_t>(c.macs()); return true;
  case PNM_ENG_MACS_HI_OFF: v = static_cast<uint32_t>(c.macs() >> 32); return true;
  case PNM_ENG_JOB_TAG_LO_OFF: v = static_cast<uint32_t>(tag_); return true;
  case PNM_ENG_JOB_TAG_HI_OFF: v = static_cast<uint32_t>(tag_ >> 32); return true;
  default: return false;
  }
}

tlm::tlm_response_status EngineTlm::write_reg(uint32_t off, uint32_t v, const sc_core::sc_time& delay) {
  switch (off) {
  case PNM_ENG_DESC_LO_OFF:
    desc_addr_ = (desc_addr_ & ~uint64_t{0xFFFFFFFF}) | v;
    return tlm::TLM_OK_RESPONSE;
  case PNM_ENG_DESC_HI_OFF:
    desc_addr_ = (desc_addr_ & uint64_t{0xFFFFFFFF}) | (uint64_t{v} << 32);
    return tlm::TLM_OK_RESPONSE;
  case PNM_ENG_CTRL_OFF:
    if (v & PNM_ENG_CTRL_START) {
      if (status_ == PNM_ENG_STATUS_BUSY) {
        log::warn(name(), "START while busy ignored");
      } else {
        status_ = PNM_ENG_STATUS_BUSY;
        level_ = false;
        update_irq();
        start_.notify(delay);
      }
    }
    return tlm::TLM_OK_RESPONSE;
  case PNM_ENG_STATUS_OFF: // acknowledge
    if (status_ == PNM_ENG_STATUS_DONE || status_ == PNM_ENG_STATUS_ERROR) status_ = PNM_ENG_STATUS_IDLE;
    update_irq();
    return tlm::TLM_OK_RESPONSE;
  case PNM_ENG_IRQ_EN_OFF:
    irq_en_ = v & (PNM_ENG_IRQ_EN_DONE | PNM_ENG_IRQ_EN_ERROR);
    update_irq();
    return tlm::TLM_OK_RESPONSE;
  default: {
    uint32_t dummy;
    return read_reg(off, dummy) ? tlm::TLM_COMMAND_ERROR_RESPONSE // read-only register
                                : tlm::TLM_ADDRESS_ERROR_RESPONSE;
  }
  }
}

void EngineTlm::update_irq() {
  level_ = (status_ == PNM_ENG_STATUS_DONE && (irq_en_ & PNM_ENG_IRQ_EN_DONE)) ||
           (status_ == PNM_ENG_STATUS_ERROR && (irq_en_ & PNM_ENG_IRQ_EN_ERROR));
  irq_changed_.notify(sc_core::SC_ZERO_TIME); // one process drives the signal
}

void EngineTlm::drive_irq() {
  if (irq.size()) irq->write(level_);
}

void EngineTlm::b_transport(tlm::tlm_generic_payload& tx, sc_core::sc_time& delay) {
  const uint64_t addr = tx.get_address();
  delay += cycle_;
  if (tx.get_byte_enable_ptr()) {
    tx.set_response_status(tlm::TLM_BYTE_ENABLE_ERROR_RESPONSE);
  } else if (tx.get_data_length() != 4 || tx.get_streaming_width() < 4 || addr % 4 ||
             addr >= PNM_ENG_REGS_END_OFF) {
    tx.set_response_status(tlm::TLM_ADDRESS_ERROR_RESPONSE);
  } else if (tx.is_read()) {
    uint32_t v = 0;
    if (read_reg(static_cast<uint32_t>(addr), v)) {
      for (int i = 0; i < 4; ++i) tx.get_data_ptr()[i] = static_cast<unsigned char>(v >> (8 * i));
      tx.set_response_status(tlm::TLM_OK_RESPONSE);
    } else {
      tx.set_response_status(tlm::TLM_ADDRESS_ERROR_RESPONSE);
    }
  } else if (tx.is_write()) {
    const unsigned char* p = tx.get_data_ptr();
    const uint32_t v = p[0] | (p[1] << 8) | (p[2] << 16) | (uint32_t{p[3]} << 24);
    tx.set_response_status(write_reg(static_cast<uint32_t>(addr), v, delay));
  } else {
    tx.set_response_status(tlm::TLM_COMMAND_ERROR_RESPONSE);
  }
  if (tx.get_response_status() != tlm::TLM_OK_RESPONSE)
    log::warn(name(), "{} of {} B at offset 0x{:x} refused: {}", tx.is_write() ? "write" : "read",
              tx.get_data_length(), addr, tx.get_response_string());
}

unsigned EngineTlm::transport_dbg(tlm::tlm_generic_payload& tx) {
  uint32_t v = 0;
  if (!tx.is_read() || tx.get_data_length() != 4 || tx.get_address() % 4 ||
      tx.get_address() >= PNM_ENG_REGS_END_OFF || !read_reg(static_cast<uint32_t>(tx.get_address()), v))
    return 0;
  for (int i = 0; i < 4; ++i) tx.get_data_ptr()[i] = static_cast<unsigned char>(v >> (8 * i));
  return 4;
}

bool EngineTlm::push(const AttentionJob& j, JobResult& r) {
  if (peer_socket.size() == 0) {
    r.error = JobError::kPeer;
    r.message = "PUSH: the engine has no peer port (the device is not behind a switch)";
    return false;
  }
  // The O region as the engine just wrote it (its output buffer holds the
  // same bytes: no DRAM read is modelled), then the flag line.
  std::vector<uint8_t> o((j.o_bytes() + kAlignBytes - 1) / kAlignBytes * kAlignBytes, 0);
  core_.memory().read(j.o_addr, o.data(), j.o_bytes());
  std::vector<uint8_t> flag(kAlignBytes, 0);
  for (int b = 0; b < 4; ++b) flag[size_t(b)] = static_cast<uint8_t>(j.epoch >> (8 * b));
  for (auto [addr, data] : {std::pair{j.push_addr, &o}, std::pair{j.flag_addr, &flag}}) {
    tlm::tlm_generic_payload tx;
    tx.set_command(tlm::TLM_WRITE_COMMAND);
    tx.set_address(addr);
    tx.set_data_ptr(data->data());
    tx.set_data_length(static_cast<unsigned>(data->size()));
    tx.set_streaming_width(static_cast<unsigned>(data->size()));
    tx.set_byte_enable_ptr(nullptr);
    tx.set_dmi_allowed(false);
    tx.set_response_status(tlm::TLM_INCOMPLETE_RESPONSE);
    sc_core::sc_time delay = sc_core::SC_ZERO_TIME;
    peer_socket[0]->b_transport(tx, delay);
    sc_core::wait(delay);
    if (!tx.is_response_ok()) {
      r.error = JobError::kPeer;
      r.message = fmt::format("PUSH: the peer write of {} B at 0x{:x} was refused ({})", data->size(), addr,
                              tx.get_response_string());
      return false;
    }
    pushed_bytes_ += data->size();
  }
  return true;
}

void EngineTlm::job_thread() {
  for (;;) {
    sc_core::wait(start_);
    dram::MemoryPort& mem = core_.memory();
    const double tck = mem.tck_ns();
    const double now_ns = sc_core::sc_time_stamp().to_seconds() * 1e9;
    const Cycle start = static_cast<Cycle>(std::ceil(now_ns / tck - 1e-9));
    JobResult r;
    r.start_dram_cycle = r.end_dram_cycle = start;
    AttentionJob job;
    const uint64_t cap = mem.capacity_bytes();
    tag_ = 0;
    if (desc_addr_ % kAlignBytes || desc_addr_ >= cap || cap - desc_addr_ < kDescBytes) {
      r.error = JobError::kDescAddress;
      r.message = fmt::format("descriptor pointer 0x{:x} is misaligned or beyond memory", desc_addr_);
    } else {
      uint8_t bytes[kDescBytes];
      mem.read(desc_addr_, bytes, kDescBytes);
      job = decode(bytes);
      tag_ = job.tag;
      if (core_.begin(job, start, mode_)) {
        // One quantum of everyone's memory traffic at a time, then let
        // SystemC time catch up.
        const Cycle quantum = std::max<Cycle>(1, static_cast<Cycle>(quantum_ns_ / tck));
        for (;;) {
          const Cycle now = static_cast<Cycle>(std::ceil(sc_core::sc_time_stamp().to_seconds() * 1e9 / tck - 1e-9));
          try {
            mem.front_end().run([this] { return core_.job_done(); }, now + quantum);
          } catch (const std::exception& e) {
            core_.abandon(e.what());
          }
          if (core_.job_done()) break;
          sc_core::wait(sc_core::sc_time(static_cast<double>(quantum) * tck, sc_core::SC_NS));
        }
      }
      r = core_.finish();
    }
    // The modelled end; a rejected job still takes one engine cycle.
    const sc_core::sc_time end(static_cast<double>(r.end_dram_cycle) * tck, sc_core::SC_NS);
    sc_core::wait(end > sc_core::sc_time_stamp() ? end - sc_core::sc_time_stamp() : cycle_);
    if (r.ok() && job.pushes()) push(job, r);
    last_ = r;
    error_ = static_cast<uint32_t>(r.error);
    if (r.ok()) {
      ++jobs_done_;
      status_ = PNM_ENG_STATUS_DONE;
      log::info(name(), "job done: {} cycles, {} B read, {:.1f} GB/s", r.engine_cycles,
                r.counters.dram_bytes_read, r.read_gbps());
    } else {
      ++jobs_failed_;
      status_ = PNM_ENG_STATUS_ERROR;
      log::warn(name(), "job failed: {} ({})", error_name(r.error), r.message);
    }
    if (on_job_done) on_job_done(r, now_ns);
    update_irq();
    if (irq_fn_ && level_) irq_fn_(r.ok() ? PNM_IRQ_ENGINE_DONE : PNM_IRQ_ENGINE_ERROR);
    finished_.notify(sc_core::SC_ZERO_TIME);
  }
}

} // namespace pnm::engine
