"""Fit and prediction time of default classifiers, with and without the random kernel features.

For each data set, ``RNNClassifier(random_state=seed, kernel_features=k,
device=device)`` (every other parameter at its default) is fitted on the
training split and predicts it, one fit at a time in this process (an untimed
fit on the first set runs first, for the device's start-up). Printed per fit:
wall seconds of ``fit`` (the device synchronized) with its epochs and time
per epoch, of ``predict`` with its time per series, and the median of 20
calls of ``predict`` on the first series alone (the latency of serving one
sequence). Test splits are not read. Run from the repository root, alone on the machine::

    OMP_NUM_THREADS=1 python benchmarks/bench_default_fit.py
    python benchmarks/bench_default_fit.py --device cuda --seeds 0,1

``--datasets`` (default ItalyPowerDemand, GunPoint, Trace, PigCVP and OSULeaf,
the last from aeon's bundled sets: ``pip install -c constraints.txt -e
".[bench]"``), ``--kernel-features`` (default ``0,5040``: the network alone
and the default) and ``--seeds`` (default ``0``) take comma-separated lists.

``--features`` replaces the data sets by random ones of as many features
(100 series of 144 steps, two classes told apart by the first feature's
level), for the time of fits and predictions of many channels::

    OMP_NUM_THREADS=1 python benchmarks/bench_default_fit.py --features 6,64,256
"""

import argparse
import os
import statistics
import time

os.environ.setdefault("OMP_NUM_THREADS", "1")

import numpy as np  # noqa: E402
import torch  # noqa: E402
from accuracy import DATASETS, counts, load, names  # noqa: E402

from sklrnn import RNNClassifier  # noqa: E402

DEFAULT_SETS = "ItalyPowerDemand,GunPoint,Trace,PigCVP,OSULeaf"


def random_set(n_features, seed=0):
    """100 float32 series of 144 steps, n_features features; the first's level is the class."""
    X = np.random.RandomState(seed).normal(size=(100, 144, n_features)).astype(np.float32)
    X[:50, :, 0] += 1.0
    return X, np.repeat([1, 0], 50)


def timed(device, call, *args):
    """Wall seconds of ``call(*args)``, the device synchronized at the end."""
    start = time.perf_counter()
    call(*args)
    if device.type == "cuda":
        torch.cuda.synchronize(device)
    return time.perf_counter() - start


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--datasets", type=names(DATASETS), default=DEFAULT_SETS)
    parser.add_argument("--kernel-features", type=counts(0), default="0,5040")
    parser.add_argument("--seeds", type=counts(0), default="0")
    parser.add_argument("--device", default="cpu", help="cpu (default) or cuda[:N]")
    parser.add_argument(
        "--features",
        type=counts(1),
        help="comma-separated feature counts of random sets, in place of the data sets",
    )
    args = parser.parse_args(argv)
    device = torch.device(args.device)
    if device.type == "cuda" and not torch.cuda.is_available():
        parser.error(f"--device {args.device}: CUDA is not available on this machine")
    if device.type == "cpu":
        torch.set_num_threads(1)
    if args.features:
        sets = {f"random (100, 144, {n} features)": random_set(n) for n in args.features}
    else:
        sets = {name: load(name, "train") for name in args.datasets}
    RNNClassifier(max_epochs=2, device=args.device).fit(*next(iter(sets.values())))
    print(f"torch {torch.__version__}, device {args.device}, threads {torch.get_num_threads()}")
    print(
        "| data set | kernel_features | seed | fit s | epochs | ms per epoch | predict s |", end=""
    )
    print(" ms per series | one series, ms |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|")
    for name, (X, y) in sets.items():
        for k in args.kernel_features:
            for seed in args.seeds:
                model = RNNClassifier(random_state=seed, kernel_features=k, device=args.device)
                fit = timed(device, model.fit, X, y)
                predict = timed(device, model.predict, X)
                one = statistics.median(timed(device, model.predict, X[:1]) for _ in range(20))
                epochs = len(model.history_)
                print(
                    f"| {name} | {k} | {seed} | {fit:.2f} | {epochs} | {1e3 * fit / epochs:.1f} "
                    f"| {predict:.3f} | {1e3 * predict / len(X):.2f} | {1e3 * one:.1f} |",
                    flush=True,
                )


if __name__ == "__main__":
    main()
