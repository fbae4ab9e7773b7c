"""The oracle trainer: what it writes, its config checks, and its checkpoints (crash tests with SIGKILL are
in test_crash_resume_trainers.py)."""

import dataclasses
import json

import pytest
import torch

from wordsight.config import ConfigError
from wordsight.hub import from_pretrained
from wordsight.models.oracle import SceneOracle
from wordsight.training.checkpoint import list_checkpoints
from wordsight.training.oracle import OracleTrainConfig, train_oracle
from wordsight.utils.checks import InputError


@pytest.fixture(autouse=True)
def _one_thread():
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def _cfg(**kw):
    return OracleTrainConfig(**{**dict(steps=6, batch_size=4, width=4, eval_scenes=8, checkpoint_every=2), **kw})


def test_writes_weights_and_report_and_removes_its_checkpoints(tmp_path):
    report = train_oracle(tmp_path, _cfg(), progress=False)
    assert report["steps"] == 6 and set(report) == {"test", "heldout", "steps", "train_seconds"}
    for split in ("test", "heldout"):
        assert set(report[split]) == {"count", "background", "color", "shape", "size", "position"}
        assert all(0.0 <= v <= 1.0 for v in report[split].values())
    assert json.loads((tmp_path / "eval.json").read_text()) == report
    oracle = from_pretrained(tmp_path)
    assert isinstance(oracle, SceneOracle) and oracle.predict(torch.zeros(1, 3, 64, 64))["count"].shape == (1,)
    assert list_checkpoints(tmp_path) == [] and not list(tmp_path.glob(".checkpoint-*"))
    train_oracle(tmp_path, _cfg(), progress=False)  # a finished folder can be trained into again


def test_unfinished_run_keeps_its_last_checkpoints_and_refuses_a_fresh_start(tmp_path, monkeypatch):
    import wordsight.training.oracle as oracle_module

    real = oracle_module._train_step

    def crash_at_5(*args):
        if args[5] == 5:
            raise RuntimeError("simulated crash")
        return real(*args)

    monkeypatch.setattr(oracle_module, "_train_step", crash_at_5)
    with pytest.raises(RuntimeError, match="simulated crash"):
        train_oracle(tmp_path, _cfg(keep_last=1), progress=False)
    assert [s for s, _ in list_checkpoints(tmp_path)] == [4]  # keep_last=1
    monkeypatch.setattr(oracle_module, "_train_step", real)
    with pytest.raises(InputError, match="holds checkpoints of an unfinished run"):
        train_oracle(tmp_path, _cfg(keep_last=1), progress=False)
    with pytest.raises(InputError, match=r"config differs in steps: 6 -> 8"):
        train_oracle(tmp_path, _cfg(keep_last=1, steps=8), progress=False, resume="latest")
    report = train_oracle(tmp_path, _cfg(keep_last=1, eval_scenes=4), progress=False, resume=tmp_path / "checkpoint-4")
    assert report["steps"] == 6 and list_checkpoints(tmp_path) == []


def test_resume_without_a_checkpoint_is_a_clear_error(tmp_path):
    with pytest.raises(InputError, match="not a checkpoint folder or a run folder with checkpoints"):
        train_oracle(tmp_path / "out", _cfg(), progress=False, resume=tmp_path / "nowhere")


@pytest.mark.parametrize("field, value", [("steps", 0), ("batch_size", 0), ("checkpoint_every", 0), ("keep_last", 0),
                                          ("width", 2.5), ("lr", 0.0)])
def test_bad_config_values_are_config_errors(field, value):
    with pytest.raises(ConfigError, match=f"OracleTrainConfig.{field} must be"):
        dataclasses.replace(OracleTrainConfig(), **{field: value})
