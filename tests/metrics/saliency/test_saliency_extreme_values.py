"""Regressions found by tests/reliability: maps with huge or tiny values overflowed (CC = inf, NSS = 0),
and a constant map resized to the fixation size got a score instead of NaN (bicubic rounding)."""

import math

import pytest
import torch

from wordsight.metrics.saliency import auc_borji, auc_judd, cc, fixation_density, information_gain, kld, nss, sim


@pytest.fixture
def maps():
    g = torch.Generator().manual_seed(0)
    sal = torch.rand(6, 7, generator=g, dtype=torch.float64)
    fix = torch.rand(6, 7, generator=g) < 0.3
    fix[2, 3] = True
    return sal, fix, fixation_density(fix)


@pytest.mark.parametrize("scale", [1e-300, 1e300, 1e-200])
def test_scores_do_not_depend_on_the_scale(maps, scale):
    sal, fix, dens = maps
    for metric, ref in ((cc, dens), (sim, dens), (kld, dens), (nss, fix), (information_gain, fix)):
        assert float(metric(sal * scale, ref)) == pytest.approx(float(metric(sal, ref)), rel=1e-9), metric.__name__
    assert float(cc(sal, dens * scale)) == pytest.approx(float(cc(sal, dens)), rel=1e-9)
    assert float(auc_judd(sal * scale, fix, jitter=False)) == pytest.approx(float(auc_judd(sal, fix, jitter=False)))


def test_constant_map_of_another_size_is_undefined(maps):
    _, fix, dens = maps
    flat = torch.ones(2, 3, dtype=torch.float64)  # resized to 6x7 by bicubic imresize
    for score in (nss(flat, fix), cc(flat, dens), auc_borji(flat, fix, num_splits=3), auc_judd(flat, fix, jitter=False),
                  information_gain(flat, fix)):
        assert math.isnan(float(score))
