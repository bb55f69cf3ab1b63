#include "decode_run.h"

#include "common/log.h"
#include "common/report.h"
#include "common/rss.h"
#include "common/trace_writer.h"
#include "host_system.h"
#include <pnmvp/hw/device_map.h>

#include <fmt/format.h>

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

// Everything the report needs, read at the start and at the end of the
// measured window (after set-up, so booting and tenant/queue creation are
// not charged to the tokens).
struct Snapshot {
  double ns = 0;
  dram::DramEnergy dram;
  uint64_t dram_bytes = 0;
  double link_pj = 0, link_wire_bits = 0;
  uint64_t host_bytes = 0;
  double engine_compute_pj = 0, sram_pj = 0;
  double controller_pj = 0;
  uint64_t instructions = 0;
  uint64_t engine_jobs = 0;
};

Snapshot snapshot(HostSystem& sys) {
  Snapshot s;
  s.ns = sc_core::sc_time_stamp().to_seconds() * 1e9;
  dram::DramSystem& d = sys.dev.dram.core();
  for (uint32_t c = 0; c < d.channel_count(); ++c) {
    const auto& k = d.channel(c).counters();
    s.dram_bytes += (k.reads_served + k.writes_served) * 64;
  }
  s.dram = d.energy_at_ns(s.ns);
  const auto down = sys.dev.cxl_mem.link().down.stats(), up = sys.dev.cxl_mem.link().up.stats();
  s.link_pj = down.energy_pj + up.energy_pj;
  s.link_wire_bits = down.wire_bits + up.wire_bits;
  s.host_bytes = sys.host.mem_bytes_read() + sys.host.mem_bytes_written() + sys.host.io_bytes();
  const auto& e = sys.dev.engine->core().energy_totals();
  s.engine_compute_pj = e.mac_bf16 + e.mac_int8 + e.mac_fp32 + e.exp + e.compare;
  s.sram_pj = e.sram;
  s.controller_pj = sys.dev.controller->core().energy_pj();
  s.instructions = sys.dev.controller->core().stats().instructions;
  s.engine_jobs = sys.dev.engine->core().jobs_done() + sys.dev.engine->core().jobs_failed();
  return s;
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

nlohmann::ordered_json run_decode(const DecodeRunConfig& cfg) {
  const auto wall0 = std::chrono::steady_clock::now();
  PlatformConfig pc = load_platform(resolve_platform(cfg.platform));
  if (!pc.cxl.present || !pc.has_engine || !pc.controller.present || !pc.host.present)
    throw ConfigError(fmt::format("{}: `pnmvp run` needs a platform with \"cxl\", \"engine\", \"controller\" and "
                                  "\"host\" sections (as pnm-ref.json)", pc.file));
  const kernels::ModelShape m = kernels::load_model_shape(cfg.model);
  if (m.precision != kernels::ModelShape::KvPrecision::bf16)
    throw std::invalid_argument(fmt::format("model {}: only BF16 KV caches are supported by the kernels", m.name));
  check_range("--context", cfg.context, 1, double(1u << 24), " (the engine's longest sequence)");
  if (cfg.context > m.max_context_tokens)
    log::warn("run", "context {} is beyond {}'s {} tokens: the shape is run as given, as an extrapolation", cfg.context,
              m.name, m.max_context_tokens);
  check_range("--batch", cfg.batch, 1, 256);
  check_range("--steps", cfg.steps, 1, 10000);
  check_range("--layers-simulated", cfg.layers_simulated, 1, m.layers, fmt::format(" (model {} layers)", m.name));
  const bool uses_topk = cfg.kernel == Kernel::pnm_topk || cfg.kernel == Kernel::pnm_select;
  if (uses_topk) {
    const uint32_t items = cfg.page_tokens ? 0 : cfg.topk;
    check_range("--topk", cfg.topk, 1, 1u << 24);
    if (items) check_range("--topk", std::min(cfg.topk, cfg.context), 1, pc.engine.topk_max_entries, " (the engine's selector)");
  }
  if (cfg.page_tokens) {
    if (cfg.kernel != Kernel::pnm_topk)
      throw std::invalid_argument("--page-tokens applies to --kernel pnm-topk only");
    if ((cfg.page_tokens & (cfg.page_tokens - 1)) || cfg.page_tokens > 65536)
      throw std::invalid_argument(fmt::format("--page-tokens {} must be a power of two <= 65536", cfg.page_tokens));
  }
  if (!cfg.datapath.empty()) pc.datapath = cfg.datapath == "model" ? "twin" : cfg.datapath;
  if (!cfg.vcd_path.empty()) {
    check_output_path(cfg.vcd_path, "--vcd", cfg.overwrite);
    pc.datapath = "rtl";
    pc.datapath_vcd = cfg.vcd_path;
  }
  if (m.head_dim % pc.datapath_lanes)
    throw std::invalid_argument(fmt::format("model {}: head_dim {} is not a multiple of the datapath's {} lanes",
                                            m.name, m.head_dim, pc.datapath_lanes));

  kernels::AttentionShape shape{m.query_heads, m.kv_heads, m.head_dim, cfg.context, 1.0 / std::sqrt(double(m.head_dim))};
  const kernels::LayerSizes z = kernels::layer_sizes(shape, cfg.topk);
  const uint64_t units = uint64_t{cfg.batch} * cfg.layers_simulated;
  const uint64_t kv_total = 2 * z.kv * units;
  const uint64_t need = (2 * z.kv + z.q + z.o + z.idx + 4 * 64) * units + 4 * kMiB;
  const dram::DramSystem dram_shape(pc.dram); // capacity and peak, before the device exists
  const uint64_t capacity = dram_shape.capacity_bytes();
  const uint64_t tenant_bytes = (capacity - PNM_FW_RESERVED_BYTES) / kGranule * kGranule;
  if (need > tenant_bytes)
    throw std::invalid_argument(fmt::format(
        "{} x {} layer(s) at context {} need {:.1f} GiB of device memory; {} has {:.1f} GiB: lower --context, "
        "--batch or --layers-simulated", cfg.batch, cfg.layers_simulated, cfg.context, need / double(1ull << 30),
        pc.name, tenant_bytes / double(1ull << 30)));
  const bool functional = cfg.data == DecodeRunConfig::Data::functional ||
                          (cfg.data == DecodeRunConfig::Data::automatic && kv_total <= cfg.functional_limit_bytes);
  if (cfg.data == DecodeRunConfig::Data::functional && kv_total > (8ull << 30))
    throw std::invalid_argument(fmt::format("--data functional would hold {:.1f} GiB of KV data in RAM (limit 8 GiB); "
                                            "use --data timing", kv_total / double(1ull << 30)));

  std::unique_ptr<TraceWriter> trace;
  if (!cfg.trace_path.empty()) trace = std::make_unique<TraceWriter>(cfg.trace_path, cfg.overwrite);

  sc_core::sc_curr_simcontext = new sc_core::sc_simcontext();
  sc_core::sc_default_global_context = sc_core::sc_curr_simcontext;
  HostSystem sys(pc);
  if (!functional) sys.dev.engine->set_mode(engine::Mode::timing_only);
  int tr_host = 0, tr_engine = 0, tr_fw = 0, tr_dram = 0, tr_link = 0;
  if (trace) {
    tr_host = trace->track("host", "kernel");
    tr_engine = trace->track("device", "engine jobs");
    tr_fw = trace->track("device", "firmware");
    tr_dram = trace->track("device", "DRAM");
    tr_link = trace->track("link", "CXL");
    sys.dev.engine->on_job_done = [&](const engine::JobResult& r, double start_ns) {
      const double end_ns = sc_core::sc_time_stamp().to_seconds() * 1e9;
      trace->complete(tr_engine, r.ok() ? "job" : "job (error)", start_ns, std::max(0.0, end_ns - start_ns),
                      {{"engine_cycles", r.engine_cycles}, {"dram_bytes_read", r.counters.dram_bytes_read},
                       {"macs", r.counters.macs()}});
    };
    trace->set_max_events(2000000); // a trace stays loadable; the rest is counted as dropped
    sys.host.on_mem_transfer = [&](bool write, uint64_t hpa, size_t len, double t0, double t1, unsigned lane) {
      const int tr = trace->track("link", fmt::format("CXL.mem lane {}", lane));
      trace->complete(tr, fmt::format("{} {} B", write ? "write" : "read", len), t0, t1 - t0,
                      {{"hpa", fmt::format("0x{:x}", hpa)}});
    };
    sys.dev.on_firmware_line = [&](const std::string& line) {
      trace->instant(tr_fw, line, sc_core::sc_time_stamp().to_seconds() * 1e9);
    };
  }

  kernels::StepConfig sc;
  sc.kernel = cfg.kernel;
  sc.shape = shape;
  sc.topk = cfg.topk;
  sc.page_tokens = cfg.page_tokens;
  sc.functional = functional;
  sc.host = {pc.host.attention_gflops, pc.host.pj_per_flop, pc.host.outstanding_reads};

  Snapshot s0, s1;
  double host_flops = 0;
  uint64_t rows_fetched = 0, jobs = 0;
  double max_err = 0, max_ref = 0;
  uint64_t checked = 0;
  std::vector<double> step_ns;
  std::mt19937_64 rng(cfg.seed);
  std::normal_distribution<float> nd(0.0f, 1.0f);
  const uint64_t kv_elems = uint64_t{m.kv_heads} * cfg.context * m.head_dim;

  sys.run([&](sw::Backend& b) {
    b.sleep_ns(10000); // the firmware boots
    sw::Device dev(b);
    sw::Tenant tenant(dev, 1, 0, tenant_bytes);
    sw::Queue queue(tenant, static_cast<uint32_t>(std::min<uint64_t>(4096, std::max<uint64_t>(4, next_pow2(cfg.batch + 1)))));
    // layers[l][i]: simulated layer l of sequence i; kv_vals: its K and V as BF16 bits (verification)
    std::vector<std::vector<kernels::LayerKv>> layers(cfg.layers_simulated, std::vector<kernels::LayerKv>(cfg.batch));
    using Bf16 = std::vector<uint16_t>;
    std::vector<std::vector<std::pair<Bf16, Bf16>>> kv_vals(cfg.layers_simulated,
                                                            std::vector<std::pair<Bf16, Bf16>>(cfg.batch));
    for (unsigned l = 0; l < cfg.layers_simulated; ++l)
      for (unsigned i = 0; i < cfg.batch; ++i) {
        kernels::LayerKv& kv = layers[l][i];
        kv.k_dpa = tenant.alloc(z.kv).dpa;
        kv.v_dpa = tenant.alloc(z.kv).dpa;
        kv.q_dpa = tenant.alloc(z.q).dpa;
        kv.o_dpa = tenant.alloc(z.o).dpa;
        kv.idx_dpa = tenant.alloc(z.idx).dpa;
        if (!functional) continue;
        // The KV cache as prefill left it: written straight into device
        // memory (a backdoor: it is set-up, not part of the decode step).
        for (int which = 0; which < 2; ++which) {
          std::vector<uint16_t> raw(kv_elems);
          for (uint16_t& x : raw) x = kernels::to_bf16(nd(rng));
          sys.dev.dram.store().write(which ? kv.v_dpa : kv.k_dpa, reinterpret_cast<const uint8_t*>(raw.data()),
                                     raw.size() * 2);
          if (cfg.verify) (which ? kv_vals[l][i].second : kv_vals[l][i].first) = std::move(raw);
        }
      }
    s0 = snapshot(sys);
    Snapshot prev = s0;
    for (unsigned step = 0; step < cfg.steps; ++step) {
      const double t0 = b.now_ns();
      for (unsigned l = 0; l < cfg.layers_simulated; ++l) {
        std::vector<std::vector<float>> queries(cfg.batch, std::vector<float>(uint64_t{m.query_heads} * m.head_dim, 0.0f));
        if (functional)
          for (auto& q : queries)
            for (float& x : q) x = kernels::from_bf16(kernels::to_bf16(nd(rng)));
        const double lt0 = b.now_ns();
        const kernels::StepResult r = kernels::run_step(dev, queue, sc, layers[l], queries);
        host_flops += r.host_flops;
        rows_fetched += r.rows_fetched;
        jobs += r.jobs;
        if (trace) {
          const Snapshot now = snapshot(sys);
          const double dt = std::max(1e-9, now.ns - prev.ns);
          trace->complete(tr_host, fmt::format("{} layer {} step {}", kernels::kernel_name(cfg.kernel), l, step), lt0,
                          b.now_ns() - lt0, {{"jobs", r.jobs}, {"host_flops", r.host_flops}});
          trace->counter(tr_dram, "DRAM bandwidth", prev.ns, {{"GB/s", (now.dram_bytes - prev.dram_bytes) / dt}});
          trace->counter(tr_link, "CXL payload", prev.ns, {{"GB/s", (now.host_bytes - prev.host_bytes) / dt}});
          prev = now;
        }
        if (functional && cfg.verify) {
          for (unsigned i = 0; i < cfg.batch; ++i) {
            const std::vector<double> q(queries[i].begin(), queries[i].end());
            const auto& [kd, vd] = kv_vals[l][i];
            std::vector<double> ref;
            if (cfg.kernel == Kernel::host_fetch || cfg.kernel == Kernel::pnm_dense)
              ref = kernels::attention_dense(shape, q, kd, vd);
            else if (cfg.page_tokens)
              ref = kernels::attention_topk_pages(shape, q, kd, vd, std::max<uint32_t>(1, cfg.topk / cfg.page_tokens),
                                                  cfg.page_tokens);
            else
              ref = kernels::attention_topk(shape, q, kd, vd, cfg.topk);
            for (size_t e = 0; e < ref.size(); ++e) {
              max_err = std::max(max_err, std::abs(double(r.out[i][e]) - ref[e]));
              max_ref = std::max(max_ref, std::abs(ref[e]));
            }
            ++checked;
          }
        }
      }
      step_ns.push_back(b.now_ns() - t0);
    }
    s1 = snapshot(sys);
    queue.close();
    tenant.release();
  });
  if (trace) {
    if (trace->dropped())
      log::warn("run", "trace: {} events beyond the first {} were dropped", trace->dropped(), trace->events());
    trace->close();
  }

  // ---- the report ------------------------------------------------------------
  const double mult = double(m.layers) / cfg.layers_simulated;
  const double tokens = double(cfg.batch) * cfg.steps;
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
  br["host_compute"] = host_flops * pc.host.pj_per_flop * per_tok;
  double total_uj = 0;
  for (auto& [k, v] : br.items()) total_uj += v.get<double>();

  const double peak_gbps = dram_shape.peak_gbps();
  nlohmann::ordered_json r;
  r["schema"] = "pnmvp.run.v1";
  r["platform"] = pc.name;
  r["model"] = m.name;
  r["kernel"] = kernels::kernel_name(cfg.kernel);
  r["context"] = cfg.context;
  r["batch"] = cfg.batch;
  r["steps"] = cfg.steps;
  r["topk"] = uses_topk ? cfg.topk : 0;
  r["page_tokens"] = cfg.page_tokens;
  r["tokens_per_s"] = cfg.batch / (step_latency_ns * 1e-9);
  r["step_latency_us"] = step_latency_ns / 1e3;
  r["energy_per_token_uj"] = total_uj;
  r["energy_breakdown_uj"] = br;
  r["link_bytes_per_token"] = (s1.host_bytes - s0.host_bytes) * mult / tokens;
  r["link_wire_bytes_per_token"] = (s1.link_wire_bits - s0.link_wire_bits) / 8 * mult / tokens;
  r["dram_bytes_per_token"] = (s1.dram_bytes - s0.dram_bytes) * mult / tokens;
  r["dram_bandwidth_utilization"] = window_ns > 0 ? (s1.dram_bytes - s0.dram_bytes) / window_ns / peak_gbps : 0.0;
  r["dram_peak_gbps"] = peak_gbps;
  r["controller"] = {{"instructions_retired", (s1.instructions - s0.instructions)},
                     {"instructions_per_token", (s1.instructions - s0.instructions) * mult / tokens},
                     {"energy_per_token_uj", br["controller"]},
                     {"share_of_energy", total_uj > 0 ? br["controller"].get<double>() / total_uj : 0.0}};
  r["engine"] = {{"jobs", s1.engine_jobs - s0.engine_jobs}, {"datapath", pc.datapath}};
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
      {"batch_simulated", cfg.batch},
      {"steps_simulated", cfg.steps},
      {"data", functional ? "functional" : "timing-only"},
      {"what", fmt::format("{} of {} layers simulated in detail (all {} query / {} KV heads, batch {}, {} step(s)); "
                           "time and energy multiplied by {:.3g}. Attention only: projections and FFN are not "
                           "modelled.{}",
                           cfg.layers_simulated, m.layers, m.query_heads, m.kv_heads, cfg.batch, cfg.steps, mult,
                           functional ? " Real random BF16 KV data."
                                      : " Timing-only: the engine models every access and cycle, computes no values.")}};
  if (functional && cfg.verify)
    r["verification"] = {{"checked_outputs", checked},
                         {"reference", cfg.kernel == Kernel::host_fetch || cfg.kernel == Kernel::pnm_dense
                                           ? "dense attention (double)"
                                           : cfg.page_tokens ? "top-k page attention (double)" : "top-k token attention (double)"},
                         {"max_abs_error", max_err},
                         {"max_abs_reference", max_ref}};
  return r;
}

} // namespace pnm
