// The precision of the matrix products a layer runs: float32, or bfloat16 operands with
// float32 sums (a layer computing in bfloat16 under Keras's "mixed_bfloat16" policy).
//
// The precision is the calling thread's: the graph sets it around each node's forward and
// backward (ProductPrecisionScope), and gemm<float> reads it, so a layer's own code does not
// change. A layer that runs products inside its own parallel region passes the precision on
// to the region's threads with a scope of their own.
#pragma once

#include <cstdint>

namespace eigennet {

enum class ProductPrecision : std::uint8_t { Float32, BFloat16 };

ProductPrecision product_precision();

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
