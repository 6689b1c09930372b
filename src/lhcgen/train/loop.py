"""The training loop: batches, AdamW, LR schedule, EMA, validation, checkpoints, resume.

A Bayesian network (nets/bayesian.py) is trained on the ELBO: the model's loss plus
KL(q || prior) / N_train; the validation loss is the data term alone (at the posterior means).
"""

from __future__ import annotations

import contextlib
import json
import math
import signal
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import torch
from torch import nn
from torch.nn.parallel import DistributedDataParallel
from tqdm.auto import tqdm

from lhcgen.errors import LhcgenError
from lhcgen.models.base import Batch, Generator
from lhcgen.nets.bayesian import is_bayesian, kl_divergence
from lhcgen.train.checkpoint import save_checkpoint
from lhcgen.train.config import TrainingConfig
from lhcgen.train.distributed import (
    CollectiveError,
    Ranks,
    check_shards,
    shard_bounds,
    shard_seed,
)
from lhcgen.train.ema import EMA
from lhcgen.train.schedule import make_scheduler

LOG_FILE = "train_log.jsonl"


class Interrupted(LhcgenError):
    """Training stopped by Ctrl-C after a checkpoint was written."""


class _Stop(Exception):
    """Internal: a stop was requested at a step boundary."""


@contextmanager
def graceful_interrupt() -> Iterator[Callable[[int], bool]]:
    """Turn the first Ctrl-C into a request to stop at the next step boundary.

    Yields ``should_stop(step)``. A second Ctrl-C interrupts at once (the last checkpoint,
    written atomically, stays valid).
    """
    requested = threading.Event()
    if threading.current_thread() is not threading.main_thread():
        yield lambda step: False
        return

    def handler(signum, frame):
        if requested.is_set():
            raise KeyboardInterrupt
        requested.set()

    previous = signal.signal(signal.SIGINT, handler)
    try:
        yield lambda step: requested.is_set()
    finally:
        signal.signal(signal.SIGINT, previous)


@dataclass
class TrainResult:
    steps: int
    epochs: int
    train_loss: float | None
    """None where no step was taken (epochs 0)."""
    val_loss: float | None
    seconds: float
    steps_per_second: float


def _batches(data: Batch, batch_size: int, seed: int, epoch: int,
             draws: torch.Tensor | None = None):
    """Shuffled mini-batches; the order depends only on (seed, epoch), so resume repeats it.
    With ``draws`` (per-row weights, ``training.rare_boost``) the epoch's len(data) rows are
    drawn with replacement in proportion to them."""
    gen = torch.Generator().manual_seed(seed * 7919 + epoch)
    if draws is None:
        order = torch.randperm(len(data.x), generator=gen)
    else:
        order = torch.multinomial(draws, len(data.x), replacement=True, generator=gen)
    for start in range(0, len(order), batch_size):
        idx = order[start: start + batch_size]
        yield data.rows(idx)


def _rows(data: Batch, start: int, stop: int) -> Batch:
    return data.rows(slice(start, stop))


@torch.no_grad()
def _loss_sums(model: Generator, data: Batch, batch_size: int, device: torch.device,
               seed: int) -> tuple[float, float]:
    """(sum of weight x loss, sum of weights) over ``data`` with fixed noise."""
    gen = torch.Generator().manual_seed(seed)
    total, weight = 0.0, 0.0
    for start in range(0, len(data.x), batch_size):
        b = _rows(data, start, start + batch_size)
        w = float(b.weights.sum())
        total += float(model.loss(b.to(device), generator=gen)) * w
        weight += w
    return total, weight


def evaluate_loss(model: Generator, data: Batch, batch_size: int, device: torch.device,
                  seed: int = 12345) -> float:
    """Weighted mean loss over ``data`` with fixed noise, so values are comparable."""
    total, weight = _loss_sums(model, data, batch_size, device, seed)
    return total / weight


def _validation_loss(model: Generator, val: Batch, batch_size: int, ranks: Ranks,
                     shards: int, micro_batches: int) -> float:
    """The validation loss of ``evaluate_loss``; with several shards the set is cut into as
    many parts, each with its own fixed noise, each rank evaluates its own, and the sums are
    added over ranks, so every rank gets the same value."""
    if shards == 1:
        return evaluate_loss(model, val, batch_size, ranks.device)
    sums = torch.zeros(2, dtype=torch.float64)
    for m in range(micro_batches):
        k = ranks.rank * micro_batches + m
        part = _rows(val, *shard_bounds(len(val.x), shards, k))
        if len(part.x):
            total, weight = _loss_sums(model, part, batch_size, ranks.device,
                                       shard_seed(12345, 0, k, purpose=2))
            sums += torch.tensor([total, weight], dtype=torch.float64)
    sums = sums.to(ranks.device)
    ranks.all_sum(sums)
    return float(sums[0] / sums[1])


class _ShardLoss(nn.Module):
    """The objective of one shard of a batch as a module, so that DistributedDataParallel
    sees a forward pass: ``scale`` x the model's loss + KL(q || prior) / ``kl_divisor``.
    An empty shard gives a zero that still reaches every parameter (every rank must take
    part in the gradient all-reduce)."""

    def __init__(self, model: Generator, bayesian: bool):
        super().__init__()
        self.model, self.bayesian = model, bayesian

    def forward(self, x, dims_mask, multiplicity, weights, context, generator, scale: float,
                kl_divisor: int):
        if len(x) == 0 or scale == 0.0:
            loss = sum(p.sum() for p in self.model.parameters()) * 0.0
        else:
            loss = self.model.loss(Batch(x, dims_mask, multiplicity, weights, context),
                                   generator=generator)
            if scale != 1.0:
                loss = loss * scale
        kl = None
        if self.bayesian:  # the ELBO: data term + KL(q || prior) / N_train
            kl = kl_divergence(self.model)
            loss = loss + kl / kl_divisor
        return loss, kl


def autocast_context(precision: str, device: torch.device) -> Callable:
    """A factory of the training forward's precision context: nothing for "fp32",
    torch.autocast to bfloat16 for "bf16" (CUDA, or the CPU); one error for a GPU without
    bfloat16."""
    if precision == "fp32":
        return contextlib.nullcontext
    if device.type == "cuda" and not torch.cuda.is_bf16_supported():
        raise CollectiveError(f"training.precision 'bf16' needs a GPU with bfloat16 support "
                              f"({torch.cuda.get_device_name(device)} has none); use 'fp32'")
    return lambda: torch.autocast(device_type=device.type, dtype=torch.bfloat16)


def _parameter_groups(model: Generator, weight_decay: float) -> list[dict]:
    """AdamW groups: weight decay on everything but the Bayesian log-variances, which the KL
    term regularises (decaying them to 0 would pull every weight's variance towards 1)."""
    decayed, log_vars = [], []
    for name, parameter in model.named_parameters():
        (log_vars if name.endswith("_log_var") else decayed).append(parameter)
    groups = [{"params": decayed, "weight_decay": weight_decay}]
    if log_vars:
        groups.append({"params": log_vars, "weight_decay": 0.0})
    return groups


def fit(model: Generator, train: Batch, val: Batch | None, cfg: TrainingConfig,
        run_dir: Path, device: torch.device, resume_state: dict | None = None,
        progress: bool = True, extra_state: dict | None = None,
        should_stop: Callable[[int], bool] | None = None,
        ranks: Ranks | None = None,
        init_weights: dict | None = None,
        draws: torch.Tensor | None = None) -> tuple[TrainResult, EMA]:
    """Train ``model`` in place; checkpoints go to ``run_dir``. Returns (result, ema).

    ``should_stop(step)`` is asked after every step; when it answers True a checkpoint is
    written and Interrupted is raised, so `--resume` continues exactly where it stopped.
    ``init_weights`` (a finished run's checkpoint, ``training.init_from``): the network and
    EMA start from its weights, optimiser and schedule start afresh (ignored on resume);
    with ``cfg.epochs`` 0 they are checkpointed as they are, with their validation loss.
    ``draws``: per-row weights of ``train`` by which each epoch draws its rows
    (``training.rare_boost``; None: each row once).
    With ``ranks`` of several processes (train/distributed.py) the model is wrapped in
    DistributedDataParallel, each rank trains on its shards of every batch, and only rank 0
    writes the log and the checkpoints; every rank holds the same weights, EMA, schedule and
    losses.
    """
    ranks = ranks or Ranks(device=device)
    model.to(device)
    bayesian = is_bayesian(model)
    micro = cfg.micro_batches
    shards = check_shards(cfg.batch_size, ranks, micro)
    autocast = autocast_context(cfg.precision, device)
    steps_per_epoch = math.ceil(len(train.x) / cfg.batch_size)
    total = steps_per_epoch * cfg.epochs
    optimizer = torch.optim.AdamW(_parameter_groups(model, cfg.weight_decay), lr=cfg.lr)
    scheduler = make_scheduler(optimizer, total, cfg.warmup_steps, cfg.schedule)
    ema = EMA(model, cfg.ema_decay)
    step, elapsed, val_loss = 0, 0.0, None
    if resume_state is not None:
        model.load_state_dict(resume_state["model"])
        ema.load_state_dict(resume_state["ema"])
        optimizer.load_state_dict(resume_state["optimizer"])
        scheduler.load_state_dict(resume_state["scheduler"])
        step, elapsed = resume_state["step"], resume_state["elapsed"]
        val_loss = resume_state.get("val_loss")
    elif init_weights is not None:
        model.load_state_dict(init_weights["model"])
        ema.load_state_dict(init_weights["ema"])
    objective = _ShardLoss(model, bayesian)
    if ranks.distributed:
        objective = DistributedDataParallel(
            objective, device_ids=[device.index] if device.type == "cuda" else None)

    def checkpoint() -> None:
        if ranks.is_main:
            save_checkpoint(run_dir, {
                "model": model.state_dict(), "ema": ema.state_dict(),
                "optimizer": optimizer.state_dict(), "scheduler": scheduler.state_dict(),
                "step": step, "elapsed": elapsed + time.perf_counter() - started,
                "val_loss": val_loss, "finished": step >= total, **(extra_state or {}),
            })

    def shard_loss(batch: Batch, m: int) -> tuple[torch.Tensor, torch.Tensor | None]:
        """Forward pass of micro-batch ``m`` of this rank; with one shard, the whole batch
        with the noise of the single-process loop."""
        if shards == 1:
            gen = torch.Generator().manual_seed(cfg.seed * 1_000_003 + step)
            part, scale, kl_divisor = batch, 1.0, len(train.x)
        else:
            k = ranks.rank * micro + m
            part = _rows(batch, *shard_bounds(len(batch.x), shards, k))
            gen = torch.Generator().manual_seed(shard_seed(cfg.seed, step, k, purpose=0))
            torch.manual_seed(shard_seed(cfg.seed, step, k, purpose=1))  # dropout, Bayesian
            part_weight, batch_weight = float(part.weights.sum()), float(batch.weights.sum())
            scale = ranks.world_size * part_weight / batch_weight if len(part.x) else 0.0
            kl_divisor = len(train.x) * micro
        part = part.to(device)
        with autocast():
            return objective(part.x, part.dims_mask, part.multiplicity, part.weights,
                             part.context, generator=gen, scale=scale, kl_divisor=kl_divisor)

    log = open(Path(run_dir) / LOG_FILE, "a") if ranks.is_main else None  # noqa: SIM115
    started = time.perf_counter()
    bar = tqdm(total=total, initial=step, desc="training", unit="step",
               disable=not progress or not ranks.is_main, dynamic_ncols=True)
    running = None
    try:
        if total == 0:  # epochs 0: the initial weights as they are, with their loss
            if val is not None:
                val_loss = _validation_loss(ema.model, val, 4 * cfg.batch_size, ranks, shards,
                                            micro)
            checkpoint()
        while step < total:
            epoch, offset = divmod(step, steps_per_epoch)
            model.train()
            for i, batch in enumerate(_batches(train, cfg.batch_size, cfg.seed, epoch, draws)):
                if i < offset:
                    continue
                optimizer.zero_grad(set_to_none=True)
                summed = None
                for m in range(micro):
                    sync = m == micro - 1 or not ranks.distributed
                    with contextlib.nullcontext() if sync else objective.no_sync():
                        loss, kl = shard_loss(batch, m)
                        loss.backward()
                    share = loss.detach().float() / ranks.world_size
                    summed = share if summed is None else summed + share
                stop = False
                if ranks.distributed:  # the step's loss and a stop request, alike everywhere
                    flags = torch.stack([summed, summed.new_tensor(
                        float(should_stop is not None and should_stop(step + 1)))])
                    ranks.all_sum(flags)
                    summed, stop = flags[0], bool(flags[1] > 0)
                value = summed.item()
                if not math.isfinite(value):
                    raise CollectiveError(f"training diverged: loss is {value} at step "
                                          f"{step}; lower training.lr or raise "
                                          "training.grad_clip")
                if cfg.grad_clip > 0:
                    torch.nn.utils.clip_grad_norm_(model.parameters(), cfg.grad_clip)
                optimizer.step()
                scheduler.step()
                ema.update(model)
                step += 1
                running = value if running is None else 0.98 * running + 0.02 * value
                bar.update(1)
                bar.set_postfix(loss=f"{running:.4f}", epoch=epoch + 1)
                if step % cfg.checkpoint_every == 0:
                    checkpoint()
                if not ranks.distributed and should_stop is not None:
                    stop = should_stop(step)
                if stop:
                    raise _Stop
            if val is not None:
                val_loss = _validation_loss(ema.model, val, 4 * cfg.batch_size, ranks, shards,
                                            micro)
            record = {"step": step, "epoch": epoch + 1, "train_loss": running,
                      "val_loss": val_loss, "lr": scheduler.get_last_lr()[0],
                      **({"kl": float(kl.detach())} if bayesian else {}),
                      "seconds": elapsed + time.perf_counter() - started}
            if log is not None:
                log.write(json.dumps(record) + "\n")
                log.flush()
            checkpoint()
    except _Stop:
        checkpoint()
        ranks.barrier()  # no rank leaves before rank 0 has written the checkpoint
        raise Interrupted(f"interrupted at step {step}/{total}; checkpoint saved in {run_dir}; "
                          "continue with `lhcgen train CONFIG --out RUN_DIR --resume`") from None
    finally:
        bar.close()
        if log is not None:
            log.close()
    seconds = elapsed + time.perf_counter() - started
    result = TrainResult(step, cfg.epochs, running, val_loss, seconds,
                         step / seconds if seconds > 0 else 0.0)
    return result, ema
