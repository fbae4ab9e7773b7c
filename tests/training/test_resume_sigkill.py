"""A run killed with SIGKILL after a checkpoint and resumed ends with the same weights, bit for bit,
as an uninterrupted run (deterministic mode, bf16 autocast + channels_last as by default)."""

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

from safetensors.torch import load_file

CHILD = textwrap.dedent(
    """
    import sys, time
    from wordsight.training import RandomCaptionData, TrainConfig, train

    class SlowData(RandomCaptionData):
        def __getitem__(self, i):
            time.sleep(float(sys.argv[2]))  # slow enough for the parent to kill us mid-run
            return super().__getitem__(i)

    cfg = TrainConfig(steps=8, batch_size=4, checkpoint_every=3, log_every=1, sample_every=100, num_samples=4,
                      model={"nf": 4, "image_size": 16, "sentence_dim": 8, "z_dim": 8},
                      deterministic=True, tensorboard=False, progress=False)
    train(cfg, "dfgan", SlowData(32, 16, 8), sys.argv[1], resume=sys.argv[3] if len(sys.argv) > 3 else None)
    """
)


def _launch(script, out, delay, *resume):
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    return subprocess.Popen([sys.executable, str(script), str(out), str(delay), *resume], env=env, stderr=subprocess.PIPE)


def _final_weights(root: Path) -> dict:
    (run,) = [p for p in root.iterdir() if p.is_dir()]
    ckpt = run / "checkpoint-8"
    files = ["generator", "discriminator", "generator_ema", "state"]
    return {f"{f}.{k}": v for f in files for k, v in load_file(ckpt / f"{f}.safetensors").items()}


def test_sigkill_then_resume_equals_an_uninterrupted_run(tmp_path):
    script = tmp_path / "child.py"
    script.write_text(CHILD)
    full = _launch(script, tmp_path / "full", 0.0)

    killed = _launch(script, tmp_path / "killed", 0.02)
    deadline = time.monotonic() + 60
    while not list((tmp_path / "killed").glob("*/checkpoint-3/state.json")):
        assert killed.poll() is None, killed.stderr.read().decode()[-2000:]
        assert time.monotonic() < deadline, "no checkpoint-3 within 60 s"
        time.sleep(0.02)
    killed.send_signal(signal.SIGKILL)
    killed.wait()
    assert killed.returncode == -signal.SIGKILL
    assert not list((tmp_path / "killed").glob("*/checkpoint-8")), "the run finished before it was killed"

    resumed = _launch(script, tmp_path / "killed", 0.0, "latest")
    assert resumed.wait(timeout=120) == 0, resumed.stderr.read().decode()[-2000:]
    assert full.wait(timeout=120) == 0, full.stderr.read().decode()[-2000:]

    a, b = _final_weights(tmp_path / "full"), _final_weights(tmp_path / "killed")
    assert a.keys() == b.keys()
    different = [k for k in a if not (a[k].dtype == b[k].dtype and a[k].shape == b[k].shape and (a[k] == b[k]).all())]
    # RNG states legitimately differ only if the processes diverged; everything must match exactly
    assert different == []
