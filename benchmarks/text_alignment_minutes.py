"""Text alignment against training minutes (issue 21 goal 5): the quick start's fresh run, or the old
MiniLM-only recipe, for a budget, with the oracle measured during training; prints accuracy vs minutes.

    .venv/bin/python benchmarks/text_alignment_minutes.py --minutes 5 [--threads 2] [--recipe quick|minilm] [--out DIR]
    .venv/bin/python benchmarks/text_alignment_minutes.py --minutes 5 --recipe minilm model.image_size=32

``quick`` is what ``wordsight quickstart`` trains (a DAMSM for a fifth of the budget, then DF-GAN at 32 px on
its text encoder with the DAMSM loss on G: configs/dfgan_synthetic_quick.yaml); ``minilm`` is
configs/dfgan_synthetic.yaml (64 px, whitened MiniLM, no DAMSM). Extra ``key=value`` arguments override the
GAN's config. The oracle only measures (128 test and 128 held-out captions per measurement). The table and
``oracle_accuracy.png`` (accuracy against minutes) are written under --out. docs/quickstart.md has the figures.
"""

from __future__ import annotations

import argparse
import json
import os
from pathlib import Path


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--minutes", type=float, default=5.0, help="training budget, the DAMSM's included")
    ap.add_argument("--recipe", choices=("quick", "minilm"), default="quick")
    ap.add_argument("--threads", type=int, default=None, help="torch threads (default: all cores)")
    ap.add_argument("--evaluations", type=int, default=5)
    ap.add_argument("--captions", type=int, default=128, help="captions per split per measurement")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--out", type=Path, default=Path("runs/text-alignment"))
    ap.add_argument("overrides", nargs="*", help="key=value overrides of the GAN's config")
    args = ap.parse_args()
    import torch

    if args.threads:
        torch.set_num_threads(args.threads)
    from wordsight.cli.quickstart import QUICK_DAMSM_SHARE, train_with_oracle_curve

    share = QUICK_DAMSM_SHARE if args.recipe == "quick" else 0.0
    out = args.out / f"{args.recipe}-{args.minutes:g}min-seed{args.seed}"
    run, curve, wall = train_with_oracle_curve(out, args.minutes, args.evaluations, args.captions,
                                               ["progress=false", *args.overrides], args.seed, damsm_share=share,
                                               damsm_options={"progress": False})
    from wordsight.utils.hardware import cpu_model

    cpu = cpu_model()
    lines = [f"recipe {args.recipe}, {args.minutes:g} min budget, {torch.get_num_threads()} thread(s), {cpu}, "
             f"load average {os.getloadavg()[0]:.1f} at the end; {wall} min wall; run {run}", "",
             "| minutes | step | test colour | test shape | test size | test joint | held-out colour | held-out shape | held-out joint |",
             "|---|---|---|---|---|---|---|---|---|"]
    for r in curve:
        cells = [f"{100 * r[k]:.1f}%" for k in ("test/color", "test/shape", "test/size", "test/joint", "heldout/color",
                                                  "heldout/shape", "heldout/joint")]
        lines.append(f"| {r.get('minutes', float('nan')):.1f} | {r['step']} | " + " | ".join(cells) + " |")
    text = "\n".join(lines) + "\n"
    (out / "table.md").write_text(text, encoding="utf-8")
    (out / "curve.json").write_text(json.dumps(curve, indent=1), encoding="utf-8")
    print(text)


if __name__ == "__main__":
    main()
