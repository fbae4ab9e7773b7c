import pytest
import torch

import wordsight.training.objectives.stackgan_pp as sgpp
from wordsight.config import ConfigError
from wordsight.losses.multiscale import colour_consistency, joint_g_loss
from wordsight.training import SYSTEMS, TrainConfig, build_objective
from wordsight.training.data import RandomCaptionData
from wordsight.training.loop import train
from wordsight.training.sources import model_image_size

TINY = {"gf_dim": 4, "df_dim": 2, "z_dim": 8, "sentence_dim": 6, "c_dim": 5, "base_size": 16, "branch_num": 2}


def _batch(b=4, size=32):
    torch.manual_seed(1)
    return {"images": torch.rand(b, 3, size, size) * 2 - 1, "sentence": torch.randn(b, 6)}


def test_registered_and_image_size_is_the_last_branch():
    assert SYSTEMS.get("stackgan-pp") is sgpp.StackGANPPObjective
    assert sgpp.StackGANPPConfig(**TINY).image_size == 32
    assert model_image_size(TrainConfig(system="stackgan-pp", model={**TINY, "branch_num": 3})) == 64
    with pytest.raises(ConfigError, match="leave image_size out"):
        sgpp.StackGANPPConfig(**TINY, image_size=64)
    with pytest.raises(ConfigError, match="colour_weight"):
        sgpp.StackGANPPConfig(**TINY, colour_weight=-1)


def test_every_d_sees_its_own_scale_and_the_joint_terms_add_up():
    torch.manual_seed(0)
    obj = build_objective("stackgan-pp", TINY)
    batch = _batch()
    sizes = []
    for D in obj.Ds:
        orig = D.features
        D.features = lambda x, orig=orig: (sizes.append(x.shape[-1]), orig(x))[1]
    out = obj.d_step(batch)
    assert sizes == [16, 16, 32, 32]  # D0: real then fake at 16 px; D1: at 32 px
    assert torch.allclose(out["loss"], out["d0"] + out["d1"])
    # without the unconditional head (uncond_weight 0), train_Dnet falls back to real + (wrong + fake) / 2
    obj.cfg.uncond_weight = 0.0
    plain = obj.d_step(batch)
    for i in range(2):
        assert torch.allclose(plain[f"d{i}"], plain[f"d_real{i}"] + 0.5 * (plain[f"d_wrong{i}"] + plain[f"d_fake{i}"]))


def test_wrong_pairs_use_the_neighbours_ca_mean(monkeypatch):
    torch.manual_seed(0)
    obj = build_objective("stackgan-pp", TINY)
    seen = []
    D = obj.Ds[0]
    orig = D.logits
    D.logits = lambda f, c: (seen.append(c.clone()), orig(f, c))[1]
    obj.d_step(_batch())
    _, mu, _ = obj._fakes[0]
    right, wrong, fake = seen
    assert torch.equal(right, mu.detach()) and torch.equal(fake, mu.detach())
    assert torch.equal(wrong, torch.roll(mu.detach(), -1, 0))


def test_g_loss_sums_the_scales_adds_kl_and_colour():
    batch = _batch()
    torch.manual_seed(0)
    obj = build_objective("stackgan-pp", {**TINY, "colour_weight": 50.0})
    obj.d_step(batch)
    fakes, mu, logvar = obj._fakes[0]
    out = obj.g_step(batch)
    with torch.no_grad():
        adv = sum(joint_g_loss(D(f, mu.detach()), 1.0) for D, f in zip(obj.Ds, fakes))
        colour = colour_consistency(fakes[1], fakes[0], 1.0, 5.0)
    assert torch.allclose(out["g_adversarial"], adv, atol=1e-6)
    assert torch.allclose(out["colour"], colour, atol=1e-6)
    assert torch.allclose(out["loss"], adv + 2.0 * out["kl"] + 50.0 * colour, atol=1e-5)
    # the colour term pulls the larger image towards the smaller one, not the other way round
    torch.manual_seed(0)
    obj = build_objective("stackgan-pp", {**TINY, "colour_weight": 50.0, "kl_weight": 0.0, "uncond_weight": 0.0})
    fakes, _, _ = obj._generate(batch["sentence"])
    colour_consistency(fakes[1], fakes[0].detach()).backward()
    assert obj.G.to_rgb[1][0].weight.grad.abs().sum() > 0 and obj.G.to_rgb[0][0].weight.grad is None


def test_hard_negatives_give_the_wrong_condition():
    torch.manual_seed(0)
    obj = build_objective("stackgan-pp", TINY)
    batch = {**_batch(), "mismatch_sentence": torch.randn(4, 6)}
    seen = []
    D = obj.Ds[0]
    orig = D.logits
    D.logits = lambda f, c: (seen.append(c.clone()), orig(f, c))[1]
    obj.d_step(batch)
    with torch.no_grad():
        assert torch.allclose(seen[1], obj.G.ca.encode(batch["mismatch_sentence"])[0])


def _tiny_cfg(steps, **kw):
    return TrainConfig(system="stackgan-pp", model=dict(TINY), steps=steps, batch_size=8, log_every=5, sample_every=1000,
                       checkpoint_every=1000, num_samples=4, tensorboard=False, progress=False, mixed_precision="no",
                       ema_decay=0.0, **kw)


def test_a_few_training_steps_and_exact_resume(tmp_path):
    data = RandomCaptionData(num_samples=32, image_size=32, sentence_dim=6, seed=0)
    full = train(_tiny_cfg(4, deterministic=True), data=data, run_dir=tmp_path / "a")
    train(_tiny_cfg(2, deterministic=True), data=data, run_dir=tmp_path / "b")
    resumed = train(_tiny_cfg(4, deterministic=True), data=data, run_dir=tmp_path / "b", resume="latest")
    assert resumed.step == 4
    for net in ("G", "Ds"):
        a, b = getattr(full.objective, net).state_dict(), getattr(resumed.objective, net).state_dict()
        for k, v in a.items():
            assert torch.equal(v, b[k]), (net, k)
