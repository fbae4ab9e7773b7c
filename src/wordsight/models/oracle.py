"""The synthetic world's oracle: a small CNN that reads object attributes back from an image.

It scores generated and edited images against the scene their caption describes. Objects are read
into up to ``max_objects`` slots ordered left to right (the world keeps object centres >= 0.12 apart
in x, so the order is never ambiguous); each slot predicts colour, shape and size (with a "none"
class for empty slots) and the object's centre, from which relations follow.
"""

from __future__ import annotations

import functools
import os
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

from ..hub import from_pretrained, register_model
from ..utils.checks import InputError, check_shape

ATTRIBUTES = ("color", "shape", "size")
ASSET_DIR = Path(__file__).resolve().parent.parent / "assets" / "oracle"  # the shipped weights


@register_model("scene_oracle")
class SceneOracle(nn.Module):
    """Input: images [B,3,H,W] in [-1, 1] (any size; resized to ``input_size``)."""

    def __init__(
        self,
        num_colors: int = 8,
        num_shapes: int = 6,
        num_sizes: int = 2,
        num_backgrounds: int = 4,
        max_objects: int = 3,
        input_size: int = 64,
        width: int = 32,
        hidden: int = 192,
    ):
        super().__init__()
        self.input_size = input_size
        self.max_objects = max_objects
        self.num_classes = {"color": num_colors, "shape": num_shapes, "size": num_sizes}
        w = width

        def block(cin: int, cout: int) -> nn.Sequential:
            return nn.Sequential(
                nn.Conv2d(cin, cout, 3, padding=1), nn.BatchNorm2d(cout), nn.ReLU(inplace=True),
                nn.Conv2d(cout, cout, 3, padding=1), nn.BatchNorm2d(cout), nn.ReLU(inplace=True),
                nn.MaxPool2d(2),
            )

        self.features_net = nn.Sequential(block(3, w), block(w, 2 * w), block(2 * w, 4 * w), nn.Conv2d(4 * w, 2 * w, 1))
        flat = 2 * w * (input_size // 8) ** 2
        self.trunk = nn.Sequential(nn.Flatten(), nn.Linear(flat, hidden), nn.ReLU(inplace=True))
        self.count_head = nn.Linear(hidden, max_objects)
        self.background_head = nn.Linear(hidden, num_backgrounds)
        # +1: the "no object in this slot" class
        self.slot_heads = nn.ModuleDict(
            {a: nn.Linear(hidden, max_objects * (n + 1)) for a, n in self.num_classes.items()}
        )
        self.position_head = nn.Linear(hidden, max_objects * 2)

    def embed(self, images: torch.Tensor) -> torch.Tensor:
        """The penultimate features [B, hidden] (used for the oracle FID)."""
        check_shape("images", images, ["B", 3, None, None])
        if images.shape[-1] != self.input_size or images.shape[-2] != self.input_size:
            images = F.interpolate(images, size=(self.input_size, self.input_size), mode="bilinear",
                                   antialias=True, align_corners=False)
        return self.trunk(self.features_net(images))

    def forward(self, images: torch.Tensor) -> dict[str, torch.Tensor]:
        h = self.embed(images)
        b, k = h.shape[0], self.max_objects
        out = {"count": self.count_head(h), "background": self.background_head(h)}
        for a, n in self.num_classes.items():
            out[a] = self.slot_heads[a](h).view(b, k, n + 1)
        out["position"] = torch.sigmoid(self.position_head(h).view(b, k, 2))
        return out

    @torch.no_grad()
    def predict(self, images: torch.Tensor) -> dict[str, torch.Tensor]:
        """Hard predictions: count [B] (1-based), background [B], colour/shape/size [B,K] (-1 = empty
        slot), position [B,K,2] (cx, cy as fractions)."""
        logits = self.forward(images)
        out = {"count": logits["count"].argmax(-1) + 1, "background": logits["background"].argmax(-1)}
        for a, n in self.num_classes.items():
            cls = logits[a].argmax(-1)
            out[a] = torch.where(cls == n, torch.full_like(cls, -1), cls)
        out["position"] = logits["position"]
        return out


@functools.lru_cache(maxsize=2)
def load_oracle(path: str | os.PathLike | None = None) -> SceneOracle:
    """The oracle shipped with the package (``assets/oracle``), or one trained with ``wordsight train oracle``,
    in eval mode. Cached: callers share the module and must not train it."""
    path = Path(path) if path is not None else ASSET_DIR
    if not (path / "model.safetensors").exists():
        raise InputError(f"oracle weights not found in {path}; rebuild them with scripts/train_oracle.sh")
    model = from_pretrained(path)
    if not isinstance(model, SceneOracle):
        raise InputError(f"{path} holds a {type(model).__name__}, not a SceneOracle")
    return model.eval()
