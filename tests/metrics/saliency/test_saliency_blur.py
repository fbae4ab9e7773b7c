"""fixation_density == a line-by-line numpy transcription of antonioGaussian.m; centre-bias map."""

import math

import numpy as np
import pytest
import torch

from wordsight.metrics.saliency import center_bias_map, fixation_density
from wordsight.utils import InputError


def antonio_gaussian_reference(img: np.ndarray, fc: float) -> np.ndarray:
    """cvzoya/saliency code_forMetrics/antonioGaussian.m (2017 version), transcribed with numpy FFTs."""
    sn, sm = img.shape
    n = max(sn, sm)
    n = n + n % 2
    n = 2 ** int(math.ceil(math.log2(n)))
    img2 = np.zeros((2 * n, 2 * n))  # zeropadimage(img, n)
    img2[n : n + sn, n : n + sm] = img
    n2 = 2 * n
    fx, fy = np.meshgrid(np.arange(n) - n / 2, np.arange(n) - n / 2)
    s = round(n2 / n) * fc / math.sqrt(math.log(2))
    gf = np.exp(-(fx**2 + fy**2) / s**2)
    gf2 = np.zeros((n2, n2))
    gf2[n2 // 2 - n // 2 : n2 // 2 + n // 2, n2 // 2 - n // 2 : n2 // 2 + n // 2] = gf
    gf2 = np.fft.fftshift(gf2)
    bf = np.real(np.fft.ifft2(np.fft.fft2(img2) * gf2))
    return bf[n : n + sn, n : n + sm]


@pytest.mark.parametrize("shape,fc", [((24, 32), 8.0), ((20, 13), 8.0), ((30, 30), 3.0), ((9, 40), 6.0)])
def test_matches_matlab_transcription(shape, fc):
    gen = torch.Generator().manual_seed(1)
    fix = torch.rand(shape, generator=gen) > 0.9
    ours = fixation_density(fix, cutoff=fc, clip_negative=False)
    ref = antonio_gaussian_reference(fix.numpy().astype(np.float64), fc)
    np.testing.assert_allclose(ours.numpy(), ref, atol=1e-12, rtol=0)


def test_batched_and_clipped():
    fix = torch.zeros(2, 16, 24, dtype=torch.bool)
    fix[0, 4, 5] = True
    fix[1, 10, 20] = True
    dens = fixation_density(fix)
    assert dens.shape == (2, 16, 24) and dens.dtype == torch.float64
    assert (dens >= 0).all()
    assert int(dens[0].argmax()) == 4 * 24 + 5 and int(dens[1].argmax()) == 10 * 24 + 20
    torch.testing.assert_close(dens[1], fixation_density(fix[1]))


def test_large_image_blur_width_is_about_one_degree():
    # n = 1024 for 480x640: sigma = n sqrt(log 2) / (sqrt(2) pi fc) = 24.0 px for fc = 8.
    fix = torch.zeros(480, 640, dtype=torch.bool)
    fix[240, 320] = True
    row = fixation_density(fix)[240]
    xs = torch.arange(640, dtype=torch.float64) - 320
    sigma = torch.sqrt((row * xs**2).sum() / row.sum())
    expected = 1024 * math.sqrt(math.log(2)) / (math.sqrt(2) * math.pi * 8)
    assert abs(float(sigma) - expected) < 0.05


def test_center_bias_map_shape_peak_and_symmetry():
    base = center_bias_map(9, 15)
    assert base.shape == (9, 15)
    assert float(base[4, 7]) == 1.0
    torch.testing.assert_close(base, base.flip(0))
    torch.testing.assert_close(base, base.flip(1))
    assert float(base[0, 7]) == pytest.approx(math.exp(-0.5 * (4 / (0.25 * 9)) ** 2))


def test_bad_input():
    with pytest.raises(InputError):
        fixation_density(torch.zeros(4, dtype=torch.bool))
    with pytest.raises(InputError):
        fixation_density(torch.zeros(4, 4, dtype=torch.bool), cutoff=0)
    with pytest.raises(InputError):
        center_bias_map(0, 4)
