"""Training and sampling on several processes (train/distributed.py, docs/distributed.md).

Two gloo processes on the CPU (torchrun) must train the network of one process whose batch
is cut into the same two shards (``training.micro_batches: 2``), resume a checkpoint, and
sample the events of one process; a missing rank or an unreachable rank 0 is one line.

Tolerance of the comparisons: both computations add the same float32 numbers, but in a
different order at one place, the gradient of the two shards (DDP's all-reduce of
2 g0 and 2 g1, then / 2, against accumulating g0 + g1 in .grad). Such a difference is a few
units in the last place (~1e-7 relative) per step, and AdamW's update, normalised by the
running RMS of the gradient, passes it on without amplifying it over the 16 steps here. We
allow rtol 1e-5 and atol 1e-6 on weights and losses: a hundred times that rounding, and a
thousand times below what a real fault does (a shard left out, gradients summed instead of
averaged, another noise draw: relative changes of 1e-3 to 1e-1 after one step). With two
gloo ranks on one machine the results are in fact bit for bit equal.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time

import numpy as np
import pytest
import torch
import yaml

from lhcgen.data.hdf5 import read_events, write_events
from lhcgen.errors import LhcgenError
from lhcgen.train.config import config_from_dict
from lhcgen.train.distributed import (
    CollectiveError,
    Ranks,
    check_shards,
    init_timeout,
    process_group,
    shard_bounds,
)
from lhcgen.train.loop import Interrupted
from lhcgen.train.run import train_run
from lhcgen.train.surrogate import Surrogate, sample_to_file
from tests.toys import toy_zjets

TORCHRUN = [sys.executable, "-m", "torch.distributed.run", "--standalone",
            "--nproc-per-node", "2", "-m", "lhcgen", "--no-progress"]
TOLERANCE = {"rtol": 1e-5, "atol": 1e-6}
TRAINING = {"batch_size": 100, "epochs": 2, "checkpoint_every": 4, "warmup_steps": 3}
MODEL = {"name": "cfm", "hidden": 32, "blocks": 1, "time_embedding": 8}


def _config(train_file, **training) -> dict:
    return {"data": {"train": str(train_file), "val_fraction": 0.2}, "model": MODEL,
            "training": {**TRAINING, **training}, "sampling": {"steps": 2, "batch_size": 64}}


def _clean_env(**extra) -> dict:
    """The environment of a child: no torchrun variables of ours, plus ``extra``."""
    env = {k: v for k, v in os.environ.items()
           if k not in ("RANK", "WORLD_SIZE", "LOCAL_RANK", "MASTER_ADDR", "MASTER_PORT")
           and not k.startswith("TORCHELASTIC")}
    return {**env, "OMP_NUM_THREADS": "1", **extra}


@pytest.fixture(scope="module")
def workspace(tmp_path_factory):
    """A training file, the two-rank config and one-process runs with two micro-batches
    (the reference): one finished, one interrupted at step 5."""
    root = tmp_path_factory.mktemp("ddp")
    write_events(root / "train.h5", toy_zjets(900, seed=3))
    (root / "ddp.yaml").write_text(yaml.safe_dump(_config(root / "train.h5")))
    reference = config_from_dict(_config(root / "train.h5", micro_batches=2))
    train_run(reference, root / "single", torch.device("cpu"), progress=False)
    with pytest.raises(Interrupted):
        train_run(reference, root / "cut", torch.device("cpu"), progress=False,
                  should_stop=lambda step: step == 5)
    return root


def _log(run) -> list[dict]:
    return [json.loads(line) for line in (run / "train_log.jsonl").read_text().splitlines()]


def _assert_same_training(run, reference, resumed: bool = False) -> None:
    """Same log and weights; after a resume the logged train_loss, a running average that
    restarts with the process, is left out."""
    a, b = _log(run), _log(reference)
    assert [r["step"] for r in a] == [r["step"] for r in b] == [8, 16]
    for x, y in zip(a, b, strict=True):
        for key in ("val_loss", "lr") if resumed else ("train_loss", "val_loss", "lr"):
            np.testing.assert_allclose(x[key], y[key], **TOLERANCE, err_msg=key)
    ca = torch.load(run / "checkpoint.pt", weights_only=True)
    cb = torch.load(reference / "checkpoint.pt", weights_only=True)
    assert ca["step"] == cb["step"] == 16
    for key in cb["model"]:
        torch.testing.assert_close(ca["model"][key], cb["model"][key], **TOLERANCE)
        torch.testing.assert_close(ca["ema"]["model"][key], cb["ema"]["model"][key],
                                   **TOLERANCE)


# ---- one process --------------------------------------------------------------------------

@pytest.mark.parametrize("n", [0, 1, 5, 99, 100, 101])
@pytest.mark.parametrize("shards", [1, 2, 3, 4])
def test_shards_cut_a_batch_into_contiguous_nearly_equal_parts(n, shards):
    bounds = [shard_bounds(n, shards, k) for k in range(shards)]
    assert bounds[0][0] == 0 and bounds[-1][1] == n
    assert all(a[1] == b[0] for a, b in zip(bounds[:-1], bounds[1:], strict=True))
    sizes = [stop - start for start, stop in bounds]
    assert max(sizes) - min(sizes) <= 1


def test_global_batch_must_split_evenly():
    assert check_shards(100, Ranks(world_size=2), 2) == 4
    with pytest.raises(CollectiveError, match=r"divisible by WORLD_SIZE \(3\) x "
                                              r"training.micro_batches \(1\) = 3"):
        check_shards(100, Ranks(world_size=3), 1)
    with pytest.raises(LhcgenError, match="'training.micro_batches' must divide"):
        config_from_dict({"training": {"batch_size": 100, "micro_batches": 3}})
    with pytest.raises(LhcgenError, match="'training.precision' must be one of 'fp32', 'bf16'"):
        config_from_dict({"training": {"precision": "fp16"}})


def test_without_torchrun_one_process(monkeypatch):
    for name in ("RANK", "WORLD_SIZE", "LOCAL_RANK", "MASTER_ADDR", "MASTER_PORT"):
        monkeypatch.delenv(name, raising=False)
    with process_group(torch.device("cpu")) as ranks:
        assert (ranks.rank, ranks.world_size, ranks.is_main) == (0, 1, True)
        assert ranks.gather("x") == ["x"] and ranks.broadcast(3) == 3
        assert ranks.main_first(lambda: 7) == 7


def test_incomplete_environment_and_bad_timeout_are_one_error(monkeypatch):
    monkeypatch.setenv("RANK", "0")
    monkeypatch.delenv("WORLD_SIZE", raising=False)
    with pytest.raises(LhcgenError, match="WORLD_SIZE.*not set"), \
            process_group(torch.device("cpu")):
        pass
    monkeypatch.setenv("LHCGEN_DIST_TIMEOUT", "soon")
    with pytest.raises(LhcgenError, match="LHCGEN_DIST_TIMEOUT='soon' must be a positive"):
        init_timeout()


def test_bf16_on_the_cpu_trains_float32_weights(tmp_path, workspace):
    cfg = config_from_dict(_config(workspace / "train.h5", precision="bf16", epochs=1))
    metrics = train_run(cfg, tmp_path / "run", torch.device("cpu"), progress=False)
    assert metrics["precision"] == "bf16" and np.isfinite(metrics["final_val_loss"])
    state = torch.load(tmp_path / "run" / "checkpoint.pt", weights_only=True)
    assert all(v.dtype in (torch.float32, torch.long, torch.bool)
               for v in state["model"].values())
    fp32 = train_run(config_from_dict(_config(workspace / "train.h5", epochs=1)),
                     tmp_path / "fp32", torch.device("cpu"), progress=False)
    assert metrics["final_train_loss"] == pytest.approx(fp32["final_train_loss"], rel=0.02)


def test_sample_parts_join_to_the_events_of_one_process(workspace):
    surrogate = Surrogate.load(workspace / "single", torch.device("cpu"))
    whole, _ = surrogate.generate(300, batch_size=64, seed=4, progress=False)
    parts = [surrogate.draw(300, batch_size=64, seed=4, progress=False, part=(r, 3))
             for r in range(3)]
    own = [sum(len(m) for m in p["mults"][0]) + p["counts"]["n_nonfinite"] for p in parts]
    assert own == [64, 128, 108]  # whole batches of 64: 1, 2 and 2 (64 + 44)
    joined, info = surrogate.assemble(parts, 300, seed=4)
    np.testing.assert_array_equal(joined.momenta, whole.momenta)
    np.testing.assert_array_equal(joined.multiplicity, whole.multiplicity)
    assert info["n_written"] == 300 and info["processes"] == 3


# ---- two processes ------------------------------------------------------------------------

@pytest.mark.slow
def test_two_ranks_train_and_resume_like_one_process(workspace):
    """torchrun with 2 gloo ranks = one process with micro_batches: 2; --resume under
    torchrun continues a checkpoint (here one written by one process) exactly."""
    ddp, cut = workspace / "ddp_run", workspace / "cut"
    out = subprocess.run([*TORCHRUN, "train", str(workspace / "ddp.yaml"), "--out", str(ddp)],
                         capture_output=True, text=True, env=_clean_env(), timeout=240)
    assert out.returncode == 0, out.stderr
    assert out.stdout.count("trained ") == 1 and "on 2 processes" in out.stdout  # rank 0 only
    assert sorted(p.name for p in ddp.iterdir()) == [
        "checkpoint.pt", "config.yaml", "metrics.json", "preprocessing.json",
        "train_log.jsonl"]
    assert json.loads((ddp / "metrics.json").read_text())["processes"] == 2
    _assert_same_training(ddp, workspace / "single")

    out = subprocess.run([*TORCHRUN, "train", str(workspace / "ddp.yaml"), "--out", str(cut),
                          "--resume"], capture_output=True, text=True, env=_clean_env(),
                         timeout=240)
    assert out.returncode == 0, out.stderr
    _assert_same_training(cut, workspace / "single", resumed=True)


@pytest.mark.slow
def test_two_ranks_sample_the_events_of_one_process(workspace, tmp_path):
    argv = ["-n", "300", "--seed", "4", "--batch-size", "64"]
    out = subprocess.run([*TORCHRUN, "sample", str(workspace / "single"), *argv, "--out",
                          str(tmp_path / "ddp.h5")], capture_output=True, text=True,
                         env=_clean_env(), timeout=240)
    assert out.returncode == 0, out.stderr
    assert out.stdout.count("wrote 300 events") == 1
    sample_to_file(workspace / "single", 300, tmp_path / "one.h5", torch.device("cpu"),
                   batch_size=64, seed=4, progress=False)
    a, b = read_events(tmp_path / "ddp.h5"), read_events(tmp_path / "one.h5")
    np.testing.assert_array_equal(a.momenta, b.momenta)
    np.testing.assert_array_equal(a.multiplicity, b.multiplicity)
    assert a.attrs["sampling_processes"] == 2


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.slow
def test_missing_rank_or_unreachable_rank_zero_is_one_line(workspace, tmp_path):
    """WORLD_SIZE=2 with only rank 0 started, and a rank 1 whose MASTER_ADDR:MASTER_PORT
    answers nothing: each ends in one line and exit 1 after the 2 s timeout, writing
    nothing."""
    port, lost = _free_port(), _free_port()
    assert port != lost
    common = {"WORLD_SIZE": "2", "MASTER_ADDR": "127.0.0.1", "MASTER_PORT": str(port),
              "LHCGEN_DIST_TIMEOUT": "2"}
    argv = [sys.executable, "-m", "lhcgen", "--no-progress", "train",
            str(workspace / "ddp.yaml")]
    started = time.monotonic()
    alone = subprocess.Popen([*argv, "--out", str(tmp_path / "alone")], text=True,
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                             env=_clean_env(RANK="0", LOCAL_RANK="0", **common))
    unreachable = subprocess.Popen([*argv, "--out", str(tmp_path / "lost")], text=True,
                                   stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                   env=_clean_env(RANK="1", LOCAL_RANK="1",
                                                  **{**common, "MASTER_PORT": str(lost)}))
    results = [p.communicate(timeout=120) + (p.returncode,) for p in (alone, unreachable)]
    elapsed = time.monotonic() - started
    for (_, err, code), rank in zip(results, (0, 1), strict=True):
        lines = err.strip().splitlines()
        assert code == 1 and len(lines) == 1, err
        assert lines[0].startswith(f"lhcgen: error: rank {rank} could not join")
        assert "WORLD_SIZE=2" in lines[0] and "Traceback" not in err
    assert f"127.0.0.1:{port}" in results[0][1] and "1/2 clients joined" in results[0][1]
    assert f"127.0.0.1:{lost}" in results[1][1]
    assert elapsed < 60  # the 2 s timeout plus starting Python twice on a busy machine
    assert not (tmp_path / "alone").exists() and not (tmp_path / "lost").exists()
