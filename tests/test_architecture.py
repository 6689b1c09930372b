"""The architecture of docs/architecture.md holds: layers (import-linter, also run by
`make test`), no import cycle between any two modules, models registered without being
imported, and each model's sampler list in step with the solvers."""

from __future__ import annotations

import ast
import shutil
import subprocess
import sys
from pathlib import Path

import grimp
import pytest

from lhcgen.models.registry import MODEL_NAMES

ROOT = Path(__file__).resolve().parents[1]


def test_import_linter_contracts_are_kept():
    exe = shutil.which("lint-imports") or str(Path(sys.executable).parent / "lint-imports")
    result = subprocess.run([exe, "--config", str(ROOT / "pyproject.toml")], cwd=ROOT,
                            capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 broken" in result.stdout


def _strongly_connected(graph: dict[str, set[str]]) -> list[list[str]]:
    index, low, stack, on, out, counter = {}, {}, [], set(), [], [0]

    def visit(v: str) -> None:
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in graph[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                out.append(sorted(component))

    sys.setrecursionlimit(10_000)
    for v in graph:
        if v not in index:
            visit(v)
    return out


def test_no_import_cycle_between_modules():
    """Every import counts, also those inside functions: no two modules depend on each
    other, directly or through others."""
    g = grimp.build_graph("lhcgen")
    graph = {m: set(g.find_modules_directly_imported_by(m)) for m in g.modules}
    # a package's __init__ importing its own submodules is not a cycle of two concepts
    for m, targets in graph.items():
        graph[m] = {t for t in targets if not t.startswith(m + ".")}
    assert _strongly_connected(graph) == []


def test_registry_imports_no_model_until_asked():
    code = ("import sys; import lhcgen.models.registry as r; "
            "assert not [m for m in sys.modules if m.startswith('lhcgen.models.') and "
            "m.split('.')[-1] in r.MODEL_NAMES], sorted(sys.modules); "
            "r.check_sampler('cfm', 'rk4', 4); assert 'lhcgen.models.cfm' in sys.modules")
    subprocess.run([sys.executable, "-c", code], check=True, cwd=ROOT)


@pytest.mark.parametrize("name", MODEL_NAMES)
def test_each_model_is_one_file_with_its_sampler_spec(name):
    from lhcgen.models.registry import model_module
    from lhcgen.solvers.edm import EDM_SAMPLERS
    from lhcgen.solvers.ode import SOLVERS

    module = model_module(name)
    assert callable(module.build) and module.SAMPLER.description
    if name == "cfm":
        assert module.SAMPLER.solvers == SOLVERS  # every ODE solver, and only those
    if name == "edm":  # every EDM sampler, and only those
        assert sorted(module.SAMPLER.solvers) == sorted(EDM_SAMPLERS)


def _code_without_docstrings(path: Path) -> str:
    tree = ast.parse(path.read_text())
    for node in ast.walk(tree):
        body = getattr(node, "body", None)
        first = body[0] if isinstance(body, list) and body else None
        if (isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant)
                and isinstance(first.value.value, str)):
            body.pop(0)
    return ast.unparse(tree)


def test_no_module_outside_a_process_names_zjets_in_its_code():
    """train, sample and evaluate work through the Process seam: Z+jets appears in code
    only in the files of that process (its data, physics, transforms and processes files),
    the paired processes' data files, and the CLI's `data` commands and demo."""
    own = {"data/zjets.py", "data/zjets_file.py", "data/shards.py", "data/lhe.py",
           "data/hepmc.py", "data/events.py", "data/distortions.py", "data/jet_file.py",
           "transforms/zjets.py", "physics/zjets_cuts.py", "physics/zjets_observables.py",
           "processes/zjets.py", "processes/registry.py", "cli/data.py", "cli/__init__.py",
           "workflows/demo.py", "train/config.py",
           # the paired (particle/detector) processes' data files and their Delphes reader
           "data/paired_cuts.py", "data/paired_events.py", "data/paired_file.py",
           "data/delphes.py", "cli/data_delphes.py"}
    offenders = []
    for path in sorted((ROOT / "src" / "lhcgen").rglob("*.py")):
        rel = path.relative_to(ROOT / "src" / "lhcgen").as_posix()
        if rel in own:
            continue
        if any(word in _code_without_docstrings(path).lower() for word in ("zjets", "z+jets")):
            offenders.append(rel)
    assert offenders == []
