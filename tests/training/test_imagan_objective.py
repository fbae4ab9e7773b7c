import json
import math

import pytest
import torch

from wordsight.cli.main import main
from wordsight.config import ConfigError
from wordsight.losses.adversarial import hinge_d_fake, hinge_d_real
from wordsight.models.dfgan import DFDiscriminator, DFGenerator
from wordsight.models.imagan import RDBGenerator, UNetDiscriminator
from wordsight.training import SYSTEMS, build_objective
from wordsight.training.loop import train
from wordsight.training.objectives.imagan import (IMAGANObjective, cutmix_consistency, cutmix_masks, encoder_levels,
                                                  pixel_hinge_d)

from .conftest import tiny_config, tiny_data

TINY = {"nf": 4, "image_size": 16, "sentence_dim": 8, "z_dim": 8, "rdb_growth": 4}
VARIANTS = [("dfgan", {}), ("imagan", {"generator": "rdb", "discriminator": "dfgan"}),
            ("imagan", {"generator": "dfgan", "discriminator": "unet", "cutmix": True}),
            ("imagan", {"generator": "rdb", "discriminator": "unet", "cutmix": True})]


def _objective(**options):
    torch.manual_seed(0)
    return build_objective("imagan", {**TINY, **options})


def _batch(b=4, seed=0):
    gen = torch.Generator().manual_seed(seed)
    return {"images": torch.rand(b, 3, 16, 16, generator=gen) * 2 - 1, "sentence": torch.randn(b, 8, generator=gen)}


# ---- registration and options --------------------------------------------------------------------------
def test_imagan_is_registered_and_listed(capsys):
    assert SYSTEMS.get("imagan") is IMAGANObjective
    assert main(["train", "--list"]) == 0
    assert "imagan" in capsys.readouterr().out


@pytest.mark.parametrize("generator,discriminator,G,D", [
    ("rdb", "unet", RDBGenerator, UNetDiscriminator), ("rdb", "dfgan", RDBGenerator, DFDiscriminator),
    ("dfgan", "unet", DFGenerator, UNetDiscriminator), ("dfgan", "dfgan", DFGenerator, DFDiscriminator),
])
def test_the_options_pick_the_networks(generator, discriminator, G, D):
    obj = _objective(generator=generator, discriminator=discriminator, rdb_blocks=2)
    assert type(obj.G) is G and type(obj.D) is D
    if G is RDBGenerator:
        assert all(len(b.rdbs) == 2 and b.rdbs[0].growth == 4 for b in obj.G.blocks)


def test_bad_options_are_config_errors():
    with pytest.raises(ConfigError, match="model.cutmix=true needs model.discriminator=unet"):
        _objective(discriminator="dfgan", cutmix=True)
    with pytest.raises(ConfigError, match="generator"):
        _objective(generator="esrgan")
    with pytest.raises(ConfigError, match="rdb_growth"):
        _objective(rdb_growth=0)


def test_dry_run_takes_the_switches(capsys):
    assert main(["train", "imagan", "--data", "synthetic", "--dry-run", "model.generator=dfgan", "model.discriminator=unet"]) == 0
    out = capsys.readouterr().out
    assert "system: imagan" in out and "generator: dfgan" in out and "discriminator: unet" in out
    assert main(["train", "imagan", "--dry-run", "model.discriminator=stylegan"]) == 2


def test_with_dfgans_networks_imagan_is_dfgan():
    torch.manual_seed(0)
    dfgan = build_objective("dfgan", {k: v for k, v in TINY.items() if k != "rdb_growth"})
    imagan = _objective(generator="dfgan", discriminator="dfgan")
    torch.manual_seed(3)
    a = dfgan.d_step(_batch())
    torch.manual_seed(3)
    b = imagan.d_step(_batch())
    assert set(a) == set(b) and all(torch.allclose(a[k], b[k]) for k in a)


# ---- the per-pixel terms on hand-made cases ---------------------------------------------------------------
def test_pixel_hinge_on_a_hand_made_map():
    logits = torch.tensor([[[[2.0, -0.5], [0.3, -2.0]]]])  # [1, 1, 2, 2]
    target = torch.tensor([[[[1.0, 1.0], [0.0, 0.0]]]])
    # real pixels: relu(1 - 2) = 0, relu(1 + 0.5) = 1.5; fake pixels: relu(1 + 0.3) = 1.3, relu(1 - 2) = 0
    assert float(pixel_hinge_d(logits, target)) == pytest.approx((0 + 1.5 + 1.3 + 0) / 4)
    assert torch.allclose(pixel_hinge_d(logits, torch.ones(1)), hinge_d_real(logits))
    assert torch.allclose(pixel_hinge_d(logits, torch.zeros(1)), hinge_d_fake(logits))


def test_cutmix_consistency_on_a_hand_made_case():
    mask = torch.tensor([[[[1.0, 0.0]]]])
    real, fake = torch.tensor([[[[1.0, 2.0]]]]), torch.tensor([[[[3.0, 4.0]]]])
    mixed = torch.tensor([[[[1.5, 5.0]]]])
    # target = mix(real, fake, M) = [1, 4]; squared errors 0.25 and 1
    assert float(cutmix_consistency(mixed, real, fake, mask)) == pytest.approx((0.25 + 1.0) / 2)
    assert float(cutmix_consistency(torch.tensor([[[[1.0, 4.0]]]]), real, fake, mask)) == 0.0


def test_cutmix_masks_are_binary_boxes_and_reproducible():
    masks = cutmix_masks(64, 16, generator=torch.Generator().manual_seed(0))
    assert masks.shape == (64, 1, 16, 16) and set(masks.unique().tolist()) <= {0.0, 1.0}
    again = cutmix_masks(64, 16, generator=torch.Generator().manual_seed(0))
    assert torch.equal(masks, again)
    def rectangle(a):  # the ones of `a` fill their bounding box (or there are none)
        rows, cols = a.sum(1).nonzero(), a.sum(0).nonzero()
        return a.sum() == 0 or a.sum() == len(rows) * len(cols)

    assert all(rectangle(1 - m) or rectangle(m) for m in masks[:, 0])  # a box of fake (or, inverted, of real) pixels
    assert 0.2 < masks.mean() < 0.8  # both directions occur


# ---- the objective's terms -------------------------------------------------------------------------------------
def test_d_loss_is_dfgans_plus_the_weighted_pixel_and_cutmix_terms():
    obj = _objective(cutmix=True, pixel_weight=0.5, cutmix_weight=0.25, consistency_weight=2.0)
    out = obj.d_step(_batch())
    assert set(out) == {"loss", "d_real", "d_fake", "d_mismatch", "ma_gp", "d_pixel_real", "d_pixel_fake",
                        "d_cutmix_global", "d_cutmix_pixel", "d_cutmix_consistency"}
    dfgan = out["d_real"] + (out["d_fake"] + out["d_mismatch"]) / 2 + out["ma_gp"]
    expected = (dfgan + 0.5 * (out["d_pixel_real"] + out["d_pixel_fake"]) + 0.25 * (out["d_cutmix_global"] + out["d_cutmix_pixel"])
                + 2.0 * out["d_cutmix_consistency"])
    assert torch.allclose(out["loss"], expected)
    assert all(torch.isfinite(v) for v in out.values())


def test_d_pixel_terms_score_the_real_images_and_this_steps_fakes():
    obj = _objective()
    batch = _batch()
    out = obj.d_step(batch)
    fake = obj._fakes[0][0].detach()
    with torch.no_grad():
        real_pixels = obj.D.decode(obj.D.encode(batch["images"]))
        fake_pixels = obj.D.decode(obj.D.encode(fake))
    assert torch.allclose(out["d_pixel_real"], hinge_d_real(real_pixels), atol=1e-6)
    assert torch.allclose(out["d_pixel_fake"], hinge_d_fake(fake_pixels), atol=1e-6)
    assert "d_cutmix_consistency" not in out  # CutMix is off by default


def test_images_pass_through_the_encoder_once_per_use():
    obj = _objective(cutmix=True)
    with encoder_levels(obj.D) as passes:
        obj.d_step(_batch())
        assert len(passes) == 3  # real, fake, and the CutMix mix
        obj.g_step(_batch())
        assert len(passes) == 4  # the G step's fakes
    assert not obj.D.conv_img._forward_hooks  # the hooks are gone


def test_g_step_adds_the_pixel_term_and_trains_g_only():
    obj = _objective(pixel_weight=0.5)
    obj.d_step(_batch())
    obj.zero_grad(set_to_none=True)
    out = obj.g_step(_batch())
    assert set(out) == {"loss", "g_adversarial", "g_pixel"}
    assert torch.allclose(out["loss"], out["g_adversarial"] + 0.5 * out["g_pixel"])
    out["loss"].backward()
    assert all(p.grad is None for p in obj.D.parameters()) and all(p.requires_grad for p in obj.D.parameters())
    assert obj.G.fc.weight.grad is not None and torch.isfinite(obj.G.fc.weight.grad).all()
    obj.end_step()
    obj.zero_grad(set_to_none=True)
    obj.g_step(_batch())["g_pixel"].backward()  # the pixel term alone reaches G (no D step before: fresh fakes)
    assert obj.G.fc.weight.grad.abs().sum() > 0


# ---- mixed precision: a few loop steps of each variant under bf16 autocast --------------------------------
@pytest.mark.parametrize("system,options", VARIANTS, ids=["dfgan", "rdb-dfgan", "dfgan-unet", "rdb-unet"])
def test_a_few_bf16_steps_of_each_variant_have_finite_losses(tmp_path, system, options):
    model = {**TINY, **options} if system == "imagan" else {k: v for k, v in TINY.items() if k != "rdb_growth"}
    cfg = tiny_config(system=system, model=model, steps=3, log_every=1, mixed_precision="bf16", channels_last=True)
    result = train(cfg, system, tiny_data(), tmp_path)
    assert result.step == 3 and sum(result.skipped_steps.values()) == 0
    records = [json.loads(line) for line in (result.run_dir / "metrics.jsonl").read_text().splitlines()]
    losses = [v for r in records for k, v in r.items() if k.endswith("/loss")]
    assert len(losses) == 6 and all(math.isfinite(v) for v in losses)


# ---- the command line: train, then generate from the run's pipeline ---------------------------------------------
def test_train_two_steps_through_the_cli_then_generate(tmp_path):
    runs = tmp_path / "runs"
    args = ["train", "imagan", "--data", "synthetic", "--out", str(runs), "model.nf=4", "model.image_size=16",
            "model.sentence_dim=8", "model.z_dim=8", "model.rdb_growth=4", "model.cutmix=true", "data.synthetic.num_scenes=4",
            "data.sentence_whitening=8", "batch_size=4", "steps=2", "sample_every=1", "checkpoint_every=1",
            "tensorboard=false", "progress=false", "num_samples=4"]
    assert main(args) == 0
    run = next(runs.iterdir())
    pipeline = run / "pipeline"
    assert json.loads((pipeline / "pipeline.json").read_text())["system"] == "imagan"
    assert json.loads((pipeline / "generator" / "config.json").read_text())["model_type"] == "imagan_rdb_generator"
    assert (run / "checkpoint-2").is_dir()
    out = tmp_path / "g.png"
    assert main(["generate", "--model", str(pipeline), "a red circle", "-n", "2", "--out", str(out)]) == 0
    assert out.exists()
