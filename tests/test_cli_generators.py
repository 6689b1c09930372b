"""Every generator through `lhcgen train / sample / evaluate` on tiny inputs, the Bayesian
weight draws and their band, the test NLL, and the bad inputs of the event-generator issue."""

from __future__ import annotations

import json

import numpy as np
import pytest
import yaml

from lhcgen.cli import main
from lhcgen.data.hdf5 import read_events, write_events
from tests.cli_helpers import one_line_error
from tests.toys import toy_zjets

TRAINING = {"batch_size": 256, "epochs": 2, "checkpoint_every": 100}
MODELS = {
    "inn": {"name": "inn", "hidden": 32, "inn": {"couplings": 4, "bins": 4}},
    "inn_affine": {"name": "inn", "hidden": 32, "inn": {"coupling": "affine", "couplings": 4}},
    "ddpm": {"name": "ddpm", "hidden": 32, "blocks": 1, "time_embedding": 8,
             "ddpm": {"timesteps": 50}},
    "jetgpt": {"name": "jetgpt", "hidden": 32, "blocks": 1, "heads": 2,
               "jetgpt": {"components": 3}},
    "cfm_bayesian": {"name": "cfm", "hidden": 32, "blocks": 1, "time_embedding": 8,
                     "bayesian": {"enabled": True, "init_log_variance": -6.0}},
}
SAMPLING = {"ddpm": {"solver": "ddim", "steps": 5}, "cfm_bayesian": {"solver": "euler",
                                                                        "steps": 2}}


@pytest.fixture(scope="module")
def workspace(tmp_path_factory):
    root = tmp_path_factory.mktemp("generators")
    write_events(root / "train.h5", toy_zjets(1500, seed=1))
    write_events(root / "test.h5", toy_zjets(1000, seed=2))
    for name, model in MODELS.items():
        cfg = {"data": {"train": str(root / "train.h5")}, "model": model,
               "training": TRAINING, "sampling": {"batch_size": 500, **SAMPLING.get(name, {})}}
        (root / f"{name}.yaml").write_text(yaml.safe_dump(cfg))
        assert main(["--no-progress", "train", str(root / f"{name}.yaml"), "--out",
                     str(root / name)]) == 0
    return root


@pytest.mark.slow
@pytest.mark.parametrize("name", ["inn", "inn_affine", "ddpm", "jetgpt"])
def test_every_generator_trains_samples_and_evaluates(workspace, name, capsys):
    out = workspace / f"{name}.h5"
    assert main(["--no-progress", "sample", str(workspace / name), "-n", "600", "--out",
                 str(out), "--seed", "3"]) == 0
    generated = read_events(out)
    assert generated.momenta.shape[1:] == (5, 4)
    assert len(generated) + generated.attrs["sampling_n_nonfinite"] == 600
    assert set(generated.multiplicity.tolist()) <= {1, 2, 3}
    assert generated.attrs["generator"].endswith(MODELS[name]["name"])
    report = workspace / f"report_{name}"
    assert main(["--no-progress", "evaluate", str(out), "--truth", str(workspace / "test.h5"),
                 "--report", str(report), "--nll-events", "300"]) == 0
    metrics = json.loads((report / "metrics.json").read_text())
    nll = metrics["likelihood"]
    if name == "ddpm":
        assert "no tractable density" in nll["note"]
        assert generated.attrs["sampling_nfe"] == 5
    else:
        assert np.isfinite(nll["nll"]) and nll["events"] == 300
        assert set(nll["per_multiplicity"]) <= {"1j", "2j", "3j"}
        assert "test NLL" in capsys.readouterr().out


@pytest.mark.slow
def test_cfm_nll_exact_and_hutchinson_agree(workspace):
    results = {}
    for trace in ("exact", "hutchinson"):
        report = workspace / f"report_cfm_{trace}"
        assert main(["--no-progress", "evaluate", str(workspace / "test.h5"), "--truth",
                     str(workspace / "test.h5"), "--report", str(report), "--run",
                     str(workspace / "cfm_bayesian"), "--nll-events", "400", "--nll-trace",
                     trace]) == 0
        results[trace] = json.loads((report / "metrics.json").read_text())["likelihood"]
    exact, hutch = results["exact"], results["hutchinson"]
    assert abs(exact["nll"] - hutch["nll"]) < 4 * hutch["error"]


@pytest.mark.slow
def test_weight_draws_write_a_band(workspace, capsys):
    out = workspace / "draws.h5"
    assert main(["--no-progress", "sample", str(workspace / "cfm_bayesian"), "-n", "400",
                 "--out", str(out), "--weight-draws", "3"]) == 0
    generated = read_events(out)
    assert generated.attrs["weight_draws"] == 3
    assert sorted(set(generated.weight_draw.tolist())) == [0, 1, 2]
    assert len(generated) + generated.attrs["sampling_n_nonfinite"] == 1200
    report = workspace / "report_draws"
    assert main(["--no-progress", "evaluate", str(out), "--truth", str(workspace / "test.h5"),
                 "--report", str(report), "--no-nll"]) == 0
    metrics = json.loads((report / "metrics.json").read_text())
    band = metrics["bayesian_band"]
    assert band["bins_filled"] > 100 and band["median_band_over_stat"] > 0
    assert "Bayesian uncertainty band" in (report / "index.html").read_text()
    assert "Bayesian band" in capsys.readouterr().out


@pytest.mark.slow
@pytest.mark.parametrize(("name", "extra", "needle"), [
    ("inn", ["--weight-draws", "2"], "--weight-draws needs a Bayesian generator"),
    ("inn", ["--solver", "midpoint"], "model 'inn' samples in one pass"),
    ("jetgpt", ["--steps", "4"], "takes no solver or steps"),
    ("ddpm", ["--solver", "rk4"], "unknown solver 'rk4' for model 'ddpm'"),
    ("ddpm", ["--steps", "51"], "steps"),
    ("ddpm", ["--multiplicity", "4"], "multiplicity [4] was not in the training data"),
    ("jetgpt", ["--multiplicity", "5"], "multiplicity [5] was not in the training data"),
    ("ddpm", ["--no-kv-cache"], "--no-kv-cache applies to JetGPT only"),
])
def test_bad_sampling_options(workspace, capsys, name, extra, needle):
    out = workspace / "bad.h5"
    assert main(["sample", str(workspace / name), "-n", "10", "--out", str(out), *extra]) == 1
    one_line_error(capsys, needle)
    assert not out.exists()


@pytest.mark.slow
def test_jetgpt_samples_the_same_with_and_without_the_cache(workspace):
    paths = [workspace / f"kv{i}.h5" for i in range(2)]
    for path, flag in zip(paths, ([], ["--no-kv-cache"]), strict=True):
        assert main(["--no-progress", "sample", str(workspace / "jetgpt"), "-n", "200",
                     "--out", str(path), "--seed", "4", *flag]) == 0
    a, b = (read_events(p) for p in paths)
    np.testing.assert_allclose(a.momenta, b.momenta, rtol=1e-4, atol=1e-3)


def test_nll_needs_a_model_with_a_density(workspace, capsys):
    report = workspace / "report_bad"
    assert main(["--no-progress", "evaluate", str(workspace / "test.h5"), "--truth",
                 str(workspace / "test.h5"), "--report", str(report), "--run",
                 str(workspace / "ddpm")]) == 1
    one_line_error(capsys, "test NLL: model 'ddpm' has no tractable density")
    assert not report.exists()


@pytest.mark.parametrize(("model", "needle"), [
    ({"name": "flowgan"}, "'model.name' must be one of"),
    ({"name": "inn", "inn": {"coupling": "neural"}}, "'model.inn.coupling' must be one of"),
    ({"name": "ddpm", "ddpm": {"schedule": "sigmoid"}}, "'model.ddpm.schedule' must be one of"),
    ({"name": "jetgpt", "jetgpt": {"components": 0}}, "'model.jetgpt.components' must be"),
])
def test_bad_model_configs(tmp_path, capsys, model, needle):
    path = tmp_path / "bad.yaml"
    path.write_text(yaml.safe_dump({"model": model}))
    assert main(["train", str(path), "--out", str(tmp_path / "run")]) == 1
    one_line_error(capsys, needle)
    assert not (tmp_path / "run").exists()


@pytest.mark.slow
@pytest.mark.parametrize("name", ["inn", "ddpm", "jetgpt", "cfm_bayesian"])
def test_generated_events_do_not_depend_on_the_batch_size(workspace, name):
    """Per-event noise (lhcgen.noise): batch 64, 128 and 320 give the same 300 events, and
    a batch size that is not a multiple of 64 is rounded up to one. Tolerance: the batched
    network's float32 rounding, 1e-4 relative on the momenta."""
    samples = []
    for batch in ("64", "100", "320"):
        out = workspace / f"{name}_batch{batch}.h5"
        extra = ["--weight-draws", "2"] if name == "cfm_bayesian" else []
        assert main(["--no-progress", "sample", str(workspace / name), "-n", "300", "--out",
                     str(out), "--seed", "5", "--batch-size", batch, *extra]) == 0
        samples.append(read_events(out))
    assert samples[1].attrs["sampling_batch_size"] == 128
    for other in samples[1:]:
        np.testing.assert_array_equal(other.multiplicity, samples[0].multiplicity)
        np.testing.assert_allclose(other.momenta, samples[0].momenta, rtol=1e-4, atol=1e-4)
    different_seed = workspace / f"{name}_seed6.h5"
    assert main(["--no-progress", "sample", str(workspace / name), "-n", "300", "--out",
                 str(different_seed), "--seed", "6"]) == 0
    assert not np.allclose(read_events(different_seed).momenta[:10], samples[0].momenta[:10])
