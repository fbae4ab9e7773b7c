"""SALICON: output resolution, two streams, frozen layers, prediction, saving and weight loading."""

import pytest
import torch
from safetensors.torch import save_file

from wordsight.hub import from_pretrained, save_pretrained
from wordsight.models.salicon import SALICON
from wordsight.models.vgg import _TORCHVISION_CONV_INDICES, VGG16Features
from wordsight.utils import InputError

TINY = dict(fine_size=(64, 96), coarse_size=(32, 48), width=1 / 16)


def _tiny(**kw):
    torch.manual_seed(0)
    model = SALICON(**{**TINY, **kw})
    torch.nn.init.normal_(model.saliency_map.weight)  # the official zero init would hide the streams
    return model


def test_paper_resolution_gives_38x50_logits():
    model = SALICON(width=1 / 16)
    assert model.output_size == (38, 50)
    with torch.no_grad():
        out = model(torch.zeros(1, 3, 1200, 1600))
    assert out.shape == (1, 1, 38, 50)


def test_readout_starts_at_zero_like_opensalicon():
    logits = SALICON(**TINY)(torch.randn(2, 3, 48, 64))
    assert torch.count_nonzero(logits) == 0


def test_any_input_size_is_resized_to_the_stream_sizes():
    model = _tiny()
    assert model.output_size == (2, 3)
    for size in [(48, 64), (64, 96), (100, 37)]:
        assert model(torch.randn(2, 3, *size)).shape == (2, 1, 2, 3)


def test_predict_returns_probabilities_at_input_size():
    model = _tiny()
    probs = model.predict(torch.randn(2, 3, 48, 64))
    assert probs.shape == (2, 1, 48, 64)
    assert probs.min() >= 0 and probs.max() <= 1 and probs.std() > 0


def test_streams_have_separate_weights_and_both_matter():
    model = _tiny()
    assert model.fine.conv1_1.weight.data_ptr() != model.coarse.conv1_1.weight.data_ptr()
    x = torch.randn(1, 3, 64, 96)
    base = model(x)
    with torch.no_grad():
        model.coarse.conv5_3.bias.add_(1.0)
    assert not torch.allclose(model(x), base)


def test_gradients_reach_trainable_layers_but_not_frozen_ones():
    model = _tiny(frozen_blocks=2)
    model(torch.randn(2, 3, 64, 96)).square().mean().backward()
    for stream in (model.fine, model.coarse):
        for name in stream.conv_names:
            grad = getattr(stream, name).weight.grad
            if stream.block_of[name] <= 2:
                assert grad is None, name
            else:
                assert grad is not None and grad.abs().sum() > 0, name
    assert model.saliency_map.weight.grad.abs().sum() > 0


def test_bad_inputs_name_the_tensor():
    model = _tiny()
    with pytest.raises(InputError, match="images"):
        model(torch.zeros(1, 1, 64, 96))
    with pytest.raises(InputError, match="images"):
        model(torch.zeros(3, 64, 96))
    with pytest.raises(InputError, match="fine_size"):
        SALICON(fine_size=(16, 16), width=1 / 16)
    with pytest.raises(InputError, match="normalization"):
        SALICON(width=1 / 16, normalization="bgr")


def test_save_and_load_through_hub(tmp_path):
    model = _tiny(normalization="opensalicon").eval()
    save_pretrained(model, tmp_path / "salicon")
    loaded = from_pretrained(tmp_path / "salicon")
    assert isinstance(loaded, SALICON) and loaded.fine_size == (64, 96) and loaded.normalization == "opensalicon"
    x = torch.randn(1, 3, 48, 64)
    assert torch.equal(loaded(x), model(x))
    assert not loaded.fine.conv1_1.weight.requires_grad  # freezing is part of the config


def test_vgg_weights_initialise_both_streams(tmp_path):
    torch.manual_seed(1)
    source = VGG16Features()
    names = source.conv_names
    state = {}
    for name, index in zip(names, _TORCHVISION_CONV_INDICES):
        state[f"features.{index}.weight"] = getattr(source, name).weight.detach().clone()
        state[f"features.{index}.bias"] = getattr(source, name).bias.detach().clone()
    path = tmp_path / "vgg16.safetensors"
    save_file(state, str(path))
    model = SALICON(fine_size=(64, 64), coarse_size=(32, 32)).load_vgg16_weights(path)
    for stream in (model.fine, model.coarse):
        assert torch.equal(stream.conv4_2.weight, source.conv4_2.weight)
    with pytest.raises(InputError, match="not found"):
        SALICON(**TINY).load_vgg16_weights(tmp_path / "missing.pth")
