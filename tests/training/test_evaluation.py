"""Evaluation during training: metric-<name>.jsonl at the right steps with the right keys, plots, resume
truncation, an unchanged training run, the startup errors, and the data set's caption encoding."""

from __future__ import annotations

import json
from types import SimpleNamespace

import pytest
import torch

from wordsight.config import ConfigError
from wordsight.data.synthetic import SyntheticWorld, WorldConfig
from wordsight.hub import save_pretrained
from wordsight.models.oracle import SceneOracle
from wordsight.training import TrainConfig, list_checkpoints, train
from wordsight.training.evaluation import EvalSchedule
from wordsight.training.synthetic_data import SyntheticCaptionData, _maybe_whiten

from .conftest import tiny_config, tiny_data


class HashEncoder:
    """A text encoder stand-in: 8-d sentence vectors from the caption's characters (fast, deterministic)."""

    sentence_dim = 8

    def __init__(self):
        self.table = torch.randn(128, 8, generator=torch.Generator().manual_seed(0))

    def encode(self, captions):
        return SimpleNamespace(sentence=torch.stack([self.table[[ord(c) % 128 for c in t]].mean(0) for t in captions]))


def synthetic_data(num_scenes: int = 8, whiten: int = 0) -> SyntheticCaptionData:
    world = SyntheticWorld(WorldConfig(seed=0, image_size=16, split="train", min_objects=1, max_objects=1))
    data = SyntheticCaptionData(world, num_scenes, HashEncoder(), progress=False)
    data.text_encoder = HashEncoder()  # what build_data sets
    return _maybe_whiten(data, whiten)


@pytest.fixture(scope="module")
def oracle_dir(tmp_path_factory):
    """A tiny random oracle (the metric's numbers do not matter here, only where they go)."""
    torch.manual_seed(0)
    folder = tmp_path_factory.mktemp("oracle")
    save_pretrained(SceneOracle(width=4, hidden=16, input_size=16).eval(), folder)
    return str(folder)


def _records(run_dir, name):
    return [json.loads(line) for line in (run_dir / f"metric-{name}.jsonl").read_text().splitlines()]


def _eval_cfg(oracle_dir, **overrides):
    base = dict(eval_every=2, metrics=["oracle", "oracle_fid"], eval_captions=4, eval_oracle=oracle_dir)
    base.update(overrides)
    return tiny_config(**base)


def test_metric_files_hold_one_line_per_split_at_each_evaluation(tmp_path, oracle_dir):
    result = train(_eval_cfg(oracle_dir, steps=4), "dfgan", synthetic_data(), tmp_path)
    oracle = _records(result.run_dir, "oracle")
    assert [(r["step"], r["split"]) for r in oracle] == [(2, "test"), (2, "heldout"), (4, "test"), (4, "heldout")]
    for r in oracle:
        assert {"oracle_acc/color", "oracle_acc/shape", "oracle_acc/size", "oracle_acc/count", "oracle_acc/relation",
                "oracle_acc_joint", "oracle_acc_mean"} <= set(r)
        assert r["oracle_acc/relation"] is None  # one-object captions state no relation: null, not NaN
        assert 0.0 <= r["oracle_acc_joint"] <= 1.0
    fid = _records(result.run_dir, "oracle_fid")
    assert [set(r) for r in fid] == [{"step", "split", "oracle_fid"}] * 4 and fid[0]["oracle_fid"] > 0
    for name in ("oracle", "oracle_fid"):
        assert (result.run_dir / f"metric-{name}.png").stat().st_size > 0


def test_the_end_of_the_run_is_always_measured_once(tmp_path, oracle_dir):
    result = train(_eval_cfg(oracle_dir, steps=4, eval_every=3, metrics=["oracle"], eval_splits=["heldout"]),
                   "dfgan", synthetic_data(), tmp_path)
    assert [(r["step"], r["split"]) for r in _records(result.run_dir, "oracle")] == [(3, "heldout"), (4, "heldout")]


def test_time_schedule_and_schedule_arithmetic(tmp_path, oracle_dir):
    cfg = _eval_cfg(oracle_dir, steps=3, eval_every=0, eval_every_minutes=1e-9, metrics=["oracle"], eval_splits=["test"])
    result = train(cfg, "dfgan", synthetic_data(), tmp_path)
    assert [r["step"] for r in _records(result.run_dir, "oracle")] == [1, 2, 3]
    schedule = EvalSchedule(TrainConfig(eval_every_minutes=1.0))
    assert not schedule.due(7, 59.0) and schedule.due(7, 60.0)
    schedule.done(150.0)
    assert schedule.next_time == 180.0 and not schedule.due(8, 170.0)


def test_resume_truncates_metric_files_and_evaluation_leaves_training_unchanged(tmp_path, oracle_dir):
    data = synthetic_data()
    full = train(_eval_cfg(oracle_dir, steps=6, checkpoint_every=3), "dfgan", data, tmp_path / "full")
    plain = train(tiny_config(steps=6), "dfgan", data, tmp_path / "plain")  # no evaluation at all
    for a, b in zip(full.objective.state_dict().values(), plain.objective.state_dict().values()):
        assert torch.equal(a, b)
    for a, b in zip(full.ema.state_dict().values(), plain.ema.state_dict().values()):
        assert torch.equal(a, b)
    # a run that evaluated at steps 2, 4 and 5, resumed from its step-3 checkpoint: 4 and 5 are dropped
    part = train(_eval_cfg(oracle_dir, steps=5, checkpoint_every=3, keep_last=5), "dfgan", data, tmp_path / "part")
    assert sorted({r["step"] for r in _records(part.run_dir, "oracle")}) == [2, 4, 5]
    ckpt3 = dict((s, c) for s, c in list_checkpoints(part.run_dir))[3]
    resumed = train(_eval_cfg(oracle_dir, steps=6, checkpoint_every=3), "dfgan", data, tmp_path / "part", resume=ckpt3)
    for name in ("oracle", "oracle_fid"):
        assert _records(resumed.run_dir, name) == _records(full.run_dir, name)  # steps 2, 4, 6; equal values
    for a, b in zip(full.ema.state_dict().values(), resumed.ema.state_dict().values()):
        assert torch.equal(a, b)


def test_oracle_metrics_need_synthetic_data_at_startup(tmp_path, oracle_dir):
    with pytest.raises(ConfigError, match="metrics: oracle needs --data synthetic"):
        train(_eval_cfg(oracle_dir, metrics=["oracle"]), "dfgan", tiny_data(), tmp_path)
    assert not any(tmp_path.iterdir())  # refused before a run folder was made
    train(tiny_config(steps=1), "dfgan", tiny_data(), tmp_path)  # evaluation off: the default metrics do not matter


def test_unknown_and_unsupported_metrics_are_config_errors(tmp_path, oracle_dir):
    with pytest.raises(ConfigError, match="known: .*oracle_kid"):
        train(_eval_cfg(oracle_dir, metrics=["oracel"]), "dfgan", synthetic_data(), tmp_path)
    with pytest.raises(ConfigError, match="r_precision cannot run during training"):
        train(_eval_cfg(oracle_dir, metrics=["r_precision"]), "dfgan", synthetic_data(), tmp_path)
    with pytest.raises(ConfigError, match="eval_splits"):
        TrainConfig(eval_splits=["val"])
    with pytest.raises(ConfigError, match="eval_every"):
        TrainConfig(eval_every=-1)
    with pytest.raises(ConfigError, match="metrics is empty"):
        TrainConfig(eval_every=5, metrics=[])


@pytest.mark.parametrize("whiten", [0, 4])
def test_encode_captions_reproduces_the_training_sentences(whiten):
    data = synthetic_data(whiten=whiten)
    batch = data.encode_captions(data.captions[:6])
    assert set(batch) == {"sentence", "captions"} and batch["sentence"].shape == (6, whiten or 8)
    assert torch.allclose(batch["sentence"], data.sentences[:6], atol=1e-5)


def test_fid_kid_and_is_during_training_with_a_stand_in_extractor(tmp_path, oracle_dir, monkeypatch):
    """The Inception metrics take the same path (the real weights are not here: a tiny network stands in)."""
    import wordsight.training.evaluation as evaluation
    from wordsight.metrics import module_feature_extractor

    class Net(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.conv = torch.nn.Conv2d(3, 6, 3)

        def forward(self, x):
            feats = torch.nn.functional.adaptive_avg_pool2d(self.conv(x), 1).flatten(1)
            return {"features": feats, "logits": feats[:, :4]}

    with torch.random.fork_rng():
        torch.manual_seed(0)
        spec = module_feature_extractor(Net(), "stand-in", features=("features", "logits"), classifier_layer="logits",
                                        input_range=(-1.0, 1.0))
    monkeypatch.setattr(evaluation, "inception_extractor", lambda *a, **k: spec)
    result = train(_eval_cfg(oracle_dir, steps=2, metrics=["fid", "kid", "is"]), "dfgan", synthetic_data(), tmp_path)
    assert [set(r) - {"step", "split"} for r in _records(result.run_dir, "kid")] == [{"kid_mean", "kid_std"}] * 2
    assert all(r["fid"] > 0 for r in _records(result.run_dir, "fid"))
    assert all(r["is_mean"] > 0 for r in _records(result.run_dir, "is"))
