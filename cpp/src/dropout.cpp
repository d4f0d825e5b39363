#include "eigennet/layers/dropout.hpp"

#include <stdexcept>
#include <string>

#include "eigennet/random.hpp"
#include "eigennet/threading.hpp"

namespace eigennet {

template <class T>
Dropout<T>::Dropout(double rate, uint64_t seed) : rate_(rate), stream_(seed) {
  if (!(rate >= 0 && rate <= 1))
    throw std::invalid_argument("Dropout rate must be in [0, 1], got " + std::to_string(rate));
}

template <class T>
void Dropout<T>::forward(ConstMatrixMap<T> x, MatrixMap<T> y, bool training) {
  masked_ = training && rate_ > 0;
  if (!masked_) {
    if (y.data() != x.data()) y = x;
    return;
  }
  const Index n = x.size();
  T* mask = mask_.view(x.rows(), x.cols()).data();
  const T* in = x.data();
  T* out = y.data();
  // As Keras: x / keep_prob with keep_prob = 1 - rate (in double, then in T); rate 1 -> zeros.
  const T keep_prob = T(1.0 - rate_);
  const float rate = float(rate_);
  const uint64_t seed = stream_.seed(), draw = stream_.next_draw();
#pragma omp parallel for schedule(static) if (parallel_for_worth(n))
  for (Index i = 0; i < n; ++i) {
    mask[i] = uniform01(seed, draw, static_cast<uint64_t>(i)) >= rate ? T(1) : T(0);
    out[i] = mask[i] != T(0) ? in[i] / keep_prob : T(0);
  }
}

template <class T>
void Dropout<T>::backward(ConstMatrixMap<T>, ConstMatrixMap<T>, MatrixMap<T> grad_y, T*,
                          MatrixMap<T>* grad_x) {
  if (!grad_x) return;
  if (masked_) {
    const T keep_prob = T(1.0 - rate_);
    const T* mask = mask_.data();
    T* dx = grad_x->data();
    const T* dy = grad_y.data();
    for (Index i = 0; i < grad_y.size(); ++i) dx[i] = mask[i] != T(0) ? dy[i] / keep_prob : T(0);
  } else {
    *grad_x = grad_y;
  }
}

template class Dropout<float>;
template class Dropout<double>;

}  // namespace eigennet
