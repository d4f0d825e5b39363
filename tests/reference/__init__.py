"""Pure-NumPy reference implementations of the Keras 3 maths eigennet mirrors.

Written from the Keras 3 definitions with the torch backend as the behavioural
reference (kink and clipping conventions included).  Every function computes in
the floating dtype of its input, so float64 inputs give float64-exact results.
"""
