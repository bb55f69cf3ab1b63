// TLM-2.0 face of the DRAM subsystem: one target socket for memory traffic.
// Two fidelities:
//  - functional: zero delay, DMI granted page by page;
//  - command: every access is split into 64 B bursts that go through the
//    channel controllers (FR-FCFS, JEDEC timing); the returned delay is the
//    exact cycle the last burst's data moves. DMI is refused so that no
//    access escapes timing.
// A transaction carrying a BurstExtension (dram_burst.h) is a stream of
// lines with their own addresses and arrival times; each gets its own
// completion time.
#pragma once

#include "dram_burst.h"
#include "dram_system.h"
#include "sparse_store.h"

#include <systemc>
#include <tlm>
#include <tlm_utils/simple_target_socket.h>

namespace pnm::dram {

enum class Fidelity { functional, command };

class DramTlm : public sc_core::sc_module {
public:
  tlm_utils::simple_target_socket<DramTlm> mem_socket;

  DramTlm(sc_core::sc_module_name name, const DramSystemConfig& cfg, Fidelity fidelity);

  DramSystem& core() { return dram_; }
  SparseStore& store() { return store_; }
  Fidelity fidelity() const { return fidelity_; }
  uint64_t errors() const { return errors_; }

private:
  void b_transport(tlm::tlm_generic_payload& tx, sc_core::sc_time& delay);
  bool get_direct_mem_ptr(tlm::tlm_generic_payload& tx, tlm::tlm_dmi& dmi);
  unsigned transport_dbg(tlm::tlm_generic_payload& tx);
  bool check(tlm::tlm_generic_payload& tx);
  Cycle timed_access(uint64_t addr, unsigned len, bool write, Cycle start);
  // Lines through the channels, each entering at its arrival cycle; done[i]
  // is when line i's last data beat moves.
  void run_lines(const std::vector<uint64_t>& addr, const std::vector<Cycle>& arrive, bool write,
                 std::vector<Cycle>& done);
  void burst_transport(tlm::tlm_generic_payload& tx, BurstExtension& ext, sc_core::sc_time& delay);

  DramSystem dram_;
  SparseStore store_;
  Fidelity fidelity_;
  uint64_t next_id_ = 0;
  uint64_t errors_ = 0;
};

} // namespace pnm::dram
