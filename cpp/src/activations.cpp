#include "eigennet/activations.hpp"

#include <cmath>
#include <stdexcept>
#include <unsupported/Eigen/SpecialFunctions>

#include "eigennet/row_blocks.hpp"

namespace eigennet {
namespace {

struct Named {
  const char* name;
  Activation value;
};
constexpr Named kNames[] = {
    {"linear", Activation::Linear},   {"relu", Activation::Relu},
    {"sigmoid", Activation::Sigmoid}, {"tanh", Activation::Tanh},
    {"softmax", Activation::Softmax}, {"leaky_relu", Activation::LeakyRelu},
    {"elu", Activation::Elu},         {"selu", Activation::Selu},
    {"gelu", Activation::Gelu},       {"softplus", Activation::Softplus},
    {"swish", Activation::Swish},     {"silu", Activation::Swish},
};

constexpr double kLeakySlope = 0.2;
constexpr double kSeluAlpha = 1.67326324235437728481;
constexpr double kSeluScale = 1.05070098735548049342;

template <class T>
void softmax_rows(ConstMatrixMap<T> x, MatrixMap<T> y) {
  for (Index r = 0; r < x.rows(); ++r) {
    const T m = x.row(r).maxCoeff();
    y.row(r) = (x.row(r).array() - m).exp();
    y.row(r) /= y.row(r).sum();
  }
}

template <class T>
void forward_block(Activation a, const ConstMatrixMap<T>& xm, MatrixMap<T> ym) {
  auto x = xm.array();
  auto y = ym.array();
  switch (a) {
    case Activation::Linear:
      y = x;
      break;
    case Activation::Relu:
      y = x.max(T(0));
      break;
    case Activation::Sigmoid:
      y = x.logistic();
      break;
    case Activation::Tanh:
      y = x.tanh();
      break;
    case Activation::Softmax:
      softmax_rows<T>(xm, ym);
      break;
    case Activation::LeakyRelu:
      y = (x > T(0)).select(x, T(kLeakySlope) * x);
      break;
    case Activation::Elu:
      y = (x > T(0)).select(x, x.exp() - T(1));
      break;
    case Activation::Selu:
      y = T(kSeluScale) * (x > T(0)).select(x, T(kSeluAlpha) * (x.exp() - T(1)));
      break;
    case Activation::Gelu:
      y = T(0.5) * x * (T(1) + (x * T(M_SQRT1_2)).erf());
      break;
    // Stable log(1 + e^x) = max(x, 0) + log1p(e^-|x|).
    case Activation::Softplus:
      y = x.max(T(0)) + (-x.abs()).exp().log1p();
      break;
    case Activation::Swish:
      y = x * x.logistic();
      break;
  }
}

template <class T>
void backward_block(Activation a, const ConstMatrixMap<T>& xm, const ConstMatrixMap<T>& ym,
                    MatrixMap<T> gm) {
  auto g = gm.array();
  switch (a) {
    case Activation::Linear:
      break;
    case Activation::Relu:
      g = (ym.array() > T(0)).select(g, T(0));
      break;
    case Activation::Sigmoid:
      g *= ym.array() * (T(1) - ym.array());
      break;
    case Activation::Tanh:
      g *= T(1) - ym.array().square();
      break;
    case Activation::Softmax:
      for (Index r = 0; r < gm.rows(); ++r) {
        const T dot = gm.row(r).dot(ym.row(r));
        gm.row(r).array() = ym.row(r).array() * (gm.row(r).array() - dot);
      }
      break;
    case Activation::LeakyRelu:
      g = (xm.array() > T(0)).select(g, T(kLeakySlope) * g);
      break;
    case Activation::Elu:
      g = (xm.array() > T(0)).select(g, g * xm.array().exp());
      break;
    case Activation::Selu:
      g = (xm.array() > T(0))
              .select(T(kSeluScale) * g, T(kSeluScale * kSeluAlpha) * g * xm.array().exp());
      break;
    case Activation::Gelu: {
      auto x = xm.array();
      const T inv_sqrt_2pi = T(0.39894228040143267794);
      g *= T(0.5) * (T(1) + (x * T(M_SQRT1_2)).erf()) +
           x * inv_sqrt_2pi * (T(-0.5) * x.square()).exp();
      break;
    }
    case Activation::Softplus:
      g *= xm.array().logistic();
      break;
    case Activation::Swish: {
      auto s = xm.array().logistic();
      g *= s * (T(1) + xm.array() * (T(1) - s));
      break;
    }
  }
}

}  // namespace

Activation activation_from_name(const std::string& name) {
  for (const auto& n : kNames)
    if (name == n.name) return n.value;
  std::string valid;
  for (const auto& n : kNames) valid += std::string(valid.empty() ? "" : ", ") + n.name;
  throw std::invalid_argument("Unknown activation '" + name + "'. Valid activations: " + valid);
}

std::vector<std::string> activation_names() {
  std::vector<std::string> names;
  for (const auto& n : kNames) names.emplace_back(n.name);
  return names;
}

bool activation_needs_input(Activation a) {
  switch (a) {
    case Activation::LeakyRelu:
    case Activation::Elu:
    case Activation::Selu:
    case Activation::Gelu:
    case Activation::Softplus:
    case Activation::Swish:
      return true;
    default:
      return false;
  }
}

template <class T>
void activation_forward(Activation a, ConstMatrixMap<T> x, MatrixMap<T> y) {
  const Index cols = x.cols();
  for_row_blocks(x.rows(), cols, [&](Index r0, Index n) {
    forward_block<T>(a, ConstMatrixMap<T>(x.data() + r0 * cols, n, cols),
                     MatrixMap<T>(y.data() + r0 * cols, n, cols));
  });
}

template <class T>
void activation_forward_rows(Activation a, const T* x, T* y, Index rows, Index cols, Index ld) {
  if (a == Activation::Softmax)
    throw std::logic_error("activation_forward_rows: softmax needs whole rows");
  if (ld == cols) {
    forward_block<T>(a, ConstMatrixMap<T>(x, rows, cols), MatrixMap<T>(y, rows, cols));
    return;
  }
  for (Index r = 0; r < rows; ++r)
    forward_block<T>(a, ConstMatrixMap<T>(x + r * ld, 1, cols), MatrixMap<T>(y + r * ld, 1, cols));
}

template <class T>
void activation_backward(Activation a, ConstMatrixMap<T> x, ConstMatrixMap<T> y,
                         MatrixMap<T> grad) {
  const Index cols = grad.cols();
  const bool use_x = activation_needs_input(a);
  for_row_blocks(grad.rows(), cols, [&](Index r0, Index n) {
    const T* xp = use_x ? x.data() + r0 * cols : y.data() + r0 * cols;
    backward_block<T>(a, ConstMatrixMap<T>(xp, n, cols),
                      ConstMatrixMap<T>(y.data() + r0 * cols, n, cols),
                      MatrixMap<T>(grad.data() + r0 * cols, n, cols));
  });
}

template void activation_forward<float>(Activation, ConstMatrixMap<float>, MatrixMap<float>);
template void activation_forward<double>(Activation, ConstMatrixMap<double>, MatrixMap<double>);
template void activation_forward_rows<float>(Activation, const float*, float*, Index, Index, Index);
template void activation_forward_rows<double>(Activation, const double*, double*, Index, Index,
                                              Index);
template void activation_backward<float>(Activation, ConstMatrixMap<float>, ConstMatrixMap<float>,
                                         MatrixMap<float>);
template void activation_backward<double>(Activation, ConstMatrixMap<double>,
                                          ConstMatrixMap<double>, MatrixMap<double>);

}  // namespace eigennet
