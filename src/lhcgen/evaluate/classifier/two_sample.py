"""Pure functions of the classifier two-sample test: AUC, accuracy, calibration, weights, ESS.

Convention: label 1 is truth, label 0 is generated, and D(x) is the classifier's probability
that x is truth. A classifier trained with class-balanced weights (both classes carrying the
same total weight) estimates D = p_truth / (p_truth + p_gen), so by the likelihood-ratio trick
(arXiv:1506.02169) w(x) = D / (1 - D) = p_truth(x) / p_gen(x): the weight that turns the
generated sample into the truth distribution, and far from 1 where the generator misses
(arXiv:2305.16774, "classifier metric"). An AUC of 0.5 means the two samples cannot be told
apart. Every function takes event weights (Monte Carlo weights, possibly negative) and
returns plain numbers or arrays; randomness comes from an explicit seed.
"""

from __future__ import annotations

import numpy as np
from scipy.optimize import minimize
from scipy.special import expit, log_expit
from scipy.stats import chi2

from lhcgen.errors import LhcgenError


def _check(labels: np.ndarray, scores: np.ndarray,
           weights: np.ndarray | None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    labels = np.asarray(labels)
    scores = np.asarray(scores, dtype=np.float64)
    weights = np.ones(len(scores)) if weights is None else np.asarray(weights, np.float64)
    if scores.ndim != 1 or labels.shape != scores.shape or weights.shape != scores.shape:
        raise LhcgenError(f"labels, scores and weights must be 1D of one length, got shapes "
                          f"{labels.shape}, {scores.shape}, {weights.shape}")
    if not (np.isfinite(scores).all() and np.isfinite(weights).all()):
        raise LhcgenError("classifier scores or event weights contain NaN or inf")
    if not np.isin(labels, (0, 1)).all():
        raise LhcgenError("labels must be 0 (generated) or 1 (truth)")
    labels = labels.astype(bool)
    for name, cls in (("truth", labels), ("generated", ~labels)):
        if not weights[cls].sum() > 0:
            raise LhcgenError(f"the {name} class needs a positive total weight")
    return labels, scores, weights


def class_balanced(labels: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """Event weights rescaled per class so that each class sums to half the event count.

    Parameters
    ----------
    labels : (N,) 0/1; weights : (N,) float64 Monte Carlo weights.

    Returns
    -------
    (N,) float64 with sum over each class = N / 2 (the mean weight is 1).
    """
    labels = np.asarray(labels).astype(bool)
    weights = np.asarray(weights, dtype=np.float64)
    out = np.empty_like(weights)
    for cls in (labels, ~labels):
        total = weights[cls].sum()
        if not total > 0:
            raise LhcgenError("each class needs a positive total event weight")
        out[cls] = weights[cls] * (0.5 * len(weights) / total)
    return out


def _auc_from_groups(group: np.ndarray, n_groups: int, labels: np.ndarray,
                     weights: np.ndarray) -> float:
    """Weighted AUC given each event's tie group (groups in increasing score order)."""
    positive = np.bincount(group, weights=np.where(labels, weights, 0.0), minlength=n_groups)
    negative = np.bincount(group, weights=np.where(labels, 0.0, weights), minlength=n_groups)
    below = np.cumsum(negative) - negative
    return float(np.sum(positive * (below + 0.5 * negative)) / (positive.sum() * negative.sum()))


def roc_auc(labels: np.ndarray, scores: np.ndarray, weights: np.ndarray | None = None) -> float:
    """Weighted area under the ROC curve, ties counted one half.

        AUC = sum_{i in 1, j in 0} w_i w_j ([s_i > s_j] + [s_i = s_j] / 2)
              / (sum_{i in 1} w_i  sum_{j in 0} w_j),

    the probability that a truth event scores above a generated one; O(N log N).

    Parameters
    ----------
    labels : (N,) 0 (generated) / 1 (truth).
    scores : (N,) float64, e.g. D or its logit (any monotonic score gives the same AUC).
    weights : (N,) float64 event weights, or None for unit weights.

    Returns
    -------
    float in [0, 1] for non-negative weights; 0.5 is indistinguishable.
    """
    labels, scores, weights = _check(labels, scores, weights)
    unique, group = np.unique(scores, return_inverse=True)
    return _auc_from_groups(group, len(unique), labels, weights)


def roc_auc_with_error(labels: np.ndarray, scores: np.ndarray,
                       weights: np.ndarray | None = None, n_bootstrap: int = 100,
                       seed: int = 0) -> tuple[float, float]:
    """Weighted AUC and its bootstrap standard error.

    Each bootstrap replica redraws both classes separately (stratified, class sizes kept) with
    ``np.random.default_rng(seed)``; a replica's AUC uses the original weights times the
    multinomial counts, so the scores are sorted once.

    Parameters
    ----------
    labels, scores, weights : as for :func:`roc_auc`.
    n_bootstrap : number of replicas (>= 2).
    seed : seed of the resampling.

    Returns
    -------
    (auc, error) : float, float; error is the standard deviation over replicas.
    """
    if n_bootstrap < 2:
        raise LhcgenError(f"n_bootstrap must be at least 2, got {n_bootstrap}")
    labels, scores, weights = _check(labels, scores, weights)
    unique, group = np.unique(scores, return_inverse=True)
    value = _auc_from_groups(group, len(unique), labels, weights)
    rng = np.random.default_rng(seed)
    classes = [np.flatnonzero(labels), np.flatnonzero(~labels)]
    replicas = np.empty(n_bootstrap)
    for b in range(n_bootstrap):
        counts = np.zeros(len(scores))
        for index in classes:
            counts[index] = rng.multinomial(len(index), np.full(len(index), 1.0 / len(index)))
        replicas[b] = _auc_from_groups(group, len(unique), labels, weights * counts)
    return value, float(np.std(replicas, ddof=1))


def accuracy(labels: np.ndarray, d: np.ndarray, weights: np.ndarray | None = None,
             balanced: bool = True) -> float:
    """Weighted fraction of events on the right side of D = 0.5.

    Parameters
    ----------
    labels : (N,) 0/1; d : (N,) float64 predictions D in [0, 1]; weights : (N,) or None.
    balanced : rescale the classes to equal total weight first (the prior the classifier was
        trained with), so that 0.5 means "no better than guessing" for any class sizes.

    Returns
    -------
    float in [0, 1].
    """
    labels, d, weights = _check(labels, d, weights)
    if balanced:
        weights = class_balanced(labels, weights)
    correct = np.where(labels, d > 0.5, d < 0.5) + 0.5 * (d == 0.5)
    return float(np.sum(weights * correct) / np.sum(weights))


def calibration_curve(labels: np.ndarray, d: np.ndarray, weights: np.ndarray | None = None,
                      n_bins: int = 10) -> dict[str, np.ndarray]:
    """Binned reliability curve: mean prediction against the observed truth fraction.

    The classes are first rescaled to equal total weight (:func:`class_balanced`), the prior
    under which a class-balanced classifier's D is a probability; a calibrated classifier then
    lies on the diagonal whatever the sample sizes. Bins are equal-width in D on [0, 1].

    Parameters
    ----------
    labels : (N,) 0/1; d : (N,) float64 in [0, 1]; weights : (N,) float64 or None.
    n_bins : number of bins.

    Returns
    -------
    dict with ``edges`` (B + 1,), and per bin (B,): ``mean_prediction``, ``observed_fraction``
    and its binomial ``error`` (NaN in empty bins), ``n_events`` (int).
    """
    labels, d, weights = _check(labels, d, weights)
    if n_bins < 1:
        raise LhcgenError(f"n_bins must be at least 1, got {n_bins}")
    balanced = class_balanced(labels, weights)
    edges = np.linspace(0.0, 1.0, n_bins + 1)
    index = np.clip(np.searchsorted(edges, d, side="right") - 1, 0, n_bins - 1)
    total = np.bincount(index, weights=balanced, minlength=n_bins)
    total2 = np.bincount(index, weights=balanced**2, minlength=n_bins)
    truth = np.bincount(index, weights=np.where(labels, balanced, 0.0), minlength=n_bins)
    summed_d = np.bincount(index, weights=balanced * d, minlength=n_bins)
    n_events = np.bincount(index, minlength=n_bins)
    with np.errstate(invalid="ignore", divide="ignore"):
        filled = (n_events > 0) & (total > 0)
        fraction = np.where(filled, truth / total, np.nan)
        n_effective = np.where(filled, total**2 / total2, np.nan)
        error = np.sqrt(np.clip(fraction * (1 - fraction), 0, None) / n_effective)
        mean_d = np.where(filled, summed_d / total, np.nan)
    return {"edges": edges, "mean_prediction": mean_d, "observed_fraction": fraction,
            "error": error, "n_events": n_events}


def _platt_loss(params: np.ndarray, z: np.ndarray, labels: np.ndarray,
                weights: np.ndarray) -> tuple[float, np.ndarray]:
    s = params[0] * z + params[1]
    loss = -np.sum(weights * np.where(labels, log_expit(s), log_expit(-s)))
    residual = weights * (expit(s) - labels)
    return float(loss), np.array([np.sum(residual * z), np.sum(residual)])


def fit_platt(labels: np.ndarray, logits: np.ndarray, weights: np.ndarray | None = None,
              significance: float = 0.01) -> dict:
    """Platt scaling (a logistic fit on the logit): D' = sigmoid(a z + b), z = logit D.

    Chosen over isotonic regression because it is smooth and monotonic, keeps the ranking
    (the AUC) for a > 0, and acts on the weights as a power law, w' = e^b w^a, so reweighting
    keeps its resolution (isotonic regression makes steps, i.e. many events with one weight).
    Fitted by class-balanced weighted cross-entropy on a held-out (validation) split.

    "Recalibrate if needed": the fit is recommended (``apply``) when it improves the
    cross-entropy significantly, i.e. when the deviance 2 n_eff (L(1, 0) - L(a, b)) / W
    exceeds the chi^2 quantile with 2 degrees of freedom at ``1 - significance``, with L the
    weighted loss, W the total weight and n_eff = W^2 / sum w^2 (Kish) its effective events.

    Parameters
    ----------
    labels : (N,) 0/1; logits : (N,) float64 classifier logits z; weights : (N,) or None.
    significance : false-alarm probability of the test for miscalibration.

    Returns
    -------
    dict with ``a``, ``b`` (floats), ``deviance``, ``threshold`` and ``apply`` (bool).
    """
    labels, logits, weights = _check(labels, logits, weights)
    weights = class_balanced(labels, weights)
    result = minimize(_platt_loss, np.array([1.0, 0.0]), args=(logits, labels, weights),
                      jac=True, method="L-BFGS-B")
    a, b = (float(v) for v in result.x)
    loss_identity = _platt_loss(np.array([1.0, 0.0]), logits, labels, weights)[0]
    n_effective = weights.sum() ** 2 / np.sum(weights**2)
    deviance = max(0.0, 2.0 * (loss_identity - result.fun) * n_effective / weights.sum())
    threshold = float(chi2.ppf(1.0 - significance, df=2))
    return {"a": a, "b": b, "deviance": float(deviance), "threshold": threshold,
            "apply": bool(deviance > threshold and a > 0)}


def apply_platt(logits: np.ndarray, platt: dict | None) -> np.ndarray:
    """Recalibrated logits a z + b (unchanged when ``platt`` is None or not to be applied)."""
    logits = np.asarray(logits, dtype=np.float64)
    if platt is None or not platt["apply"]:
        return logits
    return platt["a"] * logits + platt["b"]


def likelihood_ratio_weights(d: np.ndarray, clip: float) -> tuple[np.ndarray, dict]:
    """Weights w = D / (1 - D), clipped to [1/clip, clip], and a record of the clipping.

    The clip is symmetric in log w (the same as clipping D to [1/(1+clip), clip/(1+clip)]):
    it bounds the weight of events in regions one sample barely populates. D = 1 or 0 give
    w = inf or 0 before clipping and are clipped like any other weight.

    Parameters
    ----------
    d : (N,) float64 predictions in [0, 1].
    clip : float > 1.

    Returns
    -------
    w : (N,) float64 in [1/clip, clip].
    record : dict with ``clip_min``, ``clip_max``, ``n_clipped_low``, ``n_clipped_high``,
        ``fraction_clipped``.
    """
    d = np.asarray(d, dtype=np.float64)
    if not clip > 1:
        raise LhcgenError(f"the weight clip must be larger than 1, got {clip}")
    if not (np.isfinite(d).all() and np.all((d >= 0) & (d <= 1))):
        raise LhcgenError("classifier predictions must be finite and within [0, 1]")
    with np.errstate(divide="ignore"):
        raw = d / (1.0 - d)
    low, high = 1.0 / clip, float(clip)
    record = {"clip_min": low, "clip_max": high, "n_clipped_low": int(np.sum(raw < low)),
              "n_clipped_high": int(np.sum(raw > high)),
              "fraction_clipped": float(np.mean((raw < low) | (raw > high))) if len(d) else 0.0}
    return np.clip(raw, low, high), record


def effective_sample_size(weights: np.ndarray) -> float:
    """Kish effective sample size (sum w)^2 / sum w^2: N for equal weights, 1 for one event.

    Parameters
    ----------
    weights : (N,) float64.

    Returns
    -------
    float in (0, N] for non-negative weights, not all zero.
    """
    weights = np.asarray(weights, dtype=np.float64)
    if weights.ndim != 1 or not np.isfinite(weights).all():
        raise LhcgenError("effective_sample_size needs a 1D array of finite weights")
    squares = np.sum(weights**2)
    if not squares > 0:
        raise LhcgenError("effective_sample_size needs at least one nonzero weight")
    return float(np.sum(weights) ** 2 / squares)


def linear_max_for(weights: np.ndarray, clip: float) -> float:
    """Upper edge of a linear weight axis: min(clip, max(2, 1.1 max w))."""
    return min(float(clip), max(2.0, 1.1 * float(np.max(weights, initial=0.0))))


def weight_histograms(weights: np.ndarray, event_weights: np.ndarray | None = None,
                      clip: float = 100.0, n_bins: int = 50,
                      linear_max: float | None = None) -> dict[str, dict]:
    """Histograms of classifier weights on a linear and a logarithmic axis.

    Parameters
    ----------
    weights : (N,) float64 classifier weights w in [1/clip, clip].
    event_weights : (N,) Monte Carlo weights each event counts with, or None (unit).
    clip : the clip the weights were made with; it fixes the axes.
    n_bins : bins per histogram.
    linear_max : upper edge of the linear axis; default min(clip, max(2, 1.1 max w)). Pass
        the same value for histograms that are drawn together.

    Returns
    -------
    {"linear": {"edges", "counts"}, "log": {"edges", "counts"}}: edges (B + 1,) float64
    (linear: 0 to ``linear_max``; log: geometric 1/clip to clip), counts (B,) float64 sums of
    event weights, overflow folded into the last bin.
    """
    weights = np.asarray(weights, dtype=np.float64)
    event_weights = (np.ones_like(weights) if event_weights is None
                     else np.asarray(event_weights, np.float64))
    high = linear_max_for(weights, clip) if linear_max is None else float(linear_max)
    out = {}
    for axis, edges in (("linear", np.linspace(0.0, high, n_bins + 1)),
                        ("log", np.geomspace(1.0 / clip, clip, n_bins + 1))):
        index = np.clip(np.searchsorted(edges, weights, side="right") - 1, 0, n_bins - 1)
        counts = np.bincount(index, weights=event_weights, minlength=n_bins)
        out[axis] = {"edges": edges, "counts": counts.astype(np.float64)}
    return out


def _event_record(index: int, weight: float, values: np.ndarray, names: tuple[str, ...],
                  defined: np.ndarray) -> dict:
    observables = {name: (float(v) if ok else None)
                   for name, v, ok in zip(names, values, defined, strict=True)}
    return {"index": int(index), "weight": float(weight), "observables": observables}


def _tail_shifts(tail: np.ndarray, values: np.ndarray, names: tuple[str, ...],
                 defined: np.ndarray, n_features: int) -> list[dict]:
    """Features whose median in the ``tail`` events differs most from all events (in std)."""
    shifts = []
    for f, name in enumerate(names):
        everywhere = values[defined[:, f], f]
        in_tail = values[tail & defined[:, f], f]
        spread = np.std(everywhere) if len(everywhere) > 1 else 0.0
        if len(in_tail) == 0 or not spread > 0:
            continue
        median_tail, median_all = float(np.median(in_tail)), float(np.median(everywhere))
        shifts.append({"observable": name, "median_tail": median_tail,
                       "median_all": median_all,
                       "shift_in_std": (median_tail - median_all) / float(spread),
                       "fraction_defined_tail": float(np.mean(defined[tail, f])),
                       "fraction_defined_all": float(np.mean(defined[:, f]))})
    shifts.sort(key=lambda s: -abs(s["shift_in_std"]))
    return shifts[:n_features]


def extreme_weight_events(values: np.ndarray, names: tuple[str, ...], defined: np.ndarray,
                          weights: np.ndarray, k: int = 10, tail_fraction: float = 0.01,
                          n_features: int = 5, index: np.ndarray | None = None) -> dict:
    """The highest- and lowest-weight events and the regions of phase space they mark.

    A weight w = p_truth / p_gen far above 1 marks a region the generator under-populates,
    far below 1 one it over-populates. Besides listing the ``k`` most extreme events with all
    their observables, the tails (the ``tail_fraction`` highest / lowest weights, at least
    ``k`` events) are described by the observables whose median moves most from the median of
    all events, in units of that observable's standard deviation.

    Parameters
    ----------
    values : (N, F) float64 observables of the (generated) events.
    names : F observable names; defined : (N, F) bool, where each observable exists.
    weights : (N,) float64 classifier weights of those events.
    k : events listed at each end; tail_fraction : size of each described tail.
    n_features : observables listed per tail.
    index : (N,) event numbers to report (e.g. rows in the generated file); default 0..N-1.

    Returns
    -------
    dict with ``highest`` and ``lowest`` (lists of {index, weight, observables}, observables
    None where undefined) and ``under_populated`` / ``over_populated`` (lists of {observable,
    median_tail, median_all, shift_in_std, fraction_defined_tail, fraction_defined_all}).
    """
    values = np.asarray(values, dtype=np.float64)
    weights = np.asarray(weights, dtype=np.float64)
    n = len(weights)
    if values.shape != (n, len(names)) or defined.shape != values.shape:
        raise LhcgenError(f"observables of shape {values.shape} do not match {n} weights and "
                          f"{len(names)} names")
    index = np.arange(n) if index is None else np.asarray(index)
    order = np.argsort(weights, kind="stable")
    k = min(k, n)
    n_tail = min(n, max(k, int(np.ceil(tail_fraction * n))))
    high_tail = np.zeros(n, bool)
    high_tail[order[n - n_tail:]] = True
    low_tail = np.zeros(n, bool)
    low_tail[order[:n_tail]] = True
    return {
        "highest": [_event_record(index[i], weights[i], values[i], names, defined[i])
                    for i in order[::-1][:k]],
        "lowest": [_event_record(index[i], weights[i], values[i], names, defined[i])
                   for i in order[:k]],
        "tail_events": int(n_tail),
        "under_populated": _tail_shifts(high_tail, values, names, defined, n_features),
        "over_populated": _tail_shifts(low_tail, values, names, defined, n_features),
    }
