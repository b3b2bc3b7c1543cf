"""
==========================================================
Classifying a wide multivariate DataFrame in a Pipeline
==========================================================

Multivariate time series often arrive as a wide table: one row per sample
and one column per (feature, time step), such as ``temp_t0 .. temp_t23,
hum_t0 .. hum_t23``. :class:`~sklrnn.WideToSequence` reshapes such a table
into the 3D array ``(n_samples, n_timesteps, n_features)`` that
:class:`~sklrnn.RNNClassifier` reads, as a Pipeline step, so that ordinary 2D
transformers such as :class:`~sklearn.preprocessing.StandardScaler` can come
first and cross-validation refits everything on each training fold.

The data is BasicMotions (UEA archive, bundled with sklrnn): six smart-watch
sensor channels over 100 steps, four activities.
"""

# %%
# The wide table
# --------------
# With ``as_frame=True`` the loader returns 6 x 100 = 600 columns,
# feature-major: all steps of ``acc_x``, then all steps of ``acc_y``, ...
import time

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from sklrnn import RNNClassifier, SequenceScaler, WideToSequence
from sklrnn.datasets import load_basic_motions

start = time.perf_counter()
X_train, y_train = load_basic_motions(as_frame=True, return_X_y=True)
X_test, y_test = load_basic_motions(split="test", as_frame=True, return_X_y=True)
print(X_train.shape, list(X_train.columns[:2]), "...", list(X_train.columns[-2:]))

# %%
# How columns map to (time step, feature)
# ---------------------------------------
# ``WideToSequence(n_features=6)`` splits the 600 columns into 6 features of
# 100 steps. ``order="feature_major"`` (the default) is the layout above;
# ``order="time_major"`` reads tables whose columns run ``acc_x_t0, acc_y_t0,
# ..., gyr_z_t0, acc_x_t1, ...``. Both give the same sequences.
channels = ["acc_x", "acc_y", "acc_z", "gyr_x", "gyr_y", "gyr_z"]
X3 = WideToSequence(n_features=6).fit_transform(X_train)
print("3D shape:", X3.shape)
assert X3[0, 5, 1] == X_train.loc[0, "acc_y_t5"]

time_major_columns = [f"{c}_t{t}" for t in range(100) for c in channels]
X3_tm = WideToSequence(n_features=6, order="time_major").fit_transform(X_train[time_major_columns])
print("time-major table gives the same sequences:", np.array_equal(X3, X3_tm))

# A column count that does not split into whole time steps is an error.
try:
    WideToSequence(n_features=7).fit(X_train)
except ValueError as exc:
    print("ValueError:", exc)

# %%
# Two ways to scale, in a Pipeline
# --------------------------------
# ``StandardScaler`` on the wide table standardizes every (feature, time step)
# column separately. :class:`~sklrnn.SequenceScaler` after the reshape
# standardizes each feature with one mean and one scale shared by all time
# steps, which keeps the shape of each signal over time. Both learn their
# statistics from the training data only.


def classifier(seed):
    return RNNClassifier(
        cell_type="gru",
        hidden_size=32,
        lr=3e-3,
        batch_size=8,
        max_epochs=60,
        early_stopping=False,
        standardize=False,  # the pipeline scales already
        n_networks=1,  # one network per fit: the comparison below repeats seeds itself
        random_state=seed,
    )


pipelines = {
    "StandardScaler -> WideToSequence": lambda seed: make_pipeline(
        StandardScaler(), WideToSequence(n_features=6), classifier(seed)
    ),
    "WideToSequence -> SequenceScaler": lambda seed: make_pipeline(
        WideToSequence(n_features=6), SequenceScaler(), classifier(seed)
    ),
}
rows = []
for name, make in pipelines.items():
    for seed in (0, 1):
        pipe = make(seed).fit(X_train, y_train)
        rows.append({"pipeline": name, "seed": seed, "test accuracy": pipe.score(X_test, y_test)})
results = pd.DataFrame(rows)
print(results.to_string(index=False))
print(f"elapsed: {time.perf_counter() - start:.0f} s")

# %%
# What the network sees
# ---------------------
# One sample of each activity after the second pipeline's scaling: six
# channels over 100 steps, on a common scale.
scaled = pipe[:-1].transform(X_test)
fig, axes = plt.subplots(1, 4, figsize=(12, 3), sharey=True)
for ax, activity in zip(axes, sorted(set(y_test)), strict=True):
    i = int(np.flatnonzero(y_test.to_numpy() == activity)[0])
    ax.plot(scaled[i], lw=0.8)
    ax.set_title(activity)
    ax.set_xlabel("time step")
axes[0].set_ylabel("standardized value")
fig.legend(channels, loc="upper right", ncols=6, fontsize="small")
fig.tight_layout(rect=(0, 0, 1, 0.9))
plt.show()
