"""WideToSequence, SequenceScaler, long_to_sequences and make_windows."""

import re
import tracemalloc
import warnings
from decimal import Decimal

import numpy as np
import pandas as pd
import pytest
import torch
from sklearn.base import clone
from sklearn.compose import ColumnTransformer
from sklearn.pipeline import make_pipeline
from sklearn.utils._param_validation import InvalidParameterError
from sklearn.utils.estimator_checks import parametrize_with_checks

import sklrnn
from sklrnn import RNNClassifier, pad_sequences
from sklrnn.datasets import load_japanese_vowels
from sklrnn.preprocessing import (
    SequenceScaler,
    WideToSequence,
    long_to_sequences,
    make_windows,
)


@parametrize_with_checks(
    [
        WideToSequence(),
        WideToSequence(order="time_major"),
        SequenceScaler(),
        SequenceScaler(with_mean=False),
        SequenceScaler(with_std=False),
    ]
)
def test_sklearn_compatible_transformer(estimator, check):
    check(estimator)


def test_public_names():
    for name in ["WideToSequence", "SequenceScaler", "long_to_sequences", "make_windows"]:
        assert name in sklrnn.__all__
        assert getattr(sklrnn, name) is getattr(sklrnn.preprocessing, name)


# -- WideToSequence ---------------------------------------------------------


def _wide_frame(n_samples=4, n_timesteps=5, order="feature_major", seed=0):
    """A wide weather table whose values encode (sample, feature, step)."""
    features = ["temp", "hum", "wind"]
    if order == "feature_major":
        pairs = [(f, t) for f in range(len(features)) for t in range(n_timesteps)]
    else:
        pairs = [(f, t) for t in range(n_timesteps) for f in range(len(features))]
    values = np.array(
        [[100 * i + 10 * f + t for f, t in pairs] for i in range(n_samples)], dtype=float
    )
    columns = [f"{features[f]}_t{t}" for f, t in pairs]
    return pd.DataFrame(values, columns=columns)


@pytest.mark.parametrize("order", ["feature_major", "time_major"])
def test_wide_to_sequence_maps_columns_to_step_and_feature(order):
    df = _wide_frame(order=order)
    X3 = WideToSequence(n_features=3, order=order).fit_transform(df)
    assert X3.shape == (4, 5, 3)
    i, t, f = np.meshgrid(np.arange(4), np.arange(5), np.arange(3), indexing="ij")
    np.testing.assert_array_equal(X3, 100 * i + 10 * f + t)
    # every column lands where its name says
    names = ["temp", "hum", "wind"]
    for step in range(5):
        for k, name in enumerate(names):
            np.testing.assert_array_equal(X3[:, step, k], df[f"{name}_t{step}"])


@pytest.mark.parametrize("order", ["feature_major", "time_major"])
def test_wide_to_sequence_round_trip_and_attributes(order):
    df = _wide_frame(order=order)
    tr = WideToSequence(n_features=3, order=order).fit(df)
    assert tr.n_features_in_ == 15
    assert tr.n_timesteps_ == 5
    np.testing.assert_array_equal(tr.feature_names_in_, df.columns)
    np.testing.assert_array_equal(tr.inverse_transform(tr.transform(df)), df.to_numpy())
    with pytest.raises(ValueError, match=r"shape \(n_samples, 5, 3\), got shape \(4, 3, 5\)"):
        tr.inverse_transform(np.zeros((4, 3, 5)))
    # Text, refused by fit, was read as numbers ("1.5") or failed in scikit-learn.
    for text in ("1.5", "a"):
        with pytest.raises(
            ValueError, match=r"X is an array of strings \(dtype <U\d\), not numbers"
        ):
            tr.inverse_transform(np.full((4, 5, 3), text))


def test_wide_to_sequence_wrong_column_count():
    with pytest.raises(ValueError, match="X has 10 columns, which is not a multiple of n_f"):
        WideToSequence(n_features=3).fit(np.zeros((2, 10)))
    tr = WideToSequence(n_features=2).fit(np.zeros((2, 10)))
    with pytest.raises(ValueError, match="X has 8 features, but WideToSequence is expecting 10"):
        tr.transform(np.zeros((2, 8)))
    with pytest.raises(InvalidParameterError, match="n_features"):
        WideToSequence(n_features=0).fit(np.zeros((2, 10)))
    with pytest.raises(InvalidParameterError, match="order"):
        WideToSequence(order="steps").fit(np.zeros((2, 10)))
    with pytest.raises(TypeError, match="'n_features' parameter of WideToSequence must be an in"):
        WideToSequence(n_features=True).fit(np.zeros((2, 4)))
    dates = pd.DataFrame({"a": [1.0, 2.0], "b": pd.to_datetime(["2024-01-01", "2024-01-02"])})
    with pytest.raises(TypeError, match="Column 'b' of X holds dates or times"):
        WideToSequence().fit(dates)
    text = pd.DataFrame({"a": [1.0, 2.0], "b": ["x", "y"]})  # pandas' message named no input
    with pytest.raises(ValueError, match="X must hold numbers only, .*OrdinalEncoder"):
        WideToSequence().fit(text)


@pytest.mark.parametrize("order", ["feature_major", "time_major"])
def test_wide_to_sequence_reads_masked_values_as_nan_and_copies(order):
    # Masked values are missing values, NaN, as for the estimators (the values
    # under the mask were read); the output is never a view of the input (it
    # was, with one feature: writing to it changed the caller's table).
    X = np.ma.masked_array(np.arange(6.0).reshape(2, 3), mask=[[0, 0, 1], [0, 0, 0]])
    X3 = WideToSequence(order=order).fit_transform(X)
    np.testing.assert_array_equal(X3[:, :, 0], [[0.0, 1.0, np.nan], [3.0, 4.0, 5.0]])
    table = np.arange(6.0).reshape(2, 3)
    X3 = WideToSequence(order=order).fit_transform(table)
    assert not np.shares_memory(X3, table) and X3.flags.c_contiguous
    table.setflags(write=False)
    assert WideToSequence(order=order).fit_transform(table).flags.writeable


def test_wide_to_sequence_reads_tensors_and_masks_both_ways():
    # A tensor that requires grad or is bfloat16 failed inside torch, and
    # inverse_transform read the values under a mask.
    table = torch.arange(8.0).reshape(2, 4)
    expected = WideToSequence(n_features=2).fit_transform(table.numpy())
    for X in (table.clone().requires_grad_(), table.to(torch.bfloat16)):
        np.testing.assert_array_equal(WideToSequence(n_features=2).fit_transform(X), expected)
    wide = WideToSequence(n_features=2).fit(table.numpy())
    back = wide.inverse_transform(torch.as_tensor(expected).requires_grad_())
    np.testing.assert_array_equal(back, table.numpy())
    masked = np.ma.masked_array(expected, mask=np.zeros_like(expected, bool))
    masked.mask[0, 1] = True  # step 1 of the first sequence, both features
    back = wide.inverse_transform(masked)
    assert np.isnan(back[0, [1, 3]]).all() and not np.isnan(back[0, [0, 2]]).any()


def test_wide_to_sequence_keeps_float32_and_nan():
    X = np.arange(12, dtype=np.float32).reshape(2, 6)
    X[1, [2, 5]] = np.nan  # last step of both features of sample 1
    X3 = WideToSequence(n_features=2).fit_transform(X)
    assert X3.dtype == np.float32
    assert np.isnan(X3[1, 2]).all() and not np.isnan(X3[1, :2]).any()
    with pytest.raises(ValueError, match="Input X contains infinity"):
        WideToSequence(n_features=2).fit(np.full((2, 6), np.inf))


def test_wide_to_sequence_output_is_independent_of_input():
    X = np.arange(12.0).reshape(2, 6)
    for order in ["feature_major", "time_major"]:
        X3 = WideToSequence(n_features=2, order=order).fit_transform(X)
        X3[:] = -1
        assert X.min() == 0


# -- SequenceScaler ---------------------------------------------------------


def _ragged(seed=0, n=12, n_features=2):
    rng = np.random.RandomState(seed)
    return [
        rng.normal(
            loc=[3.0, -5.0][:n_features],
            scale=[2.0, 0.5][:n_features],
            size=(rng.randint(2, 9), n_features),
        )
        for _ in range(n)
    ]


def test_sequence_scaler_statistics_ignore_padding():
    seqs = _ragged()
    steps = np.concatenate(seqs)
    for X in (seqs, pad_sequences(seqs), pad_sequences(seqs, max_length=40)):
        scaler = SequenceScaler().fit(X)
        np.testing.assert_allclose(scaler.mean_, steps.mean(axis=0))
        np.testing.assert_allclose(scaler.var_, steps.var(axis=0))
        np.testing.assert_allclose(scaler.scale_, steps.std(axis=0))
        assert scaler.n_samples_seen_ == len(seqs)
        assert scaler.n_steps_seen_ == len(steps)
        assert scaler.n_features_in_ == 2


def test_sequence_scaler_fits_a_list_without_padding_it():
    # fit padded the list to its longest sequence in float64 to take moments:
    # 10,000 short sequences and one of 5,000 steps (2 MB) took 954 MB.
    rng = np.random.RandomState(0)
    seqs = [rng.normal(size=(rng.randint(3, 9), 2)) for _ in range(300)]
    seqs.append(rng.normal(size=(3000, 2)))
    tracemalloc.start()
    try:
        scaler = SequenceScaler().fit(seqs)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    padded = pad_sequences(seqs)
    assert peak < padded.nbytes / 4  # the valid steps, not the padding
    reference = SequenceScaler().fit(padded)  # the same statistics, to the last bit
    np.testing.assert_array_equal(scaler.mean_, reference.mean_)
    np.testing.assert_array_equal(scaler.scale_, reference.scale_)
    assert scaler.n_samples_seen_ == 301 and scaler.n_steps_seen_ == reference.n_steps_seen_


def test_sequence_scaler_output_keeps_padding_and_lengths():
    seqs = _ragged()
    scaler = SequenceScaler().fit(seqs)
    out = scaler.transform(pad_sequences(seqs, max_length=20))
    assert out.shape == (len(seqs), 20, 2) and out.dtype == np.float64
    for i, s in enumerate(seqs):
        np.testing.assert_allclose(out[i, : len(s)], (s - scaler.mean_) / scaler.scale_)
        assert np.isnan(out[i, len(s) :]).all()
    # ragged in, NaN-padded 3D out, same values
    np.testing.assert_array_equal(scaler.transform(seqs), out[:, : max(map(len, seqs))])
    # the scaled training steps are standardized
    valid = out[~np.isnan(out[:, :, 0])]
    np.testing.assert_allclose(valid.mean(axis=0), 0, atol=1e-12)
    np.testing.assert_allclose(valid.std(axis=0), 1)
    np.testing.assert_allclose(scaler.inverse_transform(out)[:, :8], pad_sequences(seqs))


def test_sequence_scaler_makes_one_array_besides_its_input_copy():
    # (X - mean) / scale held a temporary as large as the output: 3.0 times
    # the output at the peak for float32 input, 2.1 now (the float64 copy
    # of the input and the output).
    X = np.random.RandomState(0).normal(size=(2000, 50, 3)).astype(np.float32)
    scaler = SequenceScaler().fit(X)
    for method in (scaler.transform, scaler.inverse_transform):
        tracemalloc.start()
        try:
            out = method(X)
            peak = tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()
        assert peak < 2.5 * out.nbytes
    np.testing.assert_allclose(scaler.inverse_transform(scaler.transform(X)), X, rtol=1e-6)


def test_sequence_scaler_uses_training_statistics_only():
    train, test = _ragged(seed=0), _ragged(seed=1)
    test = [s * 10 + 7 for s in test]
    scaler = SequenceScaler().fit(train)
    mean = np.concatenate(train).mean(axis=0)
    scale = np.concatenate(train).std(axis=0)
    np.testing.assert_allclose(scaler.transform(test)[0, : len(test[0])], (test[0] - mean) / scale)
    # sequences longer than any training sequence are fine
    assert scaler.transform(np.ones((1, 50, 2))).shape == (1, 50, 2)


def test_sequence_scaler_2d_input_is_one_feature():
    X = np.array([[1.0, 2.0, 3.0], [5.0, np.nan, np.nan]])
    scaler = SequenceScaler().fit(X)
    np.testing.assert_allclose(scaler.mean_, [11 / 4])
    out = scaler.transform(X)
    assert out.shape == X.shape
    np.testing.assert_allclose(out[0], (X[0] - 11 / 4) / scaler.scale_[0])
    assert np.isnan(out[1, 1:]).all()
    with pytest.raises(ValueError, match="X has 2 features, but SequenceScaler is expecting 3"):
        scaler.transform(X[:, :2])


def test_sequence_scaler_round_trip_of_a_dataframe_warns_of_nothing():
    # transform's output, an array, warned of missing feature names when
    # inverse_transform read it back; a named table still must match.
    df = pd.DataFrame(np.random.RandomState(0).normal(size=(5, 4)), columns=list("abcd"))
    scaler = SequenceScaler().fit(df)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        np.testing.assert_allclose(scaler.inverse_transform(scaler.transform(df)), df)
    with pytest.raises(ValueError, match="feature names should match"):
        scaler.inverse_transform(df[["b", "a", "c", "d"]])
    with pytest.warns(UserWarning, match="X does not have valid feature names"):
        scaler.transform(df.to_numpy())
    with pytest.raises(ValueError, match="X has 3 features, but SequenceScaler is expecting 4"):
        scaler.inverse_transform(df.to_numpy()[:, :3])


def test_sequence_scaler_inverse_transform_sets_no_warnings_filter(monkeypatch):
    # It silenced the feature-name warning with a filter in catch_warnings,
    # which is not thread-safe: beside a transform in another thread, the
    # "ignore" filter stayed in the process for good.
    df = pd.DataFrame(np.random.RandomState(0).normal(size=(5, 4)), columns=list("abcd"))
    scaler = SequenceScaler().fit(df)
    out = scaler.transform(df)
    added = []
    monkeypatch.setattr(warnings, "filterwarnings", lambda *args, **kwargs: added.append(args))
    np.testing.assert_allclose(scaler.inverse_transform(out), df)
    assert added == []


def test_sequence_scaler_options_and_constant_feature():
    X = np.stack([np.full((3, 4), 5.0), np.arange(12.0).reshape(3, 4)], axis=2)
    scaler = SequenceScaler().fit(X)
    assert scaler.scale_[0] == 1.0  # constant feature: no division by ~0
    np.testing.assert_array_equal(scaler.transform(X)[:, :, 0], 0.0)
    only_std = SequenceScaler(with_mean=False).fit(X)
    assert only_std.mean_ is None
    np.testing.assert_allclose(only_std.transform(X)[:, :, 1], X[:, :, 1] / X[:, :, 1].std())
    only_mean = SequenceScaler(with_std=False).fit(X)
    assert only_mean.scale_ is None and only_mean.var_ is None
    np.testing.assert_allclose(only_mean.transform(X)[:, :, 1], X[:, :, 1] - 5.5)


def test_sequence_scaler_errors():
    X = np.zeros((3, 4, 2))
    X[1, 1, 0] = np.nan
    with pytest.raises(ValueError, match="contains NaN at sample 1, time step 1, feature 0"):
        SequenceScaler().fit(X)
    scaler = SequenceScaler().fit(np.zeros((3, 4, 2)))
    with pytest.raises(ValueError, match="X has 3 features per time step, but SequenceScaler"):
        scaler.transform(np.zeros((3, 4, 3)))
    with pytest.raises(ValueError, match="Reshape your data"):
        scaler.transform(np.zeros((3, 4, 2, 1)))


def test_sequence_scaler_values_near_the_float64_limit():
    X = np.array([[1e200, 2e200, 3e200], [1e200, 1e200, np.nan]])
    scaler = SequenceScaler().fit(X)
    small = SequenceScaler().fit(X / 1e200)
    np.testing.assert_allclose(scaler.mean_, small.mean_ * 1e200)
    np.testing.assert_allclose(scaler.scale_, small.scale_ * 1e200)
    out = scaler.transform(X)
    np.testing.assert_allclose(out, small.transform(X / 1e200))
    np.testing.assert_allclose(scaler.inverse_transform(out), X)
    assert np.isinf(scaler.var_).all()  # 6.7e399, beyond float64: documented
    # the sum of values near the limit does not overflow either
    np.testing.assert_allclose(SequenceScaler().fit(np.full((3, 2), 1.5e308)).mean_, [1.5e308])


def test_sequence_scaler_overflow_in_transform_is_an_error():
    scaler = SequenceScaler().fit(np.array([[0.0, 1.0, 2.0]]))  # scale_ ~ 0.82
    with pytest.raises(ValueError, match="transform overflows float64.*Rescale X"):
        scaler.transform(np.array([[-1.7e308, 0.0, 0.0]]))
    scaler = SequenceScaler().fit(np.array([[0.0, 10.0, 20.0]]))  # scale_ ~ 8.2
    with pytest.raises(ValueError, match="inverse_transform overflows float64"):
        scaler.inverse_transform(np.array([[1.7e308, 0.0, 0.0]]))


def test_sequence_scaler_on_japanese_vowels():
    X, _ = load_japanese_vowels(return_X_y=True)
    out = SequenceScaler().fit_transform(X)
    np.testing.assert_array_equal(np.isnan(out), np.isnan(X))
    np.testing.assert_allclose(np.nanmean(out, axis=(0, 1)), 0, atol=1e-10)


# -- long_to_sequences ------------------------------------------------------


def _long_frame(seed=0):
    """Three patients with 4, 2 and 3 hourly rows, shuffled."""
    rows = []
    for pid, n, label in [("p1", 4, "ill"), ("p2", 2, "ok"), ("p0", 3, "ok")]:
        for hour in range(n):
            pulse, temp = 60.0 + hour, 36.0 + hour / 10
            rows.append({"id": pid, "hour": hour, "pulse": pulse, "temp": temp, "label": label})
    df = pd.DataFrame(rows)
    return df.sample(frac=1.0, random_state=seed).reset_index(drop=True)


def test_long_to_sequences_orders_by_time_not_rows():
    df = _long_frame()
    X, y, ids = long_to_sequences(df, "id", "hour", target_column="label")
    assert ids.tolist() == ["p0", "p1", "p2"]
    assert y.tolist() == ["ok", "ill", "ok"]
    assert X.shape == (3, 4, 2)  # features default to the other columns: pulse, temp
    np.testing.assert_array_equal(X[1, :, 0], [60, 61, 62, 63])
    np.testing.assert_allclose(X[1, :, 1], [36.0, 36.1, 36.2, 36.3])
    np.testing.assert_array_equal(X[2, :, 0], [60, 61, np.nan, np.nan])
    np.testing.assert_array_equal(X[0, 3], [np.nan, np.nan])
    # any other row order gives the same result
    X2, y2, ids2 = long_to_sequences(df.iloc[::-1], "id", "hour", target_column="label")
    np.testing.assert_array_equal(X2, X)
    np.testing.assert_array_equal(y2, y)
    np.testing.assert_array_equal(ids2, ids)


def test_long_to_sequences_columns_and_datetimes():
    df = _long_frame()
    df["when"] = pd.Timestamp("2024-01-01") + pd.to_timedelta(3 - df["hour"], unit="D")
    X, y, ids = long_to_sequences(df, "id", "when", feature_columns=["temp"])
    assert y is None
    assert X.shape == (3, 4, 1)
    # time runs backwards relative to "hour" here
    np.testing.assert_allclose(X[1, :, 0], [36.3, 36.2, 36.1, 36.0])


def test_long_to_sequences_errors():
    df = _long_frame()
    with pytest.raises(ValueError, match=r"Columns \['nope'\] are not in the DataFrame"):
        long_to_sequences(df, "id", "hour", feature_columns=["nope"])
    varying = df.assign(label=np.where(df["hour"] == 0, "a", df["label"]))
    with pytest.raises(ValueError, match="several values within series 'p0'"):
        long_to_sequences(varying, "id", "hour", target_column="label")
    with pytest.raises(ValueError, match="more than one row at time"):
        long_to_sequences(pd.concat([df, df.iloc[:1]]), "id", "hour", target_column="label")
    gappy = df.copy()
    gappy.loc[2, "pulse"] = np.nan
    with pytest.raises(ValueError, match="missing values .* Impute"):
        long_to_sequences(gappy, "id", "hour", target_column="label")
    with pytest.raises(ValueError, match=r"\['label'\] are not numeric.*target_column='label'"):
        long_to_sequences(df, "id", "hour")
    # Numbers held as Python objects are numbers (they were "not numeric").
    held = df.astype({"pulse": object})
    np.testing.assert_array_equal(
        long_to_sequences(held, "id", "hour", target_column="label")[0],
        long_to_sequences(df, "id", "hour", target_column="label")[0],
    )
    # Also of several types (Decimals and ints: "not numeric"); text among them is not.
    few = pd.DataFrame({"id": [0, 0, 0], "t": [0, 1, 2]})
    mixed = few.assign(x=pd.Series([Decimal("1.5"), 2, 3], dtype=object))
    np.testing.assert_array_equal(long_to_sequences(mixed, "id", "t")[0].ravel(), [1.5, 2, 3])
    # numpy's durations are Integral: they were read as bare counts of their unit.
    minutes = [np.timedelta64(5, "m"), np.timedelta64(1, "h"), 4]
    for values in ([1, "a", 2], minutes):
        with pytest.raises(ValueError, match=r"Feature columns \[\x27x\x27\] are not numeric"):
            long_to_sequences(few.assign(x=pd.Series(values, dtype=object)), "id", "t")
    # A Python int beyond float64 (pandas raised OverflowError).
    huge = few.assign(x=pd.Series([10**400, 1, 2], dtype=object))
    with pytest.raises(ValueError, match="a number beyond float64.s range .* Rescale it first"):
        long_to_sequences(huge, "id", "t")
    no_time = df.astype({"hour": float})
    no_time.loc[0, "hour"] = np.nan
    with pytest.raises(ValueError, match="Column 'hour' has missing values"):
        long_to_sequences(no_time, "id", "hour", target_column="label")
    with pytest.raises(ValueError, match="No feature columns"):
        long_to_sequences(df[["id", "hour", "label"]], "id", "hour", target_column="label")
    # An empty list was told to "pass feature_columns", beside other columns.
    with pytest.raises(ValueError, match="feature_columns is empty: name at least one column"):
        long_to_sequences(df, "id", "hour", feature_columns=[], target_column="label")
    with pytest.raises(ValueError, match="has no rows"):
        long_to_sequences(df.iloc[:0], "id", "hour", target_column="label")
    with pytest.raises(InvalidParameterError, match="'df' parameter"):
        long_to_sequences(df.to_numpy(), "id", "hour")


def test_long_to_sequences_missing_target_complex_features_and_column_lists():
    df = _long_frame()
    gappy = df.astype({"label": object})
    gappy.loc[gappy["id"] == "p1", "label"] = ["ill", None, "ill", "ill"]
    with pytest.raises(ValueError, match="'label' is missing on some rows of series 'p1'"):
        long_to_sequences(gappy, "id", "hour", target_column="label")
    with pytest.raises(TypeError, match=r"Feature columns \['pulse'\] hold complex numbers"):
        long_to_sequences(df.assign(pulse=df["pulse"] + 1j), "id", "hour", target_column="label")
    with pytest.raises(TypeError, match=r"id_column must be the name of one column.*\['id'\]"):
        long_to_sequences(df, ["id"], "hour", target_column="label")
    with pytest.raises(TypeError, match="target_column must be the name of one column"):
        long_to_sequences(df, "id", "hour", target_column=["label"])


def test_long_to_sequences_target_missing_on_every_row_is_an_error():
    # nunique(dropna=False) counts an all-NaN target as one value, so a series
    # without any target passed and came out with NaN as its target.
    df = _long_frame().astype({"label": object})
    df.loc[df["id"] == "p2", "label"] = np.nan
    with pytest.raises(ValueError, match="'label' is missing on every row of series 'p2'"):
        long_to_sequences(df, "id", "hour", target_column="label")


def test_long_to_sequences_repeated_column_names_are_named():
    # df["x"] is then a DataFrame, which was reported as a non-numeric column.
    df = pd.DataFrame([[1, 0, 1.0, 2.0], [1, 1, 3.0, 4.0]], columns=["id", "t", "x", "x"])
    with pytest.raises(ValueError, match=r"Column names \['x'\] are repeated.*unique"):
        long_to_sequences(df, "id", "t")
    # a repeated column that is not used is no obstacle
    X, _, _ = long_to_sequences(df.iloc[:, :3], "id", "t", feature_columns=["x"])
    assert X[0, :, 0].tolist() == [1.0, 3.0]


def test_long_to_sequences_needs_full_names_of_multiindex_columns():
    # groupby().agg().reset_index() names its keys ("id", ""): "id" in
    # df.columns held, the keys were read as features too, and pandas failed
    # on df["id"] (a KeyError, or text ids called "not numeric").
    raw = pd.DataFrame({"id": [7, 7, 7, 8, 8], "time": [0, 0, 1, 0, 1], "x": [1.0, 3, 5, 10, 20]})
    agg = raw.groupby(["id", "time"]).agg({"x": ["mean", "max"]}).reset_index()
    with pytest.raises(ValueError, match=r"\['id', 'time'\] select columns .* \('id', ''\)"):
        long_to_sequences(agg, "id", "time")
    with pytest.raises(ValueError, match=r"'x' selects \[\('x', 'mean'\), \('x', 'max'\)\]"):
        long_to_sequences(agg, ("id", ""), ("time", ""), feature_columns=["x"])
    X, _, ids = long_to_sequences(agg, ("id", ""), ("time", ""))
    np.testing.assert_array_equal(ids, [7, 8])
    np.testing.assert_array_equal(X[0], [[2.0, 3.0], [5.0, 5.0]])


def test_long_to_sequences_names_ids_and_times_that_cannot_be_grouped():
    # pandas' bare "unhashable type: 'list'".
    df = pd.DataFrame({"id": [1, 1, 2], "t": [0, 1, 0], "x": [1.0, 2.0, 3.0]})
    for column in ("id", "t"):
        bad = df.astype({column: object})
        bad.at[1, column] = [1]
        with pytest.raises(
            TypeError, match=rf"'{column}' holds \[1\] \(a list, .* position 1.*tuple\)"
        ):
            long_to_sequences(bad, "id", "t")
    bad = df.astype({"id": object})
    bad.at[1, "id"] = (1, [2])  # a tuple that cannot be hashed: no advice to make tuples
    with pytest.raises(TypeError, match=r"holds \(1, \[2\]\) \(a tuple, .*first\.$"):
        long_to_sequences(bad, "id", "t")
    # Tuples group as ids.
    X, _, ids = long_to_sequences(df.assign(id=[(1, "a"), (1, "a"), (2, "b")]), "id", "t")
    assert ids.tolist() == [(1, "a"), (2, "b")] and X[:, :, 0].tolist()[0] == [1.0, 2.0]


def test_long_to_sequences_times_that_cannot_be_ordered_are_named():
    # pandas said "'values' is not ordered, please explicitly specify the
    # categories order", naming neither the column nor the cause.
    times = [pd.Timestamp("2020-01-02"), pd.Timestamp("2020-01-03", tz="UTC")]
    df = pd.DataFrame({"id": [1, 1], "t": pd.Series(times, dtype=object), "x": [1.0, 2.0]})
    with pytest.raises(TypeError, match="time column 't' cannot be ordered.*one timezone") as info:
        long_to_sequences(df, "id", "t")
    assert isinstance(info.value.__cause__, TypeError)
    with pytest.raises(TypeError, match="id column 't' cannot be ordered"):
        long_to_sequences(df, "t", "x")


@pytest.mark.parametrize(
    "times", [["1", "10", "9"], [1, "10", "9"], pd.Categorical(["1", "10", "9"])]
)
def test_long_to_sequences_refuses_times_held_as_strings(times):
    # Sorted as text, "10" came before "9", and the rows silently out of order.
    df = pd.DataFrame({"id": [0, 0, 0], "t": times, "x": [1.0, 10.0, 9.0]})
    with pytest.raises(TypeError, match=r"time column 't' holds strings.*pd\.to_numeric"):
        long_to_sequences(df, "id", "t")
    df["t"] = pd.to_numeric(np.asarray(df["t"]))
    assert long_to_sequences(df, "id", "t")[0][0, :, 0].tolist() == [1.0, 9.0, 10.0]


@pytest.mark.parametrize(
    "times",
    [
        pd.Series([10, 1.5, 9], dtype=object),  # numbers of several types, numeric order
        [Decimal(10), 1, 9],
        pd.Categorical(["10", "1", "9"], categories=["1", "9", "10"], ordered=True),
        # Unordered, sorted by its values, not by its categories (as it was).
        pd.Categorical([10, 1, 9], categories=[10, 9, 1]),
    ],
)
def test_long_to_sequences_orders_times_that_are_not_strings(times):
    df = pd.DataFrame({"id": [0, 0, 0], "t": times, "x": [10.0, 1.0, 9.0]})
    assert long_to_sequences(df, "id", "t")[0][0, :, 0].tolist() == [1.0, 9.0, 10.0]


def test_long_to_sequences_orders_dictionary_encoded_arrow_columns_by_value():
    # Sorted by its codes (the order in which values first appear): steps out
    # of time order, and strings in a dictionary were let through.
    pa = pytest.importorskip("pyarrow")

    def encoded(values):
        return pd.array(
            pa.array(values).dictionary_encode(),
            dtype=pd.ArrowDtype(pa.dictionary(pa.int32(), pa.array(values).type)),
        )

    df = pd.DataFrame(
        {"id": encoded(["b", "b", "a", "a", "a"]), "t": encoded([10, 9, 11, 2, 100])}
    ).assign(x=[5.0, 4.0, 3.0, 1.0, 2.0])
    X, _, ids = long_to_sequences(df, "id", "t")
    np.testing.assert_array_equal(X[:, :, 0], [[1.0, 3.0, 2.0], [4.0, 5.0, np.nan]])
    assert ids.tolist() == ["a", "b"]
    df["t"] = encoded(["1", "0", "2", "10", "9"])
    with pytest.raises(TypeError, match=r"time column 't' holds strings.*pd\.to_numeric"):
        long_to_sequences(df, "id", "t")
    # An ordered dictionary (an ordered categorical through parquet) sorts in
    # its own order, as the ordered categorical does.
    order = pa.array(["early", "mid", "late"])
    codes = pa.array([1, 0, 2, 0, 1], pa.int8())  # b: mid, early; a: late, early, mid
    df["t"] = pd.array(
        pa.DictionaryArray.from_arrays(codes, order, ordered=True),
        dtype=pd.ArrowDtype(pa.dictionary(pa.int8(), pa.string(), ordered=True)),
    )
    np.testing.assert_array_equal(
        long_to_sequences(df, "id", "t")[0][:, :, 0], [[1.0, 2.0, 3.0], [4.0, 5.0, np.nan]]
    )


def test_long_to_sequences_orders_unordered_categorical_ids_by_value():
    # They came out in the categories' order ("c", "b", "a"), where the
    # docstring promises the sorted order of the ids; an ordered one keeps its.
    categories = ["c", "b", "a"]
    df = pd.DataFrame({"id": pd.Categorical(["b", "a", "c"], categories=categories)})
    df = df.assign(time=0, v=[1.0, 2.0, 3.0])
    X, _, ids = long_to_sequences(df, "id", "time")
    assert ids.tolist() == ["a", "b", "c"] and X[:, 0, 0].tolist() == [2.0, 1.0, 3.0]
    df["id"] = df["id"].cat.as_ordered()
    assert long_to_sequences(df, "id", "time")[2].tolist() == categories


@pytest.mark.parametrize("dtype", ["bool", "boolean", "bool[pyarrow]"])
def test_long_to_sequences_reads_bool_features_as_numbers(dtype):
    # pandas does not call arrow's bools numeric: they were refused as such.
    if "pyarrow" in dtype:
        pytest.importorskip("pyarrow")
    df = pd.DataFrame({"id": [0, 0, 1], "t": [0, 1, 0]})
    df["on"] = pd.Series([True, False, True], dtype=dtype)
    X = long_to_sequences(df, "id", "t")[0]
    np.testing.assert_array_equal(X[:, :, 0], [[1.0, 0.0], [1.0, np.nan]])


def test_long_to_sequences_names_the_fix_for_an_unordered_categorical_time():
    # Its message said "sort as text", though pandas sorts it by its categories.
    times = pd.Categorical(["late", "early", "mid"], categories=["early", "mid", "late"])
    df = pd.DataFrame({"id": [0, 0, 0], "t": times, "x": [3.0, 1.0, 2.0]})
    match = r"unordered categorical: .* \(early, mid, late\).*df\['t'\]\.cat\.as_ordered\(\)"
    with pytest.raises(TypeError, match=match):
        long_to_sequences(df, "id", "t")
    df["t"] = df["t"].cat.as_ordered()
    assert long_to_sequences(df, "id", "t")[0][0, :, 0].tolist() == [1.0, 2.0, 3.0]


def test_long_to_sequences_refuses_keys_and_repeats_among_the_features():
    # The id or time went into X as a feature, and a repeated name twice.
    df = pd.DataFrame({"id": [0, 0], "t": [0, 1], "x": [1.0, 2.0]})
    with pytest.raises(ValueError, match=r"feature_columns holds \['t'\], the id or time column"):
        long_to_sequences(df, "id", "t", feature_columns=["t", "x"])
    with pytest.raises(ValueError, match=r"feature_columns names \['x'\] more than once"):
        long_to_sequences(df, "id", "t", feature_columns=["x", "x"])
    # Messages show plain values, not numpy's reprs (np.int64(0)).
    twice = pd.DataFrame({"id": np.array([7, 7]), "t": [0, 0], "x": [1.0, 2.0]})
    with pytest.raises(ValueError, match=r"^Series 7 has more than one row at time 0;"):
        long_to_sequences(twice, "id", "t")


def test_long_to_sequences_refuses_the_target_among_the_features():
    df = pd.DataFrame({"id": [0, 0], "t": [0, 1], "x": [1.0, 2.0], "y": [1.0, 1.0]})
    with pytest.raises(ValueError, match="target column 'y' is also in feature_columns"):
        long_to_sequences(df, "id", "t", feature_columns=["x", "y"], target_column="y")


def test_long_to_sequences_key_columns_are_different():
    # The same column as id and time was reported as a repeated (id, time) pair.
    df = pd.DataFrame({"id": [0, 1], "x": [1.0, 2.0]})
    with pytest.raises(ValueError, match=r"must be different columns, got \['id', 'id'\]"):
        long_to_sequences(df, "id", "id")


def test_long_to_sequences_reads_a_column_that_is_also_an_index_level():
    # set_index("id", drop=False): pandas' sort refused the name as ambiguous.
    df = _long_frame()
    expected = long_to_sequences(df, "id", "hour", target_column="label")
    for indexed in (df.set_index("id", drop=False), df.set_index(["id", "hour"], drop=False)):
        for got, want in zip(
            long_to_sequences(indexed, "id", "hour", target_column="label"), expected, strict=True
        ):
            np.testing.assert_array_equal(got, want)


def test_long_to_sequences_refuses_none_as_the_id_or_time_column():
    # None named the unnamed index, and the message listed an 'index' column.
    df = _long_frame()
    with pytest.raises(TypeError, match="id_column must be the name of one column of df, got t"):
        long_to_sequences(df, None, "hour")
    with pytest.raises(TypeError, match="time_column must be the name of one column of df, got"):
        long_to_sequences(df.set_index("hour"), "id", None)


def test_long_to_sequences_refuses_infinite_features():
    df = pd.DataFrame({"id": [0, 0, 1], "t": [0, 1, 0], "x": [1.0, 2.0, -np.inf]})
    with pytest.raises(ValueError, match="hold infinity .* row position 2, id 1"):
        long_to_sequences(df, "id", "t")


# -- make_windows -----------------------------------------------------------


def test_make_windows_univariate():
    X, y = make_windows(np.arange(10.0), window=4)
    assert X.shape == (6, 4, 1) and y.shape == (6,)
    np.testing.assert_array_equal(X[:, :, 0], np.arange(4)[None, :] + np.arange(6)[:, None])
    np.testing.assert_array_equal(y, np.arange(4, 10))
    X, y = make_windows(pd.Series(np.arange(10.0)), window=4, horizon=3)
    assert y.shape == (4, 3)
    np.testing.assert_array_equal(y, np.arange(3)[None, :] + np.arange(4, 8)[:, None])


def test_make_windows_step_is_anchored_at_the_end():
    X, y = make_windows(np.arange(10.0), window=3, horizon=2, step=3)
    # the last window's targets are the series' last values
    np.testing.assert_array_equal(y[-1], [8, 9])
    np.testing.assert_array_equal(X[:, 0, 0], [2, 5])
    # windows come out in time order
    assert (np.diff(X[:, 0, 0]) == 3).all()


def test_make_windows_never_crosses_series():
    series = [np.arange(7.0), 100 + np.arange(5.0), 200 + np.arange(9.0)]
    X, y = make_windows(series, window=3, horizon=2)
    assert len(X) == (7 - 4) + (5 - 4) + (9 - 4)
    for window, target in zip(X[:, :, 0], y, strict=True):
        values = np.concatenate([window, target])
        # one series: values are consecutive integers in the same hundred
        assert (np.diff(values) == 1).all()
        assert len(set(values // 100)) == 1


def test_make_windows_multivariate_targets():
    a = np.stack([np.arange(8.0), 10 * np.arange(8.0)], axis=1)
    X, y = make_windows(a, window=3, horizon=2)
    assert X.shape == (4, 3, 2)
    # step-major, then feature: [t+1 f0, t+1 f1, t+2 f0, t+2 f1]
    np.testing.assert_array_equal(y[0], [3, 30, 4, 40])
    X1, y1 = make_windows(a, window=3, horizon=2, target=1)
    np.testing.assert_array_equal(X1, X)
    np.testing.assert_array_equal(y1[0], [30, 40])
    df = pd.DataFrame(a, columns=["temp", "hum"])
    _, y_named = make_windows(df, window=3, target="hum")
    np.testing.assert_array_equal(y_named, 10 * np.arange(3, 8))
    _, y_list = make_windows([df, df], window=3, target=["hum", 0])
    assert y_list.shape == (10, 2)
    np.testing.assert_array_equal(y_list[0], [30, 3])


def test_make_windows_matches_dataframe_columns_by_name():
    s = np.arange(10.0)
    a = pd.DataFrame({"a": s, "b": -s})
    swapped = pd.DataFrame({"b": -s, "a": s})
    X, y = make_windows([a, swapped], window=2, target="a")
    X_same, y_same = make_windows([a, a], window=2, target="a")
    np.testing.assert_array_equal(X, X_same)
    np.testing.assert_array_equal(y[-2:], [8.0, 9.0])
    with pytest.raises(ValueError, match=r"series\[1\] does not have the columns of series\[0\]"):
        make_windows([pd.DataFrame({"a": s}), pd.DataFrame({"zzz": -s})], window=2, target="a")
    with pytest.raises(ValueError, match=r"missing \['b'\], extra \['c'\]"):
        make_windows([a, pd.DataFrame({"a": s, "c": s})], window=2)
    # An array's columns have no names to match: mixed with DataFrames, its
    # features could be read in another order.
    with pytest.raises(TypeError, match=r"series\[1\] is a DataFrame but series\[0\] is a nd"):
        make_windows([swapped.to_numpy(), a], window=2, target="a")
    # With one column there is nothing to mix up.
    X, _ = make_windows([pd.DataFrame({"a": s}), pd.Series(s, name="a")], window=2)
    assert X.shape == (16, 2, 1)


def test_make_windows_names_windows_beyond_memory():
    # 5e6 windows of 5e6 steps: 182 TiB, beyond any address space, so the
    # allocation fails at once (it was numpy's bare "Unable to allocate").
    with pytest.raises(MemoryError, match=r"shape \(5000000, 5000000, 1\).*a larger step"):
        make_windows(np.zeros(10**7), 5 * 10**6)


def test_make_windows_names_an_item_of_a_list_that_is_no_series():
    # numpy's "inhomogeneous shape" error: the list was read as one series.
    for item, shown in ((None, "None"), (3.0, "3.0")):
        with pytest.raises(
            TypeError, match=rf"series\[1\] is {shown}, not a series, while series\[0\]"
        ):
            make_windows([np.arange(6.0), item], 2)


def test_repeated_column_names_are_named_with_the_fix():
    # narwhals' DuplicateError (through scikit-learn's feature names) named
    # the duplicates but not the fix; make_windows read on.
    df = pd.DataFrame(np.arange(12.0).reshape(4, 3), columns=["a", "a", "b"])
    message = r"X has the column names \['a'\] more than once.*rename or drop"
    for transformer in (WideToSequence(n_features=1), SequenceScaler()):
        with pytest.raises(ValueError, match=message):
            transformer.fit(df)
    with pytest.raises(ValueError, match=message):
        RNNClassifier().fit(df, [0, 1, 0, 1])
    with pytest.raises(ValueError, match=message.replace("X", "series")):
        make_windows(df, 2)


def test_make_windows_errors():
    with pytest.raises(ValueError, match=r"series\[1\] has 3 steps, fewer than window \+ hori"):
        make_windows([np.arange(10.0), np.arange(3.0)], window=3)
    # numpy ints summed in int64 wrapped around: a "MemoryError" of negative shape.
    with pytest.raises(ValueError, match="fewer than window \\+ horizon = 9223372036854775808"):
        make_windows(np.arange(6.0), window=np.int64(2**63 - 1), horizon=np.int64(1))
    # An empty series got scikit-learn's "Found array with 0 sample(s)".
    for empty, name in [(np.array([]), "series"), ([np.arange(4.0), []], r"series\[1\]")]:
        with pytest.raises(ValueError, match=f"^{name} has 0 steps, fewer than window"):
            make_windows(empty, window=1)
    with pytest.raises(ValueError, match="same number of features"):
        make_windows([np.zeros((6, 2)), np.zeros((6, 3))], window=3)
    with pytest.raises(ValueError, match=r"series has NaN at step 1 \(1 missing.*interpolate"):
        make_windows(np.array([1.0, np.nan, 3.0, 4.0]), window=2)
    two = np.ones((5, 2))
    two[3, 1] = np.nan
    with pytest.raises(ValueError, match=r"series\[1\] has NaN at step 3, feature 1"):
        make_windows([np.ones((5, 2)), two], window=2)
    with pytest.raises(ValueError, match="target 'rain' is neither"):
        make_windows(np.zeros((6, 2)), window=3, target="rain")
    with pytest.raises(ValueError, match="target 2 is out of range"):
        make_windows(np.zeros((6, 2)), window=3, target=2)
    with pytest.raises(ValueError, match="has 3 dimensions"):
        make_windows(np.zeros((6, 2, 2)), window=3)
    with pytest.raises(InvalidParameterError, match="'window' parameter"):
        make_windows(np.arange(10.0), window=0)
    with pytest.raises(InvalidParameterError, match="'horizon' parameter"):
        make_windows(np.arange(10.0), window=2, horizon=0)
    for name in ["window", "horizon", "step"]:
        with pytest.raises(TypeError, match=f"'{name}' parameter of make_windows must be an int"):
            make_windows(np.arange(10.0), **{"window": 2, name: True})
    with pytest.raises(TypeError, match="Column 't' of series holds dates or times"):
        make_windows(pd.DataFrame({"t": pd.date_range("2024-01-01", periods=6)}), window=2)


def test_make_windows_warns_of_an_array_of_series_a_row_each():
    # Rows are times: 5 series of 100 steps became 100 features of 5 steps.
    series = np.random.RandomState(0).normal(size=(5, 100))
    with pytest.warns(UserWarning, match=r"fewer time steps \(5 rows\) .*list\(series\)") as w:
        make_windows(series, window=2)
    assert w[0].filename == __file__
    assert make_windows(list(series), window=2)[0].shape == (490, 2, 1)
    with warnings.catch_warnings():  # a table's named columns are features
        warnings.simplefilter("error")
        make_windows(pd.DataFrame(series), window=2)
        make_windows(series.T, window=2)


def test_make_windows_refuses_a_time_index_that_does_not_strictly_increase():
    # A newest-first series was windowed in row order: it forecast the past;
    # a long table of several stores by date was windowed as one series.
    days = pd.Series(np.arange(8.0), index=pd.date_range("2024-01-01", periods=8))
    months = pd.DataFrame(
        {"v": np.arange(8.0)}, index=pd.period_range("2024-01", periods=8, freq="M")
    )
    np.testing.assert_array_equal(make_windows(days, window=3)[1], np.arange(3.0, 8.0))
    stores = pd.Series(np.arange(8.0), index=pd.date_range("2024-01-01", periods=4).repeat(2))
    hours = pd.Series(np.arange(8.0), index=pd.to_timedelta(np.arange(8)[::-1], unit="h"))
    cases = [(days[::-1], "series"), ([days, months.iloc[::-1]], r"series\[1\]")]
    cases += [(stores, "series"), (hours, "series")]
    # Python's dates in an object index (a groupby on .dt.date's) escaped it.
    dates = days.set_axis(pd.Index(days.index.date, dtype=object))
    np.testing.assert_array_equal(make_windows(dates, window=3)[1], np.arange(3.0, 8.0))
    cases += [(dates[::-1], "series"), (dates.iloc[[0, 1, 1, 2]], "series")]
    # Categories of dates compared in the categories' order: newest first passed.
    categories = days.set_axis(pd.CategoricalIndex(days.index))
    np.testing.assert_array_equal(make_windows(categories, window=3)[1], np.arange(3.0, 8.0))
    cases += [(categories[::-1], "series")]
    for series, name in cases:
        with pytest.raises(
            ValueError,
            match=rf"^{name} has a time index \(\w+.*\) that does not strictly increase.*sort",
        ):
            make_windows(series, window=3)


@pytest.mark.parametrize("freq", ["M", "2M", "Q-DEC", "W-SUN", "h"])
def test_make_windows_refuses_a_period_index_that_misses_periods(freq):
    # Windowed across the gap: the target of [Jan, Feb, Mar] was September's.
    periods = pd.period_range("2020-01-01", periods=9, freq=freq)
    series = pd.Series(np.arange(6.0), index=periods.delete([3, 4, 5]))
    expected = (
        rf"^series\[1\] misses 3 periods of its PeriodIndex, the first after "
        rf"{re.escape(str(periods[2]))}: .*series\[1\]\.resample\('{re.escape(periods.freqstr)}'\)"
    )
    with pytest.raises(ValueError, match=expected):
        make_windows([series.iloc[:3], series], window=2)
    with pytest.raises(ValueError, match="misses 1 period of"):
        make_windows(pd.Series(np.arange(3.0), index=periods[[0, 1, 3]]), window=1)
    # The fix the message gives: the gap's windows then hold its filled values.
    filled = series.resample(periods.freqstr).asfreq().interpolate()
    X, y = make_windows(filled, window=3)
    np.testing.assert_array_equal(X[0, :, 0], [0.0, 1.0, 2.0])
    np.testing.assert_array_equal(y, [2.25, 2.5, 2.75, 3.0, 4.0, 5.0])


def test_make_windows_refuses_an_arrow_time_index_that_does_not_strictly_increase():
    # An index of arrow timestamps (read_parquet(dtype_backend="pyarrow")) is
    # a plain pandas Index: it escaped the check, and forecast the past.
    pytest.importorskip("pyarrow")
    days = pd.Series(np.arange(4.0), index=pd.date_range("2024-01-01", periods=4))
    for dtype in ("timestamp[ns][pyarrow]", "date32[pyarrow]"):
        series = days.set_axis(days.index.astype(dtype))
        np.testing.assert_array_equal(make_windows(series, window=2)[1], [2.0, 3.0])
        for bad in (series.iloc[::-1], series.iloc[[0, 0, 1, 2]]):
            with pytest.raises(ValueError, match=r"time index \(.*pyarrow\]\) that does not"):
                make_windows(bad, window=2)
    hours = pd.Series(np.arange(4.0), index=pd.to_timedelta([3, 2, 1, 0], unit="h"))
    with pytest.raises(ValueError, match=r"time index \(duration\[ns\]\[pyarrow\]\)"):
        make_windows(hours.set_axis(hours.index.astype("duration[ns][pyarrow]")), window=2)


def test_make_windows_refuses_several_series_in_a_multiindex():
    # Rows by (store, date) were windowed in row order: windows crossed from
    # one store into the next ([4, 5, 100] forecast 200), whatever the order.
    index = pd.MultiIndex.from_product(
        [["a", "b"], pd.date_range("2024-01-01", periods=5)], names=["store", "date"]
    )
    sales = pd.DataFrame({"sales": [1.0, 2, 3, 4, 5, 100, 200, 300, 400, 500]}, index=index)
    message = r"^series has a MultiIndex \(levels \['store', 'date'\]\).*groupby\(level='store'\)"
    with pytest.raises(ValueError, match=message):
        make_windows(sales, window=3)
    with pytest.raises(ValueError, match=message.replace("series", r"series\[0\]", 1)):
        make_windows([sales["sales"], sales], window=3)
    # The fix the message gives windows each store alone.
    parts = [part.droplevel(0) for _, part in sales.groupby(level="store")]
    X, y = make_windows(parts, window=3)
    np.testing.assert_array_equal(y, [4, 5, 400, 500])
    np.testing.assert_array_equal(X[2, :, 0], [100, 200, 300])
    # Another index says nothing of time: the rows' order is the series'.
    make_windows(pd.Series(np.arange(8.0), index=np.arange(8)[::-1]), window=3)


def test_make_windows_names_a_target_of_several_columns():
    # A MultiIndex level matched a slice of columns: TypeError deep inside.
    columns = pd.MultiIndex.from_tuples([("x", "a"), ("x", "b")])
    df = pd.DataFrame(np.arange(20.0).reshape(10, 2), columns=columns)
    with pytest.raises(ValueError, match=r"target 'x' names 2 columns.*target=\('x', 'a'\)"):
        make_windows(df, 2, target="x")
    np.testing.assert_array_equal(make_windows(df, 2, target=("x", "b"))[1][:2], [5.0, 7.0])


def test_make_windows_integer_targets_are_positions_on_dataframes():
    # As in scikit-learn's ColumnTransformer, an integer is a position even
    # when the column names are integers; the error for one out of range says
    # so and lists the names.
    df = pd.DataFrame({1: np.arange(5.0), 0: 10 * np.arange(5.0)})
    _, y = make_windows(df, window=2, target=1)
    np.testing.assert_array_equal(y, [20.0, 30.0, 40.0])  # the column at position 1
    _, y = make_windows(df, window=2, target=np.int64(0))
    np.testing.assert_array_equal(y, [2.0, 3.0, 4.0])
    named = pd.DataFrame({3: np.arange(5.0), 5: 10 * np.arange(5.0)})
    with pytest.raises(
        ValueError, match=r"target 5 is out of range.*a position along the feature axis.*\[3, 5\]"
    ):
        make_windows(named, window=2, target=5)


def test_make_windows_array_target_is_a_type_error():
    df = pd.DataFrame({"a": np.arange(6.0), "b": 10 * np.arange(6.0)})
    with pytest.raises(TypeError, match=r"target must be .* got ndarray.*\.tolist\(\)"):
        make_windows(df, window=2, target=np.array([1]))
    with pytest.raises(TypeError, match=r"target must be .* got ndarray"):
        make_windows(np.zeros((6, 2)), window=2, target=[np.array(1)])
    _, y = make_windows(df, window=2, target=np.array([1]).tolist())
    np.testing.assert_array_equal(y, [20.0, 30.0, 40.0, 50.0])


def test_make_windows_reads_a_nested_list_as_a_list_of_series():
    # Documented: a list is a list of series, so one multivariate series
    # written as nested lists needs np.asarray.
    rows = [[1.0, 10, 100], [2.0, 20, 200], [3.0, 30, 300]]
    X, y = make_windows(rows, window=2)
    assert X.shape == (3, 2, 1)
    np.testing.assert_array_equal(y, [100.0, 200.0, 300.0])
    X, y = make_windows(np.asarray(rows), window=2)
    assert X.shape == (1, 2, 3)
    np.testing.assert_array_equal(y, [[3.0, 30.0, 300.0]])


def test_sequence_scaler_scales_features_of_tiny_values():
    # A spread below 10 * eps was taken for a constant feature, whatever the
    # values' own size: features of values near 1e-20 were left unscaled.
    X = np.random.RandomState(0).normal(size=(5, 8)) * 1e-20
    scaler = SequenceScaler().fit(X)
    assert scaler.scale_[0] == pytest.approx(X.std(), rel=1e-9)
    assert SequenceScaler().fit(np.full((3, 4), 1e-20)).scale_.tolist() == [1.0]


def test_set_output_works_on_a_pipeline_of_sequence_transformers():
    # Both transformers lacked set_output, so a pipeline holding them could not
    # be set to pandas output at all; their 3D output stays an array.
    X = np.random.RandomState(0).normal(size=(20, 6))
    pipe = make_pipeline(
        WideToSequence(n_features=2),
        SequenceScaler(),
        RNNClassifier(max_epochs=2, hidden_size=3, conv_channels=2, kernel_features=0),
    )
    pipe.set_output(transform="pandas").fit(X, [0, 1] * 10)
    assert isinstance(pipe.transform(X), pd.DataFrame)
    assert isinstance(pipe[:2].transform(X), np.ndarray)
    with pytest.raises(ValueError, match="transform must be 'default', 'pandas', 'polars'"):
        SequenceScaler().set_output(transform="arrow")


def test_sequence_scaler_of_a_table_is_named_in_a_column_transformer():
    # Its 2D output stayed an array, and it had no get_feature_names_out:
    # a ColumnTransformer lost every column name (the passthrough's too), and
    # its get_feature_names_out raised AttributeError.
    columns = [f"{f}_t{t}" for f in "ab" for t in range(4)]
    df = pd.DataFrame(np.arange(40.0).reshape(5, 8), columns=columns, index=list("vwxyz"))
    steps = ColumnTransformer(
        [("a", SequenceScaler(), columns[:4]), ("b", "passthrough", columns[4:])]
    )
    out = steps.set_output(transform="pandas").fit_transform(df)
    expected = [f"a__{c}" for c in columns[:4]] + [f"b__{c}" for c in columns[4:]]
    assert out.columns.tolist() == expected == steps.get_feature_names_out().tolist()
    scaled = SequenceScaler().fit(df[columns[:4]]).transform(df[columns[:4]])
    np.testing.assert_array_equal(out.iloc[:, :4], scaled)
    assert out.index.tolist() == list("vwxyz")
    # Sequences stay arrays, their feature axis named; so does a table given
    # to a scaler of sequences (its names are the features', not its columns').
    X3 = np.zeros((3, 4, 2))
    scaler = clone(SequenceScaler().set_output(transform="pandas")).fit(X3)
    assert isinstance(scaler.transform(X3), np.ndarray)
    assert scaler.get_feature_names_out().tolist() == ["x0", "x1"]
    one = SequenceScaler().set_output(transform="pandas").fit(X3[:, :, :1])
    assert isinstance(one.transform(X3[:, :, 0]), np.ndarray)
    # Its own output read back warns of no names (fitted on an array, it got
    # x0 .. x3; fitted on a DataFrame, the DataFrame's).
    for table in (df, df.to_numpy()):
        scaler = SequenceScaler().set_output(transform="pandas").fit(table)
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            np.testing.assert_allclose(scaler.inverse_transform(scaler.transform(table)), table)


def test_sequence_scaler_of_a_table_gives_polars_output():
    polars = pytest.importorskip("polars")
    df = pd.DataFrame(np.arange(12.0).reshape(3, 4), columns=["t0", "t1", "t2", "t3"])
    scaler = SequenceScaler().set_output(transform="polars").fit(df)
    out = scaler.transform(df)
    assert isinstance(out, polars.DataFrame) and out.columns == df.columns.tolist()
    np.testing.assert_array_equal(out.to_numpy(), SequenceScaler().fit(df).transform(df))


def test_inverse_transform_of_no_sequences_is_named():
    wide = WideToSequence(n_features=2).fit(np.zeros((3, 4)))
    with pytest.raises(ValueError, match=r"expects sequences, an array of shape \(n_samples, 2, 2"):
        wide.inverse_transform(None)
    # Sequences of different lengths failed in numpy's "inhomogeneous shape".
    with pytest.raises(ValueError, match=r"shape \(n_samples, 2, 2\), got sequences of differe"):
        wide.inverse_transform([np.zeros((2, 2)), np.zeros((1, 2))])


def test_wide_to_sequence_refuses_n_features_changed_since_fit():
    # transform reshaped to the new n_features and the fitted n_timesteps_:
    # numpy's "cannot reshape array of size 40 into shape (5,4,4)".
    wide = WideToSequence(n_features=2).fit(np.zeros((5, 8))).set_params(n_features=4)
    for method, X in [("transform", np.zeros((5, 8))), ("inverse_transform", np.zeros((5, 4, 2)))]:
        with pytest.raises(ValueError, match="n_features is 4, but .* fitted with n_features=2"):
            getattr(wide, method)(X)


@pytest.mark.parametrize("shape", [(7, 13), (40, 30)])
def test_sequence_scaler_a_constant_feature_with_rounding_noise_keeps_scale_1(shape):
    # 0.1 repeated beside another feature has a computed spread of 1.4e-17
    # over 91 values, 2.1e-15 over 1,200 (the sums' rounding grows with their
    # length; 2.1e-15 was taken for a spread): dividing by it turned a
    # constant feature into values of size 1, and 0.2 into 5e13.
    X = np.random.RandomState(0).normal(size=(*shape, 2))
    X[:, :, 1] = 0.1
    scaler = SequenceScaler().fit(X)
    assert scaler.scale_[1] == 1.0
    np.testing.assert_allclose(scaler.transform(X)[:, :, 1], 0.0, atol=1e-14)
    assert SequenceScaler(with_mean=False).fit(X).scale_[1] == 1.0


def test_make_windows_negative_targets_count_from_the_last_feature():
    series = np.arange(30.0).reshape(10, 3)
    for negative, position in [(-1, 2), (-3, 0), ([-1, 0], [2, 0])]:
        X, y = make_windows(series, window=3, horizon=2, target=negative)
        np.testing.assert_array_equal(
            y, make_windows(series, window=3, horizon=2, target=position)[1]
        )
