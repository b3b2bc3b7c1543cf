"""Malformed model files and checkpoints: each defensive check of the readers, reached.

Every check of ``_archive.py`` and ``_persistence.py`` that the other tests
left unexecuted, with the message it gives (a coverage run of the suite).
"""

import os

os.environ.setdefault("SCIPY_ARRAY_API", "1")  # as tests/conftest.py

import json  # noqa: E402
import pickle  # noqa: E402
import struct  # noqa: E402
import zipfile  # noqa: E402

import numpy as np  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402
from test_persistence import (  # noqa: E402
    CONFIG,
    WEIGHTS,
    _ReadOnly,
    members_of,
    rewrite,
    write_members,
)

from sklrnn import RNNClassifier, _archive, load_model, save_model  # noqa: E402

TINY = dict(hidden_size=3, conv_channels=2, kernel_features=84, max_epochs=1, random_state=0)
CKPT_JSON = "checkpoint.json"


def data():
    X = np.random.RandomState(0).normal(size=(12, 6))
    return X, np.arange(12) % 2


@pytest.fixture(scope="module")
def model():
    return RNNClassifier(**TINY).fit(*data())


@pytest.fixture(scope="module")
def saved(model, tmp_path_factory):
    path = tmp_path_factory.mktemp("saved") / "m.zip"
    save_model(model, path)
    return path


def variant(model, **params):
    """A copy of the fitted ``model`` with ``params`` set."""
    return pickle.loads(pickle.dumps(model)).set_params(**params)


def safetensors_parts(member):
    """The header (parsed) and the data of a safetensors member."""
    n = int.from_bytes(member[:8], "little")
    return json.loads(member[8 : 8 + n]), member[8 + n :]


def with_header(header, body):
    text = json.dumps(header).encode()
    return len(text).to_bytes(8, "little") + text + body


# -- sklrnn/_archive.py ----------------------------------------------------------------


# A "file" object that can be read but has no write method, passed to save_model.
def test_a_file_object_without_write_is_refused(model):
    with pytest.raises(
        TypeError, match=r"save_model's file \(a _ReadOnly\) has no write or flush method"
    ):
        save_model(model, _ReadOnly(b""))


# A JSON member whose size fields under-declare its data: zipfile reads no
# further than declared, and the member fails its CRC check.
def test_a_json_member_longer_than_it_declares_is_damaged(saved, tmp_path, monkeypatch):
    # The zip declares 200 bytes for model.json (under the cap, lowered to
    # 1000), its data holds more: zipfile returns at most the declared 200
    # (ZipExtFile._read1, data[:self._left]), then fails its CRC check.
    monkeypatch.setattr(_archive, "MAX_JSON_BYTES", 1000)
    path = write_members(tmp_path / "lie.zip", members_of(saved))
    raw = bytearray(path.read_bytes())
    with zipfile.ZipFile(path) as archive:
        info = archive.getinfo(CONFIG)
        assert info.file_size > 1000
        entry = raw.index(b"PK\x01\x02", archive.start_dir)
    assert raw[entry + 46 : entry + 46 + len(CONFIG)] == CONFIG.encode()  # first entry
    struct.pack_into("<I", raw, info.header_offset + 22, 200)  # local header
    struct.pack_into("<I", raw, entry + 24, 200)  # central directory
    path.write_bytes(bytes(raw))
    with pytest.raises(
        ValueError, match=r"lie.zip' cannot be read: its member 'model.json' is damaged.*CRC"
    ):
        load_model(path)


# A safetensors member whose header gives two tensors each other's data offsets.
def test_a_header_whose_offsets_do_not_fit_its_shapes(saved):
    header, body = safetensors_parts(members_of(saved)[WEIGHTS])
    a, b = [k for k in sorted(header) if header[k]["shape"] != [1]][:2]
    assert header[a]["shape"] != header[b]["shape"]
    header[a]["data_offsets"], header[b]["data_offsets"] = (
        header[b]["data_offsets"],
        header[a]["data_offsets"],
    )
    with pytest.raises(
        ValueError,
        match=r"edited-m.zip': weights.safetensors is not a valid safetensors file "
        r"\(.*invalid shape, data type, or offset",
    ):
        load_model(rewrite(saved, replace={WEIGHTS: with_header(header, body)}))


# A tensors member of 3 bytes, shorter than the 8-byte header size.
def test_a_tensors_member_shorter_than_its_header_size(saved):
    with pytest.raises(
        ValueError, match="edited-m.zip': weights.safetensors is too short to be a safetensors"
    ):
        load_model(rewrite(saved, replace={WEIGHTS: b"abc"}))


# A tensors member that declares a 100-byte header but holds 2 bytes of it.
def test_a_header_longer_than_the_member(saved):
    member = (100).to_bytes(8, "little") + b"{}"
    with pytest.raises(
        ValueError, match="edited-m.zip': weights.safetensors declares a header longer than the"
    ):
        load_model(rewrite(saved, replace={WEIGHTS: member}))


# A tensors member whose header is a JSON array, not an object.
def test_a_header_that_is_not_an_object(saved):
    with pytest.raises(
        ValueError, match="edited-m.zip': the header of weights.safetensors is not a JSON object"
    ):
        load_model(rewrite(saved, replace={WEIGHTS: (2).to_bytes(8, "little") + b"[]"}))


# A weights member written with safetensors metadata (as other tools write them): it loads.
def test_a_header_with_metadata_loads(model, saved):
    import safetensors.torch

    tensors = safetensors.torch.load(members_of(saved)[WEIGHTS])
    member = safetensors.torch.save(tensors, metadata={"format": "pt"})
    assert "__metadata__" in safetensors_parts(member)[0]
    loaded = load_model(rewrite(saved, replace={WEIGHTS: member}))
    X, _ = data()
    np.testing.assert_array_equal(loaded.predict_proba(X), model.predict_proba(X))


# A zip whose end record says 3 members while its central directory lists 18.
def test_more_members_than_the_end_record_counts(saved, tmp_path):
    extra = {f"x{i}.bin": b"" for i in range(15)}
    path = write_members(tmp_path / "many.zip", {**members_of(saved), **extra})
    raw = bytearray(path.read_bytes())
    end = len(raw) - 22
    assert raw[end : end + 4] == b"PK\x05\x06"
    struct.pack_into("<HH", raw, end + 8, 3, 3)  # entries on this disk, entries in all
    path.write_bytes(bytes(raw))
    with pytest.raises(
        ValueError, match=r"many.zip' has 18 members; the format has only \['model.json'"
    ):
        load_model(path)


# A member whose central-directory entry sets the "encrypted" flag bit.
def test_an_encrypted_member_is_refused(saved, tmp_path):
    path = write_members(tmp_path / "locked.zip", members_of(saved))
    raw = bytearray(path.read_bytes())
    with zipfile.ZipFile(path) as archive:
        entry = raw.index(b"PK\x01\x02", archive.start_dir)
    assert raw[entry + 46 : entry + 46 + len(CONFIG)] == CONFIG.encode()
    raw[entry + 8] |= 0x1
    path.write_bytes(bytes(raw))
    with pytest.raises(ValueError, match="locked.zip': the member 'model.json' is encrypted"):
        load_model(path)


# A model.json that is not UTF-8 (a Latin-1 byte in a string).
def test_json_that_is_not_utf8(saved):
    with pytest.raises(ValueError, match=r"edited-m.zip': model.json is not UTF-8 text \("):
        load_model(rewrite(saved, replace={CONFIG: b'{"format": "sklrnn-mod\xe8le"}'}))


# A model.json of shallow but very many arrays (131,073 empty lists, 400 kB).
def test_json_with_too_many_arrays(saved, tmp_path):
    members = members_of(saved)
    text = members[CONFIG].decode()
    many = "[" + "[]," * 2**17 + "[]]"
    assert '"lr": 0.001' in text
    members[CONFIG] = text.replace('"lr": 0.001', f'"lr": {many}').encode()
    with pytest.raises(
        ValueError, match=r"wide.zip': model.json holds \d+ arrays and objects; the format reads at"
    ):
        load_model(write_members(tmp_path / "wide.zip", members))


# A class_weight with numpy integer keys: saved as plain ints.
def test_numpy_keys_of_class_weight_are_saved_plain(model, tmp_path):
    path = tmp_path / "w.zip"
    save_model(variant(model, class_weight={np.int64(0): 2.0, np.int64(1): 1.0}), path)
    assert json.loads(members_of(path)[CONFIG])["params"]["class_weight"] == [[0, 2.0], [1, 1.0]]
    assert load_model(path).class_weight == {0: 2.0, 1: 1.0}


# A history that is an object, not a list of epochs.
def test_history_that_is_not_a_list(saved):
    with pytest.raises(
        ValueError, match="edited-m.zip': the training history is not a list of epochs"
    ):
        load_model(rewrite(saved, edit_config=lambda c: c.update(history={"epoch": 1})))


# A batch-norm running variance made negative.
def test_a_negative_batch_norm_variance(saved):
    def negative(tensors):
        tensors["front_end.norms.0.running_var"][0] = -1.0

    with pytest.raises(
        ValueError,
        match="edited-m.zip': weights.safetensors holds a negative batch-norm variance "
        "'front_end.norms.0.running_var'",
    ):
        load_model(rewrite(saved, edit_tensors={WEIGHTS: negative}))


# Custom optimizers: the estimators take any torch.optim.Optimizer subclass whose
# constructor takes lr and weight_decay. save_model refuses them, a checkpoint
# carries their state.


class _StepSGD(torch.optim.Optimizer):
    """Plain SGD that counts its steps in a numpy integer, as older optimizers did."""

    needs_closure = False

    def __init__(self, params, lr=0.01, weight_decay=0.0):
        super().__init__(params, dict(lr=lr, weight_decay=weight_decay))

    @torch.no_grad()
    def step(self, closure=None):
        if closure is None and self.needs_closure:
            raise RuntimeError(f"{type(self).__name__} steps only with a closure")
        loss = None
        if closure is not None:
            with torch.enable_grad():
                loss = closure()
        for group in self.param_groups:
            for p in group["params"]:
                if p.grad is not None:
                    state = self.state[p]
                    state["step"] = state.get("step", np.int64(0)) + 1
                    p.add_(p.grad, alpha=-group["lr"])
        return loss


class _ClosureSGD(_StepSGD):
    """As LBFGS: steps only with a closure (skorch always passes one)."""

    needs_closure = True


class _ListSGD(_StepSGD):
    """Keeps a list in its state."""

    @torch.no_grad()
    def step(self, closure=None):
        loss = super().step(closure)
        for state in self.state.values():
            state["trace"] = [1.0]
        return loss


@pytest.fixture(scope="module")
def step_checkpoint(tmp_path_factory):
    path = tmp_path_factory.mktemp("step") / "fit.ckpt"
    RNNClassifier(**TINY, optimizer=_StepSGD, checkpoint=path).fit(*data())
    return path


def resume(checkpoint, optimizer):
    return RNNClassifier(**TINY, optimizer=optimizer, checkpoint=checkpoint, warm_start=True).fit(
        *data()
    )


# An optimizer whose state holds numpy integers: the checkpoint stores plain numbers.
def test_numpy_numbers_in_the_optimizer_state(step_checkpoint):
    config = json.loads(members_of(step_checkpoint)[CKPT_JSON])
    assert config["optimizer"]["state"][0] == [0, {"step": 1}]
    assert resume(step_checkpoint, _StepSGD).n_iter_ == 2


# An optimizer whose state holds a list: neither a checkpoint nor a model file stores it.
def test_a_list_in_the_optimizer_state(tmp_path):
    message = r"The optimizer keeps list values in its state \('trace'\), which the format"
    with pytest.raises(TypeError, match=message):
        RNNClassifier(**TINY, optimizer=_ListSGD, checkpoint=tmp_path / "l.ckpt").fit(*data())
    assert list(tmp_path.iterdir()) == []
    fitted = RNNClassifier(**TINY, optimizer=_ListSGD).fit(*data())
    with pytest.raises(TypeError, match=message):
        save_model(fitted, tmp_path / "m.zip")


# An optimizer structure that is a list, not {"param_groups", "state"}.
def test_optimizer_structure_that_is_not_an_object(saved):
    with pytest.raises(ValueError, match="edited-m.zip': the optimizer state is malformed"):
        load_model(rewrite(saved, edit_config=lambda c: c.update(optimizer=[])))


# A tensor entry of the optimizer state (Adam's exp_avg) given as a number.
def test_a_tensor_entry_given_as_a_number(saved):
    def edit(config):
        config["optimizer"]["state"][0][1]["exp_avg"] = 5

    with pytest.raises(
        ValueError, match="edited-m.zip': the optimizer state 'exp_avg' of parameter 0 is malform"
    ):
        load_model(rewrite(saved, edit_config=edit))


# A checkpoint whose plain-number step counter is replaced by text.
def test_a_step_counter_that_is_text(step_checkpoint):
    def edit(config):
        config["optimizer"]["state"][0][1]["step"] = "many"

    edited = rewrite(step_checkpoint, edit_config=edit, config=CKPT_JSON)
    with pytest.raises(
        ValueError,
        match=r"edited-fit.ckpt': the optimizer state 'step' of parameter 0 holds values no "
        r"training leaves there \(it is a whole number >= 0\)",
    ):
        resume(edited, _StepSGD)


# Parameter groups given as an object, and as a list of the wrong length.
@pytest.mark.parametrize("groups", [{}, []])
def test_parameter_groups_that_are_no_list_of_the_groups(saved, groups):
    def edit(config):
        config["optimizer"]["param_groups"] = groups

    with pytest.raises(
        ValueError, match="edited-m.zip': the optimizer's parameter groups are malformed"
    ):
        load_model(rewrite(saved, edit_config=edit))


# A parameter group that is a number, not an object.
def test_a_parameter_group_that_is_not_an_object(saved):
    def edit(config):
        config["optimizer"]["param_groups"][0] = 5

    with pytest.raises(
        ValueError, match="edited-m.zip': the optimizer's parameter groups are malformed"
    ):
        load_model(rewrite(saved, edit_config=edit))


# Adafactor's tuple setting eps: as saved it loads; another value is refused.
def test_a_tuple_setting_of_the_optimizer(model, tmp_path):
    path = tmp_path / "a.zip"
    save_model(variant(model, optimizer=torch.optim.Adafactor), path)
    assert load_model(path).net_.optimizer_.param_groups[0]["eps"] == (None, 0.001)

    def edit(config):
        config["optimizer"]["param_groups"][0]["eps"] = [None, 0.5]

    with pytest.raises(
        ValueError,
        match=r"edited-a.zip': the optimizer setting eps=\[None, 0.5\] does not fit this model "
        r"\(eps=\(None, 0.001\)\)",
    ):
        load_model(rewrite(path, edit_config=edit))


# The checkpoint of a fit whose optimizer steps only with a closure (as LBFGS).
def test_an_optimizer_whose_state_cannot_be_probed(tmp_path):
    path = tmp_path / "fit.ckpt"
    RNNClassifier(**TINY, optimizer=_ClosureSGD, checkpoint=path).fit(*data())
    with pytest.raises(
        ValueError,
        match=r"fit.ckpt': the state of optimizer _ClosureSGD cannot be checked \(RuntimeError: "
        r"_ClosureSGD steps only with a closure\), so it is not loaded",
    ):
        resume(path, _ClosureSGD)


# -- sklrnn/_persistence.py ------------------------------------------------------------


def attribute(name, value):
    def edit(config):
        config["attributes"][name] = value

    return edit


@pytest.mark.parametrize(
    "name, value, message",
    [
        # A flag given as the number 1.
        ("_fitted_on_table", 1, "_fitted_on_table is 1, not true or false"),
        # Kernel dilations that are no pairs of positive integers, or out of order.
        ("kernel_dilations_", [[0, 1]], r"kernel_dilations_ is .*, not at most 32 pairs of in"),
        ("kernel_dilations_", "1,1", r"kernel_dilations_ is .*, not at most 32 pairs of in"),
        ("kernel_dilations_", [[1, 1, 1]], r"kernel_dilations_ is .*, not at most 32 pairs of"),
        (
            "kernel_dilations_",
            [[2, 1], [1, 1]],
            r"kernel_dilations_ is \[\[2, 1\], \[1, 1\]\], whose dilations are not increasing",
        ),
        # Feature names that are numbers.
        ("feature_names_in_", list(range(6)), "feature_names_in_ is not a list of"),
        # classes_ as a bare list, without its dtype.
        ("classes_", [0, 1], "classes_ is malform"),
        # classes_ of a dtype numpy does not know.
        *(
            ("classes_", {"dtype": d, "values": [0, 1]}, r"classes_ has dtype .*, which the")
            for d in ["foo", "<U-1", "M8[99999999999999999999D]"]
        ),
        # 3 one-letter labels declared 3 million characters wide (36 MB of labels).
        (
            "classes_",
            {"dtype": "<U3000000", "values": ["a", "b", "c"]},
            r"classes_ would take 36000000 bytes as <U3000000, more than the \d+ the format",
        ),
        # int8 labels holding 300.
        (
            "classes_",
            {"dtype": "|i1", "values": [0, 300]},
            r"classes_ cannot be read as labels of dtype int8 \(Python integer 300 out of",
        ),
    ],
)
def test_malformed_fitted_attributes_are_named(saved, name, value, message):
    with pytest.raises(ValueError, match=r"edited-m.zip': the fitted attribute " + message):
        load_model(rewrite(saved, edit_config=attribute(name, value)))


# Fitted attributes given as a list.
def test_attributes_that_are_not_an_object(saved):
    with pytest.raises(
        ValueError, match="edited-m.zip': the fitted attributes in model.json are malformed"
    ):
        load_model(rewrite(saved, edit_config=lambda c: c.update(attributes=[])))


# A parameter set to a numpy integer: saved as a plain int.
def test_numpy_parameters_are_saved_plain(model, tmp_path):
    path = tmp_path / "b.zip"
    save_model(variant(model, batch_size=np.int64(4), lr=np.float32(0.5)), path)
    loaded = load_model(path)
    assert type(loaded.batch_size) is int and loaded.batch_size == 4
    assert type(loaded.lr) is float and loaded.lr == 0.5


# Parameters given as a list.
def test_parameters_that_are_not_an_object(saved):
    with pytest.raises(
        ValueError, match="edited-m.zip': the parameters in model.json are malformed"
    ):
        load_model(rewrite(saved, edit_config=lambda c: c.update(params=[])))


@pytest.mark.parametrize(
    "name, value, message",
    [
        # A device that passes the [str] constraint but names no torch device.
        ("device", "gpu0", "the device 'gpu0' is not a torch device"),
        # torch.optim.Muon, which takes 2-D parameters only.
        (
            "optimizer",
            {"torch.optim": "Muon"},
            r"the network and optimizer it describes cannot be built \(ValueError: Muon only",
        ),
        # Hidden sizes whose weights' sizes overflow: torch's first line, not its C++ stack.
        (
            "hidden_size",
            2**40,
            r"model.json describes a network that cannot be built \(Storage size calculation",
        ),
        (
            "hidden_size",
            2**62,
            r"model.json describes a network that cannot be built \([^\n]*\)\.$",
        ),
    ],
)
def test_malformed_parameters_are_named(saved, name, value, message):
    def edit(config):
        config["params"][name] = value

    with pytest.raises(ValueError, match=r"edited-m.zip': " + message):
        load_model(rewrite(saved, edit_config=edit))


# A callback's list and dict in the history: save_model wrote them, and
# load_model refused its own file ("not a value training records").
def test_lists_and_dicts_a_callback_records_in_the_history_load(tmp_path):
    from skorch.callbacks import Callback

    class Record(Callback):
        def on_epoch_end(self, net, **kwargs):
            net.history.record("sizes", [1, 2])
            net.history.record("per_class", {"a": 0.5, "b": [None, 1.0]})

    fitted = RNNClassifier(**TINY, callbacks=[Record()]).fit(*data())
    with pytest.warns(UserWarning, match="callbacks are not saved"):
        save_model(fitted, tmp_path / "h.zip")
    loaded = load_model(tmp_path / "h.zip")
    assert loaded.history_[-1, "sizes"] == [1, 2]
    assert loaded.history_[-1, "per_class"] == {"a": 0.5, "b": [None, 1.0]}
