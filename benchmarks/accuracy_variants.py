"""Training changes tried against the default RNNClassifier, one per run.

``accuracy.py`` measures the defaults and parameter changes. The changes
measured here are not parameters of the library: training tricks (mixup,
sharpness-aware minimization, weight averaging, a cosine schedule, a
learning-rate warm-up) and data augmentation (time stretching, noise, dropped
steps, random frame phase), each put in for the run by patching the training
step or the module's forward pass. They were tried to close the gap to the
published figures on GunPoint; the results are in ``benchmarks/README.md``.

Changes apply on top of the current defaults. The first three rounds of
``benchmarks/README.md`` measured against the defaults of their time, one
network without magnitude scaling: add ``n_networks=1,magnitude_scaling=0``
to reproduce their rows (their ``scale=W`` is ``magnitude_scaling=W``, with
the factors now drawn from the fit's own generator).

Run from the repository root, one thread::

    OMP_NUM_THREADS=1 python benchmarks/accuracy_variants.py default --seeds 0:24 --group 4
    OMP_NUM_THREADS=1 python benchmarks/accuracy_variants.py n_networks=3 --seeds 0:24
    OMP_NUM_THREADS=1 python benchmarks/accuracy_variants.py \
        diff,n_networks=1,magnitude_scaling=0.2 --seeds 0:8

A variant is a comma-separated list of changes (see ``CHANGES``); a
``key=value`` that is no change named there sets a parameter of
``RNNClassifier``. Prints one JSON record: the test accuracy of each seed,
their mean and standard deviation, the accuracy of the seeds' averaged
``predict_proba`` (an ensemble, and with ``--group N`` of each N consecutive
seeds), epochs, and mean fit CPU seconds.
"""

import argparse
import contextlib
import json
import time
import warnings
from unittest import mock

import numpy as np
import torch
import torch.nn.functional as F
from accuracy import DATASETS, load, parse_set  # sibling script; benchmarks/ is on the path
from skorch.callbacks import Callback, LRScheduler
from torch.optim.lr_scheduler import CosineAnnealingLR

from sklrnn import RNNClassifier
from sklrnn._module import RNNModule
from sklrnn._training import SequenceNet

CLASSIFICATION = [name for name, (_, task, *_) in DATASETS.items() if task == "classification"]


@contextlib.contextmanager
def _patch_forward(transform):
    """Apply ``transform(module, X)`` to the raw training input of every batch.

    Patches entered one after the other compose: each wraps the forward pass
    found when it is entered.
    """
    inner = RNNModule.forward

    def forward(self, X, lengths, scale=None):
        if self.training:
            X = transform(self, X)
        return inner(self, X, lengths, scale)

    with mock.patch.object(RNNModule, "forward", forward):
        yield


def time_stretch(width):
    """Resample each training batch to (1 ± width) times its length, crop or pad back."""

    def transform(module, X):
        steps = X.shape[1]
        size = max(2, round(steps * (1 + width * (2 * float(torch.rand(())) - 1))))
        Y = F.interpolate(X.transpose(1, 2), size=size, mode="linear", align_corners=True)
        Y = Y.transpose(1, 2)
        if size >= steps:
            start = int(torch.randint(0, size - steps + 1, ()))
            return Y[:, start : start + steps]
        left = int(torch.randint(0, steps - size + 1, ()))
        right = steps - size - left
        return torch.cat([Y[:, :1].expand(-1, left, -1), Y, Y[:, -1:].expand(-1, right, -1)], 1)

    return _patch_forward(transform)


def gaussian_noise(sd):
    """Add noise of ``sd`` standard deviations of each feature to the training input."""
    return _patch_forward(lambda m, X: X + sd * m.input_scale * torch.randn_like(X))


def step_dropout(p):
    """Replace a fraction ``p`` of the time steps of each training sequence by the mean."""

    def transform(module, X):
        keep = torch.rand(X.shape[0], X.shape[1], 1) > p
        return module.input_mean + (X - module.input_mean) * keep

    return _patch_forward(transform)


@contextlib.contextmanager
def frame_phase(average_at_predict):
    """Shift training sequences by 0 to frame_size - 1 steps (edge-padded), at random.

    With ``average_at_predict``, predictions average the logits of all shifts.
    """
    _forward = RNNModule.forward

    def forward(self, X, lengths, scale=None):
        k = self.frame_size

        def shifted(s):
            return X if s == 0 else torch.cat([X[:, :1].expand(-1, s, -1), X[:, :-s]], 1)

        if self.training and k > 1:
            return _forward(self, shifted(int(torch.randint(0, k, ()))), lengths, scale)
        if average_at_predict and k > 1:
            return torch.stack([_forward(self, shifted(s), lengths) for s in range(k)]).mean(0)
        return _forward(self, X, lengths, scale)

    with mock.patch.object(RNNModule, "forward", forward):
        yield


@contextlib.contextmanager
def scale_average(width):
    """At predict, average the logits over amplitude factors spread over [1 - width, 1 + width]."""
    inner = RNNModule.forward  # found when entered, so that it composes with training patches
    factors = np.linspace(1 - width, 1 + width, 5)

    def forward(self, X, lengths, scale=None):
        if self.training:
            return inner(self, X, lengths, scale)
        centred = X - self.input_mean
        outs = [inner(self, self.input_mean + centred * float(f), lengths) for f in factors]
        return torch.stack(outs).mean(0)

    with mock.patch.object(RNNModule, "forward", forward):
        yield


class Warmup(Callback):
    """Raise the learning rate linearly over the first ``epochs`` epochs: lr / epochs, ..., lr."""

    def __init__(self, epochs):
        self.epochs = int(epochs)

    def on_epoch_begin(self, net, **kwargs):
        epoch = len(net.history)  # this epoch's row is already in the history
        if epoch <= self.epochs:
            for group in net.optimizer_.param_groups:
                group["lr"] = net.lr * epoch / self.epochs


def mixup(alpha):
    """Train on convex combinations of pairs of sequences and of their labels (Zhang 2018)."""

    def train_step_single(self, batch, **fit_params):
        self._set_training(True)
        Xi, y = batch
        lam = float(np.random.beta(alpha, alpha))
        perm = torch.randperm(len(y))
        mixed = {"X": lam * Xi["X"] + (1 - lam) * Xi["X"][perm], "lengths": Xi["lengths"]}
        y_pred = self.infer(mixed)
        loss = lam * self.get_loss(y_pred, y, training=True)
        loss = loss + (1 - lam) * self.get_loss(y_pred, y[perm], training=True)
        loss.backward()
        return {"loss": loss, "y_pred": y_pred}

    return mock.patch.object(SequenceNet, "train_step_single", train_step_single)


def sharpness_aware(rho):
    """Sharpness-aware minimization (Foret 2021): the gradient taken at the worst nearby weights."""

    def train_step_single(self, batch, **fit_params):
        self._set_training(True)
        Xi, y = batch
        y_pred = self.infer(Xi)
        loss = self.get_loss(y_pred, y, X=Xi, training=True)
        loss.backward()
        params = [p for p in self.module_.parameters() if p.grad is not None]
        norm = torch.norm(torch.stack([p.grad.norm() for p in params])) + 1e-12
        steps = [rho * p.grad / norm for p in params]
        with torch.no_grad():
            for p, step in zip(params, steps, strict=True):
                p.add_(step)
        self.optimizer_.zero_grad()
        self.get_loss(self.infer(Xi), y, X=Xi, training=True).backward()
        with torch.no_grad():
            for p, step in zip(params, steps, strict=True):
                p.sub_(step)
        return {"loss": loss, "y_pred": y_pred}

    return mock.patch.object(SequenceNet, "train_step_single", train_step_single)


def torch_default_init(_):
    """Keep PyTorch's initialization of the recurrent layers instead of sklrnn's."""
    return mock.patch.object(RNNModule, "_reset_recurrent_weights", lambda self: None)


class WeightAveraging(Callback):
    """Average the weights of every epoch from ``start`` on, and keep the average."""

    def __init__(self, start):
        self.start = start

    def on_train_begin(self, net, **kwargs):
        self.average_, self.count_ = None, 0

    def on_epoch_end(self, net, **kwargs):
        if len(net.history) < self.start:
            return
        state = {k: v.detach().clone() for k, v in net.module_.state_dict().items()}
        self.count_ += 1
        if self.average_ is None:
            self.average_ = state
        else:
            for k, v in state.items():
                self.average_[k] += (v - self.average_[k]) / self.count_

    def on_train_end(self, net, **kwargs):
        if self.average_ is not None:
            net.module_.load_state_dict(self.average_)


# name: (what it does, function of the value giving a context manager or
# (parameters, callbacks))
CHANGES = {
    "stretch": ("time stretching", time_stretch),
    "noise": ("Gaussian input noise", gaussian_noise),
    "step_dropout": ("dropped time steps", step_dropout),
    "phase": ("random frame phase in training", lambda v: frame_phase(False)),
    "phase_average": ("random frame phase, averaged at predict", lambda v: frame_phase(True)),
    "scale_average": ("logits averaged over 5 amplitude factors at predict", scale_average),
    "warmup": ("linear learning-rate warm-up over this many epochs", lambda v: ({}, [Warmup(v)])),
    "mixup": ("mixup", mixup),
    "sam": ("sharpness-aware minimization", sharpness_aware),
    "torch_init": ("PyTorch's default initialization", torch_default_init),
    "cosine": (
        "cosine learning-rate decay over a fixed number of epochs, no early stopping",
        lambda v: (
            {"lr_schedule": None, "max_epochs": int(v), "early_stopping": False},
            [LRScheduler(policy=CosineAnnealingLR, T_max=int(v))],
        ),
    ),
    "average_from": (
        "weights averaged from this epoch to 50 epochs later",
        lambda v: (
            {"early_stopping": False, "max_epochs": int(v) + 50},
            [WeightAveraging(int(v))],
        ),
    ),
}


# Changes written without a value.
FLAGS = {"phase", "phase_average", "torch_init"}


def with_differences(X):
    """Append the first differences of every feature as further features."""
    X = np.asarray(X, dtype=np.float32)
    X = X[..., None] if X.ndim == 2 else X
    return np.concatenate([X, np.diff(X, axis=1, prepend=X[:, :1])], axis=2)


def parse_variant(variant):
    items = list(filter(None, variant.split(",")))
    keys = {item.partition("=")[0] for item in items}
    if {"mixup", "sam"} <= keys:
        raise SystemExit("mixup and sam each replace the training step: use one of them")
    if {"phase", "phase_average"} <= keys:
        raise SystemExit("phase and phase_average each replace the forward pass: use one of them")
    params, callbacks, patches, diff = {}, [], [], False
    for item in items:
        key, _, value = item.partition("=")
        if key == "default":
            continue
        if key == "diff":
            diff = True
        elif key in CHANGES:
            if not value and key not in FLAGS:
                raise SystemExit(f"{key} needs a value, e.g. {key}=0.1")
            made = CHANGES[key][1](float(value) if value else None)
            if isinstance(made, tuple):
                params.update(made[0])
                callbacks.extend(made[1])
            else:
                patches.append(made)
        elif value:
            params.update(parse_set([item]))
        else:
            raise SystemExit(f"unknown change {item!r}; known: diff, {', '.join(CHANGES)}")
    if callbacks:
        params["callbacks"] = callbacks
    return params, patches, diff


def main(argv=None):
    changes = [f"{k}{'' if k in FLAGS else '=V'}: {what}" for k, (what, _) in CHANGES.items()]
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0],
        epilog="changes: diff: first differences as more channels; " + "; ".join(changes),
    )
    parser.add_argument("variant")
    parser.add_argument("--seeds", default="0:8", help="FIRST:STOP, a range of seeds")
    parser.add_argument("--dataset", default="gunpoint", choices=CLASSIFICATION)
    parser.add_argument(
        "--group", type=int, default=None, help="also score ensembles of each N consecutive seeds"
    )
    parser.add_argument("--jsonl", default=None, help="also append the record to this file")
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    first, _, stop = args.seeds.partition(":")
    seeds = range(int(first), int(stop)) if stop else range(int(first))
    params, patches, diff = parse_variant(args.variant)
    X_train, y_train = load(args.dataset, "train")
    X_test, y_test = load(args.dataset, "test")
    if diff:
        X_train, X_test = with_differences(X_train), with_differences(X_test)

    scores, probas, epochs, cpu = [], [], [], []
    with contextlib.ExitStack() as stack:
        for patch in patches:
            stack.enter_context(patch)
        for seed in seeds:
            # mixup and the augmentations draw from torch's and numpy's global generators
            torch.manual_seed(seed)
            np.random.seed(seed)
            est = RNNClassifier(random_state=seed, **params)
            start = time.process_time()
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", UserWarning)
                est.fit(X_train, y_train)
            cpu.append(time.process_time() - start)
            probas.append(est.predict_proba(X_test))
            scores.append(float(np.mean(est.classes_[probas[-1].argmax(1)] == y_test)))
            epochs.append(est.n_iter_)

    def vote(members):
        return float(np.mean(est.classes_[np.mean(members, axis=0).argmax(1)] == y_test))

    ensemble = vote(probas)
    record = {
        "variant": args.variant,
        "dataset": args.dataset,
        "seeds": f"{seeds.start}:{seeds.stop}",
        "mean": round(float(np.mean(scores)), 4),
        "std": round(float(np.std(scores)), 4),
        "ensemble": round(float(ensemble), 4),
        "scores": [round(s, 3) for s in scores],
        **(
            {
                "groups": [
                    round(vote(probas[i : i + args.group]), 3)
                    for i in range(0, len(probas), args.group)
                ]
            }
            if args.group
            else {}
        ),
        "epochs": epochs,
        "cpu_s": round(float(np.mean(cpu)), 2),
    }
    print(json.dumps(record))
    if args.jsonl:
        with open(args.jsonl, "a") as fh:
            fh.write(json.dumps(record) + "\n")


if __name__ == "__main__":
    main()
