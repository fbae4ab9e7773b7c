"""Regression found by tests/reliability: NaN fixation points passed the folder check (NaN fails every
comparison, so it was not counted as outside the image)."""

import pytest

from data_fixtures import saliency_records
from wordsight.data.export import write_saliency_folder
from wordsight.data.saliency import SaliencyFolderDataset
from wordsight.utils.checks import InputError


@pytest.mark.parametrize("text", ["[[NaN, 3.0, 0]]", "[[2.0, Infinity, 0]]", "[[2.0, -Infinity, 1], [1.0, 1.0, 0]]"])
def test_non_finite_points_are_reported(tmp_path, text):
    write_saliency_folder(tmp_path, saliency_records(2))
    (tmp_path / "points" / "s00.json").write_text(text)
    with pytest.raises(InputError, match=r"s00\.json: 1 of \d fixations have a NaN or infinite coordinate"):
        SaliencyFolderDataset(tmp_path)
    assert [it.key for it in SaliencyFolderDataset(tmp_path, strict=False).items] == ["s01"]
