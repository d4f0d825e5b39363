// Row-major Eigen aliases shared by the whole core. A batch is always a contiguous row-major
// matrix (rows = samples, columns = the sample's features flattened in channels-last order).
#pragma once

#include <Eigen/Core>
#include <cstdint>
#include <vector>

namespace eigennet {

using Index = Eigen::Index;

template <class T>
using Matrix = Eigen::Matrix<T, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
template <class T>
using MatrixMap = Eigen::Map<Matrix<T>>;
template <class T>
using ConstMatrixMap = Eigen::Map<const Matrix<T>>;
template <class T>
using RowVectorMap = Eigen::Map<Eigen::Matrix<T, 1, Eigen::Dynamic>>;
template <class T>
using ConstRowVectorMap = Eigen::Map<const Eigen::Matrix<T, 1, Eigen::Dynamic>>;
template <class T>
using VectorMap = Eigen::Map<Eigen::Matrix<T, Eigen::Dynamic, 1>>;
template <class T>
using ConstVectorMap = Eigen::Map<const Eigen::Matrix<T, Eigen::Dynamic, 1>>;
// Element-wise (coefficient-wise array) views of a flat range.
template <class T>
using ArrayMap = Eigen::Map<Eigen::Array<T, Eigen::Dynamic, 1>>;
template <class T>
using ConstArrayMap = Eigen::Map<const Eigen::Array<T, Eigen::Dynamic, 1>>;

// Buffers aligned to Eigen's widest packet. Eigen evaluates the unaligned head of a buffer
// with scalar functions (std::tanh) and the rest with packet ones (its own tanh), which differ
// in the last bit: a fixed alignment keeps results bit-identical from run to run.
template <class T>
using AlignedVector = std::vector<T, Eigen::aligned_allocator<T>>;

// A sample's shape without the batch dimension, e.g. {784} or {28, 28, 1}.
using Shape = std::vector<Index>;

inline Index shape_size(const Shape& shape) {
  Index n = 1;
  for (Index d : shape) n *= d;
  return n;
}

}  // namespace eigennet
