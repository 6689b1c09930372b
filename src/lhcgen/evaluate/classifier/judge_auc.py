"""The AUC of a cross-fitted judge, its error, and its distance from the floor.

For one judge the value is the AUC of the out-of-fold scores of all events, averaged over
the R repetitions of the cross-fitting. Its error has two parts, added in quadrature:

- **events**: the stratified bootstrap error of that AUC with the scores held fixed
  (:func:`roc_auc_with_error`): how much it moves with another draw of the same size from
  the same two distributions (averaged over the repetitions);
- **training**: how much it moves with another training (new folds, initialisation,
  shuffling, early stopping). With R >= 2 repetitions this is the standard deviation of the
  R pooled AUCs, and the mean of R carries it divided by sqrt(R). With R = 1 it is read
  from the spread of the k per-fold AUCs: their variance over k estimates the variance of
  the pooled AUC from both sources, so what it holds beyond the bootstrap part is taken as
  the training part.

error = sqrt(events^2 + training^2 / R). Under "same distribution" the out-of-fold AUC has
expectation 0.5 and, for unit weights, the Mann-Whitney variance
(n_0 + n_1 + 1) / (12 n_0 n_1) (:func:`null_auc_error`), which the tests check.

The distance from the floor is (AUC - AUC_floor) / sqrt(error^2 + error_floor^2), with the
floor the same judge's AUC for two independent truth samples; without a second truth
sample the floor is 0.5 with no error.
"""

from __future__ import annotations

import math

import numpy as np

from lhcgen.errors import LhcgenError
from lhcgen.evaluate.classifier.cross_fit import CrossFit
from lhcgen.evaluate.classifier.two_sample import roc_auc, roc_auc_with_error


def null_auc_error(n_generated: float, n_truth: float) -> float:
    """Standard deviation of the AUC of two samples of one distribution (Mann-Whitney):
    sqrt((n_0 + n_1 + 1) / (12 n_0 n_1))."""
    n0, n1 = float(n_generated), float(n_truth)
    if not (n0 > 0 and n1 > 0):
        raise LhcgenError("the null AUC error needs events in both samples")
    return math.sqrt((n0 + n1 + 1.0) / (12.0 * n0 * n1))


def _kish(weights: np.ndarray) -> float:
    return float(weights.sum() ** 2 / np.sum(weights**2)) if np.any(weights) else 0.0


def cross_fitted_auc(fit: CrossFit, labels: np.ndarray, weights: np.ndarray,
                     select: np.ndarray | None = None, n_bootstrap: int = 100,
                     seed: int = 0) -> dict:
    """AUC ± error of a cross-fitted judge over all events, or over the ``select``ed ones.

    Parameters
    ----------
    fit : the judge's :class:`CrossFit`.
    labels : (N,) 0/1; weights : (N,) float64 Monte Carlo weights.
    select : (N,) bool, e.g. one jet multiplicity; None for all events.
    n_bootstrap, seed : the bootstrap of the event-sampling error.

    Returns
    -------
    dict with ``value``, ``error``, ``error_events``, ``error_training``, ``repeats``,
    ``folds``, ``per_repeat`` (pooled AUC of each repetition), ``per_fold`` (AUC of each
    held-out fold, per repetition), ``n_generated``, ``n_truth`` (events; Kish effective
    numbers for weighted samples) and ``null_error`` (the Mann-Whitney error for those
    sizes).
    """
    labels = np.asarray(labels).astype(bool)
    select = np.ones(len(labels), bool) if select is None else np.asarray(select, bool)
    y, w = labels[select], np.asarray(weights, np.float64)[select]
    n_repeats, k = fit.logits.shape[0], int(fit.fold.max()) + 1
    pooled, boot, per_fold = [], [], []
    for r in range(n_repeats):
        scores = fit.logits[r, select]
        value, error = roc_auc_with_error(y, scores, w, n_bootstrap, seed + r)
        pooled.append(value)
        boot.append(error)
        folds = fit.fold[r, select]
        per_fold.append([roc_auc(y[folds == i], scores[folds == i], w[folds == i])
                         for i in range(k)])
    pooled_arr, fold_arr = np.array(pooled), np.array(per_fold)
    error_events = float(np.sqrt(np.mean(np.square(boot))))
    if n_repeats >= 2:
        training_var = float(np.var(pooled_arr, ddof=1))
    else:
        training_var = max(0.0, float(np.var(fold_arr[0], ddof=1)) / k - error_events**2)
    error = math.sqrt(error_events**2 + training_var / n_repeats)
    n_gen, n_truth = _kish(w[~y]), _kish(w[y])
    return {"value": float(pooled_arr.mean()), "error": error, "error_events": error_events,
            "error_training": math.sqrt(training_var), "repeats": n_repeats, "folds": k,
            "per_repeat": pooled_arr.tolist(), "per_fold": fold_arr.tolist(),
            "n_generated": int((~y).sum()), "n_truth": int(y.sum()),
            "n_effective_generated": n_gen, "n_effective_truth": n_truth,
            "null_error": null_auc_error(n_gen, n_truth)}


def distance_from_floor(auc: dict, floor: dict | None) -> float | None:
    """(AUC - floor) / combined error; the floor is 0.5 with no error when None."""
    if auc is None or auc.get("value") is None or not auc.get("error"):
        return None
    floor_value = 0.5 if floor is None else floor["value"]
    floor_error = 0.0 if floor is None else floor["error"]
    combined = math.hypot(auc["error"], floor_error)
    return (auc["value"] - floor_value) / combined if combined > 0 else None
