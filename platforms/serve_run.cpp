#include "serve_run.h"

#include "common/config.h"
#include "common/log.h"
#include "common/report.h"
#include "common/resources.h"
#include "common/version.h"
#include "dram/dram_system.h"
#include "reference_limits.h"
#include "serve_device.h"
#include "serving/device_cost.h"
#include "serving/gpu_model.h"
#include "serving/model_arch.h"
#include "serving/nic_model.h"
#include "system.h"
#include <pnmvp/hw/device_map.h>

#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <iostream>
#include <limits>
#include <memory>
#include <optional>
#include <set>
#include <stdexcept>

namespace pnm {

using namespace serving;

std::string default_workload() {
  return resources::platforms_dir() + "/workloads/mooncake_conversation_trace.jsonl";
}

namespace {

using kernels::Kernel;

// The policy's device kernel (hbm and rdma-pool use none).
std::optional<Kernel> kernel_of(Policy p, const std::string& pnm_kernel) {
  if (p == Policy::hbm || p == Policy::rdma_pool) return std::nullopt;
  if (p == Policy::pnm && pnm_kernel != "dense") {
    if (pnm_kernel == "topk") return Kernel::pnm_topk;
    throw std::invalid_argument(fmt::format("--pnm-kernel '{}' is not one of dense|topk", pnm_kernel));
  }
  return kernel_for_policy(policy_name(p));
}

Energy energy_of(const DeviceEnergyPj& e) {
  return {{"dram_act_pre", e.dram_act_pre}, {"dram_rd_wr", e.dram_rd_wr},   {"dram_background", e.dram_background},
          {"dram_refresh", e.dram_refresh}, {"dram_io", e.dram_io},         {"link", e.link},
          {"engine", e.engine},             {"engine_sram", e.sram},        {"controller", e.controller},
          {"host_cpu", e.host_cpu}};
}

DevicePart part_of(const DeviceStepCost& c) { return {c.ns, c.link_bytes, energy_of(c.energy)}; }

// The system the simulation serves on: the GPU's cost model, the NIC, and
// each device's cost (calibrated, detailed, or calibrated with detailed
// spot checks).
class VpBackend : public ServeBackend {
public:
  VpBackend(std::unique_ptr<GpuCostModel> gpu, const NicSpec& nic, unsigned devices,
            const CalibratedDeviceCost* calibrated, std::vector<std::unique_ptr<DetailedDevice>> detailed,
            unsigned verify_every)
      : gpu_(std::move(gpu)), nic_(nic), devices_(devices), cal_(calibrated), detailed_(std::move(detailed)),
        verify_every_(verify_every), admitted_(devices) {}

  unsigned devices() const override { return devices_; }

  GpuPart gpu(const GpuWork& w) override {
    BatchWork b;
    b.prefill.reserve(w.prefill.size());
    for (const ChunkWork& c : w.prefill) b.prefill.push_back({c.tokens, uint32_t(c.context_before)});
    b.decode_hbm_tokens = w.decode_hbm_tokens;
    b.decode_sequences = w.decode_sequences;
    const GpuCost g = gpu_->step(b);
    GpuPart p;
    p.linear_ns = g.linear_ns;
    p.attention_ns = g.attention_ns;
    p.other_ns = g.other_ns;
    p.hbm_bytes = g.hbm_bytes;
    p.energy = {{"gpu_compute", g.compute_pj}, {"hbm", g.hbm_pj}, {"gpu_static", g.static_pj}};
    return p;
  }

  DevicePart device_step(unsigned dev, const std::vector<DeviceSeq>& seqs) override {
    ++steps_;
    const bool detailed_now = detailed_.size() > dev && (!cal_ || (verify_every_ && steps_ % verify_every_ == 0));
    std::optional<DeviceStepCost> est;
    if (cal_) {
      contexts_.clear();
      for (const DeviceSeq& s : seqs) contexts_.push_back(uint32_t(s.tokens));
      est = cal_->step(contexts_);
    }
    if (!detailed_now) return part_of(*est);
    DetailedDevice& d = *detailed_[dev];
    std::vector<uint64_t> ids;
    for (const DeviceSeq& s : seqs) {
      auto& held = admitted_[dev];
      if (!held.count(s.request)) {
        d.admit(s.request, uint32_t(s.tokens), uint32_t(std::max(s.reserve, s.tokens + 1)));
        held.insert(s.request);
      } else if (d.context(s.request) < s.tokens) {
        d.grow(s.request, uint32_t(s.tokens - d.context(s.request)));
      } else if (d.context(s.request) > s.tokens) { // cannot shrink: start over
        d.release(s.request);
        d.admit(s.request, uint32_t(s.tokens), uint32_t(std::max(s.reserve, s.tokens + 1)));
      }
      ids.push_back(s.request);
    }
    const DeviceStepCost c = d.step(ids);
    if (est && c.ns > 0) {
      errors_.push_back(std::abs(est->ns - c.ns) / c.ns);
      if (errors_.size() == 1 || errors_.back() > worst_error_) {
        worst_error_ = errors_.back();
        worst_ = {steps_, contexts_, est->ns, c.ns};
      }
    }
    // A verified step keeps the calibrated figure, so that verifying does not
    // change the run it checks.
    return part_of(est ? *est : c);
  }

  DevicePart device_bulk(unsigned dev, uint64_t write_bytes, uint64_t read_bytes) override {
    DeviceStepCost c;
    auto write_kv = [&](uint64_t b) { return cal_ ? cal_->write_kv(b) : detailed_.at(dev)->write_kv(b); };
    auto read_kv = [&](uint64_t b) { return cal_ ? cal_->read_kv(b) : detailed_.at(dev)->read_kv(b); };
    if (write_bytes) {
      const DeviceStepCost w = write_kv(write_bytes);
      c.ns += w.ns;
      c.link_bytes += w.link_bytes;
      c.energy += w.energy;
    }
    if (read_bytes) {
      const DeviceStepCost r = read_kv(read_bytes);
      c.ns += r.ns;
      c.link_bytes += r.link_bytes;
      c.energy += r.energy;
    }
    return part_of(c);
  }

  void device_release(unsigned dev, uint64_t request) override {
    if (detailed_.size() <= dev) return;
    if (admitted_[dev].erase(request)) detailed_[dev]->release(request);
  }

  uint64_t nic_start(double now_ns, uint64_t bytes) override { return nic_.start(now_ns, bytes); }
  double nic_next_ns() const override { return nic_.next_completion_ns(); }
  std::vector<uint64_t> nic_advance(double now_ns) override { return nic_.advance_to(now_ns); }
  Energy nic_energy() const override { return {{"nic", nic_.energy_pj()}}; }
  double nic_bytes() const override { return double(nic_.bytes_moved()); }

  const std::vector<double>& errors() const { return errors_; }
  const CalibrationCheck::Worst& worst() const { return worst_; }

private:
  std::unique_ptr<GpuCostModel> gpu_;
  NicModel nic_;
  unsigned devices_;
  const CalibratedDeviceCost* cal_;
  std::vector<std::unique_ptr<DetailedDevice>> detailed_;
  unsigned verify_every_;
  uint64_t steps_ = 0;
  std::vector<std::set<uint64_t>> admitted_;
  std::vector<uint32_t> contexts_;
  std::vector<double> errors_;
  double worst_error_ = 0;
  CalibrationCheck::Worst worst_;
};

std::vector<Request> load_workload(const ServeRunConfig& c, const ModelArch& m) {
  WorkloadOptions o;
  o.first_n = c.requests;
  o.rate_scale = c.rate_scale;
  o.max_context = c.max_context ? c.max_context : uint32_t(std::min<uint64_t>(m.shape.max_context_tokens, UINT32_MAX));
  o.cap_lengths = c.cap_lengths;
  o.block_tokens = c.sched.prefix_block_tokens;
  if (c.max_context && c.max_context > m.shape.max_context_tokens)
    throw std::invalid_argument(fmt::format("--max-context {} is beyond {}'s context of {} tokens", c.max_context,
                                            m.shape.name, m.shape.max_context_tokens));
  const std::string file = c.workload.empty() ? default_workload() : c.workload;
  if (c.synthetic.empty()) return read_trace(file, o);
  SyntheticOptions s;
  if (c.synthetic == "poisson") s.arrivals = SyntheticOptions::Arrivals::poisson;
  else if (c.synthetic == "gamma") s.arrivals = SyntheticOptions::Arrivals::gamma;
  else throw std::invalid_argument(fmt::format("--synthetic '{}' is not one of poisson|gamma", c.synthetic));
  s.rate_per_s = c.rate_per_s;
  s.gamma_cv = c.gamma_cv;
  s.requests = c.synthetic_requests;
  s.seed = c.seed;
  std::vector<Request> lengths;
  if (c.input_tokens && c.output_tokens) {
    s.input_tokens = c.input_tokens;
    s.output_tokens = c.output_tokens;
  } else {
    WorkloadOptions lo = o;
    lo.first_n = 0;
    lo.rate_scale = 1;
    lengths = read_trace(file, lo);
    s.lengths_from = &lengths;
  }
  return synthesize(s, o);
}

} // namespace

nlohmann::ordered_json run_serve(const ServeRunConfig& cfg) {
  const auto wall0 = std::chrono::steady_clock::now();
  const SystemConfig sysc = select_system(cfg.system, "");
  const HostConfig& host = sysc.hosts.front();
  const ModelArch arch = load_model_arch(cfg.model);
  const GpuSpec gpu = load_gpu(cfg.gpu.empty() ? host.gpu : cfg.gpu);
  const NicSpec nic = load_nic(host.nic);
  const Policy policy = cfg.sched.policy;
  const std::optional<Kernel> kernel = kernel_of(policy, cfg.pnm_kernel);
  if (cfg.verify_every && cfg.fidelity == ServeRunConfig::Fidelity::detailed)
    throw std::invalid_argument("--verify-every applies to --fidelity calibrated (a detailed run is all verified)");

  // Memory: HBM left for KV after the weights and the activations of the
  // largest iteration (vLLM sizes its KV cache the same way, by profiling).
  ServeConfig sc = cfg.sched;
  sc.kv_bytes_per_token = arch.kv_bytes_per_token();
  const double usable = double(gpu.hbm_bytes) * cfg.gpu_memory_utilization;
  const double activations = double(sc.max_batched_tokens) * double(4 * arch.hidden + 2 * arch.intermediate) * 2.0 +
                             double(sc.max_sequences) * double(arch.vocab) * 4.0;
  const double kv_hbm = usable - double(arch.weight_bytes()) - activations;
  if (kv_hbm <= 0)
    throw std::invalid_argument(fmt::format("{} ({:.1f} GiB) x {} cannot hold {}'s weights ({:.1f} GiB) and "
                                            "activations: no HBM is left for KV",
                                            gpu.name, gpu.hbm_bytes / 1073741824.0, cfg.gpu_memory_utilization,
                                            arch.shape.name, arch.weight_bytes() / 1073741824.0));
  sc.hbm_kv_bytes = uint64_t(kv_hbm);
  if (cfg.kv_hbm_gib > 0) {
    const double cap = cfg.kv_hbm_gib * 1073741824.0;
    if (cap > kv_hbm)
      throw std::invalid_argument(fmt::format("--kv-hbm-gib {}: only {:.2f} GiB of HBM is left for KV after the "
                                              "weights and activations",
                                              cfg.kv_hbm_gib, kv_hbm / 1073741824.0));
    sc.hbm_kv_bytes = uint64_t(cap);
  }
  const unsigned ndev = unsigned(sysc.devices.size());
  sc.cxl_kv_bytes.clear();
  for (const DeviceSlot& d : sysc.devices) {
    const dram::DramSystem shape(d.platform.dram);
    sc.cxl_kv_bytes.push_back(shape.capacity_bytes() - PNM_FW_RESERVED_BYTES);
  }

  const std::vector<Request> reqs = load_workload(cfg, arch);
  if (reqs.empty()) throw std::invalid_argument("the workload has no requests");
  // Outputs are checked before anything runs, once the inputs read so far
  // (system, model, GPU, workload) are known; and again when written.
  check_outputs({{"--report", cfg.report_path, true}, {"--requests-csv", cfg.csv_path}, {"--trace", cfg.trace_path}},
                cfg.overwrite);
  const WorkloadStats ws = summarize(reqs);

  // Device costs.
  std::string calibration_file;
  const CalibratedDeviceCost* cal = nullptr;
  std::vector<std::unique_ptr<DetailedDevice>> detailed;
  if (kernel) {
    if (cfg.fidelity == ServeRunConfig::Fidelity::calibrated) {
      const uint32_t k_topk = (*kernel == Kernel::pnm_topk || *kernel == Kernel::pnm_select) ? sc.topk : 0;
      calibration_file = cfg.calibration.empty()
                             ? default_calibration_path(sysc.name, arch.shape.name, *kernel, k_topk)
                             : cfg.calibration;
      cal = &calibration_for(cfg.system, cfg.model, *kernel, sc.topk, cfg.calibration,
                             [&](const std::string& line) {
                               if (cfg.progress) std::cerr << "serve: " << line << "\n";
                               else log::info("serve", "{}", line);
                             });
    }
    if (cfg.fidelity == ServeRunConfig::Fidelity::detailed || cfg.verify_every)
      for (unsigned d = 0; d < ndev; ++d)
        detailed.push_back(std::make_unique<DetailedDevice>(cfg.system, arch.shape, *kernel, sc.topk));
  }
  std::unique_ptr<GpuCostModel> gm =
      cfg.gpu_ops.empty() ? make_roofline(gpu, arch) : make_operator_table(cfg.gpu_ops, gpu, arch);
  const std::string gpu_desc = gm->describe();
  VpBackend be(std::move(gm), nic, kernel ? ndev : 0, cal, std::move(detailed), cfg.verify_every);
  if (!kernel) sc.cxl_kv_bytes.clear();

  bool progress_shown = false;
  if (cfg.progress)
    sc.progress = [&](double sim_ms, size_t done, size_t total) {
      progress_shown = true;
      const double wall = std::chrono::duration<double>(std::chrono::steady_clock::now() - wall0).count();
      std::cerr << fmt::format("\rserve: {}/{} requests done, {:.1f} s simulated, {:.0f} s wall   ", done, total,
                               sim_ms / 1e3, wall)
                << std::flush;
    };
  ServeResult r = simulate(reqs, sc, be);
  if (progress_shown) std::cerr << "\r" << std::string(72, ' ') << "\r" << std::flush;

  nlohmann::ordered_json j;
  j["schema"] = "pnmvp.serve.v1";
  j["vp_version"] = version_string();
  j["system"] = sysc.name;
  j["model"] = arch.shape.name;
  j["gpu"] = gpu.name;
  j["gpu_cost"] = gpu_desc;
  j["policy"] = policy_name(policy);
  j["device_kernel"] = kernel ? kernels::kernel_name(*kernel) : "none";
  j["topk"] = sc.topk;
  j["fidelity"] = cfg.fidelity == ServeRunConfig::Fidelity::calibrated ? "calibrated" : "detailed";
  j["calibration_file"] = calibration_file;
  j["workload"] = {{"file", cfg.synthetic.empty() ? (cfg.workload.empty() ? default_workload() : cfg.workload) : ""},
                   {"synthetic", cfg.synthetic},
                   {"requests", ws.requests},
                   {"capped", ws.capped},
                   {"duration_s", ws.duration_ms / 1e3},
                   {"mean_input_tokens", ws.mean_input},
                   {"mean_output_tokens", ws.mean_output},
                   {"shared_block_fraction", ws.shared_block_fraction},
                   {"rate_scale", cfg.rate_scale}};
  j["scheduler"] = {{"max_batched_tokens", sc.max_batched_tokens}, {"max_sequences", sc.max_sequences},
                    {"chunked_prefill", sc.chunked_prefill},       {"prefix_caching", sc.prefix_caching},
                    {"block_tokens", sc.block_tokens},             {"prefix_block_tokens", sc.prefix_block_tokens},
                    {"sparse_attention", sc.sparse_attention}};
  uint64_t cxl_total = 0;
  for (uint64_t b : sc.cxl_kv_bytes) cxl_total += b;
  j["memory"] = {{"kv_bytes_per_token", sc.kv_bytes_per_token},
                 {"weight_bytes", arch.weight_bytes()},
                 {"hbm_kv_bytes", sc.hbm_kv_bytes},
                 {"cxl_kv_bytes", cxl_total},
                 {"devices", kernel ? ndev : 0u}};
  // Ceilings for plots (scripts/plot_serve.py): the CXL links' read payload
  // bandwidth summed over the system's devices, and the lowest share of DRAM
  // time refresh leaves among them (1 - tRFC/tREFI).
  double link_gbps = 0, refresh_ceiling = 1.0;
  for (const DeviceSlot& d : sysc.devices) {
    link_gbps += link_read_gbps(d.platform);
    refresh_ceiling = std::min(refresh_ceiling, dram_refresh_ceiling(d.platform.dram));
  }
  j["link_gbps"] = link_gbps;
  j["dram_refresh_ceiling"] = refresh_ceiling;
  CalibrationCheck check;
  check.step_errors = be.errors();
  check.worst = be.worst();
  j = serve_report(r, cfg.slo, check, std::move(j));
  j["wall_s"] = std::chrono::duration<double>(std::chrono::steady_clock::now() - wall0).count();

  if (!cfg.csv_path.empty()) {
    check_output(cfg.csv_path, "--requests-csv", cfg.overwrite);
    write_requests_csv(cfg.csv_path, r, cfg.slo);
  }
  if (!cfg.trace_path.empty()) check_output(cfg.trace_path, "--trace", cfg.overwrite);
  if (!cfg.trace_path.empty())
    write_serve_trace(cfg.trace_path, cfg.overwrite, r, fmt::format("serve {} {}", policy_name(policy), arch.shape.name));
  if (!cfg.report_path.empty()) write_report(cfg.report_path, j, cfg.overwrite);
  return j;
}

} // namespace pnm
