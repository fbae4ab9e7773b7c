"""Accuracy and preservation of a trained editor (TAGAN, ...) on the synthetic world's one-object test
edits, next to two references: copying the source (perfect preservation, no edit) and the world's true
target (a perfect edit). Writes an edit picture (source, target caption, result).

    python benchmarks/tagan_edits.py RUN/pipeline [--n 256] [--out docs/images/tagan_edits.png]
"""

from __future__ import annotations

import argparse

import torch

from wordsight.data.synthetic import SyntheticWorld, WorldConfig
from wordsight.metrics.manipulation import edit_accuracy, preservation
from wordsight.models.oracle import load_oracle
from wordsight.pipelines.manipulation import Manipulation
from wordsight.training.manipulation_data import SyntheticManipulationData
from wordsight.utils.images import captioned_grid, tensor_to_pil


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("pipeline")
    p.add_argument("--n", type=int, default=256)
    p.add_argument("--seed", type=int, default=1234)
    p.add_argument("--out", default=None)
    args = p.parse_args()
    pipe = Manipulation.from_pretrained(args.pipeline, device="cpu")
    world = SyntheticWorld(WorldConfig(seed=args.seed, image_size=pipe.image_size, split="test", min_objects=1, max_objects=1))
    data = SyntheticManipulationData(world, args.n)
    items = [data[i] for i in range(args.n)]
    sources = torch.stack([it["images"] for it in items])
    targets = torch.stack([it["target_images"] for it in items])
    masks = torch.stack([it["change_mask"] for it in items])
    caps, ops = [it["target_captions"] for it in items], [it["operation"] for it in items]
    with torch.no_grad():
        edited = torch.cat([pipe.editor.edit(sources[i:i + 64], caps[i:i + 64]).float().clamp(-1, 1) for i in range(0, args.n, 64)])
    oracle = load_oracle()
    print(f"| images | accuracy | colour | shape | size | L2 outside the change | pixels changed outside |  ({args.n} one-object test edits)")
    print("|---|---|---|---|---|---|---|")
    for name, images in (("editor", edited), ("copy of the source", sources), ("true target", targets)):
        acc, keep = edit_accuracy(oracle, images, caps, ops), preservation(images, sources, masks)
        print(f"| {name} | {acc['accuracy']:.3f} | {acc.get('accuracy/colour', float('nan')):.3f} | {acc.get('accuracy/shape', float('nan')):.3f} "
              f"| {acc.get('accuracy/size', float('nan')):.3f} | {keep['l2_outside']:.4f} | {keep['changed_outside']:.3f} |")
    if args.out:
        cells, labels = [], []
        for i in range(8):
            cells += [tensor_to_pil(sources[i]), tensor_to_pil(edited[i]), tensor_to_pil(targets[i])]
            labels += ["source", f"edited: {caps[i]}", "true target"]
        captioned_grid(cells, labels, ncols=6, cell=96, text_h=36).save(args.out)
        print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
