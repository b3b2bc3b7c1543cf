"""Recurrent layers for the cells torch runs step by step on the CPU: GRU and Elman RNN.

torch has a fused CPU kernel for LSTM (oneDNN) but runs ``nn.GRU`` and
``nn.RNN`` as a loop of small operators per step, per direction and per
network, each too small to keep the CPU busy. Here several independent
layers of one cell type -- "streams": the directions of a layer -- run as one
computation: their input projections are one batched matrix product over all
steps, each step is one ``baddbmm`` for the recurrent term of every stream
and a few elementwise operators, and the backward pass is written out by
hand (:class:`_Recurrence`), so that autograd records one node per layer
instead of several per step. The per-step operators write into buffers
allocated once per call, never per step: fresh allocations cost more than
the arithmetic at these sizes. The backward pass works through the steps in
runs small enough to stay in a core's cache, and its buffers hold one run.
Nothing is shared between calls, so fits in parallel threads do not
interfere.

Streams are padded batches whose padding follows the valid steps of each
sequence. At a padded step a stream's state is carried over unchanged (the
GRU's update gate is forced to 1), so the outputs at the valid steps do not
depend on the padding, and the gradient flows through the padded steps
untouched.

Weights are torch's own, stacked over the streams: ``weight_ih`` of
``nn.GRU``'s layout ``(gates * hidden, inputs)`` with gates (reset, update,
new), and so on. Nothing here is stored: parameters stay in ``nn.GRU`` /
``nn.RNN`` modules, which state dicts, pickles and ONNX export read.
"""

import torch

__all__ = ["ENGINE_CELLS", "recurrent_streams", "use_engine"]

ENGINE_CELLS = ("gru", "rnn", "rnn_relu")

# Largest batch size x hidden size run by the engine. Beyond it each step's
# operators are large enough to keep the CPU busy, and torch's own layers
# measured as fast or faster (benchmarks/bench_engine.py).
_MAX_BATCH_HIDDEN = 4096

# Values per tensor in a run of steps whose derivatives the backward pass
# computes together: small enough that the run's work stays in a core's
# cache (a few tensors of this many float32 values fit in 1 MB).
_RUN_VALUES = 1 << 15


def use_engine(cell_type, x, hidden_size):
    """Whether :func:`recurrent_streams` should run a layer of ``cell_type`` over ``x``.

    GRU and Elman layers on the CPU, at sizes where the engine measures
    faster than torch's layers; elsewhere torch's (and, on CUDA, cuDNN's).
    """
    return (
        cell_type in ENGINE_CELLS
        and x.device.type == "cpu"
        and x.shape[0] * hidden_size <= _MAX_BATCH_HIDDEN
    )


def recurrent_streams(x, valid, weight_ih, weight_hh, bias_ih, bias_hh, cell_type):
    """Outputs of ``S`` independent recurrent layers run together, from zero states.

    Parameters
    ----------
    x : Tensor of shape (S, batch, steps, inputs)
        Input of each stream.
    valid : bool Tensor of shape (batch, steps)
        True at the valid steps of each sequence, which come before its padding.
    weight_ih, weight_hh : Tensor of shape (S, gates * hidden, inputs or hidden)
    bias_ih, bias_hh : Tensor of shape (S, gates * hidden)
        Each stream's weights, as ``nn.GRU`` or ``nn.RNN`` holds them.
    cell_type : {"gru", "rnn", "rnn_relu"}

    Returns
    -------
    Tensor of shape (S, batch, steps, hidden)
        The state after every step; at a padded step, the state of the last
        valid step.

    Examples
    --------
    >>> import torch
    >>> from sklrnn._engine import recurrent_streams
    >>> gru = torch.nn.GRU(2, 3, batch_first=True)
    >>> x = torch.randn(1, 4, 5, 2)
    >>> valid = torch.ones(4, 5, dtype=torch.bool)
    >>> weights = [p[None] for p in gru.parameters()]
    >>> out = recurrent_streams(x, valid, *weights, "gru")
    >>> torch.allclose(out[0], gru(x[0])[0], atol=1e-6)
    True
    """
    S, batch, steps, inputs = x.shape
    x = x.transpose(1, 2).reshape(S, steps * batch, inputs)
    # One product for every step of every stream.
    projected = torch.baddbmm(bias_ih[:, None, :], x, weight_ih.transpose(1, 2))
    # Steps first: a step of every stream is then one contiguous block,
    # which elementwise operators run through fastest.
    projected = projected.view(S, steps, batch, -1).transpose(0, 1).contiguous()
    # Whether a backward pass may follow, which needs every step's gates.
    save = torch.is_grad_enabled() and any(t.requires_grad for t in (projected, weight_hh, bias_hh))
    keep = valid.t()[:, None, :, None]  # (steps, 1, batch, 1)
    # Steps before the shortest sequence ends need no masking.
    first_padded = int(valid.sum(dim=1).min())
    args = (projected, keep, first_padded, weight_hh, bias_hh, cell_type, save)
    return _Recurrence.apply(*args)[0].permute(1, 2, 0, 3)


class _Recurrence(torch.autograd.Function):
    """The recurrence given the input projections ``gi`` of shape (steps, S, batch, gates * hidden).

    Every sequence has at least one valid step. The per-step loops index
    lists of views made once by ``unbind`` (one call for all steps), because
    building a view in Python costs about as much as an elementwise operator
    at these sizes. The backward pass writes into reused buffers and has no
    derivative of its own: it refuses to build one (``create_graph=True``).

    ``forward`` returns the states, then the gates the backward pass reads,
    which ``setup_context`` keeps: the form ``torch.func``'s ``grad`` needs
    to reach the backward pass, which refuses it in words.
    """

    @staticmethod
    def forward(gi, keep, first_padded, weight_hh, bias_hh, cell_type, save):
        step = _gru_forward if cell_type == "gru" else _elman_forward
        out, saved = step(gi, weight_hh, bias_hh, keep, first_padded, cell_type, save)
        return out, *saved

    @staticmethod
    def setup_context(ctx, inputs, output):
        _, keep, first_padded, weight_hh, _, cell_type, _ = inputs
        out, *saved = output
        ctx.cell_type, ctx.first_padded = cell_type, first_padded
        ctx.mark_non_differentiable(*saved)
        ctx.save_for_backward(out, keep, weight_hh, *saved)

    @staticmethod
    def backward(ctx, grad_out, *_):
        if torch.is_grad_enabled():  # create_graph=True, or torch.func's grad
            raise RuntimeError(
                "Second derivatives, and torch.func's transforms, through GRU and Elman "
                "layers on the CPU are not supported: sklrnn runs them with a hand-written "
                "backward pass, which has no derivative of its own (create_graph=True, as "
                "gradient penalties use, or torch.func.grad, which differentiates in grad "
                'mode). cell_type="lstm" runs torch\'s own layer, which has one, as do GRU '
                "and Elman layers on CUDA."
            )
        out, keep, weight_hh, *saved = ctx.saved_tensors
        step = _gru_backward if ctx.cell_type == "gru" else _elman_backward
        args = (grad_out, out, keep, weight_hh, saved, ctx.first_padded, ctx.cell_type)
        grad_gi, grad_weight_hh, grad_bias_hh = step(*args)
        return grad_gi, None, None, grad_weight_hh, grad_bias_hh, None, None


def _elman_forward(gi, weight_hh, bias_hh, keep, first_padded, cell_type, save):
    recurrent = weight_hh.transpose(1, 2)
    out = torch.add(gi, bias_hh[:, None, :])  # the pre-activations, then the states
    outs, keeps = out.unbind(0), keep.unbind(0)
    activation = torch.Tensor.tanh_ if cell_type == "rnn" else torch.Tensor.relu_
    for t in range(len(outs)):
        if t:
            outs[t].baddbmm_(outs[t - 1], recurrent)
        activation(outs[t])
        if t >= first_padded:  # the previous state, exactly
            torch.where(keeps[t], outs[t], outs[t - 1], out=outs[t])
    return out, ()


def _runs(steps, per_step):
    """Length of the runs of steps, and their ``(start, end)``, the last run first.

    The backward passes compute the derivatives of a run of steps together
    (few operators) just before the loop over those steps reads them, still
    in cache: all steps at once for a small layer, step by step for a large
    one. Their work buffers hold one run, so their size is bounded.
    """
    size = max(1, min(steps, _RUN_VALUES // per_step))
    return size, [(max(0, end - size), end) for end in range(steps, 0, -size)]


def _elman_backward(grad_out, out, keep, weight_hh, saved, first_padded, cell_type):
    steps, S, batch, H = out.shape
    grad_gh = torch.empty_like(out)
    grad_weight = torch.zeros_like(weight_hh)
    dh, carry = torch.empty_like(out[0]), torch.zeros_like(out[0])
    padded = (~keep).to(out.dtype).unbind(0)
    grads, douts, outs = grad_gh.unbind(0), grad_out.unbind(0), out.unbind(0)
    size, runs = _runs(steps, S * batch * H)
    work = out.new_empty(size, S, batch, H)
    for start, end in runs:
        h, derivative = out[start:end], work[: end - start]
        if cell_type == "rnn":
            torch.mul(h, h, out=derivative).neg_().add_(1)
        else:
            torch.sign(h, out=derivative)  # ReLU's states are >= 0
        derivative.mul_(keep[start:end])  # no gradient through a padded step's cell
        dpre = derivative.unbind(0)
        for t in reversed(range(start, end)):
            torch.add(douts[t], carry, out=dh)
            torch.mul(dh, dpre[t - start], out=grads[t])
            if not t:
                break
            # Accumulated step by step, while the step's values are in cache.
            grad_weight.baddbmm_(grads[t].transpose(1, 2), outs[t - 1])
            if t >= first_padded:  # a padded step passes its gradient on unchanged
                torch.mul(dh, padded[t], out=carry).baddbmm_(grads[t], weight_hh)
            else:
                torch.bmm(grads[t], weight_hh, out=carry)
    return grad_gh, grad_weight, grad_gh.sum(dim=(0, 2))


def _per_step(tensor, steps):
    """A view of ``tensor`` for each step: its slices, or its one slice repeated."""
    return tensor.unbind(0) * (steps // len(tensor))


def _gru_forward(gi, weight_hh, bias_hh, keep, first_padded, cell_type, save):
    steps, S, batch, width = gi.shape
    H = width // 3
    recurrent = weight_hh.transpose(1, 2)
    # What the backward pass reads is kept for every step; without one, a
    # buffer of one step serves all steps.
    kept = steps if save else 1
    gh = gi.new_empty(kept, S, batch, width)  # the recurrent terms
    gates = gi.new_empty(kept, S, batch, 2 * H)  # reset and update gates
    new = gi.new_empty(kept, S, batch, H)
    out = gi.new_empty(steps, S, batch, H)
    diff = gi.new_empty(S, batch, H)
    ghs, gh_rz = _per_step(gh, steps), _per_step(gh[..., : 2 * H], steps)
    gh_n, rzs = _per_step(gh[..., 2 * H :], steps), _per_step(gates, steps)
    rs, zs = _per_step(gates[..., :H], steps), _per_step(gates[..., H:], steps)
    news, outs, pads = _per_step(new, steps), out.unbind(0), (~keep).unbind(0)
    gi_rz, gi_n = gi[..., : 2 * H].unbind(0), gi[..., 2 * H :].unbind(0)
    bias = bias_hh[:, None, :]
    for t in range(steps):
        if t:
            torch.baddbmm(bias, outs[t - 1], recurrent, out=ghs[t])
        else:
            ghs[t].copy_(bias.expand_as(ghs[t]))
        torch.add(gi_rz[t], gh_rz[t], out=rzs[t]).sigmoid_()
        if t >= first_padded:
            # Update gate 1: no gradient reaches a padded step's gates.
            zs[t].masked_fill_(pads[t], 1.0)
        torch.addcmul(gi_n[t], rs[t], gh_n[t], out=news[t]).tanh_()
        # As torch's cell: h' = n + z * (h - n).
        if t:
            torch.sub(outs[t - 1], news[t], out=diff)
            torch.addcmul(news[t], zs[t], diff, out=outs[t])
        else:
            torch.addcmul(news[t], zs[t], news[t], value=-1, out=outs[t])
        if t >= first_padded:  # the previous state, exactly (n + 1 * (h - n) rounds)
            torch.where(pads[t], outs[t - 1], outs[t], out=outs[t])
    return out, (gates, new, gh[..., 2 * H :]) if save else ()


def _gru_backward(grad_out, out, keep, weight_hh, saved, first_padded, cell_type):
    gates, new, hn = saved
    steps, S, batch, H = out.shape
    grad_gi = out.new_empty(steps, S, batch, 3 * H)
    grad_weight = torch.zeros_like(weight_hh)
    grad_bias = weight_hh.new_zeros(S, 3 * H)
    carry = torch.zeros_like(out[0])
    outs, douts, zs = out.unbind(0), grad_out.unbind(0), gates[..., H:].unbind(0)
    size, runs = _runs(steps, S * batch * H)
    # dh times these factors is the gradient of each gate's recurrent
    # pre-activation (reset, update, new).
    factors = out.new_empty(size, S, batch, 3, H)
    dh, d_new, z_minus_1 = (out.new_empty(size, S, batch, H) for _ in range(3))
    for start, end in runs:
        k = end - start
        r, z, n = gates[start:end, ..., :H], gates[start:end, ..., H:], new[start:end]
        f_reset, f_update, f_new = factors[:k].unbind(3)
        torch.sub(z, 1, out=z_minus_1[:k])
        torch.mul(n, n, out=d_new[:k]).sub_(1).mul_(z_minus_1[:k])  # (1 - n^2) (1 - z)
        torch.mul(d_new[:k], r, out=f_new)
        torch.mul(f_new, hn[start:end], out=f_reset)
        f_reset.addcmul_(f_reset, r, value=-1)  # times (1 - r)
        if start:  # h[t - 1] - n[t]
            torch.sub(out[start - 1 : end - 1], n, out=f_update)
        else:
            torch.sub(out[: end - 1], n[1:], out=f_update[1:])
            torch.neg(n[0], out=f_update[0])
        f_update.mul_(z).mul_(z_minus_1[:k]).neg_()
        grad_gh = grad_gi[start:end]
        grads, flat = grad_gh.view(k, S, batch, 3, H).unbind(0), grad_gh.unbind(0)
        dhs, facs = dh[:k].unbind(0), factors[:k].unbind(0)
        for i in reversed(range(k)):
            t = start + i
            torch.add(douts[t], carry, out=dhs[i])
            torch.mul(dhs[i][:, :, None, :], facs[i], out=grads[i])
            if not t:
                break
            # Accumulated step by step, while the step's values are in cache.
            grad_weight.baddbmm_(flat[i].transpose(1, 2), outs[t - 1])
            torch.mul(dhs[i], zs[t], out=carry).baddbmm_(flat[i], weight_hh)
        grad_bias += grad_gh.sum(dim=(0, 2))
        # The input part of the new gate is not scaled by the reset gate.
        torch.mul(dh[:k], d_new[:k], out=grad_gh[..., 2 * H :])
    return grad_gi, grad_weight, grad_bias
