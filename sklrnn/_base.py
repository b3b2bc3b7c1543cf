"""Shared machinery of RNNClassifier and RNNRegressor."""

import copy
import hashlib
import inspect
import itertools
import json
import os
import pickle
import threading
import time
import warnings
from contextlib import nullcontext
from numbers import Integral, Real

import numpy as np
import scipy.sparse as sp
import sklearn
import sklearn.exceptions
import torch
from sklearn.base import BaseEstimator, ClassNamePrefixFeaturesOutMixin, TransformerMixin
from sklearn.utils import check_random_state
from sklearn.utils.validation import check_consistent_length, check_is_fitted
from skorch.callbacks import BatchScoring, Callback, EpochScoring, LRScheduler

from ._archive import CYCLED, SET_BY_TRAINING
from ._compat import (
    Interval,
    InvalidParameterError,
    StrOptions,
    _check_sample_weight,
    _safe_indexing,
    validate_parameter_constraints,
)
from ._data import (
    CONSTANT_SPREAD,
    _caller_outside_sklrnn,
    _check_file_path,
    _is_ragged,
    _longest,
    _masked_as_missing,
    _python,
    _readable,
    _refuse_iterator,
    _reject_bool,
    check_frame_order,
    counted,
    long_table_hint,
    validate_sequences,
)
from ._module import (
    CELL_TYPES,
    READOUTS,
    RNNEnsemble,
    RNNModule,
    front_end_kernels,
    front_end_strides,
    kernel_dilations,
    networks_of,
)
from ._training import (
    OWN_CALLBACKS,
    PREDICT_BATCH_LIMIT,
    SKORCH_DEFAULT_CALLBACKS,
    EarlyStoppingIfValid,
    EpochCheckpoint,
    NetworkGradientClipping,
    ProgressBarIfSlow,
    SequenceDataset,
    SequenceNet,
    TrainingGuard,
    ValidationSplit,
    WarmupCosine,
    read_checkpoint,
    set_dropout_rng,
)

OPTIMIZERS = {
    "adam": torch.optim.Adam,
    "adamw": torch.optim.AdamW,
    "sgd": torch.optim.SGD,
    "rmsprop": torch.optim.RMSprop,
}

# Values (float32) converted at a time by predict on big inputs: 16 MB.
_PREDICT_CHUNK_VALUES = 1 << 22
# Sequence-steps of dummy sequences that predict adds to a last, partial batch
# at most, beyond as many as the batch holds (see _prediction_parts): about 4 ms
# of the default classifier's prediction on one CPU thread.
_TAIL_PADDING_STEPS = 512
# Training standard deviations from the training mean beyond which input is
# blamed for a non-finite output or a diverged continued fit.
_FAR_FROM_TRAINING = 1e3

# max_epochs="auto" aims at an estimator's _auto_steps gradient steps,
# between these epochs (benchmarks/accuracy.py, chosen by cross-validation
# on training splits).
_AUTO_MIN_EPOCHS, _AUTO_MAX_EPOCHS = 30, 300

# Parameters that do not change what a fit computes from its data, or only
# how long it runs: a checkpoint may be resumed with other values of them.
_RUN_PARAMS = {"checkpoint", "warm_start", "verbose", "callbacks", "device", "max_epochs"}

# Integer parameters, which may not be bools (scikit-learn's Interval(Integral)
# lets them through); _build_net converts those torch reads to int.
_SIZE_PARAMS = (
    "hidden_size",
    "num_layers",
    "conv_channels",
    "kernel_features",
    "recurrent_steps",
    "n_networks",
    "max_length",
    "batch_size",
    "max_epochs",
    "n_iter_no_change",
)


class InconsistentVersionWarning(sklearn.exceptions.InconsistentVersionWarning):
    """Warns that a model comes from other sklrnn, torch, skorch or scikit-learn versions.

    Emitted when a pickle, or a file written by :func:`save_model`, is loaded
    with other versions than those that wrote it. The estimator was
    restored, but may behave differently; refit it to be sure. It subclasses
    scikit-learn's ``InconsistentVersionWarning``, so that one filter covers
    both: ``warnings.simplefilter("error",
    sklearn.exceptions.InconsistentVersionWarning)`` makes either an error.

    Parameters
    ----------
    message : str
        What was loaded, with which versions.
    estimator_name : str
        Class name of the estimator.
    original_versions : dict
        Versions that wrote the model, by package name.
    current_versions : dict
        Versions installed, by package name.

    Attributes
    ----------
    original_sklearn_version, current_sklearn_version : str or None
        The scikit-learn versions, as scikit-learn's warning has them.

    Examples
    --------
    >>> import pickle, warnings
    >>> import numpy as np
    >>> from sklrnn import InconsistentVersionWarning, RNNRegressor
    >>> X, y = np.random.RandomState(0).normal(size=(20, 5)), np.arange(20.0)
    >>> reg = RNNRegressor(hidden_size=4, max_epochs=2).fit(X, y)
    >>> with warnings.catch_warnings():
    ...     warnings.simplefilter("error", InconsistentVersionWarning)
    ...     restored = pickle.loads(pickle.dumps(reg))  # same versions: no warning
    >>> restored.predict(X[:2]).shape
    (2,)
    """

    def __init__(self, message, *, estimator_name, original_versions, current_versions):
        super().__init__(
            estimator_name=estimator_name,
            current_sklearn_version=current_versions.get("scikit-learn"),
            original_sklearn_version=original_versions.get("scikit-learn"),
        )
        self.message = message
        self.original_versions = original_versions
        self.current_versions = current_versions

    def __str__(self):
        return self.message


def _versions():
    """Versions of the packages a saved estimator depends on.

    scikit-learn's included: ``BaseEstimator`` records and checks its own
    version only in pickles of scikit-learn's estimators.
    """
    import skorch

    from . import __version__

    return {
        "sklrnn": __version__,
        "torch": torch.__version__,
        "skorch": skorch.__version__,
        "scikit-learn": sklearn.__version__,
    }


def _changed_versions(saved, current):
    """Which of the ``current`` versions differ from the ``saved`` ones, as text ('' if none)."""
    differ = [
        f"{name} {saved.get(name, 'unknown')}"
        for name in current
        if str(saved.get(name)).split("+")[0] != current[name].split("+")[0]
    ]
    return ", ".join(differ)


class _BaseRNN(ClassNamePrefixFeaturesOutMixin, TransformerMixin, BaseEstimator):
    """Base class: parameters, validation, building and training the net.

    A fitted estimator is also a transformer: ``transform`` maps sequences to
    the vectors the network's head reads (its learned features).
    """

    _stratify = False
    # The skorch net that trains the module.
    _net_class = SequenceNet
    # How an ensemble's networks are combined (RNNEnsemble's average).
    _ensemble_average = "outputs"
    # Whether each training pass is split into batches of equal size
    # (BatchIterator's equal_sizes) instead of full ones and a remainder.
    _equal_batches = False
    # Gradient steps that max_epochs="auto" aims at.
    _auto_steps = 500
    # Whether weight decay also acts on the front end's convolutions. Batch
    # normalization follows each block's convolutions (a bottleneck and the
    # first block's, linear without bias between them, count as one), so
    # that their weights' scale does not change the function: decay only
    # shrinks them, which raises their effective learning rate (van
    # Laarhoven, 2017).
    _front_end_decay = True

    _parameter_constraints = {
        "cell_type": [StrOptions(set(CELL_TYPES))],
        "hidden_size": [Interval(Integral, 1, None, closed="left")],
        "num_layers": [Interval(Integral, 1, None, closed="left")],
        "bidirectional": ["boolean"],
        "dropout": [Interval(Real, 0, 1, closed="left")],
        "readout": [StrOptions(set(READOUTS))],
        "readout_dropout": [Interval(Real, 0, 1, closed="left")],
        "conv_channels": [Interval(Integral, 0, None, closed="left")],
        "kernel_features": [Interval(Integral, 0, None, closed="left")],
        "recurrent_steps": [Interval(Integral, 1, None, closed="left")],
        "n_networks": [Interval(Integral, 1, None, closed="left")],
        "standardize": ["boolean"],
        "max_length": [Interval(Integral, 1, None, closed="left"), None],
        "optimizer": [StrOptions(set(OPTIMIZERS)), type],
        "lr": [Interval(Real, 0, None, closed="neither")],
        "lr_schedule": [StrOptions({"cosine"}), None],
        "weight_decay": [Interval(Real, 0, None, closed="left")],
        "batch_size": [Interval(Integral, 1, None, closed="left")],
        "max_epochs": [Interval(Integral, 1, None, closed="left"), StrOptions({"auto"})],
        "early_stopping": ["boolean"],
        "validation_fraction": [Interval(Real, 0, 1, closed="neither")],
        "n_iter_no_change": [Interval(Integral, 1, None, closed="left")],
        "clip_grad_norm": [Interval(Real, 0, None, closed="neither"), None],
        "device": [str],
        "random_state": ["random_state"],
        "verbose": ["verbose"],
        "callbacks": [list, None],
        "warm_start": ["boolean"],
        "checkpoint": [str, os.PathLike, None],
    }

    # Each estimator declares its own __init__: its parameters and defaults.
    #
    # -- subclass hooks ---------------------------------------------------
    # _encode_target(y, reset, classes) -> target array for torch
    # _class_weights(target, counted) -> per-sample loss weights of the classes, or
    #     1.0; "balanced" counts the sequences where ``counted`` (positive weight),
    #     and at least one of them must keep a positive weight (``counted``
    #     None: the classes' weights, as save_model checks them)
    # _criterion() -> torch loss class (get_loss sets its reduction per batch)
    # _constant_loss(dataset) -> about the training loss of a constant prediction
    # _n_outputs() -> size of the module's output
    # _ridge_head(Z, target, weights, kernel_width, dropout_penalty) -> head
    #     coefficients and intercepts, and the leave-one-out predictions of the
    #     target (or None) for the noise estimate; Z's first kernel_width
    #     columns are the random kernels' features, dropout_penalty the
    #     penalty that training's dropout puts on each of the others
    # _after_training(dataset, first, full, noise) -> None: the last step
    #     of a training call that completed, on the data it trained on;
    #     noise is what _solve_heads returned (None where it gave none, or
    #     where no head was solved)

    def set_params(self, **params):
        """Set the estimator's parameters, as scikit-learn's ``set_params``.

        A nested name (``optimizer__momentum``, as skorch takes it) is refused
        with a message naming the way to get it: none of these parameters is
        an estimator with parameters of its own.

        Parameters
        ----------
        **params : dict
            Parameter names and their new values.

        Returns
        -------
        self : object
            The estimator.

        Examples
        --------
        >>> from sklrnn import RNNClassifier
        >>> RNNClassifier().set_params(cell_type="gru", hidden_size=16).hidden_size
        16
        """
        for key in params:
            name, nested, _ = key.partition("__")
            if nested and name in self._parameter_constraints:
                how = (
                    "For optimizer settings other than lr and weight_decay (momentum, betas), "
                    "pass a subclass of the torch optimizer that sets them, as the optimizer "
                    "parameter's description shows."
                    if name == "optimizer"
                    else f"Set {name} itself."
                )
                raise ValueError(
                    f"{type(self).__name__} has no parameter {key!r}: {name} takes no "
                    f"parameters of its own. {how}"
                )
        return super().set_params(**params)

    def _after_training(self, dataset, first, full, noise):
        pass

    def _refuse_missing(self, missing, n_samples, what):
        """Refuse ``y`` where it lacks a ``what`` ("label" or "target"): at ``missing``."""
        if missing.size:
            raise ValueError(
                f"Input y contains NaN (a missing {what}) at {missing.size} of {n_samples} "
                f"samples, first at sample {missing[0]}. {type(self).__name__} needs a {what} "
                "for every sequence: drop the unlabelled samples from X and y first."
            )

    def _partial_fit(self, X, y, sample_weight, classes=None):
        """One epoch on (X, y), without a validation split, from the current weights."""
        return self._fit(X, y, sample_weight, incremental=True, epochs=1, classes=classes)

    def _fit(self, X, y, sample_weight, *, incremental, epochs=None, classes=None):
        """Train on (X, y), step by step.

        ``epochs=None`` means a full fit: the epoch budget, with early stopping
        on a validation split when enabled, resuming ``checkpoint`` when
        ``warm_start``. Otherwise (``partial_fit``) train ``epochs`` epochs on
        all of X. ``incremental`` keeps a fitted net and its weights.
        """
        full = epochs is None
        first = not (incremental and hasattr(self, "net_"))
        if not (first or full):
            # scikit-learn validates no partial_fit of a fitted model, whose
            # parameters set_params may have changed since.
            self._check_params()
        # Read first: a malformed checkpoint fails before anything changes.
        checkpoint = self._read_checkpoint() if full and self.warm_start else None
        fitted = dict(vars(self))
        # A RandomState's state before this fit draws its seed from it.
        drawn = self.random_state if isinstance(self.random_state, np.random.RandomState) else None
        undrawn = drawn.get_state() if drawn is not None else None

        def restore():
            vars(self).clear()
            vars(self).update(fitted)

        def give_back():
            # Drawn again by the next fit, the same seed lets it resume this
            # one (the checkpoint's fingerprint reads the RandomState's state),
            # and a refused fit leaves the RandomState as it found it.
            if drawn is not None:
                drawn.set_state(undrawn)

        # A caller's inference mode would build inference tensors, which no
        # gradient reaches (torch failed inside backward, and a warm start kept
        # them, so that every later training call failed too).
        with torch.inference_mode(False):
            try:
                dataset, epochs, seed, generator, dropout_rng = self._set_up(
                    X, y, sample_weight, first, full, epochs, classes, checkpoint
                )
            except BaseException:
                # Setting up assigns attributes as it goes (classes_,
                # n_features_in_, net_...): a refused fit leaves the previous fit
                # whole, and a refused first fit nothing fitted.
                restore()
                give_back()
                raise
            try:
                interrupt = self._train(dataset, epochs, seed, generator, dropout_rng)
                self._check_training(interrupt, dataset, first)
                solved = full and self.kernel_features
                noise = self._solve_heads(dataset) if solved else None
                self._after_training(dataset, first, full, noise)
                if self.checkpoint is not None:  # the fit's end: the file is finished
                    dict(self.net_.callbacks_)["checkpoint"].finish(self.net_)
            except BaseException as exc:
                # A fit that failed in training (a callback's error, a network
                # that overflowed) leaves the previous fit too, which a new net
                # left untouched. A fit that continues the fitted net (warm_start,
                # partial_fit) keeps the epochs it completed, as after Ctrl-C.
                if first and isinstance(exc, Exception):
                    restore()
                give_back()
                raise
        return self

    def _set_up(self, X, y, sample_weight, first, full, epochs, classes, checkpoint):
        """Check the data, build or continue the net, and prepare the training data.

        Returns the dataset, the epochs to train, the fit's seed, the
        generator that shuffles its batches and the state dropout resumes
        from (see :meth:`_fit`).
        """
        data = self._validate_training_data(X, y, sample_weight, first, classes, first or full)
        auto = self._resolve_auto(lengths=data[1])
        seed = int(check_random_state(self.random_state).randint(np.iinfo(np.int32).max))
        if not (first or full):
            # Each partial_fit call its own batch order and dropout masks, as
            # each epoch of a fit has (an int random_state gives every call
            # the same seed): reproducible from the epochs done so far.
            seed = int(np.random.SeedSequence([seed, self.n_iter_]).generate_state(1)[0] >> 1)
        if first:
            _warn_if_a_few_sequences_set_the_strides(self, data[1], auto["strides"])
            self.strides_, self.kernel_sizes_ = auto["strides"], auto["kernel_sizes"]
            self.kernel_dilations_ = auto["kernel_dilations"]
            self.n_networks_ = auto["n_networks"]
            self.net_ = self._build_net(auto["device"])
            with _seeded_torch(seed, self.net_.device):
                _initialize(self.net_, self)
            statistics = _input_statistics(*data[:2], self.standardize)
            self.net_.module_.set_standardization(*statistics)
        elif full:
            self.net_ = self._warm_net(auto["device"], seed, "warm_start=True")
        elif not _same_params(self.net_.estimator_params_, self.get_params(deep=False)):
            # partial_fit continues the fitted net, rebuilt when a parameter
            # changed since it was built, so that it trains as get_params says.
            self.net_ = self._warm_net(auto["device"], seed, "partial_fit")
        if (
            not first
            and not np.isfinite(reach := _standardized_reach(self.net_.module_, data[0])).all()
        ):
            # The continued fit's statistics: training would diverge ("lower lr").
            raise ValueError(
                f"X holds values too large for float32 once standardized with the statistics "
                f"of the fit this call continues (first: sample {np.argmax(~np.isfinite(reach))}). "
                "Rescale X to the range of that fit's data, or start a new fit on it (fit with "
                "warm_start=False)."
            )
        epochs = auto["max_epochs"] if full else epochs
        dataset = self._prepare_training(data, seed, epochs, full, draw_kernels=first)
        # Shuffling draws from a generator of this fit alone, so that fits in
        # parallel threads stay reproducible.
        generator = torch.Generator().manual_seed(seed)
        epochs, dropout_rng = self._resume(checkpoint, data, dataset, epochs, first, generator)
        return dataset, epochs, seed, generator, dropout_rng

    @torch.no_grad()
    def _solve_heads(self, dataset, chunk=256):
        """Replace each network's head by a ridge solution on what it reads.

        A head stays as training left it where the solution is not finite, or
        fewer than 2 sequences have weight (leave-one-out needs 2). The last
        epoch of the history records ``head_solved=True`` when a head was
        replaced, unless no epoch completed
        (:class:`~sklrnn.plotting.LossCurveDisplay` says so). Returns
        the root mean square of the leave-one-out residuals of the solved
        heads, whose predictions are averaged over the networks as the
        ensemble averages its outputs (in the target's training units), or
        None where no head gives them. With ``verbose``, prints what it did.
        """
        start = time.perf_counter()
        module = self.net_.module_.eval()
        networks = networks_of(module)
        target = dataset.y.cpu().numpy()
        weights = None if dataset.sample_weight is None else dataset.sample_weight.cpu().numpy()
        # Sequences of weight 0 (or next to it) do not count, and would leave
        # their leave-one-out predictions undefined.
        keep = np.ones(len(target), bool) if weights is None else weights > 1e-12 * weights.max()
        if keep.sum() < 2 <= len(keep):
            # Silent, a weight 1e12 times the others' left the head as a
            # short training left it (predictions back near the mean).
            warnings.warn(
                "One sequence's sample weight is at least 1e12 times each other's (of the "
                f"{len(keep)} of nonzero weight), so the head is left as training left it: "
                "its closed-form solution needs 2 sequences of weight (leave-one-out). Give "
                "the others more weight, or bound the ratio of the weights.",
                UserWarning,
                stacklevel=_caller_outside_sklrnn(),
            )
        if keep.sum() < 2:
            if self.verbose:
                print(
                    "Head left as trained: fewer than 2 sequences have weight, and its "
                    "closed form needs 2 (leave-one-out)."
                )
            return None
        target, weights = target[keep], None if weights is None else weights[keep]
        cached = dataset.kernel_features.split([net.kernel_width for net in networks], dim=1)
        held_out, heads = [], []
        try:
            for network, kernel_features in zip(networks, cached, strict=True):
                head = self._solve_head(
                    network, dataset, kernel_features, keep, target, weights, chunk
                )
                if head is not None:
                    weight, bias, predictions = head
                    heads.append((network, weight, bias))
                    if predictions is not None:
                        held_out.append(predictions)
        except KeyboardInterrupt as exc:
            _add_note(
                exc,
                f"{type(self).__name__}: the closed-form solve of the head was interrupted; "
                "the heads are kept as training left them.",
            )
            raise
        # Replaced together, once every solution is known.
        for network, weight, bias in heads:
            network.head.weight.copy_(weight)
            network.head.bias.copy_(bias)
        solved = len(heads)
        if solved and len(self.net_.history):  # none where the first epoch diverged
            self.net_.history.record("head_solved", True)
        if self.verbose:
            which = "" if solved == len(networks) else f" for {solved} of {len(networks)} networks"
            print(
                f"Head solved in closed form (ridge regression, penalty by leave-one-out){which} "
                f"in {time.perf_counter() - start:.2f} s."
                if solved
                else "Head left as trained: its closed-form solution is not finite."
            )
            if solved and solved < len(networks):
                print("The others' solutions were not finite: they keep their training.")
        if not held_out:
            return None
        residuals = target - np.mean(held_out, axis=0)
        return np.sqrt(np.average(residuals**2, axis=0, weights=weights))

    def _solve_head(self, network, dataset, kernel_features, keep, target, weights, chunk):
        """The ridge solution for ``network``'s head (see :meth:`_solve_heads`): its
        weight, bias and leave-one-out predictions (or None), or None where not finite."""
        # Written straight into one float64 array: no float32 copy besides.
        H = kernel_features.new_empty(len(dataset), network.embedding_size, dtype=torch.float64)
        for i in range(0, len(dataset), chunk):
            H[i : i + chunk] = network.embed(
                dataset.X[i : i + chunk],
                dataset.lengths[i : i + chunk],
                kernel_features[i : i + chunk],
            )
        if not keep.all():
            H = H[torch.as_tensor(keep, device=H.device)]
        mean, scale = H.mean(dim=0), H.std(dim=0, correction=0)
        scale[scale < 1e-12] = 1.0
        # Dropout that keeps feature j with probability q and scales it
        # by 1 / q adds (1 - q) / q * sum_i w_i h_ij**2 * b_j**2 to the
        # expected squared error of head weight b_j: a ridge penalty per
        # feature (Wager, Wang and Liang, 2013), here in the units of the
        # standardized features. The kernels' features skip dropout.
        width = network.kernel_width
        w = H.new_ones(len(H)) if weights is None else torch.as_tensor(weights).to(H)
        kept = network.keep_probabilities()[width:].to(H)
        moments = w @ H[:, width:].square() / scale[width:].square()
        coef, intercept, predictions = self._ridge_head(
            H.sub_(mean).div_(scale), target, weights, width, (1 - kept) / kept * moments
        )
        if not (np.isfinite(coef).all() and np.isfinite(intercept).all()):
            return None
        mean, scale = mean.cpu().numpy(), scale.cpu().numpy()
        weight = torch.as_tensor(coef / scale)
        return weight, torch.as_tensor(intercept - (coef / scale) @ mean), predictions

    def _validate_training_data(self, X, y, sample_weight, reset, classes, rescale):
        """Sequences, lengths, encoded targets and loss weights, checked.

        With ``rescale`` (every fit, and a first partial_fit), the loss weights
        are divided by their mean, kept as ``_weight_mean``; later
        partial_fit calls divide theirs by the same mean, so that weights and
        class weights compare across calls (a stream whose calls hold one
        class each, and a class weight of 100 for one of them).
        """
        X3, lengths = validate_sequences(self, X, reset=reset, max_length=self.max_length)
        _refuse_iterator(y, "y")
        _refuse_iterator(sample_weight, "sample_weight")  # float() failed on it, naming neither
        y, sample_weight = (
            _masked_as_missing(_readable(values, name))
            for values, name in ((y, "y"), (sample_weight, "sample_weight"))
        )
        if y is None:  # scikit-learn's words, which its checks expect
            raise ValueError(
                f"{type(self).__name__} requires y to be passed, but the target y is None."
            )
        try:  # before encoding y, whose errors would be less clear
            check_consistent_length(X3, y)
        except ValueError as exc:
            hint = long_table_hint(X)
            if not hint:
                raise
            raise ValueError(f"{exc}.{hint}") from exc
        target = self._encode_target(y, reset=reset, classes=classes)
        weights = self._training_weights(sample_weight, X3, target)
        keep = weights > 0
        if not keep.all():
            # A weight of 0 is the sequence removed, as scikit-learn has it
            # (bagging passes its bootstrap counts as weights): it takes no
            # part in training, not even in the input's or the target's
            # statistics, the random kernels or batch normalization. The
            # classifier keeps the classes of every label in y.
            rows = np.flatnonzero(keep)
            X3, lengths, weights = X3[rows], lengths[rows], weights[rows]
            known = getattr(self, "classes_", None) if reset else classes
            target = self._encode_target(_safe_indexing(y, rows), reset=reset, classes=known)
        with np.errstate(over="ignore", under="ignore"):
            if rescale:
                # Through the largest, so that neither huge (1e308) nor
                # subnormal (1e-320) weights overflow or round.
                top = weights.max()
                relative = weights / top
                mean = np.mean(relative)
                self._weight_mean = top * mean
                weights = relative / mean  # equal weights stay exactly 1
            else:
                weights = weights / self._weight_mean
            # The loss takes them in float32.
            single = weights.astype(np.float32)
        # Some weights may round to 0 (AdaBoost's, over many rounds), not all.
        if not (np.isfinite(single).all() and single.max() > 0):
            raise ValueError(
                f"The sample weights run from {weights.min():.3g} to {weights.max():.3g} "
                f"times the mean weight ({self._weight_mean:.3g}) of the last fit (or first "
                "partial_fit), beyond float32's range (about 1e-38 to 3e38): give every call "
                "weights of one scale."
            )
        return X3, lengths, target, weights

    def _resolve_auto(self, lengths=None):
        """The values of the parameters that depend on the machine or the data.

        Returns a dict: ``device``, where "auto" is "cuda" when CUDA is
        available and "cpu" otherwise (other values are checked). Given the
        ``lengths`` of the training sequences, also ``max_epochs``, where
        "auto" aims at ``_auto_steps`` gradient steps within
        ``[_AUTO_MIN_EPOCHS, _AUTO_MAX_EPOCHS]`` epochs; ``strides``, the
        front end's, which leave at most ``recurrent_steps`` recurrent steps
        for the longest sequence; ``kernel_sizes``, those of its first block
        that fit the longest sequence; ``kernel_dilations``, the random
        kernels', which span it; and ``n_networks``, as an int.
        """
        device = self.device
        if device == "auto":
            device = "cuda" if torch.cuda.is_available() else "cpu"
        elif not device_exists(device):
            cuda = (
                f"{torch.cuda.device_count()} CUDA device(s)"
                if torch.cuda.is_available()
                else "CUDA is not available"
            )
            if torch.device(device).type != "cuda":
                cuda = f"sklrnn runs on the CPU and on CUDA devices only; {cuda}"
            raise ValueError(
                f"device={device!r} was requested but is not available on this machine "
                f"({cuda}); use device='cpu' or device='auto'."
            )
        elif torch.device(device).type == "cpu":
            # torch cannot unpickle storages tagged "cpu:0"; there is one CPU.
            device = "cpu"
        if lengths is None:
            return {"device": device}
        max_epochs = self.max_epochs
        if max_epochs == "auto":
            n_batches = self._training_batches(len(lengths), self.early_stopping)
            max_epochs = int(
                np.clip(-(-self._auto_steps // n_batches), _AUTO_MIN_EPOCHS, _AUTO_MAX_EPOCHS)
            )
        longest = int(lengths.max())
        strides = front_end_strides(longest, self.recurrent_steps)
        return {
            "device": device,
            "max_epochs": max_epochs,
            "strides": strides,
            "kernel_sizes": front_end_kernels(longest, strides[0], self.conv_channels),
            "kernel_dilations": (
                kernel_dilations(longest, self.kernel_features) if self.kernel_features else ()
            ),
            "n_networks": int(self.n_networks),
        }

    def _check_params(self):
        """Check the parameters: scikit-learn's constraints, and what they leave open.

        The constraints are checked here too for the calls scikit-learn does
        not check them for: ``partial_fit`` on a fitted model, whose
        parameters ``set_params`` may have changed since, and ``save_model``.
        Sizes are integers but not bools; ``device`` names a torch device; an
        optimizer class is a ``torch.optim.Optimizer`` whose constructor takes
        ``lr`` and ``weight_decay``; callbacks are skorch callbacks; a
        checkpoint path names a file in an existing folder.
        """
        validate_parameter_constraints(
            self._parameter_constraints, self.get_params(deep=False), type(self).__name__
        )
        if self.device != "auto":
            device_exists(self.device)  # a ValueError for a string that names none
        for name in _SIZE_PARAMS:
            _reject_bool(getattr(self, name), name, type(self).__name__)
        optimizer = self.optimizer
        if isinstance(optimizer, type):
            if not (
                issubclass(optimizer, torch.optim.Optimizer)
                and {"lr", "weight_decay"} <= set(inspect.signature(optimizer).parameters)
            ):
                raise TypeError(
                    f"optimizer must be one of {sorted(OPTIMIZERS)} or a torch.optim.Optimizer "
                    f"subclass whose constructor takes lr and weight_decay, got "
                    f"{optimizer.__name__}."
                )
        for item in self.callbacks or []:
            named = isinstance(item, tuple) and len(item) == 2
            callback = item[1] if named else item
            kind = callback if isinstance(callback, type) else type(callback)
            if not issubclass(kind, Callback):
                raise TypeError(
                    "callbacks must be a list of skorch callbacks (skorch.callbacks.Callback "
                    f"instances) or (name, callback) pairs, got {item!r}."
                )
            if named and item[0] in OWN_CALLBACKS:
                raise ValueError(
                    f"callbacks holds one named {item[0]!r}, the name of sklrnn's own "
                    f"callback for {OWN_CALLBACKS[item[0]]}: give yours another name."
                )
            if named and item[0] in SKORCH_DEFAULT_CALLBACKS:
                raise ValueError(
                    f"callbacks holds one named {item[0]!r}, the name of one of skorch's "
                    "default callbacks, which skorch refuses as a duplicate: give yours "
                    "another name."
                )
            if isinstance(callback, EpochScoring) and not callback.use_caching:
                # skorch then scores the data without its targets (y=None):
                # they are in sklrnn's own dataset, which it does not read.
                scoring = getattr(callback.scoring, "__name__", callback.scoring)
                which = repr(item[0]) if named else f"scoring={scoring!r}"
                raise ValueError(
                    f"callbacks holds an EpochScoring with use_caching=False ({which}), which "
                    "sklrnn's nets cannot serve: skorch would score their data without its "
                    "targets. Leave use_caching=True, skorch's default."
                )
            if issubclass(kind, LRScheduler) and self.lr_schedule is not None:
                # The schedule sets the learning rate of every batch: it would
                # override the scheduler's without a word.
                raise ValueError(
                    f"callbacks holds a learning-rate scheduler ({kind.__name__}), and "
                    f"lr_schedule={self.lr_schedule!r} sets the learning rate of every batch, "
                    "which would override it. Set lr_schedule=None to schedule with yours."
                )
        if self.checkpoint is not None:
            _check_file_path(self.checkpoint, "checkpoint", "fit.ckpt")

    def _build_net(self, device):
        """The skorch net the parameters and fitted attributes describe, not initialized."""
        self._check_params()
        # First of sklrnn's, so that it checks each epoch before they and the
        # user's callbacks act on it (skorch's defaults run before it).
        callbacks = [("training_guard", TrainingGuard())]
        if self.clip_grad_norm is not None:
            callbacks.append(("clip_grad_norm", NetworkGradientClipping(self.clip_grad_norm)))
        if self.early_stopping:
            callbacks.append(
                (
                    "early_stopping",
                    EarlyStoppingIfValid(
                        monitor="valid_loss",
                        patience=self.n_iter_no_change,
                        threshold=1e-4,  # relative: as documented in early_stopping
                        threshold_mode="rel",
                        load_best=True,
                        sink=print if self.verbose else _silent,
                    ),
                )
            )
        if self.verbose >= 2:
            # A per-batch progress bar for long epochs; PrintLog (skorch's
            # default, active when verbose > 0) still prints the epoch table.
            callbacks.append(("progress_bar", ProgressBarIfSlow()))
        if self.lr_schedule == "cosine":
            callbacks.append(("lr_schedule", WarmupCosine()))
        # The user's callbacks see the weights early stopping restores at the
        # end, and the checkpoint, last, what every callback did: early
        # stopping's counters, the user's scores in the history, the best
        # weights an EarlyStopping of theirs restores.
        callbacks.extend(self.callbacks or [])
        if self.checkpoint is not None:
            callbacks.append(("checkpoint", EpochCheckpoint(self.checkpoint)))
        module = {"module": RNNModule}
        if self.n_networks_ > 1:
            module = {
                "module": RNNEnsemble,
                "module__n_networks": self.n_networks_,
                "module__average": self._ensemble_average,
            }
        # Adam and AdamW get torch's fused kernel, one pass over all tensors:
        # their default for-loop update runs several small ops per parameter
        # tensor, which on the CPU costs more than the update's arithmetic.
        options = {"optimizer__fused": True} if self.optimizer in ("adam", "adamw") else {}
        if not self._front_end_decay:
            options["optimizer__param_groups"] = [("*front_end.convs.*", {"weight_decay": 0.0})]
        net = self._net_class(
            **module,
            module__n_features=self._n_channels,
            module__n_outputs=self._n_outputs(),
            module__cell_type=self.cell_type,
            module__hidden_size=int(self.hidden_size),
            module__num_layers=int(self.num_layers),
            module__bidirectional=self.bidirectional,
            module__dropout=self.dropout,
            module__readout=self.readout,
            module__readout_dropout=self.readout_dropout,
            module__conv_channels=int(self.conv_channels),
            module__strides=self.strides_,
            module__kernel_sizes=self.kernel_sizes_,
            module__kernel_dilations=self.kernel_dilations_,
            module__standardize=self.standardize,
            criterion=self._criterion(),
            criterion__reduction="mean",
            optimizer=OPTIMIZERS.get(self.optimizer, self.optimizer),
            optimizer__weight_decay=self.weight_decay,
            **options,
            lr=self.lr,
            batch_size=int(self.batch_size),
            iterator_train__equal_sizes=self._equal_batches,
            max_epochs=1,
            train_split=None,
            callbacks=callbacks,
            device=device,
            verbose=self.verbose,
        )
        # The parameters it was built from: partial_fit continues this net
        # only while they stay the same.
        # (Lists and dicts copied: one edited in place is a change too.)
        net.estimator_params_ = {
            key: copy.copy(value) if isinstance(value, list | dict) else value
            for key, value in self.get_params(deep=False).items()
        }
        return net

    def _warm_net(self, device, seed, how):
        """The net of a warm start or ``partial_fit``: built from the current
        parameters, so that a changed training parameter (``lr``,
        ``lr_schedule``, ``early_stopping``, ``callbacks``...) takes effect,
        holding the fitted net's weights, history and, for the same
        optimizer, its state. ``how`` names the caller in errors."""
        fitted = self.net_
        net = self._build_net(device)
        self._check_same_network(net, how)
        with _seeded_torch(seed, net.device):
            net.initialize()
        net.module_.load_state_dict(fitted.module_.state_dict())
        # Parameters a callback froze (skorch's Freezer, in the first epoch
        # only) stay frozen, as in the fitted module.
        for new, old in zip(net.module_.parameters(), fitted.module_.parameters(), strict=True):
            new.requires_grad_(old.requires_grad)
        if type(net.optimizer_) is type(fitted.optimizer_):
            # The fitted state, with each group's lr and weight decay as the
            # current parameters set them, and the momentum or betas that a
            # scheduler cycled (CyclicLR left SGD at momentum 0.85) as built.
            groups = net.optimizer_.param_groups
            settings = (*SET_BY_TRAINING, *CYCLED)
            built = [{key: group[key] for key in settings if key in group} for group in groups]
            net.optimizer_.load_state_dict(fitted.optimizer_.state_dict())
            for group, settings in zip(net.optimizer_.param_groups, built, strict=True):
                group.update(settings)
        net.history = fitted.history
        return net

    def _check_same_network(self, net, how):
        """Refuse parameters that shape ``net`` (built from them) otherwise than the fitted net."""
        changed = self._network_changes(net)
        if changed:
            raise ValueError(
                f"{how} continues the fitted network of {type(self).__name__}, but "
                f"parameters that shape it changed: {', '.join(changed)}. Set them back, "
                "or fit with warm_start=False to start over."
            )

    def _network_changes(self, net, dropout=False):
        """How the parameters that ``net`` was built from would shape the module
        otherwise than the fitted net's: ``"name from old to new"`` each. The
        dropout rates, which the next training call may change, count only
        with ``dropout`` (the dropout variance of ``predict(return_std=True)``
        reads them)."""
        old, new = self.net_.get_params(), net.get_params()
        rates = () if dropout else ("module__dropout", "module__readout_dropout")
        changed = [
            f"{key[8:]} from {old[key]!r} to {new[key]!r}"
            for key in new
            if key.startswith("module__") and key not in rates and old.get(key) != new[key]
        ]
        return changed + self._fitted_attribute_changes()

    def _fitted_attribute_changes(self):
        """The parameters that disagree with the fitted attributes a net is built
        from (``n_networks_``, ``kernel_dilations_``), as in :meth:`_network_changes`."""
        changed = []
        if self.n_networks != self.n_networks_:  # the net is built with n_networks_
            changed.append(f"n_networks from {self.n_networks_} to {self.n_networks}")
        # The random kernels are built from kernel_dilations_: their number of
        # biases per kernel must be the one kernel_features asks for.
        wanted = kernel_dilations(1, self.kernel_features) if self.kernel_features else ()
        if _biases_per_kernel(wanted) != _biases_per_kernel(self.kernel_dilations_):
            changed.append(f"kernel_features (now {self.kernel_features})")
        return changed

    def _refuse_validation_monitors(self, full):
        """Refuse callbacks that monitor or record a validation score, for a
        training call that holds out none (``full``: a fit)."""
        for item in self.callbacks or []:
            callback = item[1] if isinstance(item, tuple) and len(item) == 2 else item
            monitor = _validation_monitor(callback)
            if monitor is None:
                continue
            # skorch's KeyError at the first epoch's end ("Key 'valid_loss' was
            # not found in history"); a scoring callback recorded nothing.
            name = (callback if isinstance(callback, type) else type(callback)).__name__
            scoring = isinstance(callback, _SCORING)
            if not full:
                why = "partial_fit trains on all the data. Instead,"
            elif not self.early_stopping:
                why = (
                    "fit holds out validation data only with early_stopping=True. Set "
                    "early_stopping=True, or"
                )
            else:
                why = "a single sequence holds out none. Fit on more data, or"
            fix = (
                "score the training data (on_train=True)"
                if scoring
                else "monitor a training score such as 'train_loss' ('train_loss_best' for a "
                "Checkpoint)"
            )
            raise ValueError(
                f"callbacks holds {name}, a callback that {'records' if scoring else 'monitors'} "
                f"{monitor!r}, a score of the validation split, but this training call holds "
                f"none out: {why} {fix}."
            )

    def _training_batches(self, n, split):
        """Training batches in an epoch over ``n`` sequences, less the validation
        split's where ``split`` (none where it would leave either side empty)."""
        if split:
            n -= ValidationSplit.size(n, self.validation_fraction)
        return -(-max(n, 1) // self.batch_size)

    def _prepare_training(self, data, seed, epochs, full, draw_kernels):
        """The dataset of a training call; set the net's validation split and schedule.

        A full fit holds out a validation fraction when ``early_stopping``,
        and its learning-rate schedule spans its ``epochs``; ``partial_fit``
        trains on all the data at the constant ``lr``. The dataset carries
        the random kernels' features of its sequences, computed once; with
        ``draw_kernels``, the kernels are first drawn from them.
        """
        self.net_.train_split = None
        if full and self.early_stopping:
            self.net_.train_split = ValidationSplit(
                self.validation_fraction, stratified=self._stratify, random_state=seed
            )
        n_valid = ValidationSplit.size(len(data[0]), self.validation_fraction)
        if not (full and self.early_stopping and n_valid):
            self._refuse_validation_monitors(full)
        if self.lr_schedule == "cosine":
            split = full and self.early_stopping
            steps = epochs * self._training_batches(len(data[0]), split) if full else None
            # On the callback itself: the net's set_params would initialize
            # every callback again, and partial_fit continues theirs.
            dict(self.net_.callbacks_)["lr_schedule"].set_params(total_steps=steps)
        dataset = SequenceDataset(*data, device=self.net_.device)
        module = self.net_.module_
        start = time.perf_counter()
        if self.kernel_features:
            dataset.cache_kernel_features(module, seed if draw_kernels else None)
        if self.kernel_features and self.verbose:  # before the epochs' table
            print(
                f"Random kernel features: {dataset.kernel_features.shape[1]:,} of each of "
                f"{len(dataset):,} sequences in {time.perf_counter() - start:.2f} s."
            )
        return dataset

    def _train(self, dataset, epochs, seed, generator, dropout_rng):
        """Train the net for ``epochs`` epochs; return the interrupt that ended it, if any.

        ``generator`` shuffles the batches; ``dropout_rng`` is the state that
        dropout's generator continues from when resuming a fit.
        """
        # Dropout draws from torch's global generator: only then does training
        # hold the process-wide seeding lock.
        dropout = self.dropout > 0 or self.readout_dropout > 0
        with _seeded_torch(seed, self.net_.device) if dropout else nullcontext():
            if dropout_rng is not None and dropout:
                # Where the interrupted fit's dropout masks left off.
                set_dropout_rng(dropout_rng, self.net_.device)
            interrupt = None
            try:
                self.net_.partial_fit(dataset, epochs=epochs, generator=generator)
            except KeyboardInterrupt as exc:  # raised again once training is checked
                interrupt = exc
            finally:
                self.history_ = self.net_.history
                self.n_iter_ = len(self.history_)
                if self.checkpoint is not None:
                    # The resumed callbacks' state (tensors) served this call
                    # alone: keep it out of the net's pickle.
                    dict(self.net_.callbacks_)["checkpoint"].set_params(resume=None)
        return interrupt

    def _check_training(self, interrupt, dataset, first):
        """Warn if training diverged; raise the interrupt that ended it again.

        A new net (``first``) whose last training loss is far above a
        constant prediction's gets a warning too. (A net that continues a fit
        whose head was solved in closed form trains from that head, at a
        loss that says nothing of the learning rate.)

        Also raises ValueError when the trained network's outputs in
        evaluation mode overflow on the first batch of ``dataset``: a learning
        rate so high that the weights grew without bound while every training
        loss, computed with batch normalization's batch statistics, stayed
        finite.
        """
        name = type(self).__name__
        guard = dict(self.net_.callbacks_)["training_guard"]
        if guard.diverged_ is not None:
            epoch = guard.restored_epoch_
            restored = (
                f"the last finite weights (from epoch {epoch})"
                if epoch
                else "the weights from before this training call"
            )
            if len(self.history_) and "best_epoch" in self.history_[-1]:
                # Early stopping restored its best epoch after the guard.
                best = self.history_[-1, "best_epoch"]
                restored = f"the weights of the best epoch on the validation data ({best})"
            warnings.warn(
                f"Training of {name} diverged: {guard.diverged_}. Training "
                f"stopped and {restored} were restored. {self._training_advice(dataset, first)}.",
                RuntimeWarning,
                stacklevel=_caller_outside_sklrnn(),
            )
        elif first and interrupt is None and len(self.history_):
            # Weights that grew without reaching inf: no fit that learned
            # anything ends far above a constant prediction's loss.
            last, constant = self.history_[-1, "train_loss"], self._constant_loss(dataset)
            if last > 10 * constant:
                warnings.warn(
                    f"Training of {name} went astray: its last training loss ({last:.3g}) "
                    f"is over ten times that of a constant prediction ({constant:.3g}). "
                    f"{self._training_advice(dataset, first)}.",
                    RuntimeWarning,
                    stacklevel=_caller_outside_sklrnn(),
                )
        if interrupt is not None:
            _add_note(
                interrupt,
                f"{name}: training was interrupted; the estimator keeps the weights of a "
                f"recent completed epoch ({counted(self.n_iter_, 'epoch')} in history_) and "
                "can predict, or continue with warm_start=True.",
            )
            raise interrupt
        Xi, _ = dataset.batch(slice(0, self.batch_size))
        with torch.inference_mode():
            outputs = self.net_.evaluation_step((Xi, None), training=False)
        if not torch.isfinite(outputs).all():
            loss = self.history_[-1, "train_loss"] if len(self.history_) else float("nan")
            raise ValueError(
                f"Training of {name} diverged: after epoch {self.n_iter_}, its outputs "
                "on the training data overflow float32 in evaluation mode (last "
                f"training loss {loss:.3g}). {self._training_advice(dataset, first)}."
            )

    def _training_advice(self, dataset, first):
        """What to change when training on ``dataset`` diverged, in a sentence."""
        fixes = [f"lower lr (now {self.lr})"]
        if not first:
            # A continued fit keeps the statistics of the data it was first
            # fitted on: X far from them trains on huge standardized values.
            X3, lengths = dataset.X.cpu().numpy(), dataset.lengths.numpy()
            reach = _standardized_reach(self.net_.module_, X3, lengths).max(initial=0.0)
            if reach > _FAR_FROM_TRAINING:
                fixes.insert(
                    0,
                    "rescale X to the range of the data the model was first fitted on (X "
                    f"reaches {reach:.3g} of that data's standard deviations from its mean)",
                )
        optimizer = OPTIMIZERS.get(self.optimizer, self.optimizer)
        if issubclass(optimizer, torch.optim.SGD | torch.optim.ASGD) and not self.clip_grad_norm:
            # Adaptive optimizers (Adam, RMSprop) step by about lr whatever the
            # gradient's norm: clipping it leaves their steps as long (tried:
            # lr=1, Adam); plain gradient steps shorten.
            fixes.append("set clip_grad_norm (e.g. 1.0)")
        if not self.standardize:  # the default: advised only where it is not set
            fixes.append("standardize the input (standardize=True)")
        fix = fixes[0]
        if len(fixes) > 1:
            fix = ", ".join(fixes[:-1]) + ("," if len(fixes) > 2 else "") + " or " + fixes[-1]
        return fix[0].upper() + fix[1:]

    def _training_weights(self, sample_weight, X3, target):
        """Per-sample loss weights: sample_weight times the class weights, checked."""
        try:
            weights = _check_sample_weight(
                sample_weight, X3, dtype=np.float64, ensure_non_negative=True
            )
        except OverflowError as exc:  # a Python int beyond float64
            raise ValueError(
                f"sample_weight holds a number beyond float64's range ({exc}). "
                "Only the weights' ratios count: divide them by their largest first."
            ) from exc
        except ValueError as exc:
            if "sample_weight" in str(exc):
                raise
            # scikit-learn's array checks do not say which input they checked.
            raise ValueError(f"Invalid sample_weight: {exc}") from exc
        class_weights = np.asarray(self._class_weights(target, weights > 0), dtype=np.float64)
        with np.errstate(over="ignore", under="ignore"):
            product = weights * class_weights
        if np.isinf(product).any() or product.max(initial=0.0) == 0 < weights.max(initial=0.0):
            # Finite factors whose product leaves float64's range: beyond it
            # (weights of 1e308 and a class weight of 2), or below it
            # (1e-200 and 1e-200; class weights of 0 for every weighted
            # sequence are refused before). A fit counts only the weights'
            # ratios (it divides them by their mean): each factor over its
            # largest. (After an overflow, a later partial_fit's weights are
            # far beyond that mean, and refused as such.)
            product = _over_largest(weights) * _over_largest(class_weights)
        if not product.max(initial=0.0) > 0:
            # Newer scikit-learn refuses all-zero weights itself; 1.6 does not.
            raise ValueError(
                "The sample weights are all zero: at least one sample needs a positive weight."
            )
        return product

    def _class_weights(self, target, counted):
        return 1.0

    # -- checkpoints ----------------------------------------------------------

    def _read_checkpoint(self):
        """The checkpoint in ``checkpoint``, or None when there is none."""
        if self.checkpoint is None or not os.path.exists(self.checkpoint):
            return None
        return read_checkpoint(self.checkpoint)

    def _fingerprint(self, X3, lengths, target, weights):
        """The class, and hashes of the data and of each parameter that defines the model.

        A checkpoint resumes only a fit with the same fingerprint, so that a
        clone fitted on other data (a cross-validation fold) never starts
        from weights trained on its test data. Equal values hash alike
        (``1e-3`` and ``np.float64(1e-3)``, dicts in any order), and the
        parts name what differs (:func:`_fingerprint_change`). A JSON string.
        """
        params = self.get_params()
        data = hashlib.sha256()
        # The steps past the longest sequence are padding: the same sequences
        # padded wider are the same data, and the same fit.
        for array in (X3[:, : lengths.max()], lengths, target, weights):
            data.update(np.ascontiguousarray(array).tobytes())
        return json.dumps(
            {
                "estimator": type(self).__name__,
                "params": {
                    name: hashlib.sha256(_canonical(params[name]).encode()).hexdigest()[:16]
                    for name in sorted(params)
                    if name not in _RUN_PARAMS
                },
                "data": data.hexdigest(),
            }
        )

    def _resume(self, checkpoint, data, dataset, epochs, first, generator):
        """Resume the fit that wrote ``checkpoint``, if any; the epochs to train and dropout's RNG.

        A fit that builds a new net starts from any checkpoint: the weights
        of a finished fit, or an unfinished fit, which it continues. A warm
        start of a fitted net resumes only an unfinished fit, and otherwise
        continues from the net's own weights. The shuffling ``generator`` continues
        from the state of the resumed fit's. The checkpoint callback gets its
        parameters for this training call: the fingerprint of the data and
        parameters, the epochs, the state of the resumed callbacks, and
        whether it starts a fit of its own (``new_fit``). They
        are set on the callback itself, not through the net's ``set_params``,
        which would keep a copy of the state's tensors in the net. The random
        kernels' features that ``dataset`` carries are computed again with
        the resumed fit's kernels.
        """
        if self.checkpoint is None:
            return epochs, None
        callback = dict(self.net_.callbacks_)["checkpoint"]
        fingerprint = self._fingerprint(*data)
        dropout_rng, callback_states = None, None
        loaded = checkpoint is not None and (first or not checkpoint.finished)
        if loaded:
            if checkpoint.fingerprint != fingerprint:
                raise ValueError(
                    f"The checkpoint {os.fspath(self.checkpoint)!r} was written by "
                    f"{_fingerprint_change(checkpoint.fingerprint, fingerprint)}, so "
                    "warm_start=True cannot resume from it. A checkpoint resumes only the "
                    "fit that wrote it: give each fit (each cross-validation clone, for "
                    "example) its own checkpoint path, or delete the file to train from "
                    "scratch."
                )
            dropout_rng, callback_states = checkpoint.restore(self.net_, epochs, generator)
            if dataset.kernel_features is not None:
                dataset.cache_kernel_features(self.net_.module_)
            epochs = epochs if checkpoint.finished else checkpoint.epochs_left
            stopping = (callback_states or {}).get("early_stopping")
            if stopping is not None and stopping[0] >= self.n_iter_no_change:
                # Interrupted after early stopping asked to stop (its last
                # file written, the fit not yet ended): it ends as it would have.
                epochs = 0
        callback.set_params(
            fingerprint=fingerprint,
            epochs=epochs,
            resume=callback_states,
            new_fit=first and not loaded,
        )
        return epochs, dropout_rng

    # -- prediction and learned features ---------------------------------------

    def transform(self, X):
        """Return the features of each sequence: the vector the network's head reads.

        The random kernels' standardized features divided by the square root
        of their number (``kernel_features`` rounded down to a multiple of 84;
        none with 0), then the mean of the
        convolutional front end's features over the valid steps (one value
        per channel; none with ``conv_channels=0``), joined with the readout
        of the last recurrent layer (see ``readout``), computed in evaluation
        mode (no dropout), in the batches of ``predict``: a sequence's
        features do not depend on the other sequences of ``X`` or on its
        padding but for float32 rounding (within 1e-6 in the tests, where a
        longer sequence in its batch pads it, or where a call's few last
        sequences run as a smaller batch). With ``n_networks > 1`` the networks' vectors are
        concatenated, network 0 first, so that no network's features are
        lost to an average. :meth:`get_feature_names_out` names the columns,
        and ``set_output(transform="pandas")`` returns a DataFrame.

        Parameters
        ----------
        X : array-like or list of arrays
            Sequences, as in :meth:`fit`.

        Returns
        -------
        X_new : ndarray of shape (n_samples, n_features_out)
            One vector per sequence. Its width is the number of kernel
            features plus ``conv_channels`` plus ``hidden_size`` times 2 when
            ``bidirectional`` and times 2 with ``readout="mean_last"``; all
            times ``n_networks``.

        Examples
        --------
        >>> import numpy as np
        >>> from sklrnn import RNNClassifier
        >>> rng = np.random.RandomState(0)
        >>> X, y = rng.normal(size=(40, 12)), np.arange(40) % 2
        >>> clf = RNNClassifier(
        ...     hidden_size=4, conv_channels=8, kernel_features=168, max_epochs=2, random_state=0
        ... )
        >>> clf.fit(X, y).transform(X).shape  # 168 kernels', 8 channel means, 2 x 2 x 4 recurrent
        (40, 192)
        >>> clf.get_feature_names_out()[:3].tolist()
        ['rnnclassifier0', 'rnnclassifier1', 'rnnclassifier2']
        """
        return self._forward(X, method="embed")

    def recurrent_states(self, X):
        """Return the last recurrent layer's outputs at each of its steps, for inspection.

        The recurrent layers run over the steps the convolutional front end
        leaves: a sequence of ``n`` input steps has ``ceil(n / F)`` of them,
        where ``F = prod(strides_)`` (``F = 1`` with ``conv_channels=0``).
        Recurrent step ``t`` reads the front-end features of input steps
        ``t * F`` to ``(t + 1) * F - 1`` (counted after ``max_length``
        truncation), whose convolutions also see a few neighbouring steps.
        Steps past a sequence's last valid step are NaN, so that only valid
        steps carry values; these do not depend on padding or on the other
        sequences of ``X`` but for float32 rounding, as :meth:`transform`'s
        (1.5e-8 measured with the front end, where a longer sequence in its
        batch pads it).

        Parameters
        ----------
        X : array-like or list of arrays
            Sequences, as in :meth:`fit`.

        Returns
        -------
        states : ndarray of shape (n_samples, n_steps, n_units)
            ``n_steps`` is the number of recurrent steps of the longest
            sequence in ``X``. ``n_units`` is ``hidden_size``, or twice that
            when ``bidirectional`` (the forward direction's units first, then
            the backward direction's), times ``n_networks``: the networks'
            states are concatenated, network 0 first.

        Examples
        --------
        >>> import numpy as np
        >>> from sklrnn import RNNRegressor
        >>> rng = np.random.RandomState(0)
        >>> X, y = rng.normal(size=(40, 12)), rng.normal(size=40)
        >>> reg = RNNRegressor(hidden_size=4, max_epochs=2, random_state=0).fit(X, y)
        >>> reg.strides_  # 2 input steps per recurrent step
        (1, 2, 1)
        >>> states = reg.recurrent_states([X[0], X[1, :5]])
        >>> states.shape
        (2, 6, 8)
        >>> (~np.isnan(states[:, :, 0])).sum(axis=1).tolist()  # valid steps
        [6, 3]
        """
        states = self._forward(X, method="recurrent_states")
        # The width of X may exceed its longest sequence: drop all-padding steps.
        n_steps = int((~np.isnan(states[:, :, 0])).any(axis=0).sum())
        return states[:, :n_steps]

    @property
    def _n_features_out(self):
        # Number of columns of transform, read by get_feature_names_out.
        return self.net_.module_.embedding_size

    def _forward(self, X, method="forward"):
        """Outputs of the module for X, as a float64 numpy array.

        ``method`` names the module's map: ``"forward"`` (the head's outputs),
        ``"embed"`` (the vectors the head reads), ``"mean_and_variance"`` (the
        outputs and their dropout variance, stacked in a last axis of 2) or
        ``"recurrent_states"``
        (the last recurrent layer's outputs per step, NaN past each
        sequence's valid steps). A big array, DataFrame or list of
        sequences is converted and run a chunk of samples at a time, so that
        its converted copy stays bounded (about 16 MB of float32 sequences,
        and a chunk of ``"embed"``'s output 32 MB beside the result); the
        network's activations add memory in proportion to ``batch_size``
        times a batch's longest sequence.
        """
        check_is_fitted(self)
        self._check_prediction_params()
        if isinstance(X, torch.Tensor) and X.is_nested:  # no shape: a list of its sequences
            X = _readable(X)
        shape = getattr(X, "shape", ())
        ragged = _is_ragged(X)
        if ragged:  # chunks as for an array as wide as the longest sequence
            longest = _longest(X)
            shape = () if longest is None else (len(X), longest, self._n_channels)
        if (
            len(shape) not in (2, 3)
            or sp.issparse(X)
            # A dask array of unknown chunk sizes has NaN in its shape.
            or not all(isinstance(size, Integral) for size in shape)
        ):
            return self._forward_chunk(X, method=method)
        # Values per sequence, or of its features (transform's), wider for
        # short sequences: a chunk's output lives beside the result.
        per_sample = max(int(np.prod(shape[1:])), 1)
        if method == "embed":
            per_sample = max(per_sample, self._n_features_out)
        chunk = self._prediction_chunk(per_sample)
        if shape[0] <= chunk:
            return self._forward_chunk(X, method=method)
        if ragged:
            check_frame_order(self, X)  # each chunk's check compares only its own
        starts = range(0, shape[0], chunk)

        def outputs(start):
            # A chunk of a list is a list of sequences, even where their lengths are equal.
            part = _safe_indexing(X, slice(start, start + chunk))
            return self._forward_chunk(part, start, method=method, ragged=ragged)

        if method != "recurrent_states":
            # Each chunk's outputs written into the result as it comes: joining
            # them (np.concatenate) held them twice, 940 MB for transform's 470.
            out = None
            for start in starts:
                part = outputs(start)
                if out is None:
                    out = np.empty((shape[0], *part.shape[1:]))
                out[start : start + len(part)] = part
            return out
        # A ragged chunk's states are as wide as its longest sequence: the
        # result's width is known once every chunk is. Each chunk is written
        # into it and dropped: padding every chunk and joining them held the
        # states twice.
        parts = [outputs(start) for start in starts]
        width = max(part.shape[1] for part in parts)
        out = np.empty((shape[0], width, parts[0].shape[2]))  # its pages filled chunk by chunk
        for i, start in enumerate(starts):
            part, parts[i] = parts[i], None
            stop = start + len(part)
            out[start:stop, : part.shape[1]] = part
            out[start:stop, part.shape[1] :] = np.nan
        return out

    def _prediction_chunk(self, per_sample):
        """Sequences converted and run at a time, of ``per_sample`` values each:
        about ``_PREDICT_CHUNK_VALUES``, whole prediction batches."""
        batch = min(self.batch_size, PREDICT_BATCH_LIMIT)
        return max(batch, (_PREDICT_CHUNK_VALUES // per_sample) // batch * batch)

    def _check_prediction_params(self, *, plain=False):
        """Validate the parameters prediction reads (set_params may have changed them since fit).

        ``plain``: raise a ValueError rather than scikit-learn's
        InvalidParameterError, which a caller decorated with
        ``validate_params`` would present as a parameter of its own.
        """
        names = ("batch_size", "max_length")
        try:
            validate_parameter_constraints(
                {name: self._parameter_constraints[name] for name in names},
                {name: getattr(self, name) for name in names},
                type(self).__name__,
            )
        except InvalidParameterError as exc:
            if not plain:
                raise
            raise ValueError(str(exc)) from None
        for name in names:
            _reject_bool(getattr(self, name), name, type(self).__name__)

    def _forward_chunk(self, X, first_sample=0, method="forward", ragged=False):
        X3, lengths = validate_sequences(
            self,
            X,
            reset=False,
            first_sample=first_sample,
            max_length=self.max_length,
            ragged=ragged,
        )
        return self._forward_valid(X3, lengths, first_sample, method)

    def _forward_valid(self, X3, lengths, first_sample=0, method="forward"):
        """:meth:`_forward` of a validated chunk: float32 ``X3`` (cut to ``max_length``)
        and its ``lengths``; ``first_sample`` numbers its first sequence in messages."""
        n_samples, batch = len(X3), min(self.batch_size, PREDICT_BATCH_LIMIT)
        # A batch runs every sequence over the steps of its longest one: one
        # long sequence among short ones would lengthen all of its batch.
        # Sequences of different lengths run longest first, in runs of
        # lengths between consecutive powers of 2, so that no batch runs a
        # sequence over more than twice its own steps.
        order, runs, given_lengths = None, [], lengths
        if n_samples and lengths.min() < lengths.max():
            order = np.argsort(-lengths, kind="stable")
            X3, lengths = X3[order], lengths[order]
            runs = np.flatnonzero(np.diff(np.frexp(lengths)[1])) + 1
        parts = []
        for start, stop in itertools.pairwise([0, *runs, n_samples]):
            parts.extend(self._prediction_parts(X3[start:stop], lengths[start:stop], batch))
        out, done = None, 0
        # Each batch's outputs go straight into one float64 array, in the
        # order of X: no list of small tensors kept alive between the batches'
        # big temporaries (which fragments the heap), no concatenation, no
        # second copy (putting sorted rows back copied recurrent_states' 1 GB).
        with torch.inference_mode():
            for part, part_lengths, n_valid in parts:
                dataset = SequenceDataset(part, part_lengths, device=self.net_.device)
                batches = self.net_.forward_iter(
                    dataset, training=False, device="cpu", method=method, batch_size=batch
                )
                for batch_out in batches:
                    if out is None:
                        shape = list(batch_out.shape[1:])
                        if method == "recurrent_states":  # as many steps in every chunk
                            shape[0] = self._recurrent_lengths(X3.shape[1])
                        out = np.zeros((n_samples, *shape), dtype=np.float64)
                    n = min(len(batch_out), n_valid)
                    rows = slice(done, done + n) if order is None else order[done : done + n]
                    # Per-step outputs stop at the longest sequence of their batch.
                    out[rows, : batch_out.shape[1]] = batch_out[:n].numpy()
                    done, n_valid = done + n, n_valid - n
        bad = ~np.isfinite(out.reshape(n_samples, -1)).all(axis=1)
        if order is not None:  # in the order of X3, as sorted
            bad = bad[order]
        # Standardized input beyond float32: saturating gates and the
        # kernels' counts can turn it into finite, wrong outputs.
        bad |= ~np.isfinite(_standardized_reach(self.net_.module_, X3))
        if bad.any():
            # Inputs within float32's range can still overflow once
            # standardized and multiplied by the weights; never return NaN.
            raise self._non_finite_outputs(X3, lengths, bad, order, first_sample)
        if method == "recurrent_states":
            steps = np.arange(out.shape[1])
            out[steps[None, :] >= self._recurrent_lengths(given_lengths)[:, None]] = np.nan
        return out

    def _non_finite_outputs(self, X3, lengths, bad, order, first_sample):
        """The ValueError for the ``bad`` sequences of a chunk (in the order of ``order``).

        It blames X where the bad sequences reach far beyond the training
        data (over 1,000 of its standard deviations), and the weights
        otherwise: a fit's weights keep inputs of the training data's range
        finite, a file's edited weights need not.
        """
        rows = np.flatnonzero(bad)
        first = int(rows[0] if order is None else order[rows].min()) + first_sample
        # In float64: an input that overflows float32 once standardized is named by its reach.
        deviation = _standardized_reach(
            self.net_.module_, X3[rows].astype(np.float64), lengths[rows]
        ).max()
        if deviation > _FAR_FROM_TRAINING:
            why = (
                f"their values reach {deviation:.3g} training standard deviations from the "
                "training mean: too large for the network's float32 arithmetic. Rescale X to "
                "the range of the training data."
            )
        else:
            why = (
                f"their values lie within {deviation:.3g} training standard deviations of the "
                "training mean, so the model's weights overflow: refit it. (A fit's weights "
                "keep such inputs finite; weights edited in a saved file need not.)"
            )
        return ValueError(
            f"{type(self).__name__} computed non-finite outputs for {bad.sum()} of samples "
            f"{first_sample} to {first_sample + len(X3) - 1} of X (first: sample {first}): " + why
        )

    @staticmethod
    def _prediction_parts(X3, lengths, batch):
        """``(sequences, lengths, number of them that are X's)`` to predict in batches.

        Batches run at full ``batch`` size: float32 matrix products round
        differently for different numbers of rows, and a prediction should
        not depend on how many sequences share its call (for sequences of
        equal length it does not, to the last bit; a longer sequence in the
        batch still changes the rounding). A last, partial batch is filled
        up with all-zero sequences as long as its longest when that costs
        little: at most as many sequence-steps as the batch's own, or
        _TAIL_PADDING_STEPS. Otherwise (one long sequence, or one sequence
        at a large batch_size, where filling up cost up to 1,500 times the
        prediction) it runs at its own size, rounded as such.
        """
        n_samples = len(X3)
        n_full = n_samples - n_samples % batch
        n_tail = n_samples - n_full
        parts = [(X3[:n_full], lengths[:n_full], n_full)] if n_full else []
        if n_tail:
            tail, tail_lengths = X3[n_full:], lengths[n_full:]
            steps = int(tail_lengths.max())
            if (batch - n_tail) * steps <= max(n_tail * steps, _TAIL_PADDING_STEPS):
                tail = np.zeros((batch, steps, X3.shape[2]), dtype=X3.dtype)
                tail[:n_tail] = X3[n_full:, :steps]
                tail_lengths = np.full(batch, steps, dtype=lengths.dtype)
                tail_lengths[:n_tail] = lengths[n_full:]
            parts.append((tail, tail_lengths, n_tail))
        return parts

    def _recurrent_lengths(self, lengths):
        """Steps the recurrent layers run over, for sequences of ``lengths`` steps.

        The front end's stride and ceil-mode poolings divide a length by each
        factor in turn, rounding up: together, by their product.
        """
        return -(-lengths // self.net_.module_.step_factor)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.three_d_array = True
        return tags

    # -- pickling -----------------------------------------------------------
    # The net is pickled separately, so that the versions are checked before
    # the torch model is rebuilt and a failure can name them.

    def __getstate__(self):
        state = dict(super().__getstate__())  # a copy: never touch __dict__
        state["_sklrnn_versions"] = _versions()
        if "net_" in state:
            state["net_"] = pickle.dumps(state["net_"], protocol=pickle.HIGHEST_PROTOCOL)
            state.pop("history_", None)  # the net's own history, pickled with it
        return state

    def __setstate__(self, state):
        state = dict(state)
        saved = state.pop("_sklrnn_versions", None) or {}
        current = _versions()
        changed = _changed_versions(saved, current)
        if changed:
            warnings.warn(
                InconsistentVersionWarning(
                    f"Unpickling {type(self).__name__} saved with {changed}; installed are "
                    + ", ".join(f"{name} {version}" for name, version in current.items())
                    + ". The model was restored, but may behave differently; refit it to "
                    "be sure.",
                    estimator_name=type(self).__name__,
                    original_versions=saved,
                    current_versions=current,
                ),
                stacklevel=2,
            )
        if isinstance(state.get("net_"), bytes):
            try:
                # Built in a caller's inference mode, the weights would be
                # inference tensors, which no later training call could update.
                with torch.inference_mode(False):
                    state["net_"] = pickle.loads(state["net_"])
            except Exception as exc:
                if not changed:  # not a matter of versions (memory, a damaged pickle)
                    raise
                raise pickle.UnpicklingError(
                    f"Cannot restore the torch model of this {type(self).__name__}, "
                    f"saved with {changed}: {exc!r}. Load it with the versions it was "
                    "saved with, or refit it."
                ) from exc
            state["history_"] = state["net_"].history
        super().__setstate__(state)


def _add_note(exc, note):
    """Add ``note`` to exception ``exc``'s traceback, where Python can (3.11 and later)."""
    if hasattr(exc, "add_note"):
        exc.add_note(note)


# skorch's callbacks that score a split of the data (the validation split
# unless on_train=True).
_SCORING = (EpochScoring, BatchScoring)


def _validation_monitor(callback):
    """The validation score (``"valid_..."``) a callback monitors, the name of
    the score of the validation split it records, or None.

    A callback given as a class, which skorch builds with its defaults, by
    its constructor's default. skorch's ``EpochScoring`` and ``BatchScoring``
    score the validation split unless ``on_train=True``.
    """
    if isinstance(callback, _SCORING) and not callback.on_train:
        named = callback.name or callback.scoring  # a function by its name, None as skorch's
        return named if isinstance(named, str) else getattr(named, "__name__", "score")
    monitor = getattr(callback, "monitor", None)
    if isinstance(callback, type):
        try:
            monitor = inspect.signature(callback).parameters["monitor"].default
        except (KeyError, TypeError, ValueError):
            monitor = None
    return monitor if isinstance(monitor, str) and monitor.startswith("valid_") else None


def _canonical(value):
    """A text of parameter ``value`` that equal values share, for hashing.

    numpy scalars read as the Python numbers they hold, a float of integral
    value as that integer (``weight_decay=0`` is ``0.0``), dicts in key
    order, and a ``RandomState`` by its state (its repr holds its address).
    """
    value = _python(value)
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, dict):
        items = sorted((_canonical(k), _canonical(v)) for k, v in value.items())
        return "{" + ", ".join(f"{k}: {v}" for k, v in items) + "}"
    if isinstance(value, list | tuple):
        return type(value).__name__ + "(" + ", ".join(map(_canonical, value)) + ")"
    if isinstance(value, np.random.RandomState):
        kind, keys, *rest = value.get_state()
        return f"RandomState({kind}, {hashlib.sha256(keys.tobytes()).hexdigest()}, {rest})"
    return repr(value)


def _fingerprint_change(written, current):
    """What differs between a checkpoint's fingerprint and the fit's, in words."""
    try:  # written is a file's: any JSON, however nested
        old = json.loads(written)
        old_params = old["params"]
        if not (isinstance(old_params, dict) and all(isinstance(k, str) for k in old_params)):
            raise TypeError
    except (TypeError, ValueError, KeyError, RecursionError):
        return "a fit on other data or with other parameters"
    new = json.loads(current)
    if old.get("estimator") != new["estimator"]:
        return f"a fit of {old.get('estimator')}, not {new['estimator']}"
    changed = sorted(
        k for k in new["params"].keys() | old_params if new["params"].get(k) != old_params.get(k)
    )
    if changed:
        # A file's fingerprint may name any number of keys: a few are named.
        more = f" and {len(changed) - 5} more" if len(changed) > 6 else ""
        return f"a fit with other parameters ({', '.join(changed[: 5 if more else 6])}{more})"
    return "a fit on other data (X, y or sample_weight)"


def _warn_if_a_few_sequences_set_the_strides(estimator, lengths, strides):
    """Warn when the front end's strides, set by the longest sequence, coarsen nearly all others.

    "A few": longer than 10 times the 99th percentile of the lengths. One
    sequence 500 times longer than the others made a 100-step signal reach
    the recurrent layers as one step (test accuracy 0.56 against 0.96
    without it), and nothing said why. Without a front end
    (``conv_channels=0``) the recurrent layers read every step.
    """
    factor = int(np.prod(strides))
    long = lengths > 10 * np.percentile(lengths, 99, method="lower")
    if not estimator.conv_channels or factor == 1 or not long.any():
        return
    rest = int(lengths[~long].max())
    warnings.warn(
        f"{type(estimator).__name__}: training sequences over 10 times as long as the "
        f"rest: {long.sum()} of {len(lengths)} (the longest: {lengths.max()} steps; the "
        f"rest: at most {rest}). The front end's strides {tuple(strides)}, set "
        f"for the longest, read a sequence of {rest} steps as {-(-rest // factor)} "
        f"recurrent step(s). Set max_length (e.g. max_length={rest}, which keeps each "
        "sequence's last steps) or drop the long sequences.",
        UserWarning,
        stacklevel=_caller_outside_sklrnn(),
    )


def _biases_per_kernel(dilations):
    return sum(count for _, count in dilations)


def device_exists(device):
    """Whether the torch device ``device`` (a string other than "auto") exists here
    and is one that sklrnn runs on: the CPU or a CUDA device.

    A string that names no torch device is a ValueError.
    """
    try:
        parsed = torch.device(device)
    except (RuntimeError, TypeError) as exc:
        raise ValueError(
            f"device={device!r} is not a torch device; use 'cpu', 'cuda', 'cuda:N' or 'auto'."
        ) from exc
    if parsed.type == "cuda":
        return torch.cuda.is_available() and (
            parsed.index is None or parsed.index < torch.cuda.device_count()
        )
    # Nothing else is supported: MPS, for one, has no float64 for the
    # closed-form heads, nor a generator that checkpoints resume dropout from.
    return parsed.type == "cpu"


def _same_params(old, new):
    """Whether two ``get_params()`` dicts hold the same values (objects by identity or ==)."""
    if old.keys() != new.keys():
        return False
    for key, value in old.items():
        other = new[key]
        if value is other:
            continue
        try:
            if type(value) is not type(other) or not bool(value == other):
                return False
        except (TypeError, ValueError):  # values that do not compare to one bool
            return False
    return True


def _over_largest(weights):
    """Non-negative ``weights`` (an array, not written to) divided by the largest, if positive."""
    top = weights.max(initial=0.0)
    return weights / top if top > 0 else weights


def _standardized_reach(module, X3, lengths=None):
    """How far each sequence of float32 ``X3`` reaches once standardized as ``module`` does.

    The largest ``|x - mean| / scale`` of each sequence, in float32 as the
    network computes it: inf where that overflows. From each sequence's
    extremes, without a copy of ``X3`` (padding's zeros among them), or,
    with ``lengths``, of its valid steps alone.
    """
    network = networks_of(module)[0]
    mean, scale = network.input_mean.cpu().numpy(), network.input_scale.cpu().numpy()
    if lengths is None:
        high, low = X3.max(axis=1), X3.min(axis=1)
    else:
        valid = (np.arange(X3.shape[1])[None, :] < lengths[:, None])[:, :, None]
        high, low = (
            np.where(valid, X3, -np.inf).max(axis=1),
            np.where(valid, X3, np.inf).min(axis=1),
        )
    with np.errstate(over="ignore"):
        return (np.maximum(high - mean, mean - low) / scale).max(axis=1)


def _input_statistics(X3, lengths, standardize):
    """Per-feature mean and scale over all valid time steps (0 and 1 without ``standardize``).

    Warns of features whose values differ by less than float32 can tell
    apart.
    """
    n_features = X3.shape[2]
    if not standardize:
        return np.zeros(n_features), np.ones(n_features)
    # Two passes in float64 over chunks of samples: memory stays a small
    # fraction of the data's. Padding is zero, so it adds nothing to the
    # first pass's sum and is masked out of the second's.
    count = lengths.sum()
    total = X3.sum(axis=(0, 1), dtype=np.float64)
    mean = total / count
    squares = np.zeros(n_features)
    mean32 = mean.astype(np.float32)  # the network centres in float32
    chunk = max(1, (1 << 18) // (X3.shape[1] * n_features))  # 2 MB of float64
    for start in range(0, len(X3), chunk):
        dev = X3[start : start + chunk] - mean
        dev[np.arange(X3.shape[1])[None, :] >= lengths[start : start + chunk, None]] = 0.0
        squares += np.einsum("ntf,ntf->f", dev, dev)
        with np.errstate(over="ignore"):  # reported just below
            centred = X3[start : start + chunk] - mean32
        if not np.isfinite(centred).all():
            raise ValueError(
                "X holds values too large for float32 once centred: x - mean overflows "
                f"float32 (|x - mean| > {np.finfo(np.float32).max:.3g}), the precision the "
                "network computes in. Rescale X first (e.g. divide it by 1e30), the same way "
                "for fit and predict."
            )
    scale = np.sqrt(squares / count)
    # A constant feature (no spread beyond rounding, which is relative to its
    # size) is only centred; a feature of tiny values is scaled like any
    # other, unless its spread is below what float32 holds.
    constant = scale <= CONSTANT_SPREAD * np.abs(mean)
    tiny = ~constant & (scale < np.finfo(np.float32).tiny)
    if tiny.any():
        warnings.warn(
            f"The values of X's features {np.flatnonzero(tiny).tolist()} differ by less "
            f"than float32's smallest normal number ({np.finfo(np.float32).tiny:.3g}): "
            "the model computes in float32, which keeps them with few significant digits, "
            "or none below 1.4e-45. Rescale X (multiply it by a constant, e.g. 1e30), the "
            "same way for fit and predict.",
            UserWarning,
            stacklevel=_caller_outside_sklrnn(),
        )
    # float32 holds a value to about 7 digits: a feature whose spread is a
    # small fraction of its size keeps few distinct values (1e8 + N(0, 1):
    # one, which reads as constant; 1e6 + N(0, 1): 16 per standard deviation).
    # One that became a single value is warned of where X is cast to float32.
    spacing = np.spacing(np.abs(mean).astype(np.float32)).astype(np.float64)
    coarse = ~tiny & ~constant & (scale < _MIN_FLOAT32_LEVELS * spacing)
    for feature in np.flatnonzero(coarse & (spacing <= 1.0)):
        # Integers below 2**24 are exact in float32: a feature of integers
        # that seldom change (1e5, and 1e5 + 1 now and then) lost nothing.
        coarse[feature] = not np.all(np.mod(X3[:, :, feature], 1.0) == 0.0)
    if coarse.any():
        levels = np.floor(scale[coarse] / spacing[coarse])
        warnings.warn(
            f"The values of X's features {np.flatnonzero(coarse).tolist()} differ by little "
            f"against their size (mean {', '.join(f'{m:.3g}' for m in mean[coarse])}): as "
            "float32, the precision the network reads them in, they keep "
            f"{', '.join(f'{n:.0f}' if n else 'under 1' for n in levels)} distinct values "
            "per standard deviation. Subtract a constant near their mean first "
            "(e.g. X - X.mean()), the same way for fit and predict.",
            UserWarning,
            stacklevel=_caller_outside_sklrnn(),
        )
    scale[constant | tiny] = 1.0
    ratio = scale / _middle_spread(X3, lengths)
    outlying = ~(constant | tiny) & (ratio > _OUTLYING_RATIO)
    if outlying.any():
        warnings.warn(
            f"X's features {np.flatnonzero(outlying).tolist()} hold outlying values: their "
            f"standard deviation is up to {ratio[outlying].max():.0f} times the spread of "
            "their middle half (interquartile range / 1.349), so that standardized, most "
            "of their values lie near zero and the network may learn little from them. "
            "Clip them (e.g. to the 0.1th and 99.9th percentiles of the training values) "
            "or drop the sequences that hold them, the same way for fit and predict.",
            UserWarning,
            stacklevel=_caller_outside_sklrnn(),
        )
    return mean, scale


# A feature's standard deviation over the spread of its middle half, beyond
# which fit warns of outliers: 0.8 to 3.8 on the development and external
# collections' training splits; 41 for normal values with one of 1,000 times
# their scale among 600, which took a regressor's test R2 from 0.95 to 0.05.
_OUTLYING_RATIO = 10
# Distinct float32 values per standard deviation below which fit warns that
# a feature's offset swamps its variation.
_MIN_FLOAT32_LEVELS = 64


def _middle_spread(X3, lengths):
    """Each feature's interquartile range / 1.349 (a normal sample's standard
    deviation) over the valid steps of sequences spread over ``X3``, about
    2 million values at most; inf where it is 0 (a feature mostly at one value).
    """
    rows = max(1, min(len(X3), (1 << 21) // (X3.shape[1] * X3.shape[2])))
    pick = np.unique(np.linspace(0, len(X3) - 1, rows).astype(int))
    steps = X3[pick][np.arange(X3.shape[1])[None, :] < lengths[pick, None]]
    q1, q3 = np.percentile(steps, [25, 75], axis=0)
    spread = (q3 - q1) / 1.349
    return np.where(spread > 0, spread, np.inf)


def _initialize(net, estimator):
    """``net.initialize()``, with a clear MemoryError when the network is too big to allocate."""
    try:
        net.initialize()
    except RuntimeError as exc:  # how torch's allocators and size checks fail
        if "allocate" not in str(exc) and "overflow" not in str(exc):
            raise
        sizes = ", ".join(
            f"{name}={getattr(estimator, name)}"
            for name in (
                "hidden_size",
                "num_layers",
                "conv_channels",
                "kernel_features",
                "n_networks",
            )
        )
        raise MemoryError(
            f"{type(estimator).__name__}'s network ({sizes}) is too big to allocate on "
            f"{net.device!r}: lower these sizes."
        ) from None


def _silent(*args, **kwargs):
    """A sink for skorch messages that should not reach the user's console."""


# torch's global generator is shared by all threads; whoever seeds it holds
# this lock until the state is restored.
_TORCH_RNG_LOCK = threading.RLock()


def _new_rng_lock():
    # A process forked while another thread fitted would hold a copy of the
    # lock that no thread of the child ever releases: its fits would wait forever.
    global _TORCH_RNG_LOCK
    _TORCH_RNG_LOCK = threading.RLock()


if hasattr(os, "register_at_fork"):  # POSIX
    os.register_at_fork(after_in_child=_new_rng_lock)


class _seeded_torch:
    """Seed torch's generators for a block and restore them afterwards.

    Training is reproducible for a given ``random_state`` without changing the
    caller's global random state. The block holds a process-wide lock, so
    that threads seeding at the same time do not draw from each other's
    streams.
    """

    def __init__(self, seed, device):
        self.seed = seed
        dev = torch.device(device)
        self.devices = [dev.index or 0] if dev.type == "cuda" else []

    def __enter__(self):
        self._lock = _TORCH_RNG_LOCK
        self._lock.acquire()
        try:
            self._fork = torch.random.fork_rng(devices=self.devices)
            self._fork.__enter__()
            # Only the generators that fork_rng restores: torch.manual_seed
            # would also seed every CUDA device's, for good.
            torch.default_generator.manual_seed(self.seed)
            for index in self.devices:
                with torch.cuda.device(index):
                    torch.cuda.manual_seed(self.seed)
        except BaseException:
            self._lock.release()
            raise

    def __exit__(self, *exc):
        try:
            return self._fork.__exit__(*exc)
        finally:
            self._lock.release()
