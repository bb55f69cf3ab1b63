#include "decode_session.h"

#include "common/log.h"
#include "common/sanitizer.h"
#include "host_system.h"
#include "pnmvp/hw/device_map.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <stdexcept>
#include "common/sim_kernel.h"

namespace pnm {

namespace {
constexpr uint64_t kLine = 64;
constexpr uint64_t kGranule = 2ull << 20; // tenant granule (pnm_tenants.h)
} // namespace

// The driver's objects, made and destroyed in the host's thread (they talk
// to the device).
struct DecodeSession::Driver {
  Driver(sw::Backend& b, uint64_t tenant_bytes, uint32_t queue_entries)
      : dev(b), tenant(dev, 1, 0, tenant_bytes), queue(tenant, queue_entries) {}
  sw::Device dev;
  sw::Tenant tenant;
  sw::Queue queue;
};

// One device's share of a sequence: its rows (per simulated layer, K and V
// [kv_heads][stride][d] and the job buffers) in one extent of that device's
// tenant, and (functional runs that verify) the host's copy of its K and V,
// strided as on the device. On the sequence's root device of a split, the
// extent also holds the merge buffers per layer.
struct DecodeSession::Part {
  unsigned dev = 0;
  uint64_t extent = 0, extent_bytes = 0;
  uint32_t context = 0, reserve = 0, stride = 0; // stride >= reserve: rows between KV heads
  std::vector<kernels::LayerKv> layers;
  std::vector<std::vector<uint16_t>> k, v; // per layer: [kv_heads][reserve][d] BF16 bits
};

struct DecodeSession::Seq {
  std::vector<Part> parts; // one per device, in device order
  uint32_t context = 0, reserve = 0;
  unsigned root = 0;                           // split: the device that merges
  unsigned last = 0;                           // the part the last token went to
  std::vector<kernels::SplitLayer> split;      // split: per layer, the merge buffers on the root
  Part& grows() { // the part the next token goes to: the fewest rows, first on a tie
    return *std::min_element(parts.begin(), parts.end(),
                             [](const Part& a, const Part& b) { return a.context < b.context; });
  }
};

DecodeSession::DecodeSession(const DecodeSessionConfig& cfg)
    : cfg_(cfg), sysc_(select_system(cfg.system, cfg.platform)), rng_(cfg.seed) {
  PlatformConfig& pc = sysc_.devices.front().platform; // the session runs on the system's first device
  if (!pc.cxl.present || !pc.has_engine || !pc.controller.present)
    throw ConfigError(fmt::format("{}: a decode session needs a device with \"cxl\", \"engine\" and \"controller\" "
                                  "sections (as pnm-ref.json)", pc.file));
  const kernels::ModelShape& m = cfg.model;
  if (m.precision != kernels::ModelShape::KvPrecision::bf16)
    throw std::invalid_argument(fmt::format("model {}: only BF16 KV caches are supported by the kernels", m.name));
  if (cfg.layers_simulated < 1 || cfg.layers_simulated > m.layers)
    throw std::invalid_argument(fmt::format("layers simulated {} is outside [1, {}] (model {})", cfg.layers_simulated,
                                            m.layers, m.name));
  if (!cfg.datapath.empty()) pc.datapath = cfg.datapath == "model" ? "twin" : cfg.datapath;
  if (!cfg.vcd_path.empty()) {
    pc.datapath = "rtl";
    pc.datapath_vcd = cfg.vcd_path;
  }
  if (cfg.queue_entries < 4 || cfg.queue_entries > 4096 || (cfg.queue_entries & (cfg.queue_entries - 1)))
    throw std::invalid_argument(fmt::format("queue entries {} must be a power of two in [4, 4096]", cfg.queue_entries));
  if (m.head_dim % pc.datapath_lanes)
    throw std::invalid_argument(fmt::format("model {}: head_dim {} is not a multiple of the datapath's {} lanes",
                                            m.name, m.head_dim, pc.datapath_lanes));
  sc_.kernel = cfg.kernel;
  sc_.shape = {m.query_heads, m.kv_heads, m.head_dim, 0, 1.0 / std::sqrt(double(m.head_dim))};
  sc_.topk = cfg.topk;
  sc_.page_tokens = cfg.page_tokens;
  sc_.functional = cfg.functional;
  const HostConfig& hc = host_config();
  sc_.host = {hc.attention_gflops, hc.pj_per_flop, hc.kernel_lines_in_flight()};

  pnm::fresh_sim_kernel();
  kernel_ = sc_core::sc_curr_simcontext;
  wake_ = std::make_unique<sc_core::sc_event>("decode_session_wake");
  sys_ = std::make_unique<HostSystem>(sysc_);
  System& system = sys_->system();
  const std::vector<size_t> mine = system.devices_of(0);
  const unsigned n = cfg.devices ? cfg.devices : static_cast<unsigned>(mine.size());
  if (n < 1 || n > mine.size() || n > PNM_JOB_MERGE_MAX_PARTS)
    throw std::invalid_argument(fmt::format("--devices {}: system {} gives its first host {} device(s); use 1..{}", n,
                                            sysc_.name, mine.size(), std::min<size_t>(mine.size(), PNM_JOB_MERGE_MAX_PARTS)));
  if (n > 1 && cfg.kernel != kernels::Kernel::pnm_dense)
    throw std::invalid_argument(fmt::format("--devices {}: attention split over devices runs pnm-dense, not {} (a "
                                            "top-k over each device's rows is not the sequence's top-k)",
                                            n, kernels::kernel_name(cfg.kernel)));
  if (n > 1 && cfg.merge == kernels::Merge::p2p)
    for (unsigned i = 0; i < n; ++i)
      if (!system.fabric() || !system_fabric(sysc_).device_behind_switch.at(mine[i]))
        throw std::invalid_argument(fmt::format("--merge p2p: device {} of system {} is not behind a switch (peer-to-"
                                                "peer needs one: a switch-xN system)",
                                                sysc_.devices.at(mine[i]).name, sysc_.name));
  for (unsigned i = 0; i < n; ++i) {
    PnmDevice& dev = system.device(mine[i]);
    if (!dev.engine || !dev.controller)
      throw ConfigError(fmt::format("{}: device {} has no engine or controller", sysc_.file, sysc_.devices[mine[i]].name));
    if (!cfg.functional) dev.engine->set_mode(engine::Mode::timing_only);
  }
  sys_->host.set_program([this](sw::Backend& b) { serve(b); });
  // Boot, then on each device the tenant over all of its memory the
  // firmware does not reserve, and one queue; the rest of each tenant is
  // the sequences'.
  work_ = [this, mine, n](sw::Backend&) {
    free_.resize(n);
    for (unsigned i = 0; i < n; ++i) {
      PnmDevice& dev = sys_->system().device(mine[i]);
      sw::Backend& b = sys_->system().port(mine[i]);
      const uint64_t tenant_bytes = (dev.capacity_bytes() - PNM_FW_RESERVED_BYTES) / kGranule * kGranule;
      drv_.push_back(std::make_unique<Driver>(b, tenant_bytes, cfg_.queue_entries));
      Driver& d = *drv_.back();
      const uint64_t left = d.tenant.bytes() - d.tenant.used_bytes();
      const sw::Buffer all = d.tenant.alloc(left / kLine * kLine, kLine);
      free_[i][all.dpa] = left / kLine * kLine;
    }
    // The sequences' work starts with the firmware idle: it may still be
    // finishing set-up commands it has already answered.
    for (unsigned i = 0; i < n; ++i)
      while (!sys_->system().device(mine[i]).controller->asleep()) sys_->system().port(mine[i]).sleep_ns(100);
  };
  sc_core::sc_start();
  sanitizer_back_on_main_stack();
  if (failure_) std::rethrow_exception(failure_);
  if (!serving_) throw std::runtime_error("decode session: the host program did not start");
}

DecodeSession::~DecodeSession() {
  if (!serving_) return;
  try {
    quit_ = true;
    call([this](sw::Backend&) {
      for (auto& d : drv_) {
        d->queue.close();
        d->tenant.release();
      }
      drv_.clear();
    });
  } catch (const std::exception& e) {
    log::warn("session", "closing the session: {}", e.what());
  }
}

const HostConfig& DecodeSession::host_config() const { return sysc_.hosts.at(sysc_.devices.front().host); }

double DecodeSession::now_ns() const { return kernel_->time_stamp().to_seconds() * 1e9; }

void DecodeSession::serve(sw::Backend& b) {
  serving_ = true;
  for (;;) {
    if (work_) {
      try {
        work_(b);
      } catch (...) {
        failure_ = std::current_exception();
      }
      work_ = nullptr;
    }
    if (quit_) {
      serving_ = false;
      return; // the host program ends: the simulation stops
    }
    sc_core::sc_pause(); // the kernel pauses at the end of this delta; time stays
    sc_core::wait(*wake_);
  }
}

void DecodeSession::call(const std::function<void(sw::Backend&)>& work) {
  if (!serving_) throw std::logic_error("decode session: the simulation has ended");
  // Several sessions may be open: this one's kernel is current while it runs.
  struct Current {
    sc_core::sc_simcontext* prev;
    explicit Current(sc_core::sc_simcontext* k) : prev(sc_core::sc_curr_simcontext) {
      sc_core::sc_curr_simcontext = sc_core::sc_default_global_context = k;
    }
    ~Current() { sc_core::sc_curr_simcontext = sc_core::sc_default_global_context = prev; }
  } current(kernel_);
  work_ = work;
  failure_ = nullptr;
  wake_->notify(sc_core::SC_ZERO_TIME);
  sc_core::sc_start();
  sanitizer_back_on_main_stack();
  if (failure_) std::rethrow_exception(failure_);
  if (work_) throw std::runtime_error("decode session: the host program did not run (simulation starved)");
}

uint64_t DecodeSession::free_bytes() const {
  uint64_t n = 0;
  for (const auto& dev : free_)
    for (const auto& [dpa, bytes] : dev) n += bytes;
  return n;
}

uint64_t DecodeSession::take_extent(unsigned dev, uint64_t bytes) {
  std::map<uint64_t, uint64_t>& free = free_.at(dev);
  for (auto it = free.begin(); it != free.end(); ++it) {
    if (it->second < bytes) continue;
    const uint64_t dpa = it->first, left = it->second - bytes;
    free.erase(it);
    if (left) free[dpa + bytes] = left;
    return dpa;
  }
  uint64_t here = 0;
  for (const auto& [dpa, n] : free) here += n;
  throw std::length_error(fmt::format("decode session: no {:.1f} MiB extent left in device {}'s memory ({:.1f} MiB "
                                      "free there): release sequences or reserve fewer tokens",
                                      bytes / double(1 << 20), dev, here / double(1 << 20)));
}

void DecodeSession::free_extent(unsigned dev, uint64_t dpa, uint64_t bytes) {
  std::map<uint64_t, uint64_t>& free = free_.at(dev);
  auto it = free.emplace(dpa, bytes).first;
  // Coalesce with the neighbours.
  if (auto nx = std::next(it); nx != free.end() && dpa + it->second == nx->first) {
    it->second += nx->second;
    free.erase(nx);
  }
  if (it != free.begin()) {
    auto pv = std::prev(it);
    if (pv->first + pv->second == it->first) {
      pv->second += it->second;
      free.erase(it);
    }
  }
}

DecodeSession::SeqId DecodeSession::admit(uint32_t prompt_tokens, uint32_t reserve_tokens) {
  const unsigned D = devices();
  if (prompt_tokens < D || reserve_tokens < prompt_tokens || reserve_tokens > (1u << 24))
    throw std::invalid_argument(fmt::format("admit: prompt {} and reserve {} tokens must satisfy {} <= prompt <= "
                                            "reserve <= {} (the engine's longest sequence{})",
                                            prompt_tokens, reserve_tokens, D, 1u << 24,
                                            D > 1 ? ", and a row on each device" : ""));
  const kernels::ModelShape& m = cfg_.model;
  const uint64_t row = uint64_t{m.head_dim} * 2;
  const uint64_t part_bytes = kernels::partial_bytes(sc_.shape);
  auto s = std::make_unique<Seq>();
  s->context = prompt_tokens;
  s->reserve = reserve_tokens;
  s->root = (next_id_ - 1) % D;
  std::normal_distribution<float> nd(0.0f, 1.0f);
  try {
    for (unsigned p = 0; p < D; ++p) {
      Part part;
      part.dev = p;
      part.context = static_cast<uint32_t>(uint64_t{prompt_tokens} * (p + 1) / D - uint64_t{prompt_tokens} * p / D);
      // Appends fill the part with the fewest rows, so none outgrows this.
      part.reserve = (reserve_tokens + D - 1) / D;
      // KV heads sit `stride` rows apart: the reservation rounded up to an
      // odd number of 256-row blocks (64 KiB each at head_dim 128), plus one
      // row, so heads are never a power of two of bytes apart, where the
      // same token of every head would share a channel and bank and a
      // gather's reads would conflict. An even block count aliases too:
      // pnm-select at 11K tokens takes 35 ms per step with 44 or 46 blocks,
      // 21 ms with 45 or 47 (and the calibration grid's powers of two always
      // gave odd counts, so the calibrated table was up to 40% too fast on
      // other contexts). See docs/WORKLOAD.md, "KV layout".
      const uint32_t blocks = ((part.reserve + 255u) / 256u) | 1u;
      part.stride = std::min<uint32_t>(1u << 24, blocks * 256u + 1u);
      kernels::AttentionShape shape = sc_.shape;
      shape.seq_len = part.stride;
      const kernels::LayerSizes z = kernels::layer_sizes(shape, sc_.topk);
      // Split: O holds the partial (O and LSE); the root adds its merge
      // buffers (every part's partial, the flag lines, the merged O).
      const uint64_t o_bytes = D > 1 ? part_bytes : z.o;
      const uint64_t per_layer = 2 * z.kv + z.q + o_bytes + z.idx;
      const uint64_t merge_bytes = D > 1 && p == s->root ? D * part_bytes + (D - 1) * kLine + z.o : 0;
      part.extent_bytes = (per_layer + merge_bytes) * cfg_.layers_simulated;
      part.extent = take_extent(p, part.extent_bytes);
      uint64_t at = part.extent;
      for (unsigned l = 0; l < cfg_.layers_simulated; ++l) {
        kernels::LayerKv kv;
        kv.k_dpa = at;
        kv.v_dpa = at + z.kv;
        kv.q_dpa = kv.v_dpa + z.kv;
        kv.o_dpa = kv.q_dpa + z.q;
        kv.idx_dpa = kv.o_dpa + o_bytes;
        at += per_layer;
        kv.seq_len = part.context;
        kv.kv_stride = part.stride;
        part.layers.push_back(kv);
        if (D > 1) {
          if (s->split.size() <= l) s->split.resize(l + 1);
          if (p == s->root) {
            kernels::SplitLayer& sl = s->split[l];
            sl.root = s->root;
            sl.merge_parts_dpa = at;
            sl.merge_flags_dpa = at + D * part_bytes;
            sl.merge_out_dpa = sl.merge_flags_dpa + (D - 1) * kLine;
            at += merge_bytes;
          }
        }
        if (!cfg_.functional) continue;
        // The KV cache as prefill left it: written straight into device
        // memory (a backdoor: it is set-up, not part of the decode steps).
        PnmDevice& dev = sys_->system().device(sys_->system().devices_of(0).at(p));
        for (int which = 0; which < 2; ++which) {
          std::vector<uint16_t> raw(uint64_t{m.kv_heads} * part.stride * m.head_dim, 0);
          for (unsigned h = 0; h < m.kv_heads; ++h)
            for (uint64_t e = 0; e < uint64_t{part.context} * m.head_dim; ++e)
              raw[uint64_t{h} * part.stride * m.head_dim + e] = kernels::to_bf16(nd(rng_));
          const uint64_t base = which ? kv.v_dpa : kv.k_dpa;
          for (unsigned h = 0; h < m.kv_heads; ++h)
            dev.dram.store().write(base + uint64_t{h} * part.stride * row,
                                   reinterpret_cast<const uint8_t*>(raw.data() + uint64_t{h} * part.stride * m.head_dim),
                                   uint64_t{part.context} * row);
          if (cfg_.verify) (which ? part.v : part.k).push_back(std::move(raw));
        }
      }
      s->parts.push_back(std::move(part));
    }
  } catch (...) {
    for (const Part& part : s->parts) free_extent(part.dev, part.extent, part.extent_bytes);
    throw;
  }
  const SeqId id = next_id_++;
  seqs_[id] = std::move(s);
  return id;
}

void DecodeSession::release(SeqId id) {
  auto it = seqs_.find(id);
  if (it == seqs_.end()) throw std::invalid_argument(fmt::format("release: no sequence {}", id));
  for (const Part& part : it->second->parts) free_extent(part.dev, part.extent, part.extent_bytes);
  seqs_.erase(it);
}

void DecodeSession::advance(SeqId id, uint32_t tokens) {
  if (cfg_.functional)
    throw std::logic_error("advance: only timing-only sessions can grow a context without simulating it");
  auto it = seqs_.find(id);
  if (it == seqs_.end()) throw std::invalid_argument(fmt::format("advance: no sequence {}", id));
  Seq& s = *it->second;
  if (uint64_t{s.context} + tokens > s.reserve)
    throw std::length_error(fmt::format("advance: sequence {} at {} tokens cannot grow by {} beyond the {} it reserved",
                                        id, s.context, tokens, s.reserve));
  for (uint32_t t = 0; t < tokens; ++t) ++s.grows().context;
  s.context += tokens;
  for (Part& part : s.parts)
    for (kernels::LayerKv& kv : part.layers) kv.seq_len = part.context;
}

double DecodeSession::bulk_transfer(bool write, uint64_t bytes) {
  // Whole KiB: the host streams 1 KiB blocks (a line per channel), each one
  // access as a copy engine's burst (the GPU's KV copy is a DMA, not a
  // core's line fills): with 16 lines an access the same lines in flight
  // give the line-per-access bandwidth within 1% (44.2 against 43.9 GB/s
  // written, reads equal) at a third of the wall time.
  constexpr unsigned kLinesPerAccess = 16;
  const uint64_t lines = std::max<uint64_t>(1, (bytes + 1023) / 1024) * (1024 / kLine);
  // Device 0's memory: a split sequence's prefill and prefix copies are
  // costed as one stream to one device (the host port is the bottleneck
  // either way).
  const uint64_t dpa = take_extent(0, lines * kLine);
  double ns = 0;
  try {
    call([&](sw::Backend& b) {
      const double t0 = b.now_ns();
      const HostBridge::MixCount n = sys_->host.mem_stream_lines(drv_.front()->dev.hpa(dpa), lines, write ? 0 : 1, write ? 1 : 0,
                                                                  host_config().kernel_lines_in_flight(), kLinesPerAccess);
      if (!n.ok) throw std::runtime_error("bulk transfer: the device answered a CXL.mem access with an error");
      ns = b.now_ns() - t0;
    });
  } catch (...) {
    free_extent(0, dpa, lines * kLine);
    throw;
  }
  free_extent(0, dpa, lines * kLine);
  return ns;
}

uint32_t DecodeSession::context(SeqId id) const {
  auto it = seqs_.find(id);
  if (it == seqs_.end()) throw std::invalid_argument(fmt::format("no sequence {}", id));
  return it->second->context;
}

uint32_t DecodeSession::kv_stride(SeqId id) const {
  auto it = seqs_.find(id);
  if (it == seqs_.end()) throw std::invalid_argument(fmt::format("no sequence {}", id));
  return it->second->parts.front().stride;
}

void DecodeSession::append_tokens(Seq& s, bool grow) {
  // The new token's K and V rows, one per KV head, as the host computed
  // them, written over CXL.mem at the end of each head's rows on the device
  // that takes it.
  const kernels::ModelShape& m = cfg_.model;
  const uint64_t row = uint64_t{m.head_dim} * 2;
  std::normal_distribution<float> nd(0.0f, 1.0f);
  std::vector<uint16_t> bits(m.head_dim, 0);
  Part& part = grow ? s.grows() : s.parts.at(s.last);
  sw::Device& dev = drv_.at(part.dev)->dev;
  for (unsigned l = 0; l < cfg_.layers_simulated; ++l) {
    kernels::LayerKv& kv = part.layers[l];
    for (int which = 0; which < 2; ++which)
      for (unsigned h = 0; h < m.kv_heads; ++h) {
        const uint64_t off = (uint64_t{h} * part.stride + (grow ? part.context : part.context - 1)) * m.head_dim;
        if (cfg_.functional)
          for (uint16_t& x : bits) x = kernels::to_bf16(nd(rng_));
        if (cfg_.functional && cfg_.verify)
          std::copy(bits.begin(), bits.end(), (which ? part.v : part.k)[l].begin() + static_cast<std::ptrdiff_t>(off));
        dev.write((which ? kv.v_dpa : kv.k_dpa) + off * 2, bits.data(), row);
      }
    if (grow) kv.seq_len = part.context + 1;
  }
  if (grow) {
    ++part.context;
    ++s.context;
    s.last = part.dev;
  }
}

std::vector<DecodeSession::Seq*> DecodeSession::batch_of(const std::vector<SeqId>& batch, const char* what,
                                                         bool grows) {
  if (batch.empty()) throw std::invalid_argument(fmt::format("{}: empty batch", what));
  std::vector<Seq*> seqs;
  for (SeqId id : batch) {
    auto it = seqs_.find(id);
    if (it == seqs_.end()) throw std::invalid_argument(fmt::format("{}: no sequence {}", what, id));
    if (std::find(seqs.begin(), seqs.end(), it->second.get()) != seqs.end())
      throw std::invalid_argument(fmt::format("{}: sequence {} appears twice in the batch", what, id));
    if (grows && it->second->context >= it->second->reserve)
      throw std::length_error(fmt::format("{}: sequence {} has used all {} tokens it reserved at admission", what, id,
                                          it->second->reserve));
    seqs.push_back(it->second.get());
  }
  return seqs;
}

void DecodeSession::run_layers(const std::vector<Seq*>& seqs, sw::Backend& b, StepResult& res) {
  const kernels::ModelShape& m = cfg_.model;
  const unsigned D = devices();
  std::vector<kernels::SplitDevice> devs;
  for (auto& d : drv_) devs.push_back({&d->dev, &d->queue});
  std::normal_distribution<float> nd(0.0f, 1.0f);
  for (unsigned l = 0; l < cfg_.layers_simulated; ++l) {
    std::vector<std::vector<float>> queries(seqs.size(), std::vector<float>(uint64_t{m.query_heads} * m.head_dim, 0.0f));
    for (size_t i = 0; i < seqs.size(); ++i)
      if (cfg_.functional)
        for (float& x : queries[i]) x = kernels::from_bf16(kernels::to_bf16(nd(rng_)));
    const double t0 = b.now_ns();
    kernels::StepResult r;
    if (D == 1) {
      std::vector<kernels::LayerKv> layer;
      for (const Seq* s : seqs) layer.push_back(s->parts.front().layers[l]);
      r = kernels::run_step(drv_.front()->dev, drv_.front()->queue, sc_, layer, queries);
    } else {
      std::vector<kernels::SplitLayer> layer;
      for (const Seq* s : seqs) {
        kernels::SplitLayer sl = s->split.at(l);
        for (const Part& part : s->parts) sl.parts.push_back(part.layers[l]);
        layer.push_back(std::move(sl));
      }
      r = kernels::run_split_step(devs, sc_, cfg_.merge, ++epoch_, layer, queries);
    }
    res.host_flops += r.host_flops;
    res.rows_fetched += r.rows_fetched;
    res.jobs += r.jobs;
    if (on_layer) on_layer(l, t0, r);
    if (!cfg_.functional || !cfg_.verify) continue;
    for (size_t i = 0; i < seqs.size(); ++i) {
      const Seq& s = *seqs[i];
      kernels::AttentionShape shape = sc_.shape;
      shape.seq_len = s.context;
      // Packed copies of each head's rows, every part's in device order.
      std::vector<uint16_t> k, v;
      for (unsigned h = 0; h < m.kv_heads; ++h)
        for (const Part& part : s.parts) {
          const auto first = static_cast<std::ptrdiff_t>(uint64_t{h} * part.stride * m.head_dim);
          const auto n = static_cast<std::ptrdiff_t>(uint64_t{part.context} * m.head_dim);
          k.insert(k.end(), part.k[l].begin() + first, part.k[l].begin() + first + n);
          v.insert(v.end(), part.v[l].begin() + first, part.v[l].begin() + first + n);
        }
      const std::vector<double> q(queries[i].begin(), queries[i].end());
      const std::vector<double> ref = kernels::reference_output(sc_, shape, q, k, v);
      for (size_t e = 0; e < ref.size(); ++e) {
        res.max_abs_error = std::max(res.max_abs_error, std::abs(double(r.out[i][e]) - ref[e]));
        res.max_abs_reference = std::max(res.max_abs_reference, std::abs(ref[e]));
      }
      ++res.checked;
    }
  }
}

DecodeSession::StepResult DecodeSession::step(const std::vector<SeqId>& batch) {
  const std::vector<Seq*> seqs = batch_of(batch, "step", true);
  StepResult res;
  call([&](sw::Backend& b) {
    res.start_ns = b.now_ns();
    for (Seq* s : seqs) append_tokens(*s, true);
    run_layers(seqs, b, res);
    res.end_ns = b.now_ns();
  });
  return res;
}

DecodeSession::StepResult DecodeSession::append(const std::vector<SeqId>& batch, bool again) {
  if (again && cfg_.functional)
    throw std::logic_error("append again: only timing-only sessions (the rows' values would change under the "
                           "outputs already checked)");
  const std::vector<Seq*> seqs = batch_of(batch, again ? "append again" : "append", !again);
  StepResult res;
  call([&](sw::Backend& b) {
    res.start_ns = b.now_ns();
    for (Seq* s : seqs) append_tokens(*s, !again);
    res.end_ns = b.now_ns();
  });
  return res;
}

DecodeSession::StepResult DecodeSession::attend(const std::vector<SeqId>& batch) {
  const std::vector<Seq*> seqs = batch_of(batch, "attend", false);
  StepResult res;
  call([&](sw::Backend& b) {
    res.start_ns = b.now_ns();
    run_layers(seqs, b, res);
    res.end_ns = b.now_ns();
  });
  return res;
}

} // namespace pnm
