"""Parallel grid search over sklrnn estimators, and torch's intra-op threads.

Three questions, measured in one run:

1. Threads per worker. With joblib's default ``loky`` backend every worker
   process starts with ``OMP_NUM_THREADS = cpu_count // n_jobs`` (unless the
   variable is already set), so torch in each worker uses that many intra-op
   threads: no oversubscription. With the ``threading`` backend all workers
   share torch's process-wide thread count, which ``threadpoolctl`` does not
   reach (it only limits the calling thread's OpenMP pool). The script prints
   what ``torch.get_num_threads()`` returns inside workers of each backend.
2. Speed-up of ``GridSearchCV(n_jobs=2)`` over ``n_jobs=1`` on a 12-candidate
   search (3-fold, so 36 fits of about 0.7 s each at the default ``--n 1000``;
   with much smaller fits, ``--n 300``, the refit and the dispatch of every
   task weigh more and the speed-up is lower): loky (workers started by a
   warm-up call, as in any session after its first parallel job), and
   threading with ``torch.set_num_threads(1)`` (set for the search and
   restored after); the single-job baseline with torch's default threads and
   with one thread.
3. Whether fitting one model is faster with torch's default number of
   intra-op threads or with one: ``fit`` of a small and a larger LSTM with
   ``torch.set_num_threads`` at 1 and at the default, interleaved.

``--n``, ``--timesteps``, ``--epochs`` and ``--repeats`` size the search of
question 2; question 3 fits its two fixed sizes (2,000 sequences, one epoch,
at least 3 repeats: about two minutes on 2 cores) whatever they say.

Other jobs sharing the cores change the figures; the load average is printed
before and after. Run from the repository root, without ``OMP_NUM_THREADS``
set (the script measures thread defaults)::

    python benchmarks/bench_n_jobs.py
"""

import argparse
import os
import statistics
import time

import numpy as np
import torch
from accuracy import count
from joblib import Parallel, delayed, parallel_backend
from sklearn.model_selection import GridSearchCV

from sklrnn import RNNClassifier

GRID = {
    "cell_type": ["gru", "lstm"],
    "hidden_size": [8, 16, 32],
    "lr": [1e-3, 1e-2],
}  # 12 candidates


def make_data(n, n_timesteps, seed=0):
    rng = np.random.RandomState(seed)
    X = rng.normal(size=(n, n_timesteps)).astype(np.float32)
    y = (X[:, -5:].sum(axis=1) > 0).astype(np.int64)
    return X, y


def _torch_threads():
    import torch

    import sklrnn  # noqa: F401  (a warm worker has imported the library)

    return torch.get_num_threads()


def threads_in_workers():
    loky = Parallel(n_jobs=2)(delayed(_torch_threads)() for _ in range(4))
    threading = Parallel(n_jobs=2, backend="threading")(delayed(_torch_threads)() for _ in range(4))
    return sorted(set(loky)), sorted(set(threading))


def search(X, y, n_jobs, epochs, backend=None):
    estimator = RNNClassifier(
        batch_size=32, max_epochs=epochs, early_stopping=False, random_state=0
    )
    grid = GridSearchCV(estimator, GRID, cv=3, n_jobs=n_jobs)
    start = time.perf_counter()
    if backend is None:
        grid.fit(X, y)
    else:
        with parallel_backend(backend, n_jobs=n_jobs):
            grid.fit(X, y)
    return time.perf_counter() - start


def one_thread(run):
    """Run with torch.set_num_threads(1), restoring the previous count."""
    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        return run()
    finally:
        torch.set_num_threads(previous)


def bench_search(n, n_timesteps, epochs, repeats):
    X, y = make_data(n, n_timesteps)
    Parallel(n_jobs=2)(delayed(_torch_threads)() for _ in range(2))  # start workers
    default = torch.get_num_threads()
    runs = {
        f"n_jobs=1, torch {default} threads": lambda: search(X, y, 1, epochs),
        "n_jobs=1, torch 1 thread": lambda: one_thread(lambda: search(X, y, 1, epochs)),
        "n_jobs=2 loky (1 thread each)": lambda: search(X, y, 2, epochs),
        "n_jobs=2 threading, torch 1 thread": lambda: one_thread(
            lambda: search(X, y, 2, epochs, backend="threading")
        ),
    }
    print(
        f"\nGridSearchCV: 12 candidates x 3 folds, n={n}, {n_timesteps} steps, "
        f"{epochs} epochs, batch 32, {repeats} interleaved repeats"
    )
    times = {name: [] for name in runs}
    names = list(runs)
    for r in range(repeats):
        for name in names[r % len(names) :] + names[: r % len(names)]:
            times[name].append(runs[name]())
            print(
                f"  ... {name}: {times[name][-1]:.2f} s (load {os.getloadavg()[0]:.1f})", flush=True
            )
    base = {name: min(ts) for name, ts in times.items() if name.startswith("n_jobs=1")}
    print(
        f"  {'':36s} {'min s':>7s} {'median s':>9s} "
        + " ".join(f"{'vs ' + k.split(', ')[1]:>16s}" for k in base)
    )
    for name, ts in times.items():
        print(
            f"  {name:36s} {min(ts):7.2f} {statistics.median(ts):9.2f} "
            + " ".join(f"{b / min(ts):16.2f}" for b in base.values())
        )


def bench_intra_op(repeats):
    default = torch.get_num_threads()
    print(
        f"\nOne fit, torch intra-op threads 1 vs default ({default}); "
        f"{repeats} interleaved repeats, min (median) s"
    )
    for hidden, n_timesteps in ((32, 50), (128, 200)):
        X, y = make_data(2000, n_timesteps)

        def fit(threads, X=X, y=y, hidden=hidden):
            torch.set_num_threads(threads)
            try:
                start = time.perf_counter()
                RNNClassifier(
                    cell_type="lstm",
                    hidden_size=hidden,
                    bidirectional=False,
                    batch_size=64,
                    max_epochs=1,
                    early_stopping=False,
                    conv_channels=0,
                    random_state=0,
                ).fit(X, y)
                return time.perf_counter() - start
            finally:
                torch.set_num_threads(default)

        times = {1: [], default: []}
        for r in range(repeats):
            for threads in (1, default) if r % 2 == 0 else (default, 1):
                times[threads].append(fit(threads))
        one, many = times[1], times[default]
        print(
            f"  LSTM {hidden:>3d}, {n_timesteps:>3d} steps, n=2000, 1 epoch: "
            f"1 thread {min(one):6.2f} ({statistics.median(one):.2f}), "
            f"{default} threads {min(many):6.2f} ({statistics.median(many):.2f}), "
            f"ratio {min(many) / min(one):.2f}"
        )


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--n", type=count(), default=1000)
    parser.add_argument("--timesteps", type=count(), default=50)
    parser.add_argument("--epochs", type=count(), default=5)
    parser.add_argument("--repeats", type=count(), default=1)
    args = parser.parse_args(argv)
    print(
        f"cores {os.cpu_count()}, OMP_NUM_THREADS={os.environ.get('OMP_NUM_THREADS')}, "
        f"torch default threads {torch.get_num_threads()}, "
        f"load average {os.getloadavg()[0]:.2f}"
    )
    loky, threading = threads_in_workers()
    print(f"torch threads inside n_jobs=2 workers: loky {loky}, threading {threading}")
    bench_search(args.n, args.timesteps, args.epochs, args.repeats)
    bench_intra_op(max(args.repeats, 3))
    print(f"\nload average after: {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
