import json

import pytest
import torch

import wordsight.training.objectives.stackgan as sg
from wordsight.cli.main import main
from wordsight.config import ConfigError
from wordsight.hub import save_pretrained
from wordsight.models.stackgan import StackGANGenerator
from wordsight.training import SYSTEMS, TrainConfig, build_objective
from wordsight.training.data import RandomCaptionData
from wordsight.training.loop import train
from wordsight.training.sources import model_image_size

from .conftest import write_tiny_cub

TINY = {"ngf": 4, "ndf": 4, "z_dim": 8, "sentence_dim": 6, "c_dim": 5, "stage1_size": 16, "upscale": 2}


def _batch(b=4, size=16):
    torch.manual_seed(1)
    return {"images": torch.rand(b, 3, size, size) * 2 - 1, "sentence": torch.randn(b, 6)}


def _tiny_cfg(model, steps, **kw):
    return TrainConfig(system="stackgan", model=model, steps=steps, batch_size=8, log_every=5, sample_every=1000,
                       checkpoint_every=1000, num_samples=4, tensorboard=False, progress=False, mixed_precision="no",
                       ema_decay=0.0, **kw)


def _stage1_folder(tmp_path):
    torch.manual_seed(0)
    g = StackGANGenerator(ngf=4, z_dim=8, sentence_dim=6, c_dim=5, stage1_size=16)
    save_pretrained(g, tmp_path / "stage1" / "generator")  # a pipeline-like folder
    return g, tmp_path / "stage1"


def test_registered_and_image_size_follows_the_stage(tmp_path):
    assert SYSTEMS.get("stackgan") is sg.StackGANObjective
    assert sg.StackGANConfig(**TINY).image_size == 16
    assert sg.StackGANConfig(**TINY, stage=2, init_from="x").image_size == 32
    # the data loader reads the derived size: stage 2 trains on 32 px real images
    assert model_image_size(TrainConfig(system="stackgan", model={**TINY, "stage": 2, "init_from": "x"})) == 32
    with pytest.raises(ConfigError, match="leave image_size out"):
        sg.StackGANConfig(**TINY, image_size=64)


def test_stage2_without_a_stage1_model_is_a_clear_error(tmp_path):
    with pytest.raises(ConfigError, match="model.init_from"):
        build_objective("stackgan", {**TINY, "stage": 2})
    with pytest.raises(ConfigError, match="no StackGAN stage-1 model"):
        build_objective("stackgan", {**TINY, "stage": 2, "init_from": str(tmp_path)})
    g2 = StackGANGenerator(ngf=4, z_dim=8, sentence_dim=6, c_dim=5, stage1_size=16, stages=2, upscale=2)
    save_pretrained(g2, tmp_path / "two")
    with pytest.raises(ConfigError, match="2-stage"):
        build_objective("stackgan", {**TINY, "stage": 2, "init_from": str(tmp_path / "two")})
    _, folder = _stage1_folder(tmp_path)
    with pytest.raises(ConfigError, match="model.ngf is 8 but the stage-1 model has 4"):
        build_objective("stackgan", {**TINY, "ngf": 8, "stage": 2, "init_from": str(folder)})


def test_stage2_loads_and_freezes_stage1(tmp_path):
    g1, folder = _stage1_folder(tmp_path)
    obj = build_objective("stackgan", {**TINY, "stage": 2, "init_from": str(folder)})
    for k, v in g1.stage1.state_dict().items():
        assert torch.equal(v, obj.G.stage1.state_dict()[k]), k
    assert obj.base_pipeline == folder
    trained = {id(p) for p in obj.optimizer_params()["g"]}
    assert trained == {id(p) for p in obj.G.stage2.parameters()}
    assert obj.D.image_size == 32


def test_d_terms_condition_on_the_detached_ca_mean_and_its_neighbour():
    torch.manual_seed(0)
    obj = build_objective("stackgan", TINY)
    batch = _batch()
    seen = []
    orig = obj.D.logits
    obj.D.logits = lambda f, c: (seen.append(c.detach().clone()), orig(f, c))[1]
    out = obj.d_step(batch)
    right, fake, wrong = seen  # real/right, fake/right, then real/wrong
    fake_img, mu, _ = obj._fakes[0]
    assert torch.equal(right, mu.detach()) and torch.equal(fake, mu.detach())
    assert torch.equal(wrong, torch.roll(mu.detach(), -1, 0))  # each real image with its neighbour's text
    # STAGE1 compute_discriminator_loss: real + (wrong + fake) / 2
    assert torch.allclose(out["loss"], out["d_real"] + 0.5 * (out["d_wrong"] + out["d_fake"]))


def test_d_loss_on_a_hand_made_batch():
    # logits chosen by hand: s_r = 2, s_w = -1, s_f = 0.5; the official loss with BCE on sigmoids
    from wordsight.losses.multiscale import joint_d_loss

    sig = torch.sigmoid
    s_r, s_w, s_f = torch.tensor([2.0]), torch.tensor([-1.0]), torch.tensor([0.5])
    out = joint_d_loss((s_r, None), (s_w, None), (s_f, None), 0.0)
    expected = -torch.log(sig(s_r)) - 0.5 * torch.log(1 - sig(s_w)) - 0.5 * torch.log(1 - sig(s_f))
    assert torch.allclose(out["loss"], expected.squeeze())


def test_kl_enters_the_g_loss_with_its_weight():
    batch = _batch()
    losses = {}
    for w in (0.0, 2.0):
        torch.manual_seed(0)
        obj = build_objective("stackgan", {**TINY, "kl_weight": w})
        obj.d_step(batch)
        losses[w] = obj.g_step(batch)
    assert torch.allclose(losses[0.0]["loss"], losses[0.0]["g_adversarial"])
    assert torch.allclose(losses[2.0]["loss"], losses[2.0]["g_adversarial"] + 2.0 * losses[2.0]["kl"])
    assert torch.allclose(losses[0.0]["kl"], losses[2.0]["kl"]) and losses[2.0]["kl"] > 0
    # the KL term reaches the CA layer's weights
    torch.manual_seed(0)
    obj = build_objective("stackgan", TINY)
    obj.g_step(batch)["kl"].backward()
    assert obj.G.stage1.ca.fc.weight.grad.abs().sum() > 0


def test_hard_negatives_average_the_wrong_text_terms():
    torch.manual_seed(0)
    obj = build_objective("stackgan", TINY)
    batch = {**_batch(), "mismatch_sentence": torch.randn(4, 6)}
    out = obj.d_step(batch)
    assert "d_hard_wrong" in out
    assert torch.allclose(out["loss"], out["d_real"] + 0.5 * (out["d_wrong"] + out["d_fake"]))


def test_both_stages_train_and_resume_exactly(tmp_path):
    data16 = RandomCaptionData(num_samples=32, image_size=16, sentence_dim=6, seed=0)
    full = train(_tiny_cfg(TINY, 4, deterministic=True), data=data16, run_dir=tmp_path / "a")
    train(_tiny_cfg(TINY, 2, deterministic=True), data=data16, run_dir=tmp_path / "b")
    resumed = train(_tiny_cfg(TINY, 4, deterministic=True), data=data16, run_dir=tmp_path / "b", resume="latest")
    assert resumed.step == 4
    for k, v in full.objective.G.state_dict().items():
        assert torch.equal(v, resumed.objective.G.state_dict()[k]), k
    # stage 2 on the stage-1 run's generator: Stage-I does not move, Stage-II does
    save_pretrained(full.ema, tmp_path / "s1" / "generator")
    data32 = RandomCaptionData(num_samples=32, image_size=32, sentence_dim=6, seed=0)
    two = {**TINY, "stage": 2, "init_from": str(tmp_path / "s1")}
    before = {k: v.clone() for k, v in full.ema.state_dict().items()}
    result = train(_tiny_cfg(two, 3), data=data32, run_dir=tmp_path / "c")
    after = result.objective.G
    for k, v in after.stage1.state_dict().items():
        assert torch.equal(v, before[f"stage1.{k}"]), k
    assert after.stage2 is not None and result.step == 3
    low, high = result.ema.eval()(torch.randn(2, 8), torch.randn(2, 6))
    assert low.shape[-1] == 16 and high.shape[-1] == 32


@pytest.fixture
def _cache(tmp_path, monkeypatch):
    monkeypatch.setenv("WORDSIGHT_CACHE", str(tmp_path / "cache"))


COMMON = ["steps=2", "batch_size=4", "progress=false", "sample_every=1000", "checkpoint_every=1000", "tensorboard=false",
          "model.ngf=4", "model.ndf=4", "model.z_dim=8", "model.c_dim=4", "model.stage1_size=16", "model.upscale=2"]


def test_cli_trains_stage1_then_stage2_and_generate_writes_the_stages(tmp_path, _cache):
    root = write_tiny_cub(tmp_path / "data", train=4, test=2, captions=5)
    args = ["train", "stackgan", "--data", f"cub:{root}", *COMMON]
    assert main([*args, "--out", str(tmp_path / "s1")]) == 0
    run1 = next((tmp_path / "s1").iterdir())
    # a Stage-II run on other sentence vectors than Stage-I's is refused before training
    assert main([*args, "--out", str(tmp_path / "bad"), "model.stage=2", f"model.init_from={run1}", "data.sentence_whitening=8",
                 "model.sentence_dim=8"]) != 0
    assert main([*args, "--out", str(tmp_path / "s2"), "model.stage=2", f"model.init_from={run1}"]) == 0
    run2 = next((tmp_path / "s2").iterdir())
    meta = json.loads((run2 / "pipeline" / "pipeline.json").read_text())
    assert meta["system"] == "stackgan" and meta["trained_on"]["data"] == f"cub:{root}"
    out = tmp_path / "stages.png"
    assert main(["generate", str(run2 / "pipeline"), "a bird", "-n", "2", "--stages", "--out", str(out)]) == 0
    from PIL import Image
    grid = Image.open(out)
    assert grid.width >= 2 * 96  # two columns: Stage-I and Stage-II
    assert main(["generate", str(run1 / "pipeline"), "a bird", "--stages", "--out", str(tmp_path / "x.png")]) != 0
