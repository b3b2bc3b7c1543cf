"""Export of fitted estimators to ONNX.

The graph runs the fitted module's own ``forward`` (:class:`~sklrnn.RNNModule`
or :class:`~sklrnn._module.RNNEnsemble`, in evaluation mode, the code that
``predict`` runs), captured by torch's ``torch.export``-based exporter
(``torch.onnx.export(dynamo=True)``). The module runs its recurrent layers
by the same computation for every batch (``RNNModule._recurrent``); while it
is exported, each layer and direction is the operator
``sklrnn::recurrent_layer``, which
:func:`_recurrent_layer_onnx` translates to ONNX's ``RNN``, ``LSTM`` or
``GRU``. A thin wrapper turns sklrnn's NaN-padded input into padded sequences
and lengths, applies ``max_length``, and maps the outputs to probabilities or
to the target's scale, as ``predict_proba`` and ``predict`` do.
"""

import copy
import json
import logging
import os
import warnings
from numbers import Integral

import numpy as np
import torch
from sklearn.utils.validation import check_is_fitted
from torch import nn

from ._base import _BaseRNN
from ._compat import Interval, validate_params
from ._data import _check_file_path, _reject_bool
from ._module import exporting

__all__ = ["export_onnx"]

# The oldest ONNX operator set that torch's exporter writes (older ones it
# converts to from 18, which fails on these graphs).
_OLDEST_OPSET = 18
# Warnings that torch's exporter raises on every export about torch's own
# internals (its pytree handling), not about the model; any other warning
# still reaches the caller.
_TORCH_INTERNAL_WARNINGS = ((FutureWarning, r"`isinstance\(treespec, LeafSpec\)` is deprecated"),)
# The first export of a process logs a warning for each of torchvision's
# operators that the exporter could map if torchvision were installed
# ("torchvision is not installed. Skipping torchvision::nms"): no sklrnn graph
# holds one, and a reader takes them for a problem.
_TORCH_REGISTRY_LOGGER = "torch.onnx._internal.exporter._registration"


def _not_about_torchvision(record):
    """Logging filter: drop the exporter's notices of a missing torchvision."""
    return not record.getMessage().startswith("torchvision is not installed")


class _PredictionGraph(nn.Module):
    """What the ONNX graph computes: NaN-padded input to predictions.

    Takes one NaN-padded float32 batch ``(batch, time, features)``, finds the
    lengths (one past the last step that is not all NaN), keeps the most
    recent ``max_length`` steps, runs the fitted module and returns class
    probabilities (classifier) or predictions on the target's scale
    (regressor).
    """

    def __init__(self, module, *, kind, max_length=None, y_mean=None, y_scale=None, squeeze=False):
        super().__init__()
        self.module = module
        self.kind = kind
        self.max_length = max_length
        self.squeeze = squeeze
        if kind == "regressor":
            # float64, as predict maps the outputs: targets beyond float32's
            # range (1e-50, 1e40) or far from 0 (5e6 + 0.1 y) came out as 0,
            # NaN or rounded to float32's spacing there. The mean is added in
            # units of the scale: onnxruntime's optimizations dropped an added
            # constant below float32's smallest number (a mean of 1e-46).
            y_scale = torch.as_tensor(y_scale, dtype=torch.float64)
            y_mean = torch.as_tensor(y_mean, dtype=torch.float64)
            self.register_buffer("y_offset", y_mean / y_scale)
            self.register_buffer("y_scale", y_scale)

    def forward(self, X):
        steps = torch.arange(X.shape[1], device=X.device)
        valid_step = ~torch.isnan(X).all(dim=2)
        lengths = ((steps[None, :] + 1) * valid_step.to(steps.dtype)).amax(dim=1)
        X = torch.nan_to_num(X, nan=0.0)
        if self.max_length is not None:
            X, lengths = self._truncate(X, lengths, steps)
        out = self.module(X, lengths)
        if self.kind == "classifier":
            # An ensemble's output is already the log of its mean probabilities.
            return torch.softmax(out, dim=1)
        out = (out.double() + self.y_offset) * self.y_scale
        return out[:, 0] if self.squeeze else out

    def _truncate(self, X, lengths, steps):
        # The most recent max_length steps of each sequence, moved to the
        # start; the steps after them become padding, which the module ignores
        # (no slicing: the time axis keeps one symbolic size).
        start = (lengths - self.max_length).clamp(min=0)
        index = (start[:, None] + steps[None, :]).clamp(max=X.shape[1] - 1)
        X = torch.gather(X, 1, index[:, :, None].expand(-1, -1, X.shape[2]))
        return X, lengths.clamp(max=self.max_length)


# Gate blocks of torch's weights in the order ONNX's operators want them:
# torch stacks LSTM gates as (input, forget, cell, output) and ONNX as (input,
# output, forget, cell); GRU gates as (reset, update, new) and ONNX as
# (update, reset, hidden).
_ONNX_GATE_ORDER = {"lstm": (0, 3, 1, 2), "gru": (1, 0, 2), "rnn": (0,), "rnn_relu": (0,)}


def _recurrent_layer_onnx(x, weight_ih, weight_hh, bias_ih, bias_hh, cell_type: str):
    """ONNX translation of ``sklrnn::recurrent_layer``: ONNX's ``RNN``, ``LSTM`` or ``GRU``."""
    from onnxscript import opset18 as op

    order = _ONNX_GATE_ORDER[cell_type]
    hidden_size = weight_hh.shape[1]

    def onnx_gates(tensor):
        if len(order) == 1:
            return tensor
        blocks = [op.Slice(tensor, [i * hidden_size], [(i + 1) * hidden_size], [0]) for i in order]
        return op.Concat(*blocks, axis=0)

    W = op.Unsqueeze(onnx_gates(weight_ih), [0])  # (1 direction, gates * hidden, inputs)
    R = op.Unsqueeze(onnx_gates(weight_hh), [0])
    B = op.Unsqueeze(op.Concat(onnx_gates(bias_ih), onnx_gates(bias_hh), axis=0), [0])
    sequence = op.Transpose(x, perm=[1, 0, 2])  # (time, batch, features)
    if cell_type == "lstm":
        Y, _, _ = op.LSTM(sequence, W, R, B, hidden_size=hidden_size)
    elif cell_type == "gru":
        # linear_before_reset=1 is torch's GRU: the reset gate multiplies the
        # recurrent term after its bias.
        Y, _ = op.GRU(sequence, W, R, B, hidden_size=hidden_size, linear_before_reset=1)
    else:
        activation = "Relu" if cell_type == "rnn_relu" else "Tanh"
        Y, _ = op.RNN(sequence, W, R, B, hidden_size=hidden_size, activations=[activation])
    # Y: (time, 1 direction, batch, hidden) -> (batch, time, hidden)
    return op.Transpose(op.Squeeze(Y, [1]), perm=[1, 0, 2])


def _prediction_graph(estimator):
    kind = "classifier" if hasattr(estimator, "classes_") else "regressor"
    extra = {}
    if kind == "regressor":
        extra = {
            "y_mean": estimator._y_mean,
            "y_scale": estimator._y_scale,
            "squeeze": bool(estimator._y_1d),
        }
    # A CPU copy: the estimator's own module stays where and as it is.
    module = copy.deepcopy(estimator.net_.module_).to("cpu").eval()
    graph = _PredictionGraph(module, kind=kind, max_length=estimator.max_length, **extra)
    return graph.eval(), kind


@validate_params(
    {
        "estimator": "no_validation",  # checked below, with its own message
        "path": [str, os.PathLike],
        "opset_version": [Interval(Integral, _OLDEST_OPSET, None, closed="left")],
        "example_length": [Interval(Integral, 1, 10**5, closed="both"), None],
    },
    prefer_skip_nested_validation=True,
)
def export_onnx(estimator, path, *, opset_version=18, example_length=None):
    """Save a fitted estimator's prediction graph as an ONNX model.

    The graph takes one input, ``X``: a float32 array of shape
    ``(batch, time, n_features)`` in sklrnn's interchange format, where
    trailing all-NaN time steps are padding. Batch size and number of time
    steps are free. A classifier's graph returns ``probabilities`` of shape
    ``(batch, n_classes)``, equal to ``predict_proba`` (columns in the order of
    ``classes_``, which the model's metadata also records); a regressor's
    returns ``predictions``, float64, equal to ``predict``. Standardization of the
    input and of the target, the convolutional front end, the random kernel
    features (``kernel_features``) and ``max_length`` truncation are in the
    graph.

    Requires the ``onnx`` and ``onnxscript`` packages (the ``onnx`` extra:
    ``pip install -c constraints.txt -e ".[onnx]"`` in sklrnn's repository,
    which also installs ``onnxruntime`` to run the result). An export can
    take a minute or more, nearly all of it in torch's exporter and
    onnxscript's optimizer.
    The graph is captured by torch's ``torch.export``-based exporter
    (``torch.onnx.export(dynamo=True)``) from the module's own ``forward``;
    the recurrent layers become ONNX's ``RNN``, ``LSTM`` and ``GRU`` operators.

    Parameters
    ----------
    estimator : RNNClassifier or RNNRegressor
        A fitted sklrnn estimator, with every cell type, readout, number of
        layers and direction supported, with or without the convolutional
        front end.
    path : str or path-like
        File to write, conventionally ending in ``.onnx``.
    opset_version : int, default=18
        ONNX operator set of the graph: from 18, the oldest that torch's
        exporter writes, to the newest that the installed onnx package knows
        (``onnx.defs.onnx_opset_version()``). The exporter writes 18 and
        converts to the version asked for; where it cannot, this is a
        ValueError. A runtime may load fewer: onnxruntime 1.31 runs opsets up
        to 26.
    example_length : int, default=None
        Number of time steps of the example batch traced during export (at
        most 100,000); any length works at run time. Defaults to 8, or more
        when the front end shortens the sequences by more than a factor of 2.

    Returns
    -------
    path : str
        The path written.

    Notes
    -----
    A model fitted on 2D input ``(n_samples, n_timesteps)`` has one feature
    per step: pass ``X[:, :, None]`` to the graph. Values must be finite
    except for the trailing padding, every sequence needs at least one step
    that is not padding, and a batch at least one sequence, as for the
    estimator itself; the graph does not check that (an all-NaN row gives
    NaN or a meaningless number, and onnxruntime 1.31's LSTM and GRU abort
    the whole process on a batch of 0 sequences). Class labels are not in
    the graph: map the argmax of the probabilities through ``classes_``,
    stored as JSON under the ``classes`` metadata key (dates and durations
    as numpy's strings of them, ``"2020-01-01T00:00:00"``).

    Examples
    --------
    >>> import numpy as np
    >>> import onnxruntime
    >>> from sklrnn import RNNClassifier, export_onnx
    >>> rng = np.random.RandomState(0)
    >>> X = rng.normal(size=(30, 6, 2)).astype(np.float32)
    >>> y = (X[:, -1, 0] > 0).astype(int)
    >>> clf = RNNClassifier(hidden_size=4, conv_channels=4, max_epochs=3, random_state=0)
    >>> clf = clf.fit(X, y)
    >>> import os, tempfile
    >>> path = export_onnx(clf, os.path.join(tempfile.mkdtemp(), "classifier.onnx"))
    >>> session = onnxruntime.InferenceSession(path)
    >>> proba = session.run(None, {"X": X})[0]
    >>> bool(np.allclose(proba, clf.predict_proba(X), atol=1e-5))
    True
    """
    if not isinstance(estimator, _BaseRNN):
        raise TypeError(
            "export_onnx needs a fitted sklrnn estimator (RNNClassifier or RNNRegressor), "
            f"got {type(estimator).__name__}."
        )
    check_is_fitted(estimator)
    estimator._check_prediction_params(plain=True)  # max_length goes into the graph
    try:
        import onnx
        import onnxscript  # noqa: F401  (torch's exporter needs it)
    except ImportError as exc:
        raise ImportError(
            "export_onnx requires the onnx and onnxscript packages; install them with "
            "`pip install onnx onnxscript onnxruntime`, or from sklrnn's repository with "
            '`pip install -c constraints.txt -e ".[onnx]"`.'
        ) from exc
    path = os.fspath(path)
    _check_file_path(path, "path", "model.onnx")
    for name, value in (("opset_version", opset_version), ("example_length", example_length)):
        _reject_bool(value, name, "export_onnx")
    newest = onnx.defs.onnx_opset_version()
    if not _OLDEST_OPSET <= opset_version <= newest:
        # Outside this range torch's exporter logs a traceback and writes opset 18.
        raise ValueError(
            f"opset_version must be from {_OLDEST_OPSET}, the oldest that torch's exporter "
            f"writes, to {newest}, the newest that the installed onnx {onnx.__version__} "
            f"knows; got {opset_version}."
        )
    graph, kind = _prediction_graph(estimator)
    # Two sequences long enough for several steps after the front end's
    # striding and pooling: torch.export fixes sizes of 0 or 1.
    length = max(example_length or 8, 4 * int(np.prod(estimator.strides_)))
    example = torch.zeros(2, length, estimator._n_channels)
    output = "probabilities" if kind == "classifier" else "predictions"
    # DYNAMIC, not named dimensions: torch.export cannot prove that ceil-mode
    # pooling and the size-1 cases of short sequences are generic, and would
    # refuse the export; the graph is generic, and tests run it on sequences
    # of every length down to 1 step.
    dims = {0: torch.export.Dim.DYNAMIC, 1: torch.export.Dim.DYNAMIC}
    registry_log = logging.getLogger(_TORCH_REGISTRY_LOGGER)
    # One export at a time: the warning filters and the logger's filter are
    # the process's, and so is the flag that torch's exporter sets.
    with exporting(), warnings.catch_warnings(), torch.no_grad():
        registry_log.addFilter(_not_about_torchvision)
        for category, message in _TORCH_INTERNAL_WARNINGS:
            warnings.filterwarnings("ignore", message=message, category=category)
        try:
            program = torch.onnx.export(
                graph,
                (example,),
                dynamo=True,
                input_names=["X"],
                output_names=[output],
                dynamic_shapes={"X": dims},
                opset_version=opset_version,
                custom_translation_table={
                    torch.ops.sklrnn.recurrent_layer.default: _recurrent_layer_onnx
                },
                verbose=False,
            )
        finally:
            registry_log.removeFilter(_not_about_torchvision)
    model = program.model_proto
    _check_dynamic(model)
    written = {entry.domain: entry.version for entry in model.opset_import}.get("")
    if written != opset_version:
        # The exporter falls back to the version it writes, printing why.
        raise ValueError(
            f"torch's exporter could not write ONNX opset {opset_version}; it wrote opset "
            f"{written}. Pass opset_version={written}, or a version it converts to."
        )
    meta = {"estimator": type(estimator).__name__, "output": output}
    if kind == "classifier":
        classes = np.asarray(estimator.classes_)
        # Dates and durations as numpy writes them (tolist gives objects that
        # JSON cannot hold, or nanosecond counts).
        labels = classes.astype(str) if classes.dtype.kind in "Mm" else classes
        meta["classes"] = json.dumps(labels.tolist())
    for key, value in meta.items():
        entry = model.metadata_props.add()
        entry.key, entry.value = key, value
    onnx.save_model(model, path)
    return path


def _check_dynamic(model):
    """Refuse a graph whose batch size or number of steps was fixed in export."""
    shape = model.graph.input[0].type.tensor_type.shape.dim
    fixed = [
        axis for axis, dim in zip(("batch", "time"), shape[:2], strict=True) if not dim.dim_param
    ]
    if fixed:
        raise RuntimeError(
            f"torch's exporter fixed the {' and '.join(fixed)} size of the ONNX graph's "
            "input; the graph would accept only the example's shape. Please report this "
            "to sklrnn with your torch version."
        )
