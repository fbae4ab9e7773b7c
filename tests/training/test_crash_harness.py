"""Crash-and-resume harness for the training engine: SIGKILL a training run at seeded random moments
(several of them in the middle of a checkpoint write), resume it with ``resume="latest"`` after each kill,
and check at the end that

* the final weights (and optimizer, scheduler and RNG state) equal an uninterrupted run's, bit for bit;
* every checkpoint folder that ever appeared on disk loaded (checked after every kill);
* ``metrics.jsonl`` holds each step once, and no temporary of a killed write is left.

Sessions are forked from one "zygote" process that has imported torch and wordsight already, so a session
starts in milliseconds rather than seconds; the killed process is a separate process all the same (it dies
with SIGKILL, its file writes are cut where they are). The run is the tiny DF-GAN of the other tests (nf=4,
16 px, deterministic, no TensorBoard). A benchmark greps the ``RELIABILITY crash_resume`` line (``pytest -s``).
"""

import json
import os
import random
import select
import shutil
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
from safetensors.torch import load_file

from wordsight.training import build_objective, list_checkpoints
from wordsight.training.checkpoint import load_checkpoint
from wordsight.training.ema import make_ema

TINY_MODEL = {"nf": 4, "image_size": 16, "sentence_dim": 8, "z_dim": 8}
STEPS, CHECKPOINT_EVERY = 90, 3  # enough steps that ten sessions cannot finish the run (each gains <= ~12)
WRITE_PAUSE = 0.15  # seconds a killed session's checkpoint writer pauses after its first weights file

ZYGOTE = textwrap.dedent(
    """
    import os, sys, time, traceback

    import wordsight.training.checkpoint as checkpoint
    from wordsight.training import RandomCaptionData, TrainConfig, train

    MODEL = {model!r}
    settings = {{"item_delay": 0.0, "write_pause": 0.0}}

    class SlowData(RandomCaptionData):
        def __getitem__(self, i):
            time.sleep(settings["item_delay"])  # paces the steps, so kills land at chosen steps
            return super().__getitem__(i)

    save_weights = checkpoint.save_weights

    def pausing_save_weights(tensors, path, metadata=None):
        save_weights(tensors, path, metadata)
        if os.path.basename(os.path.dirname(path)).endswith(".tmp") and os.path.basename(path) == "generator.safetensors":
            time.sleep(settings["write_pause"])  # inside the checkpoint's temporary folder: a kill now is mid-write

    checkpoint.save_weights = pausing_save_weights

    def session(root, resume):
        cfg = TrainConfig(steps={steps}, batch_size=4, checkpoint_every={every}, keep_last=2, log_every=1, sample_every=1000,
                          num_samples=4, model=dict(MODEL), deterministic=True, tensorboard=False, progress=False)
        train(cfg, "dfgan", SlowData(32, 16, 8), root, resume=None if resume == "-" else resume)

    for line in sys.stdin:  # "run ROOT RESUME ITEM_DELAY WRITE_PAUSE"
        _, root, resume, item_delay, write_pause = line.split()
        settings.update(item_delay=float(item_delay), write_pause=float(write_pause))
        sys.stdout.flush()
        sys.stderr.flush()
        pid = os.fork()
        if pid == 0:
            code = 0
            try:
                session(root, resume)
            except BaseException:
                traceback.print_exc()
                code = 1
            finally:
                sys.stderr.flush()
                os._exit(code)
        print(f"pid {{pid}}", flush=True)
        _, status = os.waitpid(pid, 0)
        print(f"exit {{-os.WTERMSIG(status) if os.WIFSIGNALED(status) else os.WEXITSTATUS(status)}}", flush=True)
    """
).format(model=TINY_MODEL, steps=STEPS, every=CHECKPOINT_EVERY)


class Zygote:
    """The process that forks training sessions (see the module docstring); line protocol over pipes."""

    def __init__(self, folder: Path):
        script = folder / "zygote.py"
        script.write_text(ZYGOTE)
        self.log = folder / "sessions.log"  # every session's stderr: "resumed ..." lines and any traceback
        self.proc = subprocess.Popen([sys.executable, str(script)], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     stderr=open(self.log, "wb"), env={**os.environ, "OMP_NUM_THREADS": "1"})
        self._buffer = b""

    def start(self, root: Path, resume: str | None, item_delay: float = 0.0, write_pause: float = 0.0) -> int:
        self.proc.stdin.write(f"run {root} {resume or '-'} {item_delay} {write_pause}\n".encode())
        self.proc.stdin.flush()
        return int(self._line(timeout=120).split()[1])

    def exit_status(self, timeout: float) -> int:
        return int(self._line(timeout).split()[1])

    def _line(self, timeout: float) -> str:
        deadline = time.monotonic() + timeout
        while b"\n" not in self._buffer:
            left = deadline - time.monotonic()
            ready, _, _ = select.select([self.proc.stdout], [], [], max(left, 0))
            if not ready:
                raise AssertionError(f"no answer from the training sessions within {timeout} s; log:\n{self.tail()}")
            chunk = os.read(self.proc.stdout.fileno(), 4096)
            if not chunk:
                raise AssertionError(f"the session forker died; log:\n{self.tail()}")
            self._buffer += chunk
        line, self._buffer = self._buffer.split(b"\n", 1)
        return line.decode()

    def resumes(self) -> int:
        """How many sessions have said "resumed ... from step" (done restoring, metrics.jsonl truncated)."""
        return self.log.read_text(errors="replace").count("resumed ")

    def tail(self) -> str:
        return self.log.read_text(errors="replace")[-3000:]

    def close(self) -> None:
        self.proc.stdin.close()
        self.proc.wait(timeout=30)


def _run_folder(root: Path) -> Path | None:
    runs = [p for p in root.iterdir() if p.is_dir()] if root.is_dir() else []
    assert len(runs) <= 1, f"more than one run folder: {runs}"
    return runs[0] if runs else None


def _logged_step(run: Path | None) -> int:
    path = None if run is None else run / "metrics.jsonl"
    if path is None or not path.exists():
        return 0
    lines = path.read_text().splitlines()
    try:
        return json.loads(lines[-1])["step"] if lines else 0
    except (json.JSONDecodeError, KeyError):  # a line being appended right now
        return 0


def _newest_checkpoint(run: Path | None) -> int:
    return max([0] + [step for step, _ in list_checkpoints(run)]) if run is not None else 0


def _checkpoint_writes(run: Path | None) -> set[str]:
    """The temporary folders of checkpoint writes under way (or cut by a kill) that hold a file already."""
    return set() if run is None else {tmp.name for tmp in run.glob(".checkpoint-*.tmp") if (tmp / "generator.safetensors").exists()}


def _wait_until(condition, pid: int, zygote: Zygote, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if _exited(pid):
            raise AssertionError(f"session {pid} ended before it could be killed (raise STEPS?); log:\n{zygote.tail()}")
        assert time.monotonic() < deadline, f"timed out waiting to kill session {pid}; log:\n{zygote.tail()}"
        time.sleep(0.003)


def _exited(pid: int) -> bool:
    try:
        os.kill(pid, 0)  # the zygote reaps its children at once, so a dead one is gone
    except ProcessLookupError:
        return True
    return False


def _verify_checkpoints(run: Path, objective, ema) -> int:
    """Load every complete checkpoint of the run; return how many."""
    found = list_checkpoints(run)
    for step, folder in found:
        assert load_checkpoint(folder, objective.networks(), ema)["step"] == step
    return len(found)


def _final_state(run: Path) -> dict:
    ckpt = run / f"checkpoint-{STEPS}"
    return {f"{f}.{k}": v for f in ("generator", "discriminator", "generator_ema", "state")
            for k, v in load_file(ckpt / f"{f}.safetensors").items()}


def _kill_plan(kills: int, seed: int) -> list[tuple[str, float, int]]:
    """(kind, delay, steps ahead) per kill. ``write``: a delay after the session's checkpoint writer has
    written the first file of its second checkpoint into the temporary folder; ``step``: a delay after it logged a step a few steps
    past where it resumed (anywhere in a step's forward, backward, update or logging); ``startup``: a delay
    after the fork (building, restoring the checkpoint, cleaning and rewriting the run folder)."""
    rng = random.Random(seed)
    kinds = ["write", "step", "startup"] * (kills // 3 + 1)
    kinds = kinds[:kills]
    kinds.sort(key=lambda _: rng.random())
    plan = []
    for kind in kinds:
        delay = {"write": rng.uniform(0.0, 0.8 * WRITE_PAUSE), "step": rng.uniform(0.0, 0.04), "startup": rng.uniform(0.0, 0.35)}[kind]
        plan.append((kind, delay, rng.randint(1, 5)))
    return plan


def crash_and_resume(folder: Path, kills: int, seed: int = 20) -> dict[str, int]:
    zygote = Zygote(folder)
    objective = build_objective("dfgan", dict(TINY_MODEL))
    ema = make_ema(objective.generator)
    counts = {"kills": 0, "mid_write": 0, "restarts": 0, "checkpoints_verified": 0, "survived": 0}
    try:
        reference = folder / "uninterrupted"
        zygote.start(reference, None)
        assert zygote.exit_status(timeout=300) == 0, zygote.tail()

        root = folder / "killed"
        for kind, delay, ahead in _kill_plan(kills, seed):
            run = _run_folder(root)
            if run is not None and not list_checkpoints(run):  # killed before its first checkpoint: start afresh
                shutil.rmtree(run)
                run, counts["restarts"] = None, counts["restarts"] + 1
            resumed_at, cut = _newest_checkpoint(run), _checkpoint_writes(run)  # `cut`: left by earlier kills
            resumes_before = zygote.resumes()
            pid = zygote.start(root, "latest" if run is not None else None, item_delay=0.004, write_pause=WRITE_PAUSE)
            counts["survived"] += run is not None  # a resume that fails ends the test (the status check below)
            if kind == "write":  # the session's second checkpoint write: its first one completes (progress)
                _wait_until(lambda: _newest_checkpoint(_run_folder(root)) > resumed_at and _checkpoint_writes(_run_folder(root)) - cut,
                            pid, zygote)
            elif kind == "step":  # metrics.jsonl may still end past `resumed_at` (steps the last killed session logged
                # after its checkpoint) until this session's restore truncates it: wait for its "resumed" line first
                _wait_until(lambda: (run is None or zygote.resumes() > resumes_before)
                            and _logged_step(_run_folder(root)) >= resumed_at + ahead, pid, zygote)
            time.sleep(delay)
            os.kill(pid, signal.SIGKILL)
            status = zygote.exit_status(timeout=60)
            assert status == -signal.SIGKILL, f"session ended with {status} before the kill; log:\n{zygote.tail()}"
            counts["kills"] += 1
            counts["mid_write"] += bool(_checkpoint_writes(_run_folder(root)) - cut)  # this session's write was cut
            run = _run_folder(root)
            if run is not None:
                counts["checkpoints_verified"] += _verify_checkpoints(run, objective, ema)
                assert _newest_checkpoint(run) >= resumed_at  # a kill loses no saved step

        run = _run_folder(root)
        if run is not None and not list_checkpoints(run):
            shutil.rmtree(run)
            run, counts["restarts"] = None, counts["restarts"] + 1
        zygote.start(root, "latest" if run is not None else None)
        assert zygote.exit_status(timeout=300) == 0, zygote.tail()
        counts["survived"] += run is not None
        run = _run_folder(root)
        counts["checkpoints_verified"] += _verify_checkpoints(run, objective, ema)
        counts["restored"] = zygote.log.read_text().count(f"resumed {run} from step ")  # got as far as training

        a, b = _final_state(_run_folder(reference)), _final_state(run)
        assert a.keys() == b.keys()
        assert [k for k in a if not (a[k].dtype == b[k].dtype and a[k].shape == b[k].shape and (a[k] == b[k]).all())] == []
        steps = [json.loads(line)["step"] for line in (run / "metrics.jsonl").read_text().splitlines()]
        assert steps == list(range(1, STEPS + 1))  # every replayed step logged once
        leftovers = [p for p in run.rglob("*") if p.name.endswith((".tmp", ".old"))]
        assert leftovers == []
    finally:
        zygote.close()
    return counts


def _report(counts: dict[str, int]) -> None:
    print(f"\nRELIABILITY crash_resume kills={counts['kills']} survived={counts['survived']} "
          f"checkpoints_verified={counts['checkpoints_verified']} mid_write_kills={counts['mid_write']} "
          f"restored={counts['restored']} restarts={counts['restarts']}")


@pytest.mark.skipif(not hasattr(os, "fork"), reason="the harness forks its training sessions")
def test_ten_sigkills_at_random_moments_then_resume_equal_an_uninterrupted_run(tmp_path):
    counts = crash_and_resume(tmp_path, kills=10)
    _report(counts)
    assert counts["kills"] == 10 and counts["mid_write"] >= 3
    assert counts["survived"] == 10 - counts["restarts"] and counts["restored"] >= counts["survived"] - 3
