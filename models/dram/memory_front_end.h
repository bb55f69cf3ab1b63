// The device's memory front end (plain C++): the one owner of the DDR5
// channels' time. Every initiator of device-memory traffic (host CXL.mem,
// the engine's streamers, the controller core's DRAM window, later DMA and
// peer traffic) has a port of its own; requests carry the port's tags and
// complete through the port's callback. Requests of all ports meet in the
// channels' queues at their simulated arrival times and are scheduled
// together by the channels' FR-FCFS.
//
// Arbitration: a request waits at the front end until its channel's queue
// has room; when several ports wait on one channel, the next slot goes to
// the port with the least admitted work per unit of weight (stride
// scheduling), so a port of weight 3 gets three slots to one of a port of
// weight 1 while both are waiting. Unweighted traffic is first come, first
// served, as before the front end.
//
// Time: the front end advances from one event to the next (a channel's next
// command, a waiting request's arrival, an agent's next event), never cycle
// by cycle. Agents are initiators with their own timing (an engine job):
// the front end advances them together with the channels, so a host stream
// and an engine job share the channels at the same simulated time.
#pragma once

#include "dram_system.h"

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

namespace pnm::dram {

class MemoryFrontEnd {
public:
  using PortId = uint32_t;
  // Called when a request's column command issues; `done` is the cycle its
  // last data beat moves.
  using DoneFn = std::function<void(uint64_t tag, bool write, Cycle done)>;

  // An initiator with timing of its own. next_event() is the earliest cycle
  // at which it has something to do by itself (kNever if it only waits for
  // completions); advance(t) does everything due at or before t (it may
  // submit requests).
  class Agent {
  public:
    virtual ~Agent() = default;
    virtual Cycle next_event() const = 0;
    virtual void advance(Cycle t) = 0;
  };

  struct PortStats {
    uint64_t reads = 0, writes = 0;
    uint64_t wait_cycles = 0;    // arrival to admission into a channel queue
    uint64_t latency_cycles = 0; // arrival to last data beat (wait included)
    Cycle first_arrival = kNever, last_done = 0;
  };

  explicit MemoryFrontEnd(DramSystem& dram);
  MemoryFrontEnd(const MemoryFrontEnd&) = delete;
  MemoryFrontEnd& operator=(const MemoryFrontEnd&) = delete;

  PortId add_port(std::string name, uint32_t weight, DoneFn on_done);
  void set_on_done(PortId p, DoneFn on_done) { ports_.at(p).on_done = std::move(on_done); }
  void set_weight(PortId p, uint32_t weight); // weight >= 1
  uint32_t weight(PortId p) const { return ports_.at(p).weight; }
  const std::string& port_name(PortId p) const { return ports_.at(p).name; }
  size_t port_count() const { return ports_.size(); }
  const PortStats& stats(PortId p) const { return ports_.at(p).stats; }

  void attach(Agent* a);
  void detach(Agent* a);

  // One 64 B line (`addr` line-aligned, inside the DRAM) entering at
  // `arrive` or later; `tag` (below 2^56) comes back with its completion. Requests of one port to one channel enter in the
  // order submitted. May complete at once (a read forwarded from the write
  // queue), before submit returns.
  void submit(PortId p, uint64_t addr, bool write, Cycle arrive, uint64_t tag) {
    submit(p, addr, decode(addr, p), write, arrive, tag);
  }
  // The same with the address already decoded (da == dram().mapper().decode(addr)).
  void submit(PortId p, uint64_t addr, const DramAddress& da, bool write, Cycle arrive, uint64_t tag);
  // Checks a line address and decodes it (throws std::out_of_range naming the port).
  DramAddress decode(uint64_t addr, PortId p) const;
  // Requests of port p submitted and not yet completed.
  uint64_t in_flight(PortId p) const { return ports_.at(p).in_flight; }

  // Advances channels, arrivals and agents event by event until finished()
  // holds, or until the next event would be at or after `limit`. Throws
  // std::logic_error if finished() never can hold (nothing left to do).
  void run(const std::function<bool()>& finished, Cycle limit = kNever);
  // Everything due before `limit`.
  void run_until(Cycle limit) { run([] { return false; }, limit); }
  // Until port p has nothing in flight.
  void run_port(PortId p);

  // The time of the last event processed.
  Cycle now() const { return now_; }
  DramSystem& dram() { return dram_; }
  const DramSystem& dram() const { return dram_; }
  uint32_t channel_of(uint64_t addr) const { return dram_.mapper().decode(addr).channel; }

  // Publishes each port's traffic under `g` (bytes, mean wait and latency).
  void report(StatGroup& g) const;

private:
  struct Waiting {
    uint64_t addr;
    DramAddress da;
    Cycle arrive;
    uint64_t tag;
    bool write;
  };
  // FIFO that keeps its storage between uses (no allocation once warm).
  class Fifo {
  public:
    bool empty() const { return head_ == buf_.size(); }
    const Waiting& front() const { return buf_[head_]; }
    void push_back(const Waiting& w) { buf_.push_back(w); }
    void pop_front() {
      if (++head_ == buf_.size()) {
        buf_.clear();
        head_ = 0;
      }
    }

  private:
    std::vector<Waiting> buf_;
    size_t head_ = 0;
  };
  struct Port {
    std::string name;
    uint32_t weight = 1;
    DoneFn on_done;
    uint64_t in_flight = 0;
    uint64_t waiting_total = 0; // over all channels
    PortStats stats;
    std::vector<Fifo> waiting; // per channel, in submit order
    std::vector<double> pass;                 // per channel: admitted work / weight
  };
  // Request tags in the channel: the port in the top 8 bits, the port's own
  // tag below (so a port's tags must fit in 56 bits).
  static constexpr unsigned kPortShift = 56;

  void on_channel_done(const ChannelRequest& r, Cycle done);
  // run_port() when p is the only initiator with work and no agent runs:
  // each channel takes p's lines in order and drains, independently of the
  // others (what the event loop would do, without visiting every channel
  // per event).
  void serve_alone(PortId p);
  void admit(uint32_t c, Cycle t);
  void enqueue(PortId p, uint32_t c, const Waiting& w, Cycle t);

  DramSystem& dram_;
  const uint64_t line_bytes_, capacity_bytes_;
  std::vector<Port> ports_;
  std::vector<Agent*> agents_;
  std::vector<uint32_t> waiting_count_; // per channel, over all ports
  uint64_t total_waiting_ = 0;
  uint64_t next_id_ = 0;
  Cycle now_ = 0;
  bool running_ = false;
};

} // namespace pnm::dram
