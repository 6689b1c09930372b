"""benchmarks/jets_mass_response.py: the per-jet mass response against closed forms."""

import dataclasses
import json
import sys

import numpy as np
import pytest
from benchmarks.jets_mass_response import (
    DECILES,
    _decile_tables,
    decile_response,
    histogram_edges,
    main,
    mass_response,
    matched_truth,
    radial_response,
    render,
    sampler_label,
    truth_spread,
)
from benchmarks.jets_prong_response import prong_edges, prong_response, prong_tables

from lhcgen.data.jet_hdf5 import write_jets
from lhcgen.data.jets import JetCloudSample
from lhcgen.errors import LhcgenError
from lhcgen.physics.particle_cloud import relative_cloud_pt
from tests.test_jets_data import toy_jets


def _truth() -> JetCloudSample:
    """Top jets then gluon jets, every other jet keeping all its constituents."""
    sample = JetCloudSample.concatenate([toy_jets(200, jet_type=2, seed=3),
                                         toy_jets(200, jet_type=0, seed=4)])
    stored = sample.mask.sum(axis=1)
    complete = np.arange(len(sample)) % 2 == 0
    return dataclasses.replace(sample, n_constituents=np.where(complete, stored, stored + 7))


def _generated(truth: JetCloudSample, angle_scale: float) -> JetCloudSample:
    """The truth's conditions in the order --condition-from takes them (per type, the first
    jets of that type), constituents spread by ``angle_scale`` in eta and phi."""
    tops = truth.subset(truth.jet_type == 2).subset(slice(0, 120))
    particles = tops.particles.copy()
    particles[..., :2] *= angle_scale
    return dataclasses.replace(tops, particles=particles)


def test_the_truth_against_itself_responds_exactly_one():
    truth = _truth()
    generated = _generated(truth, 1.0)
    result = mass_response(generated, matched_truth(generated, truth), seed=0)
    assert set(result) == {"t"}
    assert set(result["t"]) == {"complete", "truncated", "central m_jet", "all"}
    assert result["t"]["all"]["jets"] == 120 and result["t"]["complete"]["jets"] == 60
    assert result["t"]["central m_jet"]["jets"] == 60  # between the 25 % and 75 % quantiles
    for r in result["t"].values():
        assert r["ratio_quantiles"] == [1.0, 1.0, 1.0]
        assert r["median_shift"] == 0.0 and r["median_shift_error"] == 0.0
        assert r["w1_relative_mass"] == 0.0
        assert r["truth_mass_fraction_quantiles"] == r["generated_mass_fraction_quantiles"]


def test_wider_constituents_make_heavier_jets_in_proportion():
    """Small angles: m/pT = sqrt(sum z_i z_j dR_ij^2) grows with the angles, so 2 % wider
    constituents make every jet 2 % heavier, and the median of m / m_jet 2 % higher."""
    truth = _truth()
    wide = _generated(truth, 1.02)
    r = mass_response(wide, matched_truth(wide, truth), seed=0)["t"]["all"]
    np.testing.assert_allclose(r["ratio_quantiles"], 1.02, rtol=2e-3)
    median = r["truth_mass_fraction_quantiles"][1]
    assert r["median_shift"] == pytest.approx(0.02 * median, rel=0.05)
    assert r["median_shift"] > 5 * r["median_shift_error"]


def test_a_shift_confined_to_the_mass_peak_shows_in_the_central_group():
    """Only the jets of the central half of m_jet made 3 % lighter (a peak a generator
    smears): the central group's median shifts by about 3 % of its median, while the
    jets outside it keep the truth's masses exactly."""
    truth = _truth()
    generated = _generated(truth, 1.0)
    m_jet = generated.jets[:, 2]
    low, high = np.quantile(m_jet, (0.25, 0.75))
    central = (m_jet >= low) & (m_jet <= high)
    particles = generated.particles.copy()
    particles[central, :, :2] *= 0.97
    matched = matched_truth(generated, truth)
    r = mass_response(dataclasses.replace(generated, particles=particles), matched,
                      seed=0)["t"]
    median = r["central m_jet"]["truth_mass_fraction_quantiles"][1]
    assert r["central m_jet"]["median_shift"] == pytest.approx(-0.03 * median, rel=0.05)
    np.testing.assert_allclose(r["central m_jet"]["ratio_quantiles"], 0.97, rtol=2e-3)
    assert r["all"]["ratio_quantiles"][2] == pytest.approx(1.0)  # the rest untouched
    deciles = decile_response(dataclasses.replace(generated, particles=particles), matched,
                              seed=0)["t"]
    assert len(deciles) == DECILES and sum(d["jets"] for d in deciles) == 120
    m_jets = [d["m_jet_median"] for d in deciles]
    assert m_jets == sorted(m_jets)
    for d in deciles[:2] + deciles[-2:]:  # outside the central half: untouched
        assert d["median_shift"] == 0.0
    for d in deciles[3:7]:  # inside it: 3 % lighter
        assert d["median_shift"] == pytest.approx(-0.03 * d["truth_median"], rel=0.05)


def test_jets_whose_constituents_outweigh_the_jet_are_counted_by_decile():
    """Pythia's stored constituents are part of the jet: the pT of their sum is the jet's or
    (truncated jets) rarely above it. Truth jets whose constituents sum to 0.95 of the jet pT
    count none; generated jets of the two lightest deciles given 1.2 count there, 12 per
    decile, and nowhere else; those of the third brought to exactly the jet pT and stored in
    float32 (as `lhcgen sample` writes a jet that keeps every constituent) do not."""
    truth = _truth()
    particles = truth.particles.copy()
    particles[..., 2] *= (0.95 / relative_cloud_pt(truth.particles, truth.mask))[:, None]
    truth = dataclasses.replace(truth, particles=particles)
    generated = _generated(truth, 1.0)
    m_jet = generated.jets[:, 2]
    light = m_jet < np.quantile(m_jet, 0.2)
    assert light.sum() == 24
    particles = generated.particles.copy()
    particles[light, :, 2] *= 1.2 / 0.95
    third = (m_jet >= np.quantile(m_jet, 0.2)) & (m_jet < np.quantile(m_jet, 0.3))
    particles[third, :, 2] /= 0.95
    particles = particles.astype(np.float32).astype(np.float64)
    assert (relative_cloud_pt(particles, generated.mask)[third] > 1.0).any()  # the rounding
    beyond = relative_cloud_pt(particles, generated.mask)
    np.testing.assert_allclose(beyond[light], 1.2, rtol=1e-6)
    deciles = decile_response(dataclasses.replace(generated, particles=particles),
                              matched_truth(generated, truth), seed=0)["t"]
    assert [d["generated_pt_beyond"] for d in deciles] == [12, 12] + [0] * 8
    assert [d["truth_pt_beyond"] for d in deciles] == [0] * 10


def test_jets_heavier_than_the_jet_are_counted_by_decile():
    """Truth jets whose constituents make 0.97 of the jet mass count none; generated jets of
    the two lightest deciles spread 1.2x in angle (about 1.16 of the jet mass) count there,
    12 per decile, and nowhere else; those of the third spread alike but brought to the jet
    mass by ``bound_cloud_mass`` and stored in float32 do not. (One-particle jets, massless
    up to rounding, are left out.)"""
    from lhcgen.physics.particle_cloud import bound_cloud_mass, relative_jet_mass

    truth = _truth()
    truth = truth.subset(truth.mask.sum(axis=1) >= 2)
    jets = truth.jets.copy()
    jets[:, 2] = relative_jet_mass(truth.particles, truth.mask) * jets[:, 0] / 0.97
    truth = dataclasses.replace(truth, jets=jets)
    generated = _generated(truth, 1.0)
    m_jet = generated.jets[:, 2]
    light = m_jet < np.quantile(m_jet, 0.2)
    third = (m_jet >= np.quantile(m_jet, 0.2)) & (m_jet < np.quantile(m_jet, 0.3))
    particles = generated.particles.copy()
    particles[light | third, :, :2] *= 1.2
    bounded, scale = bound_cloud_mass(particles, generated.mask,
                                      generated.jets[:, 2] / generated.jets[:, 0])
    particles[third] = bounded[third]
    assert np.all(scale[third] < 1)
    particles = particles.astype(np.float32).astype(np.float64)
    deciles = decile_response(dataclasses.replace(generated, particles=particles),
                              matched_truth(generated, truth), seed=0)["t"]
    assert [d["generated_heavier"] for d in deciles] == [12, 12] + [0] * 8
    assert [d["truth_heavier"] for d in deciles] == [0] * 10
    page = "\n".join(_decile_tables({"samples": [{"deciles": {"t": deciles}, "sampler": "s",
                                                   "file": "f.h5"}]}, False))
    assert "taken massless, are heavier than the jet" in page
    assert "| 12 | 12 | 0 | 0 | 0 | 0 | 0 | 0 | 0 | 0 | 24 |" in page


def test_several_generated_files_make_one_table_labelled_by_sampler(tmp_path, monkeypatch):
    truth = _truth()
    write_jets(tmp_path / "truth.h5", truth)
    exact, wide = _generated(truth, 1.0), _generated(truth, 1.02)
    exact.attrs.update(sampling_solver="midpoint", sampling_steps=32)
    wide.attrs.update(sampling_solver="stochastic", sampling_steps=32, sampling_s_churn=5.0)
    write_jets(tmp_path / "exact.h5", exact)
    write_jets(tmp_path / "wide.h5", wide)
    assert sampler_label(wide.attrs) == "stochastic, 32 steps, s_churn 5"
    guided = {"sampling_solver": "midpoint", "sampling_steps": 16, "sampling_guidance": 2.0}
    assert sampler_label(guided) == "midpoint, 16 steps, guidance 2"
    assert sampler_label(guided | {"sampling_jet_mass": "bounded"}) == \
        "midpoint, 16 steps, guidance 2, m ≤ m_jet"
    assert sampler_label(guided | {"sampling_jet_mass": "raw"}) == "midpoint, 16 steps, guidance 2"
    assert sampler_label(guided | {"sampling_guidance_sigma_low": 1.0}) == \
        "midpoint, 16 steps, guidance 2, at σ in (1, inf]"
    assert sampler_label(guided | {"sampling_guidance_sigma_low": 0.0,
                                   "sampling_guidance_sigma_high": 1.0}) == \
        "midpoint, 16 steps, guidance 2, at σ in (0, 1]"
    monkeypatch.setattr(sys, "argv", ["jets_mass_response.py", "--generated",
                                      str(tmp_path / "exact.h5"), str(tmp_path / "wide.h5"),
                                      "--truth", str(tmp_path / "truth.h5"),
                                      "--truth-2", str(tmp_path / "truth.h5"),
                                      "--out-dir", str(tmp_path), "--name", "both"])
    main()
    result = json.loads((tmp_path / "both.json").read_text())
    assert result["truth_spread"]["t"]["all"]["ratio_quantiles"] == [1.0, 1.0, 1.0]
    assert all(d["median_shift"] == 0.0 for d in result["samples"][0]["deciles"]["t"])
    assert [s["sampler"] for s in result["samples"]] == ["midpoint, 32 steps",
                                                         "stochastic, 32 steps, s_churn 5"]
    assert result["samples"][0]["types"]["t"]["all"]["median_shift"] == 0.0
    assert result["samples"][1]["types"]["t"]["all"]["median_shift"] > 0
    md = (tmp_path / "both.md").read_text()
    assert md == render(result)
    assert md.count("| stochastic, 32 steps, s_churn 5 | t |") == 4  # one row per group
    assert "3 exclusive-kT prongs" in md
    assert md.count("| midpoint, 32 steps: gen / truth | 1.000 ± 0.000 |") == 1
    assert "carry more transverse momentum than the jet" in md
    for name in ("separation_min", "width"):
        assert (tmp_path / f"both_prong_{name}.png").stat().st_size > 10_000


def test_the_histograms_count_every_jet_and_follow_wider_jets():
    """The truth against itself: the same counts, as many as the jets with a mass; the
    truth's own neighbours in the same file are the jets themselves, so their histogram is
    the truth's too. 2 % wider constituents move the histogram's mean up by 2 %."""
    truth = _truth()
    generated = _generated(truth, 1.0)
    matched = matched_truth(generated, truth)
    edges = histogram_edges(matched)
    assert set(edges) == {"t"} and len(edges["t"]) == 41
    same = mass_response(generated, matched, seed=0, edges=edges)["t"]
    assert same["all"]["generated_histogram"] == same["all"]["truth_histogram"]
    assert sum(same["all"]["truth_histogram"]) == 120 - same["all"]["massless_skipped"]
    assert "truth_histogram" not in same["central m_jet"]  # the group "all" only
    spread = truth_spread(generated, generated, edges)["t"]["all"]
    assert spread["histogram"] == same["all"]["truth_histogram"]
    wide = mass_response(_generated(truth, 1.02), matched, seed=0, edges=edges)["t"]["all"]
    centres = np.convolve(edges["t"], [0.5, 0.5], mode="valid")

    def mean(counts: list[int]) -> float:
        return float(np.average(centres, weights=counts))

    bin_width = edges["t"][1] - edges["t"][0]
    assert mean(wide["generated_histogram"]) == pytest.approx(
        1.02 * mean(wide["truth_histogram"]), abs=bin_width / 2)
    assert mean(wide["generated_histogram"]) > mean(wide["truth_histogram"])


def test_samples_of_several_runs_are_labelled_by_run_and_epochs_and_plotted(
        tmp_path, monkeypatch):
    """A run fine-tuned for 51 epochs from one of 10 is labelled with the chain's 61; a run
    whose metrics.json is gone with '-'; one PNG per type, redrawn by --render-only."""
    truth = _truth()
    write_jets(tmp_path / "truth.h5", truth)
    first, tuned, gone = (tmp_path / name for name in ("first", "tuned", "gone"))
    first.mkdir()
    tuned.mkdir()
    (first / "metrics.json").write_text(json.dumps({"epochs": 10}))
    (tuned / "metrics.json").write_text(json.dumps(
        {"epochs": 51, "init_from": {"history": {"epochs": 10, "runs": [str(first)]}}}))
    files = []
    for run, scale in ((first, 0.98), (tuned, 1.0), (gone, 1.0)):
        sample = _generated(truth, scale)
        sample.attrs.update(sampling_solver="midpoint", sampling_steps=32, run_dir=str(run))
        files.append(str(tmp_path / f"{run.name}.h5"))
        write_jets(files[-1], sample)
    monkeypatch.setattr(sys, "argv", ["jets_mass_response.py", "--generated", *files,
                                      "--truth", str(tmp_path / "truth.h5"),
                                      "--out-dir", str(tmp_path), "--name", "runs"])
    main()
    result = json.loads((tmp_path / "runs.json").read_text())
    assert [(s["run"], s["epochs"]) for s in result["samples"]] == [
        ("first", 10), ("tuned", 61), ("gone", None)]
    md = (tmp_path / "runs.md").read_text()
    assert md == render(result)
    assert "| run (epochs), sampler | type |" in md
    assert md.count("| first (10 epochs), midpoint, 32 steps | t |") == 4
    assert md.count("| gone (- epochs), midpoint, 32 steps | t |") == 4
    assert "| first (10 epochs), midpoint, 32 steps | -" in md  # 2 % lighter: every decile
    png, deciles_png = tmp_path / "runs.png", tmp_path / "runs_deciles.png"  # one type
    assert png.stat().st_size > 10_000 and deciles_png.stat().st_size > 10_000
    assert (tmp_path / "runs_radial.png").stat().st_size > 10_000
    assert "| tuned (61 epochs), midpoint, 32 steps: pT gen / truth | 1.000 ± 0.000 |" in md
    assert "| tuned (61 epochs), midpoint, 32 steps: m / m_jet shift (sum +0.0) | +0.0 |" in md
    png.unlink()
    monkeypatch.setattr(sys, "argv", ["jets_mass_response.py", "--render-only",
                                      "--out-dir", str(tmp_path), "--name", "runs"])
    main()
    assert png.is_file() and (tmp_path / "runs.md").read_text() == md


def test_the_truth_spread_is_one_against_itself_and_follows_wider_jets():
    """A second truth file holding the same jets: every nearest neighbour is the jet itself
    (distance 0, ratio 1); the same jets 2 % wider: ratio 1.02 for every jet."""
    truth = _generated(_truth(), 1.0)
    same = truth_spread(truth, truth)["t"]
    assert set(same) == {"complete", "truncated", "central m_jet", "all"}
    for r in same.values():
        assert r["ratio_quantiles"] == [1.0, 1.0, 1.0] and r["median_distance"] == 0.0
    wider = truth_spread(truth, _generated(_truth(), 1.02))["t"]["all"]
    np.testing.assert_allclose(wider["ratio_quantiles"], 1.02, rtol=2e-3)
    with pytest.raises(LhcgenError, match="holds no t jets"):
        truth_spread(truth, _truth().subset(_truth().jet_type == 0))
    fewer = dataclasses.replace(truth, particles=truth.particles[:, :10],
                                mask=truth.mask[:, :10])
    with pytest.raises(LhcgenError, match="stores 10 particles per jet, the truth"):
        truth_spread(truth, fewer)


def test_jets_not_conditioned_on_the_file_are_refused_in_one_line(tmp_path, monkeypatch):
    truth = _truth()
    shuffled = _generated(truth, 1.0).subset(np.arange(120)[::-1])
    with pytest.raises(LhcgenError, match="did not take their conditions from this truth"):
        matched_truth(shuffled, truth)
    write_jets(tmp_path / "truth.h5", truth)
    write_jets(tmp_path / "gen.h5", shuffled)
    monkeypatch.setattr(sys, "argv", ["jets_mass_response.py", "--generated",
                                      str(tmp_path / "gen.h5"), "--truth",
                                      str(tmp_path / "truth.h5"), "--out-dir", str(tmp_path)])
    with pytest.raises(SystemExit, match="^error: the generated jets did not take"):
        main()
    assert not (tmp_path / "jets_mass_response.json").exists()  # nothing half-written


def test_the_committed_tables_re_render_byte_for_byte():
    from pathlib import Path

    results = Path(__file__).parents[1] / "benchmarks/results"
    stems = sorted(p.with_suffix("") for p in results.glob("jets_mass_response*.json"))
    assert len(stems) >= 2
    for stem in stems:
        assert render(json.loads(stem.with_suffix(".json").read_text())) \
            == stem.with_suffix(".md").read_text(), stem.name


def test_the_radial_profile_finds_the_ring_that_lost_its_pt():
    """The truth against itself: every ratio 1 and no shift. The constituents at
    0.1 <= Delta R < 0.15 made 10 % softer: that ring's pT ratio is 0.9 exactly, every
    other ring's 1, the constituent counts unchanged; scaling the truth's ring by 0.9 is
    exactly what was done, so its first-order shift is the whole shift of the median."""
    truth = _truth()
    generated = _generated(truth, 1.0)
    matched = matched_truth(generated, truth)
    same = radial_response(generated, matched, seed=0)["t"]
    assert [r["low"] for r in same][:4] == [0.0, 0.02, 0.05, 0.1] and same[-1]["high"] is None
    for r in same:
        if r["truth_constituents"] > 0:
            assert r["pt_ratio"] == 1.0 and r["pt_ratio_error"] == 0.0
            assert r["constituent_ratio"] == 1.0 and r["mass_shift"] == 0.0
    r = np.hypot(generated.particles[..., 0], generated.particles[..., 1])
    ring = (r >= 0.1) & (r < 0.15) & generated.mask
    particles = generated.particles.copy()
    particles[..., 2] = np.where(ring, 0.9 * particles[..., 2], particles[..., 2])
    softer = dataclasses.replace(generated, particles=particles)
    rows = radial_response(softer, matched, seed=0)["t"]
    for row in rows:
        if row["truth_constituents"] == 0:
            continue
        assert row["constituent_ratio"] == 1.0
        assert row["pt_ratio"] == pytest.approx(0.9 if row["low"] == 0.1 else 1.0, abs=1e-12)
    whole = mass_response(softer, matched, seed=0)["t"]["all"]["median_shift"]
    assert whole < 0
    assert rows[3]["mass_shift"] == pytest.approx(whole, abs=1e-12)
    assert all(row["mass_shift"] == 0.0 for row in rows if row["low"] != 0.1
               and row["truth_constituents"] > 0)


def test_the_prongs_are_one_against_the_truth_and_follow_narrower_jets():
    """The truth against itself: every ratio 1 with no error, the same histograms. Angles
    made 10 % smaller: kT clusters the same constituents (its distances scale together), so
    the prongs' separations shrink by 0.9 exactly, their widths by about 0.9 and every
    m^2 term by about 0.81; the jets with fewer than three constituents are counted apart."""
    truth = _truth()
    generated = _generated(truth, 1.0)
    matched = matched_truth(generated, truth)
    edges = prong_edges(matched)
    same = prong_response(generated, matched, 0, edges)["t"]
    few = int((generated.mask.sum(axis=1) < 3).sum())
    assert same["prongs"] == 3 and few > 0
    assert same["without_prongs"] == few and same["jets"] == len(generated) - few
    for r in same["observables"].values():
        assert r["ratio"] == 1.0 and r["ratio_error"] == 0.0
    for counts in same["histograms"].values():
        assert counts["truth"] == counts["generated"] and sum(counts["truth"]) == same["jets"]
    narrow = prong_response(_generated(truth, 0.9), matched, 0, edges)["t"]["observables"]
    for name in ("separation_min", "separation_max"):
        assert narrow[name]["ratio"] == pytest.approx(0.9, rel=1e-12)
    assert narrow["softest_share"]["ratio"] == pytest.approx(1.0, abs=2e-3)
    assert narrow["width"]["ratio"] == pytest.approx(0.9, rel=5e-3)
    for name in ("within", "between"):
        assert narrow[name]["ratio"] == pytest.approx(0.81, rel=5e-3)
        assert narrow[name]["ratio_error"] > 0


def test_close_prongs_count_the_jets_below_the_truths_lower_quartile():
    """Against itself the generated share is the truth's (a quarter, up to ties); with angles
    made 10 % smaller every separation is 0.9 of its truth's, so the share below the truth's
    quartile q is exactly the truth's share below q / 0.9."""
    from lhcgen.physics.prongs import prong_observables

    truth = _truth()
    generated = _generated(truth, 1.0)
    matched = matched_truth(generated, truth)
    edges = prong_edges(matched)
    same_response = prong_response(generated, matched, 0, edges)
    narrow_response = prong_response(_generated(truth, 0.9), matched, 0, edges)
    same = same_response["t"]["close_prongs"]
    separations = prong_observables(matched.particles, matched.mask, 3)["separation_min"]
    separations = separations[np.isfinite(separations)]
    assert same["threshold"] == pytest.approx(np.quantile(separations, 0.25), rel=1e-12)
    assert same["generated_share"] == same["truth_share"] == pytest.approx(0.25, abs=0.01)
    assert 0 < same["error"] < 0.1
    narrow = narrow_response["t"]["close_prongs"]
    assert narrow["threshold"] == same["threshold"]
    expected = (separations < same["threshold"] / 0.9).mean()
    assert narrow["generated_share"] == pytest.approx(expected, abs=1e-12)
    assert narrow["generated_share"] > same["truth_share"] + 0.05
    table = "\n".join(prong_tables([same_response, narrow_response], ["same", "narrow"]))
    assert f"same {same['generated_share']:.3f} ± {same['error']:.3f}" in table
    assert f"narrow {narrow['generated_share']:.3f} ± {narrow['error']:.3f}" in table
    del same_response["t"]["close_prongs"]  # a result kept before the share existed
    assert "Close prongs" not in "\n".join(prong_tables([same_response], ["old"]))


def test_the_prong_table_shows_one_separation_for_two_prongs():
    """Gluon jets have two prongs, one pair: one separation column; top jets three."""
    truth = _truth()
    gluons = truth.subset(truth.jet_type == 0)
    tables = {}
    for letter, sample in (("g", gluons), ("t", _generated(truth, 1.0))):
        matched = matched_truth(sample, truth)
        response = prong_response(sample, matched, 0, prong_edges(matched))
        assert response[letter]["observables"]["separation_min"]["ratio"] == 1.0
        tables[letter] = "\n".join(prong_tables([response], ["same"]))
    header = {k: next(line for line in v.splitlines() if line.startswith("| |"))
              for k, v in tables.items()}
    assert header["g"].count("ΔR") == 1 and "ΔR between the prongs" in header["g"]
    assert "smallest ΔR" in header["t"] and "largest ΔR" in header["t"]
    assert header["g"].count("|") == header["t"].count("|") - 1
    same_row = next(line for line in tables["g"].splitlines() if line.startswith("| same"))
    assert same_row.count("1.000 ± 0.000") == header["g"].count("|") - 2


def test_files_that_took_different_truth_jets_are_one_clear_error(tmp_path, monkeypatch):
    """The decile table's m_jet and the histograms' reference are the first file's truth
    jets: a second file sampled with another -n is refused, nothing written."""
    truth = _truth()
    write_jets(tmp_path / "truth.h5", truth)
    write_jets(tmp_path / "gen.h5", _generated(truth, 1.0))
    write_jets(tmp_path / "fewer.h5", _generated(truth, 1.0).subset(slice(0, 80)))
    monkeypatch.setattr(sys, "argv", ["jets_mass_response.py", "--generated",
                                      str(tmp_path / "gen.h5"), str(tmp_path / "fewer.h5"),
                                      "--truth", str(tmp_path / "truth.h5"),
                                      "--out-dir", str(tmp_path)])
    with pytest.raises(SystemExit, match=r"^error: .*fewer.h5 took the conditions of "
                                         r"\{'t': 80\} truth jets per type, .*gen.h5 of "
                                         r"\{'t': 120\}: sample every file with the same -n"):
        main()
    assert not (tmp_path / "jets_mass_response.json").exists()
