#include "dram_replay.h"

#include "common/stats.h"

#include <chrono>

namespace pnm::dram {

ReplayResult replay(DramSystem& dram, RequestSource& src) {
  ReplayResult res;
  auto t0 = std::chrono::steady_clock::now();
  for (uint32_t c = 0; c < dram.channel_count(); ++c)
    dram.channel(c).set_completion([&res](const ChannelRequest& r, Cycle done) {
      if (!r.write) res.read_latency.add(done - r.arrive);
      if (done > res.end_cycle) res.end_cycle = done;
    });
  Cycle frontend = 0;
  TraceRequest tr;
  uint64_t id = 0;
  while (src.next(tr)) {
    ChannelRequest r;
    r.id = id++;
    r.addr = tr.addr;
    r.da = dram.mapper().decode(tr.addr);
    r.write = tr.write;
    DramChannel& ch = dram.channel(r.da.channel);
    Cycle t = tr.timed ? std::max(frontend, tr.cycle) : frontend;
    ch.advance_to(t);
    while (!ch.can_accept(r.write)) ch.issue_next();
    t = std::max(t, ch.now());
    r.arrive = t;
    ch.enqueue(r);
    frontend = t + 1;
    ++res.requests;
    ++(r.write ? res.writes : res.reads);
  }
  for (uint32_t c = 0; c < dram.channel_count(); ++c) dram.channel(c).drain();
  for (uint32_t c = 0; c < dram.channel_count(); ++c) dram.channel(c).set_completion(nullptr);
  res.wall_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  return res;
}

nlohmann::ordered_json replay_report(const DramSystem& dram, const ReplayResult& r,
                                     const std::string& platform, const std::string& workload) {
  const double tck = dram.tck_ns();
  const double sim_ns = static_cast<double>(r.end_cycle) * tck;
  const double bytes = static_cast<double>(r.requests) * dram.config().spec.org.burst_bytes();
  const double gbps = sim_ns > 0 ? bytes / sim_ns : 0.0;
  StatGroup stats("dram");
  dram.report(stats, r.end_cycle);
  const StatGroup* rb = stats.find_group("row_buffer");
  const double served = rb->value("hits") + rb->value("misses") + rb->value("conflicts");
  const StatGroup* en = stats.find_group("energy_pj");
  const double total_pj = en->value("total");

  nlohmann::ordered_json j;
  j["schema"] = "pnmvp.dram.v1";
  j["platform"] = platform;
  j["workload"] = workload;
  j["memspec"] = dram.config().spec.name;
  j["channels"] = dram.channel_count();
  j["requests"] = r.requests;
  j["reads"] = r.reads;
  j["writes"] = r.writes;
  j["simulated_ns"] = sim_ns;
  j["bandwidth_gbps"] = gbps;
  j["peak_bandwidth_gbps"] = dram.peak_gbps();
  j["bandwidth_pct_of_peak"] = dram.peak_gbps() > 0 ? 100.0 * gbps / dram.peak_gbps() : 0.0;
  j["read_latency_ns"] = {{"avg", r.read_latency.mean() * tck},
                          {"p50", static_cast<double>(r.read_latency.percentile(0.50)) * tck},
                          {"p99", static_cast<double>(r.read_latency.percentile(0.99)) * tck},
                          {"max", static_cast<double>(r.read_latency.max()) * tck}};
  j["row_hit_rate"] = served > 0 ? rb->value("hits") / served : 0.0;
  j["row_buffer"] = rb->to_json();
  j["commands"] = stats.find_group("commands")->to_json();
  j["energy_pj"] = en->to_json();
  j["pj_per_bit"] = bytes > 0 ? total_pj / (bytes * 8) : 0.0;
  j["wall_s"] = r.wall_s;
  j["requests_per_wall_s"] = r.wall_s > 0 ? static_cast<double>(r.requests) / r.wall_s : 0.0;
  return j;
}

} // namespace pnm::dram
