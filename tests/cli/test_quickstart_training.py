"""The quick start's training run: one train() call whose own evaluation gives the oracle curve."""

from __future__ import annotations

import json

from wordsight.cli.quickstart import train_with_oracle_curve
from wordsight.training import list_checkpoints

TINY = ["data.synthetic.num_scenes=8", "data.sentence_whitening=8", "model.sentence_dim=8", "model.nf=4",
        "model.image_size=32", "batch_size=4", "progress=false", "tensorboard=false", "sample_every=100000",
        "checkpoint_every=100000"]


def test_one_run_measures_the_oracle_the_requested_number_of_times(tmp_path):
    # 18 s of training: enough steps for 3 evaluations even when a loaded machine makes the first steps slow
    run, curve, wall = train_with_oracle_curve(tmp_path, 0.3, 3, 8, TINY, seed=0, damsm_share=0)
    assert [p.name for p in tmp_path.iterdir()] == [run.name]  # one run folder: no resumed segments
    assert len(curve) == 3 and curve == sorted(curve, key=lambda r: r["step"]) and wall > 0
    assert curve[-1]["step"] == list_checkpoints(run)[-1][0]  # the last measurement is the end of the run
    for split in ("test", "heldout"):
        assert {f"{split}/{k}" for k in ("count", "color", "shape", "size", "joint")} <= set(curve[0])
    assert (run / "oracle_accuracy.png").stat().st_size > 0 and (run / "metric-oracle.png").exists()
    assert json.loads((run / "oracle_curve.json").read_text()) == curve


def test_default_run_trains_its_damsm_first_and_conditions_on_it(tmp_path):
    """The quick start's recipe: a DAMSM for a fifth of the budget, then DF-GAN on its BiLSTM vectors with
    the DAMSM loss on G; the curve's minutes count the DAMSM's training time."""
    tiny = ["model.nf=4", "batch_size=4", "data.synthetic.num_scenes=8", "progress=false", "tensorboard=false",
            "sample_every=100000", "checkpoint_every=100000"]
    run, curve, _ = train_with_oracle_curve(tmp_path, 0.4, 2, 8, tiny, seed=0,
                                            damsm_options={"batch_size": 4, "num_items": 16, "eval_images": 0, "progress": False})
    damsm = tmp_path / "damsm"
    assert (damsm / "text_encoder" / "config.json").exists() and (damsm / "image_encoder" / "config.json").exists()
    import yaml

    cfg = yaml.safe_load((run / "config.yaml").read_text())
    assert cfg["data"]["text_encoder"] == "bilstm" and cfg["data"]["text_encoder_path"] == str(damsm)
    assert cfg["model"]["damsm_path"] == str(damsm) and cfg["model"]["damsm_sentence_weight"] > 0
    assert cfg["model"]["image_size"] == 32
    damsm_minutes = json.loads((damsm / "metrics.json").read_text())["seconds"] / 60
    assert len(curve) == 2 and curve[0]["minutes"] > damsm_minutes > 0
    assert curve[-1]["minutes"] <= 0.4 + 1e-6 and curve[0]["minutes"] < curve[1]["minutes"]
    records = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]
    assert any("g/g_damsm_sentence" in r for r in records)
