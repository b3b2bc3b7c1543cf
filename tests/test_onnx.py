"""export_onnx: onnxruntime reproduces predict_proba / predict."""

import json
import logging
import os
import threading
import time
import warnings

import numpy as np
import onnx
import onnxruntime
import pytest
import torch
from sklearn.exceptions import NotFittedError
from sklearn.linear_model import LogisticRegression

from sklrnn import RNNClassifier, RNNRegressor, export_onnx, pad_sequences

FAST = dict(hidden_size=5, conv_channels=4, max_epochs=2, kernel_features=168, random_state=0)
# The head sums the random kernels' features too, and ONNX Runtime adds
# float32 terms in another order than torch. A flipped kernel comparison, the
# error that matters, moves a probability by about 1e-3.
ATOL = 5e-5


def sequences(n=24, T=9, n_features=2, seed=0):
    rng = np.random.RandomState(seed)
    return rng.normal(size=(n, T, n_features)).astype(np.float32)


def ragged(n=24, n_features=2, seed=1, max_steps=12):
    rng = np.random.RandomState(seed)
    seqs = [rng.normal(size=(k, n_features)) for k in rng.randint(1, max_steps, size=n)]
    return pad_sequences(seqs).astype(np.float32)


def run(path, X):
    session = onnxruntime.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    return session.run(None, {"X": np.ascontiguousarray(X, dtype=np.float32)})[0]


def padded(X, extra):
    """X with ``extra`` more all-NaN steps."""
    return np.concatenate([X, np.full((len(X), extra, X.shape[2]), np.nan, np.float32)], axis=1)


# Every cell type and every readout at least once.
@pytest.mark.parametrize(
    "cell_type, readout, bidirectional",
    [
        ("rnn", "last", True),
        ("rnn_relu", "max", True),
        ("lstm", "mean_last", True),
        ("gru", "attention", True),
        ("lstm", "mean", False),
        ("gru", "last", False),
    ],
)
def test_classifier_matches_predict_proba(tmp_path, cell_type, readout, bidirectional):
    X = sequences()
    y = np.array(["a", "b", "c"])[np.arange(len(X)) % 3]
    clf = RNNClassifier(cell_type, bidirectional=bidirectional, readout=readout, **FAST)
    clf.fit(X, y)
    path = export_onnx(clf, tmp_path / "model.onnx")
    # Batch size and length are free; ragged batches and extra padding match too.
    for batch in (X, X[:1], X[:, :4], ragged(), padded(ragged(), 30)):
        proba = run(path, batch)
        np.testing.assert_allclose(proba, clf.predict_proba(batch), rtol=0, atol=ATOL)


@pytest.mark.parametrize("cell_type, n_networks", [("rnn", 2), ("lstm", 1), ("gru", 2)])
def test_bidirectional_stacked_on_ragged_input(tmp_path, cell_type, n_networks):
    X = ragged()
    y = np.arange(len(X)) % 2
    clf = RNNClassifier(
        cell_type, num_layers=2, bidirectional=True, dropout=0.3, n_networks=n_networks, **FAST
    ).fit(X, y)
    path = export_onnx(clf, tmp_path / "model.onnx")
    np.testing.assert_allclose(run(path, X), clf.predict_proba(X), rtol=0, atol=ATOL)


def test_long_sequences_with_strided_front_end(tmp_path):
    # 600 steps: the first convolution strides and both poolings shorten, and
    # the first block runs kernels of 15, 31 and 63 side by side.
    X = ragged(n=16, max_steps=600)
    y = np.arange(len(X)) % 2
    clf = RNNClassifier("gru", **FAST).fit(X, y)
    assert clf.strides_[0] > 1 and clf.strides_[1] > 1 and clf.strides_[2] > 1
    assert clf.kernel_sizes_ == (15, 31, 63)
    path = export_onnx(clf, tmp_path / "model.onnx")
    for batch in (X, X[:3, :200], padded(X[:5], 7)):
        np.testing.assert_allclose(run(path, batch), clf.predict_proba(batch), rtol=0, atol=ATOL)


def test_regressor_multi_output_with_max_length(tmp_path):
    X = ragged(n_features=3)
    y = np.nan_to_num(X[:, 0, :]) * [1.0, 10.0, 100.0] + 5.0
    reg = RNNRegressor("gru", readout="mean", max_length=5, n_networks=2, **FAST).fit(X, y)
    assert len(reg.net_.module_.networks) == 2
    path = export_onnx(reg, tmp_path / "model.onnx")
    predictions = run(path, X)
    assert predictions.shape == (len(X), 3)
    np.testing.assert_allclose(predictions, reg.predict(X), rtol=1e-5, atol=ATOL)
    short = X[:, :3]  # shorter than max_length
    np.testing.assert_allclose(run(path, short), reg.predict(short), rtol=1e-5, atol=ATOL)


def test_regressor_without_front_end_from_2d_input(tmp_path):
    rng = np.random.RandomState(0)
    X = rng.normal(size=(30, 7))
    y = X[:, -1] * 3.0
    reg = RNNRegressor("lstm", **{**FAST, "conv_channels": 0, "kernel_features": 0}).fit(X, y)
    path = export_onnx(reg, tmp_path / "model.onnx")
    predictions = run(path, X[:, :, None])  # one feature per step
    assert predictions.shape == (30,)
    np.testing.assert_allclose(predictions, reg.predict(X), rtol=1e-5, atol=ATOL)
    assert "Conv" not in {node.op_type for node in onnx.load(path).graph.node}


@pytest.mark.parametrize("scale, offset", [(1e40, 0.0), (0.1, 5e6), (1e-47, 5e-46)])
def test_regressor_predictions_are_float64_as_predicts(tmp_path, scale, offset):
    # The graph mapped the outputs to y's units in float32: NaN and -inf
    # for targets of 1e40, and 5e6 + 0.1 y rounded to float32's spacing of
    # 0.5 there (predictions 0.2 from predict's, whose spread was 0.5). A
    # mean below float32's smallest number (5e-46) was dropped by
    # onnxruntime's graph optimizations: predictions of the other sign.
    X = sequences()
    y = offset + scale * X[:, -3:, 0].sum(axis=1).astype(np.float64)
    reg = RNNRegressor(**FAST).fit(X, y)
    predictions = run(export_onnx(reg, tmp_path / "model.onnx"), X)
    assert predictions.dtype == np.float64
    np.testing.assert_allclose(predictions, reg.predict(X), rtol=1e-6, atol=ATOL * scale)


def test_date_labels_are_stored_as_numpys_strings(tmp_path):
    # json.dumps raised on datetime.date after the whole export, and wrote
    # nanosecond datetimes as integers.
    X = sequences()
    for unit in ("D", "ns"):
        labels = np.array(["2020-01-01", "2021-01-01"], dtype=f"datetime64[{unit}]")
        clf = RNNClassifier(**FAST).fit(X, labels[(X[:, -1, 0] > 0).astype(int)])
        model = onnx.load(export_onnx(clf, tmp_path / "model.onnx"))
        stored = json.loads({p.key: p.value for p in model.metadata_props}["classes"])
        assert np.array(stored, dtype=clf.classes_.dtype).tolist() == clf.classes_.tolist()


def test_export_records_labels_changes_nothing_and_warns_nothing(tmp_path):
    X = sequences()
    y = np.where(X[:, -1, 0] > 0, "up", "down")
    clf = RNNClassifier(**FAST).fit(X, y)
    before, mode = clf.predict_proba(X), clf.net_.module_.training
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        path = export_onnx(clf, tmp_path / "model.onnx")
    np.testing.assert_array_equal(clf.predict_proba(X), before)
    assert clf.net_.module_.training == mode
    model = onnx.load(path)
    onnx.checker.check_model(model)
    meta = {p.key: p.value for p in model.metadata_props}
    assert meta["estimator"] == "RNNClassifier"
    classes = np.array(json.loads(meta["classes"]))
    assert [i.name for i in model.graph.input] == ["X"]
    assert [o.name for o in model.graph.output] == ["probabilities"]
    assert classes[run(path, X).argmax(axis=1)].tolist() == clf.predict(X).tolist()
    # The recurrent layers are ONNX's own operator, not an unrolled loop; the
    # front end's convolutions are in the graph.
    ops = {node.op_type for node in model.graph.node}
    assert {"LSTM", "Conv"} <= ops and "Loop" not in ops and "Scan" not in ops


def test_exports_run_one_at_a_time_and_other_threads_run_their_own_code(tmp_path):
    # torch's flag of export is the process's: while one thread exported, fits
    # in others ran the exported operator, which has no gradient ("Trying to
    # backward through sklrnn.recurrent_layer"). Two exports at once both
    # failed inside torch, and left a warning filter behind.
    import sklrnn._module

    X, y = sequences(), np.arange(24) % 2
    clf = RNNClassifier(**FAST).fit(X, y)
    seen, done = set(), threading.Event()

    def watch():  # what the module's code in another thread sees
        while not done.is_set():
            seen.add((torch.compiler.is_exporting(), sklrnn._module._is_exporting()))
            time.sleep(1e-3)

    filters = list(warnings.filters)
    exports = [
        threading.Thread(target=export_onnx, args=(clf, tmp_path / f"{i}.onnx")) for i in range(2)
    ]
    watcher = threading.Thread(target=watch)
    for thread in [watcher, *exports]:
        thread.start()
    for thread in exports:
        thread.join()
    done.set()
    watcher.join()
    assert (True, False) in seen and (True, True) not in seen
    assert warnings.filters == filters
    for i in range(2):
        np.testing.assert_allclose(run(tmp_path / f"{i}.onnx", X), clf.predict_proba(X), atol=ATOL)


@pytest.mark.skipif(not hasattr(os, "fork"), reason="os.fork is POSIX only")
# Python 3.12+ warns of any fork in a process with threads, as this test does.
@pytest.mark.filterwarnings("ignore:This process .* is multi-threaded:DeprecationWarning")
def test_a_process_forked_during_an_export_can_export(tmp_path, forked_while_held):
    # The export lock, held by an export in another thread, was copied held
    # into the child, whose exports then waited for ever.
    from sklrnn._module import exporting

    clf = RNNClassifier(**FAST).fit(sequences(), np.arange(24) % 2)
    child = forked_while_held(exporting(), lambda: export_onnx(clf, tmp_path / "child.onnx"))
    assert child == 0
    np.testing.assert_allclose(
        run(tmp_path / "child.onnx", sequences()), clf.predict_proba(sequences()), atol=ATOL
    )


def test_a_module_exports_strictly_outside_export_onnx():
    # _is_exporting asked for the thread's identity, which torch's strict
    # (dynamo) export cannot trace: it refused every fitted module.
    clf = RNNClassifier(**dict(FAST, kernel_features=0)).fit(sequences(), np.arange(24) % 2)
    module = clf.net_.module_.eval()
    X, lengths = torch.as_tensor(sequences()[:2]), torch.tensor([9, 9])
    with torch.no_grad():
        program = torch.export.export(module, (X, lengths), strict=True)
        np.testing.assert_allclose(program.module()(X, lengths), module(X, lengths), atol=1e-6)


def test_the_random_kernels_export_without_fixing_the_batch_size():
    # len(X) in the kernels' passes fixed the batch size at the example's 2:
    # torch's exporter failed its first (non-strict) capture and ran a
    # second, strict one, 1.4 to 2.3 s more per export.
    import torch

    from sklrnn._onnx import _prediction_graph

    clf = RNNClassifier(**FAST).fit(sequences(), np.arange(24) % 2)
    graph, _ = _prediction_graph(clf)
    dims = {0: torch.export.Dim.DYNAMIC, 1: torch.export.Dim.DYNAMIC}
    with torch.no_grad():
        program = torch.export.export(
            graph, (torch.zeros(2, 8, 2),), dynamic_shapes={"X": dims}, strict=False
        )
    (name,) = program.graph_signature.user_inputs
    X = next(node for node in program.graph.nodes if node.name == name)
    batch, steps = X.meta["val"].shape[:2]
    assert not isinstance(batch, int) and not isinstance(steps, int)  # both free


def test_export_drops_the_exporters_notices_of_a_missing_torchvision(tmp_path, monkeypatch, caplog):
    # The first export of a process logged "torchvision is not installed.
    # Skipping torchvision::nms" and three more: no graph of sklrnn holds one.
    import torch

    clf = RNNClassifier(**FAST).fit(sequences(), np.arange(24) % 2)
    logger = logging.getLogger("torch.onnx._internal.exporter._registration")

    def export(*args, **kwargs):  # what the exporter logs when it builds its registry
        logger.warning("torchvision is not installed. Skipping %s", "torchvision::nms")
        logger.warning("another notice")
        raise RuntimeError("stop here")

    monkeypatch.setattr(torch.onnx, "export", export)
    # The records that reach the logger's handlers (torch's logging may keep
    # them from propagating to the root's).
    records = []
    handler = logging.Handler()
    handler.emit = records.append
    logger.addHandler(handler)
    try:
        with caplog.at_level(logging.WARNING, logger=logger.name):
            with pytest.raises(RuntimeError, match="stop here"):
                export_onnx(clf, tmp_path / "model.onnx")
    finally:
        logger.removeHandler(handler)
    assert [record.getMessage() for record in records] == ["another notice"]
    assert not logger.filters  # only during the export


def test_errors(tmp_path):
    X = sequences()
    with pytest.raises(NotFittedError):
        export_onnx(RNNClassifier(), tmp_path / "m.onnx")
    with pytest.raises(TypeError, match="needs a fitted sklrnn estimator"):
        export_onnx(LogisticRegression().fit(X[:, :, 0], np.arange(24) % 2), tmp_path / "m.onnx")
    clf = RNNClassifier(**FAST).fit(X, np.arange(24) % 2)
    # Checked before the export, which takes seconds (a missing folder failed after it).
    for path in (tmp_path, tmp_path / "missing" / "m.onnx", ""):
        with pytest.raises(ValueError, match="give the path of a file in an existing folder"):
            export_onnx(clf, path)
    for value in ("10", 0, 10**6):
        with pytest.raises(ValueError, match="'example_length' parameter of export_onnx"):
            export_onnx(clf, tmp_path / "m.onnx", example_length=value)
    with pytest.raises(
        TypeError,
        match="'example_length' parameter of export_onnx must be an int, got the bool True",
    ):
        export_onnx(clf, tmp_path / "m.onnx", example_length=True)
    with pytest.raises(ValueError, match="'opset_version' parameter of export_onnx"):
        export_onnx(clf, tmp_path / "m.onnx", opset_version="18")
    # A max_length set after fit went into the graph unchecked: 0 exported a
    # graph of NaN probabilities, "3" failed inside torch.export.
    for value in (0, "3"):
        with pytest.raises(ValueError, match="'max_length' parameter of RNNClassifier"):
            export_onnx(clf.set_params(max_length=value), tmp_path / "m.onnx")
    assert not (tmp_path / "m.onnx").exists()


def test_an_opset_the_exporter_does_not_write_is_an_error(tmp_path, monkeypatch):
    # torch's exporter falls back to opset 18, logging a traceback: the
    # requested version was silently ignored. Versions it cannot write are
    # refused before the export.
    clf = RNNClassifier(**FAST).fit(sequences(), np.arange(24) % 2)
    newest = onnx.defs.onnx_opset_version()
    for version in (0, 17):
        with pytest.raises(ValueError, match=r"'opset_version' parameter .* range \[18, inf\)"):
            export_onnx(clf, tmp_path / "m.onnx", opset_version=version)
    with pytest.raises(ValueError, match=f"opset_version must be from 18, .* got {newest + 1}"):
        export_onnx(clf, tmp_path / "m.onnx", opset_version=newest + 1)
    assert not (tmp_path / "m.onnx").exists()
    # A version the exporter falls back from after all is still caught.
    monkeypatch.setattr(onnx.defs, "onnx_opset_version", lambda: 99)
    with pytest.raises(ValueError, match="could not write ONNX opset 99; it wrote opset 18"):
        export_onnx(clf, tmp_path / "m.onnx", opset_version=99)


def test_a_graph_whose_input_sizes_the_exporter_fixed_is_refused(tmp_path, monkeypatch):
    # As an exporter that ignored the dynamic shapes: the graph would take
    # the example's shape only.
    clf = RNNClassifier(**FAST).fit(sequences(), np.arange(24) % 2)
    monkeypatch.setattr(torch.export.Dim, "DYNAMIC", torch.export.Dim.STATIC)
    with pytest.raises(RuntimeError, match="fixed the batch and time size"):
        export_onnx(clf, tmp_path / "m.onnx")
    assert not (tmp_path / "m.onnx").exists()
