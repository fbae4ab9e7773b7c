"""Scoring an editor on the synthetic world's one-object test edits, where the truth is known (issue 16's
accuracy / preservation / realism; the metrics themselves are in :mod:`wordsight.metrics.manipulation`).

    edits = synthetic_edits(pipe.image_size, 256)
    edited = edit_all(pipe, edits)
    scores = score_edits(load_oracle(), edited, edits, reference=oracle_reference(oracle, 2048))
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch

from ..data.synthetic import SyntheticWorld, WorldConfig
from ..metrics.generation.fidelity import frechet_distance
from ..metrics.manipulation import edit_accuracy, preservation
from ..data.manipulation_pairs import SyntheticManipulationData

__all__ = ["EVALUATION_SEED", "SyntheticEdits", "edit_all", "oracle_reference", "score_edits", "synthetic_edits"]

EVALUATION_SEED = 1234  # the world seed of the evaluation scenes (training uses the run's own seed)
REFERENCE_OFFSET = 100_000  # the FID reference scenes' indices start here, far from the edited scenes'


@dataclass
class SyntheticEdits:
    """n edits: sources, targets [n, 3, S, S] in [-1, 1], masks [n, 1, S, S] (1 = may change), the source and
    target captions, the operations (colour | shape | size | add; one-object scenes cannot lose one) and the
    instructions ("make the red circle blue")."""

    sources: torch.Tensor
    targets: torch.Tensor
    masks: torch.Tensor
    captions: list[str]
    target_captions: list[str]
    operations: list[str]
    instructions: list[str]

    def __len__(self) -> int:
        return self.sources.shape[0]

    def head(self, k: int) -> "SyntheticEdits":
        return SyntheticEdits(self.sources[:k], self.targets[:k], self.masks[:k], self.captions[:k], self.target_captions[:k],
                              self.operations[:k], self.instructions[:k])


def synthetic_edits(size: int, n: int, seed: int = EVALUATION_SEED, split: str = "test", start: int = 0) -> SyntheticEdits:
    """The one-object edits ``start .. start + n - 1`` of ``split`` rendered at ``size`` (the same scenes at
    every size)."""
    world = SyntheticWorld(WorldConfig(seed=seed, image_size=size, split=split, min_objects=1, max_objects=1))
    data = SyntheticManipulationData(world, start + n)  # items render on access: only these n are drawn
    items = [data[i] for i in range(start, start + n)]
    return SyntheticEdits(torch.stack([it["images"] for it in items]), torch.stack([it["target_images"] for it in items]),
                          torch.stack([it["change_mask"] for it in items]), [it["captions"] for it in items],
                          [it["target_captions"] for it in items], [it["operation"] for it in items],
                          [it["instructions"] for it in items])


@torch.no_grad()
def edit_all(pipe: Any, edits: SyntheticEdits, batch_size: int = 64) -> torch.Tensor:
    """Every source edited to its target caption by a Manipulation pipeline's editor."""
    out = [pipe.editor.edit(edits.sources[i:i + batch_size].to(pipe.device), edits.target_captions[i:i + batch_size]).float().clamp(-1, 1).cpu()
           for i in range(0, len(edits), batch_size)]
    return torch.cat(out)


@torch.no_grad()
def _oracle_stats(oracle: Any, images: torch.Tensor, batch_size: int = 128) -> tuple[torch.Tensor, torch.Tensor]:
    feats = torch.cat([oracle.embed(images[i:i + batch_size]) for i in range(0, images.shape[0], batch_size)]).double()
    return feats.mean(0), torch.cov(feats.T)


def oracle_reference(oracle: Any, n: int = 2048, seed: int = EVALUATION_SEED) -> tuple[torch.Tensor, torch.Tensor]:
    """Mean and covariance of the oracle features of the true targets of n other test edits (what edited
    images should look like, adds included), rendered at the oracle's input size: the FID reference."""
    return _oracle_stats(oracle, synthetic_edits(oracle.input_size, n, seed, start=REFERENCE_OFFSET).targets)


def score_edits(oracle: Any, edited: torch.Tensor, edits: SyntheticEdits,
                reference: tuple[torch.Tensor, torch.Tensor] | None = None) -> dict[str, float]:
    """accuracy (and per operation), l2_outside, changed_outside, and with ``reference`` oracle_fid."""
    k = edited.shape[0]
    part = edits.head(k)
    out = {**edit_accuracy(oracle, edited, part.target_captions, part.operations), **preservation(edited, part.sources, part.masks)}
    if reference is not None:
        mu, cov = _oracle_stats(oracle, edited)
        out["oracle_fid"] = frechet_distance(mu, cov, *reference)
    out["n"] = float(k)
    return out
