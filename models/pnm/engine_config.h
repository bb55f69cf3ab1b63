// Parameters of the attention engine: throughput of its units, buffer
// sizes, DMA depth, and energy constants (each group naming its source).
// Read from an "engine" section by load_engine_config(); the shipped values
// are platforms/engine/engine_default.json.
#pragma once

#include "common/config.h"

#include <cstdint>
#include <string>

namespace pnm::engine {

struct EngineEnergy {
  double technology_nm = 45;     // node the constants below are quoted for
  double pj_per_mac_bf16 = 2.0;  // BF16 multiply + FP32 add (datapath)
  double pj_per_mac_int8 = 0.3;  // INT8 multiply + INT32 add (datapath)
  double pj_per_mac_fp32 = 4.6;  // FP32 multiply + add (scale, softmax, V accumulation)
  double pj_per_exp = 36.8;      // one FP32 exp
  double pj_per_sram_64b = 80;   // one 64 B access of an on-chip SRAM buffer
  double pj_per_compare = 0.1;   // one 32-bit compare (top-k, max)
  std::string mac_source, exp_source, sram_source, compare_source;
};

struct EngineConfig {
  double clock_mhz = 1000;
  uint32_t dot_units = 32;                // dot-product datapaths side by side, each `lanes` wide
  uint32_t topk_max_entries = 2048;       // selector buffer (tokens or pages)
  uint32_t outstanding_bursts_per_channel = 32; // per-channel DMA streamer depth (64 B bursts)
  uint32_t sram_buffer_kib = 256;         // K/V staging buffer: bounds DMA run-ahead
  uint32_t dense_block_tokens = 1024;     // dense: K block then V block (blocked online softmax)
  double v_macs_per_cycle = 512;          // FP32 multiply-adds per cycle of the V accumulator
  double exps_per_cycle = 16;             // FP32 exps per cycle of the softmax unit
  double fabric_latency_ns = 2;           // DRAM controller to engine, one way
  EngineEnergy energy;

  double clock_ghz() const { return clock_mhz * 1e-3; }
  uint64_t sram_buffer_bytes() const { return uint64_t{sram_buffer_kib} * 1024; }
};

// Reads an "engine" section (throws ConfigError naming file, key and range).
EngineConfig load_engine_config(ConfigNode node);
// Reads a pnmvp.engine.v1 file: {"schema", "name", "description", "engine": {...}}.
EngineConfig load_engine_file(const std::string& path);
// engine/engine_default.json in the platforms folder (common/resources.h).
std::string default_engine_file();

} // namespace pnm::engine
