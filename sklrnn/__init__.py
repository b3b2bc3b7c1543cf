"""Recurrent neural networks as scikit-learn estimators, trained with skorch."""

from ._attributions import sequence_attributions
from ._base import InconsistentVersionWarning
from ._classifier import RNNClassifier
from ._data import pad_sequences
from ._module import RNNModule
from ._onnx import export_onnx
from ._persistence import load_model, save_model
from ._regressor import RNNRegressor
from .plotting import AttributionDisplay, LossCurveDisplay
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
    "InconsistentVersionWarning",
    "save_model",
    "load_model",
    "export_onnx",
    "LossCurveDisplay",
    "sequence_attributions",
    "AttributionDisplay",
    "__version__",
]
