#include "eigennet/product_precision.hpp"

namespace eigennet {
namespace {
thread_local ProductPrecision current = ProductPrecision::Float32;
}  // namespace

ProductPrecision product_precision() { return current; }

ProductPrecisionScope::ProductPrecisionScope(ProductPrecision precision) : previous_(current) {
  current = precision;
}

ProductPrecisionScope::~ProductPrecisionScope() { current = previous_; }

}  // namespace eigennet
