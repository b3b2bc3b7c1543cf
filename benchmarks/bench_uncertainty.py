"""Calibration of RNNRegressor's predictive std and of RNNClassifier's probabilities.

Two commands, run from the repository root on one thread per fit:

``regression``
    Coverage of the ±1.96σ intervals of ``RNNRegressor.predict(X,
    return_std=True)`` (the fraction of held-out targets inside them; 0.95
    for a calibrated Gaussian) and their mean width, on

    * Covid3Month (a development regression set): 5-fold cross-validation
      within the training split, and the test split, read once;
    * a synthetic heteroscedastic set (:func:`heteroscedastic`): sine waves
      whose target's noise grows with their frequency, 600 training and 600
      test sequences drawn afresh for every seed; coverage is also given in
      the quietest and the noisiest third of the test sequences.

    Three models, each over ``--seeds`` seeds: one network (the default),
    ``n_networks=5``, and one network whose std is rescaled by split
    conformal calibration (:func:`conformal_factor`: fitted on 80% of the
    training data, the factor measured on the other 20%). For the first two
    the table also gives the epistemic part alone (dropout and ensemble
    spread, without ``noise_std_``)::

        OMP_NUM_THREADS=1 python benchmarks/bench_uncertainty.py regression --jobs 2

``classification``
    Expected calibration error (15 equal-width bins of the top-label
    confidence), log-loss and accuracy of ``RNNClassifier.predict_proba`` on
    the test split of each development classification set, and the same for
    ``CalibratedClassifierCV(RNNClassifier(), method="temperature", cv=3)``
    (scikit-learn >= 1.8; 2 folds for PigCVP, whose classes have 2 training
    series each)::

        OMP_NUM_THREADS=1 python benchmarks/bench_uncertainty.py classification --jobs 2

    ``--cv`` measures the same within the training splits instead, on the
    folds of ``accuracy.py cv`` (the test splits are not read), and
    ``--shots K`` on its few-shot splits (``K`` series per class to fit, the
    rest of the training split to score)::

        OMP_NUM_THREADS=1 python benchmarks/bench_uncertainty.py classification --cv --jobs 2
        OMP_NUM_THREADS=1 python benchmarks/bench_uncertainty.py classification --shots 2 --seeds 5

``--seeds`` (default 3), ``--datasets`` (a comma-separated list; the external
collection's sets of ``accuracy.py --external`` load too),
``--set KEY=VALUE`` (a parameter of every fit, as in ``accuracy.py``) and
``--jsonl FILE`` (one record per fit) work for both. ``benchmarks/README.md``
quotes the tables.
"""

import argparse
import json
import time
import warnings

import numpy as np
from accuracy import (
    CLASSIFICATION,
    DATASETS,
    count,
    cv_splits,
    is_regression,
    load,
    names,
    parse_set,
    train_labels,
    with_shots,
)
from joblib import Parallel, delayed
from sklearn.calibration import CalibratedClassifierCV
from sklearn.metrics import log_loss
from sklearn.model_selection import KFold, train_test_split

from sklrnn import RNNClassifier, RNNRegressor

Z95 = 1.959964
N_BINS = 15
SYNTHETIC = "heteroscedastic"


def heteroscedastic(n, seed, n_timesteps=40):
    """Noisy sine waves; the target's noise grows with the wave's frequency.

    Period ``P ~ U(6, 20)`` steps, amplitude ``A ~ U(0.5, 1.5)``, phase
    ``phi ~ U(0, 2 pi)``, input noise 0.1. The target is ``A cos(phi)`` plus
    Gaussian noise of std ``0.05 + 0.45 (20 - P) / 14``: 0.05 for the slowest
    waves, 0.5 for the fastest.

    Returns
    -------
    X : ndarray of shape (n, n_timesteps)
    y : ndarray of shape (n,)
    noise_std : ndarray of shape (n,)
        The std of each target's noise.
    """
    rng = np.random.RandomState(seed)
    period = rng.uniform(6, 20, n)
    amplitude = rng.uniform(0.5, 1.5, n)
    phase = rng.uniform(0, 2 * np.pi, n)
    t = np.arange(n_timesteps)
    X = amplitude[:, None] * np.sin(2 * np.pi * t / period[:, None] + phase[:, None])
    X += 0.1 * rng.normal(size=X.shape)
    noise_std = 0.05 + 0.45 * (20 - period) / 14
    y = amplitude * np.cos(phase) + noise_std * rng.normal(size=n)
    return X, y, noise_std


def interval_scores(y, mean, std, noise_std=None):
    """Coverage of mean ± 1.96 std, mean width, and coverage by noise third."""
    inside = np.abs(y - mean) <= Z95 * std
    scores = {"coverage": inside.mean(), "width": 2 * Z95 * std.mean()}
    scores["rmse"] = np.sqrt(np.mean((y - mean) ** 2))
    if noise_std is not None:
        low, high = np.quantile(noise_std, [1 / 3, 2 / 3])
        scores["coverage_quiet"] = inside[noise_std <= low].mean()
        scores["coverage_noisy"] = inside[noise_std >= high].mean()
    return {k: float(v) for k, v in scores.items()}


def conformal_factor(y, mean, std, level=0.95):
    """Split conformal factor: the std multiplier that covers ``level`` of (y, mean, std).

    The ``ceil((m + 1) level)``-th smallest of the ``m`` normalized residuals
    ``|y - mean| / std``, over 1.96: with it, intervals on exchangeable new
    data cover at least ``level`` on average.
    """
    scores = np.sort(np.abs(y - mean) / std)
    rank = min(int(np.ceil((len(scores) + 1) * level)), len(scores))
    return scores[rank - 1] / Z95


def regression_split(dataset, seed, fold):
    """Training and test data of one split, and the test noise (synthetic only)."""
    if dataset == SYNTHETIC:
        X, y, _ = heteroscedastic(600, 1000 + seed)
        X_test, y_test, noise = heteroscedastic(600, 2000 + seed)
        return X, y, X_test, y_test, noise
    X, y = load(dataset, "train")
    if fold is None:
        return (X, y, *load(dataset, "test"), None)
    train, test = list(KFold(5, shuffle=True, random_state=seed).split(y))[fold]
    return X[train], y[train], X[test], y[test], None


def run_regression(dataset, model, seed, fold, params):
    import torch

    torch.set_num_threads(1)
    warnings.filterwarnings("ignore", category=UserWarning)
    X, y, X_test, y_test, noise = regression_split(dataset, seed, fold)
    n_networks = 5 if model == "ensemble" else 1
    estimator = RNNRegressor(n_networks=n_networks, random_state=seed, **params)
    factor = 1.0
    start = time.perf_counter()
    if model == "conformal":
        X, X_cal, y, y_cal = train_test_split(X, y, test_size=0.2, random_state=seed)
        estimator.fit(X, y)
        factor = conformal_factor(y_cal, *estimator.predict(X_cal, return_std=True))
    else:
        estimator.fit(X, y)
    seconds = time.perf_counter() - start
    mean, std = estimator.predict(X_test, return_std=True)
    record = {"dataset": dataset, "model": model, "seed": seed, "fold": fold}
    record.update(interval_scores(y_test, mean, factor * std, noise))
    if model != "conformal":  # the dropout (and ensemble) part alone
        epistemic = np.sqrt(np.maximum(std**2 - estimator.noise_std_**2, 0))
        scores = interval_scores(y_test, mean, epistemic, noise)
        record.update({f"epistemic_{k}": v for k, v in scores.items() if k != "rmse"})
    record.update(noise_std=float(estimator.noise_std_[0]), factor=factor, fit_seconds=seconds)
    return record


def expected_calibration_error(y_true, proba, n_bins=N_BINS):
    """Top-label ECE: bins of equal width over the confidence ``proba.max(1)``.

    The mean over bins, weighted by their share of the samples, of
    ``|accuracy - mean confidence|``; bins are closed on the right, as in
    Guo et al. (2017). ``y_true`` holds column indices of ``proba``.
    """
    confidence = proba.max(axis=1)
    correct = proba.argmax(axis=1) == y_true
    bins = np.clip(np.ceil(confidence * n_bins).astype(int) - 1, 0, n_bins - 1)
    total = 0.0
    for b in np.unique(bins):
        members = bins == b
        total += members.sum() * abs(correct[members].mean() - confidence[members].mean())
    return total / len(y_true)


def run_classification(dataset, model, seed, params, fold=None, shots=None):
    """One fit, scored on the test split, or with ``fold`` on that CV fold."""
    import torch

    torch.set_num_threads(1)
    warnings.filterwarnings("ignore", category=UserWarning)
    X, y = load(dataset, "train")
    if fold is None:
        X_test, y_test = load(dataset, "test")
    else:
        train, test = cv_splits(dataset, y, 5, seed, shots)[fold]
        X, X_test, y, y_test = X[train], X[test], y[train], y[test]
    if X.ndim == 2 and X.shape[1] != X_test.shape[1]:
        # A 2D table has fixed columns; sequences of other lengths go in as 3D.
        X, X_test = X[:, :, None], X_test[:, :, None]
    estimator = RNNClassifier(random_state=seed, **params)
    if model == "temperature":
        folds = min(3, np.unique(y, return_counts=True)[1].min())
        estimator = CalibratedClassifierCV(estimator, method="temperature", cv=folds)
    start = time.perf_counter()
    estimator.fit(X, y)
    seconds = time.perf_counter() - start
    proba = estimator.predict_proba(X_test)
    index = np.searchsorted(estimator.classes_, y_test)
    return {
        "dataset": dataset,
        "model": model,
        "seed": seed,
        "fold": fold,
        "shots": shots,
        "accuracy": float((proba.argmax(axis=1) == index).mean()),
        "ece": float(expected_calibration_error(index, proba)),
        "log_loss": float(log_loss(index, proba, labels=np.arange(proba.shape[1]))),
        "fit_seconds": seconds,
    }


def mean_over_seeds(rows, key):
    """Mean over seeds of the per-seed mean (over folds) of ``key``."""
    seeds = sorted({r["seed"] for r in rows})
    return np.mean([np.mean([r[key] for r in rows if r["seed"] == s]) for s in seeds])


REGRESSION_MODELS = [
    ("default", "one network (default)", True),
    ("ensemble", "n_networks=5", True),
    ("conformal", "one network, split conformal", False),
]


def report_regression(records, datasets):
    for dataset in datasets:
        splits = [("5-fold CV within the training split", "cv"), ("test split", "test")]
        if dataset == SYNTHETIC:
            splits = [("fresh test draws", "test")]
        for title, split in splits:
            rows = [
                r
                for r in records
                if r["dataset"] == dataset and (r["fold"] is None) == (split == "test")
            ]
            if not rows:
                continue
            seeds = len({r["seed"] for r in rows})
            print(f"\n{dataset}, {title} (means over {seeds} seeds)\n")
            thirds = dataset == SYNTHETIC
            head = "| std | coverage | mean width | RMSE |"
            head += " coverage, quietest third | coverage, noisiest third |" if thirds else ""
            print(head)
            print("|---" * (head.count("|") - 1) + "|")
            for model, label, epistemic in REGRESSION_MODELS:
                group = [r for r in rows if r["model"] == model]
                if not group:
                    continue
                variants = [("", label)]
                if epistemic:
                    variants.insert(0, ("epistemic_", f"{label}: dropout/spread only"))
                for prefix, name in variants:
                    cells = [
                        f"{mean_over_seeds(group, prefix + 'coverage'):.3f}",
                        f"{mean_over_seeds(group, prefix + 'width'):.3f}",
                        f"{mean_over_seeds(group, 'rmse'):.3f}" if not prefix else "",
                    ]
                    if thirds:
                        cells += [
                            f"{mean_over_seeds(group, prefix + 'coverage_quiet'):.3f}",
                            f"{mean_over_seeds(group, prefix + 'coverage_noisy'):.3f}",
                        ]
                    print(f"| {name} | " + " | ".join(cells) + " |")


def report_classification(records, datasets, split="Test splits"):
    seeds = len({r["seed"] for r in records})
    print(f"\n{split}, means over {seeds} seed(s)\n")
    print("| data set | accuracy | ECE | log-loss | temperature: accuracy | ECE | log-loss |")
    print("|---|---|---|---|---|---|---|")
    totals = {m: [] for m in ("rnn", "temperature")}
    for dataset in datasets:
        cells = []
        for model in totals:
            rows = [r for r in records if r["dataset"] == dataset and r["model"] == model]
            if not rows:
                cells += ["", "", ""]
                continue
            means = [mean_over_seeds(rows, k) for k in ("accuracy", "ece", "log_loss")]
            totals[model].append(means)
            cells += [f"{v:.3f}" for v in means]
        print(f"| {dataset} | " + " | ".join(cells) + " |")
    cells = []
    for values in totals.values():
        cells += [f"{v:.3f}" for v in np.mean(values, axis=0)] if values else ["", "", ""]
    print("| mean | " + " | ".join(cells) + " |")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("command", choices=["regression", "classification"])
    parser.add_argument("--seeds", type=count(), default=3)
    parser.add_argument("--jobs", type=int, default=1, help="fits run in parallel processes")
    parser.add_argument("--datasets", type=names([*DATASETS, SYNTHETIC]), default=None)
    parser.add_argument("--models", default=None, help="a comma-separated subset")
    parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE")
    parser.add_argument("--jsonl", default=None)
    parser.add_argument(
        "--cv", action="store_true", help="classification: CV within training splits"
    )
    parser.add_argument("--shots", type=count(), default=None, help="classification: few-shot CV")
    args = parser.parse_args(argv)
    if (args.cv or args.shots is not None) and args.command == "regression":
        raise SystemExit("--cv and --shots are for classification (regression always runs CV)")
    params = parse_set(args.set)
    regression = args.command == "regression"
    default_sets = ["Covid3Month", SYNTHETIC] if regression else CLASSIFICATION
    datasets = args.datasets or default_sets
    other_task = [d for d in datasets if (d == SYNTHETIC or is_regression(d)) != regression]
    if other_task:
        parser.error(f"--datasets: not {args.command} sets: {', '.join(other_task)}")
    if args.shots is not None:
        datasets = with_shots(datasets, args.shots)
    all_models = [m for m, _, _ in REGRESSION_MODELS] if regression else ["rnn", "temperature"]
    models = args.models.split(",") if args.models else all_models
    unknown = sorted(set(models) - set(all_models))
    if unknown:
        raise SystemExit(f"--models: unknown {unknown}; the {args.command} models are {all_models}")
    if regression:
        tasks = [
            delayed(run_regression)(dataset, model, seed, fold, params)
            for dataset in datasets
            for seed in range(args.seeds)
            for fold in ([None] if dataset == SYNTHETIC else [*range(5), None])
            for model in models
        ]
    else:
        cv = args.cv or args.shots is not None

        def folds(dataset, seed):
            if not cv:
                return [None]
            return range(len(cv_splits(dataset, train_labels(dataset), 5, seed, args.shots)))

        tasks = [
            delayed(run_classification)(dataset, model, seed, params, fold, args.shots)
            for dataset in datasets
            for seed in range(args.seeds)
            for fold in folds(dataset, seed)
            for model in models
        ]
    records = []
    for record in Parallel(n_jobs=args.jobs, return_as="generator_unordered")(tasks):
        records.append(record)
        if args.jsonl:
            with open(args.jsonl, "a") as fh:
                fh.write(json.dumps(record) + "\n")
    print(f"{args.command}: {params or 'defaults'}, seeds {args.seeds}")
    if regression:
        report_regression(records, datasets)
    else:
        split = "Test splits"
        if args.shots is not None:
            split = f"{args.shots} training series per class, the rest of the training split scored"
        elif args.cv:
            split = "5-fold CV within the training splits"
        report_classification(records, datasets, split)


if __name__ == "__main__":
    main()
