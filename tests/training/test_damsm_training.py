"""DAMSM pre-training on tiny synthetic scenes: the loss falls, files are written, R-precision is sane."""

import json

import pytest
import torch

from wordsight.config import ConfigError
from wordsight.data.records import CaptionedImage
from wordsight.data.synthetic import SyntheticWorld, WorldConfig
from wordsight.hub import from_pretrained
from wordsight.utils.checks import InputError
from wordsight.training.checkpoint import list_checkpoints
from wordsight.training.damsm import (
    DAMSMTrainConfig,
    NonFiniteDAMSMLossError,
    _ItemPool,
    _sample_batch,
    build_synthetic_damsm,
    damsm_embeddings,
    damsm_r_precision,
    damsm_step_loss,
    train_damsm,
    vocabulary_from_data,
)

SIZE = 16


@pytest.fixture(scope="module")
def world():
    return SyntheticWorld(WorldConfig(seed=0, image_size=SIZE, split="train"))


def _tiny_pair(world, seed=0):
    torch.manual_seed(seed)
    return build_synthetic_damsm(world, image_size=SIZE, channels=(8, 16), embed_dim=16, word_embedding_dim=8, vocabulary_items=64)


def _cfg(**kwargs):
    base = dict(steps=3, batch_size=4, image_size=SIZE, num_items=16, log_every=2, eval_images=12, progress=False)
    return DAMSMTrainConfig(**{**base, **kwargs})


def test_loss_decreases_on_a_fixed_tiny_batch(world):
    text_encoder, image_encoder = _tiny_pair(world)
    text_encoder.drop.p = 0.0  # a fixed batch: dropout noise would blur the comparison
    cfg = _cfg(mixed_precision="no")
    images, captions, class_ids = _sample_batch(_ItemPool(world, 16, SIZE), 6, torch.Generator().manual_seed(0))
    params = list(text_encoder.parameters()) + list(image_encoder.parameters())
    optimizer = torch.optim.Adam(params, lr=3e-3, betas=(0.5, 0.999))
    losses = []
    for _ in range(25):
        loss = damsm_step_loss(text_encoder, image_encoder, images, captions, class_ids, cfg).total
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    assert losses[-1] < 0.5 * losses[0]


def test_step_loss_under_bf16_is_float32_and_has_gradients(world):
    text_encoder, image_encoder = _tiny_pair(world)
    images, captions, class_ids = _sample_batch(_ItemPool(world, 16, SIZE), 4, torch.Generator().manual_seed(1))
    loss = damsm_step_loss(text_encoder, image_encoder, images, captions, class_ids, _cfg(mixed_precision="bf16"))
    assert loss.total.dtype == torch.float32
    loss.total.backward()
    assert text_encoder.encoder.weight.grad.abs().sum() > 0
    assert image_encoder.emb_features.weight.grad.abs().sum() > 0


def test_batches_hold_distinct_items_and_labels(world):
    pool = _ItemPool(world, 8, SIZE)
    images, captions, class_ids = _sample_batch(pool, 8, torch.Generator().manual_seed(0))
    assert images.shape == (8, 3, SIZE, SIZE) and images.min() >= -1 and images.max() <= 1
    assert len({tuple(img.flatten().tolist()) for img in images}) == 8  # a permutation of the 8 items
    assert class_ids.shape == (8,) and sorted(class_ids.tolist()) == sorted(world.scene(i).label for i in range(8))
    every_caption = {c for i in range(8) for c in world.scene(i).captions}
    assert set(captions) <= every_caption


def test_train_damsm_writes_encoders_and_metrics(world, tmp_path):
    text_encoder, image_encoder = _tiny_pair(world)
    result = train_damsm(world, text_encoder, image_encoder, _cfg(), tmp_path / "run")
    assert result.steps == 3 and [h["step"] for h in result.history] == [2, 3]
    metrics = json.loads((tmp_path / "run" / "metrics.json").read_text())
    assert metrics["config"]["lr"] == 2e-4 and metrics["config"]["betas"] == [0.5, 0.999]
    assert metrics["r_precision"]["num_images"] == 12 and metrics["r_precision"]["chance"] == 0.01
    assert 0.0 <= metrics["r_precision"]["r_precision"] <= 1.0
    assert len((tmp_path / "run" / "metrics.jsonl").read_text().splitlines()) == 2
    # save/load round trip: the reloaded pair gives the same embeddings
    text2, image2 = from_pretrained(tmp_path / "run" / "text_encoder"), from_pretrained(tmp_path / "run" / "image_encoder")
    scenes = [world.scene(100 + i) for i in range(3)]
    imgs, caps = [s.image for s in scenes], [s.captions[0] for s in scenes]
    for a, b in zip(damsm_embeddings(text_encoder, image_encoder, imgs, caps), damsm_embeddings(text2, image2, imgs, caps)):
        assert torch.allclose(a, b)


def test_train_damsm_on_a_plain_dataset_without_labels(tmp_path, world):
    records = [CaptionedImage(key=str(i), image=world.scene(i, size=24).image, captions=world.scene(i).captions) for i in range(6)]
    text_encoder, image_encoder = _tiny_pair(world)
    result = train_damsm(records, text_encoder, image_encoder, _cfg(steps=2, num_items=None), tmp_path / "run")
    assert result.r_precision is None  # no fresh data known for a plain dataset
    assert (tmp_path / "run" / "image_encoder" / "model.safetensors").exists()


def test_non_finite_loss_is_reported(world, tmp_path):
    text_encoder, image_encoder = _tiny_pair(world)
    with torch.no_grad():
        image_encoder.emb_cnn_code.bias.fill_(float("nan"))
    with pytest.raises(NonFiniteDAMSMLossError, match="step 0"):
        train_damsm(world, text_encoder, image_encoder, _cfg(), tmp_path / "run")


def test_embeddings_shapes_modes_and_errors(world):
    text_encoder, image_encoder = _tiny_pair(world)
    text_encoder.train()
    image_encoder.eval()
    images = torch.rand(5, 3, SIZE, SIZE) * 2 - 1
    caps = [world.scene(i).captions[0] for i in range(5)]
    image_emb, sentence = damsm_embeddings(text_encoder, image_encoder, images, caps, batch_size=2)
    assert image_emb.shape == (5, 16) and sentence.shape == (5, 16)
    assert text_encoder.training and not image_encoder.training  # modes restored
    again = damsm_embeddings(text_encoder, image_encoder, images, caps)
    assert torch.allclose(sentence, again[1])  # eval mode: no dropout noise
    with pytest.raises(Exception, match="5 images but 4 captions"):
        damsm_embeddings(text_encoder, image_encoder, images, caps[:4])


def test_r_precision_is_deterministic_and_needs_ten_items(world):
    text_encoder, image_encoder = _tiny_pair(world)
    test_world = SyntheticWorld(WorldConfig(seed=0, image_size=SIZE, split="test"))
    a = damsm_r_precision(text_encoder, image_encoder, test_world, num_images=20, num_distractors=9, seed=3)
    b = damsm_r_precision(text_encoder, image_encoder, test_world, num_images=20, num_distractors=9, seed=3)
    assert a == b and a["chance"] == pytest.approx(0.1)
    with pytest.raises(Exception, match="at least 10"):
        damsm_r_precision(text_encoder, image_encoder, test_world, num_images=5)


def test_vocabulary_covers_the_training_captions(world):
    vocab = vocabulary_from_data(world, 64)
    ids, _ = vocab.encode_batch([world.scene(500).captions[0]], 18, False, "head", None)
    assert vocab.unk_id not in ids.flatten().tolist()


@pytest.mark.parametrize("kwargs", [{"batch_size": 1}, {"steps": 0}, {"mixed_precision": "fp16"}, {"num_items": 2},
                                    {"checkpoint_every": 0}, {"keep_last": 0}])
def test_config_errors(kwargs):
    with pytest.raises(ConfigError):
        DAMSMTrainConfig(**kwargs)


def test_checkpoints_during_the_run_and_none_after_it(world, tmp_path, monkeypatch):
    import wordsight.training.damsm as damsm

    real, calls = damsm._sample_batch, []

    def crash_on_third(*args):
        calls.append(1)
        if len(calls) == 3:
            raise RuntimeError("simulated crash")
        return real(*args)

    monkeypatch.setattr(damsm, "_sample_batch", crash_on_third)
    with pytest.raises(RuntimeError, match="simulated crash"):
        train_damsm(world, *_tiny_pair(world), _cfg(checkpoint_every=1, keep_last=1), tmp_path / "run")
    (ckpt,) = [p for _, p in list_checkpoints(tmp_path / "run")]
    assert ckpt.name == "checkpoint-2"  # keep_last=1
    assert {p.name for p in ckpt.iterdir()} == {"text_encoder.safetensors", "image_encoder.safetensors", "models.json",
                                                 "state.safetensors", "state.json", "config.yaml"}
    monkeypatch.setattr(damsm, "_sample_batch", real)
    result = train_damsm(world, *_tiny_pair(world), _cfg(checkpoint_every=1, keep_last=1), tmp_path / "run", resume="latest")
    assert result.steps == 3 and [h["step"] for h in result.history] == [2, 3]
    assert [json.loads(line)["step"] for line in (tmp_path / "run" / "metrics.jsonl").read_text().splitlines()] == [2, 3]
    assert list_checkpoints(tmp_path / "run") == []


def test_synthetic_recipe_takes_the_number_of_objects(monkeypatch, tmp_path):
    import wordsight.training.damsm as damsm

    seen = {}
    monkeypatch.setattr(damsm, "train_damsm", lambda world, *a, **k: seen.setdefault("world", world))
    damsm.train_damsm_synthetic(tmp_path, DAMSMTrainConfig(steps=1, batch_size=2, image_size=16), max_objects=1)
    world = seen["world"]
    assert (world.config.min_objects, world.config.max_objects) == (1, 1)
    assert all(len(world.scene(i).objects) == 1 for i in range(20))
    assert damsm._fresh_eval_data(world).config.max_objects == 1  # R-precision on one-object test scenes too


def test_synthetic_recipe_continues_from_a_saved_folder(monkeypatch, tmp_path):
    import wordsight.training.damsm as damsm
    from wordsight.hub import save_pretrained

    world = SyntheticWorld(WorldConfig(seed=0, image_size=16))
    text_encoder, image_encoder = build_synthetic_damsm(world, image_size=16, channels=(4, 8), embed_dim=8,
                                                        word_embedding_dim=8, vocabulary_items=32)
    save_pretrained(text_encoder, tmp_path / "a" / "text_encoder")
    save_pretrained(image_encoder, tmp_path / "a" / "image_encoder")
    seen = {}
    monkeypatch.setattr(damsm, "train_damsm", lambda world, te, ie, *a, **k: seen.update(te=te, ie=ie))
    damsm.train_damsm_synthetic(tmp_path / "b", DAMSMTrainConfig(steps=1, batch_size=2, image_size=16), init_from=tmp_path / "a")
    for got, want in ((seen["ie"], image_encoder), (seen["te"], text_encoder)):
        assert all(torch.equal(got.state_dict()[k], v) for k, v in want.state_dict().items())
    with pytest.raises(InputError, match="init_from: no DAMSM text encoder"):
        damsm.train_damsm_synthetic(tmp_path / "c", DAMSMTrainConfig(steps=1, batch_size=2, image_size=16), init_from=tmp_path / "none")
    with pytest.raises(InputError, match="trained at 16 px"):
        damsm.train_damsm_synthetic(tmp_path / "c", DAMSMTrainConfig(steps=1, batch_size=2, image_size=32), init_from=tmp_path / "a")
