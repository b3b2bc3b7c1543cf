"""The accuracy benchmarks that the documentation quotes still run.

Tiny epoch budgets: these check the scripts' options and plumbing, not the
figures (``benchmarks/README.md`` gives the commands that produce those).
"""

import importlib.util
import json
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from sklrnn._module import RNNModule

BENCHMARKS = Path(__file__).resolve().parents[1] / "benchmarks"


@pytest.fixture
def variants(monkeypatch):
    # As when the script runs: benchmarks/ on the path, for its sibling accuracy.py.
    monkeypatch.syspath_prepend(str(BENCHMARKS))
    spec = importlib.util.spec_from_file_location("variants", BENCHMARKS / "accuracy_variants.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def run(script, *args):
    return subprocess.run(
        [sys.executable, str(BENCHMARKS / script), *args],
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_accuracy_search_row():
    result = run(
        "accuracy.py",
        "--datasets=italy_power_demand",
        "--seeds=1",
        "--search",
        "--set=max_epochs=1",
    )
    assert result.returncode == 0, result.stderr
    assert "| GridSearchCV: readout x lr, 5-fold | 0." in result.stdout
    # The refitted best parameters are reported, one line per seed.
    assert "italy_power_demand, seed 0: {'lr': " in result.stdout


def test_accuracy_variants_record():
    result = run(
        "accuracy_variants.py",
        "n_networks=2,noise=0.1,phase_average,sam=0.05,max_epochs=2",
        "--seeds=0:2",
        "--dataset=italy_power_demand",
    )
    assert result.returncode == 0, result.stderr
    record = json.loads(result.stdout.strip().splitlines()[-1])
    assert record["epochs"] == [2, 2]
    assert len(record["scores"]) == 2
    assert 0.5 < record["mean"] <= 1


def test_accuracy_variants_parse(variants):
    params, patches, diff = variants.parse_variant("diff,cosine=50,hidden_size=64,lr=3e-3")
    assert diff
    assert not patches
    assert params["max_epochs"] == 50 and params["early_stopping"] is False
    assert params["hidden_size"] == 64 and params["lr"] == 3e-3
    assert len(params["callbacks"]) == 1
    with pytest.raises(SystemExit, match="unknown change 'no_such_change'"):
        variants.parse_variant("noise=0.1,no_such_change")
    with pytest.raises(SystemExit, match="cosine needs a value"):
        variants.parse_variant("cosine")
    with pytest.raises(SystemExit, match="use one of them"):
        variants.parse_variant("mixup=0.2,sam=0.05")


def test_accuracy_variants_input_changes_compose(variants):
    # Two changes of the training input (e.g. scaling and noise) both apply
    # (the one entered last first); predictions are left alone.
    torch.manual_seed(0)
    module = RNNModule(n_features=1, n_outputs=2)
    X, lengths = torch.randn(3, 6, 1), torch.tensor([6, 6, 6])
    with torch.no_grad():
        expected = module(2 * X + 1, lengths)
        with (
            variants._patch_forward(lambda m, X: X + 1),
            variants._patch_forward(lambda m, X: 2 * X),
        ):
            got = module(X, lengths)
            module.eval()
            untouched = module(X, lengths)
        reference = module(X, lengths)
    torch.testing.assert_close(got, expected)
    torch.testing.assert_close(untouched, reference)
    assert RNNModule.forward is variants.RNNModule.forward  # the patches are undone
