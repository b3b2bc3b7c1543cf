"""
Saving, loading and exporting a fitted model
============================================

A fitted :class:`~sklrnn.RNNClassifier` can be stored in three ways:

* **pickle** (or joblib), like any scikit-learn estimator. Loading a pickle
  runs code named in the file, so only load pickles you trust;
* :func:`~sklrnn.save_model` / :func:`~sklrnn.load_model`: a zip archive of
  JSON and safetensors, which loads without executing anything from the
  file, checks everything in it first, and loads a GPU-trained model on a
  CPU-only machine;
* :func:`~sklrnn.export_onnx`: the prediction graph in ONNX, for serving
  with onnxruntime without Python, torch or sklrnn.

All three give back the same predictions, which this example checks.
"""

# %%
# A model to save
# ---------------
# ItalyPowerDemand (UCR archive, bundled): daily electricity demand curves of
# 24 hourly steps, with the season as a string label.
import os
import pickle
import tempfile

import matplotlib.pyplot as plt
import numpy as np

from sklrnn import RNNClassifier, export_onnx, load_model, save_model
from sklrnn.datasets import load_italy_power_demand

X_train, y_train = load_italy_power_demand(split="train", return_X_y=True)
X_test, y_test = load_italy_power_demand(split="test", return_X_y=True)
season = {"1": "Oct-Mar", "2": "Apr-Sep"}
y_train = np.array([season[str(v)] for v in y_train])
y_test = np.array([season[str(v)] for v in y_test])

clf = RNNClassifier(cell_type="gru", hidden_size=16, max_epochs=60, lr=5e-3, random_state=0)
clf.fit(X_train, y_train)
proba = clf.predict_proba(X_test)
print(f"classes {clf.classes_}, test accuracy {clf.score(X_test, y_test):.3f}")

scratch = tempfile.TemporaryDirectory()  # removed at the end
folder = scratch.name

# %%
# Pickle
# ------
with open(os.path.join(folder, "model.pkl"), "wb") as f:
    pickle.dump(clf, f)
with open(os.path.join(folder, "model.pkl"), "rb") as f:
    from_pickle = pickle.load(f)
assert np.array_equal(from_pickle.predict_proba(X_test), proba)

# %%
# The safe format
# ---------------
# ``model.json`` holds the parameters, fitted attributes (``classes_`` with its
# dtype, feature counts, the strides of the front end) and the training
# history; ``weights.safetensors`` and ``optimizer.safetensors`` hold tensors
# only.
path = os.path.join(folder, "model.zip")
save_model(clf, path)
from_zip = load_model(path)
assert np.array_equal(from_zip.predict_proba(X_test), proba)
assert from_zip.predict(X_test).tolist() == clf.predict(X_test).tolist()
print(f"model.zip: {os.path.getsize(path) / 1024:.0f} KiB, classes {from_zip.classes_}")

# %%
# The loaded model is a complete estimator: it can keep training.
from_zip.partial_fit(X_train, y_train)
print(f"after one more epoch: {from_zip.n_iter_} epochs in history_")

# %%
# ONNX
# ----
# The graph takes a float32 array ``(batch, time, features)`` with trailing
# NaN as padding, and returns the class probabilities.
import onnxruntime  # noqa: E402

onnx_path = export_onnx(clf, os.path.join(folder, "model.onnx"))
session = onnxruntime.InferenceSession(onnx_path)
onnx_proba = session.run(None, {"X": X_test[:, :, None].astype(np.float32)})[0]
print(f"largest difference to predict_proba: {np.abs(onnx_proba - proba).max():.1e}")

# %%
# How far each copy's probability of ``"Oct-Mar"`` lies from the fitted
# model's, for every test series: the pickle and the safe format reproduce it
# exactly, the ONNX graph to float32 rounding.
fig, ax = plt.subplots(figsize=(6, 3.5))
for name, other, size in [
    ("ONNX (onnxruntime)", onnx_proba, 3),
    ("pickle", from_pickle.predict_proba(X_test), 6),
    ("save_model / load_model", load_model(path).predict_proba(X_test), 2),
]:
    ax.plot(other[:, 1] - proba[:, 1], ".", markersize=size, label=name)
ax.set_xlabel("test series")
ax.set_ylabel("difference in probability")
ax.ticklabel_format(axis="y", style="sci", scilimits=(0, 0))
ax.legend()
fig.tight_layout()
plt.show()
scratch.cleanup()
