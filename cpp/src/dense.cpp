#include "eigennet/layers/dense.hpp"

#include <stdexcept>
#include <string>

#include "eigennet/gemm.hpp"

namespace eigennet {

template <class T>
Dense<T>::Dense(Index units, Activation activation, bool use_bias)
    : units_(units), activation_(activation), use_bias_(use_bias) {
  if (units <= 0)
    throw std::invalid_argument("Dense units must be a positive integer, got " +
                                std::to_string(units));
}

template <class T>
Shape Dense<T>::do_build(const Shape& input_shape) {
  if (input_shape.empty())
    throw std::invalid_argument("Dense needs an input of rank >= 2 (batch, features)");
  in_ = input_shape.back();
  if (in_ <= 0) throw std::invalid_argument("Dense input's last dimension must be positive");
  this->add_weight("kernel", {in_, units_});
  if (use_bias_) this->add_weight("bias", {units_});
  Shape out = input_shape;
  out.back() = units_;
  return out;
}

// Dense acts on the last axis: a batch of rank-N samples is a (rows * outer, in) matrix.
template <class T>
void Dense<T>::forward(ConstMatrixMap<T> x, MatrixMap<T> y, bool) {
  const Index rows = x.size() / in_;
  ConstMatrixMap<T> xs(x.data(), rows, in_);
  MatrixMap<T> z(
      activation_needs_input(activation_) ? preactivation_.view(rows, units_).data() : y.data(),
      rows, units_);
  // Bias and an element-wise activation on each thread's block of the product, while it is in
  // cache; softmax acts on whole rows, after the product.
  const bool rowwise = activation_ == Activation::Softmax;
  const bool activate = activation_ != Activation::Linear || z.data() != y.data();
  const T* bias = use_bias_ ? this->weight(1) : nullptr;
  const auto add_bias = [&](Index r0, Index nr, Index c0, Index nc) {
    if (bias)
      for (Index r = r0; r < r0 + nr; ++r)
        RowVectorMap<T>(z.data() + r * units_ + c0, nc) += ConstRowVectorMap<T>(bias + c0, nc);
  };
  const auto bias_and_activation = [&](Index r0, Index nr, Index c0, Index nc) {
    add_bias(r0, nr, c0, nc);
    if (activate)
      activation_forward_rows<T>(activation_, z.data() + r0 * units_ + c0,
                                 y.data() + r0 * units_ + c0, nr, nc, units_);
  };
  const GemmEpilogue epilogue(bias_and_activation);
  gemm<T>(false, false, rows, units_, in_, xs.data(), in_, this->weight(0), units_, z.data(),
          units_, false, rowwise ? nullptr : &epilogue);
  if (rowwise) {
    add_bias(0, rows, 0, units_);
    activation_forward<T>(activation_, ConstMatrixMap<T>(z.data(), rows, units_), y);
  }
}

template <class T>
void Dense<T>::backward(ConstMatrixMap<T> x, ConstMatrixMap<T> y, MatrixMap<T> grad_y,
                        T* param_grad, MatrixMap<T>* grad_x) {
  const Index rows = x.size() / in_;
  ConstMatrixMap<T> xs(x.data(), rows, in_);
  MatrixMap<T> dz(grad_y.data(), rows, units_);
  const T* z = activation_needs_input(activation_) ? preactivation_.data() : y.data();
  activation_backward<T>(activation_, ConstMatrixMap<T>(z, rows, units_),
                         ConstMatrixMap<T>(y.data(), rows, units_), dz);
  if (param_grad) {
    gemm<T>(true, false, in_, units_, rows, xs.data(), in_, dz.data(), units_, param_grad, units_);
    if (use_bias_)
      RowVectorMap<T>(param_grad + in_ * units_, units_).noalias() = dz.colwise().sum();
  }
  if (grad_x) {
    gemm<T>(false, true, rows, in_, units_, dz.data(), units_, this->weight(0), units_,
            grad_x->data(), in_);
  }
}

template class Dense<float>;
template class Dense<double>;

}  // namespace eigennet
