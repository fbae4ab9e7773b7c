"""AttnGAN's and DualAttnGAN's generators and attention blocks at tiny sizes, checked against the formulas
worked by hand (AttnGAN eq. 2, CBAM channel attention, SAGAN self-attention, MobileNetV2 inverted residual)."""

import pytest
import torch

from wordsight.hub import from_pretrained, save_pretrained
from wordsight.models.attngan import AttnGANGenerator
from wordsight.models.dualattngan import ChannelAttention, DualAttnGANGenerator, InvertedResidual, SpatialAttention
from wordsight.models.layers import WordAttention
from wordsight.utils.checks import InputError

TINY = dict(gf_dim=4, z_dim=8, text_dim=6, c_dim=5, base_size=16, branch_num=2)


def _text(b=3, t=5, d=6, lengths=(5, 3, 1)):
    g = torch.Generator().manual_seed(0)
    mask = torch.arange(t)[None] < torch.tensor(lengths)[:, None]
    words = torch.randn(b, t, d, generator=g) * mask[..., None]
    return torch.randn(b, d, generator=g), words, mask


def test_word_attention_sums_to_one_over_real_words_and_matches_eq_2():
    torch.manual_seed(0)
    att = WordAttention(channels=4, word_dim=6)
    h = torch.randn(3, 4, 2, 3)
    _, words, mask = _text()
    context, attention = att(h, words, mask)
    assert context.shape == (3, 4, 2, 3) and attention.shape == (3, 5, 2, 3)  # a context per sub-region
    assert torch.allclose(attention.sum(1), torch.ones(3, 2, 3), atol=1e-6)
    assert attention[1, 3:].abs().max() == 0 and attention[2, 1:].abs().max() == 0  # padding gets no weight
    assert torch.allclose(attention[2, 0], torch.ones(2, 3))  # one real word: all weight on it
    # by hand for caption 1 at region (1, 2): beta_i = softmax over its 3 real words of h_j . (U e_i)
    e = words[1, :3] @ att.project.weight.t()  # [3, C]
    hj = h[1, :, 1, 2]
    beta = torch.softmax(e @ hj, dim=0)
    assert torch.allclose(attention[1, :3, 1, 2], beta, atol=1e-6)
    assert torch.allclose(context[1, :, 1, 2], beta @ e, atol=1e-6)


def test_word_attention_ignores_what_padding_holds():
    torch.manual_seed(0)
    att = WordAttention(4, 6)
    h = torch.randn(3, 4, 2, 2)
    _, words, mask = _text()
    noisy = words + torch.randn_like(words) * (~mask)[..., None]
    a, b = att(h, words, mask), att(h, noisy, mask)
    assert torch.allclose(a[0], b[0]) and torch.allclose(a[1], b[1])
    with pytest.raises(InputError, match="at least one real word"):
        att(h, words, torch.zeros_like(mask))
    with pytest.raises(InputError, match="words"):
        att(h, words[:, :, :5], mask)


def test_channel_attention_on_a_hand_made_tensor():
    torch.manual_seed(0)
    cam = ChannelAttention(channels=4, reduction=2)
    h = torch.arange(4 * 2 * 2, dtype=torch.float32).reshape(1, 4, 2, 2) / 8 - 1
    avg, mx = h.mean(dim=(2, 3)), h.amax(dim=(2, 3))  # [[-0.8125 ...]], per channel
    assert torch.allclose(avg, torch.tensor([[-0.8125, -0.3125, 0.1875, 0.6875]]))
    w = torch.sigmoid(cam.mlp(avg) + cam.mlp(mx))  # sigma(MLP(AvgPool h) + MLP(MaxPool h)), one shared MLP
    assert torch.allclose(cam(h), h * w[:, :, None, None])
    compressed = ChannelAttention(16, compression=True)
    x = torch.randn(2, 16, 8, 8)
    weights = compressed.weights(x)
    assert weights.shape == (2, 16, 8, 8) and (weights > 0).all() and (weights < 1).all()


def test_spatial_attention_starts_as_identity_and_matches_sagan():
    torch.manual_seed(0)
    sam = SpatialAttention(channels=8, reduction=4)
    x = torch.randn(2, 8, 3, 3)
    assert torch.equal(sam(x), x)  # gamma = 0 at the start
    with torch.no_grad():
        sam.gamma.fill_(0.5)
    f, g, v = sam.f(x).flatten(2), sam.g(x).flatten(2), sam.h(x).flatten(2)  # [B, C', N], [B, C, N]
    b, j = 1, 4  # position j's output: sum_i softmax_i(f_i . g_j) v_i
    beta = torch.softmax(f[b].t() @ g[b, :, j], dim=0)
    expected = 0.5 * (v[b] @ beta) + x[b].flatten(1)[:, j]
    assert torch.allclose(sam(x)[b].flatten(1)[:, j], expected, atol=1e-5)
    assert torch.allclose(sam.attention(x).sum(-1), torch.ones(2, 9), atol=1e-6)


def test_inverted_residual_is_a_residual_depthwise_block():
    block = InvertedResidual(4, expansion=3)
    depthwise = block.block[3]
    assert depthwise.groups == 12 and depthwise.in_channels == 12
    x = torch.randn(2, 4, 5, 5)
    with torch.no_grad():
        block.block[-1].weight.zero_()  # the last BN zeroed: the block is the identity
    assert torch.equal(block(x), x)


@pytest.mark.parametrize("cls,extra", [(AttnGANGenerator, {}), (DualAttnGANGenerator, {}),
                                       (DualAttnGANGenerator, {"compression": True, "inverted_residual": True})])
def test_generators_return_every_stage_and_round_trip(cls, extra, tmp_path):
    torch.manual_seed(0)
    g = cls(**TINY, **extra).eval()
    sentence, words, mask = _text()
    z = g.sample_noise(3, generator=torch.Generator().manual_seed(1))
    out = g.forward_with_attention(z, sentence, words, mask)
    assert [x.shape[-1] for x in out.images] == [16, 32] and g.image_sizes == [16, 32]
    assert [tuple(a.shape) for a in out.attention] == [(3, 5, 16, 16)]
    assert out.mu.shape == (3, 5) and all(x.min() >= -1 and x.max() <= 1 for x in out.images)
    # two more padded positions give the same images: the mask, not T, decides
    padded = g(z, sentence, torch.nn.functional.pad(words, (0, 0, 0, 2)), torch.nn.functional.pad(mask, (0, 2)))
    assert torch.allclose(padded[-1], out.images[-1], atol=1e-6)
    save_pretrained(g, tmp_path / "g")
    loaded = from_pretrained(tmp_path / "g")
    assert type(loaded) is cls and loaded.config == g.config
    assert torch.allclose(loaded(z, sentence, words, mask)[-1], out.images[-1], atol=1e-6)


def test_dualattngan_replaces_glu_in_the_first_stage_and_the_joining():
    g = DualAttnGANGenerator(**TINY)
    assert not any(isinstance(m, torch.nn.GLU) for m in g.init.modules())
    assert any(isinstance(m, torch.nn.GLU) for m in AttnGANGenerator(**TINY).init.modules())
    assert isinstance(g.stages[0].visual[1], SpatialAttention)
    inv = DualAttnGANGenerator(**TINY, inverted_residual=True)
    assert all(isinstance(b, InvertedResidual) for b in inv.stages[0].residual)
