"""What a text-to-image evaluation reads from a data set: the captions to generate from, the real images
of the same split (the FID/KID reference), class labels (R-precision distractors) and, on the synthetic
world, the ground-truth attributes of each caption's scene (the oracle metrics themselves score against
the captions, see ``wordsight.metrics.generation.oracle``).

``--data`` specs: ``synthetic`` or ``LAYOUT:PATH`` with a registered caption layout (``cub:``,
``oxford:``, ``coco:``, ``folder:``; see docs/data.md).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Sequence

import numpy as np
import torch
from PIL import Image
from torch.utils.data import Dataset

from ..data.synthetic import COLOR_NAMES, SHAPES, SIZES, SceneSpec, SyntheticWorld, WorldConfig
from ..utils.checks import InputError

SLOT_ATTRIBUTES = ("color", "shape", "size")
MAX_SLOTS = 3  # the synthetic world's scenes hold 1-3 objects (the oracle's slots)
SYNTHETIC_SPLITS = ("test", "heldout", "train")


@dataclass
class EvaluationData:
    """Captions (one per generated image, in order) and everything the metrics compare them with.

    Attributes:
        spec: the ``--data`` spec it came from.
        split: the data split.
        captions: caption of generated image i.
        reference: the real images of the split, uint8 [3,S,S] per item at the generator's size S.
        labels: class id per caption [N] (R-precision draws distractors from other classes), or None.
        target_attributes: synthetic world only: ``count`` [N] and ``color``/``shape``/``size`` [N,3]
            class ids of the caption's scene, objects left to right, -1 in empty slots.
        held_out: synthetic world only: bool [N], captions whose scene has an unseen colour/shape pair.
    """

    spec: str
    split: str
    captions: list[str]
    reference: Dataset
    labels: torch.Tensor | None = None
    target_attributes: dict[str, torch.Tensor] | None = None
    held_out: torch.Tensor | None = None

    @property
    def is_synthetic(self) -> bool:
        return self.target_attributes is not None


class RenderedScenes(Dataset):
    """Scenes ``0..n-1`` of a synthetic world rendered at ``size`` as uint8 [3,size,size] (lazy)."""

    def __init__(self, world: SyntheticWorld, n: int, size: int):
        self.world, self.n, self.size = world, n, size

    def __len__(self) -> int:
        return self.n

    def __getitem__(self, index: int) -> torch.Tensor:
        if not 0 <= index < self.n:
            raise IndexError(index)
        return pil_to_uint8(self.world.scene(index, size=self.size).image)


class ResizedImages(Dataset):
    """Items of a caption data set as uint8 [3,size,size]: the real side of FID at the generator's size.

    The one resize here is PIL's bilinear (antialiased when shrinking) to a square; Inception's own resize
    to 299 comes after, inside the extractor, exactly as for the generated images.
    """

    def __init__(self, dataset: Any, n: int, size: int):
        self.dataset, self.n, self.size = dataset, n, size

    def __len__(self) -> int:
        return self.n

    def __getitem__(self, index: int) -> torch.Tensor:
        if not 0 <= index < self.n:
            raise IndexError(index)
        image = self.dataset[index].image.convert("RGB")
        if image.size != (self.size, self.size):
            image = image.resize((self.size, self.size), Image.BILINEAR)
        return pil_to_uint8(image)


def pil_to_uint8(image: Image.Image) -> torch.Tensor:
    return torch.from_numpy(np.asarray(image.convert("RGB"), dtype=np.uint8).copy()).permute(2, 0, 1).contiguous()


def scene_targets(specs: Sequence[SceneSpec]) -> dict[str, torch.Tensor]:
    """Oracle targets in the oracle's own encoding: objects sorted left to right into 3 slots, class ids,
    -1 for an empty slot (``SceneOracle.predict``), and the object count (1-based)."""
    vocab = {"color": COLOR_NAMES, "shape": SHAPES, "size": SIZES}
    out = {a: torch.full((len(specs), MAX_SLOTS), -1, dtype=torch.long) for a in SLOT_ATTRIBUTES}
    count = torch.zeros(len(specs), dtype=torch.long)
    for row, spec in enumerate(specs):
        objects = sorted(spec.objects, key=lambda o: o.cx)
        count[row] = len(objects)
        for slot, obj in enumerate(objects):
            for attr in SLOT_ATTRIBUTES:
                out[attr][row, slot] = vocab[attr].index(getattr(obj, attr))
    return {"count": count, **out}


def synthetic_evaluation_data(n: int, image_size: int, split: str = "test", world_seed: int = 0,
                              max_objects: int = 3) -> EvaluationData:
    """Scenes ``0..n-1`` of the world's ``split`` with 1..``max_objects`` objects (1 for models trained on
    one-object scenes, as the synthetic configs are); caption i is caption ``i mod 5`` of scene i (every
    template appears), the reference is the same scenes rendered at ``image_size``."""
    if split not in SYNTHETIC_SPLITS:
        raise InputError(f"synthetic data: split must be one of {SYNTHETIC_SPLITS}, got {split!r}")
    world = SyntheticWorld(WorldConfig(seed=world_seed, image_size=image_size, split=split, length=max(n, 1),
                                       min_objects=1, max_objects=max_objects))
    specs = [world.spec(i) for i in range(n)]
    captions = [world.captions(spec, i)[i % world.config.captions_per_image] for i, spec in enumerate(specs)]
    labels = torch.tensor(
        [COLOR_NAMES.index(s.objects[0].color) * len(SHAPES) + SHAPES.index(s.objects[0].shape) for s in specs]
    )
    # every heldout scene's first object has an unseen colour/shape pair; no test/train scene has one
    held_out = torch.full((n,), split == "heldout", dtype=torch.bool)
    return EvaluationData(
        spec="synthetic", split=split, captions=captions, reference=RenderedScenes(world, n, image_size),
        labels=labels, target_attributes=scene_targets(specs), held_out=held_out,
    )


def _layout_split(layout_splits: Sequence[str], split: str) -> str:
    if split in layout_splits:
        return split
    if split == "test" and "val" in layout_splits:
        return "val"  # COCO: papers evaluate on val2014 (test captions are not public)
    if tuple(layout_splits) == ("all",):
        return "all"
    raise InputError(f"split {split!r} not available; this layout has {list(layout_splits)}")


def layout_evaluation_data(spec: str, n: int, image_size: int, split: str = "test") -> EvaluationData:
    """``LAYOUT:PATH``: caption i is caption ``i // len`` of item ``i mod len`` (every image first, then
    their second captions, ...), the reference is every item of the split (up to ``n``)."""
    from ..data.layouts import LAYOUTS, open_layout

    layout, path = spec.split(":", 1)
    if layout not in LAYOUTS:
        raise InputError(f"unknown data layout {layout!r} in --data {spec!r}; known: {', '.join(LAYOUTS.names())}")
    dataset = open_layout(path, layout=layout, split=_layout_split(LAYOUTS.get(layout).splits, split))
    if len(dataset) == 0:
        raise InputError(f"{spec}: split {split!r} has no items")
    items = getattr(dataset, "items", None)
    captions, labels = [], []
    for i in range(n):
        record = _record(dataset, i % len(dataset), items)
        if not record.captions:
            raise InputError(f"{spec}: item {i % len(dataset)} has no captions")
        captions.append(record.captions[(i // len(dataset)) % len(record.captions)])
        labels.append(getattr(record, "label", None))
    has_labels = all(label is not None for label in labels)
    return EvaluationData(
        spec=spec, split=split, captions=captions,
        reference=ResizedImages(dataset, min(n, len(dataset)), image_size),
        labels=torch.tensor(labels) if has_labels else None,
    )


def _record(dataset: Any, index: int, items: Any) -> Any:
    """The item's captions and label without loading its image when the loader keeps them in ``items``."""
    item = items[index] if items is not None else None
    if item is not None and getattr(item, "captions", None) is not None:
        return item
    return dataset[index]


def load_evaluation_data(spec: str, n: int, image_size: int, split: str = "test", world_seed: int = 0,
                         max_objects: int = 3) -> EvaluationData:
    """``synthetic`` or ``LAYOUT:PATH`` -> :class:`EvaluationData` with ``n`` captions (``max_objects``:
    synthetic scenes only)."""
    if n < 1:
        raise InputError(f"the number of images must be >= 1, got {n}")
    if spec == "synthetic":
        return synthetic_evaluation_data(n, image_size, split, world_seed, max_objects)
    if ":" not in spec:
        raise InputError(f"--data must be 'synthetic' or LAYOUT:PATH (cub:, oxford:, coco:, folder:), got {spec!r}")
    return layout_evaluation_data(spec, n, image_size, split)
