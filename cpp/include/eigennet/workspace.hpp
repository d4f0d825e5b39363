// A growable scratch buffer: views of any size up to the largest seen so far reuse one
// allocation, so the last partial batch of an epoch does not reallocate.
#pragma once

#include <stdexcept>

#include "eigennet/memory.hpp"
#include "eigennet/tensor.hpp"

namespace eigennet {

template <class T>
class Workspace {
 public:
  // A copy is a new, empty workspace: scratch is never shared between a layer's copies.
  Workspace() = default;
  Workspace(const Workspace&) {}
  Workspace& operator=(const Workspace&) { return *this; }
  Workspace(Workspace&&) noexcept = default;
  Workspace& operator=(Workspace&&) noexcept = default;

  MatrixMap<T> view(Index rows, Index cols) {
    if (static_cast<size_t>(rows) * static_cast<size_t>(cols) > data_.size())
      check_allocation(double(rows) * double(cols), sizeof(T),
                       "a batch buffer (reduce batch_size)");
    reserve(rows * cols);
    return MatrixMap<T>(data_.data(), rows, cols);
  }
  T* data() { return data_.data(); }
  const T* data() const { return data_.data(); }

 private:
  void reserve(Index n) {
    if (n < 0) throw std::length_error("negative workspace size");
    if (static_cast<size_t>(n) > data_.size()) data_.resize(static_cast<size_t>(n));
  }
  AlignedVector<T> data_;
};

}  // namespace eigennet
