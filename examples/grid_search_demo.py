"""sklrnn's main demo: grid-search recurrent cells on a real data set.

Searches cell type x hidden size with 5-fold cross-validation on the training
split of ItalyPowerDemand (UCR archive, bundled with sklrnn), printing a line
per fit and, every few fits, an estimate of the time left; prints a results
table, then scores the best model on the 1029-series test split and checks
that the fitted model survives a pickle round trip. The classifier
standardizes each feature over all time steps itself, so no scaler is needed.

Run: ``python examples/grid_search_demo.py``
"""

import pickle
import time

import numpy as np
import pandas as pd
from joblib import parallel_config
from sklearn.model_selection import GridSearchCV

from sklrnn import RNNClassifier
from sklrnn.datasets import load_italy_power_demand


def main():
    X_train, y_train = load_italy_power_demand(split="train", return_X_y=True)
    X_test, y_test = load_italy_power_demand(split="test", return_X_y=True)
    print(
        f"ItalyPowerDemand: {len(X_train)} training and {len(X_test)} test series "
        f"of {X_train.shape[1]} hourly steps, classes {sorted(map(str, set(y_train)))}"
    )

    search = GridSearchCV(
        RNNClassifier(random_state=0),
        {"cell_type": ["rnn", "lstm", "gru"], "hidden_size": [16, 64]},
        cv=5,
        n_jobs=2,
        verbose=2,  # a line per fit as it ends, with its time
        # Queue all 30 fits at once, so that joblib knows how many remain.
        pre_dispatch="all",
    )
    start = time.perf_counter()
    # joblib adds a line every few fits: fits done, time elapsed, time left.
    with parallel_config(verbose=5):
        search.fit(X_train, y_train)
    elapsed = time.perf_counter() - start

    results = pd.DataFrame(search.cv_results_)
    table = pd.DataFrame(
        {
            "cell_type": results["param_cell_type"],
            "hidden_size": results["param_hidden_size"],
            "cv_accuracy": results["mean_test_score"].round(3),
            "cv_std": results["std_test_score"].round(3),
            "fit_seconds": results["mean_fit_time"].round(2),
            "rank": results["rank_test_score"],
        }
    ).sort_values("rank")
    print(f"\nGrid search, 5-fold CV on the training split ({elapsed:.0f} s):")
    print(table.to_string(index=False))
    fold = len(X_train) // 5
    print(
        f"A fold holds {fold} or {fold + 1} series, so a fold's accuracy moves in steps of "
        f"about {1 / fold:.2f}: equal scores mean as many errors per fold, not equal models."
    )

    best = search.best_estimator_
    test_accuracy = best.score(X_test, y_test)
    restored = pickle.loads(pickle.dumps(best))
    same = np.array_equal(restored.predict(X_test), best.predict(X_test))
    print(f"\nBest: {search.best_params_}")
    print(f"Test accuracy of the best model: {test_accuracy:.3f} (n={len(y_test)})")
    print(f"Pickled and restored model predicts identically: {same}")


if __name__ == "__main__":
    main()
