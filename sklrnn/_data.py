"""Conversion of user input into padded sequence arrays.

Every input format the estimators accept goes through :func:`to_padded` (and
the estimator-facing :func:`validate_sequences`), so there is one place that
decides what a sequence is:

* a 2D array or DataFrame ``(n_samples, n_timesteps)`` holds one feature;
* a 3D array ``(n_samples, n_timesteps, n_features)`` is channels-last;
* a list of 1D/2D arrays holds sequences of different lengths ("ragged"),
  and so does a pandas Series of arrays (sktime's nested format).

Trailing NaN marks padding (the UCR/UEA convention); NaN anywhere else is an
error. The result is a float32 array zero-filled past each sequence's end and
an int64 array of true lengths.
"""

import math
import os
import sys
import warnings
from collections.abc import Iterator, Mapping
from contextlib import contextmanager, suppress
from numbers import Integral, Real

import joblib
import numpy as np
import pandas as pd
import scipy.sparse as sp
import sklearn
import torch
from sklearn.utils.validation import check_array, validate_data

from ._compat import Interval, validate_params

__all__ = [
    "to_padded",
    "to_nan_padded",
    "pad_sequences",
    "truncate",
    "validate_sequences",
    "column_moments",
]


def _is_ragged(X):
    """True for a list, tuple or Series of per-sample arrays (not a nested table)."""
    if getattr(X, "ndim", None) == 1 and getattr(getattr(X, "dtype", None), "kind", None) == "O":
        # A pandas Series (or numpy array) whose elements are sequences: one
        # sequence per element even where their lengths are equal (a Series of
        # lists from groupby(...).apply(list)), as a 1D container is no table.
        # Arrow list columns (read_parquet(dtype_backend="pyarrow")) too.
        first = _first_present(X)
        return hasattr(first, "shape") or isinstance(first, list | tuple)
    if not isinstance(X, list | tuple) or len(X) == 0:
        return False
    first = _first_present(X)
    if hasattr(first, "shape"):  # numpy arrays, DataFrames, tensors
        return True
    if isinstance(first, list | tuple):
        # A list of lists is a table unless the inner lengths differ or the
        # items are themselves lists (a list of 2D sequences).
        lengths = {len(x) if isinstance(x, list | tuple) else -1 for x in X}
        nested = any(
            len(x) and isinstance(x[0], list | tuple) for x in X if isinstance(x, list | tuple)
        )
        return len(lengths) > 1 or nested
    return False


def _missing_item(x):
    """Whether an item where a sequence belongs is missing: None, NA or NaN."""
    return x is None or x is pd.NA or isinstance(x, float) and x != x


def _refuse_a_value_as_a_sequence(i, input_name, value):
    """Sequence ``i`` is a single ``value`` (None where missing): name it and the fix."""
    if _missing_item(value):
        what, fix = "missing (None, NA or NaN)", "Leave out the samples without one."
    else:
        what, fix = f"the single number {value!r}", "A sequence alone goes in a list: [sequence]."
    raise ValueError(
        f"Sequence {i} of {input_name} is {what}, where a sequence belongs: each is 1D "
        f"(n_timesteps,) or 2D (n_timesteps, n_features). {fix}"
    )


def _first_present(X):
    """The first item of ``X`` that is not missing (None, NA or NaN): a
    missing first sequence does not make sequences a table."""
    return next((x for x in X if not _missing_item(x)), None)


def _longest(X):
    """Steps of the longest sequence in ragged ``X``; None where one has no length."""
    try:
        return max(len(seq) for seq in X)
    except TypeError:  # not a sequence: validation names it
        return None


def _check_ragged(X, input_name, first_sample=0):
    """Validate a list of sequences and return them as float 2D arrays.

    Messages name a sequence by its number in the whole input: ``first_sample``
    is the number of the first of ``X``. DataFrames of several columns mixed
    with other sequences, whose columns have no names to match them by, are
    refused.
    """
    _check_frames_not_mixed(X, input_name, first_sample)
    seqs = []
    for i, seq in enumerate(X, start=first_sample):
        if sp.issparse(seq):
            raise TypeError(
                f"Sequence {i} of {input_name} is a sparse matrix; sequences must be "
                "dense. Convert it with .toarray()."
            )
        if _missing_item(seq):
            _refuse_a_value_as_a_sequence(i, input_name, None)
        if hasattr(seq, "columns") and len(seq.columns) == 0:
            raise ValueError(
                f"Sequence {i} of {input_name} has 0 features (a DataFrame without columns): "
                "sequences need at least one time step and one feature."
            )
        times = time_index(seq.index) if hasattr(seq, "iloc") else None
        # Rows are read in their order: a DataFrame's or Series' rows in
        # another order than its times (a groupby part of an unsorted table)
        # gave other predictions without a word. Equal times may be events of
        # one moment.
        if times is not None and not times.is_monotonic_increasing:
            raise ValueError(
                f"{input_name}[{i}] has a time index ({times.dtype}) that does not increase "
                "(times out of order, or NaT): each DataFrame or Series is one sequence, read "
                "a row per time step in row order, oldest first. Sort it with .sort_index()."
            )
        arr = _plain_numbers(seq)
        if arr is None:
            arr = _numeric_array(
                seq,
                f"{input_name}[{i}]",
                ensure_2d=False,
                allow_nd=True,
                dtype=np.float64,
                ensure_all_finite="allow-nan",
                ensure_min_samples=0,
            )
        if arr.ndim == 1:
            arr = arr[:, None]
        if arr.ndim == 0:  # a value where a sequence belongs
            _refuse_a_value_as_a_sequence(i, input_name, arr.item())
        if arr.ndim != 2:
            raise ValueError(
                f"Sequence {i} of {input_name} has {arr.ndim} dimensions; each sequence "
                "in a list must be 1D (n_timesteps,) or 2D (n_timesteps, n_features)."
            )
        seqs.append(arr)
    _check_same_n_features(seqs, f"sequences in {input_name}")
    return seqs


def _readable(X, input_name="X"):
    """``X`` with what numpy and pandas cannot read as it is made readable.

    A torch tensor becomes its values: detached, on the CPU, and float32
    where numpy has no such float type (bfloat16); a nested tensor, a list
    of them. A list of sequences gets
    the same for each sequence, and its DataFrames of another library
    (polars) become pandas DataFrames of the same columns, so that they are
    matched by column name as pandas' are. A polars LazyFrame, a query
    rather than data, is refused.
    """
    if type(X) is np.ndarray:
        return X
    if isinstance(X, torch.Tensor):
        if X.is_nested:  # sequences of different lengths: a list of them
            return [_readable(seq, f"{input_name}[{i}]") for i, seq in enumerate(X.unbind())]
        if X.layout != torch.strided:
            raise TypeError(
                f"{input_name} is a sparse torch tensor, but sequences are dense. Convert it "
                f"with {input_name}.to_dense()."
            )
        if X.device.type == "meta":
            raise ValueError(f"{input_name} is a tensor on the meta device, which holds no values.")
        X = X.detach().cpu()
        if X.is_floating_point() and X.dtype not in (torch.float16, torch.float32, torch.float64):
            X = X.float()
        return X.numpy()
    if type(X).__name__ == "LazyFrame" and hasattr(X, "collect"):
        raise TypeError(
            f"{input_name} is a polars LazyFrame, a query rather than data: collect it "
            f"first, e.g. {input_name}.collect()."
        )
    if isinstance(X, list | tuple | pd.Series) and _is_ragged(X):
        items = [_readable_sequence(seq) for seq in X]
        if all(new is old for new, old in zip(items, X, strict=True)):
            return X  # a Series of lists stays one: a list of them could be a table
        return items
    return X


def _readable_sequence(seq):
    """One sequence of a list, as :func:`_readable` makes it readable."""
    if type(seq) is np.ndarray or isinstance(seq, pd.DataFrame):
        return seq
    if isinstance(seq, torch.Tensor):
        return _readable(seq)
    if hasattr(seq, "columns") and hasattr(seq, "to_numpy") and len(getattr(seq, "shape", ())) == 2:
        # A DataFrame of another library: its columns by name, each as numpy reads it.
        return pd.DataFrame({name: np.asarray(seq[name]) for name in seq.columns})
    return seq


def _plain_numbers(seq):
    """A numpy array or list of numbers as the float64 array ``check_array`` gives; else None.

    For each sequence of a list: scikit-learn's ``check_array`` dispatches on
    its input's type before checking it, which costs more than converting a
    short sequence (``benchmarks/bench_scaling.py --ragged``: a list of 200,000
    short sequences against the same as one array). A plain array of 1 or 2
    dimensions, of numbers without infinities and with at least one feature,
    passes those checks as it is; anything else (None returned) goes through
    ``check_array`` for its messages. A DataFrame of numeric columns is read
    as its values (check_array took 8 times as long as the rest of a
    prediction for a list of DataFrames).
    """
    if type(seq) is pd.DataFrame:
        # check_array names repeated names and refuses sparse columns; in
        # to_numpy's int64, categories of ints read a missing value as -9.2e18.
        special = (pd.SparseDtype, pd.CategoricalDtype)
        if not seq.columns.is_unique or any(isinstance(t, special) for t in seq.dtypes):
            return None
        seq = seq.to_numpy()  # of object dtype unless every column holds plain numbers
    elif type(seq) is list:
        try:
            seq = np.asarray(seq)
        except ValueError:  # of unequal lengths: check_array names it
            return None
    if type(seq) is not np.ndarray or seq.dtype.kind not in "biuf":
        return None
    if not (seq.ndim == 1 or seq.ndim == 2 and seq.shape[1]):
        return None
    seq = seq.astype(np.float64, copy=False)
    return None if np.isinf(seq).any() else seq


def _check_frames_not_mixed(sequences, input_name, first_sample=0):
    """Raise a TypeError for DataFrames of several columns mixed with other sequences.

    DataFrames are matched by column name and other sequences by position,
    so their features could be read in different orders.
    """
    frames = [isinstance(seq, pd.DataFrame) for seq in sequences]
    if any(frames) and not all(frames):
        i, j = frames.index(True), frames.index(False)
        if sequences[i].shape[1] > 1:
            raise TypeError(
                f"{input_name}[{i + first_sample}] is a DataFrame but "
                f"{input_name}[{j + first_sample}] is a {type(sequences[j]).__name__}: "
                "DataFrames are matched by column name and arrays by position, so the "
                "features could be mixed up. Pass DataFrames only (e.g. pd.DataFrame(a, "
                "columns=names)) or arrays only (e.g. df.to_numpy())."
            )


def _check_same_n_features(arrays, what):
    """Raise a ValueError unless all 2D ``arrays`` have as many columns (features)."""
    n_features = {a.shape[1] for a in arrays}
    if len(n_features) > 1:
        raise ValueError(
            f"All {what} must have the same number of features; got {sorted(n_features)}. "
            "Each sequence is an array of shape (n_timesteps, n_features): if the features "
            "come first, transpose every sequence (seq.T)."
        )


def _python(value):
    """A numpy scalar as the Python value it holds, for messages (1, not np.int64(1))."""
    return value.item() if isinstance(value, np.generic) else value


def _label_codes(labels, classes):
    """The positions of array ``labels`` in sorted ``classes`` (None if some
    are not among them), and the labels not among them.

    Compared as Python objects where numpy would compare them as floats:
    uint64 with a signed integer type, in float64, where 10**17 + 1 equals
    10**17 + 2. Labels that have no order with the classes (None among
    ints) raise numpy's TypeError.
    """
    if (
        labels.dtype.kind in "iu"
        and classes.dtype.kind in "iu"
        and np.result_type(labels.dtype, classes.dtype).kind == "f"
    ):
        labels, classes = labels.astype(object), classes.astype(object)
    unseen = np.setdiff1d(labels, classes)
    return (None if unseen.size else np.searchsorted(classes, labels)), unseen


def _reject_bool(value, name, caller):
    """Raise a TypeError for a bool passed as the integer parameter ``name``.

    scikit-learn's ``Interval(Integral, ...)`` lets bools through (bool is a
    subclass of int), and numpy then fails on them with no word of which
    parameter is wrong.
    """
    if isinstance(value, bool):
        raise TypeError(
            f"The {name!r} parameter of {caller} must be an int, got the bool {value!r}. "
            f"Pass a whole number, e.g. {name}=2."
        )


def _check_bool(value, name):
    """``value`` as a bool; TypeError naming ``name`` unless it is one (numpy's too)."""
    if not isinstance(value, bool | np.bool_):
        raise TypeError(f"{name} must be True or False, got {value!r}.")
    return bool(value)


def _check_file_path(path, name, example):
    """Raise a ValueError unless ``path`` names a file in an existing folder.

    Checked before the work that writes it (a fit, an export), which would
    otherwise fail at its end. ``name`` is the parameter, ``example`` a file
    name to suggest.
    """
    if not os.fspath(path) or os.path.isdir(path):
        raise ValueError(
            f"{name}={path!r} is empty or names a folder; give the path of a file in an "
            f"existing folder, e.g. {example!r}."
        )
    folder = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(folder):
        raise ValueError(
            f"{name}={path!r}: the folder {folder!r} does not exist; create it first, or "
            "give the path of a file in an existing folder."
        )


@validate_params(
    {
        "sequences": ["array-like"],
        "max_length": [Interval(Integral, 1, None, closed="left"), None],
        "fill_value": [Real],
    },
    prefer_skip_nested_validation=True,
)
def pad_sequences(sequences, max_length=None, fill_value=np.nan):
    """Stack sequences of different lengths into one padded 3D array.

    Parameters
    ----------
    sequences : list of array-like of shape (n_timesteps_i,) or (n_timesteps_i, n_features), \
            or array-like of 2 or 3 dimensions
        The sequences, oldest step first, each with at least one step.
        DataFrames in a list are matched by column name, in the order of the
        first one's columns; a 2D array or DataFrame holds a sequence per row.
    max_length : int, default=None
        Length of the output's time axis. Defaults to the longest sequence;
        longer sequences keep their most recent ``max_length`` steps
        (trailing steps whose features are all NaN are padding, not steps).
    fill_value : float, default=np.nan
        Value written past the end of each sequence. NaN is what the
        estimators read as padding.

    Returns
    -------
    X : ndarray of shape (n_samples, max_length, n_features)
        The padded sequences, float64.

    Raises
    ------
    InvalidParameterError
        If ``sequences`` is not a list or array of sequences, ``max_length``
        is not a positive int or None, or ``fill_value`` is not a number.
    TypeError
        If ``max_length`` is a bool, or DataFrames of several columns are
        mixed with arrays (whose columns have no names to match).
    ValueError
        If a sequence is empty, holds something other than numbers, or the
        sequences differ in their features (number, or DataFrames' column
        names).
    MemoryError
        If the padded array does not fit in memory, with its size.

    Examples
    --------
    >>> from sklrnn import pad_sequences
    >>> pad_sequences([[1.0, 2.0, 3.0], [4.0]])[:, :, 0]
    array([[ 1.,  2.,  3.],
           [ 4., nan, nan]])
    """
    _reject_bool(max_length, "max_length", "pad_sequences")
    if isinstance(fill_value, bool | np.bool_):
        raise TypeError(f"fill_value must be a number, got the bool {fill_value}.")
    try:
        converted = float(fill_value)
        # A longdouble beyond float64 turns into inf without an error.
        if math.isinf(converted) and fill_value != converted:
            raise OverflowError
    except OverflowError as exc:  # an int beyond float64
        raise ValueError("fill_value is beyond float64's range (|x| > 1.8e308).") from exc
    fill_value = converted
    if hasattr(sequences, "columns") or isinstance(sequences, Mapping):
        # A table, a sequence per row, as the estimators read it (a DataFrame
        # iterates over its column names, polars' over its columns); a
        # mapping is refused there (it too would iterate over its names).
        sequences = _numeric_array(
            sequences, "sequences", dtype=np.float64, ensure_all_finite="allow-nan"
        )
    if isinstance(sequences, torch.Tensor) and sequences.is_nested:  # len() fails on it
        sequences = _readable(sequences, "sequences")
    return _pad(_readable(list(sequences), "sequences"), max_length, fill_value, "sequences")


def _checked_sequences(sequences, input_name):
    """The sequences of a list as float64 2D arrays, DataFrames matched by name, none empty.

    ``sequences`` are as :func:`_readable` leaves them (pad_sequences and
    validate_sequences make them so).
    """
    sequences = list(sequences)
    frames = _frames_by_name(None, sequences, reset=True, input_name=input_name)
    seqs = _check_ragged(sequences if frames is None else frames, input_name)
    if not seqs:
        raise ValueError("pad_sequences needs at least one sequence.")
    empty = [i for i, seq in enumerate(seqs) if len(seq) == 0]
    if empty:  # NaN padding would make it a sequence of NaN only
        raise ValueError(
            f"Sequence {empty[0]} of {input_name} has length 0 (no time steps); drop empty "
            "sequences first."
        )
    return seqs


def _valid_steps(sequences, input_name):
    """The valid steps of a list of sequences, joined, and the sequences' lengths.

    What :func:`to_nan_padded` gives read at its valid steps, with the same
    checks, without padding every sequence to the longest.
    """
    seqs = _checked_sequences(sequences, input_name)
    lengths = _ragged_lengths(seqs, input_name)
    # In C order, as the padded array's valid steps are: column sums then
    # round alike (a DataFrame's values come in Fortran order).
    steps = np.empty((lengths.sum(), seqs[0].shape[1]))
    ends = np.cumsum(lengths)
    for seq, n, end in zip(seqs, lengths, ends, strict=True):
        steps[end - n : end] = seq[:n]
    return steps, lengths


def _pad(sequences, max_length, fill_value, input_name):
    """pad_sequences, naming the input ``input_name`` in error messages.

    DataFrames are matched by column name, in the order of the first one's
    columns. (The estimators match them in :func:`validate_sequences`, by
    the names ``fit`` saw.)
    """
    seqs = [_without_trailing_nan(s) for s in _checked_sequences(sequences, input_name)]
    empty = [i for i, s in enumerate(seqs) if not len(s)]
    if empty:
        raise _empty_sequence(input_name, empty[0])
    longest = max(len(s) for s in seqs)
    T = longest if max_length is None else int(max_length)
    shape = (len(seqs), T, seqs[0].shape[1])
    try:
        out = np.full(shape, fill_value, dtype=np.float64)
    except (MemoryError, ValueError) as exc:  # ValueError: beyond numpy's largest array
        raise _out_of_memory(
            "The padded sequences",
            shape,
            ", every sequence padded to the longest. Pass a smaller max_length, or drop the "
            "longest sequences."
            if max_length is None
            else f", every sequence padded to max_length={T}. Pass a smaller max_length.",
        ) from exc
    for i, s in enumerate(seqs):
        s = s[-T:]  # the most recent steps
        out[i, : len(s)] = s
    return out


def _without_trailing_nan(seq):
    """A 2D sequence without its trailing steps whose features are all NaN: padding, not steps."""
    if not np.isnan(seq[-1]).all():  # the common case, no padding: one step read
        return seq
    valid = np.flatnonzero(~np.isnan(seq).all(axis=1))
    return seq[: valid[-1] + 1 if len(valid) else 0]


def _out_of_memory(what, shape, explanation):
    """The MemoryError for a float64 array of ``shape`` that ``what`` would fill.

    ``explanation`` follows the size: why the array is that large, and the fix.
    """
    return MemoryError(
        f"{what} do not fit in memory: shape {shape} "
        f"({math.prod(shape) * 8 / 2**30:.3g} GiB of float64){explanation}"
    )


def _lengths_from_nan(X, input_name, first_sample=0):
    """Read sequence lengths off trailing NaN padding of a 3D array.

    A time step is padding when all its features are NaN and every later step
    is padding too. Any other NaN is an error. ``first_sample`` is the number
    of the first sample of ``X`` in error messages. Temporaries are boolean
    arrays of the input's shape at most, so that big inputs convert in little
    more memory than the data itself.
    """
    step_nan = np.isnan(X)
    if not step_nan.any():  # no padding at all, the common case
        return np.full(X.shape[0], X.shape[1], dtype=np.int64)
    n_timesteps, n_features = X.shape[1:]
    valid_step = ~step_nan.all(axis=2)
    # The length is one past the last step that is not all NaN.
    lengths = n_timesteps - np.argmax(valid_step[:, ::-1], axis=1)
    lengths[~valid_step.any(axis=1)] = 0
    del valid_step
    # Every NaN must lie past the end: count them per sample.
    n_nan = step_nan.sum(axis=(1, 2))
    inner = np.flatnonzero(n_nan != (n_timesteps - lengths) * n_features)
    if inner.size:
        i = inner[0]
        t, f = np.argwhere(step_nan[i, : lengths[i]])[0]
        # Padding along the last axis, of more values than steps: aeon's and
        # sktime's layout (a missing feature of a channels-last sequence is
        # no padding).
        padded_by_feature = step_nan[i].all(axis=0)
        first_pad = np.argmax(padded_by_feature)
        aeon = (
            n_timesteps < n_features
            and padded_by_feature[first_pad:].all()
            and not step_nan[i, :, :first_pad].any()
        )
        fix = (
            f"{input_name} is padded along its last axis, as in aeon's and sktime's layout "
            f"(n_samples, n_channels, n_timesteps): pass {input_name}.transpose(0, 2, 1)"
            if aeon
            else "impute missing values first, the same way for fit and predict, e.g. with "
            "sklearn.impute.SimpleImputer or pandas' ffill()"
        )
        raise ValueError(
            f"Input {input_name} contains NaN at sample {i + first_sample}, time step {t}, "
            f"feature {f}. NaN is only allowed as trailing padding (all features NaN from "
            f"some step to the end); {fix}."
        )
    empty = np.flatnonzero(lengths == 0)
    if empty.size:
        raise _empty_sequence(input_name, empty[0] + first_sample)
    return lengths.astype(np.int64)


def _empty_sequence(input_name, sample, steps=True):
    """The ValueError for a sequence without a valid step (``steps``: it has steps, all NaN)."""
    what = (
        f"contains NaN in every step of sample {sample}"
        if steps
        else f"has no steps in sample {sample}"
    )
    return ValueError(
        f"Input {input_name} {what} (a sequence of length 0). Drop empty sequences first."
    )


def _too_large_for_float32(input_name):
    """The ValueError for values beyond float32's range."""
    return ValueError(
        f"Input {input_name} contains values too large for float32 "
        f"(|x| > {np.finfo(np.float32).max:.3g}); rescale it first, the same way for "
        "fit and predict."
    )


def _warn_if_float32_zeroed(features, input_name):
    """Warn of ``features`` whose nonzero values all became 0 as float32."""
    if len(features):
        warnings.warn(
            f"The values of {input_name}'s features {[int(f) for f in features]} are all "
            "smaller in magnitude than float32's smallest number "
            f"({np.finfo(np.float32).smallest_subnormal:.3g}): as float32, the precision "
            "the network reads them in, they are all 0. Rescale the data (multiply it by a "
            "constant, e.g. 1e30), the same way for fit and predict.",
            UserWarning,
            stacklevel=_caller_outside_sklrnn(),
        )


def counted(n, noun):
    """``n`` and ``noun``, plural unless ``n`` is 1: "1 feature", "3 features"."""
    return f"{n} {noun}{'s' * (n != 1)}"


def _caller_outside_sklrnn():
    """The ``stacklevel`` that points a warning issued by this function's caller
    at the first frame outside sklrnn, scikit-learn (which wraps ``fit``:
    Pipelines, searches), joblib (which runs a search's fits) and torch (whose
    ``no_grad`` wraps methods of sklrnn): the line that called ``fit`` or
    ``predict``, however deep the call."""
    packages = (os.path.dirname(__file__),) + tuple(
        os.path.dirname(package.__file__) for package in (sklearn, joblib, torch)
    )
    frame, level = sys._getframe(2), 2  # the frame that calls warnings.warn
    while frame is not None and frame.f_code.co_filename.startswith(packages):
        frame, level = frame.f_back, level + 1
    return level


def _warn_if_float32_collapsed(X32, lengths, low, high, varies, input_name):
    """Warn of features of ``X32`` whose valid values are one value although
    ``varies(feature)``, which reads the input before float32 rounded it.

    1 + 1e-9 * signal became 1.0 everywhere: the model saw a constant (a
    classifier at chance), where a spread of a few float32 steps is warned
    of in ``fit``'s statistics. ``low`` and ``high`` are each feature's
    extremes in ``X32``, padding included.
    """
    # Padding is 0: where there is some, a feature of one value c among the
    # valid steps spans c and 0, and only these are read again, valid steps alone.
    padded = lengths.min() < X32.shape[1]
    candidates = np.flatnonzero((low == high) | (padded & ((low == 0) | (high == 0))))
    valid = np.arange(X32.shape[1])[None, :] < lengths[:, None] if candidates.size else None
    features = []
    for f in candidates:
        values = X32[:, :, f][valid] if padded else X32[:, :, f]
        if values.min() == values.max() and varies(f):
            features.append(int(f))
    if features:
        warnings.warn(
            f"The values of {input_name}'s features {features} differ, but as float32, the "
            "precision the network reads them in, they all became one value: their spread is "
            "tiny against their size (float32 keeps about 7 significant digits), and the "
            "model sees a constant. Subtract a constant near their mean first "
            f"(e.g. {input_name} - {input_name}.mean()), the same way for fit and predict.",
            UserWarning,
            stacklevel=_caller_outside_sklrnn(),
        )


def _extremes(X32):
    """Each feature's smallest and largest value in (n, steps, features) ``X32``
    (inf and -inf where it holds none)."""
    return X32.min(axis=(0, 1), initial=np.inf), X32.max(axis=(0, 1), initial=-np.inf)


def to_nan_padded(X, *, input_name="X"):
    """Convert any supported sequence input to a NaN-padded float64 3D array.

    The interchange format between sequence transformers and estimators:
    values past each sequence's end are NaN, so the lengths travel with the
    data.

    Parameters
    ----------
    X : array-like of shape (n_samples, n_timesteps) or (n_samples, n_timesteps, n_features), \
            or list of arrays
        Sequences, as for :func:`to_padded`.
    input_name : str, default="X"
        Name used in error messages.

    Returns
    -------
    X3d : ndarray of shape (n_samples, n_timesteps, n_features), float64
        Sequences with NaN past each end.
    lengths : ndarray of shape (n_samples,), int64
        True length of each sequence.

    Examples
    --------
    >>> from sklrnn._data import to_nan_padded
    >>> X3d, lengths = to_nan_padded([[1.0, 2.0], [3.0]])
    >>> X3d[:, :, 0].tolist(), lengths.tolist()
    ([[1.0, 2.0], [3.0, nan]], [2, 1])
    """
    X = _check_3d(X, input_name, np.float64)
    return X, _lengths_from_nan(X, input_name)


def _check_dense_numbers(X, input_name):
    """Raise a TypeError for sparse pandas columns and for dates or times, a ValueError for text.

    ``check_array`` would call sparse columns "not numbers", and would turn
    dates and durations into nanosecond counts without a word. Arrays of
    strings are refused as scikit-learn's estimators refuse them (object
    arrays and DataFrames of numbers written as text are read, as there).
    Repeated column names are a ValueError (scikit-learn's feature names
    would fail on them in narwhals, without a fix). A mapping (a dict of
    series, say) is a TypeError: numpy reads it as one object, which
    ``check_array`` called text.
    """
    if isinstance(X, Mapping) and not sp.issparse(X):  # scipy's dok format is a dict
        raise TypeError(
            f"{input_name} is a {type(X).__name__} (a mapping), which sklrnn does not read: "
            f"pass several sequences as a list, e.g. list({input_name}.values()), or one as "
            "an array or DataFrame."
        )
    if hasattr(X, "columns") and hasattr(X, "shape") and len(X.columns) == 0:
        # pandas and numpy fail on it with no word of why.
        raise ValueError(
            f"Found array with 0 feature(s) (shape={X.shape}) while a minimum of 1 is "
            "required: sequences need at least one time step and one feature."
        )
    if isinstance(X, pd.DataFrame):
        _unique_columns(X.columns, input_name)
        sparse = [c for c, dtype in X.dtypes.items() if isinstance(dtype, pd.SparseDtype)]
        if sparse:
            every = len(sparse) == X.shape[1]
            what = "is a sparse DataFrame" if every else f"has sparse columns {sparse}"
            fix = ".sparse.to_dense()" if every else ".astype(float)"
            raise TypeError(
                f"{input_name} {what}, but sequences are dense and sparse data is not "
                f"supported. Convert it with {input_name}{fix}."
            )
        dtypes = X.dtypes.items()
    elif isinstance(getattr(X, "schema", None), Mapping):  # polars: its own dtypes
        dtypes = X.schema.items()
    else:
        dtype = getattr(X, "dtype", None)
        # pandas' own dtypes too: dates with a time zone and arrow's were read
        # as counts of microseconds or nanoseconds.
        known = isinstance(dtype, np.dtype | pd.api.extensions.ExtensionDtype)
        dtypes = [(None, dtype)] if known or _is_temporal(dtype) else []
        if isinstance(dtype, np.dtype) and dtype.kind in "US":
            raise ValueError(
                f"{input_name} is an array of strings (dtype {dtype}), not numbers. "
                f"Convert numbers written as text with {input_name}.astype(float), and "
                "encode categories as numbers, e.g. with sklearn.preprocessing.OrdinalEncoder."
            )
    for column, dtype in dtypes:
        where = f"Column {column!r} of {input_name}" if column is not None else input_name
        if getattr(dtype, "kind", None) == "c":  # scikit-learn's message printed all of X
            raise ValueError(  # scikit-learn's words, which its checks expect, first
                f"Complex data not supported: {where} holds complex numbers (dtype "
                f"{dtype}). Pass their real and imaginary parts (or magnitude and phase) as "
                "features, e.g. np.stack([X.real, X.imag], axis=-1)."
            )
        if isinstance(dtype, pd.CategoricalDtype):
            # Beside a nullable column, pandas' "Cannot cast str dtype to
            # float64" named neither; numbers written as text are read.
            try:
                dtype.categories.astype(np.float64)
            except (TypeError, ValueError):
                raise ValueError(
                    f"{where} is categorical with categories that are no numbers (dtype "
                    f"{dtype.categories.dtype}). Encode it as numbers first, e.g. with "
                    "sklearn.preprocessing.OrdinalEncoder, or drop it."
                ) from None
        if _is_temporal(dtype):
            # A table with a time column is usually a long table: a row per time step.
            long = (
                ""
                if column is None
                else " If each row is one time step of a series (a long table of ids, "
                "times and features), turn it into sequences with "
                "sklrnn.preprocessing.long_to_sequences."
            )
            raise TypeError(
                f"{where} holds dates or times (dtype {dtype}), not numbers. Convert them "
                f"to numbers first, e.g. to elapsed seconds, or drop them.{long}"
            )


def _is_temporal(dtype):
    """True for a date, time or duration dtype: numpy's and pandas' (of kind M or m) or polars'."""
    if getattr(dtype, "kind", None) in ("M", "m"):
        return True
    is_temporal = getattr(dtype, "is_temporal", None)
    return callable(is_temporal) and bool(is_temporal())


def _numeric_array(X, input_name, first_sample=0, **kwargs):
    """scikit-learn's ``check_array``, naming the input and the fix when a value is no number.

    Where NaN is allowed (``ensure_all_finite="allow-nan"``), an infinity is
    refused with its position; check_array named neither it nor the fix.
    """
    if isinstance(X, list | tuple):
        # As check_array reads it, so that a list of strings shows as such.
        with suppress(ValueError):  # of unequal lengths: check_array names it
            X = np.asarray(X)
    _check_dense_numbers(X, input_name)
    allow_nan = kwargs.get("ensure_all_finite") == "allow-nan"
    if allow_nan:
        kwargs["ensure_all_finite"] = False
    with _numbers_only(input_name, X):
        X = check_array(_masked_as_nan(_categories_as_numbers(X)), input_name=input_name, **kwargs)
    # A 0-d array (a scalar where a sequence belongs) is named by its caller.
    if allow_nan and X.dtype.kind == "f" and X.ndim:
        infinite = np.isinf(X)
        if infinite.any():
            first = tuple(int(i) for i in np.argwhere(infinite)[0])
            # Numbered in the whole input when X is a chunk of its samples.
            where = [first[0] + first_sample, *first[1:]]
            raise ValueError(
                f"Input {input_name} contains infinity: {input_name}{where} is {X[first]}, the "
                "first. Replace or clip infinite values first, the same way for fit and predict."
            )
    return X


def _categories_as_numbers(X):
    """A pandas ``X``'s categorical columns (of numbers: checked before) as float64; else ``X``.

    pandas reads a frame whose columns all hold categories of ints as int64,
    a missing value as -9.2e18 (padding read as a number).
    """
    if isinstance(X, pd.Series) and isinstance(X.dtype, pd.CategoricalDtype):
        return X.astype(np.float64)
    if isinstance(X, pd.DataFrame):
        kinds = {c: np.float64 for c, t in X.dtypes.items() if isinstance(t, pd.CategoricalDtype)}
        return X.astype(kinds) if kinds else X
    return X


def _masked_as_nan(X):
    """A masked array's masked values as NaN, the missing values sequences hold; else ``X``.

    NaN is padding after a sequence's last step and an error anywhere else;
    check_array would read the values under the mask.
    """
    if isinstance(X, np.ma.MaskedArray):
        return X.astype(np.float64).filled(np.nan)
    return X


def _masked_as_missing(values):
    """A masked array's masked values as None (missing labels, targets or
    weights, which fit refuses); else ``values``.

    check_array and column_or_1d would read the values under the mask.
    """
    if not isinstance(values, np.ma.MaskedArray):
        return values
    masked = np.ma.getmaskarray(values)
    if not masked.any():
        return values.data
    missing = values.data.astype(object)  # filled(None) would fill with "?"
    missing[masked] = None
    return missing


@contextmanager
def _numbers_only(input_name, X=None):
    """Re-raise numpy's errors for values that are no float64 numbers, naming the input and fix.

    A pandas ``X``'s columns of text are named.
    """
    try:
        yield
    except OverflowError as exc:  # a Python int beyond float64
        raise ValueError(
            f"{input_name} holds a number beyond float64's range ({exc}). Rescale it first, "
            "the same way for fit and predict."
        ) from exc
    except (TypeError, ValueError) as exc:
        if "setting an array element with a sequence" in str(exc):
            raise ValueError(
                f"{input_name} holds sequences where numbers belong ({exc}). Pass sequences "
                "of different lengths as a list of arrays of shape (n_timesteps_i, "
                "n_features). A DataFrame whose cells hold series (sktime's nested format) "
                "converts with [np.column_stack(row) for row in df.itertuples(index=False)]; "
                "a polars DataFrame of list columns with [np.column_stack(row) for row in "
                "df.iter_rows()]."
            ) from exc
        if "could not convert" not in str(exc) and "argument must be" not in str(exc):
            raise
        if "NAType" in str(exc):
            raise type(exc)(
                f"{input_name} holds pd.NA among numbers (in a column or array of objects "
                "or text), which numpy cannot read as a number. Missing values are NaN: convert it "
                f"with {input_name}.astype(float) (pd.NA becomes NaN), then treat NaN as "
                "padding (trailing) or impute it."
            ) from exc
        # numpy's message names the value but not the input or the fix.
        text = _text_columns(X) if isinstance(X, pd.DataFrame) else []
        where = ""
        if text:
            shown = f"{text[:5]}{', ...' if len(text) > 5 else ''}"
            where = f" (in the column{'s' if len(text) > 1 else ''} {shown})"
        raise type(exc)(
            f"{input_name} must hold numbers only, but {exc}{where}. Encode text or "
            "categorical values that change along a sequence as numbers first, e.g. with "
            "sklearn.preprocessing.OrdinalEncoder. A value that describes a whole sequence "
            "(its id, a category) is no time step: leave it out, and join it to the "
            "network's features in a ColumnTransformer (user guide, 'Input formats')."
        ) from exc


def _text_columns(df):
    """The columns of DataFrame ``df`` that hold values no number reads."""

    def text(column):
        try:
            return bool((pd.to_numeric(column, errors="coerce").isna() & column.notna()).any())
        except (TypeError, ValueError):  # lists, say
            return True

    return [c for c, column in df.items() if text(column)]


def _refuse_iterator(values, input_name):
    """Refuse an iterator (a generator, say), which numpy and scikit-learn misread."""
    if isinstance(values, Iterator):
        raise TypeError(
            f"{input_name} is an iterator ({type(values).__name__}), which can be read only "
            f"once; pass it as a list or an array, e.g. list({input_name})."
        )


def _check_3d(X, input_name, dtype, first_sample=0):
    """Check any supported input (as :func:`_readable` leaves it) as a 3D array of ``dtype``.

    ``first_sample``: the number of X's first sample in messages (X a chunk of an input).
    """
    if isinstance(X, memoryview):  # numpy counts it as a scalar
        X = np.asarray(X)
    if X is None or np.isscalar(X) or hasattr(X, "shape") and len(X.shape) == 0:
        # check_array's message would show it as a 0D array.
        got = "None" if X is None else f"the scalar {X.item() if hasattr(X, 'item') else X!r}"
        raise TypeError(
            f"{input_name} must be sequences (a 2D or 3D array-like, a DataFrame or a list "
            f"of arrays), got {got}, which has 0 dimensions."
        )
    _refuse_iterator(X, input_name)  # it would read as one non-numeric value
    shape = getattr(X, "shape", ())
    if len(shape) == 3 and shape[1] == 0:  # scikit-learn would count 0 features
        raise ValueError(
            f"{input_name} has 0 time steps (shape {shape}): sequences need at least one "
            "time step and one feature."
        )
    if _is_ragged(X):
        X = _pad(X, None, np.nan, input_name)
    X = _numeric_array(
        X,
        input_name,
        first_sample,
        ensure_2d=False,  # 1D input gets its own message below
        allow_nd=True,
        dtype=dtype,
        ensure_all_finite="allow-nan",
    )
    if X.ndim == 1:
        # reshape(-1, 1), scikit-learn's usual advice, would make each value
        # a sequence of one step.
        raise ValueError(
            f"Expected 2D (n_samples, n_timesteps) or 3D (n_samples, n_timesteps, "
            f"n_features) input, got 1D input with shape {X.shape}. Reshape your data: "
            f"pass one sequence as {input_name}[None, :], of shape (1, n_timesteps), and "
            "several as a 2D array of shape (n_samples, n_timesteps) or, if their lengths "
            "differ, as a list of arrays. To forecast from one long series, cut it into "
            "windows and targets with sklrnn.preprocessing.make_windows."
        )
    if X.ndim == 2:
        X = X[:, :, None]
    if X.ndim != 3:
        raise ValueError(
            f"Expected 2D (n_samples, n_timesteps) or 3D (n_samples, n_timesteps, "
            f"n_features) input, got {X.ndim}D input with shape {X.shape}. "
            "Reshape your data."
        )
    if X.shape[1] == 0 or X.shape[2] == 0:
        raise ValueError(
            f"Found array with 0 feature(s) (shape={X.shape}) while a minimum of 1 is "
            "required: sequences need at least one time step and one feature."
        )
    return X


def to_padded(X, *, input_name="X", first_sample=0, max_length=None, ragged=False):
    """Convert any supported sequence input to ``(X3d, lengths)``.

    Parameters
    ----------
    X : array-like of shape (n_samples, n_timesteps) or (n_samples, n_timesteps, n_features), \
            or list or pandas Series of arrays
        Sequences. 2D input holds one feature per time step; a list or Series
        holds sequences of different lengths; trailing NaN marks padding.
    input_name : str, default="X"
        Name used in error messages.
    first_sample : int, default=0
        Number of the first sample of ``X`` in error messages, when ``X`` is
        a chunk of a bigger input.
    max_length : int, default=None
        Keep the most recent ``max_length`` steps of each sequence (as
        :func:`truncate`); None keeps them all.
    ragged : bool, default=False
        Read ``X`` as a list of sequences even where their lengths are
        equal: a chunk of a bigger ragged input.

    Returns
    -------
    X3d : ndarray of shape (n_samples, n_timesteps, n_features), float32
        Sequences with zeros past each end.
    lengths : ndarray of shape (n_samples,), int64
        True length of each sequence (at most ``max_length``).

    Examples
    --------
    >>> import numpy as np
    >>> from sklrnn._data import to_padded
    >>> X3d, lengths = to_padded(np.array([[1.0, 2.0], [3.0, np.nan]]))
    >>> X3d.shape, lengths.tolist()
    ((2, 2, 1), [2, 1])
    """
    if ragged or _is_ragged(X):
        return _ragged_to_padded(X, input_name, first_sample, max_length)
    # float32 input stays float32 (any other dtype becomes float32 directly):
    # the result is one float32 copy of the data, with no float64 detour.
    # longdouble too, so that values beyond float32 are named below (cast to
    # float32 by check_array, they became infinities and a numpy warning).
    X = _check_3d(X, input_name, [np.float32, np.float64, np.longdouble], first_sample)
    lengths = _lengths_from_nan(X, input_name, first_sample)
    with np.errstate(over="ignore"):  # reported just below, with the fix
        X32 = X.astype(np.float32)
    if lengths.min() < X32.shape[1]:  # zero the padding, NaN until now
        _zero_past_lengths(X32, lengths)
    if X.dtype != np.float32:
        if not np.isfinite(X32).all():
            raise _too_large_for_float32(input_name)
        # Values below float32's range become 0: a feature of them is lost.
        low, high = _extremes(X32)
        zero = (low == 0) & (high == 0)
        _warn_if_float32_zeroed(
            [f for f in np.flatnonzero(zero) if np.nan_to_num(X[:, :, f]).any()], input_name
        )
        _warn_if_float32_collapsed(
            X32,
            lengths,
            low,
            high,
            lambda f: not zero[f] and np.nanmin(X[:, :, f]) < np.nanmax(X[:, :, f]),
            input_name,
        )
    if max_length is not None:
        X32, lengths = truncate(X32, lengths, max_length)
    return X32, lengths


def _ragged_to_padded(X, input_name, first_sample, max_length):
    """:func:`to_padded` for a list of sequences, each written once into the float32 result.

    The same array as padding the list with NaN first and converting that,
    without the float64 copy of the whole width (2.8 GB at the peak, where
    the result takes 0.8, for 1,000 sequences of 20 steps and one of
    200,000), and with only the kept steps padded.
    """
    seqs = _check_ragged(list(X), input_name, first_sample)  # scikit-learn rejects 0 features
    lengths = _ragged_lengths(seqs, input_name, first_sample)
    width = int(lengths.max())  # trailing NaN steps are padding, as pad_sequences drops them
    kept = lengths
    if max_length is not None:
        width, kept = min(width, max_length), np.minimum(lengths, max_length)
    X32 = np.zeros((len(seqs), width, seqs[0].shape[1]), dtype=np.float32)
    with np.errstate(over="ignore"):  # reported just below, with the fix
        for i, seq in enumerate(seqs):
            valid = seq[: lengths[i]].astype(np.float32)  # every valid step, as for an array
            if not np.isfinite(valid).all():
                raise _too_large_for_float32(input_name)
            X32[i, : kept[i]] = valid[lengths[i] - kept[i] :]
    # Once over the result (its padding is 0), not per sequence: 3 us each
    # were a third of converting 100,000 sequences of 3 steps.
    low, high = _extremes(X32)
    zero = (low == 0) & (high == 0)
    _warn_if_float32_zeroed(
        [
            f
            for f in np.flatnonzero(zero)
            if any(seq[lengths[i] - kept[i] : lengths[i], f].any() for i, seq in enumerate(seqs))
        ],
        input_name,
    )

    def varies(f):
        values = [seq[lengths[i] - kept[i] : lengths[i], f] for i, seq in enumerate(seqs)]
        first = values[0][0]
        return not zero[f] and any((part != first).any() for part in values)

    _warn_if_float32_collapsed(X32, kept, low, high, varies, input_name)
    return X32, kept


def _ragged_lengths(seqs, input_name, first_sample=0):
    """The length of each of the checked 2D ``seqs``, off its trailing NaN; an empty one refused."""
    lengths = np.zeros(len(seqs), dtype=np.int64)
    for i, seq in enumerate(seqs):
        if len(seq) == 0:
            raise _empty_sequence(input_name, i + first_sample, steps=False)
        lengths[i] = _lengths_from_nan(seq[None], input_name, i + first_sample)[0]
    return lengths


def _is_table(X):
    """True for a 2D array-like: one row per sample, one column per time step."""
    if _is_ragged(X):
        return False
    ndim = getattr(X, "ndim", None)
    if ndim is None and isinstance(X, list | tuple):
        try:
            ndim = np.ndim(X)
        except ValueError:  # inhomogeneous nesting; to_padded reports it
            return False
    if ndim is None and hasattr(X, "columns"):  # a DataFrame of another library (polars)
        ndim = len(getattr(X, "shape", ()))
    return ndim == 2


def _unique_columns(names, holder):
    """Refuse pandas column ``names`` of ``holder`` that repeat a name."""
    if names.has_duplicates:
        raise ValueError(
            f"{holder} has the column names {names[names.duplicated()].unique().tolist()} "
            "more than once. Columns are matched by their names: rename or drop the "
            "duplicates first."
        )


def _same_columns(df, name, columns, first):
    """``df`` with its columns in the order of ``columns``, the columns of ``first``."""
    for holder, names in ((first, columns), (name, df.columns)):
        _unique_columns(names, holder)
    missing = [c for c in columns if c not in df.columns]
    extra = [c for c in df.columns if c not in columns]
    if missing or extra:
        raise ValueError(
            f"{name} does not have the columns of {first}: missing {missing}, extra "
            f"{extra}. Features are matched by column name, so every DataFrame must "
            "have the same column names, in any order."
        )
    return df if df.columns.equals(columns) else df[columns]


# What pandas infers of an object index of Python's times (dates, say).
_TIME_KINDS = ("date", "datetime", "datetime64", "period", "timedelta", "timedelta64", "time")


def time_index(index):
    """``index`` if it holds times, else None; categories of times as their values.

    Times are numpy's and arrow's dates, timestamps and durations, periods,
    and Python's dates and times in an object index (a groupby on
    ``.dt.date``'s).
    """
    if isinstance(index, pd.CategoricalIndex):
        # Its order is the categories' (reversed dates compared as increasing).
        index = index.astype(index.categories.dtype)
    if isinstance(index, pd.Index) and (
        isinstance(index, pd.PeriodIndex)
        or getattr(index.dtype, "kind", None) in ("M", "m")
        or index.dtype == object
        and pd.api.types.infer_dtype(index) in _TIME_KINDS
    ):
        return index
    return None


def _frames_by_name(estimator, X, reset, first_sample=0, input_name="X"):
    """A list of DataFrames in ``X`` with their columns in the order of the features.

    Returns None unless ``X`` is a list, tuple or Series of DataFrames only.
    In fit (``reset``) the first DataFrame's columns name the features;
    afterwards the columns fit saw (``feature_names_in_``), where it saw
    names. Columns are matched by name, never by position. Names that are
    not all strings are no feature names (as for scikit-learn's tables, which
    keep string names only), so such DataFrames are read by position, and
    must then all have their columns in one order. Messages name the
    DataFrames ``input_name[i]``, numbered from ``first_sample``.
    """
    items = list(X) if isinstance(X, list | tuple | pd.Series) else []
    if not items or not all(isinstance(item, pd.DataFrame) for item in items):
        return None
    if not reset and hasattr(estimator, "feature_names_in_") and not estimator._fitted_on_table:
        columns, first = pd.Index(estimator.feature_names_in_), "the DataFrames fit saw"
    elif reset and all(isinstance(c, str) for c in items[0].columns):
        columns, first = items[0].columns, f"{input_name}[{first_sample}]"
    else:
        if not reset and estimator._fitted_on_table:
            return items  # a table's sequences have one feature: its count is checked next
        unnamed_fit = None if reset else type(estimator).__name__  # fit saw no names
        return _in_one_order(items, input_name, first_sample, unnamed_fit)
    return [
        _same_columns(df, f"{input_name}[{i}]", columns, first)
        for i, df in enumerate(items, start=first_sample)
    ]


def check_frame_order(estimator, X):
    """Refuse a list of DataFrames that predict would read by position in several orders.

    :func:`_frames_by_name` checks a chunk of a list; this, the whole list.
    """
    items = list(X) if isinstance(X, list | tuple | pd.Series) else []
    if items and all(isinstance(item, pd.DataFrame) for item in items):
        if not (hasattr(estimator, "feature_names_in_") or estimator._fitted_on_table):
            _in_one_order(items, unnamed_fit=type(estimator).__name__)


def _in_one_order(frames, input_name="X", first_sample=0, unnamed_fit=None):
    """``frames``, DataFrames read by position, if their columns come in one order.

    ``unnamed_fit``: the name of the fitted estimator that saw no feature names, if any.
    """
    columns = frames[0].columns
    for i, df in enumerate(frames, start=first_sample):
        if not df.columns.equals(columns):
            if unnamed_fit and all(isinstance(c, str) for c in columns):
                why = (
                    f"{unnamed_fit} was fitted without feature names, so features are read "
                    "by position: give every DataFrame the same column order, or fit on "
                    "DataFrames with these names (then matched by name)."
                )
            else:
                why = (
                    "Features under names that are not strings are read by position (string "
                    "names are matched, as scikit-learn's feature names): give every "
                    "DataFrame the same column order, or string column names, e.g. "
                    "df.columns = df.columns.astype(str) (and fit on those)."
                )
            raise ValueError(
                f"{input_name}[{i}] has the columns {df.columns.tolist()}, in another order "
                f"than {input_name}[{first_sample}]'s {columns.tolist()}. {why}"
            )
    return frames


# A feature whose spread is at most this fraction of its size is constant,
# centred and not scaled: such a spread is the rounding of the sums over its
# values (0.1 repeated 1,200 times: 2.1e-15), far below what float32, the
# network's precision, holds.
CONSTANT_SPREAD = 1e-12


def column_moments(values):
    """Mean, variance and standard deviation of each column of 2D ``values``, near any scale.

    Each column is first divided by the largest power of 2 not above its
    largest magnitude, so that neither the sum nor the squares overflow;
    dividing by a power of 2 is exact, so other data gives the same bits as
    without it. The variance is inf where it is beyond float64's range.
    """
    _, exponent = np.frexp(np.abs(values).max(axis=0))
    power = np.ldexp(1.0, exponent - 1)
    unit = values / power
    unit_var = unit.var(axis=0)
    with np.errstate(over="ignore"):  # inf beyond float64's range
        var = unit_var * power * power  # not power**2: 0 * inf would be NaN
    return unit.mean(axis=0) * power, var, np.sqrt(unit_var) * power


def validate_sequences(
    estimator,
    X,
    *,
    reset,
    keep_nan=False,
    steps=False,
    first_sample=0,
    max_length=None,
    ragged=False,
    feature_names=True,
):
    """Validate ``X`` for an estimator and convert it to ``(X3d, lengths)``.

    A 2D table goes through scikit-learn's ``validate_data``, so that
    ``n_features_in_`` and ``feature_names_in_`` mean what they mean for any
    scikit-learn estimator (the columns of the table). For 3D and ragged input
    ``n_features_in_`` is the size of the feature axis. At predict time the
    number of features per time step must match what ``fit`` saw; a model fitted
    on 3D or ragged input accepts sequences of any length.

    Parameters
    ----------
    estimator : estimator instance
        The estimator being fitted or used.
    X : array-like or list of arrays
        The input.
    reset : bool
        True in ``fit``, False in predict-like methods.
    keep_nan : bool, default=False
        Return float64 with NaN past each end (:func:`to_nan_padded`, for
        transformers) instead of float32 with zeros (:func:`to_padded`).
    steps : bool, default=False
        With ``keep_nan``, return the valid steps of all sequences joined, of
        shape (total steps, n_features), instead of the padded array: a list
        is then never padded to its longest sequence.
    first_sample : int, default=0
        Number of the first sample of ``X`` in error messages, when ``X`` is
        a chunk of a bigger input (float32 conversion only); a later chunk
        (``first_sample`` > 0) gets no warning of how X's layout and feature
        names are read, which its first chunk gave.
    max_length : int, default=None
        Keep the most recent ``max_length`` steps of each sequence (float32
        conversion only); None keeps them all.
    ragged : bool, default=False
        Read ``X`` as a list of sequences even where their lengths are
        equal: a chunk of a bigger ragged input (float32 conversion only).
    feature_names : bool, default=True
        Whether a table gets scikit-learn's warnings that its column names
        are missing, or present where fit saw none; False checks the names
        of a table that has them against those fit saw, and otherwise its
        number of columns alone (an inverse transform reads transform's
        output; a warnings filter around the check would not be thread-safe).

    Returns
    -------
    X3d : ndarray of shape (n_samples, n_timesteps, n_features), float32
        float64 with ``keep_nan``; of shape (total steps, n_features) with ``steps``.
    lengths : ndarray of shape (n_samples,), int64
    """
    name = type(estimator).__name__
    X = _readable(X)
    if sp.issparse(X):
        raise TypeError(
            f"{name} does not accept sparse input: sequences are dense. Convert X with X.toarray()."
        )
    table = not ragged and _is_table(X)
    if table and (reset or estimator._fitted_on_table):
        _check_dense_numbers(X, "X")
        # Feature names and column count, with scikit-learn's own messages.
        try:
            named = hasattr(X, "columns") and hasattr(estimator, "feature_names_in_")
            # A later chunk's names are the first chunk's: warned of once.
            if (feature_names or reset or named) and not first_sample:
                validate_data(estimator, X, reset=reset, skip_check_array=True)
            elif np.shape(X)[1] != estimator.n_features_in_:
                raise ValueError(
                    f"X has {np.shape(X)[1]} features, but {name} is expecting "
                    f"{estimator.n_features_in_} features as input."
                )
        except ValueError as exc:
            if reset or "features as input" not in str(exc):
                raise
            # "X has 15 features, but ... expecting 20": a table's columns are its steps.
            column = (
                " If X is one sequence as a column, pass it as a row: X.reshape(1, -1)."
                if isinstance(X, np.ndarray) and X.shape == (estimator.n_features_in_, 1)
                else ""
            )
            raise ValueError(
                f"{exc} {name} was fitted on a 2D table, whose columns are the time steps "
                "of one feature: pass tables with as many columns, or sequences of other "
                "lengths as a 3D array (n_samples, n_timesteps, 1) or a list of sequences."
                f"{column}"
            ) from exc
    frames = None if table else _frames_by_name(estimator, X, reset, first_sample)
    if frames is not None:
        X = frames
    if keep_nan and steps and _is_ragged(X):
        X3d, lengths = _valid_steps(X, "X")
    elif keep_nan:
        X3d, lengths = to_nan_padded(X)
        if steps:
            X3d = X3d[np.arange(X3d.shape[1])[None, :] < lengths[:, None]]
    else:
        X3d, lengths = to_padded(X, first_sample=first_sample, max_length=max_length, ragged=ragged)
    if reset:
        if not table:
            # Lengths cut to max_length tell nothing of the sequences' own.
            if max_length is None or lengths.max() < max_length:
                _warn_if_features_first(lengths, X3d.shape[-1])
            estimator.n_features_in_ = X3d.shape[-1]
            names = None if frames is None else frames[0].columns
            if names is not None and all(isinstance(c, str) for c in names):
                # As scikit-learn names the features of a table: string names only.
                estimator.feature_names_in_ = np.asarray(names, dtype=object)
            elif hasattr(estimator, "feature_names_in_"):
                del estimator.feature_names_in_
        elif not steps and np.shape(X)[1] == 1 < len(X3d):  # (not cut by max_length)
            # One column: every sequence a single step, likely a long table.
            _warn_one_column(
                X,
                " If each row is a time step of a series (a long table), turn the rows into "
                "sequences with sklrnn.preprocessing.long_to_sequences.",
            )
        estimator._fitted_on_table = table
        estimator._n_channels = X3d.shape[-1]
    elif X3d.shape[-1] != estimator._n_channels:
        # A table as wide as the features is likely one sequence, rows as steps.
        if table:
            one = long_table_hint(X) or (
                " If X is one sequence (a row per time step, a column per feature), pass it "
                "in a list: [X]."
                if np.shape(X)[1] == estimator._n_channels
                else ""
            )
        elif X3d.shape[1] != estimator._n_channels:
            one = ""
        else:  # steps as many as the features: aeon's layout, of X or of the fit
            transposed = (
                "X.transpose(0, 2, 1)"
                if isinstance(X, np.ndarray)
                else "[np.transpose(s) for s in X]"
            )
            one = (
                " If X is in aeon's or sktime's layout (n_samples, n_channels, "
                f"n_timesteps), pass {transposed}."
            )
            if X3d.shape[1] > X3d.shape[-1]:  # more steps than features: likely the fit's
                one += (
                    f" If {name} was fitted on that layout (fit warned of fewer time steps "
                    "than features), fit it again on its training data transposed."
                )
        raise ValueError(
            f"X has {counted(X3d.shape[-1], 'feature')} per time step, but {name} is "
            f"expecting {counted(estimator._n_channels, 'feature')} per time step as "
            f"input.{one}"
        )
    elif first_sample:
        pass  # a later chunk of an input whose first chunk got the warnings below
    elif table and not steps and np.shape(X)[1] == 1 < len(X3d) and not estimator._fitted_on_table:
        # One sequence of one feature, as a column: read as one-step sequences.
        _warn_one_column(
            X, " If it is one sequence (a row per time step), pass it as X[None] or in a list: [X]."
        )
    elif not table and not estimator._fitted_on_table:
        # scikit-learn's warnings for tables with and without feature names.
        named = frames is not None and all(isinstance(c, str) for c in frames[0].columns)
        fitted_named = hasattr(estimator, "feature_names_in_")
        if named != fitted_named:
            warnings.warn(
                f"X does not have valid feature names, but {name} was fitted with feature "
                "names: its features are read by position."
                if fitted_named
                else f"X has feature names, but {name} was fitted without feature names: "
                "its features are read by position.",
                UserWarning,
                stacklevel=_caller_outside_sklrnn(),
            )
    return X3d, lengths


def _warn_one_column(X, otherwise):
    """Warn that table ``X`` of one column is read as one-step sequences, with the
    hint of a long table (:func:`long_table_hint`) or else ``otherwise``."""
    warnings.warn(
        "X is a table of one column, read as sequences of one time step each, one per row."
        + (long_table_hint(X) or otherwise),
        UserWarning,
        stacklevel=_caller_outside_sklrnn(),
    )


def long_table_hint(X):
    """A sentence on a DataFrame whose rows are indexed by (series, time step); else "".

    Such a table (sktime's "pd-multiindex" format) has a row per time step,
    where the estimators read a row per sequence.
    """
    index = getattr(X, "index", None)
    if not isinstance(index, pd.MultiIndex) or index.nlevels != 2:
        return ""
    ids, times = (f"level_{i}" if name is None else name for i, name in enumerate(index.names))
    return (
        f" X's rows are indexed by ({ids!r}, {times!r}), a row per time step of a series "
        "(sktime's 'pd-multiindex' format): turn it into sequences with X, _, ids = "
        f"sklrnn.preprocessing.long_to_sequences(X.reset_index(), {ids!r}, {times!r})."
    )


def _warn_if_features_first(lengths, n_features):
    """Warn where every sequence has fewer steps than features: likely (samples, features, steps).

    aeon and sktime hold sequences as (n_samples, n_channels, n_timesteps),
    which sklrnn, channels last, would read as few long steps without a word.
    """
    if lengths.max() < n_features:
        warnings.warn(
            f"Every sequence of X has fewer time steps (at most {lengths.max()}) than "
            f"features ({n_features}). sklrnn reads sequences channels last, "
            "(n_samples, n_timesteps, n_features): if X is in aeon's or sktime's layout "
            "(n_samples, n_channels, n_timesteps), pass X.transpose(0, 2, 1) (a list of "
            "sequences: [s.T for s in X]).",
            UserWarning,
            stacklevel=_caller_outside_sklrnn(),
        )


def truncate(X3d, lengths, max_length):
    """Keep the most recent ``max_length`` steps of each sequence.

    Parameters
    ----------
    X3d : ndarray of shape (n_samples, n_timesteps, n_features)
        Sequences with zeros past each end.
    lengths : ndarray of shape (n_samples,)
        True length of each sequence.
    max_length : int
        Number of steps to keep.

    Returns
    -------
    X3d : ndarray of shape (n_samples, min(n_timesteps, max_length), n_features)
    lengths : ndarray of shape (n_samples,)
    """
    if X3d.shape[1] <= max_length:
        return X3d, lengths
    start = np.maximum(lengths - max_length, 0)
    steps = start[:, None] + np.arange(max_length)[None, :]
    new_lengths = np.minimum(lengths, max_length)
    out = np.take_along_axis(X3d, np.minimum(steps, X3d.shape[1] - 1)[:, :, None], axis=1)
    _zero_past_lengths(out, new_lengths)
    return out, new_lengths


def _zero_past_lengths(X3d, lengths):
    """Set the steps of ``X3d`` (samples, steps, features) past each length to 0, in place.

    A broadcast mask: indexing with a 2D boolean mask would build two index
    arrays of 8 bytes per padded step (3.2 GB for 1,000 sequences padded to
    200,000 steps).
    """
    padding = np.arange(X3d.shape[1])[None, :, None] >= lengths[:, None, None]
    np.copyto(X3d, 0.0, where=padding)
