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


def _ridge(Z, Y, weights):
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
    # Zs = B U' with B'B = diag(s): the fitted values are
    # B diag(1 / (s + alpha)) B' Ys, the leverages the diagonal of that map
    # plus the intercept's. B (samples x rank) is taken a block of rows at a
    # time: whole, it and its square were two more copies of Z.
    if n <= p:
        s, Q = torch.linalg.eigh(Zs @ Zs.T)
        s = s.clamp(min=0)
        BtY = s.sqrt()[:, None] * (Q.T @ Ys)

        def rows(start, stop):
            return Q[start:stop] * s.sqrt()
    else:
        s, V = torch.linalg.eigh(Zs.T @ Zs)
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
    if n <= p:
        coef = Zs.T @ (Q @ (inverse[:, None] * (Q.T @ Ys)))
    else:
        coef = V @ (inverse[:, None] * BtY)
    intercept = y_mean - z_mean @ coef
    return coef.T.cpu().numpy(), intercept.cpu().numpy(), (Y - residual).cpu().numpy()


def _penalized_ridge(Z, Y, weights, penalty):
    """Ridge regression of ``Y`` on the float64 tensor ``Z`` with penalty
    ``alpha + penalty[j]`` on feature ``j``.

    As :func:`_ridge`, for features of their own penalties: an unpenalized
    intercept, sample ``weights`` (or None), and ``alpha`` among
    ``_RIDGE_ALPHAS`` of the least weighted mean squared leave-one-out
    error. One Cholesky factorization per penalty of the features' Gram
    matrix (features x features), for a few hundred features. Returns the
    coefficients (outputs x features), the intercepts and the leave-one-out
    predictions (samples x outputs) as NumPy arrays, or None where no
    penalty gives a factorization.
    """
    n, p = Z.shape
    Y = torch.as_tensor(Y, dtype=Z.dtype, device=Z.device).reshape(n, -1)
    w = Z.new_ones(n) if weights is None else torch.as_tensor(weights).to(Z)
    z_mean, y_mean = w @ Z / w.sum(), w @ Y / w.sum()
    root = w.sqrt()[:, None]
    Zs, Ys = (Z - z_mean) * root, (Y - y_mean) * root
    gram, moment = Zs.T @ Zs, Zs.T @ Ys
    block = max(1, _RIDGE_BLOCK_VALUES // p)
    best = None
    for alpha in _RIDGE_ALPHAS:
        factor, failed = torch.linalg.cholesky_ex(gram + torch.diag(penalty + alpha))
        if failed:
            continue
        coef = torch.cholesky_solve(moment, factor)
        # The leverage of row i: |L^-1 z_i|^2, and the intercept's w_i / sum(w).
        leverage = torch.cat(
            [
                torch.linalg.solve_triangular(factor, Zs[start : start + block].T, upper=False)
                .square()
                .sum(dim=0)
                for start in range(0, n, block)
            ]
        )
        leverage += w / w.sum()
        residual = (Ys - Zs @ coef) / (1.0 - leverage)[:, None] / root
        error = float((w[:, None] * residual.square()).sum())
        if best is None or error < best[0]:
            best = (error, coef, residual)
    if best is None:
        return None
    _, coef, residual = best
    intercept = y_mean - z_mean @ coef
    return coef.T.cpu().numpy(), intercept.cpu().numpy(), (Y - residual).cpu().numpy()


def _clearly_better(candidate, incumbent, target, weights):
    """Whether leave-one-out predictions ``candidate`` beat ``incumbent``'s by
    more than two standard errors of their paired difference.

    The difference is each sequence's weighted squared error, summed over
    the outputs, of ``incumbent`` less that of ``candidate``.
    """
    w = np.ones(len(target)) if weights is None else weights
    target = target.reshape(len(target), -1)
    gain = w * (((target - incumbent) ** 2).sum(axis=1) - ((target - candidate) ** 2).sum(axis=1))
    return gain.sum() > 2 * np.sqrt(len(gain)) * gain.std()
