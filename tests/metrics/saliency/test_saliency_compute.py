"""The metric registry, compute_saliency_metrics and the image / fixation averages."""

import math

import pytest
import torch

from wordsight.metrics.saliency import (
    DEFAULT_METRICS,
    SALIENCY_METRICS,
    average_scores,
    cc,
    compute_saliency_metrics,
    fixation_density,
    information_gain,
    nss,
    shuffled_auc,
)
from wordsight.utils import InputError, RegistryError


@pytest.fixture()
def batch():
    gen = torch.Generator().manual_seed(4)
    sal = torch.rand(5, 24, 32, generator=gen)
    fix = torch.rand(5, 24, 32, generator=gen) > 0.95
    return sal, fix


def test_registry_names_and_direction():
    assert SALIENCY_METRICS.names() == sorted(
        ["auc_judd", "auc_borji", "shuffled_auc", "nss", "cc", "kld", "sim", "information_gain"]
    )
    assert not SALIENCY_METRICS.get("KLD").higher_is_better
    assert SALIENCY_METRICS.get("nss").higher_is_better
    with pytest.raises(RegistryError, match="known"):
        SALIENCY_METRICS.get("emd")


def test_compute_matches_the_functions(batch):
    sal, fix = batch
    scores = compute_saliency_metrics(sal, fix, names=SALIENCY_METRICS.names(), generator=torch.Generator().manual_seed(0))
    assert set(scores) == set(SALIENCY_METRICS.names())
    assert all(v.shape == (5,) and v.dtype == torch.float64 for v in scores.values())
    torch.testing.assert_close(scores["nss"], nss(sal, fix))
    torch.testing.assert_close(scores["cc"], cc(sal, fixation_density(fix)))
    torch.testing.assert_close(scores["information_gain"], information_gain(sal, fix))
    assert set(compute_saliency_metrics(sal, fix)) == set(DEFAULT_METRICS)


def test_compute_uses_given_density_and_other_fixations(batch):
    sal, fix = batch
    dens = torch.rand(5, 24, 32, generator=torch.Generator().manual_seed(9))
    other = torch.roll(fix, 1, dims=0)
    scores = compute_saliency_metrics(
        sal, fix, density=dens, other_fixations=other, names=["cc", "shuffled_auc"], generator=torch.Generator().manual_seed(3)
    )
    torch.testing.assert_close(scores["cc"], cc(sal, dens))
    torch.testing.assert_close(
        scores["shuffled_auc"], shuffled_auc(sal, fix, other, generator=torch.Generator().manual_seed(3))
    )


def test_averages(batch):
    sal, fix = batch
    per_image = nss(sal, fix)
    counts = fix.flatten(1).sum(1).double()
    assert float(average_scores(per_image)) == pytest.approx(float(per_image.mean()))
    weighted = float((per_image * counts).sum() / counts.sum())
    assert float(average_scores(per_image, fix, over="fixations")) == pytest.approx(weighted)
    reduced = compute_saliency_metrics(sal, fix, names=["nss"], average="fixations")
    assert float(reduced["nss"]) == pytest.approx(weighted)
    # An image without fixations has NaN scores: it carries no weight per fixation, but poisons the
    # plain mean, as MATLAB's mean would.
    fix_empty = fix.clone()
    fix_empty[0] = False
    scores = nss(sal, fix_empty)
    assert math.isnan(float(average_scores(scores)))
    assert math.isfinite(float(average_scores(scores, fix_empty, over="fixations")))
    explicit = average_scores(scores[1:], over="fixations", fixation_counts=torch.tensor([1, 1, 1, 1]))
    assert float(explicit) == pytest.approx(float(scores[1:].mean()))


def test_compute_bad_input(batch):
    sal, fix = batch
    with pytest.raises(InputError):
        compute_saliency_metrics(sal, fix, names=[])
    with pytest.raises(InputError):
        compute_saliency_metrics(sal, fix, names=["nss"], average="median")
    with pytest.raises(InputError):
        compute_saliency_metrics(sal[:2], fix, names=["nss"])
