"""The sampler grid of benchmarks/jets_time_fidelity.py: steps, options, and which model
takes which setting."""

from __future__ import annotations

import pytest
from benchmarks.jets_time_fidelity import label, model_grid, parse_grid


def test_grid_tokens_with_steps_and_options():
    grid = parse_grid("heun:4,8 euler:8@sigma_min=0.02@rho=5 dopri5")
    assert grid == [("heun", 4, {}), ("heun", 8, {}),
                    ("euler", 8, {"sigma_min": 0.02, "rho": 5.0}), ("dopri5", None, {})]


@pytest.mark.parametrize("spec,needle", [
    ("heun:0", "positive integers"), (":8", "no sampler name"),
    ("heun:8@sigma=1", "unknown sampler option 'sigma'"),
    ("heun:8@rho=x", "rho needs a number"), ("heun:8@rho=-1", ">= 0")])
def test_bad_grid_tokens(spec, needle):
    with pytest.raises(ValueError, match=needle):
        parse_grid(spec)


def test_options_go_to_edm_runs_only():
    grid = parse_grid("midpoint:8@sigma_min=0.02 midpoint:4 heun_dp:8")
    kept, skipped = model_grid("edm", grid, quick=False)
    assert kept == grid
    kept, skipped = model_grid("cfm", grid, quick=False)
    assert kept == [("midpoint", 4, {})] and skipped == ["heun_dp", "midpoint@options"]
    kept, _ = model_grid("consistency", grid, quick=False)
    assert kept == [("consistency", s, {}) for s in (1, 2, 3)]


def test_labels_name_the_options():
    row = {"run": "jets_edm", "solver": "heun", "steps": 8,
           "options": {"sigma_min": 0.02}, "s_churn": None}
    assert label(row) == "jets_edm heun 8 (σ_min 0.02)"
    assert label({"run": "r", "solver": "stochastic", "steps": 16, "s_churn": 5.0}) == \
        "r stochastic 16 (S_churn 5)"
    grid = parse_grid("stochastic:16@s_churn=5@s_tmin=0.05@s_tmax=50")
    assert grid == [("stochastic", 16, {"s_churn": 5.0, "s_tmin": 0.05, "s_tmax": 50.0})]
    assert label({"run": "r", "solver": "stochastic", "steps": 16, "options": grid[0][2]}) \
        == "r stochastic 16 (S_churn 5, S_tmax 50, S_tmin 0.05)"
