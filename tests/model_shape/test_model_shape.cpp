// LLM model shapes: the shipped files load with the numbers of their sources, and
// bad files fail with errors naming the file and the key.
#include "../support/temp_path.h"
#include "common/config.h"
#include "kernels/model_shape.h"

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <gtest/gtest.h>
#include <initializer_list>

using pnm::ConfigError;
using pnm::kernels::ModelShape;
using pnm::kernels::load_model_shape;

namespace {

// A valid model file; tests break one thing at a time.
nlohmann::json good_model() {
  return {{"schema", "pnmvp.model.v1"}, {"name", "t"},       {"layers", 4},
          {"query_heads", 8},           {"kv_heads", 2},     {"head_dim", 64},
          {"kv_precision", "int8"},     {"max_context_tokens", 8192},
          {"source", "unit test"}};
}

struct TempModel {
  std::string path;
  TempModel(const std::string& name, const std::string& text) : path(pnm::test::temp_path(name)) {
    std::ofstream(path) << text;
  }
  TempModel(const std::string& name, const nlohmann::json& doc) : TempModel(name, doc.dump(2)) {}
  ~TempModel() { std::remove(path.c_str()); }
};

// Loading `doc` fails, and the message names the file and every one of `parts`.
void expect_error(const std::string& file_name, const nlohmann::json& doc,
                  std::initializer_list<std::string> parts) {
  TempModel f(file_name, doc);
  try {
    load_model_shape(f.path);
    ADD_FAILURE() << "expected an error for " << doc.dump();
  } catch (const ConfigError& e) {
    const std::string msg = e.what();
    EXPECT_NE(msg.find(f.path), std::string::npos) << msg;
    for (const auto& p : parts) EXPECT_NE(msg.find(p), std::string::npos) << "'" << p << "' not in: " << msg;
  }
}

} // namespace

TEST(ModelShape, Llama31_8B) {
  const ModelShape m = load_model_shape("llama-3.1-8b");
  EXPECT_EQ(m.name, "llama-3.1-8b");
  EXPECT_EQ(m.layers, 32u);
  EXPECT_EQ(m.query_heads, 32u);
  EXPECT_EQ(m.kv_heads, 8u);
  EXPECT_EQ(m.group(), 4u);
  EXPECT_EQ(m.head_dim, 128u);
  EXPECT_EQ(m.precision, ModelShape::KvPrecision::bf16);
  EXPECT_EQ(m.max_context_tokens, 131072u);
  EXPECT_NE(m.source.find("huggingface.co/meta-llama/Llama-3.1-8B"), std::string::npos);
  EXPECT_NE(m.file.find("platforms/models/llama-3.1-8b.json"), std::string::npos);
  EXPECT_EQ(m.kv_bytes_per_element(), 2u);
  EXPECT_EQ(m.kv_bytes_per_token_per_layer(), 2u * 8 * 128 * 2); // 4 KiB: K+V, 8 heads, bf16
}

TEST(ModelShape, Qwen25_7B_Instruct) {
  const ModelShape m = load_model_shape("qwen2.5-7b-instruct");
  EXPECT_EQ(m.name, "qwen2.5-7b-instruct");
  EXPECT_EQ(m.layers, 28u);
  EXPECT_EQ(m.query_heads, 28u);
  EXPECT_EQ(m.kv_heads, 4u);
  EXPECT_EQ(m.group(), 7u);
  EXPECT_EQ(m.head_dim, 128u);
  EXPECT_EQ(m.precision, ModelShape::KvPrecision::bf16);
  EXPECT_EQ(m.max_context_tokens, 131072u);
  EXPECT_NE(m.source.find("huggingface.co/Qwen/Qwen2.5-7B-Instruct"), std::string::npos);
  EXPECT_EQ(m.kv_bytes_per_token_per_layer(), 2u * 4 * 128 * 2);
}

TEST(ModelShape, Tiny) {
  const ModelShape m = load_model_shape("tiny");
  EXPECT_EQ(m.layers, 2u);
  EXPECT_EQ(m.query_heads, 4u);
  EXPECT_EQ(m.kv_heads, 2u);
  EXPECT_EQ(m.head_dim, 32u);
  EXPECT_EQ(m.precision, ModelShape::KvPrecision::bf16);
  EXPECT_EQ(m.max_context_tokens, 4096u);
  EXPECT_EQ(m.source, "test model (this project)");
  EXPECT_EQ(m.kv_bytes_per_token_per_layer(), 2u * 2 * 32 * 2);
}

TEST(ModelShape, EveryShippedFileLoadsAndIsNamedAfterItsFile) {
  const auto names = pnm::kernels::available_models();
  EXPECT_GE(names.size(), 3u);
  for (const auto& name : names) {
    SCOPED_TRACE(name);
    const ModelShape by_name = load_model_shape(name);
    EXPECT_EQ(by_name.name, name);
    const ModelShape by_path = load_model_shape(std::string(PNM_MODELS_DIR) + "/" + name + ".json");
    EXPECT_EQ(by_path.layers, by_name.layers);
  }
}

TEST(ModelShape, Int8HalvesTheKvBytes) {
  TempModel f("model_int8.json", good_model());
  const ModelShape m = load_model_shape(f.path);
  EXPECT_EQ(m.precision, ModelShape::KvPrecision::int8);
  EXPECT_EQ(m.kv_bytes_per_element(), 1u);
  EXPECT_EQ(m.kv_bytes_per_token_per_layer(), 2u * 2 * 64 * 1);
  EXPECT_EQ(m.file, f.path);
}

TEST(ModelShape, UnknownNameListsAvailableModels) {
  try {
    load_model_shape("llama-9000");
    FAIL() << "expected an error";
  } catch (const ConfigError& e) {
    const std::string msg = e.what();
    EXPECT_NE(msg.find("llama-9000"), std::string::npos) << msg;
    for (const char* n : {"llama-3.1-8b", "qwen2.5-7b-instruct", "tiny"})
      EXPECT_NE(msg.find(n), std::string::npos) << msg;
  }
}

TEST(ModelShape, MissingPathNamesIt) {
  const std::string path = pnm::test::temp_path("no_such_model.json");
  try {
    load_model_shape(path);
    FAIL() << "expected an error";
  } catch (const ConfigError& e) {
    EXPECT_NE(std::string(e.what()).find(path), std::string::npos) << e.what();
  }
}

TEST(ModelShape, UnknownKeyIsRejected) {
  auto doc = good_model();
  doc["kv_head"] = 2; // typo
  expect_error("model_unknown_key.json", doc, {"/kv_head", "unknown key"});
}

TEST(ModelShape, KvHeadsMustDivideQueryHeads) {
  auto doc = good_model();
  doc["kv_heads"] = 3;
  expect_error("model_kv_div.json", doc, {"/kv_heads", "does not divide", "8"});
}

TEST(ModelShape, SourceIsRequired) {
  auto doc = good_model();
  doc.erase("source");
  expect_error("model_no_source.json", doc, {"/source", "source"});
  doc["source"] = "";
  expect_error("model_empty_source.json", doc, {"/source"});
}

TEST(ModelShape, WrongTypesAreRejected) {
  auto doc = good_model();
  doc["layers"] = "32";
  expect_error("model_type_layers.json", doc, {"/layers", "integer", "string"});
  doc = good_model();
  doc["head_dim"] = 64.5;
  expect_error("model_type_head_dim.json", doc, {"/head_dim", "integer"});
  doc = good_model();
  doc["kv_precision"] = 8;
  expect_error("model_type_prec.json", doc, {"/kv_precision", "bf16|int8"});
}

TEST(ModelShape, RangesAreChecked) {
  auto doc = good_model();
  doc["layers"] = 0;
  expect_error("model_layers0.json", doc, {"/layers", "[1, 512]"});
  doc = good_model();
  doc["layers"] = 513;
  expect_error("model_layers513.json", doc, {"/layers", "[1, 512]"});
  doc = good_model();
  doc["head_dim"] = 512;
  expect_error("model_hd512.json", doc, {"/head_dim", "[16, 256]"});
  doc = good_model();
  doc["head_dim"] = 8;
  expect_error("model_hd8.json", doc, {"/head_dim", "[16, 256]"});
  doc = good_model();
  doc["head_dim"] = 72;
  expect_error("model_hd72.json", doc, {"/head_dim", "multiple of 16"});
  doc = good_model();
  doc["kv_heads"] = 0;
  expect_error("model_kv0.json", doc, {"/kv_heads", "[1, 1024]"});
  doc = good_model();
  doc["max_context_tokens"] = 0;
  expect_error("model_ctx0.json", doc, {"/max_context_tokens"});
  doc = good_model();
  doc["kv_precision"] = "fp8";
  expect_error("model_fp8.json", doc, {"/kv_precision", "fp8", "bf16|int8"});
}

TEST(ModelShape, MissingKeyAndWrongSchemaAreNamed) {
  auto doc = good_model();
  doc.erase("head_dim");
  expect_error("model_no_hd.json", doc, {"/head_dim", "missing"});
  doc = good_model();
  doc["schema"] = "pnmvp.platform.v1";
  expect_error("model_schema.json", doc, {"/schema", "pnmvp.model.v1"});
}

TEST(ModelShape, MalformedJsonNamesLine) {
  TempModel f("model_bad_json.json", std::string("{\n  \"layers\": 2,\n  oops\n}\n"));
  try {
    load_model_shape(f.path);
    FAIL() << "expected an error";
  } catch (const ConfigError& e) {
    EXPECT_NE(std::string(e.what()).find(f.path + ":3:"), std::string::npos) << e.what();
  }
}

TEST(ModelShape, ModelsDirCanBeOverridden) {
  namespace fs = std::filesystem;
  const fs::path dir = pnm::test::temp_path("models_dir");
  fs::create_directories(dir);
  std::ofstream(dir / "mine.json") << good_model().dump();
  setenv("PNMVP_MODELS", dir.c_str(), 1);
  EXPECT_EQ(load_model_shape("mine").layers, 4u);
  try {
    load_model_shape("tiny");
    ADD_FAILURE() << "tiny is not in the overriding folder";
  } catch (const ConfigError& e) {
    EXPECT_NE(std::string(e.what()).find("available: mine"), std::string::npos) << e.what();
  }
  unsetenv("PNMVP_MODELS");
  fs::remove_all(dir);
}
