"""Cost of the training guard, against the time of a training epoch.

Every fit runs ``TrainingGuard`` (sklrnn/_training.py): a finiteness check of
each batch loss, and at the end of each epoch a check of the weights and an
in-memory copy of the module's and optimizer's state, so that a diverged or
interrupted fit can fall back to its last good epoch. This script times
the guard's work at the end of an epoch (the check and the copy) against the
time of a whole epoch of ``RNNClassifier()`` (the default model), on one
thread, on data of 16 batches per epoch and of 2 (GunPoint's shape), where
that work weighs most. (On a shared machine, a fit with the guard against
one without differs by more noise than the guard costs.) Then the copy of
the weights and of Adam's state by cloning the tensors (what the guard does)
against ``copy.deepcopy`` (what early stopping does, through skorch, in each
epoch whose validation loss is the best so far).

Run from the repository root::

    OMP_NUM_THREADS=1 python benchmarks/bench_training_guard.py

``--repeats`` sets the number of timed fits per shape (default 3).
``benchmarks/README.md`` quotes a run.
"""

import argparse
import copy
import os
import time

os.environ.setdefault("OMP_NUM_THREADS", "1")

import numpy as np  # noqa: E402
import torch  # noqa: E402

from sklrnn import RNNClassifier  # noqa: E402
from sklrnn._training import TrainingGuard, _clone_state, _finite_params  # noqa: E402

torch.set_num_threads(1)


# name: (n_samples, n_timesteps, n_features). With the default batch of 32,
# "many batches" trains 16 batches per epoch, and "two batches" (GunPoint's
# shape) 2, where the guard's work at the end of each epoch weighs most.
SHAPES = {"many batches": (512, 30, 3), "two batches": (50, 150, 1)}


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    rng = np.random.RandomState(0)
    for name, (n, steps, features) in SHAPES.items():
        X = rng.normal(size=(n, steps, features)).astype(np.float32)
        y = (X[:, -3:, 0].sum(axis=1) > 0).astype(int)
        epochs = 160 // -(-n // 32)  # 160 training steps
        per_epoch = []
        for _ in range(args.repeats):
            model = RNNClassifier(max_epochs=epochs, random_state=0)
            start = time.process_time()
            model.fit(X, y)
            per_epoch.append((time.process_time() - start) / epochs * 1e6)
        guard = TrainingGuard()
        check = _best_us(lambda model=model: _finite_params(model.net_.module_), number=200)
        keep = _best_us(lambda model=model, guard=guard: guard._keep(model.net_), number=200)
        print(
            f"{name} ({n} x {steps} x {features}): an epoch of a default fit takes "
            f"{min(per_epoch) / 1000:.1f} ms CPU (min over {args.repeats} fits of "
            f"{epochs} epochs); "
            f"the guard's work at its end {check:.0f} us checking and {keep:.0f} us copying, "
            f"{(check + keep) / min(per_epoch):.1%} of it"
        )
    for name, state in (
        ("weights", model.net_.module_.state_dict),
        ("Adam state", model.net_.optimizer_.state_dict),
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
