// The orthogonal factor of a QR factorisation, for Keras's Orthogonal initializer. Native (and
// single-threaded) so that initialising a recurrent kernel does not wake NumPy's BLAS threads,
// which eigennet's thread setting does not bound.
#pragma once

#include "eigennet/tensor.hpp"

namespace eigennet {

// q (rows x cols, rows >= cols) = the thin Q of a = QR (a: rows x cols, row-major), each
// column's sign flipped where R's diagonal is negative (Keras's "make Q uniform").
void orthogonal_factor(const double* a, Index rows, Index cols, double* q);

}  // namespace eigennet
