"""Plots of fitted sklrnn estimators.

matplotlib is an optional dependency (the ``plot`` extra:
``pip install -c constraints.txt -e ".[plot]"`` in sklrnn's repository); it
is imported only when a plot is drawn.
"""

import inspect
from numbers import Integral

import numpy as np
from sklearn.base import is_classifier
from sklearn.utils.validation import check_is_fitted

from ._attributions import _check_sklrnn_estimator, sequence_attributions
from ._base import _BaseRNN
from ._compat import _safe_indexing
from ._data import _is_ragged, _python, _readable, validate_sequences

__all__ = ["LossCurveDisplay", "AttributionDisplay"]


def _pyplot(caller):
    """Import matplotlib.pyplot, or explain how to install it."""
    try:
        import matplotlib.pyplot as plt
    except ImportError as exc:
        raise ImportError(
            f"{caller} requires matplotlib, which is not installed. Install it with "
            "`pip install matplotlib`, or from sklrnn's repository with "
            '`pip install -c constraints.txt -e ".[plot]"`.'
        ) from exc
    return plt


def _axes(ax, caller):
    """``ax``, a matplotlib Axes, or new Axes on a new figure when it is None."""
    plt = _pyplot(caller)
    if ax is None:
        return plt.subplots()[1]
    from matplotlib.axes import Axes

    if not isinstance(ax, Axes):
        raise TypeError(
            f"ax must be a matplotlib Axes, got {type(ax).__name__}. Pass one Axes to draw "
            "on, e.g. fig.add_subplot(), one of the Axes that plt.subplots() returns "
            "(axes[0] of several), or None for a new figure."
        )
    return ax


class LossCurveDisplay:
    """Training and validation loss per epoch of a fitted recurrent network.

    Build it with :meth:`from_estimator`, which reads the estimator's
    ``history_`` and draws the curves; or construct it from loss arrays and
    call :meth:`plot`. The epoch whose weights the model holds is marked:
    the one early stopping restored, or else the last epoch. With
    ``kernel_features``, ``fit`` then solves the head in closed form, on the
    training and validation sequences alike: the curves show the losses of
    the head trained by gradient, not the fitted model's (the mark's label
    says so).

    Parameters
    ----------
    train_loss : array-like of shape (n_epochs,)
        Training loss of each epoch.
    valid_loss : array-like of shape (n_epochs,) or None, default=None
        Validation loss of each epoch, NaN for epochs without a validation
        set; None when no epoch had one.
    epochs : array-like of shape (n_epochs,) or None, default=None
        Epoch numbers; defaults to ``1, 2, ..., n_epochs``.
    best_epoch : int or None, default=None
        Epoch whose weights the model holds, marked on the plot: the epoch
        early stopping restored, or else the last. None marks no epoch.
    estimator_name : str or None, default=None
        Name used in the title.
    head_solved : bool, default=False
        Whether the head was solved in closed form after ``best_epoch``
        (``kernel_features``), so that the model is not the one whose loss
        the curves show at that epoch.

    Attributes
    ----------
    train_loss : ndarray of shape (n_epochs,)
        Training loss of each epoch.
    valid_loss : ndarray of shape (n_epochs,) or None
        Validation loss of each epoch (NaN where there was none), or None.
    epochs : ndarray of shape (n_epochs,)
        Epoch numbers.
    best_epoch : int or None
        Epoch whose weights the model holds.
    head_solved : bool
        Whether the head was solved in closed form after ``best_epoch``.
    ax_ : matplotlib Axes
        Axes the curves are drawn on; set by :meth:`plot`.
    figure_ : matplotlib Figure
        Figure holding ``ax_``; set by :meth:`plot`.
    lines_ : dict of matplotlib Line2D
        The drawn artists, under ``"train"``, ``"valid"`` and ``"best"``.

    See Also
    --------
    sklrnn.RNNClassifier : Its ``history_`` holds the losses plotted here.

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> import numpy as np
    >>> from sklrnn import RNNClassifier
    >>> from sklrnn.plotting import LossCurveDisplay
    >>> rng = np.random.RandomState(0)
    >>> X = rng.normal(size=(40, 8))
    >>> y = (X[:, -1] > 0).astype(int)
    >>> clf = RNNClassifier(hidden_size=4, max_epochs=5, random_state=0).fit(X, y)
    >>> display = LossCurveDisplay.from_estimator(clf)
    >>> display.epochs.tolist()
    [1, 2, 3, 4, 5]
    >>> display.ax_.get_xlabel()
    'Epoch'
    """

    def __init__(
        self,
        *,
        train_loss,
        valid_loss=None,
        epochs=None,
        best_epoch=None,
        estimator_name=None,
        head_solved=False,
    ):
        self.train_loss = _real_array(train_loss, "train_loss")
        if self.train_loss.ndim != 1 or not len(self.train_loss):
            raise ValueError(
                f"train_loss must be a 1D sequence of one loss per epoch, got shape "
                f"{self.train_loss.shape}."
            )
        self.valid_loss = None if valid_loss is None else _real_array(valid_loss, "valid_loss")
        if epochs is None:
            epochs = np.arange(1, len(self.train_loss) + 1)
        epochs = np.asarray(epochs)
        for name, values in (("valid_loss", self.valid_loss), ("epochs", epochs)):
            if values is not None and values.shape != self.train_loss.shape:
                raise ValueError(
                    f"{name} has shape {values.shape}, but train_loss has shape "
                    f"{self.train_loss.shape}; give one value per epoch."
                )
        self.epochs = _whole_numbers(epochs)
        if self.epochs is None or (np.diff(self.epochs) <= 0).any():
            raise ValueError(
                f"epochs must be increasing whole numbers, one per loss, got {epochs!r}."
            )
        best = None if best_epoch is None else _whole_numbers(np.asarray(best_epoch))
        if best_epoch is not None and (best is None or best.ndim or best not in self.epochs):
            raise ValueError(
                f"best_epoch must be one of the epochs ({self.epochs[0]} to {self.epochs[-1]}) "
                f"or None, got {best_epoch!r}."
            )
        self.best_epoch = None if best is None else int(best)
        self.estimator_name = estimator_name
        self.head_solved = bool(head_solved)

    @classmethod
    def from_estimator(cls, estimator, *, ax=None, name=None, **kwargs):
        """Plot the loss curves of a fitted sklrnn estimator.

        Parameters
        ----------
        estimator : RNNClassifier, RNNRegressor, Pipeline holding one, or search
            Fitted estimator whose ``history_`` is plotted; of a Pipeline, its
            sklrnn step; of a fitted search
            (:class:`~sklearn.model_selection.GridSearchCV`...), its
            ``best_estimator_``.
        ax : matplotlib Axes, default=None
            Axes to draw on; a new figure is created when None.
        name : str, default=None
            Name of the curves in the legend (``"name: training loss"``), so
            that several models drawn on one ``ax`` can be told apart; None
            leaves the labels plain. The title is the estimator's class name.
        **kwargs : dict
            Passed to :meth:`plot`.

        Returns
        -------
        display : LossCurveDisplay
            The display, with ``ax_`` and ``figure_`` set.
        """
        # A search's refitted model; a Pipeline's sklrnn step, which trained.
        search = hasattr(estimator, "param_grid") or hasattr(estimator, "param_distributions")
        if search and not hasattr(estimator, "best_estimator_"):
            check_is_fitted(estimator)  # NotFittedError before it ran
            raise ValueError(
                f"The {type(estimator).__name__} holds no best_estimator_ (refit="
                f"{estimator.refit!r}): search with refit=True, or pass a model fitted "
                "with its best_params_."
            )
        found = _sklrnn_models(estimator)
        if len(found) != 1:
            held = f" holding {len(found)}: pass the one to plot" if found else ""
            raise TypeError(
                "LossCurveDisplay.from_estimator needs an sklrnn estimator (such as "
                "RNNClassifier or RNNRegressor), or a Pipeline or search holding one, got "
                f"{type(estimator).__name__}{held}."
            )
        estimator = found[0]
        check_is_fitted(estimator, "history_")
        _check_plot_call(cls, ax, name, kwargs)
        history = list(estimator.history_)
        if not history:
            raise ValueError(
                "The estimator's history_ is empty: it kept no epoch of its training (an "
                "interrupt or a divergence before the training guard kept one: see the note "
                "or the warning of its fit)."
            )
        train = [row.get("train_loss", np.nan) for row in history]
        valid = [row.get("valid_loss", np.nan) for row in history]
        epochs = [row.get("epoch", i + 1) for i, row in enumerate(history)]
        # Early stopping records the epoch it restored in the last row of its
        # fit; later epochs (partial_fit, warm_start) replace those weights.
        best = history[-1].get("best_epoch", epochs[-1])
        display = cls(
            train_loss=train,
            valid_loss=None if np.isnan(valid).all() else valid,
            epochs=epochs,
            best_epoch=best,
            estimator_name=type(estimator).__name__,
            head_solved=history[-1].get("head_solved", False),
        )
        return display.plot(ax=ax, name=name, **kwargs)

    def plot(self, ax=None, *, name=None, log_scale=False, line_kw=None):
        """Draw the curves.

        Parameters
        ----------
        ax : matplotlib Axes, default=None
            Axes to draw on; a new figure is created when None.
        name : str, default=None
            Name of the curves in the legend (``"name: training loss"``);
            None leaves the labels plain. The title is ``estimator_name``.
        log_scale : bool, default=False
            Whether to use a logarithmic loss axis.
        line_kw : dict, default=None
            Properties of matplotlib's ``Line2D`` for both loss curves, such
            as ``{"linewidth": 2, "alpha": 0.7}``, but not their labels; the
            mark of the kept weights keeps its style, in its curve's colour.

        Returns
        -------
        display : LossCurveDisplay
            This display, with ``ax_``, ``figure_`` and ``lines_`` set.
        """
        # before _axes: a refused call opens no figure
        style = _line_style(line_kw, "LossCurveDisplay")
        ax = _axes(ax, "LossCurveDisplay")
        self.lines_ = {}
        prefix = "" if name is None else f"{name}: "
        curves = {"train": ("training loss", self.train_loss)}
        if self.valid_loss is not None and np.isfinite(self.valid_loss).any():
            curves["valid"] = ("validation loss", self.valid_loss)
        for key, (label, loss) in curves.items():
            (self.lines_[key],) = ax.plot(self.epochs, loss, label=prefix + label, **style)
        at = np.flatnonzero(self.epochs == self.best_epoch)
        if at.size:
            # On the validation curve where it has a value, else on the training curve.
            key = "train"
            if self.valid_loss is not None and np.isfinite(self.valid_loss[at[0]]):
                key = "valid"
            loss = curves[key][1]
            kind = "final" if at[0] == len(self.epochs) - 1 else "restored"
            then = "; then the head solved in closed form" if self.head_solved else ""
            (self.lines_["best"],) = ax.plot(
                self.epochs[at[:1]],
                loss[at[:1]],
                marker="o",
                linestyle="none",
                color=self.lines_[key].get_color(),
                markeredgecolor="black",
                label=f"{prefix}{kind} weights (epoch {self.best_epoch}){then}",
            )
        if log_scale:
            ax.set_yscale("log")
        ax.set_xlabel("Epoch")
        ax.set_ylabel("Loss")
        if self.estimator_name:
            ax.set_title(self.estimator_name)
        ax.legend()
        self.ax_ = ax
        self.figure_ = ax.figure
        return self


class AttributionDisplay:
    """A sequence drawn over the attributions of its prediction.

    Each feature is drawn as a line over the time steps; the background is
    coloured by the step's attribution (summed over the features, and
    optionally averaged over a moving window), red where the step pushed the
    explained output up and blue where it pushed it down, on a scale
    symmetric about 0. Build it with :meth:`from_estimator`,
    which computes the attributions with :func:`sequence_attributions`, or
    from arrays and call :meth:`plot`.

    Read more in the :ref:`User Guide <attributions>`.

    Parameters
    ----------
    sequence : array-like of shape (n_timesteps,) or (n_timesteps, n_features)
        The valid steps of the sequence.
    attributions : array-like of the shape of ``sequence``
        Attribution of each value.
    target : object, default=None
        What was explained: a class label, or the column of a regression
        target.
    estimator_name : str or None, default=None
        Name used in the title.
    feature_names : array-like of str of shape (n_features,) or None, default=None
        Names of the features, the legend's labels; ``feature 0``,
        ``feature 1``, ... when None. ``from_estimator`` passes the
        estimator's ``feature_names_in_`` where they name features (of
        DataFrame sequences, not a table's time steps).

    Attributes
    ----------
    sequence : ndarray of shape (n_timesteps, n_features)
        The sequence.
    attributions : ndarray of shape (n_timesteps, n_features)
        Its attributions.
    target : object
        What was explained.
    feature_names : ndarray of str of shape (n_features,) or None
        Names of the features.
    ax_ : matplotlib Axes
        Axes the sequence is drawn on; set by :meth:`plot`.
    figure_ : matplotlib Figure
        Figure holding ``ax_``; set by :meth:`plot`.
    lines_ : list of matplotlib Line2D
        One line per feature.
    background_ : matplotlib QuadMesh
        The coloured attribution of each time step.
    colorbar_ : matplotlib Colorbar or None
        The colour scale, when drawn.

    See Also
    --------
    sequence_attributions : The attributions drawn here.

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> import numpy as np
    >>> from sklrnn import AttributionDisplay, RNNClassifier
    >>> rng = np.random.RandomState(0)
    >>> X = rng.normal(size=(40, 12))
    >>> y = (X[:, 5] > 0).astype(int)
    >>> clf = RNNClassifier(hidden_size=8, max_epochs=20, random_state=0).fit(X, y)
    >>> display = AttributionDisplay.from_estimator(clf, X, index=3)
    >>> display.attributions.shape
    (12, 1)
    >>> display.ax_.get_xlabel()
    'Time step'
    """

    def __init__(
        self, *, sequence, attributions, target=None, estimator_name=None, feature_names=None
    ):
        sequence = _real_array(sequence, "sequence")
        if sequence.ndim not in (1, 2) or not len(sequence):
            raise ValueError(
                "sequence must be one sequence of shape (n_timesteps,) or (n_timesteps, "
                f"n_features) with at least one time step, got shape {sequence.shape}. Pass "
                "one sequence of X, e.g. X[i], and its attributions."
            )
        if not np.isfinite(sequence).all():
            t = int(
                np.flatnonzero(~np.isfinite(sequence.reshape(len(sequence), -1)).all(axis=1))[0]
            )
            raise ValueError(
                f"sequence must be finite, got NaN or infinity at time step {t}. Pass its "
                "valid steps only: a NaN-padded row of X without its padding, "
                "X[i, :length]."
            )
        self.sequence = sequence.reshape(len(sequence), -1)
        attributions = _real_array(attributions, "attributions")
        if attributions.ndim in (1, 2) and len(attributions):
            attributions = attributions.reshape(len(attributions), -1)
        if attributions.shape != self.sequence.shape:
            raise ValueError(
                f"attributions have shape {attributions.shape}, but the sequence has "
                f"shape {self.sequence.shape}; give one attribution per value."
            )
        if not np.isfinite(attributions).all():
            t = int(np.flatnonzero(~np.isfinite(attributions).all(axis=1))[0])
            raise ValueError(
                f"attributions must be finite, got NaN or infinity at time step {t}: its "
                "colour would be undefined."
            )
        self.attributions = attributions
        if feature_names is not None:
            names = np.asarray(feature_names, dtype=object)
            if names.shape != (self.sequence.shape[1],):
                raise ValueError(
                    f"feature_names has shape {names.shape}, but the sequence has "
                    f"{self.sequence.shape[1]} features; give one name per feature."
                )
            feature_names = names.astype(str)
        self.feature_names = feature_names
        self.target = target
        self.estimator_name = estimator_name

    @classmethod
    def from_estimator(
        cls,
        estimator,
        X,
        *,
        index=0,
        target=None,
        n_steps=50,
        baseline="mean",
        ax=None,
        name=None,
        **kwargs,
    ):
        """Explain the prediction for one sequence of ``X`` and draw it.

        Parameters
        ----------
        estimator : RNNClassifier or RNNRegressor
            Fitted estimator.
        X : array-like or list of arrays
            Sequences, in any input format of ``predict``.
        index : int, default=0
            Which sequence of ``X`` to draw.
        target : label, array-like of shape (n_samples,), int or None, default=None
            The output explained, as for :func:`sequence_attributions`; a
            classifier explains its predicted class by default, and of an
            array of one label per sequence of ``X``, the label at ``index``.
        n_steps : int, default=50
            Points of the path integral, as for :func:`sequence_attributions`.
        baseline : "mean", float or array-like of shape (n_features,), default="mean"
            The reference sequence, as for :func:`sequence_attributions`.
        ax : matplotlib Axes, default=None
            Axes to draw on; a new figure is created when None.
        name : str, default=None
            Title of the plot; defaults to the estimator's class name and the
            explained output.
        **kwargs : dict
            Passed to :meth:`plot`.

        Returns
        -------
        display : AttributionDisplay
            The display, with ``ax_`` and ``figure_`` set.
        """
        _check_sklrnn_estimator(estimator, "AttributionDisplay.from_estimator")
        check_is_fitted(estimator)
        if not hasattr(X, "__len__"):
            raise TypeError(
                "X must be sequences (an array, a DataFrame or a list of arrays), got "
                f"{type(X).__name__}."
            )
        X = _readable(X)  # tensors as arrays, a nested one as a list of them
        if not _is_ragged(X) and _one_sequence_of_numbers(X):
            raise ValueError(
                f"X is 1D (shape {np.shape(X)}), one sequence rather than sequences: pass it "
                "as X[None, :] (one sequence of one feature), with index=0."
            )
        # Every sequence, read as predict reads X: a ragged list of lists is
        # sequences, not a table, and an error names the sequence's place.
        X3, lengths = validate_sequences(estimator, X, reset=False)
        n_samples = len(X3)
        if (
            not isinstance(index, Integral)
            or isinstance(index, bool | np.bool_)
            or not -n_samples <= index < n_samples
        ):
            raise ValueError(
                f"index={index!r} is not the position of a sequence of X, which holds "
                f"{n_samples} sequences; give an int in [{-n_samples}, {n_samples - 1}]."
            )
        options = _check_plot_call(cls, ax, name, kwargs)
        _colormap(options["window"], options["cmap"])
        row = int(index) % n_samples
        listed = isinstance(X, list | tuple)
        if hasattr(estimator, "feature_names_in_") and (not listed or hasattr(X[row], "columns")):
            # The sequence in its container (DataFrames), whose names predict
            # checks; a list's other sequences (lists, arrays) have none.
            one = [X[row]] if listed else _safe_indexing(X, [row])
        else:
            one = X3[row : row + 1, : lengths[row]]
        if is_classifier(estimator) and np.ndim(target) >= 1:
            if np.ndim(target) > 1 or len(target) != n_samples:
                raise ValueError(
                    f"target has shape {np.shape(target)}, but X holds {n_samples} sequences: "
                    "give one label per sequence of X, or a single label."
                )
            target = _safe_indexing(target, [row])
        attributions = sequence_attributions(
            estimator, one, target=target, n_steps=n_steps, baseline=baseline
        )
        if is_classifier(estimator):
            label = estimator.predict(one) if target is None else target
            # The plain label, not numpy's repr (object arrays hold it as it is).
            target = _python(np.ravel(label)[0])
            explained = f"class {target!r}"
        else:
            target = 0 if target is None else target
            explained = "prediction" if estimator.n_outputs_ == 1 else f"prediction {target}"
        display = cls(
            sequence=X3[row, : lengths[row]],
            attributions=attributions[0, : lengths[row]],
            target=target,
            estimator_name=f"{type(estimator).__name__}: attributions to {explained}",
            # Names of a table's columns are its time steps' (one feature).
            feature_names=None
            if estimator._fitted_on_table
            else getattr(estimator, "feature_names_in_", None),
        )
        return display.plot(ax=ax, name=name, **kwargs)

    def plot(self, ax=None, *, name=None, window=1, cmap="RdBu_r", colorbar=True, line_kw=None):
        """Draw the sequence over its attributions.

        Parameters
        ----------
        ax : matplotlib Axes, default=None
            Axes to draw on; a new figure is created when None.
        name : str, default=None
            Title of the plot; defaults to ``estimator_name``.
        window : int, default=1
            Colour each step by the mean attribution of the ``window`` steps
            centred on it (fewer at the ends). The convolutional front end
            reads differences of neighbouring steps, which gives neighbours
            attributions of opposite signs; a window about as wide as its
            pooling shows what each stretch of the sequence contributed.
        cmap : str or matplotlib Colormap, default="RdBu_r"
            Diverging colormap of the attributions.
        colorbar : bool, default=True
            Whether to draw the colour scale beside the axes.
        line_kw : dict, default=None
            Properties of matplotlib's ``Line2D`` for the sequence's lines
            (one per feature), such as ``{"linewidth": 1, "color": "grey"}``,
            but not their labels.

        Returns
        -------
        display : AttributionDisplay
            This display, with ``ax_``, ``figure_``, ``lines_``,
            ``background_`` and ``colorbar_`` set.
        """
        cmap = _colormap(window, cmap)
        style = _line_style(line_kw, "AttributionDisplay")
        ax = _axes(ax, "AttributionDisplay")
        n_timesteps, n_features = self.sequence.shape
        steps = np.arange(n_timesteps)
        color = {"color": "black"} if n_features == 1 else {}
        self.lines_ = ax.plot(steps, self.sequence, **{**color, **style})
        if n_features > 1:
            names = self.feature_names
            for j, line in enumerate(self.lines_):
                line.set_label(f"feature {j}" if names is None else names[j])
            ax.legend()
        per_step = self.attributions.sum(axis=1)
        if window > 1:
            cumulative = np.concatenate([[0.0], np.cumsum(per_step)])
            first = np.maximum(steps - (window - 1) // 2, 0)
            end = np.minimum(steps + window // 2 + 1, n_timesteps)
            per_step = (cumulative[end] - cumulative[first]) / (end - first)
        limit = np.abs(per_step).max() or 1.0
        low, high = ax.get_ylim()
        edges = np.arange(n_timesteps + 1) - 0.5
        self.background_ = ax.pcolormesh(
            edges, [low, high], per_step[None, :], cmap=cmap, vmin=-limit, vmax=limit, zorder=0
        )
        ax.set_xlim(edges[0], edges[-1])
        ax.set_ylim(low, high)
        self.colorbar_ = None
        if colorbar:
            self.colorbar_ = ax.figure.colorbar(self.background_, ax=ax, label="attribution")
        ax.set_xlabel("Time step")
        ax.set_ylabel("Value")
        title = name if name is not None else self.estimator_name
        if title:
            ax.set_title(title)
        self.ax_ = ax
        self.figure_ = ax.figure
        return self


def _check_plot_call(display, ax, name, kwargs):
    """Check what ``display.from_estimator`` passes to ``plot`` before its work.

    Computing the attributions costs many passes of the network: a missing
    matplotlib, an ``ax`` that is no Axes or a misspelt option fail first.
    Returns ``plot``'s arguments, defaults included.
    """
    _pyplot(display.__name__)
    if ax is not None:
        _axes(ax, display.__name__)
    try:
        call = inspect.signature(display.plot).bind(None, ax=ax, name=name, **kwargs)
    except TypeError as exc:  # "got an unexpected keyword argument 'windw'"
        raise TypeError(f"{display.__name__}.plot() {exc}") from None
    call.apply_defaults()
    _line_style(call.arguments["line_kw"], display.__name__)
    return call.arguments


def _sklrnn_models(estimator):
    """The sklrnn estimators in ``estimator``: itself, a Pipeline's steps, a
    search's ``best_estimator_``, nested."""
    if isinstance(estimator, _BaseRNN):
        return [estimator]
    if hasattr(estimator, "best_estimator_"):
        return _sklrnn_models(estimator.best_estimator_)
    steps = getattr(estimator, "steps", None)
    if isinstance(steps, list) and not isinstance(estimator, type):
        return [model for _, step in steps for model in _sklrnn_models(step)]
    return []


def _line_style(line_kw, caller):
    """``line_kw`` checked as ``Line2D`` properties, aliases ("lw", "c") in full."""
    if line_kw is None:
        return {}
    if not isinstance(line_kw, dict):
        raise TypeError(
            f"line_kw must be a dict of matplotlib Line2D properties, such as "
            f'{{"linewidth": 2}}, got {type(line_kw).__name__}.'
        )
    if "label" in line_kw:
        raise ValueError(
            "line_kw cannot set 'label': the display labels each of its lines. Relabel "
            "them through the display's lines_, or ax.legend()."
        )
    _pyplot(caller)  # a missing matplotlib named as such
    from matplotlib.cbook import normalize_kwargs
    from matplotlib.lines import Line2D

    try:
        style = normalize_kwargs(line_kw, Line2D)  # "Got both 'lw' and 'linewidth'..."
        Line2D([], []).set(**style)
    # "Line2D.set() got an unexpected keyword argument 'colr'"
    except (AttributeError, TypeError) as exc:
        raise TypeError(f"line_kw: {exc}.") from None
    except ValueError as exc:  # a value the property refuses
        raise ValueError(f"line_kw holds a value matplotlib refuses: {exc}") from None
    return style


def _colormap(window, cmap):
    """The colormap ``cmap`` of an attribution plot, its ``window`` checked too."""
    if not isinstance(window, Integral) or isinstance(window, bool | np.bool_) or window < 1:
        raise ValueError(f"window must be a positive int (a number of steps), got {window!r}.")
    _pyplot("AttributionDisplay")
    from matplotlib import colormaps

    return colormaps.get_cmap(cmap)  # a ValueError that names the known colormaps


def _one_sequence_of_numbers(X):
    """True for 1D ``X`` of numbers: one sequence where sequences were expected."""
    try:
        values = np.asarray(X)
    except ValueError:  # inhomogeneous nesting; validation names it
        return False
    return values.ndim == 1 and values.dtype.kind in "biuf"


def _whole_numbers(values):
    """Array ``values`` as int64 if it holds whole numbers only (not bools), else None."""
    # Not strings either: NumPy before 2.2 compares numbers with strings ("2")
    # as one False, not elementwise.
    if values.dtype.kind in "bUS":
        return None
    try:
        with np.errstate(invalid="ignore"):  # NaN and inf fail the comparison below
            whole = values.astype(np.int64)
        return whole if (whole == values).all() else None
    except (TypeError, ValueError, OverflowError):
        return None


def _real_array(values, name):
    """``values`` as a float64 array; a ValueError naming ``name`` unless they are real numbers."""
    try:
        if np.iscomplexobj(values):
            raise TypeError("got complex numbers")
        return np.asarray(values, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{name} must hold real numbers: {exc}.") from exc
