#include "eigennet/layers/merge.hpp"

#include <algorithm>
#include <cmath>
#include <stdexcept>
#include <string>
#include <type_traits>

#include "eigennet/gemm.hpp"
#include "eigennet/layers/window.hpp"
#include "eigennet/memory.hpp"
#include "eigennet/row_blocks.hpp"

namespace eigennet {

MergeOp merge_op_from_name(const std::string& name) {
  if (name == "add") return MergeOp::Add;
  if (name == "subtract") return MergeOp::Subtract;
  if (name == "multiply") return MergeOp::Multiply;
  if (name == "average") return MergeOp::Average;
  if (name == "maximum") return MergeOp::Maximum;
  if (name == "minimum") return MergeOp::Minimum;
  throw std::invalid_argument("unknown merge operation '" + name + "'");
}

namespace {

// The merge operations, each on two scalars (broadcast inputs, read through an index) and on
// two Eigen arrays (inputs of the output's shape: explicitly vectorized).
struct Second {
  template <class A, class B>
  B operator()(const A&, const B& b) const {
    return b;
  }
};
struct Sum {
  template <class A, class B>
  auto operator()(const A& a, const B& b) const {
    return a + b;
  }
};
struct Difference {
  template <class A, class B>
  auto operator()(const A& a, const B& b) const {
    return a - b;
  }
};
struct Product {
  template <class A, class B>
  auto operator()(const A& a, const B& b) const {
    return a * b;
  }
};
// NaN-propagating extremes, as NumPy's and torch's maximum/minimum.
struct Max {
  template <class A, class B>
  auto operator()(const A& a, const B& b) const {
    if constexpr (std::is_arithmetic_v<A>)
      return (a >= b || a != a) ? a : b;
    else
      return a.template max<Eigen::PropagateNaN>(b);
  }
};
struct Min {
  template <class A, class B>
  auto operator()(const A& a, const B& b) const {
    if constexpr (std::is_arithmetic_v<A>)
      return (a <= b || a != a) ? a : b;
    else
      return a.template min<Eigen::PropagateNaN>(b);
  }
};

std::string shapes_string(const std::vector<Shape>& shapes) {
  std::string s;
  for (const auto& shape : shapes) s += (s.empty() ? "" : ", ") + shape_string(shape);
  return s;
}

}  // namespace

// ---------------------------------------------------------------------------------------------
// ElementwiseMerge

template <class T>
Shape ElementwiseMerge<T>::do_build_inputs(const std::vector<Shape>& shapes) {
  if (op_ == MergeOp::Subtract && shapes.size() != 2)
    throw std::invalid_argument("Subtract takes exactly 2 inputs, got " +
                                std::to_string(shapes.size()));
  size_t rank = 0;
  for (const auto& s : shapes) rank = std::max(rank, s.size());
  // Each shape padded with leading 1s to the common rank.
  std::vector<Shape> padded;
  for (const auto& s : shapes) {
    Shape p(rank - s.size(), 1);
    p.insert(p.end(), s.begin(), s.end());
    padded.push_back(std::move(p));
  }
  Shape out(rank, 1);
  for (size_t d = 0; d < rank; ++d)
    for (const auto& p : padded) {
      if (p[d] == 1 || p[d] == out[d]) continue;
      if (out[d] != 1)
        throw std::invalid_argument("merge inputs have incompatible shapes: " +
                                    shapes_string(shapes));
      out[d] = p[d];
    }
  size_ = shape_size(out);
  index_.assign(shapes.size(), {});
  for (size_t i = 0; i < shapes.size(); ++i) {
    if (padded[i] == out) continue;
    // Input strides, 0 along repeated axes; walk the output positions in order.
    std::vector<Index> stride(rank, 0);
    Index step = 1;
    for (size_t d = rank; d-- > 0;) {
      stride[d] = padded[i][d] == 1 ? 0 : step;
      step *= padded[i][d];
    }
    auto& index = index_[i];
    check_allocation(double(size_), sizeof(Index), "the broadcast index of a merge input");
    index.resize(size_t(size_));
    std::vector<Index> coord(rank, 0);
    Index at = 0;
    for (Index j = 0; j < size_; ++j) {
      index[size_t(j)] = at;
      for (size_t d = rank; d-- > 0;) {  // next position: odometer over the output's axes
        at += stride[d];
        if (++coord[d] < out[d]) break;
        at -= stride[d] * out[d];
        coord[d] = 0;
      }
    }
  }
  return out;
}

template <class T>
template <class F>
void ElementwiseMerge<T>::combine(T* out, const ConstMatrixMap<T>& x, size_t i, F f) const {
  const Index size = size_, in_cols = x.cols();
  const T* in = x.data();
  const std::vector<Index>& index = index_[i];
  for_row_blocks(x.rows(), size, [&](Index r0, Index rows) {
    for (Index r = r0; r < r0 + rows; ++r) {
      T* o = out + r * size;
      const T* xr = in + r * in_cols;
      if (index.empty()) {
        ArrayMap<T> oa(o, size);
        oa = f(oa, ConstArrayMap<T>(xr, size));
      } else {
        const Index* at = index.data();
        for (Index j = 0; j < size; ++j) o[j] = f(o[j], xr[at[j]]);
      }
    }
  });
}

template <class T>
void ElementwiseMerge<T>::reduce_into(MatrixMap<T>& grad_x, const T* contribution, size_t i,
                                      T scale) const {
  const Index size = size_, in_cols = grad_x.cols();
  const std::vector<Index>& index = index_[i];
  for_row_blocks(grad_x.rows(), size, [&](Index r0, Index rows) {
    for (Index r = r0; r < r0 + rows; ++r) {
      T* g = grad_x.data() + r * in_cols;
      const T* c = contribution + r * size;
      if (index.empty()) {
        ArrayMap<T>(g, size) = scale * ConstArrayMap<T>(c, size);
      } else {  // a broadcast input: the sum over the positions that repeat it
        std::fill_n(g, in_cols, T(0));
        const Index* at = index.data();
        for (Index j = 0; j < size; ++j) g[at[j]] += scale * c[j];
      }
    }
  });
}

template <class T>
void ElementwiseMerge<T>::forward_inputs(const ConstMatrixMap<T>* xs, size_t n, MatrixMap<T> y,
                                         bool) {
  T* out = y.data();
  combine(out, xs[0], 0, Second{});
  for (size_t i = 1; i < n; ++i) {
    switch (op_) {
      case MergeOp::Add:
      case MergeOp::Average:
        combine(out, xs[i], i, Sum{});
        break;
      case MergeOp::Subtract:
        combine(out, xs[i], i, Difference{});
        break;
      case MergeOp::Multiply:
        combine(out, xs[i], i, Product{});
        break;
      case MergeOp::Maximum:
        combine(out, xs[i], i, Max{});
        break;
      case MergeOp::Minimum:
        combine(out, xs[i], i, Min{});
        break;
    }
  }
  if (op_ == MergeOp::Average) {  // a division, as Keras (not a product by 1 / n)
    const T count = T(n);
    for_row_blocks(y.rows(), size_,
                   [&](Index r0, Index rows) { y.middleRows(r0, rows).array() /= count; });
  }
}

template <class T>
void ElementwiseMerge<T>::backward_inputs(const ConstMatrixMap<T>* xs, size_t n,
                                          ConstMatrixMap<T> y, MatrixMap<T> grad_y, T*,
                                          MatrixMap<T>* const* grad_xs) {
  const Index rows = grad_y.rows();
  const T* g = grad_y.data();
  switch (op_) {
    case MergeOp::Average: {
      const T count = T(n);
      for_row_blocks(rows, size_,
                     [&](Index r0, Index nr) { grad_y.middleRows(r0, nr).array() /= count; });
    }
      [[fallthrough]];
    case MergeOp::Add:
    case MergeOp::Subtract:
      for (size_t i = 0; i < n; ++i)
        if (grad_xs[i])
          reduce_into(*grad_xs[i], g, i, op_ == MergeOp::Subtract && i == 1 ? T(-1) : T(1));
      break;
    case MergeOp::Multiply: {
      // Input i's gradient: grad_y times the product of the other inputs.
      T* c = scratch_.view(rows, size_).data();
      for (size_t i = 0; i < n; ++i) {
        if (!grad_xs[i]) continue;
        std::copy_n(g, rows * size_, c);
        for (size_t k = 0; k < n; ++k)
          if (k != i) combine(c, xs[k], k, Product{});
        reduce_into(*grad_xs[i], c, i, T(1));
      }
      break;
    }
    case MergeOp::Maximum:
    case MergeOp::Minimum: {
      // The gradient goes to the first input holding the extreme (on ties, the earliest
      // input takes it all; torch would split it). Winners: the input index per position,
      // n where none equals the output (NaN).
      T* winner = scratch_.view(rows, size_).data();
      std::fill_n(winner, rows * size_, T(n));
      for (size_t i = 0; i < n; ++i) {
        const T me = T(i), none = T(n);
        const std::vector<Index>& index = index_[i];
        const Index size = size_, in_cols = xs[i].cols();
        for_row_blocks(rows, size, [&](Index r0, Index nr) {
          for (Index r = r0; r < r0 + nr; ++r) {
            T* w = winner + r * size;
            const T* yr = y.data() + r * size;
            const T* xr = xs[i].data() + r * in_cols;
            if (index.empty()) {
              ArrayMap<T> wa(w, size);
              const ConstArrayMap<T> xa(xr, size), ya(yr, size);
              wa = (wa == none && xa == ya).select(me, wa);
            } else {
              for (Index j = 0; j < size; ++j)
                if (w[j] == none && xr[index[size_t(j)]] == yr[j]) w[j] = me;
            }
          }
        });
      }
      for (size_t i = 0; i < n; ++i) {
        if (!grad_xs[i]) continue;
        MatrixMap<T>& gx = *grad_xs[i];
        const T me = T(i);
        const std::vector<Index>& index = index_[i];
        const Index size = size_, in_cols = gx.cols();
        for_row_blocks(rows, size, [&](Index r0, Index nr) {
          for (Index r = r0; r < r0 + nr; ++r) {
            const T* w = winner + r * size;
            const T* gr = g + r * size;
            T* out = gx.data() + r * in_cols;
            if (index.empty()) {
              ArrayMap<T>(out, size) =
                  (ConstArrayMap<T>(w, size) == me).select(ConstArrayMap<T>(gr, size), T(0));
            } else {
              std::fill_n(out, in_cols, T(0));
              for (Index j = 0; j < size; ++j)
                if (w[j] == me) out[index[size_t(j)]] += gr[j];
            }
          }
        });
      }
      break;
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Concatenate

template <class T>
Shape Concatenate<T>::do_build_inputs(const std::vector<Shape>& shapes) {
  const Shape& first = shapes.front();
  const Index rank = Index(first.size());
  if (axis_ < 0 || axis_ >= rank)
    throw std::invalid_argument("Concatenate: axis " + std::to_string(axis_) +
                                " is not a sample axis of inputs of shape " + shape_string(first));
  Shape out = first;
  out[size_t(axis_)] = 0;
  for (const auto& s : shapes) {
    bool matches = Index(s.size()) == rank;
    for (Index d = 0; matches && d < rank; ++d)
      matches = d == axis_ || s[size_t(d)] == first[size_t(d)];
    if (!matches)
      throw std::invalid_argument(
          "Concatenate: inputs must have matching shapes except for the concatenation axis, "
          "got " +
          shapes_string(shapes));
    out[size_t(axis_)] += s[size_t(axis_)];
  }
  outer_ = 1;
  for (Index d = 0; d < axis_; ++d) outer_ *= first[size_t(d)];
  inner_.clear();
  total_inner_ = 0;
  for (const auto& s : shapes) {
    inner_.push_back(shape_size(s) / outer_);
    total_inner_ += inner_.back();
  }
  return out;
}

template <class T>
void Concatenate<T>::forward_inputs(const ConstMatrixMap<T>* xs, size_t n, MatrixMap<T> y, bool) {
  const Index blocks = y.rows() * outer_;  // rows and outer blocks are one run of blocks
  for_row_blocks(blocks, total_inner_, [&](Index b0, Index nb) {
    for (Index b = b0; b < b0 + nb; ++b) {
      T* out = y.data() + b * total_inner_;
      for (size_t i = 0; i < n; ++i) {
        const Index inner = inner_[i];
        out = std::copy_n(xs[i].data() + b * inner, inner, out);
      }
    }
  });
}

template <class T>
void Concatenate<T>::backward_inputs(const ConstMatrixMap<T>*, size_t n, ConstMatrixMap<T>,
                                     MatrixMap<T> grad_y, T*, MatrixMap<T>* const* grad_xs) {
  const Index blocks = grad_y.rows() * outer_;
  for_row_blocks(blocks, total_inner_, [&](Index b0, Index nb) {
    for (Index b = b0; b < b0 + nb; ++b) {
      const T* g = grad_y.data() + b * total_inner_;
      for (size_t i = 0; i < n; ++i) {
        const Index inner = inner_[i];
        if (grad_xs[i]) std::copy_n(g, inner, grad_xs[i]->data() + b * inner);
        g += inner;
      }
    }
  });
}

// ---------------------------------------------------------------------------------------------
// Dot

namespace {

// How one operand enters the per-sample product: `groups` contiguous row-major matrices of
// rows x cols, group g at offset g * group_step, each giving `count` rows (first operand) or
// columns (second operand) of the sample's output, used as stored or transposed.
struct Layout {
  Index groups, group_step, count, rows, cols;
  bool transposed;
};

// The first operand (P, K, Q) as (count, K) blocks of the output's P*Q rows: one (P, K)
// matrix when Q is 1, else per p the transpose of a (K, Q) matrix.
Layout left_layout(Index p, Index k, Index q) {
  if (q == 1) return {1, 0, p, p, k, false};
  return {p, k * q, q, k, q, true};
}
// The second operand (R, K, S) as (K, count) blocks of the output's R*S columns: the
// transpose of one (R, K) matrix when S is 1, else per r a (K, S) matrix.
Layout right_layout(Index r, Index k, Index s) {
  if (s == 1) return {1, 0, r, r, k, true};
  return {r, k * s, s, k, s, false};
}

}  // namespace

template <class T>
Shape Dot<T>::do_build_inputs(const std::vector<Shape>& shapes) {
  if (shapes.size() != 2)
    throw std::invalid_argument("Dot takes exactly 2 inputs, got " + std::to_string(shapes.size()));
  const Shape &sa = shapes[0], &sb = shapes[1];
  if (axis_a_ < 0 || axis_a_ >= Index(sa.size()) || axis_b_ < 0 || axis_b_ >= Index(sb.size()))
    throw std::invalid_argument("Dot: axes (" + std::to_string(axis_a_) + ", " +
                                std::to_string(axis_b_) + ") are not sample axes of inputs " +
                                shapes_string(shapes));
  if (sa[size_t(axis_a_)] != sb[size_t(axis_b_)])
    throw std::invalid_argument("Dot: the contracted axes differ in size: " +
                                shapes_string(shapes));
  auto split = [](const Shape& s, Index axis, Operand& op) {
    op.before = op.after = 1;
    for (Index d = 0; d < axis; ++d) op.before *= s[size_t(d)];
    op.k = s[size_t(axis)];
    for (Index d = axis + 1; d < Index(s.size()); ++d) op.after *= s[size_t(d)];
  };
  split(sa, axis_a_, a_);
  split(sb, axis_b_, b_);
  Shape out;
  for (Index d = 0; d < Index(sa.size()); ++d)
    if (d != axis_a_) out.push_back(sa[size_t(d)]);
  for (Index d = 0; d < Index(sb.size()); ++d)
    if (d != axis_b_) out.push_back(sb[size_t(d)]);
  if (out.empty()) out.push_back(1);
  return out;
}

template <class T>
void Dot<T>::normalize_operand(const ConstMatrixMap<T>& x, Operand& op) {
  const Index rows = x.rows(), cols = x.cols(), k = op.k, after = op.after;
  const Index lines = op.before * after;  // vectors normalized, per sample
  T* out = op.normalized.view(rows, cols).data();
  T* inv = op.inv_norm.view(rows, lines).data();
  const T cap = T(1.0 / 1e-7);  // Keras: min(1 / ||v||, 1 / epsilon), the bound in double
  for_row_blocks(rows, cols, [&](Index r0, Index nr) {
    for (Index r = r0; r < r0 + nr; ++r)
      for (Index p = 0; p < op.before; ++p) {
        const Index base = r * cols + p * k * after;
        // Squared norms of the `after` vectors of this block, accumulated along k.
        T* iv = inv + r * lines + p * after;
        std::fill_n(iv, after, T(0));
        for (Index kk = 0; kk < k; ++kk) {
          const T* v = x.data() + base + kk * after;
          for (Index j = 0; j < after; ++j) iv[j] += v[j] * v[j];
        }
        for (Index j = 0; j < after; ++j)
          iv[j] = iv[j] > T(0) ? std::min(T(1) / std::sqrt(iv[j]), cap) : cap;
        for (Index kk = 0; kk < k; ++kk) {
          const T* v = x.data() + base + kk * after;
          T* o = out + base + kk * after;
          for (Index j = 0; j < after; ++j) o[j] = v[j] * iv[j];
        }
      }
  });
}

template <class T>
void Dot<T>::normalize_backward(Operand& op, const T* gn, MatrixMap<T>& grad_x) {
  // Unclamped: dx = (dv - v * <v, dv>) / ||x|| with v = x / ||x||; clamped: dx = dv / eps.
  const Index rows = grad_x.rows(), cols = grad_x.cols(), k = op.k, after = op.after;
  const Index lines = op.before * after;
  const T cap = T(1.0 / 1e-7);
  const T* v_all = op.normalized.data();
  const T* inv = op.inv_norm.data();
  for_row_blocks(rows, cols, [&](Index r0, Index nr) {
    for (Index r = r0; r < r0 + nr; ++r)
      for (Index p = 0; p < op.before; ++p) {
        const Index base = r * cols + p * k * after;
        const T* iv = inv + r * lines + p * after;
        T* out = grad_x.data() + base;
        for (Index j = 0; j < after; ++j) {
          T dot = 0;
          for (Index kk = 0; kk < k; ++kk)
            dot += v_all[base + kk * after + j] * gn[base + kk * after + j];
          const bool clamped = iv[j] >= cap;
          for (Index kk = 0; kk < k; ++kk) {
            const Index at = kk * after + j;
            out[at] =
                clamped ? gn[base + at] * iv[j] : (gn[base + at] - v_all[base + at] * dot) * iv[j];
          }
        }
      }
  });
}

template <class T>
void Dot<T>::forward_inputs(const ConstMatrixMap<T>* xs, size_t, MatrixMap<T> y, bool) {
  const Index rows = y.rows();
  const T* a = xs[0].data();
  const T* b = xs[1].data();
  if (normalize_) {
    normalize_operand(xs[0], a_);
    normalize_operand(xs[1], b_);
    a = a_.normalized.data();
    b = b_.normalized.data();
  }
  const Index size_a = xs[0].cols(), size_b = xs[1].cols();
  if (y.cols() == 1 && a_.before * a_.after == 1 && b_.before * b_.after == 1) {
    // (b, n) . (b, n): a dot product per row.
    const Index k = a_.k;
    for_row_blocks(rows, k, [&](Index r0, Index nr) {
      for (Index r = r0; r < r0 + nr; ++r)
        y(r, 0) = ConstRowVectorMap<T>(a + r * k, k).dot(ConstRowVectorMap<T>(b + r * k, k));
    });
    return;
  }
  const Layout la = left_layout(a_.before, a_.k, a_.after);
  const Layout lb = right_layout(b_.before, b_.k, b_.after);
  const Index out_rows = a_.before * a_.after, out_cols = b_.before * b_.after;
  for_row_blocks(rows, out_rows * out_cols * a_.k, [&](Index r0, Index nr) {
    for (Index r = r0; r < r0 + nr; ++r)
      for (Index ga = 0; ga < la.groups; ++ga)
        for (Index gb = 0; gb < lb.groups; ++gb)
          gemm(la.transposed, lb.transposed, la.count, lb.count, a_.k,
               a + r * size_a + ga * la.group_step, la.cols, b + r * size_b + gb * lb.group_step,
               lb.cols, y.data() + r * y.cols() + ga * la.count * out_cols + gb * lb.count,
               out_cols);
  });
}

template <class T>
void Dot<T>::backward_inputs(const ConstMatrixMap<T>* xs, size_t, ConstMatrixMap<T>,
                             MatrixMap<T> grad_y, T*, MatrixMap<T>* const* grad_xs) {
  const Index rows = grad_y.rows();
  const Index size_a = xs[0].cols(), size_b = xs[1].cols();
  const T* a = normalize_ ? a_.normalized.data() : xs[0].data();
  const T* b = normalize_ ? b_.normalized.data() : xs[1].data();
  // Gradients of the (normalized) operands: straight into grad_x unless normalize follows.
  T* da = nullptr;
  T* db = nullptr;
  if (grad_xs[0]) da = normalize_ ? a_.grad.view(rows, size_a).data() : grad_xs[0]->data();
  if (grad_xs[1]) db = normalize_ ? b_.grad.view(rows, size_b).data() : grad_xs[1]->data();
  const T* g = grad_y.data();
  if (grad_y.cols() == 1 && a_.before * a_.after == 1 && b_.before * b_.after == 1) {
    const Index k = a_.k;
    for_row_blocks(rows, k, [&](Index r0, Index nr) {
      for (Index r = r0; r < r0 + nr; ++r) {
        if (da) RowVectorMap<T>(da + r * k, k) = g[r] * ConstRowVectorMap<T>(b + r * k, k);
        if (db) RowVectorMap<T>(db + r * k, k) = g[r] * ConstRowVectorMap<T>(a + r * k, k);
      }
    });
  } else {
    // dA = G B^T and dB = A^T G, summed over the blocks each operand group meets.
    const Layout la = left_layout(a_.before, a_.k, a_.after);
    const Layout lb = right_layout(b_.before, b_.k, b_.after);
    const Index out_rows = a_.before * a_.after, out_cols = b_.before * b_.after;
    for_row_blocks(rows, out_rows * out_cols * a_.k, [&](Index r0, Index nr) {
      for (Index r = r0; r < r0 + nr; ++r) {
        if (da) std::fill_n(da + r * size_a, size_a, T(0));
        if (db) std::fill_n(db + r * size_b, size_b, T(0));
        for (Index ga = 0; ga < la.groups; ++ga) {
          const Index off_a = r * size_a + ga * la.group_step;
          for (Index gb = 0; gb < lb.groups; ++gb) {
            const Index off_b = r * size_b + gb * lb.group_step;
            const T* block = g + r * out_rows * out_cols + ga * la.count * out_cols + gb * lb.count;
            // dA = G op(B)^T, stored transposed (op(B) G^T) when A enters transposed.
            if (da && !la.transposed)
              gemm(false, !lb.transposed, la.count, a_.k, lb.count, block, out_cols, b + off_b,
                   lb.cols, da + off_a, la.cols, true);
            else if (da)
              gemm(lb.transposed, true, a_.k, la.count, lb.count, b + off_b, lb.cols, block,
                   out_cols, da + off_a, la.cols, true);
            // dB = op(A)^T G, stored transposed (G^T op(A)) when B enters transposed.
            if (db && !lb.transposed)
              gemm(!la.transposed, false, a_.k, lb.count, la.count, a + off_a, la.cols, block,
                   out_cols, db + off_b, lb.cols, true);
            else if (db)
              gemm(true, la.transposed, lb.count, a_.k, la.count, block, out_cols, a + off_a,
                   la.cols, db + off_b, lb.cols, true);
          }
        }
      }
    });
  }
  if (normalize_) {
    if (da) normalize_backward(a_, da, *grad_xs[0]);
    if (db) normalize_backward(b_, db, *grad_xs[1]);
  }
}

template class ElementwiseMerge<float>;
template class ElementwiseMerge<double>;
template class Concatenate<float>;
template class Concatenate<double>;
template class Dot<float>;
template class Dot<double>;

}  // namespace eigennet
