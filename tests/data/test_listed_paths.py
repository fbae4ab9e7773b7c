"""Regressions found by tests/reliability: paths listed inside data files (filenames.pickle keys, COCO
file_name, manifest entries) that leave the data set folder, and manifest fields that are not strings."""

import json

import pytest

from data_fixtures import captioned, saliency_records, square_image
from wordsight.data.attngan import CUBDataset
from wordsight.data.coco import COCOCaptionsDataset
from wordsight.data.export import write_cub_layout, write_saliency_manifest
from wordsight.data.manifest import ManifestDataset
from wordsight.data.safe_pickle import dump_pickle, load_pickle
from wordsight.utils.checks import InputError


def test_attngan_key_with_dotdot_is_refused(tmp_path, class_names):
    root = tmp_path / "birds"
    write_cub_layout(root, captioned(2), class_names=class_names)
    keys = load_pickle(root / "train" / "filenames.pickle")
    (root / "train" / "filenames.pickle").write_bytes(dump_pickle([keys[0], "../../../etc/passwd"]))
    with pytest.raises(InputError, match=r"key '\.\./\.\./\.\./etc/passwd' must be a relative path inside"):
        CUBDataset(root, "train")
    assert [r.key for r in CUBDataset(root, "train", strict=False).items] == [keys[0]]


def test_coco_file_name_outside_is_refused(tmp_path):
    (tmp_path / "annotations").mkdir()
    (tmp_path / "val2014").mkdir()
    square_image(0).save(tmp_path / "val2014" / "a.jpg")
    square_image(1).save(tmp_path / "b.jpg")
    images = [{"id": 1, "file_name": "a.jpg"}, {"id": 2, "file_name": "../b.jpg"}]
    anns = [{"id": 1, "image_id": 1, "caption": "x"}, {"id": 2, "image_id": 2, "caption": "y"}]
    (tmp_path / "annotations" / "captions_val2014.json").write_text(json.dumps({"images": images, "annotations": anns}))
    with pytest.raises(InputError, match=r"image id 2: file_name '\.\./b\.jpg' must be a relative path inside"):
        COCOCaptionsDataset(tmp_path, "val")


def _manifest_with(tmp_path, **fields):
    data = tmp_path / "data"
    write_saliency_manifest(data, saliency_records(2))
    lines = (data / "manifest.jsonl").read_text().splitlines()
    entry = {**json.loads(lines[0]), **fields}
    (data / "manifest.jsonl").write_text("\n".join([json.dumps(entry), lines[1]]) + "\n")
    return data


def test_manifest_inside_root(tmp_path):
    square_image(0).save(tmp_path / "outside.png")
    data = _manifest_with(tmp_path, image="../outside.png")
    assert len(ManifestDataset(data)) == 2  # by default a manifest may point next to its folder
    with pytest.raises(InputError, match=r"manifest.jsonl:1: image '\.\./outside\.png' is outside the data set folder"):
        ManifestDataset(data, inside_root=True)
    assert len(ManifestDataset(data, strict=False, inside_root=True)) == 1


@pytest.mark.parametrize("field,value", [("image", 5), ("map", True), ("points", ["a"]), ("key", ["k"])])
def test_manifest_non_string_paths(tmp_path, field, value):
    data = _manifest_with(tmp_path, **{field: value})  # used to raise TypeError from Path / value
    with pytest.raises(InputError, match=f"manifest.jsonl:1: {field} must be a path string or null"):
        ManifestDataset(data)
