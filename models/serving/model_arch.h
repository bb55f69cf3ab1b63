// The whole architecture of a decoder-only LLM, as the GPU cost model needs
// it: the attention shape the kernels use (kernels::ModelShape) plus the
// widths of the projections, the FFN and the vocabulary. Read from the same
// platforms/models/<name>.json files; the architecture keys (hidden_size,
// intermediate_size, vocab_size, tie_word_embeddings, weight_precision) are
// optional for the kernels and required here.
//
// Assumed layer (Llama/Qwen2 family): RMSNorm, Q/K/V projections, attention,
// output projection, RMSNorm, gated FFN (gate, up, down), a final RMSNorm and
// the lm_head (tied to the embedding or not). Biases (Qwen2's QKV bias, about
// 0.1 M parameters per model) are not counted.
#pragma once

#include "kernels/model_shape.h"

#include <cstdint>
#include <string>
#include <vector>

namespace pnm::serving {

struct ModelArch {
  kernels::ModelShape shape;   // layers, heads, head_dim, KV precision, context
  uint64_t hidden = 0;         // model width (hidden_size)
  uint64_t intermediate = 0;   // FFN width (intermediate_size)
  uint64_t vocab = 0;          // vocabulary (vocab_size)
  bool tied_embeddings = false; // lm_head shares the embedding matrix
  unsigned weight_bytes_per_param = 2; // bf16
  std::string source;          // where the numbers come from

  // Parameter counts by part (weights only).
  uint64_t q_width() const { return uint64_t(shape.query_heads) * shape.head_dim; }
  uint64_t kv_width() const { return uint64_t(shape.kv_heads) * shape.head_dim; }
  uint64_t attention_params_per_layer() const; // Q, K, V, O
  uint64_t mlp_params_per_layer() const;       // gate, up, down
  uint64_t norm_params_per_layer() const;      // two RMSNorm weights
  uint64_t embedding_params() const;           // vocab x hidden
  uint64_t lm_head_params() const;             // 0 when tied (shares the embedding)
  uint64_t params() const;                     // all of them, final norm included
  uint64_t weight_bytes() const;
  uint64_t kv_bytes_per_token() const;         // K+V, all layers
};

// Same name resolution as kernels::load_model_shape (a bare name is
// models_dir()/<name>.json, else a path). Throws pnm::ConfigError naming the
// file and the key when an architecture key is missing or out of range.
ModelArch load_model_arch(const std::string& name_or_path);

} // namespace pnm::serving
