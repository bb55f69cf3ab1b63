#include "kernels/split_kernels.h"

#include <pnmvp/hw/engine_regs.h>

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <stdexcept>

namespace pnm::kernels {

const char* merge_name(Merge m) { return m == Merge::host ? "host" : "p2p"; }

Merge parse_merge(const std::string& name) {
  if (name == "host") return Merge::host;
  if (name == "p2p") return Merge::p2p;
  throw std::invalid_argument(fmt::format("unknown merge '{}': host or p2p", name));
}

uint64_t partial_bytes(const AttentionShape& s) { return PNM_JOB_PART_BYTES(s.heads, s.head_dim); }

namespace {

// The slot of device p's partial among the root's merge buffers.
unsigned slot_of(unsigned p, unsigned root) { return p == root ? 0 : 1 + (p < root ? p : p - 1); }

void check(const std::vector<SplitDevice>& devs, const StepConfig& c, const std::vector<SplitLayer>& seqs,
           const std::vector<std::vector<float>>& queries) {
  if (c.kernel != Kernel::pnm_dense)
    throw std::invalid_argument(fmt::format("attention split over devices runs pnm-dense, not {}: a top-k over "
                                            "each device's rows is not the top-k of the sequence",
                                            kernel_name(c.kernel)));
  if (devs.size() < 2 || devs.size() > PNM_JOB_MERGE_MAX_PARTS)
    throw std::invalid_argument(fmt::format("split over {} devices: 2..{}", devs.size(), PNM_JOB_MERGE_MAX_PARTS));
  if (queries.size() != seqs.size())
    throw std::invalid_argument(fmt::format("{} queries for {} sequences", queries.size(), seqs.size()));
  std::vector<uint32_t> jobs(devs.size(), 0);
  for (const SplitLayer& l : seqs) {
    if (l.parts.size() != devs.size() || l.root >= devs.size())
      throw std::invalid_argument(fmt::format("a sequence split in {} parts (root {}) over {} devices",
                                              l.parts.size(), l.root, devs.size()));
    for (const LayerKv& p : l.parts)
      if (p.seq_len == 0) throw std::invalid_argument("a device holds no row of a split sequence");
    for (size_t p = 0; p < devs.size(); ++p) ++jobs[p];
    ++jobs[l.root]; // its MERGE
  }
  // Every job of the step is submitted before any completion is awaited
  // (a root's barrier waits for its peers' pushes): they must all fit.
  for (size_t p = 0; p < devs.size(); ++p)
    if (jobs[p] + 1 > devs[p].queue->entries())
      throw std::invalid_argument(fmt::format("device {} would hold {} jobs of one step; its queue takes {}: use a "
                                              "smaller batch or more queue entries",
                                              p, jobs[p], devs[p].queue->entries() - 1));
}

} // namespace

StepResult run_split_step(const std::vector<SplitDevice>& devs, const StepConfig& c, Merge merge, uint32_t epoch,
                          const std::vector<SplitLayer>& seqs, const std::vector<std::vector<float>>& queries) {
  check(devs, c, seqs, queries);
  const unsigned D = static_cast<unsigned>(devs.size());
  const AttentionShape& shape = c.shape;
  const uint64_t H = shape.heads, d = shape.head_dim, part = partial_bytes(shape);
  StepResult r;
  // Q to every device that holds rows of the sequence.
  for (size_t i = 0; i < seqs.size(); ++i) {
    std::vector<uint16_t> raw(queries[i].size());
    for (size_t e = 0; e < raw.size(); ++e) raw[e] = to_bf16(queries[i][e]);
    for (unsigned p = 0; p < D; ++p) devs[p].dev->write(seqs[i].parts[p].q_dpa, raw.data(), raw.size() * 2);
  }
  // Every device's partials, then (p2p) every root's merge.
  std::vector<uint32_t> waiting(D, 0);
  for (unsigned p = 0; p < D; ++p)
    for (const SplitLayer& l : seqs) {
      pnm_job_desc_t j = make_job_desc(c, l.parts[p]);
      j.flags |= PNM_JOB_FLAG_WRITE_LSE;
      if (merge == Merge::p2p) {
        const unsigned s = slot_of(p, l.root);
        if (p == l.root) {
          j.o_addr = l.merge_parts_dpa;
        } else {
          j.flags |= PNM_JOB_FLAG_PUSH;
          j.epoch = epoch;
          j.push_addr = devs[l.root].dev->hpa(l.merge_parts_dpa + s * part);
          j.flag_addr = devs[l.root].dev->hpa(l.merge_flags_dpa + uint64_t{s - 1} * PNM_JOB_ALIGN_BYTES);
        }
      }
      devs[p].queue->submit(j, c.use_irq, false);
      ++waiting[p];
      ++r.jobs;
    }
  if (merge == Merge::p2p)
    for (const SplitLayer& l : seqs) {
      pnm_job_desc_t m{};
      m.magic = PNM_JOB_MAGIC;
      m.version = PNM_JOB_VERSION;
      m.size_bytes = PNM_JOB_DESC_BYTES;
      m.opcode = PNM_JOB_OP_MERGE;
      m.precision = PNM_JOB_PREC_BF16;
      m.heads = static_cast<uint16_t>(H);
      m.kv_heads = static_cast<uint16_t>(shape.kv_heads);
      m.head_dim = static_cast<uint16_t>(d);
      m.k = D;
      m.q_addr = l.merge_parts_dpa;
      m.idx_addr = l.merge_flags_dpa;
      m.o_addr = l.merge_out_dpa;
      m.epoch = epoch;
      devs[l.root].queue->submit(m, c.use_irq, false);
      ++waiting[l.root];
      ++r.jobs;
    }
  // Every job is in place before any starts: one doorbell per device.
  for (const SplitDevice& dv : devs) dv.queue->ring();
  for (unsigned p = 0; p < D; ++p)
    for (; waiting[p]; --waiting[p]) {
      const sw::Completion comp = devs[p].queue->wait(10e9, c.use_irq);
      if (!comp.ok())
        throw sw::DriverError(fmt::format("split {}-merge step: device {} job {} failed: {}", merge_name(merge), p,
                                          comp.cid, sw::completion_status_name(comp.status)));
    }
  if (merge == Merge::p2p) {
    for (const SplitLayer& l : seqs) {
      std::vector<float> o(H * d);
      devs[l.root].dev->read(l.merge_out_dpa, o.data(), o.size() * 4);
      if (c.functional) r.out.push_back(std::move(o));
    }
    return r;
  }
  // Host merge: every partial over the host port, merged at the host's rate.
  sw::Backend& host = devs.front().dev->backend();
  for (const SplitLayer& l : seqs) {
    std::vector<std::vector<float>> parts(D, std::vector<float>(H * (d + 1)));
    for (unsigned p = 0; p < D; ++p) devs[p].dev->read(l.parts[p].o_dpa, parts[p].data(), parts[p].size() * 4);
    if (!c.functional) continue;
    std::vector<float> o(H * d);
    for (uint64_t h = 0; h < H; ++h) {
      double m = -std::numeric_limits<double>::infinity();
      for (unsigned p = 0; p < D; ++p) m = std::max(m, double(parts[p][H * d + h]));
      double sum = 0;
      std::vector<double> w(D), acc(d, 0.0);
      for (unsigned p = 0; p < D; ++p) sum += w[p] = std::exp(parts[p][H * d + h] - m);
      for (unsigned p = 0; p < D; ++p)
        for (uint64_t x = 0; x < d; ++x) acc[x] += w[p] * parts[p][h * d + x];
      for (uint64_t x = 0; x < d; ++x) o[h * d + x] = static_cast<float>(acc[x] / sum);
    }
    r.out.push_back(std::move(o));
  }
  // Per head and part: an exp and d multiply-adds; then d divides per head.
  const double flops = double(seqs.size()) * H * (D * (2.0 * d + 2.0) + d);
  r.host_flops += flops;
  const double ns = c.host.gflops > 0 ? flops / c.host.gflops : 0;
  r.host_compute_ns += ns;
  host.sleep_ns(ns);
  return r;
}

} // namespace pnm::kernels
