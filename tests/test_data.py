"""Input conversion: padding, lengths, truncation (sklrnn._data), and batching."""

import tracemalloc
from unittest import mock

import numpy as np
import pandas as pd
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays
from sklearn.utils._param_validation import InvalidParameterError

from sklrnn import RNNRegressor, SequenceScaler, pad_sequences
from sklrnn._data import _check_ragged, to_padded, truncate
from sklrnn._training import BatchIterator, SequenceDataset

finite = st.floats(-1e6, 1e6, allow_nan=False, allow_infinity=False, width=32)


@st.composite
def ragged_sequences(draw):
    n_features = draw(st.integers(1, 3))
    lengths = draw(st.lists(st.integers(1, 12), min_size=1, max_size=6))
    return [draw(arrays(np.float64, (L, n_features), elements=finite)) for L in lengths]


@settings(max_examples=200, deadline=None)
@given(ragged_sequences())
def test_to_padded_recovers_every_sequence(seqs):
    X3d, lengths = to_padded(seqs)
    assert X3d.dtype == np.float32 and lengths.dtype == np.int64
    assert lengths.tolist() == [len(s) for s in seqs]
    for row, seq in zip(X3d, seqs, strict=True):
        np.testing.assert_array_equal(row[: len(seq)], seq.astype(np.float32))
        assert not row[len(seq) :].any()  # zeros past the end
    # The same data through NaN padding gives the same result.
    X_nan, lengths_nan = to_padded(pad_sequences(seqs))
    np.testing.assert_array_equal(X_nan, X3d)
    np.testing.assert_array_equal(lengths_nan, lengths)


@st.composite
def any_arrays(draw):
    dtype = np.dtype(draw(st.sampled_from(["?", "i1", "i8", "u8", "f2", "f4", "f8", "c16", "U3"])))
    shape = draw(st.lists(st.integers(0, 3), min_size=1, max_size=3).map(tuple))
    special = st.sampled_from([0.0, -1.5, np.nan, np.inf, -np.inf, 6e4])  # 6e4: float16's range
    elements = special if dtype.kind == "f" else None
    return draw(arrays(dtype, shape, elements=elements))


# scikit-learn's finite check sums float16 infinities of both signs to NaN.
@pytest.mark.filterwarnings("ignore:invalid value encountered:RuntimeWarning")
@settings(max_examples=300, deadline=None)
@given(any_arrays(), st.sampled_from(["array", "list", "frame"]))
def test_a_sequence_of_a_list_is_checked_as_check_array_checks_it(seq, form):
    # Plain arrays, lists of numbers and DataFrames of numbers skip
    # scikit-learn's check_array (_plain_numbers): the result, or the error,
    # must be the same.
    if form == "list":
        seq = seq.tolist()
    elif form == "frame" and seq.ndim <= 2:
        seq = pd.DataFrame(seq)
    _check_as_check_array_does(seq)


@pytest.mark.parametrize(
    "columns",
    [
        {"a": [1, 2, 3], "b": [0.5, np.nan, 1.0]},
        {"a": [True, False, True], "b": [0.5, 1.5, 2.5]},
        {"a": [1.0, 2.0, 3.0], "b": ["x", "y", "z"]},
        {"a": [1.0, 2.0, 3.0], "b": pd.to_datetime([0, 1, 2], unit="D")},
        {"a": pd.array([1, None, 3], dtype="Int64"), "b": [0.5, 1.5, 2.5]},
        {"a": pd.Categorical([1, 2, 1]), "b": [0.5, 1.5, 2.5]},
        {"a": [1.0, np.inf, 3.0], "b": np.arange(3, dtype=np.uint8)},
        {"a": [1.0, 2.0, 3.0], "b": [4.0, 5.0, 6.0], "c": [7.0, 8.0, 9.0]},
        {"a": pd.arrays.SparseArray([0.0, 1.0, 0.0]), "b": [0.5, 1.5, 2.5]},
    ],
)
def test_a_dataframe_of_a_list_is_checked_as_check_array_checks_it(columns):
    frame = pd.DataFrame(columns)
    _check_as_check_array_does(frame)
    if frame.shape[1] == 3:  # repeated names: check_array's message
        _check_as_check_array_does(frame.set_axis(["a", "a", "b"], axis=1))


def _check_as_check_array_does(seq):
    def outcome():
        try:
            return _check_ragged([seq], "X")[0]
        except (TypeError, ValueError) as exc:
            return f"{type(exc).__name__}: {exc}"

    fast = outcome()
    with mock.patch("sklrnn._data._plain_numbers", return_value=None):
        through_check_array = outcome()
    if isinstance(through_check_array, str):
        assert fast == through_check_array
    else:
        assert fast.dtype == through_check_array.dtype == np.float64
        np.testing.assert_array_equal(fast, through_check_array)


@settings(max_examples=200, deadline=None)
@given(ragged_sequences(), st.integers(1, 12))
def test_truncate_keeps_the_most_recent_steps(seqs, max_length):
    X3d, lengths = to_padded(seqs)
    out, new_lengths = truncate(X3d, lengths, max_length)
    assert out.shape[1] == min(X3d.shape[1], max_length)
    for row, L, seq in zip(out, new_lengths, seqs, strict=True):
        kept = seq[-max_length:].astype(np.float32)
        assert L == len(kept)
        np.testing.assert_array_equal(row[:L], kept)
        assert not row[L:].any()


@settings(max_examples=200, deadline=None)
@given(ragged_sequences(), st.lists(st.integers(0, 3), min_size=6, max_size=6), st.integers(1, 12))
def test_a_list_is_cut_to_max_length_as_an_array_is(seqs, n_nan, max_length):
    # Trailing all-NaN steps of a sequence in a list are padding too.
    n_features = seqs[0].shape[1]
    seqs = [
        np.vstack([s, np.full((k, n_features), np.nan)])
        for s, k in zip(seqs, n_nan[: len(seqs)], strict=True)
    ]
    out, lengths = to_padded(seqs, max_length=max_length)
    expected, expected_lengths = to_padded(pad_sequences(seqs), max_length=max_length)
    np.testing.assert_array_equal(lengths, expected_lengths)
    np.testing.assert_array_equal(out, expected)


def test_a_list_is_padded_without_a_float64_copy():
    # 200 sequences of 10 steps and one of 50,000: the float32 result takes
    # 40 MB. Padding the list in float64 first took 3.5 times that.
    seqs = [np.ones(10)] * 200 + [np.ones(50_000)]
    tracemalloc.start()
    try:
        X3d, lengths = to_padded(seqs)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert X3d.shape == (201, 50_000, 1) and lengths[-1] == 50_000
    assert peak < 1.5 * X3d.nbytes


def test_two_and_three_dimensional_inputs():
    X3d, lengths = to_padded(np.arange(6.0).reshape(2, 3))
    assert X3d.shape == (2, 3, 1) and lengths.tolist() == [3, 3]
    X3d, lengths = to_padded(np.ones((2, 4, 5)))
    assert X3d.shape == (2, 4, 5) and lengths.tolist() == [4, 4]


def test_trailing_nan_is_padding_only_at_the_end():
    X = np.ones((2, 4, 2))
    X[0, 2:] = np.nan
    _, lengths = to_padded(X)
    assert lengths.tolist() == [2, 4]
    X[1, 1, 0] = np.nan  # one feature missing inside a sequence
    with pytest.raises(ValueError, match=r"NaN at sample 1, time step 1, feature 0"):
        to_padded(X)
    X = np.ones((2, 4))
    X[1] = np.nan
    with pytest.raises(ValueError, match=r"NaN in every step of sample 1 \(a sequence of lengt"):
        to_padded(X)


def test_pad_sequences_truncates_and_fills():
    out = pad_sequences([[1.0, 2.0, 3.0], [4.0]], max_length=2, fill_value=0.0)
    np.testing.assert_array_equal(out[:, :, 0], [[2.0, 3.0], [4.0, 0.0]])
    # Trailing NaN is padding: truncation keeps the last valid steps (it kept
    # the padding and dropped the steps), as the estimators' max_length does.
    padded = pad_sequences([[1.0, 2.0, 3.0, np.nan, np.nan], [4.0, 5.0]], max_length=2)
    np.testing.assert_array_equal(padded[:, :, 0], [[2.0, 3.0], [4.0, 5.0]])
    X = pad_sequences([np.arange(7.0), np.r_[np.arange(4.0), [np.nan] * 3]])
    X3, lengths = to_padded(list(X), max_length=3)
    np.testing.assert_array_equal(pad_sequences(list(X), max_length=3), X3)
    assert lengths.tolist() == [3, 3]
    with pytest.raises(ValueError, match=r"same number of features; got \[2, 3\].*seq\.T"):
        pad_sequences([np.ones((2, 2)), np.ones((2, 3))])
    with pytest.raises(ValueError, match="at least one sequence"):
        pad_sequences([])


@pytest.mark.parametrize(
    "kwargs, match",
    [
        (dict(max_length=-1), "'max_length' parameter of pad_sequences must be an int in the"),
        (dict(max_length="a"), "'max_length' parameter .* Got 'a'"),
        (dict(max_length=1.7), "'max_length' parameter .* Got 1.7"),
        (dict(fill_value="x"), "'fill_value' parameter of pad_sequences"),
        (dict(sequences=None), "'sequences' parameter of pad_sequences must be an array-like"),
    ],
)
def test_pad_sequences_parameters_are_validated(kwargs, match):
    kwargs = {"sequences": [[1.0, 2.0], [3.0]], **kwargs}
    with pytest.raises(InvalidParameterError, match=match):
        pad_sequences(**kwargs)


def test_dataframes_whose_time_index_does_not_increase_are_refused():
    # Their rows were read in row order: a groupby part of an unsorted table
    # was predicted as another sequence, without a word.
    days = pd.date_range("2024-01-01", periods=6)
    rng = np.random.RandomState(0)
    frames = [pd.DataFrame({"x": rng.normal(size=6)}, index=days) for _ in range(8)]
    model = RNNRegressor(hidden_size=2, max_epochs=1, kernel_features=0, random_state=0)
    model.fit(frames, np.arange(8.0))
    # Times out of order, NaT, or categories of times out of order.
    later = [frames[0], frames[1].iloc[::-1]]
    nat = [frames[0], frames[1].set_axis(days.insert(6, pd.NaT)[1:])]
    categories = [frames[0], frames[1].set_axis(pd.CategoricalIndex(days[::-1]))]
    for X in (later, nat, categories):
        match = r"^X\[1\] has a time index \(datetime64\[\w+\]\) that does not increase.*sort_index"
        for call in (model.predict, SequenceScaler().fit, lambda X: model.fit(X, [0.0, 1.0])):
            with pytest.raises(ValueError, match=match):
                call(X)
        with pytest.raises(ValueError, match=match.replace("X", "sequences")):
            pad_sequences(X)
    # Equal times may be events of one moment; sorted times read as before.
    ties = [frame.set_axis(days[[0, 0, 1, 2, 3, 4]]) for frame in frames]
    np.testing.assert_array_equal(model.predict(ties), model.predict(frames))
    np.testing.assert_array_equal(model.predict(frames[::-1]), model.predict(frames)[::-1])


def test_pad_sequences_matches_dataframes_by_column_name():
    a = pd.DataFrame({"a": [1.0, 1.0], "b": [2.0, 2.0]})
    padded = pad_sequences([a, a[["b", "a"]]])  # read by position, the features swapped
    np.testing.assert_array_equal(padded[1], padded[0])
    with pytest.raises(ValueError, match=r"sequences\[1\] does not have the columns of seq"):
        pad_sequences([a, a.rename(columns={"b": "c"})])
    # An array's columns have no names: mixed with DataFrames, it is refused.
    with pytest.raises(TypeError, match=r"sequences\[0\] is a DataFrame but sequences\[1\] is"):
        pad_sequences([a, np.zeros((1, 2))])
    twice = pd.DataFrame([[1.0, 2.0]], columns=["a", "a"])
    with pytest.raises(ValueError, match=r"sequences\[0\] has the column names \['a'\] more"):
        pad_sequences([twice, twice])
    # Names that are not strings are read by position: other orders are refused
    # (the message once spoke of a fit, which pad_sequences has none of).
    numbered = pd.DataFrame({0: [1.0], 1: [2.0]})
    match = r"sequences\[1\] has the columns \[1, 0\], in another order .*Features under names"
    with pytest.raises(ValueError, match=match):
        pad_sequences([numbered, numbered[[1, 0]]])


@pytest.mark.parametrize("max_length", [None, 2, 3])
def test_pad_sequences_fills_after_the_last_valid_step(max_length):
    # Trailing all-NaN steps are padding: fill_value replaces them too (they
    # stayed NaN unless the sequence was cut), whatever padding a sequence had.
    for seqs in ([[1.0, np.nan], [4.0, 5.0, 6.0]], [[1.0, np.nan, np.nan], [4.0, 5.0, 6.0]]):
        out = pad_sequences(seqs, max_length=max_length, fill_value=0.0)[:, :, 0]
        # Cut to 2 steps, each keeps its last two valid ones.
        expected = [[1.0, 0.0], [5.0, 6.0]] if max_length == 2 else [[1.0, 0.0, 0.0], [4, 5, 6]]
        np.testing.assert_array_equal(out, expected)
    # A NaN within a sequence, before a valid step, is not padding: it stays.
    out = pad_sequences(
        [[[1.0, np.nan], [2.0, 3.0], [np.nan, np.nan]]], max_length=3, fill_value=0.0
    )
    np.testing.assert_array_equal(out[0], [[1.0, np.nan], [2.0, 3.0], [0.0, 0.0]])
    # The time axis is as long as the longest sequence's valid steps.
    assert pad_sequences([[1.0, np.nan, np.nan], [2.0]]).shape == (2, 1, 1)
    with pytest.raises(ValueError, match=r"NaN in every step of sample 1 \(a sequence of len"):
        pad_sequences([[1.0], [np.nan, np.nan]], fill_value=0.0)


@pytest.mark.parametrize("frame", ["pandas", "polars"])
def test_pad_sequences_reads_a_table_a_sequence_per_row(frame):
    # A DataFrame was iterated over: pandas gave its column names (refused as
    # text), polars its columns (the table silently transposed).
    table = np.array([[1.0, 2.0, 3.0], [4.0, 5.0, np.nan]])
    if frame == "polars":
        pl = pytest.importorskip("polars")
        df = pl.DataFrame(table, schema=["t0", "t1", "t2"])
    else:
        df = pd.DataFrame(table, columns=["t0", "t1", "t2"])
    out = pad_sequences(df, fill_value=0.0)
    np.testing.assert_array_equal(out[:, :, 0], [[1.0, 2.0, 3.0], [4.0, 5.0, 0.0]])
    np.testing.assert_array_equal(out, pad_sequences(table, fill_value=0.0))


def test_pad_sequences_refuses_empty_sequences_and_sizes_beyond_memory():
    # An empty sequence became a row of NaN only (or an array of 0 steps).
    for seqs in ([[], []], [np.zeros(3), np.zeros(0)]):
        with pytest.raises(ValueError, match="has length 0 .* drop empty sequences"):
            pad_sequences(seqs)
    # The estimators said "contains NaN in every step" of it, which has none.
    with pytest.raises(ValueError, match=r"^Input X has no steps in sample 1 \(a sequence of l"):
        to_padded(seqs)
    # 8 PB: beyond any address space, so the allocation fails at once.
    with pytest.raises(MemoryError, match=r"shape \(1, 1000000000000000, 1\).*smaller max_length"):
        pad_sequences([[1.0]], max_length=10**15)


def test_pad_sequences_refuses_a_fill_value_beyond_float64():
    # The int raised OverflowError; the longdouble padded with inf.
    for fill_value in (10**400, np.longdouble("1e400"), np.longdouble("-1e400")):
        with pytest.raises(ValueError, match="fill_value is beyond float64's range"):
            pad_sequences([[1.0], [1.0, 2.0]], fill_value=fill_value)
    assert pad_sequences([[1.0], [1.0, 2.0]], fill_value=-np.inf)[0, 1, 0] == -np.inf


def test_pad_sequences_names_a_max_length_beyond_numpy_arrays():
    # numpy's own ValueError: "array is too big; `arr.size * arr.dtype.itemsize` ..."
    with pytest.raises(MemoryError, match=r"shape \(1, 4611686018427387904, 1\).*max_length="):
        pad_sequences([[1.0]], max_length=2**62)


def test_pad_sequences_refuses_a_bool_max_length():
    with pytest.raises(TypeError, match="'max_length' parameter of pad_sequences must be an int"):
        pad_sequences([[1.0, 2.0], [3.0]], max_length=True)


def test_memoryview_is_read_as_its_array():
    X = np.arange(6.0).reshape(2, 3)
    X3d, lengths = to_padded(memoryview(X))
    np.testing.assert_array_equal(X3d[:, :, 0], X)
    assert lengths.tolist() == [3, 3]
    with pytest.raises(ValueError, match="got 1D input"):
        to_padded(memoryview(X[0]))


def test_sparse_dataframes_are_refused_with_the_fix():
    X = pd.DataFrame(np.eye(3)).astype(pd.SparseDtype(float, 0.0))
    with pytest.raises(TypeError, match=r"X is a sparse DataFrame.*X\.sparse\.to_dense\(\)"):
        to_padded(X)
    X[1] = X[1].sparse.to_dense()
    with pytest.raises(TypeError, match=r"X has sparse columns \[0, 2\].*X\.astype\(float\)"):
        to_padded(X)


def test_dates_and_durations_are_not_numbers():
    when = pd.to_datetime(["2020-01-01", "2020-01-02"])
    # A table with a time column is usually a long table (a row per step).
    with pytest.raises(TypeError, match="Column 'b' of X holds dates .*long_to_sequences"):
        to_padded(pd.DataFrame({"a": [1.0, 2.0], "b": when}))
    with pytest.raises(TypeError, match=r"X holds dates or times \(dtype timedelta64"):
        to_padded(np.ones((2, 3)).astype("timedelta64[s]"))
    with pytest.raises(TypeError, match=r"X\[1\] holds dates or times"):  # names the sequence
        to_padded([np.ones(3), np.array(when)])


def test_values_beyond_float32_are_an_error():
    with pytest.raises(ValueError, match="too large for float32"):
        to_padded(np.full((2, 3), 1e300))
    # Also in steps that max_length cuts off, in a list as in an array.
    seqs = [np.array([1e300, 1.0, 2.0]), np.array([1.0])]
    for X in (seqs, pad_sequences(seqs)):
        with pytest.raises(ValueError, match="too large for float32"):
            to_padded(X, max_length=1)


@settings(max_examples=200, deadline=None)
@given(st.integers(1, 300), st.integers(1, 64), st.booleans())
def test_training_batches_cover_every_sequence_once(n, batch_size, equal_sizes):
    dataset = SequenceDataset(np.zeros((n, 2, 1)), np.full(n, 2), y=np.arange(n))
    generator = torch.Generator().manual_seed(0)
    iterator = BatchIterator(
        dataset, batch_size, shuffle=True, generator=generator, equal_sizes=equal_sizes
    )
    batches = [yi.tolist() for _, yi in iterator]
    assert len(batches) == len(iterator) == -(-n // batch_size)
    assert sorted(sum(batches, [])) == list(range(n))
    sizes = [len(b) for b in batches]
    assert max(sizes) <= batch_size
    if equal_sizes:
        assert max(sizes) - min(sizes) <= 1
    else:
        assert sizes[:-1] == [batch_size] * (len(sizes) - 1)


def test_a_batch_keeps_the_steps_of_its_longest_sequence():
    X, lengths = to_padded([np.arange(3.0), np.arange(10.0), np.arange(5.0)])
    dataset = SequenceDataset(X, lengths, y=np.arange(3))
    Xi, yi = dataset.batch(torch.tensor([2, 0]))
    assert Xi["X"].shape == (2, 5, 1) and Xi["lengths"].tolist() == [5, 3]
    np.testing.assert_array_equal(Xi["X"].numpy(), X[[2, 0], :5])
    assert dataset.batch(slice(0, 3))[0]["X"].shape == (3, 10, 1)
    # A validation subset shares X and trims its batches the same way.
    subset = dataset.subset(np.array([0, 2]))
    assert subset.batch(torch.tensor([0]))[0]["X"].shape == (1, 3, 1)
    assert subset.batch(torch.tensor([0]))[1].tolist() == [0]


def test_pad_sequences_refuses_a_bool_fill_value():
    with pytest.raises(TypeError, match="fill_value must be a number, got the bool True"):
        pad_sequences([[1.0, 2.0], [3.0]], fill_value=True)


def test_categories_of_ints_with_a_missing_value_are_padding():
    # pandas reads a frame whose columns all hold categories of ints as
    # int64, the missing value as -9.2e18: a table's padding, and a list's
    # DataFrame's, were read as that number (a prediction of -3.2e18).
    table = pd.DataFrame({"t0": [1, 2, 3, 4], "t1": pd.Categorical([4, 5, 6, None])})
    floats = table.astype(float)
    np.testing.assert_array_equal(SequenceScaler().fit(table).mean_, [floats.stack().mean()])
    model = RNNRegressor(hidden_size=2, max_epochs=1, kernel_features=84, random_state=0)
    model.fit(floats, [1.0, 2.0, 3.0, 4.0])
    np.testing.assert_array_equal(model.predict(table), model.predict(floats))
    frame = pd.DataFrame({"a": pd.Categorical([1, 2, None]), "b": pd.Categorical([3, 4, None])})
    np.testing.assert_array_equal(pad_sequences([frame]), pad_sequences([frame.astype(float)]))


def test_a_series_of_dates_with_a_time_zone_or_of_arrow_is_refused():
    # pandas' own dtypes were read as counts of micro- or nanoseconds, where
    # a Series of plain datetime64 and a DataFrame of these were refused.
    stamps = pd.Series(pd.date_range("2020-01-01", periods=3, tz="UTC"))
    for series in (
        stamps,
        stamps.dt.tz_localize(None).astype("timestamp[ns][pyarrow]"),
        pd.Series([1, 2, 3], dtype="duration[ns][pyarrow]"),
    ):
        with pytest.raises(TypeError, match=r"sequences\[0\] holds dates or times \(dtype"):
            pad_sequences([series])


def test_a_series_whose_times_do_not_increase_is_refused_as_a_dataframe_is():
    # A list of Series (a groupby's parts of an unsorted table) was read in
    # row order, where the same as DataFrames was refused.
    times = pd.to_datetime(["2020-01-03", "2020-01-01", "2020-01-02"])
    frame = pd.DataFrame({"x": [3.0, 1.0, 2.0]}, index=times)
    for sequences in ([frame], [frame["x"]], pd.Series([frame["x"]])):
        with pytest.raises(ValueError, match=r"\[0\] has a time index .* Sort it with"):
            pad_sequences(sequences)
    np.testing.assert_array_equal(pad_sequences([frame["x"].sort_index()])[0, :, 0], [1, 2, 3])
