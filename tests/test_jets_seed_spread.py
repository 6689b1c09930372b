"""benchmarks/jets_seed_spread.py: one seed's verdict against several, on results written
by hand (the median, range and count within 2x are closed forms of the rows)."""

from __future__ import annotations

import itertools
import json

import numpy as np
import pytest
from benchmarks.jets_floor_spread import summarise as summarise_draws
from benchmarks.jets_seed_spread import main

SETTINGS = {"w1_num_batches": 5}


def _row(run: str, jet_type: str, worst: float, metric: str = "fpd", reach: float = 1.0,
         solver: str = "consistency", steps: int = 3, w1m: float = 1.0, **options) -> dict:
    ratios = {"w1m": w1m, "w1p": 1.0, "w1efp": 1.0, "fpd": worst, "kpd": 0.5}
    return {"run": run, "type": jet_type, "protocol": "generated", "solver": solver,
            "steps": steps, "options": options, "pt_sum": "conserved",
            "worst_ratio": worst, "worst_metric": metric, "jets_per_second": 100.0 * steps,
            "times_simulator": float(steps), "efp_range": {"largest_reach": reach},
            "metrics": {k: {"ratio": v} for k, v in ratios.items()}}


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


def _floor_spread(tmp_path, name: str, worst: list[float], jets: int = 5000) -> str:
    draws = [{"draw": f"b.h5#{k}", "worst_ratio": w,
              "ratios": {"w1m": 1.2 + 0.1 * k, "w1p": 1.1, "w1efp": 1.0, "fpd": w, "kpd": None},
              "efp_range": {"largest_reach": 1.0}}
             for k, w in enumerate(worst)]
    result = {"jets": jets, "truth": "t.h5", "truth_floor": "f.h5", "metric_seed": 42,
              "metric_settings": SETTINGS, "draws": ["b.h5"],
              "types": {"t": {"draws": draws, "summary": summarise_draws(draws)}}}
    (tmp_path / f"{name}.json").write_text(json.dumps(result))
    return name


def test_settings_against_the_truths_own_spread(tmp_path):
    names = [_result(tmp_path, f"s{seed}", seed, [_row("student", "t", worst, w1m=w1m)])
             for seed, (worst, w1m) in enumerate([(3.0, 1.4), (2.5, 1.6), (1.9, 2.0)])]
    truth = _floor_spread(tmp_path, "truth", [8.0, 1.0, 2.0, 1.2])
    assert main(["--results", *names, "--floor-spread", truth, "--out-dir", str(tmp_path),
                 "--name", "spread"]) == 0
    result = json.loads((tmp_path / "spread.json").read_text())
    (row,) = result["rows"]
    # truth draws: median (1.2 + 2) / 2 = 1.6; one of four (8) at least the student's 2.5
    assert result["floor_spread"]["types"]["t"]["median"] == pytest.approx(1.6)
    assert row["of_truth"] == pytest.approx(2.5 / 1.6)
    assert row["truth_at_least"] == 0.25
    # Mann-Whitney, exact: of the C(7, 3) = 35 ways to rank 3 seeds among 7 values, those
    # whose U (pairs seed > truth draw) is at least the observed 3 + 3 + 2 = 8 (of 12)
    ranks = itertools.combinations(range(7), 3)
    u = [sum(r) - 3 for r in ranks]  # U = rank sum - n(n+1)/2 with ranks from 0
    assert row["p_worse"] == pytest.approx(sum(x >= 8 for x in u) / 35)
    # metric by metric: W1m's median 1.6 beyond the truth's largest 1.5 (1.2 + 0.1 * 3);
    # W1p, W1efp at 1.0 inside 1.1 and 1.0; FPD 2.5 inside 8; KPD has no truth value
    assert row["metric_medians"]["w1m"] == pytest.approx(1.6)
    assert row["beyond_truth"] == {"w1m": [pytest.approx(1.6), pytest.approx(1.5)]}
    said = (tmp_path / "spread.md").read_text()
    assert "| t | - | truth draws | - | 4 draws | 1.6 | 1–8 | 3/4 | - | 1 | - | - | - |" in said
    assert "| 2.5 | 1.9–3 | 1/3 | 300 (3) | 1.56 | 25 % | 0.31 | w1m 1.6 (1.5) |" in said
    assert (tmp_path / "spread.png").stat().st_size > 0


def test_the_within_column_counts_seeds_and_truth_draws_at_the_target(tmp_path):
    """--target sets the count of seeds (and truth draws) with every metric within it: at
    3 the student's worst 3.0, 2.5, 1.9 are all within and the truth's 8, 1, 2.5, 1.2 three
    of four; at the default 2 one seed and two draws."""
    names = [_result(tmp_path, f"s{seed}", seed, [_row("student", "t", worst)])
             for seed, worst in enumerate([3.0, 2.5, 1.9])]
    truth = _floor_spread(tmp_path, "truth", [8.0, 1.0, 2.5, 1.2])
    for target, seeds, draws in [("2", 1, 2), ("3", 3, 3)]:
        assert main(["--results", *names, "--floor-spread", truth, "--target", target,
                     "--out-dir", str(tmp_path), "--name", "spread"]) == 0
        (row,) = json.loads((tmp_path / "spread.json").read_text())["rows"]
        assert row["within"] == seeds
        said = (tmp_path / "spread.md").read_text()
        assert f"range | within {target}× | jets/s (×sim) |" in said
        assert f"| t | - | truth draws | - | 4 draws | 1.85 | 1–8 | {draws}/4 |" in said
        assert f"| 2.5 | 1.9–3 | {seeds}/3 | 300 (3) |" in said


@pytest.mark.parametrize("case", ["jets", "not_a_spread"])
def test_a_truth_spread_of_another_measurement_is_one_line(tmp_path, case):
    names = [_result(tmp_path, f"s{seed}", seed, [_row("student", "t", 2.0)])
             for seed in range(2)]
    truth = _floor_spread(tmp_path, "truth", [1.0, 2.0], jets=50000 if case == "jets" else 5000)
    if case == "not_a_spread":
        truth = names[0]
    with pytest.raises(SystemExit) as stop:
        main(["--results", *names, "--floor-spread", truth, "--out-dir", str(tmp_path),
              "--name", "spread"])
    message = str(stop.value.code)
    assert message.startswith("error: ") and "\n" not in message
    assert {"jets": "differ in jets", "not_a_spread": "not a result of"}[case] in message
    assert not (tmp_path / "spread.json").exists()


def test_single_seed_settings_against_the_truth_with_min_seeds_one(tmp_path):
    # one result per type, as the 50000-jet runs were made; left out unless --min-seeds 1
    top = _result(tmp_path, "top", 0, [_row("teacher", "t", 9.0)])
    gluon = _result(tmp_path, "gluon", 0, [_row("teacher", "g", 1.1)])
    truth = _floor_spread(tmp_path, "truth", [8.0, 1.0, 2.0, 1.2])
    argv = ["--results", top, gluon, "--floor-spread", truth, "--out-dir", str(tmp_path),
            "--name", "spread"]
    with pytest.raises(SystemExit) as stop:
        main(argv)
    assert "no setting of the results was measured at 2 seeds" in str(stop.value.code)
    assert main(argv + ["--min-seeds", "1"]) == 0
    rows = {r["type"]: r for r in json.loads((tmp_path / "spread.json").read_text())["rows"]}
    assert rows["t"]["worst"] == [9.0] and rows["t"]["median"] == 9.0
    # above all four truth draws: exact p = 1 / 5 (its rank among five exchangeable values)
    assert rows["t"]["p_worse"] == pytest.approx(0.2) and rows["t"]["truth_at_least"] == 0
    assert rows["t"]["beyond_truth"] == {"fpd": [9.0, 8.0]}  # W1m 1.0 inside the truth's 1.5
    assert "of_truth" not in rows["g"]  # the truth spread has no gluon jets


def test_a_reference_with_several_settings_is_taken_at_its_best(tmp_path):
    names = [_result(tmp_path, f"s{seed}", seed, [
        _row("teacher", "t", 1.8 + seed, solver="midpoint", steps=32),   # median 2.3
        _row("teacher", "t", 3.0 + seed, solver="midpoint", steps=16),   # median 3.5
        _row("student", "t", 4.6)]) for seed in range(2)]
    assert main(["--results", *names, "--reference", "teacher", "--out-dir", str(tmp_path),
                 "--name", "spread"]) == 0
    rows = {(r["run"], r["setting"]): r
            for r in json.loads((tmp_path / "spread.json").read_text())["rows"]}
    assert rows["student", "consistency:3"]["of_reference"] == pytest.approx(4.6 / 2.3)
    assert rows["teacher", "midpoint:16"]["of_reference"] == pytest.approx(3.5 / 2.3)
    assert "(of its best setting there)" in (tmp_path / "spread.md").read_text()


def _values(w1m: float, kpd: float, error: float = 0.1) -> dict:
    """Metric values (W1m and KPD as given, the others at 1) with their errors; KPD's error
    is 1e-5 (its floor sits at 0 within it, as between two truth samples)."""
    values = {"w1m": (w1m, error), "w1p": (1.0, error), "w1efp": (1.0, error),
              "fpd": (1.0, error), "kpd": (kpd, 1e-5)}
    return {k: {"value": v, "error": e} for k, (v, e) in values.items()}


def test_settings_against_the_mean_floor_with_a_verdict(tmp_path):
    """Closed forms: truth samples W1m 1.0, 1.2, 0.8, 1.0 (the floor first) ± 0.1: mean 1,
    scatter sqrt(0.08 / 3) above 0.1, so the mean's error is that over 2; seeds W1m 2.9,
    3.1, 3.0 ± 0.1: mean 3 ± 0.1 / sqrt 3. KPD: the truth's mean 0 is below one draw's error
    1e-5, which is then the scale: the seeds' 2e-5 ± 1e-5 / sqrt 3 read 2 ± 0.58. The
    others: truth and seeds all at 1 ± 0.1, no scatter, so their own errors count: 1 ±
    hypot(0.1 / sqrt 3, 0.1 / 2) = 1 ± 0.076."""
    truth_w1m, kpds = [1.0, 1.2, 0.8, 1.0], [0.0, 1e-6, -1e-6, 0.0]
    draws = [{"draw": f"b.h5#{k}", "worst_ratio": 1.0, "metrics": _values(w, kpd),
              "ratios": {"w1m": w, "w1p": 1.0, "w1efp": 1.0, "fpd": 1.0, "kpd": 0.0},
              "efp_range": {"largest_reach": 1.0}}
             for k, (w, kpd) in enumerate(zip(truth_w1m[1:], kpds[1:], strict=True))]
    spread = {"jets": 5000, "truth": "t.h5", "truth_floor": "f.h5", "metric_seed": 42,
              "metric_settings": SETTINGS, "draws": ["b.h5"],
              "types": {"t": {"floor": _values(truth_w1m[0], kpds[0]), "draws": draws,
                              "summary": summarise_draws(draws)}}}
    (tmp_path / "truth.json").write_text(json.dumps(spread))
    names = []
    for seed, w1m in enumerate([2.9, 3.1, 3.0]):
        row = _row("student", "t", 3.0, metric="w1m", w1m=3.0)
        row["metrics"] = {k: {**v, "ratio": v["value"]} for k, v in _values(w1m, 2e-5).items()}
        names.append(_result(tmp_path, f"s{seed}", seed, [row]))
    w1m_floor_error = np.sqrt(0.08 / 3) / 2
    w1m_error = np.hypot(0.1 / np.sqrt(3), 3.0 * w1m_floor_error)
    for target, verdict, metrics in [(2, "beyond", ["w1m"]), (3, "open", ["w1m"]),
                                     (4, "within", [])]:
        assert main(["--results", *names, "--floor-spread", "truth", "--target", str(target),
                     "--out-dir", str(tmp_path), "--name", "spread"]) == 0
        result = json.loads((tmp_path / "spread.json").read_text())
        floor = result["floor_spread"]["types"]["t"]["mean_floor"]
        assert floor["w1m"]["value"] == pytest.approx(1.0) and floor["w1m"]["n"] == 4
        assert floor["w1m"]["error"] == pytest.approx(w1m_floor_error, rel=1e-12)
        (row,) = result["rows"]
        ratios = row["of_mean_floor"]
        assert ratios["w1m"]["ratio"] == pytest.approx(3.0, rel=1e-12)
        assert ratios["w1m"]["error"] == pytest.approx(w1m_error, rel=1e-12)
        assert ratios["kpd"]["ratio"] == pytest.approx(2.0, rel=1e-9)
        assert ratios["kpd"]["error"] == pytest.approx(1 / np.sqrt(3), rel=1e-9)
        assert row["target_verdict"] == {"verdict": verdict, "metrics": metrics}
        said = (tmp_path / "spread.md").read_text()
        assert f"| within {target}× |" in said
        assert "| t | - | mean floor | - | 4 | 1 ± 0.082 |" in said
        assert ("| t | generated | student | consistency:3 | 3 | 3 ± 0.25 | 1 ± 0.076 | "
                f"1 ± 0.076 | 1 ± 0.076 | 2 ± 0.58 | {verdict}"
                + (" (W1m) |" if metrics else " |")) in said


def test_a_floor_spread_without_values_gives_no_mean_floor(tmp_path):
    names = [_result(tmp_path, f"s{seed}", seed, [_row("student", "t", 2.0)])
             for seed in range(2)]
    truth = _floor_spread(tmp_path, "truth", [1.0, 2.0])
    assert main(["--results", *names, "--floor-spread", truth, "--out-dir", str(tmp_path),
                 "--name", "spread"]) == 0
    (row,) = json.loads((tmp_path / "spread.json").read_text())["rows"]
    assert "of_mean_floor" not in row and "of_truth" in row
    assert "Against the mean floor" not in (tmp_path / "spread.md").read_text()


@pytest.mark.parametrize("target", ["0", "-3", "nan"])
def test_an_impossible_target_is_one_line(tmp_path, capsys, target):
    with pytest.raises(SystemExit) as stop:
        main(["--results", "a", "b", "--target", target, "--out-dir", str(tmp_path)])
    assert stop.value.code == 2
    assert "--target must be a positive ratio" in capsys.readouterr().err
