// Layers, networks, optimizers and trainers, bound once per dtype (suffix _float32/_float64).
#include <pybind11/functional.h>
#include <pybind11/stl.h>

#include "arrays.hpp"
#include "constraint_spec.hpp"
#include "eigennet/layers/activation.hpp"
#include "eigennet/layers/dense.hpp"
#include "eigennet/layers/dropout.hpp"
#include "eigennet/layers/normalization.hpp"
#include "eigennet/metrics/graph_metric.hpp"
#include "eigennet/trainer.hpp"
#include "metric_config.hpp"

namespace eigennet::bindings {

namespace {

template <class T>
Dataset<T> dataset(const Array<T>& x, const Array<T>& y,
                   const std::optional<Array<T>>& sample_weight) {
  auto xs = as_batch(x), ys = as_batch(y);
  if (ys.rows() != xs.rows())
    throw std::invalid_argument("x has " + std::to_string(xs.rows()) + " samples but y has " +
                                std::to_string(ys.rows()));
  if (sample_weight && sample_weight->size() != xs.rows())
    throw std::invalid_argument("sample_weight must hold one weight per sample");
  return {xs, ys, sample_weight ? sample_weight->data() : nullptr};
}

template <class T>
Array<T> flat_view(AlignedVector<T>& buffer, py::handle owner) {
  return Array<T>({static_cast<py::ssize_t>(buffer.size())}, {sizeof(T)}, buffer.data(), owner);
}

LearningRateSchedule schedule_from(const std::string& kind, const py::dict& c) {
  LearningRateSchedule s;
  s.kind = LearningRateSchedule::kind_from_name(kind);
  auto num = [&](const char* key, double& field) {
    if (c.contains(key) && !c[key].is_none()) field = c[key].cast<double>();
  };
  auto flag = [&](const char* key, bool& field) {
    if (c.contains(key)) field = c[key].cast<bool>();
  };
  num("initial_learning_rate", s.initial_learning_rate);
  num("decay_steps", s.decay_steps);
  num("first_decay_steps", s.decay_steps);
  num("decay_rate", s.decay_rate);
  num("end_learning_rate", s.end_learning_rate);
  num("power", s.power);
  num("alpha", s.alpha);
  num("warmup_steps", s.warmup_steps);
  num("t_mul", s.t_mul);
  num("m_mul", s.m_mul);
  flag("staircase", s.staircase);
  flag("cycle", s.cycle);
  s.has_warmup = c.contains("warmup_target") && !c["warmup_target"].is_none();
  num("warmup_target", s.warmup_target);
  if (c.contains("boundaries")) s.boundaries = c["boundaries"].cast<std::vector<double>>();
  if (c.contains("values")) s.values = c["values"].cast<std::vector<double>>();
  s.validate();
  return s;
}

// Segments over NumPy arrays (views of parameters), laid out one after the other.
template <class T>
std::vector<Segment<T>> segments_of(std::vector<py::array>& arrays) {
  std::vector<Segment<T>> segments;
  Index offset = 0;
  for (auto& a : arrays) {
    segments.push_back({static_cast<T*>(a.mutable_data()), static_cast<Index>(a.size()), offset});
    offset += a.size();
  }
  return segments;
}

template <class T>
Index total_size(const std::vector<Segment<T>>& segments) {
  Index total = 0;
  for (const auto& s : segments) total += s.size;
  return total;
}

template <class T>
void bind_model_typed(py::module_& m) {
  const std::string sfx = std::string("_") + dtype_name<T>();

  py::class_<Layer<T>, std::shared_ptr<Layer<T>>>(m, ("Layer" + sfx).c_str())
      .def("build", &Layer<T>::build)
      .def("build_inputs", &Layer<T>::build_inputs)
      .def("for_input_shapes", &Layer<T>::for_input_shapes)
      .def_property_readonly("input_shapes", &Layer<T>::input_shapes)
      .def_property_readonly("built", &Layer<T>::built)
      .def_property_readonly("input_shape", &Layer<T>::input_shape)
      .def_property_readonly("output_shape", &Layer<T>::output_shape)
      .def_property_readonly("param_count", &Layer<T>::param_count)
      .def_property("trainable", &Layer<T>::trainable, &Layer<T>::set_trainable)
      .def("params_changed", &Layer<T>::params_changed)
      .def_property(
          "product_precision",
          [](const Layer<T>& l) { return product_precision_name(l.product_precision()); },
          [](Layer<T>& l, const std::string& name) {
            l.set_product_precision(product_precision_from_name(name));
          })
      .def_property(
          "storage_precision",
          [](const Layer<T>& l) { return product_precision_name(l.storage_precision()); },
          [](Layer<T>& l, const std::string& name) {
            l.set_storage_precision(product_precision_from_name(name));
          })
      .def("set_regularizers",
           [](Layer<T>& l, const std::vector<std::pair<double, double>>& weights,
              std::pair<double, double> activity) {
             std::vector<Regularizer> rs;
             for (const auto& [l1, l2] : weights) rs.push_back({l1, l2});
             l.set_weight_regularizers(std::move(rs));
             l.set_activity_regularizer({activity.first, activity.second});
           })
      .def("set_constraints",
           [](Layer<T>& l, const std::vector<py::object>& specs) {
             std::vector<Constraint> cs;
             for (const auto& spec : specs) cs.push_back(constraint_from(spec));
             l.set_weight_constraints(std::move(cs));
           })
      .def("weights",
           [](const Layer<T>& l) {
             py::list out;
             for (const auto& w : l.weights())
               out.append(py::make_tuple(w.name, w.shape, w.offset, w.size, w.trainable));
             return out;
           })
      // A view of the parameter block; it keeps the layer alive.
      .def("params", [](py::object self) {
        auto& l = self.cast<Layer<T>&>();
        return Array<T>({static_cast<py::ssize_t>(l.param_count())}, {sizeof(T)}, l.params(), self);
      });

  py::class_<Dense<T>, Layer<T>, std::shared_ptr<Dense<T>>>(m, ("Dense" + sfx).c_str())
      .def(py::init([](Index units, const std::string& activation, bool use_bias) {
             return std::make_shared<Dense<T>>(units, activation_from_name(activation), use_bias);
           }),
           py::arg("units"), py::arg("activation"), py::arg("use_bias"))
      .def(
          "with_residual",
          [](const Dense<T>& l, const std::string& activation) {
            return l.with_residual(activation_from_name(activation));
          },
          py::arg("activation"));

  py::class_<ActivationLayer<T>, Layer<T>, std::shared_ptr<ActivationLayer<T>>>(
      m, ("Activation" + sfx).c_str())
      .def(py::init([](const std::string& activation) {
        return std::make_shared<ActivationLayer<T>>(activation_from_name(activation));
      }));

  py::class_<Dropout<T>, Layer<T>, std::shared_ptr<Dropout<T>>>(m, ("Dropout" + sfx).c_str())
      .def(py::init<double, uint64_t>(), py::arg("rate"), py::arg("seed"))
      .def_property("rng_state", &Dropout<T>::rng_state, &Dropout<T>::set_rng_state);

  py::class_<BatchNormalization<T>, Layer<T>, std::shared_ptr<BatchNormalization<T>>>(
      m, ("BatchNormalization" + sfx).c_str())
      .def(py::init<double, double, bool, bool>(), py::arg("momentum"), py::arg("epsilon"),
           py::arg("center"), py::arg("scale"));

  py::class_<LayerNormalization<T>, Layer<T>, std::shared_ptr<LayerNormalization<T>>>(
      m, ("LayerNormalization" + sfx).c_str())
      .def(py::init<double, double, bool, bool>(), py::arg("epsilon"), py::arg("center"),
           py::arg("scale"), py::arg("rms_scaling"));

  py::class_<Graph<T>, std::shared_ptr<Graph<T>>>(m, ("Graph" + sfx).c_str())
      // nodes: (layer, input tensor ids) in topological order; see graph.hpp.
      .def(
          py::init(
              [](std::vector<Shape> input_shapes,
                 const std::vector<std::pair<std::shared_ptr<Layer<T>>, std::vector<Index>>>& nodes,
                 std::vector<Index> outputs, bool batched_outputs, std::vector<Index> loss_terms,
                 const std::vector<int>& modes) {
                if (!modes.empty() && modes.size() != nodes.size())
                  throw std::invalid_argument("one mode per node expected");
                std::vector<GraphNode<T>> ns;
                for (const auto& [layer, inputs] : nodes)
                  ns.push_back({layer, inputs, modes.empty() ? -1 : modes[ns.size()]});
                return std::make_shared<Graph<T>>(std::move(input_shapes), ns, std::move(outputs),
                                                  batched_outputs, std::move(loss_terms));
              }),
          py::arg("input_shapes"), py::arg("nodes"), py::arg("outputs"),
          py::arg("batched_outputs") = true, py::arg("loss_terms") = std::vector<Index>{},
          py::arg("modes") = std::vector<int>{})
      .def_static("chain", &Graph<T>::chain, py::arg("layers"))
      .def_property_readonly("input_size", &Graph<T>::input_size)
      .def_property_readonly("checks_inputs_finite", &Graph<T>::checks_inputs_finite)
      .def_property_readonly("output_size", &Graph<T>::output_size)
      .def_property_readonly("input_sizes", &Graph<T>::input_sizes)
      .def_property_readonly("output_sizes", &Graph<T>::output_sizes)
      .def(
          "predict",
          [](Graph<T>& graph, const Array<T>& x, Index batch_size, Array<T>& out,
             const BatchCallback& on_batch, bool training, double report_every) {
            auto xs = as_batch(x);
            auto os = as_mutable_batch(out);
            py::gil_scoped_release release;
            predict<T>(graph, xs, batch_size, os, on_batch, training, report_every);
          },
          py::arg("x"), py::arg("batch_size"), py::arg("out"), py::arg("on_batch") = nullptr,
          py::arg("training") = false, py::arg("report_every") = 0.0);

  py::class_<Optimizer<T>, std::shared_ptr<Optimizer<T>>>(m, ("Optimizer" + sfx).c_str())
      .def_property("iterations", &Optimizer<T>::iterations, &Optimizer<T>::set_iterations)
      .def_property("learning_rate", &Optimizer<T>::learning_rate, &Optimizer<T>::set_learning_rate)
      .def_property_readonly("built", &Optimizer<T>::built)
      .def("enable_loss_scale", &Optimizer<T>::enable_loss_scale)
      .def_property_readonly("loss_scaling", &Optimizer<T>::loss_scaling)
      .def_property("loss_scale", &Optimizer<T>::loss_scale, &Optimizer<T>::set_loss_scale)
      .def_property("loss_scale_counter", &Optimizer<T>::loss_scale_counter,
                    &Optimizer<T>::set_loss_scale_counter)
      .def("set_schedule",
           [](Optimizer<T>& opt, const std::string& kind, const py::dict& config) {
             opt.set_schedule(schedule_from(kind, config));
           })
      .def("slot_names", &Optimizer<T>::slot_names)
      .def_property("scalar_state", &Optimizer<T>::scalar_state, &Optimizer<T>::set_scalar_state)
      .def("slot", [](py::object self,
                      size_t i) { return flat_view(self.cast<Optimizer<T>&>().slot(i), self); })
      .def_property_readonly("slot_offsets", &Optimizer<T>::slot_offsets)
      .def("build", [](Optimizer<T>& opt,
                       std::vector<py::array> variables) { opt.build(segments_of<T>(variables)); })
      // One step on NumPy arrays updated in place (the Python side checks dtype and layout).
      .def("apply", [](Optimizer<T>& opt, std::vector<py::array> params, Array<T>& flat_grad) {
        const auto segments = segments_of<T>(params);
        if (flat_grad.size() != total_size(segments))
          throw std::invalid_argument("gradients and variables differ in size");
        py::gil_scoped_release release;
        opt.step(segments, flat_grad.mutable_data());
      });

  m.def(("make_optimizer" + sfx).c_str(),
        [](const std::string& kind, const OptimizerConfig& base,
           const py::dict& c) -> std::shared_ptr<Optimizer<T>> {
          auto get = [&](const char* key, double fallback) {
            return c.contains(key) ? c[key].cast<double>() : fallback;
          };
          auto flag = [&](const char* key) { return c.contains(key) && c[key].cast<bool>(); };
          if (kind == "sgd") return make_sgd<T>(base, {get("momentum", 0), flag("nesterov")});
          if (kind == "adagrad")
            return make_adagrad<T>(base,
                                   {get("initial_accumulator_value", 0.1), get("epsilon", 1e-7)});
          if (kind == "rmsprop")
            return make_rmsprop<T>(base, {get("rho", 0.9), get("momentum", 0), get("epsilon", 1e-7),
                                          flag("centered")});
          if (kind == "adam")
            return make_adam<T>(base, {get("beta_1", 0.9), get("beta_2", 0.999),
                                       get("epsilon", 1e-7), flag("amsgrad")});
          if (kind == "adamax")
            return make_adamax<T>(base,
                                  {get("beta_1", 0.9), get("beta_2", 0.999), get("epsilon", 1e-7)});
          if (kind == "adadelta")
            return make_adadelta<T>(base, {get("rho", 0.95), get("epsilon", 1e-7)});
          if (kind == "lion") return make_lion<T>(base, {get("beta_1", 0.9), get("beta_2", 0.99)});
          if (kind == "nadam")
            return make_nadam<T>(base,
                                 {get("beta_1", 0.9), get("beta_2", 0.999), get("epsilon", 1e-7)});
          if (kind == "ftrl")
            return make_ftrl<T>(
                base, {get("learning_rate_power", -0.5), get("initial_accumulator_value", 0.1),
                       get("l1_regularization_strength", 0), get("l2_regularization_strength", 0),
                       get("l2_shrinkage_regularization_strength", 0), get("beta", 0)});
          if (kind == "lamb")
            return make_lamb<T>(base,
                                {get("beta_1", 0.9), get("beta_2", 0.999), get("epsilon", 1e-7)});
          throw std::invalid_argument("unknown optimizer kind '" + kind + "'");
        });

  py::class_<Trainer<T>, std::shared_ptr<Trainer<T>>>(m, ("Trainer" + sfx).c_str())
      // losses: one per output, None for an output that is not trained; loss_graphs: empty,
      // or one per output, a traced Python loss or None; metrics: (output index, name, config)
      // or (output index, GraphMetric, {}).
      .def(py::init([](std::shared_ptr<Graph<T>> graph,
                       const std::vector<std::optional<LossConfig>>& losses,
                       const std::vector<double>& loss_weights, std::shared_ptr<Optimizer<T>> opt,
                       const std::vector<std::tuple<size_t, py::object, py::dict>>& metrics,
                       const std::vector<bool>& trainable,
                       const std::vector<std::shared_ptr<Graph<T>>>& loss_graphs,
                       const std::vector<std::pair<Index, Index>>& output_steps) {
             if (loss_weights.size() != losses.size())
               throw std::invalid_argument("one loss weight per output expected");
             if (!loss_graphs.empty() && loss_graphs.size() != losses.size())
               throw std::invalid_argument("one loss graph (or None) per output expected");
             std::vector<OutputLoss<T>> output_losses;
             for (size_t k = 0; k < losses.size(); ++k) {
               std::shared_ptr<GraphLoss<T>> custom;
               if (!loss_graphs.empty() && loss_graphs[k])
                 custom = std::make_shared<GraphLoss<T>>(loss_graphs[k]);
               output_losses.push_back({losses[k].has_value(), losses[k].value_or(LossConfig{}),
                                        loss_weights[k], custom});
               if (k < output_steps.size())
                 std::tie(output_losses.back().steps, output_losses.back().mask) = output_steps[k];
             }
             std::vector<OutputMetric<T>> ms;
             for (const auto& [output, kind, config] : metrics) {
               if (output >= graph->output_count())
                 throw std::invalid_argument("metric output index out of range");
               if (py::isinstance<GraphMetric<T>>(kind))  // a traced custom metric
                 ms.push_back({output, std::make_unique<SharedMetric<T>>(
                                           py::cast<std::shared_ptr<GraphMetric<T>>>(kind))});
               else
                 ms.push_back(
                     {output,
                      make_metric<T>(metric_config_from(py::cast<std::string>(kind), config),
                                     graph->output_sizes()[output] / output_losses[output].steps)});
             }
             return std::make_shared<Trainer<T>>(std::move(graph), output_losses, std::move(opt),
                                                 std::move(ms), trainable);
           }),
           py::arg("graph"), py::arg("losses"), py::arg("loss_weights"), py::arg("optimizer"),
           py::arg("metrics"), py::arg("trainable"),
           py::arg("loss_graphs") = std::vector<std::shared_ptr<Graph<T>>>{},
           // per output: (time steps its loss reads, the graph tensor of its mask or -1)
           py::arg("output_steps") = std::vector<std::pair<Index, Index>>{})
      .def("set_graph", &Trainer<T>::set_graph)
      .def_property_readonly("target_size", &Trainer<T>::target_size)
      .def("metric_sizes", &Trainer<T>::metric_sizes)
      .def(
          "fit",
          [](Trainer<T>& t, const Array<T>& x, const Array<T>& y, const std::optional<Array<T>>& sw,
             Index batch_size, Index initial_epoch, Index epochs, bool shuffle, uint64_t seed,
             const EpochCallback& on_epoch, const BatchCallback& on_batch, double report_every) {
            auto data = dataset(x, y, sw);
            std::vector<std::vector<double>> epoch_logs;
            {
              py::gil_scoped_release release;
              epoch_logs = t.fit(data, batch_size, initial_epoch, epochs, shuffle, seed, on_epoch,
                                 on_batch, report_every);
            }
            return as_table(epoch_logs);
          },
          py::arg("x"), py::arg("y"), py::arg("sample_weight"), py::arg("batch_size"),
          py::arg("initial_epoch"), py::arg("epochs"), py::arg("shuffle"), py::arg("seed"),
          py::arg("on_epoch") = nullptr, py::arg("on_batch") = nullptr,
          py::arg("report_every") = 0.0)
      .def(
          "evaluate",
          [](Trainer<T>& t, const Array<T>& x, const Array<T>& y, const std::optional<Array<T>>& sw,
             Index batch_size, const BatchCallback& on_batch, double report_every) {
            auto data = dataset(x, y, sw);
            py::gil_scoped_release release;
            return t.evaluate(data, batch_size, on_batch, report_every);
          },
          py::arg("x"), py::arg("y"), py::arg("sample_weight"), py::arg("batch_size"),
          py::arg("on_batch") = nullptr, py::arg("report_every") = 0.0)
      .def("train_on_batch",
           [](Trainer<T>& t, const Array<T>& x, const Array<T>& y,
              const std::optional<Array<T>>& sw) {
             auto data = dataset(x, y, sw);
             py::gil_scoped_release release;
             return t.train_on_batch(data);
           })
      .def("test_on_batch",
           [](Trainer<T>& t, const Array<T>& x, const Array<T>& y,
              const std::optional<Array<T>>& sw) {
             auto data = dataset(x, y, sw);
             py::gil_scoped_release release;
             return t.test_on_batch(data);
           })
      .def(
          "run_chunk",
          [](Trainer<T>& t, const Array<T>& x, const Array<T>& y, const std::optional<Array<T>>& sw,
             Index batch_size, bool shuffle, uint64_t seed, Index first_batch, bool learn,
             const BatchCallback& on_batch, double report_every) {
            auto data = dataset(x, y, sw);
            py::gil_scoped_release release;
            return t.run_chunk(data, batch_size, shuffle, seed, first_batch, learn, on_batch,
                               report_every);
          },
          py::arg("x"), py::arg("y"), py::arg("sample_weight"), py::arg("batch_size"),
          py::arg("shuffle"), py::arg("seed"), py::arg("first_batch"), py::arg("learn"),
          py::arg("on_batch") = nullptr, py::arg("report_every") = 0.0)
      // run_chunk with x given as a list of blocks of consecutive rows (used in place).
      .def(
          "run_chunk_blocks",
          [](Trainer<T>& t, const std::vector<Array<T>>& x_blocks, const Array<T>& y,
             const std::optional<Array<T>>& sw, Index batch_size, bool shuffle, uint64_t seed,
             Index first_batch, bool learn, const BatchCallback& on_batch, double report_every) {
            std::vector<ConstMatrixMap<T>> blocks;
            for (const auto& block : x_blocks) blocks.push_back(as_batch(block));
            auto data = blocked_dataset(std::move(blocks), as_batch(y), sw ? sw->data() : nullptr);
            if (sw && sw->size() != data.x.rows())
              throw std::invalid_argument("sample_weight must hold one weight per sample");
            py::gil_scoped_release release;
            return t.run_chunk(data, batch_size, shuffle, seed, first_batch, learn, on_batch,
                               report_every);
          },
          py::arg("x_blocks"), py::arg("y"), py::arg("sample_weight"), py::arg("batch_size"),
          py::arg("shuffle"), py::arg("seed"), py::arg("first_batch"), py::arg("learn"),
          py::arg("on_batch") = nullptr, py::arg("report_every") = 0.0)
      .def("reset_metrics", &Trainer<T>::reset_metrics)
      .def("logs", &Trainer<T>::logs)
      // hook(grads): called with a NumPy view of the flat gradient buffer at every training
      // step, before the optimizer step; it may modify it in place. None removes it.
      .def("set_gradient_hook",
           [](py::object self, py::object hook) {
             auto& t = self.cast<Trainer<T>&>();
             if (hook.is_none()) return t.set_gradient_hook(nullptr);
             py::handle owner = self;  // the view's base: the trainer outlives every step
             t.set_gradient_hook([hook, owner](T* grads, Index size) {
               py::gil_scoped_acquire gil;
               hook(Array<T>({static_cast<py::ssize_t>(size)}, {sizeof(T)}, grads, owner));
             });
           })
      // Both wait for a running fit in another thread (the GIL released meanwhile).
      .def_property(
          "trainable",
          py::cpp_function(&Trainer<T>::trainable, py::call_guard<py::gil_scoped_release>()),
          py::cpp_function(&Trainer<T>::set_trainable, py::call_guard<py::gil_scoped_release>()))
      // (loss, gradients of the trainable weights concatenated in weights order)
      .def("compute_gradients", [](Trainer<T>& t, const Array<T>& x, const Array<T>& y) {
        auto data = dataset<T>(x, y, std::nullopt);
        double loss;
        {
          py::gil_scoped_release release;
          loss = t.compute_gradients(data);
        }
        Array<T> grads({static_cast<py::ssize_t>(total_size(t.segments()))});
        T* out = grads.mutable_data();
        for (const auto& s : t.segments())
          out = std::copy_n(t.gradients().data() + s.offset, s.size, out);
        return py::make_tuple(loss, grads);
      });
}

}  // namespace

void bind_model(py::module_& m) {
  py::class_<OptimizerConfig>(m, "OptimizerConfig")
      .def(py::init(
               [](double lr, double wd, double clipnorm, double global_clipnorm, double clipvalue) {
                 return OptimizerConfig{lr, wd, clipnorm, global_clipnorm, clipvalue};
               }),
           py::arg("learning_rate"), py::arg("weight_decay") = 0.0, py::arg("clipnorm") = 0.0,
           py::arg("global_clipnorm") = 0.0, py::arg("clipvalue") = 0.0);
  py::class_<LossConfig>(m, "LossConfig")
      .def(py::init(
               [](const std::string& name, bool from_logits, double delta, double label_smoothing) {
                 return LossConfig{loss_from_name(name), from_logits, delta, label_smoothing};
               }),
           py::arg("name"), py::arg("from_logits") = false, py::arg("delta") = 1.0,
           py::arg("label_smoothing") = 0.0);
  m.def("schedule_value", [](const std::string& kind, const py::dict& config, int64_t step) {
    return schedule_from(kind, config).at(step);
  });
  bind_model_typed<float>(m);
  bind_model_typed<double>(m);
}

}  // namespace eigennet::bindings
