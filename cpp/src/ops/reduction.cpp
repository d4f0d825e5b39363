#include "eigennet/ops/reduction.hpp"

#include <cmath>
#include <limits>
#include <stdexcept>

#include "eigennet/ops/strided_loop.hpp"

namespace eigennet {

void split_at_axis(const Shape& shape, Index axis, Index& outer, Index& n, Index& inner) {
  outer = inner = 1;
  for (Index d = 0; d < axis; ++d) outer *= shape[d];
  n = shape[axis];
  for (size_t d = axis + 1; d < shape.size(); ++d) inner *= shape[d];
}

namespace {

ReduceKind reduce_kind(const std::string& kind, const Shape& input) {
  static const std::pair<const char*, ReduceKind> names[] = {
      {"sum", ReduceKind::Sum},       {"mean", ReduceKind::Mean},
      {"max", ReduceKind::Max},       {"min", ReduceKind::Min},
      {"prod", ReduceKind::Prod},     {"var", ReduceKind::Var},
      {"std", ReduceKind::Std},       {"logsumexp", ReduceKind::LogSumExp},
      {"norm", ReduceKind::Norm},     {"argmax", ReduceKind::ArgMax},
      {"argmin", ReduceKind::ArgMin}, {"all", ReduceKind::All},
      {"any", ReduceKind::Any}};
  for (const auto& n : names)
    if (kind == n.first) return n.second;
  throw std::invalid_argument("ReduceOp on " + full_shape_string(input) + ": unknown kind '" +
                              kind + "'");
}

std::vector<bool> reduced_axes(const std::string& kind, const Shape& input, const Shape& axes) {
  std::vector<bool> reduced(input.size(), axes.empty());
  for (Index a : axes) {
    if (a < 0 || a >= Index(input.size()) || reduced[a])
      throw std::invalid_argument(kind + ": invalid axes " + full_shape_string(axes) +
                                  " for input " + full_shape_string(input));
    reduced[a] = true;
  }
  if ((kind == "argmax" || kind == "argmin") && axes.size() > 1)
    throw std::invalid_argument(kind + ": one axis at most, given " + full_shape_string(axes) +
                                " for input " + full_shape_string(input));
  return reduced;
}

Shape reduce_shape(const std::string& kind, const Shape& input, const Shape& axes, bool keepdims) {
  reduce_kind(kind, input);
  const auto reduced = reduced_axes(kind, input, axes);
  Shape out;
  for (size_t d = 0; d < input.size(); ++d) {
    if (!reduced[d])
      out.push_back(input[d]);
    else if (keepdims)
      out.push_back(1);
  }
  return out;
}

bool reduces_trailing(const std::vector<bool>& reduced) {
  bool seen = false;
  for (bool r : reduced) {
    if (seen && !r) return false;
    seen = seen || r;
  }
  return true;
}

template <class T>
T reduce_row(ReduceKind kind, const T* p, Index r) {
  ConstArrayMap<T> x(p, r);
  switch (kind) {
    case ReduceKind::Sum:
      return x.sum();
    case ReduceKind::Mean:
      return x.sum() / T(r);
    // NaN propagates, as in NumPy.
    case ReduceKind::Max:
      return r ? x.template maxCoeff<Eigen::PropagateNaN>() : -std::numeric_limits<T>::infinity();
    case ReduceKind::Min:
      return r ? x.template minCoeff<Eigen::PropagateNaN>() : std::numeric_limits<T>::infinity();
    case ReduceKind::Prod:
      return x.prod();
    case ReduceKind::Var:
    case ReduceKind::Std: {
      const T m = x.sum() / T(r);
      const T v = (x - m).square().sum() / T(r);
      return kind == ReduceKind::Var ? v : std::sqrt(v);
    }
    case ReduceKind::LogSumExp: {
      if (!r) return -std::numeric_limits<T>::infinity();
      const T m = x.maxCoeff();
      if (!std::isfinite(m)) return m;
      return m + std::log((x - m).exp().sum());
    }
    case ReduceKind::Norm:
      return std::sqrt(x.square().sum());
    case ReduceKind::ArgMax:
    case ReduceKind::ArgMin: {
      Index best = 0;
      for (Index i = 1; i < r && p[best] == p[best]; ++i)  // the first NaN wins (NumPy)
        if (p[i] != p[i] || (kind == ReduceKind::ArgMax ? p[i] > p[best] : p[i] < p[best]))
          best = i;
      return T(best);
    }
    case ReduceKind::All:
      return T((x != T(0)).all());
    case ReduceKind::Any:
      return T((x != T(0)).any());
  }
  return T(0);
}

// dL/dx of one row given its result y and dL/dy g.
template <class T>
void reduce_row_gradient(ReduceKind kind, const T* p, Index r, T y, T g, T* dp) {
  ConstArrayMap<T> x(p, r);
  ArrayMap<T> dx(dp, r);
  switch (kind) {
    case ReduceKind::Sum:
      dx = g;
      break;
    case ReduceKind::Mean:
      dx = g / T(r);
      break;
    case ReduceKind::Max:
    case ReduceKind::Min: {
      const Index ties = (x == y).count();
      dx = (x == y).template cast<T>() * (g / T(std::max<Index>(ties, 1)));
      break;
    }
    case ReduceKind::Prod: {
      const Index zeros = (x == T(0)).count();
      if (zeros == 0) {
        dx = g * y / x;
      } else {
        dx = T(0);
        if (zeros == 1) {
          T others = 1;
          Index at = 0;
          for (Index i = 0; i < r; ++i) {
            if (p[i] == T(0))
              at = i;
            else
              others *= p[i];
          }
          dp[at] = g * others;
        }
      }
      break;
    }
    case ReduceKind::Var:
      dx = g * T(2) * (x - x.sum() / T(r)) / T(r);
      break;
    case ReduceKind::Std:
      if (y == T(0))
        dx = T(0);
      else
        dx = g * (x - x.sum() / T(r)) / (T(r) * y);
      break;
    case ReduceKind::LogSumExp:
      dx = g * (x - y).exp();
      break;
    case ReduceKind::Norm:
      if (y == T(0))
        dx = T(0);
      else
        dx = g * x / y;
      break;
    default:
      dx = T(0);
      break;
  }
}

}  // namespace

// -- reduce ---------------------------------------------------------------------------------
template <class T>
ReduceOp<T>::ReduceOp(const std::string& kind, const Shape& input, const Shape& axes, bool keepdims)
    : Op<T>(kind, {input}, reduce_shape(kind, input, axes, keepdims)),
      kind_(reduce_kind(kind, input)),
      reduced_(reduced_axes(kind, input, axes)),
      trailing_(reduces_trailing(reduced_)) {}

template <class T>
void ReduceOp<T>::layout(Dims& dims, Dims& in_strides) const {
  const Shape& in = this->in_shape(0);
  const Dims s = contiguous_strides(in);
  dims.clear();
  in_strides.clear();
  for (int pass = 0; pass < 2; ++pass)
    for (size_t d = 0; d < in.size(); ++d)
      if (reduced_[d] == (pass == 1)) {
        dims.push_back(in[d]);
        in_strides.push_back(s[d]);
      }
}

template <class T>
const T* ReduceOp<T>::as_matrix(const T* x, Index& kept, Index& reduced) {
  const Shape& in = this->in_shape(0);
  kept = reduced = 1;
  for (size_t d = 0; d < in.size(); ++d) (reduced_[d] ? reduced : kept) *= in[d];
  if (trailing_) return x;
  Dims dims, strides;
  layout(dims, strides);
  T* m = scratch_.view(kept, reduced).data();
  strided_copy(dims, m, contiguous_strides(dims), x, strides);
  return m;
}

template <class T>
void ReduceOp<T>::compute(const T* const* xs, T* y, bool) {
  Index kept, r;
  const T* m = as_matrix(xs[0], kept, r);
  const ReduceKind kind = kind_;
#pragma omp parallel for schedule(static) if (kept > 1 && parallel_for_worth(kept * r))
  for (Index k = 0; k < kept; ++k) y[k] = reduce_row(kind, m + k * r, r);
}

template <class T>
void ReduceOp<T>::gradient(const T* const* xs, const T* y, T* grad_y, T* const* grad_xs) {
  if (!grad_xs[0]) return;
  Index kept, r;
  const T* m = as_matrix(xs[0], kept, r);
  T* dm = trailing_ ? grad_xs[0] : grad_scratch_.view(kept, r).data();
  const ReduceKind kind = kind_;
#pragma omp parallel for schedule(static) if (kept > 1 && parallel_for_worth(kept * r))
  for (Index k = 0; k < kept; ++k)
    reduce_row_gradient(kind, m + k * r, r, y[k], grad_y[k], dm + k * r);
  if (!trailing_) {
    Dims dims, strides;
    layout(dims, strides);
    strided_copy(dims, grad_xs[0], strides, dm, contiguous_strides(dims));
  }
}

// -- softmax --------------------------------------------------------------------------------
namespace {
Index checked_axis(const std::string& name, const Shape& input, Index axis) {
  if (axis < 0 || axis >= Index(input.size()))
    throw std::invalid_argument(name + ": invalid axis " + std::to_string(axis) + " for input " +
                                full_shape_string(input));
  return axis;
}
}  // namespace

template <class T>
SoftmaxOp<T>::SoftmaxOp(const std::string& kind, const Shape& input, Index axis)
    : Op<T>(kind, {input}, input), log_(kind == "log_softmax"), axis_(axis) {
  if (kind != "softmax" && kind != "log_softmax")
    throw std::invalid_argument("SoftmaxOp on " + full_shape_string(input) + ": unknown kind '" +
                                kind + "'");
  checked_axis(kind, input, axis);
}

template <class T>
void SoftmaxOp<T>::compute(const T* const* xs, T* y, bool) {
  Index outer, n, inner;
  split_at_axis(this->in_shape(0), axis_, outer, n, inner);
  if (n == 0) return;  // nothing to normalize (and no maximum to take)
  const bool log = log_;
  if (inner == 1) {
#pragma omp parallel for schedule(static) if (outer > 1 && parallel_for_worth(outer * n))
    for (Index o = 0; o < outer; ++o) {
      ConstArrayMap<T> x(xs[0] + o * n, n);
      ArrayMap<T> out(y + o * n, n);
      const T mx = x.maxCoeff();
      out = (x - mx).exp();
      const T s = out.sum();
      if (log)
        out = x - mx - std::log(s);
      else
        out /= s;
    }
    return;
  }
  // Along an inner axis: whole rows of `inner` values at a time.
  T* buf = scratch_.view(2, inner).data();
  ArrayMap<T> mx(buf, inner), s(buf + inner, inner);
  for (Index o = 0; o < outer; ++o) {
    const T* x = xs[0] + o * n * inner;
    T* out = y + o * n * inner;
    mx = ConstArrayMap<T>(x, inner);
    for (Index k = 1; k < n; ++k) mx = mx.max(ConstArrayMap<T>(x + k * inner, inner));
    s = T(0);
    for (Index k = 0; k < n; ++k) {
      ArrayMap<T> row(out + k * inner, inner);
      row = (ConstArrayMap<T>(x + k * inner, inner) - mx).exp();
      s += row;
    }
    if (log) s = s.log() + mx;
    for (Index k = 0; k < n; ++k) {
      ArrayMap<T> row(out + k * inner, inner);
      if (log)
        row = ConstArrayMap<T>(x + k * inner, inner) - s;
      else
        row /= s;
    }
  }
}

template <class T>
void SoftmaxOp<T>::gradient(const T* const*, const T* y, T* grad_y, T* const* grad_xs) {
  if (!grad_xs[0]) return;
  Index outer, n, inner;
  split_at_axis(this->in_shape(0), axis_, outer, n, inner);
  const bool log = log_;
  T* dx = grad_xs[0];
  if (inner == 1) {
#pragma omp parallel for schedule(static) if (outer > 1 && parallel_for_worth(outer * n))
    for (Index o = 0; o < outer; ++o) {
      ConstArrayMap<T> out(y + o * n, n), g(grad_y + o * n, n);
      ArrayMap<T> d(dx + o * n, n);
      if (log)
        d = g - out.exp() * g.sum();
      else
        d = out * (g - (g * out).sum());
    }
    return;
  }
  ArrayMap<T> acc(scratch_.view(1, inner).data(), inner);
  for (Index o = 0; o < outer; ++o) {
    const Index base = o * n * inner;
    acc = T(0);
    for (Index k = 0; k < n; ++k) {
      ConstArrayMap<T> g(grad_y + base + k * inner, inner), out(y + base + k * inner, inner);
      if (log)
        acc += g;
      else
        acc += g * out;
    }
    for (Index k = 0; k < n; ++k) {
      ConstArrayMap<T> g(grad_y + base + k * inner, inner), out(y + base + k * inner, inner);
      ArrayMap<T> d(dx + base + k * inner, inner);
      if (log)
        d = g - out.exp() * acc;
      else
        d = out * (g - acc);
    }
  }
}

// -- cumsum / cumprod -----------------------------------------------------------------------
template <class T>
CumulativeOp<T>::CumulativeOp(const std::string& kind, const Shape& input, Index axis)
    : Op<T>(kind, {input}, input), prod_(kind == "cumprod"), axis_(axis) {
  if (kind != "cumsum" && kind != "cumprod")
    throw std::invalid_argument("CumulativeOp on " + full_shape_string(input) + ": unknown kind '" +
                                kind + "'");
  checked_axis(kind, input, axis);
}

template <class T>
void CumulativeOp<T>::compute(const T* const* xs, T* y, bool) {
  Index outer, n, inner;
  split_at_axis(this->in_shape(0), axis_, outer, n, inner);
  for (Index o = 0; o < outer; ++o) {
    const T* x = xs[0] + o * n * inner;
    T* out = y + o * n * inner;
    std::copy_n(x, std::min<Index>(n, 1) * inner, out);
    for (Index k = 1; k < n; ++k) {
      ArrayMap<T> row(out + k * inner, inner);
      ConstArrayMap<T> prev(out + (k - 1) * inner, inner), cur(x + k * inner, inner);
      if (prod_)
        row = prev * cur;
      else
        row = prev + cur;
    }
  }
}

template <class T>
void CumulativeOp<T>::gradient(const T* const* xs, const T* y, T* grad_y, T* const* grad_xs) {
  if (!grad_xs[0]) return;
  Index outer, n, inner;
  split_at_axis(this->in_shape(0), axis_, outer, n, inner);
  T* dx = grad_xs[0];
  for (Index o = 0; o < outer; ++o) {
    const Index base = o * n * inner;
    if (!prod_) {  // reversed cumulative sum of dL/dy
      if (n) std::copy_n(grad_y + base + (n - 1) * inner, inner, dx + base + (n - 1) * inner);
      for (Index k = n - 1; k-- > 0;)
        ArrayMap<T>(dx + base + k * inner, inner) =
            ConstArrayMap<T>(grad_y + base + k * inner, inner) +
            ConstArrayMap<T>(dx + base + (k + 1) * inner, inner);
      continue;
    }
    for (Index i = 0; i < inner; ++i) {
      const T* x = xs[0] + base + i;
      const T* out = y + base + i;
      const T* g = grad_y + base + i;
      T* d = dx + base + i;
      bool zero = false;
      for (Index k = 0; k < n && !zero; ++k) zero = x[k * inner] == T(0);
      if (!zero) {  // dx_k = sum_{j >= k} g_j y_j / x_k
        T acc = 0;
        for (Index k = n; k-- > 0;) {
          acc += g[k * inner] * out[k * inner];
          d[k * inner] = acc / x[k * inner];
        }
        continue;
      }
      // With zeros, the products that skip x_k directly (quadratic, only on such lines).
      for (Index k = 0; k < n; ++k) {
        T before = k ? out[(k - 1) * inner] : T(1), acc = 0, run = before;
        for (Index j = k; j < n; ++j) {
          if (j > k) run *= x[j * inner];
          acc += g[j * inner] * run;
        }
        d[k * inner] = acc;
      }
    }
  }
}

template class ReduceOp<float>;
template class ReduceOp<double>;
template class SoftmaxOp<float>;
template class SoftmaxOp<double>;
template class CumulativeOp<float>;
template class CumulativeOp<double>;

}  // namespace eigennet
