#include "pnm/softmax_unit.h"

#include <cmath>
#include <limits>

namespace pnm::engine {

void SoftmaxUnit::reset(int head_dim) {
  m_ = -std::numeric_limits<float>::infinity();
  l_ = 0.0f;
  acc_.assign(static_cast<size_t>(head_dim > 0 ? head_dim : 0), 0.0f);
}

void SoftmaxUnit::rescale_to(float new_max) {
  const float target = new_max > m_ ? new_max : m_;
  if (std::isfinite(m_)) {
    // Always applied (c = 1 when the max stays), as the hardware does: its
    // cost does not depend on the data. While m is -inf, l and acc are 0.
    const float c = std::exp(m_ - target);
    ++exps_;
    l_ = l_ * c;
    for (float& a : acc_) a = a * c;
    macs_ += acc_.size();
  }
  m_ = target;
}

void SoftmaxUnit::accumulate(float s, const float* v) {
  const float p = std::exp(s - m_);
  ++exps_;
  l_ = l_ + p;
  for (size_t j = 0; j < acc_.size(); ++j) {
    const float prod = p * v[j];
    acc_[j] = acc_[j] + prod;
  }
  macs_ += acc_.size();
}

void SoftmaxUnit::finish(float* out, float out_scale) const {
  for (size_t j = 0; j < acc_.size(); ++j) out[j] = (acc_[j] / l_) * out_scale;
}

} // namespace pnm::engine
