"""Layers. One layer family per module."""

from eigennet.layers.activation import Activation
from eigennet.layers.bidirectional import Bidirectional
from eigennet.layers.convolutional import Conv1D, Conv2D, Convolution1D, Convolution2D
from eigennet.layers.dense import Dense
from eigennet.layers.dropout import Dropout
from eigennet.layers.embedding import Embedding
from eigennet.layers.input_layer import Input, InputLayer
from eigennet.layers.layer import Layer, Variable
from eigennet.layers.normalization import BatchNormalization, LayerNormalization
from eigennet.layers.pooling import (
    AveragePooling1D,
    AveragePooling2D,
    AvgPool1D,
    AvgPool2D,
    GlobalAveragePooling1D,
    GlobalAveragePooling2D,
    GlobalAvgPool1D,
    GlobalAvgPool2D,
    GlobalMaxPool1D,
    GlobalMaxPool2D,
    GlobalMaxPooling1D,
    GlobalMaxPooling2D,
    MaxPool1D,
    MaxPool2D,
    MaxPooling1D,
    MaxPooling2D,
)
from eigennet.layers.recurrent import GRU, LSTM, SimpleRNN
from eigennet.layers.reshaping import Flatten, Reshape

__all__ = [
    "Activation",
    "AveragePooling1D",
    "AveragePooling2D",
    "AvgPool1D",
    "AvgPool2D",
    "BatchNormalization",
    "Bidirectional",
    "Conv1D",
    "Conv2D",
    "Convolution1D",
    "Convolution2D",
    "Dense",
    "Dropout",
    "Embedding",
    "Flatten",
    "GRU",
    "GlobalAveragePooling1D",
    "GlobalAveragePooling2D",
    "GlobalAvgPool1D",
    "GlobalAvgPool2D",
    "GlobalMaxPool1D",
    "GlobalMaxPool2D",
    "GlobalMaxPooling1D",
    "GlobalMaxPooling2D",
    "Input",
    "InputLayer",
    "LSTM",
    "Layer",
    "LayerNormalization",
    "MaxPool1D",
    "MaxPool2D",
    "MaxPooling1D",
    "MaxPooling2D",
    "Reshape",
    "SimpleRNN",
    "Variable",
]
