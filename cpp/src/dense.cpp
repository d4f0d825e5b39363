#include "eigennet/layers/dense.hpp"

#include <stdexcept>
#include <string>
#include <type_traits>

#include "eigennet/gemm.hpp"
#include "eigennet/parallel_passes.hpp"

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

template <class T>
Shape Dense<T>::do_build_inputs(const std::vector<Shape>& input_shapes) {
  if (!residual_) return Layer<T>::do_build_inputs(input_shapes);
  if (input_shapes.size() != 2)
    throw std::invalid_argument("a Dense with a residual takes two inputs");
  const Shape out = do_build(input_shapes[0]);
  if (input_shapes[1] != out)
    throw std::invalid_argument("Dense: the residual " + shape_string(input_shapes[1]) +
                                " does not have the output's shape " + shape_string(out));
  return out;
}

template <class T>
std::shared_ptr<Layer<T>> Dense<T>::with_residual(Activation activation) const {
  if (residual_ || activation_ != Activation::Linear)
    throw std::logic_error("Dense::with_residual needs a linear Dense without a residual");
  if (activation == Activation::Softmax)
    throw std::invalid_argument("Dense::with_residual: softmax is not element-wise");
  auto copy = std::make_shared<Dense>(*this);
  copy->residual_ = true;
  copy->activation_ = activation;
  return copy->for_input_shapes({this->input_shape(), this->output_shape()});
}

template <class T>
void dense_forward(ConstMatrixMap<T> x, const T* kernel, const T* bias, Index units,
                   Activation activation, MatrixMap<T> y, Workspace<T>& preactivation,
                   const T* residual) {
  const Index rows = x.rows(), in = x.cols();
  MatrixMap<T> z(
      activation_needs_input(activation) ? preactivation.view(rows, units).data() : y.data(), rows,
      units);
  // Bias and an element-wise activation on each thread's block of the product, while it is in
  // cache (bias and relu in the fp32 kernel's registers, before the store); softmax acts on
  // whole rows, after the product.
  const bool rowwise = activation == Activation::Softmax;
  const bool activate = activation != Activation::Linear || z.data() != y.data();
  const auto add_bias = [&](Index r0, Index nr, Index c0, Index nc) {
    if (bias)
      for (Index r = r0; r < r0 + nr; ++r)
        RowVectorMap<T>(z.data() + r * units + c0, nc) += ConstRowVectorMap<T>(bias + c0, nc);
    if (residual)
      for (Index r = r0; r < r0 + nr; ++r)
        RowVectorMap<T>(z.data() + r * units + c0, nc) +=
            ConstRowVectorMap<T>(residual + r * units + c0, nc);
  };
  const auto bias_and_activation = [&](Index r0, Index nr, Index c0, Index nc) {
    add_bias(r0, nr, c0, nc);
    if (activate)
      activation_forward_rows<T>(activation, z.data() + r0 * units + c0, y.data() + r0 * units + c0,
                                 nr, nc, units);
  };
  GemmEpilogue epilogue(bias_and_activation);
  if constexpr (std::is_same_v<T, float>)
    if (z.data() == y.data() &&
        (activation == Activation::Linear || activation == Activation::Relu))
      epilogue.in_registers(bias, activation == Activation::Relu, residual);
  gemm<T>(false, false, rows, units, in, x.data(), in, kernel, units, z.data(), units, false,
          rowwise ? nullptr : &epilogue);
  if (rowwise) {
    add_bias(0, rows, 0, units);
    activation_forward<T>(activation, ConstMatrixMap<T>(z.data(), rows, units), y);
  }
}

template <class T>
void dense_backward(ConstMatrixMap<T> x, ConstMatrixMap<T> y, MatrixMap<T> grad_y, const T* kernel,
                    Activation activation, const Workspace<T>& preactivation, T* kernel_grad,
                    T* bias_grad, T* grad_x) {
  const Index rows = x.rows(), in = x.cols(), units = y.cols();
  const T* z = activation_needs_input(activation) ? preactivation.data() : y.data();
  activation_backward<T>(activation, ConstMatrixMap<T>(z, rows, units), y, grad_y);
  if (kernel_grad)
    gemm<T>(true, false, in, units, rows, x.data(), in, grad_y.data(), units, kernel_grad, units);
  if (bias_grad) column_sums(grad_y.data(), rows, units, bias_grad);
  if (grad_x)
    gemm<T>(false, true, rows, in, units, grad_y.data(), units, kernel, units, grad_x, in);
}

template <class T>
void Dense<T>::forward_inputs(const ConstMatrixMap<T>* xs, size_t, MatrixMap<T> y, bool) {
  forward_with(xs[0], y, residual_ ? xs[1].data() : nullptr);
}

template <class T>
void Dense<T>::backward_inputs(const ConstMatrixMap<T>* xs, size_t n, ConstMatrixMap<T> y,
                               MatrixMap<T> grad_y, T* param_grad, MatrixMap<T>* const* grad_xs) {
  if (!residual_) return Layer<T>::backward_inputs(xs, n, y, grad_y, param_grad, grad_xs);
  backward(xs[0], y, grad_y, param_grad, grad_xs[0]);  // grad_y becomes dL/d(x · kernel + ...)
  if (grad_xs[1]) parallel_copy(grad_y.data(), grad_y.size(), grad_xs[1]->data());
}

// Dense acts on the last axis: a batch of rank-N samples is a (rows * outer, in) matrix.
template <class T>
void Dense<T>::forward(ConstMatrixMap<T> x, MatrixMap<T> y, bool) {
  forward_with(x, y, nullptr);
}

template <class T>
void Dense<T>::forward_with(ConstMatrixMap<T> x, MatrixMap<T> y, const T* residual) {
  const Index rows = x.size() / in_;
  dense_forward<T>(ConstMatrixMap<T>(x.data(), rows, in_), this->weight(0),
                   use_bias_ ? this->weight(1) : nullptr, units_, activation_,
                   MatrixMap<T>(y.data(), rows, units_), preactivation_, residual);
}

template <class T>
void Dense<T>::backward(ConstMatrixMap<T> x, ConstMatrixMap<T> y, MatrixMap<T> grad_y,
                        T* param_grad, MatrixMap<T>* grad_x) {
  const Index rows = x.size() / in_;
  dense_backward<T>(
      ConstMatrixMap<T>(x.data(), rows, in_), ConstMatrixMap<T>(y.data(), rows, units_),
      MatrixMap<T>(grad_y.data(), rows, units_), this->weight(0), activation_, preactivation_,
      param_grad, param_grad && use_bias_ ? param_grad + in_ * units_ : nullptr,
      grad_x ? grad_x->data() : nullptr);
}

template class Dense<float>;
template class Dense<double>;
template void dense_forward<float>(ConstMatrixMap<float>, const float*, const float*, Index,
                                   Activation, MatrixMap<float>, Workspace<float>&, const float*);
template void dense_forward<double>(ConstMatrixMap<double>, const double*, const double*, Index,
                                    Activation, MatrixMap<double>, Workspace<double>&,
                                    const double*);
template void dense_backward<float>(ConstMatrixMap<float>, ConstMatrixMap<float>, MatrixMap<float>,
                                    const float*, Activation, const Workspace<float>&, float*,
                                    float*, float*);
template void dense_backward<double>(ConstMatrixMap<double>, ConstMatrixMap<double>,
                                     MatrixMap<double>, const double*, Activation,
                                     const Workspace<double>&, double*, double*, double*);

}  // namespace eigennet
