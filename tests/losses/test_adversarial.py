import pytest
import torch

from wordsight.losses import bce_d_fake, bce_d_real, bce_g, hinge_d_fake, hinge_d_real, hinge_g, ma_gp, mismatched
from wordsight.utils.checks import InputError


def test_hinge_terms():
    logits = torch.tensor([2.0, 0.5, -3.0])
    assert hinge_d_real(logits).item() == pytest.approx((0 + 0.5 + 4.0) / 3)
    assert hinge_d_fake(logits).item() == pytest.approx((3.0 + 1.5 + 0) / 3)
    assert hinge_g(logits).item() == pytest.approx(-(2.0 + 0.5 - 3.0) / 3)


def test_bce_terms_match_binary_cross_entropy():
    logits = torch.tensor([1.5, -0.3])
    bce = torch.nn.functional.binary_cross_entropy_with_logits
    assert bce_d_real(logits).item() == pytest.approx(bce(logits, torch.ones(2)).item())
    assert bce_d_fake(logits).item() == pytest.approx(bce(logits, torch.zeros(2)).item())
    assert bce_g(logits).item() == pytest.approx(bce_d_real(logits).item())


def test_mismatched_pairs_each_item_with_the_next():
    x = torch.arange(4).float()[:, None]
    assert mismatched(x)[:, 0].tolist() == [1, 2, 3, 0]
    with pytest.raises(InputError):
        mismatched(x[:1])


def test_ma_gp_equals_k_times_joint_gradient_norm_to_the_p():
    # D(x, e) = <w, x> + <v, e> has gradient (w, v) for every sample: MA-GP = k * ||(w, v)||^p
    torch.manual_seed(0)
    w, v = torch.randn(3, 4, 4), torch.randn(5)
    x = torch.randn(6, 3, 4, 4, requires_grad=True)
    e = torch.randn(6, 5, requires_grad=True)
    logits = (x * w).sum(dim=(1, 2, 3)) + e @ v
    expected = 2.0 * torch.cat([w.reshape(-1), v]).norm() ** 6
    assert ma_gp(logits, (x, e), k=2.0, p=6.0).item() == pytest.approx(expected.item(), rel=1e-5)


def test_ma_gp_works_with_channels_last_and_is_differentiable():
    conv = torch.nn.Conv2d(3, 1, 3).to(memory_format=torch.channels_last)
    x = torch.randn(4, 3, 8, 8).contiguous(memory_format=torch.channels_last).requires_grad_(True)
    e = torch.randn(4, 2, requires_grad=True)
    logits = conv(x).mean(dim=(1, 2, 3)) + (e**2).sum(1)
    penalty = ma_gp(logits, (x, e))
    penalty.backward()
    assert conv.weight.grad is not None and torch.isfinite(conv.weight.grad).all()


def test_ma_gp_gradient_is_finite_where_the_input_gradient_is_zero():
    x = torch.zeros(2, 3, requires_grad=True)
    scale = torch.tensor(1.0, requires_grad=True)
    penalty = ma_gp(scale * (x**2).sum(1), (x,))  # gradient 2 * scale * x = 0 at x = 0
    penalty.backward()
    assert torch.isfinite(scale.grad)


def test_ma_gp_requires_inputs_with_grad():
    x = torch.randn(2, 3)
    with pytest.raises(InputError, match="require grad"):
        ma_gp(x.sum(1), (x,))
