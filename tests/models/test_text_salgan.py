"""Text-aligned SalGAN (seed 000): every variant's shapes, where the text enters, and what it changes."""

import pytest
import torch
import torch.nn.functional as F

from wordsight.hub import from_pretrained, save_pretrained
from wordsight.models.salgan import tile_text
from wordsight.models.text_salgan import TextBranch, TextSalGANDiscriminator, TextSalGANGenerator, text_layers_for
from wordsight.utils import InputError

TEXT_DIM, W, T = 8, 1 / 16, 4
SIZE = (32, 48)


def _gen(variant="G1", arch="full"):
    torch.manual_seed(0)
    return TextSalGANGenerator(text_dim=TEXT_DIM, variant=variant, arch=arch, width=W, text_channels=T).eval()


def _disc(variant="D1", arch="full"):
    torch.manual_seed(0)
    return TextSalGANDiscriminator(text_dim=TEXT_DIM, variant=variant, arch=arch, input_size=SIZE, width=W, text_channels=T)


def _perturb_text_branches(g):
    """The encoder text branches start at zero (pretrained-preserving); give them weights for the test."""
    if g.arch == "full":
        for branch in g.encoder_text.values():
            torch.nn.init.normal_(branch.conv.weight, std=0.5)


@pytest.mark.parametrize("arch", ["full", "small"])
@pytest.mark.parametrize("variant", ["G1", "G2"])
def test_generator_shapes_and_text_effect(arch, variant):
    g = _gen(variant, arch)
    images = torch.randn(2, 3, *SIZE)
    a = g(images, torch.randn(2, TEXT_DIM))
    b = g(images, torch.randn(2, TEXT_DIM))
    assert a.shape == (2, 1, *SIZE) and a.min() > 0 and a.max() < 1
    assert not torch.allclose(a, b)


@pytest.mark.parametrize("arch", ["full", "small"])
def test_g1_reads_text_in_encoder_and_g2_does_not(arch):
    assert len(text_layers_for(arch, "G1")) == 4 and len(text_layers_for(arch, "G2")) == 2
    assert set(text_layers_for(arch, "G2")) < set(text_layers_for(arch, "G1"))
    g1, g2 = _gen("G1", arch), _gen("G2", arch)
    if arch == "full":
        assert set(g1.encoder_text) == {"conv5_2", "conv5_3"} and len(g2.encoder_text) == 0
        encoder_params = [p for b in g1.encoder_text.values() for p in b.parameters()]
    else:
        assert g1.body.conv2_2[0].in_channels == g2.body.conv2_2[0].in_channels + T
        encoder_params = list(g1.body.conv2_2.parameters())
    _perturb_text_branches(g1)
    text = torch.randn(2, TEXT_DIM, requires_grad=True)
    g1.train()(torch.randn(2, 3, *SIZE), text).mean().backward()
    assert all(p.grad is not None and p.grad.abs().sum() > 0 for p in encoder_params)
    assert text.grad.abs().sum() > 0


def test_text_branch_equals_convolution_over_concatenated_channels():
    """conv([x, tile(t)]) with weights [W | V] == conv_W(x) + conv_V(tile(t)): the branch is the concat."""
    torch.manual_seed(0)
    x, t = torch.randn(2, 5, 7, 9), torch.randn(2, 3)
    image_conv = torch.nn.Conv2d(5, 6, 3, padding=1)
    branch = TextBranch(3, 6)
    torch.nn.init.normal_(branch.conv.weight)
    joint = F.conv2d(
        torch.cat([x, tile_text(t, x)], 1), torch.cat([image_conv.weight, branch.conv.weight], 1), image_conv.bias, padding=1
    )
    assert torch.allclose(branch(image_conv(x), t), joint, atol=1e-5)


def test_full_g1_matches_plain_vgg_encoder_at_initialisation():
    g = _gen("G1", "full")
    x = torch.randn(1, 3, *SIZE)
    edits = {n: (lambda h, b=b: b(h, torch.randn(1, T))) for n, b in g.encoder_text.items()}
    assert torch.allclose(g.encoder(x, edits), g.encoder(x))


@pytest.mark.parametrize("arch", ["full", "small"])
def test_d1_uses_text_and_d2_ignores_it(arch):
    images, maps = torch.randn(2, 3, *SIZE), torch.rand(2, 1, *SIZE)
    d1, d2 = _disc("D1", arch), _disc("D2", arch)
    assert d1.uses_text and not d2.uses_text
    t1, t2 = torch.randn(2, TEXT_DIM), torch.randn(2, TEXT_DIM)
    assert d1(images, maps, t1).shape == (2,)
    assert not torch.allclose(d1(images, maps, t1), d1(images, maps, t2))
    assert torch.equal(d2(images, maps, t1), d2(images, maps, t2))
    assert torch.equal(d2(images, maps), d2(images, maps, t1))
    assert not torch.allclose(d2(images, torch.rand(2, 1, *SIZE)), d2(images, maps))


def test_missing_or_wrong_text_is_an_input_error_naming_text():
    images = torch.randn(2, 3, *SIZE)
    with pytest.raises(InputError, match="text"):
        _gen()(images)
    with pytest.raises(InputError, match="text"):
        _gen()(images, torch.randn(2, TEXT_DIM + 1))
    with pytest.raises(InputError, match="text"):
        _disc("D1")(images, torch.rand(2, 1, *SIZE))
    with pytest.raises(InputError, match="images"):
        _gen()(torch.randn(2, 4, *SIZE), torch.randn(2, TEXT_DIM))


def test_invalid_choices():
    with pytest.raises(InputError, match="variant"):
        TextSalGANGenerator(variant="G3", width=W)
    with pytest.raises(InputError, match="arch"):
        TextSalGANDiscriminator(arch="huge", width=W)
    with pytest.raises(InputError, match="multiples of 16"):
        _gen(arch="full")(torch.randn(1, 3, 34, 48), torch.randn(1, TEXT_DIM))
    with pytest.raises(InputError, match="small"):
        _gen(arch="small").load_vgg16_weights()


def test_small_generator_takes_sizes_that_full_does_not():
    assert _gen(arch="small")(torch.randn(1, 3, 34, 50), torch.randn(1, TEXT_DIM)).shape == (1, 1, 34, 50)


@pytest.mark.parametrize("arch", ["full", "small"])
def test_round_trip_through_hub(tmp_path, arch):
    g, d = _gen("G2", arch), _disc("D1", arch).eval()
    save_pretrained(g, tmp_path / "g")
    save_pretrained(d, tmp_path / "d")
    g2, d2 = from_pretrained(tmp_path / "g"), from_pretrained(tmp_path / "d")
    assert (g2.variant, g2.arch, d2.variant, d2.input_size) == ("G2", arch, "D1", SIZE)
    x, m, t = torch.randn(2, 3, *SIZE), torch.rand(2, 1, *SIZE), torch.randn(2, TEXT_DIM)
    assert torch.equal(g2(x, t), g(x, t))
    assert torch.equal(d2(x, m, t), d(x, m, t))
