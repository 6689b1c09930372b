import numpy as np
import pytest

from lhcgen.physics import fourvectors as fv


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
