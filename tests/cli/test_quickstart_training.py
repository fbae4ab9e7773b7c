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
    run, curve, wall = train_with_oracle_curve(tmp_path, 0.3, 3, 8, TINY, seed=0)
    assert [p.name for p in tmp_path.iterdir()] == [run.name]  # one run folder: no resumed segments
    assert len(curve) == 3 and curve == sorted(curve, key=lambda r: r["step"]) and wall > 0
    assert curve[-1]["step"] == list_checkpoints(run)[-1][0]  # the last measurement is the end of the run
    for split in ("test", "heldout"):
        assert {f"{split}/{k}" for k in ("count", "color", "shape", "size", "joint")} <= set(curve[0])
    assert (run / "oracle_accuracy.png").stat().st_size > 0 and (run / "metric-oracle.png").exists()
    assert json.loads((run / "oracle_curve.json").read_text()) == curve
