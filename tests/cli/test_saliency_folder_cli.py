"""`wordsight saliency FOLDER --out-dir DIR`: every image predicted one at a time, the same maps as one by one,
bad images stop the run (or are skipped with --skip-bad and exit 1), and mistakes are caught before work."""

import numpy as np
import pytest
import torch
from PIL import Image

from wordsight.cli.main import main
from wordsight.models.salgan import SalGANGenerator
from wordsight.pipelines.saliency import Saliency


@pytest.fixture
def folder(tmp_path):
    rng = np.random.default_rng(0)
    root = tmp_path / "photos"
    root.mkdir()
    for i, size in enumerate([(30, 40), (24, 24), (40, 20)]):
        Image.fromarray(rng.integers(0, 255, (*size, 3), dtype=np.uint8)).save(root / f"p{i}.png")
    (root / "notes.txt").write_text("not an image, ignored by suffix")
    return root


@pytest.fixture
def pipe(tmp_path):
    torch.manual_seed(0)
    return Saliency(SalGANGenerator(width=1 / 16), (32, 32)).save_pretrained(tmp_path / "pipe")


def test_a_folder_gives_one_overlay_and_map_per_image_equal_to_single_calls(tmp_path, folder, pipe, capsys):
    out = tmp_path / "maps"
    assert main(["saliency", str(folder), "--model", str(pipe), "--out-dir", str(out), "--raw-format", "npy"]) == 0
    assert sorted(p.name for p in out.iterdir()) == ["p0.npy", "p0.png", "p1.npy", "p1.png", "p2.npy", "p2.png"]
    assert "wrote 3 overlays" in capsys.readouterr().out
    single = Saliency.from_pretrained(pipe)
    for i in range(3):
        np.testing.assert_allclose(np.load(out / f"p{i}.npy"), single.compute_saliency(folder / f"p{i}.png"), atol=1e-6)
        assert Image.open(out / f"p{i}.png").size == Image.open(folder / f"p{i}.png").size


def test_a_bad_image_stops_the_run_or_is_skipped(tmp_path, folder, pipe, capsys):
    (folder / "p1.png").write_bytes(b"\x89PNG truncated")
    assert main(["saliency", str(folder), "--model", str(pipe), "--out-dir", str(tmp_path / "a")]) == 2
    err = capsys.readouterr().err
    assert "p1.png" in err and "stopped after 1 of 3 images" in err and "Traceback" not in err
    assert main(["saliency", str(folder), "--model", str(pipe), "--out-dir", str(tmp_path / "b"), "--skip-bad"]) == 1
    captured = capsys.readouterr()
    assert "skipped:" in captured.err and "1 image(s) skipped" in captured.out
    assert sorted(p.name for p in (tmp_path / "b").iterdir()) == ["p0.png", "p2.png"]


def test_mistakes_are_caught_before_any_work(tmp_path, folder, pipe, capsys):
    assert main(["saliency", str(folder), "--model", str(pipe)]) == 2
    assert "is a folder: give --out-dir" in capsys.readouterr().err
    assert main(["saliency", str(folder), "--model", str(pipe), "--out-dir", str(tmp_path / "o"), "--raw-format", "tif"]) == 2
    assert main(["saliency", str(folder), "--model", str(pipe), "--out-dir", str(tmp_path / "o"), "--raw", str(tmp_path / "m.npy")]) == 2
    empty = tmp_path / "empty"
    empty.mkdir()
    assert main(["saliency", str(empty), "--model", str(pipe), "--out-dir", str(tmp_path / "o")]) == 2
    assert "holds no images" in capsys.readouterr().err
    Image.new("RGB", (8, 8)).save(folder / "p0.jpg")  # the same stem as p0.png
    assert main(["saliency", str(folder), "--model", str(pipe), "--out-dir", str(tmp_path / "o")]) == 2
    assert "would both be written as p0.png" in capsys.readouterr().err
    assert not (tmp_path / "o").exists()
