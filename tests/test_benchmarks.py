"""The accuracy and calibration protocols of ``benchmarks/`` run end to end.

Tiny settings (one data set, 2 folds, one epoch of a tiny network): these
check the commands' plumbing and their printed tables, not the figures
(``benchmarks/README.md`` gives the commands that produce those).
"""

import contextlib
import importlib.util
import io
import json
import os
import random
import re
import subprocess
import sys
import warnings
from pathlib import Path

import numpy as np
import pytest
import torch

ROOT = Path(__file__).resolve().parents[1]
BENCHMARKS = ROOT / "benchmarks"
# accuracy.py reads the development collection from ../shared/data, beside
# the repository.
DATA = ROOT.parent / "shared" / "data"
TINY = ["--set=max_epochs=1", "--set=hidden_size=4", "--set=conv_channels=4"]


def run_benchmark(script, *args):
    """``python benchmarks/<script> <args>``, run in this process.

    A fresh interpreter per run spent some 7 s importing torch and sklearn
    before each tiny run; ``main(args)`` here reuses this process's imports.
    The result reads as a finished subprocess's: the exit status (a message
    passed to ``SystemExit`` is printed to stderr with status 1, as Python
    does), stdout and stderr. Anything else a script raises fails the test.
    ``test_accuracy_rejects_bad_set`` runs the real command line.
    """
    if not (DATA / "ItalyPowerDemand").is_dir():
        pytest.skip(f"the development collection is not in {DATA}")
    command = [str(BENCHMARKS / script), *args]
    # What a command may set for its process is put back for the tests that
    # run after it here: the scripts set torch's thread count, bench_fit
    # flushes denormal floats (the hypothesis tests then fail: "can't
    # represent subnormal floats"), fits draw from the global generators, and
    # scripts add warnings filters, set OMP_NUM_THREADS where it is unset and
    # put their folder on sys.path.
    saved = (list(sys.path), list(sys.argv), dict(os.environ), torch.get_num_threads())
    rngs = torch.get_rng_state(), np.random.get_state(), random.getstate()
    denormals_kept = bool(torch.tensor(5e-324, dtype=torch.float64) * 1.0 > 0)
    stdout, stderr = io.StringIO(), io.StringIO()
    # As the command line has it: the scripts import their siblings
    # (``from accuracy import ...``), and argparse names the script.
    sys.path.insert(0, str(BENCHMARKS))
    sys.argv = list(command)
    try:
        with (
            warnings.catch_warnings(),
            contextlib.chdir(ROOT),
            contextlib.redirect_stdout(stdout),
            contextlib.redirect_stderr(stderr),
        ):
            try:
                importlib.import_module(script.removesuffix(".py")).main(list(args))
                returncode = 0
            except SystemExit as exit_:
                if exit_.code is None or isinstance(exit_.code, int):
                    returncode = exit_.code or 0
                else:
                    print(exit_.code, file=sys.stderr)
                    returncode = 1
    finally:
        sys.path[:], sys.argv[:] = saved[0], saved[1]
        os.environ.clear()
        os.environ.update(saved[2])
        torch.set_num_threads(saved[3])
        torch.set_flush_denormal(not denormals_kept)
        torch.set_rng_state(rngs[0])
        np.random.set_state(rngs[1])
        random.setstate(rngs[2])
    return subprocess.CompletedProcess(command, returncode, stdout.getvalue(), stderr.getvalue())


def run_accuracy(*args):
    return run_benchmark("accuracy.py", *args)


def run_command(script, *args):
    """``python benchmarks/<script> <args>`` in a fresh interpreter, as the README runs it."""
    if not (DATA / "ItalyPowerDemand").is_dir():
        pytest.skip(f"the development collection is not in {DATA}")
    # The scripts import the sklrnn of this checkout, also where another is installed.
    path = os.pathsep.join(p for p in (str(ROOT), os.environ.get("PYTHONPATH")) if p)
    return subprocess.run(
        [sys.executable, str(BENCHMARKS / script), *args],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": path},
    )


def benchmark_module(name):
    """A script of ``benchmarks/`` imported as a module, without leaving it on sys.path."""
    sys.path.insert(0, str(BENCHMARKS))
    try:
        return importlib.import_module(name)
    finally:
        sys.path.remove(str(BENCHMARKS))


def table_score(stdout, model, dataset):
    """The mean CV score in the row of ``dataset`` under ``## model``."""
    section = stdout.split(f"## {model}\n", 1)[1].split("\n## ", 1)[0]
    row = re.search(rf"^\| {dataset} \| (\S+) ± (\S+) \| (\S+) \|$", section, re.MULTILINE)
    assert row, section
    return float(row.group(1))


def test_accuracy_cv(tmp_path):
    records = tmp_path / "fits.jsonl"
    result = run_accuracy(
        "cv", "--datasets=ItalyPowerDemand", "--folds=2", f"--jsonl={records}", *TINY
    )
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert out.startswith("cv: {'max_epochs': 1, 'hidden_size': 4, 'conv_channels': 4}, seeds 1")
    assert "| data set | CV score (mean ± std over seeds) | fit s |" in out
    assert 0 <= table_score(out, "rnn", "ItalyPowerDemand") <= 1
    mean = re.search(r"Mean CV accuracy over 1 classification sets: (\S+)", out)
    assert mean and 0 <= float(mean.group(1)) <= 1
    assert "## minirocket" not in out  # peers only with --peers
    # One record per fit: 2 folds of the training split, the settings applied.
    fits = [json.loads(line) for line in records.read_text().splitlines()]
    assert sorted(r["fold"] for r in fits) == [0, 1]
    assert all(r["model"] == "rnn" and r["epochs"] == 1 for r in fits)
    assert fits[0]["params"] == {"max_epochs": "1", "hidden_size": "4", "conv_channels": "4"}


def test_accuracy_cv_peers():
    pytest.importorskip("aeon")  # pip install -e .[bench]
    result = run_accuracy("cv", "--datasets=ItalyPowerDemand", "--folds=2", "--peers", *TINY)
    assert result.returncode == 0, result.stderr
    for model in ("rnn", "minirocket", "ridge"):
        assert 0 <= table_score(result.stdout, model, "ItalyPowerDemand") <= 1


def test_accuracy_cv_shots(tmp_path):
    records = tmp_path / "fits.jsonl"
    result = run_accuracy(
        "cv",
        "--shots=2",
        "--seeds=2",
        "--datasets=ItalyPowerDemand,PigCVP",
        f"--jsonl={records}",
        *TINY,
    )
    assert result.returncode == 0, result.stderr
    assert ", seeds 2, 2 series per class\n" in result.stdout
    assert 0 <= table_score(result.stdout, "rnn", "ItalyPowerDemand") <= 1
    # PigCVP has 2 series per class: none would be left to score.
    assert "PigCVP" not in result.stdout
    fits = [json.loads(line) for line in records.read_text().splitlines()]
    assert sorted((r["seed"], r["fold"], r["shots"]) for r in fits) == [(0, 0, 2), (1, 0, 2)]


def test_accuracy_rejects_shots_no_set_has():
    result = run_accuracy("cv", "--shots=34", "--datasets=ItalyPowerDemand")
    assert result.returncode != 0
    assert "--shots 34: no set has more series in every class" in result.stderr


def test_importing_a_benchmark_script_leaves_the_process_as_it_was():
    # bench_fit flushed denormal floats to zero on import: in the test worker
    # that imported it, the hypothesis tests after it failed ("can't
    # represent subnormal floats").
    # In a fresh process, where no script was imported before.
    code = (
        "import glob, importlib, os, sys, numpy, torch\n"
        f"sys.path.insert(0, {str(BENCHMARKS)!r})\n"
        "torch.set_num_threads(2)\n"  # not what a script might set
        f"for path in sorted(glob.glob(os.path.join({str(BENCHMARKS)!r}, '*.py'))):\n"
        "    importlib.import_module(os.path.basename(path)[:-3])\n"
        "print(numpy.float64(5e-324) * 1.0 > 0, torch.get_num_threads() == 2)\n"
    )
    path = os.pathsep.join(p for p in (str(ROOT), os.environ.get("PYTHONPATH")) if p)
    result = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": path},
    )
    assert result.stdout.split() == ["True", "True"], result.stderr


@pytest.mark.parametrize(
    "script, args, message",
    [
        # Each ran nothing and exited 0, printed NaN tables, ran the default
        # instead, or ended in a KeyError or FileNotFoundError naming no choice.
        ("accuracy", ["cv", "--seeds=0"], "--seeds: 0: takes an integer of at least 1"),
        ("accuracy", ["cv", "--folds=1"], "--folds: 1: takes an integer of at least 2"),
        ("accuracy", ["cv", "--shots=0"], "--shots: 0: takes an integer of at least 1"),
        ("accuracy", ["test", "--shots=2"], "--shots works with cv only"),
        ("accuracy", ["cv", "--datasets=Gunpoint"], "unknown ['Gunpoint']; choose from Ital"),
        ("accuracy", ["test", "--report=/nowhere.jsonl"], "--report /nowhere.jsonl: no such"),
        ("bench_engine", ["--parts=layer"], "--parts: unknown ['layer']; choose from layers, fits"),
        ("bench_engine", ["--parts=layers,"], "--parts: unknown ['']; choose from layers"),
        ("bench_engine", ["--repeats=0"], "--repeats: 0: takes an integer of at least 1"),
        ("bench_fit", ["--configs=tiny"], "unknown ['tiny']; choose from small, large, overhead"),
        ("bench_forecast", ["--seeds=-1"], "--seeds: -1: takes an integer of at least 1"),
        ("bench_uncertainty", ["classification", "--seeds=0"], "--seeds: 0: takes an integer"),
        (
            "bench_uncertainty",
            ["classification", "--datasets=Covid3Month"],
            "--datasets: not classification sets: Covid3Month",
        ),
        ("bench_embeddings", ["--datasets=Covid3Month"], "unknown ['Covid3Month']; choose from"),
        ("bench_default_fit", ["--seeds=0,x"], "--seeds: 0,x: takes comma-separated integers"),
        ("bench_batch_size", ["--batch-sizes=32,0"], "--batch-sizes: 0: takes an integer of at"),
        ("bench_n_jobs", ["--n=x"], "--n: invalid int value: 'x'"),
    ],
)
def test_benchmarks_refuse_bad_flags_before_running(script, args, message, capsys):
    with pytest.raises(SystemExit) as exit_:
        benchmark_module(script).main(args)
    assert exit_.value.code == 2
    assert message in capsys.readouterr().err


def test_accuracy_names_a_missing_development_collection(monkeypatch, tmp_path, capsys):
    # A clone without ../shared/data ended in a FileNotFoundError from load_ts_file.
    accuracy = benchmark_module("accuracy")
    monkeypatch.setattr(accuracy, "DATA", str(tmp_path))
    with pytest.raises(SystemExit) as exit_:
        accuracy.main(["test", "--datasets=ItalyPowerDemand,Tecator"])
    assert exit_.value.code == 2
    assert f"ItalyPowerDemand: not in {tmp_path}, where the development" in capsys.readouterr().err


def test_cv_splits_shots():
    cv_splits = benchmark_module("accuracy").cv_splits
    y = np.repeat(["a", "b", "c"], [5, 3, 7])
    draws = []
    for seed in range(6):
        [(train, test)] = cv_splits("any", y, folds=5, seed=seed, shots=2)
        # Two of each class to fit, every other series scored, none in both.
        assert sorted(y[train]) == ["a", "a", "b", "b", "c", "c"]
        assert sorted(np.r_[train, test]) == list(range(len(y)))
        draws.append(tuple(train))
    [(again, _)] = cv_splits("any", y, folds=5, seed=5, shots=2)
    assert tuple(again) == draws[5]  # one draw per seed
    assert len(set(draws)) > 1


def test_accuracy_rejects_bad_set():
    # The one run of a script's command line (its ``__main__`` entry, the
    # checkout's sklrnn on PYTHONPATH, a SystemExit message's status): the
    # other runs call main() in this process. A refusal, the cheapest.
    result = run_command("accuracy.py", "cv", "--datasets=ItalyPowerDemand", "--set=max_epochs")
    assert result.returncode != 0
    assert "--set needs key=value" in result.stderr


def test_accuracy_set_reads_literals_and_else_strings():
    accuracy = benchmark_module("accuracy")
    params = accuracy.parse_set(["cell_type=gru", "lr=1e-3", "readout='mean'", "kernel_features=0"])
    # A bare word was a traceback ("malformed node or string").
    assert params == {"cell_type": "gru", "lr": 1e-3, "readout": "mean", "kernel_features": 0}


def test_accuracy_reads_tecator_from_sktime_or_names_the_extra(monkeypatch):
    # The second regression set of the protocol is sktime's bundled copy.
    accuracy = benchmark_module("accuracy")
    if importlib.util.find_spec("sktime") is not None:
        X, y = accuracy.load("Tecator", "train")
        assert X.shape == (172, 100) and y.shape == (172,) and np.isfinite(y).all()
    monkeypatch.setattr(accuracy.importlib.util, "find_spec", lambda name: None)
    with pytest.raises(
        SystemExit, match=r"Tecator, read from sktime.* needs sktime: pip .*\[bench\]"
    ):
        accuracy.load("Tecator", "test")
    # aeon's sets and MiniRocket, which ended in a bare ModuleNotFoundError.
    with pytest.raises(SystemExit, match=r"UnitTest, read from aeon.* needs aeon: pip .*\[bench\]"):
        accuracy.load("UnitTest", "test")
    with pytest.raises(SystemExit, match=r"MiniRocket, the peer .* needs aeon: pip .*\[bench\]"):
        accuracy.main(["cv", "--peers", "--datasets=ItalyPowerDemand"])


def test_accuracy_report_tables_the_sets_its_file_holds(tmp_path):
    # Sets missing from the file were rows of nan, and a mean of nan.
    record = {"dataset": "GunPoint", "model": "rnn", "seed": 0, "fold": None, "params": {}}
    record.update(score=0.98, train_score=1.0, fit_seconds=2.0, epochs=150)
    path = tmp_path / "test.jsonl"
    path.write_text(json.dumps(record) + "\n")
    result = run_accuracy("test", f"--report={path}")
    assert result.returncode == 0, result.stderr
    assert "| GunPoint | 1.000 | 0.980 ± 0.000 | 2.0 |" in result.stdout
    assert "nan" not in result.stdout and "| mean accuracy of 1 | | 0.980 | " in result.stdout
    assert "95% interval" not in result.stdout  # a record without per-series losses
    result = run_accuracy("test", f"--report={path}", "--datasets=Trace")
    assert result.returncode == 1 and "no test record of the sets asked for" in result.stderr


def test_accuracy_report_gives_paired_intervals(tmp_path):
    base = {"dataset": "GunPoint", "fold": None, "params": {}, "train_score": 1.0}
    base.update(fit_seconds=1.0, epochs=1)
    records = [
        # rnn misses one series of four on both seeds, MiniRocket two.
        {**base, "model": "rnn", "seed": s, "score": 0.75, "losses": [0, 0, 1, 0]}
        for s in (0, 1)
    ] + [
        {**base, "model": "minirocket", "seed": s, "score": 0.5, "losses": [0, 1, 1, 0]}
        for s in (0, 1)
    ]
    path = tmp_path / "test.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in records))
    result = run_accuracy("test", f"--report={path}")
    assert result.returncode == 0, result.stderr
    assert "| data set | test series | rnn - minirocket [95% interval] |" in result.stdout
    row = re.search(r"^\| GunPoint \| 4 \| \+0\.2500 \[(\S+), (\S+)\] \|$", result.stdout, re.M)
    assert row, result.stdout
    # rnn is never worse on a series, so no draw of them puts it behind.
    low, high = (float(v) for v in row.groups())
    assert 0 <= low <= 0.25 <= high <= 1


def test_paired_interval_of_rmse():
    accuracy = benchmark_module("accuracy")
    # Every squared error 1 against 4: RMSE 1 against 2 in every bootstrap draw.
    assert accuracy.paired_interval("Covid3Month", [1.0] * 5, [4.0] * 5) == (-1.0, -1.0, -1.0)
    difference, low, high = accuracy.paired_interval("Covid3Month", [0, 0, 4, 1], [1, 1, 1, 1])
    assert difference == pytest.approx(np.sqrt(5 / 4) - 1) and low < difference < high


def test_accuracy_external_variable_length():
    """The external collection's variable-length set reaches the network as 3D."""
    pytest.importorskip("aeon")  # its bundled sets are the external collection
    result = run_accuracy(
        "test", "--external", "--datasets=PickupGestureWiimoteZ", "--seeds=1", *TINY
    )
    assert result.returncode == 0, result.stderr
    row = re.search(r"^\| PickupGestureWiimoteZ \| (\S+) \| (\S+) ±", result.stdout, re.MULTILINE)
    assert row, result.stdout
    assert 0 <= float(row.group(2)) <= 1


def test_embeddings_benchmark_prints_both_tasks():
    result = run_benchmark(
        "bench_embeddings.py", "--datasets=GunPoint,BasicMotions", "--seeds=1", *TINY
    )
    assert result.returncode == 0, result.stderr
    out = result.stdout
    same, unseen = out.split("## task: same\n", 1)[1].split("## task: unseen\n")
    # Every set in the first task; only sets of 4 or more classes in the second.
    assert "| GunPoint |" in same and "| BasicMotions |" in same
    assert "| BasicMotions |" in unseen and "GunPoint" not in unseen
    row = re.search(r"^\| GunPoint \| (\S+) ± \S+ \| (\S+) ± \S+ \| (\S+) ± ", same, re.M)
    assert row and all(0 <= float(v) <= 1 for v in row.groups())
    # No network accuracy on unseen classes: the network cannot name them.
    assert re.search(r"^\| BasicMotions \| n/a \| ", unseen, re.M)


def test_uncertainty_regression_runs():
    result = run_benchmark(
        "bench_uncertainty.py", "regression", "--datasets=heteroscedastic", "--seeds=1", *TINY
    )
    assert result.returncode == 0, result.stderr
    rows = dict(re.findall(r"^\| (one network[^|]*?) \| (\S+) \|", result.stdout, re.MULTILINE))
    assert set(rows) == {
        "one network (default): dropout/spread only",
        "one network (default)",
        "one network, split conformal",
    }
    assert all(0 <= float(coverage) <= 1 for coverage in rows.values())
    assert "coverage, noisiest third" in result.stdout


def test_forecast_benchmark_prints_the_network_and_its_peers():
    # With --jobs=2, as its README command runs: the worker processes could
    # not unpickle the fold function's cached data reader ("Can't get
    # attribute 'windows'").
    result = run_benchmark("bench_forecast.py", "--seeds=1", "--jobs=2", *TINY)
    assert result.returncode == 0, result.stderr
    network = re.search(
        r"^\| RNNRegressor \| (\S+) \| \S+ \| (\d) of 4 fits \|$", result.stdout, re.M
    )
    assert network and float(network.group(1)) > 0, result.stdout
    # The peers have no randomness: their errors are facts of the series.
    for name, mae in [
        ("naive", "67.4"),
        ("seasonal naive", "36.6"),
        ("ridge on the window", "18.9"),
    ]:
        assert re.search(rf"^\| {name} \| {mae} \| \| \|$", result.stdout, re.M), result.stdout


@pytest.mark.parametrize(
    "split, title",
    [([], "Test splits"), (["--cv"], "5-fold CV within the training splits")],
)
def test_uncertainty_classification_runs(split, title):
    result = run_benchmark(
        "bench_uncertainty.py",
        "classification",
        "--datasets=ItalyPowerDemand",
        "--seeds=1",
        *split,
        *TINY,
    )
    assert result.returncode == 0, result.stderr
    assert f"{title}, means over 1 seed(s)" in result.stdout
    row = re.search(r"^\| ItalyPowerDemand \| (.*) \|$", result.stdout, re.MULTILINE)
    accuracy, ece, loss, *calibrated = (float(v) for v in row.group(1).split(" | "))
    assert 0 <= ece <= 1 and loss > 0 and len(calibrated) == 3


def test_uncertainty_refuses_what_it_would_table_as_blanks():
    # A set too small for --shots crashed a worker ("Found array with 0
    # sample(s)"); a shot count no set allows and an unknown model printed
    # empty tables.
    if not (DATA / "ItalyPowerDemand").is_dir():
        pytest.skip(f"the development collection is not in {DATA}")
    uncertainty = benchmark_module("bench_uncertainty")
    with pytest.raises(SystemExit, match="--shots 40: no set has more series in every class"):
        uncertainty.main(["classification", "--shots=40", "--datasets=ItalyPowerDemand,PigCVP"])
    with pytest.raises(SystemExit, match=r"--models: unknown \['ensemble'\]; .*'temperature'"):
        uncertainty.main(["classification", "--models=ensemble"])


def test_fit_benchmark_compares_the_three_loops():
    result = run_benchmark("bench_fit.py", "--configs=overhead", "--repeats=1", "--device=cpu")
    assert result.returncode == 0, result.stderr
    assert "device cpu" in result.stdout
    # The reference loop against itself, then sklrnn and skorch: fit and predict, wall and CPU.
    rows = re.findall(
        r"^ +(raw|sklrnn|skorch) +\S+ +\S+ +(\S+) +(\S+) +(\S+)$", result.stdout, re.M
    )
    assert [name for name, *_ in rows] == ["raw", "sklrnn", "skorch"] * 4
    assert all(row[1:] == ("1.000",) * 3 for row in rows if row[0] == "raw")


def test_fit_benchmark_refuses_a_missing_device():
    if torch.cuda.is_available():
        pytest.skip("CUDA is available")
    result = run_benchmark("bench_fit.py", "--device=cuda")
    assert result.returncode == 2
    assert "--device cuda: CUDA is not available" in result.stderr


def test_batch_size_benchmark_prints_one_row_per_size():
    args = ["--n=256", "--length=10", "--batch-sizes=32,64", "--repeats=1"]
    result = run_benchmark("bench_batch_size.py", *args)
    assert result.returncode == 0, result.stderr
    rows = re.findall(
        r"^\| (\d+) \| ([\d,]+) \| (\S+) \| ([\d,]+) \| (\S+) \|$", result.stdout, re.M
    )
    assert [row[0] for row in rows] == ["32", "64"]
    assert rows[0][2] == rows[0][4] == "1.00"  # the reference row


def test_floor_benchmark_prints_a_row_per_set():
    result = run_benchmark("bench_floor.py", "--datasets=ItalyPowerDemand")
    assert result.returncode == 0, result.stderr
    assert re.search(r"^matrix product rate: \d+ GFLOP/s", result.stdout, re.M)
    row = re.search(
        r"^\| ItalyPowerDemand \| (\d+) \| (\d+) \| \S+ \| \S+ \| \S+ \|$", result.stdout, re.M
    )
    # 100 epochs ("auto": about 300 steps) of 3 batches of the 67 training series.
    assert row and row.group(1) == "300" and int(row.group(2)) > 0


def test_expected_calibration_error():
    uncertainty = benchmark_module("bench_uncertainty")
    conformal_factor = uncertainty.conformal_factor
    expected_calibration_error = uncertainty.expected_calibration_error
    # Always sure of class 0, right 70% of the time: off by 0.3.
    proba = np.tile([1.0, 0.0], (10, 1))
    assert expected_calibration_error(np.r_[np.zeros(7), np.ones(3)], proba) == pytest.approx(0.3)
    # Confidences drawn at random and right that often: close to 0.
    rng = np.random.RandomState(0)
    confidence = rng.uniform(0.5, 1.0, 20000)
    y = np.where(rng.rand(20000) < confidence, 0, 1)
    proba = np.c_[confidence, 1 - confidence]
    assert expected_calibration_error(y, proba) < 0.02
    # Residuals of std 2 against a std of 1: the factor that covers 95% is 2.
    z = rng.normal(scale=2.0, size=20000)
    assert conformal_factor(z, np.zeros(20000), np.ones(20000)) == pytest.approx(2.0, rel=0.03)


def test_default_fit_benchmark_times_random_sets():
    # Two features, the cheapest default fit: the plumbing of --features, not its figures.
    result = run_benchmark("bench_default_fit.py", "--features=2", "--kernel-features=0")
    assert result.returncode == 0, result.stderr
    row = re.search(
        r"^\| random \(100, 144, 2 features\) \| 0 \| 0 \| (\S+) \|", result.stdout, re.M
    )
    assert row and float(row.group(1)) > 0
