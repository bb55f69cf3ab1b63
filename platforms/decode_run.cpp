#include "decode_run.h"

#include "common/log.h"
#include "common/report.h"
#include "common/rss.h"
#include "common/stats.h"
#include "common/trace_writer.h"
#include "decode_session.h"
#include "host_system.h"
#include "reference_limits.h"
#include "system_snapshot.h"
#include <pnmvp/hw/device_map.h>

#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <memory>
#include <random>
#include <stdexcept>

namespace pnm {

namespace {
using kernels::Kernel;
constexpr uint64_t kMiB = 1ull << 20;
constexpr uint64_t kGranule = 2 * kMiB; // tenant granule (pnm_tenants.h)

// The figures the report needs, read from a snapshot of the system's stats
// tree at the start and at the end of the measured window (after set-up, so
// booting and tenant/queue creation are not charged to the tokens).
using Snapshot = SystemSnapshot;
Snapshot snapshot(HostSystem& sys, StatGroup* keep = nullptr, unsigned devices = 1) {
  return system_snapshot(sys, keep, devices);
}

uint64_t next_pow2(uint64_t x) {
  uint64_t p = 1;
  while (p < x) p <<= 1;
  return p;
}

void check_range(const char* flag, double v, double lo, double hi, const std::string& why = "") {
  if (v < lo || v > hi)
    throw std::invalid_argument(fmt::format("{} {} is outside [{}, {}]{}", flag, v, lo, hi, why));
}
} // namespace

namespace {
// The run's sequences: one context each (--context N for all of the batch,
// or one per sequence).
std::vector<uint32_t> contexts_of(const DecodeRunConfig& cfg) {
  if (cfg.contexts.empty()) return std::vector<uint32_t>(cfg.batch, cfg.context);
  if (cfg.batch != 1 && cfg.batch != cfg.contexts.size())
    throw std::invalid_argument(fmt::format("--context gives {} lengths but --batch is {}: give one length per "
                                            "sequence, or one for all", cfg.contexts.size(), cfg.batch));
  return cfg.contexts;
}

// Checks the flags against the model and the device before anything is
// built; decides functional or timing-only.
struct RunPlan {
  kernels::ModelShape model;
  std::vector<uint32_t> contexts;
  bool functional = true;
  uint64_t kv_total = 0; // KV bytes of the simulated layers at the end of the run
};

RunPlan plan_run(const DecodeRunConfig& cfg, const SystemConfig& sysc) {
  const PlatformConfig& pc = sysc.devices.front().platform;
  RunPlan p;
  p.model = kernels::load_model_shape(cfg.model);
  const kernels::ModelShape& m = p.model;
  check_range("--batch", cfg.batch, 1, 256);
  p.contexts = contexts_of(cfg);
  check_range("--steps", cfg.steps, 1, 10000);
  check_range("--layers-simulated", cfg.layers_simulated, 1, m.layers, fmt::format(" (model {} layers)", m.name));
  const bool uses_topk = cfg.kernel == Kernel::pnm_topk || cfg.kernel == Kernel::pnm_select;
  if (uses_topk) check_range("--topk", cfg.topk, 1, 1u << 24);
  if (cfg.page_tokens) {
    if (cfg.kernel != Kernel::pnm_topk)
      throw std::invalid_argument("--page-tokens applies to --kernel pnm-topk only");
    if ((cfg.page_tokens & (cfg.page_tokens - 1)) || cfg.page_tokens > 65536)
      throw std::invalid_argument(fmt::format("--page-tokens {} must be a power of two <= 65536", cfg.page_tokens));
  }
  const size_t host_devices = std::count_if(sysc.devices.begin(), sysc.devices.end(),
                                            [](const DeviceSlot& d) { return d.host == 0; });
  if (cfg.devices > host_devices)
    throw std::invalid_argument(fmt::format("--devices {}: system {} gives its first host {} device(s)", cfg.devices,
                                            sysc.name, host_devices));
  const unsigned split = cfg.devices ? cfg.devices : static_cast<unsigned>(host_devices);
  kernels::parse_merge(cfg.merge); // a bad name fails before anything is built
  const dram::DramSystem dram_shape(pc.dram); // capacity, before the device exists
  const uint64_t tenant_bytes = (dram_shape.capacity_bytes() - PNM_FW_RESERVED_BYTES) / kGranule * kGranule;
  uint64_t need = 4 * kMiB; // rings and descriptors
  for (uint32_t c : p.contexts) {
    check_range("--context", c, 1, double(1u << 24) - cfg.steps, " (the engine's longest sequence, less the steps)");
    const uint32_t end = c + cfg.steps;
    if (end > m.max_context_tokens)
      log::warn("run", "context {} is beyond {}'s {} tokens: the shape is run as given, as an extrapolation", end,
                m.name, m.max_context_tokens);
    if (uses_topk && !cfg.page_tokens)
      check_range("--topk", std::min(cfg.topk, c), 1, pc.engine.topk_max_entries, " (the engine's selector)");
    kernels::AttentionShape shape{m.query_heads, m.kv_heads, m.head_dim, end, 1.0};
    const kernels::LayerSizes z = kernels::layer_sizes(shape, cfg.topk);
    p.kv_total += 2 * z.kv * cfg.layers_simulated;
    // Split: each device holds about 1/split of the rows, plus a partial
    // and (the root) the merge buffers.
    need += ((2 * z.kv) / split + z.q + z.o + z.idx + (split > 1 ? split * kernels::partial_bytes(shape) : 0)) *
            cfg.layers_simulated;
  }
  if (need > tenant_bytes)
    throw std::invalid_argument(fmt::format(
        "{} sequence(s) x {} layer(s) up to context {} need {:.1f} GiB of device memory; {} has {:.1f} GiB: lower "
        "--context, --batch, --steps or --layers-simulated", p.contexts.size(), cfg.layers_simulated,
        *std::max_element(p.contexts.begin(), p.contexts.end()) + cfg.steps, need / double(1ull << 30), pc.name,
        tenant_bytes / double(1ull << 30)));
  p.functional = cfg.data == DecodeRunConfig::Data::functional ||
                 (cfg.data == DecodeRunConfig::Data::automatic && p.kv_total <= cfg.functional_limit_bytes);
  if (cfg.data == DecodeRunConfig::Data::functional && p.kv_total > (8ull << 30))
    throw std::invalid_argument(fmt::format("--data functional would hold {:.1f} GiB of KV data in RAM (limit 8 GiB); "
                                            "use --data timing", p.kv_total / double(1ull << 30)));
  return p;
}

// Perfetto tracks of the run: host kernel phases per layer with the DRAM
// and link rates over each, engine jobs, CXL.mem transfers, firmware lines.
void attach_trace(TraceWriter& trace, DecodeSession& session, unsigned& step) {
  HostSystem& sys = session.system();
  const int tr_host = trace.track("host", "kernel"), tr_engine = trace.track("device", "engine jobs");
  const int tr_fw = trace.track("device", "firmware"), tr_dram = trace.track("device", "DRAM");
  const int tr_link = trace.track("link", "CXL");
  sys.dev.engine->on_job_done = [&trace, tr_engine](const engine::JobResult& r, double start_ns) {
    const double end_ns = sc_core::sc_time_stamp().to_seconds() * 1e9;
    trace.complete(tr_engine, r.ok() ? "job" : "job (error)", start_ns, std::max(0.0, end_ns - start_ns),
                   {{"engine_cycles", r.engine_cycles}, {"dram_bytes_read", r.counters.dram_bytes_read},
                    {"macs", r.counters.macs()}});
  };
  trace.set_max_events(2000000); // a trace stays loadable; the rest is counted as dropped
  sys.host.on_mem_transfer = [&trace](bool write, uint64_t hpa, size_t len, double t0, double t1, unsigned lane) {
    const int tr = trace.track("link", fmt::format("CXL.mem lane {}", lane));
    trace.complete(tr, fmt::format("{} {} B", write ? "write" : "read", len), t0, t1 - t0,
                   {{"hpa", fmt::format("0x{:x}", hpa)}});
  };
  sys.dev.on_firmware_line = [&trace, tr_fw](const std::string& line) {
    trace.instant(tr_fw, line, sc_core::sc_time_stamp().to_seconds() * 1e9);
  };
  auto prev = std::make_shared<Snapshot>(snapshot(sys));
  session.on_layer = [&trace, &sys, &step, &session, prev, tr_host, tr_dram, tr_link](
                         unsigned l, double t0, const kernels::StepResult& r) {
    const Snapshot now = snapshot(sys);
    const double dt = std::max(1e-9, now.ns - prev->ns);
    trace.complete(tr_host, fmt::format("{} layer {} step {}", kernels::kernel_name(session.step_config().kernel), l, step),
                   t0, now.ns - t0, {{"jobs", r.jobs}, {"host_flops", r.host_flops}});
    trace.counter(tr_dram, "DRAM bandwidth", prev->ns, {{"GB/s", (now.dram_bytes - prev->dram_bytes) / dt}});
    trace.counter(tr_link, "CXL payload", prev->ns, {{"GB/s", (now.host_bytes - prev->host_bytes) / dt}});
    *prev = now;
  };
}
} // namespace

nlohmann::ordered_json run_decode(const DecodeRunConfig& cfg) {
  const auto wall0 = std::chrono::steady_clock::now();
  const SystemConfig sysc = select_system(cfg.system, cfg.platform);
  const RunPlan plan = plan_run(cfg, sysc);
  const kernels::ModelShape& m = plan.model;
  if (!cfg.vcd_path.empty()) check_output(cfg.vcd_path, "--vcd", cfg.overwrite);
  std::unique_ptr<TraceWriter> trace;
  if (!cfg.trace_path.empty()) {
    check_output(cfg.trace_path, "--trace", cfg.overwrite);
    trace = std::make_unique<TraceWriter>(cfg.trace_path, cfg.overwrite);
  }

  DecodeSessionConfig dc;
  dc.system = cfg.system;
  dc.platform = cfg.platform;
  dc.model = m;
  dc.kernel = cfg.kernel;
  dc.topk = cfg.topk;
  dc.page_tokens = cfg.page_tokens;
  dc.layers_simulated = cfg.layers_simulated;
  dc.functional = plan.functional;
  dc.verify = cfg.verify;
  dc.datapath = cfg.datapath;
  dc.vcd_path = cfg.vcd_path;
  dc.queue_entries = static_cast<uint32_t>(std::min<uint64_t>(4096, std::max<uint64_t>(4, next_pow2(plan.contexts.size() + 1))));
  dc.seed = cfg.seed;
  dc.devices = cfg.devices;
  dc.merge = kernels::parse_merge(cfg.merge);
  DecodeSession session(dc);
  const unsigned devices = session.devices();
  HostSystem& sys = session.system();
  const PlatformConfig& pc = session.system_config().devices.front().platform;
  const HostConfig& hc = session.host_config();
  unsigned step = 0;
  if (trace) attach_trace(*trace, session, step);

  std::vector<DecodeSession::SeqId> batch;
  for (uint32_t c : plan.contexts) batch.push_back(session.admit(c, c + cfg.steps));
  double host_flops = 0;
  uint64_t rows_fetched = 0, jobs = 0, checked = 0;
  double max_err = 0, max_ref = 0;
  // The measured window: the decode steps, after boot, set-up and prefill.
  const Snapshot s0 = snapshot(sys, nullptr, devices);
  for (step = 0; step < cfg.steps; ++step) {
    const DecodeSession::StepResult r = session.step(batch);
    host_flops += r.host_flops;
    rows_fetched += r.rows_fetched;
    jobs += r.jobs;
    checked += r.checked;
    max_err = std::max(max_err, r.max_abs_error);
    max_ref = std::max(max_ref, r.max_abs_reference);
  }
  StatGroup tree;
  const Snapshot s1 = snapshot(sys, &tree, devices);
  if (!cfg.stats_path.empty()) write_report(cfg.stats_path, stats_document(tree), cfg.overwrite, "--stats");
  if (trace) {
    // The window is over: what the teardown does (the firmware releasing the
    // tenant) is not traced.
    sys.dev.engine->on_job_done = nullptr;
    sys.host.on_mem_transfer = nullptr;
    sys.dev.on_firmware_line = nullptr;
    session.on_layer = nullptr;
    if (trace->dropped())
      log::warn("run", "trace: {} events beyond the first {} were dropped", trace->dropped(), trace->events());
    trace->close();
  }
  const bool functional = plan.functional;
  const bool uses_topk = cfg.kernel == Kernel::pnm_topk || cfg.kernel == Kernel::pnm_select;
  const kernels::StepConfig sc = session.step_config();
  const dram::DramSystem& dram_shape = sys.dev.dram.core();

  // ---- the report ------------------------------------------------------------
  const double mult = double(m.layers) / cfg.layers_simulated;
  const double tokens = double(plan.contexts.size()) * cfg.steps;
  const double window_ns = s1.ns - s0.ns;
  const double step_latency_ns = window_ns / cfg.steps * mult;
  const double per_tok = mult / tokens * 1e-6; // pJ over the window -> µJ per token
  const dram::DramEnergy& e0 = s0.dram;
  const dram::DramEnergy& e1 = s1.dram;
  nlohmann::ordered_json br;
  br["dram_act"] = (e1.act - e0.act) * per_tok;
  br["dram_pre"] = (e1.pre - e0.pre) * per_tok;
  br["dram_rdwr"] = (e1.rd - e0.rd + e1.wr - e0.wr) * per_tok;
  br["dram_refresh"] = (e1.ref - e0.ref) * per_tok;
  br["dram_background"] = (e1.bg_active - e0.bg_active + e1.bg_precharged - e0.bg_precharged) * per_tok;
  br["dram_io"] = (e1.io - e0.io) * per_tok;
  br["link"] = (s1.link_pj - s0.link_pj) * per_tok;
  br["engine_compute"] = (s1.engine_compute_pj - s0.engine_compute_pj) * per_tok;
  br["sram"] = (s1.sram_pj - s0.sram_pj) * per_tok;
  br["controller"] = (s1.controller_pj - s0.controller_pj) * per_tok;
  br["host_compute"] = host_flops * hc.pj_per_flop * per_tok;
  double total_uj = 0;
  for (auto& [k, v] : br.items()) total_uj += v.get<double>();

  const double peak_gbps = dram_shape.peak_gbps();
  nlohmann::ordered_json r;
  r["schema"] = "pnmvp.run.v1";
  r["platform"] = pc.name;
  r["system"] = sysc.name;
  r["model"] = m.name;
  r["kernel"] = kernels::kernel_name(cfg.kernel);
  r["context"] = plan.contexts.front();
  r["batch"] = plan.contexts.size();
  r["steps"] = cfg.steps;
  nlohmann::ordered_json seqs = nlohmann::ordered_json::array();
  for (DecodeSession::SeqId id : batch)
    seqs.push_back({{"context_start", session.context(id) - cfg.steps},
                    {"context_end", session.context(id)},
                    {"kv_stride_tokens", session.kv_stride(id)}});
  r["sequences"] = seqs;
  r["topk"] = uses_topk ? cfg.topk : 0;
  r["page_tokens"] = cfg.page_tokens;
  r["tokens_per_s"] = plan.contexts.size() / (step_latency_ns * 1e-9);
  r["step_latency_us"] = step_latency_ns / 1e3;
  r["energy_per_token_uj"] = total_uj;
  r["energy_breakdown_uj"] = br;
  r["link_bytes_per_token"] = (s1.host_bytes - s0.host_bytes) * mult / tokens;
  // Several devices or a switch: what crossed the host's ports and the
  // switches per token (DisaggKV's comparison of host and p2p merge).
  if (devices > 1 || sys.system().fabric())
    r["fabric"] = {{"devices", devices},
                   {"merge", devices > 1 ? cfg.merge : "none"},
                   {"switches", sysc.switches.size()},
                   {"host_port_bytes_per_token", (s1.host_bytes - s0.host_bytes) * mult / tokens},
                   {"switch_bytes_per_token", (s1.switch_bytes - s0.switch_bytes) * mult / tokens}};
  r["link_wire_bytes_per_token"] = (s1.link_wire_bits - s0.link_wire_bits) / 8 * mult / tokens;
  r["dram_bytes_per_token"] = (s1.dram_bytes - s0.dram_bytes) * mult / tokens;
  r["dram_bandwidth_utilization"] = window_ns > 0 ? (s1.dram_bytes - s0.dram_bytes) / window_ns / peak_gbps : 0.0;
  r["dram_peak_gbps"] = peak_gbps;
  // Ceilings for plots (scripts/plot_sweep.py): the link's read payload
  // bandwidth and the utilisation refresh leaves (1 - tRFC/tREFI).
  r["link_gbps"] = link_read_gbps(pc);
  r["dram_refresh_ceiling"] = dram_refresh_ceiling(pc.dram);
  r["controller"] = {{"instructions_retired", static_cast<uint64_t>(s1.instructions - s0.instructions)},
                     {"instructions_per_token", (s1.instructions - s0.instructions) * mult / tokens},
                     {"energy_per_token_uj", br["controller"]},
                     {"share_of_energy", total_uj > 0 ? br["controller"].get<double>() / total_uj : 0.0}};
  r["engine"] = {{"jobs", static_cast<uint64_t>(s1.engine_jobs - s0.engine_jobs)}, {"datapath", pc.datapath}};
  r["host"] = {{"flops_per_token", host_flops * mult / tokens},
               {"rows_fetched_per_token", rows_fetched * mult / tokens}};
  r["simulated_ns"] = sc_core::sc_time_stamp().to_seconds() * 1e9;
  r["measured_window_ns"] = window_ns;
  r["wall_s"] = std::chrono::duration<double>(std::chrono::steady_clock::now() - wall0).count();
  r["peak_rss_mib"] = peak_rss_mib();
  r["scaling"] = {
      {"layers", m.layers},
      {"layers_simulated", cfg.layers_simulated},
      {"multiplier", mult},
      {"batch_simulated", plan.contexts.size()},
      {"steps_simulated", cfg.steps},
      {"data", functional ? "functional" : "timing-only"},
      {"what", fmt::format("{} of {} layers simulated in detail (all {} query / {} KV heads, batch {}, {} step(s)); "
                           "time and energy multiplied by {:.3g}. Attention only: projections and FFN are not "
                           "modelled.{}",
                           cfg.layers_simulated, m.layers, m.query_heads, m.kv_heads, plan.contexts.size(), cfg.steps, mult,
                           functional ? " Real random BF16 KV data."
                                      : " Timing-only: the engine models every access and cycle, computes no values.")}};
  if (functional && cfg.verify)
    r["verification"] = {{"checked_outputs", checked},
                         {"reference", kernels::reference_name(sc)},
                         {"max_abs_error", max_err},
                         {"max_abs_reference", max_ref}};
  return r;
}

} // namespace pnm
