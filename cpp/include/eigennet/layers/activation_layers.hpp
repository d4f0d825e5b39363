// Keras's advanced activation layers: ReLU with its options, LeakyReLU, ELU and Identity (one
// element-wise class), PReLU (a learned negative slope) and Softmax over any sample axes.
#pragma once

#include <limits>
#include <vector>

#include "eigennet/layer.hpp"
#include "eigennet/workspace.hpp"

namespace eigennet {

// Element-wise, no weights. Keras's formulas:
//   Relu: y = (x > threshold ? min(x, max_value) : 0) - negative_slope * max(threshold - x, 0)
//         (LeakyReLU is Relu with threshold 0 and no max_value: slope * x below 0);
//   Elu:  y = x > 0 ? x : alpha * (exp(x) - 1);
//   Identity: y = x.
template <class T>
class ElementwiseActivation : public Layer<T> {
 public:
  enum class Kind { Relu, Elu, Identity };
  static constexpr double kNoMax = std::numeric_limits<double>::infinity();

  ElementwiseActivation(Kind kind, double negative_slope = 0, double max_value = kNoMax,
                        double threshold = 0, double alpha = 1);
  std::shared_ptr<Layer<T>> clone() const override {
    return std::make_shared<ElementwiseActivation>(*this);
  }
  void forward(ConstMatrixMap<T> x, MatrixMap<T> y, bool training) override;
  void backward(ConstMatrixMap<T> x, ConstMatrixMap<T> y, MatrixMap<T> grad_y, T* param_grad,
                MatrixMap<T>* grad_x) override;

 protected:
  Shape do_build(const Shape& input_shape) override { return input_shape; }

 private:
  Kind kind_;
  T slope_, max_value_, threshold_, alpha_;
  // Relu's derivative exactly at the threshold: the slope in Keras's leaky path (threshold 0,
  // no max), else 0 (the derivative of relu at 0).
  T slope_at_threshold_;
};

// y = x > 0 ? x : alpha * x, with the weight `alpha` of the sample's shape where the shared
// axes have size 1 (one alpha for every position along them).
template <class T>
class PReLU : public Layer<T> {
 public:
  explicit PReLU(std::vector<Index> shared_axes) : shared_axes_(std::move(shared_axes)) {}
  std::shared_ptr<Layer<T>> clone() const override { return std::make_shared<PReLU>(*this); }
  void forward(ConstMatrixMap<T> x, MatrixMap<T> y, bool training) override;
  void backward(ConstMatrixMap<T> x, ConstMatrixMap<T> y, MatrixMap<T> grad_y, T* param_grad,
                MatrixMap<T>* grad_x) override;

 protected:
  Shape do_build(const Shape& input_shape) override;

 private:
  // alpha at every sample position (alpha itself when nothing is shared).
  const T* expanded_alpha();

  std::vector<Index> shared_axes_;  // sample axes (0 = first after batch)
  std::vector<Index> index_;        // alpha's index per sample position; empty: the identity
  Workspace<T> expanded_;           // alpha spread over the sample (shared axes only)
  Workspace<T> column_sums_;        // backward: dL/dalpha per sample position
};

// Softmax over a set of sample axes (Keras's axis, an int or a tuple). Consecutive axes are a
// (outer, n, inner) view of the sample and run in place; other sets gather each softmax's
// values into a scratch row first.
template <class T>
class Softmax : public Layer<T> {
 public:
  explicit Softmax(std::vector<Index> axes) : axes_(std::move(axes)) {}
  std::shared_ptr<Layer<T>> clone() const override { return std::make_shared<Softmax>(*this); }
  void forward(ConstMatrixMap<T> x, MatrixMap<T> y, bool training) override;
  void backward(ConstMatrixMap<T> x, ConstMatrixMap<T> y, MatrixMap<T> grad_y, T* param_grad,
                MatrixMap<T>* grad_x) override;

 protected:
  Shape do_build(const Shape& input_shape) override;

 private:
  std::vector<Index> axes_;  // sample axes (0 = first after batch)
  Index outer_ = 1, n_ = 1, inner_ = 1;
  // Non-consecutive axes: the sample positions in gathered order (softmax groups of n_).
  std::vector<Index> order_;
  Workspace<T> gathered_, gathered_grad_;
};

}  // namespace eigennet
