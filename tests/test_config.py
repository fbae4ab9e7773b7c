from dataclasses import dataclass, field
from typing import Optional

import pytest

from wordsight.config import ConfigError, config_to_dict, load_config, save_config


@dataclass
class Model:
    nf: int = 32
    name: str = "dfgan"


@dataclass
class Train:
    lr: float = 1e-4
    betas: tuple[float, float] = (0.0, 0.9)
    amp: bool = True
    note: Optional[str] = None
    model: Model = field(default_factory=Model)


def test_yaml_and_overrides(tmp_path):
    p = tmp_path / "c.yaml"
    p.write_text("lr: 0.0002\nmodel:\n  nf: 16\n")
    cfg = load_config(Train, p, ["model.name=other", "betas=[0.5, 0.999]", "amp=false"])
    assert cfg.lr == 2e-4 and cfg.model.nf == 16 and cfg.model.name == "other"
    assert cfg.betas == (0.5, 0.999) and cfg.amp is False


def test_exponent_floats_without_a_dot_are_numbers(tmp_path):
    # PyYAML (YAML 1.1) reads "2e-4" as a string; the configs and overrides read it as YAML 1.2 does
    p = tmp_path / "c.yaml"
    p.write_text("lr: 2e-4\nbetas: [5e-1, 9E-1]\n")
    cfg = load_config(Train, p, [])
    assert cfg.lr == 2e-4 and cfg.betas == (0.5, 0.9)
    assert load_config(Train, p, ["lr=5e-5"]).lr == 5e-5
    assert load_config(Train, p, ["model.name=1e5x"]).model.name == "1e5x"  # not a number: stays a string


def test_unknown_key_lists_valid_keys(tmp_path):
    with pytest.raises(ConfigError, match="valid keys: .*nf"):
        load_config(Train, None, ["model.nff=3"])
    p = tmp_path / "c.yaml"
    p.write_text("lrr: 1\n")
    with pytest.raises(ConfigError, match="unknown config key 'lrr'.*valid keys: amp, betas, lr, model, note"):
        load_config(Train, p)


def test_type_errors_are_reported():
    with pytest.raises(ConfigError, match="model.nf: expected an integer"):
        load_config(Train, None, ["model.nf=abc"])
    with pytest.raises(ConfigError, match="key=value"):
        load_config(Train, None, ["lr"])
    with pytest.raises(ConfigError, match="not found"):
        load_config(Train, "no_such_config_anywhere")


def test_save_and_reload_round_trip(tmp_path):
    cfg = load_config(Train, None, ["model.nf=8", "note=hi"])
    save_config(cfg, tmp_path / "resolved.yaml")
    again = load_config(Train, tmp_path / "resolved.yaml")
    assert config_to_dict(again) == config_to_dict(cfg)
    save_config(cfg, tmp_path / "resolved.json")
    assert '"nf": 8' in (tmp_path / "resolved.json").read_text()
