"""Image sources: tensors, datasets and streams are re-batched and validated."""

from __future__ import annotations

import pytest
import torch

from wordsight.metrics import extract, iter_image_batches
from wordsight.utils import InputError


def test_all_sources_give_the_same_batches(make_images, uint8_dataset_cls):
    images = make_images(23, size=8)
    sources = [images, uint8_dataset_cls(images), list(images), (images[i : i + 5] for i in range(0, 23, 5))]
    for source in sources:
        batches = list(iter_image_batches(source, 10))
        assert [b.shape[0] for b in batches] == [10, 10, 3]
        assert torch.equal(torch.cat(batches), images)


def test_validation_names_the_offending_item(make_images):
    images = list(make_images(3, size=8))
    images[2] = images[2][:, :4]
    with pytest.raises(InputError, match=r"images\[2\].*differs"):
        list(iter_image_batches(images, 2))
    with pytest.raises(InputError, match="uint8"):
        list(iter_image_batches(torch.rand(2, 3, 8, 8), 2))
    with pytest.raises(InputError, match=r"\[B,3,H,W\]"):
        list(iter_image_batches(torch.zeros(2, 1, 8, 8, dtype=torch.uint8), 2))
    with pytest.raises(InputError, match="no images"):
        extract([], consumers={})


def test_consumer_output_must_have_one_row_per_image(make_images):
    with pytest.raises(InputError, match="output of bad"):
        extract(make_images(4, size=8), consumers={"bad": lambda x: x.float().mean()})
