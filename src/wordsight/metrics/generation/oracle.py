"""Oracle alignment: how often an oracle reads back the attributes a caption asked for.

On the synthetic world an oracle CNN (trained on the world's renderer, passed in by the caller) predicts
each object's attributes from a generated image; alignment is plain accuracy against the attributes of the
caption's scene, per attribute, averaged over attributes, and jointly (every attribute of a sample right).
The same numbers on the held-out subset (e.g. colour/shape combinations never seen in training) measure
compositional generalisation.
"""

from __future__ import annotations

from typing import Mapping

import torch

from ...utils.checks import InputError, check_shape
from .keys import (
    KEY_ORACLE_ACC_JOINT,
    KEY_ORACLE_ACC_MEAN,
    KEY_ORACLE_HELDOUT_ACC_JOINT,
    KEY_ORACLE_HELDOUT_ACC_MEAN,
    oracle_attribute_key,
)

_INTEGER_TYPES = (torch.int8, torch.int16, torch.int32, torch.int64, torch.uint8, torch.bool)


def _check_pairs(predicted: Mapping[str, torch.Tensor], target: Mapping[str, torch.Tensor]) -> int:
    if not target:
        raise InputError("attribute_accuracy: no target attributes given")
    missing = sorted(set(target) - set(predicted))
    if missing:
        raise InputError(f"attribute_accuracy: predictions lack attributes {missing} (have {sorted(predicted)})")
    n = None
    for name, want in target.items():
        got = predicted[name]
        for label, tensor in ((f"target[{name!r}]", want), (f"predicted[{name!r}]", got)):
            if not isinstance(tensor, torch.Tensor) or tensor.dtype not in _INTEGER_TYPES or tensor.dim() < 1:
                raise InputError(f"{label}: expected an integer tensor [N] or [N, K] (class ids, not logits)")
        if got.shape != want.shape:
            raise InputError(f"attribute {name!r}: predicted shape {tuple(got.shape)} != target {tuple(want.shape)}")
        if n is not None and want.shape[0] != n:
            raise InputError(f"attribute {name!r} has {want.shape[0]} samples, others have {n}")
        n = want.shape[0]
    return int(n)


def _accuracies(correct: dict[str, torch.Tensor], valid: dict[str, torch.Tensor], rows: torch.Tensor,
                held_out: bool) -> dict[str, float]:
    out: dict[str, float] = {}
    joint = torch.ones(int(rows.sum()), dtype=torch.bool)
    for name in correct:
        c, v = correct[name][rows], valid[name][rows]
        counted = v.sum()
        out[oracle_attribute_key(name, held_out)] = float((c & v).sum() / counted) if counted else float("nan")
        joint &= (c | ~v).reshape(c.shape[0], -1).all(dim=1)
    per_attribute = torch.tensor(list(out.values()), dtype=torch.float64)
    out[KEY_ORACLE_HELDOUT_ACC_MEAN if held_out else KEY_ORACLE_ACC_MEAN] = float(per_attribute.nanmean())
    out[KEY_ORACLE_HELDOUT_ACC_JOINT if held_out else KEY_ORACLE_ACC_JOINT] = float(joint.double().mean())
    return out


def attribute_accuracy(
    predicted: Mapping[str, torch.Tensor],
    target: Mapping[str, torch.Tensor],
    *,
    held_out: torch.Tensor | None = None,
    ignore_index: int | None = None,
) -> dict[str, float]:
    """Per-attribute, mean and joint accuracy, overall and on the ``held_out`` rows.

    Args:
        predicted, target: attribute name -> integer class ids, [N] or [N, K] (K object slots). Only the
            attributes in ``target`` are scored.
        held_out: optional bool [N] marking held-out samples; adds ``oracle_heldout_acc/...`` keys.
        ignore_index: target value not scored (e.g. -1 for empty object slots); None scores every entry.

    Returns:
        ``oracle_acc/<attr>``, ``oracle_acc_mean`` (mean over attributes), ``oracle_acc_joint`` (fraction of
        samples with every scored entry right), and the same with ``oracle_heldout_`` when ``held_out``.
    """
    n = _check_pairs(predicted, target)
    correct = {name: predicted[name].cpu() == target[name].cpu() for name in target}
    valid = {
        name: torch.ones_like(target[name], dtype=torch.bool, device="cpu") if ignore_index is None
        else target[name].cpu() != ignore_index
        for name in target
    }
    out = _accuracies(correct, valid, torch.ones(n, dtype=torch.bool), held_out=False)
    if held_out is not None:
        mask = torch.as_tensor(held_out).cpu()
        check_shape("held_out", mask, [n])
        if mask.dtype != torch.bool:
            raise InputError(f"held_out: expected a bool mask, got {mask.dtype}")
        if not mask.any():
            raise InputError("held_out: the mask selects no samples")
        out.update(_accuracies(correct, valid, mask, held_out=True))
    return out
