"""skorch glue: in-memory data, batch iterator, validation split, the net.

skorch's default data path wraps every sample in a Dataset and collates
batches in Python, which costs more than the arithmetic of a small recurrent
net. Here the whole data set is a few tensors placed on the device once, and a
batch is one index operation; skorch still runs the loop, the callbacks, the
history and the device handling.
"""

import contextlib
import copy
import json
import math
import os
import secrets
import sys

import numpy as np
import torch
import tqdm
from sklearn.model_selection import train_test_split
from sklearn.utils import ClassifierTags
from skorch import NeuralNet
from skorch.callbacks import Callback, EarlyStopping, LRScheduler, PrintLog, ProgressBar
from skorch.history import History
from skorch.utils import Ansi

from ._archive import (
    CHECKPOINT_JSON,
    FORMAT_VERSION,
    MODEL_JSON,
    OPTIMIZER,
    WEIGHTS,
    Archive,
    check_format,
    check_history,
    check_statistics,
    describe,
    is_finite_number,
    optimizer_from_archive,
    optimizer_to_archive,
    plain,
    tensor_spec,
    tensors_to_bytes,
    write_archive,
)
from ._data import counted
from ._module import RNNEnsemble, networks_of

__all__ = [
    "SequenceDataset",
    "BatchIterator",
    "ValidationSplit",
    "SequenceNet",
    "SequenceClassifierNet",
    "EarlyStoppingIfValid",
    "WarmupCosine",
    "NetworkGradientClipping",
    "StopTraining",
    "TrainingGuard",
    "EpochCheckpoint",
    "Checkpoint",
    "read_checkpoint",
    "ProgressBarIfSlow",
    "set_dropout_rng",
    "PREDICT_BATCH_LIMIT",
]


# The names of sklrnn's own callbacks, and the parameters they serve.
OWN_CALLBACKS = {
    "training_guard": "every fit (divergence checks)",
    "clip_grad_norm": "clip_grad_norm",
    "early_stopping": "early_stopping=True",
    "progress_bar": "verbose=2",
    "lr_schedule": "lr_schedule",
    "checkpoint": "checkpoint",
}

# The names of skorch's default callbacks (NeuralNet.get_default_callbacks).
SKORCH_DEFAULT_CALLBACKS = ("epoch_timer", "train_loss", "valid_loss", "print_log")

# Prediction and validation batches hold at most this many sequences,
# whatever batch_size is: predict pads its last batch to a full one.
PREDICT_BATCH_LIMIT = 4096


class SequenceDataset(torch.utils.data.Dataset):
    """Padded sequences, lengths, targets and sample weights as tensors.

    ``X``, ``y`` and ``sample_weight`` live on ``device``; ``lengths`` stays on
    the CPU, where the module reads the longest length of a batch without
    waiting for the device. A float32 ``X`` on the CPU is used in place,
    without a copy. Sample weights that are all 1 are stored as None, so that
    the loss of a batch is the criterion's own mean.
    """

    def __init__(self, X, lengths, y=None, sample_weight=None, device="cpu"):
        self.X = torch.as_tensor(X, dtype=torch.float32, device=device)
        self.lengths = torch.as_tensor(lengths, dtype=torch.int64)
        # Whether some sequence is shorter than X: only then can a batch drop steps.
        self.padded = bool(len(self.lengths)) and int(self.lengths.min()) < self.X.shape[1]
        self.y = None if y is None else torch.as_tensor(y, device=device)
        if sample_weight is not None:
            sample_weight = np.asarray(sample_weight, dtype=np.float32)
            if np.all(sample_weight == 1):
                sample_weight = None
        self.sample_weight = (
            None
            if sample_weight is None
            else torch.as_tensor(sample_weight, dtype=torch.float32, device=device)
        )
        # Row of X of each sample; None when the samples are the rows of X.
        self.rows = None
        # Per-sample features the batches carry beside X (see cache_kernel_features).
        self.kernel_features = None

    def __len__(self):
        return len(self.lengths)

    def batch(self, index):
        """The batch at ``index`` (a slice or a CPU LongTensor of positions).

        Its sequences keep the steps of the longest of them only: the steps
        after it are padding, which the module would drop, and copying them
        would cost as much as the batch's own (or, with one long sequence
        among short ones, far more).
        """
        on_device = index
        if not isinstance(index, slice) and index.device != self.X.device:
            on_device = index.to(self.X.device)
        rows = on_device if self.rows is None else self.rows[on_device]
        lengths = self.lengths[index]
        X = self.X
        if self.padded and len(lengths):
            X = X[:, : int(lengths.max())]
        Xi = {"X": X[rows], "lengths": lengths}
        if self.kernel_features is not None:
            Xi["kernel_features"] = self.kernel_features[rows]
        if self.sample_weight is not None:
            Xi["sample_weight"] = self.sample_weight[on_device]
        yi = None if self.y is None else self.y[on_device]
        return Xi, yi

    def __getitem__(self, i):
        """Sample ``i``, its steps up to its own length (see :meth:`batch`)."""
        Xi, yi = self.batch(slice(i, i + 1))
        return {k: v[0] for k, v in Xi.items()}, (None if yi is None else yi[0])

    @torch.no_grad()
    def cache_kernel_features(self, module, seed=None, chunk=256):
        """Compute ``module.kernel_features`` of every sample once, for the batches to carry.

        The random kernels are fixed, so that their features serve every
        epoch. With a ``seed``, the kernels are first drawn from these
        sequences (``module.fit_kernels``).
        """
        if seed is not None:
            self.kernel_features = module.fit_kernels(self.X, self.lengths, seed)
            return
        self.kernel_features = torch.cat(
            [
                module.kernel_features(self.X[i : i + chunk], self.lengths[i : i + chunk])
                for i in range(0, len(self.X), chunk)
            ]
        )

    def subset(self, index):
        """A dataset of the samples at ``index`` (numpy integer array).

        The new dataset shares ``X`` with this one and keeps the positions of
        its rows, so that a validation split costs no copy of the sequences.
        """
        new = object.__new__(SequenceDataset)
        idx = torch.as_tensor(index, dtype=torch.int64)
        on_device = idx.to(self.X.device)
        new.X = self.X
        new.padded = self.padded
        new.kernel_features = self.kernel_features
        new.rows = on_device if self.rows is None else self.rows[on_device]
        new.lengths = self.lengths[idx]
        new.y = None if self.y is None else self.y[on_device]
        new.sample_weight = None if self.sample_weight is None else self.sample_weight[on_device]
        return new


class BatchIterator:
    """Mini-batches of a :class:`SequenceDataset`, taken by index.

    Shuffling draws from ``generator`` (a ``torch.Generator`` seeded by the
    estimator, or torch's global generator when None), so a fit with a fixed
    ``random_state`` sees the same batches every time, also when other
    threads fit at the same time. With ``equal_sizes``, a shuffled pass is
    split into the same number of batches, ``ceil(n / batch_size)``, of
    sizes that differ by at most one, instead of full batches and a
    remainder: no step then normalizes and updates on a handful of sequences.
    """

    def __init__(self, dataset, batch_size, shuffle=False, generator=None, equal_sizes=False):
        self.dataset = dataset
        self.batch_size = batch_size
        self.shuffle = shuffle
        self.generator = generator
        self.equal_sizes = equal_sizes

    def __len__(self):
        return -(-len(self.dataset) // self.batch_size)

    def __iter__(self):
        n = len(self.dataset)
        if not self.shuffle:
            for start in range(0, n, self.batch_size):
                yield self.dataset.batch(slice(start, start + self.batch_size))
            return
        order = torch.randperm(n, generator=self.generator)
        if self.equal_sizes and n:
            batches = order.tensor_split(len(self))
        else:
            batches = order.split(self.batch_size)
        for index in batches:
            yield self.dataset.batch(index)


class ValidationSplit:
    """Hold out a fraction of a :class:`SequenceDataset` for validation.

    Stratified by class for classifiers when every class has at least two
    members. Holds out ``ceil(fraction * n)`` sequences, but at most
    ``n - 1``; a single sequence gets no validation set.
    """

    def __init__(self, fraction, stratified, random_state):
        self.fraction = fraction
        self.stratified = stratified
        self.random_state = random_state

    @staticmethod
    def size(n, fraction):
        """Sequences held out of ``n`` for validation (0 for a single sequence).

        A fraction near 1 leaves one sequence to train on rather than none:
        at 0.99 of 60, early stopping was off without a word.
        """
        return min(int(np.ceil(fraction * n)), n - 1)

    def __call__(self, dataset, y=None, **kwargs):
        n = len(dataset)
        n_valid = self.size(n, self.fraction)
        if not n_valid:
            return dataset, None
        labels = None
        if self.stratified:
            labels = dataset.y.cpu().numpy()
            counts = np.unique(labels, return_counts=True)[1]
            if counts.min() < 2 or n_valid < len(counts) or n - n_valid < len(counts):
                labels = None
        train, valid = train_test_split(
            np.arange(n), test_size=n_valid, stratify=labels, random_state=self.random_state
        )
        parts = dataset.subset(np.sort(train)), dataset.subset(np.sort(valid))
        for part in parts:
            # (A side whose weights all rounded to 0 in float32 keeps them.)
            if part.sample_weight is not None and part.sample_weight.sum() > 0:
                # Each side's weights average 1, so that both losses, sums of
                # weighted losses over as many sequences, are weighted means
                # on one scale (a side of heavier weights read as a higher loss).
                part.sample_weight = part.sample_weight * (len(part) / part.sample_weight.sum())
        return parts


def _clone_state(state):
    """A copy of a module's or optimizer's state dict, tensors cloned.

    Four to five times faster than ``copy.deepcopy``, which matters because
    the training guard takes a copy every few training steps
    (``benchmarks/bench_training_guard.py``).
    """
    if isinstance(state, torch.Tensor):
        return state.detach().clone()
    if isinstance(state, dict):
        copied = type(state)((key, _clone_state(value)) for key, value in state.items())
        if hasattr(state, "_metadata"):  # module state dicts carry versions
            copied._metadata = copy.deepcopy(state._metadata)
        return copied
    if type(state) in (list, tuple):
        return type(state)(_clone_state(value) for value in state)
    return copy.deepcopy(state)


class EarlyStoppingIfValid(EarlyStopping):
    """skorch's EarlyStopping, inactive in epochs without a validation loss."""

    def on_epoch_end(self, net, **kwargs):
        if self.monitor in net.history[-1]:
            super().on_epoch_end(net, **kwargs)

    def get_resume_state(self):
        """The counters and best weights a resumed fit needs, as a tuple."""
        return (
            int(self.misses_),
            float(self.dynamic_threshold_),
            int(self.best_epoch_),
            self.best_model_weights_,
        )

    def set_resume_state(self, state):
        """Continue the patience count of an interrupted fit (after on_train_begin)."""
        self.misses_, self.dynamic_threshold_, self.best_epoch_, weights = state
        self.best_model_weights_ = weights

    def on_train_end(self, net, **kwargs):
        if not len(net.history):  # interrupted before the first epoch completed
            return
        super().on_train_end(net, **kwargs)
        if self.best_model_weights_ is not None:
            # Which epoch's weights the model holds now, for plots and
            # reports (the improvement flags in the history ignore the
            # threshold that decides the best epoch here).
            net.history.record("best_epoch", int(self.best_epoch_))


class NetworkGradientClipping(Callback):
    """Clip the gradient norm of each network separately.

    Each network's gradient is that of its own loss (``train_step_single``),
    clipped at ``max_norm`` as a network trained alone would be. One joint
    norm over all networks would couple them.

    Parameters
    ----------
    max_norm : float
        Largest gradient norm of one network's own loss.
    """

    def __init__(self, max_norm):
        self.max_norm = max_norm

    def on_grad_computed(self, net, named_parameters, **kwargs):
        for network in networks_of(net.module_):
            torch.nn.utils.clip_grad_norm_(network.parameters(), self.max_norm)


class WarmupCosine(Callback):
    """Learning-rate schedule: linear warm-up, then cosine decay to 0, by batch.

    Over the first ``warmup`` fraction of ``total_steps`` training batches
    the learning rate rises linearly from ``lr / warmup_steps`` to the net's
    ``lr``; over the remaining batches it falls to 0 along half a cosine.
    With ``total_steps=None`` the learning rate stays at ``lr``.

    Parameters
    ----------
    total_steps : int or None, default=None
        Training batches the schedule spans, set by the estimator before
        every training call; a resumed fit continues the schedule of the
        interrupted one (see :meth:`set_resume_state`).
    warmup : float, default=0.05
        Fraction of the steps spent warming up.
    """

    def __init__(self, total_steps=None, warmup=0.05):
        self.total_steps = total_steps
        self.warmup = warmup

    def on_train_begin(self, net, **kwargs):
        self.step_ = 0
        if not self.total_steps:  # back to lr after a scheduled training call
            for group in net.optimizer_.param_groups:
                group["lr"] = net.lr

    def factor(self, step):
        """Multiplier of ``lr`` at a 0-based training step."""
        warmup_steps = max(1, math.ceil(self.warmup * self.total_steps))
        if step < warmup_steps:
            return (step + 1) / warmup_steps
        progress = (step - warmup_steps) / max(1, self.total_steps - warmup_steps)
        return 0.5 * (1.0 + math.cos(math.pi * min(progress, 1.0)))

    def on_batch_begin(self, net, training=False, **kwargs):
        if not training or not self.total_steps:
            return
        lr = net.lr * self.factor(self.step_)
        for group in net.optimizer_.param_groups:
            group["lr"] = lr
        self.step_ += 1

    def get_resume_state(self):
        """What a resumed fit needs: the steps taken and the steps the schedule spans."""
        return {"step": int(self.step_), "total_steps": self.total_steps}

    def set_resume_state(self, state):
        """Continue the schedule of an interrupted fit (after on_train_begin).

        Its span too: the resumed fit trains the epochs the interrupted one
        had left, whatever ``max_epochs`` is now.
        """
        self.step_, self.total_steps = state["step"], state["total_steps"]


def _built_in(name):
    """Whether the net's callback ``name`` is sklrnn's own or one of skorch's defaults."""
    return name in OWN_CALLBACKS or name in SKORCH_DEFAULT_CALLBACKS


def _asks_to_stop(name, callback):
    """Whether a KeyboardInterrupt from ``callback`` at the end of an epoch is a stop request.

    Early stopping asks so once its patience runs out, and the user's
    callbacks may (skorch's idiom); sklrnn's other callbacks and skorch's
    defaults never do. Any other is a Ctrl-C that landed during their work
    (writing the checkpoint, copying weights, printing the log).
    """
    if isinstance(callback, EarlyStopping):
        return callback.misses_ >= callback.patience
    return not _built_in(name)


class StopTraining(KeyboardInterrupt):
    """Ends training at the end of an epoch or on divergence, as skorch expects.

    skorch ends its loop on ``KeyboardInterrupt`` (its ``EarlyStopping`` raises
    one); this subclass tells such a requested stop apart from an interrupt
    from outside (Ctrl-C), which :class:`SequenceNet` reports to the caller.
    """


def _finite_params(module):
    # Buffers too: batch norm's running variance can overflow while every
    # weight is still finite, and evaluation would then return NaN. A NaN
    # makes a tensor's minimum and maximum NaN, and an infinity is one of
    # them: one aminmax pass per tensor checks it, in a third of the time of
    # isfinite().all(), which runs after every epoch
    # (benchmarks/bench_training_guard.py).
    state = module.state_dict().values()
    extremes = [torch.stack(torch.aminmax(t)) for t in state if t.is_floating_point() and t.numel()]
    return bool(torch.cat(extremes).isfinite().all()) if extremes else True


class TrainingGuard(Callback):
    """Keep a recent good training state and fall back to it.

    After an epoch whose losses and weights are all finite, a copy of the
    module's and the optimizer's state is kept in memory (about 2 MB for the
    default model, checked and copied in about 0.7 ms). The copy is taken
    after every epoch with a validation pass, and otherwise once at least
    ``every`` training steps have run since the last one: after every epoch
    of ``every`` batches or more, and after every few epochs of smaller data,
    where one copy per one-batch epoch would cost about 11% of the training
    time (``benchmarks/bench_training_guard.py``). A non-finite batch loss
    (training or validation) found at the end of an epoch, or non-finite
    weights or buffers found when the copy is taken or training ends, stop
    training. The losses are checked once per epoch, when they are read from
    the device, so that no batch waits for the host. When training ends
    inside an epoch -- divergence, or an interrupt such as Ctrl-C -- the copy
    is restored and the history is cut back to the epochs it holds, so that
    the model, its optimizer and ``history`` agree.

    Parameters
    ----------
    every : int, default=4
        Fewest training steps between two copies.

    Attributes
    ----------
    diverged_ : str or None
        What went non-finite in the last training call, or None.
    restored_epoch_ : int or None
        Number of the epoch whose weights were restored, counted over the
        history (0: the initial weights, before any epoch), or None when
        nothing was restored.
    """

    def __init__(self, every=4):
        self.every = every

    def on_train_begin(self, net, **kwargs):
        self.diverged_ = None
        self.restored_epoch_ = None
        self._in_epoch = False
        self._keep(net)

    def _keep(self, net):
        # Copied first, then kept with their epoch count: a Ctrl-C during
        # the copy leaves the previous copy and its count.
        module_state = _clone_state(net.module_.state_dict())
        optimizer_state = _clone_state(net.optimizer_.state_dict())
        n_epochs = len(net.history)
        self._module_state, self._optimizer_state = module_state, optimizer_state
        self._n_epochs = n_epochs
        self._steps = 0  # training steps since the copy

    def on_epoch_begin(self, net, **kwargs):
        self._in_epoch = True

    def on_epoch_end(self, net, **kwargs):
        # The batch losses are read once per epoch (SequenceNet), and checked
        # here: a divergence mid-epoch is caught at the epoch's end.
        epoch = len(net.history)
        batches = net.history[-1]["batches"]
        for which in ("train", "valid"):
            losses = [b.get(f"{which}_loss", 0.0) for b in batches]
            bad = [value for value in losses if not math.isfinite(value)]
            if bad:
                which = "training" if which == "train" else "validation"
                self.diverged_ = f"the {which} loss became {bad[0]} in epoch {epoch}"
                raise StopTraining
        self._steps += sum("train_loss" in b for b in batches)
        # Early stopping may restore an epoch validated since a copy: copying
        # after every validated epoch keeps the copy no older than it.
        if self._steps >= self.every or "valid_loss" in net.history[-1]:
            if not self._finite(net):
                raise StopTraining
            self._keep(net)
        self._in_epoch = False

    def _finite(self, net):
        """Whether the weights are finite; records the divergence if not."""
        if _finite_params(net.module_):
            return True
        first, last = self._n_epochs + 1, len(net.history)
        epochs = f"epoch {last}" if first == last else f"epochs {first} to {last}"
        self.diverged_ = f"the weights became non-finite in {epochs}"
        return False

    def __getstate__(self):
        # Training that ended in an exception skorch does not catch leaves
        # the copies behind; they are not part of the model.
        state = self.__dict__.copy()
        state.pop("_module_state", None)
        state.pop("_optimizer_state", None)
        return state

    def on_train_end(self, net, **kwargs):
        if not (self._in_epoch or self.diverged_) and len(net.history) > self._n_epochs:
            self._finite(net)  # the weights of the epochs since the copy
        if self._in_epoch or self.diverged_:
            net.module_.load_state_dict(self._module_state)
            net.optimizer_.load_state_dict(self._optimizer_state)
            del net.history[self._n_epochs :]
            self.restored_epoch_ = self._n_epochs
        self._module_state = self._optimizer_state = None  # not part of the model


class EpochCheckpoint(Callback):
    """Save what a resumed fit needs to ``path`` after every completed epoch.

    The file is a zip archive in the format of :func:`sklrnn.save_model`
    (format ``"sklrnn-checkpoint"``, the same format version):
    ``checkpoint.json`` holds the fingerprint, how many epochs of the current
    fit remain, whether it finished (its training ended, early stopping's
    best weights restored and the heads solved: :meth:`finish`, which the
    estimator calls), the history, the structure of the
    optimizer's state and the counters of the early-stopping and
    learning-rate-schedule callbacks; ``weights.safetensors``,
    ``optimizer.safetensors``, ``best_weights.safetensors`` (early
    stopping's best weights, when there are some) and ``rng.safetensors``
    (the states of the shuffling generator and of the generator dropout
    draws from) hold the tensors. It is written to a fresh temporary file
    beside ``path`` and renamed over it. :func:`read_checkpoint` reads it
    back.

    Place the callback after early stopping and the schedule: an epoch's
    saved state then includes their update for that epoch, and a resumed
    fit's state (``resume``) is applied after they have reset themselves in
    ``on_train_begin``.

    The estimator sets ``fingerprint``, ``epochs``, ``resume`` and
    ``new_fit`` with the callback's ``set_params`` before every training
    call, and resets ``resume`` to None after it.

    Parameters
    ----------
    path : str or path-like
        File to write.
    fingerprint : str, default=None
        Hash of the fit's data and parameters, saved with the state; the
        estimator resumes only a fit with the same fingerprint.
    epochs : int, default=None
        Epochs the training call runs; the file records how many of them
        are left after each epoch.
    resume : dict, default=None
        State of the early-stopping and learning-rate-schedule callbacks of
        the interrupted fit this training call resumes, by callback name
        (as :meth:`Checkpoint.restore` returns it); None when it resumes
        nothing.
    new_fit : bool, default=False
        Whether this training call starts a fit of its own (a new net that
        resumes nothing): ended before it wrote an epoch (interrupted, or
        diverged, in its first), it removes the file, which another fit
        wrote, so that no later fit resumes that one in its place.
    """

    def __init__(self, path, fingerprint=None, epochs=None, resume=None, new_fit=False):
        self.path = path
        self.fingerprint = fingerprint
        self.epochs = epochs
        self.resume = resume
        self.new_fit = new_fit

    def on_train_begin(self, net, **kwargs):
        self._start = len(net.history)
        self._written = False
        callbacks = dict(net.callbacks_)
        for name, state in (self.resume or {}).items():
            if state is not None and name in callbacks:
                callbacks[name].set_resume_state(state)

    def on_epoch_end(self, net, **kwargs):
        self._save(net, self.epochs - (len(net.history) - self._start))

    def on_train_end(self, net, **kwargs):
        if self.new_fit and not self._written:
            with contextlib.suppress(OSError):  # absent, or a folder that cannot change
                os.remove(self.path)

    def finish(self, net):
        """Write the finished fit, unless its training diverged.

        The estimator calls it once the training call has ended, early
        stopping's best weights are restored and the heads solved in closed
        form: the file then holds the model it keeps. Until then the file
        is the last epoch's, unfinished (an interrupted fit raises before).
        """
        if not _diverged(net):
            self._save(net, 0, finished=True)

    def _save(self, net, epochs_left, finished=False):
        callbacks = dict(net.callbacks_)
        optimizer, optimizer_tensors = optimizer_to_archive(net.optimizer_.state_dict())
        rng = {"dropout": _dropout_rng(net.device), "generator": net.generator_.get_state()}
        config = {
            "format": _CHECKPOINT_FORMAT,
            "format_version": FORMAT_VERSION,
            "fingerprint": self.fingerprint,
            "epochs_left": int(epochs_left),
            "finished": finished,
            "history": net.history.to_list(),
            "optimizer": optimizer,
            "dropout_device": torch.device(net.device).type,
            "early_stopping": None,
            "lr_schedule": None,
        }
        members = {
            WEIGHTS: tensors_to_bytes(net.module_.state_dict()),
            OPTIMIZER: tensors_to_bytes(optimizer_tensors),
            _RNG: tensors_to_bytes(rng),
        }
        if "early_stopping" in callbacks:
            misses, threshold, best_epoch, best = callbacks["early_stopping"].get_resume_state()
            config["early_stopping"] = {
                "misses": misses,
                "dynamic_threshold": threshold,
                "best_epoch": best_epoch,
            }
            if best is not None:
                members[_BEST_WEIGHTS] = tensors_to_bytes(best)
        if "lr_schedule" in callbacks:
            config["lr_schedule"] = callbacks["lr_schedule"].get_resume_state()
        members[CHECKPOINT_JSON] = json.dumps(config, default=plain).encode("utf-8")
        path = os.fspath(self.path)
        # A fresh temporary file beside the target, renamed over it: a crash
        # mid-write never leaves a truncated file. Its name is random, so that
        # fits running in parallel never share it, of a fixed length (any
        # checkpoint name fits the file system's limit), and chosen before the
        # file is created (with O_EXCL, which never follows a planted
        # symlink), so that an interrupt at any point after leaves no file.
        folder = os.path.dirname(os.path.abspath(path))
        tmp = os.path.join(folder, f"sklrnn-{secrets.token_hex(8)}.tmp")
        try:
            flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0)
            fd = os.open(tmp, flags, 0o666)  # as open() creates files (umask applies)
            with os.fdopen(fd, "wb") as fh:
                write_archive(fh, members, f"checkpoint {path!r}")
            os.replace(tmp, path)
            self._written = True
        except BaseException as exc:
            if not isinstance(exc, FileExistsError):  # then not this fit's file
                with contextlib.suppress(OSError):  # never created, or gone with its folder
                    os.unlink(tmp)
            if isinstance(exc, OSError):  # the folder was removed or made read-only mid-fit
                raise _unwritable(path, exc) from exc
            raise


def _unwritable(path, exc):
    """The OSError of a checkpoint that cannot be written, naming it and the fix."""
    kept = (
        "the file holds the last epoch written"
        if os.path.isfile(path)
        else "no file holds an epoch of this fit"
    )
    return OSError(
        f"Cannot write checkpoint={path!r} ({exc}); {kept}. Make its folder writable and "
        "resume with warm_start=True, or set checkpoint=None."
    )


_CHECKPOINT_FORMAT = "sklrnn-checkpoint"
_BEST_WEIGHTS, _RNG = "best_weights.safetensors", "rng.safetensors"
_CHECKPOINT_FIELDS = (
    "format",
    "format_version",
    "fingerprint",
    "epochs_left",
    "finished",
    "history",
    "optimizer",
    "dropout_device",
    "early_stopping",
    "lr_schedule",
)


def read_checkpoint(path):
    """Read the checkpoint file at ``path`` as untrusted, and check its JSON.

    The archive is read as :func:`sklrnn.load_model` reads a model file,
    its JSON now; the tensors are read, and checked against the net, when
    :meth:`Checkpoint.restore` loads them.

    Parameters
    ----------
    path : str or path-like
        A file written by :class:`EpochCheckpoint`.

    Returns
    -------
    checkpoint : Checkpoint

    Raises
    ------
    ValueError
        Naming the file and what is wrong with it.
    """
    where = describe(path, "Checkpoint")
    with _open_checkpoint(path, where) as archive:
        config = archive.read_json(CHECKPOINT_JSON)
    check_format(config, where, CHECKPOINT_JSON, _CHECKPOINT_FORMAT, _CHECKPOINT_FIELDS)
    fingerprint, epochs_left = config["fingerprint"], config["epochs_left"]
    if not (fingerprint is None or isinstance(fingerprint, str)):
        raise ValueError(f"{where}: its fingerprint is malformed.")
    if not isinstance(epochs_left, int) or isinstance(epochs_left, bool) or epochs_left < 0:
        raise ValueError(f"{where}: epochs_left={str(epochs_left)[:40]} is not a count of epochs.")
    if not isinstance(config["finished"], bool) or config["finished"] and epochs_left:
        raise ValueError(f"{where}: finished={str(config['finished'])[:40]} is malformed.")
    if config["dropout_device"] not in ("cpu", "cuda"):
        raise ValueError(f"{where}: dropout_device is neither 'cpu' nor 'cuda'.")
    check_history(config["history"], where)
    stopping, schedule = config["early_stopping"], config["lr_schedule"]
    if stopping is not None and not (
        isinstance(stopping, dict)
        and set(stopping) == {"misses", "dynamic_threshold", "best_epoch"}
        and _is_count(stopping["misses"])
        and _is_count(stopping["best_epoch"])
        and stopping["best_epoch"] <= len(config["history"])
        # inf before a first validation score (none where the data was too
        # small to split)
        and (
            is_finite_number(stopping["dynamic_threshold"])
            or stopping["dynamic_threshold"] == math.inf
            and stopping["best_epoch"] == 0
        )
    ):
        raise ValueError(f"{where}: the early-stopping state is malformed.")
    if schedule is not None and not (
        isinstance(schedule, dict)
        and set(schedule) == {"step", "total_steps"}
        and _is_count(schedule["step"])
        and (schedule["total_steps"] is None or _is_count(schedule["total_steps"]))
    ):
        raise ValueError(f"{where}: the learning-rate schedule state is malformed.")
    return Checkpoint(path, where, config)


def _open_checkpoint(path, where):
    return Archive(
        path,
        where,
        required=(CHECKPOINT_JSON, WEIGHTS, OPTIMIZER, _RNG),
        optional=(_BEST_WEIGHTS,),
        mistaken={
            MODEL_JSON: "a model file of save_model, not a checkpoint: load it with "
            "load_model, or give a fit a path of its own as checkpoint."
        },
    )


# Counters in a checkpoint above this are refused: training never reaches
# them, and arithmetic on them would overflow a float.
_MAX_COUNT = 2**53


def _is_count(value):
    return isinstance(value, int) and not isinstance(value, bool) and 0 <= value <= _MAX_COUNT


class Checkpoint:
    """A checkpoint read by :func:`read_checkpoint`, its tensors not yet loaded.

    Attributes
    ----------
    fingerprint : str or None
        Hash of the data and parameters of the fit that wrote it.
    epochs_left : int
        Epochs its fit had left to train.
    finished : bool
        Whether its fit finished; with ``epochs_left`` 0 but not finished,
        it was stopped after its last epoch, before it ended.
    """

    def __init__(self, path, where, config):
        self._path = path
        self._where = where
        self._config = config
        self.fingerprint = config["fingerprint"]
        self.epochs_left = config["epochs_left"]
        self.finished = config["finished"]

    def restore(self, net, max_epochs, generator):
        """Check the tensors against ``net`` and load the whole state into it.

        Parameters
        ----------
        net : SequenceNet
            The initialized net of the fit to resume.
        max_epochs : int
            Epochs this fit may train; an unfinished fit may not have more left.
        generator : torch.Generator
            The generator the resumed fit shuffles with, set to the state of
            the interrupted fit's.

        Returns
        -------
        dropout_rng : Tensor or None
            The state of the generator dropout draws from, for an unfinished
            fit on a device of the same type; None otherwise.
        callback_states : dict or None
            For an unfinished fit, the state of its early-stopping and
            learning-rate-schedule callbacks, by name (None for one it did
            not have), for :class:`EpochCheckpoint`'s ``resume``; None
            otherwise.
        """
        where, config = self._where, self._config
        if self.epochs_left > max_epochs:
            raise ValueError(
                f"{where} has {counted(self.epochs_left, 'epoch')} left to train, more than "
                f"the {counted(max_epochs, 'epoch')} (max_epochs) of this fit. Set max_epochs "
                "to the value of the interrupted fit, or delete the file to train from scratch."
            )
        spec = tensor_spec(net.module_.state_dict())
        with _open_checkpoint(self._path, where) as archive:
            # The tensors must be those of the state read_checkpoint checked:
            # another fit sharing the path may have replaced the file since.
            # (Compared as text: a NaN loss is unequal to itself.)
            if json.dumps(archive.read_json(CHECKPOINT_JSON)) != json.dumps(config):
                raise ValueError(
                    f"{where} changed since this fit read it (another fit writing the same "
                    "path?). Give each fit its own checkpoint path."
                )
            weights = archive.read_tensors(WEIGHTS, spec)
            check_statistics(weights, where, WEIGHTS)
            best = None
            if _BEST_WEIGHTS in archive:
                best = archive.read_tensors(_BEST_WEIGHTS, spec)
                check_statistics(best, where, _BEST_WEIGHTS)
            stopping = config["early_stopping"]
            # Early stopping keeps the best epoch's weights from its first
            # epoch on; a best epoch of 0 with them was recorded in the history.
            if (best is not None) != bool(stopping and stopping["best_epoch"]):
                raise ValueError(
                    f"{where}: the early-stopping state is malformed (its best epoch and "
                    f"the member {_BEST_WEIGHTS} disagree)."
                )
            optimizer = optimizer_from_archive(
                net.optimizer_, config["optimizer"], archive, OPTIMIZER
            )
            rng_spec = {
                "dropout": (None, "U8"),
                "generator": tensor_spec({"g": generator.get_state()})["g"],
            }
            rng = archive.read_tensors(_RNG, rng_spec)
        same_device = config["dropout_device"] == torch.device(net.device).type
        dropout = rng["dropout"]
        # Each state into a scratch generator of its kind first: torch refuses
        # a malformed one only when it is set.
        _check_rng_state(torch.Generator(), rng["generator"], where, "shuffling")
        if same_device:
            scratch = torch.Generator(device=torch.device(net.device).type)
            _check_rng_state(scratch, dropout, where, "dropout")
        net.module_.load_state_dict(weights)
        net.optimizer_.load_state_dict(optimizer)
        net.history_ = History(config["history"])
        generator.set_state(rng["generator"])
        if self.finished:
            # A finished fit's callbacks are not carried over: continuing it is
            # a new training call, with its own learning-rate schedule and
            # patience, as warm_start without a checkpoint.
            return None, None
        stopping, schedule = config["early_stopping"], config["lr_schedule"]
        callback_states = {
            "early_stopping": None
            if stopping is None
            else (
                stopping["misses"],
                float(stopping["dynamic_threshold"]),
                stopping["best_epoch"],
                best,
            ),
            "lr_schedule": schedule,
        }
        return (dropout if same_device else None), callback_states


def _check_rng_state(scratch, state, where, name):
    try:
        scratch.set_state(state)
    except (RuntimeError, ValueError, TypeError) as exc:
        raise ValueError(
            f"{where}: the state of the {name} generator in {_RNG} is malformed ({exc})."
        ) from exc


def _dropout_rng(device):
    """State of the generator that dropout on ``device`` draws from."""
    device = torch.device(device)
    if device.type == "cuda":
        return torch.cuda.get_rng_state(device)
    return torch.get_rng_state()


def set_dropout_rng(state, device):
    """Set the state of the generator that dropout on ``device`` draws from."""
    device = torch.device(device)
    if device.type == "cuda":
        torch.cuda.set_rng_state(state, device)
    else:
        torch.set_rng_state(state)


def _diverged(net):
    guard = dict(net.callbacks_).get("training_guard")
    return guard is not None and guard.diverged_ is not None


class SequenceNet(NeuralNet):
    """A skorch ``NeuralNet`` fed by :class:`SequenceDataset` batches.

    The criterion must support ``reduction="none"`` and ``"mean"``, which
    ``get_loss`` switches between: the loss of a batch with sample weights is
    the mean of the per-sample losses times the weights, which the estimators
    normalize to average 1 over the data of a fit (``partial_fit`` by the
    same factor as the last fit); without sample weights it is the
    criterion's mean.

    Batches are drawn by :class:`BatchIterator`;
    ``iterator_train__equal_sizes=True`` splits each training epoch into
    batches of equal size. A skorch ``LRScheduler`` among the callbacks
    starts its schedule over in each training call, at ``lr``.
    ``partial_fit`` takes a ``generator`` (a
    ``torch.Generator``) that shuffles the training batches of that call,
    and raises again an interrupt (Ctrl-C) that skorch's loop swallowed,
    once the callbacks have wound training up. When it ends, the history's
    per-batch records are dropped; the per-epoch records stay.

    Attributes
    ----------
    generator_ : torch.Generator or None
        The generator of the current training call; the checkpoint callback
        saves its state.
    interrupted_ : KeyboardInterrupt or None
        An interrupt that no callback requested, during the current call.
    estimator_params_ : dict
        The ``get_params(deep=False)`` of the estimator that built the net,
        set by it: ``partial_fit`` continues this net only while they are
        unchanged, and rebuilds it otherwise.
    """

    def get_iterator(self, dataset, training=False, batch_size=None):
        # batch_size: the estimator's, which set_params may have changed since
        # it built this net (prediction reads it; a changed one rebuilds the
        # net for training).
        if batch_size is None:
            batch_size = self.batch_size if training else min(self.batch_size, PREDICT_BATCH_LIMIT)
        generator = getattr(self, "generator_", None)
        options = self.get_params_for("iterator_train") if training else {}
        return BatchIterator(
            dataset,
            batch_size,
            shuffle=training,
            generator=generator,
            equal_sizes=options.get("equal_sizes", False),
        )

    def partial_fit(self, X, y=None, classes=None, **fit_params):
        # skorch's partial_fit ends training on any KeyboardInterrupt and
        # returns; an interrupt that no callback requested (Ctrl-C) is raised
        # again here, once the callbacks have wound training up.
        try:
            super().partial_fit(X, y, classes, **fit_params)
        finally:
            # The per-batch records, whose number grows with the data, are
            # dropped once every callback has ended training (skorch's
            # checkpoints name their files after the last batch): a pickled
            # model's size should not depend on n_samples.
            for row in self.history:
                row["batches"] = []
        interrupt, self.interrupted_ = self.interrupted_, None
        if interrupt is not None:
            raise interrupt
        return self

    def fit_loop(self, X, y=None, epochs=None, generator=None, **fit_params):
        # generator: the torch.Generator that shuffles the training batches
        # of this call (torch's global one when None), passed to partial_fit.
        self.generator_ = generator
        self.interrupted_ = None
        try:
            return super().fit_loop(X, y, epochs=epochs, **fit_params)
        except KeyboardInterrupt as exc:
            if not isinstance(exc, StopTraining):
                self.interrupted_ = exc
            raise
        except Exception:
            # skorch ends training (on_train_end) after an interrupt only: on
            # another error (a callback's), the guard takes the model, its
            # optimizer and history back to the epochs it completed, as
            # after Ctrl-C, for the calls that keep them (warm_start, partial_fit).
            guard = dict(self.callbacks_).get("training_guard")
            if guard is not None:
                guard.on_train_end(self)
            raise

    def notify(self, method_name, **cb_kwargs):
        if method_name == "on_train_begin":
            return self._begin_training(**cb_kwargs)
        if method_name != "on_epoch_end":
            return super().notify(method_name, **cb_kwargs)
        # skorch's idiom: a callback raising KeyboardInterrupt at the end of
        # an epoch asks to stop (EarlyStopping does); that is no interrupt.
        # The epoch is kept, so every callback still sees it, as they would
        # not in skorch's loop: the user's (their scores in history_), the
        # checkpoint, PrintLog's row.
        self.on_epoch_end(self, **cb_kwargs)
        stop = None
        for name, callback in self.callbacks_:
            try:
                callback.on_epoch_end(self, **cb_kwargs)
            except KeyboardInterrupt as exc:
                if isinstance(exc, StopTraining) or not _asks_to_stop(name, callback):
                    raise  # a divergence, or a Ctrl-C (fit_loop tells them apart)
                stop = stop or exc
        if stop is not None:
            raise StopTraining from stop

    def _begin_training(self, **cb_kwargs):
        # A callback that loads a saved module (skorch's LoadInitState)
        # replaces the random kernels and input statistics from which the
        # dataset's kernel features were computed: computed again from the
        # loaded ones, as prediction will.
        dataset = cb_kwargs.get("X")
        features = getattr(dataset, "kernel_features", None)
        before = [b.clone() for b in self.module_.buffers()] if features is not None else None
        # A skorch LRScheduler schedules each training call from its start,
        # at lr, as lr_schedule does. skorch builds it at the epochs of the
        # history, from the rate the optimizer holds, which a warm start, a
        # loaded model or a resumed checkpoint had set back to lr: torch's
        # step-by-step formulas then scaled lr as if the schedule had reached
        # it (a warm start's cosine rose to 10 times lr), or failed for want
        # of the initial_lr of a scheduler that had not run before.
        schedulers = any(isinstance(c, LRScheduler) for _, c in self.callbacks_)
        for group in self.optimizer_.param_groups if schedulers else ():
            group["lr"] = self.lr
            group.pop("initial_lr", None)
        self.on_train_begin(self, **cb_kwargs)
        for _, callback in self.callbacks_:
            if isinstance(callback, LRScheduler):
                history, self.history = self.history, History()
                try:
                    callback.on_train_begin(self, **cb_kwargs)
                finally:
                    self.history = history
            else:
                callback.on_train_begin(self, **cb_kwargs)
        if before is not None and not all(map(torch.equal, before, self.module_.buffers())):
            dataset.cache_kernel_features(self.module_)

    def __getstate__(self):
        state = super().__getstate__()
        # Per-fit state: a generator cannot be pickled, an exception holds frames.
        state.pop("generator_", None)
        state.pop("interrupted_", None)
        return state

    def infer(self, x, method="forward", **fit_params):
        # method: which of the module's maps to run; forward goes through
        # __call__, so that hooks registered on the module run.
        if method == "forward":
            return self.module_(x["X"], x["lengths"], x.get("kernel_features"))
        return getattr(self.module_, method)(x["X"], x["lengths"])

    def get_loss(self, y_pred, y_true, X=None, training=False):
        weight = None if X is None else X.get("sample_weight")
        criterion = self.criterion_
        # Unweighted batches use the criterion's own mean, one fused op
        # forward and backward (half the cost of an explicit mean over
        # per-sample losses). The reduction is only switched when the kind of
        # batch changes, because setting a module attribute costs 5 to 10 us.
        reduction = "mean" if weight is None else "none"
        if criterion.reduction != reduction:
            criterion.reduction = reduction
        if training and isinstance(self.module_, RNNEnsemble):
            # One output per network in the last dimension, each network
            # scored against the same targets: the networks learn separately.
            y_true = y_true.unsqueeze(-1).expand(*y_true.shape, y_pred.shape[-1])
        loss = criterion(y_pred, y_true)
        if weight is None:
            return loss
        if loss.ndim > 1:  # several regression targets or networks
            loss = loss.reshape(len(loss), -1).mean(dim=1)
        return loss @ weight / len(loss)

    # -- per-batch overhead ------------------------------------------------
    # skorch's loop runs a few Python calls around every batch; for a small
    # recurrent net they cost several percent of the arithmetic. The public
    # methods below do what skorch's do, with less work per batch.

    def run_single_epoch(self, iterator, training, prefix, step_fn, **fit_params):
        # skorch's loop, with two changes. The batch size is read off the
        # lengths tensor instead of by skorch's get_len, which walks and
        # compares every entry of a batch. And the batch losses may stay on
        # the device until the epoch ends (losses_read_per_epoch).
        if iterator is None:
            return
        lazy = self.losses_read_per_epoch()
        rows, losses, count = [], [], 0
        try:
            for batch in iterator:
                self.notify("on_batch_begin", batch=batch, training=training)
                count += 1
                step = step_fn(batch, **fit_params)
                if lazy:
                    rows.append(self.history[-1]["batches"][-1])  # opened by on_batch_begin
                    losses.append(step["loss"].detach())
                else:
                    self.history.record_batch(prefix + "_loss", step["loss"].item())
                self.history.record_batch(prefix + "_batch_size", len(batch[0]["lengths"]))
                self.notify("on_batch_end", batch=batch, training=training, **step)
        finally:
            # Also when a batch raised: the losses of the batches that ran.
            values = torch.stack(losses).tolist() if losses else []
            for row, value in zip(rows, values, strict=False):
                row[prefix + "_loss"] = value
        self.history.record(prefix + "_batch_count", count)

    def losses_read_per_epoch(self):
        """Whether the batch losses stay on the device until the epoch ends.

        On a GPU they do, and are then read at once: reading each
        (``loss.item()``) would make the host wait for the GPU after every
        batch, and leave it idle while the next batch is prepared. Callbacks
        other than sklrnn's and skorch's defaults may read a batch's loss in
        the history when it ends, as skorch's loop lets them: with them, and
        on the CPU, where a read costs no wait, each is read at once.
        """
        return torch.device(self.device).type != "cpu" and all(
            _built_in(name) for name, _ in self.callbacks_
        )

    def train_step_single(self, batch, **fit_params):
        # skorch's, except that the training mode is set only when the module
        # is not in it already: skorch sets it on every module and submodule
        # before every batch, a walk that costs more than a small net's step.
        if not self.module_.training:
            self.module_.train()
            self.criterion_.train()
        Xi, yi = batch
        y_pred = self.infer(Xi, **fit_params)
        loss = self.get_loss(y_pred, yi, X=Xi, training=True)
        # An ensemble's loss is its networks' mean (the history's), and its
        # gradient their sum: each network's is that of its own loss, as
        # alone. The mean's, 1 / n of it, trained each at n times the weight
        # decay under Adam (which cancels a gradient's scale) and at lr / n
        # under SGD.
        networks = len(self.module_.networks) if isinstance(self.module_, RNNEnsemble) else 1
        (loss * networks if networks > 1 else loss).backward()
        return {"loss": loss, "y_pred": y_pred}

    def forward_iter(self, X, training=False, device="cpu", method="forward", batch_size=None):
        # skorch's loop, with the fitted check and the mode switch done once
        # per call instead of once per batch; ``method`` names the module's
        # map to run ("forward", "embed", "recurrent_states" or
        # "mean_and_variance"), ``batch_size`` the batches (get_iterator's).
        self.check_is_fitted()
        self.module_.train(training)
        dataset = self.get_dataset(X)
        for Xi, _ in self.get_iterator(dataset, training=training, batch_size=batch_size):
            with torch.set_grad_enabled(training):
                yp = self.infer(Xi, method=method)
            # Every map of the module returns one tensor: skorch's to_device
            # without its type dispatch (None leaves it where it is).
            yield yp if device is None else yp.to(device)

    def get_default_callbacks(self):
        return [
            (name, _QuietPrintLog() if name == "print_log" else callback)
            for name, callback in super().get_default_callbacks()
        ]

    def predict_proba(self, X):
        """The module's outputs for ``X``; an ensemble's training outputs averaged."""
        out = super().predict_proba(X)
        # One output per network in the last axis: skorch's scoring callbacks
        # replay the outputs that the epoch's training batches computed.
        return out.mean(axis=2) if out.ndim == 3 else out


class SequenceClassifierNet(SequenceNet):
    """A :class:`SequenceNet` whose ``predict`` returns class indices.

    As skorch's ``NeuralNetClassifier``, so that the scorers that callbacks
    such as skorch's ``EpochScoring`` call (``"accuracy"``, ``"f1_macro"``,
    ``"neg_log_loss"``) compare its predictions with the encoded targets the
    net trains on.
    """

    def predict_proba(self, X):
        """Class probabilities of ``X``: the softmax of the outputs over the classes."""
        outputs = self.forward_iter(X, training=False)
        proba = torch.cat([torch.softmax(out.detach(), dim=1).cpu() for out in outputs]).numpy()
        # An ensemble's training outputs averaged, as SequenceNet's.
        return proba.mean(axis=2) if proba.ndim == 3 else proba

    def predict(self, X):
        """Class indices of ``X``: positions in the estimator's ``classes_``."""
        return self.predict_proba(X).argmax(axis=1)

    @property
    def classes_(self):
        """The classes the net predicts: the indices 0 to n_classes - 1."""
        return np.arange(self.module__n_outputs)

    def __sklearn_tags__(self):
        # A classifier to scikit-learn's scorers, which then read the column
        # of the positive class ("roc_auc", "average_precision").
        tags = super().__sklearn_tags__()
        tags.estimator_type = "classifier"
        tags.classifier_tags = ClassifierTags()
        return tags


class _QuietPrintLog(PrintLog):
    """skorch's PrintLog, in colour only on a terminal.

    It skips building its table when nothing is printed.
    """

    def format_row(self, row, key, color):
        """Format one cell; without colour codes unless printing to a terminal."""
        text = super().format_row(row, key, color)
        if isinstance(text, str) and not (self.sink is print and _stdout_is_terminal()):
            # Log files and captured output would show the codes as text.
            text = text.replace(color, "").replace(Ansi.ENDC.value, "")
        return text

    def on_epoch_end(self, net, **kwargs):
        if net.verbose or self.sink is not print:
            super().on_epoch_end(net, **kwargs)


def _stdout_is_terminal():
    isatty = getattr(sys.stdout, "isatty", None)
    return bool(isatty and isatty())


class ProgressBarIfSlow(ProgressBar):
    """skorch's ProgressBar, shown only once an epoch has run for ``delay`` seconds.

    Short epochs then print nothing, instead of a bar per epoch.

    Parameters
    ----------
    delay : float, default=2.0
        Seconds an epoch runs before its bar appears (tqdm's ``delay``).
    """

    def __init__(self, delay=2.0):
        super().__init__(detect_notebook=False)
        self.delay = delay

    def on_epoch_begin(self, net, dataset_train=None, dataset_valid=None, **kwargs):
        total = sum(
            len(net.get_iterator(dataset, training=training))
            for dataset, training in ((dataset_train, True), (dataset_valid, False))
            if dataset is not None
        )
        self.pbar_ = tqdm.tqdm(total=total, leave=False, delay=self.delay)
