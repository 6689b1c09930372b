"""`lhcgen train`: data -> preprocessing -> generator -> fit, all recorded in a run directory.

A run directory holds config.yaml (resolved), preprocessing.json (fitted state),
checkpoint.pt (model, EMA, optimiser, schedule, step), train_log.jsonl and metrics.json.
"""

from __future__ import annotations

import dataclasses
import json
import os
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch

from lhcgen import __version__
from lhcgen.errors import LhcgenError
from lhcgen.io import write_text_atomic
from lhcgen.models import Batch, build_generator
from lhcgen.processes import get_process, read_process_sample
from lhcgen.train.checkpoint import CHECKPOINT, load_checkpoint
from lhcgen.train.config import RunConfig, dump_config
from lhcgen.train.distributed import Ranks, check_shards
from lhcgen.train.init_run import conditions_start, load_init_run, teacher_record
from lhcgen.train.loop import LOG_FILE, autocast_context, fit, graceful_interrupt
from lhcgen.train.rare_draws import rare_draw_weights
from lhcgen.train.run_files import (
    CONDITIONS_DIR,
    CONFIG_FILE,
    METRICS_FILE,
    PREPROCESSING_FILE,
    load_run_config,
)
from lhcgen.transforms.coordinates import Coordinates
from lhcgen.transforms.encoded import Encoded


def resolve_device(name: str) -> torch.device:
    """'auto' picks CUDA when present, else the CPU."""
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name.startswith("cuda") and not torch.cuda.is_available():
        raise LhcgenError(f"device '{name}' requested but CUDA is not available; use --device cpu")
    try:
        return torch.device(name)
    except RuntimeError:
        raise LhcgenError(f"unknown device '{name}' (use auto, cpu or cuda)") from None


def to_batch(enc: Encoded) -> Batch:
    return Batch(enc.x.float(), enc.dims_mask, enc.multiplicity.long(), enc.weights.float(),
                 None if enc.context is None else enc.context.float())


def split_indices(n: int, val_fraction: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    order = np.random.default_rng(seed).permutation(n)
    n_val = int(round(val_fraction * n))
    return np.sort(order[n_val:]), np.sort(order[:n_val])


def trim_log(path: Path, step: int) -> None:
    """Keep the log records up to the checkpoint's ``step``: a run killed between writing a
    record and its checkpoint would otherwise log that epoch twice. Unreadable lines (a
    write cut short) are dropped too."""
    if not path.is_file():
        return
    kept = []
    for line in path.read_text().splitlines():
        try:
            record = json.loads(line)
        except json.JSONDecodeError:
            continue
        if isinstance(record, dict) and record.get("step", 0) <= step:
            kept.append(line)
    write_text_atomic(path, "".join(f"{line}\n" for line in kept))


def same_experiment(a: RunConfig, b: RunConfig) -> bool:
    """Equal configs up to ``training.micro_batches``, which like the number of processes
    says how a batch is computed, not what is trained: a run may resume with other
    values (identical results while WORLD_SIZE x micro_batches stays the same); and up to
    the ``sampling`` section, the run's default sampler, which training never reads (a
    resumed run takes the new one)."""
    def plain(cfg: RunConfig) -> RunConfig:
        return dataclasses.replace(cfg, sampling=a.sampling,
                                   training=dataclasses.replace(cfg.training, micro_batches=1))
    return plain(a) == plain(b)


def _resume_state(cfg: RunConfig, run_dir: Path, device: torch.device,
                  resume: bool) -> dict | None:
    """The checkpoint to continue from (None: a new run), after checking the run directory
    and trimming its log."""
    if resume and not (run_dir / CHECKPOINT).is_file():
        resume = False  # killed before its first checkpoint: nothing to continue, start over
    if resume:
        state = load_checkpoint(run_dir, device)
        if not same_experiment(load_run_config(run_dir), cfg):
            raise LhcgenError(f"{run_dir}: the config differs from the one this run was "
                              "started with; resume with the same config or use a new --out")
        trim_log(run_dir / LOG_FILE, state["step"])
        return state
    if (run_dir / CHECKPOINT).exists():
        raise LhcgenError(f"{run_dir} already holds a trained run; pass --resume to "
                          "continue it or choose another --out")
    return None


def _read_data(cfg: RunConfig):
    """(sample, process, train indices, validation indices) of the config's training file."""
    sample, process = read_process_sample(cfg.data.train, "data.train",
                                          expected=cfg.data.process)
    if cfg.data.max_events:
        sample = sample.subset(slice(0, cfg.data.max_events))
    train_idx, val_idx = split_indices(len(sample), cfg.data.val_fraction, cfg.training.seed)
    if len(train_idx) < cfg.training.batch_size:
        raise LhcgenError(f"{cfg.data.train}: {len(train_idx)} training events are fewer than "
                          f"one batch ({cfg.training.batch_size}); generate more events or "
                          "lower training.batch_size")
    return sample, process, train_idx, val_idx


def train_run(cfg: RunConfig, run_dir: str | os.PathLike, device: torch.device,
              resume: bool = False, progress: bool = True,
              should_stop: Callable[[int], bool] | None = None,
              ranks: Ranks | None = None) -> dict:
    """Train ``cfg`` into ``run_dir``; returns the metrics (also written to metrics.json).

    With ``ranks`` of several processes (``distributed.process_group``), rank 0 checks the
    run directory, loads the checkpoint to resume and fits the preprocessing, and gives
    them to the other ranks; rank 0 alone writes the run directory.
    """
    ranks = ranks or Ranks(device=device)
    run_dir = Path(run_dir)
    check_shards(cfg.training.batch_size, ranks, cfg.training.micro_batches)
    autocast_context(cfg.training.precision, device)  # before anything is written
    state = ranks.main_first(_resume_state, cfg, run_dir,
                             torch.device("cpu") if ranks.distributed else device, resume)
    init = None
    if state is None and cfg.training.init_from:
        init = ranks.main_first(load_init_run, cfg,
                                torch.device("cpu") if ranks.distributed else device)
    sample, process, train_idx, val_idx = ranks.main_first(_read_data, cfg, broadcast=False)
    train_sample = sample.subset(train_idx)
    preprocessing = process.preprocessing(cfg.preprocessing)

    def fit_preprocessing() -> dict:
        if state is not None:
            preprocessing.load_state_dict(
                json.loads((run_dir / PREPROCESSING_FILE).read_text()))
            if load_run_config(run_dir) != cfg:  # micro_batches or the default sampler
                write_text_atomic(run_dir / CONFIG_FILE, dump_config(cfg))
        elif init is not None:  # the coordinates the initial weights were trained in
            preprocessing.load_state_dict(init.preprocessing)
        else:
            preprocessing.fit(train_sample)
        if cfg.conditions.marginals == "quantile":
            process.fit_condition_marginals(preprocessing, train_sample)
        return preprocessing.state_dict()

    def start_run_dir() -> None:
        run_dir.mkdir(parents=True, exist_ok=True)
        write_text_atomic(run_dir / CONFIG_FILE, dump_config(cfg))
        write_text_atomic(run_dir / PREPROCESSING_FILE,
                          json.dumps(preprocessing.state_dict(), indent=1))
        (run_dir / LOG_FILE).unlink(missing_ok=True)

    fitted = ranks.main_first(fit_preprocessing)
    if not ranks.is_main:
        preprocessing.load_state_dict(fitted)
    # before anything is written or trained: a training file that lacks what the conditions
    # model needs (a jet type of the run a warm restart keeps the coordinates of) ends here
    conditions = ranks.main_first(process.condition_data, preprocessing, train_sample,
                                  cfg.training.seed, cfg.conditions.marginals,
                                  broadcast=False)
    if cfg.training.epochs == 0 and conditions is None:
        raise LhcgenError(f"training.epochs 0 trains only the conditions model, and process "
                          f"{process.name!r} has none; give the network epochs to train")
    condition_init, condition_source = None, ""
    if conditions is not None and not (state is not None
                                       and (run_dir / CONDITIONS_DIR / CHECKPOINT).is_file()):
        # not resumed inside its own training: it starts from another run's, or afresh
        condition_init, condition_source = ranks.main_first(
            conditions_start, cfg, torch.device("cpu") if ranks.distributed else device)
    # before anything is written: a network that does not fit the coordinates ends here
    # (nothing below draws from torch's generator before training starts)
    torch.manual_seed(cfg.training.seed)
    model = build_generator(cfg.model, preprocessing.coordinates(),
                            preprocessing.multiplicities)
    if state is None:
        ranks.main_first(start_run_dir)
    train = to_batch(preprocessing.encode(train_sample))
    val_encoded = preprocessing.encode(sample.subset(val_idx)) if len(val_idx) else None
    val = None if val_encoded is None else to_batch(val_encoded)

    draws, rare_facts = None, None
    if cfg.training.rare_boost != 1.0:
        rare = process.rare_condition(preprocessing, train_sample)
        if len(rare.values) != len(train.x):
            raise LhcgenError(f"training.rare_boost: process {process.name!r} gave "
                              f"{len(rare.values)} conditions for {len(train.x)} training "
                              "events")
        found = rare_draw_weights(rare.values, rare.groups, cfg.training.rare_boost)
        draws = torch.from_numpy(found.weights)
        rare_facts = found.facts(cfg.training.rare_boost, process.rare_condition_name)

    n_params = sum(p.numel() for p in model.parameters())
    history = init.history if init is not None else (state or {}).get("init_history")
    with graceful_interrupt() as ctrl_c:
        stop = should_stop or ctrl_c
        result, _ = fit(model, train, val, cfg.training, run_dir, device, state, progress,
                        extra_state={"n_params": n_params,
                                     **({"init_history": history} if history else {})},
                        should_stop=stop, ranks=ranks,
                        init_weights=None if init is None else init.state, draws=draws)
        condition_facts = None
        if conditions is not None:
            condition_facts = _fit_conditions(
                cfg, conditions, preprocessing.multiplicities, run_dir, device,
                state is not None, progress, ranks, stop, condition_init, condition_source)
    metrics = {
        "lhcgen_version": __version__, "model": cfg.model.name, "net": cfg.model.net,
        "parameters": n_params, "train_events": len(train_idx), "val_events": len(val_idx),
        "train_file": str(Path(cfg.data.train).resolve()), "process": process.name,
        "train_cuts": sample.attrs.get("cuts"),
        "train_max_events": cfg.data.max_events, "steps": result.steps,
        "epochs": result.epochs, "final_train_loss": result.train_loss,
        "final_val_loss": result.val_loss,
        **({"validation_encoding": val_encoded.counts}
           if val_encoded is not None and val_encoded.counts else {}),
        "training_seconds": round(result.seconds, 2),
        "steps_per_second": round(result.steps_per_second, 2), "device": str(device),
        "threads": torch.get_num_threads(), "processes": ranks.world_size,
        "precision": cfg.training.precision,
        **({"conditions": condition_facts} if condition_facts else {}),
        **({"rare_draws": rare_facts} if rare_facts else {}),
        **({"init_from": {"run": cfg.training.init_from, "history": history}}
           if history else {}),
        **({"teacher": teacher} if (teacher := teacher_record(cfg)) else {}),
        "finished_at": time.strftime("%Y-%m-%dT%H:%M:%S"),
    }
    ranks.main_first(write_text_atomic, run_dir / METRICS_FILE, json.dumps(metrics, indent=2))
    return metrics


def conditions_model(cfg: RunConfig, multiplicities: list[int], n_conditions: int):
    """The (untrained) generator of the continuous conditions of a run."""
    return build_generator(cfg.conditions.model_config(),
                           Coordinates.plain([0] * n_conditions), multiplicities)


def _fit_conditions(cfg: RunConfig, data: Encoded, multiplicities: list[int], run_dir: Path,
                    device: torch.device, resume: bool, progress: bool, ranks: Ranks,
                    stop: Callable[[int], bool], init_state: dict | None = None,
                    init_source: str = "") -> dict:
    """Train the generator of the continuous conditions into RUN/conditions/ (resumed from
    its own checkpoint when the run is resumed; starting from ``init_state``'s weights, a
    checkpoint of the same model of run ``init_source``, when given; with
    ``conditions.epochs`` 0 that model as it is); returns its facts for metrics.json."""
    directory = run_dir / CONDITIONS_DIR
    state = None
    if resume and (directory / CHECKPOINT).is_file():
        state = ranks.main_first(load_checkpoint, directory,
                                 torch.device("cpu") if ranks.distributed else device)
    elif ranks.is_main:
        directory.mkdir(parents=True, exist_ok=True)
        (directory / LOG_FILE).unlink(missing_ok=True)
    ranks.barrier()
    if state is not None and ranks.is_main:
        trim_log(directory / LOG_FILE, state["step"])
    train_idx, val_idx = split_indices(len(data.x), cfg.data.val_fraction, cfg.training.seed)
    batch = to_batch(data)
    torch.manual_seed(cfg.training.seed + 1)
    model = conditions_model(cfg, multiplicities, data.x.shape[1])
    source = state.get("initialised_from", "") if state is not None else init_source
    result, _ = fit(model, batch.rows(torch.from_numpy(train_idx)),
                    batch.rows(torch.from_numpy(val_idx)) if len(val_idx) else None,
                    cfg.conditions.training_config(cfg.training), directory, device, state,
                    progress, should_stop=stop, ranks=ranks,
                    init_weights=None if state is not None else init_state,
                    extra_state={"initialised_from": source} if source else None)
    return {"parameters": sum(p.numel() for p in model.parameters()), "steps": result.steps,
            "final_val_loss": result.val_loss, "training_seconds": round(result.seconds, 2),
            **({"initialised": True, "initialised_from": source} if source else {})}


def run_metrics(run_dir: str | os.PathLike) -> dict:
    """metrics.json of a run ({} while it has not finished)."""
    path = Path(run_dir) / METRICS_FILE
    return json.loads(path.read_text()) if path.is_file() else {}


def load_trained_run(run_dir: str | os.PathLike, device: torch.device, kind: str):
    """(config, process, fitted preprocessing, model with the EMA weights, in eval mode on
    ``device``) of a finished or interrupted run whose process is of ``kind``."""
    run_dir = Path(run_dir)
    if not run_dir.is_dir():
        raise LhcgenError(f"{run_dir}: no such run directory")
    cfg = load_run_config(run_dir)
    process = get_process(cfg.data.process)
    if process.kind != kind:
        raise LhcgenError(f"{run_dir} generates {process.title}, not {kind}")
    state = load_checkpoint(run_dir, device)
    preprocessing = process.preprocessing(cfg.preprocessing)
    preprocessing.load_state_dict(json.loads((run_dir / PREPROCESSING_FILE).read_text()))
    model = build_generator(cfg.model, preprocessing.coordinates(),
                            preprocessing.multiplicities)
    model.load_state_dict(state["ema"]["model"])
    model.to(device).eval()
    return cfg, process, preprocessing, model

