"""The bundled data sets: shapes, splits, frames, padding and errors; load_ts_file."""

import gzip
import re

import numpy as np
import pandas as pd
import pytest

from sklrnn._data import to_padded
from sklrnn.datasets import (
    load_airline,
    load_basic_motions,
    load_covid3month,
    load_gunpoint,
    load_italy_power_demand,
    load_japanese_vowels,
    load_ts_file,
)
from sklrnn.preprocessing import WideToSequence

# loader, (train shape), (test shape), number of classes (None: regression)
CASES = [
    (load_italy_power_demand, (67, 24), (1029, 24), 2),
    (load_gunpoint, (50, 150), (150, 150), 2),
    (load_basic_motions, (40, 100, 6), (40, 100, 6), 4),
    (load_japanese_vowels, (270, 26, 12), (370, 29, 12), 9),
    (load_covid3month, (140, 84), (61, 84), None),
]
IDS = [case[0].__name__ for case in CASES]


@pytest.mark.parametrize("loader, train_shape, test_shape, n_classes", CASES, ids=IDS)
def test_shapes_and_splits(loader, train_shape, test_shape, n_classes):
    train, test = loader(), loader(split="test")
    assert train.data.shape == train_shape
    assert test.data.shape == test_shape
    assert train.target.shape == (train_shape[0],)
    assert test.target.shape == (test_shape[0],)
    assert train.data.dtype == np.float64
    # The official splits are different data, not the same file twice.
    assert train.data.shape != test.data.shape or not np.array_equal(
        train.data, test.data, equal_nan=True
    )
    assert train.DESCR
    n_channels = 1 if len(train_shape) == 2 else train_shape[2]
    assert len(train.channel_names) == n_channels
    assert len(train.feature_names) == n_channels * train_shape[1]
    if n_classes is None:
        assert train.target.dtype == np.float64
        assert train.target_names is None
        assert np.isfinite(train.target).all()
    else:
        assert len(train.target_names) == n_classes
        assert set(train.target) == set(train.target_names)
        assert set(test.target) <= set(train.target_names)


@pytest.mark.parametrize("loader, train_shape, test_shape, n_classes", CASES, ids=IDS)
def test_return_X_y_matches_bunch(loader, train_shape, test_shape, n_classes):
    bunch = loader(split="test")
    X, y = loader(split="test", return_X_y=True)
    np.testing.assert_array_equal(X, bunch.data)
    np.testing.assert_array_equal(y, bunch.target)
    assert bunch.frame is None


@pytest.mark.parametrize("loader, train_shape, test_shape, n_classes", CASES, ids=IDS)
def test_as_frame_is_the_wide_feature_major_table(loader, train_shape, test_shape, n_classes):
    array = loader()
    bunch = loader(as_frame=True)
    assert isinstance(bunch.data, pd.DataFrame)
    assert isinstance(bunch.target, pd.Series)
    assert bunch.data.columns.tolist() == bunch.feature_names
    n_timesteps = train_shape[1]
    first_channel = bunch.channel_names[0]
    assert bunch.feature_names[:2] == [f"{first_channel}_t0", f"{first_channel}_t1"]
    assert bunch.feature_names[n_timesteps - 1] == f"{first_channel}_t{n_timesteps - 1}"
    # frame = data + target, one row per sample
    assert bunch.frame.shape == (train_shape[0], bunch.data.shape[1] + 1)
    np.testing.assert_array_equal(bunch.frame["target"].to_numpy(), array.target)
    # Reshaping the wide table gives back the array layout.
    X3 = WideToSequence(n_features=len(bunch.channel_names)).fit_transform(bunch.data)
    expected = array.data if array.data.ndim == 3 else array.data[:, :, None]
    np.testing.assert_array_equal(X3, expected)
    X, y = loader(as_frame=True, return_X_y=True)
    pd.testing.assert_frame_equal(X, bunch.data)
    pd.testing.assert_series_equal(y, bunch.target)
    # Each load has its own names: BasicMotions' list was the loader's own,
    # and an edit to one bunch renamed the columns of every later load.
    bunch.channel_names[0] = "edited"
    assert loader(as_frame=True).channel_names[0] == first_channel


def test_japanese_vowels_trailing_nan_padding():
    X, _ = load_japanese_vowels(return_X_y=True)
    step_nan = np.isnan(X)
    # A step is either fully observed or fully padding ...
    assert np.array_equal(step_nan.any(axis=2), step_nan.all(axis=2))
    # ... and padding only trails: lengths read off the NaN are consistent.
    _, lengths = to_padded(X)
    assert lengths.min() == 7
    assert lengths.max() == X.shape[1] == 26
    for i in range(len(X)):
        assert not step_nan[i, : lengths[i]].any()
        assert step_nan[i, lengths[i] :].all()
    _, test_lengths = to_padded(load_japanese_vowels(split="test").data)
    assert test_lengths.max() == 29
    # Sequences of different lengths: the data set is truly ragged.
    assert len(np.unique(lengths)) > 5


def test_equal_length_data_sets_have_no_nan():
    for loader in (load_italy_power_demand, load_gunpoint, load_basic_motions, load_covid3month):
        assert not np.isnan(loader().data).any()


@pytest.mark.parametrize("split", ["validation", "TRAIN", "", None])
@pytest.mark.parametrize("loader", [case[0] for case in CASES], ids=IDS)
def test_bad_split_raises(loader, split):
    with pytest.raises(ValueError, match="split must be 'train' or 'test'"):
        loader(split=split)


def test_airline():
    series = load_airline()
    assert series.shape == (144,)
    assert series.dtype == np.float64
    assert series[0] == 112.0
    assert series[-1] == 432.0
    series /= 100  # writable: pandas' copy-on-write made it a read-only view
    assert load_airline()[0] == 112.0
    series = load_airline()
    frame = load_airline(as_frame=True)
    assert isinstance(frame, pd.Series)
    assert isinstance(frame.index, pd.PeriodIndex)
    assert str(frame.index[0]) == "1949-01"
    assert str(frame.index[-1]) == "1960-12"
    np.testing.assert_array_equal(frame.to_numpy(), series)
    # Trend and yearly seasonality: July beats the previous November every year.
    by_year = series.reshape(12, 12)
    assert (by_year[1:, 6] > by_year[:-1, 10]).all()


# -- load_ts_file ----------------------------------------------------------------

REGRESSION_TS = """# a comment line
@problemName toy
@univariate true
@targetlabel true
@data
1,2,3,4:0.5
5,?,7:-1.25

8,9:3
"""


def test_load_ts_file_regression_missing_values_and_unequal_lengths(tmp_path):
    path = tmp_path / "toy.ts"
    path.write_text(REGRESSION_TS)
    X, y = load_ts_file(path)
    assert y.dtype == np.float64 and y.tolist() == [0.5, -1.25, 3.0]
    nan = np.nan
    expected = [[1, 2, 3, 4], [5, nan, 7, nan], [8, 9, nan, nan]]
    assert X.dtype == np.float64
    np.testing.assert_array_equal(X, expected)  # "?" and the padding are NaN
    gz = tmp_path / "toy.ts.gz"
    with gzip.open(gz, "wt", encoding="utf-8") as fh:
        fh.write(REGRESSION_TS)
    X_gz, y_gz = load_ts_file(str(gz))
    np.testing.assert_array_equal(X_gz, X)
    np.testing.assert_array_equal(y_gz, y)


def test_load_ts_file_multivariate_classification(tmp_path):
    path = tmp_path / "two_channels.ts"
    path.write_text("@classLabel true walk run\n@data\n1,2,3:4,5,6:walk\n7,8:9,10:run\n")
    X, y = load_ts_file(path)
    assert y.tolist() == ["walk", "run"]  # labels stay strings
    assert X.shape == (2, 3, 2)  # (samples, steps, channels)
    np.testing.assert_array_equal(X[0], [[1, 4], [2, 5], [3, 6]])
    np.testing.assert_array_equal(X[1], [[7, 9], [8, 10], [np.nan, np.nan]])
    # The loaded padding is the estimators' padding: lengths 3 and 2.
    assert to_padded(X)[1].tolist() == [3, 2]


def test_load_ts_file_without_data_is_an_error(tmp_path):
    path = tmp_path / "empty.ts"
    path.write_text("@problemName empty\n@data\n")
    with pytest.raises(ValueError, match="holds no sequences"):
        load_ts_file(path)


def _ts(tmp_path, text, name="f.ts"):
    path = tmp_path / name
    path.write_bytes(text.encode() if isinstance(text, str) else text)
    return path


def test_load_ts_file_unlabelled_series_keep_every_channel(tmp_path):
    multi = "@classLabel false\n@dimensions 2\n@data\n1,2:3,4\n5,6:7,8\n"
    X, y = load_ts_file(_ts(tmp_path, multi))
    assert y is None
    np.testing.assert_array_equal(X, [[[1, 3], [2, 4]], [[5, 7], [6, 8]]])
    X, y = load_ts_file(_ts(tmp_path, "@targetLabel false\n@data\n1,2,3\n4,5\n"))
    assert y is None
    np.testing.assert_array_equal(X, [[1, 2, 3], [4, 5, np.nan]])
    # Declared labels are required on every line.
    with pytest.raises(ValueError, match=r"line 3: no class label after the values"):
        load_ts_file(_ts(tmp_path, "@classLabel true a\n@data\n1,2,3\n"))


@pytest.mark.parametrize(
    "text, match",
    [
        (
            "@dimensions 2\n@data\n1,2,3:10,20,30:a\n4,5,6:b\n",
            "line 4 has 1 channel.*@dimensions on line 1 declares 2",
        ),
        (
            "@dimensions 2\n@data\n4,5,6:b\n1,2,3:10,20,30:a\n",
            "line 3 has 1 channel.*@dimensions on line 1 declares 2",
        ),
        ("@data\n1:2:3:a\n7,8,9:b\n", "line 3 has 1 channel.*but line 2 has 3"),
        (
            "@univariate TRUE\n@data\n1,2:3,4:a\n",
            "line 3 has 2 channel.*@univariate true on line 1 declares 1",
        ),
        ("@data\n1,2,3:7,8:a\n", "line 2: channels of different lengths \\(2 and 3 values\\)"),
    ],
)
def test_load_ts_file_every_series_has_the_same_channels(tmp_path, text, match):
    with pytest.raises(ValueError, match=match):
        load_ts_file(_ts(tmp_path, text))


@pytest.mark.parametrize(
    "text, match",
    [
        (
            "@classLabel true a b\n@data\n1:a\n2:zzz\n",
            "line 4: class label 'zzz' is not among .*\\(a b\\)",
        ),
        (
            "@equalLength true\n@data\n1,2,3:a\n4,5:b\n",
            "line 4 has 2 values .* line 3 has 3 and @equalLength true on line 1",
        ),
        (
            "@seriesLength 5\n@data\n1,2,3:a\n",
            "line 3 has 3 values per channel, but @seriesLength on line 1 declares 5",
        ),
        (
            "@missing false\n@data\n1,?,3:a\n",
            "line 3 has a missing value \\('\\?' or NaN\\), but @missing false on line 1",
        ),
        (
            "@classLabel true a\n@classLabel false\n@data\n1:a\n",
            "line 2: @classLabel repeats line 1",
        ),
        (
            "@targetLabel true\n@classLabel true a\n@data\n1:a\n",
            "@classLabel true on line 2 and @targetLabel true on line 1 contradict",
        ),
        ("@univariate yes\n@data\n1:a\n", "line 1: @univariate must be true or false, got 'yes'"),
        (
            "@dimensions two\n@data\n1:a\n",
            "line 1: @dimensions must be a positive integer, got 'two'",
        ),
        (
            "@timeStamps true\n@data\n(0,1),(1,2):a\n",
            "@timeStamps true on line 1: timestamped series are not supported",
        ),
        # A series on the @data line was dropped without a word.
        (
            "@classLabel true a b\n@data 1,2:a\n3,4:b\n",
            "line 2: @data must stand alone on its line, got '@data 1,2:a'",
        ),
        # Each was read: a misspelt header unchecked, a NUL that numpy's
        # labels drop (merging 'a\x00' with 'a'), and a second channel read as
        # a label of values where no header declares labels.
        ("@seriesLenght 2\n@data\n1,2:a\n", "line 1: unknown header @seriesLenght; the .ts"),
        ("@data\n1,2:a\x00\n3,4:a\n", r"line 2: class label 'a\\x00' holds a NUL character"),
        (
            "@univariate false\n@data\n1,2:3,4\n",
            "line 3: the last field '3,4' holds values, but with no label header",
        ),
        ("@data\n1,2:NaN,4\n", "line 2: the last field 'NaN,4' holds values"),
        # Old Mac line endings made one line, whose @data then went unseen.
        (
            "@classLabel true a b\r@data\r1,2:a\r",
            r"line 1: holds a carriage return \(\\r\) within it.*line endings to \\n",
        ),
    ],
)
def test_load_ts_file_checks_the_header(tmp_path, text, match):
    with pytest.raises(ValueError, match=match):
        load_ts_file(_ts(tmp_path, text))


@pytest.mark.parametrize(
    "header",
    ["@targetLabel True", "@targetlabel\ttrue", "\ufeff@targetLabel true", " @TARGETLABEL  TRUE "],
)
def test_load_ts_file_header_case_whitespace_and_byte_order_mark(tmp_path, header):
    X, y = load_ts_file(_ts(tmp_path, header + "\n@data\n1,2:0.5\n3,4:-1\n"))
    assert y.dtype == np.float64 and y.tolist() == [0.5, -1.0]
    np.testing.assert_array_equal(X, [[1, 2], [3, 4]])


def test_load_ts_file_reads_aeons_dimension_header_and_upper_case_gz(tmp_path):
    # aeon's writer declares "@dimension 3", which went unchecked; "f.TS.GZ"
    # was read as text ("not UTF-8").
    with pytest.raises(ValueError, match="has 2 channel.*@dimension on line 2 declares 3"):
        load_ts_file(_ts(tmp_path, "@classLabel true a\n@dimension 3\n@data\n1,2:3,4:a\n"))
    text = "@classLabel true a\n@dimension 2\n@data\n1,2:3,4:a\n"
    X, y = load_ts_file(_ts(tmp_path, gzip.compress(text.encode()), "f.TS.GZ"))
    assert X.shape == (1, 2, 2) and y.tolist() == ["a"]


def test_load_ts_file_refuses_undecodable_and_broken_files(tmp_path):
    latin1 = "@classLabel true a b\n@data\n1,2:caf\xe9\n".encode("latin-1")
    with pytest.raises(ValueError, match=r"f.ts', line 3: not UTF-8 text.*UTF-8 encoding"):
        load_ts_file(_ts(tmp_path, latin1))
    with pytest.raises(ValueError, match=r"g.ts.gz' is not a valid gzip file"):
        load_ts_file(_ts(tmp_path, "@data\n1:a\n", name="g.ts.gz"))
    truncated = gzip.compress(b"@data\n" + b"1,2,3:a\n" * 1000)[:-20]
    with pytest.raises(ValueError, match=r"t.ts.gz' is not a valid gzip file"):
        load_ts_file(_ts(tmp_path, truncated, name="t.ts.gz"))


@pytest.mark.parametrize(
    "row, match",
    [
        ("inf,2:a", "value 'inf' is not a decimal number"),
        ("1,nana:a", "value 'nana' is not a decimal number"),
        ("1e400,2:a", "a value is too large for float64"),
        ("1,,3:a", "value '' is not a decimal number"),
        ("1,2,:a", "value '' is not a decimal number"),
        (":a", "value '' is not a decimal number"),
        ("1_000:a", "value '1_000' is not a decimal number"),
        ("1,2:", "empty class label"),
    ],
)
def test_load_ts_file_refuses_values_that_are_not_finite_numbers(tmp_path, row, match):
    with pytest.raises(ValueError, match=f"line 3: {match}"):
        load_ts_file(_ts(tmp_path, f"@univariate true\n@data\n{row}\n"))


def test_load_ts_file_reads_unlabelled_series_as_aeon_writes_them(tmp_path):
    # aeon ends each line of unlabelled series with ':' under "@targetlabel
    # false"; the trailing field read as a channel of another length.
    text = "@univariate false\n@targetlabel false\n@data\n1,2,3:4,5,6:\n7,8,9:1,2,3:\n"
    X, y = load_ts_file(_ts(tmp_path, text))
    assert y is None
    np.testing.assert_array_equal(X[:, :, 1], [[4, 5, 6], [1, 2, 3]])
    # A label where the header declares none is named as such.
    with pytest.raises(ValueError, match="line 3: the last field 'a' after ':' reads as a label"):
        load_ts_file(_ts(tmp_path, "@classLabel false\n@data\n1,2:a\n"))


@pytest.mark.parametrize("target", ["?", "abc", "nan", "inf", "1e400", ""])
def test_load_ts_file_refuses_regression_targets_that_are_not_finite(tmp_path, target):
    with pytest.raises(ValueError, match=f"line 4: target '{re.escape(target)}' is not a finite"):
        load_ts_file(_ts(tmp_path, f"@targetLabel true\n@data\n1,2:0.5\n3,4:{target}\n"))


@pytest.mark.parametrize("missing", ["?", "NaN", "nan", " NaN "])
def test_load_ts_file_missing_values_stay_at_their_step(tmp_path, missing):
    # aeon writes missing values as NaN, the archive as '?'.
    text = "@missing true\n@data\n1,?,3:a\n4,5,?:b\n?,?,?:a\n".replace("?", missing)
    X, y = load_ts_file(_ts(tmp_path, text))
    np.testing.assert_array_equal(X, [[1, np.nan, 3], [4, 5, np.nan], [np.nan] * 3])
    # A trailing '?' reads as padding: the series is that much shorter.
    assert to_padded(X[1:2])[1].tolist() == [2]
    with pytest.raises(ValueError, match="line 3 has a missing value"):
        load_ts_file(_ts(tmp_path, text.replace("true", "false")))


def test_load_ts_file_reads_arff_comments(tmp_path):
    # aeon's UnitTest files open with "%" comments, refused as series, and
    # name the problem twice, refused as a repeated declaration.
    text = (
        "%# a comment\n%\n@problemName UnitTest\n@problemName Chinatown\n"
        "@classLabel true a b\n@data\n% another\n1,2:a\n3,4:b\n"
    )
    X, y = load_ts_file(_ts(tmp_path, text))
    np.testing.assert_array_equal(X, [[1.0, 2.0], [3.0, 4.0]])
    assert y.tolist() == ["a", "b"]


def test_load_ts_file_after_data_only_series_and_comments(tmp_path):
    X, y = load_ts_file(_ts(tmp_path, "@data\n1,2:a\n# a comment\n\n3,4:b\n"))
    np.testing.assert_array_equal(X, [[1, 2], [3, 4]])
    assert y.tolist() == ["a", "b"]
    with pytest.raises(ValueError, match=r"line 3: header line '@data' after @data"):
        load_ts_file(_ts(tmp_path, "@data\n1,2:a\n@data\n3,4:b\n"))
    with pytest.raises(ValueError, match=r"line 2: series before the @data line"):
        load_ts_file(_ts(tmp_path, "@classLabel true a\n1,2:a\n"))
    with pytest.raises(ValueError, match=r"has no @data line"):
        load_ts_file(_ts(tmp_path, "@classLabel true a\n"))


def test_load_ts_file_refuses_padding_far_larger_than_the_values(tmp_path):
    text = "@data\n" + "0," * 200_000 + "0:a\n" + "0:a\n" * 100
    with pytest.raises(ValueError, match=r"padding its 101 series .* split the file"):
        load_ts_file(_ts(tmp_path, text))
    # One long series alone is data, not padding.
    X, _ = load_ts_file(_ts(tmp_path, "@data\n" + "1," * 200_000 + "2:a\n"))
    assert X.shape == (1, 200_001) and X[0, -1] == 2


def test_load_ts_file_refuses_a_label_that_would_size_every_label(tmp_path):
    # numpy's str array sizes every label to the longest: 10,000 rows and one
    # label of 10,000 characters made a y of 400 MB.
    text = "@data\n" + "1:a\n" * 10 + "1:" + "b" * 10_000 + "\n"
    with pytest.raises(ValueError, match=r"line 12: class label of 10,000 characters"):
        load_ts_file(_ts(tmp_path, text))


def test_load_ts_file_names_a_long_bad_number(tmp_path):
    # The number pattern backtracked over a run of digits that ends in a bad
    # character, quadratically in its length: 29 s for 40,000 digits, hours
    # for these 200,000.
    for text, match in [
        ("@data\n1,2," + "1" * 200_000 + "x:a\n", "value '1111.* is not a decimal number"),
        ("@targetLabel true\n@data\n1,2:" + "1" * 200_000 + "x\n", "target '1111.* is not a"),
    ]:
        with pytest.raises(ValueError, match=match):
            load_ts_file(_ts(tmp_path, text))


def test_load_ts_file_path_types(tmp_path):
    path = _ts(tmp_path, "@data\n1,2:a\n")
    for arg in (path, str(path), bytes(path)):
        X, y = load_ts_file(arg)
        np.testing.assert_array_equal(X, [[1, 2]])
    with pytest.raises(TypeError, match="path must be a str or path-like object, got int"):
        load_ts_file(3)
    with pytest.raises(FileNotFoundError):
        load_ts_file(tmp_path / "missing.ts")
    with pytest.raises(IsADirectoryError):
        load_ts_file(tmp_path)


@pytest.mark.parametrize("kwargs", [{"as_frame": "no"}, {"return_X_y": "no"}, {"return_X_y": 2}])
@pytest.mark.parametrize("loader", [case[0] for case in CASES], ids=IDS)
def test_loader_flags_must_be_bools(loader, kwargs):
    (name,) = kwargs
    with pytest.raises(TypeError, match=f"{name} must be True or False"):
        loader(**kwargs)


def test_load_airline_as_frame_must_be_a_bool():
    with pytest.raises(TypeError, match="as_frame must be True or False, got 'yes'"):
        load_airline(as_frame="yes")
    assert isinstance(load_airline(as_frame=np.True_), pd.Series)
