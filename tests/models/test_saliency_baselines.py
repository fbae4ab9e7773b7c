"""Centre-bias and mean-fixation-map baselines: densities, fitting, resizing, saving."""

import numpy as np
import pytest
import torch
from safetensors.torch import save_file

from wordsight.models.saliency_baselines import CentreBias, MeanFixationMap, load_baseline
from wordsight.utils import InputError


def test_centre_bias_is_a_centred_density():
    d = CentreBias().predict(31, 41)
    assert d.shape == (31, 41) and d.dtype == np.float64
    assert np.isclose(d.sum(), 1.0)
    assert np.unravel_index(d.argmax(), d.shape) == (15, 20)
    assert np.allclose(d, d[::-1, ::-1])  # symmetric about the centre


def test_centre_bias_is_anisotropic_in_relative_units():
    d = CentreBias(sx=0.4, sy=0.1).predict(50, 50)
    row, col = d[25], d[:, 25]
    # wider along x (columns) than along y (rows)
    assert (row > row.max() / 2).sum() > 3 * (col > col.max() / 2).sum()


def test_centre_bias_fit_recovers_parameters_across_image_sizes():
    rng = np.random.default_rng(0)
    data = []
    for height, width in [(480, 640), (600, 800), (240, 320)]:
        x = rng.normal(0.45 * width, 0.2 * width, 5000).clip(0, width - 1)
        y = rng.normal(0.55 * height, 0.12 * height, 5000).clip(0, height - 1)
        data.append((x, y, height, width))
    fit = CentreBias.fit(data)
    assert fit.cx == pytest.approx(0.45, abs=0.01) and fit.cy == pytest.approx(0.55, abs=0.01)
    assert fit.sx == pytest.approx(0.2, abs=0.01) and fit.sy == pytest.approx(0.12, abs=0.01)
    with pytest.raises(InputError, match="at least 2"):
        CentreBias.fit([(np.array([1.0]), np.array([2.0]), 10, 10)])


def _blob(height, width, cy, cx):
    m = np.zeros((height, width))
    m[int(cy * height), int(cx * width)] = 1.0
    return m


def test_mean_map_averages_normalised_maps_of_different_sizes():
    maps = [_blob(64, 64, 0.25, 0.25), 5 * _blob(128, 96, 0.25, 0.75), np.zeros((32, 32))]
    model = MeanFixationMap.fit(maps, size=(16, 16))
    assert model.density.shape == (16, 16) and np.isclose(model.density.sum(), 1.0)
    left, right = model.density[:, :8].sum(), model.density[:, 8:].sum()
    assert left == pytest.approx(0.5, abs=1e-6) and right == pytest.approx(0.5, abs=1e-6)  # the x5 map weighs the same
    assert model.density[8:].sum() == pytest.approx(0.0, abs=1e-9)  # all mass in the top half
    pred = model.predict(48, 64)
    assert pred.shape == (48, 64) and np.isclose(pred.sum(), 1.0)
    assert pred[:24].sum() > 0.95


def test_mean_map_rejects_bad_input():
    with pytest.raises(InputError, match="no density map"):
        MeanFixationMap.fit([np.zeros((8, 8))])
    with pytest.raises(InputError, match="density map 1"):
        MeanFixationMap.fit([np.ones((8, 8)), -np.ones((8, 8))])
    with pytest.raises(InputError, match="positive"):
        MeanFixationMap(np.ones((4, 4))).predict(0, 5)


def test_predict_batch_gives_one_map_per_image():
    images = torch.zeros(3, 3, 20, 30)
    for model in (CentreBias(), MeanFixationMap(np.ones((4, 4)))):
        maps = model.predict_batch(images)
        assert maps.shape == (3, 1, 20, 30) and maps.dtype == torch.float32
        assert torch.allclose(maps.sum(dim=(-2, -1)), torch.ones(3, 1))


def test_save_and_load_round_trip(tmp_path):
    cb = CentreBias(0.4, 0.6, 0.2, 0.3)
    mm = MeanFixationMap(np.arange(12, dtype=np.float64).reshape(3, 4) + 1)
    cb.save(tmp_path / "cb.safetensors")
    mm.save(tmp_path / "mm.safetensors")
    cb2, mm2 = load_baseline(tmp_path / "cb.safetensors"), MeanFixationMap.load(tmp_path / "mm.safetensors")
    assert isinstance(cb2, CentreBias) and np.array_equal(cb2.predict(9, 11), cb.predict(9, 11))
    assert np.array_equal(mm2.density, mm.density)
    with pytest.raises(InputError, match="not a CentreBias"):
        CentreBias.load(tmp_path / "mm.safetensors")


def test_load_errors_name_the_file(tmp_path):
    with pytest.raises(InputError, match="missing.safetensors"):
        load_baseline(tmp_path / "missing.safetensors")
    other = tmp_path / "weights.safetensors"
    save_file({"w": torch.zeros(2)}, str(other))
    with pytest.raises(InputError, match="not a saved saliency baseline"):
        load_baseline(other)
    garbage = tmp_path / "garbage.safetensors"
    garbage.write_bytes(b"not a safetensors file")
    with pytest.raises(InputError, match="cannot read"):
        load_baseline(garbage)
