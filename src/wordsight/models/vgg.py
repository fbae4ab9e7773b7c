"""VGG-16 convolutional stack (conv1_1 .. conv5_3) shared by SALICON and SalGAN, with weight loading.

Simonyan & Zisserman, "Very Deep Convolutional Networks for Large-Scale Image Recognition" (ICLR 2015),
configuration D. Only the convolutional part is built (no fully connected layers). Options:

- ``width``: channel multiplier (1.0 = 64..512 channels; tests use 1/16 = 4..32 channels).
- ``ceil_mode``: round pooling output sizes up, as Caffe does. SALICON (OpenSalicon, Caffe) needs it to
  get the 38x50 pool5 map from a 1200x1600 input; torchvision and Lasagne round down.
- ``include_pool5``: SALICON reads pool5, SalGAN's encoder stops at conv5_3.

Pretrained weights come from torchvision's ImageNet file ``vgg16-397923af.pth`` (a torch pickle, read
with ``torch.load(weights_only=True)`` only) or a ``.safetensors`` conversion of it; nothing is
downloaded. Images enter the models as RGB in [-1, 1] (the project convention, see
``wordsight.utils.images.pil_to_tensor``); :func:`normalize_images` converts them to what the weights
expect (see ``NORMALIZATIONS``).
"""

from __future__ import annotations

import math
import os
from pathlib import Path
from typing import Callable, Mapping

import torch
import torch.nn.functional as F
from torch import nn

from ..hub import load_torch_state_dict, register_model
from ..utils.checks import InputError, check_shape

__all__ = [
    "NORMALIZATIONS",
    "VGG16_BLOCKS",
    "VGG16Features",
    "default_vgg16_path",
    "load_torchvision_vgg16",
    "normalize_images",
    "read_torchvision_vgg16_state",
    "scaled_channels",
]

# Output channels of the convolutions of each block (VGG configuration D).
VGG16_BLOCKS: tuple[tuple[int, ...], ...] = ((64, 64), (128, 128), (256, 256, 256), (512, 512, 512), (512, 512, 512))

# Indices of the convolutions inside torchvision's ``vgg16().features`` Sequential (ReLUs and pools
# sit between them), in the same order as our conv1_1 .. conv5_3.
_TORCHVISION_CONV_INDICES = (0, 2, 5, 7, 10, 12, 14, 17, 19, 21, 24, 26, 28)

VGG16_FILENAME = "vgg16-397923af.pth"

# Per-channel statistics. ImageNet mean/std in RGB [0, 1] (torchvision weights); Caffe mean in BGR
# [0, 255] (the original VGG release, used by OpenSalicon's Salicon.py and SalGAN).
_TORCHVISION_MEAN = (0.485, 0.456, 0.406)
_TORCHVISION_STD = (0.229, 0.224, 0.225)
_CAFFE_MEAN_BGR = (103.939, 116.779, 123.68)

NORMALIZATIONS = {
    "torchvision": "RGB in [0, 1] minus ImageNet mean, divided by std (matches torchvision weights)",
    "caffe": "BGR in [0, 255] minus the Caffe VGG mean (103.939, 116.779, 123.68) (original Caffe VGG weights)",
    "opensalicon": "'caffe' then divided by 255, exactly as OpenSalicon's Salicon.py/finetune_salicon.py feed the net",
    "none": "images passed through unchanged (RGB in [-1, 1])",
}


def scaled_channels(channels: int, width: float) -> int:
    """``channels * width`` rounded, at least 1 (width 1/16 turns 64..512 into 4..32)."""
    return max(1, int(round(channels * width)))


def normalize_images(images: torch.Tensor, mode: str) -> torch.Tensor:
    """RGB images in [-1, 1] -> the input convention named by ``mode`` (a key of ``NORMALIZATIONS``)."""
    if mode not in NORMALIZATIONS:
        raise InputError(f"unknown normalization {mode!r}; choose one of {sorted(NORMALIZATIONS)}")
    if mode == "none":
        return images
    unit = (images + 1.0) * 0.5  # [0, 1] RGB
    if mode == "torchvision":
        mean = images.new_tensor(_TORCHVISION_MEAN)[:, None, None]
        std = images.new_tensor(_TORCHVISION_STD)[:, None, None]
        return (unit - mean) / std
    bgr = unit.flip(1) * 255.0
    out = bgr - images.new_tensor(_CAFFE_MEAN_BGR)[:, None, None]
    return out / 255.0 if mode == "opensalicon" else out


def check_images(name: str, images: torch.Tensor) -> dict[str, int]:
    """Images must be float [B, 3, H, W]; a wrong channel count names the tensor."""
    dims = check_shape(name, images, ["B", 3, "H", "W"])
    if not images.is_floating_point():
        raise InputError(f"{name}: expected a float tensor in [-1, 1], got dtype {images.dtype}")
    return dims


PreActivationEdit = Callable[[torch.Tensor], torch.Tensor]


@register_model("vgg16_features")
class VGG16Features(nn.Module):
    """conv1_1 .. conv5_3 (+ pool5) of VGG-16; ReLU after every convolution, 2x2 max pooling per block.

    ``forward(x, edits)`` lets a caller change the pre-activation output of named convolutions (used by
    the text-aligned SalGAN to add its text branch; see ``text_salgan.TextBranch``).
    """

    def __init__(self, width: float = 1.0, ceil_mode: bool = False, include_pool5: bool = True, in_channels: int = 3):
        super().__init__()
        if width <= 0:
            raise InputError(f"VGG16Features width must be > 0, got {width}")
        self.width = width
        self.ceil_mode = ceil_mode
        self.include_pool5 = include_pool5
        self.in_channels = in_channels
        self.conv_names: list[str] = []
        self.block_of: dict[str, int] = {}
        c_in = in_channels
        for b, block in enumerate(VGG16_BLOCKS, start=1):
            for i, c in enumerate(block, start=1):
                name = f"conv{b}_{i}"
                c_out = scaled_channels(c, width)
                conv = nn.Conv2d(c_in, c_out, kernel_size=3, padding=1)
                # torchvision's VGG init, so a randomly initialised stack matches vgg16(weights=None).
                nn.init.kaiming_normal_(conv.weight, mode="fan_out", nonlinearity="relu")
                nn.init.zeros_(conv.bias)
                self.add_module(name, conv)
                self.conv_names.append(name)
                self.block_of[name] = b
                c_in = c_out
        self.out_channels = c_in

    def block_channels(self, block: int) -> int:
        """Output channels of block ``block`` (1..5) at this width."""
        return scaled_channels(VGG16_BLOCKS[block - 1][-1], self.width)

    def output_size(self, height: int, width: int) -> tuple[int, int]:
        """Spatial size of the last output for an input of ``height`` x ``width``."""
        pools = 5 if self.include_pool5 else 4
        rnd = math.ceil if self.ceil_mode else math.floor
        for _ in range(pools):
            height, width = rnd(height / 2), rnd(width / 2)
        return height, width

    def freeze_blocks(self, num_blocks: int) -> None:
        """Stop gradients into blocks 1..``num_blocks`` (SALICON: 2, SalGAN: 3)."""
        if not 0 <= num_blocks <= 5:
            raise InputError(f"frozen_blocks must be in 0..5, got {num_blocks}")
        for name in self.conv_names:
            getattr(self, name).requires_grad_(self.block_of[name] > num_blocks)

    def forward(self, x: torch.Tensor, edits: Mapping[str, PreActivationEdit] | None = None) -> torch.Tensor:
        check_shape("vgg16 input", x, [None, self.in_channels, None, None])
        edits = edits or {}
        unknown = set(edits) - set(self.conv_names)
        if unknown:
            raise InputError(f"edits name unknown VGG-16 layers {sorted(unknown)}; known: {self.conv_names}")
        for name in self.conv_names:
            h = getattr(self, name)(x)
            if name in edits:
                h = edits[name](h)
            x = F.relu(h)
            last_in_block = name.endswith(f"_{len(VGG16_BLOCKS[self.block_of[name] - 1])}")
            if last_in_block and (self.block_of[name] < 5 or self.include_pool5):
                x = F.max_pool2d(x, kernel_size=2, stride=2, ceil_mode=self.ceil_mode)
        return x


def default_vgg16_path() -> Path:
    """``$WORDSIGHT_VGG16`` if set, else torchvision's cache location ``<torch hub>/checkpoints/vgg16-397923af.pth``."""
    env = os.environ.get("WORDSIGHT_VGG16")
    if env:
        return Path(env)
    return Path(torch.hub.get_dir()) / "checkpoints" / VGG16_FILENAME


def read_torchvision_vgg16_state(path: str | os.PathLike | None = None) -> dict[str, torch.Tensor]:
    """Read torchvision's VGG-16 file and return its conv weights under our names (``conv1_1.weight``...).

    ``.pth`` files are read with ``torch.load(weights_only=True)`` (no code is unpickled); ``.safetensors``
    with safetensors. The classifier (fully connected) weights are dropped.
    """
    path = Path(path) if path is not None else default_vgg16_path()
    if not path.exists():
        raise InputError(
            f"VGG-16 weights not found: {path}. Copy torchvision's {VGG16_FILENAME} "
            f"(https://download.pytorch.org/models/{VGG16_FILENAME}, fetched on a machine with internet) to this path, "
            "or point $WORDSIGHT_VGG16 at it (a .safetensors conversion with the same keys also works)."
        )
    state = load_torch_state_dict(path, "VGG-16")
    return _map_torchvision_keys(state, path)


def _map_torchvision_keys(state: Mapping[str, torch.Tensor], path: Path) -> dict[str, torch.Tensor]:
    names = [f"conv{b}_{i}" for b, block in enumerate(VGG16_BLOCKS, start=1) for i in range(1, len(block) + 1)]
    out: dict[str, torch.Tensor] = {}
    for name, index in zip(names, _TORCHVISION_CONV_INDICES):
        for kind in ("weight", "bias"):
            key = f"features.{index}.{kind}"
            if key not in state:
                raise InputError(f"{path}: not a torchvision VGG-16 state dict (missing {key!r})")
            out[f"{name}.{kind}"] = state[key]
    return out


def load_torchvision_vgg16(path: str | os.PathLike | None = None, features: VGG16Features | None = None) -> VGG16Features:
    """Copy torchvision VGG-16 conv weights into ``features`` (a new width-1 stack if None) and return it."""
    features = features if features is not None else VGG16Features()
    state = read_torchvision_vgg16_state(path)
    own = features.state_dict()
    for key, tensor in state.items():
        if own[key].shape != tensor.shape:
            raise InputError(
                f"VGG-16 weight {key} has shape {tuple(tensor.shape)} but the model expects {tuple(own[key].shape)}; "
                "pretrained weights need width=1.0 and in_channels=3"
            )
    features.load_state_dict(state, strict=True)
    return features
