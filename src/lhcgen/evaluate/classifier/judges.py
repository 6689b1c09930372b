"""The judges of the classifier two-sample test behind one call: the MLP and boosted trees.

Both see the same inputs (:func:`lhcgen.evaluate.classifier.features.network_inputs`), the
same class-balanced Monte Carlo weights and the same train / validation events, and both
return an object with ``raw_logits(x)`` and ``logits(x)`` (after Platt recalibration on the
validation split). The MLP (reference setup, arXiv:2305.16774) is smooth and gives smooth
weights; the trees find sharp, axis-aligned differences. Near the floor they can disagree,
so the report shows both (issue: "a judge you can trust").
"""

from __future__ import annotations

import time

import numpy as np

from lhcgen.errors import LhcgenError
from lhcgen.evaluate.classifier.mlp import fit_classifier
from lhcgen.evaluate.classifier.settings import JUDGES, ClassifierSettings
from lhcgen.evaluate.classifier.trees import fit_trees


def judge_title(judge: str, settings: ClassifierSettings) -> str:
    """A short description, e.g. 'MLP 3×256' or 'boosted trees (31 leaves)'."""
    if judge == "mlp":
        return f"MLP {settings.layers}×{settings.hidden}"
    return f"boosted trees ({settings.trees.max_leaf_nodes} leaves)"


def fit_judge(judge: str, x: np.ndarray, labels: np.ndarray, weights: np.ndarray,
              train: np.ndarray, val: np.ndarray, settings: ClassifierSettings,
              progress: bool = False, desc: str = "classifier") -> tuple[object, dict]:
    """Train one judge on ``x[train]`` (early stopping and recalibration on ``x[val]``).

    Returns
    -------
    fitted : an object with ``raw_logits(x)`` and ``logits(x)``.
    record : JSON-safe facts of the training: ``stopped_at`` (best epoch or number of
        trees), ``val_loss``, ``platt``, ``seconds``.
    """
    if judge not in JUDGES:
        raise LhcgenError(f"unknown judge {judge!r}; choose from {', '.join(JUDGES)}")
    start = time.perf_counter()
    if judge == "mlp":
        fitted = fit_classifier(x, labels, weights, train, val, settings, progress, desc)
        record = {"stopped_at": fitted.best_epoch, "epochs": len(fitted.history),
                  "val_loss": fitted.history[fitted.best_epoch - 1]["val_loss"]}
    else:
        fitted = fit_trees(x, labels, weights, train, val, settings.trees, settings.seed,
                           settings.recalibration, settings.threads)
        record = {"stopped_at": fitted.n_iterations, "val_loss": fitted.val_loss}
    record.update(platt=fitted.platt, seconds=time.perf_counter() - start)
    return fitted, record
