"""End-to-end event-generation report on synthetic Z+jets-like samples, and its plot."""

import json
import math

import numpy as np
import pytest

from lhcgen.data.events import ZJETS_OBJECTS, EventSample
from lhcgen.errors import LhcgenError
from lhcgen.evaluate.events.report import FLOOR_HALVES, FLOOR_TRAIN, evaluate_events, format_summary
from lhcgen.evaluate.figures import three_panel
from lhcgen.physics.fourvectors import from_pt_eta_phi_m
from lhcgen.physics.zjets_observables import zjets_observables

MUON_MASS = 0.10566


def synthetic_zjets(n: int, seed: int, mu1_pt_scale: float = 1.0) -> EventSample:
    """Two muons and 1-3 jets from random kinematics, sorted by pT, in the data contract."""
    rng = np.random.default_rng(seed)
    n_jets = rng.choice([1, 2, 3], size=n, p=[0.6, 0.3, 0.1])
    mu_pt = np.sort(20.0 + rng.exponential(25.0, (n, 2)), axis=1)[:, ::-1]
    mu_pt[:, 0] *= mu1_pt_scale
    jet_pt = np.sort(20.0 + rng.exponential(30.0, (n, 3)), axis=1)[:, ::-1]
    pt = np.concatenate([mu_pt, jet_pt], axis=1)
    eta = np.concatenate([rng.uniform(-2.5, 2.5, (n, 2)), rng.normal(0.0, 2.0, (n, 3))], axis=1)
    phi = rng.uniform(-np.pi, np.pi, (n, 5))
    mass = np.concatenate([np.full((n, 2), MUON_MASS), 5.0 + rng.exponential(5.0, (n, 3))],
                          axis=1)
    mask = np.arange(5) < 2 + n_jets[:, None]
    momenta = np.where(mask[..., None], from_pt_eta_phi_m(pt, eta, phi, mass), 0.0)
    return EventSample(momenta, mask, n_jets, np.ones(n),
                       {"object_names": list(ZJETS_OBJECTS), "n_fixed_objects": 2,
                        "process": "zjets"})


def by_name(names):
    return [obs for obs in zjets_observables() if obs.name in names]


@pytest.fixture(scope="module")
def same_distribution_report(tmp_path_factory):
    out = tmp_path_factory.mktemp("report")
    info = {"events_per_second": 5000.0, "nfe": 8, "n_invalid": np.int64(0),
            "batch_size": 1000, "undefined": float("nan")}
    metrics = evaluate_events(synthetic_zjets(20000, 1), synthetic_zjets(20000, 2), out,
                              truth_train=synthetic_zjets(20000, 3), info=info)
    return out, metrics


def test_report_writes_every_file_and_observable(same_distribution_report):
    out, metrics = same_distribution_report
    names = [obs.name for obs in zjets_observables()]
    on_disk = json.loads((out / "metrics.json").read_text())
    assert on_disk == metrics
    assert list(on_disk["observables"]) == names
    assert on_disk["floor"] == FLOOR_TRAIN
    for name in names:
        entry = on_disk["observables"][name]
        for key in ("chi2_ndf", "chi2_ndf_floor", "ratio", "w1", "w1_floor", "ndf"):
            assert isinstance(entry[key], (int, float)), (name, key)
        assert set(entry["n_events"]) == {"generated", "truth_test", "truth_train"}
        png = out / "plots" / f"{name}.png"
        assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    page = (out / "index.html").read_text()
    assert page.count("data:image/png;base64,") == len(names)
    assert "<style>" in page and "src=\"plots/" not in page
    assert not list(out.rglob("*.part"))


def test_json_has_no_nan_and_keeps_the_sampling_info(same_distribution_report):
    out, _ = same_distribution_report
    text = (out / "metrics.json").read_text()
    json.loads(text, parse_constant=lambda c: pytest.fail(f"{c} in metrics.json"))
    sampling = json.loads(text)["sampling"]
    assert sampling == {"events_per_second": 5000.0, "nfe": 8, "n_invalid": 0,
                        "batch_size": 1000, "undefined": None}


def test_same_distribution_gives_ratio_near_one(same_distribution_report):
    _, metrics = same_distribution_report
    summary = metrics["summary"]
    assert summary["n_evaluated"] == summary["n_observables"] == len(zjets_observables())
    assert 0.6 < summary["median_ratio"] < 1.6
    assert 0.7 < summary["median_chi2_ndf"] < 1.4
    for name, entry in metrics["observables"].items():
        if entry["ndf"] >= 20:
            assert entry["ratio"] < 4.0, name
    # the number of jets is generated identically: its W1 is at the floor's level
    assert metrics["observables"]["n_jets"]["w1"] < 0.05


def test_shifted_observable_stands_out_with_a_half_split_floor(tmp_path):
    observables = by_name({"pt_mu1", "eta_j1", "n_jets"})
    metrics = evaluate_events(synthetic_zjets(20000, 1, mu1_pt_scale=1.15),
                              synthetic_zjets(20000, 2), tmp_path, observables=observables,
                              seed=7)
    assert metrics["floor"] == FLOOR_HALVES
    entries = metrics["observables"]
    assert entries["pt_mu1"]["ratio"] > 10.0
    assert entries["eta_j1"]["ratio"] < 4.0
    n_half = entries["pt_mu1"]["n_events"]
    assert n_half["truth_test_half_a"] + n_half["truth_test_half_b"] == 20000
    assert metrics["summary"]["worst_observable"] == "pt_mu1"
    assert entries["pt_mu1"]["w1"] > 4.0  # 15% of a ~55 GeV mean
    # the half split is reproducible with the seed
    again = evaluate_events(synthetic_zjets(20000, 1, mu1_pt_scale=1.15),
                            synthetic_zjets(20000, 2), tmp_path / "again",
                            observables=observables, seed=7)
    assert again["observables"] == metrics["observables"]


def test_too_few_events_gives_null_figures_and_a_note(tmp_path):
    generated = synthetic_zjets(300, 1)
    generated = generated.subset(np.flatnonzero(generated.multiplicity < 3))
    metrics = evaluate_events(generated, synthetic_zjets(300, 2), tmp_path,
                              truth_train=synthetic_zjets(300, 3),
                              observables=by_name({"pt_j3", "pt_j1"}))
    entry = metrics["observables"]["pt_j3"]
    assert entry["chi2_ndf"] is None and entry["ratio"] is None and entry["plot"] is None
    assert "fewer than 10 events" in entry["note"] and "generated (0)" in entry["note"]
    assert metrics["observables"]["pt_j1"]["ratio"] is not None
    assert metrics["summary"]["n_evaluated"] == 1
    assert not (tmp_path / "plots" / "pt_j3.png").exists()


def test_non_finite_generated_values_are_counted_not_silently_dropped(tmp_path):
    generated = synthetic_zjets(2000, 1)
    generated.momenta[:7, 0, :] = np.nan
    generated.momenta[7:10, 0, 1] = np.inf
    metrics = evaluate_events(generated, synthetic_zjets(2000, 2), tmp_path,
                              observables=by_name({"pt_mu1", "eta_j1"}))
    entry = metrics["observables"]["pt_mu1"]
    assert entry["n_nonfinite"]["generated"] == 10
    assert entry["n_events"]["generated"] == 1990
    assert "10 generated value(s) NaN/inf" in entry["note"]
    assert metrics["observables"]["eta_j1"]["n_nonfinite"]["generated"] == 0
    assert metrics["samples"]["generated"]["n_nonfinite_events"] == 10
    assert metrics["summary"]["n_nonfinite_generated_events"] == 10
    assert "NaN/inf: 10" in format_summary(metrics)


def test_format_summary_lists_observables_and_rates(same_distribution_report):
    _, metrics = same_distribution_report
    text = format_summary(metrics, simulator_rate=91.0)
    lines = text.splitlines()
    assert lines[0].split() == ["observable", "chi2/ndf", "gen", "floor", "ratio"]
    for name in metrics["observables"]:
        assert any(line.startswith(name + " ") for line in lines)
    assert "5000 events/s" in text and "91 events/s" in text
    assert f"{5000.0 / 91.0:.3g}x" in text
    assert "events/s" not in format_summary({**metrics, "sampling": {}})


def test_mismatched_object_slots_raise(tmp_path):
    truth = synthetic_zjets(100, 2)
    generated = EventSample(truth.momenta[:, :4], truth.mask[:, :4], truth.multiplicity,
                            truth.weights)
    with pytest.raises(LhcgenError, match="object slots"):
        evaluate_events(generated, truth, tmp_path)


def test_three_panel_writes_a_png_and_leaks_no_figure(tmp_path):
    import matplotlib.pyplot as plt

    edges = np.linspace(0.0, 1.0, 11)
    density = np.ones(10)
    density[3] = 0.0  # an empty bin must not break ratios or delta
    curves = {"truth-train": (density, 0.1 * density), "truth-test": (np.ones(10),
                                                                      np.full(10, 0.1)),
              "generated": (1.1 * np.ones(10), np.full(10, 0.1))}
    before = len(plt.get_fignums())
    for i in range(3):
        three_panel(edges, curves, r"$\Delta R_{j_1 j_2}$", tmp_path / f"p{i}.png",
                    title="test")
    assert len(plt.get_fignums()) == before
    assert (tmp_path / "p2.png").read_bytes()[:4] == b"\x89PNG"
    with pytest.raises(LhcgenError, match="truth-test"):
        three_panel(edges, {"generated": curves["generated"]}, "x", tmp_path / "bad.png")
    assert not (tmp_path / "bad.png").exists()


def test_median_ratio_is_finite_number(same_distribution_report):
    _, metrics = same_distribution_report
    assert math.isfinite(metrics["summary"]["median_ratio"])
