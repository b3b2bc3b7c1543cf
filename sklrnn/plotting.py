"""Plots of fitted sklrnn estimators.

matplotlib is an optional dependency (``pip install "sklrnn[plot]"``); it is
imported only when a plot is drawn.
"""

import numpy as np
from sklearn.utils.validation import check_is_fitted

from ._base import _BaseRNN

__all__ = ["LossCurveDisplay"]


def _pyplot(caller):
    """Import matplotlib.pyplot, or explain how to install it."""
    try:
        import matplotlib.pyplot as plt
    except ImportError as exc:
        raise ImportError(
            f"{caller} requires matplotlib, which is not installed. Install it with "
            '`pip install matplotlib` or `pip install "sklrnn[plot]"`.'
        ) from exc
    return plt


class LossCurveDisplay:
    """Training and validation loss per epoch of a fitted recurrent network.

    Build it with :meth:`from_estimator`, which reads the estimator's
    ``history_`` and draws the curves; or construct it from loss arrays and
    call :meth:`plot`. The epoch whose weights the model holds is marked:
    the one early stopping restored, or else the last epoch.

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
        self, *, train_loss, valid_loss=None, epochs=None, best_epoch=None, estimator_name=None
    ):
        self.train_loss = np.asarray(train_loss, dtype=np.float64)
        self.valid_loss = None if valid_loss is None else np.asarray(valid_loss, dtype=np.float64)
        if epochs is None:
            epochs = np.arange(1, len(self.train_loss) + 1)
        self.epochs = np.asarray(epochs)
        for name, values in (("valid_loss", self.valid_loss), ("epochs", self.epochs)):
            if values is not None and values.shape != self.train_loss.shape:
                raise ValueError(
                    f"{name} has shape {values.shape}, but train_loss has shape "
                    f"{self.train_loss.shape}; give one value per epoch."
                )
        self.best_epoch = best_epoch
        self.estimator_name = estimator_name

    @classmethod
    def from_estimator(cls, estimator, *, ax=None, name=None, **kwargs):
        """Plot the loss curves of a fitted sklrnn estimator.

        Parameters
        ----------
        estimator : RNNClassifier, RNNRegressor or Pipeline ending in one
            Fitted estimator whose ``history_`` is plotted.
        ax : matplotlib Axes, default=None
            Axes to draw on; a new figure is created when None.
        name : str, default=None
            Title of the plot; defaults to the estimator's class name.
        **kwargs : dict
            Passed to :meth:`plot`.

        Returns
        -------
        display : LossCurveDisplay
            The display, with ``ax_`` and ``figure_`` set.
        """
        if hasattr(estimator, "steps"):  # a Pipeline: its last step trained
            estimator = estimator[-1]
        if not isinstance(estimator, _BaseRNN):
            raise TypeError(
                "LossCurveDisplay.from_estimator needs an sklrnn estimator (such as "
                f"RNNClassifier or RNNRegressor), got {type(estimator).__name__}."
            )
        check_is_fitted(estimator, "history_")
        history = list(estimator.history_)
        if not history:
            raise ValueError("The estimator's history_ is empty: it has not trained an epoch.")
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
        )
        return display.plot(ax=ax, name=name, **kwargs)

    def plot(self, ax=None, *, name=None, log_scale=False):
        """Draw the curves.

        Parameters
        ----------
        ax : matplotlib Axes, default=None
            Axes to draw on; a new figure is created when None.
        name : str, default=None
            Title of the plot; defaults to ``estimator_name``.
        log_scale : bool, default=False
            Whether to use a logarithmic loss axis.

        Returns
        -------
        display : LossCurveDisplay
            This display, with ``ax_``, ``figure_`` and ``lines_`` set.
        """
        plt = _pyplot("LossCurveDisplay")
        if ax is None:
            _, ax = plt.subplots()
        self.lines_ = {}
        (self.lines_["train"],) = ax.plot(self.epochs, self.train_loss, label="training loss")
        if self.valid_loss is not None:
            (self.lines_["valid"],) = ax.plot(self.epochs, self.valid_loss, label="validation loss")
        at = np.flatnonzero(self.epochs == self.best_epoch)
        if at.size:
            # On the validation curve where it has a value, else on the training curve.
            loss = self.train_loss
            if self.valid_loss is not None and np.isfinite(self.valid_loss[at[0]]):
                loss = self.valid_loss
            kind = "final" if at[0] == len(self.epochs) - 1 else "restored"
            (self.lines_["best"],) = ax.plot(
                self.epochs[at[:1]],
                loss[at[:1]],
                marker="o",
                linestyle="none",
                color="black",
                label=f"{kind} weights (epoch {self.best_epoch})",
            )
        if log_scale:
            ax.set_yscale("log")
        ax.set_xlabel("Epoch")
        ax.set_ylabel("Loss")
        title = name if name is not None else self.estimator_name
        if title:
            ax.set_title(title)
        ax.legend()
        self.ax_ = ax
        self.figure_ = ax.figure
        return self
