"""Agreement with pysaliency 0.2.22 where the definitions coincide (and the known gaps where not)."""

import math
import sys
import types

import numpy as np
import pytest
import torch

from wordsight.metrics.saliency import auc_judd, cc, kld, nss, shuffled_auc, sim


def _import_pysaliency():
    """pysaliency 0.2.22 imports pkg_resources (gone with setuptools >= 81) and calls np.trapz
    (removed in numpy 2.4); stand in for both so the metric code itself can be compared."""
    try:
        import pkg_resources  # noqa: F401
    except ImportError:
        stub = types.ModuleType("pkg_resources")

        def _unavailable(*args, **kwargs):
            raise RuntimeError("pkg_resources is stubbed in the wordsight tests")

        stub.resource_string = stub.resource_listdir = _unavailable
        sys.modules["pkg_resources"] = stub
    if not hasattr(np, "trapz"):
        np.trapz = np.trapezoid
    return pytest.importorskip("pysaliency", reason="pysaliency==0.2.22 (test extra) is not installed")


pysaliency = _import_pysaliency()
from pysaliency import metrics as pys_metrics  # noqa: E402
from pysaliency.roc import general_roc  # noqa: E402


@pytest.fixture(scope="module")
def maps():
    gen = torch.Generator().manual_seed(11)
    sal = torch.rand(4, 30, 40, generator=gen, dtype=torch.float64) ** 2
    fix = torch.rand(4, 30, 40, generator=gen) > 0.97
    dens = torch.rand(4, 30, 40, generator=gen, dtype=torch.float64) ** 4
    return sal, fix, dens


def test_cc_equals_pysaliency(maps):
    sal, _, dens = maps
    ours = cc(sal, dens)
    for b in range(4):
        assert float(ours[b]) == pytest.approx(pys_metrics.CC(sal[b].numpy(), dens[b].numpy()), abs=1e-12)


def test_kld_equals_pysaliency_mit_kldiv(maps):
    sal, _, dens = maps
    ours = kld(sal, dens)
    for b in range(4):
        assert float(ours[b]) == pytest.approx(pys_metrics.MIT_KLDiv(sal[b].numpy(), dens[b].numpy()), abs=1e-10)


def test_sim_equals_pysaliency_when_minimum_is_zero(maps):
    sal, _, dens = maps
    sal, dens = sal - sal.amin((1, 2), keepdim=True), dens - dens.amin((1, 2), keepdim=True)
    ours = sim(sal, dens)
    for b in range(4):
        assert float(ours[b]) == pytest.approx(pys_metrics.SIM(sal[b].numpy(), dens[b].numpy()), abs=1e-12)
    # pysaliency subtracts the minimum only when it is negative: with an offset they differ.
    assert float(sim(sal[0] + 1, dens[0])) != pytest.approx(pys_metrics.SIM(sal[0].numpy() + 1, dens[0].numpy()))


def test_nss_differs_from_pysaliency_only_by_the_std_convention(maps):
    sal, fix, _ = maps
    ours = nss(sal, fix)
    n = sal[0].numel()
    for b in range(4):
        ys, xs = np.nonzero(fix[b].numpy())
        per_fixation = pys_metrics.NSS(sal[b].numpy(), xs, ys)  # std with N, one value per fixation
        assert float(ours[b]) * math.sqrt(n / (n - 1)) == pytest.approx(per_fixation.mean(), abs=1e-12)


def test_auc_judd_equals_pysaliency_without_jitter(maps):
    # pysaliency AUC_Judd(jitter=False): positives = fixated values, negatives = unfixated pixels,
    # thresholds = fixated values. With one fixation per pixel and no ties it equals AUC_Judd.m.
    sal, fix, _ = maps
    ours = auc_judd(sal, fix, jitter=False)
    for b in range(4):
        values, fixated = sal[b].numpy().ravel(), fix[b].numpy().ravel()
        theirs, _, _ = general_roc(values[fixated], values[~fixated], judd=1)
        assert float(ours[b]) == pytest.approx(theirs, abs=1e-12)


def test_shuffled_auc_equals_exact_roc_when_thresholds_separate_all_values():
    # Values on a 0.05 + 0.1k grid (plus 0 and 1 so min-max is the identity) are split by the
    # 0:0.1:1 thresholds; when every other-image pixel is drawn in every split, sAUC equals the
    # exact ROC area that pysaliency's general_roc computes over all values.
    gen = torch.Generator().manual_seed(2)
    sal = (torch.randint(0, 10, (20, 20), generator=gen).double() * 0.1 + 0.05).clamp(max=0.95)
    sal[0, 0], sal[0, 1] = 0.0, 1.0
    fix = torch.rand(20, 20, generator=gen) > 0.9
    other = (torch.rand(20, 20, generator=gen) > 0.95) & ~fix
    assert int(other.sum()) <= int(fix.sum())
    ours = shuffled_auc(sal, fix, other, num_splits=3)
    theirs, _, _ = general_roc(sal[fix].numpy(), sal[other].numpy(), judd=0)
    assert float(ours) == pytest.approx(theirs, abs=1e-12)
