"""Figures and oracle table of trained GAN-INT-CLS / DF-GAN pipelines (docs/gan-int-cls.md).

    python benchmarks/gan_int_cls_figures.py --pipeline RUN/pipeline [--pipeline OTHER/pipeline ...] \
        [--style RUN_WITH_STYLE/pipeline --style-out docs/images/gan_int_cls_style_transfer.png] [--n 128]

Prints one markdown row per pipeline and split (oracle colour/shape/size/count/joint accuracy of one image
per caption for n test and n held-out captions of the one-object synthetic world, seed 1234) and, with
--style, writes the style-transfer picture: rows = rendered source scenes (first column), columns =
captions, each cell G(S(x), phi(t)).
"""

from __future__ import annotations

import argparse
from pathlib import Path

import torch

from wordsight.metrics.generation.oracle import evaluation_captions
from wordsight.data.synthetic import SyntheticWorld, WorldConfig
from wordsight.pipelines.evaluation import oracle_accuracy
from wordsight.pipelines.text_to_image import TextToImage
from wordsight.utils.images import captioned_grid, tensor_to_pil

STYLE_CAPTIONS = ["a small red circle", "a large blue square", "a big yellow star", "a tiny green triangle", "a large pink hexagon"]


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--pipeline", action="append", default=[], type=Path)
    p.add_argument("--n", type=int, default=128)
    p.add_argument("--style", type=Path, default=None)
    p.add_argument("--style-out", type=Path, default=Path("docs/images/gan_int_cls_style_transfer.png"))
    args = p.parse_args()
    captions = evaluation_captions(args.n)
    print("| pipeline | split | colour | shape | size | count | joint |\n|---|---|---|---|---|---|---|")
    for folder in args.pipeline:
        acc = oracle_accuracy(TextToImage.from_pretrained(folder), captions)
        for split, row in acc.items():
            cells = " | ".join(f"{100 * row[k]:.1f}%" for k in ("color", "shape", "size", "count", "joint"))
            print(f"| {folder} | {split} | {cells} |")
    if args.style is not None:
        pipe = TextToImage.from_pretrained(args.style)
        world = SyntheticWorld(WorldConfig(seed=7, image_size=pipe.style_encoder.image_size, split="test", min_objects=1, max_objects=1))
        sources = [world.scene(i).image for i in range(5)]
        out = pipe.transfer_style(sources, STYLE_CAPTIONS)
        cells, labels = [], []
        for i, src in enumerate(sources):
            cells.append(src)
            labels.append("source: " + world.scene_captions(i)[0])
            for j, caption in enumerate(STYLE_CAPTIONS):
                cells.append(tensor_to_pil(out.images[i * len(STYLE_CAPTIONS) + j]))
                labels.append(caption)
        args.style_out.parent.mkdir(parents=True, exist_ok=True)
        captioned_grid(cells, labels, ncols=len(STYLE_CAPTIONS) + 1, cell=96, text_h=36).save(args.style_out)
        print(f"wrote {args.style_out}")
        with torch.no_grad():  # how close S(G(z, h)) comes back to z on fresh noise, relative to E||z||^2
            z = torch.randn(256, pipe.generator.z_dim, generator=torch.Generator().manual_seed(99))
            sent = pipe.encode(evaluation_captions(256, seed=4321)["test"])
            err = (pipe.style_encoder(pipe.generator(z, sent)) - z).pow(2).sum(1).mean() / pipe.generator.z_dim
        print(f"style encoder relative error on held-out noise: {float(err):.3f} (1.0 = predicting 0)")


if __name__ == "__main__":
    main()
