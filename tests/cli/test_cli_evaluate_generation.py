"""`wordsight evaluate generation`, `wordsight evaluate real-stats` and `wordsight train damsm`."""

from __future__ import annotations

import json

import pytest
import torch

from wordsight.cli.main import main
from wordsight.models.dfgan import DFGenerator
from wordsight.pipelines.text_to_image import TextToImage
from wordsight.text.minilm import MiniLMEncoder


@pytest.fixture(scope="module")
def tiny_pipeline(tmp_path_factory):
    torch.manual_seed(0)
    folder = tmp_path_factory.mktemp("pipe")
    TextToImage(DFGenerator(nf=4, sentence_dim=384, image_size=32), MiniLMEncoder()).save_pretrained(folder)
    return folder


@pytest.fixture(autouse=True)
def _isolated_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("WORDSIGHT_CACHE", str(tmp_path / "cache"))  # no weights, a private stats cache


def test_generation_writes_metrics_and_samples(tiny_pipeline, tmp_path, capsys):
    out = tmp_path / "eval"
    code = main(["evaluate", "generation", str(tiny_pipeline), "--data", "synthetic", "--metrics", "oracle,oracle_fid",
                 "-n", "16", "--batch-size", "8", "--out", str(out), "--no-progress"])
    assert code == 0
    report = json.loads((out / "metrics.json").read_text())
    assert {"oracle_acc_mean", "oracle_acc_joint", "oracle_fid", "oracle_acc/color"} <= set(report["metrics"])
    assert report["settings"]["num_images"] == 16 and report["settings"]["image_size"] == 32
    assert 0.0 <= report["metrics"]["oracle_acc_mean"] <= 1.0 and report["metrics"]["oracle_fid"] > 0
    table = (out / "metrics.md").read_text()
    assert "| oracle_fid |" in table and table in capsys.readouterr().out
    assert (out / "samples.png").stat().st_size > 0


def test_unknown_metric_exits_2_with_the_list(tiny_pipeline, capsys):
    code = main(["evaluate", "generation", str(tiny_pipeline), "--metrics", "fid,fidd", "-n", "4"])
    assert code == 2
    err = capsys.readouterr().err
    assert "fidd" in err and "oracle_fid" in err and "r_precision" in err


def test_missing_inception_weights_exit_2_naming_the_file(tiny_pipeline, tmp_path, capsys):
    missing = tmp_path / "nowhere" / "weights.pth"
    assert main(["evaluate", "generation", str(tiny_pipeline), "--metrics", "fid", "-n", "4",
                 "--inception-weights", str(missing), "--no-progress"]) == 2
    assert str(missing) in capsys.readouterr().err
    assert main(["evaluate", "generation", str(tiny_pipeline), "--metrics", "kid", "-n", "4", "--no-progress"]) == 2
    assert "weights-inception-2015-12-05-6726825d.pth" in capsys.readouterr().err


def test_missing_damsm_and_model_exit_2(tiny_pipeline, tmp_path, capsys):
    assert main(["evaluate", "generation", str(tiny_pipeline), "--metrics", "r_precision", "-n", "4",
                 "--damsm", str(tmp_path / "damsm"), "--no-progress"]) == 2
    assert "--damsm: no DAMSM text encoder" in capsys.readouterr().err
    assert main(["evaluate", "generation", str(tmp_path / "no-model"), "-n", "4"]) == 2


def test_real_stats_with_the_oracle(capsys):
    assert main(["evaluate", "real-stats", "--data", "synthetic", "-n", "12", "--image-size", "32",
                 "--extractor", "oracle"]) == 0
    assert "12 images at 32px, 192-d features" in capsys.readouterr().out


def test_train_damsm_prints_r_precision(tmp_path, capsys):
    out = tmp_path / "damsm"
    assert main(["train", "damsm", "--steps", "2", "--batch-size", "4", "--image-size", "16", "--eval-images", "10",
                 "--out", str(out), "--no-progress"]) == 0
    printed = capsys.readouterr().out
    assert "R-precision" in printed and "chance 0.0100" in printed
    assert (out / "text_encoder" / "model.safetensors").is_file() and (out / "image_encoder" / "config.json").is_file()
    assert main(["train", "damsm", "--data", "cub:/x", "--out", str(out)]) == 2


def test_r_precision_with_a_trained_damsm_folder(tiny_pipeline, tmp_path):
    damsm, out = tmp_path / "damsm", tmp_path / "eval"
    assert main(["train", "damsm", "--steps", "2", "--batch-size", "4", "--image-size", "16", "--eval-images", "0",
                 "--out", str(damsm), "--no-progress"]) == 0
    assert main(["evaluate", "generation", str(tiny_pipeline), "--metrics", "r_precision", "-n", "20",
                 "--damsm", str(damsm), "--out", str(out), "--no-progress"]) == 0
    metrics = json.loads((out / "metrics.json").read_text())["metrics"]
    assert 0.0 <= metrics["r_precision_mean"] <= 1.0 and "r_precision_std" in metrics


def test_train_damsm_on_a_caption_folder(tmp_path, capsys, monkeypatch):
    from wordsight.data.export import write_caption_folder
    from wordsight.data.synthetic import SyntheticWorld, WorldConfig

    world = SyntheticWorld(WorldConfig(seed=1, image_size=32))
    root = write_caption_folder(tmp_path / "mine", [world.captioned_image(i) for i in range(8)])
    out = tmp_path / "damsm"
    assert main(["train", "damsm", "--data", f"folder:{root}", "--steps", "2", "--batch-size", "4",
                 "--image-size", "16", "--out", str(out), "--no-progress"]) == 0
    assert (out / "text_encoder" / "model.safetensors").is_file()
    monkeypatch.setenv("WORDSIGHT_INCEPTION_V3", str(tmp_path / "missing.pth"))
    assert main(["train", "damsm", "--data", f"folder:{root}", "--image-encoder", "inception", "--steps", "1",
                 "--out", str(out), "--no-progress"]) == 2
    assert "missing.pth" in capsys.readouterr().err
