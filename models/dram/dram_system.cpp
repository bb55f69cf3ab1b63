#include "dram_system.h"

#include <algorithm>

#include <fmt/format.h>
#include <stdexcept>

namespace pnm::dram {

DramSystemConfig load_dram_config(ConfigNode n) {
  DramSystemConfig c;
  c.spec = load_dram_spec(n.child_or_include("memspec"));
  c.channels = static_cast<uint32_t>(
      n.integer("channels", {1, 64}, "", "independent DDR5 channels (32-bit subchannels)"));
  if (c.channels & (c.channels - 1)) n.fail("channels", "must be a power of two");
  c.channel.ranks = static_cast<uint32_t>(n.integer("ranks_per_channel", {1, 4}, "", "ranks per channel"));
  if (c.channel.ranks & (c.channel.ranks - 1)) n.fail("ranks_per_channel", "must be a power of two");
  auto ctl = n.child("controller");
  ctl.choice_or("scheduler", "frfcfs", {"frfcfs"}, "request scheduler (first-ready, first-come first-served)");
  c.channel.page_policy = parse_page_policy(ctl.choice_or(
      "page_policy", "open", {"open", "closed", "adaptive"}, "row-buffer page policy"));
  c.channel.read_queue_entries = static_cast<uint32_t>(
      ctl.integer_or("read_queue_entries", 32, {1, 4096}, "requests", "read queue depth per channel"));
  c.channel.write_queue_entries = static_cast<uint32_t>(ctl.integer_or(
      "write_queue_entries", 32, {1, 4096}, "requests", "write queue depth per channel"));
  c.channel.write_high_watermark = ctl.number_or(
      "write_high_watermark", 0.8, {0, 1}, "fraction", "write queue fill that starts a write drain");
  c.channel.write_low_watermark = ctl.number_or(
      "write_low_watermark", 0.2, {0, 1}, "fraction", "write queue fill that ends a write drain");
  if (c.channel.write_low_watermark > c.channel.write_high_watermark)
    ctl.fail("write_low_watermark", "must not exceed write_high_watermark");
  std::string refresh = ctl.choice_or("refresh", "all_bank", {"all_bank", "none"},
                                      "refresh scheme (none only for experiments)");
  c.channel.refresh = refresh != "none";
  c.mapping = ctl.text_or("address_mapping", "RoBaRaCoCh",
                          "address bit order, MSB first: Ro Ba Bg Ra Co Ch, or a Ramulator 2 name");
  try {
    AddressMapper probe(c.mapping, c.spec.org, c.channels, c.channel.ranks);
  } catch (const std::invalid_argument& e) {
    ctl.fail("address_mapping", e.what());
  }
  ctl.finish();
  if (auto fe = n.child_if("front_end")) {
    auto weight = [&](const char* key, const char* who) {
      return static_cast<uint32_t>(fe->integer_or(
          key, 1, {1, 1000}, "weight",
          fmt::format("arbitration weight of {} at full channel queues (slots in proportion to weight)", who)));
    };
    c.front_end.host_weight = weight("host_weight", "host CXL.mem traffic");
    c.front_end.engine_weight = weight("engine_weight", "the engine's DMA streamers");
    c.front_end.controller_weight = weight("controller_weight", "the controller core's DRAM window");
    c.front_end.sync_quantum_ns = fe->number_or(
        "sync_quantum_ns", 1000, {1, 1e6}, "ns",
        "simulation knob: how far a running engine job's traffic may run ahead of other initiators");
    fe->finish();
  }
  n.finish();
  return c;
}

DramSystem::DramSystem(const DramSystemConfig& cfg)
    : cfg_(cfg), mapper_(cfg.mapping, cfg.spec.org, cfg.channels, cfg.channel.ranks) {
  for (uint32_t i = 0; i < cfg.channels; ++i)
    channels_.push_back(std::make_unique<DramChannel>(cfg.spec, cfg.channel, i));
}

Cycle DramSystem::cycle_at_ns(double now_ns) const {
  auto cycle = static_cast<Cycle>(now_ns / tck_ns());
  for (const auto& ch : channels_) cycle = std::max(cycle, ch->now());
  return cycle;
}

DramEnergy DramSystem::energy_at_ns(double now_ns) const { return energy(cycle_at_ns(now_ns)); }

DramEnergy DramSystem::energy(Cycle end) const {
  DramEnergy total;
  for (const auto& ch : channels_) total += ch->energy(end);
  return total;
}

namespace {
// One channel's figures, or the sums of all of them, published the same way.
void publish(StatGroup& g, const ChannelCounters& c, const DramEnergy& e, uint64_t burst_bytes) {
  auto& cmds = g.group("commands", "DRAM commands issued");
  for (size_t i = 0; i < kCommandCount; ++i)
    cmds.set(command_name(static_cast<Command>(i)), static_cast<double>(c.commands[i]), "count",
             fmt::format("{} commands", command_name(static_cast<Command>(i))));
  auto& rb = g.group("row_buffer", "row-buffer outcome of each served request");
  rb.set("hits", static_cast<double>(c.row_hits), "count", "served by a column command on an open row");
  rb.set("misses", static_cast<double>(c.row_misses), "count", "needed an ACT on a closed bank");
  rb.set("conflicts", static_cast<double>(c.row_conflicts), "count", "needed a PRE of another row first");
  rb.set("forwarded_reads", static_cast<double>(c.forwarded_reads), "count", "reads answered from the write queue");
  g.set("bytes_read", static_cast<double>(c.reads_served * burst_bytes), "B", "bytes of read requests served");
  g.set("bytes_written", static_cast<double>(c.writes_served * burst_bytes), "B",
        "bytes of write requests served");
  auto& en = g.group("energy_pj", "DRAM energy by class");
  en.set("act", e.act, "pJ", "activates: (IDD0-IDD3N) over tRAS");
  en.set("pre", e.pre, "pJ", "precharges: (IDD0-IDD2N) over tRP");
  en.set("rd", e.rd, "pJ", "read bursts: (IDD4R-IDD3N) over BL/2");
  en.set("wr", e.wr, "pJ", "write bursts: (IDD4W-IDD3N) over BL/2");
  en.set("ref", e.ref, "pJ", "refreshes: (IDD5B-IDD3N) over tRFC");
  en.set("bg_active", e.bg_active, "pJ", "active standby: IDD3N while any bank is open");
  en.set("bg_precharged", e.bg_precharged, "pJ", "precharged standby: IDD2N otherwise");
  en.set("io", e.io, "pJ", "DQ I/O and termination");
  en.set("total", e.total(), "pJ", "sum of the classes");
}
} // namespace

void DramSystem::report(StatGroup& g, Cycle end) const {
  const uint64_t burst = cfg_.spec.org.burst_bytes();
  ChannelCounters sum;
  for (const auto& ch : channels_) sum += ch->counters();
  publish(g, sum, energy(end), burst);
  auto& per = g.group("channels", "each channel's own figures");
  for (uint32_t i = 0; i < channel_count(); ++i)
    publish(per.group(std::to_string(i), "one channel"), channels_[i]->counters(), channels_[i]->energy(end), burst);
}

void DramSystem::report_at_ns(StatGroup& g, double now_ns) const { report(g, cycle_at_ns(now_ns)); }

} // namespace pnm::dram
