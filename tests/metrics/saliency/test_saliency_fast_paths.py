"""The fast paths of the numpy kernels against direct (slow, obvious) computations of the same formulas:
AUC-Judd's histogram counting, SIM's shortcuts, the shuffled-AUC negative choice and the scratch buffers."""

import math

import numpy as np
import pytest
import torch

import wordsight.metrics.saliency.functional as functional
from wordsight.metrics.saliency import auc_judd, compute_saliency_metrics, kld, sim
from wordsight.metrics.saliency.functional import _count_at_least, _smallest


def counts_direct(values: np.ndarray, thresholds: np.ndarray) -> np.ndarray:
    return np.array([np.sum(values >= t) for t in thresholds], dtype=np.float64)


def maps_with_ties(seed: int, size: int = 40_000) -> list[np.ndarray]:
    """Shifted maps (S - min) that stress the histogram: ties, duplicates, tiny values, powers of two
    (bin edges), all equal but one, a narrow range."""
    rng = np.random.default_rng(seed)
    uniform = rng.random(size)
    rounded = np.round(uniform * 7) / 7  # 8 values, many ties
    tiny = np.where(rng.random(size) < 0.5, uniform * 1e-12, uniform)  # half the map below 2^-30
    edges = 2.0 ** -rng.integers(0, 12, size).astype(np.float64)  # exactly on bin edges
    edges_near = edges * (1 + rng.choice([-1, 0, 1], size) * 2.0**-52)
    equal = np.zeros(size)
    equal[rng.integers(size)] = 1.0
    narrow = 1.0 + uniform * 1e-9
    maps = [uniform, rounded, tiny, edges, edges_near, equal, narrow, uniform**8]
    return [m - m.min() for m in maps]


@pytest.mark.parametrize("seed", [0, 1])
def test_histogram_counting_equals_direct_counts(seed, monkeypatch):
    monkeypatch.setattr(functional, "_COUNT_LOOP_MAX", 0)  # force the histogram path
    rng = np.random.default_rng(seed + 10)
    for shifted in maps_with_ties(seed):
        scale = float(shifted.max())
        for n_fix in (1, 5, 30, 200):
            index = rng.choice(shifted.size, n_fix, replace=False)
            fixated = np.sort(shifted[index])[::-1].copy()
            thresholds = fixated / scale
            got = _count_at_least(shifted.copy(), scale, fixated, thresholds)
            np.testing.assert_array_equal(got, counts_direct(shifted / scale, thresholds))


def test_auc_judd_histogram_path_equals_loop_path_on_large_maps_with_ties(monkeypatch):
    gen = torch.Generator().manual_seed(3)
    sal = torch.rand(3, 120, 160, generator=gen, dtype=torch.float64)
    sal[1] = torch.round(sal[1] * 5) / 5  # ties between fixated and other pixels
    sal[2] = sal[2] ** 12  # most of the map near zero
    fix = torch.rand(3, 120, 160, generator=gen) > 0.999
    fix[:, 0, 0] = True
    for jitter in (False, True):
        monkeypatch.setattr(functional, "_COUNT_LOOP_MAX", 64)
        loop = auc_judd(sal, fix, jitter=jitter)
        monkeypatch.setattr(functional, "_COUNT_LOOP_MAX", 0)
        histogram = auc_judd(sal, fix, jitter=jitter)
        torch.testing.assert_close(histogram, loop, rtol=0, atol=0)


def sim_direct(s: np.ndarray, g: np.ndarray) -> float:
    def distribution(m):
        if not m.any():
            return m
        m = (m - m.min()) / (m.max() - m.min())
        return m / m.sum()

    return float(np.minimum(distribution(s), distribution(g)).sum())


@pytest.mark.parametrize("shift", [0.0, 0.3, -2.0])
def test_sim_shortcuts_equal_the_similarity_m_formula(shift):
    gen = torch.Generator().manual_seed(5)
    sal = torch.rand(2, 30, 40, generator=gen, dtype=torch.float64) ** 2
    sal[:, 0, 0] = 0.0  # minimum exactly 0: the unshifted shortcut
    dens = torch.rand(2, 30, 40, generator=gen, dtype=torch.float64)
    dens[1] *= 1e-200  # sums far apart
    ours = sim(sal + shift, dens)
    for b in range(2):
        assert float(ours[b]) == pytest.approx(sim_direct((sal[b] + shift).numpy(), dens[b].numpy()), abs=1e-13)
    assert float(sim(torch.zeros(5, 5), torch.rand(5, 5))) == 0.0
    assert math.isnan(float(sim(torch.full((5, 5), 2.0), torch.rand(5, 5))))
    assert math.isnan(float(sim(torch.rand(5, 5), torch.full((5, 5), 2.0))))


def test_kld_equals_the_kldiv_m_formula():
    gen = torch.Generator().manual_seed(6)
    sal = torch.rand(2, 30, 40, generator=gen, dtype=torch.float64) ** 4
    dens = torch.rand(2, 30, 40, generator=gen, dtype=torch.float64)
    ours = kld(sal, dens)
    eps = np.finfo(np.float64).eps
    for b in range(2):
        s, g = sal[b].numpy() / sal[b].numpy().sum(), dens[b].numpy() / dens[b].numpy().sum()
        assert float(ours[b]) == pytest.approx(float(np.sum(g * np.log(eps + g / (s + eps)))), abs=1e-13)


def test_smallest_is_topk_as_sets_also_with_tied_keys():
    gen = torch.Generator().manual_seed(7)
    keys = torch.rand(50, 40, generator=gen)
    keys[3, :] = 0.5  # every key tied
    keys[4, 10:30] = keys[4].sort().values[5]  # ties at the cut
    for k in (1, 7, 39, 40):
        chosen = _smallest(keys, k)
        expected = keys.topk(k, dim=1, largest=False).indices.numpy()
        assert chosen.shape == (50, k)
        for row in range(50):
            assert sorted(chosen[row].tolist()) == sorted(expected[row].tolist())


def test_float64_inputs_are_not_modified_and_repeated_calls_agree():
    gen = torch.Generator().manual_seed(8)
    sal = torch.rand(3, 48, 64, generator=gen, dtype=torch.float64)
    fix = torch.rand(3, 48, 64, generator=gen) > 0.97
    dens = torch.rand(3, 48, 64, generator=gen, dtype=torch.float64)
    copies = sal.clone(), dens.clone()
    first = compute_saliency_metrics(sal, fix, density=dens, generator=torch.Generator().manual_seed(0))
    again = compute_saliency_metrics(sal, fix, density=dens, generator=torch.Generator().manual_seed(0))
    assert torch.equal(sal, copies[0]) and torch.equal(dens, copies[1])
    for name in first:
        assert torch.equal(first[name].isnan(), again[name].isnan())
        torch.testing.assert_close(first[name], again[name], rtol=0, atol=0, equal_nan=True)
