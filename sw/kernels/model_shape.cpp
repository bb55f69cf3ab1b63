#include "kernels/model_shape.h"

#include "common/config.h"
#include "common/resources.h"

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fmt/format.h>
#include <system_error>

namespace pnm::kernels {

namespace {
constexpr const char* kSchema = "pnmvp.model.v1";
constexpr Range kLayersRange{1, 512};
constexpr Range kHeadsRange{1, 1024};
constexpr Range kHeadDimRange{16, 256};
constexpr unsigned kHeadDimMultiple = 16; // the engine's dot datapath takes heads in 16-lane chunks
constexpr Range kContextTokensRange{1, 1 << 24};
} // namespace

unsigned ModelShape::kv_bytes_per_element() const {
  // INT8 KV uses per-tensor scales carried in the job descriptor: no per-token scale bytes.
  return precision == KvPrecision::int8 ? 1 : 2;
}

uint64_t ModelShape::kv_bytes_per_token_per_layer() const {
  return 2ull * kv_heads * head_dim * kv_bytes_per_element(); // K and V
}

const char* precision_name(ModelShape::KvPrecision p) {
  return p == ModelShape::KvPrecision::int8 ? "int8" : "bf16";
}

std::string models_dir() {
  if (const char* env = std::getenv("PNMVP_MODELS")) return env;
  return resources::platforms_dir() + "/models";
}

std::vector<std::string> available_models() {
  return resources::names_in(models_dir());
}

ModelShape load_model_shape(const std::string& name_or_path) {
  const std::string file = resources::resolve_named(name_or_path, models_dir(), "model");
  ConfigNode n = ConfigNode::load_file(file);
  const std::string schema = n.text("schema", "model file format");
  if (schema != kSchema)
    n.fail("schema", fmt::format("'{}' is not a model file (expected {})", schema, kSchema));

  ModelShape m;
  m.file = file;
  m.name = n.text("name", "model name");
  if (m.name.empty()) n.fail("name", "must not be empty");
  m.source = n.require_source();
  m.layers = static_cast<unsigned>(
      n.integer("layers", kLayersRange, "", "transformer layers (each has a KV cache)"));
  m.query_heads = static_cast<unsigned>(
      n.integer("query_heads", kHeadsRange, "", "attention (query) heads per layer"));
  m.kv_heads = static_cast<unsigned>(
      n.integer("kv_heads", kHeadsRange, "", "key/value heads per layer (GQA groups)"));
  if (m.query_heads % m.kv_heads != 0)
    n.fail("kv_heads", fmt::format("{} does not divide query_heads {} (grouped-query attention shares "
                                   "each KV head among a whole number of query heads)",
                                   m.kv_heads, m.query_heads));
  m.head_dim = static_cast<unsigned>(n.integer("head_dim", kHeadDimRange, "elements", "width of one head"));
  if (m.head_dim % kHeadDimMultiple != 0)
    n.fail("head_dim", fmt::format("{} is not a multiple of {}", m.head_dim, kHeadDimMultiple));
  m.precision = n.choice("kv_precision", {"bf16", "int8"}, "KV cache element type") == "int8"
                    ? ModelShape::KvPrecision::int8
                    : ModelShape::KvPrecision::bf16;
  m.max_context_tokens = static_cast<uint64_t>(
      n.integer("max_context_tokens", kContextTokensRange, "tokens", "longest context the model supports"));
  // Architecture keys the serving layer reads (models/serving/model_arch.h):
  // optional here, checked when present so that a typo still fails.
  if (n.has("hidden_size")) n.integer("hidden_size", {1, 1 << 20}, "elements", "model width");
  if (n.has("intermediate_size")) n.integer("intermediate_size", {1, 1 << 20}, "elements", "gated FFN width");
  if (n.has("vocab_size")) n.integer("vocab_size", {1, 1 << 24}, "tokens", "vocabulary size");
  if (n.has("tie_word_embeddings")) n.boolean("tie_word_embeddings", "lm_head shares the embedding matrix");
  if (n.has("weight_precision")) n.choice("weight_precision", {"bf16", "fp16", "fp8", "int8"}, "weight element type");
  n.finish();
  return m;
}

} // namespace pnm::kernels
