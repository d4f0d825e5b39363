#include "eigennet/layers/quantized.hpp"

#include <omp.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <stdexcept>
#include <string>
#include <type_traits>

#if defined(__AVX512F__)
#include <immintrin.h>
#endif

#include "eigennet/checks.hpp"
#include "eigennet/gemm.hpp"
#include "eigennet/int8_gemm.hpp"
#include "eigennet/lane_mask.hpp"
#include "eigennet/parallel_passes.hpp"

namespace eigennet {

#if defined(__AVX512F__) && defined(__AVX512BW__)
// One row of floats quantized as below, 64 at a time. The maximum is taken on the bit
// patterns of |x| (for non-negative floats integer order is float order, and inf and NaN have
// the largest patterns), so one integer max finds both the scale and a non-finite value.
// VCVTPS2DQ rounds half to even under the default rounding mode, as rint does; the bytes are
// packed with saturating packs and one permute, and stored whole: on Zen 4 the masked
// VPMOVDB to memory took a third of this function. Returns whether the row is finite.
bool quantize_row_avx512(const float* row, Index cols, int8_t* q, float* scale) {
  // Whole blocks of 64 with plain loads and stores, then one masked block for the rest
  // (masks made for every vector cost more than the arithmetic).
  const Index whole = cols / 64 * 64;
  const __m512i magnitude = _mm512_set1_epi32(0x7fffffff);
  __m512i amax[4] = {_mm512_setzero_si512(), _mm512_setzero_si512(), _mm512_setzero_si512(),
                     _mm512_setzero_si512()};
  const auto absolute_max = [&](Index j, const __mmask16* m) {
    for (int v = 0; v < 4; ++v) {
      const __m512i x = _mm512_maskz_loadu_epi32(m[v], row + j + 16 * v);
      amax[v] = _mm512_max_epu32(amax[v], _mm512_and_si512(x, magnitude));
    }
  };
  const __mmask16 all[4] = {0xFFFF, 0xFFFF, 0xFFFF, 0xFFFF};
  const __mmask16 tail[4] = {first_lanes(cols - whole), first_lanes(cols - whole - 16),
                             first_lanes(cols - whole - 32), first_lanes(cols - whole - 48)};
  for (Index j = 0; j < whole; j += 64) absolute_max(j, all);
  if (whole < cols) absolute_max(whole, tail);
  const __m512i m =
      _mm512_max_epu32(_mm512_max_epu32(amax[0], amax[1]), _mm512_max_epu32(amax[2], amax[3]));
  const uint32_t bits = _mm512_reduce_max_epu32(m);
  if (bits >= 0x7f800000u) return false;  // inf or NaN
  float top;
  std::memcpy(&top, &bits, sizeof top);
  const float s = 127.0f / (top + 1e-7f);
  *scale = s;
  const __m512 vs = _mm512_set1_ps(s);
  const __m512i order = _mm512_setr_epi32(0, 4, 8, 12, 1, 5, 9, 13, 2, 6, 10, 14, 3, 7, 11, 15);
  const __m512i lowest = _mm512_set1_epi8(-127);
  const auto quantized = [&](Index j, const __mmask16* m) {
    __m512i r[4];
    for (int v = 0; v < 4; ++v)
      r[v] = _mm512_cvtps_epi32(_mm512_mul_ps(_mm512_maskz_loadu_ps(m[v], row + j + 16 * v), vs));
    // Per 128-bit lane the packs interleave the four vectors' dwords; the permute restores
    // their order. Saturation clips to [-128, 127]; -128 becomes -127.
    const __m512i bytes =
        _mm512_packs_epi16(_mm512_packs_epi32(r[0], r[1]), _mm512_packs_epi32(r[2], r[3]));
    return _mm512_max_epi8(_mm512_permutexvar_epi32(order, bytes), lowest);
  };
  for (Index j = 0; j < whole; j += 64) _mm512_storeu_si512(q + j, quantized(j, all));
  if (whole < cols)
    _mm512_mask_storeu_epi8(q + whole, first_bytes(cols - whole), quantized(whole, tail));
  return true;
}
#endif

template <class T>
bool quantize_row(const T* row, Index cols, int8_t* q, T* scale) {
#if defined(__AVX512F__) && defined(__AVX512BW__)
  if constexpr (std::is_same_v<T, float>) return quantize_row_avx512(row, cols, q, scale);
#endif
  T amax = 0;
  int bad = 0;
  const T inf = std::numeric_limits<T>::infinity();
#pragma omp simd reduction(max : amax) reduction(| : bad)
  for (Index j = 0; j < cols; ++j) {
    const T a = std::abs(row[j]);
    amax = a > amax ? a : amax;
    bad |= !(a < inf);
  }
  // Keras: 127 / (max + epsilon) in the compute dtype; rounding half to even (rint under
  // the default rounding mode), as torch.round and np.round.
  const T s = T(127) / (amax + T(1e-7));
  *scale = s;
#pragma omp simd
  for (Index j = 0; j < cols; ++j) {  // (selects, not std::min/max: they vectorize)
    T r = std::rint(row[j] * s);
    r = r > T(127) ? T(127) : r;
    r = r < T(-127) ? T(-127) : r;
    q[j] = static_cast<int8_t>(static_cast<int32_t>(r));
  }
  return bad == 0;
}

template <class T>
Index quantize_rows_int8(const T* x, Index rows, Index cols, int8_t* q, T* scale) {
  Index first_bad = rows;
#pragma omp parallel for schedule(static) \
    reduction(min : first_bad) if (rows * cols >= (Index(1) << 16) && !omp_in_parallel())
  for (Index i = 0; i < rows; ++i)
    if (!quantize_row<T>(x + i * cols, cols, q + i * cols, scale + i))
      first_bad = std::min(first_bad, i);
  return first_bad == rows ? -1 : first_bad;
}

template <class T>
Int8Dense<T>::Int8Dense(Index units, Activation activation, bool use_bias)
    : units_(units), activation_(activation), use_bias_(use_bias) {
  if (units <= 0)
    throw std::invalid_argument("Dense units must be a positive integer, got " +
                                std::to_string(units));
}

template <class T>
Shape Int8Dense<T>::do_build(const Shape& input_shape) {
  if (input_shape.empty())
    throw std::invalid_argument("Dense needs an input of rank >= 2 (batch, features)");
  in_ = input_shape.back();
  if (in_ <= 0) throw std::invalid_argument("Dense input's last dimension must be positive");
  this->add_weight("kernel", {in_, units_}, false);
  if (use_bias_) this->add_weight("bias", {units_});
  this->add_weight("kernel_scale", {units_}, false);
  Shape out = input_shape;
  out.back() = units_;
  return out;
}

template <class T>
PackedInt8B pack_whole_numbers(const T* kernel, Index k, Index n, Int8Kernel choice) {
  const Index size = k * n;
  AlignedVector<int8_t> values(static_cast<size_t>(size));
  for (Index i = 0; i < size; ++i)
    values[static_cast<size_t>(i)] =
        static_cast<int8_t>(std::min(T(127), std::max(T(-128), std::rint(kernel[i]))));
  return pack_int8_b(k, n, values.data(), choice);
}

template <class T>
void Int8Products<T>::resize(Index rows, const PackedInt8B& kernel) {
  inputs_int8.resize(static_cast<size_t>(rows * kernel.k));
  inputs_scale.resize(static_cast<size_t>(rows));
  products.resize(static_cast<size_t>(rows * kernel.n));
}

template <class T>
void Int8Products<T>::throw_non_finite(const char* who, Index row) {
  throw NonFiniteRows(std::string(who) + " got NaN or inf in row " + std::to_string(row) +
                          " of its input: int8 quantization needs finite values",
                      row);
}

template <class T>
Index Int8Products<T>::try_compute(const T* x, Index rows, const PackedInt8B& kernel) {
  resize(rows, kernel);
  const Index bad =
      quantize_rows_int8<T>(x, rows, kernel.k, inputs_int8.data(), inputs_scale.data());
  if (bad < 0) int8_gemm(rows, inputs_int8.data(), kernel, products.data());
  return bad;
}

template <class T>
void Int8Products<T>::compute(const T* x, Index rows, const PackedInt8B& kernel, const char* who) {
  const Index bad = try_compute(x, rows, kernel);
  if (bad >= 0) throw_non_finite(who, bad);
}

template <class T>
const PackedInt8B& Int8Dense<T>::packed_kernel() {
  const Int8Kernel choice = int8_kernel_in_use();
  const std::uint64_t version = this->params_version();
  if (packed_version_ == version && packed_.kernel == choice) return packed_;
  packed_ = pack_whole_numbers(this->weight(0), in_, units_, choice);
  packed_version_ = version;
  return packed_;
}

template <class T>
void Int8Dense<T>::forward(ConstMatrixMap<T> x, MatrixMap<T> y, bool) {
  const Index rows = x.size() / in_;
  const bool needs_input = activation_needs_input(activation_);
  MatrixMap<T> z(needs_input ? preactivation_.view(rows, units_).data() : y.data(), rows, units_);
  const T* kscale = kernel_scale();
  const T* bias = use_bias_ ? this->weight(1) : nullptr;
  // An element-wise activation runs on each row while it is in cache; softmax after, on all.
  const bool rowwise = activation_ == Activation::Softmax;
  const bool activate = activation_ != Activation::Linear || needs_input;
  products_.compute_rows(
      x.data(), rows, packed_kernel(), "an int8 Dense layer", [&](Index first, Index last) {
        for (Index i = first; i < last; ++i) {
          T* zi = z.data() + i * units_;
          if (bias) {  // (one pass: de-scaled and biased)
#pragma omp simd
            for (Index j = 0; j < units_; ++j)
              zi[j] = products_.value(i, j, units_, kscale) + bias[j];
          } else {
#pragma omp simd
            for (Index j = 0; j < units_; ++j) zi[j] = products_.value(i, j, units_, kscale);
          }
          if (activate && !rowwise)
            activation_forward_rows<T>(activation_, zi, y.data() + i * units_, 1, units_, units_);
        }
      });
  if (activate && rowwise)
    activation_forward<T>(activation_, ConstMatrixMap<T>(z.data(), rows, units_),
                          MatrixMap<T>(y.data(), rows, units_));
}

template <class T>
void Int8Dense<T>::backward(ConstMatrixMap<T> x, ConstMatrixMap<T> y, MatrixMap<T> grad_y,
                            T* param_grad, MatrixMap<T>* grad_x) {
  const Index rows = x.size() / in_;
  MatrixMap<T> g(grad_y.data(), rows, units_);
  const T* z = activation_needs_input(activation_) ? preactivation_.data() : y.data();
  activation_backward<T>(activation_, ConstMatrixMap<T>(z, rows, units_),
                         ConstMatrixMap<T>(y.data(), rows, units_), g);
  if (param_grad) {
    std::fill_n(param_grad, this->param_count(), T(0));
    if (use_bias_) column_sums(g.data(), g.rows(), units_, param_grad + in_ * units_);
  }
  if (!grad_x) return;
  // dL/dx through the dequantized kernel, kernel / kernel_scale (Keras's custom gradient).
  Workspace<T> dequantized;
  MatrixMap<T> w = dequantized.view(in_, units_);
  const T* kernel = this->weight(0);
  const T* kscale = kernel_scale();
  for (Index p = 0; p < in_; ++p)
    for (Index j = 0; j < units_; ++j) w(p, j) = kernel[p * units_ + j] / kscale[j];
  gemm<T>(false, true, rows, in_, units_, g.data(), units_, w.data(), units_, grad_x->data(), in_);
}

template <class T>
Shape Int8Embedding<T>::do_build(const Shape& input_shape) {
  this->add_weight("embeddings", {this->input_dim_, this->output_dim_}, false);
  this->add_weight("embeddings_scale", {this->input_dim_}, false);
  Shape out = input_shape;
  out.push_back(this->output_dim_);
  return out;
}

template <class T>
void Int8Embedding<T>::forward(ConstMatrixMap<T> x, MatrixMap<T> y, bool training) {
  Embedding<T>::forward(x, y, training);  // checks the indices, copies the int8 rows
  const T* scale = this->weight(1);
  const Index n = x.size(), dim = this->output_dim_;
  for (Index i = 0; i < n; ++i) {
    const T s = scale[static_cast<Index>(x.data()[i])];
    T* row = y.data() + i * dim;
    for (Index j = 0; j < dim; ++j) row[j] /= s;
  }
}

template <class T>
void Int8Embedding<T>::backward(ConstMatrixMap<T>, ConstMatrixMap<T>, MatrixMap<T>, T* param_grad,
                                MatrixMap<T>* grad_x) {
  if (grad_x) grad_x->setZero();
  if (param_grad) std::fill_n(param_grad, this->param_count(), T(0));
}

template Index quantize_rows_int8<float>(const float*, Index, Index, int8_t*, float*);
template Index quantize_rows_int8<double>(const double*, Index, Index, int8_t*, double*);
template PackedInt8B pack_whole_numbers<float>(const float*, Index, Index, Int8Kernel);
template PackedInt8B pack_whole_numbers<double>(const double*, Index, Index, Int8Kernel);
template struct Int8Products<float>;
template struct Int8Products<double>;
template class Int8Dense<float>;
template class Int8Dense<double>;
template class Int8Embedding<float>;
template class Int8Embedding<double>;

}  // namespace eigennet
