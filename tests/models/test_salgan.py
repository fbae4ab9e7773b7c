"""SalGAN generator and discriminator: shapes, layer layout, frozen encoder blocks, inputs, saving."""

import pytest
import torch

from wordsight.hub import from_pretrained, save_pretrained
from wordsight.models.salgan import SALGAN_DECODER_SPEC, SalGANDiscriminator, SalGANGenerator
from wordsight.utils import InputError

W = 1 / 16


@pytest.mark.parametrize("size", [(32, 48), (48, 64), (192, 256)])
def test_generator_returns_probability_map_at_input_size(size):
    torch.manual_seed(0)
    out = SalGANGenerator(width=W)(torch.randn(2, 3, *size))
    assert out.shape == (2, 1, *size)
    assert out.min() > 0 and out.max() < 1


def test_generator_layout_mirrors_vgg():
    g = SalGANGenerator(width=W)
    assert not g.encoder.include_pool5 and not g.encoder.ceil_mode
    names = [item[0] for item in SALGAN_DECODER_SPEC if item != "up"]
    assert names[0] == "uconv5_3" and names[-1] == "uconv1_1" and len(names) == 13
    assert sum(item == "up" for item in SALGAN_DECODER_SPEC) == 4
    assert g.decoder.output.kernel_size == (1, 1) and g.decoder.output.out_channels == 1


def test_only_last_two_encoder_blocks_and_decoder_get_gradients():
    torch.manual_seed(0)
    g = SalGANGenerator(width=W, frozen_blocks=3)
    g(torch.randn(2, 3, 32, 48)).mean().backward()
    for name in g.encoder.conv_names:
        grad = getattr(g.encoder, name).weight.grad
        if g.encoder.block_of[name] <= 3:
            assert grad is None, name
        else:
            assert grad is not None and grad.abs().sum() > 0, name
    assert all(p.grad is not None for p in g.decoder.parameters())


def test_generator_rejects_bad_images():
    g = SalGANGenerator(width=W)
    with pytest.raises(InputError, match="multiples of 16"):
        g(torch.randn(1, 3, 30, 48))
    with pytest.raises(InputError, match="images"):
        g(torch.randn(1, 1, 32, 48))
    with pytest.raises(InputError, match="float"):
        g(torch.zeros(1, 3, 32, 48, dtype=torch.uint8))


def test_discriminator_scores_image_and_map():
    torch.manual_seed(0)
    d = SalGANDiscriminator(input_size=(32, 48), width=W)
    images, maps = torch.randn(3, 3, 32, 48), torch.rand(3, 1, 32, 48)
    logits = d(images, maps)
    assert logits.shape == (3,)
    assert not torch.allclose(d(images, torch.rand(3, 1, 32, 48)), logits)
    assert not torch.allclose(d(torch.randn(3, 3, 32, 48), maps), logits)


def test_discriminator_rejects_bad_inputs():
    d = SalGANDiscriminator(input_size=(32, 48), width=W)
    with pytest.raises(InputError, match="maps"):
        d(torch.randn(2, 3, 32, 48), torch.rand(2, 3, 32, 48))
    with pytest.raises(InputError, match="maps"):
        d(torch.randn(2, 3, 32, 48), torch.rand(1, 1, 32, 48))
    with pytest.raises(InputError, match="built for"):
        d(torch.randn(2, 3, 48, 64), torch.rand(2, 1, 48, 64))
    with pytest.raises(InputError, match="input_size"):
        SalGANDiscriminator(input_size=(30, 48))


def test_generator_and_discriminator_round_trip_through_hub(tmp_path):
    torch.manual_seed(0)
    g = SalGANGenerator(width=W, normalization="caffe").eval()
    d = SalGANDiscriminator(input_size=(32, 48), width=W).eval()
    save_pretrained(g, tmp_path / "g")
    save_pretrained(d, tmp_path / "d")
    g2, d2 = from_pretrained(tmp_path / "g"), from_pretrained(tmp_path / "d")
    x, m = torch.randn(2, 3, 32, 48), torch.rand(2, 1, 32, 48)
    assert torch.equal(g2(x), g(x))
    assert torch.equal(d2(x, m), d(x, m))
    assert d2.input_size == (32, 48) and g2.normalization == "caffe"
