"""evaluate_text_to_image: oracle metrics on rendered scenes vs noise, oracle FID, errors."""

from __future__ import annotations

from dataclasses import dataclass

import pytest
import torch

from wordsight.data.synthetic import SyntheticWorld, WorldConfig
from wordsight.pipelines.evaluation import build_reference_statistics, check_metric_names, evaluate_text_to_image
from wordsight.pipelines.evaluation_data import load_evaluation_data
from wordsight.utils.checks import InputError
from wordsight.utils.images import pil_to_tensor

N = 64  # scenes; the shipped oracle reads 64 px, so the renderer's images are made at 64 px


@dataclass
class _Output:
    images: torch.Tensor


class ReplayScenes:
    """A fake pipeline returning the renderer's own image of each caption's scene (in call order)."""

    def __init__(self, split: str = "test", size: int = 64, offset: int = 0):
        self.world = SyntheticWorld(WorldConfig(seed=0, image_size=size, split=split))
        self.image_size, self.offset, self.cursor = size, offset, 0

    def __call__(self, captions, num_images=1, generator=None, truncation=None):
        out = []
        for caption in captions:
            index = self.cursor
            assert caption in self.world.scene_captions(index)  # captions arrive in scene order
            out.append(pil_to_tensor(self.world.scene((index + self.offset) % N).image))
            self.cursor += 1
        return _Output(torch.stack(out))


class NoisePipeline:
    image_size = 64

    def __call__(self, captions, num_images=1, generator=None, truncation=None):
        return _Output(torch.rand(len(captions), 3, 64, 64, generator=generator) * 2 - 1)


def _evaluate(pipe, metrics=("oracle",), split="test", **kw):
    return evaluate_text_to_image(pipe, "synthetic", list(metrics), N, split=split, batch_size=32, progress=False,
                                  num_samples=4, **kw).metrics


def test_oracle_reads_rendered_scenes_and_noise_is_at_chance():
    real = _evaluate(ReplayScenes())
    # the check: >= 99% on real rendered scenes ...
    for key in ("oracle_acc/color", "oracle_acc/shape", "oracle_acc/size", "oracle_acc/count", "oracle_acc_mean"):
        assert real[key] >= 0.99, (key, real)
    # ... and chance level on noise. Chance = the same scoring on images of *other* scenes.
    chance = _evaluate(ReplayScenes(offset=N // 2))
    noise = _evaluate(NoisePipeline(), seed=1)
    assert chance["oracle_acc_mean"] < 0.6
    assert noise["oracle_acc_mean"] <= chance["oracle_acc_mean"] + 0.1, (noise, chance)
    assert noise["oracle_acc/color"] <= 0.35 and noise["oracle_acc_joint"] <= 0.05


def test_heldout_split_reports_heldout_keys():
    metrics = _evaluate(ReplayScenes(split="heldout"), split="heldout")
    assert metrics["oracle_heldout_acc_mean"] >= 0.99
    assert metrics["oracle_heldout_acc_mean"] == metrics["oracle_acc_mean"]  # every heldout scene is held out


def test_oracle_fid_is_near_zero_on_the_reference_itself(tmp_path):
    real = _evaluate(ReplayScenes(), ("oracle_fid", "oracle_kid"), stats_cache_dir=tmp_path)
    noise = _evaluate(NoisePipeline(), ("oracle_fid", "oracle_kid"), stats_cache_dir=tmp_path)
    assert abs(real["oracle_fid"]) < 1e-3 * noise["oracle_fid"]
    # the same images on both sides: the unbiased MMD^2 is slightly negative, tiny next to noise's
    assert abs(real["oracle_kid_mean"]) < 1e-2 * noise["oracle_kid_mean"]
    assert len(list(tmp_path.glob("*.safetensors"))) == 1  # one reference, cached and re-read


def test_real_stats_fill_the_cache_the_evaluation_reads(tmp_path):
    stats, data = build_reference_statistics("synthetic", "test", N, 64, "oracle", stats_cache_dir=tmp_path)
    assert stats.num_images == N and len(data.captions) == N
    cached = sorted(tmp_path.glob("*.safetensors"))
    _evaluate(ReplayScenes(), ("oracle_fid",), stats_cache_dir=tmp_path)
    assert sorted(tmp_path.glob("*.safetensors")) == cached


def test_synthetic_targets_follow_the_scenes():
    data = load_evaluation_data("synthetic", 8, 32, "test")
    world = SyntheticWorld(WorldConfig(seed=0, image_size=32, split="test"))
    for i in range(8):
        objects = sorted(world.spec(i).objects, key=lambda o: o.cx)
        assert int(data.target_attributes["count"][i]) == len(objects)
        assert (data.target_attributes["color"][i, len(objects):] == -1).all()
        assert data.captions[i] in world.scene_captions(i)
    assert not data.held_out.any()


def test_one_object_scenes_for_models_of_the_one_object_configs():
    data = load_evaluation_data("synthetic", 16, 32, "test", max_objects=1)
    assert (data.target_attributes["count"] == 1).all()
    assert (load_evaluation_data("synthetic", 16, 32, "test").target_attributes["count"] > 1).any()


def test_metric_names_are_validated_with_the_known_list():
    assert check_metric_names("oracle, oracle_fid,fid,Oracle") == ["oracle", "oracle_fid", "fid"]
    with pytest.raises(InputError, match="known: .*oracle_fid"):
        check_metric_names("fid,bogus")
    with pytest.raises(InputError, match="known"):
        check_metric_names("")


def test_oracle_metrics_need_the_synthetic_world(tmp_path):
    from PIL import Image

    for name in ("a", "b"):
        Image.new("RGB", (16, 16), (200, 10, 10)).save(tmp_path / f"{name}.png")
        (tmp_path / f"{name}.txt").write_text("a red square\n")
    with pytest.raises(InputError, match="synthetic"):
        evaluate_text_to_image(NoisePipeline(), f"folder:{tmp_path}", ["oracle"], 4, progress=False)


def test_missing_inception_weights_name_the_file(tmp_path):
    with pytest.raises(InputError, match="weights-inception-2015-12-05-6726825d.pth"):
        evaluate_text_to_image(NoisePipeline(), "synthetic", ["fid"], 4, inception_weights=tmp_path / "nope.pth",
                               progress=False)
