"""Which caption attributes a trained DF-GAN discriminator checks: real images against one-word-changed captions.

    .venv/bin/python benchmarks/probe_dfgan_discriminator.py RUN_DIR [--checkpoint checkpoint-4500] [--scenes 256] [--linear-probe]

For N fresh one-object test scenes (seed 5, not the training stream) the discriminator scores each real
image with its own caption and with the same caption with one attribute word changed
(``SyntheticWorld.contrastive_captions``, one attribute at a time). Prints per attribute the mean logit
of the true and the changed caption and how often D prefers the true one (0.5 = D ignores the attribute).
A generator can only learn to follow an attribute that its discriminator checks. The run's sentence
whitening is applied when the run has one.

With ``--linear-probe``, then a linear probe: multinomial logistic regression (L-BFGS) on D's flattened 4x4 image features of
2,000 train scenes, scored on 500 test scenes, for colour and for shape: what D's image features hold
before any text comes in. docs/dfgan.md ("The shipped model") quotes the output.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import torch
import yaml

from wordsight.data.synthetic import ATTRIBUTES, COLOR_NAMES, SHAPES, SyntheticWorld, WorldConfig
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
    ap.add_argument("--linear-probe", action="store_true", help="also the linear probe (a few minutes on 2 cores)")
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
    if not args.linear_probe:
        return
    print()
    print("| linear probe on D's image features | test accuracy | chance |")
    print("|---|---|---|")
    for name, acc, chance in linear_probe(D, m["image_size"]):
        print(f"| {name} | {acc:.3f} | {chance:.3f} |")


def _features_and_labels(D: DFDiscriminator, size: int, split: str, seed: int, n: int):
    world = SyntheticWorld(WorldConfig(seed=seed, image_size=size, split=split, min_objects=1, max_objects=1))
    objs = [world.spec(i).objects[0] for i in range(n)]
    with torch.no_grad():
        feats = D.features(torch.stack([pil_to_tensor(world.scene(i).image) for i in range(n)])).flatten(1)
    labels = {"colour": torch.tensor([COLOR_NAMES.index(o.color) for o in objs]),
              "shape": torch.tensor([SHAPES.index(o.shape) for o in objs])}
    return feats, labels


def linear_probe(D: DFDiscriminator, size: int, n_train: int = 2000, n_test: int = 500):
    x, y = _features_and_labels(D, size, "train", 0, n_train)
    xt, yt = _features_and_labels(D, size, "test", 5, n_test)
    mu, sd = x.mean(0), x.std(0) + 1e-6
    x, xt = (x - mu) / sd, (xt - mu) / sd
    out = []
    for name, k in (("colour", len(COLOR_NAMES)), ("shape", len(SHAPES))):
        W = torch.zeros(x.shape[1], k, requires_grad=True)
        b = torch.zeros(k, requires_grad=True)
        opt = torch.optim.LBFGS([W, b], max_iter=200)

        def closure():
            opt.zero_grad()
            loss = torch.nn.functional.cross_entropy(x @ W + b, y[name]) + 1e-3 * W.pow(2).sum()
            loss.backward()
            return loss

        opt.step(closure)
        with torch.no_grad():
            out.append((name, ((xt @ W + b).argmax(1) == yt[name]).float().mean().item(), 1 / k))
    return out


if __name__ == "__main__":
    main()
