"""Sequence inputs end to end: ragged lists, padding, NaN, max_length, Pipelines."""

import datetime as dt
import itertools
import re
import warnings

import numpy as np
import pandas as pd
import pytest
from sklearn.model_selection import cross_val_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from sklrnn import RNNClassifier, RNNRegressor, pad_sequences
from sklrnn.preprocessing import (
    SequenceScaler,
    WideToSequence,
    long_to_sequences,
    make_windows,
)

CELL_TYPES = ["rnn", "rnn_relu", "lstm", "gru"]
READOUTS = ["mean_last", "last", "mean", "max", "attention"]
TIGHT = {"rtol": 1e-5, "atol": 1e-6}


def _small(estimator=RNNRegressor, **params):
    """A tiny, fast, deterministic estimator, with the convolutional front end."""
    defaults = dict(hidden_size=8, conv_channels=4, max_epochs=2, batch_size=4)
    defaults["random_state"] = 0
    return estimator(**{**defaults, **params})


def _ragged_data(n=14, n_features=2, seed=0):
    """Sequences of lengths 3..11; the first batch of 4 all has length 6."""
    rng = np.random.RandomState(seed)
    lengths = [6, 6, 6, 6, *rng.randint(3, 12, size=n - 4)]
    seqs = [rng.normal(size=(n_steps, n_features)) for n_steps in lengths]
    y = np.array([s[:, 0].sum() + s[-1, -1] for s in seqs])
    return seqs, y


# -- padding never influences results ----------------------------------------


@pytest.mark.parametrize(
    "cell_type, readout, bidirectional",
    list(itertools.product(CELL_TYPES, READOUTS, [False, True])),
)
def test_prediction_is_invariant_to_padding(cell_type, readout, bidirectional):
    seqs, y = _ragged_data()
    # Two layers when bidirectional: padding must not leak between layers either.
    model = _small(
        cell_type=cell_type,
        readout=readout,
        bidirectional=bidirectional,
        num_layers=2 if bidirectional else 1,
    ).fit(seqs, y)
    reference = model.predict(pad_sequences(seqs, max_length=50))
    padded_500 = pad_sequences(seqs, max_length=500)
    np.testing.assert_allclose(model.predict(padded_500), reference, **TIGHT)
    np.testing.assert_allclose(model.predict(seqs), reference, **TIGHT)
    one_by_one = np.array([model.predict(s[None])[0] for s in seqs])
    np.testing.assert_allclose(one_by_one, reference, **TIGHT)
    # The readout must depend on the sequence, so the check above is not vacuous.
    assert np.ptp(reference) > 1e-3


@pytest.mark.parametrize("cell_type", CELL_TYPES)
def test_strided_front_end_is_invariant_to_padding(cell_type):
    # Sequences of up to 700 steps: the first convolution strides by 2 and both
    # poolings shorten, so that padding could reach valid steps at every stage.
    rng = np.random.RandomState(0)
    lengths = [700, 700, 700, 700, *rng.randint(30, 700, size=8), 1, 2]
    seqs = [rng.normal(size=(n_steps, 2)) for n_steps in lengths]
    y = np.array([s[:, 0].mean() for s in seqs])
    model = _small(cell_type=cell_type, readout="mean_last").fit(seqs, y)
    assert model.strides_ == (2, 7, 7)
    assert len(model.kernel_sizes_) > 1  # parallel convolutions of several sizes
    reference = model.predict(seqs)
    for max_length in (701, 1000, 3000):
        padded = pad_sequences(seqs, max_length=max_length)
        np.testing.assert_allclose(model.predict(padded), reference, **TIGHT)
    one_by_one = np.array([model.predict(s[None])[0] for s in seqs])
    np.testing.assert_allclose(one_by_one, reference, **TIGHT)
    assert np.ptp(reference) > 1e-3


@pytest.mark.parametrize("cell_type", CELL_TYPES)
def test_training_is_invariant_to_padding(cell_type):
    seqs, y = _ragged_data()
    params = dict(cell_type=cell_type, readout="attention", bidirectional=True, max_epochs=3)
    reference = _small(**params).fit(seqs, y).predict(seqs)
    for X in (pad_sequences(seqs, max_length=50), pad_sequences(seqs, max_length=500)):
        np.testing.assert_allclose(_small(**params).fit(X, y).predict(seqs), reference, **TIGHT)


def test_classifier_ragged_fit_predict_and_padding():
    seqs, y = _ragged_data(n=16)
    labels = np.where(y > np.median(y), "high", "low")
    clf = _small(RNNClassifier, readout="mean").fit(seqs, labels)
    assert clf.n_features_in_ == 2
    proba = clf.predict_proba(seqs)
    assert proba.shape == (16, 2)
    np.testing.assert_allclose(clf.predict_proba(pad_sequences(seqs, 300)), proba, **TIGHT)
    assert set(clf.predict(seqs)) <= {"high", "low"}
    # univariate ragged sequences as plain 1D lists
    uni = [s[:, 0].tolist() for s in seqs]
    clf1 = _small(RNNClassifier).fit(uni, labels)
    assert clf1.n_features_in_ == 1
    np.testing.assert_allclose(
        clf1.predict_proba(uni), clf1.predict_proba(pad_sequences(uni, 40)[:, :, 0]), **TIGHT
    )


@pytest.mark.parametrize("n_features", [1, 2])
def test_series_of_arrays_is_ragged_input(n_features):
    # sktime's nested format: a pandas Series whose elements are sequences.
    seqs, y = _ragged_data(n_features=n_features)
    if n_features == 1:
        seqs = [s[:, 0] for s in seqs]  # elements of shape (n_timesteps,)
    series = pd.Series(seqs, index=np.arange(100, 100 + len(seqs)))
    model = _small().fit(series, y)
    assert model.n_features_in_ == n_features
    reference = _small().fit(seqs, y)
    np.testing.assert_array_equal(model.predict(series), reference.predict(seqs))
    np.testing.assert_array_equal(model.predict(series.iloc[3:5]), reference.predict(seqs[3:5]))


def test_series_of_lists_of_one_length_is_ragged_input():
    # groupby(...).apply(list) of a long table whose groups are equally long
    # crashed inside pandas: read as a table of lists.
    rng = np.random.RandomState(0)
    long = pd.DataFrame({"id": np.repeat(np.arange(12), 5), "v": rng.normal(size=60)})
    series = long.groupby("id")["v"].apply(list)
    y = np.arange(12) % 2
    model = _small().fit(series, y)
    assert model.n_features_in_ == 1
    arrays = [np.asarray(seq) for seq in series]
    np.testing.assert_array_equal(model.predict(series), _small().fit(arrays, y).predict(arrays))


@pytest.mark.parametrize("n_features", [1, 2])
def test_a_series_of_arrow_lists_is_ragged_input(n_features):
    # read_parquet(dtype_backend="pyarrow") gives list columns an ArrowDtype,
    # not object: refused ("X holds sequences where numbers belong").
    pa = pytest.importorskip("pyarrow")
    seqs, y = _ragged_data(n_features=n_features)
    seqs = [s[:, 0] if n_features == 1 else s for s in seqs]
    item = pa.list_(pa.float64()) if n_features == 1 else pa.list_(pa.list_(pa.float64()))
    series = pd.Series([s.tolist() for s in seqs], dtype=pd.ArrowDtype(item))
    model = _small().fit(series, y)
    assert model.n_features_in_ == n_features
    np.testing.assert_array_equal(model.predict(series), _small().fit(seqs, y).predict(seqs))
    scaled = SequenceScaler().fit_transform(series)
    np.testing.assert_allclose(scaled, SequenceScaler().fit_transform(seqs))
    for missing in ([series[0], None], [None, series[0]]):  # a first one read X as a table
        with pytest.raises(ValueError, match=r"Sequence \d of X is missing"):
            model.predict(pd.Series(missing, dtype=series.dtype))


def test_a_polars_dataframe_is_a_table_with_feature_names():
    # It has no ndim: it was read as sequences of one feature, so that a
    # table of other columns, or reordered ones, was predicted silently.
    pl = pytest.importorskip("polars")
    X, y = np.random.RandomState(0).normal(size=(12, 6)), np.arange(12) % 2
    df = pd.DataFrame(X, columns=[f"t{i}" for i in range(6)])
    model = _small(RNNClassifier).fit(pl.from_pandas(df), y)
    assert model.n_features_in_ == 6 and model.feature_names_in_.tolist() == df.columns.tolist()
    np.testing.assert_array_equal(
        model.predict_proba(pl.from_pandas(df)), _small(RNNClassifier).fit(df, y).predict_proba(df)
    )
    with pytest.raises(ValueError, match="feature names should match"):
        model.predict(pl.from_pandas(df[df.columns[::-1]]))
    assert SequenceScaler().fit_transform(pl.from_pandas(df)).shape == (12, 6)


def test_a_list_of_polars_dataframes_is_matched_by_column_name():
    # They were read by position: reordered columns were predicted silently,
    # and make_windows could not find a column by its name.
    pl = pytest.importorskip("polars")
    seqs, y = _ragged_data()
    frames = [pl.DataFrame({"a": s[:, 0], "b": s[:, 1]}) for s in seqs]
    model = _small().fit(frames, y)
    assert model.feature_names_in_.tolist() == ["a", "b"]
    expected = _small().fit(seqs, y).predict(seqs)
    np.testing.assert_array_equal(model.predict(frames), expected)
    reordered = [f.select(["b", "a"]) for f in frames]
    np.testing.assert_array_equal(model.predict(reordered), expected)
    # pandas and polars DataFrames together, each matched by name
    mixed = [*reordered[:7], *(pd.DataFrame({"b": s[:, 1], "a": s[:, 0]}) for s in seqs[7:])]
    np.testing.assert_array_equal(model.predict(mixed), expected)
    with pytest.raises(ValueError, match=r"X\[3\] does not have the columns.*missing \['b'\]"):
        model.predict([*frames[:3], frames[3].select(["a"]), *frames[4:]])
    np.testing.assert_array_equal(
        pad_sequences(reordered[:2]), pad_sequences([s[:, ::-1] for s in seqs[:2]])
    )
    series = pl.DataFrame({"a": np.arange(6.0), "b": 10 * np.arange(6.0)})
    X, target = make_windows(series.select(["b", "a"]), window=3, target="b")
    np.testing.assert_array_equal(target, [30.0, 40.0, 50.0])
    np.testing.assert_array_equal(X[0], [[0.0, 0.0], [10.0, 1.0], [20.0, 2.0]])


def test_a_polars_lazyframe_is_refused_with_the_fix():
    pl = pytest.importorskip("polars")
    X, y = np.random.RandomState(0).normal(size=(12, 6)), np.arange(12) % 2
    model = _small(RNNClassifier).fit(X, y)
    lazy = pl.DataFrame(X).lazy()
    for call in (lambda: model.predict(lazy), lambda: _small(RNNClassifier).fit(lazy, y)):
        with pytest.raises(TypeError, match=r"polars LazyFrame.*X\.collect\(\)"):
            call()


def test_a_dict_of_sequences_is_refused_with_the_fix():
    # numpy read a dict as one object, which the refusal of text called a
    # category to encode; pad_sequences padded its keys.
    seqs = {"a": np.arange(10.0), "b": np.arange(12.0)}
    model = _small(RNNClassifier).fit(pad_sequences(list(seqs.values())), [0, 1])
    calls = {
        "X": [
            lambda: _small(RNNClassifier).fit(seqs, [0, 1]),
            lambda: model.predict(seqs),
            lambda: SequenceScaler().fit(seqs),
            lambda: WideToSequence().fit_transform(seqs),
        ],
        "series": [lambda: make_windows(seqs, window=3)],
        "sequences": [lambda: pad_sequences(seqs)],
    }
    for name, refused in calls.items():
        for call in refused:
            fix = rf"{name} is a dict \(a mapping\), .* list\({name}\.values\(\)\)"
            with pytest.raises(TypeError, match=fix):
                call()


@pytest.mark.parametrize("dtype", ["float32", "bfloat16", "float64", "int64"])
def test_torch_tensors_are_read_as_their_values(dtype):
    # Tensors that track gradients, and bfloat16 ones, which numpy has no
    # type for, failed inside torch's conversion to numpy.
    torch = pytest.importorskip("torch")
    seqs, y = _ragged_data()
    X = pad_sequences(seqs)
    tensor = torch.as_tensor(X).to(getattr(torch, dtype))
    floating = tensor.is_floating_point()
    values = tensor.float().numpy()
    expected = _small().fit(values, y).predict(values)
    if floating:
        tensor.requires_grad_(True)
    target = torch.as_tensor(y, dtype=torch.float32).requires_grad_(True)
    weight = torch.ones(len(y), requires_grad=True)
    model = _small().fit(tensor, target, sample_weight=weight)
    np.testing.assert_allclose(model.predict(tensor), expected, **TIGHT)
    np.testing.assert_allclose(model.predict(list(tensor)), expected, **TIGHT)
    with pytest.raises(TypeError, match=r"X is a sparse torch tensor.*X\.to_dense\(\)"):
        model.predict(tensor.detach().to_sparse())
    with pytest.raises(ValueError, match="X is a tensor on the meta device, which holds no"):
        model.predict(torch.empty(X.shape, device="meta"))


@pytest.mark.parametrize("layout", ["strided", "jagged"])
@pytest.mark.filterwarnings("ignore:The PyTorch API of nested tensors:UserWarning")
def test_a_nested_tensor_is_read_as_a_list_of_its_sequences(layout):
    # A strided one failed inside torch ("NestedTensorImpl doesn't support
    # sizes"), a jagged one was called sparse, with a fix torch refuses.
    torch = pytest.importorskip("torch")
    seqs, y = _ragged_data()
    nested = torch.nested.nested_tensor(
        [torch.as_tensor(s) for s in seqs], layout=getattr(torch, layout)
    )
    model = _small().fit(nested, y)
    np.testing.assert_array_equal(model.predict(nested), _small().fit(seqs, y).predict(seqs))
    np.testing.assert_array_equal(pad_sequences(nested), pad_sequences(seqs))
    np.testing.assert_array_equal(
        SequenceScaler().fit(nested).mean_, SequenceScaler().fit(seqs).mean_
    )


def test_polars_dates_and_durations_are_refused_as_pandas_ones():
    # polars' own dtypes passed the check: the dates were read as epoch
    # microseconds (a mean of 1.6e14) with at most a warning of outliers.
    pl = pytest.importorskip("polars")
    X, y = np.random.RandomState(0).normal(size=(12, 6)), np.arange(12) % 2
    model = _small(RNNClassifier).fit(X, y)
    days = pl.date_range(dt.date(2024, 1, 1), dt.date(2024, 1, 12), eager=True)
    for column in (days, days - dt.date(2023, 12, 31)):  # Date, then Duration
        frame = pl.DataFrame(X, schema=[f"t{i}" for i in range(6)]).with_columns(column.alias("t2"))
        message = (
            rf"Column 't2' of X holds dates or times \(dtype {re.escape(str(column.dtype))}.*Con"
        )
        for call in (model.predict, SequenceScaler().fit):
            with pytest.raises(TypeError, match=message):
                call(frame)
        with pytest.raises(TypeError, match=r"^series holds dates or times"):
            make_windows(column, 3)


def test_aeon_layout_channels_before_steps_is_warned_about():
    # aeon and sktime hold (n_samples, n_channels, n_timesteps): read channels
    # last, a univariate set became one-step sequences without a word.
    X = np.random.RandomState(0).normal(size=(12, 1, 24))
    y = np.arange(12) % 2
    fix = r"X\.transpose\(0, 2, 1\)"
    with pytest.warns(UserWarning, match=rf"at most 1\) than features \(24\).*{fix}") as record:
        _small(RNNClassifier).fit(X, y)
    assert record[0].filename == __file__  # at the line that called fit
    with pytest.warns(UserWarning, match=fix):
        SequenceScaler().fit(list(X))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        model = _small(RNNClassifier).fit(X.transpose(0, 2, 1), y)
        _small(RNNClassifier).fit(np.ones((12, 5, 5)), y)  # as many steps as features
        # Sequences cut to max_length below the features' number were longer.
        cut = _small(RNNClassifier, max_length=4).fit(np.ones((12, 30, 5)), y)
    assert cut.n_features_in_ == 5 and cut.predict(np.ones((2, 30, 5))).shape == (2,)
    # A model fitted channels last, given the other layout, says so: as a
    # list, each sequence transposes (a list has no transpose).
    with pytest.raises(ValueError, match=rf"expecting 1 feature per time step.*{fix}"):
        model.predict(X)
    with pytest.raises(
        ValueError, match=r"expecting 1 feature .*\[np\.transpose\(s\) for s in X\]\.$"
    ):
        model.predict(list(X))
    with pytest.raises(ValueError, match=r"\[np\.transpose\(s\) for s in X\]\.$"):
        model.predict(X.tolist())  # lists of lists have no .T
    assert model.predict([np.transpose(s) for s in X.tolist()]).shape == (12,)
    # A model fitted on that layout (after the warning), given the right
    # one, may be what needs the transpose: both are named.
    with pytest.warns(UserWarning, match="fewer time steps"):
        channels_first = _small(RNNClassifier).fit(X, y)
    both = (
        r"pass X\.transpose\(0, 2, 1\)\. If RNNClassifier was fitted on that layout .*fit it again"
    )
    with pytest.raises(ValueError, match=both):
        channels_first.predict(X.transpose(0, 2, 1))
    # NaN-padded in that layout (unequal lengths), along the last axis: the
    # same fix, not imputation, which the NaN in a step's features suggested.
    padded = np.random.RandomState(0).normal(size=(12, 2, 24))
    padded[::2, :, 20:] = np.nan
    aeon = r"contains NaN at sample 0, time step 0, feature 20.*last axis.*X\.transpose\(0, 2, 1\)"
    with pytest.raises(ValueError, match=aeon):
        _small(RNNClassifier).fit(padded, y)
    padded[0, 0, 5] = np.nan  # not padding in any layout
    with pytest.raises(ValueError, match="sample 0, time step 0, feature 5.*impute missing"):
        _small(RNNClassifier).fit(padded, y)
    # A missing sensor of channels-last sequences (more steps than features)
    # is no padding: the transpose would read its channel as trailing padding.
    sensors = np.random.RandomState(0).normal(size=(12, 24, 3))
    sensors[0, :, 2] = np.nan
    with pytest.raises(ValueError, match="sample 0, time step 0, feature 2.*impute missing"):
        _small(RNNClassifier).fit(sensors, y)


def test_a_table_indexed_by_series_and_step_points_to_long_to_sequences():
    # sktime's "pd-multiindex" frame: a row per (series, time step).
    X3 = np.random.RandomState(0).normal(size=(12, 8, 2))
    y = np.arange(12) % 2
    index = pd.MultiIndex.from_product([range(12), range(8)], names=["case", "t"])
    long = pd.DataFrame(X3.reshape(-1, 2), index=index, columns=["a", "b"])
    fix = r"X, _, ids = sklrnn\.preprocessing\.long_to_sequences\(X\.reset_index\(\), 'case', 't'\)"
    with pytest.raises(ValueError, match=rf"inconsistent numbers of samples: \[96, 12\]\..*{fix}"):
        _small(RNNClassifier).fit(long, y)
    model = _small(RNNClassifier).fit(X3, y)
    with pytest.raises(ValueError, match=rf"expecting 2 features per time step.*{fix}"):
        model.predict(long)
    # One feature: as many columns as the model reads, so read as one-step
    # sequences with a warning, which points to long_to_sequences, not to [X].
    univariate = _small(RNNClassifier).fit(X3[:, :, :1], y)
    with pytest.warns(UserWarning, match=rf"one time step each, one per row\. .*{fix}\.$"):
        univariate.predict(long[["a"]])
    # fit, with a label per row, trained on one-step sequences without a word.
    with pytest.warns(UserWarning, match=rf"one time step each, one per row\. .*{fix}\.$"):
        _small(RNNClassifier).fit(long[["a"]], np.repeat(y, 8))
    with pytest.warns(UserWarning, match=r"one per row\. If each row is a time step .*long_to"):
        _small(RNNRegressor).fit(long[["a"]].reset_index(drop=True), np.arange(96.0))
    with warnings.catch_warnings():  # a wider table, and the scaler's tables, are sequences
        warnings.simplefilter("error")
        _small(RNNClassifier).fit(X3[:, :, 0], y)
        _small(RNNClassifier, max_length=1).fit(X3[:, :, 0], y)  # cut, not one column
        # Nor a wide table given to a model fitted on 3D input and cut to one step.
        _small(RNNClassifier, max_length=1).fit(X3[:, :, :1], y).predict(X3[:, :, 0])
        SequenceScaler().fit(X3[:, :, 0])
    X, _, ids = long_to_sequences(long.reset_index(), "case", "t")
    np.testing.assert_array_equal(X, X3)
    # The index levels serve as the id and time columns, as in pandas' groupby.
    X, _, ids = long_to_sequences(long.sample(frac=1, random_state=0), "case", "t")
    np.testing.assert_array_equal(X, X3)
    np.testing.assert_array_equal(ids, np.arange(12))


# -- NaN that is not padding --------------------------------------------------


def test_nan_inside_a_sequence_is_an_error():
    seqs, y = _ragged_data()
    X = pad_sequences(seqs, max_length=12)
    bad = X.copy()
    bad[2, 1, 0] = np.nan
    with pytest.raises(ValueError, match="NaN at sample 2, time step 1, feature 0.*impute"):
        _small().fit(bad, y)
    model = _small().fit(X, y)
    with pytest.raises(ValueError, match="NaN at sample 2, time step 1") as info:
        model.predict(bad)
    # The advice suits predict as well as fit.
    assert "before fitting" not in str(info.value)
    assert "impute missing values first, the same way for fit and predict" in str(info.value)
    # a last step with only some features missing is not padding
    partial = X.copy()
    partial[0, 5, 1] = np.nan
    with pytest.raises(ValueError, match="NaN at sample 0, time step 5, feature 1"):
        model.predict(partial)
    # leading NaN is not padding either
    leading = X.copy()
    leading[3, 0] = np.nan
    with pytest.raises(ValueError, match="NaN at sample 3, time step 0"):
        model.predict(leading)
    empty = X.copy()
    empty[4] = np.nan
    with pytest.raises(ValueError, match="every step of sample 4"):
        model.predict(empty)
    ragged_bad = [s.copy() for s in seqs]
    ragged_bad[1][0, 0] = np.nan
    with pytest.raises(ValueError, match="NaN at sample 1, time step 0, feature 0"):
        model.predict(ragged_bad)
    with pytest.raises(ValueError, match="All sequences in X must have the same number"):
        model.predict([seqs[0], seqs[1][:, :1]])


# -- max_length ---------------------------------------------------------------


def test_max_length_keeps_the_most_recent_steps():
    seqs, y = _ragged_data()
    model = _small(max_length=5).fit(seqs, y)
    recent = [s[-5:] for s in seqs]
    # prediction sees only the last five steps ...
    np.testing.assert_allclose(model.predict(seqs), model.predict(recent), **TIGHT)
    X = pad_sequences(seqs, max_length=30)
    np.testing.assert_allclose(model.predict(X), model.predict(recent), **TIGHT)
    # ... and so does training: the same fit as on truncated data.
    plain = _small().fit(recent, y)
    np.testing.assert_allclose(plain.predict(recent), model.predict(seqs), **TIGHT)
    # sequences shorter than max_length are not touched: a longer limit differs
    longer = _small(max_length=8).fit(seqs, y)
    assert not np.allclose(longer.predict(seqs), model.predict(seqs))
    # equal-length 2D input
    X2 = np.random.RandomState(1).normal(size=(10, 20))
    reg = _small(max_length=4).fit(X2, X2[:, -1])
    older_steps_changed = X2.copy()
    older_steps_changed[:, :16] = 123.0
    np.testing.assert_allclose(reg.predict(older_steps_changed), reg.predict(X2), **TIGHT)


# -- wide multivariate tables in a Pipeline -----------------------------------


def _wide_weather(n=24, n_steps=6, seed=0, order="feature_major"):
    rng = np.random.RandomState(seed)
    X3 = rng.normal(size=(n, n_steps, 2)) * [5.0, 0.1] + [20.0, 0.5]
    y = np.where(X3[:, -2:, 0].mean(axis=1) > 20, "warm", "cold")
    if order == "feature_major":
        wide = X3.transpose(0, 2, 1).reshape(n, -1)
        columns = [f"{f}_t{t}" for f in ("temp", "hum") for t in range(n_steps)]
    else:
        wide = X3.reshape(n, -1)
        columns = [f"{f}_t{t}" for t in range(n_steps) for f in ("temp", "hum")]
    return pd.DataFrame(wide, columns=columns), y, X3


def test_wide_dataframe_in_pipeline_after_standard_scaler():
    df, y, _ = _wide_weather()
    pipe = make_pipeline(StandardScaler(), WideToSequence(n_features=2), _small(RNNClassifier))
    pipe.fit(df, y)
    clf = pipe[-1]
    assert clf.n_features_in_ == 2  # features per step, after the reshape
    assert pipe.n_features_in_ == 12
    # same as scaling and reshaping by hand
    scaled = StandardScaler().fit_transform(df).reshape(len(df), 2, 6).transpose(0, 2, 1)
    manual = _small(RNNClassifier).fit(scaled, y)
    np.testing.assert_allclose(pipe.predict_proba(df), manual.predict_proba(scaled), **TIGHT)
    # the time-major layout of the same data gives the same model
    df_t, _, _ = _wide_weather(order="time_major")
    pipe_t = make_pipeline(
        StandardScaler(), WideToSequence(n_features=2, order="time_major"), _small(RNNClassifier)
    ).fit(df_t, y)
    np.testing.assert_allclose(pipe_t.predict_proba(df_t), pipe.predict_proba(df), **TIGHT)
    # cross-validation refits the scaler per fold
    scores = cross_val_score(pipe, df, y, cv=2)
    assert scores.shape == (2,)


def test_wide_pipeline_wrong_columns_errors():
    df, y, _ = _wide_weather()
    pipe = make_pipeline(StandardScaler(), WideToSequence(n_features=5), _small(RNNClassifier))
    with pytest.raises(ValueError, match="12 columns, which is not a multiple of n_features=5"):
        pipe.fit(df, y)
    pipe.set_params(widetosequence__n_features=2).fit(df, y)
    with pytest.raises(ValueError, match="Feature names seen at fit time, yet now missing"):
        pipe.predict(df.iloc[:, :10])
    with pytest.raises(ValueError, match="X has 10 features, but StandardScaler is expecting 12"):
        make_pipeline(StandardScaler(), WideToSequence(n_features=2), _small(RNNClassifier)).fit(
            df.to_numpy(), y
        ).predict(df.iloc[:, :10].to_numpy())


def test_sequence_scaler_in_pipeline_matches_builtin_standardization():
    seqs, y = _ragged_data()
    # No kernel features: their comparisons with their biases flip with the
    # last bit of a standardized value, so the two would not agree to rounding.
    pipe = make_pipeline(SequenceScaler(), _small(standardize=False, kernel_features=0))
    pipe.fit(seqs, y)
    builtin = _small(kernel_features=0).fit(seqs, y)
    # Same statistics, once in float64 outside the net, once in float32 inside.
    np.testing.assert_allclose(pipe.predict(seqs), builtin.predict(seqs), rtol=1e-4, atol=1e-5)
    # the scaler keeps the padding, so the estimator reads the right lengths
    np.testing.assert_allclose(
        pipe.predict(pad_sequences(seqs, max_length=200)), pipe.predict(seqs), **TIGHT
    )
    scores = cross_val_score(pipe, seqs, y, cv=2)
    assert np.isfinite(scores).all()


# -- long DataFrames ----------------------------------------------------------


def _long_patients(n_patients=40, seed=0):
    rng = np.random.RandomState(seed)
    rows = []
    for p in range(n_patients):
        ill = p % 2 == 0
        for hour in range(rng.randint(4, 11)):
            rows.append(
                {
                    "patient": f"p{p:02d}",
                    "hour": hour,
                    "pulse": rng.normal(90 if ill else 65, 4),
                    "temp": rng.normal(38.5 if ill else 36.8, 0.2),
                    "outcome": "ill" if ill else "ok",
                }
            )
    return pd.DataFrame(rows).sample(frac=1.0, random_state=seed)


def test_long_dataframe_end_to_end():
    df = _long_patients()
    X, y, ids = long_to_sequences(df, "patient", "hour", target_column="outcome")
    assert X.shape[0] == len(y) == len(ids) == 40
    pipe = make_pipeline(SequenceScaler(), _small(RNNClassifier, max_epochs=30, batch_size=8))
    pipe.fit(X, y)
    assert pipe.score(X, y) >= 0.9
    # another row order gives the same sequences, hence the same predictions
    X2, _, ids2 = long_to_sequences(
        df.sort_values("pulse"), "patient", "hour", target_column="outcome"
    )
    np.testing.assert_array_equal(ids2, ids)
    np.testing.assert_allclose(pipe.predict_proba(X2), pipe.predict_proba(X), **TIGHT)


# -- forecasting windows ------------------------------------------------------


def test_windows_train_a_multi_step_regressor():
    t = np.arange(120.0)
    series = [np.sin(t / 4), np.cos(t / 6)]
    X, y = make_windows(series, window=12, horizon=3, step=2)
    assert X.shape[1:] == (12, 1) and y.shape[1] == 3
    reg = _small(max_epochs=20).fit(X, y)
    assert reg.predict(X[:5]).shape == (5, 3)
    # It learns the continuation of the waves (R^2 0.84 measured; 0.10 after 3 epochs).
    assert reg.score(X, y) > 0.6


def test_a_few_very_long_sequences_that_set_the_strides_are_named():
    rng = np.random.RandomState(0)
    X = [rng.normal(size=100) for _ in range(60)] + [rng.normal(size=5000)]
    y = np.arange(len(X)) % 2
    expected = (
        r"training sequences over 10 times as long as the rest: 1 of 61 \(the longest: "
        r"5000 steps; the rest: at most 100\).*\(10, 8, 8\).*1 recurrent step.*"
        r"max_length=100"
    )
    with pytest.warns(UserWarning, match=expected) as record:
        _small(RNNClassifier, kernel_features=0, max_epochs=1).fit(X, y)
    assert record[0].filename == __file__  # it points at the call of fit
    with pytest.warns(UserWarning, match=expected) as record:
        _small(RNNClassifier, kernel_features=0).partial_fit(X, y, classes=[0, 1])
    assert record[0].filename == __file__
    with pytest.warns(UserWarning, match=expected) as record:
        _small(max_epochs=1).fit(X, y * 1.0)
    assert record[0].filename == __file__
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # truncated, or without the outlier: no warning
        _small(RNNClassifier, kernel_features=0, max_epochs=1, max_length=100).fit(X, y)
        _small(RNNClassifier, kernel_features=0, max_epochs=1).fit(X[:-1], y[:-1])
        # Without a front end the recurrent layers read every step.
        _small(RNNClassifier, kernel_features=0, max_epochs=1, conv_channels=0).fit(X, y)
