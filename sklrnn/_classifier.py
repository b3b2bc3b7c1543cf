"""Recurrent neural network classifier."""

import math
import warnings
from collections.abc import Mapping, Set, ValuesView
from contextlib import suppress

import numpy as np
import pandas as pd
from scipy.optimize import minimize_scalar
from scipy.special import log_softmax, softmax
from sklearn.base import ClassifierMixin
from sklearn.exceptions import DataConversionWarning
from sklearn.preprocessing import LabelEncoder
from sklearn.utils import assert_all_finite, column_or_1d
from sklearn.utils.class_weight import compute_sample_weight
from sklearn.utils.multiclass import check_classification_targets
from torch import nn

from ._base import _BaseRNN
from ._compat import StrOptions, _fit_context
from ._data import _caller_outside_sklrnn, _label_codes, _python
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
from ._ridge import _ridge
from ._training import SequenceClassifierNet

# Bounds of the factor that scales the closed-form head's scores, for two
# classes; with K classes both move up by log(K - 1), which keeps the
# probability of a class that stands out of the others by a given margin the
# same whatever K. The leave-one-out scores that choose the factor come from
# network features trained on the same series: optimistic on whole training
# splits (where they separate the classes, the log-loss falls without end as
# the factor grows), and pessimistic with two series per class (leaving one
# out halves its class). Chosen by held-out log-loss in CV on the training
# splits (docs/choosing_hyperparameters.rst).
_TEMPERATURE_RANGE = (2.0, 5.0)


class RNNClassifier(ClassifierMixin, _BaseRNN):
    _parameter_constraints = {
        **_BaseRNN._parameter_constraints,
        "class_weight": [dict, StrOptions({"balanced"}), None],
    }
    _stratify = True
    _net_class = SequenceClassifierNet
    _ensemble_average = "probabilities"
    _equal_batches = True
    # Chosen by cross-validation within the training splits (mean accuracy
    # 0.953 against 0.948; two series per class 0.900 against 0.898); the
    # shrunken weights also made a partial_fit after fit lose what it had
    # learned (GunPoint's training accuracy 1.00, then 0.52).
    _front_end_decay = False
    # With the closed-form head on the random kernels' features, 300 steps
    # scored as 500 in cross-validation, in 40% less time; the regressor
    # keeps 500 (docs/choosing_hyperparameters.rst).
    _auto_steps = 300

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
        class_weight=None,
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
        self.class_weight = class_weight

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y, sample_weight=None):
        """Train the network on sequences ``X`` with labels ``y``.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_timesteps) or \
(n_samples, n_timesteps, n_features), or list or pandas Series of arrays
            Training sequences. 2D input holds one feature per time step; a
            list or Series holds sequences of different lengths; trailing NaN
            marks padding.
        y : array-like of shape (n_samples,)
            Class labels: numbers, strings, bools, or dates and durations
            (datetime64, timedelta64).
        sample_weight : array-like of shape (n_samples,), default=None
            Weight of each sequence in the loss. A sequence of weight 0 takes
            no part in training, as if removed (its label still counts among
            ``classes_``); other weights scale the loss only (the data's
            statistics count each sequence once). Only their
            ratios matter: fit scales them to average 1. A weight at least
            1e12 times every other's leaves the head as training left it
            (its closed form needs two sequences of weight), with a warning.

        Returns
        -------
        self : RNNClassifier
            The fitted classifier.
        """
        return self._fit(X, y, sample_weight, incremental=self.warm_start)

    @_fit_context(prefer_skip_nested_validation=True)
    def partial_fit(self, X, y, classes=None, sample_weight=None):
        """Train for one epoch, continuing from the current weights.

        Parameters that shape the network (``hidden_size``, ``standardize``...)
        must be as fitted, or it raises a ``ValueError``; the others (``lr``,
        ``batch_size``, ``dropout``...) train as they are set now, at a
        constant learning rate. After ``fit``, whose schedule ends at a
        learning rate near 0 and whose head is solved in closed form, the
        calls train the network and that head further at ``lr`` (eight calls
        on the training data of ItalyPowerDemand or GunPoint keep their
        training accuracy at 1.00); to adapt a fitted model gently to new
        data, lower ``lr`` first.

        Parameters
        ----------
        X : array-like or list of arrays
            Training sequences, as in :meth:`fit`.
        y : array-like of shape (n_samples,)
            Class labels.
        classes : array-like of shape (n_classes,), default=None
            All labels that can appear in any call; required in the first
            call. Later calls may omit it, or pass the same labels.
        sample_weight : array-like of shape (n_samples,), default=None
            Weight of each sequence in the loss. A sequence of weight 0 takes
            no part in training, as if removed (its label still counts among
            the classes); other weights scale the loss only (the data's
            statistics count each sequence once). The last
            ``fit`` (or the first ``partial_fit``, without one) scaled its
            weights to average 1; later calls scale theirs by the same
            factor, so that weights compare across calls.

        Returns
        -------
        self : RNNClassifier
            The updated classifier.
        """
        if not hasattr(self, "net_") and classes is None:
            raise ValueError(
                "classes must be passed on the first call to partial_fit: the list "
                "of all labels the classifier will ever see."
            )
        if self.class_weight == "balanced":
            # As scikit-learn's SGDClassifier: one batch's class frequencies
            # are not the data's.
            raise ValueError(
                "class_weight='balanced' is not supported by partial_fit: the frequencies "
                "of the classes in one batch are not those of the data. Compute the "
                "weights over all the data with "
                "sklearn.utils.class_weight.compute_class_weight and pass them as "
                "class_weight={label: weight, ...}."
            )
        return self._partial_fit(X, y, sample_weight, classes=classes)

    def predict_proba(self, X):
        """Probability of each class for each sequence.

        Parameters
        ----------
        X : array-like or list of arrays
            Sequences, as in :meth:`fit`.

        Returns
        -------
        proba : ndarray of shape (n_samples, n_classes)
            Class probabilities, columns in the order of ``classes_``.

        Notes
        -----
        The user guide ("Predictive uncertainty") gives their measured
        calibration, and how :class:`~sklearn.calibration.CalibratedClassifierCV`
        changes it.
        """
        return softmax(self._forward(X), axis=1)

    def predict_log_proba(self, X):
        """Log of the probability of each class for each sequence.

        Parameters
        ----------
        X : array-like or list of arrays
            Sequences, as in :meth:`fit`.

        Returns
        -------
        log_proba : ndarray of shape (n_samples, n_classes)
            Log-probabilities, columns in the order of ``classes_``.
        """
        return log_softmax(self._forward(X), axis=1)

    def predict(self, X):
        """Most probable class of each sequence.

        Parameters
        ----------
        X : array-like or list of arrays
            Sequences, as in :meth:`fit`.

        Returns
        -------
        y_pred : ndarray of shape (n_samples,)
            Predicted labels, of the type of ``classes_``.
        """
        scores = self._forward(X)
        return self.classes_[scores.argmax(axis=1)]

    # -- hooks of _BaseRNN ------------------------------------------------

    def _encode_target(self, y, *, reset, classes=None):
        if isinstance(y, list | tuple):
            # As given: numpy would read [1, "a"] as two strings. (A list of
            # tuples is 2D: column_or_1d names its shape.)
            given = np.asarray(y, dtype=object)
            if given.ndim == 1:
                _check_kinds(given, "y", listed=True)
        if np.asarray(y).shape[1:] == (1,):  # (not np.ndim: an array-like may refuse it)
            # scikit-learn's warning, at the user's line (column_or_1d's
            # points inside sklrnn); check_supervised_y_2d looks for its first words.
            warnings.warn(
                "A column-vector y was passed when a 1d array was expected: its one "
                "column is read as the labels. Pass y.ravel() (shape (n_samples,)).",
                DataConversionWarning,
                stacklevel=_caller_outside_sklrnn(),
            )
        y = column_or_1d(y)
        # NaN and None, also among strings
        self._refuse_missing(np.flatnonzero(pd.isna(y)), len(y), "label")
        _check_labels(y, "y")
        if isinstance(classes, Set | Mapping | ValuesView):  # numpy reads it as one object
            raise TypeError(
                f"classes must be a 1D list of the labels, got a {type(classes).__name__}: "
                "pass list(classes)."
            )
        if classes is not None:
            # As given: numpy would read ["a", 1] as two strings.
            typed, given = classes, np.asarray(classes, dtype=object)
            classes = given
            if classes.ndim != 1:
                raise ValueError(
                    f"classes must be a 1D list of the labels, got an array of shape "
                    f"{classes.shape}."
                )
            if pd.isna(classes).any():
                raise ValueError(
                    f"classes contains NaN (a missing label): {classes.tolist()}. "
                    "Pass the labels of every class, none missing."
                )
            _check_kinds(classes, "classes")
            # Of the labels' own dtype; an array keeps its own (datetime64,
            # uint8, object: classes_ passed back after removing the rows
            # of weight 0).
            if isinstance(typed, np.ndarray):
                classes = typed
            elif getattr(getattr(typed, "dtype", None), "kind", None) in ("M", "m"):
                # pandas' dates and durations (Series.unique(), a DatetimeIndex):
                # numpy's, as y's; tolist() gives Timestamp objects.
                classes = np.asarray(typed)
            else:
                classes = np.asarray(classes.tolist())
            _check_labels(classes, "classes")
            if not reset and not np.array_equal(np.unique(classes), self.classes_):
                # As scikit-learn's partial_fit estimators: other classes later
                # would be ignored.
                raise ValueError(
                    f"classes={[_python(c) for c in given]} differs from the classes "
                    f"{type(self).__name__} was fitted with, {self.classes_.tolist()}. Pass "
                    "the same labels, or fit a new estimator to learn other classes."
                )
        if reset:
            encoder = LabelEncoder().fit(y if classes is None else classes)
            self.classes_ = encoder.classes_
            if len(self.classes_) < 2:
                # tolist: the plain label (0, 'a'), not numpy's repr (np.int64(0)).
                labels = self.classes_.tolist()
                found = f"only one class: {labels[0]!r}" if labels else "none"
                what = "the data contains" if classes is None else "partial_fit's classes hold"
                raise ValueError(
                    f"{type(self).__name__} needs samples of at least 2 classes, but "
                    f"{what} {found}."
                )
        codes, unseen = _label_codes(y, self.classes_)
        if unseen.size:
            # After a fit, warm_start and partial_fit continue its network.
            hint = (
                " warm_start=True and partial_fit continue the fitted network, whose "
                "classes are fixed: fit with warm_start=False to learn other classes."
                if not reset
                else ""
            )
            raise ValueError(
                f"y contains labels {_shown(unseen)} that are not in classes_ "
                f"{_shown(self.classes_)}.{hint}"
            )
        return codes.astype(np.int64)

    def _class_weights(self, target, counted):
        if self.class_weight is None:
            return 1.0
        weight = self.class_weight
        if isinstance(weight, dict):  # keys are labels; map them to encoded indices
            values = {k: _weight_value(v) for k, v in weight.items()}
            bad = {k: weight[k] for k, value in values.items() if value is None}
            if bad:
                raise ValueError(
                    f"class_weight has the weights {bad}; a class's weight must be a "
                    "finite number >= 0."
                )
            index = {label: i for i, label in enumerate(self.classes_.tolist())}
            keys = [_as_label(k, self.classes_.dtype) for k in weight]
            plain = dict(zip(keys, values.values(), strict=True))
            # Keys that are not classes are ignored where the dict names every
            # class (a cross-validation fold without a rare class), as in
            # scikit-learn; beside an unnamed class they are likely misspelt.
            unknown = [given for given, k in zip(weight, keys, strict=True) if k not in index]
            unnamed = [label for label in index if label not in plain]
            if unknown and unnamed:
                shown = _shown(self.classes_)
                raise ValueError(
                    f"class_weight has the keys {unknown}, which are not classes, and leaves "
                    f"out the classes {[shown[index[label]] for label in unnamed]}; the "
                    f"classes are {shown}. Name the classes as they are in y."
                )
            # Weight 1 for the classes it leaves out, also where this call's y
            # lacks some of the classes it names (partial_fit's batches).
            per_class = np.ones(len(self.classes_))
            for label, value in plain.items():
                if label in index:
                    per_class[index[label]] = value
            weights = per_class[target]
            if counted is not None and counted.any() and not (weights[counted] > 0).any():
                raise ValueError(
                    f"class_weight={self.class_weight!r} gives weight 0 to every class of the "
                    "sequences with a positive sample weight: at least one of those classes "
                    "needs a positive class weight."
                )
            return weights
        # "balanced": the classes' counts without the sequences removed
        return compute_sample_weight(weight, target, indices=np.flatnonzero(counted))

    def _criterion(self):
        return nn.CrossEntropyLoss

    def _constant_loss(self, dataset):
        # The same probability for every class, whatever the weights (they average 1).
        return float(np.log(len(self.classes_)))

    def _ridge_head(self, Z, target, weights, kernel_width, dropout_penalty):
        n_classes = len(self.classes_)
        Y = -np.ones((len(target), n_classes))
        Y[np.arange(len(target)), target] = 1.0
        coef, intercept, scores = _ridge(Z, Y, weights)
        if not np.isfinite(scores).all():
            return coef, intercept, None

        def loss(log_t):
            return -np.average(
                log_softmax(np.exp(log_t) * scores, axis=1)[np.arange(len(target)), target],
                weights=weights,
            )

        low, high = np.log(np.add(_TEMPERATURE_RANGE, np.log(n_classes - 1)))
        t = np.exp(minimize_scalar(loss, bounds=(low, high), method="bounded").x)
        return t * coef, t * intercept, None

    def _n_outputs(self):
        return len(self.classes_)


def _as_label(key, dtype):
    """A class_weight key as ``classes_`` of ``dtype`` lists its labels.

    Dates and durations of any kind (Timestamps, datetime64 of any unit, ISO
    text as a model file holds them) in ``dtype``'s unit, as ``tolist`` gives
    them (ints for nanoseconds, dates for days); other keys as Python values.
    """
    if dtype.kind in "Mm":
        with suppress(TypeError, ValueError):
            value = np.datetime64(key) if dtype.kind == "M" and isinstance(key, str) else key
            return np.array([value]).astype(dtype).tolist()[0]
    return _python(key)


def _shown(labels):
    """Labels as a message lists them: dates and durations as text (tolist
    gives nanoseconds as ints), others as their Python values."""
    return [str(v) for v in labels] if labels.dtype.kind in "Mm" else labels.tolist()


def _check_kinds(labels, name, listed=False):
    """Refuse an object array ``labels`` (``listed``: from a list) that mixes
    strings with other labels."""
    if labels.dtype != object:
        return
    if len({isinstance(label, str) for label in labels}) > 1:  # np.str_ is a str
        # scikit-learn's message would suggest a regression target.
        kinds = ", ".join(sorted({type(label).__name__ for label in labels}))
        fix = "y.astype(str)" if name == "y" and not listed else f"[str(c) for c in {name}]"
        raise ValueError(
            f"{name} mixes strings with other labels ({kinds}): labels must be all "
            f"strings or all numbers. Convert them, e.g. {fix}."
        )


def _weight_value(value):
    """A class weight as a float if it is a finite number >= 0 (not a bool or text), else None.

    Any number that ``float`` takes: ``Fraction(1, 3)``, ``10**20``,
    ``Decimal``, numpy's and torch's scalars, as scikit-learn takes them.
    """
    if isinstance(value, bool | np.bool_ | str | bytes) or np.ndim(value) != 0:
        return None
    try:
        value = float(value)
    except (TypeError, ValueError, OverflowError):
        return None
    return value if math.isfinite(value) and value >= 0 else None


def _check_labels(labels, name):
    """Refuse what cannot be class labels in 1D ``labels`` (y, or partial_fit's
    ``classes``), with a message naming ``name``."""
    assert_all_finite(labels, input_name=name)  # infinity
    _check_kinds(labels, name)
    try:
        if name == "y":
            check_classification_targets(labels)
        else:
            with warnings.catch_warnings():
                # Of a list of distinct labels, more than 20 always seemed
                # "more than 50% of the samples": a regression target.
                warnings.filterwarnings("ignore", "The number of unique classes", UserWarning)
                check_classification_targets(labels)
    except ValueError as exc:
        if labels.dtype == object and "unknown" in str(exc):
            # scikit-learn's message would suggest a regression target.
            kinds = ", ".join(sorted({type(label).__name__ for label in labels}))
            raise ValueError(  # scikit-learn's words, which its checks expect, first
                f"Unknown label type: {name} holds labels of type {kinds} as Python objects, "
                "which scikit-learn does not read as classes: convert them to numbers, "
                f"strings or dates first, e.g. np.asarray({name}, dtype=str), or "
                f"pd.to_datetime({name}) for timestamps, without a timezone: drop it with "
                ".tz_localize(None) (.dt.tz_localize(None) on a Series)."
            ) from exc
        if name == "y":
            raise
        raise ValueError(f"classes does not hold class labels: {exc}") from exc


_N_NETWORKS = N_NETWORKS.format(average="class probabilities")
_KERNEL_FEATURES = KERNEL_FEATURES.format(
    default="5040",
    classifier_head=(
        ", on targets of +1 for a sequence's class and -1 for the others; the "
        "scores are then scaled by the factor between 2 and 5 (both plus "
        "log(n_classes - 1)) that minimizes the log-loss of their leave-one-out "
        "values, so that ``predict_proba`` is fitted to held-out predictions"
    ),
    choice=(
        "In cross-validation on the development collection's training splits "
        "they raise the mean accuracy with two series per class from 0.861 "
        "to 0.905 (MiniRocket 0.887), and over whole splits from 0.949 to 0.957; "
        "on the code before, the previous default of 10,000 (9,996 features) "
        "scored as 5,040 did (0.895 against 0.898 with two series per class, "
        "0.950 against 0.949 over whole splits) at twice the memory and "
        "prediction time "
        "(see :ref:`choosing_hyperparameters`)."
    ),
)

RNNClassifier.__doc__ = f"""Recurrent neural network classifier for sequences.

    A PyTorch recurrent network (Elman RNN, LSTM or GRU) behind a
    convolutional front end, trained through skorch, with every architecture
    choice a constructor parameter, so that grid search, cross-validation,
    cloning and pickling work as for any scikit-learn classifier.

    Parameters
    ----------
    {ARCHITECTURE_PARAMS}

    {_KERNEL_FEATURES}

    {_N_NETWORKS}

    {STANDARDIZATION_PARAMS}

    {TRAINING_PARAMS}

    class_weight : dict, "balanced" or None, default=None
        Weights of the classes in the loss, as ``{{label: weight}}``;
        ``"balanced"`` weighs classes inversely to their frequency in the
        training data (not available to ``partial_fit``, whose batches do not
        show the classes' frequencies: pass the weights of
        :func:`~sklearn.utils.class_weight.compute_class_weight` as a dict).

    Attributes
    ----------
    classes_ : ndarray of shape (n_classes,)
        Class labels.

    {FITTED_ATTRIBUTES}

    See Also
    --------
    RNNRegressor : The same network for regression.

    Notes
    -----
    Inputs are sequences: a 2D array or DataFrame of shape
    ``(n_samples, n_timesteps)`` holds one feature per step, a 3D array is
    ``(n_samples, n_timesteps, n_features)``, and a list (or pandas Series)
    of arrays holds sequences of different lengths. Trailing NaN marks
    padding.

    {FEATURES_NOTES}

    {RELIABILITY_NOTES}

    Examples
    --------
    >>> import numpy as np
    >>> from sklrnn import RNNClassifier
    >>> rng = np.random.RandomState(0)
    >>> X = rng.normal(size=(60, 12))
    >>> y = np.where(X[:, -3:].sum(axis=1) > 0, "up", "down")
    >>> clf = RNNClassifier(hidden_size=16, max_epochs=30, random_state=0).fit(X, y)
    >>> clf.predict(X[:3]).tolist()
    ['up', 'up', 'down']
    >>> clf.predict_proba(X[:1]).shape
    (1, 2)
    """
