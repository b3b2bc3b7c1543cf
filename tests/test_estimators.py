"""Behaviour of RNNClassifier and RNNRegressor as scikit-learn estimators."""

import copy
import pickle
import subprocess
import sys
import tracemalloc
import warnings

import joblib
import numpy as np
import pandas as pd
import pytest
import torch
from sklearn.base import clone
from sklearn.ensemble import VotingClassifier
from sklearn.exceptions import NotFittedError
from sklearn.linear_model import RidgeClassifierCV, RidgeCV
from sklearn.model_selection import GridSearchCV, cross_val_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.utils._param_validation import InvalidParameterError
from skorch.callbacks import Callback, EarlyStopping, LRScheduler

import sklrnn._base
import sklrnn._classifier
import sklrnn._ridge
from sklrnn import RNNClassifier, RNNRegressor, make_windows, sequence_attributions
from sklrnn._ridge import _RIDGE_ALPHAS, _clearly_better, _ridge
from sklrnn._training import SequenceDataset, ValidationSplit, WarmupCosine
from sklrnn.datasets import load_airline

FAST = dict(hidden_size=8, conv_channels=8, max_epochs=15, kernel_features=0, random_state=0)


def make_classification_sequences(n=80, T=12, n_features=None, seed=0):
    """Label: is the sum of the last three steps positive."""
    rng = np.random.RandomState(seed)
    shape = (n, T) if n_features is None else (n, T, n_features)
    X = rng.normal(size=shape)
    last = X[:, -3:] if n_features is None else X[:, -3:, 0]
    y = (last.sum(axis=1) > 0).astype(int)
    return X, y


def make_regression_sequences(n=80, T=10, seed=0):
    rng = np.random.RandomState(seed)
    X = rng.normal(size=(n, T))
    return X, X[:, -2:].sum(axis=1)


class RecordWeights(Callback):
    """Keeps a copy of the module's weights at the end of every epoch."""

    def initialize(self):
        self.weights = []
        return self

    def on_epoch_end(self, net, **kwargs):
        self.weights.append({k: v.clone() for k, v in net.module_.state_dict().items()})


class RecordBatchSizes(Callback):
    """Keeps the sizes of each epoch's training batches."""

    def initialize(self):
        self.sizes = []
        return self

    def on_epoch_begin(self, net, **kwargs):
        self.sizes.append([])

    def on_batch_end(self, net, batch=None, training=False, **kwargs):
        if training:
            self.sizes[-1].append(len(batch[1]))


# -- types, labels, probabilities ---------------------------------------------


@pytest.mark.parametrize(
    "labels",
    [np.array(["cat", "dog", "eel"]), np.array([3, -1, 10]), np.array([1.0, 2.0, 5.0])],
)
def test_classes_any_label_type(labels):
    X, _ = make_classification_sequences(n=90)
    y = labels[np.arange(90) % 3]
    clf = RNNClassifier(**FAST).fit(X, y)
    np.testing.assert_array_equal(clf.classes_, np.sort(labels))
    pred = clf.predict(X)
    assert pred.dtype == y.dtype
    assert set(pred) <= set(labels)


def test_predict_proba_follows_classes():
    X, y = make_classification_sequences(n=120)
    y = np.where(y == 1, "up", "down")
    clf = RNNClassifier(**FAST).fit(X, y)
    proba = clf.predict_proba(X)
    assert proba.shape == (120, 2)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, rtol=1e-12)
    np.testing.assert_array_equal(clf.classes_[proba.argmax(axis=1)], clf.predict(X))
    np.testing.assert_allclose(np.exp(clf.predict_log_proba(X)), proba, rtol=1e-10)


@pytest.mark.parametrize("kernel_features, least", [(0, 0.88), (5040, 0.82)])
def test_classifier_learns(kernel_features, least):
    # The class sits at fixed steps (the sign of the last three): the random
    # kernels' position-free features dilute the head. Measured with
    # random_state 0 and 1: 0.907 and 0.910 without them, 0.857 and 0.873
    # with them (the default).
    X, y = make_classification_sequences(n=300, seed=1)
    X_test, y_test = make_classification_sequences(n=300, seed=2)
    clf = RNNClassifier(hidden_size=16, kernel_features=kernel_features, random_state=0)
    assert clf.fit(X, y).score(X_test, y_test) > least


def test_regressor_learns_and_rescales_targets():
    X, y = make_regression_sequences(n=300, seed=1)
    X_test, y_test = make_regression_sequences(n=300, seed=2)
    # Targets far from zero and large: the estimator standardizes them.
    reg = RNNRegressor(hidden_size=16, max_epochs=60, random_state=0)
    reg.fit(X, 1000 * y + 5000)
    assert reg.score(X_test, 1000 * y_test + 5000) > 0.9


def test_regressor_names_targets_that_are_not_numbers():
    # numpy's "could not convert string to float" and scikit-learn's "Found
    # array with dim 3" named neither y nor the fix.
    X, _ = make_regression_sequences(n=20)
    with pytest.raises(ValueError, match="needs numbers as targets, but y holds text.*RNNClassi"):
        RNNRegressor(**FAST).fit(X, ["a"] * 20)
    with pytest.raises(ValueError, match=r"y must be 1D or 2D, got an array of shape \(20, 2, 2\)"):
        RNNRegressor(**FAST).fit(X, np.zeros((20, 2, 2)))
    # Numbers written as text are numbers.
    assert RNNRegressor(**dict(FAST, max_epochs=1)).fit(X, np.full(20, "1.5")).n_outputs_ == 1


def test_single_class_is_an_error():
    X, _ = make_classification_sequences(n=20)
    with pytest.raises(ValueError, match="at least 2 classes"):
        RNNClassifier(**FAST).fit(X, np.zeros(20))


def test_continuous_target_is_an_error_for_classifier():
    X, _ = make_classification_sequences(n=20)
    with pytest.raises(ValueError, match="Unknown label type"):
        RNNClassifier(**FAST).fit(X, np.linspace(0, 1, 20))


# -- n_features_in_, feature names, shapes ------------------------------------


def test_n_features_in_and_feature_names():
    X, y = make_classification_sequences(n=40, T=6)
    df = pd.DataFrame(X, columns=[f"t{i}" for i in range(6)])
    clf = RNNClassifier(**FAST).fit(df, y)
    assert clf.n_features_in_ == 6
    np.testing.assert_array_equal(clf.feature_names_in_, df.columns)
    with pytest.raises(ValueError, match="feature names should match"):
        clf.predict(df.iloc[:, :5])
    with pytest.warns(UserWarning, match="does not have valid feature names"):
        message = "X has 5 features, but RNNClassifier is expecting 6 .* columns are the time steps"
        with pytest.raises(ValueError, match=message):
            clf.predict(X[:, :5])

    X3, y3 = make_classification_sequences(n=40, T=6, n_features=3)
    clf.fit(X3, y3)
    assert clf.n_features_in_ == 3
    assert not hasattr(clf, "feature_names_in_")
    # A model fitted on 3D input reads sequences of any length.
    assert clf.predict(X3[:, :4]).shape == (40,)
    with pytest.raises(ValueError, match=r"2 features per time step.*expecting 3[^\[]*$"):
        clf.predict(X3[:, :, :2])
    # One sequence as a table, a row per step: read as sequences of one feature.
    with pytest.raises(ValueError, match=r"1 feature per time step.*in a list: \[X\]"):
        clf.predict(pd.DataFrame(X3[0]))
    assert clf.predict([X3[0]]).shape == (1,)
    # One sequence of one feature, as a column: many one-step sequences.
    clf.fit(X3[:, :, :1], y3)
    with pytest.warns(UserWarning, match="one column, read as sequences of one time step") as w:
        assert clf.predict(X3[0, :, :1]).shape == (6,)
    assert [record.filename for record in w] == [__file__]  # the caller's line
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert clf.predict(X3[0, :, :1][None]).shape == (1,)


@pytest.mark.parametrize(
    "shape, match",
    [((10,), "Reshape your data"), ((10, 4, 2, 2), "Expected 2D .* or 3D")],
)
def test_wrong_dimensionality(shape, match):
    X = np.zeros(shape)
    with pytest.raises(ValueError, match=match):
        RNNClassifier(**FAST).fit(X, np.arange(10) % 2)


def test_predict_before_fit():
    with pytest.raises(NotFittedError):
        RNNRegressor().predict(np.zeros((2, 3)))


def test_invalid_parameter():
    X, y = make_classification_sequences(n=20)
    with pytest.raises(InvalidParameterError, match="cell_type"):
        RNNClassifier(cell_type="transformer").fit(X, y)
    with pytest.raises(InvalidParameterError, match="hidden_size"):
        RNNRegressor(hidden_size=0).fit(X, y)
    with pytest.raises(InvalidParameterError, match="n_networks"):
        RNNClassifier(n_networks=0).fit(X, y)
    with pytest.raises(InvalidParameterError, match="n_networks"):
        RNNClassifier(n_networks="auto").fit(X, y)
    with pytest.raises(InvalidParameterError, match="conv_channels"):
        RNNClassifier(conv_channels=-1).fit(X, y)
    with pytest.raises(InvalidParameterError, match="readout_dropout"):
        RNNRegressor(readout_dropout=1.0).fit(X, y)
    with pytest.raises(InvalidParameterError, match="lr_schedule"):
        RNNClassifier(lr_schedule="plateau").fit(X, y)
    with pytest.raises(InvalidParameterError, match="early_stopping"):
        RNNClassifier(early_stopping="auto").fit(X, y)


# -- architecture parameters ---------------------------------------------------


@pytest.mark.parametrize("cell_type", ["rnn", "rnn_relu", "lstm", "gru"])
@pytest.mark.parametrize("readout", ["mean_last", "last", "mean", "max", "attention"])
def test_every_cell_and_readout_trains(cell_type, readout):
    X, y = make_classification_sequences(n=40, T=8, n_features=2)
    clf = RNNClassifier(
        cell_type=cell_type,
        readout=readout,
        num_layers=2,
        bidirectional=True,
        dropout=0.1,
        hidden_size=6,
        conv_channels=5,
        max_epochs=2,
        random_state=0,
    ).fit(X, y)
    module = clf.net_.module_  # n_networks=1: one network, no ensemble
    assert clf.n_networks_ == 1 and not hasattr(module, "networks")
    expected = {"rnn": "RNN", "rnn_relu": "RNN", "lstm": "LSTM", "gru": "GRU"}[cell_type]
    rnn = module.rnn
    assert type(rnn).__name__ == expected
    assert rnn.num_layers == 2 and rnn.bidirectional and rnn.hidden_size == 6
    assert rnn.dropout == 0.1
    if cell_type.startswith("rnn"):
        assert rnn.nonlinearity == ("relu" if cell_type == "rnn_relu" else "tanh")
    # The front end's channels, not the 2 input features, feed the recurrent layers.
    assert rnn.input_size == 5
    proba = clf.predict_proba(X)
    assert np.isfinite(proba).all()
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, rtol=1e-6)


@pytest.mark.parametrize("optimizer", ["adam", "adamw", "sgd", "rmsprop", torch.optim.Adagrad])
def test_optimizers_train_and_apply_weight_decay(optimizer):
    X, y = make_regression_sequences(n=40)
    lr = 0.1 if optimizer == "sgd" else 1e-2  # plain SGD needs larger steps
    params = dict(FAST, optimizer=optimizer, lr=lr, lr_schedule=None)
    reg = RNNRegressor(**params).fit(X, y)
    names = {"adam": "Adam", "adamw": "AdamW", "sgd": "SGD", "rmsprop": "RMSprop"}
    expected = getattr(torch.optim, names[optimizer]) if optimizer in names else optimizer
    assert type(reg.net_.optimizer_) is expected
    losses = reg.history_[:, "train_loss"]
    assert losses[-1] < 0.8 * losses[0]
    # Weight decay pulls the head's weights towards zero.
    decayed = RNNRegressor(**params, weight_decay=0.5).fit(X, y)
    assert decayed.net_.module_.head.weight.norm() < reg.net_.module_.head.weight.norm()


# -- training: history, early stopping, epochs, callbacks, verbosity ----------


def test_history_and_n_iter():
    X, y = make_classification_sequences(n=60)
    clf = RNNClassifier(**FAST, early_stopping=True).fit(X, y)
    assert clf.n_iter_ == len(clf.history_) >= 1
    for row in clf.history_:
        assert np.isfinite(row["train_loss"]) and np.isfinite(row["valid_loss"])
    clf = RNNClassifier(early_stopping=False, hidden_size=8, max_epochs=7).fit(X, y)
    assert clf.n_iter_ == 7
    assert "valid_loss" not in clf.history_[-1]


def test_epoch_scoring_reads_class_indices_and_standardized_targets():
    # skorch's EpochScoring calls the net's predict and predict_proba; the
    # classifier's net returned probabilities, which "accuracy" refused.
    from skorch.callbacks import EpochScoring

    X, y = make_classification_sequences(n=60)
    labels = np.array(["down", "up"])[y]

    def from_probabilities(net, X, y):
        return float(np.mean(net.predict_proba(X).argmax(axis=1) == y))

    scores = [
        EpochScoring("accuracy", name="acc"),
        EpochScoring(from_probabilities, name="acc_proba"),
        EpochScoring("neg_log_loss", name="nll"),
    ]
    clf = RNNClassifier(**FAST, early_stopping=True, validation_fraction=0.25, callbacks=scores)
    history = clf.fit(X, labels).history_
    np.testing.assert_array_equal(history[:, "acc"], history[:, "acc_proba"])
    assert all(0 <= score <= 1 for score in history[:, "acc"])
    # The validation sequences' log-loss is the validation loss.
    np.testing.assert_allclose(history[:, "nll"], np.negative(history[:, "valid_loss"]), rtol=1e-5)
    # An ensemble's training outputs hold one output per network.
    ensemble = RNNClassifier(
        **dict(FAST, max_epochs=2), n_networks=2, callbacks=[EpochScoring("f1", on_train=True)]
    )
    assert all(0 <= score <= 1 for score in ensemble.fit(X, y).history_[:, "f1"])
    # Scorers of the positive class's probability take the net for the
    # classifier it is (they refused the two columns of probabilities).
    for n_networks in (1, 2):
        auc = EpochScoring("roc_auc", on_train=True)
        clf = RNNClassifier(**dict(FAST, max_epochs=2), n_networks=n_networks, callbacks=[auc])
        assert all(0 <= score <= 1 for score in clf.fit(X, labels).history_[:, "roc_auc"])

    # The regressor's net trains on standardized targets (documented).
    Xr, yr = make_regression_sequences(n=60)
    reg = RNNRegressor(
        **FAST,
        early_stopping=True,
        validation_fraction=0.25,
        callbacks=[EpochScoring("neg_mean_squared_error", name="mse")],
    )
    history = reg.fit(Xr, 1000 * yr + 5000).history_
    np.testing.assert_allclose(history[:, "mse"], np.negative(history[:, "valid_loss"]), rtol=1e-5)
    # An ensemble's training outputs are averaged over its networks, as the
    # classifier's are (3D outputs reached the scorer).
    r2 = EpochScoring("r2", on_train=True)
    reg = RNNRegressor(**dict(FAST, max_epochs=2), n_networks=2, callbacks=[r2]).fit(Xr, yr)
    assert all(np.isfinite(reg.history_[:, "r2"]))


class BatchLosses(Callback):
    """Keeps the loss that the history holds for each batch when it ends."""

    def initialize(self):
        self.losses = []
        return self

    def on_batch_end(self, net, training=False, loss=None, **kwargs):
        key = "train_loss" if training else "valid_loss"
        self.losses.append((net.history[-1, "batches", -1, key], loss.detach().item()))


def test_a_batchs_loss_is_in_the_history_when_it_ends():
    # The losses were written when the epoch ended: skorch's callbacks that
    # read them per batch (LRScheduler with ReduceLROnPlateau on
    # "train_loss", step_every="batch") failed, naming the wrong cause.
    X, y = make_classification_sequences(n=40, T=8)
    recorder = BatchLosses()
    clf = RNNClassifier(**FAST, early_stopping=True, batch_size=16, callbacks=[recorder])
    clf.fit(X, y)
    steps = clf.history_[:, "train_batch_count"] + clf.history_[:, "valid_batch_count"]
    assert len(recorder.losses) == sum(steps)
    assert all(recorded == pytest.approx(loss) for recorded, loss in recorder.losses)
    plateau = LRScheduler(
        torch.optim.lr_scheduler.ReduceLROnPlateau, monitor="train_loss", step_every="batch"
    )
    RNNClassifier(**FAST, lr_schedule=None, callbacks=[plateau]).fit(X, y)


def test_early_stopping_restores_best_weights():
    X, y = make_classification_sequences(n=100)
    # Noisy labels and a big model overfit quickly, so the validation loss
    # turns up and training stops before the epoch budget.
    y = np.where(np.random.RandomState(0).rand(100) < 0.3, 1 - y, y)
    recorder = RecordWeights()
    clf = RNNClassifier(
        hidden_size=64,
        lr=1e-2,
        max_epochs=200,
        n_iter_no_change=5,
        early_stopping=True,
        validation_fraction=0.3,
        callbacks=[("record", recorder)],
        kernel_features=0,  # the head the best epoch had, not one solved after it
        random_state=0,
    ).fit(X, y)
    valid = clf.history_[:, "valid_loss"]
    assert clf.n_iter_ < 200
    # The best epoch as skorch's EarlyStopping counts it: a loss counts as
    # lower when it is at least 1e-4 (relative, the documented threshold) lower.
    best = 0
    for epoch, loss in enumerate(valid):
        best = epoch if loss < valid[best] * (1 - 1e-4) else best
    assert best < clf.n_iter_ - 1
    final = clf.net_.module_.state_dict()
    for name, value in recorder.weights[best].items():
        torch.testing.assert_close(final[name], value)


def test_auto_epoch_budget_adapts_to_data_size():
    small = RNNClassifier()._resolve_auto(np.full(50, 10))["max_epochs"]
    large = RNNClassifier()._resolve_auto(np.full(50_000, 10))["max_epochs"]
    assert small > large
    assert RNNClassifier(max_epochs=3)._resolve_auto(np.full(50, 10))["max_epochs"] == 3
    # 96 sequences make 3 batches of 32: the classifier aims at 300 steps,
    # the regressor at 500.
    assert RNNClassifier()._resolve_auto(np.full(96, 10))["max_epochs"] == 100
    assert RNNRegressor()._resolve_auto(np.full(96, 10))["max_epochs"] == 167
    # With early stopping the validation split trains on nothing: 33
    # sequences hold out 4, and 29 make 4 batches of 8, not 5 (60 epochs,
    # 240 steps instead of 300).
    stopping = RNNClassifier(batch_size=8, early_stopping=True)
    assert stopping._resolve_auto(np.full(33, 10))["max_epochs"] == 75
    X, y = make_classification_sequences(n=33)
    fast = {**FAST, "max_epochs": "auto", "n_iter_no_change": 1000}
    fitted = stopping.set_params(**fast).fit(X, y)
    assert fitted.n_iter_ == 75 and fitted.history_[0, "train_batch_count"] == 4


@pytest.mark.parametrize(
    ("Estimator", "sizes"), [(RNNClassifier, [18, 18]), (RNNRegressor, [32, 4])]
)
def test_training_batch_sizes(Estimator, sizes):
    # The classifier splits each epoch into batches of equal size, so that no
    # step normalizes and updates on a few sequences; the regressor, for which
    # cross-validation favoured it, keeps full batches and a smaller last one.
    X, y = make_classification_sequences(n=36)
    recorder = RecordBatchSizes()
    Estimator(**FAST, callbacks=[("record", recorder)]).fit(X, y)
    assert recorder.sizes == [sizes] * FAST["max_epochs"]


def test_verbose(capsys):
    X, y = make_classification_sequences(n=40)
    RNNClassifier(**FAST).fit(X, y)
    assert capsys.readouterr().out == ""
    RNNClassifier(verbose=1, hidden_size=8, max_epochs=3, early_stopping=True).fit(X, y)
    out = capsys.readouterr().out
    assert "train_loss" in out and "valid_loss" in out


class EvaluateAfterEachBatch(Callback):
    """Switches the module to evaluation mode after every batch, as a per-batch
    prediction would, and records the mode each training forward pass runs in."""

    def on_train_begin(self, net, **kwargs):
        self.modes, self.in_batch = [], False
        net.module_.register_forward_pre_hook(self._record)

    def _record(self, module, args):
        if self.in_batch:
            self.modes.append(module.training)

    def on_batch_begin(self, net, training=False, **kwargs):
        self.in_batch = training

    def on_batch_end(self, net, **kwargs):
        self.in_batch = False
        net.module_.eval()


def test_training_steps_run_in_training_mode_whatever_callbacks_do():
    X, y = make_classification_sequences(n=40)
    callback = EvaluateAfterEachBatch()
    RNNClassifier(**dict(FAST, max_epochs=2), batch_size=16, callbacks=[callback]).fit(X, y)
    assert callback.modes == [True] * 6  # 3 batches in each of 2 epochs


class RecordGradNorm(Callback):
    """Keeps the gradient norm of every training step, as the optimizer sees it."""

    def initialize(self):
        self.norms = []
        return self

    def on_grad_computed(self, net, named_parameters, **kwargs):
        grads = [p.grad.norm() for _, p in named_parameters if p.grad is not None]
        self.norms.append(float(torch.stack(grads).norm()))


def test_gradient_clipping_bounds_the_gradient():
    X, y = make_regression_sequences(n=40)
    params = dict(FAST, lr=1e-2, batch_size=8)
    free = RecordGradNorm()
    RNNRegressor(**params, callbacks=[free]).fit(X, y)
    assert max(free.norms) > 0.2  # the bound below is active
    clipped = RecordGradNorm()
    RNNRegressor(**params, clip_grad_norm=0.1, callbacks=[clipped]).fit(X, y)
    assert max(clipped.norms) <= 0.1 * (1 + 1e-5)


class RecordLR(Callback):
    """Keeps the learning rate of every training batch."""

    def initialize(self):
        self.lrs = []
        return self

    def on_batch_end(self, net, training=False, **kwargs):
        if training:
            self.lrs.append(net.optimizer_.param_groups[0]["lr"])


def test_warmup_cosine_factors():
    schedule = WarmupCosine(total_steps=200, warmup=0.05)  # 10 warm-up steps
    factors = np.array([schedule.factor(step) for step in range(200)])
    np.testing.assert_allclose(factors[:10], np.arange(1, 11) / 10)  # linear, up to lr
    assert factors[10] == 1.0 and np.all(np.diff(factors[10:]) <= 0)  # then only down
    assert factors[105] == pytest.approx(0.5)  # half-way through the decay
    assert 0 < factors[-1] < 1e-3  # the last step still learns, barely


def test_cosine_schedule_spans_the_fit_and_partial_fit_keeps_lr():
    X, y = make_classification_sequences(n=64)
    recorder = RecordLR()
    params = dict(hidden_size=4, conv_channels=4, lr=0.01, batch_size=16, random_state=0)
    clf = RNNClassifier(**params, max_epochs=10, callbacks=[("lr", recorder)]).fit(X, y)
    lrs = np.array(recorder.lrs)
    assert len(lrs) == 40  # 10 epochs of 4 batches: one schedule over all of them
    assert lrs[0] == pytest.approx(0.005) and lrs[1] == pytest.approx(0.01)  # 2 warm-up steps
    assert np.all(np.diff(lrs[1:]) <= 0) and lrs[-1] < 1e-4
    recorder.lrs.clear()
    clf.partial_fit(X, y)
    assert recorder.lrs == [0.01] * 4
    recorder.lrs.clear()
    RNNClassifier(**params, max_epochs=2, lr_schedule=None, callbacks=[("lr", recorder)]).fit(X, y)
    assert recorder.lrs == [0.01] * 8


@pytest.mark.parametrize(
    "fraction, batches",
    [(0.5, 2), (0.99, 1)],  # 32 of 64 held out; 63 of 64 (all but one, not all)
)
def test_cosine_schedule_spans_the_training_batches_of_an_early_stopping_fit(fraction, batches):
    X, y = make_classification_sequences(n=64)
    recorder = RecordLR()
    RNNClassifier(
        hidden_size=4,
        conv_channels=4,
        batch_size=16,
        max_epochs=5,
        early_stopping=True,
        validation_fraction=fraction,
        n_iter_no_change=10,
        random_state=0,
        callbacks=[("lr", recorder)],
    ).fit(X, y)
    # One schedule over every training batch: the rate falls to about 0 at
    # the last step only (a schedule sized for a split that did not happen
    # reached 0 after a quarter of them and stayed there).
    assert len(recorder.lrs) == 5 * batches
    assert min(recorder.lrs[:-1]) > 1e-5 and recorder.lrs[-1] < 2e-4


# -- sample_weight and class_weight --------------------------------------------


def test_weighted_training_and_validation_losses_are_weighted_means():
    # Each loss was a sum of weighted losses over its side's sequences
    # divided by their number: the side of heavier weights read higher
    # (valid 0.723 against 0.696 unweighted, for the same untrained network).
    rng = np.random.RandomState(0)
    X, y = rng.normal(size=(80, 12)), np.arange(80) % 2
    weights = np.where(rng.rand(80) < 0.5, 0.2, 5.0)
    params = dict(FAST, max_epochs=1, lr=1e-9, early_stopping=True, validation_fraction=0.25)
    losses = [
        RNNClassifier(**params).fit(X, y, sample_weight=w).history_[-1, "valid_loss"]
        for w in (None, weights)
    ]
    assert abs(losses[1] - losses[0]) < 0.01
    # The split's two sides, each weighted to average 1.
    dataset = SequenceDataset(X[:, :, None], np.full(80, 12), y, weights)
    for side in ValidationSplit(0.25, stratified=True, random_state=0)(dataset):
        assert side.sample_weight.mean().item() == pytest.approx(1.0)


def test_sample_weight_selects_which_labels_are_learnt():
    X, y = make_classification_sequences(n=100)
    # The same sequences twice, with opposite labels: only the weights say
    # which copy to believe.
    X2, y2 = np.vstack([X, X]), np.concatenate([y, 1 - y])
    for keep in (0, 1):
        w = np.repeat([1.0, 0.0] if keep == 0 else [0.0, 1.0], 100)
        # One network: ensembles with weights are checked by check_estimator.
        clf = RNNClassifier(hidden_size=16, max_epochs=60, n_networks=1, random_state=0)
        clf.fit(X2, y2, sample_weight=w)
        assert clf.score(X, y if keep == 0 else 1 - y) > 0.85


def test_sample_weight_regression_weighted_mean():
    rng = np.random.RandomState(0)
    X = rng.normal(size=(60, 5))
    X2 = np.vstack([X, X])
    y2 = np.concatenate([np.zeros(60), np.ones(60)])
    w = np.concatenate([np.full(60, 3.0), np.ones(60)])
    reg = RNNRegressor(hidden_size=8, max_epochs=60, early_stopping=False, random_state=0)
    pred = reg.fit(X2, y2, sample_weight=w).predict(X)
    # The weighted mean of the two targets is 0.25.
    assert abs(pred.mean() - 0.25) < 0.07


@pytest.mark.parametrize("Estimator", [RNNClassifier, RNNRegressor])
def test_a_sequence_of_weight_zero_is_a_sequence_removed(Estimator):
    # scikit-learn's convention, which bagging relies on (it passes its
    # bootstrap counts as weights): the zero-weight sequences' values and
    # targets once set the input and target statistics and the random kernels.
    X, y = make_classification_sequences(n=40)
    if Estimator is RNNRegressor:
        y = X[:, -3:].sum(axis=1)
    w = np.ones(len(X))
    w[:10] = 0.0
    params = dict(FAST, max_epochs=3, kernel_features=84)
    X_other, y_other = X.copy(), y.copy()
    X_other[:10] = 50.0 + 10.0 * X_other[:10]  # far from the other sequences
    if Estimator is RNNRegressor:
        y_other[:10] += 100.0
    with_zeros = Estimator(**params).fit(X_other, y_other, sample_weight=w)
    removed = Estimator(**params).fit(X[10:], y[10:])
    np.testing.assert_array_equal(with_zeros.predict(X[10:]), removed.predict(X[10:]))
    if Estimator is RNNClassifier:
        np.testing.assert_array_equal(
            with_zeros.predict_proba(X[10:]), removed.predict_proba(X[10:])
        )


@pytest.mark.parametrize(
    "labels",
    [
        np.array(["down", "up"], dtype=object),  # a pandas Series of strings
        np.array([3, 250], dtype=np.uint8),
        np.array(["2026-01-01", "2026-06-01"], dtype="datetime64[ns]"),
    ],
)
def test_a_sequence_of_weight_zero_leaves_the_labels_dtype(labels):
    # Removing the weight-0 rows re-read the classes through a list: object
    # labels came back as "<U", uint8 as int64, and datetimes as Python
    # objects that scikit-learn refused ("classes does not hold class labels").
    X, y = make_classification_sequences(n=20)
    y = labels[y]
    w = np.r_[0.0, np.ones(19)]
    clf = RNNClassifier(**dict(FAST, max_epochs=1)).fit(X, y, sample_weight=w)
    assert clf.classes_.dtype == labels.dtype
    np.testing.assert_array_equal(clf.classes_, labels)
    assert clf.predict(X).dtype == labels.dtype


@pytest.mark.parametrize("kernel_features", [0, 168])
def test_bagging_learns_nothing_from_its_out_of_bag_sequences(kernel_features):
    # With the random kernels too: their draws and the closed-form head's
    # leave-one-out penalty see the bag's sequences only.
    from sklearn.ensemble import BaggingRegressor

    X, _ = make_regression_sequences(n=40)
    y = X[:, -3:].sum(axis=1)
    reg = RNNRegressor(**dict(FAST, max_epochs=3, kernel_features=kernel_features))

    def bag(target):
        return BaggingRegressor(reg, n_estimators=1, random_state=0).fit(X, target)

    first = bag(y)
    out_of_bag = np.ones(len(X), bool)
    out_of_bag[first.estimators_samples_[0]] = False
    assert out_of_bag.any()
    y_other = y.copy()
    y_other[out_of_bag] += 100.0
    np.testing.assert_array_equal(first.predict(X), bag(y_other).predict(X))


def test_a_bag_of_one_class_fits_a_model_of_that_class():
    # Bagging passes its bootstrap counts as sample_weight, and with a rare
    # class some bags hold none of it: the whole fit once failed on them,
    # where LogisticRegression and MLPClassifier predict the class they saw.
    from sklearn.ensemble import BaggingClassifier

    X, _ = make_classification_sequences(n=40)
    y = np.r_[np.ones(3, int), np.zeros(37, int)]
    bag = BaggingClassifier(RNNClassifier(**FAST), n_estimators=8, random_state=5).fit(X, y)
    counts = [np.isin(rows, [0, 1, 2]).sum() for rows in bag.estimators_samples_]
    assert min(counts) == 0  # some bag holds only class 0
    assert bag.predict_proba(X).shape == (40, 2)
    # With the default head solved in closed form, a fit whose weights leave
    # one class predicts that class.
    weights = np.r_[np.zeros(3), np.ones(37)]
    clf = RNNClassifier(**dict(FAST, kernel_features=168)).fit(X, y, sample_weight=weights)
    np.testing.assert_array_equal(clf.classes_, [0, 1])
    np.testing.assert_array_equal(clf.predict(X), np.zeros(40))


def test_sample_weight_zero_sum_is_an_error():
    X, y = make_regression_sequences(n=10)
    # scikit-learn >= 1.7 says "non-zero"; before, sklrnn's own check answers.
    with pytest.raises(ValueError, match="non-zero|weights are all zero"):
        RNNRegressor(**FAST).fit(X, y, sample_weight=np.zeros(10))
    with pytest.raises(ValueError, match="Negative values in data passed to `sample_weight`"):
        RNNRegressor(**FAST).fit(X, y, sample_weight=-np.ones(10))


@pytest.mark.parametrize("class_weight", ["balanced", {0: 1.0, 1: 20.0}])
def test_class_weight_favours_rare_class(class_weight):
    X, y = make_classification_sequences(n=200, seed=3)
    # Make class 1 rare and hard: keep only a few of its members.
    keep = (y == 0) | (np.arange(200) % 8 == 0)
    X, y = X[keep], y[keep]
    plain = RNNClassifier(hidden_size=8, max_epochs=20, random_state=0).fit(X, y)
    weighted = RNNClassifier(
        hidden_size=8, max_epochs=20, random_state=0, class_weight=class_weight
    ).fit(X, y)
    # Weighting the rare class up moves probability towards it everywhere.
    assert weighted.predict_proba(X)[:, 1].mean() > plain.predict_proba(X)[:, 1].mean()


# -- multi-output regression ---------------------------------------------------


def test_multioutput_regression():
    rng = np.random.RandomState(0)
    X = rng.normal(size=(200, 8))
    Y = np.column_stack([X[:, -1], X[:, -2] * 10 + 3])
    reg = RNNRegressor(hidden_size=16, max_epochs=60, random_state=0).fit(X, Y)
    assert reg.n_outputs_ == 2
    pred = reg.predict(X)
    assert pred.shape == (200, 2)
    assert reg.score(X, Y) > 0.8
    # One target in a column stays a column.
    column = RNNRegressor(**FAST).fit(X, Y[:, :1])
    assert column.predict(X).shape == (200, 1)
    # ... and takes the shape of the latest training call's y (a warm start
    # kept the first fit's shape).
    column.set_params(warm_start=True).fit(X, Y[:, 0])
    assert column.predict(X).shape == (200,)
    assert [a.shape for a in column.predict(X, return_std=True)] == [(200,), (200,)]
    column.partial_fit(X, Y[:, :1])
    assert column.predict(X).shape == (200, 1)


# -- randomness, cloning, refitting, continuing --------------------------------


@pytest.mark.parametrize("Estimator", [RNNClassifier, RNNRegressor])
def test_random_state_reproducible_and_leaves_global_rng(Estimator):
    X, y = make_classification_sequences(n=60)
    torch_state = torch.get_rng_state()
    np_state = np.random.get_state()[1].copy()
    a = Estimator(dropout=0.2, num_layers=2, **FAST).fit(X, y)
    b = Estimator(dropout=0.2, num_layers=2, **FAST).fit(X, y)
    np.testing.assert_array_equal(a._forward(X), b._forward(X))
    c = Estimator(dropout=0.2, num_layers=2, **{**FAST, "random_state": 1}).fit(X, y)
    assert not np.array_equal(a._forward(X), c._forward(X))
    assert torch.equal(torch.get_rng_state(), torch_state)
    np.testing.assert_array_equal(np.random.get_state()[1], np_state)


def test_cpu_fit_leaves_the_cuda_generators(monkeypatch):
    # torch.manual_seed would seed every CUDA device's generator too (queued
    # until CUDA starts, on a machine without it), and a CPU fit restores
    # only the CPU generator.
    seeded = []
    monkeypatch.setattr(torch.cuda, "manual_seed_all", seeded.append)
    monkeypatch.setattr(torch.cuda, "manual_seed", seeded.append)
    X, y = make_classification_sequences(n=60)
    RNNClassifier(dropout=0.2, device="cpu", **FAST).fit(X, y)
    assert seeded == []


def test_clone_and_set_params():
    clf = RNNClassifier(cell_type="gru", hidden_size=8)
    clf.set_params(cell_type="lstm", hidden_size=5, max_epochs=2)
    cloned = clone(clf)
    assert cloned.get_params() == clf.get_params()
    X, y = make_classification_sequences(n=30)
    cloned.fit(X, y)
    rnn = cloned.net_.module_.rnn
    assert isinstance(rnn, torch.nn.LSTM) and rnn.hidden_size == 5
    assert not hasattr(clf, "net_")


def test_prediction_checks_the_parameters_it_reads():
    # batch_size and max_length, set after fit, reached numpy and slicing
    # unchecked: a ZeroDivisionError, "slice indices must be integers",
    # "negative dimensions", and max_length=True predicted from 1 step.
    X, y = make_classification_sequences(n=30)
    clf = RNNClassifier(**dict(FAST, max_epochs=1)).fit(X, y)
    for name, value in [("batch_size", 0), ("batch_size", 2.5), ("max_length", -1)]:
        with pytest.raises(InvalidParameterError, match=f"The '{name}' parameter of RNNClassifier"):
            copy.deepcopy(clf).set_params(**{name: value}).predict(X)
    for name in ("batch_size", "max_length"):
        with pytest.raises(TypeError, match=f"'{name}' parameter of RNNClassifier must be an int"):
            copy.deepcopy(clf).set_params(**{name: True}).predict_proba(X)


def test_a_tensor_is_converted_a_chunk_at_a_time(monkeypatch):
    # A bfloat16 or CUDA tensor converts to a float32 array on the CPU: each
    # chunk on its own, so that the bound on prediction's memory holds (a
    # draft of the nested-tensor support converted the whole tensor first).
    X, y = make_classification_sequences(n=40)
    clf = RNNClassifier(**dict(FAST, max_epochs=1, batch_size=8)).fit(X, y)
    expected = clf.predict_proba(X)
    monkeypatch.setattr("sklrnn._base._PREDICT_CHUNK_VALUES", 8 * X.shape[1])  # 5 chunks
    chunks = []
    forward_chunk = sklrnn._base._BaseRNN._forward_chunk

    def spy(self, part, *args, **kwargs):
        chunks.append(part)
        return forward_chunk(self, part, *args, **kwargs)

    monkeypatch.setattr(sklrnn._base._BaseRNN, "_forward_chunk", spy)
    np.testing.assert_array_equal(clf.predict_proba(torch.as_tensor(X)), expected)
    assert len(chunks) == 5 and all(isinstance(part, torch.Tensor) for part in chunks)


def test_refit_starts_from_scratch():
    X, y = make_classification_sequences(n=60, seed=0)
    X2, y2 = make_classification_sequences(n=60, T=9, seed=5)
    clf = RNNClassifier(**FAST).fit(X, y).fit(X2, y2)
    fresh = RNNClassifier(**FAST).fit(X2, y2)
    np.testing.assert_array_equal(clf._forward(X2), fresh._forward(X2))
    assert clf.n_features_in_ == 9
    assert clf.n_iter_ == fresh.n_iter_


def test_a_refused_refit_leaves_the_previous_fit_whole():
    # Checking the new data set classes_, n_features_in_ and the target's
    # scaling before refusing it: predict then failed in numpy or torch, or
    # returned another shape.
    X, y = make_classification_sequences(n=40, T=8)
    clf = RNNClassifier(**dict(FAST, max_epochs=2)).fit(X, np.where(y == 1, "up", "down"))
    expected = clf.predict_proba(X)
    wide = np.repeat(X[:, :, None], 3, axis=2)  # 3 features instead of 1
    for Xbad, ybad in ((X, ["down"] * 40), (wide, ["down"] * 40)):
        with pytest.raises(ValueError, match="at least 2 classes"):
            clf.fit(Xbad, ybad)
        assert clf.classes_.tolist() == ["down", "up"] and clf.n_features_in_ == 8
        np.testing.assert_array_equal(clf.predict_proba(X), expected)
    Xr, yr = make_regression_sequences(n=40)
    reg = RNNRegressor(**dict(FAST, max_epochs=2)).fit(Xr, yr)
    expected = reg.predict(Xr)
    with pytest.raises(
        ValueError, match=r"y has values too large to standardize \(\|y\| up to 1e\+300"
    ):
        reg.fit(Xr, np.stack([yr, np.tile([1e300, -1e300], 20)], axis=1))
    assert reg.n_outputs_ == 1
    np.testing.assert_array_equal(reg.predict(Xr), expected)
    # Parameters are checked after the data: a refused refit left the new
    # data's scaling on the old network (predictions 5,400 instead of 0.4).
    with pytest.raises(TypeError, match="optimizer must be one of"):
        reg.set_params(optimizer=int).fit(Xr, yr * 1e4)
    np.testing.assert_array_equal(reg.predict(Xr), expected)


@pytest.mark.parametrize("name", ["early_stopping", "lr_schedule", "checkpoint", "print_log"])
def test_callbacks_named_as_sklrnns_own_are_refused(name, tmp_path):
    # With early_stopping=True, or a checkpoint, a user's "early_stopping" or
    # "lr_schedule" got skorch's "duplicate callback name" or failed inside
    # the checkpoint's save (no get_resume_state).
    X, y = make_classification_sequences(n=20, T=8)
    clf = RNNClassifier(**FAST, callbacks=[(name, EarlyStopping(monitor="train_loss"))])
    whose = "skorch's default callbacks" if name == "print_log" else "sklrnn's own callback"
    with pytest.raises(ValueError, match=f"one named '{name}', the name of .*{whose}"):
        clf.fit(X, y)
    clf.set_params(callbacks=[("stop", EarlyStopping(monitor="train_loss"))]).fit(X, y)


def test_epoch_scoring_without_caching_is_refused():
    # skorch scores such a callback's data without its targets, which are in
    # sklrnn's own dataset: every fit failed inside scikit-learn (y is None).
    from skorch.callbacks import EpochScoring

    X, y = make_classification_sequences(n=20, T=8)
    score = EpochScoring("accuracy", use_caching=False)
    # The message showed the callback's repr (<skorch...EpochScoring object at 0x7f...>).
    with pytest.raises(ValueError, match=r"use_caching=False \(scoring='accuracy'\), which .* Lea"):
        RNNClassifier(**FAST, early_stopping=True, callbacks=[score]).fit(X, y)


def test_a_torch_scheduler_needs_lr_schedule_none():
    # The default cosine schedule set the rate of every batch after the
    # user's StepLR, which then had no effect (and its event_lr column
    # recorded rates that never trained).
    X, y = make_classification_sequences(n=32, T=8)
    recorder = RecordLR()
    step = LRScheduler(torch.optim.lr_scheduler.StepLR, step_size=1, gamma=0.5)
    params = dict(FAST, lr=0.01, batch_size=32, max_epochs=3)
    with pytest.raises(ValueError, match=r"learning-rate scheduler \(LRScheduler\), and lr_sch"):
        RNNClassifier(**params, callbacks=[step]).fit(X, y)
    RNNClassifier(**params, lr_schedule=None, callbacks=[step, ("lr", recorder)]).fit(X, y)
    np.testing.assert_allclose(recorder.lrs, [0.01, 0.005, 0.0025])


def test_a_torch_scheduler_starts_over_in_each_training_call():
    # A warm start set lr back to the parameter and kept the history, at
    # whose epochs skorch builds the schedule: torch's cosine then scaled lr
    # as if it were the rate the schedule had reached (up to 10 times lr),
    # and a scheduler first given at a warm start failed inside torch ("param
    # 'initial_lr' is not specified").
    X, y = make_classification_sequences(n=32, T=8)
    params = dict(FAST, lr=0.01, batch_size=32, max_epochs=4, lr_schedule=None, warm_start=True)

    def cosine():
        return LRScheduler(torch.optim.lr_scheduler.CosineAnnealingLR, T_max=4)

    def rates(epochs):
        return 0.01 * (1 + np.cos(np.pi * np.asarray(epochs) / 4)) / 2

    recorder = RecordLR()
    clf = RNNClassifier(**params, callbacks=[("lrs", recorder), cosine()]).fit(X, y)
    np.testing.assert_allclose(recorder.lrs, rates(range(4)))
    clf.set_params(callbacks=[("lrs", recorder), cosine()]).fit(X, y)
    np.testing.assert_allclose(recorder.lrs, rates(range(4)))
    # Each partial_fit call, an epoch, starts at the schedule's first rate.
    clf.partial_fit(X, y).partial_fit(X, y)
    np.testing.assert_allclose(recorder.lrs, rates([0, 1, 2, 3, 0, 0]))
    plain = RNNClassifier(**params).fit(X, y)
    plain.set_params(callbacks=[("lrs", recorder), cosine()]).fit(X, y)
    np.testing.assert_allclose(recorder.lrs, rates(range(4)))


def test_a_warm_start_trains_with_the_momentum_its_parameters_set():
    # CyclicLR cycles SGD's momentum: a warm start (or partial_fit) without
    # it kept the cycled 0.85, where a fresh fit and load_model's model train
    # at the optimizer's own, 0.
    X, y = make_classification_sequences(n=32, T=8)
    cyclic = LRScheduler(
        torch.optim.lr_scheduler.CyclicLR,
        base_lr=1e-3,
        max_lr=0.05,
        step_size_up=2,
        step_every="batch",
    )
    params = dict(FAST, optimizer="sgd", lr_schedule=None, warm_start=True, max_epochs=3)
    clf = RNNClassifier(**params, callbacks=[cyclic]).fit(X, y)
    assert {group["momentum"] for group in clf.net_.optimizer_.param_groups} != {0}
    clf.set_params(callbacks=None).fit(X, y)
    assert {group["momentum"] for group in clf.net_.optimizer_.param_groups} == {0}


def test_a_refused_first_fit_leaves_nothing_fitted(tmp_path):
    X, y = make_classification_sequences(n=40, T=8)
    clf = RNNClassifier(**dict(FAST, max_epochs=2), callbacks=["not a callback"])
    with pytest.raises(TypeError, match="callbacks must be a list of skorch callbacks"):
        clf.fit(X, y)
    assert not [name for name in vars(clf) if name.endswith("_")]
    with pytest.raises(NotFittedError):
        clf.predict(X)
    # Another fit's checkpoint is refused once the net is built: it was left
    # built and untrained, predicting from random weights.
    path = tmp_path / "fit.ckpt"
    RNNClassifier(**dict(FAST, max_epochs=2), checkpoint=path).fit(X, y)
    clf = RNNClassifier(**dict(FAST, max_epochs=2), checkpoint=path, warm_start=True)
    with pytest.raises(ValueError, match="written by a fit on other data"):
        clf.fit(X[:30], y[:30])
    assert not [name for name in vars(clf) if name.endswith("_")]


def test_warm_start_continues_training():
    X, y = make_regression_sequences(n=60)
    # No kernel features: the head solved in closed form after each call
    # would not be the head whose training losses the history holds.
    # Seeded: without a seed one draw in many ended its second call above
    # its first (0.251 against 0.234; seeds 0-7 end at 0.05 to 0.07 against
    # 0.16 to 0.29).
    reg = RNNRegressor(
        warm_start=True,
        early_stopping=False,
        hidden_size=8,
        max_epochs=4,
        kernel_features=0,
        random_state=0,
    )
    reg.fit(X, y)
    first = reg.history_[:, "train_loss"]
    reg.fit(X, y)
    assert reg.n_iter_ == 8
    second = reg.history_[4:, "train_loss"]
    # The second call starts where the first ended, not from a fresh network.
    assert max(second) < first[0] / 2
    assert second[-1] < first[-1]


def test_warm_start_applies_changed_training_parameters():
    X, y = make_regression_sequences(n=60)
    reg = RNNRegressor(warm_start=True, early_stopping=False, lr_schedule=None, hidden_size=8)
    reg.set_params(max_epochs=3).fit(X, y)
    assert reg.net_.optimizer_.param_groups[0]["lr"] == reg.lr
    # The schedule switched on: the second training call's last step runs
    # at a tenth of lr (6 steps), not at a constant lr.
    reg.set_params(lr_schedule="cosine", lr=3e-3, early_stopping=True).fit(X, y)
    assert reg.n_iter_ == 6
    assert 0 < reg.net_.optimizer_.param_groups[0]["lr"] < 0.2 * 3e-3
    assert "valid_loss" not in reg.history_[2] and "valid_loss" in reg.history_[3]


def test_warm_start_keeps_the_fitted_weights():
    # At lr=1e-30 training leaves the weights where it finds them: the second
    # call starts from the first call's weights, not from new ones (without
    # kernel features, whose head each fit solves again).
    X, y = make_regression_sequences(n=60)
    reg = RNNRegressor(
        hidden_size=8, warm_start=True, max_epochs=2, lr=1e-30, weight_decay=0.0, kernel_features=0
    )
    fitted = {k: v.clone() for k, v in reg.fit(X, y).net_.module_.named_parameters()}
    reg.set_params(random_state=1).fit(X, y)
    for name, param in reg.net_.module_.named_parameters():
        torch.testing.assert_close(param, fitted[name], msg=name)


def test_warm_start_keeps_the_random_kernels_and_solves_the_head_on_the_new_targets():
    X, y = make_regression_sequences(n=60)
    reg = RNNRegressor(hidden_size=8, conv_channels=8, kernel_features=168, max_epochs=2)
    reg.set_params(warm_start=True, random_state=0).fit(X, y)
    kernels = {k: v.clone() for k, v in reg.net_.module_.kernels.state_dict().items()}
    first = reg.predict(X)
    # Another seed would draw other kernels: the warm start keeps the fitted ones.
    reg.set_params(random_state=1).fit(X, y + 10.0)
    for name, value in reg.net_.module_.kernels.state_dict().items():
        torch.testing.assert_close(value, kernels[name], rtol=0, atol=0, msg=name)
    # The head is solved again, on the new targets (the target's scaling is
    # the first fit's): the predictions move with them.
    np.testing.assert_allclose(np.mean(reg.predict(X) - first), 10.0, atol=0.5)
    assert reg.n_iter_ == 4


def test_warm_start_refuses_a_changed_architecture():
    X, y = make_regression_sequences(n=60)
    reg = RNNRegressor(warm_start=True, hidden_size=8, max_epochs=2).fit(X, y)
    message = "shape it changed: hidden_size from 8 to 16.*warm_start=False"
    with pytest.raises(ValueError, match=message):
        reg.set_params(hidden_size=16).fit(X, y)
    with pytest.raises(ValueError, match="shape it changed: n_networks from 1 to 3"):
        reg.set_params(hidden_size=8, n_networks=3).fit(X, y)
    reg.set_params(n_networks=1, warm_start=False).fit(X, y)  # starts over
    assert reg.n_iter_ == 2


def test_partial_fit():
    X, y = make_classification_sequences(n=60)
    clf = RNNClassifier(hidden_size=8, random_state=0)
    with pytest.raises(ValueError, match="classes must be passed"):
        clf.partial_fit(X, y)
    for i in range(3):
        clf.partial_fit(X[i::3], y[i::3], classes=[0, 1])
        assert clf.n_iter_ == i + 1
    np.testing.assert_array_equal(clf.classes_, [0, 1])
    with pytest.raises(ValueError, match=r"not in classes_ \[0, 1\]\. warm_start=True and partial"):
        clf.partial_fit(X[:2], [0, 7])
    # Other classes later were ignored; the same ones, in any order, are fine.
    with pytest.raises(ValueError, match=r"classes=\[0, 1, 2\] differs .* with, \[0, 1\]"):
        clf.partial_fit(X, y, classes=[0, 1, 2])
    clf.partial_fit(X, y, classes=[1, 0])
    assert clf.n_iter_ == 4

    reg = RNNRegressor(hidden_size=8, random_state=0)
    Xr, yr = make_regression_sequences(n=60)
    losses = [reg.partial_fit(Xr, yr).history_[-1, "train_loss"] for _ in range(5)]
    assert reg.n_iter_ == 5 and losses[-1] < losses[0]


@pytest.mark.parametrize("lr_schedule", ["cosine", None])
def test_partial_fit_continues_the_callbacks_state(lr_schedule):
    # Under the cosine schedule every partial_fit call initialized the
    # callbacks again (the net's set_params does): a count restarted at 1.
    class Count(Callback):
        def initialize(self):
            self.seen_ = 0
            return self

        def on_epoch_end(self, net, **kwargs):
            self.seen_ += 1
            net.history.record("seen", self.seen_)

    X, y = make_classification_sequences(n=20)
    clf = RNNClassifier(**FAST, lr_schedule=lr_schedule, callbacks=[("count", Count())])
    for _ in range(3):
        clf.partial_fit(X, y, classes=[0, 1])
    assert clf.history_[:, "seen"] == [1, 2, 3]
    assert clf.fit(X, y).history_[:, "seen"] == list(range(1, 16))  # a fit starts again


def test_partial_fit_refuses_balanced_class_weights():
    # As scikit-learn's SGDClassifier: one batch does not show the classes'
    # frequencies (a batch of one class was balanced on its own: weights all 1).
    X, y = make_classification_sequences(n=20)
    clf = RNNClassifier(**FAST, class_weight="balanced")
    with pytest.raises(ValueError, match="class_weight='balanced' is not supported by partial"):
        clf.partial_fit(X, y, classes=[0, 1])
    assert not hasattr(clf, "net_")
    clf.set_params(class_weight={0: 1.0, 1: 2.0}).partial_fit(X, y, classes=[0, 1])


def test_labels_of_another_integer_type_than_the_classes_are_encoded_exactly():
    # numpy compares uint64 with int64 in float64, where 10**17 + 1 equals
    # 10**17 + 2: every sequence was trained, and explained, as the first class.
    X, _ = make_classification_sequences(n=30)
    ids = [10**17 + 1, 10**17 + 2]
    y = np.array(ids)[np.arange(30) % 2]
    models = [RNNClassifier(**FAST) for _ in range(2)]
    for model, labels in zip(models, (y.astype(np.uint64), y), strict=True):
        for _ in range(2):
            model.partial_fit(X, labels, classes=ids)
    np.testing.assert_array_equal(models[0].predict_proba(X), models[1].predict_proba(X))
    explained = [sequence_attributions(models[1], X[:2], target=t, n_steps=2) for t in ids]
    by_uint = sequence_attributions(models[1], X[:2], target=np.uint64(ids[1]), n_steps=2)
    np.testing.assert_array_equal(by_uint, explained[1])
    assert not np.array_equal(explained[0], explained[1])


def test_more_than_20_classes_are_no_regression_target_to_warn_of():
    # scikit-learn's check of y, run on the list of the classes (partial_fit's
    # classes, or classes_ after removing sequences of weight 0), warned that
    # more than half of its "samples" were distinct: "y could represent a
    # regression problem".
    X = np.random.RandomState(0).normal(size=(120, 6))
    y = np.repeat(np.arange(30), 4)
    weights = np.r_[0.0, np.ones(119)]
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        RNNClassifier(**{**FAST, "max_epochs": 1}).fit(X, y, sample_weight=weights)
        RNNClassifier(**FAST).partial_fit(X, y, classes=np.arange(30))
    with pytest.warns(UserWarning, match="could represent a regression problem"):
        RNNClassifier(**{**FAST, "max_epochs": 1}).fit(X[:40], np.arange(40))  # y's own


def test_a_class_weight_dict_weighs_the_classes_of_each_partial_fit_batch():
    # A batch without a class the dict names failed inside scikit-learn's
    # weighting ("The classes, [1], are not in class_weight"); the dict's
    # classes weigh what they say, the others 1, as in fit.
    X, y = make_classification_sequences(n=30)
    y = np.arange(30) % 3
    no_2 = y != 2
    clf = RNNClassifier(**FAST, class_weight={0: 1.0, 2: 5.0})
    clf.partial_fit(X[no_2], y[no_2], classes=[0, 1, 2]).partial_fit(X, y)
    weights = clf._training_weights(None, X[:3], np.array([0, 1, 2]))
    np.testing.assert_array_equal(weights, [1.0, 1.0, 5.0])


def test_partial_fit_weighs_every_call_on_the_scale_of_the_first():
    # Each call's weights were scaled to average 1: a class weight did
    # nothing in a stream whose calls hold one class each, and weights of
    # 100 in a call weighed as much as weights of 1.
    X, _ = make_classification_sequences(n=40)
    X0, X1 = X[:20], X[20:] + 0.3

    def stream(class_weight=None, weight_of_1=None):
        clf = RNNClassifier(**FAST, class_weight=class_weight)
        for _ in range(2):
            clf.partial_fit(X0, [0] * 20, classes=[0, 1])
            w = None if weight_of_1 is None else np.full(20, weight_of_1)
            clf.partial_fit(X1, [1] * 20, sample_weight=w)
        return clf.predict_proba(X)

    plain, weighted = stream(), stream(class_weight={0: 1.0, 1: 100.0})
    assert np.abs(weighted - plain).max() > 1e-3
    np.testing.assert_array_equal(weighted, stream(weight_of_1=100.0))


def test_partial_fit_trains_with_the_parameters_set_since_the_fit():
    # partial_fit once kept the fitted net's lr, batch size, weight decay and
    # dropout whatever set_params said since.
    X, y = make_regression_sequences(n=40)
    params = dict(FAST, max_epochs=2, conv_channels=0)  # no batch norm: only steps move it
    reg = RNNRegressor(**params).fit(X, y)
    before = reg.predict(X)
    net = reg.partial_fit(X, y).net_
    assert reg.partial_fit(X, y).net_ is net  # unchanged parameters: the same net
    reg.set_params(lr=1e-12, batch_size=4, weight_decay=0.0, dropout=0.0)
    reg.partial_fit(X, y)
    group = reg.net_.optimizer_.param_groups[0]
    assert (group["lr"], group["weight_decay"]) == (1e-12, 0.0)
    assert reg.history_[-1, "train_batch_count"] == 10  # batches of 4
    assert reg.net_.module_.dropout.p == 0.0 and reg.n_iter_ == 5
    # The weights, not new ones: a step of lr 1e-12 leaves them where the
    # earlier partial fits took them.
    after_two = RNNRegressor(**params).fit(X, y)
    after_two.partial_fit(X, y).partial_fit(X, y)
    np.testing.assert_allclose(reg.predict(X), after_two.predict(X), rtol=1e-4, atol=1e-5)
    assert np.abs(reg.predict(X) - before).max() > 1e-4  # the partial fits trained


@pytest.mark.parametrize(
    "name, value, message",
    [
        # scikit-learn checks a fitted model's partial_fit for none of them:
        # ZeroDivisionError, numpy's IndexError, skorch's "'str' object is
        # not callable", torch's "Invalid learning rate", or no word at all.
        ("batch_size", 0, r"'batch_size' parameter of RNN\w+ must be an int"),
        ("max_length", 6.0, r"'max_length' parameter of RNN\w+ must be"),
        ("optimizer", "foo", r"'optimizer' parameter of RNN\w+ must be"),
        ("lr", -1.0, r"'lr' parameter of RNN\w+ must be a float in the range \(0.0, inf\)"),
        ("lr_schedule", "linear", r"'lr_schedule' parameter of RNN\w+ must be"),
        ("validation_fraction", 2.0, r"'validation_fraction' parameter of RNN\w+ must be"),
        ("device", "gpu", r"device='gpu' is not a torch device"),
    ],
)
@pytest.mark.parametrize("Estimator", [RNNClassifier, RNNRegressor])
def test_partial_fit_refuses_parameters_set_invalid_since_the_fit(Estimator, name, value, message):
    X, y = make_classification_sequences(n=24)
    model = Estimator(**FAST).fit(X, y)
    before = model.predict(X)
    model.set_params(**{name: value})
    with pytest.raises(ValueError, match=message):
        model.partial_fit(X, y)
    model.set_params(**{name: Estimator().get_params()[name]})
    assert model.n_iter_ == FAST["max_epochs"]
    np.testing.assert_array_equal(model.predict(X), before)  # left as it was


# -- persistence ----------------------------------------------------------------


@pytest.mark.parametrize("Estimator", [RNNClassifier, RNNRegressor])
def test_pickle_and_joblib_round_trip(Estimator, tmp_path):
    X, y = make_classification_sequences(n=40)
    est = Estimator(**FAST).fit(X, y)
    expected = est.predict(X)
    restored = pickle.loads(pickle.dumps(est))
    np.testing.assert_array_equal(restored.predict(X), expected)
    joblib.dump(est, tmp_path / "model.joblib")
    np.testing.assert_array_equal(joblib.load(tmp_path / "model.joblib").predict(X), expected)


def test_pickle_loads_in_fresh_process(tmp_path):
    X, y = make_classification_sequences(n=40)
    clf = RNNClassifier(**FAST).fit(X, np.where(y == 1, "yes", "no"))
    (tmp_path / "model.pkl").write_bytes(pickle.dumps(clf))
    np.save(tmp_path / "X.npy", X)
    code = (
        "import pickle, sys, numpy as np; "
        f"clf = pickle.loads(open({str(tmp_path / 'model.pkl')!r}, 'rb').read()); "
        f"X = np.load({str(tmp_path / 'X.npy')!r}); "
        "np.save(sys.argv[1], clf.predict_proba(X)); print(type(clf).__name__)"
    )
    out = tmp_path / "proba.npy"
    result = subprocess.run(
        [sys.executable, "-c", code, str(out)], capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "RNNClassifier"
    np.testing.assert_array_equal(np.load(out), clf.predict_proba(X))


# -- model selection ------------------------------------------------------------


def test_grid_search_in_pipeline():
    X, y = make_classification_sequences(n=90)
    pipe = make_pipeline(StandardScaler(), RNNClassifier(max_epochs=10, random_state=0))
    search = GridSearchCV(
        pipe,
        {"rnnclassifier__cell_type": ["rnn", "lstm", "gru"], "rnnclassifier__hidden_size": [4, 8]},
        cv=3,
    )
    search.fit(X, y)
    assert len(search.cv_results_["params"]) == 6
    assert np.isfinite(search.cv_results_["mean_test_score"]).all()
    best = search.best_estimator_
    assert best[-1].cell_type == search.best_params_["rnnclassifier__cell_type"]
    restored = pickle.loads(pickle.dumps(best))
    np.testing.assert_array_equal(restored.predict(X), best.predict(X))


def test_soft_voting_over_seeds_on_3d_input():
    # docs/choosing_hyperparameters.rst compares averaging whole fits that
    # differ only in random_state (VotingClassifier) with n_networks; the
    # voting ensemble must accept 3D input.
    X, y = make_classification_sequences(n=60, n_features=2)
    fast = {**FAST, "lr": 1e-2}  # FAST's 30 steps learn this at a larger learning rate
    members = [(f"seed{s}", RNNClassifier(**{**fast, "random_state": s})) for s in range(2)]
    ensemble = VotingClassifier(members, voting="soft").fit(X, y)
    fitted = ensemble.estimators_
    assert fitted[0].predict_proba(X).tolist() != fitted[1].predict_proba(X).tolist()
    expected = (fitted[0].predict_proba(X) + fitted[1].predict_proba(X)) / 2
    np.testing.assert_allclose(ensemble.predict_proba(X), expected, rtol=1e-6)
    assert ensemble.score(X, y) > 0.8


def test_cross_val_score_regressor():
    X, y = make_regression_sequences(n=150)
    scores = cross_val_score(
        RNNRegressor(hidden_size=16, max_epochs=40, random_state=0), X, y, cv=3
    )
    assert scores.shape == (3,) and scores.min() > 0.5


def test_standardize_makes_fits_independent_of_input_units():
    X, y = make_classification_sequences()
    # No random kernel features, which with their closed-form head are
    # independent of units on their own.
    params = dict(hidden_size=8, max_epochs=5, kernel_features=0, random_state=0)
    base = RNNClassifier(**params).fit(X, y).predict_proba(X)
    X_units = X * 1000.0 + 50.0
    moved = RNNClassifier(**params).fit(X_units, y).predict_proba(X_units)
    np.testing.assert_allclose(moved, base, atol=1e-4)
    raw = RNNClassifier(**params, standardize=False).fit(X_units, y).predict_proba(X_units)
    assert np.abs(raw - base).max() > 1e-2


def test_predictions_do_not_depend_on_batching_or_chunking(monkeypatch):
    # Every batch runs at full batch_size (the last one filled up, which is
    # cheap here), and big inputs are converted a chunk at a time: neither
    # may change a result.
    X, y = make_classification_sequences(n=80, T=12)
    X[::3, 9:] = np.nan  # a third of the sequences are 9 steps long
    model = RNNClassifier(hidden_size=8, max_epochs=2, batch_size=8, random_state=0).fit(X, y)
    full = model.predict_proba(X)
    for k in (1, 7, 8, 9, 19):
        np.testing.assert_array_equal(model.predict_proba(X[:k]), full[:k])
        np.testing.assert_array_equal(model.predict_proba(X[-k:]), full[-k:])
    monkeypatch.setattr("sklrnn._base._PREDICT_CHUNK_VALUES", 3 * 8 * 12)  # 24 per chunk
    np.testing.assert_array_equal(model.predict_proba(X), full)
    np.testing.assert_array_equal(model.predict_proba(X[:35]), full[:35])


def test_a_list_is_predicted_a_chunk_of_sequences_at_a_time():
    rng = np.random.RandomState(0)
    seqs, y = [rng.normal(size=(10, 1)) for _ in range(20)], np.arange(20) % 2
    model = RNNClassifier(
        hidden_size=4, conv_channels=0, kernel_features=0, max_epochs=1, random_state=0
    ).fit(seqs, y)
    X = [rng.normal(size=(10, 1)) for _ in range(300)] + [rng.normal(size=(30_000, 1))]
    tracemalloc.start()
    try:
        proba = model.predict_proba(X)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    # Padded whole, the list takes 36 MB of float32 (301 sequences of 30,000
    # steps); in chunks of 128 sequences only the last chunk is that wide.
    assert peak < 20e6
    np.testing.assert_allclose(proba[:-1], model.predict_proba(X[:-1]), rtol=1e-5, atol=1e-7)
    # Messages count the sequences of the whole list, not of their chunk.
    X[250] = np.array([[1.0], [np.inf]])
    with pytest.raises(ValueError, match=r"Input X\[250\] contains infinity"):
        model.predict(X)
    X[250] = np.array([[np.nan], [1.0]])
    with pytest.raises(ValueError, match="NaN at sample 250, time step 0, feature 0"):
        model.predict(X)


def test_a_chunk_of_a_list_is_read_as_a_list(monkeypatch):
    rng = np.random.RandomState(0)
    # Fitted on a table of 6 columns; a list of sequences of any length is fine.
    table = pd.DataFrame(rng.normal(size=(30, 6)), columns=[f"t{i}" for i in range(6)])
    model = RNNClassifier(
        hidden_size=4, conv_channels=0, kernel_features=0, max_epochs=1, batch_size=8
    ).fit(table, np.arange(30) % 2)
    X = [list(rng.normal(size=6)) for _ in range(20)] + [list(rng.normal(size=7))]
    expected = model.predict_proba(X)  # one chunk
    # Chunks of 8 sequences: the first two hold sequences of equal length,
    # which alone would read as a table (of plain lists, or object arrays).
    monkeypatch.setattr("sklrnn._base._PREDICT_CHUNK_VALUES", 8 * 7)
    for form in (X, tuple(X), pd.Series(X, index=range(100, 121)), np.array(X, dtype=object)):
        np.testing.assert_array_equal(model.predict_proba(form), expected)
    X[16] = "abcde"  # the first of the last chunk
    with pytest.raises(ValueError, match=r"X\[16\] must hold numbers only"):
        model.predict(X)
    # DataFrames are matched by name, and named by their number in the list.
    frames = [pd.DataFrame(rng.normal(size=(5, 2)), columns=["a", "b"]) for _ in range(20)]
    model.fit(frames, np.arange(20) % 2)
    frames[13] = frames[13].rename(columns={"b": "c"})
    with pytest.raises(ValueError, match=r"X\[13\] does not have the columns"):
        model.predict(frames)
    with pytest.raises(TypeError, match=r"X\[8\] is a DataFrame but X\[12\] is a ndarray"):
        model.predict([*frames[:12], np.zeros((5, 2)), *frames[12:]])
    # Columns named by numbers are no feature names (scikit-learn's rule):
    # read by position, in every chunk alike, and in one order only.
    numbered = [frame.set_axis([0, 1], axis=1) for frame in frames]
    model.fit(numbered, np.arange(20) % 2)
    chunked = model.predict_proba(numbered)
    # One frame in another order, or a whole chunk (each chunk in one order).
    for reordered in ({9}, {16, 17, 18, 19}):
        mixed = [f[[1, 0]] if j in reordered else f for j, f in enumerate(numbered)]
        first = min(reordered)
        with pytest.raises(ValueError, match=rf"X\[{first}\] has the columns \[1, 0\], in an"):
            model.predict(mixed)
    # String names where fit saw none are read by position too: the message
    # advised string names, which these already are.
    mixed = [*frames[:5], frames[5][["b", "a"]]]
    with pytest.raises(ValueError, match=r"X\[5\] .* fitted without feature names, so fea"):
        model.predict(mixed)
    monkeypatch.undo()
    np.testing.assert_array_equal(model.predict_proba(numbered), chunked)


def test_frames_given_to_a_model_fitted_on_a_table_are_read_by_position():
    # Their columns were checked for one order as for a model fitted on
    # sequences: one-column frames under two names were refused as "in
    # another order", and two-column frames named no feature count.
    rng = np.random.RandomState(0)
    table = pd.DataFrame(rng.normal(size=(20, 5)), columns=[f"t{i}" for i in range(5)])
    params = dict(hidden_size=4, conv_channels=0, kernel_features=0, max_epochs=1)
    model = RNNClassifier(**params).fit(table, np.arange(20) % 2)
    frames = [pd.DataFrame({"a": rng.normal(size=5)}), pd.DataFrame({"b": rng.normal(size=4)})]
    np.testing.assert_array_equal(
        model.predict_proba(frames), model.predict_proba([f.to_numpy() for f in frames])
    )
    two = pd.DataFrame(rng.normal(size=(5, 2)), columns=["a", "b"])
    with pytest.raises(ValueError, match="X has 2 features per time step, but RNNClassifier is"):
        model.predict([two, two[["b", "a"]]])


def test_a_last_batch_is_filled_up_only_when_that_is_cheap():
    X, y = make_classification_sequences(n=48, T=60, n_features=1)
    model = RNNClassifier(hidden_size=8, conv_channels=8, max_epochs=2, random_state=0)
    model.fit(X, y)
    rows = []
    model.net_.module_.register_forward_pre_hook(lambda module, args: rows.append(len(args[0])))
    # 16 dummies of 60 steps fill up the last 16 sequences: no more work than theirs.
    full = model.predict_proba(X)
    assert rows == [32, 32]
    # One sequence would need 31 dummies, 1,860 sequence-steps against 60 of
    # its own (and at most 512 more): it runs alone.
    rows.clear()
    single = model.predict_proba(X[:1])
    assert rows == [1]
    np.testing.assert_allclose(single, full[:1], rtol=1e-5, atol=1e-7)
    # Two short sequences: 30 dummies of 8 steps (240 sequence-steps) are
    # cheap, and the batch keeps its full size, rounding as in a full call.
    rows.clear()
    short = model.predict_proba(X[:2, :8])
    assert rows == [32]
    np.testing.assert_array_equal(
        short, model.predict_proba(np.concatenate([X[:2, :8]] * 16)[:32])[:2]
    )


@pytest.mark.parametrize("Estimator", [RNNClassifier, RNNRegressor])
def test_prediction_runs_in_batches_of_the_batch_size_set_after_fit(Estimator):
    # The user guide bounds prediction's memory by lowering batch_size with
    # set_params; prediction kept the fit's 32 (+319 MB, against 17 MB for
    # batches of 2, on 32 sequences of 20,000 steps).
    X, y = make_classification_sequences(n=48, T=30, n_features=1)
    model = Estimator(hidden_size=4, conv_channels=4, max_epochs=2, random_state=0).fit(X, y)
    expected = model.predict(X)
    rows = []
    model.net_.module_.register_forward_pre_hook(lambda module, args: rows.append(len(args[0])))
    model.set_params(batch_size=16)
    np.testing.assert_allclose(model.predict(X), expected, rtol=1e-5, atol=1e-6)
    assert rows == [16, 16, 16]
    rows.clear()
    model.set_params(batch_size=24)
    model.predict(X)
    assert rows == [24, 24]


# -- ensembles of networks ------------------------------------------------------


def test_n_networks_sets_the_number_of_networks():
    X, y = make_classification_sequences(n=40)
    tiny = dict(hidden_size=4, conv_channels=4, max_epochs=1)
    single = RNNClassifier(**tiny).fit(X, y)  # the default: one network
    assert single.n_networks_ == 1 and not hasattr(single.net_.module_, "networks")
    ensemble = RNNRegressor(**tiny, n_networks=3).fit(X, y)
    assert ensemble.n_networks_ == len(ensemble.net_.module_.networks) == 3
    streamed = RNNClassifier(**tiny, n_networks=2).partial_fit(X, y, classes=[0, 1])
    assert streamed.n_networks_ == len(streamed.net_.module_.networks) == 2


@pytest.mark.parametrize(
    "optimizer, lr, clip_grad_norm", [("adam", 0.01, None), ("sgd", 0.1, None), ("sgd", 0.1, 0.05)]
)
def test_each_network_of_an_ensemble_trains_as_it_would_alone(optimizer, lr, clip_grad_norm):
    # Network 0 starts from the weights a single network gets from the same
    # seed and sees the same batches, at the same lr and weight decay, so it
    # must follow the single network's path; a joint loss on the averaged
    # output would couple the networks and move it. Its gradient was 1 / 3
    # of its own loss's: Adam trained it at 3 times the weight decay (0.07
    # away from the single network), SGD at a third of lr.
    X, y = make_classification_sequences(n=60)
    # No dropout: its masks come from one random stream that the networks
    # of an ensemble share.
    params = dict(
        hidden_size=6,
        conv_channels=4,
        dropout=0.0,
        readout_dropout=0.0,
        optimizer=optimizer,
        lr=lr,
        max_epochs=8,
        kernel_features=0,  # a head solved after training is not trained alone
    )
    # Clipping, too, bounds each network's own gradient (0.05 is active here).
    params.update(random_state=0, clip_grad_norm=clip_grad_norm)
    alone = RNNClassifier(**params, n_networks=1).fit(X, y)
    ensemble = RNNClassifier(**params, n_networks=3).fit(X, y)
    first = ensemble.net_.module_.networks[0].state_dict()
    for name, value in alone.net_.module_.state_dict().items():
        np.testing.assert_allclose(first[name], value, atol=1e-5, err_msg=name)
    # ... which goes well beyond that tolerance from the first epoch on.
    early = RNNClassifier(**{**params, "max_epochs": 1}, n_networks=1).fit(X, y)
    weight = "rnn.weight_hh_l0"
    assert (early.net_.module_.state_dict()[weight] - first[weight]).abs().max() > 1e-4
    others = ensemble.net_.module_.networks[1].state_dict()
    assert not torch.allclose(others["rnn.weight_hh_l0"], first["rnn.weight_hh_l0"])


def test_ensemble_averages_probabilities_and_outputs():
    X, y = make_classification_sequences(n=60, n_features=2)
    clf = RNNClassifier(hidden_size=4, max_epochs=5, n_networks=3, random_state=0).fit(X, y)
    X_t = torch.as_tensor(X, dtype=torch.float32)
    lengths = torch.full((len(X),), X.shape[1])
    with torch.no_grad():
        probas = [torch.softmax(n.eval()(X_t, lengths), 1) for n in clf.net_.module_.networks]
    np.testing.assert_allclose(clf.predict_proba(X), torch.stack(probas).mean(0), atol=1e-6)
    np.testing.assert_allclose(np.exp(clf.predict_log_proba(X)), clf.predict_proba(X), atol=1e-6)

    X, y = make_regression_sequences()
    reg = RNNRegressor(hidden_size=4, max_epochs=5, n_networks=3, random_state=0).fit(X, y)
    X_t = torch.as_tensor(X[..., None], dtype=torch.float32)
    lengths = torch.full((len(X),), X.shape[1])
    with torch.no_grad():
        outputs = [n.eval()(X_t, lengths)[:, 0] for n in reg.net_.module_.networks]
    expected = torch.stack(outputs).mean(0).numpy() * reg._y_scale[0] + reg._y_mean[0]
    np.testing.assert_allclose(reg.predict(X), expected, rtol=1e-5, atol=1e-5)


# -- random kernel features and the closed-form head ---------------------------------


def test_fit_ends_with_a_ridge_head_on_the_standardized_features():
    X, y = make_classification_sequences(n=60, seed=3)
    y = np.array(["a", "b", "c"])[np.digitize(X[:, -3:].sum(axis=1), [-1.0, 1.0])]
    clf = RNNClassifier(**{**FAST, "kernel_features": 168}).fit(X, y)
    features = clf.transform(X)
    assert features.shape[1] == 168 + 8 + 2 * 2 * 8  # kernels, front end, recurrent
    scaler = StandardScaler().fit(features)
    ridge = RidgeClassifierCV(alphas=np.logspace(-3, 3, 10)).fit(scaler.transform(features), y)
    X_new = make_classification_sequences(n=40, seed=4)[0]
    new = scaler.transform(clf.transform(X_new))
    np.testing.assert_array_equal(clf.predict(X_new), ridge.predict(new))
    # Probabilities are the ridge's scores, scaled by a bounded factor.
    proba = clf.predict_proba(X_new)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, rtol=1e-6)
    assert (proba > 0).all() and (proba < 1).all()


def test_probabilities_scale_the_ridge_scores_by_a_bounded_factor(monkeypatch):
    # The factor minimizes the log-loss of the leave-one-out scores, within
    # [2, 5] + log(n_classes - 1). Classes that the held-out scores separate
    # would push it up without end (the network's features fitted those very
    # series), so it stops at the cap, which grows with the classes. With one
    # series per class every held-out score is wrong (leaving a series out
    # removes its class), which would flatten predict_proba to uniform; the
    # floor stops it.
    solved = []

    def ridge(*args):
        coef, intercept, held_out = _ridge(*args)
        solved.append(coef)
        return coef, intercept, held_out

    monkeypatch.setattr("sklrnn._classifier._ridge", ridge)
    rng = np.random.RandomState(0)
    two = np.repeat([[-2.0], [2.0]], 20, axis=0) + rng.normal(size=(40, 12))
    four = np.repeat([[-6.0], [-2.0], [2.0], [6.0]], 10, axis=0) + rng.normal(size=(40, 12))
    one_per_class = rng.normal(size=(3, 12)) + 3.0 * np.arange(3)[:, None]
    for X, y, expected in [
        (two, np.repeat([0, 1], 20), 5.0),
        (four, np.repeat([0, 1, 2, 3], 10), 5.0 + np.log(3)),
        (one_per_class, np.array(["a", "b", "c"]), 2.0 + np.log(2)),
    ]:
        clf = RNNClassifier(**{**FAST, "kernel_features": 168}).fit(X, y)
        scale = StandardScaler().fit(clf.transform(X)).scale_
        weight = clf.net_.module_.head.weight.numpy(force=True) * scale
        big = np.abs(solved[-1]) > 1e-6 * np.abs(solved[-1]).max()
        np.testing.assert_allclose(weight[big] / solved[-1][big], expected, rtol=1e-3)
    # Still informative with one series per class: each is its own top class.
    proba = clf.predict_proba(one_per_class)
    np.testing.assert_array_equal(proba.argmax(axis=1), [0, 1, 2])
    assert proba.max(axis=1).min() > 0.5  # uniform: 1 / 3


@pytest.mark.parametrize("n, p", [(30, 50), (80, 20), (40, 40)])
@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("block_values", [None, 70])
def test_ridge_head_solves_what_ridgecv_solves(n, p, weighted, block_values, monkeypatch):
    # The heads' ridge regression decomposes the Gram matrix (n <= p) or the
    # covariance (n > p): both must give RidgeCV's penalty, coefficients,
    # intercepts and leave-one-out predictions, sample weights included, also
    # when the leave-one-out residuals are computed a few rows at a time.
    if block_values is not None:
        monkeypatch.setattr(sklrnn._ridge, "_RIDGE_BLOCK_VALUES", block_values)
    rng = np.random.RandomState(n + p)
    Z = rng.normal(size=(n, p))
    Y = Z[:, :3] @ rng.normal(size=(3, 2)) + rng.normal(size=(n, 2))
    weights = rng.uniform(0.2, 3.0, n) if weighted else None
    reference = RidgeCV(
        alphas=_RIDGE_ALPHAS, scoring="neg_mean_squared_error", store_cv_results=True
    )
    reference.fit(Z, Y, sample_weight=weights)
    held_out = reference.cv_results_[:, :, _RIDGE_ALPHAS.index(reference.alpha_)]
    coef, intercept, loo = _ridge(torch.tensor(Z), Y, weights)  # a copy: overwritten
    np.testing.assert_allclose(coef, reference.coef_, rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(intercept, reference.intercept_, rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(loo, held_out, rtol=1e-9, atol=1e-12)


@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("block_values", [None, 20])
def test_ridge_with_penalties_per_feature_leaves_each_sequence_out_as_a_refit_would(
    weighted, block_values, monkeypatch
):
    # The head on the network's features alone penalizes each feature by
    # alpha plus dropout's penalty for it: its coefficients must solve the
    # penalized normal equations, and its closed-form leave-one-out
    # predictions must be those of refits without each row (also a few rows
    # at a time), at the alpha of least leave-one-out error. More features
    # than rows: the covariance is decomposed even so.
    if block_values is not None:
        monkeypatch.setattr(sklrnn._ridge, "_RIDGE_BLOCK_VALUES", block_values)
    rng = np.random.RandomState(0)
    n, p = 12, 15
    Z = rng.normal(size=(n, p)) + 1.0
    Y = Z[:, :2] @ rng.normal(size=(2, 2)) + rng.normal(size=(n, 2))
    w = rng.uniform(0.2, 3.0, n) if weighted else np.ones(n)
    penalty = np.repeat([0.0, 5.0, 50.0], 5)

    def refit(rows, alpha):  # intercept unpenalized
        A = np.c_[np.ones(len(rows)), Z[rows]]
        weighted_A = w[rows, None] * A
        return np.linalg.solve(
            weighted_A.T @ A + np.diag(np.r_[0.0, penalty + alpha]), weighted_A.T @ Y[rows]
        )

    def held_out(alpha):
        rows = np.arange(n)
        return np.array([np.r_[1.0, Z[i]] @ refit(np.delete(rows, i), alpha) for i in rows])

    errors = [np.sum(w[:, None] * (Y - held_out(alpha)) ** 2) for alpha in _RIDGE_ALPHAS]
    alpha = _RIDGE_ALPHAS[int(np.argmin(errors))]
    beta = refit(np.arange(n), alpha)
    coef, intercept, loo = _ridge(
        torch.tensor(Z), Y, w if weighted else None, penalty=torch.tensor(penalty)
    )
    np.testing.assert_allclose(coef, beta[1:].T, rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(intercept, beta[0], rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(loo, held_out(alpha), rtol=1e-9, atol=1e-12)


def test_regressor_head_reads_the_network_alone_where_it_forecasts_clearly_better(
    monkeypatch, capsys
):
    # Next year's months from a window of the two years before, relative to
    # its last month (the forecasting example's windows): the random kernels
    # count shapes wherever they occur, and a forecast depends on the values
    # at given steps. With the default 5,040 kernel features the head on
    # every feature had 2.3 to 2.5 times the leave-one-out error of the head
    # on the network's features alone, which the regressor then keeps.
    solved = []

    def ridge(*args, **kwargs):
        solved.append(_ridge(*args, **kwargs))
        return solved[-1]

    monkeypatch.setattr(sklrnn._regressor, "_ridge", ridge)
    X, Y = make_windows(np.log(load_airline()), window=24, horizon=12)
    level = X[:80, -1, 0]
    X, Y = X[:80] - level[:, None, None], Y[:80] - level[:, None]
    reg = RNNRegressor(random_state=0, verbose=1).fit(X, Y)
    assert "The head reads the network's features alone" in capsys.readouterr().out
    width = reg.net_.module_.kernel_width
    weight = reg.net_.module_.head.weight
    assert weight[:, :width].abs().max() == 0 and weight[:, width:].abs().max() > 0
    # The noise comes from the kept head's leave-one-out residuals.
    held_out = solved[1][2]
    target = (Y - reg._y_mean) / reg._y_scale
    expected = np.sqrt(np.mean((target - held_out) ** 2, axis=0)) * reg._y_scale
    np.testing.assert_allclose(reg.noise_std_, expected, rtol=1e-5)
    # Targets that count shapes anywhere (spikes) keep the head on every feature.
    rng = np.random.RandomState(0)
    X = rng.normal(scale=0.3, size=(80, 16))
    counts = rng.randint(0, 5, 80)
    for row, count in zip(X, counts, strict=True):
        row[rng.choice(16, count, replace=False)] += 3.0
    reg = RNNRegressor(**{**FAST, "kernel_features": 168, "verbose": 1})
    reg.fit(X, counts.astype(float))
    assert reg.net_.module_.head.weight[:, :168].abs().max() > 0
    assert "features alone" not in capsys.readouterr().out


def test_a_head_is_clearly_better_beyond_two_standard_errors_of_the_paired_difference():
    target = np.zeros(8)
    incumbent = np.ones(8)
    # Lower squared errors on every sequence: the paired gains vary little.
    assert _clearly_better(np.full(8, 0.9), incumbent, target, None)
    # Lower on average, but by one sequence alone: within the noise.
    lucky = np.r_[0.0, np.full(7, 1.01)]
    assert not _clearly_better(lucky, incumbent, target, None)
    # Weights scale each sequence's gain: the same sequence alone, weighted
    # up, still tells nothing.
    assert not _clearly_better(lucky, incumbent, target, np.r_[10.0, np.ones(7)])
    # Non-finite predictions never win.
    assert not _clearly_better(np.full(8, np.nan), incumbent, target, None)


@pytest.mark.parametrize("t, better", [(1.5, False), (1.99, False), (2.01, True), (2.5, True)])
def test_clearly_better_means_a_paired_t_statistic_above_two(t, better):
    # Gains of mean t standard errors: squared errors of 10 against 10 - gain.
    z = np.array([1.0, -1.0, 0.5, -0.5, 2.0, -2.0, 0.25, -0.25])
    z /= z.std(ddof=1)
    gains = z + t / np.sqrt(8)
    incumbent, target = np.full(8, np.sqrt(10.0)), np.zeros(8)
    assert bool(_clearly_better(np.sqrt(10.0 - gains), incumbent, target, None)) is better


def test_clearly_better_weighs_each_sequences_gain():
    # Better on four sequences, as much worse on four others: no gain, until
    # the first four carry the weight.
    candidate, incumbent, target = np.r_[np.full(4, 0.9), np.full(4, 1.1)], np.ones(8), np.zeros(8)
    assert not _clearly_better(candidate, incumbent, target, None)
    weights = np.r_[np.full(4, 10.0), np.full(4, 0.01)]
    assert _clearly_better(candidate, incumbent, target, weights)
    assert not _clearly_better(candidate, incumbent, target, weights[::-1])


def test_a_head_whose_ridge_solution_is_not_finite_keeps_its_training(monkeypatch):
    X, y = make_classification_sequences(n=40, seed=3)
    params = {**FAST, "max_epochs": 3, "kernel_features": 168}
    trained = RNNClassifier(**params)
    monkeypatch.setattr(RNNClassifier, "_solve_heads", lambda self, dataset: None)
    trained.fit(X, y)
    monkeypatch.undo()

    def not_finite(*args, **kwargs):
        coef, intercept, held_out = _ridge(*args, **kwargs)
        return coef * np.nan, intercept, held_out

    monkeypatch.setattr(sklrnn._classifier, "_ridge", not_finite)
    model = RNNClassifier(**params).fit(X, y)
    assert "head_solved" not in model.history_[-1]
    for name, value in trained.net_.module_.head.state_dict().items():
        torch.testing.assert_close(model.net_.module_.head.state_dict()[name], value)
    np.testing.assert_array_equal(model.predict_proba(X), trained.predict_proba(X))


def test_a_head_is_not_solved_from_one_weighted_sequence(monkeypatch):
    # Leave-one-out needs two sequences; weights of 1e-14 of the largest do not count.
    X, y = make_classification_sequences(n=40, seed=3)
    weights = np.r_[1.0, np.full(39, 1e-14)]
    model = RNNClassifier(**{**FAST, "max_epochs": 3, "kernel_features": 168})
    with pytest.warns(UserWarning, match=r"at least 1e12 times each other's \(of the 40 of"):
        model.fit(X, y, sample_weight=weights)
    assert "head_solved" not in model.history_[-1]
    assert np.isfinite(model.predict_proba(X)).all()
    model.fit(X, y, sample_weight=np.r_[1.0, 1.0, np.full(38, 1e-14)])
    assert model.history_[-1, "head_solved"]


def test_partial_fit_after_fit_trains_the_solved_head_by_gradient():
    X, y = make_classification_sequences(n=60, seed=5)
    clf = RNNClassifier(**{**FAST, "kernel_features": 168}).fit(X, y)
    solved = clf.net_.module_.head.weight.detach().clone()
    clf.partial_fit(X, y)
    assert clf.n_iter_ == FAST["max_epochs"] + 1
    changed = clf.net_.module_.head.weight.detach() - solved
    assert changed[:, :168].abs().max() > 0  # the kernels' weights train too
    assert (clf.predict(X) == y).mean() > 0.8


@pytest.mark.parametrize("name", ["gunpoint", "italy_power_demand"])
def test_partial_fit_after_a_default_fit_keeps_what_the_fit_learned(name):
    # Weight decay had shrunk the front end's convolutions (whose scale batch
    # normalization removes) to a tenth of their size: the first partial_fit
    # steps at lr turned them around, and GunPoint's training accuracy fell
    # from 1.00 to 0.52 in the first or second call. And Adam's steps of
    # about lr scrambled the closed-form head's small weights on unscaled
    # kernel features: ItalyPowerDemand's fell to 0.82 at the fourth call.
    from sklrnn import datasets

    X, y = getattr(datasets, f"load_{name}")(split="train", return_X_y=True)
    clf = RNNClassifier(random_state=0).fit(X, y)
    assert clf.score(X, y) == 1.0
    for _ in range(4):
        clf.partial_fit(X, y)
        assert clf.score(X, y) >= 0.95


def test_a_class_of_one_sequence_leaves_the_validation_split_unstratified():
    # train_test_split cannot stratify a class of one member ("The least
    # populated class in y has only 1 member"): the split is then plain.
    X, y = make_classification_sequences(n=40)
    y = y.copy()
    y[0] = 2
    clf = RNNClassifier(**{**FAST, "max_epochs": 2}, early_stopping=True).fit(X, y)
    assert "valid_loss" in clf.history_[-1]
    dataset = SequenceDataset(torch.zeros(40, 3, 1), torch.full((40,), 3), torch.as_tensor(y))
    train, valid = ValidationSplit(0.25, stratified=True, random_state=0)(dataset)
    assert len(train) == 30 and len(valid) == 10


def test_a_weighted_batchs_loss_is_the_mean_of_its_weighted_losses():
    # Weights average 1 over a fit, not within each batch: a batch of heavier
    # weights weighs more in the epoch (no normalization by its weights' sum).
    X, y = make_classification_sequences(n=20)
    net = RNNClassifier(**{**FAST, "max_epochs": 1}).fit(X, y).net_
    y_pred = torch.zeros(4, 2)
    y_true = torch.tensor([0, 0, 0, 0])
    weight = torch.tensor([1.0, 1.0, 1.0, 3.0])
    loss = net.get_loss(y_pred, y_true, X={"sample_weight": weight}, training=True)
    assert float(loss) == pytest.approx(float(np.log(2)) * 6 / 4)
