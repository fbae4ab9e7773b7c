"""Export the EMA generator of the newest shipped-DF-GAN run into src/wordsight/assets/dfgan_synthetic/.

    scripts/train_shipped_dfgan.sh            # train or resume (MINUTES=60 by default)
    .venv/bin/python scripts/export_shipped_dfgan.py            # export + eval.json
    .venv/bin/python scripts/export_shipped_dfgan.py --eval-only  # only print the newest checkpoint's accuracy

Writes the pipeline folder and eval.json (oracle accuracy on 256 test and 256 held-out captions). The
run's fitted sentence whitening (``<run>/sentence_whitening``) goes into the pipeline with the generator.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def main() -> int:
    from wordsight.cli.quickstart import evaluation_captions, oracle_accuracy
    import yaml

    from wordsight.hub import load_weights
    from wordsight.models.dfgan import DFGenerator
    from wordsight.pipelines.text_to_image import SHIPPED_DIR, TextToImage
    from wordsight.hub import from_pretrained
    from wordsight.text.minilm import MiniLMEncoder
    from wordsight.text.whitening import WHITENING_FOLDER, with_whitening
    from wordsight.training.checkpoint import list_checkpoints
    from wordsight.training.synthetic_data import default_cache_dir

    eval_only = "--eval-only" in sys.argv[1:]

    runs = sorted((ROOT / "runs" / "shipped-dfgan").glob("*-*"))
    if not runs:
        print("no run under runs/shipped-dfgan; run scripts/train_shipped_dfgan.sh first", file=sys.stderr)
        return 2
    run = runs[-1]
    ckpts = list_checkpoints(run)
    if not ckpts:
        print(f"no complete checkpoint in {run}", file=sys.stderr)
        return 2
    step, ckpt = ckpts[-1]
    # the EMA weights of the newest complete checkpoint (the run may still be training)
    cfg = yaml.safe_load((run / "config.yaml").read_text())
    generator = DFGenerator(**{k: cfg["model"][k] for k in ("nf", "z_dim", "sentence_dim", "image_size") if k in cfg["model"]})
    # --raw: the raw generator instead of its EMA (to compare the two)
    weights = "generator.safetensors" if "--raw" in sys.argv[1:] else "generator_ema.safetensors"
    generator.load_state_dict(load_weights(ckpt / weights))
    whitening = from_pretrained(run / WHITENING_FOLDER) if (run / WHITENING_FOLDER).exists() else None
    encoder, spec = with_whitening(MiniLMEncoder(cache_dir=default_cache_dir()), {"name": "minilm"}, whitening)
    pipe = TextToImage(generator.eval(), encoder, spec)
    acc = oracle_accuracy(pipe, evaluation_captions(256))
    if eval_only:
        print(json.dumps({"step": step, "oracle_accuracy": acc}))
        return 0
    pipe.save_pretrained(SHIPPED_DIR, extra={"trained_steps": step, "source_run": run.name})
    (SHIPPED_DIR / "eval.json").write_text(json.dumps({"step": step, "oracle_accuracy": acc}, indent=2) + "\n")
    print(json.dumps({"step": step, "oracle_accuracy": acc}, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
