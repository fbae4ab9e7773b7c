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
