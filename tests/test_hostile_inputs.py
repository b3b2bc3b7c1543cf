"""Property-based tests: malformed input fails loudly, or gives a correct result.

Every public entry point (``fit``, ``predict``, ``predict_proba``, ``score``)
of both estimators is fed arrays of any dimensionality, size and dtype, with
NaN, infinity and huge values, as numpy arrays, lists, DataFrames, sparse
matrices and ragged lists. Each call must either raise a ``ValueError`` or
``TypeError`` whose message names a problem the input has, or return a
result of the right shape without NaN. Anything else (a torch
``RuntimeError``, an ``IndexError``, NaN in predictions, a message that
names no problem of the input) fails the test. The problems an input has
are read off the array it was built from (``_x_words`` and friends).

Predict-time properties share module-level fitted estimators; fit-time
properties train tiny networks for one epoch, so that each example takes
milliseconds.
"""

import copy
import datetime
import pickle
import re
import warnings
from decimal import Decimal
from fractions import Fraction
from typing import NamedTuple

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp
import torch
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp
from sklearn.compose import ColumnTransformer
from sklearn.exceptions import DataConversionWarning
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import OneHotEncoder
from skorch.callbacks import Callback

import sklrnn._base
from sklrnn import RNNClassifier, RNNRegressor, pad_sequences
from sklrnn.preprocessing import (
    SequenceScaler,
    WideToSequence,
    long_to_sequences,
    make_windows,
)

PROPERTY = settings(
    max_examples=500,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
TINY = dict(hidden_size=2, max_epochs=1, early_stopping=False, batch_size=8, random_state=0)
N_STEPS = 4  # columns of the 2D training data
N_CHANNELS = 2  # features per step of the 3D training data
FLOAT32_MAX = float(np.finfo(np.float32).max)


def _training_data():
    rng = np.random.RandomState(0)
    X = rng.normal(size=(12, N_STEPS))
    return X, np.arange(12) % 3, X.sum(axis=1)


def _fitted_models():
    X, y_class, y_reg = _training_data()
    X3 = np.random.RandomState(1).normal(size=(12, 3, N_CHANNELS))
    return {
        "classifier-2d": RNNClassifier(**TINY).fit(X, y_class),
        "regressor-2d": RNNRegressor(**TINY).fit(X, y_reg),
        "classifier-3d": RNNClassifier(**TINY).fit(X3, y_class),
        "regressor-3d": RNNRegressor(**TINY).fit(X3, np.c_[y_reg, -y_reg]),
    }


MODELS = _fitted_models()


# -- strategies ------------------------------------------------------------

# Floats of every kind: ordinary, huge (beyond float32), NaN and infinities.
WILD_FLOATS = st.one_of(
    st.floats(-10, 10),
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from([np.nan, np.inf, -np.inf, 1e300, -1e300, 3e38, -3e38, 1e30, 0.0]),
)


def _elements(dtype):
    kind = np.dtype(dtype).kind
    if kind == "f":
        return WILD_FLOATS if dtype == np.float64 else st.floats(width=32)
    if kind == "c":
        return st.complex_numbers(max_magnitude=1e6, allow_nan=False)
    if kind == "U":
        return st.text(alphabet="0123456789.e-abc ", max_size=4)
    if kind == "O":
        return st.one_of(st.floats(-5, 5), st.integers(-5, 5), st.text(max_size=3), st.none())
    if kind == "b":
        return st.booleans()
    return st.integers(-(2**62), 2**62)


DTYPES = st.sampled_from(
    [np.float64, np.float64, np.float32, np.int64, np.bool_, np.complex128, np.object_, "<U4"]
)


# Shapes the fitted models accept, with sides that may be 0: half of the
# arrays get one, so that well-formed input is common enough to be checked.
MODEL_SHAPES = st.tuples(st.integers(0, 5), st.integers(0, 5)).flatmap(
    lambda nt: st.sampled_from([(nt[0], N_STEPS), (*nt, 1), (*nt, N_CHANNELS)])
)


@st.composite
def arrays(draw, min_dims=0, max_dims=4):
    """Arrays of any dtype and shape, sides 0 to 5, often with clean values."""
    dtype = draw(DTYPES)
    if draw(st.booleans()):
        shape = draw(MODEL_SHAPES)
    else:
        shape = draw(hnp.array_shapes(min_dims=min_dims, max_dims=max_dims, min_side=0, max_side=5))
    elements = _elements(dtype)
    if np.dtype(dtype).kind == "f" and draw(st.booleans()):
        elements = st.floats(-10, 10, width=np.dtype(dtype).itemsize * 8)
    return draw(hnp.arrays(dtype, shape, elements=elements))


class Drawn(NamedTuple):
    """An input, with what it was built from: the problems it has are read off these."""

    value: object  # what the estimator gets
    array: np.ndarray  # the array it was built from
    form: str = "numpy"  # "numpy", "list", "dataframe", "sparse" or "ragged"
    lengths: tuple = ()  # ragged form: the steps each sequence keeps


@st.composite
def containers(draw, array):
    """``array`` as numpy, nested list, DataFrame, sparse matrix or ragged list."""
    form = draw(st.sampled_from(["numpy", "list", "dataframe", "sparse", "ragged"]))
    if form == "list":
        return Drawn(array.tolist(), array, form)
    if form == "dataframe" and array.ndim == 2:
        return Drawn(pd.DataFrame(array), array, form)
    if form == "sparse" and array.ndim == 2 and array.dtype.kind in "fiub":
        return Drawn(sp.csr_matrix(array), array, form)
    if form == "ragged" and array.ndim in (2, 3) and len(array):
        # Cut each sample to its own length (possibly zero).
        lengths = draw(st.lists(st.integers(0, array.shape[1]), min_size=len(array)))
        lengths = tuple(lengths[: len(array)])
        return Drawn(
            [sample[:n] for sample, n in zip(array, lengths, strict=True)], array, form, lengths
        )
    return Drawn(array, array)


@st.composite
def hostile_X(draw):
    return draw(containers(draw(arrays())))


@st.composite
def valid_X(draw, n_steps=N_STEPS):
    """Well-formed 2D float input with the training data's number of columns."""
    n = draw(st.integers(1, 6))
    return draw(hnp.arrays(np.float64, (n, n_steps), elements=st.floats(-10, 10)))


# -- checking outcomes -----------------------------------------------------


def _outcome(func, *args, words, **kwargs):
    """Call ``func``; return its result, or None after a ValueError/TypeError naming a problem.

    The message must contain one of ``words``, the names of the problems the
    input has. Any other exception propagates and fails the test.
    """
    try:
        with warnings.catch_warnings():
            # sklearn's warnings (e.g. a column-vector y, a metric undefined
            # for one sample) are fine; only the outcome matters here.
            warnings.simplefilter("ignore")
            return func(*args, **kwargs)
    except (ValueError, TypeError) as exc:
        message = str(exc).lower()
        assert any(word in message for word in words), (
            f"{type(exc).__name__} {str(exc)[:300]!r} names none of the input's problems "
            f"{sorted(words)}"
        )
        return None


# -- what is wrong with an input: the words a message about it may use ----------


def _value_words(array):
    """Problems of the values: text, complex, NaN, infinity, sizes float32 cannot take."""
    if array.dtype.kind == "c":
        return {"complex"}
    words = {"numbers"} if array.dtype.kind in "UO" else set()
    values = []
    for value in array.ravel().tolist():
        if value is None:  # not a number, or NaN once in a DataFrame
            words |= {"numbers", "nan"}
            continue
        try:
            values.append(float(value))
        except (TypeError, ValueError):
            pass  # text: "numbers" above
    values = np.array(values)
    if np.isnan(values).any():
        words.add("nan")
    if np.isinf(values).any():
        words.add("infinity")
    if (np.abs(values[np.isfinite(values)]) > 1e10).any():
        # Beyond float32, or big enough to overflow the network's arithmetic.
        words |= {"large", "infinity"}
    return words


def _x_words(X, fitted=None):
    """Problems of input ``X`` (a Drawn); ``fitted`` names the model that predicts."""
    array = X.array
    words = _value_words(array)
    if X.form == "sparse":
        words.add("sparse")
    if array.ndim not in (2, 3):
        words |= {"reshape", "dimension", "scalar"}
    if 0 in array.shape:
        words |= {"0 sample", "0 feature", "0 time step"}
    if X.form == "ragged" and 0 in X.lengths:  # an empty sequence, or all empty
        words |= {"length 0", "0 feature"}
    if fitted is not None and _wrong_feature_count(X, fitted):
        words.add("features")
    return words


def _wrong_feature_count(X, fitted):
    array = X.array
    if array.ndim not in (2, 3):
        return False
    table = array.ndim == 2 and X.form != "ragged"
    channels = array.shape[2] if array.ndim == 3 else 1
    if fitted.endswith("2d"):  # fitted on a table of N_STEPS columns
        return array.shape[1] != N_STEPS if table else channels != 1
    return channels != N_CHANNELS


def _distinct(array):
    try:
        return len(set(array.ravel().tolist()))
    except TypeError:  # unhashable values
        return 0


def _y_words(y, n, classification, fit, n_outputs=None):
    """Problems of target ``y`` (a Drawn or None) for ``n`` samples of X.

    ``n_outputs`` is the number of targets of the regressor that scores ``y``.
    """
    if y is None:
        return {"requires y"}
    array = y.array
    words = _value_words(array)
    if y.form == "sparse":
        words |= {"sparse", "array-like"}
    if array.ndim == 0:
        words |= {"singleton", "scalar", "dimension", "array-like", "1d"}
    elif len(array) != n:
        words.add("inconsistent")
    if array.ndim >= 2 and 0 in array.shape:
        words |= {"0 sample", "0 feature"}
    if array.ndim > 2:
        words |= {"1d or 2d", "dim"}
    if y.form == "ragged":  # sequences of different lengths: no array
        words |= {"inhomogeneous", "inconsistent"}
    if y.form == "dataframe" and 0 in array.shape and not fit:
        # scikit-learn's metrics fail on a DataFrame without columns with
        # this message, which names no problem; sklrnn's own code is not involved.
        words.add("at least one array or dtype is required")
    if classification:
        if fit:  # one label per sample, at least two of them
            words |= {"1d", "label type"} if array.ndim != 1 else set()
            words |= {"2 classes", "label type"} if _distinct(array) < 2 else set()
            words |= {"label type"} if array.dtype.kind in "fOUc" else set()
        else:  # accuracy_score, against the predicted labels 0, 1 and 2
            # ("same type": scikit-learn 1.6's message for strings against them)
            words |= {"mix", "not supported between instances", "label type", "same type"}
    else:
        if array.dtype.kind in "UO":
            words |= {"convert", "nonetype"}  # numpy's float() of text or None
        if y.form == "ragged":
            words |= {"1d or 2d", "dim"}
        if array.ndim >= 2 or y.form == "ragged":
            words |= {"0 feature", "number of output"}
        if n_outputs is not None and array.ndim == 1 and n_outputs != 1:
            words.add("number of output")
    return words


def _weight_words(sample_weight, n, classification):
    """Problems of ``sample_weight`` (a Drawn or None) for ``n`` samples."""
    if sample_weight is None:
        return set()
    weights = sample_weight.array
    words = _value_words(weights)
    if len(weights) != n:
        words |= {"sample_weight", "inconsistent"}
    problems = not np.isfinite(weights).all() or (weights <= 0).any()
    with np.errstate(over="ignore"):
        problems = problems or not np.isfinite(weights.sum())
    if problems:
        words |= {"sample_weight", "sample weight", "negative", "non-zero", "overflow"}
        if classification:  # the classes left with positive weight
            words.add("2 classes")
    return words


def _assert_error_mentions(func, words, *args, **kwargs):
    """``func`` raises a ValueError/TypeError whose message contains one of ``words``."""
    with pytest.raises((ValueError, TypeError)) as info:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            func(*args, **kwargs)
    message = str(info.value).lower()
    assert any(w.lower() in message for w in words), (
        f"{type(info.value).__name__} message {message!r} names none of {words}"
    )


def _n_samples(X):
    return X.shape[0] if hasattr(X, "shape") else len(X)


def _assert_valid_predictions(model, X, pred, proba=None):
    n = _n_samples(X)
    if isinstance(model, RNNClassifier):
        assert pred.shape == (n,)
        assert np.isin(pred, model.classes_).all()
        if proba is not None:
            assert proba.shape == (n, len(model.classes_))
            assert np.isfinite(proba).all()
            np.testing.assert_allclose(proba.sum(axis=1), 1.0, rtol=1e-6)
    else:
        assert pred.shape[0] == n
        assert np.isfinite(pred).all(), "NaN or infinity in predictions"


# -- predict time ----------------------------------------------------------


@pytest.mark.parametrize("name", sorted(MODELS))
@PROPERTY
@given(X=hostile_X())
def test_predict_methods_reject_or_handle_any_X(name, X):
    model, words = MODELS[name], _x_words(X, fitted=name)
    X = X.value
    pred = _outcome(model.predict, X, words=words)
    event("predicted" if pred is not None else "rejected")
    if pred is not None:
        _assert_valid_predictions(model, X, pred)
    if isinstance(model, RNNClassifier):
        proba = _outcome(model.predict_proba, X, words=words)
        if proba is not None:
            _assert_valid_predictions(model, X, model.classes_[proba.argmax(axis=1)], proba)
    if pred is not None:
        score = _outcome(model.score, X, pred, words=words)
        # Scoring the model's own predictions: a perfect score (r2 is
        # undefined, NaN, for a single sample or constant targets).
        assert score is None or np.isnan(score) or score == pytest.approx(1.0)


@PROPERTY
@given(
    n_steps=st.integers(1, 8).filter(lambda n: n != N_STEPS),
    n_channels=st.integers(1, 4),
    three_d=st.booleans(),
)
def test_predict_rejects_unseen_feature_counts(n_steps, n_channels, three_d):
    """A model fitted on a 2D table wants its columns; on 3D, its channels."""
    table = MODELS["regressor-2d"]
    _assert_error_mentions(table.predict, ["features"], np.zeros((2, n_steps)))
    model = MODELS["classifier-3d"]
    shape = (2, n_steps, n_channels) if three_d else (2, n_steps)
    if (n_channels if three_d else 1) == N_CHANNELS:
        # Sequences of any length are fine for a model fitted on 3D input.
        _assert_valid_predictions(model, np.zeros(shape), model.predict(np.zeros(shape)))
    else:
        _assert_error_mentions(model.predict_proba, ["features"], np.zeros(shape))


@st.composite
def inner_non_finite(draw):
    """A valid 3D array with one NaN (not trailing padding) or infinity inside."""
    n, t = draw(st.integers(1, 4)), draw(st.integers(1, 5))
    X = draw(hnp.arrays(np.float64, (n, t, N_CHANNELS), elements=st.floats(-5, 5)))
    i, step, f = draw(st.integers(0, n - 1)), draw(st.integers(0, t - 1)), draw(st.integers(0, 1))
    value = draw(st.sampled_from([np.nan, np.inf, -np.inf]))
    if np.isnan(value):
        # One feature NaN while another is not: never padding.
        X[i, step, f] = np.nan
        X[i, step, 1 - f] = 1.0
    else:
        X[i, step, f] = value
    return X


@PROPERTY
@given(X=inner_non_finite())
def test_non_finite_values_outside_padding_are_named(X):
    words = ["nan", "infinity"]
    model = MODELS["classifier-3d"]
    for method in (model.predict, model.predict_proba):
        _assert_error_mentions(method, words, X)
    _assert_error_mentions(RNNRegressor(**TINY).fit, words, X, np.arange(len(X), dtype=float))


def test_an_infinity_is_refused_with_its_position_and_the_fix():
    # scikit-learn's message named neither ("Input X contains infinity or a
    # value too large for dtype('float64')", of a float64 inf).
    X = np.zeros((4, N_STEPS, N_CHANNELS))
    X[2, 3, 1] = -np.inf
    fix = r", the first\. Replace or clip infinite values first, the same way for fit and pred"
    cases = [
        (X, r"X\[2, 3, 1\] is -inf"),
        (X[:, :, 1], r"X\[2, 3\] is -inf"),
        (pd.DataFrame(X[:, :, 1]), r"X\[2, 3\] is -inf"),
        (list(X), r"X\[2\]\[3, 1\] is -inf"),
    ]
    for data, where in cases:
        with pytest.raises(ValueError, match=r"^Input X(\[2\])? contains infinity: " + where + fix):
            RNNRegressor(**TINY).fit(data, np.arange(4.0))
        model = MODELS["classifier-2d" if np.ndim(data) == 2 else "classifier-3d"]
        with pytest.raises(ValueError, match=where + fix):
            model.predict(data)


def test_a_big_input_is_checked_as_one_though_converted_in_chunks(monkeypatch):
    # An infinity in a later chunk was placed within its chunk (X[5, ...] for
    # X[13, ...]), and every chunk repeated the warnings of how X is read,
    # each pointing inside sklrnn.
    monkeypatch.setattr("sklrnn._base._PREDICT_CHUNK_VALUES", 8 * N_STEPS * N_CHANNELS)
    model = MODELS["classifier-3d"]  # fitted on arrays, without feature names
    X = np.zeros((20, N_STEPS, N_CHANNELS))
    X[13, 2, 1] = np.inf
    with pytest.raises(ValueError, match=r"X\[13, 2, 1\] is inf, the first\. Replace or clip"):
        model.predict(X)
    frames = [pd.DataFrame(x, columns=["a", "b"]) for x in X[:12]]
    with pytest.warns(UserWarning, match="X has feature names, but RNNClassifier was") as w:
        assert model.predict(frames).shape == (12,)  # chunks of 8 and 4
    assert [record.filename for record in w] == [__file__]


TABLE_READERS = {
    "fit": lambda X: RNNClassifier(**TINY).fit(X, np.arange(len(X)) % 2),
    "SequenceScaler": lambda X: SequenceScaler().fit(X),
    "WideToSequence": lambda X: WideToSequence().fit(X),
    "pad_sequences": pad_sequences,
    "make_windows": lambda X: make_windows(X, 1),
}


@pytest.mark.parametrize("reader", TABLE_READERS.values(), ids=TABLE_READERS)
def test_tables_sklrnn_cannot_read_are_named_by_every_reader(reader):
    # Text categories beside a nullable column got pandas' "Cannot cast str
    # dtype to float64", and a table without columns numpy's "at least one
    # array or dtype is required" (pad_sequences, WideToSequence, make_windows).
    text = pd.DataFrame(
        {"a": pd.Series(["x", "y", "x"], dtype="category"), "b": pd.array([1, 2, 3], "Int64")}
    )
    with pytest.raises(ValueError, match="^Column 'a' of .* is categorical with categories that"):
        reader(text)
    with pytest.raises(ValueError, match=r"0 feature\(s\) \(shape=\(3, 0\)\) .* one feature"):
        reader(pd.DataFrame(index=range(3)))
    for numbers in ([1, 2, 1], ["1", "2", "1"]):  # read, as numbers written as text are
        reader(text.assign(a=pd.Series(numbers, dtype="category")))


@pytest.mark.parametrize(
    "call",
    [
        lambda: pad_sequences([np.inf, 1.0]),
        lambda: SequenceScaler().fit([np.ones(3), np.float64(-np.inf)]),
        lambda: RNNClassifier(**TINY).fit([np.ones((3, 1)), np.array(np.inf)], [0, 1]),
    ],
)
def test_an_infinite_scalar_where_a_sequence_belongs_is_named_as_a_scalar(call):
    # IndexError: the infinity's position was looked up in its 0 dimensions.
    with pytest.raises(
        ValueError, match=r"^Sequence [01] of \w+ is the single number -?inf, where a sequence"
    ):
        call()


def test_longdouble_beyond_float32_is_named():
    # Cast to float32 inside check_array: numpy's overflow warning and
    # "contains infinity or a value too large", of an X without infinities.
    X = np.ones((4, 5), dtype=np.longdouble)
    X[1, 2] = 1e39
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with pytest.raises(ValueError, match=r"too large for float32 \(\|x\| > 3\.4e\+38\); resc"):
            RNNRegressor(**TINY).fit(X, np.arange(4.0))


@PROPERTY
@given(
    value=st.one_of(
        st.floats(min_value=1e20, max_value=1e308), st.floats(min_value=-1e308, max_value=-1e20)
    ),
    model_name=st.sampled_from(sorted(MODELS)),
)
def test_huge_values_are_rejected_or_predicted_finitely(value, model_name):
    model = MODELS[model_name]
    n_channels = 1 if model_name.endswith("2d") else N_CHANNELS
    X = np.ones((3, N_STEPS, n_channels))
    X[1, 2, :] = value
    X = X[:, :, 0] if n_channels == 1 else X
    try:
        pred = model.predict(X)
    except ValueError as exc:
        assert "large" in str(exc) or "rescale" in str(exc), str(exc)
    else:
        _assert_valid_predictions(model, X, pred)


@pytest.mark.parametrize("Estimator", [RNNClassifier, RNNRegressor])
def test_values_that_overflow_float32_once_centred_are_named_in_fit(Estimator):
    # Each value is within float32's range, but 3.3e38 lies 4.95e38 from the
    # mean: the network's centring made it inf, and fit reported a diverged
    # training with the advice to standardize (which it did).
    X = np.array([[3.3e38, -3.3e38, -3.3e38, -3.3e38]] * 2)
    with pytest.raises(ValueError, match="too large for float32 once centred.*Rescale X"):
        Estimator(**TINY).fit(X, [0, 1])
    Estimator(**TINY).fit(X / 1e30, [0, 1])


@pytest.mark.parametrize("name", sorted(MODELS))
@PROPERTY
@given(y=arrays(max_dims=3).flatmap(containers))
def test_score_rejects_or_handles_any_y(name, y):
    model = MODELS[name]
    X = np.random.RandomState(2).normal(size=(4, N_STEPS))
    if name.endswith("3d"):
        X = np.stack([X, X], axis=2)
    words = _y_words(
        y, 4, isinstance(model, RNNClassifier), fit=False, n_outputs=getattr(model, "n_outputs_", 1)
    )
    score = _outcome(model.score, X, y.value, words=words)
    assert score is None or np.isnan(score) or np.isfinite(score)


@st.composite
def non_numeric_X(draw):
    """A valid table with one text or dict cell, as object array, list or DataFrame."""
    n = draw(st.integers(1, 4))
    X = draw(hnp.arrays(np.float64, (n, N_STEPS), elements=st.floats(-5, 5))).astype(object)
    junk = st.one_of(st.text(alphabet="abcxyz", min_size=1, max_size=3), st.just({"a": 1}))
    X[draw(st.integers(0, n - 1)), draw(st.integers(0, N_STEPS - 1))] = draw(junk)
    form = draw(st.sampled_from(["numpy", "list", "dataframe"]))
    return {"numpy": X, "list": X.tolist(), "dataframe": pd.DataFrame(X)}[form]


@PROPERTY
@given(X=non_numeric_X())
def test_non_numeric_values_are_named(X):
    words = ["numbers"]
    for model in (MODELS["classifier-2d"], MODELS["regressor-2d"]):
        _assert_error_mentions(model.predict, words, X)
    y = np.arange(_n_samples(X)) % 2
    _assert_error_mentions(RNNClassifier(**TINY).fit, words + ["2 classes"], X, y)


def test_sparse_and_complex_input_are_named():
    X = np.zeros((2, N_STEPS))
    for model in MODELS.values():
        _assert_error_mentions(model.predict, ["sparse"], sp.csr_matrix(X))
    model = MODELS["regressor-2d"]
    _assert_error_mentions(model.predict, ["complex"], X + 1j)
    _assert_error_mentions(RNNClassifier(**TINY).fit, ["sparse"], sp.csr_matrix(X), [0, 1])
    # scikit-learn's "Complex data not supported" went on to print the whole array.
    fix = r"holds complex numbers \(dtype complex128\).*np\.stack\(\[X\.real, X\.imag\]"
    for data, where in [
        (X + 1j, "X"),
        (pd.DataFrame(X + 1j), "Column 0 of X"),
        (list(X + 1j), r"X\[0\]"),
    ]:
        with pytest.raises(ValueError, match=f"^Complex data not supported: {where} {fix}"):
            model.predict(data)
    # y too: its message printed all of y.
    for y in [np.arange(12) + 1j, list(np.arange(12) + 1j)]:
        with pytest.raises(
            ValueError, match=r"^Complex data not supported: y holds .*y\.imag\]\)\.$"
        ):
            RNNRegressor(**TINY).fit(np.zeros((12, N_STEPS)), y)


@pytest.mark.parametrize("X", [None, 3.5, "abc", np.array(3.5)])
def test_none_and_scalars_are_named(X):
    shown = "none" if X is None else f"scalar {np.asarray(X).item()!r}"
    for model in MODELS.values():
        _assert_error_mentions(model.predict, [shown], X)
    _assert_error_mentions(RNNClassifier(**TINY).fit, [shown], X, [0, 1])


# -- fit time --------------------------------------------------------------


@st.composite
def targets(draw, n):
    """y for n samples, mostly plausible, sometimes hostile, as a Drawn or None."""
    kind = draw(
        st.sampled_from(["labels", "strings", "floats", "wild", "2d", "length", "junk", "none"])
    )
    if kind == "labels":
        y = draw(hnp.arrays(np.int64, n, elements=st.integers(0, 2)))
    elif kind == "strings":
        y = np.array(draw(st.lists(st.sampled_from(["a", "b"]), min_size=n, max_size=n)))
    elif kind == "floats":
        y = draw(hnp.arrays(np.float64, n, elements=st.floats(-100, 100)))
    elif kind == "wild":
        y = draw(hnp.arrays(np.float64, n, elements=WILD_FLOATS))
    elif kind == "2d":
        y = draw(hnp.arrays(np.float64, (n, draw(st.integers(0, 3))), elements=st.floats(-5, 5)))
    elif kind == "length":
        y = np.arange(draw(st.integers(0, 8).filter(lambda m: m != n))) % 2
    elif kind == "none":
        return None
    else:
        y = draw(arrays(max_dims=3))
    return Drawn(y, y)


@st.composite
def sample_weights(draw, n):
    kind = draw(st.sampled_from(["none", "positive", "wild", "length", "zeros"]))
    if kind == "none":
        return None
    if kind == "positive":
        weights = draw(hnp.arrays(np.float64, n, elements=st.floats(0.1, 10)))
    elif kind == "wild":
        weights = draw(hnp.arrays(np.float64, n, elements=WILD_FLOATS))
    elif kind == "zeros":
        weights = np.zeros(n)
    else:
        weights = np.ones(draw(st.integers(0, 8).filter(lambda m: m != n)))
    return Drawn(weights, weights)


@st.composite
def plausible_targets(draw, n, classification):
    if classification:  # labels of two or three classes, every class present
        y = draw(hnp.arrays(np.int64, n, elements=st.integers(0, 2)))
        y[:2] = np.arange(min(n, 2))
        y = np.array(["a", "b", "c"])[y] if draw(st.booleans()) else y
    else:
        shape = n if draw(st.booleans()) else (n, draw(st.integers(1, 3)))
        y = draw(hnp.arrays(np.float64, shape, elements=st.floats(-1e6, 1e6)))
    return Drawn(y, y)


@st.composite
def fit_inputs(draw, classification):
    """(X, y, sample_weight) as Drawn: each well-formed, or (one time in three) anything."""
    if draw(st.integers(0, 2)) == 0:
        X = draw(containers(draw(arrays(min_dims=1))))
    else:
        n, t, f = draw(st.integers(2, 8)), draw(st.integers(1, 5)), draw(st.integers(1, 3))
        X = draw(hnp.arrays(np.float64, (n, t, f), elements=st.floats(-1e4, 1e4)))
        X = draw(containers(X[:, :, 0] if draw(st.booleans()) else X))
    n = _n_samples(X.value)
    hostile = st.integers(0, 2).map(lambda k: k == 0)
    y = draw(targets(n)) if draw(hostile) else draw(plausible_targets(n, classification))
    if draw(hostile):
        sample_weight = draw(sample_weights(n))
    else:
        weights = draw(st.none() | hnp.arrays(np.float64, n, elements=st.floats(0.1, 10)))
        sample_weight = None if weights is None else Drawn(weights, weights)
    return X, y, sample_weight


def _fit_words(X, y, sample_weight, classification):
    """The problems of a fit's inputs, and of how they fit together."""
    n = _n_samples(X.value)
    return (
        _x_words(X)
        | _y_words(y, n, classification, fit=True)
        | _weight_words(sample_weight, n, classification)
    )


@pytest.mark.parametrize("Estimator", [RNNClassifier, RNNRegressor])
@PROPERTY
@given(data=st.data())
def test_fit_rejects_or_learns_from_any_input(Estimator, data):
    classification = Estimator is RNNClassifier
    X, y, sample_weight = data.draw(fit_inputs(classification=classification))
    words = _fit_words(X, y, sample_weight, classification)
    X, y, sample_weight = (None if d is None else d.value for d in (X, y, sample_weight))
    # A refit of a fitted model: refused, it must stay exactly as it was.
    fitted = MODELS[f"{'classifier' if classification else 'regressor'}-3d"]
    model = copy.deepcopy(fitted)
    refit = _outcome(model.fit, X, y, sample_weight=sample_weight, words=words)
    event("fitted" if refit is not None else "rejected")
    if refit is None:
        assert vars(model).keys() == vars(fitted).keys()
        X3 = np.random.RandomState(2).normal(size=(3, 3, N_CHANNELS))
        np.testing.assert_array_equal(model.predict(X3), fitted.predict(X3))
        return
    model = refit  # warm_start=False: a new model, as a first fit gives
    # Values that fit in float32 may still overflow the network's arithmetic
    # once weighted: predict then names them.
    pred = _outcome(model.predict, X, words=words & {"large", "infinity"})
    if pred is None:
        return
    # Where predict succeeded, predict_proba must too (words=set(): no error
    # is acceptable); its warnings, as predict's, are the input's.
    classifier = isinstance(model, RNNClassifier)
    proba = _outcome(model.predict_proba, X, words=set()) if classifier else None
    _assert_valid_predictions(model, X, pred, proba)


@pytest.mark.parametrize("Estimator", [RNNClassifier, RNNRegressor])
@PROPERTY
@given(n_X=st.integers(1, 6), n_y=st.integers(0, 7), n_w=st.integers(0, 7))
def test_fit_names_mismatched_lengths(Estimator, n_X, n_y, n_w):
    X = np.random.RandomState(0).normal(size=(n_X, 3))
    y = np.arange(n_y) % 2
    sample_weight = np.ones(n_w)
    if n_y == n_X and n_w == n_X:
        if n_X >= 2 or Estimator is RNNRegressor:  # a classifier needs two classes
            model = Estimator(**TINY).fit(X, y, sample_weight=sample_weight)
            _assert_valid_predictions(model, X, model.predict(X))
        return
    words = ["inconsistent numbers of samples", "sample_weight"]
    if Estimator is RNNClassifier and n_y < 2:
        words.append("at least 2 classes")  # also true, and may be found first
    _assert_error_mentions(Estimator(**TINY).fit, words, X, y, sample_weight=sample_weight)


@PROPERTY
@given(label=st.one_of(st.integers(), st.text(min_size=1, max_size=3)), n=st.integers(1, 6))
def test_single_class_y_is_named(label, n):
    X = np.random.RandomState(0).normal(size=(n, 3))
    # An integer beyond int64 makes an object array, which scikit-learn reads
    # as no labels.
    words = ["at least 2 classes", "labels of type int as python objects"]
    _assert_error_mentions(RNNClassifier(**TINY).fit, words, X, [label] * n)


def _overcommits_memory():
    """Whether Linux grants any allocation and fails only when it is written (mode 1)."""
    try:
        with open("/proc/sys/vm/overcommit_memory") as fh:
            return fh.read().strip() == "1"
    except OSError:
        return True  # not Linux: how a huge allocation fails is not known


@pytest.mark.skipif(_overcommits_memory(), reason="a huge allocation may succeed, then OOM")
@pytest.mark.parametrize(
    "sizes",
    [dict(hidden_size=10**9), dict(hidden_size=10**6, n_networks=3), dict(kernel_features=10**13)],
)
def test_a_network_too_big_to_allocate_is_a_memory_error_naming_its_sizes(sizes):
    # torch fails with a RuntimeError from its allocator (16 TB for each
    # direction's recurrent weights at hidden size 10**6) or from its size
    # arithmetic (4 * 10**18 elements at 10**9). kernel_features, the cause
    # of the last, went unnamed.
    X, y = np.zeros((4, 3)), [0, 1, 0, 1]
    name, value = next(iter(sizes.items()))
    with pytest.raises(MemoryError, match=f"{name}={value}, .*lower"):
        RNNClassifier(**sizes).fit(X, y)


@pytest.mark.skipif(_overcommits_memory(), reason="a huge allocation may succeed, then OOM")
def test_one_series_too_long_to_pad_is_named():
    # 100,000 series of one row and one of 1,000,000: padded, 800 GB.
    n = 100_000
    ids = np.concatenate([np.arange(n), np.full(10 * n, n)])
    times = np.concatenate([np.zeros(n), np.arange(10 * n)])
    df = pd.DataFrame({"id": ids, "t": times, "x": 1.0})
    expected = r"series 100000 with 1000000 rows, while half of them have at most 1\..*tail"
    with pytest.raises(MemoryError, match=expected):
        long_to_sequences(df, id_column="id", time_column="t")


@pytest.mark.parametrize("kernel_features, n_networks", [(84, 1), (0, 1), (0, 2)])
def test_a_target_constant_in_training_is_predicted_exactly(kernel_features, n_networks):
    # Trained, the network's output only came near the constant: with
    # kernel_features=0 a target of 2e-12 was predicted from -0.009 to 0.014
    # (a constant's scale is 1), beside a second target learnt as usual.
    X, _, y = _training_data()
    params = dict(TINY, max_epochs=5, kernel_features=kernel_features, n_networks=n_networks)
    model = RNNRegressor(**params).fit(X, np.c_[y, np.full(len(X), 2e-12)])
    mean, std = model.predict(X, return_std=True)
    assert (mean[:, 1] == 2e-12).all() and (std[:, 1] == 0).all()
    assert np.ptp(mean[:, 0]) > 0 and (std[:, 0] > 0).all()


@pytest.mark.parametrize("n", [1, 5])
def test_constant_regression_target_is_fine(n):
    X = np.random.RandomState(0).normal(size=(n, 3))
    model = RNNRegressor(**TINY).fit(X, np.full(n, 3.5))
    pred = model.predict(X)
    _assert_valid_predictions(model, X, pred)
    # The target's scale is 0: predictions stay at its value, not at 0.
    np.testing.assert_allclose(pred, 3.5, atol=0.25)


# -- messages that say what to do ---------------------------------------------


@pytest.mark.parametrize("method", ["fit", "predict"])
def test_one_dimensional_X_explains_one_sequence_or_many(method):
    X = np.arange(6.0)
    call = RNNRegressor(**TINY).fit if method == "fit" else MODELS["regressor-2d"].predict
    args = (X, np.arange(6.0)) if method == "fit" else (X,)
    with pytest.raises(ValueError, match="Reshape your data") as info:
        call(*args)
    message = str(info.value)
    assert "got 1D input with shape (6,)" in message
    assert "one sequence as X[None, :], of shape (1, n_timesteps)" in message
    assert "2D array of shape (n_samples, n_timesteps)" in message
    assert "one long series, cut it into windows and targets with" in message
    # scikit-learn's usual advice would turn the series into one-step samples.
    assert "reshape(-1, 1)" not in message


@pytest.mark.parametrize(
    "label, shown",
    [(np.int64(0), "0"), (np.float64(3.0), "3.0"), (np.str_("up"), "'up'"), (True, "True")],
)
def test_single_class_is_printed_as_a_plain_value(label, shown):
    X = np.random.RandomState(0).normal(size=(4, 3))
    y = np.array([label] * 4)
    with pytest.raises(ValueError, match=r"at least 2 classes") as info:
        RNNClassifier(**TINY).fit(X, y)
    assert str(info.value).endswith(f"contains only one class: {shown}.")
    assert "np." not in str(info.value)


@pytest.mark.parametrize("missing", [np.nan, None])
@pytest.mark.parametrize("form", ["numpy", "series"])
def test_missing_class_labels_are_named(missing, form):
    X = np.random.RandomState(0).normal(size=(6, 3))
    y = np.array(["a", "b", "a", missing, "b", missing], dtype=object)
    y = pd.Series(y) if form == "series" else y
    match = r"Input y contains NaN \(a missing label\) at 2 of 6 samples, first at sample 3"
    with pytest.raises(ValueError, match=match) as info:
        RNNClassifier(**TINY).fit(X, y)
    assert "drop the unlabelled samples from X and y" in str(info.value)


@pytest.mark.parametrize(
    "y", [[1.0, 2.0, 3.0, np.nan, 5.0, np.nan], pd.Series([1, 2, 3, None, 5, None], dtype="Int64")]
)
def test_missing_targets_are_named(y):
    # scikit-learn's "Input y contains NaN." said neither where nor what to do.
    X = np.random.RandomState(0).normal(size=(6, 3))
    match = r"Input y contains NaN \(a missing target\) at 2 of 6 samples, first at sample 3"
    with pytest.raises(ValueError, match=match) as info:
        RNNRegressor(**TINY).fit(X, y)
    assert "drop the unlabelled samples from X and y" in str(info.value)


@pytest.mark.parametrize("classes", [[0, 1, np.nan], [0, 1, None]])
def test_missing_labels_among_partial_fits_classes_are_named(classes):
    X = np.random.RandomState(0).normal(size=(6, 3))
    with pytest.raises(ValueError, match=r"classes contains NaN \(a missing label\)"):
        RNNClassifier(**TINY).partial_fit(X, [0, 1] * 3, classes=classes)


@pytest.mark.parametrize(
    "class_weight, labels, unknown",
    [
        ({0.5: 1000.0}, [0, 1], "[0.5]"),
        ({0: 5.0}, ["a", "b"], "[0]"),
        ({"c": 5.0}, ["a", "b"], "['c']"),
    ],
)
def test_class_weight_keys_that_are_no_class_are_named(class_weight, labels, unknown):
    # 0.5 was applied to class 1, and 0 to class "a", without a word.
    X = np.random.RandomState(0).normal(size=(6, 3))
    with pytest.raises(
        ValueError,
        match=re.escape(f"keys {unknown}, which are not classes, and leaves out the classes"),
    ):
        RNNClassifier(**TINY, class_weight=class_weight).fit(X, labels * 3)


@pytest.mark.parametrize(
    "y, kind",
    [
        (pd.Series([0, 1, 2] * 2, dtype=object), "int"),
        (pd.Series(pd.date_range("2020-01-01", periods=3, tz="UTC")[[0, 1, 2] * 2]), "Timestamp"),
        ([Decimal(i) for i in [0, 1, 2] * 2], "Decimal"),
    ],
)
def test_labels_held_as_python_objects_are_named_with_a_conversion(y, kind):
    # scikit-learn's "Unknown label type: unknown. Maybe you are trying to fit
    # a classifier ... on a regression target with continuous values".
    X = np.random.RandomState(0).normal(size=(6, 3))
    with pytest.raises(
        ValueError,
        match=f"Unknown label type: y holds labels of type {kind} as Python objects.*str",
    ):
        RNNClassifier(**TINY).fit(X, y)


def test_a_list_of_tuples_as_y_is_named_by_its_shape():
    # Read flat, it "mixed strings with other labels", with a fix that made
    # each tuple a string.
    X = np.random.RandomState(0).normal(size=(6, 3))
    with pytest.raises(ValueError, match=r"y should be a 1d array, got an array of shape \(6, 2\)"):
        RNNClassifier(**TINY).fit(X, [("a", 1), ("b", 2)] * 3)


def test_class_weight_keys_of_date_labels_are_dates_of_any_kind():
    # A pd.Timestamp key was "not a class" of nanosecond labels, whose
    # messages listed them as integers (1577836800000000000).
    X = np.random.RandomState(0).normal(size=(6, 3))
    days = np.array(["2020-01-01", "2020-01-02"], dtype="M8[ns]")[[0, 1] * 3]
    weights = np.where(days == days[0], 5.0, 1.0)
    expected = RNNClassifier(**TINY).fit(X, days, sample_weight=weights).predict_proba(X)
    for key in (pd.Timestamp("2020-01-01"), np.datetime64("2020-01-01", "D")):
        model = RNNClassifier(**TINY, class_weight={key: 5.0}).fit(X, days)
        np.testing.assert_array_equal(model.predict_proba(X), expected)
    with pytest.raises(ValueError, match=r"keys \['x'\].* classes \['2020-01-01T00:00:00\.0+',"):
        RNNClassifier(**TINY, class_weight={"x": 5.0}).fit(X, days)
    # Durations of nanoseconds were cut to 21 characters ('86400000000000 nanose').
    durations = (days - days[0]).astype("m8[ns]")
    with pytest.raises(
        ValueError, match=r"classes are \['0 nanoseconds', '86400000000000 nanosecon"
    ):
        RNNClassifier(**TINY, class_weight={"x": 5.0}).fit(X, durations)
    # One key that is no date made every key "not a class", the Timestamp too.
    with pytest.raises(ValueError, match=r"keys \['2020-01-0x'\], which are not classes"):
        RNNClassifier(
            **TINY, class_weight={pd.Timestamp("2020-01-01"): 2.0, "2020-01-0x": 1.0}
        ).fit(X, days)
    key = np.datetime64("2021-01-01", "ns")  # a date that is no class, shown as given
    with pytest.raises(ValueError, match=r"keys \[np.datetime64\('2021-01-01T00:00:00\.0+'\)\]"):
        RNNClassifier(**TINY, class_weight={key: 5.0}).fit(X, days)
    three = np.array(["2020-01-01", "2020-01-02", "2020-01-03"], dtype="M8[ns]")
    with pytest.raises(ValueError, match=r"y contains labels \['2020-01-03T00:00:00\.0+'\] that"):
        RNNClassifier(**TINY).partial_fit(X, three[[0, 1, 2] * 2], classes=three[:2])


def test_class_weight_keys_of_classes_absent_from_y_are_ignored():
    # A cross-validation fold without a rare class, as scikit-learn's
    # estimators take it: the dict names every class of y, and one more.
    X = np.random.RandomState(0).normal(size=(6, 3))
    y = ["a", "b"] * 3
    named = RNNClassifier(**TINY, class_weight={"a": 1.0, "b": 3.0}).fit(X, y)
    more = RNNClassifier(**TINY, class_weight={"a": 1.0, "b": 3.0, "rare": 9.0}).fit(X, y)
    np.testing.assert_array_equal(more.classes_, ["a", "b"])
    np.testing.assert_array_equal(more.predict_proba(X), named.predict_proba(X))


@pytest.mark.parametrize("Estimator", [RNNClassifier, RNNRegressor])
def test_numpy_integer_sizes_work_and_bools_are_refused(Estimator):
    X = np.random.RandomState(0).normal(size=(6, 3))
    y = [0, 1] * 3
    sizes = dict(hidden_size=np.int64(3), conv_channels=np.int32(2), num_layers=np.int64(1))
    model = Estimator(**{**TINY, **sizes}).fit(X, y)
    assert model.predict(X).shape == (6,)
    for name in ("hidden_size", "conv_channels", "batch_size"):
        with pytest.raises(
            TypeError,
            match=f"'{name}' parameter of {Estimator.__name__} must be an int, got the bool True",
        ):
            Estimator(**{**TINY, name: True}).fit(X, y)


@pytest.mark.parametrize(
    "params, message",
    [
        (dict(optimizer=int), "torch.optim.Optimizer subclass .* got int"),
        (dict(optimizer=torch.optim.LBFGS), "takes lr and weight_decay, got LBFGS"),
        (dict(callbacks=[1]), "callbacks must be a list of skorch callbacks .* got 1"),
        (dict(callbacks=["progress_bar"]), "got 'progress_bar'"),
    ],
)
def test_optimizers_and_callbacks_that_cannot_train_are_named(params, message):
    X = np.random.RandomState(0).normal(size=(6, 3))
    with pytest.raises(TypeError, match=message):
        RNNClassifier(**{**TINY, **params}).fit(X, [0, 1] * 3)


def test_optimizer_settings_come_with_a_subclass_not_nested_names():
    # skorch takes optimizer__momentum; scikit-learn's set_params called
    # set_params on the string "adam" ("'str' object has no attribute").
    for key in ("optimizer__momentum", "callbacks__progress"):
        with pytest.raises(ValueError, match=f"no parameter '{key}'.*no parameters of its own"):
            RNNClassifier().set_params(**{key: 0.9})
    with pytest.raises(ValueError, match="pass a subclass of the torch optimizer"):
        RNNRegressor().set_params(optimizer="sgd", optimizer__momentum=0.9)

    class SGDMomentum(torch.optim.SGD):  # the optimizer parameter's recipe
        def __init__(self, params, lr, weight_decay):
            super().__init__(params, lr=lr, weight_decay=weight_decay, momentum=0.9)

    X = np.random.RandomState(0).normal(size=(6, 3))
    model = (
        RNNClassifier(**TINY).set_params(optimizer=SGDMomentum, weight_decay=0.5).fit(X, [0, 1] * 3)
    )
    groups = model.net_.optimizer_.param_groups
    assert {group["momentum"] for group in groups} == {0.9}
    assert 0.5 in {group["weight_decay"] for group in groups}


def test_callbacks_that_monitor_a_validation_split_need_one():
    # skorch's KeyError ("Key 'valid_loss' was not found in history") at the
    # end of the first epoch: fit holds out data only with early_stopping.
    from skorch.callbacks import Checkpoint, EarlyStopping

    X = np.random.RandomState(0).normal(size=(20, 3))
    for callback, monitor in [(EarlyStopping(), "valid_loss"), (Checkpoint(), "valid_loss_best")]:
        with pytest.raises(ValueError, match=f"monitors '{monitor}', .*early_stopping=True"):
            RNNClassifier(**{**TINY, "callbacks": [callback]}).fit(X, [0, 1] * 10)
    model = RNNClassifier(**{**TINY, "callbacks": [EarlyStopping(monitor="train_loss")]})
    assert model.fit(X, [0, 1] * 10).n_iter_ >= 1
    model.set_params(callbacks=[EarlyStopping()], early_stopping=True)
    assert model.fit(X, [0, 1] * 10).n_iter_ >= 1
    # A training call without a split: a single sequence, partial_fit; and a
    # callback given as a class (skorch builds it with its defaults).
    fitted = copy.deepcopy(model)
    message = r"monitors 'valid_loss', .* but this training call holds none out: {}"
    single = RNNRegressor(**{**TINY, "early_stopping": True}, callbacks=[EarlyStopping()])
    with pytest.raises(ValueError, match=message.format("a single sequence holds out none")):
        single.fit(X[:1], [0.5])
    with pytest.raises(ValueError, match=message.format("partial_fit trains on all the data")):
        fitted.partial_fit(X, [0, 1] * 10)
    for early_stopping in (False, True):
        single.set_params(callbacks=[EarlyStopping], early_stopping=early_stopping)
        with pytest.raises(ValueError, match="monitors 'valid_loss'"):
            single.fit(X[:1], [0.5])
    # A fraction near 1 holds out all but one sequence (at 0.99 of 20, none
    # were held out and early stopping was off without a word).
    model.set_params(callbacks=None, validation_fraction=0.99, early_stopping=True)
    model.fit(X, [0, 1] * 10)
    assert "valid_loss" in model.history_[-1]


def test_parameters_a_callback_froze_stay_frozen_in_a_warm_start():
    # The warm start's new net trained every parameter: skorch's Freezer
    # acts in the first epoch only, which a warm start does not repeat.
    from skorch.callbacks import Freezer

    X, y = np.random.RandomState(0).normal(size=(20, 6)), [0, 1] * 10
    model = RNNClassifier(**TINY, callbacks=[Freezer("rnn.*")]).fit(X, y)
    frozen = {n: p.detach().clone() for n, p in model.net_.module_.named_parameters() if "rnn" in n}
    model.set_params(warm_start=True, max_epochs=2).fit(X, y)
    assert model.n_iter_ == 3
    for name, parameter in model.net_.module_.named_parameters():
        if name in frozen:
            assert torch.equal(parameter, frozen[name]) and not parameter.requires_grad


def test_a_score_of_the_validation_split_needs_one():
    # skorch's EpochScoring scores the validation split by default: without
    # one it recorded nothing, and fit said nothing; BatchScoring too.
    from skorch.callbacks import BatchScoring, EpochScoring

    X, y = np.random.RandomState(0).normal(size=(20, 3)), [0, 1] * 10
    for scoring, name, monitor in [("accuracy", None, "accuracy"), ("f1", "f", "f")]:
        model = RNNClassifier(**TINY, callbacks=[EpochScoring(scoring, name=name)])
        with pytest.raises(
            ValueError,
            match=f"records '{monitor}', .* or score the training data \\(on_train=True\\)",
        ):
            model.fit(X, y)
        assert monitor in model.set_params(early_stopping=True).fit(X, y).history_[-1]
    model = RNNClassifier(**TINY, callbacks=[EpochScoring("accuracy", on_train=True)])
    assert "accuracy" in model.fit(X, y).history_[-1]

    def hits(net, X, y):  # recorded under its name
        return 0.0

    with pytest.raises(ValueError, match="records 'hits', "):
        RNNClassifier(**TINY, callbacks=[EpochScoring(hits)]).fit(X, y)
    with pytest.raises(
        ValueError, match="holds BatchScoring, a callback that records 'accuracy', "
    ):
        RNNClassifier(**TINY, callbacks=[BatchScoring("accuracy")]).partial_fit(
            X, y, classes=[0, 1]
        )


def test_a_huge_batch_size_does_not_pad_predictions_to_it():
    # The last prediction batch is padded to a full one; at batch_size=10**9
    # that was an allocation of gigabytes for 2 sequences.
    X = np.random.RandomState(0).normal(size=(6, 3))
    model = RNNRegressor(**{**TINY, "batch_size": 10**9}).fit(X, X[:, 0])
    assert np.isfinite(model.predict(X[:2])).all()


def test_labels_mixing_strings_and_numbers_are_named():
    # scikit-learn's message would call them a regression target.
    X = np.random.RandomState(0).normal(size=(6, 3))
    y = np.array([1, "a", 1, "a", 2, "a"], dtype=object)
    with pytest.raises(ValueError, match=r"y mixes strings with other labels \(int, str\)"):
        RNNClassifier(**TINY).fit(X, y)
    # In a list too, which numpy read as strings: predict returned "1" for 1.
    with pytest.raises(ValueError, match=r"y mixes strings .* e.g. \[str\(c\) for c in y\]"):
        RNNClassifier(**TINY).fit(X, y.tolist())
    # Python's and numpy's strings are both strings (they were refused as a mix).
    y = np.array(["b", np.str_("a")] * 3, dtype=object)
    assert RNNClassifier(**TINY).fit(X, y).classes_.tolist() == ["a", "b"]
    assert RNNClassifier(**TINY).fit(X, [1, 2] * 3).classes_.tolist() == [1, 2]


@pytest.mark.parametrize(
    "classes, message",
    [
        ([0, 0.5, 1], r"classes does not hold class labels: Unknown label type: continuous"),
        ([0, 1, np.inf], r"Input classes contains infinity"),
        ([[0, 1]], r"classes must be a 1D list of the labels, got an array of shape \(1, 2\)"),
        (1, r"classes must be a 1D list of the labels, got an array of shape \(\)"),
        (["a", "b", 1], r"classes mixes strings with other labels \(int, str\).*str\(c\)"),
        # It said "the data contains only one class", of y holding two.
        ([0], r"needs samples of at least 2 classes, but partial_fit's classes hold only one"),
    ],
)
def test_partial_fits_classes_are_checked_as_labels(classes, message):
    # Each was taken: 0.5 and inf as classes, [[0, 1]] and 1 refused in
    # words about y, and ["a", "b", 1] read by numpy as the string "1".
    X = np.random.RandomState(0).normal(size=(6, 3))
    y = np.array(["a", "b"] * 3) if isinstance(classes, list) and "a" in classes else [0, 1] * 3
    with pytest.raises(ValueError, match=message):
        RNNClassifier(**TINY).partial_fit(X, y, classes=classes)


@pytest.mark.parametrize("classes", [{0, 1}, {0: "a", 1: "b"}.keys(), {"a": 0, "b": 1}.values()])
def test_partial_fits_classes_as_a_set_is_named_with_the_fix(classes):
    # "got an array of shape ()": numpy reads a set as one object.
    X = np.random.RandomState(0).normal(size=(6, 3))
    kind = type(classes).__name__
    with pytest.raises(TypeError, match=rf"labels, got a {kind}: pass list\(classes\)\.$"):
        RNNClassifier(**TINY).partial_fit(X, [0, 1] * 3, classes=classes)


@pytest.mark.parametrize(
    "y",
    [
        pd.Series(pd.to_datetime(["2020-01-01", "2021-01-01"] * 3)),
        pd.Series(pd.to_timedelta([1, 2] * 3, unit="h")),
    ],
)
def test_partial_fits_classes_of_pandas_dates_and_durations(y):
    # y.unique() and a DatetimeIndex were read through Python objects
    # (Timestamp), refused as "labels of type Timestamp", whose suggested fix
    # (pd.to_datetime(classes)) was refused the same way.
    X = np.random.RandomState(0).normal(size=(6, 3))
    expected = RNNClassifier(**TINY).partial_fit(X, y, classes=np.unique(y))
    for classes in (y.unique(), pd.Index(y.unique())):
        model = RNNClassifier(**TINY).partial_fit(X, y, classes=classes)
        np.testing.assert_array_equal(model.classes_, expected.classes_)
        np.testing.assert_array_equal(model.predict(X), expected.predict(X))


def test_timestamps_with_a_timezone_are_refused_with_a_fix_that_works():
    # The fix named .dt.tz_localize(None), which classes (y.unique(), a
    # DatetimeArray) does not have.
    X = np.random.RandomState(0).normal(size=(6, 3))
    y = pd.Series(pd.to_datetime(["2020-01-01", "2021-01-01"] * 3)).dt.tz_localize("UTC")
    match = r"type Timestamp .* drop it with \.tz_localize\(None\) \(\.dt\.tz_localize"
    with pytest.raises(ValueError, match=match):
        RNNClassifier(**TINY).fit(X, y)
    with pytest.raises(ValueError, match=match):
        RNNClassifier(**TINY).partial_fit(X, y.dt.tz_localize(None), classes=y.unique())
    naive = y.dt.tz_localize(None)
    model = RNNClassifier(**TINY).partial_fit(X, naive, classes=y.unique().tz_localize(None))
    np.testing.assert_array_equal(model.classes_, np.unique(naive))


# -- the second round of attacks ----------------------------------------------


def _frames(order=("a", "b"), n=12, seed=0):
    rng = np.random.RandomState(seed)
    frames = [
        pd.DataFrame({"a": rng.normal(size=5), "b": 10 + rng.normal(size=5)}) for _ in range(n)
    ]
    return [f[list(order)] for f in frames]


def test_a_list_of_dataframes_is_read_by_column_name():
    # Columns were read by position: reordered or renamed frames were accepted,
    # and predicted differently.
    frames, y = _frames(), [0, 1] * 6
    clf = RNNClassifier(**TINY).fit(frames, y)
    assert clf.feature_names_in_.tolist() == ["a", "b"]
    swapped = _frames(order=("b", "a"))
    np.testing.assert_array_equal(clf.predict_proba(swapped), clf.predict_proba(frames))
    mixed = frames[:6] + swapped[6:]  # in one fit too
    np.testing.assert_array_equal(
        RNNClassifier(**TINY).fit(mixed, y).predict_proba(frames), clf.predict_proba(frames)
    )
    renamed = [f.set_axis(["x", "y"], axis=1) for f in frames]
    with pytest.raises(ValueError, match=r"X\[0\] does not have the columns of the DataFrames fit"):
        clf.predict(renamed)
    with pytest.raises(ValueError, match=r"X\[6\] does not have the columns of X\[0\]"):
        RNNClassifier(**TINY).fit(frames[:6] + renamed[6:], y)


def test_dataframes_without_string_names_are_read_by_position_in_one_order():
    # Integer names were matched by name in fit and by position in predict
    # (not kept as feature names): reordered columns silently swapped features.
    frames, y = [f.set_axis([0, 1], axis=1) for f in _frames()], [0, 1] * 6
    swapped = [f[[1, 0]] for f in frames]
    with pytest.raises(ValueError, match=r"X\[6\] has the columns \[1, 0\], in another order"):
        RNNClassifier(**TINY).fit(frames[:6] + swapped[6:], y)
    clf = RNNClassifier(**TINY).fit(frames, y)
    assert not hasattr(clf, "feature_names_in_")
    with pytest.raises(ValueError, match=r"X\[1\] has the columns \[1, 0\].*same column order"):
        clf.predict(frames[:1] + swapped[1:2])


def test_features_read_by_position_after_a_fit_on_names_are_warned_about():
    # scikit-learn warns for tables; lists and 3D arrays were read silently.
    frames, y = _frames(), [0, 1] * 6
    arrays = [f.to_numpy() for f in frames]
    named = RNNClassifier(**TINY).fit(frames, y)
    with pytest.warns(UserWarning, match="X does not have valid feature names, but RNNClass"):
        named.predict(arrays)
    with pytest.warns(UserWarning, match="X does not have valid feature names"):
        named.predict(np.stack(arrays))
    unnamed = RNNClassifier(**TINY).fit(arrays, y)
    with pytest.warns(UserWarning, match="X has feature names, but RNNClassifier was fitted wi"):
        unnamed.predict(frames)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        named.predict(frames)
        unnamed.predict(arrays)


def test_masked_values_are_missing_values():
    # The values under the mask were read as data: a masked tail predicted
    # from whatever it held, where it is padding.
    X, y, _ = _training_data()
    X = X[:, :, None]
    clf = RNNClassifier(**TINY).fit(X, y)
    steps = np.arange(N_STEPS)[None, :, None]
    tail = np.ma.masked_array(X.copy(), mask=np.broadcast_to(steps >= 3, X.shape))
    tail.data[:, 3] = 1e3
    # Padded to 4 steps or not: the same to float32 rounding.
    short = clf.predict_proba([x[:3] for x in X])
    np.testing.assert_allclose(clf.predict_proba(tail), short, rtol=1e-6)
    np.testing.assert_allclose(clf.predict_proba(list(tail)), short, rtol=1e-6)
    inner = np.ma.masked_array(X, mask=np.broadcast_to(steps == 1, X.shape))
    with pytest.raises(ValueError, match="contains NaN at sample 0, time step 1"):
        clf.predict(inner)
    # Masked labels, targets and weights are missing too: the value under
    # the mask became a class, or a target that set the target's scaling.
    first = np.r_[True, np.zeros(len(y) - 1, bool)]
    masked_y = np.ma.masked_array(np.where(first, 7, y), mask=first)
    with pytest.raises(ValueError, match=r"y contains NaN \(a missing label\) at 1 of"):
        RNNClassifier(**TINY).fit(X, masked_y)
    with pytest.raises(ValueError, match="Input y contains NaN"):
        RNNRegressor(**TINY).fit(X, np.ma.masked_array(np.where(first, 1e6, 0.5), mask=first))
    with pytest.raises(ValueError, match="Input sample_weight contains NaN"):
        RNNClassifier(**TINY).fit(X, y, sample_weight=np.ma.masked_array(np.ones(len(y)), first))
    # Without a masked value, the data.
    unmasked = np.ma.masked_array(y, mask=False)
    assert RNNClassifier(**TINY).fit(X, unmasked).classes_.dtype == y.dtype


def test_a_text_column_is_named_with_the_way_to_use_it():
    # "could not convert string to float: 'IT'" named no column, and its fix
    # (encode it) made a category of the whole sequence a time step.
    X, y, _ = _training_data()
    df = pd.DataFrame(X, columns=[f"t{i}" for i in range(X.shape[1])])
    df["country"] = ["IT", "FR", "DE"] * 4
    df["t0"] = df["t0"].astype(str)  # numbers as text are read
    with pytest.raises(ValueError, match=r"'IT' \(in the column \['country'\]\).*ColumnTransf"):
        RNNClassifier(**TINY).fit(df, y)
    with pytest.raises(ValueError, match=r"in the columns \['country', 'city'\]"):
        WideToSequence().fit(df.assign(city="Rome"))
    # The way the message and the user guide name: the network's features
    # beside the encoded attribute, a model on top.
    steps = [c for c in df.columns if c != "country"]
    features = ColumnTransformer(
        [("sequence", RNNClassifier(**TINY), steps), ("country", OneHotEncoder(), ["country"])]
    )
    model = make_pipeline(features, LogisticRegression()).fit(df, y)
    names = model[0].get_feature_names_out()
    assert names[0] == "sequence__rnnclassifier0" and names[-1] == "country__country_IT"
    assert model.predict(df).shape == (12,)


def test_one_sequence_as_a_column_is_told_to_be_a_row():
    # scikit-learn's habit, x.reshape(-1, 1), to a model fitted on a table:
    # "X has 1 features, but ... expecting 10" with no word of the row.
    X, y, _ = _training_data()
    clf = MODELS["classifier-2d"]
    with pytest.raises(ValueError, match=r"has 1 features.*as a row: X\.reshape\(1, -1\)\.$"):
        clf.predict(X[0].reshape(-1, 1))
    assert clf.predict(X[0].reshape(1, -1)).shape == (1,)
    with pytest.raises(ValueError, match=r"has 3 features.*list of sequences\.$"):
        clf.predict(X[:4, :3])
    # A column of another length is no sequence of this model's: no such hint.
    with pytest.raises(ValueError, match=r"has 1 features.*list of sequences\.$"):
        clf.predict(X[0, :3].reshape(-1, 1))


@pytest.mark.filterwarnings("ignore:the matrix subclass:PendingDeprecationWarning")
def test_pd_na_among_numbers_of_an_object_array_is_named():
    X, y, _ = _training_data()
    clf = RNNClassifier(**TINY).fit(X, y)
    with pytest.raises(TypeError, match=r"X holds pd.NA .* X.astype\(float\)"):
        clf.predict(pd.DataFrame(X, dtype=object).where(X > -1, pd.NA))
    # Numbers as text in pandas' string dtype, pd.NA among them, as a wide table.
    wide = pd.DataFrame(X).astype("string")
    wide.iloc[0, -1] = pd.NA
    with pytest.raises(TypeError, match=r"X holds pd.NA .* of objects or text.* X.astype\(float\)"):
        clf.predict(wide)
    assert np.isnan(wide.astype(float).iloc[0, -1])  # the fix the message names
    # Other messages that mention converting are not rewritten.
    with pytest.raises(TypeError, match="np.matrix is not supported") as info:
        clf.predict(np.matrix(X))
    assert "OrdinalEncoder" not in str(info.value)


@pytest.mark.parametrize("form", ["array", "bytes", "3d", "list of arrays", "nested lists"])
def test_arrays_of_strings_are_refused_as_scikit_learn_refuses_them(form):
    # check_array read numbers written as text where scikit-learn's
    # estimators refuse arrays of strings ("dtype='numeric' is not compatible").
    X, y, _ = _training_data()
    text = X.astype(str)
    X_text = {
        "array": text,
        "bytes": X.astype(bytes),
        "3d": text[:, :, None],
        "list of arrays": list(text),
        "nested lists": text.tolist(),
    }[form]
    match = r"is an array of strings \(dtype (<U|\|S)\d+\), not numbers\. .*astype\(float\)"
    with pytest.raises(ValueError, match=match):
        RNNClassifier(**TINY).fit(X_text, y)
    # Object arrays and DataFrames of them are read, as scikit-learn reads them.
    plain = RNNClassifier(**TINY).fit(X, y).predict_proba(X)
    for readable in (text.astype(object), pd.DataFrame(text)):
        fitted = RNNClassifier(**TINY).fit(readable, y)
        np.testing.assert_array_equal(fitted.predict_proba(X), plain)


@pytest.mark.parametrize("factor", [1e-13, 1e-30])
def test_inputs_of_a_tiny_scale_are_standardized_like_any_other(factor):
    # A spread below 1e-12 was taken for a constant feature: not scaled, so
    # the network saw zeros and predicted one probability for every series.
    X = np.random.RandomState(0).normal(size=(20, 6))
    y = (X[:, -1] > 0).astype(int)
    params = {**TINY, "max_epochs": 20, "kernel_features": 0}
    plain = RNNClassifier(**params).fit(X, y).predict_proba(X)
    tiny = RNNClassifier(**params).fit(X * factor, y).predict_proba(X * factor)
    assert plain[:, 1].std() > 0.01  # the network tells the series apart
    assert tiny[:, 1].std() > 0.01
    # The same model up to float32 rounding, which 20 epochs amplify.
    np.testing.assert_allclose(tiny, plain, atol=0.02)


@pytest.mark.parametrize(
    "y",
    [
        pd.Series(pd.to_datetime(np.arange(12), unit="D")),
        pd.to_timedelta(np.arange(12), unit="s").to_numpy(),
        pd.DataFrame({"a": np.arange(12.0), "b": pd.to_datetime(np.arange(12), unit="D")}),
    ],
)
def test_regression_targets_that_are_dates_or_times_are_named(y):
    # They were regressed as nanosecond counts: predictions of 4e13.
    X, _, _ = _training_data()
    with pytest.raises(TypeError, match="y holds dates or times, not numbers"):
        RNNRegressor(**TINY).fit(X, y)


def test_polars_dates_and_durations_as_targets_are_named():
    # Regressed as counts of microseconds (predictions of 1.6e15), where
    # pandas' were refused.
    pl = pytest.importorskip("polars")
    X, _, _ = _training_data()
    dates = pd.date_range("2020-01-01", periods=len(X))
    for y in [
        pl.Series(dates),
        pl.Series(list(dates.date)),  # polars Date
        pl.Series(pd.to_timedelta(np.arange(len(X)), unit="s")),
        pl.DataFrame({"a": np.arange(len(X), dtype=float), "b": dates}),
    ]:
        with pytest.raises(TypeError, match="y holds dates or times, not numbers"):
            RNNRegressor(**TINY).fit(X, y)


@pytest.mark.parametrize(
    "y, error, message",
    [
        # float()'s words alone: "float() argument must be ... not 'Period'"
        (pd.Series(pd.period_range("2020", periods=12, freq="D")), TypeError, "'Period'"),
        ([datetime.datetime(2020, 1, 1 + i) for i in range(12)], TypeError, "'datetime"),
        # numpy's "setting an array element with a sequence" alone
        ([[1.0, 2.0]] * 11 + [[1.0]], ValueError, "inhomogeneous"),
        (pd.Series([np.ones(2)] * 12), ValueError, "sequence"),
    ],
)
def test_targets_that_are_other_objects_or_uneven_rows_are_named(y, error, message):
    X, _, _ = _training_data()
    problem = {
        TypeError: r"RNNRegressor needs numbers as targets, but y holds other objects",
        ValueError: r"y must hold one number, or one row of equally many numbers, per sequence",
    }[error]
    fix = {TypeError: r"Convert them to numbers first", ValueError: r"np\.vstack\(y\)"}[error]
    with pytest.raises(error, match=rf"{problem}.*{message}.*{fix}"):
        RNNRegressor(**TINY).fit(X, y)


def test_text_and_sparse_targets_keep_their_own_messages():
    # Beside the messages above, text that holds the word "sequence" was
    # called uneven rows, and a sparse y "other objects" with advice on dates.
    X, _, _ = _training_data()
    text = np.array([f"sequence {i}" for i in range(len(X))], dtype=object)
    with pytest.raises(
        ValueError, match=r"RNNRegressor needs numbers as targets, but y holds text"
    ):
        RNNRegressor(**TINY).fit(X, text)
    with pytest.raises(TypeError, match=r"^Sparse data was passed for y"):
        RNNRegressor(**TINY).fit(X, sp.csr_matrix(np.ones((len(X), 1))))


@pytest.mark.parametrize("value", [1e30, 1e200, -5.0])
def test_a_constant_target_of_any_size_is_predicted(value):
    # Its spread was the rounding of its sum: 1e14 for 1e30, taken for its
    # scale, and for 1e200 an "overflowing variance" that refused it.
    X, _, _ = _training_data()
    model = RNNRegressor(**TINY).fit(X, np.full(len(X), value))
    assert model._y_scale.tolist() == [1.0]
    np.testing.assert_allclose(model.predict(X), value, rtol=1e-12, atol=1.0)


@pytest.mark.parametrize("kernel_features", [0, 84])
def test_partial_fit_keeps_a_fits_constant_target_while_it_stays_constant(kernel_features):
    # The optimizer's moments of the fit moved the head's zeroed rows: a
    # target of 1e-9 predicted as 0.0013 to 0.0032, with a std of 0.006.
    X, _, signal = _training_data()
    Y = np.c_[signal, np.full(len(X), 1e-9)]
    model = RNNRegressor(**{**TINY, "kernel_features": kernel_features}).fit(X, Y)
    model.partial_fit(X, Y)
    model.partial_fit(X[:5], Y[:5])
    prediction, std = model.predict(X, return_std=True)
    assert prediction[:, 1].tolist() == [1e-9] * len(X)
    assert std[:, 1].tolist() == [0.0] * len(X)
    # Once the target varies, the row trains.
    model.partial_fit(X, np.c_[signal, signal])
    assert np.ptp(model.predict(X)[:, 1]) > 0


def test_a_sample_weight_that_outweighs_every_other_warns_that_the_head_is_not_solved():
    # A weight 1e13 times the others' left the head as a short training left
    # it (predictions far from that sequence's target), without a word.
    X, _, signal = _training_data()
    weights = np.r_[1e13, np.ones(len(X) - 1)]
    message = r"One sequence's sample weight is at least 1e12 times each other's \(of the 12 "
    with pytest.warns(UserWarning, match=message) as record:
        model = RNNRegressor(**TINY).fit(X, signal, sample_weight=weights)
    assert record[0].filename == __file__
    assert "head_solved" not in model.history_[-1]
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        RNNRegressor(**TINY).fit(X, signal, sample_weight=np.r_[1e11, np.ones(len(X) - 1)])


def test_a_target_of_tiny_spread_around_a_large_mean_is_standardized_by_its_spread():
    # A spread below 1e-12 of the mean was taken for a constant's rounding:
    # scale 1, and the 1e-3 signal went unlearnt (training R2 -127).
    X, _, signal = _training_data()
    offset = RNNRegressor(**TINY).fit(X, 1e10 + 1e-3 * signal)
    plain = RNNRegressor(**TINY).fit(X, 1e-3 * signal)
    np.testing.assert_allclose(offset._y_scale, plain._y_scale, rtol=1e-4)
    np.testing.assert_allclose(
        offset.predict(X) - 1e10, plain.predict(X), atol=1e-3 * plain._y_scale[0]
    )


def test_a_first_partial_fit_on_a_constant_target_is_warned_about():
    # One sequence at a time is the usual partial_fit loop; a first call of
    # one sequence fixed y's scale at 1, silently, whatever y's units.
    X, _, y = _training_data()
    message = r"first partial_fit call sets the mean and scale.*y is constant.*targets differ"
    with pytest.warns(UserWarning, match=message) as record:
        model = RNNRegressor(**TINY).partial_fit(X[:1], 1e-3 * y[:1])
    assert record[0].filename == __file__
    assert model._y_scale.tolist() == [1.0]
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        model.partial_fit(X, 1e-3 * y)  # later calls: no word
        RNNRegressor(**TINY).partial_fit(X[:2], y[:2])
    with pytest.warns(UserWarning, match=r"y is constant in targets \[1\]: it trains"):
        RNNRegressor(**TINY).partial_fit(X[:2], np.c_[y[:2], [1.0, 1.0]])
    # Only the sequences that train count: a second one of weight 0 is removed.
    with pytest.warns(UserWarning, match=message):
        RNNRegressor(**TINY).partial_fit(X[:2], y[:2], sample_weight=[1.0, 0.0])
    with pytest.raises(ValueError, match=r"y has 2 targets per sequence, but RNNRegressor was "):
        model.partial_fit(X, np.c_[y, y])
    with pytest.raises(ValueError, match=r"y has 1 target per sequence, .* fitted with 2\. Pass"):
        RNNRegressor(**TINY).fit(X, np.c_[y, y]).partial_fit(X, y)


def test_warnings_of_fit_point_at_the_users_line_through_wrappers(monkeypatch):
    # A fixed stacklevel pointed them inside scikit-learn (pipeline.py,
    # base.py's fit_transform, model_selection's _validation.py) or joblib
    # when fit was called through them; column_or_1d's inside sklrnn.
    X, y, _ = _training_data()
    outlying = X.copy()
    outlying[0, 0] = 1e4
    fits = {
        "fit": lambda: RNNClassifier(**TINY).fit(outlying, y),
        "pipeline": lambda: make_pipeline(RNNClassifier(**TINY)).fit(outlying, y),
        "fit_transform": lambda: RNNClassifier(**TINY).fit_transform(outlying, y),
        "search": lambda: GridSearchCV(RNNClassifier(**TINY), {"lr": [1e-3]}, cv=2).fit(
            outlying, y % 2
        ),
    }
    for how, fit in fits.items():
        with pytest.warns(UserWarning, match="outlying values") as record:
            fit()
        assert {w.filename for w in record} == {__file__}, how
    with pytest.warns(DataConversionWarning, match="column-vector y") as record:
        RNNClassifier(**TINY).fit(X, y[:, None])
    assert record[0].filename == __file__
    # A table's later prediction chunks: scikit-learn's names warning once.
    model = RNNClassifier(**TINY).fit(pd.DataFrame(X, columns=[f"t{i}" for i in range(4)]), y)
    monkeypatch.setattr(sklrnn._base, "_PREDICT_CHUNK_VALUES", 8)  # chunks of 2 sequences
    with pytest.warns(UserWarning, match="does not have valid feature names") as record:
        model.predict(X)
    assert len(record) == 1


def test_targets_beyond_float32_once_standardized_are_named():
    X, _, y = _training_data()
    model = RNNRegressor(**TINY).fit(X, y)
    with pytest.raises(ValueError, match=r"y holds values too far .* Rescale y"):
        model.partial_fit(X, np.full(len(X), 1e39))


def test_features_that_float32_reads_as_constant_are_warned_about():
    # Values of 1e-40 standardized to zeros: the model ignored X silently.
    X, y, _ = _training_data()
    with pytest.warns(UserWarning, match=r"features \[0\] differ by less than float32's") as w:
        RNNClassifier(**TINY).fit(X * 1e-40, y)
    assert w[0].filename == __file__
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        RNNClassifier(**TINY).fit(np.c_[X, np.full(len(X), 1e-40)], y)  # constant: no warning


@pytest.mark.parametrize("ragged", [False, True])
def test_features_that_float32_turns_to_zeros_are_warned_about(ragged):
    # Values of 1e-300 became 0 as float32, and the model ignored X silently
    # (1e-40, a float32 subnormal, was warned about).
    X, y, _ = _training_data()
    tiny = np.stack([X * 1e-300, X], axis=2)
    with pytest.warns(
        UserWarning, match=r"features \[0\] are all smaller in magnitude than float32's"
    ) as w:
        RNNClassifier(**TINY).fit(list(tiny) if ragged else tiny, y)
    assert w[0].filename == __file__
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        zeros = np.stack([np.zeros_like(X), X], axis=2)  # zeros are no loss: no warning
        RNNClassifier(**TINY).fit(list(zeros) if ragged else zeros, y)


@pytest.mark.parametrize(
    "offset, spread, message",
    [
        (1e6, 1.0, r"differ by little against their size \(mean 1e\+06\).* keep 15 distinct"),
        (1e4, 3e-4, r"differ by little .* keep under 1 distinct values per standard deviation"),
        (1e8, 1.0, r"differ, but as float32, .* they all became one value"),
    ],
)
def test_features_whose_offset_swamps_their_spread_in_float32_are_warned_about(
    offset, spread, message
):
    # X is read as float32 before it is standardized: N(0, 1) + 1e8 became
    # one value, read as a constant feature (test accuracy 0.535 against
    # 0.765 without the offset), with no word. 1e4 + 3e-4 * N(0, 1), three
    # values, was said to keep "0 distinct values per standard deviation
    # (0: they all became one value...)".
    X = np.random.RandomState(0).normal(size=(12, N_STEPS, 2))
    X[:, :, 1] = X[:, :, 1] * spread + offset
    message = rf"features \[1\] {message}.*Subtract a constant"
    with pytest.warns(UserWarning, match=message) as w:
        RNNClassifier(**TINY).fit(X, np.arange(12) % 2)
    assert w[0].filename == __file__
    with warnings.catch_warnings():
        # 1,500 values per standard deviation; a constant; integers that
        # seldom change, which float32 holds exactly.
        warnings.simplefilter("error")
        X[:, :, 1] = (X[:, :, 1] - offset) / spread + 1e4
        seldom = np.full((12, N_STEPS), 1e5)
        seldom[3, 2] += 1
        extra = np.dstack([np.full((12, N_STEPS), 5.0), seldom])
        RNNClassifier(**TINY).fit(np.concatenate([X, extra], axis=2), np.arange(12) % 2)
        # ... also from 2**23 to 2**24, where float32's spacing is 1 (warned).
        RNNClassifier(**TINY).fit(np.dstack([X, seldom + 1e7 - 1e5]), np.arange(12) % 2)
        # A constant that float32 cannot hold exactly (1e8 + 1) loses nothing
        # (it was warned about).
        RNNClassifier(**TINY).fit(
            np.dstack([X, np.full((12, N_STEPS), 1e8 + 1)]), np.arange(12) % 2
        )


@pytest.mark.parametrize("ragged", [False, True])
def test_features_that_float32_turns_to_one_value_are_warned_about(ragged):
    # 1 + 1e-9 * signal became 1.0 everywhere as float32: the classifier was
    # at chance, with no word (the offsets' warning read a constant feature).
    X, y, _ = _training_data()
    collapsed = np.stack([1 + 1e-9 * X, X], axis=2)
    message = r"features \[0\] differ, but as float32, .* they all became one value"
    data = list(collapsed) if ragged else collapsed
    with pytest.warns(UserWarning, match=message) as w:
        model = RNNClassifier(**TINY).fit(data, y)
    assert w[0].filename == __file__
    with pytest.warns(UserWarning, match=message):
        model.predict(data)


def test_outlying_values_are_warned_about():
    # One value of 1,000 times the others' scale standardized the rest to
    # near zero: a regressor's test R2 fell from 0.95 to 0.05 without a word.
    X, _, y = _training_data()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        RNNRegressor(**TINY).fit(X, y)
    X[0, 1] = 1e3
    with pytest.warns(UserWarning, match=r"features \[0\] hold outlying values: .* Clip them"):
        RNNRegressor(**TINY).fit(X, y)


def test_one_long_sequence_does_not_lengthen_the_batch_of_short_ones():
    # Every sequence of a batch runs over its longest one's steps: 20 short
    # sequences and one of 5,000 steps ran as 21 x 5,000 steps.
    rng = np.random.RandomState(0)
    short = [rng.normal(size=(int(n), 1)) for n in rng.randint(3, 6, size=20)]
    model = RNNRegressor(**{**TINY, "batch_size": 32}).fit(short, rng.normal(size=20))
    long = rng.normal(size=(5_000, 1))
    sizes = []
    hook = model.net_.module_.register_forward_pre_hook(
        lambda module, args: sizes.append(args[0].shape[0] * args[0].shape[1])
    )
    try:
        mixed = model.predict([*short, long])
    finally:
        hook.remove()
    steps = sum(len(s) for s in short) + len(long)
    assert sum(sizes) <= 2 * steps + 512  # 512: _TAIL_PADDING_STEPS
    np.testing.assert_allclose(mixed[-1:], model.predict([long]), rtol=1e-6)
    np.testing.assert_allclose(mixed[:-1], model.predict(short), rtol=1e-6)
    order = rng.permutation(21)
    shuffled = model.predict([[*short, long][i] for i in order])
    np.testing.assert_allclose(shuffled, mixed[order], rtol=1e-6)


def test_targets_whose_spread_underflows_are_standardized_as_constant():
    # Subnormal targets (5e-324 and 0, found by the property test): their
    # standard deviation rounds to 0, the standardized targets were inf, and
    # fit refused them as too far from their mean.
    X = np.zeros((2, 1, 1))
    model = RNNRegressor(**TINY).fit(X, [[5e-324], [0.0]])
    assert model._y_scale.tolist() == [1.0]
    np.testing.assert_allclose(model.predict(X), 0.0, atol=1e-300)


def test_targets_of_a_tiny_scale_keep_it():
    # Their variance underflowed to 0, so the scale was taken as 1 and the
    # predictions were off by 170 orders of magnitude.
    X = np.random.RandomState(0).normal(size=(20, 6))
    y = X[:, -1] + 3.0
    plain = RNNRegressor(**TINY).fit(X, y)
    tiny = RNNRegressor(**TINY).fit(X, y * 1e-170)
    np.testing.assert_allclose(tiny.predict(X) / 1e-170, plain.predict(X), rtol=1e-5)
    mean, std = tiny.predict(X, return_std=True)
    np.testing.assert_allclose(std / 1e-170, plain.predict(X, return_std=True)[1], rtol=1e-4)


@pytest.mark.parametrize("value", [1e-320, 1e308])
def test_sample_weights_are_relative_whatever_their_size(value):
    # 1e-320 overflowed the normalization into a "diverged" fit, 1e308 was refused.
    X = np.random.RandomState(0).normal(size=(20, 6))
    y = [0, 1] * 10
    plain = RNNClassifier(**TINY).fit(X, y)
    weighted = RNNClassifier(**TINY).fit(X, y, sample_weight=np.full(20, value))
    np.testing.assert_allclose(weighted.predict_proba(X), plain.predict_proba(X), atol=1e-6)


def test_sample_weights_times_class_weights_neither_overflow_nor_underflow():
    # 1e308 times a balanced class weight of 2 overflowed: "all zero (or not
    # finite)"; 1e-200 times 1e-200 underflowed to 0: "all zero".
    X = np.random.RandomState(0).normal(size=(12, 6))
    y = [0] * 9 + [1] * 3
    plain = RNNClassifier(**TINY, class_weight="balanced").fit(X, y)
    for weight, class_weight in [
        (1e308, "balanced"),
        (1e200, {0: 1e200, 1: 3e200}),
        (1e-200, {0: 1e-200, 1: 3e-200}),
    ]:
        huge = RNNClassifier(**TINY, class_weight=class_weight)
        huge.fit(X, y, sample_weight=np.full(12, weight))
        np.testing.assert_allclose(huge.predict_proba(X), plain.predict_proba(X), atol=1e-6)


@pytest.mark.parametrize("where", ["X", "ragged X", "y", "sample_weight"])
def test_integers_beyond_float64_are_named(where):
    # Python ints beyond float64 raised OverflowError from numpy.
    X = np.random.RandomState(0).normal(size=(4, 3)).tolist()
    y, weights = [0.0, 1.0, 2.0, 3.0], None
    if where == "X":
        X[0][0] = 10**400
    elif where == "ragged X":
        X = [[[10**400], [1]], [[2]], [[3]], [[4]]]
    elif where == "y":
        y[0] = 10**400
    else:
        weights = [10**400, 1, 1, 1]
    name = {"ragged X": r"X\[0\]"}.get(where, where)
    with pytest.raises(ValueError, match=rf"{name} holds a number beyond float64's range"):
        RNNRegressor(**TINY).fit(X, y, sample_weight=weights)


def test_a_list_holding_a_dataframe_without_columns_is_named():
    empty = pd.DataFrame(index=range(3))
    with pytest.raises(ValueError, match="Sequence 0 of X has 0 features"):
        RNNClassifier(**TINY).fit([empty, empty], [0, 1])


@pytest.mark.parametrize("X", [[1.0, np.ones(3)], "nested"])
def test_sequences_in_cells_are_named_with_the_format_to_use(X):
    if X == "nested":  # sktime's nested DataFrame: a series in each cell
        X = pd.DataFrame({"a": [pd.Series(np.arange(5.0))] * 2})
    with pytest.raises(ValueError, match=r"X holds sequences where numbers belong.*list of arrays"):
        RNNClassifier(**TINY).fit(X, [0, 1])


def test_polars_list_columns_are_named_with_a_polars_conversion():
    # The only conversion named was pandas' itertuples, which polars lacks.
    pl = pytest.importorskip("polars")
    X = np.random.RandomState(0).normal(size=(2, 5, 2))
    df = pl.DataFrame({"a": [list(x[:, 0]) for x in X], "b": [list(x[:, 1]) for x in X]})
    fix = r"\[np\.column_stack\(row\) for row in df\.iter_rows\(\)\]"
    with pytest.raises(ValueError, match=rf"X holds sequences where numbers belong.*{fix}"):
        RNNClassifier(**TINY).fit(df, [0, 1])
    np.testing.assert_array_equal([np.column_stack(row) for row in df.iter_rows()], X)


def test_targets_with_repeated_column_names_are_named():
    X, _, _ = _training_data()
    y = pd.DataFrame(np.ones((12, 2)), columns=["t", "t"])
    # Read by position: "Columns are matched by their names" (X's reason) was false.
    message = r"y has the column names \['t'\] more than once, .* read by position"
    with pytest.raises(ValueError, match=message):
        RNNRegressor(**TINY).fit(X, y)


def test_non_finite_outputs_name_the_sample_in_a_chunked_prediction(monkeypatch):
    # A big X runs in chunks; the message counted the chunk as all of X.
    rng = np.random.RandomState(0)
    model = RNNRegressor(**TINY).fit(rng.normal(size=(12, 8, 1)), rng.normal(size=12))
    monkeypatch.setattr(sklrnn._base, "_PREDICT_CHUNK_VALUES", 64)  # chunks of 8 sequences
    X = rng.normal(size=(30, 8, 1)).astype(np.float32)
    X[20] = 3.4e38
    with pytest.raises(
        ValueError, match=r"for 1 of samples 16 to 23 of X \(first: sample 20\): .*Rescale X"
    ):
        model.predict(X)
    # Beyond float32 once standardized, it is named by how far it reaches (it was "inf").
    small = RNNRegressor(**TINY).fit(rng.normal(size=(12, 8, 1)) * 1e-3, rng.normal(size=12))
    X[20] = 1e37
    with pytest.raises(ValueError, match=r"reach 1\.\d\de\+40 training standard deviations"):
        small.predict(X)


def test_non_finite_outputs_name_the_sample_of_a_list_and_the_likely_cause():
    rng = np.random.RandomState(0)
    model = RNNRegressor(**TINY).fit(rng.normal(size=(12, 8, 1)), rng.normal(size=12))
    # Sequences of different lengths run longest first: the message named
    # the bad one's place in that order (1), not in X (0).
    X = [
        np.full((8, 1), 3.4e38, dtype=np.float32),
        rng.normal(size=(9, 1)),
        rng.normal(size=(5, 1)),
    ]
    with pytest.raises(ValueError, match=r"\(first: sample 0\): .*too large .* Rescale X"):
        model.predict(X)
    # Inputs like the training data's, and weights no fit gives (an edited file).
    with torch.no_grad():
        model.net_.module_.head.weight.fill_(3e38)
    with pytest.raises(ValueError, match=r"within .* standard deviations .* weights overflow"):
        model.predict(rng.normal(size=(4, 8, 1)))


def test_standardized_input_beyond_float32_is_refused_where_outputs_stay_finite():
    # Training values of about 1e-3, then values of 1e36 (within float32):
    # standardized, they overflow float32, which the recurrent gates
    # saturate and the kernels' counts read as "not above": finite, wrong
    # probabilities and features, silently. The padding of a shorter
    # sequence is not input, whatever standardizing it gives.
    rng = np.random.RandomState(0)
    X = rng.normal(size=(24, 6, 1)) * 1e-3
    params = {**TINY, "conv_channels": 0, "kernel_features": 84}
    clf = RNNClassifier(**params).fit(X, np.arange(24) % 2)
    big = [X[0] * 1e39, X[1, :3]]
    for method in (clf.predict_proba, clf.transform):
        with pytest.raises(ValueError, match=r"for 1 of samples 0 to 1 .*first: sample 0.*Rescale"):
            method(big)
    assert np.isfinite(clf.predict_proba([X[0] * 1e36, X[1, :3]])).all()
    # Training calls that continue the fit keep its statistics: they trained
    # on such input and warned "diverged ... Lower lr".
    fitted = clf.predict_proba(X)
    with pytest.raises(ValueError, match=r"of the fit this call continues \(first: sample 0\)"):
        clf.partial_fit(big, [0, 1])
    with pytest.raises(ValueError, match=r"of the fit this call continues .*warm_start=False"):
        clf.set_params(warm_start=True).fit(big, [0, 1])
    assert clf.n_iter_ == TINY["max_epochs"]
    np.testing.assert_array_equal(clf.predict_proba(X), fitted)


def test_a_continued_fit_on_input_far_from_its_data_is_told_to_rescale_it():
    # Within float32 once standardized (a spread of 1, input of 1e20), the
    # continued fit trained, diverged and was told only to lower lr.
    rng = np.random.RandomState(0)
    X, y = rng.normal(size=(30, 6)), rng.normal(size=30)
    params = dict(hidden_size=4, conv_channels=4, kernel_features=0, max_epochs=2, random_state=0)
    model = RNNRegressor(**params).fit(X, y)
    expected = r"diverged.*\. Rescale X to the range of the data the model was first fitted on \(X "
    expected += r"reaches 2\.54e\+20 of that data's standard deviations .*\) or lower lr"
    with pytest.warns(RuntimeWarning, match=expected):
        model.partial_fit(X * 1e20, y)


def test_subnormal_sample_weights_weigh_as_their_ratios():
    # Their mean, computed at their size, rounded: [1, 1, 1, 2] averaged 1.25.
    X = np.random.RandomState(0).normal(size=(20, 6))
    y = [0, 1] * 10
    tiny = RNNClassifier(**TINY).fit(X, y, sample_weight=[5e-324] * 10 + [1e-323] * 10)
    plain = RNNClassifier(**TINY).fit(X, y, sample_weight=[1.0] * 10 + [2.0] * 10)
    np.testing.assert_array_equal(tiny.predict_proba(X), plain.predict_proba(X))


@pytest.mark.parametrize("first, later", [(1e-300, 1e300), (1.0, 1e39), (1.0, 1e-46)])
def test_partial_fit_weights_beyond_float32_against_the_first_calls_are_refused(first, later):
    # The loss takes the weights in float32: 1e39 times the first call's
    # became inf ("diverged ... lower lr"), 1e-46 times 0 (nothing learnt, no word).
    X = np.random.RandomState(0).normal(size=(20, 6))
    y = [0, 1] * 10
    clf = RNNClassifier(**TINY).partial_fit(X, y, classes=[0, 1], sample_weight=np.full(20, first))
    fitted = {k: v.clone() for k, v in clf.net_.module_.state_dict().items()}
    with pytest.raises(ValueError, match=r"times the mean weight .* beyond float32's range"):
        clf.partial_fit(X, y, sample_weight=np.full(20, later))
    assert clf.n_iter_ == 1  # refused before training
    for name, value in clf.net_.module_.state_dict().items():
        torch.testing.assert_close(value, fitted[name], rtol=0, atol=0)


@pytest.mark.parametrize(
    "weight", [-1.0, float("nan"), float("inf"), "heavy", "2", True, [1.0], 1j, 10**400]
)
def test_class_weights_that_are_no_weights_are_named(weight):
    X = np.random.RandomState(0).normal(size=(6, 3))
    with pytest.raises(ValueError, match="class_weight has the weights .* finite number >= 0"):
        RNNClassifier(**TINY, class_weight={0: weight, 1: 1.0}).fit(X, [0, 1] * 3)


@pytest.mark.parametrize(
    "weight", [Fraction(3, 2), 10**20, Decimal("1.5"), np.array(1.5), torch.tensor(1.5)]
)
def test_class_weights_are_any_number_float_takes(weight):
    # np.isfinite failed on Fraction and on ints beyond int64 (numpy's "ufunc
    # 'isfinite' not supported"); Decimal, 0-d arrays and tensors were called
    # no finite numbers. scikit-learn's estimators take them all.
    X = np.random.RandomState(0).normal(size=(6, 3))
    clf = RNNClassifier(**TINY, class_weight={0: weight, 1: 1.0}).fit(X, [0, 1] * 3)
    same = RNNClassifier(**TINY).fit(X, [0, 1] * 3, sample_weight=[float(weight), 1.0] * 3)
    np.testing.assert_allclose(clf.predict_proba(X), same.predict_proba(X), rtol=1e-6)


def test_class_weights_that_leave_one_class_fit_a_model_of_that_class():
    # As LogisticRegression's: the classes are y's, and what is learnt the weights'.
    X = np.random.RandomState(0).normal(size=(6, 3))
    clf = RNNClassifier(**TINY, class_weight={0: 0.0, 1: 1.0, 2: 0.0}).fit(X, [0, 1, 2] * 2)
    np.testing.assert_array_equal(clf.classes_, [0, 1, 2])
    np.testing.assert_array_equal(clf.predict(X), np.ones(6))


def test_class_weights_of_zero_for_every_weighted_class_name_class_weight():
    # The message blamed the sample weights, which the call had none of.
    X = np.random.RandomState(0).normal(size=(6, 3))
    y = ["up", "down"] * 3
    match = r"class_weight=\{'up': 0, 'down': 0\} gives weight 0 to every class of the seq"
    with pytest.raises(ValueError, match=match):
        RNNClassifier(**TINY, class_weight={"up": 0, "down": 0}).fit(X, y)
    # Also where the sample weights leave only the classes weighted 0.
    with pytest.raises(ValueError, match=r"class_weight=\{'up': 0\} gives weight 0"):
        RNNClassifier(**TINY, class_weight={"up": 0}).fit(X, y, sample_weight=[1, 0] * 3)


def test_partial_fit_takes_a_batch_of_one_class():
    # Streaming batches may hold one class (scikit-learn's SGD and MLP take them).
    X = np.random.RandomState(0).normal(size=(8, 3))
    clf = RNNClassifier(**TINY).partial_fit(X[:4], [0] * 4, classes=[0, 1])
    clf.partial_fit(X[4:], [1] * 4)
    assert clf.predict_proba(X).shape == (8, 2)
    # ... also where weights of 0 (sequences removed) leave one class.
    clf.partial_fit(X, [0, 1] * 4, sample_weight=[0, 1] * 4)
    assert clf.n_iter_ == 3


def test_balanced_class_weights_count_only_the_sequences_that_are_not_removed():
    # 10 sequences of class 0 and 20 of class 1, of which 10 have weight 0:
    # the rest is balanced, and "balanced" once still counted 10 against 20.
    X = np.random.RandomState(0).normal(size=(30, 8))
    y = np.r_[np.zeros(10, int), np.ones(20, int)]
    params = dict(TINY, class_weight="balanced")
    weighted = RNNClassifier(**params).fit(X, y, sample_weight=np.r_[np.ones(20), np.zeros(10)])
    removed = RNNClassifier(**params).fit(X[:20], y[:20])
    np.testing.assert_array_equal(weighted.predict_proba(X), removed.predict_proba(X))


def test_a_numpy_integer_batch_size_trains():
    # As GridSearchCV over np.arange gives; the regressor's batches failed.
    X = np.random.RandomState(0).normal(size=(12, 6))
    reg = RNNRegressor(**dict(TINY, batch_size=np.int64(5))).fit(X, X[:, -1])
    assert reg.history_[-1, "train_batch_count"] == 3


def test_partial_fit_sees_callbacks_edited_in_place():
    class Count(Callback):
        epochs = 0

        def on_epoch_end(self, net, **kwargs):
            Count.epochs += 1

    X = np.random.RandomState(0).normal(size=(12, 6))
    clf = RNNClassifier(**TINY, callbacks=[]).fit(X, [0, 1] * 6)
    clf.callbacks.append(("count", Count()))
    clf.partial_fit(X, [0, 1] * 6)
    assert Count.epochs == 1


def test_warm_start_refuses_another_count_of_kernel_features():
    X = np.random.RandomState(0).normal(size=(12, 6))
    clf = RNNClassifier(**TINY, kernel_features=0, warm_start=True).fit(X, [0, 1] * 6)
    with pytest.raises(ValueError, match=r"shape it changed: kernel_features \(now 84\)"):
        clf.set_params(kernel_features=84).fit(X, [0, 1] * 6)


def test_a_model_fitted_on_cpu_0_pickles():
    # Its storages were tagged "cpu:0", which torch cannot unpickle.
    X = np.random.RandomState(0).normal(size=(12, 6))
    clf = RNNClassifier(**TINY, device="cpu:0").fit(X, [0, 1] * 6)
    np.testing.assert_array_equal(pickle.loads(pickle.dumps(clf)).predict(X), clf.predict(X))


def test_no_time_steps_and_iterators_are_named():
    with pytest.raises(ValueError, match=r"X has 0 time steps \(shape \(12, 0, 2\)\)"):
        RNNClassifier(**TINY).fit(np.zeros((12, 0, 2)), [0, 1] * 6)
    sequences = (np.zeros((4, 2)) for _ in range(6))
    with pytest.raises(TypeError, match=r"X is an iterator \(generator\).*list\(X\)"):
        RNNClassifier(**TINY).fit(sequences, [0, 1] * 3)
    # sample_weight's failed in float(), naming neither it nor the fix.
    X = np.zeros((6, 3))
    for name in ("y", "sample_weight"):
        values = {"y": [0, 1] * 3, "sample_weight": [1.0] * 6}
        values[name] = iter(values[name])
        with pytest.raises(TypeError, match=rf"{name} is an iterator \(\w+\).*list\({name}\)"):
            RNNClassifier(**TINY).fit(X, **values)


@pytest.mark.parametrize(
    "change", [dict(hidden_size=5), dict(standardize=False), dict(readout="attention")]
)
def test_partial_fit_refuses_parameters_that_reshape_the_fitted_network(change):
    # partial_fit kept the fitted network silently, so get_params described
    # another model, and a model saved then could not be loaded back.
    X = np.random.RandomState(0).normal(size=(12, 6))
    reg = RNNRegressor(**TINY, kernel_features=0).fit(X, X[:, 0])
    with pytest.raises(ValueError, match="partial_fit continues the fitted network of RNNReg"):
        reg.set_params(**change).partial_fit(X, X[:, 0])


def test_later_partial_fit_calls_on_a_constant_target_are_not_warned_about():
    # Only the first call sets y's scale; a later batch of equal targets
    # (one sequence at a time, the usual loop) is ordinary.
    X, _, y = _training_data()
    model = RNNRegressor(**TINY).partial_fit(X, y)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        model.partial_fit(X[:1], y[:1])
        model.partial_fit(X[:2], [y[0], y[0]])
