"""
=============================================
The network as a feature extractor
=============================================

A fitted :class:`~sklrnn.RNNClassifier` (or :class:`~sklrnn.RNNRegressor`) is
also a transformer: :meth:`~sklrnn.RNNClassifier.transform` returns, for each
sequence, the vector its linear head reads. Any scikit-learn model can then
work on these learned features: a linear probe, nearest neighbours,
clustering, or a 2D map. :meth:`~sklrnn.RNNClassifier.recurrent_states` shows
the recurrent layer's outputs step by step.

The data is JapaneseVowels (UEA archive, bundled with sklrnn): 12 cepstrum
coefficients of a vowel uttered by nine speakers, 7 to 29 steps long
(trailing NaN pads the shorter ones); the task is to name the speaker.
"""

# %%
# Fit the network and a linear probe in one Pipeline
# --------------------------------------------------
# As an intermediate Pipeline step the classifier is fitted on ``y`` and then
# passes ``transform(X)`` on, here to a logistic regression.
import matplotlib.pyplot as plt
import numpy as np
from sklearn.cluster import KMeans
from sklearn.decomposition import PCA
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import adjusted_rand_score
from sklearn.neighbors import KNeighborsClassifier
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from sklrnn import RNNClassifier
from sklrnn.datasets import load_japanese_vowels

X_train, y_train = load_japanese_vowels(return_X_y=True)
X_test, y_test = load_japanese_vowels(split="test", return_X_y=True)
print("train", X_train.shape, "test", X_test.shape)

# ``kernel_features=0``: the network alone. By default the classifier's head
# also reads 5,040 features of fixed random kernels, which ``transform``
# returns first. They are not learned: on the speakers the network was
# trained on they blur what it learned (1-NN accuracy 0.970 with them, 0.99
# without), and on speakers it never saw they are what keeps the features
# level with the raw series (user guide, "Learned features and recurrent
# states"), so keep them there.
pipe = make_pipeline(
    RNNClassifier(hidden_size=32, kernel_features=0, random_state=0),
    StandardScaler(),
    LogisticRegression(max_iter=2000),
)
pipe.fit(X_train, y_train)
network = pipe[0]
print(f"network's own head: test accuracy {network.score(X_test, y_test):.3f}")
print(f"linear probe on its features: test accuracy {pipe.score(X_test, y_test):.3f}")

# %%
# The features
# ------------
# A sequence becomes ``kernel_features + conv_channels + 4 * hidden_size``
# numbers (0 + 64 + 128 here): the random kernels' features (none here), the
# mean of the front end's features over its valid steps, then, with the
# default ``readout="mean_last"`` and ``bidirectional=True``, the mean of the
# recurrent outputs and the final states, of both directions. They get
# scikit-learn's generated names, and ``set_output`` returns a DataFrame.
E_train, E_test = network.transform(X_train), network.transform(X_test)
print("features:", E_train.shape, network.get_feature_names_out()[:3], "...")
network.set_output(transform="pandas")
print(network.transform(X_test[:3]).iloc[:, :4])
network.set_output(transform="default")

# %%
# Nearest neighbours and clusters
# -------------------------------
# The same probes on the raw series (flattened, padding filled with each
# sequence's last value, standardized) for comparison: 1-nearest-neighbour
# accuracy is retrieval precision@1, and the adjusted Rand index scores a
# k-means clustering against the speakers. These are the speakers the network
# was trained on: for classes it never saw, features can do worse than the raw
# series (``benchmarks/bench_embeddings.py`` measures both), so compare there.


def flatten(X, length):
    """Pad to ``length`` steps, repeat each sequence's last step over its NaN, flatten."""
    X = np.pad(X, ((0, 0), (0, length - X.shape[1]), (0, 0)), constant_values=np.nan)
    for t in range(1, length):
        X[:, t] = np.where(np.isnan(X[:, t]), X[:, t - 1], X[:, t])
    return X.reshape(len(X), -1)


length = max(X_train.shape[1], X_test.shape[1])
R_train, R_test = flatten(X_train, length), flatten(X_test, length)
for name, (F_train, F_test) in {"embeddings": (E_train, E_test), "raw": (R_train, R_test)}.items():
    scaler = StandardScaler().fit(F_train)
    A, B = scaler.transform(F_train), scaler.transform(F_test)
    knn = KNeighborsClassifier(n_neighbors=1).fit(A, y_train).score(B, y_test)
    clusters = KMeans(n_clusters=9, n_init=10, random_state=0).fit_predict(B)
    ari = adjusted_rand_score(y_test, clusters)
    print(f"{name:>10}: 1-NN accuracy {knn:.3f}, k-means adjusted Rand index {ari:.3f}")

# %%
# A map of the test sequences
# ---------------------------
# The first two principal components of the test set's features, coloured by
# speaker: the network has pulled each speaker's utterances together.
fig, axes = plt.subplots(1, 2, figsize=(11, 4.5), layout="constrained")
for ax, (title, F) in zip(axes, [("RNN embeddings", E_test), ("raw series", R_test)], strict=True):
    points = PCA(n_components=2).fit_transform(StandardScaler().fit_transform(F))
    for speaker in np.unique(y_test):
        mask = y_test == speaker
        ax.scatter(*points[mask].T, s=10, label=speaker)
    ax.set(title=f"PCA of the {title}", xlabel="PC 1", ylabel="PC 2")
fig.legend(*axes[0].get_legend_handles_labels(), title="speaker", loc="outside right")

# %%
# Inside the network: recurrent states per step
# ---------------------------------------------
# ``recurrent_states`` returns the last recurrent layer's outputs at each of
# its steps, NaN past each sequence's end. The front end pools
# ``prod(strides_)`` input steps into one recurrent step.
states = network.recurrent_states(X_test[:2])
factor = int(np.prod(network.strides_))
lengths = (~np.isnan(X_test[:2, :, 0])).sum(axis=1)
print(f"strides_ {network.strides_}: {factor} input steps per recurrent step")
print(f"input lengths {lengths.tolist()} -> states {states.shape}")
fig, ax = plt.subplots(figsize=(7, 3))
image = ax.imshow(states[0].T, aspect="auto", interpolation="nearest", cmap="RdBu_r")
ax.set(
    title=f"Recurrent outputs of test sequence 0 (speaker {y_test[0]})",
    xlabel="recurrent step",
    ylabel="unit (forward, then backward)",
)
fig.colorbar(image)
fig.tight_layout()
plt.show()
