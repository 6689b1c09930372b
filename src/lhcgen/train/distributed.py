"""Several processes, one model: torchrun's environment, the process group, and the split of
work between ranks (docs/distributed.md).

``process_group(device)`` reads the variables torchrun sets (RANK, WORLD_SIZE, LOCAL_RANK,
MASTER_ADDR, MASTER_PORT) and yields a ``Ranks``: the rank, the number of processes, this
rank's device (cuda:LOCAL_RANK on GPUs, NCCL; the CPU, gloo) and the collectives the
training loop and the sampler use. Without those variables (or with WORLD_SIZE=1) it yields
the single-process ``Ranks``, whose collectives do nothing, so one code path serves both.

The work is split in *shards*: every global batch of ``training.batch_size`` events is cut
into K = WORLD_SIZE x ``training.micro_batches`` contiguous shards, shard k = rank x
micro_batches + m, each with its own noise (``shard_seed``). What is computed depends on K
and not on how the shards are spread over processes: two processes give the network of one
process with ``micro_batches: 2``, up to the order of float32 sums. With K = 1 the loop is
the single-process loop of before, number for number.
"""

from __future__ import annotations

import contextlib
import datetime
import os
import sys
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch
import torch.distributed as dist

from lhcgen.errors import LhcgenError

TIMEOUT_ENV = "LHCGEN_DIST_TIMEOUT"
"""Seconds to wait for every process to join the group (default ``DEFAULT_TIMEOUT``)."""
DEFAULT_TIMEOUT = 60.0
COLLECTIVE_TIMEOUT = datetime.timedelta(minutes=30)
"""How long a rank waits for the others once the group stands (rank 0 writing a large file
while the others wait at a barrier)."""
ENV_VARS = ("RANK", "WORLD_SIZE", "LOCAL_RANK", "MASTER_ADDR", "MASTER_PORT")


class CollectiveError(LhcgenError):
    """An error every rank raises alike (rank 0 found it and told the others): only rank 0
    reports it."""


class RankError(LhcgenError):
    """An error of one rank only (its GPU, its connection to rank 0): every rank reports its
    own."""


@dataclass
class Ranks:
    """This process's place in the group, and the collectives of the loop and the sampler.

    The single-process instance (``Ranks(device=...)``) has rank 0 of 1 and collectives that
    return their input.
    """

    device: torch.device = field(default_factory=lambda: torch.device("cpu"))
    rank: int = 0
    world_size: int = 1
    local_rank: int = 0
    object_group: Any = None
    """The gloo group for Python objects and barriers (None: the default group)."""

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    @property
    def distributed(self) -> bool:
        return self.world_size > 1

    def barrier(self) -> None:
        if self.distributed:
            dist.barrier(group=self.object_group)

    def broadcast(self, obj: Any) -> Any:
        """Rank 0's ``obj`` on every rank."""
        if not self.distributed:
            return obj
        box = [obj if self.is_main else None]
        dist.broadcast_object_list(box, src=0, group=self.object_group)
        return box[0]

    def gather(self, obj: Any) -> list | None:
        """Every rank's ``obj`` in rank order on rank 0; None on the others."""
        if not self.distributed:
            return [obj]
        out = [None] * self.world_size if self.is_main else None
        dist.gather_object(obj, out, dst=0, group=self.object_group)
        return out

    def all_sum(self, tensor: torch.Tensor, async_op: bool = False):
        """Sum ``tensor`` over ranks in place (on its device); with ``async_op`` a handle to
        ``wait()`` on (None in a single process)."""
        if not self.distributed:
            return None
        handle = dist.all_reduce(tensor, op=dist.ReduceOp.SUM, async_op=async_op)
        return handle if async_op else None

    def main_first(self, fn: Callable[..., Any], *args, broadcast: bool = True, **kwargs):
        """Run ``fn`` on rank 0 first; its user error ends every rank alike (a
        CollectiveError). Otherwise the other ranks get rank 0's result (``broadcast``) or
        run ``fn`` themselves. For checks and writes that rank 0 alone does, while the
        others wait for it."""
        if not self.distributed:
            return fn(*args, **kwargs)
        result, error = None, None
        if self.is_main:
            try:
                result = fn(*args, **kwargs)
            except LhcgenError as exc:
                error = str(exc)
        shared, error = self.broadcast((result if broadcast else None, error))
        if error is not None:
            raise CollectiveError(error)
        if self.is_main:
            return result
        return shared if broadcast else fn(*args, **kwargs)


def launched() -> bool:
    """Whether the torchrun variables are set (this process is one rank of a group)."""
    return "RANK" in os.environ or "WORLD_SIZE" in os.environ


def env_rank() -> int:
    """RANK of the environment (0 outside torchrun or when unreadable)."""
    try:
        return int(os.environ.get("RANK", "0"))
    except ValueError:
        return 0


def _read_env() -> dict:
    missing = [v for v in ENV_VARS if not os.environ.get(v)]
    if missing:
        raise LhcgenError(f"incomplete torchrun environment: {', '.join(missing)} not set "
                          f"(start with `torchrun --nproc-per-node N -m lhcgen ...`, which "
                          f"sets {', '.join(ENV_VARS)})")
    env = {}
    for name in ("RANK", "WORLD_SIZE", "LOCAL_RANK", "MASTER_PORT"):
        try:
            env[name] = int(os.environ[name])
        except ValueError:
            raise LhcgenError(f"{name}={os.environ[name]!r} is not an integer") from None
    env["MASTER_ADDR"] = os.environ["MASTER_ADDR"]
    if env["WORLD_SIZE"] < 1 or not 0 <= env["RANK"] < env["WORLD_SIZE"]:
        raise LhcgenError(f"RANK={env['RANK']} must be in 0..WORLD_SIZE-1 "
                          f"(WORLD_SIZE={env['WORLD_SIZE']})")
    if not 0 < env["MASTER_PORT"] < 65536:
        raise LhcgenError(f"MASTER_PORT={env['MASTER_PORT']} is not a port number")
    return env


def init_timeout() -> float:
    """Seconds to wait for the group to form: $LHCGEN_DIST_TIMEOUT, else 60."""
    text = os.environ.get(TIMEOUT_ENV, "")
    if not text:
        return DEFAULT_TIMEOUT
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if not value > 0:
        raise LhcgenError(f"{TIMEOUT_ENV}={text!r} must be a positive number of seconds")
    return value


def rank_device(device: torch.device, local_rank: int, rank: int) -> torch.device:
    """The device of one rank: a CUDA request becomes cuda:LOCAL_RANK; the CPU stays."""
    if device.type != "cuda":
        return device
    if device.index is not None and device.index != local_rank:
        raise RankError(f"rank {rank}: under torchrun every rank uses cuda:LOCAL_RANK; pass "
                        f"--device cuda (not {device})")
    count = torch.cuda.device_count()
    if local_rank >= count:
        raise RankError(f"rank {rank}: LOCAL_RANK={local_rank} but this node has {count} "
                        "GPU(s); --nproc-per-node must not exceed the GPUs of a node")
    return torch.device("cuda", local_rank)


@contextlib.contextmanager
def _stderr_kept_back() -> Iterator[None]:
    """Hold back what C++ writes on file descriptor 2 (c10d's retry warnings with stack
    frames) while the group forms; the failure is reported in one line instead."""
    sys.stderr.flush()
    saved = os.dup(2)
    with tempfile.TemporaryFile() as sink:
        os.dup2(sink.fileno(), 2)
        try:
            yield
        finally:
            os.dup2(saved, 2)
            os.close(saved)


def _join(env: dict, device: torch.device, timeout: float) -> None:
    where = f"MASTER_ADDR:MASTER_PORT = {env['MASTER_ADDR']}:{env['MASTER_PORT']}"
    try:
        with _stderr_kept_back():
            store, _, _ = next(dist.rendezvous(
                "env://", timeout=datetime.timedelta(seconds=timeout)))
    except Exception as exc:  # noqa: BLE001 - DistStoreError, DistNetworkError, OSError, ...
        reason = (str(exc).strip().splitlines() or [exc.__class__.__name__])[0][:200]
        raise RankError(
            f"rank {env['RANK']} could not join the process group of WORLD_SIZE="
            f"{env['WORLD_SIZE']} at {where} within {timeout:g} s ({reason}); check that all "
            f"{env['WORLD_SIZE']} processes start (nodes x --nproc-per-node = WORLD_SIZE), "
            "that rank 0's host is reachable on that port from every node, or raise "
            f"{TIMEOUT_ENV}") from None
    store.set_timeout(COLLECTIVE_TIMEOUT)
    cuda = device.type == "cuda"
    dist.init_process_group("nccl" if cuda else "gloo", store=store, rank=env["RANK"],
                            world_size=env["WORLD_SIZE"], timeout=COLLECTIVE_TIMEOUT,
                            device_id=device if cuda else None)


@contextlib.contextmanager
def process_group(device: torch.device) -> Iterator[Ranks]:
    """The ``Ranks`` of this process: the single process without torchrun's variables or
    with WORLD_SIZE=1, else a joined process group (NCCL on CUDA, gloo on the CPU), left
    again on exit.

    Joining waits at most $LHCGEN_DIST_TIMEOUT seconds (60) for every rank; a missing rank
    or an unreachable MASTER_ADDR is one RankError naming them.
    """
    if not launched():
        yield Ranks(device=device)
        return
    env = _read_env()
    device = rank_device(device, env["LOCAL_RANK"], env["RANK"])
    if env["WORLD_SIZE"] == 1:
        yield Ranks(device=device)
        return
    if dist.is_initialized():
        raise LhcgenError("a process group is already initialised in this process")
    if device.type == "cuda":
        torch.cuda.set_device(device)
    _join(env, device, init_timeout())
    try:
        group = dist.new_group(backend="gloo") if device.type == "cuda" else None
        yield Ranks(device, env["RANK"], env["WORLD_SIZE"], env["LOCAL_RANK"], group)
    except BaseException:
        dist.destroy_process_group()
        raise
    # every rank done before any leaves: a rank that tore its gloo group down while another
    # still held work on it could abort at exit ("terminate called without an active
    # exception", seen once on 2 CPU ranks)
    try:
        dist.barrier(group=group)
    finally:
        dist.destroy_process_group()


def shard_bounds(n: int, shards: int, index: int) -> tuple[int, int]:
    """Rows [start, stop) of shard ``index`` of ``shards`` contiguous shards of ``n`` rows
    (sizes differ by at most one; a shard of fewer rows than shards can be empty)."""
    return index * n // shards, (index + 1) * n // shards


def shard_seed(seed: int, step: int, shard: int, purpose: int) -> int:
    """A 64-bit seed for the noise of one shard of one step (``purpose`` keeps the model's
    noise, the global RNG and the validation noise apart)."""
    state = np.random.SeedSequence([seed, step, shard, purpose]).generate_state(2)
    return int(state[0]) << 32 | int(state[1])


def check_shards(batch_size: int, ranks: Ranks, micro_batches: int) -> int:
    """The number of shards of a batch; one error unless it divides ``batch_size``."""
    shards = ranks.world_size * micro_batches
    if batch_size % shards:
        raise CollectiveError(
            f"training.batch_size = {batch_size} is the global batch; it must be divisible by "
            f"WORLD_SIZE ({ranks.world_size}) x training.micro_batches ({micro_batches}) = "
            f"{shards}, so that every process gets an equal share; change one of them")
    return shards
