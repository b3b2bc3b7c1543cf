"""Saving and loading fitted estimators without pickle.

A pickle can run arbitrary code when it is loaded. :func:`save_model` writes a
zip archive holding only data: ``model.json`` (the estimator's class name,
parameters, fitted attributes and training history, in plain JSON) and the
weights of the torch module and optimizer (``weights.pt``, ``optimizer.pt``),
written by ``torch.save`` and read back with ``torch.load(weights_only=True)``,
which accepts tensors and containers only. :func:`load_model` rebuilds the
estimator from its class, which must be one of sklrnn's own, and refuses any
content it does not know.
"""

import io
import json
import os
import pathlib
import warnings
import zipfile

import numpy as np
import torch
from sklearn.utils.validation import check_is_fitted
from skorch.history import History

from ._base import InconsistentVersionWarning, _BaseRNN

__all__ = ["save_model", "load_model"]

_FORMAT = "sklrnn-model"
_FORMAT_VERSION = 1
_CONFIG, _WEIGHTS, _OPTIMIZER = "model.json", "weights.pt", "optimizer.pt"
_MEMBERS = {_CONFIG, _WEIGHTS, _OPTIMIZER}
# Dtype kinds an array may have in the JSON: bool, integers, floats, strings,
# and object arrays of those scalars (string labels from pandas).
_ARRAY_KINDS = set("biufUO")
_MAX_CONFIG_BYTES = 256 * 2**20
# Not part of a model: the net is rebuilt, the history stored on its own.
_SKIPPED_ATTRIBUTES = {"net_", "history_"}


def _estimator_classes():
    """sklrnn's public estimator classes, by name: the only ones load_model builds."""
    import sklrnn

    classes = {}
    for name in sklrnn.__all__:
        obj = getattr(sklrnn, name, None)
        if isinstance(obj, type) and issubclass(obj, _BaseRNN):
            classes[name] = obj
    return classes


# -- JSON encoding of parameter and attribute values -------------------------


def _encode(value, where):
    """A JSON-able form of ``value``; markers keep numpy dtypes and tuples."""
    if value is None or isinstance(value, bool | str):
        return value
    if isinstance(value, int | float) and not isinstance(value, np.generic):
        return value
    if isinstance(value, np.generic):
        return {"__scalar__": {"dtype": _dtype_str(value.dtype, where), "value": value.item()}}
    if isinstance(value, np.ndarray):
        dtype = _dtype_str(value.dtype, where)
        items = value.ravel().tolist()
        if value.dtype.kind == "O":
            items = [_encode(item, where) for item in items]
        return {"__ndarray__": {"dtype": dtype, "shape": list(value.shape), "data": items}}
    if isinstance(value, list):
        return [_encode(item, where) for item in value]
    if isinstance(value, tuple):
        return {"__tuple__": [_encode(item, where) for item in value]}
    if isinstance(value, dict):
        return {"__dict__": [[_encode(k, where), _encode(v, where)] for k, v in value.items()]}
    if isinstance(value, os.PathLike):  # a checkpoint path, for instance
        return {"__path__": os.fspath(value)}
    if isinstance(value, type) and issubclass(value, torch.optim.Optimizer):
        if getattr(torch.optim, value.__name__, None) is value:
            return {"__optimizer__": value.__name__}
    raise TypeError(
        f"{where} holds a {type(value).__name__}, which the safe format cannot store "
        "(it stores numbers, strings, arrays, lists, dicts and torch.optim classes). "
        "Change it to such a value, or save with pickle if you trust every future reader."
    )


def _dtype_str(dtype, where):
    if dtype.kind not in _ARRAY_KINDS:
        raise TypeError(f"{where} has dtype {dtype}, which the safe format cannot store.")
    return dtype.str


def _decode(value, where):
    """Inverse of :func:`_encode`, refusing anything it would not have written."""
    if value is None or isinstance(value, bool | int | float | str):
        return value
    if isinstance(value, list):
        return [_decode(item, where) for item in value]
    if not isinstance(value, dict) or len(value) != 1:
        raise ValueError(f"Unknown content in {where}: {str(value)[:80]!r}.")
    ((marker, body),) = value.items()
    if marker == "__tuple__" and isinstance(body, list):
        return tuple(_decode(item, where) for item in body)
    if marker == "__dict__" and isinstance(body, list):
        if not all(isinstance(pair, list) and len(pair) == 2 for pair in body):
            raise ValueError(f"Malformed dict in {where}.")
        return {_hashable(_decode(k, where), where): _decode(v, where) for k, v in body}
    if marker == "__ndarray__" and isinstance(body, dict):
        return _decode_array(body, where)
    if marker == "__scalar__" and isinstance(body, dict):
        return _load_dtype(body.get("dtype"), where).type(body.get("value"))
    if marker == "__path__" and isinstance(body, str):
        return pathlib.Path(body)
    if marker == "__optimizer__" and isinstance(body, str):
        optimizer = getattr(torch.optim, body, None)
        if not (isinstance(optimizer, type) and issubclass(optimizer, torch.optim.Optimizer)):
            raise ValueError(f"{where} names {body!r}, which is not a torch.optim optimizer.")
        return optimizer
    raise ValueError(f"Unknown content in {where}: marker {marker!r}.")


def _decode_mapping(value, where):
    """Decode a JSON object of ``name: encoded value``."""
    if not isinstance(value, dict):
        raise ValueError(f"The archive's {where} are malformed.")
    return {name: _decode(item, f"{where}[{name!r}]") for name, item in value.items()}


def _hashable(key, where):
    try:
        hash(key)
    except TypeError as exc:
        raise ValueError(f"Malformed dict key in {where}: {key!r}.") from exc
    return key


def _load_dtype(text, where):
    try:
        dtype = np.dtype(text)
    except TypeError as exc:
        raise ValueError(f"{where} has an unreadable dtype {text!r}.") from exc
    if dtype.kind not in _ARRAY_KINDS:
        raise ValueError(f"{where} has dtype {dtype}, which the safe format does not allow.")
    return dtype


def _decode_array(body, where):
    dtype = _load_dtype(body.get("dtype"), where)
    shape, data = body.get("shape"), body.get("data")
    if not (isinstance(shape, list) and all(isinstance(n, int) and n >= 0 for n in shape)):
        raise ValueError(f"{where} has a malformed array shape {shape!r}.")
    if not isinstance(data, list) or len(data) != int(np.prod(shape)):
        raise ValueError(f"{where} holds {len(data or [])} values for an array of shape {shape}.")
    if dtype.kind == "O":
        items = [_decode(item, where) for item in data]
        if not all(item is None or isinstance(item, bool | int | float | str) for item in items):
            raise ValueError(f"{where} holds an object array with non-scalar items.")
        array = np.empty(len(items), dtype=object)
        array[:] = items
        return array.reshape(shape)
    return np.array(data, dtype=dtype).reshape(shape)


# -- the archive -------------------------------------------------------------


def save_model(estimator, path):
    """Save a fitted sklrnn estimator to a file that loads without running code.

    The file is a zip archive of JSON (class name, parameters, fitted
    attributes such as ``classes_`` with their dtype, feature names, the
    input and target standardization, the training history) and the torch
    weights of the module and optimizer. Unlike a pickle, loading it with
    :func:`load_model` executes nothing stored in the file.

    Parameters
    ----------
    estimator : RNNClassifier or RNNRegressor
        A fitted estimator. Its parameters must be plain values: ``callbacks``
        must be None and ``optimizer`` a name or a ``torch.optim`` class. A
        ``random_state`` given as a ``RandomState`` instance is stored as None,
        with a warning; it matters only for further training.
    path : str, path-like or binary file object
        Where to write the archive, conventionally ending in ``.zip``.

    Returns
    -------
    None

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
    if not isinstance(estimator, _BaseRNN):
        raise TypeError(
            "save_model saves sklrnn estimators (RNNClassifier, RNNRegressor), got "
            f"{type(estimator).__name__}. Save a Pipeline with pickle or joblib."
        )
    check_is_fitted(estimator)
    config = {
        "format": _FORMAT,
        "format_version": _FORMAT_VERSION,
        "versions": _versions(),
        "estimator": type(estimator).__name__,
        "params": _encode_params(estimator),
        "attributes": {
            name: _encode(value, f"attribute {name}")
            for name, value in sorted(vars(estimator).items())
            if name not in _SKIPPED_ATTRIBUTES and name not in estimator.get_params(deep=False)
        },
        "history": _encode(list(estimator.history_), "history_"),
    }
    text = json.dumps(config, allow_nan=True)
    net = estimator.net_
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr(_CONFIG, text)
        archive.writestr(_WEIGHTS, _tensor_bytes(net.module_.state_dict()))
        archive.writestr(_OPTIMIZER, _tensor_bytes(net.optimizer_.state_dict()))


def _encode_params(estimator):
    params = estimator.get_params(deep=False)
    if params.get("callbacks"):
        raise ValueError(
            "save_model cannot store callbacks (they are arbitrary Python objects). "
            "Set callbacks=None with estimator.set_params(callbacks=None) before "
            "saving, or save with pickle."
        )
    if isinstance(params.get("random_state"), np.random.RandomState):
        warnings.warn(
            "random_state is a RandomState instance, which the safe format cannot "
            "store; it is saved as None (it only affects further training).",
            UserWarning,
            stacklevel=3,
        )
        params["random_state"] = None
    return {name: _encode(value, f"parameter {name}") for name, value in params.items()}


def _tensor_bytes(obj):
    buffer = io.BytesIO()
    torch.save(obj, buffer)
    return buffer.getvalue()


def _versions():
    import skorch

    import sklrnn

    return {"sklrnn": sklrnn.__version__, "torch": torch.__version__, "skorch": skorch.__version__}


def _warn_if_versions_differ(saved):
    current = _versions()
    if not isinstance(saved, dict):
        saved = {}
    changed = [
        f"{name} {saved.get(name)}"
        for name in current
        if str(saved.get(name)).split("+")[0] != current[name].split("+")[0]
    ]
    if changed:
        warnings.warn(
            f"The model was saved with {', '.join(changed)}; installed are sklrnn "
            f"{current['sklrnn']}, torch {current['torch']} and skorch {current['skorch']}. "
            "It was loaded, but may behave differently; refit it to be sure.",
            InconsistentVersionWarning,
            stacklevel=3,
        )


def load_model(path, *, device=None):
    """Load an estimator written by :func:`save_model`.

    Nothing stored in the file is executed: the JSON is parsed as data, the
    class must be one of sklrnn's estimators, and the weights are read by
    ``torch.load(weights_only=True)``. A model saved on a GPU loads on a
    machine without one: if its ``device`` parameter names CUDA and CUDA is
    not available, it is set to ``"cpu"`` with a warning.

    Parameters
    ----------
    path : str, path-like or binary file object
        An archive written by :func:`save_model`.
    device : str, default=None
        Device to load the model onto, which also becomes its ``device``
        parameter; None keeps the saved one (falling back to the CPU as
        described above).

    Returns
    -------
    estimator : RNNClassifier or RNNRegressor
        The fitted estimator, predicting exactly as the saved one.

    Raises
    ------
    ValueError
        If the file is not an sklrnn model archive, holds unknown members or
        content, or was written by a newer format version.

    Warns
    -----
    InconsistentVersionWarning
        If the model was saved with other versions of sklrnn, torch or
        skorch, as for a pickle.

    See Also
    --------
    save_model : Write the archive.

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
    config, weights, optimizer_bytes = _read_archive(path)
    _warn_if_versions_differ(config.get("versions"))
    cls = _estimator_classes().get(config.get("estimator"))
    if cls is None:
        raise ValueError(
            f"The archive names estimator {config.get('estimator')!r}, which is not one "
            f"of sklrnn's estimators {sorted(_estimator_classes())}."
        )
    params = _decode_mapping(config.get("params"), "params")
    if device is not None:
        params["device"] = device
    params["device"] = _available_device(params.get("device", "cpu"))
    try:
        estimator = cls(**params)
    except TypeError as exc:
        raise ValueError(
            f"The archive's parameters do not fit {cls.__name__} of this sklrnn "
            f"version ({_versions()['sklrnn']}; saved with "
            f"{(config.get('versions') or {}).get('sklrnn')}): {exc}"
        ) from exc
    for name, value in _decode_mapping(config.get("attributes"), "attributes").items():
        # Fitted state only: public names end in "_", private ones start with one.
        fitted = name.isidentifier() and (name.endswith("_") or name.startswith("_"))
        if not fitted or name.startswith("__") or hasattr(cls, name):
            raise ValueError(f"The archive sets an unexpected attribute {name!r}.")
        setattr(estimator, name, value)
    _restore_net(estimator, weights, optimizer_bytes, config.get("history", []))
    return estimator


def _read_archive(path):
    try:
        archive = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError) as exc:
        raise ValueError(
            f"{os.fspath(path) if isinstance(path, str | os.PathLike) else path!r} is not "
            "an sklrnn model archive (a zip file written by save_model)."
        ) from exc
    with archive:
        names = set(archive.namelist())
        unknown = names - _MEMBERS
        if unknown or _CONFIG not in names or _WEIGHTS not in names:
            raise ValueError(
                f"Not an sklrnn model archive: expected members {sorted(_MEMBERS)}, found "
                f"{sorted(names)}."
            )
        if archive.getinfo(_CONFIG).file_size > _MAX_CONFIG_BYTES:
            raise ValueError(f"The archive's {_CONFIG} is implausibly large.")
        try:
            config = json.loads(archive.read(_CONFIG).decode("utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise ValueError(f"The archive's {_CONFIG} is not valid JSON: {exc}") from exc
        if not isinstance(config, dict) or config.get("format") != _FORMAT:
            raise ValueError(f"The archive's {_CONFIG} does not describe an sklrnn model.")
        version = config.get("format_version")
        if not isinstance(version, int) or version > _FORMAT_VERSION:
            raise ValueError(
                f"The archive has format version {version!r}; this sklrnn reads versions up "
                f"to {_FORMAT_VERSION}. Upgrade sklrnn to load it."
            )
        weights = archive.read(_WEIGHTS)
        optimizer = archive.read(_OPTIMIZER) if _OPTIMIZER in names else None
    return config, weights, optimizer


def _available_device(device):
    """The saved device, or "cpu" (with a warning) where its CUDA is missing."""
    if not isinstance(device, str):
        raise ValueError(f"The archive's device parameter is malformed: {device!r}.")
    if device == "auto":
        return device
    try:
        parsed = torch.device(device)
    except RuntimeError as exc:
        raise ValueError(f"The archive's device {device!r} is not a torch device.") from exc
    if parsed.type == "cuda" and not torch.cuda.is_available():
        warnings.warn(
            f"The model was saved with device={device!r}, but CUDA is not available "
            "here; it is loaded on the CPU with device='cpu'.",
            UserWarning,
            stacklevel=3,
        )
        return "cpu"
    return device


def _load_tensors(data, device, what):
    try:
        return torch.load(io.BytesIO(data), map_location=device, weights_only=True)
    except Exception as exc:  # torch raises UnpicklingError, RuntimeError, ...
        raise ValueError(f"The archive's {what} could not be read as plain tensors: {exc}") from exc


def _restore_net(estimator, weights, optimizer_bytes, history):
    device = torch.device(estimator._resolve_device())
    net = estimator._build_net(str(device))
    # Building the module draws initial weights; keep the caller's RNG as it was.
    with torch.random.fork_rng(devices=[]):
        net.initialize()
    state = _load_tensors(weights, device, _WEIGHTS)
    try:
        net.module_.load_state_dict(state)
    except (RuntimeError, TypeError, AttributeError) as exc:
        raise ValueError(
            f"The archive's weights do not fit the model its parameters describe: {exc}"
        ) from exc
    if optimizer_bytes is not None:
        try:
            net.optimizer_.load_state_dict(_load_tensors(optimizer_bytes, device, _OPTIMIZER))
        except (ValueError, KeyError, TypeError) as exc:
            raise ValueError(f"The archive's optimizer state is malformed: {exc}") from exc
    rows = _decode(history, "history")
    if not isinstance(rows, list) or not all(isinstance(row, dict) for row in rows):
        raise ValueError("The archive's history is malformed.")
    net.history = History(rows)
    estimator.net_ = net
    estimator.history_ = net.history
