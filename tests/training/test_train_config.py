import pytest

from wordsight.config import ConfigError, load_config
from wordsight.training import TrainConfig
from wordsight.training.config import OptimizerConfig, resolve_optimizers
from wordsight.training.objective import build_objective


def test_yaml_and_overrides_load_into_the_typed_config(tmp_path):
    path = tmp_path / "run.yaml"
    path.write_text("steps: 50\nbatch_size: 8\nmodel: {nf: 8, image_size: 32}\noptimizers: {d: {lr: 0.0002}}\n")
    cfg = load_config(TrainConfig, path, ["mixed_precision=no", "model.sentence_dim=16"])
    assert (cfg.steps, cfg.batch_size, cfg.mixed_precision) == (50, 8, "no")
    assert cfg.model == {"nf": 8, "image_size": 32, "sentence_dim": 16}


def test_misspelled_keys_list_the_valid_ones(tmp_path):
    with pytest.raises(ConfigError, match="valid keys:.*batch_size"):
        load_config(TrainConfig, None, ["batchsize=3"])
    with pytest.raises(ConfigError, match="valid keys:.*image_size"):
        build_objective("dfgan", {"imagesize": 16})


def test_invalid_values_are_rejected():
    with pytest.raises(ConfigError, match="ema_decay"):
        TrainConfig(ema_decay=1.0)
    with pytest.raises(ConfigError, match="batch_size"):
        TrainConfig(batch_size=0)
    with pytest.raises(ConfigError, match="not one of"):
        load_config(TrainConfig, None, ["mixed_precision=fp8"])
    for bad in ("phase_repeats.d=0", "phase_repeats.d=1.5", "phase_repeats.d=true"):
        with pytest.raises(ConfigError, match="phase_repeats.d must be an integer >= 1"):
            load_config(TrainConfig, None, [bad])


def test_phase_repeats_load_from_an_override():
    assert load_config(TrainConfig, None, ["phase_repeats.d=3"]).phase_repeats == {"d": 3}


def test_yaml_booleans_for_mixed_precision_mean_off_and_bf16(tmp_path):
    path = tmp_path / "run.yaml"
    path.write_text("mixed_precision: no\n")
    assert load_config(TrainConfig, path).mixed_precision == "no"
    assert load_config(TrainConfig, None, ["mixed_precision=true"]).mixed_precision == "bf16"


def test_optimizer_settings_merge_field_by_field_over_the_system_defaults():
    defaults = {"g": OptimizerConfig(lr=1e-4, betas=(0.0, 0.9)), "d": OptimizerConfig(lr=4e-4, betas=(0.0, 0.9))}
    cfg = TrainConfig(optimizers={"d": {"lr": 2e-4}})
    resolved = resolve_optimizers(cfg, defaults)
    assert resolved["d"].lr == 2e-4 and resolved["d"].betas == (0.0, 0.9)
    assert resolved["g"].lr == 1e-4
    with pytest.raises(ConfigError, match="unknown optimizer 'text'"):
        resolve_optimizers(TrainConfig(optimizers={"text": {"lr": 1.0}}), defaults)


def test_ema_warmup_ramps_the_decay():
    from wordsight.training.config import TrainConfig
    from wordsight.training.ema import ema_decay_at

    cfg = TrainConfig(ema_decay=0.999, ema_warmup=True)
    assert ema_decay_at(cfg, 0) == 0.1 and ema_decay_at(cfg, 90) == 0.91 and ema_decay_at(cfg, 10**6) == 0.999
    assert ema_decay_at(TrainConfig(ema_decay=0.99), 0) == 0.99


def test_sgd_with_momentum_is_an_optimizer_kind(tmp_path):
    import torch

    from wordsight.training.loop import Trainer

    from .conftest import tiny_config, tiny_data

    cfg = tiny_config(optimizers={"d": {"kind": "sgd", "lr": 1e-2, "momentum": 0.5}})
    trainer = Trainer(cfg, "dfgan", tiny_data(), tmp_path, None, None)
    assert isinstance(trainer.optimizers["d"], torch.optim.SGD) and trainer.optimizers["d"].defaults["momentum"] == 0.5
    assert isinstance(trainer.optimizers["g"], torch.optim.Adam)
    with pytest.raises(ConfigError, match="kind"):
        resolve_optimizers(TrainConfig(optimizers={"d": {"kind": "rmsprop"}}), {"d": OptimizerConfig()})
    with pytest.raises(ConfigError, match="momentum"):
        OptimizerConfig(kind="sgd", momentum=1.5)
