"""`lhcgen evaluate` as a library function: a generated file against the truth, written as a
report directory (histograms and the floor, optionally the classifier test and the test NLL
of the run)."""

from __future__ import annotations

import json
from pathlib import Path

from lhcgen.errors import LhcgenError
from lhcgen.evaluate.classifier.settings import ClassifierSettings
from lhcgen.io import atomic_dir, write_text_atomic
from lhcgen.processes import read_process_sample
from lhcgen.train.likelihood import NLLSettings, run_nll


def evaluate_files(generated_path, truth_path, report_dir, train_path=None,
                   classifier: ClassifierSettings | None = None, progress: bool = False,
                   nll: NLLSettings | None = None, truth_2_path=None) -> dict:
    """Compare a generated file with truth; write the report directory atomically.

    ``classifier`` adds the classifier test under "classifier", with its floor from
    ``truth_2_path`` (default: the truth-train file of the histogram floor); ``nll`` the
    test-set likelihood of the run under "likelihood". Returns the content of metrics.json.
    """
    from lhcgen.evaluate.classifier.files import check_classifier_inputs
    from lhcgen.evaluate.events.report import evaluate_events
    from lhcgen.evaluate.verdict import speed_facts

    generated, process = read_process_sample(generated_path, "generated", kind="events")
    truth, _ = read_process_sample(truth_path, "truth", expected=process.name, kind="events")
    first_events = 0
    if not train_path:
        train_path = generated.attrs.get("train_file") or None
        first_events = int(generated.attrs.get("train_max_events") or 0)
    if train_path and not Path(train_path).is_file():
        raise LhcgenError(f"{train_path}: the truth-train file for the floor is missing; "
                          "pass --train FILE")
    train = (read_process_sample(train_path, "--train", expected=process.name, kind="events")[0]
             if train_path else None)
    if train is not None and first_events:
        train = train.subset(slice(0, first_events))  # the events the model was trained on
    for sample, path in ((generated, generated_path), (truth, truth_path), (train, train_path)):
        if sample is not None:
            sample.attrs.setdefault("path", str(path))  # the report names its files
    info = speed_facts(generated.attrs, truth.attrs)
    info["cut_violations"] = generated.attrs.get("cut_violations")
    info["generated_file"] = str(generated_path)
    info["truth_file"] = str(truth_path)
    info["train_file"] = str(train_path) if train_path else None
    truth_2 = None
    if truth_2_path and classifier is None:
        raise LhcgenError("--truth-2 is the floor of the classifier test: add --classifier")
    if classifier is not None:
        truth_2 = train
        if truth_2_path:
            truth_2, _ = read_process_sample(truth_2_path, "--truth-2", expected=process.name,
                                             kind="events")
            info["classifier_truth_2_file"] = str(truth_2_path)
        check_classifier_inputs(generated, truth, classifier, truth_2, where="classifier: ")
    likelihood = None
    if nll is not None:
        likelihood = run_nll(nll, generated.attrs.get("run_dir"), truth, progress)
    with atomic_dir(report_dir) as tmp:
        metrics = evaluate_events(generated, truth, tmp, truth_train=train, info=info,
                                  likelihood=likelihood)
        if classifier is not None:
            _add_classifier_section(metrics, generated, truth, tmp, classifier, progress,
                                    truth_2)
        return metrics


def _add_classifier_section(metrics: dict, generated, truth, out_dir: Path,
                            settings: ClassifierSettings, progress: bool, truth_2) -> None:
    """Run the classifier test into ``out_dir`` (the report being written) and add it to
    ``metrics["classifier"]``, metrics.json and index.html."""
    from lhcgen.evaluate.classifier.test import classifier_test
    from lhcgen.evaluate.events.report import render_html

    metrics["classifier"] = classifier_test(generated, truth, settings, out_dir, progress,
                                            truth_2)
    write_text_atomic(out_dir / "metrics.json", json.dumps(metrics, indent=2, allow_nan=False))
    write_text_atomic(out_dir / "index.html", render_html(metrics, out_dir))
