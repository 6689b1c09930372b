"""Each transform: inverse round trip and log|det J| against the autograd Jacobian."""

import math

import numpy as np
import pytest
import torch

from lhcgen.errors import LhcgenError
from lhcgen.transforms.bounded import ArcTanh
from lhcgen.transforms.kinematics import RelativePhi, ToPtEtaPhiM
from lhcgen.transforms.log_scaling import log_mass, log_pt_shift
from lhcgen.transforms.objects import object_mask
from lhcgen.transforms.standardize import Standardize
from lhcgen.transforms.zjets import PreprocessingConfig, ZJetsPreprocessing


@pytest.fixture(autouse=True)
def _float64_default():
    """Physics transforms are float64; set it for this module only, then restore."""
    previous = torch.get_default_dtype()
    torch.set_default_dtype(torch.float64)
    yield
    torch.set_default_dtype(previous)


def _momenta(n=6, slots=3, seed=0):
    g = torch.Generator().manual_seed(seed)
    pt = 25 + 50 * torch.rand(n, slots, generator=g)
    eta = 4 * torch.rand(n, slots, generator=g) - 2
    phi = 2 * math.pi * torch.rand(n, slots, generator=g) - math.pi
    m = 1 + 10 * torch.rand(n, slots, generator=g)
    return ToPtEtaPhiM(0).inverse(torch.stack([pt, eta, phi, m], -1),
                                  torch.ones(n, slots, dtype=torch.bool))


def _autograd_logdet(transform, x, mask, coords):
    """log|det| of the map restricted to the (slot, feature) coordinates ``coords``."""
    out = []
    for i in range(x.shape[0]):
        def f(v, i=i):
            full = x[i:i + 1].clone()
            for k, (s, c) in enumerate(coords):
                full[0, s, c] = v[k]
            y, _ = transform.forward(full, mask[i:i + 1])
            return torch.stack([y[0, s, c] for s, c in coords])
        v0 = torch.stack([x[i, s, c] for s, c in coords])
        jac = torch.autograd.functional.jacobian(f, v0)
        out.append(torch.linalg.slogdet(jac)[1])
    return torch.stack(out)


def test_pt_eta_phi_m_jacobian_massive_and_massless():
    x = _momenta()
    mask = torch.ones(x.shape[:2], dtype=torch.bool)
    t = ToPtEtaPhiM(n_massless=0)
    _, logdet = t.forward(x, mask)
    coords = [(s, c) for s in range(3) for c in range(4)]
    torch.testing.assert_close(logdet, _autograd_logdet(t, x, mask, coords))
    # massless slots: density on (px, py, pz) -> (pT, eta, phi)
    t0 = ToPtEtaPhiM(n_massless=1)
    single = x[:, :1]
    _, ld = t0.forward(single, mask[:, :1])
    coords = [(0, 1), (0, 2), (0, 3)]

    def f3(tr, xx, mm):
        y, ldd = tr.forward(xx, mm)
        return y, ldd
    ref = []
    for i in range(len(single)):
        def g(v, i=i):
            e = torch.sqrt(v @ v + 0.1**2)  # on-shell muon-like: m = 0.1
            p = torch.cat([e[None], v])[None, None]
            y, _ = f3(t0, p, mask[i:i + 1, :1])
            return y[0, 0, :3]
        ref.append(torch.linalg.slogdet(torch.autograd.functional.jacobian(
            g, single[i, 0, 1:]))[1])
    torch.testing.assert_close(ld, torch.stack(ref))


@pytest.mark.parametrize("transform,coords", [
    (log_pt_shift([0, 1, 2], 20.0, 0.1), [(s, 0) for s in range(3)]),
    (log_mass([1, 2], 0.1), [(1, 3), (2, 3)]),
    (RelativePhi([0.0, math.pi, 0.0]), [(s, 2) for s in range(3)]),
    (ArcTanh(1, 1, 4.0), [(1, 1)]),
])
def test_elementwise_jacobians_and_round_trip(transform, coords):
    x = ToPtEtaPhiM(0).forward(_momenta(), torch.ones(6, 3, dtype=torch.bool))[0]
    mask = torch.ones(6, 3, dtype=torch.bool)
    mask[0, 2] = False
    x[0, 2] = 0.0
    y, logdet = transform.forward(x, mask)
    torch.testing.assert_close(transform.inverse(y, mask), x)
    ref = _autograd_logdet(transform, x[1:], mask[1:], coords)
    torch.testing.assert_close(logdet[1:], ref)


def test_standardize_fit_round_trip_and_jacobian():
    g = torch.Generator().manual_seed(1)
    x = 3 + 2 * torch.randn(500, 4, generator=g)
    mask = torch.ones(500, 4, dtype=torch.bool)
    t = Standardize(lambda m: m)
    t.fit(x, mask, torch.ones(500))
    y, logdet = t.forward(x, mask)
    torch.testing.assert_close(y.mean(0), torch.zeros(4), atol=1e-12, rtol=0)
    torch.testing.assert_close(y.std(0, unbiased=False), torch.ones(4))
    torch.testing.assert_close(t.inverse(y, mask), x)
    torch.testing.assert_close(logdet, -torch.log(t.std).sum().expand(500))


@pytest.mark.parametrize("options", [{"muon_coordinates": "muons"},
                                     {"muon_coordinates": "muons", "muon_eta_max": 2.5},
                                     {"muon_coordinates": "dimuon"}])
def test_zjets_chain_round_trip(toy_sample, options):
    pp = ZJetsPreprocessing(PreprocessingConfig(**options))
    pp.fit(toy_sample)
    enc = pp.encode(toy_sample)
    assert enc.x.shape == (len(toy_sample), 17)
    assert not enc.x[~enc.dims_mask].any()
    active = enc.x[enc.dims_mask]
    assert abs(float(active.mean())) < 0.05
    back = pp.decode(enc.x, enc.multiplicity, torch.Generator().manual_seed(0))
    # phi_mu1 is redrawn, so compare rotation-invariant quantities
    from lhcgen.physics import fourvectors as fv
    np.testing.assert_allclose(fv.pt(back), fv.pt(toy_sample.momenta), atol=1e-9)
    np.testing.assert_allclose(fv.eta(back), fv.eta(toy_sample.momenta), atol=1e-9)
    for slot in range(1, 5):
        ok = toy_sample.mask[:, slot]
        np.testing.assert_allclose(
            fv.delta_phi(back[ok, slot], back[ok, 0]),
            fv.delta_phi(toy_sample.momenta[ok, slot], toy_sample.momenta[ok, 0]), atol=1e-9)
    np.testing.assert_allclose(fv.mass(back[:, 2:]), fv.mass(toy_sample.momenta[:, 2:]),
                               atol=1e-6)


@pytest.mark.parametrize("coordinates", ["muons", "dimuon"])
def test_encoding_is_invariant_under_phi_rotation(toy_sample, coordinates):
    pp = ZJetsPreprocessing(PreprocessingConfig(muon_coordinates=coordinates))
    pp.fit(toy_sample)
    c, s = math.cos(0.7), math.sin(0.7)
    rotated = toy_sample.subset(slice(None))
    p = rotated.momenta.copy()
    p[..., 1], p[..., 2] = c * toy_sample.momenta[..., 1] - s * toy_sample.momenta[..., 2], \
        s * toy_sample.momenta[..., 1] + c * toy_sample.momenta[..., 2]
    rotated.momenta = p
    torch.testing.assert_close(pp.encode(rotated).x, pp.encode(toy_sample).x)


def test_dimuon_coordinates_hold_the_pair_mass_and_order_the_muons(toy_sample):
    from lhcgen.physics import fourvectors as fv
    from lhcgen.transforms.dimuon import DimuonSystem

    mask = torch.from_numpy(toy_sample.mask)
    x, _ = ToPtEtaPhiM(2).forward(torch.from_numpy(toy_sample.momenta), mask)
    t = DimuonSystem(0.1056583755)
    y, logdet = t.forward(x, mask)
    pair = toy_sample.momenta[:, 0] + toy_sample.momenta[:, 1]
    np.testing.assert_allclose(y[:, 0, 3].numpy(), fv.mass(pair), rtol=1e-9)
    np.testing.assert_allclose(y[:, 0, 0].numpy(), fv.pt(pair), rtol=1e-9)
    assert torch.isfinite(logdet).all()
    # the decay axis reversed (the other muon's direction) decodes to the same ordered pair
    flipped = y.clone()
    flipped[:, 1, 1] = -y[:, 1, 1]
    flipped[:, 1, 2] = y[:, 1, 2] + math.pi
    torch.testing.assert_close(t.inverse(flipped, mask)[:, :2], t.inverse(y, mask)[:, :2])
    torch.testing.assert_close(t.inverse(y, mask)[:, :2, :3], x[:, :2, :3])


def test_below_cut_is_an_error_not_a_silent_drop(toy_sample):
    pp = ZJetsPreprocessing(PreprocessingConfig())
    pp.fit(toy_sample)
    bad = toy_sample.subset(slice(0, 10))
    bad.momenta = bad.momenta.copy()
    bad.momenta[3, 0, 1:3] *= 0.1  # muon pT far below 20 GeV
    with pytest.raises(LhcgenError, match="1 of 10 events"):
        pp.encode(bad)


def test_object_mask():
    mask = object_mask(torch.tensor([1, 3]), n_fixed=2, n_slots=5)
    assert mask.tolist() == [[True, True, True, False, False], [True] * 5]
