"""sequence_attributions: integrated gradients over the time steps of sequences."""

import copy

import numpy as np
import pandas as pd
import pytest
import torch
from sklearn.exceptions import NotFittedError
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import FunctionTransformer
from sklearn.utils._param_validation import InvalidParameterError

from sklrnn import RNNClassifier, RNNRegressor, _attributions, sequence_attributions

FAST = dict(
    hidden_size=8, conv_channels=8, max_epochs=15, lr=1e-2, kernel_features=0, random_state=0
)
CUDA = torch.cuda.is_available()


def _sequences(n=40, T=12, n_features=2, seed=0):
    """3D sequences, every third one ending early (trailing NaN)."""
    rng = np.random.RandomState(seed)
    X = rng.normal(size=(n, T, n_features))
    X[::3, T - 4 :] = np.nan
    return X


@pytest.fixture(scope="module")
def clf():
    X = _sequences()
    y = np.where(X[:, 4, 0] + X[:, 6, 1] > 0, "up", "down")
    return RNNClassifier(**FAST).fit(X, y)


@pytest.fixture(scope="module")
def reg():
    X = _sequences(seed=1)
    y = np.stack([X[:, 2, 0] - X[:, 5, 1], 10.0 * X[:, 7, 0] + 3.0], axis=1)
    return RNNRegressor(**FAST).fit(X, y)


def _baseline_sequences(X, values):
    """Sequences of X's lengths holding the baseline's values at every valid step."""
    return np.where(np.isnan(X), np.nan, np.broadcast_to(values, X.shape))


def _log_odds(clf, X, labels):
    proba = clf.predict_proba(X)[np.arange(len(X)), np.searchsorted(clf.classes_, labels)]
    return np.log(proba) - np.log1p(-proba)


def _training_mean(estimator):
    module = estimator.net_.module_
    if hasattr(module, "networks"):  # an ensemble: the same statistics in each network
        module = module.networks[0]
    return module.input_mean.numpy().astype(np.float64)


# -- what the attributions add up to -------------------------------------------


def test_classifier_attributions_sum_to_the_change_of_log_odds(clf):
    X = _sequences(seed=2)
    attributions = sequence_attributions(clf, X, n_steps=100)
    assert attributions.shape == X.shape and attributions.dtype == np.float64
    predicted = clf.predict(X)
    change = _log_odds(clf, X, predicted) - _log_odds(
        clf, _baseline_sequences(X, _training_mean(clf)), predicted
    )
    assert np.abs(change).mean() > 0.5  # something to attribute
    np.testing.assert_allclose(attributions.sum(axis=(1, 2)), change, atol=0.05, rtol=0.02)


def test_regressor_attributions_sum_to_the_change_of_a_chosen_prediction(reg):
    X = _sequences(seed=3)
    baseline = [0.5, -1.0]
    attributions = sequence_attributions(reg, X, target=1, n_steps=100, baseline=baseline)
    change = reg.predict(X)[:, 1] - reg.predict(_baseline_sequences(X, baseline))[:, 1]
    # In the units of y, whose second column was scaled by 10.
    assert np.abs(change).mean() > 2.0
    np.testing.assert_allclose(attributions.sum(axis=(1, 2)), change, atol=0.1, rtol=0.02)
    other = sequence_attributions(reg, X, target=0, n_steps=100, baseline=baseline)
    assert not np.allclose(other, attributions)


@pytest.mark.parametrize("scale", [1e-50, 1e40])
def test_regressor_attributions_hold_at_any_scale_of_y(scale):
    # The output was taken to y's units in float32 before the gradients:
    # zeros for y of 1e-50, and "not finite" for y of 1e40, naming X.
    X = _sequences(seed=1)
    y = X[:, 2, 0] - X[:, 5, 1]
    unit = RNNRegressor(**FAST).fit(X, y)
    scaled = RNNRegressor(**FAST).fit(X, scale * y)
    np.testing.assert_allclose(
        sequence_attributions(scaled, X[:5]), scale * sequence_attributions(unit, X[:5]), rtol=1e-4
    )


def test_gradients_are_taken_under_inference_mode_too(clf):
    # torch.enable_grad does not leave inference mode: "element 0 of tensors
    # does not require grad".
    X = _sequences(seed=3)[:4]
    expected = sequence_attributions(clf, X)
    with torch.inference_mode():
        np.testing.assert_array_equal(sequence_attributions(clf, X), expected)


def test_ensemble_attributions_explain_the_combined_output():
    X = _sequences()
    y = (X[:, 4, 0] > 0).astype(int)
    ensemble = RNNClassifier(**{**FAST, "n_networks": 3}).fit(X, y)
    attributions = sequence_attributions(ensemble, X, target=1, n_steps=100)
    ones = np.ones(len(X), dtype=int)
    base = _baseline_sequences(X, _training_mean(ensemble))
    change = _log_odds(ensemble, X, ones) - _log_odds(ensemble, base, ones)
    np.testing.assert_allclose(attributions.sum(axis=(1, 2)), change, atol=0.05, rtol=0.02)


def test_more_steps_sum_more_exactly(clf):
    X = _sequences(seed=4)
    predicted = clf.predict(X)
    change = _log_odds(clf, X, predicted) - _log_odds(
        clf, _baseline_sequences(X, _training_mean(clf)), predicted
    )
    errors = [
        np.abs(sequence_attributions(clf, X, n_steps=n).sum(axis=(1, 2)) - change).mean()
        for n in (2, 50)
    ]
    assert errors[1] < errors[0] / 4


# -- padding, input formats, truncation ------------------------------------------


@pytest.mark.parametrize("n_networks", [1, 3])
def test_random_kernels_attributions_sum_to_the_change_of_log_odds(n_networks):
    """The kernels' features move by steps (zero gradient), yet their share of
    the change reaches the input values: the sums converge to the change."""
    X = _sequences(n=30, seed=7)
    y = (X[:, 4, 0] > 0).astype(int)
    params = {**FAST, "kernel_features": 168, "n_networks": n_networks}
    clf = RNNClassifier(**params).fit(X, y)
    ones = np.ones(len(X), dtype=int)
    base = _baseline_sequences(X, _training_mean(clf))
    change = _log_odds(clf, X, ones) - _log_odds(clf, base, ones)
    errors = []
    for n_steps in (20, 400):
        attributions = sequence_attributions(clf, X, target=1, n_steps=n_steps)
        errors.append(np.abs(attributions.sum(axis=(1, 2)) - change))
    assert np.abs(change).mean() > 1.0
    assert errors[1].mean() < errors[0].mean() / 4
    np.testing.assert_allclose(errors[1], 0, atol=0.02 * np.abs(change).max())
    # Padding reaches no attribution: ragged input gives the same.
    lengths = (~np.isnan(X[:, :, 0])).sum(axis=1)
    ragged = [x[:n] for x, n in zip(X, lengths, strict=True)]
    np.testing.assert_allclose(
        sequence_attributions(clf, ragged, target=1, n_steps=400),
        attributions,
        rtol=1e-4,
        atol=1e-5,
    )


def test_regressor_attributions_with_random_kernels_sum_to_the_change_of_its_output():
    # The regressor's default reads the random kernel features too: its
    # attributions reach the input values through them, as the classifier's.
    X = _sequences(n=30, seed=8)
    y = np.nansum(X[:, :4, 0], axis=1)
    reg = RNNRegressor(**{**FAST, "kernel_features": 168}).fit(X, y)
    base = _baseline_sequences(X, _training_mean(reg))
    change = reg.predict(X) - reg.predict(base)
    attributions = sequence_attributions(reg, X, n_steps=400)
    assert np.abs(change).mean() > 0.5
    np.testing.assert_allclose(
        attributions.sum(axis=(1, 2)), change, atol=0.02 * np.abs(change).max()
    )


@pytest.mark.parametrize("n_networks", [1, 2])
def test_random_kernels_share_goes_out_by_the_path_mean_gradient(n_networks):
    # Four classes: the log-odds bends along the features' path, and the
    # gradients at its ends once nearly cancelled for a few sequences, whose
    # kernel attributions the scaling to the share then blew up (to 17 and
    # 322 on these fits, for changes of the log-odds below 1).
    rng = np.random.RandomState(0)
    X = rng.normal(size=(80, 20))
    s = X[:, 5:10].sum(axis=1)
    y = np.digitize(s, np.quantile(s, [0.25, 0.5, 0.75]))
    params = dict(hidden_size=4, conv_channels=8, kernel_features=168, max_epochs=5)
    clf = RNNClassifier(**params, n_networks=n_networks, random_state=0).fit(X, y)
    X_new = X[:, ::-1].copy() if n_networks == 1 else X + 0.3 * rng.normal(size=X.shape)
    module = clf.net_.module_.eval()
    x = torch.as_tensor(X_new[:, :, None], dtype=torch.float32)
    base = torch.as_tensor(_training_mean(clf), dtype=torch.float32).expand_as(x)
    lengths = torch.full((len(x),), 20)
    rows = torch.arange(len(x))
    score, _ = _attributions._score_function(clf, x.numpy(), lengths.numpy(), None)
    with torch.no_grad():
        ends = [module.kernel_features(end, lengths) for end in (x, base)]
    grad = _attributions._feature_path_gradient(module, x, ends, lengths, rows, score, 8)
    with torch.no_grad():
        change = score(module(x, lengths, ends[0]), rows) - score(module(x, lengths, ends[1]), rows)
    # Gradients times the features' change add up to the score's change.
    linear = (grad * (ends[0] - ends[1])).sum(dim=1)
    np.testing.assert_allclose(linear, change, rtol=1e-4, atol=1e-4)
    attributions = sequence_attributions(clf, X_new)
    assert np.abs(attributions).max() < 5


def test_zero_on_padding_and_the_same_for_every_input_format(clf):
    X = _sequences(seed=5)
    lengths = (~np.isnan(X[:, :, 0])).sum(axis=1)
    attributions = sequence_attributions(clf, X)
    padding = np.arange(X.shape[1])[None, :] >= lengths[:, None]
    assert padding.any() and (attributions[padding] == 0).all()
    assert (attributions[~padding] != 0).any(axis=1).all()
    ragged = [x[:n] for x, n in zip(X, lengths, strict=True)]
    np.testing.assert_allclose(sequence_attributions(clf, ragged), attributions, atol=1e-6)
    # Each sequence's attributions depend on it alone, not on the others.
    np.testing.assert_allclose(sequence_attributions(clf, X[3:5]), attributions[3:5], atol=1e-6)


def test_table_input_and_dataframe():
    rng = np.random.RandomState(0)
    X = pd.DataFrame(rng.normal(size=(30, 9)), columns=[f"t{i}" for i in range(9)])
    y = (X["t3"] > 0).astype(int)
    clf = RNNClassifier(**FAST).fit(X, y)
    attributions = sequence_attributions(clf, X)
    assert attributions.shape == (30, 9, 1)
    with pytest.warns(UserWarning, match="does not have valid feature names") as record:
        from_array = sequence_attributions(clf, X.to_numpy())
    assert len(record) == 1  # X was validated twice
    np.testing.assert_allclose(from_array, attributions, atol=1e-6)


def test_max_length_attributes_the_steps_the_model_reads():
    X = _sequences(T=14, n_features=1)
    y = (X[:, 9, 0] > 0).astype(int)
    clf = RNNClassifier(**{**FAST, "max_length": 6}).fit(X, y)
    lengths = (~np.isnan(X[:, :, 0])).sum(axis=1)
    attributions = sequence_attributions(clf, X)
    assert attributions.shape == X.shape
    for x, n, a in zip(X, lengths, attributions, strict=True):
        assert (a[: n - 6] == 0).all() and (a[n:] == 0).all()
        # The same as explaining the last 6 steps alone.
        np.testing.assert_allclose(
            a[n - 6 : n], sequence_attributions(clf, x[None, n - 6 : n])[0], atol=1e-6
        )


# -- evaluation mode, memory bound -------------------------------------------------


def test_evaluation_mode_is_used():
    X = _sequences()
    y = (X[:, 4, 0] > 0).astype(int)
    clf = RNNClassifier(**{**FAST, "dropout": 0.5}).fit(X, y)
    module = clf.net_.module_
    results = []
    for _ in range(2):
        module.train()  # dropout and batch statistics, if it stayed so
        results.append(sequence_attributions(clf, X[:5], target=1))
        assert not module.training
    np.testing.assert_array_equal(results[0], results[1])
    # Batch normalization's running statistics: a sequence's result is its own.
    np.testing.assert_allclose(
        sequence_attributions(clf, X[:1], target=1), results[0][:1], atol=1e-6
    )


def test_passes_stay_within_the_bound_and_chunks_do_not_change_the_result(clf, monkeypatch):
    X = _sequences(n=7, T=12, seed=6)
    expected = sequence_attributions(clf, X, n_steps=10, target="up")
    forward = type(clf.net_.module_).forward
    seen = []

    def recording(module, X, lengths):
        seen.append(X.shape[0] * X.shape[1])  # time steps in the pass
        return forward(module, X, lengths)

    monkeypatch.setattr(type(clf.net_.module_), "forward", recording)
    # One sequence at one step a pass; three steps; two sequences at ten steps.
    for bound in (12, 36, 240):
        monkeypatch.setattr(_attributions, "_PASS_STEPS", bound)
        seen.clear()
        attributions = sequence_attributions(clf, X, n_steps=10, target="up")
        np.testing.assert_allclose(attributions, expected, atol=1e-5)
        assert max(seen) <= bound
    assert len(seen) == 4  # ceil(7 / 2) passes of 2 sequences at 10 steps


# -- targets ------------------------------------------------------------------------


def test_default_target_is_the_predicted_class(clf):
    X = _sequences(seed=7)
    predicted = clf.predict(X)
    assert len(set(predicted)) == 2
    default = sequence_attributions(clf, X, n_steps=10)
    np.testing.assert_array_equal(
        default, sequence_attributions(clf, X, n_steps=10, target=predicted)
    )
    up = sequence_attributions(clf, X, n_steps=10, target="up")
    is_up = predicted == "up"
    np.testing.assert_array_equal(up[is_up], default[is_up])
    # For two classes, the log-odds of one are minus those of the other.
    np.testing.assert_allclose(up[~is_up], -default[~is_up], atol=1e-5)


# -- errors ---------------------------------------------------------------------------


def test_errors_name_the_problem(clf, reg):
    X = _sequences()
    with pytest.raises(NotFittedError):
        sequence_attributions(RNNClassifier(), X)
    with pytest.raises(
        ValueError, match="3 features per time step, but RNNClassifier is expecting 2"
    ):
        sequence_attributions(clf, np.zeros((2, 5, 3)))
    with pytest.raises(InvalidParameterError, match="'n_steps' parameter .* range \\[1, inf\\)"):
        sequence_attributions(clf, X, n_steps=0)
    with pytest.raises(InvalidParameterError, match="'baseline' parameter"):
        sequence_attributions(clf, X, baseline="zero")
    # A max_length set after fit was read unchecked: a ZeroDivisionError for 0,
    # the last step alone for True.
    for value, error in ((0, ValueError), (True, TypeError)):
        changed = copy.deepcopy(clf).set_params(max_length=value)
        with pytest.raises(error, match="'max_length' parameter of RNNClassifier"):
            sequence_attributions(changed, X)
    with pytest.raises(ValueError, match="baseline must be .* 2 numbers .* shape \\(3,\\)"):
        sequence_attributions(clf, X, baseline=[0.0, 1.0, 2.0])
    with pytest.raises(ValueError, match="baseline contains NaN or infinity"):
        sequence_attributions(clf, X, baseline=np.nan)
    with pytest.raises(ValueError, match="baseline contains values too large for float32"):
        sequence_attributions(clf, X, baseline=1e39)
    with pytest.raises(ValueError, match="attributions are not finite.* overflow float32"):
        sequence_attributions(clf, np.full((1, 6, 2), 3e38), target="up", n_steps=2, baseline=-3e38)
    with pytest.raises(ValueError, match=r"labels \['left'\] that are not classes .*'down', 'up'"):
        sequence_attributions(clf, X, target="left")
    with pytest.raises(ValueError, match=r"labels \[1\] that are not classes"):
        sequence_attributions(clf, X, target=1)
    # numpy matched True to the class 1, and read text as numbers in its own words.
    int_labelled = RNNClassifier(**{**FAST, "max_epochs": 1}).fit(X, np.arange(40) % 3)
    with pytest.raises(ValueError, match=r"target holds bools \(True\), but the classes_"):
        sequence_attributions(int_labelled, X[:2], target=True)
    with pytest.raises(TypeError, match=r"baseline must be 'mean', a number or 2 numbers.*'a'"):
        sequence_attributions(clf, X[:2], baseline=["a", "b"])
    with pytest.raises(ValueError, match="target has shape \\(3,\\), but X has 40 sequences"):
        sequence_attributions(clf, X, target=["up", "up", "down"])
    # None among the labels has no order to compare with them in (numpy's TypeError).
    with pytest.raises(ValueError, match=r"target must hold class labels .*'down', 'up'"):
        sequence_attributions(clf, X[:2], target=["up", None])
    # One label per sequence, a pandas Series: its first few, not its repr.
    labels = pd.Series(["up"] * 39 + [None], index=np.arange(40) + 100)
    with pytest.raises(ValueError, match=r"got \['up', 'up', 'up', 'up', 'up', 'up', \.\.\.\]\.$"):
        sequence_attributions(clf, X, target=labels)
    with pytest.raises(TypeError, match="'n_steps' parameter of sequence_attributions .* bool"):
        sequence_attributions(clf, X, n_steps=True)
    for baseline in (True, [True, False]):
        with pytest.raises(TypeError, match="baseline must be 'mean', a number .* got"):
            sequence_attributions(clf, X, baseline=baseline)
    with pytest.raises(ValueError, match="int in \\[0, 1\\] .* fitted with 2 targets.*got None"):
        sequence_attributions(reg, X)
    expected = r"int in \[0, 1\] \(RNNRegressor was fitted with 2 targets\), got 2"
    with pytest.raises(ValueError, match=expected):
        sequence_attributions(reg, X, target=2)
    # A column per sequence, as a classifier takes labels: its first few, as
    # Python numbers, not all 40 of numpy's or pandas' repr.
    for target in (np.arange(40), pd.Series(np.arange(40)), np.int64(2)):
        shown = r"\[0, 1, 2, 3, 4, 5, \.\.\.\]" if np.ndim(target) else "2"
        with pytest.raises(ValueError, match=rf"fitted with 2 targets\), got {shown}\.$"):
            sequence_attributions(reg, X, target=target)


def test_non_sklrnn_estimators_are_refused_with_the_fix():
    X, y = np.zeros((4, 3)), [0, 1, 0, 1]
    with pytest.raises(TypeError, match="needs a fitted sklrnn estimator.*LogisticRegression"):
        sequence_attributions(LogisticRegression().fit(X, y), X)
    pipe = make_pipeline(FunctionTransformer(), RNNClassifier(**FAST))
    with pytest.raises(TypeError, match=r"pipe\[-1\] and pipe\[:-1\]\.transform\(X\)"):
        sequence_attributions(pipe, X)
    search = GridSearchCV(LogisticRegression(), {"C": [1.0]}, cv=2).fit(X, y)
    with pytest.raises(TypeError, match="GridSearchCV. For a fitted search, pass its best_estim"):
        sequence_attributions(search, X)


# -- a planted window -------------------------------------------------------------------

T, WINDOW = 40, (16, 24)


def _planted(n, rng):
    """The class is the sign of a bump within WINDOW; a bump of random sign lies outside."""
    steps = np.arange(T)
    y = rng.randint(2, size=n)
    X = rng.normal(scale=0.3, size=(n, T))
    inside = rng.randint(WINDOW[0] + 1, WINDOW[1] - 1, size=n)
    X += np.where(y == 1, 2.0, -2.0)[:, None] * np.exp(-0.5 * (steps - inside[:, None]) ** 2)
    before = rng.randint(2, WINDOW[0] - 3, size=n)
    after = rng.randint(WINDOW[1] + 3, T - 2, size=n)
    outside = np.where(rng.rand(n) < 0.5, before, after)
    sign = rng.choice([-2.0, 2.0], size=n)
    X += sign[:, None] * np.exp(-0.5 * (steps - outside[:, None]) ** 2)
    return X, y


def test_top_attributed_step_lies_in_the_planted_window():
    # Seeds 0 to 9 give 94% to 100% of the sequences, at test accuracy >= 0.99.
    seed = 0
    rng = np.random.RandomState(seed)
    X, y = _planted(200, rng)
    X_test, y_test = _planted(100, rng)
    params = dict(hidden_size=16, conv_channels=16, max_epochs=30, lr=1e-2, random_state=seed)
    clf = RNNClassifier(**params).fit(X, y)
    correct = clf.predict(X_test) == y_test
    assert correct.mean() > 0.9
    attributions = sequence_attributions(clf, X_test[correct], n_steps=20)[:, :, 0]
    top = attributions.argmax(axis=1)
    inside = (top >= WINDOW[0]) & (top < WINDOW[1])
    # The window is 8 of 40 steps, and each sequence has a bump outside it too.
    assert inside.mean() >= 0.8


# -- device -------------------------------------------------------------------------------


@pytest.mark.skipif(not CUDA, reason="needs a CUDA device")
def test_runs_on_the_gpu_in_evaluation_mode():
    X = _sequences()
    y = (X[:, 4, 0] > 0).astype(int)
    gpu = RNNClassifier(**{**FAST, "device": "cuda"}).fit(X, y)
    attributions = sequence_attributions(gpu, X, n_steps=100)
    assert next(gpu.net_.module_.parameters()).device.type == "cuda"
    assert torch.backends.cudnn.enabled  # turned off for the computation only
    predicted = gpu.predict(X)
    change = _log_odds(gpu, X, predicted) - _log_odds(
        gpu, _baseline_sequences(X, gpu.net_.module_.input_mean.cpu().numpy()), predicted
    )
    np.testing.assert_allclose(attributions.sum(axis=(1, 2)), change, atol=0.05, rtol=0.02)


def test_one_long_sequence_widens_only_its_own_pass():
    # Passes were sized for the longest sequence of all: one of 1,000 steps
    # among 1,000 of 20 made a pass per sequence (4.7 s instead of 0.7).
    lengths = np.array([20] * 500 + [1000] + [20] * 500)
    passes = list(_attributions._passes(lengths, 50))
    assert [start for start, _, _ in passes] == [0] + [stop for _, stop, _ in passes[:-1]]
    assert passes[-1][1] == len(lengths)
    # As many passes as without the long sequence, plus its own and a split.
    assert len(passes) <= len(list(_attributions._passes(np.full(1000, 20), 50))) + 2
    for start, stop, step_chunk in passes:
        steps = (stop - start) * step_chunk * lengths[start:stop].max()
        assert stop - start == 1 or steps <= _attributions._PASS_STEPS


def test_the_path_integral_is_a_midpoint_rule(reg):
    # n_steps=1: one gradient, halfway from the baseline to x ((k + 0.5) / n_steps).
    X = np.random.RandomState(9).normal(size=(5, 12, 2))
    baseline = np.array([0.5, -1.0])
    attributions = sequence_attributions(reg, X, target=1, n_steps=1, baseline=baseline)
    module = reg.net_.module_.eval()
    x = torch.as_tensor(X, dtype=torch.float32)
    b = torch.as_tensor(baseline, dtype=torch.float32).expand_as(x)
    middle = (b + 0.5 * (x - b)).requires_grad_()
    lengths = torch.full((len(x),), x.shape[1])
    output = module(middle, lengths)[:, 1] * float(reg._y_scale[1])
    (grad,) = torch.autograd.grad(output.sum(), middle)
    np.testing.assert_allclose(attributions, ((x - b) * grad).numpy(), rtol=1e-4, atol=1e-6)
