"""`wordsight data inspect`: a full decode finds a JPEG cut after its header (`--deep`, on by default for
small sets), and problems found make the exit status 1 (issue 20)."""

import json

import numpy as np
import pytest
from PIL import Image

from wordsight.cli import data as cli_data
from wordsight.cli.main import main
from wordsight.data.validation import Problems, decode_check, image_size, item_image_files


def _jpeg(path, seed):
    rng = np.random.default_rng(seed)
    Image.fromarray(rng.integers(0, 256, (48, 48, 3), dtype=np.uint8)).save(path, quality=95)


@pytest.fixture
def folder(tmp_path):
    """A captioned image folder of three JPEGs; the second is cut in half (its header still parses)."""
    root = tmp_path / "birds"
    root.mkdir()
    for i in range(3):
        _jpeg(root / f"img{i}.jpg", i)
        (root / f"img{i}.txt").write_text("a small red circle\n")
    bad = root / "img1.jpg"
    data = bad.read_bytes()
    bad.write_bytes(data[: len(data) // 2])
    return root


def test_the_cut_jpeg_passes_a_header_check(folder):
    problems = Problems()
    assert image_size(folder / "img1.jpg", problems) == (48, 48) and not problems  # why --deep is needed


def test_inspect_decodes_small_sets_in_full_and_exits_1(folder, capsys):
    assert main(["data", "inspect", str(folder)]) == 1
    out = capsys.readouterr().out
    assert "all: images=3, captions=3, problems=1" in out
    assert "decoded 3 image(s) in full: 1 corrupt" in out
    assert f"{folder / 'img1.jpg'}: corrupt image: the pixels do not decode (image file is truncated" in out
    assert "img0.jpg" not in out and "img2.jpg" not in out


def test_no_deep_reads_headers_only(folder, capsys):
    assert main(["data", "inspect", str(folder), "--no-deep"]) == 0
    out = capsys.readouterr().out
    assert "problems=0" in out and "headers checked only (--no-deep)" in out


def test_json_report_lists_the_corrupt_file_and_exits_1(folder, capsys):
    assert main(["data", "inspect", str(folder), "--json"]) == 1
    report = json.loads(capsys.readouterr().out)
    assert report["deep"] == {"decoded": 3, "corrupt": 1}
    assert [p["path"] for p in report["problems"]] == [str(folder / "img1.jpg")]


def test_a_clean_set_exits_0(folder, capsys):
    _jpeg(folder / "img1.jpg", 1)
    assert main(["data", "inspect", str(folder), "--deep"]) == 0
    assert "decoded 3 image(s) in full: 0 corrupt" in capsys.readouterr().out


def test_large_sets_skip_the_decode_unless_asked(folder, capsys, monkeypatch):
    monkeypatch.setattr(cli_data, "DEEP_AUTO_MAX", 2)
    assert main(["data", "inspect", str(folder)]) == 0
    assert "headers checked only (3 images > 2; pass --deep" in capsys.readouterr().out
    assert main(["data", "inspect", str(folder), "--deep"]) == 1


def test_header_problems_also_exit_1(folder, capsys):
    (folder / "img2.txt").unlink()
    assert main(["data", "inspect", str(folder), "--no-deep"]) == 1
    captured = capsys.readouterr()
    assert "img2.jpg: image without a caption file" in captured.out
    assert "1 problem(s) found" in captured.err


def test_a_css_set_checks_sources_targets_and_masks_once(tmp_path, capsys):
    from wordsight.data.export import write_css_layout

    out = tmp_path / "css"
    write_css_layout(out, 0, 16, {"train": 2, "test": 1, "heldout": 1}, min_objects=1, max_objects=1)
    target = next((out / "images").glob("train_*_target.png"))
    target.write_bytes(target.read_bytes()[:-40])  # PNG pixels cut, header intact
    assert main(["data", "inspect", str(out)]) == 1
    text = capsys.readouterr().out
    assert text.count(f"{target}: corrupt image") == 1 and "train: queries=2, images=4, problems=1" in text


def test_decode_check_and_item_files(folder):
    from wordsight.data.folder import CaptionFolderDataset

    data = CaptionFolderDataset(folder, strict=False)
    files = item_image_files(data.items)
    assert sorted(f.name for f in files) == ["img0.jpg", "img1.jpg", "img2.jpg"]
    problems = Problems()
    assert decode_check(files + [folder / "gone.jpg"], problems, workers=2) == 2
    assert [(p.path, p.message.split(":")[0]) for p in problems] == [
        (str(folder / "img1.jpg"), "corrupt image"), (str(folder / "gone.jpg"), "missing image file")]
