"""Sphinx configuration for sklrnn's documentation.

Build with ``make -C docs html`` (warnings are errors) or
``python -m sphinx -W -b html docs docs/_build/html``. The example gallery
runs every ``examples/plot_*.py``; ``-D plot_gallery=0`` skips running them.
"""

import os
import sys
import warnings

sys.path.insert(0, os.path.abspath(".."))
os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("MPLBACKEND", "Agg")

import sklrnn  # noqa: E402

project = "sklrnn"
author = "sklrnn developers"
copyright = "sklrnn developers, BSD-3-Clause"
release = sklrnn.__version__
version = release

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "sphinx.ext.mathjax",
    "sphinx.ext.viewcode",
    "numpydoc",
    "sphinx_gallery.gen_gallery",
    "myst_parser",
]

source_suffix = {".rst": "restructuredtext", ".md": "markdown"}
root_doc = "index"
templates_path = ["_templates"]
exclude_patterns = ["_build", "**.ipynb_checkpoints", "auto_examples/*.md5"]
default_role = "py:obj"
# Objects documented under sklrnn.* are re-exports of private modules.
add_module_names = False

autosummary_generate = True
autodoc_default_options = {
    "members": True,
    # scikit-learn's metadata-routing setters are generated per class; their
    # docstrings point into scikit-learn's own documentation.
    "exclude-members": "set_fit_request, set_partial_fit_request, set_score_request, "
    "set_predict_request, set_transform_request, set_inverse_transform_request",
}
autodoc_typehints = "none"
numpydoc_show_class_members = False
numpydoc_class_members_toctree = False

html_theme = "alabaster"
html_theme_options = {
    "description": "Recurrent networks as scikit-learn estimators",
    "fixed_sidebar": True,
}

sphinx_gallery_conf = {
    "examples_dirs": "../examples",
    "gallery_dirs": "auto_examples",
    # Only plot_*.py scripts make the gallery; other scripts in examples/
    # are command-line demos.
    "filename_pattern": r"/plot_",
    "ignore_pattern": r"^(?!plot_).*\.py$",
    "within_subsection_order": "FileNameSortKey",
    "remove_config_comments": True,
    "min_reported_time": 1,
    "abort_on_example_error": True,
}

# Third-party notices while running examples are not documentation warnings.
warnings.filterwarnings("ignore", category=UserWarning, message="Matplotlib is currently using agg")

# -- benchmarks page ---------------------------------------------------------
# benchmarks/README.md (with its figures) is written by the benchmark scripts
# outside docs/; copy the folder in so that its relative links and images
# resolve, and show a stub page until the benchmarks have been run.
_BENCH_SRC = os.path.join(os.path.dirname(__file__), "..", "benchmarks")
_BENCH_DST = os.path.join(os.path.dirname(__file__), "benchmarks")
_BENCH_FILES = (".md", ".png", ".svg", ".jpg", ".jpeg", ".gif", ".csv", ".json", ".py", ".txt")


def _copy_benchmarks(app):
    import shutil

    shutil.rmtree(_BENCH_DST, ignore_errors=True)
    os.makedirs(_BENCH_DST)
    for name in sorted(os.listdir(_BENCH_SRC)) if os.path.isdir(_BENCH_SRC) else []:
        if name.endswith(_BENCH_FILES):
            shutil.copy2(os.path.join(_BENCH_SRC, name), _BENCH_DST)
    readme = os.path.join(_BENCH_DST, "README.md")
    if not os.path.exists(readme):
        figures = sorted(n for n in os.listdir(_BENCH_DST) if n.endswith(".png"))
        with open(readme, "w") as f:
            f.write("# Benchmarks\n\nThe benchmark report has not been written yet.\n")
            f.writelines(f"\n![{name}]({name})\n" for name in figures)


# Markdown is only used for the benchmarks page, written outside docs/: its
# heading levels and links to files elsewhere in the repository are not
# documentation errors.
suppress_warnings = ["myst.header", "myst.xref_missing"]
myst_heading_anchors = 3


def setup(app):
    app.connect("builder-inited", _copy_benchmarks)
