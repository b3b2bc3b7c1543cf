"""Time of sklrnn's recurrent engine against torch's nn.GRU and nn.RNN, per layer and per fit.

Two parts, on one thread, contenders interleaved (the order rotates every
round), CPU time of the process (``time.process_time``), minimum and median
over the rounds:

* ``layers``: one bidirectional layer over a batch of 64-feature sequences
  of equal length, at batch 32 and 256 x hidden 32 and 128 and at the
  default model's batch 32 x hidden 64, over 8 and 32 steps: forward and
  backward pass (``train``), and forward pass without gradient (``eval``,
  as in prediction). ``engine`` runs both directions as one computation, as
  ``RNNModule`` does on the CPU (the backward direction's input reversed,
  the weights stacked, all included in the time); ``torch`` is ``nn.GRU`` /
  ``nn.RNN`` with ``bidirectional=True`` on the same batch, its fastest case
  (no packing, one call). ``RNNModule`` uses the engine up to batch x hidden
  = 4096, where it measured faster.
* ``fits``: ``RNNClassifier(cell_type="gru", random_state=0)``, otherwise the
  defaults, fitted on GunPoint and JapaneseVowels (``../shared/data``), with
  the engine and with it switched off (each direction then runs torch's
  operator, as LSTM layers do). Epochs, final training loss and test
  accuracy are printed for both, to show that they train alike.

Run from the repository root::

    OMP_NUM_THREADS=1 python benchmarks/bench_engine.py
    OMP_NUM_THREADS=1 python benchmarks/bench_engine.py --parts layers --repeats 20
"""

import argparse
import contextlib
import os
import statistics
import time

os.environ.setdefault("OMP_NUM_THREADS", "1")

import numpy as np  # noqa: E402
import torch  # noqa: E402
from accuracy import CLASSIFICATION, EXTERNAL_CLASSIFICATION, count, load, names  # noqa: E402

import sklrnn._engine  # noqa: E402
from sklrnn import RNNClassifier  # noqa: E402
from sklrnn._engine import recurrent_streams  # noqa: E402

N_FEATURES = 64  # the default front end's channels
# (batch, hidden): the four sizes, and the default model's (batch 32, hidden 64).
SIZES = [(32, 32), (32, 64), (32, 128), (256, 32), (256, 128)]
STEPS = (8, 32)
NAMES = ("weight_ih", "weight_hh", "bias_ih", "bias_hh")


def interleaved(calls, repeats):
    """CPU seconds of each callable over ``repeats`` rounds, the order rotating."""
    names = list(calls)
    times = {name: [] for name in names}
    for r in range(repeats):
        for name in names[r % len(names) :] + names[: r % len(names)]:
            start = time.process_time()
            calls[name]()
            times[name].append(time.process_time() - start)
    return times


def layer_passes(cell_type, batch, hidden, steps, seed=0):
    """One bidirectional layer by the engine and by torch: training pass and evaluation."""
    torch.manual_seed(seed)
    cls = torch.nn.GRU if cell_type == "gru" else torch.nn.RNN
    layer = cls(N_FEATURES, hidden, batch_first=True, bidirectional=True)
    x = torch.randn(batch, steps, N_FEATURES, requires_grad=True)
    valid = torch.ones(batch, steps, dtype=torch.bool)
    probe = torch.randn(batch, steps, 2 * hidden)
    params = [[getattr(layer, f"{n}_l0{s}") for n in NAMES] for s in ("", "_reverse")]

    def engine():
        inputs = torch.stack([x, x.flip(1)])
        stacked = [torch.stack(p) for p in zip(*params, strict=True)]
        out = recurrent_streams(inputs, valid, *stacked, cell_type)
        return torch.cat([out[0], out[1].flip(1)], dim=2)

    def native():
        return layer(x)[0]

    def train(forward):
        (forward() * probe).sum().backward()

    def evaluate(forward):
        with torch.no_grad():
            forward()

    return {
        ("train", "torch"): lambda: train(native),
        ("train", "engine"): lambda: train(engine),
        ("eval", "torch"): lambda: evaluate(native),
        ("eval", "engine"): lambda: evaluate(engine),
    }


def _cells(times, mode):
    ref, new = times[mode, "torch"], times[mode, "engine"]
    return (
        f"{min(ref):.2f} / {statistics.median(ref):.2f} "
        f"| {min(new):.2f} / {statistics.median(new):.2f} "
        f"| {min(ref) / min(new):.1f}x / {statistics.median(ref) / statistics.median(new):.1f}x"
    )


def bench_layers(repeats):
    print(
        "| cell | batch | hidden | steps | train: torch ms (min / median) | engine ms | speed-up "
        "| eval: torch ms | engine ms | speed-up |"
    )
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for cell_type in ("gru", "rnn"):
        for batch, hidden in SIZES:
            for steps in STEPS:
                calls = layer_passes(cell_type, batch, hidden, steps)
                for call in calls.values():  # warm-up
                    call()
                # Enough passes per timing for the process clock's resolution.
                inner = max(1, int(2000 / (batch * hidden * steps / 1024)))
                timed = {
                    key: (lambda f=f, n=inner: [f() for _ in range(n)]) for key, f in calls.items()
                }
                times = interleaved(timed, repeats)
                times = {key: [v / inner * 1e3 for v in ts] for key, ts in times.items()}
                print(
                    f"| {cell_type} | {batch} | {hidden} | {steps} "
                    f"| {_cells(times, 'train')} | {_cells(times, 'eval')} |",
                    flush=True,
                )


@contextlib.contextmanager
def engine_switched_off():
    cells = sklrnn._engine.ENGINE_CELLS
    sklrnn._engine.ENGINE_CELLS = ()
    try:
        yield
    finally:
        sklrnn._engine.ENGINE_CELLS = cells


def bench_fits(repeats, datasets):
    results = {}

    def fit(name, engine):
        X, y = load(name, "train")
        X_test, y_test = load(name, "test")
        with contextlib.nullcontext() if engine else engine_switched_off():
            model = RNNClassifier(cell_type="gru", random_state=0).fit(X, y)
            accuracy = float(np.mean(model.predict(X_test) == y_test))
        results[name, engine] = (model.n_iter_, model.history_[-1, "train_loss"], accuracy)

    print("| data set | contender | fit CPU s (min / median) | epochs | final loss | test acc |")
    print("|---|---|---:|---:|---:|---:|")
    for name in datasets:
        X, y = load(name, "train")
        RNNClassifier(cell_type="gru", max_epochs=1).fit(X[:64], y[:64])  # warm-up
        calls = {
            "torch": lambda n=name: fit(n, False),
            "engine": lambda n=name: fit(n, True),
        }
        times = interleaved(calls, repeats)
        for contender, engine in (("torch", False), ("engine", True)):
            epochs, loss, accuracy = results[name, engine]
            ts = times[contender]
            print(
                f"| {name} | {contender} | {min(ts):.2f} / {statistics.median(ts):.2f} "
                f"| {epochs} | {loss:.3g} | {accuracy:.3f} |",
                flush=True,
            )
        ratio = min(times["torch"]) / min(times["engine"])
        ratio_median = statistics.median(times["torch"]) / statistics.median(times["engine"])
        print(f"| {name} | speed-up | {ratio:.2f}x / {ratio_median:.2f}x | | | |", flush=True)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--parts", type=names(["layers", "fits"]), default="layers,fits")
    parser.add_argument("--repeats", type=count(), default=None, help="layers: 10, fits: 3")
    parser.add_argument(
        "--datasets",
        type=names(CLASSIFICATION + EXTERNAL_CLASSIFICATION),
        default="GunPoint,JapaneseVowels",
    )
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    print(
        f"torch {torch.__version__}, threads {torch.get_num_threads()}, "
        f"load average {os.getloadavg()[0]:.2f}\n"
    )
    parts = args.parts
    if "layers" in parts:
        bench_layers(args.repeats or 10)
        print()
    if "fits" in parts:
        bench_fits(args.repeats or 3, args.datasets)


if __name__ == "__main__":
    main()
