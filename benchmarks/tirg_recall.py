"""Recall@1/5/10 of a trained TIRG retrieval pipeline on the synthetic world's edit triplets (the CSS-like
protocol of seed 004 / google/tirg): n test (or held-out) edits; the gallery is every source and target
image of those edits; each query (source image + instruction) must find its target, with its own source
image removed from its ranking. Also the same ranking by the source image's feature alone (no text),
which shows what the composition adds.

    python benchmarks/tirg_recall.py RUN/pipeline [--n 1000] [--max-objects 3]
"""

from __future__ import annotations

import argparse

import torch

from wordsight.data.synthetic import SyntheticWorld, WorldConfig
from wordsight.metrics.retrieval import recall_at_k
from wordsight.pipelines.retrieval import Retrieval
from wordsight.data.manipulation_pairs import SyntheticManipulationData


@torch.no_grad()
def split_recall(pipe: Retrieval, split: str, n: int, max_objects: int, seed: int, batch: int = 64) -> dict[str, dict[str, float]]:
    size = pipe.image_size
    world = SyntheticWorld(WorldConfig(seed=seed, image_size=size, split=split, min_objects=1, max_objects=max_objects))
    data = SyntheticManipulationData(world, n)
    items = [data[i] for i in range(n)]
    sources = torch.stack([it["images"] for it in items])
    targets = torch.stack([it["target_images"] for it in items])
    texts = [it["instructions"] for it in items]
    model = pipe.model
    queries = torch.cat([model.compose(sources[i:i + batch], texts[i:i + batch]) for i in range(0, n, batch)])
    plain = torch.cat([model.image_features(sources[i:i + batch]) for i in range(0, n, batch)])
    gallery = torch.cat([model.image_features(torch.cat([sources, targets])[i:i + batch]) for i in range(0, 2 * n, batch)])
    index = torch.arange(n)
    return {"TIRG (image + text)": recall_at_k(queries, gallery, index + n, exclude=index),
            "image only": recall_at_k(plain, gallery, index + n, exclude=index)}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("pipeline")
    p.add_argument("--n", type=int, default=1000)
    p.add_argument("--max-objects", type=int, default=3)
    p.add_argument("--seed", type=int, default=1234, help="world seed of the evaluation scenes (training used the run's seed)")
    args = p.parse_args()
    pipe = Retrieval.from_pretrained(args.pipeline)
    print(f"| split | query | Recall@1 | Recall@5 | Recall@10 |  ({args.n} edits, gallery {2 * args.n} images)")
    print("|---|---|---|---|---|")
    for split in ("test", "heldout"):
        for name, r in split_recall(pipe, split, args.n, args.max_objects, args.seed).items():
            print(f"| {split} | {name} | {r['recall@1']:.3f} | {r['recall@5']:.3f} | {r['recall@10']:.3f} |")


if __name__ == "__main__":
    main()
