// keras.ops.image.affine_transform: each image of a batch resampled at the points a projective
// transform of its output pixels gives, in one pass (no gathered intermediate tensors).
#pragma once

#include <string>
#include <vector>

#include "eigennet/ops/op.hpp"

namespace eigennet {

// How affine_transform reads points outside the image (Keras's fill modes).
enum class ImageFill { Reflect, Wrap, Constant, Nearest, Mirror };

// images (B, H, W, C) (channels_first: (B, C, H, W)); transform (B, 8), (1, 8) or (8,): per image
// [a0, a1, a2, b0, b1, b2, c0, c1], read as Keras documents it: output pixel (row y, column x)
// reads the input at column (a0 x + a1 y + a2) / k, row (b0 x + b1 y + b2) / k, k = c0 x + c1 y
// + 1 (k == 0 gives fill_value). Interpolation "nearest" (coordinates rounded half to even) or
// "bilinear"; fill_mode "reflect", "wrap", "constant", "nearest" or "mirror" with the index
// rules of Keras's map_coordinates. output_size (rows, cols) defaults to the input's (a crop
// is a translation to a smaller size). The gradient goes to the images (the transposed
// sampling); the transform gets none.
template <class T>
class AffineTransformOp : public Op<T> {
 public:
  AffineTransformOp(const Shape& images, const Shape& transform, const std::string& interpolation,
                    const std::string& fill_mode, double fill_value, bool channels_first,
                    const std::vector<Index>& output_size);
  std::shared_ptr<Layer<T>> clone() const override {
    return std::make_shared<AffineTransformOp>(*this);
  }

  struct Geometry {
    Index batch, height, width, channels, rows, cols;  // rows, cols: the output's size
    bool per_image;                                    // one transform per image (else shared)
  };

 protected:
  void compute(const T* const* xs, T* y, bool training) override;
  void gradient(const T* const* xs, const T* y, T* grad_y, T* const* grad_xs) override;

 private:
  Geometry geometry() const;  // of the current batch
  // The two passes for N nodes per axis (2: bilinear, 1: nearest).
  template <int N>
  void sample(const T* const* xs, T* y) const;
  template <int N>
  void sample_gradient(const T* const* xs, const T* grad_y, T* dx) const;

  bool bilinear_, channels_first_;
  ImageFill fill_;
  T fill_value_;
};

}  // namespace eigennet
