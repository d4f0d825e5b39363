// Element-wise and row-wise activations with Keras 3 definitions
// (leaky_relu slope 0.2, elu alpha 1, gelu in its exact erf form).
#pragma once

#include <string>
#include <vector>

#include "eigennet/tensor.hpp"

namespace eigennet {

enum class Activation {
  Linear,
  Relu,
  Sigmoid,
  Tanh,
  Softmax,
  LeakyRelu,
  Elu,
  Selu,
  Gelu,
  Softplus,
  Swish
};

// Parses a Keras activation name ("silu" is swish). Throws std::invalid_argument naming the
// valid names for an unknown one.
Activation activation_from_name(const std::string& name);
std::vector<std::string> activation_names();

// True when the backward pass needs the activation's input (not only its output).
bool activation_needs_input(Activation a);

// y = act(x); x and y may alias.
template <class T>
void activation_forward(Activation a, ConstMatrixMap<T> x, MatrixMap<T> y);

// The same on `rows` rows of `cols` values, leading dimension ld, on the calling thread: a
// block of a wider matrix (a gemm() epilogue). Element-wise activations only (not Softmax).
template <class T>
void activation_forward_rows(Activation a, const T* x, T* y, Index rows, Index cols, Index ld);

// In place: grad holds dL/dy on entry and dL/dx on return. x is needed only when
// activation_needs_input(a); otherwise it may be any map (it is not read).
template <class T>
void activation_backward(Activation a, ConstMatrixMap<T> x, ConstMatrixMap<T> y, MatrixMap<T> grad);

}  // namespace eigennet
