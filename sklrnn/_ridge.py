"""Ridge regressions for the closed-form heads, with leave-one-out penalties.

The heads that ``fit`` solves at its end (see ``_BaseRNN._solve_heads``)
are ridge regressions on the features the head reads, their penalty chosen
by closed-form leave-one-out error, computed in float64 torch on the
model's device.
"""

import numpy as np
import torch

# The penalties the closed-form heads choose among, as RidgeClassifierCV's
# default for MiniRocket's features.
_RIDGE_ALPHAS = tuple(np.logspace(-3, 3, 10))
# Values in a block of rows of the ridge's decomposed features (float64: 32 MB).
_RIDGE_BLOCK_VALUES = 2**22


def _ridge(Z, Y, weights, penalty=None):
    """Ridge regression of ``Y`` on the float64 tensor ``Z`` (overwritten), on ``Z``'s device.

    An unpenalized intercept, sample ``weights`` (or None), and the penalty
    among ``_RIDGE_ALPHAS`` with the least weighted mean squared
    leave-one-out error, which a ridge regression gives in closed form: what
    scikit-learn's ``RidgeCV`` fits with ``scoring="neg_mean_squared_error"``.
    One eigendecomposition serves every penalty: of the Gram matrix (samples
    x samples) when there are no more samples than features, else of the
    covariance (features x features), so that the cost grows as ``n**2 * p``
    up to ``n = p`` and as ``n * p**2`` beyond, where ``RidgeCV`` takes a
    singular value decomposition of ``Z``, several times slower. Beyond ``Z``
    it holds that decomposition, a block of rows at a time, and each
    penalty's leave-one-out residuals (penalties x samples x outputs). Returns, as
    NumPy arrays, the coefficients (outputs x features), the intercepts and
    the leave-one-out predictions (samples x outputs) at the chosen penalty.

    ``penalty``, a tensor of one value per feature (or None), adds to each
    of ``_RIDGE_ALPHAS`` on its feature: the covariance, plus these on its
    diagonal, is then decomposed, whatever the number of samples.
    """
    n, p = Z.shape
    Y = torch.as_tensor(Y, dtype=Z.dtype, device=Z.device).reshape(n, -1)
    w = Z.new_ones(n) if weights is None else torch.as_tensor(weights).to(Z)
    z_mean, y_mean = w @ Z / w.sum(), w @ Y / w.sum()
    # Rows scaled by the square roots of the weights: centred, their
    # columns are orthogonal to the intercept's, which then adds w / sum(w)
    # to the leverages and nothing else.
    root = w.sqrt()[:, None]
    Zs, Ys = Z.sub_(z_mean).mul_(root), (Y - y_mean) * root  # Z's memory reused
    # With Zs Zs' = Q diag(s) Q' and B = Q diag(sqrt(s)), or Zs'Zs (plus the
    # penalties) = V diag(s) V' and B = Zs V, the fitted values are
    # B diag(1 / (s + alpha)) B' Ys, the leverages the diagonal of that map
    # plus the intercept's. B (samples x rank) is taken a block of rows at a
    # time: whole, it and its square were two more copies of Z.
    if n <= p and penalty is None:
        s, Q = torch.linalg.eigh(Zs @ Zs.T)
        s = s.clamp(min=0)
        BtY = s.sqrt()[:, None] * (Q.T @ Ys)

        def rows(start, stop):
            return Q[start:stop] * s.sqrt()
    else:
        covariance = Zs.T @ Zs
        if penalty is not None:
            covariance.diagonal().add_(penalty)
        s, V = torch.linalg.eigh(covariance)
        s = s.clamp(min=0)
        BtY = V.T @ (Zs.T @ Ys)

        def rows(start, stop):
            return Zs[start:stop] @ V

    alphas = torch.tensor(_RIDGE_ALPHAS, dtype=Z.dtype, device=Z.device)
    inverses = 1.0 / (s + alphas[:, None])  # penalties x rank
    fitted_by = inverses[:, :, None] * BtY  # each penalty's map from B to the fitted values
    residuals = Ys.new_empty(len(alphas), n, Ys.shape[1])
    intercept_leverage = w / w.sum()
    block = max(1, _RIDGE_BLOCK_VALUES // len(s))
    for start in range(0, n, block):
        stop = min(start + block, n)
        B = rows(start, stop)
        # rows x penalties
        leverage = intercept_leverage[start:stop, None] + B.square() @ inverses.T
        held_out = (Ys[start:stop] - B @ fitted_by) / (1.0 - leverage.T)[:, :, None]
        residuals[:, start:stop] = held_out / root[start:stop]
    errors = (w[:, None] * residuals.square()).sum(dim=(1, 2))
    best = int(torch.argmin(errors))  # the first of equals, the smallest penalty
    residual, inverse = residuals[best], inverses[best]
    if n <= p and penalty is None:
        coef = Zs.T @ (Q @ (inverse[:, None] * (Q.T @ Ys)))
    else:
        coef = V @ (inverse[:, None] * BtY)
    intercept = y_mean - z_mean @ coef
    return coef.T.cpu().numpy(), intercept.cpu().numpy(), (Y - residual).cpu().numpy()


def _clearly_better(candidate, incumbent, target, weights):
    """Whether leave-one-out predictions ``candidate`` beat ``incumbent``'s by
    more than two standard errors of their paired difference.

    The difference is each sequence's weighted squared error, summed over
    the outputs, of ``incumbent`` less that of ``candidate``.
    """
    n = len(target)
    w = np.ones(n) if weights is None else weights
    target, candidate, incumbent = (np.reshape(a, (n, -1)) for a in (target, candidate, incumbent))
    gain = w * (((target - incumbent) ** 2).sum(axis=1) - ((target - candidate) ** 2).sum(axis=1))
    return gain.sum() > 2 * np.sqrt(n) * gain.std(ddof=1)
