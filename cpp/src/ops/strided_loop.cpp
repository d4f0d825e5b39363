#include "eigennet/ops/strided_loop.hpp"

namespace eigennet {

Shape contiguous_strides(const Shape& dims) {
  Shape s(dims.size());
  Index stride = 1;
  for (size_t d = dims.size(); d-- > 0;) {
    s[d] = stride;
    stride *= dims[d];
  }
  return s;
}

Shape broadcast_strides(const Shape& in, const Shape& out) {
  Shape s(out.size(), 0);
  const Shape contiguous = contiguous_strides(in);
  const size_t lead = out.size() - in.size();
  for (size_t d = 0; d < in.size(); ++d)
    if (in[d] != 1) s[lead + d] = contiguous[d];
  return s;
}

}  // namespace eigennet
