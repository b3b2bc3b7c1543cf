"""Reliability under faults: divergence, interruption, resuming, threads, pickles."""

import copy
import os
import pickle
import threading
import warnings
from concurrent.futures import ThreadPoolExecutor
from unittest.mock import Mock

import joblib
import numpy as np
import pytest
import sklearn.exceptions
import skorch.callbacks
import torch
from sklearn.base import clone
from sklearn.model_selection import cross_validate
from skorch.callbacks import Callback, LoadInitState, TrainEndCheckpoint

import sklrnn._training
from sklrnn import (
    InconsistentVersionWarning,
    RNNClassifier,
    RNNRegressor,
    load_model,
    save_model,
)
from sklrnn._archive import write_archive
from sklrnn._base import _BaseRNN, _versions
from sklrnn._module import RNNModule
from sklrnn._training import _finite_params, read_checkpoint

SMALL = dict(hidden_size=4, conv_channels=4, batch_size=16, random_state=0)


@pytest.fixture(scope="module")
def data():
    rng = np.random.RandomState(0)
    X = rng.normal(size=(64, 8))
    return X, X[:, -3:].sum(axis=1), (X[:, -3:].sum(axis=1) > 0).astype(int)


class InterruptAt(Callback):
    """Raise KeyboardInterrupt, as Ctrl-C would, after batch ``batch`` of ``epoch``."""

    def __init__(self, epoch, batch=1):
        self.epoch = epoch
        self.batch = batch
        self.fired = False

    def on_batch_end(self, net, training=False, **kwargs):
        row = net.history[-1]
        if training and row["epoch"] == self.epoch and len(row["batches"]) == self.batch:
            if not self.fired:  # once, like a user's Ctrl-C
                self.fired = True
                raise KeyboardInterrupt


class StopAfter(Callback):
    """skorch's idiom to end training: KeyboardInterrupt at the end of an epoch."""

    def __init__(self, epoch):
        self.epoch = epoch

    def on_epoch_end(self, net, **kwargs):
        if len(net.history) == self.epoch:
            raise KeyboardInterrupt


def _losses(model, key="train_loss"):
    return [float(v) for v in model.history_[:, key]] if len(model.history_) else []


# -- diverging training ----------------------------------------------------


# Plain SGD without clipping at this constant rate blows up in the third epoch.
# Diverges after 1 finite epoch (4 with early stopping's validation split).
DIVERGING = dict(lr=1.5, lr_schedule=None, optimizer="sgd", max_epochs=6)


@pytest.mark.parametrize("early_stopping", [False, True])
def test_diverging_training_stops_restores_and_warns(data, early_stopping):
    X, y, _ = data
    params = {**SMALL, **DIVERGING, "early_stopping": early_stopping}
    # The input is standardized: only the other fixes are advised.
    with pytest.warns(
        RuntimeWarning, match=r"diverged.*restored.*Lower lr \(now 1\.5\) or set clip_grad_norm"
    ) as w:
        model = RNNRegressor(**params).fit(X, y)
    assert "standardize" not in str(w[0].message)
    assert w[0].filename == __file__  # it points at the call of fit
    assert 1 <= model.n_iter_ < DIVERGING["max_epochs"]
    assert np.isfinite(_losses(model)).all()
    assert np.isfinite(model.predict(X)).all()
    for param in model.net_.module_.parameters():
        assert torch.isfinite(param).all()
    assert all(
        torch.isfinite(t).all()
        for s in model.net_.optimizer_.state.values()
        for t in s.values()
        if torch.is_tensor(t)
    )


def test_divergence_under_early_stopping_names_the_epoch_the_model_holds():
    # The warning named the guard's last finite epoch (7), whose weights
    # early stopping then replaced by its best epoch's (4).
    rng = np.random.RandomState(0)
    X = rng.normal(size=(40, 10, 2))
    y = X[:, :, 0].sum(axis=1)
    params = dict(
        cell_type="rnn_relu", hidden_size=6, conv_channels=0, kernel_features=0, batch_size=8,
        optimizer="sgd", lr=0.3, lr_schedule=None, max_epochs=30, early_stopping=True,
        n_iter_no_change=30, random_state=0,
    )  # fmt: skip
    with pytest.warns(RuntimeWarning, match="diverged") as record:
        model = RNNRegressor(**params).fit(X, y)
    best = model.history_[-1, "best_epoch"]
    assert best < model.n_iter_
    assert f"the weights of the best epoch on the validation data ({best}) were restored" in str(
        record[0].message
    )
    shorter = RNNRegressor(**{**params, "max_epochs": best}).fit(X, y)
    np.testing.assert_array_equal(model.predict(X), shorter.predict(X))


def test_divergence_on_raw_input_also_advises_standardizing(data):
    X, y, _ = data
    message = r"Lower lr \(now 1\.5\), set clip_grad_norm \(e\.g\. 1\.0\), or standardize the in"
    with pytest.warns(RuntimeWarning, match=message):  # "Lower lr , set ..." before
        RNNRegressor(**SMALL, **DIVERGING, standardize=False).fit(X, y)


def test_a_loss_that_grows_without_overflowing_is_warned_about(data):
    # lr=10 with Adam: losses from 1e4 down to 200 (of standardized
    # targets), finite, and no word; the classifier's at lr=1000, 1e5 to 700.
    X, y, y_class = data
    message = r"went astray: its last training loss \(.*\) is over ten times that of a const"
    with pytest.warns(RuntimeWarning, match=message) as record:
        RNNRegressor(**SMALL, max_epochs=5, lr=10.0).fit(X, y)
    assert record[0].filename == __file__  # it points at the call of fit
    # Adam steps by about lr whatever the gradient's norm: clipping it was
    # advised, and left the loss as high.
    assert str(record[0].message).endswith(" Lower lr (now 10.0).")
    with pytest.warns(RuntimeWarning, match=message) as record:
        RNNClassifier(**SMALL, max_epochs=5, lr=1000.0, kernel_features=0).fit(X, y_class)
    assert record[0].filename == __file__
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        RNNRegressor(**SMALL, max_epochs=5).fit(X, y)
        RNNClassifier(**SMALL, max_epochs=5).fit(X, y_class)


@pytest.mark.parametrize("ratio, astray", [(9.0, False), (11.0, True)])
def test_a_fit_has_gone_astray_beyond_ten_times_a_constant_predictions_loss(
    data, monkeypatch, ratio, astray
):
    X, y, _ = data

    def constant_loss(self, dataset):  # the last loss is `ratio` times this
        return self.history_[-1, "train_loss"] / ratio

    monkeypatch.setattr(RNNRegressor, "_constant_loss", constant_loss)
    with warnings.catch_warnings(record=True) as record:
        warnings.simplefilter("always")
        RNNRegressor(**SMALL, max_epochs=2).fit(X, y)
    assert any("went astray" in str(w.message) for w in record) is astray


def test_weights_on_outlying_targets_are_no_fit_gone_astray():
    # The constant prediction's loss was taken as 1 whatever the weights;
    # with weight 200 on three targets 8 away it is 14: a network still
    # learning them (loss 14.2) was told to lower lr.
    rng = np.random.RandomState(0)
    X = rng.normal(size=(60, 12))
    y = X[:, -1] + 0.1 * rng.normal(size=60)
    y[:3] += 8
    weights = np.where(np.arange(60) < 3, 200.0, 1.0)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        model = RNNRegressor(hidden_size=8, conv_channels=4, max_epochs=5, random_state=0)
        model.fit(X, y, sample_weight=weights)
    assert model.history_[-1, "train_loss"] > 10


def test_diverged_fit_holds_the_last_finite_epoch(data):
    """The restored weights are exactly those after the last finite epoch."""
    X, y, _ = data
    with pytest.warns(
        RuntimeWarning,
        match=r"diverged: the .* in epoch \d+\. Training stopped and the last finite weights",
    ):
        diverged = RNNRegressor(**SMALL, **DIVERGING).fit(X, y)
    assert diverged.n_iter_ >= 1
    shorter = {**SMALL, **DIVERGING, "max_epochs": diverged.n_iter_}
    # The shorter run does not diverge; its loss (about 100) has gone astray.
    with pytest.warns(RuntimeWarning, match="went astray") as record:
        reference = RNNRegressor(**shorter).fit(X, y)
    assert not [w for w in record if "diverged" in str(w.message)]
    np.testing.assert_array_equal(diverged.predict(X), reference.predict(X))
    assert _losses(diverged) == _losses(reference)


def test_divergence_in_the_first_epoch_keeps_initial_weights(data):
    X, y, _ = data
    # No kernel features, whose closed-form head both fits would solve anew.
    params = {**SMALL, **DIVERGING, "lr": 1e6, "kernel_features": 0}
    with pytest.warns(RuntimeWarning, match="before this training call"):
        model = RNNRegressor(**params).fit(X, y)
    assert model.n_iter_ == 0 and len(model.history_) == 0
    # The weights are the initial ones: those of a fit that never stepped
    # (whose batch-norm statistics did move, so that its predictions differ).
    untrained = RNNRegressor(**{**params, "lr": 1e-30}).fit(X, y)
    initial = dict(untrained.net_.module_.named_parameters())
    for name, weight in model.net_.module_.named_parameters():
        torch.testing.assert_close(weight, initial[name], msg=name)


@pytest.mark.parametrize("Estimator", [RNNClassifier, RNNRegressor])
def test_divergence_in_the_first_epoch_still_solves_the_head(data, Estimator):
    # With random kernel features the fit ends by solving the head in closed
    # form on the initial weights that the guard keeps; it has no epoch to
    # record that in (skorch raised "Call new_epoch before recording").
    X, y_reg, y_class = data
    y = y_class if Estimator is RNNClassifier else y_reg
    params = {**SMALL, **DIVERGING, "lr": 1e6, "kernel_features": 168}
    with pytest.warns(RuntimeWarning, match="before this training call"):
        model = Estimator(**params).fit(X, y)
    assert model.n_iter_ == 0 and len(model.history_) == 0
    # A head solved on the kernels' features (and the untrained network's)
    # fits the training data; the initial head does not.
    assert model.score(X, y) > 0.8


def test_weights_that_overflow_only_in_evaluation_mode_raise(data):
    # At lr=4 the first epoch's loss is about 3e11 but finite under batch
    # statistics, and the second's is not: the guard restores the first
    # epoch, whose weights (up to about 1e10) overflow in evaluation mode.
    X, y, _ = data
    message = r"after epoch 1, its outputs on the training data overflow.*Lower lr \(now 4\)"
    with (
        pytest.warns(
            RuntimeWarning,
            match=r"diverged: the .* in epoch \d+\. Training stopped and the last finite weights",
        ),
        pytest.raises(ValueError, match=message),
    ):
        RNNRegressor(**SMALL, **{**DIVERGING, "lr": 4}).fit(X, y)


class OverflowRunningVariance(Callback):
    """Set a batch norm's running variance to inf during ``epoch``."""

    def __init__(self, epoch):
        self.epoch = epoch

    def on_batch_end(self, net, training=False, **kwargs):
        if training and len(net.history) == self.epoch:
            net.module_.front_end.norms[0].running_var.fill_(float("inf"))


def test_overflowing_buffers_count_as_divergence(data):
    # Every weight stays finite, but evaluation would read the inf variance.
    X, y, _ = data
    model = RNNRegressor(**SMALL, max_epochs=4, callbacks=[OverflowRunningVariance(2)])
    with pytest.warns(RuntimeWarning, match="weights became non-finite in epoch 2"):
        model.fit(X, y)
    assert model.n_iter_ == 1
    assert torch.isfinite(model.net_.module_.front_end.norms[0].running_var).all()
    assert np.isfinite(model.predict(X)).all()


@pytest.mark.parametrize("value", [float("nan"), float("inf"), -float("inf")])
@pytest.mark.parametrize(
    "name", ["head.weight", "rnn.bias_hh_l0", "front_end.norms.1.running_mean"]
)
def test_any_non_finite_weight_or_buffer_is_found(name, value):
    # The guard's check after every epoch: one value anywhere, weight or
    # buffer, of either sign.
    module = RNNModule(n_features=2, n_outputs=3, hidden_size=4, conv_channels=4)
    assert _finite_params(module)
    tensor = module.state_dict()[name]
    tensor.view(-1)[tensor.numel() // 2] = value
    assert not _finite_params(module)


class PoisonWeights(Callback):
    """Set the head's weights to NaN after the first batch of ``epoch``."""

    def __init__(self, epoch):
        self.epoch = epoch

    def on_batch_end(self, net, training=False, **kwargs):
        if training and len(net.history) == self.epoch and len(net.history[-1]["batches"]) == 1:
            net.module_.head.weight.data.fill_(float("nan"))


def test_divergence_mid_epoch_is_caught_at_its_end(data):
    # Losses are read once per epoch: the NaN losses of epoch 2's later
    # batches are found when it ends, and the weights from before it restored.
    X, y, _ = data
    model = RNNRegressor(**SMALL, max_epochs=4, callbacks=[PoisonWeights(2)])
    with pytest.warns(RuntimeWarning, match="training loss became nan in epoch 2"):
        model.fit(X, y)
    assert model.n_iter_ == 1
    assert torch.isfinite(model.net_.module_.head.weight).all()
    assert np.isfinite(model.predict(X)).all()


def test_finite_training_is_untouched(data):
    X, y, _ = data
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)
        model = RNNRegressor(**SMALL, max_epochs=4).fit(X, y)
    assert model.n_iter_ == 4
    # Only per-epoch records stay in the history.
    assert all(row["batches"] == [] for row in model.history_)


def test_skorchs_train_end_checkpoint_saves_and_reloads(data, tmp_path):
    # The per-batch records were dropped in the guard's on_train_end, before
    # the callbacks after it: skorch's TrainEndCheckpoint, which names its
    # files after the last batch, failed every fit with an IndexError.
    X, y, _ = data
    end = TrainEndCheckpoint(dirname=str(tmp_path))
    params = {**SMALL, "conv_channels": 0}  # no batch normalization: only steps move it
    model = RNNRegressor(**params, max_epochs=2, callbacks=[end]).fit(X, y)
    assert (tmp_path / "train_end_params.pt").exists()
    assert all(row["batches"] == [] for row in model.history_)
    again = RNNRegressor(**params, max_epochs=1, lr=1e-12, callbacks=[LoadInitState(end)])
    np.testing.assert_allclose(again.fit(X, y).predict(X), model.predict(X), rtol=1e-5)


# One batch per epoch: the guard copies the state once 4 training steps have
# run since its last copy, after epochs 4, 8, ... (and keeps the initial state).
ONE_BATCH = dict(SMALL, batch_size=64, lr_schedule=None, max_epochs=9)


def _one_batch_data(data):
    X, y, _ = data
    return X[:12], y[:12]


@pytest.mark.parametrize(
    "fault, message",
    [
        # Epoch 6's loss was computed before its weights went NaN; epoch 7's is NaN.
        (PoisonWeights(6), "training loss became nan in epoch 7"),
        # Losses stay finite; the buffer is found when the state would be copied.
        (OverflowRunningVariance(6), r"weights became non-finite in epochs 5 to 8"),
    ],
)
def test_short_epochs_fall_back_to_the_last_copy(data, fault, message):
    X, y = _one_batch_data(data)
    model = RNNRegressor(**ONE_BATCH, callbacks=[fault])
    with pytest.warns(RuntimeWarning, match=rf"{message}.*weights \(from epoch 4\)"):
        model.fit(X, y)
    assert model.n_iter_ == 4
    reference = RNNRegressor(**{**ONE_BATCH, "max_epochs": 4}).fit(X, y)
    np.testing.assert_array_equal(model.predict(X), reference.predict(X))


def test_weights_after_the_last_copy_are_checked_when_training_ends(data):
    # Epochs 5 and 6 end training without a copy: their buffer overflow is
    # found at the end, and the copy of epoch 4 restored.
    X, y = _one_batch_data(data)
    params = {**ONE_BATCH, "max_epochs": 6}
    model = RNNRegressor(**params, callbacks=[OverflowRunningVariance(6)])
    with pytest.warns(RuntimeWarning, match=r"non-finite in epochs 5 to 6.*from epoch 4"):
        model.fit(X, y)
    assert model.n_iter_ == 4
    assert np.isfinite(model.predict(X)).all()


def test_validated_short_epochs_are_each_copied(data):
    # Early stopping restores the best validated epoch when training ends:
    # the guard's copy must be no older, so it follows every validated epoch.
    X, y, _ = data
    params = {**ONE_BATCH, "early_stopping": True, "validation_fraction": 0.25}
    model = RNNRegressor(**params, callbacks=[InterruptAt(epoch=3)])
    with pytest.raises(KeyboardInterrupt):
        model.fit(X[:24], y[:24])
    assert model.n_iter_ == 2
    assert np.isfinite(_losses(model, "valid_loss")).all()


def test_interrupt_in_short_epochs_keeps_the_last_copy(data):
    X, y = _one_batch_data(data)
    # No kernel features: a completed fit ends by solving the head in closed
    # form, which an interrupted one skips.
    params = {**ONE_BATCH, "kernel_features": 0}
    model = RNNRegressor(**params, callbacks=[InterruptAt(epoch=7)])
    with pytest.raises(KeyboardInterrupt):
        model.fit(X, y)
    assert model.n_iter_ == 4
    reference = RNNRegressor(**{**params, "max_epochs": 4}).fit(X, y)
    np.testing.assert_array_equal(model.predict(X), reference.predict(X))


# -- interruption ----------------------------------------------------------


@pytest.mark.parametrize("Estimator", [RNNClassifier, RNNRegressor])
def test_keyboard_interrupt_keeps_last_completed_epoch(data, Estimator):
    X, y_reg, y_class = data
    y = y_class if Estimator is RNNClassifier else y_reg
    # A constant learning rate: a shorter fit then takes the same first steps.
    # No random kernel features: a completed fit ends by solving the head in
    # closed form, which an interrupted one skips.
    params = {**SMALL, "lr_schedule": None, "kernel_features": 0}
    model = Estimator(**params, max_epochs=6, callbacks=[InterruptAt(epoch=3, batch=2)])
    with pytest.raises(KeyboardInterrupt):
        model.fit(X, y)
    assert model.n_iter_ == 2
    assert [row["epoch"] for row in model.history_] == [1, 2]
    # The weights are those a two-epoch fit ends with.
    reference = Estimator(**params, max_epochs=2).fit(X, y)
    np.testing.assert_array_equal(model.predict(X), reference.predict(X))
    assert _losses(model) == _losses(reference)


def test_interrupt_in_first_epoch_leaves_a_usable_estimator(data):
    X, y, _ = data
    model = RNNRegressor(**SMALL, max_epochs=3, callbacks=[InterruptAt(epoch=1)])
    with pytest.raises(KeyboardInterrupt):
        model.fit(X, y)
    assert model.n_iter_ == 0
    assert np.isfinite(model.predict(X)).all()
    pickle.loads(pickle.dumps(model)).predict(X)


@pytest.mark.parametrize("epoch", [1, 4])
def test_interrupt_with_early_stopping(data, epoch):
    # In the first epoch none has completed: early stopping has no best
    # weights to restore, and the initial ones stay.
    X, _, y_class = data
    params = {**SMALL, "early_stopping": True, "max_epochs": 8}
    model = RNNClassifier(**params, callbacks=[InterruptAt(epoch=epoch)])
    with pytest.raises(KeyboardInterrupt):
        model.fit(X, y_class)
    assert model.n_iter_ == epoch - 1
    assert np.isfinite(_losses(model, "valid_loss")).all()
    assert model.predict(X).shape == (len(X),)


def test_stop_request_from_a_callback_is_not_an_interrupt(data):
    """skorch callbacks end training with KeyboardInterrupt in on_epoch_end."""
    X, y, _ = data
    params = {**SMALL, "lr_schedule": None}  # the same steps as a 3-epoch fit
    model = RNNRegressor(**params, max_epochs=6, callbacks=[StopAfter(3)]).fit(X, y)
    assert model.n_iter_ == 3
    reference = RNNRegressor(**params, max_epochs=3).fit(X, y)
    np.testing.assert_array_equal(model.predict(X), reference.predict(X))


class Scores(Callback):
    """Record a score in every epoch's row of the history, as EpochScoring does."""

    def on_epoch_end(self, net, **kwargs):
        net.history.record("score", len(net.history))


@pytest.mark.parametrize("stop", ["early_stopping", "a callback"])
def test_every_callback_sees_the_epoch_in_which_training_stops(data, tmp_path, stop):
    # The callbacks after the one that asked to stop skipped that epoch: a
    # user's scores were missing from the last row of history_ (and from the
    # checkpoint's history), which then had fewer of them than epochs.
    X, _, y_class = data
    path = tmp_path / "fit.ckpt"
    if stop == "early_stopping":
        params = dict(early_stopping=True, n_iter_no_change=1, max_epochs=30)
        callbacks = [("scores", Scores())]
    else:
        params = dict(max_epochs=6)
        callbacks = [("stop", StopAfter(3)), ("scores", Scores())]
    model = RNNClassifier(**SMALL, **params, callbacks=callbacks, checkpoint=path)
    model.fit(X, y_class)
    assert model.n_iter_ < params["max_epochs"]
    assert model.history_[:, "score"] == list(range(1, model.n_iter_ + 1))
    net = RNNClassifier(**SMALL, max_epochs=1).fit(X, y_class).net_
    read_checkpoint(path).restore(net, params["max_epochs"], torch.Generator())
    assert net.history[:, "score"] == model.history_[:, "score"]


def test_the_checkpoint_holds_the_weights_a_callback_restored_at_the_end(data, tmp_path):
    # The checkpoint wrote its finished file before a user's EarlyStopping
    # restored its best weights: a warm start from the file continued from
    # other weights than the estimator's.
    from skorch.callbacks import EarlyStopping

    X, _, y_class = data
    path = tmp_path / "fit.ckpt"
    best = EarlyStopping(monitor="train_loss", patience=2, load_best=True)
    params = {**SMALL, "max_epochs": 40, "lr": 0.05, "lr_schedule": None, "kernel_features": 0}
    model = RNNClassifier(**params, checkpoint=path, callbacks=[best]).fit(X, y_class)
    losses = _losses(model)
    assert model.n_iter_ < 40 and np.argmin(losses) < len(losses) - 1  # the best one restored
    other = RNNClassifier(**params).fit(X, y_class).net_
    read_checkpoint(path).restore(other, 40, torch.Generator())
    fitted = model.net_.module_.state_dict()
    for name, tensor in other.module_.state_dict().items():
        assert torch.equal(tensor, fitted[name]), name


def test_the_finished_checkpoint_holds_the_head_solved_after_training(data, tmp_path):
    # It was written at the end of training, before fit solved the head in
    # closed form: the file held the trained head (up to 1.7 apart) and a
    # history without head_solved.
    X, y, _ = data
    path = tmp_path / "solved.ckpt"
    model = RNNRegressor(**SMALL, max_epochs=3, kernel_features=84, checkpoint=path).fit(X, y)
    checkpoint = read_checkpoint(path)
    assert checkpoint.epochs_left == 0 and checkpoint.finished
    other = RNNRegressor(**SMALL, max_epochs=1, kernel_features=84).fit(X, y).net_
    checkpoint.restore(other, 3, torch.Generator())
    assert other.history_[-1, "head_solved"] is True
    fitted = model.net_.module_.state_dict()
    for name, tensor in other.module_.state_dict().items():
        assert torch.equal(tensor, fitted[name]), name


class InterruptAtTrainEnd(Callback):
    """Ctrl-C (or a kill) after the last epoch's file, before the fit ends."""

    def on_train_end(self, net, **kwargs):
        raise KeyboardInterrupt


@pytest.mark.parametrize("early_stopping", [False, True])
@pytest.mark.parametrize("where", ["train_end", "head_solve"])
def test_a_fit_stopped_after_its_last_epoch_resumes_to_its_end(
    data, tmp_path, monkeypatch, early_stopping, where
):
    # The last epoch's file recorded 0 epochs left, which read as a finished
    # fit, and so did the file written at the end of training, before the
    # closed-form solve: the resumed fit trained a whole budget more (10
    # epochs of 5), from the last epoch's weights rather than early stopping's best.
    X, _, y_class = data
    path = tmp_path / "end.ckpt"
    params = dict(SMALL, kernel_features=84, max_epochs=5, early_stopping=early_stopping)
    params["n_iter_no_change"] = 3
    stopped = RNNClassifier(**params, checkpoint=path)
    if where == "train_end":
        stopped.set_params(callbacks=[InterruptAtTrainEnd()])
    else:
        monkeypatch.setattr(RNNClassifier, "_solve_heads", Mock(side_effect=KeyboardInterrupt))
    with pytest.raises(KeyboardInterrupt):
        stopped.fit(X, y_class)
    monkeypatch.undo()
    checkpoint = read_checkpoint(path)
    assert checkpoint.epochs_left == 0 and not checkpoint.finished
    resumed = RNNClassifier(**params, checkpoint=path, warm_start=True).fit(X, y_class)
    whole = RNNClassifier(**params).fit(X, y_class)
    assert resumed.n_iter_ == whole.n_iter_ and read_checkpoint(path).finished
    np.testing.assert_array_equal(resumed.predict_proba(X), whole.predict_proba(X))


# -- checkpoints -----------------------------------------------------------


@pytest.mark.parametrize("early_stopping", [False, True])
@pytest.mark.parametrize("new_estimator", [False, True])
def test_resume_from_checkpoint_equals_uninterrupted_fit(
    data, tmp_path, early_stopping, new_estimator
):
    X, _, y_class = data
    params = {**SMALL, "max_epochs": 7, "early_stopping": early_stopping, "n_iter_no_change": 3}
    path = tmp_path / "fit.ckpt"
    uninterrupted = RNNClassifier(**params).fit(X, y_class)

    model = RNNClassifier(**params, checkpoint=path, callbacks=[InterruptAt(epoch=4)])
    with pytest.raises(KeyboardInterrupt):
        model.fit(X, y_class)
    assert path.exists() and model.n_iter_ == 3
    if new_estimator:  # as in a new process: only the file survives
        model = RNNClassifier(**params, checkpoint=str(path))
    model.set_params(warm_start=True, callbacks=None).fit(X, y_class)

    assert [row["epoch"] for row in model.history_] == list(range(1, model.n_iter_ + 1))
    assert model.n_iter_ == uninterrupted.n_iter_
    np.testing.assert_allclose(_losses(model), _losses(uninterrupted), rtol=1e-6)
    np.testing.assert_allclose(
        model.predict_proba(X), uninterrupted.predict_proba(X), rtol=1e-5, atol=1e-6
    )


@pytest.mark.parametrize("resumed_max_epochs", [7, 4, 12])
def test_resume_continues_the_learning_rate_schedule(data, tmp_path, resumed_max_epochs):
    X, _, y_class = data
    # The cosine schedule spans the whole fit: a resumed fit must continue it
    # at the step where the interrupted one stopped, not warm up again.
    params = {**SMALL, "max_epochs": 7, "lr": 1e-2}
    uninterrupted = RNNClassifier(**params).fit(X, y_class)
    final_lr = uninterrupted.net_.optimizer_.param_groups[0]["lr"]
    assert final_lr < 0.01 * params["lr"]  # near the end of the decay

    path = tmp_path / "schedule.ckpt"
    model = RNNClassifier(**params, checkpoint=path, callbacks=[InterruptAt(epoch=6)])
    with pytest.raises(KeyboardInterrupt):
        model.fit(X, y_class)
    # The resumed fit trains the epochs the interrupted one had left, on its
    # schedule, whatever max_epochs is now (once, a changed max_epochs
    # stretched or squeezed the schedule's remaining steps).
    params["max_epochs"] = resumed_max_epochs
    resumed = RNNClassifier(**params, checkpoint=path, warm_start=True).fit(X, y_class)
    assert resumed.n_iter_ == 7
    assert resumed.net_.optimizer_.param_groups[0]["lr"] == pytest.approx(final_lr)
    np.testing.assert_allclose(_losses(resumed), _losses(uninterrupted), rtol=1e-6)


def test_a_resumed_fit_solves_its_head_on_the_features_of_the_resumed_kernels(
    data, tmp_path, monkeypatch
):
    # Without an int random_state a resumed fit first draws other kernels
    # than the interrupted fit's, then loads the checkpoint's. It once kept
    # training, and solved its head, on the features of the kernels it drew,
    # not those that predict computes.
    X, _, y_class = data
    params = {**SMALL, "random_state": None, "max_epochs": 5, "kernel_features": 84}
    path = tmp_path / "kernels.ckpt"
    np.random.seed(0)  # random_state=None draws from numpy's global generator
    with pytest.raises(KeyboardInterrupt):
        RNNClassifier(**params, checkpoint=path, callbacks=[InterruptAt(epoch=3)]).fit(X, y_class)
    solved_on = []
    solve = _BaseRNN._solve_heads

    def spy(self, dataset, **kwargs):
        with torch.no_grad():
            computed = self.net_.module_.kernel_features(dataset.X, dataset.lengths)
        solved_on.append((dataset.kernel_features.clone(), computed))
        return solve(self, dataset, **kwargs)

    monkeypatch.setattr(_BaseRNN, "_solve_heads", spy)
    np.random.seed(1)  # another seed than the interrupted fit's
    RNNClassifier(**params, checkpoint=path, warm_start=True).fit(X, y_class)
    ((cached, computed),) = solved_on
    torch.testing.assert_close(cached, computed)


def test_finished_checkpoint_warm_starts_a_new_estimator(data, tmp_path):
    X, y, _ = data
    path = tmp_path / "done.ckpt"
    # No kernel features: each fit's closed-form head on their 5,040 features
    # nearly interpolates the 64 training series, whatever the network
    # learnt, which would hide the training compared here.
    params = {**SMALL, "kernel_features": 0}
    first = RNNRegressor(**params, max_epochs=3, checkpoint=path).fit(X, y)
    # A fit that finished leaves a checkpoint a new estimator continues from.
    second = RNNRegressor(**params, max_epochs=2, checkpoint=path, warm_start=True).fit(X, y)
    assert second.n_iter_ == 5
    assert _losses(second)[:3] == pytest.approx(_losses(first))
    # ... as a new training call, with a learning-rate schedule of its own: the
    # finished one ended near 0, which would leave the weights where they were.
    assert np.abs(second.predict(X) - first.predict(X)).max() > 1e-3
    # Without warm_start, fit starts over and overwrites the file.
    third = RNNRegressor(**params, max_epochs=2, checkpoint=path).fit(X, y)
    assert third.n_iter_ == 2
    assert read_checkpoint(path).epochs_left == 0


def test_a_checkpoint_of_early_stopping_without_a_split_resumes(data, tmp_path):
    # A single sequence, none held out: early stopping's threshold stays inf,
    # which the file held and read_checkpoint then refused as malformed.
    X, y, _ = data
    path = tmp_path / "small.ckpt"
    params = dict(SMALL, max_epochs=2, early_stopping=True)
    model = RNNRegressor(**params, checkpoint=path, warm_start=True).fit(X[:1], y[:1])
    assert "valid_loss" not in model.history_[-1]
    assert model.fit(X[:1], y[:1]).n_iter_ == 4


def test_checkpoint_that_does_not_fit_is_named(data, tmp_path):
    X, y, _ = data
    path = tmp_path / "other.ckpt"
    RNNRegressor(**SMALL, max_epochs=1, checkpoint=path).fit(X, y)
    wider = RNNRegressor(**{**SMALL, "hidden_size": 5}, checkpoint=path, warm_start=True)
    # The message names what differs: a parameter, the data, the estimator.
    with pytest.raises(ValueError, match=r"by a fit with other parameters \(hidden_size\)"):
        wider.fit(X, y)
    same = RNNRegressor(**SMALL, checkpoint=path, warm_start=True)
    with pytest.raises(ValueError, match=r"by a fit on other data \(X, y or sample_weight\)"):
        same.fit(X[:-1], y[:-1])
    other = RNNClassifier(**SMALL, checkpoint=path, warm_start=True)
    with pytest.raises(ValueError, match="by a fit of RNNRegressor, not RNNClassifier"):
        other.fit(X, (y > 0).astype(int))
    # A checkpoint given to load_model, a model file given as a checkpoint:
    # "holds the unknown member 'checkpoint.json'", as a damaged file.
    with pytest.raises(ValueError, match="other.ckpt' is a checkpoint, not a model file of save"):
        load_model(path)
    model_file = tmp_path / "m.zip"
    save_model(RNNRegressor(**SMALL, max_epochs=1).fit(X, y), model_file)
    mistaken = RNNRegressor(**SMALL, checkpoint=model_file, warm_start=True)
    with pytest.raises(ValueError, match=r"m.zip' is a model file of save_model, not a checkp"):
        mistaken.fit(X, y)
    path.write_bytes(b"not a checkpoint")
    with pytest.raises(ValueError, match=r"Checkpoint '.*other.ckpt' is not a zip archive"):
        RNNRegressor(**SMALL, checkpoint=path, warm_start=True).fit(X, y)


def test_checkpoint_resumes_with_equal_parameters_of_other_types(data, tmp_path):
    # repr() told np.float64(0.001) from 0.001 (a value from best_params_),
    # dicts by their order, RandomState(0) by its address, and 0 from 0.0:
    # the fit was refused as "other parameters".
    X, y, y_class = data
    path = tmp_path / "typed.ckpt"
    params = dict(SMALL, lr=0.001, hidden_size=4, class_weight={0: 1.0, 1: 2.0}, weight_decay=0)
    params["random_state"] = np.random.RandomState(0)
    interrupted = RNNClassifier(**params, max_epochs=3, checkpoint=path, callbacks=[InterruptAt(2)])
    with pytest.raises(KeyboardInterrupt):
        interrupted.fit(X, y_class)
    typed = dict(params, lr=np.float64(0.001), hidden_size=np.int64(4))
    typed.update(class_weight={1: 2, 0: 1}, random_state=np.random.RandomState(0))
    typed.update(weight_decay=0.0)
    resumed = RNNClassifier(**typed, max_epochs=3, checkpoint=path, warm_start=True)
    assert resumed.fit(X, y_class).n_iter_ == 3


def test_checkpoint_resumes_the_same_sequences_padded_wider(data, tmp_path):
    # The data's hash read the padding past the longest sequence: the same
    # sequences NaN-padded wider (the same fit, to the bit) were "other data".
    X, _, y_class = data
    path = tmp_path / "wide.ckpt"
    wider = np.concatenate([X, np.full((len(X), 3), np.nan)], axis=1)
    interrupted = RNNClassifier(**SMALL, max_epochs=3, checkpoint=path, callbacks=[InterruptAt(2)])
    with pytest.raises(KeyboardInterrupt):
        interrupted.fit(wider, y_class)
    resumed = RNNClassifier(**SMALL, max_epochs=3, checkpoint=path, warm_start=True).fit(X, y_class)
    whole = RNNClassifier(**SMALL, max_epochs=3).fit(X, y_class)
    assert resumed.n_iter_ == 3
    np.testing.assert_array_equal(resumed.predict_proba(X), whole.predict_proba(X))


def test_fits_under_inference_mode_train_as_outside_it(data):
    # Built inside the caller's inference_mode, the parameters were inference
    # tensors: fit failed in torch's backward, and a warm start kept them, so
    # that every later partial_fit and warm fit failed as well.
    X, _, y_class = data
    expected = RNNClassifier(**SMALL, max_epochs=2).fit(X, y_class)
    with torch.inference_mode():
        model = RNNClassifier(**SMALL, max_epochs=2).fit(X, y_class)
        np.testing.assert_array_equal(model.predict_proba(X), expected.predict_proba(X))
        model.set_params(warm_start=True).fit(X, y_class)
        model.partial_fit(X, y_class)
    assert not any(p.is_inference() for p in model.net_.module_.parameters())
    model.partial_fit(X, y_class)
    assert model.n_iter_ == 6


@pytest.mark.parametrize("how", ["load_model", "pickle"])
def test_a_model_loaded_under_inference_mode_trains_on(data, tmp_path, how):
    # load_model and pickle built inference tensors there: partial_fit and warm
    # starts failed after it ("Inplace update to inference tensor outside InferenceMode").
    X, _, y_class = data
    fitted = RNNClassifier(**SMALL, max_epochs=2).fit(X, y_class)
    save_model(fitted, tmp_path / "m.zip")
    with torch.inference_mode():
        model = load_model(tmp_path / "m.zip") if how == "load_model" else copy.deepcopy(fitted)
    model.partial_fit(X, y_class)
    assert model.set_params(warm_start=True, max_epochs=1).fit(X, y_class).n_iter_ == 4


def test_the_same_randomstate_resumes_the_fit_it_interrupted(data, tmp_path):
    # The interrupted fit had drawn its seed from the instance: the next fit
    # drew another, and was refused as "other parameters (random_state)".
    X, _, y_class = data
    path = tmp_path / "state.ckpt"
    state = np.random.RandomState(0)
    model = RNNClassifier(
        **{**SMALL, "random_state": state},
        max_epochs=3,
        checkpoint=path,
        callbacks=[InterruptAt(2)],
    )
    with pytest.raises(KeyboardInterrupt):
        model.fit(X, y_class)
    fresh = np.random.RandomState(0).get_state()
    np.testing.assert_array_equal(state.get_state()[1], fresh[1])  # the draw given back
    assert state.get_state()[2] == fresh[2]
    model.set_params(callbacks=None, warm_start=True).fit(X, y_class)
    whole = RNNClassifier(**{**SMALL, "random_state": np.random.RandomState(0)}, max_epochs=3)
    assert model.n_iter_ == 3
    np.testing.assert_array_equal(model.predict_proba(X), whole.fit(X, y_class).predict_proba(X))


def test_a_ctrl_c_while_the_checkpoint_is_written_is_an_interrupt(data, tmp_path, monkeypatch):
    # A KeyboardInterrupt at the end of an epoch is skorch's stop request: a
    # Ctrl-C that landed during the write ended the fit as finished (no
    # interrupt, the file marked with no epochs left).
    X, y, _ = data
    path = tmp_path / "fit.ckpt"
    written = []

    def interrupted_at_the_second(fh, members, where):
        written.append(where)
        if len(written) == 2:
            raise KeyboardInterrupt
        return write_archive(fh, members, where)

    monkeypatch.setattr(sklrnn._training, "write_archive", interrupted_at_the_second)
    model = RNNRegressor(**SMALL, max_epochs=4, checkpoint=path)
    with pytest.raises(KeyboardInterrupt):
        model.fit(X, y)
    assert model.n_iter_ == 2 and read_checkpoint(path).epochs_left == 3  # epoch 1's file
    assert not list(tmp_path.glob("*.tmp"))


def _interrupt_at(calls, nth=2):
    """A wrapper of a function that raises KeyboardInterrupt, as a Ctrl-C would,
    on the ``nth`` of its ``calls`` that the wrapper's ``which`` argument selects."""

    def wrap(function, which=lambda *args, **kwargs: True):
        def interrupted(*args, **kwargs):
            if which(*args, **kwargs):
                calls.append(args)
                if len(calls) == nth:
                    raise KeyboardInterrupt
            return function(*args, **kwargs)

        return interrupted

    return wrap


@pytest.mark.parametrize(
    "where", ["archive", "file", "guard", "early_stopping", "users_early_stopping"]
)
def test_a_ctrl_c_in_sklrnns_end_of_epoch_work_is_an_interrupt(data, tmp_path, monkeypatch, where):
    # A Ctrl-C that landed while the checkpoint's archive was built (before
    # its write), in the guard's copy of the weights or in early stopping's
    # work read as skorch's stop request: fit returned as finished after 1
    # of 4 epochs, its checkpoint marked so. One that landed just after the
    # temporary file was created left it behind; one in the guard's copy
    # left the history at epoch 2 with epoch 1's optimizer state.
    X, y, _ = data
    path = tmp_path / "fit.ckpt"
    params = dict(SMALL, max_epochs=4, checkpoint=path, early_stopping=where == "early_stopping")
    if where == "users_early_stopping":  # asks to stop only once its patience runs out
        params["callbacks"] = [skorch.callbacks.EarlyStopping(monitor="train_loss", patience=3)]
    calls = []  # interrupted at epoch 2's end: the guard copies at train begin too
    wrap = _interrupt_at(calls, nth={"archive": 4, "guard": 3}.get(where, 2))
    if where == "archive":  # the second save's first tensors (3 members each)
        patched = wrap(sklrnn._training.tensors_to_bytes)
        monkeypatch.setattr(sklrnn._training, "tensors_to_bytes", patched)
    elif where == "file":  # created, and then the Ctrl-C (before the fd is returned)

        def created_then_interrupted(path, flags, *args):
            fd = real_open(path, flags, *args)
            if flags & os.O_EXCL and str(path).endswith(".tmp"):
                calls.append(path)
                if len(calls) == 2:
                    os.close(fd)
                    raise KeyboardInterrupt
            return fd

        real_open = os.open
        monkeypatch.setattr(os, "open", created_then_interrupted)
    elif where == "guard":  # the optimizer's copy, after the module's
        optimizer_state = lambda state: isinstance(state, dict) and "param_groups" in state  # noqa: E731
        monkeypatch.setattr(
            sklrnn._training, "_clone_state", wrap(sklrnn._training._clone_state, optimizer_state)
        )
    else:  # at epoch 2's end, before its patience runs out (sklrnn's or the user's)
        epoch_end = wrap(skorch.callbacks.EarlyStopping.on_epoch_end)
        monkeypatch.setattr(skorch.callbacks.EarlyStopping, "on_epoch_end", epoch_end)
    model = RNNRegressor(**params)
    with pytest.raises(KeyboardInterrupt):
        model.fit(X, y)
    assert not list(tmp_path.glob("*.tmp"))
    assert read_checkpoint(path).epochs_left == 3  # epoch 1's file
    # The weights, optimizer and history of one epoch (4 batches each).
    steps = {s["step"].item() for s in model.net_.optimizer_.state_dict()["state"].values()}
    assert steps == {4 * model.n_iter_}
    monkeypatch.undo()
    resumed = RNNRegressor(**params, warm_start=True).fit(X, y)
    uninterrupted = RNNRegressor(**dict(params, checkpoint=None)).fit(X, y)
    assert resumed.n_iter_ == uninterrupted.n_iter_
    np.testing.assert_allclose(resumed.predict(X), uninterrupted.predict(X), rtol=1e-5, atol=1e-6)


def test_a_fit_interrupted_after_early_stopping_asked_to_stop_resumes_to_its_end(
    data, tmp_path, monkeypatch
):
    # The stop epoch's file has epochs left; after a Ctrl-C in the printed
    # log, which follows the checkpoint, the resumed early stopping counted
    # past its patience and never stopped (20 epochs for 2, in one case).
    X, y, _ = data
    path = tmp_path / "fit.ckpt"
    params = dict(SMALL, max_epochs=30, early_stopping=True, n_iter_no_change=1, lr=1e-5)
    uninterrupted = RNNRegressor(**params).fit(X, y)
    stop = uninterrupted.n_iter_
    assert stop < 30
    log_row = skorch.callbacks.PrintLog.on_epoch_end

    def interrupted_at_the_stop(self, net, **kwargs):
        if len(net.history) == stop:
            raise KeyboardInterrupt
        return log_row(self, net, **kwargs)

    monkeypatch.setattr(skorch.callbacks.PrintLog, "on_epoch_end", interrupted_at_the_stop)
    with pytest.raises(KeyboardInterrupt):  # verbose: the log is printed
        RNNRegressor(**params, checkpoint=path, verbose=1).fit(X, y)
    assert read_checkpoint(path).epochs_left == 30 - stop
    monkeypatch.undo()
    resumed = RNNRegressor(**params, checkpoint=path, warm_start=True).fit(X, y)
    assert resumed.n_iter_ == stop
    np.testing.assert_allclose(resumed.predict(X), uninterrupted.predict(X), rtol=1e-5, atol=1e-6)


def test_a_ctrl_c_in_the_closed_form_solve_leaves_every_head_as_trained(data, monkeypatch):
    # The first network's head was replaced, the second's not: a model of
    # neither kind, with head_solved in its history and no note.
    X, y, _ = data
    params = dict(SMALL, max_epochs=2, kernel_features=84, n_networks=2)
    solve = RNNRegressor._ridge_head
    calls = []

    def interrupted_at_the_second(self, *args):
        calls.append(args)
        if len(calls) == 2:
            raise KeyboardInterrupt
        return solve(self, *args)

    monkeypatch.setattr(RNNRegressor, "_ridge_head", interrupted_at_the_second)
    model = RNNRegressor(**params)
    with pytest.raises(KeyboardInterrupt) as interrupt:
        model.fit(X, y)
    assert "solve of the head was interrupted" in " ".join(interrupt.value.__notes__)
    assert "head_solved" not in model.history_[-1]
    monkeypatch.setattr(RNNRegressor, "_solve_heads", lambda self, dataset: None)
    as_trained = RNNRegressor(**params).fit(X, y)
    np.testing.assert_array_equal(model.predict(X), as_trained.predict(X))


def test_checkpoint_names_as_long_as_the_file_system_allows_are_written(data, tmp_path):
    # The temporary file took the checkpoint's name and 22 characters more:
    # past 255, "Cannot write checkpoint ... Make its folder writable".
    X, y, _ = data
    path = tmp_path / ("c" * 245 + ".ckpt")
    RNNRegressor(**SMALL, max_epochs=1, checkpoint=path).fit(X, y)
    assert read_checkpoint(path).epochs_left == 0
    assert not path.stat().st_mode & 0o111  # a data file, created as open() creates them


def test_a_refit_that_fails_before_training_keeps_the_checkpoint(data, tmp_path):
    # It leaves the previous model, whose file it removed as it set up.
    X, y, _ = data
    path = tmp_path / "fit.ckpt"
    model = RNNRegressor(**SMALL, max_epochs=2, checkpoint=path).fit(X, y)
    written = path.read_bytes()

    class FailsAtTrainBegin(Callback):
        def on_train_begin(self, net, **kwargs):
            raise RuntimeError("no training today")

    with pytest.raises(RuntimeError, match="no training today"):
        model.set_params(callbacks=[FailsAtTrainBegin()]).fit(X, y)
    assert path.read_bytes() == written


def test_a_new_fit_interrupted_in_its_first_epoch_leaves_no_other_fits_file(data, tmp_path):
    # The file of a finished fit on other data stayed: a resume then
    # continued that fit (or was refused as "a fit on other data").
    X, _, y_class = data
    path = tmp_path / "fit.ckpt"
    params = dict(SMALL, max_epochs=3, checkpoint=path)
    RNNClassifier(**params).fit(X[:40], y_class[:40])
    with pytest.raises(KeyboardInterrupt):
        RNNClassifier(**params, callbacks=[InterruptAt(epoch=1)]).fit(X, y_class)
    assert not path.exists()
    resumed = RNNClassifier(**params, warm_start=True).fit(X, y_class)  # from scratch
    uninterrupted = RNNClassifier(**dict(params, checkpoint=None)).fit(X, y_class)
    assert resumed.n_iter_ == 3
    np.testing.assert_array_equal(resumed.predict_proba(X), uninterrupted.predict_proba(X))
    # So does one whose first epoch diverges.
    with pytest.warns(RuntimeWarning, match="diverged"):
        diverged = RNNClassifier(**params, optimizer="sgd", lr=1e30).fit(X, y_class)
    assert diverged.n_iter_ == 0 and not path.exists()


def test_a_randomstate_gets_its_draw_back_from_a_fit_that_fails(data, tmp_path):
    # Only an interrupt gave it back: after a checkpoint that could not be
    # written, the resume its message advises was refused ("other
    # parameters (random_state)"), and a refused fit moved it on.
    X, y, _ = data
    state = np.random.RandomState(0)
    with pytest.raises(ValueError, match="NaN"):
        RNNRegressor(**dict(SMALL, random_state=state)).fit(X, np.full(len(X), np.nan))
    folder = tmp_path / "gone"
    folder.mkdir()

    class RemoveFolder(Callback):
        def on_epoch_begin(self, net, **kwargs):
            if len(net.history) == 2 and folder.exists():
                (folder / "fit.ckpt").rename(tmp_path / "kept.ckpt")
                folder.rmdir()

    params = dict(SMALL, random_state=state, max_epochs=4, checkpoint=folder / "fit.ckpt")
    with pytest.raises(OSError, match="resume with warm_start=True"):
        RNNRegressor(**params, callbacks=[RemoveFolder()]).fit(X, y)
    np.testing.assert_array_equal(state.get_state()[1], np.random.RandomState(0).get_state()[1])
    folder.mkdir()
    (tmp_path / "kept.ckpt").rename(folder / "fit.ckpt")
    resumed = RNNRegressor(**params, warm_start=True).fit(X, y)
    whole = RNNRegressor(**dict(params, random_state=np.random.RandomState(0), checkpoint=None))
    assert resumed.n_iter_ == 4
    np.testing.assert_allclose(resumed.predict(X), whole.fit(X, y).predict(X), rtol=1e-5)


def test_a_checkpoint_folder_that_cannot_be_written_is_named(data, tmp_path):
    # Removed mid-fit: "No such file or directory: '.../tmpk2n_8zys.tmp'".
    X, y, _ = data
    folder = tmp_path / "gone"
    folder.mkdir()

    class RemoveFolder(Callback):
        def on_epoch_begin(self, net, **kwargs):
            if len(net.history) == 2:
                for file in folder.iterdir():
                    file.unlink()
                folder.rmdir()

    model = RNNRegressor(**SMALL, max_epochs=3, checkpoint=folder / "fit.ckpt")
    # (It said "the file holds the last epoch written" of the removed file.)
    expected = r"Cannot write checkpoint=.*fit\.ckpt.*; no file holds an epoch.*checkpoint=None"
    with pytest.raises(OSError, match=expected):
        model.set_params(callbacks=[RemoveFolder()]).fit(X, y)


def test_checkpoint_set_after_a_fit_without_one(data, tmp_path):
    # A warm start builds its net from the current parameters: it starts writing.
    X, y, _ = data
    model = RNNRegressor(**SMALL, max_epochs=1).fit(X, y)
    path = tmp_path / "late.ckpt"
    model.set_params(checkpoint=path, warm_start=True).fit(X, y)
    assert model.n_iter_ == 2 and read_checkpoint(path).epochs_left == 0
    # So does partial_fit, whose net is rebuilt when a parameter changed.
    path.unlink()
    fitted = RNNRegressor(**SMALL, max_epochs=1).fit(X, y).set_params(checkpoint=path)
    fitted.partial_fit(X, y)
    assert fitted.n_iter_ == 2 and read_checkpoint(path).epochs_left == 0


def test_checkpoint_never_leaks_between_cross_validation_clones(data, tmp_path):
    """Each fold's clone shares the path; none may resume another fold's fit."""
    X, _, y_class = data
    model = RNNClassifier(**SMALL, max_epochs=2, checkpoint=tmp_path / "cv.ckpt", warm_start=True)
    with pytest.raises(ValueError, match="other data.*its own checkpoint path"):
        cross_validate(model, X, y_class, cv=3, error_score="raise")
    # The same data and parameters still resume: a finished fit is continued.
    os.remove(model.checkpoint)  # written by the first fold
    first = clone(model).fit(X, y_class)
    assert clone(model).fit(X, y_class).n_iter_ == first.n_iter_ + 2


def test_checkpoint_write_ignores_a_planted_temporary_file(data, tmp_path):
    X, y, _ = data
    path = tmp_path / "fit.ckpt"
    target = tmp_path / "victim"
    target.write_bytes(b"keep")
    (tmp_path / "fit.ckpt.tmp").symlink_to(target)
    RNNRegressor(**SMALL, max_epochs=2, checkpoint=path).fit(X, y)
    assert target.read_bytes() == b"keep"
    assert read_checkpoint(path).epochs_left == 0
    assert sorted(p.name for p in tmp_path.iterdir()) == ["fit.ckpt", "fit.ckpt.tmp", "victim"]


# -- concurrency -----------------------------------------------------------


def test_predict_from_many_threads_matches_one_thread(data):
    X, _, y_class = data
    model = RNNClassifier(**SMALL, max_epochs=2).fit(X, y_class)
    expected = model.predict_proba(X)
    barrier = threading.Barrier(8)

    def predict(_):
        barrier.wait()
        return [model.predict_proba(X) for _ in range(5)]

    with ThreadPoolExecutor(8) as pool:
        results = [p for batch in pool.map(predict, range(8)) for p in batch]
    for proba in results:
        np.testing.assert_array_equal(proba, expected)


@pytest.mark.parametrize("dropout, readout_dropout", [(0.0, 0.0), (0.3, 0.8), (0.0, 0.8)])
def test_parallel_fits_equal_sequential_fits(data, dropout, readout_dropout):
    X, _, y_class = data
    params = dict(num_layers=2, dropout=dropout, readout_dropout=readout_dropout)
    base = RNNClassifier(**{**SMALL, "max_epochs": 3}, **params)
    seeds = range(4)
    sequential = [clone(base).set_params(random_state=s).fit(X, y_class) for s in seeds]
    barrier = threading.Barrier(len(seeds))

    def fit(seed):
        model = clone(base).set_params(random_state=seed)
        barrier.wait()
        return model.fit(X, y_class)

    torch_state = torch.get_rng_state()
    with ThreadPoolExecutor(len(seeds)) as pool:
        parallel = list(pool.map(fit, seeds))
    assert torch.equal(torch.get_rng_state(), torch_state)  # fit changes nothing global
    for seq, par in zip(sequential, parallel, strict=True):
        np.testing.assert_array_equal(seq.predict_proba(X), par.predict_proba(X))
        assert _losses(seq) == _losses(par)


class Raise(Callback):
    """Raise a RuntimeError when training begins."""

    def on_train_begin(self, net, **kwargs):
        raise RuntimeError("a callback failed")


def test_a_fit_that_fails_in_training_leaves_the_previous_fit(data):
    # Only refusals while setting up restored the estimator: an error in
    # training left a first fit "fitted" with untrained weights, and replaced
    # a fitted model by them.
    X, _, y_class = data
    model = RNNClassifier(**SMALL, max_epochs=2, kernel_features=0, callbacks=[Raise()])
    with pytest.raises(RuntimeError, match="a callback failed"):
        model.fit(X, y_class)
    assert not hasattr(model, "n_iter_") and not hasattr(model, "net_")
    model.set_params(callbacks=None).fit(X, y_class)
    before, history = model.predict_proba(X), _losses(model)
    with pytest.raises(RuntimeError, match="a callback failed"):
        model.set_params(callbacks=[Raise()], max_epochs=3).fit(X, y_class)
    np.testing.assert_array_equal(model.predict_proba(X), before)
    assert _losses(model) == history


def test_a_continued_fit_that_fails_mid_epoch_keeps_the_epochs_it_completed():
    # skorch ends training only after an interrupt: an error in a callback
    # mid-epoch left a continued fit with that epoch's updates, a record
    # without losses counted in n_iter_, and the epoch's batch records.
    X = np.random.RandomState(0).normal(size=(40, 12, 2))
    y = (X[:, 0, 0] > 0).astype(int)
    params = dict(hidden_size=4, conv_channels=4, kernel_features=0, batch_size=8)
    model = RNNClassifier(**params, max_epochs=6, random_state=0).fit(X, y)

    class Fail(Callback):
        def on_batch_end(self, net, training=False, **kwargs):
            if training and len(net.history) == 9 and len(net.history[-1]["batches"]) == 2:
                raise RuntimeError("a callback failed")

    def eight_epochs(model):  # a warm start of 3 epochs, stopped after its second
        model.set_params(warm_start=True, max_epochs=3, lr_schedule=None)
        return model

    expected = copy.deepcopy(model)
    eight_epochs(expected).set_params(max_epochs=2).fit(X, y)
    with pytest.raises(RuntimeError, match="a callback failed"):
        eight_epochs(model).set_params(callbacks=[Fail()]).fit(X, y)
    assert model.n_iter_ == len(model.history_) == 8
    assert "train_loss" in model.history_[-1] and not model.history_[-1]["batches"]
    np.testing.assert_array_equal(model.predict_proba(X), expected.predict_proba(X))


def test_each_partial_fit_call_draws_its_own_batches():
    # An int random_state seeded every call alike: each epoch of a
    # partial_fit loop saw the batches in one order, with one dropout mask.
    X = np.random.RandomState(0).normal(size=(48, 8))
    y = (X[:, -1] > 0).astype(int)
    orders = []

    class Order(Callback):
        def on_batch_begin(self, net, batch=None, training=False, **kwargs):
            if training:
                orders[-1].append(batch[0]["X"][:, 0].tolist())

    def loop():
        model = RNNClassifier(**SMALL, kernel_features=0, callbacks=[Order()])
        for _ in range(3):
            orders.append([])
            model.partial_fit(X, y, classes=[0, 1])
        return model.predict_proba(X)

    first = loop()
    assert orders[0] != orders[1] != orders[2]
    np.testing.assert_array_equal(loop(), first)  # reproducible
    assert orders[3:] == orders[:3]


@pytest.mark.skipif(not hasattr(os, "fork"), reason="os.fork is POSIX only")
# Python 3.12+ warns of any fork in a process with threads, as this test does.
@pytest.mark.filterwarnings("ignore:This process .* is multi-threaded:DeprecationWarning")
def test_a_process_forked_during_a_fit_can_fit(forked_while_held):
    # The lock on torch's generator, held by a fit in another thread, was
    # copied held into the child, whose fits then waited for ever.
    X = np.random.RandomState(0).normal(size=(16, 6))
    y = np.arange(16) % 2
    RNNClassifier(**SMALL, max_epochs=1).fit(X, y)  # the imports a fit makes, done
    from sklrnn._base import _seeded_torch

    # As a fit with dropout holds it, all training.
    child = forked_while_held(
        _seeded_torch(0, "cpu"), lambda: RNNClassifier(**SMALL, max_epochs=1).fit(X, y)
    )
    assert child == 0


def test_load_model_waits_for_a_fit_holding_torchs_generator(data, tmp_path):
    # Building the loaded net drew from torch's generator while a fit in
    # another thread had seeded it, and then rewound it under that fit.
    from sklrnn import load_model, save_model
    from sklrnn._base import _seeded_torch

    X, _, y_class = data
    path = tmp_path / "model.zip"
    save_model(RNNClassifier(**SMALL, max_epochs=1).fit(X, y_class), path)
    with ThreadPoolExecutor(1) as pool, _seeded_torch(0, "cpu"):
        draws = torch.rand(3)
        loading = pool.submit(load_model, path)
        threading.Event().wait(1.0)
        assert not loading.done()  # it waits for the generator
        expected = torch.rand(3)  # the seeded stream, undisturbed
    loading.result(timeout=60)
    torch.manual_seed(0)
    assert torch.equal(torch.rand(3), draws)
    assert torch.equal(torch.rand(3), expected)


def test_models_are_float32_whatever_torchs_default_dtype(data, tmp_path):
    # With torch.set_default_dtype(torch.float64) fits built float64 networks
    # that save_model wrote and load_model refused, and no float32 file
    # loaded; later the layers were cast to float32 after drawing their
    # weights in float64, so that a seed gave another network (predictions
    # 2.2 apart without a front end or kernels).
    from sklrnn import load_model, save_model

    X, y, y_class = data
    fits = [
        lambda: RNNClassifier(**SMALL, max_epochs=2).fit(X, y_class),
        lambda: RNNRegressor(**SMALL, max_epochs=2, n_networks=2).fit(X, y),
        lambda: RNNRegressor(
            cell_type="gru", hidden_size=3, conv_channels=0, kernel_features=0, max_epochs=2,
            random_state=0, readout="attention",
        ).fit(X, y),
    ]  # fmt: skip
    expected = [fit().predict(X) for fit in fits]
    saved = tmp_path / "float32.zip"
    save_model(RNNRegressor(**SMALL, max_epochs=2).fit(X, y), saved)
    default = torch.get_default_dtype()
    torch.set_default_dtype(torch.float64)
    try:
        for fit, predictions in zip(fits, expected, strict=True):
            model = fit()
            tensors = model.net_.module_.state_dict().values()
            assert {t.dtype for t in tensors if t.is_floating_point()} == {torch.float32}
            np.testing.assert_array_equal(model.predict(X), predictions)
            path = tmp_path / "float64-default.zip"
            save_model(model, path)
            np.testing.assert_array_equal(load_model(path).predict(X), predictions)
        load_model(saved).predict(X)
    finally:
        torch.set_default_dtype(default)


class ThreadCount(Callback):
    """Record torch's intra-op thread count at the start of training."""

    def on_train_begin(self, net, **kwargs):
        self.threads_ = torch.get_num_threads()


def test_process_parallel_cross_validation_does_not_oversubscribe(data):
    # joblib's process workers limit OpenMP to cpu_count // n_jobs threads
    # (or the parent's OMP_NUM_THREADS); torch in each worker must follow.
    # sklrnn sets no thread count: this guards that it never starts to, and
    # that the folds score the same in worker processes as in this one.
    X, _, y_class = data
    model = RNNClassifier(**{**SMALL, "max_epochs": 2}, callbacks=[ThreadCount()])
    parallel = cross_validate(model, X, y_class, cv=4, n_jobs=2, return_estimator=True)
    expected = int(os.environ.get("OMP_NUM_THREADS", max(joblib.cpu_count() // 2, 1)))
    threads = [dict(m.net_.callbacks_)["ThreadCount"].threads_ for m in parallel["estimator"]]
    assert threads == [expected] * 4
    serial = cross_validate(model, X, y_class, cv=4, n_jobs=1)
    np.testing.assert_array_equal(parallel["test_score"], serial["test_score"])


# -- persistence -----------------------------------------------------------


def _restore(state, Estimator):
    model = object.__new__(Estimator)
    model.__setstate__(state)
    return model


def test_pickle_from_other_versions_warns_and_loads(data):
    X, y, _ = data
    model = RNNRegressor(**SMALL, max_epochs=1).fit(X, y)
    state = model.__getstate__()
    assert set(state["_sklrnn_versions"]) == {"sklrnn", "torch", "skorch", "scikit-learn"}
    for name, old in [("sklrnn", "0.0.1"), ("torch", "1.13.0"), ("scikit-learn", "0.24.2")]:
        old_state = {**state, "_sklrnn_versions": {**state["_sklrnn_versions"], name: old}}
        with pytest.warns(InconsistentVersionWarning, match=f"{name} {old}") as record:
            restored = _restore(old_state, RNNRegressor)
        np.testing.assert_array_equal(restored.predict(X), model.predict(X))
        warning = record[0].message
        assert warning.original_versions[name] == old
        assert warning.original_sklearn_version == old_state["_sklrnn_versions"]["scikit-learn"]
        assert warning.current_sklearn_version == sklearn.__version__
    # One filter covers scikit-learn's warning and sklrnn's.
    old_state = {**state, "_sklrnn_versions": {**state["_sklrnn_versions"], "torch": "1.13.0"}}
    with warnings.catch_warnings():
        warnings.simplefilter("error", sklearn.exceptions.InconsistentVersionWarning)
        with pytest.raises(InconsistentVersionWarning, match="torch 1.13.0"):
            _restore(old_state, RNNRegressor)
    with warnings.catch_warnings():
        warnings.simplefilter("error", InconsistentVersionWarning)
        pickle.loads(pickle.dumps(model))  # same versions: silent


def test_pickle_that_cannot_be_restored_fails_clearly(data):
    X, y, _ = data
    state = RNNRegressor(**SMALL, max_epochs=1).fit(X, y).__getstate__()
    state["_sklrnn_versions"] = {**state["_sklrnn_versions"], "torch": "9.9.0"}
    state["net_"] = state["net_"][: len(state["net_"]) // 2]  # a model torch cannot read
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", InconsistentVersionWarning)
        with pytest.raises(pickle.UnpicklingError, match="torch 9.9.0.*refit"):
            _restore(state, RNNRegressor)
    # With the versions it was saved with, the failure is not theirs: its own error.
    state["_sklrnn_versions"] = _versions()
    with pytest.raises(pickle.UnpicklingError) as info:
        _restore(state, RNNRegressor)
    assert "versions" not in str(info.value) and "Cannot restore" not in str(info.value)


def test_pickle_size_does_not_depend_on_training_data():
    rng = np.random.RandomState(0)
    sizes = []
    # 400 sequences, not thousands: the closed-form head's decomposition
    # grows as n**2 * p, and 400 already hold 64 kB of data and 8 MB of
    # kernel features, either of which would show.
    for n_samples in (40, 400):
        X = rng.normal(size=(n_samples, 20))
        model = RNNRegressor(**{**SMALL, "early_stopping": True}, max_epochs=2).fit(
            X, X.sum(axis=1)
        )
        sizes.append(len(pickle.dumps(model)))
    # Neither the data nor the kernel features cached for training is kept.
    assert sizes[1] < 1.05 * sizes[0], sizes


def test_pickled_model_round_trips_after_faults(data, tmp_path):
    """No generator, exception or weight copy is left behind to break pickling."""
    X, y, _ = data
    model = RNNRegressor(
        **SMALL, max_epochs=3, checkpoint=tmp_path / "c.ckpt", callbacks=[InterruptAt(epoch=2)]
    )
    with pytest.raises(KeyboardInterrupt):
        model.fit(X, y)
    restored = pickle.loads(pickle.dumps(model))
    np.testing.assert_array_equal(restored.predict(X), model.predict(X))
    assert restored.history_ is restored.net_.history
    assert os.fspath(restored.checkpoint) == os.fspath(tmp_path / "c.ckpt")


def test_pickle_holds_no_copy_of_the_best_weights(data):
    """Early stopping's copy of the best weights is not pickled: it would stay a
    raw tensor of the training device, which a CPU-only machine cannot load."""
    X, _, y_class = data
    stopped = RNNClassifier(**SMALL, max_epochs=3, early_stopping=True).fit(X, y_class)
    plain = RNNClassifier(**SMALL, max_epochs=3).fit(X, y_class)
    callback = dict(stopped.net_.callbacks_)["early_stopping"]
    assert callback.best_model_weights_ is not None  # kept while the model lives
    restored = pickle.loads(pickle.dumps(stopped))
    assert dict(restored.net_.callbacks_)["early_stopping"].best_model_weights_ is None
    np.testing.assert_array_equal(restored.predict_proba(X), stopped.predict_proba(X))
    # Tensors outside skorch's own module, optimizer and criterion are pickled
    # raw (torch's _load_from_bytes): none are left.
    raw = [pickle.dumps(m.net_, protocol=pickle.HIGHEST_PROTOCOL) for m in (stopped, plain)]
    assert raw[0].count(b"_load_from_bytes") == raw[1].count(b"_load_from_bytes")


def test_a_resumed_fit_interrupted_again_resumes_with_the_epochs_it_has_left(data, tmp_path):
    # epochs_left counts the epochs of the current training call: a resumed
    # fit starts with the interrupted one's epochs in its history.
    X, _, y_class = data
    params = {**SMALL, "max_epochs": 7}
    uninterrupted = RNNClassifier(**params).fit(X, y_class)
    path = tmp_path / "twice.ckpt"
    model = RNNClassifier(**params, checkpoint=path, callbacks=[InterruptAt(epoch=3)])
    with pytest.raises(KeyboardInterrupt):
        model.fit(X, y_class)
    assert model.n_iter_ == 2 and read_checkpoint(path).epochs_left == 5
    model.set_params(warm_start=True, callbacks=[InterruptAt(epoch=5)])
    with pytest.raises(KeyboardInterrupt):
        model.fit(X, y_class)
    assert model.n_iter_ == 4 and read_checkpoint(path).epochs_left == 3
    model.set_params(callbacks=None).fit(X, y_class)
    assert model.n_iter_ == 7 and read_checkpoint(path).epochs_left == 0
    np.testing.assert_allclose(_losses(model), _losses(uninterrupted), rtol=1e-6)


def test_a_constant_target_is_no_fit_gone_astray(data):
    # The constant prediction's loss of a constant target is 0: any trained
    # network's loss exceeds ten times that; the floor of 1 keeps it quiet.
    X, _, _ = data
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        RNNRegressor(**SMALL, max_epochs=3, kernel_features=0).fit(X, np.full(len(X), 2.5))


def test_a_classifiers_constant_prediction_loss_is_that_of_uniform_probabilities(data):
    # "Went astray" compares with the loss of the same probability for every
    # class: log(n_classes), whatever the weights.
    X, _, _ = data
    y = np.arange(len(X)) % 3
    clf = RNNClassifier(**SMALL, max_epochs=1).fit(X, y)
    uniform = torch.nn.functional.cross_entropy(torch.zeros(len(y), 3), torch.as_tensor(y))
    assert clf._constant_loss(None) == pytest.approx(float(uniform))


class _FirstMisses(Callback):
    """Early stopping's count of epochs without improvement when training starts."""

    def on_epoch_begin(self, net, **kwargs):
        if not hasattr(self, "misses"):
            self.misses = dict(net.callbacks_)["early_stopping"].misses_


def test_a_resumed_fit_continues_early_stoppings_patience(data, tmp_path):
    X, _, y_class = data
    y = np.where(np.random.RandomState(0).rand(len(y_class)) < 0.3, 1 - y_class, y_class)
    params = {**SMALL, "max_epochs": 12, "lr": 0.05, "early_stopping": True, "n_iter_no_change": 50}
    path = tmp_path / "patience.ckpt"
    with pytest.raises(KeyboardInterrupt):
        RNNClassifier(**params, checkpoint=path, callbacks=[InterruptAt(epoch=9)]).fit(X, y)
    saved = read_checkpoint(path)._config["early_stopping"]["misses"]
    assert saved > 0  # epochs without improvement to carry over
    first = _FirstMisses()
    RNNClassifier(**params, checkpoint=path, warm_start=True, callbacks=[first]).fit(X, y)
    assert first.misses == saved


def test_skorchs_load_init_state_brings_the_kernels_that_training_reads(data, tmp_path):
    # LoadInitState loads the saved fit's random kernels and input
    # statistics in on_train_begin, after fit had computed the training
    # sequences' kernel features with the kernels it drew itself: the head
    # was solved on features that prediction never computes (R^2 0.15, against 1.0).
    X, y, _ = data
    end = TrainEndCheckpoint(dirname=str(tmp_path))
    RNNRegressor(**SMALL, max_epochs=1, callbacks=[end]).fit(X, y)
    other = np.random.RandomState(1).normal(size=X.shape) * 3 + 1
    target = other[:, :3].sum(axis=1)
    params = {**SMALL, "random_state": 1}
    loaded = RNNRegressor(**params, max_epochs=1, callbacks=[LoadInitState(end)])
    assert loaded.fit(other, target).score(other, target) > 0.9
    # Still the saved kernels, not those this fit drew.
    saved = torch.load(tmp_path / "train_end_params.pt", weights_only=True)
    kernels = loaded.net_.module_.kernels
    np.testing.assert_array_equal(kernels.weight, saved["kernels.weight"])
