"""The estimators as feature extractors: transform, feature names, recurrent states."""

import pickle
import tracemalloc

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp
import torch
from scipy.special import softmax
from sklearn.cluster import KMeans
from sklearn.exceptions import NotFittedError
from sklearn.linear_model import LogisticRegression, Ridge
from sklearn.metrics import adjusted_rand_score
from sklearn.neighbors import KNeighborsClassifier
from sklearn.pipeline import make_pipeline

from sklrnn import RNNClassifier, RNNRegressor, pad_sequences

SMALL = dict(hidden_size=6, conv_channels=4, kernel_features=168, batch_size=8, random_state=0)


def make_bumps(n=60, T=16, seed=0):
    """Noise with a bump in the first (class 0) or the second half (class 1)."""
    rng = np.random.RandomState(seed)
    y = np.arange(n) % 2
    X = 0.3 * rng.normal(size=(n, T))
    start = np.where(y == 0, 2, T // 2 + 2)
    for i in range(n):
        X[i, start[i] : start[i] + 4] += 2.0
    return X, y


def make_ragged(n=14, n_features=2, seed=0):
    """Sequences of 3 to 40 steps; the first batch of 8 shares one length."""
    rng = np.random.RandomState(seed)
    lengths = [20] * 8 + list(rng.randint(3, 41, size=n - 8))
    seqs = [rng.normal(size=(k, n_features)) for k in lengths]
    return seqs, np.array([s[:, 0].mean() for s in seqs])


def head_proba(Z, head):
    """Class probabilities from features ``Z`` through a linear ``head``."""
    weight, bias = head.weight.detach().numpy(), head.bias.detach().numpy()
    return softmax(Z @ weight.T + bias, axis=1)


@pytest.fixture(scope="module")
def bumps_classifier():
    X, y = make_bumps()
    return RNNClassifier(**SMALL, max_epochs=30).fit(X, y), X, y


# -- transform: what the head reads ---------------------------------------------


def test_transform_is_what_the_head_reads(bumps_classifier):
    clf, X, _ = bumps_classifier
    Z = clf.transform(X)
    # The random kernels' features, the front end's mean (one per channel),
    # then the recurrent readout: bidirectional, "mean_last": 2 directions x
    # (mean, last) per unit.
    assert Z.shape == (len(X), 168 + clf.conv_channels + 4 * clf.hidden_size)
    assert Z.dtype == np.float64
    proba = head_proba(Z, clf.net_.module_.head)
    np.testing.assert_allclose(proba, clf.predict_proba(X), atol=1e-5)


@pytest.mark.parametrize(
    "params, width",
    [
        # 168 kernel features, conv_channels=4 front-end means, then
        # hidden_size=6 units per direction and summary.
        (dict(readout="last", bidirectional=False), 168 + 4 + 6),
        (dict(readout="mean", bidirectional=True), 168 + 4 + 12),
        (dict(readout="mean_last", bidirectional=True, num_layers=2), 168 + 4 + 24),
        (dict(readout="mean", bidirectional=True, conv_channels=0), 168 + 12),
        (dict(readout="mean", bidirectional=True, kernel_features=0), 4 + 12),
    ],
)
def test_transform_width_and_feature_names(params, width):
    X, y = make_bumps(n=24)
    reg = RNNRegressor(**{**SMALL, **params}, max_epochs=1).fit(X, y.astype(float))
    assert reg.transform(X).shape == (24, width)
    names = reg.get_feature_names_out()
    assert names.tolist() == [f"rnnregressor{i}" for i in range(width)]
    assert names.dtype == object


def test_ensemble_embeddings_are_concatenated_in_network_order():
    X, y = make_bumps(n=40)
    clf = RNNClassifier(**SMALL, n_networks=3, max_epochs=2).fit(X, y)
    Z = clf.transform(X)
    networks = clf.net_.module_.networks
    width = networks[0].embedding_size
    assert Z.shape == (40, 3 * width)
    assert len(clf.get_feature_names_out()) == 3 * width
    X_t, lengths = torch.as_tensor(X[..., None], dtype=torch.float32), torch.full((40,), 16)
    probas = []
    for k, network in enumerate(networks):
        with torch.no_grad():
            own = network.eval().embed(X_t, lengths).numpy()
        block = Z[:, k * width : (k + 1) * width]
        np.testing.assert_allclose(block, own, atol=1e-5)
        probas.append(head_proba(block, network.head))
    # Each block feeds its own network's head; their mean is predict_proba.
    np.testing.assert_allclose(np.mean(probas, axis=0), clf.predict_proba(X), atol=1e-5)


def test_set_output_pandas_and_dataframe_input(bumps_classifier):
    clf, X, _ = bumps_classifier
    frame = pd.DataFrame(X, index=[f"s{i}" for i in range(len(X))])
    expected = clf.transform(X)
    clf = pickle.loads(pickle.dumps(clf)).set_output(transform="pandas")
    out = clf.transform(frame)
    assert isinstance(out, pd.DataFrame)
    assert out.columns.tolist() == clf.get_feature_names_out().tolist()
    assert out.index.tolist() == frame.index.tolist()
    np.testing.assert_array_equal(out.to_numpy(), expected)
    # Only transform is wrapped: predictions stay arrays of labels.
    assert isinstance(clf.predict(frame), np.ndarray)


def test_fit_transform_is_fit_then_transform():
    X, y = make_bumps(n=40)
    Z = RNNClassifier(**SMALL, max_epochs=3).fit_transform(X, y)
    clf = RNNClassifier(**SMALL, max_epochs=3).fit(X, y)
    np.testing.assert_array_equal(Z, clf.transform(X))


def test_transform_does_not_depend_on_batching_chunking_or_padding(monkeypatch):
    seqs, y = make_ragged(n=30)
    reg = RNNRegressor(**SMALL, max_epochs=2).fit(seqs, y)
    full = reg.transform(seqs)
    assert np.ptp(full, axis=0).min() > 0  # every feature varies: the test can fail
    # Sequences of other lengths share batches differently in each call:
    # float32 rounding (the docstring of batch_size).
    for k in (1, 7, 8, 9, 19):
        np.testing.assert_allclose(reg.transform(seqs[:k]), full[:k], rtol=1e-6, atol=1e-7)
        np.testing.assert_allclose(reg.transform(seqs[-k:]), full[-k:], rtol=1e-6, atol=1e-7)
    one_by_one = np.vstack([reg.transform([s]) for s in seqs])
    np.testing.assert_allclose(one_by_one, full, rtol=1e-5, atol=1e-6)
    for max_length in (41, 500):
        padded = pad_sequences(seqs, max_length=max_length)
        np.testing.assert_allclose(reg.transform(padded), full, rtol=1e-5, atol=1e-6)
    monkeypatch.setattr("sklrnn._base._PREDICT_CHUNK_VALUES", 2 * 8 * 41)  # 16 per chunk
    padded = pad_sequences(seqs, max_length=41)
    np.testing.assert_array_equal(reg.transform(padded), reg.transform(list(padded)))


# -- scikit-learn models on the embeddings --------------------------------------


def test_pipeline_fits_the_network_on_y_then_a_linear_probe():
    X, y = make_bumps()
    X_test, y_test = make_bumps(n=40, seed=1)
    pipe = make_pipeline(RNNClassifier(**SMALL, max_epochs=30), LogisticRegression())
    pipe.fit(X, np.where(y == 1, "late", "early"))
    network, probe = pipe[0], pipe[-1]
    assert network.classes_.tolist() == ["early", "late"]
    assert probe.coef_.shape == (1, network.transform(X).shape[1])
    assert pipe.score(X_test, np.where(y_test == 1, "late", "early")) >= 0.9
    # The probe reads the network's features under their names.
    assert pipe[:-1].get_feature_names_out().tolist() == network.get_feature_names_out().tolist()


def test_nearest_neighbours_and_clusters_on_embeddings(bumps_classifier):
    clf, X, y = bumps_classifier
    X_test, y_test = make_bumps(n=40, seed=1)
    knn = KNeighborsClassifier(n_neighbors=1).fit(clf.transform(X), y)
    assert knn.score(clf.transform(X_test), y_test) >= 0.9
    labels = KMeans(n_clusters=2, n_init=5, random_state=0).fit_predict(clf.transform(X_test))
    assert adjusted_rand_score(y_test, labels) >= 0.6


def test_regressor_features_in_a_pipeline_with_ragged_input():
    seqs, y = make_ragged(n=30)
    pipe = make_pipeline(RNNRegressor(**SMALL, max_epochs=2), Ridge()).fit(seqs, y)
    assert pipe.predict(seqs[:5]).shape == (5,)
    np.testing.assert_allclose(pipe.predict(seqs[:5]), pipe.predict(seqs)[:5], atol=1e-10)


# -- recurrent states -------------------------------------------------------------


@pytest.mark.parametrize(
    "lengths, params, strides",
    [
        ([40, 40, 3, 17, 25, 1, 9], {}, (1, 3, 2)),  # 6 input steps per recurrent step
        ([700, 700, 30, 233, 1, 2, 650], {}, (2, 7, 7)),  # strided first convolution
        ([12, 12, 3, 7], dict(conv_channels=0), (1, 2, 1)),  # no front end: no pooling
    ],
)
def test_recurrent_states_have_values_at_valid_steps_only(lengths, params, strides):
    rng = np.random.RandomState(0)
    seqs = [rng.normal(size=(k, 2)) for k in lengths]
    y = rng.normal(size=len(seqs))
    reg = RNNRegressor(**{**SMALL, **params}, max_epochs=1).fit(seqs, y)
    assert reg.strides_ == strides
    factor = 1 if params else int(np.prod(strides))
    states = reg.recurrent_states(seqs)
    n_valid = (~np.isnan(states).all(axis=2)).sum(axis=1)
    np.testing.assert_array_equal(n_valid, -(-np.array(lengths) // factor))
    assert states.shape == (len(seqs), n_valid.max(), 2 * reg.hidden_size)
    # Valid steps are leading and complete; the rest is NaN in every unit.
    for i, k in enumerate(n_valid):
        assert np.isfinite(states[i, :k]).all() and np.isnan(states[i, k:]).all()
    # The counts are the front end's own.
    if not params:
        front_end = reg.net_.module_.front_end.eval()
        X_t = torch.as_tensor(pad_sequences(seqs, fill_value=0.0), dtype=torch.float32)
        with torch.no_grad():
            _, steps = front_end(X_t, torch.as_tensor(lengths))
        np.testing.assert_array_equal(steps.numpy(), n_valid)


def test_recurrent_states_do_not_depend_on_padding_batching_or_chunking(monkeypatch):
    seqs, y = make_ragged(n=20)
    reg = RNNRegressor(**SMALL, max_epochs=2).fit(seqs, y)
    states = reg.recurrent_states(seqs)
    for padded in (pad_sequences(seqs), pad_sequences(seqs, max_length=300)):
        np.testing.assert_allclose(reg.recurrent_states(padded), states, rtol=1e-5, atol=1e-6)
    # A list in chunks of 8 sequences, each as wide as its own longest (20,
    # 35 and 40 steps): the states of all join, NaN past each one's steps.
    monkeypatch.setattr("sklrnn._base._PREDICT_CHUNK_VALUES", 2 * 40 * 8)
    chunked = reg.recurrent_states(seqs)
    assert chunked.shape == states.shape
    np.testing.assert_allclose(chunked, states, rtol=1e-5, atol=1e-6)
    for i in (0, 9, 13):  # alone, a sequence has its own valid steps only
        alone = reg.recurrent_states([seqs[i]])[0]
        n_valid = len(alone)
        np.testing.assert_allclose(alone, states[i, :n_valid], rtol=1e-5, atol=1e-6)
        assert np.isnan(states[i, n_valid:]).all()


def test_recurrent_states_of_a_chunked_list_are_held_once(monkeypatch):
    # Each chunk was padded to the full width and then all were joined: the
    # states were held twice at the end (4.9 GB for 2.4 GB of states).
    rng = np.random.RandomState(0)
    seqs = [rng.normal(size=(6, 2)) for _ in range(400)] + [rng.normal(size=(400, 2))]
    reg = RNNRegressor(**SMALL, max_epochs=1).fit(seqs[:40], np.arange(40.0))
    monkeypatch.setattr("sklrnn._base._PREDICT_CHUNK_VALUES", 2 * 400 * 50)  # 9 chunks
    states, peak = _with_peak_memory(reg.recurrent_states, seqs)
    assert peak < 1.5 * states.nbytes
    assert np.isnan(states[0, 10:]).all() and not np.isnan(states[-1]).any()


def test_the_features_of_a_chunked_input_are_held_once(monkeypatch):
    # The chunks' outputs were joined by np.concatenate: transform held its
    # output twice at the end (940 MB for 470 MB of features).
    X = np.random.RandomState(0).normal(size=(400, 12))
    reg = RNNRegressor(**SMALL, max_epochs=1).fit(X[:40], np.arange(40.0))
    expected = reg.transform(X)  # one chunk
    monkeypatch.setattr("sklrnn._base._PREDICT_CHUNK_VALUES", 12 * 50)  # 8 chunks
    features, peak = _with_peak_memory(reg.transform, X)
    assert peak < 1.5 * features.nbytes
    np.testing.assert_array_equal(features, expected)


def test_transform_chunks_short_sequences_by_their_features(monkeypatch):
    # Chunks were sized by the input alone: for short sequences one chunk's
    # features, alive beside the result, took up to as much memory again
    # (73 MB beside 159 MB for 200,000 sequences of 50 steps).
    X = np.random.RandomState(0).normal(size=(400, 4))
    reg = RNNRegressor(**{**SMALL, "kernel_features": 84}, max_epochs=1).fit(
        X[:40], np.arange(40.0)
    )
    assert reg._n_features_out > 50  # wider than a sequence: 4 values
    monkeypatch.setattr("sklrnn._base._PREDICT_CHUNK_VALUES", 4 * 200)  # 2 chunks by X alone
    features, peak = _with_peak_memory(reg.transform, X)
    assert peak < 1.2 * features.nbytes


def test_recurrent_states_of_sequences_of_different_lengths_are_not_copied():
    # Sorted by length to run, the rows were put back in X's order through a
    # copy of the whole output: 2.0 GB of peak for a 1.0 GB result (1.2 GB
    # when the lengths were equal).
    rng = np.random.RandomState(0)
    reg = RNNRegressor(**SMALL, max_epochs=1).fit(rng.normal(size=(20, 10)), np.arange(20.0))
    X = rng.normal(size=(256, 400, 1))
    X[1:, 300:] = np.nan
    X[5:160, 100:] = np.nan
    states, peak = _with_peak_memory(reg.recurrent_states, X)
    assert peak < 1.5 * states.nbytes
    # In the order of X, each row as it is alone.
    for i in [0, 3, 7, 50]:
        alone = reg.recurrent_states(X[i : i + 1])
        np.testing.assert_allclose(states[i, : alone.shape[1]], alone[0], rtol=1e-5, atol=1e-6)
        assert np.isnan(states[i, alone.shape[1] :]).all()


def _with_peak_memory(method, X):
    """``method(X)`` and the peak of the memory it allocated (tracemalloc's, numpy's)."""
    tracemalloc.start()
    try:
        return method(X), tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def test_recurrent_states_give_the_mean_readout():
    seqs, y = make_ragged(n=12)
    reg = RNNRegressor(**SMALL, readout="mean", max_epochs=2).fit(seqs, y)
    states = reg.recurrent_states(seqs)
    # transform: 168 kernel features, the front end's 4 channel means, then
    # the recurrent readout.
    recurrent = reg.transform(seqs)[:, 168 + 4 :]
    np.testing.assert_allclose(np.nanmean(states, axis=1), recurrent, atol=1e-5)
    ensemble = RNNRegressor(**SMALL, readout="mean", n_networks=2, max_epochs=1).fit(seqs, y)
    states = ensemble.recurrent_states(seqs)
    width = 2 * ensemble.hidden_size
    assert states.shape[2] == 2 * width
    Z = ensemble.transform(seqs)
    # Each network's 168 kernel features, 4 means and readout, network 0 first.
    for network in range(2):
        recurrent = Z[:, network * (172 + width) + 172 : (network + 1) * (172 + width)]
        network_states = states[:, :, network * width : (network + 1) * width]
        np.testing.assert_allclose(np.nanmean(network_states, axis=1), recurrent, atol=1e-5)


# -- errors ---------------------------------------------------------------------


@pytest.mark.parametrize("method", ["transform", "recurrent_states", "get_feature_names_out"])
def test_unfitted_estimator_raises_not_fitted(method):
    X, _ = make_bumps(n=4)
    args = () if method == "get_feature_names_out" else (X,)
    with pytest.raises(NotFittedError, match="not fitted yet"):
        getattr(RNNClassifier(), method)(*args)


@pytest.mark.parametrize("method", ["transform", "recurrent_states"])
def test_bad_input_is_named(bumps_classifier, method):
    clf, X, _ = bumps_classifier
    run = getattr(clf, method)
    with pytest.raises(ValueError, match="X has 10 features, but RNNClassifier is expecting 16"):
        run(X[:, :10])
    with pytest.raises(ValueError, match="2 features per time step, but RNNClassifier is"):
        run([np.ones((5, 2))])
    inner = X[:3].copy()
    inner[1, 4] = np.nan
    with pytest.raises(ValueError, match="NaN at sample 1, time step 4"):
        run(inner)
    with pytest.raises(ValueError, match="Reshape your data"):
        run(X[0])
    with pytest.raises(TypeError, match="does not accept sparse input"):
        run(sp.csr_matrix(X))


def test_feature_names_check_the_input_names():
    X, y = make_bumps(n=24)
    frame = pd.DataFrame(X, columns=[f"t{i}" for i in range(16)])
    clf = RNNClassifier(**SMALL, max_epochs=1).fit(frame, y)
    assert len(clf.get_feature_names_out(frame.columns)) == 168 + 4 + 4 * clf.hidden_size
    with pytest.raises(ValueError, match="input_features is not equal to feature_names_in_"):
        clf.get_feature_names_out([f"x{i}" for i in range(16)])
