"""The files of a run directory, and its resolved config read back."""

from __future__ import annotations

from pathlib import Path

import yaml

from lhcgen.errors import LhcgenError
from lhcgen.train.config import RunConfig, config_from_dict

CONDITIONS_DIR = "conditions"
"""Sub-directory of a run holding the generator of the continuous conditions (jets)."""
CONFIG_FILE = "config.yaml"
PREPROCESSING_FILE = "preprocessing.json"
METRICS_FILE = "metrics.json"


def load_run_config(run_dir: Path) -> RunConfig:
    path = Path(run_dir) / CONFIG_FILE
    if not path.is_file():
        raise LhcgenError(f"{run_dir}: not a run directory (no {CONFIG_FILE}); "
                          "create one with `lhcgen train CONFIG --out RUN_DIR`")
    return config_from_dict(yaml.safe_load(path.read_text()))
