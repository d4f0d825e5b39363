#include "eigennet/layers/normalization.hpp"

#include <algorithm>
#include <cmath>
#include <stdexcept>
#include <string>

#include "eigennet/row_blocks.hpp"
#include "eigennet/threading.hpp"

namespace eigennet {

namespace {

// Reductions over rows run on fixed tiles (a chunk of rows x a block of columns) whose size
// depends only on the number of columns; the chunks' partial results are then combined in
// chunk order. So results do not depend on the thread count, and a tile (~128 KB of floats)
// stays in cache when it is read twice. Accumulators are double: float sums over many rows
// stay accurate.
constexpr Index kTileElements = Index{1} << 15;
constexpr Index kBlockCols = 1024;

struct Tiling {
  Index rows, cols, chunk_rows, chunks, col_blocks;
  Tiling(Index rows_, Index cols_) : rows(rows_), cols(cols_) {
    chunk_rows = std::clamp<Index>(kTileElements / std::min(cols, kBlockCols), 16, 4096);
    chunks = std::max<Index>(1, (rows + chunk_rows - 1) / chunk_rows);
    col_blocks = (cols + kBlockCols - 1) / kBlockCols;
  }
  // fn(chunk, first_row, row_count, c0, c1) on every tile, in parallel when large.
  template <class Fn>
  void run(Fn&& fn) const {
    const Index tiles = chunks * col_blocks;
#pragma omp parallel for schedule(static) if (tiles > 1 && parallel_for_worth(rows * cols))
    for (Index t = 0; t < tiles; ++t) {
      const Index chunk = t / col_blocks, c0 = (t % col_blocks) * kBlockCols;
      const Index first = chunk * chunk_rows;
      fn(chunk, first, std::min(chunk_rows, rows - first), c0, std::min(cols, c0 + kBlockCols));
    }
  }
};

// out[k * cols + c] (k < per_column) = the sums that add_rows(first, count, c0, c1, acc)
// accumulates into acc[k * cols + c] for rows [first, first + count) and columns [c0, c1).
template <class Fn>
void column_sums(Index rows, Index cols, int per_column, Workspace<double>& partial,
                 AlignedVector<double>& out, Fn&& add_rows) {
  const Tiling tiling(rows, cols);
  const Index width = per_column * cols;
  double* acc = tiling.chunks == 1 ? out.data() : partial.view(tiling.chunks, width).data();
  tiling.run([&](Index chunk, Index first, Index count, Index c0, Index c1) {
    double* a = acc + chunk * width;
    for (int k = 0; k < per_column; ++k) std::fill(a + k * cols + c0, a + k * cols + c1, 0.0);
    add_rows(first, count, c0, c1, a);
  });
  if (tiling.chunks == 1) return;
  std::copy_n(acc, width, out.data());
  for (Index chunk = 1; chunk < tiling.chunks; ++chunk) {
    const double* a = acc + chunk * width;
    double* o = out.data();
#pragma omp simd
    for (Index j = 0; j < width; ++j) o[j] += a[j];
  }
}

// Per column of the (rows, cols) matrix x: mean and biased variance, in out[0, cols) and
// out[cols, 2 cols). Each tile takes its mean and then the squared deviations from it while
// it is in cache (one read from memory, no cancellation); the chunks are merged in order
// with Chan et al.'s pairwise update.
template <class T>
void column_moments(const T* x, Index rows, Index cols, Workspace<double>& partial,
                    AlignedVector<double>& out) {
  const Tiling tiling(rows, cols);
  const Index width = 2 * cols;
  double* acc = tiling.chunks == 1 ? out.data() : partial.view(tiling.chunks, width).data();
  tiling.run([&](Index chunk, Index first, Index count, Index c0, Index c1) {
    double *mean = acc + chunk * width, *m2 = mean + cols;
    std::fill(mean + c0, mean + c1, 0.0);
    std::fill(m2 + c0, m2 + c1, 0.0);
    for (Index r = first; r < first + count; ++r) {
      const T* row = x + r * cols;
#pragma omp simd
      for (Index c = c0; c < c1; ++c) mean[c] += double(row[c]);
    }
    for (Index c = c0; c < c1; ++c) mean[c] /= double(count);
    for (Index r = first; r < first + count; ++r) {
      const T* row = x + r * cols;
#pragma omp simd
      for (Index c = c0; c < c1; ++c) {
        const double d = double(row[c]) - mean[c];
        m2[c] += d * d;
      }
    }
  });
  double *mean = out.data(), *var = mean + cols;
  if (tiling.chunks > 1) {
    std::copy_n(acc, width, out.data());
    double n = double(tiling.chunk_rows);
    for (Index chunk = 1; chunk < tiling.chunks; ++chunk) {
      const double *mean_b = acc + chunk * width, *m2_b = mean_b + cols;
      const double n_b = double(std::min(tiling.chunk_rows, rows - chunk * tiling.chunk_rows));
      const double total = n + n_b, w_b = n_b / total, w_ab = n * n_b / total;
#pragma omp simd
      for (Index c = 0; c < cols; ++c) {
        const double delta = mean_b[c] - mean[c];
        mean[c] += delta * w_b;
        var[c] += m2_b[c] + delta * delta * w_ab;
      }
      n = total;
    }
  }
  for (Index c = 0; c < cols; ++c) var[c] /= double(rows);
}

void check_epsilon(double epsilon, const char* layer) {
  if (!(epsilon >= 0) || !std::isfinite(epsilon))
    throw std::invalid_argument(std::string(layer) + " epsilon must be a finite number >= 0, got " +
                                std::to_string(epsilon));
}

Index channels_of(const Shape& input_shape, const char* layer) {
  if (input_shape.empty())
    throw std::invalid_argument(std::string(layer) +
                                " needs an input of rank >= 2 (batch, ..., channels)");
  for (Index d : input_shape)
    if (d <= 0)
      throw std::invalid_argument(std::string(layer) + " input dimensions must be positive");
  return input_shape.back();
}

}  // namespace

// ---------------------------------------------------------------------------------------------
// BatchNormalization

template <class T>
BatchNormalization<T>::BatchNormalization(double momentum, double epsilon, bool center, bool scale)
    : momentum_(momentum), epsilon_(epsilon), center_(center), scale_(scale) {
  if (!(momentum >= 0 && momentum <= 1))
    throw std::invalid_argument("BatchNormalization momentum must be in [0, 1], got " +
                                std::to_string(momentum));
  check_epsilon(epsilon, "BatchNormalization");
}

template <class T>
Shape BatchNormalization<T>::do_build(const Shape& input_shape) {
  channels_ = channels_of(input_shape, "BatchNormalization");
  int index = 0;
  if (scale_) {
    this->add_weight("gamma", {channels_});
    gamma_ = index++;
  }
  if (center_) {
    this->add_weight("beta", {channels_});
    beta_ = index++;
  }
  this->add_weight("moving_mean", {channels_}, /*trainable=*/false);
  moving_mean_ = index++;
  this->add_weight("moving_variance", {channels_}, /*trainable=*/false);
  moving_variance_ = index;
  const auto c = static_cast<size_t>(channels_);
  mean_.assign(c, T(0));
  inv_std_.assign(c, T(0));
  scale_shift_.assign(3 * c, T(0));
  sums_.assign(2 * c, 0.0);
  return input_shape;
}

template <class T>
void BatchNormalization<T>::forward(ConstMatrixMap<T> x, MatrixMap<T> y, bool training) {
  const Index C = channels_, R = x.size() / C;
  batch_statistics_ = training && this->trainable();
  if (R == 0) return;
  const T* in = x.data();
  T* out = y.data();
  T *mean = mean_.data(), *inv = inv_std_.data();
  const T eps = T(epsilon_);
  T* moving_mean = this->params() + this->weights()[moving_mean_].offset;
  T* moving_var = this->params() + this->weights()[moving_variance_].offset;
  if (batch_statistics_) {
    // The mean and biased variance, computed without cancellation (Keras's torch backend
    // takes E[x^2] - E[x]^2: the same quantity, rounded less well).
    column_moments(in, R, C, partial_, sums_);
    const double *batch_mean = sums_.data(), *batch_var = batch_mean + C;
    const T keep = T(momentum_), take = T(1.0 - momentum_);
    for (Index c = 0; c < C; ++c) {
      const T var = T(batch_var[c]);
      mean[c] = T(batch_mean[c]);
      inv[c] = T(1) / std::sqrt(var + eps);
      moving_mean[c] = moving_mean[c] * keep + mean[c] * take;
      moving_var[c] = moving_var[c] * keep + var * take;
    }
  } else {
    for (Index c = 0; c < C; ++c) {
      mean[c] = moving_mean[c];
      inv[c] = T(1) / std::sqrt(moving_var[c] + eps);
    }
  }
  // As Keras: (x - mean) * (inv_std * gamma) + beta.
  T *mul = scale_shift_.data(), *add = mul + C;
  const T* gamma = scale_ ? this->weight(gamma_) : nullptr;
  const T* beta = center_ ? this->weight(beta_) : nullptr;
  for (Index c = 0; c < C; ++c) {
    mul[c] = gamma ? inv[c] * gamma[c] : inv[c];
    add[c] = beta ? beta[c] : T(0);
  }
  for_row_blocks(R, C, [&](Index first, Index count) {
    for (Index r = first; r < first + count; ++r) {
      const T* row = in + r * C;
      T* o = out + r * C;
#pragma omp simd
      for (Index c = 0; c < C; ++c) o[c] = (row[c] - mean[c]) * mul[c] + add[c];
    }
  });
}

template <class T>
void BatchNormalization<T>::backward(ConstMatrixMap<T> x, ConstMatrixMap<T>, MatrixMap<T> grad_y,
                                     T* param_grad, MatrixMap<T>* grad_x) {
  const Index C = channels_, R = x.size() / C;
  if (R == 0) return;
  const T *in = x.data(), *dy = grad_y.data(), *mean = mean_.data(), *inv = inv_std_.data();
  const T* gamma = scale_ ? this->weight(gamma_) : nullptr;
  // Sums over the batch of dy and dy * x_hat, where x_hat = (x - mean) * inv_std: the
  // gradients of beta and gamma, and (with batch statistics) the terms of dx that flow
  // through the mean and the variance.
  const bool want_params = param_grad && (scale_ || center_);
  if (batch_statistics_ || want_params) {
    column_sums(R, C, 2, partial_, sums_, [&](Index r0, Index n, Index c0, Index c1, double* a) {
      double* a_xhat = a + C;
      for (Index r = r0; r < r0 + n; ++r) {
        const T *row = in + r * C, *g = dy + r * C;
#pragma omp simd
        for (Index c = c0; c < c1; ++c) {
          a[c] += double(g[c]);
          a_xhat[c] += double(g[c]) * double((row[c] - mean[c]) * inv[c]);
        }
      }
    });
  }
  const double *sum_dy = sums_.data(), *sum_dy_xhat = sum_dy + C;
  if (want_params) {
    if (scale_) {
      T* dgamma = param_grad + this->weights()[gamma_].offset;
      for (Index c = 0; c < C; ++c) dgamma[c] = T(sum_dy_xhat[c]);
    }
    if (center_) {
      T* dbeta = param_grad + this->weights()[beta_].offset;
      for (Index c = 0; c < C; ++c) dbeta[c] = T(sum_dy[c]);
    }
  }
  if (!grad_x) return;
  T* dx = grad_x->data();
  T *k = scale_shift_.data(), *m_dy = k + C, *m_dy_xhat = m_dy + C;
  for (Index c = 0; c < C; ++c) {
    k[c] = gamma ? gamma[c] * inv[c] : inv[c];
    m_dy[c] = batch_statistics_ ? T(sum_dy[c] / double(R)) : T(0);
    m_dy_xhat[c] = batch_statistics_ ? T(sum_dy_xhat[c] / double(R)) : T(0);
  }
  if (!batch_statistics_) {  // the affine map of the moving statistics
    for_row_blocks(R, C, [&](Index first, Index count) {
      for (Index r = first; r < first + count; ++r) {
        const T* g = dy + r * C;
        T* d = dx + r * C;
#pragma omp simd
        for (Index c = 0; c < C; ++c) d[c] = g[c] * k[c];
      }
    });
    return;
  }
  // dx = gamma * inv_std * (dy - mean(dy) - x_hat * mean(dy * x_hat))
  for_row_blocks(R, C, [&](Index first, Index count) {
    for (Index r = first; r < first + count; ++r) {
      const T *row = in + r * C, *g = dy + r * C;
      T* d = dx + r * C;
#pragma omp simd
      for (Index c = 0; c < C; ++c) {
        const T xhat = (row[c] - mean[c]) * inv[c];
        d[c] = k[c] * (g[c] - m_dy[c] - xhat * m_dy_xhat[c]);
      }
    }
  });
}

// ---------------------------------------------------------------------------------------------
// LayerNormalization

template <class T>
LayerNormalization<T>::LayerNormalization(double epsilon, bool center, bool scale, bool rms_scaling)
    : epsilon_(epsilon), center_(center), scale_(scale), rms_scaling_(rms_scaling) {
  check_epsilon(epsilon, "LayerNormalization");
}

template <class T>
Shape LayerNormalization<T>::do_build(const Shape& input_shape) {
  channels_ = channels_of(input_shape, "LayerNormalization");
  int index = 0;
  if (scale_ || rms_scaling_) {
    this->add_weight("gamma", {channels_});
    gamma_ = index++;
  }
  if (center_ && !rms_scaling_) {
    this->add_weight("beta", {channels_});
    beta_ = index;
  }
  sums_.assign(2 * static_cast<size_t>(channels_), 0.0);
  return input_shape;
}

template <class T>
void LayerNormalization<T>::forward(ConstMatrixMap<T> x, MatrixMap<T> y, bool) {
  const Index C = channels_, R = x.size() / C;
  const T* in = x.data();
  T* out = y.data();
  T* stats = row_stats_.view(R, 2).data();
  const T eps = T(epsilon_);
  const T* gamma = gamma_ >= 0 ? this->weight(gamma_) : nullptr;
  const T* beta = beta_ >= 0 ? this->weight(beta_) : nullptr;
  for_row_blocks(R, C, [&](Index first, Index count) {
    for (Index r = first; r < first + count; ++r) {
      const T* row = in + r * C;
      T* o = out + r * C;
      double sum = 0, sq = 0;
#pragma omp simd reduction(+ : sum)
      for (Index c = 0; c < C; ++c) sum += double(row[c]);
      const double centre = sum / double(C);
#pragma omp simd reduction(+ : sq)
      for (Index c = 0; c < C; ++c) sq += (double(row[c]) - centre) * (double(row[c]) - centre);
      const T mean = T(centre), inv = T(1) / std::sqrt(T(sq / double(C)) + eps);
      stats[2 * r] = mean;
      stats[2 * r + 1] = inv;
      if (rms_scaling_) {  // Keras: x * inv_std * gamma, not centered
#pragma omp simd
        for (Index c = 0; c < C; ++c) o[c] = row[c] * inv * gamma[c];
        continue;
      }
#pragma omp simd
      for (Index c = 0; c < C; ++c) {
        T v = (row[c] - mean) * inv;
        if (gamma) v *= gamma[c];
        if (beta) v += beta[c];
        o[c] = v;
      }
    }
  });
}

template <class T>
void LayerNormalization<T>::backward(ConstMatrixMap<T> x, ConstMatrixMap<T>, MatrixMap<T> grad_y,
                                     T* param_grad, MatrixMap<T>* grad_x) {
  const Index C = channels_, R = x.size() / C;
  const T *in = x.data(), *dy = grad_y.data(), *stats = row_stats_.data();
  const T* gamma = gamma_ >= 0 ? this->weight(gamma_) : nullptr;
  if (param_grad && (gamma_ >= 0 || beta_ >= 0)) {
    // sums_[c] = sum of dy, sums_[C + c] = sum of dy * (normalized x before gamma)
    column_sums(R, C, 2, partial_, sums_, [&](Index r0, Index n, Index c0, Index c1, double* a) {
      double* a_xhat = a + C;
      for (Index r = r0; r < r0 + n; ++r) {
        const T *row = in + r * C, *g = dy + r * C;
        const T mean = rms_scaling_ ? T(0) : stats[2 * r], inv = stats[2 * r + 1];
#pragma omp simd
        for (Index c = c0; c < c1; ++c) {
          a[c] += double(g[c]);
          a_xhat[c] += double(g[c]) * double((row[c] - mean) * inv);
        }
      }
    });
    if (gamma_ >= 0) {
      T* dgamma = param_grad + this->weights()[gamma_].offset;
      for (Index c = 0; c < C; ++c) dgamma[c] = T(sums_[C + c]);
    }
    if (beta_ >= 0) {
      T* dbeta = param_grad + this->weights()[beta_].offset;
      for (Index c = 0; c < C; ++c) dbeta[c] = T(sums_[c]);
    }
  }
  if (!grad_x) return;
  T* dx = grad_x->data();
  for_row_blocks(R, C, [&](Index first, Index count) {
    for (Index r = first; r < first + count; ++r) {
      const T *row = in + r * C, *g = dy + r * C;
      T* d = dx + r * C;
      const T mean = stats[2 * r], inv = stats[2 * r + 1];
      // g_gamma = dy * gamma; with x_hat = (x - mean) * inv:
      //   standard: dx = inv * (g_gamma - mean(g_gamma) - x_hat * mean(g_gamma * x_hat))
      //   rms_scaling: dx = inv * g_gamma - inv * x_hat * mean(g_gamma * x) * inv
      double s1 = 0, s2 = 0;
#pragma omp simd reduction(+ : s1, s2)
      for (Index c = 0; c < C; ++c) {
        const double gg = gamma ? double(g[c]) * double(gamma[c]) : double(g[c]);
        s1 += gg;
        s2 += gg * (rms_scaling_ ? double(row[c]) : double((row[c] - mean) * inv));
      }
      const T m1 = rms_scaling_ ? T(0) : T(s1 / double(C));
      const T m2 = T(s2 / double(C)) * (rms_scaling_ ? inv : T(1));
#pragma omp simd
      for (Index c = 0; c < C; ++c) {
        const T gg = gamma ? g[c] * gamma[c] : g[c];
        const T xhat = (row[c] - mean) * inv;
        d[c] = inv * (gg - m1 - xhat * m2);
      }
    }
  });
}

template class BatchNormalization<float>;
template class BatchNormalization<double>;
template class LayerNormalization<float>;
template class LayerNormalization<double>;

}  // namespace eigennet
