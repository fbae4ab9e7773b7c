import numpy as np
import openpyxl
import pytest
from PIL import Image

from data_fixtures import square_image
from wordsight.data.manifest import ManifestDataset
from wordsight.data.sjtu_tis import SJTUTISDataset, read_text_table, sjtu_tis_to_manifest, split_condition
from wordsight.data.validation import Problems
from wordsight.utils.checks import InputError

TEXTS = {"0001": "a kitchen with a red kettle", "0001_1": "an indoor scene", "0001_2": "the window",
         "0001_3": "the red kettle"}


def _book(path, rows, header=True, split_sheets=False):
    wb = openpyxl.Workbook()
    ws = wb.active
    if header:
        ws.append(["Image Name", "Text Description"])
    items = list(rows.items())
    for name, text in items[:2]:
        ws.append([f"{name}.png", text])
    ws2 = wb.create_sheet("more") if split_sheets else ws
    for name, text in items[2:]:
        ws2.append([f"{name}.png", text])
    wb.save(path)


def _tis(root, texts=TEXTS, header=True):
    for d in ("image", "map", "fixation"):
        (root / d).mkdir(parents=True)
    square_image(0).save(root / "image" / "0001.png")
    for suffix in ("", "_0", "_1", "_2", "_3"):
        dens = np.zeros((32, 32), np.uint8)
        dens[8:20, 8:20] = 255
        Image.fromarray(dens).save(root / "map" / f"0001{suffix}.png")
        fix = np.zeros((32, 32), np.uint8)
        fix[12, 14] = 255
        Image.fromarray(fix).save(root / "fixation" / f"0001{suffix}.png")
    _book(root / "texts.xlsx", texts, header=header, split_sheets=True)


def test_split_condition():
    assert split_condition("0001") == ("0001", "scene")
    assert split_condition("0001_0") == ("0001", "none")
    assert split_condition("0001_3") == ("0001", "salient")
    assert split_condition("img_12") == ("img_12", "scene")


@pytest.mark.parametrize("header", [True, False])
def test_text_table_with_and_without_header(tmp_path, header):
    _book(tmp_path / "t.xlsx", TEXTS, header=header, split_sheets=True)
    problems = Problems()
    assert read_text_table(tmp_path / "t.xlsx", problems) == TEXTS
    assert not problems


def test_tis_records_and_manifest(tmp_path):
    _tis(tmp_path)
    ds = SJTUTISDataset(tmp_path)
    by_cat = {r.category: r for r in ds}
    assert sorted(by_cat) == ["general", "none", "nonsalient", "salient", "scene"]
    assert by_cat["salient"].text == "the red kettle" and by_cat["none"].text is None
    assert by_cat["scene"].text == "a kitchen with a red kettle"
    assert (by_cat["general"].fixations.x[0], by_cat["general"].fixations.y[0]) == (14.0, 12.0)
    manifest = sjtu_tis_to_manifest(tmp_path, tmp_path / "out" / "m.jsonl")
    again = ManifestDataset(manifest)
    assert [(r.key, r.category, r.text) for r in again] == [(r.key, r.category, r.text) for r in ds]
    assert np.array_equal(again[0].fixation_map, ds[0].fixation_map)


def test_tis_missing_text_and_map_mismatch(tmp_path):
    texts = {k: v for k, v in TEXTS.items() if k != "0001_2"}
    _tis(tmp_path, texts)
    Image.new("L", (20, 20), 255).save(tmp_path / "map" / "0001_1.png")
    (tmp_path / "map" / "notes.doc").write_text("x")
    with pytest.raises(InputError) as err:
        SJTUTISDataset(tmp_path)
    msg = str(err.value)
    assert "0001_2.png: no text for '0001_2' (nonsalient)" in msg
    assert "0001_1.png: fixation density map is 20x20 but its image is 32x32" in msg
    assert "notes.doc: not an image file" in msg
