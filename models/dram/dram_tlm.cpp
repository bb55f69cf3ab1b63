#include "dram_tlm.h"

#include "common/log.h"

#include <cmath>

namespace pnm::dram {

DramTlm::DramTlm(sc_core::sc_module_name name, const DramSystemConfig& cfg, Fidelity fidelity)
    : sc_module(name), mem_socket("mem_socket"), dram_(cfg), store_(dram_.capacity_bytes()),
      fidelity_(fidelity) {
  mem_socket.register_b_transport(this, &DramTlm::b_transport);
  mem_socket.register_get_direct_mem_ptr(this, &DramTlm::get_direct_mem_ptr);
  mem_socket.register_transport_dbg(this, &DramTlm::transport_dbg);
}

bool DramTlm::check(tlm::tlm_generic_payload& tx) {
  const uint64_t addr = tx.get_address();
  const uint64_t len = tx.get_data_length();
  if (tx.get_byte_enable_ptr()) {
    tx.set_response_status(tlm::TLM_BYTE_ENABLE_ERROR_RESPONSE);
  } else if (tx.get_streaming_width() < len) {
    tx.set_response_status(tlm::TLM_BURST_ERROR_RESPONSE);
  } else if (len == 0 || addr >= dram_.capacity_bytes() || len > dram_.capacity_bytes() - addr) {
    tx.set_response_status(tlm::TLM_ADDRESS_ERROR_RESPONSE);
  } else if (!tx.is_read() && !tx.is_write()) {
    tx.set_response_status(tlm::TLM_COMMAND_ERROR_RESPONSE);
  } else {
    return true;
  }
  ++errors_;
  log::warn(name(), "{} of {} bytes at 0x{:x} refused: {}", tx.is_write() ? "write" : "read",
            len, addr, tx.get_response_string());
  return false;
}

Cycle DramTlm::timed_access(uint64_t addr, unsigned len, bool write, Cycle start) {
  const uint64_t burst = dram_.config().spec.org.burst_bytes();
  const uint64_t first = addr / burst * burst;
  const uint64_t end = addr + len;
  Cycle done = start;
  uint64_t outstanding = 0;
  auto on_done = [&](const ChannelRequest&, Cycle d) {
    done = std::max(done, d);
    --outstanding;
  };
  for (uint32_t c = 0; c < dram_.channel_count(); ++c) dram_.channel(c).set_completion(on_done);
  for (uint64_t a = first; a < end; a += burst) {
    ChannelRequest r;
    r.id = next_id_++;
    r.addr = a;
    r.da = dram_.mapper().decode(a);
    r.write = write;
    DramChannel& ch = dram_.channel(r.da.channel);
    // Requests earlier than the channel's clock (temporal decoupling across
    // initiators) enter at the channel's present.
    r.arrive = std::max(start, ch.now());
    ch.advance_to(r.arrive);
    while (!ch.can_accept(write)) ch.issue_next();
    ++outstanding;
    ch.enqueue(r);
  }
  for (uint32_t c = 0; c < dram_.channel_count() && outstanding; ++c) {
    DramChannel& ch = dram_.channel(c);
    while (outstanding && !ch.idle()) ch.issue_next();
  }
  for (uint32_t c = 0; c < dram_.channel_count(); ++c) dram_.channel(c).set_completion(nullptr);
  return done;
}

void DramTlm::b_transport(tlm::tlm_generic_payload& tx, sc_core::sc_time& delay) {
  if (!check(tx)) return;
  const uint64_t addr = tx.get_address();
  const unsigned len = tx.get_data_length();
  if (tx.is_write()) store_.write(addr, tx.get_data_ptr(), len);
  else store_.read(addr, tx.get_data_ptr(), len);
  if (fidelity_ == Fidelity::command) {
    const double tck_ns = dram_.tck_ns();
    const double start_ns = (sc_core::sc_time_stamp() + delay).to_seconds() * 1e9;
    const Cycle start = static_cast<Cycle>(std::ceil(start_ns / tck_ns - 1e-9));
    const Cycle done = timed_access(addr, len, tx.is_write(), start);
    delay = sc_core::sc_time(static_cast<double>(done) * tck_ns, sc_core::SC_NS) -
            sc_core::sc_time_stamp();
  } else {
    tx.set_dmi_allowed(true);
  }
  tx.set_response_status(tlm::TLM_OK_RESPONSE);
}

bool DramTlm::get_direct_mem_ptr(tlm::tlm_generic_payload& tx, tlm::tlm_dmi& dmi) {
  if (fidelity_ != Fidelity::functional || tx.get_address() >= dram_.capacity_bytes())
    return false;
  const uint64_t base = tx.get_address() / SparseStore::kPageBytes * SparseStore::kPageBytes;
  dmi.set_dmi_ptr(store_.page(base));
  dmi.set_start_address(base);
  dmi.set_end_address(base + SparseStore::kPageBytes - 1);
  dmi.allow_read_write();
  dmi.set_read_latency(sc_core::SC_ZERO_TIME);
  dmi.set_write_latency(sc_core::SC_ZERO_TIME);
  return true;
}

unsigned DramTlm::transport_dbg(tlm::tlm_generic_payload& tx) {
  const uint64_t addr = tx.get_address();
  const uint64_t cap = dram_.capacity_bytes();
  if (addr >= cap) return 0;
  const unsigned len = static_cast<unsigned>(std::min<uint64_t>(tx.get_data_length(), cap - addr));
  if (tx.is_write()) store_.write(addr, tx.get_data_ptr(), len);
  else if (tx.is_read()) store_.read(addr, tx.get_data_ptr(), len);
  else return 0;
  return len;
}

} // namespace pnm::dram
