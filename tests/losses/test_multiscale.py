import math

import pytest
import torch
import torch.nn.functional as F

from wordsight.losses.multiscale import colour_consistency, joint_d_loss, joint_g_loss, mean_and_covariance


def _bce(p, target):  # BCE of a probability, by hand
    return -math.log(p) if target == 1 else -math.log(1 - p)


def test_joint_d_loss_on_a_hand_batch():
    logit = lambda p: torch.tensor([math.log(p / (1 - p))])  # noqa: E731
    real, wrong, fake = (logit(0.9), logit(0.8)), (logit(0.3), logit(0.7)), (logit(0.2), logit(0.4))
    out = joint_d_loss(real, wrong, fake, uncond_weight=1.0)
    cond = _bce(0.9, 1) + _bce(0.3, 0) + _bce(0.2, 0)
    uncond = _bce(0.8, 1) + _bce(0.7, 1) + _bce(0.4, 0)  # the wrong pair's image is real to D_u
    assert out["loss"].item() == pytest.approx(cond + uncond, rel=1e-5)
    assert out["d_wrong_uncond"].item() == pytest.approx(_bce(0.7, 1), rel=1e-5)
    half = joint_d_loss(real, wrong, fake, uncond_weight=0.5)["loss"].item()
    assert half == pytest.approx(cond + 0.5 * uncond, rel=1e-5)
    # without the unconditional head: StackGAN-I's matching-aware loss
    plain = joint_d_loss((real[0], None), (wrong[0], None), (fake[0], None))
    assert plain["loss"].item() == pytest.approx(_bce(0.9, 1) + 0.5 * (_bce(0.3, 0) + _bce(0.2, 0)), rel=1e-5)
    g = joint_g_loss(fake, uncond_weight=1.0).item()
    assert g == pytest.approx(_bce(0.2, 1) + _bce(0.4, 1), rel=1e-5)


def test_mean_and_covariance_of_a_constructed_image():
    # two pixels: (0, 0, 0) and (2, 4, -2): mean (1, 2, -1), covariance = d d^T with d = (1, 2, -1)
    img = torch.tensor([[0.0, 2.0], [0.0, 4.0], [0.0, -2.0]]).reshape(1, 3, 1, 2)
    mu, cov = mean_and_covariance(img)
    d = torch.tensor([1.0, 2.0, -1.0])
    assert torch.allclose(mu[0], d) and torch.allclose(cov[0], torch.outer(d, d))


def test_colour_consistency_is_zero_across_scales_of_one_picture_and_sees_a_colour_shift():
    torch.manual_seed(0)
    low = torch.rand(2, 3, 8, 8) * 2 - 1
    high = F.interpolate(low, scale_factor=2, mode="nearest")  # the same colours at twice the size
    assert colour_consistency(high, low).item() == pytest.approx(0.0, abs=1e-10)
    shifted = high + torch.tensor([0.5, 0.0, 0.0])[None, :, None, None]  # red up by 0.5, covariance unchanged
    assert colour_consistency(shifted, low).item() == pytest.approx(1.0 * 0.25 / 3, rel=1e-5)
    scaled = high * 2  # covariance x4: the lambda_2 term alone
    _, cov = mean_and_covariance(low)
    expected = ((high.mean((2, 3)) * 2 - low.mean((2, 3))).pow(2).mean() + 5.0 * (3 * cov).pow(2).mean()).item()
    assert colour_consistency(scaled, low).item() == pytest.approx(expected, rel=1e-5)
