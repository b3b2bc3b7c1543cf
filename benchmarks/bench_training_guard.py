"""Cost of the training guard, against the time of a training epoch.

Every fit runs ``TrainingGuard`` (sklrnn/_training.py): a finiteness check of
each batch loss at the end of each epoch, and, once at least 4 training
steps have run since the last one, a check of the weights and an in-memory
copy of the module's and optimizer's state, so that a diverged or
interrupted fit can fall back to a recent good epoch. This script times
that check and copy against the time of a whole epoch of
``RNNClassifier()`` (the default model), on one thread, on data of 16
batches per epoch, of 2 (GunPoint's shape) and of 1 (few series, where the
work weighs most), and gives its share of the training time: with fewer than
4 batches per epoch it runs after every ``ceil(4 / batches)``-th epoch. (On a
shared machine, a fit with the guard against one without differs by more
noise than the guard costs.) Then the copy of the weights and of Adam's state
by cloning the tensors (what the guard does) against ``copy.deepcopy`` (what
early stopping does, through skorch, in each epoch whose validation loss is
the best so far).

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
from accuracy import count  # noqa: E402

from sklrnn import RNNClassifier  # noqa: E402
from sklrnn._training import TrainingGuard, _clone_state, _finite_params  # noqa: E402

# name: (n_samples, n_timesteps, n_features). With the default batch of 32,
# "many batches" trains 16 batches per epoch, "two batches" (GunPoint's
# shape) 2 and "one batch" (two series per class of a few classes) 1.
SHAPES = {"many batches": (512, 30, 3), "two batches": (50, 150, 1), "one batch": (8, 150, 1)}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=count(), default=3)
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    rng = np.random.RandomState(0)
    for name, (n, steps, features) in SHAPES.items():
        X = rng.normal(size=(n, steps, features)).astype(np.float32)
        y = (X[:, -3:, 0].sum(axis=1) > 0).astype(int)
        batches = -(-n // 32)
        epochs = 160 // batches  # 160 training steps
        per_epoch = []
        for _ in range(args.repeats):
            model = RNNClassifier(max_epochs=epochs, random_state=0)
            start = time.process_time()
            model.fit(X, y)
            per_epoch.append((time.process_time() - start) / epochs * 1e6)
        guard = TrainingGuard()
        every = -(-guard.every // batches)  # epochs per check and copy
        check = _best_us(lambda model=model: _finite_params(model.net_.module_), number=200)
        keep = _best_us(lambda model=model, guard=guard: guard._keep(model.net_), number=200)
        print(
            f"{name} ({n} x {steps} x {features}): an epoch of a default fit takes "
            f"{min(per_epoch) / 1000:.1f} ms CPU (min over {args.repeats} fits of "
            f"{epochs} epochs); "
            f"the guard's check {check:.0f} us and copy {keep:.0f} us, after every "
            f"{every} epoch(s): {(check + keep) / every / min(per_epoch):.1%} of the training time"
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
