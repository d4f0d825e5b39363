#include "eigennet/layers/activation_layers.hpp"

#include <algorithm>
#include <cmath>
#include <stdexcept>
#include <string>

#include "eigennet/activations.hpp"
#include "eigennet/layers/window.hpp"
#include "eigennet/memory.hpp"
#include "eigennet/row_blocks.hpp"

namespace eigennet {

namespace {

// Runs fn(x block, y block) over row blocks of a batch (in parallel when large).
template <class T, class Fn>
void for_blocks(const T* x, T* y, Index rows, Index cols, Fn&& fn) {
  for_row_blocks(rows, cols, [&](Index r0, Index n) {
    const ConstMatrixMap<T> xb(x + r0 * cols, n, cols);
    MatrixMap<T> yb(y + r0 * cols, n, cols);
    fn(xb, yb);
  });
}

}  // namespace

// ---------------------------------------------------------------------------------------------
// ElementwiseActivation

template <class T>
ElementwiseActivation<T>::ElementwiseActivation(Kind kind, double negative_slope, double max_value,
                                                double threshold, double alpha)
    : kind_(kind),
      slope_(T(negative_slope)),
      max_value_(T(max_value)),
      threshold_(T(threshold)),
      alpha_(T(alpha)),
      slope_at_threshold_(threshold == 0 && max_value == kNoMax ? T(negative_slope) : T(0)) {
  if (kind == Kind::Relu && !(negative_slope >= 0 && threshold >= 0 && max_value >= 0))
    throw std::invalid_argument("ReLU: negative_slope, max_value and threshold must be >= 0");
}

template <class T>
void ElementwiseActivation<T>::forward(ConstMatrixMap<T> x, MatrixMap<T> y, bool) {
  switch (kind_) {
    case Kind::Identity:
      if (y.data() != x.data()) y = x;
      return;
    case Kind::Relu: {
      const T t = threshold_, m = max_value_, s = slope_;
      for_blocks(x.data(), y.data(), x.rows(), x.cols(), [&](const auto& xb, auto& yb) {
        auto xa = xb.array();
        yb.array() = (xa > t).select(xa.min(m), T(0)) - s * (t - xa).max(T(0));
      });
      return;
    }
    case Kind::Elu: {
      const T alpha = alpha_;
      for_blocks(x.data(), y.data(), x.rows(), x.cols(), [&](const auto& xb, auto& yb) {
        auto xa = xb.array();
        yb.array() = (xa > T(0)).select(xa, alpha * (xa.exp() - T(1)));
      });
      return;
    }
  }
}

template <class T>
void ElementwiseActivation<T>::backward(ConstMatrixMap<T> x, ConstMatrixMap<T> y,
                                        MatrixMap<T> grad_y, T*, MatrixMap<T>* grad_x) {
  if (!grad_x) return;
  const Index cols = x.cols();
  switch (kind_) {
    case Kind::Identity:
      *grad_x = grad_y;
      return;
    case Kind::Relu: {
      const T t = threshold_, m = max_value_, s = slope_, s_at_t = slope_at_threshold_;
      for_row_blocks(x.rows(), cols, [&](Index r0, Index n) {
        const ConstMatrixMap<T> xb(x.data() + r0 * cols, n, cols);
        const ConstMatrixMap<T> gb(grad_y.data() + r0 * cols, n, cols);
        MatrixMap<T> out(grad_x->data() + r0 * cols, n, cols);
        auto xa = xb.array();
        auto ga = gb.array();
        out.array() =
            (xa > t).select((xa <= m).select(ga, T(0)), (xa < t).select(s * ga, s_at_t * ga));
      });
      return;
    }
    case Kind::Elu: {
      // alpha * exp(x) = y + alpha below 0 (no second exp).
      const T alpha = alpha_;
      for_row_blocks(x.rows(), cols, [&](Index r0, Index n) {
        const ConstMatrixMap<T> xb(x.data() + r0 * cols, n, cols);
        const ConstMatrixMap<T> yb(y.data() + r0 * cols, n, cols);
        const ConstMatrixMap<T> gb(grad_y.data() + r0 * cols, n, cols);
        MatrixMap<T> out(grad_x->data() + r0 * cols, n, cols);
        out.array() = (xb.array() > T(0)).select(gb.array(), gb.array() * (yb.array() + alpha));
      });
      return;
    }
  }
}

// ---------------------------------------------------------------------------------------------
// PReLU

template <class T>
Shape PReLU<T>::do_build(const Shape& input_shape) {
  const Index rank = Index(input_shape.size());
  Shape alpha_shape = input_shape;
  for (Index axis : shared_axes_) {
    if (axis < 0 || axis >= rank)
      throw std::invalid_argument("PReLU: shared axis " + std::to_string(axis + 1) +
                                  " is not an axis of samples of shape " +
                                  shape_string(input_shape));
    alpha_shape[size_t(axis)] = 1;
  }
  this->add_weight("alpha", alpha_shape);
  index_.clear();
  if (alpha_shape != input_shape) {
    // alpha's index at each sample position: alpha's strides, 0 along the shared axes.
    std::vector<Index> stride(size_t(rank), 0);
    Index step = 1;
    for (Index d = rank; d-- > 0;) {
      stride[size_t(d)] = alpha_shape[size_t(d)] == 1 ? 0 : step;
      step *= alpha_shape[size_t(d)];
    }
    const Index size = shape_size(input_shape);
    check_allocation(double(size), sizeof(Index), "PReLU's alpha index");
    index_.resize(size_t(size));
    std::vector<Index> coord(size_t(rank), 0);
    Index at = 0;
    for (Index j = 0; j < size; ++j) {
      index_[size_t(j)] = at;
      for (Index d = rank; d-- > 0;) {
        at += stride[size_t(d)];
        if (++coord[size_t(d)] < input_shape[size_t(d)]) break;
        at -= stride[size_t(d)] * input_shape[size_t(d)];
        coord[size_t(d)] = 0;
      }
    }
  }
  return input_shape;
}

template <class T>
const T* PReLU<T>::expanded_alpha() {
  const T* alpha = this->weight(0);
  if (index_.empty()) return alpha;
  const Index size = Index(index_.size());
  T* out = expanded_.view(1, size).data();
  for (Index j = 0; j < size; ++j) out[j] = alpha[index_[size_t(j)]];
  return out;
}

template <class T>
void PReLU<T>::forward(ConstMatrixMap<T> x, MatrixMap<T> y, bool) {
  const T* alpha = expanded_alpha();
  const Index cols = x.cols();
  for_row_blocks(x.rows(), cols, [&](Index r0, Index n) {
    for (Index r = r0; r < r0 + n; ++r) {
      const ConstArrayMap<T> v(x.data() + r * cols, cols), a(alpha, cols);
      ArrayMap<T>(y.data() + r * cols, cols) = (v > T(0)).select(v, a * v);
    }
  });
}

template <class T>
void PReLU<T>::backward(ConstMatrixMap<T> x, ConstMatrixMap<T>, MatrixMap<T> grad_y, T* param_grad,
                        MatrixMap<T>* grad_x) {
  const Index cols = x.cols(), rows = x.rows();
  if (param_grad) {
    // dL/dalpha = sum over the batch (and the shared axes) of grad_y * min(x, 0).
    T* sums = index_.empty() ? param_grad : column_sums_.view(1, cols).data();
    std::fill_n(sums, cols, T(0));
    ArrayMap<T> acc(sums, cols);
    for (Index r = 0; r < rows; ++r) {
      const ConstArrayMap<T> v(x.data() + r * cols, cols), g(grad_y.data() + r * cols, cols);
      acc += g * v.min(T(0));
    }
    if (!index_.empty()) {
      std::fill_n(param_grad, this->param_count(), T(0));
      for (Index j = 0; j < cols; ++j) param_grad[index_[size_t(j)]] += sums[j];
    }
  }
  if (!grad_x) return;
  const T* alpha = expanded_alpha();
  for_row_blocks(rows, cols, [&](Index r0, Index n) {
    for (Index r = r0; r < r0 + n; ++r) {
      const ConstArrayMap<T> v(x.data() + r * cols, cols), g(grad_y.data() + r * cols, cols);
      const ConstArrayMap<T> a(alpha, cols);
      // At x == 0 both of Keras's relu terms have derivative 0.
      ArrayMap<T>(grad_x->data() + r * cols, cols) =
          (v > T(0)).select(g, (v < T(0)).select(a * g, T(0)));
    }
  });
}

// ---------------------------------------------------------------------------------------------
// Softmax

namespace {

// Softmax along the middle axis of an (n, inner) row-major block, inner > 1: a column at a
// time would stride; rows of up to kChunk columns keep the loops contiguous and the running
// max and sum on the stack.
constexpr Index kChunk = 64;

template <class T>
void softmax_block(const T* x, T* y, Index n, Index inner) {
  for (Index j0 = 0; j0 < inner; j0 += kChunk) {
    const Index w = std::min(kChunk, inner - j0);
    T m[kChunk], s[kChunk];
    std::copy_n(x + j0, w, m);
    for (Index k = 1; k < n; ++k)
      for (Index j = 0; j < w; ++j) m[j] = std::max(m[j], x[k * inner + j0 + j]);
    std::fill_n(s, w, T(0));
    for (Index k = 0; k < n; ++k) {
      ArrayMap<T> yk(y + k * inner + j0, w);
      yk = (ConstArrayMap<T>(x + k * inner + j0, w) - ConstArrayMap<T>(m, w)).exp();
      for (Index j = 0; j < w; ++j) s[j] += yk[j];
    }
    for (Index k = 0; k < n; ++k)
      for (Index j = 0; j < w; ++j) y[k * inner + j0 + j] /= s[j];
  }
}

// dx = y * (g - sum_k g * y), along the middle axis of an (n, inner) block.
template <class T>
void softmax_block_backward(const T* y, const T* g, T* dx, Index n, Index inner) {
  for (Index j0 = 0; j0 < inner; j0 += kChunk) {
    const Index w = std::min(kChunk, inner - j0);
    T s[kChunk];
    std::fill_n(s, w, T(0));
    for (Index k = 0; k < n; ++k)
      for (Index j = 0; j < w; ++j) s[j] += g[k * inner + j0 + j] * y[k * inner + j0 + j];
    for (Index k = 0; k < n; ++k)
      for (Index j = 0; j < w; ++j) {
        const Index at = k * inner + j0 + j;
        dx[at] = y[at] * (g[at] - s[j]);
      }
  }
}

}  // namespace

template <class T>
Shape Softmax<T>::do_build(const Shape& input_shape) {
  const Index rank = Index(input_shape.size());
  std::vector<Index> axes = axes_;
  std::sort(axes.begin(), axes.end());
  axes.erase(std::unique(axes.begin(), axes.end()), axes.end());
  if (axes.empty() || axes.front() < 0 || axes.back() >= rank)
    throw std::invalid_argument("Softmax: axes must be sample axes of inputs of shape " +
                                shape_string(input_shape));
  order_.clear();
  outer_ = n_ = inner_ = 1;
  for (Index d = 0; d < rank; ++d) {
    const Index dim = input_shape[size_t(d)];
    if (d < axes.front())
      outer_ *= dim;
    else if (d > axes.back())
      inner_ *= dim;
    else
      n_ *= dim;
  }
  if (axes.back() - axes.front() + 1 != Index(axes.size())) {
    // Axes with others between them: list the positions group by group, each group the n_
    // positions of one softmax (the other axes' coordinates fixed).
    std::vector<bool> reduced(size_t(rank), false);
    for (Index a : axes) reduced[size_t(a)] = true;
    std::vector<Index> stride(static_cast<size_t>(rank));
    Index step = 1;
    for (Index d = rank; d-- > 0;) {
      stride[size_t(d)] = step;
      step *= input_shape[size_t(d)];
    }
    // Axes ordered kept ones first, reduced ones last; an odometer over them in that order.
    std::vector<Index> walk;
    for (Index d = 0; d < rank; ++d)
      if (!reduced[size_t(d)]) walk.push_back(d);
    n_ = 1;
    for (Index a : axes) {
      walk.push_back(a);
      n_ *= input_shape[size_t(a)];
    }
    const Index size = shape_size(input_shape);
    check_allocation(double(size), sizeof(Index), "the softmax order");
    order_.resize(size_t(size));
    std::vector<Index> coord(size_t(rank), 0);
    Index at = 0;
    for (Index t = 0; t < size; ++t) {
      order_[size_t(t)] = at;
      for (size_t w = walk.size(); w-- > 0;) {
        const Index d = walk[w];
        at += stride[size_t(d)];
        if (++coord[size_t(d)] < input_shape[size_t(d)]) break;
        at -= stride[size_t(d)] * input_shape[size_t(d)];
        coord[size_t(d)] = 0;
      }
    }
  }
  return input_shape;
}

template <class T>
void Softmax<T>::forward(ConstMatrixMap<T> x, MatrixMap<T> y, bool) {
  const Index rows = x.rows(), size = x.cols();
  if (!order_.empty()) {
    MatrixMap<T> g = gathered_.view(rows * (size / n_), n_);
    const Index* order = order_.data();
    for_row_blocks(rows, size, [&](Index r0, Index n) {
      for (Index r = r0; r < r0 + n; ++r)
        for (Index t = 0; t < size; ++t) g.data()[r * size + t] = x(r, order[t]);
    });
    activation_forward<T>(Activation::Softmax, ConstMatrixMap<T>(g.data(), g.rows(), g.cols()), g);
    for_row_blocks(rows, size, [&](Index r0, Index n) {
      for (Index r = r0; r < r0 + n; ++r)
        for (Index t = 0; t < size; ++t) y(r, order[t]) = g.data()[r * size + t];
    });
    return;
  }
  if (inner_ == 1) {  // the common case: rows of n_ consecutive values
    activation_forward<T>(Activation::Softmax, ConstMatrixMap<T>(x.data(), rows * outer_, n_),
                          MatrixMap<T>(y.data(), rows * outer_, n_));
    return;
  }
  const Index block = n_ * inner_;
  for_row_blocks(rows * outer_, block, [&](Index b0, Index nb) {
    for (Index b = b0; b < b0 + nb; ++b)
      softmax_block(x.data() + b * block, y.data() + b * block, n_, inner_);
  });
}

template <class T>
void Softmax<T>::backward(ConstMatrixMap<T>, ConstMatrixMap<T> y, MatrixMap<T> grad_y, T*,
                          MatrixMap<T>* grad_x) {
  if (!grad_x) return;
  const Index rows = y.rows(), size = y.cols();
  if (!order_.empty()) {
    const Index lines = rows * (size / n_);
    MatrixMap<T> gy = gathered_.view(lines, n_), gg = gathered_grad_.view(lines, n_);
    const Index* order = order_.data();
    for_row_blocks(rows, size, [&](Index r0, Index n) {
      for (Index r = r0; r < r0 + n; ++r)
        for (Index t = 0; t < size; ++t) {
          gy.data()[r * size + t] = y(r, order[t]);
          gg.data()[r * size + t] = grad_y(r, order[t]);
        }
    });
    const ConstMatrixMap<T> ys(gy.data(), gy.rows(), gy.cols());
    activation_backward<T>(Activation::Softmax, ys, ys, gg);
    for_row_blocks(rows, size, [&](Index r0, Index n) {
      for (Index r = r0; r < r0 + n; ++r)
        for (Index t = 0; t < size; ++t) (*grad_x)(r, order[t]) = gg.data()[r * size + t];
    });
    return;
  }
  if (inner_ == 1) {
    MatrixMap<T> g(grad_y.data(), rows * outer_, n_);
    activation_backward<T>(Activation::Softmax, ConstMatrixMap<T>(y.data(), rows * outer_, n_),
                           ConstMatrixMap<T>(y.data(), rows * outer_, n_), g);
    *grad_x = grad_y;
    return;
  }
  const Index block = n_ * inner_;
  for_row_blocks(rows * outer_, block, [&](Index b0, Index nb) {
    for (Index b = b0; b < b0 + nb; ++b)
      softmax_block_backward(y.data() + b * block, grad_y.data() + b * block,
                             grad_x->data() + b * block, n_, inner_);
  });
}

template class ElementwiseActivation<float>;
template class ElementwiseActivation<double>;
template class PReLU<float>;
template class PReLU<double>;
template class Softmax<float>;
template class Softmax<double>;

}  // namespace eigennet
