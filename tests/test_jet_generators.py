"""Generators of jets as particle clouds: the coordinates (physical by construction), EDM
and flow matching on clouds, `lhcgen train | sample` of the jets process in both
conditioning protocols, and one-line errors."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
import yaml

from lhcgen.cli import main
from lhcgen.data.jet_hdf5 import read_jets, write_jets
from lhcgen.data.jets import JetCloudSample
from lhcgen.errors import LhcgenError
from lhcgen.models import Batch, build_generator
from lhcgen.models.config import ModelConfig
from lhcgen.train.config import config_from_dict
from lhcgen.transforms.jet_cloud import JetCloudPreprocessing, JetCloudPreprocessingConfig
from lhcgen.typed_config import read_yaml_mapping
from tests.cli_helpers import one_line_error
from tests.test_jets_data import toy_jets


def two_types(n: int = 300, seed: int = 1, slots: int = 30) -> JetCloudSample:
    """Top jets (wide, few constituents) and gluon jets: two shapes the model must tell
    apart by type."""
    top = toy_jets(n, slots=slots, jet_type=2, seed=seed)
    gluon = toy_jets(n, slots=slots, jet_type=0, seed=seed + 100)
    gluon.particles[..., :2] *= 0.5
    return JetCloudSample.concatenate([top, gluon])


@pytest.fixture(scope="module")
def fitted():
    prep = JetCloudPreprocessing()
    sample = two_types()
    prep.fit(sample)
    return prep, sample


def test_constituents_round_trip_through_the_network_coordinates(fitted):
    prep, sample = fitted
    x = prep.encode_particles(sample.particles, sample.mask)
    assert np.all(x[~sample.mask] == 0.0)
    back = prep.decode_particles(x, sample.mask)
    np.testing.assert_allclose(back, sample.particles, rtol=1e-9, atol=1e-12)


def test_any_network_output_decodes_to_physical_constituents(fitted):
    prep, sample = fitted
    rng = np.random.default_rng(0)
    x = rng.normal(0, 30, sample.particles.shape)  # far outside the training range
    particles = prep.decode_particles(x, sample.mask)
    real = particles[sample.mask]
    assert np.all(real[:, 2] > 0) and np.all(real[:, 2] <= prep.max_pt_rel)
    assert prep.max_pt_rel >= 1.0
    assert np.all(np.hypot(real[:, 0], real[:, 1]) <= prep.max_delta_r * (1 + 1e-12))
    assert np.all(particles[~sample.mask] == 0.0)
    data_r = np.hypot(*sample.particles[sample.mask][:, :2].T)
    assert prep.max_delta_r == pytest.approx(1.02 * data_r.max())


def test_kinematics_round_trip_with_integer_constituent_counts(fitted):
    prep, sample = fitted
    sample = prep.select(sample)
    y = prep.kinematics_encode(sample, np.random.default_rng(1))
    jets, counts = prep.kinematics_decode(y)
    np.testing.assert_allclose(jets[:, 0], sample.jets[:, 0], rtol=1e-10)
    np.testing.assert_allclose(jets[:, 1], sample.jets[:, 1], atol=1e-10)
    np.testing.assert_allclose(jets[:, 2], sample.jets[:, 2], rtol=1e-10)
    np.testing.assert_array_equal(counts, sample.n_constituents)
    wild_jets, wild_counts = prep.kinematics_decode(np.random.default_rng(2).normal(0, 5, y.shape))
    assert np.all(wild_counts >= 1) and np.all(wild_counts == np.floor(wild_counts))
    assert np.all(np.abs(wild_jets[:, 1]) <= prep.eta_max) and np.all(wild_jets[:, [0, 2]] > 0)


def test_a_too_small_catchment_is_refused_not_clipped():
    prep = JetCloudPreprocessing(JetCloudPreprocessingConfig(max_delta_r=0.05))
    with pytest.raises(LhcgenError, match="Delta R >= R_max"):
        prep.fit(two_types())


def test_jets_beyond_the_fitted_catchment_encode_finite_and_are_counted(fitted):
    """A validation jet may reach further than every training jet (seen on real top jets:
    1.56 in training, 1.61 in validation); it must not make the validation loss NaN."""
    prep, sample = fitted
    unseen = sample.subset(np.arange(5))  # a copy: the fixture is shared
    unseen.particles[0, 0, :2] = [1.1 * prep.max_delta_r, 0.0]  # one constituent outside
    unseen.particles[1, 0, :2] = [0.0, -3.0 * prep.max_delta_r]  # and one far outside
    enc = prep.encode(unseen)
    assert torch.isfinite(enc.x).all()
    assert enc.counts == {"constituents_beyond_r_max": 2}
    back = prep.decode_particles(enc.x.numpy(), unseen.mask)
    np.testing.assert_allclose(back[0, 0, :2], [prep.max_delta_r, 0.0], rtol=1e-6, atol=1e-12)
    np.testing.assert_allclose(back[1, 0, :2], [0.0, -prep.max_delta_r], rtol=1e-6, atol=1e-12)
    np.testing.assert_allclose(back[2:], unseen.particles[2:], rtol=1e-9, atol=1e-12)
    assert prep.encode(sample).counts == {}


def _cloud_batch(prep, sample) -> Batch:
    enc = prep.encode(sample)
    return Batch(enc.x.float(), enc.dims_mask, enc.multiplicity, enc.weights.float(),
                 enc.context.float())


@pytest.mark.parametrize("name,net,pairs", [("edm", "transformer", False), ("edm", "cae", False),
                                            ("cfm", "epic", False), ("cfm", "cae", False),
                                            ("edm", "transformer", True)])
def test_cloud_generators_ignore_padding_and_output_zero_there(fitted, name, net, pairs):
    prep, sample = fitted
    torch.manual_seed(0)
    cfg = ModelConfig(name=name, net=net, hidden=32, blocks=2, heads=2, global_tokens=4,
                      pair_bias=pairs)
    model = build_generator(cfg, prep.coordinates(), prep.multiplicities)
    batch = _cloud_batch(prep, sample.subset(slice(0, 64)))
    loss = model.loss(batch, torch.Generator().manual_seed(1))
    assert torch.isfinite(loss)
    poked = Batch(batch.x + 7.0 * (~batch.dims_mask), batch.dims_mask, batch.multiplicity,
                  batch.weights, batch.context)
    again = model.loss(poked, torch.Generator().manual_seed(1))
    assert torch.allclose(loss, again, rtol=1e-5)


def test_edm_preconditioning_returns_the_input_at_vanishing_noise(fitted):
    prep, sample = fitted
    torch.manual_seed(0)
    cfg = ModelConfig(name="edm", net="epic", hidden=32, blocks=2, global_tokens=4)
    model = build_generator(cfg, prep.coordinates(), prep.multiplicities)
    batch = _cloud_batch(prep, sample.subset(slice(0, 16)))
    sigma = torch.full((16,), 1e-6)
    denoised = model.denoise(batch.x, sigma, model.condition_index(batch.multiplicity),
                             batch.dims_mask, batch.context)
    torch.testing.assert_close(denoised, batch.x, atol=1e-5, rtol=0)


def test_edm_learns_a_gaussian():
    """Events (N, 2) from N(mu, s^2): a small EDM trained briefly samples the right mean and
    width (an independent check of loss, preconditioning and sampler together)."""
    from lhcgen.solvers import sample
    from lhcgen.transforms.coordinates import Coordinates

    torch.manual_seed(0)
    mu, s = torch.tensor([0.5, -1.0]), torch.tensor([0.3, 0.8])
    cfg = ModelConfig(name="edm", net="mlp", hidden=64, blocks=2)
    model = build_generator(cfg, Coordinates.plain([0, 0]), [0])
    optimiser = torch.optim.Adam(model.parameters(), lr=3e-3)
    gen = torch.Generator().manual_seed(1)
    for _ in range(600):
        x = mu + s * torch.randn(512, 2, generator=gen)
        batch = Batch(x, torch.ones_like(x, dtype=torch.bool), torch.zeros(512, dtype=torch.long),
                      torch.ones(512))
        optimiser.zero_grad()
        model.loss(batch, gen).backward()
        optimiser.step()
    n = 4000
    x, info = sample(model, torch.zeros(n, dtype=torch.long), torch.ones(n, 2, dtype=torch.bool),
                     torch.Generator().manual_seed(2), "heun", 16)
    assert info["nfe"] == 31
    torch.testing.assert_close(x.mean(0), mu, atol=0.06, rtol=0)
    torch.testing.assert_close(x.std(0), s, atol=0.06, rtol=0.1)


# ---- the commands ------------------------------------------------------------------------
def _config(root, name: str, net: str, train, **model) -> str:
    """A tiny run config of the jets process (``model``: more keys of its model section)."""
    cfg = {"data": {"process": "jets", "train": str(train), "val_fraction": 0.1},
           "model": {"name": name, "net": net, "hidden": 32, "blocks": 2, "heads": 2,
                     "global_tokens": 4, **model},
           "training": {"batch_size": 64, "epochs": 2, "checkpoint_every": 1000},
           "conditions": {"epochs": 2, "hidden": 32, "blocks": 1, "batch_size": 64,
                          "steps": 4},
           "sampling": {"batch_size": 128, "steps": 3}}
    path = root / f"{name}_{net}.yaml"
    path.write_text(yaml.safe_dump(cfg))
    return str(path)


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    root = tmp_path_factory.mktemp("jet_runs")
    write_jets(root / "truth.h5", two_types(300, seed=1))
    write_jets(root / "truth_test.h5", two_types(200, seed=7))
    write_jets(root / "p150.h5", two_types(50, seed=3, slots=150))
    for name, net in (("edm", "cae"), ("cfm", "epic")):
        assert main(["train", _config(root, name, net, root / "truth.h5"), "--out",
                     str(root / name), "--no-progress"]) == 0
    return root


@pytest.mark.parametrize("name", ["edm", "cfm"])
def test_sample_jets_fully_generated_in_the_data_schema(runs, name, capsys):
    out = runs / f"{name}_gen.h5"
    assert main(["sample", str(runs / name), "-n", "150", "--out", str(out),
                 "--no-progress"]) == 0
    assert "jet kinematics generated" in capsys.readouterr().out
    jets = read_jets(out)  # validated as any `lhcgen data jets` file
    assert len(jets) == 150 and jets.n_particles == 30
    assert set(jets.jet_type.tolist()) <= {0, 2}
    assert np.all(jets.particles[jets.mask][:, 2] > 0)
    pt = np.where(jets.mask, jets.particles[..., 2], -1.0)  # pT-ordered, as the schema says
    assert np.all(np.diff(pt, axis=1)[jets.mask[:, 1:]] <= 0)
    assert np.all(jets.jets[:, 3] == np.minimum(jets.n_constituents, 30))
    assert jets.attrs["sampling_conditions"] == "generated"


def test_jets_heavier_than_the_jet_are_brought_to_its_mass_unless_raw_is_asked_for(
        runs, capsys):
    """With --bound-mass every jet whose constituents, taken massless, are heavier than the
    jet (impossible for a real jet; a toy network makes many) is shrunk towards the jet axis
    to the jet mass, its summed pT kept; by default it is written as made. Counted either
    way, and the time-fidelity benchmark's --jet-mass both bounds raw jets as lhcgen sample
    does."""
    from benchmarks.jets_time_fidelity import mass_bounded

    from lhcgen.physics.particle_cloud import relative_cloud_pt, relative_jet_mass

    paths = {}
    for mode, extra in (("bounded", ["--bound-mass"]), ("raw", [])):
        paths[mode] = runs / f"mass_{mode}.h5"
        assert main(["sample", str(runs / "edm"), "-n", "150", "--out", str(paths[mode]),
                     "--no-progress", *extra]) == 0
        out = capsys.readouterr().out
        assert "were heavier than the jet" in out
        assert ("by shrinking their angles" if mode == "bounded" else "--bound-mass would") in out
    bounded, raw = read_jets(paths["bounded"]), read_jets(paths["raw"])
    target = raw.jets[:, 2] / raw.jets[:, 0]
    heavy = relative_jet_mass(raw.particles, raw.mask) > target
    assert 0 < heavy.sum() < len(raw)
    assert bounded.attrs["sampling_n_heavier_than_jet"] == heavy.sum()
    assert raw.attrs["sampling_n_heavier_than_jet"] == heavy.sum()
    assert bounded.attrs["sampling_n_mass_bounded"] == heavy.sum()
    assert raw.attrs["sampling_n_mass_bounded"] == 0
    assert bounded.attrs["sampling_jet_mass"] == "bounded"
    assert raw.attrs["sampling_jet_mass"] == "raw"
    assert bounded.attrs["sampling_mass_ratio_quantiles"][-1] > 1.0
    after = relative_jet_mass(bounded.particles, bounded.mask)
    np.testing.assert_allclose(after[heavy], target[heavy], rtol=1e-9)
    np.testing.assert_array_equal(bounded.particles[~heavy], raw.particles[~heavy])
    np.testing.assert_allclose(relative_cloud_pt(bounded.particles, bounded.mask),
                               relative_cloud_pt(raw.particles, raw.mask), rtol=1e-9)
    radius = np.hypot(*np.moveaxis(raw.particles[..., :2], -1, 0))
    assert np.all(np.hypot(*np.moveaxis(bounded.particles[..., :2], -1, 0))
                  <= radius * (1 + 1e-12))  # towards the axis, never out of the jet
    again, info = mass_bounded(raw, {"seconds": 1.0, "n_requested": len(raw)})
    # the same up to the order of the sums (generate bounds before ordering by pT)
    np.testing.assert_allclose(again.particles, bounded.particles, rtol=1e-9, atol=1e-12)
    assert info["n_mass_bounded"] == heavy.sum() and info["jet_mass"] == "bounded"


def test_sample_jets_as_published_takes_the_conditions_from_the_file(runs):
    out = runs / "edm_file.h5"
    assert main(["sample", str(runs / "edm"), "-n", "100", "--out", str(out), "--type", "t",
                 "--condition-from", str(runs / "truth_test.h5"), "--solver", "dpmpp_2m",
                 "--no-progress"]) == 0
    jets, truth = read_jets(out), read_jets(runs / "truth_test.h5")
    tops = truth.subset(truth.jet_type == 2).subset(slice(0, 100))
    np.testing.assert_array_equal(jets.mask, tops.mask)
    np.testing.assert_allclose(jets.jets[:, :3], tops.jets[:, :3])
    assert np.all(jets.jet_type == 2) and jets.attrs["sampling_nfe"] == 3


def test_complete_jets_sum_to_their_pt_unless_raw_is_asked_for(runs, capsys):
    """By default every jet that keeps all its constituents is rescaled to sum to the jet pT
    (a toy network misses the sum by far); --raw-pt-sum writes the network's constituents,
    which differ from the default ones by one factor per complete jet, and for a truncated jet
    only where its sum lies outside what its cut constituents allow."""
    from lhcgen.physics.particle_cloud import bound_truncated_cloud_pt, relative_cloud_pt

    paths = {}
    for mode, extra in (("conserved", []), ("raw", ["--raw-pt-sum"])):
        paths[mode] = runs / f"pt_sum_{mode}.h5"
        assert main(["sample", str(runs / "edm"), "-n", "150", "--out", str(paths[mode]),
                     "--no-progress", *extra]) == 0
        out = capsys.readouterr().out
        assert "pT sum: the constituents of the" in out
        assert ("rescaled to sum to the jet pT" if mode == "conserved" else "--raw-pt-sum") in out
    conserved, raw = read_jets(paths["conserved"]), read_jets(paths["raw"])
    complete = conserved.n_constituents <= 30
    assert 0 < complete.sum() < len(conserved)
    np.testing.assert_allclose(relative_cloud_pt(conserved.particles, conserved.mask)[complete],
                               1.0, rtol=1e-9)
    raw_sum = relative_cloud_pt(raw.particles, raw.mask)
    assert np.abs(raw_sum[complete] - 1).max() > 0.01
    np.testing.assert_allclose(conserved.particles[complete][..., 2],
                               raw.particles[complete][..., 2] / raw_sum[complete, None])
    # a truncated jet is rescaled only where its sum lies outside what its cut constituents
    # allow (bound_truncated_cloud_pt), and counted
    missing = raw.n_constituents - raw.mask.sum(axis=1)
    bounded, factor = bound_truncated_cloud_pt(raw.particles, raw.mask, missing)
    np.testing.assert_allclose(conserved.particles[~complete], bounded[~complete], rtol=1e-12)
    assert conserved.attrs["sampling_n_truncated_pt_sum_bounded"] == (factor != 1).sum() > 0
    assert raw.attrs["sampling_n_truncated_pt_sum_bounded"] == 0
    # the time-fidelity benchmark's --pt-sum both conserves raw jets as lhcgen sample does
    from benchmarks.jets_time_fidelity import pt_sum_conserved

    after, info = pt_sum_conserved(raw, {"seconds": 1.0, "n_requested": len(raw)})
    np.testing.assert_allclose(after.particles, conserved.particles, rtol=1e-12)
    assert info["n_truncated_pt_sum_bounded"] == (factor != 1).sum()
    assert conserved.attrs["sampling_pt_sum"] == "conserved"
    assert raw.attrs["sampling_pt_sum"] == "raw"
    assert conserved.attrs["sampling_n_complete_jets"] == complete.sum()
    low, q5, median, q95, high = conserved.attrs["sampling_pt_sum_quantiles"]
    assert low <= q5 <= median <= q95 <= high
    assert np.isclose(median, np.median(raw_sum[complete]))


def test_sampled_jets_do_not_depend_on_the_batch_size(runs):
    paths = []
    for batch in ("64", "192"):
        paths.append(runs / f"batch{batch}.h5")
        assert main(["sample", str(runs / "edm"), "-n", "150", "--out", str(paths[-1]),
                     "--batch-size", batch, "--no-progress"]) == 0
    a, b = read_jets(paths[0]), read_jets(paths[1])
    np.testing.assert_array_equal(a.mask, b.mask)
    np.testing.assert_allclose(a.particles, b.particles, rtol=1e-4, atol=1e-5)


def test_stochastic_sampler_churn_from_the_command_line(runs):
    """--s-churn 0 is Heun exactly; a positive churn adds noise back and changes the jets;
    the value is recorded in the file."""
    def sample(name, *extra):
        out = runs / f"churn_{name}.h5"
        assert main(["sample", str(runs / "edm"), "-n", "64", "--out", str(out), "--steps",
                     "4", "--no-progress", *extra]) == 0
        return read_jets(out)

    heun = sample("heun", "--solver", "heun")
    zero = sample("zero", "--solver", "stochastic", "--s-churn", "0")
    churned = sample("five", "--solver", "stochastic", "--s-churn", "5")
    np.testing.assert_array_equal(zero.particles, heun.particles)
    assert not np.allclose(churned.particles, heun.particles)
    assert churned.attrs["sampling_s_churn"] == 5.0


def test_noise_schedule_from_the_command_line(runs):
    """--sigma-min and --rho set the EDM schedule: the config's values give the default jets
    bit for bit, other values other jets; the values are recorded in the file."""
    def sample(name, *extra):
        out = runs / f"schedule_{name}.h5"
        assert main(["sample", str(runs / "edm"), "-n", "64", "--out", str(out), "--steps",
                     "4", "--solver", "heun", "--no-progress", *extra]) == 0
        return read_jets(out)

    default = sample("default")
    same = sample("same", "--sigma-min", "0.002", "--rho", "7")
    other = sample("other", "--sigma-min", "0.05", "--rho", "3")
    np.testing.assert_array_equal(same.particles, default.particles)
    assert not np.allclose(other.particles, default.particles)
    assert other.attrs["sampling_sigma_min"] == 0.05 and other.attrs["sampling_rho"] == 3.0
    assert "sampling_sigma_min" not in default.attrs


def test_metrics_jets_judges_a_generated_file(runs, capsys):
    out = runs / "cfm_gen_metrics.h5"
    assert main(["sample", str(runs / "cfm"), "-n", "200", "--out", str(out),
                 "--no-progress"]) == 0
    small = ["--w1-samples", "100", "--w1-batches", "2", "--fpd-min-samples", "40",
             "--fpd-max-samples", "100", "--fpd-points", "3", "--fpd-batches", "2",
             "--kpd-batch-size", "50", "--kpd-batches", "2"]
    assert main(["metrics", "jets", str(out), "--truth", str(runs / "truth_test.h5"),
                 "--json", str(runs / "m.json"), "--no-progress", *small]) == 0


@pytest.mark.parametrize("extra,needles", [
    (["--type", "x"], ["unknown jet type 'x'"]),
    (["--type", "q"], ["trained on gt jets, not 'q'"]),
    (["--condition-from", "p150.h5"], ["150 particles per jet"]),
    (["--condition-from", "truth_test.h5", "-n", "5000"], ["fewer than -n 5000"]),
    (["--solver", "ddim", "--run", "cfm"], ["unknown solver 'ddim' for model 'cfm'"]),
    (["--multiplicity", "2"], ["--multiplicity applies to event generators"]),
    (["--solver", "ancestral"], ["unknown solver 'ancestral' for model 'edm'"]),
    (["--solver", "heun", "--s-churn", "3"], ["s_churn", "stochastic EDM sampler"]),
    (["--solver", "heun", "--s-tmin", "0.05"], ["s_tmin", "stochastic EDM sampler"]),
    (["--solver", "stochastic", "--s-tmin", "5", "--s-tmax", "1"], ["s_tmin <= s_tmax"]),
    (["--sigma-min", "100"], ["sigma_min < sigma_max"]),
    (["--sigma-min", "0.1", "--run", "cfm"], ["sigma_min", "option(s) of the EDM samplers"]),
])
def test_bad_sampling_requests_are_one_line(runs, capsys, extra, needles):
    run = "edm"
    if "--run" in extra:
        run = extra[extra.index("--run") + 1]
        extra = extra[:extra.index("--run")]
    extra = [str(runs / e) if e.endswith(".h5") else e for e in extra]
    n = [] if "-n" in extra else ["-n", "10"]
    out = runs / "bad.h5"
    assert main(["sample", str(runs / run), *n, "--out", str(out), "--no-progress",
                 *extra]) == 1
    one_line_error(capsys, *needles)
    assert not out.exists()


def test_steps_zero_is_a_usage_error(runs, capsys):
    with pytest.raises(SystemExit) as exc:
        main(["sample", str(runs / "edm"), "-n", "10", "--out", str(runs / "x.h5"),
              "--steps", "0"])
    assert exc.value.code == 2


def test_a_cloud_net_on_events_and_an_event_model_on_clouds_are_one_line(runs, capsys):
    bad = _config(runs, "ddpm", "mlp", runs / "truth.h5")
    assert main(["train", bad, "--out", str(runs / "bad_run"), "--no-progress"]) == 1
    one_line_error(capsys, "model 'ddpm' generates events")
    assert not (runs / "bad_run").exists()


def test_merge_jets_joins_types_and_refuses_other_particle_counts(runs, capsys):
    write_jets(runs / "g.h5", toy_jets(40, jet_type=0))
    write_jets(runs / "w.h5", toy_jets(30, jet_type=3, seed=5))
    assert main(["data", "merge-jets", str(runs / "g.h5"), str(runs / "w.h5"), "--out",
                 str(runs / "gw.h5")]) == 0
    merged = read_jets(runs / "gw.h5")
    assert len(merged) == 70 and sorted(set(merged.jet_type.tolist())) == [0, 3]
    assert [s["jets"] for s in merged.attrs["sources"]] == [40, 30]
    capsys.readouterr()
    assert main(["data", "merge-jets", str(runs / "g.h5"), str(runs / "p150.h5"), "--out",
                 str(runs / "bad.h5")]) == 1
    one_line_error(capsys, "150 particles per jet")


@pytest.mark.parametrize("command", ["evaluate", "classify"])
def test_event_judges_refuse_jet_files_in_one_line(runs, capsys, command):
    truth = str(runs / "truth.h5")
    assert main([command, truth, "--truth", truth, "--report", str(runs / "rep"),
                 "--no-progress"]) == 1
    one_line_error(capsys, "jets as particle clouds", "lhcgen metrics jets")
    assert not (runs / "rep").exists()


def test_pt_ordering_keeps_each_jet_and_its_padding():
    from lhcgen.data.jets import pt_ordered
    particles = np.array([[[0.1, 0.0, 0.2], [0.2, 0.0, 0.5], [0.3, 0.0, 0.3], [0, 0, 0]],
                          [[0.4, 0.0, 0.1], [0.5, 0.0, 0.9], [0, 0, 0], [0, 0, 0]]])
    mask = np.array([[True, True, True, False], [True, True, False, False]])
    out = pt_ordered(particles, mask)
    np.testing.assert_array_equal(out[0, :, 0], [0.2, 0.3, 0.1, 0.0])
    np.testing.assert_array_equal(out[1, :, 0], [0.5, 0.4, 0.0, 0.0])
    np.testing.assert_array_equal(out[~mask], 0.0)


@pytest.mark.parametrize("path", sorted((Path(__file__).parents[1] / "configs").glob("*.yaml")),
                         ids=lambda p: p.name)
def test_every_shipped_config_is_a_valid_run_config(path):
    """No unknown key or impossible value in configs/ (the teacher run of a consistency
    config is checked only when training starts, as it need not exist yet)."""
    cfg = config_from_dict(read_yaml_mapping(path))
    assert cfg.data.train
    # a run that trains only its conditions model keeps the network of a run it names
    assert cfg.training.epochs > 0 or (cfg.training.init_from and cfg.conditions.epochs > 0)


def test_time_fidelity_benchmark_end_to_end(runs, tmp_path, monkeypatch):
    """benchmarks/jets_time_fidelity.py --quick on a tiny run: rows in both protocols, the
    generated one judged on its conditions too, every row's jets beyond the truth's EFP range
    counted, and the tables written."""
    import json
    import sys

    from benchmarks.jets_time_fidelity import main as benchmark

    monkeypatch.setattr(sys, "argv", [
        "jets_time_fidelity.py", "--runs", str(runs / "edm"), "--truth",
        str(runs / "truth_test.h5"), "--truth-floor", str(runs / "truth.h5"), "--types", "t",
        "--samplers", "midpoint:2", "--quick", "--jets", "100", "--out-dir", str(tmp_path),
        "--name", "bench", "--jet-mass", "both"])
    benchmark()
    result = json.loads((tmp_path / "bench.json").read_text())
    # --jet-mass both: each setting's jets as made and bounded, counted alike
    raw = {r["protocol"]: r for r in result["rows"] if r["jet_mass"] == "raw"}
    rows = {r["protocol"]: r for r in result["rows"] if r["jet_mass"] == "bounded"}
    assert len(result["rows"]) == 4 and set(raw) == set(rows)
    for p, row in rows.items():
        assert row["n_heavier_than_jet"] == raw[p]["n_heavier_than_jet"] == row["n_mass_bounded"]
        assert raw[p]["n_mass_bounded"] == 0
    assert set(rows) == {"file", "generated"} and "error" not in rows["generated"]
    assert "conditions" not in rows["file"]  # copied from the truth file: nothing to judge
    conditions = rows["generated"]["conditions"]
    assert set(conditions) == {"pt", "eta", "mass", "n_constituents"}
    assert all(c["value"] > 0 and c["ratio"] is not None for c in conditions.values())
    floor = result["types"]["t"]["conditions_floor"]
    assert all(f["value"] > 0 for f in floor.values())
    page = (tmp_path / "bench.md").read_text()
    assert "## The conditions model against the truth" in page
    assert "m ≤ m_jet" in page and "taken massless, are heavier than the jet" in page
    # Every row counts its jets beyond the truth's EFP range, beside the floor's count.
    for row in rows.values():
        reach = row["efp_range"]
        assert reach["n_jets"] == 100 and 0 <= reach["n_beyond"] <= 100
        assert (reach["largest_reach"] > 1) == (reach["n_beyond"] > 0)
    assert result["types"]["t"]["efp_range_floor"]["n_jets"] == 100
    assert "## Jets beyond the truth's EFP range" in page
    # and judges τ21 and τ32 beside the metrics, against the same floor's truth jets
    floor = result["types"]["t"]["substructure_floor"]
    assert set(floor) == {"tau21", "tau32"} and all(f["value"] > 0 for f in floor.values())
    for row in rows.values():
        for k, entry in row["substructure"].items():
            assert entry["value"] > 0 and entry["ratio"] == pytest.approx(
                entry["value"] / max(floor[k]["value"], floor[k]["error"]))
    assert "## Substructure beside the metrics" in page and "τ32 ×floor" in page


def test_time_fidelity_benchmark_generated_on_one_machine_and_judged_on_another(
        runs, tmp_path, monkeypatch, capsys):
    """--generate-only keeps the samples and the speeds, --judge computes the metrics later
    (the GPU rows: jets made on a lent GPU, judged on the CPU machine): the two steps give
    exactly the metrics of one run, keep the speeds and the simulator's rate as measured, and
    refuse, in one line, to judge twice, a missing sample, or a device that is not there."""
    import json
    import sys

    from benchmarks.jets_time_fidelity import main as benchmark

    common = ["jets_time_fidelity.py", "--truth", str(runs / "truth_test.h5"), "--truth-floor",
              str(runs / "truth.h5"), "--out-dir", str(tmp_path)]
    setting = ["--runs", str(runs / "edm"), "--types", "t", "--samplers", "midpoint:2",
               "--protocols", "file,generated", "--quick", "--jets", "60", "--device", "cpu"]
    kept = tmp_path / "kept"
    monkeypatch.setattr(sys, "argv", [*common, *setting, "--name", "one"])
    benchmark()
    monkeypatch.setattr(sys, "argv", [*common, *setting, "--name", "two", "--generate-only",
                                      "--samples", str(kept)])
    benchmark()
    made = json.loads((tmp_path / "two.json").read_text())
    assert not (tmp_path / "two.md").exists()  # nothing to tabulate before the judging
    assert [r["protocol"] for r in made["rows"]] == ["file", "generated"]
    assert all("metrics" not in r and (kept / r["sample"]).is_file() for r in made["rows"])
    assert "floor" not in made["types"]["t"] and made["types"]["t"]["simulator"]["jets"] > 0
    monkeypatch.setattr(sys, "argv", [*common, "--name", "two", "--judge", "--samples",
                                      str(kept)])
    benchmark()
    one = json.loads((tmp_path / "one.json").read_text())
    two = json.loads((tmp_path / "two.json").read_text())
    assert two["types"]["t"]["floor"] == one["types"]["t"]["floor"]
    assert two["types"]["t"]["simulator"] == made["types"]["t"]["simulator"]
    for a, b, m in zip(one["rows"], two["rows"], made["rows"], strict=True):
        assert b["metrics"] == a["metrics"] and b["efp_range"] == a["efp_range"]
        assert b["substructure"] == a["substructure"]
        assert b.get("conditions") == a.get("conditions")
        assert b["jets_per_second"] == m["jets_per_second"]  # as measured where generated
    page = (tmp_path / "two.md").read_text()
    assert "Generated there with --generate-only" in page and "worst ×floor" in page
    # every ×floor carries its propagated error, the worst one too
    from lhcgen.evaluate.jets.metrics import ratio_to_floor_error

    floor = two["types"]["t"]["floor"]
    for r in two["rows"]:
        worst = r["metrics"][r["worst_metric"]]
        error = ratio_to_floor_error(worst["value"], worst["error"], floor[r["worst_metric"]])
        assert f"| {r['worst_ratio']:.3g} ± {error:.2g} ({r['worst_metric']})" in page
    best = page.split("## Best ×floor per metric")[1].split("\n## ")[0]
    assert best.count(" ± ") == 2 * 5  # file and generated, five metrics each
    capsys.readouterr()
    with pytest.raises(SystemExit, match="holds no samples to judge"):
        benchmark()  # judged already
    (kept / two["rows"][0]["sample"]).unlink()
    (tmp_path / "two.json").write_text(json.dumps(made))
    with pytest.raises(SystemExit, match="1 kept sample.s. missing"):
        benchmark()
    if not torch.cuda.is_available():
        monkeypatch.setattr(sys, "argv", [*common, *setting[:-2], "--device", "cuda",
                                          "--name", "gpu"])
        with pytest.raises(SystemExit, match="CUDA is not available"):
            benchmark()


def test_network_cost_benchmark_counts_flops_in_proportion_to_the_nfe(runs, tmp_path,
                                                                         monkeypatch, capsys):
    """benchmarks/jets_network_cost.py on a tiny run: every network evaluation costs the same
    FLOPs (midpoint 2 steps = 3 evaluations, 3x one step's), the rates are positive and the
    table is written; a sampler the model does not have is one line before any work."""
    import json
    import sys

    from benchmarks.jets_network_cost import main as benchmark

    base = ["jets_network_cost.py", "--run", str(runs / "edm"), "--type", "t", "--truth",
            str(runs / "truth_test.h5"), "--jets", "40", "--batch-size", "40",
            "--simulator-jets", "10", "--repeats", "1", "--out-dir", str(tmp_path)]
    monkeypatch.setattr(sys, "argv", [*base, "--samplers", "midpoint:1,2"])
    benchmark()
    result = json.loads((tmp_path / "jets_network_cost.json").read_text())
    one, two = result["rows"]
    assert (one["nfe"], two["nfe"]) == (1, 3)
    assert two["flops_per_jet"] == pytest.approx(3 * one["flops_per_jet"], rel=1e-6)
    assert one["jets_per_second"] > two["jets_per_second"] > 0
    assert result["reference_gflops"] > 0 and result["simulator"]["jets_per_second"] > 0
    assert "| midpoint | 2 | 3 |" in (tmp_path / "jets_network_cost.md").read_text()

    monkeypatch.setattr(sys, "argv", [*base, "--samplers", "consistency:1", "--name", "bad"])
    with pytest.raises(SystemExit, match="unknown solver 'consistency'"):
        benchmark()
    monkeypatch.setattr(sys, "argv", [*base, "--samplers", "midpoint:1", "--jets", "5000",
                                      "--name", "bad"])
    with pytest.raises(SystemExit, match="5000"):  # the condition file holds fewer jets
        benchmark()
    assert not (tmp_path / "bad.json").exists()
