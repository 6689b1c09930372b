"""Collect the verdicts of `lhcgen classify` reports into one table.

    python benchmarks/classifier_verdicts.py NAME=REPORT_DIR [NAME=REPORT_DIR ...]

For each report: every judge's AUC over all events and per jet multiplicity, its floor and
the distance from the floor in standard errors, the sample sizes and the time of the
cross-fitting. Writes benchmarks/results/classifier_verdicts.{json,md} (``--out``).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from lhcgen.evaluate.html import sigma, with_error  # noqa: E402
from lhcgen.evaluate.verdict import multiplicity_label  # noqa: E402
from machine import command_line, machine_info  # noqa: E402
from rerender import write_results  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent


def summary(metrics: dict) -> dict:
    judges = {}
    for name, judge in metrics["judges"].items():
        floor = judge.get("floor") or {}
        judges[name] = {
            "title": judge["title"], "seconds": judge["training"]["seconds"],
            "floor_seconds": (judge["floor_training"] or {}).get("seconds"),
            "auc": {k: {"value": a["value"], "error": a["error"],
                        "error_events": a["error_events"],
                        "error_training": a["error_training"],
                        "floor": floor.get(k, {}).get("value"),
                        "floor_error": floor.get(k, {}).get("error"),
                        "distance": judge["distance"].get(k)}
                    for k, a in judge["auc"].items()}}
    return {"files": metrics.get("files"), "samples": metrics["samples"], "judges": judges,
            "speed": metrics.get("speed")}


def markdown(result: dict) -> str:
    m = result["machine"]
    lines = ["# Verdicts of the classifier test", "",
             f"Machine: {m['cpu']}, {m['logical_cpus']} logical CPUs, torch {m['torch']}. "
             f"Command: `{result['command']}`. Each row: one judge of `lhcgen classify` "
             "(3-fold cross-fitting over all events); the floor is the same judge on "
             "--truth-2 against --truth (0.5 without one).", "",
             "| comparison | judge | events | AUC | floor | AUC − floor | cross-fit time |",
             "| --- | --- | --- | --- | --- | --- | --- |"]
    for name, r in result["reports"].items():
        for judge in r["judges"].values():
            for key, a in judge["auc"].items():
                floor = (with_error(a["floor"], a["floor_error"]) if a["floor"] is not None
                         else "0.5")
                seconds = f"{judge['seconds']:.0f} s" if key == "all" else ""
                lines.append(f"| {name} | {judge['title']} | {multiplicity_label(key)} | "
                             f"{with_error(a['value'], a['error'])} | {floor} | "
                             f"{sigma(a['distance'])} | {seconds} |")
    for name, r in result["reports"].items():
        files = ", ".join(f"{k}: {v}" for k, v in (r["files"] or {}).items())
        lines.append(f"\n{name}: {files}.")
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("reports", nargs="+", metavar="NAME=REPORT_DIR")
    parser.add_argument("--out", default=str(ROOT / "benchmarks" / "results" /
                                             "classifier_verdicts"))
    args = parser.parse_args(argv)
    reports = {}
    for item in args.reports:
        name, _, folder = item.partition("=")
        if not folder:
            parser.error(f"expected NAME=REPORT_DIR, got {item!r}")
        path = Path(folder) / "metrics.json"
        if not path.is_file():
            parser.error(f"{path}: no such file (run lhcgen classify first)")
        reports[name] = summary(json.loads(path.read_text()))
    result = {"machine": machine_info(), "command": command_line(),
              "reports": reports}
    write_results(Path(args.out), result, markdown)
    return 0


if __name__ == "__main__":
    sys.exit(main())
