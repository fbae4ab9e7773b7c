import pytest
import torch

from wordsight.hub import from_pretrained, save_pretrained
from wordsight.models.dfgan import DFDiscriminator, DFGenerator
from wordsight.models.imagan import RDBGenerator, ResidualDenseBlock, UNetDiscriminator
from wordsight.utils.checks import InputError


# ---- Residual Dense Block ----------------------------------------------------------------------------
def test_rdb_keeps_the_shape_and_each_conv_sees_the_input_and_all_earlier_outputs():
    block = ResidualDenseBlock(channels=6, growth=3, layers=4)
    assert [c.in_channels for c in block.convs] == [6, 9, 12, 15]  # C + (i - 1) g: contiguous memory
    assert [c.out_channels for c in block.convs] == [3, 3, 3, 3]  # each adds the growth rate
    assert (block.fusion.in_channels, block.fusion.out_channels, block.fusion.kernel_size) == (18, 6, (1, 1))  # 1x1 LFF
    x = torch.randn(2, 6, 5, 7)
    assert block(x).shape == x.shape


def test_rdb_is_a_scaled_local_residual():
    torch.manual_seed(0)
    block = ResidualDenseBlock(channels=4, growth=2, layers=3, scale=0.2)
    x = torch.randn(2, 4, 6, 6)
    with torch.no_grad():
        feats = [x]
        for conv in block.convs:
            feats.append(torch.nn.functional.leaky_relu(conv(torch.cat(feats, 1)), 0.2))
        fused = block.fusion(torch.cat(feats, 1))
        assert torch.allclose(block(x), x + 0.2 * fused, atol=1e-6)
        block.fusion.weight.zero_()
        block.fusion.bias.zero_()
        assert torch.equal(block(x), x)  # no fused features: the identity


def test_rdb_refuses_a_wrong_width():
    with pytest.raises(InputError, match="x"):
        ResidualDenseBlock(channels=4)(torch.randn(1, 5, 4, 4))


# ---- the RDB generator -----------------------------------------------------------------------------------
@pytest.mark.parametrize("size,blocks", [(16, 2), (32, 3)])
def test_rdb_generator_shape_range_and_dense_blocks_per_up_block(size, blocks):
    torch.manual_seed(0)
    g = RDBGenerator(nf=4, z_dim=8, sentence_dim=8, image_size=size, rdb_blocks=2, rdb_growth=3)
    assert len(g.blocks) == blocks and all(len(b.rdbs) == 2 for b in g.blocks)
    assert [b.rdbs[0].channels for b in g.blocks] == [b.up.c2.out_channels for b in g.blocks]
    assert all(r.growth == 3 for b in g.blocks for r in b.rdbs)
    out = g(torch.randn(3, 8), torch.randn(3, 8))
    assert out.shape == (3, 3, size, size) and out.abs().max() <= 1.0
    assert g.text_inputs == ("sentence",) and g.sample_noise(2).shape == (2, 8)  # the generator protocol


def test_rdb_generator_keeps_dfgan_fusion_and_without_dense_blocks_is_dfgan():
    torch.manual_seed(0)
    dfgan = DFGenerator(nf=4, z_dim=8, sentence_dim=8, image_size=16)
    torch.manual_seed(0)
    plain = RDBGenerator(nf=4, z_dim=8, sentence_dim=8, image_size=16, rdb_blocks=0)
    z, s = torch.randn(2, 8), torch.randn(2, 8)
    assert torch.equal(dfgan(z, s), plain(z, s))
    torch.manual_seed(0)
    rdb = RDBGenerator(nf=4, z_dim=8, sentence_dim=8, image_size=16, rdb_blocks=1, rdb_growth=4)
    assert all(hasattr(b.up, "fuse1") and hasattr(b.up, "fuse2") for b in rdb.blocks)  # DF fusion blocks kept
    assert sum(p.numel() for p in rdb.parameters()) > sum(p.numel() for p in dfgan.parameters())


# ---- the U-Net discriminator -------------------------------------------------------------------------------
def test_unet_discriminator_gives_a_global_score_and_a_per_pixel_map():
    d = UNetDiscriminator(nf=4, sentence_dim=8, image_size=32)
    x, s = torch.randn(5, 3, 32, 32), torch.randn(5, 8)
    levels = d.encode(x)
    assert [tuple(t.shape[1:]) for t in levels] == [(4, 32, 32), (8, 16, 16), (16, 8, 8), (32, 4, 4)]
    score, pixels = d.score_and_pixels(x, s)
    assert score.shape == (5,) and pixels.shape == (5, 1, 32, 32)
    assert torch.allclose(score, d(x, s)) and torch.allclose(pixels, d.decode(levels))


def test_unet_global_score_is_dfgans_and_the_decoder_uses_the_skips():
    torch.manual_seed(0)
    dfgan = DFDiscriminator(nf=4, sentence_dim=8, image_size=16)
    torch.manual_seed(0)
    unet = UNetDiscriminator(nf=4, sentence_dim=8, image_size=16)
    x, s = torch.randn(2, 3, 16, 16), torch.randn(2, 8)
    assert torch.equal(dfgan(x, s), unet(x, s))  # same encoder and head, same initialisation
    levels = unet.encode(x)
    moved = [levels[0] + 1.0, *levels[1:]]  # change only the full-resolution skip
    with torch.no_grad():
        assert not torch.allclose(unet.decode(levels), unet.decode(moved))
    with pytest.raises(InputError, match="levels"):
        unet.decode(levels[1:])
    with pytest.raises(InputError, match="images"):
        unet.encode(torch.randn(2, 3, 32, 32))


@pytest.mark.parametrize("cls,kwargs", [
    (RDBGenerator, {"nf": 4, "z_dim": 8, "sentence_dim": 8, "image_size": 16, "rdb_blocks": 2, "rdb_growth": 3, "rdb_scale": 0.5}),
    (UNetDiscriminator, {"nf": 4, "sentence_dim": 8, "image_size": 16, "decoder_gamma_init": 0.5}),
])
def test_save_and_load_pretrained_round_trip(tmp_path, cls, kwargs):
    torch.manual_seed(0)
    model = cls(**kwargs).eval()
    save_pretrained(model, tmp_path / "m")
    loaded = from_pretrained(tmp_path / "m")
    assert type(loaded) is cls and all(loaded.config[k] == v for k, v in kwargs.items())
    if cls is RDBGenerator:
        z, s = torch.randn(2, 8), torch.randn(2, 8)
        assert torch.equal(model(z, s), loaded(z, s))
    else:
        x = torch.randn(2, 3, 16, 16)
        assert torch.equal(model.decode(model.encode(x)), loaded.decode(loaded.encode(x)))
