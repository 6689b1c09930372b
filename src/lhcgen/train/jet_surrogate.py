"""A trained generator of jets as particle clouds: a run directory loaded for sampling jets.

Two ways to condition the constituents on the jet (both reported by the benchmarks):

* "as published" (PC-JeDi, PC-Droid, EPiC-FM): the jet type, pT, eta, mass and constituent
  count of each jet are taken from a file (``condition_from``);
* "fully generated": the run's conditions model (RUN/conditions/, a conditional flow of
  (pT, eta, m, N) given the type, N dequantised) is sampled first, then the constituents.

Every jet draws its noise per event (``EventNoise``): stream 0 for the constituents, 1 for
the kinematics, 2 for the type, so the jets depend on the run, ``seed`` and ``n`` and not on
the batch size.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from tqdm.auto import tqdm

from lhcgen import __version__, noise
from lhcgen.data.jet_hdf5 import read_jets, write_jets
from lhcgen.data.jets import JET_FEATURES, JET_TYPES, JetCloudSample, pt_ordered
from lhcgen.errors import LhcgenError
from lhcgen.models import Generator
from lhcgen.models.registry import check_sampler
from lhcgen.noise import EventNoise, aligned_batch_size
from lhcgen.physics.particle_cloud import (
    bound_cloud_mass,
    bound_truncated_cloud_pt,
    cloud_mass_share,
    conserve_cloud_pt,
    relative_cloud_pt,
)
from lhcgen.processes import Process
from lhcgen.solvers import sample
from lhcgen.solvers.sampling import (
    CONSISTENCY_OPTIONS,
    EDM_OPTIONS,
    consistency_sigmas,
    guidance_of,
)
from lhcgen.train.checkpoint import CHECKPOINT, load_checkpoint
from lhcgen.train.config import RunConfig
from lhcgen.train.run import CONDITIONS_DIR, conditions_model, load_trained_run, run_metrics
from lhcgen.transforms.jet_cloud import JetCloudPreprocessing

CONSTITUENTS, KINEMATICS, TYPES = 0, 1, 2
"""Noise streams of one run's sampling."""


@dataclass
class Conditions:
    """The jets to generate: type code (N,), (pT, eta, m) (N, 3), untruncated constituent
    count (N,) and stored constituents (N,), min(count, P) unless a file says otherwise."""

    jet_type: np.ndarray
    kinematics: np.ndarray
    n_constituents: np.ndarray
    stored: np.ndarray

    def rows(self, index: slice) -> Conditions:
        return Conditions(self.jet_type[index], self.kinematics[index],
                          self.n_constituents[index], self.stored[index])


def type_code(letter: str) -> int:
    if letter not in JET_TYPES:
        raise LhcgenError(f"unknown jet type {letter!r} (one of {', '.join(JET_TYPES)})")
    return JET_TYPES.index(letter)


@dataclass
class JetSurrogate:
    run_dir: Path
    cfg: RunConfig
    process: Process
    preprocessing: JetCloudPreprocessing
    model: Generator
    conditions_model: Generator | None
    device: torch.device

    @classmethod
    def load(cls, run_dir: str | Path, device: torch.device) -> JetSurrogate:
        run_dir = Path(run_dir)
        cfg, process, preprocessing, model = load_trained_run(run_dir, device, "clouds")
        kinematics = None
        if (run_dir / CONDITIONS_DIR / CHECKPOINT).is_file():
            kinematics = conditions_model(cfg, preprocessing.multiplicities, 4)
            kin_state = load_checkpoint(run_dir / CONDITIONS_DIR, device)
            kinematics.load_state_dict(kin_state["ema"]["model"])
            kinematics.to(device).eval()
        return cls(run_dir, cfg, process, preprocessing, model, kinematics, device)

    @property
    def types(self) -> list[str]:
        return [JET_TYPES[code] for code in self.preprocessing.multiplicities]

    def check_type(self, jet_type: str | None) -> int | None:
        if jet_type is None:
            return None
        code = type_code(jet_type)
        if code not in self.preprocessing.multiplicities:
            raise LhcgenError(f"{self.run_dir} was trained on {''.join(self.types)} jets, not "
                              f"{jet_type!r}")
        return code

    # ---- conditions ----------------------------------------------------------------------
    def conditions_from_file(self, path: str | Path, n: int,
                             jet_type: str | None) -> Conditions:
        """The first ``n`` jets of ``path`` (of ``jet_type`` if given): the published
        protocol. One line if the file does not fit the run."""
        code = self.check_type(jet_type)
        truth = read_jets(path)
        if truth.n_particles != self.preprocessing.n_particles:
            raise LhcgenError(f"{path}: {truth.n_particles} particles per jet, but "
                              f"{self.run_dir} generates {self.preprocessing.n_particles}")
        if code is not None:
            truth = truth.subset(truth.jet_type == code)
        else:
            foreign = sorted(set(truth.jet_type.tolist()) - set(self.preprocessing.multiplicities))
            if foreign:
                raise LhcgenError(f"{path} holds {''.join(JET_TYPES[c] for c in foreign)} jets, "
                                  f"but {self.run_dir} was trained on {''.join(self.types)}; "
                                  "pick a type with --type")
        if len(truth) < n:
            which = f" {jet_type}" if jet_type else ""
            raise LhcgenError(f"{path} holds {len(truth)}{which} jets, fewer than -n {n}")
        truth = truth.subset(slice(0, n))
        return Conditions(truth.jet_type, truth.jets[:, :3].copy(), truth.n_constituents,
                          truth.mask.sum(axis=1))

    def _types(self, n: int, start: int, code: int | None, seed: int) -> np.ndarray:
        if code is not None:
            return np.full(n, code)
        u = noise.rand((n,), EventNoise(seed, start, n, TYPES), torch.float64).numpy()
        edges = np.cumsum(self.preprocessing.fractions)
        index = np.minimum(np.searchsorted(edges, u, side="right"), len(edges) - 1)
        return np.asarray(self.preprocessing.multiplicities)[index]

    def generate_conditions(self, n: int, start: int, code: int | None,
                            seed: int) -> tuple[Conditions, int]:
        """Conditions of jets ``start .. start + n - 1`` from the conditions model; returns
        them and the network evaluations."""
        if self.conditions_model is None:
            raise LhcgenError(f"{self.run_dir} has no conditions model ({CONDITIONS_DIR}/): "
                              "its training did not finish; resume it, or take the "
                              "conditions from a file with --condition-from")
        types = self._types(n, start, code, seed)
        gen = EventNoise(seed, start, n, KINEMATICS)
        dims = torch.ones((n, 4), dtype=torch.bool)
        y, info = sample(self.conditions_model, torch.from_numpy(types), dims, gen,
                         self.cfg.conditions.solver, self.cfg.conditions.steps)
        kinematics, counts = self.preprocessing.kinematics_decode(
            y.cpu().numpy(), types, self.cfg.conditions.marginals)
        stored = np.minimum(counts, self.preprocessing.n_particles)
        return Conditions(types, kinematics, counts, stored), info["nfe"]

    # ---- constituents --------------------------------------------------------------------
    def sampler(self, solver: str | None, steps: int | None) -> tuple[str | None, int | None]:
        check_sampler(self.cfg.model.name, solver, steps)
        return self.model.resolve_sampler(solver or self.cfg.sampling.solver or None,
                                          steps or self.cfg.sampling.steps or None)

    def constituents(self, conditions: Conditions, start: int, seed: int, solver: str,
                     steps: int, **options) -> tuple[np.ndarray, np.ndarray, int]:
        """(particles (N, P, 3), mask (N, P), nfe) for ``conditions``; ``options`` go to the
        sampler (e.g. ``s_churn`` of the stochastic EDM sampler)."""
        n = len(conditions.jet_type)
        mask = self.preprocessing.particle_mask(conditions.stored)
        context = self.preprocessing.context(conditions.kinematics, conditions.n_constituents)
        x, info = sample(self.model, torch.from_numpy(conditions.jet_type),
                         self.preprocessing.dims_mask(mask), EventNoise(seed, start, n,
                                                                        CONSTITUENTS),
                         solver, steps, context=torch.from_numpy(context).float(), **options)
        return self.preprocessing.decode_particles(x.cpu().numpy(), mask), mask, info["nfe"]

    def generate(self, n: int, jet_type: str | None = None, condition_from: str | None = None,
                 solver: str | None = None, steps: int | None = None,
                 batch_size: int | None = None, seed: int = 0,
                 progress: bool = True, options: dict[str, float] | None = None,
                 conserve_pt_sum: bool | None = None,
                 bound_mass: bool | None = None) -> tuple[JetCloudSample, dict]:
        """``n`` jets; non-finite ones are removed and counted. Returns (jets, info).
        ``conserve_pt_sum`` (default: the config's ``sampling.conserve_pt_sum``): rescale the
        constituents of every jet that keeps them all to sum to its pT and bound the sum of the
        truncated ones (``conserve_jet_pt_sums``); the sums before are summarised in info
        (``pt_sum_quantiles``, ``n_truncated_pt_sum_bounded``). ``bound_mass`` (default: the
        config's ``sampling.bound_jet_mass``): then bring every jet whose constituents are
        heavier than the jet to the bound (``bound_jet_masses``); counted in info either way
        (``mass_ratio_quantiles``, ``n_heavier_than_jet``, ``n_mass_bounded``).
        ``options``: EDM sampler options (``EDM_OPTIONS``: ``sigma_min`` and ``rho`` of the
        noise schedule, ``s_churn``, ``s_tmin`` and ``s_tmax`` of the stochastic sampler,
        ``guidance`` and its interval ``guidance_sigma_low``, ``guidance_sigma_high``;
        default: the config's) or consistency ones (``CONSISTENCY_OPTIONS``: ``sigma_1`` and
        ``sigma_2``, the noise levels of the second and third steps; default:
        ``model.consistency.sampling_sigmas``), recorded in info and in the file's
        attributes."""
        if n <= 0:
            raise LhcgenError(f"the number of jets must be positive, got {n}")
        solver, steps = self.sampler(solver, steps)
        options = dict(options or {})
        self.check_options(options)
        if self.model.sampling == "edm" and self.model.cfg.guidance != 1.0:
            options.setdefault("guidance", self.model.cfg.guidance)  # recorded with the jets
        if self.model.sampling == "consistency":  # a step the options name but that won't run
            consistency_sigmas(self.model.consistency.sampling_sigmas, steps, options)
        code = self.check_type(jet_type)
        batch_size = aligned_batch_size(batch_size or self.cfg.sampling.batch_size)
        given = self.conditions_from_file(condition_from, n, jet_type) if condition_from \
            else None
        parts, counts = [], {"nfe": 0, "conditions_nfe": 0, "n_nonfinite": 0,
                             "network_seconds": 0.0, "conditions_seconds": 0.0}
        started = time.perf_counter()
        label = f"{solver}, {steps} steps"
        with tqdm(total=n, desc=f"sampling jets ({label})", unit="jet", disable=not progress,
                  dynamic_ncols=True) as bar:
            for start in range(0, n, batch_size):
                size = min(batch_size, n - start)
                t0 = time.perf_counter()
                if given is not None:
                    cond = given.rows(slice(start, start + size))
                else:
                    cond, nfe = self.generate_conditions(size, start, code, seed)
                    counts["conditions_nfe"] = max(counts["conditions_nfe"], nfe)
                t1 = time.perf_counter()
                particles, mask, nfe = self.constituents(cond, start, seed, solver, steps,
                                                         **options)
                counts["conditions_seconds"] += t1 - t0
                counts["network_seconds"] += time.perf_counter() - t1
                counts["nfe"] = max(counts["nfe"], nfe)
                finite = np.isfinite(particles).all(axis=(1, 2)) \
                    & np.isfinite(cond.kinematics).all(axis=1)
                counts["n_nonfinite"] += int((~finite).sum())
                parts.append((particles[finite], mask[finite], cond.rows(finite)))
                bar.update(size)
        seconds = time.perf_counter() - started
        if conserve_pt_sum is None:
            conserve_pt_sum = self.cfg.sampling.conserve_pt_sum
        if bound_mass is None:
            bound_mass = self.cfg.sampling.bound_jet_mass
        jets, info = self._assemble(parts, n, counts, seconds, solver, steps, batch_size,
                                    seed, "file" if given is not None else "generated",
                                    condition_from, conserve_pt_sum, bound_mass)
        for key, value in options.items():
            info[key] = value
            jets.attrs[f"sampling_{key}"] = value
        return jets, info

    def check_options(self, options: dict[str, float]) -> None:
        """Refuse sampler options the run's model does not take, in one line."""
        known = {"edm": EDM_OPTIONS, "consistency": CONSISTENCY_OPTIONS}
        unknown = sorted(set(options) - set(EDM_OPTIONS) - set(CONSISTENCY_OPTIONS))
        if unknown:
            raise LhcgenError(f"unknown sampler option(s) {', '.join(unknown)} (known: "
                              f"{', '.join(EDM_OPTIONS + CONSISTENCY_OPTIONS)})")
        foreign = sorted(set(options) - set(known.get(self.model.sampling, ())))
        if foreign:
            which = "EDM" if set(foreign) <= set(EDM_OPTIONS) else "consistency"
            raise LhcgenError(f"{', '.join(foreign)}: option(s) of the {which} samplers; "
                              f"{self.run_dir} is a {self.cfg.model.name} run")
        if self.model.sampling == "edm":  # before any jet is made
            guidance_of(self.model, dict(options), conditioned=True)

    def _assemble(self, parts, n, counts, seconds, solver, steps, batch_size, seed,
                  protocol, condition_from, conserve_pt_sum, bound_mass
                  ) -> tuple[JetCloudSample, dict]:
        particles = np.concatenate([p for p, _, _ in parts])
        if not len(particles):
            raise LhcgenError("every generated jet was non-finite; the model is broken")
        mask = np.concatenate([m for _, m, _ in parts])
        cond = Conditions(*(np.concatenate([getattr(c, k) for _, _, c in parts])
                            for k in ("jet_type", "kinematics", "n_constituents", "stored")))
        started = time.perf_counter()
        complete = complete_jets(cond.n_constituents, cond.stored)
        bounded = 0
        if conserve_pt_sum:
            particles, sums, bounded = conserve_jet_pt_sums(particles, mask,
                                                            cond.n_constituents, cond.stored)
        else:
            sums = relative_cloud_pt(particles, mask)
        pt_sum = {**pt_sum_facts(sums[complete], conserve_pt_sum),
                  "n_truncated_pt_sum_bounded": bounded}
        particles, mass = bound_jet_masses(particles, mask, cond.kinematics, bound_mass)
        seconds += time.perf_counter() - started
        particles = pt_ordered(particles, mask)
        jets = np.column_stack([cond.kinematics, mask.sum(axis=1)])
        info = {
            "model": self.cfg.model.name, "net": self.cfg.model.net, "solver": solver,
            "steps": steps, "nfe": counts["nfe"], "conditions": protocol,
            "conditions_nfe": counts["conditions_nfe"], "batch_size": batch_size,
            "n_requested": n, "n_written": int(len(particles)),
            "n_nonfinite": counts["n_nonfinite"], "seconds": round(seconds, 4),
            "jets_per_second": n / seconds,
            "network_seconds": round(counts["network_seconds"], 4),
            "conditions_seconds": round(counts["conditions_seconds"], 4),
            "device": str(self.device), "threads": torch.get_num_threads(), "seed": seed,
            "particles_pt_rel_above_1": int((particles[..., 2] > 1.0).sum()),
            **pt_sum, **mass,
        }
        attrs = {
            "kind": "generated", "generator": f"lhcgen {__version__} {self.cfg.model.name}",
            "run_dir": str(self.run_dir.resolve()), "max_delta_r": self.preprocessing.max_delta_r,
            "jet_edge": self.preprocessing.jet_edge,
            "condition_file": str(Path(condition_from).resolve()) if condition_from else "",
            **{f"sampling_{k}": v for k, v in info.items()},
        }
        cuts = self.run_facts().get("train_cuts")
        if cuts:
            attrs["cuts"] = cuts
        jets_sample = JetCloudSample(particles, mask, jets, cond.jet_type,
                                     np.ones(len(particles)), cond.n_constituents, attrs)
        violations = self.process.cut_violations(jets_sample, cuts)
        info["cut_violations"] = violations
        jets_sample.attrs["cut_violations"] = violations
        return jets_sample, info

    def run_facts(self) -> dict:
        """metrics.json of the run ({} while it has not finished)."""
        return run_metrics(self.run_dir)


PT_SUM_QUANTILES = (0.05, 0.5, 0.95)


def complete_jets(n_constituents: np.ndarray, stored: np.ndarray) -> np.ndarray:
    """(N,) bool: the jets that store every constituent (untruncated count = stored)."""
    return np.asarray(n_constituents) == np.asarray(stored)


def conserve_jet_pt_sums(particles: np.ndarray, mask: np.ndarray, n_constituents: np.ndarray,
                         stored: np.ndarray) -> tuple[np.ndarray, np.ndarray, int]:
    """What ``sampling.conserve_pt_sum`` does to generated jets: every complete jet rescaled to
    sum to its pT (``conserve_cloud_pt``), every truncated one outside the band its cut
    constituents allow brought to its edge (``bound_truncated_cloud_pt``). Returns the new
    particles, the complete jets' sums before rescaling (NaN elsewhere) and how many truncated
    jets were rescaled."""
    n_constituents, stored = np.asarray(n_constituents), np.asarray(stored)
    particles, sums = conserve_cloud_pt(particles, mask, complete_jets(n_constituents, stored))
    particles, factors = bound_truncated_cloud_pt(particles, mask, n_constituents - stored)
    return particles, sums, int((factors != 1.0).sum())


MASS_RATIO_QUANTILES = (0.05, 0.5, 0.95, 0.99)


def bound_jet_masses(particles: np.ndarray, mask: np.ndarray, kinematics: np.ndarray,
                     bound: bool) -> tuple[np.ndarray, dict]:
    """What ``sampling.bound_jet_mass`` does to generated jets (after the pT sum): every jet
    whose constituents, taken massless, are heavier than the jet (``kinematics``' pT and m)
    brought to the bound (``bound_cloud_mass``) if ``bound``. Returns the particles and the
    facts: the constituents' mass over the jet mass before (min, 5 %, 50 %, 95 %, 99 %, max;
    the truth's never exceeds 1), how many jets exceeded 1 and how many were brought to it."""
    pt, mass = (kinematics[:, JET_FEATURES.index(k)] for k in ("pt", "mass"))
    ratio = cloud_mass_share(particles, mask, pt, mass)
    finite = ratio[np.isfinite(ratio)]
    facts = {"jet_mass": "bounded" if bound else "raw",
             "mass_ratio_quantiles": [float(finite.min()), *(float(q) for q in np.quantile(
                 finite, MASS_RATIO_QUANTILES)), float(finite.max())] if len(finite) else [],
             "n_heavier_than_jet": int((finite > 1.0).sum()), "n_mass_bounded": 0}
    if bound:
        with np.errstate(divide="ignore", invalid="ignore"):
            particles, scale = bound_cloud_mass(particles, mask, mass / pt)
        facts["n_mass_bounded"] = int((scale != 1.0).sum())
    return particles, facts


def pt_sum_facts(sums: np.ndarray, conserved: bool) -> dict:
    """What the network made of the pT sum of the complete jets, before any rescaling:
    ``sums`` are their summed constituents' pT over the jet pT (1 for the truth's; NaN where
    ``conserve_cloud_pt`` could not rescale); min, 5 %, 50 %, 95 % and max, and how many
    jets were rescaled."""
    finite = sums[np.isfinite(sums)]
    quantiles = ([float(finite.min()), *(float(q) for q in np.quantile(finite, PT_SUM_QUANTILES)),
                  float(finite.max())] if len(finite) else [])
    return {"pt_sum": "conserved" if conserved else "raw", "n_complete_jets": len(sums),
            "n_pt_sum_rescaled": len(finite) if conserved else 0,
            "pt_sum_quantiles": quantiles}


def sample_jets_to_file(run_dir: str | Path, n: int, out: str | Path, device: torch.device,
                        jet_type: str | None = None, condition_from: str | None = None,
                        solver: str | None = None, steps: int | None = None,
                        batch_size: int | None = None, seed: int = 0,
                        progress: bool = True, options: dict[str, float] | None = None,
                        conserve_pt_sum: bool | None = None,
                        bound_mass: bool | None = None) -> dict:
    """`lhcgen sample` of a jets run: ``n`` jets written atomically to ``out`` in the schema
    of `lhcgen data jets`; returns the sampling facts."""
    surrogate = JetSurrogate.load(run_dir, device)
    jets, info = surrogate.generate(n, jet_type, condition_from, solver, steps, batch_size,
                                    seed, progress, options, conserve_pt_sum, bound_mass)
    write_jets(out, jets)
    return info
