"""Each metric against a hand-worked example and a literal transcription of the MATLAB loop."""

import math

import numpy as np
import pytest
import torch

from wordsight.metrics.saliency import (
    auc_borji,
    auc_judd,
    cc,
    imresize,
    information_gain,
    kld,
    matlab_colon,
    nss,
    other_fixation_maps,
    shuffled_auc,
    sim,
)
from wordsight.metrics.saliency.functional import _split_aucs
from wordsight.metrics.saliency import compute_saliency_metrics
from wordsight.utils import InputError

SQUARE = torch.tensor([[0.0, 1.0], [2.0, 3.0]])


def fixation_map(shape, *points):
    fix = torch.zeros(shape, dtype=torch.bool)
    for point in points:
        fix[point] = True
    return fix


# --------------------------------------------------------------------------- hand-worked examples


def test_nss_hand_example_uses_n_minus_one_std():
    # mean 1.5, unbiased std sqrt(5 / 3): NSS at the pixel of value 3 = 1.5 / sqrt(5 / 3).
    score = nss(SQUARE, fixation_map((2, 2), (1, 1)))
    assert score.dim() == 0 and score.dtype == torch.float64
    assert float(score) == pytest.approx(1.5 / math.sqrt(5 / 3), abs=1e-15)


def test_cc_hand_example():
    # centred: a = [-1.5, -.5, .5, 1.5], b = [-1.75, -.75, .25, 2.25]; 6.5 / sqrt(5 * 8.75).
    score = cc(torch.tensor([[1.0, 2.0], [3.0, 4.0]]), torch.tensor([[1.0, 2.0], [3.0, 5.0]]))
    assert float(score) == pytest.approx(6.5 / math.sqrt(5 * 8.75), abs=1e-15)


def test_kld_hand_example_and_no_min_max():
    # uniform saliency 1/4 against g = [1/2, 0, 0, 1/2]: 2 * 1/2 * log(1/2 / 1/4) = log 2.
    score = kld(torch.ones(2, 2), torch.tensor([[1.0, 0.0], [0.0, 1.0]]))
    assert float(score) == pytest.approx(math.log(2), abs=1e-12)
    # Adding a constant changes KLD (no min-max) ...
    assert float(kld(SQUARE + 1, torch.tensor([[1.0, 0.0], [0.0, 1.0]]))) != pytest.approx(
        float(kld(SQUARE, torch.tensor([[1.0, 0.0], [0.0, 1.0]])))
    )


def test_sim_hand_example_and_min_max():
    # [0, 1/6, 1/3, 1/2] against [1/2, 1/3, 1/6, 0]: minima sum to 1/3; min-max makes +5 irrelevant.
    density = torch.tensor([[3.0, 2.0], [1.0, 0.0]])
    assert float(sim(SQUARE, density)) == pytest.approx(1 / 3, abs=1e-15)
    assert float(sim(SQUARE + 5, density)) == pytest.approx(1 / 3, abs=1e-15)


def test_information_gain_hand_example():
    # p = [0, 1/6, 1/3, 1/2]; baseline [[1, 2], [1, 3]] -> q = [0, 1/3, 0, 2/3];
    # fixations at pixels 1 and 3: mean(log2(1/6 / 1/3), log2(1/2 / 2/3)) = (-1 + log2 .75) / 2.
    score = information_gain(SQUARE, fixation_map((2, 2), (0, 1), (1, 1)), torch.tensor([[1.0, 2.0], [1.0, 3.0]]))
    assert float(score) == pytest.approx((-1 + math.log2(0.75)) / 2, abs=1e-12)


def test_auc_judd_hand_example():
    # S = [0, .25, .5, .75, 1], fixated .5 and 1: points (0,0) (0,.5) (1/3,1) (1,1) -> 11/12.
    sal = torch.tensor([[0.0, 0.25, 0.5, 0.75, 1.0]])
    assert float(auc_judd(sal, fixation_map((1, 5), (0, 2), (0, 4)))) == pytest.approx(11 / 12, abs=1e-15)


def test_auc_judd_keeps_ties_like_matlab():
    # Two fixated pixels tied at 1: i = 1 -> (fp .5, tp .5), i = 2 -> (fp 0, tp 1): area .75.
    sal = torch.tensor([[0.0, 1.0, 1.0, 0.5]])
    assert float(auc_judd(sal, fixation_map((1, 4), (0, 1), (0, 2)), jitter=False)) == pytest.approx(0.75, abs=1e-15)


def test_auc_judd_jitters_by_default_like_matlab():
    # AUC_Judd.m defaults to jitter = 1: noise < 1e-7 cannot reorder values 0.5 apart, but it splits the
    # tie of the two fixated 1s, which then both rank above every other pixel: i = 1 -> (0, .5),
    # i = 2 -> (0, 1), area 1 (0.75 when the tie is kept, above).
    sal = torch.tensor([[0.0, 1.0, 1.0, 0.5]])
    assert float(auc_judd(sal, fixation_map((1, 4), (0, 1), (0, 2)))) == pytest.approx(1.0, abs=1e-15)


def test_auc_judd_default_jitter_is_seeded_and_equals_the_matlab_loop_on_the_jittered_map():
    from wordsight.metrics.saliency import DEFAULT_METRIC_SEED

    gen = torch.Generator().manual_seed(4)
    sal = torch.round(torch.rand(2, 9, 11, generator=gen, dtype=torch.float64) * 3) / 3  # many ties
    fix = torch.rand(2, 9, 11, generator=gen) > 0.8
    first, again = auc_judd(sal, fix), auc_judd(sal, fix)
    assert torch.equal(first, again)  # no generator given: still reproducible
    noise = torch.rand(sal.shape, generator=torch.Generator().manual_seed(DEFAULT_METRIC_SEED), dtype=torch.float64)
    for b in range(2):
        jittered = (sal[b] + noise[b] / 1e7).numpy()  # AUC_Judd.m: saliencyMap + rand(size) / 10000000
        assert float(first[b]) == pytest.approx(auc_judd_matlab(jittered, fix[b].numpy()), abs=1e-12)
    assert not torch.equal(first, auc_judd(sal, fix, jitter=False))


def test_borji_split_hand_example():
    # Sth = [1, .5], negatives [.25, .5], thresholds 1:-.1:0 -> area .375 + .5.
    pos = torch.tensor([1.0, 0.5], dtype=torch.float64)
    neg = torch.tensor([[0.25, 0.5]], dtype=torch.float64)
    area = _split_aucs(pos, torch.ones(2, dtype=torch.bool), neg, torch.ones(1, 2, dtype=torch.bool), 0.1)
    assert area.tolist() == [pytest.approx(0.875, abs=1e-15)]


def test_shuffled_auc_hand_example_all_candidates_used():
    # Two other-image pixels, two fixations: every split takes both negatives (.25 and .75) -> .75.
    sal = torch.tensor([[0.0, 0.25, 0.5, 0.75, 1.0]])
    fix = fixation_map((1, 5), (0, 2), (0, 4))
    other = fixation_map((1, 5), (0, 1), (0, 3))
    assert float(shuffled_auc(sal, fix, other, num_splits=7)) == pytest.approx(0.75, abs=1e-15)


def test_matlab_colon_matches_documented_matlab_values():
    # MATLAB: (0:0.1:0.3) - (0:0.1:0.4)(1:end-1) = [0 0 -0.2776e-16 -0.5551e-16].
    values, valid = matlab_colon(torch.tensor([0.3, 0.4], dtype=torch.float64), 0.1)
    x, y = values[0][valid[0]], values[1][valid[1]][:-1]
    assert (x - y).tolist() == pytest.approx([0, 0, -2.7755575615628914e-17, -5.551115123125783e-17], abs=1e-30)
    last, valid = matlab_colon(torch.tensor([1.0, 0.05, 0.0], dtype=torch.float64), 0.1)
    assert valid.sum(1).tolist() == [11, 1, 1]
    assert float(last[0, 10]) == 1.0 and float(last[0, 5]) == 0.5


# ------------------------------------------------------------------ MATLAB loops, transcribed


def auc_judd_matlab(sal: np.ndarray, fix: np.ndarray) -> float:
    s = (sal - sal.min()) / (sal.max() - sal.min())
    s, f = s.ravel(), fix.ravel()
    sth = s[f]
    n_fix, n_pix = len(sth), len(s)
    tp, fp = np.zeros(n_fix + 2), np.zeros(n_fix + 2)
    tp[-1] = fp[-1] = 1
    for i, thresh in enumerate(np.sort(sth)[::-1], start=1):
        above = np.sum(s >= thresh)
        tp[i] = i / n_fix
        fp[i] = (above - i) / (n_pix - n_fix)
    return float(np.trapezoid(tp, fp))


def split_auc_matlab(sth: np.ndarray, curfix: np.ndarray, step: float, colon) -> float:
    threshes = colon(max(sth.max(), curfix.max()))[::-1]
    tp, fp = np.zeros(len(threshes) + 2), np.zeros(len(threshes) + 2)
    tp[-1] = fp[-1] = 1
    for i, thresh in enumerate(threshes, start=1):
        tp[i] = np.sum(sth >= thresh) / len(sth)
        fp[i] = np.sum(curfix >= thresh) / len(curfix)
    return float(np.trapezoid(tp, fp))


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_auc_judd_equals_matlab_loop_on_random_maps(seed):
    gen = torch.Generator().manual_seed(seed)
    sal = torch.rand(3, 17, 23, generator=gen, dtype=torch.float64) ** 3
    sal[1] = torch.round(sal[1] * 4) / 4  # many ties
    fix = torch.rand(3, 17, 23, generator=gen) > 0.93
    ours = auc_judd(sal, fix, jitter=False)
    for b in range(3):
        assert float(ours[b]) == pytest.approx(auc_judd_matlab(sal[b].numpy(), fix[b].numpy()), abs=1e-12)


@pytest.mark.parametrize("step", [0.1, 0.05, 0.01])
def test_split_aucs_equal_matlab_loop(step):
    gen = torch.Generator().manual_seed(3)
    pos = torch.rand(9, generator=gen, dtype=torch.float64)
    neg = torch.rand(5, 9, generator=gen, dtype=torch.float64) * 0.9
    ours = _split_aucs(pos, torch.ones(9, dtype=torch.bool), neg, torch.ones(5, 9, dtype=torch.bool), step)

    def colon(stop):
        values, valid = matlab_colon(torch.tensor([stop], dtype=torch.float64), step)
        return values[0][valid[0]].numpy()

    for s in range(5):
        assert float(ours[s]) == pytest.approx(split_auc_matlab(pos.numpy(), neg[s].numpy(), step, colon), abs=1e-12)


# ------------------------------------------------------------------------ NaN, batching, errors


def test_nan_without_fixations_and_for_constant_maps():
    empty = torch.zeros(4, 5, dtype=torch.bool)
    some = fixation_map((4, 5), (1, 1), (2, 3))
    sal = torch.rand(4, 5)
    flat = torch.full((4, 5), 0.3)
    for metric in (nss, auc_judd, auc_borji, information_gain):
        assert math.isnan(float(metric(sal, empty))), metric.__name__
        if metric is not auc_judd:  # AUC-Judd's default jitter makes a constant map random (MATLAB too)
            assert math.isnan(float(metric(flat, some))), metric.__name__
    assert math.isnan(float(auc_judd(flat, some, jitter=False)))
    assert math.isnan(float(shuffled_auc(sal, empty, some)))
    assert math.isnan(float(shuffled_auc(flat, some, some)))
    assert math.isnan(float(shuffled_auc(sal, some, empty)))  # no negatives to draw
    density = torch.rand(4, 5)
    assert math.isnan(float(cc(flat, density)))
    assert math.isnan(float(sim(flat, density)))
    assert float(sim(torch.zeros(4, 5), density)) == 0.0  # an all-zero map stays zero in similarity.m
    assert math.isfinite(float(kld(flat, density)))  # KLdiv.m has no min-max step


def test_batched_equals_one_by_one_and_saliency_is_resized():
    gen = torch.Generator().manual_seed(5)
    sal = torch.rand(4, 12, 16, generator=gen)
    fix = torch.rand(4, 24, 32, generator=gen) > 0.95
    fix[:, 5, 5] = True
    dens = torch.rand(4, 24, 32, generator=gen)
    for metric, ref in ((nss, fix), (auc_judd, fix), (information_gain, fix), (cc, dens), (kld, dens), (sim, dens)):
        batched = metric(sal, ref)
        assert batched.shape == (4,)
        for b in range(4):
            single = metric(sal[b], ref[b])
            torch.testing.assert_close(batched[b], single, rtol=1e-12, atol=1e-12)
            enlarged = imresize(sal[b], (24, 32))
            if metric is kld:  # bicubic overshoot below zero is clipped for KLD only
                enlarged = enlarged.clamp_min(0)
            resized = metric(enlarged, ref[b])
            torch.testing.assert_close(single, resized, rtol=1e-12, atol=1e-12)


def test_random_metrics_are_reproducible_with_a_generator():
    gen = torch.Generator().manual_seed(6)
    sal = torch.rand(3, 20, 20, generator=gen)
    fix = torch.rand(3, 20, 20, generator=gen) > 0.9
    other = torch.rand(3, 20, 20, generator=gen) > 0.8
    for metric, extra in ((auc_borji, ()), (shuffled_auc, (other,))):
        first = metric(sal, fix, *extra, generator=torch.Generator().manual_seed(1))
        again = metric(sal, fix, *extra, generator=torch.Generator().manual_seed(1))
        other_seed = metric(sal, fix, *extra, generator=torch.Generator().manual_seed(2))
        assert torch.equal(first, again)
        assert not torch.equal(first, other_seed)
        assert ((first > 0.3) & (first < 0.8)).all()


def test_auc_judd_jitter_breaks_ties_reproducibly():
    sal = torch.zeros(6, 6)
    sal[2:4, 2:4] = 1.0
    fix = fixation_map((6, 6), (2, 2), (0, 0))
    plain = auc_judd(sal, fix, jitter=False)
    jittered = auc_judd(sal, fix, jitter=True, generator=torch.Generator().manual_seed(0))
    assert torch.equal(jittered, auc_judd(sal, fix, jitter=True, generator=torch.Generator().manual_seed(0)))
    assert float(plain) != float(jittered)
    constant = torch.full((6, 6), 0.5)
    assert math.isnan(float(auc_judd(constant, fix, jitter=False)))
    assert math.isfinite(float(auc_judd(constant, fix, jitter=True, generator=torch.Generator().manual_seed(0))))


def test_better_maps_score_better():
    fix = fixation_map((32, 32), (10, 12), (20, 22), (15, 5))
    dens = torch.zeros(32, 32)
    dens[fix] = 1.0
    good = dens.clone() + 0.01 * torch.rand(32, 32, generator=torch.Generator().manual_seed(0))
    bad = good.max() - good
    assert float(nss(good, fix)) > float(nss(bad, fix))
    assert float(auc_judd(good, fix)) > 0.99 > 0.2 > float(auc_judd(bad, fix))  # 3 fixations: about 1/6
    assert float(cc(good, dens)) > 0.9
    assert float(kld(good, dens)) < float(kld(bad, dens))
    assert float(sim(good, dens)) > float(sim(bad, dens))


def test_other_fixation_maps_exclude_the_image_itself():
    fix = torch.zeros(4, 3, 3, dtype=torch.bool)
    for b in range(4):
        fix[b, b % 3, b // 3] = True
    others = other_fixation_maps(fix, num_other=10, generator=torch.Generator().manual_seed(0))
    for b in range(4):
        assert not (others[b] & fix[b]).any()
        assert int(others[b].sum()) == 3  # all three other images
    with pytest.raises(InputError):
        other_fixation_maps(fix[:1])


def test_bad_input_raises_input_error():
    sal = torch.rand(2, 4, 4)
    fix = torch.zeros(2, 4, 4, dtype=torch.bool)
    fix[:, 1, 1] = True
    with pytest.raises(InputError, match="batch size"):
        nss(sal, fix[:1])
    with pytest.raises(InputError, match="bool"):
        nss(sal, fix.float())
    with pytest.raises(InputError, match="non-finite"):
        nss(torch.full((2, 4, 4), math.nan), fix)
    with pytest.raises(InputError, match="dims|\\[B, H, W\\]"):
        auc_judd(torch.rand(1, 2, 4, 4), fix)
    with pytest.raises(InputError, match="negatives"):
        kld(sal - 0.5, sal)
    with pytest.raises(InputError, match="must match"):
        shuffled_auc(sal, fix, torch.zeros(2, 3, 3, dtype=torch.bool))
    with pytest.raises(InputError):
        auc_borji(sal, fix, num_splits=0)
    with pytest.raises(InputError):
        cc(sal, "not a tensor")


def test_auc_judd_bucketing_path_equals_counting_path(monkeypatch):
    # Many fixations (or non-CPU tensors) use O(N log K) bucketing instead of one count per threshold.
    import wordsight.metrics.saliency.functional as functional

    gen = torch.Generator().manual_seed(8)
    sal = torch.round(torch.rand(2, 15, 19, generator=gen, dtype=torch.float64) * 6) / 6
    fix = torch.rand(2, 15, 19, generator=gen) > 0.9
    counted = auc_judd(sal, fix, jitter=False)
    monkeypatch.setattr(functional, "_COUNT_LOOP_MAX", 0)
    torch.testing.assert_close(auc_judd(sal, fix, jitter=False), counted, rtol=0, atol=1e-15)
    for b in range(2):
        assert float(counted[b]) == pytest.approx(auc_judd_matlab(sal[b].numpy(), fix[b].numpy()), abs=1e-12)


# ------------------------------------------------------------------ MATLAB parity: eps, Borji NaN, seeds


def test_matlab_eps_is_exactly_two_to_the_minus_52():
    from wordsight.metrics.saliency import MATLAB_EPS

    assert MATLAB_EPS == 2.0**-52 == 2.220446049250313e-16


def test_kld_on_a_map_that_is_zero_where_the_density_is_uses_the_exact_eps():
    # g = [1, 0], s = [0, 1]: KLdiv.m gives 1 * log(eps + 1 / (0 + eps)) = log(2^52 + 2^-52) = 52 ln 2.
    # The rounded 2.2204e-16 would give 52 ln 2 + ln(2.220446.../2.2204) = 52 ln 2 + 2.07e-5.
    score = float(kld(torch.tensor([[0.0, 1.0]]), torch.tensor([[1.0, 0.0]])))
    assert score == pytest.approx(52 * math.log(2), abs=1e-12)


def test_information_gain_at_a_zero_valued_fixation_is_minus_52_bits_against_the_baseline():
    # The model's map is 0 at the one fixated pixel: log2(eps + 0) = -52 exactly; the uniform-ish
    # baseline [0, 1, 1, 1] (min-max, then / 3) gives log2(eps + 1/3) there, so IG = -52 - log2(1/3).
    sal = torch.tensor([[0.0, 1.0, 1.0, 1.0]])
    fix = fixation_map((1, 4), (0, 0))
    base = torch.tensor([[0.5, 1.0, 1.0, 1.0]])
    # baseline min-max: [0, 1, 1, 1] -> q at the fixation = 0 too: IG = -52 - (-52) = 0
    assert float(information_gain(sal, fix, base)) == pytest.approx(0.0, abs=1e-12)
    base = torch.tensor([[1.0, 1.0, 0.0, 1.0]])  # min-max [1, 1, 0, 1], / 3: q = 1/3 at the fixation
    expected = -52.0 - math.log2(2.0**-52 + 1 / 3)
    assert float(information_gain(sal, fix, base)) == pytest.approx(expected, abs=1e-12)


def test_auc_borji_is_nan_with_at_most_one_fixated_pixel():
    sal = torch.rand(6, 6, generator=torch.Generator().manual_seed(0))
    assert math.isnan(float(auc_borji(sal, fixation_map((6, 6), (2, 3)))))  # AUC_Borji.m: sum <= 1 -> NaN
    assert math.isfinite(float(auc_borji(sal, fixation_map((6, 6), (2, 3), (4, 1)))))
    # AUC-Judd and shuffled AUC still score a single fixation (their MATLAB checks are "no fixation")
    assert math.isfinite(float(auc_judd(sal, fixation_map((6, 6), (2, 3)))))


def test_random_aucs_are_reproducible_without_a_generator():
    gen = torch.Generator().manual_seed(9)
    sal = torch.rand(3, 12, 12, generator=gen)
    fix = torch.rand(3, 12, 12, generator=gen) > 0.9
    other = torch.rand(3, 12, 12, generator=gen) > 0.8
    torch.manual_seed(1)
    first = (auc_borji(sal, fix), shuffled_auc(sal, fix, other), compute_saliency_metrics(sal, fix))
    torch.manual_seed(2)  # the global RNG no longer matters
    second = (auc_borji(sal, fix), shuffled_auc(sal, fix, other), compute_saliency_metrics(sal, fix))
    assert torch.equal(first[0], second[0]) and torch.equal(first[1], second[1])
    for name in first[2]:
        assert torch.equal(first[2][name], second[2][name])
    # an explicit generator is still honoured
    assert not torch.equal(auc_borji(sal, fix, generator=torch.Generator().manual_seed(5)), first[0])
