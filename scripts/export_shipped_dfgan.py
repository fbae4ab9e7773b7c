"""Export the EMA generator of the newest shipped-DF-GAN run into src/wordsight/assets/dfgan_synthetic/.

    scripts/train_shipped_dfgan.sh            # train or resume (MINUTES=60 by default)
    .venv/bin/python scripts/export_shipped_dfgan.py            # export + eval.json
    .venv/bin/python scripts/export_shipped_dfgan.py --eval-only  # only print the newest checkpoint's accuracy
    .venv/bin/python scripts/export_shipped_dfgan.py --eval-only --run runs/other/00000-x --checkpoint checkpoint-3000
    .venv/bin/python scripts/export_shipped_dfgan.py --run runs/other/00000-x --every 500 --plot curve.png  # every 500th

Writes the pipeline folder and eval.json (oracle accuracy on 256 test and 256 held-out captions). The
run's text side goes into the pipeline with the generator: MiniLM with the run's fitted sentence whitening
(``<run>/sentence_whitening``), or the frozen DAMSM BiLSTM of ``data.text_encoder_path`` when the run was
conditioned on one (``data.text_encoder=bilstm``).
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def pipeline_at(run: Path, ckpt: Path, raw: bool = False):
    """The text-to-image pipeline of one checkpoint: its EMA (or raw) generator and the run's text side."""
    import yaml

    from wordsight.hub import from_pretrained, load_weights
    from wordsight.models.dfgan import DFGenerator
    from wordsight.pipelines.text_to_image import TextToImage
    from wordsight.text.minilm import MiniLMEncoder
    from wordsight.text.whitening import WHITENING_FOLDER, with_whitening
    from wordsight.training.synthetic_data import default_cache_dir, frozen_text_encoder

    cfg = yaml.safe_load((run / "config.yaml").read_text())
    generator = DFGenerator(**{k: cfg["model"][k] for k in ("nf", "z_dim", "sentence_dim", "image_size") if k in cfg["model"]})
    generator.load_state_dict(load_weights(ckpt / ("generator.safetensors" if raw else "generator_ema.safetensors")))
    data_cfg = cfg.get("data") or {}
    if data_cfg.get("text_encoder") == "bilstm":
        encoder, spec = frozen_text_encoder("bilstm", ROOT / data_cfg["text_encoder_path"]), {"name": "bilstm"}
    else:
        whitening = from_pretrained(run / WHITENING_FOLDER) if (run / WHITENING_FOLDER).exists() else None
        encoder, spec = with_whitening(MiniLMEncoder(cache_dir=default_cache_dir()), {"name": "minilm"}, whitening)
    return TextToImage(generator.eval(), encoder, spec)


def plot_curve(rows: list[dict], path: Path, title: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(10, 3.6), sharey=True)
    steps = [r["step"] for r in rows]
    for ax, split in zip(axes, ("test", "heldout")):
        for attribute, chance in (("color", 1 / 8), ("shape", 1 / 6), ("size", 1 / 2), ("count", None), ("joint", None)):
            line, = ax.plot(steps, [100 * r["oracle_accuracy"][split][attribute] for r in rows], marker=".", label=attribute)
            if chance:
                ax.axhline(100 * chance, color=line.get_color(), linestyle=":", linewidth=0.8)
        ax.set_title(f"{split} captions"); ax.set_xlabel("step"); ax.grid(alpha=0.3)
    axes[0].set_ylabel("oracle accuracy (%), dotted: chance"); axes[1].legend(loc="lower right")
    fig.suptitle(title); fig.tight_layout(); fig.savefig(path, dpi=100); plt.close(fig)


def main() -> int:
    from wordsight.metrics.generation.oracle import evaluation_captions
    from wordsight.pipelines.evaluation import oracle_accuracy
    from wordsight.pipelines.text_to_image import SHIPPED_DIR
    from wordsight.training.checkpoint import list_checkpoints

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--eval-only", action="store_true", help="print the accuracy; export nothing")
    ap.add_argument("--raw", action="store_true", help="the raw generator instead of its EMA (to compare the two)")
    ap.add_argument("--run", type=Path, default=None, help="run folder (default: the newest under runs/shipped-dfgan)")
    ap.add_argument("--checkpoint", default=None, help="checkpoint folder name (default: the newest complete one)")
    ap.add_argument("--every", type=int, default=None, help="evaluate every checkpoint whose step is a multiple of N "
                    "(implies --eval-only); one JSON line each")
    ap.add_argument("--recipe", default="scripts/train_shipped_dfgan.sh",
                    help="the command that trained the run, recorded in pipeline.json for the quick-start report")
    ap.add_argument("--plot", type=Path, default=None, help="with --every: also draw the accuracy curve into this PNG")
    args = ap.parse_args()
    eval_only = args.eval_only or args.every is not None

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
    if args.every is not None:
        if args.every < 1:
            print("--every must be >= 1", file=sys.stderr)
            return 2
        ckpts = [(s, c) for s, c in ckpts if s % args.every == 0]
    if not ckpts:
        print(f"no complete checkpoint{' ' + args.checkpoint if args.checkpoint else ''} in {run}", file=sys.stderr)
        return 2
    captions = evaluation_captions(256)
    if args.every is not None:
        rows = []
        for step, ckpt in ckpts:
            rows.append({"step": step, "oracle_accuracy": oracle_accuracy(pipeline_at(run, ckpt, args.raw), captions)})
            print(json.dumps(rows[-1]), flush=True)
        if args.plot is not None:
            plot_curve(rows, args.plot, f"{run.parent.name}/{run.name}: oracle accuracy of the {'raw' if args.raw else 'EMA'} generator")
        return 0
    step, ckpt = ckpts[-1]  # the newest complete checkpoint (the run may still be training)
    pipe = pipeline_at(run, ckpt, args.raw)
    acc = oracle_accuracy(pipe, captions)
    if eval_only:
        print(json.dumps({"step": step, "oracle_accuracy": acc}))
        return 0
    shutil.rmtree(SHIPPED_DIR, ignore_errors=True)  # no file of the previous model may stay behind (e.g. its whitening)
    pipe.save_pretrained(SHIPPED_DIR, extra={"trained_steps": step, "source_run": f"{run.parent.name}/{run.name}",
                                                  "recipe": args.recipe, "system": "dfgan",
                                                  "trained_on": {"data": "synthetic", "description": "the synthetic shape world (it knows only "
                                                                 "the world's shapes, colours, sizes and positions)"}})
    (SHIPPED_DIR / "eval.json").write_text(json.dumps({"step": step, "oracle_accuracy": acc}, indent=2) + "\n")
    print(json.dumps({"step": step, "oracle_accuracy": acc}, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
