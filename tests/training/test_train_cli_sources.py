"""`wordsight train SYSTEM --data folder:|cub:|oxford:|coco:PATH` with each system's default config (no --config):
every registered text-to-image system trains on a caption folder, a CUB, an Oxford-102 and a COCO layout, and
records what it trained on.
A new system must add its tiny settings here (the first test fails until it does)."""

import json

import pytest

from wordsight.cli.main import main
from wordsight.training.objective import SYSTEMS

from .conftest import write_tiny_caption_folder, write_tiny_coco, write_tiny_cub, write_tiny_oxford

LAYOUTS = {  # layout -> (fixture writer, caption pairs it holds)
    "folder": (lambda root: write_tiny_caption_folder(root, n=5, captions=3), 15),
    "cub": (lambda root: write_tiny_cub(root, train=4, test=2, captions=5), 20),
    "oxford": (lambda root: write_tiny_oxford(root, n=4, captions=5), 20),
    "coco": (lambda root: write_tiny_coco(root, n=4, captions=5), 20),
}

COMMON = ["data.sentence_whitening=8", "steps=2", "batch_size=4", "log_every=1", "sample_every=100", "checkpoint_every=100",
          "num_samples=4", "tensorboard=false", "progress=false", "mixed_precision=no"]

# per system: tiny model settings; "{pipeline:SYSTEM}" is the pipeline this test trained for SYSTEM before
TINY = {
    "dfgan": ["model.nf=4", "model.image_size=16", "model.z_dim=8", "model.sentence_dim=8"],
    "gan-int-cls": ["model.ngf=4", "model.ndf=4", "model.image_size=16", "model.z_dim=8", "model.sentence_dim=8"],
    "gan-int-cls-style": ["model.generator={pipeline:gan-int-cls}", "model.nf=4"],
    "stackgan-pp": ["model.gf_dim=4", "model.df_dim=2", "model.z_dim=8", "model.sentence_dim=8", "model.c_dim=4",
                    "model.base_size=16", "model.branch_num=2"],
    "stackgan": ["model.ngf=4", "model.ndf=4", "model.z_dim=8", "model.sentence_dim=8", "model.c_dim=4", "model.stage1_size=16"],
    # "{damsm}": a DAMSM this test trains on the same layout first (word features need the layout's vocabulary)
    **{system: ["model.gf_dim=4", "model.df_dim=2", "model.z_dim=8", "model.c_dim=4", "model.base_size=16", "model.branch_num=2",
                "model.damsm_path={damsm}", "data.text_encoder_path={damsm}", "data.sentence_whitening=0"]
       for system in ("attngan", "dualattngan")},
    "imagan": ["model.nf=4", "model.image_size=16", "model.z_dim=8", "model.sentence_dim=8", "model.rdb_growth=4"],
    "tirg": None,
    "sisgan": ["model.ngf=4", "model.ndf=4", "model.image_size=16", "model.text_dim=8", "model.word_embedding_dim=8",
               "model.c_dim=4", "model.r_num=1", "model.embedding_channels=[4,8]", "model.embedding_steps=1"],
    "tagan": ["model.nf=4", "model.image_size=32", "model.text_dim=8", "model.word_embedding_dim=8", "model.c_dim=4", "model.r_num=1"],  # trains on edit triplets (the synthetic world's); a captioned layout is refused with a clear error
}


PIPELINE_SYSTEM = {"gan-int-cls-style": "gan-int-cls"}


def test_every_registered_system_has_tiny_settings_here():
    assert set(SYSTEMS) == set(TINY), "add the new system's tiny model settings to TINY"


@pytest.fixture(autouse=True)
def _cache(tmp_path, monkeypatch):
    monkeypatch.setenv("WORDSIGHT_CACHE", str(tmp_path / "cache"))


@pytest.mark.parametrize("layout", list(LAYOUTS))
def test_each_system_trains_on_a_real_layout_with_its_default_config(tmp_path, layout):
    write, items = LAYOUTS[layout]
    root = write(tmp_path / "data")
    damsm = tmp_path / "damsm"
    assert main(["train", "damsm", "--data", f"{layout}:{root}", "--out", str(damsm), "--steps", "1", "--batch-size", "2",
                 "--image-size", "16", "--eval-images", "0", "--no-progress"]) == 0
    pipelines = {}
    for system, tiny in TINY.items():  # in order: a system may need an earlier one's pipeline
        out = tmp_path / "runs" / system
        if tiny is None:
            assert main(["train", system, "--data", f"{layout}:{root}", "--out", str(out), *COMMON]) == 2, system
            continue
        for name, path in pipelines.items():
            tiny = [a.replace(f"{{pipeline:{name}}}", str(path)) for a in tiny]
        tiny = [a.replace("{damsm}", str(damsm)) for a in tiny]
        assert main(["train", system, "--data", f"{layout}:{root}", "--out", str(out), *COMMON, *tiny]) == 0, system
        run = next(out.iterdir())
        assert run.name.endswith(f"-{system}-{layout}"), run.name
        info = json.loads((run / "data.json").read_text())
        assert (info["source"], info["path"], info["items"]) == (layout, str(root), items), system
        meta_file = next(f for f in ("pipeline.json", "manipulation.json") if (run / "pipeline" / f).exists())  # an editor: manipulation.json
        meta = json.loads((run / "pipeline" / meta_file).read_text())
        # the style encoder's pipeline is its generator's, plus style_encoder/
        assert meta["system"] == PIPELINE_SYSTEM.get(system, system) and meta["trained_on"]["data"] == f"{layout}:{root}", (system, meta)
        if system == "gan-int-cls-style":
            assert (run / "pipeline" / "style_encoder").is_dir()
        pipelines[system] = run / "pipeline"
