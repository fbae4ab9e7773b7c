"""SALICON and SalGAN losses against hand-written formulas."""

import math

import pytest
import torch

from wordsight.losses.saliency import (
    SALGAN_ALPHA,
    discriminator_loss,
    generator_adversarial_loss,
    salgan_content_loss,
    salgan_generator_loss,
    salicon_loss,
    salicon_target,
)
from wordsight.utils import InputError


def _bce(p, y):
    return -(y * torch.log(p) + (1 - y) * torch.log(1 - p))


def test_salicon_loss_is_sigmoid_cross_entropy():
    torch.manual_seed(0)
    logits, target = torch.randn(2, 1, 4, 5), torch.rand(2, 1, 4, 5)
    manual = _bce(torch.sigmoid(logits), target)
    assert torch.allclose(salicon_loss(logits, target), manual.mean(), atol=1e-6)
    assert torch.allclose(salicon_loss(logits, target, "caffe2015"), manual.sum() / 2, atol=1e-5)
    with pytest.raises(InputError, match="reduction"):
        salicon_loss(logits, target, "sum")
    with pytest.raises(InputError, match="target"):
        salicon_loss(logits, target[:, :, :3])


def test_salicon_target_resizes_and_scales_to_peak_one():
    maps = torch.zeros(2, 1, 76, 100)
    maps[0, 0, 30:40, 40:60] = 3.0
    target = salicon_target(maps, (38, 50))
    assert target.shape == (2, 1, 38, 50)
    assert target[0].max() == pytest.approx(1.0) and target[0].min() >= 0
    assert target[0, 0, 17, 25] == pytest.approx(1.0) and target[0, 0, 2, 2] == 0
    assert torch.count_nonzero(target[1]) == 0  # an image without fixations stays empty
    with pytest.raises(InputError, match="non-negative"):
        salicon_target(-maps - 1, (38, 50))


def test_content_loss_pools_4x4_before_bce():
    torch.manual_seed(0)
    pred, target = torch.rand(2, 1, 8, 12).clamp(0.01, 0.99), torch.rand(2, 1, 8, 12)

    def pool(x):  # mean of each 4x4 block
        return x.reshape(2, 1, 2, 4, 3, 4).mean(dim=(3, 5))

    assert torch.allclose(salgan_content_loss(pred, target), _bce(pool(pred), pool(target)).mean(), atol=1e-6)
    assert torch.allclose(salgan_content_loss(pred, target, pool=1), _bce(pred, target).mean(), atol=1e-6)


def test_content_loss_is_minimal_at_the_target_and_finite_at_saturation():
    target = torch.rand(1, 1, 8, 8)
    pred = target.clone().requires_grad_(True)
    salgan_content_loss(pred, target, pool=1).backward()
    assert pred.grad.abs().max() < 1e-5
    saturated = salgan_content_loss(torch.ones(1, 1, 8, 8), torch.zeros(1, 1, 8, 8))
    assert torch.isfinite(saturated)


def test_adversarial_terms():
    real, fake = torch.tensor([2.0, -1.0]), torch.tensor([0.5, -3.0])
    g = generator_adversarial_loss(fake)
    assert torch.allclose(g, -torch.log(torch.sigmoid(fake)).mean())
    real_term = -torch.log(torch.sigmoid(real)).mean()
    fake_term = -torch.log(1 - torch.sigmoid(fake)).mean()
    assert torch.allclose(discriminator_loss(real, fake), (real_term + fake_term) / 2)
    assert torch.allclose(discriminator_loss(real, fake, "sum"), real_term + fake_term)
    with pytest.raises(InputError):
        discriminator_loss(real, fake, "max")


def test_generator_loss_weights_the_content_term_by_alpha():
    assert SALGAN_ALPHA == pytest.approx(1 / 20)
    total = salgan_generator_loss(torch.tensor(2.0), torch.tensor(0.7))
    assert total.item() == pytest.approx(0.05 * 2.0 + 0.7)
    assert salgan_generator_loss(torch.tensor(2.0), torch.tensor(0.7), alpha=1.0).item() == pytest.approx(2.7)
    assert math.isclose(generator_adversarial_loss(torch.tensor([0.0])).item(), math.log(2), rel_tol=1e-6)
