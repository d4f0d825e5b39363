#include "eigennet/ops/op.hpp"

#include <stdexcept>

namespace eigennet {

std::string full_shape_string(const Shape& shape) {
  std::string s = "(";
  for (size_t i = 0; i < shape.size(); ++i) {
    if (i) s += ", ";
    s += shape[i] == kBatch ? std::string("None") : std::to_string(shape[i]);
  }
  return s + (shape.size() == 1 ? ",)" : ")");
}

bool is_batched(const Shape& shape) { return !shape.empty() && shape[0] == kBatch; }

Index element_count(const Shape& shape) {
  Index n = 1;
  for (Index d : shape) n *= d;
  return n;
}

Shape with_input_lengths(const std::string& op, const Shape& target, const Shape& input) {
  Shape out = target;
  for (Index& d : out)
    if (d <= kInputAxis) {
      const Index axis = kInputAxis - d;
      if (axis >= Index(input.size()) || input[size_t(axis)] == kBatch)
        throw std::invalid_argument(op + ": the target " + full_shape_string(target) +
                                    " names an axis that " + full_shape_string(input) +
                                    " does not have");
      d = input[size_t(axis)];
    }
  return out;
}

Shape row_shape(const Shape& full) {
  return full.empty() ? Shape{} : Shape(full.begin() + 1, full.end());
}

Index row_count(const Shape& full) { return full.empty() ? 1 : full[0]; }

namespace {
void check_full(const std::string& name, const Shape& shape) {
  for (size_t i = 0; i < shape.size(); ++i)
    if (shape[i] < 0 && !(i == 0 && shape[i] == kBatch))
      throw std::invalid_argument(name + ": invalid shape " + full_shape_string(shape) +
                                  " (only axis 0 may be the batch axis)");
}
}  // namespace

template <class T>
Op<T>::Op(std::string name, std::vector<Shape> inputs, Shape output)
    : name_(std::move(name)), full_inputs_(std::move(inputs)), full_output_(std::move(output)) {
  for (const auto& s : full_inputs_) check_full(name_, s);
  check_full(name_, full_output_);
  if (is_batched(full_output_)) {
    bool any = false;
    for (const auto& s : full_inputs_) any = any || is_batched(s);
    if (!any) throw std::logic_error(name_ + ": a batched output needs a batched input");
  }
  inputs_ = full_inputs_;
  output_ = full_output_;
  x_ptrs_.resize(full_inputs_.size());
  grad_ptrs_.resize(full_inputs_.size());
  std::vector<Shape> rows;
  for (const auto& s : full_inputs_) rows.push_back(row_shape(s));
  this->build_inputs(rows);
}

template <class T>
Index Op<T>::fixed_rows() const {
  return is_batched(full_output_) ? Layer<T>::kRowsOfBatch : row_count(full_output_);
}

template <class T>
Shape Op<T>::do_build_inputs(const std::vector<Shape>& row_shapes) {
  if (row_shapes.size() != full_inputs_.size())
    throw std::invalid_argument(name_ + ": built for " + std::to_string(full_inputs_.size()) +
                                " inputs, given " + std::to_string(row_shapes.size()));
  return row_shape(full_output_);
}

template <class T>
void Op<T>::set_batch(Index batch) {
  for (size_t i = 0; i < full_inputs_.size(); ++i)
    if (is_batched(full_inputs_[i])) inputs_[i][0] = batch;
  if (is_batched(full_output_)) output_[0] = batch;
}

template <class T>
void Op<T>::forward_inputs(const ConstMatrixMap<T>* xs, size_t n, MatrixMap<T> y, bool training) {
  if (n != full_inputs_.size()) throw std::logic_error(name_ + ": wrong number of inputs");
  // The batch is the rows of a batched input (the graph gives every batched tensor the same).
  Index batch = is_batched(full_output_) ? y.rows() : 0;
  for (size_t i = 0; i < n; ++i) {
    if (is_batched(full_inputs_[i])) batch = xs[i].rows();
    x_ptrs_[i] = xs[i].data();
  }
  set_batch(batch);
  compute(x_ptrs_.data(), y.data(), training);
}

template <class T>
void Op<T>::backward_inputs(const ConstMatrixMap<T>* xs, size_t n, ConstMatrixMap<T> y,
                            MatrixMap<T> grad_y, T*, MatrixMap<T>* const* grad_xs) {
  if (n != full_inputs_.size()) throw std::logic_error(name_ + ": wrong number of inputs");
  Index batch = is_batched(full_output_) ? y.rows() : 0;
  for (size_t i = 0; i < n; ++i) {
    if (is_batched(full_inputs_[i])) batch = xs[i].rows();
    x_ptrs_[i] = xs[i].data();
    grad_ptrs_[i] = grad_xs[i] ? grad_xs[i]->data() : nullptr;
  }
  set_batch(batch);
  gradient(x_ptrs_.data(), y.data(), grad_y.data(), grad_ptrs_.data());
}

template class Op<float>;
template class Op<double>;

}  // namespace eigennet
