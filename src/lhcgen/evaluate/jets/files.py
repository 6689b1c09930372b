"""`lhcgen metrics jets` as library functions: the JetNet metrics of a generated jet file
against the truth and the truth-vs-truth floor, written as JSON (and substructure plots)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np

from lhcgen.data.jet_hdf5 import read_jets
from lhcgen.errors import LhcgenError
from lhcgen.evaluate.jets.efp_range import efp_range
from lhcgen.evaluate.jets.mass_bound import heavier_than_jet
from lhcgen.evaluate.jets.metrics import (
    JetMetricSettings,
    JetSample,
    jet_metrics,
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
                      settings: JetMetricSettings | None = None) -> dict[str, Any]:
    """The JetNet metrics of generated vs truth and of the floor; a JSON-ready dict."""
    settings = settings or JetMetricSettings()
    generated = read_jets(generated_path)
    truth = read_jets(truth_path)
    files = {"generated": generated, "truth": truth}
    if truth_2_path:
        files["truth-2"] = read_jets(truth_2_path)
    for name, sample in files.items():
        if np.any(sample.weights < 0):
            path = {"generated": generated_path, "truth": truth_path,
                    "truth-2": truth_2_path}[name]
            raise LhcgenError(f"{path}: {int(np.sum(sample.weights < 0))} jets carry negative "
                              "event weights; the JetNet metrics resample jets by weight and "
                              "cannot take negative ones: unweight the sample first")
        if sample.n_particles != truth.n_particles:
            path = {"generated": generated_path, "truth-2": truth_2_path}[name]
            raise LhcgenError(f"{path} has {sample.n_particles} particles per jet but "
                              f"{truth_path} has {truth.n_particles}: compare files with the "
                              "same particle count")
    if truth_2_path:
        floor_a, floor_b = truth, files["truth-2"]
        floor_how = f"{truth_path} against {truth_2_path}"
    else:
        half = len(truth) // 2
        floor_a, floor_b = truth.subset(slice(0, half)), truth.subset(slice(half, None))
        floor_how = f"first {half} jets of {truth_path} against the remaining {len(truth) - half}"
    check_sample_sizes({"generated": len(generated), "truth": len(truth),
                        "floor (first truth)": len(floor_a),
                        "floor (second truth)": len(floor_b)}, settings)

    def cloud(sample):
        return JetSample.from_particles(sample.particles, sample.mask, sample.weights)

    truth_cloud, generated_cloud = cloud(truth), cloud(generated)
    floor_first = truth_cloud if floor_a is truth else cloud(floor_a)
    floor_second = cloud(floor_b)
    values = jet_metrics(truth_cloud, generated_cloud, seed=seed, settings=settings)
    floor = jet_metrics(floor_first, floor_second, seed=seed, settings=settings)
    floors = {k: v.as_dict() for k, v in floor.items()}
    return {
        "generated": {k: v.as_dict() for k, v in values.items()},
        "floor": floors,
        "ratio_to_floor": {k: {"value": ratio_to_floor(v.value, floors[k]),
                               "error": ratio_to_floor_error(v.value, v.error, floors[k])}
                           for k, v in values.items()},
        "efp_range": {"generated": efp_range(truth_cloud.efps, generated_cloud.efps).as_dict(),
                      "floor": efp_range(floor_first.efps, floor_second.efps).as_dict()},
        "heavier_than_jet": {"generated": heavier_than_jet(generated).as_dict(),
                             "truth": heavier_than_jet(truth).as_dict()},
        "floor_definition": floor_how,
        "files": {"generated": str(generated_path), "truth": str(truth_path),
                  "truth_2": str(truth_2_path) if truth_2_path else None},
        "sample_sizes": {"generated": len(generated), "truth": len(truth),
                         "floor_first": len(floor_a), "floor_second": len(floor_b)},
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
