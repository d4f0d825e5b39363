"""Layers. One layer family per module."""

from eigennet.layers.activation import Activation
from eigennet.layers.bidirectional import Bidirectional
from eigennet.layers.dense import Dense
from eigennet.layers.dropout import Dropout
from eigennet.layers.input_layer import Input, InputLayer
from eigennet.layers.layer import Layer, Variable
from eigennet.layers.recurrent import GRU, LSTM, SimpleRNN

__all__ = [
    "GRU",
    "LSTM",
    "Activation",
    "Bidirectional",
    "Dense",
    "Dropout",
    "Input",
    "InputLayer",
    "Layer",
    "SimpleRNN",
    "Variable",
]
