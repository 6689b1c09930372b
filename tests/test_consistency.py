"""Consistency distillation of an EDM run (models/consistency.py, solvers/consistency.py):
the boundary condition, the student's start from the teacher, the vectorised teacher step,
the loss on events and clouds, the multistep sampler on a closed form, and `lhcgen train`
-> `lhcgen sample` of a distilled jets run with its one-line errors."""

from __future__ import annotations

import copy
import dataclasses
import math
import shutil
import types
from pathlib import Path

import numpy as np
import pytest
import torch
import yaml

from lhcgen.cli import main
from lhcgen.data.jet_hdf5 import read_jets, write_jets
from lhcgen.errors import LhcgenError
from lhcgen.models import Batch, build_generator
from lhcgen.models.config import ModelConfig
from lhcgen.models.consistency import ConsistencyConfig
from lhcgen.noise import EventNoise
from lhcgen.solvers import sample
from lhcgen.solvers.consistency import multistep_consistency
from lhcgen.solvers.edm import edm_euler, edm_heun, karras_sigmas
from lhcgen.solvers.sampling import consistency_sigmas
from lhcgen.transforms.coordinates import Coordinates
from tests.cli_helpers import one_line_error
from tests.test_jets_data import toy_jets

CLOUD = Coordinates.cloud(6, 3, 2)
EVENTS = Coordinates.plain([0, 0, 1, 1, 2])
NETS = {"cloud": dict(net="epic", hidden=16, blocks=1, global_tokens=4),
        "events": dict(net="mlp", hidden=16, blocks=1)}


def _batch(coordinates: Coordinates, n: int = 12, seed: int = 0) -> Batch:
    """Padded toy data in network coordinates: clouds with 1..P particles, events with
    1..3 objects, weights that are not all 1, contexts for clouds."""
    gen = torch.Generator().manual_seed(seed)
    if coordinates.is_cloud:
        count = torch.randint(1, coordinates.particles + 1, (n,), generator=gen)
        particles = torch.arange(coordinates.particles)[None, :] < count[:, None]
        mask = particles[..., None].expand(n, coordinates.particles, coordinates.dim)
        context = torch.randn(n, coordinates.context, generator=gen)
    else:
        objects = torch.randint(1, 4, (n,), generator=gen)
        mask = torch.tensor(coordinates.slots)[None, :] < objects[:, None]
        context = None
    x = torch.randn(mask.shape, generator=gen) * mask
    weights = torch.rand(n, generator=gen) + 0.5
    return Batch(x, mask.clone(), torch.zeros(n, dtype=torch.long), weights, context)


def _teacher_run(root, coordinates: Coordinates, kind: str):
    """A run directory with an (untrained) EDM teacher: config.yaml and checkpoint.pt."""
    torch.manual_seed(1)
    cfg = ModelConfig(name="edm", **NETS[kind])
    teacher = build_generator(cfg, coordinates, [0])
    root.mkdir(parents=True, exist_ok=True)
    (root / "config.yaml").write_text(yaml.safe_dump({"model": {"name": "edm"}}))
    torch.save({"ema": {"model": teacher.state_dict()}}, root / "checkpoint.pt")
    return teacher.eval()


def _student(coordinates: Coordinates, kind: str, teacher: str = "", **options):
    cfg = ModelConfig(name="consistency", **NETS[kind],
                      consistency=ConsistencyConfig(teacher=teacher, **options))
    return build_generator(cfg, coordinates, [0])


@pytest.mark.parametrize("kind", ["cloud", "events"])
def test_the_boundary_condition_holds_exactly(kind):
    coordinates = CLOUD if kind == "cloud" else EVENTS
    model = _student(coordinates, kind)
    batch = _batch(coordinates)
    sigma = torch.full((len(batch.x),), model.sigma_min)
    with torch.no_grad():
        f = model.denoise(batch.x, sigma, model.condition_index(batch.multiplicity),
                          batch.dims_mask, batch.context)
        assert torch.equal(f, batch.x)
        away = model.denoise(batch.x, sigma * 100, model.condition_index(batch.multiplicity),
                             batch.dims_mask, batch.context)
    assert not torch.equal(away, batch.x)
    assert torch.all(away[~batch.dims_mask] == 0)


def test_the_student_starts_from_the_teacher_and_keeps_it_out_of_its_state(tmp_path):
    teacher = _teacher_run(tmp_path / "teacher", CLOUD, "cloud")
    student = _student(CLOUD, "cloud", str(tmp_path / "teacher"), discretization=8)
    assert student.state_dict().keys() == teacher.state_dict().keys()
    for a, b in zip(student.parameters(), teacher.parameters(), strict=True):
        assert torch.equal(a, b)
    batch = _batch(CLOUD)
    condition = student.condition_index(batch.multiplicity)
    with torch.no_grad():  # f = D + O(sigma_min / sigma) for the same network F
        for level in (0.5, 2.0, 20.0, 80.0):
            sigma = torch.full((len(batch.x),), level)
            x = batch.x * level
            d = teacher.denoise(x, sigma, condition, batch.dims_mask, batch.context)
            f = student.denoise(x, sigma, condition, batch.dims_mask, batch.context)
            torch.testing.assert_close(f, d, atol=5e-3, rtol=0)
    loss = student.loss(batch, torch.Generator().manual_seed(0))
    loss.backward()
    assert torch.isfinite(loss) and loss > 0
    assert all(p.grad is not None for p in student.parameters())
    frozen = student.teacher.model
    assert frozen is not None and not frozen.training
    assert all(not p.requires_grad and p.grad is None for p in frozen.parameters())
    assert copy.deepcopy(student).teacher is student.teacher  # the EMA's copy shares it
    assert not any(k.startswith("teacher") for k in student.state_dict())


def test_the_noise_levels_are_the_teachers_karras_grid():
    model = _student(EVENTS, "events", discretization=18)
    expected = karras_sigmas(18, model.sigma_min, model.sigma_max, model.rho)[:-1].flip(0)
    torch.testing.assert_close(model.levels(), expected, rtol=1e-12, atol=0)


@pytest.mark.parametrize("solver", ["heun", "euler"])
def test_the_teacher_step_is_the_per_event_ode_step(tmp_path, solver):
    """The batched step with per-event sigmas equals solvers/edm.py's Heun (Euler) step of
    each event on its own grid [sigma_{n+1}, sigma_n]."""
    teacher = _teacher_run(tmp_path / "teacher", CLOUD, "cloud")
    student = _student(CLOUD, "cloud", str(tmp_path / "teacher"), teacher_solver=solver)
    batch = _batch(CLOUD, n=5)
    condition = student.condition_index(batch.multiplicity)
    high = torch.tensor([80.0, 5.0, 1.0, 0.3, 0.01])
    low = torch.tensor([40.0, 3.0, 0.5, 0.2, 0.002])
    x = batch.x * high.view(-1, 1, 1)
    with torch.no_grad():
        batched = student.teacher_step(teacher, x, high, low, condition, batch.dims_mask,
                                       batch.context)
        for i in range(5):
            row = slice(i, i + 1)

            def denoise(state, sigma, row=row):
                return teacher.denoise(state, torch.tensor([sigma]), condition[row],
                                       batch.dims_mask[row], batch.context[row])

            step = edm_heun if solver == "heun" else edm_euler
            alone, _ = step(denoise, x[row], [float(high[i]), float(low[i])])
            torch.testing.assert_close(batched[row], alone, atol=1e-5, rtol=1e-5)


@pytest.mark.parametrize("loss", ["pseudo_huber", "l2"])
def test_the_loss_on_events_ignores_padding_and_weights_events(tmp_path, loss):
    _teacher_run(tmp_path / "teacher", EVENTS, "events")
    student = _student(EVENTS, "events", str(tmp_path / "teacher"), loss=loss)
    batch = _batch(EVENTS, n=16)
    value = student.loss(batch, torch.Generator().manual_seed(3))
    assert torch.isfinite(value) and value > 0
    # garbage in the padded coordinates (masked before any network sees them) changes nothing
    noisy = dataclasses.replace(batch, x=batch.x + 5.0 * ~batch.dims_mask)
    again = student.loss(noisy, torch.Generator().manual_seed(3))
    torch.testing.assert_close(again, value)
    # an event of weight 0 does not count
    light = dataclasses.replace(batch, weights=batch.weights * (torch.arange(16) > 0))
    head = student.loss(light, torch.Generator().manual_seed(3))
    assert not torch.isclose(head, value)


def _gaussian(mu: torch.Tensor, s: torch.Tensor, sigma_min: float):
    """The exact consistency function f and denoiser D of data N(mu, s^2), as methods."""
    def f(self, x, sigma, condition, dims_mask, context=None):
        sig = sigma.double().view(-1, 1)
        return (mu + (x - mu) * torch.sqrt(s**2 + sigma_min**2)
                / torch.sqrt(s**2 + sig**2)).float()

    def d(self, x, sigma, condition, dims_mask, context=None):
        sig = sigma.double().view(-1, 1)
        return (mu + s**2 / (s**2 + sig**2) * (x - mu)).float()

    return f, d


def test_the_loss_vanishes_for_the_exact_consistency_function_as_the_grid_refines():
    """With the exact f and D of Gaussian data the distillation loss is the teacher's Heun
    error, O(h^3) per step, squared: it falls ~3^6 from N = 18 to 54; f = D, which is not
    consistent, is far off. This pins the pairing of levels, the step's direction and the
    target."""
    mu, s = torch.tensor([0.5, -1.0]), torch.tensor([0.3, 0.8])
    x = mu + s * torch.randn(4000, 2, generator=torch.Generator().manual_seed(0))
    batch = Batch(x, torch.ones_like(x, dtype=torch.bool), torch.zeros(4000, dtype=torch.long),
                  torch.ones(4000))
    losses = {}
    for n in (18, 54):
        student = _student(Coordinates.plain([0, 0]), "events", discretization=n, loss="l2")
        teacher = build_generator(ModelConfig(name="edm", **NETS["events"]),
                                  Coordinates.plain([0, 0]), [0])
        f, d = _gaussian(mu, s, student.sigma_min)
        student.denoise = types.MethodType(f, student)
        teacher.denoise = types.MethodType(d, teacher)
        student.teacher.model = teacher
        losses[n] = float(student.loss(batch, torch.Generator().manual_seed(1)))
        student.denoise = types.MethodType(d, student)
        losses[f"D{n}"] = float(student.loss(batch, torch.Generator().manual_seed(1)))
    assert losses[18] < 1e-4 and losses[54] < losses[18] / 100
    assert losses["D18"] > 100 * losses[18]


@pytest.mark.parametrize("steps", [1, 2, 3])
def test_the_multistep_sampler_on_the_exact_consistency_function_of_a_gaussian(steps):
    """Data N(mu, s^2): the PF-ODE solution map to sigma_min is
    f(x, sigma) = mu + (x - mu) sqrt(s^2 + sigma_min^2) / sqrt(s^2 + sigma^2); starting
    from the marginal at sigma_0, every step count gives N(mu, s^2 + sigma_min^2). A sampler
    that skipped the re-noising would shrink the width (by 0.3 / 1.04 at sigma_1 = 1)."""
    mu, s, sigma_min = torch.tensor([0.5, -1.0]), torch.tensor([0.3, 0.8]), 0.002

    def f(x, sigma):
        return mu + (x - mu) * torch.sqrt(s**2 + sigma_min**2) / torch.sqrt(s**2 + sigma**2)

    n, sigmas = 40000, [80.0, 1.0, 0.3][:steps]
    gen = EventNoise(7, 0, n)
    x_t = mu + torch.sqrt(s**2 + sigmas[0] ** 2) * torch.randn(n, 2, generator=torch.Generator()
                                                                .manual_seed(8))
    x, nfe = multistep_consistency(f, x_t, sigmas, gen, torch.ones(n, 2), sigma_min)
    assert nfe == steps
    width = torch.sqrt(s**2 + sigma_min**2)
    torch.testing.assert_close(x.mean(0), mu, atol=float(4 * width.max() / math.sqrt(n)), rtol=0)
    torch.testing.assert_close(x.std(0), width, atol=float(4 * width.max() / math.sqrt(2 * n)),
                               rtol=0)


def test_sample_runs_one_to_three_steps_on_events_and_refuses_four():
    model = _student(EVENTS, "events").eval()
    batch = _batch(EVENTS, n=70)
    for steps in (None, 1, 2, 3):
        x, info = sample(model, batch.multiplicity, batch.dims_mask, EventNoise(0, 0, 70),
                         None, steps)
        assert info == {"solver": "consistency", "steps": steps or 1, "nfe": steps or 1}
        assert x.shape == batch.x.shape and torch.all(x[~batch.dims_mask] == 0)
    with pytest.raises(LhcgenError, match="1 to 3 steps"):
        sample(model, batch.multiplicity, batch.dims_mask, None, None, 4)
    with pytest.raises(LhcgenError, match="unknown solver 'heun'"):
        sample(model, batch.multiplicity, batch.dims_mask, None, "heun", 1)


def test_the_renoise_levels_replace_the_configured_ones():
    """--renoise-sigmas: sigma_1 and sigma_2 take the places of the second and third noise
    levels; an option for a step that does not run, or an unknown one, is one line."""
    levels = (80.0, 1.0, 0.3)
    assert consistency_sigmas(levels, 2, {}) == [80.0, 1.0]
    assert consistency_sigmas(levels, 2, {"sigma_1": 0.5}) == [80.0, 0.5]
    assert consistency_sigmas(levels, 3, {"sigma_2": 0.1}) == [80.0, 1.0, 0.1]
    assert consistency_sigmas(levels, 3, {"sigma_1": 2.0, "sigma_2": 0.5}) == [80.0, 2.0, 0.5]
    with pytest.raises(LhcgenError, match="sigma_2 is the noise level of step 3; 2 step"):
        consistency_sigmas(levels, 2, {"sigma_2": 0.1})
    with pytest.raises(LhcgenError, match="sigma_1 is the noise level of step 2; 1 step"):
        consistency_sigmas(levels, 1, {"sigma_1": 0.5})
    with pytest.raises(LhcgenError, match="unknown consistency sampling option.*rho"):
        consistency_sigmas(levels, 2, {"rho": 7.0})


def test_sample_takes_the_renoise_levels_on_the_same_noise():
    """The configured level given explicitly changes nothing; another level changes the
    events but not the first step's (one step never re-noises); levels that do not
    decrease are one line."""
    model = _student(EVENTS, "events").eval()
    batch = _batch(EVENTS, n=70)

    def draw(steps, **options):
        return sample(model, batch.multiplicity, batch.dims_mask, EventNoise(0, 0, 70), None,
                      steps, **options)[0]

    torch.testing.assert_close(draw(2, sigma_1=1.0), draw(2), rtol=0, atol=0)
    assert not torch.allclose(draw(2, sigma_1=0.5), draw(2))
    torch.testing.assert_close(draw(3, sigma_2=0.3), draw(3), rtol=0, atol=0)
    with pytest.raises(LhcgenError, match=r"noise levels \[80.0, 1.0, 2.0\]: sigmas must be "
                                          "strictly decreasing"):
        draw(3, sigma_2=2.0)


def test_the_multistep_sampler_keeps_padding_zero_and_checks_its_grid():
    def f(x, sigma):
        return 0.5 * x

    mask = torch.tensor([[1.0, 0.0], [1.0, 1.0]])
    x, _ = multistep_consistency(f, torch.ones(2, 2) * mask, [80.0, 1.0],
                                 torch.Generator().manual_seed(0), mask)
    assert x[0, 1] == 0
    for bad in ([1.0, 2.0], [1.0, 0.001], []):
        with pytest.raises(ValueError):
            multistep_consistency(f, x, bad, None, None, 0.002)


# ---- the commands ------------------------------------------------------------------------
def _config(root, name: str, model: dict, extra: dict | None = None) -> str:
    cfg = {"data": {"process": "jets", "train": str(root / "truth.h5"), "val_fraction": 0.1},
           "model": {"name": name, "net": "epic", "hidden": 16, "blocks": 1,
                     "global_tokens": 4, **model},
           "training": {"batch_size": 64, "epochs": 1, "checkpoint_every": 1000},
           "conditions": {"epochs": 1, "hidden": 16, "blocks": 1, "batch_size": 64,
                          "steps": 2},
           "sampling": {"batch_size": 128}}
    for section, values in (extra or {}).items():
        cfg[section] = {**cfg[section], **values}
    path = root / f"{name}_{len(list(root.glob('*.yaml')))}.yaml"
    path.write_text(yaml.safe_dump(cfg))
    return str(path)


def _student_config(root, teacher, **section) -> str:
    return _config(root, "consistency", {"consistency": {
        "teacher": str(teacher), "discretization": 6,
        "sampling_sigmas": [80.0, 1.0, 0.3], **section}})


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    root = tmp_path_factory.mktemp("consistency_runs")
    write_jets(root / "truth.h5", toy_jets(200, seed=1))
    assert main(["train", _config(root, "edm", {}), "--out", str(root / "teacher"),
                 "--no-progress"]) == 0
    assert main(["train", _student_config(root, root / "teacher"), "--out",
                 str(root / "student"), "--no-progress"]) == 0
    return root


def test_a_distilled_run_samples_in_one_two_or_three_steps_without_its_teacher(runs, capsys):
    student = yaml.safe_load((runs / "student" / "config.yaml").read_text())
    assert student["model"]["consistency"]["sampling_sigmas"] == [80.0, 1.0, 0.3]
    for steps in (1, 2, 3):
        out = runs / f"steps{steps}.h5"
        assert main(["sample", str(runs / "student"), "-n", "70", "--out", str(out),
                     "--steps", str(steps), "--no-progress"]) == 0
        jets = read_jets(out)
        assert len(jets) == 70 and jets.attrs["sampling_nfe"] == steps
        assert jets.attrs["sampling_solver"] == "consistency"
        assert np.all(jets.particles[jets.mask][:, 2] > 0)
    assert f"{3} network evaluations" in capsys.readouterr().out
    shutil.move(runs / "teacher", runs / "teacher_away")
    try:
        out = runs / "without_teacher.h5"
        assert main(["sample", str(runs / "student"), "-n", "70", "--out", str(out),
                     "--steps", "2", "--no-progress"]) == 0
    finally:
        shutil.move(runs / "teacher_away", runs / "teacher")
    np.testing.assert_array_equal(read_jets(out).particles, read_jets(runs / "steps2.h5")
                                  .particles)


def test_more_steps_than_sampling_sigmas_is_one_line(runs, capsys):
    assert main(["sample", str(runs / "student"), "-n", "10", "--out", str(runs / "x.h5"),
                 "--steps", "4", "--no-progress"]) == 1
    one_line_error(capsys, "1 to 3 steps", "sampling_sigmas", "got 4")
    assert not (runs / "x.h5").exists()


def test_sample_renoise_sigmas_from_the_command_line(runs, capsys):
    """--renoise-sigmas reaches the sampler and the file; a level for a step that does not
    run, or given to an EDM run, is one line and writes nothing."""
    out = runs / "renoise.h5"
    assert main(["sample", str(runs / "student"), "-n", "70", "--out", str(out), "--steps",
                 "2", "--renoise-sigmas", "0.5", "--no-progress"]) == 0
    jets = read_jets(out)
    assert jets.attrs["sampling_sigma_1"] == 0.5 and jets.attrs["sampling_nfe"] == 2
    assert not np.array_equal(jets.particles, read_jets(runs / "steps2.h5").particles)
    bad = runs / "bad.h5"
    assert main(["sample", str(runs / "student"), "-n", "10", "--out", str(bad), "--steps",
                 "1", "--renoise-sigmas", "0.5", "--no-progress"]) == 1
    one_line_error(capsys, "sigma_1 is the noise level of step 2", "1 step")
    assert main(["sample", str(runs / "teacher"), "-n", "10", "--out", str(bad),
                 "--renoise-sigmas", "0.5", "--no-progress"]) == 1
    one_line_error(capsys, "sigma_1", "consistency samplers", "edm run")
    assert not bad.exists()


def test_bad_teachers_and_settings_are_one_line(runs, capsys):
    not_edm = runs / "cfm_run"
    not_edm.mkdir(exist_ok=True)
    (not_edm / "config.yaml").write_text(yaml.safe_dump({"model": {"name": "cfm"}}))
    cases = [
        (_student_config(runs, runs / "missing"), ["not a run directory", "missing"]),
        (_student_config(runs, not_edm), ["a 'cfm' run, not an EDM run"]),
        (_student_config(runs, ""), ["'model.consistency.teacher' is required"]),
        (_config(runs, "consistency", {"hidden": 32, "consistency": {
            "teacher": str(runs / "teacher")}}), ["differs in its network", "model.hidden"]),
        (_config(runs, "consistency", {"consistency": {"teacher": str(runs / "teacher")}},
                 {"training": {"seed": 5}}), ["differs in its training split"]),
        (_student_config(runs, runs / "teacher", sampling_sigmas=[1.0, 2.0]),
         ["sampling_sigmas' must decrease"]),
        (_student_config(runs, runs / "teacher", sampling_sigmas="80"),
         ["sampling_sigmas' must be a non-empty list"]),
        (_config(runs, "consistency", {"consistency": {"teacher": str(runs / "teacher")}},
                 {"sampling": {"steps": 4}}), ["'sampling.steps' 4 is more than the 3"]),
    ]
    for config, needles in cases:
        assert main(["train", config, "--out", str(runs / "bad"), "--no-progress"]) == 1
        one_line_error(capsys, *needles)
        assert not (runs / "bad").exists()


# ---- the conditions model of a distilled run ---------------------------------------------
def _weights(run, key: str = "model") -> dict:
    from lhcgen.train.checkpoint import load_checkpoint

    state = load_checkpoint(run)
    return state[key] if key == "model" else state[key]["model"]


def _conditions_weights(run, key: str = "model") -> dict:
    return _weights(run / "conditions", key)


def _student_with_conditions(root, name: str, **conditions) -> str:
    path = _student_config(root, root / "teacher")
    cfg = yaml.safe_load(Path(path).read_text())
    cfg["conditions"].update(conditions)
    out = root / f"{name}.yaml"
    out.write_text(yaml.safe_dump(cfg))
    return str(out)


def test_a_distilled_run_takes_its_teachers_conditions_model_as_it_is(runs, capsys):
    """conditions.epochs 0: the student's conditions model is the teacher's, raw and EMA
    weights bit for bit, with the teacher's validation loss (the same jets and split), so
    fully generated jets of student and teacher share their jet kinematics for a seed."""
    import json

    from lhcgen.train.jet_surrogate import JetSurrogate

    root = runs
    assert main(["train", _student_with_conditions(root, "taken", epochs=0), "--out",
                 str(root / "taken"), "--no-progress"]) == 0
    said = capsys.readouterr().out
    assert f"conditions model: that of {root / 'teacher'} as it is" in said
    for key in ("model", "ema"):
        theirs, ours = (_conditions_weights(root / "teacher", key),
                        _conditions_weights(root / "taken", key))
        assert ours.keys() == theirs.keys()
        assert all(torch.equal(ours[k], theirs[k]) for k in theirs)
    mine = json.loads((root / "taken" / "metrics.json").read_text())["conditions"]
    theirs = json.loads((root / "teacher" / "metrics.json").read_text())["conditions"]
    assert mine["steps"] == 0 and theirs["steps"] > 0
    assert mine["final_val_loss"] == pytest.approx(theirs["final_val_loss"], rel=1e-6)
    assert mine["initialised_from"] == str(root / "teacher")
    cpu = torch.device("cpu")
    student, teacher = (JetSurrogate.load(root / "taken", cpu),
                        JetSurrogate.load(root / "teacher", cpu))
    a, _ = student.generate_conditions(50, 0, None, seed=4)
    b, _ = teacher.generate_conditions(50, 0, None, seed=4)
    np.testing.assert_array_equal(a.jet_type, b.jet_type)
    np.testing.assert_array_equal(a.kinematics, b.kinematics)
    np.testing.assert_array_equal(a.n_constituents, b.n_constituents)


def test_a_distilled_run_trains_on_from_its_teachers_conditions_model_or_afresh(runs):
    """warm_start true (the default) starts the student's conditions model at the
    teacher's and trains its epochs on from there (a teacher whose conditions weights are
    shifted far from any random start, trained on at a vanishing rate: the student ends at
    the shifted weights); false trains it afresh, seeded as the teacher's was, so with the
    teacher's settings it repeats the teacher's bit for bit."""
    import json

    from lhcgen.train.checkpoint import load_checkpoint

    root = runs
    assert main(["train", _student_with_conditions(root, "afresh", warm_start=False), "--out",
                 str(root / "afresh"), "--no-progress"]) == 0
    teacher, afresh = (_conditions_weights(root / "teacher"),
                       _conditions_weights(root / "afresh"))
    assert all(torch.equal(afresh[k], teacher[k]) for k in teacher)
    assert "initialised_from" not in json.loads(
        (root / "afresh" / "metrics.json").read_text())["conditions"]
    assert json.loads((root / "student" / "metrics.json").read_text())["conditions"][
        "initialised_from"] == str(root / "teacher")  # the fixture's student: the default

    shifted = root / "teacher_shifted"
    shutil.copytree(root / "teacher", shifted, dirs_exist_ok=True)
    state = load_checkpoint(shifted / "conditions")
    for weights in (state["model"], state["ema"]["model"]):
        for name, value in weights.items():
            if value.is_floating_point():
                weights[name] = value + 0.5
    torch.save(state, shifted / "conditions" / "checkpoint.pt")
    path = _student_config(root, shifted)
    cfg = yaml.safe_load(Path(path).read_text())
    cfg["conditions"]["lr"] = 1e-12
    (root / "warm.yaml").write_text(yaml.safe_dump(cfg))
    assert main(["train", str(root / "warm.yaml"), "--out", str(root / "warm"),
                 "--no-progress"]) == 0
    facts = json.loads((root / "warm" / "metrics.json").read_text())["conditions"]
    assert facts["initialised_from"] == str(shifted) and facts["steps"] > 0
    warm = _conditions_weights(root / "warm")
    for name, value in state["model"].items():
        torch.testing.assert_close(warm[name], value, atol=1e-6, rtol=0)
    assert max(float((warm[k] - afresh[k]).abs().max()) for k in afresh
               if afresh[k].is_floating_point()) > 0.4


def test_conditions_epochs_zero_without_a_model_to_take_is_one_line(runs, capsys):
    from lhcgen.train.checkpoint import load_checkpoint

    root = runs
    unfinished = root / "teacher_unfinished"
    shutil.copytree(root / "teacher", unfinished, dirs_exist_ok=True)
    state = load_checkpoint(unfinished / "conditions")
    torch.save({**state, "finished": False}, unfinished / "conditions" / "checkpoint.pt")
    other_teacher = _student_config(root, unfinished)
    cfg = yaml.safe_load(Path(other_teacher).read_text())
    cfg["conditions"]["epochs"] = 0
    (root / "from_unfinished.yaml").write_text(yaml.safe_dump(cfg))
    cases = [
        (_student_with_conditions(root, "c_cold", epochs=0, warm_start=False),
         ["'conditions.epochs' must be positive, got 0", "warm_start"]),
        (_student_with_conditions(root, "c_neg", epochs=-1),
         ["'conditions.epochs' must be positive, got -1"]),
        (_student_with_conditions(root, "c_shape", epochs=0, hidden=24),
         ["conditions.epochs 0", "has none of this shape", "conditions.hidden 24"]),
        (str(root / "from_unfinished.yaml"),
         ["its conditions model has not finished training"]),
    ]
    for config, needles in cases:
        assert main(["train", config, "--out", str(root / "bad"), "--no-progress"]) == 1
        one_line_error(capsys, *needles)
        assert not (root / "bad").exists()


def test_the_time_fidelity_benchmark_names_a_conditions_model_taken_from_the_teacher(
        runs, tmp_path, monkeypatch):
    import json
    import sys

    from benchmarks.jets_time_fidelity import main as benchmark

    root = runs
    if not (root / "taken").is_dir():
        assert main(["train", _student_with_conditions(root, "taken", epochs=0), "--out",
                     str(root / "taken"), "--no-progress"]) == 0
    write_jets(tmp_path / "floor.h5", toy_jets(200, seed=9))
    monkeypatch.setattr(sys, "argv", [
        "jets_time_fidelity.py", "--runs", str(root / "taken"), "--truth",
        str(root / "truth.h5"), "--truth-floor", str(tmp_path / "floor.h5"), "--types", "t",
        "--samplers", "consistency:1", "--protocols", "generated", "--quick", "--jets", "60",
        "--device", "cpu", "--out-dir", str(tmp_path), "--name", "taken"])
    benchmark()
    facts = json.loads((tmp_path / "taken.json").read_text())["runs"][0]
    assert facts["conditions_from"] == str(root / "teacher") and facts["conditions_steps"] == 0
    said = (tmp_path / "taken.md").read_text()
    assert f"taken from {root / 'teacher'} as it is" in said
    # the distilled weights cost the teacher's training too
    teacher, taken = (json.loads((root / run / "metrics.json").read_text())
                      for run in ("teacher", "taken"))
    assert taken["teacher"]["run"] == str(root / "teacher")
    assert facts["started_from"] == [str(root / "teacher")]
    assert f"taken started from {root / 'teacher'}" in said
    assert facts["total_training_seconds"] == pytest.approx(
        sum(run["training_seconds"] + run["conditions"]["training_seconds"]
            for run in (teacher, taken)), abs=0.02)
    assert facts["epochs"] == f"{teacher['epochs']} + {taken['epochs']}"


def _carry_on_config(root, name: str, init_from, **model) -> str:
    """The fixture student's config, started from ``init_from`` at a vanishing rate."""
    cfg = yaml.safe_load(Path(_student_config(root, root / "teacher")).read_text())
    cfg["training"].update(init_from=str(init_from), lr=1e-12)
    cfg["conditions"]["epochs"] = 0
    for key, value in model.items():
        cfg["model"]["consistency"][key] = value
    path = root / f"{name}.yaml"
    path.write_text(yaml.safe_dump(cfg))
    return str(path)


def test_a_distillation_carries_on_from_a_distilled_run_of_the_same_teacher(runs, capsys):
    """training.init_from a finished consistency run: the student starts at that run's
    weights (raw and EMA), not at the teacher's (at a vanishing rate it ends there), keeps
    its conditions model with conditions.epochs 0, and its chain is teacher, then that run,
    then this one. From the teacher itself, or a run of other settings: one line."""
    import json

    from lhcgen.train.checkpoint import load_checkpoint

    root = runs
    # a large rate without warmup takes this student well away from the teacher's weights
    far = yaml.safe_load(Path(_student_config(root, root / "teacher")).read_text())
    far["training"].update(lr=0.01, warmup_steps=1)
    (root / "far.yaml").write_text(yaml.safe_dump(far))
    assert main(["train", str(root / "far.yaml"), "--out", str(root / "far"),
                 "--no-progress"]) == 0
    assert main(["train", _carry_on_config(root, "carry", root / "far"), "--out",
                 str(root / "carried"), "--no-progress"]) == 0
    assert f"conditions model: that of {root / 'far'} as it is" in capsys.readouterr().out
    teacher, student, carried = (_weights(root / run) for run in ("teacher", "far", "carried"))
    moved = max(float((student[k] - teacher[k]).abs().max()) for k in teacher
                if teacher[k].is_floating_point())
    assert moved > 1e-2
    for name, value in student.items():
        torch.testing.assert_close(carried[name], value, atol=1e-8, rtol=0)
    metrics = {run: json.loads((root / run / "metrics.json").read_text())
               for run in ("teacher", "far", "carried")}
    # the EMA carries on from that run's, its update count too: with the weights standing
    # still it closes in on them by prod_k min(decay, (1+k)/(10+k)) over this run's steps
    before = load_checkpoint(root / "far")["ema"]["updates"]
    steps = metrics["carried"]["steps"]
    assert steps > 0 and load_checkpoint(root / "carried")["ema"]["updates"] == before + steps
    keep = math.prod(min(0.999, (1 + k) / (10 + k)) for k in range(before + 1, before + steps + 1))
    ema_student, ema_carried = (_weights(root / run, "ema") for run in ("far", "carried"))
    for name, value in ema_student.items():
        if value.is_floating_point():
            torch.testing.assert_close(ema_carried[name],
                                       student[name] + (value - student[name]) * keep,
                                       atol=1e-6, rtol=0)
    chain = metrics["carried"]["init_from"]["history"]
    assert chain["runs"] == [str(root / "teacher"), str(root / "far")]
    assert chain["steps"] == metrics["teacher"]["steps"] + metrics["far"]["steps"]
    assert metrics["carried"]["teacher"]["run"] == str(root / "teacher")

    cases = [
        (_carry_on_config(root, "from_teacher", root / "teacher"),
         ["a consistency model starts from its teacher", "a run of model 'edm'"]),
        (_carry_on_config(root, "other_levels", root / "far", discretization=9),
         ["differs", "model.consistency.discretization"]),
    ]
    for config, needles in cases:
        assert main(["train", config, "--out", str(root / "bad"), "--no-progress"]) == 1
        one_line_error(capsys, *needles)
        assert not (root / "bad").exists()
