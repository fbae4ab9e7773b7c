"""Accuracy and preservation of a trained editor (TAGAN, ...) on the synthetic world's one-object test
edits, next to two references: copying the source (perfect preservation, no edit) and the world's true
target (a perfect edit). Writes an edit picture (source, target caption, result).

    python benchmarks/tagan_edits.py RUN/pipeline [--n 256] [--out docs/images/tagan_edits.png]
"""

from __future__ import annotations

import argparse

from wordsight.models.oracle import load_oracle
from wordsight.pipelines.manipulation import Manipulation
from wordsight.pipelines.manipulation_evaluation import edit_all, score_edits, synthetic_edits
from wordsight.utils.images import captioned_grid, tensor_to_pil


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("pipeline")
    p.add_argument("--n", type=int, default=256)
    p.add_argument("--seed", type=int, default=1234)
    p.add_argument("--out", default=None)
    args = p.parse_args()
    pipe = Manipulation.from_pretrained(args.pipeline, device="cpu")
    edits = synthetic_edits(pipe.image_size, args.n, args.seed)
    edited = edit_all(pipe, edits)
    oracle = load_oracle()
    nan = float("nan")
    print(f"| images | accuracy | colour | shape | size | L2 outside the change | pixels changed outside |  ({args.n} one-object test edits)")
    print("|---|---|---|---|---|---|---|")
    for name, images in (("editor", edited), ("copy of the source", edits.sources), ("true target", edits.targets)):
        r = score_edits(oracle, images, edits)
        print(f"| {name} | {r['accuracy']:.3f} | {r.get('accuracy/colour', nan):.3f} | {r.get('accuracy/shape', nan):.3f} "
              f"| {r.get('accuracy/size', nan):.3f} | {r['l2_outside']:.4f} | {r['changed_outside']:.3f} |")
    if args.out:
        cells, labels = [], []
        for i in range(8):
            cells += [tensor_to_pil(edits.sources[i]), tensor_to_pil(edited[i]), tensor_to_pil(edits.targets[i])]
            labels += ["source", f"edited: {edits.target_captions[i]}", "true target"]
        captioned_grid(cells, labels, ncols=6, cell=96, text_h=36).save(args.out)
        print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
