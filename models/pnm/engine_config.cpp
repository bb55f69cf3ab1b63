#include "pnm/engine_config.h"

#include "common/resources.h"

#include <cstdlib>
#include <fmt/format.h>

namespace pnm::engine {

EngineConfig load_engine_config(ConfigNode n) {
  EngineConfig c;
  c.clock_mhz = n.number("clock_mhz", {100, 5000}, "MHz", "engine clock");
  c.dot_units = static_cast<uint32_t>(n.integer(
      "dot_units", {1, 1024}, "", "dot-product datapaths working side by side (each lanes wide)"));
  c.topk_max_entries = static_cast<uint32_t>(
      n.integer("topk_max_entries", {1, 1 << 20}, "entries", "top-k selector buffer (max k)"));
  c.outstanding_bursts_per_channel = static_cast<uint32_t>(
      n.integer("outstanding_bursts_per_channel", {1, 1024}, "bursts",
                "64 B reads each per-channel DMA streamer keeps in flight"));
  c.sram_buffer_kib = static_cast<uint32_t>(n.integer(
      "sram_buffer_kib", {1, 1 << 20}, "KiB", "on-chip K/V staging buffer (bounds DMA run-ahead)"));
  c.dense_block_tokens = static_cast<uint32_t>(n.integer(
      "dense_block_tokens", {1, 1 << 20}, "tokens", "dense jobs: tokens per K block / V block"));
  c.v_macs_per_cycle = n.number("v_macs_per_cycle", {1, 65536}, "MAC/cycle",
                                "FP32 multiply-adds per cycle of the V accumulator");
  c.exps_per_cycle = n.number("exps_per_cycle", {0.0625, 4096}, "exp/cycle",
                              "FP32 exps per cycle of the softmax unit");
  c.fabric_latency_ns = n.number("fabric_latency_ns", {0, 1000}, "ns",
                                 "one-way latency DRAM controller -> engine");
  ConfigNode e = n.child("energy");
  c.energy.technology_nm = e.number("technology_nm", {1, 1000}, "nm",
                                    "process node the energy constants are quoted for");
  {
    ConfigNode m = e.child("mac");
    c.energy.mac_source = m.require_source();
    c.energy.pj_per_mac_bf16 = m.number("pj_per_mac_bf16", {0, 1000}, "pJ",
                                        "BF16 multiply + FP32 add in the datapath");
    c.energy.pj_per_mac_int8 = m.number("pj_per_mac_int8", {0, 1000}, "pJ",
                                        "INT8 multiply + INT32 add in the datapath");
    c.energy.pj_per_mac_fp32 = m.number("pj_per_mac_fp32", {0, 1000}, "pJ",
                                        "FP32 multiply + FP32 add (scale, softmax, V accumulation)");
    m.finish();
  }
  {
    ConfigNode x = e.child("exp");
    c.energy.exp_source = x.require_source();
    c.energy.pj_per_exp = x.number("pj_per_exp", {0, 10000}, "pJ", "one FP32 exp");
    x.finish();
  }
  {
    ConfigNode s = e.child("sram");
    c.energy.sram_source = s.require_source();
    c.energy.pj_per_sram_64b = s.number("pj_per_sram_64b", {0, 100000}, "pJ",
                                        "one 64 B access (read or write) of on-chip SRAM");
    s.finish();
  }
  {
    ConfigNode s = e.child("compare");
    c.energy.compare_source = s.require_source();
    c.energy.pj_per_compare = s.number("pj_per_compare", {0, 1000}, "pJ", "one 32-bit compare");
    s.finish();
  }
  e.finish();
  n.finish();
  return c;
}

EngineConfig load_engine_file(const std::string& path) {
  ConfigNode root = ConfigNode::load_file(path);
  const std::string schema = root.text("schema", "engine parameter file format");
  if (schema != "pnmvp.engine.v1")
    root.fail("schema", fmt::format("'{}' is not an engine parameter file (expected pnmvp.engine.v1)", schema));
  root.text_or("name", "", "parameter set name");
  root.text_or("description", "", "what this parameter set is");
  EngineConfig c = load_engine_config(root.child("engine"));
  root.finish();
  return c;
}

std::string default_engine_file() {
  return resources::platforms_dir() + "/engine/engine_default.json";
}

} // namespace pnm::engine
