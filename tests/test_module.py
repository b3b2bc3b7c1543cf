"""The torch module: front end strides, masked batch norm, padding, train and eval paths."""

import contextlib
import copy
import itertools

import numpy as np
import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

import sklrnn._module
from sklrnn._module import (
    ConvFrontEnd,
    MaskedBatchNorm1d,
    MultiKernelConv1d,
    RandomKernels,
    RNNEnsemble,
    RNNModule,
    _max_pool,
    _quantiles,
    _valid_mask,
    front_end_kernels,
    front_end_strides,
    kernel_dilations,
)

CELL_TYPES = ["rnn", "rnn_relu", "lstm", "gru"]


def _ceil_div(a, b):
    return -(-a // b)


@contextlib.contextmanager
def _as_if_exporting():
    """Run the module's code as torch.export traces it. Not the monkeypatch
    fixture: hypothesis tests cannot take function-scoped fixtures."""
    original = sklrnn._module._is_exporting
    sklrnn._module._is_exporting = lambda: True
    try:
        yield
    finally:
        sklrnn._module._is_exporting = original


def _ragged_batch(lengths, n_features=3, seed=0, padded_to=None):
    """A float batch whose steps past each length hold large garbage, not zeros."""
    gen = torch.Generator().manual_seed(seed)
    X = torch.randn(len(lengths), max(lengths), n_features, generator=gen)
    if padded_to is not None:
        X = torch.cat([X, torch.zeros(len(lengths), padded_to - X.shape[1], n_features)], 1)
    for i, n in enumerate(lengths):
        X[i, n:] = 1e3
    return X, torch.tensor(lengths)


# -- front_end_strides --------------------------------------------------------------


def test_front_end_strides_bound_the_steps_without_wasting_them():
    for n in itertools.chain(range(1, 2000), range(2000, 50_000, 997)):
        stride, pool1, pool2 = front_end_strides(n, 32)
        convolved = _ceil_div(n, stride)
        recurrent = _ceil_div(_ceil_div(convolved, pool1), pool2)
        assert convolved <= 512, n  # the convolutions' work is bounded
        assert recurrent <= 32, n  # and so is the recurrent layers'
        # Short sequences are left alone; longer ones keep over half the budget.
        assert recurrent == n if n <= 32 else recurrent > 16, n
        assert stride == 1 or n > 512, n


@pytest.mark.parametrize("channels", [1, 3, 64])
def test_front_end_kernels_fit_the_strided_sequence(channels):
    for n in itertools.chain(range(1, 600), range(600, 20_000, 499)):
        stride = front_end_strides(n, 8)[0]
        kernels = front_end_kernels(n, stride, channels)
        assert kernels[0] == 15 and list(kernels) == sorted(set(kernels)), n
        assert set(kernels) <= {15, 31, 63} and len(kernels) <= channels, n
        # Every size but the smallest fits in the strided sequence; each size
        # that fits is used while there are channels for it.
        steps = _ceil_div(n, stride)
        assert all(k <= steps for k in kernels[1:]), n
        fitting = [k for k in (15, 31, 63) if k <= steps]
        assert len(kernels) == max(1, min(len(fitting), channels)), n


def test_a_front_end_reads_many_channels_through_a_bottleneck():
    # The first block's wide kernels read at most as many channels as they
    # write: a default fit on 256 channels took 70 s without it, 37 s with.
    narrow = ConvFrontEnd(8, 8, strides=(1, 2, 2), kernel_sizes=(15, 31))
    assert isinstance(narrow.convs[0], MultiKernelConv1d)
    wide = ConvFrontEnd(9, 8, strides=(1, 2, 2), kernel_sizes=(15, 31))
    bottleneck, first = wide.convs[0]
    assert (bottleneck.in_channels, bottleneck.out_channels) == (9, 8)
    assert bottleneck.kernel_size == (1,) and bottleneck.bias is None
    assert [branch.in_channels for branch in first.branches] == [8, 8]


def test_multi_kernel_convolution_shares_channels_and_sees_each_width():
    conv = MultiKernelConv1d(2, 10, (15, 31, 63), stride=1)
    assert [b.out_channels for b in conv.branches] == [4, 3, 3]
    # An impulse in the middle of 200 steps reaches, in each branch's
    # channels, exactly the steps within half that branch's kernel of it.
    x = torch.zeros(1, 2, 200)
    x[0, :, 100] = 1.0
    with torch.no_grad():
        for branch in conv.branches:
            branch.weight.fill_(1.0)
        out = conv(x)
    assert out.shape == (1, 10, 200)
    for channels, k in ((range(0, 4), 15), (range(4, 7), 31), (range(7, 10), 63)):
        reached = out[0, list(channels)].abs().sum(0) > 0
        assert reached.nonzero().flatten().tolist() == list(range(100 - k // 2, 101 + k // 2))
    with pytest.raises(ValueError, match="from 1 to out_channels=2 sizes"):
        MultiKernelConv1d(2, 2, (15, 31, 63))


@pytest.mark.parametrize("stride, steps", [(1, 70), (3, 70), (4, 9)])
def test_multi_kernel_convolution_is_its_branches_side_by_side(stride, steps):
    # It runs one convolution of the branches' weights centred in the widest
    # kernel: the outputs and weight gradients of each branch run alone.
    torch.manual_seed(0)
    conv = MultiKernelConv1d(3, 8, (15, 31, 63), stride=stride)
    x = torch.randn(4, 3, steps)
    out = conv(x)
    reference = torch.cat([branch(x) for branch in conv.branches], dim=1)
    torch.testing.assert_close(out, reference)
    grad = torch.randn_like(out)
    weights = [branch.weight for branch in conv.branches]
    ours = torch.autograd.grad(out, weights, grad)
    theirs = torch.autograd.grad(reference, weights, grad)
    for a, b in zip(ours, theirs, strict=True):
        torch.testing.assert_close(a, b)


@given(steps=st.integers(1, 40), pool=st.integers(2, 9), seed=st.integers(0, 2**16))
def test_max_pool_gives_the_same_values_in_export(steps, pool, seed):
    # Eager code pools with max_pool1d, export with a reshape and amax over
    # windows completed with zeros: followed by ReLU, as in the front end,
    # the two agree to the bit, also on a short last window of negative
    # values and on ties at 0.
    gen = torch.Generator().manual_seed(seed)
    x = torch.randn(2, 3, steps, generator=gen)
    x[0, 0] = torch.relu(x[0, 0])  # ties at 0
    eager = _max_pool(x, pool)
    assert eager.shape == (2, 3, _ceil_div(steps, pool))
    with _as_if_exporting():
        exported = _max_pool(x, pool)
    assert torch.equal(torch.relu(eager), torch.relu(exported))


# -- MaskedBatchNorm1d --------------------------------------------------------------


def test_masked_batch_norm_statistics_ignore_padding():
    torch.manual_seed(0)
    x = torch.randn(4, 3, 10) * 2 + 5
    lengths = torch.tensor([10, 7, 3, 1])
    mask = (torch.arange(10)[None, :] < lengths[:, None])[:, None]
    x = torch.where(mask, x, torch.full_like(x, 1e4))  # padding far off the data
    masked = MaskedBatchNorm1d(3, momentum=0.5).train()
    out = masked(x, mask)
    # The same as plain batch norm over the valid steps only, joined into one row.
    valid = torch.cat([x[i, :, :n] for i, n in enumerate(lengths.tolist())], dim=1)
    plain = torch.nn.BatchNorm1d(3, momentum=0.5).train()
    expected = plain(valid[None])[0]
    got = torch.cat([out[i, :, :n] for i, n in enumerate(lengths.tolist())], dim=1)
    torch.testing.assert_close(got, expected)
    torch.testing.assert_close(masked.running_mean, plain.running_mean)
    torch.testing.assert_close(masked.running_var, plain.running_var)
    assert masked.num_batches_tracked == 1
    # Evaluation uses the running statistics, as BatchNorm1d does.
    masked.eval(), plain.eval()
    torch.testing.assert_close(masked(valid[None], None), plain(valid[None]))


# -- the front end and the recurrent paths ------------------------------------------


@pytest.mark.parametrize(
    "n_features, kernel_sizes",
    [(3, (15,)), (3, (15, 31, 63)), (9, (15, 31, 63))],  # 9: through the bottleneck
)
def test_front_end_lengths_follow_strides_and_padding_never_reaches_valid_steps(
    n_features, kernel_sizes
):
    torch.manual_seed(0)
    front_end = ConvFrontEnd(n_features, 4, strides=(2, 3, 2), kernel_sizes=kernel_sizes).train()
    lengths = [40, 23, 7, 1]
    X, L = _ragged_batch(lengths, n_features)
    out, out_lengths = front_end(X, L)
    expected = [_ceil_div(_ceil_div(_ceil_div(n, 2), 3), 2) for n in lengths]
    assert out_lengths.tolist() == expected and out.shape == (4, expected[0], 4)
    # 200 more padding steps change nothing at the valid steps, in training
    # (batch statistics) as in evaluation, and padding comes out as zeros.
    for mode in (True, False):
        front_end.train(mode)
        a, _ = front_end(X, L)
        b, _ = front_end(*_ragged_batch(lengths, n_features, padded_to=240))
        for i, n in enumerate(expected):
            torch.testing.assert_close(b[i, :n], a[i, :n])
            assert not b[i, n:].any()


def test_front_end_without_padding_matches_the_masked_computation():
    # A batch of equal lengths skips the masks (plain batch normalization);
    # the same batch with padding after it takes the masked path. Both give
    # the same features and the same running statistics.
    torch.manual_seed(0)
    fast = ConvFrontEnd(3, 6, strides=(2, 3, 2), kernel_sizes=(15, 31)).train()
    masked = copy.deepcopy(fast)
    X, L = _ragged_batch([40, 40, 40, 40])
    Xp, _ = _ragged_batch([40, 40, 40, 40], padded_to=90)
    for _ in range(2):
        a, la = fast(X, L)
        b, lb = masked(Xp, L)
        assert la.tolist() == lb.tolist() == [4] * 4
        torch.testing.assert_close(b[:, :4], a)
        assert not b[:, 4:].any()
    for norm_a, norm_b in zip(fast.norms, masked.norms, strict=True):
        torch.testing.assert_close(norm_a.running_mean, norm_b.running_mean)
        torch.testing.assert_close(norm_a.running_var, norm_b.running_var)


@pytest.mark.parametrize("lengths", [[30, 30, 30, 30], [30, 17, 5, 1]])
def test_front_end_pools_before_relu_as_relu_before_pooling(lengths):
    # The front end pools first and applies ReLU to the pooled values: the
    # same outputs and gradients as each block's ReLU, mask and pooling in
    # that order, also where zeroed padding and negative values share a
    # window, and over the short last window of ceil mode.
    torch.manual_seed(0)
    front_end = ConvFrontEnd(2, 6, strides=(1, 4, 3), kernel_sizes=(15,)).train()
    X, L = _ragged_batch(lengths, 2)
    padded = min(lengths) < max(lengths)  # else no masks, as the front end skips them

    def relu_first(X, lengths):
        x = X.transpose(1, 2).contiguous()
        for conv, norm, pool in zip(front_end.convs, front_end.norms, (4, 3, 1), strict=True):
            mask = _valid_mask(lengths, x.shape[2], x.device) if padded else 1
            x = conv(x * mask)
            mask = _valid_mask(lengths, x.shape[2], x.device) if padded else None
            x = torch.relu(norm(x, mask))
            x = x * mask if padded else x
            if pool > 1:
                x = torch.nn.functional.max_pool1d(x, pool, ceil_mode=True)
                lengths = -(-lengths // pool)
        return x.transpose(1, 2), lengths

    outputs, grads = [], []
    for run in (front_end, relu_first):
        front_end.zero_grad()
        out, out_lengths = run(X, L)
        out.backward(torch.linspace(-1, 1, out.numel()).reshape(out.shape))
        outputs.append((out, out_lengths))
        grads.append([p.grad.clone() for p in front_end.parameters()])
    (ours, our_lengths), (reference, reference_lengths) = outputs
    assert torch.equal(ours, reference) and torch.equal(our_lengths, reference_lengths)
    for ours, reference in zip(*grads, strict=True):
        torch.testing.assert_close(ours, reference, rtol=0, atol=0)


def test_front_end_output_does_not_depend_on_the_input_layout():
    # One feature, with the strides of a C-ordered (n, steps) table or with
    # standard strides once transposed: the same layout reaches the
    # convolution, so that the results are equal bit for bit (batch
    # normalization with running statistics rounds differently by layout).
    torch.manual_seed(0)
    front_end = ConvFrontEnd(1, 4, strides=(1, 1, 2), kernel_sizes=(15,)).eval()
    with torch.no_grad():
        for norm in front_end.norms:
            norm.running_mean.normal_(), norm.running_var.uniform_(0.5, 2)
            norm.weight.normal_(), norm.bias.normal_()
    X = torch.randn(8, 16, 1)
    other = X.transpose(1, 2).clone(memory_format=torch.contiguous_format).transpose(1, 2)
    assert other.stride() != X.stride()
    lengths = torch.full((8,), 16)
    assert torch.equal(front_end(other, lengths)[0], front_end(X, lengths)[0])


def test_masked_batch_norm_takes_a_single_value_per_channel_in_training():
    # BatchNorm1d refuses one value per channel in training; the masked
    # statistics take it (the value is its own mean) without a mask.
    norm = MaskedBatchNorm1d(3).train()
    out = norm(torch.randn(1, 3, 1))
    torch.testing.assert_close(out, torch.zeros(1, 3, 1))
    assert norm.num_batches_tracked == 1


def _packed_reference(rnn, X, lengths):
    """What nn.RNN/LSTM/GRU computes on the packed batch: outputs and final states."""
    packed = pack_padded_sequence(X, lengths, batch_first=True, enforce_sorted=False)
    out, state = rnn(packed)
    out, _ = pad_packed_sequence(out, batch_first=True, total_length=X.shape[1])
    h = state[0] if isinstance(rnn, torch.nn.LSTM) else state
    return out, torch.cat([h[-2], h[-1]], dim=1) if rnn.bidirectional else h[-1]


@pytest.mark.parametrize(
    "cell_type, bidirectional, num_layers",
    [(c, True, 2) for c in CELL_TYPES] + [(c, False, 1) for c in CELL_TYPES],
)
def test_recurrent_layers_compute_what_torch_computes_on_packed_sequences(
    cell_type, bidirectional, num_layers
):
    # The module runs its layers over the padded batch, in training as in
    # evaluation; outputs, final states and gradients are those of torch's
    # own layer on the packed sequences, which never sees padding.
    torch.manual_seed(0)
    module = RNNModule(3, 2, cell_type, 5, num_layers, bidirectional, dropout=0.0, conv_channels=0)
    X, L = _ragged_batch([9, 4, 1, 7, 9])
    probe = torch.randn(X.shape[0], X.shape[1], module.rnn.hidden_size * (1 + bidirectional))
    results = []
    for run in (module._recurrent, lambda X, L: _packed_reference(module.rnn, X, L)):
        module.zero_grad()
        x = X.clone().requires_grad_()
        out, last = run(x, L)
        ((out * probe).sum() + last.sum()).backward()
        grads = [p.grad.clone() for p in module.rnn.parameters()]
        results.append((out.detach(), last.detach(), x.grad, *grads))
    for got, expected in zip(*results, strict=True):
        torch.testing.assert_close(got, expected, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("cell_type", CELL_TYPES)
@pytest.mark.parametrize("bidirectional", [False, True])
@pytest.mark.parametrize("readout", ["last", "max"])
def test_readouts_that_skip_zeroing_the_padding_match_it_bit_for_bit(
    cell_type, bidirectional, readout
):
    # "last" and "max" leave the recurrent outputs past each end as the layers
    # computed them; outputs and gradients are those of the zeroed outputs,
    # exactly. The padding holds large values, so any padding step that
    # reached the readout would show.
    torch.manual_seed(0)
    module = RNNModule(
        3,
        2,
        cell_type,
        5,
        1,
        bidirectional,
        dropout=0.0,
        readout=readout,
        conv_channels=0,
        readout_dropout=0.0,
    )
    X, L = _ragged_batch([9, 4, 1, 7, 9])
    results = []
    for zero_padding in (False, True):
        module.zero_grad()
        x = X.clone().requires_grad_()
        _, out, last, lengths = module._features(x, L, zero_padding)
        if zero_padding:
            assert (out[1, 4:] == 0).all()
        else:
            assert (out[1, 4:] != 0).any()  # the padding was not zeroed: not vacuous
        y = module.head(module._readout(out, last, lengths))
        if not zero_padding:
            assert torch.equal(y, module(x, L))  # forward takes this path
        (y * torch.arange(1.0, 3.0)).sum().backward()
        results.append([y.detach(), x.grad, *(p.grad for p in module.parameters())])
    for got, expected in zip(*results, strict=True):
        assert torch.equal(got, expected)


@pytest.mark.parametrize("cell_type", CELL_TYPES)
@pytest.mark.parametrize("bidirectional", [False, True])
@pytest.mark.parametrize("readout", ["mean_last", "last", "max"])
def test_a_batch_without_padding_computes_what_a_padded_batch_does(
    cell_type, bidirectional, readout
):
    # Sequences that fill every step of their batch take a path of their own
    # (no masks, each layer's own final state); beside a shorter sequence the
    # same sequences take the padded path. Outputs and gradients agree.
    torch.manual_seed(0)
    module = RNNModule(
        3,
        2,
        cell_type,
        5,
        num_layers=2,
        bidirectional=bidirectional,
        dropout=0.0,
        readout=readout,
        conv_channels=0,
        readout_dropout=0.0,
    )
    X, L = _ragged_batch([9, 9, 9, 4])
    results = []
    for rows in (3, 4):  # without padding, then with a padded fourth sequence
        module.zero_grad()
        x = X[:rows].clone().requires_grad_()
        y = module(x, L[:rows])[:3]
        (y * torch.arange(1.0, 3.0)).sum().backward()
        results.append([y.detach(), x.grad[:3], *(p.grad for p in module.parameters())])
    for got, expected in zip(*results, strict=True):
        torch.testing.assert_close(got, expected, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("cell_type", ["gru", "lstm", "rnn_relu"])
@pytest.mark.parametrize("conv_channels", [0, 4])
def test_nan_padding_is_ignored_in_outputs_and_gradients(cell_type, conv_channels):
    # pad_sequences pads with NaN: layers that mask padding by a product
    # (0 * NaN) gave NaN outputs, or NaN gradients for every weight.
    torch.manual_seed(0)
    module = RNNModule(3, 2, cell_type, 4, conv_channels=conv_channels)
    X, lengths = torch.randn(2, 6, 3), torch.tensor([6, 3])
    X[1, 3:] = 0.0
    padded = X.clone().requires_grad_()
    with torch.no_grad():
        padded[1, 3:] = float("nan")
    expected = module.eval()(X, lengths)
    torch.testing.assert_close(module(padded, lengths), expected, rtol=0, atol=0)
    module.train()(padded, lengths).sum().backward()
    assert all(torch.isfinite(p.grad).all() for p in module.parameters() if p.grad is not None)
    assert (padded.grad[1, 3:] == 0).all() and torch.isfinite(padded.grad).all()


def test_lengths_on_the_cpu_serve_a_module_on_another_device():
    # The padding mask compared X's device with the lengths' (on the CPU, as
    # forward takes them): torch's "Tensor on device cpu is not on the
    # expected device" on a GPU. The meta device refuses the mix alike.
    module = RNNModule(3, 2, conv_channels=4).to("meta").eval()
    out = module(torch.zeros(2, 6, 3, device="meta"), torch.tensor([6, 4]))
    assert out.shape == (2, 2) and out.device.type == "meta"


@pytest.mark.parametrize("lengths", [[5, 5, 7], [7, 7, 7], [0, 3, 5]])
def test_lengths_outside_the_time_axis_are_refused(lengths):
    # Lengths past the steps of X once took the path of batches without
    # padding and averaged over steps that do not exist.
    module = RNNModule(2, 2, "lstm", 4, readout="mean", conv_channels=0)
    with pytest.raises(ValueError, match=r"lengths must lie between 1 and the 5 steps of X"):
        module(torch.randn(3, 5, 2), torch.tensor(lengths))


@pytest.mark.parametrize(
    "X, lengths, error, message",
    [
        # numpy's default float64: torch's "expected scalar type Double but found Float"
        (torch.randn(3, 5, 2, dtype=torch.float64), torch.tensor([5, 4, 2]), TypeError,
         r"X must be a torch.float32 tensor.*got torch.float64: pass torch.as_tensor"),
        (np.zeros((3, 5, 2), dtype=np.float32), torch.tensor([5, 4, 2]), TypeError,
         "got a ndarray"),
        (torch.randn(3, 5, 4), torch.tensor([5, 4, 2]), ValueError,
         r"X must be of shape \(batch, n_timesteps, 2\), got \(3, 5, 4\)"),
        (torch.randn(5, 2), torch.tensor([5]), ValueError, r"got \(5, 2\)"),
        (torch.randn(3, 5, 2), [5, 4, 2], TypeError,
         r"lengths must be an int64 \(or int32\) tensor of shape \(3,\).*got a list"),
        # Integers gather cannot index with failed inside torch.
        (torch.randn(3, 5, 2), torch.tensor([5, 4, 2], dtype=torch.uint8), TypeError,
         "got torch.uint8"),
        # torch's "aminmax(): cannot compute aminmax over an empty dimension"
        (torch.randn(0, 5, 2), torch.zeros(0, dtype=torch.int64), ValueError,
         "X holds no sequences"),
        (torch.randn(3, 5, 2), torch.tensor([5.0, 4.0, 2.0]), TypeError, "got torch.float32"),
        (torch.randn(3, 5, 2), torch.tensor([5, 4]), ValueError,
         r"got torch.int64 of shape \(2,\)"),
    ],
)  # fmt: skip
def test_inputs_torch_would_fail_on_are_refused_by_name(X, lengths, error, message):
    module = RNNModule(2, 2, "gru", 4, kernel_dilations=((1, 1),))
    with pytest.raises(error, match=message):
        module(X, lengths)
    # The integer lengths of any width that the message allows.
    X = torch.randn(3, 5, 2)
    torch.testing.assert_close(
        module.eval()(X, torch.tensor([5, 4, 2], dtype=torch.int32)),
        module(X, torch.tensor([5, 4, 2])),
    )


def test_dropout_acts_between_stacked_layers_in_training_only():
    torch.manual_seed(0)
    module = RNNModule(3, 2, "gru", 5, num_layers=2, dropout=0.5, conv_channels=0)
    X, L = _ragged_batch([9, 4, 1, 7, 9])
    with torch.no_grad():
        train = [module._recurrent(X, L)[0] for _ in range(2)]
        module.eval()
        evaluation = [module._recurrent(X, L)[0] for _ in range(2)]
        module.rnn.dropout = 0.0
        plain = module._recurrent(X, L)[0]
    assert not torch.allclose(train[0], train[1])  # fresh masks every call
    torch.testing.assert_close(evaluation[0], plain)
    torch.testing.assert_close(evaluation[1], plain)


@pytest.mark.parametrize("cell_type", CELL_TYPES)
@pytest.mark.parametrize("readout", ["mean_last", "last", "mean", "max", "attention"])
def test_module_with_front_end_ignores_padding(cell_type, readout):
    torch.manual_seed(0)
    module = RNNModule(
        3,
        2,
        cell_type,
        hidden_size=5,
        readout=readout,
        dropout=0.0,
        readout_dropout=0.0,
        conv_channels=4,
        strides=(1, 2, 2),
    )
    lengths = [30, 17, 3, 1]
    X, L = _ragged_batch(lengths)
    X_long, _ = _ragged_batch(lengths, padded_to=90)
    for training in (True, False):  # batch statistics, then running ones
        module.train(training)
        with torch.no_grad():
            expected = module(X, L)
            torch.testing.assert_close(module(X_long, L), expected, rtol=1e-5, atol=1e-6)
        # The output depends on the sequence: the check above is not vacuous.
        assert (expected[0] - expected[1]).abs().max() > 1e-4
    # Alone, each sequence gives what it gives in the batch (evaluation).
    with torch.no_grad():
        alone = torch.cat([module(X[i : i + 1, :n], L[i : i + 1]) for i, n in enumerate(lengths)])
    torch.testing.assert_close(alone, expected, rtol=1e-5, atol=1e-6)


def test_head_reads_the_front_ends_mean_joined_with_the_recurrent_readout():
    # LSTM-FCN's join: the front end's features averaged over each sequence's
    # valid steps (global average pooling), then the recurrent readout.
    torch.manual_seed(0)
    module = RNNModule(3, 2, "gru", hidden_size=5, conv_channels=4, strides=(1, 2, 1)).eval()
    lengths = [11, 6, 1]
    X, L = _ragged_batch(lengths)
    with torch.no_grad():
        embedded = module.embed(X, L)
        assert embedded.shape == (3, 4 + 2 * 2 * 5)  # 4 channels; mean_last, 2 directions
        features, steps = module.front_end(X, L)
        for i, n in enumerate(steps.tolist()):
            expected = features[i, :n].mean(dim=0)
            torch.testing.assert_close(embedded[i, :4], expected, rtol=1e-5, atol=1e-6)
        assert embedded[:, :4].abs().max() > 0  # the features are not all zero
        out, last = module._recurrent(features, steps)
        torch.testing.assert_close(embedded[:, 4:], module._readout(out, last, steps))
        torch.testing.assert_close(module(X, L), module.head(embedded))


def test_readout_dropout_drops_only_the_recurrent_readout():
    torch.manual_seed(0)
    module = RNNModule(3, 2, "lstm", 5, dropout=0.0, readout_dropout=0.5, conv_channels=4)
    X, L = _ragged_batch([9, 4, 7, 2, 9, 5, 3, 8])
    inputs = []
    # What the head reads.
    module._head = lambda h: inputs.append(h) or RNNModule._head(module, h)
    module.train()  # batch statistics in both passes: only dropout differs
    with torch.no_grad():
        module(X, L)
        module.readout_dropout.p = 0.0
        module(X, L)
    dropped, full = inputs
    torch.testing.assert_close(dropped[:, :4], full[:, :4], rtol=0, atol=0)  # means pass
    recurrent, reference = dropped[:, 4:], full[:, 4:]
    kept = recurrent != 0
    assert 0.3 < kept.float().mean() < 0.7  # of 8 x 20 recurrent features
    # Survivors are scaled by 1 / (1 - 0.5).
    torch.testing.assert_close(recurrent[kept], 2 * reference[kept])


# -- RandomKernels -------------------------------------------------------------------


def _proportions_by_loops(kernels, X, lengths):
    """The kernels' proportions of positive values, step by step in float64."""
    rows = []
    for x, n in zip(X.double(), lengths.tolist(), strict=True):
        row = []
        start = 0
        for index, (dilation, n_biases) in enumerate(kernels.dilations):
            weight = kernels.weight[index].double()  # (84, channels, 9)
            read = range(0, n, kernels.stride)
            outputs = torch.zeros(84, len(read), dtype=torch.float64)
            for i, t in enumerate(read):
                for j in range(9):
                    s = t + (j - 4) * dilation
                    if 0 <= s < n:  # the zero padding of a sequence of length n
                        outputs[:, i] += weight[:, :, j] @ x[s]
            bias = kernels.bias[start : start + 84 * n_biases].view(84, n_biases).double()
            above = (outputs[:, None, :] > bias[:, :, None]).double().mean(dim=2)
            row.append(above.flatten())
            start += 84 * n_biases
        rows.append(torch.cat(row))
    return torch.stack(rows)


# 30 and 40 channels: each kernel's pattern on the sum of its channels.
# one_call: every bias in one comparison (small inputs), or bias by bias.
@pytest.mark.parametrize("one_call", [True, False])
@pytest.mark.parametrize("n_features, stride", [(1, 1), (3, 1), (2, 3), (30, 1), (40, 3)])
def test_random_kernels_count_what_a_direct_computation_counts(
    n_features, stride, one_call, monkeypatch
):
    monkeypatch.setattr(sklrnn._module, "_ONE_SUBTRACTION", 2**17 if one_call else 0)
    gen = torch.Generator().manual_seed(n_features)
    X = torch.randn(5, 31, n_features, generator=gen)
    lengths = torch.tensor([31, 20, 31, 7, 1])
    X[torch.arange(31)[None, :] >= lengths[:, None]] = 0.0
    kernels = RandomKernels(n_features, kernel_dilations(31, 336), stride)
    features = kernels.fit(X, lengths, seed=0)
    assert kernels.n_features_out == 336 and features.shape == (5, 336)
    torch.testing.assert_close(features, kernels(X, lengths))  # fit returns what forward does
    proportions = features * kernels.feature_scale + kernels.feature_mean
    torch.testing.assert_close(
        proportions.double(), _proportions_by_loops(kernels, X, lengths), rtol=0, atol=1e-6
    )
    # Each kernel reads 1 to 9 of the channels, with the weights -1 and 2.
    read = (kernels.weight != 0).any(dim=3).sum(dim=2)
    assert read.min() >= 1 and read.max() <= min(n_features, 9)
    assert set(kernels.weight.unique().tolist()) <= {-1.0, 0.0, 2.0}


@pytest.mark.parametrize("stride", [1, 2])
def test_random_kernels_draw_their_biases_from_valid_steps_only(stride):
    # One long sequence among short ones: a bias drawn as a quantile over the
    # padding as well (outputs of -inf there) was below every valid output,
    # and three quarters of the features were constant. The padding's length
    # must not change the draws.
    lengths = [40, 5, 5, 5, 5, 5]
    X, lengths = _ragged_batch(lengths, n_features=2, seed=1)
    X[torch.arange(40)[None, :] >= lengths[:, None]] = 0.0
    dilations = kernel_dilations(40, 840)
    kernels = RandomKernels(2, dilations, stride)
    features = kernels.fit(X, lengths, seed=0)
    longer = RandomKernels(2, dilations, stride)
    longer.fit(torch.cat([X, torch.zeros(6, 25, 2)], dim=1), lengths, seed=0)
    assert torch.equal(longer.bias, kernels.bias)
    assert torch.isfinite(kernels.bias).all()
    # Most features vary over the training sequences, and fit standardizes them.
    assert (kernels.feature_scale != 1).double().mean() > 0.5
    varying = kernels.feature_scale != 1
    torch.testing.assert_close(
        features.double().mean(dim=0), torch.zeros(840, dtype=torch.float64), rtol=0, atol=1e-5
    )
    torch.testing.assert_close(
        features[:, varying].double().std(dim=0, correction=0),
        torch.ones(int(varying.sum()), dtype=torch.float64),
        rtol=0,
        atol=1e-5,
    )


@pytest.mark.parametrize("average", ["probabilities", "outputs"])
def test_an_ensemble_averages_its_networks_probabilities_or_outputs(average):
    # Evaluation returns log(mean of the networks' softmax) for classifiers,
    # whose logsumexp is 0, and the mean output for regressors; training one
    # output per network.
    X, lengths = _ragged_batch([9, 4, 9, 7], n_features=2)
    X[torch.arange(9)[None, :] >= lengths[:, None]] = 0.0
    # No dropout: training's outputs are then as deterministic as evaluation's.
    ensemble = RNNEnsemble(
        3,
        average,
        n_features=2,
        n_outputs=4,
        hidden_size=4,
        conv_channels=4,
        dropout=0.0,
        readout_dropout=0.0,
    )
    with torch.no_grad():
        for training in (False, True):
            ensemble.train(training)
            each = torch.stack([network(X, lengths) for network in ensemble.networks], dim=-1)
            if training:
                expected = each
            elif average == "probabilities":
                expected = each.softmax(dim=1).mean(dim=-1).log()
            else:
                expected = each.mean(dim=-1)
            torch.testing.assert_close(ensemble(X, lengths), expected)


def test_each_network_of_an_ensemble_draws_its_own_kernels():
    X, lengths = _ragged_batch([20, 14, 9, 20], n_features=2)
    X[torch.arange(20)[None, :] >= lengths[:, None]] = 0.0
    ensemble = RNNEnsemble(
        2,
        n_features=2,
        n_outputs=1,
        hidden_size=4,
        conv_channels=4,
        kernel_dilations=kernel_dilations(20, 168),
    )
    features = ensemble.fit_kernels(X, lengths, seed=0)
    first, second = (network.kernels for network in ensemble.networks)
    assert not torch.equal(first.weight, second.weight)
    assert not torch.equal(features[:, :168], features[:, 168:])


def test_fit_kernels_refuses_a_seed_numpy_cannot_read():
    X, lengths = _ragged_batch([20, 14], n_features=2)
    module = RNNModule(2, 1, hidden_size=4, conv_channels=4, kernel_dilations=((1, 84),))
    with pytest.raises(TypeError, match="seed must be an int, got float: 1.5"):
        module.fit_kernels(X, lengths, seed=1.5)
    with pytest.raises(ValueError, match=r"seed must lie between 0 and 2\*\*32 - 1, got -1"):
        module.fit_kernels(X, lengths, seed=-1)
    features = module.fit_kernels(X, lengths, seed=np.int64(2**32 - 1))
    assert features.shape == (2, module.kernel_width)


def test_random_kernel_features_add_no_dropout_variance():
    # The kernels' features skip dropout in training, so they add nothing to
    # the predictive variance, whatever the dropout before the head.
    X, lengths = _ragged_batch([20, 14, 9, 20], n_features=2)
    X[torch.arange(20)[None, :] >= lengths[:, None]] = 0.0
    module = RNNModule(
        2,
        1,
        "gru",
        hidden_size=4,
        conv_channels=4,
        dropout=0.3,
        kernel_dilations=kernel_dilations(20, 168),
    )
    module.fit_kernels(X, lengths, seed=0)
    module.eval()
    keep = module.keep_probabilities()
    assert (keep[: module.kernel_width] == 1).all() and (keep[module.kernel_width :] < 1).all()
    with torch.no_grad():
        module.head.weight[:, module.kernel_width :] = 0.0
        variance = module.mean_and_variance(X, lengths)[..., 1]
    assert (variance == 0).all()


def test_kernel_dilations_span_the_sequence_and_share_the_biases():
    assert kernel_dilations(24, 840) == ((1, 6), (2, 4))
    dilations = kernel_dilations(2000, 10_000)
    assert len(dilations) <= 32 and dilations[0][0] == 1
    assert dilations[-1][0] * 8 <= 1999 < (dilations[-1][0] + 1) * 8 * 2
    assert 84 * sum(q for _, q in dilations) == 84 * (10_000 // 84)
    assert kernel_dilations(5, 84) == ((1, 1),)


@given(seed=st.integers(0, 2**16), extra=st.integers(1, 40), stride=st.integers(1, 3))
def test_random_kernels_ignore_padding_and_export_counts_the_same(seed, extra, stride):
    gen = torch.Generator().manual_seed(seed)
    X = torch.randn(4, 12, 2, generator=gen)
    lengths = torch.tensor([12, 9, 3, 1])
    X[torch.arange(12)[None, :] >= lengths[:, None]] = 0.0
    kernels = RandomKernels(2, kernel_dilations(12, 252), stride)
    kernels.fit(X, lengths, seed=seed)
    features = kernels(X, lengths)
    padded = torch.cat([X, torch.zeros(4, extra, 2)], dim=1)
    assert torch.equal(kernels(padded, lengths), features)
    alone = torch.cat(
        [kernels(X[i : i + 1, : int(n)], lengths[i : i + 1]) for i, n in enumerate(lengths)]
    )
    assert torch.equal(alone, features)
    with _as_if_exporting():
        exported = kernels(padded, lengths)
    assert torch.equal(exported, features)


@pytest.mark.parametrize("stride", [1, 2])
def test_random_kernels_on_sums_of_channels_give_the_dense_convolutions_outputs(stride):
    # With many channels (at least 9 per step of the stride) each kernel
    # runs on the sum of its channels; the dense convolution (and export's
    # product) multiplies every channel.
    gen = torch.Generator().manual_seed(stride)
    X = 100 * torch.randn(6, 40, 64, generator=gen)
    lengths = torch.tensor([40, 33, 40, 5, 1, 40])
    X[torch.arange(40)[None, :] >= lengths[:, None]] = 0.0
    kernels = RandomKernels(64, kernel_dilations(40, 840), stride)
    features = kernels.fit(X, lengths, seed=0)
    x = X.transpose(1, 2).double()
    for index, (dilation, _) in enumerate(kernels.dilations):
        dense = torch.nn.functional.conv1d(
            x,
            kernels.weight[index].double(),
            stride=stride,
            padding=4 * dilation,
            dilation=dilation,
        )
        assert torch.equal(kernels._convolve(X.transpose(1, 2), index), dense)
    with _as_if_exporting():
        assert torch.equal(kernels(X, lengths), features)


# 32 channels (at least 9 per step of the stride): the sums of channels; the
# others: the product.
@pytest.mark.parametrize("n_features, stride", [(1, 1), (3, 2), (32, 1), (32, 3)])
def test_random_kernels_with_dilations_beyond_the_sequence(n_features, stride):
    # Taps shifted by the sequence's length or more read only padding, which
    # neither path builds: a file's dilation of 2**31 - 1 asked for hundreds
    # of terabytes of zeros.
    X = torch.randn(3, 12, n_features, generator=torch.Generator().manual_seed(0))
    dilations = ((1, 1), (2, 1), (5, 1), (11, 1), (12, 1), (2**31 - 1, 1))
    kernels = RandomKernels(n_features, dilations, stride)
    kernels.fit(X, torch.full((3,), 12), seed=0)
    x = X.transpose(1, 2)
    for index, (dilation, _) in enumerate(kernels.dilations[:-1]):
        dense = torch.nn.functional.conv1d(
            x.double(),
            kernels.weight[index].double(),
            stride=stride,
            padding=4 * dilation,
            dilation=dilation,
        )
        assert torch.equal(kernels._convolve(x, index), dense)
    # Every shift but the centre's reads only padding.
    centre = torch.einsum("bct,kc->bkt", x.double(), kernels.weight[-1, :, :, 4].double())
    assert torch.equal(kernels._convolve(x, len(kernels.dilations) - 1), centre[..., ::stride])


@given(
    counts=st.lists(st.integers(1, 40), min_size=1, max_size=6),
    n_quantiles=st.integers(1, 5),
    seed=st.integers(0, 2**16),
)
def test_quantiles_of_rows_are_torch_quantile_to_the_bit(counts, n_quantiles, seed):
    # The random kernels' biases: the quantiles of each kernel's outputs on
    # its own sequence, all rows at once, with ties and padding (-inf).
    gen = torch.Generator().manual_seed(seed)
    values = torch.randint(-3, 4, (len(counts), 40), generator=gen).double()
    values += torch.randn(values.shape, generator=gen, dtype=torch.float64).round(decimals=1)
    counts = torch.tensor(counts)
    values[torch.arange(40)[None, :] >= counts[:, None]] = float("-inf")
    q = torch.rand(len(counts), n_quantiles, generator=gen, dtype=torch.float64)
    q[0, 0] = 1.0  # the largest value, and (below) the smallest
    q[-1, -1] = 0.0
    expected = torch.stack(
        [torch.quantile(v[:n], qs) for v, n, qs in zip(values, counts, q, strict=True)]
    )
    assert torch.equal(_quantiles(values, counts, q), expected)


def test_random_kernels_count_long_sequences_in_passes_that_change_nothing():
    # On the CPU the kernels run a few long sequences per pass (4 at 2,100
    # steps): the features of 11 sequences must be those of each alone, and
    # of the single pass an export runs. Each pass reuses its buffers from
    # one dilation to the next, and reads the steps of its longest sequence
    # only (the third: 700).
    gen = torch.Generator().manual_seed(0)
    X = torch.randn(11, 2100, 1, generator=gen)
    lengths = torch.tensor([2100, 1500, 2100, 30, 2100, 2099, 1, 2100, 700, 30, 77])
    X[torch.arange(2100)[None, :] >= lengths[:, None]] = 0.0
    kernels = RandomKernels(1, kernel_dilations(2100, 252))
    features = kernels.fit(X, lengths, seed=0)
    alone = torch.cat([kernels(X[i : i + 1], lengths[i : i + 1]) for i in range(11)])
    assert torch.equal(alone, features)
    with _as_if_exporting():
        assert torch.equal(kernels(X, lengths), features)
    widths, count = [], kernels._count
    kernels._count = lambda X, lengths: widths.append(X.shape[1]) or count(X, lengths)
    assert torch.equal(kernels(X, lengths), features)
    assert widths == [2100, 2100, 700]


def test_path_attributions_share_out_the_first_order_change():
    gen = torch.Generator().manual_seed(0)
    X = torch.randn(3, 15, 2, generator=gen)
    lengths = torch.tensor([15, 11, 4])
    X[torch.arange(15)[None, :] >= lengths[:, None]] = 0.0
    kernels = RandomKernels(2, kernel_dilations(15, 168), stride=2)
    kernels.fit(X, lengths, seed=1)
    low, high = 0.3 * X, X
    grad = torch.randn(3, 168, generator=gen)
    shares = kernels.path_attributions(low, high, lengths, grad)
    linear = (grad * (kernels(high, lengths) - kernels(low, lengths))).sum(dim=1)
    assert linear.abs().min() > 0  # comparisons flip on the segment
    torch.testing.assert_close(shares.sum(dim=(1, 2)), linear, rtol=1e-5, atol=1e-6)
    padding = torch.arange(15)[None, :] >= lengths[:, None]
    assert (shares[padding] == 0).all()


def test_path_attributions_without_kernels_are_zero():
    # A public method of the module: it failed on the missing kernels
    # ("'NoneType' object has no attribute 'path_attributions'").
    module = RNNModule(2, 3, conv_channels=4, hidden_size=4).eval()
    X, lengths = torch.randn(3, 9, 2), torch.tensor([9, 4, 2])
    assert module.kernel_features(X, lengths).shape == (3, 0)
    shares = module.kernel_path_attributions(X * 0, X, lengths, torch.ones(3, 0))
    assert shares.shape == (3, 9, 2) and not shares.any()


@pytest.mark.parametrize(
    "kwargs, error, message",
    [
        (dict(n_features=0), ValueError, "n_features must hold integers >= 1, got 0"),
        (dict(n_outputs=0), ValueError, "n_outputs must hold integers >= 1, got 0"),
        (dict(hidden_size=True), TypeError, "hidden_size must hold integers, got True"),
        (dict(kernel_sizes=(0,)), ValueError, "kernel_sizes must hold integers >= 1"),
        (dict(strides=(1,)), ValueError, r"strides must be a tuple of 3 items, got \(1,\)"),
        (dict(kernel_dilations=((1, 0),)), ValueError, "kernel_dilations must hold integers"),
        # "'NoneType' object is not iterable", naming nothing.
        (dict(kernel_dilations=None), ValueError, r"kernel_dilations must be a tuple .* got None"),
        (dict(dropout=1.0), ValueError, r"dropout must be a number in \[0, 1\), got 1.0"),
        # Every forward failed inside torch ("Expected size 15 but got size 14").
        (dict(kernel_sizes=(15, 4)), ValueError, r"kernel_sizes must be odd, got \(15, 4\)"),
        # Any truthy value switched them on: "False" built a bidirectional network.
        (dict(bidirectional="False"), TypeError, "bidirectional must be a bool, got 'False'"),
        (dict(standardize="no"), TypeError, "standardize must be a bool, got 'no'"),
    ],
)
def test_module_arguments_torch_would_fail_on_are_named(kwargs, error, message):
    # Each failed inside torch (a size mismatch, a primitive descriptor, an
    # empty stack) or built a module with no outputs.
    with pytest.raises(error, match=message):
        RNNModule(**{"n_features": 2, "n_outputs": 2, **kwargs})


def test_module_takes_numpy_sizes_and_refuses_bad_statistics():
    module = RNNModule(n_features=2, n_outputs=2, hidden_size=np.int64(3), conv_channels=2)
    assert module(torch.zeros(2, 5, 2), torch.tensor([5, 3])).shape == (2, 2)
    with pytest.raises(ValueError, match=r"scale must be positive, got \[0.0, 1.0\]"):
        module.set_standardization([0.0, 0.0], [0.0, 1.0])
    with pytest.raises(ValueError, match="mean must be 2 finite numbers, one per feature"):
        module.set_standardization([np.nan, 0.0], [1.0, 1.0])
    # Named by torch's casts before: "new(): invalid data type 'str'", a
    # "must be real number" for None, and 1e300 as "got [inf, 0.0]".
    with pytest.raises(TypeError, match="mean must be 2 finite numbers, one per feature, got 'ab'"):
        module.set_standardization("ab", [1.0, 1.0])
    with pytest.raises(TypeError, match="scale must be 2 finite numbers.*got None"):
        module.set_standardization([0.0, 0.0], None)
    with pytest.raises(ValueError, match=r"within float32's range, got \[1e\+300, 0.0\]"):
        module.set_standardization([1e300, 0.0], [1.0, 1.0])
    with pytest.raises(ValueError, match=r"positive in float32 .* got \[1e-46, 1.0\]"):
        module.set_standardization([0.0, 0.0], [1e-46, 1.0])
    with pytest.raises(
        TypeError, match=r"mean must be 2 finite numbers.*got \[1000000.*\.\.\..*\]\.$"
    ):
        module.set_standardization([10**400, 0], [1.0, 1.0])


def test_an_input_that_requires_a_gradient_passes_the_random_kernels():
    # Saliency maps differentiate the output by X: the kernels' products
    # (out=) refused an X that required a gradient.
    module = RNNModule(
        2, 2, hidden_size=4, conv_channels=4, kernel_dilations=kernel_dilations(30, 168)
    )
    X, lengths = torch.randn(4, 30, 2), torch.tensor([30, 12, 5, 1])
    module.fit_kernels(X, lengths, seed=0)
    X.requires_grad_(True)
    module(X, lengths).sum().backward()
    assert torch.isfinite(X.grad).all() and X.grad[0].abs().sum() > 0
    assert X.grad[3, 1:].abs().sum() == 0  # past its one step: padding


def test_standardization_set_from_a_tensor_in_a_graph_stays_out_of_it():
    # The buffers were copied with autograd on: they joined the caller's
    # graph, and deepcopy refused the module.
    module = RNNModule(2, 2)
    module.set_standardization(torch.tensor([0.5, 0.5], requires_grad=True), torch.ones(2))
    assert module.input_mean.grad_fn is None
    assert copy.deepcopy(module).input_mean.tolist() == [0.5, 0.5]


def test_kernel_features_of_another_shape_or_dtype_are_named():
    # torch's "mat1 and mat2 shapes cannot be multiplied", or, without
    # kernels, features silently ignored.
    X, lengths = torch.randn(3, 20, 2), torch.tensor([20, 5, 1])
    kernels = RNNModule(2, 2, kernel_dilations=kernel_dilations(20, 168)).eval()
    kernels.fit_kernels(X, lengths, seed=0)
    ensemble = RNNEnsemble(
        2, n_features=2, n_outputs=2, kernel_dilations=kernel_dilations(20, 168)
    ).eval()
    for module, width in [(kernels, 168), (RNNModule(2, 2).eval(), 0), (ensemble, 336)]:
        with pytest.raises(
            ValueError, match=rf"kernel_features must be of shape \(3, {width}\), .* got \(3, 5\)"
        ):
            module(X, lengths, torch.zeros(3, 5))
    with pytest.raises(
        TypeError, match="kernel_features must be a torch.float32 tensor, got torch.float64"
    ):
        kernels(X, lengths, torch.zeros(3, 168, dtype=torch.float64))
    assert torch.equal(
        kernels(X, lengths, kernels.kernel_features(X, lengths)), kernels(X, lengths)
    )


def test_batch_normalization_takes_a_cumulative_average_on_padded_batches():
    # BatchNorm1d's momentum=None: lerp_ refused None on padded batches only.
    module = RNNModule(2, 2, hidden_size=4, conv_channels=4)
    for norm in module.front_end.norms:
        norm.momentum = None
    each = copy.deepcopy(module)
    for norm in each.front_end.norms:
        norm.momentum = 1.0  # the running statistics are the last batch's
    batches = [(torch.randn(3, 20, 2), torch.tensor([20, 10, 5])) for _ in range(2)]
    means = []
    for X, lengths in batches:
        module(X, lengths)
        each(X, lengths)
        means.append(each.front_end.norms[0].running_mean.clone())
    torch.testing.assert_close(module.front_end.norms[0].running_mean, (means[0] + means[1]) / 2)
