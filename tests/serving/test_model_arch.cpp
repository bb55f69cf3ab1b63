// The model architecture: parameter counts of the shipped models match their
// published sizes, the 1M-context model is Llama 3 8B's shape, and a model
// file without the architecture keys is an error naming the file and key
// (while the kernels' shape loader still accepts it).
#include "../support/temp_path.h"
#include "common/config.h"
#include "serving/model_arch.h"

#include <gtest/gtest.h>

#include <fstream>

using namespace pnm::serving;

namespace {
nlohmann::json good_model() {
  return {{"schema", "pnmvp.model.v1"}, {"name", "t"},          {"layers", 2},
          {"query_heads", 4},           {"kv_heads", 2},        {"head_dim", 32},
          {"kv_precision", "bf16"},     {"max_context_tokens", 4096},
          {"hidden_size", 128},         {"intermediate_size", 512}, {"vocab_size", 1000},
          {"tie_word_embeddings", false}, {"weight_precision", "bf16"}, {"source", "unit test"}};
}
std::string write(const std::string& name, const nlohmann::json& j) {
  const std::string p = pnm::test::temp_path(name);
  std::ofstream(p) << j.dump(2);
  return p;
}
std::string error_of(const std::string& path) {
  try {
    load_model_arch(path);
  } catch (const pnm::ConfigError& e) {
    return e.what();
  }
  return "";
}
} // namespace

TEST(ModelArch, Llama31MatchesThePublishedParameterCount) {
  const ModelArch a = load_model_arch("llama-3.1-8b");
  EXPECT_EQ(a.hidden, 4096u);
  EXPECT_EQ(a.intermediate, 14336u);
  EXPECT_EQ(a.vocab, 128256u);
  EXPECT_FALSE(a.tied_embeddings);
  // Model card: 8.03 B parameters.
  EXPECT_NEAR(double(a.params()) / 1e9, 8.03, 0.005);
  EXPECT_EQ(a.params(), 8030261248u); // 32 x 218.1 M + 2 x 525.3 M + 4096
  EXPECT_EQ(a.weight_bytes(), 2 * a.params());
  EXPECT_EQ(a.kv_bytes_per_token(), 32u * 2 * 8 * 128 * 2); // 128 KiB
}

TEST(ModelArch, QwenMatchesItsModelCard) {
  const ModelArch a = load_model_arch("qwen2.5-7b-instruct");
  // Model card: 7.61 B (ours leaves out the QKV biases, ~0.1 M).
  EXPECT_NEAR(double(a.params()) / 1e9, 7.61, 0.01);
}

TEST(ModelArch, OneMillionContextModelIsLlama3Shaped) {
  const ModelArch m = load_model_arch("llama-3-8b-1m");
  const ModelArch l = load_model_arch("llama-3.1-8b");
  EXPECT_EQ(m.shape.max_context_tokens, 1048576u);
  EXPECT_EQ(m.params(), l.params());
  // 1M tokens of KV: 128 GiB (the pnm-ref-x8 system's sizing).
  EXPECT_EQ(m.kv_bytes_per_token() * m.shape.max_context_tokens, 128ull << 30);
}

TEST(ModelArch, TiedEmbeddingsCountTheMatrixOnce) {
  nlohmann::json j = good_model();
  const ModelArch untied = load_model_arch(write("untied.json", j));
  j["tie_word_embeddings"] = true;
  const ModelArch tied = load_model_arch(write("tied.json", j));
  EXPECT_EQ(untied.params() - tied.params(), 1000u * 128);
  EXPECT_EQ(tied.lm_head_params(), 0u);
  j["weight_precision"] = "fp8";
  EXPECT_EQ(load_model_arch(write("fp8.json", j)).weight_bytes(), tied.params());
}

TEST(ModelArch, MissingOrBadKeysNameFileAndKey) {
  nlohmann::json j = good_model();
  j.erase("intermediate_size");
  const std::string p = write("noffn.json", j);
  // The kernels' loader does not need it...
  EXPECT_NO_THROW(pnm::kernels::load_model_shape(p));
  // ...the serving model does.
  std::string e = error_of(p);
  EXPECT_NE(e.find(p), std::string::npos) << e;
  EXPECT_NE(e.find("intermediate_size"), std::string::npos) << e;
  EXPECT_NE(e.find("missing"), std::string::npos) << e;

  j = good_model();
  j["vocab_size"] = 0;
  const std::string q = write("novocab.json", j);
  e = error_of(q);
  EXPECT_NE(e.find("vocab_size"), std::string::npos) << e;

  j = good_model();
  j["weight_precision"] = "fp4";
  e = error_of(write("fp4.json", j));
  EXPECT_NE(e.find("weight_precision"), std::string::npos) << e;

  // A typo is still caught by the shape loader's unknown-key check.
  j = good_model();
  j["hiden_size"] = 128;
  e = error_of(write("typo.json", j));
  EXPECT_NE(e.find("hiden_size"), std::string::npos) << e;
}
