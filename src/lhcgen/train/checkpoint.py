"""Atomic checkpoints: the whole training state, written under a temporary name."""

from __future__ import annotations

import pickle
from pathlib import Path

import torch

from lhcgen.errors import LhcgenError
from lhcgen.io import atomic_path

CHECKPOINT = "checkpoint.pt"


def save_checkpoint(run_dir: Path, state: dict) -> None:
    with atomic_path(Path(run_dir) / CHECKPOINT) as tmp:
        torch.save(state, tmp)


def load_checkpoint(run_dir: Path, device: torch.device | str = "cpu") -> dict:
    path = Path(run_dir) / CHECKPOINT
    if not Path(run_dir).is_dir():
        raise LhcgenError(f"{run_dir}: no such run directory")
    if not path.is_file():
        raise LhcgenError(f"{run_dir}: no checkpoint found ({CHECKPOINT}); train a model "
                          "there first with `lhcgen train CONFIG --out RUN_DIR`")
    try:
        # weights_only: only tensors, numbers, strings and containers are unpickled, so a
        # crafted checkpoint in someone else's run directory cannot run code.
        return torch.load(path, map_location=device, weights_only=True)
    except pickle.UnpicklingError as exc:
        if "global" in str(exc).lower():  # a class or function: code, not weights
            raise LhcgenError(f"{path}: refused, the checkpoint holds Python objects other "
                              "than tensors and numbers (it could run code when loaded); "
                              "lhcgen loads weights only") from None
        raise LhcgenError(f"{path}: corrupt checkpoint ({exc.__class__.__name__})") from None
    except Exception as exc:  # noqa: BLE001 - any other unpickling failure: a corrupt file
        raise LhcgenError(f"{path}: corrupt checkpoint ({exc.__class__.__name__})") from None
