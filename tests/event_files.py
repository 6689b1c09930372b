"""Small LHE and HepMC3 files written by the tests themselves (no downloads): physical
q qbar -> Z g and q g -> Z q events at 13 TeV with Z -> mu+ mu-, exact four-momentum
conservation, in the partonic centre-of-mass frame boosted along z."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pylhe

SQRT_S = 13000.0
MZ = 91.1876
MU = 0.1056583755


def _p4(e, px, py, pz):
    return np.array([e, px, py, pz], dtype=np.float64)


def _boost_z(p, beta):
    gamma = 1.0 / np.sqrt(1.0 - beta**2)
    e, px, py, pz = p
    return _p4(gamma * (e + beta * pz), px, py, gamma * (pz + beta * e))


def _boost(p, b):
    """Boost four-vector p by velocity vector b."""
    b2 = b @ b
    if b2 == 0:
        return p
    gamma = 1.0 / np.sqrt(1.0 - b2)
    bp = b @ p[1:]
    e = gamma * (p[0] + bp)
    vec = p[1:] + ((gamma - 1.0) * bp / b2 + gamma * p[0]) * b
    return _p4(e, *vec)


def zjets_parton_events(n: int, seed: int = 0):
    """(pid list, status, mothers, colours, four-momenta) per event, as tuples."""
    rng = np.random.default_rng(seed)
    events = []
    for i in range(n):
        pt = 40.0 + rng.exponential(40.0)
        mz = MZ + 2.5 / 2 * float(np.clip(rng.standard_cauchy(), -8, 8))
        theta_star = np.arccos(rng.uniform(-0.9, 0.9))
        # partonic CM: Z and parton back to back with transverse momentum pt
        p = pt / np.sin(theta_star)
        phi = rng.uniform(-np.pi, np.pi)
        direction = np.array([np.sin(theta_star) * np.cos(phi), np.sin(theta_star) * np.sin(phi),
                              np.cos(theta_star)])
        ez, eg = np.sqrt(p**2 + mz**2), p
        shat = (ez + eg) ** 2
        y = rng.uniform(-1.5, 1.5)
        x1 = np.sqrt(shat) / SQRT_S * np.exp(y)
        x2 = np.sqrt(shat) / SQRT_S * np.exp(-y)
        beta = np.tanh(y)
        z_cm = _p4(ez, *(p * direction))
        g_cm = _p4(eg, *(-p * direction))
        # Z -> mu mu isotropic in the Z rest frame
        cos_t, phi_d = rng.uniform(-1, 1), rng.uniform(-np.pi, np.pi)
        pm = np.sqrt(mz**2 / 4 - MU**2)
        d = np.array([np.sqrt(1 - cos_t**2) * np.cos(phi_d),
                      np.sqrt(1 - cos_t**2) * np.sin(phi_d), cos_t])
        b_z = z_cm[1:] / z_cm[0]
        mu1 = _boost(_p4(mz / 2, *(pm * d)), b_z)
        mu2 = _boost(_p4(mz / 2, *(-pm * d)), b_z)
        a = _p4(x1 * SQRT_S / 2, 0, 0, x1 * SQRT_S / 2)
        b = _p4(x2 * SQRT_S / 2, 0, 0, -x2 * SQRT_S / 2)
        z_lab, g_lab = _boost_z(z_cm, beta), _boost_z(g_cm, beta)
        mu1, mu2 = _boost_z(mu1, beta), _boost_z(mu2, beta)
        if i % 2:  # q qbar -> Z g
            ids = (2, -2, 23, 21, 13, -13)
            colours = ((501, 0), (0, 502), (0, 0), (501, 502), (0, 0), (0, 0))
        else:  # q g -> Z q
            ids = (1, 21, 23, 1, 13, -13)
            colours = ((501, 0), (502, 501), (0, 0), (502, 0), (0, 0), (0, 0))
        status = (-1, -1, 2, 1, 1, 1)
        mothers = ((0, 0), (0, 0), (1, 2), (1, 2), (3, 3), (3, 3))
        momenta = (a, b, z_lab, g_lab, mu1, mu2)
        masses = (0.0, 0.0, mz, 0.0, MU, MU)
        events.append((ids, status, mothers, colours, momenta, masses, pt))
    return events


def write_lhe(path: Path, n: int, seed: int = 0, weights: list[float] | None = None,
              electrons: bool = False) -> Path:
    """An LHE file of ``n`` Z(->mumu)+jet events (Z -> ee with ``electrons``); ``weights``
    per event (strategy -4, negative allowed), else unit weights (strategy 3)."""
    strategy = -4 if weights is not None else 3
    sigma = 150.0
    init = pylhe.LHEInit(
        initInfo=pylhe.LHEInitInfo(beamA=2212, beamB=2212, energyA=SQRT_S / 2,
                                   energyB=SQRT_S / 2, PDFgroupA=0, PDFgroupB=0, PDFsetA=0,
                                   PDFsetB=0, weightingStrategy=strategy, numProcesses=1),
        procInfo=[pylhe.LHEProcInfo(xSection=sigma, error=1.5, unitWeight=sigma, procId=1)],
        generators=[pylhe.LHEGenerator(name="lhcgen-tests", version="1", description="")])
    events = []
    for k, (ids, status, mothers, colours, momenta, masses, pt) in enumerate(
            zjets_parton_events(n, seed)):
        if electrons:
            ids = tuple(11 * np.sign(i) if abs(i) == 13 else i for i in ids)
        particles = [
            pylhe.LHEParticle(id=int(i), status=int(s), mother1=m[0], mother2=m[1],
                              color1=c[0], color2=c[1], px=float(p[1]), py=float(p[2]),
                              pz=float(p[3]), e=float(p[0]), m=float(mass), lifetime=0.0,
                              spin=9.0)
            for i, s, m, c, p, mass in zip(ids, status, mothers, colours, momenta, masses,
                                           strict=True)]
        weight = sigma if weights is None else weights[k]
        info = pylhe.LHEEventInfo(nparticles=len(particles), pid=1, weight=weight, scale=pt,
                                  aqed=0.0078125, aqcd=0.118)
        events.append(pylhe.LHEEvent(eventinfo=info, particles=particles))
    pylhe.LHEFile(init=init, events=events).tofile(str(path))
    return path


def write_hepmc_from_pythia(path: Path, batch, momentum_unit: str = "GEV",
                            weights=None) -> Path:
    """A HepMC3 ASCII file of the events of a ``Pythia.nextBatch`` array (all particles,
    with status codes; ``momentum_unit`` "MEV" multiplies the momenta by 1000)."""
    import awkward as ak
    import pyhepmc

    unit = getattr(pyhepmc.Units, momentum_unit)
    scale = 1000.0 if momentum_unit == "MEV" else 1.0
    with pyhepmc.open(str(path), "w") as f:
        for k in range(len(batch)):
            prt = batch.prt[k]
            event = pyhepmc.GenEvent(unit, pyhepmc.Units.MM)
            p = {c: ak.to_numpy(prt.p[c]).astype(np.float64) * scale
                 for c in ("px", "py", "pz", "e")}
            status = ak.to_numpy(prt.status).astype(np.int32)
            event.from_hepevt(k, p["px"], p["py"], p["pz"], p["e"],
                              ak.to_numpy(prt.m).astype(np.float64) * scale,
                              ak.to_numpy(prt.id).astype(np.int32),
                              np.where(status > 0, 1, 2).astype(np.int32))
            event.weights = [float(1.0 if weights is None else weights[k])]
            f.write(event)
    return path
