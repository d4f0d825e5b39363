#include "eigennet/ops/elementwise.hpp"

#include <cmath>
#include <stdexcept>
#include <type_traits>
#include <unsupported/Eigen/SpecialFunctions>

#include "eigennet/ops/broadcast.hpp"

namespace eigennet {

namespace {

template <class E>
E kind_from_name(const std::string& op, const std::string& kind,
                 std::initializer_list<std::pair<const char*, E>> names) {
  for (const auto& n : names)
    if (kind == n.first) return n.second;
  std::string valid;
  for (const auto& n : names) valid += std::string(valid.empty() ? "" : ", ") + n.first;
  throw std::invalid_argument(op + ": unknown kind '" + kind + "' (valid: " + valid + ")");
}

// fn(begin, count) over [0, n) in chunks, on several threads when n is large.
template <class Fn>
void for_chunks(Index n, Fn&& fn) {
  if (!parallel_for_worth(n)) {
    fn(Index{0}, n);
    return;
  }
  const Index threads = get_num_threads();
  const Index block = (n + threads - 1) / threads;
#pragma omp parallel for schedule(static) num_threads(static_cast<int>(threads))
  for (Index t = 0; t < threads; ++t) {
    const Index first = t * block;
    if (first < n) fn(first, std::min(block, n - first));
  }
}

constexpr double kSeluAlpha = 1.67326324235437728481;
constexpr double kSeluScale = 1.05070098735548049342;
constexpr double kSqrt2OverPi = 0.79788456080286535588;
constexpr double kInvSqrt2Pi = 0.39894228040143267794;
constexpr double kTwoOverSqrtPi = 1.12837916709551257390;

}  // namespace

// -- unary ----------------------------------------------------------------------------------
template <class T>
UnaryOp<T>::UnaryOp(const std::string& kind, const Shape& input, double alpha, double beta)
    : Op<T>(kind, {input}, input),
      kind_(kind_from_name<UnaryKind>("UnaryOp on " + full_shape_string(input), kind,
                                      {{"negative", UnaryKind::Negative},
                                       {"abs", UnaryKind::Abs},
                                       {"square", UnaryKind::Square},
                                       {"sqrt", UnaryKind::Sqrt},
                                       {"rsqrt", UnaryKind::Rsqrt},
                                       {"reciprocal", UnaryKind::Reciprocal},
                                       {"exp", UnaryKind::Exp},
                                       {"log", UnaryKind::Log},
                                       {"log1p", UnaryKind::Log1p},
                                       {"expm1", UnaryKind::Expm1},
                                       {"sin", UnaryKind::Sin},
                                       {"cos", UnaryKind::Cos},
                                       {"tanh", UnaryKind::Tanh},
                                       {"sigmoid", UnaryKind::Sigmoid},
                                       {"relu", UnaryKind::Relu},
                                       {"relu6", UnaryKind::Relu6},
                                       {"leaky_relu", UnaryKind::LeakyRelu},
                                       {"elu", UnaryKind::Elu},
                                       {"selu", UnaryKind::Selu},
                                       {"gelu", UnaryKind::Gelu},
                                       {"gelu_tanh", UnaryKind::GeluTanh},
                                       {"silu", UnaryKind::Silu},
                                       {"softplus", UnaryKind::Softplus},
                                       {"softsign", UnaryKind::Softsign},
                                       {"hard_sigmoid", UnaryKind::HardSigmoid},
                                       {"hard_silu", UnaryKind::HardSilu},
                                       {"log_sigmoid", UnaryKind::LogSigmoid},
                                       {"erf", UnaryKind::Erf},
                                       {"sign", UnaryKind::Sign},
                                       {"floor", UnaryKind::Floor},
                                       {"ceil", UnaryKind::Ceil},
                                       {"round", UnaryKind::Round},
                                       {"logical_not", UnaryKind::LogicalNot},
                                       {"isnan", UnaryKind::IsNan},
                                       {"isfinite", UnaryKind::IsFinite},
                                       {"identity", UnaryKind::Identity},
                                       {"clip", UnaryKind::Clip},
                                       {"power_scalar", UnaryKind::PowerScalar},
                                       {"tan", UnaryKind::Tan},
                                       {"arcsin", UnaryKind::Arcsin},
                                       {"arccos", UnaryKind::Arccos},
                                       {"arctan", UnaryKind::Arctan},
                                       {"sinh", UnaryKind::Sinh},
                                       {"cosh", UnaryKind::Cosh},
                                       {"arcsinh", UnaryKind::Arcsinh},
                                       {"arccosh", UnaryKind::Arccosh},
                                       {"arctanh", UnaryKind::Arctanh},
                                       {"log2", UnaryKind::Log2},
                                       {"log10", UnaryKind::Log10},
                                       {"exp2", UnaryKind::Exp2},
                                       {"trunc", UnaryKind::Trunc}})),
      alpha_(T(alpha)),
      beta_(T(beta)) {}

template <class T>
void UnaryOp<T>::compute(const T* const* xs, T* y, bool) {
  const T a = alpha_, b = beta_;
  const UnaryKind kind = kind_;
  for_chunks(element_count(this->out_shape()), [&](Index first, Index n) {
    ConstArrayMap<T> x(xs[0] + first, n);
    ArrayMap<T> out(y + first, n);
    switch (kind) {
      case UnaryKind::Negative:
        out = -x;
        break;
      case UnaryKind::Abs:
        out = x.abs();
        break;
      case UnaryKind::Square:
        out = x.square();
        break;
      case UnaryKind::Sqrt:
        out = x.sqrt();
        break;
      case UnaryKind::Rsqrt:
        out = x.rsqrt();
        break;
      case UnaryKind::Reciprocal:
        out = x.inverse();
        break;
      case UnaryKind::Exp:
        out = x.exp();
        break;
      case UnaryKind::Log:
        out = x.log();
        break;
      case UnaryKind::Log1p:
        out = x.log1p();
        break;
      case UnaryKind::Expm1:
        out = x.expm1();
        break;
      case UnaryKind::Sin:
        out = x.sin();
        break;
      case UnaryKind::Cos:
        out = x.cos();
        break;
      case UnaryKind::Tanh:
        out = x.tanh();
        break;
      case UnaryKind::Sigmoid:
        out = x.logistic();
        break;
      case UnaryKind::Relu:
        out = x.max(T(0));
        break;
      case UnaryKind::Relu6:
        out = x.max(T(0)).min(T(6));
        break;
      case UnaryKind::LeakyRelu:
        out = (x >= T(0)).select(x, a * x);
        break;
      case UnaryKind::Elu:
        out = (x > T(0)).select(x, a * x.expm1());
        break;
      case UnaryKind::Selu:
        out = T(kSeluScale) * (x > T(0)).select(x, T(kSeluAlpha) * x.expm1());
        break;
      case UnaryKind::Gelu:
        out = T(0.5) * x * (T(1) + (x * T(M_SQRT1_2)).erf());
        break;
      case UnaryKind::GeluTanh:
        out = T(0.5) * x * (T(1) + (T(kSqrt2OverPi) * (x + T(0.044715) * x.cube())).tanh());
        break;
      case UnaryKind::Silu:
        out = x * x.logistic();
        break;
      // Stable log(1 + e^x) = max(x, 0) + log1p(e^-|x|).
      case UnaryKind::Softplus:
        out = x.max(T(0)) + (-x.abs()).exp().log1p();
        break;
      case UnaryKind::Softsign:
        out = x / (T(1) + x.abs());
        break;
      case UnaryKind::HardSigmoid:
        out = (x + T(3)).max(T(0)).min(T(6)) / T(6);
        break;
      case UnaryKind::HardSilu:
        out = x * (x + T(3)).max(T(0)).min(T(6)) / T(6);
        break;
      case UnaryKind::LogSigmoid:
        out = -((-x).max(T(0)) + (-x.abs()).exp().log1p());
        break;
      case UnaryKind::Erf:
        out = x.erf();
        break;
      case UnaryKind::Sign:
        out = x.sign();
        break;
      case UnaryKind::Floor:
        out = x.floor();
        break;
      case UnaryKind::Ceil:
        out = x.ceil();
        break;
      case UnaryKind::Round:
        out = x.rint();
        break;  // half to even, as NumPy
      case UnaryKind::LogicalNot:
        out = (x == T(0)).template cast<T>();
        break;
      case UnaryKind::IsNan:
        out = x.isNaN().template cast<T>();
        break;
      case UnaryKind::IsFinite:
        out = x.isFinite().template cast<T>();
        break;
      case UnaryKind::Identity:
        out = x;
        break;
      case UnaryKind::Clip:
        out = x.max(a).min(b);
        break;
      case UnaryKind::PowerScalar:
        out = x.pow(a);
        break;
      case UnaryKind::Tan:
        out = x.tan();
        break;
      case UnaryKind::Arcsin:
        out = x.asin();
        break;
      case UnaryKind::Arccos:
        out = x.acos();
        break;
      case UnaryKind::Arctan:
        out = x.atan();
        break;
      case UnaryKind::Sinh:
        out = x.sinh();
        break;
      case UnaryKind::Cosh:
        out = x.cosh();
        break;
      case UnaryKind::Arcsinh:
        out = x.unaryExpr([](T v) { return std::asinh(v); });
        break;
      case UnaryKind::Arccosh:
        out = x.unaryExpr([](T v) { return std::acosh(v); });
        break;
      case UnaryKind::Arctanh:
        out = x.unaryExpr([](T v) { return std::atanh(v); });
        break;
      case UnaryKind::Log2:
        out = x.log() * T(1.0 / M_LN2);
        break;
      case UnaryKind::Log10:
        out = x.log10();
        break;
      case UnaryKind::Exp2:
        out = (x * T(M_LN2)).exp();
        break;
      case UnaryKind::Trunc:
        out = x.unaryExpr([](T v) { return std::trunc(v); });
        break;
    }
  });
}

template <class T>
void UnaryOp<T>::gradient(const T* const* xs, const T* y, T* grad_y, T* const* grad_xs) {
  if (!grad_xs[0]) return;
  const T a = alpha_, b = beta_;
  const UnaryKind kind = kind_;
  for_chunks(element_count(this->out_shape()), [&](Index first, Index n) {
    ConstArrayMap<T> x(xs[0] + first, n), out(y + first, n), g(grad_y + first, n);
    ArrayMap<T> dx(grad_xs[0] + first, n);
    switch (kind) {
      case UnaryKind::Negative:
        dx = -g;
        break;
      case UnaryKind::Abs:
        dx = g * x.sign();
        break;
      case UnaryKind::Square:
        dx = T(2) * g * x;
        break;
      case UnaryKind::Sqrt:
        dx = T(0.5) * g / out;
        break;
      case UnaryKind::Rsqrt:
        dx = T(-0.5) * g * out.cube();
        break;
      case UnaryKind::Reciprocal:
        dx = -g * out.square();
        break;
      case UnaryKind::Exp:
        dx = g * out;
        break;
      case UnaryKind::Log:
        dx = g / x;
        break;
      case UnaryKind::Log1p:
        dx = g / (T(1) + x);
        break;
      case UnaryKind::Expm1:
        dx = g * (out + T(1));
        break;
      case UnaryKind::Sin:
        dx = g * x.cos();
        break;
      case UnaryKind::Cos:
        dx = -g * x.sin();
        break;
      case UnaryKind::Tanh:
        dx = g * (T(1) - out.square());
        break;
      case UnaryKind::Sigmoid:
        dx = g * out * (T(1) - out);
        break;
      case UnaryKind::Relu:
        dx = (x > T(0)).select(g, T(0));
        break;
      case UnaryKind::Relu6:
        dx = (x > T(0) && x < T(6)).select(g, T(0));
        break;
      case UnaryKind::LeakyRelu:
        dx = (x >= T(0)).select(g, a * g);
        break;
      case UnaryKind::Elu:
        dx = (x > T(0)).select(g, g * (out + a));
        break;
      case UnaryKind::Selu:
        dx = (x > T(0)).select(T(kSeluScale) * g, g * (out + T(kSeluScale * kSeluAlpha)));
        break;
      case UnaryKind::Gelu:
        dx = g * (T(0.5) * (T(1) + (x * T(M_SQRT1_2)).erf()) +
                  x * T(kInvSqrt2Pi) * (T(-0.5) * x.square()).exp());
        break;
      case UnaryKind::GeluTanh: {
        const auto t = (T(kSqrt2OverPi) * (x + T(0.044715) * x.cube())).tanh();
        dx = g * (T(0.5) * (T(1) + t) + T(0.5) * x * (T(1) - t.square()) * T(kSqrt2OverPi) *
                                            (T(1) + T(3 * 0.044715) * x.square()));
        break;
      }
      case UnaryKind::Silu: {
        const auto s = x.logistic();
        dx = g * s * (T(1) + x * (T(1) - s));
        break;
      }
      case UnaryKind::Softplus:
        dx = g * x.logistic();
        break;
      case UnaryKind::Softsign:
        dx = g / (T(1) + x.abs()).square();
        break;
      case UnaryKind::HardSigmoid:
        dx = (x > T(-3) && x < T(3)).select(g / T(6), T(0));
        break;
      case UnaryKind::HardSilu:
        dx = g * ((x + T(3)).max(T(0)).min(T(6)) / T(6) +
                  (x > T(-3) && x < T(3)).select(x / T(6), T(0)));
        break;
      case UnaryKind::LogSigmoid:
        dx = g * (-x).logistic();
        break;
      case UnaryKind::Erf:
        dx = g * T(kTwoOverSqrtPi) * (-x.square()).exp();
        break;
      case UnaryKind::Sign:
      case UnaryKind::Floor:
      case UnaryKind::Ceil:
      case UnaryKind::Round:
      case UnaryKind::LogicalNot:
      case UnaryKind::IsNan:
      case UnaryKind::IsFinite:
        dx = T(0);
        break;
      case UnaryKind::Identity:
        dx = g;
        break;
      // torch's clamp: the gradient passes where min <= x <= max.
      case UnaryKind::Clip:
        dx = (x >= a && x <= b).select(g, T(0));
        break;
      case UnaryKind::PowerScalar:
        if (a == T(0))
          dx.setZero();
        else
          dx = g * a * x.pow(a - T(1));
        break;
      case UnaryKind::Tan:
        dx = g * (T(1) + out.square());
        break;
      case UnaryKind::Arcsin:
        dx = g * (T(1) - x.square()).rsqrt();
        break;
      case UnaryKind::Arccos:
        dx = -g * (T(1) - x.square()).rsqrt();
        break;
      case UnaryKind::Arctan:
        dx = g / (T(1) + x.square());
        break;
      case UnaryKind::Sinh:
        dx = g * x.cosh();
        break;
      case UnaryKind::Cosh:
        dx = g * x.sinh();
        break;
      case UnaryKind::Arcsinh:
        dx = g * (x.square() + T(1)).rsqrt();
        break;
      case UnaryKind::Arccosh:
        dx = g * (x.square() - T(1)).rsqrt();
        break;
      case UnaryKind::Arctanh:
        dx = g / (T(1) - x.square());
        break;
      case UnaryKind::Log2:
        dx = g / (x * T(M_LN2));
        break;
      case UnaryKind::Log10:
        dx = g / (x * T(M_LN10));
        break;
      case UnaryKind::Exp2:
        dx = g * out * T(M_LN2);
        break;
      case UnaryKind::Trunc:
        dx = T(0);
        break;
    }
  });
}

// -- binary ---------------------------------------------------------------------------------
namespace {

// Value and partial derivatives (times nothing: the caller multiplies by dL/dy).
template <class T, BinaryKind K>
struct Fn;

#define EIGENNET_BINARY(KIND, VALUE, DA, DB) \
  template <class T>                         \
  struct Fn<T, BinaryKind::KIND> {           \
    static T f(T a, T b) { return VALUE; }   \
    static T da(T a, T b, T y) {             \
      (void)a, (void)b, (void)y;             \
      return DA;                             \
    }                                        \
    static T db(T a, T b, T y) {             \
      (void)a, (void)b, (void)y;             \
      return DB;                             \
    }                                        \
  };

EIGENNET_BINARY(Add, a + b, T(1), T(1))
EIGENNET_BINARY(Subtract, a - b, T(1), T(-1))
EIGENNET_BINARY(Multiply, a* b, b, a)
EIGENNET_BINARY(Divide, a / b, T(1) / b, -y / b)
// torch: no gradient to the exponent where the base is 0 and the exponent >= 0.
EIGENNET_BINARY(Power, std::pow(a, b), b == T(0) ? T(0) : b * std::pow(a, b - T(1)),
                (a == T(0) && b >= T(0)) ? T(0) : y * std::log(a))
EIGENNET_BINARY(Maximum, a > b ? a : (b > a ? b : (a != a ? a : b)),
                a > b ? T(1) : (a == b ? T(0.5) : T(0)), b > a ? T(1) : (a == b ? T(0.5) : T(0)))
EIGENNET_BINARY(Minimum, a < b ? a : (b < a ? b : (a != a ? a : b)),
                a < b ? T(1) : (a == b ? T(0.5) : T(0)), b < a ? T(1) : (a == b ? T(0.5) : T(0)))
EIGENNET_BINARY(FloorDivide, std::floor(a / b), T(0), T(0))
// NumPy's mod takes the divisor's sign; torch's remainder gradient (1, -floor(a / b)).
EIGENNET_BINARY(Mod, b == T(0) ? T(NAN) : a - std::floor(a / b) * b, T(1), -std::floor(a / b))
EIGENNET_BINARY(Equal, T(a == b), T(0), T(0))
EIGENNET_BINARY(NotEqual, T(a != b), T(0), T(0))
EIGENNET_BINARY(Less, T(a < b), T(0), T(0))
EIGENNET_BINARY(LessEqual, T(a <= b), T(0), T(0))
EIGENNET_BINARY(Greater, T(a > b), T(0), T(0))
EIGENNET_BINARY(GreaterEqual, T(a >= b), T(0), T(0))
EIGENNET_BINARY(LogicalAnd, T(a != T(0) && b != T(0)), T(0), T(0))
EIGENNET_BINARY(LogicalOr, T(a != T(0) || b != T(0)), T(0), T(0))
EIGENNET_BINARY(LogicalXor, T((a != T(0)) != (b != T(0))), T(0), T(0))
EIGENNET_BINARY(Arctan2, std::atan2(a, b), b / (a * a + b * b), -a / (a * a + b * b))
#undef EIGENNET_BINARY

template <class T, BinaryKind K>
void binary_forward(const StridedLoop<3>& loop, const T* a, const T* b, T* y) {
  using F = Fn<T, K>;
  loop.run([&](const auto& off, Index n, const auto& s) {
    T* py = y + off[0];
    const T* pa = a + off[1];
    const T* pb = b + off[2];
    if (s[1] == 1 && s[2] == 1) {
      for (Index i = 0; i < n; ++i) py[i] = F::f(pa[i], pb[i]);
    } else if (s[1] == 1 && s[2] == 0) {
      const T vb = *pb;
      for (Index i = 0; i < n; ++i) py[i] = F::f(pa[i], vb);
    } else if (s[1] == 0 && s[2] == 1) {
      const T va = *pa;
      for (Index i = 0; i < n; ++i) py[i] = F::f(va, pb[i]);
    } else {
      for (Index i = 0; i < n; ++i) py[i * s[0]] = F::f(pa[i * s[1]], pb[i * s[2]]);
    }
  });
}

// dL/da and dL/db at every output element (da or db null when not wanted).
template <class T, BinaryKind K>
void binary_backward(const StridedLoop<3>& loop, const T* a, const T* b, const T* y, const T* g,
                     T* da, T* db) {
  using F = Fn<T, K>;
  loop.run([&](const auto& off, Index n, const auto& s) {
    const T* pa = a + off[1];
    const T* pb = b + off[2];
    const Index o = off[0];
    for (Index i = 0; i < n; ++i) {
      const T va = pa[i * s[1]], vb = pb[i * s[2]], vy = y[o + i * s[0]], vg = g[o + i * s[0]];
      if (da) da[o + i * s[0]] = vg * F::da(va, vb, vy);
      if (db) db[o + i * s[0]] = vg * F::db(va, vb, vy);
    }
  });
}

template <class T>
using BinaryForward = void (*)(const StridedLoop<3>&, const T*, const T*, T*);
template <class T>
using BinaryBackward = void (*)(const StridedLoop<3>&, const T*, const T*, const T*, const T*, T*,
                                T*);

#define EIGENNET_BINARY_KINDS(X) \
  X(Add)                         \
  X(Subtract)                    \
  X(Multiply)                    \
  X(Divide)                      \
  X(Power)                       \
  X(Maximum)                     \
  X(Minimum)                     \
  X(FloorDivide)                 \
  X(Mod)                         \
  X(Equal)                       \
  X(NotEqual)                    \
  X(Less)                        \
  X(LessEqual)                   \
  X(Greater)                     \
  X(GreaterEqual)                \
  X(LogicalAnd)                  \
  X(LogicalOr)                   \
  X(LogicalXor)                  \
  X(Arctan2)

template <class T, template <class, BinaryKind> class Use, class R>
R dispatch(BinaryKind k) {
  switch (k) {
#define EIGENNET_CASE(KIND) \
  case BinaryKind::KIND:    \
    return Use<T, BinaryKind::KIND>::get();
    EIGENNET_BINARY_KINDS(EIGENNET_CASE)
#undef EIGENNET_CASE
  }
  throw std::logic_error("binary op: unknown kind");
}

// Float64 runs every kind through one loop with a switch per element: float64 is for
// precision (gradient checks), not speed, and a loop per kind doubled the binary ops' code.
template <class T>
T binary_value(BinaryKind k, T a, T b) {
  switch (k) {
#define EIGENNET_CASE(KIND) \
  case BinaryKind::KIND:    \
    return Fn<T, BinaryKind::KIND>::f(a, b);
    EIGENNET_BINARY_KINDS(EIGENNET_CASE)
#undef EIGENNET_CASE
  }
  return T(0);
}

template <class T>
void binary_partials(BinaryKind k, T a, T b, T y, T& da, T& db) {
  switch (k) {
#define EIGENNET_CASE(KIND)                    \
  case BinaryKind::KIND:                       \
    da = Fn<T, BinaryKind::KIND>::da(a, b, y); \
    db = Fn<T, BinaryKind::KIND>::db(a, b, y); \
    return;
    EIGENNET_BINARY_KINDS(EIGENNET_CASE)
#undef EIGENNET_CASE
  }
}

#undef EIGENNET_BINARY_KINDS

template <class T>
void binary_forward_any(BinaryKind k, const StridedLoop<3>& loop, const T* a, const T* b, T* y) {
  loop.run([&](const auto& off, Index n, const auto& s) {
    for (Index i = 0; i < n; ++i)
      y[off[0] + i * s[0]] = binary_value(k, a[off[1] + i * s[1]], b[off[2] + i * s[2]]);
  });
}

template <class T>
void binary_backward_any(BinaryKind k, const StridedLoop<3>& loop, const T* a, const T* b,
                         const T* y, const T* g, T* da, T* db) {
  loop.run([&](const auto& off, Index n, const auto& s) {
    for (Index i = 0; i < n; ++i) {
      const Index o = off[0] + i * s[0];
      T pa, pb;
      binary_partials(k, a[off[1] + i * s[1]], b[off[2] + i * s[2]], y[o], pa, pb);
      if (da) da[o] = g[o] * pa;
      if (db) db[o] = g[o] * pb;
    }
  });
}

template <class T, BinaryKind K>
struct GetForward {
  static BinaryForward<T> get() { return &binary_forward<T, K>; }
};
template <class T, BinaryKind K>
struct GetBackward {
  static BinaryBackward<T> get() { return &binary_backward<T, K>; }
};

}  // namespace

template <class T>
BinaryOp<T>::BinaryOp(const std::string& kind, const Shape& a, const Shape& b)
    : Op<T>(kind, {a, b}, broadcast_full_shapes(kind, {a, b})),
      kind_(kind_from_name<BinaryKind>(
          "BinaryOp on " + full_shape_string(a) + " and " + full_shape_string(b), kind,
          {{"add", BinaryKind::Add},
           {"subtract", BinaryKind::Subtract},
           {"multiply", BinaryKind::Multiply},
           {"divide", BinaryKind::Divide},
           {"power", BinaryKind::Power},
           {"maximum", BinaryKind::Maximum},
           {"minimum", BinaryKind::Minimum},
           {"floor_divide", BinaryKind::FloorDivide},
           {"mod", BinaryKind::Mod},
           {"equal", BinaryKind::Equal},
           {"not_equal", BinaryKind::NotEqual},
           {"less", BinaryKind::Less},
           {"less_equal", BinaryKind::LessEqual},
           {"greater", BinaryKind::Greater},
           {"greater_equal", BinaryKind::GreaterEqual},
           {"logical_and", BinaryKind::LogicalAnd},
           {"logical_or", BinaryKind::LogicalOr},
           {"logical_xor", BinaryKind::LogicalXor},
           {"arctan2", BinaryKind::Arctan2}})) {}

template <class T>
const StridedLoop<3>& BinaryOp<T>::loop() {
  const Shape& out = this->out_shape();
  if (out != loop_shape_ || loop_.size() != element_count(out)) {
    loop_ = StridedLoop<3>(out, {contiguous_strides(out), broadcast_strides(this->in_shape(0), out),
                                 broadcast_strides(this->in_shape(1), out)});
    loop_shape_ = out;
  }
  return loop_;
}

template <class T>
void BinaryOp<T>::compute(const T* const* xs, T* y, bool) {
  if constexpr (std::is_same_v<T, double>)
    binary_forward_any(kind_, loop(), xs[0], xs[1], y);
  else
    dispatch<T, GetForward, BinaryForward<T>>(kind_)(loop(), xs[0], xs[1], y);
}

template <class T>
void BinaryOp<T>::gradient(const T* const* xs, const T* y, T* grad_y, T* const* grad_xs) {
  const Shape& out = this->out_shape();
  if (kind_ == BinaryKind::Add || kind_ == BinaryKind::Subtract) {  // dL/dy itself, summed
    for (int i = 0; i < 2; ++i) {
      if (!grad_xs[i]) continue;
      sum_to(grad_y, out, grad_xs[i], this->in_shape(i));
      if (i == 1 && kind_ == BinaryKind::Subtract)
        ArrayMap<T>(grad_xs[1], element_count(this->in_shape(1))) *= T(-1);
    }
    return;
  }
  const Index n = element_count(out);
  T* dst[2] = {nullptr, nullptr};
  Workspace<T>* scratch[2] = {&scratch_a_, &scratch_b_};
  for (int i = 0; i < 2; ++i) {
    if (!grad_xs[i]) continue;
    // Same-shape operands get their gradient in place; broadcast ones are summed afterwards.
    dst[i] = element_count(this->in_shape(i)) == n ? grad_xs[i] : scratch[i]->view(n, 1).data();
  }
  if (!dst[0] && !dst[1]) return;
  if constexpr (std::is_same_v<T, double>)
    binary_backward_any(kind_, loop(), xs[0], xs[1], y, grad_y, dst[0], dst[1]);
  else
    dispatch<T, GetBackward, BinaryBackward<T>>(kind_)(loop(), xs[0], xs[1], y, grad_y, dst[0],
                                                       dst[1]);
  for (int i = 0; i < 2; ++i)
    if (dst[i] && dst[i] != grad_xs[i]) sum_to(dst[i], out, grad_xs[i], this->in_shape(i));
}

// -- where ----------------------------------------------------------------------------------
template <class T>
WhereOp<T>::WhereOp(const Shape& condition, const Shape& x, const Shape& y)
    : Op<T>("where", {condition, x, y}, broadcast_full_shapes("where", {condition, x, y})) {}

template <class T>
void WhereOp<T>::compute(const T* const* xs, T* y, bool) {
  const Shape& out = this->out_shape();
  StridedLoop<4> loop(
      out, {contiguous_strides(out), broadcast_strides(this->in_shape(0), out),
            broadcast_strides(this->in_shape(1), out), broadcast_strides(this->in_shape(2), out)});
  loop.run([&](const auto& off, Index n, const auto& s) {
    const T* c = xs[0] + off[1];
    const T* a = xs[1] + off[2];
    const T* b = xs[2] + off[3];
    T* o = y + off[0];
    for (Index i = 0; i < n; ++i) o[i * s[0]] = c[i * s[1]] != T(0) ? a[i * s[2]] : b[i * s[3]];
  });
}

template <class T>
void WhereOp<T>::gradient(const T* const* xs, const T*, T* grad_y, T* const* grad_xs) {
  if (grad_xs[0]) std::fill_n(grad_xs[0], element_count(this->in_shape(0)), T(0));
  const Shape& out = this->out_shape();
  const Index n = element_count(out);
  T* full = scratch_.view(n, 1).data();
  StridedLoop<2> loop(out, {contiguous_strides(out), broadcast_strides(this->in_shape(0), out)});
  for (int side = 1; side <= 2; ++side) {
    if (!grad_xs[side]) continue;
    const bool take = side == 1;
    loop.run([&](const auto& off, Index m, const auto& s) {
      const T* c = xs[0] + off[1];
      for (Index i = 0; i < m; ++i)
        full[off[0] + i * s[0]] = (c[i * s[1]] != T(0)) == take ? grad_y[off[0] + i * s[0]] : T(0);
    });
    sum_to(full, out, grad_xs[side], this->in_shape(side));
  }
}

template class UnaryOp<float>;
template class UnaryOp<double>;
template class BinaryOp<float>;
template class BinaryOp<double>;
template class WhereOp<float>;
template class WhereOp<double>;

}  // namespace eigennet
