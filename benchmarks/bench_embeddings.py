"""Do a fitted network's embeddings help a second model?

For each data set and seed, ``RNNClassifier`` (defaults) is fitted on the
training split; its ``transform`` then feeds two simple models, each fitted
on the training split's features and scored on the test split's:

* a linear probe, ``LogisticRegression`` on standardized features: accuracy;
* nearest-neighbour retrieval: the label of each test sequence's nearest
  training sequence (Euclidean, standardized features), i.e. precision@1.

The same probes run on the raw series, flattened (trailing padding filled
with each sequence's last value) and standardized. Two tasks:

``same``
    The network is fitted on all classes; the probes predict the same labels.
``unseen``
    The network is fitted on the training sequences of the first half of the
    classes only; the probes are fitted and scored on the other classes,
    which the network never saw (sets with at least 4 classes).

Run from the repository root, on one thread::

    OMP_NUM_THREADS=1 python benchmarks/bench_embeddings.py

``--datasets`` and ``--seeds`` choose the sets and the number of seeds;
``--set key=value`` (a Python literal, repeatable) changes a parameter of
every network.
"""

import argparse
import time
import warnings

import numpy as np
import torch
from accuracy import (
    CLASSIFICATION,
    EXTERNAL_CLASSIFICATION,
    count,
    filled,
    load,
    mean_std,
    names,
    parse_set,
)
from sklearn.linear_model import LogisticRegression
from sklearn.neighbors import KNeighborsClassifier
from sklearn.preprocessing import StandardScaler

from sklrnn import RNNClassifier

DATASETS = ["GunPoint", "JapaneseVowels", "BasicMotions"]


def probes(F_train, y_train, F_test, y_test):
    """Linear-probe accuracy and 1-NN precision@1 of features, standardized."""
    scaler = StandardScaler().fit(F_train)
    A, B = scaler.transform(F_train), scaler.transform(F_test)
    linear = LogisticRegression(max_iter=5000).fit(A, y_train).score(B, y_test)
    nearest = KNeighborsClassifier(n_neighbors=1).fit(A, y_train).score(B, y_test)
    return linear, nearest


def raw(X_train, X_test):
    """The series flattened, both splits filled to one length."""
    length = max(X_train.shape[1], X_test.shape[1])
    return [filled(X, length).reshape(len(X), -1) for X in (X_train, X_test)]


def split_classes(y_train, y_test, task):
    """Masks of the network's training sequences and of the probes' sequences."""
    if task == "same":
        everything = np.ones(len(y_train), bool)
        return everything, everything, np.ones(len(y_test), bool)
    seen = np.unique(y_train)[: len(np.unique(y_train)) // 2]
    return np.isin(y_train, seen), ~np.isin(y_train, seen), ~np.isin(y_test, seen)


def run(name, task, seed, params):
    X, y = load(name, "train")
    X_test, y_test = load(name, "test")
    fit_mask, probe_train, probe_test = split_classes(y, y_test, task)
    start = time.process_time()
    network = RNNClassifier(random_state=seed, **params).fit(X[fit_mask], y[fit_mask])
    fit_seconds = time.process_time() - start
    start = time.process_time()
    E_train, E_test = network.transform(X[probe_train]), network.transform(X_test[probe_test])
    transform_seconds = time.process_time() - start
    R_train, R_test = raw(X[probe_train], X_test[probe_test])
    a, b = y[probe_train], y_test[probe_test]
    record = dict(zip(("emb_linear", "emb_1nn"), probes(E_train, a, E_test, b), strict=True))
    record.update(zip(("raw_linear", "raw_1nn"), probes(R_train, a, R_test, b), strict=True))
    record["network"] = network.score(X_test, y_test) if task == "same" else np.nan
    record.update(
        width=E_train.shape[1],
        raw_width=R_train.shape[1],
        fit_seconds=fit_seconds,
        transform_seconds=transform_seconds,
        n_transformed=len(E_train) + len(E_test),
    )
    return record


def report(task, names, records):
    columns = ["network", "emb_linear", "raw_linear", "emb_1nn", "raw_1nn"]
    print(f"\n## task: {task}\n")
    print(
        "| data set | network test acc | linear probe: embeddings | linear probe: raw | "
        "1-NN: embeddings | 1-NN: raw | width emb / raw | fit CPU s | transform CPU ms/seq |"
    )
    print("|---|---|---|---|---|---|---|---|---|")
    for name in names:
        rows = records[name]
        cells = ["n/a" if np.isnan(rows[0][c]) else mean_std([r[c] for r in rows]) for c in columns]
        per_seq = np.median([1e3 * r["transform_seconds"] / r["n_transformed"] for r in rows])
        fit = np.median([r["fit_seconds"] for r in rows])
        width = f"{rows[0]['width']} / {rows[0]['raw_width']}"
        print(f"| {name} | {' | '.join(cells)} | {width} | {fit:.1f} | {per_seq:.2f} |")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--datasets",
        type=names(CLASSIFICATION + EXTERNAL_CLASSIFICATION),
        default=",".join(DATASETS),
    )
    parser.add_argument("--seeds", type=count(), default=3)
    parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE")
    args = parser.parse_args(argv)
    params = parse_set(args.set)
    torch.set_num_threads(1)
    warnings.filterwarnings("ignore", category=UserWarning)
    print(f"embeddings: {params}, seeds {args.seeds}")
    for task in ("same", "unseen"):
        chosen = [n for n in args.datasets if task == "same" or n_classes(n) >= 4]
        records = {
            name: [run(name, task, seed, params) for seed in range(args.seeds)] for name in chosen
        }
        if chosen:
            report(task, chosen, records)


def n_classes(name):
    return len(np.unique(load(name, "train")[1]))


if __name__ == "__main__":
    main()
