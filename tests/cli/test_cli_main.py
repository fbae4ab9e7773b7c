"""The `wordsight` command: help, version, DF-GAN training, generation and the quickstart job."""

import json

import numpy as np
import pytest
from PIL import Image

from wordsight.cli.main import main


@pytest.fixture(autouse=True)
def _cache(tmp_path, monkeypatch):
    monkeypatch.setenv("WORDSIGHT_CACHE", str(tmp_path / "cache"))


def test_help_and_version(capsys):
    assert main(["--version"]) == 0
    assert "wordsight 0.1.0" in capsys.readouterr().out
    assert main(["--help"]) == 0
    out = capsys.readouterr().out
    for group in ("data", "train", "generate", "evaluate", "saliency", "quickstart"):
        assert group in out


def test_train_dfgan_rejects_misspelled_keys(capsys):
    assert main(["train", "dfgan", "--dry-run", "model.nff=3"]) == 2
    assert "valid keys" in capsys.readouterr().err
    assert main(["train", "dfgan", "--dry-run", "stepz=3"]) == 2


def test_train_dfgan_on_the_synthetic_world_then_resume(tmp_path):
    common = ["model.nf=4", "model.image_size=16", "data.synthetic.num_scenes=4", "data.sentence_whitening=8", "model.sentence_dim=8",
              "batch_size=4", "sample_every=1",
              "checkpoint_every=1", "tensorboard=false", "progress=false", "num_samples=4"]
    args = ["train", "dfgan", "--out", str(tmp_path / "runs"), *common, "steps=2"]
    assert main(args) == 0
    run = next((tmp_path / "runs").iterdir())
    assert (run / "config.yaml").exists() and (run / "checkpoint-2").is_dir() and (run / "loss_curves.png").exists()
    assert any((run / "samples").glob("*.png"))
    assert main(["generate", str(run / "pipeline"), "a red circle", "-n", "2", "--out", str(tmp_path / "g.png")]) == 0
    assert main(["train", "dfgan", "--out", str(tmp_path / "runs"), "--resume", "latest", *common, "steps=3"]) == 0
    steps = [json.loads(l)["step"] for l in (run / "metrics.jsonl").read_text().splitlines()]
    assert max(steps) == 3


def test_generate_is_deterministic_and_validates(tiny_pipeline, tmp_path, capsys):
    a, b = tmp_path / "a.png", tmp_path / "b.png"
    assert main(["generate", str(tiny_pipeline), "a small red circle", "-n", "2", "--seed", "3", "--out", str(a)]) == 0
    assert main(["generate", str(tiny_pipeline), "a small red circle", "-n", "2", "--seed", "3", "--out", str(b)]) == 0
    assert np.array_equal(np.asarray(Image.open(a)), np.asarray(Image.open(b)))
    assert main(["generate", str(tiny_pipeline), "   ", "--out", str(a)]) == 2
    assert "empty" in capsys.readouterr().err
    assert main(["generate", str(tiny_pipeline), "a", "b", "c", "--interpolate", "--out", str(a)]) == 2
    assert main(["generate", str(tiny_pipeline), "a red star", "a blue circle", "--interpolate", "--steps", "5", "--out", str(a)]) == 0
    c = tmp_path / "c.png"
    assert main(["generate", str(tiny_pipeline), "a small red circle", "-n", "2", "--seed", "3", "--precision", "bf16", "--out", str(c)]) == 0
    assert Image.open(c).size == Image.open(b).size
    assert main(["generate", str(tiny_pipeline), "a small red circle", "--precision", "fp16", "--out", str(c)]) == 2
    assert "precision must be one of" in capsys.readouterr().err


def test_quickstart_without_training_writes_sheet_and_report(tmp_path):
    out = tmp_path / "qs"
    assert main(["quickstart", "--minutes", "0", "--eval-captions", "8", "--out", str(out)]) == 0
    assert (out / "contact_sheet.png").exists()
    report = (out / "report.md").read_text()
    assert "contact_sheet.png" in report and "Shipped model" in report


def test_train_dfgan_on_a_tiny_cub_layout_fixture(tmp_path):
    from wordsight.data.export import write_cub_layout
    from wordsight.data.synthetic import SyntheticWorld, WorldConfig

    world = SyntheticWorld(WorldConfig(seed=3, image_size=32, min_objects=1, max_objects=1))
    recs = [world.captioned_image(i) for i in range(6)]
    root = write_cub_layout(tmp_path / "birds", recs[:4], recs[4:], class_names=world.class_names, captions_per_image=5)
    args = ["train", "dfgan", "--data", f"cub:{root}", "--config", "dfgan_cub", "--out", str(tmp_path / "runs"),
            "model.nf=4", "model.image_size=16", "data.captions.captions_per_image=5", "steps=2", "batch_size=4",
            "sample_every=1", "checkpoint_every=1", "tensorboard=false", "progress=false", "num_samples=4"]
    assert main(args) == 0
    run = next((tmp_path / "runs").iterdir())
    assert (run / "checkpoint-2").is_dir() and (run / "pipeline" / "pipeline.json").exists()
    # training moved the weights away from their initial values and kept them finite
    from wordsight.hub import load_weights
    w = load_weights(run / "checkpoint-2" / "generator_ema.safetensors")
    assert all(t.isfinite().all() for t in w.values())


def test_train_dfgan_reports_a_damaged_cub_folder(tmp_path, capsys):
    (tmp_path / "birds").mkdir()
    assert main(["train", "dfgan", "--data", f"cub:{tmp_path / 'birds'}", "--config", "dfgan_cub", "steps=1"]) == 2
    assert "error:" in capsys.readouterr().err


def test_train_list_names_every_registered_system():
    from typer.testing import CliRunner

    from wordsight.cli.main import app

    res = CliRunner().invoke(app, ["train", "--list"])
    assert res.exit_code == 0, res.output
    for name in ("dfgan", "gan-int-cls", "gan-int-cls-style", "damsm", "salgan", "oracle"):
        assert name in res.output
    assert "Reed et al. 2016" in res.output


def test_train_gan_int_cls_dry_run_uses_its_default_config():
    from typer.testing import CliRunner

    from wordsight.cli.main import app

    res = CliRunner().invoke(app, ["train", "gan-int-cls", "--dry-run", "model.ngf=8"])
    assert res.exit_code == 0, res.output
    assert "system: gan-int-cls" in res.output and "ngf: 8" in res.output
    bad = CliRunner().invoke(app, ["train", "gan-int-cls", "--dry-run", "model.ngff=8"])
    assert bad.exit_code != 0 and "valid keys" in str(bad.exception) and "ngf" in str(bad.exception)


def test_train_inversion_encoder_is_the_gan_int_cls_style_encoder():
    from typer.testing import CliRunner

    from wordsight.cli.main import app

    res = CliRunner().invoke(app, ["train", "inversion-encoder", "--dry-run", "model.generator=runs/x/pipeline"])
    assert res.exit_code == 0, res.output
    assert "system: gan-int-cls-style" in res.output and "generator: runs/x/pipeline" in res.output
    listing = CliRunner().invoke(app, ["train", "--list"]).output
    assert "inversion-encoder" in listing and "the same as gan-int-cls-style" in listing


def test_generate_warns_naming_words_outside_the_shipped_vocabulary(tmp_path):
    from typer.testing import CliRunner

    from wordsight.cli.main import app

    res = CliRunner().invoke(app, ["generate", "this bird has an orange bill", "-n", "1", "--out", str(tmp_path / "g.png")])
    assert res.exit_code == 0, res.output
    assert "unknown to this model" in res.stderr and "synthetic shape world" in res.stderr
    assert "bird, has, bill" in res.stderr


def test_train_refuses_a_real_data_config_without_data():
    from typer.testing import CliRunner

    from wordsight.cli.main import app
    from wordsight.utils.checks import InputError

    res = CliRunner().invoke(app, ["train", "dfgan", "--config", "dfgan_cub", "steps=1"])
    assert isinstance(res.exception, InputError), res.output
    assert "pass --data cub:PATH" in str(res.exception)
