#include "serving/gpu_model.h"

#include "common/config.h"
#include "common/log.h"
#include "common/output_guard.h"
#include "common/resources.h"

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fmt/format.h>
#include <fstream>
#include <map>
#include <set>
#include <sstream>
#include <stdexcept>
#include <system_error>

namespace pnm::serving {

namespace {
constexpr const char* kSchema = "pnmvp.gpu.v1";
constexpr double kGiB = 1073741824.0;
// Activations move as bf16 (vLLM's default dtype for bf16 models).
constexpr double kActBytes = 2;
// Logits are fp32 (vLLM upcasts them before sampling).
constexpr double kLogitBytes = 4;
} // namespace

std::string gpus_dir() {
  if (const char* env = std::getenv("PNMVP_GPUS"); env && *env) return env;
  return resources::platforms_dir() + "/gpus";
}

std::vector<std::string> available_gpus() {
  return resources::names_in(gpus_dir());
}

GpuSpec load_gpu(const std::string& name_or_path) {
  const std::string file = resources::resolve_named(name_or_path, gpus_dir(), "GPU");
  ConfigNode n = ConfigNode::load_file(file);
  const std::string schema = n.text("schema", "GPU file format");
  if (schema != kSchema) n.fail("schema", fmt::format("'{}' is not a GPU file (expected {})", schema, kSchema));
  GpuSpec g;
  g.file = file;
  g.name = n.text("name", "GPU name");
  if (g.name.empty()) n.fail("name", "must not be empty");
  g.source = n.require_source();

  ConfigNode mem = n.child("memory");
  mem.require_source();
  const bool gib = mem.has("hbm_capacity_gib"), bytes = mem.has("hbm_capacity_bytes");
  if (gib == bytes) mem.fail("hbm_capacity_gib", "give exactly one of hbm_capacity_gib and hbm_capacity_bytes");
  if (gib)
    g.hbm_bytes = uint64_t(mem.number("hbm_capacity_gib", {1, 1 << 20}, "GiB", "HBM capacity") * kGiB);
  else
    g.hbm_bytes = uint64_t(mem.integer("hbm_capacity_bytes", {kGiB, 1e15}, "bytes", "HBM capacity"));
  g.hbm_gbps = mem.number("hbm_bandwidth_gbps", {1, 1e6}, "GB/s", "HBM peak bandwidth (1 GB = 1e9 bytes)");
  mem.finish();

  ConfigNode comp = n.child("compute");
  comp.require_source();
  g.bf16_tflops = comp.number("bf16_dense_tflops", {0.1, 1e5}, "TFLOP/s", "dense BF16 tensor-core peak");
  comp.finish();

  ConfigNode pw = n.child("power");
  pw.require_source();
  g.tdp_w = pw.number("tdp_w", {1, 1e5}, "W", "board power limit (TDP)");
  g.idle_w = pw.number("idle_w", {0, 1e5}, "W", "board power when idle: charged for the whole iteration");
  if (g.idle_w >= g.tdp_w) pw.fail("idle_w", fmt::format("{} W is not below tdp_w {} W", g.idle_w, g.tdp_w));
  pw.finish();

  ConfigNode eff = n.child("efficiency");
  eff.require_source();
  g.matmul_efficiency = eff.number("matmul", {0.01, 1}, "", "achieved fraction of the BF16 peak in large GEMMs");
  g.memory_efficiency = eff.number("memory", {0.01, 1}, "", "achieved fraction of HBM bandwidth in streaming kernels");
  eff.finish();

  ConfigNode en = n.child("energy");
  en.require_source();
  g.pj_per_flop = en.number("pj_per_flop", {0, 1e3}, "pJ", "dynamic energy per FLOP");
  g.pj_per_hbm_byte = en.number("pj_per_hbm_byte", {0, 1e4}, "pJ", "dynamic energy per HBM byte moved");
  en.finish();

  ConfigNode ln = n.child("launch");
  ln.require_source();
  g.launch_overhead_us = ln.number("overhead_us", {0, 1e3}, "us", "per-kernel launch overhead");
  ln.finish();
  n.finish();
  return g;
}

// ---------------------------------------------------------------- operators

const std::vector<std::string>& operator_names() {
  static const std::vector<std::string> names = {"embed",     "attn_norm", "qkv_proj",     "attn_prefill",
                                                 "attn_decode", "o_proj",  "mlp_norm",     "gate_up_proj",
                                                 "act",       "down_proj", "final_norm",   "lm_head",
                                                 "sampler"};
  return names;
}

namespace {

// A projection of `tokens` rows through an in x out weight: weights read once.
GpuOp linear(const char* name, bool per_layer, double tokens, double in, double out, double wbytes) {
  return {name, OpClass::linear, per_layer, tokens, 2 * tokens * in * out,
          in * out * wbytes + tokens * (in + out) * kActBytes};
}
// RMSNorm with the residual add fused in (vLLM's fused_add_rms_norm): reads
// x and the residual, writes both.
GpuOp norm(const char* name, bool per_layer, double tokens, double hidden, double wbytes) {
  return {name, OpClass::other, per_layer, tokens, 5 * tokens * hidden, 4 * tokens * hidden * kActBytes + hidden * wbytes};
}

double q_heads_dim(const ModelArch& a) { return double(a.shape.query_heads) * a.shape.head_dim; }

// Prefill attention (FlashAttention-style, causal): QK^T and PV over every
// query-key pair, K and V of the whole context read once per chunk, the
// chunk's new K and V written, Q read and O written.
GpuOp prefill_attention(const ModelArch& a, double pairs, double kv_read_tokens, double new_tokens) {
  const double kvb = double(a.shape.kv_bytes_per_token_per_layer());
  return {"attn_prefill", OpClass::attention, true, pairs, 4 * q_heads_dim(a) * pairs,
          kv_read_tokens * kvb + new_tokens * kvb + 2 * new_tokens * q_heads_dim(a) * kActBytes};
}
// Decode attention (paged, memory-bound): each sequence's HBM KV read once,
// its one query read, output written, its new K and V written.
GpuOp decode_attention(const ModelArch& a, double kv_tokens, double sequences) {
  const double kvb = double(a.shape.kv_bytes_per_token_per_layer());
  return {"attn_decode", OpClass::attention, true, kv_tokens, 4 * q_heads_dim(a) * kv_tokens,
          kv_tokens * kvb + sequences * (kvb + 2 * q_heads_dim(a) * kActBytes)};
}

} // namespace

std::vector<GpuOp> iteration_ops(const ModelArch& a, const BatchWork& w) {
  if (w.decode_hbm_tokens.size() > w.decode_sequences)
    throw std::invalid_argument(fmt::format("GPU batch: {} decode KV entries for {} decoding sequences",
                                            w.decode_hbm_tokens.size(), w.decode_sequences));
  double tokens = w.decode_sequences;
  double pairs = 0, kv_read = 0, new_tokens = 0;
  for (const PrefillChunk& c : w.prefill) {
    const double t = c.tokens, ctx = c.context_before;
    tokens += t;
    new_tokens += t;
    pairs += t * ctx + t * (t + 1) / 2;
    kv_read += ctx;
  }
  std::vector<GpuOp> ops;
  if (tokens == 0) return ops;
  double dec_kv = 0, dec_seqs = 0;
  for (uint64_t k : w.decode_hbm_tokens)
    if (k) {
      dec_kv += double(k);
      ++dec_seqs;
    }
  // Logits: one row per decoding sequence and one per prefill chunk (its
  // last token; vLLM computes them for a partial prefill too and drops the
  // sample).
  const double logits = double(w.decode_sequences) + double(w.prefill.size());
  const double h = double(a.hidden), inter = double(a.intermediate), vocab = double(a.vocab);
  const double wb = a.weight_bytes_per_param, q = q_heads_dim(a), kv = double(a.kv_width());

  ops.push_back({"embed", OpClass::other, false, tokens, 0, tokens * h * (wb + kActBytes)});
  ops.push_back(norm("attn_norm", true, tokens, h, wb));
  ops.push_back(linear("qkv_proj", true, tokens, h, q + 2 * kv, wb));
  if (new_tokens > 0) ops.push_back(prefill_attention(a, pairs, kv_read, new_tokens));
  if (dec_seqs > 0) ops.push_back(decode_attention(a, dec_kv, dec_seqs));
  ops.push_back(linear("o_proj", true, tokens, q, h, wb));
  ops.push_back(norm("mlp_norm", true, tokens, h, wb));
  ops.push_back(linear("gate_up_proj", true, tokens, h, 2 * inter, wb));
  // SiLU(gate) x up: reads both halves, writes one.
  ops.push_back({"act", OpClass::other, true, tokens, 5 * tokens * inter, 3 * tokens * inter * kActBytes});
  ops.push_back(linear("down_proj", true, tokens, inter, h, wb));
  ops.push_back(norm("final_norm", false, tokens, h, wb));
  GpuOp head = linear("lm_head", false, logits, h, vocab, wb);
  head.bytes += logits * vocab * (kLogitBytes - kActBytes); // fp32 logits out
  ops.push_back(head);
  // Softmax and sampling over the fp32 logits: read, write probabilities.
  ops.push_back({"sampler", OpClass::other, false, logits, 5 * logits * vocab, 2 * logits * vocab * kLogitBytes});
  return ops;
}

double roofline_op_ns(const GpuSpec& g, const GpuOp& op) {
  const double compute_ns = op.flops / (g.bf16_tflops * 1e3 * g.matmul_efficiency);
  const double memory_ns = op.bytes / (g.hbm_gbps * g.memory_efficiency);
  return std::max(compute_ns, memory_ns) + g.launch_overhead_us * 1e3;
}

namespace {

// Sums the operators into a cost, with each instance's time from `time_ns`.
template <typename F>
GpuCost total(const GpuSpec& g, const ModelArch& a, const BatchWork& w, F time_ns) {
  GpuCost c;
  for (const GpuOp& op : iteration_ops(a, w)) {
    const double n = op.per_layer ? a.shape.layers : 1;
    const double t = time_ns(op) * n;
    (op.cls == OpClass::linear ? c.linear_ns : op.cls == OpClass::attention ? c.attention_ns : c.other_ns) += t;
    c.flops += op.flops * n;
    c.hbm_bytes += op.bytes * n;
  }
  c.ns = c.linear_ns + c.attention_ns + c.other_ns;
  c.compute_pj = c.flops * g.pj_per_flop;
  c.hbm_pj = c.hbm_bytes * g.pj_per_hbm_byte;
  c.static_pj = g.idle_w * c.ns * 1e3; // W x ns = nJ
  return c;
}

class Roofline : public GpuCostModel {
public:
  Roofline(const GpuSpec& g, const ModelArch& a) : g_(g), a_(a) {}
  GpuCost step(const BatchWork& w) const override {
    return total(g_, a_, w, [&](const GpuOp& op) { return roofline_op_ns(g_, op); });
  }
  std::string describe() const override {
    return fmt::format("roofline ({}: {} TFLOP/s x {}, {} GB/s x {}, {} us per kernel)", g_.name, g_.bf16_tflops,
                       g_.matmul_efficiency, g_.hbm_gbps, g_.memory_efficiency, g_.launch_overhead_us);
  }

private:
  GpuSpec g_;
  ModelArch a_;
};

std::string trim(const std::string& s) {
  const auto b = s.find_first_not_of(" \t\r");
  if (b == std::string::npos) return "";
  return s.substr(b, s.find_last_not_of(" \t\r") - b + 1);
}

double parse_number(const std::string& text, const std::string& where, const char* what) {
  const std::string t = trim(text);
  char* end = nullptr;
  const double v = std::strtod(t.c_str(), &end);
  if (t.empty() || end != t.c_str() + t.size() || !std::isfinite(v) || v < 0)
    throw std::runtime_error(fmt::format("{}: {} '{}' is not a non-negative number", where, what, t));
  return v;
}

class OperatorTable : public GpuCostModel {
public:
  OperatorTable(const std::string& path, const GpuSpec& g, const ModelArch& a) : path_(path), g_(g), a_(a) {
    std::ifstream in(path);
    if (!in) throw std::runtime_error(fmt::format("{}: cannot open the GPU operator table", path));
    note_input(path, fmt::format("an input of this run (the GPU operator table '{}')", path));
    std::string line;
    size_t no = 0;
    bool header = false;
    std::map<std::string, std::map<double, size_t>> seen; // op -> size -> line
    while (std::getline(in, line)) {
      ++no;
      const std::string t = trim(line);
      if (t.empty() || t[0] == '#') continue;
      const std::string where = fmt::format("{}:{}", path, no);
      if (!header) {
        if (t != "op,size,time_us")
          throw std::runtime_error(fmt::format("{}: expected the header 'op,size,time_us', found '{}'", where, t));
        header = true;
        continue;
      }
      std::vector<std::string> f;
      std::stringstream ss(t);
      for (std::string cell; std::getline(ss, cell, ',');) f.push_back(cell);
      if (f.size() != 3)
        throw std::runtime_error(fmt::format("{}: {} fields, expected 3 (op,size,time_us)", where, f.size()));
      const std::string op = trim(f[0]);
      const auto& names = operator_names();
      if (std::find(names.begin(), names.end(), op) == names.end())
        throw std::runtime_error(
            fmt::format("{}: unknown operator '{}' (known: {})", where, op, fmt::join(names, ", ")));
      const double size = parse_number(f[1], where, "size");
      const double us = parse_number(f[2], where, "time_us");
      auto [it, fresh] = seen[op].emplace(size, no);
      if (!fresh)
        throw std::runtime_error(fmt::format("{}: operator '{}' at size {} is given twice (also line {})", where,
                                             op, size, it->second));
      points_[op].push_back({size, us * 1e3});
    }
    if (!header) throw std::runtime_error(fmt::format("{}: no header 'op,size,time_us' and no rows", path));
    for (const std::string& op : operator_names()) {
      auto it = points_.find(op);
      if (it == points_.end() || it->second.size() < 2)
        throw std::runtime_error(fmt::format("{}: operator '{}' needs at least two rows (has {})", path, op,
                                             it == points_.end() ? 0 : it->second.size()));
      std::sort(it->second.begin(), it->second.end());
    }
  }

  GpuCost step(const BatchWork& w) const override {
    return total(g_, a_, w, [&](const GpuOp& op) { return lookup(op.name, op.size); });
  }
  std::string describe() const override { return "operator table " + path_; }

private:
  struct Point {
    double size, ns;
    bool operator<(const Point& o) const { return size < o.size; }
  };

  double lookup(const std::string& op, double size) const {
    const std::vector<Point>& p = points_.at(op);
    size_t hi = size_t(std::lower_bound(p.begin(), p.end(), Point{size, 0}) - p.begin());
    if (hi < p.size() && p[hi].size == size) return p[hi].ns;
    if (hi == 0 || hi == p.size()) {
      if (warned_.insert(op).second)
        log::warn("gpu", "{}: operator '{}' at size {} is outside the table's [{}, {}]: extrapolating linearly from "
                  "the nearest two points (warned once per operator)",
                  path_, op, size, p.front().size, p.back().size);
      hi = hi == 0 ? 1 : p.size() - 1;
    }
    const Point& a = p[hi - 1];
    const Point& b = p[hi];
    return std::max(0.0, a.ns + (b.ns - a.ns) * (size - a.size) / (b.size - a.size));
  }

  std::string path_;
  GpuSpec g_;
  ModelArch a_;
  std::map<std::string, std::vector<Point>> points_;
  mutable std::set<std::string> warned_;
};

// A representative operator of the given size, for the generated table:
// the operator as iteration_ops builds it for a batch that has exactly this
// size (tokens-sized operators depend on the size alone; prefill attention
// is one chunk with no prior context; decode attention is one sequence).
GpuOp op_at(const ModelArch& a, const std::string& name, double size) {
  BatchWork w;
  if (name == "attn_prefill") {
    const double t = (std::sqrt(8 * size + 1) - 1) / 2; // t(t+1)/2 = size
    return prefill_attention(a, size, 0, t);
  }
  if (name == "attn_decode") return decode_attention(a, size, 1);
  w.decode_sequences = uint32_t(size);
  for (const GpuOp& op : iteration_ops(a, w))
    if (name == op.name) return op;
  throw std::logic_error("op_at: unknown operator " + name);
}

} // namespace

std::unique_ptr<GpuCostModel> make_roofline(const GpuSpec& g, const ModelArch& a) {
  return std::make_unique<Roofline>(g, a);
}

std::unique_ptr<GpuCostModel> make_operator_table(const std::string& csv_path, const GpuSpec& g, const ModelArch& a) {
  return std::make_unique<OperatorTable>(csv_path, g, a);
}

void write_roofline_table(const std::string& path, const GpuSpec& g, const ModelArch& a, const std::string& header) {
  std::ofstream out(path);
  if (!out) throw std::runtime_error(fmt::format("{}: cannot write", path));
  std::stringstream hs(header);
  for (std::string l; std::getline(hs, l);) out << "# " << l << "\n";
  out << "op,size,time_us\n";
  // Sizes: 1, 2, 3, 4, 6, 8, 12, ... (powers of two and 1.5x between).
  auto grid = [](double hi) {
    std::vector<double> s;
    for (double p = 1; p <= hi; p *= 2) {
      s.push_back(p);
      if (p >= 2 && p * 1.5 <= hi) s.push_back(p * 1.5);
    }
    std::sort(s.begin(), s.end());
    return s;
  };
  const double max_tokens = 16384;        // the token budget of a large iteration
  const double max_kv = 16.0 * (1 << 20); // 16 sequences at 1M tokens
  for (const std::string& name : operator_names()) {
    std::vector<double> sizes;
    if (name == "attn_prefill")
      for (double t : grid(double(1 << 20))) sizes.push_back(t * (t + 1) / 2); // one chunk of t tokens, no context
    else
      sizes = grid(name == "attn_decode" ? max_kv : max_tokens);
    for (double s : sizes) out << fmt::format("{},{},{:.6g}\n", name, s, roofline_op_ns(g, op_at(a, name, s)) / 1e3);
  }
}

} // namespace pnm::serving
