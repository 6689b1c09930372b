"""benchmarks/jets_seed_spread.py: one seed's verdict against several, on results written
by hand (the median, range and count within 2x are closed forms of the rows)."""

from __future__ import annotations

import json

import pytest
from benchmarks.jets_seed_spread import main

SETTINGS = {"w1_num_batches": 5}


def _row(run: str, jet_type: str, worst: float, metric: str = "fpd", reach: float = 1.0,
         solver: str = "consistency", steps: int = 3, **options) -> dict:
    return {"run": run, "type": jet_type, "protocol": "generated", "solver": solver,
            "steps": steps, "options": options, "pt_sum": "conserved",
            "worst_ratio": worst, "worst_metric": metric, "jets_per_second": 100.0 * steps,
            "times_simulator": float(steps), "efp_range": {"largest_reach": reach}}


def _result(tmp_path, name: str, seed: int, rows: list[dict], jets: int = 5000) -> str:
    result = {"seed": seed, "jets": jets, "truth": "t.h5", "truth_floor": "f.h5",
              "metric_seed": 42, "metric_settings": SETTINGS, "rows": rows}
    (tmp_path / f"{name}.json").write_text(json.dumps(result))
    return name


def test_median_range_within_and_reference(tmp_path):
    names = [_result(tmp_path, f"s{seed}", seed, [
        _row("teacher", "t", teacher, solver="midpoint", steps=16),
        _row("student", "t", student, reach=reach),
        _row("student", "t", 9.0, steps=2, sigma_1=0.3),  # one seed only: left out
    ][: 3 if seed == 0 else 2]) for seed, (teacher, student, reach) in
        enumerate([(1.5, 3.0, 1.1), (7.5, 1.9, 2.7), (1.8, 2.5, 1.0)])]
    assert main(["--results", *names, "--reference", "teacher", "--out-dir", str(tmp_path),
                 "--name", "spread"]) == 0
    rows = {r["run"]: r for r in json.loads((tmp_path / "spread.json").read_text())["rows"]}
    assert set(rows) == {"teacher", "student"}
    student, teacher = rows["student"], rows["teacher"]
    assert student["setting"] == "consistency:3" and teacher["setting"] == "midpoint:16"
    assert student["worst"] == [3.0, 1.9, 2.5] and student["seeds"] == [0, 1, 2]
    assert student["median"] == 2.5 and (student["min"], student["max"]) == (1.9, 3.0)
    assert student["within"] == 1 and teacher["within"] == 2
    assert teacher["median"] == 1.8
    assert student["of_reference"] == pytest.approx(2.5 / 1.8)
    said = (tmp_path / "spread.md").read_text()
    assert "| t | generated | student | consistency:3 | 3 (fpd, 1.1); 1.9 (fpd, 2.7); 2.5 " \
           "(fpd, 1) | 2.5 | 1.9–3 | 1/3 | 300 (3) | 1.39 |" in said


@pytest.mark.parametrize("case", ["jets", "same_seed", "missing", "reference"])
def test_results_that_are_not_seeds_of_one_measurement_are_one_line(tmp_path, capsys, case):
    a = _result(tmp_path, "a", 0, [_row("student", "t", 2.0)])
    b = _result(tmp_path, "b", 0 if case == "same_seed" else 1, [_row("student", "t", 2.0)],
                jets=50000 if case == "jets" else 5000)
    argv = ["--results", a, "missing" if case == "missing" else b, "--out-dir",
            str(tmp_path), "--name", "spread"]
    if case == "reference":
        argv += ["--reference", "teacher"]
    with pytest.raises(SystemExit) as stop:
        main(argv)
    message = str(stop.value.code)
    assert message.startswith("error: ") and "\n" not in message
    assert {"jets": "differ in jets", "same_seed": "seed 0 of student", "missing":
            "no such result", "reference": "no rows of that run"}[case] in message
    assert not (tmp_path / "spread.json").exists()
