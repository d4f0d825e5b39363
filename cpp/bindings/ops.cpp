// Ops (keras.ops on symbolic tensors), bound once per dtype (suffix _float32/_float64). Full
// shapes cross as lists with -1 for the batch axis.
#include <pybind11/stl.h>

#include "arrays.hpp"
#include "eigennet/ops/affine_transform.hpp"
#include "eigennet/ops/attention.hpp"
#include "eigennet/ops/broadcast.hpp"
#include "eigennet/ops/conv.hpp"
#include "eigennet/ops/elementwise.hpp"
#include "eigennet/ops/indexing.hpp"
#include "eigennet/ops/linalg.hpp"
#include "eigennet/ops/op.hpp"
#include "eigennet/ops/random.hpp"
#include "eigennet/ops/reduction.hpp"
#include "eigennet/ops/shape_ops.hpp"
#include "eigennet/ops/sorting.hpp"

namespace eigennet::bindings {

namespace {

// One op class per dtype: <name>_<dtype>(constructor arguments).
template <template <class> class OpT, class T, class... Args, class... Extra>
void bind_op(py::module_& m, const char* name, const std::string& sfx, const Extra&... extra) {
  py::class_<OpT<T>, Op<T>, std::shared_ptr<OpT<T>>>(m, (name + sfx).c_str())
      .def(py::init<Args...>(), extra...);
}

template <class T>
void bind_ops_typed(py::module_& m) {
  const std::string sfx = std::string("_") + dtype_name<T>();
  py::class_<Op<T>, Layer<T>, std::shared_ptr<Op<T>>>(m, ("Op" + sfx).c_str())
      .def_property_readonly("op_name", &Op<T>::op_name)
      .def_property_readonly("full_input_shapes", &Op<T>::full_input_shapes)
      .def_property_readonly("full_output_shape", &Op<T>::full_output_shape);

  py::class_<ReshapeOp<T>, Op<T>, std::shared_ptr<ReshapeOp<T>>>(m, ("ReshapeOp" + sfx).c_str())
      .def(py::init<Shape, Shape>(), py::arg("input"), py::arg("target"));
  bind_op<UnaryOp, T, std::string, Shape, double, double>(m, "UnaryOp", sfx, py::arg("kind"),
                                                          py::arg("input"), py::arg("alpha") = 0.0,
                                                          py::arg("beta") = 0.0);
  bind_op<BinaryOp, T, std::string, Shape, Shape>(m, "BinaryOp", sfx, py::arg("kind"), py::arg("a"),
                                                  py::arg("b"));
  bind_op<WhereOp, T, Shape, Shape, Shape>(m, "WhereOp", sfx, py::arg("condition"), py::arg("x"),
                                           py::arg("y"));
  py::class_<BroadcastToOp<T>, Op<T>, std::shared_ptr<BroadcastToOp<T>>>(
      m, ("BroadcastToOp" + sfx).c_str())
      .def(py::init<Shape, Shape>(), py::arg("input"), py::arg("target"))
      .def(py::init([](const Shape& input, const Shape& batch_reference, const Shape& target) {
             return std::make_shared<BroadcastToOp<T>>(input, target, batch_reference);
           }),
           py::arg("input"), py::arg("batch_reference"), py::arg("target"));
  bind_op<TileOp, T, Shape, Shape>(m, "TileOp", sfx, py::arg("input"), py::arg("reps"));
  bind_op<RepeatOp, T, Shape, Index, Index>(m, "RepeatOp", sfx, py::arg("input"),
                                            py::arg("repeats"), py::arg("axis"));
  bind_op<ReduceOp, T, std::string, Shape, Shape, bool>(
      m, "ReduceOp", sfx, py::arg("kind"), py::arg("input"), py::arg("axes"), py::arg("keepdims"));
  bind_op<SoftmaxOp, T, std::string, Shape, Index>(m, "SoftmaxOp", sfx, py::arg("kind"),
                                                   py::arg("input"), py::arg("axis"));
  bind_op<CumulativeOp, T, std::string, Shape, Index>(m, "CumulativeOp", sfx, py::arg("kind"),
                                                      py::arg("input"), py::arg("axis"));
  bind_op<MatMulOp, T, Shape, Shape>(m, "MatMulOp", sfx, py::arg("a"), py::arg("b"));
  bind_op<EinsumOp, T, std::string, Shape, Shape>(m, "EinsumOp", sfx, py::arg("equation"),
                                                  py::arg("a"), py::arg("b"));
  bind_op<TransposeOp, T, Shape, Shape>(m, "TransposeOp", sfx, py::arg("input"), py::arg("perm"));
  bind_op<ConcatenateOp, T, std::vector<Shape>, Index>(m, "ConcatenateOp", sfx, py::arg("inputs"),
                                                       py::arg("axis"));
  bind_op<SliceOp, T, Shape, Shape, Shape, Shape>(
      m, "SliceOp", sfx, py::arg("input"), py::arg("starts"), py::arg("stops"), py::arg("steps"));
  bind_op<TakeOp, T, Shape, Shape, Index>(m, "TakeOp", sfx, py::arg("x"), py::arg("indices"),
                                          py::arg("axis"));
  bind_op<TakeAlongAxisOp, T, Shape, Shape, Index>(m, "TakeAlongAxisOp", sfx, py::arg("x"),
                                                   py::arg("indices"), py::arg("axis"));
  bind_op<PadOp, T, Shape, std::vector<std::vector<Index>>, double>(
      m, "PadOp", sfx, py::arg("input"), py::arg("pad_width"), py::arg("value") = 0.0);
  bind_op<OneHotOp, T, Shape, Index>(m, "OneHotOp", sfx, py::arg("input"), py::arg("num_classes"));
  bind_op<ArgSortOp, T, Shape, Index, bool>(m, "ArgSortOp", sfx, py::arg("input"), py::arg("k"),
                                            py::arg("descending"));
  py::class_<DotProductAttentionOp<T>, Op<T>, std::shared_ptr<DotProductAttentionOp<T>>>(
      m, ("DotProductAttentionOp" + sfx).c_str())
      .def(
          py::init([](const std::vector<Shape>& inputs, std::optional<double> scale, bool is_causal,
                      bool query_mask, bool key_mask, bool mask, double dropout, uint64_t seed) {
            return std::make_shared<DotProductAttentionOp<T>>(
                inputs, scale, is_causal, AttentionMasks{query_mask, key_mask, mask}, dropout,
                seed);
          }),
          py::arg("inputs"), py::arg("scale") = py::none(), py::arg("is_causal") = false,
          py::arg("query_mask") = false, py::arg("key_mask") = false, py::arg("mask") = false,
          py::arg("dropout") = 0.0, py::arg("seed") = 0)
      .def_property(
          "rng_state",
          [](const DotProductAttentionOp<T>& op) {
            using State = std::optional<std::pair<uint64_t, uint64_t>>;
            return op.draws() ? State(op.rng_state()) : State();  // None: nothing to save
          },
          &DotProductAttentionOp<T>::set_rng_state);
  bind_op<SliceUpdateOp, T, Shape, Shape, Shape>(m, "SliceUpdateOp", sfx, py::arg("input"),
                                                 py::arg("update"), py::arg("start"));

  using Sizes = std::vector<Index>;
  bind_op<ConvOp, T, Shape, Shape, Sizes, std::string, Sizes>(
      m, "ConvOp", sfx, py::arg("input"), py::arg("kernel"), py::arg("strides"), py::arg("padding"),
      py::arg("dilation_rate"));
  bind_op<DepthwiseConvOp, T, Shape, Shape, Sizes, std::string, Sizes>(
      m, "DepthwiseConvOp", sfx, py::arg("input"), py::arg("kernel"), py::arg("strides"),
      py::arg("padding"), py::arg("dilation_rate"));
  bind_op<PoolOp, T, std::string, Shape, Sizes, Sizes, std::string>(
      m, "PoolOp", sfx, py::arg("mode"), py::arg("input"), py::arg("pool_size"), py::arg("strides"),
      py::arg("padding"));

  bind_op<AffineTransformOp, T, Shape, Shape, std::string, std::string, double, bool,
          std::vector<Index>>(m, "AffineTransformOp", sfx, py::arg("images"), py::arg("transform"),
                              py::arg("interpolation"), py::arg("fill_mode"), py::arg("fill_value"),
                              py::arg("channels_first"),
                              py::arg("output_size") = std::vector<Index>{});

  // Random ops: rng_state is (seed, draws so far), as the Dropout layer's.
  py::class_<RandomOp<T>, Op<T>, std::shared_ptr<RandomOp<T>>>(m, ("RandomOp" + sfx).c_str())
      .def(py::init<std::string, Shape, Shape, uint64_t, double, double>(), py::arg("kind"),
           py::arg("reference"), py::arg("output"), py::arg("seed"), py::arg("a"), py::arg("b"))
      .def_property("rng_state", &RandomOp<T>::rng_state, &RandomOp<T>::set_rng_state);
  py::class_<DropoutOp<T>, Op<T>, std::shared_ptr<DropoutOp<T>>>(m, ("DropoutOp" + sfx).c_str())
      .def(py::init<Shape, double, Shape, uint64_t>(), py::arg("input"), py::arg("rate"),
           py::arg("noise_shape"), py::arg("seed"))
      .def_property("rng_state", &DropoutOp<T>::rng_state, &DropoutOp<T>::set_rng_state);
  py::class_<ShuffleOp<T>, Op<T>, std::shared_ptr<ShuffleOp<T>>>(m, ("ShuffleOp" + sfx).c_str())
      .def(py::init<Shape, Index, uint64_t>(), py::arg("input"), py::arg("axis"), py::arg("seed"))
      .def_property("rng_state", &ShuffleOp<T>::rng_state, &ShuffleOp<T>::set_rng_state);

  // Test hook: one training forward and backward of a copy of an op on whole (concrete)
  // tensors, returning (y, [input gradients]).
  m.def(("op_vjp" + sfx).c_str(), [](const Op<T>& op, const std::vector<Array<T>>& xs,
                                     const Array<T>& dy) {
    const auto& full = op.full_input_shapes();
    if (xs.size() != full.size())
      throw std::invalid_argument("op_vjp: one array per input of the op");
    Index batch = 0;
    for (size_t i = 0; i < xs.size(); ++i) {
      Shape s(xs[i].shape(), xs[i].shape() + xs[i].ndim());
      if (s.size() != full[i].size())
        throw std::invalid_argument("op_vjp: input " + std::to_string(i) + " has rank " +
                                    std::to_string(s.size()));
      for (size_t a = 0; a < s.size(); ++a)
        if (full[i][a] != kBatch && full[i][a] != s[a])
          throw std::invalid_argument("op_vjp: input " + std::to_string(i) + " does not match " +
                                      full_shape_string(full[i]));
      if (is_batched(full[i])) batch = s[0];
    }
    Shape out = op.full_output_shape();
    if (is_batched(out)) out[0] = batch;
    const Index rows = row_count(out), cols = element_count(row_shape(out));
    if (dy.size() != rows * cols) throw std::invalid_argument("op_vjp: dy has the wrong size");
    std::vector<py::ssize_t> out_dims(out.begin(), out.end());
    Array<T> y(out_dims), grad_y(out_dims);
    std::copy_n(dy.data(), dy.size(), grad_y.mutable_data());
    std::vector<ConstMatrixMap<T>> maps;
    std::vector<Array<T>> grads;
    std::vector<MatrixMap<T>> grad_maps;
    for (size_t i = 0; i < xs.size(); ++i) {
      const Index r = xs[i].ndim() == 0 ? 1 : xs[i].shape(0);
      const Index c = r == 0 ? 0 : Index(xs[i].size()) / r;
      maps.emplace_back(xs[i].data(), r, c);
      grads.emplace_back(std::vector<py::ssize_t>(xs[i].shape(), xs[i].shape() + xs[i].ndim()));
      grad_maps.emplace_back(grads.back().mutable_data(), r, c);
    }
    std::vector<MatrixMap<T>*> grad_ptrs;
    for (auto& g : grad_maps) grad_ptrs.push_back(&g);
    {
      py::gil_scoped_release release;
      auto copy = op.clone();
      MatrixMap<T> ys(y.mutable_data(), rows, cols), gys(grad_y.mutable_data(), rows, cols);
      copy->forward_inputs(maps.data(), maps.size(), ys, true);
      copy->backward_inputs(maps.data(), maps.size(), ConstMatrixMap<T>(ys.data(), rows, cols), gys,
                            nullptr, grad_ptrs.data());
    }
    return py::make_tuple(y, grads);
  });
}

}  // namespace

void bind_ops(py::module_& m) {
  bind_ops_typed<float>(m);
  bind_ops_typed<double>(m);
}

}  // namespace eigennet::bindings
