"""How many supervised steps a CNN needs to read an object's shape in the synthetic world.

    .venv/bin/python benchmarks/probe_shape_learnability.py [--arch dfgan-d plain] [--d-gamma-init 0 1] [--steps 1500] [--plot PNG]

A calibration for the shipped DF-GAN's shape problem (docs/dfgan.md, "Why shape lags"): before a GAN's
discriminator can check the shape word, its image features must hold shape. Here a network is trained
*supervised* (cross-entropy on the true shape, 6 classes, chance 16.7%) on one-object train scenes at 64 px,
with a linear head on its flattened 4x4 features, and scored every ``--eval-every`` steps on 400 fixed test
scenes, split by object size. Two trunks:

* ``dfgan-d``: DF-GAN's discriminator trunk (``DFDiscriminator.features``, freshly initialised, ``--nf``;
  ``--d-gamma-init`` sets the residual blocks' initial gamma, 0 as in the official code);
* ``plain``: a plain CNN of the same depth and widths (two 3x3 convs + LeakyReLU per level, average pooling),
  a reference for how hard the task itself is.

A supervised signal is far stronger than the one a GAN's discriminator gets (one hinge term on a mismatched
caption), so the steps printed here are a lower bound for a GAN. Prints a table; ``--plot`` also writes the
curves as a PNG.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

from wordsight.data.synthetic import SHAPES, SyntheticWorld, WorldConfig
from wordsight.models.dfgan import DFDiscriminator
from wordsight.models.layers import pyramid_channels
from wordsight.utils.images import pil_to_tensor


class PlainTrunk(nn.Module):
    """64 px -> 4x4: per level two 3x3 convs with LeakyReLU(0.2), then 2x average pooling."""

    def __init__(self, nf: int, image_size: int):
        super().__init__()
        layers: list[nn.Module] = []
        cin = 3
        for cout in pyramid_channels(nf, image_size):
            layers += [nn.Conv2d(cin, cout, 3, 1, 1), nn.LeakyReLU(0.2), nn.Conv2d(cout, cout, 3, 1, 1), nn.LeakyReLU(0.2)]
            layers.append(nn.AvgPool2d(2))
            cin = cout
        self.net = nn.Sequential(*layers[:-1])  # the last level stays at 4x4

    def features(self, images: torch.Tensor) -> torch.Tensor:
        return self.net(images)


def build_trunk(arch: str, nf: int, image_size: int, gamma_init: float = 0.0) -> nn.Module:
    if arch == "dfgan-d":  # the text head is unused
        return DFDiscriminator(nf=nf, sentence_dim=8, image_size=image_size, gamma_init=gamma_init)
    if arch == "plain":
        return PlainTrunk(nf, image_size)
    raise SystemExit(f"unknown --arch {arch!r}; known: dfgan-d, plain")


def scenes(world: SyntheticWorld, indices) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """images [N,3,S,S], shape labels [N], is-small mask [N]."""
    images, labels, small = [], [], []
    for i in indices:
        scene = world.scene(i)
        obj = scene.spec.objects[0]
        images.append(pil_to_tensor(scene.image))
        labels.append(SHAPES.index(obj.shape))
        small.append(obj.size == "small")
    return torch.stack(images), torch.tensor(labels), torch.tensor(small)


def run(arch: str, args) -> list[tuple[int, float, float, float, float]]:
    torch.manual_seed(args.seed)
    train = SyntheticWorld(WorldConfig(seed=1, image_size=args.size, split="train", min_objects=1, max_objects=1))
    test = SyntheticWorld(WorldConfig(seed=5, image_size=args.size, split="test", min_objects=1, max_objects=1))
    trunk = build_trunk(arch, args.nf, args.size, args.gamma)
    with torch.no_grad():
        width = trunk.features(torch.zeros(1, 3, args.size, args.size)).numel()
    head = nn.Linear(width, len(SHAPES))
    params = list(trunk.parameters()) + list(head.parameters())
    opt = torch.optim.Adam(params, lr=args.lr, betas=(args.beta1, args.beta2))
    xt, yt, small = scenes(test, range(args.test_scenes))
    rows, start = [], time.time()
    for step in range(args.steps + 1):
        if step % args.eval_every == 0:
            with torch.no_grad():
                hit = (head(trunk.features(xt).flatten(1)).argmax(1) == yt).float()
            rows.append((step, hit.mean().item(), hit[small].mean().item(), hit[~small].mean().item(), time.time() - start))
            print(f"  {arch} (gamma {args.gamma:g}) step {step}: shape {rows[-1][1]:.3f}", flush=True)
        if step == args.steps:
            break
        x, y, _ = scenes(train, range(step * args.batch, (step + 1) * args.batch))
        loss = F.cross_entropy(head(trunk.features(x).flatten(1)), y)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
    return rows


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--arch", nargs="+", default=["dfgan-d", "plain"])
    ap.add_argument("--steps", type=int, default=1500)
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--lr", type=float, default=1e-3)
    ap.add_argument("--beta1", type=float, default=0.9)
    ap.add_argument("--beta2", type=float, default=0.9)
    ap.add_argument("--nf", type=int, default=16)
    ap.add_argument("--size", type=int, default=64)
    ap.add_argument("--d-gamma-init", type=float, nargs="+", default=[0.0, 1.0],
                    help="initial gammas of the dfgan-d residual blocks, one trunk each (official: 0)")
    ap.add_argument("--eval-every", type=int, default=100)
    ap.add_argument("--test-scenes", type=int, default=400)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--plot", type=Path, default=None, help="write the accuracy curves to this PNG")
    args = ap.parse_args()

    trunks = [(f"{a} (gamma {g:g})", a, g) for a in args.arch for g in (args.d_gamma_init if a == "dfgan-d" else [0.0])]
    results = {}
    for label, arch, gamma in trunks:
        args.gamma = gamma
        results[label] = run(arch, args)
    labels = [label if arch == "dfgan-d" else arch for label, arch, _ in trunks]
    results = dict(zip(labels, results.values()))
    print(f"\nsupervised shape accuracy on {args.test_scenes} test scenes (chance {1 / len(SHAPES):.3f}); "
          f"Adam lr {args.lr:g} betas ({args.beta1:g}, {args.beta2:g}), batch {args.batch}, nf {args.nf}, {args.size} px")
    print("| step | " + " | ".join(f"{a}: all / small / large" for a in results) + " |")
    print("|---|" + "---|" * len(results))
    for k, (step, *_) in enumerate(next(iter(results.values()))):
        cells = [f"{r[k][1]:.3f} / {r[k][2]:.3f} / {r[k][3]:.3f}" for r in results.values()]
        print(f"| {step} | " + " | ".join(cells) + " |")
    print("seconds: " + ", ".join(f"{a} {r[-1][4]:.0f}" for a, r in results.items()))
    if args.plot is not None:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt

        fig, ax = plt.subplots(figsize=(6, 3.5))
        for arch, r in results.items():
            ax.plot([x[0] for x in r], [x[1] for x in r], marker="o", label=arch)
        ax.axhline(1 / len(SHAPES), color="grey", linestyle=":", label="chance")
        ax.set_xlabel("supervised step (batch %d)" % args.batch)
        ax.set_ylabel("shape accuracy (test)")
        ax.legend()
        fig.tight_layout()
        fig.savefig(args.plot, dpi=120)
        print(f"wrote {args.plot}")


if __name__ == "__main__":
    main()
