"""Turn time-series data of common shapes into sequence input.

The estimators read a 3D array ``(n_samples, n_timesteps, n_features)`` with
trailing NaN marking the end of shorter sequences. This module gets real data
there:

* :class:`WideToSequence` reshapes a wide table, one column per (feature, time
  step), into that array; it is a Pipeline step, so it can follow a 2D
  transformer such as :class:`~sklearn.preprocessing.StandardScaler`;
* :class:`SequenceScaler` standardizes each feature over all samples and valid
  time steps of 3D or ragged input, and keeps the NaN padding;
* :func:`long_to_sequences` turns a long DataFrame, one row per (series, time
  step), into the array and one target per series;
* :func:`make_windows` cuts series into input windows and the next
  ``horizon`` values, for forecasting.
"""

import warnings
from collections.abc import Hashable
from decimal import Decimal
from numbers import Integral, Real

import numpy as np
import pandas as pd
import sklearn
from sklearn.base import BaseEstimator, OneToOneFeatureMixin, TransformerMixin
from sklearn.utils.validation import check_is_fitted, validate_data

from ._compat import Interval, StrOptions, _fit_context, validate_params
from ._data import (
    CONSTANT_SPREAD,
    _caller_outside_sklrnn,
    _check_dense_numbers,
    _check_frames_not_mixed,
    _check_same_n_features,
    _is_table,
    _masked_as_nan,
    _numbers_only,
    _numeric_array,
    _out_of_memory,
    _plain_numbers,
    _python,
    _readable,
    _reject_bool,
    _same_columns,
    column_moments,
    counted,
    time_index,
    validate_sequences,
)

__all__ = ["WideToSequence", "SequenceScaler", "long_to_sequences", "make_windows"]


class _SequencesOut:
    """``set_output`` for transformers whose output is sequences, which stay NumPy arrays."""

    def set_output(self, *, transform=None):
        """Accept scikit-learn's output configuration; sequences stay NumPy arrays.

        A DataFrame cannot hold 3D sequences, so the output is an array
        whatever ``transform`` is. The method exists so that
        ``Pipeline.set_output`` works on a pipeline holding this step (the
        steps after it, an estimator's ``transform`` for example, still
        return DataFrames).

        Parameters
        ----------
        transform : {"default", "pandas", "polars"} or None, default=None
            The output container scikit-learn asks for; checked, not used.

        Returns
        -------
        self : object
            This transformer.
        """
        _check_container(transform)
        return self


def _check_container(transform):
    """Refuse an output container ``set_output`` does not know."""
    if transform not in (None, "default", "pandas", "polars"):
        raise ValueError(
            f"transform must be 'default', 'pandas', 'polars' or None, got {transform!r}."
        )


class WideToSequence(_SequencesOut, TransformerMixin, BaseEstimator):
    """Reshape a wide table into sequences of several features.

    A wide table has one row per sample and one column per (feature, time
    step), e.g. ``temp_t0 .. temp_t23, hum_t0 .. hum_t23``. This transformer
    turns it into the 3D array ``(n_samples, n_timesteps, n_features)`` that
    :class:`~sklrnn.RNNClassifier` and :class:`~sklrnn.RNNRegressor` read, so
    that a Pipeline can apply 2D transformers (scaling, imputation) to the
    table first. NaN passes through unchanged: trailing NaN in every feature
    marks the end of a shorter sequence.

    Within each feature the columns run from the oldest step to the newest.
    Lag features built with pandas' ``shift(k)`` for ``k = 1, 2, ...`` run
    newest first: reverse them (``lag3, lag2, lag1``), or the sequences run
    backwards in time.

    Parameters
    ----------
    n_features : int, default=1
        Number of features per time step. The number of columns must be a
        multiple of it; the number of time steps is the quotient.
    order : {"feature_major", "time_major"}, default="feature_major"
        How columns map to (time step, feature):

        - ``"feature_major"``: all time steps of the first feature, then all
          time steps of the second, ... (``temp_t0, temp_t1, ..., hum_t0,
          hum_t1, ...``), the layout of the bundled loaders with
          ``as_frame=True``. Column ``j`` is feature ``j // n_timesteps`` at
          step ``j % n_timesteps``.
        - ``"time_major"``: all features of the first step, then all
          features of the second, ... (``temp_t0, hum_t0, temp_t1, hum_t1,
          ...``). Column ``j`` is feature ``j % n_features`` at step
          ``j // n_features``.

    Attributes
    ----------
    n_features_in_ : int
        Number of columns seen during :term:`fit`.
    feature_names_in_ : ndarray of shape (`n_features_in_`,)
        Names of the columns seen during :term:`fit`, when ``X`` has column
        names that are all strings.
    n_timesteps_ : int
        Number of time steps, ``n_features_in_ // n_features``.

    See Also
    --------
    SequenceScaler : Standardize each feature of 3D or ragged sequences.
    long_to_sequences : Sequences from a long DataFrame.

    Notes
    -----
    The output is 3D, so this transformer has no ``get_feature_names_out``,
    and its output stays a NumPy array whatever ``set_output`` asks (see
    :meth:`set_output`); it is meant as the step just before a sequence
    estimator or :class:`SequenceScaler`.

    Examples
    --------
    >>> import numpy as np
    >>> from sklrnn.preprocessing import WideToSequence
    >>> # two samples; columns temp_t0, temp_t1, temp_t2, hum_t0, hum_t1, hum_t2
    >>> X = np.array([[20.0, 21, 22, 0.5, 0.6, 0.7],
    ...               [10.0, 11, 12, 0.1, 0.2, 0.3]])
    >>> X3 = WideToSequence(n_features=2).fit_transform(X)
    >>> X3.shape
    (2, 3, 2)
    >>> X3[0].tolist()
    [[20.0, 0.5], [21.0, 0.6], [22.0, 0.7]]
    """

    _parameter_constraints = {
        "n_features": [Interval(Integral, 1, None, closed="left")],
        "order": [StrOptions({"feature_major", "time_major"})],
    }

    def __init__(self, n_features=1, order="feature_major"):
        self.n_features = n_features
        self.order = order

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y=None):
        """Check the number of columns and record the number of time steps.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features * n_timesteps)
            The wide table.
        y : None
            Ignored.

        Returns
        -------
        self : WideToSequence
            The fitted transformer.
        """
        _reject_bool(self.n_features, "n_features", "WideToSequence")
        X = self._validate(X, reset=True)
        n_columns = X.shape[1]
        if n_columns % self.n_features:
            raise ValueError(
                f"X has {n_columns} columns, which is not a multiple of n_features="
                f"{self.n_features}: a wide table needs one column per (feature, time "
                "step). Check n_features, or add the missing columns."
            )
        self.n_timesteps_ = n_columns // self.n_features
        return self

    def transform(self, X):
        """Reshape the wide table into sequences.

        Parameters
        ----------
        X : array-like of shape (n_samples, `n_features_in_`)
            The wide table, with the columns seen in :meth:`fit`.

        Returns
        -------
        X3d : ndarray of shape (n_samples, `n_timesteps_`, n_features)
            The sequences; NaN is kept.
        """
        self._check_n_features_kept()
        X = self._validate(X, reset=False)
        shape = (X.shape[0], self.n_timesteps_, self.n_features)
        if self.order == "time_major":
            return X.reshape(shape).copy()
        # A copy in C order, never a view of the caller's table (with one
        # feature the transposed table is already in C order).
        return X.reshape(X.shape[0], self.n_features, self.n_timesteps_).transpose(0, 2, 1).copy()

    def inverse_transform(self, X):
        """Flatten sequences back into the wide table.

        Parameters
        ----------
        X : array-like of shape (n_samples, `n_timesteps_`, n_features)
            Sequences.

        Returns
        -------
        X_wide : ndarray of shape (n_samples, `n_features_in_`)
            The wide table, columns in the order given by ``order``.
        """
        self._check_n_features_kept()
        expected = (self.n_timesteps_, self.n_features)
        X = _masked_as_nan(_readable(X))
        try:
            ndim = np.ndim(X)
        except ValueError:  # numpy's "inhomogeneous shape": lengths that differ
            raise ValueError(
                f"inverse_transform expects an array of shape (n_samples, {expected[0]}, "
                f"{expected[1]}), got sequences of different lengths: a wide table holds "
                f"{expected[0]} steps per sample. Pad them with pad_sequences first."
            ) from None
        if ndim != 3:  # check_array's message would ask for 2D input
            raise ValueError(
                f"inverse_transform expects sequences, an array of shape (n_samples, "
                f"{expected[0]}, {expected[1]}), got {type(X).__name__} with "
                f"{ndim} dimensions."
            )
        # As fit: text named, dates refused.
        X = _numeric_array(
            X, "X", allow_nd=True, dtype=[np.float64, np.float32], ensure_all_finite="allow-nan"
        )
        if X.ndim != 3 or X.shape[1:] != expected:
            raise ValueError(
                f"inverse_transform expects an array of shape (n_samples, "
                f"{expected[0]}, {expected[1]}), got shape {X.shape}."
            )
        if self.order == "feature_major":
            X = X.transpose(0, 2, 1)
        return X.reshape(X.shape[0], -1).copy()

    def _check_n_features_kept(self):
        check_is_fitted(self)
        if self.n_features * self.n_timesteps_ != self.n_features_in_:
            raise ValueError(
                f"n_features is {self.n_features!r}, but this WideToSequence was fitted with "
                f"n_features={self.n_features_in_ // self.n_timesteps_}: fit it again after "
                "set_params."
            )

    def _validate(self, X, reset):
        X = _readable(X)  # a tensor's values (detached; bfloat16 as float32)
        _check_dense_numbers(X, "X")
        with _numbers_only("X", X):
            return validate_data(
                self,
                _masked_as_nan(X),
                reset=reset,
                dtype=[np.float64, np.float32],
                ensure_all_finite="allow-nan",
            )

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.allow_nan = True
        tags.transformer_tags.preserves_dtype = ["float64", "float32"]
        return tags


# Its transform wraps its own output (a table's alone): scikit-learn's
# wrapping, which get_feature_names_out would switch on, fails on 3D arrays.
class SequenceScaler(
    OneToOneFeatureMixin, TransformerMixin, BaseEstimator, auto_wrap_output_keys=None
):
    """Standardize each feature of sequences over all samples and time steps.

    Every feature is shifted by its mean and divided by its standard
    deviation, both computed over all valid time steps of all training
    sequences: padding is ignored, and one statistic per feature is shared by
    all time steps, so 3D or list input of any length can be transformed (a
    2D table keeps scikit-learn's meaning: as many columns as in fit). As a
    Pipeline step, the statistics come from the training folds only.

    Parameters
    ----------
    with_mean : bool, default=True
        Subtract the mean of each feature.
    with_std : bool, default=True
        Divide by the standard deviation of each feature.

    Attributes
    ----------
    mean_ : ndarray of shape (n_channels,) or None
        Mean of each feature over the valid time steps; None when
        ``with_mean=False``. ``n_channels`` is the size of the feature axis
        (1 for 2D input).
    var_ : ndarray of shape (n_channels,) or None
        Variance of each feature; None when ``with_std=False``. It is inf
        for a feature whose standard deviation exceeds about 1e154, where the
        variance is beyond float64's range; ``scale_`` stays exact.
    scale_ : ndarray of shape (n_channels,) or None
        Standard deviation used to scale each feature, 1 for a constant
        feature; None when ``with_std=False``.
    n_samples_seen_ : int
        Number of sequences seen during :term:`fit`.
    n_steps_seen_ : int
        Number of valid time steps the statistics were computed on.
    n_features_in_ : int
        Number of columns of a 2D input, or size of the feature axis of 3D
        and ragged input.
    feature_names_in_ : ndarray of shape (`n_features_in_`,)
        Names of the columns seen during :term:`fit`, when ``X`` is a
        DataFrame with string column names.

    See Also
    --------
    sklearn.preprocessing.StandardScaler : Per column scaling of 2D data;
        on a wide table it scales every time step separately.
    WideToSequence : Reshape a wide table into 3D sequences.

    Notes
    -----
    The input is 2D ``(n_samples, n_timesteps)`` with one feature, 3D
    ``(n_samples, n_timesteps, n_features)``, or a list of arrays of
    different lengths; trailing NaN marks padding and NaN anywhere else is an
    error. 2D input gives 2D output; 3D and ragged input give a 3D float64
    array with NaN past the end of each sequence, the format the estimators
    read lengths from. A 2D output of a scaler fitted on a table is a
    DataFrame under ``set_output(transform="pandas")`` (or ``"polars"``, or
    scikit-learn's ``transform_output`` setting), its columns named by
    :meth:`get_feature_names_out`, as in a ``ColumnTransformer``; a 3D one
    stays a NumPy array.

    Examples
    --------
    >>> from sklrnn.preprocessing import SequenceScaler
    >>> X = [[[0.0, 10.0], [2.0, 30.0]], [[4.0, 20.0]]]  # lengths 2 and 1
    >>> scaler = SequenceScaler().fit(X)
    >>> scaler.mean_.tolist(), scaler.n_steps_seen_
    ([2.0, 20.0], 3)
    >>> scaler.transform(X)[:, :, 0].round(3).tolist()
    [[-1.225, 0.0], [1.225, nan]]
    """

    _parameter_constraints = {
        "with_mean": ["boolean"],
        "with_std": ["boolean"],
    }

    def __init__(self, *, with_mean=True, with_std=True):
        self.with_mean = with_mean
        self.with_std = with_std

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y=None):
        """Compute each feature's mean and standard deviation over valid steps.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_timesteps) or \
(n_samples, n_timesteps, n_features), or list of arrays
            Training sequences; trailing NaN marks padding.
        y : None
            Ignored.

        Returns
        -------
        self : SequenceScaler
            The fitted scaler.
        """
        # The valid steps alone: a list is not padded to its longest sequence.
        steps, lengths = validate_sequences(self, X, reset=True, keep_nan=True, steps=True)
        self.n_samples_seen_ = len(lengths)
        self.n_steps_seen_ = len(steps)
        mean, var, scale = column_moments(steps)
        self.mean_ = mean if self.with_mean else None
        self.var_ = self.scale_ = None
        if self.with_std:
            self.var_ = var
            # A constant feature keeps its values (minus the mean) instead of
            # dividing by zero or by rounding noise, which is relative to the
            # values' size (as the estimators' standardization decides): a
            # feature of tiny values is scaled like any other.
            center = np.abs(self.mean_) if self.with_mean else np.abs(steps).max(axis=0)
            scale[(scale == 0) | (scale <= CONSTANT_SPREAD * center)] = 1.0
            self.scale_ = scale
        return self

    def transform(self, X):
        """Standardize sequences with the statistics learnt in :meth:`fit`.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_timesteps) or \
(n_samples, n_timesteps, n_features), or list of arrays
            Sequences, 3D or a list of any length (a 2D table has the columns
            fit saw); trailing NaN marks padding.

        Returns
        -------
        X_scaled : ndarray or DataFrame of shape (n_samples, n_timesteps), or \
ndarray of shape (n_samples, n_timesteps, n_features)
            2D for 2D input (a DataFrame as :meth:`set_output` asks), else 3D
            float64 with NaN past each end.
        """
        out = self._apply(X, inverse=False)
        container = getattr(self, "_sklearn_output_config", {}).get(
            "transform", sklearn.get_config()["transform_output"]
        )
        # A table's own columns (a 2D input to a scaler fitted on sequences has
        # more columns than get_feature_names_out has names).
        if not self._fitted_on_table or out.ndim != 2 or container == "default":
            return out
        names = self.get_feature_names_out()
        if container == "polars":
            import polars

            return polars.DataFrame(out, schema=names.tolist(), orient="row")
        return pd.DataFrame(out, columns=names, index=getattr(X, "index", None), copy=False)

    def set_output(self, *, transform=None):
        """Set the container of :meth:`transform`'s output for a 2D table.

        A DataFrame cannot hold 3D sequences: the output for 3D or ragged
        input stays a NumPy array whatever ``transform`` is.

        Parameters
        ----------
        transform : {"default", "pandas", "polars"} or None, default=None
            ``"pandas"`` or ``"polars"``: a 2D output of a scaler fitted on a
            table is a DataFrame of that library (one fitted on sequences
            names no table's columns), its columns named by :meth:`get_feature_names_out` (and
            with the input DataFrame's index, for pandas); ``"default"``: a
            NumPy array; None leaves the setting unchanged.

        Returns
        -------
        self : SequenceScaler
            This transformer.

        Examples
        --------
        >>> import pandas as pd
        >>> from sklrnn.preprocessing import SequenceScaler
        >>> table = pd.DataFrame({"t0": [0.0, 2.0], "t1": [4.0, 6.0]})
        >>> scaled = SequenceScaler().set_output(transform="pandas").fit_transform(table)
        >>> scaled.columns.tolist(), scaled.to_numpy().round(3).tolist()
        (['t0', 't1'], [[-1.342, 0.447], [-0.447, 1.342]])
        """
        _check_container(transform)
        if transform is not None:
            # The attribute scikit-learn's clone copies.
            self._sklearn_output_config = {"transform": transform}
        return self

    def inverse_transform(self, X):
        """Undo the scaling.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_timesteps) or \
(n_samples, n_timesteps, n_features), or list of arrays
            Scaled sequences.

        Returns
        -------
        X_original : ndarray of the shape of the output of :meth:`transform`
            Sequences in the original units, NaN padding kept.
        """
        return self._apply(X, inverse=True)

    def _apply(self, X, inverse):
        check_is_fitted(self)
        table = _is_table(X)
        # What inverse_transform reads is usually transform's output, an array
        # without the column names fit saw: no warning of the missing names
        # (StandardScaler's inverse_transform gives none).
        X3, _ = validate_sequences(self, X, reset=False, keep_nan=True, feature_names=not inverse)
        mean = 0.0 if self.mean_ is None else self.mean_
        scale = 1.0 if self.scale_ is None else self.scale_
        with np.errstate(over="ignore"):  # reported just below, with the fix
            # One new float64 array, the second operation in place (X3 may
            # be the caller's own array): a temporary besides doubled the peak.
            if inverse:
                out = np.multiply(X3, scale, dtype=np.float64)
                out += mean
            else:
                out = np.subtract(X3, mean, dtype=np.float64)
                out /= scale
        if np.isinf(out).any():
            method = "inverse_transform" if inverse else "transform"
            raise ValueError(
                f"{method} overflows float64: X holds values too far from the training "
                f"data for its mean_ and scale_ (largest |x| = {np.nanmax(np.abs(X3)):.3g}). "
                "Rescale X the same way as the training data, or refit on data that "
                "spans its range."
            )
        return out[:, :, 0] if table else out

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        # allow_nan stays False: only trailing NaN (padding) is accepted, as
        # in the estimators, and NaN anywhere else raises.
        tags.input_tags.three_d_array = True
        return tags


def _refuse_partial_names(columns, names):
    """Refuse names that select several of a MultiIndex's columns by their first levels.

    ``"id" in df.columns`` holds for the column ``("id", "")`` that
    ``groupby().agg().reset_index()`` makes: the key columns were then read as
    features too, and pandas failed on ``df["id"]``, a DataFrame.
    """
    if not isinstance(columns, pd.MultiIndex):
        return
    whole = columns.nlevels
    partial = [n for n in names if not (isinstance(n, tuple) and len(n) == whole) and n in columns]
    if partial:
        key = partial[0] if isinstance(partial[0], tuple) else (partial[0],)
        full = [c for c in columns if c[: len(key)] == key]
        raise ValueError(
            f"The names {partial} select columns by the first of the DataFrame's "
            f"{columns.nlevels} column levels ({partial[0]!r} selects {full}), but each must "
            f"name one column: pass full names, e.g. {full[0]!r}, or flatten the columns "
            "first, e.g. df.columns = ['_'.join(map(str, c)).strip('_') for c in df.columns]."
        )


@validate_params(
    {
        "df": [pd.DataFrame],
        "id_column": "no_validation",
        "time_column": "no_validation",
        "feature_columns": [list, None],
        "target_column": "no_validation",
    },
    prefer_skip_nested_validation=True,
)
def long_to_sequences(df, id_column, time_column, feature_columns=None, target_column=None):
    """Convert a long DataFrame, one row per (series, time step), to sequences.

    Rows are grouped by ``id_column`` and ordered by ``time_column`` within
    each group, whatever the order of the rows. Series of different lengths
    are padded with trailing NaN, the format the estimators read lengths
    from.

    Parameters
    ----------
    df : pandas.DataFrame
        The long table: one row per series and time step.
    id_column : hashable
        Column naming the series each row belongs to (or a level of the
        index, as sktime's tables indexed by series and time have it).
        Series come out in sorted order of their ids.
    time_column : hashable
        Column (or index level) giving the time of each row (numbers, dates
        or durations; strings, which sort as text, are refused); each (id,
        time) pair must be unique.
    feature_columns : list of hashable, default=None
        Numeric columns to use as features per time step, in this order.
        By default every column other than ``id_column``, ``time_column`` and
        ``target_column``, in the table's order. The returned array carries
        no column names, so a model cannot check them: name the columns
        here for tables whose columns may come in another order (new data to
        predict, say).
    target_column : hashable, default=None
        Column holding one target per series (a label or a value that must be
        the same on every row of the series). None returns ``y=None``.

    Returns
    -------
    X : ndarray of shape (n_series, max_length, n_features)
        The sequences, float64, NaN past the end of each shorter series.
    y : ndarray of shape (n_series,) or None
        The target of each series, aligned with ``X``.
    ids : ndarray of shape (n_series,)
        The id of each series, aligned with ``X``.

    Raises
    ------
    ValueError
        For a missing or repeated column name, id, time and target columns
        that coincide, a target among the feature columns, a non-numeric,
        missing or infinite feature value, a missing id or time, a repeated
        (id, time) pair, or a target that varies or is missing within a
        series.
    TypeError
        For a column argument that is not a column name (e.g. a list), a
        feature column of complex numbers, times held as strings, or ids or
        times that cannot be grouped (e.g. lists) or ordered (e.g. timestamps
        with and without a timezone).

    See Also
    --------
    WideToSequence : Sequences from a wide table.

    Examples
    --------
    >>> import pandas as pd
    >>> from sklrnn.preprocessing import long_to_sequences
    >>> df = pd.DataFrame({
    ...     "patient": ["b", "a", "a", "b", "a"],
    ...     "hour": [1, 2, 1, 0, 0],
    ...     "pulse": [61.0, 72.0, 71.0, 60.0, 70.0],
    ...     "outcome": ["ok", "ill", "ill", "ok", "ill"],
    ... })
    >>> X, y, ids = long_to_sequences(df, "patient", "hour", target_column="outcome")
    >>> X[:, :, 0].tolist()
    [[70.0, 71.0, 72.0], [60.0, 61.0, nan]]
    >>> y.tolist(), ids.tolist()
    (['ill', 'ok'], ['a', 'b'])
    """
    for name, column in [
        ("id_column", id_column),
        ("time_column", time_column),
        ("target_column", target_column),
    ]:
        if not isinstance(column, Hashable) or column is None and name != "target_column":
            raise TypeError(
                f"{name} must be the name of one column of df, got the "
                f"{type(column).__name__} {column!r}. long_to_sequences takes one id, one "
                "time and one target column; pass its name, e.g. a str."
            )
    key_columns = [id_column, time_column]
    if target_column is not None:
        key_columns.append(target_column)
    # Index levels serve as columns, as in pandas' groupby: sktime's
    # "pd-multiindex" table indexes its rows by (series, time).
    levels = [c for c in key_columns if c not in df.columns and c in df.index.names]
    if levels:
        df = df.reset_index(level=levels)
    if any(name in key_columns for name in df.index.names):
        # A level that is also a column (set_index(..., drop=False)): the
        # column is read, and the level unnamed, which pandas' sort and
        # groupby would otherwise refuse as ambiguous.
        df = df.set_axis(
            df.index.set_names([None if n in key_columns else n for n in df.index.names])
        )
    if len(set(key_columns)) < len(key_columns):
        raise ValueError(
            f"id_column, time_column and target_column must be different columns, got "
            f"{key_columns}."
        )
    _refuse_partial_names(df.columns, [*key_columns, *(feature_columns or [])])
    if feature_columns is None:
        feature_columns = [c for c in df.columns if c not in key_columns]
    elif not feature_columns:
        raise ValueError(
            "feature_columns is empty: name at least one column of the DataFrame to read "
            "as a feature, or leave feature_columns=None for every other column."
        )
    elif target_column is not None and target_column in feature_columns:
        raise ValueError(
            f"The target column {target_column!r} is also in feature_columns: the sequences "
            "would hold their own target. Leave it out of feature_columns."
        )
    elif keys := [c for c in (id_column, time_column) if c in feature_columns]:
        raise ValueError(
            f"feature_columns holds {keys}, the id or time column: the sequences would hold "
            "their ids or times as values. Leave them out of feature_columns (a time "
            "feature, such as the hour of day, goes in a column of its own)."
        )
    elif len(set(feature_columns)) < len(feature_columns):
        repeated = sorted({c for c in feature_columns if feature_columns.count(c) > 1}, key=str)
        raise ValueError(
            f"feature_columns names {repeated} more than once; each feature is one column."
        )
    missing = [c for c in [*key_columns, *feature_columns] if c not in df.columns]
    if missing:
        raise ValueError(
            f"Columns {missing} are not in the DataFrame; its columns are {df.columns.tolist()}."
        )
    # df[name] of a repeated name is a DataFrame, which every check below misreads.
    used = [*key_columns, *feature_columns]
    repeated = [c for c in df.columns[df.columns.duplicated()].unique() if c in used]
    if repeated:
        raise ValueError(
            f"Column names {repeated} are repeated in the DataFrame; long_to_sequences "
            "needs unique names for the columns it uses. Rename or drop the duplicates."
        )
    if len(df) == 0:
        raise ValueError("The DataFrame has no rows; long_to_sequences needs at least one.")
    # Columns that sort by their codes, not their values: an unordered
    # dictionary-encoded arrow column (codes in the order values first
    # appeared in; an ordered one, an ordered categorical through parquet,
    # keeps its order) and unordered categorical ids (the categories' order).
    # Their values, then: times in time order, strings refused, and series in
    # the sorted order of their ids.
    decoded = {}
    for c in key_columns:
        dtype = df[c].dtype
        if _arrow_dictionary(dtype):
            decoded[c] = pd.ArrowDtype(dtype.pyarrow_dtype.value_type)
        elif c == id_column and isinstance(dtype, pd.CategoricalDtype) and not dtype.ordered:
            decoded[c] = dtype.categories.dtype
    if decoded:
        df = df.astype(decoded)
    if not feature_columns:
        raise ValueError(
            "No feature columns: the DataFrame has no columns besides the id, time "
            "and target columns."
        )
    features = df[feature_columns]
    not_numeric = [
        c
        for c in feature_columns
        if not pd.api.types.is_numeric_dtype(df[c])
        and not pd.api.types.is_bool_dtype(df[c])  # arrow's bools are not "numeric"
        and not (df[c].dtype == object and _holds_numbers(df[c]))
    ]
    if not_numeric:
        target = (
            f", or pass the label column as target_column={not_numeric[0]!r}"
            if target_column is None and len(not_numeric) == 1
            else ""
        )
        raise ValueError(
            f"Feature columns {not_numeric} are not numeric; encode them as numbers "
            f"or leave them out of feature_columns{target}."
        )
    complex_columns = [c for c in feature_columns if pd.api.types.is_complex_dtype(df[c])]
    if complex_columns:
        raise TypeError(
            f"Feature columns {complex_columns} hold complex numbers, which would lose "
            "their imaginary part. Split each into two real columns, e.g. "
            "df[c].to_numpy().real and .imag, and pass those as features."
        )
    for column in (id_column, time_column):
        if df[column].isna().any():
            raise ValueError(f"Column {column!r} has missing values; every row needs one.")
        row = _first_unhashable(df[column])
        if row is not None:
            value = df[column].iloc[row]
            fix = (
                f", e.g. lists with tuples: df[{column!r}].map(tuple)"
                if isinstance(value, list)
                else ""
            )
            raise TypeError(
                f"Column {column!r} holds {value!r} (a {type(value).__name__}, which cannot "
                f"be hashed) at row position {row}: ids and times must be single values "
                "(numbers, strings, timestamps, or tuples of them) to group and sort by. "
                f"Replace such values first{fix}."
            )
    if _holds_strings(df[time_column]):
        if isinstance(df[time_column].dtype, pd.CategoricalDtype):
            categories = df[time_column].cat.categories
            shown = [_python(c) for c in categories[:4]] + (["..."] if len(categories) > 4 else [])
            raise TypeError(
                f"The time column {time_column!r} holds strings in an unordered categorical: "
                f"it sorts in the order of its categories ({', '.join(map(str, shown))}), "
                "which astype('category') makes text order ('10' before '9'). If they are in "
                f"time order, make it ordered: df[{time_column!r}].cat.as_ordered(); else "
                f"convert it first, e.g. with pd.to_numeric(df[{time_column!r}].astype(str)) "
                "or pd.to_datetime."
            )
        raise TypeError(
            f"The time column {time_column!r} holds strings, which sort as text, not in "
            f"time order ('10' before '9'). Convert it first, e.g. with "
            f"pd.to_numeric(df[{time_column!r}]) or pd.to_datetime(df[{time_column!r}])."
        )
    if features.isna().to_numpy().any():
        row = int(np.flatnonzero(features.isna().to_numpy().any(axis=1))[0])
        raise ValueError(
            f"Feature columns have missing values (first in row position {row}, id "
            f"{_python(df[id_column].iloc[row])!r}). Impute them first, e.g. "
            f"df.groupby({id_column!r})[...].ffill()."
        )
    try:
        values = features.to_numpy(dtype=np.float64)
    except OverflowError as exc:  # a Python int beyond float64
        raise ValueError(
            f"Feature columns hold a number beyond float64's range ({exc}). Rescale it first."
        ) from exc
    infinite = np.isinf(values).any(axis=1)
    if infinite.any():
        row = int(np.flatnonzero(infinite)[0])
        raise ValueError(
            f"Feature columns hold infinity (first in row position {row}, id "
            f"{_python(df[id_column].iloc[row])!r}). Replace it first, e.g. with NaN and then "
            "impute."
        )
    repeated = df.duplicated(subset=[id_column, time_column])
    if repeated.any():
        row = int(np.flatnonzero(repeated.to_numpy())[0])
        raise ValueError(
            f"Series {_python(df[id_column].iloc[row])!r} has more than one row at time "
            f"{_python(df[time_column].iloc[row])!r}; each (id, time) pair must be unique. "
            "Aggregate the duplicates first."
        )
    try:
        data = df.sort_values(
            [id_column, time_column], kind="stable", key=lambda c: _by_value(c, time_column)
        )
    except TypeError as exc:
        raise _unordered_error(df, id_column, time_column) from exc
    codes, ids = pd.factorize(data[id_column], sort=True)
    # observed: a categorical's unused categories are no series (pandas 2
    # warned of its default changing).
    position = data.groupby(id_column, sort=False, observed=True).cumcount().to_numpy()
    shape = (len(ids), int(position.max()) + 1, len(feature_columns))
    try:
        X = np.full(shape, np.nan)
    except (MemoryError, ValueError) as exc:  # ValueError: beyond numpy's largest array
        counts = np.bincount(codes)
        longest = _python(np.asarray(ids)[counts.argmax()])
        raise _out_of_memory(
            "The sequences, padded into one array,",
            shape,
            f": every series is padded to the longest, series {longest!r} with "
            f"{counts.max()} rows, while half of them have at most {int(np.median(counts))}. "
            "Drop the longest series or keep their last rows first, e.g. "
            f"df.groupby({id_column!r}).tail(n).",
        ) from exc
    X[codes, position] = data[feature_columns].to_numpy(dtype=np.float64)
    y = None
    if target_column is not None:
        y = _target_per_series(data, codes, ids, target_column)
    return X, y, np.asarray(ids)


def _holds_numbers(column):
    """Whether the object Series ``column`` holds real numbers only, and missing values.

    Numbers held as Python objects (a column built from a list of ints and
    None, or of Decimals and ints) are numbers; text is not.
    """
    kind = pd.api.types.infer_dtype(column)
    if kind in ("integer", "floating", "mixed-integer-float", "decimal", "empty"):
        return True
    mixed = kind in ("mixed", "mixed-integer")  # e.g. Decimals and ints, or ints and text
    # (numpy counts its durations as Integral: durations are no numbers here.)
    return mixed and all(
        isinstance(v, Real | Decimal) and not isinstance(v, np.timedelta64 | np.datetime64)
        for v in column.dropna()
    )


def _first_unhashable(values):
    """Position of the first value of the Series ``values`` that has no hash, or None."""
    if values.dtype != object:
        return None
    for position, value in enumerate(values):
        try:
            hash(value)
        except TypeError:
            return position
    return None


def _arrow_dictionary(dtype):
    """Whether ``dtype`` is an unordered dictionary-encoded arrow type (pandas' ArrowDtype)."""
    if not isinstance(dtype, pd.ArrowDtype):
        return False
    import pyarrow  # installed wherever an ArrowDtype exists

    arrow = dtype.pyarrow_dtype
    return pyarrow.types.is_dictionary(arrow) and not arrow.ordered


def _holds_strings(times):
    """True if sorting ``times`` would put strings in text order.

    An unordered categorical sorts by its categories, so its categories are
    what count; an ordered one has the order it was given.
    """
    if isinstance(times.dtype, pd.CategoricalDtype):
        if times.cat.ordered:
            return False
        times = pd.Series(times.cat.categories)
    kind = pd.api.types.infer_dtype(times, skipna=True)
    if kind in ("string", "bytes"):
        return True
    return kind.startswith("mixed") and times.map(lambda v: isinstance(v, str | bytes)).any()


def _by_value(column, time_column):
    """The time column as its values where it is an unordered categorical, else ``column``.

    Such a column sorts in the order of its categories, which is not time
    order unless they were given so (strings are refused before).
    """
    if column.name == time_column and isinstance(column.dtype, pd.CategoricalDtype):
        if not column.cat.ordered:
            return column.astype(column.cat.categories.dtype)
    return column


def _unordered_error(df, id_column, time_column):
    """The error for ids or times that pandas cannot sort, naming the column."""
    try:  # sort_values sorts each key's distinct values, as factorize does here
        pd.factorize(df[id_column], sort=True)
        kind, column = "time", time_column
    except TypeError:
        kind, column = "id", id_column
    return TypeError(
        f"The {kind} column {column!r} cannot be ordered: its values do not compare, "
        "e.g. timestamps that mix timezone-aware and naive ones. Convert them to one "
        f"type, e.g. to one timezone with pd.to_datetime(df[{column!r}], utc=True)."
    )


def _target_per_series(data, codes, ids, target_column):
    """One target per series; an error when it is missing or varies within a series."""
    target = data[target_column]
    missing = target.isna().to_numpy()
    if missing.any():
        code = codes[missing.argmax()]
        if missing[codes == code].all():
            rows, fix = "every row", "Give the series a target"
        else:
            rows, fix = "some rows", "Fill the missing values from the series' other rows"
        raise ValueError(
            f"The target column {target_column!r} is missing on {rows} of series "
            f"{_python(ids[code])!r}; long_to_sequences needs the series' target on every row. "
            f"{fix}, or drop the series."
        )
    n_values = target.groupby(codes).nunique()
    if (n_values > 1).any():
        code = int(n_values.index[n_values.to_numpy() > 1][0])
        raise ValueError(
            f"The target column {target_column!r} takes several values within series "
            f"{_python(ids[code])!r}; long_to_sequences needs one target per series. For a target "
            "per time step, use make_windows or aggregate the target per series."
        )
    first = np.zeros(len(ids), dtype=np.intp)
    first[codes[::-1]] = np.arange(len(codes))[::-1]
    return target.to_numpy()[first]


@validate_params(
    {
        "series": ["array-like", list],
        "window": [Interval(Integral, 1, None, closed="left")],
        "horizon": [Interval(Integral, 1, None, closed="left")],
        "step": [Interval(Integral, 1, None, closed="left")],
        "target": "no_validation",
    },
    prefer_skip_nested_validation=True,
)
def make_windows(series, window, horizon=1, step=1, *, target=None):
    """Cut series into input windows and the values that follow them.

    Each window of ``window`` consecutive steps is paired with the
    ``horizon`` steps right after it, the target of a forecast. With several
    series, windows are cut from each series separately and never span two
    of them.

    The windows of one series come out in time order, so that
    :class:`~sklearn.model_selection.TimeSeriesSplit` (with
    ``gap=horizon - 1``) tests on later windows than it trains on. The
    windows of several series come series by series: a split of them by
    position trains on one series' future beside another's past. Cut every
    series at one date instead, and window the parts on either side (the
    later part with ``window`` steps of history before the cut).

    Parameters
    ----------
    series : array-like of shape (n_timesteps,) or (n_timesteps, n_features), \
or list of such arrays
        One series (a 1D or 2D array, Series or DataFrame, a row per step,
        oldest first), or a list of series of possibly different lengths
        with the same features. Steps are rows: an index of times (dates,
        timestamps, periods or durations) must strictly increase, and a
        PeriodIndex must miss no period; other indexes are not read, so
        convert dates held as text with ``pd.to_datetime``, and insert the
        missing times of a DatetimeIndex (``.asfreq``) and fill them.
        DataFrames in a list are matched by column name, so they must all
        have the same columns, in any order. A list of numbers is one series,
        but a list of lists is a list of series: pass one multivariate
        series written as nested lists, one list per step, as
        ``np.asarray(rows)``.
    window : int
        Number of steps in each input window.
    horizon : int, default=1
        Number of future steps to predict after each window.
    step : int, default=1
        Distance between the starts of consecutive windows. The windows are
        anchored at the end of each series: the last window's targets are the
        series' last ``horizon`` values, so the most recent data is never
        dropped.
    target : int, str, list or None, default=None
        Feature(s) to forecast. An int is a position along the feature axis,
        even for DataFrames whose column names are integers; any other value
        is a column name of DataFrame series (integers are positions and
        strings are names, as in :class:`~sklearn.compose.ColumnTransformer`).
        None forecasts every feature.

    Returns
    -------
    X : ndarray of shape (n_windows, window, n_features)
        Input windows, float64, in time order within each series and in the
        order of the series.
    y : ndarray of shape (n_windows,) or (n_windows, horizon * n_targets)
        Values after each window, ordered by step then by target
        (``[t+1 f0, t+1 f1, ..., t+h f0, ...]``); 1D when there is one target
        and ``horizon=1``.

    Raises
    ------
    ValueError
        If a series is shorter than ``window + horizon`` or has missing
        values, if a series' time index does not strictly increase, misses
        periods (a PeriodIndex) or is a MultiIndex (several series: pass
        them as a list),
        if the series differ in their number of features or, for
        DataFrames, in their column names, or if a target is not a feature.
    TypeError
        If ``target`` is an array or another value that cannot be a column
        name (pass a list), or a list of series mixes DataFrames of several
        columns with arrays, or series with other values (e.g. None).
    MemoryError
        If the windows do not fit in memory, with their size.

    Examples
    --------
    >>> import numpy as np
    >>> from sklrnn.preprocessing import make_windows
    >>> X, y = make_windows(np.arange(6.0), window=3, horizon=2)
    >>> X[:, :, 0].tolist()
    [[0.0, 1.0, 2.0], [1.0, 2.0, 3.0]]
    >>> y.tolist()
    [[3.0, 4.0], [4.0, 5.0]]
    """
    for name, value in [("window", window), ("horizon", horizon), ("step", step)]:
        _reject_bool(value, name, "make_windows")
    # Python ints: numpy ints would wrap around in the sizes below (2**63 - 1 + 1).
    window, horizon, step = int(window), int(horizon), int(step)
    listed = isinstance(series, list | tuple) and len(series) > 0
    # all() stops at the first number: a long list of numbers costs one check.
    several = listed and all(np.ndim(s) > 0 for s in series)
    if listed and not several and np.ndim(series[0]) > 0:  # numpy: "inhomogeneous shape"
        i = next(i for i, s in enumerate(series) if np.ndim(s) == 0)
        raise TypeError(
            f"series[{i}] is {_python(series[i])!r}, not a series, while series[0] is one. "
            "Pass a list of series only (arrays, Series or DataFrames), or a list of "
            "numbers for one series."
        )
    # A polars DataFrame as pandas, so that target names its columns; tensors as arrays.
    parts = _readable(list(series) if several else [series], "series")
    _check_frames_not_mixed(parts, "series")
    arrays, columns, first = [], None, None
    for i, s in enumerate(parts):
        name = f"series[{i}]" if several else "series"
        index = getattr(s, "index", None)
        if isinstance(index, pd.MultiIndex):
            # (series, time) rows, as long_to_sequences reads them: windowed
            # in row order, they crossed from one series into the next.
            outer = index.names[0] if index.names[0] is not None else 0
            raise ValueError(
                f"{name} has a MultiIndex (levels {list(index.names)}), which holds several "
                "series: make_windows reads one series, a row per time, oldest first. Pass "
                "them as a list, e.g. [part.droplevel(0) for _, part in "
                f"series.groupby(level={outer!r})]."
            )
        times = time_index(index)
        if times is not None and not (times.is_monotonic_increasing and times.is_unique):
            # Windows follow the rows: a newest-first series would forecast
            # the past, and repeated times are several series interleaved.
            raise ValueError(
                f"{name} has a time index ({times.dtype}) that does not strictly increase (times "
                "out of order, repeated or NaT): make_windows reads one series, a row "
                "per time, oldest first. Sort it with .sort_index(), and pass several series "
                "(one per store, say) as a list."
            )
        if isinstance(times, pd.PeriodIndex) and len(times) > 1:
            # Its rows are then not consecutive periods: a window would span
            # a gap, or its target lie further ahead than horizon.
            periods = np.diff(times.asi8) // times.freq.n
            gaps = np.flatnonzero(periods > 1)
            if gaps.size:
                missing = int((periods[gaps] - 1).sum())
                raise ValueError(
                    f"{name} misses {counted(missing, 'period')} of its PeriodIndex, the first "
                    f"after {times[gaps[0]]}: windows of consecutive rows would span the gaps, "
                    "and pair windows with targets further ahead than horizon. Insert the "
                    "missing periods and fill them first, e.g. "
                    f"{name}.resample({times.freqstr!r}).asfreq().interpolate(), or split the "
                    "series at its gaps."
                )
        if isinstance(s, pd.DataFrame):
            if columns is None:
                columns, first = s.columns, name
            elif not s.columns.equals(columns):
                s = _same_columns(s, name, columns, first)
        a = _plain_numbers(s)  # check_array's result without its dispatch (lists of series)
        if a is None:
            a = _numeric_array(
                s,
                name,
                ensure_2d=False,
                allow_nd=True,
                dtype=np.float64,
                ensure_all_finite="allow-nan",
                ensure_min_samples=0,  # an empty series is too short, below
            )
        if a.ndim == 1:
            a = a[:, None]
        elif a.ndim == 2 and len(a) < a.shape[1] and not isinstance(s, pd.DataFrame):
            # Rows are times: an array of series, a row each, is one series of
            # as many features (a table's named columns are features).
            warnings.warn(
                f"{name} has fewer time steps ({len(a)} rows) than features ({a.shape[1]} "
                "columns): make_windows reads a row per time step. If its rows are series, "
                f"pass them as a list: list({name}).",
                UserWarning,
                stacklevel=_caller_outside_sklrnn(),
            )
        if a.ndim != 2:
            raise ValueError(
                f"{name} has {a.ndim} dimensions; a series is 1D (n_timesteps,) or "
                "2D (n_timesteps, n_features). Pass several series as a list, e.g. "
                "list(X) for a 3D array of equal-length series."
            )
        missing = np.isnan(a)
        if missing.any():
            t, f = np.argwhere(missing)[0]  # not ``step``, the parameter
            where = f"step {t}" + (f", feature {f}" if a.shape[1] > 1 else "")
            raise ValueError(
                f"{name} has NaN at {where} ({counted(int(missing.sum()), 'missing value')} "
                "in all): windows need complete values. Fill the gaps first, e.g. with "
                "pandas' interpolate() or ffill(), or split the series at them."
            )
        if len(a) < window + horizon:
            raise ValueError(
                f"{name} has {len(a)} steps, fewer than window + horizon = "
                f"{window + horizon}: it holds no complete window. Use a smaller "
                "window or horizon, or drop the short series."
            )
        arrays.append(a)
    _check_same_n_features(arrays, "series")
    targets = _target_positions(target, arrays[0].shape[1], columns)
    # The windows are written once into X: no list of per-series copies to
    # join, which would hold them twice.
    lasts = [len(a) - window - horizon for a in arrays]  # the last window's start
    shape = (sum(last // step + 1 for last in lasts), window, arrays[0].shape[1])
    try:
        X = np.empty(shape)
    except (MemoryError, ValueError) as exc:  # ValueError: beyond numpy's largest array
        raise _out_of_memory(
            "The windows",
            shape,
            ", as every window is a copy of its steps. Use a larger step, a smaller window, "
            "or fewer series at a time.",
        ) from exc
    y = np.empty((len(X), horizon * len(targets)))
    done = 0
    for a, last in zip(arrays, lasts, strict=True):
        # The windows end with the series: they start at last, last - step, ...
        first, count = last % step, last // step + 1
        # sliding_window_view puts the window axis last: (n_starts, n_features, window).
        windows = np.lib.stride_tricks.sliding_window_view(a, window, axis=0)
        X[done : done + count] = windows[first : first + count * step : step].transpose(0, 2, 1)
        future = np.lib.stride_tricks.sliding_window_view(a[:, targets], horizon, axis=0)
        starts = slice(first + window, first + window + count * step, step)
        y[done : done + count] = future[starts].transpose(0, 2, 1).reshape(count, -1)
        done += count
    return X, (y[:, 0] if y.shape[1] == 1 else y)


def _target_positions(target, n_features, columns):
    """Positions along the feature axis of the features to forecast."""
    if target is None:
        return np.arange(n_features)
    items = target if isinstance(target, list) else [target]
    if not items:
        raise ValueError("target is an empty list; name at least one feature, or pass None.")
    positions = []
    for item in items:
        if not isinstance(item, Hashable):
            raise TypeError(
                f"target must be an int, a str, a list of them or None, got "
                f"{type(item).__name__} {item!r}. Pass an array as a list, e.g. target.tolist()."
            )
        if isinstance(item, Integral) and not isinstance(item, bool):
            position = int(item)
        elif columns is not None and item in columns:
            position = columns.get_loc(item)
            if not isinstance(position, Integral):  # a slice or mask: a MultiIndex level
                names = columns[position].tolist()
                raise ValueError(
                    f"target {item!r} names {len(names)} columns, {names}; name one column "
                    f"per feature to forecast, e.g. target={names[0]!r}."
                )
        else:
            raise ValueError(
                f"target {item!r} is neither a feature position nor a column name of "
                "the series; pass integers in [0, n_features) or DataFrame column names."
            )
        if not -n_features <= position < n_features:
            message = (
                f"target {item!r} is out of range for series with {counted(n_features, 'feature')}."
            )
            if columns is not None:
                message += (
                    " An int target is a position along the feature axis, even for integer "
                    f"column names. The columns are {columns.tolist()}; pass the position of "
                    "the one to forecast, e.g. df.columns.get_loc(name)."
                )
            raise ValueError(message)
        positions.append(position % n_features)
    return np.array(positions)
