import pytest
import torch
import torch.nn.functional as F

import wordsight.training.objectives.gan_int_cls as gic
from wordsight.config import ConfigError
from wordsight.hub import save_pretrained
from wordsight.models.gan_int_cls import GANINTCLSGenerator
from wordsight.training import SYSTEMS, TrainConfig, build_objective
from wordsight.training.data import RandomCaptionData
from wordsight.training.loop import train

TINY = {"ngf": 4, "ndf": 4, "z_dim": 8, "sentence_dim": 6, "text_dim": 5, "image_size": 16}


def _batch(b=4):
    torch.manual_seed(1)
    return {"images": torch.rand(b, 3, 16, 16) * 2 - 1, "sentence": torch.randn(b, 6)}


def test_registered():
    assert SYSTEMS.get("gan-int-cls") is gic.GANINTCLSObjective
    assert SYSTEMS.get("gan-int-cls-style") is gic.StyleEncoderObjective


def test_three_d_terms_on_a_hand_made_batch():
    # logits chosen by hand: s_r = 2, s_w = -1, s_f = 0.5; Algorithm 1 with log sigmoid
    s_r, s_w, s_f = torch.tensor([2.0]), torch.tensor([-1.0]), torch.tensor([0.5])
    out = gic.gan_cls_discriminator_loss(s_r, s_w, s_f, cls_weight=0.5)
    sig = torch.sigmoid
    expected = -torch.log(sig(s_r)) - 0.5 * torch.log(1 - sig(s_w)) - 0.5 * torch.log(1 - sig(s_f))
    assert torch.allclose(out["loss"], expected.squeeze())
    assert torch.allclose(out["d_wrong"], -torch.log(1 - sig(s_w)).squeeze())


def test_one_sided_label_smoothing_targets_only_the_real_right_term():
    s_r, s_w, s_f = torch.tensor([2.0]), torch.tensor([-1.0]), torch.tensor([0.5])
    out = gic.gan_cls_discriminator_loss(s_r, s_w, s_f, cls_weight=0.5, real_label=0.9)
    sig = torch.sigmoid
    real = -(0.9 * torch.log(sig(s_r)) + 0.1 * torch.log(1 - sig(s_r)))  # BCE against the target 0.9
    expected = real - 0.5 * torch.log(1 - sig(s_w)) - 0.5 * torch.log(1 - sig(s_f))
    assert torch.allclose(out["loss"], expected.squeeze())
    assert torch.allclose(out["d_fake"], -torch.log(1 - sig(s_f)).squeeze())  # fake targets stay 0
    obj = build_objective("gan-int-cls", {**TINY, "real_label": 0.9})
    assert obj.cfg.real_label == 0.9
    with pytest.raises(ConfigError, match="real_label"):
        build_objective("gan-int-cls", {**TINY, "real_label": 0.4})


def test_d_step_scores_real_right_real_wrong_and_fake():
    torch.manual_seed(0)
    obj = build_objective("gan-int-cls", TINY)
    batch = _batch()
    seen = []
    orig = obj.D.logits
    obj.D.logits = lambda f, s: (seen.append(s.detach().clone()), orig(f, s))[1]
    out = obj.d_step(batch)
    right, wrong, fake = seen
    assert torch.equal(right, batch["sentence"])
    assert torch.equal(wrong, torch.roll(batch["sentence"], -1, 0))  # each image with its neighbour's text
    assert torch.equal(fake, batch["sentence"])
    assert torch.allclose(out["loss"], out["d_real"] + 0.5 * out["d_wrong"] + 0.5 * out["d_fake"])


def test_instance_noise_reaches_every_image_d_sees():
    batch = _batch()
    seen = []
    for noise in (0.0, 0.5):
        torch.manual_seed(0)
        obj = build_objective("gan-int-cls", {**TINY, "instance_noise": noise})
        orig = obj.D.features
        obj.D.features = lambda x, orig=orig: (seen.append(x.detach().clone()), orig(x))[1]
        obj.d_step(batch)
        obj.g_step(batch)
    clean, noisy = seen[:3], seen[3:]  # real (D step), fake (D step), fake + interpolated (G step)
    assert torch.equal(clean[0], batch["images"])
    # the noise draws shift the RNG, so the fakes differ a little too; at std 0.5 the noise dominates
    for a, b in zip(clean, noisy):
        assert 0.4 < (b - a).std() < 0.6
    with pytest.raises(ConfigError, match="instance_noise"):
        build_objective("gan-int-cls", {**TINY, "instance_noise": -1})


def test_matching_aware_gradient_penalty_is_added_to_the_d_loss():
    batch = _batch()
    torch.manual_seed(0)
    obj = build_objective("gan-int-cls", {**TINY, "ma_gp_weight": 2.0, "ma_gp_p": 6.0})
    out = obj.d_step(batch)
    assert torch.allclose(out["loss"], out["d_real"] + 0.5 * out["d_wrong"] + 0.5 * out["d_fake"] + out["d_ma_gp"])
    # by hand: k * mean over samples of ||d D(x, e) / d(x, e)||^p on the real pairs (DF-GAN eq. 3)
    x = batch["images"].clone().requires_grad_(True)
    e = batch["sentence"].clone().requires_grad_(True)
    gx, ge = torch.autograd.grad(obj.D(x, e).sum(), (x, e))
    norms = torch.cat((gx.flatten(1), ge.flatten(1)), dim=1).norm(dim=1)
    assert out["d_ma_gp"] > 0
    assert torch.allclose(out["d_ma_gp"], 2.0 * (norms**6).mean(), rtol=1e-4)
    out["loss"].backward()  # the penalty is differentiable (create_graph) and trains D
    assert all(p.grad is not None for p in obj.D.parameters())
    assert "d_ma_gp" not in build_objective("gan-int-cls", TINY).d_step(batch)  # off by default (the paper)
    with pytest.raises(ConfigError, match="ma_gp"):
        build_objective("gan-int-cls", {**TINY, "ma_gp_weight": -1.0})


def test_interpolated_batch_enters_the_g_loss():
    torch.manual_seed(0)
    obj = build_objective("gan-int-cls", TINY)
    batch = _batch()
    obj.d_step(batch)
    fakes, texts = obj._fakes[0]
    assert fakes.shape[0] == 6  # 4 right + ceil(4 / 2) interpolated
    mid = 0.5 * batch["sentence"][:2] + 0.5 * torch.roll(batch["sentence"], -1, 0)[:2]
    assert torch.allclose(texts[4:], mid)
    out = obj.g_step(batch)
    assert torch.allclose(out["loss"], out["g_adversarial"] + out["g_interp"])
    with torch.no_grad():
        logits = obj.D(fakes, texts)
    assert torch.allclose(out["g_interp"], F.softplus(-logits[4:]).mean(), atol=1e-6)
    out["loss"].backward()
    assert all(p.grad is None for p in obj.D.parameters())  # G's loss does not train D
    assert any(p.grad is not None and p.grad.abs().sum() > 0 for p in obj.G.parameters())
    plain = build_objective("gan-int-cls", {**TINY, "interp_weight": 0.0})
    plain.d_step(batch)
    assert plain._fakes[0][0].shape[0] == 4 and set(plain.g_step(batch)) == {"loss"}


def test_hard_negatives_average_the_wrong_text_terms():
    torch.manual_seed(0)
    obj = build_objective("gan-int-cls", TINY)
    batch = {**_batch(), "mismatch_sentence": torch.randn(4, 6)}
    out = obj.d_step(batch)
    assert "d_hard_wrong" in out
    assert torch.allclose(out["loss"], out["d_real"] + 0.5 * out["d_wrong"] + 0.5 * out["d_fake"], atol=1e-6)


def _tiny_cfg(system, model, steps, **kw):
    return TrainConfig(system=system, model=model, steps=steps, batch_size=8, log_every=5, sample_every=1000,
                       checkpoint_every=1000, num_samples=4, tensorboard=False, progress=False, mixed_precision="no",
                       ema_decay=0.0, **kw)


def test_style_encoder_inverts_a_fixed_generator_better_than_chance(tmp_path):
    torch.manual_seed(0)
    G = GANINTCLSGenerator(ngf=8, z_dim=8, sentence_dim=6, image_size=16).eval()
    for m in G.modules():  # DCGAN's N(0, 0.02) init makes near-constant images; a trained G is not like that
        if isinstance(m, (torch.nn.Conv2d, torch.nn.ConvTranspose2d)):
            torch.nn.init.kaiming_normal_(m.weight)
    save_pretrained(G, tmp_path / "gen" / "generator")  # a pipeline-like folder
    data = RandomCaptionData(num_samples=64, image_size=16, sentence_dim=6, seed=0)
    cfg = _tiny_cfg("gan-int-cls-style", {"generator": str(tmp_path / "gen"), "nf": 8}, steps=150,
                    optimizers={"s": {"lr": 1e-3}})
    result = train(cfg, data=data, run_dir=tmp_path / "runs")
    S = result.ema.eval()
    gen = torch.Generator().manual_seed(123)  # held-out noise
    z = torch.randn(256, 8, generator=gen)
    with torch.no_grad():
        err = (S(G(z, torch.randn(256, 6, generator=gen))) - z).pow(2).sum(1).mean()
    chance = z.pow(2).sum(1).mean()  # predicting 0, the best constant guess
    assert err < 0.6 * chance, (float(err), float(chance))
    assert result.objective.base_pipeline == tmp_path / "gen"
    assert set(result.objective.pipeline_parts(S)) == {"style_encoder"}


def test_a_few_training_steps_and_exact_resume(tmp_path):
    data = RandomCaptionData(num_samples=32, image_size=16, sentence_dim=6, seed=0)
    full = train(_tiny_cfg("gan-int-cls", TINY, 4, deterministic=True), data=data, run_dir=tmp_path / "a")
    train(_tiny_cfg("gan-int-cls", TINY, 2, deterministic=True), data=data, run_dir=tmp_path / "b")
    resumed = train(_tiny_cfg("gan-int-cls", TINY, 4, deterministic=True), data=data, run_dir=tmp_path / "b", resume="latest")
    assert resumed.step == 4
    for k, v in full.objective.G.state_dict().items():
        assert torch.equal(v, resumed.objective.G.state_dict()[k]), k
