"""
Grid search over cell type and hidden size
==========================================

sklrnn's estimators are ordinary scikit-learn estimators, so the usual model
selection tools apply unchanged. This example classifies the
*ItalyPowerDemand* series (daily electricity demand curves of 24 hourly
steps, labelled October-March or April-September; UCR archive, bundled with
sklrnn) and lets :class:`~sklearn.model_selection.GridSearchCV` compare
recurrent cells and sizes of the hidden state, and reads how much the choice
is worth before trusting it.
"""

# %%
# The data
# --------
# The training split holds 67 series, the test split 1029. A 2D array
# ``(n_samples, n_timesteps)`` is read as sequences with one feature per step.
import time

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from sklearn.model_selection import GridSearchCV, StratifiedKFold

from sklrnn import LossCurveDisplay, RNNClassifier
from sklrnn.datasets import load_italy_power_demand

X_train, y_train = load_italy_power_demand(split="train", return_X_y=True)
X_test, y_test = load_italy_power_demand(split="test", return_X_y=True)
print(f"train {X_train.shape}, test {X_test.shape}, classes {np.unique(y_train)}")

# %%
# The search
# ----------
# Every other parameter keeps its default (the classifier standardizes its
# input itself, so no scaler is needed). Inside a
# :class:`~sklearn.pipeline.Pipeline` the parameters would be addressed as
# ``<step>__<parameter>``. Two scores per fold: accuracy, and the log loss,
# which also counts how confident each prediction was, so that it separates
# models that make the same errors. The search refits the candidate of the
# best mean log loss on the whole training split. A fixed ``random_state``
# makes every fit reproducible.
param_grid = {"cell_type": ["rnn", "lstm", "gru"], "hidden_size": [8, 32]}
search = GridSearchCV(
    RNNClassifier(random_state=0),
    param_grid,
    cv=StratifiedKFold(3, shuffle=True, random_state=0),
    scoring={"log_loss": "neg_log_loss", "accuracy": "accuracy"},
    refit="log_loss",
)
start = time.perf_counter()
search.fit(X_train, y_train)
print(f"{len(search.cv_results_['params']) * 3} fits in {time.perf_counter() - start:.0f} s")

# %%
# The results table
# -----------------
results = pd.DataFrame(search.cv_results_)
table = pd.DataFrame(
    {
        "cell_type": results["param_cell_type"],
        "hidden_size": results["param_hidden_size"],
        "log_loss": -results["mean_test_log_loss"],
        "log_loss_std": results["std_test_log_loss"],
        "accuracy": results["mean_test_accuracy"],
        "fit_seconds": results["mean_fit_time"],
    }
).sort_values("log_loss")
print(table.round(3).to_string(index=False))

# %%
# What the choice is worth
# ------------------------
# Mean log loss of every combination, with one standard deviation across the
# folds. On this set the candidates make the same errors (their accuracies
# are equal), and their log losses differ by much less than one fold differs
# from another: the search has to return a winner, but nothing here says it
# is better. On a small training set like this one, keep the defaults; a
# search is worth its fits where the candidates differ by more than the
# folds' spread (``docs/choosing_hyperparameters.rst`` measures what each
# parameter buys).
spread = table["log_loss"].max() - table["log_loss"].min()
print(f"log loss: candidates within {spread:.3f}, folds' std {table['log_loss_std'].mean():.3f}")
fig, ax = plt.subplots(figsize=(6, 3.5))
cells, sizes = param_grid["cell_type"], param_grid["hidden_size"]
width = 0.8 / len(sizes)
for i, hidden_size in enumerate(sizes):
    rows = table[table["hidden_size"] == hidden_size].set_index("cell_type").loc[cells]
    ax.bar(
        np.arange(len(cells)) + (i - (len(sizes) - 1) / 2) * width,
        rows["log_loss"],
        width,
        yerr=rows["log_loss_std"],
        capsize=4,
        label=f"hidden_size={hidden_size}",
    )
ax.set_xticks(np.arange(len(cells)), cells)
ax.set_xlabel("cell_type")
ax.set_ylabel("cross-validated log loss (lower is better)")
ax.set_title("GridSearchCV on ItalyPowerDemand")
ax.legend(loc="upper center", ncols=2)
fig.tight_layout()

# %%
# The refitted model on the test split
# ------------------------------------
# ``GridSearchCV`` refits the chosen combination on the whole training split;
# the test split is read once, here.
print("chosen parameters:", search.best_params_)
print(f"test accuracy: {search.best_estimator_.score(X_test, y_test):.3f}")

# %%
# Its training curve: the loss on the training data after every epoch. The
# model keeps the last epoch's weights (with ``early_stopping=True`` it would
# also hold out 10% of the data, plot their loss and keep the best epoch's).
LossCurveDisplay.from_estimator(search)
plt.show()
