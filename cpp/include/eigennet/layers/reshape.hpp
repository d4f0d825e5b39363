// Reshape (and Flatten, a reshape to one axis): the same values with another sample shape.
// Batches are row-major (batch, sample size) matrices, so only the declared shape changes.
#pragma once

#include <stdexcept>
#include <string>

#include "eigennet/layer.hpp"

namespace eigennet {

template <class T>
class Reshape : public Layer<T> {
 public:
  // target: the output sample shape; one entry may be -1 (inferred from the input size).
  explicit Reshape(Shape target) : target_(std::move(target)) {}
  std::shared_ptr<Layer<T>> clone() const override { return std::make_shared<Reshape>(*this); }

  void forward(ConstMatrixMap<T> x, MatrixMap<T> y, bool) override {
    if (y.data() != x.data()) y = x;
  }
  void backward(ConstMatrixMap<T>, ConstMatrixMap<T>, MatrixMap<T> grad_y, T*,
                MatrixMap<T>* grad_x) override {
    if (grad_x) *grad_x = grad_y;
  }

 protected:
  Shape do_build(const Shape& input_shape) override {
    const Index size = shape_size(input_shape);
    Shape out = target_;
    Index known = 1, unknown = -1;
    for (size_t i = 0; i < out.size(); ++i) {
      if (out[i] == -1 && unknown < 0) {
        unknown = static_cast<Index>(i);
      } else if (out[i] <= 0) {
        throw std::invalid_argument("Reshape: target shape entries must be positive or one -1");
      } else {
        known *= out[i];
      }
    }
    if (unknown >= 0 && known > 0 && size % known == 0) out[unknown] = size / known;
    if (shape_size(out) != size)
      throw std::invalid_argument("Reshape: cannot reshape inputs of " + std::to_string(size) +
                                  " values per sample to the target shape");
    return out;
  }

 private:
  Shape target_;
};

}  // namespace eigennet
