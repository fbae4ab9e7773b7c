"""`wordsight saliency`, `wordsight train text-salgan`, `wordsight evaluate saliency`, `wordsight ablate text-salgan`."""

import json

import numpy as np
import pytest
import torch
from PIL import Image

from wordsight.cli.main import main
from wordsight.models.salgan import SalGANGenerator
from wordsight.pipelines.saliency import Saliency


@pytest.fixture(autouse=True)
def _one_thread():
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture
def image(tmp_path):
    path = tmp_path / "img.png"
    Image.fromarray(np.random.default_rng(0).integers(0, 255, (30, 40, 3), dtype=np.uint8)).save(path)
    return path


@pytest.fixture
def salgan_pipe(tmp_path):
    torch.manual_seed(0)
    return Saliency(SalGANGenerator(width=1 / 16), (32, 32)).save_pretrained(tmp_path / "pipe")


def test_saliency_writes_overlay_and_raw_maps(tmp_path, image, salgan_pipe, capsys):
    out, raw = tmp_path / "o" / "overlay.png", tmp_path / "map.png"
    assert main(["saliency", str(image), "--model", str(salgan_pipe), "--out", str(out), "--raw", str(raw)]) == 0
    assert Image.open(out).size == (40, 30)
    grey = Image.open(raw)
    assert grey.mode.startswith("I") and grey.size == (40, 30)
    npy = tmp_path / "map.npy"
    assert main(["saliency", str(image), "--model", str(salgan_pipe), "--out", str(out), "--raw", str(npy)]) == 0
    expected = Saliency.from_pretrained(salgan_pipe).compute_saliency(image)
    np.testing.assert_allclose(np.load(npy), expected, atol=1e-6)
    np.testing.assert_allclose(np.asarray(Image.open(raw), dtype=np.float64) / 65535, expected, atol=2e-5)


def test_saliency_bad_input_exit_code_2(tmp_path, image, salgan_pipe, capsys):
    junk = tmp_path / "junk.jpg"
    junk.write_bytes(b"\x00\x01 not a jpeg")
    assert main(["saliency", str(junk), "--model", str(salgan_pipe), "--out", str(tmp_path / "o.png")]) == 2
    assert "junk.jpg" in capsys.readouterr().err
    assert main(["saliency", str(image), "--model", str(salgan_pipe), "--text", "a cat", "--out", str(tmp_path / "o.png")]) == 2
    # a bad --raw is refused before anything is written (no overlay left in the current folder)
    assert main(["saliency", str(image), "--model", str(salgan_pipe), "--raw", str(tmp_path / "m.txt"),
                 "--out", str(tmp_path / "never.png")]) == 2
    assert not (tmp_path / "never.png").exists()
    assert main(["saliency", str(image), "--model", str(salgan_pipe), "--out", str(tmp_path / "o.txt")]) == 2
    assert "--out must be an image file" in capsys.readouterr().err
    assert main(["saliency", str(image), "--model", str(tmp_path)]) == 2


def test_train_config_errors_exit_2(capsys):
    assert main(["train", "text-salgan", "--dry-run", "model.widht=3"]) == 2
    assert "valid" in capsys.readouterr().err
    assert main(["train", "salgan", "--dry-run", "lr=0.01"]) == 0
    assert "lr: 0.01" in capsys.readouterr().out
    assert main(["train", "salgan", "--config", "text_salgan_synthetic", "--dry-run"]) == 2


TINY = ["input_size=[32,32]", "data.num_scenes=6", "data.test_scenes=3", "data.image_size=32", "steps=4",
        "batch_size=8", "model.width=0.0625", "model.text_channels=4", "discriminator.width=0.0625",
        "discriminator.text_channels=4", "progress=false"]


def test_train_evaluate_and_predict_text_salgan(tmp_path, image, capsys):
    runs = tmp_path / "runs"
    assert main(["train", "text-salgan", "--data", "synthetic", "--out", str(runs), *TINY]) == 0
    pipe = next(runs.glob("*/pipeline"))
    assert (pipe / "pipeline.json").exists()
    assert main(["saliency", str(image), "--model", str(pipe), "--out", str(tmp_path / "o.png")]) == 2
    assert "text-guided" in capsys.readouterr().err
    assert main(["saliency", str(image), "--model", str(pipe), "--text", "a red circle", "--out", str(tmp_path / "o.png")]) == 0
    out = tmp_path / "eval"
    assert main(["evaluate", "saliency", str(pipe), "--data", "synthetic", "--limit", "8", "--out", str(out),
                 "--metrics", "auc_judd,nss,cc"]) == 0
    report = json.loads((out / "metrics.json").read_text())
    assert set(report["summary"]) == {"model", "centre_bias", "mean_fixation_map"}
    assert {"total", "none", "salient"} <= set(report["summary"]["model"])
    assert "| model | total |" in (out / "metrics.md").read_text()
    assert main(["train", "text-salgan", "--data", "synthetic", "--out", str(runs), "--resume", "latest", *TINY[:-5],
                 "steps=6", *TINY[-5:]]) == 0


def test_ablate_text_salgan_prints_table(tmp_path, capsys):
    assert main(["ablate", "text-salgan", "--steps", "2", "--scenes", "4", "--test-scenes", "4", "--variants", "G1D2,no-text",
                 "--out", str(tmp_path), *TINY[:1], *TINY[5:]]) == 0
    out = capsys.readouterr().out
    assert "| G1D2 | salient |" in out and "| no-text | total |" in out
    assert (tmp_path / "metrics.json").exists()


def _shipped(name):
    from wordsight.models.saliency import ASSETS, SHIPPED_SALIENCY

    return (ASSETS / SHIPPED_SALIENCY[name][0] / "pipeline.json").exists()


@pytest.mark.skipif(not (_shipped("osie") and _shipped("synthetic-text")), reason="shipped models not built")
def test_default_is_the_free_viewing_model_and_text_switches(tmp_path, image, capsys):
    assert main(["saliency", str(image), "--out", str(tmp_path / "o.png")]) == 0
    out = capsys.readouterr().out
    assert "model: osie (free viewing; trained on OSIE" in out
    assert main(["saliency", str(image), "--text", "a red circle", "--out", str(tmp_path / "o.png")]) == 0
    assert "model: synthetic-text (text-guided" in capsys.readouterr().out
    assert main(["saliency", str(image), "--model", "synthetic-text", "--out", str(tmp_path / "o.png")]) == 2
    assert '--text "..."' in capsys.readouterr().err  # the CLI's wording, not the Python API's
    assert main(["saliency", str(image), "--model", "osie", "--text", "a cat", "--out", str(tmp_path / "o.png")]) == 2
    assert "reads no text" in capsys.readouterr().err


def test_saliency_list_names_every_shipped_model(capsys):
    assert main(["saliency", "--list"]) == 0
    out = capsys.readouterr().out
    assert "osie (default)" in out and "synthetic-text" in out
    if _shipped("osie"):
        assert "trained on: OSIE" in out and "held-out scores" in out


def test_named_shipped_models_load_and_unknown_names_are_clear():
    from wordsight.utils import InputError

    if _shipped("synthetic-text"):
        assert Saliency.from_pretrained("synthetic-text").uses_text
    if _shipped("osie"):
        pipe = Saliency.from_pretrained("osie")
        assert not pipe.uses_text and Saliency.from_pretrained().trained_on == pipe.trained_on
    with pytest.raises(InputError, match="osie, synthetic-text"):
        Saliency.from_pretrained("no-such-model")


def test_fine_tune_from_a_pipeline_on_a_saliency_folder(tmp_path, capsys):
    from wordsight.data.export import write_saliency_folder
    from wordsight.training.saliency_data import SaliencyDataConfig, open_saliency_records

    records = open_saliency_records("synthetic", "train", SaliencyDataConfig(num_scenes=5, image_size=32, categories=["none"]))
    write_saliency_folder(tmp_path / "mine", records)
    torch.manual_seed(0)
    source = Saliency(SalGANGenerator(width=1 / 16, frozen_blocks=0, center_prior=2), (32, 32))
    source.save_pretrained(tmp_path / "pretrained")
    # lr=0: the run must start from (and keep) the source's weights, in the source's architecture
    assert main(["train", "salgan", "--data", f"saliency:{tmp_path / 'mine'}", "--out", str(tmp_path / "runs"),
                 f"init_from={tmp_path / 'pretrained'}", "steps=2", "batch_size=2", "lr=0", "progress=false",
                 "discriminator.width=0.125", "objective.warmup_epochs=0"]) == 0
    [run] = list((tmp_path / "runs").iterdir())
    tuned = Saliency.from_pretrained(run / "pipeline")
    assert tuned.input_size == (32, 32) and tuned.model.config["center_prior"] == 2
    for (k, a), b in zip(source.model.state_dict().items(), tuned.model.state_dict().values()):
        torch.testing.assert_close(a, b, msg=k)
    # a text-guided source cannot start a free-viewing SalGAN
    from wordsight.models.text_salgan import TextSalGANGenerator

    Saliency(TextSalGANGenerator(text_dim=8, arch="small", width=1 / 16, text_channels=4), (32, 32), object(),
             {"name": "minilm", "options": {}}).save_pretrained(tmp_path / "text")
    assert main(["train", "salgan", "--data", f"saliency:{tmp_path / 'mine'}", "--out", str(tmp_path / "runs"),
                 f"init_from={tmp_path / 'text'}", "steps=1"]) == 2
    assert "not a salgan generator" in capsys.readouterr().err


def test_missing_vgg_file_is_an_error_not_a_random_start(tmp_path, capsys):
    missing = tmp_path / "vgg16-397923af.pth"
    assert main(["train", "salgan", "--data", "synthetic", "--vgg", str(missing), "steps=1", "input_size=[32,32]",
                 "model.width=0.0625", "discriminator.width=0.125"]) == 2
    err = capsys.readouterr().err
    assert str(missing) in err and "nothing is downloaded" in err
