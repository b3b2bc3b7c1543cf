"""LossCurveDisplay, and what verbose prints during training."""

import sys

import matplotlib
import numpy as np
import pytest
from sklearn.exceptions import NotFittedError
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import FunctionTransformer

from sklrnn import LossCurveDisplay, RNNClassifier, RNNRegressor

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
    assert f"restored (epoch {display.best_epoch})" in labels


def test_without_validation_only_train_curve():
    X, y = data()
    reg = RNNRegressor(hidden_size=4, max_epochs=4, early_stopping=False, random_state=0)
    display = LossCurveDisplay.from_estimator(reg.fit(X, y.astype(float)))
    assert display.valid_loss is None and display.best_epoch is None
    assert set(display.lines_) == {"train"}
    assert len(display.train_loss) == 4


def test_given_axes_pipeline_and_log_scale():
    X, y = data()
    pipe = make_pipeline(
        FunctionTransformer(), RNNClassifier(hidden_size=4, max_epochs=3, random_state=0)
    ).fit(X, y)
    fig, (ax1, ax2) = plt.subplots(1, 2)
    display = LossCurveDisplay.from_estimator(pipe, ax=ax2, name="mine", log_scale=True)
    assert display.ax_ is ax2 and display.figure_ is fig
    assert ax2.get_title() == "mine" and ax2.get_yscale() == "log"
    assert not ax1.lines


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
    with pytest.raises(ValueError, match="valid_loss has shape"):
        LossCurveDisplay(train_loss=[1.0, 2.0], valid_loss=[1.0])


def test_missing_matplotlib_is_explained(monkeypatch):
    monkeypatch.setitem(sys.modules, "matplotlib.pyplot", None)
    display = LossCurveDisplay(train_loss=[1.0, 0.5])
    with pytest.raises(ImportError, match=r"requires matplotlib.*sklrnn\[plot\]"):
        display.plot()


# -- verbose output ------------------------------------------------------------


def test_verbose_0_prints_nothing(capsys):
    X, y = data()
    RNNClassifier(hidden_size=4, max_epochs=3, random_state=0).fit(X, y)
    out = capsys.readouterr()
    assert out.out == "" and out.err == ""


def test_verbose_1_prints_epoch_table_and_early_stopping(capsys):
    X, y = data()
    clf = RNNClassifier(
        hidden_size=16,
        lr=0.05,
        max_epochs=60,
        early_stopping=True,
        n_iter_no_change=3,
        verbose=1,
        random_state=0,
    ).fit(X, y)
    out = capsys.readouterr().out
    header = out.splitlines()[0].split()
    assert header[:2] == ["epoch", "train_loss"]
    assert "valid_loss" in header and "dur" in header
    assert out.count("\n") >= len(clf.history_) + 2  # header, rule, one row per epoch
    assert "Stopping since valid_loss has not improved in the last 3 epochs" in out
    assert f"Restoring best model from epoch {clf.history_[-1, 'best_epoch']}" in out


def test_verbose_2_adds_a_progress_bar(capsys):
    X, y = data()
    RNNClassifier(hidden_size=4, max_epochs=2, batch_size=8, verbose=2, random_state=0).fit(X, y)
    out = capsys.readouterr()
    assert "train_loss" in out.out  # the epoch table is still printed
    assert "it/s" in out.err or "/9" in out.err  # tqdm writes the bar to stderr
