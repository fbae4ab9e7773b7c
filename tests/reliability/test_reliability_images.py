"""Awkward image files (truncated, empty, 1x1, 16-bit, CMYK, palette, alpha, LA, float, huge by header,
not an image) through ``load_image``, the saliency pipeline and ``wordsight saliency``: every case gives
a correct RGB image / map or one InputError naming the file."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image

from image_cases import KINDS, REFUSED, build, expected_rgb
from reliability_helpers import assert_one_line_error, run_cli
from wordsight.pipelines.saliency import Saliency
from wordsight.utils.checks import InputError
from wordsight.utils.images import load_image

AREA = "images"
SETTINGS = dict(deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
CASES = st.tuples(st.sampled_from(KINDS), st.integers(1, 24), st.integers(1, 24), st.integers(0, 255), st.integers(0, 2**32 - 1))


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    return tmp_path_factory.mktemp("images")


def _write(folder, case) -> tuple[str, object, int, int]:
    kind, w, h, value, seed = case
    data, suffix = build(kind, w, h, value, np.random.default_rng(seed))
    path = folder / f"{kind}_{w}x{h}_{value}_{seed}{suffix}"
    path.write_bytes(data)
    size = {"one_by_one": (1, 1), "strip": (w * 40, 1)}.get(kind, (w, h))
    return kind, path, size, value


def _assert_refused(err, kind: str, path) -> None:
    message = str(err)
    assert path.name in message and REFUSED[kind] in message, message
    assert "\n" not in message


@settings(max_examples=300, **SETTINGS)
@given(case=CASES, mode=st.sampled_from(["RGB", "L"]))
def test_load_image(folder, tally, case, mode):
    with tally.case():
        kind, path, size, value = _write(folder, case)
        if kind in REFUSED:
            with pytest.raises(InputError) as err:
                load_image(path, mode)
            _assert_refused(err.value, kind, path)
            return
        image = load_image(path, mode)
        assert image.mode == mode and image.size == size
        want = expected_rgb(kind, value)
        if mode == "L" and kind in ("rgba", "palette_transparent"):
            want = None  # "L" is PIL's conversion, which drops alpha (documented in load_image)
        if want is not None:
            arr = np.asarray(image, dtype=np.int64).reshape(-1, 3 if mode == "RGB" else 1)
            target = np.array(want if mode == "RGB" else [round(0.299 * want[0] + 0.587 * want[1] + 0.114 * want[2])])
            assert np.abs(arr - target).max() <= 1, (kind, arr[:2], target)


@pytest.fixture(scope="module")
def osie():
    return Saliency.from_pretrained("osie")


@pytest.fixture(scope="module")
def text_model():
    return Saliency.from_pretrained("synthetic-text")


@settings(max_examples=120, **SETTINGS)
@given(case=CASES, as_pil=st.booleans())
def test_saliency_pipeline(folder, osie, tally, case, as_pil):
    with tally.case():
        kind, path, size, _ = _write(folder, case)
        if kind in REFUSED:
            with pytest.raises(InputError) as err:
                osie.compute_saliency(path)
            _assert_refused(err.value, kind, path)
            return
        source = Image.open(path) if as_pil else path
        saliency = osie.compute_saliency(source)
        assert saliency.shape == (size[1], size[0]) and saliency.dtype == np.float32
        assert np.isfinite(saliency).all() and saliency.min() >= 0 and saliency.max() <= 1


@settings(max_examples=40, **SETTINGS)
@given(case=CASES, text=st.sampled_from(["", "a small red circle", "zzq 🐦", None]))
def test_text_saliency_pipeline(folder, text_model, tally, case, text):
    with tally.case():
        kind, path, size, _ = _write(folder, case)
        if kind in REFUSED:
            with pytest.raises(InputError) as err:
                text_model.compute_saliency(path, text="a red circle")
            _assert_refused(err.value, kind, path)
            return
        if text is None:
            with pytest.raises(InputError, match="text-guided"):
                text_model.compute_saliency(path, text=None)
            return
        saliency = text_model.compute_saliency(path, text=text)
        assert saliency.shape == (size[1], size[0]) and np.isfinite(saliency).all()


@settings(max_examples=12, **SETTINGS)
@given(case=st.tuples(st.sampled_from(["truncated", "zero_size", "huge_header", "not_image", "float_nan", "cmyk", "grey16",
                                       "rgba", "one_by_one"]), st.integers(2, 12), st.integers(2, 12), st.just(90), st.just(1)))
def test_saliency_cli(folder, tally, case):
    with tally.case():
        kind, path, _, _ = _write(folder, case)
        out = path.with_name(path.stem + "_overlay.png")
        result = run_cli(["saliency", str(path), "--out", str(out)])
        if kind in REFUSED:
            assert_one_line_error(result, path.name, REFUSED[kind])
            assert not out.exists()
        else:
            assert result.code == 0, result.err
            assert Image.open(out).size == Image.open(path).size
