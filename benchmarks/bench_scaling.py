"""How fit time and peak memory grow with the number and length of sequences.

Every point (n sequences of ``n_timesteps`` steps, one feature, float32) runs in
a fresh subprocess on one thread, which:

1. warms up (a tiny fit and predict, so that lazy allocations of torch and
   skorch are not counted), builds the data as float32 in chunks, and resets
   the peak-RSS counter of the process (``/proc/self/clear_refs``);
2. times ``RNNClassifier.fit`` for **one epoch** (LSTM, hidden size 32,
   unidirectional, batch 64, ``conv_channels=0`` -- no convolutional front
   end, so that the network steps through every time step --,
   ``early_stopping=True`` -- so a 10% validation split and one validation
   pass --, ``kernel_features=0`` -- the network alone, without the random
   kernel features and their closed-form head, whose cost
   ``benchmarks/README.md`` gives apart --, the other parameters at their
   defaults), and reads the peak
   RSS above the RSS before the fit (``VmHWM - VmRSS``);
3. does the same for ``predict`` on the same data.

The peak extra memory is compared with the size of the data as float32 and
with the model (weights, gradients and Adam's two moment buffers). The target
is: fit time linear in ``n * n_timesteps``, peak extra memory within twice the
float32 data plus the model.

Run from the repository root::

    OMP_NUM_THREADS=1 python benchmarks/bench_scaling.py

It prints a table, writes ``benchmarks/scaling.json`` and the plot
``benchmarks/scaling.png``. ``--quick`` skips n=100k and writes no files.

``--head`` times the classifier's closed-form head instead: the ridge
regression with leave-one-out penalty that ends a fit with
``kernel_features``, on random features of the head's width at the default
(5,360) and at ``kernel_features=10_000`` (10,316), for 2,000 to 16,000
training sequences: sklrnn's solver, and scikit-learn's ``RidgeCV`` up to
8,000. CPU seconds of one thread and peak memory above the start, one
subprocess per point::

    OMP_NUM_THREADS=1 python benchmarks/bench_scaling.py --head

``--ragged`` measures lists of sequences of different lengths, one
subprocess per case: converting 1,000 sequences of 20 steps and one of
200,000 (``to_padded``, the conversion every method runs); fitting them with
``max_length=100`` (one epoch, ``kernel_features=0``); and predicting 200,000
sequences of 2 features and geometric lengths (mean 50, at most 2,000) with a
default classifier fitted on 200 of them (one epoch); and predicting 200,000
short sequences (1 to 3 steps, 2 features; the network alone, fitted on 200
of them for one epoch) given as a list, then as one NaN-padded array, which
shows what checking each sequence of a list costs. Wall seconds and the
peak RSS above the RSS before the call::

    OMP_NUM_THREADS=1 python benchmarks/bench_scaling.py --ragged
"""

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")

HERE = Path(__file__).resolve().parent
SIZES = (1_000, 10_000, 100_000)
LENGTHS = (25, 100, 400)
HIDDEN, BATCH = 32, 64
HEAD_SIZES = (2_000, 4_000, 8_000, 16_000)


def _status_kb(field):
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    raise RuntimeError(f"{field} not in /proc/self/status")


def _reset_peak():
    with open("/proc/self/clear_refs", "w") as f:
        f.write("5")


def _extra_peak_mb(fn):
    """Run fn; return (result, wall s, CPU s, peak RSS above the RSS before, in MB)."""
    _reset_peak()
    before = _status_kb("VmRSS")
    start, cpu = time.perf_counter(), time.process_time()
    result = fn()
    cpu, seconds = time.process_time() - cpu, time.perf_counter() - start
    return result, seconds, cpu, (_status_kb("VmHWM") - before) / 1024


def measure_point(n, n_timesteps):
    """One point, in this process: fit and predict time and peak extra memory."""
    import numpy as np
    import torch

    from sklrnn import RNNClassifier

    torch.set_num_threads(1)

    def make_model():
        return RNNClassifier(
            cell_type="lstm",
            hidden_size=HIDDEN,
            bidirectional=False,
            batch_size=BATCH,
            max_epochs=1,
            conv_channels=0,
            early_stopping=True,
            kernel_features=0,
            random_state=0,
        )

    rng = np.random.default_rng(0)
    warm = rng.standard_normal((256, n_timesteps), dtype=np.float32)
    make_model().fit(warm, warm[:, -1] > 0).predict(warm)

    X = np.empty((n, n_timesteps), dtype=np.float32)
    for start in range(0, n, 4096):  # float32 from the start: no float64 copy
        X[start : start + 4096] = rng.standard_normal(
            (min(4096, n - start), n_timesteps), dtype=np.float32
        )
    y = (X[:, -3:].sum(axis=1) > 0).astype(np.int64)

    model, fit_s, fit_cpu_s, fit_mb = _extra_peak_mb(lambda: make_model().fit(X, y))
    _, predict_s, _, predict_mb = _extra_peak_mb(lambda: model.predict(X))
    n_params = sum(p.numel() for p in model.net_.module_.parameters())
    return {
        "n": n,
        "n_timesteps": n_timesteps,
        "fit_s": fit_s,
        "fit_cpu_s": fit_cpu_s,
        "predict_s": predict_s,
        "fit_peak_mb": fit_mb,
        "predict_peak_mb": predict_mb,
        "data_mb": X.nbytes / 2**20,
        # weights, gradients and Adam's two moments, float32
        "model_mb": 4 * n_params * 4 / 2**20,
    }


def run_all(sizes, lengths):
    points = []
    for n in sizes:
        for n_timesteps in lengths:
            out = subprocess.run(
                [sys.executable, __file__, "--point", str(n), str(n_timesteps)],
                check=True,
                capture_output=True,
                text=True,
            )
            point = json.loads(out.stdout.strip().splitlines()[-1])
            points.append(point)
            _print_row(point)
    return points


def _print_row(p):
    cost = p["fit_cpu_s"] / (p["n"] * p["n_timesteps"]) * 1e6
    print(
        f"{p['n']:>7d} {p['n_timesteps']:>5d} {p['data_mb']:8.1f} {p['fit_s']:7.2f} "
        f"{p['fit_cpu_s']:7.2f} {cost:9.2f} {p['fit_peak_mb']:8.1f} "
        f"{p['fit_peak_mb'] / p['data_mb']:6.2f} {p['predict_s']:7.2f} "
        f"{p['predict_peak_mb']:8.1f}",
        flush=True,
    )


def summarize(points):
    """Growth from the smallest to the largest n at each length.

    Peak memory has a part that grows with the data and a part that does not
    (one batch's activations, which grow with the length, and the model);
    the slope between the two largest n is the memory per byte of data.
    """
    print("\ngrowth between the two largest n, per length:")
    for n_timesteps in sorted({p["n_timesteps"] for p in points}):
        row = sorted((p for p in points if p["n_timesteps"] == n_timesteps), key=lambda p: p["n"])
        if len(row) < 2:
            continue
        a, b = row[-2], row[-1]
        slope = (b["fit_peak_mb"] - a["fit_peak_mb"]) / (b["data_mb"] - a["data_mb"])
        fixed = b["fit_peak_mb"] - slope * b["data_mb"]
        print(
            f"  T={n_timesteps:>3d}: n x{b['n'] // a['n']}: CPU time "
            f"x{b['fit_cpu_s'] / a['fit_cpu_s']:.1f}, wall x{b['fit_s'] / a['fit_s']:.1f}; "
            f"peak memory {slope:.2f} MB per MB of float32 data + {fixed:.1f} MB fixed "
            f"(model with Adam state {b['model_mb']:.2f} MB)"
        )


def plot(points, path):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (ax_t, ax_m) = plt.subplots(1, 2, figsize=(9, 3.6))
    for n_timesteps in sorted({p["n_timesteps"] for p in points}):
        row = sorted((p for p in points if p["n_timesteps"] == n_timesteps), key=lambda p: p["n"])
        cells = [p["n"] * n_timesteps for p in row]
        ax_t.loglog(cells, [p["fit_cpu_s"] for p in row], "o-", label=f"T={n_timesteps}")
        ax_m.loglog(
            [p["data_mb"] for p in row],
            [p["fit_peak_mb"] for p in row],
            "o-",
            label=f"fit, T={n_timesteps}",
        )
        ax_m.loglog(
            [p["data_mb"] for p in row],
            [p["predict_peak_mb"] for p in row],
            "x:",
            color=ax_m.lines[-1].get_color(),
            label=f"predict, T={n_timesteps}",
        )
    cells = sorted(p["n"] * p["n_timesteps"] for p in points)
    first = min(points, key=lambda p: p["n"] * p["n_timesteps"])
    rate = min(p["fit_cpu_s"] / (p["n"] * p["n_timesteps"]) for p in points)
    ax_t.loglog(cells, [rate * c for c in cells], "k--", lw=0.8, label="linear")
    ax_t.set(xlabel="n x T (sequence steps)", ylabel="fit CPU time, 1 epoch [s]", title="fit time")
    data = sorted(p["data_mb"] for p in points)
    model = first["model_mb"]
    ax_m.loglog(data, [2 * d + model for d in data], "k--", lw=0.8, label="2x data + model")
    ax_m.loglog(data, [d for d in data], "k:", lw=0.8, label="1x data")
    ax_m.set(
        xlabel="float32 data [MB]", ylabel="peak RSS above start [MB]", title="peak extra memory"
    )
    ax_t.legend(fontsize=7)
    ax_m.legend(fontsize=6, ncol=2)
    fig.tight_layout()
    fig.savefig(path, dpi=80)


def measure_head(n, width, solver):
    """CPU seconds and peak extra MB of the classifier's closed-form head on
    ``n`` random rows of ``width`` features (two classes), in this process."""
    import numpy as np
    import torch

    torch.set_num_threads(1)
    rng = np.random.RandomState(0)
    Z = rng.normal(size=(n, width))
    Y = np.where(rng.normal(size=n) > 0, 1.0, -1.0)[:, None] * [1.0, -1.0]
    if solver == "sklrnn":
        from sklrnn._ridge import _ridge

        def solve():
            return _ridge(torch.as_tensor(Z), Y, None)
    else:
        from sklearn.linear_model import RidgeCV

        from sklrnn._ridge import _RIDGE_ALPHAS

        def solve():
            ridge = RidgeCV(alphas=_RIDGE_ALPHAS, scoring="neg_mean_squared_error")
            return ridge.fit(Z, Y)

    _, _, cpu, peak = _extra_peak_mb(solve)
    return {"n": n, "width": width, "solver": solver, "cpu_s": cpu, "peak_mb": peak}


def run_head(sizes, widths):
    """The closed-form head's cost, one subprocess per point (sklrnn's and RidgeCV)."""
    print(f"{'n':>6s} {'width':>6s} {'solver':>7s} {'CPU s':>7s} {'peak MB':>8s}")
    for width in widths:
        for n in sizes:
            # RidgeCV beyond 8,000 rows takes many minutes: left out.
            for solver in ("sklrnn", "RidgeCV") if n <= 8_000 else ("sklrnn",):
                cmd = [sys.executable, __file__, "--head-point", str(n), str(width), solver]
                p = json.loads(subprocess.run(cmd, capture_output=True, check=True).stdout)
                print(
                    f"{n:>6d} {width:>6d} {solver:>7s} {p['cpu_s']:7.1f} {p['peak_mb']:8.0f}",
                    flush=True,
                )


def measure_ragged(case):
    """Wall seconds and peak extra MB of one ``--ragged`` case, in this process."""
    import numpy as np
    import torch

    from sklrnn import RNNClassifier, pad_sequences
    from sklrnn._data import to_padded

    torch.set_num_threads(1)
    rng = np.random.default_rng(0)
    if case in ("short", "short-array"):
        X = [rng.normal(size=(n, 2)) for n in rng.integers(1, 4, size=200_000)]
        model = RNNClassifier(max_epochs=1, kernel_features=0, random_state=0)
        model.fit(X[:200], rng.integers(0, 2, 200))
        if case == "short-array":
            X = pad_sequences(X)
        call = lambda: model.predict_proba(X)  # noqa: E731
    elif case == "predict":
        lengths = np.minimum(rng.geometric(1 / 50, size=200_000), 2_000)
        X = [rng.normal(size=(n, 2)).astype(np.float32) for n in lengths]
        model = RNNClassifier(max_epochs=1, kernel_features=0, random_state=0)
        model.fit(X[:200], rng.integers(0, 2, 200))
        call = lambda: model.predict_proba(X)  # noqa: E731
    else:
        X = [rng.normal(size=(20, 1)) for _ in range(1_000)] + [rng.normal(size=(200_000, 1))]
        if case == "convert":
            call = lambda: to_padded(X)  # noqa: E731
        else:
            y = rng.integers(0, 2, len(X))
            model = RNNClassifier(max_length=100, max_epochs=1, kernel_features=0)
            RNNClassifier(max_epochs=1, kernel_features=0).fit(X[:20], y[:20])  # warm-up
            call = lambda: model.fit(X, y)  # noqa: E731
    _, seconds, _, peak = _extra_peak_mb(call)
    return {"case": case, "seconds": seconds, "peak_mb": peak}


def run_ragged():
    """The ``--ragged`` cases, one subprocess each."""
    print(f"{'case':>11s} {'wall s':>7s} {'peak MB':>8s}")
    for case in ("convert", "fit", "predict", "short", "short-array"):
        cmd = [sys.executable, __file__, "--ragged-case", case]
        p = json.loads(subprocess.run(cmd, capture_output=True, check=True).stdout)
        print(f"{case:>11s} {p['seconds']:7.1f} {p['peak_mb']:8.0f}", flush=True)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument(
        "--point",
        nargs=2,
        type=int,
        metavar=("N", "T"),
        help="measure one point in this process and print it as JSON",
    )
    parser.add_argument(
        "--head",
        action="store_true",
        help="time the classifier's closed-form head instead, at n=2k to 16k",
    )
    parser.add_argument(
        "--head-point", nargs=3, metavar=("N", "WIDTH", "SOLVER"), help=argparse.SUPPRESS
    )
    parser.add_argument(
        "--ragged", action="store_true", help="measure lists of sequences of different lengths"
    )
    parser.add_argument("--ragged-case", help=argparse.SUPPRESS)
    parser.add_argument("--quick", action="store_true", help="skip n=100k; write no files")
    parser.add_argument(
        "--plot-only", action="store_true", help="redraw the plot from benchmarks/scaling.json"
    )
    args = parser.parse_args()
    if args.point:
        print(json.dumps(measure_point(*args.point)))
        return
    if args.head_point:
        n, width, solver = args.head_point
        print(json.dumps(measure_head(int(n), int(width), solver)))
        return
    if args.ragged_case:
        print(json.dumps(measure_ragged(args.ragged_case)))
        return
    if args.ragged:
        run_ragged()
        return
    if args.head:
        # The head's width at the default kernel_features (5,040 kernel
        # features, 64 front-end channels, 256 recurrent features) and at 10,000.
        run_head(HEAD_SIZES, (5360, 10316))
        return
    if args.plot_only:
        points = json.loads((HERE / "scaling.json").read_text())
        summarize(points)
        plot(points, HERE / "scaling.png")
        return
    sizes = SIZES[:-1] if args.quick else SIZES
    print(
        f"1 epoch, LSTM hidden {HIDDEN}, batch {BATCH}, 1 thread, "
        f"load average {os.getloadavg()[0]:.2f}"
    )
    print(
        f"{'n':>7s} {'T':>5s} {'data MB':>8s} {'fit s':>7s} {'cpu s':>7s} "
        f"{'cpu us/nT':>9s} {'peak MB':>8s} {'/data':>6s} {'pred s':>7s} {'pred MB':>8s}"
    )
    points = run_all(sizes, LENGTHS)
    summarize(points)
    if args.quick:  # the committed figures are the full run's
        return
    (HERE / "scaling.json").write_text(json.dumps(points, indent=1) + "\n")
    plot(points, HERE / "scaling.png")
    print(f"wrote {HERE / 'scaling.json'} and {HERE / 'scaling.png'}")


if __name__ == "__main__":
    main()
