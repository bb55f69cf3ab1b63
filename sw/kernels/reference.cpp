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

std::vector<double> attention_dense(const AttentionShape& s, const std::vector<double>& q,
                                    const std::vector<double>& k, const std::vector<double>& v) {
  const unsigned d = s.head_dim;
  std::vector<double> out(uint64_t{s.heads} * d);
  for (unsigned h = 0; h < s.heads; ++h) {
    const uint64_t kv = uint64_t{h / s.group()} * s.seq_len * d;
    const auto o = attend_rows(&q[uint64_t{h} * d], &k[kv], &v[kv], s.seq_len, d, s.scale);
    std::copy(o.begin(), o.end(), out.begin() + uint64_t{h} * d);
  }
  return out;
}

std::vector<double> attention_topk(const AttentionShape& s, const std::vector<double>& q,
                                   const std::vector<double>& k, const std::vector<double>& v,
                                   uint32_t topk, std::vector<std::vector<uint32_t>>* selected) {
  const unsigned d = s.head_dim;
  std::vector<double> out(uint64_t{s.heads} * d);
  if (selected) selected->assign(s.heads, {});
  for (unsigned h = 0; h < s.heads; ++h) {
    const uint64_t kv = uint64_t{h / s.group()} * s.seq_len * d;
    Eigen::Map<const Eigen::VectorXd> qv(&q[uint64_t{h} * d], d);
    Eigen::Map<const RowMat> K(&k[kv], s.seq_len, d);
    const Eigen::VectorXd sc = K * qv;
    std::vector<uint32_t> order(s.seq_len);
    std::iota(order.begin(), order.end(), 0u);
    std::stable_sort(order.begin(), order.end(), [&](uint32_t a, uint32_t b) { return sc[a] > sc[b]; });
    order.resize(std::min<uint32_t>(topk, s.seq_len));
    std::sort(order.begin(), order.end());
    std::vector<double> kr, vr;
    for (uint32_t t : order) {
      kr.insert(kr.end(), &k[kv + uint64_t{t} * d], &k[kv + uint64_t{t} * d] + d);
      vr.insert(vr.end(), &v[kv + uint64_t{t} * d], &v[kv + uint64_t{t} * d] + d);
    }
    const auto o = attend_rows(&q[uint64_t{h} * d], kr.data(), vr.data(), uint32_t(order.size()), d, s.scale);
    std::copy(o.begin(), o.end(), out.begin() + uint64_t{h} * d);
    if (selected) (*selected)[h] = std::move(order);
  }
  return out;
}

std::vector<double> attention_topk_pages(const AttentionShape& s, const std::vector<double>& q,
                                         const std::vector<double>& k, const std::vector<double>& v,
                                         uint32_t pages, uint32_t page_tokens) {
  const unsigned d = s.head_dim;
  const uint32_t n_pages = (s.seq_len + page_tokens - 1) / page_tokens;
  std::vector<double> out(uint64_t{s.heads} * d);
  for (unsigned h = 0; h < s.heads; ++h) {
    const uint64_t kv = uint64_t{h / s.group()} * s.seq_len * d;
    Eigen::Map<const Eigen::VectorXd> qv(&q[uint64_t{h} * d], d);
    Eigen::Map<const RowMat> K(&k[kv], s.seq_len, d);
    const Eigen::VectorXd sc = K * qv;
    std::vector<double> best(n_pages, -INFINITY);
    for (uint32_t t = 0; t < s.seq_len; ++t) best[t / page_tokens] = std::max(best[t / page_tokens], sc[t]);
    std::vector<uint32_t> order(n_pages);
    std::iota(order.begin(), order.end(), 0u);
    std::stable_sort(order.begin(), order.end(), [&](uint32_t a, uint32_t b) { return best[a] > best[b]; });
    order.resize(std::min(pages, n_pages));
    std::sort(order.begin(), order.end());
    std::vector<double> kr, vr;
    uint32_t n = 0;
    for (uint32_t p : order)
      for (uint32_t t = p * page_tokens; t < std::min(s.seq_len, (p + 1) * page_tokens); ++t, ++n) {
        kr.insert(kr.end(), &k[kv + uint64_t{t} * d], &k[kv + uint64_t{t} * d] + d);
        vr.insert(vr.end(), &v[kv + uint64_t{t} * d], &v[kv + uint64_t{t} * d] + d);
      }
    const auto o = attend_rows(&q[uint64_t{h} * d], kr.data(), vr.data(), n, d, s.scale);
    std::copy(o.begin(), o.end(), out.begin() + uint64_t{h} * d);
  }
  return out;
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
