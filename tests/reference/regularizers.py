"""NumPy reference of the L1/L2 penalties and their gradients."""

import numpy as np


def penalty(x, l1=0.0, l2=0.0):
    return l1 * np.abs(x).sum() + l2 * np.square(x).sum()


def gradient(x, l1=0.0, l2=0.0):
    return l1 * np.sign(x) + 2 * l2 * x
