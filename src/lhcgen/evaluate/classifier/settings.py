"""Settings of the classifier two-sample test: which judges, their networks and trees,
cross-fitting, recalibration and weights."""


from __future__ import annotations

from dataclasses import dataclass, field

from lhcgen.errors import LhcgenError
from lhcgen.evaluate.classifier.input_scaling import (
    INPUT_SCALINGS,
)
from lhcgen.evaluate.classifier.trees import TreesSettings

RECALIBRATIONS = ("auto", "always", "never")


JUDGES = ("mlp", "trees")
"""The judges of the classifier test: the reference MLP and gradient-boosted trees."""


@dataclass(frozen=True)
class ClassifierSettings:
    """Configuration of the classifier test; defaults are the reference setup (3 x 256,
    dropout 0.1) beside boosted trees, 3-fold cross-fitted over all events.

    Attributes:
        hidden, layers, dropout: width, number of hidden layers and dropout of the MLP.
        input_scaling: how the MLP sees its inputs: "quantile" (each feature through its
            training CDF and the inverse normal CDF) or "standard" (standardised).
        lr, batch_size, max_epochs, patience: Adam learning rate, minibatch size, epoch limit,
            epochs without a better validation loss before stopping.
        val_fraction: per class and multiplicity, the share of each fold's training events
            kept for early stopping and recalibration.
        seed: seed of folds, initialisation, shuffling, dropout and bootstrap.
        weight_clip: weights w = D / (1 - D) are clipped to [1 / weight_clip, weight_clip].
        device: torch device for training the MLP ("cpu", "cuda", "cuda:1", ...).
        n_bootstrap: bootstrap replicas of the AUC's event-sampling error.
        folds: number of cross-fitting folds (every event is scored out of fold).
        repeats: repetitions of the whole cross-fitting with new folds and seeds; their
            spread enters the AUC error (with 1, the spread over folds does).
        judges: which judges run ("mlp", "trees" or both).
        weights_from: the judge whose weights are reported and written (default: the first
            of ``judges``).
        trees: hyper-parameters of the boosted trees.
        recalibration: "auto" (Platt scaling when the validation split shows significant
            miscalibration), "always" or "never".
        n_extreme: extreme-weight events listed at each end.
        threads: CPU threads of the trees (None: all cores; torch's are set by the caller).
    """

    hidden: int = 256
    layers: int = 3
    dropout: float = 0.1
    input_scaling: str = "quantile"
    lr: float = 1e-3
    batch_size: int = 1024
    max_epochs: int = 100
    patience: int = 10
    val_fraction: float = 0.2
    seed: int = 0
    weight_clip: float = 100.0
    device: str = "cpu"
    n_bootstrap: int = 100
    folds: int = 3
    repeats: int = 1
    judges: tuple[str, ...] = JUDGES
    weights_from: str | None = None
    trees: TreesSettings = field(default_factory=TreesSettings)
    recalibration: str = "auto"
    n_extreme: int = 10
    threads: int | None = None

    def __post_init__(self) -> None:
        positive = ("hidden", "layers", "batch_size", "max_epochs", "patience", "n_bootstrap",
                    "n_extreme", "repeats")
        for name in positive:
            if getattr(self, name) < 1:
                raise LhcgenError(f"classifier setting {name} must be at least 1, "
                                  f"got {getattr(self, name)}")
        if not 0.0 <= self.dropout < 1.0:
            raise LhcgenError(f"classifier dropout must be in [0, 1), got {self.dropout}")
        if not self.lr > 0:
            raise LhcgenError(f"classifier lr must be positive, got {self.lr}")
        if not 0 < self.val_fraction < 0.5:
            raise LhcgenError("classifier val_fraction must be in (0, 0.5), got "
                              f"{self.val_fraction}")
        if not self.weight_clip > 1:
            raise LhcgenError(f"classifier weight_clip must be larger than 1, "
                              f"got {self.weight_clip}")
        if self.folds < 2:
            raise LhcgenError(f"classifier folds must be at least 2, got {self.folds}")
        if self.input_scaling not in INPUT_SCALINGS:
            raise LhcgenError(f"classifier input_scaling must be one of {INPUT_SCALINGS}, "
                              f"got {self.input_scaling!r}")
        if self.recalibration not in RECALIBRATIONS:
            raise LhcgenError(f"classifier recalibration must be one of {RECALIBRATIONS}, "
                              f"got {self.recalibration!r}")
        object.__setattr__(self, "judges", tuple(self.judges))
        unknown = [j for j in self.judges if j not in JUDGES]
        if unknown or not self.judges or len(set(self.judges)) != len(self.judges):
            raise LhcgenError(f"classifier judges must be distinct names from {JUDGES}, "
                              f"got {list(self.judges)}")
        if self.weights_from is not None and self.weights_from not in self.judges:
            raise LhcgenError(f"weights_from {self.weights_from!r} is not among the judges "
                              f"asked for ({', '.join(self.judges)})")
        if isinstance(self.trees, dict):
            object.__setattr__(self, "trees", TreesSettings(**self.trees))
        if self.threads is not None and self.threads < 1:
            raise LhcgenError(f"classifier threads must be at least 1, got {self.threads}")

    @property
    def weights_judge(self) -> str:
        """The judge whose weights w = D / (1 - D) are reported and written."""
        return self.weights_from or self.judges[0]
