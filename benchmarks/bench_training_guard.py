"""Cost of the training guard: fit time with and without it.

Every fit runs ``TrainingGuard`` (sklrnn/_training.py): a finiteness check of
each batch loss, and at the end of each epoch a check of the weights and an
in-memory copy of the module's and optimizer's state, so that a diverged or
interrupted fit can fall back to its last good epoch. This script times
``RNNClassifier.fit`` with the guard and with a no-op callback in its place,
interleaved and repeated in one process on one thread, for a small and a
larger network, the copy alone for the larger one, and for the default
model the copy of its weights and of Adam's state by cloning the tensors (what
the guard and early stopping do) against ``copy.deepcopy`` (what skorch's
early stopping does).

Run from the repository root::

    OMP_NUM_THREADS=1 python benchmarks/bench_training_guard.py

``--repeats`` sets the number of interleaved fits per setting (default 5).
``benchmarks/README.md`` quotes a run.
"""

import argparse
import copy
import os
import statistics
import time

os.environ.setdefault("OMP_NUM_THREADS", "1")

import numpy as np  # noqa: E402
import torch  # noqa: E402
from skorch.callbacks import Callback  # noqa: E402

import sklrnn._base  # noqa: E402
from sklrnn import RNNClassifier  # noqa: E402
from sklrnn._training import TrainingGuard, _clone_state  # noqa: E402

torch.set_num_threads(1)


class _NoGuard(Callback):
    """Stands in for TrainingGuard: the attributes the estimator reads, no work."""

    diverged_ = None
    restored_epoch_ = None


def _fit_seconds(X, y, hidden_size, guard):
    sklrnn._base.TrainingGuard = TrainingGuard if guard else _NoGuard
    try:
        model = RNNClassifier(
            hidden_size=hidden_size, max_epochs=10, early_stopping=False, random_state=0
        )
        start = time.perf_counter()
        model.fit(X, y)
        return time.perf_counter() - start, model
    finally:
        sklrnn._base.TrainingGuard = TrainingGuard


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    rng = np.random.RandomState(0)
    X = rng.normal(size=(512, 30, 3)).astype(np.float32)
    y = (X[:, -3:, 0].sum(axis=1) > 0).astype(int)
    for hidden_size in (16, 64):
        times = {True: [], False: []}
        for repeat in range(args.repeats):
            for guard in (True, False) if repeat % 2 else (False, True):
                times[guard].append(_fit_seconds(X, y, hidden_size, guard)[0])
        on, off = times[True], times[False]
        print(
            f"hidden_size={hidden_size}: fit {statistics.median(on):.3f} s with the guard, "
            f"{statistics.median(off):.3f} s without; ratio median "
            f"{statistics.median(on) / statistics.median(off):.3f}, min {min(on) / min(off):.3f}"
        )
    model = RNNClassifier(hidden_size=256, max_epochs=1, early_stopping=False).fit(X, y)
    guard = TrainingGuard()
    n_params = sum(p.numel() for p in model.net_.module_.parameters())
    start = time.perf_counter()
    for _ in range(100):
        guard._keep(model.net_)
    copy_ms = (time.perf_counter() - start) * 10
    print(f"state copy per epoch, {n_params} parameters: {copy_ms:.2f} ms")
    default = RNNClassifier(max_epochs=1, early_stopping=False).fit(X, y)
    for name, state in (
        ("weights", default.net_.module_.state_dict),
        ("Adam state", default.net_.optimizer_.state_dict),
    ):
        cloned = _best_us(lambda state=state: _clone_state(state()))
        deep = _best_us(lambda state=state: copy.deepcopy(state()))
        print(
            f"default model, copy of the {name}: {cloned:.0f} us cloning the tensors, "
            f"{deep:.0f} us with copy.deepcopy"
        )


def _best_us(call, number=1000, rounds=5):
    """Best over rounds of the mean time of ``number`` calls, in microseconds."""
    best = float("inf")
    for _ in range(rounds):
        start = time.perf_counter()
        for _ in range(number):
            call()
        best = min(best, (time.perf_counter() - start) / number * 1e6)
    return best


if __name__ == "__main__":
    main()
