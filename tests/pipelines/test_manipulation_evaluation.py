"""Scoring editors on the synthetic world's edits: the two references (copy the source, the true target)
land where they must, and an editor's output goes through edit_all unchanged."""

import math

import torch
from torch import nn

from wordsight.models.oracle import load_oracle
from wordsight.pipelines.manipulation import Manipulation
from wordsight.pipelines.manipulation_evaluation import edit_all, oracle_reference, score_edits, synthetic_edits


class CopyEditor(nn.Module):
    image_size = 32

    def edit(self, images, texts):
        assert len(texts) == images.shape[0]
        return images.clone()


def test_references_and_an_identity_editor():
    edits = synthetic_edits(32, 12)
    assert len(edits) == 12 and edits.sources.shape == (12, 3, 32, 32) and edits.masks.shape == (12, 1, 32, 32)
    assert set(edits.operations) <= {"colour", "shape", "size", "add"}  # one object: nothing to remove
    assert torch.equal(synthetic_edits(32, 12).sources, edits.sources)  # deterministic
    oracle = load_oracle()
    reference = oracle_reference(oracle, 64)
    copy = score_edits(oracle, edits.sources, edits, reference)
    target = score_edits(oracle, edits.targets, edits, reference)
    assert copy["l2_outside"] == 0 and copy["changed_outside"] == 0 and copy["accuracy"] < 0.3
    # the true target differs from the source only inside the change mask
    assert target["l2_outside"] < 1e-6 and target["changed_outside"] == 0 and target["accuracy"] >= 0.9
    assert math.isfinite(copy["oracle_fid"]) and copy["n"] == 12
    edited = edit_all(Manipulation(CopyEditor(), {}, device="cpu"), edits, batch_size=5)
    assert torch.equal(edited, edits.sources.clamp(-1, 1))
    assert score_edits(oracle, edited[:4], edits)["n"] == 4  # a shorter run scores the first edits
