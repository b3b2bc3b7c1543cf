"""
=================================================
Which time steps drove a prediction: attributions
=================================================

:func:`~sklrnn.sequence_attributions` explains each prediction of a fitted
:class:`~sklrnn.RNNClassifier` or :class:`~sklrnn.RNNRegressor` by integrated
gradients: every value of a sequence gets a share of the change of the output
from a baseline sequence (the training mean at every step) to the sequence
itself. :class:`~sklrnn.AttributionDisplay` draws a sequence over its
attributions.

The data is GunPoint (UCR archive, bundled with sklrnn): the x coordinate of
an actor's hand over 150 steps, while they either draw a replica gun from a
hip holster, point it and put it back ("Gun"), or point a finger without a
gun ("Point").
"""

# %%
# A classifier
# ------------
import time

import matplotlib.pyplot as plt
import numpy as np

from sklrnn import AttributionDisplay, RNNClassifier, sequence_attributions
from sklrnn.datasets import load_gunpoint

start = time.perf_counter()
X_train, y_train = load_gunpoint(return_X_y=True)
X_test, y_test = load_gunpoint(split="test", return_X_y=True)
names = {"1": "Gun", "2": "Point"}
y_train = np.array([names[label] for label in y_train])
y_test = np.array([names[label] for label in y_test])

clf = RNNClassifier(hidden_size=16, conv_channels=16, random_state=0)
clf.fit(X_train, y_train)
print(f"test accuracy {clf.score(X_test, y_test):.3f}")

# %%
# Attributions of every test sequence
# -----------------------------------
# The classifier's output explained is the log-odds of the predicted class,
# ``log(p / (1 - p))``. The result has one value per time step and feature,
# ``(n_samples, n_timesteps, n_features)``; with the random kernel features
# (the default) it costs twice ``n_steps`` (50) forward and backward passes
# per sequence, and 16 more.
attributions = sequence_attributions(clf, X_test)
print("attributions:", attributions.shape)

# %%
# The attributions of a sequence add up to the change of the log-odds from
# the baseline to the sequence, up to the error of the 50-point integral:
predicted = clf.predict(X_test)
proba = clf.predict_proba(X_test)[np.arange(len(X_test)), np.searchsorted(clf.classes_, predicted)]
# The default baseline: the training data's mean, at every step.
baseline = np.full((1, X_test.shape[1]), X_train.mean())
baseline_proba = clf.predict_proba(baseline)[0]
baseline_proba = baseline_proba[np.searchsorted(clf.classes_, predicted)]


def log_odds(p):
    return np.log(p) - np.log1p(-p)


change = log_odds(proba) - log_odds(baseline_proba)
total = attributions.sum(axis=(1, 2))
print(
    f"largest |sum - change| {np.abs(total - change).max():.3f}, mean |change| "
    f"{np.abs(change).mean():.2f}"
)

# %%
# A few sequences
# ---------------
# Red steps pushed the prediction towards the predicted class, blue steps
# away from it. The convolutional front end reads differences of neighbouring
# steps, and max pooling (here over 5, then 4 steps: ``strides_``) passes on
# one step of each pool, so single steps get attributions that alternate in
# sign. ``window`` colours each step by the mean over the steps around it;
# a window as wide as one recurrent step (5 x 4 = 20 input steps) shows what
# each stretch of the sequence contributed.
print("front-end strides:", clf.strides_)
WINDOW = int(np.prod(clf.strides_))
fig, axes = plt.subplots(2, 2, figsize=(11, 6), sharex=True, layout="constrained")
examples = [*np.flatnonzero(y_test == "Gun")[:2], *np.flatnonzero(y_test == "Point")[:2]]
for ax, index in zip(axes.ravel(), examples, strict=True):
    AttributionDisplay.from_estimator(clf, X_test, index=index, ax=ax, window=WINDOW)
    ax.set_title(f"sample {index} ({y_test[index]}): predicted {predicted[index]}")

# %%
# Where the model looks, on average
# ---------------------------------
# Attributions add up, so the sum over a stretch of steps is what that stretch
# contributed. Summed over stretches of 10 steps and averaged over the test
# sequences of each predicted class, they show where this model finds each
# class. No single stretch decides: stretches that push towards the predicted
# class alternate with stretches that push away from it, over the whole
# movement, and the printed lines name the stretches that push hardest.
bins = attributions[:, :, 0].reshape(len(X_test), -1, 10).sum(axis=2)
fig, ax = plt.subplots(figsize=(8, 3.5), layout="constrained")
for shift, label in zip((-2, 2), clf.classes_, strict=True):
    mean_bins = bins[predicted == label].mean(axis=0)
    top = np.argsort(mean_bins)[::-1][:2] * 10
    print(f"{label}: strongest stretches start at steps {top.tolist()}")
    ax.bar(np.arange(len(mean_bins)) * 10 + 5 + shift, mean_bins, width=4, label=label)
ax.axhline(0, color="grey", linewidth=0.8)
ax.set_xlabel("Time step")
ax.set_ylabel("attribution per 10 steps")
ax.set_title("Mean attribution by predicted class")
ax.legend()
print(f"ran in {time.perf_counter() - start:.0f} s")
