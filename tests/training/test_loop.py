import json
import os
import signal

import pytest
import torch

from wordsight.config import ConfigError
from wordsight.training import DFGANObjective, NonFiniteTrainingError, build_objective, list_checkpoints, train
from wordsight.training.loop import _lr_factor

from .conftest import tiny_config, tiny_data


def _records(run_dir):
    return [json.loads(line) for line in (run_dir / "metrics.jsonl").read_text().splitlines()]


def test_run_folder_holds_config_metrics_samples_curves_and_checkpoints(tmp_path):
    cfg = tiny_config(steps=4, sample_every=2, checkpoint_every=1, keep_last=2, tensorboard=True)
    result = train(cfg, "dfgan", tiny_data(), tmp_path)
    run = result.run_dir
    assert run.name == "00000-dfgan-random" and result.step == 4 and result.stopped_by == "steps"
    assert (run / "config.yaml").exists() and "nf: 4" in (run / "config.yaml").read_text()
    assert [r["step"] for r in _records(run)] == [2, 4]
    assert {"d/loss", "d/ma_gp", "g/loss", "img_per_s", "lr/d", "skipped/g"} <= set(_records(run)[0])
    assert sorted(p.name for p in (run / "samples").iterdir()) == ["step-000002.png", "step-000004.png"]
    assert (run / "loss_curves.png").stat().st_size > 0
    assert list(run.glob("events.out.tfevents.*"))
    assert [s for s, _ in list_checkpoints(run)] == [3, 4]  # keep_last = 2
    assert (run / "generator_ema" / "model.safetensors").exists()
    assert train(cfg, "dfgan", tiny_data(), tmp_path).run_dir.name == "00001-dfgan-random"


@pytest.mark.parametrize("repeats", [{}, {"d": 2}])
def test_resume_continues_exactly_like_an_uninterrupted_run(tmp_path, repeats):
    cfg = tiny_config(steps=6, checkpoint_every=3, log_every=1, grad_accum=2, phase_repeats=repeats)
    full = train(cfg, "dfgan", tiny_data(), tmp_path / "full")
    part = train(tiny_config(steps=3, log_every=1, grad_accum=2, phase_repeats=repeats), "dfgan", tiny_data(), tmp_path / "part")
    resumed = train(cfg, "dfgan", tiny_data(), tmp_path / "part", resume="latest")
    assert resumed.run_dir == part.run_dir and resumed.step == 6
    for a, b in zip(full.objective.state_dict().values(), resumed.objective.state_dict().values()):
        assert torch.equal(a, b)
    for a, b in zip(full.ema.state_dict().values(), resumed.ema.state_dict().values()):
        assert torch.equal(a, b)
    assert [r["step"] for r in _records(resumed.run_dir)] == [1, 2, 3, 4, 5, 6]


def test_resume_without_a_checkpoint_is_a_clear_error(tmp_path):
    from wordsight.utils.checks import InputError

    with pytest.raises(InputError, match="no run under"):
        train(tiny_config(), "dfgan", tiny_data(), tmp_path, resume="latest")


class FlakyDFGAN(DFGANObjective):
    """DF-GAN whose D loss is NaN on chosen calls (as an fp16 overflow would make it)."""

    nan_calls: set = set()

    def d_step(self, batch):
        self.calls = getattr(self, "calls", 0) + 1
        out = super().d_step(batch)
        if self.calls in self.nan_calls:
            out["loss"] = out["loss"] * float("nan")
        return out


def _flaky(nan_calls):
    obj = build_objective("dfgan", tiny_config().model)
    flaky = FlakyDFGAN(obj.G, obj.D, obj.cfg)
    flaky.nan_calls = nan_calls
    return flaky


def test_non_finite_steps_are_skipped_and_counted(tmp_path):
    result = train(tiny_config(steps=4, log_every=1), _flaky({2}), tiny_data(), tmp_path)
    assert result.skipped_steps == {"d": 1, "g": 0}
    records = _records(result.run_dir)
    assert [r["skipped/d"] for r in records] == [0, 1, 1, 1]
    assert all(torch.isfinite(p).all() for p in result.objective.parameters())


def test_skipped_step_leaves_d_unchanged(tmp_path):
    flaky = _flaky({1})
    d_before = {k: v.clone() for k, v in flaky.D.state_dict().items()}
    result = train(tiny_config(steps=1), flaky, tiny_data(), tmp_path)
    assert result.skipped_steps["d"] == 1
    for k, v in result.objective.D.state_dict().items():
        assert torch.equal(v, d_before[k]), k


def test_training_stops_after_n_consecutive_bad_steps_without_saving_nan(tmp_path):
    with pytest.raises(NonFiniteTrainingError, match="3 consecutive steps"):
        train(tiny_config(steps=10, max_bad_steps=3), _flaky(set(range(1, 100))), tiny_data(), tmp_path)


class SignalAtStep:
    """A batch source that sends the process SIGTERM while fetching the batch of ``step``."""

    name = "signal"

    def __init__(self, step):
        self.step, self.data = step, tiny_data()

    def batch(self, step, rank=0, world_size=1):
        if step == self.step:
            os.kill(os.getpid(), signal.SIGTERM)
        return torch.utils.data.default_collate([self.data[(4 * step + i) % len(self.data)] for i in range(4)])


def test_sigterm_finishes_the_step_and_saves_a_checkpoint(tmp_path):
    result = train(tiny_config(steps=50), "dfgan", SignalAtStep(2), tmp_path)
    assert result.stopped_by == "SIGTERM" and result.step == 3
    assert [s for s, _ in list_checkpoints(result.run_dir)] == [3]
    assert signal.getsignal(signal.SIGTERM) is signal.SIG_DFL  # handlers restored


def test_time_budget_stops_training(tmp_path):
    result = train(tiny_config(steps=1000, minutes=1e-9), "dfgan", tiny_data(), tmp_path)
    assert result.stopped_by == "time" and result.step == 1


def _recording_source(seen):
    """A batch-source class that appends every batch index it serves to ``seen``."""

    class Recording(SignalAtStep):
        def batch(self, step, rank=0, world_size=1):
            seen.append(step)
            return super().batch(step, rank, world_size)

    return Recording


def test_gradient_accumulation_consumes_consecutive_batches(tmp_path):
    seen = []
    Recording = _recording_source(seen)
    train(tiny_config(steps=2, grad_accum=3, num_samples=2), "dfgan", Recording(-1), tmp_path)
    assert seen[-6:] == [0, 1, 2, 3, 4, 5]


class RecordingDFGAN(DFGANObjective):
    """DF-GAN that records, per call, which phase ran on which batch (by the batch's image sum)."""

    def d_step(self, batch):
        self.calls.append(("d", float(batch["images"].sum())))
        return super().d_step(batch)

    def g_step(self, batch):
        self.calls.append(("g", float(batch["images"].sum()), len(self._fakes)))
        return super().g_step(batch)


def test_phase_repeats_run_d_on_fresh_batches_and_g_on_the_last_one(tmp_path):
    seen = []
    Recording = _recording_source(seen)
    obj = build_objective("dfgan", tiny_config().model)
    rec = RecordingDFGAN(obj.G, obj.D, obj.cfg)
    rec.calls = []
    d_before = [p.detach().clone() for p in rec.D.parameters()]
    result = train(tiny_config(steps=2, num_samples=2, phase_repeats={"d": 3}), rec, Recording(-1), tmp_path)
    assert seen[-6:] == [0, 1, 2, 3, 4, 5]  # three fresh batches per step, none reused across steps
    kinds = [c[0] for c in rec.calls]
    assert kinds == ["d", "d", "d", "g"] * 2
    for step in range(2):
        d_sums = [c[1] for c in rec.calls[4 * step:4 * step + 3]]
        g_call = rec.calls[4 * step + 3]
        assert len(set(d_sums)) == 3  # different batches
        assert g_call[1] == d_sums[-1] and g_call[2] == 1  # G: the last D batch, and only its fakes cached
    assert any(not torch.equal(a, b) for a, b in zip(d_before, result.objective.D.parameters()))
    records = _records(result.run_dir)
    assert records[-1]["step"] == 2 and records[-1]["skipped/d"] == 0


def test_phase_repeats_must_name_a_phase_of_the_system(tmp_path):
    with pytest.raises(ConfigError, match="unknown phase 'critic'.*phases: d, g"):
        train(tiny_config(phase_repeats={"critic": 2}), "dfgan", tiny_data(), tmp_path)


def test_lr_schedules():
    warm = _lr_factor(tiny_config(steps=10, warmup_steps=2, lr_schedule="cosine"))
    assert [warm(0), warm(1), warm(2)] == [0.5, 1.0, 1.0]
    assert warm(10) == pytest.approx(0.0)
    linear = _lr_factor(tiny_config(steps=10, lr_schedule="linear"))
    assert linear(5) == pytest.approx(0.5)


def test_step_schedule_halves_the_rate_every_interval_in_steps_or_epochs(tmp_path):
    halve = _lr_factor(tiny_config(lr_schedule="step", lr_decay_every=3), decay_every=3)
    assert [halve(s) for s in range(7)] == [1.0, 1.0, 1.0, 0.5, 0.5, 0.5, 0.25]
    # 32 samples / batch 4 = 8 steps an epoch: halved every 2 epochs = every 16 steps; the lr logged at step s
    # is the one step s + 1 uses (the scheduler has stepped)
    cfg = tiny_config(steps=17, log_every=1, lr_schedule="step", lr_decay_every_epochs=2)
    run = train(cfg, "dfgan", tiny_data(32), tmp_path).run_dir
    lr_d = {r["step"]: r["lr/d"] for r in _records(run)}
    base = lr_d[1]
    assert lr_d[15] == pytest.approx(base) and lr_d[16] == pytest.approx(base / 2) == lr_d[17]
    # resumed half-way, the schedule goes on from the step, not from the restart
    part = train(tiny_config(steps=9, checkpoint_every=9, lr_schedule="step", lr_decay_every=4), "dfgan", tiny_data(), tmp_path / "p")
    resumed = train(tiny_config(steps=10, log_every=1, lr_schedule="step", lr_decay_every=4), "dfgan", tiny_data(), tmp_path / "p", resume="latest")
    assert resumed.run_dir == part.run_dir
    assert _records(resumed.run_dir)[-1]["lr/d"] == pytest.approx(base / 4)


def test_step_schedule_needs_one_interval():
    with pytest.raises(ConfigError, match="exactly one of lr_decay_every"):
        tiny_config(lr_schedule="step")
    with pytest.raises(ConfigError, match=r"lr_decay_factor must be in \(0, 1\]"):
        tiny_config(lr_schedule="step", lr_decay_every=2, lr_decay_factor=0.0)


def test_fp16_needs_a_gpu(tmp_path):
    if torch.cuda.is_available():
        pytest.skip("a GPU is present")
    with pytest.raises(ConfigError, match="fp16 needs a GPU"):
        train(tiny_config(mixed_precision="fp16"), "dfgan", tiny_data(), tmp_path)


def test_auto_precision_is_resolved_from_the_hardware_and_recorded(tmp_path, monkeypatch):
    from wordsight.utils import hardware

    monkeypatch.delenv("WORDSIGHT_BF16", raising=False)
    monkeypatch.setenv("WORDSIGHT_CACHE", str(tmp_path / "cache"))
    monkeypatch.setattr(hardware, "measure_bf16_speedup", lambda: (10.0, 5.0))  # bf16 measured twice as fast
    monkeypatch.setattr(hardware, "cpu_flags", lambda: frozenset({"avx2"}))  # no bf16 instructions: fp32
    run = train(tiny_config(steps=1, mixed_precision="auto"), "dfgan", tiny_data(), tmp_path / "a").run_dir
    assert "mixed_precision: 'no'" in (run / "config.yaml").read_text()
    monkeypatch.setattr(hardware, "cpu_flags", lambda: frozenset({"amx_bf16"}))
    run = train(tiny_config(steps=1, mixed_precision="auto"), "dfgan", tiny_data(), tmp_path / "b").run_dir
    assert "mixed_precision: bf16" in (run / "config.yaml").read_text()
