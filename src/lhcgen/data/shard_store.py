"""Finished shards kept on disk, so that a rerun after a crash or ``kill -9`` makes only the
missing ones and writes the same final file as an uninterrupted run.

A run's shards live in ``OUT.parts/`` next to the output file: ``run.json`` (what defines
the run: process, settings, seed, shard sizes and seeds) and one ``shard-KKKKK.h5`` per
finished shard, each written atomically (no pickle: arrays and JSON only). A folder left by
a run with other options is refused, never mixed in. The folder is removed once the final
file has been written.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import shutil
import typing
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import h5py
import numpy as np

from lhcgen.data.events import EventSample
from lhcgen.data.jets import JetCloudSample
from lhcgen.data.paired import PairedSample
from lhcgen.errors import LhcgenError
from lhcgen.io import atomic_path, json_safe, write_text_atomic

SAMPLE_TYPES = {cls.__name__: cls for cls in (EventSample, JetCloudSample, PairedSample)}
RUN_FILE = "run.json"


def parts_folder(out: str | Path) -> Path:
    """Where the shards of the run writing ``out`` are kept."""
    out = Path(out)
    return out.with_name(out.name + ".parts")


def _write_fields(group: h5py.Group, obj: Any) -> None:
    """The dataclass ``obj`` into ``group``: arrays as datasets, nested dataclasses as
    groups, per-event dictionaries as groups of datasets, anything else as JSON attributes."""
    for field in dataclasses.fields(obj):
        value = getattr(obj, field.name)
        if isinstance(value, np.ndarray):
            group.create_dataset(field.name, data=value)
        elif dataclasses.is_dataclass(value):
            _write_fields(group.create_group(field.name), value)
        elif field.name == "attrs":
            group.attrs["sample_attrs"] = json.dumps(json_safe(value))
        elif isinstance(value, dict):  # event_info: per-event arrays
            sub = group.create_group(field.name)
            for key, array in value.items():
                sub.create_dataset(key, data=array)
        else:
            group.attrs[f"field:{field.name}"] = json.dumps(json_safe(value))


def _read_fields(group: h5py.Group, cls: type) -> Any:
    hints = typing.get_type_hints(cls)
    kwargs: dict[str, Any] = {}
    for field in dataclasses.fields(cls):
        name = field.name
        if name == "attrs":
            kwargs["attrs"] = json.loads(group.attrs["sample_attrs"])
        elif f"field:{name}" in group.attrs:
            kwargs[name] = json.loads(group.attrs[f"field:{name}"])
        elif name in group and isinstance(group[name], h5py.Group):
            if dataclasses.is_dataclass(hints.get(name)):
                kwargs[name] = _read_fields(group[name], hints[name])
            else:
                kwargs[name] = {k: v[()] for k, v in group[name].items()}
        elif name in group:
            kwargs[name] = group[name][()]
    return cls(**kwargs)


def _write_sample(path: Path, sample: Any, stats: dict) -> None:
    with atomic_path(path) as tmp, h5py.File(tmp, "w") as f:
        f.attrs["type"] = type(sample).__name__
        f.attrs["stats"] = json.dumps(json_safe(stats))
        _write_fields(f, sample)


def _read_sample(path: Path) -> tuple[Any, dict]:
    with h5py.File(path, "r") as f:
        return _read_fields(f, SAMPLE_TYPES[f.attrs["type"]]), json.loads(f.attrs["stats"])


def remove_parts(folder: Path) -> None:
    shutil.rmtree(folder, ignore_errors=True)


@contextlib.contextmanager
def keep_parts_only_if_useful(folder: Path) -> Iterator[None]:
    """On failure keep ``folder`` only if it holds finished shards (a rerun resumes them);
    a folder with nothing but run.json is removed, so nothing useless is left behind."""
    try:
        yield
    except BaseException:
        if folder.is_dir() and not any(folder.glob("shard-*.h5")):
            remove_parts(folder)
        raise


class ShardStore:
    """The ``.parts`` folder of one run; ``key`` is everything that defines its shards."""

    def __init__(self, folder: str | Path, key: dict[str, Any]) -> None:
        self.folder = Path(folder)
        self.key = json_safe(key)
        self.reused: list[int] = []
        run_file = self.folder / RUN_FILE
        if run_file.is_file():
            try:
                recorded = json.loads(run_file.read_text())
            except json.JSONDecodeError:
                recorded = None
            if recorded != self.key:
                raise LhcgenError(f"{self.folder} holds the finished shards of a run with other "
                                  "options (process, settings, seed or shard size); rerun with "
                                  "the same options to resume it, or delete the folder")
        else:
            self.folder.mkdir(parents=True, exist_ok=True)
            write_text_atomic(run_file, json.dumps(self.key, indent=1))

    def path(self, k: int) -> Path:
        return self.folder / f"shard-{k:05d}.h5"

    def load(self, k: int, task: str) -> tuple[Any, dict] | None:
        """Shard k if it was finished before for the same ``task`` (its size and seed), else
        None; a damaged or foreign file is made again."""
        path = self.path(k)
        if not path.is_file():
            return None
        try:
            sample, stats = _read_sample(path)
        except (OSError, KeyError, ValueError, LhcgenError, json.JSONDecodeError):
            path.unlink(missing_ok=True)
            return None
        if stats.get("shard_task") != task:
            path.unlink(missing_ok=True)
            return None
        self.reused.append(k)
        return sample, stats

    def save(self, k: int, result: tuple[Any, dict], task: str) -> None:
        sample, stats = result
        _write_sample(self.path(k), sample, {**stats, "shard_task": task})

    def remove(self) -> None:
        shutil.rmtree(self.folder, ignore_errors=True)
