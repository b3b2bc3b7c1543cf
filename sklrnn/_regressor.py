"""Recurrent neural network regressor."""

import warnings
from collections.abc import Mapping

import numpy as np
import pandas as pd
import torch
from sklearn.base import RegressorMixin
from sklearn.utils import check_array
from sklearn.utils.validation import check_is_fitted
from torch import nn

from ._base import _BaseRNN
from ._compat import _fit_context
from ._data import (
    _caller_outside_sklrnn,
    _check_bool,
    _is_temporal,
    column_moments,
    counted,
)
from ._docs import (
    ARCHITECTURE_PARAMS,
    FEATURES_NOTES,
    FITTED_ATTRIBUTES,
    KERNEL_FEATURES,
    N_NETWORKS,
    RELIABILITY_NOTES,
    STANDARDIZATION_PARAMS,
    TRAINING_PARAMS,
)
from ._module import networks_of
from ._ridge import _clearly_better, _ridge


class RNNRegressor(RegressorMixin, _BaseRNN):
    def __init__(
        self,
        cell_type="lstm",
        hidden_size=64,
        num_layers=1,
        bidirectional=True,
        dropout=0.2,
        readout="mean_last",
        *,
        readout_dropout=0.8,
        conv_channels=64,
        recurrent_steps=8,
        kernel_features=5040,
        n_networks=1,
        standardize=True,
        max_length=None,
        optimizer="adam",
        lr=1e-3,
        lr_schedule="cosine",
        weight_decay=0.01,
        batch_size=32,
        max_epochs="auto",
        early_stopping=False,
        validation_fraction=0.1,
        n_iter_no_change=20,
        clip_grad_norm=None,
        device="cpu",
        random_state=None,
        verbose=0,
        callbacks=None,
        warm_start=False,
        checkpoint=None,
    ):
        self.cell_type = cell_type
        self.hidden_size = hidden_size
        self.num_layers = num_layers
        self.bidirectional = bidirectional
        self.dropout = dropout
        self.readout = readout
        self.readout_dropout = readout_dropout
        self.conv_channels = conv_channels
        self.recurrent_steps = recurrent_steps
        self.kernel_features = kernel_features
        self.n_networks = n_networks
        self.standardize = standardize
        self.max_length = max_length
        self.optimizer = optimizer
        self.lr = lr
        self.lr_schedule = lr_schedule
        self.weight_decay = weight_decay
        self.batch_size = batch_size
        self.max_epochs = max_epochs
        self.early_stopping = early_stopping
        self.validation_fraction = validation_fraction
        self.n_iter_no_change = n_iter_no_change
        self.clip_grad_norm = clip_grad_norm
        self.device = device
        self.random_state = random_state
        self.verbose = verbose
        self.callbacks = callbacks
        self.warm_start = warm_start
        self.checkpoint = checkpoint

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y, sample_weight=None):
        """Train the network on sequences ``X`` with targets ``y``.

        With ``kernel_features`` (the default), the closed-form heads'
        leave-one-out residuals set ``noise_std_`` (of their predictions
        averaged over the networks, as the ensemble averages); with
        ``kernel_features=0``, training ends with one prediction pass over
        ``X``, whose residuals set it. A target constant in the training data
        is predicted as that constant, with a standard deviation of 0.

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
            Weight of each sequence in the loss. A sequence of weight 0 takes
            no part in training, as if removed; other weights scale the loss
            only (the data's statistics count each sequence once). Only their
            ratios matter: fit scales them to average 1. A weight at least
            1e12 times every other's leaves the head as training left it
            (its closed form needs two sequences of weight), with a warning.

        Returns
        -------
        self : RNNRegressor
            The fitted regressor.
        """
        return self._fit(X, y, sample_weight, incremental=self.warm_start)

    @_fit_context(prefer_skip_nested_validation=True)
    def partial_fit(self, X, y, sample_weight=None):
        """Train for one epoch, continuing from the current weights.

        It ends with one prediction pass over ``X`` that sets ``noise_std_``
        from the residuals on this data, as ``fit`` does without
        ``kernel_features``. With them, ``fit`` measures the closed-form
        heads' leave-one-out residuals instead: a call on the data of the fit
        then understates the noise, which the head was solved on (on 80
        training sequences with 168 features, 1.07 against the fit's 1.71;
        the 95% intervals covered 85% of test targets, against 96%), while a
        call on new data measures residuals on sequences the head has not
        seen. The first call (or ``fit``) sets the mean and scale by which y
        is standardized for every later call: make it with sequences whose
        targets differ (a constant y warns). A target constant in the data of
        ``fit`` stays predicted as that constant while the calls' targets
        keep its value, and trains once they differ. Parameters that shape
        the network (``hidden_size``, ``standardize``...) must be as fitted,
        or it raises a ``ValueError``; the others (``lr``, ``batch_size``,
        ``dropout``...) train as they are set now, at a constant learning rate.
        After ``fit``, whose schedule ends at a learning rate near 0 and whose
        head is solved in closed form, the calls train the network and that
        head further at ``lr``, which can undo a precise fit: on Tecator's
        training spectra the training RMSE went from 0.16 after ``fit`` to
        1.7, 6.4, 3.9 and 3.1 in four calls at the default ``lr``, and to
        0.97, 0.34, 0.47 and 0.42 at ``lr=1e-4``. To adapt a fitted model
        gently to new data, lower ``lr`` first.

        Parameters
        ----------
        X : array-like or list of arrays
            Training sequences, as in :meth:`fit`.
        y : array-like of shape (n_samples,) or (n_samples, n_targets)
            Target values.
        sample_weight : array-like of shape (n_samples,), default=None
            Weight of each sequence in the loss. A sequence of weight 0 takes
            no part in training, as if removed; other weights scale the loss
            only (the data's statistics count each sequence once). The last
            ``fit`` (or the first ``partial_fit``, without one) scaled its
            weights to average 1; later calls scale theirs by the same
            factor, so that weights compare across calls.

        Returns
        -------
        self : RNNRegressor
            The updated regressor.
        """
        return self._partial_fit(X, y, sample_weight)

    def predict(self, X, return_std=False):
        """Predicted target of each sequence, optionally with its standard deviation.

        Parameters
        ----------
        X : array-like or list of arrays
            Sequences, as in :meth:`fit`.
        return_std : bool, default=False
            Whether to also return the standard deviation of the predictive
            distribution, as :class:`~sklearn.linear_model.BayesianRidge`
            does: the square root of the sum of the variance due to the
            dropouts before the head (``dropout``, and ``readout_dropout``
            on the recurrent readout; exact, without sampling), the variance
            of the networks' outputs when ``n_networks > 1``, and
            ``noise_std_ ** 2``. See the user guide, "Predictive
            uncertainty", for its measured calibration.

        Returns
        -------
        y_pred : ndarray of shape (n_samples,) or (n_samples, n_targets)
            Predictions, with the shape of the ``y`` of the latest ``fit`` or
            ``partial_fit``.
        y_std : ndarray of the shape of ``y_pred``
            Standard deviation of each prediction, in the units of ``y``.
            Only returned when ``return_std=True``.
        """
        if not _check_bool(return_std, "return_std"):
            y = self._forward(X) * self._y_scale + self._y_mean
            return y.ravel() if self._y_1d else y
        noise = self._noise_std()
        out = self._forward(X, method="mean_and_variance")
        y = out[..., 0] * self._y_scale + self._y_mean
        # sqrt(variance * scale**2 + noise**2), factored so that no square
        # overflows for targets of a large scale.
        std = self._y_scale * np.sqrt(out[..., 1] + (noise / self._y_scale) ** 2)
        return (y.ravel(), std.ravel()) if self._y_1d else (y, std)

    def _prepare_training(self, *args, **kwargs):
        # Measured again at the end of training: a training call that is
        # interrupted leaves none, rather than the noise of the model before
        # it. A call refused in its set-up keeps it, with the rest of the fit.
        self.__dict__.pop("noise_std_", None)
        return super()._prepare_training(*args, **kwargs)

    def _after_training(self, dataset, first, full, noise):
        """Set ``noise_std_``; warn of a first partial_fit call on a constant target.

        The closed-form heads fit their training data closely: the noise
        comes from their leave-one-out residuals (``noise``) where they gave
        them, and else from the residuals of the trained network.
        """
        target = dataset.y.cpu().numpy()
        # A target constant in a fit's data (standardized to exactly 0) is
        # predicted as that constant, as the closed-form head predicts it:
        # trained, the network's output only came near 0 (errors of 0.01 in
        # y's own units, whose scale is 1, for a target of 2e-12). The
        # optimizer's moments of those rows go too, so that a partial_fit
        # whose target stays that constant leaves them at 0 (its gradient
        # is 0), where the moments moved them by 1e6 times a target of 1e-9.
        zero = torch.as_tensor(np.flatnonzero(~target.any(axis=0))) if full else ()
        if len(zero):
            state = self.net_.optimizer_.state
            with torch.no_grad():
                for network in networks_of(self.net_.module_):
                    for param in (network.head.weight, network.head.bias):
                        rows = zero.to(param.device)
                        param[rows] = 0.0
                        for moment in state.get(param, {}).values():
                            if moment.shape == param.shape:
                                moment[rows] = 0.0
        if noise is not None and np.isfinite(noise).all():
            self.noise_std_ = noise * self._y_scale
        else:
            self._measure_noise(dataset, target)
        constant = np.flatnonzero(np.ptp(target, axis=0) == 0)
        if first and not full and constant.size:
            which = f" in targets {constant.tolist()}" if target.shape[1] > 1 else ""
            warnings.warn(
                "The first partial_fit call sets the mean and scale by which "
                f"{type(self).__name__} standardizes y for every later call, but this "
                f"call's y is constant{which}: it trains in y's own units (scale 1), which "
                "suits targets whose spread is near 1 only. Make the first call with "
                "sequences whose targets differ.",
                UserWarning,
                stacklevel=_caller_outside_sklrnn(),
            )

    def _measure_noise(self, dataset, target):
        """Set ``noise_std_``: the weighted RMS of the residuals on the data
        training used (``target``, its standardized targets).

        Those sequences and weights, as training validated them: a sequence of
        weight 0 takes no part, as in training.
        """
        X3, lengths = dataset.X, dataset.lengths.numpy()
        chunk = self._prediction_chunk(max(int(np.prod(X3.shape[1:])), 1))
        predictions = np.concatenate(
            [
                self._forward_valid(X3[i : i + chunk].cpu().numpy(), lengths[i : i + chunk], i)
                for i in range(0, len(lengths), chunk)
            ]
        )
        squares = (target - predictions) ** 2
        weights = None if dataset.sample_weight is None else dataset.sample_weight.cpu().numpy()
        self.noise_std_ = np.sqrt(np.average(squares, axis=0, weights=weights)) * self._y_scale

    def _noise_std(self):
        check_is_fitted(self)
        if not hasattr(self, "noise_std_"):
            raise ValueError(
                f"predict(return_std=True) needs noise_std_, which {type(self).__name__} "
                "measures at the end of fit and partial_fit, but this model has none: "
                "its training was interrupted. Fit it again (or continue with warm_start=True)."
            )
        return self.noise_std_

    # -- hooks of _BaseRNN ------------------------------------------------

    def _encode_target(self, y, *, reset, classes=None):
        if isinstance(y, pd.DataFrame):
            dtypes = y.dtypes
        elif isinstance(getattr(y, "schema", None), Mapping):  # a polars DataFrame
            dtypes = y.schema.values()
        else:
            dtypes = [getattr(y, "dtype", None)]
        if any(_is_temporal(dtype) for dtype in dtypes):
            # check_array would read them as counts of nano- or microseconds
            # (polars') without a word.
            raise TypeError(
                "y holds dates or times, not numbers. Convert them to numbers first, e.g. "
                "to elapsed seconds, the same way for every fit."
            )
        if isinstance(y, pd.DataFrame) and y.columns.has_duplicates:
            # Read by position, but check_array refuses them without naming y.
            repeated = y.columns[y.columns.duplicated()].unique().tolist()
            raise ValueError(
                f"y has the column names {repeated} more than once, which scikit-learn's "
                "checks refuse. Rename them (the targets are read by position), or pass "
                "y.to_numpy()."
            )
        try:
            y = check_array(
                y,
                ensure_2d=False,
                allow_nd=True,
                dtype=np.float64,
                ensure_all_finite="allow-nan",
                input_name="y",
            )
        except OverflowError as exc:  # a Python int beyond float64
            raise ValueError(
                f"y holds a number beyond float64's range ({exc}). Rescale the targets first."
            ) from exc
        except TypeError as exc:
            if "float() argument" not in str(exc):  # sparse y: check_array's words
                raise
            # Objects float() does not take: dates, periods.
            raise TypeError(
                f"{type(self).__name__} needs numbers as targets, but y holds other objects "
                f"({exc}). Convert them to numbers first (dates or times, e.g. to elapsed "
                "seconds, the same way for every fit)."
            ) from exc
        except ValueError as exc:
            if str(exc).startswith("Complex data not supported"):  # which printed all of y
                raise ValueError(
                    "Complex data not supported: y holds complex numbers. Pass real targets, "
                    "e.g. the real and imaginary parts as two: np.column_stack([y.real, y.imag])."
                ) from None
            if "setting an array element with a sequence" in str(exc):  # numpy's words
                raise ValueError(
                    "y must hold one number, or one row of equally many numbers, per "
                    f"sequence, but its rows differ in length or hold arrays ({exc}). Pass "
                    "several targets per sequence as a 2D array, e.g. np.vstack(y)."
                ) from exc
            if "convert" not in str(exc):
                raise
            # numpy's "could not convert string to float" does not name y.
            raise ValueError(
                f"{type(self).__name__} needs numbers as targets, but y holds text ({exc}). "
                "Convert y to numbers, or use RNNClassifier for class labels."
            ) from exc
        if y.ndim > 2:
            raise ValueError(f"y must be 1D or 2D, got an array of shape {y.shape}.")
        y2 = y.reshape(len(y), -1)
        self._refuse_missing(np.flatnonzero(np.isnan(y2).any(axis=1)), len(y), "target")
        if reset:
            # Train on standardized targets, so that the defaults work for
            # targets of any scale; predictions are mapped back.
            self.n_outputs_ = y2.shape[1]
            # The spread of y at any scale: the variance of targets of a tiny
            # scale (1e-170) would underflow to 0.
            with np.errstate(over="ignore"):
                mean, scale = y2.mean(axis=0), column_moments(y2)[2]
                # A constant target's spread is rounding, relative to its size
                # (1e14 for y = 1e30): scale 1, as StandardScaler gives constant
                # features, and its mean the value itself, which the sum rounds.
                # Any other spread is the scale, however small against the
                # mean (1e10 + 1e-3 * signal: 1e-13 of it), unless it is below
                # float64's smallest number (subnormal targets such as 5e-324
                # and 0, whose spread rounds to 0): scale 1 there too.
                constant = np.ptp(y2, axis=0) == 0
                scale = np.where(constant | (scale == 0), 1.0, scale)
                mean = np.where(constant, y2[0], mean)
                square = scale**2  # predict's variances: it must not overflow
            if not (np.isfinite(mean).all() and np.isfinite(square).all()):
                raise ValueError(
                    f"y has values too large to standardize (|y| up to "
                    f"{np.abs(y2).max():.3g}; its variance overflows float64). "
                    "Rescale y, e.g. divide it by a constant, before fitting."
                )
            self._y_mean = mean
            self._y_scale = scale
        elif y2.shape[1] != self.n_outputs_:
            raise ValueError(
                f"y has {counted(y2.shape[1], 'target')} per sequence, "
                f"but {type(self).__name__} was fitted with {self.n_outputs_}. Pass y of the "
                "fitted width, or fit anew (warm_start=False) to change it."
            )
        with np.errstate(over="ignore"):
            target = ((y2 - self._y_mean) / self._y_scale).astype(np.float32)
        if not np.isfinite(target).all():
            raise ValueError(
                "y holds values too far from the training targets' mean for float32 once "
                f"standardized (|y - mean| / scale > {np.finfo(np.float32).max:.3g}), the "
                "precision the network computes in. Rescale y, e.g. divide it by a constant, "
                "the same way for every fit."
            )
        # Predictions take the shape of the latest training call's y, warm
        # starts and partial_fit included.
        self._y_1d = y.ndim == 1
        return target

    def _criterion(self):
        return nn.MSELoss

    def _constant_loss(self, dataset):
        # The weighted loss of the best constant prediction of the
        # standardized targets: 1 without weights, more where the weights
        # favour outlying targets. At least 1, the targets' variance: a
        # constant target's is 0, which any trained network exceeds.
        y = dataset.y.double().cpu().numpy().reshape(len(dataset), -1)
        w = dataset.sample_weight
        w = np.ones(len(y)) if w is None else w.double().cpu().numpy()
        centred = y - np.average(y, axis=0, weights=w)
        return max(1.0, float(np.mean(w @ centred**2) / len(y)))

    def _ridge_head(self, Z, target, weights, kernel_width, dropout_penalty):
        # The head on every feature, and on the network's features alone with
        # dropout's penalties: the first unless the second's leave-one-out
        # error is clearly lower. Forecasts from a window's last values
        # depend on the values at given steps, which the kernels' counts of
        # shapes anywhere dilute (docs/choosing_hyperparameters.rst).
        network = Z[:, kernel_width:].clone()  # _ridge overwrites Z
        coef, intercept, predictions = _ridge(Z, target, weights)
        alone = _ridge(network, target, weights, penalty=dropout_penalty)
        if _clearly_better(alone[2], predictions, target, weights):
            if self.verbose:
                print(
                    "The head reads the network's features alone: its leave-one-out error "
                    "is clearly lower without the random kernels' features."
                )
            coef = np.concatenate([np.zeros((len(coef), kernel_width)), alone[0]], axis=1)
            return coef, alone[1], alone[2]
        return coef, intercept, predictions

    def _n_outputs(self):
        return self.n_outputs_

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.target_tags.multi_output = True
        return tags


_N_NETWORKS = N_NETWORKS.format(average="outputs")
_KERNEL_FEATURES = KERNEL_FEATURES.format(
    default="5040",
    classifier_head="",
    choice=(
        "In 5-fold cross-validation within the training splits of the two "
        "regression sets of the development protocol (seeds 0-3), they lower "
        "Tecator's RMSE from 1.64 to 1.05 (lower in all 20 folds; "
        "MiniRocket 0.97) and leave Covid3Month's level (0.0399 against "
        "0.0402). They count shapes wherever they occur, and forecasts from "
        "windows of a series' last values depend on the values at given "
        "steps: ``fit`` also solves the head on the network's features alone, "
        "with the penalty that training's dropout puts on each, and keeps it "
        "where its leave-one-out error is lower by more than two standard "
        "errors (the Airline example's protocol with default settings: mean "
        "absolute error 24.2, against 28.5 for the head on every feature and "
        "24.8 with 0; see :ref:`choosing_hyperparameters`)."
    ),
)

RNNRegressor.__doc__ = f"""Recurrent neural network regressor for sequences.

    A PyTorch recurrent network (Elman RNN, LSTM or GRU) behind a
    convolutional front end, trained through skorch to minimize the mean
    squared error, with every architecture choice a constructor parameter.
    Targets are standardized for training and mapped back for prediction;
    several targets per sequence (2D ``y``) are supported.
    ``predict(X, return_std=True)`` also returns a predictive standard
    deviation, from the dropouts before the head, the spread of the networks
    of an ensemble and the residuals of the fit (leave-one-out, with the
    default random kernel features).

    Parameters
    ----------
    {ARCHITECTURE_PARAMS}

    {_KERNEL_FEATURES}

    {_N_NETWORKS}

    {STANDARDIZATION_PARAMS}

    {TRAINING_PARAMS}

    Attributes
    ----------
    n_outputs_ : int
        Number of targets.

    noise_std_ : ndarray of shape (`n_outputs_`,)
        Root mean square of the residuals of the latest ``fit`` or
        ``partial_fit``, weighted by ``sample_weight``: after ``fit`` with
        ``kernel_features`` (the default), the closed-form heads'
        leave-one-out residuals, averaged over the networks; otherwise those
        on the call's training data. In the units of ``y``: the
        noise part of the standard deviation that ``predict(X,
        return_std=True)`` returns. Leave-one-out refits the head only, on
        features of a network trained on every target, so this is too small
        where the network fits its training targets closely (see the user
        guide, "Predictive uncertainty"). Exact copies of training sequences
        make leave-one-out residuals, and so this, too small: pass their
        count as ``sample_weight`` instead. 0 for a target that is constant
        in training.

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
    >>> y_pred, y_std = reg.predict(X[:2], return_std=True)
    >>> bool((y_std > 0).all())
    True
    """
