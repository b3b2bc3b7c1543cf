"""Export of fitted estimators to ONNX.

The torch module's ``forward`` picks its path in Python (``int(lengths.max())``,
packed sequences only for ragged batches), which a graph exporter cannot
follow. Export therefore goes through :class:`_ExportModule`, a module with
the same weights whose computation is the same for every batch: each
recurrent layer and direction runs as a one-layer cell over the whole padded
time axis, the backward direction on each sequence reversed within its own
length, and the readout gathers or masks the valid steps. Its outputs equal
the estimator's for equal-length and ragged batches alike.
"""

import copy
import io
import json
import os
import warnings

import numpy as np
import torch
from sklearn.utils.validation import check_is_fitted
from torch import nn

from ._base import _BaseRNN

__all__ = ["export_onnx"]

_RNN_CLASSES = {"rnn": nn.RNN, "rnn_relu": nn.RNN, "lstm": nn.LSTM, "gru": nn.GRU}


def _single_layer(module, layer, suffix):
    """A one-layer, one-direction copy of layer ``layer`` of ``module.rnn``."""
    rnn = module.rnn
    extra = {"nonlinearity": "relu"} if module.cell_type == "rnn_relu" else {}
    in_size = rnn.input_size if layer == 0 else rnn.hidden_size * (2 if rnn.bidirectional else 1)
    cell = _RNN_CLASSES[module.cell_type](
        in_size, rnn.hidden_size, batch_first=True, bias=rnn.bias, **extra
    )
    state = {}
    for name in cell.state_dict():  # weight_ih_l0, bias_hh_l0, ...
        state[name] = getattr(rnn, name.replace("_l0", f"_l{layer}") + suffix).detach().clone()
    cell.load_state_dict(state)
    return cell


class _ExportNetwork(nn.Module):
    """Export-only twin of one fitted :class:`~sklrnn.RNNModule`, from the
    standardized input on: the recurrent layers, the readout and the head."""

    def __init__(self, module):
        super().__init__()
        self.cell_type = module.cell_type
        self.readout = module.readout
        self.bidirectional = module.rnn.bidirectional
        self.hidden_size = module.rnn.hidden_size
        self.frame_size = module.frame_size
        self.forward_cells = nn.ModuleList(
            _single_layer(module, i, "") for i in range(module.rnn.num_layers)
        )
        self.backward_cells = nn.ModuleList(
            _single_layer(module, i, "_reverse")
            for i in (range(module.rnn.num_layers) if self.bidirectional else [])
        )
        self.attention = module.attention
        self.head = module.head

    def forward(self, h, lengths, steps, valid, reverse):
        if self.frame_size > 1:
            h, lengths, steps = self._stack_frames(h, lengths, steps, valid)
            valid = steps[None, :] < lengths[:, None]
            reverse = torch.where(valid, lengths[:, None] - 1 - steps[None, :], steps[None, :])
        for i, cell in enumerate(self.forward_cells):
            out = cell(h)[0]
            if self.bidirectional:
                back = self.backward_cells[i](_gather_steps(h, reverse))[0]
                out = torch.cat([out, _gather_steps(back, reverse)], dim=2)
            h = out
        return self.head(self._summarize(h, lengths, valid))

    def _stack_frames(self, h, lengths, steps, valid):
        # Join frame_size consecutive steps, as RNNModule does: zeros past each
        # sequence's end, and past the last step up to a whole frame.
        k = self.frame_size
        h = nn.functional.pad(h * valid[..., None].to(h.dtype), (0, 0, 0, k - 1))
        starts = steps[::k]
        index = (starts[:, None] + torch.arange(k)[None, :]).reshape(-1)
        h = h[:, index].reshape(h.shape[0], -1, k * h.shape[2])
        return h, (lengths + k - 1) // k, starts // k

    def _summarize(self, out, lengths, valid):
        if self.readout == "last":
            last = _gather_steps(out, (lengths - 1)[:, None])[:, 0]
            if not self.bidirectional:
                return last
            # The backward direction ends at each sequence's first step.
            size = self.hidden_size
            return torch.cat([last[:, :size], out[:, 0, size:]], dim=1)
        mask = valid[..., None]
        if self.readout == "mean":
            return (out * mask).sum(dim=1) / lengths[:, None].to(out.dtype)
        if self.readout == "max":
            return out.masked_fill(~mask, float("-inf")).amax(dim=1)
        scores = self.attention(out).squeeze(-1).masked_fill(~valid, float("-inf"))
        weights = torch.softmax(scores, dim=1)
        return torch.bmm(weights[:, None, :], out).squeeze(1)


class _ExportModule(nn.Module):
    """Export-only twin of a fitted :class:`~sklrnn.RNNModule` or ensemble.

    Takes one NaN-padded float32 batch ``(batch, time, features)`` and returns
    class probabilities (classifier) or predictions on the target's scale
    (regressor); an ensemble's networks are averaged as in its evaluation.
    """

    def __init__(self, module, *, kind, max_length=None, y_mean=None, y_scale=None, squeeze=False):
        super().__init__()
        module = module.eval()
        networks = getattr(module, "networks", [module])
        self.networks = nn.ModuleList(_ExportNetwork(network) for network in networks)
        self.register_buffer("input_mean", networks[0].input_mean.detach().clone())
        self.register_buffer("input_scale", networks[0].input_scale.detach().clone())
        self.kind = kind
        self.max_length = max_length
        self.squeeze = squeeze
        if kind == "regressor":
            self.register_buffer("y_mean", torch.as_tensor(y_mean, dtype=torch.float32))
            self.register_buffer("y_scale", torch.as_tensor(y_scale, dtype=torch.float32))

    def forward(self, X):
        steps = torch.arange(X.shape[1], device=X.device)
        valid_step = ~torch.isnan(X).all(dim=2)
        # Length = one past the last step that is not all NaN.
        lengths = ((steps[None, :] + 1) * valid_step.to(steps.dtype)).amax(dim=1)
        X = torch.nan_to_num(X, nan=0.0)
        if self.max_length is not None:
            X, lengths, steps = self._truncate(X, lengths, steps)
        valid = steps[None, :] < lengths[:, None]
        # Position of each step in its sequence reversed within its length;
        # padding steps stay where they are. The permutation is its own inverse.
        reverse = torch.where(valid, lengths[:, None] - 1 - steps[None, :], steps[None, :])
        h = (X - self.input_mean) / self.input_scale
        outs = torch.stack([net(h, lengths, steps, valid, reverse) for net in self.networks])
        if self.kind == "classifier":
            return torch.softmax(outs, dim=2).mean(dim=0)
        out = outs.mean(dim=0) * self.y_scale + self.y_mean
        return out[:, 0] if self.squeeze else out

    def _truncate(self, X, lengths, steps):
        # Keep the most recent max_length steps of each sequence, moved to the start.
        start = (lengths - self.max_length).clamp(min=0)
        index = (start[:, None] + steps[None, :]).clamp(max=X.shape[1] - 1)
        X = _gather_steps(X, index)[:, : self.max_length]
        return X, lengths.clamp(max=self.max_length), steps[: self.max_length]


def _gather_steps(values, index):
    """``values[b, index[b, t], :]`` for a (batch, time, width) tensor."""
    index = index[:, :, None].expand(-1, -1, values.shape[2])
    return torch.gather(values, 1, index)


def _export_module(estimator):
    kind = "classifier" if hasattr(estimator, "classes_") else "regressor"
    extra = {}
    if kind == "regressor":
        extra = {
            "y_mean": estimator._y_mean,
            "y_scale": estimator._y_scale,
            "squeeze": bool(estimator._y_1d),
        }
    # A CPU copy: the estimator's own module stays where it is.
    module = copy.deepcopy(estimator.net_.module_).to("cpu")
    wrapper = _ExportModule(module, kind=kind, max_length=estimator.max_length, **extra)
    return wrapper.eval(), kind


def export_onnx(estimator, path, *, opset_version=18, example_length=None):
    """Save a fitted estimator's prediction graph as an ONNX model.

    The graph takes one input, ``X``: a float32 array of shape
    ``(batch, time, n_features)`` in sklrnn's interchange format, where
    trailing all-NaN time steps are padding. Batch size and number of time
    steps are free. A classifier's graph returns ``probabilities`` of shape
    ``(batch, n_classes)``, equal to ``predict_proba`` (columns in the order of
    ``classes_``, which the model's metadata also records); a regressor's
    returns ``predictions``, equal to ``predict``. Standardization of the
    input and of the target and ``max_length`` truncation are in the graph.

    Requires the ``onnx`` package (``pip install "sklrnn[onnx]"``, which also
    installs ``onnxruntime`` to run the result). The graph is written by
    torch's TorchScript-based exporter (``torch.onnx.export(dynamo=False)``),
    which maps the recurrent layers to ONNX's own ``RNN``, ``LSTM`` and
    ``GRU`` operators.

    Parameters
    ----------
    estimator : RNNClassifier or RNNRegressor
        A fitted sklrnn estimator, with every cell type, readout, number of
        layers and direction supported.
    path : str or path-like
        File to write, conventionally ending in ``.onnx``.
    opset_version : int, default=18
        ONNX operator set of the graph.
    example_length : int, default=None
        Number of time steps of the dummy batch traced during export; any
        length works at run time. Defaults to ``max_length`` or 8.

    Returns
    -------
    path : str
        The path written.

    Notes
    -----
    A model fitted on 2D input ``(n_samples, n_timesteps)`` has one feature
    per step: pass ``X[:, :, None]`` to the graph. Values must be finite
    except for the trailing padding, as for the estimator itself; the graph
    does not check that. Class labels are not in the graph: map the argmax of
    the probabilities through ``classes_``, stored as JSON under the
    ``classes`` metadata key.

    Examples
    --------
    >>> import numpy as np
    >>> import onnxruntime
    >>> from sklrnn import RNNClassifier, export_onnx
    >>> rng = np.random.RandomState(0)
    >>> X = rng.normal(size=(30, 6, 2)).astype(np.float32)
    >>> y = (X[:, -1, 0] > 0).astype(int)
    >>> clf = RNNClassifier(hidden_size=4, max_epochs=3, random_state=0).fit(X, y)
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
    try:
        import onnx
    except ImportError as exc:
        raise ImportError(
            "export_onnx requires the onnx package; install it with "
            '`pip install "sklrnn[onnx]"` or `pip install onnx onnxruntime`.'
        ) from exc
    path = os.fspath(path)
    wrapper, kind = _export_module(estimator)
    length = example_length or estimator.max_length or 8
    example = torch.zeros(2, length, estimator._n_channels)
    output = "probabilities" if kind == "classifier" else "predictions"
    with warnings.catch_warnings(), torch.no_grad():
        # The TorchScript exporter announces its deprecation and warns about
        # tracing; the export-only module has no data-dependent Python branch,
        # so the trace is exact. Neither notice concerns the user.
        warnings.simplefilter("ignore")
        buffer = io.BytesIO()
        torch.onnx.export(
            wrapper,
            (example,),
            buffer,
            dynamo=False,
            input_names=["X"],
            output_names=[output],
            dynamic_axes={"X": {0: "batch", 1: "time"}, output: {0: "batch"}},
            opset_version=opset_version,
        )
    model = onnx.load_from_string(buffer.getvalue())
    meta = {"estimator": type(estimator).__name__, "output": output}
    if kind == "classifier":
        meta["classes"] = json.dumps(np.asarray(estimator.classes_).tolist())
    for key, value in meta.items():
        entry = model.metadata_props.add()
        entry.key, entry.value = key, value
    onnx.save_model(model, path)
    return path
