// The serving layer's device costs from the VP: the calibrated table
// `pnmvp calibrate` builds from decode sessions (and its cache of files),
// and the detailed device, which simulates every step it is asked for.
//
// Both run DecodeSession timing-only with one simulated layer and scale it
// to the model's layers, as `pnmvp run` does: the engine models every DRAM
// access and cycle, the link every flit, but no KV values are held.
#pragma once

#include "decode_session.h"
#include "kernels/decode_kernels.h"
#include "kernels/model_shape.h"
#include "serving/device_cost.h"
#include "system_snapshot.h"

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

namespace pnm::serving {

// The kernel a serving KV policy runs its device attention with:
// cxl-recall -> host-fetch, pnm -> pnm-dense, pnm-select -> pnm-select.
// std::invalid_argument for hbm, rdma-pool (no device attention) or an unknown name.
kernels::Kernel kernel_for_policy(const std::string& policy);

// A hash of the resolved system config (every parameter of the system file
// and of its device files, as loaded): "fnv1a64:<16 hex digits>".
std::string system_hash(const SystemConfig& sysc);

struct CalibrateConfig {
  std::string system; // system file or shipped name ("": pnm-ref-system)
  std::string model = "llama-3.1-8b";
  kernels::Kernel kernel = kernels::Kernel::pnm_dense;
  uint32_t topk = 2048; // pnm-topk / pnm-select only
  // The grid (each at least two values; contexts >= 2). Empty: the default
  // grid for the model (default_grid()).
  std::vector<uint32_t> batches, contexts;
  // Bytes streamed to measure the bulk write and read rates: enough for a
  // millisecond or more, so refreshes (issued in bursts) average out.
  uint64_t bulk_bytes = 64ull << 20;
  // One line per grid point (point, simulated ns, wall s); none when empty.
  std::function<void(const std::string&)> progress;
};

// The default grid: batch {1, 4} x context {1K, longest / 8, longest} (the
// model's longest context; 1K becomes longest / 16 for short models).
// calibrate() adds k, 2k, 4k, ... inside the range for pnm-topk and pnm-select.
void default_grid(const kernels::ModelShape& m, std::vector<uint32_t>& batches, std::vector<uint32_t>& contexts);

// Measures the table: for each (batch, context), `batch` sequences admitted
// at context - 1 tokens, one warm-up step (to `context`), then the measured
// step: its time from the step, link bytes and energy from stats snapshots,
// all scaled from one simulated layer to the model's layers. Then the bulk
// rates. Throws ConfigError / std::invalid_argument for bad input.
CalibratedDeviceCost calibrate(const CalibrateConfig& cfg);

// Where `pnmvp calibrate` and `pnmvp serve` keep calibrations by default:
// $XDG_CACHE_HOME/pnmvp/ (else ~/.cache/pnmvp/)
// calibration-<system>-<model>-<kernel>[-topk<N>].json.
std::string default_calibration_path(const std::string& system_name, const std::string& model_name,
                                     kernels::Kernel kernel, uint32_t topk);

// The calibration of (system, model, kernel, topk) made by this build of
// the VP (same version and git commit).
// - `path` empty: the default cache file if it matches, else measured now
//   and saved there (the cache is ours to replace), saying so and how long
//   it took through `progress` (or on stderr when none is given).
// - `path` given: the user's file. Loaded if it matches; if it exists but
//   does not (another system, model, kernel, top-k or VP build) that is an
//   error naming the difference, never an overwrite; if it does not exist,
//   measured now and saved there.
// Kept for the process's lifetime: the reference stays valid.
const CalibratedDeviceCost& calibration_for(const std::string& system, const std::string& model,
                                            kernels::Kernel kernel, uint32_t topk, const std::string& path = "",
                                            const std::function<void(const std::string&)>& progress = {});

// The cost of the window between two snapshots of a timing-only session
// with one simulated layer in `layers_simulated`, scaled to the model's
// `layers`; `host_flops` is the host's attention arithmetic in the window.
DeviceStepCost cost_between(const SystemSnapshot& a, const SystemSnapshot& b, double host_flops,
                            double host_pj_per_flop, double multiplier);

// One decode step of `ids` as serving costs it, all the model's layers: a
// pass appends the new rows and runs the simulated layers over them; passes
// are repeated at the same contexts (rows written again) until they hold
// kLayerSampleNs of simulated time (at most the model's layers), and their
// mean is scaled up. One pass alone is a sample of one layer: at a few
// thousand tokens or less a layer lasts tens of microseconds and moves by
// several percent from one to the next (refresh, the firmware core's
// polling), which the model's own layers average out.
inline constexpr double kLayerSampleNs = 300e3;
DeviceStepCost sampled_step(DecodeSession& session, const std::vector<DecodeSession::SeqId>& ids);

// One device of the served system simulated step by step (timing-only, one
// layer simulated and scaled to the model's), for --fidelity detailed and
// for checking the calibrated table.
class DetailedDevice {
public:
  DetailedDevice(const std::string& system, const kernels::ModelShape& model, kernels::Kernel kernel, uint32_t topk);
  // A sequence's CXL-resident KV: `tokens` now, room for `reserve_tokens`.
  void admit(uint64_t request_id, uint32_t tokens, uint32_t reserve_tokens);
  // The context grows by `tokens` without simulating them (steps the
  // calibrated model costed).
  void grow(uint64_t request_id, uint32_t tokens);
  // Simulates one decode step of these sequences (each context +1): the
  // model's whole depth, energy from stats deltas.
  DeviceStepCost step(const std::vector<uint64_t>& request_ids);
  // Bulk KV moves over CXL.mem, simulated.
  DeviceStepCost write_kv(uint64_t bytes);
  DeviceStepCost read_kv(uint64_t bytes);
  void release(uint64_t request_id);
  uint32_t context(uint64_t request_id) const;
  bool holds(uint64_t request_id) const { return ids_.count(request_id) != 0; }
  uint64_t free_bytes() const { return session_->free_bytes(); }
  size_t sequences() const { return ids_.size(); }
  double now_ns() const { return session_->now_ns(); }
  DecodeSession& session() { return *session_; }

private:
  DecodeSession::SeqId seq(uint64_t request_id, const char* what) const;
  DeviceStepCost bulk(bool write, uint64_t bytes);
  std::unique_ptr<DecodeSession> session_;
  std::map<uint64_t, DecodeSession::SeqId> ids_;
};

// Calibrated against detailed on random mixed-context batches: each batch
// has a size drawn from the grid's batch range and a context per sequence
// from its context range; the detailed step follows a warm-up step as the
// calibration's did. Errors are (calibrated - detailed) / detailed.
struct CheckPoint {
  std::vector<uint32_t> contexts;
  DeviceStepCost calibrated, detailed;
  double ns_error = 0, energy_error = 0, link_error = 0;
};
std::vector<CheckPoint> check_calibration(const CalibratedDeviceCost& cal, const std::string& system,
                                          const kernels::ModelShape& model, kernels::Kernel kernel, uint32_t topk,
                                          unsigned batches, uint64_t seed,
                                          const std::function<void(const std::string&)>& progress = {});

} // namespace pnm::serving
