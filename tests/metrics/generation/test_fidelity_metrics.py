"""FID/KID/IS: equal to torch-fidelity's calculate_metrics, batch-size invariant, FID checked vs scipy."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.linalg
import torch_fidelity

from wordsight.metrics import GenerationMetricOptions, evaluate_generation, frechet_distance, module_feature_extractor
from wordsight.metrics.generation import keys
from wordsight.utils import InputError

KID_SUBSETS, KID_SUBSET_SIZE = 20, 50


@pytest.fixture(scope="module")
def tiny_spec(tiny_net_cls):
    return module_feature_extractor(
        tiny_net_cls(seed=3), "tiny-test", features=("features", "logits"), classifier_layer="logits"
    )


@pytest.fixture(scope="module")
def image_sets(make_images):
    return make_images(120, seed=1), make_images(150, seed=2, brightness=0.3)


def _ours(spec, fake, real, batch_size):
    options = GenerationMetricOptions(batch_size=batch_size, kid_subsets=KID_SUBSETS, kid_subset_size=KID_SUBSET_SIZE)
    return evaluate_generation(fake, real, ["fid", "kid", "is"], feature_extractor=spec, options=options)


def test_fid_kid_is_equal_torch_fidelity_calculate_metrics(tiny_spec, image_sets, uint8_dataset_cls):
    fake, real = image_sets
    theirs = torch_fidelity.calculate_metrics(
        input1=uint8_dataset_cls(fake), input2=uint8_dataset_cls(real), cuda=False, fid=True, kid=True, isc=True,
        feature_extractor=tiny_spec.name, kid_subsets=KID_SUBSETS, kid_subset_size=KID_SUBSET_SIZE,
        batch_size=32, cache=False, verbose=False, save_cpu_ram=True,
    )
    ours = _ours(tiny_spec, fake, real, batch_size=32)
    pairs = {
        keys.KEY_FID: torch_fidelity.KEY_METRIC_FID,
        keys.KEY_KID_MEAN: torch_fidelity.KEY_METRIC_KID_MEAN,
        keys.KEY_KID_STD: torch_fidelity.KEY_METRIC_KID_STD,
        keys.KEY_IS_MEAN: torch_fidelity.KEY_METRIC_ISC_MEAN,
        keys.KEY_IS_STD: torch_fidelity.KEY_METRIC_ISC_STD,
    }
    assert ours[keys.KEY_FID] > 1.0  # the two sets differ: a real comparison, not 0 == 0
    # FID differs from torch-fidelity's by ~3e-7 relative: its feature mean is float32, ours float64.
    for our_key, their_key in pairs.items():
        assert ours[our_key] == pytest.approx(theirs[their_key], rel=1e-6), our_key


def test_results_do_not_depend_on_batch_size(tiny_spec, image_sets):
    fake, real = image_sets
    small, large = _ours(tiny_spec, fake, real, batch_size=7), _ours(tiny_spec, fake, real, batch_size=64)
    for key, value in large.items():
        assert small[key] == pytest.approx(value, rel=1e-6), key


def test_a_one_shot_stream_of_batches_gives_the_same_result(tiny_spec, image_sets):
    fake, real = image_sets
    stream = (fake[i : i + 25] for i in range(0, fake.shape[0], 25))
    assert _ours(tiny_spec, stream, real, 16) == pytest.approx(_ours(tiny_spec, fake, real, 16), rel=1e-9)


def _scipy_fid(mu1, s1, mu2, s2):
    covmean = scipy.linalg.sqrtm(s1 @ s2).real
    return float(((mu1 - mu2) ** 2).sum() + np.trace(s1) + np.trace(s2) - 2 * np.trace(covmean))


def test_frechet_distance_matches_scipy_sqrtm_on_gaussian_features():
    rng = np.random.default_rng(0)
    a = rng.normal(size=(400, 12))
    b = rng.normal(size=(300, 12)) @ rng.normal(size=(12, 12)) * 0.4 + 0.3
    mu1, s1 = a.mean(0), np.cov(a, rowvar=False)
    mu2, s2 = b.mean(0), np.cov(b, rowvar=False)
    assert frechet_distance(mu1, s1, mu2, s2) == pytest.approx(_scipy_fid(mu1, s1, mu2, s2), rel=1e-9)


def test_frechet_distance_closed_form_for_diagonal_gaussians():
    var1, var2 = np.array([1.0, 4.0, 9.0]), np.array([4.0, 1.0, 9.0])
    mu1, mu2 = np.zeros(3), np.array([1.0, 2.0, 0.0])
    expected = 5.0 + ((np.sqrt(var1) - np.sqrt(var2)) ** 2).sum()  # |dmu|^2 + sum (sqrt a - sqrt b)^2
    assert frechet_distance(mu1, np.diag(var1), mu2, np.diag(var2)) == pytest.approx(expected, rel=1e-12)
    assert frechet_distance(mu1, np.diag(var1), mu1, np.diag(var1)) == pytest.approx(0.0, abs=1e-12)


def test_frechet_distance_rejects_mismatched_shapes():
    with pytest.raises(InputError, match="cov2"):
        frechet_distance(np.zeros(3), np.eye(3), np.zeros(3), np.eye(4))


def test_kid_subset_larger_than_the_set_is_an_input_error(tiny_spec, image_sets):
    fake, real = image_sets
    options = GenerationMetricOptions(kid_subset_size=1000)
    with pytest.raises(InputError, match="kid_subset_size=1000"):
        evaluate_generation(fake, real, ["kid"], feature_extractor=tiny_spec, options=options)


def test_float_images_are_refused_with_a_pointer_to_to_uint8(tiny_spec, image_sets):
    fake, real = image_sets
    with pytest.raises(InputError, match="to_uint8"):
        evaluate_generation(fake.float(), real, ["fid"], feature_extractor=tiny_spec)


def test_is_needs_an_extractor_with_logits(image_sets, tiny_net_cls):
    spec = module_feature_extractor(tiny_net_cls(seed=4), "no-logits", features=("features", "logits"))
    with pytest.raises(InputError, match="no classifier logits"):
        evaluate_generation(image_sets[0], None, ["is"], feature_extractor=spec)
