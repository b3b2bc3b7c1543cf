"""Rare inputs and error paths that a coverage run of the suite left unexecuted.

Grouped by the module they reach; each names the input it stands for.
"""

import os
import re

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp
import torch
from skorch.callbacks import Callback

from sklrnn import (
    AttributionDisplay,
    LossCurveDisplay,
    RNNClassifier,
    RNNModule,
    make_windows,
    pad_sequences,
)
from sklrnn._module import RNNEnsemble
from sklrnn.datasets import load_ts_file

TINY = dict(hidden_size=2, max_epochs=1, conv_channels=0, kernel_features=0, random_state=0)


def _data(n=8, steps=5, features=2):
    rng = np.random.RandomState(0)
    return rng.randn(n, steps, features), np.array([0, 1] * (n // 2))


# -- estimators ------------------------------------------------------------


class _NoMonitor(Callback):
    # A callback class whose constructor has no "monitor" parameter.
    def __init__(self, every=1):
        self.every = every


def test_callback_class_without_monitor_parameter_is_accepted():
    # Input: callbacks=[a Callback class, not instance, without a monitor parameter].
    X, y = _data()
    est = RNNClassifier(**TINY, callbacks=[_NoMonitor]).fit(X, y)
    assert est.n_iter_ == 1


class _FailsToInitialize(Callback):
    # A callback whose initialize raises a RuntimeError that is not about memory.
    def initialize(self):
        raise RuntimeError("callback broke")


def test_runtime_error_other_than_memory_is_not_a_memory_error():
    # Input: a callback raising RuntimeError("callback broke") while the net initializes.
    X, y = _data()
    with pytest.raises(RuntimeError, match="^callback broke$"):
        RNNClassifier(**TINY, callbacks=[_FailsToInitialize()]).fit(X, y)


# -- sequences -------------------------------------------------------------


def test_ragged_list_with_a_scalar_is_refused_in_predict():
    # Input: predict([[1, 2, 3], [1, 2], 5.0]), a ragged list holding a number.
    X, y = _data(features=1)
    est = RNNClassifier(**TINY).fit(X, y)
    with pytest.raises(ValueError, match=r"Sequence 2 of X is the single number 5\.0, where"):
        est.predict([[1.0, 2, 3], [1.0, 2], 5.0])
    # One series where a list of them belongs: its first value is "sequence 0".
    with pytest.raises(ValueError, match=r"number 1\.0, .* in a list: \[sequence\]"):
        pad_sequences(np.array([1.0, 2.0, 3.0]))
    # A sample without its sequence was "the single number nan".
    for missing in (None, np.nan, pd.NA):
        with pytest.raises(ValueError, match=r"Sequence 1 of X is missing .* Leave out the samp"):
            est.predict(pd.Series([[1.0, 2.0], missing], dtype=object))
        with pytest.raises(ValueError, match=r"Sequence 0 of X is missing"):  # not a table
            est.predict([missing, [1.0, 2.0], [3.0]])


def test_sparse_sequence_in_a_list_is_refused():
    # Input: a list holding a sparse matrix and a dense array.
    X, y = _data()
    est = RNNClassifier(**TINY).fit(X, y)
    msg = "Sequence 0 of X is a sparse matrix; sequences must be dense. Convert it with .toarray()."
    with pytest.raises(TypeError, match=re.escape(msg)):
        est.predict([sp.csr_matrix(np.ones((3, 2))), np.ones((2, 2))])


def test_sequence_of_rows_of_unequal_lengths_is_refused():
    # Input: a list sequence whose rows differ in length, [[1, 2], [3]].
    X, y = _data()
    est = RNNClassifier(**TINY).fit(X, y)
    with pytest.raises(ValueError, match=r"X\[0\] holds sequences where numbers belong"):
        est.predict([[[1.0, 2], [3.0]], np.ones((2, 2))])


def test_3d_array_with_zero_features_is_refused():
    # Input: a 3D array of shape (2, 3, 0).
    X, y = _data()
    est = RNNClassifier(**TINY).fit(X, y)
    msg = (
        "Found array with 0 feature(s) (shape=(2, 3, 0)) while a minimum of 1 is "
        "required: sequences need at least one time step and one feature."
    )
    with pytest.raises(ValueError, match=re.escape(msg)):
        est.predict(np.ones((2, 3, 0)))


# -- module ----------------------------------------------------------------


def test_module_refuses_unknown_cell_type():
    # Input: RNNModule(cell_type="bad").
    with pytest.raises(ValueError, match=r"^cell_type must be one of .*, got 'bad'\.$"):
        RNNModule(2, 2, cell_type="bad")


def test_module_refuses_unknown_readout():
    # Input: RNNModule(readout="bad").
    with pytest.raises(ValueError, match=r"^readout must be one of .*, got 'bad'\.$"):
        RNNModule(2, 2, readout="bad")


def test_module_without_kernels_has_empty_kernel_features():
    # Input: RNNModule without random kernels (kernel_dilations=()).
    module = RNNModule(2, 3, hidden_size=2, conv_channels=0)
    X, lengths = torch.zeros(4, 5, 2), torch.full((4,), 5)
    assert module.kernel_features(X, lengths).shape == (4, 0)
    assert module.embed(X, lengths).shape == (4, module.embedding_size)
    # Input: RNNEnsemble of two such networks.
    ensemble = RNNEnsemble(2, n_features=2, n_outputs=3, hidden_size=2, conv_channels=0)
    assert ensemble.kernel_features(X, lengths).shape == (4, 0)


def test_ensemble_refuses_unknown_average():
    # Input: RNNEnsemble(average="bad").
    msg = "average must be 'probabilities' or 'outputs', got 'bad'."
    with pytest.raises(ValueError, match=re.escape(msg)):
        RNNEnsemble(2, average="bad", n_features=2, n_outputs=2)


# -- datasets --------------------------------------------------------------


def test_ts_file_of_over_4096_series_loads_whole(tmp_path):
    # Input: a .ts file of 4100 one-step series (more than one chunk of 4096).
    path = tmp_path / "many.ts"
    rows = "".join(f"{i}:{'ab'[i % 2]}\n" for i in range(4100))
    path.write_text("@classLabel true a b\n@data\n" + rows)
    X, y = load_ts_file(path)
    assert X.shape == (4100, 1)
    np.testing.assert_array_equal(X[:, 0], np.arange(4100))
    assert y[4097] == "b"


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs os.mkfifo")
def test_load_ts_file_refuses_a_fifo(tmp_path):
    # Input: a named pipe, neither a regular file nor a directory.
    path = tmp_path / "pipe.ts"
    os.mkfifo(path)
    with pytest.raises(ValueError, match=re.escape(f"{str(path)!r} is not a regular file.")):
        load_ts_file(path)


# -- plotting --------------------------------------------------------------


def test_loss_curve_refuses_complex_losses():
    # Input: LossCurveDisplay(train_loss=[1+1j, 2]).
    msg = "train_loss must hold real numbers: got complex numbers."
    with pytest.raises(ValueError, match=re.escape(msg)):
        LossCurveDisplay(train_loss=[1 + 1j, 2])


def test_attribution_display_of_a_dataframe_fitted_estimator():
    # Input: an estimator fitted on a list of DataFrames, X a list of DataFrames.
    pytest.importorskip("matplotlib")
    pd = pytest.importorskip("pandas")
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    X, y = _data()
    frames = [pd.DataFrame(x, columns=["a", "b"]) for x in X]
    est = RNNClassifier(**TINY).fit(frames, y)
    display = AttributionDisplay.from_estimator(est, frames, index=1, n_steps=2)
    assert display.attributions.shape == (5, 2)
    plt.close("all")


# -- preprocessing ---------------------------------------------------------


def test_make_windows_refuses_empty_target_list():
    # Input: make_windows(series, 3, target=[]).
    msg = "target is an empty list; name at least one feature, or pass None."
    with pytest.raises(ValueError, match=re.escape(msg)):
        make_windows(np.arange(20.0).reshape(10, 2), 3, target=[])
