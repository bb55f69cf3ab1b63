#include "memory_front_end.h"

#include <fmt/format.h>
#include <algorithm>
#include <stdexcept>

namespace pnm::dram {

namespace {
constexpr uint64_t kTagMask = (uint64_t{1} << 56) - 1;
constexpr size_t kMaxPorts = 256; // the port's number sits in a tag's top 8 bits
} // namespace

MemoryFrontEnd::MemoryFrontEnd(DramSystem& dram)
    : dram_(dram), line_bytes_(dram.config().spec.org.burst_bytes()), capacity_bytes_(dram.capacity_bytes()),
      waiting_count_(dram.channel_count(), 0) {
  for (uint32_t c = 0; c < dram_.channel_count(); ++c)
    dram_.channel(c).set_completion([this](const ChannelRequest& r, Cycle done) { on_channel_done(r, done); });
}

MemoryFrontEnd::PortId MemoryFrontEnd::add_port(std::string name, uint32_t weight, DoneFn on_done) {
  if (weight == 0) throw std::invalid_argument(fmt::format("memory port '{}': weight must be at least 1", name));
  if (ports_.size() == kMaxPorts)
    throw std::length_error(fmt::format("memory port '{}': a front end has at most {} ports", name, kMaxPorts));
  Port p;
  p.name = std::move(name);
  p.weight = weight;
  p.on_done = std::move(on_done);
  p.waiting.resize(dram_.channel_count());
  p.pass.assign(dram_.channel_count(), 0.0);
  ports_.push_back(std::move(p));
  return static_cast<PortId>(ports_.size() - 1);
}

void MemoryFrontEnd::set_weight(PortId p, uint32_t weight) {
  if (weight == 0)
    throw std::invalid_argument(fmt::format("memory port '{}': weight must be at least 1", ports_.at(p).name));
  ports_.at(p).weight = weight;
}

void MemoryFrontEnd::attach(Agent* a) {
  if (std::find(agents_.begin(), agents_.end(), a) == agents_.end()) agents_.push_back(a);
}

void MemoryFrontEnd::detach(Agent* a) {
  agents_.erase(std::remove(agents_.begin(), agents_.end(), a), agents_.end());
}

DramAddress MemoryFrontEnd::decode(uint64_t addr, PortId p) const {
  if (addr % line_bytes_ || addr >= capacity_bytes_)
    throw std::out_of_range(fmt::format("memory port '{}': line 0x{:x} is unaligned or beyond the {} B of DRAM",
                                        ports_.at(p).name, addr, capacity_bytes_));
  return dram_.mapper().decode(addr);
}

void MemoryFrontEnd::submit(PortId p, uint64_t addr, const DramAddress& da, bool write, Cycle arrive,
                            uint64_t tag) {
  Port& port = ports_[p];
  if (tag > kTagMask)
    throw std::out_of_range(fmt::format("memory port '{}': tag 0x{:x} does not fit in 56 bits", port.name, tag));
  const uint32_t c = da.channel;
  ++port.in_flight;
  port.stats.first_arrival = std::min(port.stats.first_arrival, arrive);
  const Waiting w{addr, da, arrive, tag, write};
  // Straight in when nothing waits on this channel, the request is not in
  // the future and the queue has room: the common case costs no arbitration.
  if (waiting_count_[c] == 0 && arrive <= now_ && dram_.channel(c).can_accept(write)) {
    enqueue(p, c, w, arrive);
    return;
  }
  Fifo& q = port.waiting[c];
  if (q.empty()) {
    // A port that starts waiting joins at the channel's current share, so
    // idle time is not saved up as credit against the others.
    double vt = port.pass[c];
    for (const Port& o : ports_)
      if (&o != &port && !o.waiting[c].empty()) vt = std::max(vt, o.pass[c]);
    port.pass[c] = vt;
  }
  q.push_back(w);
  ++waiting_count_[c];
  ++total_waiting_;
  ++port.waiting_total;
  if (arrive <= now_) admit(c, now_);
}

void MemoryFrontEnd::enqueue(PortId p, uint32_t c, const Waiting& w, Cycle t) {
  Port& port = ports_[p];
  DramChannel& ch = dram_.channel(c);
  // A request late against the channel's clock (another initiator ran the
  // channel ahead) enters at the channel's present.
  const Cycle at = std::max(t, w.arrive);
  ChannelRequest r;
  r.id = next_id_++;
  r.addr = w.addr;
  r.da = w.da;
  r.write = w.write;
  r.arrive = std::max(at, ch.now());
  port.stats.wait_cycles += r.arrive - w.arrive;
  port.stats.latency_cycles += r.arrive - w.arrive;
  r.tag = (uint64_t{p} << kPortShift) | w.tag;
  ch.enqueue(r);
}

void MemoryFrontEnd::admit(uint32_t c, Cycle t) {
  DramChannel& ch = dram_.channel(c);
  while (waiting_count_[c]) {
    // The waiting port with the least admitted work per weight; ties go to
    // the earlier arrival, then the lower port.
    int best = -1;
    for (size_t i = 0; i < ports_.size(); ++i) {
      const Fifo& q = ports_[i].waiting[c];
      if (q.empty() || q.front().arrive > t || !ch.can_accept(q.front().write)) continue;
      if (best < 0) {
        best = static_cast<int>(i);
        continue;
      }
      const Port& b = ports_[static_cast<size_t>(best)];
      const double pi = ports_[i].pass[c], pb = b.pass[c];
      if (pi < pb || (pi == pb && q.front().arrive < b.waiting[c].front().arrive)) best = static_cast<int>(i);
    }
    if (best < 0) return;
    Port& port = ports_[static_cast<size_t>(best)];
    const Waiting w = port.waiting[c].front();
    port.waiting[c].pop_front();
    --waiting_count_[c];
    --total_waiting_;
    --port.waiting_total;
    port.pass[c] += 1.0 / port.weight;
    enqueue(static_cast<PortId>(best), c, w, t);
  }
}

void MemoryFrontEnd::on_channel_done(const ChannelRequest& r, Cycle done) {
  Port& port = ports_[r.tag >> kPortShift];
  --port.in_flight;
  (r.write ? port.stats.writes : port.stats.reads) += 1;
  // r.arrive is the admission time; the wait before it is in wait_cycles.
  port.stats.latency_cycles += done > r.arrive ? done - r.arrive : 0;
  port.stats.last_done = std::max(port.stats.last_done, done);
  if (port.on_done) port.on_done(r.tag & kTagMask, r.write, done);
}

void MemoryFrontEnd::run_port(PortId p) {
  const Port& port = ports_.at(p);
  bool alone = agents_.empty() && !running_ && total_waiting_ == port.waiting_total;
  for (size_t i = 0; alone && i < ports_.size(); ++i) alone = i == p || ports_[i].in_flight == 0;
  if (alone) serve_alone(p);
  else run([this, p] { return ports_[p].in_flight == 0; });
}

void MemoryFrontEnd::serve_alone(PortId p) {
  Port& port = ports_[p];
  for (uint32_t c = 0; c < dram_.channel_count(); ++c) {
    Fifo& q = port.waiting[c];
    DramChannel& ch = dram_.channel(c);
    while (!q.empty()) {
      const Waiting w = q.front();
      q.pop_front();
      --waiting_count_[c];
      --total_waiting_;
      --port.waiting_total;
      if (w.arrive > ch.now()) ch.advance_to(w.arrive);
      while (!ch.can_accept(w.write)) ch.issue_next();
      enqueue(p, c, w, ch.now());
    }
    ch.drain();
    now_ = std::max(now_, ch.now());
  }
}

void MemoryFrontEnd::run(const std::function<bool()>& finished, Cycle limit) {
  if (running_) throw std::logic_error("MemoryFrontEnd::run: called from inside a run (an agent or callback)");
  running_ = true;
  struct Guard {
    bool& f;
    ~Guard() { f = false; }
  } guard{running_};
  const uint32_t nch = dram_.channel_count();
  for (;;) {
    // Agents act at the present (they may attach or detach others).
    for (size_t i = 0; i < agents_.size(); ++i) agents_[i]->advance(now_);
    if (total_waiting_)
      for (uint32_t c = 0; c < nch; ++c)
        if (waiting_count_[c]) admit(c, now_);
    if (finished()) return;
    // The next event. On equal times an arrival goes first (it joins the
    // decision of a command due then), then channel commands, then agents
    // (which react to the commands of their own time).
    Cycle next = kNever;
    int who = -1;
    if (total_waiting_)
      for (const Port& p : ports_)
        for (uint32_t c = 0; c < nch; ++c)
          if (!p.waiting[c].empty() && p.waiting[c].front().arrive > now_)
            next = std::min(next, p.waiting[c].front().arrive);
    for (uint32_t c = 0; c < nch; ++c) {
      DramChannel& ch = dram_.channel(c);
      if (ch.idle()) continue;
      const Cycle t = ch.next_command_time();
      if (t < next) {
        next = t;
        who = static_cast<int>(c);
      }
    }
    for (const Agent* a : agents_) {
      const Cycle t = a->next_event();
      if (t < next) {
        next = t;
        who = -1;
      }
    }
    if (next == kNever) throw std::logic_error("memory front end: nothing left that can make progress");
    if (next >= limit) return;
    now_ = std::max(now_, next);
    if (who >= 0) {
      const uint32_t c = static_cast<uint32_t>(who);
      dram_.channel(c).issue_next();
      if (waiting_count_[c]) admit(c, now_);
    }
  }
}

void MemoryFrontEnd::report(StatGroup& g) const {
  const double tck_ns = dram_.tck_ns();
  const uint64_t line = dram_.config().spec.org.burst_bytes();
  for (const Port& p : ports_) {
    StatGroup& pg = g.group(p.name, "traffic of one initiator port");
    const uint64_t n = p.stats.reads + p.stats.writes;
    pg.set("weight", p.weight, "weight", "arbitration weight at the channel queues");
    pg.set("bytes_read", static_cast<double>(p.stats.reads * line), "B", "bytes read");
    pg.set("bytes_written", static_cast<double>(p.stats.writes * line), "B", "bytes written");
    pg.set("mean_wait_ns", n ? p.stats.wait_cycles * tck_ns / n : 0.0, "ns",
           "mean time a request waited for room in its channel queue");
    pg.set("mean_latency_ns", n ? p.stats.latency_cycles * tck_ns / n : 0.0, "ns",
           "mean time from arrival to the last data beat");
  }
}

} // namespace pnm::dram
