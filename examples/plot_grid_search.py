"""
Grid search over cell type and hidden size
==========================================

sklrnn's estimators are ordinary scikit-learn estimators, so the usual model
selection tools apply unchanged. This example classifies the
*ItalyPowerDemand* series (daily electricity demand curves of 24 hourly
steps, labelled October-March or April-September; UCR archive, bundled with
sklrnn) with a :class:`~sklearn.pipeline.Pipeline` of
:class:`~sklrnn.preprocessing.SequenceScaler` and
:class:`~sklrnn.RNNClassifier`, and lets
:class:`~sklearn.model_selection.GridSearchCV` choose the recurrent cell and
the size of its hidden state.
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
from sklearn.pipeline import make_pipeline

from sklrnn import LossCurveDisplay, RNNClassifier
from sklrnn.datasets import load_italy_power_demand
from sklrnn.preprocessing import SequenceScaler

X_train, y_train = load_italy_power_demand(split="train", return_X_y=True)
X_test, y_test = load_italy_power_demand(split="test", return_X_y=True)
print(f"train {X_train.shape}, test {X_test.shape}, classes {np.unique(y_train)}")

# %%
# The search
# ----------
# Parameters of a pipeline step are addressed as ``<step>__<parameter>``. The
# scaler learns its statistics inside each training fold, so no information
# leaks from the validation folds. A fixed ``random_state`` makes every fit
# reproducible.
pipe = make_pipeline(
    SequenceScaler(),
    RNNClassifier(max_epochs=40, lr=5e-3, random_state=0),
)
param_grid = {
    "rnnclassifier__cell_type": ["rnn", "lstm", "gru"],
    "rnnclassifier__hidden_size": [8, 32],
}
search = GridSearchCV(pipe, param_grid, cv=StratifiedKFold(3, shuffle=True, random_state=0))
start = time.perf_counter()
search.fit(X_train, y_train)
print(f"{len(search.cv_results_['params']) * 3} fits in {time.perf_counter() - start:.0f} s")

# %%
# The results table
# -----------------
results = pd.DataFrame(search.cv_results_)
table = results[
    [
        "param_rnnclassifier__cell_type",
        "param_rnnclassifier__hidden_size",
        "mean_test_score",
        "std_test_score",
        "mean_fit_time",
        "rank_test_score",
    ]
].rename(columns=lambda c: c.replace("param_rnnclassifier__", ""))
print(table.sort_values("rank_test_score").to_string(index=False))

# %%
# Cross-validated accuracy of every combination, with one standard deviation
# across folds:
fig, ax = plt.subplots(figsize=(6, 3.5))
cells = list(param_grid["rnnclassifier__cell_type"])
sizes = list(param_grid["rnnclassifier__hidden_size"])
width = 0.8 / len(sizes)
for i, hidden_size in enumerate(sizes):
    rows = table[table["hidden_size"] == hidden_size].set_index("cell_type").loc[cells]
    ax.bar(
        np.arange(len(cells)) + (i - (len(sizes) - 1) / 2) * width,
        rows["mean_test_score"],
        width,
        yerr=rows["std_test_score"],
        capsize=4,
        label=f"hidden_size={hidden_size}",
    )
ax.set_xticks(np.arange(len(cells)), cells)
ax.set_ylim(0.8, 1.06)
ax.set_xlabel("cell_type")
ax.set_ylabel("cross-validated accuracy")
ax.set_title("GridSearchCV on ItalyPowerDemand")
ax.legend(loc="upper center", ncols=2)
fig.tight_layout()

# %%
# The best model on the test split
# --------------------------------
# ``GridSearchCV`` refits the best combination on the whole training split.
print("best parameters:", search.best_params_)
print(f"test accuracy: {search.score(X_test, y_test):.3f}")

# %%
# Its training curve: the loss on the training data after every epoch. The
# model keeps the last epoch's weights (with ``early_stopping=True`` it would
# also hold out 10% of the data, plot their loss and keep the best epoch's).
LossCurveDisplay.from_estimator(search.best_estimator_)
plt.show()
