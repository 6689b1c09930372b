"""What each `lhcgen` subcommand does, given parsed arguments (see cli.py for options)."""

from __future__ import annotations

import dataclasses
import shutil
import time
from pathlib import Path

from lhcgen import commands_jets
from lhcgen.commands_classify import (
    add_classifier_section,
    check_classifier_inputs,
    cmd_classify,
    evaluate_classifier_settings,
    print_classifier,
)
from lhcgen.errors import LhcgenError
from lhcgen.io import atomic_dir


def _progress(args) -> bool:
    return not args.no_progress


def make_zjets(n_events: int | None, seed: int, workers: int, shard_size: int | None,
               out: str | Path, progress: bool, scheduler: str | None = None,
               lhe: str | Path | None = None, pthat_min: float | None = None,
               hard_process: str | None = None) -> dict:
    """Generate Z+jets events (or shower a user's LHE file) and write them atomically;
    returns the file attributes. Finished shards are kept in ``OUT.parts`` until the file
    is written, so a rerun after a crash makes only the missing ones."""
    from lhcgen.data.shard_store import keep_parts_only_if_useful, parts_folder

    parts = parts_folder(out)
    with keep_parts_only_if_useful(parts):
        return _make_zjets(n_events, seed, workers, shard_size, out, progress, scheduler, lhe,
                           parts, pthat_min, hard_process)


def _make_zjets(n_events, seed, workers, shard_size, out, progress, scheduler, lhe, parts,
                pthat_min, hard_process):
    from lhcgen.data.hdf5 import write_events
    from lhcgen.data.shard_store import remove_parts
    from lhcgen.data.shards import generate_zjets
    from lhcgen.data.zjets import ZJetsSettings

    if (pthat_min is not None or hard_process is not None) and lhe is not None:
        raise LhcgenError("--pthat-min and --hard-process set Pythia's own process; with "
                          "--lhe the LHE file's generator chose it")
    if pthat_min is not None and hard_process != "zjet":
        raise LhcgenError("--pthat-min applies to --hard-process zjet only; the default, "
                          "inclusive Z, has no p-hat cut")
    options = {k: v for k, v in (("pthat_min", pthat_min), ("hard_process", hard_process))
               if v is not None}
    settings = ZJetsSettings(**options)

    started = time.perf_counter()
    if lhe is not None:
        from lhcgen.data.lhe import shower_lhe

        sample = shower_lhe(lhe, seed, workers=workers, shard_size=shard_size or 2000,
                            max_events=n_events, progress=progress, scratch=parts.parent,
                            parts=parts, scheduler=scheduler)
    else:
        if n_events is None:
            raise LhcgenError("--events is required (accepted events to write), unless "
                              "--lhe gives the events to shower")
        sample = generate_zjets(n_events, seed, workers=workers,
                                shard_size=shard_size or 1000, settings=settings,
                                progress=progress, parts=parts, scheduler=scheduler)
    seconds = time.perf_counter() - started
    sample.attrs.update(generation_seconds=round(seconds, 3), workers=workers,
                        scheduler=scheduler or "multiprocessing",
                        accepted_events_per_second=round(len(sample) / seconds, 3))
    write_events(out, sample)
    remove_parts(parts)
    return sample.attrs


def cmd_data(args) -> int:
    if args.process != "zjets":
        return commands_jets.cmd_data(args)
    attrs = make_zjets(args.events, args.seed, args.workers, args.shard_size, args.out,
                       _progress(args), args.scheduler, args.lhe, args.pthat_min,
                       args.hard_process)
    source = f" from {args.lhe}" if args.lhe else ""
    print(f"wrote {attrs['n_accepted']} events{source} to {args.out} in "
          f"{attrs['generation_seconds']:.1f} s ({attrs['accepted_events_per_second']:.1f} "
          f"accepted events/s on {args.workers} worker(s))")
    return 0


def cmd_train(args) -> int:
    from lhcgen.train.config import load_config
    from lhcgen.train.run import resolve_device, train_run

    cfg = load_config(args.config)
    metrics = train_run(cfg, args.out, resolve_device(args.device), resume=args.resume,
                        progress=_progress(args))
    print(f"trained {metrics['parameters']:,} parameters for {metrics['steps']} steps in "
          f"{metrics['training_seconds']:.1f} s; validation loss {metrics['final_val_loss']}; "
          f"run directory {args.out}")
    return 0


def sample_to_file(run_dir, n, out, device, solver=None, steps=None, batch_size=None,
                   seed=0, multiplicity=None, progress=True, weight_draws=0,
                   kv_cache=True) -> dict:
    from lhcgen.data.hdf5 import write_events
    from lhcgen.train.surrogate import Surrogate

    surrogate = Surrogate.load(run_dir, device)
    options = {}
    if not kv_cache:
        if surrogate.cfg.model.name != "jetgpt":
            raise LhcgenError(f"--no-kv-cache applies to JetGPT only; {run_dir} holds model "
                              f"'{surrogate.cfg.model.name}'")
        options["kv_cache"] = False
    sample, info = surrogate.generate(n, solver, steps, batch_size, seed, multiplicity,
                                      progress, weight_draws, **options)
    write_events(out, sample)
    return info


def cmd_sample(args) -> int:
    from lhcgen.train.run import resolve_device

    info = sample_to_file(args.run_dir, args.n, args.out, resolve_device(args.device),
                          args.solver, args.steps, args.batch_size, args.seed,
                          args.multiplicity, _progress(args), args.weight_draws,
                          not args.no_kv_cache)
    _print_sampling(info, args.out)
    return 0


def _print_sampling(info: dict, out) -> None:
    sampler = f"{info['solver']}, " if info["solver"] else ""
    draws = (f" from {info['weight_draws']} weight draws" if info.get("weight_draws") else "")
    print(f"wrote {info['n_written']} events{draws} to {out}: "
          f"{info['events_per_second']:.0f} events/s ({info['model']}, {sampler}{info['nfe']} "
          f"network evaluations, batch {info['batch_size']}, {info['threads']} threads, "
          f"{info['device']})")
    if info["n_nonfinite"]:
        print(f"warning: {info['n_nonfinite']} of {info['n_requested']} generated events were "
              "non-finite and were not written")
    cuts = info["cut_violations"]
    if cuts["any_selection_cut"]:
        detail = ", ".join(f"{k}: {v}" for k, v in cuts.items() if v and k != "any_selection_cut")
        print(f"note: {cuts['any_selection_cut']} events violate a selection cut and were kept "
              f"({detail})")


def evaluate_files(generated_path, truth_path, report_dir, train_path=None, classifier=None,
                   progress=False, nll=None, truth_2_path=None) -> dict:
    """Compare a generated file with truth; write the report directory atomically.

    ``classifier`` (ClassifierSettings or None) adds the classifier test under "classifier",
    with its floor from ``truth_2_path`` (default: the truth-train file of the histogram
    floor); ``nll`` (NLLSettings or None) the test-set likelihood of the run under
    "likelihood".
    """
    from lhcgen.data.hdf5 import read_events
    from lhcgen.evaluate.events.report import evaluate_events
    from lhcgen.evaluate.verdict import speed_facts

    generated = read_events(generated_path)
    truth = read_events(truth_path)
    for name, sample in (("generated", generated), ("truth", truth)):
        if sample.attrs.get("process", "zjets") != "zjets":
            raise LhcgenError(f"{name} file holds process {sample.attrs['process']!r}; "
                              "evaluate compares Z+jets files")
    if generated.momenta.shape[1] != truth.momenta.shape[1]:
        raise LhcgenError(f"{generated_path} has {generated.momenta.shape[1]} object slots but "
                          f"{truth_path} has {truth.momenta.shape[1]}: different schema")
    first_events = 0
    if not train_path:
        train_path = generated.attrs.get("train_file") or None
        first_events = int(generated.attrs.get("train_max_events") or 0)
    if train_path and not Path(train_path).is_file():
        raise LhcgenError(f"{train_path}: the truth-train file for the floor is missing; "
                          "pass --train FILE")
    train = read_events(train_path) if train_path else None
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
            try:
                truth_2 = read_events(truth_2_path)
            except LhcgenError as exc:
                raise LhcgenError(f"--truth-2: {exc}") from None
            info["classifier_truth_2_file"] = str(truth_2_path)
        check_classifier_inputs(generated, truth, classifier, truth_2, where="classifier: ")
    likelihood = None
    if nll is not None:
        likelihood = run_nll(nll, generated.attrs.get("run_dir"), truth, progress)
    with atomic_dir(report_dir) as tmp:
        metrics = evaluate_events(generated, truth, tmp, truth_train=train, info=info,
                                  likelihood=likelihood)
        if classifier is not None:
            add_classifier_section(metrics, generated, truth, tmp, classifier, progress,
                                   truth_2)
        return metrics


@dataclasses.dataclass(frozen=True)
class NLLSettings:
    run_dir: str | None = None
    """Run whose model is scored (default: the run recorded in the generated file)."""
    events: int = 10000
    trace: str = "exact"
    steps: int = 16
    device: str = "cpu"
    required: bool = False
    """True: a model without a density or a missing run is an error, not a note."""


def run_nll(settings: NLLSettings, recorded_run: str | None, truth, progress: bool) -> dict:
    """The test NLL of the run (train/likelihood.py), or a note saying why there is none."""
    from lhcgen.train.likelihood import heldout_nll
    from lhcgen.train.run import resolve_device
    from lhcgen.train.surrogate import Surrogate

    run_dir = settings.run_dir or recorded_run
    if not run_dir or not Path(run_dir).is_dir():
        message = (f"run directory {run_dir!r} not found; pass --run RUN_DIR" if run_dir else
                   "the generated file names no run directory; pass --run RUN_DIR")
        if settings.required:
            raise LhcgenError(f"test NLL: {message}")
        return {"note": message}
    surrogate = Surrogate.load(run_dir, resolve_device(settings.device))
    if not surrogate.model.has_density:
        message = f"model '{surrogate.cfg.model.name}' has no tractable density"
        if settings.required:
            raise LhcgenError(f"test NLL: {message}")
        return {"note": message}
    options = {}
    if surrogate.cfg.model.name == "cfm":
        options = {"solver": "rk4", "steps": settings.steps, "trace": settings.trace}
    result = heldout_nll(surrogate, truth, settings.events, progress=progress, **options)
    result["run_dir"] = str(run_dir)
    result["model"] = surrogate.cfg.model.name
    return result


def cmd_evaluate(args) -> int:
    from lhcgen.evaluate.events.report import format_summary

    nll = None
    if not args.no_nll:
        nll = NLLSettings(args.run, args.nll_events, args.nll_trace, args.nll_steps,
                          args.device, required=args.run is not None)
    metrics = evaluate_files(args.generated, args.truth, args.report, args.train,
                             evaluate_classifier_settings(args), _progress(args), nll,
                             args.truth_2)
    sampling = metrics.get("sampling", {})
    print(format_summary(metrics, sampling.get("simulator_events_per_second")))
    print_classifier(metrics)
    print(f"report: {Path(args.report) / 'index.html'}")
    return 0


def _cached(path: Path, events: int, seed: int) -> bool:
    if not path.is_file():
        return False
    from lhcgen.data.hdf5 import read_events
    from lhcgen.data.zjets import ZJetsSettings

    try:
        attrs = read_events(path).attrs
    except LhcgenError:
        return False
    # a file from an older event definition (other settings) is made again
    return (attrs.get("n_events") == events and attrs.get("seed") == seed
            and attrs.get("zjets_settings") == ZJetsSettings().as_dict())


def cmd_demo(args) -> int:
    from lhcgen.evaluate.events.report import format_summary
    from lhcgen.train.config import load_config
    from lhcgen.train.run import resolve_device, train_run

    work = Path(args.workdir)
    device = resolve_device(args.device)
    progress = _progress(args)
    cfg = load_config(args.config)
    files = {"train": (work / "data" / "zjets_train.h5", args.train_events, 1),
             "test": (work / "data" / "zjets_test.h5", args.test_events, 2)}
    for role, (path, events, seed) in files.items():
        if _cached(path, events, seed):
            print(f"[demo] reusing {role} data {path}")
        else:
            print(f"[demo] generating {events} {role} events with Pythia 8 + FastJet "
                  f"({args.workers} workers)")
            make_zjets(events, seed, args.workers, 1000, path, progress)
    cfg = dataclasses.replace(cfg, data=dataclasses.replace(cfg.data,
                                                            train=str(files["train"][0])))
    run_dir = work / "run"
    if run_dir.exists():
        shutil.rmtree(run_dir)
    print(f"[demo] training {cfg.model.name} ({cfg.model.net}) for {cfg.training.epochs} epochs")
    train_metrics = train_run(cfg, run_dir, device, progress=progress)
    generated = run_dir / "generated.h5"
    print(f"[demo] sampling {args.sample_events} events")
    info = sample_to_file(run_dir, args.sample_events, generated, device, progress=progress)
    _print_sampling(info, generated)
    print("[demo] evaluating against the held-out truth")
    metrics = evaluate_files(generated, files["test"][0], work / "report")
    sampling = metrics.get("sampling", {})
    print(format_summary(metrics, sampling.get("simulator_events_per_second")))
    print(f"[demo] trained {train_metrics['parameters']:,} parameters in "
          f"{train_metrics['training_seconds']:.0f} s; report: {work / 'report' / 'index.html'}")
    return 0


COMMANDS = {"data": cmd_data, "train": cmd_train, "sample": cmd_sample,
            "evaluate": cmd_evaluate, "demo": cmd_demo, "classify": cmd_classify,
            "metrics": commands_jets.cmd_metrics}


OUTPUT_FILES = ("out", "json_out", "write_weights")
OUTPUT_DIRS = ("report", "workdir")


def check_outputs(args) -> None:
    """Every output path is checked before a command starts working: a file target must
    not be a directory, a folder target not a file, and both must be writable."""
    from lhcgen.io import check_output_dir, check_output_file

    run_dir_out = args.command == "train"
    for name in OUTPUT_FILES:
        value = getattr(args, name, None)
        if value and not run_dir_out:
            check_output_file(value, "--" + name.replace("_out", "").replace("_", "-"))
    for name in (*OUTPUT_DIRS, *(("out",) if run_dir_out else ())):
        value = getattr(args, name, None)
        if value:
            check_output_dir(value, f"--{name}")


def run(args) -> int:
    check_outputs(args)
    return COMMANDS[args.command](args)
