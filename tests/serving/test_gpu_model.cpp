// The GPU cost model: GPU files load with their datasheet numbers and bad
// ones name file and key; the roofline puts a batch-1 decode step on the
// weight-bandwidth roof and a long prefill on the compute roof; decode
// attention grows linearly with the KV it reads; an A100 is slower than an
// H100 by the ratio of their specs; the operator table reproduces the
// roofline at its points, interpolates between them and names bad lines.
#include "../support/temp_path.h"
#include "common/config.h"
#include "common/log.h"
#include "serving/gpu_model.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <fstream>

using namespace pnm::serving;

namespace {
const double kGiB = 1073741824.0;

struct GpuModel : ::testing::Test {
  GpuSpec h100 = load_gpu("h100-sxm");
  GpuSpec a100 = load_gpu("a100-sxm-80gb");
  ModelArch llama = load_model_arch("llama-3.1-8b");
};

BatchWork decode(uint32_t seqs, uint64_t kv_each) {
  BatchWork w;
  w.decode_sequences = seqs;
  w.decode_hbm_tokens.assign(seqs, kv_each);
  return w;
}
BatchWork prefill(uint32_t tokens, uint32_t context = 0) {
  BatchWork w;
  w.prefill.push_back({tokens, context});
  return w;
}

std::string write_text(const std::string& name, const std::string& text) {
  const std::string p = pnm::test::temp_path(name);
  std::ofstream(p) << text;
  return p;
}

std::string gpu_error(const nlohmann::json& j) {
  const std::string p = write_text("gpu.json", j.dump(2));
  try {
    load_gpu(p);
  } catch (const pnm::ConfigError& e) {
    return std::string(e.what());
  }
  return "";
}

nlohmann::json h100_json() {
  std::ifstream in(std::string(PNM_SOURCE_DIR) + "/platforms/gpus/h100-sxm.json");
  return nlohmann::json::parse(in);
}
} // namespace

TEST_F(GpuModel, ShippedGpusLoadWithDatasheetNumbers) {
  EXPECT_EQ(h100.hbm_bytes, uint64_t(80 * kGiB));
  EXPECT_DOUBLE_EQ(h100.hbm_gbps, 3350);
  EXPECT_DOUBLE_EQ(h100.bf16_tflops, 989);
  EXPECT_DOUBLE_EQ(h100.tdp_w, 700);
  EXPECT_DOUBLE_EQ(a100.hbm_gbps, 2039);
  EXPECT_DOUBLE_EQ(a100.bf16_tflops, 312);
  EXPECT_DOUBLE_EQ(a100.tdp_w, 400);
  const auto names = available_gpus();
  EXPECT_NE(std::find(names.begin(), names.end(), "h100-sxm"), names.end());
  EXPECT_NE(std::find(names.begin(), names.end(), "a100-sxm-80gb"), names.end());
  // The energy constants are what their sources derive.
  EXPECT_NEAR(h100.pj_per_hbm_byte, 3.9 * 8, 1e-9);
  EXPECT_NEAR(h100.pj_per_flop, (700 - 70 - 3.35e12 * 31.2e-12) / 989e12 * 1e12, 0.01);
  EXPECT_NEAR(a100.pj_per_flop, (400 - 55 - 2.039e12 * 31.2e-12) / 312e12 * 1e12, 0.01);
}

TEST(GpuFile, BadFilesNameFileKeyAndRange) {
  try {
    load_gpu("no-such-gpu");
    FAIL();
  } catch (const pnm::ConfigError& e) {
    EXPECT_NE(std::string(e.what()).find("h100-sxm"), std::string::npos) << e.what();
  }
  nlohmann::json j = h100_json();
  j["efficiency"]["matmul"] = 1.5;
  std::string e = gpu_error(j);
  EXPECT_NE(e.find("gpu.json"), std::string::npos) << e;
  EXPECT_NE(e.find("efficiency/matmul"), std::string::npos) << e;
  EXPECT_NE(e.find("[0.01, 1]"), std::string::npos) << e;
  j = h100_json();
  j["memory"]["hbm_capacity_bytes"] = 85899345920;
  e = gpu_error(j);
  EXPECT_NE(e.find("exactly one"), std::string::npos) << e;
  j = h100_json();
  j["power"].erase("source");
  e = gpu_error(j);
  EXPECT_NE(e.find("power"), std::string::npos) << e;
  j = h100_json();
  j["launch"]["overhead_usec"] = 1;
  e = gpu_error(j);
  EXPECT_NE(e.find("overhead_usec"), std::string::npos) << e;
}

TEST_F(GpuModel, DecodeOfOneSequenceIsBoundByReadingTheWeights) {
  auto m = make_roofline(h100, llama);
  const GpuCost c = m->step(decode(1, 1000));
  const double weights_ns = double(llama.weight_bytes()) / (h100.hbm_gbps * h100.memory_efficiency);
  // Weights dominate (the embedding is only gathered: 6.5% of the bytes are
  // not read; launches of about 300 kernels and 1000 tokens of KV add ~6%).
  EXPECT_NEAR(c.ns / weights_ns, 1.0, 0.10);
  EXPECT_NEAR(c.ns, c.linear_ns + c.attention_ns + c.other_ns, 1e-6 * c.ns);
  // Memory-bound: a second sequence costs almost nothing more.
  EXPECT_LT(m->step(decode(2, 1000)).ns, 1.02 * c.ns);
  // Every weight byte but the embedding's is read once; KV and activations add ~1%.
  const double read_weights = double(llama.weight_bytes() - llama.embedding_params() * llama.weight_bytes_per_param);
  EXPECT_GT(c.hbm_bytes, read_weights);
  EXPECT_LT(c.hbm_bytes, 1.015 * read_weights);
}

TEST_F(GpuModel, LongPrefillIsComputeBound) {
  auto m = make_roofline(h100, llama);
  const double T = 8192;
  const GpuCost c = m->step(prefill(8192));
  const double peak = h100.bf16_tflops * 1e3 * h100.matmul_efficiency; // FLOP/ns
  // ~ 2 x params x tokens at the achieved matmul rate (the embedding is a
  // lookup, lm_head runs for one token, causal attention adds ~15%).
  EXPECT_NEAR(c.ns / (2 * double(llama.params()) * T / peak), 1.0, 0.15);
  // The projections and FFN exactly on the compute roof (plus launches).
  const double layer_params = double(llama.attention_params_per_layer() + llama.mlp_params_per_layer());
  const double linear_ns = 2 * T * layer_params * llama.shape.layers / peak;
  EXPECT_NEAR(c.linear_ns / linear_ns, 1.0, 0.01);
  // Twice the tokens, twice the linear time.
  EXPECT_NEAR(m->step(prefill(16384)).linear_ns / c.linear_ns, 2.0, 0.01);
}

TEST_F(GpuModel, DecodeAttentionGrowsLinearlyWithTheKvItReads) {
  auto m = make_roofline(h100, llama);
  const double a1 = m->step(decode(8, 10000)).attention_ns;
  const double a2 = m->step(decode(8, 20000)).attention_ns;
  const double a3 = m->step(decode(8, 30000)).attention_ns;
  EXPECT_GT(a2, a1);
  EXPECT_NEAR(a3 - a2, a2 - a1, 1e-9 * a3);
  // The slope is the KV bytes per token at the achieved bandwidth.
  const double per_token_ns = double(llama.kv_bytes_per_token()) / (h100.hbm_gbps * h100.memory_efficiency);
  EXPECT_NEAR((a2 - a1) / (8 * 10000), per_token_ns, 1e-9 * per_token_ns);
  // Sequences whose attention runs elsewhere still run the projections.
  BatchWork elsewhere = decode(8, 0);
  const GpuCost e = m->step(elsewhere);
  EXPECT_EQ(e.attention_ns, 0);
  EXPECT_GT(e.linear_ns, 0);
}

TEST_F(GpuModel, A100IsSlowerByTheSpecRatios) {
  GpuSpec h = h100, a = a100;
  h.launch_overhead_us = a.launch_overhead_us = 0; // compare the roofs alone
  auto mh = make_roofline(h, llama), ma = make_roofline(a, llama);
  const double bw_ratio = (h.hbm_gbps * h.memory_efficiency) / (a.hbm_gbps * a.memory_efficiency);
  EXPECT_NEAR(ma->step(decode(1, 1000)).ns / mh->step(decode(1, 1000)).ns, bw_ratio, 0.005 * bw_ratio);
  const double flop_ratio = (h.bf16_tflops * h.matmul_efficiency) / (a.bf16_tflops * a.matmul_efficiency);
  // The projections, FFN and attention of a long prefill are compute-bound
  // (norms and activations stay memory-bound).
  const GpuCost ca = ma->step(prefill(8192)), ch = mh->step(prefill(8192));
  EXPECT_NEAR((ca.linear_ns + ca.attention_ns) / (ch.linear_ns + ch.attention_ns), flop_ratio, 0.01 * flop_ratio);
  EXPECT_GT(ca.ns / ch.ns, bw_ratio);
}

TEST_F(GpuModel, EnergyClassesFollowTheCounts) {
  auto m = make_roofline(h100, llama);
  BatchWork w = decode(32, 4000);
  w.prefill.push_back({512, 1024});
  const GpuCost c = m->step(w);
  EXPECT_DOUBLE_EQ(c.compute_pj, c.flops * h100.pj_per_flop);
  EXPECT_DOUBLE_EQ(c.hbm_pj, c.hbm_bytes * h100.pj_per_hbm_byte);
  EXPECT_DOUBLE_EQ(c.static_pj, h100.idle_w * c.ns * 1e3);
  EXPECT_GT(c.attention_ns, 0);
  // Nothing to do costs nothing; inconsistent work is refused.
  const GpuCost none = m->step(BatchWork{});
  EXPECT_EQ(none.ns, 0);
  EXPECT_EQ(none.static_pj, 0);
  BatchWork bad;
  bad.decode_hbm_tokens = {1, 2};
  bad.decode_sequences = 1;
  EXPECT_THROW(m->step(bad), std::invalid_argument);
  EXPECT_NE(m->describe().find("roofline (h100-sxm"), std::string::npos) << m->describe();
}

TEST_F(GpuModel, OperatorTableReproducesTheRooflineAtItsPointsAndInterpolates) {
  const std::string csv = pnm::test::temp_path("ops.csv");
  write_roofline_table(csv, h100, llama, "test table");
  auto table = make_operator_table(csv, h100, llama);
  auto roof = make_roofline(h100, llama);
  EXPECT_EQ(table->describe(), "operator table " + csv);
  // At table points: token counts on the grid, one sequence's KV on the
  // grid, one prefill chunk of a grid size with no context.
  for (uint32_t n : {1u, 8u, 64u, 256u, 1024u}) {
    BatchWork w;
    w.decode_sequences = n;
    w.decode_hbm_tokens = {4096};
    EXPECT_NEAR(table->step(w).ns, roof->step(w).ns, 1e-5 * roof->step(w).ns) << n;
  }
  const BatchWork p = prefill(1024);
  const GpuCost tp = table->step(p), rp = roof->step(p);
  EXPECT_NEAR(tp.ns, rp.ns, 1e-5 * rp.ns);
  EXPECT_NEAR(tp.attention_ns, rp.attention_ns, 1e-5 * rp.attention_ns);
  EXPECT_DOUBLE_EQ(tp.flops, rp.flops);
  EXPECT_DOUBLE_EQ(tp.compute_pj, rp.compute_pj);
  // Between points (1024 and 1536 tokens): the straight line between them.
  const double lo = roof->step(decode(1024, 0)).ns, hi = roof->step(decode(1536, 0)).ns;
  const double mid = table->step(decode(1280, 0)).ns;
  EXPECT_NEAR(mid, (lo + hi) / 2, 1e-5 * mid);
  EXPECT_NEAR(mid / roof->step(decode(1280, 0)).ns, 1.0, 0.03);
  // Beyond the last point: extrapolated, with one warning per operator.
  const unsigned long before = pnm::log::warning_count();
  const double far = table->step(decode(20000, 0)).ns;
  const unsigned long after = pnm::log::warning_count();
  EXPECT_GT(after, before);
  EXPECT_NEAR(far / roof->step(decode(20000, 0)).ns, 1.0, 0.03);
  table->step(decode(30000, 0));
  EXPECT_EQ(pnm::log::warning_count(), after);
}

TEST_F(GpuModel, ShippedExampleTableIsTheCurrentRoofline) {
  // If this fails the roofline changed: regenerate the example with
  // build/pnm_gen_gpu_ops h100-sxm llama-3.1-8b platforms/gpus/h100-sxm-ops.csv
  auto table = make_operator_table(std::string(PNM_SOURCE_DIR) + "/platforms/gpus/h100-sxm-ops.csv", h100, llama);
  auto roof = make_roofline(h100, llama);
  for (uint32_t n : {1u, 16u, 512u}) {
    BatchWork w = decode(n, 0);
    w.decode_hbm_tokens[0] = 65536;
    EXPECT_NEAR(table->step(w).ns, roof->step(w).ns, 1e-5 * roof->step(w).ns) << n;
  }
}

TEST_F(GpuModel, BadTablesNameFileAndLine) {
  auto error_of = [&](const std::string& name, const std::string& text) {
    const std::string p = write_text(name, text);
    try {
      make_operator_table(p, h100, llama);
    } catch (const std::runtime_error& e) {
      return std::string(e.what());
    }
    return std::string();
  };
  std::string e = error_of("hdr.csv", "# c\noperator,size,time\n");
  EXPECT_NE(e.find("hdr.csv:2"), std::string::npos) << e;
  e = error_of("unk.csv", "op,size,time_us\nqkv_proj,1,2\nmatmul,1,2\n");
  EXPECT_NE(e.find("unk.csv:3"), std::string::npos) << e;
  EXPECT_NE(e.find("unknown operator 'matmul'"), std::string::npos) << e;
  e = error_of("neg.csv", "op,size,time_us\nqkv_proj,1,-2\n");
  EXPECT_NE(e.find("neg.csv:2"), std::string::npos) << e;
  EXPECT_NE(e.find("time_us"), std::string::npos) << e;
  e = error_of("dup.csv", "op,size,time_us\nqkv_proj,1,2\nqkv_proj,1,3\n");
  EXPECT_NE(e.find("dup.csv:3"), std::string::npos) << e;
  EXPECT_NE(e.find("line 2"), std::string::npos) << e;
  e = error_of("few.csv", "op,size,time_us\nqkv_proj,1,2\nqkv_proj,2,3\n");
  EXPECT_NE(e.find("few.csv"), std::string::npos) << e;
  EXPECT_NE(e.find("'embed' needs at least two rows"), std::string::npos) << e;
  e = error_of("cols.csv", "op,size,time_us\nqkv_proj,1\n");
  EXPECT_NE(e.find("cols.csv:2"), std::string::npos) << e;
}
