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

Options: ``--datasets gunpoint,covid3month`` runs a subset, ``--set key=value``
(repeatable, value a Python literal) changes a parameter of every fit,
``--variants name,...`` picks ablation rows, ``--jsonl FILE`` appends one
record per fit.

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
# defaults). Rows for parameters the estimators do not have are skipped.
VARIANTS = {
    "default": {},
    "unidirectional": {"bidirectional": False},
    "readout=last": {"readout": "last"},
    "readout=attention": {"readout": "attention"},
    "readout=max": {"readout": "max"},
    "cell_type=lstm": {"cell_type": "lstm"},
    "hidden_size=32": {"hidden_size": 32},
    "hidden_size=128": {"hidden_size": 128},
    "lr=1e-3": {"lr": 1e-3},
    "lr=1e-2": {"lr": 1e-2},
    "lr_schedule=None": {"lr_schedule": None},
    "n_iter_no_change=20": {"n_iter_no_change": 20},
    "early_stopping=False": {"early_stopping": False},
    "standardize=False": {"standardize": False},
    "clip_grad_norm=None": {"clip_grad_norm": None},
}


def load(name, split):
    loader = DATASETS[name][0]
    X, y = loader(split=split, return_X_y=True)
    return X, y


def fit_score(name, params, seed):
    """Fit one estimator on the train split; score it on the test split."""
    task = DATASETS[name][1]
    X_train, y_train = load(name, "train")
    X_test, y_test = load(name, "test")
    est_class = RNNClassifier if task == "classification" else RNNRegressor
    est = est_class(random_state=seed, **params)
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
    return {
        "dataset": name,
        "seed": seed,
        "score": float(score),
        "cpu_s": cpu,
        "wall_s": wall,
        "epochs": est.n_iter_,
    }


def ridge_rmse(name):
    X_train, y_train = load(name, "train")
    X_test, y_test = load(name, "test")
    flat = [np.nan_to_num(X.reshape(len(X), -1)) for X in (X_train, X_test)]
    ridge = RidgeCV(alphas=np.logspace(-3, 3, 13)).fit(flat[0], y_train)
    return float(np.sqrt(mean_squared_error(y_test, ridge.predict(flat[1]))))


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


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--datasets", default=",".join(DATASETS))
    parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE")
    parser.add_argument("--ablation", action="store_true")
    parser.add_argument("--variants", default=None)
    parser.add_argument("--jsonl", default=None)
    args = parser.parse_args(argv)
    torch.set_num_threads(1)

    names = [n.strip() for n in args.datasets.split(",") if n.strip()]
    unknown = set(names) - set(DATASETS)
    if unknown:
        raise SystemExit(f"unknown data sets {sorted(unknown)}; choose from {list(DATASETS)}")
    base = parse_set(args.set)
    if args.variants:
        variants = {v: VARIANTS[v] for v in args.variants.split(",")}
    elif args.ablation:
        variants = VARIANTS
    else:
        variants = {"default": {}}
    accepted = RNNClassifier().get_params()
    defaults = RNNClassifier().get_params()

    results = {}
    for variant, change in variants.items():
        if any(k not in accepted for k in change):
            continue
        if change and all(defaults[k] == v for k, v in change.items()):
            continue  # the change is the default already
        params = {**base, **change}
        for name in names:
            recs = []
            for seed in range(args.seeds):
                rec = fit_score(name, params, seed)
                rec["variant"] = variant
                rec["params"] = {k: repr(v) for k, v in params.items()}
                recs.append(rec)
                print(json.dumps(rec), file=sys.stderr, flush=True)
                if args.jsonl:
                    with open(args.jsonl, "a") as fh:
                        fh.write(json.dumps(rec) + "\n")
            results[variant, name] = recs

    seeds = args.seeds
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
            fcn, twiesn = None, None
        print(
            f"| {name} | {metric} | {mean:.3f} ± {std:.3f} | {fmt_ref(fcn)} | "
            f"{fmt_ref(twiesn)} | {cpu:.1f} / {cpu_max:.1f} | {wall:.1f} | {epochs:.0f} |"
        )
    if ours:
        arr = np.array(ours)
        print(
            f"| mean of sets with published figures | accuracy | {arr[:, 0].mean():.3f} | "
            f"{arr[:, 1].mean():.3f} | {arr[:, 2].mean():.3f} | | | |"
        )
    for name in names:
        if DATASETS[name][1] == "regression":
            print(f"\n{name}: RidgeCV on the flattened series, test RMSE {ridge_rmse(name):.4f}")

    if len(variants) > 1:
        print("\nAblation: one default changed at a time (mean test score over seeds;")
        print("accuracy for classification, RMSE for regression; CPU s per fit).\n")
        shown = [v for v in variants if (v, names[0]) in results]
        print("| variant | " + " | ".join(names) + " |")
        print("|---|" + "---|" * len(names))
        for variant in shown:
            cells = []
            for name in names:
                mean, std, cpu, _, _, _ = summarize(results[variant, name])
                cells.append(f"{mean:.3f} ± {std:.3f} ({cpu:.0f} s)")
            print(f"| {variant} | " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main()
