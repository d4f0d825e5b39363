"""Layers. One layer family per module."""

from eigennet.layers.activation import Activation
from eigennet.layers.dense import Dense
from eigennet.layers.dropout import Dropout
from eigennet.layers.input_layer import Input, InputLayer
from eigennet.layers.layer import Layer, Variable

__all__ = ["Activation", "Dense", "Dropout", "Input", "InputLayer", "Layer", "Variable"]
