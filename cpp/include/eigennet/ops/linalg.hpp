// Products: matmul (NumPy semantics) and two-operand einsum, both as batched GEMMs.
#pragma once

#include <string>

#include "eigennet/ops/op.hpp"
#include "eigennet/workspace.hpp"

namespace eigennet {

// NumPy matmul: 1-D operands become a row (a) or a column (b) and that axis is dropped from the
// result; leading (batch) dimensions broadcast. A batched 2-D `a` is a batch of rows (the Dense
// case, one GEMM); the batch axis may not be contracted.
template <class T>
class MatMulOp : public Op<T> {
 public:
  MatMulOp(const Shape& a, const Shape& b);
  std::shared_ptr<Layer<T>> clone() const override { return std::make_shared<MatMulOp>(*this); }

 protected:
  void compute(const T* const* xs, T* y, bool training) override;
  void gradient(const T* const* xs, const T* y, T* grad_y, T* const* grad_xs) override;

 private:
  void prepare();  // sizes and per-product offsets for the current batch

  Shape a_batch_, b_batch_;  // leading dimensions (full)
  bool a_vector_, b_vector_;
  Index m_ = 0, k_ = 0, n_ = 0, products_ = 0;
  std::vector<Index> a_off_, b_off_;  // per product, in elements
  bool a_unique_ = true, b_unique_ = true, fold_ = false;
  Shape prepared_for_;
};

// einsum of two operands ("bqhd,bkhd->bhqk", "abc,cd->abd", ...): every letter is a batch
// letter (both operands and the output), a free letter of one operand (and the output) or a
// contracted letter (both operands, not the output). Operands are permuted to
// (batch, free, contracted) when their layout is not already usable, then multiplied as a
// batched GEMM. Not supported: "...", repeated letters in one operand, a letter summed out of a
// single operand, size-1 broadcasting between operands.
template <class T>
class EinsumOp : public Op<T> {
 public:
  EinsumOp(const std::string& equation, const Shape& a, const Shape& b);
  std::shared_ptr<Layer<T>> clone() const override { return std::make_shared<EinsumOp>(*this); }

  // How an operand or the result is laid out for the GEMM: its axes in GEMM order (perm; the
  // identity when used in place) and whether its two matrix axes are swapped (trans).
  struct Layout {
    std::vector<size_t> perm;
    bool in_place = true, trans = false;
  };

 protected:
  void compute(const T* const* xs, T* y, bool training) override;
  void gradient(const T* const* xs, const T* y, T* grad_y, T* const* grad_xs) override;

 private:
  void sizes(Index& p, Index& m, Index& k, Index& n) const;
  const T* gathered(const T* x, const Shape& shape, const Layout& l, Workspace<T>& ws);
  void scatter(const T* src, const Shape& shape, const Layout& l, T* dst);

  std::string equation_;
  std::string a_, b_, out_;
  std::string batch_, afree_, bfree_, contract_;
  Layout la_, lb_, lc_;
  Workspace<T> wa_, wb_, wc_, wga_, wgb_;
};

}  // namespace eigennet
