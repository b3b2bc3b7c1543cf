"""Loaders for the small public data sets shipped with sklrnn."""

import gzip
import os
from importlib import resources

import numpy as np
import pandas as pd
from sklearn.utils import Bunch

__all__ = [
    "load_airline",
    "load_basic_motions",
    "load_covid3month",
    "load_gunpoint",
    "load_italy_power_demand",
    "load_japanese_vowels",
    "load_ts_file",
]

_DATA = resources.files("sklrnn.datasets") / "data"


def _read_ts(name, split):
    """Parse a bundled UCR/UEA ``.ts`` file into header, sequences and targets."""
    if split not in ("train", "test"):
        raise ValueError(f"split must be 'train' or 'test', got {split!r}.")
    path = _DATA / f"{name}_{split.upper()}.ts.gz"
    with gzip.open(path, "rt", encoding="utf-8") as fh:
        return _parse_ts(fh.read().splitlines())


def _parse_ts(lines):
    """Header, comments, sequences (n_timesteps, n_channels) and targets of ``.ts`` lines."""
    header, comments, sequences, targets = {}, [], [], []
    in_data = False
    for line in lines:
        line = line.strip()
        if not line:
            continue
        if not in_data:
            if line.startswith("#"):
                comments.append(line[1:].strip())
            elif line.lower().startswith("@data"):
                in_data = True
            elif line.startswith("@"):
                key, _, value = line[1:].partition(" ")
                header[key.lower()] = value.strip()
            continue
        *channels, target = line.split(":")
        seq = np.array(
            [[np.nan if v == "?" else float(v) for v in ch.split(",")] for ch in channels]
        ).T  # (n_timesteps, n_channels)
        sequences.append(seq)
        targets.append(target.strip())
    return header, comments, sequences, targets


def load_ts_file(path):
    """Load a data set stored in the UCR/UEA archive's ``.ts`` text format.

    Parameters
    ----------
    path : str or path-like
        The ``.ts`` file (plain text, or gzip-compressed when the name ends
        in ``.gz``).

    Returns
    -------
    X : ndarray of shape (n_samples, n_timesteps) or \
(n_samples, n_timesteps, n_channels)
        The sequences, 2D for one channel; shorter sequences and missing
        values (``?``) are NaN.
    y : ndarray of shape (n_samples,)
        Class labels as strings, or float targets when the header says
        ``@targetlabel true``.

    Examples
    --------
    >>> import os, tempfile
    >>> from sklrnn.datasets import load_ts_file
    >>> path = os.path.join(tempfile.mkdtemp(), "toy.ts")
    >>> with open(path, "w") as fh:
    ...     _ = fh.write("@classLabel true a b\\n@data\\n1,2,3:a\\n4,5:b\\n")
    >>> X, y = load_ts_file(path)
    >>> X.shape, y.tolist()
    ((2, 3), ['a', 'b'])
    """
    path = os.fspath(path)
    opener = gzip.open if path.endswith(".gz") else open
    with opener(path, "rt", encoding="utf-8") as fh:
        header, _, sequences, targets = _parse_ts(fh.read().splitlines())
    if not sequences:
        raise ValueError(f"{path!r} holds no sequences after its @data line.")
    X = _to_padded_nan(sequences)
    if X.shape[2] == 1:
        X = X[:, :, 0]
    regression = header.get("targetlabel", "").split()[:1] == ["true"]
    return X, np.array(targets, dtype=np.float64 if regression else str)


def _to_padded_nan(sequences):
    length = max(len(s) for s in sequences)
    out = np.full((len(sequences), length, sequences[0].shape[1]), np.nan)
    for i, s in enumerate(sequences):
        out[i, : len(s)] = s
    return out


def _load_ts(name, split, *, regression, as_frame, return_X_y, channel_names=None):
    header, comments, sequences, targets = _read_ts(name, split)
    X = _to_padded_nan(sequences)
    n_samples, n_timesteps, n_channels = X.shape
    channel_names = channel_names or (
        ["value"] if n_channels == 1 else [f"dim{i}" for i in range(n_channels)]
    )
    y = np.array(targets, dtype=np.float64 if regression else object)
    if not regression:
        y = y.astype(str)
    if n_channels == 1:
        X = X[:, :, 0]
    # Wide column names, feature-major: value_t0 .. value_tT, or dim0_t0 .. dim1_t0 ..
    feature_names = [f"{c}_t{t}" for c in channel_names for t in range(n_timesteps)]
    frame = None
    if as_frame:
        wide = (
            X.reshape(n_samples, -1) if X.ndim == 2 else X.transpose(0, 2, 1).reshape(n_samples, -1)
        )
        X = pd.DataFrame(wide, columns=feature_names)
        y = pd.Series(y, name="target")
        frame = pd.concat([X, y], axis=1)
    if return_X_y:
        return X, y
    return Bunch(
        data=X,
        target=y,
        frame=frame,
        feature_names=feature_names,
        channel_names=channel_names,
        target_names=None if regression else sorted(set(np.asarray(y))),
        DESCR="\n".join(comments),
    )


_LOADER_DOC = """Load the {title} data set ({task}).

    {summary}

    Parameters
    ----------
    split : {{"train", "test"}}, default="train"
        Which of the archive's official splits to load.
    as_frame : bool, default=False
        If True, ``data`` is a wide DataFrame with one column per (feature,
        time step), feature-major (``value_t0, value_t1, ...`` or
        ``dim0_t0, ..., dim1_t0, ...``), trailing NaN past the end of shorter
        sequences, and ``target`` a Series.
    return_X_y : bool, default=False
        If True, return ``(data, target)`` instead of a Bunch.

    Returns
    -------
    data : Bunch or tuple
        ``data`` ({shape}), ``target`` (n_samples,), ``frame``,
        ``feature_names``, ``channel_names``, ``target_names``, ``DESCR``.

    Examples
    --------
    >>> from sklrnn.datasets import {func}
    >>> X, y = {func}(return_X_y=True)
    >>> X.shape
    {example_shape}
    """


def _ucr_loader(func, name, title, task, summary, shape, example_shape, **kw):
    def loader(*, split="train", as_frame=False, return_X_y=False):
        return _load_ts(name, split, as_frame=as_frame, return_X_y=return_X_y, **kw)

    loader.__name__ = loader.__qualname__ = func
    loader.__doc__ = _LOADER_DOC.format(
        title=title,
        task=task,
        summary=summary,
        shape=shape,
        func=func,
        example_shape=example_shape,
    )
    return loader


load_italy_power_demand = _ucr_loader(
    "load_italy_power_demand",
    "ItalyPowerDemand",
    "ItalyPowerDemand",
    "univariate, 2 classes",
    "Daily electricity demand of Italy over 24 hours; the task is to tell "
    "October-March days (class '1') from April-September days (class '2'). "
    "67 training and 1029 test series of length 24 (UCR archive).",
    "ndarray of shape (n_samples, 24)",
    "(67, 24)",
    regression=False,
)
load_gunpoint = _ucr_loader(
    "load_gunpoint",
    "GunPoint",
    "GunPoint",
    "univariate, 2 classes",
    "X-coordinate of an actor's hand while drawing a gun ('1') or pointing "
    "a finger ('2'). 50 training and 150 test series of length 150 (UCR archive).",
    "ndarray of shape (n_samples, 150)",
    "(50, 150)",
    regression=False,
)
load_basic_motions = _ucr_loader(
    "load_basic_motions",
    "BasicMotions",
    "BasicMotions",
    "multivariate, 4 classes",
    "Smart-watch accelerometer and gyroscope readings (6 channels, 10 s at "
    "10 Hz) of standing, walking, running and playing badminton. 40 training "
    "and 40 test series of length 100 (UEA archive).",
    "ndarray of shape (n_samples, 100, 6)",
    "(40, 100, 6)",
    regression=False,
    channel_names=["acc_x", "acc_y", "acc_z", "gyr_x", "gyr_y", "gyr_z"],
)
load_japanese_vowels = _ucr_loader(
    "load_japanese_vowels",
    "JapaneseVowels",
    "JapaneseVowels",
    "multivariate, variable length, 9 classes",
    "12 LPC cepstrum coefficients of two Japanese vowels uttered by nine "
    "speakers; the task is to identify the speaker. 270 training and 370 test "
    "series of 7 to 29 steps, padded with trailing NaN (UEA archive).",
    "ndarray of shape (n_samples, longest, 12), NaN-padded",
    "(270, 26, 12)",
    regression=False,
)
load_covid3month = _ucr_loader(
    "load_covid3month",
    "Covid3Month",
    "Covid3Month",
    "univariate regression",
    "Daily confirmed COVID-19 cases of a country over three months; the "
    "target is the country's death rate on 1 April 2020. 140 training and 61 "
    "test series of length 84 (Monash extrinsic regression archive).",
    "ndarray of shape (n_samples, 84)",
    "(140, 84)",
    regression=True,
)


def load_airline(*, as_frame=False):
    """Load the monthly international airline passengers series, 1949-1960.

    The classic Box & Jenkins (1976) forecasting series: 144 monthly totals,
    in thousands of passengers, with trend and yearly seasonality.

    Parameters
    ----------
    as_frame : bool, default=False
        If True, return a pandas Series indexed by month instead of a numpy
        array.

    Returns
    -------
    series : ndarray of shape (144,) or pandas.Series
        Passengers per month, oldest first.

    Examples
    --------
    >>> from sklrnn.datasets import load_airline
    >>> y = load_airline()
    >>> y.shape, float(y[0])
    ((144,), 112.0)
    """
    with (_DATA / "airline.csv").open("r", encoding="utf-8") as fh:
        frame = pd.read_csv(fh)
    series = pd.Series(
        frame["Passengers"].to_numpy(dtype=np.float64),
        index=pd.PeriodIndex(frame["Date"], freq="M"),
        name="passengers",
    )
    return series if as_frame else series.to_numpy()
