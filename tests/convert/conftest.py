"""Official key/shape lists (fixtures/*.json, written by fixtures/make_fixtures.py from the official model
code) and random state dicts in their layout."""

import importlib.util
import json
import math
from pathlib import Path

import pytest
import torch

FIXTURES = Path(__file__).resolve().parent / "fixtures"


def load_keys(name: str):
    """The [key, shape] pairs of fixtures/<name>_official_keys.json ({part: pairs} for DF-GAN)."""
    data = json.loads((FIXTURES / f"{name}_official_keys.json").read_text())
    return data["parts"] if "parts" in data else data["keys"]


def make_fixtures_module():
    spec = importlib.util.spec_from_file_location("make_fixtures", FIXTURES / "make_fixtures.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def random_state(pairs, seed: int = 0) -> dict[str, torch.Tensor]:
    """Random tensors of the official shapes, scaled so activations stay O(1): weights ~ N(0, 1/fan_in),
    biases and BN shifts ~ 0.1 N(0, 1), BN scales ~ 1 + 0.1 N(0, 1), running variances in [0.5, 1.5]."""
    g = torch.Generator().manual_seed(seed)
    out = {}
    for key, shape in pairs:
        name = key.rsplit(".", 1)[-1]
        if name == "num_batches_tracked":
            out[key] = torch.tensor(7)
        elif name == "gamma":  # DF-GAN's residual scale (0 at initialisation; trained ones are not)
            out[key] = 0.5 + 0.1 * torch.randn(shape, generator=g)
        elif name == "running_var":
            out[key] = torch.rand(shape, generator=g) + 0.5
        elif name in ("bias", "running_mean") or len(shape) == 1:
            base = 1.0 if (name == "weight" and len(shape) == 1) else 0.0  # BN scale
            out[key] = base + 0.1 * torch.randn(shape, generator=g)
        else:
            fan_in = math.prod(shape[1:]) if len(shape) > 1 else 1
            out[key] = torch.randn(shape, generator=g) / math.sqrt(fan_in)
    return out


@pytest.fixture(scope="session")
def official_keys():
    return load_keys
