#include "eigennet/ops/strided_loop.hpp"

namespace eigennet {

Dims contiguous_strides(const Dims& dims) {
  Dims s(dims.size(), 0);
  Index stride = 1;
  for (size_t d = dims.size(); d-- > 0;) {
    s[d] = stride;
    stride *= dims[d];
  }
  return s;
}

Dims broadcast_strides(const Dims& in, const Dims& out) {
  Dims s(out.size(), 0);
  const Dims contiguous = contiguous_strides(in);
  const size_t lead = out.size() - in.size();
  for (size_t d = 0; d < in.size(); ++d)
    if (in[d] != 1) s[lead + d] = contiguous[d];
  return s;
}

}  // namespace eigennet
