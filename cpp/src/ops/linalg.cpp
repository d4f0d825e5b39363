#include "eigennet/ops/linalg.hpp"

#include <algorithm>
#include <stdexcept>

#include "eigennet/gemm.hpp"
#include "eigennet/ops/broadcast.hpp"
#include "eigennet/ops/strided_loop.hpp"
#include "eigennet/product_precision.hpp"

namespace eigennet {

namespace {

// Where the p-th matrix of a batch starts: a table (broadcast batches) or a fixed stride.
struct Offsets {
  const Index* table;
  Index stride;
  Index operator()(Index p) const { return table ? table[p] : p * stride; }
};

// count products C_p = op(A_p) op(B_p) (gemm() conventions). Small products run one per thread
// (gemm() stays on the calling thread inside a parallel region); large ones thread inside
// gemm(). parallel is false when several p write the same C (accumulating).
template <class T>
void batched_gemm(Index count, bool ta, bool tb, Index m, Index n, Index k, const T* a, Offsets ao,
                  Index lda, const T* b, Offsets bo, Index ldb, T* c, Offsets co, Index ldc,
                  bool accumulate, bool parallel) {
  const double flops = 2.0 * double(m) * double(n) * double(k);
  const bool threads = parallel && count > 1 && flops < kGemmParallelFlops &&
                       flops * double(count) >= kGemmParallelFlops && get_num_threads() > 1;
  const ProductPrecision precision = product_precision();
#pragma omp parallel if (threads)
  {
    const ProductPrecisionScope scope(precision);  // the calling thread's, on every thread
#pragma omp for schedule(static)
    for (Index p = 0; p < count; ++p)
      gemm(ta, tb, m, n, k, a + ao(p), lda, b + bo(p), ldb, c + co(p), ldc, accumulate);
  }
}

// d(op(A)) and d(op(B)) of C = op(A) op(B) for a batch, written in A's and B's own storage.
template <class T>
void batched_gemm_grad_a(Index count, bool ta, bool tb, Index m, Index n, Index k, const T* dc,
                         Offsets co, const T* b, Offsets bo, T* da, Offsets ao, bool accumulate,
                         bool parallel) {
  const Index ldb = tb ? k : n;
  if (!ta)
    batched_gemm(count, false, !tb, m, k, n, dc, co, n, b, bo, ldb, da, ao, k, accumulate,
                 parallel);
  else
    batched_gemm(count, tb, true, k, m, n, b, bo, ldb, dc, co, n, da, ao, m, accumulate, parallel);
}

template <class T>
void batched_gemm_grad_b(Index count, bool ta, bool tb, Index m, Index n, Index k, const T* dc,
                         Offsets co, const T* a, Offsets ao, T* db, Offsets bo, bool accumulate,
                         bool parallel) {
  const Index lda = ta ? m : k;
  if (!tb)
    batched_gemm(count, !ta, false, k, n, m, a, ao, lda, dc, co, n, db, bo, n, accumulate,
                 parallel);
  else
    batched_gemm(count, true, ta, n, k, m, dc, co, n, a, ao, lda, db, bo, k, accumulate, parallel);
}

Shape matmul_shape(const Shape& a, const Shape& b) {
  const auto fail = [&](const std::string& why) {
    throw std::invalid_argument("matmul: " + full_shape_string(a) + " @ " + full_shape_string(b) +
                                ": " + why);
  };
  if (a.empty() || b.empty()) fail("matmul needs operands of rank 1 or more");
  const Shape am = a.size() == 1 ? Shape{1, a[0]} : Shape(a.end() - 2, a.end());
  const Shape bm = b.size() == 1 ? Shape{b[0], 1} : Shape(b.end() - 2, b.end());
  const Shape ab = a.size() > 2 ? Shape(a.begin(), a.end() - 2) : Shape{};
  const Shape bb = b.size() > 2 ? Shape(b.begin(), b.end() - 2) : Shape{};
  if (am[1] == kBatch || bm[0] == kBatch) fail("the batch axis cannot be contracted");
  if (am[1] != bm[0])
    fail("the contracted dimensions differ (" + std::to_string(am[1]) + " vs " +
         std::to_string(bm[0]) + ")");
  Shape batch;
  try {
    batch = broadcast_full_shapes("matmul", {ab, bb});
  } catch (const std::invalid_argument&) {
    fail("the leading dimensions " + full_shape_string(ab) + " and " + full_shape_string(bb) +
         " do not broadcast");
  }
  if (am[0] == kBatch && !batch.empty())
    fail("the batch axis would not be the first axis of the result");
  Shape out = batch;
  if (a.size() > 1) out.push_back(am[0]);
  if (b.size() > 1) out.push_back(bm[1]);
  return out;
}

}  // namespace

// -- matmul ---------------------------------------------------------------------------------
template <class T>
MatMulOp<T>::MatMulOp(const Shape& a, const Shape& b)
    : Op<T>("matmul", {a, b}, matmul_shape(a, b)),
      a_vector_(a.size() == 1),
      b_vector_(b.size() == 1) {
  if (a.size() > 2) a_batch_.assign(a.begin(), a.end() - 2);
  if (b.size() > 2) b_batch_.assign(b.begin(), b.end() - 2);
}

template <class T>
void MatMulOp<T>::prepare() {
  const Shape& a = this->in_shape(0);
  const Shape& b = this->in_shape(1);
  // Only a new batch size changes anything: compare without building a key.
  if (prepared_for_.size() == a.size() + b.size() &&
      std::equal(a.begin(), a.end(), prepared_for_.begin()) &&
      std::equal(b.begin(), b.end(), prepared_for_.begin() + a.size()))
    return;
  prepared_for_ = a;
  prepared_for_.insert(prepared_for_.end(), b.begin(), b.end());
  m_ = a_vector_ ? 1 : a[a.size() - 2];
  k_ = a.back();
  n_ = b_vector_ ? 1 : b.back();
  const Shape ab(a.begin(), a.begin() + a_batch_.size());
  const Shape bb(b.begin(), b.begin() + b_batch_.size());
  const size_t rank = std::max(ab.size(), bb.size());
  Shape batch(rank, 1);
  for (const Shape* s : {&ab, &bb})
    for (size_t d = 0; d < s->size(); ++d)
      batch[rank - s->size() + d] = std::max(batch[rank - s->size() + d], (*s)[d]);
  products_ = element_count(batch);
  a_off_.assign(products_, 0);
  b_off_.assign(products_, 0);
  if (products_ > 0) {
    const Dims as = broadcast_strides(ab, batch), bs = broadcast_strides(bb, batch);
    Shape idx(rank, 0);
    for (Index p = 0; p < products_; ++p) {
      Index ao = 0, bo = 0;
      for (size_t d = 0; d < rank; ++d) {
        ao += idx[d] * as[d];
        bo += idx[d] * bs[d];
      }
      a_off_[p] = ao * m_ * k_;
      b_off_[p] = bo * k_ * n_;
      for (size_t d = rank; d-- > 0;) {
        if (++idx[d] < batch[d]) break;
        idx[d] = 0;
      }
    }
  }
  a_unique_ = element_count(ab) == products_;
  b_unique_ = element_count(bb) == products_;
  // A stack of matrices times one matrix is one tall product.
  fold_ = bb.empty() && a_unique_;
}

template <class T>
void MatMulOp<T>::compute(const T* const* xs, T* y, bool) {
  prepare();
  if (fold_) {
    gemm(false, false, products_ * m_, n_, k_, xs[0], k_, xs[1], n_, y, n_);
    return;
  }
  batched_gemm(products_, false, false, m_, n_, k_, xs[0], {a_off_.data(), 0}, k_, xs[1],
               {b_off_.data(), 0}, n_, y, {nullptr, m_ * n_}, n_, false, true);
}

template <class T>
void MatMulOp<T>::gradient(const T* const* xs, const T*, T* grad_y, T* const* grad_xs) {
  prepare();
  const Offsets co{nullptr, m_ * n_}, ao{a_off_.data(), 0}, bo{b_off_.data(), 0};
  if (T* da = grad_xs[0]) {
    if (fold_) {
      gemm(false, true, products_ * m_, k_, n_, grad_y, n_, xs[1], n_, da, k_);
    } else {
      if (!a_unique_) std::fill_n(da, element_count(this->in_shape(0)), T(0));
      batched_gemm_grad_a(products_, false, false, m_, n_, k_, grad_y, co, xs[1], bo, da, ao,
                          !a_unique_, a_unique_);
    }
  }
  if (T* db = grad_xs[1]) {
    if (fold_) {
      gemm(true, false, k_, n_, products_ * m_, xs[0], k_, grad_y, n_, db, n_);
    } else {
      if (!b_unique_) std::fill_n(db, element_count(this->in_shape(1)), T(0));
      batched_gemm_grad_b(products_, false, false, m_, n_, k_, grad_y, co, xs[0], ao, db, bo,
                          !b_unique_, b_unique_);
    }
  }
}

// -- einsum ---------------------------------------------------------------------------------
namespace {

struct EinsumSpec {
  std::string a, b, out, batch, afree, bfree, contract;
  Shape out_shape;
};

EinsumSpec parse_einsum(const std::string& equation, const Shape& a, const Shape& b) {
  const auto fail = [&](const std::string& why) {
    throw std::invalid_argument("einsum: '" + equation + "' on " + full_shape_string(a) + " and " +
                                full_shape_string(b) + ": " + why);
  };
  std::string eq;
  for (char c : equation)
    if (c != ' ') eq += c;
  EinsumSpec s;
  const size_t arrow = eq.find("->");
  const std::string lhs = eq.substr(0, arrow);
  const size_t comma = lhs.find(',');
  if (comma == std::string::npos || lhs.find(',', comma + 1) != std::string::npos)
    fail("two operands are supported");
  s.a = lhs.substr(0, comma);
  s.b = lhs.substr(comma + 1);
  if (arrow == std::string::npos) {  // implicit output: letters seen once, sorted
    for (char c = 'A'; c <= 'z'; ++c)
      if (std::count(lhs.begin(), lhs.end(), c) == 1) s.out += c;
  } else {
    s.out = eq.substr(arrow + 2);
  }
  for (const std::string* t : {&s.a, &s.b, &s.out})
    for (char c : *t) {
      if (!std::isalpha(static_cast<unsigned char>(c))) fail("only letters are supported");
      if (std::count(t->begin(), t->end(), c) != 1)
        fail("a letter repeated in one term is not supported");
    }
  if (s.a.size() != a.size() || s.b.size() != b.size())
    fail("the terms do not match the operands' ranks");
  const auto size_of = [&](char c) {
    const size_t ia = s.a.find(c), ib = s.b.find(c);
    if (ia != std::string::npos && ib != std::string::npos && a[ia] != b[ib])
      fail(std::string("sizes of '") + c + "' differ");
    return ia != std::string::npos ? a[ia] : b[ib];
  };
  for (char c : s.out) {
    const bool in_a = s.a.find(c) != std::string::npos, in_b = s.b.find(c) != std::string::npos;
    if (!in_a && !in_b) fail(std::string("output letter '") + c + "' is in no operand");
    (in_a && in_b ? s.batch : in_a ? s.afree : s.bfree) += c;
    s.out_shape.push_back(size_of(c));
  }
  for (char c : s.a) {
    if (s.out.find(c) != std::string::npos) continue;
    if (s.b.find(c) == std::string::npos)
      fail(std::string("summing '") + c + "' out of one operand is not supported");
    if (size_of(c) == kBatch) fail("the batch axis cannot be contracted");
    s.contract += c;
  }
  for (char c : s.b)
    if (s.out.find(c) == std::string::npos && s.a.find(c) == std::string::npos)
      fail(std::string("summing '") + c + "' out of one operand is not supported");
  for (size_t d = 1; d < s.out_shape.size(); ++d)
    if (s.out_shape[d] == kBatch) fail("the batch axis must be the output's first axis");
  return s;
}

// The layout of `term` for a GEMM operand whose groups are first, second and third (a batch
// of (second x third) matrices): in place, in place transposed, or permuted into that order.
template <class L>
L layout_of(const std::string& term, const std::string& first, const std::string& second,
            const std::string& third) {
  L l;
  if (term == first + second + third) return l;
  if (term == first + third + second) {
    l.trans = true;
    return l;
  }
  l.in_place = false;
  for (char c : first + second + third) l.perm.push_back(term.find(c));
  return l;
}

}  // namespace

template <class T>
EinsumOp<T>::EinsumOp(const std::string& equation, const Shape& a, const Shape& b)
    : Op<T>("einsum", {a, b}, parse_einsum(equation, a, b).out_shape), equation_(equation) {
  const EinsumSpec s = parse_einsum(equation, a, b);
  a_ = s.a;
  b_ = s.b;
  out_ = s.out;
  batch_ = s.batch;
  afree_ = s.afree;
  bfree_ = s.bfree;
  contract_ = s.contract;
  la_ = layout_of<Layout>(a_, batch_, afree_, contract_);
  lb_ = layout_of<Layout>(b_, batch_, contract_, bfree_);
  lc_ = layout_of<Layout>(out_, batch_, afree_, bfree_);
  if (!lc_.in_place && lc_.perm.empty()) lc_.in_place = true;
  if (lc_.trans) {  // the result is always written untransposed
    lc_.trans = false;
    lc_.in_place = false;
    for (char c : batch_ + afree_ + bfree_) lc_.perm.push_back(out_.find(c));
  }
}

template <class T>
void EinsumOp<T>::sizes(Index& p, Index& m, Index& k, Index& n) const {
  const Shape& a = this->in_shape(0);
  const Shape& b = this->in_shape(1);
  p = m = k = n = 1;
  for (char c : batch_) p *= a[a_.find(c)];
  for (char c : afree_) m *= a[a_.find(c)];
  for (char c : contract_) k *= a[a_.find(c)];
  for (char c : bfree_) n *= b[b_.find(c)];
}

template <class T>
const T* EinsumOp<T>::gathered(const T* x, const Shape& shape, const Layout& l, Workspace<T>& ws) {
  if (l.in_place) return x;
  const Dims strides = contiguous_strides(shape);
  Dims dims, src;
  for (size_t axis : l.perm) {
    dims.push_back(shape[axis]);
    src.push_back(strides[axis]);
  }
  T* dst = ws.view(element_count(shape), 1).data();
  strided_copy(dims, dst, contiguous_strides(dims), x, src);
  return dst;
}

template <class T>
void EinsumOp<T>::scatter(const T* src, const Shape& shape, const Layout& l, T* dst) {
  const Dims strides = contiguous_strides(shape);
  Dims dims, dst_strides;
  for (size_t axis : l.perm) {
    dims.push_back(shape[axis]);
    dst_strides.push_back(strides[axis]);
  }
  strided_copy(dims, dst, dst_strides, src, contiguous_strides(dims));
}

template <class T>
void EinsumOp<T>::compute(const T* const* xs, T* y, bool) {
  Index p, m, k, n;
  sizes(p, m, k, n);
  const T* a = gathered(xs[0], this->in_shape(0), la_, wa_);
  const T* b = gathered(xs[1], this->in_shape(1), lb_, wb_);
  T* c = lc_.in_place ? y : wc_.view(p * m * n, 1).data();
  batched_gemm(p, la_.trans, lb_.trans, m, n, k, a, {nullptr, m * k}, la_.trans ? m : k, b,
               {nullptr, k * n}, lb_.trans ? k : n, c, {nullptr, m * n}, n, false, true);
  if (!lc_.in_place) scatter(c, this->out_shape(), lc_, y);
}

template <class T>
void EinsumOp<T>::gradient(const T* const* xs, const T*, T* grad_y, T* const* grad_xs) {
  Index p, m, k, n;
  sizes(p, m, k, n);
  const T* dc = gathered(grad_y, this->out_shape(), lc_, wc_);
  const Offsets ao{nullptr, m * k}, bo{nullptr, k * n}, co{nullptr, m * n};
  if (grad_xs[0]) {
    const T* b = gathered(xs[1], this->in_shape(1), lb_, wb_);
    T* da = la_.in_place ? grad_xs[0] : wga_.view(p * m * k, 1).data();
    batched_gemm_grad_a(p, la_.trans, lb_.trans, m, n, k, dc, co, b, bo, da, ao, false, true);
    if (!la_.in_place) scatter(da, this->in_shape(0), la_, grad_xs[0]);
  }
  if (grad_xs[1]) {
    const T* a = gathered(xs[0], this->in_shape(0), la_, wa_);
    T* db = lb_.in_place ? grad_xs[1] : wgb_.view(p * k * n, 1).data();
    batched_gemm_grad_b(p, la_.trans, lb_.trans, m, n, k, dc, co, a, ao, db, bo, false, true);
    if (!lb_.in_place) scatter(db, this->in_shape(1), lb_, grad_xs[1]);
  }
}

template class MatMulOp<float>;
template class MatMulOp<double>;
template class EinsumOp<float>;
template class EinsumOp<double>;

}  // namespace eigennet
