import json

import numpy as np
import pytest
import torch

from wordsight.models.dfgan import DFGenerator
from wordsight.training.checkpoint import (
    NonFiniteWeightsError,
    flatten_state,
    list_checkpoints,
    load_checkpoint,
    save_checkpoint,
    unflatten_state,
)
from wordsight.training.config import TrainConfig
from wordsight.utils.seed import get_rng_state


def _assert_same(a, b):
    assert type(a) is type(b)
    if isinstance(a, torch.Tensor):
        assert torch.equal(a, b)
    elif isinstance(a, np.ndarray):
        assert a.dtype == b.dtype and np.array_equal(a, b)
    elif isinstance(a, dict):
        assert list(a) == list(b)
        for k in a:
            _assert_same(a[k], b[k])
    elif isinstance(a, (list, tuple)):
        assert len(a) == len(b)
        for x, y in zip(a, b):
            _assert_same(x, y)
    else:
        assert a == b


def test_optimizer_and_rng_state_round_trip_through_json_and_tensors():
    model = torch.nn.Linear(3, 2)
    opt = torch.optim.Adam(model.parameters(), lr=1e-3, betas=(0.0, 0.9))
    model(torch.randn(4, 3)).sum().backward()
    opt.step()
    state = {"opt": opt.state_dict(), "rng": [get_rng_state()]}
    structure, tensors = flatten_state(state)
    text = json.dumps(structure)  # the structure must be plain JSON (no pickle)
    restored = unflatten_state(json.loads(text), tensors)
    _assert_same(state, restored)
    opt2 = torch.optim.Adam(model.parameters(), lr=5.0)
    opt2.load_state_dict(restored["opt"])
    assert opt2.param_groups[0]["lr"] == 1e-3 and opt2.param_groups[0]["betas"] == (0.0, 0.9)


def test_unsupported_objects_are_refused_rather_than_pickled():
    with pytest.raises(TypeError, match="no pickling"):
        flatten_state({"f": object()})


def _save(tmp_path, step, g, keep_last=2):
    return save_checkpoint(tmp_path, step, {"generator": g}, g, {"note": "x"}, TrainConfig(), keep_last)


def test_checkpoints_round_trip_and_keep_only_the_last_n(tmp_path):
    g = DFGenerator(nf=4, z_dim=4, sentence_dim=4, image_size=8)
    for step in (1, 2, 3):
        _save(tmp_path, step, g)
    assert [s for s, _ in list_checkpoints(tmp_path)] == [2, 3]
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]  # no temporary leftovers
    g2 = DFGenerator(nf=4, z_dim=4, sentence_dim=4, image_size=8)
    state = load_checkpoint(tmp_path / "checkpoint-3", {"generator": g2}, g2)
    assert state["step"] == 3 and state["note"] == "x"
    assert all(torch.equal(a, b) for a, b in zip(g.state_dict().values(), g2.state_dict().values()))
    meta = json.loads((tmp_path / "checkpoint-3" / "models.json").read_text())
    assert meta["generator"]["model_type"] == "dfgan_generator"


def test_nan_weights_are_never_saved(tmp_path):
    g = DFGenerator(nf=4, z_dim=4, sentence_dim=4, image_size=8)
    _save(tmp_path, 1, g)
    with torch.no_grad():
        g.fc.weight[0, 0] = float("nan")
    with pytest.raises(NonFiniteWeightsError, match="fc.weight"):
        _save(tmp_path, 2, g)
    assert [s for s, _ in list_checkpoints(tmp_path)] == [1]


def test_incomplete_checkpoint_folders_are_ignored(tmp_path):
    (tmp_path / "checkpoint-9").mkdir()  # e.g. a folder left by something else, without state.json
    assert list_checkpoints(tmp_path) == []
