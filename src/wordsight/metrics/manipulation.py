"""Both sides of text-guided image manipulation (seed 004, TGIM), measured on the synthetic world's edits
where the truth is known:

* **accuracy**: the scene oracle reads the requested change on the edited image. The edited image is
  scored against the *target* caption (``score_against_captions``) and the score of the attribute the
  operation changes is kept: colour, shape or size for those edits, the object count for remove and add.
* **preservation**: outside the change mask (every pixel the changed object touches, before or after),
  the edited image should equal the source: the mean squared error there on [0, 1] pixels (TAGAN's "L2
  error" column measures the whole image; restricted to the unchanged part it cannot be won by copying
  the input) and the fraction of those pixels changed by more than ``threshold`` (8/255 by default).

Metrics do not know models: the oracle is passed in (``SceneOracle`` or anything with ``predict``).
"""

from __future__ import annotations

from typing import Any, Sequence

import torch

from ..utils.checks import InputError, check_shape
from .generation.oracle import score_against_captions

__all__ = ["OPERATION_SCORE", "edit_accuracy", "preservation"]

# which oracle score tells whether an operation happened
OPERATION_SCORE = {"colour": "color", "shape": "shape", "size": "size", "remove": "count", "add": "count"}


def preservation(edited: torch.Tensor, source: torch.Tensor, change_mask: torch.Tensor,
                 threshold: float = 8 / 255) -> dict[str, float]:
    """{"l2_outside": mean squared error outside the mask (pixels in [0, 1]), "changed_outside": fraction of
    outside pixels whose largest channel change exceeds ``threshold``}; images [N, 3, H, W] in [-1, 1],
    change_mask [N, 1, H, W] or [N, H, W] (1 = may change)."""
    dims = check_shape("edited", edited, ["N", 3, "H", "W"])
    check_shape("source", source, [dims["N"], 3, dims["H"], dims["W"]])
    mask = change_mask if change_mask.dim() == 4 else change_mask[:, None]
    check_shape("change_mask", mask, [dims["N"], 1, dims["H"], dims["W"]])
    if not (torch.isfinite(edited).all() and torch.isfinite(source).all()):
        raise InputError("edited or source images contain NaN or inf values")
    keep = (mask < 0.5).float()
    if keep.sum() == 0:
        raise InputError("the change masks cover every pixel: nothing to preserve")
    diff = (edited.float() - source.float()) / 2  # [0, 1] pixel units
    l2 = (diff.pow(2) * keep).sum() / (keep.sum() * 3)
    changed = ((diff.abs().amax(dim=1, keepdim=True) > threshold).float() * keep).sum() / keep.sum()
    return {"l2_outside": float(l2), "changed_outside": float(changed)}


def edit_accuracy(oracle: Any, edited: torch.Tensor, target_captions: Sequence[str], operations: Sequence[str]) -> dict[str, float]:
    """{"accuracy": mean over edits of the oracle score of each edit's operation, "accuracy/<operation>": per
    operation} of ``edited`` [N, 3, H, W] in [-1, 1] against the target captions."""
    if not (len(target_captions) == len(operations) == edited.shape[0]):
        raise InputError(f"{edited.shape[0]} images, {len(target_captions)} captions and {len(operations)} operations")
    unknown = sorted(set(operations) - set(OPERATION_SCORE))
    if unknown:
        raise InputError(f"unknown operations {unknown}; known: {sorted(OPERATION_SCORE)}")
    scores = score_against_captions(oracle, edited, target_captions)
    per_edit = [scores[OPERATION_SCORE[op]][i] for i, op in enumerate(operations)]
    out: dict[str, float] = {}
    values = [float(v) for v in per_edit if v is not None]
    out["accuracy"] = sum(values) / len(values) if values else float("nan")
    for op in sorted(set(operations)):
        vals = [float(v) for v, o in zip(per_edit, operations) if o == op and v is not None]
        out[f"accuracy/{op}"] = sum(vals) / len(vals) if vals else float("nan")
    return out
