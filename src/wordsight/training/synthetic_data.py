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



def default_cache_dir() -> Path:
    """Caption-embedding cache: $WORDSIGHT_CACHE/minilm (default ~/.cache/wordsight/minilm)."""
    return Path(os.environ.get("WORDSIGHT_CACHE", Path.home() / ".cache" / "wordsight")) / "minilm"


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


def minilm_encoder(cache_dir: str | os.PathLike | None = None):
    from ..text.minilm import MiniLMEncoder

    return MiniLMEncoder(cache_dir=cache_dir if cache_dir is not None else default_cache_dir())


def synthetic_world_from_model_cfg(model: dict, seed: int, data: dict | None = None) -> SyntheticWorld:
    data = dict(data or {})
    return SyntheticWorld(WorldConfig(seed=seed, image_size=int(model.get("image_size", 64)), **data))


class CaptionedImageTrainingData(torch.utils.data.Dataset):
    """(image, caption) pairs of a real captioned data set (CUB, Oxford, COCO, a caption folder).

    Images get DF-GAN's augmentation: resize to 76/64 of the size, random crop, random flip (the loop
    seeds torch per step, so a resumed run sees the same crops). Captions are encoded once up front.
    """

    name = "captions"

    def __init__(self, dataset: Any, encoder: Any, image_size: int, progress: bool = True, batch_size: int = 256):
        self.dataset, self.image_size = dataset, image_size
        self.pairs: list[tuple[int, int]] = []
        captions: list[str] = []
        for i in tqdm(range(len(dataset)), desc="reading captions", disable=not progress):
            item = dataset.items[i] if hasattr(dataset, "items") else None
            caps = item.captions if getattr(item, "captions", None) is not None else dataset[i].captions
            for j, c in enumerate(caps):
                self.pairs.append((i, j))
                captions.append(c)
        if not captions:
            from ..utils.checks import InputError

            raise InputError("the training data set has no captions")
        self.captions = captions
        vecs = [encoder.encode(captions[s : s + batch_size]).sentence.float()
                for s in tqdm(range(0, len(captions), batch_size), desc="encoding captions", disable=not progress)]
        self.sentences = torch.cat(vecs)

    def __len__(self) -> int:
        return len(self.pairs)

    def __getitem__(self, index: int) -> dict[str, Any]:
        import torch.nn.functional as F

        i, _ = self.pairs[index]
        img = pil_to_tensor(self.dataset[i].image)
        big = int(round(self.image_size * 76 / 64))
        img = F.interpolate(img[None], size=(big, big), mode="bilinear", antialias=True, align_corners=False)[0]
        y, x = (int(v) for v in torch.randint(0, big - self.image_size + 1, (2,)))
        img = img[:, y : y + self.image_size, x : x + self.image_size]
        if torch.rand(()) < 0.5:
            img = img.flip(-1)
        return {"images": img.contiguous(), "sentence": self.sentences[index], "captions": self.captions[index]}


def build_training_data(spec: str, cfg: Any, progress: bool = True) -> torch.utils.data.Dataset:
    """``synthetic`` or ``<layout>:PATH`` (cub, oxford, coco, folder, or any registered caption layout)."""
    from ..utils.checks import InputError

    data_opts = dict(getattr(cfg, "data", {}) or {})
    encoder_name = data_opts.pop("text_encoder", "minilm")
    if encoder_name != "minilm":
        raise InputError(f"text encoder {encoder_name!r} is not wired for training data yet; use minilm")
    size = int(cfg.model.get("image_size", 64))
    if spec == "synthetic":
        num_scenes = int(data_opts.pop("num_scenes", 2000))
        world = SyntheticWorld(WorldConfig(seed=cfg.seed, image_size=size, **data_opts))
        return SyntheticCaptionData(world, num_scenes, minilm_encoder(), progress=progress)
    if ":" not in spec:
        raise InputError(f"--data must be 'synthetic' or LAYOUT:PATH (cub:, oxford:, coco:, folder:), got {spec!r}")
    layout, path = spec.split(":", 1)
    from ..data.layouts import open_layout

    dataset = open_layout(path, layout=layout, split=data_opts.pop("split", None), **data_opts)
    return CaptionedImageTrainingData(dataset, minilm_encoder(), size, progress=progress)
