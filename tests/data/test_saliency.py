import json

import numpy as np
import pytest
from PIL import Image

from data_fixtures import saliency_records, square_image
from wordsight.data.export import map_to_uint8, write_saliency_folder, write_saliency_manifest
from wordsight.data.manifest import ManifestDataset
from wordsight.data.saliency import SaliencyFolderDataset
from wordsight.data.saliency_sets import MIT1003Dataset, SALICONDataset
from wordsight.utils.checks import InputError


def test_folder_round_trip(tmp_path):
    recs = saliency_records(3, text=None)
    write_saliency_folder(tmp_path, recs)
    ds = SaliencyFolderDataset(tmp_path)
    assert len(ds) == 3
    got = ds[1]
    assert got.key == "s01" and got.image.size == (32, 32)
    np.testing.assert_allclose(got.fixation_map, map_to_uint8(recs[1].fixation_map) / 255.0)
    np.testing.assert_allclose(got.fixations.x, recs[1].fixations.x)
    np.testing.assert_array_equal(got.fixations.observer, [0, 1, 1])
    np.testing.assert_allclose(got.fixations.duration, [200, 150, 90])
    assert got.binary_map().sum() == 3
    assert ds.summary()["fixations"] == 9


def test_folder_damage(tmp_path):
    write_saliency_folder(tmp_path, saliency_records(4))
    Image.new("L", (16, 16), 200).save(tmp_path / "maps" / "s00.png")  # size mismatch
    Image.new("L", (32, 32), 0).save(tmp_path / "maps" / "s01.png")  # all zero
    (tmp_path / "points" / "s02.json").write_text(json.dumps([[40.0, 3.0, 0], [5.0, 5.0, 1]]))  # outside 32x32
    (tmp_path / "images" / "readme.txt").write_text("hello")  # non-image file
    with pytest.raises(InputError) as err:
        SaliencyFolderDataset(tmp_path)
    msg = str(err.value)
    assert "s00.png: fixation density map is 16x16 but its image is 32x32" in msg
    assert "s01.png: fixation density map is all zero" in msg
    assert "s02.json: 1 of 2 fixations lie outside the 32x32 image" in msg
    assert "readme.txt: not an image file" in msg
    assert [r.key for r in SaliencyFolderDataset(tmp_path, strict=False)] == ["s03"]


def test_binary_fixation_map_only(tmp_path):
    write_saliency_folder(tmp_path, saliency_records(1))
    for d in ("maps", "points"):
        for p in (tmp_path / d).iterdir():
            p.unlink()
    rec = SaliencyFolderDataset(tmp_path)[0]
    assert rec.fixation_map is None and len(rec.fixations) == 3
    assert set(zip(rec.fixations.x, rec.fixations.y)) == {(8.0, 10.0), (9.0, 9.0), (3.0, 4.0)}


def test_manifest_round_trip_dedupes_images(tmp_path):
    recs = saliency_records(2, category="salient", text="the red square")
    recs += [r.__class__(key=r.key + "_none", image=r.image, fixation_map=r.fixation_map, fixations=r.fixations,
                         category="none") for r in recs]
    write_saliency_manifest(tmp_path, recs)
    assert len(list((tmp_path / "images").iterdir())) == 2
    ds = ManifestDataset(tmp_path / "manifest.jsonl")
    assert [r.key for r in ds] == ["s00", "s01", "s00_none", "s01_none"]
    assert ds[0].text == "the red square" and ds[0].category == "salient"
    assert ds[2].text is None and ds[2].category == "none"
    assert ds.summary()["categories"] == {"salient": 2, "none": 2}


def test_manifest_problems_name_lines(tmp_path):
    write_saliency_manifest(tmp_path, saliency_records(1, category="general", text="shapes"))
    good = (tmp_path / "manifest.jsonl").read_text().strip()
    entry = json.loads(good)
    bad_cat = dict(entry, key="b", category="funny")
    no_text = dict(entry, key="c", text=None)
    missing = dict(entry, key="d", map="maps/nope.png")
    lines = [good, "{not json", json.dumps(bad_cat), json.dumps(no_text), json.dumps(missing), good]
    (tmp_path / "manifest.jsonl").write_text("\n".join(lines) + "\n")
    with pytest.raises(InputError) as err:
        ManifestDataset(tmp_path)
    msg = str(err.value)
    assert "manifest.jsonl:2: not valid JSON" in msg
    assert "manifest.jsonl:3: unknown category 'funny'" in msg
    assert "manifest.jsonl:4: category 'general' needs a text" in msg
    assert "nope.png: missing map file (manifest line 5)" in msg
    assert "manifest.jsonl:6: duplicate key 's00'" in msg


def _salicon(root, fixations):
    (root / "images" / "val").mkdir(parents=True)
    square_image(0).save(root / "images" / "val" / "COCO_val2014_000000000001.jpg")
    data = {"type": "fixations",
            "images": [{"id": 1, "file_name": "COCO_val2014_000000000001.jpg", "width": 32, "height": 32}],
            "annotations": [{"id": 1, "image_id": 1, "worker_id": 7, "fixations": fixations}]}
    (root / "fixations_val2014.json").write_text(json.dumps(data))


def test_salicon_rowcol_one_based(tmp_path):
    _salicon(tmp_path, [[1, 1], [5, 20], [32, 10]])  # [row, col], 1-based
    rec = SALICONDataset(tmp_path, "val")[0]
    np.testing.assert_array_equal(rec.fixations.x, [0, 19, 9])
    np.testing.assert_array_equal(rec.fixations.y, [0, 4, 31])
    np.testing.assert_array_equal(rec.fixations.observer, [7, 7, 7])
    assert rec.binary_map()[4, 19]


def test_salicon_outside_image_is_reported(tmp_path):
    _salicon(tmp_path, [[1, 1], [40, 3]])
    with pytest.raises(InputError, match="1 of 2 fixations lie outside the 32x32 image"):
        SALICONDataset(tmp_path, "val")


def test_mit1003_layout(tmp_path):
    (tmp_path / "ALLSTIMULI").mkdir()
    (tmp_path / "ALLFIXATIONMAPS").mkdir()
    for i in range(3):
        square_image(i).save(tmp_path / "ALLSTIMULI" / f"i{i}.jpeg")
        dens = np.zeros((32, 32), np.uint8)
        dens[5:15, 5:15] = 200
        Image.fromarray(dens).save(tmp_path / "ALLFIXATIONMAPS" / f"i{i}_fixMap.jpg")
        pts = np.zeros((32, 32), np.uint8)
        pts[10, 12] = 255
        Image.fromarray(pts).save(tmp_path / "ALLFIXATIONMAPS" / f"i{i}_fixPts.png")
    (tmp_path / "ALLFIXATIONMAPS" / "i0_fixPts.png").rename(tmp_path / "ALLFIXATIONMAPS" / "i0_fixPts.jpg")
    with pytest.raises(InputError, match=r"i1_fixPts.jpg: missing fixation map"):
        MIT1003Dataset(tmp_path)
    ds = MIT1003Dataset(tmp_path, strict=False)
    assert len(ds) == 1
    rec = ds[0]
    assert (rec.fixations.x[0], rec.fixations.y[0]) == (12.0, 10.0)
    assert rec.fixation_map.max() > 0.7
