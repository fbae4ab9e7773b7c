import json

import pytest
import torch
from torch import nn

from wordsight.hub import MODELS, from_pretrained, register_model, save_pretrained
from wordsight.utils.checks import InputError


@register_model("test_tiny_net")
class TinyNet(nn.Module):
    def __init__(self, width: int = 4, act: str = "relu"):
        super().__init__()
        self.fc = nn.Linear(3, width)
        self.out = nn.Linear(width, 1)

    def forward(self, x):
        return self.out(torch.relu(self.fc(x)))


def test_round_trip_rebuilds_the_same_module(tmp_path):
    net = TinyNet(width=6)
    assert net.config == {"width": 6, "act": "relu"} and "test_tiny_net" in MODELS
    save_pretrained(net, tmp_path / "m")
    meta = json.loads((tmp_path / "m" / "config.json").read_text())
    assert meta["model_type"] == "test_tiny_net" and meta["config"]["width"] == 6
    again = from_pretrained(tmp_path / "m")
    x = torch.randn(5, 3)
    assert torch.equal(again(x), net(x))


def test_nan_weights_are_never_saved(tmp_path):
    net = TinyNet()
    with torch.no_grad():
        net.fc.weight[0, 0] = float("nan")
    with pytest.raises(ValueError, match="non-finite"):
        save_pretrained(net, tmp_path / "m")
    assert not (tmp_path / "m" / "model.safetensors").exists()


def test_missing_or_corrupt_folders_give_clear_errors(tmp_path):
    with pytest.raises(InputError, match="no config.json"):
        from_pretrained(tmp_path)
    save_pretrained(TinyNet(), tmp_path / "m")
    (tmp_path / "m" / "model.safetensors").write_bytes(b"garbage")
    with pytest.raises(InputError, match="cannot read weights"):
        from_pretrained(tmp_path / "m")


@register_model("test_tiny_net_wide")
class WideTinyNet(TinyNet):
    def __init__(self, extra: int = 2):
        super().__init__(width=4 * extra)


def test_registered_subclass_saves_its_own_config(tmp_path):
    net = WideTinyNet(extra=3)
    assert net.model_type == "test_tiny_net_wide" and net.config == {"extra": 3}
    save_pretrained(net, tmp_path / "w")
    again = from_pretrained(tmp_path / "w")
    assert isinstance(again, WideTinyNet) and again.fc.out_features == 12


def test_from_pretrained_finds_classes_whose_module_was_never_imported(tmp_path):
    """hub imports no model package itself: a fresh process that imports only wordsight.hub still rebuilds
    a saved model (utils.model_registry imports the model packages by name for an unknown type)."""
    import subprocess
    import sys

    from wordsight.models.salgan import SalGANGenerator

    save_pretrained(SalGANGenerator(width=1 / 16), tmp_path / "m")
    code = ("import sys; import wordsight.hub as hub; assert 'wordsight.models' not in sys.modules; "
            f"m = hub.from_pretrained({str(tmp_path / 'm')!r}); print(type(m).__name__)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "SalGANGenerator"
