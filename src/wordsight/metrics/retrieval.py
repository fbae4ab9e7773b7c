"""Recall@K of composed-query image retrieval (TIRG's evaluation, google/tirg ``test_retrieval.py``).

Each query (e.g. a TIRG composition of a source image and a modification text) ranks every gallery item by
cosine similarity; recall@K is the fraction of queries whose right gallery item is among the K most
similar. As in TIRG's test, a query's own source image can be removed from its ranking (``exclude``):
otherwise an unchanged-image query would trivially find its source.

    r = recall_at_k(queries, gallery, targets, ks=(1, 5, 10), exclude=source_index)
    r["recall@1"], r["recall@5"], r["recall@10"]
"""

from __future__ import annotations

from typing import Sequence

import torch
import torch.nn.functional as F

from ..utils.checks import InputError, check_finite, check_shape

__all__ = ["recall_at_k"]


def _check_indices(name: str, index: torch.Tensor, q: int, g: int) -> None:
    check_shape(name, index, [q])
    if index.dtype not in (torch.int64, torch.int32, torch.int16, torch.int8, torch.uint8):
        raise InputError(f"{name}: expected integer gallery indices, got dtype {index.dtype}")
    if q and (int(index.min()) < 0 or int(index.max()) >= g):
        raise InputError(f"{name}: gallery indices must lie in [0, {g}), got min {int(index.min())}, max {int(index.max())}")


@torch.no_grad()
def recall_at_k(query: torch.Tensor, gallery: torch.Tensor, targets: torch.Tensor, ks: Sequence[int] = (1, 5, 10),
                exclude: torch.Tensor | None = None) -> dict[str, float]:
    """Recall@K of ``query`` [Q, D] against ``gallery`` [G, D] by cosine similarity.

    Args:
        targets: long [Q], the gallery index of each query's right answer.
        ks: the K values; each must lie in [1, G] (G - 1 with ``exclude``).
        exclude: long [Q] or None, the gallery index of each query's source image, left out of that
            query's ranking (TIRG's ``sims[i, source_img_id] = -10e10``). A query whose target is its own
            excluded item is an InputError (it could never be found).
    Returns:
        {"recall@K": fraction of queries whose target ranks in the top K} for every K in ``ks``.
    """
    dims = check_shape("query", query, ["Q", "D"])
    check_shape("gallery", gallery, [None, dims["D"]])
    q, g = dims["Q"], gallery.shape[0]
    if q == 0 or g == 0:
        raise InputError(f"recall_at_k: needs at least one query and one gallery item, got {q} and {g}")
    check_finite("query", query)
    check_finite("gallery", gallery)
    _check_indices("targets", targets, q, g)
    available = g
    if exclude is not None:
        _check_indices("exclude", exclude, q, g)
        if (exclude.long().cpu() == targets.long().cpu()).any():
            bad = int((exclude.long().cpu() == targets.long().cpu()).nonzero()[0])
            raise InputError(f"recall_at_k: query {bad}'s target is its excluded source item {int(targets[bad])}")
        available = g - 1
    ks = [int(k) for k in ks]
    if not ks or min(ks) < 1 or max(ks) > available:
        raise InputError(f"recall_at_k: every k must lie in [1, {available}] (gallery of {g}"
                         f"{', one excluded per query' if exclude is not None else ''}), got {ks}")
    sims = F.normalize(query.float(), dim=1) @ F.normalize(gallery.float().to(query.device), dim=1).T  # [Q, G]
    rows = torch.arange(q, device=sims.device)
    if exclude is not None:
        sims[rows, exclude.long().to(sims.device)] = float("-inf")
    right = sims[rows, targets.long().to(sims.device)]
    # rank = the number of items strictly more similar than the right one (ties count in its favour,
    # as a stable sort that lists the right item first would)
    rank = (sims > right[:, None]).sum(dim=1)
    return {f"recall@{k}": float((rank < k).float().mean()) for k in ks}
