"""Extractors: the real torch-fidelity Inception class is built from an explicit path (no download);
module extractors wrap any network without touching the caller's module."""

from __future__ import annotations

import math

import pytest
import torch
import torch_fidelity
import torch_fidelity.feature_extractor_inceptionv3 as tf_inception

from wordsight.metrics import (
    FeatureExtractorSpec,
    GenerationMetricOptions,
    evaluate_generation,
    find_inception_weights,
    inception_extractor,
    module_feature_extractor,
)
from wordsight.metrics.extractors import INCEPTION_NAME, INCEPTION_RESIZE
from wordsight.utils import InputError


def _no_download(*args, **kwargs):
    raise AssertionError("torch-fidelity tried to download weights")


@pytest.fixture(scope="module")
def random_inception_weights(tmp_path_factory):
    """A randomly initialised state dict with the real Inception's layout (the real file is not here)."""
    path = tmp_path_factory.mktemp("weights") / "random-inception.pth"
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(tf_inception, "load_state_dict_from_url", lambda *a, **k: {})
        patch.setattr(tf_inception.FeatureExtractorInceptionV3, "load_state_dict", lambda self, sd: None)
        net = tf_inception.FeatureExtractorInceptionV3(INCEPTION_NAME, ["2048"])
    torch.save(net.state_dict(), path)
    return path


def test_inception_is_built_from_the_given_path_without_downloading(random_inception_weights, make_images, monkeypatch):
    monkeypatch.setattr(tf_inception, "load_state_dict_from_url", _no_download)
    spec = FeatureExtractorSpec(
        name=INCEPTION_NAME, fingerprint="random-test-weights", distribution_layer="2048",
        classifier_layer="logits_unbiased", resize=INCEPTION_RESIZE,
        build_kwargs={"feature_extractor_weights_path": str(random_inception_weights)},
    )
    out = evaluate_generation(
        make_images(6, size=16), make_images(6, size=16, seed=1), ["fid", "is"], feature_extractor=spec,
        options=GenerationMetricOptions(batch_size=4, isc_splits=2),
    )
    assert math.isfinite(out["fid"]) and out["fid"] >= 0
    assert math.isfinite(out["is_mean"]) and out["is_mean"] >= 1.0 - 1e-9  # IS >= 1 up to float rounding (random weights)


def test_module_extractor_does_not_modify_the_callers_module(tiny_net_cls, make_images):
    net = tiny_net_cls(seed=11).train()
    spec = module_feature_extractor(net, "untouched", features=("features", "logits"))
    evaluate_generation(make_images(8), make_images(8, seed=1), ["fid"], feature_extractor=spec)
    assert net.training and all(p.requires_grad for p in net.parameters())


def test_same_network_registers_once_and_later_edits_do_not_leak(tiny_net_cls):
    net = tiny_net_cls(seed=12)
    first = module_feature_extractor(net, "same")
    assert module_feature_extractor(tiny_net_cls(seed=12), "same").name == first.name
    with torch.no_grad():
        net.conv.weight.add_(1.0)
    assert module_feature_extractor(net, "same").name != first.name


def test_input_range_maps_uint8_to_float_for_the_module(make_images):
    class Mean(torch.nn.Module):
        def forward(self, x):
            assert x.dtype == torch.float32 and x.min() >= -1 and x.max() <= 1
            return x.mean(dim=(2, 3))

    spec = module_feature_extractor(Mean(), "range", input_range=(-1.0, 1.0))
    module = spec.build([spec.distribution_layer])
    images = torch.full((2, 3, 4, 4), 255, dtype=torch.uint8)
    (features,) = module(images)
    assert torch.allclose(features, torch.ones(2, 3))


def test_unknown_layer_and_method_are_input_errors(tiny_net_cls):
    with pytest.raises(InputError, match="not among"):
        module_feature_extractor(tiny_net_cls(), "bad", classifier_layer="logits")
    with pytest.raises(InputError, match="no method"):
        module_feature_extractor(tiny_net_cls(), "bad", method="embed")


def test_bad_device_is_an_input_error(tiny_net_cls):
    spec = module_feature_extractor(tiny_net_cls(seed=13), "dev")
    with pytest.raises(InputError, match="device"):
        spec.build(["features"], device="mps")


@pytest.mark.slow
def test_real_inception_matches_torch_fidelity_defaults(make_images, uint8_dataset_cls, monkeypatch):
    """With the real weights in the cache folder: our FID/IS equal torch-fidelity's default pipeline."""
    try:
        path = find_inception_weights()
    except InputError as exc:
        pytest.skip(str(exc))
    monkeypatch.setattr(tf_inception, "load_state_dict_from_url", _no_download)
    fake, real = make_images(60, size=32), make_images(60, size=32, seed=1, brightness=0.2)
    options = GenerationMetricOptions(batch_size=20, isc_splits=2)
    ours = evaluate_generation(fake, real, ["fid", "is"], feature_extractor=inception_extractor(path), options=options)
    theirs = torch_fidelity.calculate_metrics(
        input1=uint8_dataset_cls(fake), input2=uint8_dataset_cls(real), cuda=False, fid=True, isc=True,
        isc_splits=2, feature_extractor_weights_path=str(path), cache=False, verbose=False, save_cpu_ram=True,
    )
    assert ours["fid"] == pytest.approx(theirs[torch_fidelity.KEY_METRIC_FID], rel=1e-6)
    assert ours["is_mean"] == pytest.approx(theirs[torch_fidelity.KEY_METRIC_ISC_MEAN], rel=1e-6)


def test_networks_with_batchnorm_buffers_are_fingerprinted_and_run_in_eval_mode(make_images):
    net = torch.nn.Sequential(torch.nn.Conv2d(3, 4, 3), torch.nn.BatchNorm2d(4), torch.nn.AdaptiveAvgPool2d(1),
                              torch.nn.Flatten())
    spec = module_feature_extractor(net, "with-bn", input_range=(-1.0, 1.0))
    module = spec.build([spec.distribution_layer])
    assert not module.training
    images = make_images(6, size=8)
    (one_by_one,) = zip(*[module(images[i : i + 1]) for i in range(6)])
    (batched,) = module(images)
    assert torch.allclose(torch.cat(one_by_one), batched, atol=1e-6)  # eval-mode BN: no batch statistics
