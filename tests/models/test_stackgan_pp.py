import pytest
import torch

from wordsight.hub import from_pretrained, save_pretrained
from wordsight.models.stackgan_pp import StackGANPPDiscriminator, StackGANPPGenerator, downscaled
from wordsight.utils.checks import InputError

KW = dict(gf_dim=4, z_dim=8, sentence_dim=6, c_dim=5, base_size=16, branch_num=3)


def _kaiming(module):
    for m in module.modules():  # the official N(0, 0.02) init gives near-constant images; a trained G is not like that
        if isinstance(m, torch.nn.Conv2d):
            torch.nn.init.kaiming_normal_(m.weight)
    return module


def test_every_branch_doubles_the_size_and_halves_the_width():
    g = StackGANPPGenerator(**KW).eval()
    out = g(g.sample_noise(2), torch.randn(2, 6))
    assert [x.shape for x in out] == [(2, 3, 16, 16), (2, 3, 32, 32), (2, 3, 64, 64)]
    assert g.image_sizes == [16, 32, 64] and g.fc[0].out_features == 16 * 4 * 16 * 2  # 16 gf at 4x4, doubled for the GLU
    assert [b.up[1].out_channels // 2 for b in g.branches] == [8, 4]  # 16 gf >> 2 = 16 at 16 px, then 8, then 4


def test_later_branches_take_the_previous_hidden_features_not_the_image():
    torch.manual_seed(0)
    g = _kaiming(StackGANPPGenerator(**KW)).eval()
    z, s = g.sample_noise(2), torch.randn(2, 6)
    seen = []
    g.branches[0].register_forward_hook(lambda m, i, o: seen.append((i[0].shape, o.clone())))
    out = g(z, s)
    assert seen[0][0] == (2, 16, 16, 16)  # the first branch's 16-channel features, not its 3-channel image
    before = [x.clone() for x in out]
    with torch.no_grad():  # changing only the first branch's to_rgb changes only the first image
        g.to_rgb[0][0].weight.mul_(-1)
    after = g(z, s)
    assert not torch.equal(before[0], after[0]) and torch.equal(before[1], after[1]) and torch.equal(before[2], after[2])
    with torch.no_grad():  # changing the shared trunk changes every branch
        g.init_up[0][1].weight.mul_(0.5)
    again = g(z, s)
    assert all(not torch.equal(a, b) for a, b in zip(after, again))


@pytest.mark.parametrize("size", [16, 32, 64])
def test_discriminator_has_conditional_and_unconditional_logits(size):
    d = StackGANPPDiscriminator(ndf=2, c_dim=5, image_size=size)
    x, c = torch.randn(3, 3, size, size), torch.randn(3, 5)
    cond, uncond = d(x, c)
    assert cond.shape == uncond.shape == (3,)
    assert d.features(x).shape == (3, 16, 4, 4)
    # the unconditional head ignores the condition
    assert torch.equal(d(x, torch.randn(3, 5))[1], uncond)


def test_downscaled_real_images_are_box_filtered():
    x = torch.arange(16.0).view(1, 1, 4, 4).expand(1, 3, 4, 4)
    small = downscaled(x, 2)
    assert torch.allclose(small[0, 0], torch.tensor([[2.5, 4.5], [10.5, 12.5]]))
    assert downscaled(x, 4) is x


def test_save_load_round_trip(tmp_path):
    torch.manual_seed(0)
    g, d = StackGANPPGenerator(**KW).eval(), StackGANPPDiscriminator(ndf=2, c_dim=5, image_size=32).eval()
    save_pretrained(g, tmp_path / "g")
    save_pretrained(d, tmp_path / "d")
    g2, d2 = from_pretrained(tmp_path / "g").eval(), from_pretrained(tmp_path / "d").eval()
    z, s = torch.randn(2, 8), torch.randn(2, 6)
    for a, b in zip(g(z, s), g2(z, s)):
        assert torch.equal(a, b)
    x, c = torch.randn(2, 3, 32, 32), torch.randn(2, 5)
    assert all(torch.equal(a, b) for a, b in zip(d(x, c), d2(x, c)))


def test_bad_settings_are_clear_errors():
    with pytest.raises(InputError, match="base_size"):
        StackGANPPGenerator(**{**KW, "base_size": 24})
    with pytest.raises(InputError, match="branch_num"):
        StackGANPPGenerator(**{**KW, "branch_num": 0})
    with pytest.raises(InputError, match="too small"):
        StackGANPPGenerator(**{**KW, "gf_dim": 1, "branch_num": 5})
