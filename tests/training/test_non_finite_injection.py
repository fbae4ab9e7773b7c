"""Non-finite values injected into a loss, a gradient and a batch (issue 20): the NaN guard skips the update,
counts it, stops after ``max_bad_steps`` in a row, and no checkpoint on disk ever holds a NaN weight.

``pytest -s`` prints ``RELIABILITY non_finite injected=N survived=N checkpoints_verified=N``."""

from __future__ import annotations

import math

import pytest
import torch
from safetensors.torch import load_file

from wordsight.training import train
from wordsight.training.checkpoint import list_checkpoints
from wordsight.training.loop import NonFiniteTrainingError
from wordsight.training.objective import build_objective
from wordsight.training.objectives.dfgan import DFGANObjective

from .conftest import tiny_config, tiny_data

COUNTS = {"injected": 0, "survived": 0, "checkpoints": 0}


@pytest.fixture(scope="module", autouse=True)
def _report():
    yield
    print(f"\nRELIABILITY non_finite injected={COUNTS['injected']} survived={COUNTS['survived']} "
          f"checkpoints_verified={COUNTS['checkpoints']}")


class Injecting(DFGANObjective):
    """DF-GAN that makes a chosen phase's loss NaN/inf, or one D gradient NaN, on chosen steps."""

    def setup(self, where: str, steps: set[int], value: float = math.nan):
        self.where, self.bad_steps, self.value, self.d_calls, self.g_calls = where, steps, value, 0, 0
        if where == "grad":  # a backward hook poisons the gradient of D's first weight; the loss stays finite
            first = next(self.D.parameters())
            first.register_hook(lambda g: g * self.value if self.d_calls in self.bad_steps else g)
        return self

    def d_step(self, batch):
        self.d_calls += 1
        out = super().d_step(batch)
        if self.where == "d_loss" and self.d_calls in self.bad_steps:
            out["loss"] = out["loss"] * self.value
        return out

    def g_step(self, batch):
        self.g_calls += 1
        out = super().g_step(batch)
        if self.where == "g_loss" and self.g_calls in self.bad_steps:
            out["loss"] = out["loss"] + self.value
        return out


def _objective(where, steps, value=math.nan):
    base = build_objective("dfgan", tiny_config().model)
    return Injecting(base.G, base.D, base.cfg).setup(where, steps, value)


class PoisonedBatches:
    """A batch source whose images are NaN (or inf) at chosen steps, as a corrupt decode might give."""

    name = "poisoned"

    def __init__(self, steps: set[int], value: float = math.nan):
        self.data, self.bad, self.value = tiny_data(), steps, value

    def batch(self, step, rank=0, world_size=1):
        batch = torch.utils.data.default_collate([self.data[(4 * step + i) % len(self.data)] for i in range(4)])
        if step + 1 in self.bad:  # `step` counts from 0; the bad steps are numbered from 1 like the calls
            batch["images"] = batch["images"].clone()
            batch["images"][0, 0, 0, 0] = self.value
        return batch


def _verify_checkpoints(run_dir) -> int:
    folders = [folder for _, folder in list_checkpoints(run_dir)]
    for folder in folders:
        for file in folder.glob("*.safetensors"):
            for name, tensor in load_file(str(file)).items():
                if tensor.is_floating_point():
                    assert torch.isfinite(tensor).all(), f"{file.name}:{name} holds a non-finite value"
    COUNTS["checkpoints"] += len(folders)
    return len(folders)


def _finite(module) -> bool:
    return all(torch.isfinite(p).all() for p in module.parameters())


@pytest.mark.parametrize("value", [math.nan, math.inf], ids=["nan", "inf"])
@pytest.mark.parametrize("where, phase", [("d_loss", "d"), ("g_loss", "g"), ("grad", "d")])
def test_a_bad_step_is_skipped_counted_and_never_saved(tmp_path, where, phase, value):
    bad = {2, 5}
    result = train(tiny_config(steps=8, checkpoint_every=1, keep_last=10), _objective(where, bad, value), tiny_data(), tmp_path)
    COUNTS["injected"] += len(bad)
    assert result.skipped_steps[phase] == len(bad), result.skipped_steps
    assert sum(result.skipped_steps.values()) == len(bad)  # only the poisoned phase was skipped
    assert _finite(result.objective) and _finite(result.ema)
    assert _verify_checkpoints(result.run_dir) == 8
    COUNTS["survived"] += len(bad)


@pytest.mark.parametrize("value", [math.nan, math.inf], ids=["nan", "inf"])
def test_a_non_finite_batch_is_skipped(tmp_path, value):
    bad = {3}
    result = train(tiny_config(steps=6, checkpoint_every=2), "dfgan", PoisonedBatches(bad, value), tmp_path)
    COUNTS["injected"] += 1
    assert result.skipped_steps["d"] >= 1  # D sees the real images; G's step may be finite
    assert _finite(result.objective) and _finite(result.ema)
    _verify_checkpoints(result.run_dir)
    COUNTS["survived"] += 1


@pytest.mark.parametrize("where", ["d_loss", "g_loss", "grad"])
def test_n_bad_steps_in_a_row_stop_training_with_only_finite_checkpoints(tmp_path, where):
    bad = set(range(4, 100))  # from step 4 on, every step is bad
    with pytest.raises(NonFiniteTrainingError, match="3 consecutive steps") as err:
        train(tiny_config(steps=20, max_bad_steps=3, checkpoint_every=1, keep_last=20), _objective(where, bad), tiny_data(), tmp_path)
    COUNTS["injected"] += 3
    (run,) = [p for p in tmp_path.iterdir() if p.is_dir()]
    steps = [s for s, _ in list_checkpoints(run)]
    assert steps and max(steps) <= 6, steps  # nothing saved after the streak began to count
    assert "checkpoint-" in str(err.value)  # the message names the last good checkpoint
    _verify_checkpoints(run)
    COUNTS["survived"] += 3
