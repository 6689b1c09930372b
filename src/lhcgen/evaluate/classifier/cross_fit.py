"""k-fold cross-fitting of a judge: an out-of-fold score for every event of both samples.

The events of each stratum (class x jet multiplicity) are dealt at random into k folds, so
every fold holds the same mix of classes and multiplicities. For fold i the judge is trained
on the other k - 1 folds (their ``val_fraction`` share, again per stratum, for early stopping
and recalibration) and scores fold i only. Every event's score therefore comes from a
classifier that never saw it: the AUC uses all events of both samples, its expectation under
"same distribution" is exactly 0.5, and the per-event weights carry no overfitting bias.
``repeats`` > 1 repeats the whole procedure with new folds and seeds (retrainings), whose
spread measures how much the AUC depends on the training (:mod:`judge_auc`).
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

import numpy as np

from lhcgen.errors import LhcgenError
from lhcgen.evaluate.classifier.judges import fit_judge
from lhcgen.evaluate.classifier.settings import ClassifierSettings
from lhcgen.evaluate.classifier.two_sample import apply_platt

MIN_EVENTS_PER_FOLD = 20
"""Fewest events of each class and multiplicity in each held-out fold."""


@dataclass
class CrossFit:
    """Out-of-fold scores of one judge.

    Attributes:
        judge: "mlp" or "trees".
        logits: (R, N) float64 recalibrated out-of-fold logits, one row per repetition.
        raw_logits: (R, N) float64 the same before recalibration.
        fold: (R, N) int64, the fold that scored each event in each repetition.
        folds: per repetition and fold, a record of the training (events, stopping, Platt).
    """

    judge: str
    logits: np.ndarray
    raw_logits: np.ndarray
    fold: np.ndarray
    folds: list[dict] = field(default_factory=list)

    @property
    def mean_logits(self) -> np.ndarray:
        """(N,) out-of-fold logits averaged over the repetitions (for the weights)."""
        return self.logits.mean(axis=0)


def needed_events(settings: ClassifierSettings) -> int:
    """Fewest events of each class per multiplicity for ``settings.folds``-fold cross-fitting."""
    return MIN_EVENTS_PER_FOLD * settings.folds


def check_strata(labels: np.ndarray, strata: np.ndarray, settings: ClassifierSettings,
                 names: tuple[str, str] = ("generated", "truth"),
                 stratum_name: str = "jet multiplicity") -> None:
    """Raise a one-line LhcgenError naming the first stratum that is too small.

    Every multiplicity present in either sample needs :func:`needed_events` events of each
    class, so that each fold can score both classes of it (the per-multiplicity AUC).
    """
    labels = np.asarray(labels).astype(bool)
    needed = needed_events(settings)
    for value in np.unique(strata):
        for cls, name in zip((~labels, labels), names, strict=True):
            count = int(np.sum(cls & (strata == value)))
            if count < needed:
                raise LhcgenError(
                    f"{stratum_name} {value}: the {name} sample has {count} events; "
                    f"{settings.folds}-fold cross-fitting needs at least {needed} of each "
                    f"sample per {stratum_name} ({MIN_EVENTS_PER_FOLD} per fold): give more "
                    "events or lower --folds")


def assign_folds(labels: np.ndarray, strata: np.ndarray, k: int,
                 rng: np.random.Generator) -> np.ndarray:
    """(N,) fold index in 0..k-1, dealt at random within each (class, stratum) group."""
    labels = np.asarray(labels).astype(bool)
    fold = np.empty(len(labels), dtype=np.int64)
    for cls in (False, True):
        for value in np.unique(strata):
            index = np.flatnonzero((labels == cls) & (strata == value))
            fold[rng.permutation(index)] = (np.arange(len(index)) + rng.integers(k)) % k
    return fold


def _train_val(rest: np.ndarray, labels: np.ndarray, strata: np.ndarray, val_fraction: float,
               rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    train_parts, val_parts = [], []
    groups = labels[rest].astype(np.int64) * (int(strata.max()) + 1 - int(strata.min())) + (
        strata[rest] - int(strata.min()))
    for group in np.unique(groups):
        index = rng.permutation(rest[groups == group])
        n_val = int(round(len(index) * val_fraction))
        val_parts.append(index[:n_val])
        train_parts.append(index[n_val:])
    return np.sort(np.concatenate(train_parts)), np.sort(np.concatenate(val_parts))


def cross_fit(x: np.ndarray, labels: np.ndarray, weights: np.ndarray, strata: np.ndarray,
              judge: str, settings: ClassifierSettings, progress: bool = False,
              desc: str = "") -> CrossFit:
    """Out-of-fold logits of every event, ``settings.repeats`` times.

    Parameters
    ----------
    x : (N, F) float64 judge inputs; labels : (N,) 0 (generated) / 1 (truth).
    weights : (N,) float64 Monte Carlo weights.
    strata : (N,) int, e.g. the jet multiplicity; folds and validation splits keep its mix.
    judge : "mlp" or "trees".
    settings : folds, repeats, validation fraction, seed and the judges' settings. Fold i of
        repetition r trains with seed ``settings.seed + 1000 r + i``; repetition r deals its
        folds with ``np.random.default_rng((settings.seed, r))``.
    progress : progress bars of the trainings (MLP epochs).
    desc : prefix of the progress-bar labels.

    Returns
    -------
    CrossFit.
    """
    labels = np.asarray(labels).astype(bool)
    strata = np.asarray(strata, dtype=np.int64)
    check_strata(labels, strata, settings)
    k, n = settings.folds, len(labels)
    logits = np.empty((settings.repeats, n))
    raw = np.empty((settings.repeats, n))
    fold_of = np.empty((settings.repeats, n), dtype=np.int64)
    records = []
    for r in range(settings.repeats):
        rng = np.random.default_rng((settings.seed, r))
        fold_of[r] = assign_folds(labels, strata, k, rng)
        for i in range(k):
            held_out = np.flatnonzero(fold_of[r] == i)
            train, val = _train_val(np.flatnonzero(fold_of[r] != i), labels, strata,
                                    settings.val_fraction, rng)
            fold_settings = replace(settings, seed=settings.seed + 1000 * r + i)
            label = f"{desc}{judge} fold {i + 1}/{k}" + (
                f" (repeat {r + 1}/{settings.repeats})" if settings.repeats > 1 else "")
            fitted, record = fit_judge(judge, x, labels, weights, train, val, fold_settings,
                                       progress, label)
            raw[r, held_out] = fitted.raw_logits(x[held_out])
            logits[r, held_out] = apply_platt(raw[r, held_out], fitted.platt)
            records.append({"repeat": r, "fold": i, "n_train": len(train), "n_val": len(val),
                            "n_scored": len(held_out), **record})
    return CrossFit(judge, logits, raw, fold_of, records)
