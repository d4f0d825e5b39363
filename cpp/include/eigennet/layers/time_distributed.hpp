// TimeDistributed(layer): the inner layer applied to every step of (time, ...) samples. A
// batch of n samples of (time, inner sample) is, read row-major, the batch of n * time inner
// samples, so forward and backward are the inner layer's on that view: no copy, one call (one
// GEMM for a Dense) over all the steps of the batch. The wrapper shares the inner layer's
// parameter block (its weights are the inner layer's, as Keras), and runs its own copy of the
// inner layer (clone()), so the per-call state stays the wrapper call's.
#pragma once

#include <memory>

#include "eigennet/layer.hpp"

namespace eigennet {

template <class T>
class TimeDistributed : public Layer<T> {
 public:
  // `inner` must be a built, one-input layer; the wrapper's samples are (time, *its sample).
  explicit TimeDistributed(const std::shared_ptr<Layer<T>>& inner);
  TimeDistributed(const TimeDistributed& other);
  std::shared_ptr<Layer<T>> clone() const override {
    return std::make_shared<TimeDistributed>(*this);
  }
  void forward(ConstMatrixMap<T> x, MatrixMap<T> y, bool training) override;
  void backward(ConstMatrixMap<T> x, ConstMatrixMap<T> y, MatrixMap<T> grad_y, T* param_grad,
                MatrixMap<T>* grad_x) override;

 protected:
  Shape do_build(const Shape& input_shape) override;

 private:
  std::shared_ptr<Layer<T>> original_;  // the inner layer as built (its parameters)
  std::shared_ptr<Layer<T>> inner_;     // the copy this call runs
  Index steps_ = 1;
};

}  // namespace eigennet
