"""`lhcgen classify` as a library function, and the classifier part of `lhcgen evaluate
--classifier`.

``classify_files`` cross-fits the judges (:func:`test.run_classifier_test`) and writes the
report directory atomically: ``metrics.json``, ``plots/`` and a self-contained
``index.html``; ``weights_path`` adds the same out-of-fold per-event weights to a copy of
the generated file (:func:`weights_file.write_weighted_copy`). Every problem is one
:class:`LhcgenError` line and leaves neither the report nor the weights file behind.
"""

from __future__ import annotations

import json
from pathlib import Path

from lhcgen.errors import LhcgenError
from lhcgen.evaluate.classifier.settings import ClassifierSettings
from lhcgen.io import atomic_dir, write_text_atomic
from lhcgen.processes import read_process_sample


def check_classifier_inputs(generated, truth, settings: ClassifierSettings, truth_2=None,
                            where: str = "") -> None:
    """Fail fast, before any training or plotting: samples of different schema or process,
    NaN/inf in the classifier inputs, or too few events per jet multiplicity for the folds
    (for the truth-2 floor too). Errors are prefixed with ``where``."""
    from lhcgen.evaluate.classifier.test import design, floor_sample

    try:
        design(generated, truth, ("generated", "truth"), settings)
        if truth_2 is not None:
            design(floor_sample(truth_2, len(generated)), truth, ("truth-2", "truth"),
                   settings)
    except LhcgenError as exc:
        raise LhcgenError(f"{where}{exc}") from None


def classify_files(generated_path, truth_path, report_dir, settings: ClassifierSettings,
                   weights_path=None, progress: bool = True, truth_2_path=None) -> dict:
    """Run the classifier test of two event files (and the floor with a third); write the
    report (and the weights) atomically. Returns the content of ``metrics.json``."""
    from lhcgen import __version__
    from lhcgen.evaluate.classifier.report import render_classifier_html
    from lhcgen.evaluate.classifier.test import run_classifier_test
    from lhcgen.evaluate.classifier.weights_file import write_weighted_copy
    from lhcgen.evaluate.verdict import speed_facts

    generated, _ = read_process_sample(generated_path, "generated", kind="events")
    truth, _ = read_process_sample(truth_path, "truth", kind="events")
    truth_2 = (read_process_sample(truth_2_path, "--truth-2", kind="events")[0]
               if truth_2_path else None)
    check_classifier_inputs(generated, truth, settings, truth_2,
                            f"{generated_path} vs {truth_path}: ")
    files = {"generated": str(generated_path), "truth": str(truth_path)}
    if truth_2_path:
        files["truth-2"] = str(truth_2_path)
    if weights_path:
        if Path(weights_path).resolve() == Path(report_dir).resolve():
            raise LhcgenError("--write-weights and --report name the same path")
        files["weights"] = str(weights_path)
    with atomic_dir(report_dir) as tmp:
        outcome = run_classifier_test(generated, truth, settings, tmp, progress, truth_2)
        metrics = {"lhcgen_version": __version__, "files": files,
                   "speed": speed_facts(generated.attrs, truth.attrs), **outcome.metrics}
        if weights_path:
            metrics["written_weights"] = {"n_events": len(outcome.generated_weights),
                                          **outcome.weights_info}
        write_text_atomic(tmp / "metrics.json", json.dumps(metrics, indent=2, allow_nan=False))
        write_text_atomic(tmp / "index.html", render_classifier_html(metrics, tmp))
        if weights_path:
            write_weighted_copy(generated_path, weights_path, outcome.generated_weights,
                                {**outcome.weights_info, "settings": outcome.metrics["settings"]})
    return metrics
