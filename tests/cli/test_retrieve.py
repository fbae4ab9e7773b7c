"""`wordsight train tirg` on the synthetic edit triplets exports a retrieval pipeline; `wordsight retrieve`
ranks a gallery folder and leaves the query image itself out."""

import json

from PIL import Image

from wordsight.cli.main import main
from wordsight.pipelines.retrieval import Retrieval

TINY = ["model.embed_dim=8", "model.word_embedding_dim=8", "model.image_size=16", "model.channels=[4,8]", "steps=2", "batch_size=4",
        "data.synthetic.num_scenes=8", "progress=false", "sample_every=1000", "checkpoint_every=1000", "tensorboard=false"]


def test_train_tirg_then_retrieve_from_a_gallery(tmp_path, capsys):
    assert main(["train", "tirg", "--out", str(tmp_path / "runs"), *TINY]) == 0
    run = next((tmp_path / "runs").iterdir())
    meta = json.loads((run / "pipeline" / "retrieval.json").read_text())
    assert meta["system"] == "tirg" and "make" in meta["vocabulary"]
    pipe = Retrieval.from_pretrained(run / "pipeline")
    gallery = tmp_path / "gallery"
    gallery.mkdir()
    for i, colour in enumerate([(200, 0, 0), (0, 0, 200), (0, 200, 0)]):
        Image.new("RGB", (16, 16), colour).save(gallery / f"{i}.png")
    capsys.readouterr()
    assert main(["retrieve", str(gallery / "0.png"), "--text", "make the red circle blue", "--model", str(run / "pipeline"),
                 "--gallery", str(gallery), "-k", "5", "--out", str(tmp_path / "hits.png")]) == 0
    lines = [line for line in capsys.readouterr().out.splitlines() if line[:1].isdigit()]
    assert len(lines) == 2 and all("0.png" not in line for line in lines)  # the query itself is left out
    # the positional form: retrieve MODEL IMAGE "text"
    assert main(["retrieve", str(run / "pipeline"), str(gallery / "0.png"), "make the red circle blue", "--gallery", str(gallery), "-k", "1"]) == 0
    lines = [line for line in capsys.readouterr().out.splitlines() if line[:1].isdigit()]
    assert len(lines) == 1 and "0.png" not in lines[0]
    assert main(["retrieve", str(gallery / "0.png"), "make it blue", "--gallery", str(gallery)]) != 0  # no model
    hits = pipe.search(Image.open(gallery / "1.png"), "make it green", pipe.index(gallery), k=3)
    assert len(hits) == 3 and hits[0][1] >= hits[1][1] >= hits[2][1]
    assert main(["retrieve", str(gallery / "0.png"), "--text", "x", "--model", str(run / "pipeline"), "--gallery", str(tmp_path / "none")]) != 0


def test_tirg_refuses_captioned_images(tmp_path):
    assert main(["train", "tirg", "--out", str(tmp_path / "runs"), *TINY, "data.synthetic.manipulation=false"]) != 0
