"""Generated jets beyond the truth's range of energy flow polynomials.

FPD and KPD divide every EFP by its largest |value| among the truth jets (jetnet's
normalisation), so a truth jet lies inside [0, 1] in each of them. One generated jet far
outside that range moves the covariance FPD compares by (its value)^2 / N, and at 5000
jets a single jet 90 standard deviations out sets the whole FPD: the metric's bootstrap error
resamples the same jets and does not show it. This counts those jets, so that a table can
say whether FPD and KPD describe the bulk of the sample or a handful of strays.

A jet's *reach* is its largest EFP in units of the truth's largest of the same EFP
(max over the EFPs of |gen_k| / max |real_k|); the truth's own jets reach at most 1.
``n_beyond`` counts the generated jets that reach beyond 1. Between two independent samples
of one distribution it is small but not zero: for a single continuous feature, a sample of m
has m / (n + 1) jets beyond the largest of n on average (each of the m is the largest of
n + 1 exchangeable draws with probability 1 / (n + 1)); over 36 correlated EFPs it lies
between that and 36 times it, which is why the benchmarks quote it beside the same count
for the independent truth jets (the floor).

The count is split by what the jets exceed: the pT-sum EFP (sum_i z_i, no angle: too much
pT in the stored constituents) or an EFP with edges (an angular shape the truth does not
reach). For the five-type EDM's top jets most of the count is the first kind, from jets
truncated to 30 constituents whose stored pT sums past the truth's, while FPD follows the
farthest reach, set by a few jets of the second kind (docs/jets-generators.md).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np

from lhcgen.errors import LhcgenError
from lhcgen.physics.efp import CONNECTED_D_LE_4, Multigraph


@dataclass(frozen=True)
class EfpRange:
    """Generated jets beyond the truth's EFP range.

    n_beyond : generated jets with at least one EFP above the truth's largest.
    n_beyond_pt_sum : of these, the jets beyond on the pT-sum EFP (the graph without edges,
        sum_i z_i), None where no such column was named. It carries no angle: a jet beyond
        on it alone has too much pT in its stored constituents, not too wide a shape.
    n_beyond_angular : the jets beyond on at least one EFP with edges (d >= 1; every EFP
        but the pT sum).
    n_jets : generated jets judged.
    largest_reach : the largest reach of a generated jet (1 = the truth's largest).
    reach_quantiles : the reach at the 50 %, 99 % and 99.9 % quantiles of the generated jets.
    """

    n_beyond: int
    n_beyond_pt_sum: int | None
    n_beyond_angular: int
    n_jets: int
    largest_reach: float
    reach_quantiles: tuple[float, float, float]

    def as_dict(self) -> dict:
        return asdict(self)


REACH_QUANTILES = (0.5, 0.99, 0.999)
PT_SUM_COLUMN = CONNECTED_D_LE_4.index(Multigraph(1, ()))
"""The pT-sum EFP's column in ``efps_d_le_4`` (the graph of one vertex and no edge)."""


def efp_reach(real_efps: np.ndarray, gen_efps: np.ndarray, *, per_efp: bool = False
              ) -> np.ndarray:
    """(M,) float64: each generated jet's largest |EFP| over the truth's largest |EFP| of the
    same polynomial; with ``per_efp``, (M, D) the reach in each EFP (0 in the EFPs that are 0
    for every truth jet, which are left out, as FPD leaves them unscaled)."""
    real = np.asarray(real_efps, dtype=np.float64)
    gen = np.asarray(gen_efps, dtype=np.float64)
    if real.ndim != 2 or gen.ndim != 2 or real.shape[1] != gen.shape[1]:
        raise LhcgenError(f"efp_range: EFPs must be (N, D) with the same D, got {real.shape} "
                          f"and {gen.shape}")
    if len(real) == 0 or len(gen) == 0:
        raise LhcgenError("efp_range: both samples need at least one jet")
    for which, values in (("truth", real), ("generated", gen)):
        bad = int((~np.isfinite(values)).any(axis=1).sum())
        if bad:
            raise LhcgenError(f"efp_range: {bad} {which} jets have non-finite EFPs")
    scale = np.abs(real).max(axis=0)
    used = scale > 0
    if not used.any():
        raise LhcgenError("efp_range: every truth EFP is 0; there is no range to compare with")
    reach = np.zeros_like(gen)
    reach[:, used] = np.abs(gen[:, used]) / scale[used]
    return reach if per_efp else reach.max(axis=1)


def efp_range(real_efps: np.ndarray, gen_efps: np.ndarray, *,
              pt_sum_column: int | None = PT_SUM_COLUMN) -> EfpRange:
    """How many generated jets reach beyond the truth's EFP range, and how far.

    Parameters
    ----------
    real_efps : (N, D) the truth jets' EFPs (e.g. ``JetSample.efps``).
    gen_efps : (M, D) the generated jets' EFPs. Non-finite values are an error, not skipped.
    pt_sum_column : the column of the pT-sum EFP (``efps_d_le_4``'s first), counted apart;
        None if the features hold none.
    """
    per_efp = efp_reach(real_efps, gen_efps, per_efp=True)
    if pt_sum_column is not None and not 0 <= pt_sum_column < per_efp.shape[1]:
        raise LhcgenError(f"efp_range: pt_sum_column {pt_sum_column} is not one of the "
                          f"{per_efp.shape[1]} EFP columns")
    reach = per_efp.max(axis=1)
    angular = np.ones(per_efp.shape[1], dtype=bool)
    n_pt_sum = None
    if pt_sum_column is not None:
        angular[pt_sum_column] = False
        n_pt_sum = int(np.sum(per_efp[:, pt_sum_column] > 1.0))
    return EfpRange(n_beyond=int(np.sum(reach > 1.0)), n_beyond_pt_sum=n_pt_sum,
                    n_beyond_angular=int(np.sum((per_efp[:, angular] > 1.0).any(axis=1))),
                    n_jets=len(reach),
                    largest_reach=float(reach.max()),
                    reach_quantiles=tuple(float(q) for q in np.quantile(reach, REACH_QUANTILES)))
