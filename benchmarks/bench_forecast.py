"""Forecasts from windows of a series' last values: the forecasting example's protocol.

The Airline series bundled with sklrnn (monthly passengers, 1949-1960): windows
of 24 months, each relative to its last month (log scale), and the 12 months
after it as targets; four time-ordered folds (``TimeSeriesSplit(4,
test_size=12, gap=11)``, so that no month is a target in both a fold's
training and test windows). Mean absolute error in thousands of passengers
per month, over the folds, for ``RNNRegressor`` (defaults, changed by
``--set``) over ``--seeds`` seeds, next to the naive forecast (the last
month), the seasonal naive one (the same month a year earlier) and ridge
regression on the window's relative values (penalty by leave-one-out). The
"network head" column counts the fits whose closed-form head reads the
network's features alone (its weights on the random kernels' features all 0)::

    OMP_NUM_THREADS=1 python benchmarks/bench_forecast.py --seeds 3 --jobs 2
    OMP_NUM_THREADS=1 python benchmarks/bench_forecast.py --seeds 3 --jobs 2 --set kernel_features=0
"""

import argparse
import os
import sys
import warnings

import numpy as np
from joblib import Parallel, delayed
from sklearn.linear_model import RidgeCV
from sklearn.model_selection import TimeSeriesSplit

sys.path.insert(0, os.path.dirname(__file__))
from accuracy import RIDGE_ALPHAS, count, parse_set  # noqa: E402

from sklrnn import RNNRegressor, make_windows  # noqa: E402
from sklrnn.datasets import load_airline  # noqa: E402

WINDOW, HORIZON = 24, 12


def windows():
    """Relative windows and targets, the windows' last log values and the targets."""
    X, Y = make_windows(np.log(load_airline()), window=WINDOW, horizon=HORIZON)
    level = X[:, -1, 0]
    return X - level[:, None, None], Y - level[:, None], level, np.exp(Y)


def folds(n):
    return list(TimeSeriesSplit(n_splits=4, test_size=HORIZON, gap=HORIZON - 1).split(range(n)))


def run_fold(seed, train, test, params, data):
    """The RNNRegressor's MAE on one fold of ``data`` (what :func:`windows`
    returns, passed to each worker process), and whether its head reads the
    network alone."""
    import torch

    torch.set_num_threads(1)
    warnings.filterwarnings("ignore", category=UserWarning)
    X, Y, level, passengers = data
    model = RNNRegressor(random_state=seed, **params).fit(X[train], Y[train])
    forecast = np.exp(model.predict(X[test]) + level[test][:, None])
    module = model.net_.module_
    networks = module.networks if model.n_networks_ > 1 else [module]
    alone = all(
        net.kernel_width and not net.head.weight[:, : net.kernel_width].any() for net in networks
    )
    return seed, float(np.abs(forecast - passengers[test]).mean()), alone


def peers(data):
    """MAE per fold of the naive, seasonal naive and ridge forecasts."""
    X, Y, level, passengers = data
    maes = {"naive": [], "seasonal naive": [], "ridge on the window": []}
    for train, test in folds(len(X)):
        truth = passengers[test]
        forecasts = {
            "naive": np.repeat(np.exp(level[test])[:, None], HORIZON, axis=1),
            "seasonal naive": np.exp(X[test, -12:, 0] + level[test][:, None])[:, :HORIZON],
            "ridge on the window": np.exp(
                RidgeCV(alphas=RIDGE_ALPHAS).fit(X[train, :, 0], Y[train]).predict(X[test, :, 0])
                + level[test][:, None]
            ),
        }
        for name, forecast in forecasts.items():
            maes[name].append(np.abs(forecast - truth).mean())
    return {name: float(np.mean(values)) for name, values in maes.items()}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seeds", type=count(), default=3)
    parser.add_argument("--jobs", type=int, default=1, help="fits run in parallel processes")
    parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE")
    args = parser.parse_args(argv)
    params = parse_set(args.set)
    data = windows()
    runs = Parallel(n_jobs=args.jobs)(
        delayed(run_fold)(seed, train, test, params, data)
        for seed in range(args.seeds)
        for train, test in folds(len(data[0]))
    )
    per_seed = [np.mean([mae for s, mae, _ in runs if s == seed]) for seed in range(args.seeds)]
    print(f"Airline, 4 time-ordered folds: {params or 'defaults'}, seeds {args.seeds}\n")
    print("| model | MAE, thousands of passengers | per seed | network head |")
    print("|---|---|---|---|")
    seeds = ", ".join(f"{mae:.1f}" for mae in per_seed)
    network = f"{sum(alone for *_, alone in runs)} of {len(runs)} fits"
    print(f"| RNNRegressor | {np.mean(per_seed):.1f} | {seeds} | {network} |")
    for name, mae in peers(data).items():
        print(f"| {name} | {mae:.1f} | | |")


if __name__ == "__main__":
    main()
