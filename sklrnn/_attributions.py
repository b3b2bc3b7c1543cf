"""Which time steps drove a prediction: integrated gradients over sequences."""

import reprlib
from numbers import Integral, Real

import numpy as np
import torch
from sklearn.base import is_classifier
from sklearn.utils.validation import check_is_fitted

from ._base import _BaseRNN
from ._compat import Interval, StrOptions, validate_params
from ._data import _label_codes, _reject_bool, counted, truncate, validate_sequences
from ._module import _valid_mask, networks_of

__all__ = ["sequence_attributions"]

# Time steps (sequences times their length) that one forward and backward pass
# runs over: the bound on the memory of the computation.
_PASS_STEPS = 1 << 15
# Points of the Gauss-Legendre rule that averages the score's gradient with
# respect to the random kernels' features along their path: the score is a
# smooth function of the head's outputs, which are linear in the features.
_FEATURE_NODES = 8


def _check_sklrnn_estimator(estimator, caller):
    """Raise a TypeError unless ``estimator`` is an sklrnn estimator."""
    if isinstance(estimator, _BaseRNN):
        return
    fix = ""
    if hasattr(estimator, "best_estimator_"):
        fix = " For a fitted search, pass its best_estimator_."
    elif hasattr(estimator, "steps"):
        fix = (
            " For a Pipeline, pass its last step and X transformed by the others: "
            "pipe[-1] and pipe[:-1].transform(X)."
        )
    raise TypeError(
        f"{caller} needs a fitted sklrnn estimator (RNNClassifier or RNNRegressor), "
        f"got {type(estimator).__name__}.{fix}"
    )


@validate_params(
    {
        "estimator": "no_validation",
        "X": "no_validation",
        "target": "no_validation",
        "n_steps": [Interval(Integral, 1, None, closed="left")],
        "baseline": [StrOptions({"mean"}), Real, "array-like"],
    },
    prefer_skip_nested_validation=True,
)
def sequence_attributions(estimator, X, *, target=None, n_steps=50, baseline="mean"):
    """Attribution of each prediction to every time step and feature of its sequence.

    Integrated gradients (Sundararajan et al., 2017): the attribution of value
    :math:`x_{tf}` is :math:`(x_{tf} - b_f)` times the gradient of the
    explained output averaged along the straight path from the baseline
    :math:`b` to the sequence :math:`x`. The attributions of a sequence sum to
    the output at :math:`x` minus the output at the baseline (up to the error
    of the path integral's ``n_steps``-point rule), so each says how much its
    value moved the prediction away from the baseline's.

    With random kernel features (``kernel_features > 0``), which change by
    steps along the path and have no useful gradient, the change is split
    between two players, the network's inputs and the kernels' features, by
    their Shapley values (each player's mean effect over the two values of
    the other). The network's share goes to the input values by integrated
    gradients, with the kernels' features held at the sequence's and then at
    the baseline's (twice the passes). The kernels' share goes to the input
    values whose change flips a kernel's comparison with a bias between the
    baseline and the sequence: each flip is shared among the values of its
    convolution window in proportion to their part of the output's change,
    and weighted by the score's gradient with respect to its feature,
    averaged along the straight path between the features' two values
    (with the network's inputs at either end), so that the flips' weights
    add up to the kernels' share. The attributions still sum to the change
    of the output.

    Read more in the :ref:`User Guide <attributions>`.

    Parameters
    ----------
    estimator : RNNClassifier or RNNRegressor
        Fitted estimator. An ensemble (``n_networks > 1``) is explained
        through its combined output.
    X : array-like or list of arrays
        Sequences, in any input format of ``predict``.
    target : label, array-like of shape (n_samples,), int or None, default=None
        The output explained. For a classifier, the log-odds
        ``log(p / (1 - p))`` of a class's probability ``p``, which unlike
        ``p`` or ``log(p)`` keeps changing where the model is sure: None
        explains each sequence's predicted class, a label one class for all
        sequences, and an array one label per sequence. For a regressor, the
        prediction in the units of ``y``: None for a single target, otherwise
        the column of ``y`` to explain (an int).
    n_steps : int, default=50
        Points of the path integral, a midpoint Riemann sum: the gradient is
        averaged at ``(k + 0.5) / n_steps`` of the way from the baseline, for
        ``k = 0, ..., n_steps - 1``. Each costs one forward and one backward
        pass per sequence; more steps make the attributions sum more exactly
        to the change of the output.
    baseline : "mean", float or array-like of shape (n_features,), default="mean"
        The reference sequence, one value per feature at every valid step
        (in the order of ``feature_names_in_`` for DataFrames).
        ``"mean"`` is the per-feature training mean that the network
        subtracts (with ``standardize=True``; 0 without): a sequence that the
        standardized network sees as all zeros.

    Returns
    -------
    attributions : ndarray of shape (n_samples, n_timesteps, n_features)
        Attributions, float64, on the time axis of ``X`` (``n_features`` is 1
        for 2D input). Their features are in the order the model reads them:
        for DataFrames, that of ``feature_names_in_`` (the columns of fit's
        data), whatever the order of ``X``'s columns. They are exactly 0 past
        the end of each sequence and, with ``max_length``, on the steps the
        model does not read. Positive values pushed the output up: towards
        the explained class, or to a larger prediction.

    Raises
    ------
    ValueError
        If ``baseline`` or the attributions overflow float32, the precision
        the network computes in.

    Notes
    -----
    The cost is ``n_steps`` forward and backward passes of every sequence
    (twice that, and 16 more, with random kernel features),
    where ``predict`` makes one forward pass. The network runs in
    evaluation mode (no dropout, batch normalization with its running
    statistics) on its own device; on a GPU its recurrent layers run on
    cuDNN, told that a backward pass follows. Each pass runs over at most
    about 32768 time steps (sequences times their length; one sequence when
    a sequence is longer), so the passes' memory does not grow with the
    number of sequences or of steps. Besides the result (float64), the
    function holds X once as float32 (and, with ``max_length``, the steps
    the model reads and their attributions): unlike ``predict``, it does not
    convert X a chunk at a time, so explain a very large X in slices.

    References
    ----------
    M. Sundararajan, A. Taly and Q. Yan, "Axiomatic attribution for deep
    networks", ICML 2017.

    Examples
    --------
    >>> import numpy as np
    >>> from sklrnn import RNNClassifier, sequence_attributions
    >>> rng = np.random.RandomState(0)
    >>> X = rng.normal(size=(40, 12))
    >>> y = (X[:, 5] > 0).astype(int)
    >>> clf = RNNClassifier(hidden_size=8, max_epochs=20, random_state=0).fit(X, y)
    >>> X[0, 9:] = np.nan  # the first sequence ends after 9 steps
    >>> attributions = sequence_attributions(clf, X[:3])
    >>> attributions.shape
    (3, 12, 1)
    >>> bool((attributions[0, 9:] == 0).all())
    True
    """
    _check_sklrnn_estimator(estimator, "sequence_attributions")
    _reject_bool(n_steps, "n_steps", "sequence_attributions")
    if not isinstance(baseline, str) and np.asarray(baseline).dtype.kind == "b":
        raise TypeError(
            f"baseline must be 'mean', a number or one number per feature, got {baseline}."
        )
    check_is_fitted(estimator)
    estimator._check_prediction_params(plain=True)  # max_length is read below
    X3, lengths = validate_sequences(estimator, X, reset=False)
    module = estimator.net_.module_
    # The model reads the last max_length steps of each sequence: those are
    # explained, and the result put back at their places.
    max_length = estimator.max_length
    Xt, lt = (X3, lengths) if max_length is None else truncate(X3, lengths, max_length)
    score, scale = _score_function(estimator, Xt, lt, target)
    base = _baseline(estimator, module, baseline)
    result = np.zeros(X3.shape, dtype=np.float64)
    if Xt is X3:  # the model reads every step
        _integrated_gradients(module, X3, lengths, base, score, n_steps, out=result)
        return _scaled(_check_finite(result), scale)
    part = np.zeros(Xt.shape, dtype=np.float64)
    _integrated_gradients(module, Xt, lt, base, score, n_steps, out=part)
    start = np.maximum(lengths - max_length, 0)
    rows, steps = np.nonzero(np.arange(max_length)[None, :] < lt[:, None])
    result[rows, start[rows] + steps] = part[rows, steps]
    del part
    return _scaled(_check_finite(result), scale)


def _scaled(attributions, scale):
    """``attributions * scale``, in place: a copy doubled the memory of the result."""
    if scale != 1.0:
        attributions *= scale
    return attributions


def _check_finite(attributions):
    """The attributions, or a ValueError where float32 overflowed on the way."""
    if not np.isfinite(attributions).all():
        raise ValueError(
            "The attributions are not finite: the path from the baseline to X, or the "
            "gradients along it, overflow float32. Use a baseline nearer the values of X, "
            "or rescale X the same way as for fit."
        )
    return attributions


def _score_function(estimator, X3, lengths, target):
    """``score(outputs, rows)``, the explained output of the samples at ``rows``
    of validated ``X3`` (the steps the model reads), and the factor that takes
    its attributions to the units of the prediction."""
    name = type(estimator).__name__
    n_samples = len(X3)
    if is_classifier(estimator):
        classes = estimator.classes_
        if target is None:  # the predicted class
            index = estimator._forward_valid(X3, lengths).argmax(axis=1)
        else:
            labels = np.asarray(target)
            if labels.ndim > 1 or (labels.ndim == 1 and len(labels) != n_samples):
                raise ValueError(
                    f"target has shape {labels.shape}, but X has {n_samples} sequences: "
                    "give one class label, or one per sequence."
                )
            if labels.dtype == bool and classes.dtype != bool:
                # numpy would match True to the class 1.
                raise ValueError(
                    f"target holds bools ({reprlib.repr(labels.tolist())}), but the classes_ "
                    f"of {name} are {classes.tolist()}: give one of them."
                )
            try:
                codes, unknown = _label_codes(labels, classes)
            except TypeError as exc:  # e.g. None among int labels: no order to compare in
                raise ValueError(
                    f"target must hold class labels of {name} (its classes_ are "
                    f"{classes.tolist()}), got {reprlib.repr(labels.tolist())}."
                ) from exc
            if unknown.size:
                raise ValueError(
                    f"target contains labels {unknown.tolist()} that are not classes of "
                    f"{name}; its classes_ are {classes.tolist()}."
                )
            index = np.broadcast_to(codes, (n_samples,))
        index = torch.tensor(index, dtype=torch.int64)

        def score(outputs, rows):
            # The log-odds log(p / (1 - p)) of the class: unlike log p, it does
            # not saturate where the model is sure of the class. log_softmax
            # leaves an ensemble's output, a log-probability already, as it is.
            log_proba = torch.log_softmax(outputs, dim=1)
            chosen = index[rows].to(outputs.device)[:, None]
            others = log_proba.scatter(1, chosen, float("-inf")).logsumexp(dim=1)
            return log_proba.gather(1, chosen)[:, 0] - others

        return score, 1.0
    n_outputs = estimator.n_outputs_
    if target is None and n_outputs == 1:
        target = 0
    if not isinstance(target, Integral) or isinstance(target, bool) or not 0 <= target < n_outputs:
        shown = (
            target.tolist() if hasattr(target, "tolist") else target
        )  # reprlib shortens long lists
        raise ValueError(
            f"target must be the index of a target column of {name}, an int in "
            f"[0, {n_outputs - 1}] ({name} was fitted with {counted(n_outputs, 'target')}), "
            f"got {reprlib.repr(shown)}."
        )

    def score(outputs, rows):
        return outputs[:, target]

    # The prediction is the output times y's scale, applied to the
    # attributions in float64: in float32 a scale of 1e-50 gave zeros, and
    # one of 1e40 infinities.
    return score, float(estimator._y_scale[target])


def _baseline(estimator, module, baseline):
    """The baseline as a float32 array of one value per feature."""
    n_features = estimator._n_channels
    if isinstance(baseline, str):  # "mean"
        return networks_of(module)[0].input_mean.detach().cpu().numpy().astype(np.float32)
    try:
        values = np.asarray(baseline, dtype=np.float64)
    except (TypeError, ValueError) as exc:  # text, ragged lists
        raise TypeError(
            f"baseline must be 'mean', a number or {counted(n_features, 'number')} (one per "
            f"feature of a time step), got {baseline!r}."
        ) from exc
    if values.ndim == 0:
        values = np.full(n_features, float(values))
    if values.shape != (n_features,):
        raise ValueError(
            f"baseline must be 'mean', a number or {counted(n_features, 'number')} (one per "
            f"feature of a time step), got an array of shape {values.shape}."
        )
    if not np.isfinite(values).all():
        raise ValueError("baseline contains NaN or infinity; give finite values.")
    # The network computes in float32: a larger value would become inf there.
    with np.errstate(over="ignore"):
        values32 = values.astype(np.float32)
    if not np.isfinite(values32).all():
        raise ValueError(
            f"baseline contains values too large for float32 (|x| > "
            f"{np.finfo(np.float32).max:.3g}), the precision the network computes in; "
            "give values within that range."
        )
    return values32


def _passes(lengths, n_steps):
    """``(start, stop, step_chunk)`` of each pass over sequences of ``lengths``, in order.

    A pass holds as many sequences as fit ``_PASS_STEPS`` time steps at
    ``step_chunk`` points of their paths each, at the width of the pass's own
    longest sequence: one long sequence among short ones widens its own pass
    only (at the width of the longest of all, 1,000 sequences of 20 steps and
    one of 1,000 ran a pass per sequence).
    """

    def step_chunk_and_size(longest):
        per_pass = max(1, _PASS_STEPS // longest)
        step_chunk = min(n_steps, per_pass)
        return step_chunk, max(1, per_pass // step_chunk)

    start, n_samples = 0, len(lengths)
    while start < n_samples:
        stop, longest = start + 1, int(lengths[start])
        while stop < n_samples:
            wider = max(longest, int(lengths[stop]))
            if stop + 1 - start > step_chunk_and_size(wider)[1]:
                break
            stop, longest = stop + 1, wider
        yield start, stop, step_chunk_and_size(longest)[0]
        start = stop


def _integrated_gradients(module, X3, lengths, baseline, score, n_steps, out):
    """Write the attributions of the padded sequences ``X3`` into ``out``.

    A pass holds sequences at ``step_chunk`` points of their paths, at most
    ``_PASS_STEPS`` time steps in all (:func:`_passes`).
    """
    device = next(module.parameters()).device
    networks = networks_of(module)
    kernels = networks[0].kernels is not None
    base = torch.as_tensor(baseline, device=device)
    module.eval()  # no dropout, batch normalization's running statistics: as predict
    # Gradients also where the caller runs under torch.inference_mode.
    with torch.inference_mode(False), torch.enable_grad():
        for start, stop, step_chunk in _passes(lengths, n_steps):
            rows = torch.arange(start, stop)
            chunk_lengths = torch.as_tensor(lengths[rows.numpy()])
            longest = int(chunk_lengths.max())
            x = torch.as_tensor(X3[start : start + len(rows), :longest], device=device)
            valid = _valid_mask(chunk_lengths, longest, device).transpose(1, 2)
            x = x * valid
            explain = _with_kernels if kernels else _gradients
            attributions = explain(
                module, x, base * valid, chunk_lengths, rows, score, n_steps, step_chunk
            )
            out[start : start + len(rows), :longest] = attributions.cpu().numpy()


def _path_gradients(module, x, base, lengths, rows, score, n_steps, step_chunk, features=None):
    """Sum of the gradients of the score along the straight path from ``base`` to
    ``x`` (midpoints of ``n_steps`` segments, ``step_chunk`` of them a pass),
    with the random kernels' features held at ``features``."""
    alphas = (torch.arange(n_steps, dtype=x.dtype, device=x.device) + 0.5) / n_steps
    grad = torch.zeros_like(x)
    for first in range(0, n_steps, step_chunk):
        alpha = alphas[first : first + step_chunk, None, None, None]
        repeat = len(alpha)
        path = (base + alpha * (x - base)).reshape(-1, *x.shape[1:]).requires_grad_()
        held = () if features is None else (features.repeat(repeat, 1),)
        outputs = module(path, lengths.repeat(repeat), *held)
        total = score(outputs, rows.repeat(repeat)).sum()
        grad += torch.autograd.grad(total, path)[0].reshape(repeat, *x.shape).sum(dim=0)
    return grad


def _feature_path_gradient(module, x, ends, lengths, rows, score, step_chunk):
    """Mean gradient of the score with respect to the kernels' features along the
    straight path between ``ends`` (theirs at the baseline and at ``x``), with
    the network's inputs held at ``x``: its product with the features' change
    is the change of the score (Gauss-Legendre rule, ``step_chunk`` points a pass)."""
    nodes, weights = np.polynomial.legendre.leggauss(_FEATURE_NODES)
    alphas = torch.as_tensor((nodes + 1) / 2, dtype=x.dtype, device=x.device)
    weights = torch.as_tensor(weights / 2, dtype=x.dtype, device=x.device)
    grad = torch.zeros_like(ends[0])
    for first in range(0, _FEATURE_NODES, step_chunk):
        alpha = alphas[first : first + step_chunk, None, None]
        repeat = len(alpha)
        path = (ends[1] + alpha * (ends[0] - ends[1])).reshape(-1, ends[0].shape[1])
        path.requires_grad_()
        outputs = module(x.repeat(repeat, 1, 1), lengths.repeat(repeat), path)
        scores = score(outputs, rows.repeat(repeat)).reshape(repeat, -1)
        total = (scores * weights[first : first + repeat, None]).sum()
        grad += torch.autograd.grad(total, path)[0].reshape(repeat, *grad.shape).sum(dim=0)
    return grad


def _gradients(module, x, base, lengths, rows, score, n_steps, step_chunk):
    """Integrated gradients of (batch, steps, features) ``x`` against ``base``."""
    grad = _path_gradients(module, x, base, lengths, rows, score, n_steps, step_chunk)
    return (x - base) * grad / n_steps


def _with_kernels(module, x, base, lengths, rows, score, n_steps, step_chunk):
    """Attributions of a model with random kernels, whose features move by steps.

    Their gradient is zero wherever it exists, so the change of the score is
    split between two players, the network's inputs and the kernels'
    features, by their Shapley values: each player's mean effect over the two
    values of the other. The network's share goes to the input values by
    integrated gradients with the features held at the sequence's, then at
    the baseline's. The kernels' share goes to the input values whose
    changes flip the kernels' comparisons between the baseline and the
    sequence (:meth:`~sklrnn._module.RandomKernels.path_attributions`), each
    flip weighted by the score's gradient with respect to its feature,
    averaged along the features' path with the inputs at either end. Those
    weights times the features' change add up to the kernels' share; the
    gradients at the path's ends alone (as once used) could nearly cancel,
    or change sign, where the score bends (a multi-class log-odds, an
    ensemble's averaged probabilities), and the flips' scaling to the share
    then blew them up.
    """
    networks = networks_of(module)
    with torch.no_grad():
        ends = [module.kernel_features(end, lengths) for end in (x, base)]
    attributions = torch.zeros_like(x)
    for features in ends:
        grad = _path_gradients(module, x, base, lengths, rows, score, n_steps, step_chunk, features)
        attributions += (x - base) * grad / (2 * n_steps)
    grad_features = sum(
        _feature_path_gradient(module, inp, ends, lengths, rows, score, step_chunk) / 2
        for inp in (x, base)
    )
    with torch.no_grad():
        # scores[i][j]: inputs at end i, features at end j (0: x, 1: base).
        scores = [[score(module(inp, lengths, f), rows) for f in ends] for inp in (x, base)]
        share = (scores[0][0] - scores[0][1] + scores[1][0] - scores[1][1]) / 2
        linear = (grad_features * (ends[0] - ends[1])).sum(dim=1)
    flips = torch.zeros_like(x)
    widths = [network.kernel_width for network in networks]
    for network, g in zip(networks, grad_features.split(widths, dim=1), strict=True):
        flips += network.kernel_path_attributions(base, x, lengths, g)
    # The weighted flips sum to the path integral: scale them to the kernels'
    # share (the rule's error, within rounding), unless the share nearly cancels.
    scale = torch.where(linear.abs() > 1e-3 * share.abs(), share / linear, 1.0)
    return attributions + flips * scale[:, None, None]
