"""Every `lhcgen` and benchmark command in the Makefile parses with its own argument parser.

The long targets (`make jets`, `make jets150`, `make jetsgpu`, ...) run for hours or need a
GPU, so nobody runs them in CI; a renamed flag would only show at hour five. Each command is
run up to the end of its argument parsing (``ArgumentParser.parse_args`` is wrapped to stop
there), so no data are made and nothing is trained.
"""

from __future__ import annotations

import argparse
import re
import runpy
import shlex
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
MAKE_VARIABLES = {"$(DEVICE)": "cuda", "$(WORKERS)": "2"}  # the Makefile's own variables
LOOP_VARIABLES = {"$$s": "1", "$$name": "150_tag_seed1"}
"""The shell variables of the Makefile's recipe macros (``$(call NAME,...)``), at one value
of their loop: the macro's commands are parsed as they run at that seed."""


class _Parsed(Exception):
    """Raised once a command's arguments parsed."""


def makefile_commands() -> list[tuple[str, list[str]]]:
    """(target, argv) of each recipe line that runs lhcgen or a benchmark script on its own
    (lines with shell variables, loops or tests are left out), and of each command of a
    ``$(call NAME,...)`` line's macro (``expand_call``)."""
    text = (ROOT / "Makefile").read_text().replace("\\\n", " ")
    variables = dict(MAKE_VARIABLES)
    for name, value in re.findall(r"^([A-Z0-9_]+) :?= (.*)$", text, flags=re.M):
        variables.setdefault(f"$({name})", " ".join(value.split()))
    macros = dict(re.findall(r"^([a-z0-9_]+) = (.*)$", text, flags=re.M))
    commands, target = [], None
    for line in text.splitlines():
        if re.match(r"^[A-Za-z0-9_./-]+:", line):
            target = line.split(":")[0]
            continue
        if not line.startswith("\t"):
            continue
        for command in expand_call(line.strip(), macros):
            for name, value in variables.items():
                command = command.replace(name, value)
            runs = command.startswith(("$(BIN)/lhcgen ", "$(BIN)/python benchmarks/"))
            if "$$" in command or not runs:
                continue
            argv = shlex.split(command.replace("$(BIN)/", "", 1))
            commands.append((target, argv[1:] if argv[0] == "python" else argv))
    return commands


def expand_call(line: str, macros: dict[str, str]) -> list[str]:
    """A recipe line ``$(call NAME,A,B,...)`` as the commands of its macro, with $(1), $(2),
    ... its arguments, the loop's shell variables at one value (LOOP_VARIABLES) and the
    shell's ``do``/``|| exit 1`` around each command taken off; any other line as it is."""
    call = re.fullmatch(r"\$\(call ([a-z0-9_]+),(.*)\)", line)
    if not call:
        return [line]
    body = macros[call.group(1)]  # a KeyError here: a call of a macro the Makefile lacks
    for k, argument in enumerate(call.group(2).split(","), start=1):
        body = body.replace(f"$({k})", argument)
    for name, value in LOOP_VARIABLES.items():
        body = body.replace(name, value)
    commands = [re.sub(r"^do |\s*\|\| exit 1$", "", part.strip()) for part in body.split(";")]
    return [c for c in commands if c.startswith("$(BIN)/")]


COMMANDS = makefile_commands()


def test_the_makefile_has_the_long_targets_commands():
    targets = {t for t, _ in COMMANDS}
    assert {"jets", "jets150", "jetsgpu", "paired"} <= targets
    called = [argv for _, argv in COMMANDS if "runs/samples_150_tag_seed1" in argv]
    assert len(called) >= 6  # each $(call t150_generated,...): generate, then judge
    assert len(COMMANDS) > 30
    assert not any("$(" in arg for _, argv in COMMANDS for arg in argv)  # every variable known


@pytest.mark.parametrize(("target", "argv"), COMMANDS,
                         ids=[f"{t}:{' '.join(a)[:60]}" for t, a in COMMANDS])
def test_makefile_command_parses(target, argv, monkeypatch):
    original = argparse.ArgumentParser.parse_args

    def parse_then_stop(self, args=None, namespace=None):
        original(self, args, namespace)
        raise _Parsed

    monkeypatch.setattr(argparse.ArgumentParser, "parse_args", parse_then_stop)
    if argv[0] == "lhcgen":
        from lhcgen.cli import main

        call = lambda: main(argv[1:])  # noqa: E731
    else:
        monkeypatch.setattr(sys, "argv", argv)
        call = lambda: runpy.run_path(str(ROOT / argv[0]), run_name="__main__")  # noqa: E731
    with pytest.raises(_Parsed):
        call()
