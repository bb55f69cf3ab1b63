// The attention shape of an LLM, as the decode kernels need it: how many layers
// and heads, how wide a head is, how the KV cache is stored. Read from
// platforms/models/<name>.json through the project's one config loader.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace pnm::kernels {

struct ModelShape {
  std::string name;
  std::string file; // the JSON file it was read from
  unsigned layers = 0;
  unsigned query_heads = 0;
  unsigned kv_heads = 0; // grouped-query attention: query_heads / kv_heads query heads share one
  unsigned head_dim = 0;
  enum class KvPrecision { bf16, int8 } precision = KvPrecision::bf16;
  uint64_t max_context_tokens = 0;
  std::string source; // where the numbers come from

  unsigned kv_bytes_per_element() const;
  // K and V rows of one token in one layer, over all KV heads.
  uint64_t kv_bytes_per_token_per_layer() const;
  unsigned group() const { return query_heads / kv_heads; } // query heads per KV head
};

const char* precision_name(ModelShape::KvPrecision p);

// The folder bare model names resolve in: $PNMVP_MODELS if set, else platforms/models.
std::string models_dir();
// Bare names of the models in models_dir(), sorted.
std::vector<std::string> available_models();

// A bare name ("llama-3.1-8b") is models_dir()/<name>.json; anything with a '/' or ending in
// ".json" is a path. Throws pnm::ConfigError naming file + key path + allowed range, or, for
// an unknown name, listing the available models.
ModelShape load_model_shape(const std::string& name_or_path);

} // namespace pnm::kernels
