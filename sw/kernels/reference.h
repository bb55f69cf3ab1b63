// Double-precision reference of decode attention, the yardstick for every
// kernel: dense attention, top-k token attention (the engine's selection
// rule: higher scaled score first, lower token index on ties), and the
// softmax-weighted sum over given rows that the host-side kernels compute.
#pragma once

#include <cstdint>
#include <vector>

namespace pnm::kernels {

struct AttentionShape {
  unsigned heads = 0, kv_heads = 0, head_dim = 0;
  uint32_t seq_len = 0;
  double scale = 0; // 1/sqrt(head_dim) unless the user says otherwise
  unsigned group() const { return heads / kv_heads; }
};

// q: [heads][d]; k, v: [kv_heads][seq_len][d]. Returns O: [heads][d].
// K and V come as doubles, or as the raw BF16 bits the device holds (a
// quarter of the memory; converted one KV head at a time).
std::vector<double> attention_dense(const AttentionShape& s, const std::vector<double>& q,
                                    const std::vector<double>& k, const std::vector<double>& v);
std::vector<double> attention_dense(const AttentionShape& s, const std::vector<double>& q,
                                    const std::vector<uint16_t>& k_bf16, const std::vector<uint16_t>& v_bf16);
// Attention over the top `topk` tokens of each query head; `selected`, if
// given, receives each head's tokens in ascending order.
std::vector<double> attention_topk(const AttentionShape& s, const std::vector<double>& q,
                                   const std::vector<double>& k, const std::vector<double>& v,
                                   uint32_t topk, std::vector<std::vector<uint32_t>>* selected = nullptr);
std::vector<double> attention_topk(const AttentionShape& s, const std::vector<double>& q,
                                   const std::vector<uint16_t>& k_bf16, const std::vector<uint16_t>& v_bf16,
                                   uint32_t topk);
// Attention over the tokens of the top `pages` pages of `page_tokens`
// tokens each (a page scores as its best token), per query head.
std::vector<double> attention_topk_pages(const AttentionShape& s, const std::vector<double>& q,
                                         const std::vector<double>& k, const std::vector<double>& v,
                                         uint32_t pages, uint32_t page_tokens);
std::vector<double> attention_topk_pages(const AttentionShape& s, const std::vector<double>& q,
                                         const std::vector<uint16_t>& k_bf16, const std::vector<uint16_t>& v_bf16,
                                         uint32_t pages, uint32_t page_tokens);
// One head: softmax(scale * K q) weighted sum of V over n rows (row-major n x d).
std::vector<double> attend_rows(const double* q, const double* k_rows, const double* v_rows, uint32_t n,
                                unsigned d, double scale);

// BF16 <-> float (round to nearest even; NaN stays NaN).
uint16_t to_bf16(float f);
float from_bf16(uint16_t h);

} // namespace pnm::kernels
