"""The kinematics modules: closed forms and properties of the numpy one, and the torch twin
held to the numpy numbers (same names, conventions and formulas)."""

import math

import numpy as np
import pytest
import torch

from lhcgen.physics import fourvectors as fv
from lhcgen.physics import fourvectors_torch as fvt


def test_round_trip_pt_eta_phi_m():
    rng = np.random.default_rng(0)
    pt, eta = rng.uniform(1, 500, 1000), rng.uniform(-5, 5, 1000)
    phi, m = rng.uniform(-np.pi, np.pi, 1000), rng.uniform(0.1, 100, 1000)
    back = fv.to_pt_eta_phi_m(fv.from_pt_eta_phi_m(pt, eta, phi, m))
    np.testing.assert_allclose(back[:, 0], pt, rtol=1e-12)
    np.testing.assert_allclose(back[:, 1], eta, atol=1e-10)
    np.testing.assert_allclose(back[:, 2], phi, atol=1e-12)
    np.testing.assert_allclose(back[:, 3], m, rtol=1e-6)


def test_closed_forms():
    p = np.array([5.0, 3.0, 0.0, 4.0])  # E=5, |p|=5: massless, pT=3, along x
    assert fv.pt(p) == 3.0 and fv.mass(p) == 0.0 and fv.phi(p) == 0.0
    assert fv.eta(p) == pytest.approx(np.arcsinh(4 / 3))
    z = np.array([91.1876, 0, 0, 0])
    assert fv.mass(z) == pytest.approx(91.1876)


def test_delta_phi_wraps_and_delta_r():
    a = fv.from_pt_eta_phi_m(np.array(10.0), np.array(0.0), np.array(3.0), np.array(0.0))
    b = fv.from_pt_eta_phi_m(np.array(10.0), np.array(0.5), np.array(-3.0), np.array(0.0))
    assert fv.delta_phi(a, b) == pytest.approx(6.0 - 2 * np.pi)
    assert fv.delta_r(a, b) == pytest.approx(np.hypot(0.5, 2 * np.pi - 6.0))


def test_zero_vector_is_finite():
    z = np.zeros(4)
    assert np.isfinite([fv.pt(z), fv.eta(z), fv.phi(z), fv.mass(z)]).all()


# --- the torch twin: same names, conventions and numbers ---------------------------------

SINGLE = ("pt", "eta", "rapidity", "phi", "mass", "to_pt_eta_phi_m")
PAIRS = ("delta_phi", "delta_eta", "delta_r")
# numpy and torch use different libm kernels (asinh, atan2, sinh, sqrt): a few ulp apart
TWIN = {"rtol": 1e-12, "atol": 1e-12}


def _random_vectors(n: int = 2000, seed: int = 1) -> np.ndarray:
    """(n, 3, 4) massive and massless four-vectors over a wide pT and eta range."""
    rng = np.random.default_rng(seed)
    pt = np.exp(rng.uniform(np.log(0.5), np.log(3000.0), (n, 3)))
    eta, phi = rng.uniform(-5, 5, (n, 3)), rng.uniform(-np.pi, np.pi, (n, 3))
    m = np.where(rng.random((n, 3)) < 0.3, 0.0, rng.uniform(0.1, 200.0, (n, 3)))
    return fv.from_pt_eta_phi_m(pt, eta, phi, m)


def test_twin_has_every_function_of_the_numpy_module():
    public = {name for name in dir(fv) if not name.startswith("_") and callable(getattr(fv, name))
              and getattr(fv, name).__module__ == fv.__name__}
    assert public <= set(dir(fvt))
    assert fvt.TWO_PI == fv.TWO_PI


@pytest.mark.parametrize("name", SINGLE)
def test_twin_agrees_with_numpy_on_random_vectors(name):
    p = _random_vectors()
    expected = getattr(fv, name)(p)
    got = getattr(fvt, name)(torch.from_numpy(p))
    assert got.dtype == torch.float64
    if name == "mass":  # m^2 = E^2 - |p|^2 cancels: compare on the scale of E
        np.testing.assert_allclose(got.numpy(), expected, rtol=0, atol=1e-12 * p[..., 0].max())
    elif name == "to_pt_eta_phi_m":
        np.testing.assert_allclose(got.numpy()[..., :3], expected[..., :3], **TWIN)
    else:
        np.testing.assert_allclose(got.numpy(), expected, **TWIN)


@pytest.mark.parametrize("name", PAIRS)
def test_twin_agrees_with_numpy_on_pairs(name):
    p = _random_vectors()
    expected = getattr(fv, name)(p[:, 0], p[:, 1])
    got = getattr(fvt, name)(torch.from_numpy(p[:, 0]), torch.from_numpy(p[:, 1]))
    np.testing.assert_allclose(got.numpy(), expected, **TWIN)


def test_twin_builders_wrap_and_boost_agree_with_numpy():
    rng = np.random.default_rng(2)
    pt, eta = rng.uniform(1, 500, 500), rng.uniform(-5, 5, 500)
    phi, m = rng.uniform(-10, 10, 500), rng.uniform(0, 100, 500)
    t = [torch.from_numpy(a) for a in (pt, eta, phi, m)]
    np.testing.assert_allclose(fvt.from_pt_eta_phi_m(*t).numpy(),
                               fv.from_pt_eta_phi_m(pt, eta, phi, m), **TWIN)
    np.testing.assert_allclose(fvt.from_pt_eta_phi_massless(*t[:3]).numpy(),
                               fv.from_pt_eta_phi_massless(pt, eta, phi), **TWIN)
    np.testing.assert_array_equal(fvt.wrap_phi(t[2]).numpy(), fv.wrap_phi(phi))
    np.testing.assert_allclose(fvt.angular_distance(t[1], t[2]).numpy(),
                               fv.angular_distance(eta, phi), **TWIN)
    p = _random_vectors(500)[:, 0]
    beta = rng.uniform(-0.57, 0.57, (500, 3))
    np.testing.assert_allclose(fvt.boost(torch.from_numpy(p), torch.from_numpy(beta)).numpy(),
                               fv.boost(p, beta), rtol=1e-12, atol=1e-12 * np.abs(p).max())


@pytest.mark.parametrize("module", [fv, fvt], ids=["numpy", "torch"])
def test_wrap_phi_edges(module):
    def wrap(values):
        x = np.array(values, dtype=np.float64)
        return np.asarray(module.wrap_phi(x if module is fv else torch.from_numpy(x)))

    np.testing.assert_array_equal(wrap([np.pi, -np.pi, 3 * np.pi, -3 * np.pi]), -np.pi)
    np.testing.assert_array_equal(wrap([0.0, 1.0, -1.0, -np.pi / 2]), [0.0, 1.0, -1.0,
                                                                       -np.pi / 2])
    np.testing.assert_allclose(wrap([np.pi + 0.5, -np.pi - 0.5, 2 * np.pi + 0.25]),
                               [-np.pi + 0.5, np.pi - 0.5, 0.25], atol=1e-14)
    many = wrap(np.linspace(-50, 50, 100001))
    assert (many >= -np.pi).all() and (many < np.pi).all()


@pytest.mark.parametrize("module", [fv, fvt], ids=["numpy", "torch"])
def test_closed_forms_of_both_modules(module):
    def asarray(x):
        x = np.asarray(x, dtype=np.float64)
        return x if module is fv else torch.from_numpy(x)

    p = asarray([5.0, 3.0, 0.0, 4.0])  # E=5, |p|=5: massless, pT=3, along x
    assert float(module.pt(p)) == 3.0 and float(module.mass(p)) == 0.0
    assert float(module.phi(p)) == 0.0
    assert float(module.eta(p)) == pytest.approx(math.asinh(4 / 3), rel=1e-15)
    assert float(module.rapidity(p)) == pytest.approx(0.5 * math.log(9.0), rel=1e-15)
    # two back-to-back 45.6 GeV photons: a 91.2 GeV system at rest
    a, b = asarray([45.6, 0.0, 27.36, 36.48]), asarray([45.6, 0.0, -27.36, -36.48])
    assert float(module.mass(a + b)) == pytest.approx(91.2, rel=1e-15)
    assert float(module.pt(a + b)) == 0.0 and float(module.eta(a + b)) == 0.0  # pT = 0
    # (eta, phi) = (0, 3) and (0.5, -3): delta phi 6 - 2 pi through the seam
    u = module.from_pt_eta_phi_m(*(asarray(v) for v in (10.0, 0.0, 3.0, 0.0)))
    w = module.from_pt_eta_phi_m(*(asarray(v) for v in (10.0, 0.5, -3.0, 0.0)))
    assert float(module.delta_phi(u, w)) == pytest.approx(6.0 - 2 * np.pi, abs=1e-14)
    assert float(module.delta_eta(u, w)) == pytest.approx(-0.5, abs=1e-14)
    assert float(module.delta_r(u, w)) == pytest.approx(math.hypot(0.5, 2 * np.pi - 6.0),
                                                        abs=1e-14)
    assert float(module.angular_distance(asarray(0.3), asarray(0.4 + 2 * np.pi))) == \
        pytest.approx(0.5, abs=1e-14)
    # boost of a particle at rest by beta = 0.6 along x: gamma = 1.25
    moved = module.boost(asarray([2.0, 0.0, 0.0, 0.0]), asarray([0.6, 0.0, 0.0]))
    np.testing.assert_allclose(np.asarray(moved), [2.5, 1.5, 0.0, 0.0], rtol=1e-15)


def test_torch_round_trip_boost_inverse_and_zero_vector():
    g = torch.Generator().manual_seed(0)
    pt = 1 + 499 * torch.rand(1000, generator=g, dtype=torch.float64)
    eta = 10 * torch.rand(1000, generator=g, dtype=torch.float64) - 5
    phi = math.pi * (2 * torch.rand(1000, generator=g, dtype=torch.float64) - 1)
    m = 0.1 + 99.9 * torch.rand(1000, generator=g, dtype=torch.float64)
    p = fvt.from_pt_eta_phi_m(pt, eta, phi, m)
    back = fvt.to_pt_eta_phi_m(p)
    torch.testing.assert_close(back[:, 0], pt, rtol=1e-12, atol=0)
    torch.testing.assert_close(back[:, 1], eta, rtol=0, atol=1e-10)
    torch.testing.assert_close(back[:, 2], phi, rtol=0, atol=1e-12)
    torch.testing.assert_close(back[:, 3], m, rtol=1e-6, atol=0)
    rest = fvt.boost(p, -p[:, 1:] / p[:, :1])  # into the rest frame: (m, 0, 0, 0)
    torch.testing.assert_close(rest[:, 0], m, rtol=1e-6, atol=0)
    assert rest[:, 1:].abs().max() < 1e-6 * p[:, 0].max()
    beta = 0.5 * (2 * torch.rand(1000, 3, generator=g, dtype=torch.float64) - 1)
    torch.testing.assert_close(fvt.boost(fvt.boost(p, beta), -beta), p, rtol=1e-12,
                               atol=1e-9)
    z = torch.zeros(4, dtype=torch.float64)
    assert torch.isfinite(torch.stack([fvt.pt(z), fvt.eta(z), fvt.phi(z), fvt.mass(z)])).all()


def test_torch_functions_keep_dtype_and_are_differentiable():
    p = torch.tensor([[50.0, 20.0, -10.0, 40.0]], dtype=torch.float32)
    for name in ("pt", "eta", "phi", "mass", "to_pt_eta_phi_m"):
        assert getattr(fvt, name)(p).dtype == torch.float32
    p64 = p.double()
    # d eta / d pz = 1 / sqrt(pT^2 + pz^2) = 1 / |p|
    jac = torch.func.jacrev(lambda v: fvt.eta(v))(p64[0])
    torch.testing.assert_close(jac[3], 1 / torch.linalg.vector_norm(p64[0, 1:]))
    assert torch.isfinite(torch.func.jacrev(fvt.to_pt_eta_phi_m)(p64[0])).all()
