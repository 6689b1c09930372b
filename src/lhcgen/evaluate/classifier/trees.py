"""Gradient-boosted decision trees as the second judge of the classifier two-sample test.

scikit-learn's ``HistGradientBoostingClassifier`` (histogram-based gradient boosting, as in
LightGBM; a well-kept library rather than trees of our own). Trees need no standardisation,
are invariant under monotonic maps of each feature, and find sharp, axis-aligned differences
(a shifted edge, a narrower peak) with little tuning, which is where the MLP of
:mod:`mlp` is weakest. Same inputs, labels (1 = truth, 0 = generated)
and class-balanced Monte Carlo weights as the MLP; early stopping on the validation split
(its log-loss), then the same Platt recalibration on that split, so both judges give
logits of D = p_truth / (p_truth + p_gen) and weights w = D / (1 - D).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from lhcgen.errors import LhcgenError
from lhcgen.evaluate.classifier.two_sample import apply_platt, class_balanced, fit_platt


@dataclass(frozen=True)
class TreesSettings:
    """Hyper-parameters of the boosted trees (scikit-learn names).

    Attributes:
        max_iter: most boosting iterations; early stopping on the validation split usually
            ends sooner.
        learning_rate: shrinkage of each tree.
        max_leaf_nodes: leaves per tree.
        min_samples_leaf: fewest events per leaf.
        l2_regularization: L2 penalty on leaf values.
        n_iter_no_change: iterations without a better validation loss before stopping.
    """

    max_iter: int = 500
    learning_rate: float = 0.1
    max_leaf_nodes: int = 31
    min_samples_leaf: int = 40
    l2_regularization: float = 1.0
    n_iter_no_change: int = 20

    def __post_init__(self) -> None:
        for name in ("max_iter", "max_leaf_nodes", "min_samples_leaf", "n_iter_no_change"):
            if getattr(self, name) < 1 + (name == "max_leaf_nodes"):
                raise LhcgenError(f"trees setting {name} must be at least "
                                  f"{1 + (name == 'max_leaf_nodes')}, got {getattr(self, name)}")
        if not self.learning_rate > 0:
            raise LhcgenError(f"trees learning_rate must be positive, got {self.learning_rate}")
        if not self.l2_regularization >= 0:
            raise LhcgenError("trees l2_regularization must not be negative, got "
                              f"{self.l2_regularization}")


MAX_BINS = 255
"""Bins per feature (scikit-learn's largest)."""


@dataclass(frozen=True)
class QuantileCodes:
    """Each feature mapped to the index of its unweighted training quantile bin (0..254).

    scikit-learn bins every feature into at most 255 bins before growing trees; with sample
    weights it picks the bin edges as weighted quantiles, one weighted-percentile call per
    edge, which takes minutes for 10^5 events. Trees only compare a feature with
    thresholds, so any monotonic map of a feature gives the same trees; mapping each
    feature to its quantile-bin index here (edges from the unweighted training events)
    leaves at most 255 distinct values, which scikit-learn bins directly.

    Attributes:
        edges: per feature, the increasing interior bin edges.
    """

    edges: tuple[np.ndarray, ...]

    @staticmethod
    def fit(x: np.ndarray, max_bins: int = MAX_BINS) -> QuantileCodes:
        levels = np.linspace(0.0, 1.0, max_bins + 1)[1:-1]
        return QuantileCodes(tuple(np.unique(np.quantile(column, levels)) for column in x.T))

    def __call__(self, x: np.ndarray) -> np.ndarray:
        """(N, F) float64 -> (N, F) float64 bin indices."""
        x = np.asarray(x, dtype=np.float64)
        return np.stack([np.searchsorted(e, column, side="left").astype(np.float64)
                         for e, column in zip(self.edges, x.T, strict=True)], axis=1)


@dataclass
class TrainedTrees:
    """Fitted boosted trees and their recalibration.

    Attributes:
        model: the fitted ``HistGradientBoostingClassifier``.
        codes: the quantile coding of the inputs (:class:`QuantileCodes`).
        n_iterations: boosting iterations kept (early stopping).
        val_loss: class-balanced log-loss on the validation split.
        platt: Platt fit on the validation split (:func:`fit_platt`), None if not done.
        threads: OpenMP threads for predictions (None: scikit-learn's default).
    """

    model: object
    codes: QuantileCodes
    n_iterations: int
    val_loss: float
    platt: dict | None = None
    threads: int | None = None

    def raw_logits(self, x: np.ndarray) -> np.ndarray:
        """(N, F) float64 -> (N,) float64 log-odds of D, before recalibration."""
        from threadpoolctl import threadpool_limits

        if len(x) == 0:
            return np.zeros(0)
        with threadpool_limits(limits=self.threads, user_api="openmp"):
            scores = self.model.decision_function(self.codes(x))
        return np.asarray(scores, np.float64)

    def logits(self, x: np.ndarray) -> np.ndarray:
        """(N,) float64 logits of D after the recalibration chosen on the validation split."""
        return apply_platt(self.raw_logits(x), self.platt)


def _log_loss(labels: np.ndarray, logits: np.ndarray, weights: np.ndarray) -> float:
    from scipy.special import log_expit

    per_event = -np.where(labels, log_expit(logits), log_expit(-logits))
    return float(np.sum(weights * per_event) / np.sum(weights))


def fit_trees(x: np.ndarray, labels: np.ndarray, weights: np.ndarray, train: np.ndarray,
              val: np.ndarray, settings: TreesSettings, seed: int = 0,
              recalibration: str = "auto", threads: int | None = None) -> TrainedTrees:
    """Fit the trees on ``x[train]``, stop early on ``x[val]``, recalibrate on ``x[val]``.

    Parameters
    ----------
    x : (N, F) float64 features; labels : (N,) 0/1; weights : (N,) Monte Carlo weights (the
        class balance is applied here, on the training and the validation events separately).
    train, val : disjoint integer index arrays.
    settings : :class:`TreesSettings`; seed : ``random_state`` of the fit.
    recalibration : "auto", "always" or "never", as for the MLP.
    threads : OpenMP threads of the fit (None: scikit-learn's default, all cores).

    Returns
    -------
    TrainedTrees.
    """
    from sklearn.ensemble import HistGradientBoostingClassifier
    from threadpoolctl import threadpool_limits

    x = np.asarray(x, dtype=np.float64)
    labels = np.asarray(labels).astype(bool)
    if not np.isfinite(x).all():
        raise LhcgenError("classifier inputs contain NaN or inf")
    w_train = class_balanced(labels[train], weights[train])
    w_val = class_balanced(labels[val], weights[val])
    model = HistGradientBoostingClassifier(
        learning_rate=settings.learning_rate, max_iter=settings.max_iter,
        max_leaf_nodes=settings.max_leaf_nodes, min_samples_leaf=settings.min_samples_leaf,
        l2_regularization=settings.l2_regularization, early_stopping=True, scoring="loss",
        n_iter_no_change=settings.n_iter_no_change, random_state=seed)
    codes = QuantileCodes.fit(x[train])
    with threadpool_limits(limits=threads, user_api="openmp"):
        model.fit(codes(x[train]), labels[train].astype(np.int64), sample_weight=w_train,
                  X_val=codes(x[val]), y_val=labels[val].astype(np.int64),
                  sample_weight_val=w_val)
    trained = TrainedTrees(model, codes, int(model.n_iter_), 0.0, threads=threads)
    raw_val = trained.raw_logits(x[val])
    trained.val_loss = _log_loss(labels[val], raw_val, w_val)
    if recalibration != "never":
        platt = fit_platt(labels[val], raw_val, weights[val])
        if recalibration == "always":
            platt["apply"] = platt["a"] > 0
        trained.platt = platt
    return trained
