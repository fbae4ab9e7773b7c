"""Resume safety (issue 20): a changed config is refused before the run folder is touched, killed writes'
temporaries are cleaned, unreadable samples stop with a checkpoint or are skipped, failed starts leave no
folder, written files follow the umask, a resume says where it continues and TensorBoard keeps no replays."""

import json
import os
import stat

import pytest
import torch

from wordsight.config import ConfigError
from wordsight.training import RandomCaptionData, list_checkpoints, train
from wordsight.training.checkpoint import load_checkpoint
from wordsight.training.data import DataReadError, ShuffledBatches
from wordsight.utils.checks import InputError

from .conftest import TINY_MODEL, tiny_config, tiny_data


def _records(run_dir):
    return [json.loads(line) for line in (run_dir / "metrics.jsonl").read_text().splitlines()]


def _snapshot(folder):
    """Every file's bytes and mode, and every folder, below ``folder``."""
    return {str(p.relative_to(folder)): (p.read_bytes() if p.is_file() else None, p.stat().st_mode) for p in sorted(folder.rglob("*"))}


def _same_weights(a, b):
    return all(torch.equal(x, y) for x, y in zip(a.objective.state_dict().values(), b.objective.state_dict().values())) and \
        all(torch.equal(x, y) for x, y in zip(a.ema.state_dict().values(), b.ema.state_dict().values()))


# ---- item 1: resume with a changed config ------------------------------------------------------------
def test_resume_with_a_changed_model_is_refused_naming_every_key_and_leaves_the_run_untouched(tmp_path):
    part = train(tiny_config(steps=3, checkpoint_every=3, log_every=1), "dfgan", tiny_data(), tmp_path)
    before = _snapshot(tmp_path)
    changed = tiny_config(steps=6, model={**TINY_MODEL, "nf": 8}, batch_size=8, seed=3, optimizers={"d": {"lr": 1e-3}})
    with pytest.raises(ConfigError) as caught:
        train(changed, "dfgan", tiny_data(), tmp_path, resume="latest")
    message = str(caught.value)
    assert "\n" not in message and f"cannot resume {part.run_dir.name} from checkpoint-3" in message
    for difference in ("model.nf: 4 -> 8", "batch_size: 4 -> 8", "seed: 0 -> 3", "optimizers.d.lr: 0.0004 -> 0.001"):
        assert difference in message
    assert "steps: 3 -> 6" not in message  # an allowed change is not named as a problem
    assert _snapshot(tmp_path) == before  # config.yaml not rewritten, metrics not truncated, nothing added


def test_allowed_changes_are_applied_after_the_restore_and_training_stays_exact(tmp_path, capsys):
    full = train(tiny_config(steps=5), "dfgan", tiny_data(), tmp_path / "full")
    part = train(tiny_config(steps=3, checkpoint_every=3, log_every=1), "dfgan", tiny_data(), tmp_path / "part")
    capsys.readouterr()
    resumed = train(tiny_config(steps=5, log_every=2, checkpoint_every=1, keep_last=1, sample_every=2, num_samples=2,
                                tensorboard=True, max_bad_steps=3),
                    "dfgan", tiny_data(), tmp_path / "part", resume="latest")
    assert resumed.run_dir == part.run_dir and resumed.step == 5 and _same_weights(full, resumed)
    err = capsys.readouterr().err
    assert f"resumed {part.run_dir} from step 3 (checkpoint-3); changed " in err and "steps 3 -> 5" in err
    saved = (part.run_dir / "config.yaml").read_text()
    assert "steps: 5" in saved and "log_every: 2" in saved and "keep_last: 1" in saved
    assert [s for s, _ in list_checkpoints(part.run_dir)] == [5]


def test_steps_may_not_change_under_a_schedule_that_spans_them(tmp_path):
    train(tiny_config(steps=3, lr_schedule="cosine"), "dfgan", tiny_data(), tmp_path)
    with pytest.raises(ConfigError, match=r"steps: 3 -> 6 \(steps cannot change under lr_schedule cosine"):
        train(tiny_config(steps=6, lr_schedule="cosine"), "dfgan", tiny_data(), tmp_path, resume="latest")
    train(tiny_config(steps=3, lr_schedule="cosine", log_every=1), "dfgan", tiny_data(), tmp_path, resume="latest")


def test_the_cli_refuses_a_changed_resume_in_one_line(tmp_path, capsys):
    from wordsight.cli.main import main

    common = ["--data", "synthetic", "--out", str(tmp_path), "model.nf=4", "model.image_size=16", "data.synthetic.num_scenes=4",
              "data.sentence_whitening=8", "model.sentence_dim=8", "batch_size=4", "tensorboard=false", "progress=false",
              "num_samples=4", "steps=1"]
    assert main(["train", "dfgan", *common]) == 0
    (run,) = tmp_path.iterdir()
    config = (run / "config.yaml").read_bytes()
    capsys.readouterr()
    assert main(["train", "dfgan", *common, "model.nf=8", "--resume", "latest"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error: cannot resume") and "model.nf: 4 -> 8" in err and len(err.splitlines()) == 1
    assert (run / "config.yaml").read_bytes() == config


# ---- item 7: temporaries of killed writes --------------------------------------------------------------
def _plant_temporaries(run):
    (run / ".checkpoint-9.k2j_x9ab.tmp").mkdir()
    (run / ".checkpoint-9.k2j_x9ab.tmp" / "generator.safetensors").write_bytes(b"partial")
    (run / ".metrics.jsonl.abc123de.tmp").write_text("{}")
    (run / "samples").mkdir(exist_ok=True)
    (run / "samples" / ".step-000002.png.qwertyui.tmp").write_bytes(b"\x89PNG")


def _temporaries(root):
    return sorted(p.name for p in root.rglob("*.tmp"))


def test_resume_removes_stale_temporaries_and_keeps_every_checkpoint(tmp_path):
    part = train(tiny_config(steps=4, checkpoint_every=2, keep_last=5), "dfgan", tiny_data(), tmp_path)
    _plant_temporaries(part.run_dir)
    (part.run_dir / "notes.txt").write_text("mine")
    resumed = train(tiny_config(steps=4), "dfgan", tiny_data(), tmp_path, resume=str(part.run_dir / "checkpoint-2"))
    assert _temporaries(tmp_path) == [] and (part.run_dir / "notes.txt").read_text() == "mine"
    assert [s for s, _ in list_checkpoints(resumed.run_dir)] == [2, 4]


class PlantsTemporaries(RandomCaptionData):
    """Leaves a killed write's temporary in the run folder while training runs (as an earlier session would)."""

    run = None

    def __getitem__(self, i):
        if self.run is not None and self.run.is_dir() and not (self.run / ".checkpoint-9.k2j_x9ab.tmp").exists():
            _plant_temporaries(self.run)
            self.run = None
        return super().__getitem__(i)


def test_the_end_of_a_run_removes_stale_temporaries(tmp_path):
    data = PlantsTemporaries(32, 16, 8)
    data.run = tmp_path / "00000-dfgan-random"
    train(tiny_config(steps=3), "dfgan", data, tmp_path)
    assert data.run is None  # planted
    assert _temporaries(tmp_path) == []


# ---- item 8: unreadable samples ------------------------------------------------------------------------
class UnreadableSamples(RandomCaptionData):
    def __init__(self, bad, n=32):
        super().__init__(n, 16, 8, 0)
        self.bad = set(bad)

    def __getitem__(self, i):
        if i in self.bad:
            raise InputError(f"truncated image: /data/birds/img_{i:03d}.png")
        return super().__getitem__(i)


def _index_drawn_at(step):
    return ShuffledBatches(tiny_data(), 4, 0).indices(step)[1]


def test_an_unreadable_sample_saves_the_last_step_then_resume_with_skip_equals_a_skipping_run(tmp_path):
    bad = _index_drawn_at(2)  # read first by the third step
    skipping = train(tiny_config(steps=6, log_every=1, data_errors="skip"), "dfgan", UnreadableSamples([bad]), tmp_path / "skip")
    assert skipping.skipped_samples == 1 and _records(skipping.run_dir)[-1]["data_errors_skipped"] == 1
    with pytest.raises(DataReadError) as caught:
        train(tiny_config(steps=6, log_every=1), "dfgan", UnreadableSamples([bad]), tmp_path / "stop")
    message = str(caught.value)
    assert "\n" not in message and caught.value.index == bad
    assert f"cannot read training sample {bad}: truncated image: /data/birds/img_{bad:03d}.png (training step 3)" in message
    assert "saved checkpoint-2 (the last completed step)" in message and "data_errors=skip" in message
    (run,) = (tmp_path / "stop").iterdir()
    assert [s for s, _ in list_checkpoints(run)] == [2]
    resumed = train(tiny_config(steps=6, log_every=1, data_errors="skip"), "dfgan", UnreadableSamples([bad]), tmp_path / "stop",
                    resume="latest")
    assert resumed.run_dir == run and resumed.skipped_samples == 1 and _same_weights(skipping, resumed)
    assert [r["step"] for r in _records(run)] == [1, 2, 3, 4, 5, 6]


def test_skip_replaces_the_sample_by_the_next_readable_index():
    data = UnreadableSamples([5, 6])
    source = ShuffledBatches(data, 4, 0, data_errors="skip")
    assert torch.equal(source.read(5)["images"], data[7]["images"]) and source.skipped == 2
    assert torch.equal(source.read(4)["images"], data[4]["images"]) and source.skipped == 2
    with pytest.raises(DataReadError, match="cannot read training sample 5: truncated image"):
        ShuffledBatches(data, 4, 0).read(5)
    with pytest.raises(DataReadError, match="none of the 2 training samples could be read"):
        ShuffledBatches(UnreadableSamples([0, 1], n=2), 2, 0, data_errors="skip").read(0)


def test_skip_needs_a_dataset_of_samples(tmp_path):
    batches = ({"images": torch.zeros(4, 3, 16, 16), "sentence": torch.zeros(4, 8)} for _ in range(4))
    with pytest.raises(ConfigError, match="data_errors=skip needs a map-style dataset"):
        train(tiny_config(data_errors="skip"), "dfgan", batches, tmp_path)
    assert list(tmp_path.iterdir()) == []


def test_an_os_error_of_a_batch_source_stops_with_a_checkpoint(tmp_path):
    class FailingSource:
        def __init__(self):
            self.shuffled = ShuffledBatches(tiny_data(), 4, 0)

        def batch(self, step, rank=0, world_size=1):
            if step == 3:
                raise FileNotFoundError(2, "No such file or directory", "/data/shard-3.tar")
            return self.shuffled.batch(step, rank, world_size)

    with pytest.raises(DataReadError, match=r"cannot read a training batch: .*shard-3.tar.*saved checkpoint-3"):
        train(tiny_config(steps=6), "dfgan", FailingSource(), tmp_path)
    assert [s for s, _ in list_checkpoints(next(tmp_path.iterdir()))] == [3]


# ---- item 9 -------------------------------------------------------------------------------------------
def test_a_failed_start_leaves_no_run_folder(tmp_path):
    bad = _index_drawn_at(0)  # step 0's batch is read before training too, for the fixed sample grid
    with pytest.raises(DataReadError, match=f"cannot read training sample {bad}: truncated image"):
        train(tiny_config(), "dfgan", UnreadableSamples([bad]), tmp_path)
    assert list(tmp_path.iterdir()) == []
    train(tiny_config(steps=2), "dfgan", tiny_data(), tmp_path)  # numbering is not disturbed
    assert [p.name for p in tmp_path.iterdir()] == ["00000-dfgan-random"]


def test_checkpoints_follow_the_umask(tmp_path):
    saved = os.umask(0o022)
    try:
        run = train(tiny_config(steps=1), "dfgan", tiny_data(), tmp_path).run_dir
    finally:
        os.umask(saved)
    (ckpt,) = [p for _, p in list_checkpoints(run)]
    assert stat.S_IMODE(ckpt.stat().st_mode) == 0o755
    assert {stat.S_IMODE(p.stat().st_mode) for p in ckpt.iterdir()} == {0o644}
    assert stat.S_IMODE((run / "config.yaml").stat().st_mode) == 0o644


def test_tensorboard_keeps_one_event_per_step_after_a_resume(tmp_path):
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    cfg = tiny_config(steps=4, log_every=1, checkpoint_every=2, keep_last=5, tensorboard=True)
    run = train(cfg, "dfgan", tiny_data(), tmp_path).run_dir
    # as if killed after logging step 4 but before its checkpoint: steps 3 and 4 are trained and logged again
    train(cfg, "dfgan", tiny_data(), tmp_path, resume=str(run / "checkpoint-2"))
    assert len(list(run.glob("events.out.tfevents.*"))) == 2
    events = EventAccumulator(str(run))
    events.Reload()
    assert [e.step for e in events.Scalars("d/loss")] == [1, 2, 3, 4]


def test_checkpoints_on_disk_load_after_all_of_this(tmp_path):
    run = train(tiny_config(steps=4, checkpoint_every=1, keep_last=2), "dfgan", tiny_data(), tmp_path).run_dir
    resumed = train(tiny_config(steps=6, checkpoint_every=1, keep_last=2), "dfgan", tiny_data(), tmp_path, resume="latest")
    for step, folder in list_checkpoints(run):
        assert load_checkpoint(folder, resumed.objective.networks(), resumed.ema)["step"] == step


def test_a_resumed_auto_precision_run_keeps_the_precision_it_started_with(tmp_path, monkeypatch):
    from wordsight.utils import hardware

    monkeypatch.setattr(hardware, "precision_choice", lambda device="cpu": hardware.PrecisionChoice("bf16", "test"))
    first = train(tiny_config(steps=2, checkpoint_every=2, mixed_precision="auto"), "dfgan", tiny_data(), tmp_path)
    assert "mixed_precision: bf16" in (first.run_dir / "config.yaml").read_text()
    # another session measures fp32 as faster (other threads, no cache): the run still resumes, in bf16
    monkeypatch.setattr(hardware, "precision_choice", lambda device="cpu": hardware.PrecisionChoice("no", "test"))
    resumed = train(tiny_config(steps=4, checkpoint_every=2, mixed_precision="auto"), "dfgan", tiny_data(), tmp_path, resume="latest")
    assert resumed.step == 4 and "mixed_precision: bf16" in (resumed.run_dir / "config.yaml").read_text()
