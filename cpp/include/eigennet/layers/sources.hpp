// Sources: graph nodes without inputs whose output is a tensor with no batch axis, read in
// place (Layer::source_values). A custom layer's add_weight is a VariableSource (one weight,
// trained like any layer's); a constant operand of an op (`x * 2.0`, `ops.arange(n)`) is a
// ConstantSource.
#pragma once

#include <string>

#include "eigennet/layer.hpp"

namespace eigennet {

// What both kinds share: a fixed full shape (a scalar is {}) whose first axis is the rows.
template <class T>
class Source : public Layer<T> {
 public:
  Index fixed_rows() const override { return shape_.empty() ? 1 : shape_[0]; }
  const Shape& shape() const { return shape_; }
  // The graph reads source_values() in place; these copy them for other callers.
  void forward(ConstMatrixMap<T>, MatrixMap<T> y, bool) override { copy_to(y); }
  void forward_inputs(const ConstMatrixMap<T>*, size_t, MatrixMap<T> y, bool) override {
    copy_to(y);
  }

 protected:
  // Throws std::invalid_argument for a non-positive or absurd dimension.
  Source(Shape shape, const char* what);
  Shape do_build(const Shape&) override;
  Shape do_build_inputs(const std::vector<Shape>& input_shapes) override;
  // Declares the source's weights, if any (before the block is sized).
  virtual void declare_weights() {}

 private:
  void copy_to(MatrixMap<T> y) const;
  Shape shape_;
  const char* what_;
};

template <class T>
class VariableSource : public Source<T> {
 public:
  VariableSource(Shape shape, std::string name, bool trainable);
  std::shared_ptr<Layer<T>> clone() const override {
    return std::make_shared<VariableSource>(*this);
  }
  const T* source_values() const override { return this->params(); }
  bool output_is_parameters() const override { return true; }
  // Writes dL/dy into param_grad (the weight is y).
  void backward(ConstMatrixMap<T>, ConstMatrixMap<T>, MatrixMap<T> grad_y, T* param_grad,
                MatrixMap<T>*) override;
  void backward_inputs(const ConstMatrixMap<T>*, size_t, ConstMatrixMap<T> y, MatrixMap<T> grad_y,
                       T* param_grad, MatrixMap<T>* const*) override {
    backward(y, y, grad_y, param_grad, nullptr);
  }

 protected:
  void declare_weights() override { this->add_weight(name_, this->shape(), weight_trainable_); }

 private:
  std::string name_;
  bool weight_trainable_;
};

template <class T>
class ConstantSource : public Source<T> {
 public:
  // values: shape's elements in row-major order.
  ConstantSource(Shape shape, std::vector<T> values);
  std::shared_ptr<Layer<T>> clone() const override {
    return std::make_shared<ConstantSource>(*this);
  }
  const T* source_values() const override { return values_->data(); }
  void backward(ConstMatrixMap<T>, ConstMatrixMap<T>, MatrixMap<T>, T*, MatrixMap<T>*) override {}
  void backward_inputs(const ConstMatrixMap<T>*, size_t, ConstMatrixMap<T>, MatrixMap<T>, T*,
                       MatrixMap<T>* const*) override {}

 private:
  std::shared_ptr<const AlignedVector<T>> values_;  // shared by clones, never written
};

// One weight of another layer (a Dense kernel, an Embedding's table) read by ops inside a
// custom layer's call(), e.g. a tied output projection. It shares that layer's parameter block
// (same_parameters), so the trainer treats it as another place of the layer: its backward
// writes its weight's gradient into the layer's slice (zeros elsewhere), summed with the
// layer's own.
template <class T>
class WeightView : public Source<T> {
 public:
  // Throws std::invalid_argument when `layer` is not built or has no weight `index`.
  WeightView(const std::shared_ptr<Layer<T>>& layer, size_t index);
  std::shared_ptr<Layer<T>> clone() const override { return std::make_shared<WeightView>(*this); }
  const T* source_values() const override { return this->params() + offset_; }
  void backward(ConstMatrixMap<T>, ConstMatrixMap<T>, MatrixMap<T> grad_y, T* param_grad,
                MatrixMap<T>*) override;
  void backward_inputs(const ConstMatrixMap<T>*, size_t, ConstMatrixMap<T> y, MatrixMap<T> grad_y,
                       T* param_grad, MatrixMap<T>* const*) override {
    backward(y, y, grad_y, param_grad, nullptr);
  }

 private:
  Index offset_;
};

}  // namespace eigennet
