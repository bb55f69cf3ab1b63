#include "serve_device.h"

#include "common/version.h"
#include "system.h"

#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdlib>
#include <ctime>
#include <filesystem>
#include <iostream>
#include <mutex>
#include <random>
#include <stdexcept>
#include <sys/stat.h>

namespace pnm::serving {

namespace {
using kernels::Kernel;
bool uses_topk(Kernel k) { return k == Kernel::pnm_topk || k == Kernel::pnm_select; }

double wall_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

std::string utc_now() {
  const std::time_t t = std::time(nullptr);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

// Queue entries enough for a step's jobs (one per sequence and layer at most).
uint32_t queue_for(uint64_t batch) {
  uint32_t q = 4;
  while (q < batch + 1 && q < 4096) q <<= 1;
  return q;
}

DecodeSessionConfig session_config(const std::string& system, const kernels::ModelShape& m, Kernel k, uint32_t topk,
                                   uint64_t max_batch) {
  DecodeSessionConfig dc;
  dc.system = system;
  dc.model = m;
  dc.kernel = k;
  dc.topk = topk;
  dc.layers_simulated = 1;
  dc.functional = false;
  dc.verify = false;
  dc.queue_entries = queue_for(max_batch);
  return dc;
}

void say(const std::function<void(const std::string&)>& progress, const std::string& line) {
  if (progress) progress(line);
  else std::cerr << line << "\n";
}
} // namespace

kernels::Kernel kernel_for_policy(const std::string& policy) {
  if (policy == "cxl-recall") return Kernel::host_fetch;
  if (policy == "pnm") return Kernel::pnm_dense;
  if (policy == "pnm-select") return Kernel::pnm_select;
  throw std::invalid_argument(fmt::format("policy '{}' runs no attention on a PNM device: calibrations are for "
                                          "cxl-recall (host-fetch), pnm (pnm-dense) and pnm-select",
                                          policy));
}

std::string system_hash(const SystemConfig& sysc) {
  uint64_t h = 1469598103934665603ull; // FNV-1a, 64 bit
  auto add = [&h](const std::string& s) {
    for (unsigned char c : s) {
      h ^= c;
      h *= 1099511628211ull;
    }
    h ^= 0xff; // field separator
    h *= 1099511628211ull;
  };
  add(sysc.name);
  for (const ParamRecord& p : sysc.params) add(p.path + "=" + p.value);
  for (const DeviceSlot& d : sysc.devices) {
    add(d.name);
    for (const ParamRecord& p : d.platform.params) add(p.path + "=" + p.value);
  }
  return fmt::format("fnv1a64:{:016x}", h);
}

DeviceStepCost cost_between(const SystemSnapshot& a, const SystemSnapshot& b, double host_flops,
                            double host_pj_per_flop, double multiplier) {
  DeviceStepCost c;
  c.ns = (b.ns - a.ns) * multiplier;
  c.link_bytes = (b.host_bytes - a.host_bytes) * multiplier;
  DeviceEnergyPj& e = c.energy;
  e.dram_act_pre = (b.dram.act - a.dram.act) + (b.dram.pre - a.dram.pre);
  e.dram_rd_wr = (b.dram.rd - a.dram.rd) + (b.dram.wr - a.dram.wr);
  e.dram_background = (b.dram.bg_active - a.dram.bg_active) + (b.dram.bg_precharged - a.dram.bg_precharged);
  e.dram_refresh = b.dram.ref - a.dram.ref;
  e.dram_io = b.dram.io - a.dram.io;
  e.link = b.link_pj - a.link_pj;
  e.engine = b.engine_compute_pj - a.engine_compute_pj;
  e.sram = b.sram_pj - a.sram_pj;
  e.controller = b.controller_pj - a.controller_pj;
  e.host_cpu = host_flops * host_pj_per_flop;
  e = e.scaled(multiplier);
  return c;
}

DeviceStepCost sampled_step(DecodeSession& session, const std::vector<DecodeSession::SeqId>& ids) {
  HostSystem& sys = session.system();
  const kernels::ModelShape& m = session.config().model;
  const unsigned simulated = session.config().layers_simulated;
  const double mult = double(m.layers) / simulated, pj_per_flop = session.host_config().pj_per_flop;
  const unsigned max_passes = std::max(1u, m.layers / simulated);
  DeviceStepCost sum;
  double simulated_ns = 0;
  unsigned passes = 0;
  SystemSnapshot x = system_snapshot(sys);
  do {
    // A pass: the rows appended (the first time growing the context) and
    // the layers run over them.
    const DecodeSession::StepResult w = session.append(ids, passes > 0);
    const DecodeSession::StepResult r = session.attend(ids);
    const SystemSnapshot y = system_snapshot(sys);
    const double ns = (w.end_ns - w.start_ns) + (r.end_ns - r.start_ns);
    const DeviceStepCost p = cost_between(x, y, r.host_flops, pj_per_flop, mult);
    sum.ns += ns * mult;
    sum.link_bytes += p.link_bytes;
    sum.energy += p.energy;
    simulated_ns += ns;
    x = y;
    ++passes;
  } while (passes < max_passes && simulated_ns < kLayerSampleNs);
  sum.ns /= passes;
  sum.link_bytes /= passes;
  sum.energy = sum.energy.scaled(1.0 / passes);
  return sum;
}

void default_grid(const kernels::ModelShape& m, std::vector<uint32_t>& batches, std::vector<uint32_t>& contexts) {
  // Sparse on purpose: the VP's step time and energy are linear in the
  // batch (the sequences' attention runs one after another) and close to
  // affine in the context (docs/SERVING_CALIBRATION.md gives the measured
  // interpolation errors), and each point costs wall time in proportion to
  // batch x context.
  batches = {1, 4};
  const uint32_t top = std::max<uint32_t>(m.max_context_tokens, 16);
  // 16 tokens (one KV block) too: a serving sequence's share on a device
  // can be that small (the first block that spilled), and below 1K a step
  // is mostly fixed costs that a line through 1K and beyond misses (pnm
  // on Llama-3.1-8B: 6.8% at 16 tokens without this point).
  contexts = {16, std::min<uint32_t>(1024, top / 16), std::max<uint32_t>(top / 8, std::min<uint32_t>(1024, top / 16) + 1),
              top};
  std::sort(contexts.begin(), contexts.end());
  contexts.erase(std::unique(contexts.begin(), contexts.end()), contexts.end());
}

CalibratedDeviceCost calibrate(const CalibrateConfig& cfg) {
  const auto wall0 = std::chrono::steady_clock::now();
  const SystemConfig sysc = select_system(cfg.system, "");
  const kernels::ModelShape m = kernels::load_model_shape(cfg.model);
  std::vector<uint32_t> batches = cfg.batches, contexts = cfg.contexts;
  if (batches.empty() || contexts.empty()) {
    std::vector<uint32_t> db, dc;
    default_grid(m, db, dc);
    if (batches.empty()) batches = db;
    if (contexts.empty()) contexts = dc;
  }
  // Top-k kernels change slope where the context passes k (below it they
  // keep every token): k and x2 steps above it are grid contexts, since
  // above k their cost bends (the host or the engine reads the union of
  // the heads' selections, which saturates).
  if (uses_topk(cfg.kernel) && cfg.contexts.empty()) {
    const uint32_t lo = contexts.front(), hi = contexts.back();
    for (uint64_t c = cfg.topk; c < hi; c *= 2)
      if (c > lo) contexts.push_back(static_cast<uint32_t>(c));
  }
  std::sort(batches.begin(), batches.end());
  batches.erase(std::unique(batches.begin(), batches.end()), batches.end());
  std::sort(contexts.begin(), contexts.end());
  contexts.erase(std::unique(contexts.begin(), contexts.end()), contexts.end());
  if (batches.size() < 2 || contexts.size() < 2)
    throw std::invalid_argument("calibrate: the grid needs at least two batch sizes (--batch) and two contexts (--context)");
  if (batches.front() < 1 || batches.back() > 4095)
    throw std::invalid_argument(fmt::format("calibrate: --batch sizes must be in [1, 4095] (the job queue), got {}..{}",
                                            batches.front(), batches.back()));
  if (contexts.front() < 2 || contexts.back() > (1u << 24) - 1)
    throw std::invalid_argument(fmt::format("calibrate: --context values must be in [2, {}], got {}..{}", (1u << 24) - 1,
                                            contexts.front(), contexts.back()));
  const uint32_t topk = uses_topk(cfg.kernel) ? cfg.topk : 0;
  if (uses_topk(cfg.kernel) && (topk < 1 || topk > (1u << 24)))
    throw std::invalid_argument(fmt::format("calibrate: --topk {} is outside [1, {}]", topk, 1u << 24));
  if (cfg.bulk_bytes < 1024 || cfg.bulk_bytes > (1ull << 32))
    throw std::invalid_argument(fmt::format("calibrate: bulk bytes {} outside [1 KiB, 4 GiB]", cfg.bulk_bytes));

  DecodeSession session(session_config(cfg.system, m, cfg.kernel, cfg.topk, batches.back()));
  HostSystem& sys = session.system();
  const double pj_per_flop = session.host_config().pj_per_flop;

  // Bulk rates first (the device idle, as between a prefill's layers).
  auto bulk = [&](bool write) {
    const SystemSnapshot a = system_snapshot(sys);
    session.bulk_transfer(write, cfg.bulk_bytes);
    const SystemSnapshot b = system_snapshot(sys);
    const double bytes = double((cfg.bulk_bytes + 1023) / 1024 * 1024);
    const DeviceStepCost c = cost_between(a, b, 0, pj_per_flop, 1.0);
    CalibratedDeviceCost::Bulk r;
    r.gbps = bytes / c.ns;
    r.link_bytes_per_byte = c.link_bytes / bytes;
    r.pj_per_byte = c.energy.scaled(1.0 / bytes);
    if (!(r.gbps > 0) || !std::isfinite(r.gbps))
      throw std::runtime_error("calibrate: the bulk transfer took no simulated time");
    return r;
  };
  const CalibratedDeviceCost::Bulk bw = bulk(true), br = bulk(false);
  if (cfg.progress)
    cfg.progress(fmt::format("calibrate: bulk write {:.2f} GB/s, read {:.2f} GB/s ({} KiB each)", bw.gbps, br.gbps,
                                cfg.bulk_bytes / 1024));

  std::vector<CalibratedDeviceCost::Point> grid;
  size_t n = 0;
  for (uint32_t b : batches)
    for (uint32_t c : contexts) {
      const auto t0 = std::chrono::steady_clock::now();
      std::vector<DecodeSession::SeqId> ids;
      for (uint32_t i = 0; i < b; ++i) ids.push_back(session.admit(c - 1, c + 1));
      session.step(ids); // warm-up: to `c` tokens, rows and queues as in steady decode
      CalibratedDeviceCost::Point p;
      p.batch = b;
      p.context = c;
      p.cost = sampled_step(session, ids);
      for (DecodeSession::SeqId id : ids) session.release(id);
      grid.push_back(p);
      ++n;
      if (cfg.progress)
        cfg.progress(fmt::format("calibrate: point {}/{}: batch {} context {}: step {:.1f} us simulated, {:.2f} s wall",
                                    n, batches.size() * contexts.size(), b, c, p.cost.ns / 1e3, wall_since(t0)));
    }
  CalibrationIdentity id{sysc.name, system_hash(sysc), m.name, m.layers, kernels::kernel_name(cfg.kernel), topk};
  CalibratedDeviceCost cal(id, std::move(grid), bw, br);
  cal.vp_version = version_string();
  cal.vp_commit = git_commit();
  cal.created = utc_now();
  cal.layers_simulated = session.config().layers_simulated;
  cal.wall_s = wall_since(wall0);
  return cal;
}

std::string default_calibration_path(const std::string& system_name, const std::string& model_name, Kernel kernel,
                                     uint32_t topk) {
  std::string dir;
  if (const char* x = std::getenv("XDG_CACHE_HOME"); x && *x) dir = std::string(x) + "/pnmvp";
  else if (const char* h = std::getenv("HOME"); h && *h) dir = std::string(h) + "/.cache/pnmvp";
  else throw std::runtime_error("calibration cache: neither XDG_CACHE_HOME nor HOME is set; give the file with --out");
  std::string file = fmt::format("calibration-{}-{}-{}", system_name, model_name, kernels::kernel_name(kernel));
  if (uses_topk(kernel)) file += fmt::format("-topk{}", topk);
  for (char& ch : file)
    if (ch == '/' || ch == ' ') ch = '_';
  return dir + "/" + file + ".json";
}

const CalibratedDeviceCost& calibration_for(const std::string& system, const std::string& model, Kernel kernel,
                                            uint32_t topk, const std::string& path_or_empty,
                                            const std::function<void(const std::string&)>& progress) {
  static std::mutex mu;
  static std::map<std::string, std::unique_ptr<CalibratedDeviceCost>> cache;
  const SystemConfig sysc = select_system(system, "");
  const kernels::ModelShape m = kernels::load_model_shape(model);
  const uint32_t k_topk = uses_topk(kernel) ? topk : 0;
  const std::string hash = system_hash(sysc);
  const std::string path = path_or_empty.empty() ? default_calibration_path(sysc.name, m.name, kernel, k_topk)
                                                 : path_or_empty;
  std::lock_guard<std::mutex> lock(mu);
  auto identity_fits = [&](const CalibratedDeviceCost& c) {
    return c.matches(sysc.name, hash, m.name, kernels::kernel_name(kernel), k_topk) && c.identity().layers == m.layers;
  };
  // A calibration measures the VP: another build may cost steps differently.
  auto same_vp = [](const CalibratedDeviceCost& c) {
    return c.vp_version == version_string() && c.vp_commit == git_commit();
  };
  auto fits = [&](const CalibratedDeviceCost& c) { return identity_fits(c) && same_vp(c); };
  auto difference = [&](const CalibratedDeviceCost& c) {
    if (!identity_fits(c))
      return fmt::format("is for {} / {} / {} (topk {}), not {} / {} / {} (topk {})", c.identity().system,
                         c.identity().model, c.identity().kernel, c.identity().topk, sysc.name, m.name,
                         kernels::kernel_name(kernel), k_topk);
    return fmt::format("was made by VP {}, not by this build ({})", c.vp_version, version_string());
  };
  if (auto it = cache.find(path); it != cache.end() && fits(*it->second)) return *it->second;
  const bool users_file = !path_or_empty.empty();
  struct stat st {};
  if (::stat(path.c_str(), &st) == 0 && (users_file || is_calibration_file(path))) {
    auto c = std::make_unique<CalibratedDeviceCost>(CalibratedDeviceCost::load(path)); // names the file if bad
    if (fits(*c)) return *(cache[path] = std::move(c));
    if (users_file)
      throw std::invalid_argument(fmt::format("calibration {} {}: make a new one with `pnmvp calibrate --system {} "
                                              "--model {} --kernel {}{} --out FILE`, or leave out the file to use "
                                              "(and fill) the cache",
                                              path, difference(*c), sysc.name, m.name, kernels::kernel_name(kernel),
                                              k_topk ? fmt::format(" --topk {}", k_topk) : ""));
    say(progress, fmt::format("calibration {} {}: measuring anew", path, difference(*c)));
  }
  say(progress, fmt::format("calibrating {} / {} / {}{} on the VP (saved to {})", sysc.name, m.name,
                            kernels::kernel_name(kernel), k_topk ? fmt::format(" topk {}", k_topk) : "", path));
  CalibrateConfig cc;
  cc.system = system;
  cc.model = model;
  cc.kernel = kernel;
  cc.topk = topk;
  cc.progress = progress;
  auto c = std::make_unique<CalibratedDeviceCost>(calibrate(cc));
  std::filesystem::create_directories(std::filesystem::path(path).parent_path().empty()
                                          ? std::filesystem::path(".")
                                          : std::filesystem::path(path).parent_path());
  c->save(path);
  say(progress, fmt::format("calibration done in {:.1f} s wall", c->wall_s));
  return *(cache[path] = std::move(c));
}

// ---- the detailed device ------------------------------------------------------

DetailedDevice::DetailedDevice(const std::string& system, const kernels::ModelShape& model, Kernel kernel,
                               uint32_t topk)
    : session_(std::make_unique<DecodeSession>(session_config(system, model, kernel, topk, 1023))) {
  // One step before the first one that counts, as every calibration point
  // has: a device fresh from boot has not yet reached steady state (its
  // first refresh is still ahead), and its first step would be up to 13%
  // faster than every later one.
  const DecodeSession::SeqId w = session_->admit(255, 257);
  session_->step({w});
  session_->release(w);
}

DecodeSession::SeqId DetailedDevice::seq(uint64_t request_id, const char* what) const {
  auto it = ids_.find(request_id);
  if (it == ids_.end()) throw std::invalid_argument(fmt::format("detailed device: {}: request {} is not on the device",
                                                                what, request_id));
  return it->second;
}

void DetailedDevice::admit(uint64_t request_id, uint32_t tokens, uint32_t reserve_tokens) {
  if (ids_.count(request_id))
    throw std::invalid_argument(fmt::format("detailed device: request {} is already on the device", request_id));
  ids_[request_id] = session_->admit(tokens, reserve_tokens);
}

void DetailedDevice::grow(uint64_t request_id, uint32_t tokens) { session_->advance(seq(request_id, "grow"), tokens); }

DeviceStepCost DetailedDevice::step(const std::vector<uint64_t>& request_ids) {
  std::vector<DecodeSession::SeqId> batch;
  for (uint64_t r : request_ids) batch.push_back(seq(r, "step"));
  return sampled_step(*session_, batch);
}

DeviceStepCost DetailedDevice::bulk(bool write, uint64_t bytes) {
  if (!bytes) return {};
  const SystemSnapshot a = system_snapshot(session_->system());
  session_->bulk_transfer(write, bytes);
  const SystemSnapshot b = system_snapshot(session_->system());
  return cost_between(a, b, 0, 0, 1.0); // `bytes` are already all layers'
}

DeviceStepCost DetailedDevice::write_kv(uint64_t bytes) { return bulk(true, bytes); }
DeviceStepCost DetailedDevice::read_kv(uint64_t bytes) { return bulk(false, bytes); }

void DetailedDevice::release(uint64_t request_id) {
  session_->release(seq(request_id, "release"));
  ids_.erase(request_id);
}

uint32_t DetailedDevice::context(uint64_t request_id) const { return session_->context(seq(request_id, "context")); }

// ---- calibrated against detailed --------------------------------------------------

std::vector<CheckPoint> check_calibration(const CalibratedDeviceCost& cal, const std::string& system,
                                          const kernels::ModelShape& model, Kernel kernel, uint32_t topk,
                                          unsigned batches, uint64_t seed,
                                          const std::function<void(const std::string&)>& progress) {
  DetailedDevice dev(system, model, kernel, topk);
  std::mt19937_64 rng(seed);
  std::uniform_int_distribution<uint32_t> nb(cal.batches().front(), cal.batches().back());
  std::uniform_int_distribution<uint32_t> nc(cal.contexts().front(), cal.contexts().back());
  auto err = [](double x, double ref) { return ref > 0 ? (x - ref) / ref : (x > 0 ? 1.0 : 0.0); };
  std::vector<CheckPoint> out;
  uint64_t next = 1;
  for (unsigned i = 0; i < batches; ++i) {
    const auto t0 = std::chrono::steady_clock::now();
    CheckPoint p;
    const uint32_t b = nb(rng);
    std::vector<uint64_t> ids;
    for (uint32_t s = 0; s < b; ++s) {
      const uint32_t c = nc(rng);
      p.contexts.push_back(c);
      ids.push_back(next);
      dev.admit(next++, c - 1, c + 1);
    }
    dev.step(ids); // warm-up, to the drawn contexts
    p.detailed = dev.step(ids);
    for (uint64_t id : ids) dev.release(id);
    p.calibrated = cal.step(p.contexts);
    p.ns_error = err(p.calibrated.ns, p.detailed.ns);
    p.energy_error = err(p.calibrated.energy.total(), p.detailed.energy.total());
    p.link_error = err(p.calibrated.link_bytes, p.detailed.link_bytes);
    double mean = 0;
    for (uint32_t c : p.contexts) mean += c;
    mean /= double(p.contexts.size());
    if (progress)
      progress(fmt::format("check {}/{}: batch {} mean context {:.0f}: time {:+.2f}%, energy {:+.2f}%, link bytes "
                           "{:+.2f}%, {:.2f} s wall",
                           i + 1, batches, b, mean, 100 * p.ns_error, 100 * p.energy_error, 100 * p.link_error,
                           wall_since(t0)));
    out.push_back(std::move(p));
  }
  return out;
}

} // namespace pnm::serving
