"""Reference statistics (mean, covariance, features) of a real image set, cached on disk by content.

The cache key is a SHA-256 over a JSON record of everything the statistics depend on: the data set
*content* (a hash over the image bytes, or a fingerprint the caller computed from file hashes), the split,
the image size, the resize method, the feature extractor's fingerprint (weights hash, code version) and
the feature layer. A name alone is never a key, so a changed data set or extractor can never return stale
numbers. Files are ``<cache_dir>/<key>.safetensors`` (default ``$WORDSIGHT_CACHE/stats`` or
``~/.cache/wordsight/stats``), written atomically; mean and covariance are float64.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from safetensors import SafetensorError, safe_open
from safetensors.torch import save as safetensors_save

from ..utils.checks import InputError
from ..utils.io import atomic_write_bytes
from .extractors import FeatureExtractorSpec
from .features import ImageSource, extract, iter_image_batches
from .weights import default_cache_dir

logger = logging.getLogger(__name__)

CACHE_FORMAT = "wordsight-reference-stats/1"


@dataclass(frozen=True)
class ReferenceStats:
    """Statistics of one feature layer over a real image set.

    Attributes:
        mean: float64 [D]. cov: float64 [D, D], unbiased (divides by N - 1, as ``np.cov``).
        features: float32 [N, D] (KID needs the samples), or None when not kept.
        num_images: N. layer: feature layer name. extractor_fingerprint: which network produced them.
        image_size: (H, W) of the images.
    """

    mean: torch.Tensor
    cov: torch.Tensor
    features: torch.Tensor | None
    num_images: int
    layer: str
    extractor_fingerprint: str
    image_size: tuple[int, int]


def gaussian_statistics(features: torch.Tensor, name: str = "features") -> tuple[torch.Tensor, torch.Tensor]:
    """Mean and unbiased covariance in float64 (the FID paper's Gaussian fit, Heusel et al. 2017 eq. 6)."""
    if not isinstance(features, torch.Tensor) or features.dim() != 2:
        raise InputError(f"{name}: expected a [N, D] tensor")
    if features.shape[0] < 2:
        raise InputError(f"{name}: a covariance needs at least 2 samples, got {features.shape[0]}")
    array = features.detach().cpu().numpy().astype(np.float64)
    mean = array.mean(axis=0)
    cov = np.atleast_2d(np.cov(array, rowvar=False))
    return torch.from_numpy(mean), torch.from_numpy(cov)


def stats_from_features(
    features: torch.Tensor,
    *,
    layer: str,
    extractor_fingerprint: str,
    image_size: tuple[int, int],
    keep_features: bool = True,
) -> ReferenceStats:
    mean, cov = gaussian_statistics(features, f"features[{layer}]")
    return ReferenceStats(
        mean=mean,
        cov=cov,
        features=features.detach().cpu().float() if keep_features else None,
        num_images=int(features.shape[0]),
        layer=layer,
        extractor_fingerprint=extractor_fingerprint,
        image_size=tuple(image_size),
    )


def fingerprint_images(images: ImageSource, batch_size: int = 256) -> str:
    """SHA-256 over the shape and bytes of every image, in order (the data set's content identity)."""
    digest = hashlib.sha256(b"wordsight-images/1")
    for batch in iter_image_batches(images, batch_size, "reference images"):
        for image in batch:
            digest.update(f"{tuple(image.shape)}".encode("ascii"))
            digest.update(image.contiguous().numpy().tobytes())
    return digest.hexdigest()


def stats_key_fields(
    *,
    content_fingerprint: str,
    split: str,
    image_size: tuple[int, int],
    extractor: FeatureExtractorSpec,
    keep_features: bool,
) -> dict[str, Any]:
    """The record a cache key is hashed from (also stored in the file, for inspection)."""
    return {
        "format": CACHE_FORMAT,
        "content": content_fingerprint,
        "split": split,
        "image_size": [int(image_size[0]), int(image_size[1])],
        "resize": extractor.resize,
        "extractor": extractor.fingerprint,
        "layer": extractor.distribution_layer,
        "features_kept": bool(keep_features),
    }


def stats_cache_key(fields: dict[str, Any]) -> str:
    return hashlib.sha256(json.dumps(fields, sort_keys=True).encode("utf-8")).hexdigest()[:40]


def save_reference_stats(path: str | os.PathLike, stats: ReferenceStats, fields: dict[str, Any]) -> None:
    tensors = {"mean": stats.mean.double().contiguous(), "cov": stats.cov.double().contiguous()}
    if stats.features is not None:
        tensors["features"] = stats.features.float().contiguous()
    metadata = {
        "key_fields": json.dumps(fields, sort_keys=True),
        "num_images": str(stats.num_images),
        "layer": stats.layer,
        "extractor": stats.extractor_fingerprint,
        "image_size": json.dumps(list(stats.image_size)),
    }
    atomic_write_bytes(path, safetensors_save(tensors, metadata=metadata))


def load_reference_stats(path: str | os.PathLike) -> ReferenceStats:
    """Read statistics written by :func:`save_reference_stats`; InputError on an unreadable file."""
    path = Path(path)
    if not path.is_file():
        raise InputError(f"reference statistics file not found: {path}")
    try:
        with safe_open(str(path), framework="pt") as handle:
            metadata = handle.metadata() or {}
            tensors = {key: handle.get_tensor(key) for key in handle.keys()}
        return ReferenceStats(
            mean=tensors["mean"],
            cov=tensors["cov"],
            features=tensors.get("features"),
            num_images=int(metadata["num_images"]),
            layer=metadata["layer"],
            extractor_fingerprint=metadata["extractor"],
            image_size=tuple(json.loads(metadata["image_size"])),
        )
    except (SafetensorError, OSError, KeyError, ValueError) as exc:
        raise InputError(f"cannot read reference statistics {path}: {exc}") from exc


def _peek_size(images: ImageSource) -> tuple[int, int]:
    if isinstance(images, torch.Tensor):
        return int(images.shape[-2]), int(images.shape[-1])
    if hasattr(images, "__getitem__") and hasattr(images, "__len__"):
        if len(images) == 0:
            raise InputError("reference images: the set is empty")
        first = images[0]
        if isinstance(first, torch.Tensor) and first.dim() >= 2:
            return int(first.shape[-2]), int(first.shape[-1])
        raise InputError(f"reference images[0]: expected a uint8 [3,H,W] tensor, got {type(first).__name__}")
    raise InputError(
        "reference images must be re-readable (a [N,3,H,W] tensor or a Dataset): the cache key is computed "
        "before features are extracted"
    )


def reference_statistics(
    images: ImageSource,
    extractor: FeatureExtractorSpec,
    *,
    split: str,
    content_fingerprint: str | None = None,
    cache_dir: str | os.PathLike | None = None,
    use_cache: bool = True,
    keep_features: bool = True,
    batch_size: int = 64,
    device: str = "cpu",
) -> ReferenceStats:
    """Statistics of the real images ``images`` under ``extractor``, read from the cache when present.

    Args:
        images: uint8 [N,3,H,W] tensor or Dataset of [3,H,W] (read twice on a miss: hash, then features).
        extractor: from ``inception_extractor()`` or ``module_feature_extractor(...)``.
        split: the data split's name (``"test"``); part of the key.
        content_fingerprint: the data set's content identity if you have one (e.g. a hash over its files);
            None hashes the image bytes.
        cache_dir: folder of the cache (default ``<WORDSIGHT_CACHE or ~/.cache/wordsight>/stats``).
        use_cache: False always extracts and writes nothing.
        keep_features: keep the per-image features (KID needs them; FID only needs mean/cov).

    Example:
        >>> spec = inception_extractor()  # doctest: +SKIP
        >>> ref = reference_statistics(real_uint8, spec, split="test")  # doctest: +SKIP
    """
    if not split:
        raise InputError("reference_statistics: split must name the data split (e.g. 'test')")
    if not use_cache:
        return _compute_stats(images, extractor, keep_features, batch_size, device)
    content = content_fingerprint or fingerprint_images(images)
    fields = stats_key_fields(
        content_fingerprint=content, split=split, image_size=_peek_size(images),
        extractor=extractor, keep_features=keep_features,
    )
    folder = Path(cache_dir) if cache_dir is not None else default_cache_dir() / "stats"
    path = folder / f"{stats_cache_key(fields)}.safetensors"
    if path.is_file():
        try:
            return load_reference_stats(path)
        except InputError as exc:  # a damaged cache entry is recomputed, never trusted
            logger.warning("ignoring damaged cache entry: %s", exc)
    stats = _compute_stats(images, extractor, keep_features, batch_size, device)
    save_reference_stats(path, stats, fields)
    return stats


def _compute_stats(
    images: ImageSource, extractor: FeatureExtractorSpec, keep_features: bool, batch_size: int, device: str
) -> ReferenceStats:
    module = extractor.build([extractor.distribution_layer], device)
    result = extract(images, extractor=module, batch_size=batch_size, device=device, name="reference images")
    return stats_from_features(
        result.features[extractor.distribution_layer],
        layer=extractor.distribution_layer,
        extractor_fingerprint=extractor.fingerprint,
        image_size=result.image_size,
        keep_features=keep_features,
    )
