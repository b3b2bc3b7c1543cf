"""Predictive uncertainty: RNNRegressor.predict(return_std=True), calibrated classifiers."""

import pickle

import numpy as np
import pytest
import torch
from sklearn.calibration import CalibratedClassifierCV
from sklearn.exceptions import NotFittedError
from sklearn.metrics import log_loss
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import FunctionTransformer
from skorch.callbacks import Callback

import sklrnn._regressor
from sklrnn import RNNClassifier, RNNRegressor, load_model, save_model
from sklrnn._module import RNNEnsemble, RNNModule

FAST = dict(hidden_size=8, conv_channels=8, max_epochs=15, kernel_features=168, random_state=0)


def make_noisy_regression(n=80, T=10, noise=0.3, seed=0):
    rng = np.random.RandomState(seed)
    X = rng.normal(size=(n, T))
    return X, X[:, -2:].sum(axis=1) + noise * rng.normal(size=n)


def epistemic(std, model):
    """The std without its noise part: dropout (and ensemble spread) alone."""
    return np.sqrt(np.maximum(std**2 - model.noise_std_**2, 0))


# -- the std: shapes, values, units ----------------------------------------------


def test_return_std_shapes_and_values():
    X, y = make_noisy_regression()
    model = RNNRegressor(**FAST).fit(X, y)
    mean, std = model.predict(X[:7], return_std=True)
    assert mean.shape == std.shape == (7,)
    assert np.isfinite(std).all() and (std > 0).all()
    # Dropout adds to the noise part, never takes from it.
    assert (std >= model.noise_std_[0]).all() and (std > model.noise_std_[0]).any()
    # The mean is predict's output, bit for bit, and return_std=False is predict.
    np.testing.assert_array_equal(mean, model.predict(X[:7]))
    np.testing.assert_array_equal(model.predict(X[:7], return_std=False), model.predict(X[:7]))

    Y = np.c_[y, -2 * y]
    multi = RNNRegressor(**FAST).fit(X, Y)
    mean, std = multi.predict(X[:7], return_std=True)
    assert mean.shape == std.shape == (7, 2) == multi.predict(X[:7]).shape
    assert multi.noise_std_.shape == (2,)
    np.testing.assert_array_equal(mean, multi.predict(X[:7]))


def test_std_is_in_the_units_of_y():
    # Targets are standardized for training: y and 1000 y + 5 train the same
    # network, and the std follows the units.
    X, y = make_noisy_regression()
    small = RNNRegressor(**FAST).fit(X, y)
    large = RNNRegressor(**FAST).fit(X, 1000 * y + 5)
    std_small = small.predict(X, return_std=True)[1]
    std_large = large.predict(X, return_std=True)[1]
    np.testing.assert_allclose(std_large, 1000 * std_small, rtol=1e-4)
    np.testing.assert_allclose(large.noise_std_, 1000 * small.noise_std_, rtol=1e-4)


def test_noise_std_is_the_rms_of_the_training_residuals():
    X, y = make_noisy_regression()
    model = RNNRegressor(**{**FAST, "kernel_features": 0}).fit(X, y)
    residuals = y - model.predict(X)
    np.testing.assert_allclose(model.noise_std_, [np.sqrt(np.mean(residuals**2))], rtol=1e-6)
    # Weighted as the loss is: samples of weight 0 (here, wild targets) do not count.
    wild = y.copy()
    wild[:10] += 100.0
    weights = np.r_[np.zeros(10), np.ones(70)]
    weighted = RNNRegressor(**{**FAST, "kernel_features": 0}).fit(X, wild, sample_weight=weights)
    rest = wild[10:] - weighted.predict(X[10:])
    np.testing.assert_allclose(weighted.noise_std_, [np.sqrt(np.mean(rest**2))], rtol=1e-6)
    # Unweighted, the wild targets give 31.7; with weight 0 they are removed,
    # from the target's standardization too: the fit without them, 1.3.
    clean = RNNRegressor(**{**FAST, "kernel_features": 0}).fit(X[10:], wild[10:])
    np.testing.assert_allclose(weighted.noise_std_, clean.noise_std_, rtol=1e-6)


def test_noise_std_with_random_kernels_leaves_out_sequences_of_weight_0():
    # With the kernel features (the default) the noise is the closed-form
    # head's leave-one-out residual: ten wild targets of weight 0 take no
    # part in it, as if removed (33.4 with them).
    X, y = make_noisy_regression()
    wild = y.copy()
    wild[:10] += 100.0
    weights = np.r_[np.zeros(10), np.ones(70)]
    weighted = RNNRegressor(**FAST).fit(X, wild, sample_weight=weights)
    unweighted = RNNRegressor(**FAST).fit(X, wild)
    clean = RNNRegressor(**FAST).fit(X[10:], wild[10:])
    assert unweighted.noise_std_[0] > 20.0
    np.testing.assert_allclose(weighted.noise_std_, clean.noise_std_, rtol=1e-6)


def test_an_ensembles_noise_comes_from_its_averaged_held_out_predictions(monkeypatch):
    # Each network's head gives leave-one-out predictions; the ensemble
    # averages its networks' outputs, so its noise is that of their average
    # (once, the last network's alone). Here each keeps its head on every
    # feature, solved first (then the head on the network's features alone).
    X, y = make_noisy_regression(n=60)
    held_out = []
    ridge = sklrnn._regressor._ridge

    def spy(*args, **kwargs):
        result = ridge(*args, **kwargs)
        if kwargs.get("penalty") is None:
            held_out.append(result[2])
        return result

    monkeypatch.setattr(sklrnn._regressor, "_ridge", spy)
    model = RNNRegressor(**dict(FAST, n_networks=3)).fit(X, y)
    assert len(held_out) == 3
    for network in model.net_.module_.networks:
        assert network.head.weight[:, : network.kernel_width].abs().max() > 0
    target = (y - model._y_mean) / model._y_scale
    expected = np.sqrt(np.mean((target[:, None] - np.mean(held_out, axis=0)) ** 2, axis=0))
    np.testing.assert_allclose(model.noise_std_, expected * model._y_scale, rtol=1e-5)
    last_alone = np.sqrt(np.mean((target[:, None] - held_out[-1]) ** 2, axis=0))
    assert abs(last_alone[0] - expected[0]) > 1e-3 * expected[0]  # not vacuous


def test_noise_std_with_random_kernels_comes_from_held_out_residuals():
    """The closed-form head nearly interpolates its training data; the noise is
    that of its leave-one-out predictions, near the error on new data."""
    X, y = make_noisy_regression(n=160)
    model = RNNRegressor(**{**FAST, "kernel_features": 840}).fit(X[:80], y[:80])
    training = np.sqrt(np.mean((y[:80] - model.predict(X[:80])) ** 2))
    new = np.sqrt(np.mean((y[80:] - model.predict(X[80:])) ** 2))
    assert model.noise_std_[0] > 2 * training
    assert 0.5 * new < model.noise_std_[0] < 2 * new


def test_without_dropouts_one_network_has_only_the_noise():
    X, y = make_noisy_regression()
    model = RNNRegressor(**{**FAST, "dropout": 0.0, "readout_dropout": 0.0}).fit(X, y)
    std = model.predict(X, return_std=True)[1]
    np.testing.assert_array_equal(std, np.full(len(X), model.noise_std_[0]))


@pytest.mark.parametrize("kernel_features", [0, 84])
def test_an_int_dropout_of_0_trains_and_predicts_as_the_float(kernel_features):
    # An int dropout made the keep probabilities an int64 tensor: fit failed
    # with kernel features (the head's closed form), return_std without them.
    X, y = make_noisy_regression()
    params = {**FAST, "kernel_features": kernel_features}
    expected = RNNRegressor(**params, dropout=0.0).fit(X, y).predict(X, return_std=True)
    model = RNNRegressor(**params, dropout=0).fit(X, y)
    np.testing.assert_array_equal(model.predict(X, return_std=True), expected)


def test_ensemble_std_is_the_spread_of_its_networks():
    # Without dropout, the epistemic part of an ensemble's std is the spread
    # of its networks' outputs (population std), in the units of y.
    X, y = make_noisy_regression()
    model = RNNRegressor(**{**FAST, "dropout": 0.0, "readout_dropout": 0.0}, n_networks=3).fit(X, y)
    X_t = torch.as_tensor(X[..., None], dtype=torch.float32)
    lengths = torch.full((len(X),), X.shape[1])
    with torch.no_grad():
        outputs = torch.stack([n.eval()(X_t, lengths)[:, 0] for n in model.net_.module_.networks])
    spread = outputs.double().std(dim=0, correction=0).numpy() * model._y_scale[0]
    std = model.predict(X, return_std=True)[1]
    np.testing.assert_allclose(epistemic(std, model), spread, rtol=1e-4, atol=1e-7)
    assert spread.min() > 0


def test_std_grows_away_from_the_training_data():
    # Inputs four times as large as any seen in training: the dropout (and
    # ensemble) part of the std grows. Checked over seeds 0-3 with 1 and 3
    # networks: the ratio was 1.3 to 2.2.
    X, y = make_noisy_regression(n=120, T=12)
    X_new = np.random.RandomState(1).normal(size=(60, 12))
    for n_networks in (1, 3):
        params = {**FAST, "max_epochs": 40, "n_networks": n_networks}
        model = RNNRegressor(**params).fit(X, y)
        near = model.predict(X_new, return_std=True)[1]
        far = model.predict(4 * X_new, return_std=True)[1]
        assert far.mean() > near.mean()
        assert epistemic(far, model).mean() > 1.2 * epistemic(near, model).mean()


# -- determinism and invariance ----------------------------------------------------


def test_std_is_deterministic_and_leaves_global_random_state():
    X, y = make_noisy_regression()
    model = RNNRegressor(**FAST).fit(X, y)
    torch_state, numpy_state = torch.get_rng_state(), np.random.get_state()
    first = model.predict(X, return_std=True)[1]
    np.testing.assert_array_equal(model.predict(X, return_std=True)[1], first)
    assert torch.equal(torch.get_rng_state(), torch_state)
    assert np.random.get_state()[1].tolist() == numpy_state[1].tolist()
    again = RNNRegressor(**FAST).fit(X, y).predict(X, return_std=True)[1]
    np.testing.assert_array_equal(again, first)


def test_std_does_not_depend_on_batching_or_chunking(monkeypatch):
    X, y = make_noisy_regression(n=80, T=12)
    X[::3, 9:] = np.nan  # a third of the sequences are 9 steps long
    model = RNNRegressor(**{**FAST, "batch_size": 8}, n_networks=2).fit(X, y)
    full_mean, full_std = model.predict(X, return_std=True)
    for k in (1, 7, 8, 9, 19):
        for part in (slice(None, k), slice(-k, None)):
            mean, std = model.predict(X[part], return_std=True)
            np.testing.assert_array_equal(std, full_std[part])
            np.testing.assert_array_equal(mean, full_mean[part])
    monkeypatch.setattr("sklrnn._base._PREDICT_CHUNK_VALUES", 3 * 8 * 12)  # 24 per chunk
    np.testing.assert_array_equal(model.predict(X, return_std=True)[1], full_std)
    ragged = [row[~np.isnan(row)] for row in X[:10]]
    np.testing.assert_array_equal(model.predict(ragged, return_std=True)[1], full_std[:10])


# -- the dropout variance is that of Monte Carlo dropout ----------------------------------


def monte_carlo(module, X, lengths, passes):
    """Outputs of ``passes`` forward passes with the dropout before the head active."""
    module.eval()
    dropouts = [m for m in module.modules() if isinstance(m, torch.nn.Dropout)]
    for dropout in dropouts:
        dropout.train()
    try:
        with torch.no_grad(), torch.random.fork_rng():
            torch.manual_seed(0)
            return torch.stack([module(X, lengths) for _ in range(passes)]).double()
    finally:
        module.eval()


def test_module_variance_is_the_monte_carlo_dropout_variance():
    torch.manual_seed(0)
    module = RNNModule(n_features=2, n_outputs=3, hidden_size=6, conv_channels=4, dropout=0.3)
    X, lengths = torch.randn(4, 9, 2), torch.tensor([9, 6, 3, 1])
    with torch.no_grad():
        mean, variance = module.eval().mean_and_variance(X, lengths).unbind(-1)
        assert torch.equal(mean, module(X, lengths).double())  # the evaluation output, exactly
    samples = monte_carlo(module, X, lengths, passes=4000)
    np.testing.assert_allclose(samples.var(dim=0), variance, rtol=0.1)
    np.testing.assert_allclose(samples.mean(dim=0), mean, atol=4 * variance.max().sqrt() / 60)


def test_module_variance_of_features_beyond_float32_squares_is_finite():
    # Features of 1e20 (a fit on unstandardized inputs of 1e25 whose training
    # diverged gave them) squared to inf in float32: return_std raised on the
    # model's own training data, naming X as too large.
    module = RNNModule(n_features=1, n_outputs=1, hidden_size=2, conv_channels=2).eval()
    features = torch.full((3, module.embedding_size), 1e20)
    module.embed = lambda X, lengths: features
    with torch.no_grad():
        mean, variance = module.mean_and_variance(torch.zeros(3, 5, 1), torch.full((3,), 5))[0, 0]
    keep = module.keep_probabilities().double()
    expected = (features[0].double() ** 2 * (1 - keep) / keep) @ module.head.weight.double()[0] ** 2
    assert torch.isfinite(mean) and variance.item() == pytest.approx(expected.item(), rel=1e-12)


def test_ensemble_variance_is_that_of_the_mixture_of_its_networks():
    torch.manual_seed(0)
    ensemble = RNNEnsemble(3, n_features=2, n_outputs=1, hidden_size=6, conv_channels=4)
    X, lengths = torch.randn(5, 8, 2), torch.full((5,), 8)
    with torch.no_grad():
        mean, variance = ensemble.eval().mean_and_variance(X, lengths).unbind(-1)
        assert torch.equal(mean, ensemble(X, lengths).double())
    # Draws from the mixture: every network equally often, dropout active.
    samples = torch.cat([monte_carlo(n, X, lengths, 2000) for n in ensemble.networks])
    np.testing.assert_allclose(samples.var(dim=0), variance, rtol=0.1)
    with pytest.raises(ValueError, match="average='outputs'"):
        RNNEnsemble(2, average="probabilities", n_features=2, n_outputs=2).mean_and_variance(
            X, lengths
        )


# -- training calls, persistence, pipelines ------------------------------------------------


def test_partial_fit_measures_the_noise_of_its_data():
    X, y = make_noisy_regression()
    model = RNNRegressor(**FAST).partial_fit(X, y)
    first = model.noise_std_.copy()
    model.partial_fit(X[:40], y[:40] * 3)
    residuals = y[:40] * 3 - model.predict(X[:40])
    np.testing.assert_allclose(model.noise_std_, [np.sqrt(np.mean(residuals**2))], rtol=1e-6)
    assert not np.allclose(model.noise_std_, first)
    assert model.predict(X, return_std=True)[1].shape == (80,)


def test_the_noise_is_measured_on_the_data_training_used():
    # It was measured on the raw y and weights after training: a tensor y that
    # requires a gradient, or bfloat16 weights, failed inside torch once the
    # model had trained; a sequence of weight 0, which training leaves out,
    # was standardized with the others and refused ("too far from the
    # training targets' mean") for a target it never saw.
    X, y = make_noisy_regression(n=40)
    params = dict(FAST, kernel_features=0, max_epochs=3)
    reference = RNNRegressor(**params).fit(X, y)
    tensor = torch.tensor(y, requires_grad=True)
    np.testing.assert_array_equal(
        RNNRegressor(**params).fit(X, tensor).noise_std_, reference.noise_std_
    )
    weights = torch.ones(40, dtype=torch.bfloat16)
    model = RNNRegressor(**params).partial_fit(X, y, sample_weight=weights)
    np.testing.assert_array_equal(
        model.noise_std_, RNNRegressor(**params).partial_fit(X, y).noise_std_
    )
    removed = np.r_[np.zeros(3), np.ones(37)]
    model = RNNRegressor(**params).fit(X, np.r_[np.full(3, 1e30), y[3:]], sample_weight=removed)
    np.testing.assert_allclose(
        model.noise_std_, RNNRegressor(**params).fit(X[3:], y[3:]).noise_std_, rtol=1e-6
    )


def test_std_survives_pickle_and_save_model(tmp_path):
    X, y = make_noisy_regression()
    model = RNNRegressor(**FAST, n_networks=2).fit(X, y)
    std = model.predict(X, return_std=True)[1]
    restored = pickle.loads(pickle.dumps(model))
    np.testing.assert_array_equal(restored.predict(X, return_std=True)[1], std)
    save_model(model, tmp_path / "model.zip")
    loaded = load_model(tmp_path / "model.zip")
    np.testing.assert_array_equal(loaded.predict(X, return_std=True)[1], std)


def test_return_std_through_a_pipeline():
    X, y = make_noisy_regression()
    pipe = make_pipeline(FunctionTransformer(lambda X: X * 2.0), RNNRegressor(**FAST)).fit(X, y)
    mean, std = pipe.predict(X, return_std=True)
    np.testing.assert_array_equal(std, pipe[-1].predict(X * 2.0, return_std=True)[1])
    np.testing.assert_array_equal(mean, pipe.predict(X))


# -- errors ---------------------------------------------------------------------------------


def test_return_std_errors():
    X, y = make_noisy_regression()
    with pytest.raises(NotFittedError):
        RNNRegressor().predict(X, return_std=True)
    model = RNNRegressor(**FAST).fit(X, y)
    with pytest.raises(TypeError, match="return_std must be True or False, got 'yes'"):
        model.predict(X, return_std="yes")
    # Bad input is reported as by predict.
    expected = "X has 3 features per time step, but RNNRegressor is expecting 1"
    with pytest.raises(ValueError, match=expected):
        model.predict(np.zeros((2, 10, 3)), return_std=True)
    bad = X[:3].copy()
    bad[1, 4] = np.nan
    with pytest.raises(ValueError, match="NaN at sample 1, time step 4"):
        model.predict(bad, return_std=True)
    del model.noise_std_  # as a model whose training was interrupted
    with pytest.raises(ValueError, match="needs noise_std_.*Fit it again"):
        model.predict(X, return_std=True)
    assert model.predict(X).shape == (80,)  # predict itself is unaffected


@pytest.mark.parametrize("method", ["fit", "partial_fit"])
def test_an_interrupted_training_call_keeps_no_noise_of_the_model_before(method):
    # A refit on targets 1000 times smaller, interrupted, once kept the
    # previous fit's noise_std_: standard deviations 1000 times too large.

    class Interrupt(Callback):
        armed = False  # on the class: the net's copy of the callback sees it

        def on_batch_end(self, net, training=False, **kwargs):
            if Interrupt.armed:
                raise KeyboardInterrupt

    X, y = make_noisy_regression(n=40)
    model = RNNRegressor(**dict(FAST, max_epochs=3), callbacks=[Interrupt()]).fit(X, 1000 * y)
    Interrupt.armed = True
    with pytest.raises(KeyboardInterrupt):
        getattr(model, method)(X, y)
    with pytest.raises(ValueError, match="needs noise_std_.*its training was interrupted"):
        model.predict(X, return_std=True)


@pytest.mark.parametrize("method", ["fit", "partial_fit"])
def test_a_refused_training_call_keeps_the_noise(method):
    # The noise was dropped before the data were checked: a refused call left
    # the fit whole but without noise_std_ ("its training was interrupted").
    X, y = make_noisy_regression(n=40)
    model = RNNRegressor(**dict(FAST, max_epochs=2)).fit(X, y)
    expected = model.predict(X, return_std=True)
    bad = y.copy()
    bad[3] = np.nan
    with pytest.raises(ValueError, match="y contains NaN"):
        getattr(model, method)(X, bad)
    for got, want in zip(model.predict(X, return_std=True), expected, strict=True):
        np.testing.assert_array_equal(got, want)


def test_noise_of_weights_near_float64s_maximum_is_finite():
    # np.average summed the raw weights: inf, and NaN noise.
    X, y = make_noisy_regression(n=40)
    model = RNNRegressor(**dict(FAST, max_epochs=2, kernel_features=0))
    reference = model.fit(X, y).noise_std_
    np.testing.assert_allclose(
        model.fit(X, y, sample_weight=np.full(40, 1e307)).noise_std_, reference
    )


# -- classifier calibration -----------------------------------------------------------------


def make_noisy_labels(n, seed):
    """Label: the sign of the last step, flipped for a fifth of the sequences."""
    rng = np.random.RandomState(seed)
    X = rng.normal(size=(n, 8))
    y = (X[:, -1] > 0).astype(int)
    flip = rng.rand(n) < 0.2
    y[flip] = 1 - y[flip]
    return X, y


def test_calibrated_classifier_cv_gives_valid_probabilities():
    X, _ = make_noisy_labels(60, 0)
    y = np.digitize(X[:, -1], [-0.43, 0.43])  # three classes the last step tells apart
    calibrated = CalibratedClassifierCV(RNNClassifier(**FAST), cv=3).fit(X, y)
    proba = calibrated.predict_proba(X)
    assert proba.shape == (60, 3)
    assert (proba >= 0).all() and (proba <= 1).all()
    np.testing.assert_allclose(proba.sum(axis=1), 1.0)
    np.testing.assert_array_equal(calibrated.classes_, [0, 1, 2])
    # Informative, not merely valid: log(3) is the loss of uniform probabilities
    # (0.50 and 0.98 accuracy measured).
    assert log_loss(y, proba) < np.log(3) - 0.3
    assert calibrated.score(X, y) > 0.8


def test_calibration_lowers_the_log_loss_of_an_overconfident_classifier():
    # 90 sequences with a fifth of the labels flipped: without the readout's
    # dropout, the network learns the training labels (flips included) and
    # is overconfident on new data. Sigmoid calibration lowered the test
    # log-loss for seeds 0-4 (from 0.84-1.10 to 0.67-0.71).
    X, y = make_noisy_labels(90, 0)
    X_test, y_test = make_noisy_labels(400, 100)
    params = {**FAST, "max_epochs": 100, "readout_dropout": 0.0}
    plain = RNNClassifier(**params).fit(X, y)
    calibrated = CalibratedClassifierCV(RNNClassifier(**params), cv=3, method="sigmoid")
    calibrated.fit(X, y)
    before = log_loss(y_test, plain.predict_proba(X_test))
    after = log_loss(y_test, calibrated.predict_proba(X_test))
    assert after < before - 0.05
