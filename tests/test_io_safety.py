"""Safe run directories: atomic folder replacement and checkpoints that cannot run code."""

from __future__ import annotations

import os
import threading
from pathlib import Path

import pytest
import torch

from lhcgen.errors import LhcgenError
from lhcgen.io import atomic_dir, replace_dir
from lhcgen.train.checkpoint import CHECKPOINT, load_checkpoint, save_checkpoint


def _report(folder: Path, text: str) -> None:
    (folder / "index.html").write_text(text)


def test_atomic_dir_replaces_and_keeps_old_on_error(tmp_path):
    target = tmp_path / "report"
    with atomic_dir(target) as tmp:
        _report(tmp, "one")
    with pytest.raises(RuntimeError), atomic_dir(target) as tmp:
        _report(tmp, "half")
        raise RuntimeError("crash while writing")
    assert (target / "index.html").read_text() == "one"
    with atomic_dir(target) as tmp:
        _report(tmp, "two")
    assert (target / "index.html").read_text() == "two"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["report"]  # nothing left over


def test_a_reader_always_finds_a_complete_report(tmp_path):
    """A reader polling the target while it is replaced 200 times never misses the file."""
    target = tmp_path / "report"
    with atomic_dir(target) as tmp:
        _report(tmp, "0")
    missing = []
    done = threading.Event()

    def read() -> None:
        while not done.is_set():
            try:
                (target / "index.html").read_text()
            except (FileNotFoundError, NotADirectoryError):
                missing.append(1)

    reader = threading.Thread(target=read)
    reader.start()
    try:
        for k in range(200):
            with atomic_dir(target) as tmp:
                _report(tmp, str(k))
    finally:
        done.set()
        reader.join()
    assert missing == []


def test_replace_dir_without_exchange_keeps_old_until_new_is_in(tmp_path, monkeypatch):
    import lhcgen.io as io

    monkeypatch.setattr(io, "_exchange", lambda a, b: False)
    target, new = tmp_path / "report", tmp_path / "new"
    target.mkdir()
    _report(target, "old")
    new.mkdir()
    _report(new, "new")
    replace_dir(new, target)
    assert (target / "index.html").read_text() == "new"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["report"]


class _RunsCode:
    def __reduce__(self):
        return (os.system, ("touch crafted-checkpoint-ran",))


def test_crafted_checkpoint_is_refused_without_running_code(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    run = tmp_path / "run"
    run.mkdir()
    torch.save({"model": _RunsCode()}, run / CHECKPOINT)
    with pytest.raises(LhcgenError, match="refused.*weights only"):
        load_checkpoint(run)
    assert not (tmp_path / "crafted-checkpoint-ran").exists()


def test_checkpoint_round_trip_and_corrupt_file(tmp_path):
    state = {"model": {"w": torch.arange(3.0)}, "step": 7, "elapsed": 1.5, "finished": False}
    save_checkpoint(tmp_path, state)
    back = load_checkpoint(tmp_path)
    assert back["step"] == 7 and torch.equal(back["model"]["w"], state["model"]["w"])
    (tmp_path / CHECKPOINT).write_bytes(b"not a checkpoint")
    with pytest.raises(LhcgenError, match="corrupt checkpoint"):
        load_checkpoint(tmp_path)


def test_parts_left_by_a_killed_writer_are_removed_live_ones_kept(tmp_path):
    import subprocess
    import sys

    from lhcgen.io import atomic_path

    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True, check=True).stdout.strip()
    stale = tmp_path / f".events.h5.{dead}.abc123.part"
    stale.write_text("half")
    live = tmp_path / f".events.h5.{os.getpid()}.def456.part"
    live.write_text("being written")
    with atomic_path(tmp_path / "events.h5") as tmp:
        tmp.write_text("done")
    assert not stale.exists() and live.exists()
    assert (tmp_path / "events.h5").read_text() == "done"
