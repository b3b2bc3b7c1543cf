"""Saving and loading fitted estimators without pickle: the sklrnn model file.

A pickle can run arbitrary code when it is loaded. :func:`save_model` writes
a zip archive of data only, in a fixed, versioned schema (see its docstring),
and :func:`load_model` reads it as an untrusted file: it checks every member,
field, parameter, fitted attribute and tensor before it builds the network,
and refuses anything else with a ``ValueError`` that names the file.
"""

import datetime
import json
import math
import warnings

import numpy as np
import torch
from sklearn.utils.validation import check_is_fitted
from skorch.history import History

from ._archive import (
    CHECKPOINT_JSON,
    FORMAT_VERSION,
    MAX_JSON_BYTES,
    MODEL_JSON,
    OPTIMIZER,
    WEIGHTS,
    Archive,
    check_format,
    check_history,
    check_statistics,
    check_writable,
    describe,
    is_finite_number,
    optimizer_from_archive,
    optimizer_to_archive,
    plain,
    tensor_spec,
    tensors_to_bytes,
    write_archive,
)
from ._base import (
    InconsistentVersionWarning,
    _BaseRNN,
    _changed_versions,
    _seeded_torch,
    _versions,
    device_exists,
)
from ._compat import validate_parameter_constraints
from ._module import _FIRST_KERNELS, front_end_strides

__all__ = ["save_model", "load_model"]

_FORMAT = "sklrnn-model"
_FIELDS = (
    "format",
    "format_version",
    "versions",
    "estimator",
    "params",
    "attributes",
    "history",
    "optimizer",
)
# Parameters a model file never carries: a loaded model writes no files and
# runs no code but sklrnn's own, so it has checkpoint=None and callbacks=None.
_NOT_SAVED = ("checkpoint", "callbacks")


class _Bad(Exception):
    """What is wrong with one field; load_model turns it into a ValueError naming the file."""


# -- fitted attributes: each estimator's list, and how each is stored -----------


def _integer(minimum):
    def decode(value):
        if not isinstance(value, int) or isinstance(value, bool) or value < minimum:
            raise _Bad(f"is {str(value)[:40]}, not an integer >= {minimum}")
        return value

    return int, decode


def _decode_flag(value):
    if not isinstance(value, bool):
        raise _Bad(f"is {str(value)[:40]}, not true or false")
    return value


# The pair of poolings front_end_strides gives: of at most 512 steps (what
# the first stride leaves), to one step or more. A file's other pools would
# run (a pool of 2**31 - 1 took minutes per prediction).
_POOLS = {front_end_strides(steps, 1)[1:] for steps in range(1, 513)}


def _decode_strides(value):
    if not (
        isinstance(value, list)
        and len(value) == 3
        and all(isinstance(s, int) and not isinstance(s, bool) and 1 <= s < 2**31 for s in value)
    ):
        raise _Bad(f"is {str(value)[:40]}, not 3 integers from 1 to 2**31 - 1")
    if tuple(value[1:]) not in _POOLS:
        raise _Bad(f"is {str(value)[:40]}, whose poolings the front end never uses")
    return tuple(value)


def _decode_kernels(value):
    if not (
        isinstance(value, list)
        and value
        and all(isinstance(k, int) and not isinstance(k, bool) for k in value)
        and set(value) <= set(_FIRST_KERNELS)
        and value == sorted(set(value))
    ):
        raise _Bad(f"is {str(value)[:40]}, not increasing sizes out of {list(_FIRST_KERNELS)}")
    return tuple(value)


def _decode_dilations(value):
    def pair(p):
        return (
            isinstance(p, list)
            and len(p) == 2
            and all(isinstance(v, int) and not isinstance(v, bool) and 1 <= v < 2**31 for v in p)
        )

    if not (isinstance(value, list) and len(value) <= 32 and all(map(pair, value))):
        raise _Bad(f"is {str(value)[:40]}, not at most 32 pairs of integers from 1 to 2**31 - 1")
    if [d for d, _ in value] != sorted({d for d, _ in value}):
        raise _Bad(f"is {str(value)[:40]}, whose dilations are not increasing")
    return tuple(tuple(p) for p in value)


def _decode_floats(value):
    if not (isinstance(value, list) and all(map(is_finite_number, value))):
        raise _Bad("is not a list of finite numbers")
    return np.asarray(value, dtype=np.float64)


def _decode_positive(value):
    if not (is_finite_number(value) and value > 0):
        raise _Bad(f"is {str(value)[:40]}, not a positive finite number")
    return float(value)


def _decode_names(value):
    if not (isinstance(value, list) and all(isinstance(v, str) for v in value)):
        raise _Bad("is not a list of strings")
    names = np.empty(len(value), dtype=object)
    names[:] = value
    return names


# Label dtypes the format stores, and the JSON values each holds: bool,
# integers, floats (not longdouble, which JSON cannot hold), strings, object
# arrays of strings (labels from pandas), and dates and durations as their
# counts of the dtype's unit (NaT, the smallest int64, is no label).
_LABEL_VALUES = {
    "b": lambda v: isinstance(v, bool),
    "i": lambda v: isinstance(v, int) and not isinstance(v, bool),
    "u": lambda v: isinstance(v, int) and not isinstance(v, bool),
    "f": lambda v: isinstance(v, int | float) and not isinstance(v, bool),
    "U": lambda v: isinstance(v, str),
    "O": lambda v: isinstance(v, str),  # fit takes no other Python objects
    "M": lambda v: type(v) is int and -(2**63) < v < 2**63,
    "m": lambda v: type(v) is int and -(2**63) < v < 2**63,
}


def _storable(dtype):
    """Whether the format stores labels of ``dtype``."""
    return dtype.kind in _LABEL_VALUES and not (dtype.kind == "f" and dtype.itemsize > 8)


def _text_width(labels):
    """The width text labels are stored at: their longest, at least 1 character."""
    return max(1, max(map(len, labels), default=1))


def _encode_labels(labels):
    if not _storable(labels.dtype):
        raise TypeError(
            f"classes_ has dtype {labels.dtype}, which the format cannot store: fit on labels "
            "it stores (numbers up to float64, strings, bools, dates), or pickle the model."
        )
    if labels.dtype.kind == "U":
        # As wide as the longest label (np.unique keeps y's width, "<U300" for
        # labels of 4): a file may then declare no other width.
        labels = labels.astype(f"<U{_text_width(labels.tolist())}")
    if labels.dtype.kind in "Mm":
        return {"dtype": labels.dtype.str, "values": labels.astype(np.int64).tolist()}
    values = [plain(v) if isinstance(v, np.generic) else v for v in labels.tolist()]
    return {"dtype": labels.dtype.str, "values": values}


def _decode_labels(value):
    if not (isinstance(value, dict) and set(value) == {"dtype", "values"}):
        raise _Bad("is malformed")
    try:
        dtype = np.dtype(value["dtype"]) if isinstance(value["dtype"], str) else None
    except TypeError:
        dtype = None
    if dtype is None or not _storable(dtype):
        raise _Bad(f"has dtype {str(value['dtype'])[:40]}, which the format does not allow")
    values = value["values"]
    if not (isinstance(values, list) and all(map(_LABEL_VALUES[dtype.kind], values))):
        raise _Bad(f"holds values that are not labels of dtype {dtype}")
    if dtype.itemsize * len(values) > MAX_JSON_BYTES:
        raise _Bad(
            f"would take {dtype.itemsize * len(values)} bytes as {dtype}, more than the "
            f"{MAX_JSON_BYTES} the format allows"
        )
    longest = _text_width(values) if dtype.kind == "U" else 0
    if dtype.kind == "U" and dtype.itemsize // 4 != longest:
        # Every predicted label takes the dtype's width: 4 MB each for <U1000000.
        raise _Bad(f"has dtype {dtype}, not as wide as its longest label ({longest} characters)")
    if dtype.kind in "Mm" and np.datetime_data(dtype)[0] == "generic":
        raise _Bad(f"has dtype {dtype}, without a unit")
    try:
        if dtype.kind == "O":
            labels = np.empty(len(values), dtype=object)
            labels[:] = values
        elif dtype.kind in "Mm":
            labels = np.array(values, dtype=np.int64).astype(dtype)
        else:
            with np.errstate(over="ignore"):  # an overflow is caught below
                labels = np.array(values, dtype=dtype)
        increasing = len(labels) >= 2 and bool(np.all(labels[1:] > labels[:-1]))
    except (OverflowError, TypeError, ValueError) as exc:
        raise _Bad(f"cannot be read as labels of dtype {dtype} ({exc})") from exc
    # numpy truncates strings to the dtype's length, drops trailing NULs and
    # rounds numbers to the dtype's precision, without a word: every label
    # must come back as written, and be finite, as fit requires.
    written = labels.astype(np.int64) if dtype.kind in "Mm" else labels
    if written.tolist() != values or not all(
        math.isfinite(v) for v in values if isinstance(v, float)
    ):
        raise _Bad(f"holds values that labels of dtype {dtype} do not store exactly")
    if not increasing:
        raise _Bad(
            "is not sorted and unique, with at least 2 labels (predictions map the "
            "network's outputs to labels by their position in classes_)"
        )
    return labels


_COUNT, _COUNT0 = _integer(1), _integer(0)
_FLAG = (bool, _decode_flag)
_STRIDES = (lambda strides: [int(s) for s in strides], _decode_strides)
_KERNEL_SIZES = (lambda kernels: [int(k) for k in kernels], _decode_kernels)
_DILATIONS = (lambda dilations: [[int(d), int(q)] for d, q in dilations], _decode_dilations)
_FLOATS = (lambda a: [float(v) for v in a], _decode_floats)
_POSITIVE = (float, _decode_positive)
_NAMES = (lambda a: [str(v) for v in a], _decode_names)
_LABELS = (_encode_labels, _decode_labels)

_COMMON_ATTRIBUTES = {
    "n_features_in_": _COUNT,
    "_fitted_on_table": _FLAG,
    "_n_channels": _COUNT,
    "strides_": _STRIDES,
    "kernel_sizes_": _KERNEL_SIZES,
    "kernel_dilations_": _DILATIONS,
    "n_networks_": _COUNT,
    "n_iter_": _COUNT0,
    "_weight_mean": _POSITIVE,
}
# Every fitted attribute but net_ and history_, which are stored on their own.
ATTRIBUTES = {
    "RNNClassifier": {**_COMMON_ATTRIBUTES, "classes_": _LABELS},
    "RNNRegressor": {
        **_COMMON_ATTRIBUTES,
        "n_outputs_": _COUNT,
        "_y_1d": _FLAG,
        "_y_mean": _FLOATS,
        "_y_scale": _FLOATS,
    },
}
# Each estimator's fitted attributes that may be missing: feature_names_in_ is
# set only when fit saw a DataFrame, a regressor's noise_std_ unless its
# training was interrupted.
OPTIONAL_ATTRIBUTES = {
    "RNNClassifier": {"feature_names_in_": _NAMES},
    "RNNRegressor": {"feature_names_in_": _NAMES, "noise_std_": _FLOATS},
}


def _encode_attributes(estimator):
    cls = type(estimator).__name__
    encoded = {
        name: encode(getattr(estimator, name)) for name, (encode, _) in ATTRIBUTES[cls].items()
    }
    for name, (encode, _) in OPTIONAL_ATTRIBUTES[cls].items():
        if hasattr(estimator, name):
            encoded[name] = encode(getattr(estimator, name))
    return encoded


def _set_attributes(estimator, stored, where):
    required = ATTRIBUTES[type(estimator).__name__]
    kinds = {**required, **OPTIONAL_ATTRIBUTES[type(estimator).__name__]}
    if not isinstance(stored, dict):
        raise ValueError(f"{where}: the fitted attributes in {MODEL_JSON} are malformed.")
    unknown = sorted(set(stored) - set(kinds))
    missing = sorted(set(required) - set(stored))
    if unknown or missing:
        problem = f"an unknown one, {unknown[0]!r}" if unknown else f"no {missing[0]!r}"
        raise ValueError(
            f"{where}: {MODEL_JSON} has {problem} among the fitted attributes of "
            f"{type(estimator).__name__}."
        )
    for name, value in stored.items():
        decode = kinds[name][1]
        try:
            setattr(estimator, name, decode(value))
        except _Bad as exc:
            raise ValueError(f"{where}: the fitted attribute {name} {exc}.") from None
    _check_attributes(estimator, where)


def _check_attributes(estimator, where):
    """The fitted attributes agree with each other."""
    e = estimator
    problems = []
    if e._fitted_on_table and e._n_channels != 1:
        problems.append(f"a table was fitted, but _n_channels is {e._n_channels}, not 1")
    if not e._fitted_on_table and e.n_features_in_ != e._n_channels:
        problems.append(f"n_features_in_={e.n_features_in_} differs from _n_channels")
    names = getattr(e, "feature_names_in_", None)
    if names is not None and len(names) != e.n_features_in_:
        problems.append(f"feature_names_in_ has {len(names)} names for {e.n_features_in_} features")
    if hasattr(e, "n_outputs_"):
        if e._y_1d and e.n_outputs_ != 1:
            problems.append(f"a 1-D target has n_outputs_={e.n_outputs_}")
        for name in ("_y_mean", "_y_scale", "noise_std_"):
            if hasattr(e, name) and getattr(e, name).shape != (e.n_outputs_,):
                problems.append(f"{name} has shape {getattr(e, name).shape}, not ({e.n_outputs_},)")
        with np.errstate(over="ignore"):
            if not (e._y_scale > 0).all():
                problems.append("the target scale _y_scale is not positive")
            elif not np.isfinite(e._y_scale**2).all():
                # fit computes the scale as a standard deviation, from a finite variance
                problems.append("the target scale _y_scale is too large for its square")
            elif not np.isfinite((getattr(e, "noise_std_", 0.0) / e._y_scale) ** 2).all():
                problems.append("noise_std_ is too large for the target scale _y_scale")
        if np.any(getattr(e, "noise_std_", 0.0) < 0):
            problems.append("the noise standard deviation noise_std_ is negative")
    if problems:
        raise ValueError(f"{where}: the fitted attributes do not agree: {problems[0]}.")


# -- parameters -------------------------------------------------------------------


def _encode_params(estimator):
    params = estimator.get_params(deep=False)
    if params.get("callbacks"):
        warnings.warn(
            "callbacks are not saved (they are arbitrary Python objects): the loaded "
            "model has callbacks=None. Set them again after load_model if further "
            "training needs them.",
            UserWarning,
            stacklevel=3,
        )
    if isinstance(params.get("random_state"), np.random.RandomState):
        warnings.warn(
            "random_state is a RandomState instance, which the format cannot store; it "
            "is saved as None (it only affects further training).",
            UserWarning,
            stacklevel=3,
        )
        params["random_state"] = None
    return {
        name: _encode_param(name, value) for name, value in params.items() if name not in _NOT_SAVED
    }


def _encode_param(name, value):
    if isinstance(value, np.generic):
        value = value.item()
    if value is None or isinstance(value, bool | int | float | str):
        return value
    if name == "optimizer" and _is_torch_optimizer(value):
        return {"torch.optim": value.__name__}
    if name == "class_weight" and isinstance(value, dict):
        durations = [k for k in value if isinstance(k, np.timedelta64 | datetime.timedelta)]
        if durations:  # written as text ("1 day, 0:00:00"), which no label would match
            raise TypeError(
                f"class_weight has the duration {durations[0]!r} as a key, which the format "
                "cannot store. Pass the class weights as sample_weight, or pickle the "
                "estimator if you trust every future reader."
            )
        # Dates as ISO text of their own unit (a nanosecond datetime64's item()
        # is an int, which labels of another unit would read as a count).
        keys = [
            str(np.datetime64(k))
            if isinstance(k, np.datetime64 | datetime.date)
            else plain(k)
            if isinstance(k, np.generic)
            else k
            for k in value
        ]
        return [[k, float(v)] for k, v in zip(keys, value.values(), strict=True)]
    what = (
        f"the class {value.__module__}.{value.__qualname__}"
        if isinstance(value, type)
        else f"a {type(value).__name__}"
    )
    raise TypeError(
        f"The parameter {name} is {what}, which the format cannot store "
        "(it stores numbers, strings, a class_weight dict and torch.optim classes). Set it "
        "to such a value, or pickle the estimator if you trust every future reader."
    )


def _is_torch_optimizer(value):
    return (
        isinstance(value, type)
        and issubclass(value, torch.optim.Optimizer)
        and getattr(torch.optim, value.__name__, None) is value
    )


def _decode_params(cls, stored, where):
    if not isinstance(stored, dict):
        raise ValueError(f"{where}: the parameters in {MODEL_JSON} are malformed.")
    carried = [name for name in _NOT_SAVED if name in stored]
    if carried:
        raise ValueError(
            f"{where}: {MODEL_JSON} sets the parameter {carried[0]}, which a model file never "
            "carries: a loaded model has checkpoint=None and callbacks=None, so that it "
            "writes no files and runs no code from the file."
        )
    names = set(cls().get_params(deep=False)) - set(_NOT_SAVED)
    unknown, missing = sorted(set(stored) - names), sorted(names - set(stored))
    if unknown or missing:
        problem = f"an unknown parameter {unknown[0]!r}" if unknown else f"no {missing[0]!r}"
        raise ValueError(f"{where}: {MODEL_JSON} has {problem} for {cls.__name__}.")
    params = {name: _decode_param(name, value, where) for name, value in stored.items()}
    try:
        validate_parameter_constraints(cls._parameter_constraints, params, cls.__name__)
    except ValueError as exc:  # scikit-learn's InvalidParameterError
        raise ValueError(f"{where}: {exc}") from None
    return params


def _decode_param(name, value, where):
    if value is None or isinstance(value, bool | int | float | str):
        return value
    if name == "optimizer" and isinstance(value, dict) and set(value) == {"torch.optim"}:
        optimizer = value["torch.optim"]
        if isinstance(optimizer, str) and not optimizer.startswith("_"):
            found = getattr(torch.optim, optimizer, None)
            if _is_torch_optimizer(found):
                return found
        raise ValueError(f"{where}: {str(optimizer)[:40]!r} is not a torch.optim optimizer.")
    if name == "class_weight" and isinstance(value, list):
        pairs = [p for p in value if isinstance(p, list) and len(p) == 2]
        # Weights that fit takes (finite numbers >= 0), each label once
        # (True and 1 are one key).
        if (
            len(pairs) == len(value)
            and all(
                isinstance(k, bool | int | float | str)
                and isinstance(w, int | float)
                and not isinstance(w, bool)
                and math.isfinite(w)
                and w >= 0
                for k, w in pairs
            )
            and len(dict(pairs)) == len(pairs)
        ):
            return dict(pairs)
    raise ValueError(f"{where}: the parameter {name} is malformed: {str(value)[:60]}.")


# -- saving -----------------------------------------------------------------------


def save_model(estimator, file):
    """Save a fitted sklrnn estimator to a file that loads without running code.

    The file is a zip archive of three members:

    ``model.json``
        ``format`` (``"sklrnn-model"``) and ``format_version`` (7);
        ``versions`` of sklrnn, torch, skorch and scikit-learn that wrote it;
        ``estimator``, the class name; ``params``, every constructor
        parameter but ``checkpoint`` and ``callbacks`` (a ``class_weight``
        key that is a date or duration as its ISO text, which weighs the
        same class); ``attributes``, the
        estimator's fitted attributes (``classes_`` with its dtype, text as
        wide as the longest label; ``n_features_in_``, ``feature_names_in_``, ``strides_``,
        ``kernel_sizes_``, ``kernel_dilations_``, ``n_networks_``, ``n_iter_``, a regressor's target
        scaling, ...);
        ``history``, one record per epoch; and ``optimizer``, the structure
        of the optimizer's state (its parameter groups, and per parameter
        its numbers and the names of its tensors).
    ``weights.safetensors``
        The torch module's ``state_dict``, in the safetensors format.
    ``optimizer.safetensors``
        The tensors of the optimizer's state, named ``"<parameter index>.<name>"``.

    Loading it with :func:`load_model` executes nothing stored in the file.

    Parameters
    ----------
    estimator : RNNClassifier or RNNRegressor
        A fitted estimator. ``optimizer`` must be a name or a ``torch.optim``
        class; where it changed since the fit, the file holds the new
        optimizer's state before its first step, as a warm start begins
        from. ``checkpoint`` and ``callbacks`` are not saved: the loaded
        model has ``checkpoint=None`` and ``callbacks=None`` (a warning says
        so when callbacks are set). A ``random_state`` given as a
        ``RandomState`` instance is saved as None, with a warning; it
        matters only for further training. Neither are settings made
        through scikit-learn's ``set_output`` or ``set_fit_request`` (and
        the other metadata requests): set them again after loading, or
        pickle the estimator, which keeps them.
    file : str, path-like or binary file object
        Where to write the archive, conventionally ending in ``.zip``.

    Returns
    -------
    None

    Raises
    ------
    TypeError
        If ``estimator`` is not a sklrnn estimator, or ``file`` is neither
        a path nor a binary file object open for writing.
    ValueError
        If ``file`` is a path to a folder or into a folder that does not
        exist, a file object that cannot be written, or the model is too
        large for the format; or if a parameter that shapes the network
        (``hidden_size``, ``readout``, ``dropout``...) was changed since the
        fit, so that the file would describe another network.

    See Also
    --------
    load_model : Load the estimator back.

    Examples
    --------
    >>> import os, tempfile
    >>> import numpy as np
    >>> from sklrnn import RNNClassifier, load_model, save_model
    >>> rng = np.random.RandomState(0)
    >>> X = rng.normal(size=(30, 6))
    >>> y = np.where(X[:, -1] > 0, "up", "down")
    >>> clf = RNNClassifier(hidden_size=4, max_epochs=3, random_state=0).fit(X, y)
    >>> path = os.path.join(tempfile.mkdtemp(), "model.zip")
    >>> save_model(clf, path)
    >>> loaded = load_model(path)
    >>> bool((loaded.predict(X) == clf.predict(X)).all())
    True
    """
    if type(estimator).__name__ not in ATTRIBUTES or not isinstance(estimator, _BaseRNN):
        raise TypeError(
            "save_model saves sklrnn estimators (RNNClassifier, RNNRegressor), got "
            f"{type(estimator).__name__}. Save other objects (pipelines, searches) with "
            "pickle or joblib, or save their sklrnn estimator, e.g. a search's "
            "best_estimator_."
        )
    check_is_fitted(estimator)
    if len(estimator.net_.history) != getattr(estimator, "n_iter_", None):
        # Called from a callback: n_iter_ (and the closed-form head, the
        # regressor's noise) are set when training ends.
        raise ValueError(
            f"save_model was called on {type(estimator).__name__} while it is being fitted "
            "(from a callback?): its model is complete when fit returns. Save it then; to save "
            "the network's weights during training, use skorch's Checkpoint callback, and "
            "to resume an interrupted fit, the checkpoint parameter."
        )
    # The file describes the network by the parameters: set_params since the
    # fit would make it describe another one than the weights were fitted in.
    net = estimator._build_net("cpu")
    changed = estimator._network_changes(net, dropout=True)
    if changed:
        raise ValueError(
            f"save_model writes the parameters of {type(estimator).__name__}, but some that "
            f"shape its fitted network changed since the fit: {', '.join(changed)}. The "
            "file would describe another network. Set them back before saving, or fit "
            "again."
        )
    where = describe(file, "save_model's file")  # refuses what is neither a path nor a file
    _check_class_weight(estimator, "save_model")
    check_writable(file, where)
    optimizer = estimator.net_.optimizer_
    if type(optimizer) is not net.optimizer:
        # The optimizer parameter changed since the fit: the file holds the
        # new optimizer's state before its first step, which a warm start
        # would begin from too (the fitted state is another algorithm's).
        with _seeded_torch(0, "cpu"):  # the unused weights it draws leave no trace
            optimizer = net.initialize().optimizer_
    optimizer, optimizer_tensors = optimizer_to_archive(optimizer.state_dict())
    config = {
        "format": _FORMAT,
        "format_version": FORMAT_VERSION,
        "versions": _versions(),
        "estimator": type(estimator).__name__,
        "params": _encode_params(estimator),
        "attributes": _encode_attributes(estimator),
        "history": estimator.history_.to_list(),
        "optimizer": optimizer,
    }
    members = {
        MODEL_JSON: json.dumps(config, default=plain).encode("utf-8"),
        WEIGHTS: tensors_to_bytes(estimator.net_.module_.state_dict()),
        OPTIMIZER: tensors_to_bytes(optimizer_tensors),
    }
    write_archive(file, members, where)


def _check_class_weight(estimator, where):
    """Refuse a class_weight dict that fit would refuse (keys that are no classes)."""
    if isinstance(getattr(estimator, "class_weight", None), dict):
        try:
            estimator._class_weights(np.arange(len(estimator.classes_)), None)
        except ValueError as exc:
            raise ValueError(f"{where}: {exc}") from None


# -- loading ----------------------------------------------------------------------


def load_model(file, *, device=None):
    """Load an estimator written by :func:`save_model`.

    The file is read as untrusted: nothing stored in it is executed, and it
    is checked before anything is built from it. Each member is read
    through a cap on its decompressed size (8 MiB for JSON; for tensors,
    the size of the tensors the model needs, at most 1 GiB) and must be
    stored or deflated; the members must be exactly those
    :func:`save_model` writes. The JSON must be at most 16 levels
    deep; its format version must be one this sklrnn reads; its class must
    be one of sklrnn's estimators; its parameters must pass the estimator's
    own validation; its fitted attributes must be those of the estimator,
    well formed (``classes_`` sorted and unique, target scaling finite and
    positive) and consistent. The shapes in the safetensors header must be
    those of the network the parameters and attributes describe, compared
    before any network is built; the tensors must be finite. The loaded
    model has ``checkpoint=None`` and ``callbacks=None``.

    A model saved on a GPU loads on a machine without one: if its
    ``device`` parameter names CUDA and CUDA is not available, it is set to
    ``"cpu"`` with a warning.

    Parameters
    ----------
    file : str, path-like or binary file object
        An archive written by :func:`save_model`.
    device : str, default=None
        Device to load the model onto, which also becomes its ``device``
        parameter; None keeps the saved one (falling back to the CPU as
        described above). A device that does not exist on this machine is
        a ValueError.

    Returns
    -------
    estimator : RNNClassifier or RNNRegressor
        The fitted estimator, predicting exactly as the saved one.

    Raises
    ------
    ValueError
        If the file is not an sklrnn model file of a supported format
        version, or any check above fails; the message names the file and
        the problem.
    OSError
        If the file cannot be opened.

    Warns
    -----
    InconsistentVersionWarning
        If the model was saved with other versions of sklrnn, torch, skorch
        or scikit-learn, as for a pickle.

    See Also
    --------
    save_model : Write the archive; its docstring describes the format.

    Examples
    --------
    >>> import os, tempfile
    >>> import numpy as np
    >>> from sklrnn import RNNRegressor, load_model, save_model
    >>> rng = np.random.RandomState(0)
    >>> X = rng.normal(size=(30, 6))
    >>> reg = RNNRegressor(hidden_size=4, max_epochs=3, random_state=0).fit(X, X[:, -1])
    >>> path = os.path.join(tempfile.mkdtemp(), "model.zip")
    >>> save_model(reg, path)
    >>> bool(np.array_equal(load_model(path).predict(X), reg.predict(X)))
    True
    """
    where = describe(file, "Model file")
    mistaken = {
        CHECKPOINT_JSON: "a checkpoint, not a model file of save_model: a fit resumes it, "
        "given as checkpoint= with warm_start=True."
    }
    with Archive(file, where, (MODEL_JSON, WEIGHTS, OPTIMIZER), mistaken=mistaken) as archive:
        config = archive.read_json(MODEL_JSON)
        check_format(config, where, MODEL_JSON, _FORMAT, _FIELDS)
        cls = _estimator_class(config["estimator"], where)
        params = _decode_params(cls, config["params"], where)
        if device is None:
            params["device"] = _available_device(params["device"], where)
        else:
            params["device"] = _requested_device(cls, device)
        _warn_if_versions_differ(config["versions"], cls.__name__, where)
        estimator = cls(**params)
        _set_attributes(estimator, config["attributes"], where)
        _check_class_weight(estimator, where)
        check_history(config["history"], where)
        if estimator.n_iter_ != len(config["history"]):
            raise ValueError(
                f"{where}: n_iter_={estimator.n_iter_}, but the history records "
                f"{len(config['history'])} epochs."
            )
        # Built in a caller's inference mode, the weights would be inference
        # tensors, which no later training call could update.
        with torch.inference_mode(False):
            _restore_net(estimator, archive, config)
    return estimator


def _estimator_class(name, where):
    """The sklrnn estimator class called ``name``: the only classes load_model builds."""
    import sklrnn

    classes = {
        cls.__name__: cls
        for cls in (getattr(sklrnn, public) for public in sklrnn.__all__)
        if isinstance(cls, type) and issubclass(cls, _BaseRNN) and cls.__name__ in ATTRIBUTES
    }
    if not isinstance(name, str) or name not in classes:
        raise ValueError(
            f"{where} names the estimator {str(name)[:40]!r}, which is not one of sklrnn's "
            f"estimators {sorted(classes)}."
        )
    return classes[name]


def _warn_if_versions_differ(saved, estimator_name, where):
    if not (isinstance(saved, dict) and all(isinstance(v, str) for v in saved.values())):
        raise ValueError(f"{where}: the versions in {MODEL_JSON} are malformed.")
    current = _versions()
    changed = _changed_versions(saved, current)
    if changed:
        warnings.warn(
            InconsistentVersionWarning(
                f"{where} holds a model saved with {changed}; installed are "
                + ", ".join(f"{name} {version}" for name, version in current.items())
                + ". It was loaded, but may behave differently; refit it to be sure.",
                estimator_name=estimator_name,
                original_versions=saved,
                current_versions=current,
            ),
            stacklevel=3,
        )


def _available_device(device, where):
    """The saved device, or "cpu" (with a warning) where it is missing here."""
    try:
        available = device == "auto" or device_exists(device)
    except ValueError as exc:
        raise ValueError(f"{where}: the device {device!r} is not a torch device.") from exc
    if not available:
        warnings.warn(
            f"The model was saved with device={device!r}, which is not available "
            "here; it is loaded on the CPU with device='cpu'.",
            UserWarning,
            stacklevel=3,
        )
        return "cpu"
    return device


def _requested_device(cls, device):
    """``load_model``'s ``device`` argument, validated as the parameter and available here."""
    validate_parameter_constraints(
        {"device": cls._parameter_constraints["device"]}, {"device": device}, "load_model"
    )
    if not (device == "auto" or device_exists(device)):
        raise ValueError(
            f"load_model(device={device!r}): that device is not available on this machine. "
            "Pass device='cpu', or None to keep the saved device where it is available."
        )
    return device


def _restore_net(estimator, archive, config):
    """Check the tensors against the described network, then build it and load them."""
    where = archive.where
    changed = estimator._fitted_attribute_changes()
    if changed:  # save_model refuses to write them
        raise ValueError(
            f"{where}: its parameters describe another network than its fitted attributes: "
            f"{', '.join(changed)}."
        )
    try:
        net = estimator._build_net(estimator._resolve_auto()["device"])
    except (TypeError, ValueError) as exc:  # parameters fit refuses too
        raise ValueError(f"{where}: {exc}") from exc
    expected = _expected_weights(estimator, net, archive)
    weights = archive.read_tensors(WEIGHTS, expected)
    check_statistics(weights, where, WEIGHTS)
    # Building the module draws initial weights: from torch's generator, held
    # as fits hold it (a fit in another thread keeps its stream) and then
    # restored (the caller's too).
    try:
        with _seeded_torch(0, "cpu"):
            net.initialize()
    except (TypeError, ValueError, RuntimeError) as exc:  # an optimizer that cannot take it
        raise ValueError(
            f"{where}: the network and optimizer it describes cannot be built "
            f"({type(exc).__name__}: {exc})."
        ) from exc
    net.module_.load_state_dict(weights)
    optimizer = optimizer_from_archive(net.optimizer_, config["optimizer"], archive, OPTIMIZER)
    net.optimizer_.load_state_dict(optimizer)
    net.history = History(config["history"])
    estimator.net_ = net
    estimator.history_ = net.history


def _expected_weights(estimator, net, archive):
    """Names, shapes and dtypes of the described network's tensors, built on no device.

    The module is built on torch's "meta" device, which allocates nothing,
    so a file that declares a huge network costs no memory. Before that, the
    number of recurrent layers is checked against the number of tensors in
    the header, so that building stays cheap too.
    """
    where = archive.where
    n_tensors = len(archive.tensor_header(WEIGHTS))
    directions = 2 if estimator.bidirectional else 1
    layers = estimator.n_networks_ * estimator.num_layers * directions
    if 4 * layers > n_tensors:  # 4 tensors per recurrent layer and direction
        raise ValueError(
            f"{where}: {MODEL_JSON} describes {estimator.n_networks_} network(s) of "
            f"{estimator.num_layers} recurrent layer(s), but {WEIGHTS} holds only "
            f"{n_tensors} tensors."
        )
    try:
        with torch.device("meta"):
            module = net.module(**net.get_params_for("module"))
    except (RuntimeError, ValueError, TypeError, OverflowError) as exc:
        # torch's C++ errors run over lines of its stack trace: the first says it.
        reason = str(exc).partition("\n")[0][:200]
        raise ValueError(
            f"{where}: {MODEL_JSON} describes a network that cannot be built ({reason})."
        ) from exc
    return tensor_spec(module.state_dict())
