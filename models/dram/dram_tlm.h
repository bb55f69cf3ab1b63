// TLM-2.0 face of the DRAM subsystem: one target socket for memory traffic.
// Two fidelities:
//  - functional: zero delay, DMI granted page by page;
//  - command: every access is split into 64 B bursts that go through the
//    channel controllers (FR-FCFS, JEDEC timing); the returned delay is the
//    exact cycle the last burst's data moves. DMI is refused so that no
//    access escapes timing.
// A transaction carrying a LineStreamExtension (protocol/line_stream.h) is
// a stream of lines with their own addresses and arrival times; each gets
// its own completion time.
//
// Every initiator bound to mem_socket gets its own port of the memory front
// end (memory_front_end.h), which owns the channels' time: a transaction's
// lines meet the other ports' requests (and running engine jobs) in the
// channel queues, and the call returns once its own lines are done, without
// draining anyone else's.
#pragma once

#include "dram_system.h"
#include "memory_front_end.h"
#include "sparse_store.h"
#include "protocol/line_stream_ext.h"

#include <memory>
#include <string>
#include <vector>

#include <systemc>
#include <tlm>
#include <tlm_utils/multi_passthrough_target_socket.h>

namespace pnm::dram {

enum class Fidelity { functional, command };

class DramTlm : public sc_core::sc_module {
public:
  // Any number of initiators; binding i is front-end port "initiator<i>"
  // unless name_port() named it.
  tlm_utils::multi_passthrough_target_socket<DramTlm> mem_socket;

  DramTlm(sc_core::sc_module_name name, const DramSystemConfig& cfg, Fidelity fidelity);

  // Names binding `socket_id`'s port and sets its arbitration weight.
  void name_port(int socket_id, const std::string& port_name, uint32_t weight);
  MemoryFrontEnd& front_end() { return fe_; }
  DramSystem& core() { return dram_; }
  SparseStore& store() { return store_; }
  Fidelity fidelity() const { return fidelity_; }
  uint64_t errors() const { return errors_; }
  // The DRAM's figures at simulated time now_ns (DramSystem::report_at_ns)
  // and each front-end port's traffic under front_end/<port>.
  void report(StatGroup& g, double now_ns) const;

private:
  void b_transport(int id, tlm::tlm_generic_payload& tx, sc_core::sc_time& delay);
  bool get_direct_mem_ptr(int id, tlm::tlm_generic_payload& tx, tlm::tlm_dmi& dmi);
  unsigned transport_dbg(int id, tlm::tlm_generic_payload& tx);
  bool check(tlm::tlm_generic_payload& tx);
  MemoryFrontEnd::PortId port(int socket_id);
  Cycle timed_access(MemoryFrontEnd::PortId p, uint64_t addr, unsigned len, bool write, Cycle start);
  // Lines through the front end on port p, each entering at its arrival
  // cycle; done[i] is when line i's last data beat moves.
  void run_lines(MemoryFrontEnd::PortId p, const std::vector<uint64_t>& addr, const std::vector<Cycle>& arrive,
                 bool write, std::vector<Cycle>& done);
  void stream_transport(int id, tlm::tlm_generic_payload& tx, protocol::LineStreamExtension& ext,
                        sc_core::sc_time& delay);

  DramSystem dram_;
  SparseStore store_;
  MemoryFrontEnd fe_;
  Fidelity fidelity_;
  std::vector<int> ports_;          // socket id -> front-end port (-1: none yet)
  std::vector<Cycle>* sink_ = nullptr; // where run_lines collects completions
  uint64_t errors_ = 0;
};

} // namespace pnm::dram
