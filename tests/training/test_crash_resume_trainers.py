"""Crash and resume for the trainers outside the GAN loop: DAMSM pre-training, the scene oracle and the
text-aligned SalGAN.

Each crash test runs a trainer in child processes and kills them with SIGKILL at seeded random moments
(a few steps into a session, and once while a checkpoint is being written), resumes after each kill, and
checks that every checkpoint left on disk loads and that the final weights (and logged losses) equal an
uninterrupted run's bit for bit. The children are forked from one helper process that has imported
torch and wordsight already (``python THIS_FILE --zygote``), so a session costs no import time.
``pytest -s`` shows one ``RELIABILITY crash_resume_<trainer> ...`` line per trainer.

The plain tests stop a run in-process with SIGTERM halfway (finish the step, checkpoint, stop) and resume.
"""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
import traceback
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file

from wordsight.data.synthetic import SyntheticWorld, WorldConfig
from wordsight.models.oracle import SceneOracle
from wordsight.training.checkpoint import list_checkpoints
from wordsight.training.damsm import DAMSMTrainConfig, build_synthetic_damsm, train_damsm
from wordsight.training.run_checkpoints import load_run_checkpoint
from wordsight.training.oracle import OracleTrainConfig, train_oracle
from wordsight.training.saliency import (SaliencyTrainConfig, _optimizer, build_networks, load_saliency_checkpoint,
                                         train_saliency)
from wordsight.training.saliency_data import SaliencyDataConfig, open_saliency_records, records_to_tensors
from wordsight.utils.checks import InputError

STEPS = 24  # every trainer: 24 steps, a checkpoint every 2
STEP_SLEEP = 0.03  # seconds added to each step of a killed session, so kills land at random points of a step


# ------------------------------------------------------------------------------ the tiny trainers
def _damsm_parts():
    world = SyntheticWorld(WorldConfig(seed=0, image_size=16, split="train"))
    torch.manual_seed(0)
    text, image = build_synthetic_damsm(world, image_size=16, channels=(8, 16), embed_dim=16, word_embedding_dim=8,
                                        vocabulary_items=64)
    cfg = DAMSMTrainConfig(steps=STEPS, batch_size=4, image_size=16, num_items=16, log_every=3, checkpoint_every=2,
                           eval_images=12, progress=False)
    return world, text, image, cfg


def _oracle_cfg():
    return OracleTrainConfig(steps=STEPS, batch_size=4, width=4, eval_scenes=8, checkpoint_every=2)


def _hash_text(texts):
    out = torch.zeros(len(texts), 8)
    for i, t in enumerate(texts):
        if t:
            out[i] = torch.rand(8, generator=torch.Generator().manual_seed(sum(map(ord, t))))
    return out


def _saliency_parts():
    records = open_saliency_records("synthetic", "train", SaliencyDataConfig(num_scenes=6, image_size=32))
    cfg = SaliencyTrainConfig(system="text-salgan", input_size=(32, 32), model={"arch": "small", "width": 1 / 16, "text_channels": 4},
                              discriminator={"variant": "D2", "width": 1 / 16, "text_channels": 4}, optimizer="adam", lr=3e-3,
                              batch_size=4, steps=STEPS, log_every=3, checkpoint_every=2, num_samples=2, progress=False)
    # separate objects for training and validation, so a hook on the training batches sees only those
    return records_to_tensors(records, (32, 32), _hash_text), records_to_tensors(records, (32, 32), _hash_text), cfg


def run_trainer(trainer: str, out: Path, resume: str | None, step_hook=None) -> None:
    """Train ``trainer`` into ``out``; ``step_hook()`` runs at the start of every step."""
    import wordsight.training.damsm as damsm_module
    import wordsight.training.oracle as oracle_module

    module, name = {"damsm": (damsm_module, "_sample_batch"), "oracle": (oracle_module, "_train_step")}.get(trainer, (None, ""))
    if module is not None:
        real = getattr(module, name)
        if step_hook is not None:
            setattr(module, name, lambda *a, **k: (step_hook(), real(*a, **k))[1])
        try:
            if trainer == "damsm":
                world, text, image, cfg = _damsm_parts()
                train_damsm(world, text, image, cfg, out, resume=resume)
            else:
                train_oracle(out, _oracle_cfg(), progress=False, resume=resume)
        finally:
            setattr(module, name, real)
    else:
        train, val, cfg = _saliency_parts()
        if step_hook is not None:
            batch = train.batch
            train.batch = lambda *a, **k: (step_hook(), batch(*a, **k))[1]
        train_saliency(cfg, train, out, resume=resume, val_data=val)


def verify_checkpoint(trainer: str, folder: Path) -> int:
    """Load every network and optimizer state of ``folder`` into fresh objects; return its step."""
    if trainer == "damsm":
        _, text, image, cfg = _damsm_parts()
        state = load_run_checkpoint(folder, {"text_encoder": text, "image_encoder": image})
        torch.optim.Adam(list(text.parameters()) + list(image.parameters()), lr=cfg.lr).load_state_dict(state["optimizer"])
        torch.Generator().set_state(state["sampler"])
        assert len(state["history"]) == state["step"] // cfg.log_every
    elif trainer == "oracle":
        cfg = _oracle_cfg()
        oracle = SceneOracle(width=cfg.width)
        state = load_run_checkpoint(folder, {"oracle": oracle})
        opt = torch.optim.AdamW(oracle.parameters(), lr=cfg.lr)
        opt.load_state_dict(state["optimizer"])
        torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=cfg.lr, total_steps=cfg.steps).load_state_dict(state["scheduler"])
    else:
        train, _, cfg = _saliency_parts()
        gen, disc = build_networks(cfg, text_dim=8)
        optims = {"g": _optimizer(cfg, gen, cfg.lr), "d": _optimizer(cfg, disc, cfg.lr)}
        return load_saliency_checkpoint(folder, {"generator": gen, "discriminator": disc}, optims)
    return int(state["step"])


# ------------------------------------------------------------------------------ the forking helper
def zygote() -> None:
    """Read one JSON job per line from stdin, fork a child for it, print its pid, wait, print its status."""
    torch.set_num_threads(1)
    for line in sys.stdin:
        job = json.loads(line)
        pid = os.fork()
        if pid == 0:
            _child(job)
        print(json.dumps({"pid": pid}), flush=True)
        _, status = os.waitpid(pid, 0)
        print(json.dumps({"status": os.waitstatus_to_exitcode(status)}), flush=True)


def _child(job: dict) -> None:
    code = 0
    log = open(job["log"], "a", buffering=1)
    sys.stdout = sys.stderr = log
    try:
        if job["slow_write"]:  # hold the first checkpoint write of this session between weights and state
            import wordsight.training.checkpoint as checkpoint_module
            import wordsight.training.saliency as saliency_module

            # DAMSM and the oracle write through run_checkpoints.save_run_checkpoint -> checkpoint.save_checkpoint
            module = saliency_module if job["trainer"] == "saliency" else checkpoint_module
            real = module.save_state

            def slow_save_state(*args, **kwargs):
                print("WRITING", flush=True)
                time.sleep(60)
                return real(*args, **kwargs)

            module.save_state = slow_save_state
        sleep = job["step_sleep"]

        def hook():
            print("STEP", flush=True)
            time.sleep(sleep)

        run_trainer(job["trainer"], Path(job["out"]), job["resume"], hook if sleep > 0 else None)
        print("DONE", flush=True)
    except BaseException:
        traceback.print_exc()
        code = 1
    finally:
        log.flush()
        os._exit(code)


class Zygote:
    def __init__(self, tmp: Path):
        env = {**os.environ, "OMP_NUM_THREADS": "1"}
        self.proc = subprocess.Popen([sys.executable, str(Path(__file__).resolve()), "--zygote"], stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, text=True, env=env, cwd=str(tmp))
        self.tmp, self.lives = tmp, 0

    def start(self, trainer: str, out: Path, resume: str | None, step_sleep: float = 0.0, slow_write: bool = False):
        """Fork a training session; returns (pid, its log file)."""
        self.lives += 1
        log = self.tmp / f"life-{self.lives}.log"
        job = {"trainer": trainer, "out": str(out), "resume": resume, "step_sleep": step_sleep, "slow_write": slow_write,
               "log": str(log)}
        self.proc.stdin.write(json.dumps(job) + "\n")
        self.proc.stdin.flush()
        return json.loads(self.proc.stdout.readline())["pid"], log

    def wait(self) -> int:
        line = self.proc.stdout.readline()
        assert line, "the forking helper died"
        return json.loads(line)["status"]

    def close(self) -> None:
        self.proc.stdin.close()
        self.proc.wait(timeout=30)


@pytest.fixture(scope="module")
def zygote_proc(tmp_path_factory):
    z = Zygote(tmp_path_factory.mktemp("zygote"))
    yield z
    z.close()


def _wait_for(log: Path, word: str, count: int, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while True:
        text = log.read_text() if log.exists() else ""
        if text.count(word) >= count:
            return
        assert "Traceback" not in text and "DONE" not in text, f"session ended before {count} x {word}:\n{text[-3000:]}"
        assert time.monotonic() < deadline, f"no {count} x {word} within {timeout} s:\n{text[-3000:]}"
        time.sleep(0.005)


# ------------------------------------------------------------------------------ the crash test
def _run_folder(trainer: str, out: Path) -> Path | None:
    """The folder checkpoints go to: ``out`` itself, or (saliency) the numbered run under it that
    ``resume="latest"`` continues (the newest with a checkpoint; else the newest)."""
    if trainer != "saliency":
        return out
    runs = sorted(p for p in out.glob("0*") if p.is_dir()) if out.exists() else []
    with_checkpoints = [p for p in runs if list_checkpoints(p)]
    return (with_checkpoints or runs or [None])[-1]


def _has_checkpoint(trainer: str, out: Path) -> bool:
    if trainer != "saliency":
        return bool(list_checkpoints(out))
    return any(list_checkpoints(p) for p in out.glob("0*")) if out.exists() else False


def _final_tensors(trainer: str, out: Path) -> dict[str, torch.Tensor]:
    run = _run_folder(trainer, out)
    names = {"damsm": ["text_encoder/model.safetensors", "image_encoder/model.safetensors"],
             "oracle": ["model.safetensors"],
             "saliency": ["generator/model.safetensors", f"checkpoint-{STEPS}/discriminator.safetensors",
                          f"checkpoint-{STEPS}/state.safetensors"]}[trainer]
    return {f"{n}:{k}": v for n in names for k, v in load_file(run / n).items()}


def _final_log(trainer: str, out: Path) -> list:
    run = _run_folder(trainer, out)
    if trainer == "oracle":
        return [json.loads((run / "eval.json").read_text())[s] for s in ("test", "heldout")]
    records = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]
    return [{k: v for k, v in r.items() if k not in ("seconds", "sec")} for r in records]


def crash_and_resume(z: Zygote, trainer: str, tmp: Path, seed: int, kinds: list[str]) -> tuple[int, int, int]:
    _, log = z.start(trainer, tmp / "reference", None)
    assert z.wait() == 0, log.read_text()[-3000:]

    rng, out, kills, survived, verified = random.Random(seed), tmp / "crashed", 0, 0, set()
    for kind in kinds:
        resume = "latest" if _has_checkpoint(trainer, out) else None
        pid, log = z.start(trainer, out, resume, step_sleep=STEP_SLEEP, slow_write=kind == "write")
        _wait_for(log, "STEP", 1)
        survived += kills > 0  # the session after the last kill restarted and trains again
        if kind == "write":
            _wait_for(log, "WRITING", 1)
            time.sleep(rng.uniform(0, 0.02))
        else:
            _wait_for(log, "STEP", rng.randint(3, 5))  # >= 2 steps done: past a checkpoint
            time.sleep(rng.uniform(0, 1.5 * STEP_SLEEP))
        os.kill(pid, signal.SIGKILL)
        assert z.wait() == -signal.SIGKILL, log.read_text()[-3000:]
        kills += 1
        if kind == "write":
            assert list(out.rglob(".checkpoint-*.tmp")), "the kill did not land inside a checkpoint write"
        for run in out.glob("0*") if trainer == "saliency" else [out]:
            for step, folder in list_checkpoints(run):
                assert verify_checkpoint(trainer, folder) == step
                verified.add(str(folder.relative_to(out)))
    assert _has_checkpoint(trainer, out), "no session got as far as a checkpoint"

    _, log = z.start(trainer, out, "latest")
    assert z.wait() == 0, log.read_text()[-3000:]
    survived += 1
    run = _run_folder(trainer, out)
    assert not list(run.glob(".checkpoint-*.tmp")), "stale temporary checkpoint folders remain"
    for step, folder in list_checkpoints(run):
        assert verify_checkpoint(trainer, folder) == step
        verified.add(str(folder.relative_to(out)))

    a, b = _final_tensors(trainer, tmp / "reference"), _final_tensors(trainer, out)
    assert a.keys() == b.keys()
    different = [k for k in a if not (a[k].dtype == b[k].dtype and a[k].shape == b[k].shape and torch.equal(a[k], b[k]))]
    assert different == [], f"{trainer}: resumed weights differ from the uninterrupted run in {different[:5]}"
    assert _final_log(trainer, tmp / "reference") == _final_log(trainer, out)
    return kills, survived, len(verified)


@pytest.mark.parametrize("trainer, seed", [("damsm", 1), ("oracle", 2), ("saliency", 3)])
def test_sigkill_at_random_moments_then_resume_equals_an_uninterrupted_run(zygote_proc, tmp_path, trainer, seed):
    kinds = ["step", "step", "write", "step"]
    random.Random(seed).shuffle(kinds)
    kills, survived, verified = crash_and_resume(zygote_proc, trainer, tmp_path, seed, kinds)
    print(f"\nRELIABILITY crash_resume_{trainer} kills={kills} survived={survived} checkpoints_verified={verified}")
    assert kills >= 3 and survived == kills and verified >= 1


# ------------------------------------------------------------------------------ in-process: SIGTERM halfway
@pytest.fixture
def one_thread():
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def _sigterm_at(step: int):
    calls = {"n": 0}

    def hook():
        calls["n"] += 1
        if calls["n"] == step:  # during step `step` (1-based): the loop finishes it, saves and stops
            signal.raise_signal(signal.SIGTERM)

    return hook


@pytest.mark.parametrize("trainer", ["damsm", "oracle", "saliency"])
def test_sigterm_halfway_then_resume_equals_one_run(one_thread, tmp_path, trainer):
    handler = signal.getsignal(signal.SIGTERM)
    run_trainer(trainer, tmp_path / "one", None)
    if trainer == "oracle":  # no weights without a finished run: it raises after the checkpoint
        with pytest.raises(KeyboardInterrupt, match="stopped by SIGTERM after step 12"):
            run_trainer(trainer, tmp_path / "two", None, _sigterm_at(STEPS // 2))
    else:
        run_trainer(trainer, tmp_path / "two", None, _sigterm_at(STEPS // 2))
    run = _run_folder(trainer, tmp_path / "two")
    assert list_checkpoints(run)[-1][0] == STEPS // 2
    assert signal.getsignal(signal.SIGTERM) is handler  # the trainer put the old handler back
    run_trainer(trainer, tmp_path / "two", "latest")
    a, b = _final_tensors(trainer, tmp_path / "one"), _final_tensors(trainer, tmp_path / "two")
    assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)
    assert _final_log(trainer, tmp_path / "one") == _final_log(trainer, tmp_path / "two")


def test_damsm_resume_keeps_the_precision_the_run_started_with(one_thread, tmp_path, monkeypatch):
    # mixed_precision "auto" is a per-machine timing decision; a resumed session must not re-decide it
    monkeypatch.setenv("WORDSIGHT_BF16", "yes")
    run_trainer("damsm", tmp_path / "one", None)
    run_trainer("damsm", tmp_path / "two", None, _sigterm_at(STEPS // 2))
    monkeypatch.setenv("WORDSIGHT_BF16", "no")
    run_trainer("damsm", tmp_path / "fp32", None)
    run_trainer("damsm", tmp_path / "two", "latest")
    a, b, c = (_final_tensors("damsm", tmp_path / n) for n in ("one", "two", "fp32"))
    assert all(torch.equal(a[k], b[k]) for k in a)
    assert not all(torch.equal(a[k], c[k]) for k in a)  # the precision does change the numbers


def test_damsm_resume_refusals(one_thread, tmp_path):
    world, text, image, cfg = _damsm_parts()
    with pytest.raises(InputError, match="no run under"):
        train_damsm(world, text, image, cfg, tmp_path / "empty", resume="latest")
    run_trainer("damsm", tmp_path / "run", None, _sigterm_at(4))
    with pytest.raises(InputError, match="holds checkpoints of an unfinished run.*resume='latest'"):
        train_damsm(world, text, image, cfg, tmp_path / "run")
    import dataclasses

    with pytest.raises(InputError, match=r"the config differs in lr: 0\.0002 -> 0\.001"):
        train_damsm(world, text, image, dataclasses.replace(cfg, lr=1e-3), tmp_path / "run", resume="latest")
    result = train_damsm(world, text, image, dataclasses.replace(cfg, steps=6, eval_images=0), tmp_path / "run", resume="latest")
    assert result.steps == 6 and result.stopped_by == "steps"
    assert list_checkpoints(tmp_path / "run") == []  # a finished run keeps its encoders, not its checkpoints


if __name__ == "__main__" and sys.argv[1:] == ["--zygote"]:
    zygote()
