"""The training loop: batches, AdamW, LR schedule, EMA, validation, checkpoints, resume.

A Bayesian network (nets/bayesian.py) is trained on the ELBO: the model's loss plus
KL(q || prior) / N_train; the validation loss is the data term alone (at the posterior means).
"""

from __future__ import annotations

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
from tqdm.auto import tqdm

from lhcgen.errors import LhcgenError
from lhcgen.models.base import Batch, Generator
from lhcgen.nets.bayesian import is_bayesian, kl_divergence
from lhcgen.train.checkpoint import save_checkpoint
from lhcgen.train.config import TrainingConfig
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
    train_loss: float
    val_loss: float | None
    seconds: float
    steps_per_second: float


def _batches(data: Batch, batch_size: int, seed: int, epoch: int):
    """Shuffled mini-batches; the order depends only on (seed, epoch), so resume repeats it."""
    order = torch.randperm(len(data.x), generator=torch.Generator().manual_seed(seed * 7919
                                                                                  + epoch))
    for start in range(0, len(order), batch_size):
        idx = order[start: start + batch_size]
        yield Batch(data.x[idx], data.dims_mask[idx], data.multiplicity[idx], data.weights[idx])


@torch.no_grad()
def evaluate_loss(model: Generator, data: Batch, batch_size: int, device: torch.device,
                  seed: int = 12345) -> float:
    """Weighted mean loss over ``data`` with fixed noise, so values are comparable."""
    gen = torch.Generator().manual_seed(seed)
    total, weight = 0.0, 0.0
    for start in range(0, len(data.x), batch_size):
        sl = slice(start, start + batch_size)
        b = Batch(data.x[sl], data.dims_mask[sl], data.multiplicity[sl], data.weights[sl])
        w = float(b.weights.sum())
        total += float(model.loss(b.to(device), generator=gen)) * w
        weight += w
    return total / weight


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
        should_stop: Callable[[int], bool] | None = None) -> tuple[TrainResult, EMA]:
    """Train ``model`` in place; checkpoints go to ``run_dir``. Returns (result, ema).

    ``should_stop(step)`` is asked after every step; when it answers True a checkpoint is
    written and Interrupted is raised, so `--resume` continues exactly where it stopped.
    """
    model.to(device)
    bayesian = is_bayesian(model)
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

    def checkpoint() -> None:
        save_checkpoint(run_dir, {
            "model": model.state_dict(), "ema": ema.state_dict(),
            "optimizer": optimizer.state_dict(), "scheduler": scheduler.state_dict(),
            "step": step, "elapsed": elapsed + time.perf_counter() - started,
            "val_loss": val_loss, "finished": step >= total, **(extra_state or {}),
        })

    log = open(Path(run_dir) / LOG_FILE, "a")  # noqa: SIM115 - closed in finally
    started = time.perf_counter()
    bar = tqdm(total=total, initial=step, desc="training", unit="step", disable=not progress,
               dynamic_ncols=True)
    running = None
    try:
        while step < total:
            epoch, offset = divmod(step, steps_per_epoch)
            model.train()
            for i, batch in enumerate(_batches(train, cfg.batch_size, cfg.seed, epoch)):
                if i < offset:
                    continue
                gen = torch.Generator().manual_seed(cfg.seed * 1_000_003 + step)
                loss = model.loss(batch.to(device), generator=gen)
                if bayesian:  # the ELBO: data term + KL(q || prior) / N_train
                    kl = kl_divergence(model)
                    loss = loss + kl / len(train.x)
                if not torch.isfinite(loss):
                    raise LhcgenError(f"training diverged: loss is {float(loss)} at step {step}; "
                                      "lower training.lr or raise training.grad_clip")
                optimizer.zero_grad(set_to_none=True)
                loss.backward()
                if cfg.grad_clip > 0:
                    torch.nn.utils.clip_grad_norm_(model.parameters(), cfg.grad_clip)
                optimizer.step()
                scheduler.step()
                ema.update(model)
                step += 1
                value = loss.detach().item()
                running = value if running is None else 0.98 * running + 0.02 * value
                bar.update(1)
                bar.set_postfix(loss=f"{running:.4f}", epoch=epoch + 1)
                if step % cfg.checkpoint_every == 0:
                    checkpoint()
                if should_stop is not None and should_stop(step):
                    raise _Stop
            if val is not None:
                val_loss = evaluate_loss(ema.model, val, 4 * cfg.batch_size, device)
            record = {"step": step, "epoch": epoch + 1, "train_loss": running,
                      "val_loss": val_loss, "lr": scheduler.get_last_lr()[0],
                      **({"kl": float(kl.detach())} if bayesian else {}),
                      "seconds": elapsed + time.perf_counter() - started}
            log.write(json.dumps(record) + "\n")
            log.flush()
            checkpoint()
    except _Stop:
        checkpoint()
        raise Interrupted(f"interrupted at step {step}/{total}; checkpoint saved in {run_dir}; "
                          "continue with `lhcgen train CONFIG --out RUN_DIR --resume`") from None
    finally:
        bar.close()
        log.close()
    seconds = elapsed + time.perf_counter() - started
    result = TrainResult(step, cfg.epochs, running if running is not None else float("nan"),
                         val_loss, seconds, step / seconds if seconds > 0 else 0.0)
    return result, ema
