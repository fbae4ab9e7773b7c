"""The synthetic caption world as GAN training data: rendered images paired with caption embeddings.

Sample ``i`` is caption ``i % captions_per_image`` of scene ``i // captions_per_image``; images are
rendered on the fly (thousands per second, never the bottleneck) and the sentence vectors of every
caption are encoded once when the data set is built (through the encoder's on-disk cache, so a second
run with the same captions encodes nothing).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import torch
from tqdm import tqdm

from ..data.synthetic import SyntheticWorld, WorldConfig
from ..utils.images import pil_to_tensor

DEFAULT_CACHE = Path(os.environ.get("WORDSIGHT_CACHE", Path.home() / ".cache" / "wordsight")) / "minilm"


class SyntheticCaptionData(torch.utils.data.Dataset):
    """Map-style data set of {"images" [3,S,S] in [-1,1], "sentence" [D], "captions" str}."""

    name = "synthetic"

    def __init__(self, world: SyntheticWorld, num_scenes: int, encoder: Any, batch_size: int = 256, progress: bool = True):
        self.world, self.num_scenes = world, num_scenes
        self.k = world.config.captions_per_image
        self.captions = [c for i in range(num_scenes) for c in world.scene_captions(i)]
        vecs = []
        bar = tqdm(range(0, len(self.captions), batch_size), desc="encoding captions", disable=not progress)
        for start in bar:
            vecs.append(encoder.encode(self.captions[start : start + batch_size]).sentence.float())
        self.sentences = torch.cat(vecs)

    def __len__(self) -> int:
        return len(self.captions)

    def __getitem__(self, index: int) -> dict[str, Any]:
        scene = self.world.scene(index // self.k)
        return {"images": pil_to_tensor(scene.image), "sentence": self.sentences[index], "captions": self.captions[index]}


def minilm_encoder(cache_dir: str | os.PathLike | None = DEFAULT_CACHE):
    from ..text.minilm import MiniLMEncoder

    return MiniLMEncoder(cache_dir=cache_dir)


def synthetic_world_from_model_cfg(model: dict, seed: int, data: dict | None = None) -> SyntheticWorld:
    data = dict(data or {})
    return SyntheticWorld(WorldConfig(seed=seed, image_size=int(model.get("image_size", 64)), **data))
