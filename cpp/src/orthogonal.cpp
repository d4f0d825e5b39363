#include "eigennet/orthogonal.hpp"

#include <Eigen/QR>
#include <stdexcept>

namespace eigennet {

void orthogonal_factor(const double* a, Index rows, Index cols, double* q) {
  if (rows < cols || cols < 1)
    throw std::invalid_argument("orthogonal_factor needs rows >= cols >= 1");
  const Eigen::MatrixXd m = ConstMatrixMap<double>(a, rows, cols);
  Eigen::HouseholderQR<Eigen::MatrixXd> qr(m);
  Eigen::MatrixXd thin = qr.householderQ() * Eigen::MatrixXd::Identity(rows, cols);
  const auto diag = qr.matrixQR().diagonal();
  for (Index j = 0; j < cols; ++j)
    if (diag(j) < 0) thin.col(j) = -thin.col(j);
  MatrixMap<double>(q, rows, cols) = thin;
}

}  // namespace eigennet
