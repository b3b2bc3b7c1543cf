"""Device handling: "auto", a clear error without CUDA, tensors on the right device.

No GPU is needed: "auto" and the CUDA error are checked against what this
machine has, and the data path is checked on torch's "meta" device, which
(like CUDA) refuses to mix its tensors with CPU tensors in one op.
"""

import pickle

import numpy as np
import pytest
import torch

from sklrnn import RNNClassifier, RNNRegressor
from sklrnn._module import READOUTS, RNNEnsemble, RNNModule
from sklrnn._training import SequenceDataset

CUDA = torch.cuda.is_available()


def _data(n=24, n_timesteps=6, seed=0):
    rng = np.random.RandomState(seed)
    X = rng.normal(size=(n, n_timesteps)).astype(np.float32)
    X[::3, 4:] = np.nan  # some shorter sequences
    y = np.where(np.nansum(X, axis=1) > 0, "up", "down")
    return X, y


def _small(cls, **params):
    return cls(hidden_size=4, max_epochs=2, batch_size=8, random_state=0, **params)


def test_device_auto_fits_on_the_available_device():
    X, y = _data()
    clf = _small(RNNClassifier, device="auto").fit(X, y)
    expected = "cuda" if CUDA else "cpu"
    assert torch.device(clf.net_.device).type == expected
    assert next(clf.net_.module_.parameters()).device.type == expected
    proba = clf.predict_proba(X)
    assert isinstance(proba, np.ndarray) and proba.dtype == np.float64
    assert set(clf.predict(X)) <= {"up", "down"}
    # the parameter itself is kept as given, for cloning and grid search
    assert clf.get_params()["device"] == "auto"


def test_device_auto_matches_device_cpu():
    X, y = _data()
    auto = _small(RNNRegressor, device="auto").fit(X, X[:, 0])
    cpu = _small(RNNRegressor, device="cpu").fit(X, X[:, 0])
    if not CUDA:  # same device, same seed: the same model
        np.testing.assert_allclose(auto.predict(X), cpu.predict(X), rtol=1e-5)
    assert auto.predict(X).shape == (len(X),)


def test_device_cuda_without_cuda_is_a_clear_error():
    X, y = _data()
    clf = _small(RNNClassifier, device="cuda")
    if CUDA:
        assert clf.fit(X, y).predict_proba(X).dtype == np.float64
        return
    with pytest.raises(ValueError, match=r"CUDA is not available.*device='cpu' or device='auto'"):
        clf.fit(X, y)
    assert not hasattr(clf, "net_")


def test_invalid_device_string_is_a_clear_error():
    X, y = _data()
    with pytest.raises(ValueError, match="not a valid torch device"):
        _small(RNNClassifier, device="gpu").fit(X, y)


def test_pickled_model_predicts_the_same():
    X, y = _data()
    clf = _small(RNNClassifier, device="auto").fit(X, y)
    loaded = pickle.loads(pickle.dumps(clf))
    np.testing.assert_allclose(loaded.predict_proba(X), clf.predict_proba(X), rtol=1e-6)


def test_dataset_keeps_lengths_on_cpu_and_moves_indices_to_the_data():
    n = 10
    X = np.arange(n * 5 * 2, dtype=np.float32).reshape(n, 5, 2)
    lengths = np.full(n, 5)
    weights = np.linspace(0.5, 1.5, n)
    data = SequenceDataset(X, lengths, np.arange(n), weights, device="meta")
    index = torch.tensor([7, 2, 4])  # a shuffled batch, drawn on the CPU
    Xi, yi = data.batch(index)
    assert Xi["X"].device.type == "meta" and Xi["X"].shape == (3, 5, 2)
    assert Xi["sample_weight"].device.type == "meta"
    assert yi.device.type == "meta"
    assert Xi["lengths"].device.type == "cpu"
    assert Xi["lengths"].tolist() == [5, 5, 5]
    # a validation subset shares X and keeps its row positions on the device
    valid = data.subset(np.array([1, 3, 8]))
    assert valid.X is data.X
    assert valid.rows.device.type == "meta"
    Xv, yv = valid.batch(slice(0, 2))
    assert Xv["X"].device.type == "meta" and Xv["lengths"].device.type == "cpu"
    assert yv.shape == (2,)


def test_dataset_subset_selects_the_right_rows_without_copying():
    n = 6
    X = np.arange(n * 3, dtype=np.float32).reshape(n, 3, 1)
    data = SequenceDataset(X, np.array([3, 2, 3, 1, 3, 3]), np.arange(n))
    assert np.shares_memory(data.X.numpy(), X)  # float32 on the CPU: no copy
    part = data.subset(np.array([4, 1, 3]))
    Xi, yi = part.batch(torch.tensor([2, 0]))
    assert yi.tolist() == [3, 4]
    assert Xi["lengths"].tolist() == [1, 3]
    np.testing.assert_array_equal(Xi["X"].numpy(), X[[3, 4]])
    assert "sample_weight" not in Xi  # no weights given: the plain mean loss


@pytest.mark.parametrize("readout", READOUTS)
@pytest.mark.parametrize("cell_type", ["lstm", "gru"])
def test_module_forward_stays_on_the_data_device(cell_type, readout):
    # Lengths come on the CPU and must not be mixed into device ops.
    module = RNNModule(
        n_features=2,
        n_outputs=3,
        cell_type=cell_type,
        readout=readout,
        hidden_size=4,
        bidirectional=True,
    ).to("meta")
    X = torch.empty(4, 6, 2, device="meta")
    out = module(X, torch.full((4,), 6))
    assert out.device.type == "meta" and out.shape == (4, 3)
    # An ensemble in training: one output per network, on the device.
    ensemble = RNNEnsemble(
        2, n_features=2, n_outputs=3, cell_type=cell_type, readout=readout, hidden_size=4
    ).to("meta")
    out = ensemble(X, torch.full((4,), 6))
    assert out.device.type == "meta" and out.shape == (4, 3, 2)
