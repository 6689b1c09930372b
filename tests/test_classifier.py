"""MLP training, the whole classifier test and cross-fitted weights, on known densities.

Small MLPs and a few thousand events keep every test at a few seconds on one thread. The
judges, the cross-fitting and the AUC statistics have their own tests (test_judges.py).
"""

import dataclasses
import json

import h5py
import numpy as np
import pytest
import torch
from scipy.special import expit

from lhcgen.data.events import EventSample
from lhcgen.data.hdf5 import read_events, write_events
from lhcgen.errors import LhcgenError
from lhcgen.evaluate.classifier.cross_fit import cross_fit
from lhcgen.evaluate.classifier.features import (
    PAD_VALUE,
    classifier_features,
    network_inputs,
)
from lhcgen.evaluate.classifier.mlp import fit_classifier
from lhcgen.evaluate.classifier.settings import ClassifierSettings
from lhcgen.evaluate.classifier.test import classifier_test, generated_event_weights
from lhcgen.evaluate.classifier.two_sample import likelihood_ratio_weights, roc_auc_with_error
from lhcgen.evaluate.classifier.weights_file import DATASET, INFO_ATTR, write_weighted_copy
from lhcgen.physics.fourvectors import from_pt_eta_phi_m, to_pt_eta_phi_m
from lhcgen.physics.zjets_observables import m_mumu
from lhcgen.processes import get_process
from tests.toys import toy_zjets

SMALL = ClassifierSettings(hidden=32, layers=2, dropout=0.0, batch_size=256, max_epochs=40,
                           patience=5, n_bootstrap=50, folds=3, judges=("mlp",), threads=1)


def three_way_split(labels, settings, fractions=(0.6, 0.2, 0.2)):
    """Random train / validation / test index arrays, per class (for fitting one MLP)."""
    rng = np.random.default_rng(settings.seed)
    parts = [[], [], []]
    for cls in (0, 1):
        index = rng.permutation(np.flatnonzero(labels == cls))
        bounds = np.cumsum([int(f * len(index)) for f in fractions[:-1]])
        for part, chunk in zip(parts, np.split(index, bounds), strict=True):
            part.append(chunk)
    return tuple(np.sort(np.concatenate(p)) for p in parts)


def gaussians(n_gen, n_truth, shift, dim=4, seed=0):
    """Generated ~ N(0, 1), truth ~ N(shift, 1) in ``dim`` dimensions, stacked gen first."""
    rng = np.random.default_rng(seed)
    x = np.concatenate([rng.normal(0, 1, (n_gen, dim)), rng.normal(shift, 1, (n_truth, dim))])
    labels = np.r_[np.zeros(n_gen, int), np.ones(n_truth, int)]
    return x, labels


def true_ratio(x, shift):
    """p_truth / p_gen for N(shift, 1) over N(0, 1) per dimension."""
    return np.exp(shift * x.sum(axis=1) - 0.5 * x.shape[1] * shift**2)


def scaled_muon_pt(sample, factor):
    """The same events with the leading muon's pT scaled (a generator defect)."""
    kinematics = to_pt_eta_phi_m(sample.momenta)
    kinematics[:, 0, 0] *= factor
    momenta = np.where(sample.mask[..., None], from_pt_eta_phi_m(*np.moveaxis(kinematics, -1, 0)),
                       0.0)
    return EventSample(momenta, sample.mask, sample.multiplicity, sample.weights, sample.attrs)


def test_features_of_zjets_events():
    sample = toy_zjets(500, seed=4)
    features = classifier_features(sample, get_process("zjets"))
    names = features.names
    assert len(names) == 5 * 4 - 2 + 10 + 2 + 1  # objects (no muon masses), pairs, Z, n_jets
    assert "m_mu1" not in names and "m_j1" in names and names[-1] == "n_jets"
    assert features.values.shape == (500, len(names)) and features.values.dtype == np.float64
    col = names.index
    assert np.allclose(features.values[:, col("m_mumu")], m_mumu(sample)[0])
    assert np.array_equal(features.values[:, col("n_jets")], sample.multiplicity)
    no_j3 = ~sample.mask[:, 4]
    for name in ("pt_j3", "eta_j3", "phi_j3", "m_j3", "delta_r_mu1j3", "delta_r_j2j3"):
        assert np.all(features.values[no_j3, col(name)] == PAD_VALUE)
        assert not features.defined[no_j3, col(name)].any()
    assert features.defined[~no_j3, col("pt_j3")].all()
    assert np.all(features.values[~no_j3, col("pt_j3")] > 20)
    inputs = network_inputs(features)
    assert np.allclose(inputs[:, col("pt_z")], np.log1p(features.values[:, col("pt_z")]))
    assert np.all(inputs[no_j3, col("m_j3")] == 0.0)
    assert np.array_equal(inputs[:, col("eta_j1")], features.values[:, col("eta_j1")])


def test_known_density_ratio_is_learned_in_the_bulk():
    """Truth N(0.3, 1) vs generated N(0, 1) in 4D: w = D / (1 - D) must match p/q."""
    shift = 0.3
    x, labels = gaussians(10000, 10000, shift, seed=1)
    settings = ClassifierSettings(hidden=64, layers=2, dropout=0.0, batch_size=256,
                                  max_epochs=60, patience=10)
    train, val, test = three_way_split(labels, settings)
    trained = fit_classifier(x, labels, np.ones(len(x)), train, val, settings)
    generated_test = test[labels[test] == 0]
    w, _ = likelihood_ratio_weights(expit(trained.logits(x[generated_test])), 100.0)
    r = true_ratio(x[generated_test], shift)
    low, high = np.quantile(r, [0.05, 0.95])
    bulk = (r > low) & (r < high)
    error = np.median(np.abs(w[bulk] / r[bulk] - 1))
    print(f"known density ratio: median relative error {error:.3f} in the central 90 %")
    assert error < 0.12


def test_class_balance_with_unequal_sizes_keeps_weights_near_one():
    """3:1 generated:truth from one distribution: AUC ~ 0.5 and w ~ 1, not ~ 1/3."""
    x, labels = gaussians(6000, 2000, 0.0, seed=2)
    train, val, test = three_way_split(labels, SMALL)
    trained = fit_classifier(x, labels, np.ones(len(x)), train, val, SMALL)
    logits = trained.logits(x[test])
    auc, error = roc_auc_with_error(labels[test], logits, n_bootstrap=50)
    w, _ = likelihood_ratio_weights(expit(logits[labels[test] == 0]), 100.0)
    print(f"3:1 identical samples: AUC {auc:.3f} +- {error:.3f}, median w {np.median(w):.3f}")
    assert abs(auc - 0.5) < 3 * error
    assert abs(np.median(w) - 1) < 0.1 and abs(np.mean(w) - 1) < 0.1


def test_monte_carlo_weights_enter_the_training():
    """Truth = N(0, 1) events weighted by N(0.4, 1) / N(0, 1) equals generated N(0.4, 1):
    a classifier that honours the weights cannot separate them."""
    shift, n = 0.4, 6000
    rng = np.random.default_rng(3)
    generated = rng.normal(shift, 1, (n, 2))
    truth = rng.normal(0, 1, (n, 2))
    x = np.concatenate([generated, truth])
    labels = np.r_[np.zeros(n, int), np.ones(n, int)]
    weights = np.r_[np.ones(n), true_ratio(truth, shift)]
    train, val, test = three_way_split(labels, SMALL)
    trained = fit_classifier(x, labels, weights, train, val, SMALL)
    auc, error = roc_auc_with_error(labels[test], trained.logits(x[test]), weights[test],
                                    n_bootstrap=50)
    unweighted = roc_auc_with_error(labels[test], -x[test].sum(axis=1), n_bootstrap=20)[0]
    print(f"MC-weighted truth: AUC {auc:.3f} +- {error:.3f} (unweighted samples differ: "
          f"{unweighted:.3f})")
    assert abs(auc - 0.5) < 3 * error
    assert unweighted > 0.55


def test_training_is_deterministic_and_leaves_the_global_rng_alone():
    x, labels = gaussians(1000, 1000, 0.5, dim=3, seed=4)
    settings = ClassifierSettings(hidden=16, layers=2, dropout=0.1, max_epochs=5, patience=5,
                                  batch_size=128, seed=11)
    train, val, _ = three_way_split(labels, settings)
    state = torch.get_rng_state()
    first = fit_classifier(x, labels, np.ones(len(x)), train, val, settings)
    assert torch.equal(state, torch.get_rng_state())
    second = fit_classifier(x, labels, np.ones(len(x)), train, val, settings)
    assert np.array_equal(first.logits(x), second.logits(x))
    assert first.history == second.history and 1 <= first.best_epoch <= 5


def test_truth_vs_truth_report(tmp_path):
    """Two truth samples and a third for the floor: every AUC consistent with 0.5 and with
    its floor, weights near 1, every plot written."""
    generated, truth = toy_zjets(2500, seed=11), toy_zjets(2500, seed=12)
    settings = dataclasses.replace(SMALL, judges=("mlp", "trees"))
    result = classifier_test(generated, truth, settings, out_dir=tmp_path,
                             truth_2=toy_zjets(2500, seed=13))
    assert set(result["judges"]) == {"mlp", "trees"} and result["weights_judge"] == "mlp"
    for judge in result["judges"].values():
        assert set(judge["auc"]) == {"all", "1", "2", "3"}
        assert set(judge["floor"]) == {"all", "1", "2", "3"}
        for key, auc in judge["auc"].items():
            print(f"{judge['title']} {key}: AUC {auc['value']:.3f} +- {auc['error']:.3f}, "
                  f"floor {judge['floor'][key]['value']:.3f}")
            assert abs(auc["value"] - 0.5) < 3.5 * auc["error"]
            assert abs(judge["distance"][key]) < 3.5
        assert judge["auc"]["all"]["n_generated"] == 2500  # every event is scored
        assert judge["training"]["trainings"] == settings.folds
    assert result["samples"]["generated"]["n_events"] == 2500
    weights = result["weights"]
    assert abs(weights["quantiles"]["q50"] - 1) < 0.1 and weights["n_events"] == 2500
    assert weights["effective_sample_size"] > 0.9 * weights["n_events"]
    assert set(weights["by_multiplicity"]) == {"1", "2", "3"}
    assert sum(w["n_events"] for w in weights["by_multiplicity"].values()) == 2500
    assert weights["clip_max"] == SMALL.weight_clip and weights["n_clipped_high"] == 0
    assert len(result["extreme_events"]["highest"]) == SMALL.n_extreme
    assert set(result["weight_histograms"]["generated"]) == {"linear", "log"}
    json.dumps(result, allow_nan=False)
    for name in result["plots"].values():
        assert (tmp_path / name).stat().st_size > 0
    assert "scores" in result["plots"]
    plotted = [r["plot"] for r in result["reweighted_histograms"].values() if r["plot"]]
    assert "plots/reweighted_m_mumu.png" in plotted and len(plotted) >= 25
    assert all(r["chi2_ndf_floor"] is not None
               for r in result["reweighted_histograms"].values() if r["plot"])
    assert all((tmp_path / p).exists() for p in plotted)
    assert not list(tmp_path.rglob("*.part"))


def test_generator_defect_is_found_and_reweighted_away():
    """A leading-muon pT 25 % too high: large AUC, and reweighting repairs pT_mu1."""
    truth = toy_zjets(4000, seed=21)
    generated = scaled_muon_pt(toy_zjets(4000, seed=22), 1.25)
    result = classifier_test(generated, truth, SMALL)
    auc = result["judges"]["mlp"]["auc"]["all"]
    hist = result["reweighted_histograms"]["pt_mu1"]
    print(f"defect: AUC {auc['value']:.3f} +- {auc['error']:.3f}; chi2/ndf pt_mu1 raw "
          f"{hist['chi2_ndf_raw']:.2f}, reweighted {hist['chi2_ndf_reweighted']:.2f}")
    assert auc["value"] > 0.5 + 5 * auc["error"]
    assert result["judges"]["mlp"]["distance"]["all"] > 5  # no truth-2: from 0.5
    # the excess over the statistical floor (chi2/ndf ~ 1) at least halves
    assert hist["chi2_ndf_reweighted"] - 1 < 0.5 * (hist["chi2_ndf_raw"] - 1)
    assert result["accuracy"]["value"] > 0.55
    tails = result["extreme_events"]
    described = {e["observable"] for e in tails["under_populated"] + tails["over_populated"]}
    assert described & {"pt_mu1", "pt_z", "m_mumu"}


def test_cross_fitted_weights_and_weighted_copy(tmp_path):
    truth = toy_zjets(1500, seed=31)
    generated = toy_zjets(1200, seed=32)
    generated.weights[:] = np.linspace(0.5, 1.5, 1200)
    weights, info = generated_event_weights(generated, truth, SMALL)
    assert weights.shape == (1200,) and np.isfinite(weights).all()
    assert np.all((weights >= 1 / SMALL.weight_clip) & (weights <= SMALL.weight_clip))
    assert sum(f["n_scored"] for f in info["folds"]) == 2700
    assert info["method"] == "3-fold cross-fitting" and 0.8 < info["mean"] < 1.2
    assert info["judge"] == "mlp"
    source, target = tmp_path / "gen.h5", tmp_path / "gen_weighted.h5"
    write_events(source, generated)
    write_weighted_copy(source, target, weights, info)
    copy = read_events(target)
    assert np.array_equal(copy.momenta, generated.momenta)
    assert np.array_equal(copy.weights, generated.weights)
    with h5py.File(target) as f:
        assert np.array_equal(f[DATASET][()], weights)
        assert json.loads(f.attrs[INFO_ATTR])["folds"] == info["folds"]
    with pytest.raises(LhcgenError, match="1200 events but 3"):
        write_weighted_copy(source, tmp_path / "bad.h5", weights[:3], info)
    assert not (tmp_path / "bad.h5").exists()


def test_cross_fitting_learns_the_density_ratio_for_every_event():
    shift = 0.3
    x, labels = gaussians(4000, 4000, shift, seed=5)
    fit = cross_fit(x, labels, np.ones(len(x)), np.zeros(len(x), int), "mlp", SMALL)
    logits = fit.mean_logits
    r = true_ratio(x[labels == 0], shift)
    error = np.median(np.abs(np.exp(logits[labels == 0]) / r - 1))
    print(f"cross-fitted weights: median relative error {error:.3f}")
    assert error < 0.2 and len(fit.folds) == SMALL.folds


def test_nan_input_is_one_clear_error():
    generated = toy_zjets(500, seed=41)
    generated.momenta[7, 2, 1] = np.nan
    with pytest.raises(LhcgenError, match="generated sample: 1 of 500 events have NaN"):
        classifier_test(generated, toy_zjets(500, seed=42), SMALL)


def test_too_few_events_per_multiplicity_names_the_needed_number():
    """3 folds need 60 events of each sample per jet multiplicity (20 per fold)."""
    truth = toy_zjets(2000, seed=2)
    generated = toy_zjets(2000, seed=1)
    three = np.flatnonzero(generated.multiplicity == 3)
    few = generated.subset(np.setdiff1d(np.arange(2000), three[12:]))
    with pytest.raises(LhcgenError, match="^jet multiplicity 3: the generated sample has 12 "
                                          "events; 3-fold cross-fitting needs at least 60 of "
                                          "each sample per jet multiplicity"):
        classifier_test(few, truth, SMALL)
    with pytest.raises(LhcgenError, match="truth sample has .* events; 5-fold"):
        generated_event_weights(toy_zjets(2000, seed=1), toy_zjets(300, seed=2),
                                dataclasses.replace(SMALL, folds=5))


def test_different_process_or_schema_is_refused():
    truth = toy_zjets(200, seed=1)
    other = toy_zjets(200, seed=2)
    other.attrs["process"] = "ttbar"
    with pytest.raises(LhcgenError, match="differ in process: 'ttbar' vs 'zjets'"):
        classifier_test(other, truth, SMALL)
    fewer = toy_zjets(200, seed=3)
    fewer = EventSample(fewer.momenta[:, :4], fewer.mask[:, :4], fewer.multiplicity,
                        fewer.weights, {"process": "zjets"})
    with pytest.raises(LhcgenError, match="differ in schema: 4 vs 5 object slots"):
        classifier_test(fewer, truth, SMALL)


def test_settings_are_validated():
    with pytest.raises(LhcgenError, match="dropout"):
        ClassifierSettings(dropout=1.0)
    with pytest.raises(LhcgenError, match="val_fraction"):
        ClassifierSettings(val_fraction=0.5)
    with pytest.raises(LhcgenError, match="judges"):
        ClassifierSettings(judges=("mlp", "forest"))
    with pytest.raises(LhcgenError, match="weights_from 'trees' is not among"):
        ClassifierSettings(judges=("mlp",), weights_from="trees")
    assert ClassifierSettings(judges=("trees",)).weights_judge == "trees"
    with pytest.raises(LhcgenError, match="recalibration"):
        ClassifierSettings(recalibration="isotonic")
