// pnmvp attend: decode attention on user data through the whole stack. The
// host driver puts Q/K/V (rounded to BF16) into a tenant's memory over
// CXL.mem, submits one job through a queue pair, the firmware on the
// controller core runs it on the engine, and O (FP32) comes back to a .npy.
#include "commands.h"
#include "driver/device.h"
#include "driver/queue.h"
#include "host_system.h"
#include "kernels/reference.h"
#include "npy/npy.h"
#include "platform.h"
#include <pnmvp/hw/device_map.h>
#include <pnmvp/hw/jobs.h>
#include <pnmvp/hw/tenants.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <filesystem>
#include <fmt/format.h>
#include <iostream>
#include <memory>
#include <nlohmann/json.hpp>
#include <systemc>
#include "common/sim_kernel.h"

namespace pnm::cli {

namespace {
using ojson = nlohmann::ordered_json;

// Bad input from the user: exit 2 (device and driver failures exit 1).
struct InputError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

constexpr unsigned kMaxHeads = 128;       // PNM_JOB_ERR_BAD_HEADS above this
constexpr unsigned kMaxHeadDim = 256;     // PNM_JOB_ERR_BAD_HEAD_DIM above this
constexpr uint64_t kMaxSeqLen = 1u << 24; // PNM_JOB_ERR_BAD_SEQ_LEN above this

struct AttendOpts {
  Target target;
  std::string q, k, v, out;
  int64_t topk = 0;
  std::string datapath; // empty: the platform's
  double scale = 0;
  bool force = false, json = false;
};

std::string shape_text(const std::vector<size_t>& s) {
  std::string t = "(";
  for (size_t i = 0; i < s.size(); ++i) t += (i ? ", " : "") + std::to_string(s[i]);
  return t + (s.size() == 1 ? ",)" : ")"); // numpy's spelling
}

// The checked problem: shape (kernels::AttentionShape) and BF16 inputs.
struct Problem {
  kernels::AttentionShape s;
  std::vector<size_t> q_shape, kv_shape;
  std::vector<uint16_t> q, k, v;
};

std::vector<uint16_t> to_bf16(const std::vector<float>& f) {
  std::vector<uint16_t> h(f.size());
  for (size_t i = 0; i < f.size(); ++i) h[i] = kernels::to_bf16(f[i]);
  return h;
}

Problem check_inputs(const AttendOpts& o, unsigned lanes) {
  const npy::Array q = npy::read_f32(o.q), k = npy::read_f32(o.k), v = npy::read_f32(o.v);
  if (q.shape.size() != 1 && q.shape.size() != 2)
    throw InputError(fmt::format("{}: Q must be 1-d [head_dim] or 2-d [heads, head_dim], not shape {}", o.q,
                                 shape_text(q.shape)));
  for (const auto* a : {&k, &v}) {
    const std::string& path = a == &k ? o.k : o.v;
    if (a->shape.size() != 2 && a->shape.size() != 3)
      throw InputError(
          fmt::format("{}: {} must be 2-d [L, head_dim] or 3-d [kv_heads, L, head_dim], not shape {}", path,
                      a == &k ? "K" : "V", shape_text(a->shape)));
  }
  if (k.shape != v.shape) {
    std::string diff;
    if (k.shape.size() != v.shape.size()) {
      diff = fmt::format("K is {}-d, V is {}-d", k.shape.size(), v.shape.size());
    } else {
      const bool three = k.shape.size() == 3;
      const char* names3[] = {"kv_heads", "L", "head_dim"};
      const char* names2[] = {"L", "head_dim"};
      for (size_t i = 0; i < k.shape.size(); ++i)
        if (k.shape[i] != v.shape[i])
          diff += fmt::format("{}dim {} ({}) is {} in K but {} in V", diff.empty() ? "" : "; ", i,
                              three ? names3[i] : names2[i], k.shape[i], v.shape[i]);
    }
    throw InputError(fmt::format("{} and {}: K and V shapes differ, {} vs {}: {}", o.k, o.v,
                                 shape_text(k.shape), shape_text(v.shape), diff));
  }
  Problem p;
  p.q_shape = q.shape;
  p.kv_shape = k.shape;
  const size_t heads = q.shape.size() == 2 ? q.shape[0] : 1;
  const size_t d = q.shape.back();
  const size_t kv_heads = k.shape.size() == 3 ? k.shape[0] : 1;
  const size_t seq = k.shape[k.shape.size() - 2];
  if (k.shape.back() != d)
    throw InputError(fmt::format("{} and {}: head_dim differs: Q's last dim is {}, K's and V's is {}", o.q,
                                 o.k, d, k.shape.back()));
  if (heads == 0 || heads > kMaxHeads)
    throw InputError(fmt::format("{}: {} query heads: the engine takes 1..{}", o.q, heads, kMaxHeads));
  if (kv_heads == 0 || heads % kv_heads)
    throw InputError(
        fmt::format("{} and {}: {} query head(s) and {} KV heads: query heads must be a multiple of KV heads",
                    o.q, o.k, heads, kv_heads));
  if (d == 0 || d % lanes || d > kMaxHeadDim)
    throw InputError(
        fmt::format("{}: head_dim {} is not supported: it must be a multiple of the engine's {} lanes and "
                    "at most {}",
                    o.q, d, lanes, kMaxHeadDim));
  if (seq == 0 || seq > kMaxSeqLen)
    throw InputError(
        fmt::format("{}: sequence length L = {}: the engine takes 1..{} tokens", o.k, seq, kMaxSeqLen));
  p.s.heads = static_cast<unsigned>(heads);
  p.s.kv_heads = static_cast<unsigned>(kv_heads);
  p.s.head_dim = static_cast<unsigned>(d);
  p.s.seq_len = static_cast<uint32_t>(seq);
  p.q = to_bf16(q.data);
  p.k = to_bf16(k.data);
  p.v = to_bf16(v.data);
  return p;
}

// What the run measured.
struct Outcome {
  std::vector<float> o;
  double job_ns = 0, sim_ns = 0;
  uint64_t engine_cycles = 0, lines_read = 0, instructions = 0;
};

constexpr uint64_t align_up(uint64_t x, uint64_t a) { return (x + a - 1) / a * a; }

// Job statuses that say the problem itself is out of the engine's range (exit 2).
bool input_status(uint16_t st) {
  switch (st) {
  case PNM_JOB_ERR_BAD_HEADS:
  case PNM_JOB_ERR_BAD_KV_HEADS:
  case PNM_JOB_ERR_BAD_HEAD_DIM:
  case PNM_JOB_ERR_BAD_SEQ_LEN:
  case PNM_JOB_ERR_BAD_K:
  case PNM_JOB_ERR_BAD_SCALE: return true;
  default: return false;
  }
}

Outcome run_job(const SystemConfig& sc, const Problem& p, uint32_t topk) {
  const PlatformConfig& pc = sc.devices.front().platform;
  const uint64_t q_bytes = p.q.size() * 2, kv_bytes = p.k.size() * 2;
  const uint64_t o_bytes = uint64_t{p.s.heads} * p.s.head_dim * 4;
  // Rings and descriptor slots of a 2-entry queue, alignment padding: well under 4 KiB.
  const uint64_t need = align_up(q_bytes, 64) + 2 * align_up(kv_bytes, 64) + align_up(o_bytes, 64) + 4096;
  const uint64_t tenant_bytes = align_up(need, PNM_TENANT_GRANULE_BYTES);

  pnm::fresh_sim_kernel();
  HostSystem sys(sc);
  Outcome r;
  sys.run([&](sw::Backend& b) {
    sw::Device dev(b);
    const sw::PnmCaps caps = dev.pnm_caps();
    if (caps.lanes == 0 || p.s.head_dim % caps.lanes)
      throw InputError(
          fmt::format("head_dim {} is not a multiple of the device's {} lanes", p.s.head_dim, caps.lanes));
    const uint64_t room = dev.capacity_bytes() - PNM_FW_RESERVED_BYTES;
    if (tenant_bytes > room)
      throw InputError(
          fmt::format("Q, K, V and O need {:.1f} GiB of device memory; the device has {:.1f} GiB for jobs",
                      need / double(1ull << 30), room / double(1ull << 30)));
    sw::Tenant t(dev, 1, 0, tenant_bytes);
    sw::Queue queue(t, 2);
    const sw::Buffer qb = t.alloc(q_bytes), kb = t.alloc(kv_bytes), vb = t.alloc(kv_bytes),
                     ob = t.alloc(o_bytes);
    dev.write(qb.dpa, p.q.data(), q_bytes);
    dev.write(kb.dpa, p.k.data(), kv_bytes);
    dev.write(vb.dpa, p.v.data(), kv_bytes);
    pnm_job_desc_t j{};
    j.magic = PNM_JOB_MAGIC;
    j.version = PNM_JOB_VERSION;
    j.size_bytes = PNM_JOB_DESC_BYTES;
    j.opcode = topk ? PNM_JOB_OP_TOPK_TOKEN : PNM_JOB_OP_DENSE;
    j.precision = PNM_JOB_PREC_BF16;
    j.heads = static_cast<uint16_t>(p.s.heads);
    j.kv_heads = static_cast<uint16_t>(p.s.kv_heads);
    j.head_dim = static_cast<uint16_t>(p.s.head_dim);
    j.seq_len = p.s.seq_len;
    j.k = topk;
    j.scale = static_cast<float>(p.s.scale);
    j.q_addr = qb.dpa;
    j.k_addr = kb.dpa;
    j.v_addr = vb.dpa;
    j.o_addr = ob.dpa;
    const double t0 = b.now_ns();
    queue.submit(j);
    const sw::Completion c = queue.wait(60e9); // by interrupt: a long wait costs no wall time
    r.job_ns = b.now_ns() - t0;
    if (c.status == PNM_JOB_ERR_TOPK_TOO_LARGE)
      throw InputError(fmt::format("--topk {}: the engine's top-k selector holds {} entries, fewer than "
                                   "min(topk, L) = {} (job status: {})",
                                   topk, pc.engine.topk_max_entries, std::min(topk, p.s.seq_len),
                                   sw::completion_status_name(c.status)));
    if (input_status(c.status))
      throw InputError("the device rejected the job: " + sw::completion_status_name(c.status));
    if (!c.ok())
      throw std::runtime_error(fmt::format("the job failed with status 0x{:04x} ({})", c.status,
                                           sw::completion_status_name(c.status)));
    r.engine_cycles = c.engine_cycles;
    r.lines_read = c.lines_read;
    r.o.resize(o_bytes / 4);
    dev.read(ob.dpa, r.o.data(), o_bytes);
    queue.close();
    t.release();
  });
  r.sim_ns = sc_core::sc_time_stamp().to_seconds() * 1e9;
  r.instructions = sys.dev.controller->core().stats().instructions;
  return r;
}

int attend(const AttendOpts& o, bool topk_given, bool scale_given) {
  note_target_inputs(o.target.system, o.target.platform);
  note_cli_input(o.q, "Q file", "--q");
  note_cli_input(o.k, "K file", "--k");
  note_cli_input(o.v, "V file", "--v");
  SystemConfig sc = select_system(o.target.system, o.target.platform);
  PlatformConfig& pc = sc.devices.front().platform; // attend runs on the system's first device
  if (!pc.controller.present || !pc.has_engine)
    throw ConfigError(fmt::format(
        "{}: attend needs a device with \"cxl\", \"controller\" and \"engine\" sections", pc.file));
  if (!o.datapath.empty()) pc.datapath = o.datapath == "model" ? "twin" : "rtl";
  // Everything the host can check is checked before the device boots.
  if (topk_given && (o.topk < 1 || o.topk > UINT32_MAX))
    throw InputError(
        fmt::format("--topk {}: must be 1..{} (omit it for dense attention)", o.topk, UINT32_MAX));
  if (scale_given && !(std::isfinite(o.scale) && o.scale > 0))
    throw InputError(fmt::format("--scale {}: must be finite and positive", o.scale));
  check_output(o.out, "--out", o.force); // never Q, K or V, whatever its spelling; checked again when written
  Problem p = check_inputs(o, static_cast<unsigned>(pc.datapath_lanes));
  p.s.scale = scale_given ? o.scale : 1.0 / std::sqrt(double(p.s.head_dim));
  const uint32_t topk = topk_given ? static_cast<uint32_t>(o.topk) : 0;

  const Outcome r = run_job(sc, p, topk);
  check_output(o.out, "--out", o.force);
  npy::write_f32(o.out, p.q_shape, r.o.data(), o.force);

  const char* dp = pc.datapath == "rtl" ? "rtl" : "model";
  if (o.json) {
    ojson j;
    j["out"] = o.out;
    j["q_shape"] = p.q_shape;
    j["kv_shape"] = p.kv_shape;
    j["out_shape"] = p.q_shape;
    j["heads"] = p.s.heads;
    j["kv_heads"] = p.s.kv_heads;
    j["head_dim"] = p.s.head_dim;
    j["seq_len"] = p.s.seq_len;
    j["op"] = topk ? "topk_token" : "dense";
    j["topk"] = topk ? ojson(topk) : ojson(nullptr);
    j["scale"] = p.s.scale;
    j["input_precision"] = "bf16";
    j["datapath"] = dp;
    j["job_time_us"] = r.job_ns * 1e-3;
    j["engine_cycles"] = r.engine_cycles;
    j["dram_lines_read"] = r.lines_read;
    j["instructions_retired"] = r.instructions;
    j["simulated_time_us"] = r.sim_ns * 1e-3;
    std::cout << j.dump() << "\n";
  } else {
    std::cout << fmt::format("attention: Q {} x K/V {} -> O {} written to {}\n", shape_text(p.q_shape),
                             shape_text(p.kv_shape), shape_text(p.q_shape), o.out);
    std::cout << fmt::format("  op {}{}, datapath {}, inputs rounded to BF16, output FP32, scale {:g}\n",
                             topk ? "topk_token" : "dense", topk ? fmt::format(" (k = {})", topk) : "", dp,
                             p.s.scale);
    std::cout << fmt::format("  job {:.3f} us simulated (submit to completion), engine {} cycles, "
                             "{} DRAM lines read\n",
                             r.job_ns * 1e-3, r.engine_cycles, r.lines_read);
    std::cout << fmt::format("  controller core retired {} instructions; {:.3f} us simulated in all\n",
                             r.instructions, r.sim_ns * 1e-3);
  }
  return 0;
}
} // namespace

std::function<int()> add_attend(CLI::App& app, const Globals&) {
  auto o = std::make_shared<AttendOpts>();
  CLI::App* sub = app.add_subcommand(
      "attend",
      "decode attention on .npy data through the whole stack: driver, queue pair, firmware, engine");
  sub->add_option("--q", o->q, "query, float32 .npy of shape [head_dim] or [heads, head_dim]")->required();
  sub->add_option("--k", o->k, "keys, float32 .npy of shape [L, head_dim] or [kv_heads, L, head_dim]")
      ->required();
  sub->add_option("--v", o->v, "values, the same shape as K")->required();
  sub->add_option("--out", o->out, "output O, float32 .npy with Q's shape")->required();
  CLI::Option* topk = sub->add_option(
      "--topk", o->topk,
      "attend over the N best-scoring tokens of each query head (engine op TOPK_TOKEN); default dense");
  sub->add_option(
         "--datapath", o->datapath,
         "engine datapath: rtl (Verilated RTL) or model (C++ twin), bit-identical; default the platform's")
      ->check(CLI::IsMember({"rtl", "model"}));
  // The engine takes an FP32 scale: finite and positive as a float.
  CLI::Option* scale = sub->add_option("--scale", o->scale, "score scale (default 1/sqrt(head_dim))")
                           ->check(finite_in(0, 3.4028234663852886e38, true));
  sub->add_flag("--force", o->force, "replace --out if it exists and pnmvp wrote it (never Q, K or V)");
  sub->add_flag("--json", o->json, "print the summary as one JSON object");
  add_target_options(sub, o->target);
  sub->footer(
      "The engine computes in BF16: Q, K and V are rounded to BF16 (nearest even) before they go to the "
      "device; scores, softmax and O are FP32. Query heads must be a multiple of KV heads (GQA); head_dim a "
      "multiple of the engine's lanes (16 on pnm-ref) and at most 256; L from 1 to 2^24; top-k at most the "
      "engine's selector (2048 entries on pnm-ref).\n"
      "Output: O goes to --out; a short summary (shapes, op, simulated job time, engine cycles, DRAM lines "
      "read, controller instructions retired) goes to stdout, as one JSON object with --json. Errors go to "
      "stderr.\n"
      "Exit codes: 0 success; 1 the device or the simulation failed; 2 bad input (missing or malformed "
      ".npy, shapes, limits, --out exists without --force, is not a file pnmvp wrote, or is an input).");
  return [o, topk, scale]() {
    try {
      return attend(*o, topk->count() > 0, scale->count() > 0);
    } catch (const InputError& e) {
      std::cerr << "pnmvp: attend: " << e.what() << "\n";
      return 2;
    } catch (const npy::NpyError& e) {
      std::cerr << "pnmvp: attend: " << e.what() << "\n";
      return 2;
    }
  };
}

} // namespace pnm::cli
