"""`keras.datasets`: Keras's small datasets, downloaded once from Keras's own sources into
`~/.keras/datasets` (checked against Keras's hashes) and returned as Keras returns them."""

from eigennet.datasets import (
    boston_housing,
    california_housing,
    cifar10,
    cifar100,
    fashion_mnist,
    imdb,
    mnist,
    reuters,
)

__all__ = [
    "boston_housing",
    "california_housing",
    "cifar10",
    "cifar100",
    "fashion_mnist",
    "imdb",
    "mnist",
    "reuters",
]
