"""scikit-learn's private helpers that sklrnn uses, imported in this one place.

They have no stability guarantee: a scikit-learn release that moves or changes
one of them breaks this module alone. The tested range of scikit-learn is
declared in ``pyproject.toml``.
"""

from sklearn.base import _fit_context
from sklearn.utils import _safe_indexing
from sklearn.utils._param_validation import (
    Interval,
    InvalidParameterError,
    StrOptions,
    validate_parameter_constraints,
    validate_params,
)
from sklearn.utils.validation import _check_sample_weight

__all__ = [
    "_fit_context",
    "_safe_indexing",
    "_check_sample_weight",
    "Interval",
    "InvalidParameterError",
    "StrOptions",
    "validate_params",
    "validate_parameter_constraints",
]
