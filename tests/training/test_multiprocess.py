"""Two CPU processes under torchrun (Accelerate MULTI_CPU on gloo) train in lock-step (on random tensors, the
synthetic world and a tiny CUB layout, each checked for what it trained on): every checkpoint
verifies that both replicas hold bit-identical weights and logs the fingerprints."""

import json
import os
import subprocess
import sys


def test_two_processes_keep_identical_replicas(tmp_path):
    sets = ["steps=4", "batch_size=4", "checkpoint_every=2", "log_every=2", "num_samples=4", "tensorboard=false",
            "progress=false", "model.nf=4", "model.image_size=16", "model.sentence_dim=8", "model.z_dim=8"]
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2",
           "-m", "wordsight.training.launch", "--out", str(tmp_path), "--data", "random", "--data-samples", "32"]
    for s in sets:
        cmd += ["--set", s]
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr[-3000:]
    (run,) = [p for p in tmp_path.iterdir() if p.is_dir()]
    records = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]
    checks = [r for r in records if r.get("event") == "replicas_checked"]
    assert [r["step"] for r in checks] == [2, 4]
    for r in checks:
        prints = r["replica_fingerprints"]
        assert len(prints) == 2 and prints[0] == prints[1]
    assert checks[0]["replica_fingerprints"] != checks[1]["replica_fingerprints"]  # weights did change
    losses = [r for r in records if "d/loss" in r]
    assert losses and losses[-1]["img_per_s"] > 0
    assert proc.stdout.count("run folder:") == 1  # only process 0 reports


TINY_GAN = ["model.nf=4", "model.image_size=16", "model.z_dim=8", "model.sentence_dim=8", "data.sentence_whitening=8",
            "steps=2", "batch_size=4", "checkpoint_every=2", "log_every=1", "num_samples=4", "tensorboard=false",
            "progress=false", "mixed_precision=no"]


def _launch_two(tmp_path, *args: str, sets=()):
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2",
           "-m", "wordsight.training.launch", "--out", str(tmp_path / "runs"), *args]
    for s in [*TINY_GAN, *sets]:
        cmd += ["--set", s]
    proc = subprocess.run(cmd, env={**os.environ, "OMP_NUM_THREADS": "1"}, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert proc.stdout.count("run folder:") == 1
    (run,) = (tmp_path / "runs").iterdir()
    records = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]
    (check,) = [r for r in records if r.get("event") == "replicas_checked"]
    assert check["step"] == 2 and check["replica_fingerprints"][0] == check["replica_fingerprints"][1]
    return run, json.loads((run / "data.json").read_text()), (run / "config.yaml").read_text()


def test_two_processes_train_the_synthetic_world_of_a_synthetic_config(tmp_path):
    """No --data: the config's data.source (synthetic) decides, not random tensors."""
    from wordsight.data.synthetic import SyntheticWorld, WorldConfig

    run, info, config = _launch_two(tmp_path, "--config", "dfgan_synthetic", sets=["data.synthetic.num_scenes=4"])
    assert run.name == "00000-dfgan-synthetic"
    assert (info["source"], info["items"], info["scenes"], info["captions_per_image"]) == ("synthetic", 20, 4, 5)
    world = SyntheticWorld(WorldConfig(seed=0, image_size=16, min_objects=1, max_objects=1))
    assert info["first_captions"] == world.scene_captions(0)[:4]
    assert "source: synthetic" in config and "num_scenes: 4" in config
    assert (run / "sentence_whitening").is_dir() and any((run / "samples").glob("*.png"))


def test_two_processes_train_a_cub_layout_given_with_data(tmp_path):
    from .conftest import FIXTURE_CAPTION, write_tiny_cub

    cub = write_tiny_cub(tmp_path / "birds", train=4, test=2, captions=5)
    run, info, config = _launch_two(tmp_path, "--config", "dfgan_cub", "--data", f"cub:{cub}",
                                    sets=["data.captions.captions_per_image=5"])
    assert run.name == "00000-dfgan-cub"
    assert (info["source"], info["path"], info["split"], info["images"], info["items"]) == ("cub", str(cub), "train", 4, 20)
    assert info["first_captions"][0] == FIXTURE_CAPTION.format(i=0, j=0)
    assert "source: cub" in config
