"""Every training config value is checked when the config is loaded (issue 20, item 6): a bad value is one
error line naming its key, exit status 2, and no run folder or data is made."""

from __future__ import annotations

import dataclasses
import inspect
import types
import typing

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from wordsight.cli.main import main
from wordsight.config import CONFIG_DIR, ConfigError, config_from_dict, field_checks, load_config, read_yaml
from wordsight.training import SYSTEMS, TrainConfig
from wordsight.training.config import CaptionDataConfig, DataConfig, OptimizerConfig, SyntheticDataConfig
from wordsight.training.saliency import SALIENCY_SYSTEMS, SaliencyTrainConfig, _OBJECTIVE_RESERVED
from wordsight.training.saliency_data import SaliencyDataConfig

BAD = [
    # the two
    ("dfgan", ["data.synthetic.num_scenes=0"], "data.synthetic.num_scenes must be >= 1, got 0"),
    ("dfgan", ["data.sentence_whitening=-3"], "data.sentence_whitening must be >= 0 (0 = off), got -3"),
    ("dfgan", ["data.num_scenes=0"], "'num_scenes' moved into a section of its data source: data.synthetic.num_scenes"),
    # data
    ("dfgan", ["data.sentence_whitening=abc"], "data.sentence_whitening: expected an integer, got 'abc'"),
    ("dfgan", ["data.synthetic.min_objects=0"], "data.synthetic.min_objects must be in [1, 3], got 0"),
    ("dfgan", ["data.synthetic.max_objects=2.5"], "data.synthetic.max_objects: expected an integer, got 2.5"),
    ("dfgan", ["data.synthetic.min_objects=3"], "data.synthetic.min_objects (3) must be <= data.synthetic.max_objects (1)"),
    ("dfgan", ["data.synthetic.backgrounds=[purple]"], "data.synthetic.backgrounds[0] must be one of ['grey', 'sand', 'night', 'slate'], got 'purple'"),
    ("dfgan", ["data.synthetic.gaze_sigma=-1"], "data.synthetic.gaze_sigma must be > 0, got -1.0"),
    ("dfgan", ["data.synthetic.observers=0"], "data.synthetic.observers must be >= 1, got 0"),
    ("dfgan", ["data.synthetic.fixations_per_observer=[5, 2]"], "data.synthetic.fixations_per_observer must be [fewest, most], got [5, 2]"),
    ("dfgan", ["data.synthetic.manipulation=maybe"], "data.synthetic.manipulation: expected true/false, got 'maybe'"),
    ("dfgan", ["data.captions.split=bogus"], "data.captions.split must be one of ['train', 'test', 'val', 'all'], got 'bogus'"),
    ("dfgan", ["data.captions.year=2015"], "data.captions.year must be one of ['2014', '2017'], got '2015'"),
    ("dfgan", ["data.text_encoder=bert"], "data.text_encoder: 'bert' is not one of ['minilm', 'bilstm']"),
    ("dfgan", ["data.hard_negatives=[hue]"], "data.hard_negatives must be true, false or a list of"),
    ("dfgan", ["data.sorce=cub"], "unknown config key 'data.sorce' (no 'sorce' in data); valid keys: captions, hard_negatives"),
    # model
    ("dfgan", ["model.nf=0"], "model.nf must be >= 1, got 0"),
    ("dfgan", ["model.nf=abc"], "model.nf: expected an integer, got 'abc'"),
    ("dfgan", ["model.image_size=100"], "model.image_size must be a power of two >= 8, got 100"),
    ("dfgan", ["model.image_size=512"], "model.image_size must be in [16, 256] for --data synthetic"),
    ("dfgan", ["model.truncation=1.5"], "model.truncation must be in (0, 1], got 1.5"),
    ("dfgan", ["model.ma_gp_p=0"], "model.ma_gp_p must be > 0, got 0.0"),
    ("dfgan", ["model.nff=3"], "unknown config key model.'nff' for DFGANConfig; valid keys: compile, d_gamma_init"),
    ("dfgan", ["model.damsm_sentence_weight=1"], "model.damsm_sentence_weight > 0 needs model.damsm_path"),  # two values
    ("stackgan", ["model.stage=2"], "StackGAN stage 2 trains on top of a Stage-I model"),  # a required value
    ("gan-int-cls", ["model.real_label=0.3"], "model.real_label must be in (0.5, 1] (1 = no smoothing), got 0.3"),
    ("gan-int-cls", ["model.interp_beta=2"], "model.interp_beta must be in [0, 1], got 2.0"),
    ("gan-int-cls-style", ["model.generator=x", "model.nf=0"], "model.nf must be >= 1, got 0"),
    ("stackgan", ["model.upscale=3"], "model.upscale must be a power of two >= 2, got 3"),
    ("stackgan", ["model.stage=3"], "model.stage must be one of [1, 2], got 3"),
    ("stackgan-pp", ["model.branch_num=7"], "model.branch_num must be in [1, 6], got 7"),
    ("attngan", ["model.r_num=-1"], "model.r_num must be >= 0, got -1"),
    ("dualattngan", ["model.compression=maybe"], "model.compression: expected true/false, got 'maybe'"),
    ("dualattngan", ["model.gamma1=0"], "model.gamma1 must be > 0, got 0.0"),
    ("sisgan", ["model.embedding_channels=[]"], "model.embedding_channels must not be empty"),
    ("tagan", ["model.image_size=16"], "model.image_size must be a power of two >= 32, got 16"),
    ("tirg", ["model.text_dropout=1"], "model.text_dropout must be in [0, 1), got 1.0"),
    ("tirg", ["model.loss=hinge"], "model.loss: 'hinge' is not one of ['softmax', 'soft_triplet']"),
    # optimizers
    ("dfgan", ["optimizers.g.lr=0"], "optimizers.g.lr must be > 0, got 0.0"),
    ("dfgan", ["optimizers.d.betas=[1.5, 0.9]"], "optimizers.d.betas[0] must be in [0, 1), got 1.5"),
    ("dfgan", ["optimizers.g.kind=rmsprop"], "optimizers.g.kind: 'rmsprop' is not one of ['adam', 'sgd']"),
    ("dfgan", ["optimizers.g.eps=-1"], "optimizers.g.eps must be > 0, got -1.0"),
    ("dfgan", ["optimizers.x.lr=1e-4"], "unknown optimizer 'x' for system 'dfgan'; its optimizers: d, g"),
    ("dfgan", ["optimizers.g.lrr=1"], "unknown config key optimizers.g.'lrr' for OptimizerConfig; valid keys: betas, eps"),
    ("tirg", ["optimizers.g.lr=1"], "unknown optimizer 'g' for system 'tirg'; its optimizers: retrieval"),
    # top level
    ("dfgan", ["batch_size=0"], "batch_size must be >= 1, got 0"),
    ("dfgan", ["steps=2.5"], "steps: expected an integer, got 2.5"),
    ("dfgan", ["tensorboard=maybe"], "tensorboard: expected true/false, got 'maybe'"),
    ("dfgan", ["ema_decay=1.5"], "ema_decay must be in [0, 1), got 1.5"),
    ("dfgan", ["grad_clip=.nan"], "grad_clip must be > 0, got nan"),
    ("dfgan", ["lr_decay_factor=0"], "lr_decay_factor must be in (0, 1], got 0.0"),
    ("dfgan", ["eval_seed=-1"], "eval_seed must be in [0, 4294967295], got -1"),
    ("dfgan", ["metrics=[oracel]"], "metrics[0] must be one of ['clip_score', 'fid', 'is', 'kid', 'oracle'"),
    ("dfgan", ["eval_splits=[val]"], "eval_splits[0] must be one of ['test', 'heldout', 'train'], got 'val'"),
    ("dfgan", ["phase_repeats.critic=2"], "phase_repeats names unknown phase 'critic'; this system's phases: d, g"),
    ("dfgan", ["mixed_precision=fp8"], "mixed_precision: 'fp8' is not one of ['auto', 'no', 'bf16', 'fp16']"),
    ("dfgan", ["system=nope"], "system must be one of ['attngan', 'dfgan'"),
    ("dfgan", ["batchsize=3"], "unknown config key 'batchsize' (no 'batchsize' in TrainConfig); valid keys: batch_size"),
    # saliency systems
    ("text-salgan", ["lr=-1"], "lr must be >= 0 (0 keeps the weights), got -1.0"),
    ("text-salgan", ["lr_d=.inf"], "lr_d must be >= 0 (0 keeps the weights), got inf"),
    ("text-salgan", ["momentum=1"], "momentum must be in [0, 1), got 1.0"),
    ("text-salgan", ["text_encoder=bert"], "text_encoder must be one of ['bilstm', 'clip', 'minilm', 'rnn'], got 'bert'"),
    ("text-salgan", ["model.variant=G9"], "model.variant must be one of ['G1', 'G2'], got 'G9'"),
    ("text-salgan", ["model.width=abc"], "model.width: expected a number, got 'abc'"),
    ("text-salgan", ["model.widht=1"], "unknown model option(s) ['widht'] for TextSalGANGenerator; valid:"),
    ("text-salgan", ["discriminator.width=0"], "discriminator.width must be > 0, got 0.0"),
    ("text-salgan", ["objective.d_reduction=max"], "objective.d_reduction must be one of ['mean', 'sum'], got 'max'"),
    ("text-salgan", ["objective.alternate=maybe"], "objective.alternate: expected true/false, got 'maybe'"),
    ("text-salgan", ["data.num_scenes=0"], "data.num_scenes must be >= 1, got 0"),
    ("text-salgan", ["data.categories=[foo]"], "data.categories[0] must be one of ['scene', 'none', 'general', 'nonsalient', 'salient'], got 'foo'"),
    ("text-salgan", ["data.test_fraction=1"], "data.test_fraction must be in (0, 1), got 1.0"),
    ("text-salgan", ["data.scenes=5"], "unknown config key 'data.scenes' (no 'scenes' in data); valid keys: categories"),
    ("text-salgan", ["input_size=[63, 64]"], "input_size[0] must be a multiple of 2 >= 2, got 63 (text-salgan small)"),
    ("text-salgan", ["augment.hflip=2"], "augment.hflip must be a number in [0, 1], got 2"),
    ("text-salgan", ["steps=0"], "steps must be >= 1, got 0"),
    ("salgan", ["model.frozen_blocks=6"], "model.frozen_blocks must be in [0, 5], got 6"),
    ("salgan", ["input_size=[100, 128]"], "input_size[0] must be a multiple of 16 >= 16, got 100 (salgan)"),
    ("salgan", ["optimizer=rmsprop"], "optimizer must be one of ['adam', 'adagrad', 'sgd'], got 'rmsprop'"),
    ("salgan", ["objective.warmup_epochs=-1"], "objective.warmup_epochs must be >= 0, got -1"),
    ("salicon", ["objective.reduction=sum"], "objective.reduction must be one of ['mean', 'caffe2015'], got 'sum'"),
    ("salicon", ["input_size=[32, 32]"], "input_size[0] must be >= 64"),
]


def _run(argv, capsys):
    code = main(argv)
    return code, capsys.readouterr()


@pytest.mark.parametrize("system, overrides, message", BAD, ids=[" ".join([s, *o]) for s, o, _ in BAD])
def test_a_bad_value_is_one_error_line_before_any_run_folder(system, overrides, message, tmp_path, capsys):
    out = tmp_path / "runs"
    code, captured = _run(["train", system, "--data", "synthetic", "--out", str(out), *overrides], capsys)
    err = captured.err.strip()
    assert code == 2, captured
    assert err.startswith("error: ") and "\n" not in err and "Traceback" not in err, err
    assert message in err
    assert not out.exists() or not any(out.iterdir())  # no run folder (the issue: made before the data)


GOOD = [
    ("dfgan", ["data.sentence_whitening=0", "model.sentence_dim=384"], lambda c: c["data"]["sentence_whitening"] == 0),
    ("dfgan", ["model.truncation=1", "model.image_size=128"], lambda c: c["model"]["truncation"] == 1.0),
    ("dfgan", ["optimizers.g.betas=[0, 0.999]", "optimizers.d.kind=sgd"], lambda c: c["optimizers"]["g"]["betas"] == [0, 0.999]),
    ("dfgan", ["steps=0", "eval_every=0", "warmup_steps=0", "mixed_precision=no"], lambda c: c["steps"] == 0),
    ("dfgan", ["metrics=[ORACLE, fid]", "eval_splits=[train]"], lambda c: c["metrics"] == ["ORACLE", "fid"]),
    ("dfgan", ["data.captions.year=2014", "data.captions.split=val"], lambda c: c["data"]["captions"]["year"] == "2014"),
    ("dfgan", ["data.synthetic.min_objects=3", "data.synthetic.max_objects=3", "data.synthetic.backgrounds=[night]"],
     lambda c: c["data"]["synthetic"]["max_objects"] == 3),
    ("dfgan", ["ema_decay=0", "lr_decay_factor=1", "seed=4294967295"], lambda c: c["ema_decay"] == 0.0),
    ("stackgan", ["model.stage=1", "model.upscale=2"], lambda c: c["model"]["upscale"] == 2),
    ("tirg", ["optimizers.retrieval.lr=0.5", "model.text_dropout=0"], lambda c: c["optimizers"]["retrieval"]["lr"] == 0.5),
    ("text-salgan", ["input_size=[32, 48]", "data.test_fraction=0.5", "model.width=1"], lambda c: c["input_size"] == [32, 48]),
    ("salgan", ["input_size=[32, 64]", "objective.warmup_epochs=0", "optimizer=sgd"], lambda c: c["optimizer"] == "sgd"),
]


@pytest.mark.parametrize("system, overrides, test", GOOD, ids=[" ".join([s, *o]) for s, o, _ in GOOD])
def test_good_values_are_accepted(system, overrides, test, tmp_path, capsys):
    code, captured = _run(["train", system, "--data", "synthetic", "--out", str(tmp_path), "--dry-run", *overrides], capsys)
    assert code == 0, captured.err
    assert test(yaml.safe_load(captured.out))


def _config_class(path) -> type:
    return SaliencyTrainConfig if read_yaml(path).get("system") in SALIENCY_SYSTEMS else TrainConfig


@pytest.mark.parametrize("path", sorted(CONFIG_DIR.glob("*.yaml")), ids=lambda p: p.stem)
def test_every_shipped_config_passes_its_checks(path):
    load_config(_config_class(path), path)


def test_configs_built_in_code_are_checked_too():
    with pytest.raises(ConfigError, match=r"^data\.synthetic\.observers must be >= 1, got 0$"):
        TrainConfig(data={"synthetic": {"observers": 0}})
    with pytest.raises(ConfigError, match=r"^keep_last must be >= 1, got 0$"):
        TrainConfig(keep_last=0)
    with pytest.raises(ConfigError, match=r"^optimizer\.lr must be > 0, got 0$"):
        OptimizerConfig(lr=0)
    with pytest.raises(ConfigError, match=r"^data\.captions\.split must be one of"):
        CaptionDataConfig(split="dev")
    from wordsight.training.saliency import check_config

    with pytest.raises(ConfigError, match=r"^data\.limit must be >= 1, got 0$"):
        check_config(SaliencyTrainConfig(data=SaliencyDataConfig(limit=0)))


def test_damsm_settings_have_checks():
    from wordsight.training.damsm import DAMSMTrainConfig

    with pytest.raises(ConfigError, match=r"^image_size must be a multiple of 16 >= 16, got 40$"):
        config_from_dict(DAMSMTrainConfig, {"image_size": 40})
    with pytest.raises(ConfigError, match=r"^lr must be > 0, got 0\.0$"):
        config_from_dict(DAMSMTrainConfig, {"lr": 0})


# ------------------------------------------------------------------------------------------------ coverage
def _needs_a_check(tp) -> bool:
    """A field whose type leaves values to refuse: numbers, and strings / lists of them that name things."""
    if typing.get_origin(tp) in (typing.Union, types.UnionType):  # Optional[X] -> X
        args = [a for a in typing.get_args(tp) if a is not type(None)]
        tp = args[0] if len(args) == 1 else tp
    if typing.get_origin(tp) in (list, tuple):
        return any(a in (int, float) for a in typing.get_args(tp))
    return tp in (int, float)


SECTIONS = [TrainConfig, DataConfig, SyntheticDataConfig, CaptionDataConfig, OptimizerConfig, SaliencyTrainConfig,
            SaliencyDataConfig, *(SYSTEMS.get(n).config_cls for n in SYSTEMS.names())]
UNCHECKED = {("TrainConfig", "phase_repeats"), ("TrainConfig", "mixed_precision")}  # checked in __post_init__


@pytest.mark.parametrize("cls", SECTIONS, ids=lambda c: c.__name__)
def test_every_numeric_field_of_every_section_has_a_check(cls):
    hints = typing.get_type_hints(cls)
    missing = [f.name for f in dataclasses.fields(cls)
               if _needs_a_check(hints[f.name]) and f.name not in field_checks(cls) and (cls.__name__, f.name) not in UNCHECKED]
    assert not missing, f"{cls.__name__}: no Check for {missing}"


@pytest.mark.parametrize("system", SALIENCY_SYSTEMS.names())
def test_every_numeric_init_argument_of_the_saliency_networks_has_a_check(system):
    spec = SALIENCY_SYSTEMS.get(system)
    reserved = {"self", "text_dim", "fine_size", "coarse_size", "input_size", *_OBJECTIVE_RESERVED}
    for cls in (spec.generator, spec.discriminator, spec.objective):
        if cls is None:
            continue
        hints = typing.get_type_hints(cls.__init__)
        names = [p for p in inspect.signature(cls.__init__).parameters if p not in reserved]
        missing = [n for n in names if (hints.get(n) in (int, float, str)) and n not in field_checks(cls)]
        assert not missing, f"{cls.__name__}: no Check for {missing}"


# ------------------------------------------------------------------------------------------------ property
def _keys(system: str) -> list[str]:
    def of(cls, prefix=""):
        return [f"{prefix}{f.name}" for f in dataclasses.fields(cls)]

    if system in SALIENCY_SYSTEMS:
        spec = SALIENCY_SYSTEMS.get(system)
        keys = of(SaliencyTrainConfig) + of(SaliencyDataConfig, "data.") + ["augment.hflip", "augment.zoom"]
        for section, cls in (("model", spec.generator), ("discriminator", spec.discriminator), ("objective", spec.objective)):
            if cls is not None:
                keys += [f"{section}.{p}" for p in inspect.signature(cls.__init__).parameters if p != "self"]
        return keys
    objective = SYSTEMS.get(system)
    keys = of(TrainConfig) + of(DataConfig, "data.") + of(SyntheticDataConfig, "data.synthetic.")
    keys += of(CaptionDataConfig, "data.captions.") + of(objective.config_cls, "model.")
    keys += [f"optimizers.{p.optimizer}.{f}" for p in objective.phases for f in (x.name for x in dataclasses.fields(OptimizerConfig))]
    keys += [f"phase_repeats.{p.name}" for p in objective.phases]
    return keys


PROPERTY_SYSTEMS = ["dfgan", "stackgan", "sisgan", "tirg", "text-salgan", "salgan"]
SCALARS = st.one_of(st.integers(-10**12, 10**12), st.floats(allow_nan=True, allow_infinity=True), st.booleans(), st.none(),
                    st.text(max_size=6))
VALUES = st.one_of(
    st.text(max_size=12),  # raw: parsed as YAML as a user's text would be
    SCALARS.map(lambda v: yaml.safe_dump(v, default_flow_style=True, width=10**6).strip().removesuffix("...").strip()),
    st.lists(SCALARS, max_size=3).map(lambda v: yaml.safe_dump(v, default_flow_style=True, width=10**6).strip()),
    st.dictionaries(st.text(max_size=3), SCALARS, max_size=2).map(lambda v: yaml.safe_dump(v, default_flow_style=True, width=10**6).strip()),
)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(data=st.data())
def test_garbage_values_for_any_key_give_a_config_error_never_a_traceback(data, tmp_path_factory, capsys):
    system = data.draw(st.sampled_from(PROPERTY_SYSTEMS), label="system")
    key = data.draw(st.sampled_from(_keys(system)), label="key")
    value = data.draw(VALUES, label="value")
    out = tmp_path_factory.mktemp("runs")
    code = main(["train", system, "--data", "synthetic", "--out", str(out), "--dry-run", f"{key}={value}"])
    err = capsys.readouterr().err.strip()
    assert code in (0, 2), err
    if code == 2:
        assert err.startswith("error: ") and "\n" not in err, err
    assert not any(out.iterdir())
