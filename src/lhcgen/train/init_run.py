"""A run that starts from another run's weights (``training.init_from``).

Fine-tuning, or a warm restart: the new run takes the finished run's network and EMA
weights and its fitted preprocessing (so the network sees the same coordinates), then trains
with a fresh optimiser and learning-rate schedule over its own epochs. The conditions model
(jets) starts from the run's conditions model where both have the same shape
(``conditions_start``, which also gives a consistency model its teacher's). The new run's
training time is its own; ``history`` carries the chain's (a distilled run's includes its
teacher's, ``teacher_record``), so a benchmark can state what the weights cost in all.
"""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass
from pathlib import Path

import torch
import yaml

from lhcgen.errors import LhcgenError
from lhcgen.train.checkpoint import CHECKPOINT, load_checkpoint
from lhcgen.train.config import RunConfig, conditions_source, differences
from lhcgen.train.run_files import (
    CONDITIONS_DIR,
    METRICS_FILE,
    PREPROCESSING_FILE,
    load_run_config,
)


@dataclass(frozen=True)
class InitRun:
    """What a run takes from the run it starts from."""

    path: str
    state: dict
    """Its checkpoint (``model`` and ``ema`` are used)."""
    preprocessing: dict
    """Its fitted preprocessing (state_dict)."""
    history: dict
    """steps, epochs and training_seconds of the chain up to and including this run
    (network and conditions model), and the run directories in order."""


def chain_history(metrics: dict, path: str) -> dict:
    """The training chain that made a run's weights, from its metrics.json: its own steps,
    epochs and training seconds (network + conditions model) added to those of the run it
    started from."""
    before = history_before(metrics)
    seconds = (metrics.get("training_seconds") or 0.0) + (
        metrics.get("conditions", {}).get("training_seconds") or 0.0)
    return {"runs": [*before.get("runs", []), path],
            "steps": before.get("steps", 0) + (metrics.get("steps") or 0),
            "epochs": before.get("epochs", 0) + (metrics.get("epochs") or 0),
            "training_seconds": round(before.get("training_seconds", 0.0) + seconds, 2)}


def history_before(metrics: dict) -> dict:
    """The chain a run's weights started from, from its metrics.json: that of
    ``training.init_from``, else a distilled run's teacher's ({}: none)."""
    return (metrics.get("init_from", {}).get("history")
            or metrics.get("teacher", {}).get("history") or {})


def with_teacher(metrics: dict, cfg: RunConfig) -> dict:
    """A run's metrics.json with its teacher's record (``teacher_record``) where it is a
    distilled run distilled before metrics.json kept one."""
    if "teacher" in metrics:
        return metrics
    teacher = teacher_record(cfg)
    return metrics if teacher is None else {**metrics, "teacher": teacher}


def teacher_record(cfg: RunConfig) -> dict | None:
    """{"run", "history"} of a consistency model's teacher, whose training the distilled
    weights also cost: the teacher run's chain read from its metrics.json. None for other
    models, or where that teacher run is gone."""
    if cfg.model.name != "consistency":
        return None
    teacher = cfg.model.consistency.teacher
    try:
        theirs = json.loads((Path(teacher) / METRICS_FILE).read_text())
    except (OSError, json.JSONDecodeError):
        return None
    return {"run": teacher, "history": chain_history(theirs, teacher)}


def with_raw_weights(state: dict) -> dict:
    """A checkpoint kept slim (its EMA weights alone, as the GPU runs travel) with its raw
    weights set to them, so that a run can start from it."""
    if "model" not in state and "ema" in state:
        return {**state, "model": state["ema"]["model"]}
    return state


def load_init_run(cfg: RunConfig, device: torch.device) -> InitRun:
    """The finished run of ``cfg.training.init_from``, checked against ``cfg``; one line
    naming the problem otherwise."""
    path = cfg.training.init_from
    where = f"training.init_from '{path}'"
    run_dir = Path(path)
    try:
        theirs = load_run_config(run_dir)
    except (LhcgenError, yaml.YAMLError) as exc:
        raise LhcgenError(f"{where}: {str(exc).splitlines()[0]}") from None
    if cfg.model.name == "consistency" and theirs.model.name != "consistency":
        raise LhcgenError(f"{where}: a consistency model starts from its teacher "
                          "(model.consistency.teacher), or carries on the distillation of a "
                          "consistency run of the same teacher; this is a run of model "
                          f"{theirs.model.name!r}")
    found = []
    if cfg.data.process != theirs.data.process:
        found.append(f"data.process {cfg.data.process!r} here, {theirs.data.process!r} there")
    found += differences(dataclasses.asdict(cfg.model), dataclasses.asdict(theirs.model),
                         "model.", "there")
    found += differences(dataclasses.asdict(cfg.preprocessing),
                         dataclasses.asdict(theirs.preprocessing), "preprocessing.", "there")
    if found:
        raise LhcgenError(f"{where} differs: {'; '.join(found)} (a run that starts from "
                          "another repeats its data.process, model and preprocessing "
                          "sections)")
    if not (run_dir / CHECKPOINT).is_file() or not (run_dir / METRICS_FILE).is_file():
        raise LhcgenError(f"{where}: its training has not finished (no {CHECKPOINT} or "
                          f"{METRICS_FILE}); finish it with `lhcgen train CONFIG --out "
                          f"{path} --resume`")
    state = with_raw_weights(load_checkpoint(run_dir, device))
    if not state.get("finished", False):
        raise LhcgenError(f"{where}: its training has not finished; finish it with "
                          f"`lhcgen train CONFIG --out {path} --resume`")
    try:
        preprocessing = json.loads((run_dir / PREPROCESSING_FILE).read_text())
        metrics = json.loads((run_dir / METRICS_FILE).read_text())
    except (OSError, json.JSONDecodeError) as exc:
        raise LhcgenError(f"{where}: cannot read its {PREPROCESSING_FILE} or "
                          f"{METRICS_FILE} ({exc})") from None
    # a distilled run: its weights cost its teacher's chain too
    return InitRun(str(run_dir), state, preprocessing,
                   chain_history(with_teacher(metrics, theirs), str(run_dir)))


def conditions_start(cfg: RunConfig, device: torch.device) -> tuple[dict | None, str]:
    """(checkpoint, run) of the conditions model this run's starts from: that of
    ``training.init_from`` or of a consistency model's teacher, with
    ``conditions.warm_start``, where it has the same shape (``conditions.hidden`` and
    ``blocks``) and coordinates (``conditions.marginals``); (None, "") where there is none.
    With ``conditions.epochs`` 0 there must be one (it is then the run's conditions model as
    it is): one line otherwise."""
    source = conditions_source(cfg)
    found = None
    if source:
        directory = Path(source) / CONDITIONS_DIR
        theirs = load_run_config(Path(source)).conditions
        same_shape = (theirs.model_config() == cfg.conditions.model_config()
                      and theirs.marginals == cfg.conditions.marginals)
        if same_shape and (directory / CHECKPOINT).is_file():
            found = with_raw_weights(load_checkpoint(directory, device))
            if not found.get("finished", False):
                raise LhcgenError(f"{source}: its conditions model has not finished training "
                                  f"({directory / CHECKPOINT}); finish that run first")
    if found is None and cfg.conditions.epochs == 0:
        what = (f"run '{source}' has none of this shape (conditions.hidden "
                f"{cfg.conditions.hidden}, blocks {cfg.conditions.blocks}, marginals "
                f"{cfg.conditions.marginals!r})" if source
                else "there is no run to take one from")
        raise LhcgenError(f"conditions.epochs 0 keeps the conditions model of the run this one "
                          f"starts from, and {what}; give the conditions model epochs")
    return found, source if found is not None else ""
