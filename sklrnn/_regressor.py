"""Recurrent neural network regressor."""

import numpy as np
from sklearn.base import RegressorMixin
from sklearn.utils import check_array
from torch import nn

from ._base import _BaseRNN
from ._compat import _fit_context
from ._docs import (
    ARCHITECTURE_PARAMS,
    FEATURES_NOTES,
    FITTED_ATTRIBUTES,
    N_NETWORKS,
    RELIABILITY_NOTES,
    STANDARDIZATION_PARAMS,
    TRAINING_PARAMS,
)


class RNNRegressor(RegressorMixin, _BaseRNN):
    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y, sample_weight=None):
        """Train the network on sequences ``X`` with targets ``y``.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_timesteps) or \
(n_samples, n_timesteps, n_features), or list or pandas Series of arrays
            Training sequences. 2D input holds one feature per time step; a
            list or Series holds sequences of different lengths; trailing NaN
            marks padding.
        y : array-like of shape (n_samples,) or (n_samples, n_targets)
            Target values; 2D for several targets per sequence.
        sample_weight : array-like of shape (n_samples,), default=None
            Weight of each sequence in the loss.

        Returns
        -------
        self : RNNRegressor
            The fitted regressor.
        """
        return self._fit(X, y, sample_weight, incremental=self.warm_start)

    @_fit_context(prefer_skip_nested_validation=True)
    def partial_fit(self, X, y, sample_weight=None):
        """Train for one epoch, continuing from the current weights.

        Parameters
        ----------
        X : array-like or list of arrays
            Training sequences, as in :meth:`fit`.
        y : array-like of shape (n_samples,) or (n_samples, n_targets)
            Target values.
        sample_weight : array-like of shape (n_samples,), default=None
            Weight of each sequence in the loss.

        Returns
        -------
        self : RNNRegressor
            The updated regressor.
        """
        return self._partial_fit(X, y, sample_weight)

    def predict(self, X):
        """Predicted target of each sequence.

        Parameters
        ----------
        X : array-like or list of arrays
            Sequences, as in :meth:`fit`.

        Returns
        -------
        y_pred : ndarray of shape (n_samples,) or (n_samples, n_targets)
            Predictions, with the shape of the ``y`` passed to fit.
        """
        y = self._forward(X) * self._y_scale + self._y_mean
        return y.ravel() if self._y_1d else y

    # -- hooks of _BaseRNN ------------------------------------------------

    def _encode_target(self, y, *, reset, classes=None):
        if y is None:
            raise ValueError(
                f"{type(self).__name__} requires y to be passed, but the target y is None."
            )
        y = check_array(y, ensure_2d=False, dtype=np.float64, input_name="y")
        if y.ndim > 2:
            raise ValueError(f"y must be 1D or 2D, got an array of shape {y.shape}.")
        y2 = y.reshape(len(y), -1)
        if reset:
            # Train on standardized targets, so that the defaults work for
            # targets of any scale; predictions are mapped back.
            self._y_1d = y.ndim == 1
            self.n_outputs_ = y2.shape[1]
            with np.errstate(over="ignore"):
                mean, scale = y2.mean(axis=0), y2.std(axis=0)
            if not (np.isfinite(mean).all() and np.isfinite(scale).all()):
                raise ValueError(
                    f"y has values too large to standardize (|y| up to "
                    f"{np.abs(y2).max():.3g}; its variance overflows float64). "
                    "Rescale y, e.g. divide it by a constant, before fitting."
                )
            self._y_mean = mean
            self._y_scale = np.where(scale > 0, scale, 1.0)
        elif y2.shape[1] != self.n_outputs_:
            raise ValueError(
                f"y has {y2.shape[1]} targets, but {type(self).__name__} was fitted "
                f"with {self.n_outputs_}."
            )
        return ((y2 - self._y_mean) / self._y_scale).astype(np.float32)

    def _criterion(self):
        return nn.MSELoss

    def _n_outputs(self):
        return self.n_outputs_

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.target_tags.multi_output = True
        return tags


_N_NETWORKS = N_NETWORKS.format(average="outputs")

RNNRegressor.__doc__ = f"""Recurrent neural network regressor for sequences.

    A PyTorch recurrent network (Elman RNN, LSTM or GRU) behind a
    convolutional front end, trained through skorch to minimize the mean
    squared error, with every architecture choice a constructor parameter.
    Targets are standardized for training and mapped back for prediction;
    several targets per sequence (2D ``y``) are supported.

    Parameters
    ----------
    {ARCHITECTURE_PARAMS}

    {_N_NETWORKS}

    {STANDARDIZATION_PARAMS}

    {TRAINING_PARAMS}

    Attributes
    ----------
    n_outputs_ : int
        Number of targets.

    {FITTED_ATTRIBUTES}

    See Also
    --------
    RNNClassifier : The same network for classification.

    Notes
    -----
    {FEATURES_NOTES}

    {RELIABILITY_NOTES}

    Examples
    --------
    >>> import numpy as np
    >>> from sklrnn import RNNRegressor
    >>> rng = np.random.RandomState(0)
    >>> X = rng.normal(size=(80, 10))
    >>> y = X[:, -2:].sum(axis=1)
    >>> reg = RNNRegressor(hidden_size=16, max_epochs=50, random_state=0).fit(X, y)
    >>> reg.predict(X[:2]).shape
    (2,)
    >>> bool(reg.score(X, y) > 0.8)
    True
    """
