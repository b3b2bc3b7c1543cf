"""Accuracy of the default estimators on the bundled real data sets.

Trains ``RNNClassifier()`` and ``RNNRegressor()``, with their default
parameters, on the archive's official train split of every data set in
``sklrnn.datasets`` and scores them on the official test split, over several
seeds. Classification accuracy is shown next to the published figures of
Fawaz et al. (2019) for FCN and for their only recurrent model, the echo-state
network TWIESN; the regression RMSE next to ``RidgeCV`` on the flattened
series.

With ``--ablation`` every data set is also fitted with one default changed at
a time, so that the effect of each default is measured rather than assumed.

Run from the repository root, one thread (fit times are per CPU core)::

    OMP_NUM_THREADS=1 python benchmarks/accuracy.py --seeds 3 --ablation

With ``--search`` every data set is also fitted the way
``docs/choosing_hyperparameters.rst`` recommends when the defaults are not
enough: ``GridSearchCV`` over ``SEARCH_GRID`` with 5-fold cross-validation on
the train split, refitted on all of it, scored once on the test split. (The
published TWIESN figures also come from a search: 16 reservoir settings
compared on a 20% validation split of the train split.)

Options: ``--datasets gunpoint,covid3month`` runs a subset, ``--set key=value``
(repeatable, value a Python literal) changes a parameter of every fit,
``--variants name,...`` picks ablation rows, ``--jsonl FILE`` appends one
record per fit, and ``--report FILE`` prints the tables of such a file
without fitting (so that the rows can be run in parallel processes).

Fit time is reported as CPU time of the process (``time.process_time``),
which one thread keeps close to the wall time on an idle machine and which
does not grow when other processes share the CPU, and as wall time.
"""

import argparse
import ast
import json
import sys
import time
import warnings

import numpy as np
import torch
from sklearn.linear_model import RidgeCV
from sklearn.metrics import accuracy_score, mean_squared_error
from sklearn.model_selection import GridSearchCV, KFold, StratifiedKFold
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from sklrnn import RNNClassifier, RNNRegressor
from sklrnn.datasets import (
    load_basic_motions,
    load_covid3month,
    load_gunpoint,
    load_italy_power_demand,
    load_japanese_vowels,
)

# name: (loader, task, published FCN accuracy, published TWIESN accuracy)
# Fawaz et al. 2019, "Deep learning for time series classification: a
# review", Data Min. Knowl. Disc. 33, mean of 5 runs on the same splits.
DATASETS = {
    "italy_power_demand": (load_italy_power_demand, "classification", 0.963, 0.871),
    "gunpoint": (load_gunpoint, "classification", 1.000, 0.989),
    "basic_motions": (load_basic_motions, "classification", None, None),
    "japanese_vowels": (load_japanese_vowels, "classification", 0.993, 0.965),
    "covid3month": (load_covid3month, "regression", None, None),
}

# One default changed at a time (name: parameters that differ from the
# defaults), the defaults before the ensemble (one network, no magnitude
# scaling), and the defaults of sklrnn 0.1.0 all at once.
VARIANTS = {
    "default": {},
    "n_networks=1": {"n_networks": 1},
    "n_networks='auto'": {"n_networks": "auto"},
    "magnitude_scaling=0": {"magnitude_scaling": 0.0},
    "previous defaults": {"n_networks": 1, "magnitude_scaling": 0.0},
    "bidirectional=False": {"bidirectional": False},
    "readout='mean'": {"readout": "mean"},
    "cell_type='lstm'": {"cell_type": "lstm"},
    "hidden_size=64": {"hidden_size": 64},
    "lr=3e-3": {"lr": 3e-3},
    "lr=1e-3": {"lr": 1e-3},
    "lr_schedule=None": {"lr_schedule": None},
    "early_stopping=True": {"early_stopping": True},
    "early_stopping=False": {"early_stopping": False},
    "frame_size=1": {"frame_size": 1},
    "standardize=False": {"standardize": False},
    "clip_grad_norm=None": {"clip_grad_norm": None},
    "0.1.0 defaults": {
        "n_networks": 1,
        "magnitude_scaling": 0.0,
        "hidden_size": 64,
        "bidirectional": False,
        "lr": 1e-3,
        "lr_schedule": None,
        "early_stopping": True,
        "frame_size": 1,
    },
}


# --search: the grid that docs/choosing_hyperparameters.rst says to search
# first, in the row named SEARCH_VARIANT.
SEARCH_GRID = {"readout": ["last", "mean"], "lr": [1e-2, 3e-3, 1e-3]}
SEARCH_VARIANT = "GridSearchCV: readout x lr, 5-fold"


def load(name, split):
    loader = DATASETS[name][0]
    X, y = loader(split=split, return_X_y=True)
    return X, y


def fit_score(name, params, seed, search=False):
    """Fit one estimator (or a grid search) on the train split; score it on the test split."""
    task = DATASETS[name][1]
    X_train, y_train = load(name, "train")
    X_test, y_test = load(name, "test")
    est_class = RNNClassifier if task == "classification" else RNNRegressor
    est = est_class(random_state=seed, **params)
    if search:
        split = StratifiedKFold if task == "classification" else KFold
        est = GridSearchCV(est, SEARCH_GRID, cv=split(5, shuffle=True, random_state=seed))
    cpu0, wall0 = time.process_time(), time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        est.fit(X_train, y_train)
    cpu, wall = time.process_time() - cpu0, time.perf_counter() - wall0
    pred = est.predict(X_test)
    if task == "classification":
        score = accuracy_score(y_test, pred)
    else:
        score = float(np.sqrt(mean_squared_error(y_test, pred)))
    record = {"dataset": name, "seed": seed, "score": float(score), "cpu_s": cpu, "wall_s": wall}
    if search:
        record["best_params"] = est.best_params_
        est = est.best_estimator_
    record["epochs"] = est.n_iter_
    return record


def ridge_rmse(name):
    """Test RMSE of RidgeCV on the flattened series, raw and standardized."""
    X_train, y_train = load(name, "train")
    X_test, y_test = load(name, "test")
    flat = [np.nan_to_num(X.reshape(len(X), -1)) for X in (X_train, X_test)]
    alphas = np.logspace(-3, 6, 19)
    scores = []
    for model in (RidgeCV(alphas=alphas), make_pipeline(StandardScaler(), RidgeCV(alphas=alphas))):
        model.fit(flat[0], y_train)
        scores.append(float(np.sqrt(mean_squared_error(y_test, model.predict(flat[1])))))
    return scores


def mean_rmse(name):
    _, y_train = load(name, "train")
    _, y_test = load(name, "test")
    return float(np.sqrt(np.mean((y_test - np.mean(y_train)) ** 2)))


def parse_set(items):
    params = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep:
            raise SystemExit(f"--set expects key=value, got {item!r}")
        try:
            params[key] = ast.literal_eval(value)
        except (ValueError, SyntaxError):
            params[key] = value
    return params


def summarize(records):
    scores = np.array([r["score"] for r in records])
    cpu = np.array([r["cpu_s"] for r in records])
    wall = np.array([r["wall_s"] for r in records])
    epochs = np.array([r["epochs"] for r in records])
    return scores.mean(), scores.std(), cpu.mean(), cpu.max(), wall.mean(), epochs.mean()


def fmt_ref(value):
    return "–" if value is None else f"{value:.3f}"


def print_tables(records, names, variants, seeds, base):
    results = {}
    for rec in records:
        results.setdefault((rec["variant"], rec["dataset"]), []).append(rec)
    print(f"\nTest scores over {seeds} seed(s); fit time per fit, one thread.")
    if base:
        print(f"Parameters set for every fit: {base}")
    print()
    print(
        "| data set | metric | RNN (ours), mean ± std | FCN | TWIESN | "
        "fit CPU s (mean / max) | fit wall s | epochs |"
    )
    print("|---|---|---|---|---|---|---|---|")
    ours = []
    for name in names:
        if ("default", name) not in results:
            continue
        _, task, fcn, twiesn = DATASETS[name]
        mean, std, cpu, cpu_max, wall, epochs = summarize(results["default", name])
        if task == "classification":
            metric = "accuracy"
            if fcn is not None:
                ours.append((mean, fcn, twiesn))
        else:
            metric = "RMSE"
        print(
            f"| {name} | {metric} | {mean:.3f} ± {std:.3f} | {fmt_ref(fcn)} | "
            f"{fmt_ref(twiesn)} | {cpu:.1f} / {cpu_max:.1f} | {wall:.1f} | {epochs:.0f} |"
        )
    if ours:
        arr = np.array(ours)
        print(
            f"| mean of the 3 sets with published figures | accuracy | {arr[:, 0].mean():.3f} | "
            f"{arr[:, 1].mean():.3f} | {arr[:, 2].mean():.3f} | | | |"
        )
    for name in names:
        if DATASETS[name][1] == "regression":
            raw, scaled = ridge_rmse(name)
            print(
                f"\n{name} test RMSE of RidgeCV on the flattened series: {raw:.4f}; "
                f"after StandardScaler: {scaled:.4f}; predicting the training mean: "
                f"{mean_rmse(name):.4f}"
            )

    shown = [v for v in variants if any((v, n) in results for n in names)]
    if len(shown) > 1:
        print("\nAblation: one default changed at a time (and the grid search, if run);")
        print("mean ± std of the test score over seeds (accuracy, or RMSE for regression),")
        print("mean fit CPU seconds.\n")
        print("| variant | " + " | ".join(names) + " |")
        print("|---|" + "---|" * len(names))
        for variant in shown:
            cells = []
            for name in names:
                if (variant, name) not in results:
                    cells.append("")
                    continue
                mean, std, cpu, _, _, _ = summarize(results[variant, name])
                digits = 3 if DATASETS[name][1] == "classification" else 4
                cells.append(f"{mean:.{digits}f} ± {std:.{digits}f} ({cpu:.0f} s)")
            print(f"| {variant} | " + " | ".join(cells) + " |")
    chosen = [r for r in records if "best_params" in r and r["dataset"] in names]
    chosen.sort(key=lambda r: (names.index(r["dataset"]), r["seed"]))
    if chosen:
        print(f"\n{SEARCH_VARIANT}, parameters chosen by the search:")
        for rec in chosen:
            print(f"  {rec['dataset']}, seed {rec['seed']}: {rec['best_params']}")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--datasets", default=",".join(DATASETS))
    parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE")
    parser.add_argument("--ablation", action="store_true")
    parser.add_argument("--variants", default=None)
    parser.add_argument("--search", action="store_true", help="also run the grid search row")
    parser.add_argument("--jsonl", default=None)
    parser.add_argument(
        "--report", default=None, metavar="FILE", help="print the tables of a --jsonl file"
    )
    args = parser.parse_args(argv)
    torch.set_num_threads(1)

    names = [n.strip() for n in args.datasets.split(",") if n.strip()]
    unknown = set(names) - set(DATASETS)
    if unknown:
        raise SystemExit(f"unknown data sets {sorted(unknown)}; choose from {list(DATASETS)}")
    base = parse_set(args.set)
    if args.variants:
        variants = {v: VARIANTS[v] for v in args.variants.split(",")}
    elif args.ablation or args.report:
        variants = dict(VARIANTS)
    else:
        variants = {"default": {}}
    if args.search or args.report:
        variants[SEARCH_VARIANT] = None  # not a change of parameters: a search

    if args.report:
        with open(args.report) as fh:
            records = [json.loads(line) for line in fh if line.strip()]
        seeds = len({r["seed"] for r in records})
        print_tables(records, names, variants, seeds, base)
        return

    records = []
    for variant, change in variants.items():
        params = {**base, **(change or {})}
        for name in names:
            for seed in range(args.seeds):
                rec = fit_score(name, params, seed, search=change is None)
                rec["variant"] = variant
                records.append(rec)
                print(json.dumps(rec), file=sys.stderr, flush=True)
                if args.jsonl:
                    with open(args.jsonl, "a") as fh:
                        fh.write(json.dumps(rec) + "\n")
    print_tables(records, names, variants, args.seeds, base)


if __name__ == "__main__":
    main()
