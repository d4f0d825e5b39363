#include "eigennet/layers/time_distributed.hpp"

#include <stdexcept>
#include <string>

#include "eigennet/layers/window.hpp"

namespace eigennet {

template <class T>
TimeDistributed<T>::TimeDistributed(const std::shared_ptr<Layer<T>>& inner) : original_(inner) {
  if (!inner || !inner->built())
    throw std::invalid_argument("TimeDistributed: the inner layer must be built");
  if (inner->input_shapes().size() != 1 || inner->fixed_rows() != Layer<T>::kRowsOfInputs)
    throw std::invalid_argument("TimeDistributed: the inner layer must take one input");
  inner_ = inner->clone();
}

template <class T>
TimeDistributed<T>::TimeDistributed(const TimeDistributed& other)
    : Layer<T>(other),
      original_(other.original_),
      inner_(other.inner_->clone()),
      steps_(other.steps_) {}

// Samples (time, *inner sample): the weights are the inner layer's, shared. (build_inputs
// then refills the shared block with zeros; the Python wrapper restores the inner layer's
// values right after, as it would initialize its own.)
template <class T>
Shape TimeDistributed<T>::do_build(const Shape& input_shape) {
  const Shape& sample = original_->input_shape();
  if (input_shape.size() != sample.size() + 1 ||
      !std::equal(sample.begin(), sample.end(), input_shape.begin() + 1))
    throw std::invalid_argument("TimeDistributed: samples of shape " + shape_string(input_shape) +
                                " do not fit the inner layer, " + "built for samples of shape " +
                                shape_string(sample) + "; expected (time, " +
                                shape_string(sample).substr(1));
  steps_ = input_shape[0];
  this->share_parameters(*original_);
  Shape out{steps_};
  const Shape& inner_out = original_->output_shape();
  out.insert(out.end(), inner_out.begin(), inner_out.end());
  return out;
}

template <class T>
void TimeDistributed<T>::forward(ConstMatrixMap<T> x, MatrixMap<T> y, bool training) {
  const Index rows = x.rows() * steps_;
  inner_->forward(ConstMatrixMap<T>(x.data(), rows, x.cols() / steps_),
                  MatrixMap<T>(y.data(), rows, y.cols() / steps_), training);
}

template <class T>
void TimeDistributed<T>::backward(ConstMatrixMap<T> x, ConstMatrixMap<T> y, MatrixMap<T> grad_y,
                                  T* param_grad, MatrixMap<T>* grad_x) {
  const Index rows = x.rows() * steps_, in = x.cols() / steps_, out = y.cols() / steps_;
  MatrixMap<T> dx(grad_x ? grad_x->data() : nullptr, grad_x ? rows : 0, in);
  inner_->backward(ConstMatrixMap<T>(x.data(), rows, in), ConstMatrixMap<T>(y.data(), rows, out),
                   MatrixMap<T>(grad_y.data(), rows, out), param_grad, grad_x ? &dx : nullptr);
}

template class TimeDistributed<float>;
template class TimeDistributed<double>;

}  // namespace eigennet
