"""save_model / load_model and checkpoints: round trips, and files nobody should trust."""

import io
import json
import os
import pickle
import struct
import tracemalloc
import warnings
import zipfile

import numpy as np
import pandas as pd
import pytest
import safetensors.torch
import sklearn.exceptions
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.exceptions import NotFittedError
from sklearn.linear_model import LinearRegression
from skorch.callbacks import Callback, EpochTimer, LRScheduler

from sklrnn import (
    InconsistentVersionWarning,
    RNNClassifier,
    RNNRegressor,
    _archive,
    load_model,
    save_model,
)
from sklrnn._persistence import ATTRIBUTES, OPTIONAL_ATTRIBUTES
from sklrnn._training import SequenceNet, read_checkpoint

FAST = dict(hidden_size=6, conv_channels=4, max_epochs=4, kernel_features=168, random_state=0)
CONFIG, WEIGHTS, OPTIMIZER = "model.json", "weights.safetensors", "optimizer.safetensors"


def sequences(n=40, T=8, n_features=None, seed=0):
    rng = np.random.RandomState(seed)
    return rng.normal(size=(n, T) if n_features is None else (n, T, n_features))


def round_trip(estimator, tmp_path, **kwargs):
    path = tmp_path / "model.zip"
    save_model(estimator, path)
    return load_model(path, **kwargs)


def members_of(path):
    with zipfile.ZipFile(path) as archive:
        return {name: archive.read(name) for name in archive.namelist()}


def write_members(path, members, compression=zipfile.ZIP_DEFLATED):
    """Write ``members``, a dict or a list of (name, bytes) that may repeat names."""
    items = members.items() if isinstance(members, dict) else members
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # zipfile's "Duplicate name"
        with zipfile.ZipFile(path, "w", compression=compression) as archive:
            for name, data in items:
                archive.writestr(name, data)
    return path


def rewrite(path, edit_config=None, replace=None, extra=None, config=CONFIG, edit_tensors=None):
    """Copy an archive with its JSON edited, tensors edited, members added or replaced."""
    members = members_of(path)
    if edit_config is not None:
        parsed = json.loads(members[config])
        edit_config(parsed)
        members[config] = json.dumps(parsed).encode()
    for name, edit in (edit_tensors or {}).items():
        tensors = safetensors.torch.load(members[name])
        edit(tensors)
        members[name] = safetensors.torch.save(tensors)
    members.update(replace or {})
    members.update(extra or {})
    return write_members(path.with_name("edited-" + path.name), members)


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
        # Refused by save_model ("the format cannot store"), though fit takes them.
        np.array(["2020-01-01", "2020-01-02", "2021-03-04T05:06:07.000000008"], "M8[ns]"),
        np.array([1, 60, 3600], "m8[s]"),
    ],
    ids=["str", "int", "float", "object", "datetime", "timedelta"],
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
    assert clf.strides_ == (2, 7, 6) and clf.kernel_sizes_ == (15, 31, 63)
    loaded = round_trip(clf, tmp_path)
    assert isinstance(loaded.strides_, tuple) and loaded.strides_ == clf.strides_
    assert isinstance(loaded.kernel_sizes_, tuple) and loaded.kernel_sizes_ == clf.kernel_sizes_
    for net in loaded.net_.module_.networks:
        assert net.front_end.strides == (2, 7, 6)
        assert net.front_end.kernel_sizes == (15, 31, 63)
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


def test_feature_names_of_a_list_of_dataframes_survive(tmp_path):
    rng = np.random.RandomState(0)
    frames = [pd.DataFrame(rng.normal(size=(5, 2)), columns=["a", "b"]) for _ in range(20)]
    clf = RNNClassifier(**FAST).fit(frames, [0, 1] * 10)
    loaded = round_trip(clf, tmp_path)
    assert loaded.feature_names_in_.tolist() == ["a", "b"]
    swapped = [f[["b", "a"]] for f in frames]
    np.testing.assert_array_equal(loaded.predict_proba(swapped), clf.predict_proba(frames))


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


@pytest.mark.parametrize("optimizer", ["adamw", "sgd", torch.optim.NAdam])
def test_training_continues_as_if_never_saved(tmp_path, optimizer):
    """The optimizer's state is saved too: further training matches exactly."""
    X = sequences()
    y = X[:, -1] > 0
    clf = RNNClassifier(optimizer=optimizer, n_networks=2, **FAST).fit(X, y)
    loaded = round_trip(clf, tmp_path)
    assert loaded.optimizer == optimizer
    clf.partial_fit(X, y)
    loaded.partial_fit(X, y)
    np.testing.assert_array_equal(loaded.predict_proba(X), clf.predict_proba(X))
    assert len(loaded.history_) == len(clf.history_) == FAST["max_epochs"] + 1


def test_a_loaded_regressor_trains_on_as_if_never_saved(tmp_path):
    # The regressor's closed-form head on the kernel features, its optimizer
    # state, target scaling and weight scale all come back: partial_fit then
    # continues exactly, noise_std_ included.
    X = sequences()
    y = X[:, -2:].sum(axis=1)
    reg = RNNRegressor(**FAST).fit(X, y, sample_weight=np.r_[np.ones(20), 2 * np.ones(20)])
    loaded = round_trip(reg, tmp_path)
    reg.partial_fit(X, y)
    loaded.partial_fit(X, y)
    np.testing.assert_array_equal(loaded.predict(X), reg.predict(X))
    np.testing.assert_array_equal(loaded.noise_std_, reg.noise_std_)


@pytest.mark.parametrize(
    "change", [dict(readout="max"), dict(hidden_size=8), dict(standardize=False), dict(dropout=0.5)]
)
def test_parameters_changed_since_the_fit_are_refused_as_another_network(tmp_path, change):
    # save_model writes get_params(): the file described another network than
    # the weights', which loaded as a model predicting otherwise (readout) or
    # not at all (hidden_size), while the original predicted as fitted.
    X, y = sequences(), np.arange(40) % 2
    clf = RNNClassifier(**dict(FAST, readout="mean")).fit(X, y)
    fitted = {key: clf.get_params()[key] for key in change}
    clf.set_params(**change)
    with pytest.raises(ValueError, match=f"changed since the fit: {next(iter(change))} from"):
        save_model(clf, tmp_path / "model.zip")
    assert not (tmp_path / "model.zip").exists()
    # Training parameters describe the next training call: saved as set.
    clf.set_params(**fitted, lr=0.1)
    loaded = round_trip(clf, tmp_path)
    assert loaded.lr == 0.1
    np.testing.assert_array_equal(loaded.predict_proba(X), clf.predict_proba(X))


@pytest.mark.parametrize(
    "optimizer, cls", [("sgd", torch.optim.SGD), (torch.optim.Adagrad, torch.optim.Adagrad)]
)
def test_an_optimizer_changed_since_the_fit_saves_and_trains_on_as_a_pickle(
    tmp_path, optimizer, cls
):
    # The file held the fitted Adam's state under optimizer="sgd", which
    # load_model then refused as malformed: save_model wrote a file it
    # could not read.
    X, y = sequences(), np.arange(40) % 2
    clf = RNNClassifier(**FAST).fit(X, y).set_params(optimizer=optimizer)
    loaded = round_trip(clf, tmp_path)
    assert loaded.optimizer == optimizer
    np.testing.assert_array_equal(loaded.predict_proba(X), clf.predict_proba(X))
    # A warm start begins the new optimizer afresh, loaded or pickled.
    unpickled = pickle.loads(pickle.dumps(clf))
    for model in (loaded, unpickled):
        model.set_params(warm_start=True, max_epochs=2).fit(X, y)
        assert type(model.net_.optimizer_) is cls
    np.testing.assert_array_equal(loaded.predict_proba(X), unpickled.predict_proba(X))


def test_file_objects_and_pickle_agree(tmp_path):
    X = sequences()
    reg = RNNRegressor(**FAST).fit(X, X[:, -1])
    buffer = io.BytesIO()
    save_model(reg, buffer)
    buffer.seek(0)
    loaded = load_model(buffer)
    unpickled = pickle.loads(pickle.dumps(reg))
    np.testing.assert_array_equal(loaded.predict(X), unpickled.predict(X))


def test_save_model_checks_its_file_before_the_work(tmp_path):
    reg = RNNRegressor(**FAST).fit(sequences(), np.zeros(40))
    for path, words in [
        ("", "is empty or names a folder"),
        (tmp_path, "is empty or names a folder"),
        (tmp_path / "missing" / "m.zip", "does not exist; create it first"),
    ]:
        with pytest.raises(ValueError, match=words):
            save_model(reg, path)
    with open(tmp_path / "text.zip", "w") as text, pytest.raises(TypeError, match="mode 'wb'"):
        save_model(reg, text)
    with pytest.raises(TypeError, match=r"\(a StringIO\) is not a binary file"):
        save_model(reg, io.StringIO())
    (tmp_path / "r.zip").write_bytes(b"")
    with open(tmp_path / "r.zip", "rb") as read_only:
        with pytest.raises(ValueError, match="is not open for writing"):
            save_model(reg, read_only)
    closed = io.BytesIO()
    closed.close()
    with pytest.raises(ValueError, match="cannot be written .*closed file"):
        save_model(reg, closed)
    # Appended, or written over longer old content, the archive is unreadable.
    (tmp_path / "old.zip").write_bytes(b"x" * 10**5)
    with open(tmp_path / "old.zip", "ab") as appending:
        with pytest.raises(ValueError, match=r"open for appending \(mode 'ab'\)"):
            save_model(reg, appending)
    with open(tmp_path / "old.zip", "r+b") as over:
        with pytest.raises(ValueError, match="holds 100000 bytes from its position on"):
            save_model(reg, over)
    with open(tmp_path / "new.zip", "w+b") as fresh:
        save_model(reg, fresh)
    assert load_model(tmp_path / "new.zip").predict(sequences()).shape == (40,)


def test_the_archive_is_json_and_safetensors(tmp_path):
    X = sequences()
    clf = RNNClassifier(**FAST).fit(X, X[:, -1] > 0)
    save_model(clf, tmp_path / "m.zip")
    members = members_of(tmp_path / "m.zip")
    assert set(members) == {CONFIG, WEIGHTS, OPTIMIZER}
    config = json.loads(members[CONFIG])
    assert config["format"] == "sklrnn-model" and config["format_version"] == 7
    assert set(config["versions"]) == {"sklrnn", "torch", "skorch", "scikit-learn"}
    assert config["params"]["hidden_size"] == 6
    assert "checkpoint" not in config["params"] and "callbacks" not in config["params"]
    assert config["attributes"]["classes_"] == {"dtype": "|b1", "values": [False, True]}
    # Any safetensors reader gets the module's state dict.
    weights = safetensors.torch.load(members[WEIGHTS])
    state = clf.net_.module_.state_dict()
    assert weights.keys() == state.keys()
    assert all(torch.equal(weights[k], state[k]) for k in state)
    exp_avg = safetensors.torch.load(members[OPTIMIZER])["0.exp_avg"]
    assert torch.equal(exp_avg, clf.net_.optimizer_.state_dict()["state"][0]["exp_avg"])


@pytest.mark.parametrize("Estimator", [RNNClassifier, RNNRegressor])
def test_every_fitted_attribute_is_in_the_schema(Estimator):
    """The explicit list of fitted attributes covers what fit sets, and no more."""
    X = pd.DataFrame(sequences())
    X.columns = [f"c{i}" for i in X.columns]
    y = X["c7"] > 0 if Estimator is RNNClassifier else X["c7"]
    model = Estimator(**FAST).fit(X, y)
    fitted = set(vars(model)) - set(model.get_params()) - {"net_", "history_"}
    # A DataFrame sets feature_names_in_; a regressor's completed fit, noise_std_.
    optional = {"feature_names_in_"} | ({"noise_std_"} if Estimator is RNNRegressor else set())
    assert optional == set(OPTIONAL_ATTRIBUTES[Estimator.__name__])
    assert fitted == set(ATTRIBUTES[Estimator.__name__]) | optional


# -- what a loaded model does not carry ------------------------------------------


def test_checkpoint_path_is_not_carried(tmp_path):
    X = sequences()
    path = tmp_path / "ckpt.zip"
    reg = RNNRegressor(checkpoint=path, **FAST).fit(X, X[:, -1])
    written = path.read_bytes()
    loaded = round_trip(reg, tmp_path)
    assert loaded.checkpoint is None
    np.testing.assert_array_equal(loaded.predict(X), reg.predict(X))
    loaded.set_params(warm_start=True).fit(X, X[:, -1])
    assert path.read_bytes() == written  # refitting the loaded model never touches it


def test_callbacks_are_not_carried(tmp_path):
    X = sequences()
    clf = RNNClassifier(callbacks=[EpochTimer()], **FAST).fit(X, X[:, -1] > 0)
    with pytest.warns(UserWarning, match="callbacks are not saved.*callbacks=None"):
        loaded = round_trip(clf, tmp_path)
    assert loaded.callbacks is None
    names = [name for name, _ in loaded.net_.callbacks_]
    assert "EpochTimer" not in names
    np.testing.assert_array_equal(loaded.predict_proba(X), clf.predict_proba(X))


@pytest.mark.parametrize(
    "param, value",
    [("checkpoint", "/tmp/victim.ckpt"), ("callbacks", [])],
)
def test_a_file_that_sets_checkpoint_or_callbacks_is_refused(saved, param, value):
    def carry(config):
        config["params"][param] = value

    with pytest.raises(ValueError, match=f"edited-m.zip.*sets the parameter {param}.*never"):
        load_model(rewrite(saved, edit_config=carry))


def test_pickle_holds_no_per_fit_state(tmp_path):
    X = sequences()
    reg = RNNRegressor(checkpoint=tmp_path / "c.zip", **FAST).fit(X, X[:, -1])
    state = reg.net_.__getstate__()
    assert not {"generator_", "interrupted_"} & set(state)
    guard = dict(reg.net_.callbacks_)["training_guard"].__getstate__()
    assert "_module_state" not in guard and "_optimizer_state" not in guard


# -- loading on another device, other versions -------------------------------------


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

    with pytest.warns(UserWarning, match="'cuda:0', which is not available here"):
        loaded = load_model(rewrite(tmp_path / "m.zip", edit_config=on_gpu))
    assert loaded.device == "cpu" and loaded.net_.device == "cpu"
    np.testing.assert_array_equal(loaded.predict_proba(X), clf.predict_proba(X))


def test_device_argument(tmp_path):
    X = sequences()
    reg = RNNRegressor(device="auto", **FAST).fit(X, X[:, -1])
    loaded = round_trip(reg, tmp_path, device="cpu")
    assert loaded.device == "cpu"
    np.testing.assert_array_equal(loaded.predict(X), reg.predict(X))


@pytest.mark.parametrize(
    "device, error, message",
    [
        (b"cpu", TypeError, "'device' parameter of load_model must be an instance of 'str'"),
        (5, TypeError, "'device' parameter of load_model"),
        ("cuda", ValueError, r"load_model\(device='cuda'\): that device is not available"),
        ("meta", ValueError, r"load_model\(device='meta'\): that device is not available"),
        ("gpu0", ValueError, "device='gpu0' is not a torch device"),
    ],
)
def test_a_device_argument_that_is_no_device_here_is_refused(
    saved, no_cuda, device, error, message
):
    # The caller's mistake, not the file's: the message does not blame it.
    with pytest.raises(error, match=message) as info:
        load_model(saved, device=device)
    assert "m.zip" not in str(info.value)


def older(config):
    config["versions"]["torch"] = "1.0.0"


def test_other_versions_warn(saved):
    # Named once: "The model in Model file '...' was saved with" said it twice.
    expected = r"^Model file .* holds a model saved with torch 1\.0\.0; installed are sklrnn"
    with pytest.warns(InconsistentVersionWarning, match=expected) as record:
        loaded = load_model(rewrite(saved, edit_config=older))
    assert loaded.predict(np.zeros((2, 8))).shape == (2,)
    warning = record[0].message
    assert warning.estimator_name == "RNNClassifier"
    assert warning.original_versions["torch"] == "1.0.0"


def test_one_filter_covers_scikit_learns_warning_and_ours(saved):
    assert issubclass(InconsistentVersionWarning, sklearn.exceptions.InconsistentVersionWarning)
    with warnings.catch_warnings():
        warnings.simplefilter("error", sklearn.exceptions.InconsistentVersionWarning)
        with pytest.raises(InconsistentVersionWarning, match="torch 1.0.0"):
            load_model(rewrite(saved, edit_config=older))


# -- files nobody should trust -----------------------------------------------------


@pytest.fixture
def saved(tmp_path):
    X = sequences()
    clf = RNNClassifier(**FAST).fit(X, X[:, -1] > 0)
    save_model(clf, tmp_path / "m.zip")
    return tmp_path / "m.zip"


@pytest.fixture
def saved_regressor(tmp_path):
    X = sequences()
    reg = RNNRegressor(**FAST).fit(X, X[:, -1])
    save_model(reg, tmp_path / "r.zip")
    return tmp_path / "r.zip"


def test_save_refuses_what_it_cannot_store(tmp_path):
    X = sequences()
    with pytest.raises(NotFittedError):
        save_model(RNNClassifier(), tmp_path / "m.zip")
    with pytest.raises(TypeError, match="save_model saves sklrnn estimators.*best_estimator_"):
        save_model(LinearRegression().fit(X, X[:, 0]), tmp_path / "m.zip")
    clf = RNNClassifier(**FAST).fit(X, X[:, -1] > 0)
    clf.set_params(random_state=np.random.RandomState(0))
    with pytest.warns(UserWarning, match="saved as None"):
        save_model(clf, tmp_path / "m.zip")
    assert load_model(tmp_path / "m.zip").random_state is None
    clf.set_params(random_state=0, device=torch.device("cpu"))
    with pytest.raises(ValueError, match="'device' parameter of RNNClassifier must be .*'str'"):
        save_model(clf, tmp_path / "m.zip")
    # A class_weight that fit and load_model refuse: the file was unreadable.
    clf.set_params(device="cpu", class_weight={"zzz": 5.0})
    with pytest.raises(ValueError, match=r"save_model: class_weight has the keys \['zzz'\]"):
        save_model(clf, tmp_path / "weights.zip")
    assert not (tmp_path / "weights.zip").exists()
    # Parameters that load_model refuses, or that failed inside skorch: the
    # first were written to a file that never loaded again.
    for name, value, error in [
        ("lr", -1.0, ValueError),
        ("batch_size", 0, ValueError),
        ("optimizer", "foo", ValueError),
        ("device", "gpu", ValueError),
        ("checkpoint", 5, ValueError),
    ]:
        clf.set_params(class_weight=None, **{name: value})
        with pytest.raises(error, match=rf"\b{name}\b"):
            save_model(clf, tmp_path / "bad.zip")
        assert not (tmp_path / "bad.zip").exists()
        clf.set_params(**{name: RNNClassifier().get_params()[name]})


class SaveEachEpoch(Callback):
    def __init__(self, estimator, path):
        self.estimator, self.path = estimator, path

    def on_epoch_end(self, net, **kwargs):
        save_model(self.estimator, self.path)


@pytest.mark.parametrize("warm", [False, True])
def test_save_refuses_a_model_being_fitted(tmp_path, warm):
    # Saved from a callback, the first fit failed on the missing n_iter_; a
    # warm start wrote a file that load_model refused ("n_iter_=4, but the
    # history records 5 epochs"), before the head was solved for the epoch.
    X = sequences()
    clf = RNNClassifier(**FAST).fit(X, X[:, -1] > 0) if warm else RNNClassifier(**FAST)
    clf.set_params(warm_start=warm, callbacks=[SaveEachEpoch(clf, tmp_path / "m.zip")])
    with pytest.raises(ValueError, match="save_model was called on RNNClassifier while it is "):
        clf.fit(X, X[:, -1] > 0)
    assert not (tmp_path / "m.zip").exists()
    if warm:  # a warm start keeps its completed epoch, as after Ctrl-C: saved
        save_model(clf.set_params(callbacks=None), tmp_path / "m.zip")
        assert load_model(tmp_path / "m.zip").n_iter_ == clf.n_iter_ == FAST["max_epochs"] + 1


def test_a_model_too_large_to_read_back_is_not_written(tmp_path, monkeypatch):
    # Reading caps each tensors member (1 GiB); a file beyond it would be
    # written, then refused by load_model and by a resumed fit. Lowered here.
    X = sequences()
    y = X[:, -1] > 0
    clf = RNNClassifier(**FAST).fit(X, y)
    weights = sum(t.numel() * t.element_size() for t in clf.net_.module_.state_dict().values())
    monkeypatch.setattr("sklrnn._archive.MAX_TENSOR_BYTES", weights - 1)
    path = tmp_path / "m.zip"
    expected = f"'weights.safetensors' would hold {weights} bytes.*could not be read back"
    with pytest.raises(ValueError, match=f"save_model's file '{path}': the member {expected}"):
        save_model(clf, path)
    assert not path.exists()
    checkpoint = tmp_path / "fit.ckpt"
    with pytest.raises(ValueError, match=f"checkpoint '{checkpoint}': the member {expected}"):
        RNNClassifier(**FAST, checkpoint=checkpoint).fit(X, y)
    assert list(tmp_path.iterdir()) == []  # neither the checkpoint nor a temporary file
    state = clf.net_.optimizer_.state.values()
    moments = sum(t.numel() * t.element_size() for s in state for t in s.values())
    monkeypatch.setattr("sklrnn._archive.MAX_TENSOR_BYTES", max(weights, moments))
    save_model(clf, path)  # at the cap: written and read back
    np.testing.assert_array_equal(load_model(path).predict_proba(X), clf.predict_proba(X))


@pytest.mark.parametrize("file", [None, 3, ["m.zip"]])
def test_a_file_that_is_neither_a_path_nor_a_file_object_is_a_type_error(saved, file):
    model, got = load_model(saved), type(file).__name__
    with pytest.raises(TypeError, match=f"file must be a path .* file object, got {got}"):
        save_model(model, file)
    with pytest.raises(TypeError, match=f"Model file must be a path .*got {got}"):
        load_model(file)


def test_a_zip_that_lists_too_many_members_is_refused_before_it_is_parsed(tmp_path, saved):
    path = write_members(tmp_path / "many.zip", [(f"{i}.bin", b"") for i in range(1000)])
    with pytest.raises(ValueError, match=r"many.zip' lists 1000 members .* at most 16 members"):
        load_model(path)


def test_the_end_record_the_zip_module_reads_is_the_one_checked(tmp_path, saved):
    data = bytearray(saved.read_bytes())
    end = len(data) - 22  # the end record, without a comment
    assert data[end : end + 4] == b"PK\x05\x06"
    # 65535 entries, and a directory offset whose bytes are the record's
    # signature: a search for the last signature would find that one, 18
    # bytes from the end, too short to be a record, and give up.
    struct.pack_into("<HH", data, end + 8, 0xFFFF, 0xFFFF)
    data[end + 16 : end + 20] = b"PK\x05\x06"
    path = tmp_path / "lying.zip"
    path.write_bytes(bytes(data))
    with pytest.raises(ValueError, match="lying.zip' lists 65535 members"):
        load_model(path)
    # A zip64 locator before the record: the zip module would take its counts.
    original = saved.read_bytes()
    locator = b"PK\x06\x07" + bytes(16)
    path.write_bytes(original[:-22] + locator + original[-22:])
    with pytest.raises(ValueError, match="lying.zip' is a zip64 archive"):
        load_model(path)


class _ReadOnly:
    """A file-like object that can be read but not seeked."""

    def __init__(self, data):
        self._data = io.BytesIO(data)

    def read(self, size=-1):
        return self._data.read(size)


def test_file_objects_that_are_not_seekable_binary_files(saved):
    with pytest.raises(ValueError, match="StringIO.*is not a binary file: read"):
        load_model(io.StringIO("PK"))
    with pytest.raises(ValueError, match="_ReadOnly.*cannot be read as a seekable binary file"):
        load_model(_ReadOnly(saved.read_bytes()))


def test_a_tensor_shape_of_too_many_dimensions_is_refused_before_its_size(saved):
    # Multiplying the dimensions of a header that declares very many of them
    # took minutes; a rank above 8 is refused first.
    header = json.dumps({"x": {"dtype": "F32", "shape": [1] * 9, "data_offsets": [0, 4]}})
    member = len(header).to_bytes(8, "little") + header.encode() + bytes(4)
    with pytest.raises(ValueError, match="the header of weights.safetensors gives 'x' no valid"):
        load_model(rewrite(saved, replace={WEIGHTS: member}))


def test_a_folder_or_fifo_is_not_read(tmp_path):
    with pytest.raises(ValueError, match="is not a regular file"):
        load_model(tmp_path)
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)  # opening it for reading would wait for a writer forever
    with pytest.raises(ValueError, match="pipe' is not a regular file"):
        load_model(fifo)


def test_non_zip_and_truncated_files(tmp_path, saved):
    junk = tmp_path / "junk.zip"
    junk.write_bytes(b"not a zip at all")
    with pytest.raises(ValueError, match=r"Model file '.*junk.zip' is not a zip archive"):
        load_model(junk)
    data = saved.read_bytes()
    for cut in (len(data) // 2, len(data) - 10):
        (tmp_path / "cut.zip").write_bytes(data[:cut])
        with pytest.raises(ValueError, match=r"cut.zip' is not a zip archive, or was cut short"):
            load_model(tmp_path / "cut.zip")
    with pytest.raises(FileNotFoundError):
        load_model(tmp_path / "missing.zip")


def test_a_damaged_member_is_named(tmp_path, saved):
    # A deflated JSON member whose compressed bytes were overwritten: zlib fails.
    members = members_of(saved)
    write_members(tmp_path / "d.zip", members)
    data = bytearray((tmp_path / "d.zip").read_bytes())
    with zipfile.ZipFile(tmp_path / "d.zip") as archive:
        info = archive.getinfo(CONFIG)
    start = info.header_offset + 30 + len(CONFIG)
    data[start : start + 40] = b"\xff" * 40
    (tmp_path / "d.zip").write_bytes(bytes(data))
    with pytest.raises(ValueError, match=r"d.zip' cannot be read: its member 'model.json' is dam"):
        load_model(tmp_path / "d.zip")


@pytest.mark.parametrize(
    "members, message",
    [
        ("extra", "unknown member 'payload.pkl'"),
        ("missing", "lacks the member 'optimizer.safetensors'"),
        ("duplicate", "holds the member 'model.json' more than once"),
    ],
)
def test_members_must_be_exactly_the_formats(tmp_path, saved, members, message):
    found = members_of(saved)
    if members == "extra":
        found = {**found, "payload.pkl": pickle.dumps(print)}
    elif members == "missing":
        del found[OPTIMIZER]
    else:  # a second model.json, which would silently win in zipfile
        forged = json.loads(found[CONFIG])
        forged["params"]["lr"] = 1e9
        found = [*found.items(), (CONFIG, json.dumps(forged).encode())]
    with pytest.raises(ValueError, match=f"Model file '.*bad.zip'.*{message}"):
        load_model(write_members(tmp_path / "bad.zip", found))


@pytest.mark.parametrize(
    "compression, name", [(zipfile.ZIP_BZIP2, "bzip2"), (zipfile.ZIP_LZMA, "lzma")]
)
def test_only_stored_and_deflate_members_are_read(tmp_path, saved, compression, name):
    path = write_members(tmp_path / "c.zip", members_of(saved), compression=compression)
    with pytest.raises(
        ValueError, match=f"c.zip'.*compressed with {name}; only stored and deflate"
    ):
        load_model(path)


def test_zip_bomb_costs_no_more_than_the_model(tmp_path, saved):
    """A deflated member is read only as far as the tensors the model needs.

    Here 8 MiB of zeros, a few kilobytes deflated, follow the real weights:
    the file is refused once the bytes its header declares are read.
    """
    members = members_of(saved)
    bomb = members[WEIGHTS] + bytes(8 * 2**20)
    path = write_members(tmp_path / "bomb.zip", {**members, WEIGHTS: bomb})
    assert path.stat().st_size < 64 * 2**10
    size = len(members[WEIGHTS]) - 8 - int.from_bytes(members[WEIGHTS][:8], "little")
    with pytest.raises(
        ValueError,
        match=rf"bomb.zip'.*weights.safetensors holds more than the {size} bytes of tensors",
    ):
        load_model(path)


def test_tensors_past_the_cap_are_refused_before_they_are_read(saved, monkeypatch):
    monkeypatch.setattr(_archive, "MAX_TENSOR_BYTES", 1024)
    with pytest.raises(ValueError, match=r"m.zip'.*'weights.safetensors' holds more than 1024"):
        load_model(saved)


def test_a_member_larger_than_the_zip_declares(tmp_path, saved):
    """A size field that lies: the data never exceeds it, and the lie is caught."""
    members = members_of(saved)
    path = write_members(tmp_path / "lie.zip", {**members, WEIGHTS: bytes(2**20)})
    data = bytearray(path.read_bytes())
    with zipfile.ZipFile(path) as archive:
        info = archive.getinfo(WEIGHTS)
        directory = data.index(b"PK\x01\x02" + data[archive.start_dir + 4 : archive.start_dir + 6])
    # Uncompressed size in the local header (offset 22) and in the central
    # directory entry (offset 24) of the member.
    struct.pack_into("<I", data, info.header_offset + 22, 100)
    entry = directory
    while data[entry + 46 : entry + 46 + len(WEIGHTS)] != WEIGHTS.encode():
        name, extra, comment = struct.unpack_from("<HHH", data, entry + 28)
        entry += 46 + name + extra + comment
    struct.pack_into("<I", data, entry + 24, 100)
    path.write_bytes(bytes(data))
    with pytest.raises(ValueError, match=r"lie.zip' cannot be read: its member 'weights.safe"):
        load_model(path)


def test_a_json_member_past_its_cap(tmp_path, saved, monkeypatch):
    monkeypatch.setattr(_archive, "MAX_JSON_BYTES", 4096)

    def pad(config):
        config["history"][0]["note"] = "x" * 5000

    with pytest.raises(ValueError, match="'model.json' holds more than 4096 bytes"):
        load_model(rewrite(saved, edit_config=pad))


def test_deep_json_nesting_is_refused_without_recursion(tmp_path, saved):
    members = members_of(saved)
    text = members[CONFIG].decode()
    deep = "[" * 100_000 + "]" * 100_000
    members[CONFIG] = text.replace('"lr": 0.001', f'"lr": {deep}').encode()
    assert deep in members[CONFIG].decode()
    with pytest.raises(ValueError, match="model.json nests arrays or objects 100002 levels deep"):
        load_model(write_members(tmp_path / "deep.zip", members))
    # Brackets inside strings are text, not nesting.
    members[CONFIG] = text.replace('"lr": 0.001', f'"lr": 0.001, "x": "{deep}"').encode()
    with pytest.raises(ValueError, match="unknown parameter 'x'"):
        load_model(write_members(tmp_path / "text.zip", members))
    # Nor in the header of a safetensors member.
    header = b'{"a": ' + b"[" * 50_000 + b"]" * 50_000 + b"}"
    members = {**members_of(saved), WEIGHTS: struct.pack("<Q", len(header)) + header}
    with pytest.raises(
        ValueError, match="header of weights.safetensors nests arrays or objects 50001 levels"
    ):
        load_model(write_members(tmp_path / "deep-header.zip", members))


def test_a_json_key_given_twice_is_refused(tmp_path, saved):
    """As with duplicate members, the last value would silently win."""
    members = members_of(saved)
    text = members[CONFIG].decode()
    members[CONFIG] = text.replace('"lr": 0.001', '"lr": 0.001, "lr": 1000000.0').encode()
    with pytest.raises(ValueError, match="model.json is not valid JSON .*'lr' appears twice"):
        load_model(write_members(tmp_path / "twice.zip", members))


def test_json_depth_ignores_escaped_quotes():
    text = json.dumps({"a": 'say "[[[" \\', "b": [[1]]}).encode()
    assert _archive._json_shape(text) == (3, 3)


@settings(max_examples=300, deadline=None)
@given(text=st.text(alphabet='[]{}"\\a', max_size=40), chunk=st.integers(1, 8))
def test_json_depth_is_the_same_whatever_the_chunks(text, chunk):
    # Strings, escapes and depth carry over from one chunk to the next.
    data = text.encode()
    assert _archive._json_shape(data, chunk) == _archive._json_shape(data, len(data) + 1)


def test_json_depth_of_a_hostile_text_costs_little_memory():
    # Checked whole, 8 MiB of quotes (a 23 kB deflated member) cost 400 MB.
    tracemalloc.start()
    try:
        assert _archive._json_shape(b'"' * _archive.MAX_JSON_BYTES) == (0, 0)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 40e6


def test_a_model_of_more_features_than_conv_channels_round_trips(tmp_path):
    # Its first block reads them through a 1x1 convolution (a bottleneck):
    # weights of another layout, which the file, pickles and a continued fit
    # all carry.
    X, y = sequences(n_features=6), np.arange(40) % 2
    model = RNNClassifier(**FAST).fit(X, y)  # conv_channels=4
    assert "front_end.convs.0.0.weight" in model.net_.module_.state_dict()
    loaded = round_trip(model, tmp_path)
    np.testing.assert_array_equal(loaded.predict_proba(X), model.predict_proba(X))
    unpickled = pickle.loads(pickle.dumps(model))
    np.testing.assert_array_equal(unpickled.predict_proba(X), model.predict_proba(X))
    loaded.set_params(warm_start=True, max_epochs=1).fit(X, y)
    assert loaded.n_iter_ == model.n_iter_ + 1


def test_unknown_format_version_is_refused(saved):
    def future(config):
        config["format_version"] = 99

    with pytest.raises(ValueError) as info:
        load_model(rewrite(saved, edit_config=future))
    message = str(info.value)
    assert "edited-m.zip' has format version 99" in message
    assert "reads format versions [7]" in message


def test_size_declared_in_the_json_is_checked_before_building(saved, monkeypatch):
    """hidden_size=30000 with small tensors: refused, no network built."""

    def huge(config):
        config["params"]["hidden_size"] = 30000

    def never(self, *args, **kwargs):
        raise AssertionError("a network was built from an unchecked file")

    monkeypatch.setattr(SequenceNet, "initialize", never)
    with pytest.raises(ValueError, match=r"needs F32 of shape \[120000, 4\]"):
        load_model(rewrite(saved, edit_config=huge))


@pytest.mark.parametrize(
    "edit, message",
    [
        (
            lambda c: c["params"].update(hidden_size=7),
            r"'rnn.weight_ih_l0' as F32 of shape \[24, 4\]",
        ),
        (
            lambda c: c["params"].update(num_layers=1000),
            "1000 recurrent layer.*holds only 34 tensors",
        ),
        (
            lambda c: c["params"].update(conv_channels=5),
            r"'front_end.convs.0.branches.0.weight' as F32 of shape \[4, 1, 15\].*\[5, 1, 15\]",
        ),
        (
            lambda c: c["attributes"].update(kernel_sizes_=[15, 31]),
            "lacks the tensor 'front_end.convs.0.branches.1.weight'",
        ),
        (
            lambda c: c["attributes"].update(n_networks_=3) or c["params"].update(n_networks=3),
            "lacks the tensor 'networks.0",
        ),
        (
            lambda c: c["attributes"].update(n_networks_=5) or c["params"].update(n_networks=5),
            "5 network.* holds only 34 tensors",
        ),
        # Parameters that disagree with the fitted attributes loaded: save_model
        # then refused the model, partial_fit trained 1 network of n_networks=3.
        (
            lambda c: c["params"].update(n_networks=10**6),
            "parameters describe another network than its fitted attributes: n_networks fr",
        ),
        (lambda c: c["attributes"].update(n_networks_=3), "n_networks from 3 to 1"),
        (lambda c: c["params"].update(kernel_features=84), r"kernel_features \(now 84\)"),
        (lambda c: c["params"].update(readout="attention"), "lacks the tensor 'attention.bias'"),
        (
            lambda c: c["attributes"].update(
                n_features_in_=3, _n_channels=3, _fitted_on_table=False
            ),
            r"'input_mean' as F32 of shape \[1\], but .* shape \[3\]",
        ),
        (
            lambda c: c["attributes"]["classes_"].update(values=[False, True, 2]),
            "classes_ holds values that are not labels of dtype bool",
        ),
    ],
)
def test_sizes_in_the_json_must_match_the_tensors(saved, edit, message):
    with pytest.raises(ValueError, match=message):
        load_model(rewrite(saved, edit_config=edit))


@pytest.mark.parametrize(
    "values, dtype",
    [([True, False], "|b1"), ([False, False], "|b1"), (["b", "a", "c"], "<U1"), ([1, 1, 2], "<i8")],
    ids=["unsorted", "duplicated", "unsorted-strings", "duplicated-ints"],
)
def test_classes_must_be_sorted_and_unique(saved, values, dtype):
    def edit(config):
        config["attributes"]["classes_"] = {"dtype": dtype, "values": values}

    with pytest.raises(
        ValueError, match="edited-m.zip': the fitted attribute classes_ is not sorted"
    ):
        load_model(rewrite(saved, edit_config=edit))


@pytest.mark.parametrize(
    "values, dtype",
    [
        (["a", "b\x00"], "<U2"),  # numpy would drop the trailing NUL
        ([0, 70000], "<f2"),  # and round 70000 to inf
        ([0.5, 2**60 + 1], "<f8"),  # and round 2**60 + 1
        ([0.0, float("inf")], "<f8"),  # labels fit refuses
    ],
)
def test_classes_must_come_back_as_written(saved, values, dtype):
    def edit(config):
        config["attributes"]["classes_"] = {"dtype": dtype, "values": values}

    with pytest.raises(ValueError, match="classes_ holds values that labels of dtype .* exactly"):
        load_model(rewrite(saved, edit_config=edit))


def test_date_keys_of_class_weight_round_trip_and_durations_are_refused(tmp_path):
    # A duration key was written as its text ("1 day, 0:00:00"), which no
    # label matched: the loaded model could not train again.
    X = sequences()
    # A nanosecond key was written as an int, which day labels read as days.
    days = np.array(["2020-01-01", "2020-01-02"], dtype="M8[D]")[np.arange(len(X)) % 2]
    for key in (pd.Timestamp("2020-01-01"), np.datetime64("2020-01-01", "ns")):
        model = RNNClassifier(**FAST, class_weight={key: 3.0}).fit(X, days)
        loaded = round_trip(model, tmp_path)
        np.testing.assert_array_equal(
            loaded.partial_fit(X, days).predict_proba(X),
            model.partial_fit(X, days).predict_proba(X),
        )
    durations = (days - days[0]).astype("m8[ns]")
    for key in (np.timedelta64(1, "D"), pd.Timedelta(days=1)):
        model = RNNClassifier(**FAST, class_weight={key: 3.0}).fit(X, durations)
        with pytest.raises(TypeError, match="class_weight has the duration .* as a key, which th"):
            save_model(model, tmp_path / "durations.zip")


def test_labels_json_cannot_hold_are_refused_both_ways(tmp_path, saved):
    # longdouble labels sent save_model into a RecursionError (their item()
    # is a longdouble again); object classes_ of numbers, which fit refuses,
    # loaded, and score then failed in scikit-learn's metrics.
    X = sequences()
    model = RNNClassifier(**FAST).fit(X, (np.arange(len(X)) % 2).astype(np.longdouble))
    with pytest.raises(TypeError, match=r"classes_ has dtype float128, which the format cannot"):
        save_model(model, tmp_path / "long.zip")
    for dtype, values in [("<f16", [0.0, 1.0]), ("|O", [0, 1])]:

        def edit(config, dtype=dtype, values=values):
            config["attributes"]["classes_"] = {"dtype": dtype, "values": values}

        with pytest.raises(
            ValueError, match="edited-m.zip': the fitted attribute classes_ (has|hold)"
        ):
            load_model(rewrite(saved, edit_config=edit))


def test_date_labels_are_counts_of_their_unit_and_never_nat(saved):
    def nat(config):
        config["attributes"]["classes_"] = {"dtype": "<M8[D]", "values": [-(2**63), 0]}

    with pytest.raises(ValueError, match="classes_ holds values that are not labels of dtype"):
        load_model(rewrite(saved, edit_config=nat))

    def generic(config):  # labels of no unit, which predict returned as None
        config["attributes"]["classes_"] = {"dtype": "<M8", "values": [0, 1]}

    with pytest.raises(ValueError, match=r"classes_ has dtype datetime64, without a unit"):
        load_model(rewrite(saved, edit_config=generic))


def test_text_labels_are_saved_as_wide_as_the_longest(tmp_path):
    # "<U1000000" loaded from a 19 kB file, and predict then returned 4 MB per
    # sequence (1.1 GB for 300). The file holds text labels as wide as the
    # longest (np.unique keeps y's width: "<U300" for "up" and "down").
    X = sequences()
    y = np.where(X[:, -1] > 0, "up", "down").astype("<U300")
    path = tmp_path / "m.zip"
    model = RNNClassifier(**FAST).fit(X, y)
    save_model(model, path)
    loaded = load_model(path)
    assert loaded.classes_.dtype == np.dtype("<U4")
    assert loaded.predict(X).tolist() == model.predict(X).tolist()

    for width in ("<U1000000", "<U2"):  # numpy would truncate "down" to "do"

        def edit(config, width=width):
            config["attributes"]["classes_"]["dtype"] = width

        with pytest.raises(ValueError, match=rf"classes_ has dtype {width}, not as wide as its"):
            load_model(rewrite(path, edit_config=edit))


def test_classes_must_match_the_heads_outputs(saved):
    def three(config):
        config["attributes"]["classes_"] = {"dtype": "<i8", "values": [0, 1, 2]}

    with pytest.raises(ValueError, match=r"'head.weight' as F32 of shape \[2, 196\].*\[3, 196\]"):
        load_model(rewrite(saved, edit_config=three))


@pytest.mark.parametrize(
    "name, value, message",
    [
        ("_y_scale", [float("nan")], "_y_scale is not a list of finite numbers"),
        ("_y_mean", [float("inf")], "_y_mean is not a list of finite numbers"),
        ("_y_scale", [0.0], "_y_scale is not positive"),
        ("_y_mean", [1.0, 2.0], r"_y_mean has shape \(2,\), not \(1,\)"),
        ("n_iter_", 7, "n_iter_=7, but the history records 4 epochs"),
        ("strides_", [1, 0, 1], "strides_ is .*not 3 integers from 1"),
        ("strides_", [1, 2**40, 1], "strides_ is .*not 3 integers from 1"),
        # a pool of 2**31 - 1 loaded, and took minutes per prediction
        ("strides_", [1, 2**31 - 1, 1], "strides_ is .*whose poolings the front end never uses"),
        ("strides_", [1, 1, 2], "strides_ is .*whose poolings the front end never uses"),
        ("kernel_sizes_", [15, 16], r"kernel_sizes_ is .*not increasing sizes out of \[15, 31"),
        ("kernel_sizes_", [31, 15], r"kernel_sizes_ is .*not increasing sizes"),
        ("kernel_sizes_", [], r"kernel_sizes_ is .*not increasing sizes"),
        ("n_outputs_", True, "n_outputs_ is True, not an integer"),
        ("_y_mean", [10**400], "_y_mean is not a list of finite numbers"),
        # fit's scale is a standard deviation, whose square is finite: a larger
        # one would turn predict's standard deviations into inf
        ("_y_scale", [1e200], "_y_scale is too large for its square"),
        ("noise_std_", [1e200], "noise_std_ is too large for the target scale"),
        ("_weight_mean", 0.0, "_weight_mean is 0.0, not a positive finite number"),
        ("_weight_mean", [1.0], r"_weight_mean is \[1.0\], not a positive finite number"),
        ("_weight_mean", 10**400, "_weight_mean is 1000.*, not a positive finite number"),
    ],
)
def test_fitted_attributes_are_checked(saved_regressor, name, value, message):
    def edit(config):
        config["attributes"][name] = value

    with pytest.raises(ValueError, match=message):
        load_model(rewrite(saved_regressor, edit_config=edit))


def test_non_finite_weights_are_refused(saved):
    def poison(tensors):
        tensors["head.bias"][0] = float("nan")

    with pytest.raises(ValueError, match="weights.safetensors holds non-finite values.*head.bias"):
        load_model(rewrite(saved, edit_tensors={WEIGHTS: poison}))

    def negative_scale(tensors):
        tensors["input_scale"][0] = -1.0

    with pytest.raises(ValueError, match="a scale 'input_scale' that is not positive"):
        load_model(rewrite(saved, edit_tensors={WEIGHTS: negative_scale}))

    # The kernel features' scales divide too: 0 loaded, then every
    # prediction was "non-finite ... refit it"; -1 predicted other numbers.
    for value in (0.0, -1.0):

        def kernel_scale(tensors, value=value):
            tensors["kernels.feature_scale"][0] = value

        with pytest.raises(ValueError, match="scale 'kernels.feature_scale' that is not positive"):
            load_model(rewrite(saved, edit_tensors={WEIGHTS: kernel_scale}))


@pytest.mark.parametrize(
    "param, value, message",
    [
        ("batch_size", 0, "'batch_size' parameter of RNNClassifier must be an int in the range"),
        ("lr", float("nan"), "'lr' parameter of RNNClassifier"),
        ("cell_type", "transformer", "'cell_type' parameter"),
        ("hidden_size", 6.0, "'hidden_size' parameter"),
        ("optimizer", {"torch.optim": "__builtins__"}, "is not a torch.optim optimizer"),
        ("class_weight", [["a", "heavy"]], "parameter class_weight is malformed"),
        # weights that fit refuses, and a label twice (the last one won)
        ("class_weight", [["a", -1.0]], "parameter class_weight is malformed"),
        ("class_weight", [["a", float("inf")]], "parameter class_weight is malformed"),
        ("class_weight", [["a", 1.0], ["a", 5.0]], "parameter class_weight is malformed"),
        ("class_weight", [[True, 2.0], [1, 3.0]], "parameter class_weight is malformed"),
        # keys that are no classes, beside a class left out: loaded, then fit refused them
        ("class_weight", [["zzz", 5.0]], r"class_weight has the keys \['zzz'\], which are not"),
        ("lr", {"__reduce__": "os.system"}, "parameter lr is malformed"),
        # torch.optim classes that cannot train the model: the check fit makes
        ("optimizer", {"torch.optim": "LBFGS"}, "takes lr and weight_decay, got LBFGS"),
        ("optimizer", {"torch.optim": "Optimizer"}, "takes lr and weight_decay, got Optimizer"),
        (
            "hidden_size",
            True,
            "'hidden_size' parameter of RNNClassifier must be an int, got the bool True",
        ),
    ],
)
def test_parameters_are_validated_on_load(saved, param, value, message):
    def edit(config):
        config["params"][param] = value

    with pytest.raises(ValueError, match=f"edited-m.zip': .*{message}"):
        load_model(rewrite(saved, edit_config=edit))


@pytest.mark.parametrize(
    "edit, message",
    [
        (lambda c: c.update(estimator="LinearRegression"), "not one of sklrnn's estimators"),
        (lambda c: c.update(estimator="_BaseRNN"), "not one of sklrnn's estimators"),
        (lambda c: c.update(estimator=["RNNClassifier"]), "not one of sklrnn's estimators"),
        (lambda c: c.update(estimator={"a": 1}), "not one of sklrnn's estimators"),
        (lambda c: c.update(format="other"), "describes 'other', not an 'sklrnn-model' file"),
        (lambda c: c.update(extra=1), "unknown field 'extra'"),
        (lambda c: c.pop("history"), "lacks the field 'history'"),
        (lambda c: c["params"].update(new_param=1), "unknown parameter 'new_param'"),
        (lambda c: c["attributes"].update(__class__=1), "an unknown one, '__class__'"),
        (lambda c: c["attributes"].pop("classes_"), "no 'classes_' among the fitted attributes"),
        (lambda c: c["history"][1].update(epoch=7), "row 1 of the training history is not epoch 2"),
        (lambda c: c["history"][0].update(train_loss="low"), "train_loss='low' in epoch 1"),
        # an epoch restored by early stopping is one trained by then
        (lambda c: c["history"][0].update(best_epoch=2), "best_epoch='2' in epoch 1"),
        (lambda c: c["history"][1].update(best_epoch=0), "best_epoch='0' in epoch 2"),
        (lambda c: c.update(versions=["torch"]), "versions in model.json are malformed"),
    ],
)
def test_refuses_unknown_or_inconsistent_content(saved, edit, message):
    with pytest.raises(ValueError, match=message):
        load_model(rewrite(saved, edit_config=edit))


def test_a_classifier_file_with_a_regressors_attribute_is_refused(saved, saved_regressor):
    # noise_std_ is optional for a regressor only: a classifier never has one.
    noise = json.loads(members_of(saved_regressor)[CONFIG])["attributes"]["noise_std_"]

    def carry(config):
        config["attributes"]["noise_std_"] = noise

    with pytest.raises(
        ValueError, match="edited-m.zip.*an unknown one, 'noise_std_'.*of RNNClassifier"
    ):
        load_model(rewrite(saved, edit_config=carry))


class Boom:
    def __reduce__(self):
        return (os.system, ("echo should-never-run",))


def test_refuses_pickled_code_in_place_of_tensors(saved):
    payload = io.BytesIO()
    torch.save({"rnn.weight_ih_l0": Boom()}, payload)
    with pytest.raises(ValueError, match="weights.safetensors declares a header of .* bytes, more"):
        load_model(rewrite(saved, replace={WEIGHTS: payload.getvalue()}))


def test_a_safetensors_header_that_lies_about_its_data(saved):
    data = members_of(saved)[WEIGHTS]
    with pytest.raises(ValueError, match="ends after .* of the .* bytes of tensors its header"):
        load_model(rewrite(saved, replace={WEIGHTS: data[:-4]}))


@pytest.mark.parametrize(
    "edit, message",
    [
        (
            lambda c: c["optimizer"]["state"][0][1].pop("exp_avg"),
            r"state of parameter 0 has the entries \['exp_avg_sq', 'step'\]",
        ),
        (
            lambda c: c["optimizer"]["param_groups"][0].update(lr="fast"),
            "optimizer setting lr=fast does not fit",
        ),
        (
            lambda c: c["optimizer"]["param_groups"][0].update(params=[0]),
            "optimizer setting params=",
        ),
        (lambda c: c["optimizer"]["state"][0].__setitem__(0, 999), "names no parameter: 999"),
        (lambda c: c["optimizer"]["state"].append([0, {}]), "20 entries for 19 parameters"),
        # ints beyond float64 raised OverflowError
        (
            lambda c: c["optimizer"]["param_groups"][0].update(lr=10**400),
            "optimizer setting lr=1000",
        ),
        (
            lambda c: c["optimizer"]["param_groups"][0].update(initial_lr=10**400),
            "optimizer setting initial_lr=1000.* is not one the format stores",
        ),
    ],
)
def test_optimizer_state_is_checked(saved, edit, message):
    with pytest.raises(ValueError, match=message):
        load_model(rewrite(saved, edit_config=edit))


@pytest.mark.parametrize(
    "scheduler, options, optimizer",
    [
        (torch.optim.lr_scheduler.StepLR, {"step_size": 1}, "adam"),
        (torch.optim.lr_scheduler.OneCycleLR, {"max_lr": 0.01, "total_steps": 20}, "adam"),
        (torch.optim.lr_scheduler.CyclicLR, {"base_lr": 1e-3, "max_lr": 1e-2}, "sgd"),
        # 8 steps (4 epochs of 2 batches) end on the learning rate's peak,
        # where this momentum is 0 again: the buffers stay.
        (
            torch.optim.lr_scheduler.CyclicLR,
            {"base_lr": 1e-3, "max_lr": 1e-2, "base_momentum": 0.0, "step_size_up": 8},
            "rmsprop",
        ),
    ],
)
def test_a_model_trained_with_a_torch_scheduler_saves_and_loads(
    tmp_path, scheduler, options, optimizer
):
    # The schedulers add settings to the optimizer's groups (initial_lr,
    # OneCycleLR's max_lr...) and OneCycleLR cycles Adam's betas: load_model
    # refused the files save_model wrote of such models. CyclicLR cycles
    # SGD's and RMSprop's momentum (0 in the estimator), which leaves
    # momentum buffers in the state: refused too.
    X = sequences()
    callback = LRScheduler(scheduler, step_every="batch", **options)
    model = RNNClassifier(**FAST, optimizer=optimizer, lr_schedule=None, callbacks=[callback])
    model.fit(X, np.arange(len(X)) % 2)
    if "base_momentum" in options:
        assert model.net_.optimizer_.param_groups[0]["momentum"] == 0.0
    with pytest.warns(UserWarning, match="callbacks are not saved"):
        save_model(model, tmp_path / "m.zip")
    loaded = load_model(tmp_path / "m.zip")
    np.testing.assert_array_equal(loaded.predict_proba(X), model.predict_proba(X))
    groups = loaded.net_.optimizer_.param_groups
    assert all(group["lr"] == loaded.lr and "initial_lr" in group for group in groups)
    # A scheduler set again starts over (built at the history's epochs, it
    # scaled the loaded lr as if the schedule had reached it).
    callback = LRScheduler(scheduler, step_every="batch", **options)
    loaded.set_params(callbacks=[callback]).partial_fit(X, np.arange(len(X)) % 2)
    steps = loaded.history_[-1, "train_batch_count"]
    expected = callback.simulate(steps + 1, loaded.lr)[-1]  # the rate after its steps
    assert loaded.net_.optimizer_.param_groups[0]["lr"] == pytest.approx(expected, rel=1e-12)


def test_optimizer_settings_come_from_the_parameters(saved):
    """A file's group settings must be the parameters'; lr and weight decay are not used.

    Training sets those two from the estimator's parameters, so that the
    schedule's last learning rate in a file may differ; a negative one there
    must not reach training.
    """

    def edit(group):
        return lambda c: c["optimizer"]["param_groups"][0].update(group)

    with pytest.raises(ValueError, match=r"optimizer setting betas=\[5.0, 5.0\] does not fit"):
        load_model(rewrite(saved, edit_config=edit({"betas": [5.0, 5.0]})))
    with pytest.raises(ValueError, match="optimizer setting eps=-1.0 does not fit"):
        load_model(rewrite(saved, edit_config=edit({"eps": -1.0})))
    with pytest.raises(ValueError, match=r"optimizer setting max_lr=fast is not one the format"):
        load_model(rewrite(saved, edit_config=edit({"max_lr": "fast"})))
    message = r"groups lack the settings \['eps'\] of \['amsgrad'"
    with pytest.raises(ValueError, match=message):
        load_model(
            rewrite(saved, edit_config=lambda c: c["optimizer"]["param_groups"][0].pop("eps"))
        )
    loaded = load_model(rewrite(saved, edit_config=edit({"lr": -100.0, "weight_decay": 7.0})))
    groups = loaded.net_.optimizer_.param_groups
    assert [group["lr"] for group in groups] == [loaded.lr] * 2
    # The front end's convolutions (the group edited), which the classifier
    # leaves out of the weight decay, then the other weights.
    assert [group["weight_decay"] for group in groups] == [0.0, loaded.weight_decay]


@pytest.mark.parametrize(
    "key, value, message",
    [
        ("step", -1.0, r"'step' of parameter 0 .*\(it is a whole number >= 0\)"),
        ("step", 2.5, r"'step' of parameter 0 .*\(it is a whole number >= 0\)"),
        ("exp_avg_sq", -1.0, r"'exp_avg_sq' of parameter 0 .*\(it is never negative\)"),
    ],
)
def test_optimizer_state_values_out_of_range_are_refused(saved, key, value, message):
    # A step of -1 made Adam divide by zero at the next step, a negative
    # second moment made training diverge.
    def edit(tensors):
        tensors[f"0.{key}"] = torch.full_like(tensors[f"0.{key}"], value)

    with pytest.raises(ValueError, match=message):
        load_model(rewrite(saved, edit_tensors={OPTIMIZER: edit}))


def test_weights_of_another_dtype_are_refused(saved):
    # Of the right shape, integers loaded as the module's float32 weights.
    def integers(tensors):
        tensors["head.bias"] = tensors["head.bias"].round().long()

    message = r"weights.safetensors holds 'head.bias' as I64 of shape \[2\], but .* needs F32"
    with pytest.raises(ValueError, match=message):
        load_model(rewrite(saved, edit_tensors={WEIGHTS: integers}))


def test_optimizer_tensors_of_the_wrong_shape(saved):
    def wrong(tensors):
        tensors["0.exp_avg"] = torch.zeros(3)

    with pytest.raises(
        ValueError, match=r"optimizer.safetensors holds '0.exp_avg' as F32 of shape \[3\]"
    ):
        load_model(rewrite(saved, edit_tensors={OPTIMIZER: wrong}))


# -- checkpoints are read the same way ------------------------------------------------------


CKPT_JSON = "checkpoint.json"


class _InterruptAtEpoch(Callback):
    """As Ctrl-C during the given epoch's training."""

    def __init__(self, epoch):
        self.epoch = epoch

    def on_batch_end(self, net, training=False, **kwargs):
        if training and len(net.history) == self.epoch:
            raise KeyboardInterrupt


@pytest.fixture
def interrupted(tmp_path):
    """A fit interrupted after 2 of 5 epochs, its checkpoint, and how to resume it."""
    X = sequences()
    y = X[:, -1] > 0
    params = dict(FAST, max_epochs=5, early_stopping=True, validation_fraction=0.2)
    path = tmp_path / "fit.ckpt"
    with pytest.raises(KeyboardInterrupt):
        RNNClassifier(**params, checkpoint=path, callbacks=[_InterruptAtEpoch(3)]).fit(X, y)
    assert read_checkpoint(path).epochs_left == 3

    def resume(checkpoint, **extra):
        return RNNClassifier(**{**params, **extra}, checkpoint=checkpoint, warm_start=True).fit(
            X, y
        )

    return path, resume


def test_the_interrupted_fit_resumes(interrupted):
    path, resume = interrupted
    model = resume(path)
    assert model.n_iter_ == 5
    # The resumed early-stopping state, best weights included, served that
    # training call alone: the net keeps no copy of it for its pickle.
    assert dict(model.net_.callbacks_)["checkpoint"].resume is None
    assert not any(k.startswith("callbacks__checkpoint") for k in vars(model.net_))


@pytest.mark.parametrize(
    "edit, message",
    [
        (
            lambda c: c.update(epochs_left=10**12),
            "has 1000000000000 epochs left to train, more than",
        ),
        (lambda c: c.update(epochs_left=-1), "epochs_left=-1 is not a count"),
        (lambda c: c.update(finished=1), "finished=1 is malformed"),
        (lambda c: c.update(finished=True), "finished=True is malformed"),  # epochs left
        (lambda c: c.update(format_version=5), "has format version 5"),
        (lambda c: c.update(fingerprint="0" * 64), "other data or with other parameters"),
        # JSON inside the fingerprint's string: too deep for json, or params of int keys
        (
            lambda c: c.update(fingerprint="[" * 100_000 + "]" * 100_000),
            "other data or with other parameters",
        ),
        (
            lambda c: c.update(fingerprint='{"estimator": "RNNClassifier", "params": [[1, 2]]}'),
            "other data or with other parameters",
        ),
        (lambda c: c.update(early_stopping={"misses": "x"}), "early-stopping state is malformed"),
        (lambda c: c["history"][0].update(epoch=0), "row 0 of the training history"),
        # counters beyond the floats, which the schedule and early stopping compute with
        (lambda c: c["lr_schedule"].update(step=10**400), "schedule state is malformed"),
        (lambda c: c["lr_schedule"].update(total_steps=-1), "schedule state is malformed"),
        (lambda c: c["lr_schedule"].pop("total_steps"), "schedule state is malformed"),
        (
            lambda c: c["early_stopping"].update(dynamic_threshold=10**400),
            "early-stopping state is malformed",
        ),
        (lambda c: c["early_stopping"].update(best_epoch=9), "early-stopping state is malformed"),
        # A best epoch of 0 beside the best weights: the fit resumed, and wrote
        # a checkpoint and a model whose history load_model refused.
        (
            lambda c: c["early_stopping"].update(best_epoch=0),
            "early-stopping state is malformed .*best epoch and the member best_weights",
        ),
    ],
)
def test_malformed_checkpoints_are_named(interrupted, edit, message):
    path, resume = interrupted
    edited = rewrite(path, edit_config=edit, config=CKPT_JSON)
    with pytest.raises(ValueError, match=f"edited-fit.ckpt.*{message}|{message}.*edited-fit.ckpt"):
        resume(edited)


def test_checkpoint_epochs_left_are_bounded_by_max_epochs(interrupted):
    path, resume = interrupted
    with pytest.raises(ValueError, match="3 epochs left to train, more than the 2 epochs"):
        resume(path, max_epochs=2)


@pytest.mark.parametrize("member", ["weights.safetensors", "best_weights.safetensors"])
def test_checkpoint_tensors_are_checked(interrupted, member):
    path, resume = interrupted

    def poison(tensors):
        tensors["head.bias"][0] = float("inf")

    with pytest.raises(ValueError, match=f"Checkpoint .*{member} holds non-finite values"):
        resume(rewrite(path, edit_tensors={member: poison}))

    def wider(tensors):
        tensors["head.bias"] = torch.zeros(5)

    with pytest.raises(ValueError, match=rf"{member} holds 'head.bias' as F32 of shape \[5\]"):
        resume(rewrite(path, edit_tensors={member: wider}))


@pytest.mark.parametrize("member", ["weights.safetensors", "best_weights.safetensors"])
def test_checkpoint_statistics_are_checked(interrupted, member):
    path, resume = interrupted

    def zero_scale(tensors):
        tensors["input_scale"][0] = 0.0

    with pytest.raises(ValueError, match=f"fit.ckpt.*{member} holds a scale 'input_scale'"):
        resume(rewrite(path, edit_tensors={member: zero_scale}))


@pytest.mark.parametrize("name, label", [("generator", "shuffling"), ("dropout", "dropout")])
def test_checkpoint_generator_states_are_checked_before_loading(interrupted, name, label):
    """A generator state torch would refuse only when set, after the weights were loaded."""
    path, resume = interrupted

    def zero(tensors):
        tensors[name] = torch.zeros_like(tensors[name])

    with pytest.raises(
        ValueError, match=f"fit.ckpt.*state of the {label} generator in rng.safetensors"
    ):
        resume(rewrite(path, edit_tensors={"rng.safetensors": zero}))


def test_a_checkpoint_replaced_before_it_is_restored_is_refused(interrupted, monkeypatch):
    """Another fit writing the same path between reading and restoring: not mixed in."""
    import shutil

    from sklrnn._training import Checkpoint

    path, resume = interrupted
    other = path.with_name("other.ckpt")
    X = sequences(seed=1)
    with pytest.raises(KeyboardInterrupt):
        # Another fit's checkpoint, interrupted at once.
        RNNClassifier(**FAST, checkpoint=other, callbacks=[_InterruptAtEpoch(2)]).fit(
            X, X[:, 0] > 0
        )
    original = Checkpoint.restore

    def swapped(self, *args, **kwargs):
        shutil.copy(other, path)
        return original(self, *args, **kwargs)

    monkeypatch.setattr(Checkpoint, "restore", swapped)
    with pytest.raises(ValueError, match="fit.ckpt' changed since this fit read it"):
        resume(path)


def test_a_checkpoint_path_that_cannot_be_a_file_is_refused_before_training(tmp_path):
    X = sequences()
    y = X[:, -1] > 0
    for path, message in [
        (tmp_path, "is empty or names a folder"),
        ("", "is empty or names a folder"),
        (tmp_path / "missing" / "fit.ckpt", "the folder .*missing' does not exist"),
    ]:
        with pytest.raises(ValueError, match=f"checkpoint=.*{message}"):
            RNNClassifier(**FAST, checkpoint=path).fit(X, y)
    with pytest.raises(ValueError, match="is not a regular file"):
        RNNClassifier(**FAST, checkpoint=tmp_path, warm_start=True).fit(X, y)


def test_checkpoint_archive_checks(interrupted, tmp_path):
    path, resume = interrupted
    members = members_of(path)
    bad = write_members(tmp_path / "bad.ckpt", {**members, "extra.bin": b""})
    with pytest.raises(ValueError, match=r"Checkpoint '.*bad.ckpt' holds the unknown member"):
        resume(bad)
    rng = safetensors.torch.load(members["rng.safetensors"])
    rng["generator"] = rng["generator"][:10]
    bad = write_members(
        tmp_path / "rng.ckpt", {**members, "rng.safetensors": safetensors.torch.save(rng)}
    )
    with pytest.raises(ValueError, match="rng.safetensors holds 'generator' as U8 of shape"):
        resume(bad)


@pytest.mark.parametrize(
    "fixture, edit, message",
    [
        # saved was fitted on a table of 8 steps: one channel per step
        ("saved", dict(_n_channels=2), "a table was fitted, but _n_channels is 2, not 1"),
        ("saved", dict(_fitted_on_table=False), "n_features_in_=8 differs from _n_channels"),
        (
            "saved",
            dict(feature_names_in_=["a", "b"]),
            "feature_names_in_ has 2 names for 8 features",
        ),
        (
            "saved_regressor",
            dict(n_outputs_=2, _y_mean=[0.0, 0.0], _y_scale=[1.0, 1.0], noise_std_=[1.0, 1.0]),
            "a 1-D target has n_outputs_=2",
        ),
        ("saved_regressor", dict(noise_std_=[-1.0]), "noise_std_ is negative"),
    ],
)
def test_fitted_attributes_must_agree_with_each_other(request, fixture, edit, message):
    path = request.getfixturevalue(fixture)
    edited = rewrite(path, edit_config=lambda config: config["attributes"].update(edit))
    with pytest.raises(
        ValueError, match=rf"edited-.\.zip': the fitted attributes do not agree: .*{message}"
    ):
        load_model(edited)
