import pytest
import torch

from wordsight.training import SYSTEMS, DFGANObjective, build_objective
from wordsight.utils.checks import InputError


def _objective():
    torch.manual_seed(0)
    return build_objective("dfgan", {"nf": 4, "image_size": 16, "sentence_dim": 8, "z_dim": 8})


def _batch(b=4):
    return {"images": torch.rand(b, 3, 16, 16) * 2 - 1, "sentence": torch.randn(b, 8)}


def test_dfgan_is_registered():
    assert SYSTEMS.get("dfgan") is DFGANObjective


def test_d_gamma_init_reaches_every_discriminator_block():
    official = build_objective("dfgan", {"nf": 4, "image_size": 16, "sentence_dim": 8, "z_dim": 8})
    opened = build_objective("dfgan", {"nf": 4, "image_size": 16, "sentence_dim": 8, "z_dim": 8, "d_gamma_init": 1.0})
    assert [float(b.gamma) for b in official.D.blocks] == [0.0] * len(official.D.blocks)
    assert [float(b.gamma) for b in opened.D.blocks] == [1.0] * len(opened.D.blocks)


def test_d_loss_combines_real_fake_mismatched_and_ma_gp():
    out = _objective().d_step(_batch())
    assert set(out) == {"loss", "d_real", "d_fake", "d_mismatch", "ma_gp"}
    expected = out["d_real"] + (out["d_fake"] + out["d_mismatch"]) / 2 + out["ma_gp"]
    assert torch.allclose(out["loss"], expected)
    assert out["ma_gp"] > 0


def test_real_images_pass_through_d_once_per_d_step_and_g_reuses_the_fakes():
    obj = _objective()
    calls = {"D.features": 0, "G": 0}
    obj.D.conv_img.register_forward_hook(lambda *a: calls.__setitem__("D.features", calls["D.features"] + 1))
    obj.G.fc.register_forward_hook(lambda *a: calls.__setitem__("G", calls["G"] + 1))
    obj.d_step(_batch())
    assert calls == {"D.features": 2, "G": 1}  # real once, fake once
    obj.g_step(_batch())
    assert calls == {"D.features": 3, "G": 1}  # the G step reuses the D step's fakes


def test_g_step_trains_g_only():
    obj = _objective()
    obj.d_step(_batch())
    obj.zero_grad(set_to_none=True)
    obj.g_step(_batch())["loss"].backward()
    assert all(p.grad is None for p in obj.D.parameters())
    assert all(p.requires_grad for p in obj.D.parameters())  # unfrozen afterwards
    assert obj.G.fc.weight.grad is not None


def test_d_step_runs_under_channels_last_and_bf16_autocast():
    obj = _objective().to(memory_format=torch.channels_last)
    batch = _batch()
    batch["images"] = batch["images"].contiguous(memory_format=torch.channels_last)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        out = obj.d_step(batch)
    out["loss"].backward()
    assert torch.isfinite(out["loss"]) and torch.isfinite(obj.D.conv_img.weight.grad).all()


def test_bad_batches_name_the_problem():
    with pytest.raises(InputError, match="'images' and 'sentence'"):
        _objective().d_step({"images": torch.zeros(2, 3, 16, 16)})
    with pytest.raises(InputError, match="batch\\['sentence'\\]"):
        _objective().d_step({"images": torch.zeros(2, 3, 16, 16), "sentence": torch.zeros(2, 5)})


def test_hard_negatives_join_the_mismatch_term():
    obj, batch = _objective(), _batch()
    base = obj.d_step(batch)
    torch.manual_seed(1)
    out = obj.d_step({**batch, "mismatch_sentence": torch.randn(4, 8)})
    assert set(out) == set(base) | {"d_hard_mismatch"}
    # half in-batch mismatch, half hard negatives; the in-batch half is the term without hard negatives
    assert torch.allclose(out["d_mismatch"], (base["d_mismatch"] + out["d_hard_mismatch"]) / 2)
    assert torch.allclose(out["loss"], out["d_real"] + (out["d_fake"] + out["d_mismatch"]) / 2 + out["ma_gp"])
    feats = obj.D.features(batch["images"])
    # the hard term scores the real images against the given sentences
    hard = torch.relu(1 + obj.D.logits(feats, torch.randn(4, 8, generator=torch.Generator().manual_seed(5)))).mean()
    again = obj.d_step({**batch, "mismatch_sentence": torch.randn(4, 8, generator=torch.Generator().manual_seed(5))})
    assert torch.allclose(again["d_hard_mismatch"], hard, atol=1e-6)
    with pytest.raises(InputError, match="mismatch_sentence"):
        obj.d_step({**batch, "mismatch_sentence": torch.randn(4, 7)})


# ---- the DAMSM sentence loss on G (model.damsm_sentence_weight) -----------------------------------

def _damsm_folder(tmp_path, embed_dim=8):
    from wordsight.hub import save_pretrained
    from wordsight.models.damsm import SmallDAMSMImageEncoder

    torch.manual_seed(1)
    save_pretrained(SmallDAMSMImageEncoder(image_size=16, channels=(4, 8), embed_dim=embed_dim), tmp_path / "image_encoder")
    return tmp_path


def _damsm_objective(folder, weight=2.0):
    torch.manual_seed(0)
    return build_objective("dfgan", {"nf": 4, "image_size": 16, "sentence_dim": 8, "z_dim": 8,
                                     "damsm_sentence_weight": weight, "damsm_path": str(folder)})


def _hand_sentence_loss(image_global, sentence, labels, gamma3=10.0):
    """AttnGAN sent_loss worked by hand: cosine scores * gamma3, same-class pairs masked, CE both ways."""
    b = image_global.shape[0]
    total = 0.0
    for scores in (
        [[float(torch.nn.functional.cosine_similarity(image_global[j], sentence[i], dim=0)) for i in range(b)] for j in range(b)],
        [[float(torch.nn.functional.cosine_similarity(image_global[i], sentence[j], dim=0)) for i in range(b)] for j in range(b)],
    ):
        for row in range(b):
            logits = [gamma3 * s for col, s in enumerate(scores[row]) if col == row or labels[col] != labels[row]]
            own = gamma3 * scores[row][row]
            total += (-own + float(torch.logsumexp(torch.tensor(logits, dtype=torch.float64), 0))) / b
    return total


def test_damsm_sentence_loss_joins_the_g_loss_with_same_class_captions_left_out(tmp_path):
    obj = _damsm_objective(_damsm_folder(tmp_path), weight=2.0)
    batch = {**_batch(), "label": torch.tensor([3, 5, 3, 7])}  # samples 0 and 2 share a class
    obj.d_step(batch)
    fake, sentence = obj._fakes[0]
    out = obj.g_step(batch)
    assert set(out) == {"loss", "g_adversarial", "g_damsm_sentence"}
    with torch.no_grad():
        _, image_global = obj.damsm_image_encoder(fake)
    expected = _hand_sentence_loss(image_global, sentence, batch["label"].tolist())
    assert float(out["g_damsm_sentence"]) == pytest.approx(expected, rel=1e-5)
    assert torch.allclose(out["loss"], out["g_adversarial"] + 2.0 * out["g_damsm_sentence"])
    unmasked = _hand_sentence_loss(image_global, sentence, [0, 1, 2, 3])
    assert abs(unmasked - expected) > 1e-4  # the mask changed the figure


def test_damsm_loss_trains_g_and_leaves_the_encoder_and_checkpoints_alone(tmp_path):
    obj = _damsm_objective(_damsm_folder(tmp_path))
    assert "damsm_image_encoder" not in obj.networks() and set(obj.networks()) == {"generator", "discriminator"}
    assert not any(p.requires_grad for p in obj.damsm_image_encoder.parameters())
    assert not any(p is q for p in obj.damsm_image_encoder.parameters() for q in sum(obj.optimizer_params().values(), []))
    obj.train()
    assert not obj.damsm_image_encoder.training
    obj.d_step(_batch())
    obj.zero_grad(set_to_none=True)
    out = obj.g_step(_batch())
    out["g_damsm_sentence"].backward()  # the DAMSM term alone reaches G's first layer
    assert obj.G.fc.weight.grad is not None and obj.G.fc.weight.grad.abs().sum() > 0
    assert all(p.grad is None for p in obj.damsm_image_encoder.parameters())


def test_damsm_loss_config_errors_name_the_fix(tmp_path):
    from wordsight.config import ConfigError

    base = {"nf": 4, "image_size": 16, "sentence_dim": 8, "z_dim": 8}
    with pytest.raises(ConfigError, match="damsm_path"):
        build_objective("dfgan", {**base, "damsm_sentence_weight": 1.0})
    with pytest.raises(ConfigError, match=">= 0"):
        build_objective("dfgan", {**base, "damsm_sentence_weight": -1.0, "damsm_path": str(tmp_path)})
    with pytest.raises(ConfigError, match="no DAMSM image encoder"):
        build_objective("dfgan", {**base, "damsm_sentence_weight": 1.0, "damsm_path": str(tmp_path / "missing")})
    with pytest.raises(ConfigError, match="embeds into 16 dimensions"):
        build_objective("dfgan", {**base, "damsm_sentence_weight": 1.0, "damsm_path": str(_damsm_folder(tmp_path, embed_dim=16))})


# ---- the two-way DAMSM hard-negative term on G (model.damsm_hard_negative_weight) -----------------

def test_damsm_hard_negative_term_matches_a_two_way_softmax_worked_by_hand(tmp_path):
    torch.manual_seed(0)
    obj = build_objective("dfgan", {"nf": 4, "image_size": 16, "sentence_dim": 8, "z_dim": 8, "damsm_sentence_weight": 2.0,
                                    "damsm_hard_negative_weight": 3.0, "damsm_path": str(_damsm_folder(tmp_path))})
    batch = {**_batch(), "mismatch_sentence": torch.randn(4, 8)}
    obj.d_step(batch)
    fake, sentence = obj._fakes[0]
    out = obj.g_step(batch)
    assert set(out) == {"loss", "g_adversarial", "g_damsm_sentence", "g_damsm_hard_negative"}
    with torch.no_grad():
        _, v = obj.damsm_image_encoder(fake)
    expected = 0.0
    for i in range(4):  # -log of the true caption's share of a softmax over {true, hard}, gamma3 = 10
        true = 10.0 * float(torch.nn.functional.cosine_similarity(v[i], sentence[i], dim=0))
        hard = 10.0 * float(torch.nn.functional.cosine_similarity(v[i], batch["mismatch_sentence"][i], dim=0))
        expected += -(true - float(torch.logsumexp(torch.tensor([true, hard], dtype=torch.float64), 0))) / 4
    assert float(out["g_damsm_hard_negative"]) == pytest.approx(expected, rel=1e-5)
    assert torch.allclose(out["loss"], out["g_adversarial"] + 2.0 * out["g_damsm_sentence"] + 3.0 * out["g_damsm_hard_negative"])
    obj.zero_grad(set_to_none=True)
    out["g_damsm_hard_negative"].backward()  # the term alone reaches G, not the frozen encoder
    assert obj.G.fc.weight.grad.abs().sum() > 0
    assert all(p.grad is None for p in obj.damsm_image_encoder.parameters())


def test_damsm_hard_negative_term_errors_name_the_fix(tmp_path):
    from wordsight.config import ConfigError

    base = {"nf": 4, "image_size": 16, "sentence_dim": 8, "z_dim": 8}
    with pytest.raises(ConfigError, match="needs model.damsm_sentence_weight"):
        build_objective("dfgan", {**base, "damsm_hard_negative_weight": 1.0})
    with pytest.raises(ConfigError, match=">= 0"):
        build_objective("dfgan", {**base, "damsm_hard_negative_weight": -1.0})
    obj = build_objective("dfgan", {**base, "damsm_sentence_weight": 1.0, "damsm_hard_negative_weight": 1.0,
                                    "damsm_path": str(_damsm_folder(tmp_path))})
    obj.d_step(_batch())
    with pytest.raises(ConfigError, match="data.hard_negatives"):
        obj.g_step(_batch())  # no mismatch_sentence in the batch


def _lazy(every):
    torch.manual_seed(0)
    return build_objective("dfgan", {"nf": 4, "image_size": 16, "sentence_dim": 8, "z_dim": 8, "ma_gp_every": every})


def test_lazy_ma_gp_runs_on_every_kth_step_with_weight_k():
    from wordsight.losses.adversarial import ma_gp

    batch = _batch()
    exact, lazy = _objective(), _lazy(3)
    applied = []
    for step in range(7):
        # the penalty the exact recipe applies at the same weights, recomputed by hand
        images = batch["images"].detach().requires_grad_(True)
        sentence = batch["sentence"].detach().requires_grad_(True)
        reference = ma_gp(lazy.D(images, sentence), (images, sentence), k=2.0, p=6.0)
        out = lazy.d_step(batch)
        applied.append(float(out["ma_gp"]) > 0)
        expected = 3 * reference if step % 3 == 0 else torch.zeros(())
        assert torch.allclose(out["ma_gp"], expected, rtol=1e-5, atol=1e-12), step
        assert torch.allclose(out["loss"], out["d_real"] + (out["d_fake"] + out["d_mismatch"]) / 2 + out["ma_gp"])
        lazy.end_step()
    assert applied == [True, False, False, True, False, False, True]
    assert exact.cfg.ma_gp_every == 1 and exact.ma_gp_due()


def test_lazy_ma_gp_steps_without_the_penalty_skip_the_double_backward():
    obj = _lazy(2)
    seen = []
    obj.D.conv_img.register_forward_pre_hook(lambda m, args: seen.append(args[0].requires_grad))
    obj.d_step(_batch())  # step 0: the penalty, through the real images' gradient
    obj.end_step()
    out = obj.d_step(_batch())  # step 1: no penalty, so the real images need no gradient
    assert seen == [True, False, False, False]  # (real, fake) per step; fakes are detached
    assert float(out["ma_gp"]) == 0.0 and out["loss"].requires_grad
    out["loss"].backward()
    assert all(p.grad is not None for p in obj.D.conv_img.parameters())


def test_default_d_step_is_unchanged_by_the_speed_options_being_off():
    from wordsight.losses.adversarial import hinge_d_fake, hinge_d_real, ma_gp, mismatched

    obj = _objective()
    assert (obj.cfg.ma_gp_every, obj.cfg.fused_affine, obj.cfg.compile) == (1, False, False)
    assert obj.G.fused_affine is False
    batch = _batch()
    for _ in range(3):  # every step carries the full MA-GP, weight 1
        torch.manual_seed(5)
        out = obj.d_step(batch)
        images = batch["images"].detach().requires_grad_(True)
        sentence = batch["sentence"].detach().requires_grad_(True)
        feats = obj.D.features(images)
        logits = obj.D.logits(feats, sentence)
        torch.manual_seed(5)
        fake = obj.G(torch.randn(4, 8), sentence.detach())
        expected = (hinge_d_real(logits) + (hinge_d_fake(obj.D(fake.detach(), sentence.detach()))
                    + hinge_d_fake(obj.D.logits(mismatched(feats), sentence))) / 2 + ma_gp(logits, (images, sentence)))
        assert torch.allclose(out["loss"], expected, rtol=1e-6)
        obj.end_step()


def test_speed_option_errors_name_the_key():
    from wordsight.config import ConfigError

    with pytest.raises(ConfigError, match="ma_gp_every"):
        build_objective("dfgan", {"nf": 4, "image_size": 16, "sentence_dim": 8, "z_dim": 8, "ma_gp_every": 0})


def test_fused_affine_option_reaches_the_generator():
    obj = build_objective("dfgan", {"nf": 4, "image_size": 16, "sentence_dim": 8, "z_dim": 8, "fused_affine": True})
    assert obj.G.fused_affine is True
    obj.d_step(_batch())
    obj.g_step(_batch())["loss"].backward()
    assert obj.G.blocks[0].fuse1.affine0.fc_gamma[0].weight.grad is not None
