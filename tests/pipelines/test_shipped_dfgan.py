"""The DF-GAN shipped inside the package: it loads offline, generates from any caption, and still
reaches the oracle accuracy its eval.json records (re-measured on other captions than the export used)."""

import json

import pytest
import torch

from wordsight.pipelines.text_to_image import SHIPPED_DIR, TextToImage

EVAL = json.loads((SHIPPED_DIR / "eval.json").read_text())


@pytest.fixture(scope="module")
def shipped():
    return TextToImage.from_pretrained()


def test_shipped_pipeline_generates_64px_images(shipped):
    out = shipped(["a small red circle", "a large blue star on a sand background"], num_images=2,
                  generator=torch.Generator().manual_seed(0))
    assert out.images.shape == (4, 3, 64, 64)
    assert torch.isfinite(out.images).all() and out.images.abs().max() <= 1
    # the caption encoder travels with the model, so it loads offline: a DAMSM BiLSTM in text_encoder/, or
    # MiniLM (from its PyPI package) with the whitening fitted for training
    if shipped.encoder_spec.get("name") == "bilstm":
        assert (SHIPPED_DIR / "text_encoder").is_dir()
    else:
        assert shipped.encoder_spec.get("whitening") == "sentence_whitening"


def test_shipped_model_keeps_its_recorded_oracle_accuracy(shipped):
    from wordsight.metrics.generation.oracle import evaluation_captions
    from wordsight.pipelines.evaluation import oracle_accuracy

    # 64 fresh captions per split from another seed than the export's 256 (seed 1234)
    acc = oracle_accuracy(shipped, evaluation_captions(64, seed=77), seed=5)
    for split in ("test", "heldout"):
        for attribute in ("color", "shape", "size", "joint"):
            recorded = EVAL["oracle_accuracy"][split][attribute]
            # 64 samples: a binomial standard error of at most 0.0625; allow three of them
            assert acc[split][attribute] >= recorded - 0.19, (split, attribute, acc[split][attribute], recorded)
