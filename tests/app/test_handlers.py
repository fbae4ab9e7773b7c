"""The web demo's request handlers (wordsight.app.handlers) on the shipped models with tiny inputs: every
limit's message, refused uploads and model folders, and each tab's result. No Gradio needed."""

import io
import json
import shutil

import numpy as np
import pytest
from PIL import Image

from app_fixtures import OSIE, tiny_attngan_folder, tiny_tirg_folder
from wordsight.app import handlers as h
from wordsight.pipelines.text_to_image import SHIPPED_DIR
from wordsight.utils.checks import InputError

# the pipelines also warn about unknown words and foreign images; the handlers return those as messages
pytestmark = [pytest.mark.filterwarnings("ignore::wordsight.pipelines.text_to_image.UnknownWordsWarning"),
              pytest.mark.filterwarnings("ignore::wordsight.pipelines.text_to_image.OutOfDomainImageWarning")]


@pytest.fixture(scope="module")
def shipped():
    return h.find_text_to_image_models()[0][0]


def _png(tmp_path, size=(32, 24), name="photo.png"):
    path = tmp_path / name
    Image.new("RGB", size, (200, 30, 30)).save(path)
    return path


def test_generation_returns_n_images_and_names_unknown_words(shipped):
    out = h.generate(shipped, "a small red zebra circle", num_images=3, seed=0)
    assert len(out.images) == 3 and all(im.size == (64, 64) and im.mode == "RGB" for im in out.images)
    assert len(out.messages) == 1 and "zebra" in out.messages[0]
    again = h.generate(shipped, "a small red zebra circle", num_images=3, seed=0)
    assert np.array_equal(np.asarray(out.images[2]), np.asarray(again.images[2]))  # same seed, same images


def test_known_words_give_no_message(shipped):
    assert h.generate(shipped, h.EXAMPLE_CAPTIONS[0], num_images=1).messages == []


@pytest.mark.parametrize("caption, n, match", [
    ("x" * (h.MAX_CAPTION_CHARS + 1), 1, "201 characters; the limit is 200"),
    ("   ", 1, "caption is empty"),
    ("a red circle", h.MAX_IMAGES + 1, "between 1 and 16, got 17"),
    ("a red circle", 0, "between 1 and 16, got 0"),
    ("a red circle", 2.5, "whole number"),
])
def test_generation_limits(shipped, caption, n, match):
    with pytest.raises(InputError, match=match):
        h.generate(shipped, caption, num_images=n)


def test_truncation_and_seed_checks():
    assert h.check_truncation(0) is None and h.check_truncation(0.7) == 0.7
    with pytest.raises(InputError, match=r"truncation must be in \(0, 1\]"):
        h.check_truncation(1.5)
    with pytest.raises(InputError, match="seed must be"):
        h.check_seed(-1)


def test_compare_runs_both_models_with_the_same_seed(shipped):
    a, b = h.compare(shipped, shipped, "a big blue square", num_images=2, seed=3)
    assert len(a.images) == len(b.images) == 2
    assert np.array_equal(np.asarray(a.images[1]), np.asarray(b.images[1]))


def test_upload_limits(tmp_path, monkeypatch):
    big = tmp_path / "big.png"
    big.write_bytes(b"\0" * (h.MAX_UPLOAD_BYTES + 1))
    with pytest.raises(InputError, match="MB; the limit is 10 MB"):
        h.load_upload(big)
    text = tmp_path / "notes.png"
    text.write_text("not an image at all")
    with pytest.raises(InputError, match="notes.png is not an image"):
        h.load_upload(text)
    # a decompression bomb is refused from its header, before any decoding: 7000 x 7000 = 49 MP
    bomb = tmp_path / "bomb.png"
    Image.new("1", (7000, 7000)).save(bomb)
    assert bomb.stat().st_size < h.MAX_UPLOAD_BYTES
    monkeypatch.setattr(Image.Image, "load", lambda self: pytest.fail("decoded a too-large image"))
    with pytest.raises(InputError, match="7000x7000 = 49.0 MP; the limit is 40 MP"):
        h.load_upload(bomb)
    with pytest.raises(InputError, match="no image"):
        h.load_upload(None)


def test_upload_opens_any_mode_as_rgb(tmp_path):
    path = tmp_path / "grey.png"
    Image.new("L", (10, 7), 128).save(path)
    im = h.load_upload(str(path))
    assert im.mode == "RGB" and im.size == (10, 7)


def test_manipulation_on_a_synthetic_example_and_on_an_upload(tmp_path):
    scene, caption = h.example_scenes(1)[0]
    out = h.manipulate(scene, "a big blue square")
    assert out.original.size == out.edited.size == (64, 64) and out.messages == []
    out = h.manipulate(_png(tmp_path), "a big blue square")
    assert any("resized 32x24" in m for m in out.messages)
    with pytest.raises(InputError, match="no word of 'zebra' is known"):
        h.manipulate(scene, "zebra")
    with pytest.raises(InputError, match="change is empty"):
        h.manipulate(scene, "")


def test_saliency_on_a_small_image_with_a_16_bit_raw_map():
    out = h.saliency(Image.new("RGB", (40, 30), (200, 10, 10)), "synthetic-text", "a red circle")
    assert out.saliency.shape == (30, 40) and out.saliency.dtype == np.float32
    assert out.overlay.size == (40, 30)
    raw = Image.open(io.BytesIO(h.raw_map_png(out.saliency)))
    assert raw.mode.startswith("I") and raw.size == (40, 30)
    assert np.array_equal(np.asarray(raw).astype(np.int64), np.round(out.saliency.astype(np.float64) * 65535).astype(np.int64))


def test_a_missing_shipped_saliency_model_is_a_message(monkeypatch):
    rows = [dict(r, present=False) if r["name"] == "osie" else r for r in h.saliency_models()]
    monkeypatch.setattr(h, "shipped_models", lambda: rows)
    with pytest.raises(InputError, match="'osie' is not installed .*train_shipped_osie_saliency.sh"):
        h.saliency(Image.new("RGB", (8, 8)), "osie")
    with pytest.raises(InputError, match="unknown saliency model 'nope'"):
        h.saliency(Image.new("RGB", (8, 8)), "nope")


def test_models_dir_lists_safetensors_folders_and_refuses_pickles(tmp_path):
    good = tmp_path / "00001-dfgan" / "pipeline"
    shutil.copytree(SHIPPED_DIR, good, ignore=shutil.ignore_patterns("eval.json"))
    bad = tmp_path / "00002-dfgan" / "pipeline"
    shutil.copytree(SHIPPED_DIR, bad, ignore=shutil.ignore_patterns("eval.json"))
    (bad / "generator" / "model.pt").write_bytes(b"pickle")
    (tmp_path / "saliency").mkdir()
    (tmp_path / "saliency" / "pipeline.json").write_text(json.dumps({"model_kind": "salgan_generator"}))
    entries, refused = h.find_text_to_image_models(tmp_path)
    assert [e.key for e in entries] == [h.SHIPPED, str(good)]
    assert "dfgan (00001-dfgan, 10016 steps)" in entries[1].label and "synthetic shape world" in entries[1].label
    assert len(refused) == 1 and "pickle files (generator/model.pt)" in refused[0] and "00002-dfgan" in refused[0]
    with pytest.raises(InputError, match="pickle files"):
        h.text_to_image_pipeline(h.ModelEntry(str(bad), bad, "dfgan", "x"))
    assert len(h.generate(entries[1], "a red circle", num_images=2).images) == 2


def test_the_cache_loads_each_model_once():
    cache, calls = h.PipelineCache(size=2), []
    for key in ("a", "a", "b", "a", "c", "b"):
        cache.get(key, None, lambda: calls.append(key) or key)
    assert calls == ["a", "b", "c", "b"]  # "b" was dropped as least recently used when "c" came


def test_a_multi_stage_attention_model_gives_stages_attention_steps_and_its_oracle_table(tmp_path):
    folder = tiny_attngan_folder(tmp_path)
    entries, refused = h.find_text_to_image_models(tmp_path)
    entry = entries[1]
    assert refused == [] and entry.path == folder and entry.steps == 7 and "attngan (00003-attngan, 7 steps)" in entry.label
    assert entry.oracle == {"test": pytest.approx({"count": 0.5, "color": 0.25, "shape": 0.125, "size": 1.0,
                                                   "relation": float("nan"), "joint": 0.0}, nan_ok=True)}
    table = entry.describe()
    assert "| test | 0.50 | 0.25 | 0.12 | 1.00 | n/a | 0.00 |" in table
    out = h.generate(entry, "a small red circle", num_images=3, seed=0, score=True)
    assert [im.size for im in out.images] == [(32, 32)] * 3
    assert [im.size for im in out.stages] == [(16, 16), (32, 32)]  # the first image's stages, lowest first
    assert len(out.attention) == 3 and out.attention[0].width > 32  # seed 004 Fig. 1 sheets
    assert set(out.oracle) == {"count", "color", "shape", "size", "relation", "joint"}
    assert all(0 <= out.oracle[k] <= 1 for k in ("count", "color", "shape", "size", "joint"))


def test_the_shipped_model_shows_its_eval_json_table(shipped):
    assert shipped.steps == 10016 and shipped.data == "synthetic"
    assert set(shipped.oracle) == {"test", "heldout"}
    assert "| heldout |" in shipped.describe() and "10016 steps" in shipped.label


def test_compare_reads_both_models_with_the_oracle_and_says_when_it_cannot(shipped):
    a, b = h.compare(shipped, shipped, "a big blue square", num_images=2, seed=3)
    assert a.oracle == pytest.approx(b.oracle, nan_ok=True) and a.oracle["color"] in (0.0, 0.5, 1.0)
    assert h.generate(shipped, "a big blue square", num_images=1).oracle is None  # only when asked
    photo_model = h.ModelEntry(h.SHIPPED, None, "dfgan", "birds", data="cub")  # as if trained on CUB
    out = h.generate(photo_model, "a big blue square", num_images=1, score=True)
    assert out.oracle is None and "the oracle reads only synthetic-world images" in out.messages[-1]


def test_caption_and_edit_interpolation_strips(shipped):
    strip = h.interpolate(shipped, "a small red circle", "a big blue square", steps=5, seed=1)
    assert len(strip.images) == 5 and "left: 'a small red circle'" in strip.messages[-1]
    image, _ = h.example_scenes(1)[0]
    edit = h.manipulate_interpolation(image, "a small blue circle", "a big red square", steps=4)
    assert len(edit.strip) == 4 and edit.original.size == (64, 64)
    for steps in (1, 17, 2.5):
        with pytest.raises(InputError, match="steps must be a whole number from 2 to 16"):
            h.interpolate(shipped, "a red circle", "a blue star", steps=steps)


def test_example_captions_hold_seen_and_held_out_ones():
    seen, held_out = h.example_captions()
    assert h.EXAMPLE_CAPTIONS[0] in seen and len(held_out) >= 2 and not set(seen) & set(held_out)


def test_tirg_retrieval_from_a_gallery_folder(tmp_path):
    folder = tiny_tirg_folder(tmp_path)
    found, refused = h.find_retrieval_models(tmp_path)
    assert found == [folder] and refused == []
    gallery = h.synthetic_gallery(6, size=16)
    assert sorted(p.name for p in gallery.glob("*.png")) == [f"{i:03d}.png" for i in range(6)]
    out = h.retrieve(folder, Image.open(gallery / "000.png"), "a big red square", gallery, k=3)
    assert len(out.hits) == 3 and out.hits[0][1].startswith("1. ") and "6 gallery images" in out.messages[-1]
    with pytest.raises(InputError, match="gallery folder not found"):
        h.retrieve(folder, Image.open(gallery / "000.png"), "a big red square", tmp_path / "nope")
    (folder / "model" / "extra.pt").write_bytes(b"x")
    assert h.find_retrieval_models(tmp_path)[0] == [] and "pickle files" in h.find_retrieval_models(tmp_path)[1][0]


@pytest.mark.skipif(not (OSIE / "eye" / "fixations.mat").is_file(), reason="needs the OSIE data at ../shared/data/osie")
def test_osie_images_beside_the_human_fixations():
    stems = h.osie_stems(OSIE)
    assert len(stems) == 140  # the held-out split the shipped model never saw
    out = h.saliency_with_humans(OSIE, stems[0], "osie")
    assert out.image.size == out.predicted.size == out.human.size == (800, 600)
    assert set(out.scores) == {"NSS", "CC", "AUC-J"} and out.scores["AUC-J"] > 0.5 and out.scores["NSS"] > 0
    with pytest.raises(InputError, match="no OSIE image 'nope'"):
        h.saliency_with_humans(OSIE, "nope", "osie")
