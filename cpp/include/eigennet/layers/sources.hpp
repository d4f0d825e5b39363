// Sources: graph nodes without inputs whose output is a tensor with no batch axis, read in
// place (Layer::source_values). A custom layer's add_weight is a VariableSource (one weight,
// trained like any layer's); a constant operand of an op (`x * 2.0`, `ops.arange(n)`) is a
// ConstantSource.
#pragma once

#include <string>

#include "eigennet/layer.hpp"

namespace eigennet {

template <class T>
class VariableSource : public Layer<T> {
 public:
  // shape: the weight's full shape (a scalar is {}).
  VariableSource(Shape shape, std::string name, bool trainable);
  std::shared_ptr<Layer<T>> clone() const override {
    return std::make_shared<VariableSource>(*this);
  }
  Index fixed_rows() const override;
  const T* source_values() const override { return this->params(); }
  void forward(ConstMatrixMap<T>, MatrixMap<T> y, bool) override;
  void backward(ConstMatrixMap<T>, ConstMatrixMap<T>, MatrixMap<T>, T*, MatrixMap<T>*) override;
  void forward_inputs(const ConstMatrixMap<T>*, size_t, MatrixMap<T> y, bool) override;
  // Writes dL/dy into param_grad (the weight is y).
  void backward_inputs(const ConstMatrixMap<T>*, size_t, ConstMatrixMap<T>, MatrixMap<T> grad_y,
                       T* param_grad, MatrixMap<T>* const*) override;

 protected:
  Shape do_build(const Shape&) override;
  Shape do_build_inputs(const std::vector<Shape>& input_shapes) override;

 private:
  Shape shape_;
  std::string name_;
  bool weight_trainable_;
};

template <class T>
class ConstantSource : public Layer<T> {
 public:
  // values: shape's elements in row-major order.
  ConstantSource(Shape shape, std::vector<T> values);
  std::shared_ptr<Layer<T>> clone() const override {
    return std::make_shared<ConstantSource>(*this);
  }
  Index fixed_rows() const override;
  const T* source_values() const override { return values_->data(); }
  const Shape& shape() const { return shape_; }
  void forward(ConstMatrixMap<T>, MatrixMap<T> y, bool) override;
  void backward(ConstMatrixMap<T>, ConstMatrixMap<T>, MatrixMap<T>, T*, MatrixMap<T>*) override {}
  void forward_inputs(const ConstMatrixMap<T>*, size_t, MatrixMap<T> y, bool) override;
  void backward_inputs(const ConstMatrixMap<T>*, size_t, ConstMatrixMap<T>, MatrixMap<T>, T*,
                       MatrixMap<T>* const*) override {}

 protected:
  Shape do_build(const Shape&) override;
  Shape do_build_inputs(const std::vector<Shape>& input_shapes) override;

 private:
  Shape shape_;
  std::shared_ptr<const AlignedVector<T>> values_;  // shared by clones, never written
};

}  // namespace eigennet
