"""kill -9 in the middle of `lhcgen data` and `lhcgen train`, then rerun / --resume: no
corrupt file, and the result equals the uninterrupted one (benchmarks/kill_resume.py does
this 20 times each at random moments)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import numpy as np
import pytest
import torch
import yaml

from lhcgen.data.hdf5 import read_events, write_events
from tests.toys import toy_zjets

pytestmark = pytest.mark.slow
LHCGEN = [sys.executable, "-m", "lhcgen.cli", "--no-progress"]


def _kill_when(argv, ready, timeout=240.0):
    """Run argv in its own process group; SIGKILL the group as soon as ``ready()``."""
    process = subprocess.Popen([*LHCGEN, *argv], start_new_session=True,
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + timeout
    while not ready():
        assert process.poll() is None, "finished before it could be killed"
        assert time.monotonic() < deadline
        time.sleep(0.05)
    os.killpg(process.pid, signal.SIGKILL)
    process.wait()


def test_data_killed_after_a_shard_resumes_to_the_same_file(tmp_path):
    argv = ["data", "zjets", "--events", "60", "--seed", "3", "--workers", "1",
            "--shard-size", "20"]
    subprocess.run([*LHCGEN, *argv, "--out", str(tmp_path / "ref.h5")], check=True)
    out = tmp_path / "run.h5"
    parts = tmp_path / "run.h5.parts"
    _kill_when([*argv, "--out", str(out)], lambda: len(list(parts.glob("shard-*.h5"))) >= 1)
    assert not out.exists()
    kept = sorted(p.name for p in parts.glob("shard-*.h5"))
    assert kept and "shard-00000.h5" in kept
    subprocess.run([*LHCGEN, *argv, "--out", str(out)], check=True)
    a, b = read_events(out), read_events(tmp_path / "ref.h5")
    np.testing.assert_array_equal(a.momenta, b.momenta)
    assert a.attrs["n_generated"] == b.attrs["n_generated"]
    # the rate counts only the events this rerun made, not those of the kept shards
    resumed = int(a.attrs["resumed_accepted"])
    assert a.attrs["resumed_shards"] >= 1 and resumed == 20 * a.attrs["resumed_shards"]
    assert b.attrs["resumed_shards"] == 0 and b.attrs["resumed_accepted"] == 0
    assert a.attrs["accepted_events_per_second"] == pytest.approx(
        (60 - resumed) / a.attrs["generation_seconds"], rel=1e-3)
    assert not parts.exists()  # removed once the file is written
    assert not list(tmp_path.glob(".*.part"))


def test_train_killed_after_a_checkpoint_resumes_to_the_same_network(tmp_path):
    write_events(tmp_path / "train.h5", toy_zjets(800, seed=1))
    config = tmp_path / "tiny.yaml"
    config.write_text(yaml.safe_dump({
        "data": {"train": str(tmp_path / "train.h5")},
        "model": {"name": "cfm", "hidden": 32, "blocks": 1, "time_embedding": 8},
        "training": {"batch_size": 64, "epochs": 30, "checkpoint_every": 5}}))
    argv = ["train", str(config), "--threads", "1"]
    subprocess.run([*LHCGEN, *argv, "--out", str(tmp_path / "ref")], check=True)
    run = tmp_path / "run"

    def past_first_checkpoint() -> bool:
        try:
            return torch.load(run / "checkpoint.pt", weights_only=True)["step"] >= 20
        except Exception:  # noqa: BLE001 - not written yet
            return False

    _kill_when([*argv, "--out", str(run)], past_first_checkpoint)
    assert not (run / "metrics.json").exists()
    subprocess.run([*LHCGEN, *argv, "--out", str(run), "--resume"], check=True)
    a = torch.load(run / "checkpoint.pt", weights_only=True)
    b = torch.load(tmp_path / "ref" / "checkpoint.pt", weights_only=True)
    for key in b["model"]:
        assert torch.equal(a["model"][key], b["model"][key])
    epochs = [yaml.safe_load(line)["epoch"] for line in
              (run / "train_log.jsonl").read_text().splitlines()]
    assert epochs == list(range(1, 31))
