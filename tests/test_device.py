"""Device handling: "auto", a clear error without CUDA, tensors on the right device.

No GPU is needed: "auto" and the CUDA error are checked against what this
machine has, and the data path is checked on torch's "meta" device, which
(like CUDA) refuses to mix its tensors with CPU tensors in one op. Where a GPU
is present, a GPU-trained model is also checked against its CPU and ONNX
predictions.
"""

import contextlib
import pickle
import warnings

import numpy as np
import pytest
import torch
from skorch.callbacks import EpochTimer

from sklrnn import RNNClassifier, RNNRegressor, export_onnx, load_model, save_model
from sklrnn._module import READOUTS, RNNEnsemble, RNNModule
from sklrnn._training import SequenceDataset, SequenceNet

CUDA = torch.cuda.is_available()


def _data(n=24, n_timesteps=6, seed=0):
    rng = np.random.RandomState(seed)
    X = rng.normal(size=(n, n_timesteps)).astype(np.float32)
    X[::3, 4:] = np.nan  # some shorter sequences
    y = np.where(np.nansum(X, axis=1) > 0, "up", "down")
    return X, y


def _small(cls, **params):
    return cls(hidden_size=4, max_epochs=2, batch_size=8, random_state=0, **params)


def test_device_auto_fits_on_the_available_device():
    X, y = _data()
    clf = _small(RNNClassifier, device="auto").fit(X, y)
    expected = "cuda" if CUDA else "cpu"
    assert torch.device(clf.net_.device).type == expected
    assert next(clf.net_.module_.parameters()).device.type == expected
    proba = clf.predict_proba(X)
    assert isinstance(proba, np.ndarray) and proba.dtype == np.float64
    assert set(clf.predict(X)) <= {"up", "down"}
    # the parameter itself is kept as given, for cloning and grid search
    assert clf.get_params()["device"] == "auto"


def test_device_auto_matches_device_cpu():
    X, y = _data()
    auto = _small(RNNRegressor, device="auto").fit(X, X[:, 0])
    cpu = _small(RNNRegressor, device="cpu").fit(X, X[:, 0])
    if not CUDA:  # same device, same seed: the same model
        np.testing.assert_allclose(auto.predict(X), cpu.predict(X), rtol=1e-5)
    assert auto.predict(X).shape == (len(X),)


def test_device_cuda_without_cuda_is_a_clear_error():
    X, y = _data()
    clf = _small(RNNClassifier, device="cuda")
    if CUDA:
        assert clf.fit(X, y).predict_proba(X).dtype == np.float64
        return
    with pytest.raises(ValueError, match=r"CUDA is not available.*device='cpu' or device='auto'"):
        clf.fit(X, y)
    assert not hasattr(clf, "net_")


@pytest.mark.parametrize("device", ["gpu", "meta", "xla", "hpu", "lazy", "mps", "cuda:99"])
def test_a_device_that_is_not_here_is_a_clear_error(device):
    # Each of these got past the check before, and failed inside torch
    # (fused Adam on "meta", a missing backend, a missing module). MPS passed
    # where present, and then lacked the closed-form heads' float64.
    X, y = _data()
    with pytest.raises(
        ValueError,
        match=f"device='{device}' .*use device='cpu'|device='{device}' is not a torch device",
    ) as info:
        _small(RNNClassifier, device=device).fit(X, y)
    if device in ("meta", "xla", "hpu", "lazy", "mps"):
        assert "sklrnn runs on the CPU and on CUDA devices only" in str(info.value)


def test_pickled_model_predicts_the_same():
    X, y = _data()
    clf = _small(RNNClassifier, device="auto").fit(X, y)
    loaded = pickle.loads(pickle.dumps(clf))
    np.testing.assert_allclose(loaded.predict_proba(X), clf.predict_proba(X), rtol=1e-6)


def test_dataset_keeps_lengths_on_cpu_and_moves_indices_to_the_data():
    n = 10
    X = np.arange(n * 5 * 2, dtype=np.float32).reshape(n, 5, 2)
    lengths = np.full(n, 5)
    weights = np.linspace(0.5, 1.5, n)
    data = SequenceDataset(X, lengths, np.arange(n), weights, device="meta")
    index = torch.tensor([7, 2, 4])  # a shuffled batch, drawn on the CPU
    Xi, yi = data.batch(index)
    assert Xi["X"].device.type == "meta" and Xi["X"].shape == (3, 5, 2)
    assert Xi["sample_weight"].device.type == "meta"
    assert yi.device.type == "meta"
    assert Xi["lengths"].device.type == "cpu"
    assert Xi["lengths"].tolist() == [5, 5, 5]
    # a validation subset shares X and keeps its row positions on the device
    valid = data.subset(np.array([1, 3, 8]))
    assert valid.X is data.X
    assert valid.rows.device.type == "meta"
    Xv, yv = valid.batch(slice(0, 2))
    assert Xv["X"].device.type == "meta" and Xv["lengths"].device.type == "cpu"
    assert yv.shape == (2,)


def test_dataset_subset_selects_the_right_rows_without_copying():
    n = 6
    X = np.arange(n * 3, dtype=np.float32).reshape(n, 3, 1)
    data = SequenceDataset(X, np.array([3, 2, 3, 1, 3, 3]), np.arange(n))
    assert np.shares_memory(data.X.numpy(), X)  # float32 on the CPU: no copy
    part = data.subset(np.array([4, 1, 3]))
    Xi, yi = part.batch(torch.tensor([2, 0]))
    assert yi.tolist() == [3, 4]
    assert Xi["lengths"].tolist() == [1, 3]
    np.testing.assert_array_equal(Xi["X"].numpy(), X[[3, 4]])
    assert "sample_weight" not in Xi  # no weights given: the plain mean loss


@pytest.mark.parametrize("readout", READOUTS)
@pytest.mark.parametrize("cell_type", ["lstm", "gru"])
def test_module_forward_stays_on_the_data_device(cell_type, readout):
    # Lengths come on the CPU and must not be mixed into device ops.
    module = RNNModule(
        n_features=2,
        n_outputs=3,
        cell_type=cell_type,
        readout=readout,
        hidden_size=4,
        bidirectional=True,
    ).to("meta")
    X = torch.empty(4, 6, 2, device="meta")
    out = module(X, torch.full((4,), 6))
    assert out.device.type == "meta" and out.shape == (4, 3)
    # An ensemble in training: one output per network, on the device.
    ensemble = RNNEnsemble(
        2, n_features=2, n_outputs=3, cell_type=cell_type, readout=readout, hidden_size=4
    ).to("meta")
    out = ensemble(X, torch.full((4,), 6))
    assert out.device.type == "meta" and out.shape == (4, 3, 2)


@pytest.mark.parametrize("cell_type", ["lstm", "gru"])
def test_recurrent_operator_keeps_what_backward_needs_only_in_training(cell_type, monkeypatch):
    # cuDNN refuses a backward pass through a recurrent operator that was told
    # it is not training (every CUDA fit failed so). On the CPU torch accepts
    # either, so the flag is recorded here, with whether a backward pass can
    # follow: every such call must set it, and prediction need not.
    calls = []
    operator = getattr(torch, cell_type)

    def recorded(*args):  # (input, hx, params, has_biases, num_layers, dropout, train, ...)
        out = operator(*args)
        calls.append((args[6], out[0].requires_grad))
        return out

    monkeypatch.setattr(torch, cell_type, recorded)
    monkeypatch.setattr("sklrnn._module.use_engine", lambda *args: False)  # torch's GRU too
    X, y = _data()
    clf = _small(RNNClassifier, cell_type=cell_type, kernel_features=0).fit(X, y)
    with_gradient = [train for train, grad in calls if grad]
    assert with_gradient and all(with_gradient)
    calls.clear()
    clf.predict_proba(X)
    assert calls and not any(train for train, _ in calls)


# docs/user_guide.rst, "Numerics on a GPU": with torch's defaults cuDNN uses
# TF32 on Ampere and later GPUs, so GPU probabilities differ from the CPU's by
# up to about 1e-3; with TF32 off they agree to float32 rounding.
TF32_ATOL = 2e-3
FLOAT32_ATOL = 1e-5


def _proba_off_the_gpu(clf, X, path, tmp_path):
    """predict_proba of a GPU-trained model, on the CPU or in onnxruntime."""
    if path == "onnx":
        onnxruntime = pytest.importorskip("onnxruntime")
        export_onnx(clf, tmp_path / "model.onnx")
        session = onnxruntime.InferenceSession(
            str(tmp_path / "model.onnx"), providers=["CPUExecutionProvider"]
        )
        return session.run(None, {"X": X[:, :, None]})[0]
    save_model(clf, tmp_path / "model.zip")
    return load_model(tmp_path / "model.zip", device="cpu").predict_proba(X)


@pytest.mark.skipif(not CUDA, reason="needs a CUDA GPU")
@pytest.mark.parametrize("path", ["cpu", "onnx"])
def test_gpu_trained_model_predicts_the_same_on_the_cpu_and_in_onnx(path, tmp_path):
    X, y = _data(n=64, n_timesteps=40)
    clf = RNNClassifier(max_epochs=5, random_state=0, device="cuda").fit(X, y)
    elsewhere = _proba_off_the_gpu(clf, X, path, tmp_path)
    np.testing.assert_allclose(clf.predict_proba(X), elsewhere, rtol=0, atol=TF32_ATOL)
    backends = torch.backends
    saved = backends.cudnn.allow_tf32, backends.cuda.matmul.allow_tf32
    backends.cudnn.allow_tf32 = backends.cuda.matmul.allow_tf32 = False
    try:
        gpu_float32 = clf.predict_proba(X)
    finally:
        backends.cudnn.allow_tf32, backends.cuda.matmul.allow_tf32 = saved
    np.testing.assert_allclose(gpu_float32, elsewhere, rtol=0, atol=FLOAT32_ATOL)


@pytest.mark.skipif(not CUDA, reason="needs a CUDA device")
def test_gpu_model_file_and_checkpoint_load_without_cuda(tmp_path, monkeypatch):
    X, y = _data(n=48)
    params = dict(hidden_size=4, max_epochs=3, batch_size=8, random_state=0)
    params.update(early_stopping=True, dropout=0.3)
    path = tmp_path / "fit.ckpt"
    clf = RNNClassifier(**params, device="cuda", checkpoint=path).fit(X, y)
    again = RNNClassifier(**params, device="cuda", checkpoint=path, warm_start=True).fit(X, y)
    assert again.n_iter_ > clf.n_iter_  # the GPU checkpoint resumes on the GPU
    save_model(clf, tmp_path / "m.zip")
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    with pytest.warns(UserWarning, match="'cuda', which is not available here"):
        loaded = load_model(tmp_path / "m.zip")
    assert loaded.net_.device == "cpu"
    np.testing.assert_allclose(loaded.predict_proba(X), clf.predict_proba(X), rtol=1e-4, atol=1e-5)
    # ... and on the CPU (another device, the same fit): a finished fit continues.
    cpu = RNNClassifier(**params, device="cpu", checkpoint=path, warm_start=True).fit(X, y)
    assert cpu.n_iter_ > again.n_iter_


def test_each_direction_gets_its_own_cudnn_buffer_after_moves_and_unpickling(monkeypatch):
    # On CUDA each layer and direction is one cuDNN call, which copies its
    # weights (and warns) unless they fill a buffer of their own; moving a
    # module and unpickling it must lay them out so. Without a GPU, the
    # layout call is recorded instead of made.
    calls = []
    monkeypatch.setattr("sklrnn._module._uses_cudnn", lambda rnn: True)
    monkeypatch.setattr(torch.backends.cudnn.rnn, "get_cudnn_mode", lambda mode: mode)
    monkeypatch.setattr(torch.cuda, "device_of", lambda tensor: contextlib.nullcontext())
    monkeypatch.setattr(torch, "_cudnn_rnn_flatten_weight", lambda *args: calls.append(args))
    module = RNNModule(n_features=2, n_outputs=3, cell_type="gru", hidden_size=4, num_layers=2)
    for make in (lambda: module.to("cpu"), lambda: pickle.loads(pickle.dumps(module))):
        calls.clear()
        moved = make()
        names = ("weight_ih", "weight_hh", "bias_ih", "bias_hh")
        expected = [
            [getattr(moved.rnn, f"{n}_l{layer}{s}") for n in names]
            for layer in (0, 1)
            for s in ("", "_reverse")
        ]
        assert len(calls) == 4
        for (params, *layout), want in zip(calls, expected, strict=True):
            assert all(p is w for p, w in zip(params, want, strict=True))
            assert layout == [4, want[0].shape[1], "GRU", 4, 0, 1, True, False]


@pytest.mark.skipif(not CUDA, reason="needs a GPU")
def test_cuda_model_trains_and_predicts_after_unpickling_without_weight_copies():
    X, y = _data()
    with warnings.catch_warnings():
        warnings.filterwarnings("error", message=".*contiguous chunk of memory")
        clf = _small(RNNClassifier, device="cuda", cell_type="gru").fit(X, y)
        loaded = pickle.loads(pickle.dumps(clf))
        np.testing.assert_allclose(loaded.predict_proba(X), clf.predict_proba(X), rtol=1e-5)
    rnn = loaded.net_.module_.rnn
    for name, param in rnn.named_parameters():
        if name.startswith("weight_ih"):  # the first of each direction's buffer
            assert param.storage_offset() == 0, name


@pytest.mark.parametrize("per_epoch", [True, False])
def test_training_reads_losses_from_the_device_once_per_epoch(monkeypatch, per_epoch):
    # On a GPU, the host reads values from tensors a fixed number of times
    # per epoch, not once per batch (which would wait for the GPU after every
    # batch); on the CPU, and with callbacks that may read a batch's loss
    # when it ends, once per batch, as skorch's loop does.
    if per_epoch:  # as on a GPU without such callbacks
        monkeypatch.setattr(SequenceNet, "losses_read_per_epoch", lambda self: True)
    reads = []
    for name in ("item", "tolist"):
        method = getattr(torch.Tensor, name)
        monkeypatch.setattr(
            torch.Tensor, name, lambda self, m=method, n=name: reads.append(n) or m(self)
        )
    X, y = _data(n=64)
    counts = []
    for batch_size in (64, 8):
        reads.clear()
        clf = _small(RNNClassifier, early_stopping=True).set_params(batch_size=batch_size)
        clf.fit(X, y)
        counts.append(len(reads))
    assert counts[0] == counts[1] > 0 if per_epoch else counts[1] > counts[0] > 0
    losses = clf.history_[:, "train_loss"]
    assert len(losses) == 2 and np.isfinite(losses).all()


def test_losses_are_read_per_epoch_on_a_gpu_without_callbacks_that_read_them():
    X, y = _data()
    net = _small(RNNClassifier, early_stopping=True).fit(X, y).net_
    assert not net.losses_read_per_epoch()  # the CPU
    net.set_params(device="cuda")  # what the rule reads; nothing runs there
    assert net.losses_read_per_epoch()
    net.set_params(callbacks=[EpochTimer()]).initialize_callbacks()
    assert not net.losses_read_per_epoch()  # a callback that may read them
