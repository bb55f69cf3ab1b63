#include "kernels/reference.h"

#include <Eigen/Dense>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <numeric>

namespace pnm::kernels {

namespace {
using RowMat = Eigen::Matrix<double, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
}

std::vector<double> attend_rows(const double* q, const double* k_rows, const double* v_rows, uint32_t n,
                                unsigned d, double scale) {
  Eigen::Map<const Eigen::VectorXd> qv(q, d);
  Eigen::Map<const RowMat> K(k_rows, n, d), V(v_rows, n, d);
  const Eigen::VectorXd s = (K * qv) * scale;
  const Eigen::VectorXd p = (s.array() - s.maxCoeff()).exp();
  const Eigen::VectorXd o = (V.transpose() * p) / p.sum();
  return std::vector<double>(o.data(), o.data() + d);
}

namespace {
double value(double x) { return x; }
double value(uint16_t bf16) { return from_bf16(bf16); }

// One KV head's K or V rows as doubles.
template <typename T> RowMat head_rows(const AttentionShape& s, const std::vector<T>& x, unsigned g) {
  const unsigned d = s.head_dim;
  RowMat m(s.seq_len, d);
  const T* p = &x[uint64_t{g} * s.seq_len * d];
  for (uint64_t i = 0; i < uint64_t{s.seq_len} * d; ++i) m.data()[i] = value(p[i]);
  return m;
}

// Which tokens each query head attends: all (select == nullptr), or as `select`
// picks from the head's scaled-free scores.
template <typename T, typename Select>
std::vector<double> attention(const AttentionShape& s, const std::vector<double>& q, const std::vector<T>& k,
                              const std::vector<T>& v, Select select) {
  const unsigned d = s.head_dim;
  std::vector<double> out(uint64_t{s.heads} * d);
  for (unsigned g = 0; g < s.kv_heads; ++g) {
    const RowMat K = head_rows(s, k, g), V = head_rows(s, v, g);
    for (unsigned h = g * s.group(); h < (g + 1) * s.group(); ++h) {
      Eigen::Map<const Eigen::VectorXd> qv(&q[uint64_t{h} * d], d);
      const Eigen::VectorXd sc = K * qv;
      const std::vector<uint32_t> tokens = select(sc);
      RowMat kr(tokens.size(), d), vr(tokens.size(), d);
      for (size_t i = 0; i < tokens.size(); ++i) {
        kr.row(i) = K.row(tokens[i]);
        vr.row(i) = V.row(tokens[i]);
      }
      const auto o = attend_rows(&q[uint64_t{h} * d], kr.data(), vr.data(), uint32_t(tokens.size()), d, s.scale);
      std::copy(o.begin(), o.end(), out.begin() + uint64_t{h} * d);
    }
  }
  return out;
}

// The engine's selection rule: higher score first, lower index on ties; ascending result.
std::vector<uint32_t> best(const Eigen::VectorXd& score, uint32_t k) {
  std::vector<uint32_t> order(score.size());
  std::iota(order.begin(), order.end(), 0u);
  std::stable_sort(order.begin(), order.end(), [&](uint32_t a, uint32_t b) { return score[a] > score[b]; });
  order.resize(std::min<size_t>(k, order.size()));
  std::sort(order.begin(), order.end());
  return order;
}

auto all_tokens(const AttentionShape& s) {
  return [&s](const Eigen::VectorXd&) {
    std::vector<uint32_t> t(s.seq_len);
    std::iota(t.begin(), t.end(), 0u);
    return t;
  };
}

auto top_tokens(uint32_t k) {
  return [k](const Eigen::VectorXd& sc) { return best(sc, k); };
}

auto top_pages(const AttentionShape& s, uint32_t pages, uint32_t page_tokens) {
  return [&s, pages, page_tokens](const Eigen::VectorXd& sc) {
    const uint32_t n_pages = (s.seq_len + page_tokens - 1) / page_tokens;
    Eigen::VectorXd page_best = Eigen::VectorXd::Constant(n_pages, -INFINITY);
    for (uint32_t t = 0; t < s.seq_len; ++t) page_best[t / page_tokens] = std::max(page_best[t / page_tokens], sc[t]);
    std::vector<uint32_t> tokens;
    for (uint32_t p : best(page_best, pages))
      for (uint32_t t = p * page_tokens; t < std::min(s.seq_len, (p + 1) * page_tokens); ++t) tokens.push_back(t);
    return tokens;
  };
}
} // namespace

std::vector<double> attention_dense(const AttentionShape& s, const std::vector<double>& q,
                                    const std::vector<double>& k, const std::vector<double>& v) {
  return attention(s, q, k, v, all_tokens(s));
}
std::vector<double> attention_dense(const AttentionShape& s, const std::vector<double>& q,
                                    const std::vector<uint16_t>& k, const std::vector<uint16_t>& v) {
  return attention(s, q, k, v, all_tokens(s));
}

std::vector<double> attention_topk(const AttentionShape& s, const std::vector<double>& q,
                                   const std::vector<double>& k, const std::vector<double>& v, uint32_t topk,
                                   std::vector<std::vector<uint32_t>>* selected) {
  if (selected) {
    selected->assign(s.heads, {});
    auto record = [&, h = 0u](const Eigen::VectorXd& sc) mutable {
      auto t = best(sc, topk);
      (*selected)[h++] = t;
      return t;
    };
    return attention(s, q, k, v, record);
  }
  return attention(s, q, k, v, top_tokens(topk));
}
std::vector<double> attention_topk(const AttentionShape& s, const std::vector<double>& q,
                                   const std::vector<uint16_t>& k, const std::vector<uint16_t>& v, uint32_t topk) {
  return attention(s, q, k, v, top_tokens(topk));
}

std::vector<double> attention_topk_pages(const AttentionShape& s, const std::vector<double>& q,
                                         const std::vector<double>& k, const std::vector<double>& v,
                                         uint32_t pages, uint32_t page_tokens) {
  return attention(s, q, k, v, top_pages(s, pages, page_tokens));
}
std::vector<double> attention_topk_pages(const AttentionShape& s, const std::vector<double>& q,
                                         const std::vector<uint16_t>& k, const std::vector<uint16_t>& v,
                                         uint32_t pages, uint32_t page_tokens) {
  return attention(s, q, k, v, top_pages(s, pages, page_tokens));
}

uint16_t to_bf16(float f) {
  uint32_t b;
  std::memcpy(&b, &f, 4);
  if ((b & 0x7FFFFFFFu) > 0x7F800000u) return static_cast<uint16_t>((b >> 16) | 0x40); // quiet NaN
  b += 0x7FFFu + ((b >> 16) & 1u);
  return static_cast<uint16_t>(b >> 16);
}

float from_bf16(uint16_t h) {
  const uint32_t b = uint32_t{h} << 16;
  float f;
  std::memcpy(&f, &b, 4);
  return f;
}

} // namespace pnm::kernels
