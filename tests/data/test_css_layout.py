"""`wordsight data synth --layout css`: the CSS-like retrieval set (TIRG) on disk and its loader."""

import json
import shutil

import numpy as np
import pytest
import torch
from PIL import Image
from typer.testing import CliRunner

from wordsight.cli.main import app
from wordsight.data import detect_layout, inspect_layout, open_layout
from wordsight.data.css import CSSDataset, gallery_paths
from wordsight.data.export import write_css_layout
from wordsight.data.manipulation_pairs import SyntheticManipulationData
from wordsight.data.synthetic import SyntheticWorld, WorldConfig
from wordsight.pipelines.retrieval import Retrieval
from wordsight.utils.checks import InputError

SEED, SIZE, N = 7, 32, 6


def world(split: str) -> SyntheticWorld:
    return SyntheticWorld(WorldConfig(seed=SEED, image_size=SIZE, split=split, min_objects=1, max_objects=3))


@pytest.fixture(scope="module")
def written(tmp_path_factory):
    out = tmp_path_factory.mktemp("css") / "set"
    res = CliRunner().invoke(app, ["data", "synth", str(out), "--layout", "css", "--n", str(N), "--size", str(SIZE), "--seed", str(SEED)])
    assert res.exit_code == 0, res.output
    return out, res.output


@pytest.fixture
def copy(written, tmp_path):
    dst = tmp_path / "copy"
    shutil.copytree(written[0], dst)
    return dst


def test_cli_writes_every_split_and_names_the_next_commands(written):
    out, output = written
    info = json.loads((out / "css.json").read_text())
    assert info["format"] == "wordsight-css" and info["version"] == 1
    assert info["world_seed"] == SEED and info["image_size"] == SIZE
    assert info["splits"] == {"train": N, "test": 1, "heldout": 1}
    assert {s: len(CSSDataset(out, split=s)) for s in ("train", "test", "heldout")} == info["splits"]
    assert len(list((out / "images").glob("*.png"))) == 2 * (N + 2) and len(list((out / "masks").glob("*.png"))) == N + 2
    last = [line.strip() for line in output.strip().splitlines()[-2:]]
    assert last[0] == f"wordsight data inspect {out}"
    assert last[1].startswith("wordsight retrieve ") and f"--gallery {out / 'images'}" in last[1]
    assert "test_00000_source.png" in last[1]


@pytest.mark.parametrize("split", ["train", "test", "heldout"])
def test_queries_are_the_worlds_pairs_pixel_for_pixel(written, split):
    out, _ = written
    data = CSSDataset(out, split=split)
    pairs = SyntheticManipulationData(world(split), len(data))
    for i in range(len(data)):
        q, pair = data[i], pairs.pair(i)
        src, tgt = np.asarray(q["source"]), np.asarray(q["target"])
        assert np.array_equal(src, np.asarray(pair.source.convert("RGB")))
        assert np.array_equal(tgt, np.asarray(pair.target.convert("RGB")))
        assert np.array_equal(q["mask"], pair.change_mask) and q["mask"].dtype == bool
        assert (q["text"], q["source_caption"], q["target_caption"], q["operation"]) == (
            pair.instruction, pair.source_caption, pair.target_caption, pair.operation)
        assert q["index"] == i
        diff = np.any(src != tgt, axis=-1)
        assert diff[q["mask"]].any()  # the edit shows inside the mask
        assert not diff[~q["mask"]].any()  # and nowhere else


def test_api_writer_detect_inspect(tmp_path):
    out = write_css_layout(tmp_path / "api", world_seed=SEED, image_size=16, counts={"train": 3, "heldout": 2})
    assert detect_layout(out) == "css"
    assert len(open_layout(out)) == 3 and len(open_layout(out, split="heldout")) == 2
    report = inspect_layout(out)
    assert report["layout"] == "css" and report["usable"]
    assert report["splits"]["train"] == {"layout": "css", "split": "train", "queries": 3, "images": 6, "problems": 0}
    assert any("test.jsonl" in p["path"] for p in report["problems"])  # a split that was not written is reported
    gallery = gallery_paths(out, "heldout")
    assert [p.name for p in gallery] == ["heldout_00000_source.png", "heldout_00000_target.png",
                                         "heldout_00001_source.png", "heldout_00001_target.png"]
    with pytest.raises(InputError, match="split must be one of"):
        CSSDataset(out, split="val")
    with pytest.raises(InputError, match="counts needs splits"):
        write_css_layout(tmp_path / "bad", SEED, 16, {"val": 1})


def test_cli_inspect_reports_the_three_splits(written):
    res = CliRunner().invoke(app, ["data", "inspect", str(written[0])])
    assert res.exit_code == 0, res.output
    assert "css (CSS-like retrieval set" in res.output
    assert f"train: queries={N}, images={2 * N}, problems=0" in res.output
    assert "test: queries=1, images=2" in res.output and "heldout: queries=1, images=2" in res.output


def test_detected_before_other_layouts_even_with_stray_files(copy):
    (copy / "maps").mkdir()  # would look like a saliency folder
    Image.new("RGB", (8, 8)).save(copy / "stray.png")
    (copy / "stray.txt").write_text("a caption\n")  # and like a caption folder
    assert detect_layout(copy) == "css"


def test_corrupt_image_strict_and_lenient(copy):
    (copy / "images" / "train_00002_target.png").write_bytes(b"not a png")
    with pytest.raises(InputError, match=r"train_00002_target\.png: not a readable image .*train\.jsonl line 3"):
        CSSDataset(copy)
    data = CSSDataset(copy, strict=False)
    assert len(data) == N - 1 and len(data.problems) == 1
    assert "train_00002_target.png" in str(next(iter(data.problems)))


def test_missing_image_and_truncated_pixels(copy):
    (copy / "masks" / "train_00000_change.png").unlink()
    with pytest.raises(InputError, match=r"train_00000_change\.png: missing image file \(mask of train\.jsonl line 1\)"):
        CSSDataset(copy)
    path = copy / "images" / "train_00001_source.png"
    path.write_bytes(path.read_bytes()[:-40])  # the header still parses, the pixels do not
    data = CSSDataset(copy, strict=False)
    with pytest.raises(InputError, match="train_00001_source.png"):
        data[0]


def test_broken_json_line_and_missing_field(copy):
    lines = (copy / "train.jsonl").read_text().splitlines()
    lines[1] = lines[1][:-5]
    entry = json.loads(lines[3])
    del entry["text"]
    lines[3] = json.dumps(entry)
    (copy / "train.jsonl").write_text("\n".join(lines) + "\n")
    with pytest.raises(InputError) as err:
        CSSDataset(copy)
    message = str(err.value)
    assert f"{copy / 'train.jsonl'}:2: not valid JSON" in message and f"{copy / 'train.jsonl'}:4: missing field(s) text" in message
    data = CSSDataset(copy, strict=False)
    assert len(data) == N - 2 and len(data.problems) == 2
    res = CliRunner().invoke(app, ["data", "inspect", str(copy)])
    assert res.exit_code == 1 and "train.jsonl:2: not valid JSON" in res.output


def test_bad_css_json_and_count_mismatch(copy):
    info = json.loads((copy / "css.json").read_text())
    (copy / "css.json").write_text(json.dumps({**info, "splits": {**info["splits"], "test": 4}}))
    with pytest.raises(InputError, match="1 queries but css.json says 4"):
        CSSDataset(copy, split="test")
    (copy / "css.json").write_text("{broken")
    with pytest.raises(InputError, match="css.json: not valid JSON"):
        CSSDataset(copy)
    assert len(CSSDataset(copy, strict=False)) == N


def test_existing_output_needs_overwrite(written, tmp_path):
    out = tmp_path / "busy"
    out.mkdir()
    (out / "keep.txt").write_text("mine")
    res = CliRunner().invoke(app, ["data", "synth", str(out), "--layout", "css", "--n", "2", "--size", "16"])
    assert res.exit_code != 0 and isinstance(res.exception, InputError) and "--overwrite" in str(res.exception)
    assert (out / "keep.txt").read_text() == "mine"
    res = CliRunner().invoke(app, ["data", "synth", str(out), "--layout", "css", "--n", "2", "--size", "16", "--overwrite"])
    assert res.exit_code == 0, res.output
    assert not (out / "keep.txt").exists() and detect_layout(out) == "css"


class _ColourModel(torch.nn.Module):
    """A stand-in retrieval model: an image's feature is its mean colour, the text is ignored."""

    image_size = 16

    def image_features(self, images):
        return torch.nn.functional.normalize(images.mean(dim=(2, 3)) + 2.0, dim=1)

    def compose(self, images, texts):
        return self.image_features(images)


def test_images_folder_is_a_retrieval_gallery(written):
    out, _ = written
    pipe = Retrieval(_ColourModel())
    folder = pipe.index(out / "images")
    assert len(folder.paths) == 2 * (N + 2)
    split = pipe.index(gallery_paths(out, "test"))
    query = CSSDataset(out, split="test")[0]
    hits = pipe.search(query["source"], query["text"], split, k=5, exclude=query["source_path"])
    assert [h[0] for h in hits] == [str(query["target_path"])]  # the source is left out, the target remains
