"""R-precision (AttnGAN protocol) on hand-built embeddings."""

from __future__ import annotations

import pytest
import torch

from wordsight.metrics.generation import fold_mean_std, r_precision, r_precision_hits, sample_distractors
from wordsight.metrics.generation.keys import KEY_R_PRECISION_MEAN, KEY_R_PRECISION_STD
from wordsight.utils import InputError


def _gen(seed=0):
    return torch.Generator().manual_seed(seed)


def test_identical_embeddings_give_one():
    emb = torch.randn(300, 16, generator=_gen())
    out = r_precision(emb, emb.clone(), generator=_gen(1))
    assert out[KEY_R_PRECISION_MEAN] == 1.0 and out[KEY_R_PRECISION_STD] == 0.0


def test_unrelated_embeddings_give_about_one_in_a_hundred():
    image, text = torch.randn(3000, 32, generator=_gen(2)), torch.randn(3000, 32, generator=_gen(3))
    out = r_precision(image, text, generator=_gen(4))
    assert 0.004 < out[KEY_R_PRECISION_MEAN] < 0.02  # chance is 1/100
    assert out[KEY_R_PRECISION_STD] > 0


def test_cosine_not_dot_product_decides_the_rank():
    emb = torch.randn(200, 8, generator=_gen(5))
    scales = torch.rand(200, 1, generator=_gen(6)) * 100 + 0.01
    assert r_precision(emb * scales, emb, generator=_gen(7))[KEY_R_PRECISION_MEAN] == 1.0


def test_distractors_never_come_from_the_same_class():
    labels = torch.randint(0, 5, (400,), generator=_gen(8))
    idx = sample_distractors(labels, 99, _gen(9))
    assert idx.shape == (400, 99)
    assert not (labels[idx] == labels[:, None]).any()
    # every other class is drawn (uniform over the rows outside the class)
    for c in range(5):
        assert set(labels[idx[labels == c]].unique().tolist()) == set(range(5)) - {c}


def test_without_labels_the_own_row_is_never_a_distractor():
    idx = sample_distractors(torch.arange(50), 99, _gen(10))
    assert not (idx == torch.arange(50)[:, None]).any()


def test_labels_exclude_same_class_captions_that_would_outrank_the_true_one():
    # Captions of one class are near-identical; each image is closest to its class centre, not its own
    # caption, so same-class distractors often win. With labels they are excluded.
    centres = torch.randn(10, 16, generator=_gen(11)) * 5
    labels = torch.arange(500) % 10
    text = centres[labels] + 0.3 * torch.randn(500, 16, generator=_gen(12))
    image = centres[labels] + 0.3 * torch.randn(500, 16, generator=_gen(13))
    with_labels = r_precision(image, text, labels=labels, generator=_gen(14))[KEY_R_PRECISION_MEAN]
    without = r_precision(image, text, generator=_gen(14))[KEY_R_PRECISION_MEAN]
    assert with_labels == 1.0
    assert without < 0.5


def test_ties_count_as_hits_like_argmax_with_the_true_caption_first():
    image = torch.ones(20, 4)
    text = torch.ones(20, 4)  # every caption scores the same
    assert r_precision_hits(image, text, generator=_gen(15)).all()


def test_folds_mean_and_population_std():
    hits = torch.tensor([1, 1, 1, 1, 0, 0, 0, 0, 1, 0], dtype=torch.bool)
    mean, std = fold_mean_std(hits, num_folds=10, generator=_gen(16))
    assert mean == pytest.approx(0.5) and std == pytest.approx(0.5)
    mean2, std2 = fold_mean_std(hits, num_folds=1)
    assert (mean2, std2) == (pytest.approx(0.5), 0.0)


def test_same_generator_seed_same_result_and_bad_input():
    image, text = torch.randn(100, 8, generator=_gen(17)), torch.randn(100, 8, generator=_gen(18))
    assert r_precision(image, text, generator=_gen(19)) == r_precision(image, text, generator=_gen(19))
    with pytest.raises(InputError, match="text_emb"):
        r_precision(image, text[:, :4])
    with pytest.raises(InputError, match="same label"):
        r_precision(image, text, labels=torch.zeros(100, dtype=torch.long))
    with pytest.raises(InputError, match="folds"):
        r_precision(image[:5], text[:5])
