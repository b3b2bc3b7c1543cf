"""LossCurveDisplay, and what verbose prints during training."""

import sys
import time

import matplotlib
import numpy as np
import pandas as pd
import pytest
import scipy.sparse
from sklearn.base import clone
from sklearn.exceptions import NotFittedError
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import FunctionTransformer
from skorch.callbacks import Callback

from sklrnn import (
    AttributionDisplay,
    LossCurveDisplay,
    RNNClassifier,
    RNNRegressor,
    sequence_attributions,
)

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402


@pytest.fixture(autouse=True)
def close_figures():
    yield
    plt.close("all")


def data(n=80, T=10, seed=0):
    rng = np.random.RandomState(seed)
    X = rng.normal(size=(n, T))
    return X, (X[:, -2:].sum(axis=1) > 0).astype(int)


@pytest.fixture(scope="module")
def early_stopped():
    """A classifier whose early stopping ended training and restored an epoch."""
    X, y = data()
    # A high learning rate overfits quickly, so the validation loss turns up.
    clf = RNNClassifier(
        hidden_size=16,
        lr=0.05,
        max_epochs=60,
        early_stopping=True,
        n_iter_no_change=3,
        random_state=0,
    ).fit(X, y)
    return clf


def test_from_estimator_reads_history(early_stopped):
    history = early_stopped.history_
    display = LossCurveDisplay.from_estimator(early_stopped)
    np.testing.assert_array_equal(display.train_loss, history[:, "train_loss"])
    np.testing.assert_array_equal(display.valid_loss, history[:, "valid_loss"])
    np.testing.assert_array_equal(display.epochs, np.arange(1, len(history) + 1))
    train_x, train_y = display.lines_["train"].get_data()
    np.testing.assert_array_equal(train_y, history[:, "train_loss"])
    np.testing.assert_array_equal(display.lines_["valid"].get_data()[1], history[:, "valid_loss"])
    assert display.ax_.get_xlabel() == "Epoch"
    assert display.ax_.get_title() == "RNNClassifier"
    assert display.figure_ is display.ax_.figure


def test_best_epoch_is_the_restored_one(early_stopped):
    history = early_stopped.history_
    assert len(history) < 60, "early stopping should have ended training"
    display = LossCurveDisplay.from_estimator(early_stopped)
    valid = np.asarray(history[:, "valid_loss"])
    assert display.best_epoch == history[-1, "best_epoch"]
    # The restored epoch has the lowest validation loss (up to skorch's threshold).
    assert valid[display.best_epoch - 1] <= valid.min() * (1 + 1e-3)
    assert display.best_epoch < len(history)
    x, y = display.lines_["best"].get_data()
    assert list(x) == [display.best_epoch]
    assert list(y) == [valid[display.best_epoch - 1]]
    labels = [t.get_text() for t in display.ax_.get_legend().get_texts()]
    # The default's head is then solved on the kernel features and the
    # network's: the model is not the one whose loss the mark shows.
    then = "; then the head solved in closed form"
    assert f"restored weights (epoch {display.best_epoch}){then}" in labels


def _legend(display):
    return [t.get_text() for t in display.ax_.get_legend().get_texts()]


def test_without_early_stopping_the_last_epoch_is_marked():
    # The default trains the whole epoch budget: the model holds the last epoch.
    X, y = data()
    reg = RNNRegressor(hidden_size=4, max_epochs=4, early_stopping=False, random_state=0)
    display = LossCurveDisplay.from_estimator(reg.fit(X, y.astype(float)))
    assert display.valid_loss is None and display.best_epoch == 4
    assert set(display.lines_) == {"train", "best"}
    x, y_marker = display.lines_["best"].get_data()
    assert list(x) == [4] and list(y_marker) == [display.train_loss[-1]]
    assert display.lines_["best"].get_marker() == "o"
    # Then the head is solved on the random kernel features and the network's.
    final = "final weights (epoch 4); then the head solved in closed form"
    assert _legend(display) == ["training loss", final]


def test_epochs_after_early_stopping_move_the_mark_to_the_last():
    X, y = data()
    clf = RNNClassifier(hidden_size=4, max_epochs=3, early_stopping=True, random_state=0)
    clf.fit(X, y).partial_fit(X, y)  # a fourth epoch, without validation
    assert "best_epoch" in clf.history_[2]
    display = LossCurveDisplay.from_estimator(clf)
    assert display.best_epoch == 4
    x, y_marker = display.lines_["best"].get_data()
    # No validation loss in that epoch: the mark sits on the training curve.
    assert list(x) == [4] and list(y_marker) == [display.train_loss[-1]]
    assert "final weights (epoch 4)" in _legend(display)


def test_the_mark_says_when_the_head_was_solved_after_its_epoch():
    X, y = data()
    clf = RNNClassifier(hidden_size=4, conv_channels=4, max_epochs=3, random_state=0)
    clf.set_params(kernel_features=168).fit(X, y)
    display = LossCurveDisplay.from_estimator(clf)
    assert display.head_solved
    assert _legend(display)[-1] == "final weights (epoch 3); then the head solved in closed form"
    # Its log-loss on the training data is far below the marked loss: the
    # curve is not the fitted model's (0.66 against 0.01 when found).
    proba = clf.predict_proba(X)[np.arange(len(y)), y]
    assert -np.log(proba).mean() < display.train_loss[-1] / 2
    # An epoch of partial_fit trains that head on by gradient.
    display = LossCurveDisplay.from_estimator(clf.partial_fit(X, y))
    assert not display.head_solved and _legend(display)[-1] == "final weights (epoch 4)"
    clf.set_params(kernel_features=0).fit(X, y)
    assert _legend(LossCurveDisplay.from_estimator(clf))[-1] == "final weights (epoch 3)"


def test_a_validation_loss_without_values_draws_no_line():
    display = LossCurveDisplay(train_loss=[3.0, 2.0], valid_loss=[np.nan, np.nan]).plot()
    assert set(display.lines_) == {"train"} and _legend(display) == ["training loss"]


def test_no_epoch_given_no_mark():
    display = LossCurveDisplay(train_loss=[3.0, 2.0]).plot()
    assert set(display.lines_) == {"train"}


def test_given_axes_pipeline_and_log_scale():
    X, y = data()
    pipe = make_pipeline(
        FunctionTransformer(), RNNClassifier(hidden_size=4, max_epochs=3, random_state=0)
    ).fit(X, y)
    fig, (ax1, ax2) = plt.subplots(1, 2)
    display = LossCurveDisplay.from_estimator(pipe, ax=ax2, log_scale=True)
    assert display.ax_ is ax2 and display.figure_ is fig
    assert ax2.get_title() == "RNNClassifier" and ax2.get_yscale() == "log"
    assert not ax1.lines
    # A fitted search: its refitted model.
    search = GridSearchCV(pipe, {"rnnclassifier__hidden_size": [4]}, cv=2).fit(X, y)
    display = LossCurveDisplay.from_estimator(search, ax=ax1)
    model = search.best_estimator_[-1]
    np.testing.assert_array_equal(display.train_loss, model.history_[:, "train_loss"])
    plt.close(fig)


def test_curves_of_several_models_on_one_axes_are_told_apart_by_name():
    # name set the title, which the second call overwrote: two legends of
    # "training loss" and two black marks.
    X, y = data()
    fig, ax = plt.subplots()
    for cell_type in ("gru", "lstm"):
        model = RNNClassifier(hidden_size=4, max_epochs=3, cell_type=cell_type, random_state=0)
        display = LossCurveDisplay.from_estimator(model.fit(X, y), ax=ax, name=cell_type)
        best, train = display.lines_["best"], display.lines_["train"]
        assert best.get_color() == train.get_color()
    labels = ax.get_legend_handles_labels()[1]
    assert labels[0] == "gru: training loss" and labels[2] == "lstm: training loss"
    assert labels[1].startswith("gru: final weights (epoch 3)") and labels[3].startswith("lstm:")
    assert ax.lines[0].get_color() != ax.lines[2].get_color()
    plt.close(fig)


def test_line_kw_styles_the_lines_and_names_its_mistakes():
    display = LossCurveDisplay(train_loss=[3.0, 2.0], valid_loss=[3.1, 2.5], best_epoch=2)
    display.plot(line_kw={"lw": 3, "ls": "--"})  # matplotlib's aliases
    for key in ("train", "valid"):
        line = display.lines_[key]
        assert (line.get_linewidth(), line.get_linestyle()) == (3, "--")
    assert display.lines_["best"].get_linestyle() == "None"  # the mark keeps its style
    assert display.lines_["train"].get_label() == "training loss"
    # One feature is drawn black unless line_kw says otherwise, by any alias.
    one = AttributionDisplay(sequence=[1.0, 2.0], attributions=[0.5, -0.5])
    assert one.plot().lines_[0].get_color() == "black"
    assert one.plot(line_kw={"c": "red"}).lines_[0].get_color() == "red"
    two = AttributionDisplay(sequence=[[1.0, 0.0], [2.0, 1.0]], attributions=np.zeros((2, 2)))
    assert [line.get_alpha() for line in two.plot(line_kw={"alpha": 0.5}).lines_] == [0.5] * 2
    with pytest.raises(TypeError, match="line_kw must be a dict of matplotlib Line2D properties"):
        display.plot(line_kw=[("lw", 2)])
    with pytest.raises(TypeError, match="line_kw: Got both 'lw' and 'linewidth'"):
        one.plot(line_kw={"lw": 2, "linewidth": 3})
    # Both loss curves would carry one label (and a feature's be overwritten).
    with pytest.raises(ValueError, match="line_kw cannot set 'label'"):
        display.plot(line_kw={"label": "mine"})
    # Refused before a figure opens.
    assert len(plt.get_fignums()) == 4


def test_plot_from_arrays_and_replot():
    display = LossCurveDisplay(train_loss=[3.0, 2.0, 1.5], valid_loss=[3.1, np.nan, 2.0])
    display.plot()
    first_ax = display.ax_
    _, ax = plt.subplots()
    display.plot(ax=ax)
    assert display.ax_ is ax is not first_ax
    np.testing.assert_array_equal(display.epochs, [1, 2, 3])


def test_errors():
    X, y = data()
    with pytest.raises(NotFittedError):
        LossCurveDisplay.from_estimator(RNNClassifier())
    with pytest.raises(TypeError, match="needs an sklrnn estimator"):
        LossCurveDisplay.from_estimator(LogisticRegression().fit(X, y))
    # A search without a best_estimator_ was refused as no sklrnn estimator.
    small = RNNClassifier(hidden_size=2, conv_channels=4, kernel_features=0, max_epochs=2)
    search = GridSearchCV(small, {"hidden_size": [2]}, cv=2, refit=False)
    with pytest.raises(NotFittedError):
        LossCurveDisplay.from_estimator(search)
    with pytest.raises(ValueError, match=r"holds no best_estimator_ \(refit=False\): search"):
        LossCurveDisplay.from_estimator(search.fit(X, y))
    # A Pipeline's sklrnn step, wherever it is (the message named the
    # LogisticRegression that ended the user guide's pipeline).
    probe = make_pipeline(make_pipeline(small), LogisticRegression()).fit(X, y)
    display = LossCurveDisplay.from_estimator(probe)
    np.testing.assert_array_equal(display.train_loss, probe[0][0].history_[:, "train_loss"])
    with pytest.raises(TypeError, match="or a Pipeline or search holding one, got Pipeline."):
        LossCurveDisplay.from_estimator(make_pipeline(LogisticRegression()).fit(X, y))
    two = make_pipeline(small, clone(small))
    with pytest.raises(TypeError, match="got Pipeline holding 2: pass the one to plot"):
        LossCurveDisplay.from_estimator(two.fit(X, y))
    with pytest.raises(ValueError, match="valid_loss has shape"):
        LossCurveDisplay(train_loss=[1.0, 2.0], valid_loss=[1.0])
    for loss in (1.0, []):
        with pytest.raises(ValueError, match="train_loss must be a 1D sequence of one loss"):
            LossCurveDisplay(train_loss=loss)
    for sequence in ([], 1.0):
        with pytest.raises(ValueError, match="with at least one time step, got shape"):
            AttributionDisplay(sequence=sequence, attributions=[])
    with pytest.raises(ValueError, match="train_loss must hold real numbers"):
        LossCurveDisplay(train_loss=["a", "b"])
    # Epochs are increasing whole numbers, and the marked one is one of them.
    # (np.diff of uint8 [2, 1] wraps around to 255.)
    for epochs in ([1, 1], [2, 1], np.array([2, 1], np.uint8), [1.5, 2.5], [None, None]):
        with pytest.raises(ValueError, match="epochs must be increasing whole numbers"):
            LossCurveDisplay(train_loss=[1.0, 2.0], epochs=epochs)
    for best_epoch in (3, True, [1, 2], "2", 1.5):
        with pytest.raises(ValueError, match=r"best_epoch must be one of the epochs \(1 to 2\)"):
            LossCurveDisplay(train_loss=[1.0, 2.0], best_epoch=best_epoch)
    # Whole numbers held as objects are numbers.
    epochs = np.array([3, 5], dtype=object)
    assert LossCurveDisplay(train_loss=[1.0, 2.0], epochs=epochs).epochs.tolist() == [3, 5]
    # matplotlib's AttributeError ("'Figure' object has no attribute 'plot'").
    figure = plt.figure()
    with pytest.raises(TypeError, match="ax must be a matplotlib Axes, got Figure"):
        LossCurveDisplay(train_loss=[1.0, 2.0]).plot(ax=figure)
    with pytest.raises(TypeError, match="ax must be a matplotlib Axes, got Figure"):
        AttributionDisplay(sequence=[1.0], attributions=[0.0]).plot(ax=figure)
    plt.close(figure)

    # A fit interrupted in its first epoch: it said "it has not trained an epoch"
    # also of a fit whose divergence rolled its epochs back.
    class Interrupt(Callback):
        def on_batch_end(self, net, **kwargs):
            raise KeyboardInterrupt

    clf = RNNClassifier(hidden_size=4, max_epochs=2, callbacks=[Interrupt()])
    with pytest.raises(KeyboardInterrupt):
        clf.fit(X, y)
    with pytest.raises(ValueError, match=r"history_ is empty: it kept no epoch of its training"):
        LossCurveDisplay.from_estimator(clf)
    # Whole numbers stored as floats are epochs too.
    display = LossCurveDisplay(train_loss=[1.0, 2.0], epochs=[1.0, 2.0], best_epoch=2.0)
    assert display.epochs.tolist() == [1, 2] and display.best_epoch == 2


def test_plot_options_are_checked_before_the_attributions(two_feature_clf, monkeypatch):
    # They cost n_steps passes of the network; a wrong option failed after them.
    clf, X = two_feature_clf

    def computed(*args, **kwargs):
        raise AssertionError("the attributions were computed")

    monkeypatch.setattr("sklrnn.plotting.sequence_attributions", computed)
    with pytest.raises(TypeError, match="ax must be a matplotlib Axes, got Figure"):
        AttributionDisplay.from_estimator(clf, X, ax=plt.figure())
    with pytest.raises(TypeError, match=r"AttributionDisplay.plot\(\) got an unexpected .*'windw'"):
        AttributionDisplay.from_estimator(clf, X, windw=5)
    with pytest.raises(ValueError, match="window must be a positive int"):
        AttributionDisplay.from_estimator(clf, X, window=-1)
    with pytest.raises(ValueError, match="'nope' is not a valid value for cmap"):
        AttributionDisplay.from_estimator(clf, X, cmap="nope")
    with pytest.raises(TypeError, match=r"LossCurveDisplay.plot\(\) got an unexpected .*'color'"):
        LossCurveDisplay.from_estimator(clf, color="red")
    with pytest.raises(TypeError, match=r"line_kw: .*unexpected keyword argument 'colr'"):
        AttributionDisplay.from_estimator(clf, X, line_kw={"colr": "red"})
    with pytest.raises(ValueError, match="line_kw holds a value matplotlib refuses"):
        AttributionDisplay.from_estimator(clf, X, line_kw={"linewidth": "thick"})
    monkeypatch.setitem(sys.modules, "matplotlib.pyplot", None)
    with pytest.raises(ImportError, match="AttributionDisplay requires matplotlib"):
        AttributionDisplay.from_estimator(clf, X)


def test_missing_matplotlib_is_explained(monkeypatch):
    monkeypatch.setitem(sys.modules, "matplotlib.pyplot", None)
    display = LossCurveDisplay(train_loss=[1.0, 0.5])
    with pytest.raises(ImportError, match=r"requires matplotlib.*-e \"\.\[plot\]\""):
        display.plot()
    # line_kw's check imported matplotlib first: "No module named 'matplotlib.cbook'".
    for module in ("matplotlib", "matplotlib.cbook", "matplotlib.lines"):
        monkeypatch.setitem(sys.modules, module, None)
    with pytest.raises(ImportError, match=r"LossCurveDisplay requires matplotlib"):
        display.plot(line_kw={"linewidth": 2})


# -- AttributionDisplay ---------------------------------------------------------


@pytest.fixture(scope="module")
def two_feature_clf():
    """A classifier of sequences of 2 features and different lengths."""
    rng = np.random.RandomState(0)
    X = [rng.normal(size=(n, 2)) for n in rng.randint(6, 12, size=40)]
    y = np.array(["up" if x[2].sum() > 0 else "down" for x in X])
    clf = RNNClassifier(hidden_size=8, conv_channels=8, max_epochs=10, random_state=0)
    return clf.fit(X, y), X


def test_attribution_display_draws_the_sequence_over_its_attributions(two_feature_clf):
    clf, X = two_feature_clf
    display = AttributionDisplay.from_estimator(clf, X, index=3, n_steps=20)
    x = X[3]
    expected = sequence_attributions(clf, X[2:4], n_steps=20)[1, : len(x)]
    np.testing.assert_array_equal(display.sequence, x.astype(np.float32))
    np.testing.assert_allclose(display.attributions, expected, atol=1e-6)
    assert display.target == clf.predict(X[3:4])[0]
    assert len(display.lines_) == 2
    for j, line in enumerate(display.lines_):
        np.testing.assert_array_equal(line.get_xdata(), np.arange(len(x)))
        np.testing.assert_allclose(line.get_ydata(), x[:, j], rtol=1e-6)
    per_step = expected.sum(axis=1)
    np.testing.assert_allclose(display.background_.get_array().ravel(), per_step, atol=1e-6)
    low, high = display.background_.get_clim()
    assert low == -high and np.isclose(high, np.abs(per_step).max())
    assert display.ax_.get_xlim() == (-0.5, len(x) - 0.5)
    assert display.ax_.get_title() == f"RNNClassifier: attributions to class {display.target!r}"
    assert _legend(display) == ["feature 0", "feature 1"]
    assert display.colorbar_.ax.get_ylabel() == "attribution"
    assert display.figure_ is display.ax_.figure


def test_attribution_display_takes_the_label_of_its_sequence_from_an_array(two_feature_clf):
    # sequence_attributions takes one label per sequence; the display draws
    # one sequence of X, and explains its label.
    clf, X = two_feature_clf
    labels = np.where(np.arange(len(X)) % 2 == 0, "up", "down")
    display = AttributionDisplay.from_estimator(clf, X, index=3, target=labels, n_steps=20)
    assert display.target == "down"
    expected = sequence_attributions(clf, X[3:4], target="down", n_steps=20)[0, : len(X[3])]
    np.testing.assert_allclose(display.attributions, expected, atol=1e-6)
    with pytest.raises(ValueError, match=r"target has shape \(3,\), but X holds 40 sequences"):
        AttributionDisplay.from_estimator(clf, X, target=labels[:3])


def test_attribution_display_of_labels_held_as_objects():
    # Labels of object dtype (a pandas string column, long_to_sequences' y):
    # the predicted label is a str, which has no .item().
    rng = np.random.RandomState(0)
    X = rng.normal(size=(30, 8))
    y = np.where(X[:, 2] > 0, "up", "down").astype(object)
    clf = RNNClassifier(hidden_size=4, conv_channels=4, max_epochs=2, random_state=0).fit(X, y)
    display = AttributionDisplay.from_estimator(clf, X, index=1, n_steps=5)
    assert display.target == clf.predict(X[1:2])[0] and type(display.target) is str
    plt.close(display.figure_)


def test_attribution_display_of_a_regressor_on_given_axes():
    rng = np.random.RandomState(0)
    X = rng.normal(size=(30, 8))
    reg = RNNRegressor(hidden_size=4, conv_channels=4, max_epochs=5, random_state=0)
    reg.fit(X, X[:, 2])
    fig, (ax1, ax2) = plt.subplots(1, 2)
    display = AttributionDisplay.from_estimator(reg, X, index=-1, ax=ax2, colorbar=False)
    np.testing.assert_allclose(display.sequence[:, 0], X[-1], rtol=1e-6)
    np.testing.assert_allclose(display.attributions, sequence_attributions(reg, X[-1:])[0])
    assert display.ax_ is ax2 and display.figure_ is fig and not ax1.lines
    assert display.colorbar_ is None and display.ax_.get_legend() is None
    assert display.lines_[0].get_color() == "black"
    assert ax2.get_title() == "RNNRegressor: attributions to prediction"


def test_attribution_display_from_arrays_and_replot():
    display = AttributionDisplay(sequence=[1.0, 2.0, 0.0], attributions=[0.5, -2.0, 0.0])
    display.plot(name="mine", cmap="PuOr")
    assert display.sequence.shape == (3, 1) and display.ax_.get_title() == "mine"
    assert display.background_.get_clim() == (-2.0, 2.0)
    assert display.background_.get_cmap().name == "PuOr"
    first = display.ax_
    display.plot()
    assert display.ax_ is not first


def test_attribution_display_window_averages_neighbouring_steps():
    display = AttributionDisplay(
        sequence=np.zeros((4, 2)), attributions=[[0.5, 0.0], [-2.0, 0.0], [0.0, 0.0], [1.0, 0.5]]
    )
    display.plot(window=3)
    # Centred means over the steps that exist: (0.5 - 2) / 2, (0.5 - 2 + 0) / 3, ...
    expected = [-0.75, -0.5, -0.5 / 3, 0.75]
    np.testing.assert_allclose(display.background_.get_array().ravel(), expected)
    assert display.background_.get_clim() == (-0.75, 0.75)
    # Refused before anything is drawn on the caller's axes.
    ax = plt.figure().add_subplot()
    figures = plt.get_fignums()
    for window in (0, True):
        with pytest.raises(ValueError, match=f"window must be a positive int .* got {window}"):
            display.plot(ax=ax, window=window)
    with pytest.raises(ValueError, match="'nope' is not a valid value for cmap"):
        display.plot(ax=ax, cmap="nope")
    assert not ax.lines and not ax.collections and plt.get_fignums() == figures


def test_attribution_display_errors(two_feature_clf):
    clf, X = two_feature_clf
    for index in (40, -41, True):
        with pytest.raises(ValueError, match=rf"index={index} is not .* 40 sequences.*\[-40, 39\]"):
            AttributionDisplay.from_estimator(clf, X, index=index)
    with pytest.raises(TypeError, match="needs a fitted sklrnn estimator"):
        AttributionDisplay.from_estimator(LogisticRegression(), X)
    with pytest.raises(NotFittedError):
        AttributionDisplay.from_estimator(RNNClassifier(), X)
    with pytest.raises(ValueError, match=r"attributions have shape \(2, 1\), but the sequence"):
        AttributionDisplay(sequence=[1.0, 2.0, 3.0], attributions=[1.0, 2.0])
    # Several sequences (a 3D array) would be drawn as one step of many features.
    with pytest.raises(ValueError, match=r"one sequence of shape .* got shape \(1, 10, 2\)"):
        AttributionDisplay(sequence=X[:1], attributions=np.zeros((1, 10, 2)))
    # A colour scale over NaN or infinity would be undefined (matplotlib fell back to +-0.1).
    for bad in (np.nan, np.inf):
        with pytest.raises(ValueError, match="attributions must be finite, .* at time step 1"):
            AttributionDisplay(sequence=[1.0, 2.0, 3.0], attributions=[1.0, bad, 2.0])
    with pytest.raises(ValueError, match="sequence must hold real numbers"):
        AttributionDisplay(sequence=["a"], attributions=[0.0])
    # A NaN-padded row of X: its padding would be drawn as steps.
    with pytest.raises(
        ValueError, match=r"sequence must be finite, .* time step 2.*X\[i, :length\]"
    ):
        AttributionDisplay(sequence=[1.0, 2.0, np.nan], attributions=[1.0, 2.0, 0.0])
    # Errors in a sequence name its place in X, not in the one-sequence subset.
    bad = np.zeros((5, 8, 2))
    bad[2, 3, 0] = np.nan  # inside the sequence, not trailing padding
    with pytest.raises(ValueError, match="NaN at sample 2, time step 3"):
        AttributionDisplay.from_estimator(clf, bad, index=2)
    # One sequence passed as X was read as one sequence of one step.
    with pytest.raises(ValueError, match=r"X is 1D \(shape \(5,\)\).*X\[None, :\]"):
        AttributionDisplay.from_estimator(clf, np.arange(5.0))
    with pytest.raises(TypeError, match="X must be sequences .* got NoneType"):
        AttributionDisplay.from_estimator(clf, None)
    # A list of two things is two sequences, whatever the first one is, and
    # refused as predict refuses it (not as one sequence, "X is 1D").
    with pytest.raises(ValueError, match="X holds sequences where numbers belong"):
        clf.predict([1.0, X[1]])
    with pytest.raises(ValueError, match="X holds sequences where numbers belong"):
        AttributionDisplay.from_estimator(clf, [1.0, X[1]], index=1)
    with pytest.raises(ValueError, match=r"target has shape \(40, 1\), but X holds 40 sequences"):
        AttributionDisplay.from_estimator(clf, X, target=clf.predict(X)[:, None])


def test_attribution_display_reads_x_as_predict_does():
    # One sequence of X was taken before X was read: of a ragged list of
    # lists, a one-row table of 2 "features" (a model of 10 steps refused
    # it), and sparse input met len()'s "length is ambiguous".
    rng = np.random.RandomState(0)
    X = rng.normal(size=(20, 10))
    clf = RNNClassifier(hidden_size=4, conv_channels=4, max_epochs=2, random_state=0)
    clf.fit(X, X[:, 3] > 0)
    ragged = [X[0, :7].tolist(), X[1, :2].tolist()]
    display = AttributionDisplay.from_estimator(clf, ragged, index=1, n_steps=10)
    expected = sequence_attributions(clf, ragged, n_steps=10)[1, :2]
    np.testing.assert_array_equal(display.attributions, expected)
    # A model fitted on a named table: the list's sequence was taken in a
    # list of its own, [[...]], a one-row table of 2 features.
    named = RNNClassifier(hidden_size=4, conv_channels=4, max_epochs=2, random_state=0)
    named.fit(pd.DataFrame(X, columns=[f"t{i}" for i in range(10)]), X[:, 3] > 0)
    display = AttributionDisplay.from_estimator(named, ragged, index=1, n_steps=10)
    expected = sequence_attributions(named, ragged, n_steps=10)[1, :2]
    np.testing.assert_array_equal(display.attributions, expected)
    with pytest.raises(TypeError, match="does not accept sparse input.*X.toarray"):
        AttributionDisplay.from_estimator(clf, scipy.sparse.csr_matrix(X))
    with pytest.raises(ImportError, match="AttributionDisplay requires matplotlib"):
        with pytest.MonkeyPatch.context() as patch:
            patch.setitem(sys.modules, "matplotlib.pyplot", None)
            AttributionDisplay(sequence=[1.0], attributions=[0.0]).plot()


def test_attribution_display_names_the_features_it_draws():
    # The legend said "feature 0", "feature 1", ... in the order the model
    # reads, that of fit's columns: for a frame with its columns in another
    # order, the first line's label named another column than the user's first.
    rng = np.random.RandomState(0)
    frames = [pd.DataFrame(rng.normal(size=(8, 3)), columns=["a", "b", "c"]) for _ in range(20)]
    clf = RNNClassifier(hidden_size=4, conv_channels=4, max_epochs=2, random_state=0)
    clf.fit(frames, [int(f["a"].sum() > 0) for f in frames])
    new = frames[0][["c", "a", "b"]]
    display = AttributionDisplay.from_estimator(clf, [new], n_steps=5)
    assert [line.get_label() for line in display.lines_] == ["a", "b", "c"]
    assert [text.get_text() for text in display.ax_.get_legend().get_texts()] == ["a", "b", "c"]
    np.testing.assert_array_equal(display.sequence, frames[0].to_numpy(np.float32))
    np.testing.assert_array_equal(display.lines_[0].get_ydata(), frames[0]["a"].astype(np.float32))
    # The attributions' features are in that order too, as documented.
    np.testing.assert_array_equal(
        sequence_attributions(clf, [new], n_steps=5),
        sequence_attributions(clf, frames[:1], n_steps=5),
    )
    with pytest.raises(
        ValueError, match="feature_names has shape \\(2,\\), but the sequence has 3"
    ):
        AttributionDisplay(
            sequence=np.zeros((4, 3)), attributions=np.zeros((4, 3)), feature_names=["a", "b"]
        )
    # Arrays, and a table whose column names are its time steps: numbered features.
    arrays = RNNClassifier(hidden_size=4, conv_channels=4, max_epochs=2, random_state=0)
    arrays.fit(np.stack([f.to_numpy() for f in frames]), clf.classes_[np.arange(20) % 2])
    display = AttributionDisplay.from_estimator(arrays, [frames[0].to_numpy()], n_steps=5)
    assert [line.get_label() for line in display.lines_] == ["feature 0", "feature 1", "feature 2"]
    table = pd.DataFrame(rng.normal(size=(20, 6)), columns=[f"t{i}" for i in range(6)])
    wide = RNNClassifier(hidden_size=4, conv_channels=4, max_epochs=2, random_state=0)
    display = AttributionDisplay.from_estimator(
        wide.fit(table, np.arange(20) % 2), table, n_steps=5
    )
    assert display.feature_names is None and display.sequence.shape == (6, 1)


@pytest.mark.filterwarnings("ignore:The PyTorch API of nested tensors:UserWarning")
def test_attribution_display_of_a_nested_tensor():
    # np.asarray of a nested tensor failed inside torch ("NestedTensorImpl
    # doesn't support sizes") before X was read as predict reads it.
    torch = pytest.importorskip("torch")
    X, y = data(n=20)
    clf = RNNClassifier(hidden_size=4, conv_channels=4, max_epochs=2, random_state=0).fit(X, y)
    seqs = [torch.tensor(X[0], dtype=torch.float32), torch.tensor(X[1, :4], dtype=torch.float32)]
    display = AttributionDisplay.from_estimator(clf, torch.nested.nested_tensor(seqs), index=1)
    expected = AttributionDisplay.from_estimator(clf, [s.numpy() for s in seqs], index=1)
    np.testing.assert_array_equal(display.attributions, expected.attributions)
    np.testing.assert_array_equal(display.sequence, X[1, :4, None].astype(np.float32))


# -- verbose output ------------------------------------------------------------


def test_verbose_0_prints_nothing(capsys):
    X, y = data()
    RNNClassifier(hidden_size=4, max_epochs=3, random_state=0).fit(X, y)
    out = capsys.readouterr()
    assert out.out == "" and out.err == ""


def _early_stopped_verbose(**params):
    X, y = data()
    defaults = dict(hidden_size=16, lr=0.05, max_epochs=60, early_stopping=True)
    defaults.update(n_iter_no_change=3, verbose=1, random_state=0)
    return RNNClassifier(**{**defaults, **params}).fit(X, y)


def _printed_epochs(out):
    return [int(line.split()[0]) for line in out.splitlines() if line.split()[0].isdigit()]


def test_verbose_says_when_the_head_is_not_solved(capsys):
    # "Head solved in closed form" was printed whenever the random kernels
    # were on, also where the solve was skipped (history_ had no head_solved).
    X, y = data()
    weights = np.r_[1.0, np.zeros(len(y) - 1)]
    clf = RNNClassifier(hidden_size=4, max_epochs=2, random_state=0, verbose=1)
    clf.fit(X, y, sample_weight=weights)
    lines = capsys.readouterr().out.splitlines()
    assert "head_solved" not in clf.history_[-1]
    assert lines[-1] == (
        "Head left as trained: fewer than 2 sequences have weight, and its closed form "
        "needs 2 (leave-one-out)."
    )


def test_verbose_1_prints_epoch_table_and_early_stopping(capsys):
    clf = _early_stopped_verbose()
    out = capsys.readouterr().out
    # The random kernels and the closed-form head, outside the epochs, take a
    # large share of a small fit: a line each.
    lines = out.splitlines()
    assert lines[0].startswith("Random kernel features: 5,040 of each of 80 sequences in ")
    assert lines[-1].startswith("Head solved in closed form (ridge regression")
    header = lines[1].split()
    assert header[:2] == ["epoch", "train_loss"]
    assert "valid_loss" in header and "dur" in header
    assert "best_epoch" not in out
    # Every epoch once, the last one (whose end early stopping interrupts) included.
    assert clf.n_iter_ < 60
    assert _printed_epochs(out) == list(range(1, clf.n_iter_ + 1))
    assert "Stopping since valid_loss has not improved in the last 3 epochs" in out
    assert f"Restoring best model from epoch {clf.history_[-1, 'best_epoch']}" in out


def test_verbose_1_prints_every_epoch_of_a_full_fit(capsys):
    X, y = data()
    RNNRegressor(hidden_size=4, max_epochs=6, verbose=1, random_state=0).fit(X, y * 1.0)
    assert _printed_epochs(capsys.readouterr().out) == [1, 2, 3, 4, 5, 6]


def test_verbose_table_is_coloured_only_on_a_terminal(capsys, monkeypatch):
    _early_stopped_verbose(max_epochs=4)
    plain = capsys.readouterr().out
    assert "\x1b[" not in plain  # captured output is no terminal: no ANSI codes
    monkeypatch.setattr("sklrnn._training._stdout_is_terminal", lambda: True)
    _early_stopped_verbose(max_epochs=4)
    coloured = capsys.readouterr().out
    assert "\x1b[36m" in coloured and "\x1b[0m" in coloured  # best losses highlighted
    assert _printed_epochs(coloured) == _printed_epochs(plain) == [1, 2, 3, 4]


def test_verbose_2_shows_no_progress_bar_for_short_epochs(capsys):
    X, y = data()
    RNNClassifier(hidden_size=4, max_epochs=2, batch_size=8, verbose=2, random_state=0).fit(X, y)
    out = capsys.readouterr()
    assert _printed_epochs(out.out) == [1, 2]  # the epoch table is still printed
    assert out.err == ""


class _SlowBatches(Callback):
    """Makes every batch last 30 ms, and the progress bar appear after 50 ms."""

    def on_train_begin(self, net, **kwargs):
        dict(net.callbacks_)["progress_bar"].delay = 0.05

    def on_batch_end(self, net, **kwargs):
        time.sleep(0.03)


def test_verbose_2_shows_a_progress_bar_once_an_epoch_is_slow(capsys):
    X, y = data()
    RNNClassifier(
        hidden_size=4,
        max_epochs=1,
        batch_size=8,
        verbose=2,
        random_state=0,
        callbacks=[_SlowBatches()],
    ).fit(X, y)
    out = capsys.readouterr()
    assert "train_loss" in out.out
    assert "/10 [" in out.err  # tqdm writes the bar, over the 10 batches, to stderr


def test_attribution_display_an_even_window_averages_that_many_steps():
    display = AttributionDisplay(
        sequence=np.zeros((4, 1)), attributions=[[1.0], [2.0], [4.0], [8.0]]
    )
    display.plot(window=2)
    # Each step and the next (the last step alone): two steps, not three.
    np.testing.assert_allclose(display.background_.get_array().ravel(), [1.5, 3.0, 6.0, 8.0])
