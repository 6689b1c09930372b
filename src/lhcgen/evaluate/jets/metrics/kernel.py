"""KPD: kernel physics distance, the unbiased MMD^2 with a polynomial kernel.

As defined by the ``jetnet`` package v0.2.5 (Kansal et al., arXiv:2211.10295; the estimator
of Gretton et al., JMLR 13 (2012) 723, and the KID kernel of Binkowski et al.,
arXiv:1801.01401): the features are divided by the maximum |real| of each feature; in each
of ``num_batches`` batches, ``batch_size`` jets are drawn with replacement from each sample
(batch i with ``default_rng(seed + 1000 i)``, jetnet's scheme) and

    MMD^2_u = sum_{i != j} k(x_i, x_j) / (m (m-1)) + sum_{i != j} k(y_i, y_j) / (n (n-1))
              - 2 sum_{i, j} k(x_i, y_j) / (m n),    k(x, y) = (x . y / D + 1)^4,

is computed. The KPD is the median over batches; its error is half the spread between the
16.275 and 83.725 percentiles (jetnet's ``iqr(..., rng=(16.275, 83.725)) / 2``).

Differences from jetnet: the kernel sums are taken in blocks (memory ~ block * batch_size
doubles instead of three batch_size^2 matrices), and a sample smaller than ``batch_size`` is
an error. The draws are jetnet's, so seeded values agree.
"""

from __future__ import annotations

import numpy as np

from lhcgen.errors import LhcgenError
from lhcgen.evaluate.jets.metrics.frechet import normalise_features
from lhcgen.evaluate.jets.metrics.result import MetricResult, draw_jets, require_samples

KPD_ERROR = "half the 16.275-83.725 percentile range over batches"
KERNEL_DEGREE = 4


def _kernel_sum(x: np.ndarray, y: np.ndarray, degree: int, block: int) -> float:
    """sum_{i,j} (x_i . y_j / D + 1)^degree, in blocks of rows of x."""
    gamma = 1.0 / x.shape[1]
    total = 0.0
    for start in range(0, len(x), block):
        kernel = x[start:start + block] @ y.T
        kernel *= gamma
        kernel += 1.0
        total += float(np.power(kernel, degree).sum())
    return total


def mmd_poly_unbiased(x: np.ndarray, y: np.ndarray, degree: int = KERNEL_DEGREE,
                      block: int = 1024) -> float:
    """Unbiased MMD^2 between samples x and y with the kernel (x . y / D + 1)^degree.

    Parameters
    ----------
    x : (m, D) float, m >= 2.
    y : (n, D) float, n >= 2.
    degree : polynomial degree (jetnet: 4).
    block : rows per kernel block.
    """
    x, y = np.asarray(x, dtype=np.float64), np.asarray(y, dtype=np.float64)
    m, n = len(x), len(y)
    if m < 2 or n < 2 or x.shape[1] != y.shape[1]:
        raise LhcgenError(f"mmd_poly_unbiased needs two samples of >= 2 points with the same "
                          f"dimension, got {x.shape} and {y.shape}")
    gamma = 1.0 / x.shape[1]
    diag_x = float(((np.einsum("ij,ij->i", x, x) * gamma + 1.0) ** degree).sum())
    diag_y = float(((np.einsum("ij,ij->i", y, y) * gamma + 1.0) ** degree).sum())
    xx = (_kernel_sum(x, x, degree, block) - diag_x) / (m * (m - 1))
    yy = (_kernel_sum(y, y, degree, block) - diag_y) / (n * (n - 1))
    xy = _kernel_sum(x, y, degree, block) / (m * n)
    return xx + yy - 2 * xy


def kpd(real_features: np.ndarray, gen_features: np.ndarray, *, seed: int,
        num_batches: int = 10, batch_size: int = 5_000, normalise: bool = True,
        weights: tuple[np.ndarray | None, np.ndarray | None] = (None, None)) -> MetricResult:
    """KPD between real and generated features (jetnet v0.2.5 defaults).

    Parameters
    ----------
    real_features : (N, D) float, e.g. the 36 EFPs of ``lhcgen.physics.efp.efps_d_le_4``.
    gen_features : (M, D) float.
    seed : batch i draws with ``default_rng(seed + 1000 i)`` (jetnet's default seed is 42).
    num_batches : number of batches.
    batch_size : jets drawn (with replacement) from each sample per batch.
    normalise : divide by the maximum |real| of each feature first.
    weights : event weights of the real and generated jets (None: unweighted; see
        ``draw_jets``).

    Returns
    -------
    MetricResult: the median over batches and half the 16-84 % spread.
    """
    real = np.asarray(real_features, dtype=np.float64)
    gen = np.asarray(gen_features, dtype=np.float64)
    if real.ndim != 2 or gen.ndim != 2 or real.shape[1] != gen.shape[1]:
        raise LhcgenError(f"kpd: features must be (N, D) with the same D, got {real.shape} "
                          f"and {gen.shape}")
    if num_batches < 1 or batch_size < 2:
        raise LhcgenError("kpd: need num_batches >= 1 and batch_size >= 2")
    require_samples("kpd", batch_size, {"real": len(real), "generated": len(gen)},
                    "batch_size")
    if normalise:
        real, gen = normalise_features(real, gen)
    values = []
    for i in range(num_batches):
        rng = np.random.default_rng(seed + i * 1000)
        batch_real = real[draw_jets(rng, len(real), batch_size, weights[0])]
        batch_gen = gen[draw_jets(rng, len(gen), batch_size, weights[1])]
        values.append(mmd_poly_unbiased(batch_real, batch_gen))
    low, high = np.percentile(values, [16.275, 83.725])
    settings = {"num_batches": num_batches, "batch_size": batch_size,
                "kernel": f"(x.y/D + 1)^{KERNEL_DEGREE}", "normalise": normalise,
                "seed": seed, "seeds": "seed + 1000 * batch", "n_real": len(real),
                "n_gen": len(gen)}
    return MetricResult("kpd", float(np.median(values)), float((high - low) / 2),
                        KPD_ERROR, settings)
