"""The sampler grid of benchmarks/jets_time_fidelity.py: steps, options, and which model
takes which setting."""

from __future__ import annotations

from types import SimpleNamespace

import pytest
from benchmarks.jets_time_fidelity import (
    _cost_table,
    _speed_on,
    _where,
    evaluate_setting,
    label,
    model_grid,
    network_label,
    parse_grid,
    render,
    run_facts,
)


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


def test_renoise_options_go_to_consistency_runs_only():
    grid = parse_grid("consistency:2@sigma_1=0.5 consistency:3@sigma_1=2@sigma_2=0.5 "
                      "midpoint:8@sigma_min=0.02")
    kept, skipped = model_grid("consistency", grid, quick=False)
    assert kept == grid[:2] and skipped == ["midpoint"]
    kept, skipped = model_grid("edm", grid, quick=False)
    assert kept == grid[2:] and skipped == ["consistency"]
    row = {"run": "cd", "solver": "consistency", "steps": 3, "options": grid[1][2]}
    assert label(row) == "cd consistency 3 (σ_1 2, σ_2 0.5)"


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


class _Stop(Exception):
    pass


class _RecordingSurrogate:
    """Records where ``generate`` was told to take the conditions from, then stops."""

    def generate(self, n, jet_type, condition_from, *args, **kwargs):
        self.condition_from = condition_from
        raise _Stop


@pytest.mark.parametrize("protocol,expected", [
    ("file", "truth.h5"), ("independent", "floor.h5"), ("generated", None)])
def test_protocols_take_the_conditions_from_their_file(protocol, expected):
    """file: the truth compared with (published); independent: the floor's other truth
    jets; generated: the conditions model (no file)."""
    surrogate = _RecordingSurrogate()
    ctx = {"args": SimpleNamespace(s_churn=5.0, batch_size=None, seed=0, pt_sum="conserved",
                                   jet_mass="bounded"),
           "n": 10, "truth_path": "truth.h5", "floor_path": "floor.h5"}
    with pytest.raises(_Stop):
        evaluate_setting(surrogate, {}, "t", protocol, "midpoint", 8, {}, ctx)
    assert surrogate.condition_from == expected


def _row(protocol, worst, rate):
    return {"run": "r", "solver": "midpoint", "steps": 8, "type": "t", "protocol": protocol,
            "worst_ratio": worst, "jets_per_second": rate, "options": {}}


def test_cost_table_divides_each_protocol_by_the_published_one():
    result = {"types": {"t": {}}, "protocols": ["file", "independent", "generated"],
              "rows": [_row("file", 2.0, 100.0), _row("independent", 3.0, 100.0),
                       _row("generated", 5.0, 80.0)]}
    lines = _cost_table(result)
    assert lines[1].endswith("(independent / file, generated / file, same setting)")
    assert lines[-1] == "| t | r midpoint 8 | 2 | 3 | 1.5 | 5 | 2.5 | 100 | 100 | 1 | 80 | 0.8 |"
    assert all(line.count("|") == lines[-1].count("|") for line in lines[3:])
    result["protocols"] = ["file", "generated"]
    result["rows"] = result["rows"][::2]
    lines = _cost_table(result)
    assert lines[1] == "## Cost of generating the conditions (generated / file, same setting)"
    assert lines[-1] == "| t | r midpoint 8 | 2 | 5 | 2.5 | 100 | 80 | 0.8 |"
    result["rows"] = result["rows"][:1]  # no generated row to pair with
    lines = _cost_table(result)
    assert "no setting ran in both protocols" in lines[-1]
    assert lines[-1].count("|") == lines[-2].count("|")  # as many cells as the header
    for ran in (["generated"], ["file"]):  # nothing to divide by, or nothing to divide
        assert _cost_table({**result, "protocols": ran}) == []


def _surrogate(metrics: dict, **model) -> SimpleNamespace:
    from pathlib import Path

    from lhcgen.models.config import ModelConfig

    return SimpleNamespace(run_facts=lambda: metrics, run_dir=Path("runs/x"),
                           cfg=SimpleNamespace(model=ModelConfig(**{"name": "edm", "net": "cae",
                                                                    **model})),
                           model=None, types=["t", "w"], conditions_model=object())


def test_the_tables_name_a_transformer_with_pair_biases():
    """The net column tells the pair-bias transformer from the plain one (their runs share
    model and net, and the frontier plot gives each model/net its own marker)."""
    assert run_facts("x", _surrogate({"parameters": 10}))["net"] == "cae"
    plain = _surrogate({"parameters": 10}, net="transformer")
    paired = _surrogate({"parameters": 10}, net="transformer", pair_bias=True)
    assert run_facts("x", plain)["net"] == network_label(plain.cfg.model) == "transformer"
    assert run_facts("x", paired)["net"] == "transformer + pair biases"


def test_a_run_that_started_from_another_is_charged_the_whole_chain():
    """Training time and epochs of a warm-restarted run (training.init_from) are the chain's:
    the first run's network and conditions model, then this run's."""
    own = {"parameters": 10, "training_seconds": 100.0, "epochs": 10,
           "conditions": {"parameters": 5, "training_seconds": 20.0}}
    facts = run_facts("x", _surrogate(own))
    assert facts["total_training_seconds"] == 120.0 and facts["epochs"] == 10
    assert facts["started_from"] == []
    chained = own | {"init_from": {"run": "runs/a", "history": {
        "runs": ["runs/a"], "steps": 900, "epochs": 14, "training_seconds": 4000.0}}}
    facts = run_facts("x", _surrogate(chained))
    assert facts["total_training_seconds"] == 4120.0
    assert facts["epochs"] == "14 + 10" and facts["started_from"] == ["runs/a"]


def test_a_run_that_drew_rare_conditions_more_often_says_so():
    """training.rare_boost's facts travel from metrics.json to the Runs section; a result
    without them renders as before (the committed tables re-render byte for byte)."""
    import json
    from pathlib import Path

    rare = {"boost": 8.0, "condition": "m/pT", "bins": 50, "boosted_events": 8725,
            "events": 225625, "boosted_share_of_draws": 0.08217}
    own = {"parameters": 10, "training_seconds": 100.0, "epochs": 6, "rare_draws": rare}
    assert run_facts("x", _surrogate(own))["rare_draws"] == rare
    assert "rare_draws" not in run_facts("x", _surrogate({"parameters": 10}))

    stem = Path(__file__).parents[1] / "benchmarks/results/jets_time_fidelity_types_34"
    result = json.loads(stem.with_suffix(".json").read_text())
    assert render(result) == stem.with_suffix(".md").read_text()
    result["runs"][0]["rare_draws"] = rare
    lines = [line for line in render(result).splitlines() if "rare_boost" in line]
    assert lines == ["Runs that drew the jets of rare conditions more often "
                     "(`training.rare_boost`, in their own epochs only): jets_edm_all_ft2 (up "
                     "to 8x, m/pT: 8725 of 225625 training jets, 8.2 % of the draws)."]


def test_the_speed_axis_and_header_name_the_device_the_jets_were_made_on():
    cpu = {"device": "cpu", "threads": 2, "machine": {"cpu": "AMD EPYC"}}
    gpu = {"device": "cuda", "threads": 1, "tf32": False,
           "machine": {"cpu": "Xeon", "gpu": "NVIDIA H200"}}
    assert _speed_on(cpu) == "2 thread(s)"
    assert _speed_on(gpu) == "NVIDIA H200"
    assert _where(cpu) == "the CPU with 2 torch thread(s)"
    assert _where(gpu) == "the GPU (NVIDIA H200, fp32, TF32 off)"


def _committed(script: str) -> list:
    """The committed results of benchmarks/``script`` (their tables name its command)."""
    from pathlib import Path

    results = Path(__file__).parents[1] / "benchmarks/results"
    return sorted(md.with_suffix("") for md in results.glob("*.md")
                  if f"Command: `python benchmarks/{script} " in md.read_text())


def test_every_committed_table_is_what_the_renderer_makes_of_its_json():
    """`--render-only` must reproduce each committed time-fidelity table byte for byte:
    a table that says what its run did not do (a protocol it never ran, a cost section
    with nothing to divide) is a defect of the renderer, not of the result."""
    import json

    stems = _committed("jets_time_fidelity.py")
    assert len(stems) >= 50
    for stem in stems:
        result = json.loads(stem.with_suffix(".json").read_text())
        assert render(result) == stem.with_suffix(".md").read_text(), stem.name
        ran = set(result["protocols"])
        for protocol in {"file", "independent", "generated"} - ran:
            assert f"**{protocol}**" not in render(result), stem.name
