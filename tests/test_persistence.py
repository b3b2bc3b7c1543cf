"""save_model / load_model: the safe format round trip and what it refuses."""

import io
import json
import os
import pickle
import zipfile

import numpy as np
import pandas as pd
import pytest
import torch
from sklearn.exceptions import NotFittedError
from sklearn.linear_model import LinearRegression
from skorch.callbacks import EpochTimer

from sklrnn import (
    InconsistentVersionWarning,
    RNNClassifier,
    RNNRegressor,
    load_model,
    save_model,
)
from sklrnn._persistence import _CONFIG, _OPTIMIZER, _WEIGHTS

FAST = dict(hidden_size=6, conv_channels=4, max_epochs=4, random_state=0)


def sequences(n=40, T=8, n_features=None, seed=0):
    rng = np.random.RandomState(seed)
    return rng.normal(size=(n, T) if n_features is None else (n, T, n_features))


def round_trip(estimator, tmp_path, **kwargs):
    path = tmp_path / "model.zip"
    save_model(estimator, path)
    return load_model(path, **kwargs)


def rewrite(path, edit_config=None, extra=None, replace=None):
    """Copy an archive with its JSON edited and members added or replaced."""
    with zipfile.ZipFile(path) as archive:
        members = {name: archive.read(name) for name in archive.namelist()}
    if edit_config is not None:
        config = json.loads(members[_CONFIG])
        edit_config(config)
        members[_CONFIG] = json.dumps(config).encode()
    members.update(replace or {})
    members.update(extra or {})
    out = path.with_name("edited.zip")
    with zipfile.ZipFile(out, "w") as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return out


def assert_same_fitted_state(a, b):
    for name, value in vars(a).items():
        if name in ("net_", "history_"):
            continue
        other = getattr(b, name)
        if isinstance(value, np.ndarray):
            assert value.dtype == other.dtype, name
            np.testing.assert_array_equal(value, other, err_msg=name)
        else:
            assert value == other, name
    assert list(a.history_) == list(b.history_)
    state_a, state_b = a.net_.module_.state_dict(), b.net_.module_.state_dict()
    assert state_a.keys() == state_b.keys()
    for key in state_a:
        assert torch.equal(state_a[key], state_b[key]), key


# -- round trips ---------------------------------------------------------------


@pytest.mark.parametrize(
    "labels",
    [
        np.array(["cat", "dog", "emu"]),
        np.array([3, 7, 11]),
        np.array([1.0, 2.0, 4.0]),
        np.array(["cat", "dog", "emu"], dtype=object),
    ],
    ids=["str", "int", "float", "object"],
)
def test_classifier_round_trip(tmp_path, labels):
    X = sequences(n_features=2)
    y = labels[np.arange(len(X)) % 3]
    clf = RNNClassifier(cell_type="lstm", readout="attention", **FAST).fit(X, y)
    loaded = round_trip(clf, tmp_path)
    assert type(loaded) is RNNClassifier
    assert loaded.get_params() == clf.get_params()
    assert loaded.classes_.dtype == clf.classes_.dtype
    assert_same_fitted_state(clf, loaded)
    np.testing.assert_array_equal(loaded.predict_proba(X), clf.predict_proba(X))
    assert loaded.predict(X).tolist() == clf.predict(X).tolist()


def test_strided_front_end_and_ensemble_round_trip(tmp_path):
    # 600 steps: every stride of the front end is above 1, and the rebuilt
    # network must use the fitted strides_, not ones derived anew.
    X = sequences(n=20, T=600, n_features=2)
    y = (X[:, -50:, 0].mean(axis=1) > 0).astype(int)
    clf = RNNClassifier(**FAST, n_networks=2).fit(X, y)
    assert clf.strides_ == (2, 7, 6)
    loaded = round_trip(clf, tmp_path)
    assert isinstance(loaded.strides_, tuple) and loaded.strides_ == clf.strides_
    assert all(net.front_end.strides == (2, 7, 6) for net in loaded.net_.module_.networks)
    assert_same_fitted_state(clf, loaded)
    np.testing.assert_array_equal(loaded.predict_proba(X), clf.predict_proba(X))
    # Predicting shorter or longer sequences goes through the same strides.
    np.testing.assert_array_equal(loaded.predict_proba(X[:, :90]), clf.predict_proba(X[:, :90]))


def test_dataframe_feature_names_and_class_weight_survive(tmp_path):
    X = pd.DataFrame(sequences(), columns=[f"t{i}" for i in range(8)])
    y = np.where(X["t7"] > 0, "up", "down")
    clf = RNNClassifier(class_weight={"up": 2.0, "down": 1.0}, **FAST).fit(X, y)
    loaded = round_trip(clf, tmp_path)
    assert loaded.class_weight == {"up": 2.0, "down": 1.0}
    assert loaded.feature_names_in_.tolist() == [f"t{i}" for i in range(8)]
    assert_same_fitted_state(clf, loaded)
    np.testing.assert_array_equal(loaded.predict_proba(X), clf.predict_proba(X))
    with pytest.raises(ValueError, match="feature names"):
        loaded.predict(X.rename(columns={"t0": "other"}))


@pytest.mark.parametrize("n_targets", [None, 3])
def test_regressor_round_trip(tmp_path, n_targets):
    X = sequences(n_features=3)
    y = X[:, -1, 0] * 50 + 7 if n_targets is None else X[:, -1, :] * [1, 10, 100]
    reg = RNNRegressor(cell_type="rnn_relu", bidirectional=True, num_layers=2, **FAST).fit(X, y)
    loaded = round_trip(reg, tmp_path)
    assert_same_fitted_state(reg, loaded)
    np.testing.assert_array_equal(loaded.predict(X), reg.predict(X))
    assert loaded.predict(X).shape == reg.predict(X).shape


def test_ragged_input_and_max_length(tmp_path):
    rng = np.random.RandomState(0)
    X = [rng.normal(size=(n, 2)) for n in rng.randint(3, 12, size=30)]
    y = np.array([seq[-1, 0] > 0 for seq in X])
    clf = RNNClassifier(max_length=6, readout="mean", **FAST).fit(X, y)
    loaded = round_trip(clf, tmp_path)
    np.testing.assert_array_equal(loaded.predict_proba(X), clf.predict_proba(X))
    assert loaded.predict(X).dtype == bool


def test_training_continues_as_if_never_saved(tmp_path):
    """The optimizer's state is saved too: further training matches exactly."""
    X = sequences()
    y = X[:, -1] > 0
    clf = RNNClassifier(optimizer="adamw", **FAST).fit(X, y)
    loaded = round_trip(clf, tmp_path)
    clf.partial_fit(X, y)
    loaded.partial_fit(X, y)
    np.testing.assert_array_equal(loaded.predict_proba(X), clf.predict_proba(X))
    assert len(loaded.history_) == len(clf.history_) == FAST["max_epochs"] + 1


def test_optimizer_class_parameter(tmp_path):
    X = sequences()
    reg = RNNRegressor(optimizer=torch.optim.NAdam, **FAST).fit(X, X[:, -1])
    loaded = round_trip(reg, tmp_path)
    assert loaded.optimizer is torch.optim.NAdam
    np.testing.assert_array_equal(loaded.predict(X), reg.predict(X))


def test_path_parameter(tmp_path):
    X = sequences()
    reg = RNNRegressor(checkpoint=tmp_path / "ckpt.pt", **FAST).fit(X, X[:, -1])
    loaded = round_trip(reg, tmp_path)
    assert loaded.checkpoint == tmp_path / "ckpt.pt"
    np.testing.assert_array_equal(loaded.predict(X), reg.predict(X))


def test_file_objects_and_pickle_agree(tmp_path):
    X = sequences()
    reg = RNNRegressor(**FAST).fit(X, X[:, -1])
    buffer = io.BytesIO()
    save_model(reg, buffer)
    buffer.seek(0)
    loaded = load_model(buffer)
    unpickled = pickle.loads(pickle.dumps(reg))
    np.testing.assert_array_equal(loaded.predict(X), unpickled.predict(X))


def test_archive_holds_only_data(tmp_path):
    X = sequences()
    clf = RNNClassifier(**FAST).fit(X, X[:, -1] > 0)
    save_model(clf, tmp_path / "m.zip")
    with zipfile.ZipFile(tmp_path / "m.zip") as archive:
        assert set(archive.namelist()) == {_CONFIG, _WEIGHTS, _OPTIMIZER}
        config = json.loads(archive.read(_CONFIG))
    assert config["estimator"] == "RNNClassifier"
    assert config["params"]["hidden_size"] == 6
    assert config["attributes"]["classes_"]["__ndarray__"]["data"] == [False, True]


# -- loading on another device -------------------------------------------------


@pytest.fixture
def no_cuda(monkeypatch):
    """A machine without CUDA, also when the suite runs on one with a GPU."""
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)


def test_cuda_device_param_falls_back_to_cpu(tmp_path, no_cuda):
    X = sequences()
    clf = RNNClassifier(**FAST).fit(X, X[:, -1] > 0)
    save_model(clf, tmp_path / "m.zip")

    def on_gpu(config):
        config["params"]["device"] = "cuda:0"

    edited = rewrite(tmp_path / "m.zip", edit_config=on_gpu)
    with pytest.warns(UserWarning, match="CUDA is not available here"):
        loaded = load_model(edited)
    assert loaded.device == "cpu" and loaded.net_.device == "cpu"
    np.testing.assert_array_equal(loaded.predict_proba(X), clf.predict_proba(X))


@pytest.fixture
def cuda_tagged_save():
    """torch.save that records every CPU tensor as living on cuda:0.

    This is how a state dict saved on a GPU machine looks; without
    map_location, torch.load on a CPU-only machine fails on it.
    """
    registry = torch.serialization._package_registry
    entry = (-100, lambda obj: "cuda:0" if obj.device.type == "cpu" else None, lambda o, loc: None)
    registry.append(entry)
    registry.sort(key=lambda item: item[0])
    try:
        yield
    finally:
        registry.remove(entry)


def test_weights_saved_on_gpu_load_on_cpu(tmp_path, cuda_tagged_save, no_cuda):
    X = sequences()
    reg = RNNRegressor(**FAST).fit(X, X[:, -1])
    weights = io.BytesIO()
    torch.save(reg.net_.module_.state_dict(), weights)
    optimizer = io.BytesIO()
    torch.save(reg.net_.optimizer_.state_dict(), optimizer)
    with pytest.raises(RuntimeError, match="CUDA"):
        torch.load(io.BytesIO(weights.getvalue()), weights_only=True)
    save_model(reg, tmp_path / "m.zip")

    def on_gpu(config):
        config["params"]["device"] = "cuda"

    edited = rewrite(
        tmp_path / "m.zip",
        edit_config=on_gpu,
        replace={_WEIGHTS: weights.getvalue(), _OPTIMIZER: optimizer.getvalue()},
    )
    with pytest.warns(UserWarning, match="loaded on the CPU"):
        loaded = load_model(edited)
    np.testing.assert_array_equal(loaded.predict(X), reg.predict(X))


def test_other_versions_warn(saved):
    def older(config):
        config["versions"]["torch"] = "1.0.0"

    with pytest.warns(InconsistentVersionWarning, match="saved with torch 1.0.0"):
        loaded = load_model(rewrite(saved, edit_config=older))
    assert loaded.predict(np.zeros((2, 8))).shape == (2,)


def test_device_argument(tmp_path):
    X = sequences()
    reg = RNNRegressor(device="auto", **FAST).fit(X, X[:, -1])
    loaded = round_trip(reg, tmp_path, device="cpu")
    assert loaded.device == "cpu"
    np.testing.assert_array_equal(loaded.predict(X), reg.predict(X))


# -- what save_model and load_model refuse ------------------------------------------


@pytest.fixture
def saved(tmp_path):
    X = sequences()
    clf = RNNClassifier(**FAST).fit(X, X[:, -1] > 0)
    save_model(clf, tmp_path / "m.zip")
    return tmp_path / "m.zip"


def test_save_refuses_what_it_cannot_store(tmp_path):
    X = sequences()
    with pytest.raises(NotFittedError):
        save_model(RNNClassifier(), tmp_path / "m.zip")
    with pytest.raises(TypeError, match="save_model saves sklrnn estimators"):
        save_model(LinearRegression().fit(X, X[:, 0]), tmp_path / "m.zip")
    clf = RNNClassifier(callbacks=[EpochTimer()], **FAST).fit(X, X[:, -1] > 0)
    with pytest.raises(ValueError, match="cannot store callbacks.*callbacks=None"):
        save_model(clf, tmp_path / "m.zip")
    clf.set_params(callbacks=None, random_state=np.random.RandomState(0))
    with pytest.warns(UserWarning, match="saved as None"):
        save_model(clf, tmp_path / "m.zip")
    assert load_model(tmp_path / "m.zip").random_state is None
    clf.set_params(random_state=0)
    clf.custom_ = object()  # an attribute that is not plain data
    with pytest.raises(TypeError, match="attribute custom_ holds a object"):
        save_model(clf, tmp_path / "m.zip")


def test_refuses_files_that_are_not_archives(tmp_path, saved):
    (tmp_path / "junk.zip").write_bytes(b"not a zip at all")
    with pytest.raises(ValueError, match="not an sklrnn model archive"):
        load_model(tmp_path / "junk.zip")
    with pytest.raises(ValueError, match="unknown|Not an sklrnn model archive"):
        load_model(rewrite(saved, extra={"payload.pkl": pickle.dumps(print)}))


class Boom:
    def __reduce__(self):
        return (os.system, ("echo should-never-run",))


def test_refuses_pickled_code_in_weights(saved):
    payload = io.BytesIO()
    torch.save({"rnn.weight_ih_l0": Boom()}, payload)
    with pytest.raises(ValueError, match="could not be read as plain tensors"):
        load_model(rewrite(saved, replace={_WEIGHTS: payload.getvalue()}))


@pytest.mark.parametrize(
    "edit, message",
    [
        (lambda c: c.update(estimator="LinearRegression"), "not one of sklrnn's estimators"),
        (lambda c: c.update(estimator="os.system"), "not one of sklrnn's estimators"),
        (lambda c: c.update(format="other"), "does not describe an sklrnn model"),
        (lambda c: c.update(format_version=99), "format version 99.*Upgrade sklrnn"),
        (lambda c: c["params"].update(new_param=1), "do not fit RNNClassifier"),
        (lambda c: c["params"].update(optimizer={"__optimizer__": "os"}), "not a torch.optim"),
        (lambda c: c["params"].update(lr={"__pickle__": "gASV"}), "Unknown content"),
        (lambda c: c["attributes"].update(__class__=1), "unexpected attribute '__class__'"),
        (lambda c: c["attributes"].update(predict=1), "unexpected attribute 'predict'"),
        (
            lambda c: c["attributes"].update(
                x_={"__ndarray__": {"dtype": "V8", "shape": [1], "data": [0]}}
            ),
            "does not allow",
        ),
        (
            lambda c: c["attributes"].update(
                x_={"__ndarray__": {"dtype": "<f8", "shape": [3], "data": [0]}}
            ),
            "holds 1 values for an array of shape",
        ),
        (lambda c: c["params"].update(hidden_size=7), "weights do not fit"),
    ],
)
def test_refuses_unknown_or_inconsistent_content(saved, edit, message):
    with pytest.raises(ValueError, match=message):
        load_model(rewrite(saved, edit_config=edit))
