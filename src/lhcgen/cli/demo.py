"""`lhcgen demo`: options and what it prints."""

from __future__ import annotations

import argparse
from typing import Any

from lhcgen.cli.args import add_runtime, positive_int, progress
from lhcgen.workflows.demo import DemoSettings


def add_parsers(sub: Any) -> None:
    d = DemoSettings()
    demo = sub.add_parser("demo", help="data, training, sampling and report in one go",
                          description="The README's first command: generate (or reuse) "
                                      "the demo data, train configs/demo.yaml, sample, "
                                      "evaluate and print a summary.")
    demo.add_argument("--config", default=d.config)
    demo.add_argument("--workdir", default=d.workdir)
    demo.add_argument("--train-events", type=positive_int, default=d.train_events)
    demo.add_argument("--test-events", type=positive_int, default=d.test_events)
    demo.add_argument("--sample-events", type=positive_int, default=d.sample_events)
    demo.add_argument("--workers", type=positive_int, default=d.workers)
    add_runtime(demo)
    demo.set_defaults(handler=run_demo)


def run_demo(args: argparse.Namespace) -> int:
    from lhcgen.cli.train import print_sampling
    from lhcgen.evaluate.events.report import format_summary
    from lhcgen.workflows.demo import run_demo as demo

    settings = DemoSettings(args.config, args.workdir, args.train_events, args.test_events,
                            args.sample_events, args.workers, args.device)
    done = demo(settings, progress(args), log=print)
    print_sampling(done["sampling"], done["generated"])
    metrics = done["report"]
    sampling = metrics.get("sampling", {})
    print(format_summary(metrics, sampling.get("simulator_events_per_second")))
    train = done["train"]
    print(f"[demo] trained {train['parameters']:,} parameters in "
          f"{train['training_seconds']:.0f} s; report: {done['report_dir']}/index.html")
    return 0
