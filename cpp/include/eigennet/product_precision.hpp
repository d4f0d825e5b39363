// The precision of the matrix products a layer runs: float32, or bfloat16 or float16 operands
// with float32 sums (a layer computing in bfloat16 under Keras's "mixed_bfloat16" policy, in
// float16 under "mixed_float16"). Float16 products have no kernel of their own: their operands
// are rounded to float16 values (to nearest, ties to even; beyond 65504 infinite, below 2^-24
// flushed toward zero as float16's own subnormals are) and run through the float32 kernel, so
// that a model sees float16's range and precision in its products, overflow included.
//
// The precision is the calling thread's: the graph sets it around each node's forward and
// backward (ProductPrecisionScope), and gemm<float> reads it, so a layer's own code does not
// change. A layer that runs products inside its own parallel region passes the precision on
// to the region's threads with a scope of their own.
#pragma once

#include <cstdint>
#include <string>

#include "eigennet/tensor.hpp"

namespace eigennet {

enum class ProductPrecision : std::uint8_t { Float32, BFloat16, Float16 };

ProductPrecision product_precision();

// "float32", "bfloat16", "float16" (as Keras names compute dtypes) and back; an unknown name
// raises std::invalid_argument.
ProductPrecision product_precision_from_name(const std::string& name);
std::string product_precision_name(ProductPrecision precision);

// Rounds n values in place to what `precision` keeps of them (kept as float32): the operands
// of a product packed by the float32 kernels. Float32 leaves them as they are.
void round_to_precision(ProductPrecision precision, float* values, Index n);

class ProductPrecisionScope {
 public:
  explicit ProductPrecisionScope(ProductPrecision precision);
  ~ProductPrecisionScope();
  ProductPrecisionScope(const ProductPrecisionScope&) = delete;
  ProductPrecisionScope& operator=(const ProductPrecisionScope&) = delete;

 private:
  ProductPrecision previous_;
};

}  // namespace eigennet
