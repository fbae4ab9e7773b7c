"""Two CPU processes under torchrun (Accelerate MULTI_CPU on gloo) train in lock-step: every checkpoint
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
