"""Free-viewing baselines for honest comparison: a centre-bias Gaussian and the mean fixation map.

Neither looks at the image (or the text): a learnt model that does not beat them has learnt little
beyond where people look on average. Both predict a probability density (float64 [H, W], sum 1) for any
query size and save to / load from one safetensors file (:func:`load_baseline` picks the class).

- :class:`CentreBias`: an axis-aligned (anisotropic) Gaussian, parameters relative to the image size:
  centre (cx, cy) as fractions of width and height, spreads (sx, sy) as fractions of width and height.
  Defaults (0.5, 0.5, 0.25, 0.25) are an uninformed prior; :meth:`CentreBias.fit` estimates all four by
  maximum likelihood (mean and standard deviation of relative fixation positions of a training set).
- :class:`MeanFixationMap`: the average of the training set's density maps, each resized to a common
  size and normalised to sum 1; ``predict`` resizes it (bilinear) to the query size.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Iterable, Sequence

import numpy as np
import torch
import torch.nn.functional as F
from safetensors import safe_open
from safetensors.torch import save_file

from ..utils.checks import InputError
from ..utils.io import atomic_path

__all__ = ["CentreBias", "MeanFixationMap", "load_baseline"]

_KIND_KEY = "wordsight_baseline"


def _check_size(height: int, width: int) -> None:
    if int(height) < 1 or int(width) < 1:
        raise InputError(f"baseline query size must be positive, got {height}x{width}")


def _normalise(density: np.ndarray) -> np.ndarray:
    total = density.sum()
    if not np.isfinite(total) or total <= 0:
        raise InputError("baseline map has no mass (all zeros or non-finite)")
    return density / total


def _batch_maps(density: np.ndarray, batch: int) -> torch.Tensor:
    return torch.from_numpy(density).float()[None, None].expand(batch, 1, -1, -1).clone()


def _save(path: str | os.PathLike, kind: str, tensors: dict[str, torch.Tensor]) -> Path:
    path = Path(path)
    with atomic_path(path) as tmp:
        save_file({k: v.contiguous() for k, v in tensors.items()}, str(tmp), metadata={_KIND_KEY: kind})
    return path


def _read(path: str | os.PathLike) -> tuple[str, dict[str, torch.Tensor]]:
    path = Path(path)
    if not path.exists():
        raise InputError(f"baseline file not found: {path}")
    try:
        with safe_open(str(path), framework="pt") as fh:
            kind = (fh.metadata() or {}).get(_KIND_KEY)
            tensors = {k: fh.get_tensor(k) for k in fh.keys()}
    except Exception as exc:  # safetensors raises its own error types
        raise InputError(f"cannot read baseline {path}: {exc}") from exc
    if kind not in _BASELINES:
        raise InputError(f"{path} is not a saved saliency baseline (metadata {_KIND_KEY}={kind!r})")
    return kind, tensors


class CentreBias:
    """Anisotropic Gaussian centre bias; see the module docstring for the parameters."""

    kind = "centre_bias"

    def __init__(self, cx: float = 0.5, cy: float = 0.5, sx: float = 0.25, sy: float = 0.25):
        if not (sx > 0 and sy > 0):
            raise InputError(f"CentreBias spreads must be > 0, got sx={sx}, sy={sy}")
        self.cx, self.cy, self.sx, self.sy = float(cx), float(cy), float(sx), float(sy)

    @classmethod
    def fit(cls, fixations: Iterable[tuple[Sequence[float], Sequence[float], int, int]]) -> "CentreBias":
        """Maximum-likelihood fit from ``(x, y, height, width)`` per training image (0-based pixels).

        Positions are taken relative to their image (pixel centres: (x + 0.5) / width), so images of
        different sizes pool together; every fixation weighs the same.
        """
        rel_x, rel_y = [], []
        for x, y, height, width in fixations:
            rel_x.append((np.asarray(x, dtype=np.float64) + 0.5) / width)
            rel_y.append((np.asarray(y, dtype=np.float64) + 0.5) / height)
        xs = np.concatenate(rel_x) if rel_x else np.empty(0)
        ys = np.concatenate(rel_y) if rel_y else np.empty(0)
        if len(xs) < 2:
            raise InputError(f"CentreBias.fit needs at least 2 fixations, got {len(xs)}")
        return cls(xs.mean(), ys.mean(), max(xs.std(), 1e-3), max(ys.std(), 1e-3))

    def predict(self, height: int, width: int) -> np.ndarray:
        """Density float64 [height, width] summing to 1."""
        _check_size(height, width)
        gx = ((np.arange(width) + 0.5) / width - self.cx) / self.sx
        gy = ((np.arange(height) + 0.5) / height - self.cy) / self.sy
        log_density = -0.5 * (gy[:, None] ** 2 + gx[None, :] ** 2)
        return _normalise(np.exp(log_density - log_density.max()))

    def predict_batch(self, images: torch.Tensor) -> torch.Tensor:
        """The same map for every image of a batch [B, C, H, W] -> [B, 1, H, W] float32."""
        return _batch_maps(self.predict(images.shape[-2], images.shape[-1]), images.shape[0])

    def save(self, path: str | os.PathLike) -> Path:
        params = torch.tensor([self.cx, self.cy, self.sx, self.sy], dtype=torch.float64)
        return _save(path, self.kind, {"params": params})

    @classmethod
    def load(cls, path: str | os.PathLike) -> "CentreBias":
        baseline = load_baseline(path)
        if not isinstance(baseline, cls):
            raise InputError(f"{path} holds a {type(baseline).__name__}, not a {cls.__name__}")
        return baseline

    def __repr__(self) -> str:
        return f"CentreBias(cx={self.cx:.4f}, cy={self.cy:.4f}, sx={self.sx:.4f}, sy={self.sy:.4f})"


def _resize(density: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """Bilinear resize of a [H, W] map (anti-aliased when shrinking), in float64."""
    t = torch.from_numpy(np.ascontiguousarray(density, dtype=np.float64))[None, None]
    if tuple(t.shape[-2:]) == tuple(size):
        return t[0, 0].numpy().copy()
    shrinking = t.shape[-2] > size[0] or t.shape[-1] > size[1]
    out = F.interpolate(t, size=size, mode="bilinear", align_corners=False, antialias=shrinking)
    return out[0, 0].numpy().clip(min=0.0)


class MeanFixationMap:
    """The training set's average density map (float64 [h, w], sum 1)."""

    kind = "mean_fixation_map"

    def __init__(self, density: np.ndarray):
        density = np.asarray(density, dtype=np.float64)
        if density.ndim != 2:
            raise InputError(f"MeanFixationMap density must be [H, W], got shape {density.shape}")
        if (density < 0).any():
            raise InputError("MeanFixationMap density must be non-negative")
        self.density = _normalise(density)

    @classmethod
    def fit(cls, density_maps: Iterable[np.ndarray], size: tuple[int, int] = (64, 64)) -> "MeanFixationMap":
        """Average of the maps, each resized to ``size`` (height, width) and normalised to sum 1 first,
        so every training image weighs the same whatever its size or number of fixations. Maps without
        mass (no fixations) are skipped."""
        _check_size(*size)
        total, count = np.zeros(size, dtype=np.float64), 0
        for i, m in enumerate(density_maps):
            m = np.asarray(m, dtype=np.float64)
            if m.ndim != 2 or (m < 0).any() or not np.isfinite(m).all():
                raise InputError(f"density map {i}: expected a finite non-negative [H, W] array, got shape {m.shape}")
            small = _resize(m, size)
            if small.sum() > 0:
                total += small / small.sum()
                count += 1
        if count == 0:
            raise InputError("MeanFixationMap.fit: no density map with fixations")
        return cls(total / count)

    def predict(self, height: int, width: int) -> np.ndarray:
        """Density float64 [height, width] summing to 1."""
        _check_size(height, width)
        return _normalise(_resize(self.density, (int(height), int(width))))

    def predict_batch(self, images: torch.Tensor) -> torch.Tensor:
        """The same map for every image of a batch [B, C, H, W] -> [B, 1, H, W] float32."""
        return _batch_maps(self.predict(images.shape[-2], images.shape[-1]), images.shape[0])

    def save(self, path: str | os.PathLike) -> Path:
        return _save(path, self.kind, {"density": torch.from_numpy(self.density)})

    @classmethod
    def load(cls, path: str | os.PathLike) -> "MeanFixationMap":
        baseline = load_baseline(path)
        if not isinstance(baseline, cls):
            raise InputError(f"{path} holds a {type(baseline).__name__}, not a {cls.__name__}")
        return baseline


def _centre_bias_from(tensors: dict[str, torch.Tensor]) -> CentreBias:
    return CentreBias(*tensors["params"].tolist())


def _mean_map_from(tensors: dict[str, torch.Tensor]) -> MeanFixationMap:
    model = MeanFixationMap(tensors["density"].numpy())  # validates
    model.density = tensors["density"].numpy().copy()  # the saved bits, not a renormalised copy
    return model


_BASELINES = {CentreBias.kind: _centre_bias_from, MeanFixationMap.kind: _mean_map_from}


def load_baseline(path: str | os.PathLike) -> CentreBias | MeanFixationMap:
    """Load any saved baseline; the file's metadata says which class it is."""
    kind, tensors = _read(path)
    try:
        return _BASELINES[kind](tensors)
    except (KeyError, TypeError) as exc:
        raise InputError(f"{path}: corrupt {kind} baseline ({exc})") from exc
