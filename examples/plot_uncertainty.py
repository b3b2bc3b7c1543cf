"""
=========================================
Prediction intervals from RNNRegressor
=========================================

``RNNRegressor.predict(X, return_std=True)`` returns a standard deviation
with every prediction, as :class:`~sklearn.linear_model.BayesianRidge` and
:class:`~sklearn.gaussian_process.GaussianProcessRegressor` do. Its square is
the sum of

* the variance of the dropout before the network's head (Monte Carlo dropout,
  computed exactly rather than sampled), plus the spread of the networks when
  ``n_networks > 1``: the model's uncertainty, which varies from sequence to
  sequence;
* ``noise_std_ ** 2``, the mean squared leave-one-out residual of the head
  that ``fit`` solves in closed form on the random kernel features and the
  network's (the mean squared training residual where there are no kernel
  features): the noise of the targets, the same for every sequence.

This example draws the ±1.96σ intervals on Covid3Month (bundled with
sklrnn), measures how many test targets they cover, and rescales them by
split conformal calibration on a held-out part of the training data.
"""

# %%
# Predictions with a standard deviation
# -------------------------------------
# Covid3Month: the daily confirmed COVID-19 cases of a country over three
# months; the target is the country's death rate. 140 training and 61 test
# series.
import time

import matplotlib.pyplot as plt
import numpy as np
from scipy.stats import norm
from sklearn.model_selection import train_test_split

from sklrnn import RNNRegressor
from sklrnn.datasets import load_covid3month

start = time.perf_counter()
X_train, y_train = load_covid3month(split="train", return_X_y=True)
X_test, y_test = load_covid3month(split="test", return_X_y=True)

model = RNNRegressor(random_state=0).fit(X_train, y_train)
mean, std = model.predict(X_test, return_std=True)


def coverage(y, mean, std):
    """Fraction of the targets inside mean ± 1.96 std."""
    return np.mean(np.abs(y - mean) <= 1.96 * std)


print(f"noise_std_: {model.noise_std_[0]:.4f}")
print(f"std: {std.min():.4f} to {std.max():.4f}")
print(f"test RMSE: {np.sqrt(np.mean((y_test - mean) ** 2)):.4f}")
print(f"coverage of the 95% intervals: {coverage(y_test, mean, std):.2f}")
print(f"mean interval width: {np.mean(2 * 1.96 * std):.4f}")

# %%
# Most of the std is the noise part: the network's own uncertainty (here
# dropout) is a small fraction of it. On data like these, where the
# network explains little of the target, that is what makes the intervals
# cover; the dropout part alone would cover few of the targets
# (``benchmarks/README.md`` measures both).
epistemic = np.sqrt(std**2 - model.noise_std_**2)
print(f"dropout part alone covers: {coverage(y_test, mean, epistemic):.2f}")

# %%
# Split conformal calibration
# ---------------------------
# The noise part comes from the head's leave-one-out residuals; the network
# that computed the features was trained on every sequence, the held-out
# ones included, so these residuals are still somewhat optimistic.
# A held-out part of the training data checks it: the factor by which the
# std must grow (or shrink) so that the intervals cover 95% of the held-out
# targets. Applied to new data, the intervals then cover at least 95% on
# average over calibration splits and new sequences (split conformal
# prediction with normalized residuals); on 61 test series one split's
# coverage varies by about 0.03 (a binomial standard deviation) around
# that, and the factor itself rests on the 28 held-out series. Here it is
# 0.79: those 28 happened to lie closer to their predictions than the
# test series do, and the narrower calibrated intervals cover 0.92 of the
# test targets, as the intervals before did. In the benchmark, over three seeds, the
# calibrated intervals cover 0.94 of the test targets (``benchmarks/README.md``).
X_fit, X_cal, y_fit, y_cal = train_test_split(X_train, y_train, test_size=0.2, random_state=0)
held_out = RNNRegressor(random_state=0).fit(X_fit, y_fit)
cal_mean, cal_std = held_out.predict(X_cal, return_std=True)
scores = np.sort(np.abs(y_cal - cal_mean) / cal_std)
rank = min(int(np.ceil(0.95 * (len(scores) + 1))), len(scores))
factor = scores[rank - 1] / 1.96
cal_test_mean, cal_test_std = held_out.predict(X_test, return_std=True)
print(f"conformal factor: {factor:.2f}")
print(f"coverage after calibration: {coverage(y_test, cal_test_mean, factor * cal_test_std):.2f}")
print(f"elapsed: {time.perf_counter() - start:.0f} s")

# %%
# The intervals
# -------------
# Test series sorted by their prediction: the ±1.96σ band of the model fitted
# on the whole training split, and the observed death rates; the right panel
# compares the standardized residuals ``(y - mean) / std`` with the standard
# normal density that a calibrated std would give them. The band is
# Gaussian: it ignores that a death rate cannot be negative (all bands but
# one reach below 0), and the residuals are skewed: the targets outside
# their intervals all lie above them.
order = np.argsort(mean)
rank = np.arange(len(order))
inside = np.abs(y_test - mean) <= 1.96 * std
fig, (ax, ax_z) = plt.subplots(1, 2, figsize=(10, 4), width_ratios=[2, 1])
ax.fill_between(
    rank, (mean - 1.96 * std)[order], (mean + 1.96 * std)[order], alpha=0.3, label="±1.96σ"
)
ax.plot(rank, mean[order], color="tab:blue", label="prediction")
ax.scatter(rank, y_test[order], c=np.where(inside[order], "black", "tab:red"), s=12, zorder=3)
ax.set_xlabel("test series, by prediction")
ax.set_ylabel("death rate")
ax.set_title(f"Covid3Month test split: {inside.mean():.0%} of the targets inside (red: outside)")
ax.legend(loc="upper left")
z = (y_test - mean) / std
grid = np.linspace(-4, 4, 200)
ax_z.hist(z, bins=15, density=True, alpha=0.5, label="(y - mean) / std")
ax_z.plot(grid, norm.pdf(grid), color="black", label="standard normal")
ax_z.set_xlabel("standardized residual")
ax_z.legend(loc="upper left", fontsize="small")
fig.tight_layout()
plt.show()
