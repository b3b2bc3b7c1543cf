"""The PyTorch module behind the estimators."""

import contextlib
import itertools
import math
import os
import reprlib
import threading
from numbers import Integral, Real

import numpy as np
import torch
from torch import nn

from ._engine import ENGINE_CELLS, recurrent_streams, use_engine

__all__ = [
    "RNNModule",
    "RNNEnsemble",
    "CELL_TYPES",
    "READOUTS",
    "front_end_strides",
    "front_end_kernels",
    "RandomKernels",
    "kernel_dilations",
]

CELL_TYPES = ("rnn", "rnn_relu", "lstm", "gru")
READOUTS = ("mean_last", "last", "mean", "max", "attention")

# Kernel sizes of the front end's convolutions. The blocks are those of the
# fully convolutional network of Wang et al. (2017), which LSTM-FCN builds
# on, with longer kernels than its (8, 5, 3). The first block runs several
# kernel sizes side by side, as InceptionTime's modules do, so that the
# network finds local shapes at the scale each data set needs: the sizes up
# to the length of the (strided) longest training sequence, each with a
# share of the channels. All were chosen by cross-validation within the
# development collection's training splits.
_FIRST_KERNELS = (15, 31, 63)
_KERNELS = (9, 5)


def front_end_strides(n_timesteps, max_steps, max_input_steps=512):
    """Striding of the convolutional front end for sequences of ``n_timesteps``.

    The first convolution strides by ``ceil(n_timesteps / max_input_steps)``;
    max pooling after the first and the second block then leaves at most
    ``max_steps`` steps for the recurrent layers.

    Parameters
    ----------
    n_timesteps : int
        Length of the longest training sequence.
    max_steps : int
        Most steps the recurrent layers should run over.
    max_input_steps : int, default=512
        Most steps the convolutions should run over.

    Returns
    -------
    strides : tuple of 3 ints
        Stride of the first convolution, then the two pooling sizes.

    Examples
    --------
    >>> from sklrnn._module import front_end_strides
    >>> front_end_strides(24, 32)
    (1, 1, 1)
    >>> front_end_strides(2000, 32)
    (4, 4, 4)
    """
    stride = -(-n_timesteps // max_input_steps)
    steps = -(-n_timesteps // stride)
    pool = -(-steps // max_steps)
    first = math.ceil(math.sqrt(pool))
    return (stride, first, -(-pool // first))


def front_end_kernels(n_timesteps, stride, channels):
    """Kernel sizes of the front end's first block for sequences of ``n_timesteps``.

    The sizes of ``(15, 31, 63)`` that are no longer than the sequence
    after the first convolution's ``stride``; 15 always, and at most one
    size per channel.

    Parameters
    ----------
    n_timesteps : int
        Length of the longest training sequence.
    stride : int
        Stride of the first convolution (the first of :func:`front_end_strides`).
    channels : int
        Channels of the first block, shared among its kernel sizes.

    Returns
    -------
    kernels : tuple of ints
        Kernel sizes of the first block's parallel convolutions.

    Examples
    --------
    >>> from sklrnn._module import front_end_kernels
    >>> front_end_kernels(24, 1, 64)
    (15,)
    >>> front_end_kernels(150, 1, 64)
    (15, 31, 63)
    >>> front_end_kernels(2000, 4, 2)
    (15, 31)
    """
    steps = -(-n_timesteps // stride)
    fitting = [k for k in _FIRST_KERNELS if k <= steps] or [_FIRST_KERNELS[0]]
    return tuple(fitting[: max(channels, 1)])


def _downsampled(lengths, factor):
    """Lengths after a stride or ceil-mode pooling by ``factor``."""
    return lengths if factor == 1 else (lengths + factor - 1) // factor


def _valid_mask(lengths, steps, device):
    """Boolean (batch, 1, steps): True at the valid steps of each sequence."""
    return (torch.arange(steps, device=device)[None, :] < lengths.to(device)[:, None])[:, None]


def _valid_mean(values, lengths):
    """Mean over the valid steps of a (batch, time, width) tensor that is zero past each end."""
    return values.sum(dim=1) / lengths.to(values)[:, None]


def _max_pool(x, pool):
    """Max pooling of (batch, channels, steps) ``x`` by ``pool`` in ceil mode, before a ReLU.

    The last window may be short. Eager code runs max_pool1d, which takes
    the largest value the window holds; in export a reshape and amax, which
    keep the number of steps symbolic in torch.export, as max_pool1d does
    not, over the window completed with zeros. The two differ only where the
    window's values are all negative, which the ReLU then maps to 0 either
    way. max_pool1d's forward is about 3 times as fast as the reshape and
    amax: default fits take 7 to 15% less time and predictions about a
    quarter less (``docs/choosing_hyperparameters.rst``).
    """
    if _is_exporting():
        x = nn.functional.pad(x, (0, -x.shape[2] % pool)).unflatten(2, (-1, pool))
        return x.amax(dim=3)
    return nn.functional.max_pool1d(x, pool, ceil_mode=True)


def _gather_steps(values, index):
    """``values[b, index[b, t], :]`` for a (batch, time, width) tensor."""
    return torch.gather(values, 1, index[:, :, None].expand(-1, -1, values.shape[2]))


def _dropout(layer, x):
    """``layer(x)`` for an ``nn.Dropout`` layer, without the call when p is 0 (it returns x)."""
    return layer(x) if layer.p else x


def _count(name, value, minimum=1):
    """``value`` as an int >= ``minimum``: numpy integers too, not bools."""
    if isinstance(value, bool | np.bool_) or not isinstance(value, Integral):
        raise TypeError(f"{name} must hold integers, got {value!r}.")
    if value < minimum:
        raise ValueError(f"{name} must hold integers >= {minimum}, got {value!r}.")
    return int(value)


def _sequence(name, value, length=None):
    """``value`` as a tuple, of ``length`` items where given, and not empty."""
    if not isinstance(value, tuple | list) or not value or len(value) != (length or len(value)):
        size = f"{length} items" if length else "at least one item"
        raise ValueError(f"{name} must be a tuple of {size}, got {value!r}.")
    return tuple(value)


# export_onnx's exports run one at a time (torch's exporter is not
# thread-safe), each in the thread held here while it runs.
_EXPORT_LOCK = threading.Lock()
_export_thread = None


def _new_export_lock():
    # A process forked during an export would hold a copy of the lock that no
    # thread of the child releases: its exports would wait forever.
    global _EXPORT_LOCK, _export_thread
    _EXPORT_LOCK, _export_thread = threading.Lock(), None


if hasattr(os, "register_at_fork"):  # POSIX
    os.register_at_fork(after_in_child=_new_export_lock)


@contextlib.contextmanager
def exporting():
    """Hold the process's one export_onnx export for this thread."""
    global _export_thread
    with _EXPORT_LOCK:
        _export_thread = threading.get_ident()
        try:
            yield
        finally:
            _export_thread = None


def _is_exporting():
    """Whether torch.export is tracing the module (False on torch without the query).

    torch's flag is one for the whole process: while export_onnx traces in
    one thread, the others run their own code (fit, predict), which the
    exported operator, without a gradient, would break. (The thread is
    asked only then: a strict torch.export cannot trace the question.)
    """
    is_exporting = getattr(torch.compiler, "is_exporting", None)
    if not (is_exporting and is_exporting()):
        return False
    return _export_thread is None or _export_thread == threading.get_ident()


def _run_layer(x, weight_ih, weight_hh, bias_ih, bias_hh, cell_type, lengths=None):
    """Outputs and final state of one layer and direction over (batch, time, features) ``x``.

    The operator that nn.RNN, nn.LSTM and nn.GRU call, for one layer and
    direction from a zero initial state. Its ``train`` flag follows the
    gradient mode: cuDNN keeps what its backward pass needs only when told
    so, and refuses a backward pass otherwise. The final state, of shape
    (batch, hidden), is the output at the last step; taken from the operator,
    its gradient skips the per-step outputs (an LSTM of hidden size 32 over 50
    steps, batch 64: forward and backward about 6% shorter than through the
    last step's output).

    With ``lengths`` (of a GRU or Elman layer, see
    :meth:`RNNModule._recurrent`), the sequences run packed, each to its own
    end: the outputs past each end are zero, and the final state is at the
    last valid step.
    """
    h0 = x.new_zeros(1, x.shape[0], weight_hh.shape[1])
    # The weights with biases, one layer, no dropout, the train flag, one direction.
    args = ([weight_ih, weight_hh, bias_ih, bias_hh], True, 1, 0.0, torch.is_grad_enabled(), False)
    if cell_type == "lstm":
        out, final, _ = torch.lstm(x, (h0, h0), *args, True)  # batch first
        return out, final[0]
    layer = {"gru": torch.gru, "rnn": torch.rnn_tanh, "rnn_relu": torch.rnn_relu}[cell_type]
    if lengths is None:
        out, final = layer(x, h0, *args, True)  # batch first
        return out, final[0]
    packed = nn.utils.rnn.pack_padded_sequence(x, lengths, True, enforce_sorted=False)
    out, final = layer(packed.data, packed.batch_sizes, h0, *args)
    out = nn.utils.rnn.pad_packed_sequence(
        packed._replace(data=out), batch_first=True, total_length=x.shape[1]
    )[0]
    return out, final[0, packed.unsorted_indices]


def _one_layer(
    x: torch.Tensor,
    weight_ih: torch.Tensor,
    weight_hh: torch.Tensor,
    bias_ih: torch.Tensor,
    bias_hh: torch.Tensor,
    cell_type: str,
) -> torch.Tensor:
    """The outputs of :func:`_run_layer`, as the operator that export keeps whole."""
    return _run_layer(x, weight_ih, weight_hh, bias_ih, bias_hh, cell_type)[0]


# The same, as an operator of its own for export: torch.export keeps it whole
# whatever the number of steps (torch's own decompositions of the recurrent
# operators unroll the time loop, or fail on lengths the front end derives),
# and sklrnn's ONNX export maps it to ONNX's RNN, LSTM or GRU. It has no
# gradient: eager code calls _run_layer.
_exported_layer = torch.library.custom_op("sklrnn::recurrent_layer", mutates_args=())(_one_layer)


@_exported_layer.register_fake
def _(x, weight_ih, weight_hh, bias_ih, bias_hh, cell_type):
    return x.new_empty(x.shape[0], x.shape[1], weight_hh.shape[1])


def _uses_cudnn(rnn):
    """Whether the layers of ``rnn`` run on cuDNN (weights on CUDA, of a type it takes)."""
    weight = rnn.weight_ih_l0
    return (
        weight.is_cuda
        and torch.backends.cudnn.is_acceptable(weight)
        and torch._use_cudnn_rnn_flatten_weight()
    )


def _flatten_per_direction(rnn):
    """Put the weights of each layer and direction of ``rnn`` in a cuDNN buffer of their own."""
    if not _uses_cudnn(rnn):
        return
    mode = torch.backends.cudnn.rnn.get_cudnn_mode(rnn.mode)
    suffixes = ("", "_reverse") if rnn.bidirectional else ("",)
    names = ("weight_ih", "weight_hh", "bias_ih", "bias_hh")
    with torch.no_grad(), torch.cuda.device_of(rnn.weight_ih_l0):
        for layer in range(rnn.num_layers):
            for suffix in suffixes:
                params = [getattr(rnn, f"{name}_l{layer}{suffix}") for name in names]
                # The parameters keep their identity (an optimizer's
                # references stay valid); their data moves to the buffer.
                torch._cudnn_rnn_flatten_weight(
                    params, 4, params[0].shape[1], mode, rnn.hidden_size, 0, 1, True, False
                )


class MaskedBatchNorm1d(nn.BatchNorm1d):
    """Batch normalization over channels whose batch statistics skip padding.

    In training, the mean and variance of each channel come from the valid
    steps of the batch only, so that the amount of padding never changes the
    result; the running statistics that evaluation uses are updated from
    them as by :class:`torch.nn.BatchNorm1d`.
    """

    def forward(self, x, mask=None):
        """Normalize (batch, channels, steps) ``x`` over the steps where ``mask`` is True.

        ``mask`` has shape (batch, 1, steps); None means that every step is valid.
        """
        if not self.training or (mask is None and x.shape[0] * x.shape[2] > 1):
            return super().forward(x)
        if mask is None:  # one value per channel, which BatchNorm1d refuses in training
            mask = torch.ones_like(x[:, :1], dtype=torch.bool)
        count = mask.sum() * 1.0
        mean = (x * mask).sum(dim=(0, 2)) / count
        centred = (x - mean[:, None]) * mask
        var = (centred * centred).sum(dim=(0, 2)) / count
        with torch.no_grad():
            self.num_batches_tracked += 1
            # Bessel's correction, as BatchNorm1d's; none for a single value.
            unbiased = var * (count / (count - 1).clamp(min=1))
            # momentum=None: BatchNorm1d's cumulative average.
            weight = 1 / float(self.num_batches_tracked) if self.momentum is None else self.momentum
            self.running_mean.lerp_(mean, weight)
            self.running_var.lerp_(unbiased, weight)
        scale = self.weight * torch.rsqrt(var + self.eps)
        return (x - mean[:, None]) * scale[:, None] + self.bias[:, None]


class MultiKernelConv1d(nn.Module):
    """Parallel convolutions of several kernel sizes, their channels side by side.

    Each size gets an equal share of ``out_channels`` (the first sizes one
    more when they do not divide evenly); every convolution has the same
    stride and pads by half its kernel, so that all give the same length.

    Parameters
    ----------
    in_channels, out_channels : int
        Channels of the input and of the joined output.
    kernel_sizes : tuple of odd ints
        One convolution per size, at most ``out_channels`` of them.
    stride : int, default=1
        Stride of every convolution.

    Examples
    --------
    >>> import torch
    >>> from sklrnn._module import MultiKernelConv1d
    >>> conv = MultiKernelConv1d(2, 8, (15, 31), stride=2)
    >>> [branch.out_channels for branch in conv.branches]
    [4, 4]
    >>> conv(torch.zeros(3, 2, 40)).shape
    torch.Size([3, 8, 20])
    """

    def __init__(self, in_channels, out_channels, kernel_sizes, stride=1):
        super().__init__()
        n = len(kernel_sizes)
        if not 1 <= n <= out_channels:
            raise ValueError(
                f"kernel_sizes must hold from 1 to out_channels={out_channels} sizes, "
                f"got {kernel_sizes!r}."
            )
        shares = [out_channels // n + (i < out_channels % n) for i in range(n)]
        self.branches = nn.ModuleList(
            nn.Conv1d(
                in_channels, c, k, stride=stride, padding=k // 2, bias=False, dtype=torch.float32
            )
            for c, k in zip(shares, kernel_sizes, strict=True)
        )

    def forward(self, x):
        if len(self.branches) == 1:
            return self.branches[0](x)
        # One convolution with every size's weights centred in the widest
        # kernel, zero around them: the same outputs (up to the order of
        # summation), and no join of the branches' outputs. Forward and
        # backward of 64 channels of sizes 15, 31 and 63 on one feature, batch
        # 32, one thread: 2.8 against 3.3 ms over 275 steps, 4.7 against 6.4 ms
        # over 500.
        widest = max(branch.kernel_size[0] for branch in self.branches)
        weight = torch.cat(
            [
                nn.functional.pad(branch.weight, ((widest - branch.kernel_size[0]) // 2,) * 2)
                for branch in self.branches
            ]
        )
        stride = self.branches[0].stride
        return nn.functional.conv1d(x, weight, stride=stride, padding=widest // 2)


class ConvFrontEnd(nn.Module):
    """Three convolution blocks that extract local shape and shorten the sequence.

    Each block is a convolution without bias, batch normalization over the
    valid steps, ReLU and a mask that zeroes the padding. The first block's
    convolution is :class:`MultiKernelConv1d`, several kernel sizes side by
    side, and strides by ``strides[0]``; an input of more than ``channels``
    features is first mapped to ``channels`` by a 1x1 convolution without
    bias (a bottleneck, as InceptionTime's). Max pooling by ``strides[1]`` and
    ``strides[2]`` follows the first two blocks. The lengths follow every
    stride and pooling, and a padded step never reaches a valid one: a
    sequence gives the same output whatever padding follows it.

    Parameters
    ----------
    n_features : int
        Channels of the input.
    channels : int
        Channels of every block.
    strides : tuple of 3 ints
        See :func:`front_end_strides`.
    kernel_sizes : tuple of ints, default=(15,)
        Kernel sizes of the first block, see :func:`front_end_kernels`.
    """

    def __init__(self, n_features, channels, strides, kernel_sizes=(15,)):
        super().__init__()
        self.strides = tuple(int(s) for s in strides)
        self.kernel_sizes = tuple(int(k) for k in kernel_sizes)
        first = MultiKernelConv1d(
            min(n_features, channels), channels, self.kernel_sizes, self.strides[0]
        )
        if n_features > channels:
            # InceptionTime's bottleneck: a 1x1 convolution maps the input to
            # `channels` first, so that the first block's wide kernels read
            # no more channels than they write. A default fit on 100 series
            # of 144 steps and 256 channels took 70 s, now 37 s (128
            # channels: 36 s, now 32 s); docs/choosing_hyperparameters.rst.
            bottleneck = nn.Conv1d(n_features, channels, 1, bias=False, dtype=torch.float32)
            first = nn.Sequential(bottleneck, first)
        self.convs = nn.ModuleList(
            [first]
            + [
                nn.Conv1d(channels, channels, k, padding=k // 2, bias=False, dtype=torch.float32)
                for k in _KERNELS
            ]
        )
        self.norms = nn.ModuleList(
            MaskedBatchNorm1d(channels, dtype=torch.float32) for _ in self.convs
        )

    def forward(self, X, lengths):
        """Map (batch, steps, n_features) to (batch, fewer steps, channels) and lengths."""
        # Standard strides: the convolution lays its output out after its
        # input's strides, which for one feature depend on the caller's
        # array (C or Fortran order), and batch normalization rounds
        # differently in the two layouts.
        x = X.transpose(1, 2).clone(memory_format=torch.contiguous_format)
        # A batch without padding (its sequences all as long as the longest,
        # as in a table, and so after every stride and pooling) needs no
        # masks, and plain batch normalization computes the statistics of its
        # valid steps in fewer passes over each block's output.
        padded = _is_exporting() or int(lengths.min()) < x.shape[2]
        if padded:
            x = x * _valid_mask(lengths, x.shape[2], x.device)  # the convolution's zero padding
        pools = (self.strides[1], self.strides[2], 1)
        for block, (conv, norm, pool) in enumerate(zip(self.convs, self.norms, pools, strict=True)):
            x = conv(x)
            if block == 0:
                lengths = _downsampled(lengths, self.strides[0])
            mask = _valid_mask(lengths, x.shape[2], x.device) if padded else None
            x = norm(x, mask)
            if padded:
                x = x * mask
            if pool > 1:
                # ReLU after the pooling, on a pool-th of the values: the
                # same outputs and gradients as before it (ReLU keeps the
                # order of values, and relu(max(S and zeros)) = relu(max(S)),
                # so zeroed padding changes no window that holds a valid
                # step), and a default fit's convolutional front end on 275
                # steps 11% faster (forward and backward, one thread).
                x = _max_pool(x, pool)
                lengths = _downsampled(lengths, pool)
            x = torch.relu(x)
        return x.transpose(1, 2), lengths


# The 84 kernels of length 9 with weight 2 at three positions and -1 at the
# other six: every kernel sums to zero, so its output ignores the level of
# the series, and the biases, drawn from the data, set its scale (the
# kernels of MiniRocket, Dempster et al., 2021).
_KERNEL_LENGTH = 9
_PATTERNS = torch.full((84, _KERNEL_LENGTH), -1.0)
for _row, _where in enumerate(itertools.combinations(range(_KERNEL_LENGTH), 3)):
    _PATTERNS[_row, list(_where)] = 2.0
_MAX_DILATIONS = 32
# Inputs of at least this many channels, and 9 per step of the stride, run
# the kernels as sums of their channels (RandomKernels._convolve). The
# transform of 100 sequences of 144 steps, one thread, ms per series, sums
# against the product over every channel: 1.4 against 1.1 at 8 channels,
# 1.45 against 1.55 at 10, 1.45 against 1.8 at 12, 1.6 against 2.3 at 16,
# 2.0 against 8.0 at 64, 3.9 against 44 at 256. The sums cover every step,
# the strided product the steps read only: at stride 3 (1,100 steps) 16
# against 7 ms at 12 channels, 23 against 49 at 64; at stride 6 (3,000
# steps) 43 against 12 at 12 channels, 68 against 87 to 104 at 64, 110
# against 470 at 256.
_SUMMED_CHANNELS = 12
# Sequence-steps per pass of the kernels on the CPU (RandomKernels._proportions).
_CPU_PASS_STEPS = 8192
# Most comparisons of a dilation's outputs with its biases made in one call
# (RandomKernels._count); more go bias by bias, in the cache.
_ONE_SUBTRACTION = 2**17
# Quantiles of the biases: fractional parts of multiples of the golden
# ratio, a low-discrepancy sequence in (0, 1).
_GOLDEN = (math.sqrt(5) - 1) / 2


def kernel_dilations(n_timesteps, n_features_out):
    """Dilations of the kernels, and the number of biases at each, for sequences of ``n_timesteps``.

    Up to 32 dilations spaced exponentially from 1 to the one at which a
    kernel spans the longest sequence; the biases are shared out among them
    (more at the small dilations, which repeat), so that each of the 84
    kernels has about ``n_features_out / 84`` features.

    Parameters
    ----------
    n_timesteps : int
        Length of the longest training sequence.
    n_features_out : int
        Number of features wanted; at least 84.

    Returns
    -------
    dilations : tuple of (int, int) pairs
        Each dilation and its number of biases.

    Examples
    --------
    >>> from sklrnn._module import kernel_dilations
    >>> kernel_dilations(24, 840)
    ((1, 6), (2, 4))
    """
    per_kernel = max(1, n_features_out // len(_PATTERNS))
    n = min(_MAX_DILATIONS, per_kernel)
    top = math.log2(max((n_timesteps - 1) / (_KERNEL_LENGTH - 1), 1.0))
    dilations = np.floor(2.0 ** np.linspace(0.0, top, n)).astype(int)
    biases = np.full(n, per_kernel // n)
    biases[: per_kernel % n] += 1
    unique = np.unique(dilations)
    return tuple((int(d), int(biases[dilations == d].sum())) for d in unique)


def _channels_and_pattern(weight):
    """The channels each kernel of ``weight`` (kernels, channels, 9) reads, and its pattern.

    Returns a boolean (kernels, channels) and the (kernels, 9) weights that
    each kernel puts on every channel it reads.
    """
    selected = weight[:, :, 0] != 0  # pattern values are -1 and 2, never 0
    kernels = torch.arange(len(weight), device=weight.device)
    return selected, weight[kernels, selected.to(torch.int8).argmax(dim=1)]


def _quantiles(values, counts, q):
    """Quantiles ``q`` (rows, k) of the first ``counts`` of each row of ``values``.

    ``values`` is of shape (rows, n), -inf past each row's count.

    ``torch.quantile``'s linear interpolation, to the bit, for every row at
    once: one call per row cost 0.2 to 0.3 s of a fit on 200 series (22
    dilations of 84 kernels).
    """
    ordered = values.sort(dim=1).values  # the -inf first: row i's own from n - counts[i]
    first = (values.shape[1] - counts)[:, None]
    ranks = q * (counts - 1).to(q)[:, None]
    below = ranks.long()
    low = ordered.gather(1, first + below)
    high = ordered.gather(1, first + ranks.ceil().long())
    return low.lerp(high, ranks - below)


class RandomKernels(nn.Module):
    """Fixed random dilated convolutions, read by their proportion of positive values.

    For each dilation, each of the 84 kernels convolves a random subset of
    the channels (zero padding keeps the length), and each of its biases
    gives one feature: the fraction of the valid steps where the output
    exceeds the bias (MiniRocket's features, Dempster et al., 2021). The
    biases are quantiles of the outputs on random training sequences
    (:meth:`fit`), and the features are standardized with their training
    mean and standard deviation. Nothing is learned by gradient: the weights
    are buffers. Padding never reaches a feature: it enters the
    convolutions as the zeros of their own padding, and only valid steps
    are counted.

    Parameters
    ----------
    n_features : int
        Channels of the input.
    dilations : tuple of (int, int) pairs
        Dilations and their numbers of biases, from :func:`kernel_dilations`.
    stride : int, default=1
        The outputs are read at every ``stride``-th step: long sequences
        cost as much as sequences of ``ceil(n_timesteps / stride)`` steps.

    Examples
    --------
    >>> import torch
    >>> from sklrnn._module import RandomKernels, kernel_dilations
    >>> kernels = RandomKernels(2, kernel_dilations(30, 840))
    >>> X, lengths = torch.randn(5, 30, 2), torch.tensor([30, 20, 30, 9, 30])
    >>> features = kernels.fit(X, lengths, seed=0)  # the training sequences' features
    >>> kernels(X, lengths).shape
    torch.Size([5, 840])
    """

    def __init__(self, n_features, dilations, stride=1):
        super().__init__()
        self.dilations = tuple((int(d), int(q)) for d, q in dilations)
        self.stride = int(stride)
        self.n_features_out = len(_PATTERNS) * sum(q for _, q in self.dilations)
        shape = (len(self.dilations), len(_PATTERNS), n_features, _KERNEL_LENGTH)
        self.register_buffer("weight", torch.zeros(shape, dtype=torch.float32))
        self.register_buffer("bias", torch.zeros(self.n_features_out, dtype=torch.float32))
        self.register_buffer("feature_mean", torch.zeros(self.n_features_out, dtype=torch.float32))
        self.register_buffer("feature_scale", torch.ones(self.n_features_out, dtype=torch.float32))

    def forward(self, X, lengths):
        """Standardized features of (batch, steps, channels) ``X``, zero past each length.

        Returns a tensor of shape (batch, n_features_out).
        """
        return (self._proportions(X, lengths) - self.feature_mean) / self.feature_scale

    def _convolve(self, x, index, transpose=False, length=None, out=None):
        """The kernels at dilation ``index`` on (batch, channels, steps) ``x``,
        at the steps read: (batch, 84, steps read), in float64; or, with
        ``transpose``, the transposed convolution back to (batch, channels,
        ``length``). ``out``, a float64 tensor of the result's shape or None,
        receives the result (a buffer reused from one dilation to the next).

        The weights are -1 and 2, so that float64 holds the sums of float32
        inputs exactly (unless their magnitudes differ by more than about 2**20):
        the outputs, and so their comparisons with the biases, are the same
        in any order of summation, here and in an exported model. The
        convolution is a product of the weights with the shifted inputs
        (:meth:`_windows`): ONNX Runtime has no float64 convolution, and
        torch's took twice as long (it zero-fills and gathers its own copy of
        them). With many channels (at least 9 per step of the stride),
        outside export, each kernel's pattern runs on the sum of its channels
        (the same exact sums), where the product multiplies every channel,
        most of them by 0 (:meth:`_convolve_sums`).
        """
        dilation = self.dilations[index][0]
        weight = self.weight[index].to(torch.float64)
        if transpose:
            # The steps after the last one read, which the stride skips.
            extra = length - (x.shape[2] - 1) * self.stride - 1
            options = {"stride": self.stride, "padding": 4 * dilation, "dilation": dilation}
            return nn.functional.conv_transpose1d(x, weight, output_padding=extra, **options)
        if x.shape[1] >= max(_SUMMED_CHANNELS, 9 * self.stride) and not _is_exporting():
            return self._convolve_sums(x.to(torch.float64), weight, dilation, out)
        return torch.matmul(weight.flatten(1), self._windows(x, dilation), out=out)

    def _taps(self, x, dilation):
        """Tap ``j``'s view of (batch, channels, steps) ``x`` for a kernel at ``dilation``.

        Returns a dict from each tap's index (0 to 8, the centre 4) to ``x``
        shifted by it, zero-padded at both ends, at the steps read. A tap
        shifted by ``steps`` or more reads only padding and is left out: no
        slice of padding as long as the shift (a file's dilation can be
        2**31 - 1, hundreds of terabytes). Export keeps every tap: its steps
        are symbolic.
        """
        steps, exporting = x.shape[2], _is_exporting()
        pad = 4 * dilation if exporting else min(4 * dilation, steps)
        padded = nn.functional.pad(x, (pad, pad))
        shifts = {j: (j - _KERNEL_LENGTH // 2) * dilation for j in range(_KERNEL_LENGTH)}
        return {
            j: padded[:, :, pad + s : pad + s + steps : self.stride]
            for j, s in shifts.items()
            if exporting or abs(s) < steps
        }

    def _windows(self, x, dilation):
        """What each of the 9 taps of a kernel at ``dilation`` reads of ``x``.

        ``x`` is of shape (batch, channels, steps).

        Returns the float64 tensor of shape (batch, channels * 9, steps
        read): the input shifted by each tap, zero-padded at both ends
        (zeros for a tap that reads only padding).
        """
        x = x.to(torch.float64)
        taps = self._taps(x, dilation)
        # Zeros only where a tap was left out: every dilation of every pass
        # comes here, and most read the sequence with all 9 taps.
        zeros = None if len(taps) == _KERNEL_LENGTH else torch.zeros_like(x[:, :, :: self.stride])
        windows = [taps.get(j, zeros) for j in range(_KERNEL_LENGTH)]
        return torch.stack(windows, dim=2).flatten(1, 2)

    def _convolve_sums(self, x, weight, dilation, out=None):
        """:meth:`_convolve` of float64 (batch, channels, steps) ``x`` as sums of channels.

        A kernel's weights are one pattern on each channel it reads and 0 on
        the others, so its output is the pattern convolved with the sum of
        its channels: one matrix product for every kernel's sum, then the
        shifted, weighted copies of the sums at the steps read (into ``out``)
        for the taps that read the sequence (:meth:`_taps`).
        """
        selected, pattern = _channels_and_pattern(weight)
        taps = self._taps(torch.matmul(selected.to(x), x), dilation)
        centre = _KERNEL_LENGTH // 2  # always within the sequence: the first term
        out = torch.mul(taps.pop(centre), pattern[:, centre : centre + 1], out=out)
        for j, window in taps.items():
            out.addcmul_(window, pattern[:, j : j + 1])
        return out

    def _dilations(self):
        """Each dilation's index and the slice of ``bias`` (and of the features) it owns."""
        start = 0
        for index, (_, n_biases) in enumerate(self.dilations):
            stop = start + len(_PATTERNS) * n_biases
            yield index, slice(start, stop)
            start = stop

    def _outputs(self, x, index, lengths, out=None):
        """:meth:`_convolve` (into ``out``), -inf past each of the ``lengths`` of the steps read."""
        out = self._convolve(x, index, out=out)
        if not _is_exporting() and int(lengths.min()) == out.shape[2]:
            return out  # no padding (as in a table): the fill would cost a pass
        return out.masked_fill_(~_valid_mask(lengths, out.shape[2], out.device), float("-inf"))

    @torch.no_grad()
    def path_attributions(self, low, high, lengths, grad):
        """Attributions of the change of the features along a straight path segment.

        Along a straight path, each kernel output moves linearly, and each
        comparison with a bias flips at most once. The flips between the
        segment's ends ``low`` and ``high`` change the features by steps;
        each flip, weighted by ``grad`` (the gradient of the explained score
        with respect to the standardized features), is shared out among the
        input values of its convolution window in proportion to their part
        of the output's change: the limit of integrated gradients on smooth
        approximations of the comparisons. The attributions sum to the
        flips' weighted sum.

        Parameters
        ----------
        low, high : Tensor of shape (batch, n_timesteps, n_features)
            The segment's ends, as the kernels read them: standardized, zero
            past each length.
        lengths : Tensor of shape (batch,)
            Lengths of the sequences.
        grad : Tensor of shape (batch, n_features_out)
            Gradient of the explained score with respect to the features.

        Returns
        -------
        Tensor of shape (batch, n_timesteps, n_features)
        """
        low, high = low.transpose(1, 2), high.transpose(1, 2)
        read = _downsampled(lengths, self.stride)
        # The gradient with respect to the proportions of positive values.
        grad = grad / self.feature_scale / read.to(grad)[:, None]
        shares = torch.zeros_like(low)
        for index, part in self._dilations():
            out_low, out_high = self._convolve(low, index), self._convolve(high, index)
            bias = self.bias[part].view(len(_PATTERNS), -1)
            weight = grad[:, part].view(len(grad), *bias.shape)
            flips = sum(
                ((out_high > bias[:, j, None]).to(low) - (out_low > bias[:, j, None]).to(low))
                * weight[:, :, j, None]
                for j in range(bias.shape[1])
            )
            flips = flips * _valid_mask(read, flips.shape[2], flips.device)
            change = out_high - out_low  # not 0 where a comparison flips
            ratio = torch.where(change != 0, flips / change, 0.0)
            shares += self._convolve(ratio, index, transpose=True, length=low.shape[2])
        return ((high - low) * shares).transpose(1, 2)

    def _proportions(self, X, lengths):
        """Proportions of positive values of (batch, steps, channels) ``X``, in passes.

        On the CPU a few sequences at a time: a pass compares outputs of
        shape (sequences, 84, steps read) in float64 with every bias, and
        runs fastest while they stay small enough for the cache. About
        8,192 sequence-steps per pass (4 to 64 sequences) took 1.9 to 2.0 ms
        per series of 427 steps (OSULeaf), against 2.2 to 2.4 ms in passes
        of 16,384 and 2.3 ms in passes of 2,048, one thread
        (``benchmarks/README.md``). On a GPU, passes of 256 sequences bound
        the memory. Each sequence's count is exact, so the passes change no
        value.
        """
        per_pass = 256
        if X.device.type == "cpu":
            steps = -(-X.shape[1] // self.stride)
            per_pass = max(4, min(64, _CPU_PASS_STEPS // steps))
        # Export first: len() would fix the exported graph's batch size.
        if _is_exporting() or len(X) <= per_pass:
            return self._count(X, lengths)
        # Each pass reads the steps of its own longest sequence only: one
        # long sequence among short ones does not widen every pass.
        parts = []
        for i in range(0, len(X), per_pass):
            part = lengths[i : i + per_pass]
            parts.append(self._count(X[i : i + per_pass, : int(part.max())], part))
        return torch.cat(parts)

    def _count(self, X, lengths):
        x = X.transpose(1, 2).to(torch.float64)
        lengths = _downsampled(lengths, self.stride)
        features, out, above = [], None, None
        for index, part in self._dilations():
            # `out` and `above`, of shape (batch, 84, steps read), are the
            # previous dilation's, reused: fresh tensors of a few MB each time
            # page-faulted (a third of the time of the subtractions below).
            out = self._outputs(x, index, lengths, out)
            bias = self.bias[part].view(len(_PATTERNS), -1)
            # Each output against each bias. The sign of the difference is the
            # comparison (two float64 values differ exactly where their
            # difference is not 0), and takes half the time of torch's
            # comparison to bool. A few sequences (one to serve) take every
            # bias at once, in three calls instead of three per bias (one
            # series of 24 steps: 0.3 against 0.9 ms); a pass, bias by bias in
            # the cache, 2 to 4 times as fast as every bias at once, and 3 to
            # 10 times as counting ranks from torch.searchsorted.
            if not _is_exporting() and out.numel() * bias.shape[1] <= _ONE_SUBTRACTION:
                above_all = (out[:, :, None] - bias[:, :, None]).gt_(0)
                features.append(above_all.sum(dim=3).flatten(1))
                continue
            counts = []
            for j in range(bias.shape[1]):
                above = torch.sub(out, bias[:, j, None], out=above).gt_(0)
                counts.append(above.sum(dim=2))
            features.append(torch.stack(counts, dim=2).flatten(1))
        return torch.cat(features, dim=1).to(X) / lengths.to(X)[:, None]

    @torch.no_grad()
    def fit(self, X, lengths, seed):
        """Draw the channels and biases from training sequences, then the features' statistics.

        Parameters
        ----------
        X : Tensor of shape (n_samples, n_timesteps, n_features)
            Standardized training sequences, zero past each length.
        lengths : Tensor of shape (n_samples,)
            Their lengths.
        seed : int
            Seed of the draws.

        Returns
        -------
        Tensor of shape (n_samples, n_features_out)
            The standardized features of ``X``, as :meth:`forward` computes them.
        """
        rng = np.random.RandomState(seed)
        n_samples, _, n_channels = X.shape
        n_kernels = len(_PATTERNS)
        patterns = _PATTERNS.to(self.weight)
        # Each kernel reads 1 to min(n_channels, 9) channels, fewer more often.
        most = math.log2(min(n_channels, _KERNEL_LENGTH) + 1)
        for index, part in self._dilations():
            sizes = np.floor(2.0 ** rng.uniform(0, most, n_kernels)).astype(int)
            mask = torch.zeros(n_kernels, n_channels)
            for k, size in enumerate(np.minimum(sizes, n_channels)):
                mask[k, rng.choice(n_channels, size=size, replace=False)] = 1.0
            self.weight[index] = patterns[:, None, :] * mask.to(self.weight)[:, :, None]
            # Each kernel's biases: quantiles of its outputs on one random sequence.
            rows = torch.as_tensor(rng.randint(n_samples, size=n_kernels))
            read = _downsampled(lengths[rows], self.stride)
            # Kernel k on sequence rows[k] alone, not every kernel on every
            # row: its pattern on the sum of the channels it reads.
            selected, pattern = _channels_and_pattern(self.weight[index].to(torch.float64))
            sums = selected.to(pattern)[:, None] @ X[rows].transpose(1, 2).to(pattern)
            out = pattern[:, None] @ self._windows(sums, self.dilations[index][0])
            out = out.masked_fill(~_valid_mask(read, out.shape[2], out.device), float("-inf"))[:, 0]
            ranks = torch.arange(part.start, part.stop).view(n_kernels, -1)
            quantiles = torch.remainder((ranks + 1).float() * _GOLDEN, 1.0).to(out)
            self.bias[part] = _quantiles(out, read, quantiles).flatten()
        proportions = self._proportions(X, lengths)
        scale = proportions.double().std(dim=0, correction=0)
        self.feature_mean.copy_(proportions.double().mean(dim=0))
        self.feature_scale.copy_(torch.where(scale > 1e-12, scale, 1.0))
        return (proportions - self.feature_mean) / self.feature_scale


def _check_batch(X, lengths, mean):
    """Refuse an ``X`` or ``lengths`` that torch would fail on without naming it."""
    n_features, dtype = len(mean), mean.dtype
    if not (torch.is_tensor(X) and X.dtype == dtype):
        got = X.dtype if torch.is_tensor(X) else f"a {type(X).__name__}"
        raise TypeError(
            f"X must be a {dtype} tensor, as the module's weights are, got {got}: pass "
            f"torch.as_tensor(X, dtype={dtype})."
        )
    if X.dim() != 3 or X.shape[2] != n_features:
        raise ValueError(
            f"X must be of shape (batch, n_timesteps, {n_features}), got {tuple(X.shape)}."
        )
    # int64 or int32, which gather takes as indices (uint8 and int16 failed there).
    integer = torch.is_tensor(lengths) and lengths.dtype in (torch.int64, torch.int32)
    if not (integer and lengths.shape == X.shape[:1]):
        got = (
            f"{lengths.dtype} of shape {tuple(lengths.shape)}"
            if torch.is_tensor(lengths)
            else f"a {type(lengths).__name__}"
        )
        raise (ValueError if integer else TypeError)(
            f"lengths must be an int64 (or int32) tensor of shape ({X.shape[0]},), one "
            f"length per sequence of X, got {got}: e.g. torch.as_tensor(lengths, "
            "dtype=torch.int64)."
        )
    if not len(X):  # torch's aminmax failed on it
        raise ValueError("X holds no sequences: a batch needs at least one.")


def _check_kernel_features(features, batch, width, like):
    """Refuse ``kernel_features`` that are not what :meth:`RNNModule.kernel_features` returns."""
    if not (torch.is_tensor(features) and features.dtype == like.dtype):
        got = features.dtype if torch.is_tensor(features) else f"a {type(features).__name__}"
        raise TypeError(f"kernel_features must be a {like.dtype} tensor, got {got}.")
    if tuple(features.shape) != (batch, width):
        raise ValueError(
            f"kernel_features must be of shape ({batch}, {width}), what the module's "
            f"kernel_features(X, lengths) returns for X, got {tuple(features.shape)}"
            + (": the module has no random kernels, pass None." if width == 0 else ".")
        )


class RNNModule(nn.Module):
    """Convolutional front end, recurrent layers, a sequence readout and a linear head.

    The input is standardized with fixed per-feature statistics (buffers set by
    the estimator), turned by ``ConvFrontEnd`` into a shorter sequence of
    local-shape features, run through stacked recurrent layers so that padding
    never reaches a valid step (by one computation, the same for every batch,
    in training, prediction and export; see :meth:`_recurrent` for ReLU layers
    under gradients; a program of ``torch.export`` predicts only: its
    recurrent layers have no gradient), summarized over the valid steps of
    each sequence, and mapped to ``n_outputs`` values. The head reads the
    recurrent summary joined with the mean of the front end's features over
    the valid steps, as LSTM-FCN joins its recurrent and convolutional
    branches, and, with ``kernel_dilations``, the features of
    ``RandomKernels`` before both. :meth:`embed` returns what the head reads,
    :meth:`recurrent_states` the recurrent outputs step by step.

    Parameters
    ----------
    n_features : int
        Number of features per time step.
    n_outputs : int
        Size of the output: number of classes or of regression targets.
    cell_type : {"rnn", "rnn_relu", "lstm", "gru"}, default="lstm"
        Recurrent cell: Elman with tanh or ReLU, LSTM or GRU.
    hidden_size : int, default=64
        Size of the hidden state of each layer and direction.
    num_layers : int, default=1
        Number of stacked recurrent layers.
    bidirectional : bool, default=True
        Whether each layer also reads the sequence backwards.
    dropout : float, default=0.2
        Dropout between stacked layers and before the head (not on the
        random kernels' features).
    readout : {"mean_last", "last", "mean", "max", "attention"}, default="mean_last"
        How the per-step outputs become one vector per sequence: the state at
        the last valid step (and, when bidirectional, the backward state at
        the first step), the mean or the max over valid steps, an
        attention-weighted mean over valid steps, or ``"mean_last"``, the mean
        joined with the last states.
    conv_channels : int, default=64
        Channels of the convolutional front end; 0 feeds the standardized
        input to the recurrent layers directly.
    strides : tuple of 3 ints, default=(1, 1, 1)
        Striding of the front end, from ``front_end_strides``.
    kernel_sizes : tuple of odd ints, default=(15,)
        Kernel sizes of the front end's first block, from
        ``front_end_kernels``.
    standardize : bool, default=True
        Whether the input is standardized with the statistics of
        :meth:`set_standardization`; when False the input goes in as it is.
    readout_dropout : float, default=0.8
        Dropout on the recurrent readout alone, before it joins the front
        end's features (as on the recurrent branch of LSTM-FCN).
    kernel_dilations : tuple of (int, int) pairs, default=()
        Dilations and numbers of biases of ``RandomKernels``, from
        ``kernel_dilations``, whose features the head also reads; empty
        for none. They read every ``strides[0]``-th step. Their channels
        and biases are drawn by :meth:`fit_kernels`.

    Notes
    -----
    The recurrent layers ``rnn`` (an ``nn.LSTM``, ``nn.GRU`` or ``nn.RNN``)
    hold the parameters, in torch's layout, but :meth:`forward` reads them
    itself rather than calling the layers, and without gradients it applies
    ``head`` in float64 from its weight: hooks on ``rnn`` never run (nor on
    ``head`` then), and tools that replace or wrap a layer's forward or
    its parameters (dynamic quantization, ``torch.nn.utils.prune``,
    ``weight_norm``) do not act on them. Second derivatives, and
    ``torch.func``'s ``grad``, ``vjp`` and ``jacrev``, through GRU and Elman
    layers on the CPU are refused (their backward pass is hand-written);
    ``torch.func.vmap`` and forward-mode derivatives (``jvp``) run through no
    cell type (torch's own messages).

    Examples
    --------
    >>> import torch
    >>> from sklrnn._module import RNNModule
    >>> module = RNNModule(n_features=3, n_outputs=2, cell_type="gru")
    >>> X = torch.zeros(4, 10, 3)
    >>> lengths = torch.tensor([10, 7, 3, 1])
    >>> module(X, lengths).shape
    torch.Size([4, 2])
    >>> module.eval().embed(X, lengths).shape  # 64 channel means, 2 x 2 x 64 recurrent
    torch.Size([4, 320])
    """

    def __init__(
        self,
        n_features,
        n_outputs,
        cell_type="lstm",
        hidden_size=64,
        num_layers=1,
        bidirectional=True,
        dropout=0.2,
        readout="mean_last",
        conv_channels=64,
        strides=(1, 1, 1),
        kernel_sizes=(15,),
        standardize=True,
        readout_dropout=0.8,
        kernel_dilations=(),
    ):
        super().__init__()
        if cell_type not in CELL_TYPES:
            raise ValueError(f"cell_type must be one of {CELL_TYPES}, got {cell_type!r}.")
        if readout not in READOUTS:
            raise ValueError(f"readout must be one of {READOUTS}, got {readout!r}.")
        # The estimators pass checked values; the module is public, so that
        # torch never meets a size it would fail on with no word of which.
        n_features, n_outputs = _count("n_features", n_features), _count("n_outputs", n_outputs)
        hidden_size, num_layers = (
            _count("hidden_size", hidden_size),
            _count("num_layers", num_layers),
        )
        conv_channels = _count("conv_channels", conv_channels, minimum=0)
        strides = tuple(_count("strides", s) for s in _sequence("strides", strides, length=3))
        kernel_sizes = tuple(
            _count("kernel_sizes", k) for k in _sequence("kernel_sizes", kernel_sizes)
        )
        if any(k % 2 == 0 for k in kernel_sizes):  # centred in the widest, step for step
            raise ValueError(f"kernel_sizes must be odd, got {kernel_sizes!r}.")
        for name, flag in (("bidirectional", bidirectional), ("standardize", standardize)):
            if not isinstance(flag, bool | np.bool_):  # "False" would switch it on
                raise TypeError(f"{name} must be a bool, got {flag!r}.")
        if not isinstance(kernel_dilations, tuple | list):  # None: "not iterable"
            raise ValueError(
                "kernel_dilations must be a tuple of (dilation, number of biases) pairs, "
                f"empty for no random kernels, got {kernel_dilations!r}."
            )
        kernel_dilations = tuple(
            (_count("kernel_dilations", d), _count("kernel_dilations", n))
            for d, n in (_sequence("kernel_dilations", p, length=2) for p in kernel_dilations)
        )
        for name, p in (("dropout", dropout), ("readout_dropout", readout_dropout)):
            if isinstance(p, bool) or not (isinstance(p, Real) and 0 <= p < 1):
                raise ValueError(f"{name} must be a number in [0, 1), got {p!r}.")
        rnn_class = {"rnn": nn.RNN, "rnn_relu": nn.RNN, "lstm": nn.LSTM, "gru": nn.GRU}
        extra = {"nonlinearity": "relu"} if cell_type == "rnn_relu" else {}
        self.cell_type = cell_type
        self.readout = readout
        self.standardize = bool(standardize)
        self.front_end = None
        if conv_channels:
            self.front_end = ConvFrontEnd(n_features, conv_channels, strides, kernel_sizes)
        self.rnn = rnn_class[cell_type](
            conv_channels or n_features,
            hidden_size,
            num_layers=num_layers,
            batch_first=True,
            dropout=dropout if num_layers > 1 else 0.0,
            bidirectional=bidirectional,
            dtype=torch.float32,
            **extra,
        )
        width = hidden_size * (2 if bidirectional else 1)
        self.attention = (
            nn.Linear(width, 1, dtype=torch.float32) if readout == "attention" else None
        )
        self.dropout = nn.Dropout(dropout)
        self.readout_dropout = nn.Dropout(readout_dropout)
        # Width of the recurrent readout, the last features the head reads.
        self.readout_width = width * (2 if readout == "mean_last" else 1)
        self.kernels = None
        if kernel_dilations:
            # The kernels read the steps the front end's first convolution reads.
            self.kernels = RandomKernels(n_features, kernel_dilations, strides[0])
        # Width of the random kernels' features, the first features the head reads.
        self.kernel_width = self.kernels.n_features_out if self.kernels is not None else 0
        self.head = nn.Linear(
            self.kernel_width + conv_channels + self.readout_width, n_outputs, dtype=torch.float32
        )
        self.register_buffer("input_mean", torch.zeros(n_features, dtype=torch.float32))
        self.register_buffer("input_scale", torch.ones(n_features, dtype=torch.float32))
        # Every layer float32 whatever torch's default dtype
        # (torch.set_default_dtype), drawn as float32: the data, the
        # arithmetic and the saved files are float32, and a seed gives the
        # same network under any default.
        self._reset_recurrent_weights()

    def _reset_recurrent_weights(self):
        # Orthogonal recurrent matrices keep gradients from vanishing or
        # exploding early in training; a forget-gate bias of 1 lets an LSTM
        # remember by default (Jozefowicz et al., 2015).
        gates = {"lstm": 4, "gru": 3}.get(self.cell_type, 1)
        for name, param in self.rnn.named_parameters():
            if name.startswith("weight_hh"):
                for chunk in param.data.chunk(gates, dim=0):
                    nn.init.orthogonal_(chunk)
            elif name.startswith("weight_ih"):
                nn.init.xavier_uniform_(param.data)
            elif name.startswith("bias"):
                param.data.zero_()
                if self.cell_type == "lstm" and name.startswith("bias_ih"):
                    size = param.shape[0] // 4
                    param.data[size : 2 * size] = 1.0

    # -- cuDNN weight layout ----------------------------------------------
    # On CUDA each layer and direction runs as its own cuDNN call, which
    # uses the weights in place only when they fill one buffer in cuDNN's
    # layout from its start; otherwise every call copies them, and torch
    # warns that they are "not part of single contiguous chunk of memory".
    # nn.RNN lays out one buffer for the whole stack (in which only the
    # first layer's forward direction starts the buffer), and an unpickled
    # module has none at all: give each layer and direction its own buffer
    # after every move to a device and after unpickling.

    def _apply(self, fn, *args, **kwargs):
        module = super()._apply(fn, *args, **kwargs)
        _flatten_per_direction(self.rnn)
        return module

    def __setstate__(self, state):
        super().__setstate__(state)
        _flatten_per_direction(self.rnn)

    def set_standardization(self, mean, scale):
        """Set the per-feature input statistics.

        Parameters
        ----------
        mean : array-like of shape (n_features,)
            Subtracted from each feature before the network.
        scale : array-like of shape (n_features,)
            Divides each feature after the mean is subtracted.
        """
        statistics = {"mean": mean, "scale": scale}
        for name, given in statistics.items():
            expected = f"{name} must be {len(self.input_mean)} finite numbers, one per feature"
            try:  # read in float64 first: values beyond float32 are named as given
                values = torch.as_tensor(given, dtype=torch.float64)
            except (TypeError, ValueError, RuntimeError, OverflowError):  # text, None, 10**400
                raise TypeError(f"{expected}, got {reprlib.repr(given)}.") from None
            if values.shape != self.input_mean.shape or not bool(torch.isfinite(values).all()):
                raise ValueError(f"{expected}, got {values.tolist()}.")
            cast = values.to(self.input_mean.dtype)
            if not bool(torch.isfinite(cast).all()):
                raise ValueError(f"{expected} within float32's range, got {values.tolist()}.")
            if name == "scale" and not bool((values > 0).all()):
                raise ValueError(f"scale must be positive, got {values.tolist()}.")
            if name == "scale" and not bool((cast > 0).all()):  # 1e-46: 0 in float32
                raise ValueError(
                    f"scale must be positive in float32 (at least 1.4e-45), got {values.tolist()}."
                )
            statistics[name] = cast
        mean, scale = statistics["mean"], statistics["scale"]
        with torch.no_grad():  # values, not a part of the caller's graph
            self.input_mean.copy_(mean)
            self.input_scale.copy_(scale)

    def forward(self, X, lengths, kernel_features=None):
        """Map padded sequences to outputs.

        Parameters
        ----------
        X : Tensor of shape (batch, n_timesteps, n_features)
            Sequences, of the module's dtype (float32); values past each
            sequence's length are ignored (NaN, as :func:`~sklrnn.pad_sequences`
            writes, included, but for a graph of ``torch.export``, which
            skips the check: zero it there).
        lengths : Tensor of shape (batch,), int64 (or int32), on the CPU
            True length of each sequence, between 1 and n_timesteps.
        kernel_features : Tensor of shape (batch, n_kernel_features), default=None
            What :meth:`kernel_features` returns for ``X``, computed once
            for many epochs (the kernels are fixed); None computes it.

        Returns
        -------
        Tensor of shape (batch, n_outputs)

        Raises
        ------
        TypeError
            If ``X`` (or ``kernel_features``) is not a tensor of the module's
            dtype, or ``lengths`` not an int64 or int32 tensor.
        ValueError
            If their shapes disagree with each other or with ``n_features``,
            ``X`` holds no sequences, a length lies outside 1 to
            n_timesteps, or ``kernel_features`` is not of shape
            (batch, n_kernel_features).
        """
        parts = self._summaries(X, lengths, kernel_features)
        # The random kernels' features skip dropout: over their thousands of
        # columns it cost a quarter of a small fit's time, and the head that reads
        # them is solved in closed form after training.
        kernels = [parts.pop(0)] if self.kernels is not None else []
        *front, recurrent = parts
        recurrent = _dropout(self.readout_dropout, recurrent)
        joined = torch.cat([*front, recurrent], dim=1) if front else recurrent
        parts = [*kernels, _dropout(self.dropout, joined)]
        return self._head(torch.cat(parts, dim=1) if kernels else parts[0])

    def _head(self, h):
        """The head's outputs for the features ``h`` it reads.

        Without gradients (prediction, export) the product runs in float64,
        rounded to ``h``'s dtype once: a float32 product rounds a row by the
        kernel that the batch's shape and the row's place in it select (up
        to 1e-7 apart over a few hundred features), and a prediction should
        not depend on the other sequences that share its batch. In float64
        the rows' differences lie far below float32's rounding.
        """
        if torch.is_grad_enabled():
            return self.head(h)
        weight, bias = self.head.weight.double(), self.head.bias.double()
        return nn.functional.linear(h.double(), weight, bias).to(h.dtype)

    def fit_kernels(self, X, lengths, seed):
        """Draw the random kernels' channels and biases from training sequences.

        Parameters
        ----------
        X : Tensor of shape (n_samples, n_timesteps, n_features)
            Training sequences, zero past each length.
        lengths : Tensor of shape (n_samples,), int64
            Their lengths.
        seed : int
            Seed of the draws, between 0 and 2**32 - 1.

        Returns
        -------
        Tensor of shape (n_samples, n_kernel_features)
            :meth:`kernel_features` of ``X``.
        """
        if isinstance(seed, bool) or not isinstance(seed, Integral):
            raise TypeError(f"seed must be an int, got {type(seed).__name__}: {seed!r}.")
        if not 0 <= seed < 2**32:
            raise ValueError(f"seed must lie between 0 and 2**32 - 1, got {seed}.")
        if self.kernels is None:
            return X.new_zeros(len(X), 0)
        return self.kernels.fit(self._kernel_input(X, lengths), lengths, seed)

    def kernel_features(self, X, lengths):
        """The random kernels' standardized features of padded sequences.

        Parameters
        ----------
        X : Tensor of shape (batch, n_timesteps, n_features)
            Sequences, as for :meth:`forward`.
        lengths : Tensor of shape (batch,)
            Their lengths, as for :meth:`forward`.

        Returns
        -------
        Tensor of shape (batch, n_kernel_features)
            Empty (width 0) without random kernels.
        """
        if self.kernels is None:
            return X.new_zeros(len(X), 0)
        # Counts of positive outputs: steps of X, of gradient 0 where they
        # have one; detached, as the kernels' out= products need (an X that
        # requires a gradient, a saliency map's, failed inside torch).
        return self.kernels(self._kernel_input(X, lengths).detach(), lengths)

    def kernel_path_attributions(self, low, high, lengths, grad):
        """``RandomKernels.path_attributions`` of a path segment in input units.

        Parameters
        ----------
        low, high : Tensor of shape (batch, n_timesteps, n_features)
            The segment's ends, as for :meth:`forward`.
        lengths : Tensor of shape (batch,)
            Lengths of the sequences.
        grad : Tensor of shape (batch, n_kernel_features)
            Gradient of the explained score with respect to the kernels' features.

        Returns
        -------
        Tensor of shape (batch, steps, n_features)
            ``steps`` is the longest of ``lengths``; zeros without random
            kernels (whose features are then empty).
        """
        if self.kernels is None:
            return low.new_zeros(len(low), int(lengths.max()), low.shape[2])
        low, high = self._kernel_input(low, lengths), self._kernel_input(high, lengths)
        return self.kernels.path_attributions(low, high, lengths, grad)

    def _kernel_input(self, X, lengths):
        """Standardized ``X``, zero past each length: the kernels' zero padding."""
        X = self._standardized(X, lengths)
        return X * _valid_mask(lengths, X.shape[1], X.device).transpose(1, 2)

    def embed(self, X, lengths, kernel_features=None):
        """Map padded sequences to the vectors the head reads (before dropout).

        In evaluation mode (``eval()``) as prediction computes them; in
        training mode batch normalization uses the batch's own statistics.

        Parameters
        ----------
        X : Tensor of shape (batch, n_timesteps, n_features)
            Sequences, as for :meth:`forward`.
        lengths : Tensor of shape (batch,)
            Their lengths, as for :meth:`forward`.
        kernel_features : Tensor of shape (batch, n_kernel_features), default=None
            Their random kernels' features, as for :meth:`forward`.

        Returns
        -------
        Tensor of shape (batch, embedding_size)
            The random kernels' features divided by the square root of their
            number (absent without them), the mean of the front end's
            features over each sequence's valid steps
            (absent with ``conv_channels=0``) and the readout of the
            recurrent outputs, side by side.
        """
        return torch.cat(self._summaries(X, lengths, kernel_features), dim=1)

    def mean_and_variance(self, X, lengths):
        """Outputs and their variance over the dropout masks before the head.

        The head is linear, so the mean over the masks of dropout (feature
        ``j`` kept with probability ``q_j`` and then scaled by ``1 / q_j``)
        is the evaluation output, and the variance of output ``k`` is
        ``sum_j (1 - q_j) / q_j * (W_kj h_j)^2``: the exact result of
        infinitely many Monte Carlo dropout passes, from one pass. The front
        end's means are kept with probability ``1 - dropout``, the recurrent
        readout's features with ``(1 - readout_dropout) * (1 - dropout)``.
        Dropout between stacked recurrent layers is not included. Call it in
        evaluation mode (``eval()``), as ``predict(return_std=True)`` does:
        in training mode batch normalization uses the batch's statistics.

        Parameters
        ----------
        X : Tensor of shape (batch, n_timesteps, n_features)
            Sequences, as for :meth:`forward`.
        lengths : Tensor of shape (batch,)
            Their lengths, as for :meth:`forward`.

        Returns
        -------
        Tensor of shape (batch, n_outputs, 2), float64
            The outputs, then their variance, in the last dimension.
        """
        h = self.embed(X, lengths)
        keep = self.keep_probabilities().double()
        # In float64: the squares of features beyond 1.8e19 overflow float32,
        # where the outputs do not.
        squares = h.double() ** 2 * ((1 - keep) / keep)
        variance = squares @ (self.head.weight.double() ** 2).T
        return torch.stack([self._head(h).double(), variance], dim=-1)

    def keep_probabilities(self):
        """The probability that training's dropout keeps each feature the head reads.

        Returns
        -------
        Tensor of shape (embedding_size,)
            1 for the random kernels' features, which skip dropout;
            ``1 - dropout`` for the front end's means; ``(1 - readout_dropout)
            * (1 - dropout)`` for the recurrent readout's features.

        Examples
        --------
        >>> from sklrnn._module import RNNModule
        >>> module = RNNModule(n_features=3, n_outputs=2, dropout=0.2, readout_dropout=0.5)
        >>> keep = module.keep_probabilities()  # 64 channel means, 256 readout features
        >>> round(keep[0].item(), 6), round(keep[-1].item(), 6)
        (0.8, 0.4)
        """
        # The head's dtype, also for an int dropout (0): an int64 tensor
        # refused the product below.
        keep = torch.full(
            (self.embedding_size,),
            1 - self.dropout.p,
            dtype=self.head.weight.dtype,
            device=self.head.weight.device,
        )
        keep[: self.kernel_width] = 1.0
        keep[self.embedding_size - self.readout_width :] *= 1 - self.readout_dropout.p
        return keep

    def recurrent_states(self, X, lengths):
        """Map padded sequences to the last recurrent layer's outputs at every step.

        Parameters
        ----------
        X : Tensor of shape (batch, n_timesteps, n_features)
            Sequences, as for :meth:`forward`.
        lengths : Tensor of shape (batch,), int64, on the CPU
            True length of each sequence.

        Returns
        -------
        Tensor of shape (batch, n_steps, width)
            ``n_steps`` is the number of front-end steps of the longest
            sequence of the batch; steps past each sequence's end are zero.
            ``width`` is ``hidden_size``, twice that when bidirectional, the
            two directions side by side.
        """
        return self._features(X, lengths)[1]

    @property
    def embedding_size(self):
        """Width of the vector that :meth:`embed` returns for each sequence."""
        return self.head.in_features

    @property
    def step_factor(self):
        """Input steps per recurrent step: the product of the front end's strides."""
        return math.prod(self.front_end.strides) if self.front_end is not None else 1

    def _features(self, X, lengths, zero_padding=True):
        """The front end's features, per-step recurrent outputs, final states and lengths.

        Without a front end, the first is the standardized input. With
        ``zero_padding=False`` the recurrent outputs past each end are left
        as the layers computed them (see :meth:`_recurrent`).
        """
        X = self._standardized(X, lengths)
        if self.front_end is not None:
            X, lengths = self.front_end(X, lengths)
        out, last = self._recurrent(X, lengths, zero_padding)
        return X, out, last, lengths

    def _standardized(self, X, lengths):
        """``X`` without the steps past the longest sequence, standardized."""
        if not _is_exporting():
            _check_batch(X, lengths, self.input_mean)
            shortest, longest = (int(value) for value in torch.aminmax(lengths))
            if shortest < 1 or longest > X.shape[1]:
                raise ValueError(
                    f"lengths must lie between 1 and the {X.shape[1]} steps of X, "
                    f"got {shortest} to {longest}."
                )
            # Steps past the longest sequence hold only padding: drop them.
            if longest < X.shape[1]:
                X = X[:, :longest]
            # Padding set to 0: layers mask it by a product, and 0 * NaN (the
            # NaN that pad_sequences writes) is NaN, in outputs and gradients.
            if shortest < X.shape[1]:
                X = X.masked_fill(~_valid_mask(lengths, X.shape[1], X.device).mT, 0.0)
        if self.standardize:
            X = (X - self.input_mean) / self.input_scale
        return X

    def _summaries(self, X, lengths, kernel_features=None):
        """What the head reads, in its order: the random kernels' features
        (with random kernels), the front end's features averaged over the
        valid steps (with a front end), and the readout of the recurrent
        outputs.

        The average is the global average pooling of fully convolutional
        networks, and joining it with the recurrent summary is LSTM-FCN's
        structure: it leaves the head features that do not depend on where
        a shape occurs.
        """
        # "last" reads valid steps only, and "max" masks the padding itself:
        # neither needs the padding zeroed, a product as large as the
        # outputs, forward and backward.
        zero_padding = self.readout not in ("last", "max")
        parts = []
        if kernel_features is not None and not _is_exporting():
            _check_kernel_features(kernel_features, len(X), self.kernel_width, self.input_mean)
        if self.kernels is not None:
            if kernel_features is None:
                kernel_features = self.kernel_features(X, lengths)
            # Divided by the square root of their number, so that the head's
            # weights on them are of the size of its others: Adam moves each
            # weight by about lr a step, which scrambled the closed-form
            # head's weights on the unscaled features (mean 0.002) when
            # partial_fit trained on after fit, and outpaced the network's
            # own learning in fit (docs/choosing_hyperparameters.rst).
            parts.append(kernel_features * self.kernel_width**-0.5)
        front, out, last, steps = self._features(X, lengths, zero_padding)
        if self.front_end is not None:
            # The front end's features are zero past each end.
            parts.append(_valid_mean(front, steps))
        return [*parts, self._readout(out, last, steps)]

    def _recurrent(self, X, lengths, zero_padding=True):
        """Per-step outputs (zero past each end) and final states of the recurrent layers.

        Each layer and direction runs as one call over the whole padded time
        axis, with the weights of ``self.rnn`` (whose parameters are the
        module's; its own ``forward`` is not used). Padding follows the valid
        steps, so it never reaches a valid step of the forward direction, and
        the backward direction reads each sequence reversed within its own
        length. This one computation serves training, prediction and export:
        nothing depends on the values of ``lengths`` but the data, so
        torch.export can capture it (packing cannot be), and every step runs
        on every sequence of the batch, so that a sequence's result does not
        depend on the lengths of the others (a packed batch shrinks step by
        step, which changes the rounding of its matrix products). In
        training, dropout acts between stacked layers, as nn.RNN's does. One
        exception: with gradients enabled (training, attributions), ``rnn_relu``
        layers outside the engine run packed over a padded batch, whose
        results then differ from the padded run's by rounding only.

        The final states are those of the last layer: the forward direction's
        at each sequence's last valid step, joined, when bidirectional, with
        the backward direction's at its first step. They and the outputs at
        valid steps are the same with ``zero_padding=False``, which leaves
        the outputs past each end as the layers computed them.

        A batch without padding (every sequence as long as the batch, as
        fixed-length arrays give) needs no mask and no reversal within
        lengths, and its final states are the layers' own, whose gradient
        skips the per-step outputs. Export always takes the general path.
        """
        rnn = self.rnn
        padded = _is_exporting() or int(lengths.min()) < X.shape[1]
        lengths = lengths.to(X.device)
        valid = None
        # The mask of valid steps, built only for what reads it: the backward
        # direction, zeroing the padding, and the engine (GRU and Elman).
        if padded and (rnn.bidirectional or zero_padding) or self.cell_type in ENGINE_CELLS:
            steps = torch.arange(X.shape[1], device=X.device)
            valid = steps[None, :] < lengths[:, None]
        if padded and rnn.bidirectional:
            # Position of each step in its sequence reversed within its length;
            # padding steps stay where they are. The permutation is its own inverse.
            reverse = torch.where(valid, lengths[:, None] - 1 - steps[None, :], steps)

        def reversed_(x):
            return _gather_steps(x, reverse) if padded else x.flip(1)

        # ReLU states grow without bound over padding where the recurrent
        # weights expand: torch's layer overflows there, and its backward pass
        # multiplies the padding's zero gradients by inf, NaN weight gradients
        # (the engine keeps the state over padding). With gradients, such a
        # batch runs packed; without (prediction, export) the padded run stays,
        # whose outputs past each end are dropped, so that no sequence's result
        # depends on the others' lengths.
        packed = None
        if (
            padded
            and self.cell_type == "rnn_relu"
            and torch.is_grad_enabled()
            and not _is_exporting()
        ):
            packed = lengths.cpu()
        out = X
        for layer in range(rnn.num_layers):
            if layer > 0:
                out = nn.functional.dropout(out, rnn.dropout, self.training)
            inputs = [out, reversed_(out)] if rnn.bidirectional else [out]
            outputs, finals = self._layer(inputs, valid, layer, packed)
            if rnn.bidirectional:
                outputs[1] = reversed_(outputs[1])
            out = torch.cat(outputs, dim=2) if rnn.bidirectional else outputs[0]
        if not padded:
            size = rnn.hidden_size
            if finals is None:  # the outputs at each direction's last step
                finals = [out[:, -1, :size], out[:, 0, size:]]
            return out, torch.cat(finals, dim=1) if rnn.bidirectional else finals[0]
        if zero_padding and self.cell_type == "rnn_relu":
            # ReLU states are unbounded and may overflow over a long padding
            # (outside the engine, which keeps them): inf * 0 would be NaN.
            out = torch.where(valid[..., None], out, 0.0)
        elif zero_padding:
            # tanh and sigmoid keep every state finite, so the cheaper product
            # zeroes the padding as exactly as where does.
            out = out * valid[..., None]
        last = _gather_steps(out, (lengths - 1)[:, None])[:, 0]
        if rnn.bidirectional:
            size = rnn.hidden_size
            last = torch.cat([last[:, :size], out[:, 0, size:]], dim=1)
        return out, last

    def _layer(self, inputs, valid, layer, packed=None):
        """Outputs and final states of each direction of a layer, ``inputs`` one per direction.

        The final states are None where the layer does not give them (the
        engine and export).

        On the CPU, GRU and Elman layers of moderate width run all their
        directions as one computation (:mod:`sklrnn._engine`), faster than
        torch's step-by-step loop for them; LSTM keeps torch's fused kernel,
        and CUDA cuDNN's. In export, each direction is the operator that the
        ONNX export maps to ONNX's own recurrent operators. ``packed``, the
        lengths of the sequences or None, runs torch's layers packed.
        """
        names = ("weight_ih", "weight_hh", "bias_ih", "bias_hh")
        suffixes = ("", "_reverse")[: len(inputs)]
        params = [[getattr(self.rnn, f"{n}_l{layer}{s}") for n in names] for s in suffixes]
        exporting = _is_exporting()
        if not exporting and use_engine(self.cell_type, inputs[0], self.rnn.hidden_size):
            stacked = [torch.stack(p) for p in zip(*params, strict=True)]
            out = recurrent_streams(torch.stack(inputs), valid, *stacked, self.cell_type)
            return list(out.unbind(0)), None
        pairs = zip(inputs, params, strict=True)
        if exporting:
            return [_exported_layer(x, *p, self.cell_type) for x, p in pairs], None
        runs = [_run_layer(x, *p, self.cell_type, packed) for x, p in pairs]
        return [out for out, _ in runs], [final for _, final in runs]

    def _readout(self, out, last, lengths):
        if self.readout == "last":
            return last
        if self.readout in ("mean_last", "mean"):
            # Outputs are zero past each end.
            mean = _valid_mean(out, lengths)
            return torch.cat([mean, last], dim=1) if self.readout == "mean_last" else mean
        mask = _valid_mask(lengths, out.shape[1], out.device)[:, 0]
        if self.readout == "max":
            return out.masked_fill(~mask[..., None], float("-inf")).max(dim=1).values
        scores = self.attention(out).squeeze(-1).masked_fill(~mask, float("-inf"))
        weights = torch.softmax(scores, dim=1)
        return torch.bmm(weights[:, None, :], out).squeeze(1)


class RNNEnsemble(nn.Module):
    """Independent :class:`RNNModule` networks whose predictions are averaged.

    The networks share nothing but their input: each has its own random
    initialization and, in training, its own output and loss, so that one
    optimizer trains them as separate models (a deep ensemble, Lakshminarayanan
    et al., 2017).

    Parameters
    ----------
    n_networks : int
        Number of networks.
    average : {"probabilities", "outputs"}, default="outputs"
        How evaluation combines the networks: ``"probabilities"`` returns the
        log of the mean of their softmax probabilities (classification);
        ``"outputs"`` returns the mean of their outputs (regression).
    **params
        Parameters of each :class:`RNNModule`.

    Examples
    --------
    >>> import torch
    >>> from sklrnn._module import RNNEnsemble
    >>> ensemble = RNNEnsemble(3, average="probabilities", n_features=2, n_outputs=4)
    >>> X, lengths = torch.zeros(5, 7, 2), torch.full((5,), 7)
    >>> ensemble(X, lengths).shape  # training: one output per network
    torch.Size([5, 4, 3])
    >>> log_proba = ensemble.eval()(X, lengths)  # evaluation: the averaged probabilities
    >>> torch.allclose(log_proba.exp().sum(dim=1), torch.ones(5))
    True
    """

    def __init__(self, n_networks, average="outputs", **params):
        super().__init__()
        if average not in ("probabilities", "outputs"):
            raise ValueError(f"average must be 'probabilities' or 'outputs', got {average!r}.")
        self.average = average
        self.networks = nn.ModuleList(RNNModule(**params) for _ in range(int(n_networks)))

    def set_standardization(self, mean, scale):
        """Set the per-feature input statistics of every network."""
        for network in self.networks:
            network.set_standardization(mean, scale)

    def forward(self, X, lengths, kernel_features=None):
        """Map padded sequences to outputs.

        Parameters
        ----------
        X, lengths, kernel_features
            As for :meth:`RNNModule.forward`; ``kernel_features`` holds
            the networks' side by side, as :meth:`kernel_features` returns them.

        Returns
        -------
        Tensor of shape (batch, n_outputs, n_networks) in training mode, each
        network's outputs; of shape (batch, n_outputs) in evaluation mode,
        the combined outputs.
        """
        if kernel_features is None:
            kernel_features = [None] * len(self.networks)
        else:
            widths = [net.kernel_width for net in self.networks]
            if not _is_exporting():
                _check_kernel_features(
                    kernel_features, len(X), sum(widths), self.networks[0].input_mean
                )
            kernel_features = kernel_features.split(widths, dim=1)
        outputs = torch.stack(
            [net(X, lengths, k) for net, k in zip(self.networks, kernel_features, strict=True)],
            dim=-1,
        )
        if self.training:
            return outputs
        if self.average == "outputs":
            return outputs.mean(dim=-1)
        log_proba = torch.log_softmax(outputs, dim=1)
        return torch.logsumexp(log_proba, dim=-1) - math.log(len(self.networks))

    def fit_kernels(self, X, lengths, seed):
        """Draw each network's random kernels (:meth:`RNNModule.fit_kernels`), with its own seed.

        Returns the networks' features of ``X``, network 0 first, as
        :meth:`kernel_features`.
        """
        features = [net.fit_kernels(X, lengths, seed + i) for i, net in enumerate(self.networks)]
        return torch.cat(features, dim=1)

    def kernel_features(self, X, lengths):
        """The networks' :meth:`RNNModule.kernel_features`, network 0 first."""
        return torch.cat([network.kernel_features(X, lengths) for network in self.networks], 1)

    def embed(self, X, lengths):
        """Concatenate the networks' :meth:`RNNModule.embed` vectors, network 0 first.

        Parameters
        ----------
        X, lengths
            As for :meth:`RNNModule.forward`.

        Returns
        -------
        Tensor of shape (batch, embedding_size)
            The vectors the networks' heads read, side by side.
        """
        return torch.cat([network.embed(X, lengths) for network in self.networks], dim=1)

    def recurrent_states(self, X, lengths):
        """Concatenate the networks' :meth:`RNNModule.recurrent_states`, network 0 first.

        Parameters
        ----------
        X, lengths
            As for :meth:`RNNModule.forward`.

        Returns
        -------
        Tensor of shape (batch, n_steps, n_networks * width)
            The networks' per-step outputs, side by side on the last axis.
        """
        states = [network.recurrent_states(X, lengths) for network in self.networks]
        return torch.cat(states, dim=2)

    @property
    def embedding_size(self):
        """Width of the vector that :meth:`embed` returns for each sequence."""
        return sum(network.embedding_size for network in self.networks)

    @property
    def step_factor(self):
        """Input steps per recurrent step, the same for every network."""
        return self.networks[0].step_factor

    def mean_and_variance(self, X, lengths):
        """Mean output of the networks and the variance of their mixture.

        The predictive distribution is an equal mixture of the networks, each
        with its dropout before the head, so its variance is the spread of
        the networks' outputs plus their mean dropout variance (law of total
        variance). For ``average="outputs"`` (regression) only.

        Parameters
        ----------
        X, lengths
            As for :meth:`RNNModule.forward`.

        Returns
        -------
        Tensor of shape (batch, n_outputs, 2), float64
            The mean output, then the variance, in the last dimension.
        """
        if self.average != "outputs":
            raise ValueError("mean_and_variance needs average='outputs'.")
        pairs = torch.stack([net.mean_and_variance(X, lengths) for net in self.networks], dim=-1)
        outputs, dropout = pairs[..., 0, :], pairs[..., 1, :]
        # The networks' float32 outputs averaged as forward averages them.
        mean = outputs.float().mean(dim=-1).double()
        variance = outputs.var(dim=-1, correction=0) + dropout.mean(dim=-1)
        return torch.stack([mean, variance], dim=-1)


def networks_of(module):
    """The :class:`RNNModule` networks of ``module``: an ensemble's, or itself."""
    return list(module.networks) if isinstance(module, RNNEnsemble) else [module]
