"""YAML sections validated into frozen dataclasses: the machinery behind every config.

Loading rejects unknown keys and wrong types with one line that names the key, so a typo
never silently falls back to a default.
"""

from __future__ import annotations

import dataclasses
import types
import typing
from pathlib import Path
from typing import Literal

import yaml

from lhcgen.errors import LhcgenError


def _type_name(tp) -> str:
    if typing.get_origin(tp) is Literal:
        return "one of " + ", ".join(repr(a) for a in typing.get_args(tp))
    return getattr(tp, "__name__", str(tp))


def _convert(value, tp, key: str, positive):
    origin = typing.get_origin(tp)
    if dataclasses.is_dataclass(tp):
        if not isinstance(value, dict):
            raise LhcgenError(f"config: '{key}' must be a section (mapping), "
                              f"got {type(value).__name__}")
        return build_section(tp, value, key + ".", positive)
    if origin is Literal:
        if value not in typing.get_args(tp):
            raise LhcgenError(f"config: '{key}' must be {_type_name(tp)}, got {value!r}")
        return value
    if origin is tuple:  # tuple[float, ...]: a YAML list of one type
        item = typing.get_args(tp)[0]
        if isinstance(value, str) or not isinstance(value, (list, tuple)) or not value:
            raise LhcgenError(f"config: '{key}' must be a non-empty list, got {value!r}")
        return tuple(_convert(v, item, f"{key}[{i}]", positive) for i, v in enumerate(value))
    if origin in (typing.Union, types.UnionType):
        args = [a for a in typing.get_args(tp) if a is not type(None)]
        if value is None:
            return None
        return _convert(value, args[0], key, positive)
    if tp is float:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise LhcgenError(f"config: '{key}' must be a number, got {value!r}")
        return float(value)
    if tp is int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise LhcgenError(f"config: '{key}' must be an integer, got {value!r}")
        return value
    if tp is bool:
        if not isinstance(value, bool):
            raise LhcgenError(f"config: '{key}' must be true or false, got {value!r}")
        return value
    if tp is str:
        if not isinstance(value, str):
            raise LhcgenError(f"config: '{key}' must be a string, got {value!r}")
        return value
    raise TypeError(f"unsupported config type {tp} for {key}")


def build_section(cls, data: dict, prefix: str = "",
                  positive: frozenset[str] | set[str] = frozenset()):
    """``data`` validated into the frozen dataclass ``cls``: unknown keys and wrong types are
    one line naming the key (``prefix`` + name); keys in ``positive`` must be > 0."""
    namespace = getattr(cls, "type_namespace", None)
    hints = typing.get_type_hints(cls, localns=namespace() if namespace else None)
    names = [f.name for f in dataclasses.fields(cls)]
    unknown = [k for k in data if k not in names]
    if unknown:
        raise LhcgenError(f"config: unknown key '{prefix}{unknown[0]}' "
                          f"(allowed in this section: {', '.join(names)})")
    kwargs = {}
    for name, value in data.items():
        key = prefix + name
        kwargs[name] = _convert(value, hints[name], key, positive)
        if key in positive and kwargs[name] <= 0:
            raise LhcgenError(f"config: '{key}' must be positive, got {value!r}")
    return cls(**kwargs)


def read_yaml_mapping(path: str | Path) -> dict:
    """The YAML file at ``path`` as a mapping ({} when empty); one line if it is missing or
    not valid YAML."""
    path = Path(path)
    if not path.is_file():
        raise LhcgenError(f"{path}: no such config file")
    try:
        data = yaml.safe_load(path.read_text())
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}" if mark else ""
        raise LhcgenError(f"{path}: not valid YAML{where}") from None
    return data or {}
