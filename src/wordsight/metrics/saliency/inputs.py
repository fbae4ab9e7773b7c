"""Input checks shared by the saliency metrics, and the prepared (checked, resized, flattened) maps.

Checking, converting to float64 and resizing are done once per call: :class:`PreparedMaps` keeps
the results and the quantities several metrics share (min-max normalised map, fixated pixels,
mean and variance), so :func:`compute_saliency_metrics` pays for them once for all metrics.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import torch

from ...utils import InputError, check_finite
from .resize import imresize


def as_batch(name: str, tensor: torch.Tensor) -> tuple[torch.Tensor, bool]:
    """[H, W] -> [1, H, W]; [B, H, W] unchanged. Returns the batch and whether a batch axis was added."""
    if not isinstance(tensor, torch.Tensor):
        raise InputError(f"{name}: expected a torch tensor, got {type(tensor).__name__}")
    if tensor.dim() == 2:
        return tensor.unsqueeze(0), True
    if tensor.dim() == 3:
        return tensor, False
    raise InputError(f"{name}: expected [B, H, W] or [H, W], got shape {tuple(tensor.shape)}")


def real_maps(name: str, tensor: torch.Tensor) -> tuple[torch.Tensor, bool]:
    """Check a real-valued map batch (finite, numeric, non-empty) and convert it to float64."""
    maps, added = as_batch(name, tensor)
    if maps.dtype == torch.bool or maps.is_complex():
        raise InputError(f"{name}: expected real-valued maps, got dtype {maps.dtype}")
    if maps.numel() == 0:
        raise InputError(f"{name}: maps are empty, shape {tuple(maps.shape)}")
    maps = maps.to(torch.float64)
    if not bool(torch.isfinite(maps.sum())):  # one cheap pass; the exact count only when needed
        check_finite(name, maps)
    return _rescaled(maps), added


SAFE_PEAK = (2.0**-300, 2.0**300)  # maps whose largest |value| is outside are rescaled (see _rescaled)


def _rescaled(maps: torch.Tensor) -> torch.Tensor:
    """Maps whose largest magnitude is huge (1e300) or tiny (1e-300) multiplied by a power of two that
    brings it to [0.5, 1): exact, and every metric is invariant to it, but the variances, dot products
    and sums the metrics take would otherwise overflow to inf or underflow to 0 (CC = inf, NSS = 0)."""
    peak = maps.abs().amax(dim=(1, 2))
    extreme = (peak > 0) & ((peak < SAFE_PEAK[0]) | (peak > SAFE_PEAK[1]))
    if not bool(extreme.any()):
        return maps
    shift = torch.where(extreme, -torch.frexp(peak).exponent, 0).to(torch.float64)
    half = torch.floor(shift / 2)  # two factors, so 2**shift itself never overflows (subnormal peaks)
    return maps * torch.exp2(half)[:, None, None] * torch.exp2(shift - half)[:, None, None]


def binary_maps(name: str, tensor: torch.Tensor) -> tuple[torch.Tensor, bool]:
    """Check a boolean fixation map batch."""
    maps, added = as_batch(name, tensor)
    if maps.dtype != torch.bool:
        raise InputError(f"{name}: expected a bool fixation map (True at fixated pixels), got dtype {maps.dtype}")
    return maps, added


def same_batch(names: tuple[str, str], first: torch.Tensor, second: torch.Tensor) -> None:
    if first.shape[0] != second.shape[0]:
        raise InputError(f"{names[0]} has batch size {first.shape[0]} but {names[1]} has {second.shape[0]}")


def same_size(names: tuple[str, str], first: torch.Tensor, second: torch.Tensor) -> None:
    if first.shape[-2:] != second.shape[-2:]:
        raise InputError(
            f"{names[0]} is {tuple(first.shape[-2:])} but {names[1]} is {tuple(second.shape[-2:])}; they must match"
        )


def require_nonnegative(name: str, maps: torch.Tensor, metric: str) -> None:
    if bool((maps < 0).any()):
        raise InputError(f"{name}: {metric} treats maps as distributions and needs values >= 0; found negatives")


@dataclass
class PreparedMaps:
    """Checked inputs of one call, flattened to [B, N], with shared quantities computed on demand.

    ``saliency`` is float64 and already resized to the reference (fixation or density) size.
    """

    saliency: torch.Tensor  # float64 [B, N]
    size: tuple[int, int]
    single: bool  # every input was one [H, W] map: return 0-d scores
    fixations: torch.Tensor | None = None  # bool [B, N]
    density: torch.Tensor | None = None  # float64 [B, N]
    original: torch.Tensor | None = None  # float64 [B, H0, W0]: the saliency map before resizing
    _cache: dict = field(default_factory=dict, repr=False)

    @property
    def batch(self) -> int:
        return self.saliency.shape[0]

    def require_fixations(self, metric: str) -> torch.Tensor:
        if self.fixations is None:
            raise InputError(f"{metric} needs fixation maps")
        return self.fixations

    def require_density(self, metric: str) -> torch.Tensor:
        if self.density is None:
            raise InputError(f"{metric} needs density maps")
        return self.density

    def _cached(self, key: str, build):
        if key not in self._cache:
            self._cache[key] = build()
        return self._cache[key]

    def extremes(self) -> tuple[torch.Tensor, torch.Tensor]:
        """Per-map minimum and maximum of the saliency map, [B, 1] each."""
        return self._cached(
            "extremes", lambda: (self.saliency.amin(dim=1, keepdim=True), self.saliency.amax(dim=1, keepdim=True))
        )

    def constant(self) -> torch.Tensor:
        low, high = self.extremes()
        return (low == high)[:, 0]

    def normalised(self) -> torch.Tensor:
        """(S - min) / (max - min); constant maps become NaN, as in MATLAB (0 / 0)."""

        def build():
            low, high = self.extremes()
            return (self.saliency - low) / (high - low)

        return self._cached("normalised", build)

    def var_mean(self) -> tuple[torch.Tensor, torch.Tensor]:
        """Unbiased (N - 1) variance and mean of the saliency map, [B] each, like MATLAB std / mean."""
        def build():
            # Two passes (mean, then centred squares): several times faster than torch.var_mean on CPU.
            mean = self.saliency.mean(dim=1)
            centred = self.saliency - mean[:, None]
            return (centred * centred).sum(dim=1) / (self.saliency.shape[1] - 1), mean

        return self._cached("var_mean", build)

    def fixated(self) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Indices of fixated pixels, padded: index [B, K] (0 in padded slots), mask [B, K], counts [B]."""

        def build():
            fix = self.require_fixations("this metric")
            counts = fix.sum(dim=1)
            width = max(int(counts.max()), 1)
            rows, cols = torch.nonzero(fix, as_tuple=True)  # row-major: each row's pixels in order
            starts = torch.cumsum(counts, 0) - counts
            slot = torch.arange(rows.numel(), device=fix.device) - starts[rows]
            index = torch.zeros(fix.shape[0], width, dtype=torch.long, device=fix.device)
            mask = torch.zeros(fix.shape[0], width, dtype=torch.bool, device=fix.device)
            index[rows, slot] = cols
            mask[rows, slot] = True
            return index, mask, counts

        return self._cached("fixated", build)

    def finish(self, scores: torch.Tensor) -> torch.Tensor:
        """Scores [B] -> a 0-d tensor when every input was a single [H, W] map."""
        return scores[0] if self.single else scores


def prepare(
    saliency: torch.Tensor,
    fixations: torch.Tensor | None = None,
    density: torch.Tensor | None = None,
) -> PreparedMaps:
    """Check the inputs once and resize the saliency maps to the fixation (else density) size."""
    sal, single = real_maps("saliency", saliency)
    fix = dens = None
    if fixations is not None:
        fix, fix_single = binary_maps("fixations", fixations)
        same_batch(("saliency", "fixations"), sal, fix)
        single = single and fix_single
    if density is not None:
        dens, dens_single = real_maps("density", density)
        same_batch(("saliency", "density"), sal, dens)
        if fix is not None:
            same_size(("density", "fixations"), dens, fix)
        single = single and dens_single
    reference = fix if fix is not None else dens
    if reference is None:
        raise InputError("saliency metrics need fixation maps or density maps to compare against")
    size = (int(reference.shape[-2]), int(reference.shape[-1]))
    resized = imresize(sal, size)
    constant = sal.amin(dim=(1, 2)) == sal.amax(dim=(1, 2))
    if bool(constant.any()) and tuple(sal.shape[-2:]) != size:  # bicubic rounding must not un-constant a map
        resized[constant] = sal[constant][:, :1, :1].expand(-1, *size)
    prepared = PreparedMaps(
        saliency=resized.reshape(sal.shape[0], -1),
        size=size,
        single=single,
        fixations=None if fix is None else fix.to(sal.device).reshape(fix.shape[0], -1),
        density=None if dens is None else dens.to(sal.device).reshape(dens.shape[0], -1),
        original=sal,
    )
    return prepared
