"""The recurrent engine: torch's GRU and Elman cells, hand-written backward, padding."""

import pytest
import torch

import sklrnn._engine
from sklrnn._engine import ENGINE_CELLS, recurrent_streams, use_engine
from sklrnn._module import RNNModule

NAMES = ("weight_ih_l0", "weight_hh_l0", "bias_ih_l0", "bias_hh_l0")


def _layers(cell_type, n, n_features, hidden, dtype=torch.float64):
    cls = torch.nn.GRU if cell_type == "gru" else torch.nn.RNN
    extra = {"nonlinearity": "relu"} if cell_type == "rnn_relu" else {}
    torch.manual_seed(0)
    return [cls(n_features, hidden, batch_first=True, **extra).to(dtype) for _ in range(n)]


def _stacked(layers):
    return [torch.stack([getattr(layer, n) for layer in layers]).detach() for n in NAMES]


def _ragged(n_streams, lengths, n_features, dtype=torch.float64):
    x = torch.randn(n_streams, len(lengths), max(lengths), n_features, dtype=dtype)
    valid = torch.arange(max(lengths))[None, :] < torch.tensor(lengths)[:, None]
    return x, valid


@pytest.mark.parametrize("cell_type", ENGINE_CELLS)
def test_streams_compute_torch_layers_and_keep_the_state_over_padding(cell_type):
    layers = _layers(cell_type, 3, n_features=4, hidden=5)
    lengths = [7, 3, 1, 7, 5]
    x, valid = _ragged(3, lengths, 4)
    out = recurrent_streams(x, valid, *_stacked(layers), cell_type)
    assert out.shape == (3, 5, 7, 5)
    for s, layer in enumerate(layers):
        for b, n in enumerate(lengths):
            expected = layer(x[s, b : b + 1, :n])[0][0]
            torch.testing.assert_close(out[s, b, :n], expected, rtol=1e-10, atol=1e-12)
            # Padding leaves the state exactly as the last valid step left it.
            assert torch.equal(out[s, b, n:], out[s, b, n - 1 : n].expand(7 - n, 5))
    assert (out[0] - out[1]).abs().max() > 1e-3  # the streams have their own weights


# Runs of one step, of two steps, and all steps at once.
@pytest.mark.parametrize("run_values", [1, 60, 1 << 15])
@pytest.mark.parametrize("cell_type", ENGINE_CELLS)
def test_hand_written_backward_passes_gradcheck(cell_type, run_values, monkeypatch):
    monkeypatch.setattr(sklrnn._engine, "_RUN_VALUES", run_values)
    torch.manual_seed(1)
    x, valid = _ragged(2, [6, 2, 1, 4], n_features=3)
    weights = [w.requires_grad_() for w in _stacked(_layers(cell_type, 2, 3, hidden=3))]
    x.requires_grad_()

    def run(x, *weights):
        return recurrent_streams(x, valid, *weights, cell_type)

    assert torch.autograd.gradcheck(run, (x, *weights))


@pytest.mark.parametrize("cell_type", ENGINE_CELLS)
def test_module_gradients_in_both_directions_pass_gradcheck(cell_type):
    # Through the module: the backward direction reads each sequence
    # reversed within its length, two layers are stacked, and the readout
    # takes the last states of both directions.
    torch.manual_seed(0)
    module = RNNModule(2, 2, cell_type, 3, num_layers=2, dropout=0.0, conv_channels=0)
    module = module.double().eval()
    X = torch.randn(3, 5, 2, dtype=torch.float64, requires_grad=True)
    lengths = torch.tensor([5, 2, 4])
    names = [name for name, _ in module.rnn.named_parameters()]
    weights = [p.detach().clone().requires_grad_() for p in module.rnn.parameters()]

    def run(X, *weights):
        state = {f"rnn.{name}": w for name, w in zip(names, weights, strict=True)}
        return torch.func.functional_call(module, state, (X, lengths))

    assert torch.autograd.gradcheck(run, (X, *weights))


def test_evaluation_needs_no_saved_steps_and_matches_training(monkeypatch):
    layers = _layers("gru", 2, 4, 6, dtype=torch.float32)
    x, valid = _ragged(2, [5, 2, 5], 4, dtype=torch.float32)
    weights = [w.requires_grad_() for w in _stacked(layers)]
    kept, forward = [], sklrnn._engine._gru_forward

    def recording(*args):
        out, saved = forward(*args)
        kept.append([tuple(t.shape) for t in saved])
        return out, saved

    monkeypatch.setattr(sklrnn._engine, "_gru_forward", recording)
    with torch.no_grad():
        evaluated = recurrent_streams(x, valid, *weights, "gru")
    assert torch.equal(recurrent_streams(x, valid, *weights, "gru"), evaluated)
    # Without a gradient nothing is kept for a backward pass; with one, the
    # gates, new states and recurrent terms of every one of the 5 steps.
    S, batch, H = 2, 3, 6
    assert kept == [[], [(5, S, batch, 2 * H), (5, S, batch, H), (5, S, batch, H)]]


@pytest.mark.parametrize("cell_type", ENGINE_CELLS)
def test_training_follows_the_reference_path(cell_type, monkeypatch):
    # Ten Adam steps on ragged batches, with the engine and with torch's own
    # operator per direction: the same losses and the same weights.
    def train():
        torch.manual_seed(0)
        module = RNNModule(
            3, 2, cell_type, 8, num_layers=2, dropout=0.0, readout_dropout=0.0, conv_channels=4
        )
        optimizer = torch.optim.Adam(module.parameters(), lr=1e-2)
        gen = torch.Generator().manual_seed(1)
        losses = []
        for _ in range(10):
            X = torch.randn(6, 12, 3, generator=gen)
            lengths = torch.randint(1, 13, (6,), generator=gen)
            y = torch.randint(0, 2, (6,), generator=gen)
            loss = torch.nn.functional.cross_entropy(module(X, lengths), y)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            losses.append(loss.item())
        return losses, module.state_dict()

    losses, state = train()
    monkeypatch.setattr(sklrnn._engine, "ENGINE_CELLS", ())
    reference_losses, reference_state = train()
    torch.testing.assert_close(losses, reference_losses, rtol=1e-4, atol=1e-5)
    for name, value in reference_state.items():
        torch.testing.assert_close(state[name], value, rtol=1e-3, atol=1e-4, msg=name)
    assert abs(losses[-1] - losses[0]) > 1e-2  # training moved the weights


def test_relu_states_that_overflow_over_padding_leave_the_gradients_finite(monkeypatch):
    # torch's layer steps through the padding, where h <- relu(1.5 h) grows to
    # inf; its backward pass multiplied the padding's zero gradients by it:
    # NaN weight gradients (128 of 192) behind finite outputs, where batch
    # times hidden size passes the engine's limit (or on CUDA).
    def gradients():
        torch.manual_seed(0)
        module = RNNModule(2, 2, "rnn_relu", 8, dropout=0.0, readout_dropout=0.0, conv_channels=0)
        with torch.no_grad():
            for name, param in module.rnn.named_parameters():
                param.copy_(
                    1.5 * torch.eye(8) if "weight_hh" in name else param * ("bias" not in name)
                )
        X = torch.zeros(3, 400, 2)
        X[1, :5], X[2, :3] = 1.0, 1.0
        out = module(X, torch.tensor([400, 5, 3]))
        out.sum().backward()
        return out.detach(), {name: p.grad for name, p in module.named_parameters()}

    out, grads = gradients()
    monkeypatch.setattr(sklrnn._engine, "ENGINE_CELLS", ())
    reference_out, reference_grads = gradients()
    torch.testing.assert_close(reference_out, out)
    for name, grad in reference_grads.items():
        assert torch.isfinite(grad).all(), name
        torch.testing.assert_close(grad, grads[name], rtol=1e-4, atol=1e-5, msg=name)


@pytest.mark.parametrize("cell_type", ENGINE_CELLS)
def test_a_second_derivative_is_refused_in_words(cell_type):
    # Its backward writes into buffers (out= operators): differentiating it
    # failed inside them ("sub(): functions with out=... arguments don't
    # support automatic differentiation").
    x = torch.randn(1, 2, 3, 4, requires_grad=True)
    valid = torch.ones(2, 3, dtype=torch.bool)
    gates = 3 if cell_type == "gru" else 1
    weights = [torch.randn(1, gates * 5, n) for n in (4, 5)] + [torch.zeros(1, gates * 5)] * 2
    out = recurrent_streams(x, valid, *weights, cell_type)
    with pytest.raises(RuntimeError, match=r"Second derivatives, .* cell_type=\"lstm\""):
        torch.autograd.grad(out.sum(), x, create_graph=True)


@pytest.mark.parametrize("cell_type", ["lstm", *ENGINE_CELLS])
def test_torch_func_gradients_equal_backward_or_are_refused_in_words(cell_type):
    # torch.func.grad failed inside torch for the engine's layers ("must
    # override the setup_context staticmethod"), where LSTM's work.
    module = RNNModule(3, 2, cell_type=cell_type, hidden_size=4, conv_channels=4).eval()
    X, lengths = torch.randn(4, 10, 3), torch.tensor([10, 7, 3, 1])
    params = {name: p.detach() for name, p in module.named_parameters()}
    gradient = torch.func.grad(lambda p: torch.func.functional_call(module, p, (X, lengths)).sum())
    if cell_type != "lstm":
        with pytest.raises(RuntimeError, match=r"torch\.func's transforms, .* cell_type=\"lstm\""):
            gradient(params)
        return
    grads = gradient(params)
    module(X, lengths).sum().backward()
    for name, p in module.named_parameters():
        torch.testing.assert_close(grads[name], p.grad, msg=name)


def test_engine_runs_gru_and_elman_layers_of_default_size_on_the_cpu():
    x = torch.zeros(32, 8, 64)  # the default batch, after the default front end
    assert use_engine("gru", x, 64) and use_engine("rnn_relu", x, 64)
    assert not use_engine("lstm", x, 64)  # torch's fused kernel
    assert not use_engine("gru", x.to("meta"), 64)  # not on other devices
    assert not use_engine("gru", torch.zeros(256, 8, 64), 128)  # where torch is as fast
