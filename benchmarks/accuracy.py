"""Accuracy protocol on the development collection, with peers in the same run.

The development collection is every time-series classification and regression
set in ``../shared/data`` (not its forecasting series, Airline): seven
classification sets (ItalyPowerDemand, GunPoint, BasicMotions, JapaneseVowels,
Trace, Coffee, PigCVP) and one regression set (Covid3Month), each with the
archive's official train/test split; and a second regression set, Tecator (fat
content of meat from its near-infrared spectrum; 172 training and 43 test
series of 100 steps), read from the copy bundled with sktime (the ``bench``
extra), since one regression set was too few to choose the regressor's
defaults on.

Two commands, run from the repository root on one thread per fit:

``cv``
    Chooses defaults. Stratified 5-fold cross-validation (plain 5-fold for
    regression) *within each training split*, repeated over ``--seeds``
    shuffles; the test splits are never read. Prints each set's mean CV
    accuracy (RMSE for regression) and the mean over the classification
    sets. ``--set key=value`` (repeatable; the value a Python literal, or else
    a string) changes a parameter of every fit, so that two variants are
    compared by running the command twice::

        OMP_NUM_THREADS=1 python benchmarks/accuracy.py cv --jobs 2
        OMP_NUM_THREADS=1 python benchmarks/accuracy.py cv --jobs 2 --set cell_type=gru

    ``--shots K`` replaces the folds by a few-shot split, one draw per seed:
    ``K`` series of each class fit the model, and the rest of the training
    split scores it, on every classification set with more than ``K`` series
    in each class. ``--shots 2`` is the regime of PigCVP's full fit (two
    series per class), which its own CV cannot show (each fold holds one)::

        OMP_NUM_THREADS=1 python benchmarks/accuracy.py cv --shots 2 --seeds 10 --peers --jobs 2

``test``
    The final table, read once the defaults are chosen: every estimator is
    fitted on the training split and scored on the test split, over
    ``--seeds`` seeds, next to aeon's MiniRocket (``pip install -c constraints.txt -e ".[bench]"``)
    and a ridge model on the flattened, standardized series, fitted in the
    same run::

        OMP_NUM_THREADS=1 python benchmarks/accuracy.py test --seeds 3 --jobs 2

    A second table gives, per set, the RNN's score less each peer's, with a
    95% interval from a paired bootstrap over the test series (each series'
    loss averaged over the seeds): how much of a difference the size of the
    test split alone could make.

    ``--jsonl FILE`` keeps the records; ``test --report FILE`` prints the
    tables of such a file again, without fitting, for the sets asked for
    (the development collection unless ``--external`` or ``--datasets``
    say otherwise) that it holds.

Fit times are wall-clock seconds of one fit on one thread; with ``--jobs 2``
two fits share the machine's two cores, so compare ratios within one run.
MiniRocket's exclude numba's compilation, which an untimed fit does first.
``--datasets`` picks a subset by folder name, and ``--jsonl FILE`` appends one
record per fit. ``--external`` runs, in place of the development collection,
the sets bundled with aeon that it does not hold (ArrowHead, OSULeaf, ACSF1,
PickupGestureWiimoteZ, UnitTest; regression: CardanoSentiment) and PLAID,
bundled with sktime (electrical appliances' current and voltage; 537 training
series of 100 to 1,344 steps, 11 classes). Nothing was chosen on them:
``test --external`` checks whether the defaults generalize.
"""

import argparse
import ast
import functools
import importlib.util
import json
import os
import time
import warnings

import numpy as np
from joblib import Parallel, delayed
from sklearn.linear_model import RidgeClassifierCV, RidgeCV
from sklearn.model_selection import KFold, StratifiedKFold
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from sklrnn import RNNClassifier, RNNRegressor
from sklrnn.datasets import load_ts_file

DATA = os.path.join(os.path.dirname(__file__), "..", "..", "shared", "data")
CLASSIFICATION = [
    "ItalyPowerDemand",
    "GunPoint",
    "BasicMotions",
    "JapaneseVowels",
    "Trace",
    "Coffee",
    "PigCVP",
]
REGRESSION = ["Covid3Month", "Tecator"]
# A second collection, never used to choose anything: the sets bundled with
# aeon and sktime (the ``bench`` extra) that are not in the development
# collection.
EXTERNAL_CLASSIFICATION = [
    "ArrowHead",
    "OSULeaf",
    "ACSF1",
    "PickupGestureWiimoteZ",
    "UnitTest",
    "PLAID",
]
EXTERNAL_REGRESSION = ["CardanoSentiment"]
# The sets read from sktime's bundled data; aeon's hold the other external ones.
SKTIME_SETS = ["Tecator", "PLAID"]
RIDGE_ALPHAS = np.logspace(-3, 3, 13)
DATASETS = CLASSIFICATION + REGRESSION + EXTERNAL_CLASSIFICATION + EXTERNAL_REGRESSION


def count(minimum=1):
    """An argparse type: an integer of at least ``minimum``."""

    def parse(text):
        value = int(text)  # argparse names a non-integer: "invalid int value"
        if value < minimum:
            raise argparse.ArgumentTypeError(f"{text}: takes an integer of at least {minimum}")
        return value

    parse.__name__ = "int"
    return parse


def counts(minimum=0):
    """An argparse type: comma-separated integers, each at least ``minimum``."""
    one = count(minimum)

    def parse(text):
        try:
            return [one(item) for item in text.split(",")]
        except ValueError:
            raise argparse.ArgumentTypeError(
                f"{text}: takes comma-separated integers of at least {minimum}"
            ) from None

    return parse


def names(known):
    """An argparse type: comma-separated names, each one of ``known``."""

    def parse(text):
        chosen = text.split(",")
        unknown = [name for name in chosen if name not in known]
        if unknown:
            raise argparse.ArgumentTypeError(f"unknown {unknown}; choose from {', '.join(known)}")
        return chosen

    return parse


def require(package, what):
    """The import spec of ``package`` (of the ``bench`` extra), or an exit naming the install."""
    spec = importlib.util.find_spec(package)  # without importing it, which takes seconds
    if spec is None:
        raise SystemExit(f'{what} needs {package}: pip install -c constraints.txt -e ".[bench]"')
    return spec


def load(name, split):
    folder = DATA
    if name in SKTIME_SETS:
        spec = require("sktime", f"{name}, read from sktime's bundled data,")
        folder = os.path.join(spec.submodule_search_locations[0], "datasets", "data")
    elif name in EXTERNAL_CLASSIFICATION + EXTERNAL_REGRESSION:
        require("aeon", f"{name}, read from aeon's bundled data,")
        import aeon.datasets

        folder = os.path.join(os.path.dirname(aeon.datasets.__file__), "data")
    return load_ts_file(os.path.join(folder, name, f"{name}_{split.upper()}.ts"))


@functools.cache
def train_labels(name):
    """The labels of a set's training split, read once per process."""
    return load(name, "train")[1]


def smallest_class(y):
    """Members of the smallest class among labels ``y``."""
    return np.unique(y, return_counts=True)[1].min()


def is_regression(name):
    return name in REGRESSION + EXTERNAL_REGRESSION


def with_shots(names, shots):
    """The classification sets among ``names`` with more than ``shots`` series in
    every class (a few-shot split leaves some of each to score), or an exit."""
    kept = [n for n in names if not is_regression(n) and smallest_class(train_labels(n)) > shots]
    if not kept:
        raise SystemExit(f"--shots {shots}: no set has more series in every class")
    return kept


def score(name, y_true, y_pred):
    """Accuracy for classification, RMSE for regression."""
    return float(score_of(name, np.asarray(losses(name, y_true, y_pred))))


def losses(name, y_true, y_pred):
    """Each test series' loss: 1 where misclassified (else 0), or the squared error."""
    if is_regression(name):
        return ((np.asarray(y_pred, float) - np.asarray(y_true, float)) ** 2).tolist()
    return (np.asarray(y_pred) != np.asarray(y_true)).astype(float).tolist()


def score_of(name, values):
    """The score of per-series losses, over their last axis: accuracy, or RMSE."""
    mean = values.mean(axis=-1)
    return np.sqrt(mean) if is_regression(name) else 1 - mean


def paired_interval(name, loss, reference, rounds=2000, seed=0):
    """A model's score less a reference's on the same test series, and its 95% interval.

    ``loss`` and ``reference`` hold each series' loss (see :func:`losses`),
    averaged over seeds. The interval is the paired bootstrap's: the test
    series are drawn with replacement, the same draws for both models, so
    that it measures how much the difference owes to which series the test
    split happens to hold.
    """
    loss, reference = np.asarray(loss), np.asarray(reference)
    draws = np.random.default_rng(seed).integers(0, len(loss), (rounds, len(loss)))
    differences = score_of(name, loss[draws]) - score_of(name, reference[draws])
    low, high = np.percentile(differences, [2.5, 97.5])
    return float(score_of(name, loss) - score_of(name, reference)), float(low), float(high)


def filled(X, length):
    """Equal-length (n, channels, length) array for the peers: each sequence's
    trailing NaN, and steps added up to ``length``, hold its last value."""
    X = np.asarray(X, dtype=np.float64)
    X = X[:, :, None] if X.ndim == 2 else X
    X = np.pad(X, ((0, 0), (0, length - X.shape[1]), (0, 0)), constant_values=np.nan)
    for t in range(1, X.shape[1]):
        gap = np.isnan(X[:, t])
        X[:, t][gap] = X[:, t - 1][gap]
    return np.nan_to_num(X).transpose(0, 2, 1)


def cv_splits(name, y, folds, seed, shots=None):
    """(train, test) index pairs of the CV within a training split.

    A set whose smallest class has fewer members than ``folds`` (PigCVP: 2)
    gets as many folds as that class has members. With ``shots``, one pair:
    ``shots`` series of each class drawn at random (``seed``), and the rest
    of the training split to score on.
    """
    if shots is not None:
        rng = np.random.default_rng(seed)
        train = np.concatenate(
            [rng.choice(np.flatnonzero(y == c), shots, replace=False) for c in np.unique(y)]
        )
        return [(np.sort(train), np.setdiff1d(np.arange(len(y)), train))]
    if is_regression(name):
        return list(KFold(folds, shuffle=True, random_state=seed).split(y))
    folds = min(folds, smallest_class(y))
    return list(StratifiedKFold(folds, shuffle=True, random_state=seed).split(y, y))


def make_model(model, name, seed, params):
    regression = is_regression(name)
    if model == "rnn":
        cls = RNNRegressor if regression else RNNClassifier
        return cls(random_state=seed, **params)
    if model == "ridge":
        ridge = RidgeCV(alphas=RIDGE_ALPHAS) if regression else RidgeClassifierCV(RIDGE_ALPHAS)
        return make_pipeline(StandardScaler(), ridge)
    from aeon.classification.convolution_based import MiniRocketClassifier
    from aeon.regression.convolution_based import MiniRocketRegressor

    cls = MiniRocketRegressor if regression else MiniRocketClassifier
    return cls(random_state=seed, n_jobs=1)


def run_fit(model, name, seed, params, fold=None, folds=5, shots=None):
    """Fit one model on one split; returns a record with scores and fit time."""
    import torch

    torch.set_num_threads(1)
    warnings.filterwarnings("ignore", category=UserWarning)
    X, y = load(name, "train")
    if fold is None:
        X_test, y_test = load(name, "test")
    else:
        train, test = cv_splits(name, y, folds, seed, shots)[fold]
        X, X_test, y, y_test = X[train], X[test], y[train], y[test]
    if model == "rnn" and X.ndim == 2 and X.shape[1] != X_test.shape[1]:
        # A 2D table has fixed columns; sequences of other lengths go in as 3D.
        X, X_test = X[:, :, None], X_test[:, :, None]
    if model != "rnn":  # the peers take equal-length input: pad both to one length
        length = max(X.shape[1], X_test.shape[1])
        X, X_test = filled(X, length), filled(X_test, length)
        if model == "ridge":
            X, X_test = X.reshape(len(X), -1), X_test.reshape(len(X_test), -1)
    if model == "minirocket":
        # numba compiles MiniRocket's kernels at a process's first fit, for
        # up to 25 s in a fresh worker: an untimed fit first, so that the
        # timed one is what each further fit costs.
        make_model(model, name, seed, params).fit(X, y)
    estimator = make_model(model, name, seed, params)
    start = time.perf_counter()
    estimator.fit(X, y)
    seconds = time.perf_counter() - start
    test_losses = losses(name, y_test, estimator.predict(X_test))
    record = {
        "model": model,
        "dataset": name,
        "seed": seed,
        "fold": fold,
        "shots": shots,
        "params": {k: repr(v) for k, v in params.items()},
        "score": float(score_of(name, np.asarray(test_losses))),
        "train_score": score(name, y, estimator.predict(X)),
        "fit_seconds": seconds,
        "epochs": getattr(estimator, "n_iter_", None),
    }
    if fold is None:  # the test split: each series' loss, for report_test's intervals
        record["losses"] = test_losses
    return record


def parse_set(items):
    params = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep:
            raise SystemExit(f"--set needs key=value, got {item!r}")
        try:
            params[key] = ast.literal_eval(value)
        except (ValueError, SyntaxError):  # a bare word: cell_type=gru
            params[key] = value
    return params


def mean_std(values):
    return f"{np.mean(values):.3f} ± {np.std(values):.3f}"


def report_cv(records, names):
    print("| data set | CV score (mean ± std over seeds) | fit s |")
    print("|---|---|---|")
    per_set = {}
    for name in names:
        rows = [r for r in records if r["dataset"] == name]
        by_seed = {}
        for r in rows:
            by_seed.setdefault(r["seed"], []).append(r["score"])
        seed_means = [np.mean(v) for v in by_seed.values()]
        per_set[name] = np.mean(seed_means)
        fit = np.median([r["fit_seconds"] for r in rows])
        print(f"| {name} | {mean_std(seed_means)} | {fit:.1f} |")
    classes = [per_set[n] for n in names if not is_regression(n)]
    if classes:
        print(f"\nMean CV accuracy over {len(classes)} classification sets: {np.mean(classes):.4f}")


def report_test(records, names):
    models = [m for m in ("rnn", "minirocket", "ridge") if any(r["model"] == m for r in records)]
    head = " | ".join(f"{m} test | {m} fit s" for m in models)
    print(f"| data set | rnn train | {head} |")
    print("|---|---|" + "---|---|" * len(models))
    means = {m: [] for m in models}
    ratios = []
    for name in names:
        cells = []
        fits = {}
        for m in models:
            rows = [r for r in records if r["dataset"] == name and r["model"] == m]
            scores = [r["score"] for r in rows]
            means[m].append(np.mean(scores))
            fits[m] = np.median([r["fit_seconds"] for r in rows])
            cells += [mean_std(scores), f"{fits[m]:.1f}"]
        train = [r["train_score"] for r in records if r["dataset"] == name and r["model"] == "rnn"]
        if "minirocket" in fits and "rnn" in fits:
            ratios.append(fits["rnn"] / fits["minirocket"])
        print(f"| {name} | {np.mean(train):.3f} | " + " | ".join(cells) + " |")
    classes = [i for i, n in enumerate(names) if not is_regression(n)]
    if classes:
        cells = " | ".join(f"{np.mean([means[m][i] for i in classes]):.3f} | " for m in models)
        print(f"| mean accuracy of {len(classes)} | | {cells}")
    if ratios:
        print(f"\nMedian ratio of RNN to MiniRocket fit time: {np.median(ratios):.1f}")
    report_intervals(records, names, models)


def report_intervals(records, names, models):
    """rnn's test score less each peer's, with the paired bootstrap's 95% interval.

    Each series' loss is averaged over the seeds first, so that the interval
    measures the test split's sampling, not the seeds' spread (which the
    table shows). For regression the difference is of the RMSE of these
    pooled losses, close to the difference of the table's mean RMSEs.
    Records without per-series losses (files of older runs) are skipped.
    """
    peers = [m for m in models if m != "rnn"]
    rows = []
    for name in names:
        pooled = {}
        for m in models:
            held = [r.get("losses") for r in records if r["dataset"] == name and r["model"] == m]
            if held and all(h is not None for h in held):
                pooled[m] = np.mean(held, axis=0)
        if "rnn" not in pooled:
            continue
        cells = []
        for peer in peers:
            if peer not in pooled:
                cells.append("")
                continue
            difference, low, high = paired_interval(name, pooled["rnn"], pooled[peer])
            cells.append(f"{difference:+.4f} [{low:+.4f}, {high:+.4f}]")
        rows.append(f"| {name} | {len(pooled['rnn'])} | " + " | ".join(cells) + " |")
    if not rows or not peers:
        return
    head = " | ".join(f"rnn - {peer} [95% interval]" for peer in peers)
    print(f"\n| data set | test series | {head} |")
    print("|---|---|" + "---|" * len(peers))
    print("\n".join(rows))


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("command", choices=["cv", "test"])
    parser.add_argument("--seeds", type=count(), default=None, help="cv: 1, test: 3")
    parser.add_argument("--folds", type=count(2), default=5)
    parser.add_argument(
        "--shots",
        type=count(),
        default=None,
        help="cv: fit on this many series per class, score on the rest (one draw per seed)",
    )
    parser.add_argument("--jobs", type=int, default=1, help="fits run in parallel processes")
    parser.add_argument(
        "--datasets", type=names(DATASETS), default=None, help="default: the whole collection"
    )
    parser.add_argument(
        "--external",
        action="store_true",
        help="the external collection (aeon's and sktime's sets) in place of the development one",
    )
    parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE")
    parser.add_argument("--peers", action="store_true", help="cv: also MiniRocket and ridge")
    parser.add_argument("--jsonl", default=None)
    parser.add_argument(
        "--report", default=None, metavar="FILE", help="test: the tables of a --jsonl file"
    )
    args = parser.parse_args(argv)
    if args.external:
        collection = EXTERNAL_CLASSIFICATION + EXTERNAL_REGRESSION
    else:
        collection = CLASSIFICATION + REGRESSION
    if args.report and not os.path.isfile(args.report):
        parser.error(f"--report {args.report}: no such file")
    chosen = args.datasets or collection
    absent = [
        name
        for name in chosen
        if name in CLASSIFICATION + REGRESSION
        and name not in SKTIME_SETS
        and not os.path.isdir(os.path.join(DATA, name))
    ]
    if absent and not args.report:  # a clone without it ended in a FileNotFoundError
        parser.error(
            f"{', '.join(absent)}: not in {os.path.normpath(DATA)}, where the development "
            "collection is read from (../shared/data beside the repository). Place the "
            "collection there, or run --external (the sets bundled with aeon and sktime)."
        )
    if args.shots is not None:
        if args.command != "cv":
            parser.error("--shots works with cv only")
        chosen = with_shots(chosen, args.shots)
    if args.report:  # no fitting: the tables of records written by earlier runs
        with open(args.report) as fh:
            records = [json.loads(line) for line in fh if line.strip()]
        records = [r for r in records if r["fold"] is None]
        held = {r["dataset"] for r in records}
        chosen = [n for n in chosen if n in held]
        if not chosen:
            raise SystemExit(f"--report {args.report}: no test record of the sets asked for")
        return report_test(records, chosen)
    params = parse_set(args.set)
    seeds = args.seeds or (1 if args.command == "cv" else 3)
    peers = args.command == "test" or args.peers
    if peers:
        require("aeon", "MiniRocket, the peer of --peers and test,")
    models = ["rnn"] + (["minirocket", "ridge"] if peers else [])
    tasks = [
        (model, name, seed, params if model == "rnn" else {}, fold)
        for name in chosen
        for seed in range(seeds)
        for fold in (
            range(len(cv_splits(name, train_labels(name), args.folds, seed, args.shots)))
            if args.command == "cv"
            else [None]
        )
        for model in models
    ]
    records = []
    for record in Parallel(n_jobs=args.jobs, return_as="generator_unordered")(
        delayed(run_fit)(model, name, seed, p, fold, args.folds, args.shots)
        for model, name, seed, p, fold in tasks
    ):
        records.append(record)
        if args.jsonl:
            with open(args.jsonl, "a") as fh:
                fh.write(json.dumps(record) + "\n")
    shots = "" if args.shots is None else f", {args.shots} series per class"
    print(f"{args.command}: {params or 'defaults'}, seeds {seeds}{shots}\n")
    if args.command == "cv":
        for model in models:
            print(f"## {model}")
            report_cv([r for r in records if r["model"] == model], chosen)
    else:
        report_test(records, chosen)


if __name__ == "__main__":
    main()
