"""Copy a SISGAN (or TAGAN) manipulation pipeline into src/wordsight/assets/sisgan_synthetic/ as the shipped
default editor, with eval.json: its accuracy and preservation on 256 one-object test edits of the synthetic
world next to the two references (copying the source; the true target). Called by
scripts/train_shipped_editor.sh.

    .venv/bin/python scripts/export_shipped_editor.py RUN/pipeline [--n 256]
"""

from __future__ import annotations

import argparse
import json
import shutil
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
ASSET = ROOT / "src" / "wordsight" / "assets" / "sisgan_synthetic"


def main() -> None:
    from wordsight.models.oracle import load_oracle
    from wordsight.pipelines.manipulation import MANIPULATION_FILE, Manipulation
    from wordsight.pipelines.manipulation_evaluation import EVALUATION_SEED, edit_all, score_edits, synthetic_edits
    from wordsight.utils.io import atomic_dir, atomic_write_json

    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("pipeline", type=Path)
    p.add_argument("--n", type=int, default=256)
    args = p.parse_args()
    pipe = Manipulation.from_pretrained(args.pipeline, device="cpu")
    edits = synthetic_edits(pipe.image_size, args.n)
    oracle = load_oracle()
    scores = {"editor": score_edits(oracle, edit_all(pipe, edits), edits),
              "copy of the source": score_edits(oracle, edits.sources, edits),
              "true target": score_edits(oracle, edits.targets, edits)}
    run = args.pipeline.resolve().parent
    with atomic_dir(ASSET) as tmp:  # a crash leaves the previous asset in place
        shutil.copytree(args.pipeline, tmp, dirs_exist_ok=True)
        meta = json.loads((tmp / MANIPULATION_FILE).read_text())
        meta.update({"recipe": "scripts/train_shipped_editor.sh", "source_run": run.name})
        atomic_write_json(tmp / MANIPULATION_FILE, meta)
        atomic_write_json(tmp / "eval.json", {"trained_steps": meta.get("trained_steps"), "edits": args.n,
                                              "world_seed": EVALUATION_SEED, "split": "test, one object per scene",
                                              "command": "python benchmarks/tagan_edits.py src/wordsight/assets/sisgan_synthetic",
                                              "scores": scores})
    e = scores["editor"]
    print(f"exported {args.pipeline} -> {ASSET} (step {meta.get('trained_steps')}): accuracy {e['accuracy']:.3f} "
          f"(colour {e.get('accuracy/colour', float('nan')):.3f}, shape {e.get('accuracy/shape', float('nan')):.3f}, "
          f"size {e.get('accuracy/size', float('nan')):.3f}), L2 outside {e['l2_outside']:.4f}, changed outside {e['changed_outside']:.3f}")


if __name__ == "__main__":
    main()
