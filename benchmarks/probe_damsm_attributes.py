"""Which caption attributes a trained DAMSM pair checks: real images against one-word-changed captions.

    .venv/bin/python benchmarks/probe_damsm_attributes.py DAMSM_DIR [--scenes 512] [--max-objects 1]

For N fresh test scenes (world seed 5, never in a training stream) the DAMSM pair scores each real image's
global vector against the sentence vector of its own caption and of the same caption with one attribute
word changed (``SyntheticWorld.contrastive_captions``, one attribute at a time). It prints, per attribute,
the mean cosine of both and how often the true caption scores higher (0.5 = the pair ignores the
attribute). A DAMSM loss on a generator (``model.damsm_sentence_weight``) can only teach what this shows.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import torch

from wordsight.data.synthetic import ATTRIBUTES, SyntheticWorld, WorldConfig
from wordsight.models.damsm import load_damsm_pair
from wordsight.training.damsm import damsm_embeddings


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("damsm", type=Path, help="a `wordsight train damsm` output folder")
    ap.add_argument("--scenes", type=int, default=512)
    ap.add_argument("--max-objects", type=int, default=1)
    args = ap.parse_args()
    text, image = load_damsm_pair(args.damsm)
    world = SyntheticWorld(WorldConfig(seed=5, split="test", image_size=image.image_size, max_objects=args.max_objects))
    images = [world.scene(i).image for i in range(args.scenes)]
    true_caps = [world.scene_captions(i)[0] for i in range(args.scenes)]
    img, true_sent = damsm_embeddings(text, image, images, true_caps)
    cos_true = torch.nn.functional.cosine_similarity(img, true_sent, dim=1)
    print(f"DAMSM {args.damsm}: {args.scenes} test scenes (seed 5, <= {args.max_objects} objects)")
    # how far captions move the sentence vector, to set beside the 100-d noise a DF-GAN concatenates it with
    varying = (true_sent - true_sent.mean(0)).norm(dim=1).mean()
    print(f"sentence vectors: mean norm {float(true_sent.norm(dim=1).mean()):.2f}, caption-to-caption part {float(varying):.2f}")
    print("| attribute changed | cos(image, true caption) | cos(image, changed caption) | true caption preferred |")
    print("|---|---|---|---|")
    for attribute in ATTRIBUTES:
        changed = [world.contrastive_captions(i, (attribute,))[0] for i in range(args.scenes)]
        with torch.no_grad():  # the image vectors are the same: encode only the changed captions
            changed_sent = text.encode(changed).sentence.float()
        cos_changed = torch.nn.functional.cosine_similarity(img, changed_sent, dim=1)
        preferred = float((cos_true > cos_changed).double().mean())
        print(f"| {attribute} | {float(cos_true.mean()):.3f} | {float(cos_changed.mean()):.3f} | {preferred:.3f} |")


if __name__ == "__main__":
    main()
