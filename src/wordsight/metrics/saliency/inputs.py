"""Input checks shared by the saliency metrics, and the prepared (checked, resized, flattened) maps.

Checking, converting to float64 and resizing are done once per call: :class:`PreparedMaps` keeps
the results and the quantities several metrics share (min-max normalised map, fixated pixels,
mean and variance), so :func:`compute_saliency_metrics` pays for them once for all metrics.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field

import numpy as np
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
    maps, added, _, _ = real_maps_with_extremes(name, tensor)
    return maps, added


def real_maps_with_extremes(name: str, tensor: torch.Tensor) -> tuple[torch.Tensor, bool, np.ndarray, np.ndarray]:
    """:func:`real_maps`, also returning each map's minimum and maximum (numpy float64 [B]).

    The per-map minimum and maximum are the only passes over the maps: a NaN or inf shows up in one
    of them (so they are the finiteness check), and they give the peak magnitude for the rescaling.
    """
    maps, added = as_batch(name, tensor)
    if maps.dtype == torch.bool or maps.is_complex():
        raise InputError(f"{name}: expected real-valued maps, got dtype {maps.dtype}")
    if maps.numel() == 0:
        raise InputError(f"{name}: maps are empty, shape {tuple(maps.shape)}")
    if maps.dtype == torch.float32:  # the extremes of the float32 map are exact, and half the bytes to read
        low, high = map_extremes(maps)
        maps = maps.to(torch.float64)
    else:
        maps = maps.to(torch.float64)
        low, high = map_extremes(maps)
    if not (np.isfinite(low).all() and np.isfinite(high).all()):
        check_finite(name, maps)
    peak = np.maximum(np.abs(low), np.abs(high))
    if ((peak > 0) & ((peak < SAFE_PEAK[0]) | (peak > SAFE_PEAK[1]))).any():
        maps = _rescaled(maps)
        low, high = map_extremes(maps)
    return maps, added, low, high


def map_extremes(maps: torch.Tensor) -> tuple[np.ndarray, np.ndarray]:
    """Per-map minimum and maximum of float maps [B, ...], as numpy float64 [B] (NaN propagates)."""
    flat = as_numpy(maps).reshape(maps.shape[0], -1)
    return flat.min(axis=1).astype(np.float64), flat.max(axis=1).astype(np.float64)


def as_numpy(tensor: torch.Tensor) -> np.ndarray:
    """A zero-copy numpy view of a CPU tensor (device tensors are copied to the CPU)."""
    return tensor.detach().cpu().numpy()


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

    ``saliency`` is float64 and already resized to the reference (fixation or density) size. The
    metrics' per-pixel work runs in numpy on zero-copy views of these tensors, one map at a time
    (``view``, ``extremes``, ``var_mean``, ``centred``, ``fixated_indices``): at 480x640 a pass over a
    map costs about as much as a few dozen torch calls, so the kernels keep both low. The tensors are
    never written to (a float64 input map is shared, not copied).
    """

    saliency: torch.Tensor  # float64 [B, N]
    size: tuple[int, int]
    single: bool  # every input was one [H, W] map: return 0-d scores
    fixations: torch.Tensor | None = None  # bool [B, N]
    density: torch.Tensor | None = None  # float64 [B, N]
    original: torch.Tensor | None = None  # float64 [B, H0, W0]: the saliency map before resizing
    planned: tuple[str, ...] = ()  # the metrics a compute_saliency_metrics call will ask for (a hint)
    _cache: dict = field(default_factory=dict, repr=False)

    @property
    def batch(self) -> int:
        return self.saliency.shape[0]

    @property
    def pixels(self) -> int:
        return self.saliency.shape[1]

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

    # ------------------------------------------------------------------ numpy views and statistics

    def view(self, which: str = "saliency") -> np.ndarray:
        """numpy float64 [B, N] view of ``saliency`` or ``density`` (read-only by convention)."""
        if which == "density":
            self.require_density("this metric")
        return self._cached("np_" + which, lambda: as_numpy(getattr(self, which)))

    def extremes(self, which: str = "saliency") -> tuple[np.ndarray, np.ndarray]:
        """Per-map minimum and maximum of ``saliency`` or ``density``, numpy float64 [B] each."""
        return self._cached("extremes_" + which, lambda: map_extremes(getattr(self, which)))

    def constant(self) -> np.ndarray:
        low, high = self.extremes()
        return low == high

    def sums(self, which: str = "saliency") -> np.ndarray:
        """Per-map sums, numpy float64 [B]."""
        return self._cached("sums_" + which, lambda: self.view(which).sum(axis=1))

    def var_mean(self) -> tuple[np.ndarray, np.ndarray]:
        """Unbiased (N - 1) variance and mean of each saliency map, numpy [B] each, like MATLAB std / mean."""
        moments = self.moments()
        return moments["sum_squares"] / (self.pixels - 1), moments["mean"]

    def moments(self, with_density: bool = False) -> dict[str, np.ndarray]:
        """Per-map means and centred second moments, numpy [B] each: ``mean``, ``sum_squares``
        (sum (S - mean)^2) and, with the density (``with_density``, or whenever CC is among the
        ``planned`` metrics), ``density_sum_squares`` and ``cross`` (sum (S - mean)(G - mean_G)).

        Two passes, as MATLAB's ``std`` and ``corr2`` (mean first, then centred products; far more
        accurate than sum(S^2) - N mean^2); the centred maps live in scratch rows only.
        """
        with_density = self.density is not None and (with_density or "cc" in self.planned)
        cached = self._cache.get("moments")
        if cached is not None and ("cross" in cached or not with_density):
            return cached
        flat, mean = self.view(), self.sums() / self.pixels
        moments = {"mean": mean, "sum_squares": np.empty(self.batch)}
        if with_density:
            density, density_mean = self.view("density"), self.sums("density") / self.pixels
            moments.update(density_mean=density_mean, density_sum_squares=np.empty(self.batch),
                           cross=np.empty(self.batch))
        work = scratch(self.pixels, 2)
        for b in range(self.batch):
            centred = np.subtract(flat[b], mean[b], out=work[0])
            moments["sum_squares"][b] = np.dot(centred, centred)
            if with_density:
                density_centred = np.subtract(density[b], density_mean[b], out=work[1])
                moments["density_sum_squares"][b] = np.dot(density_centred, density_centred)
                moments["cross"][b] = np.dot(centred, density_centred)
        self._cache["moments"] = moments
        return moments

    def original_extremes(self) -> tuple[np.ndarray, np.ndarray]:
        """Per-map minimum and maximum of the saliency maps before resizing."""
        return self._cached("original_extremes", lambda: map_extremes(self.original))

    def fixated_indices(self) -> tuple[list[np.ndarray], np.ndarray]:
        """Flat indices of each map's fixated pixels (row-major order) and their counts [B]."""

        def build():
            fix = as_numpy(self.require_fixations("this metric"))
            indices = [np.flatnonzero(row) for row in fix]
            return indices, np.array([index.size for index in indices], dtype=np.int64)

        return self._cached("fixated_indices", build)

    # --------------------------------------------------------------------- torch (AUC-Borji, IG)

    def normalised(self) -> torch.Tensor:
        """(S - min) / (max - min) as a torch tensor [B, N]; constant maps become NaN (0 / 0)."""

        def build():
            low, high = (torch.from_numpy(t).to(self.saliency.device)[:, None] for t in self.extremes())
            return (self.saliency - low) / (high - low)

        return self._cached("normalised", build)

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

    def finish(self, scores: torch.Tensor | np.ndarray) -> torch.Tensor:
        """Scores [B] (numpy or torch) -> float64 tensor on the maps' device; 0-d when every input was
        a single [H, W] map."""
        if isinstance(scores, np.ndarray):
            scores = torch.from_numpy(np.asarray(scores, dtype=np.float64)).to(self.saliency.device)
        return scores[0] if self.single else scores


_SCRATCH: dict[tuple[int, int], np.ndarray] = {}


def scratch(pixels: int, rows: int) -> np.ndarray:
    """Scratch rows [rows, pixels] for the metric kernels, kept per thread between calls (fresh
    multi-megabyte arrays cost page faults at every call). A kernel may overwrite them freely but must
    not keep a reference once it returns."""
    if rows * pixels > _SCRATCH_MAX:
        return np.empty((rows, pixels))
    key = (threading.get_ident(), pixels)
    work = _SCRATCH.get(key)
    if work is None or work.shape[0] < rows:
        if len(_SCRATCH) >= 4:
            _SCRATCH.clear()
        work = _SCRATCH[key] = np.empty((rows, pixels))
    return work


_SCRATCH_MAX = 1 << 22  # float64 elements (32 MiB): larger scratch is allocated per call


def prepare(
    saliency: torch.Tensor,
    fixations: torch.Tensor | None = None,
    density: torch.Tensor | None = None,
) -> PreparedMaps:
    """Check the inputs once and resize the saliency maps to the fixation (else density) size."""
    sal, single, low, high = real_maps_with_extremes("saliency", saliency)
    fix = dens = None
    if fixations is not None:
        fix, fix_single = binary_maps("fixations", fixations)
        same_batch(("saliency", "fixations"), sal, fix)
        single = single and fix_single
    if density is not None:
        dens, dens_single, dens_low, dens_high = real_maps_with_extremes("density", density)
        same_batch(("saliency", "density"), sal, dens)
        if fix is not None:
            same_size(("density", "fixations"), dens, fix)
        single = single and dens_single
    reference = fix if fix is not None else dens
    if reference is None:
        raise InputError("saliency metrics need fixation maps or density maps to compare against")
    size = (int(reference.shape[-2]), int(reference.shape[-1]))
    resized = imresize(sal, size)
    prepared = PreparedMaps(
        saliency=resized.reshape(sal.shape[0], -1),
        size=size,
        single=single,
        fixations=None if fix is None else fix.to(sal.device).reshape(fix.shape[0], -1),
        density=None if dens is None else dens.to(sal.device).reshape(dens.shape[0], -1),
        original=sal,
    )
    prepared._cache["original_extremes"] = (low, high)
    if tuple(sal.shape[-2:]) == size:
        prepared._cache["extremes_saliency"] = (low, high)  # the map itself: its extremes are known
    else:
        constant = torch.from_numpy(low == high).to(sal.device)
        if bool(constant.any()):  # bicubic rounding must not un-constant a map
            resized[constant] = sal[constant][:, :1, :1].expand(-1, *size)
    if dens is not None:
        prepared._cache["extremes_density"] = (dens_low, dens_high)
    return prepared
