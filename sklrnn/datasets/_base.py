"""Loaders for the small public data sets shipped with sklrnn."""

import contextlib
import gzip
import io
import os
import re
import stat
import zlib
from importlib import resources

import numpy as np
import pandas as pd
from sklearn.utils import Bunch

from .._data import _check_bool

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

# Padding every series to the longest may cost at most this many times the values read
# (plus a small allowance): one long series among many short ones would otherwise turn
# a small file into gigabytes.
_MAX_PADDING_RATIO = 16
_MIN_PADDED_CELLS = 2**20

# Value fields hold decimal numbers, '?' or 'NaN' (missing; aeon writes NaN) and
# separators; anything else ("inf", "1_000", "(0,1)") is refused before numpy
# parses the line.
# Class labels are names: a longer one is a misread line, and would size the
# array of every label (numpy str) to itself.
_LONGEST_LABEL = 1000
_NOT_A_VALUE = re.compile(r"[^0-9eE+\-.,:? \t]")
_NUMBER = re.compile(r"[ \t]*[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?[ \t]*")
_NAN = re.compile(r"(?:(?<=,)|^)[ \t]*nan[ \t]*(?=,|$)", re.IGNORECASE)


def _read_ts(name, split):
    """Parse a bundled UCR/UEA ``.ts`` file (see :func:`_parse_ts`)."""
    if split not in ("train", "test"):
        raise ValueError(f"split must be 'train' or 'test', got {split!r}.")
    return _parse_ts(os.fspath(_DATA / f"{name}_{split.upper()}.ts.gz"))


def _read_lines(path):
    """Yield ``(line number, stripped text)`` of a UTF-8 file, gunzipped if named ``.gz``.

    One line at a time, so that memory follows the longest line, not the file.
    """
    opener = gzip.open if path.lower().endswith(".gz") else open
    with opener(path, "rb") as fh:
        try:
            for lineno, raw in enumerate(fh, 1):
                try:  # utf-8-sig drops a byte-order mark at the start of the file
                    text = raw.decode("utf-8-sig" if lineno == 1 else "utf-8")
                except UnicodeDecodeError as exc:
                    raise ValueError(
                        f"{path!r}, line {lineno}: not UTF-8 text ({exc.reason} at byte "
                        f"{exc.start} of the line); save the file with UTF-8 encoding."
                    ) from None
                text = text.strip()
                if "\r" in text:  # binary lines end at \n only
                    raise ValueError(
                        f"{path!r}, line {lineno}: holds a carriage return (\\r) within it, "
                        "the line ending of old Mac files; convert its line endings to \\n."
                    )
                yield lineno, text
        except (gzip.BadGzipFile, EOFError, zlib.error) as exc:
            raise ValueError(
                f"{path!r} is not a valid gzip file ({exc}); a name ending in .gz is read "
                "as gzip, so decompress the file or rename it."
            ) from None


# Comment lines: "#", and ARFF's "%", which archive files hold (aeon's UnitTest).
_COMMENT = ("#", "%")
# Header lines that name the problem, read by no rule.
_NAMES_ONLY = ("problemname",)
# The headers the rules read, as the format spells them (read in any case);
# aeon writes "@dimension", the archive "@dimensions".
_HEADERS = (
    "timeStamps",
    "missing",
    "univariate",
    "dimensions",
    "equalLength",
    "seriesLength",
    "classLabel",
    "targetLabel",
)
_ALIASES = {"dimension": "dimensions"}


def _read_header(lines, where):
    """Header ``{lowercase name: (name, value, line number)}`` and comments, up to ``@data``."""
    header, comments = {}, []
    for lineno, line in lines:
        if line.startswith(_COMMENT):
            comments.append(line[1:].strip())
        elif line.startswith("@"):
            name, value = (line[1:].split(maxsplit=1) + ["", ""])[:2]
            key = _ALIASES.get(name.lower(), name.lower())
            if key == "data":
                if value:
                    raise ValueError(
                        f"{where}, line {lineno}: @data must stand alone on its line, got "
                        f"{line[:60]!r}; put the first series on the next line."
                    )
                return header, comments
            if key in _NAMES_ONLY:  # repeated in archive files (aeon's UnitTest)
                continue
            if key not in {h.lower() for h in _HEADERS}:  # a misspelt one would go unchecked
                known = ", ".join(f"@{h}" for h in ("problemName", *_HEADERS))
                raise ValueError(
                    f"{where}, line {lineno}: unknown header @{name}; the .ts headers are "
                    f"{known} and @data."
                )
            if key in header:
                raise ValueError(
                    f"{where}, line {lineno}: @{name} repeats line {header[key][2]}; "
                    "keep one declaration."
                )
            header[key] = (name, value, lineno)
        elif line:
            raise ValueError(
                f"{where}, line {lineno}: series before the @data line; header lines "
                "start with '@', comments with '#' or '%', and a line '@data' precedes the "
                "series."
            )
    raise ValueError(f"{where} has no @data line; add a line '@data' before the series.")


def _header_rules(header, where):
    """What the header promises about labels, channels, lengths and missing values.

    ``channels`` and ``lengths`` hold ``(expected, reason)`` pairs that every
    series is checked against; ``no_missing`` is the reason ``?`` is refused.
    """

    def declared(key, value=""):
        name, _, lineno = header[key]
        return f"@{name}{value} on line {lineno}"

    def flag(key):
        if key not in header:
            return None
        name, value, lineno = header[key]
        words = value.lower().split()
        # @classLabel true lists the labels after the flag
        if not words or words[0] not in ("true", "false") or (key != "classlabel" and words[1:]):
            raise ValueError(
                f"{where}, line {lineno}: @{name} must be true or false, got {value!r}."
            )
        return words[0] == "true"

    def count(key):
        if key not in header:
            return None
        name, value, lineno = header[key]
        if not re.fullmatch(r"[0-9]+", value) or int(value) == 0:
            raise ValueError(
                f"{where}, line {lineno}: @{name} must be a positive integer, got {value!r}."
            )
        return int(value)

    if flag("timestamps"):
        raise ValueError(
            f"{where}: {declared('timestamps', ' true')}: timestamped series are not supported; "
            "write the values without their timestamps and declare @timeStamps false."
        )
    classes, targets = flag("classlabel"), flag("targetlabel")
    if classes and targets:
        raise ValueError(
            f"{where}: {declared('classlabel', ' true')} and {declared('targetlabel', ' true')} "
            "contradict each other; a file holds class labels or regression targets, not both."
        )
    if targets:
        labels = "target"
    elif classes or (classes is None and targets is None):  # no label header: class labels
        labels = "class"
    else:
        labels = None
    rules = {
        "labels": labels,
        "implicit_labels": classes is None and targets is None,
        "classes": set(header["classlabel"][1].split()[1:]) if classes else set(),
        "channels": [],
        "lengths": [],
        "equal_length": declared("equallength", " true") if flag("equallength") else None,
        "no_missing": declared("missing", " false") if flag("missing") is False else None,
    }
    if flag("univariate"):
        rules["channels"].append((1, f"{declared('univariate', ' true')} declares 1"))
    if (n_channels := count("dimensions")) is not None:
        rules["channels"].append((n_channels, f"{declared('dimensions')} declares {n_channels}"))
    if (length := count("serieslength")) is not None:
        rules["lengths"].append((length, f"{declared('serieslength')} declares {length}"))
    return rules


def _parse_values(text, where):
    """Float values of comma-separated ``text``, NaN for ``?`` and ``NaN``; finite otherwise."""
    if "n" in text or "N" in text:  # no decimal number holds one: most lines skip the scan
        text = _NAN.sub("?", text)
    try:
        if _NOT_A_VALUE.search(text) or not text.strip():
            raise ValueError
        # numpy's parser reads a line of millions of values without an object per value
        values = np.loadtxt(
            io.StringIO(text.replace("?", "nan")), delimiter=",", comments=None, ndmin=1
        )
    except ValueError:
        fields = (v for v in text.split(",") if not _is_value(v))
        bad = next(fields, text)[:40]
        raise ValueError(
            f"{where}: value {bad!r} is not a decimal number; write '?' for a missing value."
        ) from None
    if np.isinf(values).any():
        raise ValueError(
            f"{where}: a value is too large for float64 (it reads as infinity); "
            "values must be finite."
        )
    return values


def _is_value(field):
    """Whether a comma-separated field is a value: a decimal number, or '?' or NaN (missing)."""
    return field.strip().lower() in ("?", "nan") or _NUMBER.fullmatch(field) is not None


def _parse_target(text, where, rules):
    """The class label (str) or regression target (float) of a data line."""
    if rules["labels"] == "class":
        if not text:
            raise ValueError(f"{where}: empty class label after the last ':'.")
        if "\x00" in text:  # numpy's str arrays drop trailing NULs: labels would merge
            raise ValueError(f"{where}: class label {text[:40]!r} holds a NUL character.")
        if rules["implicit_labels"] and "," in text and all(map(_is_value, text.split(","))):
            raise ValueError(
                f"{where}: the last field {text[:40]!r} holds values, but with no label "
                "header the last ':' field is read as the class label; declare "
                "@classLabel false for series without labels, or @classLabel true <labels>."
            )
        if len(text) > _LONGEST_LABEL:
            # numpy's str array sizes every label to the longest.
            raise ValueError(
                f"{where}: class label of {len(text):,} characters ({text[:40]!r}...); class "
                f"labels are names of at most {_LONGEST_LABEL:,} characters. Is a ':' missing "
                "before the label?"
            )
        if rules["classes"] and text not in rules["classes"]:
            raise ValueError(
                f"{where}: class label {text[:40]!r} is not among the labels the header "
                f"declares ({' '.join(sorted(rules['classes']))}); add it to @classLabel."
            )
        return text
    if not _NUMBER.fullmatch(text) or not np.isfinite(float(text)):
        raise ValueError(
            f"{where}: target {text[:40]!r} is not a finite decimal number; regression "
            "targets cannot be missing."
        )
    return float(text)


def _parse_row(line, where, rules):
    """The sequence (n_timesteps, n_channels) and target (None if unlabelled) of a line."""
    values, target = line, None
    if rules["labels"] is None and line.endswith(":"):
        values = line[:-1]  # as aeon ends the lines of unlabelled series
    if rules["labels"] is not None:
        values, sep, target = line.rpartition(":")
        if not sep:
            kind = "class label" if rules["labels"] == "class" else "target"
            raise ValueError(
                f"{where}: no {kind} after the values; end the line with ':<{kind}>', or "
                "declare @classLabel false for unlabelled series."
            )
        target = _parse_target(target.strip(), where, rules)
    channels = values.split(":")
    lengths = [channel.count(",") + 1 for channel in channels]
    if rules["labels"] is None and lengths[-1] == 1 < min(lengths[:-1], default=1):
        raise ValueError(
            f"{where}: the last field {channels[-1].strip()[:40]!r} after ':' reads as a "
            "label, but the header declares none; declare them with @classLabel true "
            "<labels> or @targetLabel true, or drop them."
        )
    if min(lengths) != max(lengths):
        raise ValueError(
            f"{where}: channels of different lengths ({min(lengths)} and {max(lengths)} "
            "values); every channel of a series needs the same number of values, '?' "
            "for a missing one."
        )
    data = _parse_values(values.replace(":", ","), where)
    return data.reshape(len(channels), -1).T, target


def _check_row(sequence, lineno, where, rules):
    """Check a series against the header and the first series; record the first."""
    n_timesteps, n_channels = sequence.shape
    for expected, reason in rules["channels"]:
        if n_channels != expected:
            raise ValueError(
                f"{where}, line {lineno} has {n_channels} channel(s), but {reason}; every "
                "series needs the same number of channels."
            )
    for expected, reason in rules["lengths"]:
        if n_timesteps != expected:
            raise ValueError(
                f"{where}, line {lineno} has {n_timesteps} values per channel, but "
                f"{reason}; fix the series or the header."
            )
    if rules["no_missing"] and np.isnan(sequence).any():
        raise ValueError(
            f"{where}, line {lineno} has a missing value ('?' or NaN), but {rules['no_missing']} "
            "declares none; fix the value or declare @missing true."
        )
    if not rules["channels"]:
        rules["channels"].append((n_channels, f"line {lineno} has {n_channels}"))
    if rules["equal_length"] and not rules["lengths"]:
        reason = (
            f"line {lineno} has {n_timesteps} and {rules['equal_length']} declares equal lengths"
        )
        rules["lengths"].append((n_timesteps, reason))


def _parse_ts(path):
    """Comments, steps, lengths and targets (or None) of a ``.ts`` file.

    The steps of all series are stacked into one array of shape
    (total n_timesteps, n_channels), with ``lengths`` telling them apart.
    """
    where = repr(path)
    steps, chunks, lengths, targets = [], [], [], []
    with contextlib.closing(_read_lines(path)) as lines:
        header, comments = _read_header(lines, where)
        rules = _header_rules(header, where)
        for lineno, line in lines:
            if not line or line.startswith(_COMMENT):
                continue
            if line.startswith("@"):
                raise ValueError(
                    f"{where}, line {lineno}: header line {line[:40]!r} after @data; header "
                    "lines go before the @data line, and only one @data line."
                )
            sequence, target = _parse_row(line, f"{where}, line {lineno}", rules)
            _check_row(sequence, lineno, where, rules)
            steps.append(sequence)
            lengths.append(len(sequence))
            targets.append(target)
            if len(steps) == 4096:  # an array per short series would outweigh its values
                chunks.append(np.concatenate(steps))
                steps = []
    if not lengths:
        raise ValueError(f"{where} holds no sequences after its @data line.")
    steps, lengths = np.concatenate(chunks + steps), np.array(lengths)
    if rules["labels"] is None:
        return comments, steps, lengths, None
    y = np.array(targets, float if rules["labels"] == "target" else str)
    return comments, steps, lengths, y


def load_ts_file(path):
    """Load a data set stored in the sktime/aeon ``.ts`` text format.

    The file is read line by line and checked against its own header: every
    series must have the channels and length that ``@univariate``,
    ``@dimensions`` (or ``@dimension``, as aeon writes it), ``@equalLength``
    and ``@seriesLength`` declare, class
    labels must be among those ``@classLabel true`` lists, and missing values
    (``?``, or ``NaN`` as aeon writes them) are refused under ``@missing
    false`` (a file without ``@missing`` may hold them). Header names and ``true``/``false`` are
    case-insensitive.

    Parameters
    ----------
    path : str or path-like
        The ``.ts`` file, UTF-8 text (gzip-compressed when the name ends
        in ``.gz``, in any case).

    Returns
    -------
    X : ndarray of shape (n_samples, n_timesteps) or \
(n_samples, n_timesteps, n_channels)
        The sequences, 2D for one channel, NaN-padded to the longest. A
        missing value ``?`` is NaN at its own step: at the end of a series it
        reads as padding (trailing NaN), so the series counts as that much
        shorter; inside a series it stays NaN, which the estimators refuse,
        so impute it first.
    y : ndarray of shape (n_samples,) or None
        Class labels as strings, or float targets when the header says
        ``@targetLabel true``; None for unlabelled series (``@classLabel
        false`` or ``@targetLabel false``). Without either header, the last
        ``:`` field of each line is its class label (refused where it holds
        comma-separated values: a channel of a file that declares no labels).

    Raises
    ------
    OSError
        If the file does not exist or is a directory.
    ValueError
        If the file is not valid UTF-8 ``.ts`` text, a value or target is not
        a finite decimal number (``inf`` and ``1e400`` are refused; ``?``
        and ``NaN``, which aeon writes, are missing values),
        a line contradicts the header or the first series, a header is
        unknown (a misspelt one would go unchecked), a class label holds a
        NUL character, the series carry
        timestamps (``@timeStamps true`` is not supported), or padding the
        series to the longest would take far more memory than their values.
        The message names the line.

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
    >>> with open(path, "w") as fh:
    ...     _ = fh.write("@classLabel false\\n@data\\n1,2:3,4\\n5,6:7,8\\n")
    >>> X, y = load_ts_file(path)
    >>> X.shape, y is None
    ((2, 2, 2), True)
    """
    if not isinstance(path, str | bytes | os.PathLike):
        raise TypeError(f"path must be a str or path-like object, got {type(path).__name__}.")
    path = os.fsdecode(path)
    mode = os.stat(path).st_mode  # FileNotFoundError for a missing file
    if not (stat.S_ISREG(mode) or stat.S_ISDIR(mode)):  # a pipe or device may never end
        raise ValueError(f"{path!r} is not a regular file.")
    _, steps, lengths, y = _parse_ts(path)
    X = _to_padded_nan(steps, lengths, repr(path))
    return (X[:, :, 0] if X.shape[2] == 1 else X), y


def _to_padded_nan(steps, lengths, where):
    """Series of ``lengths`` steps each, from stacked ``steps``, NaN-padded to the longest."""
    n_series, length, n_channels = len(lengths), int(lengths.max()), steps.shape[1]
    n_cells = n_series * length * n_channels
    if n_cells > _MAX_PADDING_RATIO * steps.size + _MIN_PADDED_CELLS:
        raise ValueError(
            f"{where}: padding its {n_series} series to the longest ({length} steps) "
            f"would take {n_cells * 8 / 2**30:.1f} GiB for {steps.size} values, over "
            f"{_MAX_PADDING_RATIO} times their size; split the file into files of series "
            "of similar lengths."
        )
    out = np.full((n_series, length, n_channels), np.nan)
    out[np.arange(length) < lengths[:, None]] = steps  # row-major, as the steps were stacked
    return out


def _load_ts(name, split, *, regression, as_frame, return_X_y, channel_names=None):
    comments, steps, lengths, y = _read_ts(name, split)
    X = _to_padded_nan(steps, lengths, name)
    n_samples, n_timesteps, n_channels = X.shape
    # A copy: the loader's own list would carry a caller's edit into later loads.
    channel_names = (
        list(channel_names)
        if channel_names
        else (["value"] if n_channels == 1 else [f"dim{i}" for i in range(n_channels)])
    )
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
        sequences, and ``target`` a Series. The estimators read a table as
        one feature per step: a table of several features goes through
        :class:`~sklrnn.WideToSequence` first (``n_features`` of them, a
        Pipeline step).
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
        as_frame = _check_bool(as_frame, "as_frame")
        return_X_y = _check_bool(return_X_y, "return_X_y")
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
    as_frame = _check_bool(as_frame, "as_frame")
    with (_DATA / "airline.csv").open("r", encoding="utf-8") as fh:
        frame = pd.read_csv(fh)
    series = pd.Series(
        frame["Passengers"].to_numpy(dtype=np.float64),
        index=pd.PeriodIndex(frame["Date"], freq="M"),
        name="passengers",
    )
    # A copy: pandas' copy-on-write gives a read-only view of the Series.
    return series if as_frame else series.to_numpy(copy=True)
