"""Training and prediction speed of the default model at several batch sizes.

With ``max_epochs="auto"`` a fit on many sequences is held at its minimum of
30 epochs, whatever the batch size, so that its time is 30 epochs at the
speed measured here: a larger ``batch_size`` then shortens it by as much as
it raises the speed, at the price of fewer gradient steps. This script
measures that speed for the default ``RNNClassifier`` (every parameter but
``batch_size`` and ``max_epochs`` at its default) on synthetic sequences of
one feature: training sequences per second over one epoch (the second of two,
so that the first-call costs are not counted), and prediction sequences per
second. Each batch size runs ``--repeats`` times, interleaved; the best run
is reported.

Run from the repository root::

    OMP_NUM_THREADS=1 python benchmarks/bench_batch_size.py
    python benchmarks/bench_batch_size.py --device cuda   # on a GPU

``--n`` sets the number of sequences (default 8192), ``--length`` their
length (default 100), ``--batch-sizes`` the sizes (default 32,128,512).
"""

import argparse
import os
import time

os.environ.setdefault("OMP_NUM_THREADS", "1")

import numpy as np  # noqa: E402
import torch  # noqa: E402
from accuracy import count, counts  # noqa: E402

from sklrnn import RNNClassifier  # noqa: E402


def make_data(n, length, seed=0):
    rng = np.random.RandomState(seed)
    X = rng.normal(size=(n, length)).astype(np.float32)
    return X, (X[:, length // 2 : length // 2 + 5].sum(axis=1) > 0).astype(np.int64)


def measure(X, y, batch_size, device):
    """(training sequences per second, prediction sequences per second)."""
    model = RNNClassifier(batch_size=batch_size, max_epochs=2, random_state=0, device=device)
    model.fit(X, y)
    seconds = model.history_[-1, "dur"]  # the second epoch
    start = time.perf_counter()
    model.predict(X)
    if device != "cpu":
        torch.cuda.synchronize()
    return len(X) / seconds, len(X) / (time.perf_counter() - start)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--n", type=count(), default=8192)
    parser.add_argument("--length", type=count(), default=100)
    parser.add_argument("--batch-sizes", type=counts(1), default="32,128,512")
    parser.add_argument("--repeats", type=count(), default=2)
    parser.add_argument("--device", default="cpu", help="cpu (default) or cuda[:N]")
    args = parser.parse_args(argv)
    if args.device != "cpu" and not torch.cuda.is_available():
        parser.error(f"--device {args.device}: CUDA is not available on this machine")
    torch.set_num_threads(int(os.environ["OMP_NUM_THREADS"]))
    X, y = make_data(args.n, args.length)
    sizes = args.batch_sizes
    best = {b: (0.0, 0.0) for b in sizes}
    for r in range(args.repeats):
        for b in sizes[r % len(sizes) :] + sizes[: r % len(sizes)]:
            train, predict = measure(X, y, b, args.device)
            best[b] = (max(best[b][0], train), max(best[b][1], predict))
    print(
        f"default RNNClassifier, n={args.n}, length {args.length}, device {args.device}, "
        f"{torch.get_num_threads()} thread(s), best of {args.repeats}\n"
    )
    print("| batch_size | train seq/s | x batch 32 | predict seq/s | x batch 32 |")
    print("|---:|---:|---:|---:|---:|")
    ref = best[sizes[0]]
    for b in sizes:
        train, predict = best[b]
        print(
            f"| {b} | {train:,.0f} | {train / ref[0]:.2f} | {predict:,.0f} | "
            f"{predict / ref[1]:.2f} |"
        )


if __name__ == "__main__":
    main()
