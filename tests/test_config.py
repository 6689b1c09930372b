import pytest

from lhcgen.errors import LhcgenError
from lhcgen.train.config import RunConfig, config_from_dict, dump_config, load_config


def test_defaults_and_round_trip(tmp_path):
    cfg = config_from_dict({"model": {"net": "transformer", "hidden": 64}})
    assert cfg.model.hidden == 64 and cfg.training == RunConfig().training
    path = tmp_path / "c.yaml"
    path.write_text(dump_config(cfg))
    assert load_config(path) == cfg


@pytest.mark.parametrize("data,message", [
    ({"model": {"hiden": 3}}, "unknown key 'model.hiden'"),
    ({"trainig": {}}, "unknown key 'trainig'"),
    ({"training": {"lr": "fast"}}, "'training.lr' must be a number"),
    ({"training": {"epochs": 2.5}}, "'training.epochs' must be an integer"),
    ({"training": {"epochs": True}}, "'training.epochs' must be an integer"),
    ({"training": {"epochs": 0}}, "'training.epochs' must be positive"),
    ({"model": {"net": "cnn"}}, "'model.net' must be one of 'mlp', 'transformer'"),
    ({"model": 3}, "'model' must be a section"),
    ({"data": {"val_fraction": 1.5}}, "val_fraction"),
    ({"model": {"net": "transformer", "hidden": 30, "heads": 4}}, "divisible"),
    ({"sampling": {"solver": "rk45"}}, "unknown solver 'rk45' for model 'cfm'"),
    ({"model": {"name": "inn"}, "sampling": {"solver": "ddim"}}, "takes no solver"),
    ({"model": {"name": "ddpm"}, "sampling": {"solver": "midpoint"}},
     "unknown solver 'midpoint' for model 'ddpm'"),
    ({"model": {"name": "gan"}}, "'model.name' must be one of"),
    ({"model": {"inn": {"bins": 0}}}, "'model.inn.bins' must be positive"),
    ({"model": {"inn": {"splines": 3}}}, "unknown key 'model.inn.splines'"),
])
def test_bad_configs_name_the_key(data, message):
    with pytest.raises(LhcgenError, match=message):
        config_from_dict(data)


def test_file_errors(tmp_path):
    with pytest.raises(LhcgenError, match="no such config file"):
        load_config(tmp_path / "missing.yaml")
    bad = tmp_path / "bad.yaml"
    bad.write_text("model: [unclosed\n")
    with pytest.raises(LhcgenError, match="not valid YAML"):
        load_config(bad)
    listy = tmp_path / "list.yaml"
    listy.write_text("- 1\n- 2\n")
    with pytest.raises(LhcgenError, match="top level must be a mapping"):
        load_config(listy)
