import math

import pytest
import torch

from wordsight.losses.conditioning import kl_to_standard_normal


def test_kl_matches_a_hand_worked_value():
    # one element: mu 1, sigma^2 e (logvar 1): -1/2 (1 + 1 - 1 - e) = (e - 1) / 2
    assert kl_to_standard_normal(torch.tensor([[1.0]]), torch.tensor([[1.0]])).item() == pytest.approx((math.e - 1) / 2)
    # two elements, averaged: the standard normal itself (0) and mu = 2, sigma = 1 (1/2 * 4 = 2) -> 1
    mu, logvar = torch.tensor([[0.0, 2.0]]), torch.zeros(1, 2)
    assert kl_to_standard_normal(mu, logvar).item() == pytest.approx(1.0)


def test_kl_agrees_with_torch_distributions():
    torch.manual_seed(0)
    mu, logvar = torch.randn(5, 7), torch.randn(5, 7)
    q = torch.distributions.Normal(mu, torch.exp(0.5 * logvar))
    p = torch.distributions.Normal(torch.zeros_like(mu), torch.ones_like(mu))
    ref = torch.distributions.kl_divergence(q, p).mean()
    assert kl_to_standard_normal(mu, logvar).item() == pytest.approx(ref.item(), rel=1e-6)


def test_kl_refuses_mismatched_shapes():
    with pytest.raises(ValueError, match="same shape"):
        kl_to_standard_normal(torch.zeros(2, 3), torch.zeros(2, 4))
