#include "kernels/decode_kernels.h"

#include <pnmvp/hw/engine_regs.h>

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <numeric>
#include <random>
#include <unordered_set>
#include <stdexcept>

namespace pnm::kernels {

const char* kernel_name(Kernel k) {
  switch (k) {
  case Kernel::host_fetch: return "host-fetch";
  case Kernel::pnm_dense: return "pnm-dense";
  case Kernel::pnm_topk: return "pnm-topk";
  case Kernel::pnm_select: return "pnm-select";
  }
  return "?";
}

std::vector<Kernel> all_kernels() {
  return {Kernel::host_fetch, Kernel::pnm_dense, Kernel::pnm_topk, Kernel::pnm_select};
}

Kernel parse_kernel(const std::string& name) {
  for (Kernel k : all_kernels())
    if (name == kernel_name(k)) return k;
  throw std::invalid_argument(
      fmt::format("unknown kernel '{}': one of host-fetch, pnm-dense, pnm-topk, pnm-select", name));
}

namespace {
constexpr uint64_t kLine = 64;
uint64_t up64(uint64_t x) { return (x + kLine - 1) / kLine * kLine; }

// Attention arithmetic for n rows of one head: scores 2nd, softmax 3n
// (subtract, exp, add), weighted sum 2nd, final divide d.
double head_flops(uint64_t n, unsigned d) { return 4.0 * n * d + 3.0 * n + d; }

// The step's shape with this sequence's own context length.
AttentionShape shape_of(const StepConfig& c, const LayerKv& l) {
  AttentionShape s = c.shape;
  if (l.seq_len) s.seq_len = l.seq_len;
  return s;
}
// Rows from one KV head to the next in device memory.
uint64_t stride_of(const AttentionShape& s, const LayerKv& l) { return l.kv_stride ? l.kv_stride : s.seq_len; }

} // namespace

pnm_job_desc_t make_job_desc(const StepConfig& c, const LayerKv& l) {
  const AttentionShape s = shape_of(c, l);
  pnm_job_desc_t j{};
  j.magic = PNM_JOB_MAGIC;
  j.version = PNM_JOB_VERSION;
  j.size_bytes = PNM_JOB_DESC_BYTES;
  j.precision = PNM_JOB_PREC_BF16;
  j.heads = static_cast<uint16_t>(s.heads);
  j.kv_heads = static_cast<uint16_t>(s.kv_heads);
  j.head_dim = static_cast<uint16_t>(s.head_dim);
  j.seq_len = s.seq_len;
  j.kv_stride = l.kv_stride;
  j.scale = static_cast<float>(s.scale);
  j.q_addr = l.q_dpa;
  j.k_addr = l.k_dpa;
  j.v_addr = l.v_dpa;
  j.o_addr = l.o_dpa;
  switch (c.kernel) {
  case Kernel::pnm_dense: j.opcode = PNM_JOB_OP_DENSE; break;
  case Kernel::pnm_topk:
    if (c.page_tokens) {
      j.opcode = PNM_JOB_OP_TOPK_PAGE;
      j.page_tokens = c.page_tokens;
      j.k = std::max<uint32_t>(1, c.topk / c.page_tokens);
    } else {
      j.opcode = PNM_JOB_OP_TOPK_TOKEN;
      j.k = c.topk;
    }
    break;
  case Kernel::pnm_select:
    j.opcode = PNM_JOB_OP_SELECT;
    j.k = c.topk;
    j.o_addr = 0;
    j.v_addr = 0;
    j.idx_addr = l.idx_dpa;
    break;
  case Kernel::host_fetch: throw std::logic_error("host-fetch submits no job");
  }
  return j;
}

namespace {

void write_queries(sw::Device& dev, const std::vector<LayerKv>& seqs,
                   const std::vector<std::vector<float>>& queries) {
  for (size_t i = 0; i < seqs.size(); ++i) {
    std::vector<uint16_t> raw(queries[i].size());
    for (size_t e = 0; e < raw.size(); ++e) raw[e] = to_bf16(queries[i][e]);
    dev.write(seqs[i].q_dpa, raw.data(), raw.size() * 2);
  }
}

// Submits one job per sequence (as many at a time as the queue holds) and
// collects their completions.
void run_jobs(sw::Queue& q, const StepConfig& c, const std::vector<LayerKv>& seqs, StepResult& r) {
  size_t next = 0, done = 0;
  while (done < seqs.size()) {
    while (next < seqs.size() && q.outstanding() + 1 < q.entries()) q.submit(make_job_desc(c, seqs[next++]), c.use_irq);
    const sw::Completion comp = q.wait(10e9, c.use_irq);
    if (!comp.ok())
      throw sw::DriverError(fmt::format("{} job {} failed: {}", kernel_name(c.kernel), comp.cid,
                                        sw::completion_status_name(comp.status)));
    ++done;
    ++r.jobs;
  }
}

void charge_host_compute(sw::Device& dev, const StepConfig& c, double flops, double overlapped_ns, StepResult& r) {
  r.host_flops += flops;
  const double ns = c.host.gflops > 0 ? flops / c.host.gflops : 0; // GFLOP/s = FLOP/ns
  r.host_compute_ns += ns;
  // The host computes while later data arrives: only what outlasts the transfers shows.
  if (ns > overlapped_ns) dev.backend().sleep_ns(ns - overlapped_ns);
}

void host_fetch(sw::Device& dev, const StepConfig& c, const std::vector<LayerKv>& seqs,
                const std::vector<std::vector<float>>& queries, StepResult& r) {
  sw::Backend& b = dev.backend();
  const double t0 = b.now_ns();
  std::vector<uint16_t> scratch(c.functional ? 0 : c.fetch_chunk_bytes / 2);
  double flops = 0;
  for (size_t i = 0; i < seqs.size(); ++i) {
    const AttentionShape s = shape_of(c, seqs[i]);
    const uint64_t head_bytes = uint64_t{s.seq_len} * s.head_dim * 2;
    const uint64_t kv_bytes = s.kv_heads * head_bytes;
    const uint64_t stride_bytes = stride_of(s, seqs[i]) * s.head_dim * 2;
    // Packed heads are one region; heads with room to grow, one each.
    const uint64_t region = stride_bytes == head_bytes ? kv_bytes : head_bytes;
    std::vector<uint16_t> k(c.functional ? kv_bytes / 2 : 0), v(k.size());
    std::vector<sw::Backend::MemSpan> spans;
    for (int which = 0; which < 2; ++which) {
      const uint64_t base = which ? seqs[i].v_dpa : seqs[i].k_dpa;
      uint16_t* dst = which ? v.data() : k.data();
      for (uint64_t r0 = 0; r0 < kv_bytes; r0 += region) {
        const uint64_t at = base + r0 / head_bytes * stride_bytes + r0 % head_bytes;
        for (uint64_t off = 0; off < region; off += c.fetch_chunk_bytes) {
          const uint64_t len = std::min<uint64_t>(c.fetch_chunk_bytes, region - off);
          spans.push_back({dev.hpa(at + off),
                           c.functional ? static_cast<void*>(reinterpret_cast<uint8_t*>(dst) + r0 + off)
                                        : static_cast<void*>(scratch.data()),
                           static_cast<size_t>(len)});
        }
      }
    }
    if (!b.mem_read_many(spans, c.host.lines_in_flight))
      throw sw::DriverError("host-fetch: a CXL.mem read of the KV cache failed");
    if (c.functional) {
      std::vector<double> q(queries[i].begin(), queries[i].end());
      const auto o = attention_dense(s, q, k, v);
      r.out.emplace_back(o.begin(), o.end());
    }
    flops += s.heads * head_flops(s.seq_len, s.head_dim);
  }
  charge_host_compute(dev, c, flops, b.now_ns() - t0, r);
}

void pnm_out(sw::Device& dev, const StepConfig& c, const std::vector<LayerKv>& seqs, StepResult& r) {
  const AttentionShape& s = c.shape; // heads and head_dim: the same for every sequence
  for (const LayerKv& l : seqs) {
    std::vector<float> o(uint64_t{s.heads} * s.head_dim);
    dev.read(l.o_dpa, o.data(), o.size() * 4);
    if (c.functional) r.out.push_back(std::move(o));
  }
}

void pnm_select(sw::Device& dev, const StepConfig& c, const std::vector<LayerKv>& seqs,
                const std::vector<std::vector<float>>& queries, StepResult& r) {
  const unsigned d = c.shape.head_dim;
  const uint64_t row = uint64_t{d} * 2;
  sw::Backend& b = dev.backend();
  for (size_t i = 0; i < seqs.size(); ++i) {
    const AttentionShape s = shape_of(c, seqs[i]);
    const uint32_t kk = std::min(c.topk, s.seq_len);
    const uint64_t stride = stride_of(s, seqs[i]);
    std::vector<uint32_t> idx(uint64_t{s.heads} * kk);
    dev.read(seqs[i].idx_dpa, idx.data(), idx.size() * 4);
    if (!c.functional) {
      // Timing-only: the engine computed no scores, so the indices it wrote
      // mean nothing. Stand in k distinct random tokens per query head (top-k
      // positions depend on the data), so the host fetches a realistic set.
      std::mt19937_64 rng(0x5e1ec7 + i);
      for (unsigned h = 0; h < s.heads; ++h) {
        std::vector<uint32_t> pick;
        if (kk * 2 >= s.seq_len) {
          pick.resize(s.seq_len);
          std::iota(pick.begin(), pick.end(), 0u);
          std::shuffle(pick.begin(), pick.end(), rng);
          pick.resize(kk);
        } else {
          std::unordered_set<uint32_t> seen;
          std::uniform_int_distribution<uint32_t> u(0, s.seq_len - 1);
          while (pick.size() < kk)
            if (uint32_t t = u(rng); seen.insert(t).second) pick.push_back(t);
        }
        std::sort(pick.begin(), pick.end());
        std::copy(pick.begin(), pick.end(), idx.begin() + uint64_t{h} * kk);
      }
    }
    const double t0 = b.now_ns();
    // Rows each KV head needs: the union of its query heads' selections.
    std::vector<std::vector<uint32_t>> need(s.kv_heads);
    for (unsigned h = 0; h < s.heads; ++h) {
      auto& n = need[h / s.group()];
      for (uint32_t x = 0; x < kk; ++x) {
        const uint32_t t = idx[uint64_t{h} * kk + x];
        if (t >= s.seq_len)
          throw sw::DriverError(fmt::format("pnm-select: device returned token {} of {}", t, s.seq_len));
        n.push_back(t);
      }
    }
    // Fetch every needed row of K and V as whole lines, many in flight; runs
    // of consecutive tokens are one read (their rows are contiguous).
    std::vector<sw::Backend::MemSpan> spans;
    std::vector<std::vector<uint8_t>> kbuf(s.kv_heads), vbuf(s.kv_heads);
    std::vector<std::vector<uint64_t>> pos(s.kv_heads); // byte offset of each needed row in kbuf/vbuf
    for (unsigned g = 0; g < s.kv_heads; ++g) {
      auto& n = need[g];
      std::sort(n.begin(), n.end());
      n.erase(std::unique(n.begin(), n.end()), n.end());
      pos[g].resize(n.size());
      uint64_t used = 0;
      std::vector<std::pair<uint64_t, uint64_t>> runs; // (first byte, end byte) within the head's K (or V)
      for (size_t x = 0; x < n.size();) {
        size_t y = x + 1;
        while (y < n.size() && n[y] == n[y - 1] + 1 && (y - x + 1) * row <= c.fetch_chunk_bytes) ++y;
        const uint64_t a = (g * stride + n[x]) * row, e = (g * stride + n[y - 1] + 1) * row;
        const uint64_t first = a & ~(kLine - 1), end = up64(e);
        for (size_t t = x; t < y; ++t) pos[g][t] = used + (a - first) + (t - x) * row;
        runs.emplace_back(first, end);
        used += end - first;
        x = y;
      }
      kbuf[g].resize(used);
      vbuf[g].resize(used);
      uint64_t off = 0;
      for (const auto& [first, end] : runs) {
        spans.push_back({dev.hpa(seqs[i].k_dpa + first), kbuf[g].data() + off, static_cast<size_t>(end - first)});
        spans.push_back({dev.hpa(seqs[i].v_dpa + first), vbuf[g].data() + off, static_cast<size_t>(end - first)});
        off += end - first;
      }
      r.rows_fetched += 2 * n.size();
    }
    if (!b.mem_read_many(spans, c.host.lines_in_flight))
      throw sw::DriverError("pnm-select: a CXL.mem read of a selected K/V row failed");
    double flops = s.heads * head_flops(kk, d);
    if (c.functional) {
      std::vector<double> out(uint64_t{s.heads} * d);
      for (unsigned h = 0; h < s.heads; ++h) {
        const unsigned g = h / s.group();
        const auto& n = need[g];
        std::vector<double> kr, vr;
        for (uint32_t x = 0; x < kk; ++x) {
          const uint32_t t = idx[uint64_t{h} * kk + x];
          const size_t at = static_cast<size_t>(std::lower_bound(n.begin(), n.end(), t) - n.begin());
          for (unsigned e = 0; e < d; ++e) {
            uint16_t kb, vb;
            std::memcpy(&kb, &kbuf[g][pos[g][at] + 2 * e], 2);
            std::memcpy(&vb, &vbuf[g][pos[g][at] + 2 * e], 2);
            kr.push_back(from_bf16(kb));
            vr.push_back(from_bf16(vb));
          }
        }
        std::vector<double> q(queries[i].begin() + uint64_t{h} * d, queries[i].begin() + uint64_t{h + 1} * d);
        const auto o = attend_rows(q.data(), kr.data(), vr.data(), kk, d, s.scale);
        std::copy(o.begin(), o.end(), out.begin() + uint64_t{h} * d);
      }
      r.out.emplace_back(out.begin(), out.end());
    }
    charge_host_compute(dev, c, flops, b.now_ns() - t0, r);
  }
}
} // namespace

LayerSizes layer_sizes(const AttentionShape& s, uint32_t topk) {
  LayerSizes z;
  z.kv = up64(uint64_t{s.kv_heads} * s.seq_len * s.head_dim * 2);
  z.q = up64(uint64_t{s.heads} * s.head_dim * 2);
  z.o = up64(uint64_t{s.heads} * s.head_dim * 4);
  z.idx = up64(uint64_t{s.heads} * std::max<uint32_t>(1, std::min(topk, s.seq_len)) * 4);
  return z;
}

std::vector<double> reference_output(const StepConfig& c, const AttentionShape& s, const std::vector<double>& q,
                                     const std::vector<uint16_t>& k, const std::vector<uint16_t>& v) {
  if (c.kernel == Kernel::host_fetch || c.kernel == Kernel::pnm_dense) return attention_dense(s, q, k, v);
  if (c.page_tokens)
    return attention_topk_pages(s, q, k, v, std::max<uint32_t>(1, c.topk / c.page_tokens), c.page_tokens);
  return attention_topk(s, q, k, v, c.topk);
}

const char* reference_name(const StepConfig& c) {
  if (c.kernel == Kernel::host_fetch || c.kernel == Kernel::pnm_dense) return "dense attention (double)";
  return c.page_tokens ? "top-k page attention (double)" : "top-k token attention (double)";
}

StepResult run_step(sw::Device& dev, sw::Queue& queue, const StepConfig& cfg, const std::vector<LayerKv>& seqs,
                    const std::vector<std::vector<float>>& queries) {
  if (queries.size() != seqs.size())
    throw std::invalid_argument(fmt::format("{} queries for {} sequences", queries.size(), seqs.size()));
  if ((cfg.kernel == Kernel::pnm_topk || cfg.kernel == Kernel::pnm_select) && cfg.topk == 0)
    throw std::invalid_argument(fmt::format("{} needs a top-k budget > 0", kernel_name(cfg.kernel)));
  StepResult r;
  if (cfg.kernel == Kernel::host_fetch) {
    host_fetch(dev, cfg, seqs, queries, r);
    return r;
  }
  write_queries(dev, seqs, queries);
  run_jobs(queue, cfg, seqs, r);
  if (cfg.kernel == Kernel::pnm_select) pnm_select(dev, cfg, seqs, queries, r);
  else pnm_out(dev, cfg, seqs, r);
  return r;
}

} // namespace pnm::kernels
