#include "serving/model_arch.h"

#include "common/config.h"

#include <fmt/format.h>

namespace pnm::serving {

namespace {
// Ranges shared with sw/kernels/model_shape.cpp, which accepts the same keys.
constexpr Range kWidthRange{1, 1 << 20};
constexpr Range kVocabRange{1, 1 << 24};
} // namespace

uint64_t ModelArch::attention_params_per_layer() const {
  return hidden * q_width() + 2 * hidden * kv_width() + q_width() * hidden;
}
uint64_t ModelArch::mlp_params_per_layer() const { return 3 * hidden * intermediate; }
uint64_t ModelArch::norm_params_per_layer() const { return 2 * hidden; }
uint64_t ModelArch::embedding_params() const { return vocab * hidden; }
uint64_t ModelArch::lm_head_params() const { return tied_embeddings ? 0 : vocab * hidden; }

uint64_t ModelArch::params() const {
  const uint64_t per_layer = attention_params_per_layer() + mlp_params_per_layer() + norm_params_per_layer();
  return uint64_t(shape.layers) * per_layer + embedding_params() + lm_head_params() + hidden /* final norm */;
}

uint64_t ModelArch::weight_bytes() const { return params() * weight_bytes_per_param; }

uint64_t ModelArch::kv_bytes_per_token() const { return uint64_t(shape.layers) * shape.kv_bytes_per_token_per_layer(); }

ModelArch load_model_arch(const std::string& name_or_path) {
  ModelArch a;
  a.shape = kernels::load_model_shape(name_or_path); // resolves the name, checks the shape keys
  ConfigNode n = ConfigNode::load_file(a.shape.file);
  a.source = n.require_source();
  auto need = [&](const char* key) {
    if (!n.has(key))
      n.fail(key, fmt::format("missing: the serving model needs the architecture keys hidden_size, "
                              "intermediate_size, vocab_size, tie_word_embeddings and weight_precision "
                              "(Hugging Face config.json names)"));
  };
  for (const char* k : {"hidden_size", "intermediate_size", "vocab_size", "tie_word_embeddings", "weight_precision"})
    need(k);
  a.hidden = uint64_t(n.integer("hidden_size", kWidthRange, "elements", "model width (hidden_size)"));
  a.intermediate = uint64_t(n.integer("intermediate_size", kWidthRange, "elements", "gated FFN width"));
  a.vocab = uint64_t(n.integer("vocab_size", kVocabRange, "tokens", "vocabulary size"));
  a.tied_embeddings = n.boolean("tie_word_embeddings", "lm_head shares the embedding matrix");
  const std::string wp = n.choice("weight_precision", {"bf16", "fp16", "fp8", "int8"}, "weight element type");
  a.weight_bytes_per_param = (wp == "fp8" || wp == "int8") ? 1 : 2;
  if (a.q_width() > a.hidden * 4 || a.q_width() * 4 < a.hidden)
    n.fail("hidden_size", fmt::format("{} is far from query_heads x head_dim = {}: not a model this loader "
                                      "understands (expected within a factor of 4)",
                                      a.hidden, a.q_width()));
  return a; // the shape keys were checked by load_model_shape; not calling finish() here
}

} // namespace pnm::serving
