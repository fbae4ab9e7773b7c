"""The synthetic world's text-guided manipulation triplets as training data (seed 004's CSS-style edits:
colour, shape, size, remove, add; :meth:`wordsight.data.synthetic.SyntheticWorld.manipulation`).

Item ``i`` is the edit of scene ``i`` (its operation drawn from the scene's own seed, so the same index
always gives the same triplet):

    {"images": source [3, S, S] in [-1, 1], "target_images": [3, S, S], "instructions": "make the red circle blue",
     "captions": the source's caption, "target_captions": the target's caption,
     "change_mask": float [1, S, S] (1 on every pixel the changed object touches, before or after),
     "operation": "colour" | "shape" | "size" | "remove" | "add"}

``texts`` holds every instruction and caption (what a system builds its vocabulary from), ``captions``
the source captions. Images are rendered on the fly (thousands per second).
"""

from __future__ import annotations

from typing import Any

import torch

from .synthetic import SyntheticWorld
from ..utils.checks import InputError
from ..utils.images import pil_to_tensor

__all__ = ["OPERATIONS", "SyntheticManipulationData"]

OPERATIONS = ("colour", "shape", "size", "remove", "add")


class SyntheticManipulationData(torch.utils.data.Dataset):
    """Map-style data set of the edits of scenes ``0..num_scenes-1`` of ``world``."""

    name = "synthetic"
    text_encoder = None  # the systems that use it train their own text encoders

    def __init__(self, world: SyntheticWorld, num_scenes: int):
        if num_scenes < 1:
            raise InputError(f"num_scenes must be >= 1, got {num_scenes}")
        self.world, self.num_scenes = world, num_scenes
        self.k = 1
        self._texts: list[str] | None = None

    def __len__(self) -> int:
        return self.num_scenes

    def __getitem__(self, index: int) -> dict[str, Any]:
        if not 0 <= index < self.num_scenes:
            raise IndexError(f"index {index} out of range [0, {self.num_scenes})")
        pair = self.pair(index)
        return {"images": pil_to_tensor(pair.source), "target_images": pil_to_tensor(pair.target),
                "instructions": pair.instruction, "captions": pair.source_caption, "target_captions": pair.target_caption,
                "change_mask": torch.from_numpy(pair.change_mask).float()[None], "operation": pair.operation}

    def pair(self, index: int):
        """Scene ``index``'s edit: the world's own draw of the operation, or, when that one cannot be
        applied to this scene (e.g. no room to grow), the first of colour, shape, size, remove, add that can."""
        try:
            return self.world.manipulation(index)
        except InputError:
            for op in OPERATIONS:
                try:
                    return self.world.manipulation(index, op)
                except InputError:
                    continue
        raise InputError(f"no edit can be applied to scene {index}")

    def _all_texts(self) -> list[str]:
        if self._texts is None:  # every text the triplets hold
            texts = []
            for i in range(self.num_scenes):
                pair = self.pair(i)
                texts += [pair.instruction, pair.source_caption, pair.target_caption]
            self._texts = texts
        return self._texts

    @property
    def texts(self) -> list[str]:
        return self._all_texts()

    @property
    def captions(self) -> list[str]:
        return self._all_texts()[1::3]

    def artifacts(self) -> dict[str, torch.nn.Module]:
        return {}
