"""Paired particle-level / detector-level events of one Pythia shard (Z+jets or ttbar).

Each ``nextBatch`` array is selected at both levels with array operations:

* particle level: leptons of the process's flavours (for ttbar only prompt ones, see
  pythia_record) dressed with the photons within Delta R < 0.1; anti-kT R = 0.4 jets of the
  visible final-state particles except the leptons in the acceptance and their dressing
  photons; b jets by a ghost-associated B hadron; for ttbar the sum of the prompt
  neutrinos;
* detector level: the parametric detector (lhcgen.physics.detector) on the same stable
  particles; isolated reconstructed leptons; anti-kT R = 0.4 jets of the energy-flow objects
  except the tracks of the leptons in the acceptance; b-tagging by the card's efficiency for
  the jet's ghost-associated flavour; the missing transverse momentum.

Both levels then go through the same cuts (paired_cuts). An event is kept when it passes
either selection, so the detector's fakes and inefficiencies stay in the sample; the
shard keeps the first ``n`` such events of its Pythia stream.

The particle level is made for every generated event. The detector is simulated for the
events that pass the particle level and for those that could pass the detector level
(``preselect``: at least ``n_leptons`` final-state leptons of the right flavours with pT
above half the threshold and |eta| within 0.2 of the acceptance; the detector makes no fake
leptons). The others are counted in the cut flow (``failed_preselection``); a test checks
that the preselection loses no event.
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass, field
from typing import Any

import awkward as ak
import numpy as np

from lhcgen.data.paired import MET, LevelObjects, PairedSample
from lhcgen.data.paired_cuts import DRESSING_RADIUS, PairedCuts, ttbar_cuts, zjets_cuts
from lhcgen.data.paired_selection import FlatObjects, LevelCuts, assemble_level
from lhcgen.data.pythia import (
    MONASH_TUNE,
    BatchSizing,
    ProgressSink,
    accepted_batches,
    run_facts,
    start_pythia,
)
from lhcgen.data.pythia_record import (
    EventRecord,
    charge_lookup,
    final_state,
    flavour_hadrons,
    is_neutrino,
    prompt,
)
from lhcgen.data.zjets import ZJetsSettings
from lhcgen.errors import LhcgenError
from lhcgen.physics import fourvectors as fv
from lhcgen.physics.detector import DetectorCard, btag, card_as_dict, simulate_detector
from lhcgen.physics.dressing import dress_leptons
from lhcgen.physics.fastjet_setup import silence_fastjet_banner
from lhcgen.physics.jet_clustering import BOTTOM, cluster_antikt

PROCESSES = ("zjets", "ttbar")
PRESELECTION_PT_FRACTION = 0.5
PRESELECTION_ETA_MARGIN = 0.2
MAX_GENERATED_WITHOUT_ACCEPTED = 10_000

# Stage of every generated event.
FAILED_PRESELECTION = 0
PASSED_NEITHER = 1
PASSED_PARTICLE_ONLY = 2
PASSED_DETECTOR_ONLY = 3
PASSED_BOTH = 4
STAGE_KEYS = ("failed_preselection", "passed_neither", "passed_particle_only",
              "passed_detector_only", "passed_both")


@dataclass(frozen=True)
class PairedSettings:
    """Process, detector card and batching of a paired run.

    Attributes:
        process: "zjets" (inclusive Z -> mumu, as `lhcgen data zjets`) or "ttbar"
            (gg and qqbar -> ttbar, W -> quarks or the chosen leptons; tau decays off).
        card: the detector card.
        lepton: ttbar only: "e", "mu" or "emu", the lepton flavours of the selection (and
            of the leptonic W decays).
        sqrt_s: centre-of-mass energy in GeV.
        tune: Pythia's tune setting (fixes the PDF).
        batch_size: events per ``nextBatch`` call.
        preselect: skip the detector for events that can pass neither level.
    """

    process: str
    card: DetectorCard
    lepton: str = "emu"
    sqrt_s: float = 13000.0
    tune: str = MONASH_TUNE
    batch_size: int = 200
    preselect: bool = True

    def __post_init__(self) -> None:
        if self.process not in PROCESSES:
            raise LhcgenError(f"paired process must be one of {', '.join(PROCESSES)}, got "
                              f"{self.process!r}")
        if self.process == "zjets" and self.lepton != "emu":
            raise LhcgenError("--lepton applies to ttbar; Z+jets selects Z -> mumu")
        self.cuts()  # checks the lepton flavour
        if self.batch_size <= 0:
            raise LhcgenError(f"batch_size must be positive, got {self.batch_size}")

    def cuts(self) -> PairedCuts:
        return zjets_cuts() if self.process == "zjets" else ttbar_cuts(self.lepton)

    def pythia_settings(self) -> list[str]:
        if self.process == "zjets":
            return ZJetsSettings(sqrt_s=self.sqrt_s, tune=self.tune).pythia_settings()
        leptons = " ".join(str(f) for f in self.cuts().particle.lepton_flavours)
        return [self.tune, f"Beams:eCM = {self.sqrt_s!r}", "Top:gg2ttbar = on",
                "Top:qqbar2ttbar = on", "24:onMode = off", f"24:onIfAny = 1 2 3 4 5 {leptons}"]

    def as_dict(self) -> dict[str, Any]:
        return {**asdict(self), "card": card_as_dict(self.card)}

    def selection(self) -> dict[str, Any]:
        """Both levels' cuts and the object definitions, as stored in the file."""
        return {**self.cuts().as_dict(), "dressing_radius": DRESSING_RADIUS,
                "b_jets_particle_level": "ghost-associated B hadron with pT > 5 GeV",
                "b_jets_detector_level": "card b-tagging of the ghost-associated flavour",
                "preselection": {"enabled": self.preselect,
                                 "lepton_pt_fraction": PRESELECTION_PT_FRACTION,
                                 "eta_margin": PRESELECTION_ETA_MARGIN}}


@dataclass
class PairedBatch:
    """The kept events of one batch: ``stage`` per generated event, the paired sample of
    the kept ones, all generated weights and the seconds spent per step."""

    stage: np.ndarray
    sample: PairedSample | None
    generated_weights: np.ndarray
    seconds: dict[str, float] = field(default_factory=dict)

    @property
    def n_accepted(self) -> int:
        return 0 if self.sample is None else len(self.sample)

    def keep_first(self, n: int) -> int:
        kept = np.flatnonzero(self.stage >= PASSED_PARTICLE_ONLY)
        n_used = int(kept[n - 1]) + 1
        self.stage = self.stage[:n_used]
        self.generated_weights = self.generated_weights[:n_used]
        if self.sample is not None:
            self.sample = self.sample.subset(np.arange(n))
        return n_used


def _detector_possible(record: EventRecord, cuts: PairedCuts) -> np.ndarray:
    """Events that could pass the detector level: enough final-state leptons of the right
    flavours with pT above half the threshold near the acceptance. The detector makes no
    fake leptons, and a track measured at twice its pT is a > 10 sigma fluctuation."""
    level = cuts.detector
    lepton = record.final & np.isin(np.abs(record.pid), level.lepton_flavours)
    lepton &= fv.pt(record.p4) > PRESELECTION_PT_FRACTION * level.lepton_pt_min
    lepton &= np.abs(fv.eta(record.p4)) < level.lepton_abs_eta_max + PRESELECTION_ETA_MARGIN
    return np.bincount(record.event[lepton], minlength=record.n_events) >= level.n_leptons


def _in_acceptance(p4: np.ndarray, pid: np.ndarray, level: LevelCuts) -> np.ndarray:
    return (np.isin(np.abs(pid), level.lepton_flavours) & (fv.pt(p4) > level.lepton_pt_min)
            & (np.abs(fv.eta(p4)) < level.lepton_abs_eta_max))


def particle_level(record: EventRecord, settings: PairedSettings) -> LevelObjects:
    """The particle level of every event of the record."""
    cuts = settings.cuts()
    level = cuts.particle
    final = record.final
    leptons = np.flatnonzero(final & np.isin(np.abs(record.pid), level.lepton_flavours))
    photons = np.flatnonzero(final & (record.pid == 22))
    if cuts.prompt_leptons:
        leptons = leptons[prompt(record, leptons)]
        photons = photons[prompt(record, photons)]
    event = record.event
    dressed, owner = dress_leptons(event, leptons, photons, record.p4, DRESSING_RADIUS)
    selected = _in_acceptance(dressed, record.pid[leptons], level)

    visible = final & ~is_neutrino(record.pid)
    visible[leptons[selected]] = False
    visible[photons[(owner >= 0) & selected[np.maximum(owner, 0)]]] = False
    inputs = np.flatnonzero(visible)
    hadrons = flavour_hadrons(record)
    jets = cluster_antikt(event[inputs], record.p4[inputs], record.n_events, cuts.jet_radius,
                          level.jet_pt_min, hadrons.event, hadrons.p4, hadrons.flavour)

    missing = None
    has_missing, code, name = cuts.missing("particle")
    if has_missing:
        neutrinos = np.flatnonzero(final & is_neutrino(record.pid))
        neutrinos = neutrinos[prompt(record, neutrinos)]
        missing = np.zeros((record.n_events, 4))
        np.add.at(missing, event[neutrinos], record.p4[neutrinos])
    return assemble_level(record.n_events, FlatObjects(event[leptons], dressed,
                                                       record.pid[leptons]),
                          FlatObjects(jets.event, jets.p4, jets.flavour == BOTTOM), level,
                          missing, code, cuts.lepton_names, name)


def detector_level(record: EventRecord, keep: np.ndarray, settings: PairedSettings,
                   charges, rng: np.random.Generator) -> LevelObjects:
    """The detector level of the events ``keep`` (renumbered 0..K-1)."""
    cuts = settings.cuts()
    level = cuts.detector
    final, _ = final_state(record, charges, keep)
    hadrons = flavour_hadrons(record, keep)
    response = simulate_detector(final, settings.card, rng)
    leptons = [r for r, flavour in ((response.electrons, 11), (response.muons, 13))
               if flavour in level.lepton_flavours]
    event = np.concatenate([r.event[r.isolated] for r in leptons])
    p4 = np.concatenate([r.p4[r.isolated] for r in leptons])
    pid = np.concatenate([r.pid[r.isolated] for r in leptons])
    track = np.concatenate([r.eflow[r.isolated] for r in leptons])
    order = np.argsort(event, kind="stable")
    event, p4, pid, track = event[order], p4[order], pid[order], track[order]

    inputs = np.ones(len(response.eflow.event), bool)
    inputs[track[_in_acceptance(p4, pid, level)]] = False
    flow = response.eflow
    jets = cluster_antikt(flow.event[inputs], flow.p4[inputs], final.n_events,
                          cuts.jet_radius, level.jet_pt_min, hadrons.event, hadrons.p4,
                          hadrons.flavour)
    tagged = btag(fv.pt(jets.p4), fv.eta(jets.p4), jets.flavour, settings.card, rng)
    met = response.met
    missing = np.stack([np.hypot(met[:, 0], met[:, 1]), met[:, 0], met[:, 1],
                        np.zeros(len(met))], axis=-1)
    return assemble_level(final.n_events, FlatObjects(event, p4, pid),
                          FlatObjects(jets.event, jets.p4, tagged), level, missing, MET,
                          cuts.lepton_names, "met")


def select_paired_batch(batch: ak.Array, settings: PairedSettings, charges,
                        rng: np.random.Generator) -> PairedBatch:
    """Both levels of a ``nextBatch`` array; the events that pass either are kept."""
    started = time.perf_counter()
    record = EventRecord.from_batch(batch)
    weights = ak.to_numpy(ak.firsts(batch.info.weights)).astype(np.float64)
    particle = particle_level(record, settings)
    middle = time.perf_counter()
    simulate = np.ones(record.n_events, bool)
    if settings.preselect:
        simulate = particle.passed | _detector_possible(record, settings.cuts())
    stage = np.full(record.n_events, FAILED_PRESELECTION)
    detector_passed = np.zeros(record.n_events, bool)
    detector = None
    if simulate.any():
        detector = detector_level(record, simulate, settings, charges, rng)
        detector_passed[simulate] = detector.passed
    done = time.perf_counter()
    stage[simulate] = PASSED_NEITHER
    stage[particle.passed & ~detector_passed] = PASSED_PARTICLE_ONLY
    stage[~particle.passed & detector_passed] = PASSED_DETECTOR_ONLY
    stage[particle.passed & detector_passed] = PASSED_BOTH
    chosen = particle.passed | detector_passed
    seconds = {"particle_level": middle - started, "detector": done - middle}
    if not chosen.any():
        return PairedBatch(stage, None, weights, seconds)
    # detector rows exist for the simulated events only (renumbered in event order)
    detector_row = np.cumsum(simulate) - 1
    sample = PairedSample(particle.subset(chosen),
                          detector.subset(detector_row[chosen]),  # type: ignore[union-attr]
                          weights[chosen])
    return PairedBatch(stage, sample, weights, seconds)


BATCH_SIZING = BatchSizing(prior=0.2, min_rate=0.01, spare=10)


def generate_paired_shard(settings: PairedSettings, n_accepted: int, seed: int,
                          progress_queue: ProgressSink | None = None
                          ) -> tuple[PairedSample, dict[str, Any]]:
    """The first ``n_accepted`` events of Pythia seed ``seed`` that pass either level.

    The detector's random numbers come from ``numpy.random.default_rng(seed)``, consumed
    batch after batch, so the shard depends on (settings, n_accepted, seed) alone.
    """
    if n_accepted <= 0:
        raise LhcgenError(f"n_accepted must be positive, got {n_accepted}")
    silence_fastjet_banner()
    pythia = start_pythia(settings.pythia_settings(), seed, f"paired {settings.process}")
    charges = charge_lookup(pythia)
    rng = np.random.default_rng(seed)
    seconds = {"pythia": 0.0, "particle_level": 0.0, "detector": 0.0}
    parts: list[PairedBatch] = []
    started = time.perf_counter()

    def select(batch: ak.Array) -> PairedBatch:
        nonlocal started
        seconds["pythia"] += time.perf_counter() - started
        selected = select_paired_batch(batch, settings, charges, rng)
        for key, value in selected.seconds.items():
            seconds[key] += value
        return selected

    for _, selected, _ in accepted_batches(
            pythia, n_accepted, select, batch_size=settings.batch_size, sizing=BATCH_SIZING,
            seed=seed, give_up_after=MAX_GENERATED_WITHOUT_ACCEPTED,
            passed="passed the particle- or detector-level selection",
            cuts="PairedSettings", progress_queue=progress_queue):
        parts.append(selected)
        started = time.perf_counter()
    stage = np.concatenate([p.stage for p in parts])
    sample = PairedSample.concatenate([p.sample for p in parts if p.sample is not None])
    flow = np.bincount(stage, minlength=len(STAGE_KEYS))
    stats = {"n_generated": int(len(stage)), "n_accepted": int(len(sample)),
             **{key: int(flow[k]) for k, key in enumerate(STAGE_KEYS)},
             "sum_weights_generated": float(np.concatenate(
                 [p.generated_weights for p in parts]).sum()),
             "sum_weights_accepted": float(sample.weights.sum()),
             "seconds": seconds, "seed": seed, **run_facts(pythia)}
    return sample, stats
