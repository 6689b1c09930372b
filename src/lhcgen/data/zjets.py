"""Z(->mumu)+jets events from Pythia 8 + FastJet: the physics of one shard.

One shard is one Pythia instance with one seed that generates events in batches
(``Pythia.nextBatch``, an awkward array per batch), selects them with array operations and
clusters all surviving events of a batch in one FastJet call. The shard keeps the first
``n_accepted`` passing events in generation order, so its content depends only on the
settings, ``n_accepted`` and the seed (not on the batch size or on other shards).

Selection (docs/data-format.md):
    * exactly two final-state muons with pT > 20 GeV and |eta| < 2.5, of opposite charge;
    * anti-kT R = 0.4 jets (FastJet) on all visible final-state particles (no neutrinos)
      except the two selected muons, with pT > 20 GeV; at least one jet; the three leading
      jets by pT are kept.

Objects are stored as (mu1, mu2, j1, j2, j3): muons by pT, then jets by pT, each as
(E, px, py, pz) in GeV, float64; absent jets are zero rows with ``mask`` false.
"""

from __future__ import annotations

import contextlib
import ctypes
import math
import os
import sys
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from typing import Any, Protocol

import awkward as ak
import fastjet
import numpy as np
import pythia8mc

from lhcgen.data.events import ZJETS_OBJECTS, EventSample
from lhcgen.data.pythia import PYTHIA_SEED_MAX, start_pythia
from lhcgen.errors import LhcgenError

MB_TO_PB = 1.0e9
"""Pythia quotes cross sections in mb; the event files use pb."""


NEUTRINO_IDS = (12, 14, 16)

MAX_GENERATED_WITHOUT_ACCEPTED = 10_000
"""A shard gives up when this many generated events in a row gave no accepted one."""

# Stage an event reached in the selection (the cut flow, one code per generated event).
FAILED_MUON_COUNT = 0  # not exactly two muons in the acceptance
FAILED_MUON_CHARGE = 1  # the two muons have the same charge
FAILED_NO_JET = 2  # no jet above the jet pT threshold
ACCEPTED = 3


class ProgressSink(Protocol):
    """Anything with ``put`` (a multiprocessing queue, or a local callback wrapper)."""

    def put(self, item: Any) -> None: ...


@dataclass(frozen=True)
class ZJetsSettings:
    """Physics and batching settings of the Z(->mumu)+jets sample.

    Attributes:
        sqrt_s: proton-proton centre-of-mass energy in GeV.
        muon_pt_min: muon transverse momentum threshold in GeV.
        muon_abs_eta_max: muon acceptance |eta| < this.
        jet_pt_min: jet transverse momentum threshold in GeV.
        jet_radius: anti-kT distance parameter R.
        max_jets: number of leading jets kept (the rest are dropped; multiplicity 3 = ">= 3").
        pthat_min: minimum pT of the 2 -> 2 hard process (Pythia ``PhaseSpace:pTHatMin``).
        batch_size: events per ``Pythia.nextBatch`` call (does not change the events).
    """

    sqrt_s: float = 13000.0
    muon_pt_min: float = 20.0
    muon_abs_eta_max: float = 2.5
    jet_pt_min: float = 20.0
    jet_radius: float = 0.4
    max_jets: int = 3
    pthat_min: float = 20.0
    batch_size: int = 200

    def __post_init__(self) -> None:
        if self.max_jets != len(ZJETS_OBJECTS) - 2:
            raise LhcgenError(f"max_jets must be {len(ZJETS_OBJECTS) - 2} to match the "
                              f"object order {ZJETS_OBJECTS}, got {self.max_jets}")
        if self.batch_size <= 0:
            raise LhcgenError(f"batch_size must be positive, got {self.batch_size}")
        for name in ("sqrt_s", "muon_pt_min", "muon_abs_eta_max", "jet_pt_min", "jet_radius"):
            if not getattr(self, name) > 0:
                raise LhcgenError(f"{name} must be positive, got {getattr(self, name)}")

    def pythia_settings(self) -> list[str]:
        """Pythia 8 setting strings of the hard process and the run (without the seed)."""
        return [
            f"Beams:eCM = {self.sqrt_s!r}",
            "WeakBosonAndParton:qqbar2gmZg = on",
            "WeakBosonAndParton:qg2gmZq = on",
            "WeakZ0:gmZmode = 2",
            "23:onMode = off",
            "23:onIfAny = 13",
            f"PhaseSpace:pTHatMin = {self.pthat_min!r}",
        ]

    def cuts(self) -> dict[str, Any]:
        """The selection as a plain dictionary (stored as a file attribute)."""
        return {
            "n_muons": 2,
            "muon_charge": "opposite",
            "muon_pt_min_gev": self.muon_pt_min,
            "muon_abs_eta_max": self.muon_abs_eta_max,
            "jet_algorithm": "anti-kt",
            "jet_radius": self.jet_radius,
            "jet_pt_min_gev": self.jet_pt_min,
            "jet_inputs": "visible final-state particles except the two selected muons "
                          "(neutrinos excluded)",
            "n_jets_min": 1,
            "max_jets_kept": self.max_jets,
        }

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def pythia_seed(seed: int, shard: int) -> int:
    """Pythia seed in 1..900000000 of shard ``shard`` of a run with master seed ``seed``.

    Uses numpy's SeedSequence with spawn key (shard,), i.e. the shard-th child of
    ``SeedSequence(seed).spawn``, so shard seeds do not depend on the number of shards.
    """
    sequence = np.random.SeedSequence(seed, spawn_key=(shard,))
    state = int(sequence.generate_state(1, dtype=np.uint64)[0])
    return state % PYTHIA_SEED_MAX + 1


def versions() -> dict[str, str]:
    """Versions of the generator packages, read from the packages themselves."""
    from importlib.metadata import version

    fastjet_words = fastjet.fastjet_version_string().split()
    return {"pythia8mc": version("pythia8mc"), "fastjet_python": version("fastjet"),
            "fastjet": fastjet_words[-1]}


def generator_string() -> str:
    """For example "Pythia 8.317 + FastJet 3.5.2"."""
    v = versions()
    pythia_short = ".".join(v["pythia8mc"].split(".")[:2])
    return f"Pythia {pythia_short} + FastJet {v['fastjet']}"


@contextlib.contextmanager
def _stdout_to_devnull() -> Iterator[None]:
    """Point file descriptor 1 at /dev/null (C and C++ output included), then restore it."""
    sys.stdout.flush()
    libc = ctypes.CDLL(None)
    libc.fflush(None)
    saved = os.dup(1)
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, 1)
        yield
    finally:
        libc.fflush(None)
        os.dup2(saved, 1)
        os.close(saved)
        os.close(devnull)


_BANNER_SHOWN = False


def silence_fastjet_banner() -> None:
    """Let FastJet print its once-per-process banner into /dev/null."""
    global _BANNER_SHOWN
    if _BANNER_SHOWN:
        return
    one_particle = ak.Array([[{"px": 30.0, "py": 0.0, "pz": 0.0, "E": 30.0}]])
    with _stdout_to_devnull():
        jet_def = fastjet.JetDefinition(fastjet.antikt_algorithm, 0.4)
        fastjet.ClusterSequence(one_particle, jet_def).inclusive_jets()
    _BANNER_SHOWN = True


def make_pythia(settings: ZJetsSettings, seed: int) -> pythia8mc.Pythia:
    """A silent, initialised Pythia for the Z+jets process with ``seed`` in 1..900000000."""
    return start_pythia(settings.pythia_settings(), seed, "Z+jets")


@dataclass
class SelectedBatch:
    """The events of one batch that pass the selection, in generation order.

    Attributes:
        stage: (B,) int, the selection stage each generated event reached (ACCEPTED = 3).
        momenta: (A, 5, 4) float64 of the A accepted events, (E, px, py, pz).
        mask: (A, 5) bool.
        n_jets: (A,) int64 number of kept jets (1..max_jets).
        weights: (A,) float64 Pythia event weights.
        generated_weights: (B,) float64 weights of all generated events.
    """

    stage: np.ndarray
    momenta: np.ndarray
    mask: np.ndarray
    n_jets: np.ndarray
    weights: np.ndarray
    generated_weights: np.ndarray


def select_batch(batch: ak.Array, settings: ZJetsSettings) -> SelectedBatch:
    """Apply the Z+jets selection to a ``Pythia.nextBatch`` array, without per-particle loops.

    Particles are flattened to numpy columns with an event index; muon counts and charges
    per event come from ``np.bincount``; the visible particles of events with two good
    muons are clustered in one multi-event FastJet call.
    """
    n_events = len(batch)
    generated_weights = ak.to_numpy(ak.firsts(batch.info.weights)).astype(np.float64)
    counts = ak.to_numpy(ak.num(batch.prt, axis=1))
    event = np.repeat(np.arange(n_events), counts)
    flat = ak.flatten(batch.prt, axis=1)
    status = ak.to_numpy(flat.status)
    pid = ak.to_numpy(flat.id)
    p = flat.p
    px, py, pz, e = (ak.to_numpy(p[c]) for c in ("px", "py", "pz", "e"))

    final = status > 0
    abs_pid = np.abs(pid)
    muon = np.flatnonzero(final & (abs_pid == 13))
    mu_pt = np.hypot(px[muon], py[muon])
    mu_abs_eta = np.abs(np.arcsinh(pz[muon] / np.where(mu_pt > 0, mu_pt, 1.0)))
    good = (mu_pt > settings.muon_pt_min) & (mu_abs_eta < settings.muon_abs_eta_max)
    good_muon = muon[good]

    n_good = np.bincount(event[good_muon], minlength=n_events)
    charge_sum = np.bincount(event[good_muon], weights=np.sign(pid[good_muon]),
                             minlength=n_events)  # mu- has id +13: opposite charge <=> sum 0
    two_muons = n_good == 2
    opposite = two_muons & (charge_sum == 0)
    stage = np.where(two_muons, FAILED_NO_JET, FAILED_MUON_COUNT)
    stage[two_muons & ~opposite] = FAILED_MUON_CHARGE

    candidates = np.flatnonzero(opposite)
    slots = 2 + settings.max_jets
    if len(candidates) == 0:
        return SelectedBatch(stage, np.zeros((0, slots, 4)), np.zeros((0, slots), bool),
                             np.zeros(0, np.int64), np.zeros(0), generated_weights)

    # Muons of the candidate events, two per event in event order, sorted by pT.
    chosen = good_muon[opposite[event[good_muon]]]
    chosen_pt = np.hypot(px[chosen], py[chosen]).reshape(-1, 2)
    order = np.argsort(-chosen_pt, axis=1, kind="stable")
    chosen = np.take_along_axis(chosen.reshape(-1, 2), order, axis=1)
    muon_p4 = np.stack([e[chosen], px[chosen], py[chosen], pz[chosen]], axis=-1)

    # Jet inputs: visible final-state particles of candidate events, minus the two muons.
    visible = final & ~np.isin(abs_pid, NEUTRINO_IDS) & opposite[event]
    visible[chosen.ravel()] = False
    n_visible = np.bincount(event[visible], minlength=n_events)[candidates]
    inputs = ak.unflatten(ak.zip({"px": px[visible], "py": py[visible], "pz": pz[visible],
                                  "E": e[visible]}), n_visible)
    jet_def = fastjet.JetDefinition(fastjet.antikt_algorithm, settings.jet_radius)
    jets = fastjet.ClusterSequence(inputs, jet_def).inclusive_jets(min_pt=settings.jet_pt_min)
    jet_pt = np.hypot(jets.px, jets.py)
    jets = jets[ak.argsort(jet_pt, axis=1, ascending=False, stable=True)][:, :settings.max_jets]
    n_jets = ak.to_numpy(ak.num(jets, axis=1)).astype(np.int64)
    jet_p4 = np.stack(
        [ak.to_numpy(ak.fill_none(ak.pad_none(jets[c], settings.max_jets, axis=1), 0.0))
         for c in ("E", "px", "py", "pz")], axis=-1)

    has_jet = n_jets >= 1
    stage[candidates[has_jet]] = ACCEPTED
    accepted = candidates[has_jet]
    momenta = np.concatenate([muon_p4, jet_p4], axis=1)[has_jet].astype(np.float64)
    n_jets = n_jets[has_jet]
    mask = np.zeros((len(accepted), slots), dtype=bool)
    mask[:, :2] = True
    mask[:, 2:] = np.arange(settings.max_jets) < n_jets[:, None]
    return SelectedBatch(stage, momenta, mask, n_jets, generated_weights[accepted],
                         generated_weights)


def _next_batch_size(settings: ZJetsSettings, missing: int, n_generated: int,
                     n_accepted: int) -> int:
    """Events to ask for: the batch size, or fewer when a small batch should be enough."""
    acceptance = max(n_accepted / n_generated, 0.05) if n_generated else 0.35
    expected = math.ceil(1.2 * missing / acceptance) + 10
    return min(settings.batch_size, expected)


def generate_shard(settings: ZJetsSettings, n_accepted: int, seed: int,
                   progress_queue: ProgressSink | None = None
                   ) -> tuple[EventSample, dict[str, Any]]:
    """Generate exactly ``n_accepted`` selected Z(->mumu)+jets events with one Pythia seed.

    Args:
        settings: process, cuts and batch size.
        n_accepted: number of events to keep (the first that pass, in generation order).
        seed: Pythia seed in 1..900000000.
        progress_queue: optional; receives ``n`` (newly accepted events) after every batch.

    Returns:
        The events (momenta (n_accepted, 5, 4), mask, multiplicity = number of jets, weights)
        and a stats dictionary: n_generated (events generated up to the last kept one),
        n_accepted, the number rejected at each cut, sums of weights, pythia_errors (failed
        ``next()`` calls) and Pythia's generated cross section sigma_gen_pb with its error.
    """
    if n_accepted <= 0:
        raise LhcgenError(f"n_accepted must be positive, got {n_accepted}")
    silence_fastjet_banner()
    pythia = make_pythia(settings, seed)

    parts: list[SelectedBatch] = []
    stages: list[np.ndarray] = []
    gen_weights: list[np.ndarray] = []
    n_done = n_seen = 0
    while n_done < n_accepted:
        missing = n_accepted - n_done
        size = _next_batch_size(settings, missing, n_seen, n_done)
        batch = pythia.nextBatch(size, "skip")
        if len(batch) == 0:
            raise LhcgenError(f"Pythia failed to generate any of {size} events "
                              f"(seed {seed}); check the Pythia settings")
        selected = select_batch(batch, settings)
        stage = selected.stage
        n_pass = len(selected.weights)
        if n_pass > missing:  # keep the first `missing`; ignore events generated after them
            last = np.flatnonzero(stage == ACCEPTED)[missing - 1]
            stage = stage[: last + 1]
            selected.momenta = selected.momenta[:missing]
            selected.mask = selected.mask[:missing]
            selected.n_jets = selected.n_jets[:missing]
            selected.weights = selected.weights[:missing]
            n_pass = missing
        parts.append(selected)
        stages.append(stage)
        gen_weights.append(selected.generated_weights[: len(stage)])
        n_done += n_pass
        n_seen += len(stage)
        if n_done == 0 and n_seen >= MAX_GENERATED_WITHOUT_ACCEPTED:
            raise LhcgenError(f"none of {n_seen} generated events passed the selection "
                              f"(seed {seed}); check the cuts in ZJetsSettings")
        if progress_queue is not None and n_pass:
            progress_queue.put(n_pass)

    info = pythia.infoPython()
    stage = np.concatenate(stages)
    flow = np.bincount(stage, minlength=ACCEPTED + 1)
    sample = EventSample(
        np.concatenate([s.momenta for s in parts]),
        np.concatenate([s.mask for s in parts]),
        np.concatenate([s.n_jets for s in parts]),
        np.concatenate([s.weights for s in parts]),
        {"object_names": list(ZJETS_OBJECTS), "n_fixed_objects": 2},
    )
    stats = {
        "seed": seed,
        "n_generated": int(len(stage)),
        "n_accepted": int(flow[ACCEPTED]),
        "rejected_muon_count": int(flow[FAILED_MUON_COUNT]),
        "rejected_muon_charge": int(flow[FAILED_MUON_CHARGE]),
        "rejected_no_jet": int(flow[FAILED_NO_JET]),
        "sum_weights_generated": float(np.concatenate(gen_weights).sum()),
        "sum_weights_accepted": float(sample.weights.sum()),
        "pythia_errors": int(info.getCounter(3) - info.getCounter(4)),
        "pythia_next_calls": int(info.getCounter(3)),
        "sigma_gen_pb": float(info.sigmaGen()) * MB_TO_PB,
        "sigma_err_pb": float(info.sigmaErr()) * MB_TO_PB,
    }
    return sample, stats
