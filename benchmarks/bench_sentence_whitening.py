"""How much the captions' MiniLM vectors vary, and what PCA whitening keeps of colour and shape.

    .venv/bin/python benchmarks/bench_sentence_whitening.py [--scenes 1500]

Encodes 2 captions of each of N one-object train scenes (and 300 held-out scenes), prints the per-dimension
standard deviation and norm of the raw vectors, the variance held by the top-k principal components, and
nearest-class-mean colour / shape accuracy of the whitened vectors (class means from the train captions,
scored on train and on held-out captions). docs/dfgan.md ("Text conditioning") quotes its output.
"""

from __future__ import annotations

import argparse

import torch

from wordsight.data.synthetic import COLOR_NAMES, SHAPES, SyntheticWorld, WorldConfig
from wordsight.text.whitening import SentenceWhitening
from wordsight.training.synthetic_data import minilm_encoder


def captions_and_labels(split: str, n: int, encoder) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    world = SyntheticWorld(WorldConfig(seed=0, image_size=64, min_objects=1, max_objects=1, split=split))
    caps, colour, shape = [], [], []
    for i in range(n):
        obj = world.spec(i).objects[0]
        for c in world.scene_captions(i)[:2]:
            caps.append(c)
            colour.append(COLOR_NAMES.index(obj.color))
            shape.append(SHAPES.index(obj.shape))
    with torch.no_grad():
        vecs = torch.cat([encoder.encode(caps[i : i + 256]).sentence.float() for i in range(0, len(caps), 256)])
    return vecs, torch.tensor(colour), torch.tensor(shape)


def nearest_class_mean(train: torch.Tensor, labels: torch.Tensor, test: torch.Tensor, test_labels: torch.Tensor) -> float:
    means = torch.stack([train[labels == k].mean(0) for k in range(int(labels.max()) + 1)])
    return float((torch.cdist(test, means).argmin(1) == test_labels).float().mean())


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--scenes", type=int, default=1500)
    args = parser.parse_args()
    encoder = minilm_encoder()
    x, colour, shape = captions_and_labels("train", args.scenes, encoder)
    hx, hcolour, hshape = captions_and_labels("heldout", 300, encoder)
    s = torch.linalg.svdvals((x - x.mean(0)).double())
    explained = s**2 / (s**2).sum()
    print(f"{len(x)} train captions: per-dimension std {x.std(0).mean():.3f}, norm {x.norm(dim=1).mean():.3f}")
    print("| k | variance held | colour train | colour held-out | shape train | shape held-out |")
    print("|---|---|---|---|---|---|")
    for k in (16, 32, 64, 128):
        w = SentenceWhitening.fit(x, k)
        z, hz = w(x), w(hx)
        print(f"| {k} | {float(explained[:k].sum()):.3f} | {nearest_class_mean(z, colour, z, colour):.3f} | "
              f"{nearest_class_mean(z, colour, hz, hcolour):.3f} | {nearest_class_mean(z, shape, z, shape):.3f} | "
              f"{nearest_class_mean(z, shape, hz, hshape):.3f} |")


if __name__ == "__main__":
    main()
