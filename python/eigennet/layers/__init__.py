"""Layers. One layer family per module."""

from eigennet.layers.activation import Activation
from eigennet.layers.bidirectional import Bidirectional
from eigennet.layers.dense import Dense
from eigennet.layers.dropout import Dropout
from eigennet.layers.embedding import Embedding
from eigennet.layers.input_layer import Input, InputLayer
from eigennet.layers.layer import Layer, Variable
from eigennet.layers.normalization import BatchNormalization, LayerNormalization
from eigennet.layers.recurrent import GRU, LSTM, SimpleRNN
from eigennet.layers.reshaping import Flatten, Reshape

__all__ = [
    "GRU",
    "LSTM",
    "Activation",
    "BatchNormalization",
    "Bidirectional",
    "Dense",
    "Dropout",
    "Embedding",
    "Flatten",
    "Input",
    "InputLayer",
    "Layer",
    "LayerNormalization",
    "Reshape",
    "SimpleRNN",
    "Variable",
]
