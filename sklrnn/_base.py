"""Shared machinery of RNNClassifier and RNNRegressor."""

import hashlib
import json
import os
import pickle
import threading
import warnings
from contextlib import nullcontext
from numbers import Integral, Real

import numpy as np
import scipy.sparse as sp
import torch
from sklearn.base import BaseEstimator
from sklearn.utils import check_random_state
from sklearn.utils.validation import check_consistent_length, check_is_fitted

from ._compat import Interval, StrOptions, _check_sample_weight, _safe_indexing
from ._data import truncate, validate_sequences
from ._module import CELL_TYPES, READOUTS, RNNEnsemble, RNNModule, front_end_strides
from ._training import (
    EarlyStoppingIfValid,
    EpochCheckpoint,
    NetworkGradientClipping,
    ProgressBarIfSlow,
    SequenceDataset,
    SequenceNet,
    TrainingGuard,
    ValidationSplit,
    WarmupCosine,
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

# max_epochs="auto" aims at this many gradient steps, between these epochs
# (benchmarks/accuracy.py, chosen by cross-validation on training splits).
_AUTO_STEPS = 500
_AUTO_MIN_EPOCHS, _AUTO_MAX_EPOCHS = 30, 300

# Parameters that do not change what a fit computes from its data, or only
# how long it runs: a checkpoint may be resumed with other values of them.
_RUN_PARAMS = {"checkpoint", "warm_start", "verbose", "callbacks", "device", "max_epochs"}

# lr_schedule="cosine" raises the learning rate linearly from 0 over this
# fraction of the gradient steps, then lowers it to 0 along a cosine.
_WARMUP_FRACTION = 0.05


class InconsistentVersionWarning(UserWarning):
    """Warns that a pickled estimator comes from other sklrnn, torch or skorch versions.

    The estimator was restored, but a model saved with one version and used
    with another may behave differently; refit it to be sure. Make it an
    error with ``warnings.simplefilter("error", InconsistentVersionWarning)``.

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


def _versions():
    """Versions of the packages a pickled estimator depends on."""
    import skorch

    from . import __version__

    return {"sklrnn": __version__, "torch": torch.__version__, "skorch": skorch.__version__}


class _BaseRNN(BaseEstimator):
    """Base class: parameters, validation, building and training the net."""

    _stratify = False
    # How an ensemble's networks are combined (RNNEnsemble's average).
    _ensemble_average = "outputs"

    _parameter_constraints = {
        "cell_type": [StrOptions(set(CELL_TYPES))],
        "hidden_size": [Interval(Integral, 1, None, closed="left")],
        "num_layers": [Interval(Integral, 1, None, closed="left")],
        "bidirectional": ["boolean"],
        "dropout": [Interval(Real, 0, 1, closed="left")],
        "readout": [StrOptions(set(READOUTS))],
        "conv_channels": [Interval(Integral, 0, None, closed="left")],
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

    def __init__(
        self,
        cell_type="lstm",
        hidden_size=64,
        num_layers=1,
        bidirectional=True,
        dropout=0.2,
        readout="mean_last",
        *,
        conv_channels=64,
        recurrent_steps=8,
        n_networks=1,
        standardize=True,
        max_length=None,
        optimizer="adam",
        lr=1e-3,
        lr_schedule="cosine",
        weight_decay=0.0,
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
        self.conv_channels = conv_channels
        self.recurrent_steps = recurrent_steps
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

    # -- subclass hooks ---------------------------------------------------
    # _encode_target(y, reset, classes) -> target array for torch
    # _criterion() -> torch loss class (get_loss sets its reduction per batch)
    # _n_outputs() -> size of the module's output

    def _partial_fit(self, X, y, sample_weight, classes=None):
        """One epoch on (X, y), without a validation split, from the current weights."""
        return self._fit(X, y, sample_weight, incremental=True, epochs=1, classes=classes)

    def _fit(self, X, y, sample_weight, *, incremental, epochs=None, classes=None):
        """Validate, build or reuse the net, and train it.

        ``epochs=None`` means a full fit: the epoch budget, with early stopping
        on a validation split when enabled.
        """
        full = epochs is None
        resume = self._read_checkpoint() if full and self.warm_start else None
        first = not (incremental and hasattr(self, "net_"))
        X3, lengths = validate_sequences(self, X, reset=first)
        if y is not None:  # before encoding y, whose errors would be less clear
            check_consistent_length(X3, y)
        target = self._encode_target(y, reset=first, classes=classes)
        weights = self._training_weights(sample_weight, X3, target)
        if self.max_length is not None:
            X3, lengths = truncate(X3, lengths, self.max_length)
        rng = check_random_state(self.random_state)
        seed = int(rng.randint(np.iinfo(np.int32).max))
        device = self._resolve_device()
        if first:
            self.strides_ = front_end_strides(int(lengths.max()), self.recurrent_steps)
            self.n_networks_ = self.n_networks
            self.net_ = self._build_net(device)
        self.net_.train_split = None
        n_train = len(X3)
        if full and self.early_stopping:
            self.net_.train_split = ValidationSplit(
                self.validation_fraction, stratified=self._stratify, random_state=seed
            )
            n_train -= int(np.ceil(self.validation_fraction * n_train))
        dataset = SequenceDataset(X3, lengths, target, weights, device=self.net_.device)
        if full:
            epochs = self._epoch_budget(len(X3))
        if self.lr_schedule == "cosine":
            # The schedule spans the epochs of a full fit; partial_fit keeps lr.
            steps = epochs * -(-max(n_train, 1) // self.batch_size) if full else None
            self.net_.set_params(callbacks__lr_schedule__total_steps=steps)
        # Shuffling draws from a generator of this fit alone, so that fits in
        # parallel threads stay reproducible.
        self.net_.generator_ = torch.Generator().manual_seed(seed)
        with _seeded_torch(seed, device):
            if first:
                self.net_.initialize()
                self.net_.module_.set_standardization(*self._input_statistics(X3, lengths))
        dropout_rng = None
        if self.checkpoint is not None:
            fingerprint = self._fingerprint(X3, lengths, target, weights)
            self.net_.set_params(callbacks__checkpoint__fingerprint=fingerprint)
        if resume is not None and (first or resume["epochs_left"] > 0):
            self._check_fingerprint(resume, fingerprint)
            epochs = self._restore_checkpoint(resume) or epochs
            if resume["epochs_left"] > 0:
                dropout_rng = resume.get("dropout_rng")
        # Dropout draws from torch's global generator: only then does training
        # hold the process-wide seeding lock.
        with _seeded_torch(seed, device) if self.dropout > 0 else nullcontext():
            if dropout_rng is not None and self.dropout > 0:
                # Where the interrupted fit's dropout masks left off.
                set_dropout_rng(dropout_rng, self.net_.device)
            try:
                self.net_.partial_fit(dataset, epochs=epochs)
            finally:
                self.history_ = self.net_.history
                self.n_iter_ = len(self.history_)
        interrupt, self.net_.interrupted_ = self.net_.interrupted_, None
        self._check_finite_training()
        if interrupt is not None:
            self._reraise_interrupt(interrupt)
        return self

    def _reraise_interrupt(self, interrupt):
        if hasattr(interrupt, "add_note"):  # Python >= 3.11
            interrupt.add_note(
                f"{type(self).__name__}: training was interrupted; the estimator keeps "
                f"the weights of its last completed epoch ({self.n_iter_} epochs in "
                "history_) and can predict, or continue with warm_start=True."
            )
        raise interrupt

    def _read_checkpoint(self):
        """The state saved in ``checkpoint``, or None when there is none."""
        if self.checkpoint is None or not os.path.exists(self.checkpoint):
            return None
        try:
            return torch.load(self.checkpoint, map_location="cpu", weights_only=True)
        except Exception as exc:
            raise ValueError(
                f"Cannot read the checkpoint {os.fspath(self.checkpoint)!r} of "
                f"{type(self).__name__}: {exc}. Delete the file to train from scratch."
            ) from exc

    def _fingerprint(self, X3, lengths, target, weights):
        """Hash of the data and of the parameters that define the model.

        A checkpoint resumes only a fit with the same fingerprint, so that a
        clone fitted on other data (a cross-validation fold) never starts
        from weights trained on its test data.
        """
        params = self.get_params()
        defining = [(k, params[k]) for k in sorted(params) if k not in _RUN_PARAMS]
        digest = hashlib.sha256(type(self).__name__.encode())
        digest.update(repr(defining).encode())
        for array in (X3, lengths, target, weights):
            digest.update(np.ascontiguousarray(array).tobytes())
        return digest.hexdigest()

    def _check_fingerprint(self, state, fingerprint):
        if state.get("fingerprint") != fingerprint:
            raise ValueError(
                f"The checkpoint {os.fspath(self.checkpoint)!r} was written by a fit of "
                f"{type(self).__name__} on other data or with other parameters, so "
                "warm_start=True cannot resume from it. A checkpoint resumes only the fit "
                "that wrote it: give each fit (each cross-validation clone, for example) "
                "its own checkpoint path, or delete the file to train from scratch."
            )

    def _restore_checkpoint(self, state):
        """Load a checkpoint into ``net_``; return the epochs its fit had left."""
        from skorch.history import History

        net = self.net_
        try:
            net.module_.load_state_dict(state["module"])
            net.optimizer_.load_state_dict(state["optimizer"])
            history = History(json.loads(state["history"]))
        except (KeyError, RuntimeError, ValueError) as exc:
            raise ValueError(
                f"The checkpoint {os.fspath(self.checkpoint)!r} does not match this "
                f"{type(self).__name__} (different architecture, data or sklrnn "
                f"version?): {exc}. Delete the file or set checkpoint to another path."
            ) from exc
        net.history_ = history
        if state["generator"] is not None:
            net.generator_.set_state(state["generator"])
        # Applied by the checkpoint callback once the others have reset (a net
        # first fitted without a checkpoint has none: their state starts anew).
        # A finished fit's callbacks are not carried over: continuing it is a
        # new training call, with its own learning-rate schedule and patience,
        # as warm_start without a checkpoint.
        callback = dict(net.callbacks_).get("checkpoint")
        if callback is not None and state["epochs_left"] > 0:
            callback.resume_state_ = state
        return state["epochs_left"]

    def _resolve_device(self):
        if self.device == "auto":
            return "cuda" if torch.cuda.is_available() else "cpu"
        try:
            device = torch.device(self.device)
        except RuntimeError as exc:
            raise ValueError(
                f"device={self.device!r} is not a valid torch device; use 'cpu', "
                "'cuda', 'cuda:N' or 'auto'."
            ) from exc
        if device.type == "cuda" and not torch.cuda.is_available():
            raise ValueError(
                f"device={self.device!r} was requested but CUDA is not available on "
                "this machine; use device='cpu' or device='auto'."
            )
        return self.device

    def _training_weights(self, sample_weight, X3, target):
        """Per-sample loss weights, normalized to average 1."""
        weights = _check_sample_weight(
            sample_weight, X3, dtype=np.float64, ensure_non_negative=True
        )
        weights = weights * self._class_weights(target)
        total = weights.sum()
        if not np.isfinite(total) or total <= 0:
            raise ValueError(
                "The sample weights sum to zero (or overflow): at least one sample "
                "needs a positive, finite weight."
            )
        return weights * (len(weights) / total)

    def _class_weights(self, target):
        return 1.0

    def _input_statistics(self, X3, lengths):
        """Per-feature mean and scale over all valid time steps."""
        n_features = X3.shape[2]
        if not self.standardize:
            return np.zeros(n_features), np.ones(n_features)
        # Two passes in float64 over chunks of samples: memory stays a small
        # fraction of the data's. Padding is zero, so it adds nothing to the
        # first pass's sum and is masked out of the second's.
        count = lengths.sum()
        total = X3.sum(axis=(0, 1), dtype=np.float64)
        mean = total / count
        squares = np.zeros(n_features)
        chunk = max(1, (1 << 18) // (X3.shape[1] * n_features))  # 2 MB of float64
        for start in range(0, len(X3), chunk):
            dev = X3[start : start + chunk] - mean
            dev[np.arange(X3.shape[1])[None, :] >= lengths[start : start + chunk, None]] = 0.0
            squares += np.einsum("ntf,ntf->f", dev, dev)
        scale = np.sqrt(squares / count)
        scale[scale < 1e-12 * np.maximum(1.0, np.abs(mean))] = 1.0
        return mean, scale

    def _epoch_budget(self, n_samples):
        if self.max_epochs != "auto":
            return self.max_epochs
        n_batches = -(-n_samples // self.batch_size)
        return int(np.clip(-(-_AUTO_STEPS // n_batches), _AUTO_MIN_EPOCHS, _AUTO_MAX_EPOCHS))

    def _build_net(self, device):
        # First, so that it checks each epoch before any callback acts on it.
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
            callbacks.append(("lr_schedule", WarmupCosine(warmup=_WARMUP_FRACTION)))
        if self.checkpoint is not None:  # after early stopping, to save its counters
            callbacks.append(("checkpoint", EpochCheckpoint(self.checkpoint)))
        callbacks.extend(self.callbacks or [])
        optimizer = OPTIMIZERS.get(self.optimizer, self.optimizer)
        module = {"module": RNNModule}
        if self.n_networks_ > 1:
            module = {
                "module": RNNEnsemble,
                "module__n_networks": self.n_networks_,
                "module__average": self._ensemble_average,
            }
        return SequenceNet(
            **module,
            module__n_features=self._n_channels,
            module__n_outputs=self._n_outputs(),
            module__cell_type=self.cell_type,
            module__hidden_size=self.hidden_size,
            module__num_layers=self.num_layers,
            module__bidirectional=self.bidirectional,
            module__dropout=self.dropout,
            module__readout=self.readout,
            module__conv_channels=self.conv_channels,
            module__strides=self.strides_,
            module__standardize=self.standardize,
            criterion=self._criterion(),
            criterion__reduction="mean",
            optimizer=optimizer,
            optimizer__weight_decay=self.weight_decay,
            **self._fused_optimizer(),
            lr=self.lr,
            batch_size=self.batch_size,
            max_epochs=1,
            train_split=None,
            callbacks=callbacks,
            device=device,
            verbose=self.verbose,
        )

    def _fused_optimizer(self):
        """Ask Adam and AdamW for torch's fused kernel: one pass over all tensors.

        Their default for-loop update runs several small ops per parameter
        tensor, which on the CPU costs more than the update's arithmetic.
        """
        return {"optimizer__fused": True} if self.optimizer in ("adam", "adamw") else {}

    def _check_finite_training(self):
        guard = dict(self.net_.callbacks_).get("training_guard")
        if guard is None or guard.diverged_ is None:  # None: a net pickled before guards
            return
        epoch = guard.restored_epoch_
        restored = f"epoch {epoch}" if epoch else "before this training call"
        warnings.warn(
            f"Training of {type(self).__name__} diverged: {guard.diverged_}. Training "
            f"stopped and the last finite weights (from {restored}) were restored. "
            "Lower lr, keep clip_grad_norm set, or standardize the input.",
            RuntimeWarning,
            stacklevel=3,
        )

    def _forward(self, X, variance=False):
        """Raw outputs of the module for X, as a float64 numpy array.

        With ``variance=True``, the module's ``mean_and_variance`` instead of
        its forward pass: an array of shape (n_samples, n_outputs, 2) holding
        the outputs and their variance.

        A big array or DataFrame is converted and run a chunk of samples at a
        time, so that memory beyond the input stays bounded (about 16 MB of
        float32 sequences, plus the outputs).
        """
        check_is_fitted(self)
        shape = getattr(X, "shape", ())
        if len(shape) not in (2, 3) or sp.issparse(X):
            return self._forward_chunk(X, variance=variance)
        per_sample = max(int(np.prod(shape[1:])), 1)  # values per sequence
        batch = self.batch_size
        chunk = max(batch, (_PREDICT_CHUNK_VALUES // per_sample) // batch * batch)
        if shape[0] <= chunk:
            return self._forward_chunk(X, variance=variance)
        return np.concatenate(
            [
                self._forward_chunk(_safe_indexing(X, slice(start, start + chunk)), start, variance)
                for start in range(0, shape[0], chunk)
            ]
        )

    def _forward_chunk(self, X, first_sample=0, variance=False):
        X3, lengths = validate_sequences(self, X, reset=False, first_sample=first_sample)
        if self.max_length is not None:
            X3, lengths = truncate(X3, lengths, self.max_length)
        n_samples, batch = len(X3), self.batch_size
        n_full = n_samples - n_samples % batch
        # Every batch runs at full batch_size: float32 matrix products round
        # differently for different numbers of rows, and a prediction must not
        # depend on how many sequences share its call. A last, partial batch
        # is padded with all-zero, full-length sequences.
        parts = [(X3[:n_full], lengths[:n_full], n_full)] if n_full else []
        if n_full < n_samples:
            tail = np.zeros((batch, *X3.shape[1:]), dtype=X3.dtype)
            tail[: n_samples - n_full] = X3[n_full:]
            tail_lengths = np.full(batch, X3.shape[1], dtype=lengths.dtype)
            tail_lengths[: n_samples - n_full] = lengths[n_full:]
            parts.append((tail, tail_lengths, n_samples - n_full))
        out, done = None, 0
        # Each batch's outputs go straight into one float64 array: no list of
        # small tensors kept alive between the batches' big temporaries (which
        # fragments the heap), no concatenation, no second copy.
        with torch.inference_mode():
            for part, part_lengths, n_valid in parts:
                dataset = SequenceDataset(part, part_lengths, device=self.net_.device)
                for batch_out in self._batch_outputs(dataset, variance):
                    if out is None:
                        out = np.empty((n_samples, *batch_out.shape[1:]), dtype=np.float64)
                    n = min(len(batch_out), n_valid)
                    out[done : done + n] = batch_out[:n].numpy()
                    done, n_valid = done + n, n_valid - n
        bad = ~np.isfinite(out.reshape(n_samples, -1)).all(axis=1)
        if bad.any():
            # Inputs within float32's range can still overflow once
            # standardized and multiplied by the weights; never return NaN.
            raise ValueError(
                f"{type(self).__name__} computed non-finite outputs for {bad.sum()} of "
                f"the {len(out)} sequences in X (first: sample "
                f"{np.flatnonzero(bad)[0] + first_sample}): "
                f"values up to |x| = {np.abs(X3).max():.3g} are too large for the "
                "network's float32 arithmetic. Rescale X to the range of the training "
                "data."
            )
        return out

    def _batch_outputs(self, dataset, variance):
        """The module's outputs for each batch of ``dataset``, as CPU tensors."""
        if not variance:
            yield from self.net_.forward_iter(dataset, training=False, device="cpu")
            return
        module = self.net_.module_
        module.eval()
        for Xi, _ in self.net_.get_iterator(dataset, training=False):
            mean, var = module.mean_and_variance(Xi["X"], Xi["lengths"])
            yield torch.stack([mean, var], dim=-1).cpu()

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
        current = _versions()
        changed = _changed_versions(state.pop("_sklrnn_versions", None), current)
        if changed:
            warnings.warn(
                f"Unpickling {type(self).__name__} saved with {changed}, with "
                f"sklrnn {current['sklrnn']}, torch {current['torch']} and skorch "
                f"{current['skorch']} installed. The model was restored, but may "
                "behave differently; refit it to be sure.",
                InconsistentVersionWarning,
                stacklevel=2,
            )
        if isinstance(state.get("net_"), bytes):
            try:
                state["net_"] = pickle.loads(state["net_"])
            except Exception as exc:
                raise pickle.UnpicklingError(
                    f"Cannot restore the torch model of this {type(self).__name__}, "
                    f"saved with {changed or 'the installed versions'}: {exc!r}. Load "
                    "it with the versions it was saved with, or refit it."
                ) from exc
            state["history_"] = state["net_"].history
        super().__setstate__(state)


def _changed_versions(saved, current):
    """Which saved versions differ from the running ones, as text ('' if none)."""
    if saved is None:
        return "an unknown older sklrnn version"
    differ = [
        f"{name} {saved.get(name)}"
        for name in current
        if str(saved.get(name)).split("+")[0] != current[name].split("+")[0]
    ]
    return ", ".join(differ)


def _silent(*args, **kwargs):
    """A sink for skorch messages that should not reach the user's console."""


# torch's global generator is shared by all threads; whoever seeds it holds
# this lock until the state is restored.
_TORCH_RNG_LOCK = threading.RLock()


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
        _TORCH_RNG_LOCK.acquire()
        try:
            self._fork = torch.random.fork_rng(devices=self.devices)
            self._fork.__enter__()
            torch.manual_seed(self.seed)
        except BaseException:
            _TORCH_RNG_LOCK.release()
            raise

    def __exit__(self, *exc):
        try:
            return self._fork.__exit__(*exc)
        finally:
            _TORCH_RNG_LOCK.release()
