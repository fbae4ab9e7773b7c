"""Export the EMA generator of the newest shipped-DF-GAN run into src/wordsight/assets/dfgan_synthetic/.

    scripts/train_shipped_dfgan.sh            # train or resume (MINUTES=60 by default)
    .venv/bin/python scripts/export_shipped_dfgan.py            # export + eval.json
    .venv/bin/python scripts/export_shipped_dfgan.py --eval-only  # only print the newest checkpoint's accuracy
    .venv/bin/python scripts/export_shipped_dfgan.py --eval-only --run runs/other/00000-x --checkpoint checkpoint-3000

Writes the pipeline folder and eval.json (oracle accuracy on 256 test and 256 held-out captions). The
run's text side goes into the pipeline with the generator: MiniLM with the run's fitted sentence whitening
(``<run>/sentence_whitening``), or the frozen DAMSM BiLSTM of ``data.text_encoder_path`` when the run was
conditioned on one (``data.text_encoder=bilstm``).
"""

from __future__ import annotations

import argparse
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
    from wordsight.training.synthetic_data import default_cache_dir, frozen_text_encoder

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--eval-only", action="store_true", help="print the accuracy; export nothing")
    ap.add_argument("--raw", action="store_true", help="the raw generator instead of its EMA (to compare the two)")
    ap.add_argument("--run", type=Path, default=None, help="run folder (default: the newest under runs/shipped-dfgan)")
    ap.add_argument("--checkpoint", default=None, help="checkpoint folder name (default: the newest complete one)")
    args = ap.parse_args()
    eval_only = args.eval_only

    if args.run is not None:
        run = args.run
    else:
        runs = sorted((ROOT / "runs" / "shipped-dfgan").glob("*-*"))
        if not runs:
            print("no run under runs/shipped-dfgan; run scripts/train_shipped_dfgan.sh first", file=sys.stderr)
            return 2
        run = runs[-1]
    ckpts = list_checkpoints(run) if run.is_dir() else []
    if args.checkpoint is not None:
        ckpts = [(s, c) for s, c in ckpts if c.name == args.checkpoint]
    if not ckpts:
        print(f"no complete checkpoint{' ' + args.checkpoint if args.checkpoint else ''} in {run}", file=sys.stderr)
        return 2
    step, ckpt = ckpts[-1]
    # the EMA weights of the newest complete checkpoint (the run may still be training)
    cfg = yaml.safe_load((run / "config.yaml").read_text())
    generator = DFGenerator(**{k: cfg["model"][k] for k in ("nf", "z_dim", "sentence_dim", "image_size") if k in cfg["model"]})
    weights = "generator.safetensors" if args.raw else "generator_ema.safetensors"
    generator.load_state_dict(load_weights(ckpt / weights))
    data_cfg = cfg.get("data") or {}
    if data_cfg.get("text_encoder") == "bilstm":
        encoder, spec = frozen_text_encoder("bilstm", ROOT / data_cfg["text_encoder_path"]), {"name": "bilstm"}
    else:
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
