"""VGG-16 stack: layer layout, pooling modes, freezing, input normalisation and torchvision weight loading."""

import pytest
import torch
import torchvision
from safetensors.torch import save_file

from wordsight.models.vgg import (
    VGG16Features,
    default_vgg16_path,
    load_torchvision_vgg16,
    normalize_images,
    read_torchvision_vgg16_state,
)
from wordsight.utils import InputError


@pytest.fixture(scope="module")
def torchvision_vgg():
    torch.manual_seed(0)
    return torchvision.models.vgg16(weights=None).eval()


@pytest.fixture(scope="module")
def torchvision_file(torchvision_vgg, tmp_path_factory):
    """A torchvision-format file: every conv weight plus a classifier key the loader must ignore."""
    state = {k: v for k, v in torchvision_vgg.state_dict().items() if k.startswith("features.")}
    state["classifier.6.bias"] = torchvision_vgg.state_dict()["classifier.6.bias"]
    path = tmp_path_factory.mktemp("vgg") / "vgg16-397923af.pth"
    torch.save(state, path)
    return path


def test_layout_and_width_multiplier():
    f = VGG16Features(width=1 / 16)
    assert f.conv_names[0] == "conv1_1" and f.conv_names[-1] == "conv5_3" and len(f.conv_names) == 13
    assert [getattr(f, n).out_channels for n in ("conv1_1", "conv2_1", "conv3_1", "conv4_1", "conv5_3")] == [4, 8, 16, 32, 32]
    assert f.out_channels == 32


@pytest.mark.parametrize("ceil_mode, expected", [(True, (38, 50)), (False, (37, 50))])
def test_output_size_rounding_at_salicon_resolution(ceil_mode, expected):
    assert VGG16Features(width=1 / 16, ceil_mode=ceil_mode).output_size(1200, 1600) == expected


@pytest.mark.parametrize("ceil_mode, pool5", [(True, True), (False, True), (False, False), (True, False)])
def test_forward_shape_matches_output_size(ceil_mode, pool5):
    f = VGG16Features(width=1 / 16, ceil_mode=ceil_mode, include_pool5=pool5)
    out = f(torch.randn(2, 3, 40, 72))
    assert out.shape == (2, 32, *f.output_size(40, 72))


def test_freeze_blocks_sets_requires_grad_per_block():
    f = VGG16Features(width=1 / 16)
    f.freeze_blocks(2)
    frozen = {n for n in f.conv_names if not getattr(f, n).weight.requires_grad}
    assert frozen == {"conv1_1", "conv1_2", "conv2_1", "conv2_2"}
    with pytest.raises(InputError):
        f.freeze_blocks(6)


def test_edits_change_pre_activation_of_named_layer_only():
    torch.manual_seed(0)
    f = VGG16Features(width=1 / 16)
    x = torch.randn(1, 3, 32, 32)
    base = f(x)
    assert torch.equal(f(x, {"conv5_3": lambda h: h}), base)
    assert not torch.allclose(f(x, {"conv5_3": lambda h: h + 1.0}), base)
    with pytest.raises(InputError, match="conv9_9"):
        f(x, {"conv9_9": lambda h: h})


def test_normalizations():
    red = torch.tensor([1.0, -1.0, -1.0])[None, :, None, None].expand(1, 3, 2, 2)
    caffe = normalize_images(red, "caffe")[0, :, 0, 0]
    # BGR order: blue 0, green 0, red 255, minus the Caffe mean.
    assert torch.allclose(caffe, torch.tensor([-103.939, -116.779, 255 - 123.68]))
    assert torch.allclose(normalize_images(red, "opensalicon"), normalize_images(red, "caffe") / 255)
    tv = normalize_images(red, "torchvision")[0, :, 0, 0]
    assert torch.allclose(tv, torch.tensor([(1 - 0.485) / 0.229, -0.456 / 0.224, -0.406 / 0.225]))
    assert torch.equal(normalize_images(red, "none"), red)
    with pytest.raises(InputError, match="bgr"):
        normalize_images(red, "bgr")


def test_torchvision_weights_round_trip(torchvision_vgg, torchvision_file):
    ours = load_torchvision_vgg16(torchvision_file).eval()
    x = torch.randn(1, 3, 64, 64)
    with torch.no_grad():
        assert torch.allclose(ours(x), torchvision_vgg.features(x), atol=1e-5)


def test_safetensors_conversion_loads_the_same(torchvision_file, tmp_path):
    state = torch.load(torchvision_file, weights_only=True)
    converted = tmp_path / "vgg16.safetensors"
    save_file({k: v.contiguous() for k, v in state.items()}, str(converted))
    a, b = read_torchvision_vgg16_state(torchvision_file), read_torchvision_vgg16_state(converted)
    assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)
    assert "conv5_3.weight" in a and not any(k.startswith("classifier") for k in a)


def test_missing_weights_error_names_file_and_where_to_put_it(tmp_path):
    missing = tmp_path / "nowhere" / "vgg16-397923af.pth"
    with pytest.raises(InputError) as err:
        load_torchvision_vgg16(missing, VGG16Features(width=1 / 16))
    assert str(missing) in str(err.value) and "WORDSIGHT_VGG16" in str(err.value)


def test_default_path_honours_environment(monkeypatch, tmp_path):
    monkeypatch.setenv("WORDSIGHT_VGG16", str(tmp_path / "w.pth"))
    assert default_vgg16_path() == tmp_path / "w.pth"


class _NotATensor:
    pass


def test_pickled_code_is_refused(tmp_path):
    """A checkpoint holding a Python object is not unpickled (torch.load(weights_only=True))."""
    bad = tmp_path / "evil.pth"
    torch.save({"features.0.weight": _NotATensor()}, bad)
    with pytest.raises(InputError, match="(?i)weights.only"):
        read_torchvision_vgg16_state(bad)


def test_wrong_state_dict_and_wrong_width(tmp_path, torchvision_file):
    other = tmp_path / "other.pth"
    torch.save({"conv.weight": torch.zeros(1)}, other)
    with pytest.raises(InputError, match="features.0.weight"):
        read_torchvision_vgg16_state(other)
    with pytest.raises(InputError, match="width=1.0"):
        load_torchvision_vgg16(torchvision_file, VGG16Features(width=1 / 16))


def test_wrong_channel_count_names_tensor():
    with pytest.raises(InputError, match="vgg16 input"):
        VGG16Features(width=1 / 16)(torch.zeros(1, 4, 32, 32))
