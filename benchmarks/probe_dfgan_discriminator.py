"""Which caption attributes a trained DF-GAN discriminator checks: real images against one-word-changed captions.

    .venv/bin/python benchmarks/probe_dfgan_discriminator.py RUN_DIR [--checkpoint checkpoint-4500] [--scenes 256]

For N fresh one-object test scenes (seed 5, not the training stream) the discriminator scores each real
image with its own caption and with the same caption with one attribute word changed
(``SyntheticWorld.contrastive_captions``, one attribute at a time). Prints per attribute the mean logit
of the true and the changed caption and how often D prefers the true one (0.5 = D ignores the attribute).
A generator can only learn to follow an attribute that its discriminator checks. The run's sentence
whitening is applied when the run has one. docs/dfgan.md ("The shipped model") quotes its output.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import torch
import yaml

from wordsight.data.synthetic import ATTRIBUTES, SyntheticWorld, WorldConfig
from wordsight.hub import from_pretrained, load_weights
from wordsight.models.dfgan import DFDiscriminator
from wordsight.text.whitening import WHITENING_FOLDER, with_whitening
from wordsight.training.checkpoint import list_checkpoints
from wordsight.training.synthetic_data import minilm_encoder
from wordsight.utils.images import pil_to_tensor


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("run", type=Path)
    ap.add_argument("--checkpoint", default=None, help="checkpoint folder name (default: the newest)")
    ap.add_argument("--scenes", type=int, default=256)
    args = ap.parse_args()

    cfg = yaml.safe_load((args.run / "config.yaml").read_text())
    ckpt = args.run / args.checkpoint if args.checkpoint else list_checkpoints(args.run)[-1][1]
    m = cfg["model"]
    D = DFDiscriminator(nf=m["nf"], sentence_dim=m["sentence_dim"], image_size=m["image_size"])
    D.load_state_dict(load_weights(ckpt / "discriminator.safetensors"))
    D.eval()
    whitening = from_pretrained(args.run / WHITENING_FOLDER) if (args.run / WHITENING_FOLDER).exists() else None
    encoder, _ = with_whitening(minilm_encoder(), {"name": "minilm"}, whitening)

    world = SyntheticWorld(WorldConfig(seed=5, image_size=m["image_size"], split="test", min_objects=1, max_objects=1))
    idx = range(args.scenes)
    images = torch.stack([pil_to_tensor(world.scene(i).image) for i in idx])
    true = [world.scene_captions(i)[0] for i in idx]
    print(f"{ckpt}  ({args.scenes} real test images)")
    print(f"| changed attribute | mean logit, true caption | mean logit, changed caption | P(D prefers the true caption) |")
    print("|---|---|---|---|")
    with torch.no_grad():
        features = D.features(images)
        true_logits = D.logits(features, encoder.encode(true).sentence).flatten()
        for attribute in ATTRIBUTES:
            changed = [world.contrastive_captions(i, (attribute,))[0] for i in idx]
            logits = D.logits(features, encoder.encode(changed).sentence).flatten()
            prefer = (true_logits > logits).float().mean().item()
            print(f"| {attribute} | {true_logits.mean().item():.3f} | {logits.mean().item():.3f} | {prefer:.3f} |")


if __name__ == "__main__":
    main()
