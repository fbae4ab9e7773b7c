import torch
import torch.nn.functional as F

from wordsight.models.layers import Affine, DFBlock, DFUpBlock, ResidualDownBlock, pyramid_channels


def test_pyramid_channels_follow_the_official_multipliers():
    assert pyramid_channels(32, 64) == [32, 64, 128, 256, 256]
    assert pyramid_channels(32, 256) == [32, 64, 128, 256, 256, 256, 256]
    assert pyramid_channels(4, 16) == [4, 8, 16]


def test_affine_is_identity_at_init_and_conditions_per_channel():
    torch.manual_seed(0)
    aff = Affine(cond_dim=6, num_features=5)
    x, c = torch.randn(2, 5, 4, 4), torch.randn(2, 6)
    assert torch.allclose(aff(x, c), x)
    with torch.no_grad():
        aff.fc_gamma[2].bias.fill_(2.0)
        aff.fc_beta[2].bias.fill_(0.5)
    assert torch.allclose(aff(x, c), 2.0 * x + 0.5)


def test_dfblock_is_two_leaky_relus_at_init():
    block = DFBlock(cond_dim=3, num_features=4)
    x = torch.randn(2, 4, 3, 3)
    expected = F.leaky_relu(F.leaky_relu(x, 0.2), 0.2)
    assert torch.allclose(block(x.clone(), torch.randn(2, 3)), expected)


def test_up_block_doubles_resolution_and_uses_a_shortcut_only_when_widths_differ():
    up = DFUpBlock(cond_dim=7, in_ch=8, out_ch=4)
    same = DFUpBlock(cond_dim=7, in_ch=4, out_ch=4)
    assert up.c_sc is not None and same.c_sc is None
    out = up(torch.randn(3, 8, 4, 4), torch.randn(3, 7))
    assert out.shape == (3, 4, 8, 8)


def test_down_block_passes_only_the_pooled_shortcut_at_init():
    torch.manual_seed(0)
    down = ResidualDownBlock(4, 8)
    x = torch.randn(2, 4, 8, 8)
    assert torch.allclose(down(x), F.avg_pool2d(down.conv_s(x), 2), atol=1e-6)
    assert ResidualDownBlock(4, 4).conv_s is None  # no unused parameters


def test_down_block_gamma_init_opens_the_residual_branch():
    torch.manual_seed(0)
    down = ResidualDownBlock(4, 8, gamma_init=0.5)
    x = torch.randn(2, 4, 8, 8)
    assert torch.allclose(down(x), F.avg_pool2d(down.conv_s(x), 2) + 0.5 * down.conv_r(x), atol=1e-6)
    closed = ResidualDownBlock(4, 8)
    closed(x).sum().backward()
    assert float(closed.conv_r[0].weight.grad.abs().sum()) == 0.0  # official gamma = 0: no residual gradient at first


def test_blocks_give_the_same_result_under_channels_last():
    torch.manual_seed(0)
    up, down = DFUpBlock(5, 6, 3), ResidualDownBlock(3, 6)
    with torch.no_grad():
        down.gamma.fill_(0.7)
    x, c = torch.randn(2, 6, 4, 4), torch.randn(2, 5)
    ref = down(up(x, c))
    up, down = up.to(memory_format=torch.channels_last), down.to(memory_format=torch.channels_last)
    out = down(up(x.contiguous(memory_format=torch.channels_last), c))
    assert torch.allclose(ref, out, atol=1e-5)


def test_conditioning_augmentation_reparameterises_and_is_deterministic_in_eval():
    from wordsight.models.layers import ConditioningAugmentation

    torch.manual_seed(0)
    for activation in ("relu", "glu"):
        ca = ConditioningAugmentation(sentence_dim=6, c_dim=4, activation=activation)
        sentence = torch.randn(3, 6)
        eps = torch.randn(3, 4)
        c, mu, logvar = ca(sentence, noise=eps)
        assert c.shape == mu.shape == logvar.shape == (3, 4)
        assert torch.allclose(c, mu + torch.exp(0.5 * logvar) * eps)
        # the gradient of c reaches both halves of the projection (mu and sigma) through the sample
        c.sum().backward()
        grad = ca.fc.weight.grad
        rows = 4 if activation == "relu" else 8  # glu: the gate rows of the mu half and of the logvar half
        assert grad[:rows].abs().sum() > 0 and grad[rows:2 * rows].abs().sum() > 0
        ca.eval()
        c1, mu1, _ = ca(sentence)
        assert torch.equal(c1, mu1) and torch.equal(ca(sentence)[0], c1)
        ca.train()
        assert not torch.equal(ca(sentence)[0], ca(sentence)[0])  # a fresh eps per call in training
