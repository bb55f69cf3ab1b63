// SystemC face of the attention engine: a register file on `reg_socket`
// (engine_regs.h), one thread that fetches the job descriptor from device
// memory, runs it on the plain C++ core (engine.h), waits the modelled time
// and posts the status, and an interrupt raised on done or error.
//
// Interrupt, two ways (use either or both):
//   - `irq`: optional level output, high while a finished job (done or
//     error) waits for acknowledgement (any write to STATUS) and its IRQ_EN
//     bit is set;
//   - set_irq_callback(): called once per finished job with the controller's
//     line number, PNM_IRQ_ENGINE_DONE or PNM_IRQ_ENGINE_ERROR (for latched,
//     edge-style interrupt controllers such as ControllerCore::raise_irq).
// The job runs on the plain C++ core as an agent of the memory front end,
// advanced in quanta of `sync_quantum_ns` of simulated time: the thread runs
// the front end (everyone's traffic) one quantum ahead, then waits for
// SystemC time to catch up. Other initiators' requests meet the job in the
// channel queues; one that arrives while the front end is ahead enters at
// the channels' present, at most a quantum late.
#pragma once

#include "pnm/engine.h"

#include <functional>
#include <systemc>
#include <tlm>
#include <tlm_utils/multi_passthrough_initiator_socket.h>
#include <tlm_utils/simple_target_socket.h>

namespace pnm::engine {

class EngineTlm : public sc_core::sc_module {
public:
  tlm_utils::simple_target_socket<EngineTlm> reg_socket;
  sc_core::sc_port<sc_core::sc_signal_inout_if<bool>, 1, sc_core::SC_ZERO_OR_MORE_BOUND> irq;
  // PUSH jobs' writes to a peer device (host physical addresses, whole
  // 64 B lines): bound to the switch's peer-to-peer port when the device is
  // behind one; unbound, a PUSH job fails with PNM_JOB_ERR_PEER.
  tlm_utils::multi_passthrough_initiator_socket<EngineTlm, 32, tlm::tlm_base_protocol_types, 1,
                                                sc_core::SC_ZERO_OR_MORE_BOUND>
      peer_socket;

  using IrqFn = std::function<void(unsigned line)>;

  EngineTlm(sc_core::sc_module_name name, const EngineConfig& cfg, dram::MemoryPort& mem,
            datapath::Datapath& dp, Mode mode = Mode::functional, double sync_quantum_ns = 1000);

  void set_irq_callback(IrqFn fn) { irq_fn_ = std::move(fn); }
  // Called at each job's modelled end with its result and start time (ns):
  // for tracing and per-job accounting.
  std::function<void(const JobResult&, double start_ns)> on_job_done;
  void set_mode(Mode m) { mode_ = m; }
  Mode mode() const { return mode_; }

  AttentionEngine& core() { return core_; }
  const JobResult& last_result() const { return last_; }
  uint32_t status() const { return status_; }
  bool irq_level() const { return level_; }
  // Notified when a job finishes (done or error), at its modelled end time.
  const sc_core::sc_event& finished_event() const { return finished_; }
  // Bytes PUSH jobs sent to peers (the O regions and the flag lines).
  uint64_t pushed_bytes() const { return pushed_bytes_; }

private:
  void b_transport(tlm::tlm_generic_payload& tx, sc_core::sc_time& delay);
  unsigned transport_dbg(tlm::tlm_generic_payload& tx);
  bool read_reg(uint32_t off, uint32_t& value) const;
  // Returns the TLM status of a register write.
  tlm::tlm_response_status write_reg(uint32_t off, uint32_t value, const sc_core::sc_time& delay);
  void job_thread();
  // PUSH: O to the peer, then the flag line; false (r carries the error) if refused.
  bool push(const AttentionJob& job, JobResult& r);
  void update_irq();
  void drive_irq();

  AttentionEngine core_;
  Mode mode_;
  IrqFn irq_fn_;
  sc_core::sc_event start_, finished_, irq_changed_;
  sc_core::sc_time cycle_;
  double quantum_ns_;
  uint32_t caps_ = 0;
  uint64_t desc_addr_ = 0;
  uint32_t status_ = PNM_ENG_STATUS_IDLE;
  uint32_t error_ = PNM_JOB_ERR_OK;
  uint32_t irq_en_ = PNM_ENG_IRQ_EN_DONE | PNM_ENG_IRQ_EN_ERROR;
  uint32_t jobs_done_ = 0, jobs_failed_ = 0;
  uint64_t tag_ = 0;
  uint64_t pushed_bytes_ = 0;
  bool level_ = false;
  JobResult last_;
};

} // namespace pnm::engine
