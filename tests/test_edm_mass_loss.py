"""The loss on the constituents' mass (``model.edm.mass_loss``).

The torch decoding against its numpy twin (which writes the generated jets), the pair sum of
the mass against the summed four-vectors and closed forms, the loss against a computation
made with the numpy functions, and the option from the command line, misuse included."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
import torch
import yaml

from lhcgen.cli import main
from lhcgen.data.jet_hdf5 import read_jets, write_jets
from lhcgen.errors import LhcgenError
from lhcgen.models.base import Batch
from lhcgen.models.config import ModelConfig
from lhcgen.models.edm import MASS_SQUARED_FLOOR, EDMConfig, EDMDiffusion, build
from lhcgen.physics.particle_cloud import relative_jet_mass
from lhcgen.physics.particle_cloud_torch import relative_cloud_mass_squared
from lhcgen.transforms.coordinates import Coordinates
from lhcgen.transforms.jet_cloud import JetCloudPreprocessing
from tests.cli_helpers import one_line_error
from tests.test_jet_condition_marginals import _with
from tests.test_jet_edge import EDGE, edged_jets
from tests.test_jet_generators import _config, two_types


@pytest.fixture(scope="module", params=["plain", "edge"])
def fitted(request):
    prep = JetCloudPreprocessing(EDGE if request.param == "edge" else None)
    sample = edged_jets() if request.param == "edge" else two_types()
    prep.fit(sample)
    assert bool(prep.jet_edge) == (request.param == "edge")
    return prep, sample


def test_the_torch_decoding_is_the_numpy_one(fitted):
    """Any network output, also far out (beyond the edge, near R_max), decodes alike."""
    prep, sample = fitted
    rng = np.random.default_rng(1)
    x = rng.normal(0.0, 2.0, sample.particles.shape)
    mask = np.ones(sample.mask.shape, dtype=bool)
    ours = prep.decoding().decode(torch.from_numpy(x)).numpy()
    np.testing.assert_allclose(ours, prep.decode_particles(x, mask), rtol=1e-12, atol=1e-14)
    encoded = prep.encode_particles(sample.particles, sample.mask)
    back = prep.decoding().decode(torch.from_numpy(encoded)).numpy()[sample.mask]
    np.testing.assert_allclose(back, sample.particles[sample.mask], rtol=1e-9, atol=1e-12)


def test_the_decoding_is_differentiable_also_on_the_jet_axis(fitted):
    prep, _ = fitted
    decoding = prep.decoding()
    rng = np.random.default_rng(2)
    x = torch.from_numpy(rng.normal(0.0, 1.0, (4, 3))).requires_grad_()
    assert torch.autograd.gradcheck(decoding.decode, (x,))
    # a constituent on the jet axis: Delta R / s has the limit R_a, and so has the Jacobian
    axis = torch.tensor([[-prep.particle_mean[0] / prep.particle_std[0],
                          -prep.particle_mean[1] / prep.particle_std[1], 0.3]],
                        dtype=torch.float64, requires_grad=True)
    jacobian = torch.autograd.functional.jacobian(decoding.decode, axis)[0, :, 0, :]
    assert torch.all(torch.isfinite(jacobian))
    bound = prep.edge_bound if prep.jet_edge else prep.max_delta_r
    torch.testing.assert_close(jacobian[0, 0], torch.tensor(bound * prep.particle_std[0],
                                                            dtype=torch.float64))
    assert torch.autograd.gradcheck(decoding.decode, (axis,))


def random_clouds(n: int, particles: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Clouds with 0 to ``particles`` real particles (masks of every length, some empty)."""
    rng = np.random.default_rng(seed)
    cloud = np.stack([rng.normal(0, 0.3, (n, particles)), rng.normal(0, 0.3, (n, particles)),
                      rng.exponential(0.05, (n, particles))], axis=-1)
    count = rng.integers(0, particles + 1, n)
    count[:3] = [0, 1, particles]
    return cloud, np.arange(particles)[None, :] < count[:, None]


def test_the_pair_sum_is_the_mass_of_the_summed_four_vectors():
    cloud, mask = random_clouds(200, 30, seed=3)
    ours = relative_cloud_mass_squared(torch.from_numpy(cloud), torch.from_numpy(mask))
    reference = relative_jet_mass(cloud, mask)
    # E^2 - |p|^2 of the summed four-vectors rounds to ~1e-16 E^2: its root to ~1e-8
    # (a one-particle jet comes out at 1e-9 there, 0 in the pair sum)
    np.testing.assert_allclose(np.sqrt(ours.numpy()), reference, rtol=1e-10, atol=1e-8)
    assert ours[0] == 0 and ours[1] == 0  # no particle, one particle: massless
    # two particles: m^2 = 2 pT_1 pT_2 (cosh Delta eta - cos Delta phi)
    pair = torch.tensor([[[0.1, -0.2, 0.3], [-0.25, 0.15, 0.6]]], dtype=torch.float64)
    expected = 2 * 0.3 * 0.6 * (math.cosh(0.35) - math.cos(0.35))
    torch.testing.assert_close(relative_cloud_mass_squared(pair, torch.ones(1, 2, dtype=bool)),
                               torch.tensor([expected], dtype=torch.float64))
    # the order of the particles does not matter
    order = np.random.default_rng(4).permutation(30)
    shuffled = relative_cloud_mass_squared(torch.from_numpy(cloud[:, order]),
                                           torch.from_numpy(mask[:, order]))
    torch.testing.assert_close(shuffled, ours)


def test_the_pair_sum_keeps_its_digits_in_float32_for_collimated_jets():
    """m / pT of 1e-4: E^2 - |p|^2 of the summed float32 four-vectors (E^2 ~ 1, float32's
    epsilon 1e-7) has no digit left; every term of the pair sum is >= 0, so float32 keeps
    1e-5 relative."""
    cloud, mask = random_clouds(50, 30, seed=5)
    cloud[..., :2] *= 1e-4 / 0.3
    exact = relative_cloud_mass_squared(torch.from_numpy(cloud), torch.from_numpy(mask))
    single = relative_cloud_mass_squared(torch.from_numpy(cloud).float(),
                                         torch.from_numpy(mask))
    real = exact > 0
    assert float(exact[real].sqrt().median()) < 3e-4
    np.testing.assert_allclose(single[real].double().numpy(), exact[real].numpy(), rtol=1e-5)
    t = torch.from_numpy(cloud).float()
    z = t[..., 2] * torch.from_numpy(mask)
    e, pz = (z * torch.cosh(t[..., 0])).sum(1), (z * torch.sinh(t[..., 0])).sum(1)
    px, py = (z * torch.cos(t[..., 1])).sum(1), (z * torch.sin(t[..., 1])).sum(1)
    four_vectors = e**2 - px**2 - py**2 - pz**2
    assert float(((four_vectors[real] - exact[real]).abs() / exact[real]).median()) > 0.01


def test_the_mass_grows_linearly_with_the_angles_of_a_narrow_jet():
    """A jet whose angles are all scaled by a has a times the mass, to O(angle^2)."""
    cloud, mask = random_clouds(20, 30, seed=6)
    cloud[..., :2] *= 1e-4 / 0.3
    narrow = relative_cloud_mass_squared(torch.from_numpy(cloud), torch.from_numpy(mask))
    scaled = cloud.copy()
    scaled[..., :2] *= 3.0
    wider = relative_cloud_mass_squared(torch.from_numpy(scaled), torch.from_numpy(mask))
    real = narrow > 0
    np.testing.assert_allclose((wider[real] / narrow[real]).sqrt().numpy(), 3.0, rtol=1e-6)


def _model(prep: JetCloudPreprocessing, **edm) -> EDMDiffusion:
    cfg = ModelConfig(name="edm", net="cae", hidden=16, blocks=1, heads=2, global_tokens=2,
                      edm=EDMConfig(**edm))
    torch.manual_seed(0)
    return build(cfg, prep.coordinates(), prep.multiplicities).double()


def _batch(prep: JetCloudPreprocessing, sample) -> Batch:
    enc = prep.encode(sample)
    weights = torch.from_numpy(np.random.default_rng(8).uniform(0.5, 1.5, len(sample)))
    return Batch(enc.x, enc.dims_mask, enc.multiplicity.long(), weights, enc.context)


def _twins(jets: int, seed: int, mass_loss: float):
    """(preprocessing, jets, their batch, a plain model, the same weights with the mass
    loss) on ``jets`` toy jets of each of two types."""
    prep = JetCloudPreprocessing()
    sample = two_types(jets, seed=seed)
    prep.fit(sample)
    plain, massive = _model(prep), _model(prep, mass_loss=mass_loss)
    massive.load_state_dict(plain.state_dict())
    return prep, sample, _batch(prep, sample), plain, massive


def _losses(model: EDMDiffusion, batch: Batch, training: bool) -> torch.Tensor:
    model.train(training)
    return model.loss(batch, torch.Generator().manual_seed(11)).detach()


def test_the_mass_term_is_what_the_numpy_functions_make_of_the_denoised_jets():
    prep, sample, batch, plain, massive = _twins(60, seed=9, mass_loss=0.7)
    base = _losses(plain, batch, training=True)
    # eval mode (the validation loss): the squared error alone, as without the option
    assert _losses(massive, batch, training=False) == _losses(plain, batch, training=False)
    # the same draws: sigma and the noise, then the denoised jets
    g = torch.Generator().manual_seed(11)
    n = len(sample)
    sigma = torch.exp(-1.2 + 1.2 * torch.randn(n, generator=g, dtype=torch.float64))
    noise = torch.randn(batch.x.shape, generator=g, dtype=torch.float64)
    mask = batch.dims_mask.to(torch.float64)
    with torch.no_grad():
        denoised = plain.denoise((batch.x + sigma.view(-1, 1, 1) * noise) * mask, sigma,
                                 plain.condition_index(batch.multiplicity), batch.dims_mask,
                                 batch.context).numpy()

    def log_mass(x):
        m = relative_jet_mass(prep.decode_particles(x, sample.mask), sample.mask)
        return np.log(m**2 + MASS_SQUARED_FLOOR) / 2

    error = log_mass(denoised) - log_mass(batch.x.numpy())
    s = sigma.numpy()
    term = 0.7 * (s**2 + 1) / s**2 / (s**2 + 1) * error**2  # lambda c_skip = 1 / sigma^2
    w = batch.weights.numpy()
    expected = float(base) + float((w * term).sum() / w.sum())
    assert float(_losses(massive, batch, training=True)) == pytest.approx(expected, rel=1e-10)
    assert np.all(np.abs(error) < 5) and np.any(np.abs(error) > 1e-3)
    # only at sigma <= mass_loss_sigma_max
    window = _model(prep, mass_loss=0.7, mass_loss_sigma_max=0.3)
    window.load_state_dict(plain.state_dict())
    inside = s <= 0.3
    assert 0 < inside.sum() < n
    expected = float(base) + float((w * term * inside).sum() / w.sum())
    assert float(_losses(window, batch, training=True)) == pytest.approx(expected, rel=1e-10)


def test_the_mass_term_trains_the_network_and_its_gradient_lowers_the_mass_error():
    """Its gradient reaches the network; followed alone, it brings a shrunk jet's mass back
    to the clean jet's (the gradient runs through the decoding of the denoised jet only)."""
    prep, sample, batch, plain, massive = _twins(40, seed=10, mass_loss=5.0)
    grads = []
    for model in (plain, massive):
        model.zero_grad()
        model.train()
        model.loss(batch, torch.Generator().manual_seed(11)).backward()
        grads.append(torch.cat([p.grad.flatten() for p in model.parameters()
                                if p.grad is not None]))
    assert not torch.allclose(grads[0], grads[1])
    # the clean jets, their angles shrunk by 0.8 (lighter), then gradient steps on the error
    shrunk = sample.particles.copy()
    shrunk[..., :2] *= 0.8
    x = torch.from_numpy(prep.encode_particles(shrunk, sample.mask)).requires_grad_()
    start = massive.mass_error(x, batch.x, batch.dims_mask).detach()
    assert float(start.mean()) == pytest.approx(math.log(0.8), abs=0.02)
    optimiser = torch.optim.Adam([x], lr=0.01)
    for _ in range(300):
        optimiser.zero_grad()
        (massive.mass_error(x, batch.x, batch.dims_mask) ** 2).sum().backward()
        x.grad *= batch.dims_mask
        optimiser.step()
    final = massive.mass_error(x, batch.x, batch.dims_mask).detach()
    assert float(final.abs().max()) < 0.01 < 0.2 < float(start.abs().median())


def test_in_pt_sum_units_the_mass_error_is_blind_to_the_summed_pt():
    """``mass_loss_units: pt_sum`` takes m / sum pT_rel (numpy's mass over numpy's sum):
    every constituent of the denoised jet made 30 % softer leaves its error unchanged,
    where in jet-pT units it moves by log 0.7."""
    prep = JetCloudPreprocessing()
    sample = two_types(30, seed=13)
    prep.fit(sample)
    rng = np.random.default_rng(3)
    # a denoised jet: the clean one with its angles and pT shares perturbed
    moved = sample.particles.copy()
    moved[..., :2] *= rng.uniform(0.8, 1.2, moved.shape[:2])[..., None]
    moved[..., 2] *= rng.uniform(0.8, 1.2, moved.shape[:2])
    softer = moved.copy()
    softer[..., 2] *= 0.7
    dims = prep.dims_mask(sample.mask)
    x = torch.from_numpy(prep.encode_particles(sample.particles, sample.mask))

    def error(units: str, particles: np.ndarray) -> np.ndarray:
        model = _model(prep, mass_loss=1.0, mass_loss_units=units)
        cloud = torch.from_numpy(prep.encode_particles(particles, sample.mask))
        return model.mass_error(cloud, x, dims).numpy()

    def log_mass_over_sum(particles: np.ndarray) -> np.ndarray:
        m = relative_jet_mass(particles, sample.mask)
        total = np.where(sample.mask, particles[..., 2], 0.0).sum(-1)
        return np.log((m / total) ** 2 + MASS_SQUARED_FLOOR) / 2

    expected = log_mass_over_sum(moved) - log_mass_over_sum(sample.particles)
    # atol: a one-constituent jet, massless in the pair sum, ~1e-8 in four-vectors
    np.testing.assert_allclose(error("pt_sum", moved), expected, rtol=1e-8, atol=1e-7)
    np.testing.assert_allclose(error("pt_sum", softer), error("pt_sum", moved), atol=1e-8)
    # (jets of m / pT > 0.01, where the floor added to m^2 is 1e-4 of it or less)
    heavy = relative_jet_mass(moved, sample.mask) > 0.01
    assert heavy.sum() > 40
    np.testing.assert_allclose((error("jet_pt", softer) - error("jet_pt", moved))[heavy],
                               math.log(0.7), atol=1e-4)
    assert np.abs(expected).max() > 0.01
    with pytest.raises(ValueError, match="got 'pt-sum'"):
        _model(prep, mass_loss=1.0).mass_error(x, x, dims, units="pt-sum")


def test_the_mass_loss_needs_constituents():
    with pytest.raises(LhcgenError, match="'model.edm.mass_loss' needs constituents"):
        build(ModelConfig(name="edm", edm=EDMConfig(mass_loss=1.0)), Coordinates.plain([0, 0]),
              [0])


@pytest.fixture(scope="module")
def mass_run(tmp_path_factory):
    root = tmp_path_factory.mktemp("mass_loss_run")
    write_jets(root / "truth.h5", two_types(200, seed=1))
    base = _config(root, "edm", "cae", root / "truth.h5")
    path = _with(base, str(root / "mass.yaml"),
                 model={"edm": {"mass_loss": 1.0, "mass_loss_sigma_max": 1.0,
                                "mass_loss_units": "pt_sum"}})
    assert main(["train", path, "--out", str(root / "run"), "--no-progress"]) == 0
    return root, base


def test_a_run_with_the_mass_loss_trains_samples_and_records_it(mass_run):
    root, _ = mass_run
    config = yaml.safe_load((root / "run" / "config.yaml").read_text())
    assert config["model"]["edm"]["mass_loss"] == 1.0
    assert config["model"]["edm"]["mass_loss_sigma_max"] == 1.0
    assert config["model"]["edm"]["mass_loss_units"] == "pt_sum"
    metrics = json.loads((root / "run" / "metrics.json").read_text())
    assert math.isfinite(metrics["final_val_loss"])
    assert main(["sample", str(root / "run"), "-n", "50", "--out", str(root / "gen.h5"),
                 "--no-progress"]) == 0
    jets = read_jets(root / "gen.h5")
    assert len(jets) == 50 and np.all(np.isfinite(jets.particles))


@pytest.mark.parametrize("edm,needle", [
    ({"mass_loss": -1.0}, "'model.edm.mass_loss' must be a finite number >= 0"),
    ({"mass_loss": float("inf")}, "'model.edm.mass_loss' must be a finite number >= 0"),
    ({"mass_loss": 1.0, "mass_loss_sigma_max": 0.0}, "'model.edm.mass_loss_sigma_max' must "
                                                     "be > 0"),
    ({"mass_loss": 1.0, "mass_loss_units": "GeV"}, "'model.edm.mass_loss_units' must be one "
                                                   "of 'jet_pt', 'pt_sum', got 'GeV'"),
])
def test_impossible_mass_loss_settings_are_one_line(mass_run, capsys, edm, needle):
    root, base = mass_run
    path = _with(base, str(root / "bad.yaml"), model={"edm": edm})
    assert main(["train", path, "--out", str(root / "bad_run"), "--no-progress"]) == 1
    one_line_error(capsys, needle)
    assert not (root / "bad_run").exists()


def test_a_process_without_constituents_refuses_the_mass_loss(tmp_path, capsys):
    cfg = {"data": {"process": "zjets", "train": str(tmp_path / "events.h5")},
           "model": {"name": "edm", "hidden": 16, "blocks": 1, "edm": {"mass_loss": 1.0}}}
    path = tmp_path / "cfg.yaml"
    path.write_text(yaml.safe_dump(cfg))
    assert main(["train", str(path), "--out", str(tmp_path / "run"), "--no-progress"]) != 0
    one_line_error(capsys, "process 'zjets' has no constituents")
    assert not (tmp_path / "run").exists()


def test_the_denoised_mass_benchmark_runs_and_the_error_vanishes_at_low_noise(mass_run,
                                                                             tmp_path):
    """At sigma -> 0 any preconditioned denoiser returns its input (c_skip -> 1, c_out -> 0):
    the mass error is O(sigma); at sigma = 3 it is the blurred mean's, far lighter."""
    from benchmarks.jets_denoised_mass import denoised_mass, render

    root, _ = mass_run
    row = denoised_mass(str(root / "run"), str(root / "truth.h5"), "t", 150, [1e-4, 3.0],
                        seed=0)
    low, high = row["levels"]
    for key in ("mass_error", "mass_over_sum_error"):  # in jet-pT units and over the sum
        assert abs(low[f"{key}_mean"]) < 1e-3 and low[f"{key}_rms"] < 1e-3
    assert high["mass_error_mean"] < -0.1
    assert high["mass_over_sum_error_rms"] != high["mass_error_rms"]
    assert row["mass_loss"] == 1.0 and row["mass_loss_sigma_max"] == 1.0
    assert row["mass_loss_units"] == "pt_sum"
    text = render({"machine": {"cpu": "x", "logical_cpus": 2, "torch": "t", "python": "p"},
                   "command": "c", "truth": "f", "type": "t", "jets": 150, "threads": 1,
                   "seed": 0, "seconds": 1.0, "rows": [row]})
    assert "1 of m / Σ pT, σ ≤ 1" in text and "σ = 0.0001" in text and "blind to the sum" in text
    with pytest.raises(LhcgenError, match="fewer than 100000"):
        denoised_mass(str(root / "run"), str(root / "truth.h5"), "t", 100000, [1.0], seed=0)


def test_the_mass_error_stays_in_float32_under_a_bfloat16_autocast():
    prep = JetCloudPreprocessing()
    sample = two_types(30, seed=12)
    prep.fit(sample)
    model = _model(prep, mass_loss=1.0).float()
    x = torch.from_numpy(prep.encode_particles(sample.particles, sample.mask)).float()
    dims = prep.dims_mask(sample.mask)
    shrunk = x * 0.9
    plain = model.mass_error(shrunk, x, dims)
    with torch.autocast(device_type="cpu", dtype=torch.bfloat16):
        autocast = model.mass_error(shrunk, x, dims)
    assert autocast.dtype == torch.float32
    torch.testing.assert_close(autocast, plain)
