"""Issue 16's comparison of every text-guided manipulation method on the synthetic world, one table.

Every editor edits the same one-object test scenes (each rendered at the editor's own size) to the world's
target caption; the scene oracle and the change masks score both sides of the task:

* accuracy: the oracle reads the requested attribute on the edited image (wordsight.metrics.manipulation);
* preservation: the L2 error outside the change mask ([0, 1] pixels) and the fraction of pixels changed
  there by more than 8/255;
* realism: oracle FID of the edited images against the true targets of ``--reference-n`` other test edits
  (the oracle's penultimate features; FID is biased upwards with few images: the 64-edit inversion row
  more than the 256-edit rows);

next to two references (copying the source: perfect preservation, no edit; the world's true target: a
perfect edit). The methods: TAGAN and SISGAN (manipulation pipelines), GAN-INT-CLS with its style encoder
as an editor (G(S(x), phi(t_new)), seed 004 section 4.4), and optimisation-based inversion of the shipped
DF-GAN (seed 004 Algorithm 1; scored on the first ``--inversion-n`` edits, it optimises a latent per image).
TIRG retrieves instead of editing: its Recall@1/5/10 on the test and held-out edit triplets follow.

    MINUTES=20 scripts/compare_manipulation.sh                        # same CPU budget per method (1 core each)
    python benchmarks/manipulation_synthetic.py --runs runs/compare_manipulation \
        [--n 256] [--inversion-n 64] [--picture docs/images/manipulation_methods.png]
    python benchmarks/manipulation_synthetic.py --train 20            # runs the script first (skips trained ones)
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
import warnings
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(Path(__file__).resolve().parent))

from wordsight.models.oracle import load_oracle  # noqa: E402
from wordsight.pipelines.manipulation_evaluation import edit_all, oracle_reference, score_edits, synthetic_edits  # noqa: E402
from wordsight.utils.images import captioned_grid, tensor_to_pil  # noqa: E402


def newest(runs: Path, system: str) -> Path | None:
    found = sorted(runs.glob(f"*-{system}-synthetic/pipeline"))
    return found[-1] if found else None


def editors(args) -> list[tuple[str, str, int, object]]:
    """(name, what it was trained for, image size, edit(sources, captions, target_captions) -> images)."""
    import yaml

    from wordsight.pipelines.inversion import edit_by_inversion
    from wordsight.pipelines.manipulation import Manipulation
    from wordsight.pipelines.text_to_image import TextToImage

    runs = Path(args.runs)
    found = []

    def budget(pipeline: Path, steps: int, *extra: Path) -> str:
        minutes = sum(float((yaml.safe_load((p.parent / "config.yaml").read_text()) or {}).get("minutes") or 0) for p in (pipeline, *extra))
        return f"{minutes:g} min, {steps:,} steps"

    for system, name in (("tagan", "TAGAN"), ("sisgan", "SISGAN")):
        folder = newest(runs, system)
        if folder is None:
            print(f"(no {system} run under {runs}: MINUTES=20 scripts/compare_manipulation.sh {system})")
            continue
        pipe = Manipulation.from_pretrained(folder, device="cpu")

        def edit(edits, pipe=pipe):
            return edit_all(pipe, edits)

        found.append((name, budget(folder, int(pipe.info.get("trained_steps", 0))), pipe.image_size, edit, None))
    style = newest(runs, "gan-int-cls-style")
    if style is not None:
        pipe = TextToImage.from_pretrained(style)
        gen_run = newest(runs, "gan-int-cls")
        steps = int(json.loads((style / "pipeline.json").read_text()).get("trained_steps", 0))

        def edit(edits, pipe=pipe):
            return pipe.transfer_style(edits.sources, edits.target_captions, paired=True).images.float().clamp(-1, 1)

        extra = (gen_run,) if gen_run is not None else ()
        found.append(("GAN-INT-CLS + style encoder", budget(style, steps, *extra) + " (G + S)", int(pipe.generator.image_size), edit, None))
    else:
        print(f"(no gan-int-cls-style run under {runs}: MINUTES=20 scripts/compare_manipulation.sh style)")
    inv = TextToImage.from_pretrained(args.inversion_model)

    def invert(edits, pipe=inv):
        # 32 at a time, each image with its own latent, source caption and new caption
        return torch.cat([edit_by_inversion(pipe, edits.sources[i:i + 32], edits.captions[i:i + 32],
                                            edits.target_captions[i:i + 32], steps=args.inversion_steps).edited.float()
                          for i in range(0, len(edits), 32)])

    label = "shipped" if args.inversion_model is None else Path(args.inversion_model).name
    found.append((f"DF-GAN inversion ({label}, {args.inversion_steps} steps)", "none (inverts a trained DF-GAN)",
                  int(inv.generator.image_size), invert, args.inversion_n))
    return found


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--runs", default=str(ROOT / "runs" / "compare_manipulation"), help="the runs of scripts/compare_manipulation.sh")
    p.add_argument("--train", type=float, default=None, metavar="MINUTES", help="first run scripts/compare_manipulation.sh with this budget")
    p.add_argument("--n", type=int, default=256, help="one-object test edits per method")
    p.add_argument("--inversion-n", type=int, default=64, help="edits scored for the (slow) inversion row")
    p.add_argument("--inversion-steps", type=int, default=300, help="as `wordsight manipulate`")
    p.add_argument("--inversion-model", default=None, help="a text-to-image pipeline to invert (default: the shipped DF-GAN)")
    p.add_argument("--reference-n", type=int, default=2048, help="real renders for the oracle FID reference")
    p.add_argument("--tirg-n", type=int, default=1000, help="edit triplets per split for TIRG's Recall@K")
    p.add_argument("--seed", type=int, default=1234, help="world seed of the evaluation scenes")
    p.add_argument("--picture", default=None, help="write the edit picture (source, every method, true target) here")
    args = p.parse_args()
    from wordsight.pipelines.text_to_image import UnknownWordsWarning

    # the shipped DF-GAN never saw the position words of some source captions; said once here, not per batch
    warnings.filterwarnings("ignore", category=UnknownWordsWarning)
    if args.train is not None:
        env = {**os.environ, "MINUTES": str(args.train), "OUT": args.runs}
        subprocess.run([str(ROOT / "scripts" / "compare_manipulation.sh")], check=True, env=env, cwd=ROOT)

    oracle = load_oracle()
    reference = oracle_reference(oracle, args.reference_n, args.seed)
    rows, picture = [], {}
    methods = editors(args)
    data = {size: synthetic_edits(size, args.n, args.seed) for size in sorted({m[2] for m in methods} | {64})}
    for name, budget, size, edit, limit in methods:
        edits = data[size].head(min(args.n, limit or args.n))
        t0 = time.perf_counter()
        with torch.no_grad() if limit is None else torch.enable_grad():
            edited = edit(edits)
        rows.append((name, budget, edited, edits, (time.perf_counter() - t0) / len(edits)))
        picture[name] = edited[:8]
    for name, images in (("copy of the source (reference)", "sources"), ("true target (reference)", "targets")):
        rows.append((name, "", getattr(data[64], images), data[64], None))
    print(f"| method | training | edits | accuracy | colour | shape | size | L2 outside the change | pixels changed outside | oracle FID | s / edit |"
          f"  (one-object test edits, world seed {args.seed}; FID reference: the true targets of {args.reference_n} other edits)")
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    nan = float("nan")
    for name, budget, edited, edits, seconds in rows:
        r = score_edits(oracle, edited, edits, reference)
        speed = f"{seconds:.3f}" if seconds is not None else ""
        print(f"| {name} | {budget} | {int(r['n'])} | {r['accuracy']:.3f} | {r.get('accuracy/colour', nan):.3f} "
              f"| {r.get('accuracy/shape', nan):.3f} | {r.get('accuracy/size', nan):.3f} "
              f"| {r['l2_outside']:.4f} | {r['changed_outside']:.3f} | {r['oracle_fid']:.2f} | {speed} |", flush=True)

    tirg = newest(Path(args.runs), "tirg")
    if tirg is not None:
        from tirg_recall import split_recall

        from wordsight.pipelines.retrieval import Retrieval

        pipe = Retrieval.from_pretrained(tirg)
        print(f"\nTIRG ({tirg}, {int(pipe.info.get('trained_steps', 0)):,} steps): Recall@K on {args.tirg_n} edit triplets per split "
              f"(1-3 objects; gallery = their {2 * args.tirg_n} source and target images, the query's own source left out)")
        print("| split | query | Recall@1 | Recall@5 | Recall@10 |")
        print("|---|---|---|---|---|")
        for split in ("test", "heldout"):
            for query, r in split_recall(pipe, split, args.tirg_n, 3, args.seed).items():
                print(f"| {split} | {query} | {r['recall@1']:.3f} | {r['recall@5']:.3f} | {r['recall@10']:.3f} |")
    else:
        print(f"(no tirg run under {args.runs}: MINUTES=20 scripts/compare_manipulation.sh tirg)")

    if args.picture:
        d = data[64]
        cells, labels = [], []
        for i in range(min(6, args.n)):
            cells.append(tensor_to_pil(d.sources[i]))
            labels.append(f"source: {d.instructions[i]}")
            for name in picture:
                if i < picture[name].shape[0]:
                    cells.append(tensor_to_pil(picture[name][i]))
                    labels.append(name.split(" (")[0])
            cells.append(tensor_to_pil(d.targets[i]))
            labels.append("true target")
        Path(args.picture).parent.mkdir(parents=True, exist_ok=True)
        captioned_grid(cells, labels, ncols=len(picture) + 2, cell=96, text_h=48).save(args.picture)
        print(f"wrote {args.picture}")


if __name__ == "__main__":
    main()
