"""One pass over a set of images that feeds every consumer at once (extract features once).

Images are uint8 [3,H,W] (RGB, 0..255), given as a tensor [N,3,H,W], a map-style Dataset whose items are
[3,H,W] tensors, or any iterable of [3,H,W] images or [B,3,H,W] batches (e.g. a generator sampling on the
fly). All images in one set share one size. Float images are refused: convert them once with
``wordsight.utils.images.to_uint8`` so that every metric sees the same quantised pixels.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Iterable, Iterator, Mapping, Union

import torch
from torch.utils.data import Dataset, IterableDataset

from ..utils.checks import InputError

ImageSource = Union[torch.Tensor, Dataset, Iterable[torch.Tensor]]
Consumer = Callable[[torch.Tensor], Any]


def _check_image_block(name: str, block: torch.Tensor, size: tuple[int, int] | None) -> tuple[int, int]:
    if not isinstance(block, torch.Tensor):
        raise InputError(f"{name}: expected a uint8 tensor, got {type(block).__name__}")
    if block.dtype != torch.uint8:
        raise InputError(
            f"{name}: expected uint8 images (0..255), got {block.dtype}; convert with wordsight.utils.images.to_uint8"
        )
    if block.dim() != 4 or block.shape[1] != 3:
        raise InputError(f"{name}: expected RGB images [B,3,H,W] or [3,H,W], got shape {tuple(block.shape)}")
    got = (int(block.shape[2]), int(block.shape[3]))
    if size is not None and got != size:
        raise InputError(f"{name}: image size {got} differs from the first image's {size}; one set needs one size")
    return got


def iter_image_batches(images: ImageSource, batch_size: int, name: str = "images") -> Iterator[torch.Tensor]:
    """Yield validated uint8 batches [B,3,H,W] of at most ``batch_size`` images, in order."""
    if batch_size < 1:
        raise InputError(f"batch_size must be >= 1, got {batch_size}")
    if isinstance(images, torch.Tensor):
        _check_image_block(name, images if images.dim() != 3 else images[None], None)
        blocks: Iterable[torch.Tensor] = [images] if images.dim() == 4 else [images[None]]
    elif hasattr(images, "__getitem__") and hasattr(images, "__len__") and not isinstance(images, IterableDataset):
        blocks = (images[i] for i in range(len(images)))  # type: ignore[arg-type]
    else:
        blocks = images
    size: tuple[int, int] | None = None
    pending: list[torch.Tensor] = []
    pending_count = 0
    for index, block in enumerate(blocks):
        if isinstance(block, torch.Tensor) and block.dim() == 3:
            block = block[None]
        size = _check_image_block(f"{name}[{index}]", block, size)
        pending.append(block)
        pending_count += block.shape[0]
        while pending_count >= batch_size:
            merged = torch.cat(pending) if len(pending) > 1 else pending[0]
            yield merged[:batch_size]
            rest = merged[batch_size:]
            pending, pending_count = ([rest], rest.shape[0]) if rest.shape[0] else ([], 0)
    if pending_count:
        yield torch.cat(pending) if len(pending) > 1 else pending[0]


@dataclass
class Extraction:
    """Everything read from one image set in one pass."""

    features: dict[str, torch.Tensor]  # torch-fidelity extractor layers, float32 [N, D]
    outputs: dict[str, Any]  # other consumers: [N, ...] tensors, or dicts of them
    num_images: int
    image_size: tuple[int, int]


def _concat(parts: list[Any]) -> Any:
    if isinstance(parts[0], Mapping):
        return {key: torch.cat([p[key] for p in parts]) for key in parts[0]}
    return torch.cat(parts)


def _detach_cpu(value: Any, name: str, batch: int) -> Any:
    if isinstance(value, Mapping):
        return {k: _detach_cpu(v, f"{name}[{k!r}]", batch) for k, v in value.items()}
    if not isinstance(value, torch.Tensor) or value.dim() == 0 or value.shape[0] != batch:
        shape = tuple(value.shape) if isinstance(value, torch.Tensor) else type(value).__name__
        raise InputError(f"{name}: expected a tensor with {batch} rows for a batch of {batch} images, got {shape}")
    return value.detach().cpu()


@torch.no_grad()
def extract(
    images: ImageSource,
    *,
    extractor: torch.nn.Module | None = None,
    consumers: Mapping[str, Consumer] | None = None,
    batch_size: int = 64,
    device: str = "cpu",
    name: str = "images",
) -> Extraction:
    """Run the torch-fidelity ``extractor`` (on ``device``) and every consumer (on CPU uint8 batches).

    The extractor is called exactly as torch-fidelity's ``get_featuresdict_from_dataset`` calls it (the
    batch moved to the device, the output tuple turned into a dict, features moved back to the CPU).
    """
    consumers = dict(consumers or {})
    feature_parts: dict[str, list[torch.Tensor]] = {}
    output_parts: dict[str, list[Any]] = {key: [] for key in consumers}
    count, size = 0, None
    for batch in iter_image_batches(images, batch_size, name):
        size = (int(batch.shape[2]), int(batch.shape[3]))
        if extractor is not None:
            raw = extractor(batch.to(device) if device != "cpu" else batch)
            for key, value in extractor.convert_features_tuple_to_dict(raw).items():
                feature_parts.setdefault(key, []).append(value.cpu())
        for key, consume in consumers.items():
            output_parts[key].append(_detach_cpu(consume(batch), f"output of {key}", batch.shape[0]))
        count += batch.shape[0]
    if count == 0 or size is None:
        raise InputError(f"{name}: no images")
    return Extraction(
        features={k: torch.cat(v) for k, v in feature_parts.items()},
        outputs={k: _concat(v) for k, v in output_parts.items()},
        num_images=count,
        image_size=size,
    )
