"""The saliency pipeline: save/load round trip, original-size maps, text handling, bad input; and the
evaluation against baselines (pipelines/saliency_evaluation.py)."""

import hashlib

import numpy as np
import pytest
import torch
from PIL import Image

from wordsight.data.records import Fixations, SaliencyRecord
from wordsight.models.salgan import SalGANGenerator
from wordsight.models.salicon import SALICON
from wordsight.models.text_salgan import TextSalGANGenerator
from wordsight.pipelines.saliency import SHIPPED_DIR, Saliency, image_tensor
from wordsight.pipelines.saliency_evaluation import (
    baseline_predictors,
    check_record,
    evaluate_predictors,
    format_table,
)
from wordsight.utils import InputError


class HashEncoder:
    """A deterministic stand-in for a sentence encoder (8-d vectors from a hash of the text)."""

    sentence_dim = 8

    def encode(self, texts):
        rows = [np.frombuffer(hashlib.sha256(t.encode()).digest()[:8], dtype=np.uint8) / 255.0 for t in texts]

        class Out:
            sentence = torch.tensor(np.stack(rows), dtype=torch.float32)

        return Out()


def _image(w=40, h=30, seed=0):
    rng = np.random.default_rng(seed)
    return Image.fromarray(rng.integers(0, 255, (h, w, 3), dtype=np.uint8))


def _text_pipe():
    torch.manual_seed(0)
    model = TextSalGANGenerator(text_dim=8, arch="small", width=1 / 16, text_channels=4)
    return Saliency(model, (16, 16), HashEncoder(), {"name": "minilm", "options": {}})


def test_round_trip_keeps_maps_and_original_size(tmp_path):
    torch.manual_seed(0)
    pipe = Saliency(SalGANGenerator(width=1 / 16, frozen_blocks=0), (32, 32))
    image = _image()
    before = pipe.compute_saliency(image)
    assert before.shape == (30, 40) and before.dtype == np.float32
    assert 0 <= before.min() and before.max() <= 1
    pipe.save_pretrained(tmp_path / "p")
    loaded = Saliency.from_pretrained(tmp_path / "p")
    assert loaded.input_size == (32, 32) and loaded.kind == "salgan_generator"
    np.testing.assert_allclose(loaded.compute_saliency(image), before, atol=1e-6)
    image.save(tmp_path / "x.png")
    np.testing.assert_allclose(loaded.compute_saliency(tmp_path / "x.png"), before, atol=1e-6)


def test_device_defaults_to_cuda_when_present_and_can_be_named(tmp_path):
    torch.manual_seed(0)
    pipe = Saliency(SalGANGenerator(width=1 / 16, frozen_blocks=0), (32, 32))
    assert pipe.device.type == ("cuda" if torch.cuda.is_available() else "cpu")
    pipe.save_pretrained(tmp_path / "p")
    on_cpu = Saliency.from_pretrained(tmp_path / "p", device="cpu")
    assert on_cpu.device.type == "cpu" and next(on_cpu.model.parameters()).device.type == "cpu"
    assert on_cpu.compute_saliency(_image()).shape == (30, 40)  # a CPU numpy map wherever the model runs


def test_salicon_map_is_upsampled_to_the_image():
    torch.manual_seed(0)
    model = SALICON(fine_size=(64, 64), coarse_size=(32, 32), width=1 / 16, frozen_blocks=0)
    torch.nn.init.normal_(model.saliency_map.weight)  # the published init is all zeros (a flat map)
    sal = Saliency(model, (64, 64)).compute_saliency(_image(50, 20))
    assert sal.shape == (20, 50) and sal.std() > 0


def test_text_guided_model_needs_text_and_uses_it(tmp_path):
    pipe = _text_pipe()
    image = _image()
    with pytest.raises(InputError, match="text-guided"):
        pipe.compute_saliency(image)
    a = pipe.compute_saliency(image, text="a red circle")
    b = pipe.compute_saliency(image, text="a blue star")
    free = pipe.compute_saliency(image, text="")
    assert not np.allclose(a, b) and not np.allclose(a, free)
    pipe.save_pretrained(tmp_path / "t")
    loaded = Saliency.from_pretrained(tmp_path / "t", text_encoder=HashEncoder())
    np.testing.assert_allclose(loaded.compute_saliency(image, text="a red circle"), a, atol=1e-6)


def test_bad_inputs_raise_input_error(tmp_path):
    pipe = Saliency(SalGANGenerator(width=1 / 16), (16, 16))
    not_image = tmp_path / "notes.png"
    not_image.write_text("not an image")
    with pytest.raises(InputError, match="notes.png"):
        pipe.compute_saliency(not_image)
    with pytest.raises(InputError, match="not found"):
        pipe.compute_saliency(tmp_path / "missing.jpg")
    with pytest.raises(InputError, match="does not read text"):
        pipe.compute_saliency(_image(), text="a red circle")
    with pytest.raises(InputError, match="no pipeline.json"):
        Saliency.from_pretrained(tmp_path)
    with pytest.raises(InputError, match="more than"):
        _text_pipe().compute_saliency(_image(), text="word " * 65)


def test_image_tensor_matches_training_preprocessing():
    x = image_tensor(_image(40, 30), (16, 24))
    assert x.shape == (3, 16, 24) and -1 <= x.min() and x.max() <= 1


@pytest.mark.skipif(not (SHIPPED_DIR / "pipeline.json").exists(), reason="shipped model not built")
def test_shipped_model_loads_and_follows_text():
    pipe = Saliency.from_pretrained("synthetic-text")
    from wordsight.data.synthetic import SyntheticWorld, WorldConfig

    world = SyntheticWorld(WorldConfig(seed=0, image_size=64, split="test"))
    rec = world.saliency_record(0, "salient")
    sal = pipe.compute_saliency(rec.image, text=rec.text)
    assert sal.shape == (64, 64) and np.isfinite(sal).all()


# ---------------------------------------------------------------------------- evaluation
def _record(key, h=24, w=32, points=((10, 12), (20, 5)), category=None, fmap=None):
    xs, ys = zip(*points)
    fix = Fixations(np.array(xs, float), np.array(ys, float), np.zeros(len(xs), int))
    return SaliencyRecord(key, Image.new("RGB", (w, h)), fixation_map=fmap, fixations=fix, category=category)


def test_check_record_refuses_bad_ground_truth():
    with pytest.raises(InputError, match="fixation map is 5x5 but the image is 32x24"):
        check_record(_record("a", fmap=np.ones((5, 5))))
    with pytest.raises(InputError, match="outside"):
        check_record(_record("b", points=((40, 3), (1, 1))))
    empty = SaliencyRecord("c", Image.new("RGB", (32, 24)), fixation_map=np.zeros((24, 32)))
    with pytest.raises(InputError, match="all zeros"):
        check_record(empty)
    with pytest.raises(InputError, match="negative"):
        check_record(_record("d", fmap=-np.ones((24, 32))))


def test_evaluation_ranks_the_truth_above_baselines_and_splits_categories():
    from wordsight.data.synthetic import SyntheticWorld, WorldConfig

    world = SyntheticWorld(WorldConfig(seed=0, image_size=32))
    train = [world.saliency_record(i, c) for i in range(6) for c in ("none", "salient")]
    test = [world.saliency_record(i, c) for i in range(6, 12) for c in ("none", "salient")]
    predictors = {"oracle": lambda r: r.fixation_map, **baseline_predictors(train)}
    result = evaluate_predictors(predictors, test, metrics=("auc_judd", "nss", "cc"))
    s = result.summary
    assert set(s["oracle"]) == {"total", "none", "salient"}
    for m in ("nss", "cc", "auc_judd"):
        assert s["oracle"]["total"][m] > s["centre_bias"]["total"][m]
    table = format_table(result)
    assert "| oracle | salient |" in table and "NSS" in table
    with pytest.raises(InputError, match="predicted map"):
        evaluate_predictors({"bad": lambda r: np.zeros((3, 3))}, test[:2], metrics=("nss",))


def _point_record(key, size, points, path=None):
    h, w = size
    fix = Fixations(x=np.array([p[1] for p in points], float), y=np.array([p[0] for p in points], float),
                    observer=np.zeros(len(points), int))
    return SaliencyRecord(key=key, image=Image.new("RGB", (w, h)), fixations=fix, path=path)


def test_shuffled_auc_negatives_come_from_the_pool_never_from_the_image_itself():
    from wordsight.pipelines.saliency_evaluation import _fixated_points, _other_fixations

    target = _point_record("a", (10, 20), [(1, 1)], path="img/a.jpg")
    same_photo = _point_record("a-text", (10, 20), [(9, 19)], path="img/a.jpg")  # the same photo, another text
    other = _point_record("b", (20, 40), [(10, 30), (0, 0)], path="img/b.jpg")  # twice the size
    pool = [target, same_photo, other]
    points = [_fixated_points(r.binary_map()) for r in pool]
    binary = target.binary_map()
    [union] = _other_fixations([target], [binary], pool, points, 10, np.random.default_rng(0))
    # only b's fixations, moved to a's size: (10, 30) -> (5, 15), (0, 0) -> (0, 0)
    expected = np.zeros((10, 20), bool)
    expected[5, 15] = expected[0, 0] = True
    assert np.array_equal(union, expected)
    [none] = _other_fixations([target], [binary], [target, same_photo], points[:2], 10, np.random.default_rng(0))
    assert none is None


def test_evaluation_draws_shuffled_negatives_from_the_whole_pool():
    rng = np.random.default_rng(0)
    test = [_point_record(f"t{i}", (24, 24), [tuple(rng.integers(0, 24, 2)) for _ in range(6)]) for i in range(3)]
    # the pool's other images are fixated only at the centre: shuffled AUC of a centre map drops to ~0.5
    pool = test + [_point_record(f"p{i}", (24, 24), [(12, 12), (11, 12), (12, 11)]) for i in range(20)]
    centre = np.zeros((24, 24))
    centre[8:16, 8:16] = 1.0
    predictors = {"centre": lambda r: centre}
    within = evaluate_predictors(predictors, test, metrics=("shuffled_auc",), num_other=2)
    whole = evaluate_predictors(predictors, test, metrics=("shuffled_auc",), num_other=2, other_pool=pool)
    assert within.summary["centre"]["total"]["shuffled_auc"] != whole.summary["centre"]["total"]["shuffled_auc"]
    assert whole.summary["centre"]["total"]["shuffled_auc"] < 0.55
