// The metric spec the Python front end sends, (name, dict of arguments), as a MetricConfig.
#pragma once

#include <pybind11/pybind11.h>

#include <string>

#include "eigennet/metrics.hpp"

namespace eigennet::bindings {

MetricConfig metric_config_from(const std::string& name, const pybind11::dict& config);

}  // namespace eigennet::bindings
