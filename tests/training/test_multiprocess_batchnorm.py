"""Systems with batch norm under two CPU processes (torchrun, Accelerate MULTI_CPU): each process normalises its
own shard, so the loop averages the running statistics after every step and the replicas stay identical
(the replica check at the checkpoint fails otherwise): GAN-INT-CLS, StackGAN's two stages, StackGAN++, AttnGAN and
DualAttnGAN (on the synthetic world: they encode the batches' captions with a DAMSM)."""

import json
import os
import subprocess
import sys

import pytest
import torch

from wordsight.hub import save_pretrained
from wordsight.models.stackgan import StackGANGenerator

COMMON = ["model.z_dim=8", "model.sentence_dim=8", "steps=2", "batch_size=4", "checkpoint_every=2", "log_every=1", "num_samples=4",
          "tensorboard=false", "progress=false", "mixed_precision=no"]
WIDTHS = ["model.ngf=4", "model.ndf=4"]
STACKGAN = [*WIDTHS, "model.c_dim=4", "model.stage1_size=16", "model.upscale=2"]


def _launch_two(out, config, sets, data=("--data", "random", "--data-samples", "16")):
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2", "-m", "wordsight.training.launch",
           "--out", str(out), "--config", config, *data]
    for s in [*COMMON, *sets]:
        cmd += ["--set", s]
    proc = subprocess.run(cmd, env={**os.environ, "OMP_NUM_THREADS": "1"}, capture_output=True, text=True, timeout=180)
    assert proc.returncode == 0, proc.stderr[-3000:]
    (run,) = out.iterdir()
    records = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]
    (check,) = [r for r in records if r.get("event") == "replicas_checked"]
    assert check["step"] == 2 and check["replica_fingerprints"][0] == check["replica_fingerprints"][1]
    return run


def test_two_processes_train_gan_int_cls(tmp_path):
    run = _launch_two(tmp_path, "gan_int_cls_synthetic", [*WIDTHS, "model.image_size=16"])
    assert "system: gan-int-cls" in (run / "config.yaml").read_text()


def test_two_processes_train_stackgan_stage1_and_stage2(tmp_path):
    run = _launch_two(tmp_path / "s1", "stackgan_synthetic", STACKGAN)
    assert "stage: 1" in (run / "config.yaml").read_text()
    torch.manual_seed(0)
    save_pretrained(StackGANGenerator(ngf=4, z_dim=8, sentence_dim=8, c_dim=4, stage1_size=16), tmp_path / "g1")
    run2 = _launch_two(tmp_path / "s2", "stackgan_synthetic", [*STACKGAN, "model.stage=2", f"model.init_from={tmp_path / 'g1'}"])
    config = (run2 / "config.yaml").read_text()
    assert "stage: 2" in config and "image_size: 32" in config  # Stage-II learnt at 32 px on 32 px data


def test_two_processes_train_stackgan_pp(tmp_path):
    run = _launch_two(tmp_path, "stackgan_pp_synthetic", ["model.gf_dim=4", "model.df_dim=2", "model.c_dim=4", "model.base_size=16",
                                                          "model.branch_num=2"])
    assert "system: stackgan-pp" in (run / "config.yaml").read_text()


@pytest.mark.parametrize("system", ["attngan", "dualattngan"])
def test_two_processes_train_attngan_and_dualattngan(tmp_path, system):
    from wordsight.data.synthetic import SyntheticWorld, WorldConfig
    from wordsight.training.damsm import build_synthetic_damsm

    torch.manual_seed(0)
    world = SyntheticWorld(WorldConfig(seed=0, image_size=32, split="train"))
    text, image = build_synthetic_damsm(world, image_size=16, channels=(4, 8), embed_dim=8, word_embedding_dim=4, vocabulary_items=64)
    save_pretrained(text, tmp_path / "damsm" / "text_encoder")
    save_pretrained(image, tmp_path / "damsm" / "image_encoder")
    sets = ["model.gf_dim=4", "model.df_dim=2", "model.c_dim=4", "model.base_size=16", "model.branch_num=2",
            f"model.damsm_path={tmp_path / 'damsm'}", f"data.text_encoder_path={tmp_path / 'damsm'}", "data.synthetic.num_scenes=8"]
    run = _launch_two(tmp_path / "run", f"{system}_synthetic", sets, data=("--data", "synthetic"))
    assert f"system: {system}" in (run / "config.yaml").read_text()
