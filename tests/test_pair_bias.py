"""Pair biases of the particle transformer (ParT's interaction features, model.pair_bias):
added to the logits exactly, functions of the distance alone, equivariant, off = the plain
transformer, wired through the config to `lhcgen train | sample`."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from lhcgen.cli import main
from lhcgen.data.jet_hdf5 import read_jets, write_jets
from lhcgen.errors import LhcgenError
from lhcgen.models import build_generator
from lhcgen.models.config import ModelConfig
from lhcgen.nets.cloud_attention import MaskedAttention
from lhcgen.nets.cloud_transformer import CloudTransformer
from lhcgen.nets.pair_bias import PairDistanceBias
from lhcgen.transforms.coordinates import Coordinates
from lhcgen.transforms.jet_cloud import JetCloudPreprocessing
from tests.cli_helpers import one_line_error
from tests.test_jet_generators import _config, two_types

N, P, F, C, HEADS, LAYERS = 4, 7, 3, 5, 2, 3


def _positions(seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    generator = torch.Generator().manual_seed(seed)
    return torch.randn(N, P, F, generator=generator), torch.randn(N, C, generator=generator)


def test_the_bias_is_added_to_the_attention_logits():
    """softmax(q k / sqrt(d) + bias) v over the allowed keys, written out by hand; a query
    without keys gets zero."""
    torch.manual_seed(0)
    attention = MaskedAttention(8, HEADS)
    generator = torch.Generator().manual_seed(1)
    q, kv = torch.randn(3, 4, 8, generator=generator), torch.randn(3, 5, 8, generator=generator)
    bias = torch.randn(3, HEADS, 4, 5, generator=generator)
    key_mask = torch.tensor([[1, 1, 0, 1, 0], [1, 1, 1, 1, 1], [0, 0, 0, 0, 0]], dtype=bool)
    out = attention(q, kv, key_mask, bias)

    query = attention.query(q).unflatten(-1, (HEADS, -1)).transpose(1, 2)
    key, value = (h.unflatten(-1, (HEADS, -1)).transpose(1, 2)
                  for h in attention.key_value(kv).chunk(2, dim=-1))
    logits = query @ key.transpose(-1, -2) / math.sqrt(8 / HEADS) + bias
    logits = logits.masked_fill(~key_mask[:, None, None, :], float("-inf"))
    expected = torch.softmax(logits[:2], dim=-1) @ value[:2]
    expected = attention.out(expected.transpose(1, 2).flatten(2))
    torch.testing.assert_close(out[:2], expected, atol=1e-6, rtol=0)
    torch.testing.assert_close(out[2], attention.out(torch.zeros(4, 8)), atol=0, rtol=0)


def test_the_biases_are_functions_of_the_distance_alone():
    """Rotating and translating the particles in their plane, or changing the features that
    are not coordinates, leaves every bias as it was; each is symmetric in the pair."""
    torch.manual_seed(0)
    pairs = PairDistanceBias(2, C, HEADS, LAYERS)
    x, context = _positions()
    bias = pairs(x, context)
    assert bias.shape == (N, LAYERS, HEADS, P, P)
    torch.testing.assert_close(bias, bias.transpose(-1, -2), atol=0, rtol=0)
    angle = 0.7
    rotation = torch.tensor([[math.cos(angle), -math.sin(angle)],
                             [math.sin(angle), math.cos(angle)]])
    moved = x.clone()
    moved[..., :2] = x[..., :2] @ rotation.T + torch.tensor([0.3, -1.2])
    moved[..., 2] = torch.randn(N, P)
    torch.testing.assert_close(pairs(moved, context), bias, atol=1e-5, rtol=0)
    # but the distance matters: pull one particle onto another
    closer = x.clone()
    closer[:, 1, :2] = x[:, 0, :2]
    assert (pairs(closer, context)[..., 0, 1] - bias[..., 0, 1]).abs().amax() > 1e-3


def test_permuting_the_particles_permutes_the_biases():
    torch.manual_seed(0)
    pairs = PairDistanceBias(2, C, HEADS, LAYERS)
    x, context = _positions()
    perm = torch.randperm(P, generator=torch.Generator().manual_seed(3))
    torch.testing.assert_close(pairs(x[:, perm], context),
                               pairs(x, context)[..., perm, :][..., perm], atol=1e-6, rtol=0)


def test_zero_biases_give_the_plain_transformer():
    """The pair transformer with its bias output zeroed is the plain transformer with the same
    weights: the biases enter nowhere else."""
    torch.manual_seed(0)
    plain = CloudTransformer(F, F, C, dim=16, heads=HEADS, layers=LAYERS)
    paired = CloudTransformer(F, F, C, dim=16, heads=HEADS, layers=LAYERS, pair_coordinates=2)
    missing, unexpected = paired.load_state_dict(plain.state_dict(), strict=False)
    assert not unexpected and missing and all(k.startswith("pairs.") for k in missing)
    x, context = _positions()
    mask = torch.arange(P)[None] < torch.tensor([7, 4, 1, 0])[:, None]
    assert (paired(x, mask, context) - plain(x, mask, context)).abs().amax() > 1e-4
    torch.nn.init.zeros_(paired.pairs.out.weight)
    torch.nn.init.zeros_(paired.pairs.out.bias)
    torch.testing.assert_close(paired(x, mask, context), plain(x, mask, context),
                               atol=1e-6, rtol=0)


def test_coincident_particles_have_finite_gradients():
    """Two particles at one place (and each particle at its own): the distance features are
    smooth there, so training on jets with collinear constituents gives no NaN."""
    torch.manual_seed(0)
    net = CloudTransformer(F, F, C, dim=16, heads=HEADS, layers=2, pair_coordinates=2)
    x, context = _positions()
    x[:, 1] = x[:, 0]
    x.requires_grad_(True)
    net(x, torch.ones(N, P, dtype=torch.bool), context).square().sum().backward()
    assert torch.isfinite(x.grad).all()
    assert all(torch.isfinite(p.grad).all() for p in net.parameters())


def test_the_angular_network_distance_is_delta_r_up_to_the_maps_stretch():
    """What the pair feature rests on: for jets the first two network coordinates are
    (Delta eta, Delta phi) g(r) with g(r) = atanh(r / R) / r, standardised. The map's
    Jacobian has singular values between g(0) = 1 / R and 1 / (R (1 - rho^2 / R^2)) within a
    radius rho of the axis, so two constituents there lie at a network distance between
    Delta R / (R s_max) and Delta R / (R (1 - rho^2 / R^2) s_min) (s: the coordinates'
    standard deviations): the distance is Delta R to within a known stretch, the same for
    every pair."""
    prep = JetCloudPreprocessing()
    prep.fit(two_types())
    assert prep.coordinates().angular == 2
    big_r = prep.max_delta_r
    rho = big_r / 2  # the stretch is at most 1 / (1 - 1/4): within a third of Delta R
    generator = np.random.default_rng(3)
    radius = rho * np.sqrt(generator.uniform(size=(2, 4000)))
    angle = generator.uniform(0, 2 * np.pi, size=(2, 4000))
    particles = np.stack([radius * np.cos(angle), radius * np.sin(angle),
                          np.full_like(radius, 0.05)], axis=-1)  # (2 particles, pairs, 3)
    x = prep.encode_particles(particles, np.ones(particles.shape[:2], dtype=bool))
    distance = np.hypot(*(x[0, :, :2] - x[1, :, :2]).T)
    delta_r = np.hypot(*(particles[0, :, :2] - particles[1, :, :2]).T)
    ratio = distance * big_r / delta_r
    std = np.asarray(prep.particle_std[:2])
    assert ratio.min() >= 1 / std.max() * (1 - 1e-9)
    assert ratio.max() <= 1 / ((1 - rho**2 / big_r**2) * std.min()) * (1 + 1e-9)
    assert np.corrcoef(distance, delta_r)[0, 1] > 0.99


def test_out_of_range_pair_coordinates_are_refused():
    with pytest.raises(ValueError, match="pair_coordinates 4"):
        CloudTransformer(F, F, C, pair_coordinates=4)
    with pytest.raises(ValueError, match="5 angular coordinates among 3"):
        Coordinates.cloud(30, 3, 4, angular=5)


@pytest.mark.parametrize("net,coordinates,needle", [
    ("cae", Coordinates.cloud(30, 3, 4, angular=2), "net 'cae'"),
    ("transformer", Coordinates.cloud(30, 3, 4), "0 angular coordinates"),
    ("transformer", Coordinates.plain([0, 0, 1]), "events have no pairwise"),
])
def test_pair_bias_where_it_does_not_apply_is_a_user_error(net, coordinates, needle):
    cfg = ModelConfig(name="edm", net=net, hidden=16, blocks=2, pair_bias=True)
    with pytest.raises(LhcgenError, match=needle):
        build_generator(cfg, coordinates, [0])


def test_train_and_sample_jets_with_pair_biases(tmp_path, capsys):
    write_jets(tmp_path / "truth.h5", two_types(100, seed=1))
    config = _config(tmp_path, "edm", "transformer", tmp_path / "truth.h5", pair_bias=True)
    assert main(["train", config, "--out", str(tmp_path / "run"), "--no-progress"]) == 0
    checkpoint = torch.load(tmp_path / "run" / "checkpoint.pt", weights_only=False)
    assert any(".pairs." in key for key in checkpoint["model"])
    out = tmp_path / "gen.h5"
    assert main(["sample", str(tmp_path / "run"), "-n", "40", "--out", str(out),
                 "--no-progress"]) == 0
    jets = read_jets(out)
    assert len(jets) == 40 and np.all(jets.particles[jets.mask][:, 2] > 0)
    capsys.readouterr()
    bad = _config(tmp_path, "edm", "cae", tmp_path / "truth.h5", pair_bias=True)
    assert main(["train", bad, "--out", str(tmp_path / "bad"), "--no-progress"]) == 1
    one_line_error(capsys, "model.pair_bias needs model.net: transformer")
    assert not (tmp_path / "bad").exists()
