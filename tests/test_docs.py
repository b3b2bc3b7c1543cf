"""The documentation: docstrings of public objects, the API page, the Sphinx build.

The build runs the example gallery, so it also checks that every
``examples/plot_*.py`` runs and draws its figures. ``make -C docs html`` is
the same build from the command line.
"""

import inspect
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from numpydoc.validate import validate

import sklrnn
import sklrnn.datasets

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"

PUBLIC = [f"sklrnn.{name}" for name in sklrnn.__all__ if name != "__version__"] + [
    f"sklrnn.datasets.{name}" for name in sklrnn.datasets.__all__
]


def resolve(name):
    module, _, attr = name.rpartition(".")
    return getattr(sys.modules[module], attr)


def public_methods(name):
    obj = resolve(name)
    if not inspect.isclass(obj):
        return []
    # Also those a base class of sklrnn's gives (RNNClassifier.transform).
    return sorted(
        {
            f"{name}.{method}"
            for cls in obj.__mro__
            if cls.__module__.startswith("sklrnn")
            for method, value in vars(cls).items()
            if not method.startswith("_")
            and (inspect.isfunction(value) or isinstance(value, classmethod | staticmethod))
        }
    )


@pytest.mark.parametrize("name", PUBLIC)
def test_public_object_has_numpydoc_docstring_with_example(name):
    report = validate(name)
    codes = {code for code, _ in report["errors"]}
    assert "GL08" not in codes, f"{name} has no docstring"
    assert "EX01" not in codes, f"{name} has no Examples section"
    assert ">>>" in report["docstring"], f"{name}'s Examples has no doctest"
    for target in [name, *public_methods(name)]:
        problems = [
            message
            for code, message in validate(target)["errors"]
            if code in {"PR01", "PR02", "PR03", "PR04", "PR06", "PR10", "GL06", "GL07", "SA04"}
        ]
        assert not problems, f"{target}: {problems}"


def test_api_page_lists_every_public_name():
    api = (DOCS / "api.rst").read_text()
    listed = set(re.findall(r"^   (\w+)$", api, flags=re.MULTILINE))
    missing = {name.rpartition(".")[2] for name in PUBLIC} - listed
    assert not missing, f"docs/api.rst does not list {sorted(missing)}"


def test_sphinx_build_with_gallery(tmp_path):
    env = dict(os.environ, OMP_NUM_THREADS="1", MPLBACKEND="Agg")
    out = tmp_path / "html"
    result = subprocess.run(
        [sys.executable, "-m", "sphinx", "-W", "--keep-going", "-b", "html"]
        # Run every example, also those unchanged since a previous local build.
        + ["-D", "sphinx_gallery_conf.run_stale_examples=True"]
        + ["-d", str(tmp_path / "doctrees"), str(DOCS), str(out)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 0, result.stderr[-5000:]
    # No dump of an extension's settings (myst-parser logs its whole config).
    assert "MdParserConfig" not in result.stdout + result.stderr
    for page in ["index", "getting_started", "user_guide", "api", "glossary", "benchmarks/README"]:
        assert (out / f"{page}.html").exists(), page
    for name in PUBLIC:
        assert (out / "generated" / f"{name}.html").exists(), name
    gallery = (out / "auto_examples" / "index.html").read_text()
    for script in sorted((ROOT / "examples").glob("plot_*.py")):
        page = out / "auto_examples" / f"{script.stem}.html"
        assert script.stem in gallery and page.exists(), script.name
        # Each example drew at least one figure.
        assert f"sphx_glr_{script.stem}_001.png" in page.read_text(), script.name
    # API pages: every public method, inherited ones too, with a summary
    # table, and the gallery examples that use the object.
    pages = {
        "RNNClassifier": ["fit", "partial_fit", "predict", "predict_proba", "score", "get_params"],
        "RNNRegressor": ["fit", "partial_fit", "predict", "score", "set_params"],
        "SequenceScaler": ["fit_transform", "transform", "set_output", "get_params"],
        "LossCurveDisplay": ["from_estimator", "plot"],
    }
    for name, methods in pages.items():
        page = (out / "generated" / f"sklrnn.{name}.html").read_text()
        assert 'class="autosummary' in page, name
        for method in methods:
            assert f'id="sklrnn.{name}.{method}"' in page, f"{name}.{method}"
            assert f'href="#sklrnn.{name}.{method}"' in page, f"{name}.{method} in the table"
        assert "Examples using <code" in page and "../auto_examples/plot_" in page, name
    assert "set_fit_request" not in (out / "generated" / "sklrnn.RNNClassifier.html").read_text()
