"""The layers and losses of ``symgrad.nn``, with PyTorch's names, arguments, initial
weights and ``repr``."""

from symgrad.nn.modules.activation import (
    ELU,
    GELU,
    Dropout,
    LeakyReLU,
    LogSoftmax,
    ReLU,
    Sigmoid,
    SiLU,
    Softmax,
    Tanh,
)
from symgrad.nn.modules.container import ModuleList, Sequential
from symgrad.nn.modules.conv import Conv1d, Conv2d
from symgrad.nn.modules.linear import Flatten, Identity, Linear
from symgrad.nn.modules.loss import BCELoss, CrossEntropyLoss, MSELoss, NLLLoss
from symgrad.nn.modules.module import Module
from symgrad.nn.modules.normalization import BatchNorm1d, BatchNorm2d, LayerNorm
from symgrad.nn.modules.pooling import AvgPool1d, AvgPool2d, MaxPool1d, MaxPool2d
from symgrad.nn.modules.sparse import Embedding
from symgrad.nn.parameter import Parameter

__all__ = [
    "ELU",
    "GELU",
    "AvgPool1d",
    "AvgPool2d",
    "BCELoss",
    "BatchNorm1d",
    "BatchNorm2d",
    "Conv1d",
    "Conv2d",
    "CrossEntropyLoss",
    "Dropout",
    "Embedding",
    "Flatten",
    "Identity",
    "LayerNorm",
    "LeakyReLU",
    "Linear",
    "LogSoftmax",
    "MSELoss",
    "MaxPool1d",
    "MaxPool2d",
    "Module",
    "ModuleList",
    "NLLLoss",
    "Parameter",
    "ReLU",
    "Sequential",
    "SiLU",
    "Sigmoid",
    "Softmax",
    "Tanh",
]
