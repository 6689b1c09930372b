"""The MLP judge: training of the truth-vs-generated classifier D(x), a plain function of
arrays.

The classifier is the reference MLP of the classifier test (DESIGN.md; arXiv:2305.16774):
``layers`` hidden layers of ``hidden`` units with ReLU and dropout, one logit out, trained
with Adam on binary cross-entropy. Each event's loss weight is its Monte Carlo weight times a
class-balance factor (each class carries the same total weight), so that for any sample
sizes D estimates p_truth / (p_truth + p_gen) and w = D / (1 - D) the density ratio
(likelihood-ratio trick, arXiv:1506.02169). Features are mapped through
their quantiles to N(0, 1) (or standardised) with the training split only
(:mod:`input_scaling`). Early stopping watches the weighted validation loss
and restores the best epoch's parameters. With a fixed seed, training is deterministic on the
CPU: all torch randomness runs in a forked RNG state seeded from ``settings.seed``, so the
caller's global torch RNG is left untouched.

Labels: 1 = truth, 0 = generated.
"""

from __future__ import annotations

import copy
import math
from dataclasses import dataclass, field

import numpy as np
import torch
from torch import nn
from tqdm.auto import tqdm

from lhcgen.errors import LhcgenError
from lhcgen.evaluate.classifier.input_scaling import (
    GaussianQuantiles,
    Standardise,
    fit_input_scaling,
)
from lhcgen.evaluate.classifier.settings import ClassifierSettings
from lhcgen.evaluate.classifier.two_sample import apply_platt, class_balanced, fit_platt


def build_classifier(n_features: int, settings: ClassifierSettings) -> nn.Sequential:
    """MLP (N, n_features) -> (N, 1) logits: [Linear, ReLU, Dropout] x layers, Linear."""
    parts: list[nn.Module] = []
    width = n_features
    for _ in range(settings.layers):
        parts += [nn.Linear(width, settings.hidden), nn.ReLU(), nn.Dropout(settings.dropout)]
        width = settings.hidden
    parts.append(nn.Linear(width, 1))
    return nn.Sequential(*parts).to(torch.float32)  # inputs are float32 whatever the default


@dataclass
class TrainedClassifier:
    """A trained classifier with its standardisation, training history and recalibration.

    Attributes:
        net: the MLP in eval mode, on the CPU.
        scaling: the input map fitted on the training split (:mod:`input_scaling`).
        history: per epoch {"epoch", "train_loss", "val_loss"} (class-balanced weighted BCE).
        best_epoch: epoch whose parameters were kept (1-based).
        platt: Platt-scaling fit on the validation split (:func:`fit_platt`), None if not done.
    """

    net: nn.Sequential
    scaling: Standardise | GaussianQuantiles
    history: list[dict] = field(default_factory=list)
    best_epoch: int = 0
    platt: dict | None = None

    def raw_logits(self, x: np.ndarray, batch_size: int = 65536) -> np.ndarray:
        """(N, F) float64 features -> (N,) float64 logits of D, before recalibration."""
        x = self.scaling(x)
        out = []
        with torch.no_grad():
            for start in range(0, len(x), batch_size):
                chunk = torch.as_tensor(x[start:start + batch_size], dtype=torch.float32)
                out.append(self.net(chunk)[:, 0].double().numpy())
        return np.concatenate(out) if out else np.zeros(0)

    def logits(self, x: np.ndarray) -> np.ndarray:
        """(N,) float64 logits of D after the recalibration chosen on the validation split."""
        return apply_platt(self.raw_logits(x), self.platt)


def _weighted_bce(net: nn.Module, x: torch.Tensor, y: torch.Tensor, w: torch.Tensor,
                  batch_size: int) -> float:
    total = 0.0
    with torch.no_grad():
        for start in range(0, len(x), batch_size):
            end = start + batch_size
            loss = nn.functional.binary_cross_entropy_with_logits(
                net(x[start:end])[:, 0], y[start:end], weight=w[start:end], reduction="sum")
            total += float(loss)
    return total / float(w.sum())


def _rng_devices(device: torch.device) -> list[int]:
    if device.type == "cuda":
        return [device.index if device.index is not None else torch.cuda.current_device()]
    return []


def fit_classifier(x: np.ndarray, labels: np.ndarray, weights: np.ndarray,
                   train: np.ndarray, val: np.ndarray, settings: ClassifierSettings,
                   progress: bool = False, desc: str = "classifier") -> TrainedClassifier:
    """Train D on ``x[train]`` with early stopping on ``x[val]``; recalibrate on ``x[val]``.

    Parameters
    ----------
    x : (N, F) float64 features (e.g. :func:`network_inputs` of both samples, stacked).
    labels : (N,) 0 (generated) / 1 (truth).
    weights : (N,) float64 Monte Carlo weights; the class balance is applied here, separately
        on the training and on the validation events.
    train, val : integer index arrays into the N events (disjoint).
    settings : :class:`ClassifierSettings`.
    progress : show a progress bar over the epochs (tqdm, on stderr), labelled ``desc``.

    Returns
    -------
    TrainedClassifier (its net on the CPU, in eval mode), with ``platt`` set per
    ``settings.recalibration``.
    """
    x = np.asarray(x, dtype=np.float64)
    labels = np.asarray(labels).astype(np.float64)
    weights = np.asarray(weights, dtype=np.float64)
    if not np.isfinite(x).all():
        raise LhcgenError("classifier inputs contain NaN or inf")
    try:
        device = torch.device(settings.device)
    except RuntimeError as exc:
        raise LhcgenError(f"unknown torch device {settings.device!r} ({exc})") from None
    if device.type == "cuda" and not torch.cuda.is_available():
        raise LhcgenError(f"device {settings.device!r} asked for, but CUDA is not available")
    scaling = fit_input_scaling(x[train], settings.input_scaling)

    def tensors(index: np.ndarray) -> tuple[torch.Tensor, ...]:
        balanced = class_balanced(labels[index], weights[index])
        return (torch.as_tensor(scaling(x[index]), dtype=torch.float32, device=device),
                torch.as_tensor(labels[index], dtype=torch.float32, device=device),
                torch.as_tensor(balanced, dtype=torch.float32, device=device))

    x_train, y_train, w_train = tensors(train)
    x_val, y_val, w_val = tensors(val)
    history: list[dict] = []
    with torch.random.fork_rng(devices=_rng_devices(device)):
        torch.manual_seed(settings.seed)
        net = build_classifier(x.shape[1], settings).to(device)
        optimiser = torch.optim.Adam(net.parameters(), lr=settings.lr)
        shuffle = torch.Generator().manual_seed(settings.seed + 1)
        best_loss, best_state, best_epoch, waited = math.inf, None, 0, 0
        bar = tqdm(total=settings.max_epochs, desc=desc, unit="epoch", disable=not progress,
                   leave=False, dynamic_ncols=True)
        for epoch in range(1, settings.max_epochs + 1):
            net.train()
            order = torch.randperm(len(x_train), generator=shuffle).to(device)
            summed = 0.0
            for start in range(0, len(order), settings.batch_size):
                batch = order[start:start + settings.batch_size]
                loss = nn.functional.binary_cross_entropy_with_logits(
                    net(x_train[batch])[:, 0], y_train[batch], weight=w_train[batch],
                    reduction="sum") / w_train[batch].sum()
                optimiser.zero_grad(set_to_none=True)
                loss.backward()
                optimiser.step()
                summed += float(loss.detach()) * len(batch)
            net.eval()
            val_loss = _weighted_bce(net, x_val, y_val, w_val, 65536)
            history.append({"epoch": epoch, "train_loss": summed / len(order),
                            "val_loss": val_loss})
            bar.update()
            bar.set_postfix(val_loss=f"{val_loss:.5f}", best=f"{min(best_loss, val_loss):.5f}")
            if not math.isfinite(val_loss):
                bar.close()
                raise LhcgenError(f"classifier validation loss became {val_loss} in epoch "
                                  f"{epoch}; lower the learning rate")
            if val_loss < best_loss:
                best_loss, best_epoch, waited = val_loss, epoch, 0
                best_state = copy.deepcopy(net.state_dict())
            else:
                waited += 1
                if waited >= settings.patience:
                    break
        bar.close()
    net.load_state_dict(best_state)
    trained = TrainedClassifier(net.cpu().eval(), scaling, history, best_epoch)
    if settings.recalibration != "never":
        platt = fit_platt(labels[val], trained.raw_logits(x[val]), weights[val])
        if settings.recalibration == "always":
            platt["apply"] = platt["a"] > 0
        trained.platt = platt
    return trained
