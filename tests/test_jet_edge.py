"""The jet edge of the network's radial coordinate (``preprocessing.stretch_jet_edge``).

Anti-kT's catchment ends at Delta R = R; in pseudorapidity a few soft hadrons lie beyond, and
they set R_max. The stretched edge keeps every constituent (a bijection), puts the steep fall
of the constituent density at R where atanh diverges, and leaves the old map for runs and
files without an edge."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import yaml

from lhcgen.cli import main
from lhcgen.data.jet_hdf5 import read_jets, write_jets
from lhcgen.data.jets import JetCloudSample
from lhcgen.errors import LhcgenError
from lhcgen.transforms.jet_cloud import JetCloudPreprocessing, JetCloudPreprocessingConfig
from tests.test_jet_generators import _config
from tests.test_jets_data import toy_jets

RADIUS = 0.8
EDGE = JetCloudPreprocessingConfig(stretch_jet_edge=True)


def edged_jets(n: int = 400, seed: int = 3, radius_attr: float | None = RADIUS
               ) -> JetCloudSample:
    """Jets whose constituents fill the catchment Delta R < R (density ~ r exp(-r / 0.15),
    cut at R: a cliff, as anti-kT's), with one soft constituent in 20 jets beyond R, out to
    Delta R = 3 (Pythia's soft massive hadrons in pseudorapidity)."""
    sample = toy_jets(n, slots=30, jet_type=2, seed=seed)
    rng = np.random.default_rng(seed)
    shape = sample.particles.shape[:2]
    r = rng.gamma(2.0, 0.15, shape)
    while np.any(r >= RADIUS):
        far = r >= RADIUS
        r[far] = rng.gamma(2.0, 0.15, int(far.sum()))
    beyond = rng.random(n) < 0.05
    last = sample.mask.sum(axis=1) - 1
    r[beyond, last[beyond]] = rng.uniform(RADIUS, 3.0, int(beyond.sum()))
    angle = rng.uniform(0, 2 * np.pi, shape)
    sample.particles[..., 0] = np.where(sample.mask, r * np.cos(angle), 0.0)
    sample.particles[..., 1] = np.where(sample.mask, r * np.sin(angle), 0.0)
    if radius_attr is not None:
        sample.attrs["cuts"] = {"jet_radius": radius_attr}
    return sample


def radial_coordinate(prep: JetCloudPreprocessing, r: np.ndarray) -> np.ndarray:
    """The network's unstandardised radial coordinate s of constituents at Delta R = r."""
    particles = np.stack([r, np.zeros_like(r), np.full_like(r, 0.01)], axis=-1)
    return prep._particle_coordinates(particles)[..., 0]


@pytest.fixture(scope="module")
def edged():
    sample = edged_jets()
    prep = JetCloudPreprocessing(EDGE)
    prep.fit(sample)
    return prep, sample


def test_the_edge_is_the_files_jet_radius_and_beyond_it_is_counted(edged):
    prep, sample = edged
    r = np.hypot(*sample.particles[sample.mask][:, :2].T)
    assert prep.jet_edge == RADIUS and prep.edge_bound == pytest.approx(1.02 * RADIUS)
    assert prep.max_delta_r == pytest.approx(1.02 * r.max())
    assert prep.fit_counts["constituents_beyond_jet_radius"] == int((r > RADIUS).sum()) > 0


def test_every_constituent_round_trips_also_beyond_the_edge(edged):
    prep, sample = edged
    x = prep.encode_particles(sample.particles, sample.mask)
    back = prep.decode_particles(x, sample.mask)
    np.testing.assert_allclose(back, sample.particles, rtol=1e-9, atol=1e-12)
    state = prep.state_dict()
    again = JetCloudPreprocessing()
    again.load_state_dict(state)
    np.testing.assert_array_equal(again.encode_particles(sample.particles, sample.mask), x)


def test_the_radial_map_is_continuous_monotone_and_stretched_at_the_edge(edged):
    prep, _ = edged
    bound = 1.02 * RADIUS
    r = np.linspace(0.0, prep.max_delta_r * (1 - 1e-6), 200_001)
    s = radial_coordinate(prep, r)
    assert np.all(np.diff(s) > 0)
    # the closed form: atanh(r / R_a) inside R, atanh of the linear shell beyond
    shell = (bound - RADIUS) / (prep.max_delta_r - RADIUS)
    inner = np.where(r <= RADIUS, r, RADIUS + (r - RADIUS) * shell)
    np.testing.assert_allclose(s, np.arctanh(inner / bound), rtol=1e-12, atol=1e-12)
    below, above = radial_coordinate(prep, np.array([RADIUS * (1 - 1e-9), RADIUS * (1 + 1e-9)]))
    assert above - below < 1e-6  # no jump at R
    # Jacobian at R from inside, against its closed form and against the old map's
    eps = 1e-7
    slope = (radial_coordinate(prep, np.array([RADIUS]))
             - radial_coordinate(prep, np.array([RADIUS - eps])))[0] / eps
    assert slope == pytest.approx(1 / (bound * (1 - (RADIUS / bound) ** 2)), rel=1e-4)
    old_slope = 1 / (prep.max_delta_r * (1 - (RADIUS / prep.max_delta_r) ** 2))
    assert slope > 20 * old_slope
    # the constituents beyond R keep moderate coordinates: the farthest training one (at
    # R_max / 1.02, here 3.7 R) at s = 4.1, where the old map had it at atanh(1 / 1.02) = 2.3
    # and everything within R at s < 0.28
    far = prep.max_delta_r / 1.02
    farthest = radial_coordinate(prep, np.array([far]))[0]
    share = (far - RADIUS) / (prep.max_delta_r - RADIUS)
    assert farthest == pytest.approx(np.arctanh((RADIUS + (bound - RADIUS) * share) / bound))
    assert farthest < 4.5


def test_the_edge_turns_the_cliff_into_a_slope_in_the_network_coordinate():
    """The constituent density at R falls by the cut's whole height within one bin in the
    old coordinate; in the stretched one, each bin of the standardised coordinate below the
    edge holds no more than a few times the next one (no cliff for the network to smooth)."""
    sample = edged_jets(n=2000, seed=5)
    worst = {}
    for stretch in (True, False):
        prep = JetCloudPreprocessing(JetCloudPreprocessingConfig(stretch_jet_edge=stretch))
        prep.fit(sample)
        x = prep.encode_particles(sample.particles, sample.mask)[sample.mask]
        s = np.hypot(x[:, 0], x[:, 1])
        r = np.hypot(*sample.particles[sample.mask][:, :2].T)
        # bins 0.1 standard deviations wide from the median to the edge and beyond
        edges = np.arange(np.median(s), s.max() + 0.1, 0.1)
        counts, _ = np.histogram(s, edges)
        at_edge = np.searchsorted(edges, s[r < RADIUS].max()) - 1
        worst[stretch] = counts[at_edge] / max(counts[at_edge + 1], 1)
    assert worst[False] > 10 * worst[True]
    assert worst[True] < 3


def test_no_edge_without_the_option_a_radius_or_constituents_beyond_it():
    for prep, sample in (
            (JetCloudPreprocessing(JetCloudPreprocessingConfig(stretch_jet_edge=False)),
             edged_jets()),
            (JetCloudPreprocessing(), edged_jets()),  # the default
            (JetCloudPreprocessing(EDGE), edged_jets(radius_attr=None)),
            (JetCloudPreprocessing(EDGE), edged_jets(radius_attr=4.0))):  # all within 1.02 R
        prep.fit(sample)
        assert prep.jet_edge == 0.0 and "constituents_beyond_jet_radius" not in prep.fit_counts
        r = np.linspace(0, prep.max_delta_r * 0.999, 101)
        np.testing.assert_allclose(radial_coordinate(prep, r),
                                   np.arctanh(r / prep.max_delta_r), rtol=1e-12)
    configured = JetCloudPreprocessing(JetCloudPreprocessingConfig(stretch_jet_edge=True,
                                                                   jet_radius=0.5))
    configured.fit(edged_jets(radius_attr=None))
    assert configured.jet_edge == 0.5


def test_a_run_saved_before_the_edge_decodes_as_it_did(edged):
    prep, sample = edged
    state = {k: v for k, v in prep.state_dict().items() if k != "jet_edge"}
    old = JetCloudPreprocessing()
    old.load_state_dict(state)
    assert old.jet_edge == 0.0
    x = np.random.default_rng(0).normal(0, 1, sample.particles.shape)
    back = old.decode_particles(x, sample.mask)
    std, mean = np.asarray(old.particle_std), np.asarray(old.particle_mean)
    raw = x * std + mean
    s = np.hypot(raw[..., 0], raw[..., 1])
    expected_r = old.max_delta_r * np.tanh(s)
    np.testing.assert_allclose(np.hypot(back[..., 0], back[..., 1])[sample.mask],
                               expected_r[sample.mask], rtol=1e-12)


def test_wild_network_outputs_stay_inside_r_max(edged):
    prep, sample = edged
    x = np.random.default_rng(1).normal(0, 30, sample.particles.shape)
    back = prep.decode_particles(x, sample.mask)[sample.mask]
    assert np.all(np.isfinite(back))
    assert np.all(np.hypot(back[:, 0], back[:, 1]) <= prep.max_delta_r * (1 + 1e-12))


def test_a_negative_jet_radius_is_one_line():
    prep = JetCloudPreprocessing(JetCloudPreprocessingConfig(stretch_jet_edge=True,
                                                             jet_radius=-0.4))
    with pytest.raises(LhcgenError, match="jet_radius must be >= 0"):
        prep.fit(edged_jets())


def test_a_run_with_the_edge_trains_samples_and_keeps_it_from_the_command_line(tmp_path):
    """lhcgen train with preprocessing.stretch_jet_edge on a file naming R = 0.8: the run's
    preprocessing.json records the edge and its count; lhcgen sample (which rebuilds the map
    from the run) writes constituents inside R_max; a run fine-tuned from it keeps it."""
    truth = tmp_path / "truth.h5"
    write_jets(truth, edged_jets(300, seed=7))
    cfg = yaml.safe_load(Path(_config(tmp_path, "edm", "cae", truth)).read_text())
    cfg["preprocessing"] = {"stretch_jet_edge": True}
    config = tmp_path / "edge.yaml"
    config.write_text(yaml.safe_dump(cfg))
    assert main(["train", str(config), "--out", str(tmp_path / "run"), "--no-progress"]) == 0
    state = json.loads((tmp_path / "run" / "preprocessing.json").read_text())
    reloaded = JetCloudPreprocessing()
    reloaded.load_state_dict(state)
    assert state["jet_edge"] == RADIUS and reloaded.edge_bound == pytest.approx(1.02 * RADIUS)
    assert state["fit_counts"]["constituents_beyond_jet_radius"] > 0
    out = tmp_path / "gen.h5"
    assert main(["sample", str(tmp_path / "run"), "-n", "60", "--out", str(out),
                 "--no-progress"]) == 0
    jets = read_jets(out)
    r = np.hypot(*jets.particles[jets.mask][:, :2].T)
    assert len(jets) == 60 and np.all(r < state["max_delta_r"])
    assert jets.attrs["jet_edge"] == RADIUS
    cfg["training"]["init_from"] = str(tmp_path / "run")
    config.write_text(yaml.safe_dump(cfg))
    assert main(["train", str(config), "--out", str(tmp_path / "tuned"), "--no-progress"]) == 0
    tuned = json.loads((tmp_path / "tuned" / "preprocessing.json").read_text())
    assert tuned["jet_edge"] == RADIUS and tuned["max_delta_r"] == state["max_delta_r"]
