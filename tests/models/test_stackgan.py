import pytest
import torch

from wordsight.hub import from_pretrained, save_pretrained
from wordsight.models.stackgan import StackGANDiscriminator, StackGANGenerator
from wordsight.utils.checks import InputError

KW = dict(ngf=4, z_dim=8, sentence_dim=6, c_dim=5, stage1_size=16)


def test_stage1_shapes_and_widths():
    g = StackGANGenerator(**KW).eval()
    out = g(g.sample_noise(3), torch.randn(3, 6))
    assert isinstance(out, list) and len(out) == 1 and out[0].shape == (3, 3, 16, 16)
    assert out[0].abs().max() <= 1
    assert g.stage1.fc[0].out_features == 8 * 4 * 16  # 8 ngf channels at 4x4, as STAGE1_G's gf_dim * 4 * 4


@pytest.mark.parametrize("upscale", [2, 4])
def test_stage2_takes_the_stage1_image(upscale):
    torch.manual_seed(0)
    g = StackGANGenerator(**KW, stages=2, upscale=upscale).eval()
    for m in g.modules():  # the official N(0, 0.02) init gives near-constant images; a trained G is not like that
        if isinstance(m, torch.nn.Conv2d):
            torch.nn.init.kaiming_normal_(m.weight)
    z, s = g.sample_noise(2), torch.randn(2, 6)
    low, high = g(z, s)
    assert low.shape == (2, 3, 16, 16) and high.shape == (2, 3, 16 * upscale, 16 * upscale)
    seen = []
    g.stage2.encoder.register_forward_hook(lambda m, i, o: seen.append(i[0].clone()))
    g(z, s)
    assert torch.equal(seen[0], low)  # Stage-II encodes exactly the Stage-I image
    # and depends on it: another Stage-I image (same text, same CA code in eval) changes Stage-II's output
    other, _, _ = g.stage2(torch.zeros_like(low), s)
    assert not torch.allclose(other, high)


def test_stage1_is_frozen_and_stays_in_eval_mode_under_stage2():
    g = StackGANGenerator(**KW, stages=2, upscale=2)
    assert not g.stage1.training and g.stage2.training  # from construction on: a training loop may never call train()
    g.eval().train()
    assert not g.stage1.training and g.stage2.training
    assert all(not p.requires_grad for p in g.stage1.parameters())
    assert {id(p) for p in g.trained_parameters()} == {id(p) for p in g.stage2.parameters()}
    low, high = g(g.sample_noise(4), torch.randn(4, 6))
    high.mean().backward()
    assert all(p.grad is None for p in g.stage1.parameters())
    assert g.stage2.ca.fc.weight.grad is not None


def test_ca_samples_in_training_and_uses_the_mean_in_eval():
    g = StackGANGenerator(**KW)
    z, s = torch.randn(4, 8), torch.randn(4, 6)
    g.train()
    _, mu, logvar = g.forward_with_codes(z, s)
    assert mu.shape == logvar.shape == (4, 5)
    g.eval()
    assert torch.equal(g(z, s)[0], g(z, s)[0])


@pytest.mark.parametrize("size,ndf", [(16, 4), (64, 2), (128, 2)])
def test_discriminator_reaches_4x4_at_8_ndf(size, ndf):
    d = StackGANDiscriminator(ndf=ndf, c_dim=5, image_size=size)
    x = torch.randn(3, 3, size, size)
    f = d.features(x)
    assert f.shape == (3, 8 * ndf, 4, 4)  # 128 px: 16 ndf after five stride-2 steps, back to 8 ndf by a conv3x3
    assert d(x, torch.randn(3, 5)).shape == (3,)
    with pytest.raises(InputError, match="condition"):
        d(x, torch.randn(3, 4))


def test_save_load_round_trip(tmp_path):
    torch.manual_seed(0)
    g = StackGANGenerator(**KW, stages=2, upscale=2).eval()
    d = StackGANDiscriminator(ndf=4, c_dim=5, image_size=32).eval()
    save_pretrained(g, tmp_path / "g")
    save_pretrained(d, tmp_path / "d")
    g2, d2 = from_pretrained(tmp_path / "g").eval(), from_pretrained(tmp_path / "d").eval()
    z, s = torch.randn(2, 8), torch.randn(2, 6)
    for a, b in zip(g(z, s), g2(z, s)):
        assert torch.equal(a, b)
    x, c = torch.randn(2, 3, 32, 32), torch.randn(2, 5)
    assert torch.equal(d(x, c), d2(x, c))
    assert g2.stages == 2 and all(not p.requires_grad for p in g2.stage1.parameters())


def test_bad_sizes_are_clear_errors():
    with pytest.raises(InputError, match="stage1_size"):
        StackGANGenerator(**{**KW, "stage1_size": 24})
    with pytest.raises(InputError, match="upscale"):
        StackGANGenerator(**KW, stages=2, upscale=3)
    with pytest.raises(InputError, match="stages"):
        StackGANGenerator(**KW, stages=3)
    g = StackGANGenerator(**KW)
    with pytest.raises(InputError, match="sentence"):
        g(torch.randn(2, 8), torch.randn(2, 7))
