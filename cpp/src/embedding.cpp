#include "eigennet/layers/embedding.hpp"

#include <algorithm>
#include <cmath>
#include <stdexcept>
#include <string>

namespace eigennet {

template <class T>
Embedding<T>::Embedding(Index input_dim, Index output_dim)
    : input_dim_(input_dim), output_dim_(output_dim) {
  if (input_dim <= 0 || output_dim <= 0)
    throw std::invalid_argument("Embedding input_dim and output_dim must be positive");
}

template <class T>
Shape Embedding<T>::do_build(const Shape& input_shape) {
  this->add_weight("embeddings", {input_dim_, output_dim_});
  Shape out = input_shape;
  out.push_back(output_dim_);
  return out;
}

template <class T>
void Embedding<T>::forward(ConstMatrixMap<T> x, MatrixMap<T> y, bool) {
  const T* index = x.data();
  const Index n = x.size();
  for (Index i = 0; i < n; ++i) {
    const T v = index[i];
    if (!(v >= T(0) && v < T(input_dim_)) || v != std::floor(v)) {
      const Index row = i / std::max<Index>(x.cols(), 1);
      throw std::invalid_argument("Embedding: input value " + std::to_string(double(v)) +
                                  " (sample " + std::to_string(row) +
                                  ") is not an integer index in [0, " + std::to_string(input_dim_) +
                                  ")");
    }
  }
  const T* table = this->params();
  T* out = y.data();
  for (Index i = 0; i < n; ++i)
    std::copy_n(table + static_cast<Index>(index[i]) * output_dim_, output_dim_,
                out + i * output_dim_);
}

template <class T>
void Embedding<T>::backward(ConstMatrixMap<T> x, ConstMatrixMap<T>, MatrixMap<T> grad_y,
                            T* param_grad, MatrixMap<T>* grad_x) {
  if (grad_x) grad_x->setZero();  // indices carry no gradient
  if (!param_grad) return;
  std::fill_n(param_grad, this->param_count(), T(0));
  const T* index = x.data();
  const T* dy = grad_y.data();
  for (Index i = 0; i < x.size(); ++i) {
    T* row = param_grad + static_cast<Index>(index[i]) * output_dim_;
    const T* g = dy + i * output_dim_;
#pragma omp simd
    for (Index j = 0; j < output_dim_; ++j) row[j] += g[j];
  }
}

template class Embedding<float>;
template class Embedding<double>;

}  // namespace eigennet
