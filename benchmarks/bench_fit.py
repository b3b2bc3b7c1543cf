"""Training and prediction time of sklrnn against plain skorch and raw PyTorch.

Three ways to train the same network (one LSTM layer and a linear head on the
last hidden state) on the same data, timed in one process, interleaved and
repeated, on one thread:

* ``raw``: a hand-written PyTorch loop over in-memory tensors (shuffled index
  batches, Adam, cross-entropy, ``loss.item()`` per batch as a training log
  would);
* ``sklrnn``: ``RNNClassifier.fit`` on the numpy array, with settings that do
  the same work as the raw loop (every one set explicitly, whatever the
  defaults): one unidirectional layer, no dropout (``dropout=0``,
  ``readout_dropout=0``), no weight decay, ``early_stopping=False``
  (no validation split), ``clip_grad_norm=None`` (no clipping),
  ``standardize=False``, ``lr_schedule=None``, ``conv_channels=0`` (no
  convolutional front end, so one recurrent step per time step),
  ``kernel_features=0`` (no random kernel features, no closed-form head),
  ``readout="last"``, the same optimizer, learning rate, batch size and number
  of epochs. Its time includes input validation and conversion;
* ``skorch``: a plain ``skorch.NeuralNetClassifier`` with default data loading
  (``train_split=None``) wrapping the raw loop's module.

Prediction is timed the same way: ``RNNClassifier.predict`` against a raw
``torch.no_grad()`` loop over batches of the same size (and skorch's
``predict``), on 10,000 new sequences, reported as sequences per second.

Run from the repository root::

    OMP_NUM_THREADS=1 python benchmarks/bench_fit.py

``--device cuda`` runs all three on a GPU (the default is ``cpu``); there
the wall-clock times are the ones to read, each call ending with the device
synchronized. ``--repeats`` sets the number of interleaved repeats (default 5). Three
ratios to the raw loop are printed: of the minimum times, of the median times,
and the median of the per-round ratios ("paired": each round runs the
contenders back to back, so a slow period of a shared machine mostly cancels
out).
"""

import argparse
import os
import statistics
import time

os.environ.setdefault("OMP_NUM_THREADS", "1")

import numpy as np  # noqa: E402
import torch  # noqa: E402
from accuracy import count, names  # noqa: E402
from skorch import NeuralNetClassifier  # noqa: E402
from torch import nn  # noqa: E402

from sklrnn import RNNClassifier  # noqa: E402

N_SAMPLES, BATCH_SIZE, EPOCHS, LR = 2000, 64, 5, 1e-3
N_PREDICT = 10_000  # sequences per timed predict call
DEVICE = "cpu"  # set by --device
# name: (hidden_size, n_timesteps). "overhead" does almost no arithmetic, so
# that its time differences are the per-fit and per-step costs around it.
CONFIGS = {"small": (32, 50), "large": (128, 200), "overhead": (2, 2)}


class LSTMHead(nn.Module):
    """One LSTM layer and a linear head on the last hidden state."""

    def __init__(self, hidden_size, n_features=1, n_outputs=2):
        super().__init__()
        self.rnn = nn.LSTM(n_features, hidden_size, batch_first=True)
        self.head = nn.Linear(hidden_size, n_outputs)

    def forward(self, X):
        _, (h, _) = self.rnn(X)
        return self.head(h[-1])


def make_data(n_timesteps, seed=0, n=N_SAMPLES):
    rng = np.random.RandomState(seed)
    X = rng.normal(size=(n, n_timesteps)).astype(np.float32)
    y = (X[:, -5:].sum(axis=1) > 0).astype(np.int64)
    return X, y


def fit_raw(X, y, hidden_size, seed=0):
    torch.manual_seed(seed)
    Xt = torch.from_numpy(X).unsqueeze(-1).to(DEVICE)
    yt = torch.from_numpy(y).to(DEVICE)
    module = LSTMHead(hidden_size).to(DEVICE)
    optimizer = torch.optim.Adam(module.parameters(), lr=LR, fused=True)  # as sklrnn
    criterion = nn.CrossEntropyLoss()
    module.train()
    for _ in range(EPOCHS):
        order = torch.randperm(len(Xt), device=DEVICE)
        total = 0.0
        for start in range(0, len(Xt), BATCH_SIZE):
            idx = order[start : start + BATCH_SIZE]
            optimizer.zero_grad()
            loss = criterion(module(Xt[idx]), yt[idx])
            loss.backward()
            optimizer.step()
            total += loss.item() * len(idx)
    return module


def fit_sklrnn(X, y, hidden_size, seed=0):
    return RNNClassifier(
        cell_type="lstm",
        hidden_size=hidden_size,
        num_layers=1,
        bidirectional=False,
        dropout=0.0,
        readout_dropout=0.0,
        readout="last",
        standardize=False,
        optimizer="adam",
        weight_decay=0.0,
        lr=LR,
        batch_size=BATCH_SIZE,
        max_epochs=EPOCHS,
        early_stopping=False,
        clip_grad_norm=None,
        lr_schedule=None,
        conv_channels=0,
        kernel_features=0,
        random_state=seed,
        device=DEVICE,
    ).fit(X, y)


def fit_skorch(X, y, hidden_size, seed=0):
    torch.manual_seed(seed)
    net = NeuralNetClassifier(
        LSTMHead,
        module__hidden_size=hidden_size,
        criterion=nn.CrossEntropyLoss,
        optimizer=torch.optim.Adam,
        optimizer__fused=True,  # as sklrnn
        lr=LR,
        batch_size=BATCH_SIZE,
        max_epochs=EPOCHS,
        train_split=None,
        iterator_train__shuffle=True,
        device=DEVICE,
        verbose=0,
    )
    return net.fit(X[:, :, None], y)


def predict_raw(module, X):
    Xt = torch.from_numpy(X).unsqueeze(-1).to(DEVICE)
    module.eval()
    out = []
    with torch.no_grad():
        for start in range(0, len(Xt), BATCH_SIZE):
            out.append(module(Xt[start : start + BATCH_SIZE]))
    return torch.cat(out).argmax(dim=1).cpu().numpy()


def predict_sklrnn(model, X):
    return model.predict(X)


def predict_skorch(net, X):
    return net.predict(X[:, :, None])


FITS = {"raw": fit_raw, "sklrnn": fit_sklrnn, "skorch": fit_skorch}
PREDICTS = {"raw": predict_raw, "sklrnn": predict_sklrnn, "skorch": predict_skorch}


def interleaved(calls, repeats):
    """Time each callable ``repeats`` times, rotating the order every round.

    Returns ``{name: (wall_times, cpu_times)}``. The CPU time of the process
    is less disturbed than the wall time when other jobs share the cores.
    """
    names = list(calls)
    times = {name: ([], []) for name in names}
    for r in range(repeats):
        for name in names[r % len(names) :] + names[: r % len(names)]:
            wall, cpu = time.perf_counter(), time.process_time()
            calls[name]()
            if DEVICE != "cpu":
                torch.cuda.synchronize()
            times[name][1].append(time.process_time() - cpu)
            times[name][0].append(time.perf_counter() - wall)
    return times


def summarize(times, which, reference="raw"):
    """``{name: (min, median, ratios to the reference)}``.

    Three ratios: of the minimum times, of the median times, and the median
    over rounds of each round's ratio (a round times every contender back to
    back, so a slow period of the machine mostly cancels out of its ratio).
    """
    ref = times[reference][which]
    stats = {}
    for name, ts in times.items():
        t = ts[which]
        paired = statistics.median(a / b for a, b in zip(t, ref, strict=True))
        stats[name] = (
            min(t),
            statistics.median(t),
            min(t) / min(ref),
            statistics.median(t) / statistics.median(ref),
            paired,
        )
    return stats


def report(label, times, n_predict=None):
    for which, kind in ((0, "wall"), (1, "cpu")):
        if n_predict is None:
            print(
                f"  {label} {kind:4s} {'min s':>8s} {'median s':>9s} {'/raw min':>9s} "
                f"{'/raw med':>9s} {'/raw paired':>11s}"
            )
        else:
            print(
                f"  {label} {kind:4s} {'seq/s@min':>10s} {'seq/s@med':>10s} {'x/raw min':>9s} "
                f"{'x/raw med':>9s} {'x/raw paired':>12s}"
            )
        for name, (lo, med, r_lo, r_med, r_pair) in summarize(times, which).items():
            if n_predict is None:
                print(
                    f"    {name:12s} {lo:8.3f} {med:9.3f} {r_lo:9.3f} {r_med:9.3f} {r_pair:11.3f}"
                )
            else:
                print(
                    f"    {name:12s} {n_predict / lo:10.0f} {n_predict / med:10.0f} "
                    f"{r_lo:9.3f} {r_med:9.3f} {r_pair:12.3f}"
                )


def bench_config(name, repeats):
    hidden_size, n_timesteps = CONFIGS[name]
    X, y = make_data(n_timesteps)
    for fit in FITS.values():  # warm-up: first-call costs (imports, allocator)
        fit(X[:256], y[:256], hidden_size)
    fit_times = interleaved(
        {k: (lambda f=f: f(X, y, hidden_size)) for k, f in FITS.items()}, repeats
    )
    fitted = {k: f(X[:256], y[:256], hidden_size) for k, f in FITS.items()}
    Xp, _ = make_data(n_timesteps, seed=1, n=N_PREDICT)
    pred_times = interleaved(
        {k: (lambda k=k: PREDICTS[k](fitted[k], Xp)) for k in PREDICTS}, repeats
    )
    print(
        f"\n[{name}] LSTM hidden {hidden_size}, {n_timesteps} steps, n={N_SAMPLES}, "
        f"batch {BATCH_SIZE}, {EPOCHS} epochs, Adam, 1 thread, {repeats} interleaved repeats, "
        f"device {DEVICE}"
    )
    report("fit    ", fit_times)
    report("predict", pred_times, n_predict=len(Xp))
    steps = EPOCHS * -(-N_SAMPLES // BATCH_SIZE)
    batches = -(-N_PREDICT // BATCH_SIZE)
    for label, times, per, unit in (
        ("fit", fit_times, steps, "training step"),
        ("predict", pred_times, batches, "batch"),
    ):
        extra = statistics.median(
            a - b for a, b in zip(times["sklrnn"][1], times["raw"][1], strict=True)
        )
        print(
            f"  sklrnn - raw, {label}: {extra * 1e3:.1f} ms CPU per call "
            f"(median of paired differences), {extra / per * 1e6:.0f} us per {unit}"
        )
    return fit_times, pred_times


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeats", type=count(), default=5)
    parser.add_argument(
        "--configs",
        type=names(list(CONFIGS)),
        default="overhead,small,large",
        help="comma-separated subset of: " + ", ".join(CONFIGS),
    )
    parser.add_argument("--device", default="cpu", help="cpu (default) or cuda[:N]")
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    # Denormal floats make CPU arithmetic many times slower, and whether a fit
    # meets them depends on its initialization: the raw loop's LSTM (torch's
    # default initialization) took 14.6 s on 640 sequences of the large config,
    # 3.4 s with them flushed to zero. Flushed for every contender, the timings
    # compare the work around the same arithmetic. (Set here, not on import:
    # the process-wide flag broke the tests that import this script.)
    torch.set_flush_denormal(True)
    global DEVICE
    DEVICE = args.device
    if DEVICE != "cpu" and not torch.cuda.is_available():
        parser.error(f"--device {DEVICE}: CUDA is not available on this machine")
    print(
        f"torch {torch.__version__}, threads {torch.get_num_threads()}, "
        f"load average {os.getloadavg()[0]:.2f}"
    )
    for name in args.configs:
        bench_config(name, args.repeats)


if __name__ == "__main__":
    main()
