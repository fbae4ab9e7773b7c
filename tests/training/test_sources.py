"""The training data of a --data spec (training.sources.build_data), the typed data config, and the launcher
in one process: what a run is trained on, and the errors for wrong specs, keys and configs."""

import dataclasses
import json
import logging

import pytest

from wordsight.config import ConfigError, config_to_dict, load_config, save_config
from wordsight.data.synthetic import SyntheticWorld, WorldConfig
from wordsight.training import TrainConfig, train
from wordsight.training import launch
from wordsight.training.config import CaptionDataConfig, DataConfig, SyntheticDataConfig
from wordsight.training.sources import TRAINING_DATA_FORMS, build_data, default_data_spec, parse_data_spec
from wordsight.training.synthetic_data import build_training_data, synthetic_world_from_model_cfg
from wordsight.utils.checks import InputError

from .conftest import FIXTURE_CAPTION, write_tiny_caption_folder, write_tiny_cub

TINY = ["model.nf=4", "model.image_size=16", "model.z_dim=8", "model.sentence_dim=8", "data.sentence_whitening=8",
        "data.synthetic.num_scenes=4", "steps=2", "batch_size=4", "log_every=1", "sample_every=100",
        "checkpoint_every=100", "num_samples=4", "tensorboard=false", "progress=false", "mixed_precision=no"]


def _data_json(result):
    return json.loads((result.run_dir / "data.json").read_text())


# ---------------------------------------------------------------------------- specs
def test_specs_parse_and_unknown_ones_list_the_valid_forms(tmp_path):
    assert parse_data_spec("synthetic").kind == "synthetic" and parse_data_spec("synthetic").path is None
    spec = parse_data_spec(f"cub:{tmp_path}")
    assert (spec.kind, spec.path) == ("cub", str(tmp_path))
    assert parse_data_spec("random:12").path == "12" and parse_data_spec("random").path is None
    cfg = load_config(TrainConfig, "dfgan_synthetic", TINY)
    for bad in ("birds:/x", "imagenet", "osie:/x", ""):
        with pytest.raises(InputError, match="valid forms: " + ", ".join(TRAINING_DATA_FORMS).replace("[", r"\[").replace("]", r"\]")):
            build_data(bad, cfg, progress=False)
    with pytest.raises(InputError, match="cub needs a path: cub:PATH"):
        build_data("cub", cfg, progress=False)
    with pytest.raises(InputError, match="synthetic takes no path"):
        build_data("synthetic:/x", cfg, progress=False)
    with pytest.raises(InputError, match="folder not found"):
        build_data(f"folder:{tmp_path / 'none'}", cfg, progress=False)
    with pytest.raises(InputError, match="random:N needs a number"):
        build_data("random:many", cfg, progress=False)


def test_the_launcher_lists_the_valid_forms_of_an_unknown_spec(capsys):
    assert launch.main(["--data", "birds:/x"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "valid forms: synthetic, cub:PATH, oxford:PATH, coco:PATH, folder:PATH, random[:N]" in err


def test_random_data_is_used_only_when_asked_for():
    cfg = load_config(TrainConfig, "dfgan_synthetic", TINY)
    data = build_data("random:6", cfg)
    assert (len(data), data.name, data.description["source"]) == (6, "random", "random")
    assert data[0]["images"].shape == (3, 16, 16) and data[0]["sentence"].shape == (8,)
    assert default_data_spec(cfg) == "synthetic"  # not random


# ---------------------------------------------------------------------------- the typed data config
def test_shipped_configs_declare_their_data_source():
    from wordsight.config import CONFIG_DIR, read_yaml
    from wordsight.training.saliency import SALIENCY_SYSTEMS

    names = [p.stem for p in sorted(CONFIG_DIR.glob("*.yaml")) if read_yaml(p).get("system") not in SALIENCY_SYSTEMS]
    assert {"dfgan_synthetic", "dfgan_synthetic_damsm", "dfgan_cub", "dfgan_oxford", "dfgan_coco"} <= set(names)
    for name in names:  # every GAN config names its source, the one in its file name (dfgan_cub: cub)
        assert "source" in read_yaml(CONFIG_DIR / f"{name}.yaml")["data"], name
        expected = next(s for s in ("synthetic", "cub", "oxford", "coco") if s in name.split("_"))
        assert load_config(TrainConfig, name).data.source == expected, name
    assert load_config(TrainConfig, "dfgan_cub").data.captions.captions_per_image == 10
    syn = load_config(TrainConfig, "dfgan_synthetic").data
    assert (syn.synthetic.min_objects, syn.synthetic.max_objects, syn.sentence_whitening) == (1, 1, 64)


def test_misspelled_data_keys_are_config_errors_listing_the_valid_keys(tmp_path):
    for override, valid in (("data.sorce=cub", "captions, hard_negatives, sentence_whitening, source, synthetic"),
                            ("data.synthetic.num_scene=5", "backgrounds, captions_per_image"),
                            ("data.captions.captions_per_img=5", "captions_per_image, check_images, crop, split, year")):
        with pytest.raises(ConfigError, match=f"valid keys: {valid}"):
            load_config(TrainConfig, "dfgan_synthetic", [override])
    path = tmp_path / "run.yaml"
    path.write_text("data: {source: synthetic, synthetic: {min_object: 1}}\n")
    with pytest.raises(ConfigError, match=r"data\.synthetic\.'min_object'.*valid keys: .*min_objects"):
        load_config(TrainConfig, path)
    with pytest.raises(ConfigError, match="valid keys"):
        TrainConfig(data={"captions": {"spilt": "test"}})
    with pytest.raises(ConfigError, match="data.source: 'birds' is not one of"):
        load_config(TrainConfig, None, ["data.source=birds"])
    with pytest.raises(ConfigError, match="num_scenes must be >= 1"):
        TrainConfig(data={"synthetic": {"num_scenes": 0}})


def test_the_launcher_reports_a_misspelled_data_key(capsys):
    assert launch.main(["--config", "dfgan_synthetic", "--set", "data.synthetic.max_object=1"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: unknown config key") and "valid keys:" in err and "max_objects" in err


def test_keys_of_the_old_flat_data_section_say_where_they_live_now(tmp_path):
    with pytest.raises(ConfigError, match=r"data\.synthetic\.num_scenes"):
        load_config(TrainConfig, "dfgan_synthetic", ["data.num_scenes=500"])
    old_run = tmp_path / "config.yaml"  # a run folder's config.yaml written before data was typed
    old_run.write_text("system: dfgan\ndata: {min_objects: 1, max_objects: 1, num_scenes: 2000, sentence_whitening: 64}\n")
    with pytest.raises(ConfigError, match=r"data\.synthetic\.min_objects"):
        load_config(TrainConfig, old_run)
    with pytest.raises(ConfigError, match=r"data\.synthetic\.captions_per_image .* or data\.captions\.captions_per_image"):
        TrainConfig(data={"captions_per_image": 10})


def test_a_saved_run_config_loads_back(tmp_path):
    cfg = load_config(TrainConfig, "dfgan_cub", ["data.captions.split=test", "data.synthetic.num_scenes=7"])
    save_config(cfg, tmp_path / "config.yaml")
    again = load_config(TrainConfig, tmp_path / "config.yaml")
    assert again.data == cfg.data and config_to_dict(again) == config_to_dict(cfg)


def test_synthetic_options_are_the_world_config_fields():
    world_fields = {f.name for f in dataclasses.fields(WorldConfig)} - {"seed", "image_size", "split", "length"}
    assert {f.name for f in dataclasses.fields(SyntheticDataConfig)} == world_fields | {"num_scenes", "manipulation"}
    opts = SyntheticDataConfig(num_scenes=3, min_objects=2, max_objects=2, backgrounds=["grey"])
    assert WorldConfig(**opts.world_options()).min_objects == 2
    model = {"image_size": 32}
    for data in (DataConfig(synthetic=opts), {"synthetic": {"min_objects": 2, "max_objects": 2}},
                 {"min_objects": 2, "max_objects": 2}, opts):
        world = synthetic_world_from_model_cfg(model, 5, data)
        assert (world.config.min_objects, world.config.image_size, world.config.seed) == (2, 32, 5)
    assert synthetic_world_from_model_cfg(model, 0).config.max_objects == 3


# ---------------------------------------------------------------------------- what is trained on
def test_the_synthetic_config_trains_on_a_folder_and_on_cub(tmp_path):
    """The synthetic default config (whose data holds world options) with --data folder:/cub:PATH: only the
    caption-layout options reach the loader, and the run records what it was trained on."""
    cfg = load_config(TrainConfig, "dfgan_synthetic", TINY)
    folder = write_tiny_caption_folder(tmp_path / "folder", n=5, captions=3)
    data = build_data(f"folder:{folder}", cfg, progress=False)
    assert (len(data), data.name) == (15, "folder")
    assert set(data.captions) == {FIXTURE_CAPTION.format(i=i, j=j) for i in range(5) for j in range(3)}
    result = train(cfg, cfg.system, data, tmp_path / "runs")
    assert result.run_dir.name == "00000-dfgan-folder" and result.step == 2
    info = _data_json(result)
    assert (info["source"], info["path"], info["items"], info["images"]) == ("folder", str(folder), 15, 5)
    assert info["first_captions"][0].startswith("fixture bird")

    cub = write_tiny_cub(tmp_path / "birds", train=4, test=2, captions=5)
    data = build_training_data(f"cub:{cub}", cfg, progress=False)  # the old name still works
    assert (len(data), data.name, data.dataset.split) == (20, "cub", "train")
    result = train(cfg, cfg.system, data, tmp_path / "runs")
    info = _data_json(result)
    assert (info["source"], info["path"], info["items"], info["images"], info["split"]) == ("cub", str(cub), 20, 4, "train")
    assert (result.run_dir / "sentence_whitening").is_dir()


def test_caption_options_reach_only_the_layouts_that_have_them(tmp_path, caplog):
    # 3 test images x 2 captions = 6 sentence vectors: whiten to 4 dimensions (whitening needs more vectors than dims)
    cfg = load_config(TrainConfig, "dfgan_cub", TINY + ["data.captions.captions_per_image=2", "data.captions.split=test",
                                                        "data.sentence_whitening=4", "model.sentence_dim=4"])
    cub = write_tiny_cub(tmp_path / "birds", train=4, test=3, captions=5)
    data = build_data(f"cub:{cub}", cfg, progress=False)
    assert len(data) == 3 * 2 and data.dataset.split == "test"  # 3 test images, 2 captions each
    folder = write_tiny_caption_folder(tmp_path / "folder", n=5, captions=3)
    cfg = dataclasses.replace(cfg, data=dataclasses.replace(cfg.data, captions=CaptionDataConfig(captions_per_image=2, crop=False)))
    with caplog.at_level(logging.WARNING, logger="wordsight.training.sources"):
        data = build_data(f"folder:{folder}", cfg, progress=False)  # the CUB config on a folder
    assert len(data) == 15  # a folder has no captions_per_image: every caption is used
    assert "captions_per_image is not an option of the folder layout" in caplog.text and "crop" in caplog.text


def test_hard_negatives_need_the_synthetic_world(tmp_path):
    cfg = load_config(TrainConfig, "dfgan_synthetic", TINY + ["data.hard_negatives=[shape]"])
    folder = write_tiny_caption_folder(tmp_path / "folder", n=5, captions=3)
    with pytest.raises(ConfigError, match="hard_negatives needs --data synthetic"):
        build_data(f"folder:{folder}", cfg, progress=False)


# ---------------------------------------------------------------------------- the launcher in one process
def test_the_launcher_refuses_a_real_data_config_without_data(capsys):
    assert launch.main(["--config", "dfgan_cub"]) == 2
    assert capsys.readouterr().err == "error: this config trains on cub; pass --data cub:PATH\n"
    assert launch.main(["--config", "dfgan_oxford", "--set", "steps=1"]) == 2
    assert "pass --data oxford:PATH" in capsys.readouterr().err
    assert launch.main(["--config", "dfgan_synthetic", "--data-samples", "8"]) == 2
    assert "--data-samples is for --data random" in capsys.readouterr().err


def test_the_launcher_trains_the_synthetic_world_by_default_and_cub_when_given(tmp_path, capsys):
    args = ["--config", "dfgan_synthetic", "--out", str(tmp_path)]
    for s in TINY:
        args += ["--set", s]
    assert launch.main(args) == 0
    (run,) = tmp_path.iterdir()
    info = json.loads((run / "data.json").read_text())
    world = SyntheticWorld(WorldConfig(seed=0, image_size=16, min_objects=1, max_objects=1))
    assert run.name.endswith("-dfgan-synthetic") and (info["source"], info["items"], info["scenes"]) == ("synthetic", 20, 4)
    assert info["first_captions"] == world.scene_captions(0)[:4]
    cub = write_tiny_cub(tmp_path / "birds")
    assert launch.main([*args, "--config", "dfgan_cub", "--data", f"cub:{cub}", "--set", "data.captions.captions_per_image=5"]) == 0
    info = json.loads((sorted(tmp_path.glob("0*"))[-1] / "data.json").read_text())
    assert (info["source"], info["path"], info["items"]) == ("cub", str(cub), 20)
    assert "run folder:" in capsys.readouterr().out


SALIENCY_TINY = ["input_size=[32,32]", "data.num_scenes=4", "data.test_scenes=2", "data.image_size=32", "steps=2",
                 "batch_size=4", "model.width=0.0625", "model.text_channels=4", "discriminator.width=0.0625",
                 "discriminator.text_channels=4", "progress=false"]


def test_the_launcher_trains_saliency_configs_in_one_process_only(tmp_path, capsys, monkeypatch):
    from wordsight.training.saliency import SALIENCY_SYSTEMS
    from wordsight.training.saliency_data import DATA_FORMS

    assert "text-salgan" in SALIENCY_SYSTEMS and launch.SALIENCY_DATA_FORMS == DATA_FORMS  # names: the registry itself
    args = ["--config", "text_salgan_synthetic", "--out", str(tmp_path)]
    for s in SALIENCY_TINY:
        args += ["--set", s]
    assert launch.main(args) == 0
    out = capsys.readouterr().out
    assert "text-salgan-synthetic" in out and "pipeline:" in out
    assert launch.main(["--config", "salgan_osie"]) == 2
    assert "pass --data osie:PATH" in capsys.readouterr().err
    assert launch.main(["--config", "salgan_osie", "--data", "cub:/x"]) == 2
    assert "unknown saliency data 'cub:/x'; valid forms: synthetic, osie:PATH" in capsys.readouterr().err
    monkeypatch.setenv("WORLD_SIZE", "2")
    assert launch.main(args) == 2
    assert "single-process" in capsys.readouterr().err
