"""Layers. One layer family per module."""

from eigennet.layers.activation import Activation
from eigennet.layers.activation_layers import ELU, Identity, LeakyReLU, PReLU, ReLU, Softmax
from eigennet.layers.adaptive_pooling import (
    AdaptiveAveragePooling1D,
    AdaptiveAveragePooling2D,
    AdaptiveAveragePooling3D,
    AdaptiveMaxPooling1D,
    AdaptiveMaxPooling2D,
    AdaptiveMaxPooling3D,
)
from eigennet.layers.attention import AdditiveAttention, Attention, MultiHeadAttention
from eigennet.layers.bidirectional import Bidirectional
from eigennet.layers.category_encoding import CategoryEncoding
from eigennet.layers.conv_lstm import ConvLSTM1D, ConvLSTM2D
from eigennet.layers.conv_transpose import (
    Conv1DTranspose,
    Conv2DTranspose,
    Conv3DTranspose,
    Convolution1DTranspose,
    Convolution2DTranspose,
    Convolution3DTranspose,
)
from eigennet.layers.convolutional import (
    Conv1D,
    Conv2D,
    Conv3D,
    Convolution1D,
    Convolution2D,
    Convolution3D,
)
from eigennet.layers.dense import Dense
from eigennet.layers.depthwise_separable import (
    DepthwiseConv1D,
    DepthwiseConv2D,
    SeparableConv1D,
    SeparableConv2D,
    SeparableConvolution1D,
    SeparableConvolution2D,
)
from eigennet.layers.discretization import Discretization
from eigennet.layers.dropout import Dropout
from eigennet.layers.einsum_dense import EinsumDense
from eigennet.layers.embedding import Embedding
from eigennet.layers.group_normalization import GroupNormalization
from eigennet.layers.hashing import Hashing
from eigennet.layers.image_affine import RandomRotation, RandomShear, RandomTranslation, RandomZoom
from eigennet.layers.image_pixel_augmentation import (
    RandomColorJitter,
    RandomHue,
    RandomPosterization,
    RandomSaturation,
    RandomSharpness,
    Solarization,
)
from eigennet.layers.image_preprocessing import (
    AutoContrast,
    CenterCrop,
    RandomBrightness,
    RandomColorDegeneration,
    RandomContrast,
    RandomFlip,
    RandomGrayscale,
    RandomInvert,
    Resizing,
)
from eigennet.layers.index_lookup import IntegerLookup, StringLookup
from eigennet.layers.input_layer import Input, InputLayer
from eigennet.layers.input_spec import InputSpec
from eigennet.layers.lambda_layer import Lambda
from eigennet.layers.layer import Layer, Variable
from eigennet.layers.masking import Masking
from eigennet.layers.merging import (
    Add,
    Average,
    Concatenate,
    Dot,
    Maximum,
    Minimum,
    Multiply,
    Subtract,
    add,
    average,
    concatenate,
    dot,
    maximum,
    minimum,
    multiply,
    subtract,
)
from eigennet.layers.normalization import BatchNormalization, LayerNormalization
from eigennet.layers.padding_cropping import (
    Cropping1D,
    Cropping2D,
    Cropping3D,
    ZeroPadding1D,
    ZeroPadding2D,
    ZeroPadding3D,
)
from eigennet.layers.pipeline import Pipeline
from eigennet.layers.pooling import (
    AveragePooling1D,
    AveragePooling2D,
    AveragePooling3D,
    AvgPool1D,
    AvgPool2D,
    AvgPool3D,
    GlobalAveragePooling1D,
    GlobalAveragePooling2D,
    GlobalAveragePooling3D,
    GlobalAvgPool1D,
    GlobalAvgPool2D,
    GlobalAvgPool3D,
    GlobalMaxPool1D,
    GlobalMaxPool2D,
    GlobalMaxPool3D,
    GlobalMaxPooling1D,
    GlobalMaxPooling2D,
    GlobalMaxPooling3D,
    MaxPool1D,
    MaxPool2D,
    MaxPool3D,
    MaxPooling1D,
    MaxPooling2D,
    MaxPooling3D,
)
from eigennet.layers.preprocessing import Normalization, Rescaling
from eigennet.layers.random_crop import RandomCrop
from eigennet.layers.recurrent import GRU, LSTM, SimpleRNN
from eigennet.layers.regularization import (
    ActivityRegularization,
    AlphaDropout,
    GaussianDropout,
    GaussianNoise,
    SpatialDropout1D,
    SpatialDropout2D,
    SpatialDropout3D,
)
from eigennet.layers.reshaping import Flatten, Permute, RepeatVector, Reshape
from eigennet.layers.rms_normalization import RMSNormalization
from eigennet.layers.rnn_cells import RNN, GRUCell, LSTMCell, SimpleRNNCell, StackedRNNCells
from eigennet.layers.text_vectorization import TextVectorization
from eigennet.layers.time_distributed import TimeDistributed
from eigennet.layers.unit_normalization import UnitNormalization
from eigennet.layers.upsampling import UpSampling1D, UpSampling2D, UpSampling3D

__all__ = [
    "AdaptiveAveragePooling1D",
    "AdaptiveAveragePooling2D",
    "AdaptiveAveragePooling3D",
    "AdaptiveMaxPooling1D",
    "AdaptiveMaxPooling2D",
    "AdaptiveMaxPooling3D",
    "Activation",
    "ActivityRegularization",
    "Add",
    "AdditiveAttention",
    "AlphaDropout",
    "Attention",
    "Average",
    "AveragePooling1D",
    "AveragePooling2D",
    "AveragePooling3D",
    "AvgPool1D",
    "AvgPool2D",
    "AvgPool3D",
    "BatchNormalization",
    "Bidirectional",
    "CenterCrop",
    "Concatenate",
    "Conv1D",
    "Conv1DTranspose",
    "Conv2D",
    "Conv2DTranspose",
    "Conv3D",
    "Conv3DTranspose",
    "Convolution1D",
    "Convolution1DTranspose",
    "Convolution2D",
    "Convolution2DTranspose",
    "Convolution3D",
    "Convolution3DTranspose",
    "DepthwiseConv1D",
    "DepthwiseConv2D",
    "RMSNormalization",
    "SeparableConv1D",
    "SeparableConv2D",
    "ConvLSTM1D",
    "ConvLSTM2D",
    "InputSpec",
    "SeparableConvolution1D",
    "SeparableConvolution2D",
    "Cropping1D",
    "Cropping2D",
    "Cropping3D",
    "Dense",
    "Dot",
    "Dropout",
    "ELU",
    "Embedding",
    "Flatten",
    "GRU",
    "GRUCell",
    "EinsumDense",
    "GroupNormalization",
    "GaussianDropout",
    "GaussianNoise",
    "GlobalAveragePooling1D",
    "GlobalAveragePooling2D",
    "GlobalAveragePooling3D",
    "GlobalAvgPool1D",
    "GlobalAvgPool2D",
    "GlobalAvgPool3D",
    "GlobalMaxPool1D",
    "GlobalMaxPool2D",
    "GlobalMaxPool3D",
    "GlobalMaxPooling1D",
    "GlobalMaxPooling2D",
    "GlobalMaxPooling3D",
    "Identity",
    "Input",
    "InputLayer",
    "LSTM",
    "LSTMCell",
    "Lambda",
    "Pipeline",
    "Masking",
    "Layer",
    "LayerNormalization",
    "LeakyReLU",
    "MaxPool1D",
    "MaxPool2D",
    "MaxPool3D",
    "MaxPooling1D",
    "MaxPooling2D",
    "MaxPooling3D",
    "Maximum",
    "Minimum",
    "MultiHeadAttention",
    "Multiply",
    "Normalization",
    "PReLU",
    "Permute",
    "RandomBrightness",
    "RandomGrayscale",
    "RandomInvert",
    "RandomColorDegeneration",
    "AutoContrast",
    "RandomColorJitter",
    "RandomHue",
    "RandomPosterization",
    "RandomSaturation",
    "RandomSharpness",
    "RandomShear",
    "Solarization",
    "RandomContrast",
    "RandomCrop",
    "RandomFlip",
    "RandomRotation",
    "RandomTranslation",
    "RandomZoom",
    "ReLU",
    "RNN",
    "RepeatVector",
    "Rescaling",
    "Reshape",
    "Resizing",
    "SimpleRNN",
    "SimpleRNNCell",
    "Softmax",
    "SpatialDropout1D",
    "SpatialDropout2D",
    "SpatialDropout3D",
    "StackedRNNCells",
    "Subtract",
    "TimeDistributed",
    "UnitNormalization",
    "UpSampling1D",
    "UpSampling2D",
    "UpSampling3D",
    "Variable",
    "ZeroPadding1D",
    "ZeroPadding2D",
    "ZeroPadding3D",
    "add",
    "average",
    "concatenate",
    "dot",
    "maximum",
    "minimum",
    "multiply",
    "subtract",
    "CategoryEncoding",
    "Discretization",
    "Hashing",
    "IntegerLookup",
    "StringLookup",
    "TextVectorization",
]

from eigennet._serialization_api import kind_functions as _kind_functions  # noqa: E402

serialize, deserialize = _kind_functions("layers")
__all__ += ["deserialize", "serialize"]
