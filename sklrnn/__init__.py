"""Recurrent neural networks as scikit-learn estimators, trained with skorch."""

from ._classifier import RNNClassifier
from ._data import pad_sequences
from ._module import RNNModule
from ._regressor import RNNRegressor

__version__ = "0.1.0"

__all__ = ["RNNClassifier", "RNNRegressor", "RNNModule", "pad_sequences", "__version__"]
