"""JetNet-style jets as particle clouds from Pythia 8 + FastJet: the physics of one shard.

Five jet types at pT ~ 1 TeV, as in JetNet (Kansal et al., arXiv:2106.11535), all with the
same conventions (docs/data-format.md, "Jets as particle clouds"):

    g: gluons, HardQCD:gg2gg + HardQCD:qqbar2gg;
    q: light quarks, HardQCD:qqbar2qqbarNew (q' = u, d, s) + HardQCD:qq2qq;
    t: tops, Top:gg2ttbar + Top:qqbar2ttbar, W -> quarks;
    w: W bosons, WeakDoubleBoson:ffbar2WW, W -> quarks;
    z: Z bosons, WeakDoubleBoson:ffbar2gmZgmZ (pure Z), Z -> quarks (u, d, s, c, b).

pp at 13 TeV, pT-hat in [990, 1010] GeV (JetNet's +-1 % window around 1 TeV), Monash 2013
tune (NNPDF2.3 LO, underlying event on); anti-kT R = 0.8 on all visible final-state
particles (no neutrinos); the leading jet of each event is kept if 800 < pT < 1600 GeV and
|eta| < 2.5 (one jet per event, as JetNet; ``jets_per_event = 2`` also looks at the second
jet, which doubles the yield but makes correlated pairs). Its constituents are
sorted by pT and the leading ``n_particles`` stored as (Delta eta, Delta phi, pT_rel),
zero-padded. A shard generates events in batches (``Pythia.nextBatch``) and clusters a whole
batch in one FastJet call; it keeps the first ``n_jets`` accepted jets in generation order.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

import awkward as ak
import fastjet
import numpy as np
import pythia8mc

from lhcgen.data.pythia import (
    MONASH_TUNE,
    NEUTRINO_IDS,
    BatchSizing,
    ProgressSink,
    accepted_batches,
    run_facts,
    start_pythia,
)
from lhcgen.errors import LhcgenError
from lhcgen.physics import fourvectors as fv
from lhcgen.physics.fastjet_setup import silence_fastjet_banner

JET_TYPES = ("g", "q", "t", "w", "z")
"""Jet type names; the code stored in ``jet_type`` is the index (JetNet's JET_TYPES order)."""

PARTICLE_COUNTS = (30, 150)

PARTICLE_FEATURES = ("eta_rel", "phi_rel", "pt_rel")
JET_FEATURES = ("pt", "eta", "mass", "n_particles")

HADRONIC = "1 2 3 4 5"
PROCESS_SETTINGS: dict[str, tuple[str, ...]] = {
    "g": ("HardQCD:gg2gg = on", "HardQCD:qqbar2gg = on"),
    "q": ("HardQCD:qqbar2qqbarNew = on", "HardQCD:nQuarkNew = 3", "HardQCD:qq2qq = on"),
    "t": ("Top:gg2ttbar = on", "Top:qqbar2ttbar = on", "24:onMode = off",
          f"24:onIfAny = {HADRONIC}"),
    "w": ("WeakDoubleBoson:ffbar2WW = on", "24:onMode = off", f"24:onIfAny = {HADRONIC}"),
    "z": ("WeakDoubleBoson:ffbar2gmZgmZ = on", "WeakZ0:gmZmode = 2", "23:onMode = off",
          f"23:onIfAny = {HADRONIC}"),
}

MAX_GENERATED_WITHOUT_ACCEPTED = 2_000
"""A shard gives up when this many generated events in a row gave no accepted jet."""


@dataclass(frozen=True)
class JetSettings:
    """Process, jet definition, selection and batching of one jet type.

    Attributes:
        jet_type: one of ``JET_TYPES``.
        n_particles: constituents stored per jet (30 or 150; more are dropped, fewer padded).
        sqrt_s: proton-proton centre-of-mass energy in GeV.
        pthat_min, pthat_max: window of the 2 -> 2 hard process pT in GeV.
        jet_radius: anti-kT distance parameter R.
        jet_pt_min, jet_pt_max: a kept jet has jet_pt_min < pT < jet_pt_max (GeV).
        jet_abs_eta_max: a kept jet has |eta| < this.
        jets_per_event: the leading jets of each event that are candidates (JetNet: 1).
        tune: the Pythia setting string of the tune (which fixes the PDF).
        batch_size: events per ``Pythia.nextBatch`` call (does not change the jets).
    """

    jet_type: str = "g"
    n_particles: int = 30
    sqrt_s: float = 13000.0
    pthat_min: float = 990.0
    pthat_max: float = 1010.0
    jet_radius: float = 0.8
    jet_pt_min: float = 800.0
    jet_pt_max: float = 1600.0
    jet_abs_eta_max: float = 2.5
    jets_per_event: int = 1
    tune: str = MONASH_TUNE
    batch_size: int = 100

    def __post_init__(self) -> None:
        if self.jet_type not in JET_TYPES:
            raise LhcgenError(f"unknown jet type {self.jet_type!r}; choose one of "
                              f"{', '.join(JET_TYPES)}")
        if isinstance(self.n_particles, bool) or self.n_particles not in PARTICLE_COUNTS:
            raise LhcgenError(f"n_particles must be one of {PARTICLE_COUNTS}, "
                              f"got {self.n_particles!r}")
        if self.batch_size <= 0:
            raise LhcgenError(f"batch_size must be positive, got {self.batch_size}")
        if isinstance(self.jets_per_event, bool) or self.jets_per_event not in (1, 2):
            raise LhcgenError(f"jets_per_event must be 1 (JetNet) or 2, got "
                              f"{self.jets_per_event!r}")
        if not 0 < self.pthat_min < self.pthat_max:
            raise LhcgenError(f"need 0 < pthat_min < pthat_max, got {self.pthat_min}, "
                              f"{self.pthat_max}")
        if not 0 < self.jet_pt_min < self.jet_pt_max:
            raise LhcgenError(f"need 0 < jet_pt_min < jet_pt_max, got {self.jet_pt_min}, "
                              f"{self.jet_pt_max}")

    @property
    def type_code(self) -> int:
        return JET_TYPES.index(self.jet_type)

    def pythia_settings(self) -> list[str]:
        """Pythia 8 setting strings of the hard process and the run (without the seed)."""
        return [self.tune, f"Beams:eCM = {self.sqrt_s!r}", *PROCESS_SETTINGS[self.jet_type],
                f"PhaseSpace:pTHatMin = {self.pthat_min!r}",
                f"PhaseSpace:pTHatMax = {self.pthat_max!r}"]

    def cuts(self) -> dict[str, Any]:
        """The selection as a plain dictionary (stored as a file attribute)."""
        return {
            "pthat_min_gev": self.pthat_min,
            "pthat_max_gev": self.pthat_max,
            "jet_algorithm": "anti-kt",
            "jet_radius": self.jet_radius,
            "jet_inputs": "all visible final-state particles (neutrinos excluded)",
            "jets_per_event": self.jets_per_event,
            "jet_pt_min_gev": self.jet_pt_min,
            "jet_pt_max_gev": self.jet_pt_max,
            "jet_abs_eta_max": self.jet_abs_eta_max,
            "constituents_kept": self.n_particles,
            "constituent_order": "pT, highest first",
        }

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def make_pythia(settings: JetSettings, seed: int) -> pythia8mc.Pythia:
    """A silent, initialised Pythia for ``settings.jet_type`` with ``seed`` in 1..900000000."""
    return start_pythia(settings.pythia_settings(), seed, f"{settings.jet_type} jet")


def pt_ordered(particles: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """(N, P, F) constituents with (..., 2) = pT_rel, reordered within each jet by pT_rel,
    highest first, the real ones (``mask``, the first slots) before the padding: the order
    of the file schema (``constituent_order``). A generator's slots have no order."""
    key = np.where(mask, -particles[..., 2], np.inf)
    order = np.argsort(key, axis=1, kind="stable")
    return np.take_along_axis(particles, order[..., None], axis=1)


@dataclass
class JetCloudSample:
    """Jets as particle clouds (docs/data-format.md): the in-memory form of a jet file.

    Attributes:
        particles: (N, P, 3) float64, (Delta eta, Delta phi, pT_rel), zero where not ``mask``.
        mask: (N, P) bool.
        jets: (N, 4) float64, (pT [GeV], eta, mass [GeV], stored constituents).
        jet_type: (N,) int, index into ``JET_TYPES``.
        weights: (N,) float64 event weight of each jet's event.
        n_constituents: (N,) int, all constituents of the jet (before keeping P).
        attrs: file attributes.
    """

    particles: np.ndarray
    mask: np.ndarray
    jets: np.ndarray
    jet_type: np.ndarray
    weights: np.ndarray
    n_constituents: np.ndarray
    attrs: dict

    def __post_init__(self) -> None:
        self.particles = np.asarray(self.particles, dtype=np.float64)
        self.mask = np.asarray(self.mask, dtype=bool)
        self.jets = np.asarray(self.jets, dtype=np.float64)
        self.jet_type = np.asarray(self.jet_type, dtype=np.int64)
        self.weights = np.asarray(self.weights, dtype=np.float64)
        self.n_constituents = np.asarray(self.n_constituents, dtype=np.int64)
        n = len(self.particles)
        if self.particles.ndim != 3 or self.particles.shape[2] != 3:
            raise LhcgenError(f"particles must have shape (N, P, 3), got "
                              f"{self.particles.shape}")
        if self.mask.shape != self.particles.shape[:2]:
            raise LhcgenError(f"mask shape {self.mask.shape} does not match particles "
                              f"{self.particles.shape[:2]}")
        if self.jets.shape != (n, 4):
            raise LhcgenError(f"jets must have shape ({n}, 4), got {self.jets.shape}")
        for name in ("jet_type", "weights", "n_constituents"):
            if getattr(self, name).shape != (n,):
                raise LhcgenError(f"{name} must have shape ({n},), "
                                  f"got {getattr(self, name).shape}")

    def __len__(self) -> int:
        return len(self.particles)

    @property
    def n_particles(self) -> int:
        return self.particles.shape[1]

    def subset(self, index: Any) -> JetCloudSample:
        return JetCloudSample(self.particles[index], self.mask[index], self.jets[index],
                              self.jet_type[index], self.weights[index],
                              self.n_constituents[index], dict(self.attrs))

    @staticmethod
    def concatenate(samples: list[JetCloudSample], attrs: dict | None = None
                    ) -> JetCloudSample:
        if not samples:
            raise LhcgenError("no jets to concatenate")
        return JetCloudSample(
            *(np.concatenate([getattr(s, k) for s in samples])
              for k in ("particles", "mask", "jets", "jet_type", "weights", "n_constituents")),
            dict(samples[0].attrs if attrs is None else attrs))


@dataclass
class SelectedJets:
    """The accepted jets of one batch, in generation order (event, then jet pT).

    Attributes:
        event: (A,) int, index in the batch of each jet's event.
        particles, mask, jets, n_constituents: as in JetCloudSample.
        weights: (A,) float64 event weights.
        n_candidates, n_failed_pt, n_failed_eta: (B,) int per generated event: leading jets
            looked at, and those rejected by the pT window and by |eta| (pT checked first).
    """

    event: np.ndarray
    particles: np.ndarray
    mask: np.ndarray
    jets: np.ndarray
    n_constituents: np.ndarray
    weights: np.ndarray
    n_candidates: np.ndarray
    n_failed_pt: np.ndarray
    n_failed_eta: np.ndarray

    PER_JET = ("event", "particles", "mask", "jets", "n_constituents", "weights")
    PER_EVENT = ("n_candidates", "n_failed_pt", "n_failed_eta")

    @property
    def n_accepted(self) -> int:
        return len(self.event)

    def keep_first(self, n: int) -> int:
        """Keep only the first ``n`` accepted jets, and the per-event counts up to the event
        of the last of them; returns that number of events."""
        n_events = int(self.event[n - 1]) + 1
        for name in self.PER_JET:
            setattr(self, name, getattr(self, name)[:n])
        for name in self.PER_EVENT:
            setattr(self, name, getattr(self, name)[:n_events])
        return n_events


def _four_momenta(records: ak.Array) -> np.ndarray:
    """(N, 4) float64 (E, px, py, pz) of FastJet's flat jet or constituent records."""
    return np.stack([ak.to_numpy(records[c]).astype(np.float64)
                     for c in ("E", "px", "py", "pz")], axis=-1)


def select_jets(batch: ak.Array, settings: JetSettings) -> SelectedJets:
    """Cluster a ``Pythia.nextBatch`` array and keep the leading jets in the window.

    All events of the batch are clustered in one FastJet call; constituents are handled as
    awkward/numpy arrays (no per-particle Python loop).
    """
    n_events = len(batch)
    weights = ak.to_numpy(ak.firsts(batch.info.weights)).astype(np.float64)
    prt = batch.prt
    visible = (prt.status > 0) & ~((abs(prt.id) == NEUTRINO_IDS[0])
                                    | (abs(prt.id) == NEUTRINO_IDS[1])
                                    | (abs(prt.id) == NEUTRINO_IDS[2]))
    p = prt.p[visible]
    inputs = ak.zip({"px": p.px, "py": p.py, "pz": p.pz, "E": p.e})
    jet_def = fastjet.JetDefinition(fastjet.antikt_algorithm, settings.jet_radius)
    sequence = fastjet.ClusterSequence(inputs, jet_def)
    jets = sequence.inclusive_jets(min_pt=settings.jet_pt_min)
    constituents = sequence.constituents(min_pt=settings.jet_pt_min)
    all_pt = ak.unflatten(fv.pt(_four_momenta(ak.flatten(jets, axis=1))), ak.num(jets, axis=1))
    order = ak.argsort(all_pt, axis=1, ascending=False, stable=True)
    jets = jets[order][:, :settings.jets_per_event]
    constituents = constituents[order][:, :settings.jets_per_event]

    n_candidates = ak.to_numpy(ak.num(jets, axis=1)).astype(np.int64)
    event = np.repeat(np.arange(n_events), n_candidates)
    flat_jets = ak.flatten(jets, axis=1)
    jet_p4 = _four_momenta(flat_jets)
    jet_pt, jet_eta, jet_phi = fv.pt(jet_p4), fv.eta(jet_p4), fv.phi(jet_p4)
    pass_pt = (jet_pt > settings.jet_pt_min) & (jet_pt < settings.jet_pt_max)
    pass_eta = np.abs(jet_eta) < settings.jet_abs_eta_max
    keep = pass_pt & pass_eta
    n_failed_pt = np.bincount(event[~pass_pt], minlength=n_events)
    n_failed_eta = np.bincount(event[pass_pt & ~pass_eta], minlength=n_events)

    cons = ak.flatten(constituents, axis=1)[keep]  # jets -> constituents
    n_cons = ak.to_numpy(ak.num(cons, axis=1)).astype(np.int64)
    flat_cons = ak.flatten(cons, axis=1)
    cons_p4 = _four_momenta(flat_cons)
    cpt, ceta, cphi = fv.pt(cons_p4), fv.eta(cons_p4), fv.phi(cons_p4)
    jet_index = np.repeat(np.arange(int(keep.sum())), n_cons)
    pt_k, eta_k, phi_k = jet_pt[keep], jet_eta[keep], jet_phi[keep]
    features = np.stack([ceta - eta_k[jet_index], fv.wrap_phi(cphi - phi_k[jet_index]),
                         cpt / pt_k[jet_index]], axis=-1)
    # Sort constituents by pT (descending) within each jet, then pad/clip to P.
    sort = np.lexsort((-cpt, jet_index))
    features = features[sort]
    starts = (np.cumsum(n_cons) - n_cons).astype(np.int64)
    rank = np.arange(len(features)) - np.repeat(starts, n_cons)
    P = settings.n_particles
    kept = rank < P
    particles = np.zeros((len(n_cons), P, 3))
    particles[jet_index[kept], rank[kept]] = features[kept]
    mask = np.zeros((len(n_cons), P), dtype=bool)
    mask[jet_index[kept], rank[kept]] = True

    mass = fv.mass(jet_p4[keep])
    stored = np.minimum(n_cons, P)
    jet_features = np.stack([pt_k, eta_k, mass, stored.astype(np.float64)], axis=-1)
    return SelectedJets(event[keep], particles, mask, jet_features, n_cons,
                        weights[event[keep]], n_candidates, n_failed_pt, n_failed_eta)


BATCH_SIZING = BatchSizing(prior=1.5, min_rate=0.1, spare=2)
"""Batch sizes of a shard: 1.5 accepted jets per event guessed, trusted down to 0.1."""


def generate_jet_shard(settings: JetSettings, n_jets: int, seed: int,
                       progress_queue: ProgressSink | None = None
                       ) -> tuple[JetCloudSample, dict[str, Any]]:
    """Generate exactly ``n_jets`` accepted jets of ``settings.jet_type`` with one Pythia seed.

    The jets are the first ``n_jets`` accepted ones of the seed's event stream (events in
    order, the leading jet before the second), so they depend only on the settings,
    ``n_jets`` and ``seed``, not on the batch size.

    Returns:
        The jets and a stats dictionary (events generated up to the last kept jet, jets
        looked at, rejected by pT and by eta, accepted, sums of weights, Pythia's cross
        section in pb).
    """
    if n_jets <= 0:
        raise LhcgenError(f"n_jets must be positive, got {n_jets}")
    silence_fastjet_banner()
    pythia = make_pythia(settings, seed)
    parts: list[SelectedJets] = []
    n_seen = candidates = failed_pt = failed_eta = 0
    gen_weight = 0.0
    for batch, selected, n_used in accepted_batches(
            pythia, n_jets, lambda batch: select_jets(batch, settings),
            batch_size=settings.batch_size, sizing=BATCH_SIZING, seed=seed,
            give_up_after=MAX_GENERATED_WITHOUT_ACCEPTED, passed="gave an accepted jet",
            cuts="JetSettings", progress_queue=progress_queue):
        candidates += int(selected.n_candidates.sum())
        failed_pt += int(selected.n_failed_pt.sum())
        failed_eta += int(selected.n_failed_eta.sum())
        gen_weight += float(ak.sum(ak.firsts(batch.info.weights)[:n_used]))
        parts.append(selected)
        n_seen += n_used

    n = sum(len(s.event) for s in parts)
    sample = JetCloudSample(
        np.concatenate([s.particles for s in parts]),
        np.concatenate([s.mask for s in parts]),
        np.concatenate([s.jets for s in parts]),
        np.full(n, settings.type_code, dtype=np.int64),
        np.concatenate([s.weights for s in parts]),
        np.concatenate([s.n_constituents for s in parts]),
        {})
    stats = {
        "seed": seed,
        "n_generated": n_seen,
        "n_candidate_jets": candidates,
        "rejected_jet_pt": failed_pt,
        "rejected_jet_eta": failed_eta,
        "n_accepted": n,
        "sum_weights_generated": gen_weight,
        **run_facts(pythia),
    }
    return sample, stats
