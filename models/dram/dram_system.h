// The device's DRAM: N identical channels behind one address mapper. Plain
// C++; the TLM adapter (dram_tlm.h) and the trace replayer drive it.
#pragma once

#include "address_mapper.h"
#include "common/config.h"
#include "common/stats.h"
#include "dram_channel.h"
#include "dram_spec.h"

#include <memory>
#include <vector>

namespace pnm::dram {

// The memory front end's arbitration ("front_end" in a platform's "dram"
// section; every key optional).
struct FrontEndConfig {
  uint32_t host_weight = 1;       // CXL.mem from the host
  uint32_t engine_weight = 1;     // the attention engine's streamers
  uint32_t controller_weight = 1; // the controller core's DRAM window
  double sync_quantum_ns = 1000;  // how far a running engine job runs ahead of SystemC time
};

struct DramSystemConfig {
  DramSpec spec;
  FrontEndConfig front_end;
  ChannelConfig channel;
  uint32_t channels = 1;
  std::string mapping = "RoBaRaCoCh";
};

// Reads the platform's "dram" section (memspec included from its own file).
DramSystemConfig load_dram_config(ConfigNode node);

class DramSystem {
public:
  explicit DramSystem(const DramSystemConfig& cfg);

  const DramSystemConfig& config() const { return cfg_; }
  const AddressMapper& mapper() const { return mapper_; }
  uint64_t capacity_bytes() const { return mapper_.capacity_bytes(); }
  uint32_t channel_count() const { return static_cast<uint32_t>(channels_.size()); }
  DramChannel& channel(uint32_t i) { return *channels_[i]; }
  const DramChannel& channel(uint32_t i) const { return *channels_[i]; }
  double peak_gbps() const { return cfg_.spec.peak_gbps() * channel_count(); }
  double tck_ns() const { return cfg_.spec.timing.tCK_ps * 1e-3; }

  DramEnergy energy(Cycle end) const;
  // Energy so far at simulated time `now_ns`, background counted up to the
  // later of that time and the furthest any channel has already run.
  DramEnergy energy_at_ns(double now_ns) const;
  // Publishes commands, row-buffer outcomes, bytes and energy (pJ) under
  // `g`, all channels together and each under channels/<i>; background
  // energy up to cycle `end`.
  void report(StatGroup& g, Cycle end) const;
  // The same at simulated time `now_ns` (the end energy_at_ns uses).
  void report_at_ns(StatGroup& g, double now_ns) const;

private:
  Cycle cycle_at_ns(double now_ns) const;

  DramSystemConfig cfg_;
  AddressMapper mapper_;
  std::vector<std::unique_ptr<DramChannel>> channels_;
};

} // namespace pnm::dram
