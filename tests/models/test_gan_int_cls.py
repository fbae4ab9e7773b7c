import pytest
import torch

from wordsight.hub import from_pretrained, save_pretrained
from wordsight.models.gan_int_cls import GANINTCLSDiscriminator, GANINTCLSGenerator, ResidualBottleneck, StyleEncoder
from wordsight.models.generator import text_inputs_of
from wordsight.utils.checks import InputError


@pytest.mark.parametrize("size", [16, 32, 64])
def test_shapes_at_every_size(size):
    torch.manual_seed(0)
    g = GANINTCLSGenerator(ngf=4, z_dim=8, sentence_dim=6, image_size=size, text_dim=5)
    d = GANINTCLSDiscriminator(ndf=4, sentence_dim=6, image_size=size, text_dim=5)
    s = StyleEncoder(nf=4, z_dim=8, image_size=size)
    z, sentence = g.sample_noise(3), torch.randn(3, 6)
    images = g(z, sentence)
    assert images.shape == (3, 3, size, size)
    assert images.abs().max() <= 1.0
    assert d(images, sentence).shape == (3,)
    assert d.features(images).shape[-2:] == (4, 4)
    assert s(images).shape == (3, 8)
    assert text_inputs_of(g) == ("sentence",)


def test_official_64px_widths():
    g = GANINTCLSGenerator(ngf=128, z_dim=100, sentence_dim=1024, image_size=64)
    assert g.stem[0].in_channels == 100 + 128 and g.stem[0].out_channels == 1024  # ngf * 8 at 4x4
    assert g.project_text[0].out_features == 128
    d = GANINTCLSDiscriminator(ndf=64, sentence_dim=1024, image_size=64)
    assert d.head[0].in_channels == 64 * 8 + 128


def test_as_run_discriminator_follows_the_lua_layer_order():
    # main_cls_int.lua as it runs: conv-LReLU, conv-BN-LReLU, conv-BN (no activation), conv-BN, the 4x4
    # bottleneck's ConcatTable holding only Identity (skipD is undefined), LReLU; text Linear-BN-LReLU
    torch.manual_seed(0)
    d = GANINTCLSDiscriminator(ndf=4, sentence_dim=6, image_size=64, text_dim=5, layout="as_run")
    x, t = torch.randn(8, 3, 64, 64), torch.randn(8, 6)
    convs = [m for m in d.down if isinstance(m, torch.nn.Conv2d)]
    norms = [m for m in d.down if isinstance(m, torch.nn.BatchNorm2d)]
    lrelu = lambda v: torch.nn.functional.leaky_relu(v, 0.2)
    bn = lambda m, v: torch.nn.functional.batch_norm(v, None, None, m.weight, m.bias, training=True)
    h = lrelu(convs[0](x))
    h = lrelu(bn(norms[0], convs[1](h)))
    h = bn(norms[1], convs[2](h))
    h = lrelu(bn(norms[2], convs[3](h)))
    lin, bn1 = d.project_text[0], d.project_text[1]
    e = lrelu(torch.nn.functional.batch_norm(lin(t), None, None, bn1.weight, bn1.bias, training=True))
    head = d.head
    j = torch.cat((h, e[:, :, None, None].expand(-1, -1, 4, 4)), dim=1)
    expected = head[3](lrelu(bn(head[1], head[0](j)))).reshape(-1)
    assert torch.allclose(d(x, t), expected, atol=1e-5)
    assert not any(isinstance(m, ResidualBottleneck) for m in d.modules())
    assert GANINTCLSDiscriminator(ndf=4, sentence_dim=6, image_size=16).config["layout"] == "as_run"  # the default
    wired = GANINTCLSDiscriminator(ndf=4, sentence_dim=6, image_size=16, layout="residual")
    assert isinstance(wired.bottleneck, ResidualBottleneck) and not isinstance(wired.project_text[1], torch.nn.BatchNorm1d)
    assert d.config["layout"] == "as_run"
    with pytest.raises(InputError, match="layout"):
        GANINTCLSDiscriminator(ndf=4, sentence_dim=6, image_size=16, layout="nope")


def test_the_text_changes_the_image_and_the_logit():
    torch.manual_seed(0)
    g = GANINTCLSGenerator(ngf=4, z_dim=8, sentence_dim=6, image_size=16).eval()
    d = GANINTCLSDiscriminator(ndf=4, sentence_dim=6, image_size=16).eval()
    z = g.sample_noise(2)
    a, b = torch.randn(2, 6), torch.randn(2, 6)
    assert not torch.allclose(g(z, a), g(z, b))
    x = g(z, a)
    assert not torch.allclose(d(x, a), d(x, b))


def test_bad_inputs_are_clear_errors():
    with pytest.raises(InputError, match="power of two"):
        GANINTCLSGenerator(image_size=48)
    g = GANINTCLSGenerator(ngf=4, z_dim=8, sentence_dim=6, image_size=16)
    with pytest.raises(InputError):
        g(torch.randn(2, 8), torch.randn(2, 7))
    with pytest.raises(InputError, match="truncation"):
        g.sample_noise(2, truncation=1.5)


def test_save_load_round_trip(tmp_path):
    torch.manual_seed(0)
    for module in (GANINTCLSGenerator(ngf=4, z_dim=8, sentence_dim=6, image_size=16),
                   GANINTCLSDiscriminator(ndf=4, sentence_dim=6, image_size=16), StyleEncoder(nf=4, z_dim=8, image_size=16)):
        save_pretrained(module, tmp_path / type(module).__name__)
        loaded = from_pretrained(tmp_path / type(module).__name__)
        assert type(loaded) is type(module)
        for k, v in module.state_dict().items():
            assert torch.equal(v, loaded.state_dict()[k])
