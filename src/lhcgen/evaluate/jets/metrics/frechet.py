"""FPD: Fréchet physics distance, extrapolated to infinite sample size.

As defined by the ``jetnet`` package v0.2.5 (Kansal et al., arXiv:2211.10295, following
Chong & Forsyth's FID_infinity, arXiv:1911.07023): the features are divided by the maximum
|real| of each feature; for ``num_points`` batch sizes N evenly spaced in 1/N between
``min_samples`` and ``max_samples``, the Fréchet distance

    FD = |mu_r - mu_g|^2 + Tr(S_r + S_g - 2 (S_r S_g)^(1/2))

of Gaussians fitted to two batches drawn with replacement is averaged over
``num_batches`` draws; a straight line in 1/N with non-negative intercept and slope is
fitted by least squares, and its intercept (N -> infinity) is the FPD, with the fit's
standard error as the uncertainty (``scipy.optimize.curve_fit``'s, which jetnet reports).

Differences from jetnet, on purpose:

- Tr (S_r S_g)^(1/2) is computed as Re sum_i lambda_i^(1/2) over the eigenvalues of
  S_r S_g (principal branch), which is what the real part of the trace of jetnet's
  ``scipy.linalg.sqrtm`` is, without forming the matrix square root (no warnings, no
  epsilon added to the diagonal). EFP covariances are nearly singular (condition numbers
  ~1e10), and this agrees with a 50-digit evaluation about as well as ``sqrtm`` (~1e-8
  absolute); a symmetric S_r^(1/2) S_g S_r^(1/2) form is worse here, because it takes
  square roots of S_r's tiny eigenvalues;
- the constrained straight-line fit is solved exactly, in closed form; jetnet's iterative
  ``curve_fit`` (trust-region reflective, for the bounds) stops at its tolerance, about
  1e-5 relative off where the slope >= 0 bound is active;
- a sample smaller than ``max_samples`` is an error, not a warning.

The random draws follow jetnet's exactly (``default_rng(seed)``, real then generated).
"""

from __future__ import annotations

import numpy as np

from lhcgen.errors import LhcgenError
from lhcgen.evaluate.jets.metrics.result import MetricResult, draw_jets, require_samples

FPD_ERROR = "standard error of the extrapolated intercept (least-squares fit in 1/N)"


def frechet_distance(mu1: np.ndarray, sigma1: np.ndarray, mu2: np.ndarray,
                     sigma2: np.ndarray) -> float:
    """Fréchet (2-Wasserstein squared) distance between N(mu1, sigma1) and N(mu2, sigma2).

    Parameters
    ----------
    mu1, mu2 : (D,) float, means.
    sigma1, sigma2 : (D, D) float, symmetric positive semi-definite covariances.
    """
    mu1, mu2 = np.atleast_1d(mu1), np.atleast_1d(mu2)
    sigma1, sigma2 = np.atleast_2d(sigma1), np.atleast_2d(sigma2)
    if mu1.shape != mu2.shape or sigma1.shape != sigma2.shape:
        raise LhcgenError("frechet_distance: means or covariances differ in shape")
    eigenvalues = np.linalg.eigvals(sigma1 @ sigma2).astype(np.complex128)
    tr_covmean = float(np.sqrt(eigenvalues).real.sum())
    diff = mu1 - mu2
    return float(diff @ diff + np.trace(sigma1) + np.trace(sigma2) - 2 * tr_covmean)


def normalise_features(real: np.ndarray, gen: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Divide both samples by the maximum |real| of each feature (features that are all 0
    are left alone), as jetnet's ``_normalise_features``."""
    maxes = np.max(np.abs(real), axis=0)
    maxes[maxes == 0] = 1
    return real / maxes, gen / maxes


def fit_intercept(x: np.ndarray, y: np.ndarray) -> tuple[float, float, float]:
    """Least-squares y = a + b x with a, b >= 0, and the standard error of a.

    The error is curve_fit's: sqrt(s^2 [(J^T J)^-1]_00) with J = [1, x] and
    s^2 = sum(residuals^2) / (len(x) - 2).

    Returns
    -------
    (a, b, error of a).
    """
    x, y = np.asarray(x, dtype=np.float64), np.asarray(y, dtype=np.float64)
    if len(x) < 3:
        raise LhcgenError("fit_intercept needs at least 3 points for an error")
    design = np.stack([np.ones_like(x), x], axis=1)
    candidates = [np.linalg.lstsq(design, y, rcond=None)[0],
                  np.array([max(y.mean(), 0.0), 0.0]),
                  np.array([0.0, max((x @ y) / (x @ x), 0.0)]), np.zeros(2)]
    feasible = [c for c in candidates if np.all(c >= 0)]
    best = min(feasible, key=lambda c: float(np.sum((y - design @ c) ** 2)))
    residual2 = float(np.sum((y - design @ best) ** 2))
    covariance = np.linalg.inv(design.T @ design) * residual2 / (len(x) - 2)
    return float(best[0]), float(best[1]), float(np.sqrt(covariance[0, 0]))


def fpd(real_features: np.ndarray, gen_features: np.ndarray, *, seed: int,
        min_samples: int = 20_000, max_samples: int = 50_000, num_batches: int = 20,
        num_points: int = 10, normalise: bool = True,
        weights: tuple[np.ndarray | None, np.ndarray | None] = (None, None)) -> MetricResult:
    """FPD between real and generated features (jetnet v0.2.5 defaults).

    Parameters
    ----------
    real_features : (N, D) float, e.g. the 36 EFPs of ``lhcgen.physics.efp.efps_d_le_4``.
    gen_features : (M, D) float.
    seed : seed of the generator that draws the batches (jetnet's default is 42).
    min_samples, max_samples : smallest and largest batch size.
    num_batches : draws averaged per batch size.
    num_points : number of batch sizes.
    normalise : divide by the maximum |real| of each feature first.
    weights : event weights of the real and generated jets (None: unweighted; see
        ``draw_jets``).

    Returns
    -------
    MetricResult: the intercept and its standard error; settings with the batch sizes.
    """
    real = np.asarray(real_features, dtype=np.float64)
    gen = np.asarray(gen_features, dtype=np.float64)
    if real.ndim != 2 or gen.ndim != 2 or real.shape[1] != gen.shape[1]:
        raise LhcgenError(f"fpd: features must be (N, D) with the same D, got {real.shape} "
                          f"and {gen.shape}")
    if not 0 < min_samples <= max_samples or num_points < 3 or num_batches < 1:
        raise LhcgenError("fpd: need 0 < min_samples <= max_samples, num_points >= 3 and "
                          "num_batches >= 1")
    require_samples("fpd", max_samples, {"real": len(real), "generated": len(gen)},
                    "max_samples")
    if normalise:
        real, gen = normalise_features(real, gen)
    # evenly spaced in 1/N; int32 truncation as jetnet's
    batch_sizes = (1 / np.linspace(1.0 / min_samples, 1.0 / max_samples, num_points)
                   ).astype("int32")
    rng = np.random.default_rng(seed)
    means = []
    for size in batch_sizes:
        values = []
        for _ in range(num_batches):
            batch_real = real[draw_jets(rng, len(real), size, weights[0])]
            batch_gen = gen[draw_jets(rng, len(gen), size, weights[1])]
            values.append(frechet_distance(
                batch_real.mean(axis=0), np.cov(batch_real, rowvar=False),
                batch_gen.mean(axis=0), np.cov(batch_gen, rowvar=False)))
        means.append(np.mean(values))
    intercept, _, error = fit_intercept(1 / batch_sizes, np.asarray(means))
    settings = {"min_samples": min_samples, "max_samples": max_samples,
                "num_batches": num_batches, "num_points": num_points,
                "batch_sizes": [int(s) for s in batch_sizes], "normalise": normalise,
                "seed": seed, "n_real": len(real), "n_gen": len(gen)}
    return MetricResult("fpd", intercept, error, FPD_ERROR, settings)
