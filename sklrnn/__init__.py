"""Recurrent neural networks as scikit-learn estimators, trained with skorch."""

from ._classifier import RNNClassifier
from ._data import pad_sequences
from ._module import RNNModule
from ._regressor import RNNRegressor
from .preprocessing import SequenceScaler, WideToSequence, long_to_sequences, make_windows

__version__ = "0.1.0"

__all__ = [
    "RNNClassifier",
    "RNNRegressor",
    "RNNModule",
    "pad_sequences",
    "SequenceScaler",
    "WideToSequence",
    "long_to_sequences",
    "make_windows",
    "__version__",
]
