"""`lhcgen metrics jets` as library functions: the JetNet metrics of a generated jet file
against the truth and the truth-vs-truth floor, written as JSON (and substructure plots)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
from tqdm import tqdm

from lhcgen.data.jet_hdf5 import read_jets
from lhcgen.errors import LhcgenError
from lhcgen.evaluate.jets.efp_range import efp_range
from lhcgen.evaluate.jets.mass_bound import heavier_than_jet
from lhcgen.evaluate.jets.metrics import (
    JetMetricSettings,
    JetSample,
    jet_metrics,
    mean_of_draws,
    ratio_to_floor,
    ratio_to_floor_error,
)
from lhcgen.io import atomic_dir, write_text_atomic

METRIC_ORDER = ("w1m", "w1p", "w1efp", "fpd", "kpd")


def check_sample_sizes(sizes: dict[str, int], settings: JetMetricSettings) -> None:
    """One line naming the option and the size needed when a sample is too small."""
    needs = (("--w1-samples", settings.w1_num_eval_samples),
             ("--fpd-max-samples", settings.fpd_max_samples),
             ("--kpd-batch-size", settings.kpd_batch_size))
    if settings.fpd_min_samples > settings.fpd_max_samples:
        raise LhcgenError("--fpd-min-samples must not exceed --fpd-max-samples")
    for which, size in sizes.items():
        for option, needed in needs:
            if size < needed:
                raise LhcgenError(f"the {which} sample has {size} jets but {option} needs "
                                  f"{needed}: give at least {needed} jets or lower {option}")


def compare_jet_files(generated_path, truth_path, truth_2_path=None, *, seed: int = 42,
                      settings: JetMetricSettings | None = None,
                      progress: bool = False) -> dict[str, Any]:
    """The JetNet metrics of generated vs truth and of the floor; a JSON-ready dict.
    ``truth_2_path``: one independent truth file (the floor is the truth against it),
    several (the floor is the mean over the truth against each, ``mean_of_draws``: known √n
    times better than one, with ``resolution`` one draw's error), or None (the truth's first
    half against its second). ``progress``: a bar over the samples' EFPs and one over the
    comparisons (minutes each at 50000 jets of 150 particles)."""
    settings = settings or JetMetricSettings()
    seconds = ([] if truth_2_path is None else [truth_2_path]
               if isinstance(truth_2_path, str | Path) else list(truth_2_path))
    generated = read_jets(generated_path)
    truth = read_jets(truth_path)
    others = [read_jets(path) for path in seconds]
    for path, sample in [(generated_path, generated), (truth_path, truth),
                         *zip(seconds, others, strict=True)]:
        if np.any(sample.weights < 0):
            raise LhcgenError(f"{path}: {int(np.sum(sample.weights < 0))} jets carry negative "
                              "event weights; the JetNet metrics resample jets by weight and "
                              "cannot take negative ones: unweight the sample first")
        if sample.n_particles != truth.n_particles:
            raise LhcgenError(f"{path} has {sample.n_particles} particles per jet but "
                              f"{truth_path} has {truth.n_particles}: compare files with the "
                              "same particle count")
    if others:
        floor_a, floor_bs = truth, others
        floor_how = (f"{truth_path} against {seconds[0]}" if len(others) == 1 else
                     f"the mean over {truth_path} against each of {len(others)} independent "
                     f"truth files ({', '.join(map(str, seconds))})")
    else:
        half = len(truth) // 2
        floor_a, floor_bs = truth.subset(slice(0, half)), [truth.subset(slice(half, None))]
        floor_how = f"first {half} jets of {truth_path} against the remaining {len(truth) - half}"
    check_sample_sizes({"generated": len(generated), "truth": len(truth),
                        "floor (first truth)": len(floor_a),
                        **{("floor (second truth)" if len(floor_bs) == 1 else
                            f"floor (truth file {seconds[i]})"): len(b)
                           for i, b in enumerate(floor_bs)}}, settings)

    def cloud(sample):
        return JetSample.from_particles(sample.particles, sample.mask, sample.weights)

    samples = [truth, generated] + ([] if floor_a is truth else [floor_a]) + floor_bs
    clouds = [cloud(sample) for sample in tqdm(samples, desc="EFPs", unit="sample",
                                               disable=not progress)]
    truth_cloud, generated_cloud = clouds[0], clouds[1]
    floor_first = truth_cloud if floor_a is truth else clouds[2]
    floor_seconds = clouds[len(clouds) - len(floor_bs):]
    pairs = [(truth_cloud, generated_cloud)] + [(floor_first, b) for b in floor_seconds]
    judged = [jet_metrics(real, gen, seed=seed, settings=settings)
              for real, gen in tqdm(pairs, desc="metrics", unit="comparison",
                                    disable=not progress)]
    values = judged[0]
    draws = [{k: v.as_dict() for k, v in d.items()} for d in judged[1:]]
    floors = draws[0] if len(draws) == 1 else {
        k: {**(mean_of_draws([d[k] for d in draws]) or {"value": None, "error": None}),
            "error_kind": f"standard error of the mean of {len(draws)} floors",
            "settings": draws[0][k]["settings"]} for k in METRIC_ORDER}
    return {
        "generated": {k: v.as_dict() for k, v in values.items()},
        "floor": floors,
        **({"floor_draws": [{"truth_2": str(path), **d} for path, d in zip(
            seconds, draws, strict=True)]} if len(draws) > 1 else {}),
        "ratio_to_floor": {k: {"value": ratio_to_floor(v.value, floors[k]),
                               "error": ratio_to_floor_error(v.value, v.error, floors[k])}
                           for k, v in values.items()},
        "efp_range": {"generated": efp_range(truth_cloud.efps, generated_cloud.efps).as_dict(),
                      "floor": efp_range(floor_first.efps, floor_seconds[0].efps).as_dict()},
        "heavier_than_jet": {"generated": heavier_than_jet(generated).as_dict(),
                             "truth": heavier_than_jet(truth).as_dict()},
        "floor_definition": floor_how,
        "files": {"generated": str(generated_path), "truth": str(truth_path),
                  "truth_2": (None if not seconds else str(seconds[0]) if len(seconds) == 1
                              else [str(path) for path in seconds])},
        "sample_sizes": {"generated": len(generated), "truth": len(truth),
                         "floor_first": len(floor_a),
                         "floor_second": (len(floor_bs[0]) if len(floor_bs) == 1
                                          else [len(b) for b in floor_bs])},
        "particles": truth.n_particles,
        "jet_types": {"generated": generated.attrs.get("type"),
                      "truth": truth.attrs.get("type")},
        "seed": seed,
        "settings": settings.as_dict(),
        "definitions": "jetnet v0.2.5 (W1 x1 as stored, no rescaling)",
    }


def write_jet_metrics(result: dict[str, Any], json_out: str | Path,
                      report: str | Path | None = None) -> dict[str, Any]:
    """Write ``result`` (from ``compare_jet_files``) to ``json_out`` atomically, with the
    substructure three-panel plots in the directory ``report`` if given."""
    if report:
        from lhcgen.evaluate.jets.plots import write_substructure_plots

        files = result["files"]
        with atomic_dir(report) as tmp:
            written = write_substructure_plots(files["generated"], files["truth"], tmp)["files"]
        result["report"] = {"dir": str(report), "files": written}
    write_text_atomic(json_out, json.dumps(result, indent=1) + "\n")
    return result
