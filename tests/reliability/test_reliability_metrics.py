"""Bad saliency maps and fixations (all zero, constant, NaN, inf, negative, huge or tiny values, wrong
size, wrong dtype, empty fixations, points outside the image or not whole pixels) through the saliency
metrics: each gives a finite score that passes an independent property, NaN exactly where the MIT
benchmark's score is undefined (documented: constant map, no fixations), or one InputError naming the input."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from wordsight.data.records import Fixations, SaliencyRecord
from wordsight.data.saliency_transforms import check_record, points_to_binary
from wordsight.metrics.saliency import (auc_borji, auc_judd, cc, center_bias_map, compute_saliency_metrics, fixation_density,
                                        information_gain, kld, nss, shuffled_auc, sim)
from wordsight.utils.checks import InputError

AREA = "saliency_metrics"
SETTINGS = dict(deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
FIXATION_METRICS = {"nss": nss, "auc_judd": lambda s, f: auc_judd(s, f, jitter=False), "information_gain": information_gain,
                    "auc_borji": lambda s, f: auc_borji(s, f, num_splits=5)}
DENSITY_METRICS = {"cc": cc, "sim": sim, "kld": kld}
SIZES = st.tuples(st.integers(2, 10), st.integers(2, 10))


@st.composite
def saliency_maps(draw, size=None):
    h, w = size or draw(SIZES)
    kind = draw(st.sampled_from(["random", "zero", "constant", "negative", "nan", "inf", "-inf", "huge", "tiny", "integer"]))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    arr = rng.random((h, w))
    if kind == "zero":
        arr[:] = 0
    elif kind == "constant":
        arr[:] = draw(st.floats(-1e6, 1e6))
    elif kind == "negative":
        arr -= 2.0
    elif kind in ("nan", "inf", "-inf"):
        arr[rng.integers(h), rng.integers(w)] = float(kind)
    elif kind == "huge":
        arr *= 1e300
    elif kind == "tiny":
        arr *= 1e-300
    elif kind == "integer":
        return kind, torch.from_numpy((arr * 255).astype(np.int64))
    return kind, torch.from_numpy(arr)


@st.composite
def fixation_maps(draw, size):
    h, w = size
    kind = draw(st.sampled_from(["some", "some", "empty", "one", "all"]))
    fix = torch.zeros(h, w, dtype=torch.bool)
    if kind == "some":
        for _ in range(draw(st.integers(2, 6))):
            fix[draw(st.integers(0, h - 1)), draw(st.integers(0, w - 1))] = True
    elif kind == "one":
        fix[draw(st.integers(0, h - 1)), draw(st.integers(0, w - 1))] = True
    elif kind == "all":
        fix[:] = True
    return fix


def _undefined(sal: torch.Tensor, fix: torch.Tensor | None) -> bool:
    return bool(sal.min() == sal.max()) or (fix is not None and not bool(fix.any()))


@settings(max_examples=200, **SETTINGS)
@given(data=st.data(), name=st.sampled_from(sorted(FIXATION_METRICS)))
def test_fixation_metrics(tally, data, name):
    with tally.case():
        kind, sal = data.draw(saliency_maps())
        size = data.draw(st.one_of(st.just(tuple(sal.shape)), SIZES))  # a saliency map of another size is resized
        fix = data.draw(fixation_maps(size))
        metric = FIXATION_METRICS[name]
        if kind in ("nan", "inf", "-inf"):
            with pytest.raises(InputError, match="saliency: contains 1 non-finite"):
                metric(sal, fix)
            return
        score = float(metric(sal, fix))
        if name == "auc_judd" and bool(fix.all()):  # no negatives: the ROC has no false-positive axis
            assert math.isnan(score) or 0 <= score <= 1
            return
        if name == "information_gain" and _undefined(center_bias_map(*size), None):  # e.g. 2x2: a flat baseline
            assert math.isnan(score)
            return
        if _undefined(sal, fix) or (name == "auc_borji" and int(fix.sum()) <= 1):
            assert math.isnan(score), (name, kind, score)
            return
        assert math.isfinite(score), (name, kind, score)
        if tuple(sal.shape) == size and name != "information_gain":
            ref = float(metric(sal.double() / float(sal.abs().max()) + 3.0, fix))  # monotone: same ranking
            if not math.isnan(ref):
                assert math.isfinite(score), (name, kind, score)
                if name in ("nss", "auc_judd"):
                    assert score == pytest.approx(ref, rel=1e-6, abs=1e-6), (name, kind)
        if name.startswith("auc") and not math.isnan(score):
            assert 0.0 <= score <= 1.0


@settings(max_examples=200, **SETTINGS)
@given(data=st.data(), name=st.sampled_from(sorted(DENSITY_METRICS)))
def test_density_metrics(tally, data, name):
    with tally.case():
        kind, sal = data.draw(saliency_maps())
        dkind, dens = data.draw(saliency_maps(size=data.draw(st.one_of(st.just(tuple(sal.shape)), SIZES))))
        metric = DENSITY_METRICS[name]
        if kind in ("nan", "inf", "-inf") or dkind in ("nan", "inf", "-inf"):
            with pytest.raises(InputError, match="non-finite"):
                metric(sal, dens)
            return
        if name == "kld" and ((sal < 0).any() or (dens < 0).any() or kind == "constant" and float(sal.flatten()[0]) < 0):
            with pytest.raises(InputError, match="needs values >= 0"):
                metric(sal, dens)
            return
        score = float(metric(sal, dens))
        if name == "cc" and (_undefined(sal, None) or _undefined(dens, None)):
            assert math.isnan(score)
            return
        if name == "sim" and (_undefined(sal, None) and bool(sal.any()) or _undefined(dens, None) and bool(dens.any())):
            assert math.isnan(score)
            return
        assert math.isfinite(score), (name, kind, dkind, score)
        if name == "cc":
            assert -1 - 1e-9 <= score <= 1 + 1e-9
        if name == "sim":
            assert -1e-9 <= score <= 1 + 1e-9
        if name == "kld":
            assert score >= -1e-9


@settings(max_examples=150, **SETTINGS)
@given(size=SIZES, seed=st.integers(0, 2**32 - 1), scale=st.sampled_from([1.0, 1e-300, 1e300, 7.5]))
def test_properties_of_defined_scores(tally, size, seed, scale):
    """CC is symmetric; CC, SIM, NSS and AUC do not change when the map is scaled; the density itself
    scores at least as well as a shuffled copy of it (CC, SIM, KLD) and the fixation map itself at least
    as well as a shuffled copy (NSS)."""
    with tally.case():
        rng = np.random.default_rng(seed)
        fix = torch.from_numpy(rng.random(size) < 0.3)
        fix[rng.integers(size[0]), rng.integers(size[1])] = True
        dens = fixation_density(fix)
        sal = torch.from_numpy(rng.random(size))
        assert float(cc(sal, dens)) == pytest.approx(float(cc(dens, sal)), abs=1e-9, nan_ok=True)
        for metric in (cc, sim):
            assert float(metric(sal * scale, dens)) == pytest.approx(float(metric(sal, dens)), rel=1e-6, abs=1e-9,
                                                                      nan_ok=True), metric
        for metric in (nss, lambda s, f: auc_judd(s, f, jitter=False)):
            assert float(metric(sal * scale, fix)) == pytest.approx(float(metric(sal, fix)), rel=1e-6, abs=1e-9, nan_ok=True)
        shuffled = dens.flatten()[torch.from_numpy(rng.permutation(dens.numel()))].reshape(dens.shape)
        if bool(dens.min() == dens.max()):
            return
        assert float(cc(dens, dens)) == pytest.approx(1.0)
        assert float(cc(dens, dens)) >= float(cc(shuffled, dens)) - 1e-9
        assert float(sim(dens, dens)) >= float(sim(shuffled, dens)) - 1e-9
        assert float(kld(dens, dens)) <= float(kld(shuffled, dens)) + 1e-9
        if not bool(fix.all()):
            fixf = fix.double()
            perm = fixf.flatten()[torch.from_numpy(rng.permutation(fixf.numel()))].reshape(fixf.shape)
            assert float(nss(fixf, fix)) >= float(nss(perm, fix)) - 1e-9
            assert 0 <= float(shuffled_auc(sal, fix, perm.bool(), num_splits=3)) <= 1 or bool(perm.bool().sum() == 0)


@settings(max_examples=100, **SETTINGS)
@given(data=st.data())
def test_malformed_inputs(tally, data):
    """Wrong dtype, dimension, batch or size: one InputError naming the input."""
    with tally.case():
        case = data.draw(st.sampled_from(["bool_saliency", "float_fixations", "3d_mismatch", "4d", "1d", "list",
                                          "density_fix_size", "empty", "complex"]))
        h, w = data.draw(SIZES)
        sal, fix = torch.rand(h, w), torch.rand(h, w) > 0.5
        call, want = (lambda: nss(sal, fix)), "saliency"
        if case == "bool_saliency":
            sal = fix.clone()
            want = "real-valued"
        elif case == "float_fixations":
            fix = fix.float()
            want = "bool fixation map"
        elif case == "3d_mismatch":
            sal, fix = torch.rand(2, h, w), torch.rand(3, h, w) > 0.5
            want = "batch size"
        elif case == "4d":
            sal = torch.rand(1, 1, h, w)
            want = "expected [B, H, W]"
        elif case == "1d":
            fix = fix.flatten()
            want = "fixations: expected [B, H, W]"
        elif case == "list":
            sal = sal.tolist()
            want = "expected a torch tensor"
        elif case == "density_fix_size":
            dens = torch.rand(h + 1, w)
            call = lambda: compute_saliency_metrics(sal, fix, density=dens, names=("cc",))  # noqa: E731
            want = "must match"
        elif case == "empty":
            sal = torch.rand(0, w)
            want = "empty"
        elif case == "complex":
            sal = torch.rand(h, w, dtype=torch.complex64)
            want = "real-valued"
        with pytest.raises(InputError) as err:
            call()
        assert want in str(err.value)


COORD = st.one_of(st.floats(-50, 50), st.sampled_from([math.nan, math.inf, -math.inf, -0.5, 0.0, 7.999, 8.0]))


@settings(max_examples=150, **SETTINGS)
@given(xs=st.lists(COORD, min_size=0, max_size=5), ys=st.data())
def test_fixation_points(tally, xs, ys):
    """Points outside an 8x6 image, non-integer or non-finite: ``check_record`` refuses any point that is
    not inside (and a record without gaze data); the points it accepts map to the pixel containing them."""
    with tally.case():
        y = ys.draw(st.lists(COORD, min_size=len(xs), max_size=len(xs)))
        fix = Fixations(xs, y, [0] * len(xs))
        from PIL import Image

        record = SaliencyRecord(key="r", image=Image.new("RGB", (8, 6)), fixation_map=None, fixations=fix)
        inside = [(a, b) for a, b in zip(xs, y) if 0 <= a < 8 and 0 <= b < 6]
        if len(inside) != len(xs) or not xs:
            with pytest.raises(InputError, match="outside|no fixations"):
                check_record(record)
            return
        check_record(record)
        binary = points_to_binary(fix, (6, 8), (6, 8))
        pixels = {(min(int(math.floor(b + 0.5)), 5), min(int(math.floor(a + 0.5)), 7)) for a, b in inside}  # nearest centre
        assert binary.sum() == len(pixels)
        for row, col in pixels:
            assert binary[row, col]
