"""Sphinx configuration for sklrnn's documentation.

Build with ``make -C docs html`` (warnings are errors) or
``python -m sphinx -W -b html docs docs/_build/html``. The example gallery
runs every ``examples/plot_*.py``; ``-D plot_gallery=0`` skips running them.
"""

import inspect
import logging
import os
import sys
import warnings

sys.path.insert(0, os.path.abspath(".."))
os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("MPLBACKEND", "Agg")

from docutils import nodes  # noqa: E402

import sklrnn  # noqa: E402
import sklrnn.datasets  # noqa: E402

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
# screenshots/ holds checks of the built site, not pages.
exclude_patterns = ["_build", "**.ipynb_checkpoints", "auto_examples/*.md5", "screenshots"]
default_role = "py:obj"
# Objects documented under sklrnn.* are re-exports of private modules.
add_module_names = False

autosummary_generate = True
autodoc_typehints = "none"
autodoc_member_order = "groupwise"
# The class template (_templates/autosummary/class.rst) lists the methods
# itself, with a summary table; numpydoc only renders the docstrings.
numpydoc_show_class_members = False
numpydoc_class_members_toctree = False


def _api_methods(cls):
    """The public methods an API page documents, inherited ones included.

    Left out: scikit-learn's metadata-routing methods (``set_fit_request``,
    ..., ``get_metadata_routing``), generated per class with docstrings that
    point into scikit-learn's own documentation, and what a class inherits
    from torch or from Python itself (``RNNModule``'s ``nn.Module`` API is
    torch's to document).
    """
    shown = []
    for name in dir(cls):
        owner = next((k for k in cls.__mro__ if name in vars(k)), None)
        if (
            name.startswith("_")
            or name.endswith("_request")
            or name == "get_metadata_routing"
            or not callable(getattr(cls, name))
            or owner is None
            or owner.__module__.split(".")[0] in ("torch", "builtins")
        ):
            continue
        shown.append(name)
    return shown


# Read by _templates/autosummary/class.rst, keyed by the page's full name.
autosummary_context = {
    "api_methods": {
        f"{module.__name__}.{name}": _api_methods(getattr(module, name))
        for module in (sklrnn, sklrnn.datasets)
        for name in module.__all__
        if inspect.isclass(getattr(module, name))
    }
}

html_theme = "pydata_sphinx_theme"
html_title = f"sklrnn {release}"
html_theme_options = {
    "logo": {"text": "sklrnn"},
    "navbar_align": "left",
    "header_links_before_dropdown": 6,
    "show_toc_level": 2,
    "navigation_with_keys": False,
    # API pages index their methods in a table instead: their docstrings'
    # examples get the width.
    "secondary_sidebar_items": {
        "*": ["page-toc"],
        "auto_examples/*": ["page-toc"],
        "benchmarks/*": ["page-toc"],
        "generated/*": [],
    },
    "footer_start": ["copyright"],
    "footer_end": ["sphinx-version", "theme-version"],
}
# Pages without sub-pages need no left sidebar; gallery examples get its width
# for their code and printed tables.
html_sidebars = {
    "index": [],
    "getting_started": [],
    "user_guide": [],
    "choosing_hyperparameters": [],
    "reliability": [],
    "glossary": [],
    "benchmarks/README": [],
    "auto_examples/*": [],
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
    # Backreferences: each API page shows the examples that use the object
    # (the minigallery in _templates/autosummary/*.rst), and names in the
    # examples' code link to their API pages.
    "backreferences_dir": "generated/backreferences",
    "doc_module": ("sklrnn",),
}

# Third-party notices while running examples are not documentation warnings.
warnings.filterwarnings("ignore", category=UserWarning, message="Matplotlib is currently using agg")

# -- benchmarks page ---------------------------------------------------------
# benchmarks/README.md (its figures from the benchmark scripts) lives
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


class _NoSettingsDump(logging.Filter):
    """Drop the settings that myst-parser and sphinx-gallery log on every build."""

    DUMPS = ("MdParserConfig(", "rst text blocks to markdown", 'gallery_conf["filename_pattern"]')

    def filter(self, record):
        message = record.getMessage()
        return not any(dump in message for dump in self.DUMPS)


for _logger in ("sphinx.myst_parser.sphinx_ext.main", "sphinx.sphinx-gallery"):
    logging.getLogger(_logger).addFilter(_NoSettingsDump())
# torch's ONNX exporter notes, while the examples run, that torchvision's
# operators are not registered: the examples use none.
logging.getLogger("torch.onnx._internal.exporter._registration").setLevel(logging.ERROR)


# Labels of scikit-learn's documentation that inherited docstrings (score,
# set_output) refer to: they link to scikit-learn's site.
_SKLEARN_LABELS = {
    "accuracy_score": ("modules/generated/sklearn.metrics.accuracy_score.html", None),
    "r2_score": ("modules/generated/sklearn.metrics.r2_score.html", None),
    "df_output_transform": ("modules/df_output_transform.html", None),
    "sphx_glr_auto_examples_miscellaneous_plot_set_output.py": (
        "auto_examples/miscellaneous/plot_set_output.html",
        "scikit-learn's set_output example",
    ),
}


def _link_sklearn_labels(app, env, node, contnode):
    page, title = _SKLEARN_LABELS.get(node.get("reftarget"), (None, None))
    if node.get("reftype") != "ref" or page is None:
        return None
    text = contnode if node.get("refexplicit") else nodes.inline(title, title)
    return nodes.reference("", "", text, refuri="https://scikit-learn.org/stable/" + page)


def setup(app):
    app.connect("builder-inited", _copy_benchmarks)
    app.connect("missing-reference", _link_sklearn_labels)
