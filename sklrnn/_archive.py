"""The file format of saved models and checkpoints, and reading it without trust.

A model file (:func:`sklrnn.save_model`) and a checkpoint (the estimators'
``checkpoint`` parameter) are zip archives of one JSON member, which holds
everything but tensors, and safetensors members, which hold tensors only.
Neither format can hold code, and reading one assumes nothing about where
it came from:

* every member is decompressed in chunks through a hard cap on its bytes
  (the sizes the zip declares are not trusted), only stored and deflate
  members are read, and an archive with duplicate, unknown or missing
  members is refused;
* JSON is parsed only after its size, nesting depth and number of arrays and
  objects were checked;
* the shapes and dtypes a safetensors header declares are compared with the
  tensors the caller expects before the tensors are read;
* every failure is a ``ValueError`` that names the file and the problem.
"""

import collections
import inspect
import io
import json
import math
import os
import stat
import struct
import zipfile
import zlib

import numpy as np
import safetensors
import safetensors.torch
import torch

from ._data import _check_file_path

__all__ = [
    "MODEL_JSON",
    "CHECKPOINT_JSON",
    "WEIGHTS",
    "OPTIMIZER",
    "SET_BY_TRAINING",
    "CYCLED",
    "FORMAT_VERSION",
    "describe",
    "check_writable",
    "write_archive",
    "Archive",
    "parse_json",
    "check_format",
    "tensor_spec",
    "tensors_to_bytes",
    "optimizer_to_archive",
    "optimizer_from_archive",
    "plain",
    "check_history",
    "check_statistics",
    "is_finite_number",
]

# The member that describes each of the package's archives (a model file of
# save_model, a checkpoint of fit), named here so that each format's reader
# can say which file it was given where the other belongs.
MODEL_JSON, CHECKPOINT_JSON = "model.json", "checkpoint.json"
# The members that hold the module's and the optimizer's tensors, in both.
WEIGHTS, OPTIMIZER = "weights.safetensors", "optimizer.safetensors"

# The version written; files of other versions are refused (nothing has been
# released in another version, so there is nothing to migrate).
# 6: the loss weights' mean (_weight_mean), which partial_fit keeps; 7: text
# labels as wide as the longest, date and duration labels.
FORMAT_VERSION = 7
SUPPORTED_FORMAT_VERSIONS = (7,)

# Caps on what a file may make the reader allocate: decompressed bytes of a
# JSON member and of a tensors member, and the shape of the JSON.
MAX_JSON_BYTES = 8 * 2**20
# Bytes of JSON text checked for its nesting at a time.
_JSON_SHAPE_CHUNK = 2**20
MAX_TENSOR_BYTES = 2**30
MAX_JSON_DEPTH = 16
MAX_JSON_CONTAINERS = 2**17
_CHUNK = 2**20
_MAX_MEMBERS = 16
_MAX_DIRECTORY_BYTES = 2**16
_END_RECORD_SIZE = 22
_ZIP64_LOCATOR_SIZE = 20
# Largest rank and dimension a tensor header may declare (checked before
# the sizes are multiplied).
_MAX_RANK, _MAX_DIMENSION = 8, 2**40
_COMPRESSIONS = {zipfile.ZIP_STORED: "stored", zipfile.ZIP_DEFLATED: "deflate"}
_COMPRESSION_NAMES = {zipfile.ZIP_BZIP2: "bzip2", zipfile.ZIP_LZMA: "lzma"}
# Every error the zip and zlib modules raise on malformed input.
_ZIP_ERRORS = (
    zipfile.BadZipFile,
    zlib.error,
    OSError,
    EOFError,
    ValueError,
    RuntimeError,
    NotImplementedError,
    struct.error,
    OverflowError,
    KeyError,
    IndexError,
    TypeError,
)
_DTYPE_NAMES = {torch.float32: "F32", torch.int64: "I64", torch.uint8: "U8"}
_ITEM_SIZES = {"F32": 4, "I64": 8, "U8": 1}


def describe(file, kind):
    """How error messages name ``file``: ``kind`` and its path (or file object).

    Anything but a path or a file object is a TypeError.
    """
    if isinstance(file, str | os.PathLike):
        return f"{kind} {os.fspath(file)!r}"
    if not (hasattr(file, "read") or hasattr(file, "write")):
        raise TypeError(
            f"{kind} must be a path (str or os.PathLike) or a binary file object, "
            f"got {type(file).__name__}."
        )
    name = getattr(file, "name", None)
    return f"{kind} {name!r}" if isinstance(name, str) else f"{kind} (a {type(file).__name__})"


def check_writable(file, where):
    """Raise unless an archive can be written to ``file``, before it is built.

    A path must name a file in an existing folder; a file object must be
    binary, open for writing, with ``write`` and ``flush``.
    """
    if isinstance(file, str | os.PathLike):
        _check_file_path(file, "file", "model.zip")
        return
    missing = [method for method in ("write", "flush") if not callable(getattr(file, method, None))]
    if missing:
        raise TypeError(
            f"{where} has no {' or '.join(missing)} method: pass a path, or a binary file "
            "object open for writing (mode 'wb', or io.BytesIO())."
        )
    try:
        file.write(b"")
    except TypeError as exc:  # a text file
        raise TypeError(
            f"{where} is not a binary file ({exc}); open it with mode 'wb', or use io.BytesIO()."
        ) from exc
    except io.UnsupportedOperation as exc:
        raise ValueError(f"{where} is not open for writing; open it with mode 'wb'.") from exc
    except (OSError, ValueError) as exc:  # closed, or a full disk
        raise ValueError(
            f"{where} cannot be written ({exc}); pass a path, or a binary file object open "
            "for writing (mode 'wb')."
        ) from exc
    # Appended to old content, or written over content that stays past its
    # end, the archive could not be read back.
    mode = getattr(file, "mode", None)
    if isinstance(mode, str) and "a" in mode:
        raise ValueError(f"{where} is open for appending (mode {mode!r}); open it with mode 'wb'.")
    seekable = getattr(file, "seekable", None)
    if callable(seekable) and seekable():
        position = file.tell()
        end = file.seek(0, os.SEEK_END)
        file.seek(position)
        if end > position:
            raise ValueError(
                f"{where} holds {end - position} bytes from its position on, which the archive "
                "would not replace: it could not be read back. Open the file with mode 'wb', "
                "or truncate it first (file.truncate())."
            )


# -- the archive ----------------------------------------------------------------


def write_archive(file, members, where):
    """Write ``members`` (name -> bytes) to ``file``, a path or binary file object.

    JSON is deflated; tensors, which hardly compress, are stored, so that
    writing a checkpoint every epoch costs no compression time. A member
    larger than reading accepts is refused before anything is written, with
    ``where`` naming the file: no file is made that could not be loaded.
    """
    for name, data in members.items():
        if name.endswith(".json"):
            size, limit = len(data), MAX_JSON_BYTES
        else:  # a safetensors file: 8 bytes of header size, the header, the data
            size, limit = len(data) - 8 - int.from_bytes(data[:8], "little"), MAX_TENSOR_BYTES
        if size > limit:
            raise ValueError(
                f"{where}: the member {name!r} would hold {size} bytes, more than the {limit} "
                "that load_model and a resumed fit read, so the file could not be read back. "
                "The model is too large for this format (it holds up to 1 GiB of weights and "
                "1 GiB of optimizer state: with Adam, about 134 million parameters). Pickle "
                "it instead, for trusted use only."
            )
    with zipfile.ZipFile(file, "w") as archive:
        for name, data in members.items():
            packed = zipfile.ZIP_DEFLATED if name.endswith(".json") else zipfile.ZIP_STORED
            archive.writestr(name, data, compress_type=packed)


class Archive:
    """A zip archive of the format, opened for reading its members through caps.

    Opening it checks, before anything is decompressed: that ``file`` is a
    regular file (a path) or a binary file object; the end record of the
    zip's central directory, so that an archive that lists more members
    than the format has is refused before the zip module parses the list;
    and that the members are exactly the names of ``required`` and maybe
    those of ``optional``, each stored or deflated and not encrypted. A path
    that cannot be opened (a missing file) raises ``OSError``.

    Parameters
    ----------
    file : str, path-like or binary file object
        The archive.
    where : str
        How error messages name the file (:func:`describe`).
    required, optional : sequence of str
        Names of the members the archive must and may hold.
    mistaken : dict of str to str, default=None
        For a member of another of the package's formats, what a file holding
        it is and what to do with it: the message in place of "unknown member".
    """

    def __init__(self, file, where, required, optional=(), mistaken=None):
        self.where = where
        self._handle = self._zip = None
        if isinstance(file, str | os.PathLike):
            if not stat.S_ISREG(os.stat(file).st_mode):  # a FIFO would block the open
                raise ValueError(f"{where} is not a regular file.")
            file = self._handle = open(file, "rb")  # noqa: SIM115 (closed by close)
        try:
            _check_end_record(file, where)
            self._zip = _unzip(
                where, "is not a zip archive, or was cut short", zipfile.ZipFile, file
            )
            infos = self._zip.infolist()
            _check_members(infos, where, set(required), set(optional), mistaken or {})
        except BaseException:
            self.close()
            raise
        self._infos = {info.filename: info for info in infos}

    def __contains__(self, name):
        return name in self._infos

    def __enter__(self):
        return self

    def __exit__(self, *exc_info):
        self.close()

    def close(self):
        """Close the zip file, and the file if the archive opened it."""
        if self._zip is not None:
            self._zip.close()
        if self._handle is not None:
            self._handle.close()

    def read_json(self, name):
        """The JSON member ``name``, read through its cap and parsed (:func:`parse_json`)."""
        if self._infos[name].file_size > MAX_JSON_BYTES:
            raise ValueError(self._too_big(name, MAX_JSON_BYTES))
        # Capped at the size the member declares: zipfile reads no further
        # (a member longer than it declares fails its CRC check).
        with self._open(name) as member:
            data = self._read(member, name, MAX_JSON_BYTES)
        return parse_json(data, self.where, name)

    def tensor_header(self, name):
        """``{tensor name: (shape, dtype name)}`` from the header of safetensors member ``name``."""
        with self._open(name) as member:
            return self._header(member, name)[0]

    def read_tensors(self, name, expected):
        """The tensors of safetensors member ``name``, checked against ``expected`` first.

        ``expected`` maps each name to ``(shape, dtype name)``; a shape of
        None allows any 1-D shape. The header is read and compared with it
        before any tensor data is decompressed; then exactly the bytes the
        header declares are read, at most ``MAX_TENSOR_BYTES``, so that a
        member never costs more memory than the tensors the model needs.
        Float tensors must be finite.
        """
        where = self.where
        with self._open(name) as member:
            spec, head, size = self._header(member, name)
            _check_spec(spec, expected, where, name)
            if size > MAX_TENSOR_BYTES:
                raise ValueError(self._too_big(name, MAX_TENSOR_BYTES))
            data = self._read(member, name, size)
            if len(data) < size:
                raise ValueError(
                    f"{where}: {name} ends after {len(data)} of the {size} bytes of tensors "
                    "its header declares."
                )
            if self._chunk(member, name, 1):
                raise ValueError(
                    f"{where}: {name} holds more than the {size} bytes of tensors its header "
                    "declares."
                )
        try:
            tensors = safetensors.torch.load(head + data)
        except Exception as exc:  # safetensors' own error type, and anything else it raises
            raise ValueError(f"{where}: {name} is not a valid safetensors file ({exc}).") from exc
        _check_spec(tensor_spec(tensors), expected, where, name)
        for key, tensor in tensors.items():
            if tensor.is_floating_point() and not bool(torch.isfinite(tensor).all()):
                raise ValueError(
                    f"{where}: {name} holds non-finite values (NaN or inf) in {key!r}."
                )
        return tensors

    def _open(self, name):
        problem = f"cannot be read: its member {name!r} is damaged"
        return _unzip(self.where, problem, self._zip.open, self._infos[name])

    def _chunk(self, member, name, size):
        problem = f"cannot be read: its member {name!r} is damaged"
        return _unzip(self.where, problem, member.read, size)

    def _read(self, member, name, size):
        """The next ``size`` bytes of ``member``, or fewer where it ends first."""
        chunks, total = [], 0
        while total < size:
            chunk = self._chunk(member, name, min(_CHUNK, size - total))
            if not chunk:
                break
            chunks.append(chunk)
            total += len(chunk)
        return b"".join(chunks)

    def _too_big(self, name, limit):
        return (
            f"{self.where}: the member {name!r} holds more than {limit} bytes, the most "
            "this format reads (a damaged or hostile file)."
        )

    def _header(self, member, name):
        """The spec, raw bytes and size of the data that a safetensors member's header declares."""
        where = self.where
        prefix = self._read(member, name, 8)
        if len(prefix) < 8:
            raise ValueError(f"{where}: {name} is too short to be a safetensors file.")
        size = int.from_bytes(prefix, "little")
        if size > MAX_JSON_BYTES:
            raise ValueError(
                f"{where}: {name} declares a header of {size} bytes, more than the "
                f"{MAX_JSON_BYTES} this format reads."
            )
        text = self._read(member, name, size)
        if len(text) < size:
            raise ValueError(f"{where}: {name} declares a header longer than the file.")
        header = parse_json(text, where, f"the header of {name}")
        if not isinstance(header, dict):
            raise ValueError(f"{where}: the header of {name} is not a JSON object.")
        spec, total = {}, 0
        for key, entry in header.items():
            if key == "__metadata__":
                continue
            shape = entry.get("shape") if isinstance(entry, dict) else None
            dtype = entry.get("dtype") if isinstance(entry, dict) else None
            if not (
                isinstance(shape, list)
                and len(shape) <= _MAX_RANK
                and all(not _not_int(n) and 0 <= n < _MAX_DIMENSION for n in shape)
                and dtype in _ITEM_SIZES
            ):
                raise ValueError(
                    f"{where}: the header of {name} gives {key!r} no valid shape and dtype."
                )
            spec[key] = (tuple(shape), dtype)
            total += math.prod(shape) * _ITEM_SIZES[dtype]
        return spec, prefix + text, total


def _check_end_record(handle, where):
    """Refuse a zip whose end record lists more members, or a longer list, than the format has.

    The zip module parses the whole central directory when it opens an
    archive, at a cost that grows with the number of entries; the record
    at the end of the file says how many there are and how long the list is.
    """
    try:
        end = handle.seek(0, os.SEEK_END)
        # The record, its comment, and a zip64 locator before them.
        start = max(0, end - _END_RECORD_SIZE - 2**16 - _ZIP64_LOCATOR_SIZE)
        handle.seek(start)
        tail = handle.read(end - start)
        handle.seek(0)
    except (OSError, ValueError, TypeError, AttributeError) as exc:
        raise ValueError(
            f"{where} cannot be read as a seekable binary file ({type(exc).__name__}: {exc})."
        ) from exc
    if not isinstance(tail, bytes):
        raise ValueError(f"{where} is not a binary file: read() returned {type(tail).__name__}.")
    # The record the zip module reads: the last 22 bytes when they are one
    # without a comment, else the last signature.
    record = tail[-_END_RECORD_SIZE:]
    if record[:4] == b"PK\x05\x06" and record[-2:] == b"\x00\x00":
        at = len(tail) - _END_RECORD_SIZE
    else:
        at = tail.rfind(b"PK\x05\x06")
        if at < 0 or len(tail) - at < _END_RECORD_SIZE:
            return  # no end record: the zip module refuses the file
    if tail[max(at - _ZIP64_LOCATOR_SIZE, 0) : at].startswith(b"PK\x06\x07"):
        # The zip module would take the counts of the zip64 record instead.
        raise ValueError(f"{where} is a zip64 archive, which this format never is.")
    entries, size = struct.unpack_from("<HI", tail, at + 10)
    if entries > _MAX_MEMBERS or size > _MAX_DIRECTORY_BYTES:
        raise ValueError(
            f"{where} lists {entries} members in a directory of {size} bytes; the format "
            f"has at most {_MAX_MEMBERS} members."
        )


def _unzip(where, problem, func, *args):
    """``func(*args)``, with the zip module's errors as a ValueError naming the file."""
    try:
        return func(*args)
    except _ZIP_ERRORS as exc:
        raise ValueError(f"{where} {problem} ({type(exc).__name__}: {exc}).") from exc


def _check_members(infos, where, required, optional, mistaken):
    names = [info.filename for info in infos]
    expected = sorted(required | optional)
    if len(names) > _MAX_MEMBERS:
        raise ValueError(f"{where} has {len(names)} members; the format has only {expected}.")
    duplicates = sorted(name for name, n in collections.Counter(names).items() if n > 1)
    if duplicates:
        raise ValueError(f"{where} holds the member {duplicates[0]!r} more than once.")
    unknown = sorted(set(names) - required - optional)
    for name in unknown:
        if name in mistaken:
            raise ValueError(f"{where} is {mistaken[name]}")
    if unknown:
        raise ValueError(
            f"{where} holds the unknown member {unknown[0]!r}; the format has only {expected}."
        )
    missing = sorted(required - set(names))
    if missing:
        raise ValueError(f"{where} lacks the member {missing[0]!r}.")
    for info in infos:
        if info.compress_type not in _COMPRESSIONS:
            method = _COMPRESSION_NAMES.get(info.compress_type, f"method {info.compress_type}")
            raise ValueError(
                f"{where}: the member {info.filename!r} is compressed with {method}; only "
                "stored and deflate members are read."
            )
        if info.flag_bits & 0x1:
            raise ValueError(f"{where}: the member {info.filename!r} is encrypted.")


# -- JSON -------------------------------------------------------------------------


def parse_json(data, where, name):
    """Parse JSON ``data`` (bytes) after checking its nesting depth and size."""
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ValueError(f"{where}: {name} is not UTF-8 text ({exc}).") from exc
    depth, containers = _json_shape(data)
    if depth > MAX_JSON_DEPTH:
        raise ValueError(
            f"{where}: {name} nests arrays or objects {depth} levels deep; the format "
            f"uses at most {MAX_JSON_DEPTH}."
        )
    if containers > MAX_JSON_CONTAINERS:
        raise ValueError(
            f"{where}: {name} holds {containers} arrays and objects; the format reads at "
            f"most {MAX_JSON_CONTAINERS}."
        )
    try:
        return json.loads(text, object_pairs_hook=_unique_keys)
    except (ValueError, RecursionError) as exc:
        raise ValueError(f"{where}: {name} is not valid JSON ({exc}).") from exc


def _unique_keys(pairs):
    """A JSON object as a dict; a key given twice (whose last value would win) is refused."""
    obj = dict(pairs)
    if len(obj) != len(pairs):
        seen = collections.Counter(key for key, _ in pairs)
        raise ValueError(f"the key {next(k for k, n in seen.items() if n > 1)!r} appears twice")
    return obj


def _json_shape(data, chunk=_JSON_SHAPE_CHUNK):
    """Deepest nesting and number of arrays and objects in JSON text (bytes).

    Brackets inside strings do not count. A quote opens or closes a string
    unless an odd number of backslashes precedes it. Vectorized, so that a
    hostile text costs linear time and no recursion, and ``chunk`` bytes at
    a time, so that it costs about 30 bytes per byte of a chunk, not of the
    text (whole, 8 MiB of quotes cost 400 MB).
    """
    deepest = depth = containers = 0
    inside = 0  # whether the chunk starts inside a string
    run = 0  # backslashes that end the text before the chunk
    for start in range(0, len(data), chunk):
        codes = np.frombuffer(
            data, dtype=np.uint8, count=min(chunk, len(data) - start), offset=start
        )
        # Backslashes that end at each character (0 for any other character).
        run_at = np.arange(len(codes), dtype=np.int32)
        last_other = run_at.copy()  # the last character at or before it that is none
        last_other[codes == ord("\\")] = -1 - run
        np.maximum.accumulate(last_other, out=last_other)
        run_at -= last_other
        before = np.empty_like(run_at)  # backslashes right before each character
        before[0], before[1:] = run, run_at[:-1]
        toggles = ((codes == ord('"')) & (before % 2 == 0)).view(np.uint8)
        toggles[0] ^= inside
        np.bitwise_xor.accumulate(toggles, out=toggles)  # 1 inside a string
        opens = ((codes == ord("[")) | (codes == ord("{"))) & (toggles == 0)
        closes = ((codes == ord("]")) | (codes == ord("}"))) & (toggles == 0)
        steps = opens[opens | closes].astype(np.int32) * 2 - 1
        deepest = max(deepest, depth + int(np.cumsum(steps).max(initial=0)))
        depth += int(steps.sum())
        containers += int(opens.sum())
        inside, run = int(toggles[-1]), int(run_at[-1])
    return deepest, containers


def check_format(config, where, name, fmt, keys):
    """Check the JSON ``config`` names format ``fmt`` in a supported version and has ``keys``."""
    if not isinstance(config, dict) or config.get("format") != fmt:
        found = config.get("format") if isinstance(config, dict) else type(config).__name__
        raise ValueError(f"{where}: {name} describes {found!r}, not an {fmt!r} file.")
    version = config.get("format_version")
    if type(version) is not int or version not in SUPPORTED_FORMAT_VERSIONS:
        raise ValueError(
            f"{where} has format version {version!r}; this sklrnn reads format versions "
            f"{list(SUPPORTED_FORMAT_VERSIONS)}. Save the model again with this sklrnn "
            "version, or load it with the sklrnn version that wrote it."
        )
    missing = sorted(set(keys) - set(config))
    if missing:
        raise ValueError(f"{where}: {name} lacks the field {missing[0]!r}.")
    unknown = sorted(set(config) - set(keys))
    if unknown:
        raise ValueError(f"{where}: {name} has an unknown field {unknown[0]!r}.")


def plain(value):
    """A numpy scalar as a plain Python value, for JSON; anything else as text."""
    return value.item() if isinstance(value, np.generic) else str(value)


def check_history(rows, where):
    """Check a training history read from JSON: one row per epoch, and the values
    training records (losses, durations, batches, best epoch) of their kinds."""
    if not isinstance(rows, list):
        raise ValueError(f"{where}: the training history is not a list of epochs.")
    for i, row in enumerate(rows):
        if not isinstance(row, dict) or row.get("epoch") != i + 1 or _not_int(row["epoch"]):
            raise ValueError(f"{where}: row {i} of the training history is not epoch {i + 1}.")
        for key, value in row.items():
            if key == "batches":
                ok = isinstance(value, list) and all(
                    isinstance(b, dict) and all(_is_scalar(v) for v in b.values()) for b in value
                )
            elif key.endswith("_loss") or key == "dur":
                ok = _is_number(value)
            elif key == "best_epoch":
                ok = not _not_int(value) and 1 <= value <= i + 1
            else:  # what a callback records: any JSON value (a list of scores, ...)
                continue
            if not ok:
                raise ValueError(
                    f"{where}: the training history holds {key}={str(value)[:40]!r} in epoch "
                    f"{i + 1}, which is not a value training records."
                )


def _is_scalar(value):
    return value is None or isinstance(value, bool | int | float | str)


def _is_number(value):
    return isinstance(value, int | float) and not isinstance(value, bool)


def is_finite_number(value):
    """Whether ``value`` (from JSON) is an int or float that is a finite float64."""
    if not _is_number(value):
        return False
    try:
        return math.isfinite(float(value))
    except OverflowError:  # an int beyond the floats
        return False


def _not_int(value):
    return not isinstance(value, int) or isinstance(value, bool)


# -- tensors ----------------------------------------------------------------------


def tensor_spec(tensors):
    """``{name: (shape, dtype name)}`` of a state dict, as a safetensors header has them."""
    return {
        name: (tuple(t.shape), _DTYPE_NAMES.get(t.dtype, str(t.dtype)))
        for name, t in tensors.items()
    }


def tensors_to_bytes(tensors):
    """A safetensors file holding CPU copies of ``tensors`` (name -> tensor)."""
    return safetensors.torch.save(
        {name: t.detach().to("cpu", copy=True).contiguous() for name, t in tensors.items()}
    )


def _check_spec(found, expected, where, name):
    missing = sorted(set(expected) - set(found))
    unknown = sorted(set(found) - set(expected))
    if missing or unknown:
        which = (
            f"lacks the tensor {missing[0]!r}"
            if missing
            else f"holds an unknown tensor {unknown[0]!r}"
        )
        raise ValueError(
            f"{where}: {name} {which} ({len(found)} tensors, {len(expected)} expected): "
            "the tensors do not belong to the model they are loaded into."
        )
    for key, (shape, dtype) in expected.items():
        found_shape, found_dtype = found[key]
        fits = len(found_shape) == 1 if shape is None else found_shape == shape
        if not fits or found_dtype != dtype:
            raise ValueError(
                f"{where}: {name} holds {key!r} as {found_dtype} of shape "
                f"{list(found_shape)}, but the model they are loaded into needs {dtype} of "
                f"shape {'[n]' if shape is None else list(shape)}."
            )


def check_statistics(weights, where, name):
    """Check a module's statistics in ``weights`` (a state dict read from member ``name``).

    Input and kernel feature scales must be positive and batch-norm
    variances non-negative, as training leaves them: the tensors' finiteness
    alone would let a file divide by zero.
    """
    for key, tensor in weights.items():
        if key.endswith(("input_scale", "feature_scale")) and not bool((tensor > 0).all()):
            raise ValueError(f"{where}: {name} holds a scale {key!r} that is not positive.")
        if key.endswith("running_var") and not bool((tensor >= 0).all()):
            raise ValueError(f"{where}: {name} holds a negative batch-norm variance {key!r}.")


# -- optimizer state ------------------------------------------------------------------


def optimizer_to_archive(state_dict):
    """An optimizer's state dict as a JSON structure and flat tensors.

    Tensor values of the per-parameter state become ``{"tensor": name}`` in
    the structure, the tensor stored under ``name`` (``"3.exp_avg"``).
    """
    tensors, state = {}, []
    for index, values in state_dict["state"].items():
        entry = {}
        for key, value in values.items():
            if torch.is_tensor(value):
                tensors[f"{index}.{key}"] = value
                value = {"tensor": f"{index}.{key}"}
            elif isinstance(value, np.generic):
                value = value.item()
            elif not _is_scalar(value):
                raise TypeError(
                    f"The optimizer keeps {type(value).__name__} values in its state "
                    f"({key!r}), which the format cannot store: it stores tensors and numbers."
                )
            entry[key] = value
        state.append([int(index), entry])
    groups = [
        {key: list(value) if isinstance(value, tuple) else value for key, value in group.items()}
        for group in state_dict["param_groups"]
    ]
    return {"param_groups": groups, "state": state}, tensors


def optimizer_from_archive(optimizer, structure, archive, name):
    """The state dict stored as ``structure`` and the tensors member ``name`` of ``archive``.

    It is checked against ``optimizer``, built from the estimator's
    validated parameters. The parameter groups must have the live
    optimizer's settings, of the same types, and take their values: the
    learning rate and weight decay, which training sets from the
    estimator's parameters, may differ in the file (a finite number), any
    other setting must equal the live one. Each parameter's state must have
    the entries, shapes and dtypes that one step of the optimizer's class
    creates for that parameter, with finite values. Where the estimator's
    momentum is 0 (SGD, RMSprop), the state may also hold the momentum
    buffers that a step with momentum creates: a scheduler that cycles the
    momentum (CyclicLR, OneCycleLR) leaves them, whatever momentum the file's
    groups hold when it was written (CyclicLR with ``base_momentum=0`` is at
    0 on every peak of the learning rate).
    """
    where = archive.where
    if not isinstance(structure, dict) or set(structure) != {"param_groups", "state"}:
        raise ValueError(f"{where}: the optimizer state is malformed.")
    groups = _check_groups(structure["param_groups"], optimizer.state_dict()["param_groups"], where)
    probe = _probe_state(optimizer, where)
    cycled = probe
    if optimizer.defaults.get("momentum") == 0:
        cycled = _probe_state(optimizer, where, momentum=0.9)
    entries = structure["state"]
    if not isinstance(entries, list) or len(entries) > len(probe):
        found = f"{len(entries)} entries" if isinstance(entries, list) else "no list"
        raise ValueError(f"{where}: the optimizer state has {found} for {len(probe)} parameters.")
    state, specs, expected = {}, {}, {}
    for item in entries:
        index, entry = item if isinstance(item, list) and len(item) == 2 else (None, None)
        if _not_int(index) or not 0 <= index < len(probe) or index in state:
            raise ValueError(f"{where}: the optimizer state names no parameter: {str(index)[:40]}.")
        keeps = probe[index]
        if isinstance(entry, dict) and set(entry) == set(cycled[index]):
            keeps = cycled[index]
        if not isinstance(entry, dict) or set(entry) != set(keeps):
            raise ValueError(
                f"{where}: the optimizer state of parameter {index} has the entries "
                f"{str(sorted(entry) if isinstance(entry, dict) else entry)[:80]}, but "
                f"{type(optimizer).__name__} keeps {sorted(keeps)}."
            )
        for key, spec in keeps.items():
            tensor = entry[key] == {"tensor": f"{index}.{key}"}
            if spec is not None and tensor:
                expected[f"{index}.{key}"] = spec
            elif not (spec is None and _is_scalar(entry[key])):
                raise ValueError(
                    f"{where}: the optimizer state {key!r} of parameter {index} is malformed."
                )
        state[index], specs[index] = dict(entry), keeps
    tensors = archive.read_tensors(name, expected)
    for index, entry in state.items():
        for key in entry:
            if specs[index][key] is not None:
                entry[key] = tensors[f"{index}.{key}"]
            if not _in_range(key, entry[key]):
                rule = "a whole number >= 0" if key == "step" else "never negative"
                raise ValueError(
                    f"{where}: the optimizer state {key!r} of parameter {index} holds values "
                    f"no training leaves there (it is {rule})."
                )
    return {"state": state, "param_groups": groups}


# Entries of torch optimizers' state that are never negative: second moments,
# accumulators, step sizes and products of momentum factors.
_NON_NEGATIVE = {
    "exp_avg_sq",
    "max_exp_avg_sq",
    "square_avg",
    "sum",
    "acc_delta",
    "exp_inf",
    "row_var",
    "col_var",
    "variance",
    "step_size",
    "mu_product",
    "eta",
    "mu",
}


def _in_range(key, value):
    """Whether an optimizer's state entry holds a value its training can leave."""
    if key != "step" and key not in _NON_NEGATIVE:
        return True
    if not (torch.is_tensor(value) or _is_number(value)):
        return False
    values = value.double() if torch.is_tensor(value) else torch.tensor(float(value))
    ok = bool((values >= 0).all())
    if key == "step":
        ok = ok and bool((values == values.round()).all())
    return ok


# Settings of a parameter group that training sets from the estimator's
# parameters (the schedule sets the learning rate every step; a warm start
# sets these and the cycled ones below): a file's values may differ, and
# are not used.
SET_BY_TRAINING = ("lr", "weight_decay")
# Settings that torch's learning-rate schedulers (skorch's LRScheduler
# callback) cycle, OneCycleLR and CyclicLR: a file's values may differ
# within their range, and are not used either.
CYCLED = ("betas", "momentum")


def _check_groups(saved, current, where):
    """The saved parameter groups, checked against the live optimizer's.

    A group may hold settings the live one lacks, which torch's schedulers
    add (``initial_lr``, OneCycleLR's ``max_lr``...): plain numbers, kept
    for a scheduler that continues (StepLR resumed needs ``initial_lr``).
    """
    if not isinstance(saved, list) or len(saved) != len(current):
        raise ValueError(f"{where}: the optimizer's parameter groups are malformed.")
    groups = []
    for stored, live in zip(saved, current, strict=True):
        if not isinstance(stored, dict):
            raise ValueError(f"{where}: the optimizer's parameter groups are malformed.")
        missing = sorted(set(live) - set(stored))
        if missing:
            raise ValueError(
                f"{where}: the optimizer's parameter groups lack the settings {missing} "
                f"of {sorted(live)}."
            )
        for key in set(stored) - set(live):
            if not is_finite_number(stored[key]):
                raise ValueError(
                    f"{where}: the optimizer setting {str(key)[:40]}={str(stored[key])[:40]} "
                    "is not one the format stores (a finite number)."
                )
        for key, now in live.items():
            value = stored[key]
            if key in SET_BY_TRAINING:
                ok = is_finite_number(value)
            elif key in CYCLED:
                values = value if isinstance(now, tuple) and isinstance(value, list) else [value]
                ok = len(values) == len(now if isinstance(now, tuple) else [now]) and all(
                    _is_number(v) and 0 <= v <= 1 for v in values
                )
            elif isinstance(now, tuple):
                ok = isinstance(value, list) and tuple(value) == now
            else:  # as the estimator's parameters set them: numbers, flags, parameter indices
                ok = type(value) is type(now) and value == now
            if not ok:
                raise ValueError(
                    f"{where}: the optimizer setting {key}={str(value)[:40]} does not fit "
                    f"this model ({key}={str(now)[:40]})."
                )
        groups.append({**stored, **live})  # the live settings, the schedulers' kept
    return groups


def _probe_state(optimizer, where, **settings):
    """The per-parameter state one step of ``optimizer``'s class creates.

    Returns a list over the parameters of ``{entry: (shape, dtype name)}``
    for tensors, ``{entry: None}`` for other values. The probe steps
    zero-gradient CPU copies of the parameters' shapes: some optimizers keep
    state of other shapes than their parameter's (Adafactor's factored
    moments). ``settings`` replace the optimizer's own for the probe.
    """
    params = [p for group in optimizer.param_groups for p in group["params"]]
    probes = [torch.zeros(p.shape, dtype=p.dtype, requires_grad=True) for p in params]
    for probe in probes:
        probe.grad = torch.zeros_like(probe)
    # The constructor's own arguments among the defaults (AdamW's defaults hold
    # a setting its constructor fixes).
    accepted = inspect.signature(type(optimizer)).parameters
    settings = {k: v for k, v in optimizer.defaults.items() if k in accepted} | settings
    try:
        other = type(optimizer)(probes, **settings)
        other.step()
    except Exception as exc:  # one that needs a closure (LBFGS), sparse gradients, ...
        raise ValueError(
            f"{where}: the state of optimizer {type(optimizer).__name__} cannot be "
            f"checked ({type(exc).__name__}: {exc}), so it is not loaded."
        ) from exc
    return [
        {
            key: tensor_spec({key: value})[key] if torch.is_tensor(value) else None
            for key, value in other.state[probe].items()
        }
        for probe in probes
    ]
