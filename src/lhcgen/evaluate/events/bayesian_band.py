"""The uncertainty band of a Bayesian generator: per-bin spread over network-weight draws.

A sample written with ``lhcgen sample --weight-draws K`` holds K sub-samples, each from one
network drawn from the weight posterior (``weight_draw``). Per histogram bin the band is the
mean ± standard deviation of the K unit-area densities (Bellagente et al.,
arXiv:2104.04543). The std includes the statistical noise of each sub-sample; it is quoted
beside that noise so the two can be told apart.

The check: does the band cover the generator's deviation from truth? Per bin,
d = |band mean - truth|. Where statistics allow, i.e. where the truth's own statistical
error is below half the band width, a calibrated band covers d in about 68 % of bins at
1 sigma and 95 % at 2 sigma. All bins are also checked against the band and the truth's
error combined in quadrature.
"""

from __future__ import annotations

import numpy as np

from lhcgen.evaluate.histograms import histogram, normalised


def draw_band(values: np.ndarray, weights: np.ndarray, draws: np.ndarray, n_draws: int,
              edges: np.ndarray) -> dict[str, np.ndarray]:
    """Per-bin mean and std over the draws of the unit-area density.

    values, weights, draws : (N,) observable values, event weights and draw indices.
    Returns "mean", "std" (over draws, ddof 1) and "stat" (the mean statistical error of a
    single draw's density), each (B,).
    """
    densities, errors = [], []
    for k in range(n_draws):
        sel = draws == k
        if not sel.any() or not weights[sel].sum() > 0:
            continue
        density, error = normalised(*histogram(values[sel], weights[sel], edges), edges)
        densities.append(density)
        errors.append(error)
    densities = np.asarray(densities)
    if len(densities) < 2:
        zero = np.zeros(len(edges) - 1)
        return {"mean": densities.mean(0) if len(densities) else zero, "std": zero,
                "stat": np.mean(errors, 0) if errors else zero, "draws": len(densities)}
    return {"mean": densities.mean(0), "std": densities.std(0, ddof=1),
            "stat": np.mean(errors, 0), "draws": len(densities)}


def band_coverage(band: dict, truth: np.ndarray, truth_error: np.ndarray) -> dict:
    """How often the band covers the deviation of its mean from the truth density.

    Returns fractions of bins (over bins with truth > 0): "within_1sigma" and
    "within_2sigma" where the truth's statistical error is below half the band's std
    ("statistics allow"; "bins_considered" of them), "within_1sigma_combined" over all bins
    with band and truth error added in quadrature, and the median ratio of band std to the
    per-draw statistical error.
    """
    mean, std, stat = band["mean"], band["std"], band["stat"]
    filled = truth > 0
    deviation = np.abs(mean - truth)
    allowed = filled & (truth_error < 0.5 * std)
    combined = np.sqrt(std**2 + truth_error**2)

    def fraction(mask, limit):
        return float(np.mean(deviation[mask] <= limit[mask])) if mask.any() else None

    positive = filled & (stat > 0)
    return {
        "bins_considered": int(allowed.sum()), "bins_filled": int(filled.sum()),
        "within_1sigma": fraction(allowed, std), "within_2sigma": fraction(allowed, 2 * std),
        "within_1sigma_combined": fraction(filled, combined),
        "within_2sigma_combined": fraction(filled, 2 * combined),
        "median_band_over_stat": float(np.median(std[positive] / stat[positive]))
        if positive.any() else None,
        "draws": int(band["draws"]),
    }


def summarise_coverage(per_observable: dict[str, dict]) -> dict:
    """Bin-weighted coverage over all observables (each entry from :func:`band_coverage`)."""
    considered = sum(c["bins_considered"] for c in per_observable.values())
    filled = sum(c["bins_filled"] for c in per_observable.values())

    def pooled(key, count_key):
        total = sum(c[count_key] for c in per_observable.values() if c[key] is not None)
        if not total:
            return None
        return sum(c[key] * c[count_key] for c in per_observable.values()
                   if c[key] is not None) / total

    ratios = [c["median_band_over_stat"] for c in per_observable.values()
              if c["median_band_over_stat"] is not None]
    return {"observables": len(per_observable), "bins_considered": considered,
            "bins_filled": filled,
            "within_1sigma": pooled("within_1sigma", "bins_considered"),
            "within_2sigma": pooled("within_2sigma", "bins_considered"),
            "within_1sigma_combined": pooled("within_1sigma_combined", "bins_filled"),
            "within_2sigma_combined": pooled("within_2sigma_combined", "bins_filled"),
            "median_band_over_stat": float(np.median(ratios)) if ratios else None}
