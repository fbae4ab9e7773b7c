"""R-precision, the AttnGAN protocol (Xu et al. 2018, sec. 5; implemented in DM-GAN ``code/trainer.py``).

For every generated image: its true caption and ``num_distractors`` (99) captions drawn at random, with
replacement, from images of *other classes* (other images when no labels are given); rank the 100 by the
cosine of the global image vector and the sentence vectors; a hit when the true caption ranks first.
The hits are shuffled and cut into 10 folds; the result is the mean and (population) std of the fold means.

Two details of the reference code, kept or documented:
- ``torch.argmax(scores) == 0`` with the true caption in slot 0: a tie with a distractor counts as a hit.
  Kept (``>=`` below).
- Folds are ``R[i*3000:(i+1)*3000 - 1]``, which drops the last hit of every fold. Not kept: our folds
  cover every hit (``tensor_split``), a difference below 1/3000 of a fold.
"""

from __future__ import annotations

import torch

from ...utils.checks import InputError, check_finite, check_shape
from .keys import KEY_R_PRECISION_MEAN, KEY_R_PRECISION_STD

COSINE_EPS = 1e-8  # the reference divides by norm.clamp(min=1e-8)
_ROWS_PER_CHUNK = 1024


def sample_distractors(
    groups: torch.Tensor, num_distractors: int, generator: torch.Generator | None = None
) -> torch.Tensor:
    """Indices [N, M] of captions to rank against row i's: uniform over rows whose group differs from i's.

    Sampling is exact and vectorised: rows are sorted by group, and a uniform position among the
    N - n_g rows outside row i's group block is mapped past that block.
    """
    check_shape("labels", groups, ["N"])
    n = groups.shape[0]
    order = torch.argsort(groups, stable=True)
    unique, counts = torch.unique_consecutive(groups[order], return_counts=True)
    starts = torch.cumsum(counts, 0) - counts
    group_of_row = torch.searchsorted(unique, groups)
    start, count = starts[group_of_row], counts[group_of_row]
    pool = n - count
    if (pool == 0).any():
        raise InputError("R-precision: every caption has the same label; distractors must come from other classes")
    uniform = torch.rand(n, num_distractors, generator=generator, dtype=torch.float64)
    position = torch.minimum((uniform * pool[:, None]).long(), (pool - 1)[:, None])
    position = position + (position >= start[:, None]).long() * count[:, None]
    return order[position]


def _cosine(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """Cosine along the last dim, as the reference: dot / clamp(|a| |b|, 1e-8)."""
    return (a * b).sum(-1) / (a.norm(dim=-1) * b.norm(dim=-1)).clamp(min=COSINE_EPS)


def r_precision_hits(
    image_emb: torch.Tensor,
    text_emb: torch.Tensor,
    *,
    labels: torch.Tensor | None = None,
    num_distractors: int = 99,
    generator: torch.Generator | None = None,
) -> torch.Tensor:
    """bool [N]: does image i rank its own caption (row i of ``text_emb``) first among 1 + M?"""
    bound = check_shape("image_emb", image_emb, ["N", "D"])
    check_shape("text_emb", text_emb, [bound["N"], bound["D"]])
    check_finite("image_emb", image_emb)
    check_finite("text_emb", text_emb)
    if num_distractors < 1:
        raise InputError(f"num_distractors must be >= 1, got {num_distractors}")
    if labels is None:
        groups = torch.arange(bound["N"])
    else:
        groups = torch.as_tensor(labels).long().cpu()
        check_shape("labels", groups, [bound["N"]])
    distractors = sample_distractors(groups, num_distractors, generator)
    image = image_emb.detach().cpu().double()
    text = text_emb.detach().cpu().double()
    true_score = _cosine(image, text)
    hits = torch.empty(bound["N"], dtype=torch.bool)
    for lo in range(0, bound["N"], _ROWS_PER_CHUNK):
        rows = slice(lo, lo + _ROWS_PER_CHUNK)
        scores = _cosine(image[rows, None, :], text[distractors[rows]])  # [n, M]
        hits[rows] = true_score[rows] >= scores.max(dim=1).values
    return hits


def fold_mean_std(
    hits: torch.Tensor, num_folds: int = 10, generator: torch.Generator | None = None
) -> tuple[float, float]:
    """Shuffle, cut into ``num_folds`` near-equal folds, return mean and population std of fold means."""
    check_shape("hits", hits, ["N"])
    if num_folds < 1 or hits.shape[0] < num_folds:
        raise InputError(f"R-precision: need at least {num_folds} samples for {num_folds} folds, got {hits.shape[0]}")
    shuffled = hits[torch.randperm(hits.shape[0], generator=generator)].double()
    fold_means = torch.stack([fold.mean() for fold in torch.tensor_split(shuffled, num_folds)])
    return float(fold_means.mean()), float(fold_means.std(unbiased=False))


def r_precision(
    image_emb: torch.Tensor,
    text_emb: torch.Tensor,
    *,
    labels: torch.Tensor | None = None,
    num_distractors: int = 99,
    num_folds: int = 10,
    generator: torch.Generator | None = None,
) -> dict[str, float]:
    """R-precision (AttnGAN protocol) from global image vectors [N,D] and their captions' vectors [N,D].

    Args:
        image_emb: DAMSM global image vectors of the generated images.
        text_emb: sentence vectors; row i is image i's true caption. Distractors are drawn from the rows.
        labels: optional class labels [N]; distractors then come from other classes only.
        generator: torch.Generator for the distractor draws and the fold shuffle (reproducible results).

    Returns:
        ``{"r_precision_mean": fraction, "r_precision_std": fraction}``; papers print these x100.

    Example:
        >>> g = torch.Generator().manual_seed(0)
        >>> e = torch.randn(200, 16, generator=g)
        >>> r_precision(e, e, generator=g)["r_precision_mean"]
        1.0
    """
    hits = r_precision_hits(
        image_emb, text_emb, labels=labels, num_distractors=num_distractors, generator=generator
    )
    mean, std = fold_mean_std(hits, num_folds, generator)
    return {KEY_R_PRECISION_MEAN: mean, KEY_R_PRECISION_STD: std}
