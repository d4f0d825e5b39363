#include "eigennet/ops/int8_matmul.hpp"

#include <algorithm>
#include <stdexcept>

#include "eigennet/gemm.hpp"

namespace eigennet {

namespace {
Index product_of(Shape::const_iterator first, Shape::const_iterator last) {
  Index n = 1;
  for (; first != last; ++first) n *= *first;
  return n;
}

Shape int8_matmul_shape(const Shape& x, const Shape& kernel, const Shape& scale, Index contracted) {
  const std::string what = "int8 matmul: " + full_shape_string(x) + " @ " +
                           full_shape_string(kernel) + " / " + full_shape_string(scale);
  const auto m = static_cast<size_t>(contracted);
  if (contracted < 1 || x.size() < m || kernel.size() < m || is_batched(kernel) ||
      is_batched(scale))
    throw std::invalid_argument(what + ": needs " + std::to_string(contracted) +
                                " contracted axes in x and the kernel");
  if (!std::equal(x.end() - contracted, x.end(), kernel.begin()))
    throw std::invalid_argument(what + ": the contracted sizes differ");
  if (element_count(scale) != product_of(kernel.begin() + contracted, kernel.end()))
    throw std::invalid_argument(what + ": needs one scale per output column of the kernel");
  Shape out(x.begin(), x.end() - contracted);
  out.insert(out.end(), kernel.begin() + contracted, kernel.end());
  return out;
}
}  // namespace

template <class T>
Int8MatMulOp<T>::Int8MatMulOp(const Shape& x, const Shape& kernel, const Shape& kernel_scale,
                              Index contracted)
    : Op<T>("int8_matmul", {x, kernel, kernel_scale},
            int8_matmul_shape(x, kernel, kernel_scale, contracted)),
      k_(product_of(kernel.begin(), kernel.begin() + contracted)),
      n_(product_of(kernel.begin() + contracted, kernel.end())) {}

template <class T>
const PackedInt8B& Int8MatMulOp<T>::packed_kernel(const T* kernel) {
  const Int8Kernel choice = int8_kernel_in_use();
  const size_t size = static_cast<size_t>(k_ * n_);
  if (packed_from_.size() == size && packed_.kernel == choice &&
      std::equal(kernel, kernel + size, packed_from_.begin()))
    return packed_;
  packed_ = pack_whole_numbers(kernel, k_, n_, choice);
  packed_from_.assign(kernel, kernel + size);
  return packed_;
}

template <class T>
void Int8MatMulOp<T>::compute(const T* const* xs, T* y, bool) {
  const Index rows = element_count(this->in_shape(0)) / k_;
  const T* kscale = xs[2];
  products_.compute_rows(xs[0], rows, packed_kernel(xs[1]), "an int8 EinsumDense product",
                         [&](Index first, Index last) {
                           for (Index i = first; i < last; ++i) {
                             T* yi = y + i * n_;
#pragma omp simd
                             for (Index j = 0; j < n_; ++j)
                               yi[j] = products_.value(i, j, n_, kscale);
                           }
                         });
}

template <class T>
void Int8MatMulOp<T>::gradient(const T* const* xs, const T*, T* grad_y, T* const* grad_xs) {
  const Index rows = element_count(this->in_shape(0)) / k_;
  for (int i = 1; i < 3; ++i)
    if (grad_xs[i]) std::fill_n(grad_xs[i], i == 1 ? k_ * n_ : n_, T(0));
  if (!grad_xs[0]) return;
  MatrixMap<T> w = dequantized_.view(k_, n_);
  const T* kernel = xs[1];
  const T* kscale = xs[2];
  for (Index p = 0; p < k_; ++p)
    for (Index j = 0; j < n_; ++j) w(p, j) = kernel[p * n_ + j] / kscale[j];
  gemm<T>(false, true, rows, k_, n_, grad_y, n_, w.data(), n_, grad_xs[0], k_);
}

template class Int8MatMulOp<float>;
template class Int8MatMulOp<double>;

}  // namespace eigennet
